"""Directory spiders and their shared parts: the config-driven base spider, the backoff retry middleware and a
spider loader that imports only the spider it runs."""

from __future__ import annotations

import asyncio
import email.utils
import importlib
import time
from typing import Any

import scrapy
from scrapy.downloadermiddlewares.retry import get_retry_request
from scrapy.exceptions import NotConfigured
from scrapy.http import Request, Response
from scrapy.interfaces import ISpiderLoader
from scrapy.utils.response import response_status_message
from twisted.internet.error import (
    ConnectError, ConnectionDone, ConnectionLost, ConnectionRefusedError, DNSLookupError, TCPTimedOutError,
    TimeoutError as TwistedTimeoutError,
)
from twisted.web.client import ResponseFailed
from zope.interface import implementer

from crawlers.config import Config, ConfigError, DirectoryConfig, load_config
from crawlers.landing import new_run_id
from crawlers.parse import quarantine_record
from crawlers.settings import settings_from_config


# Statuses a spider's callback sees (after the retry middleware): every error. Not `handle_httpstatus_all`, which
# would hand 3xx to the callback too, so that no redirect (http -> https, a moved page or API) was ever followed.
ERROR_STATUSES = list(range(400, 600))

# name -> "module:Class" of every spider (tests check it matches what walking SPIDER_MODULES finds). Loading one
# spider then imports its module only: the site crawler's extraction stack, pyarrow or httpx are not start-up
# costs of a crawl that does not use them.
SPIDERS = {
    "fhir_directory": "crawlers.spiders.fhir:FhirDirectorySpider",
    "html_directory": "crawlers.spiders.html_directory:HtmlDirectorySpider",
    "practice_sites": "crawlers.spiders.practice_sites:PracticeSitesSpider",
    "qhp_directory": "crawlers.spiders.qhp:QhpDirectorySpider",
}


@implementer(ISpiderLoader)
class LazySpiderLoader:
    """Scrapy spider loader (SPIDER_LOADER_CLASS) over the SPIDERS registry: imports a spider's module on load."""

    def __init__(self, registry: dict[str, str] | None = None) -> None:
        """Keep the name -> "module:Class" registry."""
        self.registry = dict(registry or SPIDERS)

    @classmethod
    def from_settings(cls, settings: Any) -> LazySpiderLoader:
        """Build for Scrapy (the registry does not depend on settings)."""
        return cls()

    def load(self, spider_name: str) -> type[scrapy.Spider]:
        """The spider class named `spider_name` (KeyError like Scrapy's loader when unknown)."""
        target = self.registry.get(spider_name)
        if target is None:
            raise KeyError(f"Spider not found: {spider_name}")
        module, _, attr = target.partition(":")
        return getattr(importlib.import_module(module), attr)

    def list(self) -> list[str]:
        """Names of the available spiders."""
        return sorted(self.registry)

    def find_by_request(self, request: Request) -> list[str]:
        """Names of the spiders that handle `request` (loads them all; only `scrapy fetch/shell` ask)."""
        return [name for name in self.list() if self.load(name).handles_request(request)]


RETRY_EXCEPTIONS = (TwistedTimeoutError, TCPTimedOutError, ConnectError, ConnectionRefusedError, ConnectionDone,
                    ConnectionLost, ResponseFailed, DNSLookupError, IOError)


