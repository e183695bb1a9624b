"""Reconciliation engine: one hand-written case per finding type, its near miss, and evidence precedence."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from reconcile.engine import reconcile  # noqa: E402
from reconcile.settings import ReconcileSettings  # noqa: E402
from reconcile_world import add_listing, add_observation, add_site  # noqa: E402
from warehouse.db import connect  # noqa: E402

AS_OF = dt.date(2026, 11, 24)
SITE = "https://springfieldfm.example.com"
SMITH = dict(npi="1234567893", provider_name="Smith, John A MD", practice_name="Springfield Family Medicine",
             address="12 Main St Ste 4", city="Springfield", state="IL", zip="62701-1234", phone="(217) 555-0100",
             website=SITE + "/")


@pytest.fixture()
def con(tmp_path):
    """A real warehouse file with both migrations applied."""
    connection = connect(tmp_path / "warehouse.duckdb")
    yield connection
    connection.close()


def site(con, **values):
    """The Springfield Family Medicine website as the site crawler would land it."""
    base = dict(site_url=SITE, practice_name="Springfield Family Medicine", phones=["217-555-0100", "217-555-0101"],
                addresses=["12 Main Street, Suite 4, Springfield, IL 62701"],
                providers=["Dr. John Smith", "Mary Jones, DO", "Robert Brown MD"], roster_complete=True,
                accepting_status="unknown", insurers_accepted=[], insurers_not_accepted=[],
                evidence_text="Our team: Dr. John Smith, Mary Jones, DO, Robert Brown MD")
    base.update(values)
    return add_site(con, **base)


def run(con, **settings):
    """Reconcile as of AS_OF; returns the result."""
    return reconcile(con, AS_OF, ReconcileSettings(**settings))


def found(result, listing_id=None):
    """{(finding_type, field)} of the findings (optionally of one listing)."""
    rows = result.findings.to_pylist()
    return {(r["finding_type"], r["field"]) for r in rows if listing_id is None or r["listing_id"] == listing_id}


def finding(result, listing_id, finding_type):
    """The one finding row of a listing and type."""
    rows = [r for r in result.findings.to_pylist() if r["listing_id"] == listing_id and r["finding_type"] == finding_type]
    assert len(rows) == 1, result.findings.to_pylist()
    return rows[0]


# accepting_status ------------------------------------------------------------------------------------------------

def test_accepting_status_provider_claim_contradicts_listing(con):
    lid = add_listing(con, **SMITH, accepting_status="accepting")
    site(con, accepting_status="accepting")  # practice-level says yes ...
    add_observation(con, source="website", site_url=SITE, provider_name="Dr. John Smith",
                    accepting_status="not_accepting", evidence_text="Dr. Smith is not accepting new patients.")
    result = run(con)
    row = finding(result, lid, "accepting_status")  # ... but the provider-level claim wins for Dr. Smith
    assert (row["directory_value"], row["observed_value"]) == ("accepting", "not_accepting")
    assert row["evidence_text"] == "Dr. Smith is not accepting new patients."
    assert row["severity"] == "high" and row["npi"] == "1234567893"
    assert 0 < row["confidence"] <= 1


def test_accepting_status_near_miss_waitlist_vs_not_accepting(con):
    lid = add_listing(con, **SMITH, accepting_status="not_accepting")
    site(con, accepting_status="waitlist")
    assert ("accepting_status", "accepting_status") not in found(run(con), lid)


def test_accepting_status_near_miss_unknown_never_yields(con):
    lid = add_listing(con, **SMITH, accepting_status="accepting")
    site(con, accepting_status="unknown")
    add_observation(con, source="website", site_url=SITE, provider_name="John Smith", accepting_status="call for details")
    add_observation(con, source="phone_survey", npi="1234567893", provider_name="John Smith", phone="217-555-0100",
                    reachable=True, call_outcome="reached", accepting_status=None)
    assert not found(run(con), lid)


# phone -----------------------------------------------------------------------------------------------------------

def test_phone_not_among_practice_numbers(con):
    lid = add_listing(con, **{**SMITH, "phone": "217-555-0177"})
    site(con)
    row = finding(run(con), lid, "phone")
    assert row["directory_value"] == "217-555-0177"
    assert "217-555-0100" in row["observed_value"]
    assert row["evidence_source"] == "website"


def test_phone_near_miss_formatting_and_second_number(con):
    a = add_listing(con, **{**SMITH, "phone": "+1 217.555.0100"})
    b = add_listing(con, **{**SMITH, "npi": "1245319599", "provider_name": "Mary Jones DO", "phone": "2175550101"})
    site(con)
    result = run(con)
    assert not found(result, a) and not found(result, b)


def test_phone_wrong_number_report(con):
    lid = add_listing(con, **{**SMITH, "website": None})
    add_observation(con, source="secret_shopper", npi="1234567893", provider_name="John Smith",
                    phone="217-555-0100", reachable=True, call_outcome="wrong_number",
                    evidence_text="Reached a pizza place")
    row = finding(run(con), lid, "phone")
    assert row["evidence_source"] == "secret_shopper" and row["evidence_text"] == "Reached a pizza place"


# address ---------------------------------------------------------------------------------------------------------

def test_address_not_among_practice_addresses(con):
    lid = add_listing(con, **{**SMITH, "address": "40 Oak Ave", "zip": "62704"})
    site(con)
    row = finding(run(con), lid, "address")
    assert row["directory_value"].startswith("40 Oak Ave")
    assert "12 Main Street" in row["observed_value"]


def test_address_near_miss_formatting(con):
    lid = add_listing(con, **{**SMITH, "address": "12 MAIN STREET SUITE 4", "city": "SPRINGFIELD", "zip": "62701"})
    site(con)
    assert not found(run(con), lid)


# provider_not_at_location ----------------------------------------------------------------------------------------

def test_provider_missing_from_complete_roster(con):
    lid = add_listing(con, **{**SMITH, "npi": "1003000126", "provider_name": "Garcia, Elena MD"})
    site(con)
    row = finding(run(con), lid, "provider_not_at_location")
    assert row["severity"] == "critical" and "not among" in row["observed_value"]


def test_provider_near_miss_nickname_credentials_and_incomplete_roster(con):
    bob = add_listing(con, **{**SMITH, "npi": "1003000126", "provider_name": "BROWN, BOB, M.D."})
    site(con)
    other_site = "https://northclinic.example.org"
    elena = add_listing(con, **{**SMITH, "npi": "1245319599", "provider_name": "Elena Garcia MD",
                                "practice_name": "North Clinic", "website": other_site, "phone": "217-555-0300",
                                "address": "9 Elm St"})
    add_site(con, site_url=other_site, practice_name="North Clinic", phones=["217-555-0300"],
             addresses=["9 Elm St, Springfield, IL 62701"], providers=["Dr. Ann Lee"], roster_complete=False)
    result = run(con)
    assert not found(result, bob)
    assert not found(result, elena)  # a partial team page proves nothing about who is missing


def test_provider_departed_and_report_not_at_location(con):
    a = add_listing(con, **SMITH)
    site(con, providers=["Mary Jones, DO"], roster_complete=False, departed_providers=["Dr. John Smith"])
    b = add_listing(con, **{**SMITH, "npi": "1245319599", "provider_name": "Jones, Mary", "website": None,
                             "phone": "217-555-0400", "address": "70 Pine Rd"})
    add_observation(con, source="phone_survey", npi="1245319599", provider_name="Mary Jones", phone="217-555-0400",
                    reachable=True, call_outcome="not_at_location", evidence_text="She moved to Chicago")
    result = run(con)
    assert finding(result, a, "provider_not_at_location")["observed_value"].startswith("left the practice")
    assert finding(result, b, "provider_not_at_location")["evidence_source"] == "phone_survey"


# insurer_not_accepted ----------------------------------------------------------------------------------------------

def test_insurer_explicitly_not_accepted(con):
    lid = add_listing(con, **SMITH)
    site(con, insurers_not_accepted=["ACME"], insurers_accepted=["Aetna"])
    row = finding(run(con), lid, "insurer_not_accepted")
    assert row["severity"] == "critical" and "ACME" in row["observed_value"]


def test_insurer_missing_from_accepted_list_is_lower_confidence(con):
    explicit = add_listing(con, **SMITH)
    implicit = add_listing(con, **{**SMITH, "insurer": "Cobalt Care"})
    site(con, insurers_not_accepted=["Acme Health"], insurers_accepted=["Aetna", "Cigna"])
    result = run(con)
    assert finding(result, implicit, "insurer_not_accepted")["confidence"] < \
        finding(result, explicit, "insurer_not_accepted")["confidence"]


def test_insurer_near_miss_alias_on_accepted_list(con):
    lid = add_listing(con, **SMITH)
    site(con, insurers_accepted=["Aetna", "ACME HEALTH PLAN, INC."])
    assert not found(run(con), lid)


# stale_listing -----------------------------------------------------------------------------------------------------

def test_stale_listing_and_near_miss(con):
    old = add_listing(con, **SMITH, last_updated=dt.datetime(2026, 8, 20))  # 96 days before AS_OF
    fresh = add_listing(con, **{**SMITH, "npi": "1245319599"}, last_updated=dt.datetime(2026, 8, 30))  # 86 days
    ref = add_listing(con, **SMITH, insurer="NPPES", role="reference", last_updated=dt.datetime(2020, 1, 1))
    result = run(con)
    assert finding(result, old, "stale_listing")["directory_value"] == "2026-08-20"
    assert not found(result, fresh) and not found(result, ref)
    assert found(run(con, stale_days=80), fresh) == {("stale_listing", "last_updated")}


# cross_directory_conflict ------------------------------------------------------------------------------------------

def test_cross_directory_conflict_without_evidence_goes_on_both(con):
    a = add_listing(con, **{**SMITH, "website": None}, accepting_status="accepting")
    b = add_listing(con, **{**SMITH, "website": None, "insurer": "Cobalt Care", "provider_name": "JOHN SMITH",
                            "phone": "217.555.0100", "address": "12 Main Street #4", "zip": "62701"},
                    accepting_status="Not accepting new patients")
    result = run(con)
    assert found(result, a) == {("cross_directory_conflict", "accepting_status")}
    assert found(result, b) == {("cross_directory_conflict", "accepting_status")}  # phone/address: formatting only
    assert finding(result, a, "cross_directory_conflict")["evidence_source"] == "directory:Cobalt Care"


def test_cross_directory_conflict_goes_where_practice_evidence_contradicts(con):
    a = add_listing(con, **SMITH, accepting_status="accepting")
    b = add_listing(con, **{**SMITH, "insurer": "Cobalt Care"}, accepting_status="not_accepting")
    site(con, accepting_status="Not taking new patients at this time")
    result = run(con)
    assert found(result, a) == {("cross_directory_conflict", "accepting_status"), ("accepting_status", "accepting_status")}
    assert found(result, b) == set()


# unreachable -------------------------------------------------------------------------------------------------------

def test_unreachable_and_newest_report_wins(con):
    a = add_listing(con, **{**SMITH, "website": None})
    b = add_listing(con, **{**SMITH, "website": None, "npi": "1245319599", "provider_name": "Mary Jones",
                            "phone": "217-555-0500", "address": "70 Pine Rd"})
    add_observation(con, source="secret_shopper", phone="(217) 555-0100", reachable=False, call_outcome="no_answer",
                    evidence_text="rang 12 times")
    add_observation(con, source="secret_shopper", phone="217 555 0500", reachable=False, call_outcome="disconnected",
                    observed_at=dt.datetime(2026, 11, 1))
    add_observation(con, source="phone_survey", phone="2175550500", reachable=True, call_outcome="reached",
                    observed_at=dt.datetime(2026, 11, 20))
    result = run(con)
    row = finding(result, a, "unreachable")
    assert row["evidence_text"] == "rang 12 times" and row["observed_value"] == "no_answer"
    assert not found(result, b)


# precedence --------------------------------------------------------------------------------------------------------

def test_report_beats_website(con):
    agree = add_listing(con, **SMITH, accepting_status="accepting")
    site(con, accepting_status="not accepting new patients")
    add_observation(con, source="attestation", npi="1234567893", provider_name="John Smith", phone="217-555-0100",
                    accepting_status="accepting", reachable=True, observed_at=dt.datetime(2026, 10, 1))
    result = run(con)
    assert ("accepting_status", "accepting_status") not in found(result, agree)


def test_report_contradiction_wins_over_agreeing_website(con):
    lid = add_listing(con, **SMITH, accepting_status="accepting")
    site(con, accepting_status="accepting")
    add_observation(con, source="secret_shopper", npi="1234567893", provider_name="John Smith", phone="217-555-0100",
                    accepting_status="no", reachable=True, call_outcome="reached")
    assert finding(run(con), lid, "accepting_status")["evidence_source"] == "secret_shopper"


def test_website_beats_other_directory(con):
    a = add_listing(con, **SMITH)
    b = add_listing(con, **{**SMITH, "insurer": "Cobalt Care", "website": None, "phone": "217-555-0999"})
    site(con)
    result = run(con)
    assert ("cross_directory_conflict", "phone") not in found(result, a)
    assert ("cross_directory_conflict", "phone") in found(result, b)


def test_links_view_shapes_and_methods(con):
    a = add_listing(con, **SMITH)
    add_listing(con, **{**SMITH, "insurer": "Cobalt Care"})
    site(con)
    result = run(con)
    links = result.links.to_pylist()
    methods = {(r["left_id"], r["kind"]): r["method"] for r in links}
    assert methods[(a, "website")] == "website"
    assert all(0 < r["score"] <= 1 for r in links)
    assert any(r["kind"] == "directory" and r["method"].startswith("npi") for r in links)


def test_shared_building_alone_does_not_link(con):
    lid = add_listing(con, **{**SMITH, "website": None, "practice_name": "Lakeside Cardiology", "phone": "217-555-0900",
                               "provider_name": "Ann Lee MD", "npi": "1245319599"})
    site(con)  # same street address, different practice and phone: no link, hence no roster/phone finding
    result = run(con)
    assert not found(result, lid)
    assert not [r for r in result.links.to_pylist() if r["left_id"] == lid]


def test_metrics_accuracy_and_ghost_rate(con):
    good = add_listing(con, **SMITH)
    bad = add_listing(con, **{**SMITH, "npi": "1245319599", "provider_name": "Mary Jones DO", "phone": "217-555-0177"})
    site(con, accepting_status="not accepting new patients")
    metrics = {(r["insurer"], r["metric"], r["field"]): r for r in run(con).metrics.to_pylist()}
    phone = metrics[("Acme Health", "accuracy", "phone")]
    assert (phone["numerator"], phone["denominator"]) == (1, 2)
    assert phone["ci_low"] < 0.5 < phone["ci_high"]
    ghost = metrics[("Acme Health", "ghost_rate", "accepting_status")]
    assert (ghost["numerator"], ghost["denominator"]) == (2, 2)
    assert good != bad


def test_health_system_website_alone_does_not_link_every_location(con):
    system = "https://www.bighealth.example.org/"
    far = []
    for i in range(12):  # one website shared by listings in a dozen ZIP codes: a health system, not a practice
        far.append(add_listing(con, npi=None, provider_name=f"Provider{i} Example MD", practice_name="Big Health",
                               address=f"{100 + i} Elm St", city="Springfield", state="IL", zip=f"627{10 + i}",
                               phone=f"217-555-{1000 + i}", website=system))
    add_site(con, site_url=system, practice_name="Big Health", phones=["217-555-1000"],
             addresses=["100 Elm St, Springfield, IL 62710"], providers=[], roster_complete=False)
    result = run(con)
    linked = {r["left_id"] for r in result.links.to_pylist() if r["kind"] == "website"}
    assert far[0] in linked  # corroborated by phone and address
    assert not linked & set(far[1:])  # the shared domain alone is not enough
    assert not [r for r in result.findings.to_pylist() if r["finding_type"] in ("phone", "address")]


def test_otsu_threshold_splits_two_score_populations():
    import numpy as np

    from reconcile.link import otsu_threshold

    rng = np.random.default_rng(3)
    scores = np.concatenate([rng.normal(0.3, 0.05, 5000), rng.normal(0.9, 0.03, 500)])
    cut = otsu_threshold(scores)
    assert 0.45 < cut < 0.8
    assert otsu_threshold(np.array([])) == 0.5


def test_site_parts_and_org_key_fold_formatting():
    from reconcile.batch import org_key, site_parts

    assert site_parts("HTTPS://WWW.SpringfieldFM.example.com/index.html") == site_parts("springfieldfm.example.com")
    assert site_parts("https://www.facebook.com/DrSmithPeds/") != site_parts("https://facebook.com/OtherPractice")
    assert site_parts("not a url") is None
    assert org_key("Springfield Family Medicine, LLC") == org_key("SPRINGFIELD FAMILY MEDICINE")
    assert org_key("Springfield Family Medicine") != org_key("Springfield Pediatrics")


def test_messy_directory_values_do_not_crash_or_invent_findings(con):
    lid = add_listing(con, npi="12345", provider_name="  ", practice_name=None, address="", city=None, state=None,
                      zip="N/A", phone="call the office", website="javascript:void(0)", accepting_status="???",
                      last_updated=None)
    odd = add_listing(con, npi="1234567890", provider_name="DR", address="PO BOX", phone="0", website="http://",
                      accepting_status=None)
    site(con)
    add_observation(con, source="secret_shopper", phone="n/a", reachable=None, call_outcome=None, raw={"x": "y"})
    result = run(con)
    assert not found(result, lid) and not found(result, odd)
