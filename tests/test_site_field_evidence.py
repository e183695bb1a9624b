"""Website findings quote the statement of their own field, not the site's accepting-status banner.

A QHP directory and one practice website on 127.0.0.1, crawled, loaded and reconciled through the real CLI.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
from httpserver import serve

INSURER = "Lakeshore Mutual"
HOME = """<html><head><title>Maple Family Medicine</title></head><body>
<h1>Maple Family Medicine</h1><p>Now accepting new patients!</p>
<nav><a href="/team">Our team</a> <a href="/insurance">Insurance</a> <a href="/contact">Contact</a></nav></body></html>"""
TEAM = """<html><head><title>Our team | Maple Family Medicine</title></head><body><h1>Our providers</h1>
<h3>Dr. Susan Kim, MD</h3><h3>Dr. Alan Park, DO</h3><h3>Dr. Mary Lee, MD</h3>
<p>Dr. James Ortiz retired in March 2026 after thirty years with the practice.</p></body></html>"""
INSURANCE = """<html><head><title>Insurance | Maple Family Medicine</title></head><body><h1>Insurance</h1>
<p>We accept Aetna, Cigna and Blue Cross Blue Shield.</p>
<p>As of January 1, 2026 we no longer accept Lakeshore Mutual plans.</p></body></html>"""
CONTACT = """<html><head><title>Contact | Maple Family Medicine</title></head><body><h1>Contact us</h1>
<p>Phone: (217) 555-0140</p><p>Fax: (217) 555-0141</p>
<address>15 Walnut Street, Chatham, IL 62629</address></body></html>"""


def entry(npi: str, first: str, last: str, phone: str) -> dict:
    """One CMS QHP providers.json entry at the practice's address."""
    return {"npi": npi, "type": "INDIVIDUAL", "name": {"first": first, "last": last},
            "addresses": [{"address": "15 Walnut Street", "city": "Chatham", "state": "IL", "zip": "62629",
                           "phone": phone}],
            "specialty": ["Family Medicine"], "accepting": "accepting",
            "plans": [{"plan_id_type": "HIOS-PLAN-ID", "plan_id": "55555IL0010001", "network_tier": "PREFERRED"}],
            "last_updated_on": "2026-11-01"}


def cli(*args: str) -> None:
    """Run the real `ghostcheck` CLI; it must succeed without a traceback."""
    result = subprocess.run([sys.executable, "-m", "flows.cli", *args], capture_output=True, text=True,
                            env=dict(os.environ), timeout=300)
    assert result.returncode == 0 and "Traceback" not in result.stderr, (args, result.stdout[-2000:],
                                                                          result.stderr[-2000:])


def test_website_findings_quote_their_own_fields_statement(tmp_path: Path) -> None:
    providers = [entry("1003000126", "Susan", "Kim", "217-555-0199"),
                 entry("1003000134", "James", "Ortiz", "217-555-0140")]
    html = {"Content-Type": "text/html; charset=utf-8"}
    routes = {"/qhp/index.json": (200, {"Content-Type": "application/json"},
                                  json.dumps({"provider_urls": ["providers.json"]})),
              "/qhp/providers.json": (200, {"Content-Type": "application/json"}, json.dumps(providers)),
              "/": (200, html, HOME), "/team": (200, html, TEAM), "/insurance": (200, html, INSURANCE),
              "/contact": (200, html, CONTACT), "/robots.txt": (200, {"Content-Type": "text/plain"}, "")}
    with serve(routes) as server:
        (tmp_path / "sites.csv").write_text(
            "url,practice_name,phone,address\n"
            f'{server.url("/")},Maple Family Medicine,,"15 Walnut Street, Chatham, IL 62629"\n')
        config = tmp_path / "ghostcheck.toml"
        config.write_text(
            '[warehouse]\npath = "gc.duckdb"\nlanding = "landing"\n\n'
            "[crawl]\nallow_private_networks = true\nautothrottle = false\n\n"
            f'[[directory]]\ninsurer = "{INSURER}"\nkind = "qhp"\nurl = "{server.url("/qhp/index.json")}"\n\n'
            '[sites]\nfiles = ["sites.csv"]\nfrom_directory = false\n\n[reports]\nfiles = []\n')
        cli("audit", "-c", str(config), "--as-of", "2026-11-25")

    with duckdb.connect(str(tmp_path / "gc.duckdb"), read_only=True) as con:
        rows = con.execute("SELECT provider_name, finding_type, evidence_url, evidence_text FROM findings "
                           "WHERE evidence_source = 'website' ORDER BY ALL").fetchall()
    found = {(name.split()[-1], kind): (url, text) for name, kind, url, text in rows}
    phone_url, phone_text = found[("Kim", "phone")]
    assert phone_url.endswith("/contact") and "555-0140" in phone_text
    left_url, left_text = found[("Ortiz", "provider_not_at_location")]
    assert left_url.endswith("/team") and "retired" in left_text
    for name in ("Kim", "Ortiz"):
        insurer_url, insurer_text = found[(name, "insurer_not_accepted")]
        assert insurer_url.endswith("/insurance") and "no longer accept" in insurer_text
