"""Accuracy floor on the labelled claims corpus (tests/data/claims): dev and held-out splits."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from crawlers.extract.insurers import insurer_key
from crawlers.extract.page import extract_page

CORPUS = Path(__file__).parent / "data" / "claims"
# Measured with benchmarks/claims_accuracy.py (see benchmarks/RESULTS.md), minus a small margin.
FLOORS = {"dev": (0.98, 0.98), "heldout": (0.96, 0.97)}


def load(split: str) -> list[dict]:
    """One split of the corpus."""
    return [json.loads(line) for line in (CORPUS / f"{split}.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]


def test_corpus_shape() -> None:
    """At least 220 passages, >= 60 hard negatives, ~25% held out, every label and field present."""
    dev, held = load("dev"), load("heldout")
    rows = dev + held
    assert len(rows) >= 220 and len(held) / len(rows) >= 0.2
    counts = Counter(r["status"] for r in rows)
    assert set(counts) == {"accepting", "not_accepting", "existing_only", "waitlist", "limited", "unknown"}
    hard_negatives = [r for r in rows if r["status"] == "unknown" and not r["insurers_accepted"] and not r["insurers_not_accepted"]]
    assert len(hard_negatives) >= 60
    assert len({r["id"] for r in rows}) == len(rows)
    for r in rows:
        assert ("text" in r) != ("html" in r) and {"insurers_accepted", "insurers_not_accepted", "known_insurers", "note"} <= set(r)


@pytest.mark.parametrize("split", ["dev", "heldout"])
def test_accuracy_floor(split: str) -> None:
    """Status accuracy and exact insurer-list rate stay at or above the measured floor."""
    rows = load(split)
    status_ok = insurers_ok = 0
    for r in rows:
        page = extract_page(r.get("html") or r["text"], f"https://corpus.example/{r['id']}", "t", "h", r["known_insurers"])
        status_ok += page.status == r["status"]
        same = lambda got, want: {insurer_key(x) for x in got} == {insurer_key(x) for x in want}  # noqa: E731
        insurers_ok += same(page.insurers_accepted, r["insurers_accepted"]) and same(page.insurers_not_accepted, r["insurers_not_accepted"])
    status_floor, insurer_floor = FLOORS[split]
    assert status_ok / len(rows) >= status_floor
    assert insurers_ok / len(rows) >= insurer_floor
