"""The demo world through the whole chain (crawl, ingest, load, reconcile, report) against the world's own truth."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest

from crawlers.config import load_config
from flows.demo.score import FINDING_TYPES, found_findings, near_miss_hits, score
from flows.demo.session import DemoSession, demo_session

pytest.importorskip("flows.audit", reason="flows/audit.py (run_audit) is not in the tree yet")

FLOOR = 0.9


def _findings(session: DemoSession) -> tuple[list[dict[str, Any]], set[str]]:
    """Open findings (with listing NPI and address) and the ids of all findings in the warehouse."""
    db_path = load_config(session.config_path).warehouse.path
    with duckdb.connect(db_path, read_only=True) as con:
        found = found_findings(con)
        ids = {row[0] for row in con.execute("SELECT finding_id FROM findings").fetchall()}
    return found, ids


@pytest.fixture(scope="module")
def audited(tmp_path_factory: pytest.TempPathFactory):
    """Audit the default demo world twice in one served session; keep what each run left in the warehouse."""
    out: Path = tmp_path_factory.mktemp("demo")
    with demo_session(out, seed=7, as_of=date.today()) as session:
        first_result = session.audit(prefect=False)
        first, first_ids = _findings(session)
        second_result = session.audit(prefect=False)
        second, second_ids = _findings(session)
        yield {"session": session, "world": session.world, "first": first, "first_ids": first_ids,
               "second": second, "second_ids": second_ids, "result": first_result, "rerun": second_result}


@pytest.mark.parametrize("finding_type", FINDING_TYPES)
def test_precision_and_recall_per_finding_type(audited: dict[str, Any], finding_type: str) -> None:
    """Every finding type is found with precision and recall of at least 0.9 against the world's truth."""
    result = score(audited["world"], audited["first"])[finding_type]
    assert result.tp + len(result.fn) >= 5, f"the world plants too few {finding_type} errors"
    detail = f"{finding_type}: P={result.precision:.2f} R={result.recall:.2f} extra={result.fp[:6]} missed={result.fn[:6]}"
    assert result.precision >= FLOOR, detail
    assert result.recall >= FLOOR, detail


def test_formatting_only_near_misses_yield_no_finding(audited: dict[str, Any]) -> None:
    """Listings that differ from the evidence only in punctuation, case, abbreviations, ZIP+4 or name form: none flagged."""
    world = audited["world"]
    assert len(world.near_misses) >= 20
    hits = near_miss_hits(world, audited["first"])
    assert hits == [], f"{len(hits)} findings on formatting-only near misses, e.g. {hits[:6]}"


def test_rerun_adds_no_findings(audited: dict[str, Any]) -> None:
    """Auditing the same world again creates no new finding and resolves none of the open ones."""
    assert audited["first_ids"], "the first audit found nothing"
    assert audited["second_ids"] == audited["first_ids"]
    first = {(f["finding_type"], f["listing_id"]) for f in audited["first"]}
    second = {(f["finding_type"], f["listing_id"]) for f in audited["second"]}
    assert second == first


def test_audit_reports_every_listing_and_writes_the_report(audited: dict[str, Any]) -> None:
    """The audit checked (nearly) every served listing and wrote an HTML report that names an expected finding."""
    world, result = audited["world"], audited["result"]
    checked = getattr(result, "listings_checked", None)
    assert checked is not None and checked >= 0.9 * len(world.listings)
    index = Path(result.report_dir) / "index.html"
    assert index.exists()
    text = index.read_text(encoding="utf-8")
    assert any(t.npi in text or t.address_line in text for t in world.truth)
    counts = dict(getattr(result, "findings_by_type", {}) or {})
    assert set(counts) <= set(FINDING_TYPES) and sum(counts.values()) > 0


def test_demo_summary_shows_counts_and_report_path(audited: dict[str, Any]) -> None:
    """The summary `ghostcheck demo` prints: requests per source, findings per type, and the report to open."""
    from rich.console import Console

    from flows.demo.summary import print_summary, summarize

    session, result = audited["session"], audited["result"]
    db_path = load_config(session.config_path).warehouse.path
    summary = summarize(result, session.world, session.running, db_path, 1.0)
    assert summary.requests["fhir"] >= 4 and summary.requests["sites"] >= len(session.world.practices)
    console = Console(record=True, width=400)
    print_summary(console, summary, session.world)
    text = console.export_text()
    assert "stale_listing" in text and str(summary.report_index) in text
    rates = [summary.ghost_rate] if summary.ghost_rate is not None else [v[0] for v in summary.ghost_by_insurer.values()]
    assert rates and all(0 < r < 1 for r in rates) and "Ghost rate" in text
