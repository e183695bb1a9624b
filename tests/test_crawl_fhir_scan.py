"""The FHIR spider's fast page path: scanned pages spool exactly what decoded pages spool, odd pages fall back,
and DuckDB staging chunk by chunk (in a worker thread) gives the listings one pass gives (real files in tmp_path)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from test_fhir_sql_parity import BASE, comparable, pages, varied_world

from crawlers.bulk.fhir_bulk import ApiStager, spool_to_landing
from crawlers.parse.fhir import (
    NETWORK_EXT,
    missing_references,
    parse_bundle,
    role_references,
    scan_bundle,
    scanned_missing_references,
    scanned_references,
)
from crawlers.spiders.fhir import ResourceSpool


def odd_but_valid_pages() -> list[bytes]:
    """Bundles in shapes servers send that the scan must treat exactly like the decoder."""
    role = {"resourceType": "PractitionerRole", "id": "r1", "practitioner": {"reference": "Practitioner/p1"},
            "location": [{"reference": "Location/l1"}, {"reference": "#c"}, {"display": "no reference"}],
            "contained": [{"resourceType": "Location", "id": "c", "name": "Inner"}],
            "extension": [{"url": NETWORK_EXT, "valueReference": {"reference": "https://x.example/fhir/Organization/n1/_history/2"}},
                          {"url": "http://other.example", "valueReference": {"reference": "Organization/skip"}}],
            "note": [{"text": "line\u2028sep \"quoted\" naïve"}]}
    tagged = {"resourceType": "PractitionerRole", "id": "r2", "_page": "server's", "_pos": 7,
              "organization": {"reference": "Organization/o1"}}
    first = {"resourceType": "Practitioner", "id": "p1", "name": [{"family": "First"}]}
    last = {"resourceType": "Practitioner", "id": "p1", "name": [{"family": "Last"}]}
    entries = [{"resource": role}, {"resource": first}, {"resource": last}, {"resource": tagged}, {"resource": role},
               {"resource": {"resourceType": "Location", "id": ""}}, {"resource": None}, {"search": {"mode": "match"}},
               {"resource": {"resourceType": "Patient", "id": "pt"}},
               {"resource": {"resourceType": "Location", "id": "l1", "address": {"line": ["1 A St"]}}}]
    pretty = {"resourceType": "Bundle", "type": "searchset", "total": 3, "entry": entries,
              "link": [{"relation": "self", "url": "x"}, {"relation": "next", "url": "PractitionerRole?page=2"}]}
    second = {"resourceType": "Bundle", "entry": [{"resource": {**copy.deepcopy(first), "name": [{"family": "Later"}]}},
                                                  {"resource": {"resourceType": "Organization", "id": "o1", "name": "Org"}}]}
    return [json.dumps(pretty, indent=2, ensure_ascii=False).encode(), json.dumps(second).encode()]


def spool_lines(folder: Path, spool: ResourceSpool) -> dict[str, list[dict]]:
    """Every spooled file's JSON lines by resource type (pages file included, its fetch time dropped)."""
    files = {f.resource_type: f.path for f in spool.close()}
    files["_pages"] = str(Path(str(spool.folder)) / "_pages.ndjson")
    return {kind: [json.loads(line) for line in Path(path).read_text(encoding="utf-8").split("\n") if line]
            for kind, path in sorted(files.items())}


def both_ways(tmp_path: Path, bodies: list[bytes]) -> tuple[dict, dict, list, list]:
    """Spool the bodies decoded (parse_bundle) and scanned; also the missing references each way."""
    decoded, scanned = ResourceSpool(str(tmp_path / "a")), ResourceSpool(str(tmp_path / "b"))
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    missing_a, missing_b = [], []
    for number, body in enumerate(bodies, start=1):
        page = parse_bundle(json.loads(body))
        decoded.add_page(page, f"{BASE}/p{number}", "t", f"s{number}")
        missing_a.append(missing_references(page.roles, lambda key: key in decoded.seen))
        fast = scan_bundle(body)
        assert fast is not None, number
        assert (fast.next_url, fast.total) == (page.next_url, page.total)
        scanned.add_scanned_page(fast, f"{BASE}/p{number}", "t", f"s{number}")
        missing_b.append(scanned_missing_references([role for role, _ in fast.roles], scanned.seen, set()))
        assert [scanned_references(role) for role, _ in fast.roles] == [role_references(role) for role in page.roles]
    return spool_lines(tmp_path / "a", decoded), spool_lines(tmp_path / "b", scanned), missing_a, missing_b


