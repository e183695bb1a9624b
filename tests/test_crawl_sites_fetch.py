"""`fetch_page` (one page without Scrapy) and `screenshot` against real local servers and real Chromium."""

from __future__ import annotations

import struct
import threading
from pathlib import Path
from typing import Iterator

import pytest

from crawlers.config import CrawlConfig
from crawlers.fetch import fetch_page
from crawlers.screenshot import screenshot
from crawlers.sites.evidence import store_page
from httpserver import Reply, TestServer, serve

FIXTURES = Path(__file__).parent / "fixtures" / "sites"
HTML = {"Content-Type": "text/html"}


@pytest.fixture(scope="module")
def release() -> Iterator[threading.Event]:
    """An event that slow handlers wait on; set at teardown so their threads end."""
    event = threading.Event()
    yield event
    event.set()


@pytest.fixture(scope="module")
def server(release: threading.Event) -> Iterator[TestServer]:
    """A local site with the usual troublemakers."""
    cp1252 = (FIXTURES / "cp1252.html").read_bytes()

    def slow(_request: object) -> Reply:
        """Answer only when the test is over."""
        release.wait(30)
        return Reply(200, "<p>too late</p>", HTML)

    routes = {
        "/robots.txt": Reply(200, "User-agent: *\nDisallow: /private/\n", {"Content-Type": "text/plain"}),
        "/": Reply(200, (FIXTURES / "home.html").read_text(), HTML),
        "/private/page": Reply(200, "<p>secret</p>", HTML),
        "/cp1252": Reply(200, cp1252, {"Content-Type": "text/html"}),
        "/loop-a": Reply(302, b"", {"Location": "/loop-b"}),
        "/loop-b": Reply(302, b"", {"Location": "/loop-a"}),
        "/moved": Reply(301, b"", {"Location": "/cp1252"}),
        "/error": Reply(500, "<p>oops</p>", HTML),
        "/big": Reply(200, b"<html><body><p>We are accepting new patients.</p>" + b"x" * 5_000_000, HTML),
        "/slow": slow,
    }
    with serve(routes) as running:
        yield running


def crawl(**overrides: object) -> CrawlConfig:
    """A crawl config for loopback tests (private networks allowed unless overridden)."""
    values: dict[str, object] = {"allow_private_networks": True, "timeout_seconds": 5.0, "max_page_bytes": 1_000_000}
    values.update(overrides)
    return CrawlConfig(**values)


def test_windows_1252_page_decoded(server: TestServer) -> None:
    """Smart quotes and accents of a windows-1252 page (declared only in <meta>) come out right, after a redirect."""
    page = fetch_page(server.url("/moved"), crawl())
    assert page.error is None and page.status == 200 and page.url.endswith("/cp1252")
    assert page.encoding == "cp1252"
    assert "“We’re currently accepting new patients,”" in page.text
    assert "Clínica Familiar Señora Pérez" in page.text
    assert page.body == (FIXTURES / "cp1252.html").read_bytes()


def test_robots_disallow_is_obeyed(server: TestServer) -> None:
    """A disallowed path is refused without requesting it; obey_robots=false fetches it."""
    page = fetch_page(server.url("/private/page"), crawl())
    assert page.error and "robots.txt" in page.error and page.body == b""
    assert server.requests_to("/private/page") == []
    assert fetch_page(server.url("/private/page"), crawl(obey_robots=False)).status == 200


def test_redirect_loop_capped(server: TestServer) -> None:
    """A redirect loop ends with an error after max_redirects hops."""
    before = len(server.requests_to("/loop-a")) + len(server.requests_to("/loop-b"))
    page = fetch_page(server.url("/loop-a"), crawl(max_redirects=3))
    assert page.error and "more than 3 redirects" in page.error
    assert len(server.requests_to("/loop-a")) + len(server.requests_to("/loop-b")) - before == 4


def test_big_page_truncated(server: TestServer) -> None:
    """A 5 MB page is cut at max_page_bytes and marked truncated, its beginning kept."""
    page = fetch_page(server.url("/big"), crawl(max_page_bytes=100_000))
    assert page.truncated and len(page.body) == 100_000
    assert b"accepting new patients" in page.body and page.error is None


def test_server_error_and_timeout(server: TestServer) -> None:
    """A 500 keeps its status with an error; a server slower than the timeout is reported as a timeout."""
    error = fetch_page(server.url("/error"), crawl())
    assert error.status == 500 and error.error and "HTTP 500" in error.error
    slow = fetch_page(server.url("/slow"), crawl(timeout_seconds=0.5))
    assert slow.status is None and slow.error and "timeout" in slow.error


def test_private_address_refused_by_default() -> None:
    """With the default config the loopback server is refused and never contacted."""
    with serve({"/": Reply(200, "<p>hello</p>", HTML)}) as target:
        page = fetch_page(target.url("/"), CrawlConfig())
        assert page.error and "refused non-public address 127.0.0.1" in page.error
        assert target.requests == []


def _png_size(path: str) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk."""
    data = Path(path).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_screenshot_of_live_page_and_snapshot(tmp_path: Path) -> None:
    """Chromium renders a JavaScript page to PNG, and a stored .html.gz snapshot without any network."""
    with serve({"/": Reply(200, (FIXTURES / "js_shell.html").read_text(), HTML)}) as site:
        live = screenshot(site.url("/"), str(tmp_path / "live.png"), allow_private_networks=True)
        assert _png_size(live)[0] == 1280
        requests_before = len(site.requests)
        _sha, snap = store_page(str(tmp_path / "landing"), (FIXTURES / "home.html").read_bytes()
                                .replace(b"</main>", b'<img src="' + site.url("/pixel.png").encode() + b'"></main>'))
        stored = screenshot(snap, str(tmp_path / "stored.png"))
        assert _png_size(stored)[0] == 1280
        assert len(site.requests) == requests_before  # a stored page does not call home
    with pytest.raises(ValueError, match="refused non-public"):
        screenshot("http://127.0.0.1:9/", str(tmp_path / "x.png"), allow_private_networks=False)
