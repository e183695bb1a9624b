"""Benchmark the HTML report at scale: build time, file sizes, and time until the table is usable in Chromium.

    .venv/bin/python benchmarks/report_size.py                 # 100k findings (default)
    .venv/bin/python benchmarks/report_size.py --n 20000 --repeats 5
    .venv/bin/python benchmarks/report_size.py --docs-screenshot docs/report-screenshot.png --n 2000

Goal (issue 9): 100k findings load in the browser in <= 3 s, index.html <= 30 MB.
"Ready" is the page's own `window.__ghostcheckReady` flag, set after the JSON
is parsed and the first page of the (sorted) table is in the DOM; it is
measured both from the page (performance.now() at ready, i.e. since navigation
start) and as wall time around `page.goto` in Playwright.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import duckdb  # noqa: E402

from flows.report import build_report  # noqa: E402
from report_fixtures import build_warehouse  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"]


def measure_browser(index: Path, repeats: int) -> dict[str, list[float]]:
    """Open the report `repeats` times in fresh pages; time to ready, and a filter + a search on the full data."""
    from playwright.sync_api import sync_playwright

    times: dict[str, list[float]] = {"ready_wall": [], "ready_page": [], "filter": [], "search": []}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for _ in range(repeats):
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            started = time.perf_counter()
            page.goto(index.as_uri(), timeout=120_000)
            page.wait_for_function("window.__ghostcheckReady === true", timeout=120_000, polling=10)
            times["ready_wall"].append(time.perf_counter() - started)
            times["ready_page"].append(page.evaluate("window.__ghostcheckReadyMs") / 1000)
            before = page.text_content("#findings-count")
            started = time.perf_counter()
            page.select_option("#filter-severity", "critical")
            page.wait_for_function("b => document.getElementById('findings-count').textContent !== b", arg=before, polling=10)
            times["filter"].append(time.perf_counter() - started)
            before = page.text_content("#findings-count")
            started = time.perf_counter()
            page.fill("#findings-search", "kowalczyk")
            page.wait_for_function("b => document.getElementById('findings-count').textContent !== b", arg=before, polling=10)
            times["search"].append(time.perf_counter() - started)
            if errors:
                raise SystemExit(f"page errors: {errors}")
            page.close()
        browser.close()
    return times


def docs_screenshot(index: Path, target: Path) -> None:
    """Save a README screenshot: the headline, charts and an expanded finding."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900}, device_scale_factor=1)
        page.goto(index.as_uri())
        page.wait_for_function("window.__ghostcheckReady === true")
        page.select_option(".pager select", "25")
        page.locator("#findings-table tbody tr button.expand").first.click()
        target.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(target), full_page=True)
        browser.close()


def main() -> None:
    """Generate findings, build the report, print a table of sizes and timings."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="number of findings")
    parser.add_argument("--repeats", type=int, default=3, help="browser loads to time")
    parser.add_argument("--docs-screenshot", type=Path, default=None, help="also write a full-page PNG here")
    parser.add_argument("--keep", type=Path, default=None, help="write the report here instead of a temp dir")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="ghostcheck-report-bench-") as tmp:
        work = Path(tmp)
        started = time.perf_counter()
        build_warehouse(work / "w.duckdb", args.n)
        t_fixture = time.perf_counter() - started
        con = duckdb.connect(str(work / "w.duckdb"), read_only=True)
        out = args.keep or work / "report"
        started = time.perf_counter()
        paths = build_report(con, out)
        t_build = time.perf_counter() - started
        con.close()
        sizes = {name: p.stat().st_size for name, p in sorted(paths.exports.items())}
        sizes["index.html"] = paths.index.stat().st_size
        times = measure_browser(paths.index, args.repeats) if args.repeats else {}
        if args.docs_screenshot:
            docs_screenshot(paths.index, args.docs_screenshot)

        print(f"findings: {paths.findings:,}  (fixture build {t_fixture:.1f} s, cpus {os.cpu_count()})")
        print(f"{'measure':<38}{'value':>14}")
        print("-" * 52)
        print(f"{'build_report (html + 4 exports)':<38}{t_build:>12.2f} s")
        for name, size in sizes.items():
            print(f"{'size ' + name:<38}{size / 1e6:>11.2f} MB")
        labels = {
            "ready_page": "browser ready (page clock, median)",
            "ready_wall": "browser ready (goto wall, median)",
            "filter": "severity filter on all rows (median)",
            "search": "search over all rows (median)",
        }
        for key, label in labels.items():
            if times.get(key):
                values = times[key]
                print(f"{label:<38}{statistics.median(values):>12.2f} s   [{', '.join(f'{v:.2f}' for v in values)}]")
        ok_size = sizes["index.html"] <= 30e6
        ok_time = not times or statistics.median(times["ready_wall"]) <= 3.0
        print(f"goal index.html <= 30 MB: {'met' if ok_size else 'MISSED'};  ready <= 3 s: {'met' if ok_time else 'MISSED'}")


if __name__ == "__main__":
    main()
