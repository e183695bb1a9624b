"""Serve the demo world on 127.0.0.1 only: FHIR Plan-Net API, CMS QHP files, JS directory, practice sites."""

from __future__ import annotations

import ipaddress
import json
import threading
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Iterator
from urllib.parse import parse_qs, urlsplit

from flows.demo import directories
from flows.demo.world import World

Reply = tuple[int, dict[str, str], bytes]
Route = Callable[[BaseHTTPRequestHandler, str, dict[str, list[str]]], Reply]
FHIR_JSON = "application/fhir+json; charset=utf-8"
HTML_PER_PAGE = 25


@dataclass
class Hit:
    """One request a demo server answered (for tests and the demo summary)."""

    server: str
    path: str
    status: int
    authorized: bool


@dataclass
class RunningWorld:
    """The running demo servers: their base URLs and a log of the requests they answered."""

    world: World
    fhir_url: str
    qhp_url: str
    html_url: str
    sites_url: str
    hits: list[Hit] = field(default_factory=list)

    def site_url(self, slug: str) -> str:
        """Home page URL of a practice's website."""
        return self.sites_url.rstrip("/") + self.world.practice(slug).path

    def hits_of(self, server: str) -> list[Hit]:
        """Requests answered by one server (fhir, qhp, html, sites)."""
        return [h for h in self.hits if h.server == server]


def _json(status: int, value: Any, content_type: str = "application/json", **headers: str) -> Reply:
    """A JSON reply."""
    return status, {"Content-Type": content_type, **headers}, json.dumps(value).encode("utf-8")


def _html(status: int, text: str) -> Reply:
    """An HTML reply."""
    return status, {"Content-Type": "text/html; charset=utf-8"}, text.encode("utf-8")


