"""FHIR bulk directories (CMS National Provider Directory, Plan Finder files) -> listing landing files.

The NDJSON is read by DuckDB's own reader with the nested fields declared as
STRUCTs (each line is parsed once, only the projected columns are built) and
joined across files; the listings are written with `COPY ... TO` a landing
Parquet file. No Python loop over resources: a 27M-resource directory streams
through one SQL statement. A file whose lines do not fit the declared STRUCTs
(a string where an object is expected, a malformed line) is read with JSON
columns instead and converted field by field with TRY_CAST, so its good values
are kept and one SQL mapping serves both. DuckDB runs in memory here as a
compute engine; it never opens the warehouse.
"""

from __future__ import annotations

import gzip
import json
import datetime as dt
import os
import tempfile
import time
from dataclasses import dataclass, field
from importlib import resources

import duckdb
import fsspec

from crawlers.bulk.compute import compute_connection
from crawlers.bulk.sources import BulkFile, BulkSourceError, resolve_files
from crawlers.config import CrawlConfig, DirectoryConfig
from crawlers.landing import (
    LANDING_PARQUET_WIDE,
    is_local,
    slugify,
    utcnow_iso,
    write_records,
)

NEWPATIENTS_URLS = (
    "http://hl7.org/fhir/us/davinci-pdex-plan-net/StructureDefinition/newpatients",
    "http://hl7.org/fhir/us/ndh/StructureDefinition/base-ext-newpatients",
)
NETWORK_URL = "http://hl7.org/fhir/us/davinci-pdex-plan-net/StructureDefinition/network-reference"
NPI_SYSTEMS = ("http://hl7.org/fhir/sid/us-npi", "urn:oid:2.16.840.1.113883.4.6")  # the NPI's URI and its OID

REF = "STRUCT(reference VARCHAR, display VARCHAR)"
CODEABLE = "STRUCT(coding STRUCT(system VARCHAR, code VARCHAR, display VARCHAR)[], text VARCHAR)"
TELECOM = "STRUCT(system VARCHAR, value VARCHAR, use VARCHAR)[]"
EXTENSIONS = (f"STRUCT(url VARCHAR, valueReference {REF}, "
              f"extension STRUCT(url VARCHAR, valueCodeableConcept {CODEABLE})[])[]")

# The fields the listing mapping reads, with the types every conforming file is parsed into.
COLUMNS = {
    "PractitionerRole": {
        "resourceType": "VARCHAR", "id": "VARCHAR", "meta": "STRUCT(lastUpdated VARCHAR)", "active": "BOOLEAN",
        "practitioner": REF, "organization": REF, "location": f"{REF}[]", "healthcareService": f"{REF}[]",
        "specialty": f"{CODEABLE}[]", "telecom": TELECOM, "extension": EXTENSIONS,
    },
    "Practitioner": {
        "resourceType": "VARCHAR", "id": "VARCHAR", "identifier": "STRUCT(system VARCHAR, value VARCHAR)[]",
        "name": "STRUCT(family VARCHAR, given VARCHAR[], suffix VARCHAR[])[]", "telecom": TELECOM,
    },
    "Location": {
        "resourceType": "VARCHAR", "id": "VARCHAR", "name": "VARCHAR",
        "address": "STRUCT(line VARCHAR[], city VARCHAR, state VARCHAR, postalCode VARCHAR)", "telecom": TELECOM,
        "extension": EXTENSIONS, "managingOrganization": REF,
    },
    "Organization": {"resourceType": "VARCHAR", "id": "VARCHAR", "name": "VARCHAR", "telecom": TELECOM},
    "HealthcareService": {"resourceType": "VARCHAR", "id": "VARCHAR", "extension": EXTENSIONS, "telecom": TELECOM},
}

# ref_id: the last path segment of a reference; the regex (a versioned `/_history/` reference, a trailing slash)
# runs only for the few references that need it: split_part is ~3.5x cheaper and gives the same values
# (tests/test_bulk_refs.py), and a bulk directory has several references per PractitionerRole.
MACROS = f"""
CREATE OR REPLACE TEMP MACRO ref_id(ref) AS CASE WHEN contains(ref, '/_history/') OR ends_with(ref, '/')
    THEN regexp_extract(ref, '([^/]+)(/_history/[^/]+)?$', 1) ELSE split_part(ref, '/', -1) END;
CREATE OR REPLACE TEMP MACRO tel(t, sys) AS list_filter(t, lambda x: x.system = sys)[1].value;
CREATE OR REPLACE TEMP MACRO newpt(ext) AS
    list_filter(list_transform(
        list_filter(ext, lambda e: e.url IN {tuple(NEWPATIENTS_URLS)}),
        lambda e: list_filter(e.extension, lambda s: s.url = 'acceptingPatients')[1].valueCodeableConcept.coding[1].code),
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


def _sql_list(paths: list[str]) -> str:
    """A SQL list literal of file paths."""
    return "[" + ", ".join("'" + p.replace("'", "''") + "'" for p in paths) + "]"


def _columns_literal(columns: dict[str, str], nested_as_json: bool = False) -> str:
    """The `columns={...}` argument of read_json (all but VARCHAR fields as JSON for the fallback reader)."""
    items = [(k, v if v == "VARCHAR" or not nested_as_json else "JSON") for k, v in columns.items()]
    return "{" + ", ".join(f"'{k}': '{v}'" for k, v in items) + "}"


def _lenient(name: str, type_: str) -> str:
    """A JSON column as the fallback casts it: a lone object where a list is declared becomes a one-item list."""
    if type_.endswith("[]"):
        return f"""CASE WHEN json_type("{name}") = 'OBJECT' THEN json_array("{name}") ELSE "{name}" END"""
    return f'"{name}"'


def _read_sql(paths: list[str], kind: str, fallback: bool, columns: dict[str, str]) -> str:
    """SELECT of one resource type's columns from files, typed (fast) or via JSON + TRY_CAST (fallback)."""
    options = "format='newline_delimited', maximum_object_size=16777216"
    if not fallback:
        return (f"SELECT * FROM read_json({_sql_list(paths)}, {options}, columns={_columns_literal(columns)}) "
                f"WHERE resourceType = '{kind}' AND id IS NOT NULL")
    select = ", ".join(f'"{k}"' if v == "VARCHAR" else f'TRY_CAST({_lenient(k, v)} AS {v}) AS "{k}"'
                       for k, v in columns.items())
    return (f"SELECT {select} FROM read_json({_sql_list(paths)}, {options}, ignore_errors=true, "
            f"columns={_columns_literal(columns, nested_as_json=True)}) WHERE resourceType = '{kind}' AND id IS NOT NULL")


