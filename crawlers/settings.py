"""Scrapy project settings of ghostcheck, and `settings_from_config` mapping `[crawl]` onto them."""

from __future__ import annotations

import shutil
from typing import Any

from crawlers.config import CrawlConfig

BOT_NAME = "ghostcheck"
SPIDER_MODULES = ["crawlers.spiders"]
NEWSPIDER_MODULE = "crawlers.spiders"
SPIDER_LOADER_CLASS = "crawlers.spiders.LazySpiderLoader"  # imports only the spider that runs (start-up time)
TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
USER_AGENT = CrawlConfig().user_agent
ROBOTSTXT_OBEY = True
TELNETCONSOLE_ENABLED = False
LOG_LEVEL = "INFO"
FEED_EXPORT_ENCODING = "utf-8"
COOKIES_ENABLED = False
DOWNLOADER_MIDDLEWARES = {
    "crawlers.safety.SSRFGuardMiddleware": 50,
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "crawlers.spiders.BackoffRetryMiddleware": 550,
}
ITEM_PIPELINES = {"crawlers.pipelines.LandingPipeline": 300}
RETRY_TIMES = 5
RETRY_HTTP_CODES = [429, 500, 502, 503, 504, 522, 524, 408]
GHOSTCHECK_BACKOFF_BASE = 0.5  # seconds; doubled per attempt
GHOSTCHECK_BACKOFF_MAX = 30.0  # cap of the exponential backoff
GHOSTCHECK_RETRY_AFTER_MAX = 120.0  # cap of a server's Retry-After
GHOSTCHECK_ALLOW_PRIVATE_NETWORKS = False
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 0.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 2.0

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
_BLOCKED_RESOURCES = frozenset({"image", "media", "font"})


def browser_executable(crawl: CrawlConfig) -> str | None:
    """The Chromium to launch: `[crawl] browser_executable`, else `chromium` on PATH."""
    return crawl.browser_executable or shutil.which("chromium") or shutil.which("chromium-browser")


def _abort_request_guard(allow_private: bool):  # type: ignore[no-untyped-def]
    """A PLAYWRIGHT_ABORT_REQUEST predicate: drop heavy media and (SSRF) non-public sub-requests."""
    from crawlers.safety import BlockedTarget, check_url

    def abort(request) -> bool:  # type: ignore[no-untyped-def]
        """True for requests the browser must not make."""
        if request.resource_type in _BLOCKED_RESOURCES:
            return True
        if request.url.startswith(("data:", "blob:", "about:")):
            return False
        try:
            check_url(request.url, allow_private)
        except BlockedTarget:
            return True
        return False

    return abort


def playwright_settings(crawl: CrawlConfig) -> dict[str, Any]:
    """scrapy-playwright handlers and system-Chromium launch options (only for spiders that render JS)."""
    launch: dict[str, Any] = {"headless": True, "args": list(CHROMIUM_ARGS)}
    executable = browser_executable(crawl)
    if executable:
        launch["executable_path"] = executable
    handler = "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler"
    return {
        "DOWNLOAD_HANDLERS": {"http": handler, "https": handler},
        "PLAYWRIGHT_BROWSER_TYPE": "chromium",
        "PLAYWRIGHT_LAUNCH_OPTIONS": launch,
        "PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT": int(crawl.timeout_seconds * 1000),
        "PLAYWRIGHT_MAX_PAGES_PER_CONTEXT": 4,
        "PLAYWRIGHT_ABORT_REQUEST": _abort_request_guard(crawl.allow_private_networks),
    }


def settings_from_config(crawl: CrawlConfig, render_js: bool = False) -> dict[str, Any]:
    """Scrapy settings for `[crawl]` (politeness, SSRF, timeouts); add Playwright when `render_js`."""
    settings: dict[str, Any] = {
        "USER_AGENT": crawl.user_agent,
        "ROBOTSTXT_OBEY": crawl.obey_robots,
        "ROBOTSTXT_USER_AGENT": crawl.user_agent.split("/")[0],
        "GHOSTCHECK_ALLOW_PRIVATE_NETWORKS": crawl.allow_private_networks,
        "CONCURRENT_REQUESTS": crawl.concurrency,
        "CONCURRENT_REQUESTS_PER_DOMAIN": crawl.concurrency_per_domain,
        "DOWNLOAD_DELAY": crawl.download_delay,
        "AUTOTHROTTLE_ENABLED": crawl.autothrottle,
        "DOWNLOAD_TIMEOUT": crawl.timeout_seconds,
        "DOWNLOAD_MAXSIZE": crawl.max_page_bytes,
        "DOWNLOAD_WARNSIZE": 0,
        "REDIRECT_MAX_TIMES": crawl.max_redirects,
    }
    if render_js:
        settings.update(playwright_settings(crawl))
    return settings
