"""fhir_directory spider against shapes real Plan-Net / NDH servers publish (HAPI, Azure, insurer-built).

Real HTTP server on 127.0.0.1, the spider in its child process, landing files read back; the SQL transform is also
checked against the Python parser (tests/test_fhir_sql_parity.py) on the same shapes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pyarrow.parquet as pq
from httpserver import Reply, Request, json_reply, serve
from test_fhir_sql_parity import comparable, python_listings, sql_listings

from crawlers.parse.fhir import parse_bundle
from crawlers.runner import run_spider

INSURER = "Acme Health"
NPI = "http://hl7.org/fhir/sid/us-npi"
NUCC = "http://nucc.org/provider-taxonomy"
V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"
NEWPATIENTS = "http://hl7.org/fhir/us/davinci-pdex-plan-net/StructureDefinition/newpatients"


def bundle(resources: list[dict[str, Any]], next_url: str | None = None, total: int | None = None) -> dict[str, Any]:
    """A searchset Bundle as a server writes it: roles `match`, the rest `include`; no `entry` when empty."""
    data: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset", "link": [{"relation": "self", "url": "x"}]}
    if total is not None:
        data["total"] = total
    if resources:
        data["entry"] = [{"fullUrl": f"https://fhir.example/r4/{r['resourceType']}/{r['id']}", "resource": r,
                          "search": {"mode": "match" if r["resourceType"] == "PractitionerRole" else "include"}}
                         for r in resources]
    if next_url:
        data["link"].append({"relation": "next", "url": next_url})
    return data


class Directory:
    """A Plan-Net API serving search pages in order (`_page=N`) and `_id` batches / reads of its resources."""

    def __init__(self, pages: list[dict[str, Any]], resources: list[dict[str, Any]]) -> None:
        """`pages`: the search Bundles, page 1 first; `resources`: everything a batch or a read may return."""
        self.pages = pages
        self.resources = {f"{r['resourceType']}/{r['id']}": r for r in resources}
        self.server = serve(self.handle)
        self.base = self.server.url("/fhir")

    def handle(self, request: Request) -> Reply:
        """Search pages, `_id` batches and reads by id."""
        if request.path == "/robots.txt":
            return Reply(404)
        kind = request.path.removeprefix("/fhir/")
        query = parse_qs(request.query)
        if kind.count("/") == 1:
            found = self.resources.get(kind)
            return json_reply(found) if found else json_reply({"resourceType": "OperationOutcome"}, 404)
        if kind == "PractitionerRole":
            return json_reply(self.pages[int(query.get("_page", ["1"])[0]) - 1])
        ids = query.get("_id", [""])[0].split(",")
        return json_reply(bundle([self.resources[f"{kind}/{i}"] for i in ids if f"{kind}/{i}" in self.resources]))

    def searches(self) -> list[str]:
        """The search page requests the server saw."""
        return [r.target for r in self.server.requests if r.path == "/fhir/PractitionerRole"]


def crawl(tmp_path: Path, api: Directory) -> tuple[Any, dict[str, dict[str, Any]]]:
    """Run the spider on `api`; (result, listings by source_key)."""
    config = tmp_path / "ghostcheck.toml"
    config.write_text(f'[warehouse]\nlanding = "landing"\n\n[crawl]\nallow_private_networks = true\nautothrottle = false\n'
                      f'timeout_seconds = 10\n\n[[directory]]\ninsurer = "{INSURER}"\nkind = "fhir"\nurl = "{api.base}"\n')
    with api.server:
        result = run_spider("fhir_directory", str(config), "run1", {"insurer": INSURER}, timeout=90)
    rows = [row for path in sorted((tmp_path / "landing" / "listings").rglob("*.parquet"))
            for row in pq.read_table(path).to_pylist()]
    listings = {row["source_key"]: row for row in rows}
    assert len(listings) == len(rows), "a listing appears twice"
    return result, listings


def role(rid: str, practitioner: str | None = None, locations: tuple[str, ...] = (), **fields: Any) -> dict[str, Any]:
    """A Plan-Net PractitionerRole."""
    out: dict[str, Any] = {"resourceType": "PractitionerRole", "id": rid, "active": True,
                           "meta": {"lastUpdated": "2026-10-01T00:00:00Z"}}
    if practitioner:
        out["practitioner"] = {"reference": practitioner}
    if locations:
        out["location"] = [{"reference": ref} for ref in locations]
    return {**out, **fields}


def practitioner(pid: str, npi: str, family: str) -> dict[str, Any]:
    """A Practitioner with its NPI and one name."""
    return {"resourceType": "Practitioner", "id": pid, "identifier": [{"system": NPI, "value": npi}],
            "name": [{"family": family, "given": ["Ann"]}]}


LOCATION = {"resourceType": "Location", "id": "L1",
            "address": {"line": ["1 Main St", "Suite 2"], "city": "Boston", "state": "MA", "postalCode": "02115-1234"}}


def test_an_empty_page_past_the_last_results_ends_paging(tmp_path: Path) -> None:
    """HAPI-style paging past the end: the last `next` gives a Bundle without `entry` (with or without `total`)."""
    p1, p2 = practitioner("P1", "1234567893", "Solo"), practitioner("P2", "1245319599", "Lopez")
    pages = [bundle([role("R1", "Practitioner/P1", ("Location/L1",)), p1, LOCATION], "PractitionerRole?_page=2", total=2),
             bundle([role("R2", "Practitioner/P2", ("Location/L1",)), p2], "PractitionerRole?_page=3", total=2),
             bundle([], "PractitionerRole?_page=4", total=2),  # an empty page may still carry a cursor (Azure)
             bundle([])]
    result, listings = crawl(tmp_path, Directory(pages, [p1, p2, LOCATION]))
    assert result.status == "ok", result.reason
    assert result.items == 2 and result.pages == 4
    assert {row["last_name"] for row in listings.values()} == {"Solo", "Lopez"}


def test_a_page_repeated_under_a_new_cursor_is_listed_once_and_ends_paging(tmp_path: Path) -> None:
    """Offset paging over a changing result set repeats roles; a server repeating its last page would page forever."""
    p1, p2, p3 = (practitioner("P1", "1234567893", "Solo"), practitioner("P2", "1245319599", "Lopez"),
                  practitioner("P3", "1003000126", "Kim"))
    r1, r2, r3 = (role(f"R{i}", f"Practitioner/P{i}", ("Location/L1",)) for i in (1, 2, 3))
    pages = [bundle([r1, r2, p1, p2, LOCATION], "PractitionerRole?_page=2&_getpagesoffset=2"),
             bundle([r2, r3, p3], "PractitionerRole?_page=3&_getpagesoffset=4"),  # R2 again (the set shifted)
             bundle([r2, r3], "PractitionerRole?_page=4&_getpagesoffset=6"),  # the last page again, new cursor
             bundle([r3], "PractitionerRole?_page=5&_getpagesoffset=8")]
    api = Directory(pages, [p1, p2, p3, LOCATION])
    result, listings = crawl(tmp_path, api)
    assert result.status == "ok", result.reason
    assert sorted(listings) == [f"PractitionerRole/R{i}|Location/L1" for i in (1, 2, 3)] and result.items == 3
    assert len(api.searches()) == 3 and not any("_page=4" in t for t in api.searches())


def real_world_roles() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Roles and resources in spellings real directories use (names, NPIs, taxonomy systems, telecom, services)."""
    resources = [
        LOCATION,
        {"resourceType": "Practitioner", "id": "Nick", "name": [  # the nickname comes first; `usual` is the name
            {"use": "nickname", "given": ["Bob"]}, {"use": "usual", "family": "Smith", "given": ["Robert", "J"]}],
         "identifier": [{"type": {"coding": [{"system": V2_0203, "code": "NPI"}]},  # typed NPI, misspelt system
                         "system": "http://hl7.org.fhir/sid/us-npi", "value": "1234567893"}]},
        {"resourceType": "Practitioner", "id": "Maiden", "name": [
            {"use": "old", "family": "Maiden", "given": ["Ann"]}, {"family": "Married", "given": ["Ann"]}],
         "identifier": [{"system": "https://hl7.org/fhir/sid/us-npi/", "value": "1245319599"}]},
        {"resourceType": "Organization", "id": "Group", "name": "Bright Pediatrics",
         "identifier": [{"system": NPI, "value": "1679576722"}]},
        {"resourceType": "Organization", "id": "BadNpiGroup", "name": "Typo Clinic",
         "identifier": [{"system": NPI, "value": "1679576723"}]},
        {"resourceType": "HealthcareService", "id": "Peds", "location": [{"reference": "Location/L1"}],
         "telecom": [{"system": "phone", "value": "617-555-3333"}],
         "extension": [{"url": NEWPATIENTS, "extension": [
             {"url": "acceptingPatients", "valueCodeableConcept": {"coding": [{"code": "newpt"}]}}]}]},
    ]
    roles = [
        role("Telecom", "Practitioner/Nick", ("Location/L1",),
             telecom=[{"system": "phone", "value": "617-555-0002", "rank": 2},
                      {"system": "phone", "value": "617-555-0001", "rank": 1},
                      {"system": "url", "value": "https://old.example", "period": {"end": "2001-01-01"}},
                      {"system": "url", "value": "https://new.example", "period": {"start": "2020-01-01", "end": "2999-12-31"}}],
             specialty=[{"coding": [{"system": "http://nucc.org/provider-taxonomy/", "code": "207Q00000X"}]}]),
        role("Ended", "Practitioner/Maiden", ("Location/L1",),
             telecom=[{"system": "phone", "value": "617-555-0009", "period": {"end": "2999-12-31"}}],
             specialty=[{"coding": [{"code": "208000000X"}]}]),  # no system, a taxonomy-shaped code
        role("GroupOnly", None, ("Location/L1",), organization={"reference": "Organization/Group"},
             specialty=[{"coding": [{"system": "https://www.nucc.org/provider-taxonomy", "code": "261QP2300X",
                                     "display": "Primary Care Clinic"}]}]),
        role("BadGroupOnly", None, ("Location/L1",), organization={"reference": "Organization/BadNpiGroup"}),
        # a person named by display only: the group's NPI is not theirs
        {**role("NamedOnly", None, ("Location/L1",), organization={"reference": "Organization/Group"}),
         "practitioner": {"display": "Dr. Ann Lee"}},
        role("NoLocation", "Practitioner/Maiden", healthcareService=[{"reference": "HealthcareService/Peds"}]),
    ]
    return resources, roles


