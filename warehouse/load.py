"""Load landing files (JSON Lines or Parquet) into the warehouse, one file per transaction.

A file whose sha256 was loaded before is a no-op. Rows that fail validation go
to `quarantine` with the file, row number, reason and raw text; the good rows
load. A crash mid-load leaves the warehouse as it was (the transaction never
commits).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Callable
from pathlib import PurePosixPath

import duckdb
import fsspec

from warehouse.schema import KIND_COLUMNS, KINDS, TARGETS, any_error_sql, duplicates_sql, validation_sql

LANDING_SUFFIXES = (".jsonl", ".ndjson", ".json", ".parquet")


class LoadError(Exception):
    """A landing file that could not be loaded at all (one line naming the file)."""


@dataclass
class FileLoad:
    """What happened to one landing file."""

    path: str
    kind: str
    sha256: str
    rows: int = 0
    quarantined: int = 0
    skipped: bool = False


@dataclass
class LoadSummary:
    """What happened to a whole landing tree."""

    files: list[FileLoad] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def files_loaded(self) -> int:
        """Files that added rows (or were new, even when empty)."""
        return sum(1 for f in self.files if not f.skipped)

    @property
    def files_skipped(self) -> int:
        """Files already loaded before (same sha256)."""
        return sum(1 for f in self.files if f.skipped)

    @property
    def rows(self) -> int:
        """Good rows loaded."""
        return sum(f.rows for f in self.files)

    @property
    def quarantined(self) -> int:
        """Rows sent to quarantine."""
        return sum(f.quarantined for f in self.files)


def file_sha256(path: str) -> str:
    """sha256 of a file on any fsspec filesystem, streamed."""
    digest = hashlib.sha256()
    with fsspec.open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def run_id_of(path: str) -> str:
    """The run id encoded in a landing file name (`<run_id>[__part].jsonl`)."""
    stem = PurePosixPath(path).name.split(".", 1)[0]
    return stem.split("__", 1)[0]


def kind_of(path: str, root: str) -> tuple[str, str]:
    """(kind, source) from `<root>/<kind>/<source>/<file>`."""
    rel = path[len(root.rstrip("/")) + 1 :] if path.startswith(root.rstrip("/")) else path
    parts = PurePosixPath(rel).parts
    kind = parts[0] if len(parts) >= 2 else ""
    source = parts[1] if len(parts) >= 3 else ""
    return kind, source


def _register_fs(con: duckdb.DuckDBPyConnection, path: str) -> str:
    """Let DuckDB read fsspec URLs (memory://, s3://, ...); return the path to give DuckDB."""
    if "://" not in path or path.startswith("file://"):
        return path.removeprefix("file://")
    fs, _ = fsspec.core.url_to_fs(path)
    protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
    if not con.filesystem_is_registered(protocol):
        con.register_filesystem(fs)
    return path


def _columns_sql(kind: str) -> str:
    """DuckDB `columns={...}` struct literal for read_json."""
    return "{" + ", ".join(f"'{name}': '{typ}'" for name, typ in KIND_COLUMNS[kind].items()) + "}"


def _stage_json(con: duckdb.DuckDBPyConnection, path: str, kind: str, exact_lines: bool = False) -> bool:
    """Stage a JSON Lines file as view `_stage` (with `_row`); malformed lines go to TEMP `_bad_lines`.

    The fast path lets DuckDB's parallel reader parse the file and numbers rows by their order
    (`rowid`); it returns True. The exact path reads raw lines, so malformed lines can be
    quarantined and row numbers are true line numbers even with blank lines; it returns False.
    """
    _drop_stage(con)
    con.execute("CREATE TEMP TABLE _bad_lines (_row BIGINT, error VARCHAR, raw_text VARCHAR)")
    if not exact_lines:
        try:
            con.execute(
                f"CREATE TEMP TABLE _stage_data AS SELECT * FROM read_json(?, columns={_columns_sql(kind)}, "
                f"format='newline_delimited', maximum_object_size=67108864)",
                [path],
            )
            con.execute("CREATE TEMP VIEW _stage AS SELECT rowid + 1 AS _row, * FROM _stage_data")
            return True
        except duckdb.Error:
            con.execute("DROP TABLE IF EXISTS _stage_data")
    con.execute(
        "CREATE TEMP TABLE _lines AS SELECT row_number() OVER () AS _row, line "
        "FROM read_csv(?, columns={'line': 'VARCHAR'}, header=false, delim=E'\\x01', quote='', "
        "escape='', auto_detect=false, max_line_size=67108864, strict_mode=false)",
        [path],
    )
    con.execute(
        "INSERT INTO _bad_lines SELECT _row, 'malformed JSON', line FROM _lines "
        "WHERE line IS NOT NULL AND trim(line) <> '' AND NOT coalesce(json_valid(line), false)"
    )
    structure = json.dumps({name: typ for name, typ in KIND_COLUMNS[kind].items()})
    con.execute(
        f"CREATE TEMP TABLE _stage_data AS SELECT _row, unnest(json_transform(line, '{structure}')) "
        "FROM _lines WHERE line IS NOT NULL AND trim(line) <> '' AND json_valid(line)"
    )
    con.execute("DROP TABLE _lines")
    con.execute("CREATE TEMP VIEW _stage AS SELECT * FROM _stage_data")
    return False


def _stage_parquet(con: duckdb.DuckDBPyConnection, path: str, kind: str) -> None:
    """Stage a Parquet file as view `_stage` with the kind's columns (missing ones NULL) and its row numbers."""
    _drop_stage(con)
    con.execute("CREATE TEMP TABLE _bad_lines (_row BIGINT, error VARCHAR, raw_text VARCHAR)")
    present = {r[0] for r in con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [path]).fetchall()}
    select = ", ".join(
        (f'TRY_CAST("{name}" AS {typ}) AS "{name}"' if name in present else f'NULL::{typ} AS "{name}"')
        for name, typ in KIND_COLUMNS[kind].items()
    )
    quoted = path.replace("'", "''")
    con.execute(
        f"CREATE TEMP VIEW _stage AS SELECT file_row_number + 1 AS _row, {select} "
        f"FROM read_parquet('{quoted}', file_row_number = true)"
    )


