"""Recommended action per finding: what an insurer's directory team should do, the value to publish, and why.

Pure, deterministic rules over finding rows (reconcile.findings.FINDING_COLUMNS); `with_actions` reads the
listing's phone / practice from the run's TEMP table temp_rc_l only to say who to call. `threshold` (default 0.65)
is the confidence (strength x extraction confidence x link score) at or above which the evidence is strong enough
to act on. Strengths: practice reports 0.9-0.95, explicit website statements 0.85, website departures 0.9, a
provider missing from a complete roster 0.7, an accepted-insurer list without the insurer 0.6, other directories
0.6: reports pass, website statements read at 0.85 on a site linked at 0.9 or more pass, the rest are verified.

| finding_type | condition (checked in this order) | action | proposed_value |
|---|---|---|---|
| any | confidence < threshold | verify | - |
| unreachable | (with or without stale_listing on the same listing) | suppress_until_verified | - |
| stale_listing | the same listing also has an unreachable finding | suppress_until_verified | - |
| stale_listing | alone | verify | - |
| insurer_not_accepted | practice report or website | remove_from_network | - |
| provider_not_at_location | practice report, or website departure / complete roster | remove_from_location | - |
| phone | website shows exactly one current number | update | (217) 555-0100 (national format of E.164) |
| phone | report: wrong number, or website shows several numbers | verify | - |
| address | website shows exactly one current address | update | USPS line: 12 MAIN ST STE 4, SPRINGFIELD, IL 62701 |
| address | report: not at this address, or several / unparseable addresses | verify | - |
| accepting_status | practice report or website, canonical status known | update | accepting / not_accepting / ... |
| invalid_npi | deactivated per a reference (NPPES) | suppress_until_verified | - |
| invalid_npi | fails the check digit | verify | - |
| cross_directory_conflict | (another directory is not practice evidence) | verify | - |
| anything else | | verify | - |

Unreachable alone is suppressed, not merely verified: a listing whose number nobody answers cannot be used by a
patient, so it is hidden until the practice confirms it (CMS / No Surprises Act: unverifiable listings come down).
The action_reason names the evidence for acting, or for `verify` who to call (the practice and listed number)
and what to ask.
"""

from __future__ import annotations

import gc
import re
import string
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import phonenumbers
import pyarrow as pa
import pyarrow.compute as pc

from reconcile.normalize.accepting import takes_new_patients
from reconcile.normalize.address import parse_address
from reconcile.normalize.phone import normalize_phone

__all__ = ["ACTIONS", "ACTION_COLUMNS", "Action", "Contact", "Contacts", "DEFAULT_THRESHOLD", "Memo", "recommend",
           "recommend_all", "add_actions", "action_contacts", "with_actions", "human_phone", "usps_line"]

ACTIONS = ("update", "remove_from_location", "remove_from_network", "verify", "suppress_until_verified")
ACTION_COLUMNS = ("recommended_action", "proposed_value", "action_reason")
DEFAULT_THRESHOLD = 0.65
_NANP_E164 = re.compile(r"^\+1(\d{3})(\d{3})(\d{4})(?:;ext=(\d+))?$")
_PLAIN_PHONE = r"\s*(\+?1[\s.\-]*)?\(?[2-9][0-9]{2}\)?[\s.\-]*[0-9]{3}[\s.\-]*[0-9]{4}\s*"  # no extension
REPORT_SOURCES = frozenset({"attestation", "phone_survey", "secret_shopper"})
PRACTICE_SOURCES = REPORT_SOURCES | {"website"}
CANONICAL_STATUSES = ("accepting", "not_accepting", "existing_only", "waitlist", "limited")
_ASK = {
    "phone": "which number patients should call for {who}",
    "address": "the street address where {who} sees patients",
    "accepting_status": "whether {who} is taking new patients",
    "provider": "whether {who} still sees patients at {where}",
    "insurer": "whether {who} is in network with {insurer}",
    "reachable": "whether this is still the number for {who}",
    "last_updated": "whether {who} is still at {where} with this number, and taking new patients",
    "npi": "for the NPI of {who} (and check it in NPPES)",
}


@dataclass(frozen=True)
class Action:
    """A recommended action with the value to publish (update only) and a one-line reason."""

    action: str
    proposed_value: str | None
    reason: str


@dataclass(frozen=True)
class Contact:
    """Who to call about a listing: the practice (or provider) name and the listed phone.

    `formatted` (optional) is the phone already as human_phone would print it, when the caller knows it
    without parsing (a plain NANP spelling whose E.164 the run already has); otherwise `phone` is parsed.
    """

    practice: str | None = None
    phone: str | None = None
    formatted: str | None = None


def _nanp_national(e164: str | None) -> str | None:
    """phonenumbers' NATIONAL format of a +1 E.164 number ('(217) 555-0100 ext. 12'), None for other numbers."""
    nanp = _NANP_E164.match(e164 or "")
    if not nanp:
        return None
    return f"({nanp[1]}) {nanp[2]}-{nanp[3]}" + (f" ext. {nanp[4]}" if nanp[4] else "")


