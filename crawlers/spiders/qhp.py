"""`qhp_directory`: CMS QHP index.json -> providers.json (files reach gigabytes).

Each providers file is streamed to a spool file on disk (SSRF guard on every
redirect, timeouts, bounded memory), then turned into a listings landing Parquet
file by one DuckDB statement (`crawlers.bulk.qhp_sql`). Entries the SQL path
does not take (odd types, bad NPIs, non-objects) go through the Python parser
(`crawlers.parse.qhp`), which lists or quarantines them. A file DuckDB cannot
read (malformed or cut-off JSON) is parsed entry by entry with ijson instead, so
the entries before the break still land.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import logging
import os
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from typing import Any, AsyncIterator, Callable, Iterator
from urllib.parse import urljoin

import duckdb
import httpx
import ijson
import scrapy
from scrapy import signals
from scrapy.exceptions import StopDownload
from scrapy.http import Response

from crawlers.bulk import qhp_sql
from crawlers.landing import publish_file, utcnow_iso
from crawlers.parse import file_sha256, markup_hint
from crawlers.parse.qhp import EntryError, index_urls, provider_listings
from crawlers.safety import BlockedTarget, check_url
from crawlers.spiders import ERROR_STATUSES, DirectorySpider

logger = logging.getLogger(__name__)
BATCH = 500  # entries handed from the parsing thread to the spider at a time (Python path)
QUEUE_BATCHES = 8  # at most this many batches in flight: memory stays flat whatever the file size
READ_CHUNK = 1 << 20
DUCKDB_MEMORY = "200MB"  # DuckDB's cap in the crawler process (it spills to the spool folder beyond it)


class StreamError(Exception):
    """A providers file that could not be read to the end (reason in the message)."""


@dataclass
class Spool:
    """A providers file on disk: its path, the final URL, and why the download broke (if it did)."""

    path: str
    url: str
    error: str | None = None


class _ChunkReader:
    """A minimal file-like `read(n)` over an iterator of byte chunks (what GzipFile consumes); short reads allowed."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        """Wrap the chunk iterator."""
        self._chunks = chunks
        self._chunk = b""
        self._pos = 0

    def read(self, size: int = -1) -> bytes:
        """Return up to `size` bytes of the current chunk (b"" only at the end)."""
        while self._pos >= len(self._chunk):
            chunk = next(self._chunks, None)
            if chunk is None:
                return b""
            self._chunk, self._pos = chunk, 0
        end = len(self._chunk) if size is None or size < 0 else self._pos + size
        data = self._chunk[self._pos:end]
        self._pos += len(data)
        return data


def _gunzipped(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """The decompressed bytes of a gzip stream arriving in chunks, READ_CHUNK at a time."""
    with gzip.GzipFile(fileobj=_ChunkReader(chunks)) as body:  # type: ignore[arg-type]
        while data := body.read(READ_CHUNK):
            yield data


def spool_providers(url: str, headers: dict[str, str], timeout: float, allow_private: bool, max_redirects: int,
                    dest: str, stop: threading.Event | None = None) -> Spool:
    """Download a providers file to `dest` (gunzipped when the URL ends in .gz); never holds the body in memory.

    The listings' payload hash is the sha256 of this file (gunzipped bytes), computed while DuckDB reads it.
    Every redirect target passes the SSRF guard. Raises StreamError when nothing usable arrived (refused
    target, HTTP error, too many redirects); a download that breaks midway returns the partial file
    with `error` set, so the entries before the break can still be read.
    """
    current = url
    with httpx.Client(timeout=httpx.Timeout(timeout, read=timeout), follow_redirects=False) as client:
        for _ in range(max_redirects + 1):
            try:
                check_url(current, allow_private)
            except BlockedTarget as exc:
                raise StreamError(str(exc)) from None
            with client.stream("GET", current, headers=headers) as response:
                if response.is_redirect and response.headers.get("location"):
                    current = urljoin(current, response.headers["location"])
                    continue
                if response.status_code != 200:
                    raise StreamError(f"{current}: HTTP {response.status_code}")
                spool = Spool(dest, current)
                with open(dest, "wb") as out:
                    try:
                        chunks = response.iter_bytes()  # as received: a break loses nothing already read
                        gzipped = current.split("?")[0].endswith(".gz")
                        for data in (_gunzipped(chunks) if gzipped else chunks):
                            out.write(data)
                            if stop is not None and stop.is_set():
                                raise StreamError("crawl stopped")
                    except (httpx.HTTPError, OSError, EOFError) as exc:
                        spool.error = f"{type(exc).__name__}: {exc}"
                return spool
    raise StreamError(f"{url}: more than {max_redirects} redirects")


def parse_spooled(path: str, url: str, deliver: Callable[[list[tuple[int, Any]]], bool]) -> int:
    """Python path: stream a spooled providers file (array or JSON Lines) entry by entry in batches; return the count.

    Raises StreamError naming the entry after which the JSON broke. `deliver` returns False to stop early.
    """
    fmt = qhp_sql.json_format(path)
    if fmt is None:
        with open(path, "rb") as fh:
            hint = markup_hint(fh.read(2048))
        raise StreamError(f"{url}: not a providers file: neither a JSON array of provider entries nor JSON Lines{hint}")
    count, batch = 0, []
    with open(path, "rb") as fh:
        qhp_sql.skip_bom(fh)
        entries = (ijson.items(fh, "item", use_float=True) if fmt == "array"
                   else ijson.items(fh, "", use_float=True, multiple_values=True))  # JSON Lines: one entry per value
        try:
            for entry in entries:
                batch.append((count, entry))
                count += 1
                if len(batch) >= BATCH:
                    if not deliver(batch):
                        return count
                    batch = []
        except ijson.JSONError as exc:
            deliver(batch)
            raise StreamError(f"{url}: malformed JSON after entry {count}: {exc}") from None
    if batch:
        deliver(batch)
    return count


def convert_spooled(path: str, work_dir: str, insurer: str, url: str, fetched_at: str,
                    payload_sha256: str | None = None) -> qhp_sql.SqlConversion | None:
    """SQL path over a spooled file; None when DuckDB cannot read it (the Python path then decides)."""
    con = qhp_sql.connect(work_dir, memory_limit=DUCKDB_MEMORY)
    try:
        return qhp_sql.convert_providers(con, path, f"{work_dir}/out", insurer, url, fetched_at, payload_sha256)
    except duckdb.Error as exc:
        logger.warning("%s: DuckDB cannot read the file (%s); parsing it entry by entry", url,
                       (str(exc).splitlines() or [type(exc).__name__])[0])
        return None
    finally:
        con.close()


class QhpDirectorySpider(DirectorySpider):
    """Crawl a CMS QHP provider directory (index.json -> providers.json) into listings, one per address."""

    name = "qhp_directory"
    directory_kind = "qhp"

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> "QhpDirectorySpider":
        """Create the spider and stop providers downloads after their headers (the body is streamed apart)."""
        spider = super().from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider.headers_received, signal=signals.headers_received)
        spider.sql_lock = asyncio.Lock()  # one DuckDB conversion at a time: memory stays capped
        spider.files_done = 0
        return spider

    def headers_received(self, headers: Any, body_length: Any, request: Any, spider: Any = None) -> None:
        """Stop a streamed request once its status and headers are known (robots, SSRF, retries already applied)."""
        if request.meta.get("ghostcheck_stream"):
            raise StopDownload(fail=False)

    async def start(self) -> Any:
        """Request index.json (or a providers file directly when the URL is not an index)."""
        if self.failure or self.directory is None:
            return
        yield scrapy.Request(self.directory.url, callback=self.parse_index, errback=self.on_error,
                             meta={"handle_httpstatus_list": ERROR_STATUSES, "download_maxsize": 64 * 1024 * 1024})

    def parse_index(self, response: Response) -> Iterator[Any]:
        """index.json -> one streamed request per provider_urls entry."""
        if response.status != 200:
            self.fail(f"{response.url}: HTTP {response.status}")
            return
        self.pages += 1
        try:
            data = json.loads(response.body)
        except (ValueError, UnicodeDecodeError) as exc:
            head = response.body.removeprefix(qhp_sql.BOM).lstrip()[:1]
            if head == b"[" or (head == b"{" and "Extra data" in str(exc)):  # a providers file itself (array or JSON Lines)
                yield self._stream_request(response.url)
                return
            self.fail(f"{response.url}: malformed JSON in index: {exc}{markup_hint(response.body)}")
            yield self.quarantine(response.url, f"malformed JSON: {exc}", raw=response.body)
            return
        if isinstance(data, list):
            yield self._stream_request(response.url)
            return
        try:
            providers, plans = index_urls(data, response.url)
        except EntryError as exc:
            self.fail(f"{response.url}: {exc}")
            yield self.quarantine(response.url, str(exc), raw=response.body)
            return
        self.plan_urls = plans
        limit = self.directory.max_pages
        for url in providers[:limit] if limit else providers:
            yield self._stream_request(url)

    def _stream_request(self, url: str) -> scrapy.Request:
        """A header-only request for a providers file (the body is then fetched by `parse_providers`)."""
        return scrapy.Request(url, callback=self.parse_providers, errback=self.on_error, dont_filter=True,
                              meta={"handle_httpstatus_list": ERROR_STATUSES, "ghostcheck_stream": True})

    async def parse_providers(self, response: Response) -> AsyncIterator[Any]:
        """Spool one providers file to disk, convert it with DuckDB, and hand odd entries to the Python parser."""
        if response.status != 200:
            self.fail(f"{response.url}: HTTP {response.status}")
            yield self.quarantine(response.url, f"HTTP {response.status}")
            return
        crawl = self.config.crawl
        headers = {"User-Agent": crawl.user_agent, "Accept": "application/json"}
        work = tempfile.mkdtemp(prefix="gc-qhp-")
        stop = threading.Event()
        self.pages += 1
        try:
            started = time.perf_counter()
            try:
                spool = await asyncio.to_thread(spool_providers, response.url, headers, crawl.timeout_seconds,
                                                crawl.allow_private_networks, crawl.max_redirects,
                                                f"{work}/providers.json", stop)
            except StreamError as exc:
                self.fail(f"providers file incomplete: {exc}")
                yield self.quarantine(response.url, str(exc))
                return
            fetched_at = utcnow_iso()
            logger.info("%s: %.0f MB spooled in %.1f s", response.url, os.path.getsize(spool.path) / 1e6,
                        time.perf_counter() - started)
            converted = None
            if spool.error is None:
                async with self.sql_lock:
                    started = time.perf_counter()
                    converted = await asyncio.to_thread(convert_spooled, spool.path, work, self.directory.insurer,
                                                        response.url, fetched_at)
                logger.info("%s: converted in %.1f s", response.url, time.perf_counter() - started)
            if converted is not None:
                self.files_done += 1
                if converted.parquet:
                    self.landing_files.append(publish_file(converted.parquet, self.landing_root, "listings",
                                                           self.source_name, self.run_id,
                                                           part=f"providers-{self.files_done}"))
                    self.published_items += converted.listings
                for item in self._parsed(qhp_sql.misfit_entries(converted.misfit_files), response.url, fetched_at,
                                         converted.sha256):
                    yield item
                return
            async for item in self._python_path(spool, response.url, fetched_at, stop):
                yield item
        finally:
            stop.set()
            shutil.rmtree(work, ignore_errors=True)

    def _parsed(self, entries: Iterator[tuple[int, Any]], url: str, fetched_at: str,
                payload_sha256: str | None) -> Iterator[Any]:
        """Listings (in batch items of BATCH entries) and quarantine items of entries parsed in Python."""
        good: list[dict[str, Any]] = []
        for seen, (index, entry) in enumerate(entries, start=1):
            try:
                good.extend(provider_listings(entry, self.directory.insurer, url, fetched_at, index, payload_sha256))
            except EntryError as exc:
                yield self.quarantine(url, f"entry {index}: {exc}", row=index,
                                      raw=json.dumps(entry, ensure_ascii=False)[:2000])
            if good and seen % BATCH == 0:
                yield self.listings(good)
                good = []
        if good:
            yield self.listings(good)

    async def _python_path(self, spool: Spool, url: str, fetched_at: str, stop: threading.Event) -> AsyncIterator[Any]:
        """Parse a spooled file DuckDB could not read entry by entry in a worker thread (bounded queue)."""
        loop = asyncio.get_running_loop()
        sha256 = await asyncio.to_thread(file_sha256, spool.path)
        queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=QUEUE_BATCHES)
        done = object()
        counted: list[int] = []

        def deliver(batch: list[Any]) -> bool:
            """Hand a batch to the event loop, waiting while the queue is full (backpressure)."""
            counted.append(sum(1 for item in batch if isinstance(item, tuple)))
            while not stop.is_set():
                future = asyncio.run_coroutine_threadsafe(queue.put(batch), loop)
                try:
                    future.result(timeout=1.0)
                    return True
                except TimeoutError:
                    future.cancel()
            return False

        def work() -> None:
            """Thread body: parse, then signal the end (or the error)."""
            outcome: Any = done
            try:
                parse_spooled(spool.path, url, deliver)
            except StreamError as exc:
                outcome = exc
            except Exception as exc:  # noqa: BLE001 - any thread failure becomes this file's failure reason
                outcome = StreamError(f"{url}: {type(exc).__name__}: {exc}")
            if spool.error is not None:  # the download broke: that, not the cut-off JSON, is the reason
                outcome = StreamError(f"{spool.url}: download broke after entry {sum(counted)}: {spool.error}")
            deliver([outcome])

        threading.Thread(target=work, name="qhp-parse", daemon=True).start()
        while True:
            batch = await queue.get()
            if batch and (batch[0] is done or isinstance(batch[0], StreamError)):
                if isinstance(batch[0], StreamError):
                    self.fail(f"providers file incomplete: {batch[0]}")
                    yield self.quarantine(url, str(batch[0]))
                break
            for item in self._parsed(iter(batch), url, fetched_at, sha256):
                yield item

    def on_error(self, failure: Any) -> Iterator[Any]:
        """A request that failed after retries (network error, SSRF/robots refusal)."""
        reason = self.failure_reason(failure)
        self.fail(reason)
        yield self.quarantine(failure.request.url, reason)
