"""fhir_bulk's typed (STRUCT) reader against its JSON-column fallback, and files whose lines do not fit the STRUCTs."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import duckdb
import pytest

from crawlers.bulk.fhir_bulk import (
    MACROS,
    bulk_to_landing,
    listings_sql,
    nucc_table,
    register_views,
    rejected_files,
)
from crawlers.bulk.sources import BulkFile
from crawlers.config import CrawlConfig, DirectoryConfig

PLANNET = "http://hl7.org/fhir/us/davinci-pdex-plan-net/StructureDefinition/newpatients"
NDH = "http://hl7.org/fhir/us/ndh/StructureDefinition/base-ext-newpatients"
NETWORK = "http://hl7.org/fhir/us/davinci-pdex-plan-net/StructureDefinition/network-reference"
NPI = "http://hl7.org/fhir/sid/us-npi"
RUN = "20261125T000000Z-typed1"


def newpatients(url: str, code: str | None, **more: object) -> dict:
    """A newpatients extension (acceptingPatients code, optional extra sub-extension fields)."""
    subs: list[dict] = [{"url": "fromNetwork", "valueReference": {"reference": "Organization/net1"}}]
    if code is not None:
        subs.insert(0, {"url": "acceptingPatients", "valueCodeableConcept": {"coding": [{"code": code}]}, **more})
    return {"url": url, "extension": subs}


def varied() -> dict[str, list[dict]]:
    """Resources in the shapes real bulk files take: optional fields missing, extra fields, other value types."""
    return {
        "Practitioner": [
            {"resourceType": "Practitioner", "id": "p1", "meta": {"lastUpdated": "2026-01-01T00:00:00Z", "versionId": "3"},
             "identifier": [{"system": "http://example.org/other", "value": "X1"}, {"system": NPI, "value": "1234567893"}],
             "name": [{"use": "official", "family": "Smith", "given": ["Jane", "Q"], "suffix": ["MD", "PhD"]},
                      {"family": "Jones"}],
             "telecom": [{"system": "email", "value": "j@example.org"}, {"system": "phone", "value": "217-555-0111"}],
             "qualification": [{"code": {"text": "MD"}}]},
            {"resourceType": "Practitioner", "id": "p2", "identifier": [{"system": NPI, "value": 1245319599}],
             "name": [{"text": "Omar Haddad"}]},
            {"resourceType": "Practitioner", "id": "p3"},
            {"resourceType": "Practitioner", "id": "p4", "name": [{"family": "Lee", "given": []}], "telecom": []},
        ],
        "Location": [
            {"resourceType": "Location", "id": "loc1", "name": "Main St Clinic",
             "address": {"line": ["12 Main St", "Suite 4"], "city": "Springfield", "state": "IL", "postalCode": "62701"},
             "telecom": [{"system": "fax", "value": "217-555-0199"}, {"system": "phone", "value": "(217) 555-0100"},
                         {"system": "url", "value": "https://main.example.org"}],
             "extension": [{"url": "http://example.org/other", "valueString": "x"}, newpatients(PLANNET, "nopt")],
             "managingOrganization": {"reference": "Organization/org1", "display": "Main Street"}},
            {"resourceType": "Location", "id": "loc2", "address": {"city": "Peoria", "state": "IL"},
             "extension": [newpatients(NDH, None)], "managingOrganization": {"reference": "Organization/org2"}},
            {"resourceType": "Location", "id": "loc3", "position": {"latitude": 40.1, "longitude": -89.2}},
        ],
        "Organization": [
            {"resourceType": "Organization", "id": "org1", "name": "Main Street Family Medicine",
             "telecom": [{"system": "url", "value": "https://org1.example.org"}]},
            {"resourceType": "Organization", "id": "org2", "name": "Peoria Partners", "alias": ["PP"]},
        ],
        "HealthcareService": [
            {"resourceType": "HealthcareService", "id": "hs1", "extension": [newpatients(NDH, "existptonly")]},
        ],
        "PractitionerRole": [
            {"resourceType": "PractitionerRole", "id": "r1", "meta": {"lastUpdated": "2026-11-01T00:00:00Z"},
             "active": True, "practitioner": {"reference": "Practitioner/p1"},
             "location": [{"reference": "Location/loc1"}, {"reference": "Location/loc2/_history/7"}],
             "specialty": [{"coding": [{"system": "http://nucc.org/provider-taxonomy", "code": "207Q00000X"}]}],
             "extension": [{"url": NETWORK, "valueReference": {"reference": "Organization/net1", "display": "Gold HMO"}},
                           {"url": NETWORK, "valueReference": {"reference": "Organization/net2"}}]},
            {"resourceType": "PractitionerRole", "id": "r2",
             "practitioner": {"reference": "https://npd.example/fhir/Practitioner/p2"},
             "organization": {"reference": "Organization/org2"}, "healthcareService": [{"reference": "HealthcareService/hs1"}],
             "location": [{"reference": "Location/loc1"}],
             "specialty": [{"coding": [{"code": "363L00000X", "display": "Nurse Practitioner (as published)"}],
                            "text": "NP"}],
             "telecom": [{"system": "phone", "value": "217-555-0222", "use": "work"}],
             "extension": [newpatients(PLANNET, "newpt")]},
            {"resourceType": "PractitionerRole", "id": "r3", "practitioner": {"reference": "Practitioner/p3"},
             "code": [{"text": "role"}]},
            {"resourceType": "PractitionerRole", "id": "r4", "active": False, "practitioner": {"reference": "Practitioner/p1"}},
            {"resourceType": "PractitionerRole", "id": "r5", "practitioner": {"reference": "Practitioner/missing"},
             "location": [{"reference": "Location/loc3"}], "specialty": [{"text": "Family medicine"}]},
            {"resourceType": "PractitionerRole", "id": "r6", "practitioner": {"reference": "Practitioner/p4"},
             "location": [{"display": "somewhere"}], "specialty": []},
        ],
    }


def write(folder: Path, data: dict[str, list], gz: tuple[str, ...] = ()) -> list[BulkFile]:
    """One NDJSON file per type (gzipped for the types in `gz`); items may be raw text lines."""
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for kind, items in data.items():
        text = "".join((i if isinstance(i, str) else json.dumps(i)) + "\n" for i in items)
        path = folder / (f"{kind}.ndjson.gz" if kind in gz else f"{kind}.ndjson")
        if kind in gz:
            with gzip.open(path, "wt", encoding="utf-8") as fh:
                fh.write(text)
        else:
            path.write_text(text, encoding="utf-8")
        files.append(BulkFile(kind, str(path), str(path)))
    return files


def listings(files: list[BulkFile], fallback: frozenset[str]) -> list[tuple]:
    """The listing rows the mapping produces with the given files read through the fallback."""
    con = duckdb.connect()
    con.execute(MACROS)
    nucc_table(con)
    register_views(con, files, fallback)
    return sorted(con.execute(listings_sql("Acme", "file:///npd", "2026-11-25T00:00:00+00:00", True)).fetchall(),
                  key=lambda row: row[1])


def test_typed_reader_and_json_fallback_produce_identical_listings(tmp_path: Path) -> None:
    files = write(tmp_path / "npd", varied(), gz=("Location",))
    con = duckdb.connect()
    assert rejected_files(con, files) == frozenset()  # every varied file fits the STRUCTs: the fast path reads them
    typed = listings(files, frozenset())
    loose = listings(files, frozenset(f.path for f in files))
    assert typed == loose
    # the fixture really exercises the mapping: roles x locations, inactive role dropped, values found
    keys = [row[1] for row in typed]
    assert keys == ["PractitionerRole/r1|Location/loc1", "PractitionerRole/r1|Location/loc2", "PractitionerRole/r2|Location/loc1",
                    "PractitionerRole/r3|Location/", "PractitionerRole/r5|Location/loc3", "PractitionerRole/r6|Location/"]
    filled = [sum(value not in (None, "", []) for value in column) for column in zip(*typed)]
    assert min(filled[4:20]) >= 1, "every mapped column has at least one value in the fixture"


def test_identical_listings_with_one_file_on_each_path(tmp_path: Path) -> None:
    files = write(tmp_path / "npd", varied())
    every = listings(files, frozenset())
    for one in files:
        assert listings(files, frozenset({one.path})) == every, one.resource_type


NONCONFORMING_LOCATIONS = [
    # `line` a string, `extension` and `telecom` lone objects where the IG has lists: the rest of the row is kept
    json.dumps({"resourceType": "Location", "id": "loc1", "address": {"line": "12 Main St", "city": "Springfield",
                "state": "IL", "postalCode": "62701"}, "telecom": {"system": "phone", "value": "217-555-0100"},
                "extension": newpatients(NDH, "nopt")}),
    "{not json at all",
    json.dumps({"resourceType": "Location", "id": "loc2", "address": "1 Elm St, Peoria IL",
                "telecom": [{"system": "phone", "value": "309-555-0100"}], "extension": [newpatients(NDH, "newpt")]}),
    json.dumps(["a", "list", "line"]),
    json.dumps({"resourceType": "Location", "id": "loc3", "address": {"line": ["3 Oak Ave"], "city": "Normal"},
                "extension": [newpatients(NDH, "existptfam")], "managingOrganization": "Organization/org1"}),
]


def test_file_that_does_not_fit_the_structs_still_loads(tmp_path: Path) -> None:
    data: dict[str, list] = {
        "Practitioner": [
            {"resourceType": "Practitioner", "id": "p1", "identifier": [{"system": NPI, "value": "1234567893"}],
             "name": [{"family": "Smith", "given": ["Jane"]}]},
            {"resourceType": "Practitioner", "id": "p2", "name": {"family": "Haddad", "given": ["Omar"]},
             "identifier": [{"system": NPI, "value": "1245319599"}]},
        ],
        "Location": NONCONFORMING_LOCATIONS,
        "PractitionerRole": [
            {"resourceType": "PractitionerRole", "id": f"r{i}", "practitioner": {"reference": f"Practitioner/p{2 if i == 2 else 1}"},
             # r2's location is a lone Reference where the IG has a list
             "location": {"reference": "Location/loc2"} if i == 2 else [{"reference": f"Location/loc{i}"}]}
            for i in (1, 2, 3)
        ],
    }
    files = write(tmp_path / "npd", data)
    assert rejected_files(duckdb.connect(), files) == {f.path for f in files}
    directory = DirectoryConfig(insurer="Acme", kind="fhir_bulk", url=str(tmp_path / "npd"))
    result = bulk_to_landing(directory, CrawlConfig(), str(tmp_path / "landing"), RUN)
    assert (result.listings, result.quarantined) == (3, 2)
    landing = next(p for p in result.landing_files if p.endswith(".parquet"))
    rows = {r[0]: r[1:] for r in duckdb.sql(
        "SELECT source_key, npi, last_name, city, state, zip, phone, accepting_status "
        f"FROM read_parquet('{landing}')").fetchall()}
    assert rows["PractitionerRole/r1|Location/loc1"] == ("1234567893", "Smith", "Springfield", "IL", "62701", "217-555-0100",
                                                          "not_accepting")
    # p2's `name` is a lone HumanName (read as a list of one); loc2's address is a plain string (not guessed at)
    assert rows["PractitionerRole/r2|Location/loc2"] == ("1245319599", "Haddad", None, None, None, "309-555-0100", "accepting")
    assert rows["PractitionerRole/r3|Location/loc3"][2:] == ("Normal", None, None, None, "existing_only")
    quarantine = [json.loads(line) for p in result.landing_files if "/quarantine/" in p
                  for line in Path(p).read_text(encoding="utf-8").splitlines()]
    assert sorted((q["row"], q["error"].split(":")[0]) for q in quarantine) == [
        (2, "malformed JSON"), (4, "line is not a JSON object")]
    assert all(q["file"].endswith("Location.ndjson") for q in quarantine)


@pytest.mark.parametrize("trust", [False, True])
def test_last_updated_only_when_trusted(tmp_path: Path, trust: bool) -> None:
    files = write(tmp_path / "npd", varied())
    con = duckdb.connect()
    con.execute(MACROS)
    nucc_table(con)
    register_views(con, files)
    got = con.execute(f"SELECT last_updated FROM ({listings_sql('Acme', 'u', 'now', trust)}) "
                      "WHERE source_key = 'PractitionerRole/r1|Location/loc1'").fetchone()[0]
    assert got == ("2026-11-01T00:00:00Z" if trust else None)
