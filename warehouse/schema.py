"""Landing record shapes per kind, their validation rules, and how each lands in its table."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import duckdb

from warehouse.sqltext import execute, literal

CANONICAL_STATUS = ("accepting", "not_accepting", "existing_only", "waitlist", "limited", "unknown")
OBSERVATION_SOURCES = ("website", "attestation", "phone_survey", "secret_shopper")

KIND_COLUMNS: dict[str, dict[str, str]] = {
    "listings": {
        "listing_id": "VARCHAR", "source_key": "VARCHAR", "insurer": "VARCHAR",
        "directory_kind": "VARCHAR", "role": "VARCHAR", "npi": "VARCHAR",
        "provider_name": "VARCHAR", "first_name": "VARCHAR", "middle_name": "VARCHAR",
        "last_name": "VARCHAR", "credentials": "VARCHAR", "practice_name": "VARCHAR",
        "address": "VARCHAR", "city": "VARCHAR", "state": "VARCHAR", "zip": "VARCHAR",
        "phone": "VARCHAR", "specialty": "VARCHAR", "specialty_code": "VARCHAR",
        "accepting_status": "VARCHAR", "accepting_raw": "VARCHAR", "networks": "VARCHAR[]",
        "plans": "JSON", "website": "VARCHAR", "last_updated": "VARCHAR",
        "source_url": "VARCHAR", "fetched_at": "VARCHAR", "payload_sha256": "VARCHAR",
        "raw": "JSON",
    },
    "observations": {
        "observation_id": "VARCHAR", "source": "VARCHAR", "npi": "VARCHAR",
        "provider_name": "VARCHAR", "practice_name": "VARCHAR", "address": "VARCHAR",
        "city": "VARCHAR", "state": "VARCHAR", "zip": "VARCHAR", "phone": "VARCHAR",
        "accepting_status": "VARCHAR", "insurers_accepted": "VARCHAR[]",
        "insurers_not_accepted": "VARCHAR[]", "reachable": "BOOLEAN", "call_outcome": "VARCHAR",
        "first_appointment": "VARCHAR", "providers": "VARCHAR[]", "roster_complete": "BOOLEAN",
        "departed_providers": "VARCHAR[]", "phones": "VARCHAR[]", "addresses": "VARCHAR[]",
        "site_url": "VARCHAR", "evidence_url": "VARCHAR", "evidence_text": "VARCHAR",
        "evidence_sha256": "VARCHAR", "observed_at": "VARCHAR", "confidence": "DOUBLE",
        "raw": "JSON",
    },
    "evidence": {
        "url": "VARCHAR", "site_url": "VARCHAR", "fetched_at": "VARCHAR", "http_status": "INTEGER",
        "content_sha256": "VARCHAR", "snapshot_path": "VARCHAR", "rendered": "BOOLEAN",
        "truncated": "BOOLEAN", "error": "VARCHAR", "snippet": "VARCHAR",
    },
    "quarantine": {
        "source": "VARCHAR", "file": "VARCHAR", "row": "BIGINT", "error": "VARCHAR",
        "raw_text": "VARCHAR", "quarantined_at": "VARCHAR",
    },
    "sources": {
        "source": "VARCHAR", "kind": "VARCHAR", "status": "VARCHAR", "reason": "VARCHAR",
        "items": "BIGINT", "pages": "BIGINT", "started_at": "VARCHAR", "finished_at": "VARCHAR",
        "stats": "JSON",
    },
}
KINDS = tuple(KIND_COLUMNS)


def ts(column: str) -> str:
    """SQL turning an ISO 8601 string column into a UTC TIMESTAMP (NULL when unparseable or infinite).

    The instant's microseconds are rebuilt as a TIMESTAMP, which skips ICU's per-row time zone
    conversion (a TIMESTAMPTZ -> TIMESTAMP cast costs ~3x the parse) and does not depend on the
    session's TimeZone for strings that carry an offset.
    """
    return f"make_timestamp(epoch_us(TRY_CAST({column} AS TIMESTAMPTZ)))"


def _not_one_of(column: str, values: tuple[str, ...]) -> str:
    """SQL: a non-NULL column whose value is not among `values`.

    A list lookup, not `NOT IN (...)`: DuckDB plans a long IN-list as a MARK join, and a join in
    the pipeline stops the order-preserving parallel (batch) insert, so the INSERT ran on one thread.
    """
    literals = ", ".join("'" + v.replace("'", "''") + "'" for v in values)
    return f"NOT list_contains([{literals}], {column})"


def _first_error(checks: list[tuple[str, str]]) -> str:
    """A CASE expression yielding the first failing check's message, else NULL."""
    whens = " ".join(f"WHEN {cond} THEN {msg}" for cond, msg in checks)
    return f"CASE {whens} ELSE NULL END"


