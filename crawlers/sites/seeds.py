"""Seeds of the practice-website crawl: sites CSVs and directory listings, one per site.

A site is a registered domain (plus a non-default port) and a path root, so
`www.example.com/` and `example.com/index.html` are one site while
`bighealth.org/locations/springfield/` and `.../shelbyville/` are two.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Iterable, Iterator
from urllib.parse import urlsplit, urlunsplit

import fsspec
import tldextract

from crawlers.landing import utcnow_iso

# Header spellings seen in spreadsheets people export; compared after _header_key().
HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "url": ("url", "website", "websiteurl", "site", "siteurl", "homepage", "web", "webaddress", "link", "practicewebsite", "practiceurl"),
    "practice_name": ("practicename", "practice", "name", "organization", "organizationname", "orgname", "groupname", "clinic", "clinicname", "businessname"),
    "phone": ("phone", "telephone", "phonenumber", "tel", "mainphone", "officephone", "phoneno"),
    "address": ("address", "streetaddress", "street", "address1", "addressline1", "location", "fulladdress"),
    "npi": ("npi", "npinumber", "groupnpi", "organizationnpi", "npi1"),
}
_FILE_SUFFIX = re.compile(r"\.[a-z0-9]{1,5}$", re.IGNORECASE)
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)


class SeedError(ValueError):
    """A seed value that cannot be turned into a crawlable site URL."""


@dataclass
class Seed:
    """One practice site to crawl, with what the seed source says about the practice."""

    url: str
    site_key: str
    path_root: str
    practice_name: str | None = None
    phone: str | None = None
    address: str | None = None
    npi: str | None = None
    npis: list[str] = field(default_factory=list)
    origin: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The seed as a plain dict (what `aggregate_site` receives as `seed`)."""
        return {
            "url": self.url,
            "site_key": self.site_key,
            "path_root": self.path_root,
            "practice_name": self.practice_name,
            "phone": self.phone,
            "address": self.address,
            "npi": self.npi,
            "npis": list(self.npis),
            "origin": self.origin,
        }


@lru_cache(maxsize=1)
def _extractor() -> tldextract.TLDExtract:
    """tldextract with its bundled public-suffix snapshot only (never the network)."""
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


def normalize_site_url(raw: str) -> str:
    """Turn a URL as typed in a spreadsheet ("www.x.com", "HTTP://X.com") into an http(s) URL."""
    text = (raw or "").strip().strip("<>\"'")
    if not text:
        raise SeedError("empty URL")
    if text.startswith("//"):
        text = "http:" + text
    elif not _SCHEME.match(text):
        if "@" in text.split("/", 1)[0] or " " in text:
            raise SeedError(f"not a website URL: {raw!r}")
        text = "http://" + text
    parts = urlsplit(text)
    if parts.scheme.lower() not in ("http", "https"):
        raise SeedError(f"not an http(s) URL: {raw!r}")
    try:
        host = parts.hostname
        port = parts.port
    except ValueError:
        raise SeedError(f"bad host or port: {raw!r}") from None
    if not host or "." not in host and host != "localhost" and not host.endswith(".localhost"):
        raise SeedError(f"no usable host name: {raw!r}")
    netloc = host if port is None else f"{host}:{port}"
    if ":" in host:
        netloc = f"[{host}]" if port is None else f"[{host}]:{port}"
    return urlunsplit((parts.scheme.lower(), netloc, parts.path or "/", parts.query, ""))


def site_domain(url: str) -> str:
    """Registered domain of a URL (plus a non-default port); the host itself for IPs/localhost."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    found = _extractor()(host)
    domain = found.top_domain_under_public_suffix or host.removeprefix("www.")
    default = {"http": 80, "https": 443}.get(parts.scheme.lower())
    port = parts.port
    return domain if port in (None, default) else f"{domain}:{port}"


def path_root(url: str) -> str:
    """The folder a site lives in: '/' for most, '/locations/springfield/' for one page of a big site."""
    path = urlsplit(url).path or "/"
    segments = [s for s in path.split("/") if s]
    if segments and (not path.endswith("/")) and _FILE_SUFFIX.search(segments[-1]):
        segments = segments[:-1]  # index.html, home.php: a file in the root
    return "/" + "".join(s + "/" for s in segments)


def site_key(url: str) -> str:
    """Identity of a site for deduplication: registered domain + path root."""
    return site_domain(url) + path_root(url).rstrip("/").lower()


def same_site(url: str, key_domain: str, root: str) -> bool:
    """True when `url` belongs to the site (same registered domain, under the path root)."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        return False
    if site_domain(url) != key_domain:
        return False
    return (parts.path or "/").lower().startswith(root.lower())


def make_seed(url: str, origin: str = "", **facts: Any) -> Seed:
    """Build a Seed from a raw URL and practice facts; raise SeedError for unusable URLs."""
    clean = normalize_site_url(url)
    npi = _text(facts.get("npi"))
    return Seed(
        url=clean,
        site_key=site_key(clean),
        path_root=path_root(clean),
        practice_name=_text(facts.get("practice_name")),
        phone=_text(facts.get("phone")),
        address=_text(facts.get("address")),
        npi=npi,
        npis=[npi] if npi else [],
        origin=origin,
    )


def _text(value: Any) -> str | None:
    """A stripped string, or None for empty/missing values (spreadsheet floats like 123.0 unwrapped)."""
    if value is None:
        return None
    text = str(value).strip()
    if re.fullmatch(r"\d+\.0", text):
        text = text[:-2]
    return text or None


def _header_key(name: str) -> str:
    """Compare headers ignoring case, spaces, punctuation and a BOM."""
    return re.sub(r"[^a-z0-9]", "", (name or "").casefold())


