"""Read the warehouse into plain dicts and Arrow tables for the report (read-only SQL).

Everything here only SELECTs. Relations that are missing (an empty warehouse,
a warehouse from before a migration) give empty sections, not errors, so a
report can always be written.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pyarrow as pa

from reconcile.stats import wilson_interval

FINDINGS_CORE = (
    "finding_id", "finding_type", "insurer", "listing_id", "npi", "provider_name", "address", "field",
    "directory_value", "observed_value", "evidence_source", "evidence_url", "evidence_text", "observed_at",
    "severity", "confidence", "status", "first_seen", "last_seen",
)
SNIPPET_LIMIT = 2000
OVERALL_NAMES = ("", "*", "all", "all insurers", "overall", "total")


class ReportDataError(Exception):
    """The warehouse cannot give what the report needs (phrased as one line)."""


@dataclass
class RunInfo:
    """The run a report describes (None fields when the warehouse has no runs table)."""

    run_id: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    status: str | None = None
    as_of: str | None = None


@dataclass
class Scope:
    """What the report covers: the chosen run and the as-of date filter."""

    run: RunInfo = field(default_factory=RunInfo)
    as_of: dt.date | None = None
    run_order: list[str] = field(default_factory=list)


def relations(con: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    """Tables and views of the main schema with their column names (to adapt to what exists)."""
    rows = con.execute(
        """SELECT table_name, column_name FROM information_schema.columns
           WHERE table_schema = 'main' AND table_catalog = current_database()
           ORDER BY table_name, ordinal_position"""
    ).fetchall()
    found: dict[str, list[str]] = {}
    for table, column in rows:
        found.setdefault(table, []).append(column)
    return found


def quote(name: str) -> str:
    """Quote a SQL identifier (column names come from the warehouse, never from users)."""
    return '"' + name.replace('"', '""') + '"'


def literal(value: Any) -> str:
    """A SQL string literal (for COPY statements, which take no parameters)."""
    return "'" + str(value).replace("'", "''") + "'"


def select_scope(con: duckdb.DuckDBPyConnection, rels: dict[str, list[str]], as_of: dt.date | None) -> Scope:
    """Choose the run to report on: the latest one whose as-of date is on or before `as_of`."""
    scope = Scope(as_of=as_of)
    if "runs" not in rels:
        return scope
    cols = set(rels["runs"])
    day = "coalesce(CAST(as_of AS DATE), CAST(started_at AS DATE))" if "as_of" in cols else "CAST(started_at AS DATE)"
    order = con.execute("SELECT run_id FROM runs ORDER BY started_at NULLS LAST, run_id").fetchall()
    where = f"WHERE {day} <= ?" if as_of else ""
    params = [as_of] if as_of else []
    pick = [c if c in cols else f"NULL AS {c}" for c in ("run_id", "started_at", "finished_at", "status", "as_of")]
    row = con.execute(
        f"SELECT {', '.join(pick)} FROM runs {where} ORDER BY started_at DESC NULLS LAST, run_id DESC LIMIT 1", params
    ).fetchone()
    if row:
        scope.run = RunInfo(*[None if v is None else str(v) for v in row])
        ids = [r[0] for r in order]
        scope.run_order = ids[: ids.index(row[0]) + 1] if row[0] in ids else ids
    elif as_of:
        raise ReportDataError(f"no run on or before {as_of.isoformat()} in the warehouse")
    return scope


def findings_sql(rels: dict[str, list[str]], scope: Scope, *, for_report: bool = False) -> str:
    """The SELECT giving the findings in scope: all view columns; status as of the chosen run."""
    if "findings" not in rels:
        raise ReportDataError("the warehouse has no findings view (run `ghostcheck reconcile` first)")
    cols = rels["findings"]
    missing = [c for c in ("finding_id", "finding_type", "insurer", "status") if c not in cols]
    if missing:
        raise ReportDataError(f"the findings view lacks column(s) {', '.join(missing)}")
    history = (
        scope.as_of is not None
        and scope.run.run_id is not None
        and {"finding_id", "run_id", "status"} <= set(rels.get("finding_history", []))
        and "runs" in rels
    )
    select = []
    for c in cols:
        if c == "status" and history:
            select.append("coalesce(h.status, f.status) AS status")
        elif for_report and c == "evidence_text":
            select.append(
                f"CASE WHEN length(CAST(f.evidence_text AS VARCHAR)) > {SNIPPET_LIMIT} "
                f"THEN left(CAST(f.evidence_text AS VARCHAR), {SNIPPET_LIMIT}) || ' […]' "
                "ELSE CAST(f.evidence_text AS VARCHAR) END AS evidence_text"
            )
        else:
            select.append(f"f.{quote(c)}")
    joins = ""
    where = []
    if history:
        run_list = ", ".join(literal(r) for r in scope.run_order)
        joins += f"""
          LEFT JOIN (
            SELECT fh.finding_id, arg_max({_history_status('fh.status')}, r.started_at) AS status
            FROM finding_history fh JOIN runs r USING (run_id)
            WHERE fh.run_id IN ({run_list}) GROUP BY fh.finding_id
          ) h ON h.finding_id = f.finding_id"""
    if scope.as_of is not None and "first_seen" in cols:
        where.append(f"CAST(f.first_seen AS DATE) <= DATE {literal(scope.as_of.isoformat())}")
    if for_report:
        ev = set(rels.get("evidence", []))
        if {"url", "fetched_at"} <= ev and "evidence_url" in cols:
            joins += """
          LEFT JOIN (SELECT url, max(fetched_at) AS evidence_fetched_at FROM evidence GROUP BY url) e
            ON e.url = f.evidence_url"""
            select.append("e.evidence_fetched_at")
    sql = f"SELECT {', '.join(select)} FROM findings f {joins}"
    if where:
        sql += " WHERE " + " AND ".join(where)
    order = [c for c in ("insurer", "finding_type", "finding_id") if c in cols]
    return sql + " ORDER BY " + ", ".join(f"f.{quote(c)}" for c in order)


def findings_for_report(con: duckdb.DuckDBPyConnection, sql: str) -> pa.Table:
    """Findings as Arrow with timestamps as short ISO strings and confidence rounded, ready to embed."""
    rel = con.sql(sql)
    parts = []
    for name, dtype in zip(rel.columns, rel.dtypes):
        q = quote(name)
        kind = str(dtype).upper()
        if kind.startswith("TIMESTAMP"):
            fmt = "%Y-%m-%d" if name in ("first_seen", "last_seen") else "%Y-%m-%d %H:%M"
            parts.append(f"strftime({q}, '{fmt}') AS {q}")
        elif kind == "DATE":
            parts.append(f"CAST({q} AS VARCHAR) AS {q}")
        elif kind in ("DOUBLE", "FLOAT", "REAL") or kind.startswith("DECIMAL"):
            parts.append(f"round({q}, 3)::DOUBLE AS {q}")
        elif kind in ("VARCHAR", "BIGINT", "INTEGER", "SMALLINT", "TINYINT", "UBIGINT", "UINTEGER", "BOOLEAN", "HUGEINT"):
            parts.append(q)
        else:
            parts.append(f"CAST({q} AS VARCHAR) AS {q}")
    return con.sql(f"SELECT {', '.join(parts)} FROM ({sql})").to_arrow_table()


def metrics_rows(con: duckdb.DuckDBPyConnection, rels: dict[str, list[str]], scope: Scope) -> list[dict[str, Any]]:
    """Metric rows of the chosen run (all rows when metrics carry no run id), as plain dicts."""
    if "metrics" not in rels:
        return []
    cols = rels["metrics"]
    where, params = "", []
    if "run_id" in cols:
        with_metrics = {r[0] for r in con.execute("SELECT DISTINCT run_id FROM metrics").fetchall()}
        candidates = list(reversed(scope.run_order)) if scope.run_order else sorted(
            (r for r in with_metrics if r is not None), reverse=True
        )
        chosen = next((r for r in candidates if r in with_metrics), None)
        if chosen is not None:
            where, params = "WHERE run_id = ?", [chosen]
        elif scope.run_order and with_metrics - {None}:
            return []
    order = [c for c in ("metric", "insurer", "plan", "field") if c in cols]
    sql = f"SELECT * FROM metrics {where}" + (" ORDER BY " + ", ".join(f"{quote(c)} NULLS FIRST" for c in order) if order else "")
    cur = con.execute(sql, params)
    names = [d[0] for d in cur.description]
    return [_plain(dict(zip(names, row))) for row in cur.fetchall()]


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    """Make a row JSON/Jinja friendly (dates to ISO strings, decimals to floats)."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        if isinstance(value, (dt.date, dt.datetime)):
            value = value.isoformat(sep=" ", timespec="minutes") if isinstance(value, dt.datetime) else value.isoformat()
        elif value is not None and not isinstance(value, (str, int, float, bool)):
            try:
                value = float(value)
            except (TypeError, ValueError):
                value = str(value)
        out[key] = value
    return out


