"""`ghostcheck sample`: draw a secret-shopper call list for one insurer, sized for a margin of error."""

from __future__ import annotations

import csv
import json
import os
import secrets
from pathlib import Path
from typing import Any, Optional

import typer
from rich.markup import escape
from rich.table import Table

from flows.commands.common import ConfigOption, UserError, friendly, out, read_config
from reconcile.plan_metrics import PLAN_OF_LISTING_SQL
from reconcile.sample import UNKNOWN_STRATUM, SampleDesign, design, per_plan_design

LISTING_COLUMNS = ("listing_id", "insurer", "npi", "provider_name", "specialty", "practice_name", "address", "city",
                   "state", "zip", "phone", "networks", "plan")
QUESTION_COLUMNS = ("reached", "call_outcome", "correct_location", "provider_at_location", "accepts_plan",
                    "accepting_new_patients", "first_appointment", "reported_at", "caller_notes")
CALL_LIST_COLUMNS = LISTING_COLUMNS + ("stratum", "source") + QUESTION_COLUMNS
_FORMULA_START = ("=", "@", "\t", "\r")


def _plan_ids(plans: Any) -> str:
    """Plan ids of a listing's `plans` JSON, '; '-joined."""
    if plans is None:
        return ""
    try:
        items = json.loads(plans) if isinstance(plans, str) else plans
    except json.JSONDecodeError:
        return str(plans)
    if not isinstance(items, list):
        return ""
    ids = [str(p.get("plan_id")) for p in items if isinstance(p, dict) and p.get("plan_id")]
    return "; ".join(dict.fromkeys(ids))


def _cell(value: Any) -> str:
    """A CSV cell: lists '; '-joined, and text that a spreadsheet would run as a formula neutralized."""
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        value = "; ".join(str(v) for v in value if v is not None)
    text = str(value)
    if text.startswith(_FORMULA_START) or (text[:1] in "+-" and len(text) > 1 and not text[1].isdigit()
                                           and text[1] not in " ("):
        return "'" + text
    return text


def _stratum_sql(strata: list[str], county_sql: str) -> str:
    """SQL for the stratum label, mirroring reconcile.sample.stratum_key (blank -> '(unknown)', ' | '-joined)."""
    if not strata:
        return "'all'"
    parts = []
    for col in strata:
        expr = county_sql if col == "county" else f'"{col}"'
        parts.append(f"coalesce(nullif(trim(regexp_replace(CAST({expr} AS VARCHAR), '\\s+', ' ', 'g')), ''), "
                     f"'{UNKNOWN_STRATUM}')")
    return " || ' | ' || ".join(parts)


def frame_sql(con: Any, strata: list[str]) -> tuple[str, list[str]]:
    """SQL selecting one insurer's audited listings (param: insurer) with a `stratum` column, and notes to print."""
    present = {r[0] for r in con.execute("DESCRIBE SELECT * FROM listings").fetchall()}
    notes: list[str] = []
    county = "county" if "county" in present else "NULL"
    if "county" in strata and "county" not in present:
        county = ("CASE WHEN nullif(trim(zip), '') IS NOT NULL THEN coalesce(upper(trim(state)), '?') || ' ZIP3 ' || "
                  "left(trim(zip), 3) ELSE coalesce(upper(trim(state)), '?') || ' ' || coalesce(trim(city), '?') END")
        notes.append("listings have no county column: 'county' is derived from state + ZIP3 (state + city when "
                     "the ZIP is missing), a coarse stand-in for the county")
    for col in strata:
        if col != "county" and col not in present:
            raise UserError(f"--strata {col!r}: not a column of the listings view (try specialty, county, state, city)")
    sql = (
        "SELECT listing_id, insurer, npi, provider_name, specialty, practice_name, address, city, state, zip, phone, "
        f"networks, plans, {_stratum_sql(strata, county)} AS stratum "
        "FROM listings WHERE lower(insurer) = lower(?) AND coalesce(role, 'audited') = 'audited'"
    )
    return sql, notes


def strata_counts(con: Any, sql: str, insurer: str) -> dict[str, int]:
    """Listings per stratum for the insurer (UserError naming the known insurers when it has none)."""
    rows = con.execute(f"SELECT stratum, count(*) FROM ({sql}) GROUP BY stratum ORDER BY stratum", [insurer]).fetchall()
    if not rows:
        known = [r[0] for r in con.execute("SELECT DISTINCT insurer FROM listings ORDER BY 1").fetchall()]
        raise UserError(f"no listings for insurer {insurer!r} in the warehouse (known: {', '.join(known) or 'none'}; "
                        "run `ghostcheck crawl directories` first)")
    return {key: int(n) for key, n in rows}


