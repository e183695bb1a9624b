"""The demo world: deterministic, rule-abiding truth, and servers that behave as specified (all on 127.0.0.1)."""

from __future__ import annotations

import csv
import json
import os
import re
import urllib.error
import urllib.request
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import pytest

from crawlers.config import load_config
from crawlers.sites.seeds import read_sites_csv
from flows.demo.config import REPORT_COLUMNS, TOKEN_ENV, write_demo_files
from flows.demo.servers import serve_world
from flows.demo.truth import takes
from flows.demo.world import World, build_world
from reconcile.normalize.npi import is_valid_npi

AS_OF = date(2026, 11, 25)
FINDING_TYPES = ("accepting_status", "phone", "address", "provider_not_at_location", "insurer_not_accepted",
                 "stale_listing", "cross_directory_conflict", "unreachable")
CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module")
def world() -> World:
    """The default demo world at a fixed as-of date."""
    return build_world(seed=7, as_of=AS_OF)


@pytest.fixture(scope="module")
def running(world: World):
    """The demo world served on loopback for the module."""
    with serve_world(world) as running:
        yield running


def _get(url: str, token: str | None = None) -> tuple[int, dict[str, str], bytes]:
    """GET a URL; return status, headers and body (HTTP errors included, not raised)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def test_same_seed_same_world_other_seed_other_world() -> None:
    """The world is a pure function of (seed, size, as_of)."""
    a, b = build_world(seed=7, as_of=AS_OF), build_world(seed=7, as_of=AS_OF)
    assert a.truth == b.truth and a.pages == b.pages and a.reports == b.reports and a.listings == b.listings
    other = build_world(seed=8, as_of=AS_OF)
    assert {x.npi for x in other.listings} != {x.npi for x in a.listings}


def test_synthetic_identities_are_valid_and_fictional(world: World) -> None:
    """NPIs pass the Luhn-80840 check; every phone is in the NANP fictional 555-01XX range; names are unique."""
    npis = {x.npi for x in world.listings}
    assert npis and all(is_valid_npi(n) for n in npis)
    phones = {x.phone for x in world.listings} | {loc.fax for p in world.practices for loc in p.locations}
    assert all(re.fullmatch(r"\d{3}55501\d\d", p) for p in phones)
    people = [(p.first, p.last) for pr in world.practices for p in pr.providers + pr.extra_providers]
    assert len(people) == len(set(people))


def test_truth_covers_every_finding_type_with_enough_cases(world: World) -> None:
    """At least five expected findings per type, most listings clean, and near misses of every formatting kind."""
    per_type = Counter(t.finding_type for t in world.truth)
    assert all(per_type[kind] >= 5 for kind in FINDING_TYPES), per_type
    flagged = {(t.insurer, t.npi, t.address_line) for t in world.truth}
    assert len(flagged) < 0.5 * len(world.listings)
    kinds = Counter(k for n in world.near_misses for k in n.kinds)
    for kind in ("phone_punctuation", "street_long", "upper_case", "zip_plus4", "middle_initial", "last_first",
                 "credentials", "nickname"):
        assert kinds[kind] >= 1, kind
    assert {t.insurer for t in world.truth} == set(world.insurers)


def test_truth_follows_the_rules_on_planted_errors(world: World) -> None:
    """Each planted directory error is in the truth; a stale listing is only stale; waitlist vs no is no finding."""
    kinds: dict[tuple[str, str, str], set[str]] = {}
    for t in world.truth:
        kinds.setdefault((t.insurer, t.npi, t.address_line), set()).add(t.finding_type)
    for listing in world.listings:
        key = (listing.insurer, listing.npi, listing.address_line)
        if "stale" in listing.mutations:
            assert kinds[key] == {"stale_listing"}
            assert (AS_OF - listing.last_updated).days > 90
        if {"phone_fax", "phone_billing", "phone_old", "phone_other_practice", "phone_former"} & set(listing.mutations):
            assert "phone" in kinds[key]
            others = [x for x in world.listings if x.npi == listing.npi and x is not listing]
            if others and all(o.phone != listing.phone for o in others):
                assert "cross_directory_conflict" in kinds[key]
        if {"address_elsewhere", "address_moved"} & set(listing.mutations):
            assert "address" in kinds[key]
        if not listing.mutations and "stale_listing" not in kinds.get(key, set()):
            assert (AS_OF - listing.last_updated).days <= 90
    near = [p for p in world.practices if p.roles[0] in ("near_waitlist", "near_existing_only")]
    assert near
    for practice in near:
        for listing in (x for x in world.listings if x.practice == practice.slug):
            assert takes(listing.status) is False and takes(practice.site.status) is False
            assert "accepting_status" not in kinds.get((listing.insurer, listing.npi, listing.address_line), set())


def test_fhir_requires_token_pages_and_throttles_once(world: World, running) -> None:
    """401 without the token; paging by link[next] collects every role once; exactly one 429 with Retry-After 1."""
    first = (f"{running.fhir_url}/PractitionerRole?_include=PractitionerRole:practitioner"
             "&_include=PractitionerRole:location&_include=PractitionerRole:organization&_count=25")
    status, _, body = _get(first)
    assert status == 401 and json.loads(body)["resourceType"] == "OperationOutcome"
    url, roles, included, throttled = first, [], set(), []
    while url:
        status, headers, body = _get(url, world.token)
        if status == 429:
            throttled.append(headers.get("Retry-After"))
            continue  # a real client waits Retry-After seconds; the server does not require it
        assert status == 200
        bundle = json.loads(body)
        for entry in bundle["entry"]:
            resource = entry["resource"]
            if entry["search"]["mode"] == "match":
                roles.append(resource["id"])
            else:
                included.add(f"{resource['resourceType']}/{resource['id']}")
        url = next((link["url"] for link in bundle["link"] if link["relation"] == "next"), None)
    assert throttled == ["1"]
    acme = [x.role_id for x in world.listings if x.insurer == "Acme Health"]
    assert sorted(roles) == sorted(acme) and len(roles) == len(set(roles))
    assert any(h.status == 429 for h in running.hits_of("fhir"))
    referenced = set()
    status, _, body = _get(f"{running.fhir_url}/PractitionerRole?_count=500", world.token)
    for entry in json.loads(body)["entry"]:
        referenced.update(r["reference"] for r in entry["resource"]["location"])
    missing = sorted(referenced - included)
    assert 1 <= len(missing) <= 5
    ids = ",".join(m.split("/")[1] for m in missing)
    status, _, body = _get(f"{running.fhir_url}/Location?_id={ids}", world.token)
    fetched = {f"Location/{e['resource']['id']}" for e in json.loads(body)["entry"]}
    assert status == 200 and fetched == set(missing)


def test_qhp_index_leads_to_every_harbor_provider(world: World, running) -> None:
    """index.json -> provider_urls -> providers.json holds one entry per listed NPI, in the CMS schema."""
    status, _, body = _get(running.qhp_url)
    index = json.loads(body)
    providers_url = urllib.request.urljoin(running.qhp_url, index["provider_urls"][0])
    status, _, body = _get(providers_url)
    entries = json.loads(body)
    assert status == 200
    assert {e["npi"] for e in entries} == {x.npi for x in world.listings if x.insurer == "Harbor Mutual"}
    assert all(e["type"] == "INDIVIDUAL" and e["addresses"] and e["accepting"] in ("accepting", "not accepting")
               for e in entries)


def test_robots_and_failing_site(world: World, running) -> None:
    """robots.txt disallows exactly the robots practice; the failing practice answers 500; others 200."""
    status, _, body = _get(running.sites_url + "/robots.txt")
    disallowed = re.findall(r"^Disallow:\s*(\S+)", body.decode(), flags=re.M)
    assert disallowed == world.robots_disallowed and len(disallowed) == 1
    failing = next(p for p in world.practices if p.site.availability == "error")
    assert _get(running.site_url(failing.slug))[0] == 500
    fine = next(p for p in world.practices if p.site.availability == "ok")
    assert _get(running.site_url(fine.slug))[0] == 200


def test_serving_refuses_non_loopback(world: World) -> None:
    """The demo never listens on a public or private interface."""
    with pytest.raises(ValueError, match="loopback"):
        with serve_world(world, host="0.0.0.0"):
            pass


def test_config_files_load_and_seed_every_site(world: World, running, tmp_path: Path) -> None:
    """The written ghostcheck.toml validates; sites.csv yields one seed per practice; reports CSV has the columns."""
    config_path = write_demo_files(world, running, tmp_path)
    config = load_config(config_path)
    assert config.crawl.allow_private_networks is True
    assert [d.kind for d in config.directory] == ["fhir", "qhp", "html"]
    assert config.directory[0].token_env == TOKEN_ENV and world.token not in config_path.read_text()
    seeds, bad = read_sites_csv(str(tmp_path / "sites.csv"))
    assert not bad and len({s.site_key for s in seeds}) == len(world.practices)
    with open(config.report_files()[0], newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert tuple(rows[0]) == REPORT_COLUMNS and len(rows) == len(world.reports)
    assert sum(r["reachable"] == "false" for r in rows) >= 3


def _render(urls: list[str]) -> list[str]:
    """Visible text of pages after Chromium ran their scripts."""
    from playwright.sync_api import sync_playwright

    texts = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM,
                                     args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        try:
            page = browser.new_page()
            for url in urls:
                page.goto(url, wait_until="load")
                texts.append(page.inner_text("body"))
        finally:
            browser.close()
    return texts


@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="system Chromium not installed")
def test_js_only_pages_need_javascript(world: World, running) -> None:
    """JS-only site pages and the Cobalt directory show their content only after rendering."""
    js_paths = [path for path, page in world.pages.items() if page.js_only]
    assert 3 <= len(js_paths) <= 12
    path = js_paths[0]
    marker = world.pages[path].content_text
    static = _get(running.sites_url + path)[2].decode()
    assert marker not in re.sub(r"<script.*?</script>", "", static, flags=re.S)
    status, _, body = _get(running.html_url)
    assert status == 200 and "provider-card" not in re.sub(r"<script.*?</script>", "", body.decode(), flags=re.S)
    site_text, directory_text = _render([running.sites_url + path, running.html_url])
    assert marker in site_text
    first_card = next(x for x in world.listings if x.insurer == "Cobalt Care")
    assert first_card.npi in directory_text and "Next page" in directory_text


def test_unreachable_reports_dial_listed_numbers(world: World) -> None:
    """Every unreachable report dialled a number some listing shows, and every such listing is in the truth."""
    unreachable = [r for r in world.reports if r["reachable"] == "false"]
    assert len(unreachable) >= 3
    expected = {(t.insurer, t.npi) for t in world.truth if t.finding_type == "unreachable"}
    for row in unreachable:
        digits = re.sub(r"\D", "", row["phone"])[-10:]
        shown = {(x.insurer, x.npi) for x in world.listings if x.phone == digits}
        assert shown and shown <= expected


def test_stale_dates_are_relative_to_as_of() -> None:
    """A later as-of date ages every listing by the same amount (dates follow as_of, not the clock)."""
    a = build_world(seed=7, as_of=AS_OF)
    b = build_world(seed=7, as_of=AS_OF + timedelta(days=10))
    assert [(AS_OF - x.last_updated).days for x in a.listings] == \
        [(AS_OF + timedelta(days=10) - x.last_updated).days for x in b.listings]


def test_world_is_the_same_in_another_process(world: World) -> None:
    """No hash randomization or clock leaks into the world: a fresh interpreter builds identical pages and truth."""
    import hashlib
    import subprocess
    import sys

    code = ("import hashlib, json, datetime; from flows.demo.world import build_world; "
            "w = build_world(seed=7, as_of=datetime.date(2026, 11, 25)); "
            "print(hashlib.sha256(json.dumps([sorted((k, p.html) for k, p in w.pages.items()), "
            "[list(t) for t in w.truth], w.reports]).encode()).hexdigest())")
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           cwd=Path(__file__).resolve().parents[1]).stdout.strip()
    mine = hashlib.sha256(json.dumps([sorted((k, p.html) for k, p in world.pages.items()),
                                      [list(t) for t in world.truth], world.reports]).encode()).hexdigest()
    assert other == mine


def test_report_folder_is_served_on_loopback_only(tmp_path: Path) -> None:
    """`demo --serve` serves the report folder over HTTP on 127.0.0.1 and refuses other interfaces."""
    from flows.demo.servers import serve_directory

    (tmp_path / "index.html").write_text("<h1>ghostcheck report</h1>", encoding="utf-8")
    with serve_directory(str(tmp_path)) as url:
        assert url.startswith("http://127.0.0.1:")
        status, _, body = _get(url + "index.html")
    assert status == 200 and b"ghostcheck report" in body
    with pytest.raises(ValueError, match="loopback"):
        with serve_directory(str(tmp_path), host="192.168.1.10"):
            pass


def test_demo_refuses_to_wipe_a_real_audit_folder(tmp_path: Path) -> None:
    """`--out` pointing at a folder with someone's own ghostcheck.toml is refused before anything is deleted."""
    import subprocess
    import sys

    (tmp_path / "ghostcheck.toml").write_text("[warehouse]\npath = 'mine.duckdb'\n", encoding="utf-8")
    (tmp_path / "landing").mkdir()
    run = subprocess.run([sys.executable, "-m", "flows.cli", "demo", "--out", str(tmp_path)],
                         capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1])
    assert run.returncode == 2
    assert "not written by `ghostcheck demo`" in run.stderr and "Traceback" not in run.stderr
    assert (tmp_path / "landing").is_dir()
