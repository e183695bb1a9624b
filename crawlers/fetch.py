"""Fetch one page without Scrapy (for `ghostcheck extract URL`), with the crawl's safety rules.

The same politeness and safety as the spider: SSRF check on every redirect
hop, robots.txt, a size cap (truncate, not fail), a timeout, a redirect cap
and the page's own charset (headers, BOM, `<meta charset>`, then detection).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx
from protego import Protego
from w3lib.encoding import html_to_unicode

from crawlers.config import CrawlConfig
from crawlers.landing import utcnow_iso
from crawlers.safety import BlockedTarget, check_url

REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})
ROBOTS_MAX_BYTES = 500_000


@dataclass
class FetchedPage:
    """One fetched page: final URL, status, raw bytes (maybe truncated), detected encoding, error."""

    url: str
    status: int | None
    body: bytes
    encoding: str | None
    headers: dict[str, str] = field(default_factory=dict)
    fetched_at: str = ""
    sha256: str = ""
    error: str | None = None
    truncated: bool = False

    @property
    def text(self) -> str:
        """The body decoded with the detected encoding (undecodable bytes replaced)."""
        return self.body.decode(self.encoding or "utf-8", errors="replace")


def detect_encoding(content_type: str | None, body: bytes) -> str:
    """The page's encoding as browsers decide it: BOM, HTTP charset, <meta charset>, then a guess."""
    encoding, _ = html_to_unicode(content_type, body)
    return encoding


def _read_capped(response: httpx.Response, limit: int) -> tuple[bytes, bool]:
    """Read at most `limit` body bytes from a streamed response; True when more was left unread."""
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            return b"".join(chunks)[:limit], True
    return b"".join(chunks), False


def robots_allows(client: httpx.Client, url: str, user_agent: str, allow_private: bool) -> bool:
    """Whether robots.txt of the URL's host lets `user_agent` fetch it (missing/unreadable: allowed)."""
    parts = urlsplit(url)
    robots_url = urlunsplit((parts.scheme, parts.netloc, "/robots.txt", "", ""))
    try:
        check_url(robots_url, allow_private)
        with client.stream("GET", robots_url) as response:
            if response.status_code in (401, 403):
                return False  # RFC 9309 treats "unauthorized" as full disallow
            if response.status_code >= 400:
                return True
            body, _ = _read_capped(response, ROBOTS_MAX_BYTES)
    except (httpx.HTTPError, BlockedTarget):
        return True
    rules = Protego.parse(body.decode("utf-8", errors="replace"))
    return rules.can_fetch(url, user_agent)


def _failed(url: str, error: str, status: int | None = None) -> FetchedPage:
    """A FetchedPage that records why nothing usable was fetched."""
    return FetchedPage(url=url, status=status, body=b"", encoding=None, fetched_at=utcnow_iso(), error=error)


def _error_text(url: str, exc: Exception) -> str:
    """One line naming the URL and what went wrong (timeout, DNS, refused...)."""
    if isinstance(exc, httpx.TimeoutException):
        return f"{url}: timeout"
    if isinstance(exc, httpx.ConnectError):
        return f"{url}: connection failed ({exc})"
    return f"{url}: {type(exc).__name__}: {exc}"


def fetch_page(url: str, crawl: CrawlConfig) -> FetchedPage:
    """Fetch one page politely and safely; failures come back as a FetchedPage with `error`, never raised."""
    timeout = httpx.Timeout(crawl.timeout_seconds)
    headers = {"User-Agent": crawl.user_agent, "Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5"}
    with httpx.Client(timeout=timeout, headers=headers, follow_redirects=False, trust_env=False) as client:
        current = url
        for _hop in range(crawl.max_redirects + 1):
            try:
                check_url(current, crawl.allow_private_networks)
            except BlockedTarget as exc:
                return _failed(current, str(exc))
            if crawl.obey_robots and not robots_allows(client, current, crawl.user_agent, crawl.allow_private_networks):
                return _failed(current, f"{current}: disallowed by robots.txt")
            try:
                with client.stream("GET", current) as response:
                    location = response.headers.get("location")
                    if response.status_code in REDIRECT_CODES and location:
                        current = urljoin(current, location)
                        continue
                    body, truncated = _read_capped(response, crawl.max_page_bytes)
                    content_type = response.headers.get("content-type")
                    return FetchedPage(
                        url=str(response.url),
                        status=response.status_code,
                        body=body,
                        encoding=detect_encoding(content_type, body),
                        headers={k.lower(): v for k, v in response.headers.items()},
                        fetched_at=utcnow_iso(),
                        sha256=hashlib.sha256(body).hexdigest(),
                        error=None if response.status_code < 400 else f"{current}: HTTP {response.status_code}",
                        truncated=truncated,
                    )
            except httpx.HTTPError as exc:
                return _failed(current, _error_text(current, exc))
        return _failed(current, f"{url}: more than {crawl.max_redirects} redirects")
