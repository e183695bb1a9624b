"""`ghostcheck reconcile` (run the reconciliation and store its findings) and `ghostcheck findings` (list them)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any, Optional

import typer
from rich.markup import escape
from rich.table import Table

from flows.commands.common import (
    ConfigOption,
    UserError,
    console,
    emit_rows,
    friendly,
    is_quiet,
    load_pending,
    out,
    plain,
    read_config,
)
from reconcile.findings import FINDING_TYPES

FORMATS = ("table", "csv", "json")
STATUS_FILTERS = ("open", "resolved", "dismissed", "all")
_AGE = re.compile(r"^\s*(\d+)\s*([dw]?)\s*$", re.IGNORECASE)


def parse_date(text: str, option: str) -> dt.date:
    """Parse an ISO date given on the command line, or raise a one-line UserError naming the option."""
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise UserError(f"{option} {text!r}: expected a date as YYYY-MM-DD") from None


def parse_age(text: str) -> int:
    """Parse an age such as '90d', '12w' or '30' into days."""
    match = _AGE.match(text)
    if not match:
        raise UserError(f"--older-than {text!r}: expected days such as 90d (or weeks such as 12w)")
    return int(match.group(1)) * (7 if match.group(2).lower() == "w" else 1)


def reconcile_settings(cfg: Any) -> Any:
    """Build ReconcileSettings from the loaded config (flows owns this wiring; reconcile never reads config)."""
    from reconcile.settings import ReconcileSettings

    return ReconcileSettings.from_config(cfg.reconcile, [d.insurer for d in cfg.directory])


def run_reconcile(cfg: Any, as_of: dt.date, flow_run_id: str | None = None) -> tuple[str, Any, Any]:
    """Open the warehouse, reconcile as of a date, store the result; returns (run_id, result, save summary)."""
    from reconcile.engine import reconcile
    from warehouse.db import connect
    from warehouse.runs import finish_run, start_run
    from warehouse.store import save_reconcile

    con = connect(cfg.warehouse.path)
    try:
        run_id = start_run(con, as_of, flow_run_id=flow_run_id, config_path=cfg.source_path or None)
        try:
            result = reconcile(con, as_of, reconcile_settings(cfg))
            summary = save_reconcile(con, run_id, as_of, result)
        except Exception:
            finish_run(con, run_id, "failed")
            raise
        finish_run(con, run_id, "ok")
    finally:
        con.close()
    return run_id, result, summary


def _print_summary(run_id: str, result: Any, summary: Any) -> None:
    """Rich summary of a run: listings checked, findings by type, lifecycle changes."""
    types: dict[str, int] = {}
    for finding_type in result.findings.column("finding_type").to_pylist():
        types[finding_type] = types.get(finding_type, 0) + 1
    out.print(f"[bold]reconcile[/] run {escape(run_id)} as of {result.as_of.isoformat()}")
    out.print(
        f"listings: {result.counts.get('listings', 0):,}  observations: {result.counts.get('observations', 0):,}  "
        f"links: {result.links.num_rows:,}  listings checked against evidence: {result.listings_checked:,}"
    )
    table = Table(title="findings by type")
    table.add_column("finding type")
    table.add_column("count", justify="right")
    for finding_type in FINDING_TYPES:
        table.add_row(finding_type, f"{types.get(finding_type, 0):,}")
    table.add_row("[bold]total[/]", f"[bold]{result.findings.num_rows:,}[/]")
    out.print(table)
    out.print(f"new: {summary.new:,}  still open: {summary.still_open:,}  resolved: {summary.resolved:,}  "
              f"reopened: {summary.reopened:,}")


def query_findings(con: Any, insurer: str | None = None, finding_type: str | None = None, status: str = "open",
                   older_than_days: int | None = None, since: dt.date | None = None,
                   today: dt.date | None = None) -> tuple[list[str], list[tuple]]:
    """Select findings with the CLI's filters; returns (column names, rows)."""
    where, params = [], []
    if insurer:
        where.append("lower(insurer) = lower(?)")
        params.append(insurer.strip())
    if finding_type:
        where.append("finding_type = ?")
        params.append(finding_type)
    if status != "all":
        where.append("status = ?")
        params.append(status)
    if older_than_days is not None:
        where.append("first_seen <= ?")
        params.append((today or dt.date.today()) - dt.timedelta(days=older_than_days))
    if since is not None:
        where.append("first_seen >= ?")
        params.append(since)
    sql = "SELECT * FROM findings" + (" WHERE " + " AND ".join(where) if where else "")
    sql += " ORDER BY CASE severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 ELSE 3 END, " \
           "insurer, finding_type, finding_id"
    cursor = con.execute(sql, params)
    columns = [d[0] for d in cursor.description]
    return columns, cursor.fetchall()




