"""`ghostcheck history LISTING_ID`: each run's directory value vs the practice's evidence, per field, in time order."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Optional

import typer
from rich.markup import escape
from rich.table import Table

from flows.commands.common import ConfigOption, UserError, friendly, out, plain, read_config

FORMATS = ("table", "json")
TIMELINE_COLUMNS = ("as_of", "run_id", "field", "directory_value", "observed_value", "agrees", "evidence_source",
                    "observed_at", "changed")


def listing_timeline(con: Any, listing_id: str, field: str | None = None) -> list[dict[str, Any]]:
    """The listing's stored rows (one per run in which a value or the verdict changed), oldest first."""
    sql = f"SELECT {', '.join(TIMELINE_COLUMNS)} FROM listing_timeline WHERE listing_id = ?"
    params: list[Any] = [listing_id]
    if field:
        sql += " AND field = ?"
        params.append(field)
    cursor = con.execute(sql + " ORDER BY as_of, run_id, field", params)
    return [dict(zip(TIMELINE_COLUMNS, row)) for row in cursor.fetchall()]


def listing_findings(con: Any, listing_id: str) -> list[dict[str, Any]]:
    """The listing's findings with their lifecycle dates (open, resolved, dismissed)."""
    cols = ("finding_type", "field", "status", "first_seen", "last_seen", "resolved_at", "severity", "finding_id")
    cursor = con.execute(f"SELECT {', '.join(cols)} FROM findings WHERE listing_id = ? "
                         "ORDER BY first_seen, finding_type, finding_id", [listing_id])
    return [dict(zip(cols, row)) for row in cursor.fetchall()]


def first_changes(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per field: the first date the directory value changed and the first date the evidence changed."""
    found: dict[str, dict[str, Any]] = {}
    for row in rows:
        entry = found.setdefault(row["field"], {"directory": None, "evidence": None})
        if row["changed"] in ("directory", "both") and entry["directory"] is None:
            entry["directory"] = row["as_of"]
        if row["changed"] in ("evidence", "both") and entry["evidence"] is None:
            entry["evidence"] = row["as_of"]
    return found


def verdict(change: dict[str, Any]) -> str:
    """One sentence saying which side moved first for a field (an auditor's question)."""
    d, e = change["directory"], change["evidence"]
    if d is None and e is None:
        return "neither the directory nor the evidence changed"
    if e is None:
        return f"the directory changed first ({d.isoformat()}); the evidence has not changed"
    if d is None:
        return f"the practice's evidence changed first ({e.isoformat()}); the directory has not changed"
    if d == e:
        return f"both changed in the same run ({d.isoformat()})"
    first, second = ("directory", "evidence") if d < e else ("evidence", "directory")
    return (f"the {first} changed first ({min(d, e).isoformat()}), the {second} followed "
            f"({max(d, e).isoformat()}, {abs((e - d).days)} days later)")


def emit(listing_id: str, rows: list[dict[str, Any]], findings: list[dict[str, Any]], fmt: str) -> None:
    """Print the timeline (table or JSON) with the per-field 'which changed first' verdicts."""
    changes = first_changes(rows)
    if fmt == "json":
        doc = {
            "listing_id": listing_id,
            "timeline": [{k: plain(v) for k, v in r.items()} for r in rows],
            "first_changes": {f: {"directory": plain(c["directory"]), "evidence": plain(c["evidence"]),
                                  "verdict": verdict(c)} for f, c in changes.items()},
            "findings": [{k: plain(v) for k, v in f.items()} for f in findings],
        }
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
        return
    table = Table(title=f"listing {escape(listing_id)}: directory vs evidence, run by run")
    for label in ("as of", "field", "directory says", "evidence says", "agree", "source", "changed", "run"):
        table.add_column(label, overflow="fold")
    for r in rows:
        agree = "–" if r["agrees"] is None else ("yes" if r["agrees"] else "[red]no[/]")
        table.add_row(r["as_of"].isoformat(), escape(str(r["field"])), escape(str(r["directory_value"] or "")),
                      escape(str(r["observed_value"] or "")), agree, escape(str(r["evidence_source"] or "")),
                      escape(str(r["changed"])), escape(str(r["run_id"])))
    out.print(table)
    for field_name, change in changes.items():
        out.print(f"{escape(str(field_name))}: {escape(verdict(change))}")
    for f in findings:
        out.print(f"finding {escape(str(f['finding_type']))} ({escape(str(f['field'] or ''))}): {f['status']}, "
                  f"first seen {plain(f['first_seen'])}"
                  + (f", resolved {plain(f['resolved_at'])}" if f["resolved_at"] else ""))


def register(app: typer.Typer, groups: dict[str, typer.Typer]) -> None:
    """Add `history` to the CLI."""

    @app.command("history")
    @friendly
    def history_command(
        listing_id: str = typer.Argument(..., help="The listing id (from `ghostcheck findings`)."),
        config: Path = ConfigOption,
        fmt: str = typer.Option("table", "--format", "-f", help="table | json"),
        field: Optional[str] = typer.Option(None, "--field", help="Only this field (phone, address, ...)."),
    ) -> None:
        """Every run's directory value vs observed value for one listing, so you can see which changed first."""
        if fmt not in FORMATS:
            raise UserError(f"--format {fmt!r}: expected one of {', '.join(FORMATS)}")
        cfg = read_config(config)
        if not Path(cfg.warehouse.path).exists():
            raise UserError(f"{cfg.warehouse.path}: no warehouse yet; run `ghostcheck reconcile` first")
        from warehouse.db import connect

        con = connect(cfg.warehouse.path)
        try:
            rows = listing_timeline(con, listing_id.strip(), field)
            findings = listing_findings(con, listing_id.strip())
            known = rows or findings or con.execute(
                "SELECT 1 FROM directory_listings WHERE listing_id = ? LIMIT 1", [listing_id.strip()]).fetchone()
        finally:
            con.close()
        if not known:
            raise UserError(f"listing {listing_id!r}: not in the warehouse (ids are shown by `ghostcheck findings`)")
        if not rows and fmt == "table":
            out.print(f"listing {escape(listing_id)}: no history yet (it has not been reconciled against evidence)")
            return
        emit(listing_id.strip(), rows, findings, fmt)
