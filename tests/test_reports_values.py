"""Report cells and headers: header variants, NPI, dates, booleans, insurer lists, accepting status, call outcomes."""

from __future__ import annotations

import datetime as dt

import pytest

from crawlers.reports.columns import canonical_column, map_headers
from crawlers.reports.values import (
    parse_bool,
    parse_call_outcome,
    parse_date,
    parse_datetime,
    parse_first_appointment,
    parse_npi,
    parse_source,
    report_accepting,
    split_insurers,
)
from reconcile.normalize.npi import npi_check_digit

HEADERS = [
    ("NPI", "npi"), ("NPI Number", "npi"), ("npi #", "npi"), ("Provider NPI", "npi"), ("Rendering NPI", "npi"),
    ("Group NPI", None), ("Organization NPI", None), ("NPI - Practice", None), ("NPI (Type 1)", "npi"),
    ("Accepting New Patients (Y/N)", "accepting_new_patients"), ("Date of first available appointment", "first_appointment"),
    ("Accepting New Patients?", "accepting_new_patients"), ("accepting_new_patients", "accepting_new_patients"),
    ("  ACCEPTING   NEW  PATIENTS ", "accepting_new_patients"), ("New Pts?", "accepting_new_patients"),
    ("Panel Status", "accepting_new_patients"),
    ("Phone Dialed", "phone"), ("Number Called", "phone"), ("Phone #", "phone"), ("Telephone", "phone"),
    ("Fax", None), ("Fax Number", None),
    ("Date of Call", "reported_at"), ("Call Date", "reported_at"), ("reported_at", "reported_at"),
    ("Attestation Date", "reported_at"), ("Date/Time", "reported_at"),
    ("Plans Accepted", "insurers_accepted"), ("Insurances Accepted", "insurers_accepted"),
    ("Accepted Payers", "insurers_accepted"), ("Plans NOT accepted", "insurers_not_accepted"),
    ("Outcome", "call_outcome"), ("Call Result", "call_outcome"), ("Disposition", "call_outcome"),
    ("Reached?", "reachable"), ("Able to reach", "reachable"), ("Did anyone answer?", "reachable"),
    ("First Available Appointment", "first_appointment"), ("Next appt", "first_appointment"),
    ("Is this the provider's office?", "correct_location"), ("Does the provider take this plan?", "accepts_plan"),
    ("Zip Code", "zip"), ("ZIP+4", "zip"), ("Postal Code", "zip"), ("ST", "state"), ("Suite", "address2"),
    ("Street Address", "address"), ("Practice", "practice_name"), ("Clinic Name", "practice_name"),
    ("Physician Name", "provider_name"), ("Caller Notes", "caller_notes"), ("Report Type", "source"),
    ("Listing ID", "listing_id"), ("Shirt size", None), ("Caller Initials", None),
]


@pytest.mark.parametrize(("header", "expected"), HEADERS)
def test_header_variants_map_to_report_columns(header: str, expected: str | None) -> None:
    assert canonical_column(header) == expected


def test_the_most_specific_header_claims_a_column_and_the_rest_are_kept_as_extras() -> None:
    mapping = map_headers(["\ufeffNPI Number", "Phone", "Phone Dialed", "Favourite colour"])
    assert mapping.columns == {"npi": "\ufeffNPI Number", "phone": "Phone Dialed"}
    assert mapping.extras == ["Phone", "Favourite colour"]
    google_form = map_headers(["Timestamp", "NPI", "Date of Call", "Email Address"])
    assert google_form.columns["reported_at"] == "Date of Call"  # not the form's submission time
    assert google_form.extras == ["Timestamp", "Email Address"]
    twins = map_headers(["Notes", "Comments"])
    assert twins.columns == {"caller_notes": "Notes"} and twins.extras == ["Comments"]


def _npi(first9: str) -> str:
    """A valid NPI from nine digits."""
    return first9 + npi_check_digit(first9)