def human_phone(text: str | None) -> str | None:
    """A phone as people read it: E.164 normalized, then national format for US numbers ('(217) 555-0100 ext. 12')."""
    e164 = normalize_phone(text)
    if e164 is None:
        return None
    national = _nanp_national(e164)  # the same text for every +1 region, without a second parse
    if national is not None:
        return national
    number = phonenumbers.parse(e164.replace(";ext=", " ext. "), "US")
    fmt = phonenumbers.PhoneNumberFormat.NATIONAL if number.country_code == 1 else \
        phonenumbers.PhoneNumberFormat.INTERNATIONAL
    return phonenumbers.format_number(number, fmt)


def usps_line(text: str | None) -> str | None:
    """An address as one USPS Pub 28 line ('12 MAIN ST STE 4, SPRINGFIELD, IL 62701'), None when unparseable."""
    return _usps_parsed(parse_address(text))


def _usps_parsed(parsed: Any) -> str | None:
    """usps_line of an already parsed address (no second parse of the same text)."""
    if parsed is None or not parsed.line:
        return None
    tail = " ".join(p for p in (parsed.state, parsed.zip5) if p)
    return ", ".join(p for p in (parsed.line, parsed.city, tail) if p)


class Memo:
    """Per-run memo of the formatting helpers (one parse per distinct phone / address text, not per finding).

    Scoped to one recommend_all call and dropped with it: directories repeat a practice's number and address on
    many findings, and phonenumbers / address parsing dominate the per-finding cost otherwise.
    """

    def __init__(self) -> None:
        """Empty caches."""
        self.phones: dict[str | None, str | None] = {}
        self.phone_lists: dict[str | None, list[str]] = {}
        self.address_lists: dict[str | None, list[str]] = {}

    def human_phone(self, text: str | None) -> str | None:
        """human_phone(text), computed once per distinct text."""
        if text not in self.phones:
            self.phones[text] = human_phone(text)
        return self.phones[text]

    def distinct_phones(self, shown: str | None) -> list[str]:
        """_distinct_phones(shown), computed once per distinct text."""
        if shown not in self.phone_lists:
            self.phone_lists[shown] = _distinct_phones(shown, self.human_phone)
        return self.phone_lists[shown]

    def distinct_addresses(self, shown: str | None) -> list[str]:
        """_distinct_addresses(shown), computed once per distinct text."""
        if shown not in self.address_lists:
            self.address_lists[shown] = _distinct_addresses(shown)
        return self.address_lists[shown]


def _distinct_phones(shown: str | None, fmt: Callable[[str | None], str | None] = human_phone) -> list[str]:
    """The distinct valid numbers in a '; '-joined website phone list, in order, formatted for humans."""
    found: dict[str, str] = {}
    for part in (shown or "").split(";"):
        e164 = normalize_phone(part)
        if e164 is not None and e164.split(";ext=")[0] not in found:
            found[e164.split(";ext=")[0]] = fmt(part) or e164
    return list(found.values())


def _distinct_addresses(shown: str | None) -> list[str]:
    """The distinct parseable addresses in a ' | '-joined website address list, as USPS lines."""
    found: dict[str, str] = {}
    for part in (shown or "").split(" | "):
        parsed = parse_address(part)
        if parsed is not None and parsed.line:
            found.setdefault(parsed.key, _usps_parsed(parsed) or parsed.line)
    return list(found.values())


def _who(row: Mapping[str, Any]) -> str:
    """The provider as named in the listing, for reasons ('Dr Smith' style text is kept verbatim)."""
    return str(row.get("provider_name") or row.get("npi") or "the provider")


def _call(row: Mapping[str, Any], contact: Contact | None, field: str, memo: Memo | None = None) -> str:
    """'call PRACTICE at PHONE and ask ...' for a verify / suppress reason."""
    who, where = _who(row), str(row.get("address") or "the listed address")
    ask = _ASK.get(field, "whether the listing for {who} is correct").format(
        who=who, where=where, insurer=row.get("insurer") or "the plan")
    target = (contact.practice if contact and contact.practice else None) or who
    fmt = memo.human_phone if memo is not None else human_phone
    phone = (contact.formatted or fmt(contact.phone)) if contact and contact.phone else None
    phone = phone or (contact.phone if contact and contact.phone else None)
    return f"call {target}" + (f" at {phone}" if phone else " (no listed phone: use the NPPES number)") + \
        f" and ask {ask}"


def _source(row: Mapping[str, Any]) -> str:
    """The evidence source and date for a reason ('secret_shopper 2026-11-10')."""
    observed = row.get("observed_at")
    day = str(observed)[:10] if observed else ""
    return " ".join(p for p in (str(row.get("evidence_source") or "unknown source"), day) if p)


def _is_roster_or_departure(observed: str) -> bool:
    """True when website provider evidence is a departure notice or a complete roster without the provider."""
    return observed.startswith("left the practice") or observed.startswith("not among")


