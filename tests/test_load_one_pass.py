"""The one-pass loader (checks fused into the INSERT) against the staged, row-exact loader.

A clean file loads in one statement; the first bad, duplicate or unaccounted-for row sends the
file down the staged path. Either way the warehouse must end up exactly as the staged path
alone would leave it, and the cheap SQL checks must equal their plain definitions.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import fsspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from warehouse.db import connect, table_counts
from warehouse.load import (
    FileLoad,
    _load_staged,
    count_lines,
    file_sha256,
    load_file,
    run_id_of,
)
from warehouse.schema import NEVER_TRIMMED, _bad_npi, _bad_optional_ts, _blank, ts

RUN = "20261120T100000Z-abcdef"
SPACES = " \t\n\u00a0\u1680\u2000\u2003\u200a\u202f\u205f\u3000\u200b\ufeff"


def write_jsonl(path: Path, records: list[dict | str]) -> Path:
    """Write records (dicts as JSON, strings verbatim) one per line and return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records), encoding="utf-8")
    return path


def listings(record: dict, n: int, prefix: str = "L") -> list[dict]:
    """n copies of a listing with distinct ids and a little variety in the values."""
    statuses = ["accepting", "not_accepting", "existing_only", None]
    return [
        dict(record, listing_id=f"{prefix}{i}", phone=f"217555{i % 10000:04d}", accepting_status=statuses[i % 4],
             npi=None if i % 7 == 0 else record["npi"])
        for i in range(n)
    ]


def dump(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple]]:
    """Every loaded row of the tables a listings load touches, in a stable order, minus load times."""
    return {
        "directory_listings": con.execute("SELECT * FROM directory_listings ORDER BY ALL").fetchall(),
        "listing_plans": con.execute("SELECT * FROM listing_plans ORDER BY ALL").fetchall(),
        "quarantine": con.execute(
            'SELECT run_id, source, file, "row", error, raw_text FROM quarantine ORDER BY "row"'
        ).fetchall(),
        "landing_files": con.execute(
            "SELECT sha256, path, kind, source, run_id, rows, quarantined FROM landing_files ORDER BY ALL"
        ).fetchall(),
    }


def staged_only(db: Path, path: Path, kind: str = "listings", source: str = "") -> FileLoad:
    """Load a file the staged, row-exact way only (the reference the one-pass path must match)."""
    con = connect(db)
    result = FileLoad(path=str(path), kind=kind, sha256=file_sha256(str(path)))
    _load_staged(con, str(path), str(path), kind, run_id_of(str(path)), source, result)
    con.close()
    return result


# --- the cheap SQL checks equal their plain definitions -------------------------------------------


def test_trim_strips_only_characters_outside_the_prefilter_range() -> None:
    """The blank check skips trim() for strings starting inside NEVER_TRIMMED: DuckDB must agree."""
    stripped = duckdb.sql(
        "SELECT list(i) FROM range(1, 1114112) t(i) WHERE (i < 55296 OR i > 57343) AND trim(chr(i::INTEGER)) = ''"
    ).fetchone()[0]
    low, high = NEVER_TRIMMED
    assert 32 in stripped and 160 in stripped  # the check below would pass vacuously otherwise
    assert [c for c in stripped if low <= c <= high] == []


values = st.one_of(
    st.none(),
    st.text(alphabet=st.sampled_from(SPACES + "0123456789abcZ:-T+/. é漢"), max_size=14),
    st.sampled_from(["", " ", "\u00a0", "1234567893", " 1234567893 ", "\u30001234567893", "123456789", "2026-11-20",
                     "2026-11-20T10:00:00Z", " 2026-11-20T10:00:00+02:00", "2026-11-20 10:00:00-0500", "infinity",
                     "2026-02-30", "epoch", "\t2026-11-20", "12345678901"]),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(values, min_size=1, max_size=40))
def test_cheap_checks_equal_their_plain_definitions(sample: list[str | None]) -> None:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute('CREATE TABLE v (x VARCHAR)')
    con.executemany("INSERT INTO v VALUES (?)", [[x] for x in sample])
    cast = "TRY_CAST(TRY_CAST(x AS TIMESTAMPTZ) AS TIMESTAMP)"
    # the one intended difference from the old double cast: 'infinity' is no date, so it is unparseable now
    plain_ts = f"CASE WHEN isinf({cast}) THEN NULL ELSE {cast} END"
    pairs = [
        (_blank("x"), "x IS NULL OR trim(x) = ''"),
        (_bad_npi("x"), "x IS NOT NULL AND trim(x) <> '' AND NOT regexp_full_match(trim(x), '[0-9]{10}')"),
        (_bad_optional_ts("x"), f"x IS NOT NULL AND trim(x) <> '' AND {plain_ts} IS NULL"),
        (ts("x"), plain_ts),
    ]
    for cheap, plain in pairs:
        rows = con.execute(f"SELECT x, {cheap}, {plain} FROM v").fetchall()
        assert [r for r in rows if r[1] != r[2]] == [], cheap


