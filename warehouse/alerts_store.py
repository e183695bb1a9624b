"""The alerts ledger (`alerts_sent`): which findings went to which destination, and which sends failed."""

from __future__ import annotations

import datetime as dt
from typing import Any, Iterable

import duckdb

SEVERITY_RANK = {"low": 0, "medium": 1, "high": 2, "critical": 3}
_RANK_SQL = "CASE f.severity WHEN 'critical' THEN 3 WHEN 'high' THEN 2 WHEN 'medium' THEN 1 ELSE 0 END"


def checked_through(con: duckdb.DuckDBPyConnection, destination: str) -> dt.date | None:
    """The as-of date through which a destination's new findings were considered (None: never)."""
    row = con.execute("SELECT max(checked_through) FROM alerts_cursor WHERE destination = ?", [destination]).fetchone()
    return row[0] if row else None


def mark_checked(con: duckdb.DuckDBPyConnection, destination: str, as_of: dt.date) -> None:
    """Advance a destination's cursor to `as_of` (never backwards: a backfill run does not rewind it)."""
    current = checked_through(con, destination)
    if current is not None and current >= as_of:
        return
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("DELETE FROM alerts_cursor WHERE destination = ?", [destination])
        con.execute("INSERT INTO alerts_cursor VALUES (?, ?, now()::TIMESTAMP)", [destination, as_of])
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise


def alert_candidates(con: duckdb.DuckDBPyConnection, as_of: dt.date, min_severity: str,
                     destination: str) -> list[dict[str, Any]]:
    """Open findings at/above `min_severity` never delivered to `destination` that are new or failed before.

    New means first seen after the destination's cursor and on or before `as_of` (only on `as_of` the first
    time, so adding a destination does not flood it with the backlog).
    """
    if min_severity not in SEVERITY_RANK:
        raise ValueError(f"unknown severity {min_severity!r}: expected one of {', '.join(SEVERITY_RANK)}")
    cursor_day = checked_through(con, destination)
    since = as_of if cursor_day is None else min(cursor_day + dt.timedelta(days=1), as_of)
    cursor = con.execute(
        f"""SELECT f.finding_id, f.finding_type, f.insurer, f.listing_id, f.npi, f.provider_name, f.address, f.field,
                   f.directory_value, f.observed_value, f.evidence_source, f.evidence_url, f.evidence_text,
                   f.severity, f.confidence, f.first_seen
            FROM findings f
            WHERE f.status = 'open' AND {_RANK_SQL} >= ?
              AND (CAST(f.first_seen AS DATE) BETWEEN ? AND ?
                   OR EXISTS (SELECT 1 FROM alerts_sent a WHERE a.finding_id = f.finding_id
                              AND a.destination = ? AND a.status = 'failed'))
              AND NOT EXISTS (SELECT 1 FROM alerts_sent a WHERE a.finding_id = f.finding_id
                              AND a.destination = ? AND a.status = 'sent')
            ORDER BY {_RANK_SQL} DESC, f.confidence DESC NULLS LAST, f.insurer, f.finding_type, f.finding_id""",
        [SEVERITY_RANK[min_severity], since, as_of, destination, destination],
    )
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def record_sends(con: duckdb.DuckDBPyConnection, finding_ids: Iterable[str], destination: str, run_id: str | None,
                 status: str, error: str | None = None) -> int:
    """Record one attempt (sent | failed) per finding for a destination in one transaction; returns rows written."""
    if status not in ("sent", "failed"):
        raise ValueError(f"unknown alert status {status!r}: expected sent or failed")
    ids = list(dict.fromkeys(finding_ids))
    if not ids:
        return 0
    con.execute(
        "INSERT INTO alerts_sent (finding_id, destination, run_id, sent_at, status, error) "
        "SELECT unnest(CAST(? AS VARCHAR[])), ?, ?, now()::TIMESTAMP, ?, ?",
        [ids, destination, run_id, status, error],
    )
    return len(ids)


def sent_to(con: duckdb.DuckDBPyConnection, destination: str) -> set[str]:
    """Finding ids already delivered to a destination (for idempotence checks and tests)."""
    rows = con.execute("SELECT DISTINCT finding_id FROM alerts_sent WHERE destination = ? AND status = 'sent'",
                       [destination]).fetchall()
    return {r[0] for r in rows}


def attempts(con: duckdb.DuckDBPyConnection, destination: str | None = None) -> list[tuple]:
    """Every attempt (finding_id, destination, run_id, sent_at, status, error), oldest first."""
    sql = "SELECT finding_id, destination, run_id, sent_at, status, error FROM alerts_sent"
    params: list[Any] = []
    if destination is not None:
        sql += " WHERE destination = ?"
        params.append(destination)
    return con.execute(sql + " ORDER BY sent_at, finding_id", params).fetchall()