def _from_site(row: Mapping[str, Any], values: list[str], plural: str, sep: str,
               verify: Callable[[str], Action]) -> Action | None:
    """`update` to the one value the practice website lists, `verify` when it lists several, else None."""
    if len(values) == 1:
        return Action("update", values[0], f"the practice website lists {values[0]} ({_source(row)})")
    if len(values) > 1:
        return verify(f"the practice website lists {len(values)} {plural} ({sep.join(values)})")
    return None


def recommend(row: Mapping[str, Any], listing_types: Iterable[str] = (), contact: Contact | None = None,
              threshold: float = DEFAULT_THRESHOLD, memo: Memo | None = None) -> Action:
    """The recommended action for one finding (see the module table); listing_types = finding types on its listing.

    `memo` (optional) shares phone/address formatting across the findings of one run.
    """
    ftype = str(row.get("finding_type") or "")
    field = str(row.get("field") or "")
    source = str(row.get("evidence_source") or "")
    observed = str(row.get("observed_value") or "")
    confidence = float(row.get("confidence") or 0.0)
    types = set(listing_types)

    def verify(why: str) -> Action:
        """A verify action whose reason says why, then who to call and what to ask."""
        return Action("verify", None, f"{why}: {_call(row, contact, field, memo)}")

    if confidence < threshold:
        return verify(f"evidence too weak ({_source(row)}, confidence {confidence:.2f} < {threshold:.2f})")
    if ftype == "unreachable" or (ftype == "stale_listing" and "unreachable" in types):
        stale = " and the listing is stale" if ("stale_listing" in types or ftype == "stale_listing") else ""
        return Action("suppress_until_verified", None,
                      f"listed number not answered ({_source(row)}){stale}: hide until {_call(row, contact, field, memo)}")
    if ftype == "stale_listing":
        return verify(f"not updated since {row.get('directory_value')}")
    practice = source in PRACTICE_SOURCES
    if ftype == "insurer_not_accepted":
        if practice:
            return Action("remove_from_network", None, f"{source} says {observed} ({_source(row)})")
        return verify(f"only {source or 'unknown source'} says {observed}")
    if ftype == "provider_not_at_location":
        if source in REPORT_SOURCES or (source == "website" and _is_roster_or_departure(observed)):
            return Action("remove_from_location", None, f"{observed} ({_source(row)})")
        return verify(f"provider not confirmed at this location ({_source(row)})")
    if ftype == "phone":
        phones = (memo.distinct_phones(observed) if memo is not None else _distinct_phones(observed)) \
            if source == "website" else []
        return _from_site(row, phones, "numbers", ", ", verify) or verify(
            f"the listed number is wrong ({observed or 'no number'}; {_source(row)})")
    if ftype == "address":
        lines = (memo.distinct_addresses(observed) if memo is not None else _distinct_addresses(observed)) \
            if source == "website" else []
        return _from_site(row, lines, "addresses", "; ", verify) or verify(
            f"the practice says {observed or 'the address is wrong'} ({_source(row)})")
    if ftype == "accepting_status":
        if practice and observed in CANONICAL_STATUSES and takes_new_patients(observed) is not None:
            return Action("update", observed, f"{source} says {observed} ({_source(row)})")
        return verify(f"status {observed or 'unknown'} from {source or 'unknown source'}")
    if ftype == "invalid_npi":
        if "deactivated" in (observed or "").lower():
            # A deactivated NPI cannot bill: the listing should not send patients there until verified.
            return Action("suppress_until_verified", None, f"the listed NPI {row.get('npi') or ''} is {observed}")
        return verify(f"the listed NPI {row.get('npi') or ''} is invalid ({observed or source}): ask the office for it")
    if ftype == "cross_directory_conflict":
        return verify(f"directories disagree, no practice evidence ({row.get('evidence_text') or observed})")
    return verify(f"{ftype or 'finding'} from {source or 'unknown source'}")


def recommend_all(rows: Iterable[Mapping[str, Any]], contacts: Mapping[str, Contact] | None = None,
                  threshold: float = DEFAULT_THRESHOLD) -> list[Action]:
    """Actions for finding rows in order; listing context (e.g. stale + unreachable) comes from the same rows."""
    rows = list(rows)
    types: dict[Any, set[str]] = {}
    for row in rows:
        types.setdefault(row.get("listing_id"), set()).add(str(row.get("finding_type") or ""))
    contacts = contacts or {}
    memo = Memo()
    return [recommend(r, types.get(r.get("listing_id"), set()), contacts.get(str(r.get("listing_id"))), threshold,
                      memo) for r in rows]


_RULE_COLUMNS = ("finding_type", "field", "evidence_source", "observed_value", "confidence", "listing_id",
                 "provider_name", "npi", "address", "insurer", "observed_at", "directory_value", "evidence_text")


