"""reconcile.batch.dense_ids: the lid/oid numbering equals dense_rank over the ids, without sorting the wide rows."""

from __future__ import annotations

import random

import duckdb

from reconcile.batch import dense_ids


def test_dense_ids_number_distinct_ids_like_dense_rank(tmp_path):
    """Repeated, mixed-case, numeric-looking and non-ASCII ids get the same numbers as DuckDB's dense_rank."""
    rng = random.Random(5)
    pool = ["L-10", "L-9", "l-9", "L-100", "ä-1", "Z", "0001", "1", " space", "L-9 ", "ÿ", "a" * 40]
    ids = [rng.choice(pool) for _ in range(400)] + pool
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute("CREATE TEMP TABLE src (listing_id VARCHAR NOT NULL, payload VARCHAR)")
    con.executemany("INSERT INTO src VALUES (?, ?)", [(i, f"p{n}") for n, i in enumerate(ids)])
    dense_ids(con, "src", "listing_id", "lid", "ranked")
    got = dict(con.execute("SELECT listing_id, lid FROM ranked").fetchall())
    expected = dict(con.execute(
        "SELECT DISTINCT listing_id, CAST(dense_rank() OVER (ORDER BY listing_id) AS INTEGER) FROM src").fetchall())
    assert got == expected
    assert sorted(got.values()) == list(range(1, len(set(ids)) + 1))
    assert con.execute("SELECT typeof(lid) FROM ranked LIMIT 1").fetchone()[0] == "INTEGER"
    con.close()
