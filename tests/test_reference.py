"""Reference directories (NPPES / national directory) in reconciliation: evidence, confidence, precedence, NPI findings."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from crawlers.bulk.nppes import nppes_to_landing  # noqa: E402
from crawlers.config import DirectoryConfig  # noqa: E402
from reconcile.engine import reconcile  # noqa: E402
from reconcile.normalize.npi import npi_check_digit  # noqa: E402
from reconcile.reference import invalid_npi_reason  # noqa: E402
from reconcile.settings import ReconcileSettings  # noqa: E402
from reconcile_world import add_listing, add_site  # noqa: E402
from warehouse.db import connect  # noqa: E402
from warehouse.load import load_landing  # noqa: E402
from warehouse.runs import start_run  # noqa: E402
from warehouse.store import save_reconcile  # noqa: E402
from nppes_fixtures import HADDAD_DEACTIVATED, write_nppes_csv
from nppes_fixtures import SMITH as SMITH_ROW

AS_OF = dt.date(2026, 11, 24)
SITE = "https://springfieldfm.example.com"
NPPES_URL = "file:///data/npidata_pfile_20261110.csv"
SMITH = dict(npi="1234567893", provider_name="Smith, John A MD", practice_name="Springfield Family Medicine",
             address="12 Main St Ste 4", city="Springfield", state="IL", zip="62701-1234", phone="(217) 555-0100",
             website=None)
# NPPES writes names and addresses upper-case, ZIP+4 without a dash and phones as bare digits
NPPES = dict(insurer="NPPES", directory_kind="nppes", role="reference", npi="1234567893", provider_name="JOHN SMITH MD",
             practice_name=None, address="12 MAIN STREET SUITE 4", city="SPRINGFIELD", state="IL", zip="627011234",
             phone="2175550100", accepting_status="unknown", source_url=NPPES_URL,
             last_updated=dt.datetime(2019, 3, 1), raw={"deactivated": False, "deactivation_date": None})


@pytest.fixture()
def con(tmp_path):
    """A real warehouse file with every migration applied."""
    connection = connect(tmp_path / "warehouse.duckdb")
    yield connection
    connection.close()


def reference(con, **values):
    """Insert one NPPES reference row (raw JSON as the nppes kind lands it)."""
    import json

    row = {**NPPES, **values}
    row["raw"] = json.dumps(row["raw"])
    return add_listing(con, **row)


def site(con, **values):
    """The practice's website (practice-level claim) listing its numbers, address and complete team."""
    base = dict(site_url=SITE, practice_name="Springfield Family Medicine", phones=["217-555-0100"],
                addresses=["12 Main Street, Suite 4, Springfield, IL 62701"], providers=["Dr. John Smith"],
                roster_complete=True, accepting_status="unknown", insurers_accepted=[], insurers_not_accepted=[])
    base.update(values)
    return add_site(con, **base)


def run(con):
    """Reconcile as of AS_OF with default settings."""
    return reconcile(con, AS_OF, ReconcileSettings())


def rows_of(result, listing_id, finding_type=None):
    """The finding rows of one listing (optionally of one type)."""
    return [r for r in result.findings.to_pylist()
            if r["listing_id"] == listing_id and (finding_type is None or r["finding_type"] == finding_type)]


def one(result, listing_id, finding_type):
    """Exactly one finding of a listing and type."""
    rows = rows_of(result, listing_id, finding_type)
    assert len(rows) == 1, result.findings.to_pylist()
    return rows[0]


def valid_npi(first9: str) -> str:
    """A valid NPI built from nine digits."""
    return first9 + npi_check_digit(first9)


# evidence without practice evidence --------------------------------------------------------------------------------

