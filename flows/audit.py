"""The Prefect `audit` flow: one task per source, then load, reconcile, report, artifacts.

Independent sources run concurrently; a failing source marks its task failed
and the run goes on with the others (the report lists what is missing). Each
Scrapy crawl runs in its own child process (see crawlers/runner.py).
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any, Callable

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_link_artifact, create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.futures import wait
from prefect.runtime import flow_run

from crawlers.config import Config, load_config
from flows import pipeline
from flows.pipeline import AuditResult, SourceOutcome
from warehouse.runs import new_run_id

TRANSIENT_MARKERS = ("401", "403", "token", "not crawlable", "not found", "unknown")


class SourceFailed(Exception):
    """A source that did not deliver (its task is marked failed)."""


def _retry_transient(task_: Any, task_run: Any, state: Any) -> bool:
    """Retry crawl tasks unless the failure is one a retry cannot fix (auth, config)."""
    try:
        state.result()
    except SourceFailed as exc:
        return not any(marker in str(exc).lower() for marker in TRANSIENT_MARKERS)
    except Exception:  # noqa: BLE001 - an unexpected crash is worth one more try
        return True
    return False


def progress_logger(every_seconds: float = 5.0) -> Callable[[str, dict[str, Any]], None]:
    """A callback forwarding a child crawl's log lines, and its progress at most every few seconds, to Prefect."""
    logger = get_run_logger()
    last = {"at": 0.0}

    def log(source: str, event: dict[str, Any]) -> None:
        """Log one progress/log event (progress throttled)."""
        if "log" in event:
            logger.info("%s: %s", source, event["log"])
            return
        now = time.monotonic()
        if now - last["at"] < every_seconds:
            return
        last["at"] = now
        shown = ", ".join(f"{k}={v}" for k, v in event.items() if k in {"pages", "items", "stage", "event"})
        logger.info("%s: %s", source, shown or event)

    return log


def _checked(outcome: SourceOutcome) -> dict[str, Any]:
    """Return the outcome as a dict, raising SourceFailed (task failed) when the source failed.

    A source that delivered logs its totals: the throttled progress lines may never show the last counts.
    """
    if not outcome.ok:
        raise SourceFailed(f"{outcome.source}: {outcome.reason or 'failed'}")
    get_run_logger().info("%s: done, pages=%s, items=%s", outcome.source, outcome.pages, outcome.items)
    return outcome.__dict__


@task(name="crawl-directory", task_run_name="crawl {insurer}", retries=1, retry_delay_seconds=2,
      retry_condition_fn=_retry_transient, cache_policy=NO_CACHE, persist_result=False)
def crawl_directory_task(config_path: str, insurer: str, run_id: str) -> dict[str, Any]:
    """Crawl one insurer directory."""
    cfg = load_config(config_path)
    return _checked(pipeline.crawl_directory(cfg, insurer, run_id, progress_logger()))


@task(name="crawl-sites", task_run_name="crawl sites {shard}/{shards}", retries=1, retry_delay_seconds=2,
      retry_condition_fn=_retry_transient, cache_policy=NO_CACHE, persist_result=False)
def crawl_sites_task(config_path: str, run_id: str, shard: int = 0, shards: int = 1) -> dict[str, Any]:
    """Crawl one shard of the practice websites."""
    cfg = load_config(config_path)
    return _checked(pipeline.crawl_sites(cfg, run_id, progress_logger(), shard=shard, shards=shards))


@task(name="ingest-reports", cache_policy=NO_CACHE, persist_result=False)
def ingest_reports_task(config_path: str, run_id: str) -> dict[str, Any]:
    """Turn practice report files into landing files."""
    return _checked(pipeline.ingest_reports(load_config(config_path), run_id))


@task(name="load", cache_policy=NO_CACHE, persist_result=False)
def load_task(config_path: str) -> tuple[int, int, list[str]]:
    """Load new landing files into DuckDB."""
    return pipeline.load(load_config(config_path))


@task(name="reconcile", cache_policy=NO_CACHE, persist_result=False)
def reconcile_task(config_path: str, run_id: str, as_of: dt.date) -> dict[str, int]:
    """Reconcile listings against evidence and store the findings."""
    return pipeline.reconcile_run(load_config(config_path), run_id, as_of)


@task(name="report", cache_policy=NO_CACHE, persist_result=False)
def report_task(config_path: str, out_dir: str | None, as_of: dt.date) -> tuple[str, str]:
    """Write the HTML report and exports."""
    return pipeline.build_report(load_config(config_path), out_dir, as_of)


