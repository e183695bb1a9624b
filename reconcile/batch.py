"""Run a normalizer once per DISTINCT value of a DuckDB column and keep the results in a TEMP table for SQL joins."""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import duckdb
import pyarrow as pa
import tldextract

from reconcile.normalize.accepting import normalize_accepting, takes_new_patients
from reconcile.normalize.address import (
    _split_last_line,
    build_address,
    normalize_address,
    normalize_city,
    normalize_state,
    normalize_zip5,
    parse_address,
    street_parts,
)
from reconcile.normalize.address_sql import one_line_split_statements, street_statements
from reconcile.normalize.insurer import InsurerMatcher
from reconcile.normalize.name import _parse as _parse_person_cached
from reconcile.normalize.name import fold_name, parse_person
from reconcile.normalize.name_sql import simple_name_statements
from reconcile.normalize.npi import clean_npi, is_valid_npi, valid_npi_sql
from reconcile.normalize.phone import nanp_valid_sql, phone_key
from reconcile.temp import drop_temp

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


# The listing columns the stage reads (plus name_text): not the wide `plans`/`raw` JSON, copied for nothing before.
SOURCE_LISTING_COLUMNS = (
    "listing_id", "insurer", "role", "directory_kind", "npi", "provider_name", "practice_name", "address", "city",
    "state", "zip", "phone", "accepting_status", "networks", "website", "last_updated", "source_url", "fetched_at",
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


def org_key_sql(column: str) -> str:
    """SQL computing org_key of a printable-ASCII `column` (accent folding is then a no-op; other text: Python)."""
    noise = ", ".join(f"'{w}'" for w in sorted(_ORG_NOISE))
    return (f"nullif(array_to_string(list_sort(list_filter(string_split(trim(regexp_replace(replace(lower({column}), "
            f"'&', ' and '), '[^0-9a-z]+', ' ', 'g')), ' '), lambda w: w <> '' AND w NOT IN ({noise}))), ' '), '')")


def _normalize_orgs(con: duckdb.DuckDBPyConnection) -> None:
    """TEMP table temp_rc_org (v, org_key) over every distinct practice name: ASCII names in SQL, others by org_key."""
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _temp_rc_org_src AS SELECT DISTINCT v FROM (SELECT practice_name AS v FROM "
        "temp_rc_src_l UNION SELECT practice_name FROM temp_rc_src_o) WHERE v IS NOT NULL"
    )
    con.execute(f"CREATE OR REPLACE TEMP TABLE _temp_rc_org_fast AS SELECT v, {org_key_sql('v')} AS org_key "
                f"FROM _temp_rc_org_src WHERE regexp_full_match(v, '{PRINTABLE_ASCII_RE}')")
    normalize_distinct(con, "SELECT v FROM _temp_rc_org_src s WHERE NOT EXISTS (SELECT 1 FROM _temp_rc_org_fast f "
                       "WHERE f.v = s.v)", [("v", pa.string())], [("org_key", pa.string())], lambda v: (org_key(v),),
                       "_temp_rc_org_slow")
    con.execute("CREATE OR REPLACE TEMP TABLE temp_rc_org AS SELECT v, org_key FROM _temp_rc_org_fast "
                "UNION ALL SELECT v, org_key FROM _temp_rc_org_slow")
    drop_temp(con, "_temp_rc_org_src", "_temp_rc_org_fast", "_temp_rc_org_slow")


PRINTABLE_ASCII_RE = "[ -~]*"  # space to tilde: no accents, no tabs or line breaks


def fold_ascii(text: str) -> str:
    """Casefold and strip accents (unicode NFKD), keeping spaces, for name comparison."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold().replace("&", " and ")


@lru_cache(maxsize=65_536)
def _registered_domain(host: str) -> str:
    """Registered domain of a host by the public suffix list ("www.x.co.uk" -> "x.co.uk"); a site's pages share it."""
    extracted = _EXTRACT(host)
    return getattr(extracted, "top_domain_under_public_suffix", "") or host


@lru_cache(maxsize=1)
def flat_tlds() -> tuple[str, ...]:
    """Top-level suffixes of the bundled public suffix list with no deeper rule ("com", "org"; not "uk", "us"):
    under them the registered domain of a host is always its last two labels, so SQL can take it."""
    suffixes = set(_EXTRACT.tlds)
    deeper = {s.rsplit(".", 1)[-1] for s in suffixes if "." in s}
    return tuple(sorted(s for s in suffixes if "." not in s and s not in deeper))


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
    domain = _registered_domain(host)
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


class _GetItem:
    """`obj[key]` from the class's `get` (KeyError where `get` gives None): one lookup rule for the lazy maps below."""

    def get(self, key: object, default: object = None) -> object:  # pragma: no cover - defined by subclasses
        """The value of `key`, or `default`."""
        raise NotImplementedError

    def __getitem__(self, key: str) -> object:
        """The value of `key`; KeyError when there is none."""
        value = self.get(key)
        if value is None:
            raise KeyError(key)
        return value


class ParsedOnDemand(_GetItem):
    """Parsed values by raw text, parsed on first use (dict-like `get`): linking compares ~1% of the distinct names,
    so parsing (and keeping) all of them up front would cost minutes and gigabytes at national scale."""

    def __init__(self, parse: Callable[[str], object | None], release: Callable[[], None] | None = None) -> None:
        """Keep the parser (lru-cached underneath, so repeated look-ups are cheap) and how to free its cache."""
        self._parse = parse
        self._release = release

    def clear(self) -> None:
        """Free the parses cached so far (dict-like `clear`, called once pairwise matching is done)."""
        if self._release is not None:
            self._release()

    def get(self, text: object, default: object = None) -> object:
        """The parsed value of `text`, or `default` when it does not parse."""
        value = self._parse(text) if isinstance(text, str) and text else None
        return default if value is None else value

    def __contains__(self, text: object) -> bool:
        """Whether `text` parses."""
        return self.get(text) is not None


_PART_SEP = "\x1f"  # between the packed Pub 28 parts of an address (normalized parts never hold it)


class AddressesByKey(_GetItem):
    """Addresses by key (dict-like `get`), kept packed as one string of Pub 28 parts and built on use: linking
    compares a small share of the ~0.7M distinct addresses of a national run, and an Address object per key would
    cost hundreds of megabytes."""

    def __init__(self) -> None:
        """Start empty; values are packed part strings or Address objects (from the Python-only paths)."""
        self._values: dict[str, object] = {}

    def add_packed(self, keys: list[str], packed: list[str]) -> None:
        """Add addresses given as key plus "number\x1fstreet\x1funit\x1fcity\x1fstate\x1fzip5"."""
        self._values.update(zip(keys, packed))

    def setdefault(self, key: str, address: object) -> None:
        """Keep `address` under `key` unless the key is already known (dict-like)."""
        self._values.setdefault(key, address)

    def clear(self) -> None:
        """Forget every address (dict-like `clear`, called once pairwise matching is done)."""
        self._values.clear()

    def get(self, key: object, default: object = None) -> object:
        """The Address of `key`, or `default` when the key is unknown."""
        value = self._values.get(key) if isinstance(key, str) else None
        if value is None:
            return default
        return build_address(*value.split(_PART_SEP)) if isinstance(value, str) else value

    def __contains__(self, key: object) -> bool:
        """Whether `key` is a known address key."""
        return isinstance(key, str) and key in self._values

    def __len__(self) -> int:
        """Number of address keys."""
        return len(self._values)


def _person_with_surname(text: str) -> object | None:
    """parse_person, kept only when it found a surname (what the name table keys on)."""
    person = parse_person(text)
    return person if person is not None and person.last else None


@dataclass
class Prepared:
    """Python-side objects of the normalization stage, keyed as in the TEMP tables (for pairwise matching)."""

    addresses: Any = field(default_factory=AddressesByKey)  # address key -> Address (dict-like get)
    names: Any = field(default_factory=lambda: ParsedOnDemand(_person_with_surname, _parse_person_cached.cache_clear))
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


# A plain NANP number ("(217) 555-0100", "217.555.0100", "+1 217 555 0100", "Tel: 217-555-0100") has the phone_key
# of its ten digits: directories spell one number many ways, so phonenumbers runs once per number, not per spelling.
# The optional label is phone.py's _LABEL (normalize_phone drops it before parsing; it holds no digits).
PLAIN_PHONE_RE = r"\s*(?i:(?:tel(?:ephone)?|phone|ph|main|office|call|p|t)\b\s*[:.#-]?\s*)?(\+?1[\s.\-]*)?\(?[2-9][0-9]{2}\)?[\s.\-]*[0-9]{3}[\s.\-]*[0-9]{4}\s*"


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
    # ten plain digits that phonenumbers' own NANPA metadata calls valid (checked in SQL) are "+1" + digits;
    # everything else goes through phonenumbers
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _temp_rc_phone_d AS SELECT c, regexp_full_match(c, '[2-9][0-9]{9}') AND "
        + nanp_valid_sql("c") + " AS ok FROM (SELECT DISTINCT c FROM _temp_rc_phone_raw WHERE c IS NOT NULL)"
    )
    normalize_distinct(con, "SELECT c FROM _temp_rc_phone_d WHERE NOT ok", [("v", pa.string())],
                       [("phone_key", pa.string())], lambda v: (phone_key(v),), "_temp_rc_phone_slow")
    con.execute("CREATE OR REPLACE TEMP TABLE _temp_rc_phone_c AS SELECT c AS v, '+1' || c AS phone_key "
                "FROM _temp_rc_phone_d WHERE ok UNION ALL SELECT v, phone_key FROM _temp_rc_phone_slow")
    con.execute("CREATE OR REPLACE TEMP TABLE temp_rc_phone AS SELECT r.v, k.phone_key FROM _temp_rc_phone_raw r "
                "LEFT JOIN _temp_rc_phone_c k ON k.v = r.c")
    drop_temp(con, "_temp_rc_phone_raw", "_temp_rc_phone_c", "_temp_rc_phone_d", "_temp_rc_phone_slow")


