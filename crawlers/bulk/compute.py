"""The in-memory DuckDB the bulk converters compute with (it never opens the warehouse)."""

from __future__ import annotations

import os

from typing import Any, Callable

import duckdb


def compute_connection(work_dir: str, memory_limit: str | None = None, keep_order: bool = False,
                       threads: int | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB spilling to `<work_dir>/spill`, optionally memory-capped so a crawler stays small."""
    config: dict[str, object] = {"temp_directory": os.path.join(work_dir, "spill"), "preserve_insertion_order": keep_order}
    if memory_limit:
        config["memory_limit"] = memory_limit
    if threads:
        config["threads"] = threads
    con = duckdb.connect(config=config)
    con.execute("SET enable_progress_bar = false")
    return con


def execute_with_one_thread_fallback(con: duckdb.DuckDBPyConnection, sql: str,
                                     before_retry: Callable[[], None] = lambda: None) -> tuple[Any, ...] | None:
    """Run `sql` and fetch one row; when it runs out of memory, run it again on one thread (each thread buffers
    its own rows, so one thread needs less) and restore the connection's thread count after."""
    try:
        return con.execute(sql).fetchone()
    except duckdb.OutOfMemoryException:
        before_retry()
        threads = con.execute("SELECT current_setting('threads')").fetchone()[0]
        con.execute("SET threads = 1")
        try:
            return con.execute(sql).fetchone()
        finally:
            con.execute(f"SET threads = {int(threads)}")
