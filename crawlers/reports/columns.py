"""Map report file headers (any case, spacing, punctuation, common synonyms) onto ghostcheck's report columns.

A header is first normalized (casefold, punctuation to spaces, "#" to "number", a trailing "?" dropped), then
looked up among known synonyms, then matched by keyword rules for variants nobody listed. Headers that match
nothing are "extra" columns: the parser keeps them verbatim in the observation's `raw` object.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

__all__ = ["CANONICAL_COLUMNS", "ColumnMap", "map_headers", "normalize_header", "canonical_column",
           "listed_column", "names_other_entity"]

CANONICAL_COLUMNS = (
    "npi", "provider_name", "first_name", "middle_name", "last_name", "practice_name",
    "address", "address2", "city", "state", "zip", "phone",
    "accepting_new_patients", "insurers_accepted", "insurers_not_accepted",
    "reachable", "call_outcome", "correct_location", "provider_at_location", "accepts_plan",
    "first_appointment", "reported_at", "source", "listing_id", "insurer", "caller_notes", "providers",
)

_SYNONYMS: dict[str, tuple[str, ...]] = {
    "npi": ("npi", "npi number", "provider npi", "individual npi", "rendering npi", "practitioner npi", "npi id",
            "national provider identifier", "npi no", "type 1 npi", "clinician npi", "physician npi"),
    "provider_name": ("provider name", "provider", "doctor", "doctor name", "physician", "physician name",
                      "clinician", "clinician name", "practitioner", "practitioner name", "provider full name",
                      "name", "full name", "rendering provider", "provider listed"),
    "first_name": ("first name", "provider first name", "firstname", "given name", "first"),
    "middle_name": ("middle name", "middle initial", "mi", "provider middle name"),
    "last_name": ("last name", "provider last name", "lastname", "surname", "family name", "last"),
    "practice_name": ("practice name", "practice", "group name", "group", "organization", "organization name",
                      "clinic", "clinic name", "facility", "facility name", "office name", "practice group",
                      "location name", "site name"),
    "address": ("address", "street", "street address", "address 1", "address1", "address line 1",
                "addr", "addr1", "location address", "practice address", "office address", "service address",
                "mailing address", "street 1", "location", "address line", "address street", "address line1",
                "street line", "address street address"),
    "address2": ("address 2", "address2", "address line 2", "suite", "ste", "unit", "addr2", "street 2"),
    "city": ("city", "town", "location city", "practice city"),
    "state": ("state", "st", "state code", "location state", "practice state"),
    "zip": ("zip", "zip code", "zipcode", "postal code", "postcode", "zip5", "zip 5", "location zip", "practice zip"),
    "phone": ("phone dialed", "phone dialled", "number dialed", "number dialled", "number called", "phone called",
              "dialed number", "dialled number", "phone", "phone number", "telephone", "telephone number", "tel",
              "office phone", "practice phone", "listed phone", "contact phone"),
    "accepting_new_patients": ("accepting new patients", "accepting", "accepts new patients", "new patients",
                               "accepting new pts", "new patient status", "panel status", "panel",
                               "taking new patients", "new patient", "accepting status", "accepting patients",
                               "open to new patients", "new patients accepted", "accepting new"),
    "insurers_accepted": ("insurers accepted", "plans accepted", "insurance accepted", "insurances accepted",
                          "accepted insurers", "accepted plans", "accepted insurance", "payers accepted",
                          "accepted payers", "insurance plans accepted", "networks accepted", "carriers accepted",
                          "accepted carriers", "insurers", "insurance", "plans", "payers"),
    "insurers_not_accepted": ("insurers not accepted", "plans not accepted", "insurance not accepted",
                              "not accepted", "insurers declined", "plans declined", "payers not accepted",
                              "excluded plans", "does not accept"),
    "reachable": ("reachable", "reached", "answered", "contact made", "able to reach", "was reached",
                  "call answered", "someone answered", "did anyone answer", "connected", "reached office",
                  "could reach"),
    "call_outcome": ("call outcome", "outcome", "call result", "result", "disposition", "call disposition",
                     "call status", "contact outcome", "contact result"),
    "correct_location": ("correct location", "location correct", "is this the provider s office",
                         "is this the providers office", "right office", "correct office", "office correct",
                         "address correct", "address confirmed", "location confirmed", "correct number",
                         "correct address", "correct phone", "correct phone number", "phone correct",
                         "address verified", "correct practice", "correct practice location"),
    "provider_at_location": ("provider at location", "provider practices here", "provider works here",
                             "provider at this location", "provider sees patients here", "practices at location",
                             "provider confirmed", "provider still at location", "works at location"),
    "accepts_plan": ("accepts plan", "takes plan", "accepts this plan", "takes this plan", "accepts insurance",
                     "in network", "plan accepted", "does the provider take this plan", "accepts the plan",
                     "takes insurance", "accepts insurer"),
    "first_appointment": ("first appointment", "first available appointment", "next available appointment",
                          "earliest appointment", "first appointment date", "next appointment",
                          "appointment date", "first available", "next available", "appointment offered",
                          "first appt", "next appt", "earliest appt", "first available appt"),
    "reported_at": ("reported at", "date of call", "call date", "call date time", "date called", "survey date",
                    "attestation date", "date of attestation", "attested on", "date of survey", "verified on",
                    "verification date", "date verified", "reported on", "report date", "date reported",
                    "reported", "observed at", "call time", "date", "date time", "timestamp"),
    "source": ("source", "report source", "report type", "survey type", "type of report", "method"),
    "listing_id": ("listing id", "listing", "directory listing id", "listingid"),
    "insurer": ("insurer", "insurer audited", "health plan", "plan", "network", "plan name", "insurance plan",
                "carrier", "payer", "plan network", "networks plan"),
    "caller_notes": ("caller notes", "notes", "comments", "comment", "note", "remarks", "call notes"),
    "providers": ("providers", "providers at location", "providers at practice", "practice providers",
                  "roster", "providers listed", "team"),
}

_LOOKUP: dict[str, str] = {syn: canon for canon, syns in _SYNONYMS.items() for syn in syns}
# Rank of each synonym within its column (earlier = more specific): with "Timestamp" and "Date of Call" both
# present (a Google Form), the call date wins; with "Phone" and "Phone Dialed", the number dialled wins.
_RANK: dict[str, int] = {syn: i for syns in _SYNONYMS.values() for i, syn in enumerate(syns)}
_RULE_RANK = 10_000

# Keyword rules for headers nobody listed: (regex over the normalized header, canonical column), first hit wins.
_RULES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), canon)
    for pattern, canon in (
        (r"\b(group|org|organization|practice|billing|facility|type 2)\b.*\bnpi\b", "__extra__"),
        (r"\bnpi\b.*\b(group|org|organization|practice|billing|facility|type 2)\b", "__extra__"),
        (r"\bnpi\b", "npi"),
        (r"\bnot accepted\b|\bdeclined\b|\bnot in network\b|\bout of network\b", "insurers_not_accepted"),
        (r"\bnew (patients?|pts?)\b|\baccepting\b", "accepting_new_patients"),
        (r"\b(appointment|appt)\b", "first_appointment"),
        (r"\b(outcome|disposition|result)\b", "call_outcome"),
        (r"\b(reached|reachable|answered)\b", "reachable"),
        (r"\b(provider|doctor|physician|clinician)\b.*\b(at|practices?|works?|sees?)\b.*\b(location|office|address|here)\b",
         "provider_at_location"),
        (r"\b(insurers?|insurances?|plans?|payers?|carriers?)\b.*\baccepted\b|\baccepted\b.*\b(insurers?|plans?|payers?)\b",
         "insurers_accepted"),
        (r"\b(fax)\b", "__extra__"),
        # Someone else's phone/address, and dates that are not the report's (birth, licence expiry, next due).
        (r"\b(billing|mailing|remit|remittance|pay to|credentialing|correspondence|home|emergency|email|e mail|"
         r"url|website|county|country|license|licence|licensure|dea|tax|tin|ssn|ext|extension)\b", "__extra__"),
        (r"\b(birth|dob|expiration|expires?|expiry|due|effective|termination|term|hire|start|end|renewal|next|"
         r"recredentialing)\b.*\b(date|on)\b|\bdate\b.*\b(birth|hire|expiration)\b", "__extra__"),
        (r"\b(correct|verified|confirmed|accurate)\b.*\b(address|location|office|phone|number)\b|"
         r"\b(address|location|office|phone|number)\b.*\b(correct|verified|confirmed|accurate)\b", "correct_location"),
        (r"\b(phone|telephone|dialed|dialled)\b", "phone"),
        (r"\bzip\b|\bpostal\b", "zip"),
        (r"\b(attest\w*|call|survey|verif\w*|contact|report\w*)\b.*\b(date|time|on)\b", "reported_at"),
        (r"\b(date|reported|attested|timestamp)\b", "reported_at"),
        (r"\b(address|addr|street|line)\s*2\b|\bsuite\b", "address2"),
        (r"\b(address|addr|street)\b", "address"),
        (r"\bcity\b", "city"),
        (r"\bstate\b", "state"),
        (r"\b(practice|clinic|group|organization|location|site|facility|office)\b.*\bname\b", "practice_name"),
        (r"\b(provider|physician|doctor|clinician)\b.*\bname\b", "provider_name"),
        (r"\bnotes?\b|\bcomments?\b", "caller_notes"),
    )
)


_ANSWER_HINT = re.compile(r"\s*[\(\[]\s*(?:y\s*/\s*n|yes\s*/\s*no|true\s*/\s*false|t\s*/\s*f)\s*[\)\]]\s*\??\s*$")


@lru_cache(maxsize=4096)
def normalize_header(header: str) -> str:
    """Casefold a header and reduce punctuation/spacing so 'Accepting New Patients?' == 'accepting_new_patients'."""
    text = header.replace("\ufeff", "").strip().casefold()
    text = _ANSWER_HINT.sub("", text)  # "Correct Address? (Y/N)" names the same column as "Correct Address?"
    text = text.replace("#", " number ").replace("&", " and ")
    text = re.sub(r"[^a-z0-9]+", " ", text)
    return " ".join(text.split())


@lru_cache(maxsize=4096)
def _classify(header: str) -> tuple[str | None, int]:
    """(canonical column or None, rank): synonym position, -1 for an unlisted canonical name, or the rule rank."""
    norm = normalize_header(header)
    if not norm:
        return None, _RULE_RANK
    if norm in _LOOKUP:
        return _LOOKUP[norm], _RANK[norm]
    canon = norm.replace(" ", "_")
    if canon in CANONICAL_COLUMNS:
        return canon, -1
    squashed = norm.replace(" ", "")
    for syn, target in _LOOKUP.items():
        if syn.replace(" ", "") == squashed:
            return target, _RANK[syn]
    for index, (pattern, target) in enumerate(_RULES):
        if pattern.search(norm):  # an earlier rule is more specific: it wins a column over a later one
            return (None if target == "__extra__" else target), _RULE_RANK + index
    return None, _RULE_RANK + len(_RULES)


def listed_column(header: str) -> str | None:
    """The canonical column a header names as a listed synonym ("Practice Name", "Call Date"), not by a rule."""
    canon, rank = _classify(header)
    return canon if rank < _RULE_RANK else None


def names_other_entity(header: str) -> bool:
    """True for a header a rule sets aside as another entity's (e.g. 'Group NPI', 'Billing NPI', 'Fax')."""
    norm = normalize_header(header)
    if not norm or norm in _LOOKUP or _classify(header)[0] is not None:
        return False
    return any(target == "__extra__" and pattern.search(norm) for pattern, target in _RULES)


