"""The in-memory DuckDB the bulk converters compute with (it never opens the warehouse)."""

from __future__ import annotations

import os

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
