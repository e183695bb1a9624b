"""The audit's steps as plain functions: crawl, ingest, load, reconcile, report.

The Prefect flow (flows/audit.py) wraps each in a task; `run_direct` calls them
in one process with a thread pool, for the CLI without Prefect and for the
flow-overhead benchmark. Every step takes the already-loaded config.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

from crawlers.config import Config, DirectoryConfig
from crawlers.landing import utcnow_iso, write_records

Progress = Callable[[str, dict[str, Any]], None]

SPIDER_FOR_KIND = {"fhir": "fhir_directory", "qhp": "qhp_directory", "html": "html_directory"}
BULK_KINDS = ("fhir_bulk", "nppes")


@dataclass
class SourceOutcome:
    """How one source (a directory, the site crawl, the report files) fared in a run."""

    source: str
    kind: str
    status: str
    reason: str | None = None
    items: int = 0
    pages: int = 0

    @property
    def ok(self) -> bool:
        """True when the source delivered."""
        return self.status == "ok"


@dataclass
class AuditResult:
    """What an audit run did, for the CLI summary, artifacts and tests."""

    run_id: str
    as_of: dt.date
    sources: list[SourceOutcome] = field(default_factory=list)
    loaded_rows: int = 0
    quarantined: int = 0
    listings_checked: int = 0
    findings_by_type: dict[str, int] = field(default_factory=dict)
    findings_by_insurer: dict[str, int] = field(default_factory=dict)
    new_findings: int = 0
    resolved_findings: int = 0
    ghost_rate: dict[str, tuple[float, float, float]] = field(default_factory=dict)
    report_dir: str = ""
    report_index: str = ""
    flow_run_id: str | None = None
    load_errors: list[str] = field(default_factory=list)

    @property
    def failed_sources(self) -> list[SourceOutcome]:
        """Sources that did not deliver in this run."""
        return [s for s in self.sources if not s.ok]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly form (Prefect result, `--format json`)."""
        data = asdict(self)
        data["as_of"] = self.as_of.isoformat()
        return data


def audited_directories(cfg: Config) -> list[DirectoryConfig]:
    """The enabled directories of the config, audited ones and references alike."""
    return [d for d in cfg.directory if d.enabled]


def _record_failure(cfg: Config, run_id: str, outcome: SourceOutcome, started: str) -> None:
    """Write a `sources` landing record for a source whose crawler could not write its own."""
    write_records(
        cfg.warehouse.landing,
        "sources",
        outcome.source,
        run_id,
        [
            {
                "source": outcome.source,
                "kind": outcome.kind,
                "status": outcome.status,
                "reason": outcome.reason,
                "items": outcome.items,
                "pages": outcome.pages,
                "started_at": started,
                "finished_at": utcnow_iso(),
            }
        ],
        part="flow",
    )


def _spider_outcome(cfg: Config, run_id: str, source: str, kind: str, spider: str, args: dict[str, str],
                    on_progress: Progress | None, timeout: float | None) -> SourceOutcome:
    """Run one spider in a child process and turn its result into a SourceOutcome."""
    from crawlers.runner import run_spider

    started = utcnow_iso()
    result = run_spider(
        spider,
        cfg.source_path,
        run_id,
        args,
        on_progress=(lambda event: on_progress(source, event)) if on_progress else None,
        timeout=timeout,
    )
    outcome = SourceOutcome(source, kind, result.status, result.reason, result.items, result.pages)
    wrote_sources = any("/sources/" in path for path in result.landing_files)
    if not outcome.ok and not wrote_sources:
        _record_failure(cfg, run_id, outcome, started)
    return outcome


def crawl_directory(cfg: Config, insurer: str, run_id: str, on_progress: Progress | None = None,
                    timeout: float | None = None) -> SourceOutcome:
    """Crawl one insurer directory into landing files (in a child process)."""
    directory = cfg.directory_named(insurer)
    if directory.kind in BULK_KINDS:
        return crawl_bulk(cfg, directory, run_id)
    spider = SPIDER_FOR_KIND.get(directory.kind)
    if spider is None:
        outcome = SourceOutcome(directory.insurer, directory.kind, "failed",
                                f"directory kind {directory.kind!r} is not crawlable by this version")
        _record_failure(cfg, run_id, outcome, utcnow_iso())
        return outcome
    return _spider_outcome(cfg, run_id, directory.insurer, directory.kind, spider,
                           {"insurer": directory.insurer}, on_progress, timeout)


