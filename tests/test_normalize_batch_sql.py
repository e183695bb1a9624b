"""SQL fast paths of the batch normalization stage decide exactly what the Python normalizers decide."""

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconcile.batch import (
    PLAIN_ZIP_RE,
    AddressesByKey,
    Prepared,
    _normalize_addresses,
    _normalize_sites,
    _registered_domain,
    _split_one_line,
    phone_canon_sql,
)
from reconcile.normalize.address import normalize_address, normalize_zip5, parse_address
from reconcile.normalize.address_sql import one_line_split_statements
from reconcile.normalize.phone import phone_key


@pytest.fixture(scope="module")
def con(module_duckdb):
    """This module's shared DuckDB file (tests/conftest.py)."""
    return module_duckdb


def sql_split(con, texts: list[str]) -> dict[str, tuple]:
    """The SQL one-line split over `texts`: {text: (street, city, state, zip5)} for the texts it decides."""
    con.execute("CREATE OR REPLACE TEMP TABLE one_src AS SELECT DISTINCT unnest(?::VARCHAR[]) AS v", [texts])
    for statement in one_line_split_statements("one_src", "one_dst"):
        con.execute(statement)
    return {r[0]: tuple(r[1:]) for r in con.execute("SELECT v, a, c, s, z FROM one_dst").fetchall()}


_WORDS = st.sampled_from(["12", "9135", "4B", "Main", "St", "St.", "Broad", "Parkway", "N", "W.", "Ste", "Suite",
                          "#4", "Apt", "D", "O'Neil", "Elm", "Ave.", "Floor", "2nd", ".", "Way.", "Bldg"])
_CITIES = st.sampled_from(["Boise", "St. Louis", "Salt Lake City", "O'Fallon", "Suite Town", "First City",
                           "Apt Town", "Ft. Wayne", "Unit", "Lower Burrell", "Springfield 2", "Mt. Vernon"])
_STATES = st.sampled_from(["ID", "Id", "mo", "UT", "ZZ", "Idaho", "US", "PR", "DC", "I.D."])
_ZIPS = st.sampled_from(["83744", "83744-1234", "8374", "837441234", "83744 - 1234", ""])
_SEPS = st.sampled_from([", ", ", ", ", ", ",", " , ", " ", ",  "])


@st.composite
def one_line_addresses(draw):
    """A website's one-line address, mostly in the common form, sometimes not."""
    segments = [" ".join(draw(st.lists(_WORDS, min_size=1, max_size=5))) for _ in range(draw(st.integers(1, 3)))]
    text = draw(_SEPS).join(segments) + draw(_SEPS) + draw(_CITIES) + draw(_SEPS) + draw(_STATES)
    zip_ = draw(_ZIPS)
    return text + (" " + zip_ if zip_ else "") + draw(st.sampled_from(["", "", " ", ", USA", "\n"]))


@given(st.lists(one_line_addresses(), min_size=1, max_size=40))
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_sql_one_line_split_equals_python(con, texts):
    for text, value in sql_split(con, texts).items():
        assert value == _split_one_line(text), text


def test_common_one_line_forms_are_split_in_sql(con):
    texts = ["9135 Broad Parkway, Boise, ID 83744", "2452 Madison Blvd, STE D, Portland, OR 97224-1234",
             "2749 S Valley Way., St. Louis, mo 63101"]
    assert sql_split(con, texts) == {t: _split_one_line(t) for t in texts}
    # a city that starts like a unit, a state that is no code, a name instead of a code: left to Python
    assert sql_split(con, ["12 Main St, Suite Town, ID 83744", "12 Main St, Boise, ZZ 83744",
                           "12 Main St, Boise, Idaho 83744"]) == {}


_LABELS = st.sampled_from(["", "Tel: ", "tel ", "Phone: ", "PH. ", "Main - ", "Office # ", "Call ", "P: ", "T-",
                           "Telephone:", "Fax: ", "Tel2", "  t : "])


@given(st.lists(st.tuples(_LABELS, st.text(alphabet="0123456789", min_size=10, max_size=10),
                          st.sampled_from(["", "1 ", "+1-", "("])), min_size=1, max_size=30))
@settings(max_examples=80, deadline=None)
def test_labelled_phone_folding_keeps_the_phone_key(values):
    texts = [f"{label}{prefix}{d[:3]}{')' if prefix == '(' else '-'}{d[3:6]}-{d[6:]}" for label, d, prefix in values]
    rows = duckdb.connect().execute(f"SELECT v, {phone_canon_sql('v')} FROM unnest(?) t(v)", [texts]).fetchall()
    for raw, canon in rows:
        assert phone_key(raw) == phone_key(canon), (raw, canon)


def test_labelled_phone_is_folded():
    row = duckdb.connect().execute(f"SELECT {phone_canon_sql('v')} FROM (SELECT 'Tel: (775) 862-7360' AS v)").fetchone()
    assert row[0] == "7758627360"


@pytest.mark.parametrize("value", ["62701", "62701-1234", "627011234", "6270", "62701 1234", "62701-12", "", "x"])
def test_plain_zip_rule_matches_normalize_zip5(value):
    plain = duckdb.connect().execute(f"SELECT regexp_full_match(?, '{PLAIN_ZIP_RE}')", [value]).fetchone()[0]
    if plain:
        assert value[:5] == normalize_zip5(value)


