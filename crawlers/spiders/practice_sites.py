"""`practice_sites`: crawl practice websites (home page + the pages that matter) and land claims.

Run with `scrapy crawl practice_sites -a config=ghostcheck.toml [-a run_id=ID]`
or `ghostcheck crawl sites`. For every site it emits `evidence` records (one per
page, and one for a site that could not be reached), and after the site's last
page the `observations` that `crawlers.extract.site.aggregate_site` draws from
the pages.
"""

from __future__ import annotations

import asyncio
import hashlib
import multiprocessing
import os
import weakref
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any, AsyncIterator

import scrapy
from scrapy import signals
from scrapy.exceptions import IgnoreRequest, StopDownload
from scrapy.http import Request, Response, TextResponse
from scrapy_playwright.page import PageMethod

from crawlers.config import Config, ConfigError, load_config
from crawlers.landing import new_run_id, utcnow_iso
from crawlers.safety import BlockedTarget, check_url
from crawlers.settings import settings_from_config
from crawlers.sites.analyze import PageAnalysis, analyze_page
from crawlers.sites.evidence import evidence_record
from crawlers.sites.links import page_key
from crawlers.sites.seeds import Seed, collect_seeds, path_root, site_domain
from crawlers.spiders import ERROR_STATUSES

SOURCE = "sites"
DEFAULT_RETRIES = 2
SETTLE_MS = 3000
MAX_LISTED_UNREACHABLE = 1000  # source_stats names this many unreachable sites (all are in the evidence)


async def settle(page: Any) -> None:
    """Give a rendered page's scripts a moment to fetch content (network idle, at most SETTLE_MS)."""
    try:
        await page.wait_for_load_state("networkidle", timeout=SETTLE_MS)
    except Exception:  # noqa: BLE001 - a page that never goes idle is read as it is
        pass


def shard_of(domain: str, shards: int) -> int:
    """The shard a registered domain belongs to (stable across processes and runs)."""
    return int(hashlib.sha1(domain.encode("utf-8")).hexdigest()[:8], 16) % shards


def default_workers() -> int:
    """Page-reading worker processes: one per CPU beyond the crawler's own, at least one, at most four."""
    return max(1, min(4, (os.cpu_count() or 1) - 1))


@dataclass
class SiteState:
    """Progress of one site: its seed, pages read so far, requests still out, errors seen."""

    seed: Seed
    domain: str
    root: str = "/"
    pages: list[Any] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)
    pending: int = 0
    fetched: int = 0
    rendered: int = 0
    budget: int = 0  # pages after the home page still allowed (max_pages_per_site)
    home_error: str | None = None
    done: bool = False


def describe_failure(failure: Any) -> str:
    """One line for a failed request: SSRF/robots refusal, redirect cap, timeout, DNS, refused..."""
    request = getattr(failure, "request", None)
    url = request.url if request is not None else "?"
    blocked = request.meta.get("ghostcheck_blocked") if request is not None else None
    if blocked:
        return blocked
    value = failure.value
    name = type(value).__name__
    message = str(value).strip()
    if isinstance(value, IgnoreRequest):
        if "robots" in message.lower():
            return f"{url}: disallowed by robots.txt"
        if "redirect" in message.lower():
            return f"{url}: redirect loop or too many redirects ({message})"
        return f"{url}: {message or 'request ignored'}"
    if "Timeout" in name or "timed out" in message.lower():
        return f"{url}: timeout ({message or name})"
    if name == "DNSLookupError":
        return f"{url}: DNS lookup failed"
    if name == "ConnectionRefusedError":
        return f"{url}: connection refused"
    return f"{url}: {name}: {message}" if message else f"{url}: {name}"


