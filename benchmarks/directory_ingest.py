"""Benchmark: directory crawl -> landing -> DuckDB, vs plain DuckDB read_json over the same files.

FHIR: N resources (PractitionerRole + included Practitioner/Location/Organization, some network
Organizations left out so the spider batch-fetches them) served as paged Bundles on 127.0.0.1.
QHP: one providers.json of the given size, streamed over 127.0.0.1.

Measures wall time from crawl start to rows in DuckDB (crawlers.runner child process, then
warehouse.load.load_landing), peak RSS of the crawler process tree, and plain DuckDB `read_json`
over the same files into a table of a DuckDB file (the ratio's baseline, as in bulk_ingest.py; a count-only
read_json, which lets DuckDB skip most of the parsing, is shown too). Goals: <= 2x plain DuckDB; QHP peak
RSS <= 500 MB.

Usage: python benchmarks/directory_ingest.py [--fhir-resources 1000000] [--qhp-mb 1024] [--results]
Generated files go to benchmarks/out/ (git-ignored) and are reused when their size matches.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import shutil
import sys
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import duckdb
import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from httpserver import Reply, Request, serve  # noqa: E402

from crawlers.runner import run_spider  # noqa: E402
from reconcile.normalize.npi import npi_check_digit  # noqa: E402

OUT = ROOT / "benchmarks" / "out" / "directory_ingest"
ROLES_PER_PAGE = 500
PN = "http://hl7.org/fhir/us/davinci-pdex-plan-net/StructureDefinition"


def npi(i: int) -> str:
    """A valid NPI for index i."""
    first9 = f"1{i % 100_000_000:08d}"
    return first9 + npi_check_digit(first9)


def fhir_page(page: int, first_role: int, count: int, pages: int) -> dict[str, Any]:
    """One searchset Bundle: `count` roles with their practitioner, location and organization included."""
    entries: list[dict[str, Any]] = []
    for i in range(first_role, first_role + count):
        ext = [{"url": f"{PN}/newpatients", "extension": [{"url": "acceptingPatients", "valueCodeableConcept": {
            "coding": [{"code": ("newpt", "nopt", "existptonly")[i % 3]}]}}]}]
        if i % 10 == 0:
            ext.append({"url": f"{PN}/network-reference", "valueReference": {"reference": f"Organization/net{i % 5}"}})
        entries += [
            {"resource": {"resourceType": "PractitionerRole", "id": f"r{i}", "meta": {"lastUpdated": "2026-09-01T00:00:00Z"},
                          "extension": ext, "practitioner": {"reference": f"Practitioner/p{i}"},
                          "organization": {"reference": f"Organization/o{i}"}, "location": [{"reference": f"Location/l{i}"}],
                          "specialty": [{"coding": [{"system": "http://nucc.org/provider-taxonomy", "code": "207Q00000X"}]}],
                          "telecom": [{"system": "phone", "value": f"217-555-{i % 10000:04d}"}]}},
            {"resource": {"resourceType": "Practitioner", "id": f"p{i}", "identifier": [{"system": "http://hl7.org/fhir/sid/us-npi", "value": npi(i)}],
                          "name": [{"family": f"Family{i}", "given": ["Given", "M"], "suffix": ["MD"]}]}},
            {"resource": {"resourceType": "Location", "id": f"l{i}", "name": f"Clinic {i}", "address": {
                "line": [f"{i % 9999} Main St", f"Suite {i % 40}"], "city": "Springfield", "state": "IL", "postalCode": f"{62000 + i % 999}"},
                "telecom": [{"system": "fax", "value": "217-555-9999"}]}},
            {"resource": {"resourceType": "Organization", "id": f"o{i}", "name": f"Practice Group {i}"}},
        ]
    bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset", "entry": entries,
                              "link": [{"relation": "self", "url": f"PractitionerRole?page={page}"}]}
    if page < pages:
        bundle["link"].append({"relation": "next", "url": f"PractitionerRole?page={page + 1}"})
    return bundle


def generate_fhir(resources: int) -> tuple[Path, int]:
    """Write the Bundle pages (reused when present); return the folder and page count."""
    roles = resources // 4
    pages = max(1, -(-roles // ROLES_PER_PAGE))
    folder = OUT / f"fhir-{resources}"
    if (folder / "done").exists():
        return folder, pages
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for page in range(1, pages + 1):
        first = (page - 1) * ROLES_PER_PAGE
        data = fhir_page(page, first, min(ROLES_PER_PAGE, roles - first), pages)
        (folder / f"page-{page:05d}.json").write_text(json.dumps(data, separators=(",", ":")))
    networks = [{"resource": {"resourceType": "Organization", "id": f"net{k}", "name": f"Network {k}"}} for k in range(5)]
    (folder / "networks.json").write_text(json.dumps({"resourceType": "Bundle", "type": "searchset", "entry": networks}))
    (folder / "done").write_text("ok")
    return folder, pages


def qhp_entry(i: int) -> str:
    """One providers.json entry (two addresses, three plans), shaped like the CMS QHP README."""
    return json.dumps({
        "npi": npi(i), "type": "INDIVIDUAL",
        "name": {"prefix": "Dr.", "first": "Given", "middle": "M", "last": f"Family{i}", "suffix": "MD"},
        "addresses": [
            {"address": f"{i % 9999} Main St", "address_2": f"Suite {i % 40}", "city": "Springfield", "state": "IL",
             "zip": f"{62000 + i % 999}", "phone": f"217555{i % 10000:04d}"},
            {"address": f"{i % 777} Oak Ave", "city": "Peoria", "state": "IL", "zip": "61602", "phone": "3095550100"}],
        "specialty": ["Family Medicine", "Sports Medicine"], "accepting": ("accepting", "not accepting")[i % 2],
        "plans": [{"plan_id_type": "HIOS-PLAN-ID", "plan_id": f"12345IL00{k}000{k}", "network_tier": "PREFERRED",
                   "years": [2025, 2026]} for k in range(3)],
        "languages": ["English", "Spanish"], "gender": ("Female", "Male")[i % 2], "last_updated_on": "2026-08-15",
    }, separators=(",", ":"))


QHP_TEMPLATE = (
    '{"npi":"%(npi)s","type":"INDIVIDUAL","name":{"prefix":"Dr.","first":"Given","middle":"M","last":"Family%(i)d",'
    '"suffix":"MD"},"addresses":[{"address":"%(a1)d Main St","address_2":"Suite %(s)d","city":"Springfield",'
    '"state":"IL","zip":"%(zip)d","phone":"217555%(ph)04d"},{"address":"%(a2)d Oak Ave","city":"Peoria","state":"IL",'
    '"zip":"61602","phone":"3095550100"}],"specialty":["Family Medicine","Sports Medicine"],"accepting":"%(acc)s",'
    '"plans":[{"plan_id_type":"HIOS-PLAN-ID","plan_id":"12345IL0000000","network_tier":"PREFERRED","years":[2025,2026]},'
    '{"plan_id_type":"HIOS-PLAN-ID","plan_id":"12345IL0010001","network_tier":"PREFERRED","years":[2025,2026]},'
    '{"plan_id_type":"HIOS-PLAN-ID","plan_id":"12345IL0020002","network_tier":"PREFERRED","years":[2025,2026]}],'
    '"languages":["English","Spanish"],"gender":"%(gender)s","last_updated_on":"2026-08-15"}'
)


def qhp_entry_fast(i: int) -> str:
    """`qhp_entry(i)` by string template (the same JSON text, several times faster) to generate GB-size files."""
    return QHP_TEMPLATE % {"npi": npi(i), "i": i, "a1": i % 9999, "s": i % 40, "zip": 62000 + i % 999,
                           "ph": i % 10000, "a2": i % 777, "acc": ("accepting", "not accepting")[i % 2],
                           "gender": ("Female", "Male")[i % 2]}


def generate_qhp(megabytes: int) -> tuple[Path, int]:
    """Write providers.json of at least `megabytes` MiB (reused when present); return path and entry count."""
    path = OUT / f"qhp-{megabytes}mb" / "providers.json"
    meta = path.with_suffix(".count")
    if meta.exists():
        return path, int(meta.read_text())
    path.parent.mkdir(parents=True, exist_ok=True)
    target, written, count = megabytes * 1024 * 1024, 0, 0
    with open(path.with_suffix(".tmp"), "w", encoding="utf-8") as fh:
        fh.write("[\n")
        while written < target:
            chunk = ",\n".join(map(qhp_entry_fast, range(count, count + 10_000)))
            fh.write(("" if count == 0 else ",\n") + chunk)
            written += len(chunk) + 2
            count += 10_000
        fh.write("\n]\n")
    path.with_suffix(".tmp").rename(path)
    (path.parent / "index.json").write_text(json.dumps({"provider_urls": ["providers.json"], "plan_urls": []}))
    meta.write_text(str(count))
    return path, count


def file_chunks(path: Path, size: int = 1 << 20) -> Iterator[bytes]:
    """Stream a file in chunks (the test server sends them chunked)."""
    with open(path, "rb") as fh:
        while chunk := fh.read(size):
            yield chunk


class PeakRss:
    """Sample the summed RSS of this process's children (the crawler tree) until stopped."""

    def __init__(self) -> None:
        """Start sampling in a thread."""
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        """Sampling loop (every 100 ms)."""
        me = psutil.Process()
        while not self._stop.wait(0.1):
            total = 0
            for child in me.children(recursive=True):
                try:
                    total += child.memory_info().rss
                except psutil.Error:
                    pass
            self.peak = max(self.peak, total)

    def stop(self) -> int:
        """Stop and return the peak in bytes."""
        self._stop.set()
        self._thread.join()
        return self.peak