def test_reference_phone_at_same_address_is_evidence_when_nothing_else_is(con):
    lid = add_listing(con, **{**SMITH, "phone": "217-555-0199"})
    reference(con)  # NPPES: same NPI at the same address, phone 217-555-0100
    row = one(run(con), lid, "phone")
    assert row["evidence_source"] == "reference" and row["evidence_url"] == NPPES_URL
    assert row["directory_value"] == "217-555-0199" and row["observed_value"] == "2175550100"
    assert "NPPES" in row["evidence_text"]


def test_reference_address_on_same_phone_is_evidence(con):
    lid = add_listing(con, **{**SMITH, "address": "900 Oak Ave", "zip": "62704"})
    reference(con)
    row = one(run(con), lid, "address")
    assert row["evidence_source"] == "reference" and "12 MAIN STREET" in row["observed_value"]


def test_reference_formatting_differences_are_not_findings(con):
    lid = add_listing(con, **SMITH)
    reference(con)  # upper case, Street/Suite, ZIP+4 without dash, bare digits: same values
    assert rows_of(run(con), lid) == []


def test_reference_elsewhere_gives_provider_not_at_location_with_lower_confidence(con):
    moved = add_listing(con, **SMITH)
    reference(con, address="900 OAK AVE", city="CHICAGO", zip="60601", phone="3125550100")
    wrong_phone = add_listing(con, **{**SMITH, "npi": valid_npi("124531959"), "phone": "217-555-0199"})
    reference(con, npi=valid_npi("124531959"))
    result = run(con)
    elsewhere = one(result, moved, "provider_not_at_location")
    assert elsewhere["evidence_source"] == "reference" and "900 OAK AVE" in elsewhere["observed_value"]
    assert not rows_of(result, moved, "phone") and not rows_of(result, moved, "address")
    # an NPI-only placement elsewhere is weaker than the reference's phone at the very same address
    assert elsewhere["confidence"] < one(result, wrong_phone, "phone")["confidence"]


# precedence: practice evidence decides, the reference moves the confidence -------------------------------------------

def phone_confidence(tmp_path: Path, name: str, reference_phone: str | None) -> dict:
    """The phone finding of a listing the practice's website contradicts, with an optional NPPES row."""
    connection = connect(tmp_path / f"{name}.duckdb")
    try:
        lid = add_listing(connection, **{**SMITH, "phone": "217-555-0199", "website": SITE + "/"})
        site(connection)
        if reference_phone:
            reference(connection, phone=reference_phone)
        return one(run(connection), lid, "phone")
    finally:
        connection.close()


def test_practice_evidence_wins_and_reference_moves_confidence(tmp_path):
    alone = phone_confidence(tmp_path, "alone", None)
    agreeing = phone_confidence(tmp_path, "agree", "2175550100")  # NPPES has the website's number too
    disagreeing = phone_confidence(tmp_path, "disagree", "2175550199")  # NPPES has the listed number
    for row in (alone, agreeing, disagreeing):
        assert row["evidence_source"] == "website" and row["evidence_url"].startswith(SITE)
    assert disagreeing["confidence"] < alone["confidence"] < agreeing["confidence"] <= 1.0


def test_practice_roster_beats_reference_elsewhere(con):
    lid = add_listing(con, **{**SMITH, "website": SITE + "/"})
    site(con)  # the team page lists Dr. Smith here
    reference(con, address="900 OAK AVE", city="CHICAGO", zip="60601", phone="3125550100")
    assert rows_of(run(con), lid, "provider_not_at_location") == []


def test_reference_below_report_and_website(con):
    lid = add_listing(con, **{**SMITH, "phone": "217-555-0199", "website": SITE + "/"})
    site(con, phones=["217-555-0199"])  # the website agrees with the listing ...
    reference(con)  # ... NPPES says 217-555-0100: the website decides, no finding
    assert rows_of(run(con), lid, "phone") == []


# invalid and deactivated NPIs ----------------------------------------------------------------------------------------

