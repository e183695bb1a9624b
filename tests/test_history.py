"""Per-listing history across three real reconcile runs, and `ghostcheck history LISTING_ID`."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parent))

from reconcile.engine import reconcile  # noqa: E402
from reconcile.settings import ReconcileSettings  # noqa: E402
from reconcile_world import add_listing, add_site  # noqa: E402
from warehouse.db import connect  # noqa: E402
from warehouse.runs import finish_run, start_run  # noqa: E402
from warehouse.store import save_reconcile  # noqa: E402

from flows.commands import history  # noqa: E402

SITE = "https://springfieldfm.example.com"
PRACTICE = dict(site_url=SITE, practice_name="Springfield Family Medicine",
                addresses=["12 Main Street Suite 4, Springfield, IL 62701"], providers=["John Smith"],
                roster_complete=True)
LISTING = dict(listing_id="lst-smith", npi="1234567893", provider_name="Smith, John A MD",
               practice_name="Springfield Family Medicine", address="12 Main St Ste 4", city="Springfield",
               state="IL", zip="62701", website=SITE, last_updated=dt.datetime(2026, 10, 1))
D1, D2, D3 = dt.date(2026, 11, 2), dt.date(2026, 11, 9), dt.date(2026, 11, 16)


def run(con, as_of: dt.date) -> None:
    """One real run: start, reconcile with the engine, save, finish."""
    run_id = start_run(con, as_of, run_id=f"run-{as_of.isoformat()}")
    save_reconcile(con, run_id, as_of, reconcile(con, as_of, ReconcileSettings()))
    finish_run(con, run_id, "ok")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Three runs: the listing's phone is wrong, then the directory fixes it, then the practice changes number."""
    folder = tmp_path_factory.mktemp("history")
    db = folder / "warehouse.duckdb"
    con = connect(db)
    add_site(con, **PRACTICE, phones=["217-555-0100"], run_id="load-1")
    add_listing(con, **LISTING, phone="217-555-0999", run_id="load-1")
    run(con, D1)
    add_listing(con, **LISTING, phone="(217) 555-0100", run_id="load-2")   # the insurer corrects the phone
    run(con, D2)
    add_site(con, **PRACTICE, phones=["217-555-0200"], run_id="load-3")    # the practice moves to a new number
    run(con, D3)
    con.close()
    cfg = folder / "ghostcheck.toml"
    cfg.write_text(f'[warehouse]\npath = "{db.as_posix()}"\n', encoding="utf-8")
    return db, cfg


def test_timeline_across_three_runs(world):
    con = connect(world[0])
    try:
        rows = history.listing_timeline(con, "lst-smith", "phone")
    finally:
        con.close()
    assert [(r["as_of"], r["directory_value"], r["observed_value"], r["agrees"], r["changed"]) for r in rows] == [
        (D1, "217-555-0999", "217-555-0100", False, "first"),
        (D2, "(217) 555-0100", "217-555-0100", True, "directory"),
        (D3, "(217) 555-0100", "217-555-0200", False, "evidence"),
    ]
    changes = history.first_changes(rows)["phone"]
    assert (changes["directory"], changes["evidence"]) == (D2, D3)
    assert history.verdict(changes).startswith("the directory changed first (2026-11-09)")


def test_history_command_json_and_table(world):
    _, cfg = world
    app = typer.Typer()
    app.callback()(lambda: None)
    history.register(app, {})
    runner = CliRunner()
    res = runner.invoke(app, ["history", "lst-smith", "-c", str(cfg), "--format", "json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    phone = [r for r in doc["timeline"] if r["field"] == "phone"]
    assert [r["as_of"] for r in phone] == ["2026-11-02", "2026-11-09", "2026-11-16"]
    assert doc["first_changes"]["phone"]["directory"] == "2026-11-09"
    # the phone finding's lifecycle: opened on D1, resolved on D2, reopened on D3
    found = [f for f in doc["findings"] if f["finding_type"] == "phone"]
    assert len(found) == 1 and found[0]["status"] == "open" and found[0]["first_seen"] == "2026-11-02"
    res = runner.invoke(app, ["history", "lst-smith", "-c", str(cfg), "--field", "phone"], env={"COLUMNS": "200"})
    assert res.exit_code == 0 and "(217) 555-0100" in res.stdout and "directory changed first" in res.stdout
    missing = runner.invoke(app, ["history", "no-such-listing", "-c", str(cfg)])
    assert missing.exit_code == 2 and "no-such-listing" in missing.output and "Traceback" not in missing.output


@pytest.mark.parametrize("directory, evidence, expected", [
    (None, dt.date(2026, 3, 2), "the practice's evidence changed first (2026-03-02)"),
    (dt.date(2026, 3, 9), dt.date(2026, 3, 2), "the evidence changed first (2026-03-02), the directory followed (2026-03-09, 7 days later)"),
    (dt.date(2026, 3, 2), dt.date(2026, 3, 2), "both changed in the same run (2026-03-02)"),
    (None, None, "neither the directory nor the evidence changed"),
])
def test_verdict_wording(directory, evidence, expected):
    assert history.verdict({"directory": directory, "evidence": evidence}).startswith(expected)
