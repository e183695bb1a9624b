"""Reference directories (NPPES, the CMS National Provider Directory): lower-precedence evidence and NPI findings.

A `[[directory]] role = "reference"` directory is not audited. Its listings (rows of temp_rc_l with role =
'reference') are linked to the audited listings by exact valid NPI and used three ways:

* evidence for `phone` / `address` / `provider` (-> provider_not_at_location) at tier 3, below practice reports
  (tier 1) and websites (tier 2): a reference row at the listing's address gives the phone, one on the listing's
  phone gives the address, and when every located reference row of the NPI is elsewhere the provider is placed
  elsewhere (lower strength: references keep one or a few locations per NPI);
* where practice evidence decides a field, the reference only moves its confidence: agreeing (same verdict)
  closes half the gap to 1, disagreeing multiplies the strength by 0.8;
* `invalid_npi` findings (only in runs that have a reference directory, whose source_url is the evidence): an
  audited listing whose NPI fails the check digit, or that a reference marks deactivated (NPPES
  `raw.deactivated` / `raw.deactivation_date`).

Reference rows never get findings, never count in metrics and are never "another insurer" (link.link_directories
pairs audited listings only). Everything here reads TEMP tables of the run and the `listings` view, and writes
TEMP tables only.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

from reconcile.batch import Prepared, register_table
from reconcile.findings import FINDING_COLUMNS, finding_key_sql
from reconcile.link import address_matches
from reconcile.normalize.npi import clean_npi
from reconcile.temp import drop_temp

TIER_REFERENCE = 3
STRENGTH_SAME_PRACTICE = 0.6  # the reference's phone at the listed address / address on the listed phone
STRENGTH_ELSEWHERE = 0.55  # every reference location of the NPI is elsewhere (references lag moves)
AGREE_GAIN = 0.5  # an agreeing reference closes this share of the gap between the strength and 1
DISAGREE_FACTOR = 0.8  # a disagreeing reference scales the practice evidence's strength by this
CONFIDENCE_CHECK_DIGIT = 1.0  # arithmetic, not an opinion
CONFIDENCE_DEACTIVATED = 0.95
REFERENCE_LINK_COLUMNS = ("left_id", "right_id", "score", "method", "level", "kind")


def _raw_source_sql(con: duckdb.DuckDBPyConnection) -> str | None:
    """SQL giving (listing_id, raw) of the reference listings: the view's raw column, else the base table's."""
    view_cols = {r[0] for r in con.execute("DESCRIBE SELECT * FROM listings").fetchall()}
    if "raw" in view_cols:
        return "SELECT listing_id, raw FROM listings WHERE role = 'reference'"
    tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE NOT temporary").fetchall()}
    if "directory_listings" in tables and "run_id" in view_cols:
        return ("SELECT d.listing_id, d.raw FROM directory_listings d JOIN listings v USING (listing_id, run_id) "
                "WHERE v.role = 'reference'")
    return None


def build_reference_table(con: duckdb.DuckDBPyConnection) -> int:
    """TEMP table temp_rc_ref: the run's reference rows with their deactivation flag; returns how many there are."""
    raw_sql = _raw_source_sql(con)
    raw_join = f"LEFT JOIN ({raw_sql}) x ON x.listing_id = l.listing_id" if raw_sql else ""
    raw_col = "x.raw" if raw_sql else "NULL::JSON"
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE temp_rc_ref AS
        SELECT l.listing_id AS ref_id, l.insurer AS ref_name, l.npi_ok, l.phone, l.phone_key, l.addr_key,
               l.address_display, l.source_url, l.fetched_at,
               coalesce(TRY_CAST(json_extract_string({raw_col}, '$.deactivated') AS BOOLEAN), false) AS deactivated,
               json_extract_string({raw_col}, '$.deactivation_date') AS deactivation_date
        FROM temp_rc_l l {raw_join}
        WHERE l.role = 'reference'
        """
    )
    return int(con.execute("SELECT count(*) FROM temp_rc_ref").fetchone()[0])


def link_references(con: duckdb.DuckDBPyConnection, prep: Prepared) -> pa.Table:
    """Pair audited listings with reference rows of the same valid NPI (temp_rc_ref_pairs); return the same-practice links."""
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _temp_rc_ref_cand AS
        SELECT a.listing_id, r.ref_id, a.addr_key AS a_key, r.addr_key AS b_key,
               coalesce(a.phone_key = r.phone_key, false) AS phone_eq,
               (r.addr_key IS NOT NULL OR r.phone_key IS NOT NULL) AS ref_located,
               (a.addr_key IS NOT NULL OR a.phone_key IS NOT NULL) AS listing_located
        FROM temp_rc_l a JOIN temp_rc_ref r ON r.npi_ok = a.npi_ok
        WHERE a.role = 'audited'
        """
    )
    address_matches(con, prep, "SELECT a_key, b_key FROM _temp_rc_ref_cand")
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE temp_rc_ref_pairs AS
        SELECT c.listing_id, c.ref_id, c.phone_eq, c.ref_located, c.listing_located,
               coalesce(c.a_key = c.b_key OR m.ok, false) AS addr_eq
        FROM _temp_rc_ref_cand c LEFT JOIN temp_rc_addr_match m ON m.a_key = c.a_key AND m.b_key = c.b_key
        """
    )
    drop_temp(con, "_temp_rc_ref_cand")
    return con.execute(
        """
        SELECT listing_id AS left_id, ref_id AS right_id,
               CAST(CASE WHEN phone_eq AND addr_eq THEN 1.0 ELSE 0.95 END AS DOUBLE) AS score,
               CASE WHEN phone_eq AND addr_eq THEN 'npi+address+phone' WHEN addr_eq THEN 'npi+address'
                    ELSE 'npi+phone' END AS method, 'reference' AS level, 'reference' AS kind
        FROM temp_rc_ref_pairs WHERE phone_eq OR addr_eq ORDER BY left_id, right_id
        """
    ).to_arrow_table()


def build_reference_evidence(con: duckdb.DuckDBPyConnection) -> None:
    """TEMP table temp_rc_ref_ev: the one reference verdict per (audited listing, field), agreeing evidence first."""
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE temp_rc_ref_ev AS
        WITH p AS (
            SELECT p.*, r.ref_name, r.phone AS ref_phone, r.phone_key AS ref_phone_key, r.addr_key AS ref_addr_key,
                   r.address_display AS ref_address, r.source_url, r.fetched_at,
                   l.phone_key, l.addr_key, l.name_text
            FROM temp_rc_ref_pairs p JOIN temp_rc_ref r USING (ref_id) JOIN temp_rc_l l USING (listing_id)
        ), located AS (
            SELECT listing_id, bool_or(phone_eq OR addr_eq) AS here,
                   string_agg(DISTINCT ref_address, '; ' ORDER BY ref_address) AS elsewhere,
                   min(ref_id) AS any_ref
            FROM p WHERE ref_located AND listing_located GROUP BY listing_id
        ), rows AS (
            SELECT listing_id, 'phone' AS field, NOT phone_eq AS contradicts, ref_phone AS observed_value,
                   {STRENGTH_SAME_PRACTICE} AS strength, ref_id, ref_name,
                   ref_name || ' lists phone ' || ref_phone || ' at ' || ref_address AS evidence_text,
                   CASE WHEN phone_eq THEN 'npi+address+phone' ELSE 'npi+address' END AS link_method,
                   source_url, fetched_at
            FROM p WHERE addr_eq AND ref_phone_key IS NOT NULL AND phone_key IS NOT NULL
            UNION ALL
            SELECT listing_id, 'address', NOT addr_eq, ref_address, {STRENGTH_SAME_PRACTICE}, ref_id, ref_name,
                   ref_name || ' lists address ' || ref_address || ' for phone ' || ref_phone,
                   CASE WHEN addr_eq THEN 'npi+address+phone' ELSE 'npi+phone' END, source_url, fetched_at
            FROM p WHERE phone_eq AND ref_addr_key IS NOT NULL AND addr_key IS NOT NULL
            UNION ALL
            SELECT p.listing_id, 'provider', NOT g.here,
                   CASE WHEN g.here THEN p.name_text ELSE 'elsewhere per ' || p.ref_name || ': ' || g.elsewhere END,
                   CASE WHEN g.here THEN {STRENGTH_SAME_PRACTICE} ELSE {STRENGTH_ELSEWHERE} END, p.ref_id, p.ref_name,
                   CASE WHEN g.here THEN p.ref_name || ' lists this NPI at ' || p.ref_address
                        ELSE p.ref_name || ' lists this NPI only at ' || g.elsewhere END,
                   CASE WHEN p.addr_eq THEN 'npi+address' WHEN p.phone_eq THEN 'npi+phone' ELSE 'npi' END,
                   p.source_url, p.fetched_at
            FROM p JOIN located g USING (listing_id)
            WHERE p.ref_located AND p.listing_located AND (p.phone_eq OR p.addr_eq OR NOT g.here)
        )
        SELECT * FROM rows
        QUALIFY row_number() OVER (PARTITION BY listing_id, field ORDER BY contradicts, fetched_at DESC, ref_id) = 1
        """
    )


