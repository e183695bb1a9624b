"""Benchmark: reconcile end to end (normalize, link, compare, findings, metrics) on a seeded realistic world.

    .venv/bin/python benchmarks/reconcile_scale.py --sizes 10000 100000 [--write-results]

Each size: one subprocess generates the world (benchmarks/reconcile_world.py, seeded) into Parquet; a second one
loads it into a real DuckDB file, runs reconcile.engine.reconcile (timed; peak RSS is this process's), and scores
the findings against the generator's truth.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

AS_OF = dt.date(2026, 11, 24)
LISTING_COLUMNS = ("listing_id", "insurer", "directory_kind", "role", "npi", "provider_name", "practice_name",
                   "address", "city", "state", "zip", "phone", "accepting_status", "website", "last_updated",
                   "source_url", "fetched_at")
OBS_COLUMNS = ("observation_id", "source", "npi", "provider_name", "practice_name", "phone", "accepting_status",
               "insurers_accepted", "insurers_not_accepted", "reachable", "call_outcome", "providers",
               "roster_complete", "departed_providers", "phones", "addresses", "site_url", "evidence_url",
               "evidence_text", "observed_at")


def write_world(n: int, seed: int, out: Path) -> dict:
    """Generate the world in this process and write listings/observations Parquet plus the truth (JSON)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from reconcile_world import Generator

    t0 = time.perf_counter()
    world = Generator(seed=seed).world(n)
    listings = pa.Table.from_pylist([{c: row.get(c) for c in LISTING_COLUMNS} for row in world.listings])
    schema = pa.schema([(c, pa.list_(pa.string()) if c in ("insurers_accepted", "insurers_not_accepted", "providers",
                                                            "departed_providers", "phones", "addresses")
                         else pa.bool_() if c in ("reachable", "roster_complete")
                         else pa.timestamp("us") if c == "observed_at" else pa.string()) for c in OBS_COLUMNS])
    observations = pa.Table.from_pylist([{c: row.get(c) for c in OBS_COLUMNS} for row in world.observations],
                                        schema=schema)
    pq.write_table(listings, out / "listings.parquet")
    pq.write_table(observations, out / "observations.parquet")
    (out / "truth.json").write_text(json.dumps(sorted(world.truth)), encoding="utf-8")
    return {"generate_s": time.perf_counter() - t0}


def load_world(con, folder: Path) -> None:
    """Insert the generated Parquet files into the warehouse base tables (one INSERT per table)."""
    con.execute(f"INSERT INTO listing_rows (run_id, {', '.join(LISTING_COLUMNS)}) "
                f"SELECT 'load-1', {', '.join(LISTING_COLUMNS)} FROM read_parquet(?)", [str(folder / "listings.parquet")])
    con.execute(f"INSERT INTO observation_records (run_id, {', '.join(OBS_COLUMNS)}) "
                f"SELECT 'load-1', {', '.join(OBS_COLUMNS)} FROM read_parquet(?)", [str(folder / "observations.parquet")])


def one(folder: Path) -> dict:
    """Load one generated world into a fresh warehouse file, reconcile it, and score against the truth."""
    from reconcile.engine import reconcile
    from reconcile.settings import ReconcileSettings
    from warehouse.db import connect

    for stale in (folder / "bench.duckdb", folder / "bench.duckdb.wal"):
        stale.unlink(missing_ok=True)  # a re-run on the same folder starts from an empty warehouse
    con = connect(folder / "bench.duckdb")
    con.execute("SET threads = 2")
    con.execute("SET memory_limit = '1.5GB'")  # DuckDB spills TEMP tables to disk beyond this (RSS goal: 4 GB; the rest is the Arrow results)
    t0 = time.perf_counter()
    load_world(con, folder)
    load_s = time.perf_counter() - t0
    n_listings = con.execute("SELECT count(*) FROM directory_listings").fetchone()[0]
    n_obs = con.execute("SELECT count(*) FROM observation_records").fetchone()[0]
    truth = {tuple(x) for x in json.loads((folder / "truth.json").read_text(encoding="utf-8"))}
    t0, c0 = time.perf_counter(), time.process_time()
    result = reconcile(con, AS_OF, ReconcileSettings(known_insurers=("Acme Health", "Cobalt Care", "Summit Mutual")))
    total_s = time.perf_counter() - t0
    cpu_s = time.process_time() - c0
    con.close()
    found = set(zip(result.findings.column("listing_id").to_pylist(), result.findings.column("finding_type").to_pylist()))
    per_type = {}
    for ftype in sorted({t for _, t in truth} | {t for _, t in found}):
        t_set = {x for x in truth if x[1] == ftype}
        f_set = {x for x in found if x[1] == ftype}
        per_type[ftype] = {"truth": len(t_set), "found": len(f_set), "hit": len(t_set & f_set)}
    hit = len(truth & found)
    return {
        "n_listings": n_listings, "n_observations": n_obs, "load_s": load_s,
        "timings": result.timings, "total_s": total_s, "cpu_s": cpu_s, "links": result.links.num_rows,
        "findings": len(found), "truth": len(truth), "precision": hit / len(found) if found else 1.0,
        "recall": hit / len(truth) if truth else 1.0, "per_type": per_type,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "distinct_names": result.counts.get("distinct_names"), "distinct_addresses": result.counts.get("distinct_addresses"),
    }