# --- one pass or staged, the warehouse ends up the same -------------------------------------------


def test_clean_file_loads_exactly_as_the_staged_path_would(tmp_path: Path, listing_record: dict) -> None:
    records = listings(listing_record, 300)
    records[5] = dict(records[5], npi=" 1234567893 ", last_updated="2026-10-01T00:00:00+05:00",
                      fetched_at="2026-11-20 10:00:00-0500", provider_name="Zoë \u00a0Smith")
    records[6] = dict(records[6], last_updated=" ", insurer="\u3000Acme Health", plans=None)
    records[7] = dict(records[7], plans={"not": "a list"}, raw={"extra": [1, 2]})
    path = write_jsonl(tmp_path / "landing" / "listings" / "acme" / f"{RUN}.jsonl", records)
    one_pass = connect(tmp_path / "a.duckdb")
    result = load_file(one_pass, str(path), "listings")
    assert (result.rows, result.staged, table_counts(one_pass)["quarantine"]) == (300, False, 0)
    staged_only(tmp_path / "b.duckdb", path)
    assert dump(one_pass) == dump(connect(tmp_path / "b.duckdb"))


def test_bad_row_at_the_very_end_rolls_back_the_one_pass_insert(tmp_path: Path, listing_record: dict) -> None:
    records: list[dict | str] = list(listings(listing_record, 20_000))
    records.append(dict(listing_record, listing_id="LAST", npi="12345"))
    path = write_jsonl(tmp_path / "landing" / "listings" / "acme" / f"{RUN}.jsonl", records)
    con = connect(tmp_path / "a.duckdb")
    result = load_file(con, str(path), "listings")
    assert (result.rows, result.quarantined, result.staged) == (20_000, 1, True)
    counts = table_counts(con)
    plan_rows = con.execute("SELECT count(*) FROM listing_plans").fetchone()[0]  # a view of the listings' plans
    assert (counts["listing_rows"], plan_rows, counts["landing_files"]) == (20_000, 20_000, 1)
    assert con.execute('SELECT "row", error FROM quarantine').fetchall() == [(20_001, "NPI is not 10 digits: 12345")]
    staged_only(tmp_path / "b.duckdb", path)
    assert dump(con) == dump(connect(tmp_path / "b.duckdb"))


def test_duplicate_id_and_blank_lines_keep_exact_line_numbers(tmp_path: Path, listing_record: dict) -> None:
    records: list[dict | str] = list(listings(listing_record, 50))
    records.insert(10, "")
    records.insert(20, "   ")
    records.append(dict(records[3], phone="999"))  # listing_id L3 again
    path = write_jsonl(tmp_path / "landing" / "listings" / "acme" / f"{RUN}.jsonl", records)
    con = connect(tmp_path / "a.duckdb")
    result = load_file(con, str(path), "listings")
    assert (result.rows, result.quarantined) == (50, 1)
    assert con.execute('SELECT "row", error FROM quarantine').fetchall() == [(53, "duplicate listing_id in file: L3")]
    assert con.execute("SELECT phone FROM directory_listings WHERE listing_id = 'L3'").fetchall() == [("2175550003",)]


def test_shards_of_one_run_skip_ids_already_loaded_without_quarantine(tmp_path: Path, listing_record: dict) -> None:
    folder = tmp_path / "landing" / "listings" / "acme"
    first = write_jsonl(folder / f"{RUN}__shard-1-of-3.jsonl", listings(listing_record, 40))
    second = write_jsonl(folder / f"{RUN}__shard-2-of-3.jsonl", listings(listing_record, 40, prefix="M"))
    # the third repeats one id of the first shard: it is skipped, not quarantined, and its plans are not doubled
    overlap = [*listings(listing_record, 10, prefix="N"), dict(listing_record, listing_id="L7", phone="999")]
    third = write_jsonl(folder / f"{RUN}__shard-3-of-3.jsonl", overlap)
    con = connect(tmp_path / "a.duckdb")
    loads = [load_file(con, str(p), "listings") for p in (first, second, third)]
    assert [(f.rows, f.quarantined, f.staged) for f in loads] == [(40, 0, False), (40, 0, False), (10, 0, True)]
    assert con.execute("SELECT phone FROM directory_listings WHERE listing_id = 'L7'").fetchall() == [("2175550007",)]
    assert con.execute("SELECT count(*), count(DISTINCT listing_id) FROM listing_plans").fetchone() == (90, 90)
    assert count_lines(str(third)) == 11


