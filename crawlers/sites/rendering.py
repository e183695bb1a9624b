"""When to render a page with a real browser, and how Playwright is launched for it.

`render_js = auto` renders only pages whose static HTML has no usable visible
text: app shells ("Loading…", an empty `<div id="root">`), `<noscript>` pages
asking for JavaScript. Everything else is read from the static HTML, which is
far cheaper than Chromium.
"""

from __future__ import annotations

import re
from typing import Any

import lxml.html
from lxml import etree

from crawlers.config import CrawlConfig
from crawlers.settings import CHROMIUM_ARGS, browser_executable

NON_TEXT_TAGS = ("script", "style", "noscript", "template", "svg", "head", "iframe", "object", "canvas")
MIN_WORDS = 20
_UTF8_PARSER = lxml.html.HTMLParser(encoding="utf-8")  # the text is already decoded; ignore <meta charset>
_WORD = re.compile(r"\w{2,}", re.UNICODE)
_ENABLE_JS = re.compile(r"(enable|turn\s+on|requires?|need)\s+(?:\w+\s+){0,3}javascript|javascript\s+(is\s+)?(required|disabled|must\s+be\s+enabled)", re.I)
_APP_ROOT = re.compile(
    r"<(div|main|section|app-root|body)\b[^>]*\b(id|class)\s*=\s*[\"']?(root|app|__next|__nuxt|___gatsby|main-app|application|svelte|ember-application)\b[^>]*>\s*(<!--.*?-->\s*)*</\1>"
    r"|<app-root\b|\bng-app\b|\bdata-reactroot\b|<div\b[^>]*\bid\s*=\s*[\"']?(root|app)[\"']?[^>]*>\s*</div>",
    re.I | re.S,
)


def _tree(html: str) -> Any:
    """Parse HTML leniently (lxml), or None when there is nothing to parse."""
    if not html or not html.strip():
        return None
    try:
        return lxml.html.document_fromstring(html.encode("utf-8", "replace"), parser=_UTF8_PARSER)
    except (etree.ParserError, ValueError):
        return None


def static_text(html: str) -> str:
    """Visible text of static HTML: no scripts, styles, noscript, templates or <head>."""
    tree = _tree(html)
    if tree is None:
        return ""
    for bad in tree.xpath("|".join(f"//{tag}" for tag in NON_TEXT_TAGS)):
        bad.drop_tree() if bad.getparent() is not None else None
    for comment in tree.xpath("//comment()"):
        if comment.getparent() is not None:
            comment.getparent().remove(comment)
    return " ".join(" ".join(tree.itertext()).split())  # text nodes apart: "Suite 4</p><p>Springfield" is two words


def needs_rendering(html: str, min_words: int = MIN_WORDS, text: str | None = None) -> bool:
    """True when the static page has no usable text but looks like a JavaScript app (auto mode)."""
    words = len(_WORD.findall(static_text(html) if text is None else text))
    if words >= min_words:
        return False
    lowered = html.lower() if html else ""
    has_script = "<script" in lowered
    noscript_js = any(_ENABLE_JS.search(block) for block in re.findall(r"<noscript\b[^>]*>(.*?)</noscript>", html or "", re.I | re.S))
    return bool(noscript_js or _APP_ROOT.search(html or "") or (has_script and words < min_words // 2))


def should_render(mode: str, html: str, rendered: bool, text: str | None = None) -> bool:
    """Whether to (re-)request a fetched static page with the browser under `render_js` = mode."""
    if rendered or mode == "never":
        return False
    if mode == "always":
        return True
    return needs_rendering(html, text=text)


def launch_options(crawl: CrawlConfig | None = None) -> dict[str, Any]:
    """Playwright launch options for the system Chromium, the same as the spiders use."""
    options: dict[str, Any] = {"headless": True, "args": list(CHROMIUM_ARGS)}
    executable = browser_executable(crawl or CrawlConfig())
    if executable:
        options["executable_path"] = executable
    return options
