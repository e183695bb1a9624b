"""US postal addresses in USPS Publication 28 form, and tolerant "same place" comparison.

Output is upper-case Pub 28: street suffixes abbreviated from the full C1 table (Street -> ST, Avenue -> AVE),
directionals abbreviated (North -> N, Northeast -> NE), unit designators per C2 (Suite -> STE, Apartment -> APT,
Floor -> FL, "2nd Floor" -> FL 2, Building -> BLDG, Room -> RM), ordinal words as numbers (First -> 1ST),
ZIP+4 cut to ZIP5, state names to 2-letter codes, punctuation dropped.

A bare "#4" stays "# 4" (Pub 28: "#" when the designator is unknown); it is NOT rewritten to "STE 4".
``addresses_match`` compares units on their identifiers, so "STE 4", "# 4" and "UNIT 4" are the same unit.

A token-table fast path handles the common "NUMBER [DIR] NAME [TYPE] [DIR] [UNIT]" shape; anything else
(no house number, one-line addresses without commas, highway/box forms) goes to usaddress.
"""

from __future__ import annotations

import csv
import math
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import usaddress
from rapidfuzz.distance import Levenshtein

__all__ = ["Address", "normalize_address", "parse_address", "addresses_match", "normalize_state", "normalize_zip5"]

DIRECTIONALS = {
    "N": "N", "S": "S", "E": "E", "W": "W", "NE": "NE", "NW": "NW", "SE": "SE", "SW": "SW",
    "NORTH": "N", "SOUTH": "S", "EAST": "E", "WEST": "W",
    "NORTHEAST": "NE", "NORTHWEST": "NW", "SOUTHEAST": "SE", "SOUTHWEST": "SW",
    "NORTH-EAST": "NE", "NORTH-WEST": "NW", "SOUTH-EAST": "SE", "SOUTH-WEST": "SW",
}
# Pub 28 C2 secondary unit designators (plus common variants). Values are the standard abbreviations.
UNIT_DESIGNATORS = {
    "APARTMENT": "APT", "APT": "APT", "BUILDING": "BLDG", "BLDG": "BLDG", "BLD": "BLDG", "DEPARTMENT": "DEPT",
    "DEPT": "DEPT", "FLOOR": "FL", "FL": "FL", "FLR": "FL", "HANGAR": "HNGR", "HNGR": "HNGR", "ROOM": "RM",
    "RM": "RM", "SUITE": "STE", "STE": "STE", "SUITES": "STE", "STES": "STE", "SUIT": "STE", "SUTE": "STE",
    "UNIT": "UNIT", "TRAILER": "TRLR", "TRLR": "TRLR", "SPACE": "SPC", "SPC": "SPC", "#": "#", "NO": "#",
    "PENTHOUSE": "PH", "PH": "PH", "BASEMENT": "BSMT", "BSMT": "BSMT", "LOBBY": "LBBY", "LBBY": "LBBY",
    "OFFICE": "OFC", "OFC": "OFC", "LOWER": "LOWR", "LOWR": "LOWR", "UPPER": "UPPR", "UPPR": "UPPR",
    "FRONT": "FRNT", "FRNT": "FRNT", "REAR": "REAR", "SIDE": "SIDE", "LOT": "LOT", "PIER": "PIER", "SLIP": "SLIP",
    "STOP": "STOP", "KEY": "KEY",
}
# Designators that may stand alone at the end of a street line without an identifier ("12 Main St Rear").
_STANDALONE_UNITS = {"BSMT", "FRNT", "LBBY", "LOWR", "OFC", "PH", "REAR", "SIDE", "UPPR"}
# Designators that are also everyday words, only taken as units when followed by an identifier.
_WORDLIKE_UNITS = {"KEY", "LOT", "PIER", "SLIP", "STOP", "SPACE", "SPC", "NO", "OFFICE", "SIDE", "FRONT", "LOWER",
                   "UPPER", "LOBBY", "REAR"}
