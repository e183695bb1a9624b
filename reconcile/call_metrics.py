"""Per-insurer metrics from practice reports (calls) linked to that insurer's listings, in the `metrics` shape.

A report is linked to a listing by the listing id a call list carries, else by NPI plus the same location (the
dialled number's last 10 digits, or house number + ZIP5), else by NPI alone when the report names no location.
Each (insurer, report) pair counts once. Metrics, each per insurer with `plan` NULL:

* share_reachable (field phone): calls where the office was reached / calls with a known reachable.
* share_accepting_as_listed (field accepting_status): among reached calls to listings that say the provider takes
  new patients (accepting/limited) and where the office gave a status, the share where it said so too.
* share_fully_accurate (field all): calls where the office was reached at the listed number and location, the
  provider practises there, the insurer's plan is not refused and the accepting status does not contradict the
  listing (unknown answers do not count against the listing) / all calls with a known reachable.
* median_days_to_appointment (field first_appointment): median days from the call to the first appointment offered;
  numerator NULL, denominator = calls with an offer, interval = distribution-free binomial order-statistic CI.

Shares carry Wilson 95 % intervals (reconcile.stats.wilson_interval).
"""

from __future__ import annotations

import datetime as dt
import math
from statistics import NormalDist

import duckdb
import pyarrow as pa

from reconcile.stats import wilson_interval

__all__ = ["call_metrics", "METRICS_SCHEMA", "median_interval", "REPORT_SOURCES"]

REPORT_SOURCES = ("attestation", "phone_survey", "secret_shopper")

METRICS_SCHEMA = pa.schema([
    ("insurer", pa.string()), ("plan", pa.string()), ("metric", pa.string()), ("field", pa.string()),
    ("numerator", pa.int64()), ("denominator", pa.int64()), ("value", pa.float64()),
    ("ci_low", pa.float64()), ("ci_high", pa.float64()), ("method", pa.string()),
])

def phone10(column: str) -> str:
    """SQL: the last 10 digits of a phone column, extensions (';ext=12', 'x12', 'ext. 12') dropped; NULL if none."""
    return (f"nullif(right(regexp_replace(regexp_replace(coalesce({column}, ''), "
            f"'(;ext=|\\s*(?:x|ext\\.?|extension)\\s*)\\d+\\s*$', '', 'i'), '[^0-9]', '', 'g'), 10), '')")


_LINKED_SQL = f"""
WITH reports AS (
    SELECT o.observation_id, o.npi, o.reachable, o.call_outcome, o.accepting_status,
           list_transform(coalesce(o.insurers_accepted, []), x -> lower(trim(x))) AS accepted,
           list_transform(coalesce(o.insurers_not_accepted, []), x -> lower(trim(x))) AS refused,
           TRY_CAST(o.first_appointment AS DATE) AS first_appointment,
           CAST(o.observed_at AS DATE) AS called_on,
           o.raw ->> 'listing_id' AS listing_id,
           TRY_CAST(o.raw ->> 'correct_location' AS BOOLEAN) AS correct_location,
           TRY_CAST(o.raw ->> 'provider_at_location' AS BOOLEAN) AS provider_at_location,
           TRY_CAST(o.raw ->> 'accepts_plan' AS BOOLEAN) AS accepts_plan,
           lower(o.raw ->> 'insurer') AS insurer_named,
           {phone10('o.phone')} AS phone10,
           nullif(regexp_extract(coalesce(o.address, ''), '^\\s*(\\d+)', 1) || '|' || left(coalesce(o.zip, ''), 5), '|')
               AS place
    FROM observations o
    WHERE o.source IN ('attestation', 'phone_survey', 'secret_shopper') AND CAST(o.observed_at AS DATE) <= ?
),
l AS (
    SELECT listing_id, insurer, npi, accepting_status AS listed_status,
           {phone10('phone')} AS phone10,
           nullif(regexp_extract(coalesce(address, ''), '^\\s*(\\d+)', 1) || '|' || left(coalesce(zip, ''), 5), '|')
               AS place
    FROM listings
    WHERE coalesce(role, 'audited') = 'audited'  -- only listings a report can link to get their keys computed
      AND (npi IN (SELECT npi FROM reports) OR listing_id IN (SELECT listing_id FROM reports))
),
pairs AS (
    SELECT r.observation_id, l.insurer, l.listing_id, l.listed_status
    FROM reports r JOIN l ON r.listing_id = l.listing_id
    UNION ALL  -- a pair found both ways counts once all the same: `one` keeps one listing per (report, insurer)
    SELECT r.observation_id, l.insurer, l.listing_id, l.listed_status
    FROM reports r JOIN l ON r.npi = l.npi
    WHERE (r.listing_id IS NULL
           OR r.listing_id NOT IN (SELECT listing_id FROM listings WHERE coalesce(role, 'audited') = 'audited'))
      AND (r.phone10 = l.phone10 OR r.place = l.place OR (r.phone10 IS NULL AND r.place IS NULL))
),
one AS (  -- one listing per (insurer, report)
    SELECT observation_id, insurer, arg_min(listed_status, listing_id) AS listed_status
    FROM pairs GROUP BY observation_id, insurer
)
SELECT one.insurer, one.listed_status, r.*
FROM one JOIN reports r USING (observation_id)
"""