def register_views(con: duckdb.DuckDBPyConnection, files: list[BulkFile], fallback: frozenset[str] = frozenset(),
                   schema: dict[str, dict[str, str]] | None = None) -> None:
    """One TEMP view per resource type over its files; files in `fallback` are read through JSON columns."""
    for kind, columns in (schema or COLUMNS).items():
        paths = [f.path for f in files if f.resource_type == kind]
        typed = [p for p in paths if p not in fallback]
        loose = [p for p in paths if p in fallback]
        parts = ([_read_sql(typed, kind, False, columns)] if typed else []) + \
            ([_read_sql(loose, kind, True, columns)] if loose else [])
        if not parts:
            parts = ["SELECT " + ", ".join(f'NULL::{v} AS "{k}"' for k, v in columns.items()) + " WHERE false"]
        con.execute(f"CREATE OR REPLACE TEMP VIEW {kind.lower()} AS " + " UNION ALL ".join(parts))


def listings_sql(insurer: str, run_source: str, fetched_at: str, trust_last_updated: bool) -> str:
    """SELECT producing listing records (the landing `listings` shape) from the TEMP views."""
    esc = insurer.replace("'", "''")
    src = run_source.replace("'", "''")
    last_updated = "meta_last_updated" if trust_last_updated else "NULL"
    return f"""
    WITH roles AS (
        SELECT r.id, r.meta.lastUpdated AS meta_last_updated,
               r.specialty[1].coding[1].code AS specialty_code, r.specialty[1].coding[1].display AS specialty_display,
               tel(r.telecom, 'phone') AS phone, tel(r.telecom, 'url') AS website, newpt(r.extension) AS newpt,
               coalesce(list_transform(list_filter(r.extension, lambda e: e.url = '{NETWORK_URL}'),
                                       lambda e: coalesce(e.valueReference.display, e.valueReference.reference)),
                        []::VARCHAR[]) AS networks,
               ref_id(r.practitioner.reference) AS prac_id, ref_id(r.organization.reference) AS org_id,
               ref_id(r.healthcareService[1].reference) AS hs_id,
               unnest(CASE WHEN len(r.location) > 0 THEN list_transform(r.location, lambda l: ref_id(l.reference))
                           ELSE [NULL::VARCHAR] END) AS loc_id
        FROM practitionerrole r WHERE coalesce(r.active, true)
    ),
    practitioners AS (  -- each resource's values are computed once, before the joins, and only they travel
        SELECT id, list_filter(identifier, lambda i: i.system IN {NPI_SYSTEMS})[1].value AS npi,
               trim(concat_ws(' ', array_to_string(name[1].given, ' '), name[1].family))
                   || CASE WHEN name[1].suffix IS NOT NULL THEN ', ' || array_to_string(name[1].suffix, ', ') ELSE '' END
                   AS provider_name,
               name[1].given[1] AS first_name, name[1].given[2] AS middle_name, name[1].family AS last_name,
               tel(telecom, 'phone') AS phone
        FROM practitioner
    ),
    locations AS (
        SELECT id, array_to_string(address.line, ' ') AS address, address.city AS city, address.state AS state,
               address.postalCode AS zip, tel(telecom, 'phone') AS phone, tel(telecom, 'url') AS website,
               newpt(extension) AS newpt, ref_id(managingOrganization.reference) AS org_id
        FROM location
    ),
    organizations AS (SELECT id, name, tel(telecom, 'url') AS website FROM organization),
    services AS (SELECT id, newpt(extension) AS newpt FROM healthcareservice),
    joined AS (
        SELECT r.*, p.npi, p.provider_name, p.first_name, p.middle_name, p.last_name, o.name AS practice_name,
               l.address, l.city, l.state, l.zip,
               coalesce(r.phone, l.phone, p.phone) AS any_phone,
               coalesce(r.specialty_display, n.display) AS specialty,
               coalesce(r.newpt, h.newpt, l.newpt) AS accepting_raw,
               coalesce(r.website, l.website, o.website) AS any_website
        FROM roles r
        LEFT JOIN practitioners p ON p.id = r.prac_id
        LEFT JOIN locations l ON l.id = r.loc_id
        LEFT JOIN organizations o ON o.id = coalesce(r.org_id, l.org_id)
        LEFT JOIN services h ON h.id = r.hs_id
        LEFT JOIN nucc_names n ON n.code = r.specialty_code  -- a join on the 900 codes: a MAP lookup scans its keys
    )
    SELECT
        left(sha1('{esc}|fhir_bulk|PractitionerRole/' || id || '|Location/' || coalesce(loc_id, '')), 16) AS listing_id,
        'PractitionerRole/' || id || '|Location/' || coalesce(loc_id, '') AS source_key,
        '{esc}' AS insurer, 'fhir_bulk' AS directory_kind, npi, provider_name, first_name, middle_name, last_name,
        practice_name, address, city, state, zip, any_phone AS phone, specialty, specialty_code,
        canon(accepting_raw) AS accepting_status, accepting_raw, networks, NULL::JSON AS plans,
        any_website AS website, {last_updated} AS last_updated,
        '{src}' AS source_url, '{fetched_at}' AS fetched_at, NULL::VARCHAR AS payload_sha256,
        json_object('meta_last_updated', meta_last_updated) AS raw  -- the role's id is in source_key
    FROM joined
    """


