"""Benchmark: a generated NDJSON set in the CMS National Provider Directory's type mix.

Times ghostcheck's `fhir_bulk` ingest (DuckDB NDJSON reader -> listing landing
Parquet -> warehouse load) against plain DuckDB `read_json` of the same files
into tables, in the same run; reports rows/s and peak RSS, and extrapolates to
the NPD's ~27M resources.

Usage: python benchmarks/bulk_ingest.py [--resources 5000000] [--repeats N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

MIX = {  # share of resources by type, roughly the NPD's
    "PractitionerRole": 0.40, "Practitioner": 0.28, "Organization": 0.14,
    "Location": 0.12, "OrganizationAffiliation": 0.04, "Endpoint": 0.02,
}
NEWPT = "http://hl7.org/fhir/us/ndh/StructureDefinition/base-ext-newpatients"


def generate(folder: Path, total: int) -> dict[str, int]:
    """Write one gzip-free NDJSON file per type with DuckDB; return counts."""
    counts = {k: max(1, int(total * v)) for k, v in MIX.items()}
    con = duckdb.connect()
    n_prac, n_loc, n_org = counts["Practitioner"], counts["Location"], counts["Organization"]
    queries = {
        "Practitioner": f"""SELECT 'Practitioner' AS resourceType, 'p' || i AS id,
            {{'lastUpdated': '2026-10-01T00:00:00Z'}} AS meta,
            [{{'system': 'http://hl7.org/fhir/sid/us-npi', 'value': CAST(1000000000 + i AS VARCHAR)}}] AS identifier,
            [{{'family': 'Family' || (i % 50000), 'given': ['Given' || (i % 3000), 'Q']}}] AS name,
            [{{'system': 'phone', 'value': '217555' || lpad(CAST(i % 10000 AS VARCHAR), 4, '0')}}] AS telecom
            FROM range({n_prac}) t(i)""",
        "Location": f"""SELECT 'Location' AS resourceType, 'l' || i AS id, 'Site ' || i AS name,
            {{'line': [(i % 9999) || ' Main St', 'Ste ' || (i % 40)], 'city': 'City' || (i % 900), 'state': 'IL',
              'postalCode': lpad(CAST(60000 + i % 3000 AS VARCHAR), 5, '0')}} AS address,
            [{{'system': 'phone', 'value': '312555' || lpad(CAST(i % 10000 AS VARCHAR), 4, '0')}}] AS telecom,
            [{{'url': '{NEWPT}', 'extension': [{{'url': 'acceptingPatients', 'valueCodeableConcept':
                {{'coding': [{{'code': CASE WHEN i % 4 = 0 THEN 'nopt' ELSE 'newpt' END}}]}}}}]}}] AS extension,
            {{'reference': 'Organization/o' || (i % {n_org})}} AS managingOrganization
            FROM range({n_loc}) t(i)""",
        "Organization": f"""SELECT 'Organization' AS resourceType, 'o' || i AS id, 'Group ' || i AS name,
            [{{'system': 'url', 'value': 'https://group' || i || '.example.org'}}] AS telecom FROM range({n_org}) t(i)""",
        "PractitionerRole": f"""SELECT 'PractitionerRole' AS resourceType, 'r' || i AS id,
            {{'lastUpdated': '2026-10-01T00:00:00Z'}} AS meta, true AS active,
            {{'reference': 'Practitioner/p' || (i % {n_prac})}} AS practitioner,
            {{'reference': 'Organization/o' || (i % {n_org})}} AS organization,
            [{{'reference': 'Location/l' || (i % {n_loc})}}] AS location,
            [{{'coding': [{{'system': 'http://nucc.org/provider-taxonomy', 'code': '207Q00000X'}}]}}] AS specialty
            FROM range({counts['PractitionerRole']}) t(i)""",
        "OrganizationAffiliation": f"""SELECT 'OrganizationAffiliation' AS resourceType, 'a' || i AS id,
            {{'reference': 'Organization/o' || (i % {n_org})}} AS organization FROM range({counts['OrganizationAffiliation']}) t(i)""",
        "Endpoint": f"""SELECT 'Endpoint' AS resourceType, 'e' || i AS id, 'active' AS status,
            'https://fhir' || i || '.example.org' AS address FROM range({counts['Endpoint']}) t(i)""",
    }
    folder.mkdir(parents=True, exist_ok=True)
    for kind, sql in queries.items():
        con.execute(f"COPY ({sql}) TO '{folder / (kind + '.ndjson')}' (FORMAT json)")
    return counts


CHILD = """
import resource, sys, time
from crawlers.bulk.fhir_bulk import bulk_to_landing
from crawlers.config import CrawlConfig, DirectoryConfig
from warehouse.db import connect
from warehouse.load import load_landing
folder, work = sys.argv[1], sys.argv[2]
t0 = time.perf_counter(); c0 = time.process_time()
d = DirectoryConfig(insurer="NPD", kind="fhir_bulk", url=folder, role="reference")
r = bulk_to_landing(d, CrawlConfig(), work + "/landing", "20261125T000000Z-bench0", work_dir=work)
t1 = time.perf_counter(); c1 = time.process_time()
con = connect(work + "/w.duckdb")
s = load_landing(con, work + "/landing")
t2 = time.perf_counter(); c2 = time.process_time()
print(r.listings, t1 - t0, t2 - t1, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, c1 - c0, c2 - c1)
"""

PLAIN = """
import resource, sys, time, duckdb, glob
folder, db = sys.argv[1], sys.argv[2]
con = duckdb.connect(db)
t0 = time.perf_counter(); c0 = time.process_time()
for path in sorted(glob.glob(folder + "/*.ndjson")):
    name = path.rsplit("/", 1)[1].split(".")[0]
    con.execute(f"CREATE TABLE {name} AS SELECT * FROM read_json('{path}')")
