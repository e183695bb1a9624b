"""Persist a reconciliation run: links, finding lifecycle (open/resolved/dismissed) and history, metrics, listing history."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from typing import Any

import duckdb

STATUSES = ("open", "resolved", "dismissed")
_FINDING_VALUE_COLUMNS = (
    "finding_type", "insurer", "listing_id", "npi", "provider_name", "address", "field", "directory_value",
    "observed_value", "evidence_source", "evidence_url", "evidence_text", "observed_at", "severity", "confidence",
    "evidence_sha256", "observation_id", "link_method", "link_score",
)
_ACTION_COLUMNS = ("recommended_action", "proposed_value", "action_reason")  # 005: advice, not lifecycle values
_counter = itertools.count()


@dataclass(frozen=True)
class SaveSummary:
    """What a save changed in the finding lifecycle."""

    new: int
    still_open: int
    resolved: int
    reopened: int


def _register(con: duckdb.DuckDBPyConnection, table: Any, prefix: str) -> str:
    """Register an Arrow table under a fresh name for this save; returns the name."""
    name = f"_store_{prefix}_{next(_counter)}"
    con.register(name, table)
    return name


def _count(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> int:
    """First column of the first row of a COUNT query."""
    return int(con.execute(sql, params or []).fetchone()[0])


def _save_links(con: duckdb.DuckDBPyConnection, run_id: str, links: str) -> None:
    """Make the links table equal to this run's links, touching only rows that changed."""
    con.execute(f"DELETE FROM links WHERE NOT EXISTS (SELECT 1 FROM {links} n WHERE n.left_id = links.left_id "
                "AND n.right_id = links.right_id)")
    con.execute(
        f"""UPDATE links SET score = n.score, method = n.method, level = n.level, kind = n.kind, run_id = ?
            FROM {links} n WHERE n.left_id = links.left_id AND n.right_id = links.right_id
              AND (n.score IS DISTINCT FROM links.score OR n.method IS DISTINCT FROM links.method
                   OR n.level IS DISTINCT FROM links.level OR n.kind IS DISTINCT FROM links.kind)""",
        [run_id],
    )
    con.execute(
        f"""INSERT INTO links SELECT n.left_id, n.right_id, n.score, n.method, n.level, n.kind, ?, ?
            FROM {links} n WHERE NOT EXISTS (SELECT 1 FROM links l WHERE l.left_id = n.left_id
                                            AND l.right_id = n.right_id)""",
        [run_id, run_id],
    )


