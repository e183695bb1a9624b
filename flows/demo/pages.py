"""Practice websites of the demo world: three templates, varied link texts and phrasings, some JS-only."""

from __future__ import annotations

import json
import random
from html import escape

from flows.demo import names
from flows.demo.model import Page, Practice, format_phone

# Per template: (page, relative path, link text); the home page is the path root itself.
TEMPLATES: tuple[tuple[tuple[str, str, str], ...], ...] = (
    (("new", "new-patients/", "New Patients"), ("insurance", "insurance/", "Insurance"),
     ("team", "our-team/", "Our Team"), ("contact", "contact/", "Contact Us")),
    (("new", "new-patients.html", "Becoming a Patient"), ("insurance", "accepted-insurance.html", "Accepted Insurance Plans"),
     ("team", "physicians.html", "Meet the Doctors"), ("contact", "locations.html", "Locations & Hours")),
    (("new", "patients/new", "Accepting New Patients?"), ("insurance", "billing-insurance", "Billing & Insurance"),
     ("team", "providers", "Providers"), ("contact", "contact-us", "Contact")),
)
TEAM_HEADINGS = ("Meet Our Providers", "Our Physicians", "Our Team")
MARKERS = {"home": "to make an appointment", "new": "New patient forms", "insurance": "Payment is due",
           "team": "shared decisions", "contact": "Hours: Monday"}
FORMS_TEXT = ("New patient forms are available at the front desk. Please bring your insurance card and a photo ID "
              "to your first visit.")


def _e(text: str) -> str:
    """HTML-escape text (names and phrases are data, never markup)."""
    return escape(text, quote=True)


def _layout(practice: Practice, title: str, body: str, nav: list[tuple[str, str]], phone: str) -> str:
    """A full page in the practice's template: header and nav, main content, footer."""
    links = "".join(f'<li><a href="{_e(href)}">{_e(text)}</a></li>' for href, text in nav)
    name = _e(practice.name)
    if practice.site.template == 0:
        return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{_e(title)} | {name}</title></head>"
                f"<body><header><a class='brand' href='{practice.path}'>{name}</a><nav><ul>{links}</ul></nav></header>"
                f"<main><h1>{_e(title)}</h1>{body}</main>"
                f"<footer><p>&copy; {name}. All rights reserved.</p></footer></body></html>")
    if practice.site.template == 1:
        return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{name} - {_e(title)}</title></head><body>"
                f"<div class='topbar'>Call today: <span class='tel'>{_e(phone)}</span></div>"
                f"<div class='menu'><ul class='nav'>{links}</ul></div>"
                f"<div class='container'><div class='content'><h2>{_e(title)}</h2>{body}</div></div>"
                f"<div class='site-footer'>{name} &middot; <a href='{practice.path}'>Home</a></div></body></html>")
    bar = " | ".join(f'<a href="{_e(href)}">{_e(text)}</a>' for href, text in nav)
    return (f"<html><head><title>{_e(title)}</title></head><body><table width='100%'><tr><td>"
            f"<h1>{name}</h1><p>{bar}</p>"
            f"</td></tr><tr><td><h2>{_e(title)}</h2>{body}</td></tr></table></body></html>")


def _js_only(html: str, title: str) -> str:
    """The same page as an app shell: an empty root div filled in by an inline script."""
    start, end = html.index("<body>") + len("<body>"), html.rindex("</body>")
    payload = json.dumps(html[start:end]).replace("</", "<\\/")
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{_e(title)}</title></head><body>"
            f"<div id='root'></div><noscript>Please enable JavaScript to use this site.</noscript>"
            f"<script>document.getElementById('root').innerHTML = {payload};</script></body></html>")


def _team_body(practice: Practice, rng: random.Random) -> str:
    """Team page: a card per current provider (nicknames as the practice uses them) and notices."""
    site = practice.site
    heading = TEAM_HEADINGS[site.template]
    cards = []
    for person in practice.providers:
        sentence = ""
        if site.provider_status.get(person.npi) == "not_accepting":
            sentence = f"<p class='note'>{_e(rng.choice(names.PROVIDER_NOT_ACCEPTING).format(name=person.display('dr')))}</p>"
        where = practice.locations[practice.location_of(person.npi)].label
        if site.template == 2:
            cards.append(f"<tr><td><b>{_e(person.display('team'))}</b></td><td>{_e(person.specialty)}</td>"
                         f"<td>{_e(where)}</td></tr>{('<tr><td colspan=3>' + sentence + '</td></tr>') if sentence else ''}")
        else:
            cards.append(f"<div class='provider'><h3>{_e(person.display('team'))}</h3><p>{_e(person.specialty)} "
                         f"&middot; {_e(where)}</p><p>Sees patients of all ages and believes in shared decisions."
                         f"</p>{sentence}</div>")
    roster = f"<table>{''.join(cards)}</table>" if site.template == 2 else "".join(cards)
    departed = _departed_text(practice, rng) if practice.site.departed and not _departed_on_home(practice) else ""
    return f"<h3>{heading}</h3>{roster}{departed}"


def _departed_on_home(practice: Practice) -> bool:
    """Whether the "has left the practice" notice sits on the home page (else on the team page)."""
    return practice.site.departed_on_home or not practice.site.team_page


def _departed_text(practice: Practice, rng: random.Random) -> str:
    """The "Dr. X has left the practice" notices."""
    people = [p for p in practice.extra_providers if p.npi in practice.site.departed]
    return "".join(f"<p class='notice'>{_e(rng.choice(names.LEFT_PRACTICE).format(name=p.display('dr')))}</p>"
                   for p in people)


