"""Visible text of a page as ordered blocks (headings, paragraphs, list items, cells), boilerplate dropped."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Iterator
from urllib.parse import unquote

import lxml.etree
import lxml.html

__all__ = ["Block", "visible_blocks", "visible_text", "decode_html", "looks_like_html", "split_sentences"]

DROP_TAGS = frozenset(
    {"script", "style", "noscript", "template", "svg", "math", "iframe", "object", "embed", "canvas",
     "title", "meta", "link", "base", "select", "option", "button", "input", "textarea"}
)
BOILERPLATE_TAGS = frozenset({"nav", "footer", "aside"})
BLOCK_TAGS = frozenset(
    {"h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "td", "th", "dt", "dd", "blockquote", "pre", "caption",
     "figcaption", "address", "summary", "div", "section", "article", "main", "body", "ul", "ol", "dl",
     "table", "tr", "form", "fieldset", "legend", "label", "details", "center", "header"}
)
HEADING_TAGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
GROUP_TAGS = frozenset({"ul", "ol", "dl", "table"})
_BOILER_TOKEN = re.compile(
    r"(?:^|[-_])(?:nav|navbar|navigation|menu|megamenu|footer|cookies?|breadcrumbs?|consent|gdpr|skip-?link|sidebar|topbar|utility-bar)(?:[-_]|$)",
    re.IGNORECASE,
)
# Consent-manager widgets (OneTrust, Cookiebot, CookieYes, Complianz, ...) and site-wide header wrappers
# (Wix "SITE_HEADER", WordPress "site-header"/"masthead") named without a separable token.
_CONSENT_WIDGET = re.compile(r"onetrust|cookiebot|cookieyes|cky-consent|cookie-?law|cmplz|truste-|osano|termly|iubenda", re.IGNORECASE)
_SITE_HEADER = re.compile(r"^(?:site[-_]?header|masthead)$", re.IGNORECASE)
_FAX_ICON = re.compile(r"(?:^|[-_])fax(?:[-_]|$)", re.IGNORECASE)
_NOT_BOILER_PREFIXES = ("has-", "with-", "no-", "is-", "js-", "wp-block-navigation__responsive-container-content")
_NAV_ROLES = frozenset({"navigation", "menu", "menubar", "dialog", "alertdialog"})
_CHROME_ROLES = frozenset({"contentinfo", "complementary", "banner"})
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)
_TAG_RE = re.compile(r"<\s*(?:[a-zA-Z][a-zA-Z0-9]*|!doctype|!--)[\s>/]", re.IGNORECASE)
_SPACES = re.compile(r"[ \t\r\f\v\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
_INVISIBLE = re.compile(r"[\u200b-\u200d\u2060\ufeff\u00ad]")
_BULLET_LINE = re.compile(r"^\s*(?:[•·▪‣◦●○■□✓✔☑*]|-(?!\d)|\d{1,2}[.)])\s+")
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_.:-]+)""", re.IGNORECASE)


@dataclass(frozen=True)
class Block:
    """One visible run of text: its tag, the heading it sits under, its list/table and table row."""

    text: str
    tag: str
    heading: str = ""
    group: int = 0
    row: int = 0


def decode_html(html: str | bytes, encoding: str | None = None) -> str:
    """Decode page bytes: the given encoding, then a BOM or <meta charset>, then UTF-8, then a guess."""
    if isinstance(html, str):
        return html
    candidates: list[str] = []
    if encoding:
        candidates.append(encoding)
    if html.startswith(b"\xef\xbb\xbf"):
        candidates.append("utf-8-sig")
    elif html.startswith((b"\xff\xfe", b"\xfe\xff")):
        candidates.append("utf-16")
    meta = _META_CHARSET.search(html[:4096])
    if meta:
        candidates.append(meta.group(1).decode("ascii", "ignore"))
    candidates.append("utf-8")
    for name in candidates:
        try:
            return html.decode(name)
        except (LookupError, UnicodeDecodeError):
            continue
    try:
        from charset_normalizer import from_bytes

        best = from_bytes(html).best()
        if best is not None:
            return str(best)
    except ImportError:  # pragma: no cover - charset_normalizer ships with requests/scrapy
        pass
    return html.decode("cp1252", errors="replace")


def looks_like_html(text: str) -> bool:
    """True when the string contains markup (otherwise it is treated as plain text)."""
    return bool(_TAG_RE.search(text[:20000]))


