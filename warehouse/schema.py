"""Landing record shapes per kind, their validation rules, and how each lands in its table."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import duckdb

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
    """SQL turning an ISO 8601 string column into a UTC TIMESTAMP (NULL when unparseable)."""
    return f"TRY_CAST(TRY_CAST({column} AS TIMESTAMPTZ) AS TIMESTAMP)"


def _sql_list(values: tuple[str, ...]) -> str:
    """A SQL IN-list literal."""
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


def _first_error(checks: list[tuple[str, str]]) -> str:
    """A CASE expression yielding the first failing check's message, else NULL."""
    whens = " ".join(f"WHEN {cond} THEN {msg}" for cond, msg in checks)
    return f"CASE {whens} ELSE NULL END"


def _blank(column: str) -> str:
    """SQL: the column is NULL or only whitespace."""
    return f"(\"{column}\" IS NULL OR trim(\"{column}\") = '')"


VALIDATION: dict[str, list[tuple[str, str]]] = {
    "listings": [
        (_blank("listing_id"), "'missing listing_id'"),
        (_blank("insurer"), "'missing insurer'"),
        (_blank("source_url"), "'missing source_url'"),
        (f"{ts('fetched_at')} IS NULL", "'missing or unparseable fetched_at: ' || coalesce(fetched_at, 'null')"),
        (
            f"accepting_status IS NOT NULL AND accepting_status NOT IN {_sql_list(CANONICAL_STATUS)}",
            "'accepting_status not canonical: ' || accepting_status",
        ),
        ("npi IS NOT NULL AND trim(npi) <> '' AND NOT regexp_full_match(trim(npi), '[0-9]{10}')", "'NPI is not 10 digits: ' || npi"),
        (f"last_updated IS NOT NULL AND trim(last_updated) <> '' AND {ts('last_updated')} IS NULL", "'unparseable last_updated: ' || last_updated"),
        ("_row IN (SELECT _row FROM _dups)", "'duplicate listing_id in file: ' || listing_id"),
    ],
    "observations": [
        (_blank("observation_id"), "'missing observation_id'"),
        (f"source IS NULL OR source NOT IN {_sql_list(OBSERVATION_SOURCES)}", "'unknown source: ' || coalesce(source, 'null')"),
        (f"{ts('observed_at')} IS NULL", "'missing or unparseable observed_at: ' || coalesce(observed_at, 'null')"),
        (
            f"accepting_status IS NOT NULL AND accepting_status NOT IN {_sql_list(CANONICAL_STATUS)}",
            "'accepting_status not canonical: ' || accepting_status",
        ),
        ("npi IS NOT NULL AND trim(npi) <> '' AND NOT regexp_full_match(trim(npi), '[0-9]{10}')", "'NPI is not 10 digits: ' || npi"),
        ("_row IN (SELECT _row FROM _dups)", "'duplicate observation_id in file: ' || observation_id"),
    ],
    "evidence": [(_blank("url"), "'missing url'")],
    "quarantine": [],
    "sources": [
        (_blank("source"), "'missing source'"),
        ("status IS NULL OR status NOT IN ('ok', 'failed')", "'status must be ok or failed'"),
    ],
}


ID_COLUMN = {"listings": "listing_id", "observations": "observation_id"}


def validation_sql(kind: str) -> str:
    """The per-row error expression for a kind (NULL for a good row)."""
    checks = VALIDATION[kind]
    return _first_error(checks) if checks else "NULL::VARCHAR"


def any_error_sql(kind: str) -> str:
    """A cheap filter true for rows failing any check (to find the few bad rows)."""
    checks = VALIDATION[kind]
    return " OR ".join(f"({cond})" for cond, _ in checks) if checks else "false"


def duplicates_sql(kind: str) -> str:
    """SQL selecting the `_row` of every repeat of an id already seen earlier in the file."""
    column = ID_COLUMN.get(kind)
    if column is None:
        return "SELECT NULL::BIGINT AS _row WHERE false"
    return (
        f"SELECT s._row FROM _stage s JOIN (SELECT {column}, min(_row) AS first_row FROM _stage "
        f"GROUP BY {column} HAVING count(*) > 1) d USING ({column}) WHERE s._row > d.first_row"
    )


@dataclass(frozen=True)
class Target:
    """How good staged rows of one kind are inserted; returns the rows inserted."""

    insert: Callable[[duckdb.DuckDBPyConnection, str, str], int]


def _good(con: duckdb.DuckDBPyConnection) -> str:
    """SQL condition keeping the staged rows that passed validation (no anti-join when none failed)."""
    has_errors = con.execute("SELECT 1 FROM _errors LIMIT 1").fetchone()
    return "s._row NOT IN (SELECT _row FROM _errors)" if has_errors else "true"


