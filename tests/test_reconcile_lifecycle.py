"""Finding lifecycle across runs (open, still open, resolved, reopened, dismissed), idempotent reruns, and the CLI."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parent))

from reconcile.engine import reconcile  # noqa: E402
from reconcile.settings import ReconcileSettings  # noqa: E402
from reconcile_world import add_listing, add_site  # noqa: E402
from warehouse.db import connect  # noqa: E402
from warehouse.runs import start_run  # noqa: E402
from warehouse.store import save_reconcile, set_finding_status  # noqa: E402

SITE = "https://springfieldfm.example.com"
LISTING = dict(listing_id="lst-smith", npi="1234567893", provider_name="Smith, John A MD",
               practice_name="Springfield Family Medicine", address="12 Main St Ste 4", city="Springfield",
               state="IL", zip="62701", website=SITE, last_updated=dt.datetime(2026, 10, 1))
TABLES = ("links", "finding_state", "finding_history", "metric_values", "listing_history")


@pytest.fixture()
def con(tmp_path):
    """A real warehouse with one practice website and one listing whose phone is wrong."""
    connection = connect(tmp_path / "warehouse.duckdb")
    add_site(connection, site_url=SITE, practice_name="Springfield Family Medicine", phones=["217-555-0100"],
             addresses=["12 Main Street Suite 4, Springfield, IL 62701"], providers=["John Smith"],
             roster_complete=True)
    add_listing(connection, **LISTING, phone="217-555-0999", run_id="load-1")
    yield connection
    connection.close()


def run_and_save(con, as_of):
    """One full run: start_run, reconcile, save_reconcile; returns the save summary."""
    run_id = start_run(con, as_of)
    return save_reconcile(con, run_id, as_of, reconcile(con, as_of, ReconcileSettings()))


def phone_finding(con):
    """(status, first_seen, last_seen, resolved_at) of the listing's phone finding."""
    return con.execute("SELECT status, first_seen, last_seen, resolved_at FROM findings "
                       "WHERE listing_id = 'lst-smith' AND finding_type = 'phone'").fetchone()


def snapshot(con):
    """Every row of the reconcile tables, for comparing runs."""
    return {t: sorted(map(repr, con.execute(f"SELECT * FROM {t}").fetchall())) for t in TABLES}


D1, D2, D3, D4 = dt.date(2026, 11, 2), dt.date(2026, 11, 9), dt.date(2026, 11, 16), dt.date(2026, 11, 23)


def test_lifecycle_open_still_open_resolved_reopened(con):
    s1 = run_and_save(con, D1)
    assert (s1.new, s1.resolved) == (1, 0)
    assert phone_finding(con) == ("open", D1, D1, None)
    s2 = run_and_save(con, D2)
    assert (s2.new, s2.still_open, s2.resolved) == (0, 1, 0)
    assert phone_finding(con) == ("open", D1, D2, None)
    add_listing(con, **LISTING, phone="(217) 555-0100", run_id="load-2")  # the insurer fixed the phone
    s3 = run_and_save(con, D3)
    assert (s3.new, s3.still_open, s3.resolved) == (0, 0, 1)
    assert phone_finding(con) == ("resolved", D1, D2, D3)
    add_listing(con, **LISTING, phone="217-555-0999", run_id="load-3")  # and broke it again
    s4 = run_and_save(con, D4)
    assert (s4.new, s4.reopened) == (0, 1)
    assert phone_finding(con) == ("open", D1, D4, None)
    history = con.execute("SELECT status FROM finding_history ORDER BY seen_at").fetchall()
    assert [h[0] for h in history] == ["open", "resolved", "reopened"]
    assert con.execute("SELECT count(DISTINCT as_of) FROM listing_history WHERE field = 'phone'").fetchone()[0] == 3


