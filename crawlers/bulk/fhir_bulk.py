"""FHIR bulk directories (CMS National Provider Directory, Plan Finder files) -> listing landing files.

The NDJSON is read by DuckDB's own reader with column projection (nested
fields kept as JSON and picked apart in SQL) and joined across files; the
listings are written with `COPY ... TO` a landing Parquet file. No Python loop
over resources: a 27M-resource directory streams through one SQL statement.
DuckDB runs in memory here as a compute engine; it never opens the warehouse.
"""

from __future__ import annotations

import gzip
import json
import tempfile
import time
from dataclasses import dataclass, field
from importlib import resources

import duckdb
import fsspec

from crawlers.bulk.sources import BulkFile, BulkSourceError, resolve_files
from crawlers.config import CrawlConfig, DirectoryConfig
from crawlers.landing import slugify, utcnow_iso, write_records

NEWPATIENTS_URLS = (
    "http://hl7.org/fhir/us/davinci-pdex-plan-net/StructureDefinition/newpatients",
    "http://hl7.org/fhir/us/ndh/StructureDefinition/base-ext-newpatients",
)
NETWORK_URL = "http://hl7.org/fhir/us/davinci-pdex-plan-net/StructureDefinition/network-reference"
NPI_SYSTEM = "http://hl7.org/fhir/sid/us-npi"

COLUMNS = {
    "PractitionerRole": {
        "resourceType": "VARCHAR", "id": "VARCHAR", "meta": "JSON", "active": "BOOLEAN", "practitioner": "JSON",
        "organization": "JSON", "location": "JSON", "healthcareService": "JSON", "specialty": "JSON",
        "telecom": "JSON", "extension": "JSON",
    },
    "Practitioner": {"resourceType": "VARCHAR", "id": "VARCHAR", "identifier": "JSON", "name": "JSON", "telecom": "JSON"},
    "Location": {
        "resourceType": "VARCHAR", "id": "VARCHAR", "name": "VARCHAR", "address": "JSON", "telecom": "JSON",
        "extension": "JSON", "managingOrganization": "JSON",
    },
    "Organization": {"resourceType": "VARCHAR", "id": "VARCHAR", "name": "VARCHAR", "telecom": "JSON"},
    "HealthcareService": {"resourceType": "VARCHAR", "id": "VARCHAR", "extension": "JSON", "telecom": "JSON"},
}

MACROS = f"""
CREATE OR REPLACE TEMP MACRO ref_id(ref) AS regexp_extract(ref ->> 'reference', '([^/]+)(/_history/[^/]+)?$', 1);
CREATE OR REPLACE TEMP MACRO tel(t, sys) AS
    list_filter(CAST(coalesce(t, '[]') AS JSON[]), lambda x: (x ->> 'system') = sys)[1] ->> 'value';
CREATE OR REPLACE TEMP MACRO newpt(ext) AS
    list_filter(list_transform(
        list_filter(CAST(coalesce(ext, '[]') AS JSON[]), lambda e: (e ->> 'url') IN {tuple(NEWPATIENTS_URLS)}),
        lambda e: list_filter(CAST(coalesce(e -> 'extension', '[]') AS JSON[]),
                              lambda s: (s ->> 'url') = 'acceptingPatients')[1]
                  -> 'valueCodeableConcept' -> 'coding' -> 0 ->> 'code'),
        lambda c: c IS NOT NULL)[1];
CREATE OR REPLACE TEMP MACRO canon(code) AS CASE code
    WHEN 'newpt' THEN 'accepting' WHEN 'nopt' THEN 'not_accepting'
    WHEN 'existptonly' THEN 'existing_only' WHEN 'existptfam' THEN 'existing_only' ELSE 'unknown' END;
"""


@dataclass
class BulkResult:
    """What one bulk ingest produced."""

    listings: int = 0
    quarantined: int = 0
    files: list[BulkFile] = field(default_factory=list)
    landing_files: list[str] = field(default_factory=list)
    seconds: float = 0.0


def _open_text(path: str):  # type: ignore[no-untyped-def]
    """Open a (possibly gzipped) NDJSON file as text."""
    return gzip.open(path, "rt", encoding="utf-8", errors="replace") if path.endswith(".gz") else open(
        path, encoding="utf-8", errors="replace"
    )


def bad_lines(path: str, limit: int = 10_000) -> list[tuple[int, str, str]]:
    """(line number, error, raw text) of every line that is not a JSON object (only run on a file DuckDB rejected)."""
    found = []
    with _open_text(path) as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except ValueError as exc:
                found.append((number, f"malformed JSON: {exc.msg}", line[:2000]))
            else:
                if not isinstance(value, dict):
                    found.append((number, "line is not a JSON object", line[:2000]))
            if len(found) >= limit:
                break
    return found


