"""HTML directories: a CSS selector spec (`::text`, `::attr(x)`) applied to a page -> listing records."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import usaddress
from parsel import Selector

from crawlers.config import FieldSelectors, Selectors, selector_groups, split_selector
from crawlers.parse import clean_text, make_listing
from reconcile.normalize.accepting import normalize_accepting
from reconcile.normalize.npi import clean_npi

SCALAR_FIELDS = ("name", "npi", "specialty", "practice_name", "address", "city", "state", "zip", "phone",
                 "accepting", "website", "last_updated")
LIST_FIELDS = ("plans", "networks")
_TEL = re.compile(r"^\s*tel:\s*", re.I)  # a phone read from a `tel:` link's href
PLACE_FIELDS = ("address", "city", "state", "zip")  # what makes a page show offices of its own
LOCATION_FIELDS = (*PLACE_FIELDS, "phone", "accepting", "practice_name")  # read per `location` element
_BREAKS = re.compile(r"<br\s*/?>|</?(?:p|div|li|td|th|tr|h[1-6]|address|section|article|dd|dt)\b[^>]*>", re.I)
_APP_ROOT = re.compile(r"<(div|main|section)[^>]+id=[\"']?(root|app|__next|__nuxt|main|svelte)[\"'\s>]", re.I)


def element_text(element: Selector) -> str | None:
    """Visible text of an element: inline tags joined as written, <br> and block tags as spaces."""
    fragment = _BREAKS.sub(" ", element.get())
    return clean_text(Selector(text=fragment).xpath("string()").get())


def _matches(scope: Selector, selector: str) -> list[tuple[Selector, str | None]]:
    """(element, attribute) pairs a spec selects in `scope`, group by group (an empty CSS part is the scope)."""
    pairs = []
    for group in selector_groups(selector):
        css, attr = split_selector(group)
        pairs.extend((el, attr) for el in (scope.css(css) if css else [scope]))
    return pairs


def _value(element: Selector, attr: str | None) -> str | None:
    """An element's attribute (`::attr`) or whole visible text (a text node's own text)."""
    if isinstance(element.root, str):
        return clean_text(element.root)
    return clean_text(element.attrib.get(attr)) if attr else element_text(element)


def select_values(scope: Selector, selector: str) -> list[str]:
    """Values of one selector: `::attr(x)` gives attributes; `::text` (or none) the elements' whole text."""
    return [v for v in (_value(el, attr) for el, attr in _matches(scope, selector)) if v]


def _outside(matches: list[tuple[Selector, str | None]], places: list[Selector]) -> list[tuple[Selector, str | None]]:
    """The matches that lie in none of the `places` elements (nor are one)."""
    roots = {id(place.root) for place in places}
    return [(el, attr) for el, attr in matches if id(el.root) not in roots
            and not any(id(a) in roots for a in getattr(el.root, "iterancestors", lambda: ())())]


def _record(pairs: dict[str, list[tuple[Selector, str | None]]]) -> dict[str, Any]:
    """Field values from each field's matches: scalars joined (distinct, in page order), lists kept."""
    record: dict[str, Any] = {}
    for name, matches in pairs.items():
        values = list(dict.fromkeys(v for v in (_value(el, attr) for el, attr in matches) if v))
        record[name] = values if name in LIST_FIELDS else (" ".join(values) if values else None)
    return record


def extract_fields(scope: Selector, selectors: FieldSelectors) -> list[dict[str, Any]]:
    """Field values in one scope (a result item, or a provider's own page): one record, or with a `location`
    selector one per location element it holds. The location fields (address, city, state, ZIP, phone,
    accepting, practice name) are then read inside that element, or else from the scope outside every location;
    the other fields from the whole scope."""
    specs = {name: getattr(selectors, name) for name in (*SCALAR_FIELDS, *LIST_FIELDS) if getattr(selectors, name)}
    matches = {name: _matches(scope, spec) for name, spec in specs.items()}
    places = scope.css(selectors.location) if selectors.location else []
    if not places:
        return [_record(matches)]
    shared = _record({name: _outside(m, places) if name in LOCATION_FIELDS else m for name, m in matches.items()})
    records = []
    for place in places:
        local = _record({name: _matches(place, specs[name]) for name in LOCATION_FIELDS if name in specs})
        records.append({**shared, **{k: v for k, v in local.items() if v is not None}})
    return records


def extract_items(html: str, selectors: Selectors) -> list[dict[str, Any]]:
    """Records of every item matched by `selectors.item` on a result page (`extract_fields` per item), each with
    `_item` (the item's position) and, when `selectors.detail` is set, `_detail` (its link as written, or None)."""
    records = []
    for index, scope in enumerate(Selector(text=html).css(selectors.item)):
        detail = {"_detail": next(iter(select_values(scope, selectors.detail)), None)} if selectors.detail else {}
        records.extend({**record, **detail, "_item": index} for record in extract_fields(scope, selectors))
    return records


def extract_page(html: str, selectors: FieldSelectors) -> list[dict[str, Any]]:
    """Records of a provider's own page: `extract_fields` with the whole page as the scope."""
    return extract_fields(Selector(text=html), selectors)


def merge_detail(item: dict[str, Any], detail: dict[str, Any]) -> dict[str, Any]:
    """An item's fields completed and overridden by what its provider page shows (empty values never override)."""
    return {**item, **{k: v for k, v in detail.items() if v not in (None, [], "")}}


def _followable(link: str) -> bool:
    """A link a crawler can follow (not a script, an in-page anchor or an e-mail address)."""
    return not link.lower().startswith(("javascript:", "#", "mailto:", "tel:"))


def detail_url(link: str | None, page_url: str) -> str | None:
    """Absolute URL of an item's provider page (None when it has no followable link)."""
    return urljoin(page_url, link) if link and _followable(link) else None


def next_page_url(html: str, selector: str | None, page_url: str) -> str | None:
    """Absolute URL of the next page from the `next_page` selector (None at the last page)."""
    if not selector:
        return None
    values = (_value(el, attr or "href") for el, attr in _matches(Selector(text=html), selector))
    target = next((v for v in values if v and _followable(v)), None)
    return urljoin(page_url, target) if target else None


def numbered_page_url(url: str, param: str, step: int = 1) -> str | None:
    """The next page's URL for a directory counting pages in a query parameter (`?page=3` -> `?page=4`; with a
    step, an offset: `?start=40` -> `?start=60`). An absent parameter is page 1 (step 1) or offset 0; None when
    the parameter holds something other than a number."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    values = [v for k, v in query if k == param]
    if values and not values[0].strip().isdigit():
        return None
    current = int(values[0]) if values else (1 if step == 1 else 0)
    query = [(k, v) for k, v in query if k != param] + [(param, str(current + step))]
    return urlunsplit(parts._replace(query=urlencode(query)))


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
        phone=_TEL.sub("", fields["phone"]) if fields.get("phone") else None, specialty=fields.get("specialty"),
        accepting_status=normalize_accepting(accepting_raw) if accepting_raw else "unknown",
        accepting_raw=accepting_raw, plans=[{"plan_id": p, "plan_id_type": None, "network_tier": None, "years": []}
                                            for p in fields.get("plans") or []],
        networks=list(fields.get("networks") or fields.get("plans") or []),
        website=urljoin(source_url, website) if website else None, last_updated=fields.get("last_updated"),
        payload_sha256=payload_sha256,
    )
