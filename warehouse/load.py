"""Load landing files (JSON Lines or Parquet) into the warehouse, one file per transaction.

A file whose sha256 was loaded before is a no-op. Rows that fail validation go
to `quarantine` with the file, row number, reason and raw text; the good rows
load. A crash mid-load leaves the warehouse as it was (the transaction never
commits).

Two ways in: a clean file (the usual case) is parsed once, straight into its
table, with the checks fused into the INSERT (`_load_one_pass`); the first bad
row aborts that statement and the file is loaded the staged way instead, which
finds every bad row with its exact line number (`_load_staged`).
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import PurePosixPath

import duckdb
import fsspec

from warehouse.schema import (
    ID_COLUMN,
    KIND_COLUMNS,
    KINDS,
    TARGETS,
    all_valid_sql,
    any_error_sql,
    duplicates_sql,
    validation_sql,
)
from warehouse.sqltext import execute

LANDING_SUFFIXES = (".jsonl", ".ndjson", ".json", ".parquet")

# DuckDB's memory cap while loading (restored afterwards); it spills to its temp directory beyond it. DuckDB's
# own default is 80% of RAM, which let the loader reach ~2 GB of RSS on a 1 GiB QHP file. The readers below are
# sized to work under it: read_json keeps DuckDB's 16 MiB object limit (a 2x buffer per thread; a longer line
# fails the fast reads and is taken by the line-exact path) and the line reader's buffer is 64 MiB, not
# 16 x max_line_size = 1 GiB.
LOAD_MEMORY_LIMIT = "512MB"
MAX_OBJECT = 16 * 1024 * 1024
MAX_LINE = 64 * 1024 * 1024


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
    staged: bool = False  # True when the file needed the staged, row-exact path (a bad or skipped row)


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
        for chunk in iter(lambda: fh.read(1 << 22), b""):
            digest.update(chunk)
    return digest.hexdigest()


def count_lines(path: str) -> int:
    """Lines in a file (a last line without a newline counts; so do blank lines).

    An upper bound on the JSON records DuckDB finds in a JSON Lines file: it refuses two
    documents on one line, and skips blank lines.
    """
    lines = 0
    last = b"\n"
    with fsspec.open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 22), b""):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    return lines + (last != b"\n")


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


def _quote(path: str) -> str:
    """A path as a SQL string literal."""
    return "'" + path.replace("'", "''") + "'"


def _json_source(path: str, kind: str) -> str:
    """FROM item parsing a JSON Lines file into the kind's columns (DuckDB's parallel reader)."""
    return (
        f"read_json({_quote(path)}, columns={_columns_sql(kind)}, format='newline_delimited', "
        f"maximum_object_size={MAX_OBJECT})"
    )


def _parquet_column(name: str, typ: str, present: str | None) -> str:
    """One select item: as is when the file already has the type (our own writers), else TRY_CAST or NULL."""
    if present is None:
        return f'NULL::{typ} AS "{name}"'
    if present.upper() == typ.upper():
        return f'"{name}"'
    return f'TRY_CAST("{name}" AS {typ}) AS "{name}"'


def _parquet_source(con: duckdb.DuckDBPyConnection, path: str, kind: str, row_numbers: bool = False) -> str:
    """FROM item reading a Parquet file as the kind's columns (missing ones NULL, others cast)."""
    present = {r[0]: r[1] for r in con.execute(f"DESCRIBE SELECT * FROM read_parquet({_quote(path)})").fetchall()}
    select = ", ".join(_parquet_column(name, typ, present.get(name)) for name, typ in KIND_COLUMNS[kind].items())
    if row_numbers:
        return f"(SELECT file_row_number + 1 AS _row, {select} FROM read_parquet({_quote(path)}, file_row_number = true))"
    return f"(SELECT {select} FROM read_parquet({_quote(path)}))"


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
            con.execute(f"CREATE TEMP TABLE _stage_data AS SELECT * FROM {_json_source(path, kind)}")
            con.execute("CREATE TEMP VIEW _stage AS SELECT rowid + 1 AS _row, * FROM _stage_data")
            return True
        except duckdb.Error:
            con.execute("DROP TABLE IF EXISTS _stage_data")
    execute(
        con,
        "CREATE TEMP TABLE _lines AS SELECT row_number() OVER () AS _row, line "
        "FROM read_csv(?, columns={'line': 'VARCHAR'}, header=false, delim=E'\\x01', quote='', "
        f"escape='', auto_detect=false, max_line_size={MAX_LINE}, buffer_size={MAX_LINE}, strict_mode=false)",
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
    con.execute(f"CREATE TEMP VIEW _stage AS SELECT * FROM {_parquet_source(con, path, kind, row_numbers=True)}")


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
    memory_limit: str | None = LOAD_MEMORY_LIMIT,
) -> FileLoad:
    """Load one landing file in one transaction; skip it if its sha256 was loaded before.

    A file-backed warehouse at DuckDB's default limit (80% of RAM) loads under `memory_limit` and gets the
    default back after; an in-memory warehouse, a limit the caller chose, or `memory_limit=None` is left as is.
    """
    if load_cap(con, memory_limit) is None:
        return _load_file(con, path, kind, run_id, source)
    try:
        con.execute(f"SET memory_limit = {_quote(str(memory_limit))}")
    except duckdb.Error:  # more already in use than the cap, or not a size: load as the connection is
        return _load_file(con, path, kind, run_id, source)
    try:
        return _load_file(con, path, kind, run_id, source)
    finally:
        try:
            con.execute("RESET memory_limit")
        except duckdb.Error:
            pass  # the connection is unusable; the caller hears of it on its next statement


