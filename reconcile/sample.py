"""Secret-shopper sampling: sample size for a margin of error, stratified allocation, reproducible draws.

Pure functions (no I/O). The sample size is Cochran's n0 = z^2 p(1-p) / e^2 with the finite-population
correction n = n0 / (1 + (n0 - 1) / N), rounded up: N = 10,000, e = 5 %, 95 % gives 370; N = 500 gives 218;
N = 1,000,000 gives 384 (385 without the correction). Allocation is proportional to stratum size with a
minimum per stratum and largest-remainder rounding. The draw ranks each row by md5(seed | row id) within its
stratum and takes the lowest ranks, so it is reproducible from the seed and independent of row order.
Per-plan samples (`ghostcheck sample --per-plan`) size every plan on its own: see per_plan_design.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from reconcile.stats import z_value

__all__ = ["sample_size", "allocate", "draw", "stratum_key", "SampleDesign", "design", "UNKNOWN_STRATUM",
           "per_plan_allocation", "per_plan_design", "draw_per_plan"]

UNKNOWN_STRATUM = "(unknown)"


def _check_fraction(name: str, value: float) -> None:
    """Reject fractions outside (0, 1) with a message naming the argument."""
    if not (0 < value < 1):
        raise ValueError(f"{name} must be between 0 and 1 (exclusive), got {value}")


def infinite_sample_size(margin: float, confidence: float = 0.95, p: float = 0.5) -> float:
    """Cochran's n0 = z^2 p (1 - p) / margin^2: the sample size for an infinite population (not rounded)."""
    _check_fraction("margin", margin)
    _check_fraction("confidence", confidence)
    _check_fraction("p", p)
    z = z_value(confidence)
    return z * z * p * (1 - p) / (margin * margin)


def sample_size(population: int, margin: float, confidence: float = 0.95, p: float = 0.5) -> int:
    """Calls needed to estimate a share within ±margin at the confidence level, with finite-population correction."""
    if population < 0:
        raise ValueError(f"population must be >= 0, got {population}")
    n0 = infinite_sample_size(margin, confidence, p)
    if population == 0:
        return 0
    n = n0 / (1 + (n0 - 1) / population)
    return min(population, math.ceil(n - 1e-9))


def _largest_remainder(quotas: dict[str, float], total: int, sizes: Mapping[str, int]) -> dict[str, int]:
    """Round quotas to integers summing to total: floors, then +1 to the largest remainders (ties: bigger stratum, name)."""
    counts = {k: math.floor(q) for k, q in quotas.items()}
    left = total - sum(counts.values())
    order = sorted(quotas, key=lambda k: (-(quotas[k] - counts[k]), -sizes[k], k))
    for key in order:
        if left <= 0:
            break
        if counts[key] < sizes[key]:
            counts[key] += 1
            left -= 1
    return counts


def allocate(strata: Mapping[str, int], n: int, minimum: int = 2) -> dict[str, int]:
    """Split n calls across strata in proportion to their sizes, at least `minimum` each (never more than a stratum has).

    The result sums to min(n, total population) unless the minimums alone need more, in which case every stratum
    gets its minimum and the total exceeds n (the CLI prints the larger total); n = 0 gives all zeros. Rounding is
    largest-remainder (ties: larger stratum first, then name, so the result is deterministic).
    """
    if n < 0 or minimum < 0:
        raise ValueError("n and minimum must be >= 0")
    sizes = {k: max(0, int(v)) for k, v in strata.items()}
    population = sum(sizes.values())
    target = min(n, population)
    if target == 0:
        return {k: 0 for k in strata}
    floors = {k: min(minimum, size) for k, size in sizes.items()}
    if sum(floors.values()) >= target:
        return floors
    fixed: dict[str, int] = {}
    free = dict(sizes)
    while True:  # strata whose share falls below their floor (or above their size) are fixed, the rest re-shared
        budget = target - sum(fixed.values())
        free_pop = sum(free.values())
        quotas = {k: budget * size / free_pop if free_pop else 0.0 for k, size in free.items()}
        pinned = {k: floors[k] for k, q in quotas.items() if q < floors[k]}
        pinned.update({k: sizes[k] for k, q in quotas.items() if q > sizes[k]})
        if not pinned:
            break
        fixed.update(pinned)
        for key in pinned:
            free.pop(key)
        if not free:
            break
    counts = _largest_remainder(quotas, target - sum(fixed.values()), sizes) if free else {}
    counts.update(fixed)
    return {k: counts.get(k, 0) for k in strata}


def stratum_key(row: Mapping[str, Any], strata_cols: Sequence[str]) -> str:
    """The stratum label of a row: its strata column values joined by ' | ' (blank values -> '(unknown)')."""
    if not strata_cols:
        return "all"
    parts = []
    for col in strata_cols:
        value = row.get(col)
        text = " ".join(str(value).split()) if value is not None else ""
        parts.append(text or UNKNOWN_STRATUM)
    return " | ".join(parts)


