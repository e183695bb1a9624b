"""Accuracy metrics per insurer and field (Wilson 95% intervals) and the headline ghost rate per insurer."""

from __future__ import annotations

import datetime as dt

import duckdb
import pyarrow as pa

from reconcile.stats import wilson_interval

METRIC_COLUMNS = ("insurer", "plan", "metric", "field", "numerator", "denominator", "value", "ci_low", "ci_high",
                  "method")
METRIC_TYPES = {
    "insurer": pa.string(), "plan": pa.string(), "metric": pa.string(), "field": pa.string(),
    "numerator": pa.int64(), "denominator": pa.int64(), "value": pa.float64(), "ci_low": pa.float64(),
    "ci_high": pa.float64(), "method": pa.string(),
}


def _counts(con: duckdb.DuckDBPyConnection, as_of: dt.date, stale_days: int) -> list[tuple]:
    """(insurer, metric, field, numerator, denominator) rows computed in SQL from the verdicts of the run."""
    return con.execute(
        f"""
        WITH audited AS (SELECT * FROM temp_rc_l WHERE role = 'audited'),
        acc AS (
            SELECT a.insurer, 'accuracy' AS metric, v.field,
                   count(*) FILTER (WHERE NOT v.contradicts) AS num, count(*) AS den
            FROM temp_rc_verdict v JOIN audited a USING (listing_id)
            WHERE v.source <> 'reference'  -- accuracy is measured against what practices say
            GROUP BY ALL
        ), stale AS (
            SELECT insurer, 'accuracy', 'last_updated',
                   count(*) FILTER (WHERE CAST(last_updated AS DATE) >= DATE '{as_of.isoformat()}'
                                    - INTERVAL {int(stale_days)} DAY), count(*)
            FROM audited WHERE last_updated IS NOT NULL GROUP BY ALL
        ), ghost AS (
            SELECT a.insurer, 'ghost_rate', 'accepting_status',
                   count(*) FILTER (WHERE coalesce(s.contradicts, false) OR coalesce(r.contradicts, false)),
                   count(*)
            FROM audited a
            LEFT JOIN temp_rc_verdict s ON s.listing_id = a.listing_id AND s.field = 'accepting_status'
                 AND s.source <> 'directory'
            LEFT JOIN temp_rc_verdict r ON r.listing_id = a.listing_id AND r.field = 'reachable'
            WHERE a.takes AND (s.listing_id IS NOT NULL OR r.listing_id IS NOT NULL)
            GROUP BY ALL
        )
        SELECT * FROM acc UNION ALL SELECT * FROM stale UNION ALL SELECT * FROM ghost
        ORDER BY 1, 2, 3
        """
    ).fetchall()


def compute_metrics(con: duckdb.DuckDBPyConnection, as_of: dt.date, stale_days: int) -> pa.Table:
    """Metric rows (same columns as reconcile.call_metrics) with Wilson 95% intervals on every share."""
    rows = []
    for insurer, metric, field, num, den in _counts(con, as_of, stale_days):
        low, high = wilson_interval(int(num), int(den))
        rows.append((insurer, None, metric, field, int(num), int(den), num / den if den else None, low, high, "wilson"))
    return rows_to_table(rows)


def rows_to_table(rows: list[tuple]) -> pa.Table:
    """Metric tuples in METRIC_COLUMNS order to an Arrow table with fixed types."""
    columns = list(zip(*rows)) if rows else [[] for _ in METRIC_COLUMNS]
    return pa.table({name: pa.array(list(col), type=METRIC_TYPES[name]) for name, col in zip(METRIC_COLUMNS, columns)})


def with_call_metrics(con: duckdb.DuckDBPyConnection, as_of: dt.date, table: pa.Table) -> pa.Table:
    """Append reconcile.call_metrics rows (secret-shopper/call metrics) when that module is installed."""
    try:
        from reconcile.call_metrics import call_metrics
    except ImportError:
        return table
    extra = call_metrics(con, as_of)
    if extra is None or extra.num_rows == 0:
        return table
    extra = extra.select(list(METRIC_COLUMNS)).cast(table.schema)
    return pa.concat_tables([table, extra])
