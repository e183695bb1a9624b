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
Results: TEMP tables temp_rc_site_links, temp_rc_site_provider_links, temp_rc_report_links, temp_rc_dir_links and
the TEMP view temp_rc_links (left_id, right_id, score, method, level, kind, lid, oid, right_lid).

Scale: pairs are generated and joined on the integer surrogate ids lid/oid of temp_rc_l/temp_rc_o (dense ranks of
listing_id/observation_id, so they sort alike), and the score, level and method are decided in SQL
(`combined_score_sql`, bit-identical to `combined_score`); only distinct value pairs (practice names for rapidfuzz,
address keys and person names for the pairwise matchers) cross into Python.
"""

from __future__ import annotations

from collections.abc import Callable
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


def combined_score(site: np.ndarray, npi: np.ndarray, phone: np.ndarray, addr: np.ndarray,
                   name: np.ndarray, roster: np.ndarray) -> np.ndarray:
    """The one link score of the module docstring, vectorized over candidate pairs (combined_score_sql's twin)."""
    name = np.where(name >= NAME_FLOOR, name, 0.0)
    total = W_SITE * site + W_NPI * npi + W_PHONE * phone + W_ADDR * addr + W_NAME * name + W_ROSTER * roster
    return np.round(np.minimum(1.0, total), 4)


def _double(value: float) -> str:
    """A float as an exact DOUBLE literal of DuckDB SQL."""
    return f"CAST({float(value)!r} AS DOUBLE)"


def combined_score_sql(site: str, npi: str, phone: str, addr: str, name: str, roster: str) -> str:
    """combined_score as a DuckDB expression over DOUBLE columns, bit-identical to the numpy form.

    Same IEEE operations in the same order; numpy's round(x, 4) is rint(x * 1e4) / 1e4, i.e. round_even.
    """
    floored = f"(CASE WHEN ({name}) >= {_double(NAME_FLOOR)} THEN ({name}) ELSE {_double(0.0)} END)"
    terms = [(W_SITE, site), (W_NPI, npi), (W_PHONE, phone), (W_ADDR, addr), (W_NAME, floored), (W_ROSTER, roster)]
    total = " + ".join(f"{_double(w)} * ({x})" for w, x in terms)
    return f"(round_even(least({_double(1.0)}, {total}) * {_double(1e4)}, 0) / {_double(1e4)})"


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


def _with_org_similarity(con: duckdb.DuckDBPyConnection, rows: str, workers: int) -> str:
    """Practice-name similarity for the l_org/o_org columns of TEMP table `rows`: a SELECT of rows plus `org`.

    rapidfuzz runs once per DISTINCT (l_org, o_org) pair -- a practice's pairs repeat on every listing of it --
    into TEMP _temp_rc_org_sim, joined back in SQL; no per-pair value ever crosses into Python.
    """
    pairs = con.execute(f"SELECT DISTINCT l_org, o_org FROM {rows} WHERE l_org <> '' AND o_org <> ''").to_arrow_table()
    left, right = pairs.column("l_org").to_pylist(), pairs.column("o_org").to_pylist()
    register_table(con, "_temp_rc_org_sim", pa.table({
        "l_org": pairs.column("l_org"), "o_org": pairs.column("o_org"),
        "org": pa.array(name_similarity(left, right, workers), pa.float64())}))
    return (f"SELECT r.* EXCLUDE (l_org, o_org), coalesce(s.org, {_double(0.0)}) AS org FROM {rows} r "
            f"LEFT JOIN _temp_rc_org_sim s ON s.l_org = r.l_org AND s.o_org = r.o_org")


def roster_hits(con: duckdb.DuckDBPyConnection, prep: Prepared, pairs: str, out: str) -> None:
    """For (listing, observation) pairs, whether the listing's provider is on the roster / departed list.

    `pairs` is a table or subquery with lid/oid (integer ids) or listing_id/observation_id; TEMP `out` has
    listing_id, observation_id, lid, oid, on_roster, departed, departed_name.
    """
    columns = {row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {pairs} _p").fetchall()}
    if {"lid", "oid"} <= columns:
        ids = f"SELECT c.lid, c.oid FROM {pairs} c"
    else:
        ids = (f"SELECT l.lid, o.oid FROM {pairs} c JOIN temp_rc_l l ON l.listing_id = c.listing_id "
               f"JOIN temp_rc_o o ON o.observation_id = c.observation_id")
    # Roster entries with the listing's name key, or (another key) a shared surname piece: two equi-joins, where
    # one join on oid filtered by "key equal or list_has_any" would build every pair x roster entry first (millions).
    # A row may repeat (two shared pieces): harmless, its readers take DISTINCT pairs or bool_or / DISTINCT names.
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _temp_rc_roster_pairs AS
        WITH x AS (
            SELECT c.lid, c.oid, l.listing_id, l.name_text, l.name_key, l.last_parts
            FROM ({ids}) c JOIN temp_rc_l l ON l.lid = c.lid
        )
        SELECT x.lid, r.oid, x.listing_id, r.observation_id, r.role, x.name_text AS a, r.name_text AS b, true AS key_eq
        FROM x JOIN temp_rc_o_names r ON r.oid = x.oid AND r.name_key = x.name_key
        UNION ALL
        -- key_eq is false here, or NULL where the listing has no key (as the single join gave)
        SELECT x.lid, r.oid, x.listing_id, r.observation_id, r.role, x.name_text AS a, r.name_text AS b,
               x.name_key = r.name_key AS key_eq
        FROM (SELECT lid, oid, listing_id, name_text, name_key, unnest(last_parts) AS part FROM x) x
        JOIN (SELECT oid, observation_id, role, name_text, name_key, unnest(last_parts) AS part FROM temp_rc_o_names) r
          ON r.oid = x.oid AND r.part = x.part
        WHERE x.name_key IS DISTINCT FROM r.name_key
        """
    )
    name_matches(con, prep, "SELECT a, b FROM _temp_rc_roster_pairs WHERE NOT key_eq")
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {out} AS
        SELECT any_value(p.listing_id) AS listing_id, any_value(p.observation_id) AS observation_id, p.lid, p.oid,
               bool_or(p.role = 'roster') AS on_roster, bool_or(p.role = 'departed') AS departed,
               string_agg(DISTINCT p.b, '; ' ORDER BY p.b) FILTER (WHERE p.role = 'departed') AS departed_name
        FROM _temp_rc_roster_pairs p LEFT JOIN temp_rc_name_match m ON m.a = p.a AND m.b = p.b
        WHERE p.key_eq OR m.ok
        GROUP BY p.lid, p.oid
        """
    )
    drop_temp(con, "_temp_rc_roster_pairs")


def _flag(condition: str) -> str:
    """A boolean SQL condition as a DOUBLE 1.0/0.0 feature (NULL counts as 0)."""
    return f"(CASE WHEN {condition} THEN {_double(1.0)} ELSE {_double(0.0)} END)"


def link_sites(con: duckdb.DuckDBPyConnection, prep: Prepared, threshold: float, workers: int) -> None:
    """Practice-level links listing <-> website (temp_rc_site_links, best site per listing) and provider-level claims."""
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _temp_rc_site_cand AS
        WITH site AS (SELECT oid, site_domain, site_root FROM temp_rc_o WHERE kind = 'site'),
        sp AS (SELECT p.oid, p.phone_key FROM temp_rc_o_phone p JOIN site USING (oid)),
        quiet AS (SELECT phone_key FROM sp GROUP BY phone_key HAVING count(DISTINCT oid) <= {BUSY_PHONE})
        SELECT DISTINCT lid, oid FROM (
            SELECT l.lid, s.oid FROM temp_rc_l l JOIN site s
              ON l.site_domain = s.site_domain AND (l.site_root = s.site_root OR s.site_root = '')
            UNION ALL
            SELECT l.lid, sp.oid FROM temp_rc_l l JOIN sp ON sp.phone_key = l.phone_key
              JOIN quiet q ON q.phone_key = l.phone_key
            UNION ALL
            SELECT l.lid, a.oid FROM temp_rc_l l JOIN temp_rc_o_addr a
              ON a.addr_num = l.addr_num AND a.zip5 = l.zip5 JOIN site USING (oid)
            UNION ALL
            SELECT l.lid, a.oid FROM temp_rc_l l JOIN temp_rc_o_addr a
              ON a.addr_key = l.addr_key JOIN site USING (oid)
        )
        """
    )
    address_matches(
        con, prep,
        "SELECT l.addr_key AS a_key, a.addr_key AS b_key FROM _temp_rc_site_cand c JOIN temp_rc_l l ON l.lid = c.lid "
        "JOIN temp_rc_o_addr a ON a.oid = c.oid WHERE a.addr_num = l.addr_num "
        "AND (a.zip5 = l.zip5 OR a.zip5 IS NULL OR l.zip5 IS NULL)",
    )
    roster_hits(con, prep, "_temp_rc_site_cand", "_temp_rc_site_roster")
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _temp_rc_busy_sites AS SELECT site_domain, site_root FROM temp_rc_l
            WHERE site_domain IS NOT NULL GROUP BY ALL HAVING count(DISTINCT zip5) > {BUSY_SITE_ZIPS}"""
    )
    # per pair: does the site show the listing's phone / address (exactly, or as addresses_match decided)?
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _temp_rc_site_hits AS
        SELECT c.lid, c.oid, bool_or(a.addr_key = l.addr_key) AS addr_exact, bool_or(coalesce(m.ok, false)) AS addr_fuzzy
        FROM _temp_rc_site_cand c JOIN temp_rc_l l ON l.lid = c.lid JOIN temp_rc_o_addr a ON a.oid = c.oid
        LEFT JOIN temp_rc_addr_match m ON m.a_key = l.addr_key AND m.b_key = a.addr_key
        WHERE l.addr_key IS NOT NULL GROUP BY c.lid, c.oid
        """
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _temp_rc_site_feat AS
        SELECT c.lid, c.oid, l.org_key AS l_org, o.org_key AS o_org, o.observed_at,
               (CASE WHEN l.site_domain = o.site_domain AND l.site_root = o.site_root THEN {_double(1.0)}
                     WHEN l.site_domain = o.site_domain AND o.site_root = '' THEN {_double(0.67)} ELSE {_double(0.0)} END)
               * (CASE WHEN b.site_domain IS NULL THEN {_double(1.0)} ELSE {_double(0.0)} END) AS f_site,
               {_flag("p.oid IS NOT NULL")} AS f_phone,
               CASE WHEN h.addr_exact THEN {_double(1.0)} WHEN h.addr_fuzzy THEN {_double(0.99)}
                    ELSE {_double(0.0)} END AS f_addr,
               {_flag("r.on_roster")} AS f_roster
        FROM _temp_rc_site_cand c JOIN temp_rc_l l ON l.lid = c.lid JOIN temp_rc_o o ON o.oid = c.oid
        LEFT JOIN (SELECT DISTINCT oid, phone_key FROM temp_rc_o_phone) p ON p.oid = c.oid AND p.phone_key = l.phone_key
        LEFT JOIN _temp_rc_site_hits h ON h.lid = c.lid AND h.oid = c.oid
        LEFT JOIN _temp_rc_site_roster r ON r.lid = c.lid AND r.oid = c.oid
        LEFT JOIN _temp_rc_busy_sites b ON b.site_domain = l.site_domain AND b.site_root = l.site_root
        """
    )
    scored = _with_org_similarity(con, "_temp_rc_site_feat", workers)
    score = combined_score_sql("f_site", "0.0", "f_phone", "ceil(f_addr)", "org", "f_roster")
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE temp_rc_site_links AS
        WITH s AS (
            SELECT lid, oid, observed_at, {score} AS score,
                   CASE WHEN f_site >= 1 THEN 'website' WHEN f_phone > 0 AND f_addr > 0 THEN 'phone+address'
                        WHEN f_phone > 0 THEN 'phone+name' WHEN f_addr >= 1 THEN 'address+name'
                        WHEN f_addr > 0 THEN 'fuzzy' WHEN f_site > 0 THEN 'website' ELSE 'name' END AS method
            FROM ({scored})
        ), best AS (
            SELECT lid, oid, score, method FROM s WHERE score >= {threshold}
            -- best score, then newest (an unknown date first, as before), then the lowest observation id
            QUALIFY row_number() OVER (PARTITION BY lid ORDER BY score DESC, observed_at DESC NULLS FIRST, oid) = 1
        )
        SELECT l.listing_id, o.observation_id, b.score, b.method, b.lid, b.oid
        FROM best b JOIN temp_rc_l l ON l.lid = b.lid JOIN temp_rc_o o ON o.oid = b.oid
        """
    )
    drop_temp(con, "_temp_rc_site_hits", "_temp_rc_site_feat", "_temp_rc_org_sim")
    # provider-level website claims: same site, same person (or NPI)
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _temp_rc_sp_cand AS
        SELECT sl.lid, sp.oid, sl.listing_id, sp.observation_id, sl.score, l.name_text AS a, sp.provider_name AS b,
               l.name_key AS a_key, sp.name_key AS b_key, (l.npi_ok IS NOT NULL AND l.npi_ok = sp.npi_ok) AS npi_eq
        FROM temp_rc_site_links sl JOIN temp_rc_o s ON s.oid = sl.oid
        JOIN temp_rc_o sp ON sp.kind = 'site_provider' AND sp.site_domain = s.site_domain AND sp.site_root = s.site_root
        JOIN temp_rc_l l ON l.lid = sl.lid
        WHERE (l.npi_ok IS NOT NULL AND l.npi_ok = sp.npi_ok) OR l.name_key = sp.name_key
           OR list_has_any(l.last_parts, sp.last_parts)
        """
    )
    name_matches(con, prep, "SELECT a, b FROM _temp_rc_sp_cand WHERE a_key IS DISTINCT FROM b_key")
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE temp_rc_site_provider_links AS
        SELECT c.listing_id, c.observation_id, c.score, CASE WHEN c.npi_eq THEN 'npi' ELSE 'website+name' END AS method,
               c.lid, c.oid
        FROM _temp_rc_sp_cand c LEFT JOIN temp_rc_name_match m ON m.a = c.a AND m.b = c.b
        WHERE c.npi_eq OR c.a_key = c.b_key OR m.ok
        """
    )


def link_reports(con: duckdb.DuckDBPyConnection, prep: Prepared, threshold: float, workers: int) -> None:
    """Links listing <-> practice report at provider, practice or phone level (temp_rc_report_links).

    One join of the blocked pairs to both sides (TEMP _temp_rc_rep_pairs) feeds the pairwise address/name
    decisions, the practice-name similarity and the scoring; the score and level are decided in SQL.
    """
    # each block's pairs minus those an earlier block already gave: distinct pairs without a DISTINCT, and the
    # columns ride along from the blocking join (no second join of millions of pairs back to both sides)
    # no string ids in the pairs (millions of rows at national scale): the links take them from lid/oid at the end
    rep = ("(SELECT oid, npi_ok, phone_key, addr_num, zip5, addr_key, name_key, provider_name, "
           "last_parts, org_key FROM temp_rc_o WHERE kind = 'report')")
    columns = """
        SELECT l.lid, r.oid, l.org_key AS l_org, r.org_key AS o_org,
               l.npi_ok = r.npi_ok AS npi_eq, l.phone_key = r.phone_key AS phone_eq,
               l.addr_key = r.addr_key AS addr_eq, r.addr_num = l.addr_num AS num_eq, l.name_key = r.name_key AS name_eq,
               -- the keys/names only where a pairwise decision can still matter (narrower rows at national scale)
               CASE WHEN l.addr_key IS DISTINCT FROM r.addr_key THEN l.addr_key END AS a_key,
               CASE WHEN l.addr_key IS DISTINCT FROM r.addr_key THEN r.addr_key END AS b_key,
               CASE WHEN NOT coalesce(l.name_key = r.name_key, false) THEN l.name_text END AS a,
               CASE WHEN NOT coalesce(l.name_key = r.name_key, false) THEN r.provider_name END AS b,
               list_has_any(l.last_parts, r.last_parts) AS parts_overlap,
               (r.npi_ok IS NOT NULL OR r.name_key IS NOT NULL) AS has_person,
               (r.phone_key IS NOT NULL OR r.addr_key IS NOT NULL) AS has_location
        FROM temp_rc_l l JOIN """ + rep + " r "
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _temp_rc_rep_pairs AS "
        + columns + "ON r.npi_ok = l.npi_ok"
        + " UNION ALL " + columns + "ON r.phone_key = l.phone_key WHERE NOT coalesce(l.npi_ok = r.npi_ok, false)"
        + " UNION ALL " + columns + "ON r.addr_num = l.addr_num AND r.zip5 = l.zip5 "
        "WHERE NOT coalesce(l.npi_ok = r.npi_ok, false) AND NOT coalesce(l.phone_key = r.phone_key, false)"
    )
    address_matches(con, prep, "SELECT a_key, b_key FROM _temp_rc_rep_pairs WHERE num_eq")
    name_matches(con, prep, "SELECT a, b FROM _temp_rc_rep_pairs WHERE NOT name_eq AND parts_overlap")
    scored = _with_org_similarity(con, "_temp_rc_rep_pairs", workers)
    provider = combined_score_sql("0.0", "f_npi", "f_phone", "f_addr", "greatest(f_person, org)", "0.0")
    practice = combined_score_sql("0.0", "0.0", "f_phone", "f_addr", "org", "0.0")
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE temp_rc_report_links AS
        WITH f AS (
            SELECT x.lid, x.oid, x.org, x.has_person, x.has_location,
                   {_flag("x.npi_eq")} AS f_npi, {_flag("x.phone_eq")} AS f_phone,
                   {_flag("x.addr_eq OR coalesce(am.ok, false)")} AS f_addr,
                   {_flag("x.name_eq OR coalesce(nm.ok, false)")} AS f_person
            FROM ({scored}) x
            LEFT JOIN temp_rc_addr_match am ON am.a_key = x.a_key AND am.b_key = x.b_key
            LEFT JOIN temp_rc_name_match nm ON nm.a = x.a AND nm.b = x.b
        ), s AS (
            SELECT *, {provider} AS provider_score, {practice} AS practice_score FROM f
        ), d AS (
            SELECT lid, oid, f_npi > 0 AS npi, f_phone > 0 AS phone, f_addr > 0 AS addr,
                   f_person > 0 OR org >= {_double(NAME_FLOOR)} AS by_name,
                   CASE WHEN has_person AND (f_npi > 0 OR f_person > 0)
                             AND (f_phone > 0 OR f_addr > 0 OR NOT has_location)
                             AND provider_score >= {threshold} THEN 'provider'
                        WHEN NOT has_person AND practice_score >= {threshold} THEN 'practice'
                        WHEN f_phone > 0 THEN 'phone' END AS level,
                   provider_score, practice_score
            FROM s
        )
        SELECT l.listing_id, o.observation_id,
               CASE d.level WHEN 'provider' THEN d.provider_score WHEN 'practice' THEN d.practice_score
                    ELSE {_double(1.0)} END AS score,
               CASE WHEN d.level = 'phone' THEN 'phone'
                    ELSE concat_ws('+', CASE WHEN d.npi THEN 'npi' END, CASE WHEN d.phone THEN 'phone' END,
                                   CASE WHEN d.addr THEN 'address' END,
                                   CASE WHEN NOT d.npi AND d.by_name THEN 'name' END) END AS method,
               d.level, d.lid, d.oid
        FROM d JOIN temp_rc_l l ON l.lid = d.lid JOIN temp_rc_o o ON o.oid = d.oid WHERE d.level IS NOT NULL
        """
    )
    drop_temp(con, "_temp_rc_rep_pairs", "_temp_rc_org_sim")


