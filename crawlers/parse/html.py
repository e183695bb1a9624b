"""HTML directories: a CSS selector spec (`::text`, `::attr(x)`) applied to a page -> listing records."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urljoin

import usaddress
from parsel import Selector

from crawlers.config import Selectors
from crawlers.parse import clean_text, make_listing
from reconcile.normalize.accepting import normalize_accepting
from reconcile.normalize.npi import clean_npi

SCALAR_FIELDS = ("name", "npi", "specialty", "practice_name", "address", "city", "state", "zip", "phone",
                 "accepting", "website", "last_updated")
LIST_FIELDS = ("plans", "networks")
_ATTR = re.compile(r"::attr\(([^)]+)\)\s*$")
_BREAKS = re.compile(r"<br\s*/?>|</?(?:p|div|li|td|th|tr|h[1-6]|address|section|article|dd|dt)\b[^>]*>", re.I)
_APP_ROOT = re.compile(r"<(div|main|section)[^>]+id=[\"']?(root|app|__next|__nuxt|main|svelte)[\"'\s>]", re.I)


def element_text(element: Selector) -> str | None:
    """Visible text of an element: inline tags joined as written, <br> and block tags as spaces."""
    fragment = _BREAKS.sub(" ", element.get())
    return clean_text(Selector(text=fragment).xpath("string()").get())


def select_values(scope: Selector, selector: str) -> list[str]:
    """Values of one selector: `::attr(x)` gives attributes; `::text` (or none) the elements' whole text."""
    selector = selector.strip()
    attr = _ATTR.search(selector)
    if attr:
        return [v for v in (clean_text(x) for x in scope.css(selector).getall()) if v]
    base = selector[: -len("::text")] if selector.endswith("::text") else selector
    if not base.strip():  # a bare "::text": the scope's own text
        return [v for v in [element_text(scope)] if v]
    values = [element_text(el) for el in scope.css(base)]
    return [v for v in values if v]


def extract_items(html: str, selectors: Selectors) -> list[dict[str, Any]]:
    """Field values of every item matched by `selectors.item` on a page (lists for plans/networks)."""
    page = Selector(text=html)
    items = []
    for scope in page.css(selectors.item):
        record: dict[str, Any] = {}
        for name in SCALAR_FIELDS:
            spec = getattr(selectors, name)
            if spec:
                values = select_values(scope, spec)
                record[name] = " ".join(dict.fromkeys(values)) if values else None
        for name in LIST_FIELDS:
            spec = getattr(selectors, name)
            if spec:
                record[name] = list(dict.fromkeys(select_values(scope, spec)))
        items.append(record)
    return items


def next_page_url(html: str, selector: str | None, page_url: str) -> str | None:
    """Absolute URL of the next page from the `next_page` selector (None at the last page)."""
    if not selector:
        return None
    values = select_values(Selector(text=html), selector if "::attr(" in selector else selector.replace("::text", "") + "::attr(href)")
    target = next((v for v in values if not v.lower().startswith(("javascript:", "#", "mailto:"))), None)
    return urljoin(page_url, target) if target else None


def looks_like_app_shell(html: str) -> bool:
    """True when a page is a JavaScript app shell: scripts and an app root, but little visible text."""
    page = Selector(text=html)
    text = " ".join(page.xpath("//body//text()[not(ancestor::script) and not(ancestor::style) and not(ancestor::noscript)]").getall())
    words = len(text.split())
    scripts = len(page.css("script"))
    return scripts > 0 and (words < 80 or bool(_APP_ROOT.search(html)) and words < 400)


def split_address(text: str | None) -> dict[str, str | None]:
    """Split a one-line US address into street, city, state, zip (street only when it cannot be parsed)."""
    if not text:
        return {"address": None, "city": None, "state": None, "zip": None}
    try:
        tagged, _kind = usaddress.tag(text)
    except usaddress.RepeatedLabelError:
        return {"address": text, "city": None, "state": None, "zip": None}
    city, state, zip_code = tagged.get("PlaceName"), tagged.get("StateName"), tagged.get("ZipCode")
    if not (city and state):
        return {"address": text, "city": None, "state": None, "zip": None}
    street = [v for k, v in tagged.items() if k not in ("PlaceName", "StateName", "ZipCode", "CountryName", "Recipient")]
    return {"address": clean_text(" ".join(street).strip(" ,")), "city": clean_text(city.strip(" ,")),
            "state": clean_text(state.strip(" ,")), "zip": clean_text(zip_code)}


def html_listing(fields: dict[str, Any], insurer: str, source_url: str, fetched_at: str,
                 payload_sha256: str | None = None) -> dict[str, Any] | None:
    """One listing from an item's field values (None when it has neither name nor NPI)."""
    name = fields.get("name")
    npi = clean_npi(fields.get("npi")) or clean_text(fields.get("npi"))
    if not name and not npi:
        return None
    place = {"address": fields.get("address"), "city": fields.get("city"), "state": fields.get("state"),
             "zip": fields.get("zip")}
    if place["address"] and not (place["city"] or place["state"]):
        place = split_address(place["address"])
    website = fields.get("website")
    accepting_raw = fields.get("accepting")
    source_key = "|".join([npi or "", (name or "").casefold(), (fields.get("address") or "").casefold()])
    return make_listing(
        insurer, "html", source_key, source_url, fetched_at,
        npi=npi, provider_name=name, practice_name=fields.get("practice_name"), **place,
        phone=fields.get("phone"), specialty=fields.get("specialty"),
        accepting_status=normalize_accepting(accepting_raw) if accepting_raw else "unknown",
        accepting_raw=accepting_raw, plans=[{"plan_id": p, "plan_id_type": None, "network_tier": None, "years": []}
                                            for p in fields.get("plans") or []],
        networks=list(fields.get("networks") or fields.get("plans") or []),
        website=urljoin(source_url, website) if website else None, last_updated=fields.get("last_updated"),
        payload_sha256=payload_sha256,
    )