def nucc_table(con: duckdb.DuckDBPyConnection) -> None:
    """TEMP tables of NUCC taxonomy codes and display names: `nucc`, `nucc_names` (one row per code), `nucc_display` (one MAP)."""
    path = resources.files("reconcile.data").joinpath("nucc_provider_taxonomy.csv")
    con.execute(
        "CREATE OR REPLACE TEMP TABLE nucc AS SELECT \"Code\" AS code, \"Display Name\" AS display "
        "FROM read_csv(?, header=true, all_varchar=true)",
        [str(path)],
    )
    con.execute("CREATE OR REPLACE TEMP TABLE nucc_names AS "
                "SELECT code, any_value(display) AS display FROM nucc WHERE code IS NOT NULL GROUP BY code")
    con.execute("CREATE OR REPLACE TEMP TABLE nucc_display AS SELECT map_from_entries(list((code, display))) AS m FROM nucc_names")


def rejected_files(con: duckdb.DuckDBPyConnection, files: list[BulkFile],
                   schema: dict[str, dict[str, str]] | None = None) -> frozenset[str]:
    """Paths of the files whose lines do not all parse into the declared STRUCTs (malformed or other shapes)."""
    rejected = set()
    for bulk in files:
        columns = (schema or COLUMNS).get(bulk.resource_type)
        if columns is None:
            continue
        every = ", ".join(f'"{k}"' for k in columns)  # hashing every column makes the reader build all of them
        try:
            con.execute(f"SELECT max(hash({every})) FROM read_json(?, format='newline_delimited', "
                        f"maximum_object_size=16777216, columns={_columns_literal(columns)})", [bulk.path])
        except duckdb.Error:
            rejected.add(bulk.path)
    return frozenset(rejected)


def _quarantine_records(files: list[BulkFile], rejected: frozenset[str]) -> list[dict]:
    """Quarantine records for the malformed lines of the rejected files (with file and line number)."""
    records = []
    for bulk in files:
        if bulk.path not in rejected:
            continue
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
        con = compute_connection(tmp)
        # Every join of the listings query is a LEFT join onto the smaller side (practitioners, locations, ...,
        # the ~900 NUCC codes): keep those as the hash tables. DuckDB's build-side flip otherwise built the NUCC
        # lookup on the 400k-per-million wide role rows (0.9 s per million resources instead of 0.07).
        con.execute("SET disabled_optimizers = 'build_side_probe_side'")
        con.execute(MACROS)
        nucc_table(con)
        quarantine = []
        trust = directory.trust_last_updated if directory.trust_last_updated is not None else False
        sql = listings_sql(directory.insurer, directory.url, utcnow_iso(), trust)
        target = f"{landing_root.rstrip('/')}/listings/{slugify(directory.insurer)}/{run_id}.parquet"
        fs, fs_path = fsspec.core.url_to_fs(target)
        fs.makedirs(fs_path.rsplit("/", 1)[0], exist_ok=True)
        # A local landing folder gets the file written in place (as .tmp, renamed below), not copied afterwards.
        local_out = fs_path + ".tmp" if is_local(fs) else f"{tmp}/listings.parquet"
        role = directory.role.replace("'", "''")
        copy = (f"COPY (SELECT *, '{role}' AS role FROM ({sql})) TO '{local_out.replace(chr(39), chr(39) * 2)}' "
                f"({LANDING_PARQUET_WIDE})")
        register_views(con, result.files)
        try:  # one typed pass in the normal case; only a file DuckDB rejects is probed and read loosely
            written = con.execute(copy).fetchone()
        except duckdb.Error:
            rejected = rejected_files(con, result.files)
            quarantine = _quarantine_records(result.files, rejected)
            register_views(con, result.files, fallback=rejected)
            try:
                written = con.execute(copy).fetchone()
            except duckdb.Error as exc:
                con.close()
                if is_local(fs) and fs.exists(local_out):
                    fs.rm(local_out)  # no half-written .tmp left in the landing folder
                raise BulkSourceError(f"{directory.url}: cannot read the bulk files: {str(exc).splitlines()[0]}") from None
        result.listings = int(written[0]) if written else 0
        con.close()
        if local_out != fs_path + ".tmp":
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


# --- Plan-Net / NDH API pages (the fhir_directory spider spools each page's resources as NDJSON) -------------
# Same reader and STRUCT approach as above, with the fuller semantics of a live directory: official names,
# current telecom only, contained resources, services per location, network names, newpatients with fromNetwork.

API_NUCC_SYSTEMS = ("http://nucc.org/provider-taxonomy", "urn:oid:2.16.840.1.113883.6.101")
NUCC_CODE = "[0-9]{3}[0-9A-Z]{6}X"  # the shape of a NUCC taxonomy code (207Q00000X, 261QP2300X)
SKIPPED_NAME_USES = ("old", "nickname", "anonymous", "maiden")  # HumanName uses never shown as the provider's name
API_TELECOM = "STRUCT(system VARCHAR, value VARCHAR, use VARCHAR, period STRUCT(\"end\" VARCHAR), rank BIGINT)[]"
API_EXTENSIONS = (f"STRUCT(url VARCHAR, valueReference {REF}, extension STRUCT(url VARCHAR, "
                  f"valueCodeableConcept {CODEABLE}, valueBoolean BOOLEAN, valueReference {REF})[])[]")
