"""Build the demo world deterministically from a seed: practices, websites, listings, reports, truth.

The world is a small synthetic market of ~50 practices listed by three invented
insurers. Most listings are right; a known set carries directory errors of every
finding type, and a known set differs from the evidence only in formatting. The
truth is derived from the world's structure by the rules of DESIGN.md (truth.py).
"""

from __future__ import annotations

import csv
import hashlib
import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

from flows.demo import names
from flows.demo.model import Address, Expected, Listing, Location, NearMiss, Page, Practice, Provider, Site, format_phone
from reconcile.normalize.npi import npi_check_digit

KIND_OF = {names.ACME: "fhir", names.HARBOR: "qhp", names.COBALT: "html"}
LISTING_ODDS = {names.ACME: 0.75, names.HARBOR: 0.55, names.COBALT: 0.5}
# (role, how many per 50 practices, predicate name) in the order roles are handed out.
ROLE_PLAN: tuple[tuple[str, int, str], ...] = (
    ("robots", 1, "any"), ("error", 1, "any"), ("unreachable", 5, "solo"),
    ("site_not_accepting", 2, "any"), ("report_not_accepting", 2, "any"), ("provider_sentence", 1, "group"),
    ("insurer_no_longer", 3, "any"), ("insurer_missing", 3, "any"), ("roster_ghost", 2, "group"),
    ("left_page", 2, "any"), ("report_not_here", 2, "any"), ("silent_cdc", 2, "any"), ("moved", 2, "single_site"),
    ("phone_changed", 1, "single_site"), ("near_waitlist", 1, "any"), ("near_existing_only", 1, "any"),
    ("near_limited", 1, "any"),
)
# (mutation, how many per 50 practices) applied to single listings of "plain" practices.
MUTATION_PLAN: tuple[tuple[str, int], ...] = (
    ("phone_fax", 2), ("phone_billing", 1), ("phone_other_practice", 1), ("phone_old", 1),
    ("address_elsewhere", 3), ("stale", 6), ("status_flip", 3),
)
NEAR_MISS_KINDS = ("phone_punctuation", "street_long", "upper_case", "zip_plus4", "middle_initial",
                   "last_first", "credentials")


@dataclass
class World:
    """Everything the demo serves, plus what the audit must find (truth) and must not (near misses)."""

    seed: int
    as_of: date
    practices: list[Practice]
    listings: list[Listing]
    pages: dict[str, Page]
    reports: list[dict[str, Any]]
    truth: list[Expected]
    near_misses: list[NearMiss]
    token: str
    insurers: tuple[str, ...] = names.DEMO_INSURERS
    counts: dict[str, int] = field(default_factory=dict)

    def practice(self, slug: str) -> Practice:
        """The practice with this slug."""
        return next(p for p in self.practices if p.slug == slug)

    def provider(self, npi: str) -> Provider:
        """The provider (working or only listed) with this NPI."""
        for practice in self.practices:
            for person in practice.providers + practice.extra_providers:
                if person.npi == npi:
                    return person
        raise KeyError(npi)

    @property
    def providers(self) -> list[Provider]:
        """Every provider of the world: those working at practices and those only listed there."""
        return [person for p in self.practices for person in p.providers + p.extra_providers]

    def listings_of(self, insurer: str) -> list[Listing]:
        """Listings one insurer publishes, in a stable order."""
        return [item for item in self.listings if item.insurer == insurer]

    @property
    def robots_disallowed(self) -> list[str]:
        """Path roots of practice sites that robots.txt disallows."""
        return [p.path for p in self.practices if p.site.availability == "robots"]

    @property
    def failing_sites(self) -> list[str]:
        """Path roots of practice sites that answer every request with HTTP 500."""
        return [p.path for p in self.practices if p.site.availability == "error"]


