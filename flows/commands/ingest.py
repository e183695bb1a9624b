"""`ghostcheck ingest reports FILE...`: land practice report files and load them into the warehouse."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape

from crawlers.landing import new_run_id
from crawlers.reports.ingest import IngestResult, ingest_report_files
from crawlers.reports.values import SOURCES
from flows.commands.common import ConfigOption, UserError, console, friendly, out, read_config


def _print_result(result: IngestResult) -> None:
    """Print one line per file (ok / quarantined / not answered / duplicates) and its first quarantine reasons."""
    for item in result.files:
        name = escape(item.path)
        if item.status == "failed":
            console.print(f"[red]error:[/] {escape(item.error or name)}")
            continue
        if item.status == "unchanged":
            out.print(f"{name}: already ingested (unchanged), nothing to do")
            continue
        parts = [f"{item.rows_ok:,} ok", f"{item.rows_quarantined:,} quarantined"]
        if item.rows_skipped:
            parts.append(f"{item.rows_skipped:,} not answered (skipped)")
        if item.rows_duplicate:
            parts.append(f"{item.rows_duplicate:,} duplicate(s) in file")
        out.print(f"{name}: {', '.join(parts)}")
        for reason in item.reasons:
            out.print(f"  quarantined {escape(reason)}")
        if item.rows_quarantined > len(item.reasons):
            out.print(f"  ... and {item.rows_quarantined - len(item.reasons):,} more (see the quarantine table)")


def register(app: typer.Typer, groups: dict[str, typer.Typer]) -> None:
    """Add `ingest reports` to the CLI."""

    @groups["ingest"].command("reports")
    @friendly
    def reports(
        files: Optional[list[Path]] = typer.Argument(None, help="Report files (CSV, JSON, JSON Lines, Excel .xlsx); default: [reports] files."),
        config: Path = ConfigOption,
        source: Optional[str] = typer.Option(
            None, "--source", "-s", help="Source for rows without a source column: attestation | phone_survey | secret_shopper."
        ),
    ) -> None:
        """Ingest attestations, phone surveys and secret-shopper results (bad rows go to quarantine)."""
        if source is not None and source not in SOURCES:
            raise UserError(f"--source {source!r}: expected one of {', '.join(SOURCES)}")
        cfg = read_config(config)
        paths = [str(f) for f in files] if files else cfg.report_files()
        if not paths:
            raise UserError(f"{cfg.source_path}: no report files given and [reports] files matches none")
        run_id = new_run_id()
        result = ingest_report_files(paths, cfg.warehouse.landing, run_id, default_source=source)
        _print_result(result)
        if result.files_read == 0:
            raise typer.Exit(code=2)
        from warehouse.db import connect
        from warehouse.load import load_landing

        con = connect(cfg.warehouse.path)
        try:
            summary = load_landing(con, cfg.warehouse.landing)
        finally:
            con.close()
        for error in summary.errors:
            console.print(f"[red]error:[/] {escape(error)}")
        new_reports = sum(f.rows for f in summary.files if f.kind == "observations")
        out.print(
            f"read {result.files_read} of {len(result.files)} file(s): {result.rows_ok:,} report(s), "
            f"{result.rows_quarantined:,} row(s) quarantined; {new_reports:,} new report(s) in the warehouse "
            f"(reports seen before are not added again)"
        )