def _check(con: duckdb.DuckDBPyConnection, kind: str) -> int:
    """Find in-file duplicates and invalid rows (TEMP `_dups`, `_errors`); return how many rows failed."""
    con.execute("DROP TABLE IF EXISTS _dups")
    con.execute("DROP TABLE IF EXISTS _errors")
    con.execute(f"CREATE TEMP TABLE _dups AS {duplicates_sql(kind)}")
    con.execute(
        f"CREATE TEMP TABLE _errors AS SELECT _row, {validation_sql(kind)} AS _error, "
        f"to_json(_stage)::VARCHAR AS raw_text FROM _stage WHERE {any_error_sql(kind)}"
    )
    failed = con.execute("SELECT count(*) FROM _errors").fetchone()[0]
    return int(failed) + int(con.execute("SELECT count(*) FROM _bad_lines").fetchone()[0])


def load_file(
    con: duckdb.DuckDBPyConnection,
    path: str,
    kind: str,
    run_id: str | None = None,
    source: str = "",
) -> FileLoad:
    """Load one landing file in one transaction; skip it if its sha256 was loaded before."""
    if kind not in KINDS:
        raise LoadError(f"{path}: unknown landing kind {kind!r} (expected one of {', '.join(KINDS)})")
    try:
        sha = file_sha256(path)
    except (OSError, ValueError) as exc:
        raise LoadError(f"{path}: cannot read: {exc}") from None
    result = FileLoad(path=path, kind=kind, sha256=sha)
    if con.execute("SELECT 1 FROM landing_files WHERE sha256 = ?", [sha]).fetchone():
        result.skipped = True
        return result
    run = run_id or run_id_of(path)
    duck_path = _register_fs(con, path)
    try:
        # Staging reads the file into connection-local TEMP tables, outside the transaction,
        # so a parse error can fall back to the line-by-line reader.
        if path.endswith(".parquet"):
            _stage_parquet(con, duck_path, kind)
            _check(con, kind)
        else:
            fast = _stage_json(con, duck_path, kind)
            if _check(con, kind) and fast:
                # Bad rows in a file that parsed: re-stage it line by line so they are quarantined
                # under their true line numbers.
                _stage_json(con, duck_path, kind, exact_lines=True)
                _check(con, kind)
    except duckdb.Error as exc:
        _drop_stage(con)
        raise LoadError(f"{path}: cannot parse: {str(exc).splitlines()[0]}") from None
    con.execute("BEGIN TRANSACTION")
    try:
        result.quarantined = _quarantine(con, path, run, source or kind)
        result.rows = TARGETS[kind].insert(con, run, sha)
        con.execute(
            "INSERT INTO landing_files VALUES (?, ?, ?, ?, ?, ?, ?, now()::TIMESTAMP)",
            [sha, path, kind, source, run, result.rows, result.quarantined],
        )
        con.execute("COMMIT")
    except Exception as exc:
        con.execute("ROLLBACK")
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise LoadError(f"{path}: {message}") from None
    finally:
        _drop_stage(con)
    return result


