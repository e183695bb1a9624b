"""html_directory spider: static pages and a JavaScript app on 127.0.0.1, real Chromium, through the runner."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from httpserver import Reply, Request, serve

from crawlers.config import Selectors
from crawlers.parse.html import extract_items, looks_like_app_shell, next_page_url, split_address
from crawlers.runner import run_spider

HTML = Path(__file__).parent / "fixtures" / "directories" / "html"
INSURER = "Cobalt Care"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SELECTORS = """[directory.selectors]
item = ".provider-card"
next_page = "a.next::attr(href)"
name = ".name::text"
npi = ".npi::text"
specialty = ".specialty::text"
address = ".address::text"
phone = ".phone::text"
accepting = ".accepting::text"
plans = ".plans li::text"
"""


def write_config(tmp_path: Path, url: str, render_js: str) -> Path:
    """A ghostcheck.toml with one HTML directory, loopback allowed, system Chromium."""
    path = tmp_path / "ghostcheck.toml"
    path.write_text(
        f'[warehouse]\nlanding = "landing"\n\n[crawl]\nallow_private_networks = true\nautothrottle = false\n'
        f'timeout_seconds = 15\nbrowser_executable = "{CHROMIUM}"\n\n[[directory]]\ninsurer = "{INSURER}"\n'
        f'kind = "html"\nurl = "{url}"\nrender_js = "{render_js}"\n{SELECTORS}'
    )
    return path


def read_landing(tmp_path: Path, kind: str) -> list[dict[str, Any]]:
    """Every record of one landing kind."""
    files = sorted((tmp_path / "landing" / kind).rglob("*.jsonl"))
    return [json.loads(line) for f in files for line in f.read_text().splitlines() if line.strip()]


def crawl(config: Path):  # type: ignore[no-untyped-def]
    """Run html_directory via the child-process runner."""
    return run_spider("html_directory", str(config), "run1", {"insurer": INSURER}, timeout=120)


def pages_site(pages: dict[str, str], moved: tuple[str, ...] = ()) -> Any:
    """A site serving `pages` (path -> HTML), answering 301 to path + "/" for the `moved` paths, else 404."""
    def site(request: Request) -> Reply:
        """One of the pages, a redirect, or not found."""
        if request.path in moved:
            return Reply(301, "", {"Location": request.path + "/"})
        if request.path in pages:
            return Reply(200, pages[request.path], {"Content-Type": "text/html"})
        return Reply(404, "not found")
    return site


def crawl_site(tmp_path: Path, site: Any, path: str, render_js: str, spec: str) -> tuple[Any, list[str]]:
    """Serve `site`, crawl `path` on it with the selector tables `spec`; the result and the paths requested."""
    with serve(site) as server:
        config = write_config(tmp_path, server.url(path), render_js)
        config.write_text(config.read_text().split("[directory.selectors]")[0] + spec)
        result = crawl(config)
        asked = [r.path for r in server.requests if r.path != "/robots.txt"]
    assert result.status == "ok", (result.reason, result.log_tail[-5:])
    return result, asked


def static_site(request: Request) -> Reply:
    """Two static result pages (`?page=2` relative link)."""
    if request.path == "/find-a-doctor":
        page = parse_qs(request.query).get("page", ["1"])[0]
        return Reply(200, (HTML / f"static_page{page}.html").read_text(), {"Content-Type": "text/html; charset=utf-8"})
    return Reply(404, "not found")


def js_app(request: Request) -> Reply:
    """A single-page app: the HTML is an empty shell; app.js fetches /api/providers and renders cards."""
    if request.path == "/search":
        return Reply(200, (HTML / "app_shell.html").read_text(), {"Content-Type": "text/html"})
    if request.path == "/static/app.js":
        return Reply(200, (HTML / "app.js").read_text(), {"Content-Type": "application/javascript"})
    if request.path == "/api/providers":
        data = json.loads((HTML / "app_api.json").read_text())[parse_qs(request.query)["page"][0]]
        return Reply(200, json.dumps(data), {"Content-Type": "application/json"})
    return Reply(404, "not found")


def test_static_directory_two_pages(tmp_path: Path) -> None:
    """Static pages: nested markup, one-line addresses split, free-text accepting mapped, bad items quarantined."""
    with serve(static_site) as server:
        result = crawl(write_config(tmp_path, server.url("/find-a-doctor"), "never"))
    assert result.status == "ok", (result.reason, result.log_tail[-5:])
    assert result.pages == 2
    listings = {r["npi"]: r for r in read_landing(tmp_path, "listings")}
    assert set(listings) == {"1234567893", "1245319599", "1003000126"}
    maria = listings["1234567893"]
    assert maria["provider_name"] == "Dr. Maria Gonzalez-Rivera, MD"
    assert (maria["address"], maria["city"], maria["state"], maria["zip"]) == ("123 Main St. Ste 4", "Springfield", "IL", "62701")
    assert (maria["accepting_status"], maria["accepting_raw"]) == ("accepting", "Accepting new patients")
    assert maria["networks"] == ["Cobalt Silver HMO", "Cobalt Gold PPO"] and maria["phone"] == "(217) 555-0100"
    assert maria["source_url"] == server.url("/find-a-doctor") and len(maria["payload_sha256"]) == 64
    assert listings["1245319599"]["accepting_status"] == "existing_only"
    assert listings["1245319599"]["city"] == "Peoria"  # address split over a <br>
    assert listings["1003000126"]["accepting_status"] == "not_accepting"
    assert listings["1003000126"]["source_url"].endswith("?page=2")
    errors = sorted(q["error"] for q in read_landing(tmp_path, "quarantine"))
    assert errors == ["item 0: invalid NPI '1234567890'", "item 2: neither name nor NPI found"]
    assert not any(r.path.startswith("/static") for r in server.requests)  # no browser: no sub-resources


def test_javascript_directory_rendered_with_chromium(tmp_path: Path) -> None:
    """render_js = always: real Chromium runs app.js; cards of both pages become listings."""
    with serve(js_app) as server:
        result = crawl(write_config(tmp_path, server.url("/search?page=1"), "always"))
    assert result.status == "ok", (result.reason, result.log_tail[-8:])
    listings = {r["provider_name"]: r for r in read_landing(tmp_path, "listings")}
    assert set(listings) == {"Dr. Alicia Moreno", "Dr. Ben Okafor", "Dr. Chloe Tran"}
    assert listings["Dr. Ben Okafor"]["accepting_status"] == "waitlist"
    assert listings["Dr. Chloe Tran"]["zip"] == "04102" and listings["Dr. Chloe Tran"]["source_url"].endswith("page=2")
    assert server.requests_to("/api/providers")  # the page's own script fetched the data


def test_javascript_directory_is_empty_without_rendering(tmp_path: Path) -> None:
    """render_js = never on the same app: the shell has no cards, so nothing is listed (and no script runs)."""
    with serve(js_app) as server:
        result = crawl(write_config(tmp_path, server.url("/search?page=1"), "never"))
    assert result.status == "ok" and result.items == 0
    assert read_landing(tmp_path, "listings") == []
    assert not server.requests_to("/api/providers")


def test_auto_renders_an_app_shell(tmp_path: Path) -> None:
    """render_js = auto: the static fetch finds no items on an app shell, so the page is rendered."""
    with serve(js_app) as server:
        result = crawl(write_config(tmp_path, server.url("/search?page=1"), "auto"))
    assert result.status == "ok", (result.reason, result.log_tail[-8:])
    assert result.items == 3


@pytest.mark.parametrize("text,expected", [
    ("123 Main St. Ste 4, Springfield, IL 62701", ("123 Main St. Ste 4", "Springfield", "IL", "62701")),
    ("PO Box 12, Anchorage AK 99501-1234", ("PO Box 12", "Anchorage", "AK", "99501-1234")),
    ("Suite 5", ("Suite 5", None, None, None)),
])
def test_split_address(text: str, expected: tuple[Any, ...]) -> None:
    """One-line addresses split into street/city/state/zip; unparseable ones stay whole in `address`."""
    place = split_address(text)
    assert (place["address"], place["city"], place["state"], place["zip"]) == expected


def test_selector_helpers() -> None:
    """`::text` takes the element's whole text, `::attr()` attributes; app shells are recognized."""
    html = '<div class="c"><b class="n">Dr <i>Ann</i> Lee</b><a class="next" href="/p/2">next</a></div>'
    items = extract_items(html, Selectors(item=".c", name=".n::text", website="a::attr(href)"))
    assert items == [{"name": "Dr Ann Lee", "website": "/p/2", "_item": 0}]
    assert next_page_url(html, "a.next", "https://x.org/p/1") == "https://x.org/p/2"
    assert looks_like_app_shell((HTML / "app_shell.html").read_text())
    assert not looks_like_app_shell((HTML / "static_page1.html").read_text())


