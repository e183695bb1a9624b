"""Merge the claims of a site's pages into landing `observations` records (source="website")."""

from __future__ import annotations

import hashlib
import re
from typing import Any, Callable, Mapping, Sequence

import usaddress

from crawlers.extract.insurers import insurer_key
from crawlers.extract.page import PageClaims
from crawlers.extract.providers import name_key
from crawlers.extract.status import StatusClaim, resolve_status

try:  # nickname- and credential-aware comparison from the shared normalizers, when present
    from reconcile.normalize.name import person_names_match as _same_person
except ImportError:  # pragma: no cover - depends on the reconcile package's progress
    _same_person = None

__all__ = ["aggregate_site", "observation_id", "split_address"]

_KIND_RANK = {"new_patients": 0, "home": 1, "team": 2, "insurance": 3, "contact": 4, "other": 5}


def observation_id(site_url: str, scope: str, page_hashes: Sequence[str]) -> str:
    """Stable id: sha1 of ("website", site_url, scope, sorted evidence page hashes), so re-crawls of an unchanged site match."""
    material = "\x1f".join(["website", site_url, scope, *sorted(set(page_hashes))])
    return hashlib.sha1(material.encode("utf-8")).hexdigest()


def split_address(text: str | None) -> dict[str, str | None]:
    """Street line (verbatim), city, state and ZIP of a one-line address, for the observation's columns."""
    empty: dict[str, str | None] = {"address": text or None, "city": None, "state": None, "zip": None}
    if not text:
        return empty
    try:
        tagged, _kind = usaddress.tag(text)
    except usaddress.RepeatedLabelError:
        return empty
    city, state, zip_code = tagged.get("PlaceName"), tagged.get("StateName"), tagged.get("ZipCode")
    if not (city and state):
        return empty
    cut = text.rfind(city)
    street = re.sub(r"\s+(?:in|at)$", "", text[:cut].rstrip(" ,")) if cut > 0 else text
    return {"address": street or text, "city": city.strip(" ,"), "state": state.strip(" ,."), "zip": (zip_code or "").strip() or None}


def _same_name(a: str, b: str) -> bool:
    """True when two provider names as written denote the same person (credentials, 'Dr.', nicknames)."""
    if _same_person is not None:
        try:
            return bool(_same_person(a, b))
        except Exception:  # noqa: BLE001 - a normalizer bug must not lose a site's observation
            pass
    return name_key(a) == name_key(b)


def _union(values: Sequence[str], same: Callable[[str, str], bool]) -> list[str]:
    """Order-preserving union; the longer spelling of a duplicate is kept ('Dr. Jane Smith, MD' over 'Dr. Smith')."""
    out: list[str] = []
    for value in values:
        for i, kept in enumerate(out):
            if same(kept, value):
                if len(value) > len(kept):
                    out[i] = value
                break
        else:
            out.append(value)
    return out


def _status_claims(pages: Sequence[PageClaims]) -> list[tuple[StatusClaim, PageClaims]]:
    """Every accepting-status claim of the site with the page it came from (best pages first)."""
    ordered = sorted(pages, key=lambda p: _KIND_RANK.get(p.page_kind, 9))
    out: list[tuple[StatusClaim, PageClaims]] = []
    for page in ordered:
        for claim in page.claims:
            if claim.kind == "accepting_status":
                out.append((StatusClaim(claim.value, claim.scope, claim.snippet, claim.confidence, 0), page))
    return out


def _merge_insurers(pages: Sequence[PageClaims]) -> tuple[list[str], list[str]]:
    """Site-wide accepted / not-accepted insurer names; a 'not accepted' statement anywhere wins."""
    rejected = _union([n for p in pages for n in p.insurers_not_accepted], lambda a, b: insurer_key(a) == insurer_key(b))
    rejected_keys = {insurer_key(n) for n in rejected}
    accepted = _union(
        [n for p in pages for n in p.insurers_accepted if insurer_key(n) not in rejected_keys],
        lambda a, b: insurer_key(a) == insurer_key(b),
    )
    return accepted, rejected


SITE_FACTS_CONFIDENCE = 0.85


def _claim_evidence(pages: Sequence[PageClaims], kind: str, matches: Callable[[str], bool],
                    name: str | None = None) -> dict[str, Any] | None:
    """Where the site says it: url, verbatim snippet and page hash of the first `kind` claim whose value matches."""
    for page in pages:
        for claim in page.claims:
            if claim.kind == kind and matches(claim.value):
                return {"name": name, "url": claim.url, "text": claim.snippet, "sha256": claim.page_sha256}
    return None


