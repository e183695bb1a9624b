-- 003: compliance & persistence (business-day calendar, `compliance` view and `compliance_at(date)` macro),
-- per-listing timeline, and the alerts ledger.

-- US federal business days 1990-2100: Monday-Friday minus federal holidays, with the observed rule
-- (a holiday on Saturday is observed on Friday, on Sunday on Monday; New Year's Day on a Saturday is observed
-- on 31 December of the year before). business_index = business days on or before `day`, so the business
-- days after A up to and including B are index(B) - index(A). Checked against the `holidays` package in tests.
CREATE TABLE IF NOT EXISTS business_calendar AS
WITH years AS (
    SELECT CAST(y AS INTEGER) AS y FROM range(1989, 2102) t(y)
),
fixed AS (
    SELECT make_date(y, 1, 1) AS day, 'New Year''s Day' AS name FROM years
    UNION ALL SELECT make_date(y, 6, 19), 'Juneteenth National Independence Day' FROM years WHERE y >= 2021
    UNION ALL SELECT make_date(y, 7, 4), 'Independence Day' FROM years
    UNION ALL SELECT make_date(y, 11, 11), 'Veterans Day' FROM years
    UNION ALL SELECT make_date(y, 12, 25), 'Christmas Day' FROM years
),
observed AS (
    SELECT day, name FROM fixed
    UNION ALL
    SELECT CASE dayofweek(day) WHEN 6 THEN day - 1 ELSE day + 1 END, name || ' (observed)'
    FROM fixed WHERE dayofweek(day) IN (0, 6)
),
nth AS (  -- (month, weekday 0=Sunday, n; n = -1 for the last one)
    SELECT * FROM (VALUES
        (1, 1, 3, 'Martin Luther King Jr. Day'), (2, 1, 3, 'Washington''s Birthday'), (5, 1, -1, 'Memorial Day'),
        (9, 1, 1, 'Labor Day'), (10, 1, 2, 'Columbus Day'), (11, 4, 4, 'Thanksgiving Day')
    ) v(m, wd, n, name)
),
floating AS (
    SELECT CASE WHEN n > 0
                THEN make_date(y, m, 1) + CAST((wd - dayofweek(make_date(y, m, 1)) + 7) % 7 + 7 * (n - 1) AS INTEGER)
                ELSE last_day(make_date(y, m, 1)) - CAST((dayofweek(last_day(make_date(y, m, 1))) - wd + 7) % 7 AS INTEGER)
           END AS day, name
    FROM years, nth
    WHERE name <> 'Martin Luther King Jr. Day' OR y >= 1986
),
holiday AS (
    SELECT day, string_agg(name, '; ' ORDER BY name) AS name
    FROM (SELECT * FROM observed UNION ALL SELECT * FROM floating)
    GROUP BY day
),
days AS (
    SELECT CAST(d AS DATE) AS day FROM range(DATE '1990-01-01', DATE '2101-01-01', INTERVAL 1 DAY) t(d)
)
SELECT days.day,
       dayofweek(days.day) BETWEEN 1 AND 5 AND holiday.day IS NULL AS is_business_day,
       holiday.name AS holiday,
       CAST(sum(CASE WHEN dayofweek(days.day) BETWEEN 1 AND 5 AND holiday.day IS NULL THEN 1 ELSE 0 END)
            OVER (ORDER BY days.day) AS INTEGER) AS business_index
FROM days LEFT JOIN holiday ON holiday.day = days.day
ORDER BY days.day;

-- One row per alert attempt (finding × destination × run). A finding counts as delivered to a destination
-- once it has a row with status = 'sent'; 'failed' rows are retried on the next run.
CREATE TABLE IF NOT EXISTS alerts_sent (
    finding_id   VARCHAR NOT NULL,
    destination  VARCHAR NOT NULL,    -- webhook:<host>#<sha256(url)[:12]> | email:<address>  (never the secret URL)
    run_id       VARCHAR,
    sent_at      TIMESTAMP,
    status       VARCHAR NOT NULL,    -- sent | failed
    error        VARCHAR
);