ORDINAL_WORDS = {
    "FIRST": "1ST", "SECOND": "2ND", "THIRD": "3RD", "FOURTH": "4TH", "FIFTH": "5TH", "SIXTH": "6TH",
    "SEVENTH": "7TH", "EIGHTH": "8TH", "NINTH": "9TH", "TENTH": "10TH", "ELEVENTH": "11TH", "TWELFTH": "12TH",
    "THIRTEENTH": "13TH", "FOURTEENTH": "14TH", "FIFTEENTH": "15TH", "SIXTEENTH": "16TH", "SEVENTEENTH": "17TH",
    "EIGHTEENTH": "18TH", "NINETEENTH": "19TH", "TWENTIETH": "20TH", "THIRTIETH": "30TH", "FORTIETH": "40TH",
    "FIFTIETH": "50TH",
}
_CITY_PREFIXES = {"ST": "SAINT", "STE": "SAINTE", "FT": "FORT", "MT": "MOUNT", "PT": "POINT"}
_HIGHWAY_WORDS = {"HIGHWAY": "HWY", "HWY": "HWY", "HIWAY": "HWY", "HIGHWY": "HWY", "ROUTE": "RTE", "RTE": "RTE",
                  "RT": "RTE"}
# The street types that nearly always end a street name (a "Hill" or "Park" may instead be part of the name).
COMMON_TYPES = {"ST", "AVE", "RD", "DR", "BLVD", "LN", "CT", "PL", "WAY", "PKWY", "CIR", "TER", "TRL", "HWY", "SQ",
                "PLZ", "LOOP", "XING", "EXPY", "FWY", "PIKE", "ALY", "CTR", "CV", "HOLW", "RTE"}
_NUMBERED_ROAD_PREFIXES = {"COUNTY", "STATE", "FARM", "RANCH", "FOREST", "US", "SR", "CR", "FM", "TOWNSHIP",
                           "PARISH", "PRIVATE", "INTERSTATE", "PROVINCIAL", "HIGHWAY", "HWY"}
_HOUSE_NUMBER = re.compile(r"^(?:\d+[A-Z]?|\d+-\d+[A-Z]?|\d+-[A-Z]|[NSEW]\d+[NSEW]\d+)$")
# House numbers written out, as hospitals and office campuses do ("One Hospital Plaza", "Two Penn Center Plaza").
NUMBER_WORDS = {word: str(n) for n, word in enumerate(
    ("ONE TWO THREE FOUR FIVE SIX SEVEN EIGHT NINE TEN ELEVEN TWELVE THIRTEEN FOURTEEN FIFTEEN SIXTEEN SEVENTEEN "
     "EIGHTEEN NINETEEN TWENTY").split(), start=1)}
_ORDINAL_NUMBER = re.compile(r"^(\d+)(?:ST|ND|RD|TH)$")
_PO_BOX = re.compile(r"^(?:P\s*O|POST\s+OFFICE|POST|PO)?\s*(?:BOX|BX|DRAWER)\s+(\w+)\b\s*(.*)$")
_CLEAN = re.compile(r"[^A-Z0-9#/\- ]+")
_ZIP_TAIL = re.compile(r"[,\s]+(\d{5})(?:\s*-\s*(\d{4})|(\d{4}))?$")
_COUNTRY_TAIL = re.compile(r"[,\s]+(?:USA|U\s?S\s?A|US|UNITED STATES(?: OF AMERICA)?)$")


@dataclass(frozen=True, slots=True)  # slots: millions of these at national scale
class Address:
    """A postal address in Pub 28 form; key = 'line|zip5' (or 'line|city|state' without a ZIP)."""

    line: str
    number: str
    street: str
    unit: str
    city: str
    state: str
    zip5: str
    key: str


@lru_cache(maxsize=1)
def _suffixes() -> dict[str, str]:
    """Read the Pub 28 C1 street suffix table (variant -> standard abbreviation) once."""
    with resources.files("reconcile.data").joinpath("usps_street_suffixes.csv").open(encoding="utf-8") as handle:
        table = {row["variant"].strip().upper(): row["abbreviation"].strip().upper() for row in csv.DictReader(handle)}
    table.update({abbr: abbr for abbr in list(table.values())})
    return table


@lru_cache(maxsize=1)
def _states() -> dict[str, str]:
    """Read state names/abbreviations -> USPS code once (codes map to themselves)."""
    with resources.files("reconcile.data").joinpath("us_states.csv").open(encoding="utf-8") as handle:
        table = {row["name"].strip().upper(): row["code"].strip().upper() for row in csv.DictReader(handle)}
    table.update({code: code for code in list(table.values())})
    return table


