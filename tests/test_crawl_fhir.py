"""fhir_directory spider: real HTTP server on 127.0.0.1, real child process via crawlers.runner, landing files read back."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pyarrow.parquet as pq
import pytest
from httpserver import Reply, Request, json_reply, serve

from crawlers.parse.fhir import BundleError, newpatients, parse_bundle, ref_key
from crawlers.runner import run_spider
from crawlers.spiders import parse_retry_after
from reconcile.normalize.specialty import lookup_specialty

FIXTURE = Path(__file__).parent / "fixtures" / "directories" / "plannet_world.json"
TOKEN = "s3cret-token-XYZ-0123456789"
INSURER = "Acme Health"


def load_world(base: str) -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]]]:
    """Resources by Type/id and the PractitionerRoles of the Plan-Net-shaped fixture (base URL filled in)."""
    world = json.loads(FIXTURE.read_text().replace("__BASE__", base))
    resources = {f"{r['resourceType']}/{r['id']}": r for r in world["resources"]}
    return resources, world["roles"]


def bundle(resources: list[dict[str, Any]], next_url: str | None = None, roles: int | None = None) -> dict[str, Any]:
    """A searchset Bundle with `match` roles and `include` others, like a Plan-Net server returns."""
    entries = [{"fullUrl": f"{r['resourceType']}/{r['id']}", "resource": r,
                "search": {"mode": "match" if r["resourceType"] == "PractitionerRole" else "include"}}
               for r in resources]
    data: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset", "entry": entries,
                            "link": [{"relation": "self", "url": "x"}]}
    if next_url:
        data["link"].append({"relation": "next", "url": next_url})
    return data


class PlanNetServer:
    """Serves the fixture world as a paged Plan-Net API: page 1 (relative next), page 2 (absolute next), page 3."""

    def __init__(self, overrides: dict[str, list[Reply]] | None = None, token: str | None = TOKEN) -> None:
        """`overrides` maps a page name (page1/page2/page3) or a resource type to replies served before the real one."""
        self.overrides = {k: list(v) for k, v in (overrides or {}).items()}
        self.token = token
        self.server = serve(self.handle)
        self.base = self.server.url("/fhir")
        self.resources, self.roles = load_world(self.base)

    def page(self, name: str) -> dict[str, Any]:
        """The Bundle of one search page: some references included, others deliberately not."""
        r, roles = self.resources, self.roles
        if name == "page1":  # includes Hans' practitioner/location/org; not Anna's, not the networks
            return bundle([roles[0], roles[1], r["Practitioner/HansSolo"], r["Location/HospLoc1"],
                           r["Organization/Hospital"]], next_url="PractitionerRole?_getpages=abc&_page=2")
        if name == "page2":  # service included, practitioner and absolute-URL location not
            return bundle([roles[2], r["HealthcareService/BrightPeds"]],
                          next_url=f"{self.base}/PractitionerRole?_getpages=abc&_page=3")
        return bundle([roles[3], roles[4]])

    def handle(self, request: Request) -> Reply:
        """Route a request: auth check, search pages, `_id` batch reads."""
        if request.path == "/robots.txt":
            return Reply(200, "User-agent: *\nDisallow: /private\n")
        if self.token and request.headers.get("Authorization") != f"Bearer {self.token}":
            return json_reply({"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "login"}]}, 401)
        query = parse_qs(request.query)
        kind = request.path.removeprefix("/fhir/")
        if kind.count("/") == 1:  # a read by id (`Type/id`)
            if kind in self.resources:
                return json_reply(self.resources[kind])
            return json_reply({"resourceType": "OperationOutcome", "issue": [{"code": "not-found"}]}, 404)
        name = kind
        if kind == "PractitionerRole":
            name = f"page{query.get('_page', ['1'])[0]}"
        if self.overrides.get(name):
            return self.overrides[name].pop(0)
        if kind == "PractitionerRole":
            return json_reply(self.page(name))
        ids = query.get("_id", [""])[0].split(",")
        return json_reply(bundle([self.resources[f"{kind}/{i}"] for i in ids if f"{kind}/{i}" in self.resources]))


def write_config(tmp_path: Path, url: str, token_env: str | None = "ACME_TOKEN") -> Path:
    """A ghostcheck.toml allowing loopback targets, with one FHIR directory."""
    token = f'token_env = "{token_env}"\n' if token_env else ""
    path = tmp_path / "ghostcheck.toml"
    path.write_text(
        f'[warehouse]\nlanding = "landing"\n\n[crawl]\nallow_private_networks = true\nautothrottle = false\n'
        f'timeout_seconds = 10\n\n[[directory]]\ninsurer = "{INSURER}"\nkind = "fhir"\nurl = "{url}"\n{token}page_size = 2\n'
    )
    return path


def read_landing(tmp_path: Path, kind: str) -> list[dict[str, Any]]:
    """Every record of one landing kind (JSON Lines, or Parquet as the FHIR listings are written)."""
    files = sorted((tmp_path / "landing" / kind).rglob("*.jsonl"))
    records = [json.loads(line) for f in files for line in f.read_text().splitlines() if line.strip()]
    for path in sorted((tmp_path / "landing" / kind).rglob("*.parquet")):
        for row in pq.read_table(path).to_pylist():
            records.append({k: json.loads(v) if k in ("raw", "plans") and isinstance(v, str) else v for k, v in row.items()})
    return records


def all_landing_text(tmp_path: Path) -> str:
    """The concatenated bytes of every landing file (for secret checks), decoded leniently."""
    return "".join(p.read_bytes().decode("utf-8", "replace") for p in (tmp_path / "landing").rglob("*") if p.is_file())


def crawl(tmp_path: Path, config: Path, progress: list[dict[str, Any]] | None = None):  # type: ignore[no-untyped-def]
    """Run the fhir_directory spider through the child-process runner."""
    return run_spider("fhir_directory", str(config), "run1", {"insurer": INSURER},
                      on_progress=progress.append if progress is not None else None, timeout=90)


def test_full_crawl_pages_includes_batches_and_extensions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Three pages (relative and absolute next), included and fetched references, contained, extensions."""
    monkeypatch.setenv("ACME_TOKEN", TOKEN)
    api = PlanNetServer()
    progress: list[dict[str, Any]] = []
    with api.server:
        result = crawl(tmp_path, write_config(tmp_path, api.base), progress)
    assert result.status == "ok", (result.reason, result.log_tail)
    assert result.pages == 3 and result.items == 5
    assert progress and progress[-1]["items"] == 5
    listings = {row["source_key"]: row for row in read_landing(tmp_path, "listings")}
    assert len(listings) == 5
    hans = listings["PractitionerRole/HansSoloRole1|Location/HospLoc1"]
    expected_id = hashlib.sha1(f"{INSURER}|fhir|PractitionerRole/HansSoloRole1|Location/HospLoc1".encode()).hexdigest()[:16]
    assert hans["listing_id"] == expected_id
    assert (hans["npi"], hans["first_name"], hans["middle_name"], hans["last_name"], hans["credentials"]) == (
        "1234567893", "Hans", "Leia", "Solo", "MD")
    assert hans["phone"] == "(111)-222-3300"  # role telecom wins over location/practitioner
    assert hans["website"] == "https://www.hartfordortho.com"
    assert hans["address"] == "123 Main Street Suite 100" and hans["zip"] == "00014-1234"
    assert hans["practice_name"] == "Hartford General Hospital"
    assert hans["networks"] == ["ACME CT Standard Network"]  # network Organization fetched by _id, resolved to name
    assert (hans["accepting_status"], hans["accepting_raw"]) == ("accepting", "newpt")
    assert (hans["specialty_code"], hans["specialty"]) == ("207X00000X", "Orthopaedic Surgery")
    assert hans["last_updated"] == "2026-10-01T00:00:00Z"
    assert hans["source_url"].startswith(api.base + "/PractitionerRole?") and len(hans["payload_sha256"]) == 64
    anna = listings["PractitionerRole/AnnaLopezRole|Location/OfficeLoc2"]
    assert anna["last_name"] == "Lopez" and anna["city"] == "Springfield"  # both fetched, not included
    assert anna["accepting_status"] == "not_accepting"  # NDH extension on the Location only
    assert anna["phone"] == "217-555-0100"  # the fax listed first is skipped
    assert anna["networks"] == ["ACME CT Premium Network"]
    assert anna["specialty_code"] == "207Q00000X"  # no display published: looked up from the NUCC code
    assert anna["specialty"] and anna["specialty"] == lookup_specialty("207Q00000X").display
    clinic = listings["PractitionerRole/BrightRole|Location/ClinicLoc3"]  # absolute-URL reference
    assert clinic["city"] == "Boston" and clinic["accepting_status"] == "existing_only"
    assert "fromNetwork Organization/AcmeofCTPremNet" in clinic["accepting_raw"]
    hosp = listings["PractitionerRole/BrightRole|Location/HospLoc1"]  # the service is not offered here
    assert hosp["accepting_status"] == "unknown" and hosp["phone"] == "(111)-222-3333"
    carla = listings["PractitionerRole/ContainedRole"]
    assert carla["provider_name"] == "Carla Contained" and carla["address"] is None
    assert carla["accepting_status"] == "existing_only"
    targets = [r.target for r in api.server.requests]
    batch = [t for t in targets if "_id=" in t]
    assert any(t.startswith("/fhir/Practitioner?") and "AnnaLopez" in t for t in batch)
    assert any(t.startswith("/fhir/Location?") and "ClinicLoc3" in t for t in batch)
    assert not any("HansSolo" in t or "HospLoc1" in t for t in batch)  # included ones are not re-fetched
    quarantine = read_landing(tmp_path, "quarantine")
    assert [q["error"] for q in quarantine if "invalid NPI" in q["error"]] and all(q["file"] for q in quarantine)
    sources = read_landing(tmp_path, "sources")
    assert sources == [dict(sources[0], source=INSURER, kind="fhir", status="ok", reason=None, items=5, pages=3)]
    assert TOKEN not in all_landing_text(tmp_path) and TOKEN not in "\n".join(result.log_tail)