def test_settings_from_config_adds_playwright_only_for_js() -> None:
    """Static crawls get no browser handlers; JS crawls get scrapy-playwright with the configured Chromium."""
    from crawlers.config import CrawlConfig
    from crawlers.settings import settings_from_config

    crawl = CrawlConfig(user_agent="gc-test/1", obey_robots=False, browser_executable="/opt/chrome/chrome",
                        timeout_seconds=7, allow_private_networks=False)
    static = settings_from_config(crawl)
    assert "DOWNLOAD_HANDLERS" not in static and static["ROBOTSTXT_OBEY"] is False
    assert static["USER_AGENT"] == "gc-test/1" and static["DOWNLOAD_TIMEOUT"] == 7
    js = settings_from_config(crawl, render_js=True)
    assert js["DOWNLOAD_HANDLERS"]["https"].endswith("ScrapyPlaywrightDownloadHandler")
    assert js["PLAYWRIGHT_LAUNCH_OPTIONS"]["executable_path"] == "/opt/chrome/chrome"
    assert "--no-sandbox" in js["PLAYWRIGHT_LAUNCH_OPTIONS"]["args"]

    class FakeBrowserRequest:  # the two attributes Playwright's Request exposes to the predicate
        def __init__(self, url: str, resource_type: str = "script") -> None:
            """Hold the URL and resource type."""
            self.url, self.resource_type = url, resource_type

    abort = js["PLAYWRIGHT_ABORT_REQUEST"]
    assert abort(FakeBrowserRequest("http://127.0.0.1:8080/app.js"))  # SSRF guard inside the browser too
    assert abort(FakeBrowserRequest("http://10.0.0.5/x.png", "image"))
    assert not abort(FakeBrowserRequest("data:text/plain,hi"))