def table(results: list[dict]) -> str:
    """Markdown table of the figures (one row per size) plus per-type precision/recall of the largest size."""
    stages = ("normalize", "link", "compare", "findings", "metrics")
    lines = ["| listings | observations | " + " | ".join(f"{s} s" for s in stages) +
             " | total wall s | total CPU s | peak RSS MB | links | findings | precision | recall |",
             "|---:|---:|" + "---:|" * (len(stages) + 7)]
    for r in results:
        lines.append(f"| {r['n_listings']:,} | {r['n_observations']:,} | "
                     + " | ".join(f"{r['timings'].get(s, 0):.1f}" for s in stages)
                     + f" | {r['total_s']:.1f} | {r['cpu_s']:.1f} | {r['peak_rss_mb']:,.0f} | {r['links']:,} | {r['findings']:,} | "
                       f"{r['precision']:.4f} | {r['recall']:.4f} |")
    big = results[-1]
    lines += ["", f"Per finding type at {big['n_listings']:,} listings:", "",
              "| finding type | truth | found | precision | recall |", "|---|---:|---:|---:|---:|"]
    for ftype, c in big["per_type"].items():
        p = c["hit"] / c["found"] if c["found"] else 1.0
        rc = c["hit"] / c["truth"] if c["truth"] else 1.0
        lines.append(f"| {ftype} | {c['truth']:,} | {c['found']:,} | {p:.4f} | {rc:.4f} |")
    return "\n".join(lines)


def write_results(text: str, heading: str = "## reconcile_scale.py") -> None:
    """Replace (or add) this script's section of benchmarks/RESULTS.md, leaving other sections intact."""
    path = ROOT / "benchmarks" / "RESULTS.md"
    current = path.read_text(encoding="utf-8") if path.exists() else "# Benchmark results\n"
    section = f"{heading}\n\n{text.strip()}\n"
    if heading in current:
        start = current.index(heading)
        nxt = current.find("\n## ", start + len(heading))
        current = current[:start] + section + (current[nxt + 1:] if nxt != -1 else "")
    else:
        current = current.rstrip("\n") + "\n\n" + section
    path.write_text(current, encoding="utf-8")


def main() -> None:
    """Parse arguments, run each size in a subprocess, print the table (and write RESULTS.md if asked)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--generate", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--run", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--write-results", action="store_true")
    parser.add_argument("--note", default="")
    args = parser.parse_args()
    if args.generate:
        print(json.dumps(write_world(args.generate, args.seed, args.out)))
        return
    if args.run:
        print(json.dumps(one(args.run)))
        return
    results = []
    for n in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:  # generate and reconcile in separate processes: RSS is the engine's
            gen = subprocess.run([sys.executable, __file__, "--generate", str(n), "--seed", str(args.seed),
                                  "--out", tmp], capture_output=True, text=True, check=False)
            proc = gen if gen.returncode != 0 else subprocess.run(
                [sys.executable, __file__, "--run", tmp], capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            print(f"size {n} failed:\n{proc.stderr[-3000:]}", file=sys.stderr)
            break
        results.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        print(f"{n:,}: {results[-1]['total_s']:.1f}s P={results[-1]['precision']:.4f} R={results[-1]['recall']:.4f}",
              file=sys.stderr, flush=True)
    if not results:
        sys.exit(1)
    text = table(results)
    print(text)
    if args.write_results:
        machine = (f"Machine: {os.cpu_count()} cores, "
                   f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB, "
                   f"Python {platform.python_version()}, DuckDB threads=2; run {dt.date.today().isoformat()}. "
                   "Shared machine (~8 engineers working at once): CPU contention inflates the times.")
        cmd = "Command: `.venv/bin/python benchmarks/reconcile_scale.py --sizes " + " ".join(map(str, args.sizes)) + \
              " --write-results`"
        write_results("\n\n".join(x for x in (machine, cmd, args.note, text) if x))


if __name__ == "__main__":
    main()