@lru_cache(maxsize=1)
def _state_tail() -> re.Pattern[str]:
    """Regex matching a state name or code at the end of an upper-cased one-line address."""
    names = sorted(_states(), key=len, reverse=True)
    return re.compile(r"(?:^|[,\s]+)(" + "|".join(re.escape(n) for n in names) + r")$")


def _ascii_upper(text: str) -> str:
    """Fold accents to ASCII and upper-case."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").upper()


@lru_cache(maxsize=65_536)
def normalize_state(text: str | None) -> str:
    """Return the 2-letter USPS code for a state name or code ('' when unknown)."""
    if not text:
        return ""
    cleaned = " ".join(_ascii_upper(text).replace(".", "").replace(",", " ").split())
    return _states().get(cleaned, "")


@lru_cache(maxsize=65_536)
def normalize_zip5(text: str | int | None) -> str:
    """Return the 5-digit ZIP of a ZIP or ZIP+4 ('02134', '62701-1234', spreadsheet-mangled 2134.0); '' if none."""
    if text is None or text == "":
        return ""
    raw = str(text).strip()
    if raw.endswith(".0"):
        raw = raw[:-2]
    head = re.split(r"\s*-\s*", raw)[0]
    digits = "".join(ch for ch in head if ch.isdigit())
    if len(digits) in (3, 4) and head.isdigit():  # leading zeros eaten by a spreadsheet
        return digits.zfill(5)
    if len(digits) in (7, 8) and head.isdigit():
        return digits.zfill(9)[:5]
    if len(digits) in (5, 9):
        return digits[:5]
    return ""


def _normalize_city(text: str | None) -> str:
    """Upper-case a city name, drop punctuation and spell out St/Ft/Mt prefixes (St. Louis -> SAINT LOUIS)."""
    if not text:
        return ""
    words = _CLEAN.sub(" ", _ascii_upper(text).replace(".", "").replace("'", "")).split()
    if words and words[0] in _CITY_PREFIXES and len(words) > 1:
        words[0] = _CITY_PREFIXES[words[0]]
    return " ".join(words)


def _tokens(text: str) -> list[str]:
    """Upper-case, drop punctuation except '#', '-', '/', and split '#4' into '#', '4'."""
    text = _ascii_upper(text).replace(".", "").replace("'", "").replace("’", "")
    text = text.replace("#", " # ")
    return _CLEAN.sub(" ", text).split()


def _name_token(token: str, next_token: str | None) -> str:
    """Normalize one street-name word: ordinals (FIRST -> 1ST), highway words before a number."""
    if token in ORDINAL_WORDS:
        return ORDINAL_WORDS[token]
    if token in _HIGHWAY_WORDS and next_token is not None and next_token[:1].isdigit():
        return _HIGHWAY_WORDS[token]
    return token


def _unit_from(tokens: list[str]) -> str | None:
    """Normalize unit tokens ('SUITE','4' -> 'STE 4'; '2ND','FLOOR' -> 'FL 2'); None when they are not a unit."""
    out: list[str] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        ordinal = _ORDINAL_NUMBER.match(ORDINAL_WORDS.get(token, token))
        if ordinal and nxt in ("FLOOR", "FL", "FLR"):
            out += ["FL", ordinal.group(1)]
            i += 2
            continue
        if token in UNIT_DESIGNATORS:
            designator = UNIT_DESIGNATORS[token]
            if nxt == "#" and designator != "#" and i + 2 < len(tokens):  # "SUITE #4", "APT # 4"
                tokens = [*tokens[: i + 1], *tokens[i + 2:]]
                nxt = tokens[i + 1]
            if nxt is not None and nxt not in UNIT_DESIGNATORS:
                ident = nxt
                ordinal_ident = _ORDINAL_NUMBER.match(ident)
                if designator == "FL" and ordinal_ident:
                    ident = ordinal_ident.group(1)
                if out and out[-1] == "#" and designator != "#":
                    out.pop()
                out += [designator, ident]
                i += 2
                continue
            if designator in _STANDALONE_UNITS:
                out.append(designator)
                i += 1
                continue
            if designator == "#" and nxt is not None:  # "# STE 4"
                i += 1
                continue
            return None
        if out and out[-1] != "#" and (token[:1].isdigit() or len(token) == 1):  # "STE 4 B" -> keep identifier
            out.append(token)
            i += 1
            continue
        return None
    return " ".join(out)


def _is_unit_start(tokens: list[str], i: int) -> bool:
    """Tell whether tokens[i] begins the secondary unit part of a street line."""
    token = tokens[i]
    nxt = tokens[i + 1] if i + 1 < len(tokens) else None
    if token in UNIT_DESIGNATORS:
        if token in _WORDLIKE_UNITS:
            designator = UNIT_DESIGNATORS[token]
            if nxt is None:
                return designator in _STANDALONE_UNITS
            return bool(nxt[:1].isdigit() or len(nxt) == 1) and (nxt not in DIRECTIONALS or len(tokens) == i + 2)
        return nxt is not None or UNIT_DESIGNATORS[token] in _STANDALONE_UNITS
    ordinal = _ORDINAL_NUMBER.match(ORDINAL_WORDS.get(token, token))
    return bool(ordinal) and nxt in ("FLOOR", "FL", "FLR")


def _street_parts(tokens: list[str]) -> str | None:
    """Normalize street-name tokens: [predir] name [suffix] [postdir]; None when there is no name."""
    if not tokens:
        return None
    suffixes = _suffixes()
    pre = post = suffix = ""
    body = list(tokens)
    if len(body) >= 2 and body[-1] in DIRECTIONALS:
        post = DIRECTIONALS[body.pop()]
    if len(body) >= 2 and body[-1] in suffixes:
        suffix = suffixes[body.pop()]
    if len(body) >= 2 and body[0] in DIRECTIONALS:
        pre = DIRECTIONALS[body.pop(0)]
    if not body:
        return None
    name = [_name_token(tok, body[k + 1] if k + 1 < len(body) else None) for k, tok in enumerate(body)]
    return " ".join(part for part in (pre, " ".join(name), suffix, post) if part)


def _fast_street(text: str) -> tuple[str, str, str] | None:
    """Fast path: (number, street, unit) for a common street line, or None to defer to usaddress."""
    tokens = _tokens(text)
    if len(tokens) < 2:
        return None
    joined = " ".join(tokens)
    box = _PO_BOX.match(joined)
    if box:
        unit = _unit_from(box.group(2).split()) if box.group(2) else ""
        return ("", f"PO BOX {box.group(1)}", unit) if unit is not None else None
    number = tokens[0]
    if not _HOUSE_NUMBER.match(number):
        return None
    rest = tokens[1:]
    if len(rest) >= 2 and rest[0] == "1/2":  # "12 1/2 Main St"
        number, rest = f"{number} 1/2", rest[1:]
    unit_start = next((i for i in range(1, len(rest)) if _is_unit_start(rest, i)), len(rest))
    unit = _unit_from(rest[unit_start:]) if unit_start < len(rest) else ""
    if unit is None:
        return None
    street_tokens = rest[:unit_start]
    if not street_tokens or any(t == "#" for t in street_tokens):
        return None
    # a bare trailing number after a street type is a unit written without designator ("12 Main St 4")
    if len(street_tokens) >= 3 and street_tokens[-1].isdigit() and street_tokens[-2] in _suffixes() \
            and street_tokens[-2] not in _HIGHWAY_WORDS and not unit:
        if street_tokens[-3] in _NUMBERED_ROAD_PREFIXES:  # "COUNTY ROAD 5" is a road name, not a unit
            return None
        unit = f"# {street_tokens[-1]}"
        street_tokens = street_tokens[:-1]
    street = _street_parts(street_tokens)
    if street is None:
        return None
    return number, street, unit


_USADDRESS_STREET = ("StreetNamePreModifier", "StreetNamePreDirectional", "StreetNamePreType", "StreetName",
                     "StreetNamePostType", "StreetNamePostDirectional")
_USADDRESS_UNIT = ("OccupancyType", "OccupancyIdentifier", "SubaddressType", "SubaddressIdentifier",
                   "BuildingName")


def _usaddress_components(text: str) -> dict[str, str]:
    """Label a free address with usaddress (first occurrence of each label wins on repeated labels)."""
    try:
        tagged, _ = usaddress.tag(text)
        return dict(tagged)
    except usaddress.RepeatedLabelError as exc:
        components: dict[str, str] = {}
        for value, label in exc.parsed_string:
            if label in components and label in ("PlaceName", "StateName", "ZipCode"):
                continue
            components[label] = f"{components[label]} {value}" if label in components else value
        return components
    except Exception:  # usaddress can fail on odd input; the caller then keeps the raw text
        return {}


def _slow_street(components: dict[str, str]) -> tuple[str, str, str] | None:
    """Build (number, street, unit) from usaddress components with the same token tables as the fast path."""
    if components.get("USPSBoxID") or components.get("USPSBoxGroupID"):
        box = " ".join(_tokens(components.get("USPSBoxID", "")))
        group_type = " ".join(_tokens(components.get("USPSBoxGroupType", "")))
        group_id = " ".join(_tokens(components.get("USPSBoxGroupID", "")))
        if group_id:  # rural route / highway contract: "RR 2 BOX 5"
            prefix = "HC" if group_type.startswith(("H", "STAR")) else "RR"
            return "", " ".join(p for p in (prefix, group_id, "BOX" if box else "", box) if p), ""
        return "", f"PO BOX {box}", ""
    number_raw = components.get("AddressNumber", "")
    number = " ".join(_tokens(number_raw))
    number = NUMBER_WORDS.get(number, number)
    street_tokens = _tokens(" ".join(components[k] for k in _USADDRESS_STREET if components.get(k)))
    unit_tokens = _tokens(" ".join(v for k, v in components.items() if k in _USADDRESS_UNIT and v))  # text order
    if not street_tokens:
        return None
    street = _street_parts(street_tokens) or " ".join(street_tokens)
    unit = ""
    if unit_tokens:
        if unit_tokens[0] not in UNIT_DESIGNATORS and not _is_unit_start(unit_tokens, 0):
            unit_tokens = ["#", *unit_tokens]
        unit = _unit_from(unit_tokens) or " ".join(unit_tokens)
    return number, street, unit


def _build(number: str, street: str, unit: str, city: str, state: str, zip5: str) -> Address:
    """Assemble an Address and its key."""
    line = " ".join(part for part in (number, street, unit) if part)
    key = f"{line}|{zip5}" if zip5 else f"{line}|{city}|{state}"
    return Address(line=line, number=number, street=street, unit=unit, city=city, state=state, zip5=zip5, key=key)


@lru_cache(maxsize=1)
def _street_types() -> frozenset[str]:
    """The Pub 28 street type abbreviations (what a street name ends in: ST, AVE, PLZ, ...)."""
    return frozenset(_suffixes().values())


def _has_house_number(segment: str) -> bool:
    """True when a segment opens with a house number in digits ('12', '12-14', 'W156N5678')."""
    tokens = _tokens(segment)
    return bool(tokens) and bool(_HOUSE_NUMBER.match(tokens[0]))


def _spelled_house_number(segment: str) -> str:
    """A segment opening with a written-out house number, with the number as digits ('One Hospital Plaza' ->
    '1 Hospital Plaza'), so it reads like the '1 Hospital Plz' another source publishes for the same door.

    Only when the result reads as a street ending in a street type: a practice or building name that opens with
    a number word ('Seven Hills Hospital', 'One Medical') stays as it is.
    """
    head, _, rest = segment.partition(" ")
    number = NUMBER_WORDS.get(_ascii_upper(head).rstrip(".,"))
    if not number or not _tokens(rest):
        return segment
    parsed = _fast_street(f"{number} {rest}")
    return f"{number} {rest}" if parsed and parsed[1].split()[-1] in _street_types() else segment


def _street_line_parts(street: str) -> tuple[str, str, str] | None:
    """Normalize a street line that may span lines ('12 Main St\\nSuite 4' or 'Suite 4, 12 Main St')."""
    segments = [s.strip() for s in re.split(r"[\n\r,;]+", street) if s.strip()]
    if not segments:
        return None
    with_number = [s for s in segments if _has_house_number(s)]
    if not with_number:  # no house number in digits: a written-out one?
        segments = [_spelled_house_number(s) for s in segments]
        with_number = [s for s in segments if _has_house_number(s)]
    if with_number and len(segments) > 1:
        main = with_number[0]
        others = [s for s in segments if s is not main]
        units = [s for s in others if _tokens(s) and _is_unit_start(_tokens(s), 0) or _tokens(s)[:1] == ["#"]]
        segments = [main, *units]  # drop building/practice names, keep unit lines
    text = " ".join(segments)
    fast = _fast_street(text)
    if fast is not None:
        return fast
    return _slow_street(_usaddress_components(text))


def street_parts(street: str) -> tuple[str, str, str] | None:
    """(number, street, unit) of a street field in Pub 28 form, None when it has no words (the street half of
    normalize_address, which the batch stage runs once per distinct street)."""
    parts = _street_line_parts(street) if street.strip() else None
    if parts is None:
        tokens = _tokens(street)
        if not tokens:
            return None
        parts = ("", " ".join(tokens), "")
    return parts


def normalize_city(text: str | None) -> str:
    """City in Pub 28 form (upper-case, St/Ft/Mt spelled out): the city half of normalize_address."""
    return _normalize_city(text)


def build_address(number: str, street: str, unit: str, city: str, state: str, zip5: str) -> Address:
    """Assemble an Address (and its key) from already normalized parts."""
    return _build(number, street, unit, city, state, zip5)


@lru_cache(maxsize=262_144)
def _normalize_cached(street: str, city: str, state: str, zip_code: str) -> Address | None:
    """Cached core of normalize_address for one distinct combination of fields."""
    parts = street_parts(street)
    if parts is None:
        return None
    number, street_norm, unit = parts
    return _build(number, street_norm, unit, _normalize_city(city), normalize_state(state), normalize_zip5(zip_code))


def _field(value: object) -> str:
    """A field as text: None and NaN (pandas/Arrow missing values) become ''."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)