def write_config(folder: Path, insurer: str, kind: str, url: str) -> Path:
    """A ghostcheck.toml for one directory (loopback allowed, no throttling: the server is local)."""
    path = folder / "ghostcheck.toml"
    path.write_text(f'[warehouse]\nlanding = "landing"\n\n[crawl]\nallow_private_networks = true\nautothrottle = false\n'
                    f'obey_robots = false\ntimeout_seconds = 120\nconcurrency = 16\nconcurrency_per_domain = 8\n\n'
                    f'[[directory]]\ninsurer = "{insurer}"\nkind = "{kind}"\nurl = "{url}"\npage_size = {ROLES_PER_PAGE}\n')
    return path


def crawl_and_load(folder: Path, spider: str, insurer: str, kind: str, url: str) -> dict[str, Any]:
    """Crawl through the runner, then load the landing files; return timings, rows and peak RSS."""
    shutil.rmtree(folder / "landing", ignore_errors=True)
    (folder / "bench.duckdb").unlink(missing_ok=True)
    config = write_config(folder, insurer, kind, url)
    monitor = PeakRss()
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    result = run_spider(spider, str(config), "bench", {"insurer": insurer}, timeout=3600)
    crawled = time.perf_counter()
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    peak = monitor.stop()
    crawl_cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    if result.status != "ok":
        raise SystemExit(f"{spider} failed: {result.reason}\n" + "\n".join(result.log_tail[-10:]))
    from warehouse.db import connect
    from warehouse.load import load_landing

    cpu_load = time.process_time()
    con = connect(str(folder / "bench.duckdb"))
    load_landing(con, str(folder / "landing"))
    rows = con.execute("SELECT count(*) FROM listings").fetchone()[0]
    loaded = time.perf_counter()
    load_cpu = time.process_time() - cpu_load
    con.close()
    return {"crawl": crawled - start, "load": loaded - crawled, "total": loaded - start, "rows": rows,
            "items": result.items, "peak_rss": peak, "cpu": crawl_cpu + load_cpu, "crawl_cpu": crawl_cpu,
            "load_cpu": load_cpu}


