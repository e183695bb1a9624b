"""Report data layer: headline, run series, scope and JSON embedding checked against independent computations."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import defaultdict

import duckdb
import pytest

from flows.report import data
from flows.report.build import embed_json, encode_columns
from reconcile.stats import wilson_interval
from report_fixtures import build_warehouse


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    """A fixture warehouse with 400 findings over 5 runs (read-only connection)."""
    path = tmp_path_factory.mktemp("wh") / "w.duckdb"
    info = build_warehouse(path, 400, n_runs=5)
    con = duckdb.connect(str(path), read_only=True)
    yield con, info
    con.close()


def test_headline_matches_pandas(warehouse):
    """Listings checked, ghost rate and per-type counts agree with a pandas computation over the raw tables."""
    con, info = warehouse
    findings = con.execute("SELECT * FROM findings").df()
    listings = con.execute("SELECT * FROM listings").df()
    rels = data.relations(con)
    scope = data.select_scope(con, rels, None)
    sql = data.findings_sql(rels, scope)
    head = data.headline(con, rels, sql, data.metrics_rows(con, rels, scope))

    open_ = findings[findings.status == "open"]
    assert head["listings_checked"] == len(listings) == info.n_listings
    assert head["ghost_listings"] == open_.listing_id.nunique()
    assert head["ghost_rate"] == pytest.approx(open_.listing_id.nunique() / len(listings))
    lo, hi = wilson_interval(open_.listing_id.nunique(), len(listings))
    assert head["ghost_ci"][0] == pytest.approx(lo) and head["ghost_ci"][1] == pytest.approx(hi)
    assert {t["type"]: t["open"] for t in head["by_type"] if t["open"]} == open_.finding_type.value_counts().to_dict()
    assert head["findings_total"] == len(findings) == info.n_findings
    per = {i["insurer"]: i for i in head["insurers"]}
    for insurer, group in open_.groupby("insurer"):
        assert per[insurer]["open_findings"] == len(group)
        assert per[insurer]["listings_checked"] == int((listings.insurer == insurer).sum())


def test_headline_without_metrics_computes_from_listings(tmp_path):
    """With no metrics view, the ghost rate is computed from listings and open findings."""
    path = tmp_path / "w.duckdb"
    build_warehouse(path, 120, n_runs=2)
    with duckdb.connect(str(path)) as con:
        con.execute("DROP TABLE metrics")
        rels = data.relations(con)
        scope = data.select_scope(con, rels, None)
        head = data.headline(con, rels, data.findings_sql(rels, scope), [])
        n_list = con.execute("SELECT count(*) FROM listings").fetchone()[0]
        n_ghost = con.execute("SELECT count(DISTINCT listing_id) FROM findings WHERE status = 'open'").fetchone()[0]
    assert head["listings_checked"] == n_list
    assert head["ghost_rate"] == pytest.approx(n_ghost / n_list)
    assert all(i["basis"] == "computed" for i in head["insurers"])


def test_run_series_counts_transitions(warehouse):
    """Opened/resolved per run equal the status transitions recomputed in Python from finding_history."""
    con, info = warehouse
    rels = data.relations(con)
    series = data.run_series(con, rels, data.select_scope(con, rels, None))
    order = [r[0] for r in con.execute("SELECT run_id FROM runs ORDER BY started_at").fetchall()]
    rank = {r: i for i, r in enumerate(order)}
    per_finding = defaultdict(list)
    for fid, run_id, status in con.execute("SELECT finding_id, run_id, status FROM finding_history").fetchall():
        per_finding[fid].append((rank[run_id], status))
    opened, resolved, open_now = defaultdict(int), defaultdict(int), defaultdict(int)
    for rows in per_finding.values():
        prev = None
        latest = dict(sorted(rows))
        for r, status in sorted(rows):
            if status == "open" and prev != "open":
                opened[order[r]] += 1
            if status == "resolved" and prev != "resolved":
                resolved[order[r]] += 1
            prev = status
        # open after a run: the finding's latest recorded state at or before that run is open (the store records
        # changes only, so a finding seen again unchanged has no row for that run)
        for k in range(len(order)):
            states = [latest[j] for j in latest if j <= k]
            if states and states[-1] == "open":
                open_now[order[k]] += 1
    assert [s["run_id"] for s in series] == order == info.run_ids
    assert [s["opened"] for s in series] == [opened[r] for r in order]
    assert [s["resolved"] for s in series] == [resolved[r] for r in order]
    assert [s["open"] for s in series] == [open_now[r] for r in order]
    assert sum(s["resolved"] for s in series) > 0


def test_as_of_picks_earlier_run_and_history_status(warehouse):
    """--as-of selects the last run on/before the date; statuses come from finding_history at that run."""
    con, _ = warehouse
    rels = data.relations(con)
    scope = data.select_scope(con, rels, dt.date(2026, 1, 13))
    assert scope.run.run_id == "run-2" and scope.run_order == ["run-1", "run-2"]
    rows = con.execute(f"SELECT finding_id, status, first_seen FROM ({data.findings_sql(rels, scope)})").fetchall()
    assert rows and all(r[2].date() <= dt.date(2026, 1, 13) for r in rows)
    hist = dict(
        con.execute(
            "SELECT finding_id, arg_max(status, run_id) FROM finding_history WHERE run_id IN ('run-1','run-2') GROUP BY 1"
        ).fetchall()
    )
    assert {fid: st for fid, st, _ in rows if fid in hist} == {fid: hist[fid] for fid, _, _ in rows if fid in hist}
    # a finding resolved later is still open as of run-2
    later = con.execute(
        "SELECT finding_id FROM finding_history WHERE run_id IN ('run-3','run-4','run-5') AND status='resolved'"
    ).fetchall()
    as_of_status = {fid: st for fid, st, _ in rows}
    assert any(as_of_status.get(f) == "open" for (f,) in later)
    with pytest.raises(data.ReportDataError, match="no run on or before 2020-01-01"):
        data.select_scope(con, rels, dt.date(2020, 1, 1))


def test_sources_split_ok_and_failed(warehouse):
    """Sources of the chosen run are split by status, with the failure reason kept."""
    con, info = warehouse
    rels = data.relations(con)
    src = data.sources(con, rels, data.select_scope(con, rels, None))
    assert sorted(s["source"] for s in src["failed"]) == sorted(info.failed_sources)
    assert sorted(s["source"] for s in src["ok"]) == sorted(info.ok_sources)
    assert all("503" in s["reason"] for s in src["failed"])


def test_missing_findings_view_is_one_clear_error(tmp_path):
    """An empty warehouse gives a ReportDataError naming what to run, not a SQL traceback."""
    with duckdb.connect(str(tmp_path / "empty.duckdb")) as con:
        rels = data.relations(con)
        with pytest.raises(data.ReportDataError, match="no findings view"):
            data.findings_sql(rels, data.select_scope(con, rels, None))


def test_embedded_json_cannot_break_out_and_round_trips(warehouse):
    """`</script>`, `<!--`, `&` and U+2028 in data are escaped in the page yet decode to the same values."""
    con, _ = warehouse
    rels = data.relations(con)
    table = data.findings_for_report(con, data.findings_sql(rels, data.select_scope(con, rels, None), for_report=True))
    payload = encode_columns(table)
    text = str(embed_json(payload))
    assert not re.search(r"[<>&\u2028\u2029]", text)
    back = json.loads(text)
    cols = {c["name"]: c for c in back["columns"]}

    def column(name):
        """Decode one column the way report.js does."""
        c = cols[name]
        return [None if k is None else c["dict"][k] for k in c["codes"]] if "dict" in c else c["values"]

    assert column("provider_name") == table.column("provider_name").to_pylist()
    assert "</script><script>alert(2)</script>" in column("directory_value")
    assert any(v and "\u2028" in v for v in column("observed_value"))
    assert back["n"] == table.num_rows


def test_sources_of_a_reconcile_after_separate_crawl_commands(tmp_path):
    """`crawl` and `ingest` record their sources under their own run ids: a later reconcile run's report shows
    each source's latest record started before it (it showed "0 ok")."""
    from warehouse.db import connect

    con = connect(tmp_path / "w.duckdb")
    con.execute("""INSERT INTO runs (run_id, started_at, status) VALUES
        ('r1-crawl-old', TIMESTAMP '2026-11-01 08:00', 'ok'), ('r2-crawl', TIMESTAMP '2026-11-20 08:00', 'ok'),
        ('r3-ingest', TIMESTAMP '2026-11-20 09:00', 'ok'), ('r4-reconcile', TIMESTAMP '2026-11-20 10:00', 'ok'),
        ('r5-crawl-later', TIMESTAMP '2026-11-21 08:00', 'ok')""")
    con.execute("""INSERT INTO source_runs (run_id, source, kind, status, reason, items, pages, started_at) VALUES
        ('r1-crawl-old', 'Acme', 'fhir', 'failed', 'HTTP 503', 0, 0, TIMESTAMP '2026-11-01 08:00'),
        ('r2-crawl', 'Acme', 'fhir', 'ok', NULL, 40, 2, TIMESTAMP '2026-11-20 08:00'),
        ('r3-ingest', 'reports', 'reports', 'ok', NULL, 7, 1, TIMESTAMP '2026-11-20 09:00'),
        ('r5-crawl-later', 'Acme', 'fhir', 'failed', 'HTTP 500', 0, 0, TIMESTAMP '2026-11-21 08:00')""")
    rels = data.relations(con)
    scope = data.Scope(run=data.RunInfo(run_id="r4-reconcile", started_at="2026-11-20 10:00:00"))
    src = data.sources(con, rels, scope)
    assert [(s["source"], s["items"]) for s in src["ok"]] == [("Acme", 40), ("reports", 7)]
    assert src["failed"] == []
