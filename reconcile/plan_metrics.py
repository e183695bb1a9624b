"""Per-plan accuracy (metric `plan_accuracy`, field `all`, plan = plan_id) with Wilson 95 % intervals, two ways.

A listing belongs to every plan in its `plans` JSON (QHP `plans[].plan_id`, Plan-Net network references), or,
when it has none, to each entry of its `networks` list. Listings in no plan are left out (the insurer-level
rows already count them).

* method `census`: over ALL checked listings of the plan (audited listings with at least one verdict from any
  practice evidence in this run; reference directories such as NPPES do not count, as in reconcile.metrics).
  A listing is accurate when no verdict contradicts it (every checked field agrees).
  This is what ghostcheck saw, not a random sample: listings with a website or report are over-represented.
* method `sample`: over the listings a secret shopper called from a `ghostcheck sample` call list (the report
  row carries the listing_id), judged only on the call, as CMS's accuracy analysis does: accurate when the office
  was reached, the number, location and provider were right, the plan was not refused and the accepting status
  does not contradict the listing (unanswered questions do not count against it). Calls with unknown
  reachability are not counted. Several calls on one listing: the newest one counts.

Numerator = accurate listings, denominator = judged listings, value = share, ci = Wilson 95 %.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pyarrow as pa

from reconcile.metrics import METRIC_COLUMNS, rows_to_table
from reconcile.stats import wilson_interval

__all__ = ["plan_accuracy_rows", "plan_metrics", "with_plan_metrics", "PLAN_OF_LISTING_SQL", "plan_of_listing_sql"]

def plan_of_listing_sql(only: str = "") -> str:
    """SQL: one row per (listing_id, insurer, plan) of the audited listings, optionally only listing ids IN `only`.

    `only` (a SQL subquery of listing ids) lets a caller parse the `plans` JSON of just the listings it joins.
    """
    restrict = f" AND listing_id IN ({only})" if only else ""
    return f"""
    WITH l AS (
        SELECT listing_id, insurer, plans, networks FROM listings WHERE coalesce(role, 'audited') = 'audited'{restrict}
    ), from_plans AS (
        SELECT l.listing_id, l.insurer, nullif(trim(CAST(p.value ->> 'plan_id' AS VARCHAR)), '') AS plan
        FROM l, json_each(CASE WHEN json_valid(CAST(l.plans AS VARCHAR))
                                    AND json_type(CAST(l.plans AS VARCHAR)) = 'ARRAY'
                               THEN CAST(l.plans AS VARCHAR) ELSE '[]' END) p
    ), from_networks AS (
        SELECT l.listing_id, l.insurer, nullif(trim(n.network), '') AS plan
        FROM l, unnest(coalesce(l.networks, []::VARCHAR[])) n(network)
        WHERE l.listing_id NOT IN (SELECT listing_id FROM from_plans WHERE plan IS NOT NULL)
    )
    SELECT DISTINCT listing_id, insurer, plan FROM (SELECT * FROM from_plans UNION ALL SELECT * FROM from_networks)
    WHERE plan IS NOT NULL
"""


# One row per (listing_id, plan) for the audited listings of the `listings` view.
PLAN_OF_LISTING_SQL = plan_of_listing_sql()

# Whether any audited listing names a plan or network at all (else there is no plan to measure).
_ANY_PLAN_SQL = """
    SELECT EXISTS (SELECT 1 FROM listings
                   WHERE coalesce(role, 'audited') = 'audited' AND (plans IS NOT NULL OR networks IS NOT NULL))
