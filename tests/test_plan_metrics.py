"""Per-plan accuracy (census and sample, Wilson 95 %) and the per-plan secret-shopper sample."""

from __future__ import annotations

import csv
import datetime as dt
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parent))

from flows.cli import build_app  # noqa: E402
from reconcile.engine import reconcile  # noqa: E402
from reconcile.normalize.npi import npi_check_digit  # noqa: E402
from reconcile.sample import draw_per_plan, per_plan_allocation, per_plan_design  # noqa: E402
from reconcile.settings import ReconcileSettings  # noqa: E402
from reconcile_world import add_listing, add_observation  # noqa: E402
from warehouse.db import connect  # noqa: E402
from warehouse.store import save_reconcile  # noqa: E402

AS_OF = dt.date(2026, 11, 24)
PLAN_A = {"plan_id": "11111IL0010001", "plan_id_type": "HIOS-PLAN-ID", "network_tier": "PREFERRED", "years": [2026]}
PLAN_B = {"plan_id": "11111IL0020002", "plan_id_type": "HIOS-PLAN-ID", "network_tier": "PREFERRED", "years": [2026]}
# Wilson 95 % intervals worked by hand (z = 1.959964): centre (p + z²/2n)/(1 + z²/n), half-width
# z·sqrt(p(1-p)/n + z²/4n²)/(1 + z²/n).
WILSON_3_OF_5 = (0.2307, 0.8824)
WILSON_1_OF_2 = (0.0945, 0.9055)
WILSON_3_OF_4 = (0.3006, 0.9544)


def npi(i: int) -> str:
    """A valid NPI numbered i."""
    first9 = f"1{i:08d}"
    return first9 + npi_check_digit(first9)


def listing(con, i: int, plans: list[dict], status: str = "accepting", **extra) -> str:
    """One audited listing numbered i at its own address and phone, in the given plans."""
    return add_listing(con, npi=npi(i), provider_name=f"Doctor{chr(65 + i)} Person{chr(65 + i)} MD",
                       address=f"{100 + i} Main St", city="Springfield", state="IL", zip="62701",
                       phone=f"(217) 555-{100 + i:04d}", accepting_status=status, plans=plans, **extra)


def attest(con, i: int, status: str) -> None:
    """A provider-level attestation about listing i's accepting status."""
    add_observation(con, source="attestation", npi=npi(i), provider_name=f"Doctor{chr(65 + i)} Person{chr(65 + i)}",
                    address=f"{100 + i} Main St", city="Springfield", state="IL", zip="62701",
                    accepting_status=status)


def plan_rows(result) -> dict[tuple[str, str], dict]:
    """plan_accuracy metric rows keyed by (plan, method)."""
    return {(r["plan"], r["method"]): r for r in result.metrics.to_pylist() if r["metric"] == "plan_accuracy"}


def test_census_per_plan_accuracy_with_hand_computed_wilson(con):
    # plan A: listings 1-5 checked, 1 and 2 contradicted -> 3/5; plan B: listings 5 (ok) and 6 (wrong) -> 1/2
    for i in range(1, 5):
        listing(con, i, [PLAN_A])
    listing(con, 5, [PLAN_A, PLAN_B])
    listing(con, 6, [PLAN_B])
    listing(con, 7, [PLAN_A])  # no evidence: not checked, not counted
    listing(con, 8, [])  # in no plan
    for i, said in ((1, "not_accepting"), (2, "existing_only"), (3, "accepting"), (4, "accepting"),
                    (5, "accepting"), (6, "not_accepting"), (8, "not_accepting")):
        attest(con, i, said)
    result = reconcile(con, AS_OF, ReconcileSettings())
    rows = plan_rows(result)
    assert set(rows) == {(PLAN_A["plan_id"], "census"), (PLAN_B["plan_id"], "census")}
    a, b = rows[(PLAN_A["plan_id"], "census")], rows[(PLAN_B["plan_id"], "census")]
    assert (a["numerator"], a["denominator"], b["numerator"], b["denominator"]) == (3, 5, 1, 2)
    assert a["field"] == "all" and a["insurer"] == "Acme Health"
    assert (a["ci_low"], a["ci_high"]) == pytest.approx(WILSON_3_OF_5, abs=1e-4)
    assert (b["ci_low"], b["ci_high"]) == pytest.approx(WILSON_1_OF_2, abs=1e-4)
    save_reconcile(con, "run-1", AS_OF, result)
    stored = con.execute("SELECT plan, method, numerator, denominator FROM metrics WHERE metric = 'plan_accuracy' "
                         "ORDER BY plan").fetchall()
    assert stored == [(PLAN_A["plan_id"], "census", 3, 5), (PLAN_B["plan_id"], "census", 1, 2)]