def _run_has(con: duckdb.DuckDBPyConnection, table: str, run_id: str) -> bool:
    """True when `table` already holds rows of this run (only then is a per-row duplicate check needed)."""
    return bool(con.execute(f"SELECT 1 FROM {table} WHERE run_id = ? LIMIT 1", [run_id]).fetchone())


def _count_insert(con: duckdb.DuckDBPyConnection, sql: str, params: list[object]) -> int:
    """Run an INSERT ... SELECT and return how many rows it inserted."""
    row = con.execute(sql, params).fetchone()
    return int(row[0]) if row else 0


def _insert_listings(con: duckdb.DuckDBPyConnection, run_id: str, sha: str) -> int:
    """Insert listings (a listing_id already loaded for this run is skipped) and their plans."""
    seen = _run_has(con, "directory_listings", run_id)
    n = _count_insert(
        con,
        f"""
        INSERT INTO directory_listings
        SELECT s.listing_id, ?, s.source_key, s.insurer, s.directory_kind, coalesce(s.role, 'audited'),
               nullif(trim(s.npi), ''), s.provider_name, s.first_name, s.middle_name, s.last_name,
               s.credentials, s.practice_name, s.address, s.city, s.state, s.zip, s.phone,
               s.specialty, s.specialty_code, coalesce(s.accepting_status, 'unknown'), s.accepting_raw,
               s.networks, s.plans, s.website, {ts('s.last_updated')}, s.source_url,
               {ts('s.fetched_at')}, s.payload_sha256, s.raw, ?
        FROM _stage s
        WHERE {_good(con)} AND ({"NOT EXISTS (SELECT 1 FROM directory_listings d WHERE d.run_id = ? "
                                 "AND d.listing_id = s.listing_id)" if seen else "? IS NOT NULL"})
        """,
        [run_id, sha, run_id],
    )
    con.execute(
        f"""
        INSERT INTO listing_plans
        SELECT s.listing_id, ?, s.insurer, p ->> 'plan_id', p ->> 'plan_id_type',
               p ->> 'network_tier', (p -> 'years')::VARCHAR
        FROM _stage s, unnest(CAST(s.plans AS JSON[])) AS t(p)
        WHERE s.plans IS NOT NULL AND json_type(s.plans) = 'ARRAY'
          AND {_good(con)}
        """,
        [run_id],
    )
    return n


def _insert_observations(con: duckdb.DuckDBPyConnection, run_id: str, sha: str) -> int:
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
        FROM _stage s
        WHERE {_good(con)}
          AND NOT EXISTS (
              SELECT 1 FROM observation_records o
              WHERE o.observation_id = s.observation_id
                AND (s.source <> 'website' OR o.run_id = ?))
        """,
        [run_id, sha, run_id],
    )


def _insert_evidence(con: duckdb.DuckDBPyConnection, run_id: str, sha: str) -> int:
    """Insert fetched-page evidence records."""
    return _count_insert(
        con,
        f"""
        INSERT INTO evidence
        SELECT s.url, ?, s.site_url, {ts('s.fetched_at')}, s.http_status, s.content_sha256,
               s.snapshot_path, s.rendered, s.truncated, s.error, s.snippet, ?
        FROM _stage s WHERE {_good(con)}
        """,
        [run_id, sha],
    )


def _insert_quarantine(con: duckdb.DuckDBPyConnection, run_id: str, sha: str) -> int:
    """Insert records the crawlers themselves quarantined."""
    return _count_insert(
        con,
        f"""
        INSERT INTO quarantine
        SELECT ?, s.source, s.file, s."row", s.error, s.raw_text,
               coalesce({ts('s.quarantined_at')}, now()::TIMESTAMP)
        FROM _stage s WHERE {_good(con)}
        """,
        [run_id],
    )


def _insert_sources(con: duckdb.DuckDBPyConnection, run_id: str, sha: str) -> int:
    """Insert per-source run status records."""
    return _count_insert(
        con,
        f"""
        INSERT INTO source_runs
        SELECT ?, s.source, s.kind, s.status, s.reason, s.items, s.pages,
               {ts('s.started_at')}, {ts('s.finished_at')}, s.stats
        FROM _stage s WHERE {_good(con)}
        """,
        [run_id],
    )


TARGETS: dict[str, Target] = {
    "listings": Target(_insert_listings),
    "observations": Target(_insert_observations),
    "evidence": Target(_insert_evidence),
    "quarantine": Target(_insert_quarantine),
    "sources": Target(_insert_sources),
}
