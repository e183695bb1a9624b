"""Run a normalizer once per DISTINCT value of a DuckDB column and keep the results in a TEMP table for SQL joins."""

from __future__ import annotations

import itertools
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence
from urllib.parse import urlsplit

import duckdb
import pyarrow as pa
import tldextract

from reconcile.normalize.accepting import normalize_accepting, takes_new_patients
from reconcile.normalize.address import normalize_address, parse_address
from reconcile.normalize.insurer import InsurerMatcher
from reconcile.normalize.name import fold_name, parse_person
from reconcile.normalize.npi import clean_npi, is_valid_npi
from reconcile.normalize.phone import phone_key

_counter = itertools.count()


def distinct_values(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple[Any, ...]]:
    """Return the distinct non-all-NULL rows of a query, as tuples (input of a batch normalization)."""
    table = con.execute(f"SELECT DISTINCT * FROM ({sql})").to_arrow_table()
    columns = [table.column(i).to_pylist() for i in range(table.num_columns)]
    return [row for row in zip(*columns) if any(value is not None for value in row)]


def register_table(con: duckdb.DuckDBPyConnection, name: str, table: pa.Table) -> str:
    """Copy an Arrow table into a TEMP table called `name` (replacing it) so later SQL can join it."""
    view = f"_temp_rc_arrow_{next(_counter)}"
    con.register(view, table)
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM {view}")
    finally:
        con.unregister(view)
    return name


def normalize_distinct(
    con: duckdb.DuckDBPyConnection,
    sql: str,
    inputs: Sequence[tuple[str, pa.DataType]],
    outputs: Sequence[tuple[str, pa.DataType]],
    func: Callable[..., Sequence[Any] | None],
    name: str,
) -> dict[tuple[Any, ...], Sequence[Any] | None]:
    """Apply func(*row) to each distinct row of `sql` (columns = inputs) and store inputs+outputs as TEMP table `name`.

    Normalizing the distinct values once is what keeps national-scale runs cheap: directories repeat a
    practice's address and phone on every one of its listings. Returns {input row: func result} so callers
    can reuse the parsed objects (e.g. for pairwise matching) without parsing again.
    """
    rows = distinct_values(con, sql)
    results: dict[tuple[Any, ...], Sequence[Any] | None] = {}
    out_columns: list[list[Any]] = [[] for _ in outputs]
    for row in rows:
        value = func(*row)
        results[row] = value
        for i, column in enumerate(out_columns):
            column.append(None if value is None else value[i])
    arrays = [pa.array([row[i] for row in rows], type=dtype) for i, (_, dtype) in enumerate(inputs)]
    arrays += [pa.array(column, type=dtype) for column, (_, dtype) in zip(out_columns, outputs)]
    names = [n for n, _ in inputs] + [n for n, _ in outputs]
    register_table(con, name, pa.Table.from_arrays(arrays, names=names))
    return results


# ---------------------------------------------------------------------------------------------------------------
# The normalization stage of a run: every value kind normalized once per distinct value, then joined back.
# ---------------------------------------------------------------------------------------------------------------

_EXTRACT = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)  # bundled suffix list: never fetch
_ORG_NOISE = {
    "llc", "pllc", "pc", "pa", "inc", "ltd", "lp", "llp", "corp", "corporation", "co", "company", "the", "of", "and",
    "sc", "psc", "dba", "group", "associates", "assoc", "practice", "office", "offices", "clinic", "center", "centre",
    "ctr", "medical", "med", "health", "healthcare", "care", "services", "md", "do", "dds", "physicians", "providers",
}
_NON_ALNUM = re.compile(r"[^0-9a-z]+")
_INDEX_PAGES = re.compile(r"^(?:index|default|home)(?:\.\w+)?$", re.IGNORECASE)

LISTING_NAME_SQL = (
    "CASE WHEN nullif(trim(last_name), '') IS NOT NULL "
    "THEN concat_ws(' ', nullif(trim(first_name), ''), nullif(trim(middle_name), ''), trim(last_name)) "
    "ELSE nullif(trim(provider_name), '') END"
)


# A reference directory (NPPES: ~9M NPIs) only matters for the NPIs the audited directories list.
REFERENCE_SCOPE_SQL = (
    "WHERE coalesce(role, 'audited') <> 'reference' OR regexp_replace(npi, '[^0-9]', '', 'g') IN "
    "(SELECT regexp_replace(npi, '[^0-9]', '', 'g') FROM listings WHERE coalesce(role, 'audited') <> 'reference')"
)


