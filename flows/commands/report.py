"""`ghostcheck report`: write the self-contained HTML audit report and the findings exports."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from flows.commands.common import ConfigOption, UserError, console, friendly, out, read_config


def register(app: typer.Typer, groups: dict[str, typer.Typer]) -> None:
    """Add the `report` command to the CLI."""

    @app.command("report")
    @friendly
    def report(
        ctx: typer.Context,
        config: Path = ConfigOption,
        out_dir: Optional[Path] = typer.Option(
            None, "--out", "-o", help="Folder to write index.html and the exports into (default: the config's \\[report] out)."
        ),
        as_of: Optional[str] = typer.Option(
            None, "--as-of", help="Report the last run on or before this date (YYYY-MM-DD) instead of the latest."
        ),
        title: Optional[str] = typer.Option(None, "--title", help="Title shown at the top of the report."),
        screenshots: bool = typer.Option(
            False, "--screenshots", help="Also screenshot evidence pages (Chromium) that have no screenshot yet."
        ),
        max_screenshots: int = typer.Option(200, "--max-screenshots", min=0, help="At most this many new screenshots."),
    ) -> None:
        """Write the audit report (index.html) and findings.csv/.parquet/.json, metrics.csv into --out."""
        quiet = bool((ctx.obj or {}).get("quiet"))
        cfg = read_config(config)
        target = Path(out_dir) if out_dir else Path(cfg.report.out)
        paths = _build(cfg, target, as_of, title, screenshots, max_screenshots, quiet)
        index = paths.index.resolve()
        if quiet:
            out.print(str(index))
            return
        run = f" for run {paths.run_id}" if paths.run_id else ""
        console.print(f"[green]✓[/] {paths.findings:,} findings{run}; exports: {', '.join(sorted(paths.exports))}")
        if paths.screenshots:
            console.print(f"  {len(paths.screenshots)} new screenshot(s) in {index.parent / 'screenshots'}")
        out.print(f"Open {index}")
        out.print(index.as_uri(), markup=False)


def _build(cfg, target: Path, as_of, title, screenshots: bool, max_screenshots: int, quiet: bool):  # type: ignore[no-untyped-def]
    """Open the warehouse read-only and build the report, showing a status line unless quiet."""
    from flows.report import build_report
    from flows.report.data import ReportDataError
    from warehouse.db import WarehouseError, connect

    db = Path(cfg.warehouse.path)
    if not db.exists():
        raise UserError(f"{db}: warehouse not found (run `ghostcheck audit` or `ghostcheck reconcile` first)")
    try:
        con = connect(db, read_only=True)
    except WarehouseError as exc:
        raise UserError(str(exc)) from None
    try:
        if quiet:
            return _run(build_report, con, target, as_of, title, screenshots, cfg, max_screenshots, None)
        with console.status("Building the report…") as status:

            def progress(message: str) -> None:
                """Show the current step on the status line."""
                status.update(f"Building the report: {message}…")

            return _run(build_report, con, target, as_of, title, screenshots, cfg, max_screenshots, progress)
    except ReportDataError as exc:
        raise UserError(f"{db}: {exc}") from None
    except ValueError as exc:
        raise UserError(str(exc)) from None
    except OSError as exc:
        raise UserError(f"{target}: cannot write the report: {exc.strerror or exc}") from None
    finally:
        con.close()


def _run(build_report, con, target, as_of, title, screenshots, cfg, max_screenshots, progress):  # type: ignore[no-untyped-def]
    """Call build_report with the config's browser for screenshots."""
    return build_report(
        con,
        str(target),
        as_of=as_of,
        title=title,
        screenshots=screenshots,
        browser_executable=cfg.crawl.browser_executable,
        max_screenshots=max_screenshots,
        allow_private_networks=cfg.crawl.allow_private_networks,
        progress=progress,
    )
