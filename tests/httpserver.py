"""A reusable threaded HTTP server on 127.0.0.1 (ephemeral port) for tests, with a request log.

Usage::

    from httpserver import serve, Reply   # tests/ is on sys.path (pytest rootdir-less import mode)

    with serve({"/a": (200, {"Content-Type": "text/html"}, "<p>hi</p>"),
                "/flaky": [Reply(500), Reply(200, body="ok")],      # one reply per call, last one repeats
                "/echo": lambda req: Reply(200, body=req.query)}) as server:
        url = server.url("/a")
        ...
        assert server.requests[0].path == "/a"

Route keys are matched as "path?query" first, then "path" alone. A value is a Reply, a tuple
(status, headers, body), a list of those (served in order, the last one repeated), or a callable
taking the `Request` and returning one of those. Unknown paths get 404. Bodies may be str or bytes;
`Reply(stream=iterable_of_bytes)` streams chunked data. `server.routes` may be changed while running.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Iterable, Iterator
from urllib.parse import urlsplit


class _QuietServer(ThreadingHTTPServer):
    """A threaded server that ignores clients hanging up mid-response (truncated downloads, timeouts)."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet about BrokenPipe / ConnectionReset; report anything else as usual."""
        import sys

        if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError, ConnectionAbortedError)):
            return
        super().handle_error(request, client_address)


@dataclass
class Reply:
    """One HTTP response: status, headers, body (str/bytes) or a byte-chunk stream."""

    status: int = 200
    body: str | bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    stream: Iterable[bytes] | None = None


@dataclass
class Request:
    """One request as the server saw it (for assertions)."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    at: float

    @property
    def target(self) -> str:
        """Path with query, as requested."""
        return f"{self.path}?{self.query}" if self.query else self.path


Route = Any  # Reply | tuple | list | Callable[[Request], Reply | tuple]


def _as_reply(value: Any) -> Reply:
    """Normalize a route value (Reply or (status, headers, body)) to a Reply."""
    if isinstance(value, Reply):
        return value
    status, headers, body = value
    return Reply(status, body, dict(headers or {}))


class TestServer:
    """Threaded HTTP server bound to 127.0.0.1 on a free port; see module docstring."""

    __test__ = False  # not a pytest test class

    def __init__(self, routes: dict[str, Route] | Callable[[Request], Any] | None = None) -> None:
        """Prepare the server (start it with `start()` or use as a context manager)."""
        self.routes: dict[str, Route] | Callable[[Request], Any] = routes if routes is not None else {}
        self.requests: list[Request] = []
        self._calls: dict[str, int] = {}
        self._lock = threading.Lock()
        self._httpd = _QuietServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        """The ephemeral port."""
        return self._httpd.server_address[1]

    @property
    def base(self) -> str:
        """http://127.0.0.1:PORT"""
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str = "/") -> str:
        """Absolute URL of `path` on this server."""
        return self.base + (path if path.startswith("/") else "/" + path)

    def start(self) -> "TestServer":
        """Start serving in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> "TestServer":
        """Start on entering the context."""
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        """Stop on leaving the context."""
        self.stop()

    def requests_to(self, path: str) -> list[Request]:
        """Logged requests whose path equals `path`."""
        return [r for r in self.requests if r.path == path]

    def _resolve(self, request: Request) -> Reply:
        """Find the reply for a request (route tables, sequences and handler functions)."""
        routes = self.routes
        if callable(routes):
            return _as_reply(routes(request))
        key = request.target if request.target in routes else request.path
        if key not in routes:
            return Reply(404, b"not found", {"Content-Type": "text/plain"})
        value = routes[key]
        if callable(value):
            return _as_reply(value(request))
        if isinstance(value, list):
            with self._lock:
                count = self._calls.get(key, 0)
                self._calls[key] = count + 1
            return _as_reply(value[min(count, len(value) - 1)])
        return _as_reply(value)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        """A request handler class bound to this server instance."""
        server = self

        class Handler(BaseHTTPRequestHandler):
            """Serve from the server's routes and log every request."""

            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
                """Silence the default stderr access log."""

            def _serve(self) -> None:
                """Serve one request; a client that hangs up early (e.g. after the headers) is not an error."""
                try:
                    self._reply()
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True

            def _reply(self) -> None:
                """Log the request and write the reply."""
                parts = urlsplit(self.path)
                request = Request(self.command, parts.path, parts.query, dict(self.headers.items()), time.monotonic())
                with server._lock:
                    server.requests.append(request)
                try:
                    reply = server._resolve(request)
                except Exception as exc:  # noqa: BLE001 - a broken test handler becomes a 500, visibly
                    reply = Reply(500, f"test handler error: {exc!r}".encode())
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                if reply.stream is not None:
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    if self.command != "HEAD":
                        for chunk in reply.stream:
                            if chunk:
                                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                        self.wfile.write(b"0\r\n\r\n")
                    return
                body = reply.body.encode("utf-8") if isinstance(reply.body, str) else reply.body
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            do_GET = do_POST = do_HEAD = _serve

        return Handler


def serve(routes: dict[str, Route] | Callable[[Request], Any] | None = None) -> TestServer:
    """A not-yet-started TestServer (use `with serve(...) as server:`)."""
    return TestServer(routes)


def json_reply(data: Any, status: int = 200, content_type: str = "application/fhir+json",
               headers: dict[str, str] | None = None) -> Reply:
    """A JSON reply (FHIR content type by default)."""
    import json

    return Reply(status, json.dumps(data), {"Content-Type": content_type, **(headers or {})})


def chunks(data: bytes, size: int = 65536) -> Iterator[bytes]:
    """Split bytes into chunks for `Reply(stream=...)`."""
    for start in range(0, len(data), size):
        yield data[start:start + size]