def apply_reference(con: duckdb.DuckDBPyConnection, prep: Prepared) -> pa.Table:
    """Fold reference evidence into temp_rc_verdict (after compare.build_evidence); return the reference links.

    Fields already decided by practice evidence keep their verdict and only change strength; fields without
    practice evidence get the reference's verdict (source 'reference', tier 3).
    """
    if build_reference_table(con) == 0:
        con.execute("CREATE OR REPLACE TEMP TABLE temp_rc_ref_pairs (listing_id VARCHAR, ref_id VARCHAR, phone_eq BOOLEAN, "
                    "ref_located BOOLEAN, listing_located BOOLEAN, addr_eq BOOLEAN)")
        return pa.table({c: pa.array([], pa.float64() if c == "score" else pa.string()) for c in REFERENCE_LINK_COLUMNS})
    links = link_references(con, prep)
    build_reference_evidence(con)
    con.execute(
        f"""
        UPDATE temp.temp_rc_verdict SET strength = CASE WHEN e.contradicts = temp_rc_verdict.contradicts
                                             THEN temp_rc_verdict.strength + (1 - temp_rc_verdict.strength) * {AGREE_GAIN}
                                             ELSE temp_rc_verdict.strength * {DISAGREE_FACTOR} END
        FROM temp_rc_ref_ev e WHERE e.listing_id = temp_rc_verdict.listing_id AND e.field = temp_rc_verdict.field
        """
    )
    con.execute(
        f"""
        INSERT INTO temp.temp_rc_verdict BY NAME
        SELECT e.listing_id, e.field, {TIER_REFERENCE} AS tier, 0 AS scope, e.fetched_at AS observed_at,
               e.contradicts, e.observed_value, e.ref_id AS observation_id, e.strength,
               1.0 AS extraction_confidence, 1.0 AS link_score, e.link_method, 'reference' AS source,
               e.source_url AS evidence_url, e.evidence_text, NULL AS evidence_sha256
        FROM temp_rc_ref_ev e
        WHERE NOT EXISTS (SELECT 1 FROM temp_rc_verdict v WHERE v.listing_id = e.listing_id AND v.field = e.field)
        """
    )
    return links


