"""The practice_sites spider end to end: real local servers, a real child Scrapy process, real Chromium.

One crawl covers the troublemakers (robots disallow, a 500, a site slower than
the timeout, a redirect loop, a 5 MB page, a windows-1252 page, a JavaScript
-only page, a `<script>` inside a provider name, a refused connection); a
second crawl with the default config checks the SSRF guard.
"""

from __future__ import annotations

import json
import socket
import threading
from pathlib import Path
from typing import Any, Iterator

import pytest

from crawlers.runner import run_spider
from crawlers.sites.evidence import content_sha256, read_snapshot
from httpserver import Reply, TestServer, serve

FIXTURES = Path(__file__).parent / "fixtures" / "sites"
HTML = {"Content-Type": "text/html; charset=utf-8"}
MAX_BYTES = 1_000_000


def page(name: str) -> Reply:
    """A fixture page as an HTML reply."""
    return Reply(200, (FIXTURES / name).read_bytes(), HTML)


def read_landing(root: Path, kind: str) -> list[dict[str, Any]]:
    """All records of one landing kind."""
    records: list[dict[str, Any]] = []
    for path in sorted((root / kind).rglob("*.jsonl")):
        records.extend(json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line)
    return records


def closed_port() -> int:
    """A loopback port nobody listens on (connection refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_config(folder: Path, sites: list[str], crawl: str) -> Path:
    """ghostcheck.toml + sites.csv in `folder`."""
    rows = ["Website,Practice Name,Phone"] + [f"{url},Practice {n},217-555-01{n:02d}" for n, url in enumerate(sites)]
    rows.append("not a website at all,Broken Row,")
    (folder / "sites.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    config = folder / "ghostcheck.toml"
    config.write_text(
        '[warehouse]\npath = "gc.duckdb"\nlanding = "landing"\n\n'
        f"[crawl]\n{crawl}\n\n"
        '[sites]\nfiles = ["sites.csv"]\nfrom_directory = false\n\n'
        '[[directory]]\ninsurer = "Cobalt Care"\nkind = "fhir"\nurl = "https://fhir.example.org/"\n',
        encoding="utf-8",
    )
    return config


class World:
    """The servers of the main crawl and what the crawl landed."""

    def __init__(self, main: TestServer, robots: TestServer, mover: TestServer, landing: Path, result: Any,
                 refused: str) -> None:
        """Keep servers, the landing root and the runner result."""
        self.main, self.robots, self.mover, self.landing = main, robots, mover, landing
        self.result, self.refused = result, refused
        self.evidence = read_landing(landing, "evidence")
        self.observations = read_landing(landing, "observations")

    def evidence_of(self, site: str) -> list[dict[str, Any]]:
        """Evidence records of one site (by its seed URL)."""
        return [e for e in self.evidence if e["site_url"] == site]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """Serve every kind of site, crawl them once with practice_sites, hand over the landing files."""
    release = threading.Event()

    def slow(_request: Any) -> Reply:
        """A server that answers only after the test is over."""
        release.wait(60)
        return Reply(200, "<p>too late</p>", HTML)

    # 5 MB, mostly an inlined app-state blob, as the heaviest real pages are.
    big = (b"<html><body><h1>Big Clinic</h1><p>We are accepting new patients. Our six family physicians and two "
           b"nurse practitioners see children and adults for checkups, sick visits and chronic care.</p>"
           b"<script>window.__STATE__ = ["
           + b'{"id": 1, "kind": "provider", "tags": ["family", "medicine"]},' * 80_000 + b"];</script></body></html>")
    routes = {
        "/good/": page("home.html"),
        "/good/new-patients": page("new_patients.html"),
        "/good/insurance-billing.html": page("insurance.html"),
        "/good/our-team/": page("team.html"),
        "/good/contact-us": page("contact.html"),
        "/good/blog/2019/flu-shots": page("blog.html"),
        "/error500/": Reply(500, "<h1>Internal Server Error</h1>", HTML),
        "/slow/": slow,
        "/loop/": Reply(302, b"", {"Location": "/loop/again"}),
        "/loop/again": Reply(302, b"", {"Location": "/loop/"}),
        "/big/": Reply(200, big, HTML),
        "/cp1252/": Reply(200, (FIXTURES / "cp1252.html").read_bytes(), {"Content-Type": "text/html"}),
        "/js/": page("js_shell.html"),
        "/frames/": page("frameset.html"),
        "/frames/menu.html": page("frame_menu.html"),
        "/frames/main.html": page("frame_main.html"),
        "/frames/new-patients": page("new_patients.html"),
        "/frames/contact-us": page("contact.html"),
    }
    robots_routes = {"/robots.txt": Reply(200, "User-agent: *\nDisallow: /\n", {"Content-Type": "text/plain"}),
                     "/": page("home.html")}
    folder = tmp_path_factory.mktemp("sites")
    with serve(routes) as main, serve(robots_routes) as robots, serve() as mover:
        mover.routes["/"] = Reply(301, b"", {"Location": main.url("/good/")})  # the practice moved to a big site
        refused = f"http://127.0.0.1:{closed_port()}/"
        sites = [main.url(p) for p in ("/good/", "/error500/", "/slow/", "/loop/", "/big/", "/cp1252/", "/js/")]
        sites += [robots.url("/"), refused, mover.url("/"), main.url("/frames/")]
        config = write_config(folder, sites, (
            "allow_private_networks = true\nmax_pages_per_site = 3\ntimeout_seconds = 1.0\n"
            f"max_page_bytes = {MAX_BYTES}\nmax_redirects = 3\nrender_js = \"auto\"\n"))
        result = run_spider("practice_sites", str(config), "run-test", {"retries": "1"}, timeout=180)
        try:
            yield World(main, robots, mover, folder / "landing", result, refused)
        finally:
            release.set()


def test_crawl_finishes_and_lands_a_source_record(world: World) -> None:
    """The run is ok even though several sites are unreachable; the sources record counts the pages."""
    assert world.result.status == "ok", world.result.log_tail[-15:]
    sources = read_landing(world.landing, "sources")
    assert [(s["source"], s["kind"], s["status"]) for s in sources] == [("sites", "sites", "ok")]
    assert sources[0]["pages"] == world.result.pages > 0


def test_good_site_home_then_best_pages_within_budget(world: World) -> None:
    """Home, then the 3 best pages (new patients, insurance, team); contact and blog are left out."""
    site = world.main.url("/good/")
    fetched = sorted(e["url"] for e in world.evidence_of(site))
    assert fetched == sorted(world.main.url(p) for p in (
        "/good/", "/good/new-patients", "/good/insurance-billing.html", "/good/our-team/"))
    assert world.main.requests_to("/good/contact-us") == [] and world.main.requests_to("/good/blog/2019/flu-shots") == []
    for record in world.evidence_of(site):
        assert record["error"] is None and record["http_status"] == 200 and record["rendered"] is False
        assert record["truncated"] is False


def test_site_that_moved_is_followed_where_it_landed(world: World) -> None:
    """A home page redirected to another host is read there, and its pages there are followed."""
    records = world.evidence_of(world.mover.url("/"))
    assert sorted(r["url"] for r in records) == sorted(world.main.url(p) for p in (
        "/good/", "/good/new-patients", "/good/insurance-billing.html", "/good/our-team/"))
    home = next(r for r in records if r["url"] == world.main.url("/good/"))
    assert home["requested_url"] == world.mover.url("/")


def test_frameset_site_read_through_its_frames(world: World) -> None:
    """An old frameset home: both frames are fetched, then the menu frame's best link within the budget."""
    fetched = sorted(e["url"] for e in world.evidence_of(world.main.url("/frames/")))
    assert fetched == sorted(world.main.url(p) for p in (
        "/frames/", "/frames/menu.html", "/frames/main.html", "/frames/new-patients"))


