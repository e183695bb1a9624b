"""Write the demo's ghostcheck.toml, sites CSV and practice-reports CSV for a running world."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

from flows.demo import names
from flows.demo.model import format_phone
from flows.demo.servers import RunningWorld
from flows.demo.world import World

TOKEN_ENV = "GHOSTCHECK_DEMO_ACME_TOKEN"
DEMO_MARKER = "# Written by `ghostcheck demo`"
REPORT_COLUMNS = ("npi", "provider_name", "practice_name", "address", "phone", "accepting_new_patients",
                  "insurers_accepted", "insurers_not_accepted", "reachable", "reported_at", "source",
                  "call_outcome", "provider_at_location", "accepts_plan")
COBALT_SELECTORS = {
    "item": "div.provider-card", "next_page": "a.next::attr(href)", "name": ".name::text", "npi": ".npi::text",
    "specialty": ".specialty::text", "practice_name": ".practice::text", "address": ".address::text",
    "phone": ".phone::text", "accepting": ".accepting::text", "plans": ".plans li::text",
    "website": "a.website::attr(href)", "last_updated": ".updated::text", "wait_for": "div.provider-card",
}


def write_sites_csv(world: World, running: RunningWorld, path: Path) -> Path:
    """The practice websites to crawl (url, practice_name, phone, address, npi), one row per practice."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["url", "practice_name", "phone", "address", "npi"])
        for practice in world.practices:
            main = practice.locations[0]
            writer.writerow([running.site_url(practice.slug), practice.name, format_phone(main.phone),
                             main.address.one_line(), ""])
    return path


def write_reports_csv(world: World, path: Path) -> Path:
    """The practice reports (attestations, surveys, secret-shopper calls) as a CSV."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(REPORT_COLUMNS))
        writer.writeheader()
        for row in world.reports:
            writer.writerow({k: row.get(k, "") for k in REPORT_COLUMNS})
    return path


def _toml(value: object) -> str:
    """A TOML value (strings, numbers, booleans, lists of strings) via JSON-compatible literals."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value)


def config_text(running: RunningWorld, browser: str = "") -> str:
    """The demo's ghostcheck.toml (loopback targets allowed: the demo world lives on 127.0.0.1)."""
    lines = [
        DEMO_MARKER + ": every source below is served on 127.0.0.1 by the demo world.",
        "[warehouse]", 'path = "ghostcheck.duckdb"', 'landing = "landing"', "",
        "[crawl]", 'user_agent = "ghostcheck-demo/0.1 (+https://example.org/contact)"', "obey_robots = true",
        "allow_private_networks = true", "max_pages_per_site = 6", 'render_js = "auto"',
        f"browser_executable = {_toml(browser)}", "timeout_seconds = 10", "concurrency = 32",
        "concurrency_per_domain = 8", "autothrottle = false", "",
        "[[directory]]", f"insurer = {_toml(names.ACME)}", 'kind = "fhir"', f"url = {_toml(running.fhir_url)}",
        f"token_env = {_toml(TOKEN_ENV)}", "page_size = 25", "",
        "[[directory]]", f"insurer = {_toml(names.HARBOR)}", 'kind = "qhp"', f"url = {_toml(running.qhp_url)}", "",
        "[[directory]]", f"insurer = {_toml(names.COBALT)}", 'kind = "html"', f"url = {_toml(running.html_url)}",
        'render_js = "always"', "[directory.selectors]",
        *(f"{key} = {_toml(value)}" for key, value in COBALT_SELECTORS.items()), "",
        "[sites]", 'files = ["sites.csv"]', "from_directory = true", "",
        "[reports]", 'files = ["reports/*.csv"]', "",
        "[report]", 'out = "report"', "",
    ]
    return "\n".join(lines)


def write_demo_files(world: World, running: RunningWorld, out_dir: Path, browser: str | None = None) -> Path:
    """Write ghostcheck.toml, sites.csv and reports/practice_reports.csv into out_dir; return the config path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    write_sites_csv(world, running, out_dir / "sites.csv")
    write_reports_csv(world, out_dir / "reports" / "practice_reports.csv")
    if browser is None:
        browser = shutil.which("chromium") or shutil.which("chromium-browser") or ""
    config = out_dir / "ghostcheck.toml"
    config.write_text(config_text(running, browser), encoding="utf-8")
    return config