class PracticeSitesSpider(scrapy.Spider):
    """Crawl each practice site: home page, then the best same-site pages; land evidence and claims."""

    name = "practice_sites"
    directory_kind = "sites"

    def __init__(self, config: str | None = None, run_id: str | None = None, retries: str | int | None = None,
                 workers: str | int | None = None, shard: str | int = 0, shards: str | int = 1,
                 **kwargs: Any) -> None:
        """Load the config (a config error becomes the source's failure reason, not a traceback)."""
        super().__init__(**kwargs)
        self.run_id = run_id or new_run_id()
        self.source_name = SOURCE
        self.failure: str | None = None
        self.pages = 0
        self.started_at: str | None = None
        self.landing_files: list[str] = []
        self.outcome: dict[str, Any] | None = None
        self.config: Config | None = None
        try:
            self.retries = max(0, int(retries)) if retries not in (None, "") else DEFAULT_RETRIES
            self.workers = max(0, int(workers)) if workers not in (None, "") else default_workers()
            self.shard, self.shards = int(shard), max(1, int(shards))
        except ValueError:
            self.retries, self.workers, self.shard, self.shards = DEFAULT_RETRIES, default_workers(), 0, 1
            self.failure = ("practice_sites: retries, workers, shard and shards must be whole numbers "
                            f"(got {retries!r}, {workers!r}, {shard!r}, {shards!r})")
        if self.shards > 1:
            # Shards of one run write side by side: `<run_id>__shard-N-of-M.jsonl` (the loader reads the run id
            # before `__`), so no shard replaces another's landing files.
            self.run_id = f"{self.run_id}__shard-{self.shard + 1}-of-{self.shards}"
        self._pool: ProcessPoolExecutor | None = None
        self._insurers: tuple[str, ...] | None = None
        self.sites: dict[str, SiteState] = {}
        self.source_stats: dict[str, Any] = {"sites": 0, "sites_reached": 0, "sites_unreachable": 0,
                                             "pages_rendered": 0, "pages_truncated": 0, "unreachable": []}
        self._bytes: weakref.WeakKeyDictionary[Request, int] = weakref.WeakKeyDictionary()
        try:
            self.config = load_config(config)
        except ConfigError as exc:
            self.failure = str(exc)

    @property
    def landing_root(self) -> str | None:
        """The configured landing root (None when the config could not be read)."""
        return self.config.warehouse.landing if self.config else None

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> "PracticeSitesSpider":
        """Create the spider, apply `[crawl]` settings, and watch downloads for the page-size cap."""
        spider = super().from_crawler(crawler, *args, **kwargs)
        if spider.config is not None:
            crawl = spider.config.crawl
            settings = settings_from_config(crawl, render_js=crawl.render_js != "never")
            # The size cap truncates (bytes_received + StopDownload) instead of failing; DOWNLOAD_MAXSIZE
            # stays only as a guard against decompression bombs.
            settings["DOWNLOAD_MAXSIZE"] = crawl.max_page_bytes * 32
            settings["DOWNLOAD_WARNSIZE"] = 0
            # Practice sites are many and small: a dead one is retried a little, not with the directory backoff
            # (this also bounds robots.txt requests, which carry no per-request retry limit).
            settings["RETRY_TIMES"] = spider.retries
            # Each callback yields a handful of items; Scrapy's default of 100 parallel item workers per
            # callback costs more asyncio tasks than the items themselves.
            settings["CONCURRENT_ITEMS"] = 8
            crawler.settings.setdict(settings, priority="spider")
        crawler.signals.connect(spider.on_bytes_received, signal=signals.bytes_received)
        return spider

    # ---- seeds -------------------------------------------------------------------------------------------

    async def start(self) -> AsyncIterator[Any]:
        """Yield quarantine items for bad seed rows, then the home-page request of every site."""
        if self.config is None:
            return
        config = self.config
        landing = config.warehouse.landing if config.sites.from_directory else None
        try:
            seeds, bad = collect_seeds(config.site_files(), landing_root=landing)
        except (OSError, ValueError) as exc:
            self.failure = f"sites seeds: {exc}"
            return
        if self.shards > 1:
            seeds = [seed for seed in seeds if shard_of(site_domain(seed.url), self.shards) == self.shard]
            bad = bad if self.shard == 0 else []  # bad seed rows are reported once, by the first shard
        for record in bad:
            yield {"_kind": "quarantine", "_source": SOURCE, **record}
        self.source_stats["sites"] = len(seeds)
        self.logger.info("practice_sites: %d sites to crawl (%d bad seed rows)", len(seeds), len(bad))
        for seed in seeds:
            state = SiteState(seed=seed, domain=site_domain(seed.url), root=seed.path_root,
                              budget=config.crawl.max_pages_per_site)
            self.sites[seed.site_key] = state
            state.seen.add(page_key(seed.url))
            yield self._request(state, seed.url, home=True, follow=True)

    # ---- requests ----------------------------------------------------------------------------------------

    def _request(self, state: SiteState, url: str, home: bool = False, render: bool = False,
                 follow: bool = False) -> Request:
        """A page request of `state`'s site (counted as pending until its callback or errback runs).

        `follow`: the page's links are followed (the home page, and the frames of a frameset home page).
        """
        assert self.config is not None
        render = render or self.config.crawl.render_js == "always"
        meta: dict[str, Any] = {
            "site_key": state.seed.site_key,
            "home": home,
            "follow": follow,
            "rendered": render,
            "handle_httpstatus_list": ERROR_STATUSES,
            "max_retry_times": self.retries,
        }
        if render:
            meta.update(playwright=True, playwright_page_methods=[PageMethod(settle)],
                        playwright_page_goto_kwargs={"wait_until": "load"})
        state.pending += 1
        return Request(url, callback=self.parse_page, errback=self.page_failed, meta=meta, dont_filter=True,
                       priority=1 if not home else 0)

    def on_bytes_received(self, data: bytes, request: Request, spider: Any = None) -> None:
        """Stop a download once it passes max_page_bytes; the partial page is kept and marked truncated."""
        if self.config is None:
            return
        total = self._bytes.get(request, 0) + len(data)
        self._bytes[request] = total
        if total > self.config.crawl.max_page_bytes:
            raise StopDownload(fail=False)

    # ---- callbacks ---------------------------------------------------------------------------------------

    async def parse_page(self, response: Response) -> AsyncIterator[Any]:
        """Record a fetched page, render it if it is a JS shell, else extract claims and follow links."""
        state = self.sites[response.meta["site_key"]]
        try:
            async for item in self._handle_page(state, response):
                yield item
        except Exception as exc:  # noqa: BLE001 - one bad page must not lose the rest of the site
            self.logger.error("practice_sites: %s: page not processed: %s: %s", response.url, type(exc).__name__, exc)
            self.crawler.stats.inc_value("ghostcheck/page_errors")
        for item in self._release(state):
            yield item

    def page_failed(self, failure: Any) -> Any:
        """Record a page that could not be fetched (the site stays in the results as unreachable)."""
        request = failure.request
        state = self.sites[request.meta["site_key"]]
        error = describe_failure(failure)
        self.logger.info("site page failed: %s", error)
        if request.meta.get("home") and not state.pages:
            state.home_error = error
        yield self._evidence_item(evidence_record(
            url=request.url, site_url=state.seed.url, fetched_at=utcnow_iso(), rendered=bool(request.meta.get("rendered")),
            error=error, requested_url=(request.meta.get("redirect_urls") or [request.url])[0],
            practice_name=state.seed.practice_name))
        yield from self._release(state)

    async def _handle_page(self, state: SiteState, response: Response) -> AsyncIterator[Any]:
        """Evidence for one response, then rendering, extraction and link following as needed."""
        assert self.config is not None
        crawl = self.config.crawl
        meta = response.meta
        fetched_at = utcnow_iso()
        rendered = bool(meta.get("rendered"))
        truncated = "download_stopped" in response.flags or len(response.body) > crawl.max_page_bytes
        if truncated:
            response = response.replace(body=response.body[: crawl.max_page_bytes])
            self.source_stats["pages_truncated"] += 1
        self.pages += 1
        common = {"url": response.url, "site_url": state.seed.url, "fetched_at": fetched_at,
                  "http_status": response.status, "rendered": rendered, "truncated": truncated,
                  "requested_url": (meta.get("redirect_urls") or [response.url])[0],
                  "practice_name": state.seed.practice_name}
        if rendered:
            try:
                check_url(response.url, crawl.allow_private_networks)  # where the browser ended up
            except BlockedTarget as exc:
                yield self._evidence_item(evidence_record(**common, error=str(exc)))
                return
        is_text = isinstance(response, TextResponse)
        readable = is_text and response.status < 400
        follow = readable and bool(meta.get("follow")) and state.budget > 0
        if follow and meta.get("home") and site_domain(response.url) != state.domain:
            # The home page moved to another domain (practice.com -> bighealth.org/locations/x/):
            # the site is where it landed, so its links are followed there.
            state.domain, state.root = site_domain(response.url), path_root(response.url)
        analysis = await self._analyze(
            response.body, response.text if readable else None, self.config.warehouse.landing, response.url,
            fetched_at, getattr(response, "encoding", None), crawl.render_js, rendered, follow,
            state.domain, state.root, state.budget, frozenset(state.seen))
        common.update(content_sha256=analysis.sha256, snapshot_path=analysis.snapshot_path,
                      encoding=getattr(response, "encoding", None))
        if not readable:
            kind = response.headers.get("Content-Type", b"").decode("latin-1") or "no content type"
            error = f"{response.url}: HTTP {response.status}" if response.status >= 400 else \
                f"{response.url}: not a text page ({kind})"
            if meta.get("home") and not state.pages:
                state.home_error = error
            yield self._evidence_item(evidence_record(**common, error=error))
            return
        yield self._evidence_item(evidence_record(**common, snippet=analysis.snippet))
        if analysis.render:
            yield self._request(state, response.url, home=bool(meta.get("home")), render=True,
                                follow=bool(meta.get("follow")))
            return
        state.fetched += 1
        if rendered:
            state.rendered += 1
            self.source_stats["pages_rendered"] += 1
        for url, category in analysis.links:
            key = page_key(url)
            if key not in state.seen and state.budget > 0:
                state.seen.add(key)
                state.budget -= 1
                yield self._request(state, url, follow=category == "frame")
        if analysis.error:
            self.logger.error("practice_sites: %s", analysis.error)
            self.crawler.stats.inc_value("ghostcheck/extract_errors")
        if analysis.claims is not None:
            state.pages.append(analysis.claims)

    async def _analyze(self, *args: Any) -> PageAnalysis:
        """Run analyze_page off the reactor: in worker processes (workers > 0) or a thread."""
        call = partial(analyze_page, *args, known_insurers=self._known_insurers())
        loop = asyncio.get_running_loop()
        in_memory = bool(self.landing_root and self.landing_root.startswith("memory://"))  # not shared with workers
        if self.workers > 0 and not in_memory:
            if self._pool is None:
                self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=multiprocessing.get_context("spawn"))
            return await loop.run_in_executor(self._pool, call)
        return await loop.run_in_executor(None, call)

    def _known_insurers(self) -> tuple[str, ...]:
        """Insurer names from the config (directories and aliases) to help insurer extraction."""
        if self._insurers is not None:
            return self._insurers
        if self.config is None:
            return ()
        names: list[str] = [d.insurer for d in self.config.directory]
        for insurer, aliases in self.config.reconcile.insurer_aliases.items():
            names.append(insurer)
            names.extend(aliases)
        self._insurers = tuple(dict.fromkeys(names))
        return self._insurers

    def _release(self, state: SiteState) -> Any:
        """Count one request of the site as finished; after the last one, emit the site's observations."""
        state.pending -= 1
        if state.pending > 0 or state.done:
            return
        state.done = True
        self.sites.pop(state.seed.site_key, None)  # a finished site's pages are not needed any more
        if state.fetched:
            self.source_stats["sites_reached"] += 1
        if state.pages:
            observed_at = max(getattr(p, "fetched_at", "") or "" for p in state.pages) or utcnow_iso()
            try:
                from crawlers.extract.site import aggregate_site

                records = aggregate_site(state.pages, state.seed.url, state.seed.to_dict(), observed_at)
            except Exception as exc:  # noqa: BLE001 - keep crawling the other sites; evidence is already landed
                self.logger.error("practice_sites: %s: claims not aggregated: %s: %s", state.seed.url,
                                  type(exc).__name__, exc)
                self.crawler.stats.inc_value("ghostcheck/site_errors")
                records = []
            for record in records:
                yield {"_kind": "observations", "_source": SOURCE, **record}
        elif not state.fetched:
            self.source_stats["sites_unreachable"] += 1
            reason = state.home_error or "no page could be read"
            if len(self.source_stats["unreachable"]) < MAX_LISTED_UNREACHABLE:
                self.source_stats["unreachable"].append({"site_url": state.seed.url, "error": reason})
            self.crawler.stats.inc_value("ghostcheck/sites_unreachable")

    def _evidence_item(self, record: dict[str, Any]) -> dict[str, Any]:
        """Tag an evidence record for the landing pipeline."""
        return {"_kind": "evidence", "_source": SOURCE, **record}

    def closed(self, reason: str) -> None:
        """Stop the page readers and log the site outcome summary (the `sources` record carries the counts)."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
        stats = self.source_stats
        self.logger.info("practice_sites: %d sites, %d reached, %d unreachable, %d pages (%d rendered, %d truncated)",
                         stats["sites"], stats["sites_reached"], stats["sites_unreachable"], self.pages,
                         stats["pages_rendered"], stats["pages_truncated"])
        for key in ("sites", "sites_reached", "sites_unreachable", "pages_rendered", "pages_truncated"):
            self.crawler.stats.set_value(f"ghostcheck/{key}", stats[key])
