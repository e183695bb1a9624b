"""The fhir_directory spider's SQL transform gives the listings the Python Plan-Net parser gives (differential test)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from crawlers.bulk.fhir_bulk import spool_to_landing
from crawlers.parse import LISTING_KEYS
from crawlers.parse.fhir import Page, parse_bundle, role_listings
from crawlers.spiders.fhir import ResourceSpool
from reconcile.normalize.npi import is_valid_npi

FIXTURE = Path(__file__).parent / "fixtures" / "directories" / "plannet_world.json"
PN = "http://hl7.org/fhir/us/davinci-pdex-plan-net/StructureDefinition"
NDH = "http://hl7.org/fhir/us/ndh/StructureDefinition/base-ext-newpatients"
NUCC = "http://nucc.org/provider-taxonomy"
BASE = "https://fhir.acme.example/r4"


def accepting(url: str, code: Any = None, network: str | None = None, boolean: bool | None = None, text: str | None = None) -> dict:
    """A newpatients extension in one of the shapes servers publish."""
    sub: dict[str, Any] = {"url": "acceptingPatients"}
    if boolean is not None:
        sub["valueBoolean"] = boolean
    else:
        sub["valueCodeableConcept"] = {"coding": [{"code": code}] if code else [], **({"text": text} if text else {})}
    subs = [sub] + ([{"url": "fromNetwork", "valueReference": {"reference": network}}] if network else [])
    return {"url": url, "extension": subs}


def varied_world() -> tuple[list[dict], list[dict]]:
    """The Plan-Net fixture plus roles in the other shapes real directories take."""
    world = json.loads(FIXTURE.read_text().replace("__BASE__", BASE))
    resources, roles = world["resources"], world["roles"]
    resources += [
        {"resourceType": "Practitioner", "id": "V1", "name": [
            {"use": "usual", "family": "Nick", "given": ["N"]},
            {"use": "official", "family": "  Okafor ", "given": ["Ada", "B.", " Chi"], "prefix": ["Dr."], "suffix": ["MD", "MPH"]}],
         "identifier": [{"system": "urn:oid:2.16.840.1.113883.4.6", "value": " 1245319599 "}],
         "telecom": [{"system": "phone", "value": "555-0000", "use": "old"}, {"system": "phone", "value": "555-0001",
                     "period": {"end": "2020-01-01"}}, {"system": "phone", "value": ""}, {"system": "phone", "value": "555\u00a00002"},
                     {"system": "url", "value": "https://okafor.example"}]},
        {"resourceType": "Practitioner", "id": "V2", "name": [{"text": "Dr.  Text   Only"}]},
        {"resourceType": "Practitioner", "id": "V3", "identifier": [{"system": "http://hl7.org/fhir/sid/us-npi", "value": "1234567890"}],
         "name": [{"family": "Badnpi"}]},
        {"resourceType": "Location", "id": "VL1", "name": "North\tClinic", "address": {"text": "1 North Rd, Town"},
         "extension": [accepting(NDH, boolean=False)]},
        {"resourceType": "Location", "id": "VL2", "address": {"line": ["2  South St", "Floor 3"], "city": " Dover ", "state": "DE",
         "postalCode": "19901"}, "telecom": [{"system": "fax", "value": "302-555-0199"}, {"system": "phone", "value": "302-555-0100"}]},
        {"resourceType": "HealthcareService", "id": "VS1", "location": [{"reference": "Location/VL2"}],
         "extension": [accepting(f"{PN}/newpatients", "existptfam")], "telecom": [{"system": "phone", "value": "302-555-0300"}]},
        {"resourceType": "HealthcareService", "id": "VS2", "extension": [accepting(NDH, text="Accepting new patients")]},
        {"resourceType": "HealthcareService", "id": "VS3", "location": [{"reference": "Location/Elsewhere"}],
         "extension": [accepting(NDH, "nopt")]},
        {"resourceType": "Organization", "id": "VNet", "name": " Silver  PPO "},
        {"resourceType": "Organization", "id": "VOrg", "name": "Okafor Group", "telecom": [{"system": "url", "value": "https://group.example"}]},
    ]
    roles += [
        {"resourceType": "PractitionerRole", "id": "VR1", "active": True, "practitioner": {"reference": "Practitioner/V1"},
         "organization": {"reference": f"{BASE}/Organization/VOrg/_history/3"},
         "location": [{"reference": "Location/VL1"}, {"reference": "Location/VL2"}, {"display": "Mobile van"}],
         "healthcareService": [{"reference": "HealthcareService/VS3"}, {"reference": "HealthcareService/VS1"},
                               {"reference": "HealthcareService/VS2"}],
         "specialty": [{"text": ""}, {"coding": [{"system": "http://other.example", "code": "X", "display": "Other display"}]}],
         "extension": [{"url": f"{PN}/network-reference", "valueReference": {"reference": "Organization/VNet"}},
                       {"url": f"{PN}/network-reference", "valueReference": {"reference": "Organization/Gone", "display": "Gone Net"}},
                       {"url": f"{PN}/network-reference", "valueReference": {"reference": "Organization/Gone2"}},
                       {"url": f"{PN}/network-reference", "valueReference": {"reference": "Organization/VNet"}}]},
        {"resourceType": "PractitionerRole", "id": "VR2", "active": False, "practitioner": {"reference": "Practitioner/V2"},
         "identifier": [{"system": "http://hl7.org/fhir/sid/us-npi", "value": "1234567893"}],
         "contained": [{"resourceType": "Location", "id": "c1", "address": {"line": ["9 Contained Way"], "city": "Inner"},
                        "extension": [accepting(NDH, "newpt", network="Organization/VNet"), accepting(NDH, "nopt")]}],
         "location": [{"reference": "#c1"}],
         "specialty": [{"coding": [{"system": NUCC, "code": "207Q00000X"}]}]},
        {"resourceType": "PractitionerRole", "id": "VR3", "practitioner": {"reference": "Practitioner/V3"},
         "location": [{"reference": "Location/VL2"}]},
        {"resourceType": "PractitionerRole", "id": "VR4", "organization": {"reference": "Organization/VOrg"},
         "specialty": [{"coding": [{"system": NUCC, "code": "363L00000X", "display": "NP (published)"}]}],
         "extension": [accepting(NDH, "newpt", network="Organization/VNet")]},
    ]
    return resources, roles


def pages(resources: list[dict], roles: list[dict]) -> list[dict]:
    """Two searchset Bundles: the roles split in two, every resource included on the first."""
    half = len(roles) // 2
    entry = lambda items: [{"resource": copy.deepcopy(r)} for r in items]
    return [{"resourceType": "Bundle", "type": "searchset", "entry": entry(roles[:half] + resources)},
            {"resourceType": "Bundle", "type": "searchset", "entry": entry(roles[half:])}]


def python_listings(bundles: list[Page], invalid: list[str] | None = None) -> list[dict]:
    """The Python parser's listings (the oracle), invalid NPIs dropped (and noted) as the spider always did."""
    everything: dict[str, dict] = {}
    for page in bundles:
        for key, res in page.resources.items():
            everything.setdefault(key, res)
    out = []
    for number, page in enumerate(bundles, start=1):
        for role in page.roles:
            for record in role_listings(role, everything.get, "Acme Health", f"{BASE}/p{number}", "2026-11-25T00:00:00+00:00",
                                        f"sha{number}"):
                if record["npi"] and not is_valid_npi(record["npi"]):
                    if invalid is not None:
                        invalid.append(f"PractitionerRole/{role['id']}: invalid NPI {record['npi']!r}")
                    break
                out.append(record)
    return out


