"""Data model of the demo world: practices, what their websites say, directory listings, reports, truth."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import NamedTuple


@dataclass(frozen=True)
class Address:
    """A street address in parts, so the same place can be written several formatting-only ways."""

    number: str
    street: str
    suffix_long: str
    suffix_short: str
    city: str
    state: str
    zip: str
    zip4: str
    unit_long: str | None = None
    unit_short: str | None = None
    unit_no: str | None = None

    def line(self, style: str = "short") -> str:
        """The street line: short ("12 Oak St Ste 4"), long ("12 Oak Street, Suite 4") or upper case."""
        if style == "long":
            unit = f", {self.unit_long} {self.unit_no}" if self.unit_no else ""
            return f"{self.number} {self.street} {self.suffix_long}{unit}"
        unit = f" {self.unit_short} {self.unit_no}" if self.unit_no else ""
        text = f"{self.number} {self.street} {self.suffix_short}{unit}"
        return text.upper() if style == "upper" else text

    def zip_text(self, plus4: bool = False) -> str:
        """ZIP5, or ZIP+4 (a formatting-only difference)."""
        return f"{self.zip}-{self.zip4}" if plus4 else self.zip

    def one_line(self, style: str = "short", plus4: bool = False) -> str:
        """Street, city, state and ZIP on one line, as HTML directories and websites print it."""
        return f"{self.line(style)}, {self.city}, {self.state} {self.zip_text(plus4)}"

    @property
    def key(self) -> tuple[str, str, str]:
        """Identity of the place (house number, street, unit) for the world's own judgement."""
        return (self.number, self.street.casefold(), (self.unit_no or "").casefold())


def format_phone(digits: str, style: str = "paren") -> str:
    """A 10-digit number written one of the ways people write US numbers (formatting only)."""
    a, b, c = digits[:3], digits[3:6], digits[6:]
    return {
        "paren": f"({a}) {b}-{c}", "dash": f"{a}-{b}-{c}", "dot": f"{a}.{b}.{c}",
        "intl": f"+1 {a} {b} {c}", "plain": digits, "one": f"1-{a}-{b}-{c}",
    }[style]


@dataclass(frozen=True)
class Provider:
    """A synthetic clinician: NPI, name parts, credential, NUCC specialty; nickname used on some team pages."""

    npi: str
    first: str
    middle: str
    last: str
    credential: str
    specialty_code: str
    specialty: str
    nickname: str | None = None

    def display(self, style: str = "plain") -> str:
        """Name as a source prints it: plain, with middle initial, 'Last, First', upper case, 'Dr.'..."""
        if style == "middle":
            return f"{self.first} {self.middle}. {self.last}"
        if style == "last_first":
            return f"{self.last}, {self.first} {self.middle}"
        if style == "upper":
            return f"{self.first} {self.last}".upper()
        if style == "credential":
            return f"{self.first} {self.last}, {self.credential}"
        if style == "dr":  # how a sentence names them: "Dr." only for physicians
            title = "Dr. " if self.credential in ("MD", "DO") else ""
            return f"{title}{self.first} {self.last}" + ("" if title else f", {self.credential}")
        if style == "team":
            first = self.nickname or self.first
            title = "Dr. " if self.credential in ("MD", "DO") else ""
            return f"{title}{first} {self.last}, {self.credential}"
        return f"{self.first} {self.last}"


@dataclass
class Location:
    """One office of a practice: its current address and numbers, and who works there."""

    address: Address
    phone: str
    fax: str
    npis: list[str] = field(default_factory=list)
    label: str = "Main office"


@dataclass
class Site:
    """What the practice's website says (the world's website evidence) and how it is served."""

    template: int = 0
    availability: str = "ok"  # ok | robots | error
    js: str = "none"  # none | all | team
    status: str | None = None  # practice-level statement (canonical) or None when silent
    status_phrase: str | None = None
    provider_status: dict[str, str] = field(default_factory=dict)  # npi -> canonical (provider-level sentence)
    insurance_list: list[str] | None = None  # published accepted list (None: no list)
    not_accepted: list[str] = field(default_factory=list)  # "we no longer accept X"
    team_page: bool = True  # a complete roster of the practice's providers
    departed: list[str] = field(default_factory=list)  # npis of "has left the practice" sentences
    departed_on_home: bool = False
    billing_phone: str | None = None
    former_phone: str | None = None
    former_address: Address | None = None


@dataclass
class Practice:
    """A practice (group) with its locations, providers, website and role in the demo scenario."""

    slug: str
    name: str
    locations: list[Location]
    providers: list[Provider]
    site: Site
    roles: list[str] = field(default_factory=list)
    extra_providers: list[Provider] = field(default_factory=list)  # listed by directories, not working here

    @property
    def path(self) -> str:
        """URL path root of the practice's website on the demo sites server (one path segment per site)."""
        return f"/{self.slug}/"

    def location_of(self, npi: str) -> int:
        """Index of the location a provider works at (0 for providers who do not work here)."""
        return next((i for i, loc in enumerate(self.locations) if npi in loc.npis), 0)


@dataclass
class Listing:
    """One directory listing (provider x location x insurer) as the world publishes it."""

    insurer: str
    kind: str  # fhir | qhp | html
    npi: str
    practice: str  # practice slug
    location: int
    address: Address
    phone: str  # 10 digits as meant; printed with phone_style
    status: str  # canonical status the directory publishes
    last_updated: date
    addr_style: str = "short"
    zip_plus4: bool = False
    phone_style: str = "paren"
    name_style: str = "plain"
    role_id: str = ""
    mutations: list[str] = field(default_factory=list)  # deliberate directory errors
    near_miss: list[str] = field(default_factory=list)  # formatting-only differences

    @property
    def address_line(self) -> str:
        """The street line as the directory publishes it."""
        return self.address.line(self.addr_style)


class Expected(NamedTuple):
    """One finding the reconciliation must produce."""

    finding_type: str
    insurer: str
    npi: str
    address_line: str


class NearMiss(NamedTuple):
    """A listing that differs from the evidence only in formatting: it must yield no finding at all."""

    insurer: str
    npi: str
    address_line: str
    kinds: tuple[str, ...]


@dataclass
class Page:
    """A page of a practice website: its HTML, and whether its content only appears after JavaScript."""

    html: str
    js_only: bool = False
    content_text: str = ""  # a sentence that is only visible after rendering (for tests)
