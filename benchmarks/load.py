"""Benchmark: our landing loader vs plain DuckDB read_json / read_parquet, 1M listing rows.

Usage: python benchmarks/load.py [--rows 1000000] [--repeats 1] [--bad-every 0]
Prints a table; the goal is our loader <= 1.5x plain DuckDB.

The plain baseline builds the same table shape our loader does: `CREATE TABLE AS` over
read_json with the file's keys declared as the warehouse's column types (timestamps parsed
as TIMESTAMP, lists as VARCHAR[]), or read_parquet with each column cast to that type.
It is timed twice: with DuckDB's defaults, and with `preserve_insertion_order = false`
(which our loader sets for its INSERT, since a landing file's row order means nothing; the
column "ratio (no order)" compares against that stricter baseline).
Our side is the real `load_file`: sha256 of the file, validation, quarantine, the insert
and the `landing_files` row in one transaction. Each timed load goes into a fresh DuckDB file.
`--bad-every N` also times a JSONL file in which every Nth row fails validation (the staged,
row-exact path).
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from collections.abc import Callable
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
       '207Q00000X' AS specialty_code,
       CASE WHEN ? > 0 AND i % ? = ? - 1 THEN 'maybe'
            WHEN i % 3 = 0 THEN 'not_accepting' ELSE 'accepting' END AS accepting_status,
       ['Acme Gold', 'Acme Silver'] AS networks,
       '2026-0' || (1 + i % 9) || '-15T00:00:00Z' AS last_updated,
       'http://127.0.0.1/fhir/PractitionerRole?page=' || (i // 1000) AS source_url,
       '2026-11-20T10:00:00Z' AS fetched_at, 'abc' AS payload_sha256
FROM range(?) t(i)
"""


def timed(fn: Callable[[], object]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process and its threads) of one call."""
    start, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - start, time.process_time() - cpu


def target_types(work: Path) -> dict[str, str]:
    """Column name -> type of the warehouse's directory_listings table (from a migrated scratch file)."""
    con = connect(work / "types.duckdb")
    types = {r[0]: r[1] for r in con.execute("DESCRIBE directory_listings").fetchall()}
    con.close()
    return types


def plain_sql(path: Path, fmt: str, types: dict[str, str]) -> str:
    """Plain DuckDB: CREATE TABLE AS over the file, columns typed as our table's."""
    keys = [r[0] for r in duckdb.sql(f"DESCRIBE SELECT * FROM read_{fmt}('{path}')").fetchall()]
    if fmt == "json":
        columns = "{" + ", ".join(f"'{k}': '{types[k]}'" for k in keys) + "}"
        return f"CREATE TABLE t AS SELECT * FROM read_json('{path}', columns={columns}, format='newline_delimited')"
    select = ", ".join(f'CAST("{k}" AS {types[k]}) AS "{k}"' for k in keys)
    return f"CREATE TABLE t AS SELECT {select} FROM read_parquet('{path}')"


def fresh(path: Path) -> Path:
    """Remove a DuckDB file (and its WAL) left by an earlier repeat; return the path."""
    for name in (path, Path(f"{path}.wal")):
        if name.exists():
            os.remove(name)
    return path


def run_plain(db: Path, sql: str, keep_order: bool = True) -> tuple[float, float]:
    """Time the plain load into a fresh file."""
    con = duckdb.connect(str(fresh(db)))
    if not keep_order:
        con.execute("SET preserve_insertion_order = false")
    result = timed(lambda: con.execute(sql))
    con.close()
    return result


def run_ours(db: Path, path: Path) -> tuple[tuple[float, float], int, int]:
    """Time our load_file into a fresh, migrated warehouse; also return rows loaded and quarantined."""
    con = connect(fresh(db))
    loads = []
    result = timed(lambda: loads.append(load_file(con, str(path), "listings")))
    n = con.execute("SELECT count(*) FROM directory_listings").fetchone()[0]
    con.close()
    return result, n, loads[0].quarantined


def main() -> None:
    """Generate the files, time both loaders, print the table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--bad-every", type=int, default=0, help="also time a JSONL file with every Nth row bad")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="gc-bench-load-"))
    try:
        folder = work / "landing" / "listings" / "acme"
        folder.mkdir(parents=True)
        cases = [
            ("JSONL", folder / "20261120T000000Z-bench1.jsonl", "json", 0),
            ("Parquet", folder / "20261120T000000Z-bench2.parquet", "parquet", 0),
        ]
        if args.bad_every:
            cases.append((f"JSONL 1/{args.bad_every:,} bad", folder / "20261120T000000Z-bench3.jsonl", "json", args.bad_every))
        gen = duckdb.connect()
        for _, path, fmt, bad in cases:
            gen.execute(f"COPY ({GEN}) TO '{path}' (FORMAT {fmt})", [bad, max(bad, 1), bad, args.rows])
        gen.close()
        types = target_types(work)
        rows = []
        for repeat in range(args.repeats):
            for label, path, fmt, _ in cases:
                sql = plain_sql(path, fmt, types)
                t_plain = run_plain(work / "plain.duckdb", sql)
                t_loose = run_plain(work / "plain.duckdb", sql, keep_order=False)
                t_ours, n, quarantined = run_ours(work / "ours.duckdb", path)
                rows.append((label, repeat + 1, n, quarantined, t_plain, t_loose, t_ours))
        print(f"{'format':<18} {'run':>3} {'rows':>9} {'quar.':>5} | {'wall s: plain':>13} {'no order':>8} "
              f"{'ours':>6} {'ratio':>5} {'(no order)':>10} | {'CPU s: plain':>12} {'no order':>8} {'ours':>6} "
              f"{'ratio':>5} {'(no order)':>10}")
        for label, repeat, n, quarantined, plain, loose, ours in rows:
            print(f"{label:<18} {repeat:>3} {n:>9,} {quarantined:>5,} | {plain[0]:>13.2f} {loose[0]:>8.2f} "
                  f"{ours[0]:>6.2f} {ours[0] / plain[0]:>5.2f} {ours[0] / loose[0]:>10.2f} | {plain[1]:>12.2f} "
                  f"{loose[1]:>8.2f} {ours[1]:>6.2f} {ours[1] / plain[1]:>5.2f} {ours[1] / loose[1]:>10.2f}")
        print(f"load average (1, 5, 15 min) at the end: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