def headline(
    con: duckdb.DuckDBPyConnection, rels: dict[str, list[str]], sql: str, metrics: list[dict[str, Any]]
) -> dict[str, Any]:
    """Listings checked, ghost rate with its 95% interval, findings by type/status/severity, per insurer."""
    by_status = dict(con.execute(f"SELECT coalesce(status, 'unknown'), count(*) FROM ({sql}) GROUP BY 1").fetchall())
    by_type = con.execute(
        f"""SELECT finding_type, count(*) FILTER (WHERE status = 'open'), count(*)
            FROM ({sql}) GROUP BY 1 ORDER BY 2 DESC, 1"""
    ).fetchall()
    sev_col = "severity" if "severity" in rels["findings"] else "NULL"
    by_severity = dict(
        con.execute(f"SELECT {sev_col}, count(*) FROM ({sql}) WHERE status = 'open' GROUP BY 1").fetchall()
    )
    insurers = _per_insurer(con, rels, sql, metrics)
    known = [i for i in insurers if i["listings_checked"] is not None]
    checked = sum(i["listings_checked"] for i in known) if known else None
    ghosts = sum(i["ghost_listings"] or 0 for i in known)
    overall = next(
        (m for m in metrics if m.get("metric") == "ghost_rate" and str(m.get("insurer") or "").casefold() in OVERALL_NAMES
         and not m.get("plan")),
        None,
    )
    if overall and overall.get("denominator"):
        checked, ghosts = int(overall["denominator"]), int(overall["numerator"] or 0)
        rate, lo, hi = overall.get("value"), overall.get("ci_low"), overall.get("ci_high")
    else:
        rate = ghosts / checked if checked else None
        lo, hi = wilson_interval(ghosts, checked) if checked else (None, None)
    return {
        "listings_checked": checked,
        "ghost_listings": ghosts,
        "ghost_rate": rate,
        "ghost_ci": (lo, hi),
        "findings_total": sum(by_status.values()),
        "by_status": by_status,
        "open": by_status.get("open", 0),
        "by_type": [{"type": t, "open": o, "total": n} for t, o, n in by_type],
        "by_severity": by_severity,
        "insurers": insurers,
    }


