"""Finding rows: the stable finding key and the assembled, filtered findings table of one run."""

from __future__ import annotations

import datetime as dt
import hashlib

import duckdb
import pyarrow as pa

from reconcile.compare import cross_findings_sql, field_findings_sql, stale_findings_sql
from reconcile.temp import drop_temp

# The finding types of DESIGN.md, then the ones reference directories add.
DESIGN_FINDING_TYPES = (
    "accepting_status", "phone", "address", "provider_not_at_location", "insurer_not_accepted",
    "stale_listing", "cross_directory_conflict", "unreachable",
)
FINDING_TYPES = (*DESIGN_FINDING_TYPES, "invalid_npi")

FINDING_COLUMNS = (
    "finding_id", "finding_type", "insurer", "listing_id", "npi", "provider_name", "address", "field",
    "directory_value", "observed_value", "evidence_source", "evidence_url", "evidence_text", "observed_at",
    "severity", "confidence", "evidence_sha256", "observation_id", "link_method", "link_score",
)


def finding_key(insurer: str, listing_id: str, finding_type: str, field: str) -> str:
    """Stable id of a finding across runs: sha1(insurer|listing_id|finding_type|field)[:16]."""
    return hashlib.sha1(f"{insurer}|{listing_id}|{finding_type}|{field}".encode("utf-8")).hexdigest()[:16]


def finding_key_sql(prefix: str = "") -> str:
    """The same key as finding_key, computed in DuckDB SQL over columns (optionally qualified by prefix)."""
    cols = [f"{prefix}{c}" for c in ("insurer", "listing_id", "finding_type", "field")]
    return f"substr(sha1(concat_ws('|', {', '.join(cols)})), 1, 16)"


def build_findings(con: duckdb.DuckDBPyConnection, as_of: dt.date, stale_days: int, min_confidence: float) -> pa.Table:
    """Every finding of the run (one per finding key, confidence >= min_confidence) as an Arrow table."""
    union = " UNION ALL ".join(
        f"SELECT * FROM ({sql})" for sql in (field_findings_sql(), stale_findings_sql(as_of, stale_days),
                                             cross_findings_sql())
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _temp_rc_findings_all AS
        SELECT {finding_key_sql()} AS finding_id, * FROM ({union})
        WHERE confidence >= {float(min_confidence)}
        """
    )
    # One row per finding key (the most confident, then the newest): arg_min of the row id over a narrow
    # aggregate instead of a window over the wide finding rows.
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE temp_rc_findings AS
        SELECT * FROM _temp_rc_findings_all
        WHERE rowid IN (SELECT arg_min(rowid, create_sort_key(confidence, 'DESC NULLS LAST', observed_at, 'DESC NULLS LAST'))
                        FROM _temp_rc_findings_all GROUP BY finding_id)
        """
    )
    drop_temp(con, "_temp_rc_findings_all")
    columns = ", ".join(
        f"CAST({c} AS VARCHAR) AS {c}" if c in ("npi", "evidence_sha256", "observation_id", "link_method") else c
        for c in FINDING_COLUMNS
    )
    table = con.execute(f"SELECT {columns} FROM temp_rc_findings ORDER BY finding_id").to_arrow_table()
    drop_temp(con, "temp_rc_findings")  # the Arrow table is the result: free DuckDB's copy
    return table