MULTI_OFFICE = """<html><body><main>
<article class="doc">
  <h3 class="name">Maria Ortiz, MD</h3><span class="npi">1234567893</span>
  <p class="phone">Main line: (217) 555-0100</p>
  <p class="accepting">Accepting new patients</p>
  <ul class="offices">
    <li class="office"><span class="address">12 Main St, Springfield, IL 62701</span>
        <span class="phone">(217) 555-0111</span></li>
    <li class="office"><span class="address">40 Oak Ave, Peoria, IL 61602</span>
        <span class="accepting">Not accepting new patients</span></li>
  </ul>
</article>
<article class="doc">
  <h3 class="name">Sam Lee, DO</h3><span class="address">9 Elm St, Urbana, IL 61801</span>
  <span class="phone">217-555-0199</span>
</article>
<a class="next" href="?page=2">Next</a>
</main></body></html>"""
OFFICE_SELECTORS = dict(item="article.doc", location=".office", name=".name::text", npi=".npi::text",
                        address=".address::text", phone=".phone::text", accepting=".accepting::text")


def test_cards_with_several_offices_give_one_record_per_office() -> None:
    """`location`: a card's offices each give a record with their own address and phone; a field an office lacks
    comes from the card outside the offices (never from another office); a card without offices gives one."""
    items = extract_items(MULTI_OFFICE, Selectors(**OFFICE_SELECTORS))
    assert [(i["_item"], i["address"], i["phone"], i["accepting"]) for i in items] == [
        (0, "12 Main St, Springfield, IL 62701", "(217) 555-0111", "Accepting new patients"),
        (0, "40 Oak Ave, Peoria, IL 61602", "Main line: (217) 555-0100", "Not accepting new patients"),
        (1, "9 Elm St, Urbana, IL 61801", "217-555-0199", None),
    ]
    assert {i["name"] for i in items[:2]} == {"Maria Ortiz, MD"} and items[0]["npi"] == "1234567893"
    without = extract_items(MULTI_OFFICE, Selectors(**{**OFFICE_SELECTORS, "location": None}))
    assert len(without) == 2 and without[0]["address"].startswith("12 Main St") and "40 Oak Ave" in without[0]["address"]


