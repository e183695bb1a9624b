"""`ghostcheck compliance`: per insurer (and finding type), freshness, open-finding age bands and time to fix."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Optional

import typer
from rich.markup import escape
from rich.table import Table

from flows.commands.common import ConfigOption, UserError, emit_rows, friendly, out, read_config

FORMATS = ("table", "csv", "json")


def parse_day(text: str) -> dt.date:
    """Parse --as-of (YYYY-MM-DD), or raise a one-line UserError."""
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise UserError(f"--as-of {text!r}: expected a date as YYYY-MM-DD") from None


def query_compliance(con: Any, as_of: dt.date | None = None, insurer: str | None = None,
                     by_type: bool = True) -> tuple[list[str], list[tuple]]:
    """Rows of the compliance figures (the view, or compliance_at(as_of)); returns (columns, rows)."""
    source, params = ("compliance_at(CAST(? AS DATE))", [as_of]) if as_of else ("compliance", [])
    where = []
    if insurer:
        where.append("lower(insurer) = lower(?)")
        params.append(insurer.strip())
    if not by_type:
        where.append("finding_type = 'all'")
    sql = f"SELECT * FROM {source}" + (" WHERE " + " AND ".join(where) if where else "")
    cursor = con.execute(sql + " ORDER BY insurer, finding_type <> 'all', finding_type", params)
    return [d[0] for d in cursor.description], cursor.fetchall()




def _cell(value: Any, kind: str = "") -> str:
    """A table cell: blanks for NULL, percentages for shares, one decimal for day figures."""
    if value is None:
        return "–"
    if kind == "share":
        return f"{value:.1%}"
    if isinstance(value, float):
        return f"{value:.1f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def _table(columns: list[str], rows: list[tuple]) -> Table:
    """The rich table shown by default: one line per insurer, then its finding types."""
    shown = [("insurer", "insurer", ""), ("finding_type", "finding type", ""),
             ("share_updated_90d", "updated ≤90d", "share"), ("open_findings", "open", ""),
             ("open_0_2_business_days", "0–2 bd", ""), ("open_le_90_days", "≤90 d", ""),
             ("open_gt_90_days", ">90 d", ""), ("open_age_median_days", "age med d", ""),
             ("open_age_max_days", "oldest d", ""), ("resolved_findings", "resolved", ""),
             ("resolved_within_2_business_days", "fixed ≤2 bd", ""), ("ttf_median_days", "fix med d", ""),
             ("ttf_p90_days", "fix p90 d", "")]
    as_of = rows[0][columns.index("as_of")] if rows else None
    table = Table(title=f"compliance as of {as_of.isoformat() if as_of else '–'}")
    for _, label, _ in shown:
        table.add_column(label, justify="left" if label in ("insurer", "finding type") else "right",
                         overflow="fold")
    index = {c: i for i, c in enumerate(columns)}
    for row in rows:
        style = "bold" if row[index["finding_type"]] == "all" else None
        table.add_row(*[escape(_cell(row[index[c]], kind)) for c, _, kind in shown], style=style)
    return table


def emit(columns: list[str], rows: list[tuple], fmt: str) -> None:
    """Print the compliance rows as a rich table, CSV or JSON on stdout."""
    if emit_rows(columns, rows, fmt):
        return
    out.print(_table(columns, rows))
    out.print("bands are exclusive: 0–2 business days (US federal holidays excluded) after first seen, then up to "
              "90 days, then over 90 days; fix times are calendar days from first seen to resolved.")


def register(app: typer.Typer, groups: dict[str, typer.Typer]) -> None:
    """Add `compliance` to the CLI."""

    @app.command("compliance")
    @friendly
    def compliance_command(
        config: Path = ConfigOption,
        as_of: Optional[str] = typer.Option(None, "--as-of", help="Judge as of this date (YYYY-MM-DD); "
                                            "default: the latest run's as-of date."),
        fmt: str = typer.Option("table", "--format", "-f", help="table | csv | json"),
        insurer: Optional[str] = typer.Option(None, "--insurer", help="Only this insurer."),
        by_type: bool = typer.Option(True, "--by-type/--no-by-type", help="Also one row per finding type."),
    ) -> None:
        """Per insurer: listings updated within 90 days, open findings by age band, time to fix."""
        if fmt not in FORMATS:
            raise UserError(f"--format {fmt!r}: expected one of {', '.join(FORMATS)}")
        day = parse_day(as_of) if as_of else None
        cfg = read_config(config)
        if not Path(cfg.warehouse.path).exists():
            raise UserError(f"{cfg.warehouse.path}: no warehouse yet; run `ghostcheck reconcile` first")
        from warehouse.db import connect

        con = connect(cfg.warehouse.path)
        try:
            columns, rows = query_compliance(con, day, insurer, by_type)
        finally:
            con.close()
        emit(columns, rows, fmt)