def field_evidence(pages: Sequence[PageClaims], phones: list[str], addresses: list[str], rejected: list[str],
                   departed: list[str]) -> dict[str, Any]:
    """Per-field evidence of the practice record, so a finding quotes the statement it rests on.

    The record's own evidence is its accepting-status claim; a phone, address, insurer or roster finding instead
    points at the contact line, the "we no longer accept X" sentence, the accepted-insurer list, the departure
    notice or the team page (reconcile.compare picks the entry by field, insurer and departed name).
    """
    roster = next((p for p in pages if p.is_roster), None)
    listed = next((c for c in roster.claims if c.kind == "provider_listed"), None) if roster else None
    return {
        "phone": _claim_evidence(pages, "phone", lambda v: v == phones[0]) if phones else None,
        "address": _claim_evidence(pages, "address", lambda v: v.casefold() == addresses[0].casefold())
        if addresses else None,
        "insurers": [e for n in rejected if (e := _claim_evidence(
            pages, "insurer_not_accepted", lambda v, n=n: insurer_key(v) == insurer_key(n), n))],
        "accepted": _claim_evidence(pages, "insurer_accepted", lambda v: True),
        "departed": [e for n in departed if (e := _claim_evidence(
            pages, "provider_departed", lambda v, n=n: _same_name(v, n), n))],
        "roster": {"name": None, "url": roster.url, "text": listed.snippet if listed else "", "sha256": roster.page_sha256}
        if roster else None,
    }


def aggregate_site(pages: Sequence[PageClaims], site_url: str, seed: Mapping[str, Any], observed_at: str) -> list[dict[str, Any]]:
    """One practice-level observation for the site plus one per provider whose status the site states separately."""
    pages = [p for p in pages if p is not None]
    hashes = [p.page_sha256 for p in pages]
    pairs = _status_claims(pages)
    status, deciding = resolve_status([c for c, _ in pairs])
    evidence_page = next((page for c, page in pairs if c is deciding), None)
    accepted, rejected = _merge_insurers(pages)
    departed = _union([n for p in pages for n in p.departed_providers], _same_name)
    providers = [
        n for n in _union([n for p in pages for n in p.providers], _same_name) if not any(_same_name(n, d) for d in departed)
    ]
    phones = _union([n for p in pages for n in p.phones], str.__eq__)
    addresses = _union([n for p in pages for n in p.addresses], lambda a, b: a.casefold() == b.casefold())
    practice_name = seed.get("practice_name") or next((p.title.split("|")[-1].strip() for p in pages if p.title), None)
    if evidence_page is None:
        evidence_page = min(pages, key=lambda p: _KIND_RANK.get(p.page_kind, 9), default=None)
    base: dict[str, Any] = {
        "source": "website",
        "npi": seed.get("npi") or None,
        "practice_name": practice_name,
        **split_address(addresses[0] if addresses else (seed.get("address") or None)),
        "phone": phones[0] if phones else (seed.get("phone") or None),
        "reachable": None,
        "site_url": site_url,
        "observed_at": observed_at,
    }
    practice = {
        **base,
        "observation_id": observation_id(site_url, "practice", hashes),
        "provider_name": None,
        "accepting_status": status,
        "insurers_accepted": accepted,
        "insurers_not_accepted": rejected,
        "providers": providers,
        "roster_complete": any(p.is_roster for p in pages),
        "departed_providers": departed,
        "phones": phones,
        "addresses": addresses,
        "evidence_url": evidence_page.url if evidence_page else site_url,
        "evidence_text": deciding.snippet if deciding else "",
        "evidence_sha256": evidence_page.page_sha256 if evidence_page else "",
        # The record's confidence is that of its status claim; with no status claim, only the site's
        # own phones, addresses, roster and insurer lists remain, read directly off its pages.
        "confidence": round(deciding.confidence if deciding else SITE_FACTS_CONFIDENCE, 3),
        "raw": {"pages": [{"url": p.url, "kind": p.page_kind, "sha256": p.page_sha256, "status": p.status} for p in pages],
                "npis": list(seed.get("npis") or []),
                "field_evidence": field_evidence(pages, phones, addresses, rejected, departed)},
    }
    records = [practice]
    by_provider: dict[str, list[tuple[StatusClaim, PageClaims]]] = {}
    order: list[str] = []
    for claim, page in pairs:
        if claim.scope == "practice":
            continue
        key = next((k for k in order if _same_name(k, claim.scope)), None)
        if key is None:
            order.append(claim.scope)
            key = claim.scope
        by_provider.setdefault(key, []).append((claim, page))
    for name in order:
        claims = by_provider[name]
        provider_status, best = resolve_status([c for c, _ in claims])
        page = next(p for c, p in claims if c is best) if best else claims[0][1]
        records.append(
            {
                **base,
                "npi": None,  # the seed's NPI is one provider's; this record names its own provider
                "observation_id": observation_id(site_url, name, hashes),
                "provider_name": name,
                "accepting_status": provider_status,
                "insurers_accepted": [],
                "insurers_not_accepted": [],
                "providers": [],
                "roster_complete": False,
                "departed_providers": [],
                "phones": [],
                "addresses": [],
                "evidence_url": page.url,
                "evidence_text": best.snippet if best else "",
                "evidence_sha256": page.page_sha256,
                "confidence": round(best.confidence if best else 0.5, 3),
                "raw": {"scope": "provider"},
            }
        )
    return records
