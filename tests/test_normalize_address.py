"""Addresses: USPS Pub 28 normalization, one-line parsing and tolerant same-place comparison."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconcile.normalize.address import (
    addresses_match,
    normalize_address,
    normalize_state,
    normalize_zip5,
    parse_address,
)


@pytest.mark.parametrize(
    ("street", "city", "state", "zip_code", "line", "out_city", "out_state", "zip5"),
    [
        ("12 Main Street Suite 4", "Springfield", "Illinois", "62701-1234",
         "12 MAIN ST STE 4", "SPRINGFIELD", "IL", "62701"),
        ("12 N. Main St., Ste. 4", "St. Louis", "mo", "63101", "12 N MAIN ST STE 4", "SAINT LOUIS", "MO", "63101"),
        ("1200 Northeast Martin Luther King Jr Boulevard", "Portland", "OR", "97232",
         "1200 NE MARTIN LUTHER KING JR BLVD", "PORTLAND", "OR", "97232"),
        ("500 First Avenue, Apartment 3B", "Seattle", "WA", "98101", "500 1ST AVE APT 3B", "SEATTLE", "WA", "98101"),
        ("77 Massachusetts Avenue, Building 2, Room 100", "Cambridge", "MA", "02139",
         "77 MASSACHUSETTS AVE BLDG 2 RM 100", "CAMBRIDGE", "MA", "02139"),
        ("45 Park Ave, 3rd Floor", "New York", "New York", "10016", "45 PARK AVE FL 3", "NEW YORK", "NY", "10016"),
        ("45 Park Ave Floor 3", "New York", "NY", "10016", "45 PARK AVE FL 3", "NEW YORK", "NY", "10016"),
        ("12 Main St #4", "Springfield", "IL", "62701", "12 MAIN ST # 4", "SPRINGFIELD", "IL", "62701"),
        ("3 North Ave", "Cambridge", "MA", "2140", "3 NORTH AVE", "CAMBRIDGE", "MA", "02140"),  # Excel-eaten zero
        ("100 Highway 9 South", "Freehold", "NJ", "07728", "100 HWY 9 S", "FREEHOLD", "NJ", "07728"),
        ("12 1/2 Oak Ave Unit 7", "Austin", "TX", "787011234", "12 1/2 OAK AVE UNIT 7", "AUSTIN", "TX", "78701"),
        ("Suite 4\n12 Main St", "Springfield", "IL", "62701", "12 MAIN ST STE 4", "SPRINGFIELD", "IL", "62701"),
        ("Springfield Clinic\n12 Main St, Suite 4", "Springfield", "IL", "62701",
         "12 MAIN ST STE 4", "SPRINGFIELD", "IL", "62701"),
        ("P.O. Box 123", "Springfield", "IL", "62701", "PO BOX 123", "SPRINGFIELD", "IL", "62701"),
        ("One Medical Plaza, Suite 200", "Boston", "MA", "02114", "1 MEDICAL PLZ STE 200", "BOSTON", "MA", "02114"),
        ("One Hospital Plaza", "Springfield", "IL", "62701", "1 HOSPITAL PLZ", "SPRINGFIELD", "IL", "62701"),
        ("Mount Sinai Hospital\nOne Gustave L. Levy Place", "New York", "NY", "10029",
         "1 GUSTAVE L LEVY PL", "NEW YORK", "NY", "10029"),
        ("Suite 300, Twelve Oaks Drive", "Novi", "MI", "48377", "12 OAKS DR STE 300", "NOVI", "MI", "48377"),
        ("W156N5678 Pilgrim Road", "Menomonee Falls", "WI", "53051",
         "W156N5678 PILGRIM RD", "MENOMONEE FALLS", "WI", "53051"),
    ],
)
def test_normalize_address_table(street, city, state, zip_code, line, out_city, out_state, zip5):
    """Separate address fields come out in Pub 28 form."""
    address = normalize_address(street, city, state, zip_code)
    assert (address.line, address.city, address.state, address.zip5) == (line, out_city, out_state, zip5)
    assert address.line == " ".join(p for p in (address.number, address.street, address.unit) if p)
    assert address.key == f"{line}|{zip5}"


@pytest.mark.parametrize(
    ("text", "line", "city", "state", "zip5"),
    [
        ("12 Main Street, Suite 4, Springfield, IL 62701-1234", "12 MAIN ST STE 4", "SPRINGFIELD", "IL", "62701"),
        ("12 Main St #4 Springfield IL 62701", "12 MAIN ST # 4", "SPRINGFIELD", "IL", "62701"),
        ("12 Main St.\nSuite 4\nSpringfield, IL 62701", "12 MAIN ST STE 4", "SPRINGFIELD", "IL", "62701"),
        ("1200 North Main Street, 2nd Floor, Springfield, Illinois 62701", "1200 N MAIN ST FL 2", "SPRINGFIELD",
         "IL", "62701"),
        ("500 First Avenue NE, Seattle, WA 98101, USA", "500 1ST AVE NE", "SEATTLE", "WA", "98101"),
        ("12 Main St Park City UT 84060", "12 MAIN ST", "PARK CITY", "UT", "84060"),
        ("12 Grand Park Ave Springfield IL 62701", "12 GRAND PARK AVE", "SPRINGFIELD", "IL", "62701"),
        ("12 Main St St Louis MO 63101", "12 MAIN ST", "SAINT LOUIS", "MO", "63101"),
        ("450 Sutter St San Francisco CA", "450 SUTTER ST", "SAN FRANCISCO", "CA", ""),
        ("Springfield Clinic, 12 Main St, Springfield, IL 62701", "12 MAIN ST", "SPRINGFIELD", "IL", "62701"),
        ("PO Box 123, Springfield, IL 62701", "PO BOX 123", "SPRINGFIELD", "IL", "62701"),
        ("1 Main St, Washington, DC 20001", "1 MAIN ST", "WASHINGTON", "DC", "20001"),
        ("12 main st, springfield, il, 62701", "12 MAIN ST", "SPRINGFIELD", "IL", "62701"),
        ("400 Oak Street Apt 2 Madison Wisconsin 53703", "400 OAK ST APT 2", "MADISON", "WI", "53703"),
        ("Rural Route 2 Box 5, Smalltown, KS 66002", "RR 2 BOX 5", "SMALLTOWN", "KS", "66002"),
        ("1600 Pennsylvania Avenue Northwest, Washington, D.C. 20500", "1600 PENNSYLVANIA AVE NW", "WASHINGTON",
         "DC", "20500"),
        ("100 Medical Center Blvd., Ste. 300-A, Winston-Salem, NC 27157", "100 MEDICAL CENTER BLVD STE 300-A",
         "WINSTON-SALEM", "NC", "27157"),
        ("123 Avenue of the Americas, New York, NY 10020", "123 AVENUE OF THE AMERICAS", "NEW YORK", "NY", "10020"),
        ("Medical Office Building\n12 Main Street\nSuite 4\nSpringfield IL 62701", "12 MAIN ST STE 4", "SPRINGFIELD",
         "IL", "62701"),
        ("12 Main St Suite #4, Springfield, IL 62701", "12 MAIN ST STE 4", "SPRINGFIELD", "IL", "62701"),
        ("1 Cedar Hill St Springfield IL 62701", "1 CEDAR HILL ST", "SPRINGFIELD", "IL", "62701"),
    ],
)
def test_parse_address_table(text, line, city, state, zip5):
    """One-line and multi-line addresses split into street line, city, state and ZIP5."""
    address = parse_address(text)
    assert (address.line, address.city, address.state, address.zip5) == (line, city, state, zip5)


@pytest.mark.parametrize("text", [None, "", "   ", ",,,"])
def test_empty_addresses_are_none(text):
    """Nothing to normalize: None, never an exception."""
    assert parse_address(text) is None
    assert normalize_address(text, "Springfield", "IL", "62701") is None


def test_missing_values_from_dataframes():
    """NaN (pandas/Arrow missing) fields are treated as absent, not as the text 'nan'."""
    nan = float("nan")
    assert normalize_address(nan, "Springfield", "IL", "62701") is None
    address = normalize_address("12 Main St", nan, nan, nan)
    assert (address.line, address.city, address.state, address.zip5) == ("12 MAIN ST", "", "", "")


def test_normalize_address_accepts_a_full_line_in_street():
    """A whole address stuffed into the street field is parsed when no other field is given."""
    for address in (normalize_address("12 Main Street, Suite 4, Springfield, IL 62701"),
                    normalize_address("12 Main Street, Suite 4, Springfield, IL 62701", "", "", "")):
        assert (address.line, address.city, address.zip5) == ("12 MAIN ST STE 4", "SPRINGFIELD", "62701")


@pytest.mark.parametrize(
    ("value", "expected"),
    [("62701", "62701"), ("62701-1234", "62701"), ("627011234", "62701"), ("2134", "02134"),
     ("2134.0", "02134"), (62701, "62701"), ("abc", ""), ("", ""), (None, ""), ("123456", "")],
)
def test_normalize_zip5(value, expected):
    """ZIP+4, lost leading zeros and junk."""
    assert normalize_zip5(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [("IL", "IL"), ("il", "IL"), ("Illinois", "IL"), ("ILL.", "IL"), ("new york", "NY"),
     ("District of Columbia", "DC"), ("Puerto Rico", "PR"), ("Atlantis", ""), (None, "")],
)
def test_normalize_state(value, expected):
    """State names, abbreviations and codes become USPS codes."""
    assert normalize_state(value) == expected


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (("12 Main Street Suite 4", "Springfield", "IL", "62701-1234"), ("12 MAIN ST STE 4", "Springfield", "IL", "62701"), True),
        (("12 Main St #4", "Springfield", "IL", "62701"), ("12 Main St Suite 4", "Springfield", "IL", "62701"), True),
        (("12 Main St", "Springfield", "IL", "62701"), ("12 Main St Suite 4", "Springfield", "IL", "62701"), True),
        (("12 N Main St", "Springfield", "IL", "62701"), ("12 Main St", "Springfield", "IL", "62701"), True),
        (("12 Main", "Springfield", "IL", "62701"), ("12 Main Street", "Springfield", "IL", "62701"), True),
        (("12 Main St Ste 400", None, None, "62701"), ("12 Main St Bldg 2 Ste 400", None, None, "62701"), True),
        (("12 Washington Ave", None, None, "62701"), ("12 Washingtn Ave", None, None, "62701"), True),  # one typo
        (("12 W 42nd St", None, None, "10036"), ("12 W 42 St", None, None, "10036"), True),
        (("12-14 Main St", None, None, "62701"), ("12 Main St", None, None, "62701"), True),  # range
        (("12 Main St, 2nd Floor", None, None, "62701"), ("12 Main St Ste 200", None, None, "62701"), True),
        (("12 Saint Charles Ave", None, None, "70130"), ("12 St. Charles Avenue", None, None, "70130"), True),
        (("1 Cedar Hill", None, None, "62701"), ("1 Cedar Hill Street", None, None, "62701"), True),
        (("One Hospital Plaza", None, None, "62701"), ("1 Hospital Plz", None, None, "62701"), True),  # written out
        (("Two Penn Center Plaza, Suite 200", None, None, "19102"), ("2 Penn Ctr Plz Ste 200", None, None, "19102"),
         True),
        (("One Hospital Plaza", None, None, "62701"), ("2 Hospital Plz", None, None, "62701"), False),
        # a name opening with a number word is a name, not the house number
        (("One Medical, 2 Penn Plaza", None, None, "10121"), ("2 Penn Plz", None, None, "10121"), True),
        (("Seven Hills Hospital, 3001 S Hualapai Way", None, None, "89117"),
         ("3001 S Hualapai Way", None, None, "89117"), True),
        (("Three Rivers Health\n701 S Main St", None, None, "49093"), ("701 S Main St", None, None, "49093"), True),
        (("Seven Hills Hospital, One Medical Plaza", None, None, "89117"), ("1 Medical Plz", None, None, "89117"),
         True),
        # compound ordinals, MLK spelled out or not, "JR" left out, unit ids with a hyphen or leading zeros
        (("2 Twenty-First Ave", None, None, "37203"), ("2 21st Ave", None, None, "37203"), True),
        (("40 West Twenty Third Street", None, None, "10010"), ("40 W 23rd St", None, None, "10010"), True),
        (("2 Twenty-First Ave", None, None, "37203"), ("2 22nd Ave", None, None, "37203"), False),
        (("300 W. Martin Luther King Jr. Blvd", None, None, "78701"), ("300 W MLK Jr Blvd", None, None, "78701"), True),
        (("300 Martin Luther King Blvd", None, None, "78701"), ("300 MLK Jr. Blvd", None, None, "78701"), True),
        (("300 Martin Luther King Blvd", None, None, "78701"), ("300 King Blvd", None, None, "78701"), False),
        (("500 University Ave., Ste. 3-B", None, None, "94301"), ("500 University Avenue Suite 3B", None, None, "94301"),
         True),
        (("500 University Ave Ste 0200", None, None, "94301"), ("500 University Ave #200", None, None, "94301"), True),
        (("500 University Ave Ste 3-B", None, None, "94301"), ("500 University Ave Ste 3C", None, None, "94301"), False),
        (("12 Main St", "Springfield", "IL", "62701"), ("12 Maine St", "Springfield", "IL", "62701"), False),
        (("12 Main St Ste 4", None, None, "62701"), ("12 Main St Apt 5", None, None, "62701"), False),
        (("12 Main St Bldg 2 Ste 3", None, None, "62701"), ("12 Main St Bldg 3 Ste 3", None, None, "62701"), False),
        (("12 Main St", "Springfield", "IL", "62701"), ("14 Main St", "Springfield", "IL", "62701"), False),
        (("12 Main St", "Springfield", "IL", "62701"), ("12 Main Ave", "Springfield", "IL", "62701"), False),
        (("12 N Main St", "Springfield", "IL", "62701"), ("12 S Main St", "Springfield", "IL", "62701"), False),
        (("12 Main St Ste 4", "Springfield", "IL", "62701"), ("12 Main St Ste 5", "Springfield", "IL", "62701"), False),
        (("12 Main St", "Springfield", "IL", "62701"), ("12 Main St", "Springfield", "IL", "62702"), False),
        (("12 Main St", "Springfield", "IL", None), ("12 Main St", "Chicago", "IL", None), False),
        (("12 Main St", "Springfield", "IL", None), ("12 Main St", "Springfield", "MO", None), False),
    ],
)
def test_addresses_match(a, b, expected):
    """Same place despite formatting; different number, street, unit, ZIP or city is a different place."""
    assert addresses_match(normalize_address(*a), normalize_address(*b)) is expected
    assert addresses_match(normalize_address(*b), normalize_address(*a)) is expected


def test_addresses_match_none():
    """A missing address never matches."""
    assert not addresses_match(None, normalize_address("12 Main St"))
    assert not addresses_match(None, None)


_NAMES = st.sampled_from(["Main", "Oak", "Maple", "Washington", "Lincoln", "Cedar Hill", "Martin Luther King Jr",
                          "Elm", "Jefferson", "Sunset", "Willow Creek", "Third", "42nd"])
_SUFFIX = st.sampled_from([("Street", "St", "ST"), ("Avenue", "Ave", "Av."), ("Boulevard", "Blvd", "BLVD."),
                           ("Road", "Rd", "Rd."), ("Drive", "Dr", "Dr."), ("Lane", "Ln", "LN"),
                           ("Parkway", "Pkwy", "Pky"), ("Court", "Ct", "Crt"), ("Place", "Pl", "PL.")])
_DIR = st.sampled_from([None, ("North", "N", "N."), ("Southwest", "SW", "S.W."), ("East", "E", "E.")])
_UNIT = st.sampled_from([None, ("Suite", "Ste", "STE."), ("Suite", "#", "Ste"), ("Apartment", "Apt", "APT"),
                         ("Unit", "Unit", "UNIT"), ("Room", "Rm", "RM.")])
_CITIES = st.sampled_from([("Springfield", "Illinois", "IL", "62701"), ("Saint Louis", "Missouri", "MO", "63101"),
                           ("Boston", "Massachusetts", "MA", "02114"), ("Park City", "Utah", "UT", "84060"),
                           ("New York", "New York", "NY", "10016")])
_CASE = st.sampled_from([str.upper, str.lower, str.title, lambda s: s])


def _render(number, name, suffix, direction, unit, unit_id, city, pick):
    """Render one address with a given choice of spelling for each part (pick: 0/1/2 per part)."""
    city_name, state_name, state_code, zip5 = city
    parts = [str(number)]
    if direction:
        parts.append(direction[pick[0]])
    parts += [name, suffix[pick[1]]]
    unit_text = ""
    if unit:
        designator = unit[pick[2]]
        unit_text = f"{designator}{unit_id}" if designator == "#" else f"{designator} {unit_id}"
    street = " ".join(parts)
    state = state_name if pick[3] else state_code
    zip_code = f"{zip5}-{1000 + number % 9000}" if pick[4] else zip5
    return street, unit_text, city_name, state, zip_code


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 99999), _NAMES, _SUFFIX, _DIR, _UNIT, st.integers(1, 999), _CITIES,
       st.tuples(*[st.integers(0, 2)] * 3, st.booleans(), st.booleans()),
       st.tuples(*[st.integers(0, 2)] * 3, st.booleans(), st.booleans()),
       _CASE, st.sampled_from([", ", " ", ",  ", " , "]), st.booleans())
def test_formatting_never_breaks_an_address_match(number, name, suffix, direction, unit, unit_id, city, pick_a,
                                                  pick_b, case, separator, one_line):
    """St/Street, Ste/Suite/#, case, ZIP+4, state names and extra commas never make the same place differ."""
    street_a, unit_a, city_a, state_a, zip_a = _render(number, name, suffix, direction, unit, unit_id, city, pick_a)
    street_b, unit_b, city_b, state_b, zip_b = _render(number, name, suffix, direction, unit, unit_id, city, pick_b)
    a = normalize_address(f"{street_a} {unit_a}".strip(), city_a, state_a, zip_a)
    if one_line:
        text = separator.join(p for p in (street_b, unit_b, city_b, f"{state_b} {zip_b}") if p)
        b = parse_address(case(text))
    else:
        b = normalize_address(case(f"{street_b}{separator}{unit_b}".strip(" ,")), case(city_b), case(state_b), zip_b)
    assert b is not None
    assert addresses_match(a, b), (a, b)
    other = normalize_address(f"{number + 1} {street_a.split(' ', 1)[1]} {unit_a}".strip(), city_a, state_a, zip_a)
    assert not addresses_match(other, b), (other, b)


