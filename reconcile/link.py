"""Entity linking: listings <-> website claims and practice reports, and listings <-> other insurers' listings.

Candidate pairs come only from blocks (same website, phone, address number+ZIP5, NPI); within them the
features are exact SQL comparisons plus rapidfuzz similarity computed pairwise over the blocked pairs
(`process.cpdist`, the element-wise form of `process.cdist`, so no all-pairs matrix is ever built).
One combined score per pair:

    score = min(1, 0.9*site + 0.6*npi + 0.5*phone + 0.45*address + 0.45*name + 0.4*roster)

calibrated so that any two independent signals (website alone being strong) pass the default threshold
0.82 while a single shared phone, address or name does not (a building houses many practices, a call
centre answers for many). A website shared by listings in more than BUSY_SITE_ZIPS ZIP codes belongs to a
health system, not a practice, and gives no signal; a site root covering a listing's deeper path counts 0.67.
`otsu_threshold` (now in `reconcile.calibrate`, with the label-free Fellegi–Sunter calibration) is re-exported here.

Levels: practice (listing <-> website, best site per listing), provider (a website's claim about this
provider, or a report naming this provider by NPI/name at this location), practice-level report (no provider
named), phone (the report dialled the number this listing shows: enough for unreachable / wrong number), and
directory (same valid NPI at the same practice -- phone or address -- in another insurer's directory).
Results: TEMP table temp_rc_links (left_id, right_id, score, method, level, kind).
"""

from __future__ import annotations

from typing import Callable

from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
from rapidfuzz import fuzz, process

from reconcile.batch import Prepared, register_table
from reconcile.normalize.address import addresses_match
from reconcile.normalize.name import person_names_match
from reconcile.temp import drop_temp

W_SITE, W_NPI, W_PHONE, W_ADDR, W_NAME, W_ROSTER = 0.9, 0.6, 0.5, 0.45, 0.45, 0.4
NAME_FLOOR = 0.5  # practice-name similarity below this counts as no evidence at all
BUSY_PHONE = 25  # a number shared by more sites than this is a call centre: not a linking signal
BUSY_SITE_ZIPS = 10  # a website used by listings in more ZIP codes than this is a health system's: no signal
LINK_COLUMNS = ("left_id", "right_id", "score", "method", "level", "kind")
# report link method by bit code npi=8, phone=4, address=2, name=1 ("npi+phone", "phone+address+name", ...)
METHOD_BY_CODE = np.array(["+".join(p for bit, p in ((8, "npi"), (4, "phone"), (2, "address"), (1, "name")) if code & bit)
                           for code in range(16)], dtype=object)


def combined_score(site: np.ndarray, npi: np.ndarray, phone: np.ndarray, addr: np.ndarray,
                   name: np.ndarray, roster: np.ndarray) -> np.ndarray:
    """The one link score of the module docstring, vectorized over candidate pairs."""
    name = np.where(name >= NAME_FLOOR, name, 0.0)
    total = W_SITE * site + W_NPI * npi + W_PHONE * phone + W_ADDR * addr + W_NAME * name + W_ROSTER * roster
    return np.round(np.minimum(1.0, total), 4)


def name_similarity(left: list[str | None], right: list[str | None], workers: int = 2) -> np.ndarray:
    """Pairwise practice-name similarity in [0, 1] (token-set ratio) over aligned lists; 0 where either is missing."""
    return pair_similarity(left, right, fuzz.token_set_ratio, 100.0, workers)


def pair_similarity(left: list[str | None], right: list[str | None], scorer: Any = fuzz.token_set_ratio,
                    scale: float = 100.0, workers: int = 2) -> np.ndarray:
    """Element-wise rapidfuzz similarity of two aligned lists of blocked pairs (process.cpdist), in [0, 1].

    0 where either side is missing; `scale` is the scorer's maximum (100 for fuzz.*, 1 for distance.*).
    """
    if not left:
        return np.zeros(0)
    a = [x or "" for x in left]
    b = [y or "" for y in right]
    scores = process.cpdist(a, b, scorer=scorer, workers=workers, dtype=np.float32) / scale
    missing = np.array([not x or not y for x, y in zip(a, b)], dtype=bool)
    return np.where(missing, 0.0, scores).astype(np.float64)