def test_names_ids_taxonomies_and_telecom_in_real_world_spellings(tmp_path: Path) -> None:
    """Nickname/old names, NPI system variants and typed NPIs, NUCC system variants, telecom rank and period."""
    resources, roles = real_world_roles()
    result, listings = crawl(tmp_path, Directory([bundle(roles + resources)], resources))
    assert result.status == "ok", result.reason
    bob = listings["PractitionerRole/Telecom|Location/L1"]
    assert (bob["provider_name"], bob["first_name"], bob["last_name"], bob["npi"]) == (
        "Robert J Smith", "Robert", "Smith", "1234567893")
    assert bob["phone"] == "617-555-0001"  # rank 1 wins over the first listed
    assert bob["website"] == "https://new.example"  # a period ending in the future is current; an ended one is not
    assert bob["specialty_code"] == "207Q00000X" and bob["specialty"]
    ann = listings["PractitionerRole/Ended|Location/L1"]
    assert (ann["last_name"], ann["npi"], ann["phone"]) == ("Married", "1245319599", "617-555-0009")
    assert ann["specialty_code"] == "208000000X" and ann["specialty"]


def test_a_role_without_practitioner_lists_its_organization_with_its_npi(tmp_path: Path) -> None:
    """Organization-only roles (group listings) carry the organization's NPI when it is a valid one."""
    resources, roles = real_world_roles()
    result, listings = crawl(tmp_path, Directory([bundle(roles + resources)], resources))
    assert result.status == "ok", result.reason
    group = listings["PractitionerRole/GroupOnly|Location/L1"]
    assert (group["provider_name"], group["npi"]) == ("Bright Pediatrics", "1679576722")
    assert (group["specialty_code"], group["specialty"]) == ("261QP2300X", "Primary Care Clinic")
    typo = listings["PractitionerRole/BadGroupOnly|Location/L1"]  # a wrong group NPI never drops the listing
    assert typo["provider_name"] == "Typo Clinic" and typo["npi"] is None
    assert listings["PractitionerRole/NamedOnly|Location/L1"]["npi"] is None


