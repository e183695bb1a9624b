"""Benchmark: practice-report ingestion, secret-shopper sampling and call metrics.

Usage: python benchmarks/reports_sampling.py [--report-rows 100000] [--listings 1000000] [--warehouse-listings 1000000]

Prints a table of wall times and throughputs:
* parse + land a messy report CSV (header variants, free text, 1 % bad rows), then load it into DuckDB;
* size + allocate + draw a stratified sample from an in-memory frame of listings;
* `ghostcheck sample`'s warehouse path: strata counts and the md5-ranked draw in DuckDB;
* call_metrics over a warehouse with listings and linked secret-shopper reports.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import random
import shutil
import tempfile
import time
from pathlib import Path

from crawlers.landing import write_records
from crawlers.reports.ingest import ingest_report_files
from reconcile.call_metrics import call_metrics
from reconcile.normalize.npi import npi_check_digit
from reconcile.sample import design, draw, stratum_key
from warehouse.db import connect
from warehouse.load import load_landing

SPECIALTIES = ["Family Medicine", "Internal Medicine", "Pediatrics", "Cardiology", "Dermatology", "Psychiatry",
               "Obstetrics & Gynecology", "Orthopedic Surgery", "Neurology", "Endocrinology"]
OUTCOMES = ["Spoke with receptionist", "Left VM", "No answer", "wrong #", "number not in service",
            "transferred, hung up", "Dr. left the practice", "reached"]
ACCEPTING = ["Yes", "Y", "No", "closed panel", "existing patients only", "waitlist 6 months", "with referral",
             "Accepting", "unable to confirm", ""]


def npi(i: int) -> str:
    """A valid NPI derived from i."""
    first9 = f"{100000000 + i:09d}"
    return first9 + npi_check_digit(first9)


CPU: dict[str, float] = {}


def timed(fn):  # type: ignore[no-untyped-def]
    """(result, wall seconds) of one call; its CPU seconds are kept in CPU[<wall seconds>] for the table."""
    start, cpu = time.perf_counter(), time.process_time()
    result = fn()
    wall = time.perf_counter() - start
    CPU[f"{wall:.6f}"] = time.process_time() - cpu
    return result, wall


def write_report_csv(path: Path, rows: int) -> None:
    """A phone-survey CSV with real-world header variants, free text and ~1 % malformed rows."""
    rng = random.Random(1)
    with open(path, "w", newline="", encoding="cp1252") as fh:
        writer = csv.writer(fh)
        writer.writerow(["NPI Number", "Provider", "Street Address", "City", "ST", "Zip Code", "Phone Dialed",
                         "Accepting New Patients?", "Plans Accepted", "Date of Call", "Outcome", "Report Type",
                         "Caller Initials"])
        for i in range(rows):
            bad = i % 100 == 99
            writer.writerow([
                npi(i)[:9] + "0" if bad and i % 200 == 199 else npi(i), f"Núñez {i}, MD", f"{i % 9999} Main St",
                "Springfield", "IL", f"{60000 + i % 3000}", f"(217) 555-{i % 10000:04d}",
                rng.choice(ACCEPTING), rng.choice(["Aetna; Cigna", "Blue Cross Blue Shield, Humana", "Aetna"]),
                "13/45/2026" if bad and i % 200 == 99 else f"11/{1 + i % 24}/2026", rng.choice(OUTCOMES),
                "Phone Survey", "JN",
            ])


def bench_ingest(work: Path, rows: int) -> list[tuple[str, int, float]]:
    """Time parse+land and load of one report CSV."""
    path = work / "survey.csv"
    write_report_csv(path, rows)
    landing = work / "landing"
    result, t_ingest = timed(lambda: ingest_report_files([str(path)], str(landing), "20261125T000000Z-bench1",
                                                         today=dt.date(2026, 11, 25)))
    con = connect(str(work / "ingest.duckdb"))
    summary, t_load = timed(lambda: load_landing(con, str(landing)))
    con.close()
    assert result.rows_ok + result.rows_quarantined == rows, (result.rows_ok, result.rows_quarantined)
    assert not summary.errors
    return [("ingest: parse + land report CSV", rows, t_ingest), ("ingest: load landing into DuckDB", rows, t_load)]


def bench_draw(listings: int) -> list[tuple[str, int, float]]:
    """Time design + pure draw over an in-memory frame (10 specialties x 10 areas = 100 strata)."""
    frame = [{"listing_id": f"L{i}", "specialty": SPECIALTIES[i % 10], "county": f"IL ZIP3 {600 + (i // 10) % 10}"}
             for i in range(listings)]
    cols = ["specialty", "county"]

    def run() -> int:
        """Design and draw."""
        counts: dict[str, int] = {}
        for row in frame:
            key = stratum_key(row, cols)
            counts[key] = counts.get(key, 0) + 1
        plan = design(counts, 0.05, 0.95, 2, cols)
        return len(draw(frame, plan.n, cols, seed=7))

    drawn, seconds = timed(run)
    return [(f"sample (pure, in memory): design + draw {drawn} calls, 100 strata", listings, seconds)]


LISTINGS_SQL = """
COPY (
    SELECT 'L' || i AS listing_id, CASE WHEN i % 4 = 0 THEN 'Cobalt Care' ELSE 'Acme Health' END AS insurer,
           'fhir' AS directory_kind, ? || lpad(CAST(i AS VARCHAR), 7, '0') AS npi, 'P ' || i AS provider_name,
           (i % 9999) || ' Main St' AS address, 'Springfield' AS city, CASE WHEN i % 7 = 0 THEN 'MO' ELSE 'IL' END AS state,
           CAST(60000 + i % 3000 AS VARCHAR) AS zip, '217555' || lpad(CAST(i % 10000 AS VARCHAR), 4, '0') AS phone,
           ['Family Medicine', 'Internal Medicine', 'Pediatrics', 'Cardiology', 'Dermatology', 'Psychiatry',
            'Obstetrics', 'Orthopedics', 'Neurology', 'Endocrinology'][1 + i % 10] AS specialty,
           CASE WHEN i % 3 = 0 THEN 'not_accepting' ELSE 'accepting' END AS accepting_status,
           'http://127.0.0.1/x' AS source_url, '2026-11-01T00:00:00Z' AS fetched_at
    FROM range(?) t(i)
) TO '{path}' (FORMAT JSON)
"""


def bench_warehouse(work: Path, listings: int) -> list[tuple[str, int, float]]:
    """Time `ghostcheck sample`'s warehouse path (strata counts + DuckDB draw) and call_metrics."""
    import duckdb

    from flows.commands.sample import draw_sql, frame_sql, strata_counts

    landing = work / "metrics-landing"
    target = landing / "listings" / "dir" / "20261101T000000Z-bench2.jsonl"
    target.parent.mkdir(parents=True)
    duckdb.connect().execute(LISTINGS_SQL.replace("{path}", str(target)), ["100", listings])  # NPIs need not be valid
    reports = [{"observation_id": f"o{i}", "source": "secret_shopper", "npi": "100" + f"{i:07d}",
                "phone": f"+1217555{i % 10000:04d}", "reachable": i % 5 != 0,
                "call_outcome": "reached" if i % 5 else "no_answer",
                "accepting_status": "accepting" if i % 2 else "existing_only",
                "first_appointment": f"2026-12-{1 + i % 28:02d}", "observed_at": "2026-11-20", "raw": {}}
               for i in range(0, listings, 97)]
    write_records(str(landing), "observations", "reports", "20261120T000000Z-bench3", reports)
    con = connect(str(work / "metrics.duckdb"))
    load_landing(con, str(landing))

    def sample_cli_path() -> tuple[int, int]:
        """What `ghostcheck sample --strata specialty,county` does against the warehouse."""
        sql, _ = frame_sql(con, ["specialty", "county"])
        counts = strata_counts(con, sql, "Acme Health")
        plan = design(counts, 0.05, 0.95, 2, ["specialty", "county"])
        return len(draw_sql(con, sql, "Acme Health", plan.allocation, 7)), len(counts)

    (drawn, n_strata), t_sample = timed(sample_cli_path)
    table, t_metrics = timed(lambda: call_metrics(con, dt.date(2026, 11, 25)))
    con.close()
    assert table.num_rows == 8, table.num_rows
    acme = listings - (listings + 3) // 4
    return [(f"sample (CLI, in DuckDB): strata + draw {drawn} calls, {n_strata} strata", acme, t_sample),
            (f"call_metrics: {len(reports):,} reports x {listings:,} listings", len(reports), t_metrics)]


def main() -> None:
    """Run the benchmarks and print the table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--report-rows", type=int, default=100_000)
    parser.add_argument("--listings", type=int, default=1_000_000)
    parser.add_argument("--warehouse-listings", type=int, default=1_000_000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="gc-bench-reports-"))
    try:
        rows = bench_ingest(work, args.report_rows) + bench_draw(args.listings) + bench_warehouse(work, args.warehouse_listings)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("| step | rows | wall s | CPU s | rows/s (wall) |\n|---|---:|---:|---:|---:|")
    for name, n, seconds in rows:
        cpu = CPU.get(f"{seconds:.6f}", float("nan"))
        print(f"| {name} | {n:,} | {seconds:.2f} | {cpu:.2f} | {n / seconds:,.0f} |")


if __name__ == "__main__":
    main()
