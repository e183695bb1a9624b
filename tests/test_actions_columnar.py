"""add_actions decides the common finding types column-wise (Arrow): it must print exactly what recommend() prints.

recommend() (row by row) is the reference; the tables below vary every input the rules read, including NULLs,
empty strings, weak evidence, several numbers/addresses on a website, listings whose stale and unreachable findings
sit apart, contacts with and without practice, phone and pre-formatted phone, and column types the columnar path
does not take (it must then fall back to the rules row by row).
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconcile import actions
from reconcile.actions import (
    Contact,
    Contacts,
    action_contacts,
    add_actions,
    recommend_all,
)

TYPES = ["phone", "address", "accepting_status", "provider_not_at_location", "insurer_not_accepted",
         "stale_listing", "cross_directory_conflict", "unreachable", "invalid_npi", "something_new", "", None]
FIELDS = ["phone", "address", "accepting_status", "provider", "insurer", "reachable", "last_updated", "npi",
          "other", "", None]
SOURCES = ["website", "attestation", "phone_survey", "secret_shopper", "directory:Cobalt Care", "reference", "",
           None]
OBSERVED = ["(217) 555-0100", "217.555.0100; (217) 555-0199", "217-555-0100 x12; 217 555 0100", "not a phone",
            "12 Main St, Springfield, IL 62701",
            "12 Main St, Springfield, IL 62701 | 40 Oak Ave Ste 2, Peoria, IL 61602",
            "PO Box | nowhere", "accepting", "not_accepting", "limited", "waitlist", "unknown",
            "left the practice in 2025", "not among 4 providers listed", "says not in network", "deactivated 2024",
            "DEACTIVATED", "fails check digit", "", None]
TEXTS = st.sampled_from(["Dr Ann Lee", "Ann Lee, MD", "Ærø Clinic", "", None])


@st.composite
def finding_rows(draw) -> list[dict]:
    """A list of finding rows over a handful of listings (so listings share stale / unreachable findings)."""
    rows = []
    for _ in range(draw(st.integers(0, 30))):
        rows.append({
            "finding_type": draw(st.sampled_from(TYPES)),
            "field": draw(st.sampled_from(FIELDS)),
            "evidence_source": draw(st.sampled_from(SOURCES)),
            "observed_value": draw(st.sampled_from(OBSERVED)),
            "confidence": draw(st.sampled_from([0.9, 0.95, 0.7, 0.6, 0.649, 0.65, 1.0, 0.0, None])),
            "listing_id": draw(st.sampled_from(["L1", "L2", "L3", "L4", "None"])),
            "provider_name": draw(TEXTS),
            "npi": draw(st.sampled_from(["1234567893", "", None])),
            "address": draw(st.sampled_from(["12 Main St, Springfield, IL 62701", "", None])),
            "insurer": draw(st.sampled_from(["Acme Health", "", None])),
            "observed_at": draw(st.sampled_from([dt.datetime(2026, 11, 10, 9, 30), None])),
            "directory_value": draw(st.sampled_from(["2025-01-02", "(217) 555-0100", "", None])),
            "evidence_text": draw(st.sampled_from(["Cobalt Care lists phone: (217) 555-0199", "", None])),
        })
    return rows


CONTACTS = {
    "L1": Contact("Springfield Family Medicine", "(217) 555-0100", "(217) 555-0100"),
    "L2": Contact(None, "217-555-0100 ext 4"),
    "L3": Contact("", "not a number"),
    "None": Contact("Null Clinic", None),
}


def _expected(rows: list[dict], contacts) -> list[tuple]:
    """The reference: recommend() row by row."""
    return [(a.action, a.proposed_value, a.reason) for a in recommend_all(rows, contacts)]


def _got(table: pa.Table) -> list[tuple]:
    """The three action columns of add_actions, row by row."""
    return list(zip(*(table.column(c).to_pylist() for c in actions.ACTION_COLUMNS)))


SCHEMA = pa.schema([("finding_type", pa.string()), ("field", pa.string()), ("evidence_source", pa.string()),
                    ("observed_value", pa.string()), ("confidence", pa.float64()), ("listing_id", pa.string()),
                    ("provider_name", pa.string()), ("npi", pa.string()), ("address", pa.string()),
                    ("insurer", pa.string()), ("observed_at", pa.timestamp("us")),
                    ("directory_value", pa.string()), ("evidence_text", pa.string())])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=finding_rows(), chunk=st.sampled_from([4, 65_536]))
def test_columnar_actions_equal_the_row_rules(rows, chunk):
    """Every row's action, proposed value and reason equal recommend()'s, whatever the slice size."""
    old = actions._CHUNK_ROWS
    actions._CHUNK_ROWS = chunk
    try:
        table = add_actions(pa.Table.from_pylist(rows, schema=SCHEMA), CONTACTS)
    finally:
        actions._CHUNK_ROWS = old
    # recommend() reads observed_at as Python text: the naive timestamp's str() starts with the same date
    assert _got(table) == _expected([{**r, "observed_at": str(r["observed_at"]) if r["observed_at"] else None}
                                     for r in rows], CONTACTS)


def test_every_combination_of_type_source_observed_and_confidence_matches_the_row_rules():
    """One table with every (type, field, source, observed value, confidence) combination, in one pass and sliced."""
    rows = [{"finding_type": kind, "field": field, "evidence_source": source, "observed_value": observed,
             "confidence": confidence, "listing_id": f"L{i % 7}", "provider_name": ["Dr Ann Lee", "", None][i % 3],
             "npi": ["1234567893", None][i % 2], "address": [None, "12 Main St, Springfield, IL 62701"][i % 2],
             "insurer": ["Acme Health", None, ""][i % 3], "observed_at": [dt.datetime(2026, 11, 10), None][i % 2],
             "directory_value": [None, "2025-01-02", ""][i % 3], "evidence_text": [None, "", "Cobalt lists x"][i % 3]}
            for i, (kind, field, source, observed, confidence) in enumerate(
                (k, f, s, o, c) for k in TYPES for f in ("phone", None, "provider") for s in SOURCES for o in OBSERVED
                for c in (0.9, 0.6, None))]
    table = pa.Table.from_pylist(rows, schema=SCHEMA)
    expected = _expected([{**r, "observed_at": str(r["observed_at"]) if r["observed_at"] else None} for r in rows],
                         CONTACTS)
    assert _got(add_actions(table, CONTACTS)) == expected
    old = actions._CHUNK_ROWS
    actions._CHUNK_ROWS = 1000
    try:
        assert _got(add_actions(table, CONTACTS)) == expected
    finally:
        actions._CHUNK_ROWS = old


def test_columnar_path_is_used_for_the_common_types(monkeypatch):
    """The common types never reach recommend() (the point of the columnar path); rare ones still do."""
    rows = [{"finding_type": t, "field": "phone", "evidence_source": "website", "observed_value": "(217) 555-0100",
             "confidence": 0.9, "listing_id": "L1"} for t in ("phone", "address", "stale_listing", "invalid_npi")]
    seen = []
    real = actions.recommend
    monkeypatch.setattr(actions, "recommend",
                        lambda row, *a, **k: seen.append(row["finding_type"]) or real(row, *a, **k))
    table = add_actions(pa.Table.from_pylist(rows))
    assert seen == ["invalid_npi"]
    assert table.column("recommended_action").to_pylist()[0] == "update"


@pytest.mark.parametrize("column, values", [
    ("npi", [1234567893, 0]),                                       # integers: str() and `or` differ from Arrow text
    ("observed_at", [dt.datetime(2026, 11, 10, tzinfo=dt.timezone(dt.timedelta(hours=-6)))] * 2),  # zoned
    ("confidence", ["0.9", "0.5"]),                                 # text confidence: float() parses it
])
def test_unusual_column_types_fall_back_to_the_row_rules(column, values):
    """Columns whose Python text Arrow would not reproduce go through recommend(): same result as the reference."""
    rows = [{"finding_type": "stale_listing", "field": "last_updated", "evidence_source": "directory",
             "observed_value": "400 days old", "confidence": 0.9, "listing_id": "L1", "npi": "1234567893",
             "provider_name": "", "observed_at": dt.datetime(2026, 11, 10), "directory_value": "2025-01-01"},
            {"finding_type": "phone", "field": "phone", "evidence_source": "secret_shopper", "observed_value": "",
             "confidence": 0.9, "listing_id": "L2", "npi": "1234567893", "provider_name": "",
             "observed_at": dt.datetime(2026, 11, 10), "directory_value": "x"}]
    for row, value in zip(rows, values):
        row[column] = value
    table = pa.Table.from_pylist(rows)
    expected = recommend_all(table.to_pylist(), CONTACTS)
    assert _got(add_actions(table, CONTACTS)) == [(a.action, a.proposed_value, a.reason) for a in expected]


def test_contacts_table_from_the_run_gives_the_same_actions_as_contact_objects():
    """action_contacts' column-wise Contacts and a dict of the same Contact objects give the same reasons."""
    con = duckdb.connect()
    con.execute("""CREATE TEMP TABLE temp_rc_l AS SELECT * FROM (VALUES
        ('L1', 'Oak Clinic', 'Ann Lee', '(217) 555-0100', '+12175550100'),
        ('L2', NULL, 'Bo Chen', '217-555-0100 ext 4', '+12175550100'),
        ('L3', NULL, NULL, NULL, NULL),
        ('L4', '', 'Cy Diaz', '+44 20 7946 0958', '+442079460958'),
        ('L5', 'Elm Practice', 'Di Eng', '', NULL),
        ('L6', 'Fig Clinic', 'Fa Gu', '(217) 555-0101', '+12175550101;ext=5')
    ) t(listing_id, practice_name, name_text, phone, phone_key)""")
    rows = [{"finding_type": kind, "field": field, "evidence_source": "secret_shopper", "observed_value": "x",
             "confidence": 0.9, "listing_id": lid} for lid in ("L1", "L2", "L3", "L4", "L5", "L6", "L9")
            for kind, field in (("stale_listing", "last_updated"), ("unreachable", "reachable"),
                                ("invalid_npi", "npi"))]
    table = pa.Table.from_pylist(rows)
    contacts = action_contacts(table, con)
    assert isinstance(contacts, Contacts) and sorted(contacts) == ["L1", "L2", "L3", "L4", "L5", "L6"]
    as_dict = {key: contacts[key] for key in contacts}
    assert as_dict["L1"] == Contact("Oak Clinic", "(217) 555-0100", "(217) 555-0100")
    assert as_dict["L2"].formatted is None  # an extension: not the plain spelling, parsed instead
    assert as_dict["L6"].formatted == "(217) 555-0101 ext. 5"  # a key SQL does not format: _nanp_national's text
    got = _got(add_actions(table, contacts))
    assert got == _got(add_actions(table, as_dict)) == _expected(rows, as_dict)
    assert any("call Oak Clinic at (217) 555-0100 and ask" in reason for _, _, reason in got)
    assert any("call Bo Chen at (217) 555-0100 ext. 4 and ask" in reason for _, _, reason in got)
    # an empty practice name is no name: the provider is called, at the international form of a foreign number
    assert any("call the provider at +44 20 7946 0958 and ask" in reason for _, _, reason in got)
