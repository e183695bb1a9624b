"""The HTML report in real Chromium (file://): offline, searchable, filterable, expandable, and inert to injected markup."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import duckdb
import pytest

from flows.report import build_report
from report_fixtures import HOSTILE_NAMES, build_warehouse

playwright_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"]
OUTPUT = Path(__file__).parent / "output"
SEARCHED = ("provider_name", "npi", "address", "insurer", "finding_type", "field", "directory_value", "observed_value",
            "listing_id", "finding_id", "evidence_url", "evidence_text", "evidence_source", "status", "severity")

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="system Chromium not installed")


@pytest.fixture(scope="module")
def browser():
    """One headless system Chromium for the module."""
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def report(tmp_path_factory, browser):
    """Build a 600-finding report with one real PNG screenshot; yield (index path, db connection, screenshot url)."""
    base = tmp_path_factory.mktemp("report")
    build_warehouse(base / "w.duckdb", 600)
    con = duckdb.connect(str(base / "w.duckdb"), read_only=True)
    shot_url = con.execute(
        "SELECT evidence_url FROM findings WHERE evidence_url LIKE 'https://%' AND evidence_text IS NOT NULL "
        "AND finding_id LIKE 'F%' ORDER BY finding_id LIMIT 1"
    ).fetchone()[0]
    out = base / "out"
    (out / "screenshots").mkdir(parents=True)
    page = browser.new_page(viewport={"width": 400, "height": 200})
    page.set_content("<body style='background:#cde'><h1>Our providers</h1><p>Not accepting new patients.</p></body>")
    page.screenshot(path=str(out / "screenshots" / (hashlib.sha1(shot_url.encode()).hexdigest()[:16] + ".png")))
    page.close()
    paths = build_report(con, out, title="Test audit <b>not bold</b>")
    yield paths.index, con, shot_url
    con.close()


@pytest.fixture
def opened(browser, report):
    """Open the report in a fresh page, recording console errors, requests and dialogs."""
    index, con, shot_url = report
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    log = {"errors": [], "requests": [], "dialogs": []}
    page.on("console", lambda m: log["errors"].append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: log["errors"].append(str(e)))
    page.on("request", lambda r: log["requests"].append(r.url))

    def on_dialog(dialog):
        """Record and dismiss any alert (there must be none)."""
        log["dialogs"].append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.goto(index.as_uri())
    page.wait_for_function("window.__ghostcheckReady === true", timeout=15000)
    yield page, log, con, shot_url
    page.close()


def _count(page) -> int:
    """The number of matching findings the table reports ('Showing a–b of N matching')."""
    text = page.text_content("#findings-count") or ""
    return int(re.search(r"of ([\d,]+) matching", text).group(1).replace(",", ""))


def _wait_count(page, expected: int) -> None:
    """Wait (event-driven) until the table reports `expected` matching findings."""
    page.wait_for_function(
        "n => { const m = (document.getElementById('findings-count').textContent || '').match(/of ([\\d,]+) matching/);"
        " return m && +m[1].replace(/,/g, '') === n; }",
        arg=expected,
        timeout=10000,
    )


def test_loads_offline_without_errors_and_screenshot(opened):
    """No console errors, only file:/data: requests, headline numbers right, a screenshot written."""
    page, log, con, _ = opened
    total = con.execute("SELECT count(*) FROM findings").fetchone()[0]
    listings = con.execute("SELECT count(*) FROM listings").fetchone()[0]
    ghosts = con.execute("SELECT count(DISTINCT listing_id) FROM findings WHERE status = 'open'").fetchone()[0]
    assert _count(page) == total
    assert page.locator("#findings-table tbody tr").count() == 50
    assert page.text_content("#kpi-listings").strip() == f"{listings:,}"
    assert page.text_content("#kpi-ghost-rate").strip() == f"{ghosts / listings * 100:.1f}%"
    assert page.locator("h1").inner_text() == "Test audit <b>not bold</b>"
    assert page.locator("svg.chart").count() == 2
    failed = con.execute("SELECT source FROM source_runs WHERE run_id = 'run-4' AND status = 'failed'").fetchall()
    assert page.locator("#sources-failed tbody tr").count() == len(failed) > 0
    OUTPUT.mkdir(exist_ok=True)
    page.screenshot(path=str(OUTPUT / "report.png"), full_page=True)
    assert (OUTPUT / "report.png").stat().st_size > 10_000
    assert log["errors"] == []
    assert log["requests"] and all(u.startswith(("file:", "data:")) for u in log["requests"]), log["requests"]


def test_search_and_filters_change_rows(opened):
    """Typing a search and choosing insurer/severity filters show exactly the matching findings."""
    page, log, con, _ = opened
    haystack = " || chr(1) || ".join(f"coalesce(CAST({c} AS VARCHAR), '')" for c in SEARCHED)
    expected = con.execute(f"SELECT count(*) FROM findings WHERE lower({haystack}) LIKE '%kowalczyk%'").fetchone()[0]
    total = _count(page)
    assert 0 < expected < total
    page.fill("#findings-search", "kowalczyk")
    _wait_count(page, expected)

    page.fill("#findings-search", "")
    _wait_count(page, total)
    cobalt = con.execute("SELECT count(*) FROM findings WHERE insurer = 'Cobalt Care'").fetchone()[0]
    page.select_option("#filter-insurer", "Cobalt Care")
    _wait_count(page, cobalt)
    insurers = {t.strip() for t in page.locator("#findings-table tbody tr td:nth-child(4)").all_inner_texts()}
    assert insurers == {"Cobalt Care"}
    both = con.execute(
        "SELECT count(*) FROM findings WHERE insurer = 'Cobalt Care' AND severity = 'critical' AND status = 'open'"
    ).fetchone()[0]
    page.select_option("#filter-severity", "critical")
    page.select_option("#filter-status", "open")
    _wait_count(page, both)
    odd = con.execute("SELECT count(*) FROM findings WHERE insurer = 'Évora Mutual & Co. <PPO>'").fetchone()[0]
    page.click("text=Reset")
    page.select_option("#filter-insurer", "Évora Mutual & Co. <PPO>")
    _wait_count(page, odd)
    assert log["errors"] == []


def test_search_rows_all_contain_term(opened):
    """Every row shown for a provider-name search names that provider."""
    page, _, con, _ = opened
    n = con.execute("SELECT count(*) FROM findings WHERE provider_name ILIKE '%siobhán%' OR evidence_text ILIKE '%siobhán%'").fetchone()[0]
    page.fill("#findings-search", "Siobhán")
    _wait_count(page, n)
    rows = page.locator("#findings-table tbody tr[data-row]")
    assert rows.count() == min(n, 50)
    for _ in range(min(n, 20)):
        page.locator("button.expand[aria-expanded=false]").first.click()
    for k in range(min(n, 20)):
        row_text = rows.nth(k).inner_text() + page.locator("tr.detail").nth(k).inner_text()
        assert "siobhán" in row_text.lower()


def test_finding_expands_to_evidence(opened):
    """A row expands to directory vs evidence values, the verbatim snippet, its link, fetch time and screenshot."""
    page, log, con, shot_url = opened
    fid, directory_value, observed_value, snippet, fetched = con.execute(
        """SELECT f.finding_id, f.directory_value, f.observed_value, f.evidence_text, strftime(e.fetched_at, '%Y-%m-%d %H:%M')
           FROM findings f JOIN evidence e ON e.url = f.evidence_url WHERE f.evidence_url = ? ORDER BY f.finding_id LIMIT 1""",
        [shot_url],
    ).fetchone()
    page.fill("#findings-search", fid.lower())
    _wait_count(page, 1)
    button = page.locator("#findings-table tbody tr button.expand").first
    assert button.get_attribute("aria-expanded") == "false"
    button.click()
    detail = page.locator("tr.detail")
    assert button.get_attribute("aria-expanded") == "true"
    assert detail.locator(".compare .dir .value").inner_text() == (directory_value or "—")
    assert detail.locator(".compare .obs .value").inner_text() == (observed_value or "—")
    assert page.eval_on_selector("tr.detail blockquote.snippet", "e => e.textContent") == snippet
    link = detail.locator("a", has_text=shot_url)
    assert link.get_attribute("href") == shot_url
    assert link.get_attribute("rel") == "noopener noreferrer"
    assert fetched in detail.inner_text()
    img = detail.locator("img.shot")
    img.wait_for()
    page.wait_for_function("() => { const i = document.querySelector('tr.detail img.shot'); return i && i.complete; }")
    assert page.eval_on_selector("tr.detail img.shot", "i => i.naturalWidth") == 400
    button.click()
    assert page.locator("tr.detail").count() == 0
    assert log["errors"] == []


def test_hostile_names_render_as_text(opened):
    """`<script>` and `"><img onerror>` names (and scripty values/URLs) show as text; no dialog, no injected nodes."""
    page, log, _, _ = opened
    page.fill("#findings-search", "alert(1)")
    _wait_count(page, 2)
    cells = [t.strip() for t in page.locator("#findings-table tbody tr td:nth-child(5)").all_inner_texts()]
    assert sorted(c.split("\n")[0] for c in cells) == sorted(HOSTILE_NAMES)
    for button in page.locator("#findings-table tbody tr button.expand").all():
        button.click()
    details = page.locator("tr.detail")
    assert details.count() == 2
    text = page.locator("#findings-table tbody").inner_text()
    assert "</script><script>alert(2)</script>" in text
    assert "<iframe src=javascript:alert(5)></iframe> verbatim" in text
    assert "javascript:alert(3)" in text
    assert page.locator("a[href^='javascript:']").count() == 0
    assert page.locator("#findings-app img:not(.shot), #findings-app iframe, #findings-app svg, #findings-app b").count() == 0
    assert page.locator("script").count() == 2
    assert log["dialogs"] == []
    assert log["errors"] == []


def test_sort_and_paging(opened):
    """Sorting by last seen orders rows; paging moves to the next 50."""
    page, _, _, _ = opened
    page.click("#findings-table th >> text=Last seen")
    header = page.locator("#findings-table th", has_text="Last seen")
    assert header.get_attribute("aria-sort") == "descending"
    dates = [t.strip() for t in page.locator("#findings-table tbody tr td:nth-child(10)").all_inner_texts()]
    assert dates == sorted(dates, reverse=True)
    page.click("#findings-table th >> text=Last seen")
    assert header.get_attribute("aria-sort") == "ascending"
    dates = [t.strip() for t in page.locator("#findings-table tbody tr td:nth-child(10)").all_inner_texts()]
    assert dates == sorted(dates)
    first = page.locator("#findings-table tbody tr").first.get_attribute("data-row")
    page.click("text=Next ›")
    page.wait_for_function("() => document.getElementById('findings-count').textContent.startsWith('Showing 51–100')")
    assert page.locator("#findings-table tbody tr").first.get_attribute("data-row") != first


def test_print_hides_controls(opened):
    """Printing drops the interactive controls and keeps the headline."""
    page, _, _, _ = opened
    page.emulate_media(media="print")
    assert not page.locator(".controls").is_visible()
    assert page.locator("#kpi-ghost-rate").is_visible()


def test_minimal_warehouse_and_odd_types_still_render(browser, tmp_path):
    """Only a findings view (tz timestamps, decimals, a list column, no runs/metrics/sources) still gives a clean page."""
    db = tmp_path / "min.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute(
            """CREATE TABLE f AS SELECT 'x' || i AS finding_id, 'phone' AS finding_type,
                 CASE WHEN i = 0 THEN NULL ELSE 'Acme' END AS insurer, 'L' || i AS listing_id, NULL AS npi,
                 'Dr. ' || i AS provider_name, NULL AS address, 'phone' AS field, '555' AS directory_value,
                 '556' AS observed_value, 'website' AS evidence_source, 'ftp://x.example/' || i AS evidence_url,
                 NULL AS evidence_text, TIMESTAMPTZ '2026-02-01 10:00:00+00' AS observed_at, 'info' AS severity,
                 0.5::DECIMAL(4,2) AS confidence, 'open' AS status, DATE '2026-01-01' AS first_seen,
                 DATE '2026-02-01' AS last_seen, ['a', 'b'] AS tags
               FROM range(3) t(i)"""
        )
        con.execute("CREATE VIEW findings AS SELECT * FROM f")
    con = duckdb.connect(str(db), read_only=True)
    paths = build_report(con, tmp_path / "out")
    con.close()
    page = browser.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(paths.index.as_uri())
    page.wait_for_function("window.__ghostcheckReady === true")
    assert _count(page) == 3
    page.select_option("#filter-insurer", label="(blank)")
    _wait_count(page, 1)
    page.locator("button.expand").first.click()
    detail = page.locator("tr.detail").inner_text()
    assert "ftp://x.example/0" in detail and "(no snippet recorded)" in detail and "[a, b]" in detail
    assert page.locator("tr.detail a").count() == 0
    assert page.text_content("#kpi-listings").strip() == "–"
    assert errors == []
    page.close()