API_IDENTIFIER = "STRUCT(system VARCHAR, value VARCHAR, type STRUCT(coding STRUCT(system VARCHAR, code VARCHAR)[]))[]"
API_COLUMNS = {
    "PractitionerRole": {
        "resourceType": "VARCHAR", "id": "VARCHAR", "meta": "STRUCT(lastUpdated VARCHAR)", "active": "BOOLEAN",
        "identifier": API_IDENTIFIER, "practitioner": "STRUCT(reference VARCHAR, display VARCHAR, identifier "
        "STRUCT(value VARCHAR))", "organization": REF, "location": f"{REF}[]",
        "healthcareService": f"{REF}[]", "specialty": f"{CODEABLE}[]", "telecom": API_TELECOM,
        "extension": API_EXTENSIONS, "_page": "BIGINT", "_pos": "BIGINT",
    },
    "Practitioner": {
        "resourceType": "VARCHAR", "id": "VARCHAR", "identifier": API_IDENTIFIER, "telecom": API_TELECOM,
        "name": "STRUCT(use VARCHAR, text VARCHAR, family VARCHAR, given VARCHAR[], prefix VARCHAR[], suffix VARCHAR[])[]",
    },
    "Location": {
        "resourceType": "VARCHAR", "id": "VARCHAR", "name": "VARCHAR", "telecom": API_TELECOM, "extension": API_EXTENSIONS,
        "address": "STRUCT(line VARCHAR[], text VARCHAR, city VARCHAR, state VARCHAR, postalCode VARCHAR)",
    },
    "Organization": {"resourceType": "VARCHAR", "id": "VARCHAR", "name": "VARCHAR", "telecom": API_TELECOM,
                     "identifier": API_IDENTIFIER},
    "HealthcareService": {"resourceType": "VARCHAR", "id": "VARCHAR", "telecom": API_TELECOM,
                          "extension": API_EXTENSIONS, "location": f"{REF}[]"},
}
API_PAGES = {"page": "BIGINT", "url": "VARCHAR", "fetched_at": "VARCHAR", "sha256": "VARCHAR"}

API_MACROS = f"""
CREATE OR REPLACE TEMP MACRO clean_any(x) AS nullif(trim(regexp_replace(x, '[\\s\\x{{00a0}}]+', ' ', 'g')), '');
-- most values are already clean (no tab/newline/nbsp, no double or outer space): one match test instead of a rewrite.
-- Macro arguments are expanded at every use, so `x` is bound once through a one-item list_transform.
CREATE OR REPLACE TEMP MACRO clean(x) AS list_transform([x], lambda v: CASE
    WHEN regexp_matches(v, '[\\t\\n\\f\\r\\x{{00a0}}]|  ') OR trim(v) <> v THEN clean_any(v) ELSE nullif(v, '') END)[1];
CREATE OR REPLACE TEMP MACRO rkey_of(s) AS nullif(regexp_extract(s, '(?:^|/)([A-Z][^/]*/[^/]+)/*$', 1), '');
-- the common relative `Type/id` is its own key; other forms (absolute, versioned, with a query) are parsed
CREATE OR REPLACE TEMP MACRO rkey(ref) AS CASE WHEN ref IS NULL OR starts_with(ref, '#') THEN NULL
    WHEN regexp_full_match(ref, '[A-Z][^/?]*/[^/?]+') AND NOT ends_with(ref, '/_history') THEN ref
    ELSE rkey_of(regexp_replace(split_part(ref, '?', 1), '/_history(/.*)?$', '')) END;
CREATE OR REPLACE TEMP MACRO tkey(rid, ref, kind) AS CASE WHEN starts_with(ref, '#') THEN kind || '/' || rid || ref
    ELSE rkey(ref) END;
-- a current contact point of a system: a value, `use` not old, no `period.end` before today (ISO text compares in
-- order; `gc_today()` is set per connection, see api_macros)
CREATE OR REPLACE TEMP MACRO tel_current(x, sys) AS x.system = sys AND coalesce(x.value, '') <> '' AND coalesce(x.use, '') <> 'old'
    AND (coalesce(struct_extract(x.period, 'end'), '') = '' OR struct_extract(x.period, 'end') >= gc_today());
-- the first current one with the lowest `rank` (1 is preferred), else the first current one; ranks are rare, so the
-- common case is one filter
CREATE OR REPLACE TEMP MACRO ctel(t, sys) AS clean(CASE
    WHEN list_bool_or(list_transform(t, lambda y: y.rank IS NOT NULL)) THEN list_transform(
        [list_filter(t, lambda x: tel_current(x, sys))],
        lambda f: coalesce(list_filter(f, lambda x: x.rank = list_min(list_transform(f, lambda y: y.rank)))[1].value,
                           f[1].value))[1]
    ELSE list_filter(t, lambda x: tel_current(x, sys))[1].value END);
-- a system URI however a server spells it (case, https, `www.`, a trailing slash), for comparing with the known ones
CREATE OR REPLACE TEMP MACRO sys_norm(s) AS regexp_replace(rtrim(lower(trim(s)), '/'), '^https?://(www\\.)?', 'http://');
-- the NPI among identifiers: the NPI system (any spelling) or the v2-0203 identifier type `NPI` (the exact system,
-- the usual case, is tested first)
CREATE OR REPLACE TEMP MACRO npi_of(ids) AS clean(list_filter(ids, lambda i: coalesce(i.value, '') <> '' AND CASE
    WHEN i.system IN {NPI_SYSTEMS} THEN true
    ELSE sys_norm(i.system) IN {NPI_SYSTEMS} OR list_contains(list_transform(i.type.coding, lambda c: c.code), 'NPI')
    END)[1].value);
-- a NUCC taxonomy coding: the NUCC system (any spelling), or no system and a taxonomy-shaped code (207Q00000X)
CREATE OR REPLACE TEMP MACRO is_nucc(x) AS coalesce(x.code, '') <> '' AND CASE WHEN x.system IN {API_NUCC_SYSTEMS} THEN true
    WHEN x.system IS NULL THEN regexp_full_match(trim(x.code), '{NUCC_CODE}')
    ELSE sys_norm(x.system) IN {API_NUCC_SYSTEMS} END;
-- the HumanName to show: official, else usual, else the first that is not old, a nickname, anonymous or maiden
-- (a single name, the usual case, is itself)
CREATE OR REPLACE TEMP MACRO best_name(names) AS CASE WHEN len(names) <= 1 THEN names[1]
    ELSE coalesce(list_filter(names, lambda n: n.use = 'official')[1], list_filter(names, lambda n: n.use = 'usual')[1],
                  list_filter(names, lambda n: coalesce(n.use, '') NOT IN {SKIPPED_NAME_USES})[1], names[1]) END;
CREATE OR REPLACE TEMP MACRO np_code(s) AS CASE WHEN s.valueBoolean IS NOT NULL
    THEN CASE WHEN s.valueBoolean THEN 'true' ELSE 'false' END
    ELSE coalesce(clean(list_filter(s.valueCodeableConcept.coding, lambda c: coalesce(c.code, '') <> '')[1].code),
                  clean(s.valueCodeableConcept.text)) END;
-- (the sub-extensions are picked once per extension and bound as `p`, not re-filtered at each use in np_code)
CREATE OR REPLACE TEMP MACRO np_items(ext) AS CASE WHEN ext IS NULL THEN NULL ELSE list_filter(list_transform(
    list_filter(ext, lambda e: e.url IN {tuple(NEWPATIENTS_URLS)}),
    lambda e: list_transform([{{'acc': list_filter(e.extension, lambda s: s.url = 'acceptingPatients')[-1],
                                'net': list_filter(e.extension, lambda s: s.url = 'fromNetwork')[-1].valueReference}}],
        lambda p: {{'code': np_code(p.acc), 'net': coalesce(nullif(p.net.display, ''), nullif(p.net.reference, ''))}})[1]),
    lambda x: x.code IS NOT NULL) END;
CREATE OR REPLACE TEMP MACRO np_raw(items) AS
    nullif(array_to_string(list_transform(items, lambda x: x.code || coalesce(' (fromNetwork ' || x.net || ')', '')), '; '), '');
CREATE OR REPLACE TEMP MACRO np_chosen(items) AS coalesce(list_filter(items, lambda x: x.net IS NULL)[1].code, items[1].code);
CREATE OR REPLACE TEMP MACRO spec_of(n, c) AS {{'code': clean(n.code), 'display': coalesce(clean(n.display), clean(c.text)),
    'other': clean(list_filter(c.coding, lambda x: coalesce(x.display, '') <> '')[1].display)}};
"""