@functools.cache
def _default_memory_limit() -> str:
    """DuckDB's default memory limit as it shows it (the same for every database in this process)."""
    with duckdb.connect() as con:
        return str(con.execute("SELECT current_setting('memory_limit')").fetchone()[0])


def load_cap(con: duckdb.DuckDBPyConnection, memory_limit: str | None) -> str | None:
    """The memory limit a load on this connection runs under (None: the connection's own is kept).

    Only a file-backed warehouse whose limit nobody set is capped: an in-memory warehouse's tables live in that
    memory, so a cap would bound the data itself, and a limit the caller chose is theirs. (Shown values are
    rounded, so the default is recognised by its shown value.)
    """
    if memory_limit is None:
        return None
    path = con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchone()
    if not path or not path[0]:
        return None
    at_default = con.execute("SELECT current_setting('memory_limit')").fetchone()[0] == _default_memory_limit()
    return memory_limit if at_default else None


def _load_file(con: duckdb.DuckDBPyConnection, path: str, kind: str, run_id: str | None, source: str) -> FileLoad:
    """load_file under the memory limit already set."""
    if kind not in KINDS:
        raise LoadError(f"{path}: unknown landing kind {kind!r} (expected one of {', '.join(KINDS)})")
    try:
        sha = file_sha256(path)
    except (OSError, ValueError) as exc:
        raise LoadError(f"{path}: cannot read: {exc}") from None
    result = FileLoad(path=path, kind=kind, sha256=sha)
    if execute(con, "SELECT 1 FROM landing_files WHERE sha256 = ?", [sha]).fetchone():
        result.skipped = True
        return result
    run = run_id or run_id_of(path)
    duck_path = _register_fs(con, path)
    rows = _load_one_pass(con, path, duck_path, kind, run, sha, source)
    if rows is not None:
        result.rows = rows
        return result
    result.staged = True
    return _load_staged(con, path, duck_path, kind, run, source, result)


def _rollback(con: duckdb.DuckDBPyConnection) -> None:
    """Roll back the open transaction (a failed COMMIT may already have ended it)."""
    try:
        con.execute("ROLLBACK")
    except duckdb.Error:
        pass


def _has_duplicate_ids(con: duckdb.DuckDBPyConnection, kind: str, sha: str) -> bool:
    """True when the rows just loaded from this file repeat an id (those need the staged path)."""
    column = ID_COLUMN.get(kind)
    if column is None:
        return False
    target = TARGETS[kind]
    found = con.execute(
        f"SELECT 1 FROM {target.table} WHERE {target.of_file(con, sha)} GROUP BY {column} HAVING count(*) > 1 LIMIT 1"
    ).fetchone()
    return found is not None


