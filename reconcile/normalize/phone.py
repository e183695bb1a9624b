"""Phone numbers: E.164 normalization, comparison keys and extraction from page text.

``normalize_phone`` returns E.164 plus ";ext=N" when an extension is given ("+12175550100;ext=12"); records are
compared on ``phone_key`` (E.164 without the extension). Only numbers phonenumbers deems VALID for their region
are kept, so "555-0100" (no area code) and "123-456-7890" are None. Vanity numbers (1-800-FLOWERS) are converted.
A field holding extra words ("Main: 217-555-0100 (fax ...)") yields its first valid number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import phonenumbers
from phonenumbers import (
    Leniency,
    NumberParseException,
    PhoneNumberFormat,
    PhoneNumberMatcher,
)

__all__ = ["FoundPhone", "find_phones", "nanp_valid_sql", "normalize_phone", "phone_key"]

_MAX_LEN = 250  # phonenumbers refuses longer input; anything longer is page text, not a phone field
_LABEL = re.compile(r"^\s*(?:tel(?:ephone)?|phone|ph|main|office|call|p|t)\b\s*[:.#-]?\s*", re.IGNORECASE)
_TRAILING_FLOAT = re.compile(r"^(\d{10,11})\.0$")  # spreadsheet exports: 2175550100.0


@dataclass(frozen=True)
class FoundPhone:
    """A phone number found in free text: verbatim span plus its E.164 form."""

    raw: str
    e164: str
    start: int
    end: int


def _format(number: phonenumbers.PhoneNumber) -> str:
    """Format a parsed number as E.164, appending ';ext=N' (RFC 3966 style) when it has one."""
    e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    return f"{e164};ext={number.extension}" if number.extension else e164


def _parse_valid(text: str, region: str) -> phonenumbers.PhoneNumber | None:
    """Parse text as one phone number; return it only if phonenumbers deems it a valid number."""
    try:
        number = phonenumbers.parse(text, region)
    except NumberParseException:
        return None
    return number if phonenumbers.is_valid_number(number) else None


@lru_cache(maxsize=262_144)
def normalize_phone(text: str | None, region: str = "US") -> str | None:
    """Return text as E.164 (with ';ext=N' when an extension is given), or None when it is not a valid number."""
    if text is None:
        return None
    text = str(text).strip()
    if not text or not any(ch.isdigit() for ch in text) and sum(ch.isalpha() for ch in text) < 7:
        return None
    float_match = _TRAILING_FLOAT.match(text)
    if float_match:
        text = float_match.group(1)
    if len(text) <= _MAX_LEN:
        number = _parse_valid(_LABEL.sub("", text), region)
        if number is not None:
            return _format(number)
    found = find_phones(text, region)  # e.g. "Main: 217-555-0100 (fax 217-555-0199)"
    return found[0].e164 if found else None


@lru_cache(maxsize=262_144)
def phone_key(text: str | None, region: str = "US") -> str | None:
    """Return the E.164 number without extension: the value two records' phones are compared on."""
    normalized = normalize_phone(text, region)
    return normalized.split(";", 1)[0] if normalized else None


def find_phones(text: str | None, region: str = "US") -> list[FoundPhone]:
    """Find every valid phone number in free page text, in order, with its character span."""
    if not text:
        return []
    found: list[FoundPhone] = []
    seen_spans: set[tuple[int, int]] = set()
    for match in PhoneNumberMatcher(text, region, leniency=Leniency.VALID):
        span = (match.start, match.end)
        if span in seen_spans:
            continue
        seen_spans.add(span)
        found.append(FoundPhone(raw=match.raw_string, e164=_format(match.number), start=match.start, end=match.end))
    return found


def _desc_sql(column: str, desc: object) -> str | None:
    """SQL for phonenumbers' _is_number_matching_desc on a 10-digit national number (None: never matches)."""
    pattern = getattr(desc, "national_number_pattern", None)
    lengths = getattr(desc, "possible_length", ()) or ()
    if desc is None or not pattern or (lengths and 10 not in lengths):
        return None
    return "regexp_full_match(" + column + ", '" + pattern.replace("'", "''") + "')"


def _region_valid_sql(column: str, metadata: object) -> str:
    """SQL for `_number_type_helper(...) != UNKNOWN` against one region's metadata."""
    general = _desc_sql(column, metadata.general_desc)
    types = [_desc_sql(column, getattr(metadata, name)) for name in (
        "premium_rate", "toll_free", "shared_cost", "voip", "personal_number", "pager", "uan", "voicemail",
        "fixed_line", "mobile")]
    types = [t for t in types if t]
    if general is None or not types:
        return "false"
    return f"({general} AND ({' OR '.join(types)}))"


@lru_cache(maxsize=4)
def nanp_valid_sql(column: str) -> str:
    """SQL boolean: phonenumbers would call "+1" + `column` (ten digits, area code 2-9) a valid number.

    The same rule as phonenumbers.is_valid_number, written from its own metadata: the NANPA region is the first
    one (in phonenumbers' order) whose leading digits match, or which has a type for the number; the number is
    valid when that region has a type for it. Lets the batch stage skip phonenumbers for millions of numbers.
    """
    from phonenumbers import PhoneMetadata
    from phonenumbers.phonenumberutil import COUNTRY_CODE_TO_REGION_CODE

    whens = []
    for region in COUNTRY_CODE_TO_REGION_CODE[1]:
        metadata = PhoneMetadata.metadata_for_region(region, None)
        if metadata is None:
            continue
        valid = _region_valid_sql(column, metadata)
        if metadata.leading_digits is not None:
            lead = "regexp_matches(" + column + ", '^(?:" + metadata.leading_digits.replace("'", "''") + ")')"
            whens.append(f"WHEN {lead} THEN {valid}")
        else:
            whens.append(f"WHEN {valid} THEN true")
    return f"(CASE {' '.join(whens)} ELSE false END)"
