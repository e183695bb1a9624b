"""FHIR bulk (NDJSON) and NPPES reference directories, and findings exported as VerificationResult."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest
from httpserver import Reply, serve
from nppes_fixtures import HADDAD_DEACTIVATED, SMITH, write_nppes_csv

from crawlers.bulk.fhir_bulk import bulk_to_landing
from crawlers.bulk.nppes import nppes_to_landing
from crawlers.bulk.sources import BulkSourceError
from crawlers.config import CrawlConfig, DirectoryConfig
from flows.export.verification import NDH_PROFILE, verification_result
from warehouse.db import connect
from warehouse.load import load_landing

NEWPT = "http://hl7.org/fhir/us/ndh/StructureDefinition/base-ext-newpatients"
RUN = "20261125T000000Z-bulk01"


def accepting(code: str) -> list[dict]:
    """An NDH newpatients extension with one acceptingPatients code."""
    return [{"url": NEWPT, "extension": [{"url": "acceptingPatients",
                                          "valueCodeableConcept": {"coding": [{"code": code}]}}]}]


def resources() -> dict[str, list[dict | str]]:
    """A small NPD-shaped set: roles reference practitioners, locations and organizations in other files."""
    return {
        "Practitioner": [
            {"resourceType": "Practitioner", "id": f"p{i}",
             "identifier": [{"system": system, "value": npi}],
             "name": [{"family": family, "given": [given]}]}
            for i, (npi, given, family, system) in enumerate([  # the NPI by its URI, and by its OID
                ("1234567893", "Jane", "Smith", "http://hl7.org/fhir/sid/us-npi"),
                ("1245319599", "Omar", "Haddad", "urn:oid:2.16.840.1.113883.4.6")])
        ],
        "Location": [
            {"resourceType": "Location", "id": "loc1", "managingOrganization": {"reference": "Organization/org1"},
             "address": {"line": ["12 Main St", "Suite 4"], "city": "Springfield", "state": "IL", "postalCode": "62701-1234"},
             "telecom": [{"system": "phone", "value": "(217) 555-0100"}, {"system": "fax", "value": "217-555-0199"}],
             "extension": accepting("nopt")},
        ],
        "Organization": [{"resourceType": "Organization", "id": "org1", "name": "Main Street Family Medicine"}],
        "PractitionerRole": [
            {"resourceType": "PractitionerRole", "id": "r1", "meta": {"lastUpdated": "2026-11-01T00:00:00Z"},
             "practitioner": {"reference": "Practitioner/p0"}, "location": [{"reference": "Location/loc1"}],
             "specialty": [{"coding": [{"system": "http://nucc.org/provider-taxonomy", "code": "207Q00000X"}]}]},
            "{this line is not json",
            {"resourceType": "PractitionerRole", "id": "r2", "practitioner": {"reference": "https://npd.example/fhir/Practitioner/p1"},
             "location": [{"reference": "Location/loc1"}], "extension": accepting("newpt")},
        ],
    }


def write_folder(folder: Path, gz: bool) -> None:
    """Write one NDJSON file per resource type (gzipped or not)."""
    folder.mkdir(parents=True, exist_ok=True)
    for kind, items in resources().items():
        text = "".join((item if isinstance(item, str) else json.dumps(item)) + "\n" for item in items)
        if gz:
            with gzip.open(folder / f"{kind}.ndjson.gz", "wt", encoding="utf-8") as fh:
                fh.write(text)
        else:
            (folder / f"{kind}.ndjson").write_text(text, encoding="utf-8")


@pytest.mark.parametrize("gz", [False, True])
def test_bulk_folder_to_listings_with_cross_file_references(tmp_path: Path, gz: bool) -> None:
    write_folder(tmp_path / "npd", gz)
    directory = DirectoryConfig(insurer="National Directory", kind="fhir_bulk", url=str(tmp_path / "npd"), role="reference")
    result = bulk_to_landing(directory, CrawlConfig(), str(tmp_path / "landing"), RUN)
    assert (result.listings, result.quarantined) == (2, 1)
    con = connect(tmp_path / "w.duckdb")
    summary = load_landing(con, str(tmp_path / "landing"))
    assert summary.errors == []
    rows = con.execute(
        "SELECT npi, first_name, last_name, practice_name, address, zip, phone, specialty, accepting_status, role, last_updated "
        "FROM listings ORDER BY npi"
    ).fetchall()
    assert [r[0] for r in rows] == ["1234567893", "1245319599"]  # NPIs by URI and by OID
    assert rows[0][:6] == ("1234567893", "Jane", "Smith", "Main Street Family Medicine", "12 Main St Suite 4", "62701-1234")
    assert rows[0][6] == "(217) 555-0100"  # the phone, not the fax
    assert rows[0][7] == "Family Medicine Physician"  # NUCC display for 207Q00000X
    # most specific extension wins: r1 has none (Location says nopt), r2 says newpt itself
    assert [r[8] for r in rows] == ["not_accepting", "accepting"]
    assert {r[9] for r in rows} == {"reference"}
    # meta.lastUpdated of the national directory is an export stamp, not a verification date
    assert rows[0][10] is None
    bad = con.execute('SELECT file, "row", error FROM quarantine').fetchall()
    assert len(bad) == 1 and bad[0][0].endswith("PractitionerRole.ndjson" + (".gz" if gz else "")) and bad[0][1] == 2
    assert "malformed JSON" in bad[0][2]


def test_bulk_export_manifest_served_over_http(tmp_path: Path) -> None:
    write_folder(tmp_path / "files", gz=False)
    routes = {f"/files/{p.name}": (200, {"Content-Type": "application/fhir+ndjson"}, p.read_bytes())
              for p in (tmp_path / "files").iterdir()}
    with serve(routes) as server:
        manifest = {"transactionTime": "2026-11-01T00:00:00Z", "request": server.url("/fhir/$export"),
                    "requiresAccessToken": True,
                    "output": [{"type": p.stem, "url": server.url(f"/files/{p.name}")} for p in (tmp_path / "files").iterdir()]}
        server.routes["/status/123"] = Reply(200, json.dumps(manifest), {"Content-Type": "application/json"})
        directory = DirectoryConfig(insurer="Plan Finder", kind="fhir_bulk", url=server.url("/status/123"),
                                    token_env="GC_TEST_BULK_TOKEN")
        with pytest.raises(BulkSourceError, match="GC_TEST_BULK_TOKEN"):
            bulk_to_landing(directory, CrawlConfig(allow_private_networks=True), str(tmp_path / "landing"), RUN)
        import os

        os.environ["GC_TEST_BULK_TOKEN"] = "s3cret-token"
        try:
            with pytest.raises(Exception, match="non-public address"):
                bulk_to_landing(directory, CrawlConfig(), str(tmp_path / "landing"), RUN)  # SSRF guard by default
            result = bulk_to_landing(directory, CrawlConfig(allow_private_networks=True), str(tmp_path / "landing"), RUN)
        finally:
            del os.environ["GC_TEST_BULK_TOKEN"]
        assert result.listings == 2
        assert all(r.headers.get("Authorization") == "Bearer s3cret-token" for r in server.requests)
    for path in (tmp_path / "landing").rglob("*"):
        if path.is_file() and path.suffix in {".jsonl"}:
            assert "s3cret-token" not in path.read_text()


def test_nppes_reference_marks_deactivated_npis(tmp_path: Path) -> None:
    csv = write_nppes_csv(tmp_path / "npidata.csv", [SMITH, HADDAD_DEACTIVATED])
    directory = DirectoryConfig(insurer="NPPES", kind="nppes", url=str(csv), role="reference")
    assert nppes_to_landing(directory, str(tmp_path / "landing"), RUN).listings == 2
    con = connect(tmp_path / "w.duckdb")
    load_landing(con, str(tmp_path / "landing"))
    rows = con.execute(
        "SELECT npi, provider_name, last_updated::DATE, json_extract(d.raw, '$.deactivated')::BOOLEAN "
        "FROM directory_listings d ORDER BY npi"
    ).fetchall()
    assert rows[0][1] == "JANE SMITH" and str(rows[0][2]) == "2023-07-08" and rows[0][3] is False
    assert rows[1][3] is True


def test_verification_result_is_valid_r4_with_ndh_required_elements() -> None:
    from fhir.resources.R4B.verificationresult import VerificationResult

    finding = {
        "finding_id": "ab12cd34ef56ab78", "finding_type": "phone", "insurer": "Acme Health", "listing_id": "L1",
        "npi": "1234567893", "provider_name": "<script>alert(1)</script>", "field": "phone",
        "directory_value": "217-555-0100", "observed_value": "+12175550111", "evidence_source": "secret_shopper",
        "evidence_url": "file:///reports/calls.csv#row=4", "evidence_text": "Wrong number", "observed_at": "2026-11-20",
        "severity": "high", "confidence": 0.93, "status": "open", "first_seen": "2026-11-20", "last_seen": "2026-11-24",
        "source_key": "PractitionerRole/r1|Location/loc1", "practice_name": "Main Street Family",
    }
    resource = verification_result(finding)
    parsed = VerificationResult.model_validate(resource)  # R4 structure and types
    assert resource["meta"]["profile"] == [NDH_PROFILE]
    for element in ("target", "need", "status", "statusDate", "validationType", "validationProcess"):
        assert resource.get(element), element  # the profile's required (1..) elements
    assert [t["reference"] for t in resource["target"]] == ["PractitionerRole/r1", "Location/loc1"]
    assert parsed.status == "val-fail" and resource["attestation"]["date"] == "2026-11-20"
    qhp = verification_result(dict(finding, source_key="1234567893|0", status="resolved", evidence_source="website"))
    VerificationResult.model_validate(qhp)
    assert qhp["target"][0]["identifier"]["value"] == "L1" and qhp["status"] == "validated"


def test_export_command_writes_ndjson(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    con = connect(db)
    tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    if "findings" not in tables:
        pytest.skip("findings view not migrated yet")
    con.close()
    (tmp_path / "ghostcheck.toml").write_text(f"[warehouse]\npath = '{db}'\n")
    result = subprocess.run([sys.executable, "-m", "flows.cli", "export", "-c", str(tmp_path / "ghostcheck.toml"),
                             "--format", "fhir", "--out", str(tmp_path / "out")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out" / "VerificationResult.ndjson").exists()