def plain_duckdb(sql: str, params: list[Any]) -> tuple[float, float, int]:
    """Wall time, CPU time and result of one plain DuckDB query (in-memory; count only)."""
    con = duckdb.connect()
    start, cpu = time.perf_counter(), time.process_time()
    value = con.execute(sql, params).fetchone()[0]
    return time.perf_counter() - start, time.process_time() - cpu, value


def plain_to_table(folder: Path, source_sql: str, params: list[Any]) -> tuple[float, float]:
    """Wall and CPU time of plain DuckDB `CREATE TABLE AS SELECT * FROM read_json(...)` into a DuckDB file.

    This is the like-for-like baseline for "crawl start to rows in DuckDB" (and what benchmarks/bulk_ingest.py
    compares against): the same files, read by DuckDB's own reader, persisted as rows in a database file.
    """
    db = folder / "plain.duckdb"
    db.unlink(missing_ok=True)
    con = duckdb.connect(str(db))
    start, cpu = time.perf_counter(), time.process_time()
    con.execute(f"CREATE TABLE plain AS SELECT * FROM {source_sql}", params)
    con.execute("CHECKPOINT")
    wall, cpu_s = time.perf_counter() - start, time.process_time() - cpu
    con.close()
    db.unlink(missing_ok=True)
    return wall, cpu_s


