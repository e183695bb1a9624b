"""What the demo insurers publish: a FHIR Plan-Net store, a CMS QHP providers.json, a JS-rendered HTML directory."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from html import escape
from typing import Any

from flows.demo import names
from flows.demo.model import Listing, format_phone
from flows.demo.world import World

NPI_SYSTEM = "http://hl7.org/fhir/sid/us-npi"
NUCC_SYSTEM = "http://nucc.org/provider-taxonomy"
PLANNET = "http://hl7.org/fhir/us/davinci-pdex-plan-net"
NEWPATIENTS_URL = f"{PLANNET}/StructureDefinition/newpatients"
NETWORK_URL = f"{PLANNET}/StructureDefinition/network-reference"
ACCEPTING_CS = f"{PLANNET}/CodeSystem/AcceptingPatientsCS"
FHIR_CODE = {"accepting": "newpt", "limited": "newpt", "not_accepting": "nopt", "existing_only": "existptonly",
             "waitlist": "nopt"}
QHP_VALUE = {"accepting": "accepting", "limited": "accepting", "not_accepting": "not accepting",
             "existing_only": "not accepting", "waitlist": "not accepting"}
HTML_VALUE = {"accepting": "Accepting new patients", "limited": "Accepting new patients (referral required)",
              "not_accepting": "Not accepting new patients", "existing_only": "Existing patients only",
              "waitlist": "Waitlist for new patients"}
NETWORK_ORG = "Organization/acme-gold-network"
HARBOR_PLANS = ({"plan_id_type": "HIOS-PLAN-ID", "plan_id": "48291IL0040001", "network_tier": "PREFERRED"},
                {"plan_id_type": "HIOS-PLAN-ID", "plan_id": "48291IL0040002", "network_tier": "STANDARD"})


@dataclass
class FhirStore:
    """The Acme Health FHIR server's data: PractitionerRoles in order and every resource by `Type/id`."""

    roles: list[dict[str, Any]] = field(default_factory=list)
    resources: dict[str, dict[str, Any]] = field(default_factory=dict)
    not_included: set[str] = field(default_factory=set)  # Locations `_include` deliberately leaves out


def _name_parts(listing: Listing, world: World) -> dict[str, Any]:
    """First, middle and suffix of a listed provider as this listing's name style prints them."""
    person = world.provider(listing.npi)
    return {"first": person.first, "middle": person.middle if listing.name_style == "middle" else None,
            "last": person.last, "suffix": person.credential if listing.name_style == "credential" else None}


def _street_and_unit(listing: Listing) -> tuple[str, str | None]:
    """Split the published street line into street and unit (QHP address / address_2)."""
    line = listing.address_line
    address = listing.address
    if not address.unit_no:
        return line, None
    unit = f"{address.unit_long} {address.unit_no}" if listing.addr_style == "long" else f"{address.unit_short} {address.unit_no}"
    if listing.addr_style == "upper":
        unit = unit.upper()
    return line[: len(line) - len(unit)].rstrip(" ,"), unit