def _per_insurer(
    con: duckdb.DuckDBPyConnection, rels: dict[str, list[str]], sql: str, metrics: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Per insurer: listings checked, ghost listings, ghost rate ± CI (from metrics when present), open findings."""
    open_by = {
        r[0]: r[1:]
        for r in con.execute(
            f"""SELECT insurer, count(*) FILTER (WHERE status = 'open'),
                       count(DISTINCT listing_id) FILTER (WHERE status = 'open'),
                       count(*) FILTER (WHERE status = 'open' AND severity IN ('high', 'critical'))
                FROM ({sql}) GROUP BY 1"""
            if {"listing_id", "severity"} <= set(rels["findings"])
            else f"SELECT insurer, count(*) FILTER (WHERE status = 'open'), NULL, NULL FROM ({sql}) GROUP BY 1"
        ).fetchall()
    }
    listed: dict[Any, int] = {}
    if "listings" in rels and "insurer" in rels["listings"]:
        listed = dict(con.execute("SELECT insurer, count(*) FROM listings GROUP BY 1").fetchall())
    from_metrics = {
        m.get("insurer"): m
        for m in metrics
        if m.get("metric") == "ghost_rate" and not m.get("plan")
        and str(m.get("insurer") or "").casefold() not in OVERALL_NAMES
    }
    names = sorted({*open_by, *listed, *from_metrics}, key=lambda v: str(v or "").casefold())
    rows = []
    for name in names:
        n_open, n_ghost, n_serious = open_by.get(name, (0, 0, 0))
        m = from_metrics.get(name)
        if m and m.get("denominator"):
            checked, ghosts = int(m["denominator"]), int(m.get("numerator") or 0)
            rate, lo, hi = m.get("value"), m.get("ci_low"), m.get("ci_high")
            if lo is None or hi is None:
                lo, hi = wilson_interval(ghosts, checked)
            basis = "metrics"
        else:
            checked = listed.get(name)
            ghosts = n_ghost or 0
            rate = ghosts / checked if checked else None
            lo, hi = wilson_interval(ghosts, checked) if checked else (None, None)
            basis = "computed"
        rows.append(
            {
                "insurer": "(no insurer)" if name is None else str(name),
                "listings_checked": checked,
                "ghost_listings": ghosts,
                "ghost_rate": rate,
                "ci_low": lo,
                "ci_high": hi,
                "open_findings": n_open or 0,
                "serious_open": n_serious or 0,
                "basis": basis,
            }
        )
    return rows


def _history_status(column: str) -> str:
    """SQL: a finding_history status as the finding's state ('reopened' and 'changed' rows are open findings)."""
    return f"CASE WHEN {column} IN ('reopened', 'changed') THEN 'open' ELSE {column} END"


def run_series(con: duckdb.DuckDBPyConnection, rels: dict[str, list[str]], scope: Scope) -> list[dict[str, Any]]:
    """Findings opened, resolved and still open per run, from finding_history (in run order)."""
    hist = set(rels.get("finding_history", []))
    if not {"finding_id", "run_id", "status"} <= hist or "runs" not in rels:
        return []
    keep = ""
    if scope.run_order:
        keep = "WHERE r.run_id IN (" + ", ".join(literal(r) for r in scope.run_order) + ")"
    # The store writes a history row only when a finding's state changes (new -> 'open', 'reopened', 'changed'
    # values, 'resolved'), not for every run that merely sees it again: "open after run" is the running balance
    # of findings that became open minus those that stopped being open, not a count of this run's rows.
    rows = con.execute(
        f"""WITH r AS (SELECT run_id, started_at FROM runs),
            h0 AS (
              SELECT fh.finding_id, r.run_id, r.started_at, {_history_status('fh.status')} AS status
              FROM finding_history fh JOIN r USING (run_id)
            ),
            h AS (
              SELECT *, lag(status) OVER (PARTITION BY finding_id ORDER BY started_at, run_id) AS prev FROM h0
            ),
            per_run AS (
              SELECT r.run_id, r.started_at,
                     count(h.finding_id) FILTER (WHERE h.status = 'open' AND h.prev IS DISTINCT FROM 'open') AS opened,
                     count(h.finding_id) FILTER (WHERE h.status = 'resolved'
                                                 AND h.prev IS DISTINCT FROM 'resolved') AS resolved,
                     count(h.finding_id) FILTER (WHERE h.prev = 'open' AND h.status <> 'open') AS closed
              FROM r LEFT JOIN h USING (run_id)
              GROUP BY r.run_id, r.started_at
            )
            SELECT r.run_id, strftime(r.started_at, '%Y-%m-%d') AS day, opened, resolved,
                   CAST(sum(opened - closed) OVER (ORDER BY r.started_at, r.run_id
                                         ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS BIGINT) AS open_now
            FROM per_run r {keep}
            ORDER BY r.started_at, r.run_id"""
    ).fetchall()
    return [{"run_id": str(a), "day": b, "opened": c, "resolved": d, "open": e} for a, b, c, d, e in rows]


def sources(con: duckdb.DuckDBPyConnection, rels: dict[str, list[str]], scope: Scope) -> dict[str, list[dict[str, Any]]]:
    """Sources covered (ok) and failed in the chosen run, from source_runs.

    An audit records its sources under its own run. A reconcile run after separate `crawl` / `ingest` commands
    (each with its own run id) has none: it then shows each source's latest record started before it, what its
    findings rest on.
    """
    cols = rels.get("source_runs")
    if not cols or not scope.run.run_id:
        return {"ok": [], "failed": []}
    want = [c for c in ("source", "kind", "status", "reason", "items", "pages", "started_at", "finished_at") if c in cols]
    select = ", ".join(quote(c) for c in want)

    def fetch(where: str, param: str) -> list[dict[str, Any]]:
        """The source_runs rows selected by `where` (one parameter)."""
        cur = con.execute(f"SELECT {select} FROM source_runs {where}", [param])
        return [_plain(dict(zip(want, r))) for r in cur.fetchall()]

    rows = fetch("WHERE run_id = ? ORDER BY source", scope.run.run_id)
    if not rows and scope.run.started_at and "started_at" in cols:
        rows = fetch("WHERE started_at <= CAST(? AS TIMESTAMP) QUALIFY row_number() OVER "
                     "(PARTITION BY source ORDER BY started_at DESC) = 1 ORDER BY source", str(scope.run.started_at))
    return {
        "ok": [r for r in rows if r.get("status") == "ok"],
        "failed": [r for r in rows if r.get("status") != "ok"],
    }


def evidence_snapshots(con: duckdb.DuckDBPyConnection, rels: dict[str, list[str]]) -> dict[str, str | None] | None:
    """Evidence URL -> saved page snapshot path (latest fetch; None if not kept); None when there is no evidence table."""
    cols = set(rels.get("evidence", []))
    if "url" not in cols:
        return None
    snap = "snapshot_path" if "snapshot_path" in cols else "NULL"
    order = "fetched_at" if "fetched_at" in cols else "url"
    rows = con.execute(f"SELECT url, arg_max({snap}, {order}) FROM evidence WHERE url IS NOT NULL GROUP BY url").fetchall()
    return {url: (str(path) if path else None) for url, path in rows}


def compliance_rows(con: duckdb.DuckDBPyConnection, rels: dict[str, list[str]], scope: Scope) -> list[dict[str, Any]]:
    """The compliance figures as of the report's date (the chosen run's as-of), insurer rows then finding types."""
    if "compliance" not in rels:
        return []
    day = scope.as_of
    if day is None and scope.run.as_of:
        try:
            day = dt.date.fromisoformat(scope.run.as_of[:10])
        except ValueError:
            day = None
    try:
        if day is not None:
            cur = con.execute("SELECT * FROM compliance_at(CAST(? AS DATE))", [day])
        else:
            cur = con.execute("SELECT * FROM compliance")
    except duckdb.Error:
        return []  # a warehouse whose compliance macro is missing or broken: no section rather than no report
    names = [d[0] for d in cur.description]
    return [_plain(dict(zip(names, row))) for row in cur.fetchall()]
