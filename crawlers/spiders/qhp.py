"""`qhp_directory`: CMS QHP index.json -> providers.json, streamed with ijson (files reach gigabytes)."""

from __future__ import annotations

import asyncio
import gzip
import json
import threading
from typing import Any, AsyncIterator, Callable, Iterator
from urllib.parse import urljoin

import httpx
import ijson
import scrapy
from scrapy import signals
from scrapy.exceptions import StopDownload
from scrapy.http import Response

from crawlers.landing import utcnow_iso
from crawlers.parse.qhp import EntryError, index_urls, provider_listings
from crawlers.safety import BlockedTarget, check_url
from crawlers.spiders import DirectorySpider

BATCH = 500  # entries handed from the streaming thread to the spider at a time
QUEUE_BATCHES = 8  # at most this many batches in flight: memory stays flat whatever the file size
READ_CHUNK = 1 << 20


class StreamError(Exception):
    """A providers file that could not be streamed to the end (reason in the message)."""


class _ChunkReader:
    """A minimal file-like `read(n)` over an iterator of byte chunks (what ijson consumes); short reads allowed."""

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


def stream_entries(url: str, headers: dict[str, str], timeout: float, allow_private: bool, max_redirects: int,
                   deliver: Callable[[list[tuple[int, Any]]], bool]) -> int:
    """Stream a providers.json array entry by entry (gzip too) and deliver batches; return the entry count.

    Every redirect target passes the SSRF guard. `deliver` returns False to stop early.
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
                reader: Any = _ChunkReader(response.iter_bytes(READ_CHUNK))
                if current.split("?")[0].endswith(".gz"):
                    reader = gzip.GzipFile(fileobj=reader)
                count, batch = 0, []
                try:
                    for entry in ijson.items(reader, "item", use_float=True):
                        batch.append((count, entry))
                        count += 1
                        if len(batch) >= BATCH:
                            if not deliver(batch):
                                return count
                            batch = []
                except ijson.JSONError as exc:
                    deliver(batch)
                    raise StreamError(f"{current}: malformed JSON after entry {count}: {exc}") from None
                except (httpx.HTTPError, OSError, EOFError) as exc:
                    deliver(batch)
                    raise StreamError(f"{current}: download broke after entry {count}: {exc}") from None
                if batch:
                    deliver(batch)
                return count
    raise StreamError(f"{url}: more than {max_redirects} redirects")


class QhpDirectorySpider(DirectorySpider):
    """Crawl a CMS QHP provider directory (index.json -> providers.json) into listings, one per address."""

    name = "qhp_directory"
    directory_kind = "qhp"

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> "QhpDirectorySpider":
        """Create the spider and stop providers downloads after their headers (the body is streamed apart)."""
        spider = super().from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider.headers_received, signal=signals.headers_received)
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
                             meta={"handle_httpstatus_all": True, "download_maxsize": 64 * 1024 * 1024})

    def parse_index(self, response: Response) -> Iterator[Any]:
        """index.json -> one streamed request per provider_urls entry."""
        if response.status != 200:
            self.fail(f"{response.url}: HTTP {response.status}")
            return
        self.pages += 1
        try:
            data = json.loads(response.body)
        except (ValueError, UnicodeDecodeError) as exc:
            if response.body.lstrip()[:1] == b"[":  # the URL is a providers.json itself
                yield self._stream_request(response.url)
                return
            self.fail(f"{response.url}: malformed JSON in index: {exc}")
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
        """A header-only request for a providers file (the body is then streamed by `parse_providers`)."""
        return scrapy.Request(url, callback=self.parse_providers, errback=self.on_error, dont_filter=True,
                              meta={"handle_httpstatus_all": True, "ghostcheck_stream": True})

    async def parse_providers(self, response: Response) -> AsyncIterator[Any]:
        """Stream one providers.json in a worker thread; yield listings and quarantine records as batches arrive."""
        if response.status != 200:
            self.fail(f"{response.url}: HTTP {response.status}")
            yield self.quarantine(response.url, f"HTTP {response.status}")
            return
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=QUEUE_BATCHES)
        stop = threading.Event()
        done = object()
        crawl = self.config.crawl
        headers = {"User-Agent": crawl.user_agent, "Accept": "application/json"}

        def deliver(batch: list[tuple[int, Any]]) -> bool:
            """Hand a batch to the event loop, waiting while the queue is full (backpressure)."""
            while not stop.is_set():
                future = asyncio.run_coroutine_threadsafe(queue.put(batch), loop)
                try:
                    future.result(timeout=1.0)
                    return True
                except TimeoutError:
                    future.cancel()
            return False

        def work() -> None:
            """Thread body: stream, then signal the end (or the error)."""
            outcome: Any = done
            try:
                stream_entries(response.url, headers, crawl.timeout_seconds, crawl.allow_private_networks,
                               crawl.max_redirects, deliver)
            except StreamError as exc:
                outcome = exc
            except Exception as exc:  # noqa: BLE001 - any thread failure becomes this file's failure reason
                outcome = StreamError(f"{response.url}: {type(exc).__name__}: {exc}")
            deliver([outcome])  # type: ignore[list-item]

        thread = threading.Thread(target=work, name="qhp-stream", daemon=True)
        thread.start()
        fetched_at = utcnow_iso()
        self.pages += 1
        try:
            while True:
                batch = await queue.get()
                if batch and (batch[0] is done or isinstance(batch[0], StreamError)):
                    if isinstance(batch[0], StreamError):
                        self.fail(f"providers file incomplete: {batch[0]}")
                        yield self.quarantine(response.url, str(batch[0]))
                    break
                good: list[dict[str, Any]] = []
                for index, entry in batch:
                    try:
                        records = provider_listings(entry, self.directory.insurer, response.url, fetched_at, index)
                    except EntryError as exc:
                        yield self.quarantine(response.url, f"entry {index}: {exc}", row=index,
                                              raw=json.dumps(entry, ensure_ascii=False)[:2000])
                        continue
                    good.extend(records)
                if good:
                    yield self.listings(good)
        finally:
            stop.set()

    def on_error(self, failure: Any) -> Iterator[Any]:
        """A request that failed after retries (network error, SSRF/robots refusal)."""
        reason = self.failure_reason(failure)
        self.fail(reason)
        yield self.quarantine(failure.request.url, reason)
