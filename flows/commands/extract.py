"""`ghostcheck extract PATH|URL ...`: print the claims found in practice pages as JSON Lines."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Optional

import typer
from rich.markup import escape

from crawlers.config import Config, CrawlConfig
from crawlers.extract.page import PageClaims, extract_page
from flows.commands.common import ConfigOption, UserError, console, friendly, read_config

PAGE_SUFFIXES = (".html", ".htm", ".txt")


def _is_url(value: str) -> bool:
    """True for http(s) URLs (everything else is a local path)."""
    return value.lower().startswith(("http://", "https://"))


def _expand_inputs(inputs: list[str]) -> list[str]:
    """Files, directories (their .html/.htm/.txt files, sorted) and URLs; a missing path is a UserError."""
    expanded: list[str] = []
    for item in inputs:
        if _is_url(item):
            expanded.append(item)
            continue
        path = Path(item)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in PAGE_SUFFIXES)
            if not files:
                raise UserError(f"{item}: directory has no .html, .htm or .txt files")
            expanded.extend(str(p) for p in files)
        elif path.is_file():
            expanded.append(item)
        else:
            raise UserError(f"{item}: file not found")
    return expanded


def _load_settings(config: Path, insurers: list[str]) -> tuple[CrawlConfig, list[str]]:
    """Crawl settings and known insurer names: from -c when that file exists, plus every --insurer."""
    known = list(insurers)
    crawl = CrawlConfig()
    if config.exists():
        cfg: Config = read_config(config)
        crawl = cfg.crawl
        known += [d.insurer for d in cfg.directory]
        known += list(cfg.reconcile.insurer_aliases)
        known += [alias for aliases in cfg.reconcile.insurer_aliases.values() for alias in aliases]
    return crawl, list(dict.fromkeys(k for k in known if k.strip()))


def _record(item: str, page: PageClaims) -> dict[str, Any]:
    """The JSON object printed for one input."""
    data = page.to_dict()
    return {
        "input": item,
        "status": page.status,
        "status_snippet": page.status_snippet,
        "insurers_accepted": page.insurers_accepted,
        "insurers_not_accepted": page.insurers_not_accepted,
        "providers": page.providers,
        "departed_providers": page.departed_providers,
        "phones": page.phones,
        "addresses": page.addresses,
        "page_kind": page.page_kind,
        "is_roster": page.is_roster,
        "claims": data["claims"],
    }


def _extract_file(item: str, known: list[str]) -> dict[str, Any]:
    """Extract one local file (its file:// URL, mtime and sha256 stand in for fetch provenance)."""
    path = Path(item)
    body = path.read_bytes()
    fetched_at = datetime.fromtimestamp(path.stat().st_mtime, tz=timezone.utc).isoformat(timespec="seconds")
    page = extract_page(body, path.resolve().as_uri(), fetched_at, hashlib.sha256(body).hexdigest(), known)
    return _record(item, page)


def _extract_url(item: str, crawl: CrawlConfig, known: list[str]) -> dict[str, Any]:
    """Fetch one URL through the safe fetcher (SSRF guard, robots, size cap) and extract it."""
    from crawlers.fetch import fetch_page  # lazy: only URL inputs need the HTTP stack

    fetched = fetch_page(item, crawl)
    if fetched.error:
        return {"input": item, "error": fetched.error}
    if fetched.status is not None and fetched.status >= 400:
        return {"input": item, "error": f"{item}: HTTP {fetched.status}"}
    page = extract_page(fetched.body, fetched.url or item, fetched.fetched_at, fetched.sha256, known, fetched.encoding)
    return _record(item, page)


def register(app: typer.Typer, groups: dict[str, typer.Typer]) -> None:
    """Add `extract` to the CLI."""

    @app.command("extract")
    @friendly
    def extract(
        inputs: list[str] = typer.Argument(..., help="HTML/text files, directories of them, or http(s) URLs."),
        config: Path = ConfigOption,
        insurer: Optional[list[str]] = typer.Option(None, "--insurer", "-i", help="An insurer name to look for (repeatable)."),
    ) -> None:
        """Print accepting status, insurers, providers, phones and addresses found in each page (JSON Lines)."""
        items = _expand_inputs(inputs)
        crawl, known = _load_settings(config, insurer or [])
        failed = 0
        for item in items:
            record = _extract_url(item, crawl, known) if _is_url(item) else _extract_file(item, known)
            if "error" in record:
                failed += 1
                console.print(f"[bold red]error:[/] {escape(record['error'])}", markup=True, highlight=False)
            typer.echo(json.dumps(record, ensure_ascii=False))
        if failed:
            raise typer.Exit(code=2)
