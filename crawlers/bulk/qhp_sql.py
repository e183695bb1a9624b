"""CMS QHP providers.json (spooled to disk) -> listings landing Parquet in one DuckDB statement.

DuckDB reads the single-array file (or a JSON Lines file of the same entries) once, in parallel, with the fields the listings use declared as
types (no sampling, no JSON text per entry). Every entry whose shape is the ordinary one (an object, a
clean 10-digit NPI passing the check digit, a name, addresses/plans as lists of objects, text values
clean_text would leave as they are) becomes its listings in SQL with exactly the semantics of
`crawlers.parse.qhp`. Every other entry (odd types, padded text, bad NPI, no name, not an object) is a
misfit: its index is noted during that same pass, and only the misfits are re-read as JSON text and handed
to the Python parser, which lists or quarantines them, so odd entries never change meaning. Listings carry
the sha256 of the file as fetched plus their entry's index (`raw.entry_index`). DuckDB runs in memory as a
compute engine with a memory cap and a spill folder; it never opens the warehouse.
"""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Iterator

import duckdb
from duckdb.sqltypes import BIGINT, BOOLEAN

from crawlers.bulk.compute import compute_connection, execute_with_one_thread_fallback
from crawlers.landing import LANDING_PARQUET_WIDE
from crawlers.parse import file_sha256
from reconcile.normalize.accepting import normalize_accepting

NAME_KEYS = ("prefix", "first", "middle", "last", "suffix")
ADDRESS_KEYS = ("address", "address_2", "city", "state", "zip", "phone")
PLAN_KEYS = ("plan_id", "plan_id_type", "network_tier")
SCALAR_KEYS = ("npi", "type", "facility_name", "accepting", "gender", "last_updated_on", "phone")
LIST_KEYS = ("specialty", "languages", "facility_type")
# Accepting values mapped in SQL (statuses computed by normalize_accepting itself); an entry with any other
# value goes to the Python parser. A Python UDF would serialize the parallel plan on the GIL (2x slower).
ACCEPTING_VALUES = tuple(f(v) for v in ("accepting", "not accepting", "accepting new patients",
                                         "not accepting new patients", "existing patients only", "yes", "no", "y", "n",
                                         "open", "closed", "limited", "waitlist", "unknown", "true", "false")
                         for f in (str.lower, str.upper, str.title, str.capitalize))
ROW_GROUP = 16_384  # rows buffered per Parquet row group: wide rows, so small groups keep memory flat
MAX_OBJECT = 2 * 1024 * 1024  # larger entries make DuckDB refuse the file: the Python path then reads it
# A text value (DuckDB's VARCHAR rendering of whatever JSON value was there) the SQL path cannot vouch for, tested
# on all of an entry's text values joined by \x01: anything clean_text would change (control characters, Python's
# other whitespace, runs of spaces, padding), and values that may not have been JSON strings (booleans, objects or
# arrays rendered as text, decimals, which Python would render differently or drop). False alarms only cost time
# (the entry goes to the Python parser); the SQL path relies on it never missing.
_WHITESPACE = r"\x00\x02-\x1f\x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}"
ODD_TEXT = "|".join((
    f"[{_WHITESPACE}]", "  ", r"(^|\x01) ", r" (\x01|$)", r"(^|\x01)(true|false)(\x01|$)", r"(^|\x01)[\[{]",
    r"(^|\x01)-?[0-9]+[.eE]",
))
YEARS = r"\[(-?[0-9]{1,18}(,-?[0-9]{1,18})*)?\]"  # a list of integers (minified JSON): cast as is; else Python decides