def _rule_inputs(findings: pa.Table) -> pa.Table:
    """Only the columns the rules read (fewer Python objects per finding); naive timestamps as their text.

    str(datetime)[:10] and the Arrow text of a naive timestamp start with the same date, which is all _source uses.
    """
    table = findings.select([c for c in _RULE_COLUMNS if c in findings.column_names])
    if "observed_at" in table.column_names:
        kind = table.schema.field("observed_at").type
        if pa.types.is_timestamp(kind) and kind.tz is None:
            i = table.column_names.index("observed_at")
            table = table.set_column(i, "observed_at", table.column(i).cast(pa.string()))
    return table


def add_actions(findings: pa.Table, contacts: Mapping[str, Contact] | None = None,
                threshold: float = DEFAULT_THRESHOLD) -> pa.Table:
    """The findings table with recommended_action, proposed_value and action_reason appended (replaced if present).

    The same text as recommend() row by row: the common finding types are decided column-wise (Arrow compute,
    _columnar_actions), the rest (and tables with unusual column types) through recommend itself.
    """
    base = findings.drop_columns([c for c in ACTION_COLUMNS if c in findings.column_names])
    inputs = _rule_inputs(base)
    contacts = contacts or {}
    memo = Memo()
    columns = _rule_texts(inputs)
    context = _ListingContext.of(columns, contacts, memo) if columns is not None else None
    types = _listing_types(inputs) if context is None or _needs_rows(columns["finding_type"]) else {}
    chunks: dict[str, list[pa.Array]] = {c: [] for c in ACTION_COLUMNS}
    with _no_cyclic_gc():
        for start in range(0, inputs.num_rows, _CHUNK_ROWS):
            # One slice at a time: bounded memory (and Arrow offsets) at national scale.
            rows = inputs.slice(start, _CHUNK_ROWS)
            parts = []
            if context is not None:
                texts = {name: col.slice(start, _CHUNK_ROWS) for name, col in columns.items()}
                parts = _columnar_actions(texts, context.slice(start, _CHUNK_ROWS), threshold, memo)
                rest = pc.indices_nonzero(pc.invert(pc.is_in(texts["finding_type"], _COLUMNAR_SET)))
            else:
                rest = pa.array(range(rows.num_rows), pa.int64())
            if len(rest):
                parts.append(_row_actions(rows.take(rest), rest, types, contacts, threshold, memo))
            for name, column in zip(ACTION_COLUMNS, _in_row_order(parts)):
                chunks[name].append(column)
    for name in ACTION_COLUMNS:
        base = base.append_column(name, pa.chunked_array(chunks[name], pa.string()))
    return base


_CHUNK_ROWS = 65_536

# The finding types _columnar_actions decides (a national run's findings are nearly all of these); any other type
# (invalid_npi, types added later) goes through recommend() row by row.
_COLUMNAR_TYPES = ("unreachable", "stale_listing", "insurer_not_accepted", "provider_not_at_location", "phone",
                   "address", "accepting_status", "cross_directory_conflict")
_COLUMNAR_SET = pa.array(_COLUMNAR_TYPES, pa.string())
# Statuses an accepting_status finding may update the listing to (canonical, with a known coarse value).
_UPDATABLE_STATUSES = pa.array([s for s in CANONICAL_STATUSES if takes_new_patients(s) is not None], pa.string())
_TEXT_COLUMNS = ("finding_type", "field", "evidence_source", "observed_value", "listing_id", "provider_name", "npi",
                 "address", "insurer", "observed_at", "directory_value", "evidence_text")
_Part = tuple[pa.Array, pa.Array, pa.Array, pa.Array]  # row indices, action, proposed value, reason


def _needs_rows(kinds: pa.Array) -> bool:
    """True when some finding type is not decided column-wise (those rows need recommend's listing types)."""
    return bool(pc.any(pc.invert(pc.is_in(kinds, _COLUMNAR_SET))).as_py() or False)


def _row_actions(rows: pa.Table, positions: pa.Array, types: Mapping[Any, set[str]],
                 contacts: Mapping[str, Contact], threshold: float, memo: Memo) -> _Part:
    """recommend() for each of `rows` (at `positions` of the slice): the reference rules, one row at a time."""
    actions = [recommend(r, types.get(r.get("listing_id"), ()), contacts.get(str(r.get("listing_id"))), threshold,
                         memo) for r in rows.to_pylist()]
    return (positions, pa.array([a.action for a in actions], pa.string()),
            pa.array([a.proposed_value for a in actions], pa.string()),
            pa.array([a.reason for a in actions], pa.string()))


def _in_row_order(parts: list[_Part]) -> tuple[pa.Array, pa.Array, pa.Array]:
    """The parts' action, proposed value and reason columns put back in row order (their indices cover the slice)."""
    if not parts:
        return (pa.array([], pa.string()),) * 3
    order = pc.sort_indices(pa.concat_arrays([p[0].cast(pa.int64()) for p in parts]))
    return tuple(pa.concat_arrays([p[i] for p in parts]).take(order) for i in (1, 2, 3))


