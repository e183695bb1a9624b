"""Property tests: formatting-only changes to a listing's name, phone and address never yield a finding."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).parent))

from reconcile.engine import reconcile  # noqa: E402
from reconcile.settings import ReconcileSettings  # noqa: E402
from reconcile_world import add_listing, add_observation, add_site  # noqa: E402
from warehouse.db import connect  # noqa: E402

AS_OF = dt.date(2026, 11, 24)
SITE = "https://springfieldfm.example.com"

CASES = st.sampled_from([str, str.upper, str.lower, str.title])


@st.composite
def person_names(draw) -> str:
    """John Andrew Smith, MD as directories write him: order, initials, credentials, titles, case."""
    middle = draw(st.sampled_from(["", "A", "A.", "Andrew"]))
    cred = draw(st.sampled_from(["", " MD", ", MD", " M.D.", ", M.D.", ", MD, FACP"]))
    title = draw(st.sampled_from(["", "Dr. ", "Dr "]))
    form = draw(st.sampled_from(["first_last", "last_first"]))
    if form == "first_last":
        text = f"{title}John {middle + ' ' if middle else ''}Smith{cred}"
    else:
        text = f"Smith, John{' ' + middle if middle else ''}{cred}"
    return draw(CASES)(text)


PHONES = st.sampled_from([
    "(217) 555-0100", "217-555-0100", "217.555.0100", "+1 217 555 0100", "1-217-555-0100", "2175550100",
    "217 555 0100", "+12175550100", "Tel: (217) 555-0100", "(217)555-0100",
])


@st.composite
def street_lines(draw) -> tuple[str, str, str]:
    """12 Main Street, Suite 4 in its many spellings, plus city and ZIP variants."""
    street = draw(st.sampled_from(["Main St", "Main St.", "Main Street", "MAIN ST"]))
    unit = draw(st.sampled_from(["Ste 4", "Suite 4", "STE 4", "Ste. 4", "# 4", "#4"]))
    sep = draw(st.sampled_from([" ", ", "]))
    zip_code = draw(st.sampled_from(["62701", "62701-1234", "627011234"]))
    city = draw(CASES)("Springfield")
    return draw(CASES)(f"12 {street}{sep}{unit}"), city, zip_code


def _evidence(con) -> None:
    """The practice's truth: its website and a phone survey that reached it."""
    add_site(con, site_url=SITE, practice_name="Springfield Family Medicine", phones=["217-555-0100"],
             addresses=["12 Main Street, Suite 4, Springfield, IL 62701"], providers=["Dr. John Smith", "Mary Jones"],
             roster_complete=True, accepting_status="Accepting new patients", insurers_accepted=["Acme", "Cobalt"])
    add_observation(con, source="phone_survey", npi="1234567893", provider_name="Dr. John Smith",
                    phone="217-555-0100", reachable=True, call_outcome="reached", accepting_status="yes",
                    raw={"provider_at_location": True, "correct_location": True, "accepts_plan": True})


def _listings(con, variants: list[tuple[str, str, tuple[str, str, str]]]) -> None:
    """Replace the directory with one listing per formatting variant (alternating two insurers)."""
    con.execute("DELETE FROM listing_rows")
    for i, (name, phone, (street, city, zip_code)) in enumerate(variants):
        add_listing(con, insurer=("Acme Health", "Cobalt Care")[i % 2], npi="1234567893", provider_name=name,
                    practice_name="Springfield Family Medicine", address=street, city=city, state="IL",
                    zip=zip_code, phone=phone, website=SITE if i % 3 else None, accepting_status="accepting")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """One real warehouse file for the module; each example replaces the listings."""
    con = connect(tmp_path_factory.mktemp("prop") / "warehouse.duckdb")
    _evidence(con)
    yield con
    con.close()


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(variants=st.lists(st.tuples(person_names(), PHONES, street_lines()), min_size=2, max_size=5))
def test_formatting_only_differences_never_yield_findings(world, variants):
    _listings(world, variants)
    result = reconcile(world, AS_OF, ReconcileSettings())
    rows = result.findings.to_pylist()
    assert rows == [], [(r["finding_type"], r["directory_value"], r["observed_value"]) for r in rows]
    # ... and the evidence really was consulted: every listing was checked (the property is not vacuous)
    assert result.listings_checked == len(variants)


def test_the_property_can_fail(world):
    """The same world with a real difference (another phone) does produce a finding."""
    _listings(world, [("John Smith", "217-555-0199", ("12 Main St Ste 4", "Springfield", "62701"))])
    result = reconcile(world, AS_OF, ReconcileSettings())
    assert {r["finding_type"] for r in result.findings.to_pylist()} == {"phone"}