def test_npi_is_validated_with_the_luhn_check_digit() -> None:
    good = _npi("123456789")
    assert parse_npi(good) == good
    assert parse_npi(f" {good[:3]}-{good[3:6]}-{good[6:]} ") == good
    assert parse_npi(float(good)) == good  # a spreadsheet turned it into a number
    assert parse_npi("") is None and parse_npi("N/A") is None
    wrong = good[:9] + str((int(good[9]) + 1) % 10)
    with pytest.raises(ValueError, match="check digit"):
        parse_npi(wrong)
    with pytest.raises(ValueError, match="10 digits"):
        parse_npi("12345")


@pytest.mark.parametrize("text", ["2026-11-25", "11/25/2026", "11/25/26", "11-25-2026", "Nov 25, 2026",
                                  "November 25th, 2026", "25 Nov 2026", "Wed, Nov 25, 2026", "2026/11/25",
                                  "25/11/2026", "46351"])
def test_usual_us_and_iso_dates_parse_to_the_same_day(text: str) -> None:
    assert parse_date(text) == dt.date(2026, 11, 25)


def test_times_are_kept_and_bad_dates_are_refused() -> None:
    assert parse_datetime("11/25/2026 2:30 PM") == dt.datetime(2026, 11, 25, 14, 30)
    assert parse_datetime("2026-11-25T14:03:00Z") == dt.datetime(2026, 11, 25, 14, 3, tzinfo=dt.timezone.utc)
    assert parse_datetime("  ") is None
    for bad in ("13/45/2026", "next tuesday", "2026-02-30"):
        with pytest.raises(ValueError, match="unreadable date"):
            parse_datetime(bad)


@pytest.mark.parametrize(("text", "expected"), [
    ("yes", True), ("Y", True), ("TRUE", True), ("1", True), ("x", True), ("Yes - confirmed", True),
    ("no", False), ("N", False), ("false", False), ("0", False), ("No, wrong office", False),
    ("", None), ("n/a", None), ("unknown", None),
])
def test_booleans(text: str, expected: bool | None) -> None:
    assert parse_bool(text) is expected


def test_a_non_boolean_is_refused() -> None:
    with pytest.raises(ValueError, match="yes/no"):
        parse_bool("maybe")


@pytest.mark.parametrize(("text", "expected"), [
    ("Aetna; Cigna", ["Aetna", "Cigna"]),
    ("Aetna | Cigna|Humana", ["Aetna", "Cigna", "Humana"]),
    ("Aetna, Cigna, and Humana", ["Aetna", "Cigna", "Humana"]),
    ("Aetna and Cigna", ["Aetna", "Cigna"]),
    ("Medicare/Medicaid", ["Medicare", "Medicaid"]),
    ("Blue Cross Blue Shield", ["Blue Cross Blue Shield"]),
    ("Blue Cross and Blue Shield of Illinois; Humana", ["Blue Cross and Blue Shield of Illinois", "Humana"]),
    ("Blue Cross/Blue Shield, Aetna", ["Blue Cross/Blue Shield", "Aetna"]),
    ("Blue Cross & Blue Shield and Cigna", ["Blue Cross & Blue Shield", "Cigna"]),
    ("UnitedHealthcare, Inc.; Ambetter", ["UnitedHealthcare Inc", "Ambetter"]),
    ("Aetna; Aetna", ["Aetna"]),
    ("None", []), ("", []),
    (["Aetna", " Cigna ", ""], ["Aetna", "Cigna"]),
    ([{"name": "Aetna"}, {"insurer": "Humana"}], ["Aetna", "Humana"]),
])
def test_insurer_lists_split_sensibly(text: object, expected: list[str]) -> None:
    assert split_insurers(text) == expected