def canonical_column(header: str) -> str | None:
    """Return the canonical report column a header means, or None when it is an extra column."""
    return _classify(header)[0]


@dataclass
class ColumnMap:
    """Which source header feeds each canonical column, and which headers are extras kept in `raw`."""

    columns: dict[str, str] = field(default_factory=dict)  # canonical -> source header
    extras: list[str] = field(default_factory=list)  # source headers kept verbatim in raw

    def get(self, row: dict[str, object], canonical: str) -> object:
        """The row's value for a canonical column (None when the file has no such column)."""
        header = self.columns.get(canonical)
        return row.get(header) if header is not None else None

    def has_any(self, *canonicals: str) -> bool:
        """True when at least one of the canonical columns is present in the file."""
        return any(c in self.columns for c in canonicals)


def map_headers(headers: list[str]) -> ColumnMap:
    """Map a file's headers: per column the most specific header wins (then the first); the rest become extras."""
    best: dict[str, tuple[int, int]] = {}  # canonical -> (rank, position)
    for position, header in enumerate(headers):
        canon, rank = _classify(header) if isinstance(header, str) else (None, _RULE_RANK)
        if canon is not None and (canon not in best or (rank, position) < best[canon]):
            best[canon] = (rank, position)
    mapping = ColumnMap()
    chosen = {position: canon for canon, (_, position) in best.items()}
    for position, header in enumerate(headers):
        if position in chosen:
            mapping.columns[chosen[position]] = header
        else:
            mapping.extras.append(header)
    return mapping
