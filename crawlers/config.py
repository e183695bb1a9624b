"""`ghostcheck.toml`: pydantic models, loading, and one-line error messages.

The config lives in `crawlers` because the spiders (`scrapy crawl NAME -a
config=...`) and `flows` both read it and `crawlers` may not import `flows`.
"""

from __future__ import annotations

import glob
import re
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

CONFIG_FILENAME = "ghostcheck.toml"
RenderJs = Literal["auto", "always", "never"]
DirectoryKind = Literal["fhir", "qhp", "html", "fhir_bulk", "nppes"]
Severity = Literal["low", "medium", "high", "critical"]


class ConfigError(Exception):
    """A config problem, already phrased as one line naming the file and key."""


class _Strict(BaseModel):
    """Base model: unknown keys are errors, values are validated on assignment."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class WarehouseConfig(_Strict):
    """Where the DuckDB file and the landing files live."""

    path: str = "ghostcheck.duckdb"
    landing: str = "landing"


class CrawlConfig(_Strict):
    """Politeness, safety and rendering settings shared by every crawl."""

    user_agent: str = "ghostcheck/0.1 (+https://example.org/contact)"
    obey_robots: bool = True
    allow_private_networks: bool = False
    max_pages_per_site: int = Field(default=8, ge=1, le=200)
    render_js: RenderJs = "auto"
    browser_executable: str = ""
    timeout_seconds: float = Field(default=20.0, gt=0)
    max_page_bytes: int = Field(default=2_000_000, ge=10_000)
    max_redirects: int = Field(default=5, ge=0, le=50)
    concurrency_per_domain: int = Field(default=2, ge=1, le=8)
    concurrency: int = Field(default=16, ge=1, le=512)
    download_delay: float = Field(default=0.0, ge=0)
    autothrottle: bool = True
    task_runner: Literal["default", "dask"] = "default"
    dask_address: str = ""
    shards: int = Field(default=1, ge=1, le=1024)


_ATTR = re.compile(r"::attr\(([^)]+)\)\s*$")


def split_selector(selector: str) -> tuple[str, str | None]:
    """A selector spec's CSS part and its attribute (`a.x::attr(href)` -> ("a.x", "href"); `.n::text` -> (".n", None))."""
    selector = selector.strip()
    attr = _ATTR.search(selector)
    if attr:
        return selector[: attr.start()].strip(), attr.group(1).strip()
    return (selector[: -len("::text")] if selector.endswith("::text") else selector).strip(), None


def selector_groups(selector: str) -> list[str]:
    """The comma-separated groups of a selector spec (`a.web::attr(href), a.site::attr(href)`), split at commas
    outside brackets, parentheses and quotes, each read on its own."""
    groups, depth, quote, start = [], 0, "", 0
    for i, ch in enumerate(selector):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif ch == "," and depth == 0:
            groups.append(selector[start:i])
            start = i + 1
    groups.append(selector[start:])
    return [g.strip() for g in groups if g.strip()]


class FieldSelectors(_Strict):
    """CSS selectors (with `::text` / `::attr()`) for a provider's fields on a directory page.

    `location` (optional) is the element holding one office: the scope then gives one listing per such element,
    with the address, phone and accepting fields read inside it.
    """

    location: str | None = None
    name: str | None = None
    npi: str | None = None
    specialty: str | None = None
    practice_name: str | None = None
    address: str | None = None
    city: str | None = None
    state: str | None = None
    zip: str | None = None
    phone: str | None = None
    accepting: str | None = None
    plans: str | None = None
    networks: str | None = None
    website: str | None = None
    last_updated: str | None = None
    wait_for: str | None = None

    @field_validator("*")
    @classmethod
    def _valid_css(cls, value: str | None, info: ValidationInfo) -> str | None:
        """Reject a selector CSS cannot parse now, rather than fail every page of the crawl later (`wait_for` is
        Playwright's, which takes more than CSS: `text=Results`)."""
        if value is None or info.field_name == "wait_for":
            return value
        from cssselect import SelectorError
        from parsel.csstranslator import HTMLTranslator

        try:
            for group in selector_groups(value):
                css, _attr = split_selector(group)
                if css:
                    HTMLTranslator().css_to_xpath(css)
        except SelectorError as exc:
            raise ValueError(f"invalid CSS selector {value!r}: {exc}") from None
        return value


