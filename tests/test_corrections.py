"""`ghostcheck export corrections`: CSV round trip closes the findings, QHP validates, FHIR Bundle parses as R4."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parent))

from corrections_world import (AS_OF, INSURER, directory, land_directory, land_evidence,  # noqa: E402
                               reconcile_and_save)
from flows.cli import build_app  # noqa: E402
from flows.export.corrections import CorrectionsError, export_corrections, validate_qhp  # noqa: E402
from warehouse.db import connect  # noqa: E402


@pytest.fixture()
def world(tmp_path):
    """A project folder: ghostcheck.toml, a reconciled warehouse (QHP directory + websites + attestations)."""
    (tmp_path / "ghostcheck.toml").write_text('[warehouse]\npath = "w.duckdb"\nlanding = "landing"\n')
    con = connect(tmp_path / "w.duckdb")
    land_directory(tmp_path / "landing", directory(), "run-1")
    land_evidence(tmp_path / "landing")
    reconcile_and_save(con, tmp_path / "landing", "rec-1")
    con.close()
    return tmp_path


def cli(*args: str):
    """Run the CLI in-process."""
    return CliRunner().invoke(build_app(), list(args))


def export(world: Path, fmt: str, min_confidence: str = "0.7", insurer: str = INSURER):
    """`ghostcheck export corrections` into world/out; returns the CLI result."""
    return cli("export", "corrections", "-c", str(world / "ghostcheck.toml"), "--insurer", insurer,
               "--format", fmt, "--out", str(world / "out"), "--min-confidence", min_confidence)


def read_csv(path: Path) -> list[dict[str, str]]:
    """Rows of a CSV file as dicts."""
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def apply_csv(entries: list[dict], rows: list[dict[str, str]]) -> list[dict]:
    """What a directory team does with the CSV: rewrite providers.json (source_key = 'npi|address index')."""
    by_npi = {e["npi"]: e for e in entries}
    drop: dict[str, set[int]] = {}
    for row in rows:
        npi, index = row["source_key"].split("|")
        entry, position = by_npi[npi], int(index)
        if row["action"] in ("remove_from_location", "suppress_until_verified"):
            drop.setdefault(npi, set()).add(position)
        elif row["action"] == "remove_from_network":
            drop.setdefault(npi, set()).update(range(len(entry["addresses"])))
        elif row["field"] == "phone":
            entry["addresses"][position]["phone"] = row["proposed"]
        elif row["field"] == "address":
            street, city, state_zip = row["proposed"].split(", ")
            state, zip5 = state_zip.split(" ")
            entry["addresses"][position].update(address=street, address_2="", city=city, state=state, zip=zip5)
        elif row["field"] == "accepting_status":
            entry["accepting"] = row["proposed"].replace("_", " ")
    kept = []
    for entry in entries:
        entry["addresses"] = [a for i, a in enumerate(entry["addresses"]) if i not in drop.get(entry["npi"], set())]
        if entry["addresses"]:
            kept.append(entry)
    return kept


def test_csv_round_trip_closes_the_findings(world):
    result = export(world, "csv")
    assert result.exit_code == 0, result.output
    rows = read_csv(world / "out" / "corrections-acme-health.csv")
    changes = {(r["npi"], r["field"], r["action"], r["proposed"]) for r in rows}
    assert ("1234567893", "phone", "update", "(217) 555-0199") in changes
    assert ("1234567893", "address", "update", "400 N OAK AVE STE 200, PEORIA, IL 61603") in changes
    assert ("1234567893", "accepting_status", "update", "not_accepting") in changes
    assert ("1245319599", "location", "remove_from_location", "") in changes
    assert all(r["evidence_url"] and r["finding_id"] and float(r["confidence"]) >= 0.7 for r in rows)
    con = duckdb.connect(str(world / "w.duckdb"))
    exported = {r["finding_id"] for r in rows}
    assert exported <= {r[0] for r in con.execute("SELECT finding_id FROM findings WHERE status = 'open'").fetchall()}
    con.close()

    corrected = apply_csv(directory(), rows)
    con = connect(world / "w.duckdb")
    land_directory(world / "landing", corrected, "run-2")
    reconcile_and_save(con, world / "landing", "rec-2", AS_OF)
    status = dict(con.execute("SELECT finding_id, status FROM findings").fetchall())
    still_open = con.execute("SELECT finding_type, provider_name, field FROM findings WHERE status = 'open'").fetchall()
    con.close()
    assert {status[f] for f in exported} == {"resolved"}
    assert still_open == []


def test_min_confidence_keeps_only_strong_evidence(world):
    assert export(world, "csv", "0.9").exit_code == 0
    rows = read_csv(world / "out" / "corrections-acme-health.csv")
    assert {(r["field"], r["action"]) for r in rows} == {("accepting_status", "update"),
                                                          ("location", "remove_from_location")}
    assert all(r["evidence_source"] == "attestation" for r in rows)


def test_qhp_export_validates_and_applies_values(world):
    result = export(world, "qhp")
    assert result.exit_code == 0, result.output
    entries = json.loads((world / "out" / "providers-acme-health.json").read_text())
    removed = json.loads((world / "out" / "providers_removed-acme-health.json").read_text())
    validate_qhp(entries)
    doe = {e["npi"]: e for e in entries}["1234567893"]
    assert doe["accepting"] == "not accepting"
    assert doe["plans"][0]["plan_id"] == "12345IL0010001" and doe["languages"] == ["English", "Spanish"]
    by_city = {a["city"]: a for a in doe["addresses"]}
    assert by_city["Springfield"]["phone"] == "2175550199"
    assert by_city["PEORIA"]["address"] == "400 N OAK AVE" and by_city["PEORIA"]["address_2"] == "STE 200"
    assert by_city["PEORIA"]["zip"] == "61603"
    assert [r["npi"] for r in removed] == ["1245319599"]


def test_qhp_schema_rejects_a_broken_entry(world):
    assert export(world, "qhp").exit_code == 0
    entries = json.loads((world / "out" / "providers-acme-health.json").read_text())
    entries[0]["accepting"] = "maybe"
    with pytest.raises(CorrectionsError, match="entry 0"):
        validate_qhp(entries)
    del entries[0]["addresses"]
    with pytest.raises(CorrectionsError):
        validate_qhp(entries)


def test_fhir_bundle_parses_as_r4_with_changes_applied(world):
    from fhir.resources.R4B.bundle import Bundle

    result = export(world, "fhir")
    assert result.exit_code == 0, result.output
    data = json.loads((world / "out" / "corrections-acme-health.bundle.json").read_text())
    bundle = Bundle.model_validate(data)
    assert bundle.type == "transaction"
    assert all(e.request.method == "PUT" and e.request.url.startswith(("PractitionerRole/", "Location/"))
               for e in bundle.entry)
    roles = [e["resource"] for e in data["entry"] if e["resource"]["resourceType"] == "PractitionerRole"]
    phones = {t["value"] for r in roles if r["active"] for t in r.get("telecom", [])}
    assert "+12175550199" in phones
    inactive = [r for r in roles if not r["active"]]
    assert [r["practitioner"]["identifier"]["value"] for r in inactive] == ["1245319599"]
    codes = {c["code"] for r in roles for x in r.get("extension", []) if x["url"].endswith("newpatients")
             for sub in x["extension"] for c in sub["valueCodeableConcept"]["coding"]}
    assert "nopt" in codes
    locations = [e["resource"] for e in data["entry"] if e["resource"]["resourceType"] == "Location"]
    assert [loc["address"]["postalCode"] for loc in locations] == ["61603"]


def test_unknown_insurer_and_bad_format_are_one_line_errors(world):
    result = export(world, "csv", insurer="Nobody Health")
    assert result.exit_code == 2 and "Nobody Health" in result.output and "Traceback" not in result.output
    result = export(world, "xml")
    assert result.exit_code == 2 and "xml" in result.output


def test_formula_text_in_evidence_is_neutralized(tmp_path):
    from flows.export.corrections import csv_cell

    assert csv_cell("=HYPERLINK(\"x\")") == "'=HYPERLINK(\"x\")"
    assert csv_cell("+1 217 555 0199") == "+1 217 555 0199"
    assert csv_cell("-cmd") == "'-cmd"


def test_export_function_refuses_bad_confidence(world):
    con = connect(world / "w.duckdb")
    try:
        with pytest.raises(CorrectionsError, match="min-confidence"):
            export_corrections(con, INSURER, "csv", world / "x", 1.5)
    finally:
        con.close()


def test_report_shows_action_in_detail_and_plan_accuracy_table(world, tmp_path):
    playwright_api = pytest.importorskip("playwright.sync_api")
    if not Path("/usr/bin/chromium").exists():
        pytest.skip("system Chromium not installed")
    from flows.report import build_report

    con = duckdb.connect(str(world / "w.duckdb"), read_only=True)
    fid, reason = con.execute("SELECT finding_id, action_reason FROM findings WHERE field = 'address'").fetchone()
    paths = build_report(con, tmp_path / "report")
    con.close()
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium",
                                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        try:
            page = browser.new_page()
            page.goto(Path(paths.index).as_uri())
            plans = page.locator("#plan-accuracy tbody tr")
            assert plans.count() == 1
            assert plans.first.inner_text().split("\t")[1:3] == ["12345IL0010001", "census"]
            page.fill("#findings-search", fid)
            page.wait_for_function("() => document.querySelectorAll('#findings-table tbody tr').length === 1")
            page.locator("#findings-table tbody tr button.expand").first.click()
            action = page.locator("tr.detail .action")
            assert action.locator(".value").inner_text() == "update → 400 N OAK AVE STE 200, PEORIA, IL 61603"
            assert action.locator(".reason").inner_text() == reason
        finally:
            browser.close()


def test_nothing_to_change_gives_empty_but_valid_files(world):
    from fhir.resources.R4B.bundle import Bundle

    for fmt in ("csv", "qhp", "fhir"):
        assert export(world, fmt, "1.0").exit_code == 0
    assert read_csv(world / "out" / "corrections-acme-health.csv") == []
    assert json.loads((world / "out" / "providers-acme-health.json").read_text()) == []
    data = json.loads((world / "out" / "corrections-acme-health.bundle.json").read_text())
    assert "entry" not in data and Bundle.model_validate(data).type == "transaction"


def test_qhp_entry_that_breaks_the_schema_is_set_aside_not_fatal(world):
    # a directory that published Doe's Springfield office without a city: that entry cannot be valid QHP
    entries = directory()
    entries[0]["addresses"][0]["city"] = ""
    entries[0]["addresses"][0]["state"] = "illinois"
    entries[0]["plans"][0]["network_tier"] = "preferred tier"
    con = connect(world / "w.duckdb")
    land_directory(world / "landing", entries, "run-2")
    reconcile_and_save(con, world / "landing", "rec-2")
    con.close()
    result = export(world, "qhp")
    assert result.exit_code == 0, result.output
    assert "set aside" in result.output
    rejected = json.loads((world / "out" / "providers_rejected-acme-health.json").read_text())
    assert [r["npi"] for r in rejected] == ["1234567893"] and "city" in rejected[0]["error"]
    assert rejected[0]["entry"]["addresses"][0]["state"] == "IL"
    assert rejected[0]["entry"]["plans"][0]["network_tier"] == "PREFERRED-TIER"
    validate_qhp(json.loads((world / "out" / "providers-acme-health.json").read_text()))