class _Pools:
    """Unique synthetic values drawn from the seeded generator (names, NPIs, phones, addresses)."""

    def __init__(self, rng: random.Random) -> None:
        """Prepare shuffled pools so every drawn value is unique in the world."""
        self.rng = rng
        combos = [(f, l) for f in names.FIRST_NAMES + tuple(names.NICKNAMES) for l in names.LAST_NAMES]
        rng.shuffle(combos)
        self.names = combos
        self.npis: set[str] = set()
        self.phones: set[str] = set()
        self.places: set[tuple[str, str, str]] = set()

    def person(self) -> tuple[str, str]:
        """A first/last name pair never used before."""
        return self.names.pop()

    def npi(self) -> str:
        """A valid NPI (Luhn check digit with the 80840 prefix) never used before."""
        while True:
            first9 = str(self.rng.randint(100_000_000, 199_999_999))
            npi = first9 + npi_check_digit(first9)
            if npi not in self.npis:
                self.npis.add(npi)
                return npi

    def phone(self, area_codes: tuple[str, ...]) -> str:
        """A fictional 555-01XX number in the city's area codes (others once those run out), never used before."""
        for codes in (area_codes, names.SPARE_AREA_CODES):
            free = [f"{code}55501{n:02d}" for code in codes for n in range(100)
                    if f"{code}55501{n:02d}" not in self.phones]
            if free:
                digits = self.rng.choice(free)
                self.phones.add(digits)
                return digits
        raise ValueError("the demo world ran out of fictional 555-01XX numbers; use fewer practices")

    def address(self, city: tuple[str, str, str, tuple[str, ...]], unit: bool) -> Address:
        """An invented street address in a real city, never used before."""
        while True:
            street, long_suffix, short_suffix = self.rng.choice(names.STREETS)
            number = str(self.rng.randint(100, 4999))
            if (number, street, city[0]) in self.places:
                continue
            self.places.add((number, street, city[0]))
            unit_long = unit_short = unit_no = None
            if unit:
                unit_long, unit_short = self.rng.choice(names.UNIT_WORDS)
                unit_no = str(self.rng.choice((100, 110, 120, 200, 210, 300, 305, 410, 2)) if unit_long != "Building"
                              else self.rng.choice("ABC"))
            return Address(number, street, long_suffix, short_suffix, city[0], city[1], city[2],
                           f"{self.rng.randint(1000, 9999)}", unit_long, unit_short, unit_no)


def _provider(pools: _Pools, rng: random.Random, specialty: tuple[str, str]) -> Provider:
    """A synthetic clinician of a given specialty (some with a formal first name and a nickname)."""
    first, last = pools.person()
    nickname = names.NICKNAMES.get(first)
    credential = "FNP-BC" if specialty[0].startswith("363L") else rng.choice(names.CREDENTIALS[:5])
    return Provider(pools.npi(), first, rng.choice(names.MIDDLE_INITIALS), last, credential,
                    specialty[0], nucc_display(specialty[0], specialty[1]), nickname)


@lru_cache(maxsize=1)
def _nucc() -> dict[str, str]:
    """NUCC taxonomy code -> display name, from the table shipped in reconcile/data."""
    path = Path(__file__).resolve().parents[2] / "reconcile" / "data" / "nucc_provider_taxonomy.csv"
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            return {row["Code"]: row["Display Name"] for row in csv.DictReader(fh) if row.get("Code")}
    except OSError:
        return {}


def nucc_display(code: str, fallback: str) -> str:
    """The NUCC display name of a taxonomy code (the fallback label when the table is not there)."""
    return _nucc().get(code) or fallback


