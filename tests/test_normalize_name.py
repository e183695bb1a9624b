"""Person names: parsing provider names with credentials/suffixes and tolerant comparison."""

import csv
from importlib import resources

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconcile.normalize.name import first_names_match, name_key, parse_person, person_names_match


@pytest.mark.parametrize(
    ("text", "first", "middle", "last", "suffix", "credentials"),
    [
        ("Smith, John A., MD", "John", "A", "Smith", "", ("MD",)),
        ("Dr. John Smith", "John", "", "Smith", "", ()),
        ("JOHN A SMITH MD FACP", "JOHN", "A", "SMITH", "", ("MD", "FACP")),
        ("John Smith, M.D., Ph.D.", "John", "", "Smith", "", ("MD", "PhD")),
        ("Mary-Jane O'Neil DO", "Mary-Jane", "", "O'Neil", "", ("DO",)),
        ("Smith Jr, John", "John", "", "Smith", "Jr", ()),
        ("Smith, John Jr.", "John", "", "Smith", "Jr", ()),
        ("John A. Smith III, MD", "John", "A", "Smith", "III", ("MD",)),
        ("Jane Roe, PA-C", "Jane", "", "Roe", "", ("PA-C",)),
        ("Jane Roe FNP-BC", "Jane", "", "Roe", "", ("FNP-BC",)),
        ("Jane Q. Public, LCSW, PsyD", "Jane", "Q", "Public", "", ("LCSW", "PsyD")),
        ("SMITH, JOHN A MD", "JOHN", "A", "SMITH", "", ("MD",)),
        ("Sarah Connor, MS, RD, LDN", "Sarah", "", "Connor", "", ("MS", "RD", "LDN")),
        ("Anh Do", "Anh", "", "Do", "", ()),  # Do is a surname here, not a credential
        ("Anh Do, MD", "Anh", "", "Do", "", ("MD",)),
        ("Maria de la Cruz, DDS", "Maria", "", "de la Cruz", "", ("DDS",)),
        ("Dr. Smith", "", "", "Smith", "", ()),
        ("Dr. Mary Smith-Jones, DNP, APRN, FNP-BC", "Mary", "", "Smith-Jones", "", ("DNP", "APRN", "FNP-BC")),
        ("SMITH JR, JOHN A", "JOHN", "A", "SMITH", "Jr", ()),
        ("Robert (Bob) Jones, MD", "Robert", "", "Jones", "", ("MD",)),
        ("Jane Doe, M.S., CCC-SLP", "Jane", "", "Doe", "", ("MS", "CCC-SLP")),
        ("Jane Doe, OTR/L", "Jane", "", "Doe", "", ("OTR/L",)),
        ("Dr Jane Doe MD MPH", "Jane", "", "Doe", "", ("MD", "MPH")),
        ("JANE DOE PA", "JANE", "", "DOE", "", ("PA",)),
        ("Amy Ma", "Amy", "", "Ma", "", ()),
        ("Amy Ma, MA", "Amy", "", "Ma", "", ("MA",)),
    ],
)
def test_parse_person_table(text, first, middle, last, suffix, credentials):
    """Directory and website name formats split into parts with credentials set aside."""
    parsed = parse_person(text)
    assert (parsed.first, parsed.middle, parsed.last, parsed.suffix, parsed.credentials) == (
        first, middle, last, suffix, credentials)


@pytest.mark.parametrize("text", ["", "   ", None, "Dr.", "MD", "12345"])
def test_unparseable_names_are_none(text):
    """Nothing to compare: None, not an exception."""
    assert parse_person(text) is None