# DuckDB's trim() strips only space (32), no-break space (160) and the Unicode space separators
# (5760 and up); tests/test_load_one_pass.py checks this against DuckDB. A string whose first
# character lies strictly between 32 and 160 therefore cannot trim to '', so the checks below call
# trim() only on the few strings that start otherwise: trim() copies every string it sees, which
# made it the costliest part of validating a clean file.
NEVER_TRIMMED = (33, 159)


def _blank(column: str) -> str:
    """SQL: the column is NULL or only whitespace (same as `col IS NULL OR trim(col) = ''`, cheaper)."""
    c = f'"{column}"'
    low, high = NEVER_TRIMMED
    return (
        f"(CASE WHEN {c} IS NULL OR {c} = '' THEN true "
        f"WHEN ord({c}) NOT BETWEEN {low} AND {high} THEN trim({c}) = '' ELSE false END)"
    )


def _bad_npi(column: str) -> str:
    """SQL: a non-blank NPI that is not 10 digits once trimmed (trim() only for values not already 10 digits)."""
    c = f'"{column}"'
    return (
        f"(CASE WHEN {c} IS NULL OR regexp_full_match({c}, '[0-9]{{10}}') THEN false "
        f"ELSE trim({c}) <> '' AND NOT regexp_full_match(trim({c}), '[0-9]{{10}}') END)"
    )


def _bad_optional_ts(column: str) -> str:
    """SQL: a non-blank value that does not parse as a timestamp (trim() only for the unparseable ones)."""
    c = f'"{column}"'
    return f"(CASE WHEN {c} IS NULL OR {ts(c)} IS NOT NULL THEN false ELSE trim({c}) <> '' END)"


VALIDATION: dict[str, list[tuple[str, str]]] = {
    "listings": [
        (_blank("listing_id"), "'missing listing_id'"),
        (_blank("insurer"), "'missing insurer'"),
        (_blank("source_url"), "'missing source_url'"),
        (f"{ts('fetched_at')} IS NULL", "'missing or unparseable fetched_at: ' || coalesce(fetched_at, 'null')"),
        (
            f"accepting_status IS NOT NULL AND {_not_one_of('accepting_status', CANONICAL_STATUS)}",
            "'accepting_status not canonical: ' || accepting_status",
        ),
        (_bad_npi("npi"), "'NPI is not 10 digits: ' || npi"),
        (_bad_optional_ts("last_updated"), "'unparseable last_updated: ' || last_updated"),
    ],
    "observations": [
        (_blank("observation_id"), "'missing observation_id'"),
        (f"source IS NULL OR {_not_one_of('source', OBSERVATION_SOURCES)}", "'unknown source: ' || coalesce(source, 'null')"),
        (f"{ts('observed_at')} IS NULL", "'missing or unparseable observed_at: ' || coalesce(observed_at, 'null')"),
        (
            f"accepting_status IS NOT NULL AND {_not_one_of('accepting_status', CANONICAL_STATUS)}",
            "'accepting_status not canonical: ' || accepting_status",
        ),
        (_bad_npi("npi"), "'NPI is not 10 digits: ' || npi"),
    ],
    "evidence": [(_blank("url"), "'missing url'")],
    "quarantine": [],
    "sources": [
        (_blank("source"), "'missing source'"),
        ("status IS NULL OR status NOT IN ('ok', 'failed')", "'status must be ok or failed'"),
    ],
}


