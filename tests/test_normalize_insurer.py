"""Insurer names: normalization and matching free-text names to the configured insurers."""

import csv
from importlib import resources

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconcile.normalize.insurer import InsurerMatcher, normalize_insurer_name

CANONICAL = ["Acme Health", "Cobalt Care", "Blue Cross Blue Shield of Illinois", "UnitedHealthcare", "Aetna",
             "Medicare", "Kaiser Permanente", "Ambetter"]


@pytest.fixture(scope="module")
def matcher():
    """A matcher over a realistic configured insurer list."""
    return InsurerMatcher(CANONICAL, aliases={"Cobalt Care": ["CC Health", "Cobalt Medicaid Plan"]})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Acme Health, Inc.", "acme"),
        ("ACME HEALTH PLAN", "acme"),
        ("The Acme Insurance Company", "acme"),
        ("Blue Cross & Blue Shield of Illinois", "blue cross and blue shield of illinois"),
        ("Aetna PPO", "aetna"),
        ("Health Plan", "health plan"),  # nothing left after stripping: keep the words
        ("Café Santé LLC", "cafe sante"),
        ("", ""),
        (None, ""),
    ],
)
def test_normalize_insurer_name(text, expected):
    """Case, punctuation, legal suffixes and generic words go; 'of <state>' stays."""
    assert normalize_insurer_name(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Acme Health", "Acme Health"),
        ("Acme Health Plan", "Acme Health"),
        ("ACME", "Acme Health"),
        ("acme health, inc.", "Acme Health"),
        ("Apex Health", None),
        ("Apex", None),
        ("BCBS", "Blue Cross Blue Shield of Illinois"),
        ("Blue Cross", "Blue Cross Blue Shield of Illinois"),
        ("Anthem Blue Cross", "Blue Cross Blue Shield of Illinois"),
        ("BCBS of Illinois", "Blue Cross Blue Shield of Illinois"),
        ("Blue Cross Blue Shield of Texas", None),  # a different licensee
        ("UHC", "UnitedHealthcare"),
        ("United Healthcare", "UnitedHealthcare"),
        ("United Health Care", "UnitedHealthcare"),
        ("UMR", "UnitedHealthcare"),
        ("Optum", "UnitedHealthcare"),
        ("Unitd Healthcare", "UnitedHealthcare"),  # typo
        ("Aetna Medicare Advantage", "Aetna"),  # brand before program
        ("Aetna PPO", "Aetna"),
        ("Original Medicare", "Medicare"),
        ("Medicare", "Medicare"),
        ("Kaiser", "Kaiser Permanente"),
        ("Centene", "Ambetter"),
        ("Cobalt", "Cobalt Care"),
        ("CC Health", "Cobalt Care"),  # config alias
        ("Cigna", None),  # not configured
        ("Humana", None),
        ("", None),
        (None, None),
        ("Care", None),
    ],
)
def test_match_table(matcher, text, expected):
    """Names as practices write them resolve to the configured insurer, or to nothing."""
    assert matcher.match(text) == expected


def test_match_many_equals_match(matcher):
    """The vectorized path gives the same answers as one-at-a-time matching, in input order."""
    texts = ["ACME", "Apex Health", None, "uhc", "Unitd Healthcare", "Cigna", "ACME", "Cobalt care llc"]
    assert matcher.match_many(texts) == [matcher.match(t) for t in texts]
    assert matcher.match_many([]) == []


def test_ambiguous_family_is_not_guessed():
    """With two BCBS licensees configured, a bare 'BCBS' is ambiguous and matches neither."""
    m = InsurerMatcher(["Blue Cross Blue Shield of Illinois", "Blue Cross Blue Shield of Texas"])
    assert m.match("BCBS") is None
    assert m.match("Blue Cross Blue Shield of Texas") == "Blue Cross Blue Shield of Texas"


def test_shipped_aliases_have_rows():
    """The shipped alias table covers the major national carriers and programs."""
    with resources.files("reconcile.data").joinpath("insurer_aliases.csv").open(encoding="utf-8") as handle:
        families = {row["family"] for row in csv.DictReader(handle)}
    assert {"Blue Cross Blue Shield", "UnitedHealthcare", "Aetna", "Cigna", "Humana", "Kaiser Permanente",
            "Molina Healthcare", "Centene", "Oscar Health", "Medicare", "Medicaid", "Tricare"} <= families


_BRAND_MATCHER = InsurerMatcher([f"{b} Health" for b in ["Acme", "Cobalt", "Zenith", "Harbor", "Summit", "Pioneer"]])
_BRANDS = st.sampled_from(["Acme", "Cobalt", "Zenith", "Harbor", "Summit", "Pioneer"])


@settings(max_examples=100, deadline=None)
@given(_BRANDS, st.sampled_from(["", " Health", " Health Plan", ", Inc.", " Insurance Company", " LLC", " HMO"]),
       st.sampled_from([str.upper, str.lower, str.title, lambda s: s]))
def test_decorations_never_change_the_match(brand, decoration, case):
    """Legal suffixes, generic words and case never change which insurer a name matches."""
    assert _BRAND_MATCHER.match(case(brand + decoration)) == f"{brand} Health"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Aetna Medicare", None),  # a Medicare Advantage product of another carrier is not Original Medicare
        ("Humana Gold Plus", None),
        ("Original Medicare Part B", "Medicare"),
        ("Medicare Advantage (Acme)", "Acme Health"),
        ("Acme Gold PPO 2024", "Acme Health"),
        ("Cobalt Care Medicaid", "Cobalt Care"),
        ("Cignna", None),  # a misspelt known carrier is not fuzzed onto a configured one
    ],
)
def test_products_and_other_carriers(text, expected):
    """Product names resolve to their carrier; other known carriers never fall through to a configured one."""
    m = InsurerMatcher(["Acme Health", "Cobalt Care", "Medicare"])
    assert m.match(text) == expected