# A plain web address ("https://www.x.org/springfield/", "x.org"): scheme, ASCII host, plain path, no port/query.
PLAIN_URL_RE = r"(?i:https?)://[A-Za-z0-9.\-]+(?:/[A-Za-z0-9._~\-]*)*"


def _normalize_sites(con: duckdb.DuckDBPyConnection) -> None:
    """TEMP table temp_rc_url (v, site_domain, site_root) over every distinct website URL.

    Plain URLs are split into host and first path segment in SQL (what site_parts does with urlsplit), the
    registered domain is looked up once per distinct host (a site's pages share it); other URLs go to site_parts.
    """
    vc = pa.string()
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _temp_rc_url_src AS SELECT DISTINCT v FROM (SELECT website AS v FROM temp_rc_src_l "
        "UNION SELECT coalesce(site_url, evidence_url) FROM temp_rc_src_o WHERE source = 'website') WHERE v IS NOT NULL"
    )
    con.execute(
        rf"""
        CREATE OR REPLACE TEMP TABLE _temp_rc_url_fast AS
        SELECT v, lower(regexp_extract(t, '^[^:]+://([^/]*)', 1)) AS host,
               coalesce(list_filter(string_split(lower(regexp_extract(t, '^[^:]+://[^/]*(/.*)?$', 1)), '/'),
                                    lambda x: x <> '' AND NOT regexp_full_match(x, '(?:index|default|home)(?:\.\w+)?'))[1],
                        '') AS site_root
        FROM (SELECT v, CASE WHEN contains(v, '://') THEN v ELSE 'http://' || v END AS t FROM _temp_rc_url_src)
        WHERE regexp_full_match(t, '{PLAIN_URL_RE}')
        """
    )
    # hosts of plain labels under a flat top-level suffix ("www.x.com") take their last two labels in SQL
    register_table(con, "_temp_rc_url_tld", pa.table({"tld": pa.array(flat_tlds(), type=vc)}))
    con.execute(
        r"""
        CREATE OR REPLACE TEMP TABLE _temp_rc_url_host_fast AS
        SELECT host AS v, regexp_extract(host, '[^.]+\.[^.]+$') AS domain
        FROM (SELECT DISTINCT host FROM _temp_rc_url_fast WHERE regexp_full_match(host, '[a-z0-9\-]+(?:\.[a-z0-9\-]+)+'))
        WHERE regexp_extract(host, '[^.]+$') IN (SELECT tld FROM _temp_rc_url_tld)
        """
    )
    normalize_distinct(con, "SELECT DISTINCT host FROM _temp_rc_url_fast f WHERE contains(host, '.') AND NOT EXISTS "
                       "(SELECT 1 FROM _temp_rc_url_host_fast h WHERE h.v = f.host)", [("v", vc)],
                       [("domain", vc)], lambda host: (_registered_domain(host),), "_temp_rc_url_host_slow")
    con.execute("CREATE OR REPLACE TEMP TABLE _temp_rc_url_host AS SELECT v, domain FROM _temp_rc_url_host_fast "
                "UNION ALL SELECT v, domain FROM _temp_rc_url_host_slow")
    normalize_distinct(
        con, "SELECT v FROM _temp_rc_url_src s WHERE NOT EXISTS (SELECT 1 FROM _temp_rc_url_fast f WHERE f.v = s.v)",
        [("v", vc)], [("site_domain", vc), ("site_root", vc)], site_parts, "_temp_rc_url_slow",
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE temp_rc_url AS SELECT f.v, h.domain AS site_domain, "
        "CASE WHEN h.domain IS NOT NULL THEN f.site_root END AS site_root "
        "FROM _temp_rc_url_fast f LEFT JOIN _temp_rc_url_host h ON h.v = f.host "
        "UNION ALL SELECT v, site_domain, site_root FROM _temp_rc_url_slow"
    )
    drop_temp(con, "_temp_rc_url_src", "_temp_rc_url_fast", "_temp_rc_url_host", "_temp_rc_url_slow", "_temp_rc_url_tld",
              "_temp_rc_url_host_fast", "_temp_rc_url_host_slow")


