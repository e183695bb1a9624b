"""LandingPipeline: spider items -> landing files (one per kind and source per run) plus a `sources` record.

An item is a dict with `_kind` (listings | observations | evidence | quarantine) and `_source`; either the
record's own keys, or `_records`: a list of records (spiders batch them: Scrapy's per-item overhead is ~1 ms).
"""

from __future__ import annotations

import logging
from typing import Any

from scrapy import signals

from crawlers.landing import KINDS, LandingWriter, utcnow_iso, write_records

logger = logging.getLogger(__name__)
COUNTED_KINDS = ("listings", "observations")


def source_record(source: str, kind: str, failure: str | None, close_reason: str, items: int, pages: int,
                  started_at: str | None) -> dict[str, Any]:
    """The `sources` record of one run: ok unless the spider recorded a failure or closed abnormally."""
    if failure:
        status, reason = "failed", failure
    elif close_reason == "finished":
        status, reason = "ok", None
    else:
        status, reason = "failed", f"crawl stopped: {close_reason}"
    return {"source": source, "kind": kind, "status": status, "reason": reason, "items": items, "pages": pages,
            "started_at": started_at, "finished_at": utcnow_iso()}


class LandingPipeline:
    """Write items (dicts with `_kind` and `_source`) through LandingWriter; one file per (kind, source)."""

    def __init__(self, crawler: Any) -> None:
        """Remember the crawler; writers open lazily on the first item of each (kind, source)."""
        self.crawler = crawler
        self.writers: dict[tuple[str, str], LandingWriter] = {}
        self.items = 0
        self.started_at = utcnow_iso()
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Any) -> "LandingPipeline":
        """Build from the crawler (Scrapy hook)."""
        return cls(crawler)

    def open_spider(self) -> None:
        """Note the start time on the spider."""
        spider = self.crawler.spider
        spider.started_at = spider.started_at or self.started_at

    def _writer(self, kind: str, source: str) -> LandingWriter:
        """The open writer of (kind, source), created on first use."""
        key = (kind, source)
        writer = self.writers.get(key)
        if writer is None:
            spider = self.crawler.spider
            writer = LandingWriter(spider.landing_root, kind, source, spider.run_id).__enter__()
            self.writers[key] = writer
        return writer

    def process_item(self, item: Any) -> Any:
        """Append the item (or its `_records` batch) to its landing file; `_kind`/`_source` route, they are not data."""
        spider = self.crawler.spider
        if not isinstance(item, dict) or item.get("_kind") not in KINDS or item.get("_kind") == "sources":
            raise ValueError(f"item without a valid _kind: {type(item).__name__}")
        kind = item["_kind"]
        writer = self._writer(kind, item.get("_source") or spider.source_name)
        records = item["_records"] if "_records" in item else [
            {k: v for k, v in item.items() if k not in ("_kind", "_source")}]
        for record in records:
            writer.write(record)
        if kind in COUNTED_KINDS:
            self.items += len(records)
        return item

    def close_spider(self) -> None:
        """Publish every landing file (renamed from .tmp)."""
        spider = self.crawler.spider
        for writer in self.writers.values():
            writer.__exit__(None, None, None)
            spider.landing_files.append(writer.path)
        self.writers.clear()

    def spider_closed(self, spider: Any, reason: str) -> None:
        """Write the run's `sources` record once the close reason is known."""
        if not spider.landing_root:
            return
        items = self.items + getattr(spider, "published_items", 0)
        record = source_record(spider.source_name or spider.name, spider.directory_kind, spider.failure, reason,
                               items, spider.pages, spider.started_at)
        stats = getattr(spider, "source_stats", None)
        if stats:
            record["stats"] = stats  # e.g. the site crawl's reached/unreachable sites with their errors
        path = write_records(spider.landing_root, "sources", spider.source_name or spider.name, spider.run_id, [record])
        spider.landing_files.append(path)
        spider.outcome = record
        logger.info("source %s: %s%s (%d items, %d pages)", record["source"], record["status"],
                    f" - {record['reason']}" if record["reason"] else "", record["items"], record["pages"])