def test_plan_net_networks_stand_in_when_no_plan_ids(con):
    listing(con, 1, [], networks=["Acme Gold Network"])
    attest(con, 1, "not_accepting")
    rows = plan_rows(reconcile(con, AS_OF, ReconcileSettings()))
    assert rows[("Acme Gold Network", "census")]["numerator"] == 0
    assert rows[("Acme Gold Network", "census")]["denominator"] == 1


def test_sample_per_plan_accuracy_is_judged_on_the_calls_only(con):
    ids = {i: listing(con, i, [PLAN_A]) for i in range(1, 7)}
    calls = {1: dict(reachable=True, call_outcome="reached", accepting_status="accepting"),
             2: dict(reachable=True, call_outcome="reached", accepting_status="unknown"),
             3: dict(reachable=True, call_outcome="reached", accepting_status="limited"),
             4: dict(reachable=True, call_outcome="wrong_number"),
             5: dict(reachable=None, call_outcome=None)}  # unknown reachability: not counted
    for i, answers in calls.items():
        add_observation(con, source="secret_shopper", npi=npi(i), phone=f"(217) 555-{100 + i:04d}",
                        address=f"{100 + i} Main St", zip="62701", raw={"listing_id": ids[i]}, **answers)
    # an older call on listing 1 that failed: the newest call counts
    add_observation(con, source="secret_shopper", npi=npi(1), phone="(217) 555-0101", reachable=False,
                    call_outcome="no_answer", raw={"listing_id": ids[1]}, observed_at=dt.datetime(2026, 11, 1))
    # listing 6 was never called: it can count in the census, never in the sample
    rows = plan_rows(reconcile(con, AS_OF, ReconcileSettings()))
    sample = rows[(PLAN_A["plan_id"], "sample")]
    assert (sample["numerator"], sample["denominator"]) == (3, 4)
    assert (sample["ci_low"], sample["ci_high"]) == pytest.approx(WILSON_3_OF_4, abs=1e-4)


def test_per_plan_allocation_oversamples_small_plans():
    allocation = per_plan_allocation({"big": 10_000, "small": 50, "tiny": 3}, 0.05)
    assert allocation == {"big": 370, "small": 45, "tiny": 3}  # Cochran + FPC per plan (see test_sample examples)
    design = per_plan_design({"big": 10_000, "small": 50}, 0.05)
    assert design.total == 415 and design.strata_cols == ["plan"]


def test_draw_per_plan_calls_a_shared_listing_once_and_is_reproducible():
    pairs = [{"listing_id": f"L{i}", "plan": "A"} for i in range(40)]
    pairs += [{"listing_id": f"L{i}", "plan": "B"} for i in range(30, 50)]
    first = draw_per_plan(pairs, {"A": 10, "B": 10}, seed=7)
    again = draw_per_plan(list(reversed(pairs)), {"A": 10, "B": 10}, seed=7)
    assert first == again
    ids = [r["listing_id"] for r in first]
    assert len(ids) == len(set(ids))
    per_plan = {p: sum(p in r["stratum"].split("; ") for r in first) for p in ("A", "B")}
    assert per_plan == {"A": 10, "B": 10}
    assert draw_per_plan(pairs, {"A": 10, "B": 10}, seed=8) != first