def test_missing_token_env_fails_without_request(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """token_env set but the variable is absent: a clear failure and no request at all."""
    monkeypatch.delenv("ACME_TOKEN", raising=False)
    api = PlanNetServer()
    with api.server:
        result = crawl(tmp_path, write_config(tmp_path, api.base))
    assert result.status == "failed" and "ACME_TOKEN" in result.reason and "not set" in result.reason
    assert api.server.requests == []
    assert read_landing(tmp_path, "sources")[0]["status"] == "failed"


def test_wrong_token_is_one_clear_401(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A rejected token gives one failed-source reason naming HTTP 401 and the env var; the token is never written."""
    monkeypatch.setenv("ACME_TOKEN", "wrong-" + TOKEN)
    api = PlanNetServer()
    with api.server:
        result = crawl(tmp_path, write_config(tmp_path, api.base))
    assert result.status == "failed" and "401" in result.reason and "ACME_TOKEN" in result.reason
    assert len([r for r in api.server.requests if r.path.startswith("/fhir")]) == 1  # no retries of a 401
    assert read_landing(tmp_path, "listings") == []
    text = all_landing_text(tmp_path) + "\n".join(result.log_tail) + (result.reason or "")
    assert "wrong-" + TOKEN not in text


def test_retry_after_429_and_500_then_success(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """429 with Retry-After: 1 is waited out; a 500 on a batch read is retried; the crawl ends ok."""
    monkeypatch.setenv("ACME_TOKEN", TOKEN)
    api = PlanNetServer({"page1": [Reply(429, "slow down", {"Retry-After": "1"})],
                         "Practitioner": [Reply(500, "boom")]})
    with api.server:
        result = crawl(tmp_path, write_config(tmp_path, api.base))
    assert result.status == "ok", result.reason
    first = [r for r in api.server.requests if r.path == "/fhir/PractitionerRole" and "_page" not in r.query]
    assert len(first) == 2 and first[1].at - first[0].at >= 0.95
    assert len([r for r in api.server.requests if r.path == "/fhir/Practitioner"]) >= 2
    assert len(read_landing(tmp_path, "listings")) == 5


def test_malformed_json_and_bad_bundles_are_quarantined(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Page 2 is broken JSON and a batch read returns a Patient: quarantine with URLs, page-1 listings kept."""
    monkeypatch.setenv("ACME_TOKEN", TOKEN)
    api = PlanNetServer({"page2": [Reply(200, '{"resourceType": "Bundle", "entry": [', {"Content-Type": "application/fhir+json"})],
                         "Organization": [json_reply({"resourceType": "Patient", "id": "x"})]})
    with api.server:
        result = crawl(tmp_path, write_config(tmp_path, api.base))
    quarantine = read_landing(tmp_path, "quarantine")
    malformed = [q for q in quarantine if q["error"].startswith("malformed JSON")]
    assert malformed and "_page=2" in malformed[0]["file"] and malformed[0]["raw_text"].startswith('{"resourceType"')
    assert any("expected resourceType Bundle, got 'Patient'" in q["error"] and "/fhir/Organization" in q["file"]
               for q in quarantine)
    listings = read_landing(tmp_path, "listings")
    assert {row["last_name"] for row in listings} == {"Solo", "Lopez"}
    assert listings[0]["networks"] == [] or "Organization/" in listings[0]["networks"][0]  # unresolved network kept as ref
    assert result.pages == 2  # page 3 is unreachable: the directory is incomplete, so the source failed
    assert result.status == "failed" and result.reason.startswith("paging stopped:") and "_page=2" in result.reason


def test_parse_helpers() -> None:
    """Pure parts: references, Retry-After forms, Bundles without entry, newpatients with fromNetwork only."""
    assert ref_key("https://x.org/fhir/Location/9/_history/2") == "Location/9" and ref_key("#p1") is None
    assert parse_retry_after("7") == 7.0 and parse_retry_after("garbage") is None
    assert 9 < parse_retry_after("Wed, 25 Nov 2026 00:00:10 GMT", now=1795564800.0) <= 10
    with pytest.raises(BundleError, match="no entry"):
        parse_bundle({"resourceType": "Bundle", "type": "searchset"})
    assert parse_bundle({"resourceType": "Bundle", "total": 0}).roles == []
    scoped = {"extension": [{"url": "http://hl7.org/fhir/us/ndh/StructureDefinition/base-ext-newpatients",
                             "extension": [{"url": "acceptingPatients", "valueCodeableConcept": {"coding": [{"code": "nopt"}]}},
                                           {"url": "fromNetwork", "valueReference": {"reference": "Organization/n1"}}]}]}
    assert newpatients(scoped) == ("not_accepting", "nopt (fromNetwork Organization/n1)")


def test_landing_files_load_into_the_warehouse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The spider's landing files are accepted by warehouse.load.load_landing: listings and the source row land."""
    from warehouse.db import connect
    from warehouse.load import load_landing

    monkeypatch.setenv("ACME_TOKEN", TOKEN)
    api = PlanNetServer()
    with api.server:
        result = crawl(tmp_path, write_config(tmp_path, api.base))
    assert result.status == "ok"
    con = connect(str(tmp_path / "w.duckdb"))
    summary = load_landing(con, str(tmp_path / "landing"))
    assert not summary.errors, summary.errors
    rows = con.execute("SELECT npi, accepting_status, networks FROM listings ORDER BY listing_id").fetchall()
    assert len(rows) == 5 and ("1245319599", "not_accepting", ["ACME CT Premium Network"]) in rows


def test_runner_timeout_stops_the_child(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A server that never answers: run_spider's timeout kills the child and reports it as the reason."""
    import threading

    monkeypatch.setenv("ACME_TOKEN", TOKEN)
    release = threading.Event()

    def hang(request: Request) -> Reply:
        """Hold every request until the test is over."""
        release.wait(60)
        return Reply(503, "late")

    with serve(hang) as server:
        try:
            result = run_spider("fhir_directory", str(write_config(tmp_path, server.url("/fhir"))), "run1",
                                {"insurer": INSURER}, timeout=4)
        finally:
            release.set()
    assert result.status == "failed" and result.reason == "timed out after 4s"


def test_ssrf_guard_and_robots_refuse_before_any_api_request(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Loopback is refused unless allowed; with it allowed, a robots.txt Disallow stops the crawl. Both are failed sources."""
    monkeypatch.setenv("ACME_TOKEN", TOKEN)
    api = PlanNetServer()
    with api.server:
        config = write_config(tmp_path, api.base)
        config.write_text(config.read_text().replace("allow_private_networks = true", "allow_private_networks = false"))
        blocked = crawl(tmp_path, config)
        assert api.server.requests == []  # not even robots.txt
        robots = api.server.routes
        api.server.routes = lambda r: Reply(200, "User-agent: *\nDisallow: /fhir/\n") if r.path == "/robots.txt" else robots(r)
        config.write_text(config.read_text().replace("allow_private_networks = false", "allow_private_networks = true"))
        disallowed = crawl(tmp_path, config)
    assert blocked.status == "failed" and "refused non-public address 127.0.0.1" in blocked.reason
    assert disallowed.status == "failed" and "robots.txt" in disallowed.reason
    assert [r.path for r in api.server.requests] == ["/robots.txt"]


def _crawl_refusing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, refuse: Any,
                    extra: str = "") -> tuple[Any, list[str]]:
    """Crawl a server answering 400 (OperationOutcome) to role searches whose query `refuse` rejects (`extra`:
    lines added to the directory's config); return the result and the queries of the first-page searches sent."""
    monkeypatch.setenv("ACME_TOKEN", TOKEN)
    api = PlanNetServer()
    full = api.handle

    def strict(request: Request) -> Reply:
        """Reject what `refuse` says, like servers that do not support it."""
        if request.path == "/fhir/PractitionerRole" and refuse(request.query):
            return json_reply({"resourceType": "OperationOutcome", "issue": [{"code": "not-supported"}]}, 400)
        return full(request)

    api.server.routes = strict
    with api.server:
        config = write_config(tmp_path, api.base)
        config.write_text(config.read_text() + extra)
        result = crawl(tmp_path, config)
    return result, [r.query for r in api.server.requests if r.path == "/fhir/PractitionerRole" and "_page" not in r.query]


def test_server_rejecting_an_include_is_retried_with_fewer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """HTTP 400 for `_include=PractitionerRole:service`: the search is retried with fewer includes; all listings land."""
    result, searches = _crawl_refusing(tmp_path, monkeypatch, lambda query: "PractitionerRole:service" in query)
    assert result.status == "ok", result.reason
    assert result.items == 5
    assert len(searches) == 2 and "PractitionerRole:service" in searches[0]
    assert "PractitionerRole:service" not in searches[1] and "_include=PractitionerRole:practitioner" in searches[1]


def test_retried_searches_do_not_count_against_max_pages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`max_pages = 2` with the first search retried: two result pages are still read."""
    result, searches = _crawl_refusing(tmp_path, monkeypatch, lambda query: "PractitionerRole:service" in query,
                                       "max_pages = 2\n")
    assert result.status == "ok", result.reason
    assert len(searches) == 2 and result.pages == 2


def test_chunks_staged_while_paging_give_the_same_landing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """One spool chunk per page (DuckDB staging each in its worker thread during the crawl) lands what one chunk lands."""
    monkeypatch.setenv("ACME_TOKEN", TOKEN)
    landed = []
    for chunk_pages in ("1", "1000"):
        folder = tmp_path / f"chunk-{chunk_pages}"
        folder.mkdir()
        api = PlanNetServer()
        with api.server:
            result = run_spider("fhir_directory", str(write_config(folder, api.base)), "run1",
                                {"insurer": INSURER, "chunk_pages": chunk_pages}, timeout=90)
        assert result.status == "ok", (result.reason, result.log_tail)
        rows = sorted(({k: (v.replace(api.base, "BASE") if isinstance(v, str) else v) for k, v in r.items()
                        if k not in ("fetched_at", "payload_sha256")} for r in read_landing(folder, "listings")),
                      key=lambda r: r["source_key"])  # each run has its own server port (and so page bytes)
        quarantined = sorted(q["error"].replace(api.base, "BASE") for q in read_landing(folder, "quarantine"))
        landed.append((rows, quarantined, result.items))
    assert landed[0][2] == 5 and len(landed[0][0]) == 5
    assert landed[0] == landed[1]


def _batch_ids(request: Request) -> list[str]:
    """The ids of an `_id` search request."""
    return [i for i in parse_qs(request.query).get("_id", [""])[0].split(",") if i]


def test_id_batches_paged_by_the_server_are_followed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A server answering `_id` searches one resource a page (the rest in a `next` link): every page is followed;
    a resource no page returns is read by id, and one that does not exist is quarantined as a dangling reference."""
    monkeypatch.setenv("ACME_TOKEN", TOKEN)
    api = PlanNetServer()
    full = api.handle
    gone = "Organization/AcmeofCTPremNet"  # cited by Anna's role, never served

    def capped(request: Request) -> Reply:
        """Reads by id from the world; `_id` searches one id a page."""
        key = request.path.removeprefix("/fhir/")
        if key.count("/") == 1:
            if key in api.resources and key != gone:
                return json_reply(api.resources[key])
            return json_reply({"resourceType": "OperationOutcome", "issue": [{"code": "not-found"}]}, 404)
        ids = _batch_ids(request)
        if key == "PractitionerRole" or not ids:
            return full(request)
        first = f"{key}/{ids[0]}"
        found = [api.resources[first]] if first in api.resources and first != gone else []
        return json_reply(bundle(found, next_url=f"{key}?_id={','.join(ids[1:])}&_p=2" if ids[1:] else None))

    api.server.routes = capped
    with api.server:
        result = crawl(tmp_path, write_config(tmp_path, api.base))
    assert result.status == "ok", result.reason
    listings = {row["source_key"]: row for row in read_landing(tmp_path, "listings")}
    assert len(listings) == 5
    hans = listings["PractitionerRole/HansSoloRole1|Location/HospLoc1"]
    assert hans["networks"] == ["ACME CT Standard Network"]
    assert [r.query for r in api.server.requests if "_p=2" in r.query] == ["_id=AcmeofCTPremNet&_p=2"]
    reads = [r.path for r in api.server.requests if r.path.startswith("/fhir/") and r.path.count("/") == 3]
    assert reads == [f"/fhir/{gone}"]  # only the resource no batch page returned is read by id
    quarantine = [q["error"] for q in read_landing(tmp_path, "quarantine")]
    assert any(e.startswith(f"referenced resource not found: {gone}: ") for e in quarantine), quarantine


def test_servers_without_id_lists_get_one_read_per_resource(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A server answering 400 to a comma-separated `_id`: each missing resource is read as `Type/id` instead."""
    monkeypatch.setenv("ACME_TOKEN", TOKEN)
    api = PlanNetServer()
    full = api.handle

    def strict(request: Request) -> Reply:
        """400 for an `_id` list."""
        if len(_batch_ids(request)) > 1:
            return json_reply({"resourceType": "OperationOutcome", "issue": [{"code": "not-supported"}]}, 400)
        return full(request)

    api.server.routes = strict
    with api.server:
        result = crawl(tmp_path, write_config(tmp_path, api.base))
    assert result.status == "ok", result.reason
    listings = {row["source_key"]: row for row in read_landing(tmp_path, "listings")}
    anna = listings["PractitionerRole/AnnaLopezRole|Location/OfficeLoc2"]
    assert anna["last_name"] == "Lopez" and anna["networks"] == ["ACME CT Premium Network"]
    reads = {r.path for r in api.server.requests if r.path.startswith("/fhir/") and r.path.count("/") == 3}
    assert reads == {"/fhir/Organization/AcmeofCTStdNet", "/fhir/Organization/AcmeofCTPremNet"}  # the rejected list
    assert listings["PractitionerRole/HansSoloRole1|Location/HospLoc1"]["networks"] == ["ACME CT Standard Network"]
    assert not [q for q in read_landing(tmp_path, "quarantine") if "referenced" in q["error"]]


def test_server_refusing_the_page_size_is_searched_without_count(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """HTTP 400 for a `_count` above the server's maximum: after the fewer-includes retry also fails, the search is
    sent without `_count` (the server's own page size) and every listing lands."""
    result, searches = _crawl_refusing(
        tmp_path, monkeypatch, lambda query: int(parse_qs(query).get("_count", ["0"])[0]) > 1)
    assert result.status == "ok", result.reason
    assert result.items == 5
    assert len(searches) == 3 and "_count=2" in searches[0] and "_count=2" in searches[1]
    assert "_count" not in searches[2] and "_include=PractitionerRole:location" in searches[2]


@pytest.mark.parametrize("written", ["http://localhost:{port}/fhir/PractitionerRole?_getpages=abc&_page=2",
                                     "https://127.0.0.1:{port}/fhir/PractitionerRole?_getpages=abc&_page=2"])
def test_next_links_with_the_servers_internal_address_are_followed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                    written: str) -> None:
    """A `next` link a server behind a proxy writes with its internal host name (no token would be sent there) or
    with https for an http API on the same host is fetched at the API's own origin: all three pages land."""
    monkeypatch.setenv("ACME_TOKEN", TOKEN)
    api = PlanNetServer()
    page = api.page

    def internal(name: str) -> dict[str, Any]:
        """Page 1 with the internal-address `next` link."""
        data = page(name)
        if name == "page1":
            data["link"][-1]["url"] = written.format(port=api.server.port)
        return data

    api.page = internal  # type: ignore[method-assign]
    with api.server:
        result = crawl(tmp_path, write_config(tmp_path, api.base))
    assert result.status == "ok", result.reason
    assert result.pages == 3 and result.items == 5


@pytest.mark.parametrize(("written", "expected"), [
    ("PractitionerRole?_page=2", "https://api.payer.org/r4/PractitionerRole?_page=2"),  # relative: the page's origin
    ("http://localhost:8080/r4?_getpages=x", "https://api.payer.org/r4?_getpages=x"),  # internal name: our origin
    ("http://fhir-server/r4?_getpages=x", "https://api.payer.org/r4?_getpages=x"),
    ("http://10.0.0.7:8080/r4?_getpages=x", "https://api.payer.org/r4?_getpages=x"),
    ("http://hapi:8080/fhir?_getpages=x", "https://api.payer.org/r4?_getpages=x"),  # the internal base path too
    ("http://localhost:8080/fhir/PractitionerRole?p=2", "https://api.payer.org/r4/PractitionerRole?p=2"),
    ("http://api.payer.org/r4?_getpages=x", "https://api.payer.org/r4?_getpages=x"),  # same host, http
    ("https://cdn.payer-pages.com/r4?p=2", "https://cdn.payer-pages.com/r4?p=2"),  # another public host: as written
])
def test_paging_url(written: str, expected: str) -> None:
    """`next` links are absolute against their page; internal addresses are moved to the API's origin."""
    from crawlers.spiders.fhir import paging_url

    base = "https://api.payer.org/r4"
    assert paging_url(written, f"{base}/PractitionerRole?_count=50", base) == expected


def test_an_html_page_instead_of_a_bundle_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A consent page served with HTTP 200 for the first search: the failed source says it got an HTML page."""
    monkeypatch.setenv("ACME_TOKEN", TOKEN)
    page = Reply(200, "<html><body><h1>Accept our terms</h1></body></html>", {"Content-Type": "text/html"})
    api = PlanNetServer(overrides={"page1": [page]})
    with api.server:
        result = crawl(tmp_path, write_config(tmp_path, api.base))
    assert result.status == "failed" and "\n" not in result.reason
    assert "malformed JSON" in result.reason and "an HTML page, not JSON" in result.reason


def test_an_api_that_moved_is_followed_through_its_redirects(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every request to the configured base answers 301 to where the API now lives (the token goes along on the
    same origin): all pages and batches arrive, as without the redirect."""
    monkeypatch.setenv("ACME_TOKEN", TOKEN)
    api = PlanNetServer()
    full = api.handle

    def moved(request: Request) -> Reply:
        """301 from /v1/... to /fhir/..."""
        if request.path.startswith("/v1/"):
            target = "/fhir/" + request.path.removeprefix("/v1/") + (f"?{request.query}" if request.query else "")
            return Reply(301, "", {"Location": target})
        return full(request)

    api.server.routes = moved
    with api.server:
        result = crawl(tmp_path, write_config(tmp_path, api.server.url("/v1")))
    assert result.status == "ok", result.reason
    assert result.pages == 3 and result.items == 5
    assert any(r.path.startswith("/v1/Practitioner") for r in api.server.requests)  # batches asked at the old base


def test_a_server_ignoring_id_is_not_paged_through(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A server that ignores `_id` and pages its whole (here endless) Organization collection: the batch stops
    after a page bringing none of its ids, and the networks are read by id instead."""
    monkeypatch.setenv("ACME_TOKEN", TOKEN)
    api = PlanNetServer()
    full = api.handle

    def lenient(request: Request) -> Reply:
        """Organization searches: some other organization per page, forever."""
        if request.path == "/fhir/Organization":
            n = int(parse_qs(request.query).get("_p", ["1"])[0])
            other = {"resourceType": "Organization", "id": f"Other{n}", "name": f"Other {n}"}
            return json_reply(bundle([other], next_url=f"Organization?_p={n + 1}"))
        return full(request)

    api.server.routes = lenient
    with api.server:
        result = crawl(tmp_path, write_config(tmp_path, api.base))
    assert result.status == "ok", result.reason
    searched = [r for r in api.server.requests if r.path == "/fhir/Organization"]
    assert len(searched) == 1  # the batch, not its endless next pages
    listings = {row["source_key"]: row for row in read_landing(tmp_path, "listings")}
    assert listings["PractitionerRole/HansSoloRole1|Location/HospLoc1"]["networks"] == ["ACME CT Standard Network"]