def map_headers(headers: list[str]) -> dict[str, int]:
    """Map our field names to column positions using the tolerated header spellings."""
    positions: dict[str, int] = {}
    keys = [_header_key(h) for h in headers]
    for fieldname, aliases in HEADER_ALIASES.items():
        for alias in aliases:
            if alias in keys:
                positions[fieldname] = keys.index(alias)
                break
    return positions


def _dialect(sample: str) -> type[csv.Dialect] | csv.Dialect:
    """Sniff comma / semicolon / tab / pipe delimiters, defaulting to Excel CSV."""
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        return csv.excel


def _decode(data: bytes) -> str:
    """Decode a CSV file: UTF-8 (with or without BOM), else Windows-1252 as spreadsheets write."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def read_sites_csv(path: str) -> tuple[list[Seed], list[dict[str, Any]]]:
    """Read one sites CSV into seeds and quarantine records (file + row + reason) for bad rows."""
    with fsspec.open(path, "rb") as fh:
        text = _decode(fh.read())
    if not text.strip():
        return [], [_quarantine(path, None, "file is empty", "")]
    lines = text.splitlines()
    reader = csv.reader(io.StringIO(text), _dialect("\n".join(lines[:20])))
    try:
        headers = next(reader)
    except csv.Error as exc:
        return [], [_quarantine(path, 1, f"unreadable CSV header: {exc}", lines[0])]
    columns = map_headers(headers)
    if "url" not in columns:
        shown = ", ".join(h.strip() for h in headers if h.strip()) or "(none)"
        return [], [_quarantine(path, 1, f"no URL/website column in header ({shown})", lines[0])]
    seeds: list[Seed] = []
    bad: list[dict[str, Any]] = []
    row_no = 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            row_no += 1
            bad.append(_quarantine(path, row_no, f"unreadable CSV row: {exc}", ""))
            continue
        row_no = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        facts = {name: (row[pos] if pos < len(row) else None) for name, pos in columns.items()}
        try:
            seeds.append(make_seed(facts.pop("url") or "", origin=path, **facts))
        except SeedError as exc:
            bad.append(_quarantine(path, row_no, str(exc), ",".join(row)))
    return seeds, bad


def _quarantine(path: str, row: int | None, error: str, raw: str) -> dict[str, Any]:
    """A quarantine landing record for a bad seed row (or a whole bad file when row is None)."""
    return {
        "source": "sites",
        "file": path,
        "row": row,
        "error": error,
        "raw_text": raw[:2000],
        "quarantined_at": utcnow_iso(),
    }


def seeds_from_listings(records: Iterable[dict[str, Any]], origin: str = "directory") -> Iterator[Seed]:
    """Seeds from directory listing records that carry a `website` (bad URLs skipped silently)."""
    for record in records:
        website = record.get("website")
        if not website or not isinstance(website, str):
            continue
        try:
            seed = make_seed(
                website,
                origin=record.get("source_url") or origin,
                practice_name=record.get("practice_name"),
                phone=record.get("phone"),
                address=record.get("address"),
                npi=record.get("npi"),
            )
        except SeedError:
            continue
        # A directory names one provider of the practice: its NPI is a hint for linking (npis),
        # never the practice's own identity (a site's claims are not that provider's alone).
        seed.npi = None
        yield seed


def read_listing_records(landing_root: str) -> Iterator[dict[str, Any]]:
    """Every listing record in `<landing>/listings/**` (JSON Lines and Parquet), for website seeds."""
    fs, root = fsspec.core.url_to_fs(landing_root.rstrip("/") + "/listings")
    if not fs.exists(root):
        return
    for path in sorted(fs.find(root)):
        if path.endswith(".jsonl"):
            with fs.open(path, "r", encoding="utf-8") as fh:
                for line in fh:
                    try:
                        record = json.loads(line)
                    except ValueError:
                        continue
                    if isinstance(record, dict):
                        yield record
        elif path.endswith(".parquet"):
            import pyarrow.parquet as pq

            with fs.open(path, "rb") as fh:
                table = pq.read_table(fh, columns=None)
            wanted = [c for c in ("website", "practice_name", "phone", "address", "npi", "source_url") if c in table.column_names]
            if "website" in wanted:
                yield from table.select(wanted).to_pylist()


def dedupe_seeds(seeds: Iterable[Seed]) -> list[Seed]:
    """One seed per site key, first one wins; later seeds only add their NPIs and missing facts."""
    kept: dict[str, Seed] = {}
    for seed in seeds:
        first = kept.get(seed.site_key)
        if first is None:
            kept[seed.site_key] = seed
            continue
        for npi in seed.npis:
            if npi not in first.npis:
                first.npis.append(npi)
        first.practice_name = first.practice_name or seed.practice_name
        first.phone = first.phone or seed.phone
        first.address = first.address or seed.address
        first.npi = first.npi or seed.npi
    return list(kept.values())


def collect_seeds(
    files: list[str],
    landing_root: str | None = None,
    listings: Iterable[dict[str, Any]] | None = None,
) -> tuple[list[Seed], list[dict[str, Any]]]:
    """All seeds of a crawl (CSV files first, then directory websites), deduplicated, plus quarantine."""
    seeds: list[Seed] = []
    bad: list[dict[str, Any]] = []
    for path in files:
        try:
            found, rejected = read_sites_csv(path)
        except (OSError, UnicodeError) as exc:
            bad.append(_quarantine(path, None, f"cannot read sites file: {exc}", ""))
            continue
        seeds.extend(found)
        bad.extend(rejected)
    if listings is not None:
        seeds.extend(seeds_from_listings(listings))
    if landing_root:
        seeds.extend(seeds_from_listings(read_listing_records(landing_root)))
    return dedupe_seeds(seeds), bad
