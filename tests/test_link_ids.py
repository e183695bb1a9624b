"""Link stage on integer surrogate ids (issue 7): lid/oid columns, SQL scoring, output order."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from reconcile_scale import load_world, write_world

from reconcile.batch import prepare
from reconcile.link import (
    W_NAME,
    combined_score,
    combined_score_sql,
    link_all,
    roster_hits,
)
from reconcile.settings import ReconcileSettings
from warehouse.db import connect

SETTINGS = ReconcileSettings(known_insurers=("Acme Health", "Cobalt Care", "Summit Mutual"))


@pytest.fixture(scope="module")
def linked(tmp_path_factory):
    """A generated 1,500-listing world in a real warehouse file, normalized and linked (TEMP tables kept)."""
    folder = tmp_path_factory.mktemp("world")
    # benchmarks/reconcile_world.py (the Generator), not tests/reconcile_world.py that other test modules import
    spec = importlib.util.spec_from_file_location("bench_reconcile_world", ROOT / "benchmarks" / "reconcile_world.py")
    generator = importlib.util.module_from_spec(spec)
    sys.modules["bench_reconcile_world"] = generator  # dataclasses look their module up while it executes
    spec.loader.exec_module(generator)
    saved = sys.modules.get("reconcile_world")
    sys.modules["reconcile_world"] = generator
    try:
        write_world(1500, 11, folder)
    finally:
        if saved is not None:
            sys.modules["reconcile_world"] = saved
        else:
            sys.modules.pop("reconcile_world", None)
    con = connect(folder / "warehouse.duckdb")
    load_world(con, folder)
    con.execute("SET preserve_insertion_order = false")
    prep = prepare(con, SETTINGS)
    links = link_all(con, prep, SETTINGS.link_threshold, 2)
    yield con, prep, links
    con.close()


@pytest.mark.parametrize("table, sid, iid", [("temp_rc_l", "listing_id", "lid"), ("temp_rc_o", "observation_id", "oid")])
def test_surrogate_ids_are_dense_unique_and_sort_like_the_string_ids(linked, table, sid, iid):
    """lid/oid are 1..n, one per string id, and ordering by them is ordering by the string id."""
    con = linked[0]
    n, distinct, low, high = con.execute(
        f"SELECT count(DISTINCT {sid}), count(DISTINCT {iid}), min({iid}), max({iid}) FROM {table}").fetchone()
    assert n > 100 and (distinct, low, high) == (n, 1, n)
    by_string = [r[0] for r in con.execute(f"SELECT {iid} FROM {table} ORDER BY {sid}").fetchall()]
    assert by_string == sorted(by_string)
    assert con.execute(f"SELECT typeof({iid}) FROM {table} LIMIT 1").fetchone()[0] == "INTEGER"


@pytest.mark.parametrize("table", ["temp_rc_o_phone", "temp_rc_o_addr", "temp_rc_o_names", "temp_rc_o_ins"])
def test_exploded_observation_tables_carry_the_observation_oid(linked, table):
    """Every exploded row's oid is its observation's oid in temp_rc_o."""
    con = linked[0]
    rows, wrong = con.execute(
        f"SELECT count(*), count(*) FILTER (WHERE x.oid IS DISTINCT FROM o.oid) FROM {table} x "
        f"LEFT JOIN temp_rc_o o USING (observation_id)").fetchone()
    assert rows > 0 and wrong == 0


@pytest.mark.parametrize("table, left, right, right_ids", [
    ("temp_rc_site_links", "listing_id", "observation_id", ("temp_rc_o", "observation_id", "oid")),
    ("temp_rc_site_provider_links", "listing_id", "observation_id", ("temp_rc_o", "observation_id", "oid")),
    ("temp_rc_report_links", "listing_id", "observation_id", ("temp_rc_o", "observation_id", "oid")),
    ("temp_rc_dir_links", "left_id", "right_id", ("temp_rc_l", "listing_id", "lid")),
])
def test_link_tables_carry_integer_ids_matching_their_string_ids(linked, table, left, right, right_ids):
    """The lid/oid on each link table name the same listing/observation as its string ids."""
    con = linked[0]
    lcol = "left_lid" if table == "temp_rc_dir_links" else "lid"
    rcol = "right_lid" if table == "temp_rc_dir_links" else "oid"
    rtable, rsid, riid = right_ids
    rows, wrong = con.execute(
        f"SELECT count(*), count(*) FILTER (WHERE l.lid IS DISTINCT FROM k.{lcol} OR r.{riid} IS DISTINCT FROM k.{rcol}) "
        f"FROM {table} k LEFT JOIN temp_rc_l l ON l.listing_id = k.{left} LEFT JOIN {rtable} r ON r.{rsid} = k.{right}"
    ).fetchone()
    assert rows > 0 and wrong == 0


def test_link_all_is_ordered_by_kind_left_and_right_id(linked):
    """The returned links come in (kind, left_id, right_id) order, as a sort of the strings gives."""
    links = linked[2]
    assert links.num_rows > 1000 and set(links.column("kind").to_pylist()) == {"website", "report", "directory"}
    assert links.equals(links.sort_by([("kind", "ascending"), ("left_id", "ascending"), ("right_id", "ascending")]))


def test_temp_rc_links_has_the_returned_links_and_their_integer_ids(linked):
    """temp_rc_links holds the same rows as link_all returned, with lid and oid/right_lid set per kind."""
    con, _, links = linked
    assert con.execute("SELECT count(*) FROM temp_rc_links").fetchone()[0] == links.num_rows
    missing = con.execute(
        "SELECT count(*) FILTER (WHERE lid IS NULL), count(*) FILTER (WHERE kind = 'directory' AND right_lid IS NULL), "
        "count(*) FILTER (WHERE kind <> 'directory' AND oid IS NULL) FROM temp_rc_links").fetchone()
    assert missing == (0, 0, 0)


def test_roster_hits_is_the_same_from_integer_or_string_pair_ids(linked):
    """roster_hits accepts pairs with lid/oid or with listing_id/observation_id and decides the same."""
    con, prep, _ = linked
    pairs = "(SELECT listing_id, observation_id, lid, oid FROM temp_rc_site_links)"
    roster_hits(con, prep, pairs, "_temp_rc_t_int")
    roster_hits(con, prep, "(SELECT listing_id, observation_id FROM temp_rc_site_links)", "_temp_rc_t_str")
    a = con.execute("SELECT * FROM _temp_rc_t_int ORDER BY lid, oid").fetchall()
    b = con.execute("SELECT * FROM _temp_rc_t_str ORDER BY lid, oid").fetchall()
    assert a and a == b
    assert any(row[4] for row in a)  # someone is on a roster


def test_combined_score_sql_is_bit_identical_to_numpy(linked):
    """The SQL score equals combined_score exactly, including ties at the 4th decimal and the name floor."""
    con = linked[0]
    rng = np.random.default_rng(3)
    ties = (np.arange(2000, 4444) + 0.5) / 10_000 / W_NAME  # name alone scores k + 0.5 ten-thousandths: round-half ties
    n = 20_000 + len(ties)
    alone = np.r_[np.ones(20_000), np.zeros(len(ties))]  # the tie rows have no other signal
    cols = {
        "site": rng.choice([0.0, 0.67, 1.0], n) * alone, "npi": rng.choice([0.0, 1.0], n) * alone,
        "phone": rng.choice([0.0, 1.0], n) * alone, "addr": rng.choice([0.0, 0.99, 1.0], n) * alone,
        "name": np.r_[rng.random(20_000).astype(np.float32).astype(np.float64), ties],
        "roster": rng.choice([0.0, 1.0], n) * alone,
    }
    scaled = np.minimum(1.0, W_NAME * ties) * 1e4
    assert ((scaled - np.floor(scaled)) == 0.5).sum() > 1000  # the data does exercise exact halves
    expected = combined_score(cols["site"], cols["npi"], cols["phone"], cols["addr"], cols["name"], cols["roster"])
    con.register("_t_scores", pa.table(cols))
    got = con.execute("SELECT " + combined_score_sql("site", "npi", "phone", "addr", "name", "roster")
                      + " FROM _t_scores").fetchnumpy()
    con.unregister("_t_scores")
    score = next(iter(got.values()))
    assert np.array_equal(score, expected)
