"""Accepting-new-patients vocabulary: directory flags, FHIR codes, report phrases, negation."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconcile.normalize.accepting import CANONICAL, normalize_accepting, takes_new_patients

CASES = {
    "accepting": ["yes", "Y", "TRUE", "1", "Accepting", "Accepting new patients", "Open", "newpt", "accepting",
                  "Currently accepting new patients", "New patients welcome", "Yes!", "Accepting New Patients: Yes",
                  "taking new patients", "Yes - next available appt in 3 weeks", True, 1,
                  "Accepting New Patients? Yes", "Accepting new patients | Y", "Accepting new patients - ages 18+",
                  "✓", "✔️", "New Patients: ✔", "✓ Accepting new patients", "Booking new patients",
                  "Now scheduling new patients", "Accepting new patients in Marion and Decatur",
                  "Accepting new patients from January 2024", "Now accepting new patients in March"],
    "not_accepting": ["no", "N", "false", "0", "Not accepting", "closed", "closed panel", "Panel closed", "full",
                      "nopt", "not accepting", "Not accepting new patients at this time", "No longer accepting",
                      "NOT TAKING NEW PATIENTS", "Panel is full", "Accepting new patients: No", "isn't accepting",
                      "Practice closed to new patients", "Provider retired", "Dr. left the practice", False, 0,
                      "Accepting New Patients? No", "Accepting new patients - No", "Accepting new patients = N",
                      "Accepting new patients | no", "Accepting new patients — No", "✗", "New patients: ❌",
                      "✘ Accepting new patients", "✓ Not accepting new patients", "Not booking new patients",
                      "Stopped accepting new patients", "Will accept new patients in January",
                      "Accepting new patients starting next year"],
    "existing_only": ["existing patients only", "Established patients only", "current patients only", "existptonly",
                      "existptfam", "Only accepting existing patients", "No - existing patients only",
                      "Existing patients and family only", "Existing patients and family members",
                      "Accepting existing patients and their families"],
    "waitlist": ["waitlist", "waiting list", "Wait list 6 months", "Wait-list", "Accepting new patients (waitlist)",
                 "Waitlisted"],
    "limited": ["with referral", "limited", "by referral only", "accepting Medicare only", "some plans",
                "Yes, with referral", "Accepting some insurance plans", "Case by case", "Limited availability",
                "Only if referred by PCP", "Accepting new patients for Medicaid only"],
    "unknown": ["", "   ", "N/A", "unknown", "call office", "see website", "?", "-", "Contact office for details",
                "purple", "Information not available", "Status unavailable", "Accepting new patients: N/A", "Could not reach", "Did not answer", "Unable to reach office", "Left voicemail",
                "Wrong number", None, 7, float("nan")],
}


@pytest.mark.parametrize(("text", "expected"), [(t, k) for k, ts in CASES.items() for t in ts])
def test_normalize_accepting_table(text, expected):
    """Short values from directories, reports and FHIR codes map to one canonical status."""
    assert normalize_accepting(text) == expected


@pytest.mark.parametrize("status", CANONICAL)
def test_canonical_values_are_fixed_points(status):
    """Normalizing an already-canonical value returns it unchanged (idempotence across pipeline stages)."""
    assert normalize_accepting(status) == status


@pytest.mark.parametrize(
    ("status", "expected"),
    [("accepting", True), ("limited", True), ("not_accepting", False), ("existing_only", False),
     ("waitlist", False), ("unknown", None), (None, None)],
)
def test_takes_new_patients(status, expected):
    """The coarse comparison of DESIGN.md."""
    assert takes_new_patients(status) is expected


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(["accepting", "taking", "seeing"]), st.sampled_from(["", "new ", "New "]),
       st.sampled_from(["patients", "clients", "pts"]), st.sampled_from(["", " at this time", " currently", "."]),
       st.sampled_from(["not ", "NOT ", "no longer ", "currently not ", "isn't ", "is not "]))
def test_negation_always_wins(verb, new, noun, tail, negation):
    """'not accepting ...' never comes out as accepting, whatever the wording around it."""
    positive = f"{verb} {new}{noun}{tail}"
    assert normalize_accepting(f"{negation}{positive}") == "not_accepting"
    assert takes_new_patients(normalize_accepting(f"{negation}{positive}")) is False


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_any_text_yields_a_canonical_status(text):
    """Arbitrary input never raises and always yields a canonical value."""
    assert normalize_accepting(text) in CANONICAL