def _rows(frame: pa.Table | Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Rows of an Arrow table or a list of dicts, as dicts."""
    if isinstance(frame, pa.Table):
        return frame.to_pylist()
    return [dict(r) for r in frame]


def _row_id(row: Mapping[str, Any]) -> str:
    """A row's identity for ranking: listing_id when present, else its canonical JSON."""
    if row.get("listing_id") not in (None, ""):
        return str(row["listing_id"])
    return json.dumps(row, sort_keys=True, default=str)


def _rank(seed: int | str, row_id: str) -> str:
    """A row's pseudo-random rank: md5(seed | row id), stable across Python versions and machines."""
    return hashlib.md5(f"{seed}|{row_id}".encode("utf-8")).hexdigest()


@dataclass
class SampleDesign:
    """The sample's design as printed by `ghostcheck sample`."""

    population: int
    margin: float
    confidence: float
    n0: float  # infinite-population size
    n: int  # after finite-population correction
    fpc: float  # sqrt((N - n) / (N - 1)), the correction factor of the standard error
    strata_cols: list[str] = field(default_factory=list)
    strata: dict[str, int] = field(default_factory=dict)  # stratum -> population
    allocation: dict[str, int] = field(default_factory=dict)  # stratum -> calls

    @property
    def total(self) -> int:
        """Calls to make (may exceed n when stratum minimums force it)."""
        return sum(self.allocation.values())


def design(strata: Mapping[str, int], margin: float, confidence: float = 0.95, minimum: int = 2,
           strata_cols: Sequence[str] = (), p: float = 0.5) -> SampleDesign:
    """Size and allocate a stratified sample for strata populations (see module docstring for the formulas)."""
    population = sum(strata.values())
    n = sample_size(population, margin, confidence, p)
    fpc = math.sqrt((population - n) / (population - 1)) if population > 1 else 0.0
    return SampleDesign(population, margin, confidence, infinite_sample_size(margin, confidence, p), n, fpc,
                        list(strata_cols), dict(strata), allocate(strata, n, minimum))


def draw(frame: pa.Table | Sequence[Mapping[str, Any]], n: int, strata_cols: Sequence[str], seed: int | str,
         minimum: int = 2) -> list[dict[str, Any]]:
    """Draw a stratified random sample of about n rows (see allocate), reproducible from the seed.

    Each returned row gets a `stratum` key. Rows come back ordered by stratum, then by rank.
    """
    rows = _rows(frame)
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(stratum_key(row, strata_cols), []).append(row)
    counts = allocate({k: len(v) for k, v in groups.items()}, n, minimum)
    chosen: list[dict[str, Any]] = []
    for key in sorted(groups):
        ranked = sorted(groups[key], key=lambda r: (_rank(seed, _row_id(r)), _row_id(r)))
        for row in ranked[: counts[key]]:
            chosen.append({**row, "stratum": key})
    return chosen


def per_plan_allocation(plans: Mapping[str, int], margin: float, confidence: float = 0.95, minimum: int = 2,
                        p: float = 0.5) -> dict[str, int]:
    """Calls per plan when every plan is sized on its own (oversampling small plans); see per_plan_design."""
    return {plan: min(size, max(minimum, sample_size(size, margin, confidence, p))) if size > 0 else 0
            for plan, size in plans.items()}


def per_plan_design(plans: Mapping[str, int], margin: float, confidence: float = 0.95, minimum: int = 2,
                    p: float = 0.5) -> SampleDesign:
    """A per-plan sample: each plan gets the calls it needs for ±margin on its OWN accuracy.

    Rule (documented in docs/insurers.md): calls(plan) = min(N_plan, max(minimum, n(N_plan))) with n the
    Cochran size with finite-population correction of the plan's own listings, so small plans are oversampled
    relative to a proportional split (N = 50 gives 45 calls, N = 10,000 gives 370; a proportional split of 415
    calls would give the small plan 2). A listing in several plans is ranked once (md5(seed | listing_id)), so the
    plans' samples overlap as much as possible and one call counts for every plan the listing is in.
    """
    population = sum(plans.values())
    allocation = per_plan_allocation(plans, margin, confidence, minimum, p)
    n = sum(allocation.values())
    fpc = math.sqrt(max(population - n, 0) / (population - 1)) if population > 1 else 0.0
    return SampleDesign(population, margin, confidence, infinite_sample_size(margin, confidence, p), n, fpc,
                        ["plan"], dict(plans), allocation)


def draw_per_plan(pairs: Sequence[Mapping[str, Any]], allocation: Mapping[str, int],
                  seed: int | str) -> list[dict[str, Any]]:
    """Draw per plan from (listing_id, plan) rows: the allocation's lowest md5(seed|listing_id) ranks in each plan.

    Returns one row per distinct listing, `stratum` = the '; '-joined plans that drew it, ordered by rank.
    """
    groups: dict[str, list[str]] = {}
    for pair in pairs:
        groups.setdefault(str(pair["plan"]), []).append(str(pair["listing_id"]))
    chosen: dict[str, list[str]] = {}
    for plan in sorted(groups):
        ranked = sorted(set(groups[plan]), key=lambda lid: (_rank(seed, lid), lid))
        for listing_id in ranked[: allocation.get(plan, 0)]:
            chosen.setdefault(listing_id, []).append(plan)
    order = sorted(chosen, key=lambda lid: (_rank(seed, lid), lid))
    return [{"listing_id": lid, "stratum": "; ".join(chosen[lid])} for lid in order]