def _normalize_npis(con: duckdb.DuckDBPyConnection) -> None:
    """TEMP table temp_rc_npi (v, npi_ok): plain 10-digit NPIs checked in SQL, other spellings by clean_npi in Python."""
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _temp_rc_npi_src AS SELECT DISTINCT v FROM "
        "(SELECT npi AS v FROM temp_rc_src_l UNION SELECT npi FROM temp_rc_src_o) WHERE v IS NOT NULL"
    )
    normalize_distinct(con, "SELECT v FROM _temp_rc_npi_src WHERE NOT regexp_full_match(v, '[0-9]{10}')",
                       [("v", pa.string())], [("npi_ok", pa.string())], _npi, "_temp_rc_npi_slow")
    con.execute(
        "CREATE OR REPLACE TEMP TABLE temp_rc_npi AS SELECT v, CASE WHEN " + valid_npi_sql("v") + " THEN v END AS npi_ok "
        "FROM _temp_rc_npi_src WHERE regexp_full_match(v, '[0-9]{10}') UNION ALL SELECT v, npi_ok FROM _temp_rc_npi_slow"
    )
    drop_temp(con, "_temp_rc_npi_src", "_temp_rc_npi_slow")


PLAIN_ZIP_RE = "[0-9]{5}(?:-[0-9]{4}|[0-9]{4})?"  # what normalize_zip5 cuts to its first five digits