def test_every_page_snapshot_is_kept_by_hash(world: World) -> None:
    """Each evidence record points at a gzip snapshot whose bytes hash to content_sha256."""
    kept = [e for e in world.evidence if e["content_sha256"]]
    assert len(kept) >= 8
    for record in kept:
        assert record["snapshot_path"].startswith(str(world.landing / "pages"))
        assert content_sha256(read_snapshot(record["snapshot_path"])) == record["content_sha256"]


def test_server_error_recorded_after_retry(world: World) -> None:
    """A site answering 500 is recorded with its status (after one retry), not dropped."""
    [record] = world.evidence_of(world.main.url("/error500/"))
    assert record["http_status"] == 500 and "HTTP 500" in record["error"]
    assert len(world.main.requests_to("/error500/")) == 2


def test_slow_site_recorded_as_timeout(world: World) -> None:
    """A site slower than timeout_seconds ends as a timeout error."""
    records = world.evidence_of(world.main.url("/slow/"))
    assert len(records) == 1 and "timeout" in records[0]["error"].lower() and records[0]["http_status"] is None


def test_redirect_loop_recorded(world: World) -> None:
    """A redirect loop stops at max_redirects and is recorded."""
    [record] = world.evidence_of(world.main.url("/loop/"))
    assert "redirect" in record["error"].lower()
    assert len(world.main.requests_to("/loop/")) + len(world.main.requests_to("/loop/again")) == 4