def _decide_pairs(con: duckdb.DuckDBPyConnection, table: str, left: str, right: str, pairs_sql: str,
                  decide: Callable[[str, str], bool], extra: str = "") -> None:
    """Evaluate a Python predicate once per distinct (left, right) pair of `pairs_sql`, memoized in TEMP `table`."""
    con.execute(f"CREATE TEMP TABLE IF NOT EXISTS {table} ({left} VARCHAR, {right} VARCHAR, ok BOOLEAN)")
    todo = con.execute(
        f"SELECT DISTINCT {left}, {right} FROM ({pairs_sql}) p WHERE {left} IS NOT NULL AND {right} IS NOT NULL {extra}"
        f"AND NOT EXISTS (SELECT 1 FROM {table} m WHERE m.{left} = p.{left} AND m.{right} = p.{right})"
    ).fetchall()
    if not todo:
        return
    new = pa.table({left: [a for a, _ in todo], right: [b for _, b in todo],
                    "ok": [bool(decide(a, b)) for a, b in todo]})
    con.register("_temp_rc_pairs_new", new)
    try:
        con.execute(f"INSERT INTO temp.{table} SELECT * FROM _temp_rc_pairs_new")
    finally:
        con.unregister("_temp_rc_pairs_new")


def address_matches(con: duckdb.DuckDBPyConnection, prep: Prepared, pairs_sql: str) -> None:
    """Decide addresses_match once per distinct differing key pair of `pairs_sql` (a_key, b_key) into temp_rc_addr_match."""
    _decide_pairs(con, "temp_rc_addr_match", "a_key", "b_key", pairs_sql,
                  lambda a, b: addresses_match(prep.addresses.get(a), prep.addresses.get(b)), "AND a_key <> b_key ")


def name_matches(con: duckdb.DuckDBPyConnection, prep: Prepared, pairs_sql: str) -> None:
    """Decide person_names_match once per distinct (a, b) name-text pair of `pairs_sql` into temp_rc_name_match."""
    _decide_pairs(con, "temp_rc_name_match", "a", "b", pairs_sql,
                  lambda a, b: person_names_match(prep.names.get(a) or a, prep.names.get(b) or b))


_ID_COLUMNS = ("listing_id", "observation_id")  # only passed through to the result: kept as Arrow, never as Python


def _fetch(con: duckdb.DuckDBPyConnection, sql: str) -> dict[str, Any]:
    """Run a query and return its columns (numpy for numbers/booleans, lists for strings, Arrow for the ids)."""
    table = con.execute(sql).to_arrow_table()
    out: dict[str, Any] = {}
    for name in table.column_names:
        column = table.column(name)
        if name in _ID_COLUMNS:
            out[name] = column.combine_chunks()
        elif pa.types.is_string(column.type) or pa.types.is_large_string(column.type) or pa.types.is_timestamp(column.type):
            out[name] = column.to_pylist()
        else:
            out[name] = column.to_numpy(zero_copy_only=False).astype(np.float64)
    return out


def _fetch_with_org(con: duckdb.DuckDBPyConnection, sql: str, workers: int) -> dict[str, Any]:
    """_fetch of a pair query with l_org/o_org columns, returning `org` similarity instead of the two strings.

    The similarity is computed once per DISTINCT (l_org, o_org) pair -- a practice's pairs repeat on every
    listing of it -- and joined back in SQL, so no per-pair string column ever crosses into Python.
    """
    con.execute(f"CREATE OR REPLACE TEMP TABLE _temp_rc_org_rows AS {sql}")
    pairs = con.execute(
        "SELECT DISTINCT l_org, o_org FROM _temp_rc_org_rows WHERE l_org <> '' AND o_org <> ''"
    ).to_arrow_table()
    left, right = pairs.column("l_org").to_pylist(), pairs.column("o_org").to_pylist()
    sims = pa.table({"l_org": pairs.column("l_org"), "o_org": pairs.column("o_org"),
                     "org": pa.array(name_similarity(left, right, workers), pa.float64())})
    del pairs, left, right
    register_table(con, "_temp_rc_org_sim", sims)
    out = _fetch(
        con,
        "SELECT r.* EXCLUDE (l_org, o_org), coalesce(s.org, 0.0) AS org FROM _temp_rc_org_rows r "
        "LEFT JOIN _temp_rc_org_sim s ON s.l_org = r.l_org AND s.o_org = r.o_org ORDER BY r.listing_id, r.observation_id",
    )
    drop_temp(con, "_temp_rc_org_rows", "_temp_rc_org_sim")
    return out