def draw_sql(con: Any, sql: str, insurer: str, allocation: dict[str, int], seed: int) -> list[dict[str, Any]]:
    """The sampled listings, drawn in DuckDB exactly as reconcile.sample.draw ranks rows: md5(seed|listing_id)."""
    wanted = [(key, n) for key, n in allocation.items() if n > 0]
    if not wanted:
        return []
    values = ", ".join(["(?, ?)"] * len(wanted))
    params: list[Any] = [item for pair in wanted for item in pair]  # placeholders in text order:
    params += [str(seed), insurer]  # VALUES pairs, the md5 seed, then the insurer inside the frame SQL
    rows = con.execute(
        f"""
        WITH alloc(stratum, k) AS (VALUES {values}),
        ranked AS (
            SELECT f.*, row_number() OVER (PARTITION BY f.stratum
                                           ORDER BY md5(? || '|' || f.listing_id), f.listing_id) AS _rank
            FROM ({sql}) f
        )
        SELECT r.* EXCLUDE (_rank) FROM ranked r JOIN alloc a ON r.stratum = a.stratum
        WHERE r._rank <= a.k ORDER BY r.stratum, r._rank
        """,
        params,
    ).fetchall()
    names = [d[0] for d in con.description]
    return [dict(zip(names, row)) for row in rows]


def plan_counts(con: Any, insurer: str) -> dict[str, int]:
    """Audited listings per plan for the insurer (UserError when it has listings in no plan at all)."""
    rows = con.execute(f"SELECT plan, count(DISTINCT listing_id) FROM ({PLAN_OF_LISTING_SQL}) "
                       "WHERE lower(insurer) = lower(?) GROUP BY plan ORDER BY plan", [insurer]).fetchall()
    if not rows:
        raise UserError(f"--per-plan: no listing of {insurer!r} names a plan or network (QHP plans[].plan_id, "
                        "Plan-Net network-reference); draw without --per-plan")
    return {str(plan): int(n) for plan, n in rows}


def draw_per_plan_sql(con: Any, insurer: str, allocation: dict[str, int], seed: int) -> list[dict[str, Any]]:
    """The per-plan sample in DuckDB, as reconcile.sample.draw_per_plan: one row per listing, stratum = its plans."""
    wanted = [(key, n) for key, n in allocation.items() if n > 0]
    if not wanted:
        return []
    values = ", ".join(["(?, ?)"] * len(wanted))
    params: list[Any] = [insurer] + [item for pair in wanted for item in pair] + [str(seed), str(seed)]
    rows = con.execute(
        f"""
        WITH f AS (SELECT listing_id, plan FROM ({PLAN_OF_LISTING_SQL}) WHERE lower(insurer) = lower(?)),
        alloc(plan, k) AS (VALUES {values}),
        ranked AS (
            SELECT f.*, row_number() OVER (PARTITION BY f.plan ORDER BY md5(? || '|' || f.listing_id), f.listing_id)
                   AS _rank
            FROM f
        ),
        chosen AS (
            SELECT listing_id, string_agg(r.plan, '; ' ORDER BY r.plan) AS stratum
            FROM ranked r JOIN alloc a ON r.plan = a.plan WHERE r._rank <= a.k GROUP BY listing_id
        )
        SELECT l.listing_id, l.insurer, l.npi, l.provider_name, l.specialty, l.practice_name, l.address, l.city,
               l.state, l.zip, l.phone, l.networks, l.plans, c.stratum
        FROM chosen c JOIN listings l USING (listing_id)
        ORDER BY md5(? || '|' || l.listing_id), l.listing_id
        """,
        params,
    ).fetchall()
    names = [d[0] for d in con.description]
    return [dict(zip(names, row)) for row in rows]