def normalize_address(street: str | None, city: str | None = None, state: str | None = None,
                      zip_code: str | None = None) -> Address | None:
    """Normalize an address given as separate fields to Pub 28 form; None when there is no street."""
    street, city, state, zip_code = _field(street), _field(city), _field(state), _field(zip_code)
    if not street.strip():
        return None
    if not city and not state and not zip_code and ("," in street or "\n" in street):
        parsed = parse_address(street)
        if parsed is not None and (parsed.city or parsed.state or parsed.zip5):
            return parsed
    return _normalize_cached(street, city, state, zip_code)


def _split_without_commas(upper: str) -> tuple[str, str] | None:
    """Split 'NUMBER NAME TYPE [DIR] [UNIT] CITY' at the end of the street part; None if no street type is seen."""
    tokens = _tokens(upper)
    if len(tokens) < 4 or not _HOUSE_NUMBER.match(tokens[0]):
        return None
    suffixes = _suffixes()
    end = next((k for k in range(2, len(tokens) - 1) if tokens[k] in suffixes), None)
    if end is None:
        return None
    # "12 Cedar Hill St Springfield", "12 Grand Park Ave ...": a landscape word followed by a common type is name
    while (end + 2 < len(tokens) and suffixes[tokens[end]] not in COMMON_TYPES
           and suffixes.get(tokens[end + 1]) in COMMON_TYPES):
        end += 1
    end += 1
    if end < len(tokens) - 1 and tokens[end] in DIRECTIONALS and len(tokens[end]) <= 2:
        end += 1
    while end < len(tokens) - 1 and _is_unit_start(tokens, end):
        end += 2 if tokens[end] in UNIT_DESIGNATORS else 2
    if end < len(tokens) - 1 and tokens[end] == "#":
        end += 2
    if end >= len(tokens):
        return None
    return " ".join(tokens[:end]), " ".join(tokens[end:])