def roster_hits(con: duckdb.DuckDBPyConnection, prep: Prepared, pairs: str, out: str) -> None:
    """For (listing_id, observation_id) pairs, whether the listing's provider is on the roster / departed list."""
    base = (
        f"SELECT c.listing_id, c.observation_id, r.role, l.name_text AS a, r.name_text AS b, "
        f"l.name_key AS a_key, r.name_key AS b_key FROM {pairs} c JOIN temp_rc_l l USING (listing_id) "
        f"JOIN temp_rc_o_names r USING (observation_id) "
        f"WHERE l.name_key = r.name_key OR list_has_any(l.last_parts, r.last_parts)"
    )
    con.execute(f"CREATE OR REPLACE TEMP TABLE _temp_rc_roster_pairs AS {base}")
    name_matches(con, prep, "SELECT a, b FROM _temp_rc_roster_pairs WHERE a_key <> b_key")
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {out} AS
        SELECT p.listing_id, p.observation_id,
               bool_or(p.role = 'roster') AS on_roster, bool_or(p.role = 'departed') AS departed,
               string_agg(DISTINCT p.b, '; ' ORDER BY p.b) FILTER (WHERE p.role = 'departed') AS departed_name
        FROM _temp_rc_roster_pairs p LEFT JOIN temp_rc_name_match m ON m.a = p.a AND m.b = p.b
        WHERE p.a_key = p.b_key OR m.ok
        GROUP BY ALL
        """
    )


def link_sites(con: duckdb.DuckDBPyConnection, prep: Prepared, threshold: float, workers: int) -> None:
    """Practice-level links listing <-> website (temp_rc_site_links, best site per listing) and provider-level claims."""
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _temp_rc_site_cand AS
        WITH site AS (SELECT observation_id, site_domain, site_root FROM temp_rc_o WHERE kind = 'site'),
        sp AS (SELECT p.observation_id, p.phone_key FROM temp_rc_o_phone p JOIN site USING (observation_id)),
        quiet AS (SELECT phone_key FROM sp GROUP BY phone_key HAVING count(DISTINCT observation_id) <= {BUSY_PHONE})
        SELECT DISTINCT listing_id, observation_id FROM (
            SELECT l.listing_id, s.observation_id FROM temp_rc_l l JOIN site s
              ON l.site_domain = s.site_domain AND (l.site_root = s.site_root OR s.site_root = '')
            UNION ALL
            SELECT l.listing_id, sp.observation_id FROM temp_rc_l l JOIN sp ON sp.phone_key = l.phone_key
              JOIN quiet q ON q.phone_key = l.phone_key
            UNION ALL
            SELECT l.listing_id, a.observation_id FROM temp_rc_l l JOIN temp_rc_o_addr a
              ON a.addr_num = l.addr_num AND a.zip5 = l.zip5 JOIN site USING (observation_id)
            UNION ALL
            SELECT l.listing_id, a.observation_id FROM temp_rc_l l JOIN temp_rc_o_addr a
              ON a.addr_key = l.addr_key JOIN site USING (observation_id)
        )
        """
    )
    address_matches(
        con, prep,
        "SELECT l.addr_key AS a_key, a.addr_key AS b_key FROM _temp_rc_site_cand c JOIN temp_rc_l l USING (listing_id) "
        "JOIN temp_rc_o_addr a USING (observation_id) WHERE a.addr_num = l.addr_num "
        "AND (a.zip5 = l.zip5 OR a.zip5 IS NULL OR l.zip5 IS NULL)",
    )
    roster_hits(con, prep, "_temp_rc_site_cand", "_temp_rc_site_roster")
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _temp_rc_busy_sites AS SELECT site_domain, site_root FROM temp_rc_l
            WHERE site_domain IS NOT NULL GROUP BY ALL HAVING count(DISTINCT zip5) > {BUSY_SITE_ZIPS}"""
    )
    f = _fetch_with_org(
        con,
        """
        SELECT c.listing_id, c.observation_id, l.org_key AS l_org, o.org_key AS o_org,
               CASE WHEN l.site_domain = o.site_domain AND l.site_root = o.site_root THEN 1.0
                    WHEN l.site_domain = o.site_domain AND o.site_root = '' THEN 0.67 ELSE 0.0 END
               * CASE WHEN b.site_domain IS NULL THEN 1.0 ELSE 0.0 END AS f_site,
               CASE WHEN EXISTS (SELECT 1 FROM temp_rc_o_phone p WHERE p.observation_id = c.observation_id
                                 AND p.phone_key = l.phone_key) THEN 1.0 ELSE 0.0 END AS f_phone,
               CASE WHEN EXISTS (SELECT 1 FROM temp_rc_o_addr a WHERE a.observation_id = c.observation_id
                                 AND a.addr_key = l.addr_key) THEN 1.0
                    WHEN EXISTS (SELECT 1 FROM temp_rc_o_addr a JOIN temp_rc_addr_match m
                                 ON m.a_key = l.addr_key AND m.b_key = a.addr_key AND m.ok
                                 WHERE a.observation_id = c.observation_id) THEN 0.99 ELSE 0.0 END AS f_addr,
               CASE WHEN r.on_roster THEN 1.0 ELSE 0.0 END AS f_roster,
               epoch(o.observed_at) AS observed_epoch
        FROM _temp_rc_site_cand c JOIN temp_rc_l l USING (listing_id) JOIN temp_rc_o o USING (observation_id)
        LEFT JOIN _temp_rc_site_roster r USING (listing_id, observation_id)
        LEFT JOIN _temp_rc_busy_sites b ON b.site_domain = l.site_domain AND b.site_root = l.site_root
        """,
        workers,
    )
    n = len(f["listing_id"])
    name = f["org"]
    score = combined_score(f["f_site"], np.zeros(n), f["f_phone"], np.ceil(f["f_addr"]), name, f["f_roster"])
    site, phone, addr = f["f_site"], f["f_phone"], f["f_addr"]
    method = np.select(
        [site >= 1, (phone > 0) & (addr > 0), phone > 0, addr >= 1, addr > 0, site > 0],
        ["website", "phone+address", "phone+name", "address+name", "fuzzy", "website"], "name",
    ).tolist()
    table = pa.table({
        "listing_id": f["listing_id"].cast(pa.string()), "observation_id": f["observation_id"].cast(pa.string()),
        "score": pa.array(score, pa.float64()), "method": pa.array(method, pa.string()),
        "observed_epoch": pa.array(f["observed_epoch"], pa.float64()),
    })
    register_table(con, "_temp_rc_site_scored", table)
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE temp_rc_site_links AS
        SELECT listing_id, observation_id, score, method FROM _temp_rc_site_scored WHERE score >= {threshold}
        QUALIFY row_number() OVER (PARTITION BY listing_id ORDER BY score DESC, observed_epoch DESC, observation_id) = 1
        """
    )
    # provider-level website claims: same site, same person (or NPI)
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _temp_rc_sp_cand AS
        SELECT sl.listing_id, sp.observation_id, sl.score, l.name_text AS a, sp.provider_name AS b,
               l.name_key AS a_key, sp.name_key AS b_key, l.last_parts AS a_parts, sp.last_parts AS b_parts,
               (l.npi_ok IS NOT NULL AND l.npi_ok = sp.npi_ok) AS npi_eq
        FROM temp_rc_site_links sl JOIN temp_rc_o s ON s.observation_id = sl.observation_id
        JOIN temp_rc_o sp ON sp.kind = 'site_provider' AND sp.site_domain = s.site_domain AND sp.site_root = s.site_root
        JOIN temp_rc_l l ON l.listing_id = sl.listing_id
        WHERE (l.npi_ok IS NOT NULL AND l.npi_ok = sp.npi_ok) OR l.name_key = sp.name_key
           OR list_has_any(l.last_parts, sp.last_parts)
        """
    )
    name_matches(con, prep, "SELECT a, b FROM _temp_rc_sp_cand WHERE a_key IS DISTINCT FROM b_key")
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE temp_rc_site_provider_links AS
        SELECT c.listing_id, c.observation_id, c.score, CASE WHEN c.npi_eq THEN 'npi' ELSE 'website+name' END AS method
        FROM _temp_rc_sp_cand c LEFT JOIN temp_rc_name_match m ON m.a = c.a AND m.b = c.b
        WHERE c.npi_eq OR c.a_key = c.b_key OR m.ok
        """
    )