_METRICS_SQL = f"""
WITH linked AS ({_LINKED_SQL}),
judged AS (
    SELECT insurer, reachable, first_appointment, called_on,
           listed_status IN ('accepting', 'limited') AS listed_takes,
           CASE WHEN accepting_status IN ('accepting', 'limited') THEN true
                WHEN accepting_status IN ('not_accepting', 'existing_only', 'waitlist') THEN false END AS says_takes,
           CASE WHEN listed_status IN ('accepting', 'limited') THEN true
                WHEN listed_status IN ('not_accepting', 'existing_only', 'waitlist') THEN false END AS listed_coarse,
           (NOT list_contains(refused, lower(insurer))
            AND NOT (accepts_plan IS NOT DISTINCT FROM false
                     AND (insurer_named IS NULL OR insurer_named = lower(insurer)))) AS plan_ok,
           (coalesce(call_outcome, 'reached') NOT IN ('wrong_number', 'not_at_location', 'disconnected',
                                                      'no_answer', 'voicemail', 'transferred_unresolved')
            AND correct_location IS DISTINCT FROM false AND provider_at_location IS DISTINCT FROM false) AS place_ok
    FROM linked
)
SELECT insurer,
       count(*) FILTER (WHERE reachable) AS reach_num,
       count(*) FILTER (WHERE reachable IS NOT NULL) AS reach_den,
       count(*) FILTER (WHERE reachable AND listed_takes AND says_takes) AS acc_num,
       count(*) FILTER (WHERE reachable AND listed_takes AND says_takes IS NOT NULL) AS acc_den,
       count(*) FILTER (WHERE reachable AND place_ok AND plan_ok
                        AND (says_takes IS NULL OR listed_coarse IS NULL OR says_takes = listed_coarse)) AS full_num,
       list(greatest(date_diff('day', called_on, first_appointment), 0) ORDER BY 1)
           FILTER (WHERE reachable IS DISTINCT FROM false AND first_appointment IS NOT NULL) AS waits
FROM judged
GROUP BY insurer
ORDER BY insurer
"""


def median_interval(values: list[float], confidence: float = 0.95) -> tuple[float, float, float]:
    """Median and its distribution-free confidence interval from binomial order statistics (normal approximation)."""
    data = sorted(values)
    n = len(data)
    if n == 0:
        return (math.nan, math.nan, math.nan)
    mid = n // 2
    median = float(data[mid]) if n % 2 else (data[mid - 1] + data[mid]) / 2
    z = NormalDist().inv_cdf(1 - (1 - confidence) / 2)
    half = z * math.sqrt(n) / 2
    low = max(0, math.floor(n / 2 - half))  # 0-based order statistics (rank ~ n/2 ± z√n/2)
    high = min(n - 1, math.ceil(n / 2 + half) - 1) if n > 1 else 0
    high = max(high, low)
    return (median, float(data[low]), float(data[high]))


def _share(insurer: str, metric: str, field: str, num: int, den: int) -> dict:
    """One share metric row with its Wilson 95 % interval (value NULL when nothing was measured)."""
    low, high = wilson_interval(num, den)
    return {"insurer": insurer, "plan": None, "metric": metric, "field": field, "numerator": num,
            "denominator": den, "value": (num / den) if den else None, "ci_low": low if den else None,
            "ci_high": high if den else None, "method": "wilson"}


def call_metrics(con: duckdb.DuckDBPyConnection, as_of: dt.date | str) -> pa.Table:
    """Per-insurer call metrics (reachable, accepting as listed, fully accurate, median wait) as of a date."""
    day = dt.date.fromisoformat(as_of) if isinstance(as_of, str) else as_of
    # one statement: the linked reports stream into the per-insurer aggregate (no TEMP copy of them)
    rows = con.execute(_METRICS_SQL, [day]).fetchall()
    out: list[dict] = []
    for insurer, reach_num, reach_den, acc_num, acc_den, full_num, waits in rows:
        out.append(_share(insurer, "share_reachable", "phone", reach_num, reach_den))
        out.append(_share(insurer, "share_accepting_as_listed", "accepting_status", acc_num, acc_den))
        out.append(_share(insurer, "share_fully_accurate", "all", full_num, reach_den))
        waits = list(waits or [])
        median, low, high = median_interval(waits) if waits else (None, None, None)
        out.append({"insurer": insurer, "plan": None, "metric": "median_days_to_appointment",
                    "field": "first_appointment", "numerator": None, "denominator": len(waits), "value": median,
                    "ci_low": low, "ci_high": high, "method": "median_order_statistic"})
    return pa.Table.from_pylist(out, schema=METRICS_SCHEMA)