def _clean(text: str) -> str:
    """Normalize Unicode, drop invisible characters and collapse spaces (keeping line breaks)."""
    text = unicodedata.normalize("NFC", _INVISIBLE.sub("", text))
    lines = (_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


def _boilerplate_kind(el: lxml.html.HtmlElement) -> str | None:
    """'nav' (menus, breadcrumbs, cookie banners), 'chrome' (header/footer/aside), 'hidden', or None for content."""
    tag = el.tag if isinstance(el.tag, str) else ""
    if el.get("hidden") is not None or (el.get("aria-hidden") or "").lower() == "true" or _HIDDEN_STYLE.search(el.get("style") or ""):
        return "hidden"
    if tag == "nav":
        return "nav"
    if tag in ("footer", "aside"):
        return "chrome"
    if tag == "header" and not any(a.tag in ("main", "article", "section") for a in el.iterancestors()):
        return "chrome"
    if tag in ("html", "body", "main", "article"):
        return None
    role = (el.get("role") or "").strip().lower()
    if role in _NAV_ROLES:
        return "nav"
    if role in _CHROME_ROLES:
        return "chrome"
    for token in ((el.get("class") or "") + " " + (el.get("id") or "")).split():
        if token.lower().startswith(_NOT_BOILER_PREFIXES):
            continue
        if _CONSENT_WIDGET.search(token):
            return "nav"
        if _SITE_HEADER.match(token):
            return "chrome"
        match = _BOILER_TOKEN.search(token)
        if match:
            return "chrome" if re.search(r"footer|sidebar|topbar|utility", match.group(0), re.IGNORECASE) else "nav"
    return None


_PARSER = lxml.html.HTMLParser(encoding="utf-8", remove_comments=True, remove_pis=True, huge_tree=True)


class _Walker:
    """Depth-first walk that cuts the document into blocks at block-level element boundaries."""

    def __init__(self, keep: frozenset[str]) -> None:
        """Start with an empty buffer; `keep` names the boilerplate kinds to keep (contacts keep all)."""
        self.keep = keep
        self.blocks: list[Block] = []
        self.buffer: list[str] = []
        self.tags: list[str] = ["body"]
        self.heading = ""
        self.groups: list[int] = [0]
        self.rows: list[int] = [0]
        self.counter = 0

    def flush(self) -> None:
        """Emit the buffered text as one block tagged with the innermost block element."""
        text = _clean("".join(self.buffer))
        self.buffer = []
        if not text:
            return
        tag = self.tags[-1]
        self.blocks.append(Block(text, tag, self.heading if tag not in HEADING_TAGS else "", self.groups[-1], self.rows[-1]))
        if tag in HEADING_TAGS:
            self.heading = text.replace("\n", " ")

    def walk(self, root: lxml.html.HtmlElement) -> None:
        """Visit the tree iteratively (deep page-builder nesting must not hit Python's recursion limit)."""
        dropped: set[lxml.html.HtmlElement] = set()
        walker = lxml.etree.iterwalk(root, events=("start", "end"))
        for event, el in walker:
            tag = el.tag.lower() if isinstance(el.tag, str) else ""
            if event == "start":
                if self.keep == _ALL and tag:
                    self._contact_hint(el, tag)
                if not tag or tag in DROP_TAGS or (self.keep != _ALL and _boilerplate_kind(el) not in self.keep):
                    dropped.add(el)
                    walker.skip_subtree()
                    continue
                self._open(el, tag)
                continue
            if el in dropped:
                dropped.discard(el)
            else:
                self._close(tag)
            if el.tail and el is not root:
                self.buffer.append(el.tail)

    def _contact_hint(self, el: lxml.html.HtmlElement, tag: str) -> None:
        """For contact reading: name icon-only fax labels and spell out tel: links whose text shows no number."""
        if tag in ("i", "span", "svg", "em") and not _clean(el.text_content() or ""):
            label = " ".join((el.get("class") or "", el.get("aria-label") or "", el.get("title") or ""))
            if any(_FAX_ICON.search(token) for token in label.split()):
                self.buffer.append(" Fax: ")
        elif tag == "a" and (el.get("href") or "").strip().lower().startswith("tel:"):
            if not re.search(r"(?:\d\D{0,3}){7}", el.text_content() or ""):
                number = re.split(r"[;,]", unquote(el.get("href", "").strip()[4:]), maxsplit=1)[0].strip()
                self.buffer.append(f" {number} ")

    def _open(self, el: lxml.html.HtmlElement, tag: str) -> None:
        """Start an element: flush at block boundaries, then take its leading text."""
        if tag in BLOCK_TAGS:
            self.flush()
            self.tags.append(tag)
            if tag in GROUP_TAGS:
                self.counter += 1
                self.groups.append(self.counter)
            if tag == "tr":
                self.counter += 1
                self.rows.append(self.counter)
        if tag == "br":
            self.buffer.append("\n")
        elif tag == "img" and el.get("alt"):
            self.buffer.append(" " + el.get("alt", "") + " ")
        if el.text:
            self.buffer.append(el.text)

    def _close(self, tag: str) -> None:
        """End an element: separate cells/items, and emit the block it closes."""
        if tag in ("td", "th", "dt", "dd", "li"):
            self.buffer.append(" ")
        if tag in BLOCK_TAGS:
            self.flush()
            self.tags.pop()
            if tag in GROUP_TAGS:
                self.groups.pop()
            if tag == "tr":
                self.rows.pop()


def _text_blocks(text: str) -> list[Block]:
    """Cut plain text into blocks: blank-line paragraphs, one block per bullet or short line."""
    blocks: list[Block] = []
    heading = ""
    group = 0
    counter = 0
    for para in re.split(r"\n\s*\n", text.replace("\r\n", "\n")):
        lines = [ln for ln in (_clean(x) for x in para.split("\n")) if ln]
        bulleted = [bool(_BULLET_LINE.match(ln)) for ln in lines]
        for i, line in enumerate(lines):
            if bulleted[i]:
                if not (i and bulleted[i - 1]):
                    counter += 1
                    group = counter
                blocks.append(Block(_BULLET_LINE.sub("", line), "li", heading, group))
                continue
            group = 0
            short = len(line) < 80 and not re.search(r"[.!?]$", line)
            tag = "h3" if short and i + 1 < len(lines) and any(bulleted[i + 1 :]) else "p"
            blocks.append(Block(line, tag, heading if tag == "p" else ""))
            if tag == "h3" or (line.endswith(":") and len(line) < 80):
                heading = line
    return blocks


_ALL = frozenset({None, "nav", "chrome", "hidden"})


def visible_blocks(html: str | bytes, keep_boilerplate: bool = False, encoding: str | None = None, keep_chrome: bool = False) -> list[Block]:
    """Visible text blocks in page order; plain text (no markup) is split into paragraphs and bullets.

    Boilerplate (nav, menus, cookie banners, header/footer/aside) is dropped unless `keep_boilerplate`
    (everything, for phones/addresses) or `keep_chrome` (header/footer/aside but not menus: site banners).
    """
    text = decode_html(html, encoding)
    if not text.strip():
        return []
    if not looks_like_html(text):
        return _text_blocks(text)
    try:
        root = lxml.html.document_fromstring(text.encode("utf-8"), parser=_PARSER)
    except (lxml.etree.ParserError, ValueError):
        return _text_blocks(text)
    walker = _Walker(_ALL if keep_boilerplate else frozenset({None, "chrome"}) if keep_chrome else frozenset({None}))
    walker.walk(root)  # the whole tree: libxml2 leaves unknown HTML5 tags met before <body> inside <head>
    walker.flush()
    return walker.blocks


def visible_text(html: str | bytes, encoding: str | None = None) -> str:
    """The page's visible content text, one block per line (boilerplate and scripts dropped)."""
    return "\n".join(b.text for b in visible_blocks(html, encoding=encoding))


def page_title(html: str | bytes, encoding: str | None = None) -> str:
    """The <title> text (or the first <h1>) of a page; empty when there is none."""
    text = decode_html(html, encoding)
    if not looks_like_html(text):
        return ""
    try:
        root = lxml.html.document_fromstring(text.encode("utf-8"), parser=lxml.html.HTMLParser(encoding="utf-8"))
    except (lxml.etree.ParserError, ValueError):
        return ""
    for path in ("//title", "//h1"):
        for el in root.xpath(path):
            value = _clean(el.text_content()).replace("\n", " ")
            if value:
                return value
    return ""


_ABBREV = re.compile(
    r"(?:\b(?:dr|dra|drs|mr|mrs|ms|st|ste|ave|blvd|rd|inc|co|corp|jr|sr|vs|no|dept|mt|ft|e\.g|i\.e|a\.m|p\.m|etc|approx|u\.s|fl|bldg)|\b[A-Z])\.$",
    re.IGNORECASE,
)
_BOUNDARY = re.compile(r"(?<=[.!?])[\"”’)]*\s+(?=[\"“(]?[A-Z0-9¿¡])|(?<=[!?])\s*(?=[A-Z])|\n+|\s+[|•·]\s+")


def split_sentences(text: str) -> Iterator[tuple[str, int]]:
    """Yield (sentence, start offset) for a block of text, not splitting after Dr./St./initials."""
    start = 0
    for match in _BOUNDARY.finditer(text):
        head = text[start : match.start()].rstrip()
        if match.group(0).strip() == "" and "\n" not in match.group(0) and _ABBREV.search(head[-8:] if head else ""):
            continue
        if head.strip():
            yield head.strip(), start + (len(text[start:]) - len(text[start:].lstrip()))
        start = match.end()
    tail = text[start:].strip()
    if tail:
        yield tail, start + (len(text[start:]) - len(text[start:].lstrip()))
