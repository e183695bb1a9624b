"""Everything the crawl does with one fetched page, as one function that runs in a worker process.

Keeping the page (hash, gzip, write) and reading it (visible text, the
rendering decision, links, claims) is CPU and disk work; keeping it out of the
Twisted reactor keeps downloads and their timeouts honest and lets another
core do it. The only side effect is the content-addressed snapshot file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from crawlers.sites.evidence import snippet, store_page
from crawlers.sites.links import choose_links
from crawlers.sites.rendering import should_render, static_text


@dataclass
class PageAnalysis:
    """What one page gave: where it is kept, evidence snippet, whether to render it, links, claims (or why none)."""

    sha256: str
    snapshot_path: str
    snippet: str = ""
    render: bool = False
    links: list[tuple[str, str]] = field(default_factory=list)  # (url, category), best first
    claims: Any = None
    error: str | None = None


def analyze_page(
    body: bytes,
    html: str | None,
    landing_root: str,
    url: str,
    fetched_at: str,
    encoding: str | None = None,
    render_mode: str = "auto",
    rendered: bool = False,
    follow_links: bool = False,
    domain: str = "",
    root: str = "/",
    limit: int = 0,
    seen: frozenset[str] = frozenset(),
    known_insurers: tuple[str, ...] = (),
) -> PageAnalysis:
    """Keep the page by hash, then read it: snippet, render decision, links and extracted claims.

    `html` is None for pages that are only kept (error statuses, non-text bodies).
    """
    sha, path = store_page(landing_root, body)
    if html is None:
        return PageAnalysis(sha, path)
    text = static_text(html)
    if should_render(render_mode, html, rendered, text=text):
        return PageAnalysis(sha, path, snippet(text), render=True)
    links = [(link.url, link.category) for link in choose_links(html, url, domain, root, limit, seen)] if follow_links else []
    try:
        from crawlers.extract.page import extract_page

        claims = extract_page(html, url, fetched_at, sha, known_insurers=known_insurers, encoding=encoding)
    except Exception as exc:  # noqa: BLE001 - evidence is kept; claims can be re-extracted from the snapshot
        return PageAnalysis(sha, path, snippet(text), links=links,
                            error=f"{url}: claims not extracted: {type(exc).__name__}: {exc}")
    return PageAnalysis(sha, path, snippet(text), links=links, claims=claims)