def _practice(index: int, pools: _Pools, rng: random.Random) -> Practice:
    """One practice: 1-2 locations, 1-4 providers (a quarter are solo practices), a plain website."""
    city = rng.choice(names.CITIES)
    solo = index % 4 == 0
    n_providers = 1 if solo else rng.randint(2, 4)
    n_locations = 1 if solo or n_providers < 3 or rng.random() < 0.7 else 2
    specialty = rng.choice(names.SPECIALTIES)
    place = names.PRACTICE_PLACES[index % len(names.PRACTICE_PLACES)]
    word = names.PRACTICE_WORDS[rng.randrange(len(names.PRACTICE_WORDS))]
    name = f"{place} {word}" if index < len(names.PRACTICE_PLACES) else f"{place} {word} {index}"
    slug = name.lower().replace(" ", "-").replace("&", "and")
    providers = [_provider(pools, rng, specialty) for _ in range(n_providers)]
    locations = []
    for i in range(n_locations):
        loc_city = city if i == 0 else rng.choice(names.CITIES)
        locations.append(Location(pools.address(loc_city, unit=rng.random() < 0.55), pools.phone(loc_city[3]),
                                  pools.phone(loc_city[3]), label="Main office" if i == 0 else f"{loc_city[0]} office"))
    for i, person in enumerate(providers):
        locations[i % n_locations].npis.append(person.npi)
    site = Site(template=index % 3, status=rng.choices(["accepting", None], weights=[3, 1])[0],
                team_page=rng.random() < 0.8)
    site.status_phrase = rng.choice(names.ACCEPTING_PHRASES["accepting"]) if site.status else None
    return Practice(slug, name, locations, providers, site)


_PREDICATES: dict[str, Callable[[Practice], bool]] = {
    "any": lambda p: True,
    "solo": lambda p: len(p.providers) == 1 and len(p.locations) == 1,
    "group": lambda p: len(p.providers) >= 2,
    "single_site": lambda p: len(p.locations) == 1,
}


def _assign_roles(practices: list[Practice], rng: random.Random) -> None:
    """Hand out the scenario roles to distinct practices, leaving about a third of them plain."""
    order = list(range(len(practices)))
    rng.shuffle(order)
    budget = int(len(practices) * 0.66)
    scale = len(practices) / 50
    taken: set[int] = set()
    for role, count, predicate in ROLE_PLAN:
        for _ in range(max(1, round(count * scale))):
            pick = next((i for i in order if i not in taken and _PREDICATES[predicate](practices[i])), None)
            if pick is None or len(taken) >= budget:
                break
            taken.add(pick)
            practices[pick].roles.append(role)
    for practice in practices:
        if not practice.roles:
            practice.roles.append("plain")


def _set_status(site: Site, status: str | None, rng: random.Random) -> None:
    """Set the practice-level new-patient statement (None: the site says nothing about it)."""
    site.status = status
    site.status_phrase = rng.choice(names.ACCEPTING_PHRASES[status]) if status else None


def _apply_site_roles(practices: list[Practice], pools: _Pools, rng: random.Random) -> None:
    """Shape each practice's website (and extra listed-only providers) after its role."""
    for practice in practices:
        site, role = practice.site, practice.roles[0]
        city = next(c for c in names.CITIES if c[0] == practice.locations[0].address.city)
        specialty = (practice.providers[0].specialty_code, practice.providers[0].specialty)
        if role in ("robots", "error"):
            site.availability = role
        elif role == "site_not_accepting":
            _set_status(site, rng.choice(["not_accepting", "existing_only"]), rng)
        elif role in ("report_not_accepting", "silent_cdc"):
            _set_status(site, None, rng)
        elif role == "provider_sentence":
            _set_status(site, "accepting", rng)
            site.provider_status[practice.providers[-1].npi] = "not_accepting"
        elif role == "roster_ghost":
            site.team_page = True
            practice.extra_providers.append(_provider(pools, rng, specialty))
        elif role == "left_page":
            practice.extra_providers.append(_provider(pools, rng, specialty))
            site.departed.append(practice.extra_providers[-1].npi)
            site.departed_on_home = not any("left_page" in p.roles and p.site.departed_on_home for p in practices)
        elif role == "report_not_here":
            site.team_page = False
            practice.extra_providers.append(_provider(pools, rng, specialty))
        elif role == "moved":
            site.former_address = pools.address(city, unit=False)
        elif role == "phone_changed":
            site.former_phone = pools.phone(city[3])
        elif role.startswith("near_"):
            _set_status(site, role[len("near_"):], rng)
        elif role == "plain" and rng.random() < 0.25:
            site.billing_phone = pools.phone(city[3])
    candidates = [p for p in practices if p.site.availability == "ok"]
    by_role = lambda role: [p for p in candidates if role in p.roles]  # noqa: E731
    js_all = (by_role("insurer_no_longer")[:1] + by_role("plain")[:1])
    for practice in js_all:
        practice.site.js = "all"
    for practice in by_role("roster_ghost")[:1]:
        practice.site.js = "team"


