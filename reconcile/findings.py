"""Finding rows: the stable finding key and the assembled, filtered findings table of one run."""

from __future__ import annotations

import datetime as dt
import hashlib

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from reconcile.compare import field_findings_sql, stale_findings_sql

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


def cross_findings_sql() -> str:
    """SELECT of cross_directory_conflict findings: same NPI at the same practice, different status/phone/address.

    On the listing whose value the practice's evidence contradicts; when neither listing has practice
    evidence for the field, on each listing of the disagreement. The directory links are compared on their
    keys (integer ids, takes / phone_key / addr_key) and only the chosen conflicts fetch the listings' texts.
    """
    return """
        WITH links AS (  -- each directory link once: what differs between its two listings (keys only)
            SELECT d.left_lid AS x, d.right_lid AS y, d.score, d.method, lx.listing_id AS x_id, ly.listing_id AS y_id,
                   lx.fetched_at AS x_fetched, ly.fetched_at AS y_fetched,
                   lx.role = 'audited' AS x_audited, ly.role = 'audited' AS y_audited,
                   coalesce(lx.takes <> ly.takes, false) AS status_differs,
                   coalesce(lx.phone_key <> ly.phone_key, false) AS phone_differs,
                   coalesce(lx.addr_key <> ly.addr_key, false) AS keys_differ, m.ok AS ok_xy, m2.ok AS ok_yx
            FROM temp_rc_dir_links d JOIN temp_rc_l lx ON lx.lid = d.left_lid JOIN temp_rc_l ly ON ly.lid = d.right_lid
            LEFT JOIN temp_rc_addr_match m ON m.a_key = lx.addr_key AND m.b_key = ly.addr_key
            LEFT JOIN temp_rc_addr_match m2 ON m2.a_key = ly.addr_key AND m2.b_key = lx.addr_key
        ), differing AS (
            SELECT * FROM links WHERE status_differs OR phone_differs OR keys_differ
        ), keyed AS (  -- both directions: the finding goes on listing a, the other directory's listing is b
            SELECT x AS a, y AS b, score, method, x_id AS a_id, y_id AS b_id, y_fetched AS b_fetched, status_differs,
                   phone_differs, keys_differ AND NOT coalesce(ok_xy, ok_yx, false) AS address_differs
            FROM differing WHERE x_audited
            UNION ALL
            SELECT y, x, score, method, y_id, x_id, x_fetched, status_differs,
                   phone_differs, keys_differ AND NOT coalesce(ok_yx, ok_xy, false)
            FROM differing WHERE y_audited
        ), diffs AS (
            SELECT a, b, score, method, a_id, b_id, b_fetched, field
            FROM keyed, unnest([CASE WHEN status_differs THEN 'accepting_status' END,
                                CASE WHEN phone_differs THEN 'phone' END,
                                CASE WHEN address_differs THEN 'address' END]) f(field)
            WHERE field IS NOT NULL
        ), verdicts AS (
            SELECT listing_id, field, contradicts FROM temp_rc_verdict
            WHERE field IN ('accepting_status', 'phone', 'address')
        ), chosen AS (
            SELECT d.* FROM diffs d
            LEFT JOIN verdicts va ON va.listing_id = d.a_id AND va.field = d.field
            LEFT JOIN verdicts vb ON vb.listing_id = d.b_id AND vb.field = d.field
            WHERE (va.contradicts IS NULL AND vb.contradicts IS NULL) OR va.contradicts
               OR (va.contradicts IS NULL AND vb.contradicts = false)
            QUALIFY row_number() OVER (PARTITION BY d.a, d.field ORDER BY d.score DESC, d.b_fetched DESC, d.b_id) = 1
        )
        SELECT 'cross_directory_conflict' AS finding_type, la.insurer, la.listing_id, la.npi,
               la.name_text AS provider_name, la.address_display AS address, c.field,
               CASE c.field WHEN 'accepting_status' THEN la.status WHEN 'phone' THEN la.phone
                            ELSE la.address_display END AS directory_value,
               CASE c.field WHEN 'accepting_status' THEN lb.status WHEN 'phone' THEN lb.phone
                            ELSE lb.address_display END AS observed_value,
               'directory:' || lb.insurer AS evidence_source, lb.source_url AS evidence_url,
               lb.insurer || ' lists ' || c.field || ': ' || (CASE c.field WHEN 'accepting_status' THEN lb.status
                   WHEN 'phone' THEN lb.phone ELSE lb.address_display END) AS evidence_text,
               c.b_fetched AS observed_at, 'medium' AS severity, round(0.6 * c.score, 4) AS confidence,
               NULL AS evidence_sha256, c.b_id AS observation_id, c.method AS link_method, c.score AS link_score
        FROM chosen c JOIN temp_rc_l la ON la.lid = c.a JOIN temp_rc_l lb ON lb.lid = c.b
    """


def build_findings(con: duckdb.DuckDBPyConnection, as_of: dt.date, stale_days: int, min_confidence: float) -> pa.Table:
    """Every finding of the run (one per finding key, confidence >= min_confidence) as an Arrow table.

    Ordered by finding_id. Read straight into Arrow, sorted by key and then the most confident, newest first, so
    the winner of a key is its first row: no TEMP copy of the wide finding rows, no second pass to pick winners.
    """
    union = " UNION ALL ".join(
        f"SELECT * FROM ({sql})" for sql in (field_findings_sql(), stale_findings_sql(as_of, stale_days),
                                             cross_findings_sql())
    )
    columns = ", ".join(
        f"CAST({c} AS VARCHAR) AS {c}" if c in ("npi", "evidence_sha256", "observation_id", "link_method") else c
        for c in FINDING_COLUMNS
    )
    table = con.execute(
        f"""
        SELECT {columns} FROM (
            SELECT {finding_key_sql()} AS finding_id, * FROM ({union})
            WHERE confidence >= {float(min_confidence)}
        )
        ORDER BY finding_id, confidence DESC NULLS LAST, observed_at DESC NULLS LAST
        """
    ).to_arrow_table()
    return first_per_key(table, "finding_id")


def first_per_key(table: pa.Table, key: str) -> pa.Table:
    """The first row of each run of equal `key` values in a table sorted on key (the table itself when all differ)."""
    if table.num_rows < 2:
        return table
    keys = table.column(key).combine_chunks()
    repeats = pc.equal(keys.slice(1), keys.slice(0, len(keys) - 1))
    if not pc.any(repeats).as_py():
        return table
    return table.filter(pa.concat_arrays([pa.array([True]), pc.invert(repeats)]))
