"""Benchmark: the Prefect audit flow vs the same steps called directly, same inputs, same run.

Each mode audits a freshly served demo world (same seed) in a fresh folder, so
both do the same work: crawl 3 directories and ~50 sites, ingest reports, load,
reconcile, report. The Prefect run includes starting the temporary local
Prefect server (what `ghostcheck audit` does without PREFECT_API_URL).

Usage: python benchmarks/flow_overhead.py [--practices 50] [--repeats 2]
Goal: Prefect overhead <= 15 s or <= 10 %, whichever is larger.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from flows.demo.session import demo_session


def one(mode: str, practices: int, work: Path) -> float:
    """Seconds for one audit of a fresh demo world in the given mode."""
    with demo_session(work / f"{mode}-{time.monotonic_ns()}", n_practices=practices) as session:
        started = time.perf_counter()
        session.audit(prefect=(mode == "prefect"))
        return time.perf_counter() - started


def main() -> None:
    """Alternate the two modes, print medians and the overhead."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--practices", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="gc-bench-prefect-"))
    work = Path(tempfile.mkdtemp(prefix="gc-bench-flow-"))
    times: dict[str, list[float]] = {"direct": [], "prefect": []}
    for _ in range(args.repeats):
        for mode in ("direct", "prefect"):
            times[mode].append(one(mode, args.practices, work))
    direct, flow = statistics.median(times["direct"]), statistics.median(times["prefect"])
    overhead = flow - direct
    allowed = max(15.0, 0.10 * direct)
    print(f"{'mode':<10} {'runs (s)':<24} {'median s':>9}")
    for mode, values in times.items():
        print(f"{mode:<10} {', '.join(f'{v:.1f}' for v in values):<24} {statistics.median(values):>9.1f}")
    print(f"Prefect overhead: {overhead:.1f} s ({overhead / direct:.0%}); allowed {allowed:.1f} s -> "
          f"{'OK' if overhead <= allowed else 'over'}")


if __name__ == "__main__":
    main()
