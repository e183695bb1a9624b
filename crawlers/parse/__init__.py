"""Pure parsers turning what directories publish into landing records (no network, no Scrapy)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from crawlers.landing import utcnow_iso

LISTING_KEYS = (
    "listing_id", "source_key", "insurer", "directory_kind", "npi", "provider_name", "first_name",
    "middle_name", "last_name", "credentials", "practice_name", "address", "city", "state", "zip",
    "phone", "specialty", "specialty_code", "accepting_status", "accepting_raw", "networks", "plans",
    "website", "last_updated", "source_url", "fetched_at", "payload_sha256",
)


def listing_id(insurer: str, directory_kind: str, source_key: str) -> str:
    """Stable listing id across runs: sha1(insurer|directory_kind|source_key)[:16] (docs/internals.md)."""
    return hashlib.sha1(f"{insurer}|{directory_kind}|{source_key}".encode("utf-8")).hexdigest()[:16]


def sha256_bytes(data: bytes) -> str:
    """Hex sha256 of a raw payload, so a finding can point at exactly what was published."""
    return hashlib.sha256(data).hexdigest()


def file_sha256(path: str, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file read in chunks (a payload too large to hold in memory, e.g. a QHP providers file)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while data := fh.read(chunk):
            digest.update(data)
    return digest.hexdigest()


def sha256_json(value: Any) -> str:
    """Hex sha256 of a JSON value re-serialized compactly in published key order, for one streamed entry."""
    return sha256_bytes(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


def clean_text(value: Any) -> str | None:
    """Collapse whitespace of a scalar; None for missing/blank values (lists and dicts give None)."""
    if value is None or isinstance(value, (dict, list)):
        return None
    text = value.strip() if isinstance(value, str) else str(value).strip()
    if "  " in text or "\n" in text or "\t" in text or "\r" in text or "\xa0" in text:
        text = " ".join(text.split())
    return text or None


def make_listing(insurer: str, directory_kind: str, source_key: str, source_url: str,
                 fetched_at: str | None = None, **fields: Any) -> dict[str, Any]:
    """Build one listing record with every contract key present; other published fields go into `raw`."""
    record: dict[str, Any] = {key: None for key in LISTING_KEYS}
    record.update(networks=[], plans=[], accepting_status="unknown")
    extra = {k: v for k, v in fields.items() if k not in record and v not in (None, [], "")}
    record.update({k: v for k, v in fields.items() if k in record and v is not None})
    record.update(
        listing_id=listing_id(insurer, directory_kind, source_key), source_key=source_key, insurer=insurer,
        directory_kind=directory_kind, source_url=source_url, fetched_at=fetched_at or utcnow_iso(),
    )
    if extra:
        record["raw"] = extra
    return record


def quarantine_record(source: str, file: str, error: str, row: int | None = None,
                      raw_text: str | bytes | None = None, limit: int = 2000) -> dict[str, Any]:
    """A quarantine record (source, file/URL, row, error, truncated raw text, time) per docs/internals.md."""
    if isinstance(raw_text, bytes):
        raw_text = raw_text[:limit].decode("utf-8", errors="replace")
    return {
        "source": source, "file": file, "row": row, "error": error,
        "raw_text": raw_text[:limit] if raw_text else None, "quarantined_at": utcnow_iso(),
    }


def markup_hint(body: bytes) -> str:
    """' (the server sent an HTML/XML page: ...)' when a body that should be JSON is markup, else ''.

    A login, consent or bot-block page served with HTTP 200 is the usual cause, and says more than a JSON error.
    """
    head = body[:2048].lstrip(b"\xef\xbb\xbf \t\r\n")
    if not head.startswith(b"<"):
        return ""
    kind = "an XML document" if head.startswith(b"<?xml") else "an HTML page"
    return f" (the server sent {kind}, not JSON: a login, consent or bot-block page, or the wrong URL?)"

