"""Time of the `ghostcheck demo` run on this machine: build + serve the world, audit it end to end, score it.

    .venv/bin/python benchmarks/demo_time.py [--practices 50] [--seed 7] [--runs 1] [--prefect]

Prints one table row per run (world build, whole audit, findings, precision/recall over all types)
and a per-type precision/recall table of the last run. The audit is flows.audit.run_audit, the
same call `ghostcheck demo` makes; crawls run in child processes exactly as in the demo.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from datetime import date

import duckdb

from crawlers.config import load_config
from flows.demo.score import FINDING_TYPES, found_findings, near_miss_hits, score
from flows.demo.session import demo_session


def one_run(practices: int, seed: int, prefect: bool) -> dict[str, object]:
    """One demo run in a fresh temporary folder; returns timings and accuracy."""
    with tempfile.TemporaryDirectory(prefix="demo-bench-") as out:
        started = time.perf_counter()
        with demo_session(out, seed=seed, n_practices=practices, as_of=date.today()) as session:
            built = time.perf_counter()
            result = session.audit(prefect=prefect)
            audited = time.perf_counter()
            db_path = load_config(session.config_path).warehouse.path
            with duckdb.connect(db_path, read_only=True) as con:
                found = found_findings(con)
            scores = score(session.world, found)
            near = near_miss_hits(session.world, found)
            world = session.world
        tp = sum(s.tp for s in scores.values())
        fp = sum(len(s.fp) for s in scores.values())
        fn = sum(len(s.fn) for s in scores.values())
        return {
            "practices": practices, "listings": len(world.listings), "pages": len(world.pages),
            "build_s": built - started, "audit_s": audited - built, "total_s": audited - started,
            "findings": len(found), "expected": len(world.truth), "precision": tp / (tp + fp) if tp + fp else 1.0,
            "recall": tp / (tp + fn) if tp + fn else 1.0, "near_miss_hits": len(near), "scores": scores,
            "checked": getattr(result, "listings_checked", None),
        }


def main() -> None:
    """Run the benchmark and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--practices", type=int, default=50)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--prefect", action="store_true", help="run the audit as a Prefect flow")
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"load average before: {os.getloadavg()[0]:.2f}")
    header = f"{'run':>3} {'practices':>9} {'listings':>8} {'pages':>5} {'build s':>8} {'audit s':>8} {'total s':>8} " \
             f"{'findings':>8} {'expected':>8} {'P':>5} {'R':>5} {'near':>4}"
    print(header)
    last = None
    for run in range(1, args.runs + 1):
        r = one_run(args.practices, args.seed, args.prefect)
        last = r
        print(f"{run:>3} {r['practices']:>9} {r['listings']:>8} {r['pages']:>5} {r['build_s']:>8.2f} {r['audit_s']:>8.1f} "
              f"{r['total_s']:>8.1f} {r['findings']:>8} {r['expected']:>8} {r['precision']:>5.2f} {r['recall']:>5.2f} "
              f"{r['near_miss_hits']:>4}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    if last:
        print(f"\n{'finding type':<26} {'tp':>4} {'fp':>4} {'fn':>4} {'P':>5} {'R':>5}")
        for kind in FINDING_TYPES:
            s = last["scores"][kind]  # type: ignore[index]
            print(f"{kind:<26} {s.tp:>4} {len(s.fp):>4} {len(s.fn):>4} {s.precision:>5.2f} {s.recall:>5.2f}")


if __name__ == "__main__":
    main()