def _outcome(status: int, code: str, text: str, **headers: str) -> Reply:
    """A FHIR OperationOutcome error reply."""
    body = {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": code, "diagnostics": text}]}
    return _json(status, body, FHIR_JSON, **headers)


def _handler(name: str, route: Route, log: list[Hit]) -> type[BaseHTTPRequestHandler]:
    """A request handler class answering GET/HEAD through `route` and logging every request."""

    class Handler(BaseHTTPRequestHandler):
        """Dispatch to the world's route; quiet (no stderr logging)."""

        protocol_version = "HTTP/1.1"

        def _answer(self, body_wanted: bool) -> None:
            """Compute the reply, log it, and write it."""
            parts = urlsplit(self.path)
            try:
                status, headers, body = route(self, parts.path, parse_qs(parts.query, keep_blank_values=True))
            except Exception as exc:  # noqa: BLE001 - a demo server must answer, not hang
                status, headers, body = 500, {"Content-Type": "text/plain"}, f"demo server error: {exc}".encode()
            log.append(Hit(name, self.path, status, "Authorization" in self.headers))
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if body_wanted:
                self.wfile.write(body)

        def do_GET(self) -> None:  # noqa: N802 - http.server naming
            """Answer a GET."""
            self._answer(True)

        def do_HEAD(self) -> None:  # noqa: N802 - http.server naming
            """Answer a HEAD."""
            self._answer(False)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - signature of the base class
            """Keep the console clean."""

    return Handler


def fhir_route(world: World, site_base: str, base_path: str = "/fhir") -> tuple[Route, Callable[[str], None]]:
    """Acme's Plan-Net API: Bearer token, `_count`/`_offset` paging, `_include`, `_id` search, one 429."""
    state = {"store": None, "base": "", "throttled": False}
    lock = threading.Lock()

    def set_base(url: str) -> None:
        """Learn the server's own URL (for fullUrl and next links) and build the store."""
        state["base"] = url.rstrip("/") + base_path
        state["store"] = directories.fhir_store(world, site_base)

    def route(req: BaseHTTPRequestHandler, path: str, query: dict[str, list[str]]) -> Reply:
        """Answer one API request."""
        store = state["store"]
        base = str(state["base"])
        if not path.startswith(base_path):
            return _outcome(404, "not-found", f"no such path {path}")
        rest = path[len(base_path):].strip("/")
        if rest == "metadata":
            return _json(200, {"resourceType": "CapabilityStatement", "status": "active", "fhirVersion": "4.0.1",
                               "kind": "instance", "format": ["json"]}, FHIR_JSON)
        if req.headers.get("Authorization", "") != f"Bearer {world.token}":
            return _outcome(401, "login", "a valid Bearer token is required", **{"WWW-Authenticate": "Bearer"})
        kind, _, rid = rest.partition("/")
        if kind == "PractitionerRole" and not rid and "_id" not in query:
            offset = int((query.get("_offset") or ["0"])[0] or 0)
            count = max(1, min(200, int((query.get("_count") or ["20"])[0] or 20)))
            with lock:
                throttle = offset > 0 and not state["throttled"]
                state["throttled"] = state["throttled"] or throttle
            if throttle:
                return _outcome(429, "throttled", "too many requests", **{"Retry-After": "1"})
            query_text = urlsplit(req.path).query
            return _json(200, directories.search_bundle(store, base, query_text, offset, count,
                                                        query.get("_include", [])), FHIR_JSON)
        if "_id" in query and not rid:
            ids = [i for v in query["_id"] for i in v.split(",") if i]
            return _json(200, directories.id_bundle(store, base, kind, ids), FHIR_JSON)
        resource = store.resources.get(f"{kind}/{rid}") if rid else None
        if resource is None:
            return _outcome(404, "not-found", f"{kind}/{rid} not found")
        return _json(200, resource, FHIR_JSON)

    return route, set_base


def qhp_route(world: World) -> Route:
    """Harbor Mutual's CMS QHP files under /qhp/."""
    files = {"/qhp/index.json": directories.qhp_index(), "/qhp/providers.json": directories.qhp_providers(world),
             "/qhp/plans.json": directories.qhp_plans(world)}

    def route(req: BaseHTTPRequestHandler, path: str, query: dict[str, list[str]]) -> Reply:
        """Serve one file."""
        if path in files:
            return _json(200, files[path])
        return _json(404, {"error": "not found"})

    return route


def html_route(world: World, site_base: str) -> Route:
    """Cobalt Care's JavaScript-rendered, paginated directory under /cobalt/search?page=N."""
    cards = directories.html_cards(world, site_base)

    def route(req: BaseHTTPRequestHandler, path: str, query: dict[str, list[str]]) -> Reply:
        """Serve one directory page."""
        if path != "/cobalt/search":
            return _html(404, "<h1>Not found</h1>")
        try:
            page = int((query.get("page") or ["1"])[0])
        except ValueError:
            return _html(400, "<h1>Bad page number</h1>")
        text, ok = directories.html_page(cards, page, HTML_PER_PAGE)
        return _html(200, text) if ok else _html(404, "<h1>No such page</h1>")

    return route


def sites_route(world: World) -> Route:
    """The practice websites: one path root per practice, robots.txt, one disallowed and one failing site."""
    robots = "User-agent: *\n" + "".join(f"Disallow: {path}\n" for path in world.robots_disallowed) + "Allow: /\n"
    failing = tuple(world.failing_sites)

    def route(req: BaseHTTPRequestHandler, path: str, query: dict[str, list[str]]) -> Reply:
        """Serve robots.txt or one page."""
        if path == "/robots.txt":
            return 200, {"Content-Type": "text/plain"}, robots.encode()
        if path.startswith(failing) if failing else False:
            return _html(500, "<h1>500 Internal Server Error</h1>")
        page = world.pages.get(path) or world.pages.get(path.rstrip("/") + "/")
        if page is None and path.endswith("/index.html"):
            page = world.pages.get(path[: -len("index.html")])
        if page is None:
            return _html(404, "<h1>Page not found</h1>")
        return _html(200, page.html)

    return route


def _start(name: str, route: Route, host: str, log: list[Hit], stack: ExitStack) -> str:
    """Start one threaded server on an ephemeral port; return its base URL."""
    server = ThreadingHTTPServer((host, 0), _handler(name, route, log))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name=f"demo-{name}", daemon=True)
    thread.start()

    def stop() -> None:
        """Stop serving and release the port."""
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    stack.callback(stop)
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{server.server_address[1]}"


def _check_loopback(host: str) -> None:
    """Refuse to serve the demo anywhere but on a loopback address."""
    try:
        ok = ipaddress.ip_address(host).is_loopback
    except ValueError:
        ok = host == "localhost"
    if not ok:
        raise ValueError(f"the demo world only serves on loopback addresses, not {host!r}")


@contextmanager
def serve_world(world: World, host: str = "127.0.0.1") -> Iterator[RunningWorld]:
    """Run the demo world's four servers on ephemeral loopback ports until the block exits."""
    _check_loopback(host)
    log: list[Hit] = []
    with ExitStack() as stack:
        sites_url = _start("sites", sites_route(world), host, log, stack)
        fhir, set_base = fhir_route(world, sites_url)
        fhir_url = _start("fhir", fhir, host, log, stack)
        set_base(fhir_url)
        qhp_url = _start("qhp", qhp_route(world), host, log, stack)
        html_url = _start("html", html_route(world, sites_url), host, log, stack)
        yield RunningWorld(world, fhir_url + "/fhir", qhp_url + "/qhp/index.json",
                           html_url + "/cobalt/search?page=1", sites_url, log)


@contextmanager
def serve_directory(folder: str, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve a folder (the report) over HTTP on a loopback address; yields its URL."""
    import functools
    from http.server import SimpleHTTPRequestHandler

    _check_loopback(host)

    class Quiet(SimpleHTTPRequestHandler):
        """Static files without console logging."""

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            """Keep the console clean."""

    server = ThreadingHTTPServer((host, port), functools.partial(Quiet, directory=folder))
    thread = threading.Thread(target=server.serve_forever, name="demo-report", daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
