"""The demo's end-of-run summary: what was served and crawled, findings by type, ghost rate, where the report is."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from flows.demo.servers import RunningWorld
from flows.demo.world import World
from reconcile.findings import DESIGN_FINDING_TYPES as FINDING_TYPES

GHOST_TYPES = ("accepting_status", "unreachable", "provider_not_at_location")


@dataclass
class DemoSummary:
    """Figures shown at the end of `ghostcheck demo`."""

    requests: dict[str, int] = field(default_factory=dict)
    listings_checked: int | None = None
    findings_by_type: dict[str, int] = field(default_factory=dict)
    planted_by_type: dict[str, int] = field(default_factory=dict)
    failed_sources: list[str] = field(default_factory=list)
    ghost_rate: float | None = None
    ghost_by_insurer: dict[str, tuple[float, float, float]] = field(default_factory=dict)
    report_index: str | None = None
    seconds: float | None = None


def ghost_rate(db_path: str) -> float | None:
    """Share of listings shown as accepting that the evidence says are ghosts (not accepting, unreachable, gone)."""
    try:
        import duckdb

        with duckdb.connect(db_path, read_only=True) as con:
            row = con.execute(
                "SELECT count(*) FILTER (WHERE g.listing_id IS NOT NULL), count(*) FROM listings l "
                "LEFT JOIN (SELECT DISTINCT listing_id FROM findings WHERE finding_type IN (?, ?, ?) "
                "AND coalesce(status, 'open') <> 'resolved') g USING (listing_id) "
                "WHERE l.accepting_status IN ('accepting', 'limited')", list(GHOST_TYPES)).fetchone()
    except Exception:  # noqa: BLE001 - the summary must never fail the demo
        return None
    return row[0] / row[1] if row and row[1] else None


def summarize(result: Any, world: World, running: RunningWorld, db_path: str, seconds: float) -> DemoSummary:
    """Collect the summary from the audit result, the servers' request logs and the warehouse."""
    summary = DemoSummary(seconds=seconds)
    for server in ("fhir", "qhp", "html", "sites"):
        summary.requests[server] = len(running.hits_of(server))
    summary.listings_checked = getattr(result, "listings_checked", None)
    summary.findings_by_type = dict(getattr(result, "findings_by_type", None) or {})
    for item in world.truth:
        summary.planted_by_type[item.finding_type] = summary.planted_by_type.get(item.finding_type, 0) + 1
    summary.failed_sources = [
        f"{getattr(s, 'source', s)} ({getattr(s, 'reason', None) or getattr(s, 'status', 'failed')})"
        for s in getattr(result, "failed_sources", None) or []]
    rate = getattr(result, "ghost_rate", None)
    if isinstance(rate, dict):
        summary.ghost_by_insurer = {str(k): tuple(v) for k, v in rate.items()}
    if isinstance(rate, (int, float)):
        summary.ghost_rate = float(rate)
    elif not summary.ghost_by_insurer:
        summary.ghost_rate = ghost_rate(db_path)
    index = getattr(result, "report_index", None)
    report_dir = getattr(result, "report_dir", None)
    if index and Path(index).exists():
        summary.report_index = str(index)
    elif report_dir:
        candidate = Path(report_dir) / "index.html"
        summary.report_index = str(candidate if candidate.exists() else Path(report_dir))
    return summary


def print_summary(console: Console, summary: DemoSummary, world: World) -> None:
    """Print the summary as rich tables."""
    served = Table(title="Demo world (all on 127.0.0.1)", show_header=True, header_style="bold")
    served.add_column("source")
    served.add_column("what", overflow="fold")
    served.add_column("requests", justify="right")
    served.add_row("Acme Health", "FHIR Plan-Net API (token, paging, one 429)", str(summary.requests.get("fhir", 0)))
    served.add_row("Harbor Mutual", "CMS QHP index.json + providers.json", str(summary.requests.get("qhp", 0)))
    served.add_row("Cobalt Care", "JavaScript-rendered HTML directory", str(summary.requests.get("html", 0)))
    served.add_row("practice websites", f"{len(world.practices)} sites, {len(world.pages)} pages", str(summary.requests.get("sites", 0)))
    served.add_row("practice reports", f"{len(world.reports)} rows (CSV)", "-")
    console.print(served)
    found = Table(title="Findings by type", show_header=True, header_style="bold")
    found.add_column("finding type")
    found.add_column("found", justify="right")
    found.add_column("planted", justify="right")
    for kind in FINDING_TYPES:
        found.add_row(kind, str(summary.findings_by_type.get(kind, 0)), str(summary.planted_by_type.get(kind, 0)))
    found.add_row("[bold]total[/]", str(sum(summary.findings_by_type.values())), str(len(world.truth)))
    console.print(found)
    checked = summary.listings_checked if summary.listings_checked is not None else "?"
    took = f"   run time: {summary.seconds:.1f} s" if summary.seconds is not None else ""
    console.print(f"Listings audited: [bold]{checked}[/]{took}")
    if summary.ghost_rate is not None:
        console.print(f"Ghost rate (listed as taking new patients; evidence says no, unreachable or gone): "
                      f"[bold]{summary.ghost_rate:.1%}[/]")
    if summary.ghost_by_insurer:
        console.print("Ghost rate (listed as taking new patients; evidence says no, unreachable or gone):")
    for insurer, values in sorted(summary.ghost_by_insurer.items()):
        if len(values) == 3:
            console.print(f"  {insurer}: [bold]{values[0]:.1%}[/] (95% CI {values[1]:.1%}-{values[2]:.1%})")
    if summary.failed_sources:
        console.print(f"[yellow]Sources that failed:[/] {', '.join(summary.failed_sources)}")
    if summary.report_index:
        console.print(f"Open the report: [bold]{summary.report_index}[/]")