MACROS = """
CREATE OR REPLACE TEMP MACRO luhn_ok(d) AS  -- d: 10 ASCII digits; NPI check digit (Luhn with prefix 80840)
    (24 + 2 * (ord(substr(d, 1, 1)) - 48) - 9 * ((ord(substr(d, 1, 1)) - 48) >= 5)::INTEGER
     + (ord(substr(d, 2, 1)) - 48)
     + 2 * (ord(substr(d, 3, 1)) - 48) - 9 * ((ord(substr(d, 3, 1)) - 48) >= 5)::INTEGER
     + (ord(substr(d, 4, 1)) - 48)
     + 2 * (ord(substr(d, 5, 1)) - 48) - 9 * ((ord(substr(d, 5, 1)) - 48) >= 5)::INTEGER
     + (ord(substr(d, 6, 1)) - 48)
     + 2 * (ord(substr(d, 7, 1)) - 48) - 9 * ((ord(substr(d, 7, 1)) - 48) >= 5)::INTEGER
     + (ord(substr(d, 8, 1)) - 48)
     + 2 * (ord(substr(d, 9, 1)) - 48) - 9 * ((ord(substr(d, 9, 1)) - 48) >= 5)::INTEGER
     + (ord(substr(d, 10, 1)) - 48)) % 10 = 0;
CREATE OR REPLACE TEMP MACRO text_list(x) AS list_filter(CASE WHEN x IS NULL THEN []::VARCHAR[]
    WHEN left(x::VARCHAR, 1) = '[' THEN TRY_CAST(x AS VARCHAR[]) ELSE [x ->> '$'] END, lambda v: v IS NOT NULL AND v <> '');
"""


def _columns() -> str:
    """read_json `columns`: the fields the listings use, text leaves as VARCHAR, lists of names and years as JSON."""
    def struct(keys: tuple[str, ...], extra: str = "") -> str:
        """A STRUCT type of VARCHAR fields."""
        return "STRUCT(" + ", ".join(f"{k} VARCHAR" for k in keys) + extra + ")"

    columns = {k: "VARCHAR" for k in SCALAR_KEYS}
    columns.update({k: "JSON" for k in LIST_KEYS})
    columns["name"] = struct(NAME_KEYS)
    columns["addresses"] = struct(ADDRESS_KEYS) + "[]"
    columns["address"] = "JSON"  # the first CMS schema's single address (typed per entry only where present)
    columns["plans"] = struct(PLAN_KEYS, ", years JSON") + "[]"
    return "{" + ", ".join(f"'{k}': '{v}'" for k, v in columns.items()) + "}"


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


def _texts(items: list[str]) -> str:
    """SQL joining text expressions with \\x01 (NULLs skipped), for one ODD_TEXT test per entry."""
    return "concat_ws(chr(1), " + ", ".join(items) + ")"


BOM = b"\xef\xbb\xbf"


def skip_bom(fh: BinaryIO) -> None:
    """Move a file opened at its start past a UTF-8 byte-order mark, if it has one."""
    if fh.read(len(BOM)) != BOM:
        fh.seek(0)


def json_format(path: str) -> str | None:
    """How a providers file lists its entries, by its first JSON character (after a UTF-8 BOM and whitespace).

    "array" for the CMS shape (`[{...}, ...]`), "newline_delimited" for JSON Lines (one entry object per line,
    as bulk exports write them); None for anything else (an empty file, a lone string or number), which no
    reader can take entries from.
    """
    with open(path, "rb") as fh:
        skip_bom(fh)
        head = b""
        while True:
            text = head.lstrip(b" \t\r\n")
            if text:
                return {b"[": "array", b"{": "newline_delimited"}.get(text[:1])
            head = fh.read(1 << 16)
            if not head:
                return None


def entries_sql(path: str, fmt: str = "array") -> str:
    """SELECT of the file's entries as typed columns with their position `idx` (one typed read).

    `fmt` is `json_format`'s answer. `ignore_errors`: a value of another JSON type becomes NULL or its text,
    never an error; malformed JSON raises. DuckDB reads a JSON array on one thread, so `convert_providers`
    materializes this and does the rest (`listings_sql`) on all threads.
    """
    return f"""
    SELECT ordinality - 1 AS idx, *
    FROM read_json('{_sql_text(path)}', format='{fmt}', columns={_columns()}, ignore_errors=true,
                   maximum_object_size={MAX_OBJECT}) WITH ORDINALITY
    """