def _save_findings(con: duckdb.DuckDBPyConnection, run_id: str, as_of: dt.date, new: str) -> SaveSummary:
    """Apply the lifecycle: insert new, refresh seen, reopen resolved-but-seen, resolve open-but-unseen."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE _store_seen AS SELECT * FROM {new}")
    changed = " OR ".join(f"n.{c} IS DISTINCT FROM f.{c}" for c in _FINDING_VALUE_COLUMNS)
    sets = ", ".join(f"{c} = n.{c}" for c in _FINDING_VALUE_COLUMNS)
    # classify before touching anything
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _store_class AS
            SELECT n.finding_id,
                   CASE WHEN f.finding_id IS NULL THEN 'new'
                        WHEN f.status = 'resolved' THEN 'reopened'
                        WHEN {changed} THEN 'changed'
                        WHEN f.last_seen IS NULL OR f.last_seen < ? THEN 'seen'
                        ELSE 'same' END AS what,
                   f.status AS old_status
            FROM _store_seen n LEFT JOIN finding_state f USING (finding_id)""",
        [as_of],
    )
    to_resolve = con.execute(
        "SELECT count(*) FROM finding_state f WHERE f.status = 'open' "
        "AND NOT EXISTS (SELECT 1 FROM _store_seen n WHERE n.finding_id = f.finding_id)"
    ).fetchone()[0]
    cols = ", ".join(_FINDING_VALUE_COLUMNS)
    con.execute(
        f"""INSERT INTO finding_state (finding_id, {cols}, status, first_seen, last_seen, resolved_at, run_id)
            SELECT n.finding_id, {', '.join('n.' + c for c in _FINDING_VALUE_COLUMNS)}, 'open', ?, ?, NULL, ?
            FROM _store_seen n JOIN _store_class c USING (finding_id) WHERE c.what = 'new'""",
        [as_of, as_of, run_id],
    )
    con.execute(
        f"""UPDATE finding_state f SET {sets},
                   status = CASE WHEN f.status = 'resolved' THEN 'open' ELSE f.status END,
                   resolved_at = CASE WHEN f.status = 'resolved' THEN NULL ELSE f.resolved_at END,
                   last_seen = greatest(coalesce(f.last_seen, ?), ?), run_id = ?
            FROM _store_seen n JOIN _store_class c USING (finding_id)
            WHERE f.finding_id = n.finding_id AND c.what IN ('reopened', 'changed', 'seen')""",
        [as_of, as_of, run_id],
    )
    con.execute(
        """INSERT INTO finding_history
           SELECT n.finding_id, ?, ?, CASE c.what WHEN 'new' THEN 'open' ELSE c.what END,
                  n.directory_value, n.observed_value
           FROM _store_seen n JOIN _store_class c USING (finding_id) WHERE c.what IN ('new', 'reopened', 'changed')""",
        [run_id, as_of],
    )
    con.execute(
        """INSERT INTO finding_history
           SELECT f.finding_id, ?, ?, 'resolved', f.directory_value, f.observed_value FROM finding_state f
           WHERE f.status = 'open' AND NOT EXISTS (SELECT 1 FROM _store_seen n WHERE n.finding_id = f.finding_id)""",
        [run_id, as_of],
    )
    con.execute(
        """UPDATE finding_state SET status = 'resolved', resolved_at = ?, run_id = ?
           WHERE status = 'open' AND NOT EXISTS (SELECT 1 FROM _store_seen n
                                                 WHERE n.finding_id = finding_state.finding_id)""",
        [as_of, run_id],
    )
    counts = dict(con.execute("SELECT what, count(*) FROM _store_class GROUP BY what").fetchall())
    still_open = con.execute(
        "SELECT count(*) FROM _store_class WHERE what IN ('changed', 'seen', 'same') AND old_status = 'open'"
    ).fetchone()[0]
    con.execute("DROP TABLE IF EXISTS _store_seen")
    con.execute("DROP TABLE IF EXISTS _store_class")
    return SaveSummary(new=int(counts.get("new", 0)), still_open=int(still_open), resolved=int(to_resolve),
                       reopened=int(counts.get("reopened", 0)))