def test_name_key_folds_case_accents_and_punctuation():
    """The key is 'first|last' ASCII casefolded."""
    assert name_key("José Núñez, MD") == "jose|nunez"
    assert name_key("NÚÑEZ, JOSÉ") == "jose|nunez"
    assert name_key("Mary-Jane O'Neil DO") == "maryjane|oneil"
    assert name_key(None) is None


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("Bob", "Robert", True), ("Bill", "William", True), ("Liz", "Elizabeth", True), ("Kate", "Katherine", True),
        ("Jim", "James", True), ("Mike", "Michael", True), ("Tony", "Anthony", True), ("Peggy", "Margaret", True),
        ("J.", "John", True), ("J", "james", True), ("Chris", "Christopher", True), ("Mary-Jane", "Mary", True),
        ("Bert", "Albert", True), ("Robert", "Albert", False), ("John", "Jane", False), ("K.", "John", False),
        ("Michael", "Michelle", False), ("", "John", False), (None, "John", False),
        ("Ann", "Anne", True), ("Catherine", "Katherine", True), ("Steven", "Stephen", True), ("Jon", "John", True),
        ("Dan", "Danielle", False), ("Christopher", "Christina", False), ("Maria", "Mario", False),
    ],
)
def test_first_names_match(a, b, expected):
    """Nicknames, initials and hyphenated first names are compatible; different names are not."""
    assert first_names_match(a, b) is expected
    assert first_names_match(b, a) is expected


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("Bob Smith", "Robert A. Smith MD", True),
        ("Smith, Robert", "Dr. Bob Smith", True),
        ("J. Robert Smith", "Robert Smith", True),  # goes by his middle name
        ("Mary O'Neil", "MARY ONEIL", True),
        ("Mary O'Neil", "Mary O Neil", True),
        # a hyphenated surname written with a space reads as middle + last; that middle is then part of the surname
        ("Jane A. Smith-Lee, MD", "Jane Smith Lee", True),
        ("Jane A. Smith-Lee, MD", "Jane B. Smith Lee", False),
        ("Jane Smith Lee", "Jane B. Lee", False),
        ("Elizabeth Garcia-Lopez", "Liz Garcia Lopez", True),
        ("Elizabeth Garcia-Lopez", "Elizabeth Garcia", True),
        ("Dr. Smith", "John Smith", True),  # no first name on one side
        ("John A. Smith", "John Andrew Smith, MD", True),
        ("Nguyen, Thi Thu Ha", "Thi Ha Nguyen", True),
        ("John A. Smith", "John B. Smith", False),  # conflicting middle initials: two people
        ("John Smith Jr", "John Smith Sr", False),  # father and son
        ("John Smith Jr", "John Smith", True),
        ("John Smith", "Jane Smith", False),
        ("John Smith", "John Smyth", False),
        ("John Smith", None, False),
    ],
)
def test_person_names_match(a, b, expected):
    """Same surname (folded) and compatible first names."""
    assert person_names_match(a, b) is expected
    assert person_names_match(b, a) is expected


