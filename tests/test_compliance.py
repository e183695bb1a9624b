"""Compliance & persistence: the business-day calendar, the `compliance` view over runs with known dates,
`ghostcheck compliance`, `ghostcheck findings --older-than/--since/--status`, and the report section."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import holidays
import numpy as np
import pytest
import typer
from hypothesis import given, settings, strategies as st
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parent))

from findings_world import finding, save_run  # noqa: E402
from reconcile.compliance import BANDS, age_band, business_days_between, is_business_day, percentile  # noqa: E402
from reconcile_world import add_listing  # noqa: E402
from warehouse.db import connect  # noqa: E402

ACME, COBALT = "Acme Health", "Cobalt Care"
TYPES = {"A1": "phone", "A2": "address", "A3": "stale_listing", "A4": "accepting_status", "A5": "phone",
         "A6": "phone", "A7": "address", "C1": "phone", "C2": "address", "C3": "stale_listing"}
# which findings each run saw (a finding missing from a later run is resolved on that run's as-of date)
SCHEDULE = [
    (dt.date(2026, 6, 1), {"A1", "A2", "A3", "C1", "C3"}),
    (dt.date(2026, 6, 8), {"A1", "A3", "A4", "C1", "C3"}),
    (dt.date(2026, 9, 14), {"A1", "A4", "A5", "A7", "C1", "C2", "C3"}),
    (dt.date(2026, 9, 16), {"A1", "A4", "A5", "C1", "C2", "C3"}),
    (dt.date(2026, 11, 23), {"A1", "A4", "A6", "C1", "C2", "C3"}),
]
THANKSGIVING = dt.date(2026, 11, 26)


def _finding(fid: str) -> dict:
    """The finding row for an id of the schedule."""
    return finding(fid, TYPES[fid], ACME if fid.startswith("A") else COBALT)


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    """A real warehouse built run by run through warehouse.store.save_reconcile, plus two crawls of Acme."""
    path = tmp_path_factory.mktemp("compliance") / "warehouse.duckdb"
    con = connect(path)
    for as_of, seen in SCHEDULE:
        save_run(con, as_of, [_finding(f) for f in sorted(seen)])
    # Acme's June crawl (one fresh listing) and November crawl (fresh, exactly 90 days, 91 days, undated)
    add_listing(con, listing_id="L1", run_id="crawl-2026-06", fetched_at=dt.datetime(2026, 6, 1, 8),
                last_updated=dt.datetime(2026, 5, 1))
    for lid, updated in (("L1", dt.datetime(2026, 10, 1)), ("L2", dt.datetime(2026, 8, 28, 23, 0)),
                         ("L3", dt.datetime(2026, 8, 27)), ("L4", None)):
        add_listing(con, listing_id=lid, run_id="crawl-2026-11", fetched_at=dt.datetime(2026, 11, 20, 8),
                    last_updated=updated)
    add_listing(con, listing_id="R1", run_id="crawl-2026-11", fetched_at=dt.datetime(2026, 11, 20, 8),
                role="reference", last_updated=None)  # reference directories are not audited
    con.close()
    return path


def rows_at(path: Path, day: dt.date | None) -> dict[tuple[str, str], dict]:
    """The compliance rows keyed by (insurer, finding_type), as of `day` (None: the view)."""
    con = connect(path)
    try:
        cur = con.execute("SELECT * FROM compliance_at(CAST(? AS DATE))", [day]) if day else \
            con.execute("SELECT * FROM compliance")
        names = [d[0] for d in cur.description]
        return {(r[names.index("insurer")], r[names.index("finding_type")]): dict(zip(names, r)) for r in cur.fetchall()}
    finally:
        con.close()


def states_at(day: dt.date) -> tuple[dict[str, dt.date], dict[str, int]]:
    """From the schedule alone: open findings' first-seen dates and resolved findings' days to fix, as of `day`."""
    first: dict[str, dt.date] = {}
    status: dict[str, tuple[str, dt.date]] = {}
    for as_of, seen in SCHEDULE:
        if as_of > day:
            break
        for fid in seen:
            first.setdefault(fid, as_of)
            status[fid] = ("open", as_of)
        for fid, (state, _) in list(status.items()):
            if fid not in seen and state == "open":
                status[fid] = ("resolved", as_of)
    open_ = {f: first[f] for f, (s, _) in status.items() if s == "open"}
    fixed = {f: (when - first[f]).days for f, (s, when) in status.items() if s == "resolved"}
    return open_, fixed


# ----------------------------------------------------------------------------- calendar


def test_business_calendar_matches_the_holidays_package(tmp_path):
    con = connect(tmp_path / "w.duckdb")
    ours = {d for (d,) in con.execute("SELECT day FROM business_calendar WHERE holiday IS NOT NULL").fetchall()}
    con.close()
    theirs = {d for d in holidays.US(years=range(1990, 2101), observed=True)
              if dt.date(1990, 1, 1) <= d <= dt.date(2100, 12, 31)}
    assert ours == theirs


def test_observed_dates_and_known_business_days():
    # OPM: Independence Day 2026 (Saturday) is observed Friday July 3; New Year's Day 2022 (Saturday) on Dec 31, 2021
    assert not is_business_day(dt.date(2026, 7, 3)) and not is_business_day(dt.date(2021, 12, 31))
    assert is_business_day(dt.date(2026, 7, 2)) and is_business_day(dt.date(2026, 11, 27))
    # Monday -> Thursday of Thanksgiving week: Tuesday and Wednesday only
    assert business_days_between(dt.date(2026, 11, 23), THANKSGIVING) == 2
    assert business_days_between(dt.date(2026, 11, 23), dt.date(2026, 11, 27)) == 3
    # Friday before Christmas 2027 (observed Friday 24th) to the next Monday: only the Monday counts
    assert business_days_between(dt.date(2027, 12, 23), dt.date(2027, 12, 27)) == 1
    assert age_band(dt.date(2026, 11, 23), THANKSGIVING) == BANDS[0]
    assert age_band(dt.date(2026, 11, 23), dt.date(2026, 11, 27)) == BANDS[1]
    assert age_band(dt.date(2026, 6, 1), dt.date(2026, 8, 30)) == BANDS[1]   # 90 days
    assert age_band(dt.date(2026, 6, 1), dt.date(2026, 8, 31)) == BANDS[2]   # 91 days


@settings(max_examples=60, deadline=None)
@given(start=st.dates(dt.date(1995, 1, 1), dt.date(2090, 1, 1)), span=st.integers(0, 800))
def test_sql_business_index_agrees_with_python(start, span):
    end = start + dt.timedelta(days=span)
    con = _calendar_con()
    got = con.execute("SELECT e.business_index - s.business_index FROM business_calendar s, business_calendar e "
                      "WHERE s.day = ? AND e.day = ?", [start, end]).fetchone()[0]
    assert got == business_days_between(start, end)
    brute = sum(1 for i in range(1, span + 1) if is_business_day(start + dt.timedelta(days=i)))
    assert got == brute


_CAL: list = []


def _calendar_con():
    """One in-memory warehouse shared by the property test (its calendar is read-only)."""
    if not _CAL:
        _CAL.append(connect(":memory:"))
    return _CAL[0]


@given(st.lists(st.integers(0, 400), min_size=1, max_size=40), st.sampled_from([0.0, 0.1, 0.5, 0.9, 1.0]))
def test_percentile_is_linear_interpolation(values, q):
    assert percentile(values, q) == pytest.approx(float(np.percentile(values, q * 100)))


# ----------------------------------------------------------------------------- the view


def test_age_bands_and_time_to_fix_on_thanksgiving(warehouse):
    rows = rows_at(warehouse, THANKSGIVING)
    acme, cobalt = rows[(ACME, "all")], rows[(COBALT, "all")]
    # A1 (since Jun 1) and A4 (Jun 8) are over 90 days; A6 (Mon Nov 23) is 2 business days old because of the holiday
    assert (acme["open_findings"], acme["open_0_2_business_days"], acme["open_le_90_days"],
            acme["open_gt_90_days"]) == (3, 1, 0, 2)
    assert (acme["open_age_median_days"], acme["open_age_max_days"]) == (171, 178)
    assert acme["oldest_open_first_seen"] == dt.date(2026, 6, 1)
    # fixed: A2 in 7 days, A3 in 105, A7 in 2 (Mon -> Wed: inside the 2-business-day window), A5 in 70
    assert acme["resolved_findings"] == 4 and acme["resolved_within_2_business_days"] == 1
    assert acme["ttf_median_days"] == pytest.approx(38.5)
    assert acme["ttf_p90_days"] == pytest.approx(float(np.percentile([2, 7, 70, 105], 90)))
    assert (cobalt["open_0_2_business_days"], cobalt["open_le_90_days"], cobalt["open_gt_90_days"]) == (0, 1, 2)
    assert cobalt["resolved_findings"] == 0 and cobalt["ttf_median_days"] is None
    phone = rows[(ACME, "phone")]
    assert (phone["open_findings"], phone["open_0_2_business_days"], phone["open_gt_90_days"]) == (2, 1, 1)
    assert phone["ttf_median_days"] == 70 and phone["listings"] is None
    # one day later the holiday no longer shields A6: 3 business days, overdue
    assert rows_at(warehouse, dt.date(2026, 11, 27))[(ACME, "all")]["open_0_2_business_days"] == 0


@pytest.mark.parametrize("day", [dt.date(2026, 6, 2), dt.date(2026, 6, 5), dt.date(2026, 6, 10),
                                 dt.date(2026, 9, 15), dt.date(2026, 12, 31), dt.date(2027, 3, 1)])
def test_view_agrees_with_the_schedule_and_python_helpers(warehouse, day):
    rows = rows_at(warehouse, day)
    open_, fixed = states_at(day)
    for insurer, prefix in ((ACME, "A"), (COBALT, "C")):
        for ftype in ("all", *sorted({TYPES[f] for f in TYPES if f.startswith(prefix)})):
            mine = [f for f in open_ if f.startswith(prefix) and ftype in ("all", TYPES[f])]
            done = [d for f, d in fixed.items() if f.startswith(prefix) and ftype in ("all", TYPES[f])]
            row = rows.get((insurer, ftype))
            if row is None:
                assert not mine and not done
                continue
            bands = [age_band(open_[f], day) for f in mine]
            assert row["open_findings"] == len(mine)
            assert (row["open_0_2_business_days"], row["open_le_90_days"], row["open_gt_90_days"]) == \
                tuple(bands.count(b) for b in BANDS)
            ages = [(day - open_[f]).days for f in mine]
            assert row["open_age_median_days"] == percentile(ages, 0.5)
            assert row["resolved_findings"] == len(done)
            assert row["ttf_median_days"] == percentile(done, 0.5)
            assert row["ttf_p90_days"] == pytest.approx(percentile(done, 0.9)) if done else row["ttf_p90_days"] is None


def test_status_as_of_a_past_date_uses_the_history(warehouse):
    # on Friday June 5 A2 was still open (it was fixed on June 8), 4 business days old
    acme = rows_at(warehouse, dt.date(2026, 6, 5))[(ACME, "all")]
    assert (acme["open_findings"], acme["open_le_90_days"], acme["resolved_findings"]) == (3, 3, 0)
    assert rows_at(warehouse, dt.date(2026, 6, 2))[(ACME, "all")]["open_0_2_business_days"] == 3


def test_listing_freshness_share(warehouse):
    acme = rows_at(warehouse, THANKSGIVING)[(ACME, "all")]
    # L1 (56 days) and L2 (exactly 90 days) are within the cycle; L3 (91 days) and undated L4 are not
    assert (acme["listings"], acme["listings_updated_90d"], acme["listings_without_date"]) == (4, 2, 1)
    assert acme["share_updated_90d"] == pytest.approx(0.5)
    # in June only the June crawl existed
    june = rows_at(warehouse, dt.date(2026, 6, 5))[(ACME, "all")]
    assert (june["listings"], june["listings_updated_90d"]) == (1, 1)
    assert rows_at(warehouse, THANKSGIVING)[(COBALT, "all")]["share_updated_90d"] is None


def test_the_view_uses_the_latest_runs_as_of(warehouse):
    rows = rows_at(warehouse, None)
    assert {r["as_of"] for r in rows.values()} == {dt.date(2026, 11, 23)}
    assert rows[(ACME, "all")] | {"as_of": None} == rows_at(warehouse, dt.date(2026, 11, 23))[(ACME, "all")] | {"as_of": None}


# ----------------------------------------------------------------------------- CLI


def cli_app(*modules: str) -> typer.Typer:
    """A Typer app with just the named command modules registered (as flows/cli.py does)."""
    import importlib

    app = typer.Typer()
    app.callback()(lambda: None)  # keep sub-command mode even with one command
    groups = {"crawl": typer.Typer(), "ingest": typer.Typer(), "export": typer.Typer()}
    for name in modules:
        importlib.import_module(f"flows.commands.{name}").register(app, groups)
    return app


def write_config(folder: Path, warehouse: Path) -> Path:
    """A minimal ghostcheck.toml pointing at a warehouse file."""
    cfg = folder / "ghostcheck.toml"
    cfg.write_text(f'[warehouse]\npath = "{warehouse.as_posix()}"\nlanding = "landing"\n', encoding="utf-8")
    return cfg


def test_compliance_command_json_csv_table(warehouse, tmp_path):
    cfg = write_config(tmp_path, warehouse)
    runner = CliRunner()
    app = cli_app("compliance")
    res = runner.invoke(app, ["compliance", "-c", str(cfg), "--as-of", "2026-11-26", "--format", "json"])
    assert res.exit_code == 0, res.output
    doc = {(r["insurer"], r["finding_type"]): r for r in json.loads(res.stdout)}
    assert doc[(ACME, "all")]["open_0_2_business_days"] == 1 and doc[(ACME, "all")]["as_of"] == "2026-11-26"
    res = runner.invoke(app, ["compliance", "-c", str(cfg), "--format", "csv", "--no-by-type", "--insurer", "cobalt care"])
    lines = res.stdout.strip().splitlines()
    assert res.exit_code == 0 and len(lines) == 2 and lines[1].startswith("2026-11-23,Cobalt Care,all,")
    res = runner.invoke(app, ["compliance", "-c", str(cfg)], env={"COLUMNS": "220"})
    assert res.exit_code == 0 and "Acme Health" in res.stdout and "accepting_status" in res.stdout
    bad = runner.invoke(app, ["compliance", "-c", str(cfg), "--as-of", "26/11/2026"])
    assert bad.exit_code == 2 and "--as-of" in bad.output and "Traceback" not in bad.output


def test_findings_older_than_since_and_status(tmp_path):
    """`ghostcheck findings` filters (they exist in flows/commands/reconcile.py); dates relative to today."""
    today = dt.date.today()
    db = tmp_path / "w.duckdb"
    con = connect(db)
    save_run(con, today - dt.timedelta(days=120), [finding("F1"), finding("F2", "address")])
    save_run(con, today - dt.timedelta(days=30), [finding("F1"), finding("F3", "accepting_status")])
    save_run(con, today, [finding("F1"), finding("F3", "accepting_status"), finding("F4", "stale_listing")])
    con.close()
    cfg = write_config(tmp_path, db)
    runner, app = CliRunner(), cli_app("reconcile")

    def ids(*args: str) -> set[str]:
        """Finding ids printed by `ghostcheck findings --format json` with extra options."""
        res = runner.invoke(app, ["findings", "-c", str(cfg), "--format", "json", *args])
        assert res.exit_code == 0, res.output
        return {r["finding_id"] for r in json.loads(res.stdout)}

    assert ids("--older-than", "90d") == {"F1"}
    assert ids("--older-than", "20d") == {"F1", "F3"}
    assert ids("--older-than", "12w") == {"F1"}
    assert ids("--since", (today - dt.timedelta(days=30)).isoformat()) == {"F3", "F4"}
    assert ids("--status", "resolved") == {"F2"}
    assert ids("--status", "all", "--older-than", "90d") == {"F1", "F2"}
    bad = runner.invoke(app, ["findings", "-c", str(cfg), "--older-than", "three months"])
    assert bad.exit_code == 2 and "--older-than" in bad.output


# ----------------------------------------------------------------------------- report


def test_report_has_a_compliance_section(warehouse, tmp_path):
    from flows.report.build import build_report

    con = connect(warehouse)
    try:
        paths = build_report(con, tmp_path / "report", as_of="2026-11-26")
    finally:
        con.close()
    html = paths.index.read_text(encoding="utf-8")
    section = html[html.index('id="h-compliance"'):html.index('id="h-findings"')]
    assert "Acme Health" in section and "Cobalt Care" in section and "50.0%" in section
    assert 'id="compliance-by-type"' in section and "As of 2026-11-26" in section