def link_reports(con: duckdb.DuckDBPyConnection, prep: Prepared, threshold: float, workers: int) -> None:
    """Links listing <-> practice report at provider, practice or phone level (temp_rc_report_links)."""
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _temp_rc_rep_cand AS
        WITH rep AS (SELECT * FROM temp_rc_o WHERE kind = 'report')
        SELECT DISTINCT listing_id, observation_id FROM (
            SELECT l.listing_id, r.observation_id FROM temp_rc_l l JOIN rep r ON r.npi_ok = l.npi_ok
            UNION ALL SELECT l.listing_id, r.observation_id FROM temp_rc_l l JOIN rep r ON r.phone_key = l.phone_key
            UNION ALL SELECT l.listing_id, r.observation_id FROM temp_rc_l l JOIN rep r
                ON r.addr_num = l.addr_num AND r.zip5 = l.zip5
        )
        """
    )
    address_matches(
        con, prep,
        "SELECT l.addr_key AS a_key, r.addr_key AS b_key FROM _temp_rc_rep_cand c JOIN temp_rc_l l USING (listing_id) "
        "JOIN temp_rc_o r USING (observation_id) WHERE r.addr_num = l.addr_num",
    )
    name_matches(
        con, prep,
        "SELECT l.name_text AS a, r.provider_name AS b FROM _temp_rc_rep_cand c JOIN temp_rc_l l USING (listing_id) "
        "JOIN temp_rc_o r USING (observation_id) WHERE l.name_key <> r.name_key AND list_has_any(l.last_parts, r.last_parts)",
    )
    f = _fetch_with_org(
        con,
        """
        SELECT c.listing_id, c.observation_id, l.org_key AS l_org, r.org_key AS o_org,
               CASE WHEN l.npi_ok = r.npi_ok THEN 1.0 ELSE 0.0 END AS f_npi,
               CASE WHEN l.phone_key = r.phone_key THEN 1.0 ELSE 0.0 END AS f_phone,
               CASE WHEN l.addr_key = r.addr_key OR coalesce(am.ok, false) THEN 1.0 ELSE 0.0 END AS f_addr,
               CASE WHEN l.name_key = r.name_key OR coalesce(nm.ok, false) THEN 1.0 ELSE 0.0 END AS f_person,
               CASE WHEN r.npi_ok IS NOT NULL OR r.name_key IS NOT NULL THEN 1.0 ELSE 0.0 END AS has_person,
               CASE WHEN r.phone_key IS NOT NULL OR r.addr_key IS NOT NULL THEN 1.0 ELSE 0.0 END AS has_location
        FROM _temp_rc_rep_cand c JOIN temp_rc_l l USING (listing_id) JOIN temp_rc_o r USING (observation_id)
        LEFT JOIN temp_rc_addr_match am ON am.a_key = l.addr_key AND am.b_key = r.addr_key
        LEFT JOIN temp_rc_name_match nm ON nm.a = l.name_text AND nm.b = r.provider_name
        """,
        workers,
    )
    n = len(f["listing_id"])
    zeros = np.zeros(n)
    org = f["org"]
    located = (f["f_phone"] > 0) | (f["f_addr"] > 0) | (f["has_location"] == 0)
    identity = (f["f_npi"] > 0) | (f["f_person"] > 0)
    provider_score = combined_score(zeros, f["f_npi"], f["f_phone"], f["f_addr"], np.maximum(f["f_person"], org), zeros)
    practice_score = combined_score(zeros, zeros, f["f_phone"], f["f_addr"], org, zeros)
    is_provider = (f["has_person"] > 0) & identity & located & (provider_score >= threshold)
    is_practice = (f["has_person"] == 0) & (practice_score >= threshold)
    is_phone = f["f_phone"] > 0
    level = np.where(is_provider, "provider", np.where(is_practice, "practice", np.where(is_phone, "phone", "")))
    score = np.where(is_provider, provider_score, np.where(is_practice, practice_score, 1.0))
    npi, by_name = f["f_npi"] > 0, (f["f_person"] > 0) | (org >= NAME_FLOOR)
    code = (npi * 8 + (f["f_phone"] > 0) * 4 + (f["f_addr"] > 0) * 2 + (~npi & by_name)).astype(np.int64)
    methods = np.where(level == "phone", "phone", METHOD_BY_CODE[code]) if n else np.array([], dtype=object)
    keep = level != ""
    mask = pa.array(keep)
    table = pa.table({
        "listing_id": f["listing_id"].filter(mask).cast(pa.string()),
        "observation_id": f["observation_id"].filter(mask).cast(pa.string()),
        "score": pa.array(score[keep], pa.float64()),
        "method": pa.array(methods[keep].tolist(), pa.string()),
        "level": pa.array(level[keep].tolist(), pa.string()),
    })
    register_table(con, "temp_rc_report_links", table)


def link_directories(con: duckdb.DuckDBPyConnection, prep: Prepared) -> None:
    """Same NPI at the same practice (phone or address) in two insurers' directories (temp_rc_dir_links, both directions)."""
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _temp_rc_dir_cand AS
        SELECT a.listing_id AS left_id, b.listing_id AS right_id, a.addr_key AS a_key, b.addr_key AS b_key,
               (a.phone_key = b.phone_key) AS phone_eq
        FROM temp_rc_l a JOIN temp_rc_l b ON a.npi_ok = b.npi_ok AND a.insurer <> b.insurer AND a.listing_id < b.listing_id
        WHERE a.role = 'audited' AND b.role = 'audited'  -- a reference directory is not another insurer
        """
    )
    address_matches(con, prep, "SELECT a_key, b_key FROM _temp_rc_dir_cand")
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE temp_rc_dir_links AS
        WITH s AS (
            SELECT c.left_id, c.right_id, coalesce(c.phone_eq, false) AS phone_eq,
                   (c.a_key = c.b_key OR coalesce(m.ok, false)) AS addr_eq
            FROM _temp_rc_dir_cand c LEFT JOIN temp_rc_addr_match m ON m.a_key = c.a_key AND m.b_key = c.b_key
        )
        SELECT left_id, right_id,
               CASE WHEN phone_eq AND addr_eq THEN 1.0 ELSE 0.95 END AS score,
               CASE WHEN addr_eq AND phone_eq THEN 'npi+address+phone' WHEN addr_eq THEN 'npi+address'
                    ELSE 'npi+phone' END AS method
        FROM s WHERE phone_eq OR addr_eq
        """
    )


