"""All claims of one fetched practice page: status, insurers, providers, phones, addresses, with evidence."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Sequence
from urllib.parse import urlsplit

from crawlers.extract.contacts import ContactClaim, find_address_claims, find_phone_claims, map_link_addresses, phones_in_text
from crawlers.extract.insurers import find_insurer_claims, merge_insurers
from crawlers.extract.providers import find_departed, find_providers
from crawlers.extract.status import StatusClaim, find_status_claims, resolve_status
from crawlers.extract.structured import structured_facts
from crawlers.extract.text import decode_html, page_title, visible_blocks

__all__ = ["Claim", "PageClaims", "extract_page", "guess_page_kind", "CLAIM_KINDS"]

CLAIM_KINDS = ("accepting_status", "insurer_accepted", "insurer_not_accepted", "provider_listed", "provider_departed", "phone", "address")
_KIND_WORDS = (
    ("new_patients", r"new[-_ ]?patients?|become[-_ ]a[-_ ]patient|patient[-_ ]registration|accepting"),
    ("insurance", r"insurance|insurances|billing|payments?|accepted[-_ ]plans|health[-_ ]plans|financial"),
    ("team", r"team|providers?|physicians?|doctors?|staff|clinicians|our[-_ ]people|meet[-_ ]|practitioners|bios?\b"),
    ("contact", r"contact|locations?|directions|hours|find[-_ ]us|visit[-_ ]us"),
)


_JOB_PATH = re.compile(r"/(?:careers?|jobs?|employment|join-our-team|openings|hiring)(?:/|$|[-_.])")
_NEWS_PATH = re.compile(r"/(?:blog|news|articles?|posts?|press|press-releases?|stories)(?:/|$|[-_.])|/\d{4}/\d{2}/")


@dataclass(frozen=True)
class Claim:
    """One extracted statement with its verbatim evidence and provenance."""

    kind: str
    value: str
    scope: str
    snippet: str
    url: str
    page_sha256: str
    fetched_at: str
    confidence: float


@dataclass
class PageClaims:
    """Everything one page says about the practice, plus the claims that support it."""

    url: str
    title: str
    status: str
    status_snippet: str
    page_sha256: str
    fetched_at: str
    claims: list[Claim] = field(default_factory=list)
    insurers_accepted: list[str] = field(default_factory=list)
    insurers_not_accepted: list[str] = field(default_factory=list)
    providers: list[str] = field(default_factory=list)
    departed_providers: list[str] = field(default_factory=list)
    phones: list[str] = field(default_factory=list)
    addresses: list[str] = field(default_factory=list)
    page_kind: str = "other"
    is_roster: bool = False
    status_confidence: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (claims as dicts)."""
        return asdict(self)


def guess_page_kind(url: str, title: str = "", first_heading: str = "") -> str:
    """home | new_patients | insurance | team | contact | other, from the URL path, then title and heading."""
    path = urlsplit(url).path.lower().rstrip("/")
    if path in ("", "/index.html", "/index.htm", "/index.php", "/home"):
        return "home"
    for text in (path.rsplit("/", 1)[-1], path, f"{title} {first_heading}".lower()):
        for kind, pattern in _KIND_WORDS:
            if re.search(pattern, text):
                return kind
    return "other"


def _dedupe(values: list[str]) -> list[str]:
    """Order-preserving de-duplication."""
    seen: set[str] = set()
    return [v for v in values if not (v in seen or seen.add(v))]