def test_rerun_same_inputs_changes_nothing(con):
    run_and_save(con, D1)
    before = snapshot(con)
    summary = run_and_save(con, D1)
    assert (summary.new, summary.resolved, summary.reopened) == (0, 0, 0)
    assert snapshot(con) == before


def test_dismissed_is_kept_across_runs(con):
    run_and_save(con, D1)
    finding_id = con.execute("SELECT finding_id FROM findings WHERE finding_type = 'phone'").fetchone()[0]
    set_finding_status(con, finding_id, "dismissed")
    run_and_save(con, D2)
    assert phone_finding(con)[0] == "dismissed"
    add_listing(con, **LISTING, phone="217-555-0100", run_id="load-2")
    run_and_save(con, D3)
    assert phone_finding(con)[0] == "dismissed"
    with pytest.raises(ValueError, match="unknown finding id"):
        set_finding_status(con, "nope", "dismissed")
    with pytest.raises(ValueError, match="unknown status"):
        set_finding_status(con, finding_id, "ignored")


def test_views_have_the_public_columns(con):
    run_and_save(con, D1)
    columns = [r[0] for r in con.execute("DESCRIBE findings").fetchall()]
    assert columns[:19] == ["finding_id", "finding_type", "insurer", "listing_id", "npi", "provider_name", "address",
                            "field", "directory_value", "observed_value", "evidence_source", "evidence_url",
                            "evidence_text", "observed_at", "severity", "confidence", "status", "first_seen",
                            "last_seen"]
    assert [r[0] for r in con.execute("DESCRIBE provider_links").fetchall()][:4] == ["left_id", "right_id", "score",
                                                                                     "method"]
    assert con.execute("SELECT count(*) FROM metrics WHERE metric = 'accuracy'").fetchone()[0] > 0


# CLI -----------------------------------------------------------------------------------------------------------------

@pytest.fixture()
def config(tmp_path, con):
    """A ghostcheck.toml pointing at the fixture's warehouse (closed so the CLI can open it)."""
    path = con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchone()[0]
    con.close()
    cfg = tmp_path / "ghostcheck.toml"
    cfg.write_text(f'[warehouse]\npath = "{path}"\n\n[[directory]]\ninsurer = "Acme Health"\nkind = "fhir"\n'
                   f'url = "https://fhir.acme.example/"\n', encoding="utf-8")
    return cfg


def test_cli_reconcile_then_findings(config):
    from flows.cli import app

    runner = CliRunner()
    result = runner.invoke(app, ["reconcile", "-c", str(config), "--as-of", "2026-11-24"])
    assert result.exit_code == 0, result.output
    assert "phone" in result.output and "new: 1" in result.output
    as_json = runner.invoke(app, ["findings", "-c", str(config), "--format", "json", "--insurer", "acme health"])
    assert as_json.exit_code == 0, as_json.output
    rows = json.loads(as_json.stdout)
    assert [(r["finding_type"], r["directory_value"], r["status"]) for r in rows] == [("phone", "217-555-0999", "open")]
    as_csv = runner.invoke(app, ["findings", "-c", str(config), "--format", "csv", "--type", "phone"])
    parsed = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert len(parsed) == 1 and parsed[0]["first_seen"] == "2026-11-24"
    none = runner.invoke(app, ["findings", "-c", str(config), "--format", "json", "--status", "resolved"])
    assert json.loads(none.stdout) == []
    table = runner.invoke(app, ["findings", "-c", str(config)])
    assert table.exit_code == 0 and "1 finding(s)" in table.stdout


def test_cli_bad_input_is_one_line(config):
    from flows.cli import app

    runner = CliRunner()
    bad = runner.invoke(app, ["reconcile", "-c", str(config), "--as-of", "24/11/2026"])
    assert bad.exit_code == 2 and "--as-of" in bad.output and "Traceback" not in bad.output
    bad = runner.invoke(app, ["findings", "-c", str(config), "--older-than", "soon"])
    assert bad.exit_code == 2 and "--older-than" in bad.output