def fhir_store(world: World, site_base: str) -> FhirStore:
    """Acme's Plan-Net resources; a few Locations are left out of `_include` so clients must fetch them by `_id`."""
    store = FhirStore()
    store.resources[NETWORK_ORG] = {"resourceType": "Organization", "id": NETWORK_ORG.split("/")[1],
                                    "name": "Acme Gold Network", "active": True}
    location_ids: dict[tuple[Any, ...], str] = {}
    for listing in world.listings_of(names.ACME):
        practice = world.practice(listing.practice)
        person = world.provider(listing.npi)
        org_key = f"Organization/{practice.slug}"
        store.resources.setdefault(org_key, {
            "resourceType": "Organization", "id": practice.slug, "name": practice.name, "active": True,
            "telecom": [{"system": "url", "value": site_base.rstrip("/") + practice.path}],
        })
        loc_id_key = (practice.slug, listing.address.key, listing.addr_style, listing.zip_plus4)
        loc_id = location_ids.setdefault(loc_id_key, f"loc{len(location_ids) + 1:03d}")
        real = practice.locations[listing.location]
        store.resources.setdefault(f"Location/{loc_id}", {
            "resourceType": "Location", "id": loc_id, "status": "active",
            "name": f"{practice.name} - {real.label}",
            "address": {"line": [listing.address_line], "city": listing.address.city, "state": listing.address.state,
                        "postalCode": listing.address.zip_text(listing.zip_plus4)},
            "telecom": [{"system": "phone", "value": format_phone(real.phone), "use": "work"},
                        {"system": "fax", "value": format_phone(real.fax), "use": "work"}],
            "managingOrganization": {"reference": org_key},
        })
        parts = _name_parts(listing, world)
        prac_key = f"Practitioner/{listing.npi}"
        store.resources.setdefault(prac_key, {
            "resourceType": "Practitioner", "id": listing.npi, "active": True,
            "identifier": [{"system": NPI_SYSTEM, "value": listing.npi}],
            "name": [{"use": "official", "family": parts["last"],
                      "given": [g for g in (parts["first"], parts["middle"]) if g],
                      **({"suffix": [parts["suffix"]]} if parts["suffix"] else {})}],
        })
        role = {
            "resourceType": "PractitionerRole", "id": listing.role_id,
            "meta": {"lastUpdated": f"{listing.last_updated.isoformat()}T09:30:00Z"},
            "active": True,
            "practitioner": {"reference": prac_key},
            "organization": {"reference": org_key},
            "location": [{"reference": f"Location/{loc_id}"}],
            "specialty": [{"coding": [{"system": NUCC_SYSTEM, "code": person.specialty_code, "display": person.specialty}]}],
            "telecom": [{"system": "phone", "value": format_phone(listing.phone, listing.phone_style), "use": "work"},
                        {"system": "url", "value": site_base.rstrip("/") + practice.path}],
            "extension": [
                {"url": NEWPATIENTS_URL, "extension": [{"url": "acceptingPatients", "valueCodeableConcept": {
                    "coding": [{"system": ACCEPTING_CS, "code": FHIR_CODE[listing.status]}]}}]},
                {"url": NETWORK_URL, "valueReference": {"reference": NETWORK_ORG, "display": "Acme Gold Network"}},
            ],
        }
        store.roles.append(role)
    locations = sorted(k for k in store.resources if k.startswith("Location/"))
    store.not_included = set(locations[2::9][:3])
    return store


def search_bundle(store: FhirStore, base: str, query: str, offset: int, count: int,
                  includes: list[str]) -> dict[str, Any]:
    """One searchset page of PractitionerRoles with the `_include`d resources (minus the left-out Locations)."""
    page = store.roles[offset: offset + count]
    entries = [{"fullUrl": f"{base}/PractitionerRole/{r['id']}", "resource": r, "search": {"mode": "match"}} for r in page]
    seen: set[str] = set()
    wanted = {inc.split(":")[-1] for inc in includes if inc.startswith("PractitionerRole:")}
    for role in page:
        refs = []
        if "practitioner" in wanted:
            refs.append(role["practitioner"]["reference"])
        if "organization" in wanted:
            refs.append(role["organization"]["reference"])
        if "location" in wanted:
            refs += [r["reference"] for r in role["location"] if r["reference"] not in store.not_included]
        for ref in refs:
            if ref in seen or ref not in store.resources:
                continue
            seen.add(ref)
            entries.append({"fullUrl": f"{base}/{ref}", "resource": store.resources[ref], "search": {"mode": "include"}})
    links = [{"relation": "self", "url": f"{base}/PractitionerRole?{query}"}]
    if offset + count < len(store.roles):
        inc = "".join(f"&_include={i}" for i in includes)
        links.append({"relation": "next", "url": f"{base}/PractitionerRole?_count={count}&_offset={offset + count}{inc}"})
    return {"resourceType": "Bundle", "type": "searchset", "total": len(store.roles), "link": links, "entry": entries}


def id_bundle(store: FhirStore, base: str, kind: str, ids: list[str]) -> dict[str, Any]:
    """A searchset of `Type?_id=a,b,c`."""
    found = [store.resources[f"{kind}/{i}"] for i in ids if f"{kind}/{i}" in store.resources]
    return {"resourceType": "Bundle", "type": "searchset", "total": len(found),
            "entry": [{"fullUrl": f"{base}/{kind}/{r['id']}", "resource": r, "search": {"mode": "match"}} for r in found]}


