"""The warehouse file's storage format: new files in the v1.3 format, existing ones untouched, any connection works."""

from __future__ import annotations

from pathlib import Path

import duckdb

from warehouse.db import STORAGE_VERSION, connect


def storage_tag(con: duckdb.DuckDBPyConnection) -> str:
    """The storage version DuckDB reports for the connection's database."""
    tags = con.execute("SELECT tags FROM duckdb_databases() WHERE database_name = current_database()").fetchone()[0]
    return str(tags.get("storage_version", ""))


def string_compressions(con: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    """The compressions DuckDB chose for a table's VARCHAR segments."""
    rows = con.execute(f"SELECT DISTINCT compression FROM pragma_storage_info('{table}') WHERE segment_type = 'VARCHAR'")
    return {r[0] for r in rows.fetchall()}


def fill(con: duckdb.DuckDBPyConnection) -> None:
    """A table of repeated and unique strings, checkpointed so its segments are compressed."""
    con.execute("CREATE TABLE t AS SELECT 'listing-' || (i % 50) || '-xxxxxxxxxx' AS low, 'id-' || i || '-yyyyyyyyyy' AS high "
                "FROM range(200000) r(i)")
    con.execute("CHECKPOINT")


def test_new_warehouse_file_is_created_in_the_newer_format_and_opens_plainly(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "w.duckdb"
    con = connect(path)
    assert storage_tag(con).startswith(STORAGE_VERSION)
    fill(con)
    assert "DICT_FSST" in string_compressions(con, "t")
    # the format belongs to the file: a plain DuckDB connection beside ours (same process) opens it
    other = duckdb.connect(str(path))
    assert other.execute("SELECT count(*) FROM t").fetchone()[0] == 200000
    other.close()
    con.close()
    again = connect(path, read_only=True)
    assert storage_tag(again).startswith(STORAGE_VERSION)
    again.close()


def test_existing_warehouse_keeps_its_format(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    with duckdb.connect(str(path)) as old:  # DuckDB's default format, as warehouses made before this change
        default_tag = storage_tag(old)
    assert not default_tag.startswith(STORAGE_VERSION)
    con = connect(path)
    assert storage_tag(con) == default_tag
    fill(con)
    assert "DICT_FSST" not in string_compressions(con, "t")
    assert con.execute("SELECT count(*) FROM schema_version").fetchone()[0] > 0
    con.close()


def test_in_memory_warehouse_is_unaffected() -> None:
    con = connect(":memory:")
    assert con.execute("SELECT count(*) FROM schema_version").fetchone()[0] > 0
    con.close()