def test_observations_dedupe_against_earlier_files_and_quarantine_bad_rows(tmp_path: Path) -> None:
    folder = tmp_path / "landing" / "observations" / "reports"
    base = {"source": "phone_survey", "npi": "1234567893", "reachable": True, "accepting_status": "accepting",
            "observed_at": "2026-11-01"}
    first = write_jsonl(folder / "20261101T000000Z-aaaaaa.jsonl", [dict(base, observation_id=f"R{i}") for i in range(5)])
    again = [dict(base, observation_id=f"R{i}") for i in range(3, 8)]
    again.append(dict(base, observation_id="R9", source="hearsay"))
    second = write_jsonl(folder / "20261108T000000Z-bbbbbb.jsonl", again)
    con = connect(tmp_path / "a.duckdb")
    assert [(f.rows, f.quarantined) for f in (load_file(con, str(p), "observations") for p in (first, second))] == [
        (5, 0), (3, 1)]
    assert con.execute('SELECT "row", error FROM quarantine').fetchall() == [(6, "unknown source: hearsay")]
    assert con.execute("SELECT count(*), count(DISTINCT observation_id) FROM observation_records").fetchone() == (8, 8)


def test_parquet_with_a_bad_row_quarantines_it_by_row_number(tmp_path: Path, listing_record: dict) -> None:
    src = write_jsonl(tmp_path / "src.jsonl", [*listings(listing_record, 30), dict(listing_record, listing_id="X",
                                                                                   fetched_at="soon")])
    pq = tmp_path / "landing" / "listings" / "acme" / f"{RUN}.parquet"
    pq.parent.mkdir(parents=True)
    duckdb.sql(f"COPY (SELECT * FROM read_json('{src}')) TO '{pq}' (FORMAT parquet)")
    con = connect(tmp_path / "a.duckdb")
    result = load_file(con, str(pq), "listings")
    assert (result.rows, result.quarantined) == (30, 1)
    assert con.execute('SELECT "row", error FROM quarantine').fetchall() == [
        (31, "missing or unparseable fetched_at: soon")]
    staged_only(tmp_path / "b.duckdb", pq)
    assert dump(con) == dump(connect(tmp_path / "b.duckdb"))


@pytest.mark.parametrize("kind, record", [
    ("evidence", {"url": "http://p.example/", "fetched_at": "2026-11-20T10:00:00Z", "http_status": 200}),
    ("sources", {"source": "Acme Health", "kind": "fhir", "status": "ok", "items": 3, "stats": {"pages": 1}}),
    ("quarantine", {"source": "acme", "file": "x.json", "row": 3, "error": "bad", "raw_text": "{"}),
])
def test_other_kinds_load_the_same_either_way(tmp_path: Path, kind: str, record: dict) -> None:
    path = write_jsonl(tmp_path / "landing" / kind / "acme" / f"{RUN}.jsonl", [record, record])
    table = {"evidence": "evidence", "sources": "source_runs", "quarantine": "quarantine"}[kind]
    con = connect(tmp_path / "a.duckdb")
    result = load_file(con, str(path), kind)
    assert (result.rows, result.staged) == (2, False)
    staged_only(tmp_path / "b.duckdb", path, kind)
    other = connect(tmp_path / "b.duckdb")
    stamp = {"quarantine": "quarantined_at"}.get(kind)
    cols = "* EXCLUDE (" + stamp + ")" if stamp else "*"
    assert con.execute(f"SELECT {cols} FROM {table} ORDER BY ALL").fetchall() == other.execute(
        f"SELECT {cols} FROM {table} ORDER BY ALL").fetchall()


def test_fsspec_and_parquet_clean_files_take_the_one_pass_path(tmp_path: Path, listing_record: dict) -> None:
    fs = fsspec.filesystem("memory")
    url = f"memory://gc-one-pass/landing/listings/birch/{RUN}.jsonl"
    fs.pipe(url, "".join(json.dumps(r) + "\n" for r in listings(listing_record, 25)).encode())
    con = connect(tmp_path / "a.duckdb")
    first = load_file(con, url, "listings")
    assert (first.rows, first.staged) == (25, False)
    pq = tmp_path / f"{RUN}__b.parquet"
    duckdb.sql(f"COPY (SELECT * FROM read_json('{write_jsonl(tmp_path / 's.jsonl', listings(listing_record, 25, 'P'))}'))"
               f" TO '{pq}' (FORMAT parquet)")
    second = load_file(con, str(pq), "listings")  # same run: the dedupe is on, so the row count must vouch
    assert (second.rows, second.staged) == (25, False)
    assert con.execute("SELECT count(*) FROM directory_listings").fetchone()[0] == 50
    fs.rm(url)