class Selectors(FieldSelectors):
    """A result page's selectors: each `item` is one provider; `next_page` links the next result page; `detail`
    (optional) links the provider's own page, whose fields (read with `[directory.detail_selectors]`, else these
    selectors) complete and override the item's."""

    item: str
    next_page: str | None = None
    detail: str | None = None


class DirectoryConfig(_Strict):
    """One insurer directory (or a reference directory) to crawl."""

    insurer: str
    kind: DirectoryKind
    url: str
    token_env: str | None = None
    render_js: RenderJs | None = None
    selectors: Selectors | None = None
    detail_selectors: FieldSelectors | None = None  # html: fields on the provider pages `selectors.detail` links
    role: Literal["audited", "reference"] = "audited"
    page_size: int = Field(default=100, ge=1, le=10_000)
    max_pages: int | None = Field(default=None, ge=1)
    page_param: str | None = None  # html: query parameter counting pages, for directories without a next link
    page_step: int = Field(default=1, ge=1)  # html: what page_param grows by per page (the page size for offsets)
    enabled: bool = True
    trust_last_updated: bool | None = None  # fhir_bulk: meta.lastUpdated is an export stamp unless true

    @field_validator("insurer", "url")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        """Reject empty names and URLs: every listing needs both."""
        if not value.strip():
            raise ValueError("must not be empty")
        return value.strip()


class SitesConfig(_Strict):
    """Practice websites to crawl."""

    files: list[str] = Field(default_factory=list)
    from_directory: bool = True


class ReportsConfig(_Strict):
    """Practice report files (attestations, surveys, secret-shopper calls)."""

    files: list[str] = Field(default_factory=list)


class ReconcileConfig(_Strict):
    """Thresholds of the reconciliation."""

    stale_days: int = Field(default=90, ge=1)
    link_threshold: float = Field(default=0.82, ge=0, le=1)
    min_confidence: float = Field(default=0.5, ge=0, le=1)
    insurer_aliases: dict[str, list[str]] = Field(default_factory=dict)


class ScheduleConfig(_Strict):
    """Cron schedules used by `ghostcheck serve`."""

    audit: str = "0 3 * * 1"
    crawl_directories: str | None = None
    crawl_sites: str | None = None
    timezone: str = "UTC"