def test_a_role_without_location_takes_its_services_status_and_phone(tmp_path: Path) -> None:
    """A role naming only a HealthcareService (offered at some location): the service's newpatients and phone."""
    resources, roles = real_world_roles()
    result, listings = crawl(tmp_path, Directory([bundle(roles + resources)], resources))
    assert result.status == "ok", result.reason
    row = listings["PractitionerRole/NoLocation"]
    assert (row["accepting_status"], row["accepting_raw"], row["phone"]) == ("accepting", "newpt", "617-555-3333")


def test_the_sql_transform_matches_the_python_parser_on_these_shapes(tmp_path: Path) -> None:
    """The spider's SQL and the Python parser agree on every real-world shape above."""
    resources, roles = real_world_roles()
    pages = [parse_bundle(bundle(roles[:2] + resources)), parse_bundle(bundle(roles[2:]))]
    expected = sorted((comparable(r) for r in python_listings(pages)), key=lambda r: r["source_key"])
    rows, invalid = sql_listings(tmp_path, pages)
    got = sorted((comparable(r) for r in rows), key=lambda r: r["source_key"])
    assert [r["source_key"] for r in got] == [r["source_key"] for r in expected] and len(got) == 6 and invalid == []
    for mine, theirs in zip(got, expected):
        assert mine == theirs, mine["source_key"]


def test_an_id_batch_answered_with_an_operation_outcome_is_read_one_by_one(tmp_path: Path) -> None:
    """A server answering `_id=a,b` with HTTP 200 and an OperationOutcome: the references are read by id instead."""
    p1, p2 = practitioner("P1", "1234567893", "Solo"), practitioner("P2", "1245319599", "Lopez")
    roles = [role("R1", "Practitioner/P1", ("Location/L1",)), role("R2", "Practitioner/P2", ("Location/L1",))]
    api = Directory([bundle([*roles, LOCATION])], [p1, p2, LOCATION])
    outcome = {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "not-supported",
                                                             "diagnostics": "Multiple values for _id are not supported"}]}
    handle = api.handle
    api.server.routes = lambda request: json_reply(outcome) if "_id=" in request.query else handle(request)
    result, listings = crawl(tmp_path, api)
    assert result.status == "ok", result.reason
    assert {row["last_name"]: row["npi"] for row in listings.values()} == {"Solo": "1234567893", "Lopez": "1245319599"}
    assert {r.path for r in api.server.requests} >= {"/fhir/Practitioner/P1", "/fhir/Practitioner/P2"}