-- Per destination: the as-of date through which new findings have been considered, so findings first seen by
-- a run without alerts (a manual `ghostcheck reconcile` between audits, an audit that stopped early) still go out.
CREATE TABLE IF NOT EXISTS alerts_cursor (
    destination      VARCHAR NOT NULL,
    checked_through  DATE NOT NULL,
    updated_at       TIMESTAMP
);

-- Compliance figures as of a date d: per insurer (finding_type = 'all') and per insurer × finding type.
--   listings / listings_updated_90d / share_updated_90d: the insurer's audited listings from its latest crawl
--     fetched on or before d, and those whose own last_updated is within 90 days of d (No Surprises Act §116
--     verification cycle; a listing without a date counts as not updated). Insurer rows only.
--   open_*: findings open as of d (status from finding_history on or before d), by age band, exclusive:
--     0-2 business days after first_seen (inside the 2-business-day correction window), more than 2 business
--     days but at most 90 calendar days, more than 90 calendar days.
--   ttf_*: time to fix, calendar days from first_seen to the resolution for findings resolved as of d.
CREATE OR REPLACE MACRO compliance_at(d) AS TABLE
WITH
latest_crawl AS (
    SELECT insurer, max(run_id) AS run_id FROM directory_listings
    WHERE CAST(fetched_at AS DATE) <= CAST(d AS DATE) GROUP BY insurer
),
crawled AS (  -- one row per listing of that crawl (a listing seen twice keeps its newest date)
    SELECT l.insurer, l.listing_id, max(l.last_updated) AS last_updated
    FROM directory_listings l JOIN latest_crawl USING (insurer, run_id)
    WHERE coalesce(l.role, 'audited') = 'audited'
    GROUP BY l.insurer, l.listing_id
),
fresh AS (
    SELECT insurer, count(*) AS listings,
           count(*) FILTER (WHERE date_diff('day', CAST(last_updated AS DATE), CAST(d AS DATE)) <= 90)
               AS listings_updated_90d,
           count(*) FILTER (WHERE last_updated IS NULL) AS listings_without_date
    FROM crawled GROUP BY insurer
),
hist AS (
    SELECT finding_id,
           arg_max(status, seen_at) AS status,
           max(seen_at) FILTER (WHERE status = 'resolved') AS resolved_on
    FROM finding_history WHERE seen_at <= CAST(d AS DATE) GROUP BY finding_id
),
state AS (
    SELECT f.finding_id, f.insurer, f.finding_type, CAST(f.first_seen AS DATE) AS first_seen,
           CASE WHEN h.finding_id IS NULL THEN f.status
                WHEN h.status IN ('resolved', 'dismissed') THEN h.status
                ELSE 'open' END AS status_at,
           CASE WHEN h.finding_id IS NULL THEN CAST(f.resolved_at AS DATE) ELSE h.resolved_on END AS resolved_on
    FROM finding_state f LEFT JOIN hist h USING (finding_id)
    WHERE f.first_seen IS NOT NULL AND CAST(f.first_seen AS DATE) <= CAST(d AS DATE)
),
aged AS (
    SELECT s.*,
           CASE WHEN s.status_at = 'open' THEN date_diff('day', s.first_seen, CAST(d AS DATE)) END AS age_days,
           CASE WHEN s.status_at = 'open' THEN coalesce(today.business_index - seen.business_index,
                                                        date_diff('day', s.first_seen, CAST(d AS DATE))) END AS age_bd,
           CASE WHEN s.status_at = 'resolved' THEN date_diff('day', s.first_seen, s.resolved_on) END AS ttf_days,
           CASE WHEN s.status_at = 'resolved' THEN fixed.business_index - seen.business_index END AS ttf_bd
    FROM state s
    LEFT JOIN business_calendar seen ON seen.day = s.first_seen
    LEFT JOIN business_calendar fixed ON fixed.day = s.resolved_on
    LEFT JOIN business_calendar today ON today.day = CAST(d AS DATE)
),
by_type AS (
    SELECT insurer, coalesce(finding_type, 'all') AS finding_type,
           count(*) FILTER (WHERE status_at = 'open') AS open_findings,
           count(*) FILTER (WHERE age_bd <= 2) AS open_0_2_business_days,
           count(*) FILTER (WHERE age_bd > 2 AND age_days <= 90) AS open_le_90_days,
           count(*) FILTER (WHERE age_days > 90) AS open_gt_90_days,
           quantile_cont(age_days, 0.5) AS open_age_median_days,
           max(age_days) AS open_age_max_days,
           min(first_seen) FILTER (WHERE status_at = 'open') AS oldest_open_first_seen,
           count(*) FILTER (WHERE status_at = 'resolved') AS resolved_findings,
           count(*) FILTER (WHERE ttf_bd <= 2) AS resolved_within_2_business_days,
           quantile_cont(ttf_days, 0.5) AS ttf_median_days,
           quantile_cont(ttf_days, 0.9) AS ttf_p90_days,
           count(*) FILTER (WHERE status_at = 'dismissed') AS dismissed_findings
    FROM aged
    GROUP BY GROUPING SETS ((insurer), (insurer, finding_type))
)
SELECT CAST(d AS DATE) AS as_of,
       coalesce(b.insurer, f.insurer) AS insurer,
       coalesce(b.finding_type, 'all') AS finding_type,
       CASE WHEN coalesce(b.finding_type, 'all') = 'all' THEN coalesce(f.listings, 0) END AS listings,
       CASE WHEN coalesce(b.finding_type, 'all') = 'all' THEN coalesce(f.listings_updated_90d, 0) END
           AS listings_updated_90d,
       CASE WHEN coalesce(b.finding_type, 'all') = 'all' AND f.listings > 0
            THEN f.listings_updated_90d / f.listings END AS share_updated_90d,
       CASE WHEN coalesce(b.finding_type, 'all') = 'all' THEN coalesce(f.listings_without_date, 0) END
           AS listings_without_date,
       coalesce(b.open_findings, 0) AS open_findings,
       coalesce(b.open_0_2_business_days, 0) AS open_0_2_business_days,
       coalesce(b.open_le_90_days, 0) AS open_le_90_days,
       coalesce(b.open_gt_90_days, 0) AS open_gt_90_days,
       b.open_age_median_days, b.open_age_max_days, b.oldest_open_first_seen,
       coalesce(b.resolved_findings, 0) AS resolved_findings,
       coalesce(b.resolved_within_2_business_days, 0) AS resolved_within_2_business_days,
       b.ttf_median_days, b.ttf_p90_days,
       coalesce(b.dismissed_findings, 0) AS dismissed_findings