def listings_sql(entries: str, insurer: str, source_url: str, fetched_at: str, payload_sha256: str,
                 note_misfit: str) -> str:
    """SELECT of the listing rows (landing `listings` shape) of the entries the SQL path takes.

    `entries` is a FROM item with `entries_sql`'s columns. An entry whose values the SQL cannot vouch for (a
    misfit) gives no rows: its index is passed to the SQL function `note_misfit(idx) -> false` (evaluated only
    for misfits), and it is re-read as JSON text later (`misfit_sql`).
    """
    ins, src, fetched, sha = (v.replace("'", "''") for v in (insurer, source_url, fetched_at, payload_sha256))
    odd = ODD_TEXT.replace("'", "''")
    core = "concat_ws(' ', " + ", ".join(f"nm.{k}" for k in NAME_KEYS[:4]) + ")"
    addr_empty = " AND ".join(f"coalesce(a.{k}, '') = ''" for k in ADDRESS_KEYS)
    scalars = ", ".join(f"nullif(s.{k}, '') AS {k}" for k in SCALAR_KEYS)
    scalars_text = [f"s.{k}" if k != "accepting" else "CASE WHEN s.accepting IN ('true', 'false') THEN NULL "
                    "ELSE s.accepting END" for k in SCALAR_KEYS]  # a JSON boolean reads as the Python path spells it
    texts = _texts(scalars_text + [f"s.name.{k}" for k in NAME_KEYS] + [f"s.address_one.{k}" for k in ADDRESS_KEYS] + [
        "array_to_string(list_transform(s.addresses, lambda a: "
        + _texts([f"a.{k}" for k in ADDRESS_KEYS]) + "), chr(1))",
        "array_to_string(list_transform(s.plans, lambda p: " + _texts([f"p.{k}" for k in PLAN_KEYS]) + "), chr(1))",
        *(f"array_to_string({k}_list, chr(1))" for k in LIST_KEYS)])
    lists_ok = " AND ".join(f"(s.{k} IS NULL OR {k}_list IS NOT NULL)" for k in LIST_KEYS)
    one_address = json.dumps({k: "VARCHAR" for k in ADDRESS_KEYS})
    return f"""
    WITH src AS (
        SELECT *, text_list(specialty) AS specialty_list,
               text_list(languages) AS languages_list, text_list(facility_type) AS facility_type_list,
               coalesce(json_type(address), 'NULL') AS address_type,
               CASE WHEN address_type = 'OBJECT' THEN json_transform(address, '{one_address}') END AS address_one
        FROM {entries}
    ),
    cleaned AS (
        SELECT idx, {scalars}, specialty_list, languages_list, facility_type_list,
               CASE WHEN s.name IS NOT NULL THEN {_blank_null(NAME_KEYS, "s.name")} END AS nm,
               coalesce(CASE WHEN len(s.addresses) > 0 THEN s.addresses END,
                        CASE WHEN s.address_one IS NOT NULL THEN [s.address_one] END) AS addresses,
               list_transform(s.plans, lambda p: {{'plan_id': p.plan_id, 'plan_id_type': nullif(p.plan_id_type, ''),
                   'network_tier': nullif(p.network_tier, ''),
                   'years': coalesce(TRY_CAST(p.years AS BIGINT[]), [])}}) AS plans,
               coalesce(list_bool_or(list_transform(s.plans, lambda p: p IS NULL OR p.plan_id IS NULL
                   OR p.plan_id IN ('', '0', '-0')
                   OR (p.years IS NOT NULL AND NOT regexp_full_match(p.years, '{YEARS}')))), false) AS odd_plans,
               {lists_ok} AND s.address_type IN ('OBJECT', 'NULL')
                   AND NOT regexp_matches({texts}, '{odd}') AS plain
        FROM src s
    ),
    named AS (
        SELECT *, CASE WHEN nm IS NULL THEN facility_name
                       WHEN nm.suffix IS NOT NULL AND {core} <> '' THEN {core} || ', ' || nm.suffix
                       ELSE nullif({core}, '') END AS display
        FROM cleaned
    ),
    judged AS (
        SELECT * FROM named
        WHERE coalesce(plain AND regexp_full_match(npi, '[0-9]{{10}}') AND luhn_ok(npi) AND display IS NOT NULL
            AND NOT odd_plans AND (accepting IS NULL OR accepting IN {_sql_list(ACCEPTING_VALUES)})
            AND list_bool_or(list_transform(addresses, lambda a: {addr_empty})) IS NOT true,
            false) OR {note_misfit}(idx)
    ),
    good AS (
        SELECT idx, npi, display, nm, type, accepting, last_updated_on, phone AS entry_phone,
               CASE WHEN len(addresses) > 0 THEN addresses ELSE [NULL] END AS addrs,
               specialty_list[1] AS specialty, {_accepting_case()} AS accepting_status,
               coalesce(list_sort(list_distinct(list_transform(plans, lambda p: p.plan_id))), []) AS networks,
               coalesce(to_json(plans), '[]') AS plans,
               ('{{' || concat_ws(',',
                   CASE WHEN len(specialty_list) > 0 THEN '"specialties":' || to_json(specialty_list) END,
                   CASE WHEN len(languages_list) > 0 THEN '"languages":' || to_json(languages_list) END,
                   CASE WHEN gender IS NOT NULL THEN '"gender":' || to_json(gender) END,
                   CASE WHEN type IS NOT NULL THEN '"provider_type":' || to_json(type) END,
                   CASE WHEN len(facility_type_list) > 0 THEN '"facility_type":' || to_json(facility_type_list) END,
                   '"entry_index":' || idx) || '}}')::JSON AS raw
        FROM judged
    ),
    rows AS (SELECT * EXCLUDE (addrs), unnest(addrs) AS a, unnest(range(len(addrs))) AS pos FROM good)
    SELECT
        left(sha1('{ins}|qhp|' || npi || '|' || pos), 16) AS listing_id,
        npi || '|' || pos AS source_key, '{ins}' AS insurer, 'qhp' AS directory_kind, npi,
        display AS provider_name, nm.first AS first_name, nm.middle AS middle_name,
        nm.last AS last_name, nm.suffix AS credentials,
        CASE WHEN upper(type) = 'FACILITY' THEN display END AS practice_name,
        nullif(concat_ws(' ', nullif(a.address, ''), nullif(a.address_2, '')), '') AS address,
        nullif(a.city, '') AS city, nullif(a.state, '') AS state, nullif(a.zip, '') AS zip,
        coalesce(nullif(a.phone, ''), entry_phone) AS phone,
        specialty, NULL::VARCHAR AS specialty_code, accepting_status, accepting AS accepting_raw,
        networks, plans::JSON AS plans, NULL::VARCHAR AS website, last_updated_on AS last_updated,
        '{src}' AS source_url, '{fetched}' AS fetched_at, '{sha}' AS payload_sha256, raw
    FROM rows
    """