class AlertsConfig(_Strict):
    """Where new serious findings are announced after scheduled audits."""

    webhook_url: str | None = None
    webhook_format: Literal["json", "slack", "teams"] = "json"
    email_to: list[str] = Field(default_factory=list)
    min_severity: Severity = "high"
    report_url: str | None = None
    timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    max_listed: int = Field(default=20, ge=1, le=500)
    smtp_env_prefix: str = Field(default="GHOSTCHECK_SMTP", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")


class ReportConfig(_Strict):
    """Where `ghostcheck report` and `audit` write the HTML report."""

    out: str = "report"


class Config(_Strict):
    """The whole `ghostcheck.toml`; paths are resolved against `base_dir`."""

    warehouse: WarehouseConfig = Field(default_factory=WarehouseConfig)
    crawl: CrawlConfig = Field(default_factory=CrawlConfig)
    directory: list[DirectoryConfig] = Field(default_factory=list)
    sites: SitesConfig = Field(default_factory=SitesConfig)
    reports: ReportsConfig = Field(default_factory=ReportsConfig)
    reconcile: ReconcileConfig = Field(default_factory=ReconcileConfig)
    schedule: ScheduleConfig = Field(default_factory=ScheduleConfig)
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
    report: ReportConfig = Field(default_factory=ReportConfig)
    source_path: str = ""

    def directory_named(self, insurer: str) -> DirectoryConfig:
        """Return the directory of `insurer` (case-insensitive) or raise ConfigError."""
        for entry in self.directory:
            if entry.insurer.casefold() == insurer.casefold():
                return entry
        names = ", ".join(d.insurer for d in self.directory) or "none configured"
        raise ConfigError(f"{self.source_path}: no [[directory]] with insurer {insurer!r} ({names})")

    def report_files(self) -> list[str]:
        """Expand `[reports] files` globs to existing files, in a stable order."""
        return _expand(self.reports.files)

    def site_files(self) -> list[str]:
        """Expand `[sites] files` globs to existing files, in a stable order."""
        return _expand(self.sites.files)


def _expand(patterns: list[str]) -> list[str]:
    """Expand glob patterns (already absolute) into a sorted, de-duplicated file list."""
    found: list[str] = []
    for pattern in patterns:
        matches = sorted(glob.glob(pattern)) if glob.has_magic(pattern) else [pattern]
        found.extend(m for m in matches if m not in found)
    return found


def is_url(value: str) -> bool:
    """True for fsspec/HTTP URLs such as s3://bucket/x or memory://x."""
    return "://" in value


def _resolve(base: Path, value: str) -> str:
    """Resolve a config path against the config file's folder (URLs untouched)."""
    if not value or is_url(value):
        return value
    path = Path(value).expanduser()
    return str(path if path.is_absolute() else (base / path).resolve())


def _where(loc: tuple[Any, ...], data: dict[str, Any]) -> str:
    """Phrase a pydantic error location as `[section] key` / `[[directory]] #2 key`."""
    parts = list(loc)
    if not parts:
        return "(top level)"
    head = parts.pop(0)
    if head == "directory" and parts and isinstance(parts[0], int):
        index = parts.pop(0)
        entries = data.get("directory") or []
        name = ""
        if index < len(entries) and isinstance(entries[index], dict) and entries[index].get("insurer"):
            name = f" ({entries[index]['insurer']})"
        prefix = f"[[directory]] #{index + 1}{name}"
    elif parts:
        prefix = f"[{head}]"
    else:
        return f"key '{head}'"
    rest = ".".join(str(p) for p in parts)
    return f"{prefix} {rest}".strip() if rest else prefix


def _message(err: dict[str, Any]) -> str:
    """Turn one pydantic error into a short human phrase."""
    kind = err.get("type", "")
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return "required key is missing"
    given = err.get("input")
    shown = repr(given) if not isinstance(given, (dict, list)) else type(given).__name__
    return f"{err.get('msg', 'invalid value').rstrip('.')} (got {shown})"


def parse_config(data: dict[str, Any], path: Path) -> Config:
    """Validate a parsed TOML document and resolve its paths; raise ConfigError."""
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ConfigError(f"{path}: {_where(tuple(first['loc']), data)}: {_message(first)}") from None
    base = path.parent.resolve()
    config.source_path = str(path)
    config.warehouse.path = _resolve(base, config.warehouse.path)
    config.warehouse.landing = _resolve(base, config.warehouse.landing)
    config.report.out = _resolve(base, config.report.out)
    config.sites.files = [_resolve(base, f) for f in config.sites.files]
    config.reports.files = [_resolve(base, f) for f in config.reports.files]
    if config.crawl.browser_executable:
        config.crawl.browser_executable = _resolve(base, config.crawl.browser_executable)
    return config


def load_config(path: str | Path | None = None) -> Config:
    """Read and validate `ghostcheck.toml` (default: ./ghostcheck.toml)."""
    file = Path(path) if path else Path(CONFIG_FILENAME)
    if not file.exists():
        raise ConfigError(f"{file}: config file not found (run `ghostcheck init` to write one)")
    if file.is_dir():
        raise ConfigError(f"{file}: is a directory, expected a ghostcheck.toml file")
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file}: invalid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{file}: cannot read: {exc}") from None
    return parse_config(data, file)