def _files_sql(files: list[BulkFile], kind: str) -> str:
    """A SQL list literal of the files holding one resource type."""
    paths = [f.path.replace("'", "''") for f in files if f.resource_type == kind]
    return "[" + ", ".join(f"'{p}'" for p in paths) + "]" if paths else ""


def _register(con: duckdb.DuckDBPyConnection, files: list[BulkFile], ignore_errors: bool) -> None:
    """One TEMP view per resource type over its files (an empty typed view when there are none)."""
    for kind, columns in COLUMNS.items():
        listing = _files_sql(files, kind)
        cols = "{" + ", ".join(f"'{k}': '{v}'" for k, v in columns.items()) + "}"
        if listing:
            con.execute(
                f"CREATE OR REPLACE TEMP VIEW {kind.lower()} AS SELECT * FROM read_json({listing}, "
                f"format='newline_delimited', columns={cols}, ignore_errors={str(ignore_errors).lower()}, "
                f"maximum_object_size=16777216) WHERE resourceType = '{kind}' AND id IS NOT NULL"
            )
        else:
            select = ", ".join(f"NULL::{v} AS \"{k}\"" for k, v in columns.items())
            con.execute(f"CREATE OR REPLACE TEMP VIEW {kind.lower()} AS SELECT {select} WHERE false")


def listings_sql(insurer: str, run_source: str, fetched_at: str, trust_last_updated: bool) -> str:
    """SELECT producing listing records (the landing `listings` shape) from the TEMP views."""
    esc = insurer.replace("'", "''")
    src = run_source.replace("'", "''")
    last_updated = "r.meta ->> 'lastUpdated'" if trust_last_updated else "NULL"
    return f"""
    WITH roles AS (
        SELECT r.*, ref_id(r.practitioner) AS prac_id, ref_id(r.organization) AS org_id,
               ref_id(CAST(coalesce(r.healthcareService, '[]') AS JSON[])[1]) AS hs_id,
               unnest(CASE WHEN json_array_length(coalesce(r.location, '[]')) > 0
                           THEN list_transform(CAST(r.location AS JSON[]), lambda l: ref_id(l))
                           ELSE [NULL::VARCHAR] END) AS loc_id
        FROM practitionerrole r WHERE coalesce(r.active, true)
    )
    SELECT
        left(sha1('{esc}|fhir_bulk|PractitionerRole/' || r.id || '|Location/' || coalesce(r.loc_id, '')), 16) AS listing_id,
        'PractitionerRole/' || r.id || '|Location/' || coalesce(r.loc_id, '') AS source_key,
        '{esc}' AS insurer, 'fhir_bulk' AS directory_kind,
        list_filter(CAST(coalesce(p.identifier, '[]') AS JSON[]), lambda i: (i ->> 'system') = '{NPI_SYSTEM}')[1] ->> 'value' AS npi,
        trim(concat_ws(' ', array_to_string(CAST(p.name -> 0 -> 'given' AS VARCHAR[]), ' '), p.name -> 0 ->> 'family'))
            || CASE WHEN (p.name -> 0 -> 'suffix') IS NOT NULL
                    THEN ', ' || array_to_string(CAST(p.name -> 0 -> 'suffix' AS VARCHAR[]), ', ') ELSE '' END AS provider_name,
        p.name -> 0 -> 'given' ->> 0 AS first_name,
        p.name -> 0 -> 'given' ->> 1 AS middle_name,
        p.name -> 0 ->> 'family' AS last_name,
        o.name AS practice_name,
        array_to_string(CAST(l.address -> 'line' AS VARCHAR[]), ' ') AS address,
        l.address ->> 'city' AS city, l.address ->> 'state' AS state, l.address ->> 'postalCode' AS zip,
        coalesce(tel(r.telecom, 'phone'), tel(l.telecom, 'phone'), tel(p.telecom, 'phone')) AS phone,
        coalesce(r.specialty -> 0 -> 'coding' -> 0 ->> 'display', n.display) AS specialty,
        r.specialty -> 0 -> 'coding' -> 0 ->> 'code' AS specialty_code,
        canon(coalesce(newpt(r.extension), newpt(h.extension), newpt(l.extension))) AS accepting_status,
        coalesce(newpt(r.extension), newpt(h.extension), newpt(l.extension)) AS accepting_raw,
        list_transform(
            list_filter(CAST(coalesce(r.extension, '[]') AS JSON[]), lambda e: (e ->> 'url') = '{NETWORK_URL}'),
            lambda e: coalesce(e -> 'valueReference' ->> 'display', e -> 'valueReference' ->> 'reference')) AS networks,
        NULL::JSON AS plans,
        coalesce(tel(r.telecom, 'url'), tel(l.telecom, 'url'), tel(o.telecom, 'url')) AS website,
        {last_updated} AS last_updated,
        '{src}' AS source_url, '{fetched_at}' AS fetched_at, NULL AS payload_sha256,
        json_object('meta_last_updated', r.meta ->> 'lastUpdated', 'practitioner_role_id', r.id) AS raw
    FROM roles r
    LEFT JOIN practitioner p ON p.id = r.prac_id
    LEFT JOIN location l ON l.id = r.loc_id
    LEFT JOIN organization o ON o.id = coalesce(r.org_id, ref_id(l.managingOrganization))
    LEFT JOIN healthcareservice h ON h.id = r.hs_id
    LEFT JOIN nucc n ON n.code = (r.specialty -> 0 -> 'coding' -> 0 ->> 'code')
    """