def _insurance_body(practice: Practice, rng: random.Random) -> str:
    """Insurance page: accepted list (bullets or prose), "no longer accept" notices, or a vague line."""
    site = practice.site
    parts = []
    if site.insurance_list:
        plans = site.insurance_list
        if site.template == 2:
            parts.append(f"<p>We participate with {_e(', '.join(plans[:-1]))} and {_e(plans[-1])}.</p>")
        else:
            items = "".join(f"<li>{_e(plan)}</li>" for plan in plans)
            parts.append(f"<p>{_e(rng.choice(names.ACCEPTED_INTRO))}</p><ul class='plans'>{items}</ul>")
    for insurer in site.not_accepted:
        parts.append(f"<p><strong>{_e(rng.choice(names.NO_LONGER_ACCEPT).format(insurer=insurer))}</strong></p>")
    if not parts:
        parts.append("<p>Please call our office to verify your coverage before your visit.</p>")
    parts.append("<p>Payment is due at the time of service. We accept cash, checks and major credit cards.</p>")
    return "".join(parts)


def _new_patients_body(practice: Practice, rng: random.Random) -> str:
    """New-patients page: the practice-level statement (or none: only the forms) and provider notes."""
    site = practice.site
    parts = [f"<p class='status'>{_e(site.status_phrase)}</p>"] if site.status_phrase else []
    parts.append(f"<p>{FORMS_TEXT}</p>")
    return "".join(parts)


def _numbers(template: int, phone: str, fax: str) -> str:
    """Phone and fax of a location, marked up the ways sites do (own lines, one line with a bar, a <br>)."""
    if template == 0:
        return f"<p>Phone: {_e(phone)}</p><p>Fax: {_e(fax)}</p>"
    if template == 1:
        return f"<p>Tel. {_e(phone)} | Fax {_e(fax)}</p>"
    return f"<p>Phone: {_e(phone)}<br>Fax: {_e(fax)}</p>"


def _contact_body(practice: Practice, style: str, addr_style: str) -> str:
    """Contact page: each location's address, phone and fax; billing line when there is one."""
    blocks = []
    for location in practice.locations:
        blocks.append(
            f"<div class='location'><h3>{_e(location.label)}</h3>"
            f"<p class='addr'>{_e(location.address.line(addr_style))}<br>{_e(location.address.city)}, "
            f"{_e(location.address.state)} {_e(location.address.zip)}</p>"
            f"{_numbers(practice.site.template, format_phone(location.phone, style), format_phone(location.fax, style))}"
            f"<p>Hours: Monday&ndash;Friday 8:00 am &ndash; 5:00 pm</p></div>")
    if practice.site.billing_phone:
        blocks.append(f"<p>Billing questions: {_e(format_phone(practice.site.billing_phone, style))}</p>")
    return "".join(blocks)


def _home_body(practice: Practice, rng: random.Random, style: str, addr_style: str) -> str:
    """Home page: welcome, main number and address, and any notices (moved, new number, departures)."""
    site, main = practice.site, practice.locations[0]
    parts = [f"<p class='lead'>{_e(rng.choice(names.HOME_INTROS))}</p>",
             f"<p>Call us at {_e(format_phone(main.phone, style))} to make an appointment.</p>",
             f"<p>Visit us: {_e(main.address.one_line(addr_style))}</p>"]
    if site.former_address:
        parts.append(f"<p class='notice'>{_e(names.MOVED_NOTICE.format(new=main.address.one_line(addr_style), old=site.former_address.line()))}</p>")
    if site.former_phone:
        parts.append(f"<p class='notice'>{_e(names.PHONE_CHANGED_NOTICE.format(old=format_phone(site.former_phone, style)))}</p>")
    if site.departed and _departed_on_home(practice):
        parts.append(_departed_text(practice, rng))
    return "".join(parts)


def site_pages(practice: Practice, rng: random.Random) -> dict[str, Page]:
    """Every page of a practice's website, keyed by URL path."""
    site = practice.site
    style = rng.choice(["paren", "dash", "dot"])
    addr_style = rng.choice(["short", "long"])
    spec = {key: (path, text) for key, path, text in TEMPLATES[site.template]}
    bodies = {
        "new": ("New Patients", _new_patients_body(practice, rng)),
        "insurance": ("Insurance", _insurance_body(practice, rng)),
        "contact": ("Contact", _contact_body(practice, style, addr_style)),
    }
    if site.team_page:
        bodies["team"] = (TEAM_HEADINGS[site.template], _team_body(practice, rng))
    nav = [(practice.path + spec[key][0], spec[key][1]) for key, _p, _t in TEMPLATES[site.template] if key in bodies]
    main_phone = format_phone(practice.locations[0].phone, style)
    pages: dict[str, Page] = {}
    home = _layout(practice, "Welcome", _home_body(practice, rng, style, addr_style), nav, main_phone)
    pages[practice.path] = _page(home, practice, "home", practice.name)
    for key, (title, body) in bodies.items():
        html = _layout(practice, title, body, nav, main_phone)
        pages[practice.path + spec[key][0]] = _page(html, practice, key, title)
    return pages


def _page(html: str, practice: Practice, key: str, title: str) -> Page:
    """Wrap a page, turning it into a JS-only shell when the practice's site (or its team page) is one."""
    js = practice.site.js == "all" or (practice.site.js == "team" and key == "team")
    marker = MARKERS[key]
    if not js:
        return Page(html, False, marker)
    return Page(_js_only(html, title), True, marker)
