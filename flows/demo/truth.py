"""The demo world's truth: DESIGN.md's rules of judgment applied to the world's structured facts.

This never reads rendered pages or payloads: it compares what each listing means
(which number, which place, which status) with what the practice's reachable
evidence says, so it is independent of every parser and of the engine.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from flows.demo.model import Expected, Listing, NearMiss, Practice

if TYPE_CHECKING:
    from flows.demo.world import World

STALE_DAYS = 90


def takes(status: str | None) -> bool | None:
    """Coarse accepting value: True for accepting/limited, False for refusals, None when unknown."""
    if status in ("accepting", "limited"):
        return True
    if status in ("not_accepting", "existing_only", "waitlist"):
        return False
    return None


_REPORT_STATUS = {"yes": "accepting", "accepting": "accepting", "no": "not_accepting",
                  "not accepting": "not_accepting", "closed panel": "not_accepting",
                  "existing patients only": "existing_only"}


@dataclass
class Evidence:
    """What a practice's reachable website and its reports say (None: no evidence on that field)."""

    phones: set[str] | None = None
    addresses: set[tuple[str, str, str]] | None = None
    roster: set[str] | None = None
    departed: set[str] = field(default_factory=set)
    practice_status: str | None = None
    provider_status: dict[str, str] = field(default_factory=dict)
    report_status: dict[str, str] = field(default_factory=dict)
    accepted: set[str] | None = None
    not_accepted: set[str] = field(default_factory=set)
    not_here: set[str] = field(default_factory=set)
    unreachable_phones: set[str] = field(default_factory=set)

    def status_of(self, npi: str) -> str | None:
        """Status by precedence: report > provider-level website sentence > practice-level website statement."""
        return self.report_status.get(npi) or self.provider_status.get(npi) or self.practice_status


def evidence_for(practice: Practice, reports: list[dict[str, Any]]) -> Evidence:
    """The evidence about one practice: its website (when reachable) plus its report rows."""
    site = practice.site
    ev = Evidence()
    if site.availability == "ok":
        ev.phones = {loc.phone for loc in practice.locations}
        ev.addresses = {loc.address.key for loc in practice.locations}
        ev.roster = {p.npi for p in practice.providers} if site.team_page else None
        ev.departed = set(site.departed)
        ev.practice_status = site.status
        ev.provider_status = dict(site.provider_status)
        ev.accepted = set(site.insurance_list) if site.insurance_list is not None else None
        ev.not_accepted = set(site.not_accepted)
    for row in reports:
        if row["practice_name"] != practice.name:
            continue
        said = _REPORT_STATUS.get(row["accepting_new_patients"].strip().casefold())
        if said:
            ev.report_status[row["npi"]] = said
        if row["provider_at_location"] == "false":
            ev.not_here.add(row["npi"])
        if row["reachable"] == "false":
            ev.unreachable_phones.add("".join(ch for ch in row["phone"] if ch.isdigit())[-10:])
    return ev


def listing_findings(listing: Listing, ev: Evidence, as_of: Any) -> set[str]:
    """Finding types of one listing on its own (everything but cross_directory_conflict)."""
    found: set[str] = set()
    said, listed = takes(ev.status_of(listing.npi)), takes(listing.status)
    if said is not None and listed is not None and said != listed:
        found.add("accepting_status")
    if ev.phones is not None and listing.phone not in ev.phones:
        found.add("phone")
    if ev.addresses is not None and listing.address.key not in ev.addresses:
        found.add("address")
    if listing.npi in ev.departed or listing.npi in ev.not_here or (ev.roster is not None and listing.npi not in ev.roster):
        found.add("provider_not_at_location")
    if listing.insurer in ev.not_accepted or (ev.accepted is not None and listing.insurer not in ev.accepted):
        found.add("insurer_not_accepted")
    if listing.kind in ("fhir", "qhp") and (as_of - listing.last_updated).days > STALE_DAYS:
        found.add("stale_listing")
    if listing.phone in ev.unreachable_phones:
        found.add("unreachable")
    return found


def conflict_listings(group: list[Listing], ev: Evidence) -> set[int]:
    """Ids of listings of one NPI at one practice that get cross_directory_conflict (DESIGN.md rule)."""
    flagged: set[int] = set()
    fields = (
        (lambda x: takes(x.status), takes(ev.status_of(group[0].npi)), lambda v, e: v == e),
        (lambda x: x.phone, ev.phones, lambda v, e: v in e),
        (lambda x: x.address.key, ev.addresses, lambda v, e: v in e),
    )
    for value_of, evidence, agrees in fields:
        values = {value_of(x) for x in group if value_of(x) is not None}
        if len(values) < 2:
            continue
        for listing in group:
            value = value_of(listing)
            if value is None:
                continue
            if evidence is None or not agrees(value, evidence):
                flagged.add(id(listing))
    return flagged


def judge(world: "World") -> tuple[list[Expected], list[NearMiss]]:
    """Expected findings of the world and the near-miss listings that must yield none."""
    evidence = {p.slug: evidence_for(p, world.reports) for p in world.practices}
    found: dict[int, set[str]] = {id(x): listing_findings(x, evidence[x.practice], world.as_of) for x in world.listings}
    groups: dict[tuple[str, str], list[Listing]] = defaultdict(list)
    for listing in world.listings:
        groups[(listing.npi, listing.practice)].append(listing)
    for (npi, slug), group in groups.items():
        for key in conflict_listings(group, evidence[slug]):
            found[key].add("cross_directory_conflict")
    truth: list[Expected] = []
    near: list[NearMiss] = []
    for listing in world.listings:
        kinds = sorted(found[id(listing)])
        truth.extend(Expected(kind, listing.insurer, listing.npi, listing.address_line) for kind in kinds)
        if not kinds and listing.near_miss:
            near.append(NearMiss(listing.insurer, listing.npi, listing.address_line, tuple(listing.near_miss)))
    return truth, near