def test_big_page_truncated_and_noted(world: World) -> None:
    """The 5 MB page is cut at max_page_bytes, marked truncated, and still read."""
    [record] = world.evidence_of(world.main.url("/big/"))
    assert record["truncated"] is True and record["error"] is None
    body = read_snapshot(record["snapshot_path"])
    assert len(body) == MAX_BYTES and body.startswith(b"<html><body><h1>Big Clinic</h1>")


def test_windows_1252_page_decoded(world: World) -> None:
    """Smart quotes and accents of a windows-1252 page (charset only in <meta>) are decoded correctly."""
    [record] = world.evidence_of(world.main.url("/cp1252/"))
    assert "“We’re currently accepting new patients,”" in record["snippet"]
    assert "Clínica Familiar — Dr. José Pérez" in record["snippet"]
    assert read_snapshot(record["snapshot_path"]) == (FIXTURES / "cp1252.html").read_bytes()


def test_javascript_only_page_rendered_by_chromium(world: World) -> None:
    """auto finds the app shell, Chromium renders it, and the rendered page carries the text."""
    records = world.evidence_of(world.main.url("/js/"))
    assert sorted(r["rendered"] for r in records) == [False, True]
    rendered = next(r for r in records if r["rendered"])
    assert "we are accepting new patients" in rendered["snippet"].lower()
    assert "accepting" not in next(r for r in records if not r["rendered"])["snippet"].lower()
    others = [e for e in world.evidence if e["site_url"] != world.main.url("/js/")]
    assert not any(e["rendered"] for e in others)  # only the JavaScript page went to the browser


def test_robots_disallowed_site_recorded(world: World) -> None:
    """robots.txt Disallow: / keeps the crawler off the site, and the refusal is recorded."""
    [record] = world.evidence_of(world.robots.url("/"))
    assert "robots.txt" in record["error"]
    assert world.robots.requests_to("/") == [] and len(world.robots.requests_to("/robots.txt")) == 1


def test_refused_connection_recorded(world: World) -> None:
    """A site nobody answers for is recorded as refused."""
    records = world.evidence_of(world.refused)
    assert records and all("refused" in r["error"].lower() for r in records)


def test_bad_seed_row_quarantined(world: World) -> None:
    """The unusable sites.csv row lands in quarantine with file and row number."""
    [record] = read_landing(world.landing, "quarantine")
    assert record["file"].endswith("sites.csv") and record["row"] == 13 and "not a website" in record["raw_text"]


