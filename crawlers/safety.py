"""SSRF guard: refuse loopback, private, link-local, multicast and reserved targets.

Every crawl request (and every redirect, which Scrapy re-schedules as a new
request) passes `check_url`, unless `[crawl] allow_private_networks = true`.
"""

from __future__ import annotations

import ipaddress
import socket
from functools import lru_cache
from urllib.parse import urlsplit

ALLOWED_SCHEMES = frozenset({"http", "https"})


class BlockedTarget(Exception):
    """A URL the crawler refuses to fetch (bad scheme or a non-public address)."""


def is_public_ip(address: str) -> bool:
    """True only for globally routable unicast addresses (IPv4 and IPv6)."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not (
        ip.is_loopback
        or ip.is_private
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    )


@lru_cache(maxsize=4096)
def resolve(host: str) -> tuple[str, ...]:
    """All addresses a host name resolves to (cached per process)."""
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise BlockedTarget(f"{host}: DNS lookup failed ({exc})") from None
    return tuple(sorted({info[4][0] for info in infos}))


def check_url(url: str, allow_private: bool = False) -> None:
    """Raise BlockedTarget unless `url` is http(s) to a public address (or private is allowed)."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in ALLOWED_SCHEMES:
        raise BlockedTarget(f"{url}: scheme {parts.scheme or '(none)'!r} not allowed")
    host = parts.hostname
    if not host:
        raise BlockedTarget(f"{url}: no host")
    if allow_private:
        return
    try:
        addresses: tuple[str, ...] = (str(ipaddress.ip_address(host)),)
    except ValueError:
        addresses = resolve(host)
    blocked = [a for a in addresses if not is_public_ip(a)]
    if blocked:
        raise BlockedTarget(
            f"{url}: refused non-public address {blocked[0]} "
            "(set [crawl] allow_private_networks = true to allow)"
        )


class SSRFGuardMiddleware:
    """Scrapy downloader middleware applying `check_url` to every request."""

    def __init__(self, allow_private: bool) -> None:
        """Remember whether private targets are allowed."""
        self.allow_private = allow_private

    @classmethod
    def from_crawler(cls, crawler):  # type: ignore[no-untyped-def]
        """Read GHOSTCHECK_ALLOW_PRIVATE_NETWORKS from the crawler settings."""
        return cls(crawler.settings.getbool("GHOSTCHECK_ALLOW_PRIVATE_NETWORKS", False))

    def process_request(self, request, spider=None):  # type: ignore[no-untyped-def]
        """Refuse the request (IgnoreRequest with the reason) when the target is not public."""
        from scrapy.exceptions import IgnoreRequest

        try:
            check_url(request.url, self.allow_private)
        except BlockedTarget as exc:
            request.meta["ghostcheck_blocked"] = str(exc)
            raise IgnoreRequest(str(exc)) from None
        return None
