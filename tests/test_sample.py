"""Secret-shopper sampling (size, allocation, reproducible draws) and call metrics over a real warehouse."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crawlers.landing import write_records
from reconcile.call_metrics import call_metrics, median_interval
from reconcile.sample import allocate, design, draw, sample_size
from warehouse.db import connect
from warehouse.load import load_landing


@pytest.mark.parametrize(("population", "margin", "confidence", "expected"), [
    (10_000, 0.05, 0.95, 370),    # the worked example
    (500, 0.05, 0.95, 218),
    (1_000, 0.05, 0.95, 278),     # the usual published table values
    (100, 0.05, 0.95, 80),
    (1_000_000, 0.05, 0.95, 384),  # with the correction; 385 is the infinite-population figure
    (10**12, 0.05, 0.95, 385),
    (10_000, 0.03, 0.99, 1_557),
    (10, 0.05, 0.95, 10),          # never more than the population
    (0, 0.05, 0.95, 0),
])
def test_sample_size_worked_examples(population: int, margin: float, confidence: float, expected: int) -> None:
    assert sample_size(population, margin, confidence) == expected


def test_sample_size_rejects_nonsense() -> None:
    for bad in ({"margin": 0}, {"margin": 1.5}, {"confidence": 1}):
        with pytest.raises(ValueError):
            sample_size(100, **{"margin": 0.05, **bad})


def test_allocation_is_proportional_with_a_minimum_and_sums_to_n() -> None:
    counts = allocate({"family": 5_000, "cardio": 3_000, "derm": 1_990, "rare": 10}, 370)
    assert counts["rare"] == 2  # 0.37 by proportion, lifted to the minimum
    assert sum(counts.values()) == 370
    # the other 368 are shared in proportion: 184.2, 110.5, 73.3 -> largest remainder gives cardio the extra call
    assert (counts["family"], counts["cardio"], counts["derm"]) == (184, 111, 73)


def test_minimums_may_force_more_than_n_and_never_exceed_a_stratum() -> None:
    assert allocate({"a": 1, "b": 5, "c": 5}, 3, minimum=2) == {"a": 1, "b": 2, "c": 2}
    assert allocate({"a": 3, "b": 100}, 50, minimum=5) == {"a": 3, "b": 47}
    assert allocate({"a": 0, "b": 4}, 10) == {"a": 0, "b": 4}


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.text(min_size=1, max_size=4), st.integers(0, 5_000), min_size=1, max_size=12),
       st.integers(0, 3_000), st.integers(0, 5))
def test_allocation_invariants(strata: dict[str, int], n: int, minimum: int) -> None:
    counts = allocate(strata, n, minimum)
    assert set(counts) == set(strata)
    if n == 0:
        assert sum(counts.values()) == 0
        return
    floors = {k: min(minimum, size) for k, size in strata.items()}
    for key, size in strata.items():
        assert floors[key] <= counts[key] <= size
    target = min(n, sum(strata.values()))
    assert sum(counts.values()) == max(target, sum(floors.values()))


def _frame(n: int = 300) -> list[dict]:
    """Listings over three specialties and a few ZIPs."""
    specialties = ["Family Medicine"] * 6 + ["Cardiology"] * 3 + ["Dermatology"]
    return [{"listing_id": f"L{i:04d}", "specialty": specialties[i % 10], "zip": f"6{i % 3}70{i % 10}"}
            for i in range(n)]


def test_draw_is_reproducible_from_the_seed_and_independent_of_row_order() -> None:
    frame = _frame()
    first = draw(frame, 60, ["specialty"], seed=42)
    shuffled = frame[:]
    random.Random(1).shuffle(shuffled)
    assert [r["listing_id"] for r in draw(shuffled, 60, ["specialty"], seed=42)] == [r["listing_id"] for r in first]
    other = {r["listing_id"] for r in draw(frame, 60, ["specialty"], seed=43)}
    assert other != {r["listing_id"] for r in first}
    assert len({r["listing_id"] for r in first}) == len(first) == 60
    by_stratum: dict[str, int] = {}
    for row in first:
        by_stratum[row["stratum"]] = by_stratum.get(row["stratum"], 0) + 1
    assert by_stratum == {"Family Medicine": 36, "Cardiology": 18, "Dermatology": 6}


def test_draw_is_roughly_uniform_within_a_stratum() -> None:
    frame = _frame(200)
    hits = {r["listing_id"]: 0 for r in frame}
    for seed in range(300):
        for row in draw(frame, 20, [], seed=seed):
            hits[row["listing_id"]] += 1
    # each listing is drawn with probability 0.1 -> about 30 times in 300 draws; none is never or always drawn
    assert 10 <= min(hits.values()) and max(hits.values()) <= 55


def test_design_reports_n_fpc_and_allocation() -> None:
    plan = design({"a": 6_000, "b": 4_000}, 0.05)
    assert plan.population == 10_000 and plan.n == 370 and plan.total == 370
    assert round(plan.n0, 1) == 384.1
    assert 0.98 < plan.fpc < 0.99  # sqrt((10000 - 370) / 9999)


def test_median_interval() -> None:
    median, low, high = median_interval(list(range(1, 102)))  # 1..101
    assert median == 51
    assert low < 51 < high and high - low < 25
    assert median_interval([7]) == (7.0, 7.0, 7.0)


# --- call metrics over a real warehouse ------------------------------------------------------------------


def _listing(i: int, insurer: str, status: str, npi: str, phone: str) -> dict:
    """One listing landing record."""
    return {"listing_id": f"{insurer[:1]}{i}", "insurer": insurer, "directory_kind": "fhir", "npi": npi,
            "provider_name": f"Provider {i}", "address": f"{10 + i} Main St", "city": "Springfield", "state": "IL",
            "zip": "62701", "phone": phone, "accepting_status": status, "specialty": "Family Medicine",
            "source_url": "http://127.0.0.1/fhir", "fetched_at": "2026-11-01T00:00:00Z"}


def test_call_metrics_per_insurer(tmp_path: Path) -> None:
    from reconcile.normalize.npi import npi_check_digit

    npis = [f"12345678{i}" + npi_check_digit(f"12345678{i}") for i in range(5)]
    phones = [f"217-555-01{i:02d}" for i in range(5)]
    listings = [_listing(i, "Acme", "accepting", npis[i], phones[i]) for i in range(5)]
    listings.append(_listing(9, "Cobalt", "not_accepting", npis[0], phones[0]))
    landing = tmp_path / "landing"
    write_records(str(landing), "listings", "acme", "20261101T000000Z-aaaaaa", listings)

    def report(i: int, **answers) -> dict:
        """A secret-shopper report for NPI i dialled at its listed phone."""
        base = {"observation_id": f"o{i}-{answers.get('day', 20)}", "source": "secret_shopper", "npi": npis[i],
                "phone": "+1" + phones[i].replace("-", ""), "observed_at": f"2026-11-{answers.pop('day', 20)}",
                "accepting_status": "unknown", "raw": {}}
        raw = answers.pop("raw", {})
        base.update(answers)
        base["raw"].update(raw)
        return base

    reports = [
        report(0, reachable=True, call_outcome="reached", accepting_status="accepting",
               first_appointment="2026-11-27", raw={"provider_at_location": True}),                # accurate, 7 days
        report(1, reachable=True, call_outcome="reached", accepting_status="not_accepting",
               first_appointment="2026-12-20"),                                                     # status wrong, 30
        report(2, reachable=True, call_outcome="not_at_location", accepting_status="unknown"),     # not there
        report(3, reachable=False, call_outcome="no_answer"),                                      # unreachable
        report(4, reachable=True, call_outcome="reached", accepting_status="accepting",
               insurers_not_accepted=["acme"], first_appointment="2026-11-30"),                     # refuses Acme, 10
        report(4, day=26, reachable=True, call_outcome="reached", accepting_status="accepting"),   # after as_of
    ]
    write_records(str(landing), "observations", "reports", "20261121T000000Z-bbbbbb", reports)
    con = connect(str(tmp_path / "w.duckdb"))
    summary = load_landing(con, str(landing))
    assert not summary.errors and summary.quarantined == 0
    table = call_metrics(con, dt.date(2026, 11, 25))
    con.close()
    got = {(r["insurer"], r["metric"]): r for r in table.to_pylist()}
    assert table.column_names == ["insurer", "plan", "metric", "field", "numerator", "denominator", "value",
                                  "ci_low", "ci_high", "method"]
    acme = {metric: (r["numerator"], r["denominator"]) for (ins, metric), r in got.items() if ins == "Acme"}
    assert acme == {
        "share_reachable": (4, 5),
        "share_accepting_as_listed": (2, 3),  # reached, listed accepting, status given: 0, 1, 4 -> 0 and 4 agree
        "share_fully_accurate": (1, 5),       # only report 0
        "median_days_to_appointment": (None, 3),
    }
    assert got[("Acme", "median_days_to_appointment")]["value"] == 10  # waits of 7, 10 and 30 days
    reach = got[("Acme", "share_reachable")]
    assert reach["value"] == 0.8 and reach["method"] == "wilson"
    assert reach["ci_low"] == pytest.approx(0.376, abs=0.001) and reach["ci_high"] == pytest.approx(0.964, abs=0.001)
    # Cobalt lists NPI 0 at the same phone as not accepting: the office said accepting, so not as listed/accurate.
    cobalt = {metric: (r["numerator"], r["denominator"]) for (ins, metric), r in got.items() if ins == "Cobalt"}
    assert cobalt["share_reachable"] == (1, 1)
    assert cobalt["share_accepting_as_listed"] == (0, 0)
    assert cobalt["share_fully_accurate"] == (0, 1)