def test_multi_office_directory_lands_one_listing_per_office(tmp_path: Path) -> None:
    """Through the runner: three listings (two offices + one), each office's address split and status mapped."""
    site = pages_site({"/docs": MULTI_OFFICE})
    spec = "[directory.selectors]\n" + "".join(f'{k} = "{v}"\n' for k, v in OFFICE_SELECTORS.items())
    result, asked = crawl_site(tmp_path, site, "/docs", "never", spec)
    rows = sorted(read_landing(tmp_path, "listings"), key=lambda r: (r["provider_name"], r["city"]))
    assert [(r["provider_name"], r["city"], r["zip"], r["accepting_status"]) for r in rows] == [
        ("Maria Ortiz, MD", "Peoria", "61602", "not_accepting"),
        ("Maria Ortiz, MD", "Springfield", "62701", "accepting"),
        ("Sam Lee, DO", "Urbana", "61801", "unknown"),
    ]
    assert len({r["listing_id"] for r in rows}) == 3


def test_a_selector_css_cannot_parse_is_a_config_error(tmp_path: Path) -> None:
    """A broken selector fails at config load with one line naming the key, before any request."""
    from crawlers.config import ConfigError, load_config

    config = write_config(tmp_path, "http://127.0.0.1:9/x", "never")
    config.write_text(config.read_text().replace('item = ".provider-card"', 'item = "div.card["'))
    with pytest.raises(ConfigError) as err:
        load_config(config)
    message = str(err.value)
    assert "\n" not in message and "selectors.item" in message and "div.card[" in message


def _numbered_site(past_end: str) -> Any:
    """A directory with no next link: `?pg=N` pages 1-3, then an empty page, page 3 served again, or a 404."""
    def site(request: Request) -> Reply:
        """Cards of page `pg`."""
        page = int(parse_qs(request.query).get("pg", ["1"])[0])
        if request.path != "/docs" or page > 3 and past_end == "404":
            return Reply(404, "")
        shown = min(page, 3) if past_end in ("repeat", "reordered") else page
        order = range(2) if past_end != "reordered" or page <= 3 else range(1, -1, -1)
        cards = "".join(f'<div class="provider-card"><span class="name">Doctor {shown}-{k}</span>'
                        f'<span class="address">{shown}{k} Main St, Springfield, IL 62701</span></div>'
                        for k in order) if shown <= 3 else "<p>No more results</p>"
        return Reply(200, f"<html><body>{cards}<button class='next'>Next</button></body></html>",
                     {"Content-Type": "text/html"})
    return site


@pytest.mark.parametrize("past_end", ["empty", "repeat", "reordered", "404"])
def test_pages_counted_in_a_query_parameter(tmp_path: Path, past_end: str) -> None:
    """`page_param`: a directory whose next control is a button is paged by counting `pg` until a page is empty,
    shows only providers already read (the last page again, in any order) or is not found; all six land once."""
    with serve(_numbered_site(past_end)) as server:
        config = write_config(tmp_path, server.url("/docs"), "never")
        config.write_text(config.read_text().replace('render_js = "never"\n', 'render_js = "never"\npage_param = "pg"\n'))
        result = crawl(config)
        asked = [r.query for r in server.requests if r.path == "/docs"]
    assert result.status == "ok", (result.reason, result.log_tail[-5:])
    names = sorted(r["provider_name"] for r in read_landing(tmp_path, "listings"))
    assert names == [f"Doctor {p}-{k}" for p in (1, 2, 3) for k in range(2)]
    assert asked == ["", "pg=2", "pg=3", "pg=4"] and result.pages == 3


def test_numbered_page_url() -> None:
    """Page numbers count up by one; offsets by the step; an absent parameter starts at page 1 / offset 0."""
    from crawlers.parse.html import numbered_page_url

    assert numbered_page_url("https://x.org/find?q=a&page=3", "page") == "https://x.org/find?q=a&page=4"
    assert numbered_page_url("https://x.org/find?q=a", "page") == "https://x.org/find?q=a&page=2"
    assert numbered_page_url("https://x.org/find?start=40&rows=20", "start", 20) == "https://x.org/find?rows=20&start=60"
    assert numbered_page_url("https://x.org/find", "start", 20) == "https://x.org/find?start=20"
    assert numbered_page_url("https://x.org/find?page=last", "page") is None