def test_check_digit_failure_is_invalid_npi(con):
    bad = add_listing(con, **{**SMITH, "npi": "1234567890"})
    good = add_listing(con, **SMITH)
    reference(con)
    result = run(con)
    row = one(result, bad, "invalid_npi")
    assert (row["field"], row["directory_value"], row["observed_value"]) == ("npi", "1234567890", "fails the NPI check digit")
    assert row["severity"] == "high" and row["evidence_source"] == "reference" and row["evidence_url"] == NPPES_URL
    assert rows_of(result, good, "invalid_npi") == []


def test_without_a_reference_directory_npis_are_not_judged(con):
    lid = add_listing(con, **{**SMITH, "npi": "1234567890"})
    assert rows_of(run(con), lid, "invalid_npi") == []


def test_invalid_npi_reason_of_published_values():
    assert invalid_npi_reason("1234-567-890") == "fails the NPI check digit"
    assert invalid_npi_reason("12345") == "not a 10-digit NPI"
    assert invalid_npi_reason("N/A") is None and invalid_npi_reason(None) is None


def test_nppes_deactivated_npi_end_to_end(tmp_path):
    """NPPES CSV -> nppes landing -> warehouse -> reconcile: the listing of a deactivated NPI is flagged."""
    john = (SMITH_ROW[0], SMITH_ROW[1], SMITH_ROW[2], "JOHN", *SMITH_ROW[4:12], "")
    csv = write_nppes_csv(tmp_path / "npidata.csv", [john, HADDAD_DEACTIVATED])
    directory = DirectoryConfig(insurer="NPPES", kind="nppes", url=str(csv), role="reference")
    nppes_to_landing(directory, str(tmp_path / "landing"), "20261124T000000Z")
    con = connect(tmp_path / "w.duckdb")
    try:
        load_landing(con, str(tmp_path / "landing"))
        active = add_listing(con, **SMITH)
        gone = add_listing(con, **{**SMITH, "npi": "1245319599", "provider_name": "Omar Haddad MD",
                                   "address": "1 Elm St", "city": "Chicago", "zip": "60601", "phone": "312-555-0100"})
        result = run(con)
        row = one(result, gone, "invalid_npi")
        assert row["observed_value"] == "deactivated 2024-05-06 per NPPES"
        assert row["evidence_source"] == "reference" and row["evidence_url"] == str(csv)
        assert rows_of(result, active) == []
        run_id = start_run(con, AS_OF)
        save_reconcile(con, run_id, AS_OF, result)  # the new type persists like any other
        assert con.execute("SELECT count(*) FROM findings WHERE finding_type = 'invalid_npi'").fetchone()[0] == 1
    finally:
        con.close()


# reference rows are never audited ------------------------------------------------------------------------------------

def test_reference_rows_never_flagged_counted_or_another_insurer(con):
    lid = add_listing(con, **{**SMITH, "accepting_status": "accepting"})
    ref = reference(con, npi="1234567890", phone="2175550199", accepting_status="not_accepting")  # own NPI invalid too
    ref2 = reference(con, phone="2175550199", accepting_status="not_accepting", raw={"deactivated": False})
    other = add_listing(con, **{**SMITH, "insurer": "Cobalt Care", "phone": "217-555-0199"})
    result = run(con)
    flagged = {r["listing_id"] for r in result.findings.to_pylist()}
    assert ref not in flagged and ref2 not in flagged  # not stale (2019), not invalid, no conflicts
    conflicts = [r for r in result.findings.to_pylist() if r["finding_type"] == "cross_directory_conflict"]
    # the two insurers disagree on the phone; the reference (above another insurer) places it on the one it contradicts
    assert [(r["listing_id"], r["evidence_source"]) for r in conflicts] == [(lid, "directory:Cobalt Care")]
    assert one(result, lid, "phone")["evidence_source"] == "reference" and not rows_of(result, other, "phone")
    assert "NPPES" not in set(result.metrics.column("insurer").to_pylist())
    assert not any(r["listing_id"] in (ref, ref2) for r in result.observed_values.to_pylist())
