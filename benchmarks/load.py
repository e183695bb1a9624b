"""Benchmark: our landing loader vs plain DuckDB read_json / read_parquet, 1M listing rows.

Usage: python benchmarks/load.py [--rows 1000000]
Prints a table; the goal is our loader <= 1.5x plain DuckDB.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import duckdb

from warehouse.db import connect
from warehouse.load import load_file

GEN = """
SELECT 'L' || i AS listing_id, 'PractitionerRole/' || i AS source_key, 'Acme Health' AS insurer,
       'fhir' AS directory_kind, lpad(CAST(1000000000 + i AS VARCHAR), 10, '0') AS npi,
       'Provider ' || i || ', MD' AS provider_name, 'Jane' AS first_name, 'Provider' || i AS last_name,
       'Practice ' || (i // 7) AS practice_name, (i % 9999) || ' Main St Ste ' || (i % 40) AS address,
       'Springfield' AS city, 'IL' AS state, lpad(CAST(60000 + i % 3000 AS VARCHAR), 5, '0') AS zip,
       '217555' || lpad(CAST(i % 10000 AS VARCHAR), 4, '0') AS phone, 'Family Medicine' AS specialty,
       '207Q00000X' AS specialty_code, CASE WHEN i % 3 = 0 THEN 'not_accepting' ELSE 'accepting' END AS accepting_status,
       ['Acme Gold', 'Acme Silver'] AS networks,
       '2026-0' || (1 + i % 9) || '-15T00:00:00Z' AS last_updated,
       'http://127.0.0.1/fhir/PractitionerRole?page=' || (i // 1000) AS source_url,
       '2026-11-20T10:00:00Z' AS fetched_at, 'abc' AS payload_sha256
FROM range(?) t(i)
"""


def timed(fn) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """(wall seconds, CPU seconds of this process and its threads) of one call."""
    start, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - start, time.process_time() - cpu


def main() -> None:
    """Generate the files, time both loaders, print the table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="gc-bench-load-"))
    try:
        jsonl = work / "landing" / "listings" / "acme" / "20261120T000000Z-bench1.jsonl"
        parquet = work / "landing" / "listings" / "acme" / "20261120T000000Z-bench2.parquet"
        jsonl.parent.mkdir(parents=True)
        gen = duckdb.connect()
        gen.execute(f"COPY ({GEN}) TO '{jsonl}' (FORMAT json)", [args.rows])
        gen.execute(f"COPY ({GEN}) TO '{parquet}' (FORMAT parquet)", [args.rows])
        rows = []
        for label, path, reader in (("JSONL", jsonl, "read_json"), ("Parquet", parquet, "read_parquet")):
            plain = duckdb.connect(str(work / f"plain-{label}.duckdb"))
            t_plain = timed(lambda: plain.execute(f"CREATE TABLE t AS SELECT * FROM {reader}('{path}')"))
            plain.close()
            con = connect(work / f"ours-{label}.duckdb")
            t_ours = timed(lambda: load_file(con, str(path), "listings"))
            n = con.execute("SELECT count(*) FROM directory_listings").fetchone()[0]
            con.close()
            rows.append((label, n, t_plain, t_ours))
        print(f"{'format':<8} {'rows':>9} {'plain wall s':>12} {'ours wall s':>12} {'ratio':>6} "
              f"{'plain CPU s':>12} {'ours CPU s':>11} {'ratio':>6}")
        for label, n, (w_plain, c_plain), (w_ours, c_ours) in rows:
            print(f"{label:<8} {n:>9,} {w_plain:>12.2f} {w_ours:>12.2f} {w_ours / w_plain:>6.2f} "
                  f"{c_plain:>12.2f} {c_ours:>11.2f} {c_ours / c_plain:>6.2f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
