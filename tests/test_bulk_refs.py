"""fhir_bulk's cheaper SQL, checked against the plain definitions it replaced: reference ids and NUCC displays."""

from __future__ import annotations

import csv
import json
import random
from importlib import resources
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from crawlers.bulk.fhir_bulk import MACROS, bulk_to_landing
from crawlers.config import CrawlConfig, DirectoryConfig

# The definition ref_id had before its split_part fast path (the id is the last path segment, or the segment
# before a trailing `/_history/<version>`).
REGEX_REF_ID = "regexp_extract(ref, '([^/]+)(/_history/[^/]+)?$', 1)"
NUCC = "http://nucc.org/provider-taxonomy"


def reference_corpus() -> list[str | None]:
    """References as real directories write them, plus odd and random ones built from the characters that matter."""
    cases: list[str | None] = [
        None, "", "/", "//", "a", "a/", "/a", "a/b", "a//b", "Practitioner/p1", "Location/l-9.x",
        "https://npd.example/fhir/Practitioner/p1", "Practitioner/p1/_history/3", "Practitioner/p1/_history/",
        "Practitioner/p1/_history", "_history/1", "/_history/1", "a/_history/1/_history/2", "x/_history/1/",
        "#contained-1", "Practitioner/p1?_format=json", "Organization/o 1", "Location/é", "urn:uuid:1234",
    ]
    pieces = ["/", "a", "Z9", "_history", "/_history/", "1", "Practitioner", "", "é", " ", "//", "?", "#", ".", "-"]
    rng = random.Random(12)
    cases += ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 7))) for _ in range(20_000)]
    return cases


def test_ref_id_equals_the_regex_definition_on_every_reference_shape() -> None:
    con = duckdb.connect()
    con.execute(MACROS)
    diffs = con.execute(
        f"SELECT ref, ref_id(ref), {REGEX_REF_ID} FROM (SELECT unnest(?) AS ref) "
        f"WHERE ref_id(ref) IS DISTINCT FROM {REGEX_REF_ID}",
        [reference_corpus()],
    ).fetchall()
    assert diffs == []
    # and the fast path is the one real references take (no regex needed to find these ids)
    got = con.execute("SELECT ref_id('Practitioner/p1'), ref_id('https://x/fhir/Location/l2/_history/7')").fetchone()
    assert got == ("p1", "l2")


def nucc_display(code: str) -> str:
    """The display name the shipped NUCC taxonomy file gives a code."""
    path = resources.files("reconcile.data").joinpath("nucc_provider_taxonomy.csv")
    with path.open(encoding="utf-8") as fh:
        return next(row["Display Name"] for row in csv.DictReader(fh) if row["Code"] == code)


def role(rid: str, specialty: list[dict]) -> dict:
    """A PractitionerRole at loc1 for p1 with the given specialty list."""
    return {"resourceType": "PractitionerRole", "id": rid, "practitioner": {"reference": "Practitioner/p1"},
            "location": [{"reference": "Location/loc1"}], "specialty": specialty}


def test_specialty_display_comes_from_nucc_only_when_the_role_has_none(tmp_path: Path) -> None:
    folder = tmp_path / "npd"
    folder.mkdir()
    files = {
        "Practitioner": [{"resourceType": "Practitioner", "id": "p1", "name": [{"family": "Smith", "given": ["Jane"]}]}],
        "Location": [{"resourceType": "Location", "id": "loc1", "address": {"city": "Springfield", "state": "IL"}}],
        "PractitionerRole": [
            role("r1", [{"coding": [{"system": NUCC, "code": "207Q00000X"}]}]),
            role("r2", [{"coding": [{"system": NUCC, "code": "363L00000X", "display": "NP (as published)"}]}]),
            role("r3", [{"coding": [{"system": NUCC, "code": "NOT-A-CODE"}]}]),
            role("r4", []),
        ] + [role(f"x{i}", [{"coding": [{"system": NUCC, "code": "208D00000X"}]}]) for i in range(2000)],
    }
    for kind, items in files.items():
        (folder / f"{kind}.ndjson").write_text("".join(json.dumps(i) + "\n" for i in items), encoding="utf-8")
    directory = DirectoryConfig(insurer="NPD", kind="fhir_bulk", url=str(folder), role="reference")
    result = bulk_to_landing(directory, CrawlConfig(), str(tmp_path / "landing"), "20261125T000000Z-refs01")
    assert result.listings == 2004
    table = pq.read_table(next(p for p in result.landing_files if p.endswith(".parquet")))
    rows = {r["source_key"].split("|")[0]: r for r in table.to_pylist()}
    assert rows["PractitionerRole/r1"]["specialty"] == nucc_display("207Q00000X")
    assert rows["PractitionerRole/r2"]["specialty"] == "NP (as published)"
    assert rows["PractitionerRole/r3"]["specialty"] is None
    assert rows["PractitionerRole/r4"]["specialty"] is None
    assert {rows[f"PractitionerRole/x{i}"]["specialty"] for i in range(2000)} == {nucc_display("208D00000X")}
    # raw keeps the role's meta.lastUpdated (an export stamp, not trusted as last_updated); its id is in source_key
    assert json.loads(rows["PractitionerRole/r1"]["raw"]) == {"meta_last_updated": None}