def _save_actions(con: duckdb.DuckDBPyConnection, new: str) -> None:
    """Refresh the recommended action of this run's findings (no history row: advice is not a finding change)."""
    present = {r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {new}").fetchall()}
    if not set(_ACTION_COLUMNS) <= present:
        return
    sets = ", ".join(f"{c} = n.{c}" for c in _ACTION_COLUMNS)
    changed = " OR ".join(f"n.{c} IS DISTINCT FROM finding_state.{c}" for c in _ACTION_COLUMNS)
    con.execute(f"UPDATE finding_state SET {sets} FROM {new} n "
                f"WHERE finding_state.finding_id = n.finding_id AND ({changed})")


def _save_metrics(con: duckdb.DuckDBPyConnection, run_id: str, as_of: dt.date, metrics: str) -> None:
    """Store this run's metrics unless they equal the latest stored set for the same as_of (idempotent rerun)."""
    cols = "insurer, plan, metric, field, numerator, denominator, value, ci_low, ci_high, method"
    latest = con.execute(
        "SELECT run_id, as_of FROM metric_values ORDER BY as_of DESC, computed_at DESC, run_id DESC LIMIT 1"
    ).fetchone()
    if latest is not None and latest[1] == as_of:
        differs = _count(
            con,
            f"SELECT count(*) FROM ((SELECT {cols} FROM {metrics} EXCEPT ALL SELECT {cols} FROM metric_values "
            f"WHERE run_id = ?) UNION ALL (SELECT {cols} FROM metric_values WHERE run_id = ? "
            f"EXCEPT ALL SELECT {cols} FROM {metrics}))",
            [latest[0], latest[0]],
        )
        if not differs:
            return
    con.execute(
        f"INSERT INTO metric_values (run_id, as_of, computed_at, {cols}) SELECT ?, ?, now()::TIMESTAMP, {cols} "
        f"FROM {metrics}",
        [run_id, as_of],
    )


def _save_listing_history(con: duckdb.DuckDBPyConnection, run_id: str, as_of: dt.date, observed: str) -> None:
    """Append per-listing observed values only where they differ from the listing's latest stored row for the field."""
    con.execute(
        f"""INSERT INTO listing_history
            WITH latest AS (
                SELECT * FROM listing_history
                QUALIFY row_number() OVER (PARTITION BY listing_id, field ORDER BY as_of DESC, run_id DESC) = 1
            )
            SELECT ?, ?, n.listing_id, n.insurer, n.field, n.directory_value, n.observed_value, n.agrees,
                   n.evidence_source, n.observation_id, n.observed_at
            FROM {observed} n LEFT JOIN latest h ON h.listing_id = n.listing_id AND h.field = n.field
            WHERE h.listing_id IS NULL OR n.directory_value IS DISTINCT FROM h.directory_value
               OR n.observed_value IS DISTINCT FROM h.observed_value OR n.agrees IS DISTINCT FROM h.agrees
               OR n.evidence_source IS DISTINCT FROM h.evidence_source
               OR n.observation_id IS DISTINCT FROM h.observation_id""",
        [run_id, as_of],
    )


def save_reconcile(con: duckdb.DuckDBPyConnection, run_id: str, as_of: dt.date, result: Any) -> SaveSummary:
    """Write a ReconcileResult in ONE transaction; a rerun on the same inputs and as_of changes nothing."""
    if isinstance(as_of, dt.datetime):
        as_of = as_of.date()
    names = {
        "links": _register(con, result.links, "links"),
        "findings": _register(con, result.findings, "findings"),
        "metrics": _register(con, result.metrics, "metrics"),
        "observed": _register(con, result.observed_values, "observed"),
    }
    try:
        con.execute("BEGIN TRANSACTION")
        try:
            _save_links(con, run_id, names["links"])
            summary = _save_findings(con, run_id, as_of, names["findings"])
            _save_actions(con, names["findings"])
            _save_metrics(con, run_id, as_of, names["metrics"])
            _save_listing_history(con, run_id, as_of, names["observed"])
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
    finally:
        for name in names.values():
            con.unregister(name)
    return summary


def set_finding_status(con: duckdb.DuckDBPyConnection, finding_id: str, status: str) -> None:
    """Set a finding's status by hand (e.g. dismissed: kept across runs); raises ValueError for unknown ids/statuses."""
    if status not in STATUSES:
        raise ValueError(f"unknown status {status!r}: expected one of {', '.join(STATUSES)}")
    row = con.execute("SELECT status, last_seen, directory_value, observed_value FROM finding_state "
                      "WHERE finding_id = ?", [finding_id]).fetchone()
    if row is None:
        raise ValueError(f"unknown finding id {finding_id!r}")
    if row[0] == status:
        return
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(
            "UPDATE finding_state SET status = ?, resolved_at = CASE WHEN ? = 'resolved' THEN current_date "
            "ELSE NULL END WHERE finding_id = ?",
            [status, status, finding_id],
        )
        con.execute("INSERT INTO finding_history VALUES (?, NULL, current_date, ?, ?, ?)",
                    [finding_id, status, row[2], row[3]])
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
