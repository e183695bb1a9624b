"""Phone normalization: messy real-world inputs, extraction from text, and formatting-invariance properties."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconcile.normalize.phone import find_phones, normalize_phone, phone_key


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("(217) 555-0100", "+12175550100"),
        ("217.555.0100", "+12175550100"),
        ("1-217-555-0100", "+12175550100"),
        ("+1 217 555 0100", "+12175550100"),
        ("2175550100", "+12175550100"),
        ("2175550100.0", "+12175550100"),  # spreadsheet float export
        ("(217) 555-0100 x12", "+12175550100;ext=12"),
        ("217-555-0100 ext. 12", "+12175550100;ext=12"),
        ("217 555 0100 Ext 345", "+12175550100;ext=345"),
        ("Phone: 217.555.0100", "+12175550100"),
        ("Tel: (312) 555-1234", "+13125551234"),
        ("Main: 217-555-0100 (fax 217-555-0199)", "+12175550100"),
        ("1-800-FLOWERS", "+18003569377"),
        ("+44 20 7946 0958", "+442079460958"),
        ("555-0100", None),  # no area code: not a dialable number
        ("123-456-7890", None),  # invalid area code
        ("N/A", None),
        ("call the office", None),
        ("", None),
        ("   ", None),
        (None, None),
    ],
)
def test_normalize_phone_table(text, expected):
    """Each published phone format maps to E.164 (extension kept), junk to None."""
    assert normalize_phone(text) == expected


def test_phone_key_drops_extension():
    """Two records are compared without the extension."""
    assert phone_key("(217) 555-0100 x12") == phone_key("217.555.0100") == "+12175550100"
    assert phone_key("garbage") is None


def test_find_phones_reports_spans_in_page_text():
    """Extraction keeps the verbatim span so evidence snippets can quote it."""
    text = "Call us at (217) 555-0100 today. Fax: 217.555.0199. Order #1234567 is not a phone."
    found = find_phones(text)
    assert [f.e164 for f in found] == ["+12175550100", "+12175550199"]
    for f in found:
        assert text[f.start:f.end] == f.raw
    assert find_phones("") == []
    assert find_phones(None) == []


_AREA = st.sampled_from(["217", "312", "415", "212", "617", "206", "303", "512", "404", "702"])
_EXCHANGE = st.integers(min_value=201, max_value=989).filter(lambda n: n % 100 != 11 and n != 555 and n != 950)
_LINE = st.integers(min_value=0, max_value=9999)
_FORMATS = [
    "({a}) {e}-{l}", "{a}.{e}.{l}", "1-{a}-{e}-{l}", "+1 {a} {e} {l}", "{a}{e}{l}", "{a}-{e}-{l}",
    "+1 ({a}) {e}-{l}", "1 ({a}) {e} {l}", " {a} {e} {l} ", "{a} / {e}-{l}",
]


@settings(max_examples=150, deadline=None)
@given(_AREA, _EXCHANGE, _LINE, st.sampled_from(_FORMATS), st.sampled_from(_FORMATS),
       st.sampled_from(["", " x12", " ext. 7", " Ext 4501"]))
def test_formatting_never_changes_phone_key(area, exchange, line, fmt_a, fmt_b, ext):
    """Punctuation, '+1', spaces and extensions never change the comparison key; a different number does."""
    parts = {"a": area, "e": f"{exchange:03d}", "l": f"{line:04d}"}
    a = fmt_a.format(**parts)
    b = fmt_b.format(**parts) + ext
    key = phone_key(a)
    if key is None:  # not a number in the national plan (phonenumbers metadata): nothing to compare
        return
    assert phone_key(b) == key
    other = dict(parts, l=f"{(line + 1) % 10000:04d}")
    other_key = phone_key(fmt_b.format(**other))
    assert other_key != key


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=120))
def test_any_text_is_safe(text):
    """Garbage in never raises; whatever normalizes is E.164 and its key is a prefix of it."""
    normalized = normalize_phone(text)
    assert normalized is None or (normalized.startswith("+") and normalized.startswith(phone_key(text)))
    for found in find_phones(text):
        assert text[found.start:found.end] == found.raw


def test_each_distinct_value_is_normalized_once():
    """Repeated values hit the cache: normalization runs once per distinct value."""
    normalize_phone.cache_clear()
    for _ in range(5):
        normalize_phone("(217) 555-0142")
    info = normalize_phone.cache_info()
    assert (info.misses, info.hits) == (1, 4)
