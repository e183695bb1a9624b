"""CMS QHP providers.json (spooled to disk) -> listings landing Parquet in one DuckDB statement.

DuckDB's JSON reader parses the single-array file in parallel; every entry whose
shape is the ordinary one (an object, a clean 10-digit NPI passing the check
digit, a name, addresses/plans as lists of objects, scalar leaves) becomes its
listings in SQL with exactly the semantics of `crawlers.parse.qhp`. Every other
entry (odd types, bad NPI, no name, not an object) is handed back with its index
to the Python parser, which lists or quarantines it, so a file never has to be
parsed twice and odd entries never change meaning. DuckDB runs in memory as a
compute engine with a memory cap and a spill folder; it never opens the warehouse.
"""

from __future__ import annotations

import glob
import json
import os
from dataclasses import dataclass, field
from typing import Any, Iterator

import duckdb
import pyarrow.parquet as pq

from crawlers.bulk.compute import compute_connection
from crawlers.landing import LANDING_PARQUET
from reconcile.normalize.accepting import normalize_accepting

NAME_KEYS = ("prefix", "first", "middle", "last", "suffix")
ADDRESS_KEYS = ("address", "address_2", "city", "state", "zip", "phone")
PLAN_KEYS = ("plan_id", "plan_id_type", "network_tier")
SCALAR_KEYS = ("npi", "type", "facility_name", "accepting", "gender", "last_updated_on")
LIST_KEYS = ("specialty", "languages", "facility_type")
# Accepting values mapped in SQL (statuses computed by normalize_accepting itself); an entry with any other
# value goes to the Python parser. A Python UDF would serialize the parallel plan on the GIL (2x slower).
ACCEPTING_VALUES = tuple(f(v) for v in ("accepting", "not accepting", "accepting new patients",
                                         "not accepting new patients", "existing patients only", "yes", "no", "y", "n",
                                         "open", "closed", "limited", "waitlist", "unknown")
                         for f in (str.lower, str.upper, str.title, str.capitalize))
ROW_GROUP = 16_384  # rows buffered per Parquet row group: wide rows, so small groups keep memory flat
MAX_OBJECT = 2 * 1024 * 1024  # larger entries make DuckDB refuse the file: the Python path then reads it
# Python's str.strip()/split() whitespace other than the plain space (clean_text would change such strings)
_UNICODE_WS = r"\x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}"
_SCALARS = "|".join(SCALAR_KEYS + ADDRESS_KEYS + PLAN_KEYS + NAME_KEYS)
# An entry (DuckDB's minified JSON text) matching this is left to the Python parser. False alarms only cost
# time; the SQL path relies on it never missing: strings clean_text would change (padding, runs of spaces,
# escaped control characters, other whitespace; "" is mapped to NULL in SQL), booleans, decimals, objects
# or arrays where text is expected, a name that is not an object, lists of names holding objects, non-integer years, falsy plan ids.
ODD = "|".join((
    r'  |\\[nrtfbu]|" |[^:,\[] "|[' + _UNICODE_WS + r"]", r"[:,\[](true|false)[,\]}]",
    r"[:,\[]-?[0-9]+[.eE]", rf'"({_SCALARS})":[\[{{]', r'"name":[^{n]',
    r'"(specialty|languages|facility_type)":(\{|\[[^\]]*[\[{])', r'"(addresses|plans)":[^\[n]',
    r'"years":([^\[n]|\[[0-9,]*[^0-9,\]])', r'"plan_id":(""|null|0[,}])',
))

MACROS = """
CREATE OR REPLACE TEMP MACRO luhn_ok(d) AS
    (24 + list_sum(list_transform(range(1, 10), lambda p:
        CASE WHEN p % 2 = 1 THEN [0, 2, 4, 6, 8, 1, 3, 5, 7, 9][TRY_CAST(substr(d, 10 - p, 1) AS INTEGER) + 1]
             ELSE TRY_CAST(substr(d, 10 - p, 1) AS INTEGER) END))
     + TRY_CAST(substr(d, 10, 1) AS INTEGER)) % 10 = 0;
CREATE OR REPLACE TEMP MACRO text_list(x) AS list_filter(CASE WHEN x IS NULL THEN []::VARCHAR[]
    WHEN left(x::VARCHAR, 1) = '[' THEN TRY_CAST(x AS VARCHAR[]) ELSE [x ->> '$'] END, lambda v: v IS NOT NULL AND v <> '');
"""


def _shape() -> str:
    """json_transform structure: the fields the listings use (scalars as text, lists of names as JSON)."""
    shape: dict[str, Any] = {k: "VARCHAR" for k in SCALAR_KEYS}
    shape.update({k: "JSON" for k in LIST_KEYS})
    shape["name"] = {k: "VARCHAR" for k in NAME_KEYS}
    shape["addresses"] = [{k: "VARCHAR" for k in ADDRESS_KEYS}]
    shape["plans"] = [{**{k: "VARCHAR" for k in PLAN_KEYS}, "years": "BIGINT[]"}]
    return json.dumps(shape)