def _outcome_of(future: Any, source: str, kind: str) -> SourceOutcome:
    """The SourceOutcome of a finished source task (failed tasks included)."""
    state = future.state
    if state.is_completed():
        return SourceOutcome(**future.result())
    try:
        future.result(raise_on_failure=True)
        reason = state.message or "failed"
    except Exception as exc:  # noqa: BLE001 - the task's own failure is the reason
        reason = str(exc)
    reason = reason.split(": ", 1)[1] if reason.startswith(f"{source}: ") else reason
    return SourceOutcome(source, kind, "failed", reason)


def _artifacts(result: AuditResult, top: list[dict[str, Any]]) -> None:
    """Publish the run summary, top findings and the report link as Prefect artifacts."""
    lines = [
        f"# ghostcheck audit {result.run_id}",
        "",
        f"* as of **{result.as_of.isoformat()}**; listings audited: **{result.listings_checked:,}**",
        f"* open findings: **{sum(result.findings_by_type.values()):,}** "
        f"(new {result.new_findings:,}, resolved {result.resolved_findings:,})",
    ]
    for insurer, (value, lo, hi) in sorted(result.ghost_rate.items()):
        lines.append(f"* ghost rate, {insurer}: **{value:.1%}** (95% CI {lo:.1%}–{hi:.1%})")
    lines += ["", "| finding type | open |", "|---|---:|"]
    lines += [f"| {t} | {n:,} |" for t, n in result.findings_by_type.items()]
    lines += ["", "| insurer | open findings |", "|---|---:|"]
    lines += [f"| {i} | {n:,} |" for i, n in result.findings_by_insurer.items()]
    if result.failed_sources:
        lines += ["", "**Sources missing from this run:**", ""]
        lines += [f"* {s.source} ({s.kind}): {s.reason}" for s in result.failed_sources]
    create_markdown_artifact("\n".join(lines), key="ghostcheck-summary", description="ghostcheck audit summary")
    if top:
        create_table_artifact(top, key="ghostcheck-top-findings", description="Top open findings")
    if result.report_index:
        create_link_artifact(f"file://{result.report_index}", link_text="ghostcheck report",
                             key="ghostcheck-report", description="HTML audit report")


def top_findings(config_path: str, limit: int = 25) -> list[dict[str, Any]]:
    """The most serious open findings, for the table artifact."""
    from warehouse.db import connect

    con = connect(load_config(config_path).warehouse.path)
    try:
        rel = con.execute(
            """SELECT finding_type, insurer, provider_name, field, directory_value, observed_value,
                      severity, round(confidence, 2) AS confidence, evidence_url
               FROM findings WHERE status = 'open'
               ORDER BY CASE severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 ELSE 3 END,
                        confidence DESC, finding_id
               LIMIT ?""",
            [limit],
        )
        names = [d[0] for d in rel.description]
        return [{k: ("" if v is None else str(v)) for k, v in zip(names, row)} for row in rel.fetchall()]
    finally:
        con.close()


@flow(name="ghostcheck-audit", log_prints=True)
def audit_flow(config_path: str, as_of: str | None = None, report_dir: str | None = None,
               run_id: str | None = None) -> dict[str, Any]:
    """Crawl every source, ingest reports, load, reconcile and report; one source failing doesn't stop the rest."""
    cfg = load_config(config_path)
    day = dt.date.fromisoformat(as_of) if as_of else dt.date.today()
    run = run_id or new_run_id()
    pipeline.start_run(cfg, day, run, flow_run_id=str(flow_run.id) if flow_run.id else None)
    result = AuditResult(run_id=run, as_of=day, flow_run_id=str(flow_run.id) if flow_run.id else None)

    directories = [(d, crawl_directory_task.submit(config_path, d.insurer, run)) for d in pipeline.audited_directories(cfg)]
    reports = ingest_reports_task.submit(config_path, run) if cfg.reports.files else None
    wait([f for _, f in directories])
    result.sources += [_outcome_of(f, d.insurer, d.kind) for d, f in directories]
    if pipeline.wants_site_crawl(cfg):
        shards = cfg.crawl.shards
        site_futures = [crawl_sites_task.submit(config_path, run, i, shards) for i in range(shards)]
        wait(site_futures)
        result.sources += [
            _outcome_of(f, "sites" if shards == 1 else f"sites shard {i + 1}/{shards}", "sites")
            for i, f in enumerate(site_futures)
        ]
    if reports is not None:
        wait([reports])
        result.sources.append(_outcome_of(reports, "reports", "reports"))

    result.loaded_rows, result.quarantined, result.load_errors = load_task(config_path)
    counts = reconcile_task(config_path, run, day)
    result.new_findings, result.resolved_findings = counts.get("new", 0), counts.get("resolved", 0)
    # The run's status is final before the report, which shows it.
    pipeline.finish_run(cfg, run, pipeline.run_status(result.sources))
    result.report_dir, result.report_index = report_task(config_path, report_dir, day)
    pipeline.summarize(cfg, result)
    _artifacts(result, top_findings(config_path))
    for source in result.failed_sources:
        get_run_logger().warning("source missing from this run: %s (%s)", source.source, source.reason)
    # --- alerts (flows/alerts.py): new serious findings to [alerts] destinations; never fails the audit ---
    if cfg.alerts.webhook_url or cfg.alerts.email_to:
        from flows.alerts import alerts_task

        alerts_task(config_path, run, day, result.report_index)
    return result.to_dict()