def nucc_table(con: duckdb.DuckDBPyConnection) -> None:
    """TEMP table of NUCC taxonomy codes and display names (for specialty display)."""
    path = resources.files("reconcile.data").joinpath("nucc_provider_taxonomy.csv")
    con.execute(
        "CREATE OR REPLACE TEMP TABLE nucc AS SELECT \"Code\" AS code, \"Display Name\" AS display "
        "FROM read_csv(?, header=true, all_varchar=true)",
        [str(path)],
    )


def _quarantine_bad_files(con: duckdb.DuckDBPyConnection, files: list[BulkFile]) -> list[dict]:
    """Find the files DuckDB rejects and list their malformed lines as quarantine records."""
    records = []
    for bulk in files:
        if bulk.resource_type not in COLUMNS:
            continue
        cols = "{" + ", ".join(f"'{k}': '{v}'" for k, v in COLUMNS[bulk.resource_type].items()) + "}"
        try:
            con.execute(f"SELECT count(*) FROM read_json(?, format='newline_delimited', columns={cols})", [bulk.path])
            continue
        except duckdb.Error:
            pass
        for number, error, raw in bad_lines(bulk.path):
            records.append({"source": "fhir_bulk", "file": bulk.origin, "row": number, "error": error,
                            "raw_text": raw, "quarantined_at": utcnow_iso()})
    return records


def bulk_to_landing(directory: DirectoryConfig, crawl: CrawlConfig, landing_root: str, run_id: str,
                    work_dir: str | None = None) -> BulkResult:
    """Ingest one fhir_bulk directory into a listings landing Parquet file (+ quarantine, sources)."""
    started = time.perf_counter()
    started_at = utcnow_iso()
    result = BulkResult()
    with tempfile.TemporaryDirectory(prefix="gc-bulk-", dir=work_dir) as tmp:
        result.files = resolve_files(directory, crawl, tmp)
        con = duckdb.connect()
        con.execute(f"SET temp_directory = '{tmp}/spill'")
        con.execute("SET preserve_insertion_order = false")
        con.execute("SET enable_progress_bar = false")
        con.execute(MACROS)
        nucc_table(con)
        quarantine = []
        trust = directory.trust_last_updated if directory.trust_last_updated is not None else False
        sql = listings_sql(directory.insurer, directory.url, utcnow_iso(), trust)
        target = f"{landing_root.rstrip('/')}/listings/{slugify(directory.insurer)}/{run_id}.parquet"
        fs, fs_path = fsspec.core.url_to_fs(target)
        fs.makedirs(fs_path.rsplit("/", 1)[0], exist_ok=True)
        local_out = f"{tmp}/listings.parquet"
        role = directory.role.replace("'", "''")
        copy = f"COPY (SELECT *, '{role}' AS role FROM ({sql})) TO '{local_out}' (FORMAT parquet)"
        _register(con, result.files, ignore_errors=False)
        try:  # one pass in the normal case; only a file DuckDB rejects is scanned line by line
            con.execute(copy)
        except duckdb.Error:
            quarantine = _quarantine_bad_files(con, result.files)
            _register(con, result.files, ignore_errors=True)
            con.execute(copy)
        result.listings = int(con.execute(f"SELECT count(*) FROM read_parquet('{local_out}')").fetchone()[0])
        con.close()
        fs.put_file(local_out, fs_path + ".tmp")
        fs.mv(fs_path + ".tmp", fs_path)
        result.landing_files.append(target)
        if quarantine:
            result.landing_files.append(write_records(landing_root, "quarantine", directory.insurer, run_id, quarantine))
        result.quarantined = len(quarantine)
    result.seconds = time.perf_counter() - started
    result.landing_files.append(write_records(landing_root, "sources", directory.insurer, run_id, [{
        "source": directory.insurer, "kind": "fhir_bulk", "status": "ok", "reason": None, "items": result.listings,
        "pages": len(result.files), "started_at": started_at, "finished_at": utcnow_iso()}]))
    return result


__all__ = ["BulkResult", "BulkSourceError", "bulk_to_landing", "listings_sql"]