def write_call_list(path: Path, rows: list[dict[str, Any]]) -> None:
    """Write the call list CSV (listing facts, then empty answer columns in the report vocabulary)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(CALL_LIST_COLUMNS)
        for row in rows:
            facts = {**row, "plan": _plan_ids(row.get("plans")), "source": "secret_shopper"}
            writer.writerow([_cell(facts.get(c)) if c not in QUESTION_COLUMNS else "" for c in CALL_LIST_COLUMNS])
    os.replace(tmp, path)


def print_design(plan: SampleDesign, insurer: str, seed: int, notes: list[str]) -> None:
    """Print the sample size and design: population, n0, FPC, n, allocation per stratum."""
    out.print(f"[bold]Secret-shopper sample for {escape(insurer)}[/]")
    out.print(f"population N = {plan.population:,} listings; margin ±{plan.margin:.1%} at {plan.confidence:.0%} "
              f"confidence (p = 0.5)")
    out.print(f"n0 = z²·p(1-p)/e² = {plan.n0:.1f}; with finite-population correction n = n0/(1+(n0-1)/N) = {plan.n:,}"
              f" (FPC √((N-n)/(N-1)) = {plan.fpc:.3f})")
    if plan.total > plan.n:
        out.print(f"calls: {plan.total:,} ({plan.total - plan.n} more than n to give every stratum its minimum)")
    for note in notes:
        out.print(f"note: {escape(note)}")
    table = Table(title=f"allocation by {', '.join(plan.strata_cols) or 'none (simple random sample)'} (seed {seed})")
    table.add_column("stratum")
    table.add_column("listings", justify="right")
    table.add_column("calls", justify="right")
    for key in sorted(plan.strata, key=lambda k: (-plan.strata[k], k)):
        table.add_row(escape(key), f"{plan.strata[key]:,}", f"{plan.allocation[key]:,}")
    table.add_row("[bold]total[/]", f"{plan.population:,}", f"{plan.total:,}")
    out.print(table)


def register(app: typer.Typer, groups: dict[str, typer.Typer]) -> None:
    """Add `sample` to the CLI."""

    @app.command("sample")
    @friendly
    def sample(
        insurer: str = typer.Option(..., "--insurer", help="Insurer whose directory is audited (as named in config)."),
        out_path: Path = typer.Option(..., "--out", "-o", help="Call list CSV to write."),
        config: Path = ConfigOption,
        margin: float = typer.Option(0.05, "--margin", help="Margin of error, e.g. 0.05 for ±5 points."),
        confidence: float = typer.Option(0.95, "--confidence", help="Confidence level, e.g. 0.95."),
        strata: str = typer.Option("", "--strata", help="Comma-separated columns to stratify by, e.g. specialty,county."),
        seed: Optional[int] = typer.Option(None, "--seed", help="Random seed (printed when not given, to redraw)."),
        min_per_stratum: int = typer.Option(2, "--min-per-stratum", min=0, help="Minimum calls per stratum."),
        per_plan: bool = typer.Option(False, "--per-plan",
                                      help="A sample per plan, each sized for the margin on its own (small plans "
                                           "oversampled); a listing in several plans is called once."),
    ) -> None:
        """Draw a secret-shopper call list sized for a margin of error (fill it in, then `ingest reports`)."""
        if not (0 < margin < 1):
            raise UserError(f"--margin {margin}: expected a fraction between 0 and 1, e.g. 0.05")
        if not (0 < confidence < 1):
            raise UserError(f"--confidence {confidence}: expected a fraction between 0 and 1, e.g. 0.95")
        cols = [c.strip() for c in strata.split(",") if c.strip()]
        if per_plan and cols:
            raise UserError("--per-plan and --strata cannot be combined: --per-plan stratifies by plan")
        cfg = read_config(config)
        if not Path(cfg.warehouse.path).exists():
            raise UserError(f"{cfg.warehouse.path}: warehouse not found (crawl a directory first)")
        from warehouse.db import connect

        con = connect(cfg.warehouse.path)
        try:
            sql, notes = frame_sql(con, cols)
            counts = strata_counts(con, sql, insurer)
            chosen_seed = seed
            seed = seed if seed is not None else secrets.randbelow(1_000_000)
            if per_plan:
                plan = per_plan_design(plan_counts(con, insurer), margin, confidence, min_per_stratum)
                rows = draw_per_plan_sql(con, insurer, plan.allocation, seed)
                notes.append(f"per plan: each plan sized for ±{margin:.1%} on its own (small plans oversampled); "
                             f"{plan.total:,} plan slots filled by {len(rows):,} distinct listings (a listing in "
                             "several plans is called once and counts for each)")
            else:
                plan = design(counts, margin, confidence, min_per_stratum, cols)
                rows = draw_sql(con, sql, insurer, plan.allocation, seed)
        finally:
            con.close()
        name = rows[0]["insurer"] if rows else insurer
        if chosen_seed is None:
            notes.append(f"random seed {seed}: pass --seed {seed} to draw this same list again")
        print_design(plan, name, seed, notes)
        write_call_list(out_path, rows)
        out.print(f"wrote {len(rows):,} calls to {escape(str(out_path))}; fill in the answer columns, then run "
                  f"`ghostcheck ingest reports {escape(str(out_path))}`")
