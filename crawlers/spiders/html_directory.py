"""`html_directory`: an insurer's HTML (or JavaScript) directory read with the config's CSS selector spec."""

from __future__ import annotations

from typing import Any, Iterator

import scrapy
from scrapy.http import Response

from crawlers.landing import utcnow_iso
from crawlers.parse import sha256_bytes
from crawlers.parse.html import (
    PLACE_FIELDS,
    detail_url,
    extract_items,
    extract_page,
    html_listing,
    looks_like_app_shell,
    merge_detail,
    next_page_url,
    numbered_page_url,
)
from crawlers.spiders import ERROR_STATUSES, DirectorySpider
from reconcile.normalize.npi import is_valid_npi


async def wait_for_items(page: Any, selector: str, timeout_ms: int) -> None:
    """Playwright page method: wait until the item selector appears; an empty result page is not an error."""
    from playwright.async_api import TimeoutError as PlaywrightTimeout

    try:
        await page.wait_for_selector(selector, state="attached", timeout=timeout_ms)
    except PlaywrightTimeout:
        return


def page_html(response: Response) -> str:
    """A page's HTML as text (a body Scrapy did not decode is read as UTF-8)."""
    return response.text if hasattr(response, "text") else response.body.decode("utf-8", "replace")


class HtmlDirectorySpider(DirectorySpider):
    """Crawl an HTML directory page by page (`next_page`), rendering with Chromium when `render_js` says so."""

    name = "html_directory"
    directory_kind = "html"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Resolve the render mode (directory, else `[crawl]`) and check the selector spec."""
        super().__init__(*args, **kwargs)
        self.mode = "never"
        self.rendering = False
        self.seen_pages: set[str] = set()
        self.seen_details: set[str] = set()  # provider pages already requested
        self.items_shown: set[int] = set()  # hashes of the items read (a site may serve a page again past its end)
        if self.directory is not None and self.config is not None:
            self.mode = self.directory.render_js or self.config.crawl.render_js
            self.rendering = self.mode == "always"
            if self.directory.selectors is None:
                self.fail(f"{self.config.source_path}: directory {self.directory.insurer!r} (kind html) "
                          "needs a [directory.selectors] table with at least `item`")

    def needs_js(self) -> bool:
        """Playwright handlers are installed unless this directory never renders."""
        return self.mode != "never"

    def _request(self, url: str, render: bool, first: bool = False, numbered: bool = False) -> scrapy.Request:
        """A result page request, rendered in Chromium (waiting for the items) when `render`; `numbered`: a page
        reached by counting `page_param`, which may lie past the last page."""
        selectors = self.directory.selectors
        meta = {"first_page": first, "numbered": numbered}
        return self._page_request(url, self.parse_page, render, selectors.wait_for or selectors.item, meta)

    def _page_request(self, url: str, callback: Any, render: bool, wait_for: str, meta: dict[str, Any]) -> scrapy.Request:
        """A page request handing every status to `callback`; rendered (waiting for `wait_for`) when `render`."""
        meta = {"handle_httpstatus_list": ERROR_STATUSES, "rendered": render, **meta}
        if render:
            from scrapy_playwright.page import PageMethod

            wait_ms = int(min(self.config.crawl.timeout_seconds, 15) * 1000)
            meta.update(playwright=True, playwright_page_methods=[PageMethod(wait_for_items, wait_for, wait_ms)])
        return scrapy.Request(url, callback=callback, errback=self.on_error, meta=meta, dont_filter=render)

    async def start(self) -> Any:
        """The first directory page."""
        if self.failure or self.directory is None:
            return
        self.seen_pages.add(self.directory.url)
        yield self._request(self.directory.url, self.rendering, first=True)

    def parse_page(self, response: Response) -> Iterator[Any]:
        """Extract items (following each one's provider page when `detail` is set); re-render an app shell
        (auto); follow `next_page` (or count `page_param`)."""
        if response.status in (400, 404, 410) and response.meta.get("numbered"):
            return  # counted past the last page
        if response.status != 200:
            reason = f"{response.url}: HTTP {response.status}"
            self.fail(reason if response.meta.get("first_page") else f"paging stopped: {reason}")
            yield self.quarantine(response.url, f"HTTP {response.status}")
            return
        html = page_html(response)
        selectors = self.directory.selectors
        items = extract_items(html, selectors)
        if not items and self.mode == "auto" and not response.meta.get("rendered") and looks_like_app_shell(html):
            self.logger.info("%s looks like a JavaScript app: rendering it with Chromium", response.url)
            self.rendering = True
            yield self._request(response.url, True, first=response.meta.get("first_page", False))
            return
        shown = {hash(tuple(sorted((k, str(v)) for k, v in item.items() if k != "_item"))) for item in items}
        if response.meta.get("numbered") and shown <= self.items_shown:
            return  # counted past the last page: empty, or only providers already shown (the last page again)
        self.items_shown |= shown
        self.pages += 1
        digest = sha256_bytes(response.body)
        direct: list[dict[str, Any]] = []
        linked: dict[str, list[dict[str, Any]]] = {}  # provider page -> this page's records linking to it
        for fields in items:
            link = detail_url(fields.pop("_detail", None), response.url)
            if link is None:
                direct.append(fields)
            elif link in linked or link not in self.seen_details:  # a provider page is read once
                self.seen_details.add(link)
                linked.setdefault(link, []).append(fields)
        for link, records in linked.items():
            yield self._page_request(link, self.parse_detail, self.rendering, self._detail_wait(),
                                     {"items": records, "list_url": response.url, "list_sha256": digest})
        yield from self._listings(direct, response.url, digest)
        target = next_page_url(html, selectors.next_page, response.url)
        numbered = target is None and bool(self.directory.page_param) and bool(items)
        if numbered:
            target = numbered_page_url(response.url, str(self.directory.page_param), self.directory.page_step)
        limit = self.directory.max_pages or 100_000
        if target and target not in self.seen_pages and len(self.seen_pages) < limit:
            self.seen_pages.add(target)
            yield self._request(target, self.rendering, numbered=numbered)

    def _detail_wait(self) -> str:
        """What a rendered provider page waits for: `detail_selectors.wait_for`, else its body."""
        detail = self.directory.detail_selectors
        return (detail.wait_for if detail else None) or "body"

    def parse_detail(self, response: Response) -> Iterator[Any]:
        """A provider's own page completing the result records linking to it: a page that shows addresses gives
        the offices (one record per `location`), each merged with the first result record; a page without
        addresses completes each result record (an office card each) with its values."""
        items = response.meta["items"]
        if response.status != 200:  # the result page's own values still stand
            yield self.quarantine(response.url, f"item {items[0]['_item']}: provider page HTTP {response.status}",
                                  row=items[0]["_item"], raw=repr(items[0]))
            yield from self._listings(items, response.meta["list_url"], response.meta["list_sha256"])
            return
        html = page_html(response)
        records = extract_page(html, self.directory.detail_selectors or self.directory.selectors)
        blank = not any(v for record in records for v in record.values())
        if blank and self.mode == "auto" and not response.meta.get("rendered") and looks_like_app_shell(html):
            self.logger.info("%s looks like a JavaScript app: rendering it with Chromium", response.url)
            yield self._page_request(response.url, self.parse_detail, True, self._detail_wait(), {
                k: response.meta[k] for k in ("items", "list_url", "list_sha256")})
            return
        offices = any(record.get(k) for record in records for k in PLACE_FIELDS)
        merged = ([merge_detail(items[0], record) for record in records] if offices
                  else [merge_detail(item, records[0]) for item in items])
        yield from self._listings(merged, response.url, sha256_bytes(response.body))

    def _listings(self, records: list[dict[str, Any]], url: str, digest: str) -> Iterator[Any]:
        """Listings of the records read on page `url` (body sha256 `digest`; `_item` = the item's position on its
        result page); records without a name or NPI, or with an invalid NPI, are quarantined."""
        fetched_at = utcnow_iso()
        good: list[dict[str, Any]] = []
        for record in records:
            fields = {k: v for k, v in record.items() if not k.startswith("_")}
            position = record["_item"]
            listing = html_listing(fields, self.directory.insurer, url, fetched_at, digest)
            if listing is None:
                yield self.quarantine(url, f"item {position}: neither name nor NPI found", row=position,
                                      raw=repr(fields))
            elif listing["npi"] and not is_valid_npi(listing["npi"]):
                yield self.quarantine(url, f"item {position}: invalid NPI {listing['npi']!r}", row=position,
                                      raw=repr(fields))
            else:
                good.append(listing)
        if good:
            yield self.listings(good)

    def on_error(self, failure: Any) -> Iterator[Any]:
        """A page that failed after retries (network, SSRF/robots refusal, browser error); a provider page that
        failed leaves its result-page values."""
        reason = self.failure_reason(failure)
        meta = failure.request.meta
        if "items" in meta:
            first = meta["items"][0]["_item"]
            yield self.quarantine(failure.request.url, f"item {first}: provider page: {reason}", row=first)
            yield from self._listings(meta["items"], meta["list_url"], meta["list_sha256"])
            return
        self.fail(reason if meta.get("first_page") else f"paging stopped: {reason}")
        yield self.quarantine(failure.request.url, reason)