def flow_for(cfg: Config) -> Any:
    """The audit flow with the task runner the config asks for (threads, or Dask)."""
    if cfg.crawl.task_runner == "dask":
        from prefect_dask import DaskTaskRunner

        if cfg.crawl.dask_address:
            runner = DaskTaskRunner(address=cfg.crawl.dask_address)
        else:
            runner = DaskTaskRunner(cluster_kwargs={"n_workers": 2, "threads_per_worker": 2, "processes": True,
                                                    "dashboard_address": None})
        return audit_flow.with_options(task_runner=runner)
    return audit_flow


def result_from_dict(data: dict[str, Any]) -> AuditResult:
    """Rebuild an AuditResult from the flow's return value."""
    data = dict(data)
    data["as_of"] = dt.date.fromisoformat(data["as_of"])
    data["sources"] = [SourceOutcome(**s) for s in data.get("sources", [])]
    data["ghost_rate"] = {k: tuple(v) for k, v in (data.get("ghost_rate") or {}).items()}
    return AuditResult(**data)


def run_audit(config_path: str, *, as_of: dt.date | None = None, prefect: bool = True,
              report_dir: str | None = None, progress: pipeline.Progress | None = None) -> AuditResult:
    """Run the audit: as a Prefect flow (default) or directly in this process."""
    cfg = load_config(config_path)
    day = as_of or dt.date.today()
    if not prefect:
        return pipeline.run_direct(cfg, day, new_run_id(), report_dir, progress)
    data = flow_for(cfg)(config_path=str(config_path), as_of=day.isoformat(), report_dir=report_dir)
    return result_from_dict(data)


@flow(name="ghostcheck-crawl-directories")
def crawl_directories_flow(config_path: str) -> list[dict[str, Any]]:
    """Crawl every directory and load the landing files (a per-source schedule)."""
    cfg = load_config(config_path)
    run = new_run_id()
    futures = [(d, crawl_directory_task.submit(config_path, d.insurer, run)) for d in pipeline.audited_directories(cfg)]
    wait([f for _, f in futures])
    outcomes = [_outcome_of(f, d.insurer, d.kind).__dict__ for d, f in futures]
    load_task(config_path)
    return outcomes


@flow(name="ghostcheck-crawl-sites")
def crawl_sites_flow(config_path: str) -> list[dict[str, Any]]:
    """Crawl the practice websites and load the landing files (a per-source schedule)."""
    cfg = load_config(config_path)
    run = new_run_id()
    futures = [crawl_sites_task.submit(config_path, run, i, cfg.crawl.shards) for i in range(cfg.crawl.shards)]
    wait(futures)
    outcomes = [_outcome_of(f, f"sites {i + 1}/{cfg.crawl.shards}", "sites").__dict__ for i, f in enumerate(futures)]
    load_task(config_path)
    return outcomes


def build_deployments(cfg: Config) -> list[Any]:
    """Deployments of the audit (and per-source crawls) on the crons of `[schedule]`."""
    from prefect.schedules import Cron

    path = str(cfg.source_path and __import__("pathlib").Path(cfg.source_path).resolve())
    tz = cfg.schedule.timezone
    found = [
        flow_for(cfg).to_deployment(name="audit", schedule=Cron(cfg.schedule.audit, timezone=tz),
                                    parameters={"config_path": path}, tags=["ghostcheck"])
    ]
    if cfg.schedule.crawl_directories:
        found.append(crawl_directories_flow.to_deployment(
            name="crawl-directories", schedule=Cron(cfg.schedule.crawl_directories, timezone=tz),
            parameters={"config_path": path}, tags=["ghostcheck"]))
    if cfg.schedule.crawl_sites:
        found.append(crawl_sites_flow.to_deployment(
            name="crawl-sites", schedule=Cron(cfg.schedule.crawl_sites, timezone=tz),
            parameters={"config_path": path}, tags=["ghostcheck"]))
    return found


def register_deployments(cfg: Config) -> list[str]:
    """Register the deployments with the Prefect API (without serving them); return their ids."""
    return [str(d.apply()) for d in build_deployments(cfg)]