def api_macros(today: dt.date) -> str:
    """API_MACROS plus `gc_today()`, the date contact points' `period.end` is compared with (a constant per crawl)."""
    return f"CREATE OR REPLACE TEMP MACRO gc_today() AS '{today.isoformat()}';\n{API_MACROS}"



def _api_stages() -> dict[str, str]:
    """The per-resource parts of the listing SQL (no joins): each runs over one resource type's rows on its own.

    The crawler runs them chunk by chunk while it pages (`ApiStager`), so at close only the joins are left.
    """
    return {
        "roles": f"""
        SELECT *, tkey(id, loc_ref.reference, 'Location') AS loc_tkey, rkey(loc_ref.reference) AS loc_rkey FROM (
        SELECT r.id, r._page, r._pos, r.meta.lastUpdated AS last_updated, r.active,
               'PractitionerRole/' || r.id AS role_key,
               tkey(r.id, r.practitioner.reference, 'Practitioner') AS prac_key,
               tkey(r.id, r.organization.reference, 'Organization') AS org_key,
               npi_of(r.identifier) AS role_npi, (coalesce(r.practitioner.reference, '') <> '' OR coalesce(r.practitioner.display, '') <> ''
                OR coalesce(r.practitioner.identifier.value, '') <> '') AS has_prac,
               list_filter(list_transform(r.specialty, lambda c: spec_of(list_filter(c.coding, lambda x: is_nucc(x))[1], c)),
                   lambda s: s.code IS NOT NULL OR s.display IS NOT NULL OR s.other IS NOT NULL)[1] AS spec,
               ctel(r.telecom, 'phone') AS phone, ctel(r.telecom, 'url') AS website, np_items(r.extension) AS np,
               len(r.healthcareService) > 0 AS has_services,
               -- the role's service keys and network references, kept on its first location's row (loc_ord = 1)
               CASE WHEN len(r.healthcareService) > 0 THEN list_transform(r.healthcareService,
                   lambda h: tkey(r.id, h.reference, 'HealthcareService')) END AS skeys,
               CASE WHEN len(list_filter(r.extension, lambda e: e.url = '{NETWORK_URL}')) > 0 THEN list_transform(
                   list_filter(r.extension, lambda e: e.url = '{NETWORK_URL}'),
                   lambda e: {{'okey': tkey(r.id, e.valueReference.reference, 'Organization'),
                              'ref_display': clean(e.valueReference.display), 'ref_key': rkey(e.valueReference.reference)}})
                   END AS nets,
               unnest(CASE WHEN len(r.location) > 0 THEN r.location ELSE [NULL] END) AS loc_ref,
               unnest(range(1, greatest(coalesce(len(r.location), 0), 1) + 1)) AS loc_ord
        FROM practitionerrole r)
""",
        "practitioners": """
        SELECT key, npi, phone, website, family, suffix,
               coalesce(clean(hn.text), clean(array_to_string(list_filter(
                   list_concat(coalesce(hn.prefix, []), coalesce(hn.given, []), [coalesce(family, '')]),
                   lambda v: coalesce(v, '') <> ''), ' ') || coalesce(', ' || suffix, ''))) AS display,
               clean(hn.given[1]) AS first_name, clean(array_to_string(hn.given[2:], ' ')) AS middle_name
        FROM (
        SELECT resourceType || '/' || id AS key, hn, npi, phone, website, clean(hn.family) AS family,
               nullif(array_to_string(hn.suffix, ', '), '') AS suffix
        FROM (SELECT *, best_name(name) AS hn, npi_of(identifier) AS npi,
                     ctel(telecom, 'phone') AS phone, ctel(telecom, 'url') AS website FROM practitioner))
""",
        "locations": """
        SELECT resourceType || '/' || id AS key, id, clean(name) AS name,
               coalesce(clean(array_to_string(address.line, ' ')), clean(address.text)) AS address,
               clean(address.city) AS city, clean(address.state) AS state, clean(address.postalCode) AS zip,
               ctel(telecom, 'phone') AS phone, ctel(telecom, 'url') AS website, np_items(extension) AS np
        FROM location
""",
        "organizations": """SELECT resourceType || '/' || id AS key, clean(name) AS name, ctel(telecom, 'url') AS website,
               npi_of(identifier) AS npi FROM organization""",
        "services": """
        SELECT resourceType || '/' || id AS key, ctel(telecom, 'phone') AS phone, np_items(extension) AS np,
               list_transform(location, lambda l: rkey(l.reference)) AS loc_keys, len(coalesce(location, [])) = 0 AS anywhere
        FROM healthcareservice
""",
    }


