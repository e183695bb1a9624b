"""Speed-path equivalences of the reconciliation stage: a shortcut must decide exactly what the full path decides."""

from __future__ import annotations

import duckdb
from hypothesis import given, settings
from hypothesis import strategies as st

from reconcile.batch import phone_canon_sql
from reconcile.normalize.phone import phone_key

_SEP = st.sampled_from(["", " ", "-", ".", "  ", " - "])


@st.composite
def phone_spellings(draw):
    """A ten-digit number (valid or not) written the many ways directories write one, plus some non-plain text."""
    digits = draw(st.text(alphabet="0123456789", min_size=10, max_size=10))
    a, b, c = digits[:3], digits[3:6], digits[6:]
    area = draw(st.sampled_from([a, f"({a})", f"({a}", f"{a})"]))
    prefix = draw(st.sampled_from(["", "1", "1 ", "+1 ", "+1-", "1-", "+1", " "]))
    text = f"{prefix}{area}{draw(_SEP)}{b}{draw(_SEP)}{c}"
    return text + draw(st.sampled_from(["", " ", " x12", " ext. 4", ";ext=9", " (fax)", "0"]))


_CON = duckdb.connect()  # one in-memory database for every generated example


@given(st.lists(phone_spellings(), min_size=1, max_size=40))
@settings(max_examples=100, deadline=None)
def test_plain_phone_folding_keeps_the_phone_key(values):
    rows = _CON.execute(f"SELECT v, {phone_canon_sql('v')} FROM unnest(?) t(v)", [values]).fetchall()
    for raw, canon in rows:
        assert phone_key(raw) == phone_key(canon), (raw, canon)


def test_common_spellings_fold_to_one_number():
    con = duckdb.connect()
    spellings = ["(217) 555-0100", "217.555.0100", "+1 217 555 0100", "1-217-555-0100", "2175550100"]
    folded = {r[0] for r in con.execute(f"SELECT {phone_canon_sql('v')} FROM unnest(?) t(v)", [spellings]).fetchall()}
    assert folded == {"2175550100"}
    assert con.execute(f"SELECT {phone_canon_sql('v')} FROM (SELECT '217-555-0100 x12' AS v)").fetchone()[0] \
        == "217-555-0100 x12"  # an extension is not a plain spelling: left for phonenumbers
