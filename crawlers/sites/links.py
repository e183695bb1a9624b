"""Choose which same-site pages to fetch after the home page, ranked by link text and URL.

The pages that say something a directory can be wrong about come first:
new-patient policy, accepted insurance, the team roster, contact/locations.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit, urlunsplit

from parsel import Selector

from crawlers.sites.seeds import same_site

# (category, weight, pattern over link text / title / aria-label)
TEXT_RULES: tuple[tuple[str, float, re.Pattern[str]], ...] = (
    ("new_patients", 10.0, re.compile(r"\bnew[\s-]*patients?\b|\baccepting\b|pacientes?\s+nuevos|nuevos\s+pacientes", re.I)),
    ("insurance", 9.5, re.compile(r"\binsurances?\b|\b(accepted|participating)\s+(plans|insurance|carriers)|\bplans?\s+(we\s+)?(accept|take)|\bseguros?\b|\bin[\s-]network\b", re.I)),
    ("insurance", 8.0, re.compile(r"\bbilling\b|\bpayment\s+(options|information|policy)|\bfinancial\s+(policy|information)|\bfees\b|\bself[\s-]pay\b|\bmedicare\b|\bmedicaid\b", re.I)),
    ("team", 8.5, re.compile(r"\bour\s+(team|providers|physicians|doctors|dentists|staff|clinicians|practitioners|therapists)|\bmeet\s+(the|our)\b|\b(providers|physicians|doctors|dentists|clinicians|practitioners|therapists|nurse practitioners)\b|\bstaff\b|\bteam\b|nuestro\s+equipo|\bm[eé]dicos\b", re.I)),
    ("contact", 7.0, re.compile(r"\bcontact\b|\blocations?\b|\bdirections\b|\boffices?\b|\bhours\b|\bfind\s+us\b|\bcont[aá]ct(o|enos)\b|\bubicaci[oó]n", re.I)),
    ("new_patients", 6.0, re.compile(r"\bappointments?\b|\bschedule\b|\bbook\s+(now|online|a\s+visit)|\bpatient\s+(info|information|resources|center)\b|\bfor\s+patients\b|\bcitas?\b", re.I)),
    ("about", 4.0, re.compile(r"\babout(\s+us)?\b|\bwho\s+we\s+are\b|\bour\s+practice\b|\bnosotros\b", re.I)),
)
URL_RULES: tuple[tuple[str, float, re.Pattern[str]], ...] = (
    ("new_patients", 5.0, re.compile(r"new[-_]?patient|accepting", re.I)),
    ("insurance", 5.0, re.compile(r"insurance|accepted[-_]?plans|plans[-_]?accepted|in[-_]?network", re.I)),
    ("insurance", 3.5, re.compile(r"billing|payment|financial|fees", re.I)),
    ("team", 4.5, re.compile(r"our[-_]?team|providers?|physicians?|doctors?|dentists?|staff|team|clinicians?|meet[-_]", re.I)),
    ("contact", 4.0, re.compile(r"contact|locations?|directions|offices?", re.I)),
    ("new_patients", 2.5, re.compile(r"appointment|schedule|patient[-_]?(info|resources)", re.I)),
    ("about", 1.5, re.compile(r"about", re.I)),
)
# Links never worth a page of the budget: files, logins, portals, legal, shops, social posts.
SKIP_URL = re.compile(
    r"\.(pdf|docx?|xlsx?|pptx?|jpe?g|png|gif|svg|webp|ico|mp[34]|mov|avi|zip|gz|rar|exe|dmg|css|js|json|xml|rss|ics|vcf)$"
    r"|/(wp-(admin|login|content|json)|login|logout|signin|sign-in|register|cart|checkout|feed|wp-json)\b"
    r"|[?&](replytocom|share|print|add-to-cart)=",
    re.I,
)
SKIP_TEXT = re.compile(r"\b(log\s*in|sign\s*in|portal|pay\s+(my\s+)?bill|privacy|terms|careers?|jobs|accessibility|sitemap|cookie)\b", re.I)
FRAME_LABEL = "\x00frame"  # label of a <frame src> (cannot occur in link text)
BAD_SCHEMES = ("mailto:", "tel:", "javascript:", "data:", "sms:", "fax:", "#")


@dataclass(frozen=True)
class Link:
    """A candidate link with its score and the category that scored it."""

    url: str
    text: str
    score: float
    category: str


def _clean_url(href: str, base_url: str) -> str | None:
    """Absolute URL without fragment, or None for mailto/tel/javascript/anchors."""
    href = (href or "").strip()
    if not href or href.lower().startswith(BAD_SCHEMES):
        return None
    try:
        parts = urlsplit(urljoin(base_url, href))
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https"):
        return None
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path or "/", parts.query, ""))


def page_key(url: str) -> str:
    """Identity of a page within a site: scheme-less, no trailing slash, lower-case path."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower().removeprefix("www.")
    port = f":{parts.port}" if parts.port not in (None, 80, 443) else ""
    path = (parts.path or "/").rstrip("/").lower() or "/"
    path = re.sub(r"/(index|default|home)\.(html?|php|aspx?)$", "", path) or "/"
    return f"{host}{port}{path}" + (f"?{parts.query}" if parts.query else "")