def api_listings_sql(insurer: str, kind: str = "fhir", staged: str | None = None) -> str:
    """SELECT of listing rows (plus the keys looked up in Python afterwards) from the spooled API resources.

    `staged`: the folder of the per-resource Parquet parts `ApiStager` wrote (`<name>-<chunk>.parquet`), else the views.
    """
    from reconcile.normalize.npi import valid_npi_sql

    esc = insurer.replace("'", "''")
    # a role naming no practitioner lists its organization: the organization's NPI then, when it is a valid one
    org_npi = (f"CASE WHEN NOT has_prac AND regexp_full_match(org_npi, '[0-9]{{10}}') "
               f"THEN CASE WHEN {valid_npi_sql('org_npi')} THEN org_npi END END")
    stages = _api_stages()
    part = ((lambda name: f"SELECT * FROM read_parquet({_sql_text(os.path.join(staged, name + '-*.parquet'))})")
            if staged else stages.__getitem__)
    return f"""
    WITH roles AS ({part("roles")}),
    practitioners AS ({part("practitioners")}),
    locations AS ({part("locations")}),
    organizations AS ({part("organizations")}),
    services AS ({part("services")}),
    listed AS (
        SELECT r.*, l.key AS loc_res, l.name AS location_name, l.address, l.city, l.state, l.zip,
               l.phone AS loc_phone, l.website AS loc_website, l.np AS loc_np,
               coalesce(r.loc_rkey, CASE WHEN l.key IS NOT NULL THEN r.loc_ref.reference END,
                        r.loc_ref.display, '') AS loc_key
        FROM roles r LEFT JOIN locations l ON l.key = r.loc_tkey
    ),
    role_service_keys AS (
        SELECT id, unnest(skeys) AS skey, unnest(range(1, len(skeys) + 1)) AS ord FROM roles WHERE loc_ord = 1 AND len(skeys) > 0
    ),
    role_network_refs AS (
        SELECT id, ord, n.okey AS okey, n.ref_display AS ref_display, n.ref_key AS ref_key
        FROM (SELECT id, unnest(nets) AS n, unnest(range(1, len(nets) + 1)) AS ord FROM roles WHERE loc_ord = 1 AND len(nets) > 0)
    ),
    role_services AS (  -- every resolved HealthcareService of a role, in order
        SELECT u.id, u.ord, s.* FROM role_service_keys u
        JOIN services s ON s.key = u.skey
    ),
    chosen_service AS (  -- the service offered at the location, else one that names no location; for a role with
                         -- no location, one that names no location, else its first
        SELECT x.id, x.loc_key,
               arg_min(struct_pack(phone := s.phone, np := s.np),
                       CASE WHEN list_contains(s.loc_keys, x.loc_key) THEN 0 WHEN s.anywhere THEN 1 ELSE 2 END * 1000000
                       + s.ord) AS svc
        FROM (SELECT DISTINCT id, loc_key, loc_ref IS NULL AS no_loc FROM listed WHERE has_services) x
        JOIN role_services s ON s.id = x.id AND (list_contains(s.loc_keys, x.loc_key) OR s.anywhere OR x.no_loc)
        GROUP BY ALL
    ),
    role_networks AS (
        SELECT id, list(name ORDER BY first) AS networks FROM (
            SELECT n.id, coalesce(o.name, n.ref_display, n.ref_key) AS name, min(n.ord) AS first
            FROM role_network_refs n
            LEFT JOIN organizations o ON o.key = n.okey
            GROUP BY ALL HAVING name IS NOT NULL)
        GROUP BY id
    ),
    assembled AS (
        SELECT x.*, p.display AS prac_display, p.first_name, p.middle_name, p.family, p.suffix, p.npi AS prac_npi, p.phone AS prac_phone, p.website AS prac_website,
               o.name AS org_name, o.website AS org_website, o.npi AS org_npi, cs.svc, rn.networks AS net_names,
               CASE WHEN len(x.np) > 0 THEN x.np WHEN len(cs.svc.np) > 0 THEN cs.svc.np WHEN len(x.loc_np) > 0 THEN x.loc_np END
                   AS np_found,
               coalesce(x.loc_res IS NOT NULL AND x.loc_ref IS NOT NULL, false) AS loc_resolved
        FROM listed x
        LEFT JOIN practitioners p ON p.key = x.prac_key
        LEFT JOIN organizations o ON o.key = x.org_key
        LEFT JOIN chosen_service cs ON cs.id = x.id AND cs.loc_key = x.loc_key
        LEFT JOIN role_networks rn ON rn.id = x.id
    )
    SELECT
        _page, _pos, x.id AS role_id,
        x.role_key || CASE WHEN x.loc_ref IS NOT NULL THEN '|' || x.loc_key ELSE '' END AS source_key,
        '{esc}' AS insurer, '{kind}' AS directory_kind,
        coalesce(prac_npi, role_npi, {org_npi}) AS npi,
        coalesce(prac_display, org_name) AS provider_name, first_name, middle_name,
        family AS last_name, suffix AS credentials, org_name AS practice_name,
        address, city, state, zip,
        coalesce(phone, loc_phone, svc.phone, prac_phone) AS phone,
        spec.display AS specialty_display, spec.other AS specialty_other, spec.code AS specialty_code,
        np_chosen(np_found) AS accepting_code, np_raw(np_found) AS accepting_raw,
        coalesce(net_names, []::VARCHAR[]) AS networks,
        coalesce(website, loc_website, org_website, prac_website) AS website,
        last_updated, location_name, active
    FROM assembled x
    """