def _drop_stage(con: duckdb.DuckDBPyConnection) -> None:
    """Drop the connection-local staging objects."""
    con.execute("DROP VIEW IF EXISTS _stage")
    for name in ("_stage_data", "_bad_lines", "_lines", "_dups", "_errors"):
        con.execute(f"DROP TABLE IF EXISTS {name}")


def _quarantine(con: duckdb.DuckDBPyConnection, path: str, run_id: str, source: str) -> int:
    """Move malformed lines and rows failing validation to `quarantine`; return how many."""
    before = con.execute("SELECT count(*) FROM quarantine").fetchone()[0]
    con.execute(
        "INSERT INTO quarantine SELECT ?, ?, ?, _row, error, raw_text, now()::TIMESTAMP FROM _bad_lines",
        [run_id, source, path],
    )
    con.execute(
        "INSERT INTO quarantine SELECT ?, ?, ?, _row, _error, raw_text, now()::TIMESTAMP FROM _errors",
        [run_id, source, path],
    )
    return int(con.execute("SELECT count(*) FROM quarantine").fetchone()[0] - before)


def landing_files(root: str) -> list[tuple[str, str, str]]:
    """Every landing file under root as (path, kind, source), in a stable order."""
    fs, base = fsspec.core.url_to_fs(root)
    if not fs.exists(base):
        return []
    prefix = root.split("://", 1)[0] + "://" if "://" in root else ""
    found = []
    for kind in KINDS:
        top = f"{base.rstrip('/')}/{kind}"
        if not fs.exists(top):
            continue
        for item in sorted(fs.find(top)):
            if item.endswith(LANDING_SUFFIXES):
                full = item if not prefix or item.startswith(prefix) else prefix + item
                if prefix == "memory://" and not item.startswith("/"):
                    full = prefix + "/" + item
                _, source = kind_of(item, base)
                found.append((full, kind, source))
    return found


def load_landing(
    con: duckdb.DuckDBPyConnection,
    root: str,
    run_id: str | None = None,
    progress: Callable[[int, int, str], None] | None = None,
) -> LoadSummary:
    """Load every not-yet-loaded landing file under root; a bad file is reported, the rest load.

    `progress(done, total, path)` is called before each file (for progress bars).
    """
    summary = LoadSummary()
    files = landing_files(root)
    for done, (path, kind, source) in enumerate(files):
        if progress:
            progress(done, len(files), path)
        try:
            summary.files.append(load_file(con, path, kind, run_id=run_id, source=source))
        except LoadError as exc:
            summary.errors.append(str(exc))
    return summary
