"""Specialty lookup against the NUCC taxonomy: codes, names, synonyms, composites and safe fuzzy matching."""

import csv
from importlib import resources

import pytest

from reconcile.normalize.specialty import lookup_specialty, specialty_by_code


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("207Q00000X", "207Q00000X"),
        ("207q00000x", "207Q00000X"),
        ("Taxonomy: 208000000X", "208000000X"),
        ("Family Medicine", "207Q00000X"),
        ("FAMILY MEDICINE PHYSICIAN", "207Q00000X"),
        ("Family Practice", "207Q00000X"),
        ("PCP", "207Q00000X"),
        ("OB/GYN", "207V00000X"),
        ("Ob-Gyn", "207V00000X"),
        ("Obstetrics and Gynecology", "207V00000X"),
        ("Obstetrics & Gynecology", "207V00000X"),
        ("Peds", "208000000X"),
        ("Pediatrics", "208000000X"),
        ("Cardiology", "207RC0000X"),
        ("Cardiovascular Disease", "207RC0000X"),
        ("Internist", "207R00000X"),
        ("Internal Medicine", "207R00000X"),
        ("Internal Medicine - Gastroenterology", "207RG0100X"),
        ("Sleep Medicine (Pediatrics)", "2080S0012X"),
        ("Nurse Practitioner - Family", "363LF0000X"),
        ("Dermatolgy", "207N00000X"),  # typo, fuzzy
        ("Orthopedic Surgery", "207X00000X"),
        ("Neurology", "2084N0400X"),
        ("Urology", "208800000X"),
        ("Licensed Clinical Social Worker", "1041C0700X"),
        ("Physician Assistant", "363A00000X"),
    ],
)
def test_lookup_specialty_table(text, code):
    """Directory labels resolve to the right NUCC code."""
    spec = lookup_specialty(text)
    assert spec is not None and spec.code == code


@pytest.mark.parametrize("text", ["", "   ", None, "xyz", "Best doctor in town", "Plumbing", "999Z99999X"])
def test_unknown_specialties_are_none(text):
    """Unrelated or empty text is not forced onto some taxonomy entry."""
    assert lookup_specialty(text) is None


def test_every_display_name_round_trips():
    """Every active NUCC display name resolves to an entry with that same display name."""
    with resources.files("reconcile.data").joinpath("nucc_provider_taxonomy.csv").open(encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if not r["Display Name"].startswith("Deactivated")]
    misses = [r["Display Name"] for r in rows
              if lookup_specialty(r["Display Name"]).display.strip() != r["Display Name"].strip()]
    assert misses == []
    assert specialty_by_code(rows[0]["Code"]).display == rows[0]["Display Name"]


def test_synonym_table_codes_exist():
    """Every shipped synonym points at a code present in the NUCC file."""
    with resources.files("reconcile.data").joinpath("specialty_synonyms.csv").open(encoding="utf-8") as handle:
        bad = [r for r in csv.DictReader(handle) if specialty_by_code(r["code"]) is None]
    assert bad == []
