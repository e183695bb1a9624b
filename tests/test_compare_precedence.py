"""Compare's last tie-breaks: equal evidence is decided by the smaller observation_id, whatever the load order."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from reconcile_world import add_listing, add_observation

from reconcile.engine import reconcile
from reconcile.settings import ReconcileSettings
from warehouse.db import connect

AS_OF = dt.date(2026, 11, 24)
LISTING = {"npi": "1234567893", "provider_name": "Smith, John A MD", "practice_name": "Springfield Family Medicine",
           "address": "12 Main St Ste 4", "city": "Springfield", "state": "IL", "zip": "62701",
           "phone": "(217) 555-0100"}


@pytest.fixture()
def con(tmp_path):
    """A real warehouse file."""
    connection = connect(tmp_path / "warehouse.duckdb")
    yield connection
    connection.close()


@pytest.mark.parametrize("first", ["zz00000000000001", "aa00000000000001"])
def test_equal_reports_decided_by_smaller_observation_id(con, first):
    """Two wrong-number calls at the same time: the finding cites the smaller observation_id's call, loaded first or not."""
    lid = add_listing(con, **LISTING)
    other = "aa00000000000001" if first.startswith("zz") else "zz00000000000001"
    phones = {"aa00000000000001": "217.555.0100", "zz00000000000001": "217 555 0100"}  # same number, own spelling
    for oid in (first, other):
        add_observation(con, observation_id=oid, source="secret_shopper", npi="1234567893", provider_name="John Smith",
                        phone=phones[oid], reachable=True, call_outcome="wrong_number", evidence_text=f"call {oid}")
    result = reconcile(con, AS_OF, ReconcileSettings())
    rows = [r for r in result.findings.to_pylist() if r["listing_id"] == lid and r["finding_type"] == "phone"]
    assert len(rows) == 1
    assert rows[0]["observation_id"] == "aa00000000000001"
    assert rows[0]["observed_value"] == "wrong number: 217.555.0100"
    assert rows[0]["evidence_text"] == "call aa00000000000001"
    reach = [r for r in result.observed_values.to_pylist() if r["listing_id"] == lid and r["field"] == "reachable"]
    assert [(r["observation_id"], r["observed_value"], r["agrees"]) for r in reach] == [
        ("aa00000000000001", "wrong_number", True)]