def crawl_bulk(cfg: Config, directory: DirectoryConfig, run_id: str) -> SourceOutcome:
    """Read a FHIR bulk (NDJSON) or NPPES directory with DuckDB into landing files, in this process."""
    from crawlers.bulk.fhir_bulk import bulk_to_landing
    from crawlers.bulk.nppes import nppes_to_landing

    started = utcnow_iso()
    try:
        if directory.kind == "nppes":
            result = nppes_to_landing(directory, cfg.warehouse.landing, run_id)
        else:
            result = bulk_to_landing(directory, cfg.crawl, cfg.warehouse.landing, run_id)
    except Exception as exc:  # noqa: BLE001 - any failure of one source is recorded, the run goes on
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        outcome = SourceOutcome(directory.insurer, directory.kind, "failed", message)
        _record_failure(cfg, run_id, outcome, started)
        return outcome
    return SourceOutcome(directory.insurer, directory.kind, "ok", None, result.listings, len(result.files) or 1)


def crawl_sites(cfg: Config, run_id: str, on_progress: Progress | None = None, timeout: float | None = None,
                shard: int = 0, shards: int = 1) -> SourceOutcome:
    """Crawl practice websites (one shard of the registered domains) into landing files."""
    args = {"shard": str(shard), "shards": str(shards)} if shards > 1 else {}
    name = "sites" if shards == 1 else f"sites shard {shard + 1}/{shards}"
    return _spider_outcome(cfg, run_id, name, "sites", "practice_sites", args, on_progress, timeout)


def wants_site_crawl(cfg: Config) -> bool:
    """True when there is anything to seed the site crawl with."""
    return bool(cfg.site_files()) or (cfg.sites.from_directory and bool(cfg.directory))


def ingest_reports(cfg: Config, run_id: str) -> SourceOutcome:
    """Turn the configured report files into landing files."""
    from crawlers.reports.ingest import ingest_report_files

    files = cfg.report_files()
    result = ingest_report_files(files, cfg.warehouse.landing, run_id)
    failed = [f for f in result.files if f.status == "failed"]
    status = "failed" if failed and len(failed) == len(result.files) else "ok"
    reason = "; ".join(f.error or "" for f in failed) or None
    return SourceOutcome("reports", "reports", status, reason, result.rows_ok, len(files))


def load(cfg: Config) -> tuple[int, int, list[str]]:
    """Load every new landing file into the warehouse: (rows, quarantined, errors)."""
    from warehouse.db import connect
    from warehouse.load import load_landing

    con = connect(cfg.warehouse.path)
    try:
        summary = load_landing(con, cfg.warehouse.landing)
    finally:
        con.close()
    return summary.rows, summary.quarantined, summary.errors


def reconcile_run(cfg: Config, run_id: str, as_of: dt.date) -> dict[str, int]:
    """Reconcile the warehouse and store findings, lifecycle and metrics for this run."""
    from reconcile.engine import reconcile
    from reconcile.settings import ReconcileSettings
    from warehouse.db import connect
    from warehouse.store import save_reconcile

    settings = ReconcileSettings.from_config(cfg.reconcile, [d.insurer for d in cfg.directory])
    con = connect(cfg.warehouse.path)
    try:
        result = reconcile(con, as_of, settings)
        saved = save_reconcile(con, run_id, as_of, result)
    finally:
        con.close()
    return {k: int(v) for k, v in asdict(saved).items() if isinstance(v, int)}


def build_report(cfg: Config, out_dir: str | None, as_of: dt.date) -> tuple[str, str]:
    """Write the HTML report and exports; return (folder, index.html path)."""
    from flows.report.build import build_report as _build
    from warehouse.db import connect

    target = out_dir or cfg.report.out
    con = connect(cfg.warehouse.path)
    try:
        paths = _build(con, target, as_of=as_of, browser_executable=cfg.crawl.browser_executable)
    finally:
        con.close()
    return str(paths.out_dir), str(paths.index)