def test_scanned_pages_spool_what_decoded_pages_spool(tmp_path: Path) -> None:
    """Same lines per type (raw text vs re-encoded, same JSON values), same page tags, same missing references."""
    resources, roles = varied_world()
    bodies = [json.dumps(b).encode() for b in pages(resources, roles)] + odd_but_valid_pages()
    decoded, scanned, missing_a, missing_b = both_ways(tmp_path, bodies)
    assert scanned == decoded
    assert missing_b == missing_a
    assert any(missing_a)  # the comparison covers references to fetch
    assert [p["id"] for p in decoded["Practitioner"] if p["id"] == "p1"] == ["p1"]  # spooled once ...
    assert [p["name"] for p in decoded["Practitioner"] if p["id"] == "p1"] == [[{"family": "Last"}]]  # ... last copy of its page
    assert {"b#c", "r1#c"} & {loc["id"] for loc in decoded["Location"]}  # contained resources are spooled too


def test_pretty_printed_pages_become_one_line_per_resource(tmp_path: Path) -> None:
    """Line breaks inside a resource's raw text never split an NDJSON line."""
    body = odd_but_valid_pages()[0]
    assert b"\n" in body
    page = scan_bundle(body)
    assert page is not None and not page.one_line
    spool = ResourceSpool(str(tmp_path))
    spool.add_scanned_page(page, "u", "t", "s")
    for bulk in spool.close():
        for line in Path(bulk.path).read_bytes().split(b"\n")[:-1]:
            assert isinstance(json.loads(line), dict)


@pytest.mark.parametrize("body", [
    b'{"resourceType": "OperationOutcome", "issue": [{"diagnostics": "boom"}]}',
    b'{"resourceType": "Patient", "id": "x"}',
    b'{"resourceType": "Bundle", "type": "searchset"}',
    b'{"resourceType": "Bundle", "total": 0}',
    b'{"resourceType": "Bundle", "entry": {"resource": {}}}',
    b'{"resourceType": "Bundle", "entry": ["not an object"]}',
    b'{"resourceType": "Bundle", "entry": [{"resource": "not an object"}]}',
    b'{"resourceType": "Bundle", "entry": [{"resource": {"resourceType": "PractitionerRole", "id": "r", "location": {"reference": "Location/1"}}}]}',
    b'{"resourceType": "Bundle", "entry": [{"resource": {"resourceType": ["odd"], "id": "r"}}]}',
    b'{"resourceType": "Bundle", "link": {"relation": "next"}, "entry": []}',
    b'{"resourceType": "Bundle", "entry": [',
    b'[1, 2]',
    '{"resourceType": "Bundle", "entry": []}'.encode("utf-16"),
])
def test_pages_off_the_common_shape_are_left_to_the_decoder(body: bytes) -> None:
    """The scan declines anything parse_bundle has to judge (errors, odd shapes), never guesses."""
    assert scan_bundle(body) is None


def landing_rows(result) -> list[dict]:  # type: ignore[no-untyped-def]
    """The landing file's listings, comparable and sorted."""
    return sorted((comparable(r) for r in pq.read_table(str(result.landing_file)).to_pylist()), key=lambda r: r["source_key"])


@pytest.mark.parametrize("background", [False, True])
def test_staging_chunk_by_chunk_gives_the_one_pass_listings(tmp_path: Path, background: bool) -> None:
    """Chunks staged as they close (one per page here, in a worker thread or not) join into the same listings."""
    resources, roles = varied_world()
    bodies = [json.dumps(b).encode() for b in pages(resources, roles)] + odd_but_valid_pages()
    results = []
    for chunked in (False, True):
        folder = tmp_path / f"chunked-{chunked}"
        folder.mkdir()
        spool = ResourceSpool(str(folder))
        stager = ApiStager(str(folder), background=background) if chunked else None
        for number, body in enumerate(bodies, start=1):
            spool.add_scanned_page(scan_bundle(body), f"{BASE}/p{number}", "2026-11-25T00:00:00+00:00", f"s{number}")
            if stager is not None:
                stager.add(spool.roll())
        files = spool.close()
        pages_file = str(Path(str(spool.folder)) / "_pages.ndjson")
        if stager is None:
            result = spool_to_landing(files, pages_file, "Acme Health", str(folder / "landing"), "run1", str(spool.folder))
        else:
            stager.add(files)
            result = stager.finish(pages_file, "Acme Health", str(folder / "landing"), "run1")
        results.append((landing_rows(result), sorted(q["error"] for q in result.invalid_npi)))
    (one_pass, one_invalid), (chunked_rows, chunked_invalid) = results
    assert len(one_pass) >= 10 and one_invalid
    assert chunked_rows == one_pass
    assert chunked_invalid == one_invalid


