"""Score an audit of the demo world: per finding type precision and recall against the world's truth."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from flows.demo.world import World
from reconcile.findings import DESIGN_FINDING_TYPES as FINDING_TYPES

Key = tuple[str, str, str, str]  # finding type, insurer, npi, house number


@dataclass
class Score:
    """Matches of one finding type: true positives, false positives (extra), false negatives (missed)."""

    tp: int = 0
    fp: list[Key] = field(default_factory=list)
    fn: list[Key] = field(default_factory=list)

    @property
    def precision(self) -> float:
        """Share of reported findings that are expected (1.0 when nothing was reported)."""
        return self.tp / (self.tp + len(self.fp)) if self.tp + len(self.fp) else 1.0

    @property
    def recall(self) -> float:
        """Share of expected findings that were reported (1.0 when nothing was expected)."""
        return self.tp / (self.tp + len(self.fn)) if self.tp + len(self.fn) else 1.0


def house_number(address: str | None) -> str:
    """The leading house number of a street line: enough to tell a practice's locations apart."""
    found = re.match(r"\s*(\d+)", address or "")
    return found.group(1) if found else ""


def found_findings(con: Any) -> list[dict[str, Any]]:
    """Open findings with their listing's NPI and published address (from the `findings` and `listings` views)."""
    rows = con.execute(
        "SELECT f.finding_type, f.insurer, coalesce(f.npi, l.npi) AS npi, coalesce(l.address, f.address) AS address, "
        "f.listing_id FROM findings f LEFT JOIN listings l USING (listing_id) "
        "WHERE coalesce(f.status, 'open') = 'open'").fetchall()
    return [dict(zip(("finding_type", "insurer", "npi", "address", "listing_id"), r)) for r in rows]


def score(world: World, found: list[dict[str, Any]]) -> dict[str, Score]:
    """Precision/recall per finding type; keys are (type, insurer, NPI, house number of the listing address)."""
    expected = {(t.finding_type, t.insurer, t.npi, house_number(t.address_line)) for t in world.truth}
    got = {(f["finding_type"], f["insurer"], f["npi"] or "", house_number(f["address"])) for f in found}
    scores = {kind: Score() for kind in FINDING_TYPES}
    for key in got:
        entry = scores.setdefault(key[0], Score())
        if key in expected:
            entry.tp += 1
        else:
            entry.fp.append(key)
    for key in expected - got:
        scores[key[0]].fn.append(key)
    return scores


def near_miss_hits(world: World, found: list[dict[str, Any]]) -> list[tuple[str, str, str, str]]:
    """Findings (any type) on listings that differ from the evidence only in formatting."""
    near = {(n.insurer, n.npi, house_number(n.address_line)) for n in world.near_misses}
    return [(f["finding_type"], f["insurer"], f["npi"] or "", house_number(f["address"])) for f in found
            if (f["insurer"], f["npi"] or "", house_number(f["address"])) in near]