def link_directories(con: duckdb.DuckDBPyConnection, prep: Prepared) -> None:
    """Same NPI at the same practice (phone or address) in two insurers' directories (temp_rc_dir_links, both directions)."""
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _temp_rc_dir_cand AS
        SELECT a.lid AS left_lid, b.lid AS right_lid, a.addr_key AS a_key, b.addr_key AS b_key,
               (a.phone_key = b.phone_key) AS phone_eq
        FROM temp_rc_l a JOIN temp_rc_l b ON a.npi_ok = b.npi_ok AND a.insurer <> b.insurer AND a.lid < b.lid
        WHERE a.role = 'audited' AND b.role = 'audited'  -- a reference directory is not another insurer
        """
    )
    address_matches(con, prep, "SELECT a_key, b_key FROM _temp_rc_dir_cand")
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE temp_rc_dir_links AS
        WITH s AS (
            SELECT c.left_lid, c.right_lid, coalesce(c.phone_eq, false) AS phone_eq,
                   (c.a_key = c.b_key OR coalesce(m.ok, false)) AS addr_eq
            FROM _temp_rc_dir_cand c LEFT JOIN temp_rc_addr_match m ON m.a_key = c.a_key AND m.b_key = c.b_key
        )
        SELECT a.listing_id AS left_id, b.listing_id AS right_id,
               CASE WHEN phone_eq AND addr_eq THEN 1.0 ELSE 0.95 END AS score,
               CASE WHEN addr_eq AND phone_eq THEN 'npi+address+phone' WHEN addr_eq THEN 'npi+address'
                    ELSE 'npi+phone' END AS method,
               s.left_lid, s.right_lid
        FROM s JOIN temp_rc_l a ON a.lid = s.left_lid JOIN temp_rc_l b ON b.lid = s.right_lid
        WHERE phone_eq OR addr_eq
        """
    )


