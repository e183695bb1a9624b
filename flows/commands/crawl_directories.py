"""`ghostcheck crawl directories`: run every enabled audited directory through its spider (one child process each)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from crawlers.config import Config, DirectoryConfig
from crawlers.landing import new_run_id
from crawlers.runner import SpiderResult, run_spider
from flows.commands.common import ConfigOption, UserError, console, friendly, out, read_config

SPIDERS = {"fhir": "fhir_directory", "qhp": "qhp_directory", "html": "html_directory"}
PARALLEL = 3  # child processes at once (each is one directory; Chromium ones are heavy)


def select_directories(config: Config, insurer: str | None) -> list[DirectoryConfig]:
    """Enabled audited directories with a spider, optionally only the one named `insurer`."""
    if insurer:
        chosen = [config.directory_named(insurer)]
    else:
        chosen = [d for d in config.directory if d.enabled and d.role == "audited"]
    crawlable = [d for d in chosen if d.kind in SPIDERS]
    if not crawlable:
        kinds = ", ".join(sorted({d.kind for d in chosen})) or "none"
        raise UserError(f"{config.source_path}: no enabled audited [[directory]] of kind fhir, qhp or html "
                        f"(found: {kinds})")
    return crawlable


def result_line(directory: DirectoryConfig, result: SpiderResult) -> str:
    """One rich-markup line per directory: status, counts and the reason of a failure."""
    name = escape(directory.insurer)
    if result.status == "ok":
        return f"[green]ok[/]     {name} ({directory.kind}): {result.items} listings from {result.pages} pages"
    return f"[red]failed[/] {name} ({directory.kind}): {escape(result.reason or 'unknown error')}"


def crawl_all(config: Config, directories: list[DirectoryConfig], run_id: str, quiet: bool = False,
              timeout: float | None = None) -> list[tuple[DirectoryConfig, SpiderResult]]:
    """Run the directories (a few at once) with a progress bar; a failing directory does not stop the others."""
    results: list[tuple[DirectoryConfig, SpiderResult]] = []
    columns = [SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
               TextColumn("{task.fields[pages]} pages, {task.fields[items]} listings"), TimeElapsedColumn()]
    with Progress(*columns, console=console, transient=True, disable=quiet) as progress:
        tasks = {d.insurer: progress.add_task(escape(d.insurer), total=None, pages=0, items=0) for d in directories}

        def run(directory: DirectoryConfig) -> SpiderResult:
            """Run one directory's spider, feeding the progress bar."""
            task = tasks[directory.insurer]

            def on_progress(update: dict[str, Any]) -> None:
                """Show pages and listings so far."""
                progress.update(task, pages=update.get("pages", 0), items=update.get("items", 0))

            return run_spider(SPIDERS[directory.kind], config.source_path, run_id, {"insurer": directory.insurer},
                              on_progress=on_progress, timeout=timeout)

        with ThreadPoolExecutor(max_workers=min(PARALLEL, len(directories))) as pool:
            futures = {pool.submit(run, d): d for d in directories}
            for future in as_completed(futures):
                directory = futures[future]
                result = future.result()
                progress.remove_task(tasks[directory.insurer])
                out.print(result_line(directory, result))
                results.append((directory, result))
    return results


def register(app: typer.Typer, groups: dict[str, typer.Typer]) -> None:
    """Add `crawl directories` to the `crawl` group."""

    @groups["crawl"].command("directories")
    @friendly
    def directories(
        ctx: typer.Context,
        config: Path = ConfigOption,
        insurer: str | None = typer.Option(None, "--insurer", help="Only this insurer's directory."),
        run_id: str | None = typer.Option(None, "--run-id", help="Run id for the landing files (default: new)."),
    ) -> None:
        """Crawl the insurer directories of ghostcheck.toml into landing files (FHIR, QHP JSON, HTML)."""
        cfg = read_config(config)
        chosen = select_directories(cfg, insurer)
        quiet = bool((ctx.obj or {}).get("quiet"))
        results = crawl_all(cfg, chosen, run_id or new_run_id(), quiet=quiet)
        if not any(r.status == "ok" for _, r in results):
            raise typer.Exit(code=1)