RESULTS_WITH_PROFILES = """<html><body><ul>
<li class="result"><a class="name" href="/doctor/ortiz">Maria Ortiz, MD</a><span class="spec">Cardiology</span></li>
<li class="result"><a class="name" href="/doctor/gone">Paul Gone, MD</a><span class="spec">Dermatology</span>
    <span class="npi">1245319599</span></li>
<li class="result"><span class="name">Sam Lee, DO</span><span class="npi">1003000126</span></li>
</ul></body></html>"""
PROFILE = """<html><body><h1>Maria E. Ortiz, MD</h1><p>NPI: <b id="npi">1234567893</b></p>
<section class="office"><h2>Springfield Heart</h2><address>12 Main St, Springfield, IL 62701</address>
  <a href="tel:2175550111">(217) 555-0111</a><p class="status">Accepting new patients</p></section>
<section class="office"><h2>Peoria Heart</h2><address>40 Oak Ave, Peoria, IL 61602</address>
  <a href="tel:3095550122">(309) 555-0122</a><p class="status">Not accepting new patients</p></section>
</body></html>"""


@pytest.mark.parametrize("render_js", ["never", "always"])
def test_provider_pages_complete_the_result_items(tmp_path: Path, render_js: str) -> None:
    """`detail` + `[directory.detail_selectors]`: each result's provider page is read once; its offices give one
    listing each with the page's NPI, address, phone and status; a provider page that fails leaves the result's
    own values (and a quarantine note); a result without a link lands as it is."""
    site = pages_site({"/results": RESULTS_WITH_PROFILES, "/doctor/ortiz": PROFILE})  # /doctor/gone: 404
    spec = ('[directory.selectors]\nitem = "li.result"\nname = ".name::text"\nnpi = ".npi::text"\n'
            'specialty = ".spec::text"\ndetail = "a.name::attr(href)"\n\n[directory.detail_selectors]\n'
            'name = "h1::text"\nnpi = "#npi::text"\nlocation = "section.office"\npractice_name = "h2::text"\n'
            'address = "address::text"\nphone = "a[href^=\'tel:\']::attr(href)"\naccepting = ".status::text"\n')
    result, asked = crawl_site(tmp_path, site, "/results", render_js, spec)
    rows = sorted(read_landing(tmp_path, "listings"), key=lambda r: (r["provider_name"], r["city"] or ""))
    assert [(r["provider_name"], r["npi"], r["practice_name"], r["city"], r["phone"], r["accepting_status"],
             r["specialty"]) for r in rows] == [
        ("Maria E. Ortiz, MD", "1234567893", "Peoria Heart", "Peoria", "3095550122", "not_accepting", "Cardiology"),
        ("Maria E. Ortiz, MD", "1234567893", "Springfield Heart", "Springfield", "2175550111", "accepting",
         "Cardiology"),
        ("Paul Gone, MD", "1245319599", None, None, None, "unknown", "Dermatology"),
        ("Sam Lee, DO", "1003000126", None, None, None, "unknown", None),
    ]
    assert {r["source_url"].rsplit("/", 1)[-1] for r in rows} == {"ortiz", "results"}
    assert sorted(set(asked)) == ["/doctor/gone", "/doctor/ortiz", "/results"]
    notes = [q["error"] for q in read_landing(tmp_path, "quarantine")]
    assert notes == ["item 1: provider page HTTP 404"]


def test_auto_renders_a_javascript_provider_page(tmp_path: Path) -> None:
    """render_js = auto: a static result page whose provider page is a JavaScript app shell; the provider page
    alone is rendered in Chromium, and its status and office land."""
    shell = ('<!DOCTYPE html><html><head><script defer src="/static/profile.js"></script></head>'
             '<body><div id="root"></div></body></html>')
    script = ("document.getElementById('root').innerHTML = '<h1>Maria E. Ortiz, MD</h1>"
              "<address>12 Main St, Springfield, IL 62701</address><p class=\"status\">Not accepting new patients</p>';")

    def site(request: Request) -> Reply:
        """Static results, a JS provider page."""
        pages = {"/results": (RESULTS_WITH_PROFILES, "text/html"), "/doctor/ortiz": (shell, "text/html"),
                 "/static/profile.js": (script, "application/javascript")}
        if request.path in pages:
            body, kind = pages[request.path]
            return Reply(200, body, {"Content-Type": kind})
        return Reply(404, "not found")

    spec = ('[directory.selectors]\nitem = "li.result"\nname = ".name::text"\nnpi = ".npi::text"\n'
            'detail = "a.name::attr(href)"\n\n[directory.detail_selectors]\nname = "h1::text"\n'
            'address = "address::text"\naccepting = ".status::text"\nwait_for = "h1"\n')
    result, asked = crawl_site(tmp_path, site, "/results", "auto", spec)
    ortiz = next(r for r in read_landing(tmp_path, "listings") if r["provider_name"] == "Maria E. Ortiz, MD")
    assert (ortiz["city"], ortiz["accepting_status"]) == ("Springfield", "not_accepting")