def test_nickname_table_is_well_formed():
    """Every row of the shipped nickname table has a formal name and at least one nickname."""
    with resources.files("reconcile.data").joinpath("nicknames.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) > 100
    assert all(r["name"].strip() and r["nicknames"].split() for r in rows)


_FIRST = st.sampled_from(["John", "Robert", "Elizabeth", "Maria", "William", "Katherine", "José", "Ngozi", "Wei"])
_LAST = st.sampled_from(["Smith", "O'Neil", "Garcia-Lopez", "Nguyen", "McDonald", "Núñez", "Okafor", "Van Buren"])
_CREDS = st.sampled_from(["", " MD", ", MD", ", M.D.", " DO", ", PhD", ", MD, FACP", " NP", ", PA-C", " FNP-BC"])
_CASE = st.sampled_from([str.upper, str.lower, lambda s: s])


def _render(first, middle, last, creds, style):
    """Write a name the ways directories and websites do."""
    mid = f" {middle}." if middle else ""
    if style == 0:
        return f"{first}{mid} {last}{creds}"
    if style == 1:
        return f"{last}, {first}{mid}{creds}"
    return f"Dr. {first}{mid} {last}{creds}"


@settings(max_examples=150, deadline=None)
@given(_FIRST, _LAST, st.sampled_from(["A", "Q"]), st.booleans(), st.booleans(), _CREDS, _CREDS,
       st.integers(0, 2), st.integers(0, 2), _CASE, _CASE)
def test_formatting_never_breaks_a_name_match(first, last, middle, mid_a, mid_b, cred_a, cred_b, style_a, style_b,
                                              case_a, case_b):
    """'Last, First', a middle initial added/removed, credentials, titles and case never make the same person differ."""
    a = case_a(_render(first, middle if mid_a else "", last, cred_a, style_a))
    b = case_b(_render(first, middle if mid_b else "", last, cred_b, style_b))
    assert person_names_match(a, b), (a, b)


@settings(max_examples=100, deadline=None)
@given(_FIRST, _LAST, _LAST, _CREDS, st.integers(0, 2))
def test_a_different_last_name_never_matches(first, last_a, last_b, creds, style):
    """Different surnames are different people, whatever the formatting."""
    if last_a == last_b:
        return
    a = _render(first, "", last_a, creds, style)
    b = _render(first, "", last_b, "", 0)
    assert not person_names_match(a, b), (a, b)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_any_text_is_safe(text):
    """Garbage in never raises; a parsed name always matches itself."""
    parsed = parse_person(text)
    assert parsed is None or person_names_match(parsed, parsed) or not parsed.last
    name_key(text)


# fast path (reconcile.normalize.name._simple_parts) == nameparser path --------------------------------------------

_WORDS = st.one_of(
    st.sampled_from(["John", "Mary", "Smith", "Jones", "Nguyen", "Lee", "Dean", "Do", "Ma", "Pa", "Van", "De", "La",
                     "Jr", "Sr", "III", "Dr", "Mr", "E", "Y", "V", "Of", "The", "Md", "Bishop", "King", "St", "Mc",
                     "Esq", "Ii", "Obrien", "Li", "Al", "Bin", "Del", "Sister", "Judge", "Major"]),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=9),
)
_CASES = st.sampled_from([str.title, str.upper, str.lower, lambda w: w])
_INITIAL = st.builds(lambda c, dot: c + dot, st.sampled_from(list("ABCDEIJKMQVXYZabeivy")), st.sampled_from(["", "."]))
_TAILS = st.sampled_from(["", " MD", ", MD", ", M.D.", " DO", ", Do", " PA-C", ", PhD", " MD FACP", ", Jr.", " Jr",
                          " III", ", NP", " ma"])


@st.composite
def simple_names(draw):
    """Names in the fast path's forms, with words that sometimes are titles, particles, suffixes or credentials."""
    case = draw(_CASES)
    first, last = case(draw(_WORDS)), case(draw(_WORDS))
    middle = draw(st.one_of(st.just(""), _INITIAL, _WORDS.map(case)))
    form = draw(st.sampled_from(["fl", "lf", "dr"]))
    if form == "lf":
        text = f"{last}, {first}" + (f" {middle}" if middle else "")
    else:
        text = ("Dr. " if form == "dr" else "") + f"{first} " + (f"{middle} " if middle else "") + last
    return text + draw(_TAILS)


@given(simple_names())
@settings(max_examples=600, deadline=None)
def test_fast_path_gives_the_nameparser_result(text):
    from reconcile.normalize.name import _parse

    assert _parse.__wrapped__(text, True) == _parse.__wrapped__(text, False)


@pytest.mark.parametrize("text", ["John Smith", "John A Smith", "John A. Smith, MD", "SMITH, JOHN A",
                                  "Smith, John A MD", "Dr. John Smith", "Dr. Mary K. Jones, MD"])
def test_common_simple_forms_take_the_fast_path(text):
    from reconcile.normalize.name import _simple_parts, _strip_credentials

    assert _simple_parts(_strip_credentials(text)[0]) is not None


@pytest.mark.parametrize("text", ["Maria de la Cruz", "Smith Jr, John", "Robert (Bob) Jones", "José García",
                                  "Mary-Jane O'Neil", "John Paul Smith Jones", "Dr. Smith", "Judge Judy Smith"])
def test_unusual_forms_go_to_nameparser(text):
    from reconcile.normalize.name import _simple_parts, _strip_credentials

    assert _simple_parts(_strip_credentials(text)[0]) is None