def misfit_sql(path: str, index_file: str, fmt: str = "array") -> str:
    """SELECT of `raw` = {entry_index, entry} of the misfit entries (indexes in a Parquet file), read as JSON text."""
    quoted, listed = (v.replace("'", "''") for v in (path, index_file))
    return f"""
    SELECT json_object('entry_index', idx, 'entry', e) AS raw
    FROM (SELECT ordinality - 1 AS idx, json AS e
          FROM read_json('{quoted}', format='{fmt}', records=false, columns={{'json': 'JSON'}},
                         maximum_object_size={MAX_OBJECT}) WITH ORDINALITY)
    WHERE idx IN (SELECT idx FROM read_parquet('{listed}'))
    """


@dataclass
class SqlConversion:
    """What the SQL path produced for one spooled providers file."""

    listings: int = 0
    parquet: str | None = None
    sha256: str = ""  # the payload hash the listings carry (the file's)
    misfits: int = 0  # entries left to the Python parser
    misfit_files: list[str] = field(default_factory=list)  # Parquet files holding them (index and JSON in `raw`)


def connect(work_dir: str, memory_limit: str = "200MB", threads: int | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with capped memory, a spill folder, and the QHP macros."""
    con = compute_connection(work_dir, memory_limit, keep_order=True, threads=threads)
    con.execute(MACROS)
    return con


def convert_providers(con: duckdb.DuckDBPyConnection, path: str, out_dir: str, insurer: str, source_url: str,
                      fetched_at: str, payload_sha256: str | None = None) -> SqlConversion:
    """Convert one providers.json file into `out_dir/listings.parquet`; raises duckdb.Error on bad JSON.

    Every listing carries `payload_sha256` (the sha256 of the file as fetched; when not given, computed in a
    thread during the file's one-thread read)
    and its entry's position in `raw.entry_index`: together they point at exactly what was published.
    The file is read on one thread (DuckDB reads a JSON array serially) into a TEMP table, spilling beyond the
    memory cap, so that all the rest runs on all threads (1.5x faster than one streaming statement on 2 cores).
    Misfit entries are noted on the way (a side-effect function called only for them: one output file, no
    partitioned write, which costs ~30% more CPU and much more under the memory cap) and re-read as JSON
    text into `out_dir/misfits.parquet`, a second pass only when there are any. Written with the landing
    Parquet options (v2 pages), which the warehouse loader reads back with less CPU.
    """
    fmt = json_format(path)
    if fmt is None:
        raise duckdb.InvalidInputException(f"{path}: neither a JSON array of provider entries nor JSON Lines")
    os.makedirs(out_dir, exist_ok=True)
    listings = os.path.join(out_dir, "listings.parquet")
    misfits: set[int] = set()

    def note(idx: int) -> bool:
        """Remember a misfit entry's index; False keeps its row out of the listings file."""
        misfits.add(idx)
        return False

    name, entries = f"_gc_misfit_{id(misfits)}", f"_gc_entries_{id(misfits)}"
    con.create_function(name, note, [BIGINT], BOOLEAN, type="native", side_effects=True)
    with ThreadPoolExecutor(1) as pool:
        # the hash is computed on the core DuckDB's one-thread array read leaves idle
        hashing = pool.submit(file_sha256, path) if payload_sha256 is None else None
        try:
            con.execute(f"CREATE TEMP TABLE {entries} AS {entries_sql(path, fmt)}")
            sha = hashing.result() if hashing is not None else str(payload_sha256)
            written = execute_with_one_thread_fallback(
                con, f"COPY ({listings_sql(entries, insurer, source_url, fetched_at, sha, name)}) "
                     f"TO '{_sql_text(listings)}' ({LANDING_PARQUET_WIDE}, ROW_GROUP_SIZE {ROW_GROUP})",
                before_retry=misfits.clear)
        finally:
            con.remove_function(name)
            con.execute(f"DROP TABLE IF EXISTS temp.main.{entries}")
    result = SqlConversion(listings=int(written[0]) if written else 0, sha256=sha)
    if result.listings:
        result.parquet = listings
    if misfits:
        index_file = os.path.join(out_dir, "misfit-index.parquet")
        import pyarrow as pa  # only when there are misfits (pyarrow costs ~0.15 s to import)
        import pyarrow.parquet as pq

        pq.write_table(pa.table({"idx": pa.array(sorted(misfits), pa.int64())}), index_file)
        misfit_file = os.path.join(out_dir, "misfits.parquet")
        con.execute(f"COPY ({misfit_sql(path, index_file, fmt)}) TO '{_sql_text(misfit_file)}' "
                    "(FORMAT parquet, ROW_GROUP_SIZE 2048)")
        result.misfit_files = [misfit_file]
        result.misfits = len(misfits)
    return result


def _sql_text(value: str) -> str:
    """A value for inside a SQL string literal."""
    return value.replace("'", "''")


def misfit_entries(files: list[str], batch_rows: int = 2048) -> Iterator[tuple[int, Any]]:
    """(index, parsed entry) of the entries the SQL path left to the Python parser, read in small batches."""
    if not files:
        return
    import pyarrow.parquet as pq  # only when there are misfits (pyarrow costs ~0.15 s to import)

    for path in files:
        for batch in pq.ParquetFile(path).iter_batches(batch_size=batch_rows, columns=["raw"]):
            for text in batch.column(0).to_pylist():
                item = json.loads(text)
                yield int(item["entry_index"]), item["entry"]
