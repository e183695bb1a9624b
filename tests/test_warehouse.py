"""Warehouse: migrations, idempotent loads, quarantine, fsspec landing, and a SIGKILL mid-load."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import fsspec
import pytest
from old_warehouse import warehouse_at

from warehouse.db import connect, migrations, schema_version, table_counts
from warehouse.load import load_file, load_landing

RUN = "20261120T100000Z-abcdef"


def landing_file(root: Path, records: list[dict] | list[str], kind: str = "listings", run: str = RUN) -> Path:
    """Write a landing JSONL file (dicts as JSON, strings verbatim) and return its path."""
    path = root / kind / "acme-health" / f"{run}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [r if isinstance(r, str) else json.dumps(r) for r in records]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_migrations_apply_on_empty_and_existing(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    con = connect(db)
    latest = max(m.version for m in migrations())
    assert schema_version(con) == latest
    con.execute("INSERT INTO runs (run_id, status) VALUES ('r1', 'ok')")
    con.close()
    again = connect(db)  # re-applying to an existing file is a no-op that keeps data
    assert schema_version(again) == latest
    assert again.execute("SELECT count(*) FROM schema_version").fetchone()[0] == len(migrations())
    assert again.execute("SELECT run_id FROM runs").fetchall() == [("r1",)]
    views = {r[0] for r in again.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()}
    assert {"listings", "observations"} <= views


def test_listing_plans_table_of_an_older_warehouse_becomes_the_view(tmp_path: Path, listing_record: dict) -> None:
    """A warehouse at migration 7 (listing_plans a table) upgrades to the view, which gives the same plan rows."""
    db = tmp_path / "old.duckdb"
    old = warehouse_at(db, 7)
    plans = [{"plan_id": "P1", "plan_id_type": "HIOS-PLAN-ID", "network_tier": "PREFERRED", "years": [2026]},
             {"plan_id": "P2", "plan_id_type": None, "network_tier": None, "years": []}]
    old.execute("INSERT INTO directory_listings (listing_id, run_id, insurer, source_url, fetched_at, plans) "
                "VALUES ('L1', 'r1', 'Acme', 'http://x', now()::TIMESTAMP, ?::JSON), "
                "('L2', 'r1', 'Acme', 'http://x', now()::TIMESTAMP, NULL)", [json.dumps(plans)])
    old.execute("INSERT INTO listing_plans VALUES ('L1', 'r1', 'Acme', 'P1', 'HIOS-PLAN-ID', 'PREFERRED', '[2026]'), "
                "('L1', 'r1', 'Acme', 'P2', NULL, NULL, '[]')")
    table_rows = old.execute("SELECT * FROM listing_plans ORDER BY ALL").fetchall()
    old.close()
    con = connect(db)
    assert "listing_plans" not in table_counts(con)
    assert con.execute("SELECT * FROM listing_plans ORDER BY ALL").fetchall() == table_rows


def test_load_is_idempotent_and_quarantines_bad_rows(tmp_path: Path, listing_record: dict) -> None:
    con = connect(tmp_path / "w.duckdb")
    good = [dict(listing_record, listing_id=f"L{i}") for i in range(3)]
    bad = [
        dict(listing_record, listing_id="B1", fetched_at="yesterday-ish"),
        dict(listing_record, listing_id="B2", accepting_status="maybe"),
        dict(listing_record, listing_id="B3", npi="12345"),
        dict(listing_record, listing_id=""),
    ]
    path = landing_file(tmp_path / "landing", [*good, "{not json at all", *bad])
    first = load_landing(con, str(tmp_path / "landing"))
    assert (first.rows, first.quarantined, first.errors) == (3, 5, [])
    rows = con.execute('SELECT "row", error FROM quarantine ORDER BY "row"').fetchall()
    assert [r[0] for r in rows] == [4, 5, 6, 7, 8]
    assert rows[0][1] == "malformed JSON"
    assert "fetched_at" in rows[1][1] and "accepting_status" in rows[2][1] and "NPI" in rows[3][1]
    assert con.execute("SELECT raw_text FROM quarantine WHERE \"row\" = 4").fetchone()[0] == "{not json at all"
    assert sorted(r[0] for r in con.execute("SELECT listing_id FROM listings").fetchall()) == ["L0", "L1", "L2"]
    assert con.execute("SELECT count(*) FROM listing_plans").fetchone()[0] == 3

    before = table_counts(con)
    second = load_landing(con, str(tmp_path / "landing"))
    assert second.files_skipped == 1 and second.rows == 0
    assert table_counts(con) == before
    # the same file loaded directly is a no-op as well
    assert load_file(con, str(path), "listings").skipped


def test_listings_view_shows_each_insurers_latest_crawl(tmp_path: Path, listing_record: dict) -> None:
    con = connect(tmp_path / "w.duckdb")
    landing_file(tmp_path / "landing", [dict(listing_record, phone="111")], run="20261101T000000Z-aaaaaa")
    landing_file(tmp_path / "landing", [dict(listing_record, phone="222")], run="20261108T000000Z-bbbbbb")
    load_landing(con, str(tmp_path / "landing"))
    assert con.execute("SELECT phone, run_id FROM listings").fetchall() == [("222", "20261108T000000Z-bbbbbb")]
    assert con.execute("SELECT count(*) FROM directory_listings").fetchone()[0] == 2


def test_observations_dedupe_reports_but_keep_website_sightings(tmp_path: Path) -> None:
    con = connect(tmp_path / "w.duckdb")
    report = {"observation_id": "R1", "source": "phone_survey", "npi": "1234567893", "reachable": False,
              "observed_at": "2026-11-01", "accepting_status": "unknown"}
    site = {"observation_id": "W1", "source": "website", "site_url": "http://p.example/", "accepting_status": "accepting",
            "observed_at": "2026-11-01T00:00:00Z", "phones": ["+12175550100"]}
    landing_file(tmp_path / "landing", [report, site], kind="observations", run="20261101T000000Z-aaaaaa")
    landing_file(tmp_path / "landing", [report, dict(site, accepting_status="not_accepting")],
                 kind="observations", run="20261108T000000Z-bbbbbb")
    load_landing(con, str(tmp_path / "landing"))
    assert con.execute("SELECT count(*) FROM observation_records WHERE source = 'phone_survey'").fetchone()[0] == 1
    assert con.execute("SELECT count(*) FROM observation_records WHERE source = 'website'").fetchone()[0] == 2
    view = con.execute("SELECT observation_id, accepting_status FROM observations ORDER BY 1").fetchall()
    assert view == [("R1", "unknown"), ("W1", "not_accepting")]


def test_parquet_and_fsspec_landing(tmp_path: Path, listing_record: dict) -> None:
    con = connect(tmp_path / "w.duckdb")
    src = tmp_path / "src.jsonl"
    src.write_text(json.dumps(listing_record) + "\n" + json.dumps(dict(listing_record, listing_id="L2")) + "\n")
    pq = tmp_path / "landing" / "listings" / "acme" / f"{RUN}.parquet"
    pq.parent.mkdir(parents=True)
    duckdb.sql(f"COPY (SELECT * FROM read_json('{src}')) TO '{pq}' (FORMAT parquet)")
    assert load_landing(con, str(tmp_path / "landing")).rows == 2

    fs = fsspec.filesystem("memory")
    fs.pipe(f"/gc-test/landing/listings/birch/{RUN}.jsonl", (json.dumps(dict(listing_record, insurer="Birch", listing_id="M1")) + "\n").encode())
    summary = load_landing(con, "memory://gc-test/landing")
    assert summary.errors == [] and summary.rows == 1
    assert con.execute("SELECT count(*) FROM listings WHERE insurer = 'Birch'").fetchone()[0] == 1


def test_unreadable_file_is_reported_and_the_rest_load(tmp_path: Path, listing_record: dict) -> None:
    con = connect(tmp_path / "w.duckdb")
    landing_file(tmp_path / "landing", [listing_record])
    broken = tmp_path / "landing" / "listings" / "zeta" / f"{RUN}.parquet"
    broken.parent.mkdir(parents=True)
    broken.write_bytes(b"this is not parquet")
    summary = load_landing(con, str(tmp_path / "landing"))
    assert summary.rows == 1
    assert len(summary.errors) == 1 and str(broken) in summary.errors[0]
    assert "\n" not in summary.errors[0]


def test_sigkill_mid_load_leaves_the_warehouse_as_it_was(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    con = connect(db)
    con.execute("INSERT INTO runs (run_id, status) VALUES ('before', 'ok')")
    before = table_counts(con)
    con.close()
    big = tmp_path / "landing" / "listings" / "acme" / f"{RUN}.jsonl"
    big.parent.mkdir(parents=True)
    duckdb.sql(
        f"""COPY (SELECT 'L' || i AS listing_id, 'Acme Health' AS insurer, 'fhir' AS directory_kind,
                  'Provider ' || i AS provider_name, (i % 97) || ' Main St' AS address, 'IL' AS state,
                  '62701' AS zip, '2175550100' AS phone, 'accepting' AS accepting_status,
                  'http://127.0.0.1/fhir' AS source_url, '2026-11-20T10:00:00Z' AS fetched_at,
                  repeat('x', 200) AS practice_name
             FROM range(1500000) t(i)) TO '{big}' (FORMAT json)"""
    )
    child = textwrap.dedent(
        f"""
        import sys
        from warehouse.db import connect
        from warehouse.load import load_file
        con = connect({str(db)!r})
        print("loading", flush=True)
        load_file(con, {str(big)!r}, "listings")
        print("done", flush=True)
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", child], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "loading"
    assert proc.poll() is None, "the load finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    after = connect(db)
    assert table_counts(after) == before
    assert after.execute("SELECT count(*) FROM landing_files").fetchone()[0] == 0
    # and the file loads completely on the next try
    assert load_file(after, str(big), "listings").rows == 1_500_000


def test_warehouse_path_that_is_a_directory_is_one_clear_error(tmp_path: Path) -> None:
    from warehouse.db import WarehouseError

    with pytest.raises(WarehouseError, match="is a directory"):
        connect(tmp_path)