ID_COLUMN = {"listings": "listing_id", "observations": "observation_id"}


def staged_checks(kind: str) -> list[tuple[str, str]]:
    """The row checks plus, for kinds with an id, the in-file duplicate check (needs TEMP `_dups`)."""
    checks = list(VALIDATION[kind])
    column = ID_COLUMN.get(kind)
    if column is not None:
        checks.append(("_row IN (SELECT _row FROM _dups)", f"'duplicate {column} in file: ' || {column}"))
    return checks


def validation_sql(kind: str) -> str:
    """The per-row error expression for a staged kind (NULL for a good row)."""
    checks = staged_checks(kind)
    return _first_error(checks) if checks else "NULL::VARCHAR"


def any_error_sql(kind: str) -> str:
    """A cheap filter true for staged rows failing any check (to find the few bad rows)."""
    checks = staged_checks(kind)
    return " OR ".join(f"({cond})" for cond, _ in checks) if checks else "false"


def all_valid_sql(kind: str) -> str:
    """A filter true for a row passing every row check that raises on the first failing row.

    Used by the one-pass load: a clean file (the usual case) loads with its checks fused into the
    INSERT; a file with a bad row aborts at once and is loaded again the staged, row-exact way.
    """
    checks = VALIDATION[kind]
    if not checks:
        return "true"
    failing = " OR ".join(f"({cond})" for cond, _ in checks)
    return f"CASE WHEN NOT coalesce({failing}, false) THEN true ELSE error('ghostcheck: row fails validation') END"


def duplicates_sql(kind: str) -> str:
    """SQL selecting the `_row` of every repeat of an id already seen earlier in the file."""
    column = ID_COLUMN.get(kind)
    if column is None:
        return "SELECT NULL::BIGINT AS _row WHERE false"
    return (
        f"SELECT s._row FROM _stage s JOIN (SELECT {column}, min(_row) AS first_row FROM _stage "
        f"GROUP BY {column} HAVING count(*) > 1) d USING ({column}) WHERE s._row > d.first_row"
    )


def _never_skips(con: duckdb.DuckDBPyConnection, run_id: str) -> bool:
    """For kinds whose insert keeps every row it is given (no dedupe against loaded rows)."""
    return False


@dataclass(frozen=True)
class Target:
    """How rows of one kind land in their table.

    `insert(con, run_id, sha, source, where)` inserts the rows of `source` (a FROM item, aliased
    `s`) that satisfy `where` and returns how many. `may_skip(con, run_id)` is true when the insert
    may also drop rows already loaded before (dedupe), so a one-pass load must then count the
    file's rows to be sure none was dropped for another reason. `of_file(con, sha)` is the
    condition on `table` selecting the rows the landing file with that sha256 loaded.
    """

    insert: Callable[[duckdb.DuckDBPyConnection, str, str, str, str], int]
    table: str
    may_skip: Callable[[duckdb.DuckDBPyConnection, str], bool] = _never_skips
    of_file: Callable[[duckdb.DuckDBPyConnection, str], str] = lambda con, sha: f"landing_sha256 = {literal(sha)}"


def _run_has(con: duckdb.DuckDBPyConnection, table: str, run_id: str) -> bool:
    """True when `table` already holds rows of this run (only then is a per-row duplicate check needed)."""
    return bool(execute(con, f"SELECT 1 FROM {table} WHERE run_id = ? LIMIT 1", [run_id]).fetchone())


def _count_insert(con: duckdb.DuckDBPyConnection, sql: str, params: list[object]) -> int:
    """Run an INSERT ... SELECT and return how many rows it inserted."""
    row = execute(con, sql, params).fetchone()
    return int(row[0]) if row else 0