def bench_fhir(resources: int) -> dict[str, Any]:
    """FHIR run: paged Bundles on loopback."""
    folder, pages = generate_fhir(resources)

    def handler(request: Request) -> Reply:
        """Search pages by ?page=N; `_id` reads of the network Organizations."""
        if request.path == "/fhir/PractitionerRole":
            page = 1
            for part in request.query.split("&"):
                if part.startswith("page="):
                    page = int(part[5:])
            return Reply(200, (folder / f"page-{page:05d}.json").read_bytes(), {"Content-Type": "application/fhir+json"})
        if request.path == "/fhir/Organization":
            return Reply(200, (folder / "networks.json").read_bytes(), {"Content-Type": "application/fhir+json"})
        return Reply(404, "")

    with serve(handler) as server:
        run = crawl_and_load(folder, "fhir_directory", "Bench FHIR", "fhir", server.url("/fhir"))
    pages_glob = [str(folder / "page-*.json")]
    plain, plain_cpu = plain_to_table(folder, "read_json(?, format='auto', maximum_object_size=268435456)", pages_glob)
    count, count_cpu, roles = plain_duckdb(
        "SELECT count(*) FROM (SELECT unnest(entry) AS e FROM read_json(?, format='auto', maximum_object_size=268435456)) "
        "WHERE json_extract_string(e.resource, '$.resourceType') = 'PractitionerRole'", pages_glob)
    size = sum(p.stat().st_size for p in folder.glob("page-*.json"))
    return {"name": f"FHIR {resources:,} resources ({pages} pages, {size / 2**20:.0f} MiB)", "plain": plain,
            "plain_cpu": plain_cpu, "count": count, "count_cpu": count_cpu, "plain_rows": roles, **run}


def bench_qhp(megabytes: int) -> dict[str, Any]:
    """QHP run: index.json + one providers.json streamed over loopback."""
    path, entries = generate_qhp(megabytes)

    def handler(request: Request) -> Reply:
        """index.json and the streamed providers.json."""
        if request.path == "/qhp/index.json":
            return Reply(200, (path.parent / "index.json").read_bytes(), {"Content-Type": "application/json"})
        if request.path == "/qhp/providers.json":
            return Reply(200, headers={"Content-Type": "application/json"}, stream=file_chunks(path))
        return Reply(404, "")

    with serve(handler) as server:
        run = qhp_crawl_and_load(path.parent, server.url("/qhp/index.json"))
    plain, plain_cpu = plain_to_table(path.parent, "read_json(?, format='array', maximum_object_size=16777216)",
                                      [str(path)])
    count_s, count_cpu, count = plain_duckdb(
        "SELECT count(*) FROM (SELECT unnest(addresses) FROM read_json(?, format='array', maximum_object_size=16777216))",
        [str(path)])
    return {"name": f"QHP providers.json {path.stat().st_size / 2**20:,.0f} MiB ({entries:,} providers; peak RSS "
                    f"crawler {run['crawl_rss'] / 2**20:.0f} MB, loader {run['load_rss'] / 2**20:.0f} MB)",
            "plain": plain, "plain_cpu": plain_cpu, "count": count_s, "count_cpu": count_cpu, "plain_rows": count,
            **run}


LOAD_CHILD = """
import sys, time
from warehouse.db import connect
from warehouse.load import load_landing
con = connect(sys.argv[1])
con.execute("SET enable_progress_bar = false")
summary = load_landing(con, sys.argv[2])
rows = con.execute("SELECT count(*) FROM listings").fetchone()[0]
print(rows, summary.quarantined, len(summary.errors), flush=True)
"""


