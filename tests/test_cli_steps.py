"""The README's step-by-step commands, as a user runs them, against a small demo world on 127.0.0.1."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from flows.demo.config import TOKEN_ENV
from flows.demo.session import demo_session


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run the real `ghostcheck` CLI in a subprocess."""
    return subprocess.run([sys.executable, "-m", "flows.cli", *args], capture_output=True, text=True, env=env,
                          timeout=600)


def test_crawl_ingest_reconcile_findings_report_step_by_step(tmp_path: Path) -> None:
    with demo_session(tmp_path / "world", n_practices=10) as session:
        env = {**os.environ, TOKEN_ENV: session.world.token}
        config = str(session.config_path)
        steps = [
            ("crawl", "directories", "-c", config),
            ("crawl", "sites", "-c", config),
            ("ingest", "reports", "-c", config),
            ("reconcile", "-c", config, "--as-of", session.world.as_of.isoformat()),
        ]
        for step in steps:
            result = cli(*step, env=env)
            assert result.returncode == 0, (step, result.stdout[-2000:], result.stderr[-2000:])
            assert "Traceback" not in result.stderr
        listed = cli("findings", "-c", config, "--format", "json", env=env)
        assert listed.returncode == 0, listed.stderr
        findings = json.loads(listed.stdout)
        planted = {(t.finding_type, t.insurer, t.npi) for t in session.world.truth}
        found = {(f["finding_type"], f["insurer"], f["npi"]) for f in findings}
        hits = found & planted
        assert found and len(hits) >= 0.9 * len(planted) and len(hits) >= 0.9 * len(found)
        report = cli("report", "-c", config, "--out", str(tmp_path / "report"), env=env)
        assert report.returncode == 0, report.stderr
        assert (tmp_path / "report" / "index.html").exists() and (tmp_path / "report" / "findings.csv").exists()
        # A second reconcile on the same inputs changes nothing.
        again = cli("reconcile", "-c", config, "--as-of", session.world.as_of.isoformat(), env=env)
        assert again.returncode == 0, again.stderr
        relisted = json.loads(cli("findings", "-c", config, "--format", "json", env=env).stdout)
        assert {f["finding_id"] for f in relisted} == {f["finding_id"] for f in findings}
