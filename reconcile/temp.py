"""TEMP tables of a reconcile run: reconcile computes in session-local tables and never touches the warehouse's own."""

from __future__ import annotations

import duckdb


def drop_temp(con: duckdb.DuckDBPyConnection, *names: str) -> None:
    """Drop TEMP tables by name, schema-qualified so a warehouse table of the same name can never be dropped."""
    for name in names:
        con.execute(f'DROP TABLE IF EXISTS temp."{name}"')
