"""The national-scale fast paths of reconcile (issue 7) give exactly what the plain paths give."""

from __future__ import annotations

import datetime as dt

import duckdb
import phonenumbers
import pyarrow as pa
import pytest

from reconcile.actions import (
    Contact,
    Memo,
    add_actions,
    human_phone,
    recommend,
    with_actions,
)

NANP_REGIONS = phonenumbers.COUNTRY_CODE_TO_REGION_CODE[1]
TYPES = (phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.MOBILE,
         phonenumbers.PhoneNumberType.TOLL_FREE)


def _examples() -> list[str]:
    """Every +1 region's example numbers, as E.164, with and without an extension."""
    out = []
    for region in NANP_REGIONS:
        for kind in TYPES:
            number = phonenumbers.example_number_for_type(region, kind)
            if number is not None:
                e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
                out += [e164, e164 + " ext. 12"]
    return out


@pytest.mark.parametrize("text", _examples() + ["+44 20 7946 0958", "+33 1 42 68 53 00 ext. 3", "555-0100", ""])
def test_human_phone_is_phonenumbers_national_format_for_every_nanp_region(text):
    """The regex path for +1 numbers must print what phonenumbers prints (NATIONAL for +1, INTERNATIONAL else)."""
    try:
        parsed = phonenumbers.parse(text, "US")
        valid = phonenumbers.is_valid_number(parsed)
    except phonenumbers.NumberParseException:
        valid = False
    if not valid:
        assert human_phone(text) is None
        return
    fmt = phonenumbers.PhoneNumberFormat.NATIONAL if parsed.country_code == 1 else \
        phonenumbers.PhoneNumberFormat.INTERNATIONAL
    assert human_phone(text) == phonenumbers.format_number(parsed, fmt)


ROWS = [
    {"finding_type": "phone", "field": "phone", "evidence_source": "website", "confidence": 0.9, "listing_id": "L1",
     "observed_value": "217.555.0199; +1 217 555 0199", "provider_name": "Dr A"},
    {"finding_type": "phone", "field": "phone", "evidence_source": "website", "confidence": 0.9, "listing_id": "L2",
     "observed_value": "217-555-0199; 217-555-0142 x 7", "provider_name": "Dr B"},
    {"finding_type": "address", "field": "address", "evidence_source": "website", "confidence": 0.9,
     "listing_id": "L3", "observed_value": "400 North Oak Avenue, Suite 200, Springfield, IL 62702"},
    {"finding_type": "address", "field": "address", "evidence_source": "website", "confidence": 0.9,
     "listing_id": "L4", "observed_value": "1 Elm St, Peoria, IL 61602 | 9 Oak Ave Apt 3, Peoria, IL 61603"},
    {"finding_type": "stale_listing", "field": "last_updated", "evidence_source": "directory", "confidence": 1.0,
     "listing_id": "L5", "directory_value": "2025-01-01"},
]


def test_memo_changes_no_action():
    """Sharing parses across findings (Memo) yields the same actions as parsing each finding on its own."""
    contact = Contact("Oak Clinic", "(217) 555-0100 ext 4")
    memo = Memo()
    for _ in range(2):  # the second pass is served from the memo
        for r in ROWS:
            assert recommend(r, contact=contact, memo=memo) == recommend(r, contact=contact)


def test_with_actions_shortcut_for_plain_phones_matches_parsing(tmp_path):
    """with_actions formats plain NANP spellings from phone_key; reasons must equal the parsed-phone reasons."""
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    phones = {"L1": ("(217) 555-0100", "+12175550100"), "L2": ("217.555.0100 ext. 9", "+12175550100"),
              "L3": ("+44 20 7946 0958", "+442079460958"), "L4": ("555-0100", None),
              "L5": (" +1 (312) 555-0101 ", "+13125550101")}
    con.execute("CREATE TEMP TABLE temp_rc_l (listing_id VARCHAR, practice_name VARCHAR, name_text VARCHAR, "
                "phone VARCHAR, phone_key VARCHAR)")
    for lid, (phone, key) in phones.items():
        con.execute("INSERT INTO temp_rc_l VALUES (?, 'Oak Clinic', 'Dr X', ?, ?)", [lid, phone, key])
    findings = pa.Table.from_pylist([{**r, "observed_at": dt.datetime(2026, 11, 1, 8)} for r in ROWS])
    got = with_actions(findings, con)
    contacts = {lid: Contact("Oak Clinic", phone) for lid, (phone, _) in phones.items()}
    want = add_actions(findings, contacts)
    assert got.to_pylist() == want.to_pylist()
    assert "call Oak Clinic at (312) 555-0101" in got.column("action_reason").to_pylist()[4]  # the shortcut was used


def test_add_actions_reads_timestamps_like_python_datetimes():
    """The Arrow-text shortcut for observed_at gives the same reasons as Python datetimes."""
    findings = pa.Table.from_pylist([{**r, "observed_at": dt.datetime(2026, 11, 1, 23, 59)} for r in ROWS])
    got = add_actions(findings).column("action_reason").to_pylist()
    want = [recommend(r).reason for r in findings.to_pylist()]
    assert got == want
    assert any("2026-11-01" in reason for reason in got)