def invalid_npi_reason(npi: str | None) -> str | None:
    """Why a published NPI is invalid ("fails the NPI check digit" / "not a 10-digit NPI"), None if no digits at all."""
    if not npi or not any(ch.isdigit() for ch in str(npi)):
        return None  # "N/A", "pending": a missing NPI, not a wrong one
    return "fails the NPI check digit" if clean_npi(npi) else "not a 10-digit NPI"


def _invalid_npi_table(con: duckdb.DuckDBPyConnection) -> None:
    """TEMP table _temp_rc_bad_npi (npi, reason) over the distinct unlinkable NPIs of audited listings."""
    values = [r[0] for r in con.execute(
        "SELECT DISTINCT npi FROM temp_rc_l WHERE role = 'audited' AND npi_ok IS NULL AND nullif(trim(npi), '') IS NOT NULL"
    ).fetchall()]
    reasons = [invalid_npi_reason(v) for v in values]
    kept = [(v, r) for v, r in zip(values, reasons) if r]
    register_table(con, "_temp_rc_bad_npi", pa.table({"npi": pa.array([v for v, _ in kept], pa.string()),
                                                 "reason": pa.array([r for _, r in kept], pa.string())}))


def _empty_findings() -> pa.Table:
    """A findings table with no rows (with_reference_findings only reads its row count)."""
    return pa.table({c: pa.array([], pa.string()) for c in FINDING_COLUMNS})