def sql_listings(tmp_path: Path, bundles: list[Page]) -> tuple[list[dict], list[dict]]:
    """The spool + DuckDB transform's listings and invalid-NPI records."""
    spool = ResourceSpool(str(tmp_path))
    for number, page in enumerate(bundles, start=1):
        spool.add_page(page, f"{BASE}/p{number}", "2026-11-25T00:00:00+00:00", f"sha{number}")
    files = spool.close()
    result = spool_to_landing(files, f"{spool.folder}/_pages.ndjson", "Acme Health", str(tmp_path / "landing"), "run1",
                              str(spool.folder))
    rows = pq.read_table(str(result.landing_file)).to_pylist()
    return rows, result.invalid_npi


def comparable(record: dict) -> dict:
    """A listing with JSON columns decoded, keyed for comparison."""
    out = {k: record.get(k) for k in LISTING_KEYS}
    out["plans"] = json.loads(out["plans"]) if isinstance(out["plans"], str) else out["plans"]
    raw = record.get("raw")
    out["raw"] = json.loads(raw) if isinstance(raw, str) else raw
    return out


def test_sql_transform_matches_the_python_parser(tmp_path: Path) -> None:
    resources, roles = varied_world()
    bundles = [parse_bundle(b) for b in pages(resources, roles)]
    invalid_expected: list[str] = []
    expected = sorted((comparable(r) for r in python_listings(bundles, invalid_expected)), key=lambda r: r["source_key"])
    got_rows, invalid = sql_listings(tmp_path, bundles)
    got = sorted((comparable(r) for r in got_rows), key=lambda r: r["source_key"])
    assert [r["source_key"] for r in got] == [r["source_key"] for r in expected]
    for mine, theirs in zip(got, expected):
        assert mine == theirs, mine["source_key"]
    assert len(expected) >= 10  # the world really has many shapes
    assert sorted(q["error"] for q in invalid) == sorted(invalid_expected)
    assert "PractitionerRole/VR3: invalid NPI '1234567890'" in invalid_expected


@pytest.mark.parametrize("field", ["phone", "accepting_raw", "networks", "provider_name", "specialty", "address"])
def test_the_comparison_sees_every_field(tmp_path: Path, field: str) -> None:
    """Guard for the differential test: the varied world has distinct, non-empty values in the fields compared."""
    resources, roles = varied_world()
    bundles = [parse_bundle(b) for b in pages(resources, roles)]
    values = [r[field] for r in python_listings(bundles) if r[field] not in (None, [], "")]
    assert len({json.dumps(v) for v in values}) >= 3, field


def test_world_where_no_lookup_is_needed(tmp_path: Path) -> None:
    """Every specialty has its display and every NPI is valid: the empty lookup tables still bind."""
    role = {"resourceType": "PractitionerRole", "id": "r1", "practitioner": {"reference": "Practitioner/p1"},
            "specialty": [{"coding": [{"system": NUCC, "code": "207Q00000X", "display": "Family Medicine"}]}]}
    bundle = parse_bundle({"resourceType": "Bundle", "entry": [{"resource": role}, {"resource": {
        "resourceType": "Practitioner", "id": "p1", "name": [{"family": "Solo"}]}}]})
    rows, invalid = sql_listings(tmp_path, [bundle])
    assert [(r["last_name"], r["specialty"], r["accepting_status"]) for r in rows] == [("Solo", "Family Medicine", "unknown")]
    assert invalid == []