def score_link(url: str, text: str) -> tuple[float, str]:
    """Score one link by its text (strongest) and its URL path; 0 means not worth fetching."""
    if text == FRAME_LABEL:
        return 50.0, "frame"
    if SKIP_URL.search(urlsplit(url).path + ("?" + urlsplit(url).query if urlsplit(url).query else "")):
        return 0.0, ""
    if SKIP_TEXT.search(text) and not re.search(r"insurance|new\s+patient", text, re.I):
        return 0.0, ""
    best, category = 0.0, ""
    for name, weight, pattern in TEXT_RULES:
        if pattern.search(text) and weight > best:
            best, category = weight, name
    path = urlsplit(url).path
    url_best, url_category = 0.0, ""
    for name, weight, pattern in URL_RULES:
        if pattern.search(path) and weight > url_best:
            url_best, url_category = weight, name
    if not category:
        best, category = url_best, url_category
    elif url_category == category:
        best += url_best
    else:
        best += url_best / 3
    if not best:
        return 0.0, ""
    return best + (1.0 if path.count("/") <= 2 else 0.0), category  # shallow pages are usually the main ones


def candidate_links(html: str, base_url: str) -> list[tuple[str, str]]:
    """All (absolute URL, label) pairs of <a>/<area> elements, label = text, title or aria-label."""
    selector = Selector(text=html or "<html></html>")
    base_href = selector.css("base::attr(href)").get()
    base = urljoin(base_url, base_href) if base_href else base_url
    found: list[tuple[str, str]] = []
    for frame in selector.css("frame[src]"):  # old framesets: the real content lives in the frames
        url = _clean_url(frame.attrib.get("src", ""), base)
        if url is not None:
            found.append((url, FRAME_LABEL))
    for anchor in selector.css("a[href], area[href]"):
        url = _clean_url(anchor.attrib.get("href", ""), base)
        if url is None:
            continue
        words = " ".join(" ".join(anchor.css("::text, *::text").getall()).split())
        label = " ".join(filter(None, (words, anchor.attrib.get("title", ""), anchor.attrib.get("aria-label", ""), " ".join(anchor.css("img::attr(alt)").getall()))))
        found.append((url, label[:200]))
    return found


def choose_links(
    html: str,
    base_url: str,
    domain: str,
    root: str,
    limit: int,
    seen: set[str] | frozenset[str] = frozenset(),
) -> list[Link]:
    """Up to `limit` same-site links worth fetching, best first, mixing categories before repeating one."""
    best_per_page: dict[str, Link] = {}
    for url, text in candidate_links(html, base_url):
        key = page_key(url)
        if key in seen or not same_site(url, domain, root):
            continue
        score, category = score_link(url, text)
        if score <= 0:
            continue
        current = best_per_page.get(key)
        if current is None or score > current.score:
            best_per_page[key] = Link(url, text, score, category)
    ranked = sorted(best_per_page.values(), key=lambda link: (-link.score, len(link.url), link.url))
    chosen: list[Link] = []
    used: dict[str, int] = {}
    while ranked and len(chosen) < limit:
        # A second page of a category already chosen counts for less, so one of each comes first.
        pick = max(ranked, key=lambda link: (link.score / (1 + used.get(link.category, 0)), -ranked.index(link)))
        ranked.remove(pick)
        chosen.append(pick)
        used[pick.category] = used.get(pick.category, 0) + 1
    return chosen
