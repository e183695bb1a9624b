"""`--screenshots`: evidence pages are captured (saved snapshot first, live page only if the crawler fetched it)."""

from __future__ import annotations

import gzip
import http.server
import json
import re
import threading
from pathlib import Path

import duckdb
import pytest

from flows.report import build_report
from flows.report.build import screenshot_name
from report_fixtures import build_minimal_warehouse

CHROMIUM = "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="system Chromium not installed")


@pytest.fixture
def site():
    """A practice website on 127.0.0.1 (ephemeral port) that records the paths requested."""
    seen: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        """Serve a small team page for any path."""

        def do_GET(self):  # noqa: N802 - http.server API
            """Answer with a short HTML page and record the path."""
            seen.append(self.path)
            body = b"<html><body><h1>Our team</h1><p>Dr. Smith has left the practice.</p></body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            """Keep test output quiet."""

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", seen
    server.shutdown()
    server.server_close()


def _embedded_screenshots(index: Path) -> dict[str, str]:
    """The screenshot map embedded in the page's findings JSON."""
    html = index.read_text("utf-8")
    raw = re.search(r'<script type="application/json" id="findings-data">(.*?)</script>', html, re.S).group(1)
    return json.loads(raw)["screenshots"]


def test_screenshots_from_snapshot_and_fetched_live_page(tmp_path, site):
    """Snapshot and crawled URL get PNGs; a URL the crawler never fetched is not opened; the SSRF guard applies."""
    base, seen = site
    snapshot = tmp_path / "snap.html.gz"
    snapshot.write_bytes(gzip.compress(b"<html><body><h1>Saved page</h1><p>Not accepting new patients.</p></body></html>"))
    live, unknown, saved = f"{base}/team", f"{base}/never-crawled", "https://offline.example.invalid/insurance"
    db = tmp_path / "w.duckdb"
    build_minimal_warehouse(
        db,
        [{"evidence_url": live, "severity": "critical"}, {"evidence_url": unknown}, {"evidence_url": saved}],
        [{"url": live}, {"url": saved, "snapshot_path": str(snapshot)}],
    )
    con = duckdb.connect(str(db), read_only=True)
    paths = build_report(con, tmp_path / "out", screenshots=True, browser_executable=CHROMIUM, allow_private_networks=True)
    shots = tmp_path / "out" / "screenshots"
    assert sorted(p.name for p in paths.screenshots) == sorted([screenshot_name(live), screenshot_name(saved)])
    assert all((shots / p.name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in paths.screenshots)
    pages = lambda: [p for p in seen if p != "/favicon.ico"]  # noqa: E731 - Chromium asks for a favicon itself
    assert pages() == ["/team"]
    assert _embedded_screenshots(paths.index) == {
        live: f"screenshots/{screenshot_name(live)}",
        saved: f"screenshots/{screenshot_name(saved)}",
    }

    guarded = build_report(con, tmp_path / "guarded", screenshots=True, browser_executable=CHROMIUM)
    con.close()
    assert [p.name for p in guarded.screenshots] == [screenshot_name(saved)]
    assert pages() == ["/team"]