def _rule_texts(inputs: pa.Table) -> dict[str, pa.Array] | None:
    """The rule columns as recommend() reads them: text with NULL kept, confidence as float64 with NULL -> 0.0.

    None when a column has a type whose Python text the Arrow casts would not reproduce (e.g. integer NPIs,
    zoned timestamps): add_actions then uses recommend() for every row.
    """
    n = inputs.num_rows
    out: dict[str, pa.Array] = {}
    for name in _TEXT_COLUMNS:
        if name not in inputs.column_names:
            out[name] = pa.nulls(n, pa.string())
            continue
        column = inputs.column(name)
        kind = column.type.value_type if pa.types.is_dictionary(column.type) else column.type
        if not (pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_null(kind)
                or (name == "observed_at" and pa.types.is_date(kind))):
            return None
        out[name] = column.cast(pa.string()).combine_chunks()
    if "confidence" not in inputs.column_names:
        out["confidence"] = pa.repeat(pa.scalar(0.0), n)
    else:
        kind = inputs.schema.field("confidence").type
        if not (pa.types.is_floating(kind) or pa.types.is_integer(kind) or pa.types.is_null(kind)):
            return None
        out["confidence"] = pc.fill_null(inputs.column("confidence").cast(pa.float64()).combine_chunks(), 0.0)
    return out


@dataclass(frozen=True)
class _ListingContext:
    """Per finding row, what its listing contributes: whether it has an unreachable / stale finding, who to call.

    Computed once over the whole table (a listing's findings may fall in different slices), then sliced.
    practice is '' when there is none; phone is ' at PHONE' or the no-phone text of _call.
    """

    unreachable: pa.Array
    stale: pa.Array
    practice: pa.Array
    phone: pa.Array

    @classmethod
    def of(cls, columns: Mapping[str, pa.Array], contacts: Mapping[str, Contact], memo: Memo) -> _ListingContext:
        """Look up each row's listing among the findings' listings (context types) and in the contacts."""
        listing, kinds = columns["listing_id"], columns["finding_type"]
        # recommend's listing_types: keyed by the raw listing id (NULL ids share one entry, as None in a dict)
        unreachable = pc.is_in(listing, pc.unique(listing.filter(pc.equal(kinds, "unreachable"))))
        stale = pc.is_in(listing, pc.unique(listing.filter(pc.equal(kinds, "stale_listing"))))
        keys, practices, phones = _contact_columns(contacts, memo)
        found = pc.index_in(pc.fill_null(listing, "None"), value_set=keys)  # contacts.get(str(None)) for NULL ids
        return cls(unreachable, stale, pc.fill_null(practices.take(found), ""),
                   pc.fill_null(phones.take(found), " (no listed phone: use the NPPES number)"))

    def slice(self, start: int, length: int) -> _ListingContext:
        """The context of rows start .. start+length."""
        return _ListingContext(*(getattr(self, f).slice(start, length)
                                 for f in ("unreachable", "stale", "practice", "phone")))


def _contact_columns(contacts: Mapping[str, Contact], memo: Memo) -> tuple[pa.Array, pa.Array, pa.Array]:
    """Listing ids, practice ('' / NULL when none) and ' at PHONE' (NULL when no phone) of the contacts, as _call.

    The phone is the contact's formatted text, else human_phone of its phone (parsed once per distinct text),
    else the phone as listed.
    """
    if isinstance(contacts, Contacts):
        keys, practices, phone, formatted = (contacts.table.column(c).combine_chunks()
                                             for c in ("listing_id", "practice", "phone", "formatted"))
        has_phone = pc.fill_null(pc.not_equal(phone, ""), False)
        parse = pc.and_(has_phone, pc.fill_null(pc.equal(formatted, ""), True))
        shown = pc.if_else(parse, pa.scalar(None, pa.string()), formatted)
        rows = pc.indices_nonzero(parse)
        if len(rows):
            parsed = pa.array([memo.human_phone(p) for p in phone.take(rows).to_pylist()], pa.string())
            shown = pc.replace_with_mask(shown, parse, parsed)
        shown = pc.if_else(pc.fill_null(pc.not_equal(shown, ""), False), shown, phone)
        at = pc.if_else(has_phone, pc.binary_join_element_wise(" at ", shown, ""), pa.scalar(None, pa.string()))
        return keys, practices, at
    keys, practices, phones = [], [], []
    for key, contact in contacts.items():
        keys.append(key)
        practices.append(str(contact.practice) if contact.practice else None)
        phone = (contact.formatted or memo.human_phone(contact.phone)) if contact.phone else None
        phone = phone or (contact.phone if contact.phone else None)
        phones.append(f" at {phone}" if phone else None)
    return pa.array(keys, pa.string()), pa.array(practices, pa.string()), pa.array(phones, pa.string())


def _cat(*parts: pa.Array | str) -> pa.Array:
    """Element-wise concatenation of text arrays and constant strings (no NULLs among the arrays)."""
    return pc.binary_join_element_wise(*parts, "")