def _split_one_line(text: str) -> tuple | None:
    """(street, city, state, zip5) of a one-line website address as parse_address first splits it, else None."""
    return _split_last_line(text.strip()) if text and text.strip() else None


def _normalize_addresses(con: duckdb.DuckDBPyConnection, prep: Prepared) -> int:
    """TEMP tables temp_rc_addr4 (a, c, s, z, addr_key, addr_num, zip5) over every distinct address tuple and
    temp_rc_addr1 (v, addr_key, addr_num, zip5) over every distinct one-line website address; fills
    prep.addresses (key -> Address) and returns the number of distinct inputs.

    normalize_address is (street part) x (city) x (state) x (ZIP): each part is normalized once per distinct value.
    Common street shapes are parsed in SQL (reconcile.normalize.address_sql, proven equal to street_parts), the
    rest by street_parts in Python. A one-line website address is split as parse_address splits it (the common
    "STREET, CITY, ST 12345" form in SQL, reconcile.normalize.address_sql; the rest by _split_last_line), its
    street part then goes the same way; those without a house number, and street fields holding a whole one-line
    address with no other field, go through parse_address / normalize_address as before. prep.addresses keeps each
    key's parts packed (AddressesByKey) rather than one Address object per key.
    """
    vc = pa.string()
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _temp_rc_addr4_src AS SELECT DISTINCT *, "
        "(c = '' AND s = '' AND z = '' AND (contains(a, ',') OR contains(a, chr(10)))) AS one_line FROM ("
        "SELECT coalesce(address,'') a, coalesce(city,'') c, coalesce(state,'') s, coalesce(CAST(zip AS VARCHAR),'') z "
        "FROM temp_rc_src_l UNION SELECT coalesce(address,''), coalesce(city,''), coalesce(state,''), "
        "coalesce(CAST(zip AS VARCHAR),'') FROM temp_rc_src_o)"
    )
    out_addr = [("addr_key", vc), ("addr_num", vc), ("zip5", vc)]
    one_line = normalize_distinct(con, "SELECT a, c, s, z FROM _temp_rc_addr4_src WHERE one_line",
                                  [("a", vc), ("c", vc), ("s", vc), ("z", vc)], out_addr, _normalize_address4,
                                  "_temp_rc_addr_one_line")
    # one-line website addresses: the common "STREET, CITY, ST 12345" split in SQL, the rest by _split_one_line
    con.execute("CREATE OR REPLACE TEMP TABLE _temp_rc_addr1_src AS SELECT DISTINCT v FROM "
                "(SELECT unnest(addresses) AS v FROM temp_rc_src_o) WHERE v IS NOT NULL")
    for statement in one_line_split_statements("_temp_rc_addr1_src", "_temp_rc_addr1_split_fast"):
        con.execute(statement)
    normalize_distinct(
        con, "SELECT v FROM _temp_rc_addr1_src s WHERE NOT EXISTS (SELECT 1 FROM _temp_rc_addr1_split_fast f "
        "WHERE f.v = s.v)", [("v", vc)], [("a", vc), ("c", vc), ("s", vc), ("z", vc)], _split_one_line,
        "_temp_rc_addr1_split_slow",
    )
    con.execute("CREATE OR REPLACE TEMP TABLE _temp_rc_addr1_split AS SELECT v, a, c, s, z FROM _temp_rc_addr1_split_fast "
                "UNION ALL SELECT v, a, c, s, z FROM _temp_rc_addr1_split_slow")
    con.execute("CREATE OR REPLACE TEMP TABLE _temp_rc_addr_src AS SELECT a, c, s, z FROM _temp_rc_addr4_src "
                "WHERE NOT one_line UNION SELECT a, c, s, z FROM _temp_rc_addr1_split WHERE a IS NOT NULL")
    con.execute("CREATE OR REPLACE TEMP TABLE _temp_rc_street_src AS SELECT DISTINCT a FROM _temp_rc_addr_src")
    for statement in street_statements("_temp_rc_street_src", "_temp_rc_street_fast"):
        con.execute(statement)
    parts = [("number", vc), ("street", vc), ("unit", vc)]
    normalize_distinct(
        con, "SELECT a FROM _temp_rc_street_src s WHERE NOT EXISTS (SELECT 1 FROM _temp_rc_street_fast f WHERE f.a = s.a)",
        [("a", vc)], parts, street_parts, "_temp_rc_street_slow",
    )
    for column, func in (("c", normalize_city), ("s", normalize_state)):
        normalize_distinct(con, f"SELECT DISTINCT {column} FROM _temp_rc_addr_src", [("v", vc)],
                           [("n", vc)], lambda v, func=func: (func(v),), f"_temp_rc_addr_{column}")
    # plain ZIP and ZIP+4 spellings ("62701", "62701-1234", "627011234"): their first five digits, in SQL
    con.execute(f"CREATE OR REPLACE TEMP TABLE _temp_rc_addr_z_fast AS SELECT v, left(v, 5) AS n FROM "
                f"(SELECT DISTINCT z AS v FROM _temp_rc_addr_src) WHERE v = '' OR regexp_full_match(v, '{PLAIN_ZIP_RE}')")
    normalize_distinct(con, "SELECT DISTINCT z FROM _temp_rc_addr_src s WHERE NOT EXISTS "
                       "(SELECT 1 FROM _temp_rc_addr_z_fast f WHERE f.v = s.z)", [("v", vc)], [("n", vc)],
                       lambda v: (normalize_zip5(v),), "_temp_rc_addr_z_slow")
    con.execute("CREATE OR REPLACE TEMP TABLE _temp_rc_addr_z AS SELECT v, n FROM _temp_rc_addr_z_fast "
                "UNION ALL SELECT v, n FROM _temp_rc_addr_z_slow")
    drop_temp(con, "_temp_rc_addr_z_fast", "_temp_rc_addr_z_slow")
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _temp_rc_addr_parts AS
        SELECT *, CASE WHEN zip5 <> '' THEN line || '|' || zip5 ELSE line || '|' || city || '|' || state END AS key
        FROM (
            SELECT t.a, t.c, t.s, t.z, st.number, st.street, st.unit, ci.n AS city, sa.n AS state, zz.n AS zip5,
                   CASE WHEN st.street IS NOT NULL THEN
                        concat_ws(' ', nullif(st.number, ''), nullif(st.street, ''), nullif(st.unit, '')) END AS line
            FROM _temp_rc_addr_src t
            JOIN (SELECT * FROM _temp_rc_street_fast UNION ALL SELECT * FROM _temp_rc_street_slow) st ON st.a = t.a
            JOIN _temp_rc_addr_c ci ON ci.v = t.c JOIN _temp_rc_addr_s sa ON sa.v = t.s
            JOIN _temp_rc_addr_z zz ON zz.v = t.z
        )
        """
    )
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE temp_rc_addr4 AS
        SELECT t.a, t.c, t.s, t.z, p.key AS addr_key, CASE WHEN p.key IS NOT NULL THEN nullif(p.number, '') END AS addr_num,
               CASE WHEN p.key IS NOT NULL THEN nullif(p.zip5, '') END AS zip5
        FROM _temp_rc_addr4_src t JOIN _temp_rc_addr_parts p USING (a, c, s, z) WHERE NOT t.one_line
        UNION ALL SELECT a, c, s, z, addr_key, addr_num, zip5 FROM _temp_rc_addr_one_line
        """
    )
    # a split website address with a house number is decided; the others take parse_address's usaddress path
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _temp_rc_addr1_fast AS
        SELECT x.v, p.key AS addr_key, p.number AS addr_num, nullif(p.zip5, '') AS zip5
        FROM _temp_rc_addr1_split x JOIN _temp_rc_addr_parts p USING (a, c, s, z)
        WHERE p.key IS NOT NULL AND p.number <> ''
        """
    )
    slow = normalize_distinct(
        con, "SELECT v FROM _temp_rc_addr1_split s WHERE NOT EXISTS (SELECT 1 FROM _temp_rc_addr1_fast f WHERE f.v = s.v)",
        [("v", vc)], out_addr, _parse_address1, "_temp_rc_addr1_slow",
    )
    con.execute("CREATE OR REPLACE TEMP TABLE temp_rc_addr1 AS SELECT * FROM _temp_rc_addr1_fast "
                "UNION ALL SELECT * FROM _temp_rc_addr1_slow")
    # per key, the parts of its first (pass, a, c, s, z) source: one hash aggregate, packed for AddressesByKey
    packed = con.execute(
        "SELECT key, arg_min(concat_ws(chr(31), coalesce(number, ''), coalesce(street, ''), coalesce(unit, ''), "
        "coalesce(city, ''), coalesce(state, ''), coalesce(zip5, '')), (pass, a, c, s, z)) AS parts FROM ("
        "SELECT p.*, 0 AS pass FROM _temp_rc_addr_parts p SEMI JOIN (SELECT a, c, s, z FROM _temp_rc_addr4_src "
        "WHERE NOT one_line) t USING (a, c, s, z) WHERE p.line IS NOT NULL UNION ALL "
        "SELECT p.*, 1 FROM _temp_rc_addr_parts p SEMI JOIN _temp_rc_addr1_split x USING (a, c, s, z) "
        "WHERE p.line IS NOT NULL AND p.number <> '') GROUP BY key"
    ).to_arrow_table()
    prep.addresses.add_packed(packed.column("key").to_pylist(), packed.column("parts").to_pylist())
    del packed
    for result in (*one_line.values(), *slow.values()):
        if result is not None:
            prep.addresses.setdefault(result[0], result[3])
    count = (con.execute("SELECT count(*) FROM _temp_rc_addr4_src").fetchone()[0]
             + con.execute("SELECT count(*) FROM _temp_rc_addr1_src").fetchone()[0])
    drop_temp(con, "_temp_rc_addr4_src", "_temp_rc_addr_src", "_temp_rc_addr_one_line", "_temp_rc_street_src",
              "_temp_rc_street_fast", "_temp_rc_street_slow", "_temp_rc_addr_c", "_temp_rc_addr_s",
              "_temp_rc_addr_z", "_temp_rc_addr_parts", "_temp_rc_addr1_split", "_temp_rc_addr1_fast",
              "_temp_rc_addr1_slow", "_temp_rc_addr1_src", "_temp_rc_addr1_split_fast", "_temp_rc_addr1_split_slow")
    return count


def _normalize_names(con: duckdb.DuckDBPyConnection) -> int:
    """TEMP table temp_rc_name (v, name_key, last_parts) over every distinct name text; returns their count.

    The simple forms (~95% of a directory) are keyed in SQL (reconcile.normalize.name_sql, proven equal to
    parse_person); the rest go through parse_person once each.
    """
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _temp_rc_name_src AS SELECT DISTINCT v FROM ("
        "SELECT name_text AS v FROM temp_rc_src_l UNION SELECT provider_name FROM temp_rc_src_o "
        "UNION SELECT unnest(providers) FROM temp_rc_src_o UNION SELECT unnest(departed_providers) FROM temp_rc_src_o"
        ") WHERE v IS NOT NULL"
    )
    for statement in simple_name_statements("_temp_rc_name_src", "_temp_rc_name_fast"):
        con.execute(statement)
    vc = pa.string()
    normalize_distinct(
        con, "SELECT v FROM _temp_rc_name_src s WHERE NOT EXISTS (SELECT 1 FROM _temp_rc_name_fast f WHERE f.v = s.v)",
        [("v", vc)], [("name_key", vc), ("last_parts", pa.list_(vc))], _parse_name, "_temp_rc_name_slow",
    )
    con.execute("CREATE OR REPLACE TEMP TABLE temp_rc_name AS SELECT v, name_key, last_parts FROM _temp_rc_name_fast "
                "UNION ALL SELECT v, name_key, last_parts FROM _temp_rc_name_slow")
    count = con.execute("SELECT count(*) FROM _temp_rc_name_src").fetchone()[0]
    drop_temp(con, "_temp_rc_name_src", "_temp_rc_name_fast", "_temp_rc_name_slow")
    return count


def prepare(con: duckdb.DuckDBPyConnection, settings: object) -> Prepared:
    """Normalize listings and observations into TEMP tables temp_rc_l, temp_rc_o, temp_rc_o_phone, temp_rc_o_addr, temp_rc_o_names, temp_rc_o_ins."""
    prep = Prepared()
    vc = pa.string()
    # the reference scope's NPI subquery costs a second pass over every listing: only when there is a reference
    scoped = con.execute("SELECT EXISTS (SELECT 1 FROM listings WHERE role = 'reference')").fetchone()[0]
    con.execute(f"CREATE OR REPLACE TEMP TABLE temp_rc_src_l AS SELECT {', '.join(SOURCE_LISTING_COLUMNS)}, "
                + LISTING_NAME_SQL + " AS name_text FROM listings "
                + (REFERENCE_SCOPE_SQL if scoped else ""))
    con.execute("CREATE OR REPLACE TEMP TABLE temp_rc_src_o AS SELECT * FROM observations")
    _normalize_npis(con)
    _normalize_phones(con)
    distinct_addresses = _normalize_addresses(con, prep)
    distinct_names = _normalize_names(con)
    _normalize_orgs(con)
    _normalize_sites(con)
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
    drop_temp(con, "temp_rc_src_l")  # joined in: free its memory before the observations are (less spilling)
    _build_observation_tables(con)
    # every source and lookup table is joined in: nothing after prepare reads them, so free their memory for link
    drop_temp(con, *PREPARE_ONLY_TABLES)
    prep.counts = {
        "listings": con.execute("SELECT count(*) FROM temp_rc_l").fetchone()[0],
        "observations": con.execute("SELECT count(*) FROM temp_rc_o").fetchone()[0],
        "distinct_addresses": distinct_addresses,
        "distinct_names": distinct_names,
    }
    return prep


# Read only while prepare builds temp_rc_l / temp_rc_o and their exploded tables (dropped as soon as they are joined).
PREPARE_ONLY_TABLES = ("temp_rc_src_l", "temp_rc_src_o", "temp_rc_acc", "temp_rc_org", "temp_rc_url", "temp_rc_npi",
                       "temp_rc_addr4", "temp_rc_addr1", "temp_rc_phone", "temp_rc_name", "temp_rc_ins")


def _lookup_joins(t: str, name: str, url: str) -> str:
    """LEFT JOINs from source rows `t` to the normalized-value tables (one row per distinct raw value each)."""
    return f"""
        LEFT JOIN temp_rc_npi n ON n.v = {t}.npi
        LEFT JOIN temp_rc_name nm ON nm.v = {name}
        LEFT JOIN temp_rc_org g ON g.v = {t}.practice_name
        LEFT JOIN temp_rc_addr4 a ON a.a = coalesce({t}.address, '') AND a.c = coalesce({t}.city, '')
             AND a.s = coalesce({t}.state, '') AND a.z = coalesce(CAST({t}.zip AS VARCHAR), '')
        LEFT JOIN temp_rc_phone p ON p.v = {t}.phone
        LEFT JOIN temp_rc_url u ON u.v = {url}
        LEFT JOIN temp_rc_acc ac ON ac.v = {t}.accepting_status"""


def dense_ids(con: duckdb.DuckDBPyConnection, source: str, id_column: str, key: str, name: str) -> None:
    """TEMP table `name` (id_column, key): each distinct (NOT NULL) id numbered 1..n in id order, like dense_rank.

    Ranking the distinct ids alone sorts one string column; a dense_rank window on the wide source table would
    sort every payload column with it (the costliest statement of the stage at national scale).
    """
    con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT {id_column}, CAST(row_number() OVER "
                f"(ORDER BY {id_column}) AS INTEGER) AS {key} FROM (SELECT DISTINCT {id_column} FROM {source})")


def _build_listing_table(con: duckdb.DuckDBPyConnection) -> None:
    """Join the normalized values back onto the listings (TEMP table temp_rc_l, one row per listing)."""
    dense_ids(con, "temp_rc_src_l", "listing_id", "lid", "_temp_rc_lid")
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE temp_rc_l AS
        SELECT l.listing_id, r.lid,
               l.insurer, coalesce(l.role, 'audited') AS role, l.directory_kind, l.npi,
               n.npi_ok, l.provider_name, l.name_text, nm.name_key, nm.last_parts, l.practice_name, g.org_key,
               l.address, l.city, l.state, CAST(l.zip AS VARCHAR) AS zip,
               concat_ws(', ', nullif(trim(l.address), ''), nullif(trim(l.city), ''),
                         nullif(trim(concat_ws(' ', l.state, CAST(l.zip AS VARCHAR))), '')) AS address_display,
               a.addr_key, a.addr_num, a.zip5, l.phone, p.phone_key,
               l.website, u.site_domain, u.site_root, l.accepting_status, ac.status AS status, ac.takes,
               l.networks, l.last_updated, l.source_url, l.fetched_at, ic.canonical AS insurer_canonical
        FROM temp_rc_src_l l JOIN _temp_rc_lid r USING (listing_id)
        """ + _lookup_joins("l", "l.name_text", "l.website") + """
        LEFT JOIN temp_rc_ins ic ON ic.v = l.insurer
        """
    )
    drop_temp(con, "_temp_rc_lid")