def test_observations_from_site_claims(world: World) -> None:
    """The good site's claims (not accepting, script-like text in a provider name kept verbatim) are observed."""
    good = [o for o in world.observations if o.get("site_url") == world.main.url("/good/")]
    assert good, world.result.log_tail[-15:]
    assert all(o["source"] == "website" for o in good)
    practice = [o for o in good if not o.get("provider_name")]
    assert any(o["accepting_status"] == "not_accepting" for o in practice)
    names = [n for o in good for n in (o.get("providers") or [])] + [o.get("provider_name") or "" for o in good]
    assert any("<script>alert(1)</script>" in n for n in names), names
    js = [o for o in world.observations if o.get("site_url") == world.main.url("/js/")]
    assert any(o["accepting_status"] == "accepting" for o in js)
    unreachable = {world.main.url("/error500/"), world.main.url("/slow/"), world.robots.url("/"), world.refused}
    assert not any(o.get("site_url") in unreachable for o in world.observations)


def test_private_address_refused_by_default(tmp_path: Path) -> None:
    """With the default config a loopback site is refused by the SSRF guard and never contacted."""
    with serve({"/": page("home.html")}) as target:
        config = write_config(tmp_path, [target.url("/")], "")
        result = run_spider("practice_sites", str(config), "run-ssrf", {}, timeout=120)
        assert result.status == "ok", result.log_tail[-10:]
        [record] = read_landing(tmp_path / "landing", "evidence")
        assert "refused non-public address 127.0.0.1" in record["error"]
        assert target.requests == []


def test_render_js_always(tmp_path: Path) -> None:
    """always sends every page straight to Chromium, without a static fetch first."""
    routes = {"/": page("js_shell.html"), "/plain/": page("new_patients.html")}
    with serve(routes) as site:
        config = write_config(tmp_path, [site.url("/"), site.url("/plain/")],
                              'allow_private_networks = true\nrender_js = "always"\n')
        result = run_spider("practice_sites", str(config), "run-always", {}, timeout=120)
        assert result.status == "ok", result.log_tail[-10:]
        evidence = read_landing(tmp_path / "landing", "evidence")
        assert sorted((e["url"], e["rendered"]) for e in evidence) == [(site.url("/"), True), (site.url("/plain/"), True)]
        plain = next(e for e in evidence if e["url"] == site.url("/plain/"))
        assert "not accepting new patients" in plain["snippet"]
        assert "accepting new patients" in next(e for e in evidence if e["url"] == site.url("/"))["snippet"]


def test_shards_split_sites_by_domain_without_overlap(tmp_path: Path) -> None:
    """Two shards of one run crawl disjoint halves of the sites and write side-by-side landing files."""
    from concurrent.futures import ThreadPoolExecutor

    from warehouse.load import run_id_of

    from crawlers.spiders.practice_sites import shard_of
    from crawlers.sites.seeds import site_domain

    servers: list[TestServer] = []
    while len(servers) < 4 or len({shard_of(site_domain(s.url("/")), 2) for s in servers}) < 2:  # ports are random
        servers.append(serve({"/": page("new_patients.html")}).start())
    try:
        config = write_config(tmp_path, [s.url("/") for s in servers], 'allow_private_networks = true\nrender_js = "never"\n')
        with ThreadPoolExecutor(2) as pool:
            results = list(pool.map(lambda n: run_spider("practice_sites", str(config), "run-sh", {
                "shard": str(n), "shards": "2", "workers": "0"}, timeout=120), (0, 1)))
        assert [r.status for r in results] == ["ok", "ok"], [r.log_tail[-5:] for r in results]
        files = sorted((tmp_path / "landing" / "evidence" / "sites").glob("*.jsonl"))
        assert [f.name for f in files] == ["run-sh__shard-1-of-2.jsonl", "run-sh__shard-2-of-2.jsonl"]
        assert {run_id_of(str(f)) for f in files} == {"run-sh"}
        per_shard = [{json.loads(line)["site_url"] for line in f.read_text().splitlines()} for f in files]
        assert not per_shard[0] & per_shard[1]
        assert per_shard[0] | per_shard[1] == {s.url("/") for s in servers}
        assert len(read_landing(tmp_path / "landing", "quarantine")) == 1  # the bad row, reported once
    finally:
        for server in servers:
            server.stop()