def _listings_may_skip(con: duckdb.DuckDBPyConnection, run_id: str) -> bool:
    """Listings dedupe on listing_id only against rows of the same run (sharded crawls)."""
    return _run_has(con, "listing_rows", run_id)


# Listing columns a landing file's rows often all share (any file: kind and role; a QHP providers
# file: its URL, fetch time and payload hash too), as the SQL turning the landing value into the
# stored one. A column with one value on every row is stored once in `listing_files` and NULL on
# the rows (migration 009): DuckDB spends as much storage work on a constant string column as on
# a varying one.
FILE_COLUMNS: dict[str, str] = {
    "directory_kind": "{}",
    "role": "coalesce({}, 'audited')",
    "source_url": "{}",
    "fetched_at": ts("{}"),
    "payload_sha256": "{}",
}


def _shared_columns(con: duckdb.DuckDBPyConnection, source: str) -> set[str]:
    """The FILE_COLUMNS holding a single value (or only NULL) on every row of `source`.

    Asked of Parquet files (answered from their dictionaries, ~0.02 s per 2.6M rows) and staged tables; a JSON
    Lines file would be parsed a second time (~0.9 s per GB), more than storing the values per row costs.
    """
    if "read_json" in source:
        return set()
    tests = ", ".join(
        f"count(DISTINCT s.{c}) = 0 OR (count(DISTINCT s.{c}) = 1 AND count(s.{c}) = count(*))" for c in FILE_COLUMNS
    )
    row = con.execute(f"SELECT {tests} FROM {source} s").fetchone() or ()
    return {column for column, shared in zip(FILE_COLUMNS, row) if shared}


def _file_id(con: duckdb.DuckDBPyConnection, sha: str) -> int:
    """The file_id of the landing file with this sha256 (a literal keeps the rows' scan filtered, ~100 MB less)."""
    row = execute(con, "SELECT file_id FROM listing_files WHERE landing_sha256 = ?", [sha]).fetchone()
    return int(row[0]) if row else -1


def _add_listing_file(con: duckdb.DuckDBPyConnection, sha: str, source: str, shared: set[str]) -> int:
    """Record a landing file's shared listing values in `listing_files`; returns its new file_id."""
    file_id = int(con.execute("SELECT coalesce(max(file_id), 0) + 1 FROM listing_files").fetchone()[0])
    if not shared:
        execute(con, "INSERT INTO listing_files (file_id, landing_sha256) VALUES (?, ?)", [file_id, sha])
        return file_id
    values = ", ".join(
        template.format(f"any_value(s.{c})") if c in shared else "NULL" for c, template in FILE_COLUMNS.items()
    )
    execute(con, f"INSERT INTO listing_files SELECT ?, ?, {values} FROM {source} s", [file_id, sha])
    return file_id


def _insert_listings(con: duckdb.DuckDBPyConnection, run_id: str, sha: str, source: str, where: str) -> int:
    """Insert listings (a listing_id already loaded for this run is skipped); `listing_plans` is a view of their plans.

    The file's shared values go to `listing_files` once; `directory_listings` is the view joining them back.
    """
    seen = _run_has(con, "listing_rows", run_id)
    dedupe = (
        "NOT EXISTS (SELECT 1 FROM listing_rows d WHERE d.run_id = ? AND d.listing_id = s.listing_id)"
        if seen
        else "true"
    )
    shared = _shared_columns(con, source)
    file_id = _add_listing_file(con, sha, source, shared)
    row = {c: "NULL" if c in shared else template.format(f"s.{c}") for c, template in FILE_COLUMNS.items()}
    return _count_insert(
        con,
        f"""
        INSERT INTO listing_rows
        SELECT s.listing_id, ?, s.source_key, s.insurer, {row['directory_kind']}, {row['role']},
               nullif(trim(s.npi), ''), s.provider_name, s.first_name, s.middle_name, s.last_name,
               s.credentials, s.practice_name, s.address, s.city, s.state, s.zip, s.phone,
               s.specialty, s.specialty_code, coalesce(s.accepting_status, 'unknown'), s.accepting_raw,
               s.networks, s.plans, s.website, {ts('s.last_updated')}, {row['source_url']},
               {row['fetched_at']}, {row['payload_sha256']}, s.raw, NULL, {file_id}
        FROM {source} s
        WHERE ({where}) AND {dedupe}
        """,
        [run_id, *([run_id] if seen else [])],
    )


