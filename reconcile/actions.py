"""Recommended action per finding: what an insurer's directory team should do, the value to publish, and why.

Pure, deterministic rules over finding rows (reconcile.findings.FINDING_COLUMNS); `with_actions` reads the
listing's phone / practice from the run's TEMP table temp_rc_l only to say who to call. `threshold` (default 0.65)
is the confidence at or above which the evidence is strong enough to act on: practice reports (0.9-0.95),
explicit website statements (0.85), website departures (0.9) and complete rosters (0.7) pass with a link score of
0.93 or more;
an accepted-insurer list without the insurer (0.6) and other directories (0.6) do not.

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

__all__ = ["ACTIONS", "ACTION_COLUMNS", "Action", "Contact", "DEFAULT_THRESHOLD", "Memo", "recommend", "recommend_all",
           "add_actions", "action_contacts", "with_actions", "human_phone", "usps_line"]

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
    """The findings table with recommended_action, proposed_value and action_reason appended (replaced if present)."""
    base = findings.drop_columns([c for c in ACTION_COLUMNS if c in findings.column_names])
    inputs = _rule_inputs(base)
    types = _listing_types(inputs)
    contacts = contacts or {}
    memo = Memo()
    chunks: dict[str, list[pa.Array]] = {c: [] for c in ACTION_COLUMNS}
    with _no_cyclic_gc():
        for start in range(0, inputs.num_rows, _CHUNK_ROWS):
            # Row dicts only for one slice at a time: at national scale the whole table as dicts costs gigabytes.
            actions = [recommend(r, types.get(r.get("listing_id"), ()), contacts.get(str(r.get("listing_id"))),
                                 threshold, memo) for r in inputs.slice(start, _CHUNK_ROWS).to_pylist()]
            chunks["recommended_action"].append(pa.array([a.action for a in actions], pa.string()))
            chunks["proposed_value"].append(pa.array([a.proposed_value for a in actions], pa.string()))
            chunks["action_reason"].append(pa.array([a.reason for a in actions], pa.string()))
    for name in ACTION_COLUMNS:
        base = base.append_column(name, pa.chunked_array(chunks[name], pa.string()))
    return base


_CHUNK_ROWS = 32_768


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


def action_contacts(findings: pa.Table, con: Any) -> dict[str, Contact]:
    """Per listing of the findings: who to call (practice, phone) from the run's TEMP table temp_rc_l.

    Read apart from add_actions so a caller can run the pure-Python rules in a thread while DuckDB works.
    """
    if findings.num_rows == 0:
        return {}
    con.register("_temp_rc_action_ids", findings.select(["listing_id"]))
    try:
        # A plain NANP spelling ("(217) 555-0100", "217.555.0100") has no extension, so human_phone of it is the
        # national form of the listing's phone_key the run already computed: no phonenumbers parse per listing.
        rows = con.execute(
            f"""SELECT l.listing_id, any_value(coalesce(l.practice_name, l.name_text)), any_value(l.phone),
                       any_value(CASE WHEN regexp_full_match(l.phone, '{_PLAIN_PHONE}') THEN l.phone_key END)
                FROM temp_rc_l l WHERE l.listing_id IN (SELECT CAST(listing_id AS VARCHAR) FROM _temp_rc_action_ids)
                GROUP BY l.listing_id"""
        ).fetchall()
    finally:
        con.unregister("_temp_rc_action_ids")
    return {str(lid): Contact(practice, phone, _nanp_national(key)) for lid, practice, phone, key in rows}