def _takes(status: str | None) -> bool | None:
    """DESIGN.md's coarse comparison value (True takes new patients, False does not, None unknown)."""
    if status in ("accepting", "limited"):
        return True
    if status in ("not_accepting", "existing_only", "waitlist"):
        return False
    return None


def _listed_status(practice: Practice, npi: str, rng: random.Random) -> str:
    """What directories say about a provider when they agree with the practice (coarse canonical value)."""
    role = practice.roles[0]
    if role in ("site_not_accepting", "report_not_accepting", "provider_sentence"):
        return "accepting"  # the directories are wrong: the practice (site or report) says no
    said = practice.site.provider_status.get(npi, practice.site.status)
    takes = _takes(said)
    if takes is None:
        return "accepting" if rng.random() < 0.85 else "not_accepting"
    return "accepting" if takes else "not_accepting"


def _make_listings(practices: list[Practice], as_of: date, rng: random.Random) -> list[Listing]:
    """Every insurer x provider x location listing, matching the practice unless a role says otherwise."""
    listings: list[Listing] = []
    for practice in practices:
        role = practice.roles[0]
        people = practice.providers + practice.extra_providers
        statuses: dict[str, str] = {}
        for person in people:
            insurers = [i for i in names.DEMO_INSURERS if rng.random() < LISTING_ODDS[i]] or [names.ACME]
            if role == "silent_cdc" and person is practice.providers[0] and len(insurers) < 2:
                insurers = [names.ACME, names.COBALT]
            if person in practice.extra_providers:
                insurers = insurers[:2]
            where = practice.location_of(person.npi)
            location = practice.locations[where]
            status = statuses.setdefault(person.npi, _listed_status(practice, person.npi, rng))
            for insurer in insurers:
                listings.append(Listing(
                    insurer=insurer, kind=KIND_OF[insurer], npi=person.npi, practice=practice.slug,
                    location=where, address=location.address, phone=location.phone, status=status,
                    last_updated=as_of - timedelta(days=rng.randint(2, 60)),
                    name_style="last_first" if insurer == names.COBALT else "plain",
                ))
        if role == "silent_cdc":
            first = [x for x in listings if x.npi == practice.providers[0].npi]
            first[0].status, first[1].status = "accepting", "not_accepting"
            first[1].mutations.append("status_disagrees")
    for number, listing in enumerate(listings, start=1):
        listing.role_id = f"pr{number:04d}"
    return listings


def _insurers_listing(listings: list[Listing], slug: str) -> list[str]:
    """Demo insurers that list at least one provider at a practice, in a stable order."""
    present = {x.insurer for x in listings if x.practice == slug}
    return [i for i in names.DEMO_INSURERS if i in present]


def _apply_insurance_roles(practices: list[Practice], listings: list[Listing], rng: random.Random) -> None:
    """Publish each practice's accepted plans; drop or refuse one insurer where the role says so."""
    for practice in practices:
        site, role = practice.site, practice.roles[0]
        present = _insurers_listing(listings, practice.slug)
        others = rng.sample(names.OTHER_PLANS, 2)
        if role == "insurer_no_longer":
            refused = rng.choice(present)
            site.not_accepted = [refused]
            site.insurance_list = ([i for i in present if i != refused] + others) if rng.random() < 0.5 else None
        elif role == "insurer_missing":
            dropped = rng.choice(present)
            site.insurance_list = [i for i in present if i != dropped] + others
        elif rng.random() < 0.8:
            site.insurance_list = present + others
            rng.shuffle(site.insurance_list)


