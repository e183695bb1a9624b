"""`ghostcheck crawl sites`: crawl practice websites into landing files, with a progress bar."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any, Optional

import fsspec
import typer
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from crawlers.landing import new_run_id
from crawlers.runner import run_spider
from flows.commands.common import ConfigOption, UserError, console, friendly, out, read_config

SPIDER = "practice_sites"


def unreachable_sites(landing_files: list[str]) -> dict[str, str]:
    """Sites whose every evidence record carries an error, with the first error (from the evidence file)."""
    errors: dict[str, list[str | None]] = defaultdict(list)
    for path in landing_files:
        if "/evidence/" not in path.replace("\\", "/"):
            continue
        with fsspec.open(path, "r", encoding="utf-8") as fh:
            for line in fh:
                record = json.loads(line)
                errors[record.get("site_url") or record.get("url")].append(record.get("error"))
    return {site: next(e for e in errs if e) for site, errs in errors.items() if errs and all(errs)}


def crawl_sites_run(config_path: Path, run_id: str, quiet: bool = False, timeout: float | None = None) -> Any:
    """Run the practice_sites spider in a child process, showing pages/items as they come in."""
    read_config(config_path)  # one-line error for a bad config before a process is started
    if quiet:
        return run_spider(SPIDER, str(config_path), run_id, {}, timeout=timeout)
    columns = (SpinnerColumn(), TextColumn("[bold]crawl sites[/]"), BarColumn(bar_width=None),
               TextColumn("{task.fields[pages]} pages · {task.fields[items]} items"), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("sites", total=None, pages=0, items=0)

        def on_progress(update: dict[str, Any]) -> None:
            """Move the bar with the child's counts."""
            progress.update(task, pages=update.get("pages", 0), items=update.get("items", 0))

        return run_spider(SPIDER, str(config_path), run_id, {}, on_progress=on_progress, timeout=timeout)


def register(app: typer.Typer, groups: dict[str, typer.Typer]) -> None:
    """Add `ghostcheck crawl sites`."""

    @groups["crawl"].command("sites")
    @friendly
    def crawl_sites(
        ctx: typer.Context,
        config: Path = ConfigOption,
        run_id: Optional[str] = typer.Option(None, "--run-id", help="Run id for the landing files (default: new)."),
        timeout: Optional[float] = typer.Option(None, "--timeout", help="Stop the crawl after this many seconds."),
    ) -> None:
        """Crawl the practice websites of \\[sites] files (and directory listings) into landing files."""
        quiet = bool((ctx.obj or {}).get("quiet"))
        run = run_id or new_run_id()
        result = crawl_sites_run(config, run, quiet=quiet, timeout=timeout)
        if result.status != "ok":
            raise UserError(f"crawl sites failed: {result.reason}")
        down = unreachable_sites(result.landing_files)
        out.print(f"crawl sites: run {run}: {result.pages} pages, {result.items} observations, "
                  f"{len(down)} unreachable sites")
        if not quiet:
            for site, error in sorted(down.items())[:20]:
                console.print(f"  unreachable {site}: {error}", markup=False, highlight=False)
            if len(down) > 20:
                console.print(f"  … and {len(down) - 20} more (see the evidence landing file)")