def _sql_text(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def _lookup_table(con: duckdb.DuckDBPyConnection, name: str, values: list, mapper,  # type: ignore[no-untyped-def]
                  mapped_type: str = "VARCHAR", work_dir: str | None = None) -> None:
    """TEMP table (value, mapped) of a Python normalizer run once per distinct value (not per row).

    The pairs travel through a small NDJSON file, not a registered Arrow table or bound parameters: either makes
    the duckdb module import pandas (~0.5 CPU s of a crawl).
    """
    import orjson

    select = f"SELECT NULL::VARCHAR AS value, NULL::{mapped_type} AS mapped WHERE false"
    if values:
        path = os.path.join(work_dir or tempfile.gettempdir(), f"{name}.ndjson")
        with open(path, "wb") as fh:
            fh.write(b"".join(orjson.dumps({"value": v, "mapped": mapper(v)}, option=orjson.OPT_APPEND_NEWLINE)
                              for v in values))
        select = (f"SELECT value, CAST(mapped AS {mapped_type}) AS mapped FROM read_json({_sql_text(path)}, "
                  f"format='newline_delimited', columns={{'value': 'VARCHAR', 'mapped': 'VARCHAR'}})")
    con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {select}")


# The joins at close hold hash tables of every resource type (~1M resources: more than the paging cap of 384 MB);
# under that cap they spill to disk and take about twice the wall and CPU time (RESULTS.md, FHIR round 4).
JOIN_MEMORY_LIMIT = "640MB"


@dataclass
class SpoolResult:
    """What the transform of one spooled API crawl produced."""

    listings: int = 0
    landing_file: str | None = None
    invalid_npi: list[dict] = field(default_factory=list)


class ApiStager:
    """Spooled Plan-Net resources -> listings: the per-resource SQL chunk by chunk, then the joins and the landing file.

    With `background=True` the chunks are staged by one worker thread (DuckDB releases the GIL) while the crawler
    keeps paging on the other core, so at close only the joins are left. Each chunk is one transaction: a chunk
    whose resources do not fit the declared STRUCTs is rolled back and re-read with its rejected files loosely.
    """

    def __init__(self, work_dir: str, memory_limit: str = "384MB", background: bool = False,
                 join_memory_limit: str | None = JOIN_MEMORY_LIMIT) -> None:
        """An in-memory DuckDB (capped, spilling under `work_dir`) and the folder of the per-chunk stage Parquet files.

        `join_memory_limit` is the cap for the joins at close (paging is over by then), `None` keeps `memory_limit`.
        """
        from concurrent.futures import Future, ThreadPoolExecutor

        self.work_dir = work_dir
        self.stage_dir = os.path.join(work_dir, "stage")
        self.chunks = 0
        self.join_memory_limit = join_memory_limit
        self.con = compute_connection(work_dir, memory_limit)  # the crawler stays small; DuckDB spills beyond the cap
        self.files: list[BulkFile] = []
        self.rejected: set[str] = set()
        self.pending: list[Future] = []
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="fhir-stage") if background else None
        self.threads = self.con.execute("SELECT current_setting('threads')").fetchone()[0]
        self.con.execute(api_macros(dt.date.today()))
        if background:
            self.con.execute("SET threads = 1")  # while paging, the crawler's own thread needs the other core
        register_views(self.con, [], schema=API_COLUMNS)
        os.makedirs(self.stage_dir, exist_ok=True)
        # chunk 0 is each stage's empty typed part: it fixes the column types every later chunk is cast to
        self.types = {name: self.con.execute(f"DESCRIBE {body}").fetchall() for name, body in _api_stages().items()}
        self._write_chunk(0, _api_stages())

    def add(self, files: list[BulkFile]) -> None:
        """Stage a chunk of closed spool files (in the worker when there is one)."""
        files = [f for f in files if f.resource_type in API_COLUMNS]
        if not files:
            return
        self.files += files
        self.chunks += 1
        if self.pool is not None:
            self.pending.append(self.pool.submit(self._stage, files, self.chunks))
        else:
            self._stage(files, self.chunks)

    def _write_chunk(self, chunk: int, stages: dict[str, str]) -> None:
        """Write one chunk's per-resource rows as Parquet parts cast to the stage types; all parts or none."""
        written = []
        try:
            for name, body in stages.items():
                path = os.path.join(self.stage_dir, f"{name}-{chunk:05d}.parquet")
                columns = ", ".join(f'CAST("{col}" AS {typ}) AS "{col}"' for col, typ, *_ in self.types[name])
                self.con.execute(f"COPY (SELECT {columns} FROM ({body})) TO {_sql_text(path)} (FORMAT parquet)")
                written.append(path)
        except BaseException:
            for path in written:
                os.remove(path)
            raise

    def _stage(self, files: list[BulkFile], chunk: int) -> None:
        """Stage one chunk's per-resource rows (typed; the files DuckDB rejects, loosely)."""
        try:
            register_views(self.con, files, schema=API_COLUMNS)
            self._write_chunk(chunk, _api_stages())
        except duckdb.Error:  # a page whose resources do not fit the STRUCTs: read those files loosely
            fallback = rejected_files(self.con, files, API_COLUMNS)
            register_views(self.con, files, fallback, schema=API_COLUMNS)
            self._write_chunk(chunk, _api_stages())
            self.rejected |= fallback

    def close(self) -> None:
        """Stop the worker and close DuckDB (idempotent)."""
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None
        self.con.close()

    def finish(self, pages_file: str, insurer: str, landing_root: str, run_id: str, kind: str = "fhir") -> SpoolResult:
        """Wait for the staged chunks, join them into listings and write the landing Parquet file."""
        for future in self.pending:
            future.result()  # a chunk that failed twice fails the build, with DuckDB's message
        if self.pool is not None:
            self.pool.shutdown(wait=True)
            self.pool = None
            self.con.execute(f"SET threads = {int(self.threads)}")
        try:
            if self.join_memory_limit:
                self.con.execute(f"SET memory_limit = {_sql_text(self.join_memory_limit)}")
            return self._finish(pages_file, insurer, landing_root, run_id, kind)
        finally:
            self.con.close()

    def _finish(self, pages_file: str, insurer: str, landing_root: str, run_id: str, kind: str) -> SpoolResult:
        """The joins, lookups and the landing file (see `finish`)."""
        from reconcile.normalize.accepting import normalize_accepting
        from reconcile.normalize.npi import is_valid_npi, valid_npi_sql
        from reconcile.normalize.specialty import lookup_specialty

        result = SpoolResult()
        con, work_dir = self.con, self.work_dir
        # views over every file, for the invalid-NPI records' role JSON (read only when some NPI is invalid)
        register_views(con, self.files, frozenset(self.rejected), schema=API_COLUMNS)
        con.execute(f"CREATE TEMP TABLE _rows AS {api_listings_sql(insurer, kind, staged=self.stage_dir)}")
        con.execute(f"CREATE TEMP TABLE _pages AS SELECT * FROM read_json({_sql_text(pages_file)}, "
                    f"format='newline_delimited', columns={_columns_literal(API_PAGES)})")
        distinct = lambda column, where="true": [r[0] for r in con.execute(
            f"SELECT DISTINCT {column} FROM _rows WHERE {column} IS NOT NULL AND {where}").fetchall()]
        # NPIs published as 10 plain digits (nearly all) are checked by DuckDB with is_valid_npi's rule; the rest
        # (separators, labels, other digits) by is_valid_npi itself, once per distinct value.
        plain = "regexp_full_match(npi, '[0-9]{10}')"
        _lookup_table(con, "_npi_odd", distinct("npi", f"NOT {plain}"), is_valid_npi, "BOOLEAN", work_dir)
        con.execute(f"CREATE TEMP TABLE _npi_ok AS SELECT value, {valid_npi_sql('value')} AS mapped "
                    f"FROM (SELECT DISTINCT npi AS value FROM _rows WHERE {plain}) UNION ALL SELECT * FROM _npi_odd")
        _lookup_table(con, "_accepting", distinct("accepting_code"), normalize_accepting, work_dir=work_dir)
        _lookup_table(con, "_specialty", distinct("specialty_code", "specialty_display IS NULL"),
                      lambda code: (lookup_specialty(code).display if lookup_specialty(code) else None), work_dir=work_dir)
        any_bad = con.execute("SELECT count(*) FROM _npi_ok WHERE NOT mapped").fetchone()[0] > 0
        bad = con.execute(  # the role's JSON is read back from the spool only when some NPI is invalid
            "SELECT DISTINCT ON (r.role_id, r._page, r._pos) p.url, r._pos, r.role_id, r.npi, to_json(pr)::VARCHAR "
            "FROM _rows r JOIN _npi_ok n ON n.value = r.npi AND NOT n.mapped JOIN _pages p ON p.page = r._page "
            "LEFT JOIN practitionerrole pr ON pr.id = r.role_id AND pr._page = r._page AND pr._pos = r._pos "
            "ORDER BY r._page, r._pos").fetchall() if any_bad else []
        result.invalid_npi = [{"file": url, "row": pos, "error": f"PractitionerRole/{rid}: invalid NPI {npi!r}",
                               "raw_text": raw[:2000] if raw else None} for url, pos, rid, npi, raw in bad]
        target = f"{landing_root.rstrip('/')}/listings/{slugify(insurer)}/{run_id}.parquet"
        local_out = f"{work_dir}/listings.parquet"
        written = con.execute(f"""COPY (
            SELECT left(sha1('{insurer.replace("'", "''")}|{kind}|' || r.source_key), 16) AS listing_id, r.source_key,
                   r.insurer, r.directory_kind, r.npi, r.provider_name, r.first_name, r.middle_name, r.last_name,
                   r.credentials, r.practice_name, r.address, r.city, r.state, r.zip, r.phone,
                   coalesce(r.specialty_display, CASE WHEN r.specialty_code IS NOT NULL THEN s.mapped END, r.specialty_other)
                       AS specialty,
                   r.specialty_code,
                   coalesce(a.mapped, 'unknown') AS accepting_status, r.accepting_raw, r.networks, '[]'::JSON AS plans,
                   r.website, r.last_updated, p.url AS source_url, p.fetched_at, p.sha256 AS payload_sha256,
                   CASE WHEN r.location_name IS NULL AND r.active IS NULL THEN NULL
                        WHEN r.active IS NULL THEN json_object('location_name', r.location_name)
                        WHEN r.location_name IS NULL THEN json_object('active', r.active)
                        ELSE json_object('location_name', r.location_name, 'active', r.active) END AS raw
            FROM _rows r JOIN _pages p ON p.page = r._page
            LEFT JOIN _accepting a ON a.value = r.accepting_code
            LEFT JOIN _specialty s ON s.value = r.specialty_code
            WHERE r.npi IS NULL OR r.npi NOT IN (SELECT value FROM _npi_ok WHERE NOT mapped)
            ORDER BY r._page, r._pos, r.source_key
        ) TO {_sql_text(local_out)} ({LANDING_PARQUET_WIDE})""").fetchone()
        result.listings = int(written[0]) if written else 0
        fs, fs_path = fsspec.core.url_to_fs(target)
        fs.makedirs(fs_path.rsplit("/", 1)[0], exist_ok=True)
        fs.put_file(local_out, fs_path + ".tmp")
        fs.mv(fs_path + ".tmp", fs_path)
        result.landing_file = target
        return result


def spool_to_landing(files: list[BulkFile], pages_file: str, insurer: str, landing_root: str, run_id: str,
                     work_dir: str, kind: str = "fhir", memory_limit: str = "384MB",
                     join_memory_limit: str | None = JOIN_MEMORY_LIMIT) -> SpoolResult:
    """Listings of spooled Plan-Net pages -> one landing Parquet file; roles with an invalid NPI are returned instead."""
    stager = ApiStager(work_dir, memory_limit, join_memory_limit=join_memory_limit)
    try:
        stager.add(files)
    except BaseException:
        stager.close()
        raise
    return stager.finish(pages_file, insurer, landing_root, run_id, kind)


__all__ = ["ApiStager", "BulkResult", "BulkSourceError", "SpoolResult", "bulk_to_landing", "listings_sql", "register_views",
           "rejected_files", "spool_to_landing"]