_MESSY = st.sampled_from(list("0123456789 ,.#-/'\nABCNSEWéx&") + ["Suite", "St", "Apt", "North", "PO Box", "IL",
                                                                 "62701", "Floor", "2nd", "Street", "Rd"])


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=50), st.lists(_MESSY, max_size=14).map("".join)))
def test_any_text_is_safe(text):
    """Garbage in never raises, and whatever parses matches itself."""
    parsed = parse_address(text)
    assert parsed is None or addresses_match(parsed, parsed)
    normalize_address(text, text, text, text)


REAL_STREETS = [
    "2500 N. State Street", "100 Medical Center Blvd., Ste. 300-A", "1 Bowdoin Sq Fl 9", "55 Fruit Street",
    "1600 Pennsylvania Avenue Northwest", "4500 San Pablo Rd S", "200 First St SW", "9500 Euclid Ave",
    "12 Main St Suite #4", "500 W 42nd St Apt 12B", "1234 E. Camelback Road, Suite 200", "3 Mount Vernon Pl",
    "221 Longwood Ave Rm 104", "7 Hospital Dr Bldg C", "19 W 34th St Fl 3", "1000 Saint Charles Ave",
    "880 Third Ave 5th Floor", "42 Highway 9 N", "12 County Road 5", "600 Avenue of the Americas Ste 4",
    "10040 East Washington Ave Bldg 2 Ste 967", "3400 Spruce St", "8700 Beverly Blvd Suite 1000",
]


@pytest.mark.parametrize("street", REAL_STREETS)
def test_fast_path_agrees_with_usaddress(street):
    """The token-table fast path gives the same (number, street, unit) as the usaddress path, or defers to it."""
    from reconcile.normalize import address as module

    fast = module._fast_street(street)
    slow = module._slow_street(module._usaddress_components(street))
    assert fast is None or fast == slow
