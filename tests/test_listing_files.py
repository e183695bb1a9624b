"""Per-file listing values (migration 009): stored once per landing file, shown on every row by the views."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from old_warehouse import warehouse_at

from warehouse.db import connect, migrate
from warehouse.load import load_file, load_landing

RUN = "20261120T100000Z-abcdef"
FILE_COLUMNS = ("directory_kind", "role", "source_url", "fetched_at", "payload_sha256", "landing_sha256")


def write_landing(root: Path, records: list[dict], name: str = RUN, parquet: bool = False) -> Path:
    """Write listing records as one landing file (JSON Lines or Parquet) and return its path."""
    path = root / "listings" / "acme-health" / f"{name}.{'parquet' if parquet else 'jsonl'}"
    path.parent.mkdir(parents=True, exist_ok=True)
    if parquet:
        rows = [dict(r, plans=json.dumps(r.get("plans")), raw=json.dumps(r.get("raw"))) for r in records]
        pq.write_table(pa.Table.from_pylist(rows), path)
    else:
        path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def shown(con: duckdb.DuckDBPyConnection) -> dict[str, tuple]:
    """listing_id -> the per-file columns as the directory_listings view shows them."""
    rows = con.execute(f"SELECT listing_id, {', '.join(FILE_COLUMNS)} FROM directory_listings").fetchall()
    return {r[0]: r[1:] for r in rows}


def stored_on_rows(con: duckdb.DuckDBPyConnection) -> dict[str, tuple]:
    """listing_id -> the per-file columns as stored on the listing rows themselves."""
    rows = con.execute(f"SELECT listing_id, {', '.join(FILE_COLUMNS)} FROM listing_rows").fetchall()
    return {r[0]: r[1:] for r in rows}


def test_values_every_row_shares_are_stored_once(tmp_path: Path, listing_record: dict) -> None:
    """A QHP-like Parquet file (one URL, fetch time, payload hash): rows keep NULL, the view shows the values.

    A JSON Lines file keeps them on its rows (finding out would parse it twice); the view shows the same.
    """
    records = [dict(listing_record, listing_id=f"L{i}", directory_kind="qhp") for i in range(3)]
    for parquet in (False, True):
        con = connect(tmp_path / f"w{parquet}.duckdb")
        path = write_landing(tmp_path / f"landing{parquet}", records, parquet=parquet)
        result = load_file(con, str(path), "listings")
        assert (result.rows, result.staged) == (3, False)
        expected = ("qhp", "audited", listing_record["source_url"], datetime(2026, 11, 20, 10, 0),
                    listing_record["payload_sha256"], result.sha256)
        assert shown(con) == {f"L{i}": expected for i in range(3)}
        on_rows = expected[:-1] + (None,) if not parquet else (None,) * len(FILE_COLUMNS)
        assert set(stored_on_rows(con).values()) == {on_rows}
        assert con.execute("SELECT count(*) FROM listing_files").fetchone()[0] == 1
        assert con.execute("SELECT source_url, fetched_at FROM listings WHERE listing_id = 'L2'").fetchone() == \
            (listing_record["source_url"], datetime(2026, 11, 20, 10, 0))


def test_values_that_vary_stay_on_the_rows(tmp_path: Path, listing_record: dict) -> None:
    """A FHIR-like file (a URL and hash per page, a role on some rows only): those stay per row."""
    records = [
        dict(listing_record, listing_id="L0", source_url="http://h/fhir?page=1", payload_sha256="a" * 64, role=None),
        dict(listing_record, listing_id="L1", source_url="http://h/fhir?page=2", payload_sha256=None,
             role="reference"),
        dict(listing_record, listing_id="L2", source_url="http://h/fhir?page=2", payload_sha256="b" * 64, role=None),
    ]
    con = connect(tmp_path / "w.duckdb")
    result = load_file(con, str(write_landing(tmp_path / "landing", records, parquet=True)), "listings")
    when = datetime(2026, 11, 20, 10, 0)
    assert shown(con) == {
        "L0": ("fhir", "audited", "http://h/fhir?page=1", when, "a" * 64, result.sha256),
        "L1": ("fhir", "reference", "http://h/fhir?page=2", when, None, result.sha256),
        "L2": ("fhir", "audited", "http://h/fhir?page=2", when, "b" * 64, result.sha256),
    }
    on_rows = stored_on_rows(con)
    assert on_rows["L1"] == (None, "reference", "http://h/fhir?page=2", None, None, None)
    assert on_rows["L2"][2:5] == ("http://h/fhir?page=2", None, "b" * 64)


def test_staged_load_with_a_bad_row_stores_the_same(tmp_path: Path, listing_record: dict) -> None:
    """The staged path (a bad row quarantined) gives the view the same rows as the one-pass path."""
    good = [dict(listing_record, listing_id=f"L{i}") for i in range(3)]
    clean, dirty = connect(tmp_path / "a.duckdb"), connect(tmp_path / "b.duckdb")
    load_file(clean, str(write_landing(tmp_path / "a", good)), "listings")
    bad = dict(listing_record, listing_id="B1", source_url="http://elsewhere/", npi="123")
    result = load_file(dirty, str(write_landing(tmp_path / "b", [*good, bad])), "listings")
    assert (result.rows, result.quarantined, result.staged) == (3, 1, True)
    query = f"SELECT listing_id, {', '.join(FILE_COLUMNS[:-1])} FROM directory_listings ORDER BY ALL"
    assert dirty.execute(query).fetchall() == clean.execute(query).fetchall()


def test_each_file_keeps_its_own_values_and_reloads_are_no_ops(tmp_path: Path, listing_record: dict) -> None:
    """Two files of one run (a sharded crawl) keep their own URLs; loading them again adds nothing."""
    root = tmp_path / "landing"
    write_landing(root, [dict(listing_record, listing_id="A", source_url="http://h/one.json")], name=f"{RUN}__1")
    write_landing(root, [dict(listing_record, listing_id="B", source_url="http://h/two.json")], name=f"{RUN}__2")
    con = connect(tmp_path / "w.duckdb")
    assert load_landing(con, str(root)).rows == 2
    urls = {k: v[2] for k, v in shown(con).items()}
    assert urls == {"A": "http://h/one.json", "B": "http://h/two.json"}
    assert load_landing(con, str(root)).rows == 0
    assert con.execute("SELECT count(*) FROM listing_files").fetchone()[0] == 2
    assert {k: v[2] for k, v in shown(con).items()} == urls


def test_a_warehouse_at_migration_8_keeps_its_listings(tmp_path: Path, listing_record: dict) -> None:
    """Migration 009 moves the rows into listing_rows; the views show exactly what they showed before."""
    db = tmp_path / "old.duckdb"
    old = warehouse_at(db, 8)
    old.execute("INSERT INTO directory_listings (listing_id, run_id, insurer, directory_kind, npi, source_url, "
                "fetched_at, payload_sha256, landing_sha256, plans) VALUES "
                "('L1', 'r1', 'Acme', 'qhp', '1234567893', 'http://x/p.json', TIMESTAMP '2026-11-01', 'p', 's', "
                "'[{\"plan_id\": \"P1\"}]'), "
                "('L2', 'r1', 'Acme', 'qhp', NULL, 'http://x/p.json', TIMESTAMP '2026-11-01', 'p', 's', NULL)")
    views = ("directory_listings", "listings", "listing_plans")
    before = {v: old.execute(f"SELECT * FROM {v} ORDER BY ALL").fetchall() for v in views}
    old.close()
    con = connect(db)
    assert migrate(con) == []
    assert {v: con.execute(f"SELECT * FROM {v} ORDER BY ALL").fetchall() for v in views} == before
    assert con.execute("SELECT count(*) FROM listing_rows").fetchone()[0] == 2
    # and new loads land beside them
    load_file(con, str(write_landing(tmp_path / "landing", [listing_record])), "listings")
    assert con.execute("SELECT count(*) FROM directory_listings").fetchone()[0] == 3
