"""An older warehouse file, migrated only up to a given version (for upgrade tests)."""

from __future__ import annotations

from pathlib import Path

import duckdb

from warehouse.db import migrations


def warehouse_at(path: Path, version: int) -> duckdb.DuckDBPyConnection:
    """A plain connection to a new warehouse file with the shipped migrations applied up to `version` only."""
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, name VARCHAR, applied_at TIMESTAMP)")
    for migration in migrations():
        if migration.version <= version:
            con.execute(migration.sql)
            con.execute("INSERT INTO schema_version VALUES (?, ?, now())", [migration.version, migration.name])
    return con