def _or(texts: pa.Array, default: str) -> pa.Array:
    """`text or default` element-wise: NULL and '' become the default."""
    texts = pc.fill_null(texts, "")
    return pc.if_else(pc.equal(texts, ""), default, texts)


def _fill(template: str, values: Mapping[str, pa.Array]) -> pa.Array:
    """template.format(**values) element-wise (plain {name} fields only, as in _ASK)."""
    parts: list[pa.Array | str] = []
    for literal, name, _spec, _conv in string.Formatter().parse(template):
        if literal:
            parts.append(literal)
        if name is not None:
            parts.append(values[name])
    return _cat(*parts)


class _Rows:
    """The rule texts of some rows of a slice (taken on first use), with the derived texts recommend builds."""

    def __init__(self, texts: Mapping[str, pa.Array], context: _ListingContext, positions: pa.Array) -> None:
        """Rows `positions` of the slice's texts and context."""
        self.texts, self.context, self.positions = texts, context, positions
        self._cache: dict[str, pa.Array] = {}

    def __getitem__(self, name: str) -> pa.Array:
        """Column `name` for these rows: a rule text, a context column or a derived text."""
        if name not in self._cache:
            if name in self.texts:
                self._cache[name] = self.texts[name].take(self.positions)
            elif hasattr(self.context, name):
                self._cache[name] = getattr(self.context, name).take(self.positions)
            else:
                self._cache[name] = getattr(self, "_" + name)()
        return self._cache[name]

    def __len__(self) -> int:
        """How many rows."""
        return len(self.positions)

    def _source(self) -> pa.Array:
        """str(evidence_source or '')."""
        return pc.fill_null(self["evidence_source"], "")

    def _observed(self) -> pa.Array:
        """str(observed_value or '')."""
        return pc.fill_null(self["observed_value"], "")

    def _source_named(self) -> pa.Array:
        """`source or 'unknown source'`."""
        return _or(self["source"], "unknown source")

    def _when(self) -> pa.Array:
        """_source(row): the evidence source and the first 10 characters of observed_at when it has any."""
        day = pc.utf8_slice_codeunits(pc.fill_null(self["observed_at"], ""), 0, 10)
        return pc.if_else(pc.equal(day, ""), self["source_named"], _cat(self["source_named"], " ", day))

    def _call(self) -> pa.Array:
        """_call(row, contact, field): who to call at which number, and what to ask (by field)."""
        who = _or(pc.if_else(pc.equal(pc.fill_null(self["provider_name"], ""), ""), self["npi"],
                             self["provider_name"]), "the provider")
        values = {"who": who, "where": _or(self["address"], "the listed address"),
                  "insurer": _or(self["insurer"], "the plan")}
        field = pc.fill_null(self["field"], "")
        ask = None
        for name in pc.unique(field).to_pylist():
            text = _fill(_ASK.get(name, "whether the listing for {who} is correct"), values)
            ask = text if ask is None else pc.if_else(pc.equal(field, name), text, ask)
        target = pc.if_else(pc.equal(self["practice"], ""), who, self["practice"])
        return _cat("call ", target, self["phone"], " and ask ", ask)