def _build_observation_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Normalized observations (temp_rc_o) plus their exploded phones, addresses, names and insurer lists.

    Each source / lookup table is dropped right after its last reader (less memory, less spilling at national scale).
    """
    dense_ids(con, "temp_rc_src_o", "observation_id", "oid", "_temp_rc_oid")
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE temp_rc_o AS
        SELECT o.observation_id, r.oid, o.source,
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
        FROM temp_rc_src_o o JOIN _temp_rc_oid r USING (observation_id)
        """ + _lookup_joins("o", "o.provider_name", "(CASE WHEN o.source = 'website' THEN coalesce(o.site_url, o.evidence_url) END)")
    )
    drop_temp(con, "_temp_rc_oid", "temp_rc_npi", "temp_rc_org", "temp_rc_url", "temp_rc_acc", "temp_rc_addr4")
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE temp_rc_o_phone AS
        SELECT DISTINCT observation_id, oid, phone_key, raw FROM (
            SELECT o.observation_id, o.oid, p.phone_key, o.phone AS raw FROM temp_rc_o o JOIN temp_rc_phone p ON p.v = o.phone
            UNION ALL
            SELECT x.observation_id, x.oid, p.phone_key, x.v FROM (SELECT observation_id, oid, unnest(phones) AS v FROM temp_rc_o) x
            JOIN temp_rc_phone p ON p.v = x.v
        ) WHERE phone_key IS NOT NULL
        """
    )
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE temp_rc_o_addr AS
        SELECT observation_id, oid, addr_key, any_value(addr_num) AS addr_num, any_value(zip5) AS zip5,
               any_value(raw) AS raw FROM (
            SELECT o.observation_id, o.oid, o.addr_key, o.addr_num, o.zip5,
                   concat_ws(', ', nullif(trim(s.address), ''), nullif(trim(s.city), ''),
                             nullif(trim(concat_ws(' ', s.state, CAST(s.zip AS VARCHAR))), '')) AS raw
            FROM temp_rc_o o JOIN temp_rc_src_o s USING (observation_id) WHERE o.addr_key IS NOT NULL
            UNION ALL
            SELECT x.observation_id, x.oid, a.addr_key, a.addr_num, a.zip5, x.v
            FROM (SELECT observation_id, oid, unnest(addresses) AS v FROM temp_rc_o) x JOIN temp_rc_addr1 a ON a.v = x.v
            WHERE a.addr_key IS NOT NULL
        ) GROUP BY observation_id, oid, addr_key
        """
    )
    drop_temp(con, "temp_rc_src_o", "temp_rc_phone", "temp_rc_addr1")
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE temp_rc_o_names AS
        SELECT x.observation_id, x.oid, x.role, x.v AS name_text, n.name_key, n.last_parts
        FROM (SELECT observation_id, oid, 'roster' AS role, unnest(providers) AS v FROM temp_rc_o
              UNION ALL SELECT observation_id, oid, 'departed', unnest(departed_providers) FROM temp_rc_o) x
        JOIN temp_rc_name n ON n.v = x.v WHERE n.name_key IS NOT NULL
        """
    )
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE temp_rc_o_ins AS
        SELECT x.observation_id, x.oid, x.accepted, x.v AS raw, i.canonical
        FROM (SELECT observation_id, oid, true AS accepted, unnest(insurers_accepted) AS v FROM temp_rc_o
              UNION ALL SELECT observation_id, oid, false, unnest(insurers_not_accepted) FROM temp_rc_o) x
        LEFT JOIN temp_rc_ins i ON i.v = x.v WHERE nullif(trim(x.v), '') IS NOT NULL
        """
    )
