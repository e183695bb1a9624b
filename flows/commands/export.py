"""`ghostcheck export`: findings as FHIR VerificationResult NDJSON, CSV, Parquet or JSON."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from flows.commands.common import ConfigOption, UserError, friendly, out, read_config

FORMATS = ("fhir", "csv", "parquet", "json")


def findings_with_targets(con, insurer: str | None, status: str):  # type: ignore[no-untyped-def]
    """Findings joined to their listing's FHIR source key and practice name, as dicts."""
    where, params = [], []
    if insurer:
        where.append("lower(f.insurer) = lower(?)")
        params.append(insurer)
    if status != "all":
        where.append("f.status = ?")
        params.append(status)
    sql = (
        "SELECT f.*, l.source_key, l.practice_name FROM findings f LEFT JOIN listings l USING (listing_id)"
        + (" WHERE " + " AND ".join(where) if where else "")
        + " ORDER BY f.finding_id"
    )
    rel = con.execute(sql, params)
    names = [d[0] for d in rel.description]
    while rows := rel.fetchmany(10_000):
        for row in rows:
            yield dict(zip(names, row))


def write_verification_ndjson(con, out_dir: Path, insurer: str | None, status: str) -> tuple[Path, int]:  # type: ignore[no-untyped-def]
    """Write VerificationResult.ndjson (one resource per line); return (path, count)."""
    from flows.export.verification import verification_result

    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / "VerificationResult.ndjson"
    count = 0
    with open(target.with_suffix(".ndjson.tmp"), "w", encoding="utf-8") as fh:
        for finding in findings_with_targets(con, insurer, status):
            fh.write(json.dumps(verification_result(finding), ensure_ascii=False, default=str) + "\n")
            count += 1
    target.with_suffix(".ndjson.tmp").replace(target)
    return target, count


def register(app: typer.Typer, groups: dict[str, typer.Typer]) -> None:
    """Add `export` (with --format) to the CLI; `export corrections` lives in the same group."""
    group = groups["export"]
    group.info.invoke_without_command = True
    group.info.no_args_is_help = False
    register_corrections(group)

    @group.callback()
    @friendly
    def export(
        ctx: typer.Context,
        config: Path = ConfigOption,
        fmt: str = typer.Option("fhir", "--format", "-f", help="fhir (VerificationResult NDJSON) | csv | parquet | json"),
        out_dir: Path = typer.Option(Path("export"), "--out", help="Folder to write into."),
        insurer: str = typer.Option(None, "--insurer", help="Only this insurer's findings."),
        status: str = typer.Option("open", "--status", help="open | resolved | all"),
    ) -> None:
        """Export findings (default: FHIR VerificationResult NDJSON shaped after NDH ndh-Verification)."""
        if ctx.invoked_subcommand is not None:
            return
        if fmt not in FORMATS:
            raise UserError(f"--format {fmt!r}: choose one of {', '.join(FORMATS)}")
        if status not in {"open", "resolved", "all"}:
            raise UserError(f"--status {status!r}: choose open, resolved or all")
        from warehouse.db import connect

        cfg = read_config(config)
        con = connect(cfg.warehouse.path)
        try:
            if fmt == "fhir":
                path, count = write_verification_ndjson(con, out_dir, insurer, status)
                out.print(f"wrote {count:,} VerificationResult resource(s) to {path}")
                return
            from flows.report.export import export_findings

            filters = []
            if insurer:
                filters.append(f"lower(insurer) = lower('{insurer.replace(chr(39), chr(39) * 2)}')")
            if status != "all":
                filters.append(f"status = '{status}'")
            sql = "SELECT * FROM findings" + (" WHERE " + " AND ".join(filters) if filters else "")
            written = export_findings(con, out_dir, (fmt,), sql=sql)
            for name, path in sorted(written.items()):
                out.print(f"wrote {path}")
        finally:
            con.close()


def register_corrections(group: typer.Typer) -> None:
    """Add `export corrections` (issue 13: the insurer's corrections file) to the export group."""

    @group.command("corrections")
    @friendly
    def corrections(
        insurer: str = typer.Option(..., "--insurer", help="Insurer to correct (as named in config)."),
        fmt: str = typer.Option("csv", "--format", "-f", help="csv | qhp (providers.json) | fhir (transaction Bundle)"),
        out_dir: Path = typer.Option(Path("export"), "--out", help="Folder to write into."),
        min_confidence: float = typer.Option(0.8, "--min-confidence",
                                             help="Only changes backed by evidence at or above this confidence."),
        config: Path = ConfigOption,
    ) -> None:
        """Write the recommended changes (update / remove / suppress) as a file a directory team can load."""
        from flows.export.corrections import CorrectionsError, export_corrections
        from warehouse.db import connect

        cfg = read_config(config)
        if not Path(cfg.warehouse.path).exists():
            raise UserError(f"{cfg.warehouse.path}: warehouse not found (run `ghostcheck audit` or `reconcile` first)")
        con = connect(cfg.warehouse.path)
        try:
            summary = export_corrections(con, insurer, fmt, out_dir, min_confidence)
        except CorrectionsError as exc:
            raise UserError(str(exc)) from None
        finally:
            con.close()
        out.print(f"{summary.changes:,} change(s) on {summary.listings:,} listing(s) at confidence >= "
                  f"{min_confidence:.2f}")
        if summary.rejected:
            out.print(f"{summary.rejected:,} QHP entr(y/ies) break the schema and were set aside with the reason "
                      "(providers_rejected-*.json)")
        for path in summary.paths:
            out.print(f"wrote {path}")