def _columnar_actions(texts: Mapping[str, pa.Array], context: _ListingContext, threshold: float,
                      memo: Memo) -> list[_Part]:
    """recommend()'s rules for the rows of _COLUMNAR_TYPES in one slice, rule by rule in recommend's order."""
    kinds = pc.fill_null(texts["finding_type"], "")
    source = pc.fill_null(texts["evidence_source"], "")
    observed = pc.fill_null(texts["observed_value"], "")
    open_rows = pc.is_in(kinds, _COLUMNAR_SET)
    parts: list[_Part] = []

    def take(mask: pa.Array, extra: Mapping[str, pa.Array] | None = None) -> _Rows | None:
        """The still undecided rows where mask holds (then decided), or None when there are none.

        `extra` adds slice-long columns the reasons read.
        """
        nonlocal open_rows
        mask = pc.and_(open_rows, mask)
        open_rows = pc.and_not(open_rows, mask)
        positions = pc.indices_nonzero(mask)
        return _Rows({**texts, **extra} if extra else texts, context, positions) if len(positions) else None

    def act(rows: _Rows | None, action: str, reason: Callable[[_Rows], pa.Array],
            proposed: Callable[[_Rows], pa.Array] | None = None) -> None:
        """Decide `rows`: the action, its reason and (update only) the proposed value."""
        if rows is not None:
            value = proposed(rows) if proposed else pa.nulls(len(rows), pa.string())
            parts.append((rows.positions, pa.repeat(pa.scalar(action), len(rows)), value, reason(rows)))

    def verify(rows: _Rows | None, why: Callable[[_Rows], pa.Array]) -> None:
        """A verify action whose reason says why, then who to call and what to ask."""
        act(rows, "verify", lambda r: _cat(why(r), ": ", r["call"]))

    is_kind = {kind: pc.equal(kinds, kind) for kind in _COLUMNAR_TYPES}
    practice = pc.is_in(source, pa.array(sorted(PRACTICE_SOURCES), pa.string()))
    verify(take(pc.less(texts["confidence"], threshold)),
           lambda r: _cat("evidence too weak (", r["when"], ", confidence ", _formatted(r["confidence"], ".2f"),
                          f" < {threshold:.2f})"))
    act(take(pc.or_(is_kind["unreachable"], pc.and_(is_kind["stale_listing"], context.unreachable))),
        "suppress_until_verified",
        lambda r: _cat("listed number not answered (", r["when"], ")",
                       pc.if_else(pc.or_(r["stale"], pc.equal(r["finding_type"], "stale_listing")),
                                  " and the listing is stale", ""), ": hide until ", r["call"]))
    verify(take(is_kind["stale_listing"]),
           lambda r: _cat("not updated since ", pc.fill_null(r["directory_value"], "None")))
    act(take(pc.and_(is_kind["insurer_not_accepted"], practice)), "remove_from_network",
        lambda r: _cat(r["source"], " says ", r["observed"], " (", r["when"], ")"))
    verify(take(is_kind["insurer_not_accepted"]), lambda r: _cat("only ", r["source_named"], " says ", r["observed"]))
    removal = pc.or_(pc.is_in(source, pa.array(sorted(REPORT_SOURCES), pa.string())),
                     pc.and_(pc.equal(source, "website"),
                             pc.or_(pc.starts_with(observed, "left the practice"),
                                    pc.starts_with(observed, "not among"))))
    act(take(pc.and_(is_kind["provider_not_at_location"], removal)), "remove_from_location",
        lambda r: _cat(r["observed"], " (", r["when"], ")"))
    verify(take(is_kind["provider_not_at_location"]),
           lambda r: _cat("provider not confirmed at this location (", r["when"], ")"))
    site = pc.equal(source, "website")
    for kind, distinct, plural, sep in (("phone", memo.distinct_phones, "numbers", ", "),
                                        ("address", memo.distinct_addresses, "addresses", "; ")):
        # _from_site: update to the one value the website lists, verify when it lists several, else decided below
        count, first, joined = _site_lists(observed, pc.and_(open_rows, pc.and_(is_kind[kind], site)), distinct, sep)
        extra = {"site_first": first, "site_joined": joined, "site_count": count.cast(pa.string())}
        act(take(pc.equal(count, 1), extra), "update",
            lambda r: _cat("the practice website lists ", r["site_first"], " (", r["when"], ")"),
            lambda r: r["site_first"])
        verify(take(pc.greater(count, 1), extra),
               lambda r, plural=plural: _cat("the practice website lists ", r["site_count"], f" {plural} (",
                                             r["site_joined"], ")"))
    verify(take(is_kind["phone"]),
           lambda r: _cat("the listed number is wrong (", _or(r["observed"], "no number"), "; ", r["when"], ")"))
    verify(take(is_kind["address"]),
           lambda r: _cat("the practice says ", _or(r["observed"], "the address is wrong"), " (", r["when"], ")"))
    act(take(pc.and_(is_kind["accepting_status"], pc.and_(practice, pc.is_in(observed, _UPDATABLE_STATUSES)))),
        "update", lambda r: _cat(r["source"], " says ", r["observed"], " (", r["when"], ")"), lambda r: r["observed"])
    verify(take(is_kind["accepting_status"]),
           lambda r: _cat("status ", _or(r["observed"], "unknown"), " from ", r["source_named"]))
    verify(take(is_kind["cross_directory_conflict"]),
           lambda r: _cat("directories disagree, no practice evidence (",
                          pc.if_else(pc.equal(pc.fill_null(r["evidence_text"], ""), ""), r["observed"],
                                     r["evidence_text"]), ")"))
    return parts


def _formatted(values: pa.Array, spec: str) -> pa.Array:
    """format(value, spec) element-wise (Python's own formatting), computed once per distinct value."""
    distinct = pc.unique(values)
    texts = pa.array([format(v, spec) for v in distinct.to_pylist()], pa.string())
    return texts.take(pc.index_in(values, value_set=distinct))


def _site_lists(observed: pa.Array, mask: pa.Array, distinct: Callable[[str], list[str]],
                sep: str) -> tuple[pa.Array, pa.Array, pa.Array]:
    """Per row where mask holds: how many distinct values the website text lists, the first, and all joined by sep.

    distinct() (the memo's parse) runs once per distinct text; rows outside mask count 0.
    """
    shown = pc.unique(observed.filter(mask))
    lists = [distinct(text) for text in shown.to_pylist()]
    where = pc.if_else(mask, pc.index_in(observed, value_set=shown), pa.scalar(None, pa.int32()))
    count = pc.fill_null(pa.array([len(v) for v in lists], pa.int64()).take(where), 0)
    first = pa.array([v[0] if v else None for v in lists], pa.string()).take(where)
    joined = pa.array([sep.join(v) for v in lists], pa.string()).take(where)
    return count, first, joined


@contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while the rules run, then restore its previous state.

    Every row dict, Action and reason string is freed by reference counting (the rules build no cycles), but their
    sheer number keeps triggering full collections that rescan every live object of the run (the contacts, the memo):
    a quarter to a third of the rules' time at scale. Memory is unchanged; only the collector's scans are skipped.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


# The only finding types on a listing that the rules look at (recommend: unreachable beside stale_listing).
_CONTEXT_TYPES = ("unreachable", "stale_listing")


def _listing_types(inputs: pa.Table) -> dict[Any, set[str]]:
    """Finding types per listing id, limited to _CONTEXT_TYPES (all recommend reads), read column-wise.

    Listings with neither type are left out (callers default to no types): the same actions as recommend_all's
    full per-listing sets, without a Python set for every listing of a national run.
    """
    if "listing_id" not in inputs.column_names or "finding_type" not in inputs.column_names:
        return {}
    kinds = inputs.column("finding_type").cast(pa.string())  # dictionary / large_string columns alike
    context = inputs.filter(pc.is_in(kinds, pa.array(_CONTEXT_TYPES)))
    types: dict[Any, set[str]] = {}
    for listing_id, kind in zip(context.column("listing_id").to_pylist(), context.column("finding_type").to_pylist()):
        types.setdefault(listing_id, set()).add(kind)
    return types


def with_actions(findings: pa.Table, con: Any, threshold: float = DEFAULT_THRESHOLD) -> pa.Table:
    """add_actions with each listing's practice and phone read from the run's TEMP table temp_rc_l (who to call)."""
    return add_actions(findings, action_contacts(findings, con), threshold)


def action_contacts(findings: pa.Table, con: Any) -> Contacts:
    """Per listing of the findings: who to call (practice, phone) from the run's TEMP table temp_rc_l.

    Read apart from add_actions so a caller can run the rules in a thread while DuckDB works.
    """
    if findings.num_rows == 0:
        return Contacts(None)
    con.register("_temp_rc_action_ids", findings.select(["listing_id"]))
    try:
        # A plain NANP spelling ("(217) 555-0100", "217.555.0100") has no extension, so human_phone of it is the
        # national form of the listing's phone_key the run already computed: no phonenumbers parse per listing.
        # The +1 keys are formatted here ('(217) 555-0100', as _nanp_national); any other key below, in Python.
        table = con.execute(
            f"""SELECT listing_id, practice, phone, key,
                       CASE WHEN regexp_full_match(key, '\\+1[0-9]{{10}}')
                            THEN '(' || substr(key, 3, 3) || ') ' || substr(key, 6, 3) || '-' || substr(key, 9, 4)
                       END AS formatted
                FROM (SELECT CAST(l.listing_id AS VARCHAR) AS listing_id,
                             any_value(coalesce(l.practice_name, l.name_text)) AS practice, any_value(l.phone) AS phone,
                             any_value(CASE WHEN regexp_full_match(l.phone, '{_PLAIN_PHONE}')
                                            THEN l.phone_key END) AS key
                      FROM temp_rc_l l
                      WHERE l.listing_id IN (SELECT CAST(listing_id AS VARCHAR) FROM _temp_rc_action_ids)
                      GROUP BY l.listing_id)"""
        ).to_arrow_table()
    finally:
        con.unregister("_temp_rc_action_ids")
    keys, formatted = table.column("key").combine_chunks(), table.column("formatted").combine_chunks()
    other = pc.and_(pc.is_valid(keys), pc.is_null(formatted))
    if pc.any(other).as_py():
        found = pa.array([_nanp_national(key) for key in keys.filter(other).to_pylist()], pa.string())
        formatted = pc.replace_with_mask(formatted, other, found)
    return Contacts(table.select(["listing_id", "practice", "phone"]).append_column("formatted", formatted))


class Contacts(Mapping[str, Contact]):
    """Who to call per listing id, held column-wise (listing_id, practice, phone, formatted: Arrow strings).

    A read-only mapping of listing id -> Contact like the dict add_actions also takes; add_actions reads the
    columns directly instead of one Contact object per listing.
    """

    def __init__(self, table: pa.Table | None) -> None:
        """Wrap a table with the four string columns (None: no contacts)."""
        if table is None:
            table = pa.table({c: pa.array([], pa.string()) for c in ("listing_id", "practice", "phone", "formatted")})
        self.table = table.combine_chunks()
        self._rows: dict[str, int] | None = None

    def _index(self) -> dict[str, int]:
        """Row of each listing id (built on first lookup)."""
        if self._rows is None:
            self._rows = {key: i for i, key in enumerate(self.table.column("listing_id").to_pylist())}
        return self._rows

    def __getitem__(self, key: str) -> Contact:
        """The Contact of one listing id."""
        i = self._index()[key]
        return Contact(*(self.table.column(c)[i].as_py() for c in ("practice", "phone", "formatted")))

    def __iter__(self) -> Iterator[str]:
        """The listing ids."""
        return iter(self._index())

    def __len__(self) -> int:
        """How many listings."""
        return self.table.num_rows