def reference_findings(con: duckdb.DuckDBPyConnection, min_confidence: float) -> pa.Table:
    """invalid_npi findings of audited listings (FINDING_COLUMNS), one per listing: bad check digit or deactivated."""
    has_ref = bool(con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE temporary AND table_name = 'temp_rc_ref'").fetchone()[0])
    if not has_ref or not con.execute("SELECT count(*) FROM temp_rc_ref").fetchone()[0]:
        return _empty_findings()  # without a reference directory in the run, NPIs are only used for linking
    _invalid_npi_table(con)
    ref = "temp_rc_ref"
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _temp_rc_ref_findings AS
        WITH first_ref AS (SELECT any_value(source_url ORDER BY ref_name, source_url) AS url FROM {ref}),
        bad AS (
            SELECT l.*, b.reason AS observed_value, f.url AS evidence_url,
                   'NPI ' || l.npi || ' ' || b.reason AS evidence_text, l.fetched_at AS ev_at,
                   {CONFIDENCE_CHECK_DIGIT}::DOUBLE AS confidence, NULL::VARCHAR AS ref_id, 'check_digit' AS link_method
            FROM temp_rc_l l JOIN _temp_rc_bad_npi b ON b.npi = l.npi CROSS JOIN first_ref f
            WHERE l.role = 'audited'
        ), deactivated AS (
            SELECT l.*, 'deactivated ' || coalesce(r.deactivation_date, '(date not given)') || ' per ' || r.ref_name
                       AS observed_value, r.source_url AS evidence_url,
                   r.ref_name || ': NPI ' || l.npi_ok || ' deactivated '
                       || coalesce(r.deactivation_date, '(date not given)') AS evidence_text,
                   r.fetched_at AS ev_at, {CONFIDENCE_DEACTIVATED}::DOUBLE AS confidence, r.ref_id, 'npi' AS link_method
            FROM temp_rc_l l JOIN {ref} r ON r.npi_ok = l.npi_ok AND r.deactivated
            WHERE l.role = 'audited'
            QUALIFY row_number() OVER (PARTITION BY l.listing_id ORDER BY r.deactivation_date DESC NULLS LAST, r.ref_id) = 1
        )
        SELECT 'invalid_npi' AS finding_type, insurer, listing_id, npi, name_text AS provider_name,
               address_display AS address, 'npi' AS field, npi AS directory_value, observed_value,
               'reference' AS evidence_source, evidence_url, evidence_text, ev_at AS observed_at,
               'high' AS severity, confidence, NULL AS evidence_sha256, ref_id AS observation_id, link_method,
               1.0::DOUBLE AS link_score
        FROM (SELECT * FROM bad UNION ALL BY NAME SELECT * FROM deactivated)
        WHERE confidence >= {float(min_confidence)}
        """
    )
    columns = ", ".join(
        f"CAST({c} AS VARCHAR) AS {c}" if c in ("npi", "evidence_sha256", "observation_id", "link_method") else c
        for c in FINDING_COLUMNS if c != "finding_id"
    )
    table = con.execute(
        f"SELECT {finding_key_sql()} AS finding_id, {columns} FROM _temp_rc_ref_findings ORDER BY finding_id"
    ).to_arrow_table()
    drop_temp(con, "_temp_rc_ref_findings", "_temp_rc_bad_npi")
    return table


def with_reference_findings(con: duckdb.DuckDBPyConnection, findings: pa.Table, min_confidence: float) -> pa.Table:
    """The run's findings plus the invalid_npi findings, in finding_id order, with the findings table's schema."""
    extra = reference_findings(con, min_confidence)
    if extra.num_rows == 0:
        return findings
    merged = pa.concat_tables([findings, extra.select(findings.column_names).cast(findings.schema)])
    return merged.sort_by("finding_id")
