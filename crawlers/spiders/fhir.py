"""`fhir_directory`: Da Vinci PDex Plan-Net / CMS NDH PractitionerRole search with includes, paging and batch fetches."""

from __future__ import annotations

import json
import os
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Iterator
from urllib.parse import urlencode, urljoin, urlsplit

import scrapy
from scrapy.exceptions import CloseSpider
from scrapy.http import Response

from crawlers.landing import utcnow_iso
from crawlers.parse import sha256_bytes
from crawlers.parse.fhir import BundleError, Page, missing_references, parse_bundle, role_listings
from crawlers.spiders import DirectorySpider
from reconcile.normalize.npi import is_valid_npi

INCLUDES = ("PractitionerRole:practitioner", "PractitionerRole:location", "PractitionerRole:organization",
            "PractitionerRole:service")
BATCH_IDS = 50  # ids per `_id=a,b,c` request (keeps URLs well under common 8 KB limits)
CACHE_SIZE = 20_000  # referenced resources kept for later pages (bounded: ~2 KB each as Python dicts)
MAX_BUNDLE_BYTES = 256 * 1024 * 1024
FHIR_ACCEPT = "application/fhir+json, application/json;q=0.9"


def search_url(base: str, page_size: int, includes: tuple[str, ...] = INCLUDES) -> str:
    """The first PractitionerRole search URL (config may give the API base or a full search URL)."""
    if "/PractitionerRole" in base:
        return base
    query = [("_include", inc) for inc in includes] + [("_count", str(page_size))]
    return f"{base.rstrip('/')}/PractitionerRole?{urlencode(query, safe=':')}"


def api_base(url: str) -> str:
    """The FHIR base URL (the part before /PractitionerRole, without query)."""
    return url.split("/PractitionerRole")[0].split("?")[0].rstrip("/")


def same_origin(a: str, b: str) -> bool:
    """True when two URLs share scheme, host and port (the token is only ever sent to the API's origin)."""
    pa, pb = urlsplit(a), urlsplit(b)
    return (pa.scheme, pa.hostname, pa.port) == (pb.scheme, pb.hostname, pb.port)


@dataclass
class PendingPage:
    """A Bundle page waiting for batch fetches of referenced resources before its listings are emitted."""

    page: Page
    url: str
    fetched_at: str
    sha256: str
    outstanding: int