def _split_last_line(text: str) -> tuple[str, str, str, str] | None:
    """Split a one-line/multi-line address into street, city, state, zip; None when no city can be told apart."""
    upper = " ".join(_ascii_upper(text).replace("\r", "\n").replace("\n", " , ").split())
    upper = _COUNTRY_TAIL.sub("", upper.strip(" ,"))
    zip5 = ""
    zip_match = _ZIP_TAIL.search(upper)
    if zip_match:
        zip5 = zip_match.group(1)
        upper = upper[: zip_match.start()].rstrip(" ,")
    state = ""
    undotted = upper.replace(".", "")
    state_match = _state_tail().search(undotted)
    if state_match and ("," in upper or zip5):
        state = _states()[state_match.group(1)]
        upper = undotted[: state_match.start()].rstrip(" ,")
    elif state_match:  # no comma, no ZIP: take the state only if the rest still splits into street + city
        rest = undotted[: state_match.start()].rstrip(" ,")
        split = _split_without_commas(rest)
        if split:
            return split[0], split[1], _states()[state_match.group(1)], ""
    segments = [s.strip() for s in upper.split(",") if s.strip()]
    if len(segments) < 2:
        split = _split_without_commas(upper)
        return (split[0], split[1], state, zip5) if split else None
    city = segments[-1]
    city_tokens = _tokens(city)
    if not city_tokens or city_tokens[0][:1].isdigit() or _is_unit_start(city_tokens, 0) or city_tokens[0] == "#":
        return None
    return ", ".join(segments[:-1]), city, state, zip5