print(time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, time.process_time() - c0)
"""


def run_pair(work: Path, run: int) -> dict[str, float]:
    """One timed run of ours then plain DuckDB, each in a child process on fresh output (nothing reused)."""
    out = work / f"run{run}"
    out.mkdir()
    ours = subprocess.run([sys.executable, "-c", CHILD, str(work / "npd"), str(out)], capture_output=True,
                          text=True, check=True).stdout.strip().splitlines()[-1].split()
    plain = subprocess.run([sys.executable, "-c", PLAIN, str(work / "npd"), str(out / "plain.duckdb")],
                           capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1].split()
    shutil.rmtree(out, ignore_errors=True)
    return {"listings": int(ours[0]), "ingest": float(ours[1]), "load": float(ours[2]), "rss": float(ours[3]),
            "c_ingest": float(ours[4]), "c_load": float(ours[5]), "plain": float(plain[0]),
            "rss_plain": float(plain[1]), "c_plain": float(plain[2]), "loadavg": os.getloadavg()[0]}


def main() -> None:
    """Generate, time both paths in child processes (for honest peak RSS), print the table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--resources", type=int, default=5_000_000)
    parser.add_argument("--repeats", type=int, default=1, help="alternate ours/plain this many times (contention)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="gc-bench-bulk-"))
    try:
        t = time.perf_counter()
        counts = generate(work / "npd", args.resources)
        size = sum(p.stat().st_size for p in (work / "npd").iterdir()) / 1e9
        n = sum(counts.values())
        print(f"generated {n:,} resources ({size:.2f} GB) in {time.perf_counter() - t:.1f}s")
        print(f"{os.cpu_count()} cores; CPU seconds in brackets; load average sampled after each run")
        print(f"{'run':>3} {'path':<34} {'seconds':>14} {'resources/s':>12} {'peak RSS MB':>12} {'ratio wall':>10} "
              f"{'ratio CPU':>9} {'load avg':>8}")
        ratios = []
        for run in range(1, args.repeats + 1):
            r = run_pair(work, run)
            total, cpu = r["ingest"] + r["load"], r["c_ingest"] + r["c_load"]
            ratios.append(total / r["plain"])
            print(f"{run:>3} {'ghostcheck fhir_bulk (ingest+load)':<34} {total:>6.1f} ({cpu:>5.1f}) {n / total:>12,.0f} "
                  f"{r['rss']:>12,.0f} {total / r['plain']:>10.2f} {cpu / r['c_plain']:>9.2f} {r['loadavg']:>8.1f}")
            print(f"{run:>3} {'  of which NDJSON -> landing':<34} {r['ingest']:>6.1f} ({r['c_ingest']:>5.1f})")
            print(f"{run:>3} {'  of which landing -> warehouse':<34} {r['load']:>6.1f} ({r['c_load']:>5.1f})")
            print(f"{run:>3} {'plain DuckDB read_json -> tables':<34} {r['plain']:>6.1f} ({r['c_plain']:>5.1f}) "
                  f"{n / r['plain']:>12,.0f} {r['rss_plain']:>12,.0f}")
            print(f"    listings produced: {r['listings']:,}; extrapolated to 27M resources: "
                  f"{total * 27_000_000 / n / 60:.1f} min")
        print(f"median wall ratio ghostcheck / plain over {len(ratios)} run(s): {statistics.median(ratios):.2f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
