"""The national-scale SQL of reconcile.findings gives exactly what the plain formulation gives (issue 7).

cross_findings_sql compares linked directory listings on their keys first and fetches texts only for the chosen
conflicts; the reference below is the plain formulation (every pair x field with its texts, then the choice).
Both run on the same seeded TEMP tables in a real DuckDB and must return the same rows.
"""

from __future__ import annotations

import datetime as dt
import random

import duckdb
import pyarrow as pa
import pytest

from reconcile.findings import cross_findings_sql, first_per_key

REFERENCE_SQL = """
    WITH pairs AS (
        SELECT left_id AS a, right_id AS b, score, method FROM temp_rc_dir_links
        UNION ALL SELECT right_id, left_id, score, method FROM temp_rc_dir_links
    ), diffs AS (
        SELECT p.a, p.b, p.score, p.method, f.field,
               CASE f.field WHEN 'accepting_status' THEN la.status WHEN 'phone' THEN la.phone
                            ELSE la.address_display END AS a_value,
               CASE f.field WHEN 'accepting_status' THEN lb.status WHEN 'phone' THEN lb.phone
                            ELSE lb.address_display END AS b_value,
               lb.insurer AS b_insurer, lb.source_url AS b_url, lb.fetched_at AS b_fetched
        FROM pairs p JOIN temp_rc_l la ON la.listing_id = p.a JOIN temp_rc_l lb ON lb.listing_id = p.b
        CROSS JOIN (VALUES ('accepting_status'), ('phone'), ('address')) f(field)
        LEFT JOIN temp_rc_addr_match m ON m.a_key = la.addr_key AND m.b_key = lb.addr_key
        LEFT JOIN temp_rc_addr_match m2 ON m2.a_key = lb.addr_key AND m2.b_key = la.addr_key
        WHERE CASE f.field
                WHEN 'accepting_status' THEN la.takes IS NOT NULL AND lb.takes IS NOT NULL AND la.takes <> lb.takes
                WHEN 'phone' THEN la.phone_key IS NOT NULL AND lb.phone_key IS NOT NULL AND la.phone_key <> lb.phone_key
                ELSE la.addr_key IS NOT NULL AND lb.addr_key IS NOT NULL AND la.addr_key <> lb.addr_key
                     AND NOT coalesce(m.ok, m2.ok, false) END
    ), placed AS (
        SELECT d.*, va.contradicts AS a_wrong, vb.contradicts AS b_wrong FROM diffs d
        LEFT JOIN temp_rc_verdict va ON va.listing_id = d.a AND va.field = d.field
        LEFT JOIN temp_rc_verdict vb ON vb.listing_id = d.b AND vb.field = d.field
    )
    SELECT 'cross_directory_conflict' AS finding_type, l.insurer, l.listing_id, l.npi,
           l.name_text AS provider_name, l.address_display AS address, p.field, p.a_value AS directory_value,
           p.b_value AS observed_value, 'directory:' || p.b_insurer AS evidence_source, p.b_url AS evidence_url,
           p.b_insurer || ' lists ' || p.field || ': ' || p.b_value AS evidence_text, p.b_fetched AS observed_at,
           'medium' AS severity, round(0.6 * p.score, 4) AS confidence, NULL AS evidence_sha256,
           p.b AS observation_id, p.method AS link_method, p.score AS link_score
    FROM placed p JOIN temp_rc_l l ON l.listing_id = p.a
    WHERE l.role = 'audited'
      AND ((p.a_wrong IS NULL AND p.b_wrong IS NULL) OR p.a_wrong OR (p.a_wrong IS NULL AND p.b_wrong = false))
    QUALIFY row_number() OVER (PARTITION BY l.listing_id, p.field ORDER BY p.score DESC, p.b_fetched DESC, p.b) = 1
"""


