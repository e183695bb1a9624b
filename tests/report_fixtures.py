"""A stand-in warehouse for report tests and benchmarks: real DuckDB tables with the contract's columns.

The reconciliation pipeline is being built in parallel; until it writes real
findings/metrics, `build_warehouse` creates the tables/views the report reads
(`listings`, `findings`, `metrics`, `runs`, `source_runs`, `finding_history`,
`evidence`) directly, set-based in SQL so 100k findings take about a second.
Swap it for the real pipeline later: the report only relies on column names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from reconcile.stats import wilson_interval

INSURERS = ("Acme Health", "Cobalt Care", "Évora Mutual & Co. <PPO>")
FINDING_TYPES = (
    "accepting_status",
    "phone",
    "address",
    "provider_not_at_location",
    "insurer_not_accepted",
    "stale_listing",
    "cross_directory_conflict",
    "unreachable",
)
FIELDS = ("accepting_status", "phone", "address", "location", "insurer", "last_updated", "phone", "phone")
SEVERITIES = ("low", "medium", "high", "critical")
NAMES = (
    "Smith, John A MD",
    "María José García-López, DO",
    "Nguyễn Văn An",
    "O'Brien, Siobhán NP",
    "Dr. Zoë Kowalczyk-Wiśniewska",
    "李 伟",
    "Robert \"Bob\" Jones Jr., PA-C",
    "Anne-Marie D'Souza",
)
HOSTILE_NAMES = ("<script>alert(1)</script>", '"><img src=x onerror=alert(1)>')


@dataclass
class FixtureInfo:
    """What the fixture wrote, for tests to derive expectations independently."""

    path: str
    n_findings: int
    n_listings: int
    run_ids: list[str]
    hostile_ids: list[str] = field(default_factory=list)
    failed_sources: list[str] = field(default_factory=list)
    ok_sources: list[str] = field(default_factory=list)


def build_warehouse(
    path: str | Path,
    n_findings: int = 300,
    *,
    n_runs: int = 4,
    hostile: bool = True,
    extra_findings: list[dict[str, Any]] | None = None,
) -> FixtureInfo:
    """Create a DuckDB file shaped like the warehouse contract, filled with varied findings."""
    path = str(path)
    n_listings = max(10, n_findings * 2)
    con = duckdb.connect(path)
    try:
        _runs(con, n_runs)
        _listings(con, n_listings)
        _findings(con, n_findings, n_listings, n_runs)
        extras = list(extra_findings or [])
        hostile_ids: list[str] = []
        if hostile:
            for k, name in enumerate(HOSTILE_NAMES):
                fid = f"hostile-{k}"
                hostile_ids.append(fid)
                extras.append(
                    {
                        "finding_id": fid,
                        "provider_name": name,
                        "insurer": INSURERS[k % len(INSURERS)],
                        "listing_id": f"L{k:08d}",
                        "directory_value": "</script><script>alert(2)</script>",
                        "observed_value": "\u2028line sep & <b>bold</b>\u2029",
                        "evidence_url": "javascript:alert(3)" if k == 0 else "https://evil.example.org/\"><svg onload=alert(4)>",
                        "evidence_text": "<iframe src=javascript:alert(5)></iframe> verbatim",
                    }
                )
        for extra in extras:
            _insert_extra(con, extra)
        _history(con, n_runs)
        _evidence(con)
        ok, failed = _sources(con, n_runs)
        _metrics(con, n_runs)
        run_ids = [f"run-{i}" for i in range(1, n_runs + 1)]
    finally:
        con.close()
    return FixtureInfo(path, n_findings + len(extras), n_listings, run_ids, hostile_ids, failed, ok)


def _runs(con: duckdb.DuckDBPyConnection, n_runs: int) -> None:
    """Weekly runs starting 2026-01-05, all finished ok."""
    con.execute(
        """CREATE TABLE runs AS SELECT
             'run-' || i AS run_id,
             TIMESTAMP '2026-01-05 03:00:00' + INTERVAL 7 DAY * (i - 1) AS started_at,
             TIMESTAMP '2026-01-05 04:10:00' + INTERVAL 7 DAY * (i - 1) AS finished_at,
             'ok' AS status,
             DATE '2026-01-05' + INTERVAL 7 DAY * (i - 1) AS as_of,
             NULL::VARCHAR AS flow_run_id, '/srv/ghostcheck.toml' AS config_path, NULL::VARCHAR AS notes
           FROM range(1, ? + 1) t(i)""",
        [n_runs],
    )


def _listings(con: duckdb.DuckDBPyConnection, n: int) -> None:
    """Listings spread over the insurers (the `listings` view columns)."""
    con.execute(
        f"""CREATE TABLE listings AS SELECT
              printf('L%08d', i) AS listing_id,
              {_pick(INSURERS, 'i')} AS insurer,
              CASE i % 3 WHEN 0 THEN 'fhir' WHEN 1 THEN 'qhp' ELSE 'html' END AS directory_kind,
              printf('1%09d', (i * 7919) % 1000000000) AS npi,
              {_pick(NAMES, 'i')} AS provider_name,
              'Practice ' || (i % 997) AS practice_name,
              (i % 900 + 1) || ' Main St Ste ' || (i % 40) AS address,
              'Springfield' AS city, 'IL' AS state, '62701' AS zip,
              printf('(217) 555-%04d', i % 10000) AS phone,
              'Family Medicine' AS specialty,
              'accepting' AS accepting_status,
              ['Gold PPO'] AS networks,
              'https://practice-' || (i % 997) || '.example.org/' AS website,
              DATE '2025-10-01' AS last_updated,
              'https://fhir.example.org/PractitionerRole?page=' || (i // 100) AS source_url,
              TIMESTAMP '2026-01-05 03:05:00' AS fetched_at
            FROM range(?) t(i)""",
        [n],
    )


def _pick(values: tuple[str, ...], expr: str) -> str:
    """SQL expression choosing values[expr % len] (the values are quoted as literals)."""
    items = ", ".join("'" + v.replace("'", "''") + "'" for v in values)
    return f"([{items}])[(({expr}) % {len(values)})::BIGINT + 1]"


def _findings(con: duckdb.DuckDBPyConnection, n: int, n_listings: int, n_runs: int) -> None:
    """Findings with mixed types, severities, statuses, URL kinds, nulls and long snippets."""
    con.execute(
        f"""CREATE TABLE findings AS
            WITH base AS (
              SELECT i, (hash(i) % 1000000007)::BIGINT AS h, ((hash(i) % 1000000007)::BIGINT // 1009) % {n_listings} AS li FROM range(?) t(i)
            ), shaped AS (
              SELECT *, (h // 7) % 8 AS ti, (h // 97) % 100 AS sp, 1 + (h // 13) % {n_runs} AS fr FROM base
            )
            SELECT
              printf('F%08d', i) AS finding_id,
              {_pick(FINDING_TYPES, 'ti')} AS finding_type,
              {_pick(INSURERS, 'li')} AS insurer,
              printf('L%08d', li) AS listing_id,
              CASE WHEN i % 17 = 0 THEN NULL ELSE printf('1%09d', (li * 7919) % 1000000000) END AS npi,
              {_pick(NAMES, 'li')} AS provider_name,
              (li % 900 + 1) || ' Main St Ste ' || (li % 40) || ', Springfield, IL 62701' AS address,
              {_pick(FIELDS, 'ti')} AS field,
              CASE ti WHEN 0 THEN 'accepting' WHEN 1 THEN printf('(217) 555-%04d', li % 10000)
                      WHEN 5 THEN '2025-10-01' ELSE 'listed value ' || i END AS directory_value,
              CASE ti WHEN 0 THEN 'not_accepting' WHEN 1 THEN printf('+1 217 555 %04d', (li + 1) % 10000)
                      WHEN 5 THEN NULL ELSE 'observed value ' || i END AS observed_value,
              CASE WHEN ti IN (0, 3, 4) THEN 'website' WHEN ti = 7 THEN 'secret_shopper'
                   WHEN ti = 6 THEN 'directory' ELSE 'phone_survey' END AS evidence_source,
              CASE i % 5 WHEN 0 THEN 'https://practice-' || (li % 997) || '.example.org/team'
                         WHEN 1 THEN 'http://practice-' || (li % 997) || '.example.org/insurance'
                         WHEN 2 THEN 'reports/secret_shopper_2026-01.csv#row=' || i
                         WHEN 3 THEN NULL
                         ELSE 'https://practice-' || (li % 997) || '.example.org/new-patients?ref=' || i END AS evidence_url,
              CASE WHEN i % 11 = 0 THEN NULL
                   ELSE 'Our providers: Dr. ' || split_part({_pick(NAMES, 'li + 1')}, ',', 1)
                        || E'\\nWe are not accepting new patients at this time. Call (217) 555-0199.'
                        || repeat(' More text.', (h // 3) % 12) END AS evidence_text,
              TIMESTAMP '2026-01-05 03:30:00' + INTERVAL 7 DAY * (fr - 1) + INTERVAL 1 SECOND * (i % 3600) AS observed_at,
              {_pick(SEVERITIES, 'h // 31')} AS severity,
              (50 + (h // 5) % 50) / 100.0 AS confidence,
              CASE WHEN sp < 70 OR (sp < 90 AND fr = {n_runs}) THEN 'open' WHEN sp < 90 THEN 'resolved' ELSE 'dismissed' END AS status,
              TIMESTAMP '2026-01-05 03:00:00' + INTERVAL 7 DAY * (fr - 1) AS first_seen,
              CASE WHEN sp < 70 OR sp >= 90 OR fr = {n_runs} THEN TIMESTAMP '2026-01-05 03:00:00' + INTERVAL 7 DAY * ({n_runs} - 1)
                   ELSE TIMESTAMP '2026-01-05 03:00:00'
                        + INTERVAL 7 DAY * (fr - 1 + (h // 11) % greatest({n_runs} - fr, 1)) END AS last_seen,
              'run-' || {n_runs} AS run_id,
              CASE ti WHEN 1 THEN 'Update the listed phone' WHEN 3 THEN 'Remove the provider from this location'
                      ELSE 'Verify with the practice' END AS recommended_action
            FROM shaped""",
        [n],
    )


def _insert_extra(con: duckdb.DuckDBPyConnection, values: dict[str, Any]) -> None:
    """Insert one hand-written finding, defaults filled from a typical open finding."""
    row: dict[str, Any] = {
        "finding_type": "provider_not_at_location",
        "insurer": INSURERS[0],
        "listing_id": "L00000000",
        "npi": "1234567893",
        "provider_name": "Extra Provider",
        "address": "1 Main St, Springfield, IL 62701",
        "field": "location",
        "directory_value": "listed",
        "observed_value": "observed",
        "evidence_source": "website",
        "evidence_url": "https://practice-0.example.org/team",
        "evidence_text": "snippet",
        "observed_at": "2026-01-26 03:30:00",
        "severity": "critical",
        "confidence": 0.9,
        "status": "open",
        "first_seen": "2026-01-05 03:00:00",
        "last_seen": "2026-01-26 03:00:00",
    }
    row.update(values)
    cols = ", ".join(row)
    marks = ", ".join("?" for _ in row)
    con.execute(f"INSERT INTO findings ({cols}) VALUES ({marks})", list(row.values()))


def _history(con: duckdb.DuckDBPyConnection, n_runs: int) -> None:
    """finding_history: one row per run a finding was seen, plus the run where it resolved."""
    con.execute(
        """CREATE TABLE finding_history AS
           WITH f AS (
             SELECT f.finding_id, f.status, f.directory_value, f.observed_value,
                    r1.rn AS first_rn, r2.rn AS last_rn
             FROM findings f
             JOIN (SELECT run_id, started_at, row_number() OVER (ORDER BY started_at) rn FROM runs) r1
               ON r1.started_at = f.first_seen
             JOIN (SELECT run_id, started_at, row_number() OVER (ORDER BY started_at) rn FROM runs) r2
               ON r2.started_at = f.last_seen
           ), seen AS (
             SELECT finding_id, unnest(range(first_rn, last_rn + 1)) AS rn,
                    CASE WHEN status = 'dismissed' THEN 'dismissed' ELSE 'open' END AS st,
                    directory_value, observed_value FROM f
             UNION ALL
             SELECT finding_id, last_rn + 1, 'resolved', directory_value, NULL FROM f WHERE status = 'resolved'
           )
           SELECT s.finding_id, r.run_id, r.started_at + INTERVAL 20 MINUTE AS seen_at, s.st AS status,
                  s.directory_value, s.observed_value
           FROM seen s JOIN (SELECT run_id, started_at, row_number() OVER (ORDER BY started_at) rn FROM runs) r
             ON r.rn = s.rn""",
    )


def _evidence(con: duckdb.DuckDBPyConnection) -> None:
    """evidence rows for the http(s) evidence URLs (fetch time shown in the report)."""
    con.execute(
        """CREATE TABLE evidence AS SELECT DISTINCT ON (evidence_url)
             evidence_url AS url, regexp_extract(evidence_url, '^https?://[^/]+/') AS site_url,
             observed_at - INTERVAL 2 MINUTE AS fetched_at, 200 AS http_status,
             sha256(evidence_url) AS content_sha256, NULL::VARCHAR AS snapshot_path,
             false AS rendered, false AS truncated, NULL::VARCHAR AS error,
             left(evidence_text, 200) AS snippet, run_id
           FROM findings WHERE evidence_url LIKE 'http%'""",
    )


def _sources(con: duckdb.DuckDBPyConnection, n_runs: int) -> tuple[list[str], list[str]]:
    """source_runs for every run; in the last run one directory failed."""
    rows = []
    ok_last: list[str] = []
    failed_last: list[str] = []
    for r in range(1, n_runs + 1):
        for k, insurer in enumerate(INSURERS):
            failed = r == n_runs and k == 1
            rows.append(
                (
                    f"run-{r}",
                    insurer,
                    ("fhir", "html", "qhp")[k],
                    "failed" if failed else "ok",
                    "HTTP 503 from https://cobalt.example.org/search?page=3 after 5 retries" if failed else None,
                    0 if failed else 1200 + k,
                    0 if failed else 12,
                )
            )
            if r == n_runs:
                (failed_last if failed else ok_last).append(insurer)
        rows.append((f"run-{r}", "sites", "sites", "ok", None, 800, 2400))
        rows.append((f"run-{r}", "reports/secret_shopper_2026-01.csv", "reports", "ok", None, 150, 1))
        if r == n_runs:
            ok_last += ["sites", "reports/secret_shopper_2026-01.csv"]
    con.execute(
        """CREATE TABLE source_runs (run_id VARCHAR, source VARCHAR, kind VARCHAR, status VARCHAR, reason VARCHAR,
           items BIGINT, pages BIGINT, started_at TIMESTAMP, finished_at TIMESTAMP)"""
    )
    con.executemany(
        "INSERT INTO source_runs SELECT ?, ?, ?, ?, ?, ?, ?, r.started_at, r.finished_at FROM runs r WHERE r.run_id = ?",
        [row + (row[0],) for row in rows],
    )
    return ok_last, failed_last


def _metrics(con: duckdb.DuckDBPyConnection, n_runs: int) -> None:
    """Accuracy per insurer × field and ghost rate per insurer, consistent with the findings."""
    con.execute(
        """CREATE TABLE metrics (insurer VARCHAR, plan VARCHAR, metric VARCHAR, field VARCHAR, numerator BIGINT,
           denominator BIGINT, value DOUBLE, ci_low DOUBLE, ci_high DOUBLE, method VARCHAR, run_id VARCHAR)"""
    )
    per_insurer = dict(con.execute("SELECT insurer, count(*) FROM listings GROUP BY 1").fetchall())
    wrong = con.execute(
        """SELECT insurer, field, count(DISTINCT listing_id) FROM findings WHERE status = 'open' GROUP BY 1, 2"""
    ).fetchall()
    ghosts = dict(
        con.execute("SELECT insurer, count(DISTINCT listing_id) FROM findings WHERE status = 'open' GROUP BY 1").fetchall()
    )
    run_id = f"run-{n_runs}"
    rows = []
    wrong_map = {(i, f): w for i, f, w in wrong}
    for insurer, total in per_insurer.items():
        for fld in sorted(set(FIELDS)):
            correct = total - wrong_map.get((insurer, fld), 0)
            lo, hi = wilson_interval(correct, total)
            rows.append((insurer, None, "accuracy", fld, correct, total, correct / total, lo, hi, "wilson", run_id))
        g = ghosts.get(insurer, 0)
        lo, hi = wilson_interval(g, total)
        rows.append((insurer, None, "ghost_rate", None, g, total, g / total, lo, hi, "wilson", run_id))
        rows.append((insurer, None, "coverage_sites", None, total // 2, total, 0.5, None, None, None, run_id))
    con.executemany("INSERT INTO metrics VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)


def build_minimal_warehouse(path: str | Path, findings: list[dict[str, Any]], evidence: list[dict[str, Any]] = ()) -> None:
    """Only `findings` (contract columns, defaults filled) and `evidence` tables: for focused tests."""
    with duckdb.connect(str(path)) as con:
        con.execute(
            """CREATE TABLE findings (finding_id VARCHAR, finding_type VARCHAR, insurer VARCHAR, listing_id VARCHAR,
               npi VARCHAR, provider_name VARCHAR, address VARCHAR, field VARCHAR, directory_value VARCHAR,
               observed_value VARCHAR, evidence_source VARCHAR, evidence_url VARCHAR, evidence_text VARCHAR,
               observed_at TIMESTAMP, severity VARCHAR, confidence DOUBLE, status VARCHAR, first_seen TIMESTAMP,
               last_seen TIMESTAMP)"""
        )
        for k, row in enumerate(findings):
            _insert_extra(con, {"finding_id": f"m{k}", "listing_id": f"L{k:08d}", **row})
        con.execute(
            """CREATE TABLE evidence (url VARCHAR, site_url VARCHAR, fetched_at TIMESTAMP, http_status INTEGER,
               content_sha256 VARCHAR, snapshot_path VARCHAR, rendered BOOLEAN, truncated BOOLEAN, error VARCHAR,
               snippet VARCHAR, run_id VARCHAR)"""
        )
        for row in evidence:
            full = {"fetched_at": "2026-01-26 03:00:00", "http_status": 200, **row}
            con.execute(
                f"INSERT INTO evidence ({', '.join(full)}) VALUES ({', '.join('?' for _ in full)})", list(full.values())
            )