def link_all(con: duckdb.DuckDBPyConnection, prep: Prepared, threshold: float, workers: int = 2) -> pa.Table:
    """Run every linker and return the links (left_id, right_id, score, method, level, kind) as one Arrow table."""
    link_sites(con, prep, threshold, workers)
    link_reports(con, prep, threshold, workers)
    link_directories(con, prep)
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE temp_rc_links AS
        SELECT listing_id AS left_id, observation_id AS right_id, score, method, 'practice' AS level, 'website' AS kind
        FROM temp_rc_site_links
        UNION ALL SELECT listing_id, observation_id, score, method, 'provider', 'website' FROM temp_rc_site_provider_links
        UNION ALL SELECT listing_id, observation_id, score, method, level, 'report' FROM temp_rc_report_links
        UNION ALL SELECT left_id, right_id, score, method, 'directory', 'directory' FROM temp_rc_dir_links
        """
    )
    drop_temp(con, "_temp_rc_site_cand", "_temp_rc_site_scored", "_temp_rc_rep_cand", "_temp_rc_sp_cand", "_temp_rc_dir_cand",
              "_temp_rc_busy_sites")
    return con.execute(
        "SELECT left_id, right_id, score, method, level, kind FROM temp_rc_links ORDER BY kind, left_id, right_id"
    ).to_arrow_table()


# Label-free calibration (Otsu, Fellegi-Sunter EM) lives in reconcile.calibrate; kept importable from here.
from reconcile.calibrate import otsu_threshold  # noqa: F401