def _sql_list(values: tuple[str, ...]) -> str:
    """A SQL tuple literal of strings."""
    return "(" + ", ".join("'" + v.replace("'", "''") + "'" for v in dict.fromkeys(values)) + ")"


def _accepting_case() -> str:
    """CASE mapping the known accepting values to normalize_accepting's status ('unknown' when missing)."""
    whens = " ".join(f"WHEN '{v}' THEN '{normalize_accepting(v)}'" for v in dict.fromkeys(ACCEPTING_VALUES))
    return f"CASE accepting {whens} ELSE 'unknown' END"


def _blank_null(fields: tuple[str, ...], var: str) -> str:
    """A struct literal of `var`'s fields with "" as NULL (clean_text maps "" to None)."""
    return "{" + ", ".join(f"'{k}': nullif({var}.{k}, '')" for k in fields) + "}"


def listings_sql(path: str, insurer: str, source_url: str, fetched_at: str) -> str:
    """SELECT of listing rows (landing `listings` shape) plus `_fit`; a misfit entry is one row with its index and JSON in `raw`."""
    ins = insurer.replace("'", "''")
    src = source_url.replace("'", "''")
    fetched = fetched_at.replace("'", "''")
    quoted = path.replace("'", "''")
    odd = ODD.replace("'", "''")
    core = "concat_ws(' ', " + ", ".join(f"nm.{k}" for k in NAME_KEYS[:4]) + ")"
    addr_empty = " AND ".join(f"a.{k} IS NULL" for k in ADDRESS_KEYS)
    plan_empty = " AND ".join(f"p.{k} IS NULL" for k in PLAN_KEYS)
    scalars = ", ".join(f"nullif(j.{k}, '') AS {k}" for k in SCALAR_KEYS)
    return f"""
    WITH parsed AS (
        SELECT idx, e, left(e::VARCHAR, 1) = '{{' AND NOT regexp_matches(e::VARCHAR, '{odd}') AS plain,
               json_transform(e, '{_shape()}') AS j
        FROM (SELECT ordinality - 1 AS idx, json AS e
              FROM read_json('{quoted}', format='array', records=false, columns={{'json': 'JSON'}},
                             maximum_object_size={MAX_OBJECT}) WITH ORDINALITY)
    ),
    cleaned AS (
        SELECT idx, e, plain, {scalars}, j.specialty, j.languages, j.facility_type,
               CASE WHEN j.name IS NOT NULL THEN {_blank_null(NAME_KEYS, "j.name")} END AS nm,
               list_transform(j.addresses, lambda a: CASE WHEN a IS NOT NULL THEN {_blank_null(ADDRESS_KEYS, "a")} END) AS addresses,
               list_transform(j.plans, lambda p: CASE WHEN p IS NOT NULL THEN
                   {{'plan_id': p.plan_id, 'plan_id_type': nullif(p.plan_id_type, ''),
                    'network_tier': nullif(p.network_tier, ''), 'years': coalesce(p.years, [])}} END) AS plans,
               list_bool_or(list_transform(j.plans, lambda p: p IS NULL OR p.plan_id IS NULL
                                            OR ({plan_empty} AND p.years IS NULL))) IS true AS odd_plans
        FROM parsed
    ),
    named AS (
        SELECT *, CASE WHEN nm IS NULL THEN facility_name
                       WHEN nm.suffix IS NOT NULL AND {core} <> '' THEN {core} || ', ' || nm.suffix
                       ELSE nullif({core}, '') END AS display
        FROM cleaned
    ),
    judged AS (
        SELECT *, coalesce(plain AND regexp_full_match(npi, '[0-9]{{10}}') AND luhn_ok(npi) AND display IS NOT NULL
            AND NOT odd_plans AND (accepting IS NULL OR accepting IN {_sql_list(ACCEPTING_VALUES)})
            AND list_bool_or(list_transform(addresses, lambda a: a IS NULL OR ({addr_empty}))) IS NOT true,
            false) AS _fit
        FROM named
    ),
    good AS (
        SELECT _fit, idx, npi, display, nm, type, accepting, last_updated_on,
               CASE WHEN _fit AND len(addresses) > 0 THEN addresses ELSE [NULL] END AS addrs,
               CASE WHEN _fit THEN spec_list[1] END AS specialty,
               {_accepting_case()} AS accepting_status,
               coalesce(list_sort(list_distinct(list_transform(plans, lambda p: p.plan_id))), []) AS networks,
               coalesce(to_json(plans), '[]')::JSON AS plans,
               sha256(e::VARCHAR) AS payload_sha256,
               CASE WHEN _fit THEN ('{{' || concat_ws(',',
                   CASE WHEN len(spec_list) > 0 THEN '"specialties":' || to_json(spec_list) END,
                   CASE WHEN len(lang_list) > 0 THEN '"languages":' || to_json(lang_list) END,
                   CASE WHEN gender IS NOT NULL THEN '"gender":' || to_json(gender) END,
                   CASE WHEN type IS NOT NULL THEN '"provider_type":' || to_json(type) END,
                   CASE WHEN len(ftype_list) > 0 THEN '"facility_type":' || to_json(ftype_list) END,
                   '"entry_index":' || idx) || '}}')::JSON
                   ELSE json_object('entry_index', idx, 'entry', e) END AS raw
        FROM (SELECT *, text_list(specialty) AS spec_list, text_list(languages) AS lang_list,  -- each parsed once
                     text_list(facility_type) AS ftype_list FROM judged)
    ),
    rows AS (SELECT * EXCLUDE (addrs), unnest(addrs) AS a, unnest(range(len(addrs))) AS pos FROM good)
    SELECT
        left(sha1('{ins}|qhp|' || npi || '|' || pos), 16) AS listing_id,
        npi || '|' || pos AS source_key, '{ins}' AS insurer, 'qhp' AS directory_kind, npi,
        display AS provider_name, nm.first AS first_name, nm.middle AS middle_name,
        nm.last AS last_name, nm.suffix AS credentials,
        CASE WHEN upper(type) = 'FACILITY' THEN display END AS practice_name,
        nullif(concat_ws(' ', a.address, a.address_2), '') AS address,
        a.city AS city, a.state AS state, a.zip AS zip, a.phone AS phone,
        specialty, NULL::VARCHAR AS specialty_code, accepting_status, accepting AS accepting_raw,
        networks, plans, NULL::VARCHAR AS website, last_updated_on AS last_updated,
        '{src}' AS source_url, '{fetched}' AS fetched_at, payload_sha256, raw, _fit
    FROM rows
    """


