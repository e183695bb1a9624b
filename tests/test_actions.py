"""Recommended actions: each rule of reconcile/actions.py on a hand-built finding, and end to end into the view."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from reconcile.actions import Contact, add_actions, recommend, recommend_all  # noqa: E402
from reconcile.engine import reconcile  # noqa: E402
from reconcile.settings import ReconcileSettings  # noqa: E402
from reconcile_world import add_listing, add_observation, add_site  # noqa: E402
from warehouse.db import connect  # noqa: E402
from warehouse.store import save_reconcile  # noqa: E402

SMITH = {"insurer": "Acme Health", "listing_id": "L1", "npi": "1234567893", "provider_name": "Smith, John A MD",
         "address": "12 Main St Ste 4, Springfield, IL 62701", "observed_at": dt.datetime(2026, 11, 10, 9)}
CONTACT = Contact("Springfield Family Medicine", "2175550100")


def row(finding_type: str, field: str, source: str, observed: str, confidence: float = 0.9, **extra):
    """A finding row as reconcile.findings builds it."""
    return {**SMITH, "finding_type": finding_type, "field": field, "evidence_source": source,
            "observed_value": observed, "confidence": confidence, **extra}


def test_phone_update_from_single_website_number_formats_for_humans():
    act = recommend(row("phone", "phone", "website", "217.555.0199; +1 217 555 0199"), contact=CONTACT)
    assert (act.action, act.proposed_value) == ("update", "(217) 555-0199")
    assert "website" in act.reason


def test_phone_several_numbers_on_site_is_verify_naming_who_to_call():
    act = recommend(row("phone", "phone", "website", "217-555-0199; 217-555-0142"), contact=CONTACT)
    assert act.action == "verify" and act.proposed_value is None
    assert "Springfield Family Medicine" in act.reason and "(217) 555-0100" in act.reason
    assert "which number" in act.reason


def test_phone_wrong_number_report_has_no_value_to_propose():
    act = recommend(row("phone", "phone", "secret_shopper", "wrong number: (217) 555-0100"), contact=CONTACT)
    assert act.action == "verify"


def test_address_update_is_a_usps_line():
    act = recommend(row("address", "address", "website", "400 North Oak Avenue, Suite 200, Springfield, IL 62702"))
    assert act.action == "update"
    assert act.proposed_value == "400 N OAK AVE STE 200, SPRINGFIELD, IL 62702"


def test_address_from_report_without_new_address_is_verify():
    assert recommend(row("address", "address", "attestation", "not at this address")).action == "verify"


def test_accepting_status_update_takes_canonical_status_from_report_or_site():
    for source in ("attestation", "website"):
        act = recommend(row("accepting_status", "accepting_status", source, "not_accepting"))
        assert (act.action, act.proposed_value) == ("update", "not_accepting")


def test_weak_evidence_is_verify_whatever_the_type():
    act = recommend(row("accepting_status", "accepting_status", "website", "not_accepting", confidence=0.5),
                    threshold=0.7)
    assert act.action == "verify" and "0.50" in act.reason
    assert recommend(row("accepting_status", "accepting_status", "website", "not_accepting", confidence=0.5),
                     threshold=0.4).action == "update"


def test_provider_not_at_location_removed_on_report_departure_or_complete_roster():
    assert recommend(row("provider_not_at_location", "provider", "phone_survey",
                         "not at this location")).action == "remove_from_location"
    assert recommend(row("provider_not_at_location", "provider", "website",
                         "left the practice: Dr. John Smith")).action == "remove_from_location"
    assert recommend(row("provider_not_at_location", "provider", "website", "not among: Dr. Jones; Dr. Brown",
                         confidence=0.7)).action == "remove_from_location"


def test_insurer_not_accepted_removes_from_network_only_on_practice_evidence():
    assert recommend(row("insurer_not_accepted", "insurer", "website",
                         "not accepted: Acme Health")).action == "remove_from_network"
    assert recommend(row("insurer_not_accepted", "insurer", "directory:Other",
                         "does not accept Acme Health")).action == "verify"


def test_cross_directory_conflict_is_verify():
    act = recommend(row("cross_directory_conflict", "phone", "directory:Beta Health", "(217) 555-0142",
                        confidence=0.9, evidence_text="Beta Health lists phone: (217) 555-0142"), contact=CONTACT)
    assert act.action == "verify" and "Beta Health lists phone" in act.reason


def test_stale_and_unreachable_suppress_stale_alone_verifies():
    stale = row("stale_listing", "last_updated", "directory", "400 days old", confidence=1.0,
                directory_value="2025-10-01")
    unreachable = row("unreachable", "reachable", "secret_shopper", "no_answer", directory_value="(217) 555-0100")
    both = recommend_all([stale, unreachable], {"L1": CONTACT})
    assert [a.action for a in both] == ["suppress_until_verified", "suppress_until_verified"]
    assert "stale" in both[1].reason
    assert recommend_all([stale])[0].action == "verify"
    assert recommend_all([unreachable])[0].action == "suppress_until_verified"
    other_listing = {**unreachable, "listing_id": "L2"}
    assert [a.action for a in recommend_all([stale, other_listing])] == ["verify", "suppress_until_verified"]


def test_unknown_finding_type_defaults_to_verify():
    assert recommend(row("reference_mismatch", "npi", "nppes", "x")).action == "verify"


def test_add_actions_appends_three_columns_and_replaces_old_ones():
    import pyarrow as pa

    table = pa.Table.from_pylist([row("accepting_status", "accepting_status", "attestation", "waitlist")])
    once = add_actions(table)
    twice = add_actions(once)
    assert once.column_names[-3:] == ["recommended_action", "proposed_value", "action_reason"]
    assert twice.column_names == once.column_names
    assert twice.column("proposed_value").to_pylist() == ["waitlist"]


@pytest.fixture()
def con(tmp_path):
    """A real warehouse file with every migration applied."""
    connection = connect(tmp_path / "warehouse.duckdb")
    yield connection
    connection.close()


def test_engine_and_store_put_actions_in_the_findings_view(con):
    site_url = "https://springfieldfm.example.com"
    listing = add_listing(con, npi="1234567893", provider_name="Smith, John A MD",
                          practice_name="Springfield Family Medicine", address="12 Main St Ste 4",
                          city="Springfield", state="IL", zip="62701", phone="(217) 555-0100", website=site_url + "/")
    add_site(con, site_url=site_url, practice_name="Springfield Family Medicine", phones=["217-555-0199"],
             addresses=["12 Main Street, Suite 4, Springfield, IL 62701"], providers=["Dr. John Smith"],
             roster_complete=False, accepting_status="unknown", insurers_accepted=[], insurers_not_accepted=[])
    add_observation(con, source="attestation", npi="1234567893", provider_name="John Smith",
                    address="12 Main St Ste 4", city="Springfield", state="IL", zip="62701", phone="2175550199",
                    accepting_status="not_accepting", raw={"insurer": "Acme Health"})
    as_of = dt.date(2026, 11, 24)
    result = reconcile(con, as_of, ReconcileSettings())
    save_reconcile(con, "run-1", as_of, result)
    rows = con.execute("SELECT field, recommended_action, proposed_value, action_reason FROM findings "
                       "WHERE listing_id = ? ORDER BY field", [listing]).fetchall()
    by_field = {r[0]: r[1:] for r in rows}
    assert by_field["phone"][:2] == ("update", "(217) 555-0199")
    assert by_field["accepting_status"][:2] == ("update", "not_accepting")
    columns = [r[0] for r in con.execute("DESCRIBE findings").fetchall()]
    assert columns[:3] == ["finding_id", "finding_type", "insurer"]
    assert columns[-3:] == ["recommended_action", "proposed_value", "action_reason"]
    assert columns.index("link_score") == 24


def test_invalid_npi_check_digit_is_verify_asking_for_the_npi():
    act = recommend(row("invalid_npi", "npi", "reference", "fails the NPI check digit", confidence=1.0), contact=CONTACT)
    assert act.action == "verify" and "NPI" in act.reason and "(217) 555-0100" in act.reason


def test_deactivated_npi_is_suppressed_until_verified():
    act = recommend(row("invalid_npi", "npi", "reference", "deactivated 2024-05-01 per NPPES", confidence=0.95),
                    contact=CONTACT)
    assert act.action == "suppress_until_verified" and "deactivated 2024-05-01" in act.reason


def test_verify_reason_names_the_practice_and_listed_phone_from_the_run(con):
    site_url = "https://springfieldfm.example.com"
    add_listing(con, npi="1234567893", provider_name="Smith, John A MD", practice_name="Springfield Family Medicine",
                address="12 Main St Ste 4", city="Springfield", state="IL", zip="62701", phone="217.555.0100",
                website=site_url + "/")
    add_site(con, site_url=site_url, practice_name="Springfield Family Medicine",
             phones=["217-555-0199", "217-555-0142"], addresses=["12 Main Street, Suite 4, Springfield, IL 62701"],
             providers=["Dr. John Smith"], roster_complete=False, accepting_status="unknown",
             insurers_accepted=[], insurers_not_accepted=[])
    result = reconcile(con, dt.date(2026, 11, 24), ReconcileSettings())
    phone = [r for r in result.findings.to_pylist() if r["field"] == "phone"]
    assert len(phone) == 1 and phone[0]["recommended_action"] == "verify"
    assert "call Springfield Family Medicine at (217) 555-0100" in phone[0]["action_reason"]
    assert "2 numbers" in phone[0]["action_reason"]