"""

_SAMPLE_SQL = """
    WITH calls AS (
        SELECT (o.raw ->> 'listing_id') AS listing_id, o.reachable, lower(o.call_outcome) AS outcome,
               o.accepting_status AS said_status,
               TRY_CAST(o.raw ->> 'correct_location' AS BOOLEAN) AS correct_location,
               TRY_CAST(o.raw ->> 'provider_at_location' AS BOOLEAN) AS provider_at_location,
               TRY_CAST(o.raw ->> 'accepts_plan' AS BOOLEAN) AS accepts_plan
        FROM observations o
        WHERE o.source = 'secret_shopper' AND CAST(o.observed_at AS DATE) <= ?
          AND (o.raw ->> 'listing_id') IS NOT NULL AND o.reachable IS NOT NULL
        QUALIFY row_number() OVER (PARTITION BY (o.raw ->> 'listing_id')
                                   ORDER BY o.observed_at DESC, o.observation_id) = 1
    ), judged AS (
        SELECT c.listing_id,
               c.reachable AND coalesce(c.outcome, 'reached') NOT IN
                   ('wrong_number', 'disconnected', 'not_at_location', 'no_answer', 'voicemail')
               AND coalesce(c.correct_location, true) AND coalesce(c.provider_at_location, true)
               AND coalesce(c.accepts_plan, true)
               AND NOT coalesce(
                   (c.said_status IN ('accepting', 'limited')) <> (l.accepting_status IN ('accepting', 'limited'))
                   AND c.said_status IN ('accepting', 'limited', 'not_accepting', 'existing_only', 'waitlist')
                   AND l.accepting_status IN ('accepting', 'limited', 'not_accepting', 'existing_only', 'waitlist'),
                   false) AS accurate
        FROM calls c JOIN listings l USING (listing_id)
    )
"""


def plan_accuracy_rows(con: duckdb.DuckDBPyConnection, as_of: dt.date) -> list[tuple]:
    """(insurer, plan, method, numerator, denominator) per plan; census reads the run's TEMP temp_rc_verdict/temp_rc_l.

    Directories without plan data (no audited listing has plans or networks) have no plan rows: the verdicts are
    then not aggregated at all.
    """
    if not con.execute(_ANY_PLAN_SQL).fetchone()[0]:
        return []
    census = con.execute(
        f"""
        WITH lp AS ({PLAN_OF_LISTING_SQL}),
        checked AS (
            SELECT v.listing_id, bool_and(NOT v.contradicts) AS accurate
            FROM temp_rc_verdict v JOIN temp_rc_l l USING (listing_id)
            WHERE l.role = 'audited' AND v.source <> 'reference'  -- as reconcile.metrics: practices' word only
            GROUP BY v.listing_id
        )
        SELECT lp.insurer, lp.plan, 'census', count(*) FILTER (WHERE c.accurate), count(*)
        FROM lp JOIN checked c USING (listing_id) GROUP BY ALL ORDER BY 1, 2
        """
    ).fetchall()
    sample = con.execute(
        f"""
        {_SAMPLE_SQL}, lp AS ({plan_of_listing_sql("SELECT listing_id FROM judged")})
        SELECT lp.insurer, lp.plan, 'sample', count(*) FILTER (WHERE j.accurate), count(*)
        FROM lp JOIN judged j USING (listing_id) GROUP BY ALL ORDER BY 1, 2
        """,
        [as_of],
    ).fetchall()
    return list(census) + list(sample)


def plan_metrics(con: duckdb.DuckDBPyConnection, as_of: dt.date) -> pa.Table:
    """plan_accuracy metric rows (METRIC_COLUMNS) with Wilson 95 % intervals, method census or sample."""
    rows = []
    for insurer, plan, method, num, den in plan_accuracy_rows(con, as_of):
        low, high = wilson_interval(int(num), int(den))
        rows.append((insurer, plan, "plan_accuracy", "all", int(num), int(den), num / den if den else None,
                     low, high, method))
    return rows_to_table(rows)


def with_plan_metrics(con: duckdb.DuckDBPyConnection, as_of: dt.date, table: pa.Table) -> pa.Table:
    """Append the plan_accuracy rows to a run's metric table (same columns and types)."""
    extra = plan_metrics(con, as_of)
    if extra.num_rows == 0:
        return table
    return pa.concat_tables([table, extra.select(list(METRIC_COLUMNS)).cast(table.schema)])
