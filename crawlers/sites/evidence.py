"""Evidence of the website crawl: each fetched page kept gzip-compressed by content hash.

Pages live at `<landing>/pages/<sha[:2]>/<sha>.html.gz` (any fsspec root), so
claims can be re-extracted later without re-crawling; identical pages are
stored once.
"""

from __future__ import annotations

import gzip
import hashlib
import uuid
from functools import lru_cache
from typing import Any

import fsspec

SNIPPET_CHARS = 300


def content_sha256(body: bytes) -> str:
    """Hex sha256 of the page bytes as fetched (or as rendered)."""
    return hashlib.sha256(body).hexdigest()


def snapshot_path(landing_root: str, sha256: str) -> str:
    """Where the page with this hash is kept: `<landing>/pages/<sha[:2]>/<sha>.html.gz`."""
    return f"{landing_root.rstrip('/')}/pages/{sha256[:2]}/{sha256}.html.gz"


@lru_cache(maxsize=16)
def _fs(landing_root: str) -> Any:
    """The fsspec filesystem of a landing root (cached per root)."""
    fs, _ = fsspec.core.url_to_fs(landing_root)
    return fs


def store_page(landing_root: str, body: bytes) -> tuple[str, str]:
    """Keep the page compressed under its hash (no-op when already kept); return (sha256, path)."""
    sha = content_sha256(body)
    path = snapshot_path(landing_root, sha)
    fs = _fs(landing_root.rstrip("/"))
    if fs.exists(path):
        return sha, path
    folder = path.rsplit("/", 1)[0]
    fs.makedirs(folder, exist_ok=True)
    tmp = f"{path}.{uuid.uuid4().hex[:8]}.tmp"
    with fs.open(tmp, "wb") as fh:
        fh.write(gzip.compress(body, compresslevel=6, mtime=0))
    fs.mv(tmp, path)
    return sha, path


def read_snapshot(path: str) -> bytes:
    """The page bytes kept at `path` (a snapshot_path), decompressed."""
    with fsspec.open(path, "rb") as fh:
        return gzip.decompress(fh.read())


def snippet(text: str, limit: int = SNIPPET_CHARS) -> str:
    """The first `limit` characters of a page's visible text, whitespace collapsed."""
    flat = " ".join((text or "").split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def evidence_record(
    url: str,
    site_url: str,
    fetched_at: str,
    http_status: int | None = None,
    content_sha256: str | None = None,
    snapshot_path: str | None = None,
    rendered: bool = False,
    truncated: bool = False,
    error: str | None = None,
    snippet: str = "",
    **extra: Any,
) -> dict[str, Any]:
    """One `evidence` landing record (docs/internals.md), extra keys kept for the loader's `raw`."""
    record: dict[str, Any] = {
        "url": url,
        "site_url": site_url,
        "fetched_at": fetched_at,
        "http_status": http_status,
        "content_sha256": content_sha256,
        "snapshot_path": snapshot_path,
        "rendered": bool(rendered),
        "truncated": bool(truncated),
        "error": error,
        "snippet": snippet,
    }
    record.update(extra)
    return record
