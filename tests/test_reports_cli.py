"""`ghostcheck ingest reports` and `ghostcheck sample` end to end, including the call-list round trip."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest
from typer.testing import CliRunner

from crawlers.landing import write_records
from flows.cli import app
from reconcile.call_metrics import call_metrics
from reconcile.normalize.npi import npi_check_digit
from reconcile.sample import draw, sample_size
from warehouse.db import connect
from warehouse.load import load_landing

FIXTURES = Path(__file__).parent / "fixtures" / "reports"
SPECIALTIES = ["Family Medicine"] * 5 + ["Cardiology"] * 3 + ["Dermatology", "Pediatrics"]


@pytest.fixture()
def world(tmp_path: Path) -> Path:
    """A config whose warehouse holds 80 Acme listings (4 specialties, 2 states) and 5 Cobalt ones."""
    config = tmp_path / "ghostcheck.toml"
    config.write_text('[warehouse]\npath = "w.duckdb"\nlanding = "landing"\n', encoding="utf-8")
    records = []
    for i in range(85):
        first9 = f"{100000000 + i * 7919:09d}"
        insurer = "Acme Health" if i < 80 else "Cobalt Care"
        records.append({
            "listing_id": f"acme-{i:03d}" if i < 80 else f"cobalt-{i:03d}", "insurer": insurer,
            "directory_kind": "fhir", "npi": first9 + npi_check_digit(first9),
            "provider_name": f"=HYPERLINK(\"x\") Provider {i}" if i == 3 else f"Provider {i}",
            "practice_name": f"Practice {i // 4}", "address": f"{100 + i} Main St",
            "city": "Springfield" if i % 2 else "Peoria", "state": "IL" if i % 3 else "MO",
            "zip": f"6{i % 2}70{i % 10}", "phone": f"217-555-{1000 + i}", "specialty": SPECIALTIES[i % 10],
            "accepting_status": "accepting" if i % 4 else "not_accepting", "networks": ["Gold", "Silver"],
            "plans": [{"plan_id": "12345IL0010001"}], "source_url": "http://127.0.0.1/fhir",
            "fetched_at": "2026-11-01T00:00:00Z",
        })
    write_records(str(tmp_path / "landing"), "listings", "directories", "20261101T000000Z-aaaaaa", records)
    con = connect(str(tmp_path / "w.duckdb"))
    assert not load_landing(con, str(tmp_path / "landing")).errors
    con.close()
    return config


def _run(*args: str):
    """Invoke the CLI in-process and return the result."""
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def test_ingest_prints_counts_and_exits_2_only_when_nothing_could_be_read(world: Path, tmp_path: Path) -> None:
    missing = tmp_path / "missing.csv"
    result = _run("ingest", "reports", str(FIXTURES / "shopper.jsonl"), str(missing), "-c", str(world))
    assert result.exit_code == 0, result.output
    assert "2 ok, 4 quarantined" in result.output
    assert "row 3: not a yes/no value: 'maybe'" in result.output
    assert f"{missing}: file not found" in result.output
    assert "Traceback" not in result.output
    only_missing = _run("ingest", "reports", str(missing), "-c", str(world))
    assert only_missing.exit_code == 2
    assert f"{missing}: file not found" in only_missing.output
    bad_source = _run("ingest", "reports", str(FIXTURES / "shopper.jsonl"), "--source", "gossip", "-c", str(world))
    assert bad_source.exit_code == 2 and "--source 'gossip'" in bad_source.output


def test_ingest_twice_reports_unchanged(world: Path) -> None:
    file = str(FIXTURES / "survey_cp1252.csv")
    assert _run("ingest", "reports", file, "-c", str(world)).exit_code == 0
    again = _run("ingest", "reports", file, "-c", str(world))
    assert again.exit_code == 0 and "already ingested" in again.output
    assert "0 new report(s)" in again.output


def _read_csv(path: Path) -> list[dict[str, str]]:
    """Rows of a CSV as dicts."""
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_sample_prints_the_design_and_is_reproducible(world: Path, tmp_path: Path) -> None:
    out1, out2, out3 = tmp_path / "a.csv", tmp_path / "b.csv", tmp_path / "c.csv"
    args = ["sample", "-c", str(world), "--insurer", "acme health", "--margin", "0.1", "--strata", "specialty,county"]
    result = _run(*args, "--seed", "7", "--out", str(out1))
    assert result.exit_code == 0, result.output
    n = sample_size(80, 0.1)
    assert f"n = n0/(1+(n0-1)/N) = {n}" in result.output and "population N = 80" in result.output
    assert "derived from state + ZIP3" in result.output
    assert _run(*args, "--seed", "7", "--out", str(out2)).exit_code == 0
    assert out1.read_bytes() == out2.read_bytes()
    assert _run(*args, "--seed", "8", "--out", str(out3)).exit_code == 0
    assert out1.read_bytes() != out3.read_bytes()
    rows = _read_csv(out1)
    assert len(rows) >= n and len({r["listing_id"] for r in rows}) == len(rows)
    assert all(r["insurer"] == "Acme Health" for r in rows)
    assert {r["specialty"] for r in rows} == set(SPECIALTIES)  # every stratum has its calls
    assert all(r[c] == "" for r in rows for c in ("reached", "call_outcome", "accepting_new_patients", "reported_at"))
    assert rows[0]["networks"] == "Gold; Silver" and rows[0]["plan"] == "12345IL0010001"
    assert all(not r["provider_name"].startswith("=") for r in rows)  # no spreadsheet formulas in the call list
    # The CLI draws in DuckDB; it must pick exactly what the pure reconcile.sample.draw picks from the same frame.
    con = connect(str(tmp_path / "w.duckdb"))
    frame = [{"listing_id": lid, "specialty": spec, "county": f"{state} ZIP3 {zip_code[:3]}"}
             for lid, spec, state, zip_code in con.execute(
                 "SELECT listing_id, specialty, state, zip FROM listings WHERE insurer = 'Acme Health'").fetchall()]
    con.close()
    pure = draw(frame, n, ["specialty", "county"], seed=7)
    assert [r["listing_id"] for r in rows] == [r["listing_id"] for r in pure]
    assert [r["stratum"] for r in rows] == [r["stratum"] for r in pure]


def test_sample_errors_are_one_line(world: Path, tmp_path: Path) -> None:
    unknown = _run("sample", "-c", str(world), "--insurer", "Nobody", "--out", str(tmp_path / "x.csv"))
    assert unknown.exit_code == 2 and "no listings for insurer 'Nobody'" in unknown.output
    assert "Acme Health" in unknown.output
    bad = _run("sample", "-c", str(world), "--insurer", "Acme Health", "--strata", "shoe_size",
               "--out", str(tmp_path / "x.csv"))
    assert bad.exit_code == 2 and "shoe_size" in bad.output


def test_call_list_round_trip(world: Path, tmp_path: Path) -> None:
    calls = tmp_path / "calls.csv"
    assert _run("sample", "-c", str(world), "--insurer", "Acme Health", "--margin", "0.1", "--strata", "specialty",
                "--seed", "3", "--out", str(calls)).exit_code == 0
    rows = _read_csv(calls)
    expected: dict[str, tuple] = {}
    for i, row in enumerate(rows[:-2]):  # the last two calls are not made yet
        if i % 4 == 0:
            row.update(reached="no", call_outcome="No answer after 10 rings", reported_at="11/20/2026")
            expected[row["listing_id"]] = (False, "no_answer", "unknown", None)
        else:
            says = "Yes, taking new patients" if i % 3 else "existing patients only"
            row.update(reached="yes", call_outcome="spoke with front desk", correct_location="Y",
                       provider_at_location="yes" if i % 5 else "no", accepts_plan="yes",
                       accepting_new_patients=says, first_appointment="in 2 weeks",
                       reported_at="2026-11-21", caller_notes="polite")
            status = "accepting" if i % 3 else "existing_only"
            expected[row["listing_id"]] = (True, "reached" if i % 5 else "reached", status, dt.date(2026, 12, 5))
    with open(calls, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)

    result = _run("ingest", "reports", str(calls), "-c", str(world))
    assert result.exit_code == 0, result.output
    assert f"{len(expected)} ok, 0 quarantined, 2 not answered" in result.output

    con = connect(str(tmp_path / "w.duckdb"))
    got = con.execute(
        "SELECT raw ->> 'listing_id', source, reachable, call_outcome, accepting_status, first_appointment, "
        "raw ->> 'caller_notes' FROM observations").fetchall()
    assert {r[1] for r in got} == {"secret_shopper"}
    assert {r[0]: r[2:6] for r in got} == expected
    listed = dict(con.execute("SELECT listing_id, accepting_status FROM listings").fetchall())
    metrics = {r["metric"]: r for r in call_metrics(con, dt.date(2026, 11, 25)).to_pylist()
               if r["insurer"] == "Acme Health"}
    con.close()
    reached = [lid for lid, e in expected.items() if e[0]]
    assert (metrics["share_reachable"]["numerator"], metrics["share_reachable"]["denominator"]) == (
        len(reached), len(expected))
    listed_takes = [lid for lid in reached if listed[lid] == "accepting"]
    agree = [lid for lid in listed_takes if expected[lid][2] == "accepting"]
    assert (metrics["share_accepting_as_listed"]["numerator"],
            metrics["share_accepting_as_listed"]["denominator"]) == (len(agree), len(listed_takes))
    assert metrics["median_days_to_appointment"]["value"] == 14


def test_without_files_the_configured_report_globs_are_ingested(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "week1.csv").write_text("NPI,Date of Call,Reached,Source\n1234567893,11/20/2026,no,secret shopper\n",
                                       encoding="utf-8")
    config = tmp_path / "ghostcheck.toml"
    config.write_text('[warehouse]\npath = "w.duckdb"\nlanding = "landing"\n[reports]\nfiles = ["reports/*.csv"]\n',
                      encoding="utf-8")
    result = _run("ingest", "reports", "-c", str(config))
    assert result.exit_code == 0, result.output
    assert "week1.csv: 1 ok, 0 quarantined" in result.output
    con = connect(str(tmp_path / "w.duckdb"))
    assert con.execute("SELECT source, reachable FROM observations").fetchall() == [("secret_shopper", False)]
    con.close()