def _load_one_pass(
    con: duckdb.DuckDBPyConnection,
    path: str,
    duck_path: str,
    kind: str,
    run: str,
    sha: str,
    source: str,
) -> int | None:
    """Load a clean file in one INSERT with the checks fused in, and commit; return its rows.

    Returns None, with nothing kept, when the file needs the staged path: a row fails a check
    (the INSERT raises at the first one), it does not parse, it repeats an id, or a dedupe
    against rows already loaded may have dropped a row that the file's row count cannot vouch for.
    """
    target = TARGETS[kind]
    parquet = duck_path.endswith(".parquet")
    # A landing file's rows carry no order worth keeping (quarantine line numbers come from the
    # staged path), and keeping it costs: DuckDB then inserts through its batch-index machinery,
    # ~40% more CPU for JSON Lines, or on one thread when the plan has a join (the dedupe).
    keep_order = con.execute("SELECT current_setting('preserve_insertion_order')").fetchone()[0]
    con.execute("SET preserve_insertion_order = false")
    con.execute("BEGIN TRANSACTION")
    try:
        source_sql = _parquet_source(con, duck_path, kind) if parquet else _json_source(duck_path, kind)
        expected = None
        if target.may_skip(con, run):
            # Rows may be dropped as already loaded: every row of the file must then be accounted for.
            expected = (
                int(con.execute(f"SELECT count(*) FROM read_parquet({_quote(duck_path)})").fetchone()[0])
                if parquet
                else count_lines(path)
            )
        rows = target.insert(con, run, sha, source_sql, all_valid_sql(kind))
        if (expected is not None and rows != expected) or _has_duplicate_ids(con, kind, sha):
            _rollback(con)
            return None
        execute(
            con,
            "INSERT INTO landing_files VALUES (?, ?, ?, ?, ?, ?, 0, now()::TIMESTAMP)",
            [sha, path, kind, source, run, rows],
        )
        con.execute("COMMIT")
        return rows
    except duckdb.Error:
        _rollback(con)
        return None
    except BaseException:
        _rollback(con)
        raise
    finally:
        try:
            con.execute(f"SET preserve_insertion_order = {'true' if keep_order else 'false'}")
        except duckdb.Error:
            pass  # the connection is unusable; the caller hears of it on its next statement


def _staged_good(con: duckdb.DuckDBPyConnection) -> str:
    """SQL condition keeping the staged rows that passed validation (no anti-join when none failed)."""
    has_errors = con.execute("SELECT 1 FROM _errors LIMIT 1").fetchone()
    return "s._row NOT IN (SELECT _row FROM _errors)" if has_errors else "true"


def _load_staged(
    con: duckdb.DuckDBPyConnection,
    path: str,
    duck_path: str,
    kind: str,
    run: str,
    source: str,
    result: FileLoad,
) -> FileLoad:
    """Stage the file, find every bad row with its line number, and load the good ones in one transaction."""
    try:
        # Staging reads the file into connection-local TEMP tables, outside the transaction,
        # so a parse error can fall back to the line-by-line reader.
        if duck_path.endswith(".parquet"):
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
        result.rows = TARGETS[kind].insert(con, run, result.sha256, "_stage", _staged_good(con))
        execute(
            con,
            "INSERT INTO landing_files VALUES (?, ?, ?, ?, ?, ?, ?, now()::TIMESTAMP)",
            [result.sha256, path, kind, source, run, result.rows, result.quarantined],
        )
        con.execute("COMMIT")
    except Exception as exc:
        _rollback(con)
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
    execute(
        con,
        "INSERT INTO quarantine SELECT ?, ?, ?, _row, error, raw_text, now()::TIMESTAMP FROM _bad_lines",
        [run_id, source, path],
    )
    execute(
        con,
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
    memory_limit: str | None = LOAD_MEMORY_LIMIT,
) -> LoadSummary:
    """Load every not-yet-loaded landing file under root; a bad file is reported, the rest load.

    `progress(done, total, path)` is called before each file (for progress bars); `memory_limit` caps
    DuckDB during each file's load (see `load_file`).
    """
    summary = LoadSummary()
    files = landing_files(root)
    for done, (path, kind, source) in enumerate(files):
        if progress:
            progress(done, len(files), path)
        try:
            summary.files.append(load_file(con, path, kind, run_id=run_id, source=source, memory_limit=memory_limit))
        except LoadError as exc:
            summary.errors.append(str(exc))
    return summary