@dataclass
class SqlConversion:
    """What the SQL path produced for one spooled providers file."""

    listings: int = 0
    parquet: str | None = None
    misfits: int = 0  # entries left to the Python parser
    misfit_files: list[str] = field(default_factory=list)  # Parquet files holding them (index and JSON in `raw`)


def connect(work_dir: str, memory_limit: str = "200MB", threads: int | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with capped memory, a spill folder, and the QHP macros."""
    con = compute_connection(work_dir, memory_limit, keep_order=True, threads=threads)
    con.execute(MACROS)
    return con


def convert_providers(con: duckdb.DuckDBPyConnection, path: str, out_dir: str, insurer: str, source_url: str,
                      fetched_at: str) -> SqlConversion:
    """Convert one providers.json file into `out_dir/_fit=true/*.parquet` listings; raises duckdb.Error on bad JSON.

    Written with the landing Parquet options (v2 pages), which the warehouse loader reads back with less CPU.
    """
    sql = listings_sql(path, insurer, source_url, fetched_at)
    os.makedirs(out_dir, exist_ok=True)
    target = out_dir.replace("'", "''")
    con.execute(f"COPY ({sql}) TO '{target}' ({LANDING_PARQUET}, PARTITION_BY (_fit), "
                f"OVERWRITE_OR_IGNORE true, ROW_GROUP_SIZE {ROW_GROUP})")
    result = SqlConversion()
    fit_files = sorted(glob.glob(os.path.join(out_dir, "_fit=true", "*.parquet")))
    if fit_files:
        result.parquet = fit_files[0] if len(fit_files) == 1 else _merge(con, fit_files, out_dir)
        result.listings = pq.ParquetFile(result.parquet).metadata.num_rows
    result.misfit_files = sorted(glob.glob(os.path.join(out_dir, "_fit=false", "*.parquet")))
    result.misfits = sum(pq.ParquetFile(f).metadata.num_rows for f in result.misfit_files)
    return result


def _merge(con: duckdb.DuckDBPyConnection, files: list[str], out_dir: str) -> str:
    """Merge several partition files into one Parquet file (one landing file per providers file)."""
    merged = os.path.join(out_dir, "listings.parquet")
    target = merged.replace("'", "''")
    listed = "[" + ", ".join("'" + f.replace("'", "''") + "'" for f in files) + "]"  # no bound parameters:
    # binding any Python value makes the duckdb module import pandas (~0.5 s in a crawler that never uses it)
    con.execute(f"COPY (SELECT * FROM read_parquet({listed}, hive_partitioning = false)) TO '{target}' "
                f"({LANDING_PARQUET}, ROW_GROUP_SIZE {ROW_GROUP})")
    return merged


def misfit_entries(files: list[str], batch_rows: int = 2048) -> Iterator[tuple[int, Any]]:
    """(index, parsed entry) of the entries the SQL path left to the Python parser, read in small batches."""
    for path in files:
        for batch in pq.ParquetFile(path).iter_batches(batch_size=batch_rows, columns=["raw"]):
            for text in batch.column(0).to_pylist():
                item = json.loads(text)
                yield int(item["entry_index"]), item["entry"]