def parse_retry_after(value: str | bytes | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date); None when unusable."""
    if value is None:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else str(value)
    text = text.strip()
    if not text:
        return None
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (now if now is not None else time.time()))


def backoff_delay(attempt: int, base: float, cap: float) -> float:
    """Capped exponential backoff: base * 2**(attempt-1), at most `cap` seconds."""
    return min(cap, base * (2 ** max(0, attempt - 1)))


class BackoffRetryMiddleware:
    """Retry 429/5xx/timeouts after Retry-After or a capped exponential backoff, without blocking the reactor."""

    def __init__(self, crawler: Any) -> None:
        """Read RETRY_* and GHOSTCHECK_BACKOFF_* settings."""
        settings = crawler.settings
        if not settings.getbool("RETRY_ENABLED", True):
            raise NotConfigured
        self.crawler = crawler
        self.max_retry_times = settings.getint("RETRY_TIMES", 5)
        self.codes = {int(c) for c in settings.getlist("RETRY_HTTP_CODES")}
        self.base = settings.getfloat("GHOSTCHECK_BACKOFF_BASE", 0.5)
        self.cap = settings.getfloat("GHOSTCHECK_BACKOFF_MAX", 30.0)
        self.retry_after_cap = settings.getfloat("GHOSTCHECK_RETRY_AFTER_MAX", 120.0)

    @classmethod
    def from_crawler(cls, crawler: Any) -> "BackoffRetryMiddleware":
        """Build from the crawler (Scrapy hook)."""
        return cls(crawler)

    def delay_for(self, request: Request, response: Response | None) -> float:
        """How long to wait before the next attempt of `request`."""
        attempt = request.meta.get("retry_times", 0) + 1
        if response is not None and response.status in (429, 503):
            wait = parse_retry_after(response.headers.get(b"Retry-After"))
            if wait is not None:
                return min(wait, self.retry_after_cap)
        return backoff_delay(attempt, self.base, self.cap)

    async def _retry(self, request: Request, reason: Any, response: Response | None) -> Request | None:
        """Wait (asyncio sleep on the asyncio reactor) and return the retry request, or None when exhausted."""
        max_times = request.meta.get("max_retry_times", self.max_retry_times)
        if request.meta.get("retry_times", 0) >= max_times:
            get_retry_request(request, spider=self.crawler.spider, reason=reason, max_retry_times=max_times)
            return None
        delay = self.delay_for(request, response)
        if delay > 0:
            await asyncio.sleep(delay)
        return get_retry_request(request, spider=self.crawler.spider, reason=reason, max_retry_times=max_times)

    async def process_response(self, request: Request, response: Response) -> Request | Response:
        """Retry a retryable status after the right delay; pass other responses on."""
        if request.meta.get("dont_retry") or response.status not in self.codes:
            return response
        retry = await self._retry(request, response_status_message(response.status), response)
        return retry or response

    async def process_exception(self, request: Request, exception: Exception) -> Request | None:
        """Retry connection errors and timeouts with backoff."""
        if request.meta.get("dont_retry") or not isinstance(exception, RETRY_EXCEPTIONS):
            return None
        return await self._retry(request, exception, None)


class DirectorySpider(scrapy.Spider):
    """Base of the directory spiders: reads ghostcheck.toml, picks the insurer's directory, tracks outcome."""

    directory_kind = ""

    def __init__(self, config: str | None = None, insurer: str | None = None, run_id: str | None = None,
                 **kwargs: Any) -> None:
        """Load the config and the `[[directory]]` of `insurer` (errors become a failed source, not a traceback)."""
        super().__init__(**kwargs)
        self.run_id = run_id or new_run_id()
        self.source_name = insurer or ""
        self.failure: str | None = None
        self.pages = 0
        self.started_at: str | None = None
        self.landing_files: list[str] = []
        self.published_items = 0  # records in landing files the spider wrote itself (DuckDB Parquet), not as items
        self.config: Config | None = None
        self.directory: DirectoryConfig | None = None
        try:
            self.config = load_config(config)
            if not insurer:
                raise ConfigError(f"{self.config.source_path}: pass the directory with -a insurer=NAME")
            self.directory = self.config.directory_named(insurer)
            self.source_name = self.directory.insurer
            if self.directory.kind != self.directory_kind:
                raise ConfigError(f"{self.config.source_path}: directory {insurer!r} is kind "
                                  f"{self.directory.kind!r}, not {self.directory_kind!r} (spider {self.name})")
        except ConfigError as exc:
            self.failure = str(exc)

    @property
    def landing_root(self) -> str | None:
        """The configured landing root (None when the config could not be read)."""
        return self.config.warehouse.landing if self.config else None

    def needs_js(self) -> bool:
        """Whether this spider may render pages with Playwright (only HTML directories do)."""
        return False

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> "DirectorySpider":
        """Create the spider, then apply `[crawl]` settings (allowed in from_crawler since Scrapy 2.11)."""
        spider = super().from_crawler(crawler, *args, **kwargs)
        if spider.config is not None:
            crawler.settings.setdict(settings_from_config(spider.config.crawl, render_js=spider.needs_js()),
                                     priority="spider")
        return spider

    def fail(self, reason: str) -> None:
        """Record why this directory failed (the first reason wins) and log it once."""
        if self.failure is None:
            self.failure = reason
            self.logger.error("directory failed: %s", reason)

    def quarantine(self, url: str, error: str, row: int | None = None, raw: str | bytes | None = None) -> dict[str, Any]:
        """A quarantine item for the landing pipeline."""
        return {"_kind": "quarantine", "_source": self.source_name,
                **quarantine_record(self.source_name, url, error, row, raw)}

    def listings(self, records: list[dict[str, Any]]) -> dict[str, Any]:
        """One landing item carrying a batch of listing records (Scrapy's per-item cost is paid once per batch)."""
        return {"_kind": "listings", "_source": self.source_name, "_records": records}

    def failure_reason(self, failure: Any) -> str:
        """One line for a failed request: the SSRF/robots refusal, HTTP status or network error."""
        request = getattr(failure, "request", None)
        blocked = request.meta.get("ghostcheck_blocked") if request is not None else None
        if blocked:
            return blocked
        value = failure.value
        response = getattr(value, "response", None)
        url = request.url if request is not None else "?"
        if response is not None:
            return f"{response.url}: HTTP {response_status_message(response.status)}"
        message = str(value) or type(value).__name__
        if "robots.txt" in message.lower() or type(value).__name__ == "IgnoreRequest":
            return f"{url}: {message or 'refused (robots.txt)'}"
        return f"{url}: {type(value).__name__}: {message}"
