"""NPPES dissemination CSV (a reference directory) -> listing landing Parquet, read by DuckDB.

The monthly NPPES file has ~330 columns and ~9M rows; DuckDB reads only the
columns used here. Deactivated NPIs are kept, marked in `raw.deactivated`, so
reconciliation can flag listings that still show them.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import fsspec

from crawlers.bulk.compute import compute_connection
from crawlers.bulk.fhir_bulk import BulkResult, nucc_table
from crawlers.config import DirectoryConfig
from crawlers.landing import slugify, utcnow_iso, write_records

WANTED = {
    "npi": "NPI",
    "entity": "Entity Type Code",
    "org": "Provider Organization Name (Legal Business Name)",
    "last": "Provider Last Name (Legal Name)",
    "first": "Provider First Name",
    "middle": "Provider Middle Name",
    "suffix": "Provider Name Suffix Text",
    "cred": "Provider Credential Text",
    "line1": "Provider First Line Business Practice Location Address",
    "line2": "Provider Second Line Business Practice Location Address",
    "city": "Provider Business Practice Location Address City Name",
    "state": "Provider Business Practice Location Address State Name",
    "zip": "Provider Business Practice Location Address Postal Code",
    "phone": "Provider Business Practice Location Address Telephone Number",
    "taxonomy": "Healthcare Provider Taxonomy Code_1",
    "updated": "Last Update Date",
    "deactivated": "NPI Deactivation Date",
    "reactivated": "NPI Reactivation Date",
}


def _us_date(column: str) -> str:
    """SQL parsing an NPPES MM/DD/YYYY date (or ISO) into an ISO date string."""
    return (f"coalesce(strftime(try_strptime({column}, '%m/%d/%Y'), '%Y-%m-%d'), "
            f"strftime(TRY_CAST({column} AS DATE), '%Y-%m-%d'))")


def nppes_sql(path: str, present: set[str], insurer: str, fetched_at: str) -> str:
    """SELECT producing listing records from an NPPES CSV (absent columns read as NULL)."""
    col = {k: (f'"{v}"' if v in present else "NULL::VARCHAR") for k, v in WANTED.items()}
    esc = insurer.replace("'", "''")
    return f"""
    SELECT left(sha1('{esc}|nppes|' || {col['npi']}), 16) AS listing_id, {col['npi']} AS source_key,
           '{esc}' AS insurer, 'nppes' AS directory_kind, {col['npi']} AS npi,
           CASE WHEN {col['entity']} = '2' THEN {col['org']}
                ELSE trim(concat_ws(' ', {col['first']}, {col['middle']}, {col['last']}, {col['suffix']}))
                     || CASE WHEN {col['cred']} IS NOT NULL THEN ', ' || {col['cred']} ELSE '' END END AS provider_name,
           {col['first']} AS first_name, {col['middle']} AS middle_name, {col['last']} AS last_name,
           {col['cred']} AS credentials,
           CASE WHEN {col['entity']} = '2' THEN {col['org']} END AS practice_name,
           trim(concat_ws(' ', {col['line1']}, {col['line2']})) AS address,
           {col['city']} AS city, {col['state']} AS state, {col['zip']} AS zip, {col['phone']} AS phone,
           n.display AS specialty, {col['taxonomy']} AS specialty_code,
           'unknown' AS accepting_status, NULL AS accepting_raw, []::VARCHAR[] AS networks, NULL::JSON AS plans,
           NULL AS website, {_us_date(col['updated'])} AS last_updated,
           '{path.replace("'", "''")}' AS source_url, '{fetched_at}' AS fetched_at, NULL AS payload_sha256,
           json_object('deactivated', {col['deactivated']} IS NOT NULL
                          AND ({col['reactivated']} IS NULL
                               OR try_strptime({col['reactivated']}, '%m/%d/%Y') < try_strptime({col['deactivated']}, '%m/%d/%Y')),
                       'deactivation_date', {_us_date(col['deactivated'])}) AS raw
    FROM read_csv(?, header=true, all_varchar=true, ignore_errors=true) src
    LEFT JOIN nucc n ON n.code = {col['taxonomy']}
    WHERE {col['npi']} IS NOT NULL
    """


def nppes_to_landing(directory: DirectoryConfig, landing_root: str, run_id: str) -> BulkResult:
    """Ingest an NPPES CSV into a listings landing Parquet file (reference role by default)."""
    started, started_at = time.perf_counter(), utcnow_iso()
    source = directory.url
    if not Path(source).exists():
        raise FileNotFoundError(source)
    result = BulkResult()
    with tempfile.TemporaryDirectory(prefix="gc-nppes-") as tmp:
        con = compute_connection(tmp, keep_order=True)
        nucc_table(con)
        present = {r[0] for r in con.execute("DESCRIBE SELECT * FROM read_csv(?, header=true, all_varchar=true)", [source]).fetchall()}
        if WANTED["npi"] not in present:
            raise ValueError(f"{source}: not an NPPES file (no NPI column)")
        local_out = f"{tmp}/listings.parquet"
        role = directory.role.replace("'", "''")
        con.execute(
            f"COPY (SELECT *, '{role}' AS role FROM ({nppes_sql(source, present, directory.insurer, utcnow_iso())})) "
            f"TO '{local_out}' (FORMAT parquet)",
            [source],
        )
        result.listings = int(con.execute(f"SELECT count(*) FROM read_parquet('{local_out}')").fetchone()[0])
        con.close()
        target = f"{landing_root.rstrip('/')}/listings/{slugify(directory.insurer)}/{run_id}.parquet"
        fs, fs_path = fsspec.core.url_to_fs(target)
        fs.makedirs(fs_path.rsplit("/", 1)[0], exist_ok=True)
        fs.put_file(local_out, fs_path + ".tmp")
        fs.mv(fs_path + ".tmp", fs_path)
        result.landing_files.append(target)
    result.seconds = time.perf_counter() - started
    result.landing_files.append(write_records(landing_root, "sources", directory.insurer, run_id, [{
        "source": directory.insurer, "kind": "nppes", "status": "ok", "reason": None, "items": result.listings,
        "pages": 1, "started_at": started_at, "finished_at": utcnow_iso()}]))
    return result
