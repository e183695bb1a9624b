"""add_actions works through the findings in slices (memory at national scale): the result must not depend on it."""

from __future__ import annotations

import sys
from pathlib import Path

import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parent))

from reconcile import actions
from reconcile.actions import Contact, add_actions, recommend_all


def _row(listing: str, ftype: str, field: str, source: str, observed: str, confidence: float = 0.9,
         directory_value: str = "x") -> dict:
    """One finding row with the columns the rules read."""
    return {"finding_type": ftype, "field": field, "evidence_source": source, "observed_value": observed,
            "confidence": confidence, "listing_id": listing, "provider_name": f"Dr {listing}", "npi": "1234567893",
            "address": "12 Main St, Springfield, IL 62701", "insurer": "Acme Health",
            "observed_at": "2026-11-10 09:00:00", "directory_value": directory_value, "evidence_text": observed}


def test_slices_give_the_same_actions_as_one_pass_even_across_a_listing_split_between_slices(monkeypatch):
    rows = []
    for i in range(7):
        listing = f"L{i}"
        # stale first and unreachable last on the same listing: with 2-row slices they land in different slices
        rows.append(_row(listing, "stale_listing", "last_updated", "directory", "400 days old", 1.0, "2025-10-01"))
        rows.append(_row(listing, "phone", "phone", "website", f"(217) 555-01{i:02d}; 217.555.0199"))
        if i % 2 == 0:
            rows.append(_row(listing, "unreachable", "reachable", "secret_shopper", "no_answer"))
    contacts = {f"L{i}": Contact(f"Practice {i}", "217-555-0100") for i in range(0, 7, 3)}
    expected = recommend_all(rows, contacts)
    monkeypatch.setattr(actions, "_CHUNK_ROWS", 2)
    table = add_actions(pa.Table.from_pylist(rows), contacts)
    assert table.column("recommended_action").to_pylist() == [a.action for a in expected]
    assert table.column("proposed_value").to_pylist() == [a.proposed_value for a in expected]
    assert table.column("action_reason").to_pylist() == [a.reason for a in expected]
    # the listing split across slices still sees its unreachable finding
    assert table.column("recommended_action").to_pylist()[0] == "suppress_until_verified"
    assert table.column("action_reason").combine_chunks().type == pa.string()


def test_no_findings_gives_empty_string_action_columns():
    table = add_actions(pa.Table.from_pylist([_row("L1", "phone", "phone", "website", "x")]).slice(0, 0))
    assert table.num_rows == 0
    assert [table.schema.field(c).type for c in actions.ACTION_COLUMNS] == [pa.string()] * 3