def test_cli_sample_per_plan_matches_the_pure_draw(tmp_path):
    con = connect(tmp_path / "w.duckdb")
    listing_ids = {}
    for i in range(1, 31):
        plans = [PLAN_A] if i <= 25 else [PLAN_B]
        if i in (24, 25):
            plans = [PLAN_A, PLAN_B]
        listing_ids[i] = listing(con, i, plans)
    pairs = [{"listing_id": lid, "plan": p["plan_id"]} for i, lid in listing_ids.items()
             for p in ([PLAN_A] if i <= 23 else [PLAN_A, PLAN_B] if i in (24, 25) else [PLAN_B])]
    con.close()
    (tmp_path / "ghostcheck.toml").write_text('[warehouse]\npath = "w.duckdb"\n')
    out = tmp_path / "calls.csv"
    result = CliRunner().invoke(build_app(), ["sample", "-c", str(tmp_path / "ghostcheck.toml"), "--insurer",
                                              "Acme Health", "--out", str(out), "--per-plan", "--seed", "3",
                                              "--margin", "0.2"])
    assert result.exit_code == 0, result.output
    with open(out, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    allocation = per_plan_allocation({PLAN_A["plan_id"]: 25, PLAN_B["plan_id"]: 7}, 0.2)
    # hand: n0 = 1.96² · 0.25 / 0.2² = 24.01; plan A (25): 24.01 / (1 + 23.01/25) -> 13; plan B (7) -> 6
    assert allocation == {PLAN_A["plan_id"]: 13, PLAN_B["plan_id"]: 6}  # the small plan is oversampled: 86 % vs 52 %
    expected = draw_per_plan(pairs, allocation, seed=3)
    assert [(r["listing_id"], r["stratum"]) for r in rows] == [(e["listing_id"], e["stratum"]) for e in expected]
    result = CliRunner().invoke(build_app(), ["sample", "-c", str(tmp_path / "ghostcheck.toml"), "--insurer",
                                              "Acme Health", "--out", str(out), "--per-plan", "--strata", "state"])
    assert result.exit_code == 2 and "--per-plan" in result.output


def test_per_plan_call_list_round_trip_gives_sample_rows(tmp_path):
    """sample --per-plan -> callers fill the CSV -> ingest reports -> load -> reconcile: plan_accuracy method sample."""
    con = connect(tmp_path / "w.duckdb")
    for i in range(1, 9):
        listing(con, i, [PLAN_A] if i <= 6 else [PLAN_B])
    con.close()
    (tmp_path / "ghostcheck.toml").write_text('[warehouse]\npath = "w.duckdb"\nlanding = "landing"\n')
    config = str(tmp_path / "ghostcheck.toml")
    calls = tmp_path / "calls.csv"
    runner = CliRunner()
    result = runner.invoke(build_app(), ["sample", "-c", config, "--insurer", "Acme Health", "--out", str(calls),
                                         "--per-plan", "--seed", "1", "--margin", "0.05"])
    assert result.exit_code == 0, result.output
    with open(calls, encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        fields, rows = reader.fieldnames, list(reader)
    assert len(rows) == 8  # both plans are small: every listing is called
    wrong = {rows[0]["listing_id"]}
    for r in rows:
        r.update(reached="no" if r["listing_id"] in wrong else "yes",
                 call_outcome="disconnected" if r["listing_id"] in wrong else "reached",
                 correct_location="yes", provider_at_location="yes", accepts_plan="yes",
                 accepting_new_patients="yes", reported_at="2026-11-20")
    with open(calls, "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    for args in (["ingest", "reports", str(calls), "-c", config], ["load", "-c", config],
                 ["reconcile", "-c", config, "--as-of", AS_OF.isoformat()]):
        result = runner.invoke(build_app(), args)
        assert result.exit_code == 0, (args, result.output)
    con = connect(tmp_path / "w.duckdb")
    got = con.execute("SELECT plan, numerator, denominator FROM metrics WHERE metric = 'plan_accuracy' "
                      "AND method = 'sample' ORDER BY plan").fetchall()
    con.close()
    wrong_plan = next(r["plan"] for r in rows if r["listing_id"] in wrong)
    expected = {PLAN_A["plan_id"]: [6, 6], PLAN_B["plan_id"]: [2, 2]}
    expected[wrong_plan][0] -= 1
    assert got == [(plan, num, den) for plan, (num, den) in sorted(expected.items())]
