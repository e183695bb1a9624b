"""schema.org JSON-LD on practice pages: isAcceptingNewPatients, telephone and PostalAddress of clinics/physicians."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Iterator

import lxml.etree
import lxml.html

__all__ = ["StructuredFact", "structured_facts"]

_PERSON_TYPES = frozenset({"physician", "person", "individualphysician"})
# Only the practice's own entities; a web agency's Organization/publisher block must not give phones.
_PRACTICE_TYPES = frozenset({
    "medicalclinic", "physician", "individualphysician", "medicalorganization", "medicalbusiness", "localbusiness",
    "dentist", "hospital", "optician", "physiotherapy", "medicalspecialty", "diagnosticlab", "psychiatric",
    "pediatric", "familypractice", "primarycare", "obstetric", "dermatology", "medicalcenter",
})
_MAX_NODES = 2000


@dataclass(frozen=True)
class StructuredFact:
    """One fact from JSON-LD: kind (accepting_status | phone | address), value, scope and the JSON it came from."""

    kind: str
    value: str
    scope: str
    snippet: str


def _nodes(data: Any) -> Iterator[dict[str, Any]]:
    """Every JSON object in a JSON-LD document (including @graph members and nested objects), bounded."""
    stack = [data]
    seen = 0
    while stack and seen < _MAX_NODES:
        item = stack.pop()
        seen += 1
        if isinstance(item, dict):
            yield item
            stack.extend(v for v in item.values() if isinstance(v, (dict, list)))
        elif isinstance(item, list):
            stack.extend(item)


def _types(node: dict[str, Any]) -> set[str]:
    """The node's @type values, lower-cased."""
    value = node.get("@type", [])
    values = value if isinstance(value, list) else [value]
    return {str(v).rsplit("/", 1)[-1].lower() for v in values}


def _address_text(value: Any) -> str | None:
    """'street, city, ST zip' from a PostalAddress object (or the string as given)."""
    if isinstance(value, str):
        return value.strip() or None
    if not isinstance(value, dict):
        return None
    street = value.get("streetAddress")
    street = ", ".join(street) if isinstance(street, list) else street
    parts = [str(street or "").strip(), str(value.get("addressLocality") or "").strip()]
    tail = " ".join(p for p in (str(value.get("addressRegion") or "").strip(), str(value.get("postalCode") or "").strip()) if p)
    text = ", ".join(p for p in (*parts, tail) if p)
    return text if street and tail else None


def _node_addresses(node: dict[str, Any]) -> list[str]:
    """Addresses of a practice node: `address` (one, or a list for several offices) and each `location` Place's address."""
    values: list[Any] = []
    for key in ("address", "location"):
        raw = node.get(key)
        for item in raw if isinstance(raw, list) else [raw]:
            if key == "location":
                item = item.get("address") if isinstance(item, dict) else None
            values.append(item)
    found = (_address_text(v) for v in values if v is not None)
    return list(dict.fromkeys(a for a in found if a))


def _accepting(value: Any) -> str | None:
    """Canonical status from an isAcceptingNewPatients value (true/false, 'True', 'yes', ...)."""
    if isinstance(value, bool):
        return "accepting" if value else "not_accepting"
    text = str(value).strip().lower()
    if text in ("true", "yes", "1", "https://schema.org/true", "http://schema.org/true"):
        return "accepting"
    if text in ("false", "no", "0", "https://schema.org/false", "http://schema.org/false"):
        return "not_accepting"
    return None


def structured_facts(html: str) -> list[StructuredFact]:
    """Facts from <script type="application/ld+json"> blocks; malformed JSON is skipped, never raised."""
    if "ld+json" not in html:
        return []
    try:
        root = lxml.html.document_fromstring(html.encode("utf-8"), parser=lxml.html.HTMLParser(encoding="utf-8", huge_tree=True))
    except (lxml.etree.ParserError, ValueError):
        return []
    facts: list[StructuredFact] = []
    for script in root.xpath('//script[contains(translate(@type, "LDJSON", "ldjson"), "ld+json")]'):
        raw = (script.text or "").strip()
        try:
            data = json.loads(re.sub(r"^\s*<!--|-->\s*$", "", raw))
        except ValueError:
            continue
        for node in _nodes(data):
            types = _types(node)
            if not types & _PRACTICE_TYPES:
                continue
            name = node.get("name") if isinstance(node.get("name"), str) else None
            scope = name.strip() if name and types & _PERSON_TYPES else "practice"
            snippet = json.dumps({k: node[k] for k in ("@type", "name", "isAcceptingNewPatients") if k in node}, ensure_ascii=False)
            if "isAcceptingNewPatients" in node:
                status = _accepting(node["isAcceptingNewPatients"])
                if status:
                    facts.append(StructuredFact("accepting_status", status, scope, snippet))
            phones = node.get("telephone")
            for phone in phones if isinstance(phones, list) else [phones]:
                if isinstance(phone, str) and phone.strip():
                    facts.append(StructuredFact("phone", phone.strip(), scope, f"telephone: {phone.strip()}"))
            for address in _node_addresses(node):
                facts.append(StructuredFact("address", address, scope, f"address: {address}"))
    return facts
