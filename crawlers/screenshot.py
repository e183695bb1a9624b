"""PNG screenshot of a page (URL or a saved HTML file) with the system Chromium, for the report."""

from __future__ import annotations

import gzip
import tempfile
from pathlib import Path

from crawlers.config import CrawlConfig
from crawlers.safety import BlockedTarget, check_url
from crawlers.sites.rendering import launch_options

VIEWPORT = {"width": 1280, "height": 1600}


def _as_navigable(target: str, workdir: str) -> str:
    """A URL Chromium can open: http(s) as is, local .html/.html.gz snapshot as a file:// URL."""
    if target.startswith(("http://", "https://", "file://")):
        return target
    path = Path(target)
    if not path.exists():
        raise FileNotFoundError(target)
    if path.suffix == ".gz":
        html = gzip.decompress(path.read_bytes())
        path = Path(workdir) / (path.stem if path.stem.endswith((".html", ".htm")) else path.stem + ".html")
        path.write_bytes(html)
    return path.resolve().as_uri()


def screenshot(
    url_or_html_path: str,
    out_png: str,
    browser_executable: str = "",
    allow_private_networks: bool = False,
    timeout_seconds: float = 20.0,
) -> str:
    """Render a URL or saved page with headless Chromium and write a full-page PNG; return its path.

    Saved snapshots are opened with JavaScript off and network requests blocked,
    so a stored page shows what was fetched without reaching out again.
    """
    from playwright.sync_api import sync_playwright

    if url_or_html_path.startswith(("http://", "https://")):
        try:
            check_url(url_or_html_path, allow_private_networks)
        except BlockedTarget as exc:
            raise ValueError(str(exc)) from None
    local = not url_or_html_path.startswith(("http://", "https://"))
    Path(out_png).parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as workdir, sync_playwright() as pw:
        target = _as_navigable(url_or_html_path, workdir)
        browser = pw.chromium.launch(**launch_options(CrawlConfig(browser_executable=browser_executable)))
        try:
            context = browser.new_context(viewport=VIEWPORT, java_script_enabled=not local)
            page = context.new_page()
            if local:
                page.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file://") else route.abort())
            page.goto(target, wait_until="load", timeout=int(timeout_seconds * 1000))
            page.screenshot(path=out_png, full_page=True)
        finally:
            browser.close()
    return out_png