def org_key(text: str | None) -> str | None:
    """Fold a practice name to its distinctive words ("Springfield Family Medicine, LLC" -> "family medicine springfield")."""
    if not text:
        return None
    words = [w for w in _NON_ALNUM.sub(" ", fold_ascii(text)).split() if w not in _ORG_NOISE]
    return " ".join(sorted(words)) or None


def fold_ascii(text: str) -> str:
    """Casefold and strip accents (unicode NFKD), keeping spaces, for name comparison."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold().replace("&", " and ")


def site_parts(url: str | None) -> tuple[str, str] | None:
    """Registered domain and first path segment of a website URL ("https://www.x.org/Springfield/" -> ("x.org", "springfield"))."""
    if not url or not isinstance(url, str):
        return None
    text = url.strip()
    if "://" not in text:
        text = "http://" + text
    try:
        parts = urlsplit(text)
    except ValueError:
        return None
    host = (parts.hostname or "").lower()
    if not host or "." not in host:
        return None
    extracted = _EXTRACT(host)
    domain = getattr(extracted, "top_domain_under_public_suffix", "") or host
    try:
        port = parts.port
    except ValueError:
        port = None
    if port and port not in (80, 443):
        domain = f"{domain}:{port}"  # two practices on one host but different ports are two sites
    segments = [s for s in parts.path.lower().split("/") if s and not _INDEX_PAGES.match(s)]
    return domain, (segments[0] if segments else "")


def _last_parts(last: str) -> list[str]:
    """Folded surname pieces used for blocking name comparisons ("Smith-Jones" -> ["smithjones", "smith", "jones"])."""
    pieces = [fold_name(p) for p in re.split(r"[\s\-]+", last) if p]
    whole = fold_name(last)
    return sorted({p for p in [whole, *pieces] if p and (len(p) > 2 or p == whole)})


@dataclass
class Prepared:
    """Python-side objects of the normalization stage, keyed as in the TEMP tables (for pairwise matching)."""

    addresses: dict[str, object] = field(default_factory=dict)  # address key -> Address
    names: dict[str, object] = field(default_factory=dict)  # raw name text -> PersonName
    insurer_canonical: dict[str, str | None] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)


def _normalize_address4(street: str, city: str, state: str, zip_: str) -> tuple | None:
    """normalize_address over one distinct (street, city, state, zip) tuple, '' meaning missing."""
    address = normalize_address(street or None, city or None, state or None, zip_ or None) if street else None
    return None if address is None else (address.key, address.number or None, address.zip5 or None, address)


def _parse_address1(text: str) -> tuple | None:
    """parse_address over one distinct free-text address of a website."""
    address = parse_address(text) if text else None
    return None if address is None else (address.key, address.number or None, address.zip5 or None, address)


def _parse_name(text: str) -> tuple | None:
    """parse_person over one distinct name text; key plus surname pieces for blocking."""
    person = parse_person(text) if text else None
    if person is None or not person.last:
        return None
    return (person.key, _last_parts(person.last), person)


def _accepting(value: str) -> tuple:
    """Canonical accepting status and its coarse takes-new-patients value."""
    status = normalize_accepting(value)
    return (status, takes_new_patients(status))


def _npi(value: str) -> tuple:
    """Clean NPI when its check digit is valid, else None (an invalid NPI never links)."""
    npi = clean_npi(value)
    return (npi if npi and is_valid_npi(npi) else None,)


# A plain NANP number ("(217) 555-0100", "217.555.0100", "+1 217 555 0100") has the phone_key of its ten digits:
# directories spell one number many ways, so phonenumbers runs once per number, not once per spelling.
PLAIN_PHONE_RE = r"\s*(\+?1[\s.\-]*)?\(?[2-9][0-9]{2}\)?[\s.\-]*[0-9]{3}[\s.\-]*[0-9]{4}\s*"


def phone_canon_sql(column: str) -> str:
    """SQL folding a plain NANP spelling in `column` to its ten digits (anything else is left as it is)."""
    return (f"CASE WHEN regexp_full_match({column}, '{PLAIN_PHONE_RE}') "
            f"THEN right(regexp_replace({column}, '[^0-9]', '', 'g'), 10) ELSE {column} END")


def _normalize_phones(con: duckdb.DuckDBPyConnection) -> None:
    """TEMP table temp_rc_phone (v, phone_key) over every distinct phone spelling, phonenumbers run once per number."""
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _temp_rc_phone_raw AS SELECT v, " + phone_canon_sql("v") + " AS c FROM ("
        "SELECT phone AS v FROM temp_rc_src_l UNION SELECT phone FROM temp_rc_src_o UNION SELECT unnest(phones) FROM temp_rc_src_o"
        ") WHERE v IS NOT NULL"
    )
    normalize_distinct(con, "SELECT c FROM _temp_rc_phone_raw", [("v", pa.string())], [("phone_key", pa.string())],
                       lambda v: (phone_key(v),), "_temp_rc_phone_c")
    con.execute("CREATE OR REPLACE TEMP TABLE temp_rc_phone AS SELECT r.v, k.phone_key FROM _temp_rc_phone_raw r "
                "LEFT JOIN _temp_rc_phone_c k ON k.v = r.c")
    con.execute("DROP TABLE IF EXISTS _temp_rc_phone_raw")
    con.execute("DROP TABLE IF EXISTS _temp_rc_phone_c")


def prepare(con: duckdb.DuckDBPyConnection, settings: object) -> Prepared:
    """Normalize listings and observations into TEMP tables temp_rc_l, temp_rc_o, temp_rc_o_phone, temp_rc_o_addr, temp_rc_o_names, temp_rc_o_ins."""
    prep = Prepared()
    vc = pa.string()
    con.execute("CREATE OR REPLACE TEMP TABLE temp_rc_src_l AS SELECT *, " + LISTING_NAME_SQL + " AS name_text FROM listings "
                + REFERENCE_SCOPE_SQL)
    con.execute("CREATE OR REPLACE TEMP TABLE temp_rc_src_o AS SELECT * FROM observations")
    normalize_distinct(
        con,
        "SELECT npi FROM temp_rc_src_l UNION SELECT npi FROM temp_rc_src_o",
        [("v", vc)], [("npi_ok", vc)], _npi, "temp_rc_npi",
    )
    _normalize_phones(con)
    addr4_sql = (
        "SELECT coalesce(address,'') a, coalesce(city,'') c, coalesce(state,'') s, coalesce(CAST(zip AS VARCHAR),'') z "
        "FROM temp_rc_src_l UNION SELECT coalesce(address,''), coalesce(city,''), coalesce(state,''), "
        "coalesce(CAST(zip AS VARCHAR),'') FROM temp_rc_src_o"
    )
    out_addr = [("addr_key", vc), ("addr_num", vc), ("zip5", vc)]
    res4 = normalize_distinct(con, addr4_sql, [("a", vc), ("c", vc), ("s", vc), ("z", vc)], out_addr,
                              _normalize_address4, "temp_rc_addr4")
    res1 = normalize_distinct(con, "SELECT unnest(addresses) FROM temp_rc_src_o", [("v", vc)], out_addr,
                              _parse_address1, "temp_rc_addr1")
    for result in (*res4.values(), *res1.values()):
        if result is not None:
            prep.addresses.setdefault(result[0], result[3])
    names = normalize_distinct(
        con,
        "SELECT name_text FROM temp_rc_src_l UNION SELECT provider_name FROM temp_rc_src_o "
        "UNION SELECT unnest(providers) FROM temp_rc_src_o UNION SELECT unnest(departed_providers) FROM temp_rc_src_o",
        [("v", vc)], [("name_key", vc), ("last_parts", pa.list_(vc))], _parse_name, "temp_rc_name",
    )
    prep.names = {row[0]: result[2] for row, result in names.items() if result is not None}
    normalize_distinct(
        con, "SELECT practice_name FROM temp_rc_src_l UNION SELECT practice_name FROM temp_rc_src_o",
        [("v", vc)], [("org_key", vc)], lambda v: (org_key(v),), "temp_rc_org",
    )
    normalize_distinct(
        con, "SELECT website FROM temp_rc_src_l UNION SELECT coalesce(site_url, evidence_url) FROM temp_rc_src_o "
        "WHERE source = 'website'",
        [("v", vc)], [("site_domain", vc), ("site_root", vc)], site_parts, "temp_rc_url",
    )
    normalize_distinct(
        con, "SELECT accepting_status FROM temp_rc_src_l UNION SELECT accepting_status FROM temp_rc_src_o",
        [("v", vc)], [("status", vc), ("takes", pa.bool_())], _accepting, "temp_rc_acc",
    )
    known = list(getattr(settings, "known_insurers", ()) or ())
    known += [r[0] for r in con.execute("SELECT DISTINCT insurer FROM temp_rc_src_l WHERE insurer IS NOT NULL").fetchall()]
    matcher = InsurerMatcher(list(dict.fromkeys(known)), getattr(settings, "insurer_aliases", {}) or {})
    ins = normalize_distinct(
        con, "SELECT insurer FROM temp_rc_src_l UNION SELECT unnest(insurers_accepted) FROM temp_rc_src_o "
        "UNION SELECT unnest(insurers_not_accepted) FROM temp_rc_src_o",
        [("v", vc)], [("canonical", vc)], lambda v: (matcher.match(v),), "temp_rc_ins",
    )
    prep.insurer_canonical = {row[0]: (r[0] if r else None) for row, r in ins.items()}
    _build_listing_table(con)
    _build_observation_tables(con)
    for name in ("temp_rc_src_l", "temp_rc_src_o", "temp_rc_acc", "temp_rc_org", "temp_rc_url", "temp_rc_npi"):
        con.execute(f"DROP TABLE IF EXISTS temp.{name}")  # joined in; free the memory at national scale
    prep.counts = {
        "listings": con.execute("SELECT count(*) FROM temp_rc_l").fetchone()[0],
        "observations": con.execute("SELECT count(*) FROM temp_rc_o").fetchone()[0],
        "distinct_addresses": len(res4) + len(res1),
        "distinct_names": len(names),
    }
    return prep


def _build_listing_table(con: duckdb.DuckDBPyConnection) -> None:
    """Join the normalized values back onto the listings (TEMP table temp_rc_l, one row per listing)."""
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE temp_rc_l AS
        SELECT l.listing_id, l.insurer, coalesce(l.role, 'audited') AS role, l.directory_kind, l.npi,
               n.npi_ok, l.provider_name, l.name_text, nm.name_key, nm.last_parts, l.practice_name, g.org_key,
               l.address, l.city, l.state, CAST(l.zip AS VARCHAR) AS zip,
               concat_ws(', ', nullif(trim(l.address), ''), nullif(trim(l.city), ''),
                         nullif(trim(concat_ws(' ', l.state, CAST(l.zip AS VARCHAR))), '')) AS address_display,
               a.addr_key, a.addr_num, a.zip5, l.phone, p.phone_key,
               l.website, u.site_domain, u.site_root, l.accepting_status, ac.status AS status, ac.takes,
               l.networks, l.last_updated, l.source_url, l.fetched_at, ic.canonical AS insurer_canonical
        FROM temp_rc_src_l l
        LEFT JOIN temp_rc_npi n ON n.v = l.npi
        LEFT JOIN temp_rc_name nm ON nm.v = l.name_text
        LEFT JOIN temp_rc_org g ON g.v = l.practice_name
        LEFT JOIN temp_rc_addr4 a ON a.a = coalesce(l.address, '') AND a.c = coalesce(l.city, '')
             AND a.s = coalesce(l.state, '') AND a.z = coalesce(CAST(l.zip AS VARCHAR), '')
        LEFT JOIN temp_rc_phone p ON p.v = l.phone
        LEFT JOIN temp_rc_url u ON u.v = l.website
        LEFT JOIN temp_rc_acc ac ON ac.v = l.accepting_status
        LEFT JOIN temp_rc_ins ic ON ic.v = l.insurer
        """
    )