def _apply_moves(practices: list[Practice], listings: list[Listing], rng: random.Random) -> None:
    """Practices that moved or changed number: one insurer still publishes the old value."""
    for practice in practices:
        site = practice.site
        if not (site.former_address or site.former_phone):
            continue
        stale_insurer = rng.choice(_insurers_listing(listings, practice.slug))
        for listing in listings:
            if listing.practice == practice.slug and listing.insurer == stale_insurer:
                if site.former_address:
                    listing.address = site.former_address
                    listing.mutations.append("address_moved")
                else:
                    listing.phone = site.former_phone or listing.phone
                    listing.mutations.append("phone_former")


def _apply_mutations(practices: list[Practice], listings: list[Listing], pools: _Pools, as_of: date,
                     rng: random.Random) -> None:
    """Single-listing directory errors on plain practices (one error per listing)."""
    plain = {p.slug: p for p in practices if p.roles == ["plain"] and p.site.availability == "ok"}
    pool = [x for x in listings if x.practice in plain]
    rng.shuffle(pool)
    scale = len(practices) / 50
    for mutation, count in MUTATION_PLAN:
        for _ in range(max(1, round(count * scale))):
            pick = next((x for x in pool if not x.mutations and _fits(mutation, x, plain[x.practice])), None)
            if pick is None:
                break
            practice = plain[pick.practice]
            city = next(c for c in names.CITIES if c[0] == pick.address.city)
            if mutation == "phone_fax":
                pick.phone = practice.locations[pick.location].fax
            elif mutation == "phone_billing":
                pick.phone = practice.site.billing_phone or pick.phone
            elif mutation == "phone_other_practice":
                other = next(p for p in plain.values() if p.slug != practice.slug)
                pick.phone = other.locations[0].phone
            elif mutation == "phone_old":
                pick.phone = pools.phone(city[3])
            elif mutation == "address_elsewhere":
                pick.address = pools.address(city, unit=True)
            elif mutation == "stale":
                pick.last_updated = as_of - timedelta(days=rng.randint(120, 420))
            elif mutation == "status_flip":
                pick.status = "not_accepting"
            pick.mutations.append(mutation)


def _fits(mutation: str, listing: Listing, practice: Practice) -> bool:
    """Whether a listing can carry a mutation (stale needs a dated directory, billing a billing number...)."""
    if mutation == "stale":
        return listing.kind in ("fhir", "qhp")
    if mutation == "phone_billing":
        return practice.site.billing_phone is not None
    if mutation == "status_flip":
        return practice.site.status == "accepting" and listing.status == "accepting" and not practice.site.provider_status
    return True