def _observations_may_skip(con: duckdb.DuckDBPyConnection, run_id: str) -> bool:
    """Reports dedupe on observation_id across runs, so any observation may be skipped."""
    return bool(con.execute("SELECT 1 FROM observation_records LIMIT 1").fetchone())


def _insert_observations(con: duckdb.DuckDBPyConnection, run_id: str, sha: str, source: str, where: str) -> int:
    """Insert observations; reports dedupe on observation_id, website sightings per run."""
    return _count_insert(
        con,
        f"""
        INSERT INTO observation_records
        SELECT s.observation_id, ?, s.source, nullif(trim(s.npi), ''), s.provider_name, s.practice_name,
               s.address, s.city, s.state, s.zip, s.phone, coalesce(s.accepting_status, 'unknown'),
               s.insurers_accepted, s.insurers_not_accepted, s.reachable, s.call_outcome,
               TRY_CAST(s.first_appointment AS DATE), s.providers, s.roster_complete,
               s.departed_providers, s.phones, s.addresses, s.site_url, s.evidence_url,
               s.evidence_text, s.evidence_sha256, {ts('s.observed_at')}, s.confidence, s.raw, ?
        FROM {source} s
        WHERE ({where})
          AND NOT EXISTS (
              SELECT 1 FROM observation_records o
              WHERE o.observation_id = s.observation_id
                AND (s.source <> 'website' OR o.run_id = ?))
        """,
        [run_id, sha, run_id],
    )


def _insert_evidence(con: duckdb.DuckDBPyConnection, run_id: str, sha: str, source: str, where: str) -> int:
    """Insert fetched-page evidence records."""
    return _count_insert(
        con,
        f"""
        INSERT INTO evidence
        SELECT s.url, ?, s.site_url, {ts('s.fetched_at')}, s.http_status, s.content_sha256,
               s.snapshot_path, s.rendered, s.truncated, s.error, s.snippet, ?
        FROM {source} s WHERE {where}
        """,
        [run_id, sha],
    )


def _insert_quarantine(con: duckdb.DuckDBPyConnection, run_id: str, sha: str, source: str, where: str) -> int:
    """Insert records the crawlers themselves quarantined."""
    return _count_insert(
        con,
        f"""
        INSERT INTO quarantine
        SELECT ?, s.source, s.file, s."row", s.error, s.raw_text,
               coalesce({ts('s.quarantined_at')}, now()::TIMESTAMP)
        FROM {source} s WHERE {where}
        """,
        [run_id],
    )


def _insert_sources(con: duckdb.DuckDBPyConnection, run_id: str, sha: str, source: str, where: str) -> int:
    """Insert per-source run status records."""
    return _count_insert(
        con,
        f"""
        INSERT INTO source_runs
        SELECT ?, s.source, s.kind, s.status, s.reason, s.items, s.pages,
               {ts('s.started_at')}, {ts('s.finished_at')}, s.stats
        FROM {source} s WHERE {where}
        """,
        [run_id],
    )


TARGETS: dict[str, Target] = {
    "listings": Target(
        _insert_listings, "listing_rows", _listings_may_skip,
        of_file=lambda con, sha: f"file_id = {_file_id(con, sha)}",
    ),
    "observations": Target(_insert_observations, "observation_records", _observations_may_skip),
    "evidence": Target(_insert_evidence, "evidence"),
    "quarantine": Target(_insert_quarantine, "quarantine"),
    "sources": Target(_insert_sources, "source_runs"),
}
