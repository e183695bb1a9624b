"""The loader under its memory cap, its plan rows, and the bulk converter's in-place landing write."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from warehouse.db import connect
from warehouse.load import MAX_OBJECT, load_cap, load_file, load_landing

RUN = "20261120T100000Z-abcdef"

# Plans in the shapes people publish: strings, numbers, nested values, missing fields, non-object items.
ODD_PLANS = [
    [{"plan_id": "12345IL0010001", "plan_id_type": "HIOS-PLAN-ID", "network_tier": "PREFERRED", "years": [2025, 2026]}],
    [{"plan_id": 12345, "plan_id_type": {"a": 1}, "network_tier": None, "years": "2025"}],
    ["not an object", 5, None, {"plan_id": "x"}],
    [],
    [{"PLAN_ID": "case differs"}, {"plan_id": "  padded ", "network_tier": True, "years": {"y": 1}}],
    [{"plan_id": ["a", "b"], "plan_id_type": 1.5, "network_tier": "Tier \u00e9 \"quoted\""}],
    {"plan_id": "an object, not a list"},
    "a string",
    None,
]


def write_jsonl(path: Path, records: list[dict]) -> Path:
    """Write records one JSON per line and return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def reference_plans(plans: list[object]) -> list[tuple]:
    """listing_plans rows as the plain `->>` definition gives them (the loader's previous SQL), computed apart."""
    con = duckdb.connect()
    rows = []
    for i, value in enumerate(plans):
        rows += con.execute(
            "SELECT ?, p ->> 'plan_id', p ->> 'plan_id_type', p ->> 'network_tier', (p -> 'years')::VARCHAR "
            "FROM (SELECT ?::JSON AS plans) d, unnest(CAST(d.plans AS JSON[])) AS t(p) "
            "WHERE d.plans IS NOT NULL AND json_type(d.plans) = 'ARRAY'",
            [f"L{i}", json.dumps(value)],
        ).fetchall()
    return sorted(rows, key=repr)


@pytest.mark.parametrize("suffix", ["jsonl", "parquet"])
def test_plan_rows_equal_the_plain_json_definition(tmp_path: Path, listing_record: dict, suffix: str) -> None:
    """Every odd plan shape gives the same listing_plans rows as `p ->> 'field'` per plan would."""
    records = [dict(listing_record, listing_id=f"L{i}", plans=plans) for i, plans in enumerate(ODD_PLANS)]
    path = write_jsonl(tmp_path / "landing" / "listings" / "acme" / f"{RUN}.jsonl", records)
    if suffix == "parquet":
        parquet = path.with_suffix(".parquet")
        con = duckdb.connect()
        con.execute(f"COPY (SELECT * REPLACE (plans::JSON AS plans) FROM read_json('{path}', "
                    "columns={'listing_id': 'VARCHAR', 'source_key': 'VARCHAR', 'insurer': 'VARCHAR', "
                    "'npi': 'VARCHAR', 'plans': 'JSON', 'source_url': 'VARCHAR', 'fetched_at': 'VARCHAR'})) "
                    f"TO '{parquet}' (FORMAT parquet)")
        path.unlink()
        path = parquet
    wh = connect(tmp_path / "w.duckdb")
    loaded = load_file(wh, str(path), "listings")
    assert loaded.rows == len(ODD_PLANS) and loaded.quarantined == 0
    got = wh.execute(
        "SELECT listing_id, plan_id, plan_id_type, network_tier, years FROM listing_plans"
    ).fetchall()
    assert sorted(got, key=repr) == reference_plans(ODD_PLANS)
    assert len(got) > 5  # the shapes above do produce plan rows


def test_memory_limit_is_applied_during_the_load_and_restored(tmp_path: Path, listing_record: dict) -> None:
    """The loader caps DuckDB while it loads and hands back DuckDB's default; a limit the caller set is kept."""
    path = write_jsonl(tmp_path / "landing" / "listings" / "acme" / f"{RUN}.jsonl",
                       [dict(listing_record, listing_id=f"L{i}") for i in range(50)])
    other = write_jsonl(tmp_path / "landing" / "listings" / "acme" / f"{RUN}__2.jsonl",
                        [dict(listing_record, listing_id=f"M{i}") for i in range(50)])
    wh = connect(tmp_path / "w.duckdb")
    default = wh.execute("SELECT current_setting('memory_limit')").fetchone()[0]
    limits = []

    def progress(done: int, total: int, name: str) -> None:
        """Record the limit in force as each file starts (the cap is set per file)."""
        limits.append(wh.execute("SELECT current_setting('memory_limit')").fetchone()[0])

    load_file(wh, str(path), "listings", memory_limit="200MB")
    assert wh.execute("SELECT count(*) FROM directory_listings").fetchone()[0] == 50
    assert wh.execute("SELECT current_setting('memory_limit')").fetchone()[0] == default
    wh.execute("SET memory_limit = '3GB'")
    chosen = wh.execute("SELECT current_setting('memory_limit')").fetchone()[0]
    summary = load_landing(wh, str(tmp_path / "landing"), progress=progress, memory_limit="200MB")
    assert summary.rows == 50 and summary.files_skipped == 1 and not summary.errors
    assert limits == [chosen, chosen]
    assert wh.execute("SELECT current_setting('memory_limit')").fetchone()[0] == chosen
    assert str(other) in [f.path for f in summary.files]


def test_long_line_and_bad_line_load_under_a_small_memory_cap(tmp_path: Path, listing_record: dict) -> None:
    """A line longer than the fast reader's object limit and a malformed line, both under a 256 MB cap.

    Before, the line-exact reader asked for a 1 GiB buffer (16 x max_line_size) and failed under any
    modest memory limit; the malformed line must still be quarantined under its true line number.
    """
    big = dict(listing_record, listing_id="BIG", provider_name="x" * (MAX_OBJECT + 1024))
    path = tmp_path / "landing" / "listings" / "acme" / f"{RUN}.jsonl"
    path.parent.mkdir(parents=True)
    lines = [json.dumps(dict(listing_record, listing_id="A")), json.dumps(big), "{not json",
             json.dumps(dict(listing_record, listing_id="B"))]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    wh = connect(tmp_path / "w.duckdb")
    loaded = load_file(wh, str(path), "listings", memory_limit="256MB")
    assert (loaded.rows, loaded.quarantined, loaded.staged) == (3, 1, True)
    assert wh.execute('SELECT "row" FROM quarantine').fetchall() == [(3,)]
    assert wh.execute("SELECT length(provider_name) FROM directory_listings WHERE listing_id = 'BIG'").fetchone()[0] \
        == MAX_OBJECT + 1024


def test_only_a_file_warehouse_at_the_default_limit_is_capped(tmp_path: Path, listing_record: dict) -> None:
    """In-memory warehouses keep their tables in that memory and a caller's own limit is theirs: neither is capped."""
    assert load_cap(connect(tmp_path / "w.duckdb"), "300MB") == "300MB"
    assert load_cap(connect(tmp_path / "w.duckdb"), None) is None
    memory = connect(":memory:")
    assert load_cap(memory, "300MB") is None
    chosen = connect(tmp_path / "v.duckdb")
    chosen.execute("SET memory_limit = '5GB'")
    assert load_cap(chosen, "300MB") is None
    # a cap DuckDB cannot take (more already in use) leaves the load to run as the connection is
    path = write_jsonl(tmp_path / "landing" / "listings" / "acme" / f"{RUN}.jsonl",
                       [dict(listing_record, listing_id=f"L{i}") for i in range(2000)])
    assert load_file(memory, str(path), "listings", memory_limit="1MB").rows == 2000
