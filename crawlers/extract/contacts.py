"""The practice's current phone numbers and street addresses (not fax, billing or 'formerly' values)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

import usaddress

from crawlers.extract.text import Block

try:  # the shared normalizer when present; phonenumbers' matcher otherwise
    from reconcile.normalize.phone import find_phones as _find_phones
except ImportError:  # pragma: no cover - depends on the reconcile package's progress
    _find_phones = None

__all__ = ["ContactClaim", "find_phone_claims", "find_address_claims", "phones_in_text"]

_EXCLUDE_LABEL = re.compile(
    r"\b(?:fax|facsimile|f|billing|bills?|formerly|former|old|previous(?:ly)?|no\s+longer|used\s+to\s+be|changed\s+from|"
    r"tty|tdd|pharmacy|hospital|poison|crisis|suicide|lab(?:oratory)?\s+(?:corp|quest)|insurance\s+company|member\s+services|"
    r"moved\s+from|prior|outdated|disconnected)\b\s*[:#.\-]?\s*$|\b(?:fax|billing|formerly|former|old|previous(?:ly)?|no\s+longer)\b",
    re.IGNORECASE,
)
_AFTER_EXCLUDE = re.compile(
    r"^\s*[\(\[]\s*(?:fax|f|billing|old|former|no\s+longer\s+in\s+service|tty|tdd)\s*(?:line|number|only)?\s*[\)\]]"
    r"|^\s*[-–—,]?\s*(?:fax|billing|tty)\s*(?:line|number|only)?\s*(?:$|[.;,|])|^\s*(?:is\s+)?no\s+longer\s+in\s+service",
    re.IGNORECASE,
)
_ADDRESS_EXCLUDE = re.compile(
    r"\b(?:formerly|previously|former|old|moved\s+from|used\s+to\s+be|billing|mailing|remit|payments?\s+to|p\.?\s*o\.?\s+box|send\s+(?:records|payments))\b",
    re.IGNORECASE,
)
_ZIP_END = re.compile(r"\b(?:[A-Z]{2}|[A-Z][a-z]+(?:\s+[A-Z][a-z]+)?)\.?,?\s+\d{5}(?:-\d{4})?\b")
_STREET_START = re.compile(r"(?<![\w-])\d{1,6}[A-Za-z]?(?:-\d{1,4})?\s+(?=[A-Za-z0-9])")
_SENTENCE_END = re.compile(r"[a-z]{4,}[.!?] ")
_REQUIRED = {"AddressNumber", "StreetName", "PlaceName", "StateName", "ZipCode"}
_ALLOWED = _REQUIRED | {
    "AddressNumberPrefix", "AddressNumberSuffix", "StreetNamePreDirectional", "StreetNamePreModifier", "StreetNamePreType",
    "StreetNamePostDirectional", "StreetNamePostModifier", "StreetNamePostType", "OccupancyType", "OccupancyIdentifier",
    "SubaddressIdentifier", "SubaddressType", "BuildingName", "CornerOf", "IntersectionSeparator", "LandmarkName",
    "Recipient", "NotAddress",
}


@dataclass(frozen=True)
class ContactClaim:
    """A current phone (E.164) or address (as written) with the verbatim text it came from."""

    kind: str
    value: str
    snippet: str
    confidence: float
    block_index: int


@lru_cache(maxsize=8192)
def phones_in_text(text: str) -> tuple[tuple[str, str, int, int], ...]:
    """(raw, e164, start, end) for each valid phone number in text (cached: footers repeat on every page)."""
    if _find_phones is not None:
        return tuple((f.raw, f.e164, f.start, f.end) for f in _find_phones(text))
    import phonenumbers

    out = []
    for match in phonenumbers.PhoneNumberMatcher(text, "US"):
        e164 = phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
        out.append((match.raw_string, e164, match.start, match.end))
    return tuple(out)


def _line_of(text: str, start: int, end: int) -> str:
    """The line of text around a span (phones are labelled on their own line)."""
    left = text.rfind("\n", 0, start) + 1
    right = text.find("\n", end)
    return text[left : right if right != -1 else len(text)]


def find_phone_claims(blocks: Sequence[Block]) -> list[ContactClaim]:
    """Current practice phone numbers, skipping fax, billing, 'formerly'/'old' and other-organization numbers."""
    claims: list[ContactClaim] = []
    for index, block in enumerate(blocks):
        if not re.search(r"\d{3}", block.text):
            continue
        if re.search(r"\b(?:billing|fax)\b", block.heading, re.IGNORECASE):
            continue
        text = block.text
        found = phones_in_text(text)
        previous_end = 0
        for raw, e164, start, end in found:
            line_start = text.rfind("\n", 0, start) + 1
            before = text[max(previous_end, line_start, start - 40) : start]
            after = text[end : end + 20]
            previous_end = end
            if _EXCLUDE_LABEL.search(before) or _AFTER_EXCLUDE.match(after):
                continue
            if block.tag in ("td", "th") and block.row:
                row_label = " ".join(b.text for b in blocks if b.row == block.row and b is not block)
                if re.search(r"\b(?:fax|billing)\b", row_label, re.IGNORECASE):
                    continue
            claims.append(ContactClaim("phone", e164.split(";", 1)[0], _line_of(text, start, end).strip(), 0.9, index))
    return claims


def _parse_ok(candidate: str) -> bool:
    """True when usaddress reads the candidate as one street address with number, street, city, state and ZIP."""
    try:
        tagged, kind = usaddress.tag(candidate)
    except usaddress.RepeatedLabelError:
        return False
    if kind != "Street Address":
        return False
    labels = set(tagged)
    return _REQUIRED <= labels and labels <= _ALLOWED and "NotAddress" not in labels


@lru_cache(maxsize=8192)
def _addresses_in(text: str) -> tuple[tuple[str, int], ...]:
    """Street addresses (number ... state ZIP) found in one block of text, as written, with offsets (cached)."""
    flat = re.sub(r"\s*\n\s*", ", ", text)
    found: list[tuple[str, int]] = []
    taken_to = 0
    for zip_match in _ZIP_END.finditer(flat):
        end = zip_match.end()
        window_start = max(taken_to, end - 160)
        window = flat[window_start:end]
        stops = [m.end() - 1 for m in _SENTENCE_END.finditer(window)]
        cut = max([window.rfind(": "), window.rfind("|"), window.rfind(" - "), window.rfind("•"), *stops])
        base = window_start + (cut + 1 if cut >= 0 else 0)
        for start_match in _STREET_START.finditer(flat, base, end):
            candidate = flat[start_match.start() : end].strip(" ,")
            if _parse_ok(candidate):
                found.append((candidate, start_match.start()))
                taken_to = end
                break
    return tuple(found)


def find_address_claims(blocks: Sequence[Block]) -> list[ContactClaim]:
    """Current practice street addresses, skipping billing/mailing/P.O. boxes and 'formerly at' addresses."""
    claims: list[ContactClaim] = []
    for index, block in enumerate(blocks):
        if not re.search(r"\d{5}", block.text):
            continue
        if re.search(r"\b(?:billing|mailing|remit)\b", block.heading, re.IGNORECASE):
            continue
        flat = re.sub(r"\s*\n\s*", ", ", block.text)
        for address, start in _addresses_in(block.text):
            before = flat[max(0, start - 60) : start]
            sentence_start = max(before.rfind(". "), before.rfind("\n"))
            if _ADDRESS_EXCLUDE.search(before[sentence_start + 1 :] if sentence_start >= 0 else before):
                continue
            claims.append(ContactClaim("address", address, block.text.replace("\n", ", "), 0.85, index))
    return claims
