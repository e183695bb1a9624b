"""Bugs found by a fresh-eyes end-to-end run on a hand-built world (a CMS QHP directory on 127.0.0.1 + a phone survey),
driven through the real `ghostcheck` CLI and checked on the real DuckDB warehouse and report exports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
from httpserver import serve

from flows.report import data

INSURER = "Lakeshore Mutual"


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the real `ghostcheck` CLI in a subprocess."""
    result = subprocess.run([sys.executable, "-m", "flows.cli", *args], capture_output=True, text=True,
                            env=dict(os.environ), timeout=300)
    assert result.returncode == 0, (args, result.stdout[-2000:], result.stderr[-2000:])
    assert "Traceback" not in result.stderr
    return result


def provider(npi: str, first: str, last: str, phone: str, updated: str) -> dict:
    """One CMS QHP providers.json entry."""
    return {"npi": npi, "type": "INDIVIDUAL", "name": {"first": first, "middle": "", "last": last},
            "addresses": [{"address": "15 Walnut Street", "city": "Chatham", "state": "IL", "zip": "62629",
                           "phone": phone}],
            "specialty": ["Family Medicine"], "accepting": "accepting",
            "plans": [{"plan_id_type": "HIOS-PLAN-ID", "plan_id": "55555IL0010001", "network_tier": "PREFERRED",
                       "years": [2026]}],
            "languages": ["English"], "gender": "Male", "last_updated_on": updated}


def test_report_run_series_and_as_of_status_follow_the_finding_lifecycle(tmp_path: Path) -> None:
    """The store writes finding_history rows only on changes (new, 'changed' values, reopened, resolved).

    A stale listing's observed value ("N days old on DATE") changes with every as-of date, so its history says
    'changed'; an unreachable listing seen again unchanged gets no history row at all. Three reconciles on the
    same inputs must show both findings open after every run in the report's "open after run" line, and
    `report --as-of` must give them status 'open' (before: the line dropped to 0/1 and the status read 'changed').
    """
    providers = [provider("1003000241", "Paul", "Novak", "217-555-0177", "2026-11-01"),
                 provider("1003000217", "Thomas", "Reed", "217-555-0150", "2026-03-01")]
    routes = {"/qhp/index.json": (200, {"Content-Type": "application/json"},
                                  json.dumps({"provider_urls": ["providers.json"], "plan_urls": [],
                                              "formulary_urls": []})),
              "/qhp/providers.json": (200, {"Content-Type": "application/json"}, json.dumps(providers))}
    (tmp_path / "calls").mkdir()
    (tmp_path / "calls" / "survey.csv").write_text(
        "npi,provider_name,practice_name,address,phone,accepting_new_patients,insurers_accepted,"
        "insurers_not_accepted,reachable,reported_at,source\n"
        '1003000241,Paul Novak DO,Sangamon Family Practice,"15 Walnut St, Chatham, IL 62629",(217) 555-0177,,,,'
        "false,2026-11-19,phone_survey\n")
    with serve(routes) as server:
        config = tmp_path / "ghostcheck.toml"
        config.write_text(
            '[warehouse]\npath = "gc.duckdb"\nlanding = "landing"\n\n'
            "[crawl]\nallow_private_networks = true\n\n"
            f'[[directory]]\ninsurer = "{INSURER}"\nkind = "qhp"\nurl = "{server.url("/qhp/index.json")}"\n\n'
            '[sites]\nfiles = []\nfrom_directory = false\n\n[reports]\nfiles = ["calls/*.csv"]\n')
        cfg = str(config)
        cli("crawl", "directories", "-c", cfg)
        cli("ingest", "reports", "-c", cfg)
        for day in ("2026-11-20", "2026-11-25", "2026-11-26"):
            cli("reconcile", "-c", cfg, "--as-of", day)
        cli("report", "-c", cfg, "--out", str(tmp_path / "report"), "--as-of", "2026-11-25")

    with duckdb.connect(str(tmp_path / "gc.duckdb"), read_only=True) as con:
        open_now = {t: n for t, n in con.execute(
            "SELECT finding_type, count(*) FROM findings WHERE status = 'open' GROUP BY ALL").fetchall()}
        assert open_now == {"stale_listing": 1, "unreachable": 1}
        history = con.execute("SELECT DISTINCT status FROM finding_history").fetchall()
        assert ("changed",) in history  # the lifecycle this test is about really happened
        rels = data.relations(con)
        series = data.run_series(con, rels, data.select_scope(con, rels, None))
        assert [(s["opened"], s["resolved"], s["open"]) for s in series] == [(2, 0, 2), (0, 0, 2), (0, 0, 2)]

    exported = json.loads((tmp_path / "report" / "findings.json").read_text())
    assert sorted((f["finding_type"], f["status"]) for f in exported) == [("stale_listing", "open"),
                                                                         ("unreachable", "open")]