def _build_observation_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Normalized observations (temp_rc_o) plus their exploded phones, addresses, names and insurer lists."""
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE temp_rc_o AS
        SELECT o.observation_id, o.source,
               CASE WHEN o.source <> 'website' THEN 'report'
                    WHEN nullif(trim(o.provider_name), '') IS NULL THEN 'site' ELSE 'site_provider' END AS kind,
               n.npi_ok, o.provider_name, nm.name_key, nm.last_parts, o.practice_name, g.org_key,
               a.addr_key, a.addr_num, a.zip5, o.phone, p.phone_key, u.site_domain, u.site_root,
               o.accepting_status, ac.status, ac.takes, o.reachable, lower(o.call_outcome) AS call_outcome,
               coalesce(o.roster_complete, false) AS roster_complete,
               TRY_CAST(json_extract_string(o.raw, '$.provider_at_location') AS BOOLEAN) AS provider_at_location,
               TRY_CAST(json_extract_string(o.raw, '$.accepts_plan') AS BOOLEAN) AS accepts_plan,
               TRY_CAST(json_extract_string(o.raw, '$.correct_location') AS BOOLEAN) AS correct_location,
               o.phones, o.addresses, o.providers, o.departed_providers, o.insurers_accepted, o.insurers_not_accepted,
               coalesce(o.site_url, o.evidence_url) AS site_url, o.evidence_url, o.evidence_text, o.evidence_sha256,
               o.observed_at, least(greatest(coalesce(o.confidence, 1.0), 0.0), 1.0) AS extraction_confidence
        FROM temp_rc_src_o o
        LEFT JOIN temp_rc_npi n ON n.v = o.npi
        LEFT JOIN temp_rc_name nm ON nm.v = o.provider_name
        LEFT JOIN temp_rc_org g ON g.v = o.practice_name
        LEFT JOIN temp_rc_addr4 a ON a.a = coalesce(o.address, '') AND a.c = coalesce(o.city, '')
             AND a.s = coalesce(o.state, '') AND a.z = coalesce(CAST(o.zip AS VARCHAR), '')
        LEFT JOIN temp_rc_phone p ON p.v = o.phone
        LEFT JOIN temp_rc_url u ON u.v = (CASE WHEN o.source = 'website' THEN coalesce(o.site_url, o.evidence_url) END)
        LEFT JOIN temp_rc_acc ac ON ac.v = o.accepting_status
        """
    )
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE temp_rc_o_phone AS
        SELECT DISTINCT observation_id, phone_key, raw FROM (
            SELECT o.observation_id, p.phone_key, o.phone AS raw FROM temp_rc_o o JOIN temp_rc_phone p ON p.v = o.phone
            UNION ALL
            SELECT x.observation_id, p.phone_key, x.v FROM (SELECT observation_id, unnest(phones) AS v FROM temp_rc_o) x
            JOIN temp_rc_phone p ON p.v = x.v
        ) WHERE phone_key IS NOT NULL
        """
    )
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE temp_rc_o_addr AS
        SELECT observation_id, addr_key, any_value(addr_num) AS addr_num, any_value(zip5) AS zip5,
               any_value(raw) AS raw FROM (
            SELECT o.observation_id, o.addr_key, o.addr_num, o.zip5,
                   concat_ws(', ', nullif(trim(s.address), ''), nullif(trim(s.city), ''),
                             nullif(trim(concat_ws(' ', s.state, CAST(s.zip AS VARCHAR))), '')) AS raw
            FROM temp_rc_o o JOIN temp_rc_src_o s USING (observation_id) WHERE o.addr_key IS NOT NULL
            UNION ALL
            SELECT x.observation_id, a.addr_key, a.addr_num, a.zip5, x.v
            FROM (SELECT observation_id, unnest(addresses) AS v FROM temp_rc_o) x JOIN temp_rc_addr1 a ON a.v = x.v
            WHERE a.addr_key IS NOT NULL
        ) GROUP BY observation_id, addr_key
        """
    )
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE temp_rc_o_names AS
        SELECT x.observation_id, x.role, x.v AS name_text, n.name_key, n.last_parts
        FROM (SELECT observation_id, 'roster' AS role, unnest(providers) AS v FROM temp_rc_o
              UNION ALL SELECT observation_id, 'departed', unnest(departed_providers) FROM temp_rc_o) x
        JOIN temp_rc_name n ON n.v = x.v WHERE n.name_key IS NOT NULL
        """
    )
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE temp_rc_o_ins AS
        SELECT x.observation_id, x.accepted, x.v AS raw, i.canonical
        FROM (SELECT observation_id, true AS accepted, unnest(insurers_accepted) AS v FROM temp_rc_o
              UNION ALL SELECT observation_id, false, unnest(insurers_not_accepted) FROM temp_rc_o) x
        LEFT JOIN temp_rc_ins i ON i.v = x.v WHERE nullif(trim(x.v), '') IS NOT NULL
        """
    )
