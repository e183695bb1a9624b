"""Open the DuckDB warehouse and bring its schema up to date (numbered SQL migrations)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import duckdb

from warehouse.sqltext import execute

MIGRATION_NAME = re.compile(r"^(\d{3})_[\w-]+\.sql$")

# Storage format of a new warehouse file. DuckDB still creates files readable by 0.10.2 unless told otherwise; the
# v1.3 format adds DICT_FSST string compression, which loads 2M listings with ~17% less CPU than choosing between
# dictionary and FSST per column (same file size, same scan speed; benchmarks/RESULTS.md "## bulk_ingest.py"). Set
# when the file is created (the format is then the file's own, so every later connection, configured or not, keeps
# it); an existing file keeps the format it has. Such a file needs DuckDB >= 1.3 to open.
STORAGE_VERSION = "v1.3.0"


class WarehouseError(Exception):
    """A warehouse problem phrased as one line naming the file."""


@dataclass(frozen=True)
class Migration:
    """One numbered schema migration shipped in warehouse/migrations/."""

    version: int
    name: str
    sql: str


def migrations() -> list[Migration]:
    """All shipped migrations, in version order."""
    found = []
    for entry in resources.files("warehouse.migrations").iterdir():
        match = MIGRATION_NAME.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    return sorted(found, key=lambda m: m.version)


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    """The highest applied migration version (0 for an empty file)."""
    con.execute(
        "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, name VARCHAR, applied_at TIMESTAMP)"
    )
    row = con.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()
    return int(row[0]) if row else 0


def migrate(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Apply pending migrations, each in its own transaction; return the names applied."""
    current = schema_version(con)
    applied = []
    for migration in migrations():
        if migration.version <= current:
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(migration.sql)
            execute(
                con,
                "INSERT INTO schema_version VALUES (?, ?, now()::TIMESTAMP)",
                [migration.version, migration.name],
            )
            con.execute("COMMIT")
        except Exception as exc:
            con.execute("ROLLBACK")
            raise WarehouseError(f"migration {migration.name} failed: {exc}") from None
        applied.append(migration.name)
    return applied


def create_file(target: Path) -> None:
    """Create an empty warehouse file in STORAGE_VERSION's format (a no-op when it exists)."""
    if target.exists() or re.match(r"[A-Za-z][\w+.-]*:", str(target)):
        return  # (a `scheme:` name, e.g. md:, is not a local file to create)
    try:
        with duckdb.connect() as con:
            con.execute(f"ATTACH '{str(target).replace(chr(39), chr(39) * 2)}' AS new_warehouse "
                        f"(STORAGE_VERSION '{STORAGE_VERSION}')")
            con.execute("DETACH new_warehouse")
    except duckdb.Error:
        pass  # the plain connect below creates it in DuckDB's default format (or reports the problem)


def connect(path: str | Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open (creating if needed) the warehouse file and apply pending migrations."""
    target = Path(path)
    if str(path) != ":memory:":
        if target.is_dir():
            raise WarehouseError(f"{target}: is a directory, expected a DuckDB file")
        target.parent.mkdir(parents=True, exist_ok=True)
        if not read_only:
            create_file(target)
    try:
        con = duckdb.connect(str(path), read_only=read_only)
    except duckdb.Error as exc:
        raise WarehouseError(f"{path}: cannot open DuckDB warehouse: {str(exc).splitlines()[0]}") from None
    con.execute("SET TimeZone = 'UTC'")
    if not read_only:
        migrate(con)
    return con


def table_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Row counts of every base table in the main schema (for `ghostcheck status`)."""
    names = [
        r[0]
        for r in con.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = 'main' AND table_type = 'BASE TABLE' ORDER BY table_name"
        ).fetchall()
    ]
    return {name: int(con.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]) for name in names}
