"""`ghostcheck audit` (the whole Prefect flow) and `ghostcheck serve` (scheduled deployments)."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import typer
from rich.table import Table

from flows.commands.common import ConfigOption, UserError, console, friendly, out, read_config


def parse_day(value: str | None) -> dt.date | None:
    """Parse --as-of (YYYY-MM-DD) or raise a one-line UserError."""
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise UserError(f"--as-of {value!r}: expected a date like 2026-01-31") from None


def print_summary(result) -> None:  # type: ignore[no-untyped-def]
    """Print an audit result as rich tables."""
    sources = Table(title=f"sources (run {result.run_id})")
    for col in ("source", "kind", "status", "items", "reason"):
        sources.add_column(col)
    for s in result.sources:
        colour = "green" if s.ok else "red"
        sources.add_row(s.source, s.kind, f"[{colour}]{s.status}[/]", f"{s.items:,}", s.reason or "")
    out.print(sources)
    findings = Table(title=f"open findings — {result.listings_checked:,} listings audited, as of {result.as_of}")
    findings.add_column("finding type")
    findings.add_column("open", justify="right")
    for finding_type, n in result.findings_by_type.items():
        findings.add_row(finding_type, f"{n:,}")
    out.print(findings)
    for insurer, (value, lo, hi) in sorted(result.ghost_rate.items()):
        out.print(f"ghost rate, {insurer}: [bold]{value:.1%}[/] (95% CI {lo:.1%}–{hi:.1%})")
    if result.report_index:
        out.print(f"report: [bold]{result.report_index}[/]")


def register(app: typer.Typer, groups: dict[str, typer.Typer]) -> None:
    """Add audit and serve to the CLI."""

    @app.command("audit")
    @friendly
    def audit(
        ctx: typer.Context,
        config: Path = ConfigOption,
        as_of: str = typer.Option(None, "--as-of", help="Judge staleness as of this date (default today)."),
        out_dir: Path = typer.Option(None, "--out", help="Report folder (default [report] out)."),
        no_prefect: bool = typer.Option(False, "--no-prefect", help="Run the steps directly, without Prefect."),
    ) -> None:
        """Run the whole audit flow: crawl, ingest, load, reconcile, report."""
        from flows.audit import run_audit

        cfg = read_config(config)
        quiet = bool(ctx.obj and ctx.obj.get("quiet"))
        if quiet:
            os.environ["PREFECT_LOGGING_LEVEL"] = "WARNING"
        with console.status("auditing: crawling sources…", spinner="dots") if not quiet else _null():
            result = run_audit(cfg.source_path, as_of=parse_day(as_of), prefect=not no_prefect,
                               report_dir=str(out_dir) if out_dir else None)
        print_summary(result)

    @app.command("serve")
    @friendly
    def serve(config: Path = ConfigOption) -> None:
        """Serve the audit (and per-source crawls) as Prefect deployments on the configured crons."""
        from prefect import serve as prefect_serve

        from flows.audit import build_deployments

        cfg = read_config(config)
        if not os.environ.get("PREFECT_API_URL"):
            console.print("note: PREFECT_API_URL is not set — start `prefect server start` and export "
                          "PREFECT_API_URL=http://127.0.0.1:4200/api so the schedules outlive this process")
        deployments = build_deployments(cfg)
        for d in deployments:
            out.print(f"serving {d.flow_name}/{d.name} on {cfg.schedule.audit if d.name == 'audit' else 'its cron'}")
        prefect_serve(*deployments)


class _null:
    """A do-nothing context manager (for --quiet)."""

    def __enter__(self) -> None:
        """Enter nothing."""

    def __exit__(self, *exc: object) -> None:
        """Exit nothing."""