def link_all(con: duckdb.DuckDBPyConnection, prep: Prepared, threshold: float, workers: int = 2) -> pa.Table:
    """Run every linker and return the links (left_id, right_id, score, method, level, kind) as one Arrow table.

    TEMP temp_rc_links also carries the integer ids: lid (left listing), oid (right observation, NULL for a
    directory link) and right_lid (right listing of a directory link, else NULL).
    """
    link_sites(con, prep, threshold, workers)
    link_reports(con, prep, threshold, workers)
    link_directories(con, prep)
    # a view, not a table: the per-kind link tables are what later stages read; this saves a copy of every link
    con.execute(
        """
        CREATE OR REPLACE TEMP VIEW temp_rc_links AS
        SELECT listing_id AS left_id, observation_id AS right_id, score, method, 'practice' AS level, 'website' AS kind,
               lid, oid, CAST(NULL AS INTEGER) AS right_lid
        FROM temp_rc_site_links
        UNION ALL SELECT listing_id, observation_id, score, method, 'provider', 'website', lid, oid, NULL
        FROM temp_rc_site_provider_links
        UNION ALL SELECT listing_id, observation_id, score, method, level, 'report', lid, oid, NULL FROM temp_rc_report_links
        UNION ALL SELECT left_id, right_id, score, method, 'directory', 'directory', left_lid, NULL, right_lid
        FROM temp_rc_dir_links
        """
    )
    drop_temp(con, "_temp_rc_site_cand", "_temp_rc_sp_cand", "_temp_rc_dir_cand",
              "_temp_rc_busy_sites")
    return _ordered(con.execute(
        f"SELECT {', '.join(LINK_COLUMNS)}, ({ORDER_KEY_SQL}) AS _order FROM temp_rc_links"
    ).to_arrow_table())


# ORDER BY kind, left_id, right_id as one BIGINT: the integer ids sort as the string ids do (dense ranks of them),
# and within a kind the right side is one id space. Sorting this key in numpy and gathering the rows once is
# cheaper than DuckDB sorting every string payload.
_KIND_RANK = {"directory": 0, "report": 1, "website": 2}
ORDER_KEY_SQL = (
    "CAST(CASE kind " + " ".join(f"WHEN '{k}' THEN {r}" for k, r in _KIND_RANK.items()) + " END AS BIGINT) * 2305843009213693952"
    " + CAST(lid AS BIGINT) * 1073741824 + CAST(coalesce(oid, right_lid) AS BIGINT)"  # kind * 2^61 + lid * 2^30 + right (ids < 2^30)
)


def _ordered(table: pa.Table) -> pa.Table:
    """The links without the _order column, in _order order (see ORDER_KEY_SQL)."""
    order = np.argsort(table.column("_order").to_numpy())  # keys are unique: no stability needed
    return table.drop_columns(["_order"]).take(pa.array(order))


# Label-free calibration (Otsu, Fellegi-Sunter EM) lives in reconcile.calibrate; kept importable from here.
from reconcile.calibrate import otsu_threshold  # noqa: F401
