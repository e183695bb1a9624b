"""The practice's current phone numbers and street addresses (not fax, billing or 'formerly' values)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence
from urllib.parse import parse_qs, unquote_plus, urlsplit

import usaddress

from crawlers.extract.text import Block

try:  # the shared normalizer when present; phonenumbers' matcher otherwise
    from reconcile.normalize.phone import find_phones as _find_phones
except ImportError:  # pragma: no cover - depends on the reconcile package's progress
    _find_phones = None

__all__ = ["ContactClaim", "find_phone_claims", "find_address_claims", "map_link_addresses", "phones_in_text"]

_EXCLUDE_LABEL = re.compile(
    r"\b(?:fax|facsimile|f|billing|bills?|formerly|former|old|previous(?:ly)?|no\s+longer|used\s+to\s+be|changed\s+from|"
    r"tty|tdd|pharmacy|hospital|poison|crisis|suicide|lab(?:oratory)?\s+(?:corp|quest)|insurance\s+company|member\s+services|"
    r"moved\s+from|prior|outdated|disconnected|after[-\s]?hours(?:\s+(?:line|number|calls?|service))?|answering\s+service)\b\s*[:#.\-]?\s*$|\b(?:fax|billing|formerly|former|old|previous(?:ly)?|no\s+longer)\b",
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


def _label_block_excludes(blocks: Sequence[Block], index: int) -> bool:
    """True when the block before a bare number is a short 'Fax' / 'Billing' label (dt/dd pairs, one-line-per-<p> cards)."""
    if index == 0:
        return False
    label = blocks[index - 1].text.strip()
    return len(label.split()) <= 4 and not re.search(r"\d{3}", label) and bool(_EXCLUDE_LABEL.search(label))


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
            if not text[line_start:start].strip() and _label_block_excludes(blocks, index):
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
        separators = [window.rfind(": "), window.rfind(" - "), window.rfind("•"), *stops]
        # A "|" usually ends the previous item, but footers also write "12 Main St | Springfield, IL 62701".
        for cut in (max([window.rfind("|"), *separators]), max(separators)):
            base = window_start + (cut + 1 if cut >= 0 else 0)
            hit = next((m.start() for m in _STREET_START.finditer(flat, base, end) if _parse_ok(_unpipe(flat[m.start() : end]))), None)
            if hit is not None:
                found.append((_unpipe(flat[hit:end]), hit))
                taken_to = end
                break
    return tuple(found)


def _unpipe(candidate: str) -> str:
    """An address candidate with ' | ' separators read as commas, trimmed of edge punctuation."""
    return re.sub(r"\s*\|\s*", ", ", candidate).strip(" ,")


def find_address_claims(blocks: Sequence[Block]) -> list[ContactClaim]:
    """Current practice street addresses, skipping billing/mailing/P.O. boxes and 'formerly at' addresses."""
    claims: list[ContactClaim] = []
    for index, block in enumerate(blocks):
        if not re.search(r"\d{5}", block.text):
            continue
        if re.search(r"\b(?:billing|mailing|remit)\b", block.heading, re.IGNORECASE):
            continue
        text = block.text
        found = _addresses_in(text)
        if not found:
            text = _with_lines_before(blocks, index)
            found = _addresses_in(text) if text != block.text else ()
        flat = re.sub(r"\s*\n\s*", ", ", text)
        previous_end = 0
        for address, start in found:
            before = flat[max(0, previous_end, start - 60) : start]
            previous_end = start + len(address)
            sentence_start = max(before.rfind(". "), before.rfind("\n"))
            if _ADDRESS_EXCLUDE.search(before[sentence_start + 1 :] if sentence_start >= 0 else before):
                continue
            claims.append(ContactClaim("address", address, text.replace("\n", ", "), 0.85, index))
    return claims


def _with_lines_before(blocks: Sequence[Block], index: int) -> str:
    """A block's text preceded by up to three short blocks before it: page builders put each address line in its own <p>."""
    lines = [blocks[index].text]
    for k in range(index - 1, max(-1, index - 4), -1):
        previous = blocks[k].text
        if len(previous) > 60 or "\n" in previous or re.search(r"\d{5}", previous):
            break
        lines.insert(0, previous)
        if _STREET_START.match(previous):
            label = blocks[k - 1].text if k else ""
            if label.rstrip().endswith(":") and len(label) <= 40:  # "Mailing address:" on its own line
                lines.insert(0, label)
            break
    return "\n".join(lines)


_MAP_URL = re.compile(
    r"""https?://(?:www\.|maps\.)?google\.[a-z.]+/maps[^"'\s<>]*|https?://maps\.google\.[a-z.]+/[^"'\s<>]*|https?://maps\.apple\.com/[^"'\s<>]*""",
    re.IGNORECASE,
)


def map_link_addresses(html: str) -> list[str]:
    """Street addresses written into Google/Apple Maps links and embeds (q=, daddr=, destination=, /place/...)."""
    found: list[str] = []
    for raw in _MAP_URL.findall(html):
        parts = urlsplit(raw.replace("&amp;", "&"))
        query = parse_qs(parts.query)
        values = [v for key in ("q", "query", "daddr", "destination", "address") for v in query.get(key, [])]
        place = re.search(r"/maps/(?:place|search|dir/[^/]*)/([^/@?]+)", parts.path)
        if place:
            values.append(unquote_plus(place.group(1)))
        values += [unquote_plus(v) for pb in query.get("pb", []) for v in re.findall(r"!2s([^!]+)", pb)]
        for value in values:
            for address, _start in _addresses_in(re.sub(r"\s+", " ", value).strip()):
                if address not in found:
                    found.append(address)
    return found