def _emit(columns: list[str], rows: list[tuple], fmt: str) -> None:
    """Print findings to stdout as a rich table, CSV or JSON."""
    if emit_rows(columns, rows, fmt):
        return
    shown = ("severity", "finding_type", "insurer", "provider_name", "field", "directory_value", "observed_value",
             "evidence_source", "status", "first_seen", "finding_id")
    table = Table(title=f"{len(rows):,} finding(s)")
    for name in shown:
        table.add_column(name.replace("_", " "), overflow="fold")
    index = {c: i for i, c in enumerate(columns)}
    for row in rows:
        table.add_row(*[escape("" if row[index[c]] is None else str(plain(row[index[c]]))) for c in shown])
    out.print(table)


def register(app: typer.Typer, groups: dict[str, typer.Typer]) -> None:
    """Add `reconcile` and `findings` to the CLI."""

    @app.command("reconcile")
    @friendly
    def reconcile_command(
        ctx: typer.Context,
        config: Path = ConfigOption,
        as_of: Optional[str] = typer.Option(None, "--as-of", help="Judge as of this date (YYYY-MM-DD); default today."),
    ) -> None:
        """Link listings to website claims, practice reports and other directories; store findings and metrics."""
        cfg = read_config(config)
        when = parse_date(as_of, "--as-of") if as_of else dt.date.today()
        quiet = is_quiet(ctx)
        loaded = load_pending(cfg, quiet)
        for error in loaded.errors:
            console.print(f"[red]error:[/] {escape(error)}")
        if not quiet and loaded.files_loaded:
            out.print(f"loaded {loaded.files_loaded} landing file(s): {loaded.rows:,} row(s), "
                      f"{loaded.quarantined:,} quarantined")
        if quiet:
            run_id, result, summary = run_reconcile(cfg, when)
        else:
            with console.status("reconciling: normalize, link, compare, findings, metrics…", spinner="dots"):
                run_id, result, summary = run_reconcile(cfg, when)
        if result.listings_checked == 0 and not result.findings.num_rows:
            console.print("note: no listings in the warehouse yet — run `ghostcheck crawl directories` first")
        _print_summary(run_id, result, summary)

    @app.command("findings")
    @friendly
    def findings_command(
        config: Path = ConfigOption,
        fmt: str = typer.Option("table", "--format", "-f", help="table | csv | json"),
        insurer: Optional[str] = typer.Option(None, "--insurer", help="Only this insurer (as named in the config)."),
        finding_type: Optional[str] = typer.Option(None, "--type", help="Only this finding type."),
        status: str = typer.Option("open", "--status", help="open | resolved | dismissed | all"),
        older_than: Optional[str] = typer.Option(None, "--older-than", help="First seen at least this long ago, e.g. 90d."),
        since: Optional[str] = typer.Option(None, "--since", help="First seen on or after this date (YYYY-MM-DD)."),
    ) -> None:
        """List findings (open by default) as a table, CSV or JSON on stdout."""
        if fmt not in FORMATS:
            raise UserError(f"--format {fmt!r}: expected one of {', '.join(FORMATS)}")
        if status not in STATUS_FILTERS:
            raise UserError(f"--status {status!r}: expected one of {', '.join(STATUS_FILTERS)}")
        if finding_type and finding_type not in FINDING_TYPES:
            raise UserError(f"--type {finding_type!r}: expected one of {', '.join(FINDING_TYPES)}")
        days = parse_age(older_than) if older_than else None
        since_date = parse_date(since, "--since") if since else None
        cfg = read_config(config)
        if not Path(cfg.warehouse.path).exists():
            raise UserError(f"{cfg.warehouse.path}: no warehouse yet; run `ghostcheck reconcile` first")
        from warehouse.db import connect

        con = connect(cfg.warehouse.path)
        try:
            columns, rows = query_findings(con, insurer, finding_type, status, days, since_date)
        finally:
            con.close()
        _emit(columns, rows, fmt)