@lru_cache(maxsize=262_144)
def _parse_cached(text: str) -> Address | None:
    """Cached core of parse_address."""
    split = _split_last_line(text)
    if split is not None:
        street, city, state, zip5 = split
        address = _normalize_cached(street, city, state, zip5)
        if address is not None and address.number:
            return address
    components = _usaddress_components(" ".join(text.replace("\n", ", ").split()))
    parts = _slow_street(components)
    if parts is None:
        return None
    number, street_norm, unit = parts
    return _build(number, street_norm, unit, _normalize_city(components.get("PlaceName")),
                  normalize_state(components.get("StateName")), normalize_zip5(components.get("ZipCode")))


def parse_address(text: str | None) -> Address | None:
    """Parse a one-line or multi-line address ('12 Main Street, Suite 4, Springfield, IL 62701-1234')."""
    if not text or not isinstance(text, str) or not text.strip():
        return None
    return _parse_cached(text.strip())


_COMPARE_NAME_WORDS = {"SAINT": "ST", "STREET": "ST", "MOUNT": "MT", "FORT": "FT"}
_TYPO_MIN_LENGTH = 7  # street names this long may differ by one typo ("WASHINGTN"); shorter ones ("MAIN"/"MAINE") not
# Unit designators grouped by what they locate: ids are only compared within a group ("FL 2" vs "STE 200" is fine).
_UNIT_GROUPS = {"FL": "level", "BLDG": "building", "BSMT": "level", "LBBY": "level", "PH": "level", "UPPR": "level",
                "LOWR": "level"}