@pytest.mark.parametrize("host", ["www.springfield.com", "x.org", "a.b.blogspot.com", "x.co.uk", "x.health",
                                  "clinic.ak.us", "x.ck", "www.x.ck", "-x.net", "x.COM", "1.2.3.4", "x.local",
                                  "a.b.c.d.e.org", "x.xn--p1ai", "x.kawasaki.jp"])
def test_registered_domain_in_sql_equals_tldextract(con, host):
    con.execute("CREATE OR REPLACE TEMP TABLE temp_rc_src_l (website VARCHAR)")
    con.execute("CREATE OR REPLACE TEMP TABLE temp_rc_src_o (source VARCHAR, site_url VARCHAR, evidence_url VARCHAR)")
    con.execute("INSERT INTO temp_rc_src_l VALUES (?)", [f"https://{host}/team"])
    _normalize_sites(con)
    domain = con.execute("SELECT site_domain FROM temp_rc_url").fetchone()[0]
    assert domain == (_registered_domain(host.lower()) if "." in host else None)


def test_addresses_by_key_give_the_parsed_address(con):
    con.execute("CREATE OR REPLACE TEMP TABLE temp_rc_src_l (address VARCHAR, city VARCHAR, state VARCHAR, zip VARCHAR)")
    con.execute("CREATE OR REPLACE TEMP TABLE temp_rc_src_o (address VARCHAR, city VARCHAR, state VARCHAR, zip VARCHAR, "
                "addresses VARCHAR[])")
    rows = [("12 Main Street Suite 4", "Springfield", "IL", "62701-1234"), ("12 Main St., Ste 4", "Springfield", "Ill.", "62701"),
            ("400 N. First Ave", "St. Louis", "MO", "63101"), ("PO Box 12", "Boise", "ID", "")]
    con.executemany("INSERT INTO temp_rc_src_l VALUES (?, ?, ?, ?)", rows)
    lines = ["9135 Broad Parkway, Boise, ID 83744", "Suite 4, 12 Main St, Springfield IL 62701"]
    con.execute("INSERT INTO temp_rc_src_o VALUES (NULL, NULL, NULL, NULL, ?)", [lines])
    prep = Prepared()
    _normalize_addresses(con, prep)
    assert isinstance(prep.addresses, AddressesByKey)
    expected = [normalize_address(*row) for row in rows] + [parse_address(text) for text in lines]
    for address in expected:
        assert address is not None and prep.addresses.get(address.key) == address
        assert address.key in prep.addresses
    assert len(prep.addresses) == len({a.key for a in expected})
    assert prep.addresses.get("nowhere|00000") is None and "nowhere|00000" not in prep.addresses
    prep.addresses.clear()
    assert len(prep.addresses) == 0


_ORG_WORDS = st.sampled_from(["Springfield", "Family", "Medicine", "LLC", "P.C.", "&", "The", "of", "Dr.", "A&B",
                              "2nd", "MED-ONE", "Zeta", "alpha", "Clinic,", "St.", "O'Neil", "health", "  ", "-", "ÉLAN"])


@given(st.lists(st.lists(_ORG_WORDS, max_size=6).map(" ".join), min_size=1, max_size=30))
@settings(max_examples=80, deadline=None)
def test_org_key_in_sql_equals_python(names):
    from reconcile.batch import PRINTABLE_ASCII_RE, org_key, org_key_sql

    rows = duckdb.connect().execute(
        f"SELECT v, {org_key_sql('v')} FROM unnest(?::VARCHAR[]) t(v) WHERE regexp_full_match(v, '{PRINTABLE_ASCII_RE}')",
        [names]).fetchall()
    assert len(rows) == sum(1 for n in names if "É" not in n)  # every printable-ASCII name is decided in SQL
    for name, key in rows:
        assert key == org_key(name), name


def test_reference_rows_kept_only_for_audited_npis(tmp_path):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from reconcile_world import add_listing

    from reconcile.batch import prepare
    from reconcile.settings import ReconcileSettings
    from warehouse.db import connect

    warehouse = connect(tmp_path / "scope.duckdb")
    audited = add_listing(warehouse, npi="1234567893", provider_name="Smith, John A MD")
    prepare(warehouse, ReconcileSettings())  # no reference directory: every listing kept
    assert {r[0] for r in warehouse.execute("SELECT listing_id FROM temp_rc_l").fetchall()} == {audited}
    same = add_listing(warehouse, insurer="NPPES", directory_kind="nppes", role="reference", npi="123-456-7893",
                       provider_name="JOHN SMITH MD")
    add_listing(warehouse, insurer="NPPES", directory_kind="nppes", role="reference", npi="1245319599",
                provider_name="JANE ROE MD")  # an NPI no audited directory lists
    prepare(warehouse, ReconcileSettings())
    assert {r[0] for r in warehouse.execute("SELECT listing_id FROM temp_rc_l").fetchall()} == {audited, same}
    warehouse.close()