def test_moved_result_and_provider_pages_are_followed(tmp_path: Path) -> None:
    """A result page and a provider page that answer 301 (a trailing slash added) are read at their new address."""
    site = pages_site({"/results/": RESULTS_WITH_PROFILES, "/doctor/ortiz/": PROFILE}, moved=("/results", "/doctor/ortiz"))
    spec = ('[directory.selectors]\nitem = "li.result"\nname = ".name::text"\nnpi = ".npi::text"\n'
            'detail = "a.name::attr(href)"\n\n[directory.detail_selectors]\nname = "h1::text"\nnpi = "#npi::text"\n'
            'location = "section.office"\naddress = "address::text"\n')
    result, asked = crawl_site(tmp_path, site, "/results", "never", spec)
    cities = sorted(r["city"] for r in read_landing(tmp_path, "listings") if r["npi"] == "1234567893")
    assert cities == ["Peoria", "Springfield"]


def test_selector_groups_are_read_one_by_one() -> None:
    """Comma-separated groups (also with ::attr / ::text, and inside a location) each give their values; a
    Playwright `wait_for` selector is not held to CSS."""
    html = ('<div class="c"><a class="web" href="/w">W</a><span class="ph">217-555-0100</span>'
            '<div class="office"><a class="ph2">309-555-0111</a></div></div>')
    spec = dict(item=".c", website="a.web::attr(href), a.site::attr(href)", phone="span.ph::text, a.ph2::text")
    assert extract_items(html, Selectors(**spec)) == [
        {"phone": "217-555-0100 309-555-0111", "website": "/w", "_item": 0}]
    assert extract_items(html, Selectors(**spec, location=".office")) == [
        {"phone": "309-555-0111", "website": "/w", "_item": 0}]
    assert Selectors(item=".c", wait_for="text=Results").wait_for == "text=Results"


def test_office_cards_sharing_a_provider_page_keep_their_offices(tmp_path: Path) -> None:
    """One result card per office, all linking to one provider page that shows no addresses: the page is read
    once, and each office keeps its own address with the NPI and status the provider page gives."""
    cards = "".join(f'<li class="result"><a class="name" href="/doctor/ortiz">Maria Ortiz</a>'
                    f'<span class="address">{street}, {city}, IL {zip_code}</span></li>'
                    for street, city, zip_code in (("12 Main St", "Springfield", "62701"),
                                                   ("40 Oak Ave", "Peoria", "61602")))
    profile = '<h1>Maria Ortiz, MD</h1><b id="npi">1234567893</b><p class="status">Accepting new patients</p>'
    site = pages_site({"/results": f"<ul>{cards}</ul>", "/doctor/ortiz": profile})
    spec = ('[directory.selectors]\nitem = "li.result"\nname = ".name::text"\naddress = ".address::text"\n'
            'detail = "a.name::attr(href)"\n\n[directory.detail_selectors]\nname = "h1::text"\nnpi = "#npi::text"\n'
            'accepting = ".status::text"\n')
    result, asked = crawl_site(tmp_path, site, "/results", "never", spec)
    rows = sorted(read_landing(tmp_path, "listings"), key=lambda r: r["city"])
    assert [(r["provider_name"], r["npi"], r["city"], r["accepting_status"]) for r in rows] == [
        ("Maria Ortiz, MD", "1234567893", "Peoria", "accepting"),
        ("Maria Ortiz, MD", "1234567893", "Springfield", "accepting")]
    assert asked.count("/doctor/ortiz") == 1