class FhirDirectorySpider(DirectorySpider):
    """Crawl a Plan-Net/NDH FHIR API into listings (one per PractitionerRole x Location)."""

    name = "fhir_directory"
    directory_kind = "fhir"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Set up paging state and the resource cache."""
        super().__init__(*args, **kwargs)
        self.cache: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self.seen_pages: set[str] = set()
        self.token: str | None = None
        self.base = api_base(self.directory.url) if self.directory else ""

    def _headers(self, url: str) -> dict[str, str]:
        """Accept header, plus the bearer token only for the API's own origin."""
        headers = {"Accept": FHIR_ACCEPT}
        if self.token and same_origin(url, self.base):
            headers["Authorization"] = f"Bearer {self.token}"
        return headers

    def _request(self, url: str, callback: Any, **meta: Any) -> scrapy.Request:
        """A request that hands every status to the callback (retries happen in the middleware first)."""
        return scrapy.Request(url, callback=callback, errback=self.on_error, headers=self._headers(url),
                              dont_filter=meta.pop("dont_filter", False),
                              meta={"handle_httpstatus_all": True, "download_maxsize": MAX_BUNDLE_BYTES, **meta})

    async def start(self) -> Any:
        """First search request, unless the config or the token is missing."""
        if self.failure or self.directory is None:
            return
        env = self.directory.token_env
        if env:
            self.token = os.environ.get(env, "").strip() or None
            if not self.token:
                self.fail(f"{self.directory.insurer}: environment variable {env} is not set or empty "
                          f"(it holds the API token for {self.base}); no request sent")
                return
        first = search_url(self.directory.url, self.directory.page_size)
        self.seen_pages.add(first)
        yield self._request(first, self.parse_page, first_page=True)

    def _status_problem(self, response: Response) -> str | None:
        """None for 2xx; else a one-line reason (401/403 name the token's env var)."""
        if 200 <= response.status < 300:
            return None
        if response.status in (401, 403):
            hint = f" (check the token in ${self.directory.token_env})" if self.directory.token_env else \
                " (the API requires a token: set token_env)"
            word = "Unauthorized" if response.status == 401 else "Forbidden"
            return f"{response.url}: HTTP {response.status} {word}{hint}"
        return f"{response.url}: HTTP {response.status}"

    def _load(self, response: Response) -> tuple[Page | None, dict[str, Any] | None]:
        """Parse a response body as a Bundle: (page, None), or (None, quarantine item)."""
        try:
            data = json.loads(response.body)
        except (ValueError, UnicodeDecodeError) as exc:
            return None, self.quarantine(response.url, f"malformed JSON: {exc}", raw=response.body)
        try:
            return parse_bundle(data), None
        except BundleError as exc:
            return None, self.quarantine(response.url, str(exc), raw=response.body)

    def parse_page(self, response: Response) -> Iterator[Any]:
        """One search page: follow `next`, fetch missing references in batches, emit listings."""
        problem = self._status_problem(response)
        if problem and response.status == 400 and response.meta.get("first_page") and not response.meta.get("fallback"):
            # Some servers reject `_include=PractitionerRole:service` (or any unknown include): retry with the
            # core includes; references that are then missing are fetched in `_id` batches as usual.
            self.logger.warning("%s: HTTP 400; retrying the search with fewer _include parameters", response.url)
            fallback = search_url(self.directory.url, self.directory.page_size, INCLUDES[:2])
            self.seen_pages.add(fallback)
            yield self._request(fallback, self.parse_page, first_page=True, fallback=True, dont_filter=True)
            return
        if problem:
            if response.status in (401, 403) or response.meta.get("first_page"):
                self.fail(problem)
                raise CloseSpider("failed")
            self.fail(f"paging stopped: {problem}")
            yield self.quarantine(response.url, problem, raw=response.body)
            return
        self.pages += 1
        page, bad = self._load(response)
        if page is None:
            yield bad
            prefix = "" if response.meta.get("first_page") else "paging stopped: "
            self.fail(f"{prefix}{response.url}: {bad['error']}")
            return
        if page.next_url:
            next_url = urljoin(response.url, page.next_url)
            max_pages = self.directory.max_pages
            if next_url not in self.seen_pages and (max_pages is None or len(self.seen_pages) < max_pages):
                self.seen_pages.add(next_url)
                yield self._request(next_url, self.parse_page)
        for res in page.resources.values():
            if res.get("resourceType") != "PractitionerRole":
                self._remember(f"{res['resourceType']}/{res['id']}", res)
        missing = missing_references(page.roles, lambda key: key in page.resources or key in self.cache)
        pending = PendingPage(page, response.url, utcnow_iso(), sha256_bytes(response.body), 0)
        batches = [(kind, ids[i:i + BATCH_IDS]) for kind, ids in missing.items() for i in range(0, len(ids), BATCH_IDS)]
        if not batches:
            yield from self._emit(pending)
            return
        pending.outstanding = len(batches)
        for kind, ids in batches:
            url = f"{self.base}/{kind}?{urlencode({'_id': ','.join(ids), '_count': str(len(ids))})}"
            yield self._request(url, self.parse_batch, pending=pending, dont_filter=True)

    def parse_batch(self, response: Response) -> Iterator[Any]:
        """A batch of referenced resources (`Type?_id=a,b`): cache them; emit the page when all batches are in."""
        pending: PendingPage = response.meta["pending"]
        problem = self._status_problem(response)
        if problem:
            if response.status in (401, 403):
                self.fail(problem)
                raise CloseSpider("failed")
            yield self.quarantine(response.url, f"referenced resources not fetched: {problem}", raw=response.body)
        else:
            page, bad = self._load(response)
            if page is None:
                yield bad
            else:
                for key, res in page.resources.items():
                    self._remember(key, res)
        yield from self._batch_done(pending)

    def _batch_done(self, pending: PendingPage) -> Iterator[Any]:
        """Count one finished batch; emit the page's listings after the last one."""
        pending.outstanding -= 1
        if pending.outstanding <= 0:
            yield from self._emit(pending)

    def _remember(self, key: str, resource: dict[str, Any]) -> None:
        """Keep a referenced resource in the bounded LRU cache."""
        self.cache[key] = resource
        self.cache.move_to_end(key)
        if len(self.cache) > CACHE_SIZE:
            self.cache.popitem(last=False)

    def _emit(self, pending: PendingPage) -> Iterator[Any]:
        """Listings of every role of a page (invalid NPIs go to quarantine with the URL)."""
        page = pending.page
        resolve = lambda key: page.resources.get(key) or self.cache.get(key)  # noqa: E731
        good: list[dict[str, Any]] = []
        for position, role in enumerate(page.roles):
            for record in role_listings(role, resolve, self.directory.insurer, pending.url, pending.fetched_at,
                                        pending.sha256):
                if record["npi"] and not is_valid_npi(record["npi"]):
                    yield self.quarantine(pending.url, f"PractitionerRole/{role.get('id')}: invalid NPI "
                                          f"{record['npi']!r}", row=position, raw=json.dumps(role)[:2000])
                    break
                good.append(record)
        if good:
            yield self.listings(good)

    def on_error(self, failure: Any) -> Iterator[Any]:
        """A request that failed after retries (network error, SSRF/robots refusal)."""
        request = failure.request
        reason = self.failure_reason(failure)
        if "pending" in request.meta:
            yield self.quarantine(request.url, f"referenced resources not fetched: {reason}")
            yield from self._batch_done(request.meta["pending"])
            return
        self.fail(reason if request.meta.get("first_page") else f"paging stopped: {reason}")
        yield self.quarantine(request.url, reason)