_TENS = {"TWENTY": 20, "THIRTY": 30, "FORTY": 40, "FIFTY": 50, "SIXTY": 60, "SEVENTY": 70, "EIGHTY": 80, "NINETY": 90}
_UNIT_ORDINALS = {"FIRST": 1, "SECOND": 2, "THIRD": 3, "FOURTH": 4, "FIFTH": 5, "SIXTH": 6, "SEVENTH": 7, "EIGHTH": 8,
                  "NINTH": 9}
# "TWENTY-FIRST" / "TWENTY FIRST" (the normalizer keeps compound ordinals as written), compared as 21
_COMPOUND_ORDINAL = re.compile(rf"\b({'|'.join(_TENS)})[- ]?({'|'.join(_UNIT_ORDINALS)}|[1-9](?:ST|ND|RD|TH))\b")
_TENS_ORDINAL = {"SIXTIETH": "60", "SEVENTIETH": "70", "EIGHTIETH": "80", "NINETIETH": "90"}
# Street-name words left out or spelled in full on one side: "MLK JR BLVD" is "MARTIN LUTHER KING BLVD"
_NAME_EXPANSIONS = {"MLK": ("MARTIN", "LUTHER", "KING")}
_NAME_NOISE = {"JR", "JR."}


def _compound_ordinals(street: str) -> str:
    """Write compound ordinals as numbers ("TWENTY-FIRST AVE" -> "21 AVE") for comparison."""
    def number(m: re.Match[str]) -> str:
        """The compound ordinal's value."""
        unit = m.group(2)
        return str(_TENS[m.group(1)] + (_UNIT_ORDINALS[unit] if unit in _UNIT_ORDINALS else int(unit[0])))

    return _COMPOUND_ORDINAL.sub(number, street)


def _name_tokens(tokens: list[str]) -> list[str]:
    """Street-name tokens with MLK spelled out and a "JR" dropped (kept when it is the whole name)."""
    expanded = [part for t in tokens for part in _NAME_EXPANSIONS.get(t, (t,))]
    kept = [t for t in expanded if t not in _NAME_NOISE]
    return kept or expanded


def _compare_token(token: str) -> str:
    """Comparison spelling of a street word: type words abbreviated, SAINT -> ST, ordinals bare (42ND -> 42)."""
    if len(token) <= 2:
        return token
    ordinal = _ORDINAL_NUMBER.match(token)
    if ordinal:
        return ordinal.group(1)
    return _COMPARE_NAME_WORDS.get(token) or _TENS_ORDINAL.get(token) or _suffixes().get(token, token)


