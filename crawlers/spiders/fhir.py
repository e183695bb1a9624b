"""`fhir_directory`: Da Vinci PDex Plan-Net / CMS NDH PractitionerRole search with includes, paging and batch fetches.

The spider fetches (paging, auth, retries, `_id` batches of referenced resources) and spools every page's
resources as NDJSON per resource type: a page is scanned (msgspec reads the `next` link, each resource's type and
id and the roles' references) and each resource's raw JSON text is written as is; odd pages take the decoding
path (`parse_bundle`). Every CHUNK_PAGES pages the spool's files are handed to DuckDB (crawlers.bulk.fhir_bulk.
ApiStager), which runs the per-resource SQL in a worker thread while paging goes on; at close it joins the staged
rows into the listings landing file, so no listing is built in Python.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from typing import IO, Any
from urllib.parse import quote, urlencode, urljoin, urlsplit, urlunsplit

import orjson
import scrapy
from scrapy.exceptions import CloseSpider
from scrapy.http import Response
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.python.failure import Failure

from crawlers.bulk.fhir_bulk import API_COLUMNS, ApiStager
from crawlers.bulk.sources import BulkFile
from crawlers.landing import utcnow_iso, write_records
from crawlers.parse import markup_hint, quarantine_record, sha256_bytes
from crawlers.parse.fhir import (
    BundleError,
    Page,
    ScannedPage,
    missing_references,
    parse_bundle,
    scan_bundle,
    scanned_missing_references,
)
from crawlers.safety import is_public_ip
from crawlers.spiders import ERROR_STATUSES, DirectorySpider

INCLUDES = ("PractitionerRole:practitioner", "PractitionerRole:location", "PractitionerRole:organization",
            "PractitionerRole:service")
BATCH_IDS = 50  # ids per `_id=a,b,c` request (keeps URLs well under common 8 KB limits)
MAX_BUNDLE_BYTES = 256 * 1024 * 1024
FHIR_ACCEPT = "application/fhir+json, application/json;q=0.9"
CHUNK_PAGES = 20  # search pages per spool chunk: DuckDB stages each closed chunk while the next pages arrive


def search_url(base: str, page_size: int | None, includes: tuple[str, ...] = INCLUDES) -> str:
    """The first PractitionerRole search URL (config may give the API base or a full search URL); no `_count`
    when `page_size` is None (the server's own page size)."""
    if "/PractitionerRole" in base:
        return base
    query = [("_include", inc) for inc in includes] + ([("_count", str(page_size))] if page_size else [])
    return f"{base.rstrip('/')}/PractitionerRole?{urlencode(query, safe=':')}"


def fallback_searches(base: str, page_size: int) -> list[str]:
    """First-page searches to try in turn when a server answers HTTP 400: without the less supported includes
    (`:organization`, `:service`), then also without `_count` (a server refusing a page size above its maximum),
    then with no `_include` at all. References left out are fetched in `_id` batches as usual."""
    tries = [search_url(base, page_size, INCLUDES[:2]), search_url(base, None, INCLUDES[:2]), search_url(base, None, ())]
    return list(dict.fromkeys(t for t in tries if t != search_url(base, page_size)))


def api_base(url: str) -> str:
    """The FHIR base URL (the part before /PractitionerRole, without query)."""
    return url.split("/PractitionerRole")[0].split("?")[0].rstrip("/")


def same_origin(a: str, b: str) -> bool:
    """True when two URLs share scheme, host and port (the token is only ever sent to the API's origin)."""
    pa, pb = urlsplit(a), urlsplit(b)
    return (pa.scheme, pa.hostname, pa.port) == (pb.scheme, pb.hostname, pb.port)


def _internal_host(host: str | None) -> bool:
    """A host name only the server's own network knows: localhost, a loopback/private address, a dotless name."""
    if not host:
        return False
    if host == "localhost" or "." not in host and ":" not in host:
        return True
    try:
        return not is_public_ip(host)
    except ValueError:
        return False


def paging_url(next_url: str, page_url: str, base: str) -> str:
    """The URL to fetch for a Bundle's `next` link, made absolute against its page.

    Servers behind a proxy often write their own internal address into `next` (`http://localhost:8080/fhir?...`,
    an internal host name, or http and another port for an https API on the same host); such a link is sent to
    the API's own origin instead, which is also the only origin the token goes to.
    """
    target = urlsplit(urljoin(page_url, next_url))
    origin = urlsplit(base)
    internal = target.hostname != origin.hostname and _internal_host(target.hostname)
    if internal and not target.path.startswith(origin.path.rstrip("/") + "/") and target.path != origin.path:
        # the server's own base path too (`/fhir` behind a proxy publishing `/api/r4`): keep what follows it,
        # from the first resource type on (`/fhir/PractitionerRole` -> `/api/r4/PractitionerRole`)
        segments = target.path.split("/")
        first = next((i for i, seg in enumerate(segments) if seg[:1].isupper()), len(segments))
        target = target._replace(path="/".join([origin.path.rstrip("/"), *segments[first:]]))
    if internal or target.hostname == origin.hostname and (target.scheme, target.port) != (origin.scheme, origin.port):
        target = target._replace(scheme=origin.scheme, netloc=origin.netloc)
    return urlunsplit(target)


def _line(raw: bytes) -> bytes:
    """One NDJSON line of a resource's raw JSON text (line breaks in valid JSON are whitespace: made spaces)."""
    if b"\n" in raw or b"\r" in raw:
        raw = raw.replace(b"\r", b" ").replace(b"\n", b" ")
    return raw + b"\n"


def _tagged(encoded: bytes, page: int, position: int) -> bytes:
    """A role's JSON object bytes with its `_page`/`_pos` tags spliced in front (no decode, no copy of the dict)."""
    return b'{"_page":%d,"_pos":%d,%s' % (page, position, encoded[1:])


def keep_new_roles(page: Page | ScannedPage, seen: set[str]) -> None:
    """Drop from a page (decoded or scanned) the roles whose id is in `seen`, adding the kept ones' ids to it."""
    def new(rid: Any) -> bool:
        """True the first time an id comes."""
        key = str(rid)
        if key in seen:
            return False
        seen.add(key)
        return True

    if isinstance(page, ScannedPage):
        page.roles = [(role, raw) for role, raw in page.roles if new(role.id)]
    else:
        page.roles = [role for role in page.roles if new(role.get("id"))]


def is_operation_outcome(body: bytes) -> bool:
    """True when a response body is a FHIR OperationOutcome (a refusal some servers send with HTTP 200)."""
    try:
        data = orjson.loads(body)
    except ValueError:
        return False
    return isinstance(data, dict) and data.get("resourceType") == "OperationOutcome"


class ResourceSpool:
    """Per-resource-type NDJSON files of a crawl's resources (each referenced resource once) and a pages file."""

    def __init__(self, parent: str | None = None) -> None:
        """Create nothing yet: the temporary folder (under `parent`, default the system's) appears on the first write."""
        self.parent = parent
        self.folder: str | None = None
        self.handles: dict[str, IO[bytes]] = {}
        self.seen: set[str] = set()
        self.pages = 0
        self.chunk = 0  # files of chunk N > 0 are named `<type>.<N>.ndjson`
        self.chunk_pages = 0

    def _handle(self, kind: str) -> IO[bytes]:
        """The open NDJSON file of one resource type (created on first use)."""
        handle = self.handles.get(kind)
        if handle is None:
            self.folder = self.folder or tempfile.mkdtemp(prefix="gc-fhir-spool-", dir=self.parent)
            name = f"{kind}.ndjson" if kind == "_pages" or not self.chunk else f"{kind}.{self.chunk}.ndjson"
            handle = self.handles[kind] = open(os.path.join(self.folder, name), "wb")  # noqa: SIM115
        return handle

    def _write(self, kind: str, resource: dict[str, Any]) -> None:
        """Append one resource line to its type's file."""
        self._handle(kind).write(orjson.dumps(resource, option=orjson.OPT_APPEND_NEWLINE))

    def _flush(self, lines: dict[str, list[bytes]]) -> None:
        """Append a page's encoded lines to their types' files (one write per type per page)."""
        for kind, encoded in lines.items():
            if encoded:
                self._handle(kind).write(b"".join(encoded))

    def _start_page(self, url: str, fetched_at: str, sha256: str) -> None:
        """Count a search page (in the crawl and in the current chunk) and record it in the pages file."""
        self.pages += 1
        self.chunk_pages += 1
        self._write("_pages", {"page": self.pages, "url": url, "fetched_at": fetched_at, "sha256": sha256})

    def _add_contained(self, contained: list[tuple[str, dict[str, Any]]]) -> None:
        """Spool the resources contained in roles; `#id` references resolve to `<role id>#<id>`."""
        for role_id, role in contained:
            for inner in role.get("contained") or []:
                if isinstance(inner, dict) and inner.get("resourceType") and inner.get("id"):
                    local = {**inner, "id": f"{role_id}#{inner['id']}"}
                    self.add(f"{inner['resourceType']}/{local['id']}", local)

    def add(self, key: str, resource: dict[str, Any]) -> None:
        """Spool a referenced resource once (the first copy seen wins), and the role-contained ones it carries."""
        kind = resource["resourceType"]
        if key in self.seen or kind not in API_COLUMNS:
            return
        self.seen.add(key)
        self._write(kind, resource)

    def add_page(self, page: Page, url: str, fetched_at: str, sha256: str) -> None:
        """Spool a search page: its roles (tagged with page and position) and every resource it included.

        Lines are encoded per resource but written once per type per page; a role's `_page`/`_pos` tags are
        spliced into its encoded bytes instead of copying the dict (one page holds thousands of resources).
        """
        self._start_page(url, fetched_at, sha256)
        seen, wanted, dumps, newline = self.seen, API_COLUMNS, orjson.dumps, orjson.OPT_APPEND_NEWLINE
        lines: dict[str, list[bytes]] = {}
        for key, resource in page.resources.items():
            kind = resource["resourceType"]
            if kind == "PractitionerRole" or key in seen or kind not in wanted:
                continue
            seen.add(key)
            lines.setdefault(kind, []).append(dumps(resource, option=newline))
        roles = lines.setdefault("PractitionerRole", [])
        contained: list[tuple[str, dict[str, Any]]] = []
        for position, role in enumerate(page.roles):
            encoded = dumps(role, option=newline)
            if b'"_page"' in encoded or b'"_pos"' in encoded:  # never in FHIR; keep the tags' meaning if it happens
                encoded = dumps({**role, "_page": self.pages, "_pos": position}, option=newline)
            else:
                encoded = _tagged(encoded, self.pages, position)
            roles.append(encoded)
            if "contained" in role:
                contained.append((str(role.get("id")), role))
        self._flush(lines)
        self._add_contained(contained)

    def add_scanned(self, page: ScannedPage) -> None:
        """`add` of every resource of a scanned batch page, raw JSON text spooled as is."""
        lines: dict[str, list[bytes]] = {}
        for key, (kind, raw) in page.resources.items():
            if key in self.seen or kind not in API_COLUMNS:
                continue
            self.seen.add(key)
            lines.setdefault(kind, []).append(_line(raw))
        self._flush(lines)

    def add_scanned_page(self, page: ScannedPage, url: str, fetched_at: str, sha256: str) -> None:
        """`add_page` for a scanned page: the resources' raw JSON text is spooled as is (no decode, no re-encode)."""
        self._start_page(url, fetched_at, sha256)
        seen, wanted, one_line = self.seen, API_COLUMNS, page.one_line
        lines: dict[str, list[bytes]] = {}  # lines without their newline, joined once per type
        for key, (kind, raw) in page.resources.items():
            if kind == "PractitionerRole" or key in seen or kind not in wanted:
                continue
            seen.add(key)
            lines.setdefault(kind, []).append(raw if one_line else _line(raw)[:-1])
        roles = lines.setdefault("PractitionerRole", [])
        contained: list[tuple[str, dict[str, Any]]] = []
        for position, (scanned, raw) in enumerate(page.roles):
            if not one_line:
                raw = _line(raw)[:-1]
            if b'"_page"' in raw or b'"_pos"' in raw or scanned.contained is not None:
                role = orjson.loads(raw)  # the rare shapes take the decoded path of add_page
                if b'"_page"' in raw or b'"_pos"' in raw:
                    roles.append(orjson.dumps({**role, "_page": self.pages, "_pos": position}))
                else:
                    roles.append(_tagged(raw, self.pages, position))
                if "contained" in role:
                    contained.append((str(role.get("id")), role))
            else:
                roles.append(_tagged(raw, self.pages, position))
        for kind, items in lines.items():
            if items:
                self._handle(kind).write(b"\n".join(items) + b"\n")
        self._add_contained(contained)

    def roll(self) -> list[BulkFile]:
        """Close the current chunk's resource files and return them; later lines go to the next chunk's files."""
        closed = [kind for kind in self.handles if kind != "_pages"]
        for kind in closed:
            self.handles[kind].close()
        files = [BulkFile(kind, self.handles[kind].name, self.handles[kind].name) for kind in closed]
        for kind in closed:
            del self.handles[kind]
        self.chunk += 1
        self.chunk_pages = 0
        return files

    def close(self) -> list[BulkFile]:
        """Close the files; the resource files (of the last chunk) for the transform."""
        for handle in self.handles.values():
            handle.close()
        return [BulkFile(kind, handle.name, handle.name) for kind, handle in self.handles.items() if kind != "_pages"]


class FhirDirectorySpider(DirectorySpider):
    """Crawl a Plan-Net/NDH FHIR API into listings (one per PractitionerRole x Location)."""

    name = "fhir_directory"
    directory_kind = "fhir"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Set up paging state, the spool and the set of references already requested (`-a chunk_pages=N`: pages
        per spool chunk)."""
        chunk_pages = kwargs.pop("chunk_pages", None)
        super().__init__(*args, **kwargs)
        self.chunk_pages = max(1, int(chunk_pages)) if str(chunk_pages or "").isdigit() else CHUNK_PAGES
        self.stage_error: Exception | None = None
        self.spool = ResourceSpool()
        self.stager: ApiStager | None = None
        self.requested: set[str] = set()
        self.seen_pages: set[str] = set()
        self.role_ids: set[str] = set()  # roles of the pages so far: one a later page repeats is listed once
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
                              meta={"handle_httpstatus_list": ERROR_STATUSES, "download_maxsize": MAX_BUNDLE_BYTES, **meta})

    async def start(self) -> Any:
        """First search request, unless the config or the token is missing."""
        if self.failure or self.directory is None:
            return
        # Every decoded page allocates tens of thousands of containers, and each full collection then walked the
        # whole start-up heap (Scrapy, DuckDB, pyarrow): ~50 ms per page. Start-up objects live until the child
        # process exits anyway, so move them out of the collector's reach.
        gc.freeze()
        gc.set_threshold(50_000, 20, 100)  # a page's scan allocates ~10k objects: fewer young collections per page
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
        """Parse a response body as a Bundle: (page, None), or (None, quarantine item); only a first page must have entries."""
        try:
            data = orjson.loads(response.body)
        except ValueError:
            data = None  # orjson refuses a few things json accepts (e.g. integers beyond 64 bits): let json decide
        try:
            data = json.loads(response.body) if data is None else data
        except (ValueError, UnicodeDecodeError) as exc:
            return None, self.quarantine(response.url, f"malformed JSON: {exc}{markup_hint(response.body)}",
                                         raw=response.body)
        try:
            return parse_bundle(data, empty_ok=not response.meta.get("first_page")), None
        except BundleError as exc:
            return None, self.quarantine(response.url, str(exc), raw=response.body)

    async def parse_page(self, response: Response) -> AsyncIterator[Any]:
        """Search pages from this one on: each page's outputs, then its `next` page fetched right here.

        Paging is sequential (opaque `next` cursors), and Scrapy waits 0.1 s before every callback; fetching the
        next page through `engine.download_async` (downloader middlewares only: retries, Retry-After, SSRF guard,
        robots) skips that hop, which otherwise costs 50 s per 500 pages. The next page is requested as soon as
        this one's `next` link is known, so its download overlaps this page's spooling.
        """
        current: Response | None = response
        while current is not None:
            follow, fetching = None, None
            try:
                for output in self._page_outputs(current):
                    if isinstance(output, scrapy.Request) and output.callback == self.parse_page:
                        follow = output  # yielded before the page is spooled: the next page downloads meanwhile
                        fetching = asyncio.ensure_future(self._download(follow))
                    else:
                        yield output
            except BaseException:
                if fetching is not None:
                    fetching.cancel()
                raise
            if fetching is None:
                return
            try:
                current = await fetching
            except Exception as exc:  # noqa: BLE001 - network error, timeout or refusal after the middlewares' retries
                failure = Failure(exc)
                failure.request = follow  # type: ignore[attr-defined]
                for output in self.on_error(failure):
                    yield output
                return

    async def _download(self, request: scrapy.Request) -> Response:
        """Fetch one request through the downloader middlewares only (Scrapy 2.14 API, 2.13 fallback)."""
        engine = self.crawler.engine
        if hasattr(engine, "download_async"):
            return await engine.download_async(request)
        return await maybe_deferred_to_future(engine.download(request))

    def _page_outputs(self, response: Response) -> Iterator[Any]:
        """One search page: its `next` request, quarantine items and `_id` batch requests; the page is spooled."""
        problem = self._status_problem(response)
        tried = response.meta.get("fallback", 0)
        fallbacks = fallback_searches(self.directory.url, self.directory.page_size) if response.status == 400 else []
        if problem and response.meta.get("first_page") and tried < len(fallbacks):
            # Some servers reject `_include=PractitionerRole:service` (or any unknown include), or a `_count` above
            # their maximum: retry with a simpler search (`fallback_searches`).
            fallback = fallbacks[tried]
            self.logger.warning("%s: HTTP 400; retrying the search as %s", response.url, fallback)
            yield self._request(fallback, self.parse_page, first_page=True, fallback=tried + 1, dont_filter=True)
            return
        if problem:
            if response.status in (401, 403) or response.meta.get("first_page"):
                self.fail(problem)
                raise CloseSpider("failed")
            self.fail(f"paging stopped: {problem}")
            yield self.quarantine(response.url, problem, raw=response.body)
            return
        self.pages += 1
        scanned = scan_bundle(response.body)
        page, bad = (scanned, None) if scanned is not None else self._load(response)
        if page is None:
            yield bad
            prefix = "" if response.meta.get("first_page") else "paging stopped: "
            self.fail(f"{prefix}{response.url}: {bad['error']}")
            return
        had_roles = bool(page.roles)
        # a role already listed (offset paging over a changing result set, a page repeated under a new cursor)
        keep_new_roles(page, self.role_ids)
        if page.next_url and had_roles and not page.roles:
            # every role here was on an earlier page: a server whose paging wraps around or never ends; stop here
            self.logger.warning("%s: every role on this page was on an earlier page; paging stops", response.url)
        elif page.next_url:
            next_url = paging_url(page.next_url, response.url, self.base)
            max_pages = self.directory.max_pages
            if next_url not in self.seen_pages and (max_pages is None or len(self.seen_pages) < max_pages):
                self.seen_pages.add(next_url)
                yield self._request(next_url, self.parse_page)
        if isinstance(page, ScannedPage):
            self.spool.add_scanned_page(page, response.url, utcnow_iso(), sha256_bytes(response.body))
            missing = scanned_missing_references((role for role, _ in page.roles), self.spool.seen, self.requested)
        else:
            self.spool.add_page(page, response.url, utcnow_iso(), sha256_bytes(response.body))
            missing = missing_references(page.roles, lambda key: key in self.spool.seen or key in self.requested)
        if self.spool.chunk_pages >= self.chunk_pages:
            self._stage(self.spool.roll())
        batches = [(kind, ids[i:i + BATCH_IDS]) for kind, ids in missing.items() for i in range(0, len(ids), BATCH_IDS)]
        for kind, ids in batches:
            self.requested.update(f"{kind}/{i}" for i in ids)  # requested once, even when later pages cite them too
            url = f"{self.base}/{kind}?{urlencode({'_id': ','.join(ids), '_count': str(len(ids))})}"
            yield self._request(url, self.parse_batch, batch=(kind, tuple(ids)), dont_filter=True)

    def parse_batch(self, response: Response) -> Iterator[Any]:
        """A batch of referenced resources (`Type?_id=a,b`): spool them for the transform at close.

        A server that pages the batch (it caps `_count`) is followed to its last page; ids still missing then (a
        server that ignores comma-separated `_id`, or rejects `_id` searches) are read one by one (`Type/id`).
        """
        kind, ids = response.meta["batch"]
        problem = self._status_problem(response)
        if problem:
            self._stop_if_refused(response, problem)
            if response.status in (400, 405, 422, 501):  # `_id` search (or a list in it) not supported: read each
                yield from self._read_each(kind, ids)
                return
            yield self.quarantine(response.url, f"referenced resources not fetched: {problem}", raw=response.body)
            return
        missing = {f"{kind}/{rid}" for rid in ids} - self.spool.seen
        scanned = scan_bundle(response.body)
        if scanned is not None and not any(role.contained is not None for role, _ in scanned.roles):
            self.spool.add_scanned(scanned)
            page: Page | ScannedPage | None = scanned
        else:
            page, bad = self._load(response)
            if page is None:
                yield bad
                if is_operation_outcome(response.body):  # HTTP 200 refusing the `_id` list: read each instead
                    yield from self._read_each(kind, ids)
                return
            self._spool_resources(page)
        still = missing - self.spool.seen
        # a next page only while each page brings ids of the batch not seen before (a server ignoring `_id` pages
        # its whole collection: that stops at once; a batch follows at most as many pages as it has ids)
        if page.next_url and still and len(still) < len(missing):
            yield self._request(paging_url(page.next_url, response.url, self.base), self.parse_batch,
                                batch=(kind, ids), dont_filter=True)
            return
        yield from self._read_each(kind, ids)

    def _stop_if_refused(self, response: Response, problem: str) -> None:
        """A 401/403 on any request ends the crawl of this directory with one clear reason."""
        if response.status in (401, 403):
            self.fail(problem)
            raise CloseSpider("failed")

    def _spool_resources(self, page: Page) -> None:
        """Spool every resource of a decoded Bundle (the first copy of each wins)."""
        for key, res in page.resources.items():
            self.spool.add(key, res)

    def _read_each(self, kind: str, ids: tuple[str, ...]) -> Iterator[scrapy.Request]:
        """One read (`Type/id`) per requested resource the spool still lacks."""
        for rid in ids:
            if f"{kind}/{rid}" not in self.spool.seen:
                yield self._request(f"{self.base}/{kind}/{quote(rid, safe='')}", self.parse_read,
                                    batch=(kind, (rid,)), dont_filter=True)

    def parse_read(self, response: Response) -> Iterator[Any]:
        """One referenced resource read by id; a missing one (404/410) is a dangling reference, quarantined."""
        kind, (rid,) = response.meta["batch"]
        problem = self._status_problem(response)
        if problem:
            self._stop_if_refused(response, problem)
            reason = "referenced resource not found" if response.status in (404, 410) else "referenced resource not fetched"
            yield self.quarantine(response.url, f"{reason}: {kind}/{rid}: {problem}", raw=response.body)
            return
        try:
            resource = json.loads(response.body)
        except (ValueError, UnicodeDecodeError) as exc:
            yield self.quarantine(response.url, f"malformed JSON: {exc}{markup_hint(response.body)}", raw=response.body)
            return
        if isinstance(resource, dict) and resource.get("resourceType") == "Bundle":  # a read answered as a search
            try:
                self._spool_resources(parse_bundle(resource))
            except BundleError as exc:
                yield self.quarantine(response.url, str(exc), raw=response.body)
            return
        if not isinstance(resource, dict) or resource.get("resourceType") != kind:
            got = resource.get("resourceType") if isinstance(resource, dict) else type(resource).__name__
            yield self.quarantine(response.url, f"expected a {kind} resource, got {got!r}", raw=response.body)
            return
        self.spool.add(f"{kind}/{rid}", {**resource, "id": resource.get("id") or rid})

    def _stage(self, files: list[BulkFile]) -> None:
        """Hand a closed spool chunk to DuckDB, which stages it in a worker thread while paging goes on."""
        if self.stage_error is not None:
            return
        try:
            if self.stager is None:
                self.stager = ApiStager(str(self.spool.folder), background=True)
            self.stager.add(files)
        except Exception as exc:  # noqa: BLE001 - paging goes on; the build at close reports it in one line
            self.stage_error = exc

    def closed(self, reason: str) -> None:
        """Turn the spooled pages into the listings landing file (DuckDB joins the staged chunks), then drop the spool."""
        try:
            files = self.spool.close()
            if self.spool.pages and self.landing_root:
                self._publish(files)
        except Exception as exc:  # noqa: BLE001 - one clear line for the run's sources record, never a traceback
            self.fail(f"{self.base}: building listings failed: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}")
        finally:
            if self.stager is not None:
                self.stager.close()
            if self.spool.folder:
                shutil.rmtree(self.spool.folder, ignore_errors=True)

    def _publish(self, files: list[BulkFile]) -> None:
        """Write listings (Parquet) and invalid-NPI quarantine records; count the listings in the run's record."""
        folder = str(self.spool.folder)
        if self.stage_error is not None:
            raise self.stage_error
        if self.stager is None:
            self.stager = ApiStager(folder)
        self.stager.add(files)
        result = self.stager.finish(os.path.join(folder, "_pages.ndjson"), self.source_name, self.landing_root,
                                    self.run_id)
        self.landing_files.append(result.landing_file)
        if result.invalid_npi:
            records = [quarantine_record(self.source_name, q["file"], q["error"], q["row"], q["raw_text"])
                       for q in result.invalid_npi]
            self.landing_files.append(write_records(self.landing_root, "quarantine", self.source_name, self.run_id,
                                                    records, part="invalid-npi"))
        self.published_items += result.listings

    def on_error(self, failure: Any) -> Iterator[Any]:
        """A request that failed after retries (network error, SSRF/robots refusal)."""
        request = failure.request
        reason = self.failure_reason(failure)
        if request.meta.get("batch"):
            yield self.quarantine(request.url, f"referenced resources not fetched: {reason}")
            return
        self.fail(reason if request.meta.get("first_page") else f"paging stopped: {reason}")
        yield self.quarantine(request.url, reason)
