"""The `runs` table: one row per audit/reconcile run, with its as-of date and Prefect id."""

from __future__ import annotations

import datetime as dt
import uuid

import duckdb


def new_run_id(now: dt.datetime | None = None) -> str:
    """A sortable, unique run id such as 20261125T031500Z-1a2b3c."""
    now = now or dt.datetime.now(dt.timezone.utc)
    return now.strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6]


def start_run(
    con: duckdb.DuckDBPyConnection,
    as_of: dt.date,
    flow_run_id: str | None = None,
    config_path: str | None = None,
    run_id: str | None = None,
) -> str:
    """Record a new run as `running` and return its id."""
    run_id = run_id or new_run_id()
    con.execute(
        "INSERT INTO runs VALUES (?, now()::TIMESTAMP, NULL, 'running', ?, ?, ?, NULL)",
        [run_id, as_of, flow_run_id, config_path],
    )
    return run_id


def finish_run(con: duckdb.DuckDBPyConnection, run_id: str, status: str, notes: str | None = None) -> None:
    """Close a run with its final status (ok | partial | failed)."""
    con.execute(
        "UPDATE runs SET finished_at = now()::TIMESTAMP, status = ?, notes = coalesce(?, notes) WHERE run_id = ?",
        [status, notes, run_id],
    )


def set_flow_run_id(con: duckdb.DuckDBPyConnection, run_id: str, flow_run_id: str) -> None:
    """Attach the Prefect flow-run id to a run."""
    con.execute("UPDATE runs SET flow_run_id = ? WHERE run_id = ?", [flow_run_id, run_id])


def latest_runs(con: duckdb.DuckDBPyConnection, limit: int = 5) -> list[tuple]:
    """The newest runs (id, started, finished, status, as_of) for status displays."""
    return con.execute(
        "SELECT run_id, started_at, finished_at, status, as_of FROM runs ORDER BY started_at DESC LIMIT ?",
        [limit],
    ).fetchall()