# The free-text accepting-status mapping table reports need (shared mapper + report pre-mapping).
ACCEPTING = [
    ("yes", "accepting"), ("Y", "accepting"), ("Accepting", "accepting"), ("Taking new patients", "accepting"),
    ("New patients welcome", "accepting"), ("no", "not_accepting"), ("closed panel", "not_accepting"),
    ("No, panel full", "not_accepting"), ("Not at this time", "not_accepting"),
    ("existing patients only", "existing_only"), ("Existing pts only", "existing_only"),
    ("waitlist 6 months", "waitlist"), ("wait list", "waitlist"), ("3 month wait", "waitlist"),
    ("with referral", "limited"), ("Only with a referral", "limited"), ("Accepting - Medicaid only", "limited"),
    ("Depends on insurance", "limited"), ("limited", "limited"),
    ("Unable to confirm", "unknown"), ("could not reach", "unknown"), ("not asked", "unknown"),
    ("Did not ask", "unknown"), ("no answer", "unknown"), ("", "unknown"), (None, "unknown"),
    (True, "accepting"), (False, "not_accepting"),
]


@pytest.mark.parametrize(("text", "expected"), ACCEPTING)
def test_free_text_accepting_status_mapping(text: object, expected: str) -> None:
    assert report_accepting(text) == expected


OUTCOMES = [
    ("reached", "reached"), ("Spoke with receptionist", "reached"), ("talked to front desk", "reached"),
    ("wrong number", "wrong_number"), ("Wrong #", "wrong_number"), ("residence, not a doctor's office", "wrong_number"),
    ("No answer", "no_answer"), ("rang 10 times, no pickup", "no_answer"), ("busy signal", "no_answer"),
    ("Left VM", "voicemail"), ("voicemail", "voicemail"), ("left message", "voicemail"),
    ("Number disconnected", "disconnected"), ("not in service", "disconnected"), ("fast busy", "disconnected"),
    ("Transferred, then hung up", "transferred_unresolved"), ("on hold 20 min, call dropped", "transferred_unresolved"),
    ("transferred_unresolved", "transferred_unresolved"),
    ("Dr. Smith left the practice", "not_at_location"), ("provider retired", "not_at_location"),
    ("not at this location", "not_at_location"), ("Not at location", "not_at_location"),
    ("", None), ("see notes", None),
]


@pytest.mark.parametrize(("text", "expected"), OUTCOMES)
def test_call_outcome_vocabulary_from_free_text(text: str, expected: str | None) -> None:
    assert parse_call_outcome(text) == expected


def test_first_appointment_dates_and_relative_offers() -> None:
    called = dt.date(2026, 11, 25)
    assert parse_first_appointment("12/15/2026", called) == dt.date(2026, 12, 15)
    assert parse_first_appointment("in 3 weeks", called) == dt.date(2026, 12, 16)
    assert parse_first_appointment("tomorrow", called) == dt.date(2026, 11, 26)
    assert parse_first_appointment("Jan 5", called) == dt.date(2027, 1, 5)  # no year, said in November
    assert parse_first_appointment("no appointments available", called) is None
    with pytest.raises(ValueError, match="first appointment"):
        parse_first_appointment("whenever", called)


def test_sources() -> None:
    assert parse_source("Secret Shopper") == "secret_shopper"
    assert parse_source("phone survey") == "phone_survey"
    assert parse_source("ATTESTATION") == "attestation"
    assert parse_source("") is None
    with pytest.raises(ValueError, match="unknown report source"):
        parse_source("fax blast")


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.text(max_size=60), st.integers(), st.floats(allow_nan=True), st.booleans(), st.none()))
def test_cell_parsers_never_fail_with_anything_but_a_value_error(cell: object) -> None:
    assert report_accepting(cell) in ("accepting", "not_accepting", "existing_only", "waitlist", "limited", "unknown")
    assert parse_call_outcome(cell) in (None, "reached", "wrong_number", "no_answer", "voicemail", "disconnected",
                                        "transferred_unresolved", "not_at_location")
    assert all(isinstance(name, str) and name for name in split_insurers(cell))
    for parser in (parse_npi, parse_datetime, parse_bool, parse_source,
                   lambda c: parse_first_appointment(c, dt.date(2026, 11, 25))):
        try:
            parser(cell)
        except ValueError:
            pass