def _apply_near_misses(practices: list[Practice], listings: list[Listing], rng: random.Random) -> None:
    """Formatting-only differences: punctuation, St/Street, Ste/Suite, ZIP+4, case, names, nicknames."""
    by_slug = {p.slug: p for p in practices}
    for index, listing in enumerate(listings):
        if listing.name_style == "last_first":
            listing.near_miss.append("last_first")
        person = next(x for x in by_slug[listing.practice].providers + by_slug[listing.practice].extra_providers
                      if x.npi == listing.npi)
        if person.nickname and by_slug[listing.practice].site.team_page:
            listing.near_miss.append("nickname")
        if index % 3:
            continue
        kind = NEAR_MISS_KINDS[(index // 3) % len(NEAR_MISS_KINDS)]
        if kind == "phone_punctuation":
            listing.phone_style = rng.choice(["dot", "intl", "dash", "plain", "one"])
        elif kind == "street_long":
            listing.addr_style = "long"
        elif kind == "upper_case":
            listing.addr_style = "upper"
        elif kind == "zip_plus4":
            listing.zip_plus4 = True
        elif kind == "middle_initial":
            listing.name_style = "middle"
        elif kind == "last_first":
            listing.name_style = "last_first"
        elif kind == "credentials":
            listing.name_style = "credential"
        if kind not in listing.near_miss:
            listing.near_miss.append(kind)


def _report_row(practice: Practice, person: Provider, as_of: date, rng: random.Random, **values: Any) -> dict[str, Any]:
    """One practice-report row with the columns of DESIGN.md (dates in ISO or US form)."""
    location = practice.locations[practice.location_of(person.npi)]
    when = as_of - timedelta(days=rng.randint(1, 20))
    row = {
        "npi": person.npi, "provider_name": person.display("dr"), "practice_name": practice.name,
        "address": location.address.one_line(), "phone": format_phone(location.phone, rng.choice(["paren", "dash"])),
        "accepting_new_patients": "", "insurers_accepted": "", "insurers_not_accepted": "", "reachable": "true",
        "reported_at": when.isoformat() if rng.random() < 0.6 else when.strftime("%m/%d/%Y"),
        "source": "attestation", "call_outcome": "reached", "provider_at_location": "", "accepts_plan": "",
    }
    row.update(values)
    return row


def _make_reports(practices: list[Practice], as_of: date, rng: random.Random) -> list[dict[str, Any]]:
    """Attestations, phone surveys and secret-shopper calls, including unreachable ones."""
    rows: list[dict[str, Any]] = []
    for practice in practices:
        role = practice.roles[0]
        if role == "unreachable":
            rows.append(_report_row(practice, practice.providers[0], as_of, rng, reachable="false",
                                    source=rng.choice(["secret_shopper", "phone_survey"]),
                                    call_outcome=rng.choice(["no_answer", "disconnected", "voicemail"])))
        elif role == "report_not_accepting":
            for person in practice.providers:
                rows.append(_report_row(practice, person, as_of, rng, accepting_new_patients=rng.choice(
                    ["no", "Existing patients only", "closed panel", "Not accepting"])))
        elif role == "report_not_here":
            for person in practice.extra_providers:
                rows.append(_report_row(practice, person, as_of, rng, source="secret_shopper",
                                        call_outcome="not_at_location", provider_at_location="false"))
        elif role == "plain" and practice.site.status == "accepting" and rng.random() < 0.35:
            person = practice.providers[0]
            rows.append(_report_row(practice, person, as_of, rng, accepting_new_patients=rng.choice(["yes", "Accepting"]),
                                    source=rng.choice(["attestation", "phone_survey"])))
    return rows


def build_world(seed: int = 7, n_practices: int = 50, as_of: date | None = None) -> World:
    """The demo world for a seed: same seed and as-of date, same world (byte for byte)."""
    from flows.demo.pages import site_pages
    from flows.demo.truth import judge

    as_of = as_of or date.today()
    rng = random.Random(seed)
    pools = _Pools(rng)
    practices = [_practice(i, pools, rng) for i in range(n_practices)]
    _assign_roles(practices, rng)
    _apply_site_roles(practices, pools, rng)
    listings = _make_listings(practices, as_of, rng)
    _apply_insurance_roles(practices, listings, rng)
    _apply_moves(practices, listings, rng)
    _apply_mutations(practices, listings, pools, as_of, rng)
    _apply_near_misses(practices, listings, rng)
    reports = _make_reports(practices, as_of, rng)
    pages: dict[str, Page] = {}
    for practice in practices:
        pages.update(site_pages(practice, random.Random(f"{seed}:{practice.slug}")))
    world = World(seed, as_of, practices, listings, pages, reports, [], [],
                  token="demo-" + hashlib.sha256(f"ghostcheck-demo-{seed}".encode()).hexdigest()[:24])
    world.truth, world.near_misses = judge(world)
    world.counts = {"practices": len(practices), "listings": len(listings), "pages": len(pages),
                    "reports": len(reports), "expected_findings": len(world.truth)}
    return world