def _world(con: duckdb.DuckDBPyConnection, seed: int, n: int = 240) -> None:
    """Seeded TEMP tables as the link and compare stages leave them: listings, directory links, address matches,
    verdicts, with NULLs, equal and different keys, fuzzy-matched addresses and ties on score and date."""
    rng = random.Random(seed)
    pick = rng.choice
    listings = []
    for lid in range(1, n + 1):
        listings.append({
            "listing_id": f"{pick(['acme', 'cobalt', 'summit'])}-{lid:04d}", "lid": lid,
            "insurer": pick(["Acme Health", "Cobalt Care", "Summit Mutual"]),
            "role": pick(["audited"] * 5 + ["reference"]),
            "npi": pick(["1234567893", None]), "name_text": pick(["Ann Lee", "ANN LEE MD", None]),
            "address_display": pick(["12 Main St, Springfield, IL 62701", "12 Main Street Ste 4", None]),
            "addr_key": pick(["K1", "K2", "K3", None]),
            "status": pick(["accepting", "not_accepting", "waitlist", None]),
            "takes": pick([True, False, None]), "phone": pick(["(217) 555-0100", "217-555-0199", None]),
            "phone_key": pick(["+12175550100", "+12175550199", None]),
            "source_url": pick(["https://acme.example/p/1", None]),
            "fetched_at": pick([dt.datetime(2026, 11, 1), dt.datetime(2026, 11, 2), None]),
        })
    con.register("_l", pa.Table.from_pylist(listings))
    con.execute("CREATE TEMP TABLE temp_rc_l AS SELECT * FROM _l")
    pairs = {tuple(sorted(rng.sample(range(1, n + 1), 2))) for _ in range(n * 2)}
    links = [{"left_id": listings[a - 1]["listing_id"], "right_id": listings[b - 1]["listing_id"],
              "score": pick([1.0, 0.95]), "method": pick(["npi+address+phone", "npi+phone"]),
              "left_lid": a, "right_lid": b} for a, b in sorted(pairs)]
    con.register("_d", pa.Table.from_pylist(links))
    con.execute("CREATE TEMP TABLE temp_rc_dir_links AS SELECT left_id, right_id, CAST(score AS DECIMAL(3,2)) AS score,"
                " method, CAST(left_lid AS INTEGER) AS left_lid, CAST(right_lid AS INTEGER) AS right_lid FROM _d")
    con.execute("CREATE TEMP TABLE temp_rc_addr_match AS SELECT * FROM (VALUES ('K1', 'K2', true), ('K3', 'K1', false),"
                " ('K2', 'K3', true), ('K2', 'K1', false)) t(a_key, b_key, ok)")
    verdicts = [{"listing_id": row["listing_id"], "field": field, "contradicts": pick([True, False])}
                for row in listings for field in ("accepting_status", "phone", "address", "provider")
                if rng.random() < 0.5]
    con.register("_v", pa.Table.from_pylist(verdicts))
    con.execute("CREATE TEMP TABLE temp_rc_verdict AS SELECT * FROM _v")


@pytest.mark.parametrize("seed", range(6))
def test_cross_findings_equal_the_plain_formulation(seed):
    """Same rows (every column, same types) as the plain pairs x fields formulation, on seeded worlds."""
    con = duckdb.connect()
    _world(con, seed)
    new = con.execute(cross_findings_sql()).to_arrow_table()
    old = con.execute(REFERENCE_SQL).to_arrow_table()
    assert new.schema == old.schema
    assert old.num_rows > 10  # the world has conflicts to find
    keys = [("listing_id", "ascending"), ("field", "ascending")]
    assert new.sort_by(keys).to_pylist() == old.sort_by(keys).to_pylist()


def test_first_per_key_keeps_the_first_row_of_each_key():
    """Rows sorted on the key: the first row of each run of equal keys is kept, in order."""
    table = pa.table({"k": ["a", "a", "b", "c", "c", "c"], "v": [1, 2, 3, 4, 5, 6]})
    assert first_per_key(table, "k").to_pydict() == {"k": ["a", "b", "c"], "v": [1, 3, 4]}
    distinct = pa.table({"k": ["a", "b"], "v": [1, 2]})
    assert first_per_key(distinct, "k") is distinct
    assert first_per_key(distinct.slice(0, 0), "k").num_rows == 0