def qhp_providers(world: World) -> list[dict[str, Any]]:
    """Harbor Mutual's providers.json (CMS QHP provider schema), one entry per NPI."""
    entries: dict[str, dict[str, Any]] = {}
    for listing in world.listings_of(names.HARBOR):
        person = world.provider(listing.npi)
        parts = _name_parts(listing, world)
        street, unit = _street_and_unit(listing)
        entry = entries.setdefault(listing.npi, {
            "npi": listing.npi, "type": "INDIVIDUAL",
            "name": {k: v for k, v in (("first", parts["first"]), ("middle", parts["middle"]), ("last", parts["last"]),
                                       ("suffix", parts["suffix"])) if v},
            "addresses": [], "specialty": [person.specialty], "accepting": QHP_VALUE[listing.status],
            "plans": [dict(p, years=[world.as_of.year]) for p in HARBOR_PLANS],
            "languages": ["English"], "last_updated_on": listing.last_updated.isoformat(),
        })
        entry["addresses"].append({"address": street, "address_2": unit or "", "city": listing.address.city,
                                   "state": listing.address.state, "zip": listing.address.zip_text(listing.zip_plus4),
                                   "phone": format_phone(listing.phone, listing.phone_style)})
    return list(entries.values())


def qhp_index() -> dict[str, Any]:
    """Harbor Mutual's machine-readable index.json."""
    return {"plan_urls": ["plans.json"], "provider_urls": ["providers.json"], "formulary_urls": []}


def qhp_plans(world: World) -> list[dict[str, Any]]:
    """A minimal plans.json (the demo audits providers; plans are context)."""
    return [{"plan_id_type": p["plan_id_type"], "plan_id": p["plan_id"], "marketing_name": f"Harbor {p['network_tier'].title()}",
             "last_updated_on": world.as_of.isoformat()} for p in HARBOR_PLANS]


def html_cards(world: World, site_base: str) -> list[dict[str, Any]]:
    """Cobalt Care's directory records (what its page script turns into cards)."""
    cards = []
    for listing in world.listings_of(names.COBALT):
        person = world.provider(listing.npi)
        practice = world.practice(listing.practice)
        name = person.display(listing.name_style)
        cards.append({
            "name": name, "npi": listing.npi, "specialty": person.specialty, "practice": practice.name,
            "address": listing.address.one_line(listing.addr_style, listing.zip_plus4),
            "phone": format_phone(listing.phone, listing.phone_style), "accepting": HTML_VALUE[listing.status],
            "plans": ["Cobalt Silver", "Cobalt Gold"], "website": site_base.rstrip("/") + practice.path,
            "updated": listing.last_updated.isoformat(),
        })
    return cards


CARD_SCRIPT = """
(function () {
  var data = JSON.parse(document.getElementById('providers').textContent);
  var root = document.getElementById('results');
  function el(tag, cls, text) { var e = document.createElement(tag); if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text; return e; }
  data.items.forEach(function (p) {
    var card = el('div', 'provider-card');
    card.appendChild(el('h3', 'name', p.name));
    card.appendChild(el('div', 'npi', p.npi));
    card.appendChild(el('div', 'specialty', p.specialty));
    card.appendChild(el('div', 'practice', p.practice));
    card.appendChild(el('div', 'address', p.address));
    card.appendChild(el('div', 'phone', p.phone));
    card.appendChild(el('div', 'accepting', p.accepting));
    var ul = el('ul', 'plans'); p.plans.forEach(function (x) { ul.appendChild(el('li', null, x)); });
    card.appendChild(ul);
    var a = el('a', 'website', 'Website'); a.href = p.website; card.appendChild(a);
    card.appendChild(el('div', 'updated', p.updated));
    root.appendChild(card);
  });
  if (data.next) { var n = el('a', 'next', 'Next page'); n.href = data.next; document.getElementById('pager').appendChild(n); }
})();
"""


def html_page(cards: list[dict[str, Any]], page: int, per_page: int) -> tuple[str, bool]:
    """One page of the Cobalt Care directory: an empty list filled by inline JS from embedded JSON."""
    start = (page - 1) * per_page
    items = cards[start: start + per_page]
    if page < 1 or (not items and page != 1):
        return "", False
    data = {"items": items, "next": f"search?page={page + 1}" if start + per_page < len(cards) else None}
    payload = json.dumps(data).replace("</", "<\\/")
    html = (f"<!doctype html><html><head><meta charset='utf-8'><title>Find a Doctor - {escape(names.COBALT)}</title></head>"
            f"<body><h1>Find a Doctor</h1><div id='results'></div><div id='pager'></div>"
            f"<script type='application/json' id='providers'>{payload}</script><script>{CARD_SCRIPT}</script></body></html>")
    return html, True
