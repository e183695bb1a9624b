"""The Prefect audit flow against a real temporary Prefect server, on a small demo world.

Covers: the flow end to end (runs table with the flow-run id, artifacts), a
source that fails while the others succeed, a rerun that adds no findings,
deployments registered with the configured crons, the Dask task runner giving
the same findings, and landing through a `file://` fsspec URL.
"""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path

import pytest
from prefect.testing.utilities import prefect_test_harness

from crawlers.config import load_config
from flows.audit import register_deployments
from flows.demo.session import demo_session
from warehouse.db import connect

PRACTICES = 12


@pytest.fixture(scope="module")
def prefect_server():  # type: ignore[no-untyped-def]
    """A real temporary Prefect server (its own database) for this module."""
    with prefect_test_harness(server_startup_timeout=120):
        yield


def edit_config(path: Path, target: Path, replacements: list[tuple[str, str]], append: str = "") -> Path:
    """Write a variant of a config file with regex replacements and extra TOML appended."""
    text = path.read_text(encoding="utf-8")
    for pattern, repl in replacements:
        text, n = re.subn(pattern, repl, text, flags=re.M)
        assert n, f"pattern not found in config: {pattern}"
    target.write_text(text + append, encoding="utf-8")
    return target


def open_findings(db: str) -> set[tuple[str, str, str]]:
    """(finding_type, insurer, listing_id) of every open finding."""
    con = connect(db)
    try:
        return set(con.execute("SELECT finding_type, insurer, listing_id FROM findings WHERE status = 'open'").fetchall())
    finally:
        con.close()


def view_counts(db: str) -> dict[str, int]:
    """Row counts of the public views and of the findings table."""
    con = connect(db)
    try:
        return {v: con.execute(f"SELECT count(*) FROM {v}").fetchone()[0] for v in ("listings", "observations", "findings")}
    finally:
        con.close()


async def _artifact_keys(flow_run_id: str) -> set[str]:
    """Keys of the artifacts a flow run published, read back through the Prefect client."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    async with get_client() as client:
        artifacts = await client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]))
        )
    return {a.key for a in artifacts if a.key}


def test_audit_flow_end_to_end_then_failing_source_then_rerun(prefect_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with demo_session(tmp_path / "world", n_practices=PRACTICES) as session:
        result = session.audit(prefect=True)
        db = load_config(session.config_path).warehouse.path
        assert result.flow_run_id and not result.failed_sources
        assert result.listings_checked > 0 and sum(result.findings_by_type.values()) > 0
        assert Path(result.report_index).exists()
        con = connect(db)
        run = con.execute("SELECT flow_run_id, status FROM runs WHERE run_id = ?", [result.run_id]).fetchone()
        con.close()
        assert run == (result.flow_run_id, "ok")
        keys = asyncio.run(_artifact_keys(result.flow_run_id))
        assert {"ghostcheck-summary", "ghostcheck-top-findings", "ghostcheck-report"} <= keys
        first = open_findings(db)
        counts = view_counts(db)

        # A rerun on the same inputs adds no finding and no row to the views.
        again = session.audit(prefect=True)
        assert open_findings(db) == first and again.new_findings == 0
        assert view_counts(db) == counts

        # A directory that cannot be reached fails its task; the others still deliver.
        broken = edit_config(session.config_path, session.config_path.with_name("broken.toml"), [],
                             append='\n[[directory]]\ninsurer = "Dead Plan"\nkind = "fhir"\n'
                                    'url = "http://127.0.0.1:9/fhir"\n')
        from flows.audit import run_audit

        os.environ["GHOSTCHECK_DEMO_ACME_TOKEN"] = session.world.token
        try:
            partial = run_audit(str(broken), as_of=session.world.as_of, prefect=True)
        finally:
            os.environ.pop("GHOSTCHECK_DEMO_ACME_TOKEN", None)
        failed = {s.source: s.reason for s in partial.failed_sources}
        assert list(failed) == ["Dead Plan"] and failed["Dead Plan"]
        assert {s.source for s in partial.sources if s.ok} >= {"Acme Health", "Harbor Mutual", "Cobalt Care"}
        con = connect(db)
        status = con.execute("SELECT status FROM runs WHERE run_id = ?", [partial.run_id]).fetchone()[0]
        missing = con.execute("SELECT source, status FROM source_runs WHERE run_id = ? AND status = 'failed'",
                              [partial.run_id]).fetchall()
        con.close()
        assert status == "partial" and missing == [("Dead Plan", "failed")]
        assert "Dead Plan" in Path(partial.report_index).read_text(encoding="utf-8")
        assert open_findings(db) >= first  # nothing resolved because of another source's failure


def test_dask_runner_and_file_url_landing_give_the_same_findings(prefect_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from flows.audit import run_audit

    with demo_session(tmp_path / "world", n_practices=PRACTICES) as session:
        default = session.audit(prefect=True)
        db_default = load_config(session.config_path).warehouse.path
        expected = {(t, i) for t, i, _ in open_findings(db_default)}
        landing = (tmp_path / "dask-landing").as_uri()  # file:// fsspec URL
        dask_cfg = edit_config(
            session.config_path, session.config_path.with_name("dask.toml"),
            [(r'^path = "ghostcheck.duckdb"', 'path = "dask.duckdb"'), (r'^landing = "landing"', f'landing = "{landing}"'),
             (r"^\[crawl\]", '[crawl]\ntask_runner = "dask"')],
        )
        os.environ["GHOSTCHECK_DEMO_ACME_TOKEN"] = session.world.token
        try:
            dask_result = run_audit(str(dask_cfg), as_of=session.world.as_of, prefect=True)
        finally:
            os.environ.pop("GHOSTCHECK_DEMO_ACME_TOKEN", None)
        assert not dask_result.failed_sources
        got = {(t, i) for t, i, _ in open_findings(load_config(dask_cfg).warehouse.path)}
        assert got == expected and got
        assert any((tmp_path / "dask-landing" / "listings").rglob("*.jsonl"))
        assert dask_result.findings_by_type == default.findings_by_type


def test_deployments_registered_with_configured_crons(prefect_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    config = tmp_path / "ghostcheck.toml"
    config.write_text('[schedule]\naudit = "0 3 * * 1"\ncrawl_sites = "30 2 * * *"\n', encoding="utf-8")
    ids = register_deployments(load_config(config))
    assert len(ids) == 2

    async def read() -> dict[str, list[str]]:
        from prefect.client.orchestration import get_client

        async with get_client() as client:
            found = {}
            for name in ("ghostcheck-audit/audit", "ghostcheck-crawl-sites/crawl-sites"):
                deployment = await client.read_deployment_by_name(name)
                found[name] = [s.schedule.cron for s in deployment.schedules]
                assert deployment.parameters["config_path"] == str(config.resolve())
            return found

    assert asyncio.run(read()) == {
        "ghostcheck-audit/audit": ["0 3 * * 1"],
        "ghostcheck-crawl-sites/crawl-sites": ["30 2 * * *"],
    }