def extract_page(
    html: str | bytes,
    url: str,
    fetched_at: str,
    page_sha256: str,
    known_insurers: Sequence[str] = (),
    encoding: str | None = None,
) -> PageClaims:
    """Extract every claim from one page; pure (no I/O), safe on any input (markup stays text)."""
    text = decode_html(html, encoding)
    blocks = visible_blocks(text)
    all_blocks = visible_blocks(text, keep_boilerplate=True)
    title = page_title(text)
    first_heading = next((b.text for b in blocks if b.tag in ("h1", "h2")), "")
    kind = guess_page_kind(url, title, first_heading)

    def claim(kind_: str, value: str, scope: str, snippet: str, confidence: float) -> Claim:
        """A Claim stamped with this page's provenance."""
        return Claim(kind_, value, scope, snippet, url, page_sha256, fetched_at, round(confidence, 3))

    claims: list[Claim] = []
    status_claims = find_status_claims(blocks)
    if not status_claims:  # a site-wide banner ("Now accepting new patients!") often lives in the header/footer
        content = {b.text for b in blocks}
        chrome = [b for b in visible_blocks(text, keep_chrome=True) if b.text not in content]
        status_claims = [replace(c, confidence=c.confidence * 0.8) for c in find_status_claims(chrome)]
    path = urlsplit(url).path.lower()
    if _JOB_PATH.search(path):  # job ads talk about "seeing new patients" without speaking for the practice
        status_claims = []
    elif _NEWS_PATH.search(path):  # a dated post may be stale: keep it, trust it less
        status_claims = [replace(c, confidence=c.confidence * 0.6) for c in status_claims]
    facts = structured_facts(text)
    status_claims += [StatusClaim(f.value, f.scope, f.snippet, 0.7, -1) for f in facts if f.kind == "accepting_status"]
    status, deciding = resolve_status(status_claims)
    claims += [claim("accepting_status", c.status, c.scope, c.snippet, c.confidence) for c in status_claims]

    insurer_claims = find_insurer_claims(blocks, known_insurers)
    accepted, rejected = merge_insurers(insurer_claims)
    claims += [
        claim("insurer_accepted" if c.accepted else "insurer_not_accepted", c.name, "practice", c.snippet, c.confidence)
        for c in insurer_claims
    ]

    providers = find_providers(blocks)
    departed = find_departed(blocks)
    claims += [claim("provider_listed", p.name, p.name, p.snippet, 0.8) for p in providers]
    claims += [claim("provider_departed", p.name, p.name, p.snippet, 0.85) for p in departed]
    roster_names = [p for p in providers if p.tag in ("h1", "h2", "h3", "h4", "h5", "h6", "li", "td", "th", "dt", "strong", "b", "figcaption")]
    is_roster = (kind == "team" and len(providers) >= 2) or len(roster_names) >= 3

    phone_claims = find_phone_claims(all_blocks)
    address_claims = find_address_claims(all_blocks)
    for fact in facts:
        if fact.kind == "phone":
            phone_claims += [ContactClaim("phone", e164.split(";", 1)[0], fact.snippet, 0.8, -1) for _r, e164, _s, _e in phones_in_text(fact.value)[:1]]
        elif fact.kind == "address":
            address_claims.append(ContactClaim("address", fact.value, fact.snippet, 0.8, -1))
    if "map" in text:  # an address only given in a "Get directions" link or a map embed
        address_claims += [ContactClaim("address", a, f"map: {a}", 0.7, -1) for a in map_link_addresses(text)]
    claims += [claim("phone", c.value, "practice", c.snippet, c.confidence) for c in phone_claims]
    claims += [claim("address", c.value, "practice", c.snippet, c.confidence) for c in address_claims]

    return PageClaims(
        url=url,
        title=title,
        status=status,
        status_snippet=deciding.snippet if deciding else "",
        page_sha256=page_sha256,
        fetched_at=fetched_at,
        claims=claims,
        insurers_accepted=accepted,
        insurers_not_accepted=rejected,
        providers=_dedupe([p.name for p in providers]),
        departed_providers=_dedupe([p.name for p in departed]),
        phones=_dedupe([c.value for c in phone_claims]),
        addresses=_dedupe([c.value for c in address_claims]),
        page_kind=kind,
        is_roster=is_roster,
        status_confidence=deciding.confidence if deciding else 0.0,
    )