FROM by_type b
FULL OUTER JOIN fresh f ON f.insurer = b.insurer AND b.finding_type = 'all'
WHERE b.insurer IS NOT NULL OR f.insurer IS NOT NULL
ORDER BY insurer, CASE WHEN coalesce(b.finding_type, 'all') = 'all' THEN 0 ELSE 1 END, finding_type;

-- The compliance figures as of the latest run that did not fail (today for an empty warehouse).
CREATE OR REPLACE VIEW compliance AS
SELECT * FROM compliance_at((SELECT coalesce(max(as_of), current_date) FROM runs
                             WHERE status IS DISTINCT FROM 'failed'));

-- listing_history with what changed since the listing's previous stored row for the field:
-- first | directory | evidence | both | none (evidence source or verdict only). Read by `ghostcheck history`.
CREATE OR REPLACE VIEW listing_timeline AS
WITH ordered AS (
    SELECT h.*,
           lag(h.directory_value) OVER w AS prev_directory_value,
           lag(h.observed_value) OVER w AS prev_observed_value,
           row_number() OVER w AS nth
    FROM listing_history h
    WINDOW w AS (PARTITION BY h.listing_id, h.field ORDER BY h.as_of, h.run_id)
)
SELECT run_id, as_of, listing_id, insurer, field, directory_value, observed_value, agrees, evidence_source,
       observation_id, observed_at,
       CASE WHEN nth = 1 THEN 'first'
            WHEN directory_value IS DISTINCT FROM prev_directory_value
             AND observed_value IS DISTINCT FROM prev_observed_value THEN 'both'
            WHEN directory_value IS DISTINCT FROM prev_directory_value THEN 'directory'
            WHEN observed_value IS DISTINCT FROM prev_observed_value THEN 'evidence'
            ELSE 'none' END AS changed
FROM ordered;
