"""The run's cheaper paths keep their results: observed-value order, listings checked, plan metrics without plans."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path


sys.path.insert(0, str(Path(__file__).parent))

from reconcile_world import add_listing, add_observation

from reconcile.engine import reconcile
from reconcile.plan_metrics import PLAN_OF_LISTING_SQL, plan_accuracy_rows
from reconcile.settings import ReconcileSettings
from test_plan_metrics import npi

AS_OF = dt.date(2026, 11, 24)
PLAN_A = {"plan_id": "11111IL0010001"}
PLAN_B = {"plan_id": "11111IL0020002"}
# Listing ids whose string order differs from insertion order and from any numeric reading of them.
IDS = ("b-2", "a-10", "c-1", "a-9")


def listing(con, i: int, listing_id: str, **extra) -> str:
    """One audited listing numbered i at its own address and phone."""
    return add_listing(con, listing_id=listing_id, npi=npi(i),
                       provider_name=f"Doctor{chr(65 + i)} Person{chr(65 + i)} MD", address=f"{100 + i} Main St",
                       city="Springfield", state="IL", zip="62701",
                       phone=f"(217) 555-{100 + i:04d}", **extra)


def call(con, i: int, listing_id: str | None = None, **answers) -> None:
    """A secret-shopper call about listing i (carrying its listing id when given)."""
    add_observation(con, source="secret_shopper", npi=npi(i), provider_name=f"Doctor{chr(65 + i)} Person{chr(65 + i)}",
                    phone=f"(217) 555-{100 + i:04d}", address=f"{100 + i} Main St", zip="62701",
                    raw={"listing_id": listing_id} if listing_id else None, **answers)


def test_observed_values_sorted_by_string_listing_id_and_listings_checked_counted(con):
    for i, lid in enumerate(IDS, start=1):
        listing(con, i, lid)
    for i in (1, 2, 4):  # listing 3 ("c-1") gets no evidence
        call(con, i, reachable=True, call_outcome="reached", accepting_status="not_accepting")
    result = reconcile(con, AS_OF, ReconcileSettings())
    keys = [(r["listing_id"], r["field"]) for r in result.observed_values.to_pylist()]
    assert keys == sorted(keys)
    assert {k[0] for k in keys} == {"b-2", "a-10", "a-9"}
    assert result.listings_checked == 3


def test_no_plan_data_gives_no_plan_rows_but_other_metrics(con):
    for i, lid in enumerate(IDS, start=1):
        listing(con, i, lid)
        call(con, i, reachable=True, call_outcome="reached", accepting_status="accepting")
    result = reconcile(con, AS_OF, ReconcileSettings())
    metrics = result.metrics.to_pylist()
    assert not [r for r in metrics if r["metric"] == "plan_accuracy"]
    assert [r for r in metrics if r["metric"] == "accuracy" and r["denominator"] == 4]


def test_sample_rows_only_for_called_listings_plans_census_for_all(con):
    called = listing(con, 1, "a-1", plans=[PLAN_A])
    listing(con, 2, "a-2", plans=[PLAN_B])
    call(con, 1, called, reachable=True, call_outcome="reached", accepting_status="accepting")
    call(con, 2, reachable=True, call_outcome="reached", accepting_status="not_accepting")  # no call-list id
    result = reconcile(con, AS_OF, ReconcileSettings())
    rows = {(r["plan"], r["method"]): (r["numerator"], r["denominator"])
            for r in result.metrics.to_pylist() if r["metric"] == "plan_accuracy"}
    assert rows == {(PLAN_A["plan_id"], "census"): (1, 1), (PLAN_B["plan_id"], "census"): (0, 1),
                    (PLAN_A["plan_id"], "sample"): (1, 1)}


def test_plan_rows_need_no_run_tables_when_no_listing_has_plans(con):
    listing(con, 1, "a-1")
    # No TEMP verdict tables exist outside a run: without plan data nothing is aggregated, so this cannot fail.
    assert plan_accuracy_rows(con, AS_OF) == []
    assert con.execute(f"SELECT count(*) FROM ({PLAN_OF_LISTING_SQL})").fetchone()[0] == 0
