"""The FHIR spider's resource spool: what each NDJSON line holds after a page is spooled (real files in tmp_path)."""

from __future__ import annotations

import json
from pathlib import Path

from crawlers.parse.fhir import parse_bundle
from crawlers.spiders.fhir import ResourceSpool


def bundle(roles: list[dict], included: list[dict]) -> dict:
    """A searchset Bundle of roles and included resources."""
    entries = [{"resource": r} for r in roles + included]
    return {"resourceType": "Bundle", "type": "searchset", "entry": entries}


def lines(path: str) -> list[dict]:
    """The JSON objects of an NDJSON file."""
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").split("\n") if line]  # not splitlines: U+2028


def test_roles_are_tagged_and_included_resources_spooled_once(tmp_path: Path) -> None:
    """Roles carry page and position with every field intact; a resource included twice is kept once (first copy)."""
    role_a = {"resourceType": "PractitionerRole", "id": "a", "practitioner": {"reference": "Practitioner/p1"},
              "note": [{"text": "naïve \"quoted\" \u2028 text"}]}
    role_b = {"resourceType": "PractitionerRole", "id": "b", "practitioner": {"reference": "Practitioner/p1"},
              "contained": [{"resourceType": "Location", "id": "loc", "name": "Inside"}],
              "location": [{"reference": "#loc"}]}
    first = {"resourceType": "Practitioner", "id": "p1", "name": [{"family": "First"}]}
    second = {"resourceType": "Practitioner", "id": "p1", "name": [{"family": "Second"}]}
    spool = ResourceSpool(str(tmp_path))
    spool.add_page(parse_bundle(bundle([role_a], [first])), "http://x/1", "2026-01-01T00:00:00Z", "s1")
    spool.add_page(parse_bundle(bundle([role_b, role_a], [second, {"resourceType": "Patient", "id": "z"}])),
                   "http://x/2", "2026-01-01T00:00:01Z", "s2")
    files = {f.resource_type: f.path for f in spool.close()}
    assert sorted(files) == ["Location", "Practitioner", "PractitionerRole"]  # Patient is not a listing input
    roles = lines(files["PractitionerRole"])
    assert [(r["id"], r["_page"], r["_pos"]) for r in roles] == [("a", 1, 0), ("b", 2, 0), ("a", 2, 1)]
    assert {k: v for k, v in roles[0].items() if not k.startswith("_")} == role_a
    assert {k: v for k, v in roles[1].items() if not k.startswith("_")} == role_b
    assert lines(files["Practitioner"]) == [first]
    assert lines(files["Location"]) == [{"resourceType": "Location", "id": "b#loc", "name": "Inside"}]
    pages = lines(str(Path(spool.folder) / "_pages.ndjson"))
    assert [(p["page"], p["url"], p["sha256"]) for p in pages] == [(1, "http://x/1", "s1"), (2, "http://x/2", "s2")]


def test_a_role_already_holding_the_tag_names_gets_the_spools_values(tmp_path: Path) -> None:
    """Keys named like the tags (not FHIR elements, but servers send anything) never shadow page and position."""
    role = {"resourceType": "PractitionerRole", "id": "odd", "_page": "server's", "_pos": 99}
    spool = ResourceSpool(str(tmp_path))
    spool.add_page(parse_bundle(bundle([role], [])), "http://x/1", "t", "s")
    files = {f.resource_type: f.path for f in spool.close()}
    text = Path(files["PractitionerRole"]).read_text(encoding="utf-8")
    assert text.count('"_page"') == 1 and json.loads(text) == {**role, "_page": 1, "_pos": 0}


def test_a_page_without_roles_creates_no_role_file(tmp_path: Path) -> None:
    """Only types that have lines get a file (the transform reads an absent type as an empty view)."""
    spool = ResourceSpool(str(tmp_path))
    spool.add_page(parse_bundle(bundle([], [{"resourceType": "Organization", "id": "o"}])), "http://x/1", "t", "s")
    assert [f.resource_type for f in spool.close()] == ["Organization"]


def test_role_references_and_missing_ones_in_every_reference_form() -> None:
    """Relative, absolute and versioned references count; contained, untyped and non-directory ones do not."""
    from crawlers.parse.fhir import NETWORK_EXT, missing_references, role_references

    role = {
        "resourceType": "PractitionerRole", "id": "r1",
        "practitioner": {"reference": "https://api.example.org/fhir/Practitioner/p1/_history/3"},
        "organization": {"display": "no reference at all"},
        "location": [{"reference": "Location/l1"}, {"reference": "#inline"}, "not an object", {"reference": "Location/l2"}],
        "healthcareService": [{"reference": "HealthcareService/h1"}],
        "extension": [{"url": NETWORK_EXT, "valueReference": {"reference": "Organization/net"}},
                      {"url": "http://example.org/other", "valueReference": {"reference": "Organization/other"}},
                      {"url": NETWORK_EXT, "valueReference": {"reference": "Patient/not-a-directory-type"}}],
    }
    assert role_references(role) == ["Practitioner/p1", "Location/l1", "Location/l2", "HealthcareService/h1",
                                     "Organization/net"]
    again = {"resourceType": "PractitionerRole", "id": "r2", "location": [{"reference": "Location/l2"}],
             "practitioner": {"reference": "Practitioner/p9"}}
    included = {"Location/l1", "Practitioner/p9"}
    assert missing_references([role, again], lambda key: key in included) == {
        "Practitioner": ["p1"], "Location": ["l2"], "HealthcareService": ["h1"], "Organization": ["net"]}