@lru_cache(maxsize=65_536)
def _street_core(street: str) -> tuple[str, str, str, str]:
    """Split a normalized street into (predir, name, suffix, postdir), every type word abbreviated, for comparison."""
    tokens = [_compare_token(t) for t in _compound_ordinals(street).split()]
    suffix_values = set(_suffixes().values())
    dirs = set(DIRECTIONALS.values())
    pre = post = suffix = ""
    if len(tokens) >= 2 and tokens[-1] in dirs:
        post = tokens.pop()
    if len(tokens) >= 2 and tokens[-1] in suffix_values:
        suffix = tokens.pop()
    if len(tokens) >= 2 and tokens[0] in dirs:
        pre = tokens.pop(0)
    return pre, " ".join(_name_tokens(tokens)), suffix, post


def _names_equal(a: str, b: str) -> bool:
    """Street names equal ignoring spaces ("MC DONALD"/"MCDONALD"), allowing one typo in long names."""
    a, b = a.replace(" ", ""), b.replace(" ", "")
    if a == b:
        return True
    if min(len(a), len(b)) < _TYPO_MIN_LENGTH or any(c.isdigit() for c in a + b):
        return False
    return Levenshtein.distance(a, b, score_cutoff=1) <= 1


def _streets_match(a: str, b: str) -> bool:
    """Same street, tolerating a directional or street type present on one side only."""
    if a == b:
        return True
    pre_a, name_a, suf_a, post_a = _street_core(a)
    pre_b, name_b, suf_b, post_b = _street_core(b)
    dir_a, dir_b = pre_a or post_a, pre_b or post_b
    if dir_a and dir_b and dir_a != dir_b:
        return False
    if _names_equal(name_a, name_b):
        return not (suf_a and suf_b and suf_a != suf_b)
    # "CEDAR HILL ST" vs "CEDAR HL": the other side's type word is this side's last name word
    return bool((suf_b and f"{name_b} {suf_b}" == name_a) or (suf_a and f"{name_a} {suf_a}" == name_b))


@lru_cache(maxsize=65_536)
def _unit_groups(unit: str) -> dict[str, tuple[str, ...]]:
    """Group a unit's identifiers by what they locate: 'BLDG 2 STE 300' -> {'building': ('2',), 'room': ('300',)}."""
    designators = set(UNIT_DESIGNATORS.values())
    groups: dict[str, list[str]] = {}
    current = "room"
    for token in unit.split():
        if token in designators:
            current = _UNIT_GROUPS.get(token, "room")
            continue
        groups.setdefault(current, []).append(_unit_id(token))
    return {k: tuple(v) for k, v in groups.items()}


def _unit_id(token: str) -> str:
    """A unit identifier as compared: "3-B" is "3B", "0200" is "200"."""
    ident = token.replace("-", "")
    return (ident.lstrip("0") or ident) if ident.isdigit() else ident


def _units_match(a: str, b: str) -> bool:
    """Units are compatible when equal or missing on one side; otherwise ids must agree where both give the same kind."""
    if not a or not b or a == b:
        return True
    groups_a, groups_b = _unit_groups(a), _unit_groups(b)
    return all(groups_a[kind] == groups_b[kind] for kind in groups_a.keys() & groups_b.keys())


def _numbers_match(a: str, b: str) -> bool:
    """Same house number; a range ("12-14") matches either end."""
    if a == b:
        return True
    for one, other in ((a, b), (b, a)):
        if "-" in one and other in one.split("-") and other.isdigit() and one.replace("-", "").isdigit():
            return True
    return False


def addresses_match(a: Address | None, b: Address | None) -> bool:
    """Same place after normalization: same ZIP5 (when both have one), house number, street, compatible unit."""
    if a is None or b is None:
        return False
    if a.zip5 and b.zip5 and a.zip5 != b.zip5:
        return False
    if not (a.zip5 and b.zip5) and a.city and b.city and a.city != b.city:
        return False
    if a.state and b.state and a.state != b.state:
        return False
    if not _numbers_match(a.number, b.number):
        return False
    return _streets_match(a.street, b.street) and _units_match(a.unit, b.unit)