def start_run(cfg: Config, as_of: dt.date, run_id: str, flow_run_id: str | None = None) -> None:
    """Record the run in the warehouse `runs` table."""
    from warehouse.db import connect
    from warehouse.runs import start_run as _start

    con = connect(cfg.warehouse.path)
    try:
        _start(con, as_of, flow_run_id=flow_run_id, config_path=cfg.source_path, run_id=run_id)
    finally:
        con.close()


def finish_run(cfg: Config, run_id: str, status: str, notes: str | None = None) -> None:
    """Close the run in the warehouse `runs` table."""
    from warehouse.db import connect
    from warehouse.runs import finish_run as _finish

    con = connect(cfg.warehouse.path)
    try:
        _finish(con, run_id, status, notes)
    finally:
        con.close()


def summarize(cfg: Config, result: AuditResult) -> AuditResult:
    """Fill the headline figures of an audit result from the warehouse views."""
    from warehouse.db import connect

    con = connect(cfg.warehouse.path)
    try:
        result.listings_checked = int(
            con.execute("SELECT count(*) FROM listings WHERE coalesce(role, 'audited') = 'audited'").fetchone()[0]
        )
        rows = con.execute(
            "SELECT finding_type, insurer, count(*) FROM findings WHERE status = 'open' GROUP BY ALL"
        ).fetchall()
        by_type: Counter[str] = Counter()
        by_insurer: Counter[str] = Counter()
        for finding_type, insurer, n in rows:
            by_type[finding_type] += n
            by_insurer[insurer] += n
        result.findings_by_type = dict(sorted(by_type.items()))
        result.findings_by_insurer = dict(sorted(by_insurer.items()))
        ghost = con.execute(
            "SELECT insurer, value, ci_low, ci_high FROM metrics WHERE metric = 'ghost_rate' AND value IS NOT NULL"
        ).fetchall()
        result.ghost_rate = {insurer: (value, lo, hi) for insurer, value, lo, hi in ghost}
    finally:
        con.close()
    return result


def run_status(sources: list[SourceOutcome]) -> str:
    """ok when every source delivered, partial when some did, failed when none did."""
    if not sources or all(s.ok for s in sources):
        return "ok"
    return "partial" if any(s.ok for s in sources) else "failed"


def run_direct(cfg: Config, as_of: dt.date, run_id: str, report_dir: str | None = None,
               on_progress: Progress | None = None) -> AuditResult:
    """The whole audit in this process, without Prefect (crawls in parallel child processes)."""
    say = on_progress or (lambda _source, _event: None)
    start_run(cfg, as_of, run_id)
    result = AuditResult(run_id=run_id, as_of=as_of)
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = [pool.submit(crawl_directory, cfg, d.insurer, run_id, on_progress) for d in audited_directories(cfg)]
        reports = pool.submit(ingest_reports, cfg, run_id) if cfg.reports.files else None
        result.sources.extend(f.result() for f in futures)
        if wants_site_crawl(cfg):
            result.sources.append(crawl_sites(cfg, run_id, on_progress))
        if reports is not None:
            result.sources.append(reports.result())
    say("load", {"stage": "load"})
    result.loaded_rows, result.quarantined, result.load_errors = load(cfg)
    say("reconcile", {"stage": "reconcile"})
    counts = reconcile_run(cfg, run_id, as_of)
    result.new_findings = counts.get("new", 0)
    result.resolved_findings = counts.get("resolved", 0)
    finish_run(cfg, run_id, run_status(result.sources))  # final before the report, which shows it
    say("report", {"stage": "report"})
    result.report_dir, result.report_index = build_report(cfg, report_dir, as_of)
    if cfg.alerts.webhook_url or cfg.alerts.email_to:
        from flows.alerts import send_alerts

        send_alerts(cfg, run_id, as_of, result.report_index)
    return summarize(cfg, result)