def qhp_crawl_and_load(folder: Path, url: str) -> dict[str, Any]:
    """QHP: crawl (runner child) then load (a child too), each under its own peak-RSS sampler."""
    import subprocess

    shutil.rmtree(folder / "landing", ignore_errors=True)
    (folder / "bench.duckdb").unlink(missing_ok=True)
    config = write_config(folder, "Bench QHP", "qhp", url)
    cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    monitor = PeakRss()
    start = time.perf_counter()
    result = run_spider("qhp_directory", str(config), "bench", {"insurer": "Bench QHP"}, timeout=3600)
    crawled = time.perf_counter()
    crawl_rss = monitor.stop()
    cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.status != "ok":
        raise SystemExit(f"qhp_directory failed: {result.reason}\n" + "\n".join(result.log_tail[-10:]))
    print(f"QHP crawl: {crawled - start:.1f} s, {result.items:,} listings, peak RSS {crawl_rss / 2**20:.0f} MB",
          file=sys.stderr, flush=True)
    for line in result.log_tail:
        if "spooled in" in line or "converted in" in line:
            print("  " + line, file=sys.stderr, flush=True)
    monitor = PeakRss()
    out = subprocess.run([sys.executable, "-c", LOAD_CHILD, str(folder / "bench.duckdb"), str(folder / "landing")],
                         capture_output=True, text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    loaded = time.perf_counter()
    load_rss = monitor.stop()
    cpu2 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if out.returncode != 0:
        raise SystemExit(f"load failed: {out.stderr[-2000:]}")
    rows, quarantined, errors = (int(x) for x in out.stdout.strip().splitlines()[-1].split()[-3:])
    if errors:
        raise SystemExit(f"load reported {errors} file errors")
    crawl_cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    load_cpu = (cpu2.ru_utime - cpu1.ru_utime) + (cpu2.ru_stime - cpu1.ru_stime)
    return {"crawl": crawled - start, "load": loaded - crawled, "total": loaded - start, "rows": rows,
            "items": result.items, "peak_rss": max(crawl_rss, load_rss), "crawl_rss": crawl_rss, "load_rss": load_rss,
            "cpu": crawl_cpu + load_cpu, "crawl_cpu": crawl_cpu, "load_cpu": load_cpu, "quarantined": quarantined}


def table(rows: list[dict[str, Any]]) -> str:
    """Markdown table of the runs."""
    lines = ["| run | listings in DuckDB | crawl s (CPU s) | load s (CPU s) | crawl+load s (CPU s) "
             "| plain DuckDB read_json -> table s (CPU s) | wall ratio | CPU ratio "
             "| plain read_json count only s (CPU s) | crawler peak RSS MB |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['name']} | {r['rows']:,} | {r['crawl']:.1f} ({r['crawl_cpu']:.1f}) | "
                     f"{r['load']:.1f} ({r['load_cpu']:.1f}) | {r['total']:.1f} ({r['cpu']:.1f}) | "
                     f"{r['plain']:.1f} ({r['plain_cpu']:.1f}) | {r['total'] / r['plain']:.1f}x | "
                     f"{r['cpu'] / max(r['plain_cpu'], 1e-3):.1f}x | {r['count']:.1f} ({r['count_cpu']:.1f}) | "
                     f"{r['peak_rss'] / 2**20:.0f} |")
    return "\n".join(lines)


def write_results(text: str) -> None:
    """Replace (or add) the `## directory_ingest.py` section of benchmarks/RESULTS.md."""
    results = ROOT / "benchmarks" / "RESULTS.md"
    current = results.read_text() if results.exists() else "# Benchmark results\n"
    heading = "## directory_ingest.py"
    if heading in current:
        before, rest = current.split(heading, 1)
        after = rest[rest.find("\n## "):] if "\n## " in rest else ""
        current = before.rstrip() + "\n\n" + text.rstrip() + "\n" + after
    else:
        current = current.rstrip() + "\n\n" + text.rstrip() + "\n"
    results.write_text(current)


def main() -> None:
    """Generate inputs, run both benchmarks, print the table (and optionally record it)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fhir-resources", type=int, default=1_000_000)
    parser.add_argument("--qhp-mb", type=int, default=1024)
    parser.add_argument("--skip-fhir", action="store_true")
    parser.add_argument("--skip-qhp", action="store_true")
    parser.add_argument("--results", action="store_true", help="write the table into benchmarks/RESULTS.md")
    parser.add_argument("--note", default="", help="text added under the table in RESULTS.md")
    args = parser.parse_args()
    rows = []
    if not args.skip_fhir:
        rows.append(bench_fhir(args.fhir_resources))
        print(table(rows[-1:]), flush=True)
    if not args.skip_qhp:
        rows.append(bench_qhp(args.qhp_mb))
        print(table(rows[-1:]), flush=True)
    text = table(rows)
    print(text)
    if args.results:
        machine = (f"{psutil.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.0f} GiB, "
                   f"Python {platform.python_version()}")
        write_results(f"## directory_ingest.py\n\n`python benchmarks/directory_ingest.py "
                      f"--fhir-resources {args.fhir_resources} --qhp-mb {args.qhp_mb}` — {machine}, "
                      f"{dt.date.today().isoformat()}.\n\n{text}\n\n{args.note}\n")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