def test_a_chunk_that_does_not_fit_the_structs_is_read_loosely(tmp_path: Path) -> None:
    """One chunk with a resource of another shape is rolled back and re-read loosely; the other chunks stay typed."""
    good = {"resourceType": "Bundle", "entry": [
        {"resource": {"resourceType": "PractitionerRole", "id": "ok", "practitioner": {"reference": "Practitioner/p1"}}},
        {"resource": {"resourceType": "Practitioner", "id": "p1", "name": [{"family": "Good"}]}}]}
    odd = {"resourceType": "Bundle", "entry": [
        {"resource": {"resourceType": "PractitionerRole", "id": "odd", "practitioner": {"reference": "Practitioner/p2"}}},
        {"resource": {"resourceType": "Practitioner", "id": "p2", "name": {"family": "Object not list"}}}]}
    spool = ResourceSpool(str(tmp_path))
    stager = ApiStager(str(tmp_path), background=True)
    for number, bundle in enumerate([good, odd], start=1):
        page = scan_bundle(json.dumps(bundle).encode())
        spool.add_scanned_page(page, f"{BASE}/p{number}", "2026-11-25T00:00:00+00:00", f"s{number}")
        stager.add(spool.roll())
    stager.add(spool.close())
    result = stager.finish(str(Path(str(spool.folder)) / "_pages.ndjson"), "Acme", str(tmp_path / "landing"), "run1")
    rows = {r["source_key"]: r for r in pq.read_table(str(result.landing_file)).to_pylist()}
    assert set(rows) == {"PractitionerRole/ok", "PractitionerRole/odd"}
    assert rows["PractitionerRole/ok"]["last_name"] == "Good"
    assert rows["PractitionerRole/odd"]["last_name"] == "Object not list"  # the loose reader lists a lone object
    assert [Path(p).name for p in stager.rejected] == ["Practitioner.1.ndjson"]  # only the odd chunk's file


def test_a_crawl_mixing_scanned_and_decoded_pages_spools_as_one_decoded(tmp_path: Path) -> None:
    """A page the scan declines (a location given as an object) is decoded; later pages are scanned again."""
    odd = {"resourceType": "Bundle", "entry": [
        {"resource": {"resourceType": "PractitionerRole", "id": "odd", "location": {"reference": "Location/l1"},
                      "practitioner": {"reference": "Practitioner/p1"}}},
        {"resource": {"resourceType": "Practitioner", "id": "p1", "name": [{"family": "Odd"}]}}]}
    resources, roles = varied_world()
    bodies = [json.dumps(odd).encode()] + [json.dumps(b).encode() for b in pages(resources, roles)]
    decoded, mixed = ResourceSpool(str(tmp_path / "a")), ResourceSpool(str(tmp_path / "b"))
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    for number, body in enumerate(bodies, start=1):
        decoded.add_page(parse_bundle(json.loads(body)), f"{BASE}/p{number}", "t", f"s{number}")
        fast = scan_bundle(body)
        assert (fast is None) == (number == 1)
        if fast is None:
            mixed.add_page(parse_bundle(json.loads(body)), f"{BASE}/p{number}", "t", f"s{number}")
        else:
            mixed.add_scanned_page(fast, f"{BASE}/p{number}", "t", f"s{number}")
    assert spool_lines(tmp_path / "b", mixed) == spool_lines(tmp_path / "a", decoded)


def test_the_join_memory_cap_changes_no_listing(tmp_path: Path) -> None:
    """The close's own DuckDB cap (raised for speed, kept at the paging cap, or lower) gives the same rows."""
    resources, roles = varied_world()
    bodies = [json.dumps(b).encode() for b in pages(resources, roles)] + odd_but_valid_pages()
    results = []
    for cap in (None, "640MB", "128MB"):
        folder = tmp_path / f"cap-{cap}"
        folder.mkdir()
        spool = ResourceSpool(str(folder))
        for number, body in enumerate(bodies, start=1):
            spool.add_scanned_page(scan_bundle(body), f"{BASE}/p{number}", "2026-11-25T00:00:00+00:00", f"s{number}")
        files = spool.close()
        result = spool_to_landing(files, str(Path(str(spool.folder)) / "_pages.ndjson"), "Acme Health",
                                  str(folder / "landing"), "run1", str(spool.folder), join_memory_limit=cap)
        results.append((landing_rows(result), sorted(q["error"] for q in result.invalid_npi)))
    assert len(results[0][0]) >= 10 and results[0][1]
    assert results[1] == results[0]
    assert results[2] == results[0]
