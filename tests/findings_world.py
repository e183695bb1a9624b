"""Test helper: store runs of known findings through the real warehouse.store.save_reconcile, at fixed dates."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from typing import Any

import duckdb
import pyarrow as pa

from reconcile.call_metrics import METRICS_SCHEMA
from warehouse.runs import finish_run, start_run
from warehouse.store import save_reconcile

FINDING_SCHEMA = pa.schema([
    ("finding_id", pa.string()), ("finding_type", pa.string()), ("insurer", pa.string()), ("listing_id", pa.string()),
    ("npi", pa.string()), ("provider_name", pa.string()), ("address", pa.string()), ("field", pa.string()),
    ("directory_value", pa.string()), ("observed_value", pa.string()), ("evidence_source", pa.string()),
    ("evidence_url", pa.string()), ("evidence_text", pa.string()), ("observed_at", pa.timestamp("us")),
    ("severity", pa.string()), ("confidence", pa.float64()), ("evidence_sha256", pa.string()),
    ("observation_id", pa.string()), ("link_method", pa.string()), ("link_score", pa.float64()),
])
LINK_SCHEMA = pa.schema([("left_id", pa.string()), ("right_id", pa.string()), ("score", pa.float64()),
                         ("method", pa.string()), ("level", pa.string()), ("kind", pa.string())])
OBSERVED_SCHEMA = pa.schema([
    ("listing_id", pa.string()), ("insurer", pa.string()), ("field", pa.string()), ("directory_value", pa.string()),
    ("observed_value", pa.string()), ("agrees", pa.bool_()), ("evidence_source", pa.string()),
    ("observation_id", pa.string()), ("observed_at", pa.timestamp("us")),
])
TYPE_FIELD = {"phone": "phone", "address": "address", "accepting_status": "accepting_status",
              "stale_listing": "last_updated", "insurer_not_accepted": "insurer", "unreachable": "phone",
              "provider_not_at_location": "provider", "cross_directory_conflict": "phone"}


def finding(finding_id: str, finding_type: str = "phone", insurer: str = "Acme Health", severity: str = "high",
            **extra: Any) -> dict[str, Any]:
    """One finding row (as reconcile would produce it) with sensible defaults."""
    row = {
        "finding_id": finding_id, "finding_type": finding_type, "insurer": insurer,
        "listing_id": f"lst-{finding_id}", "npi": "1234567893", "provider_name": f"Dr. {finding_id}",
        "address": "12 Main St", "field": TYPE_FIELD.get(finding_type, finding_type),
        "directory_value": "217-555-0999", "observed_value": "217-555-0100", "evidence_source": "website",
        "evidence_url": f"https://practice.example/{finding_id}/contact", "evidence_text": "Call us at 217-555-0100",
        "observed_at": dt.datetime(2026, 1, 1, 9, 0), "severity": severity, "confidence": 0.9,
        "evidence_sha256": "0" * 64, "observation_id": f"obs-{finding_id}", "link_method": "npi", "link_score": 1.0,
    }
    row.update(extra)
    return row


def save_run(con: duckdb.DuckDBPyConnection, as_of: dt.date, findings: list[dict[str, Any]],
             run_id: str | None = None, observed: list[dict[str, Any]] | None = None) -> tuple[str, Any]:
    """Record a run at `as_of` whose reconcile saw exactly `findings`; returns (run_id, save summary)."""
    run = start_run(con, as_of, run_id=run_id or f"run-{as_of.isoformat()}")
    result = SimpleNamespace(
        links=pa.Table.from_pylist([], schema=LINK_SCHEMA),
        findings=pa.Table.from_pylist(findings, schema=FINDING_SCHEMA),
        metrics=pa.Table.from_pylist([], schema=METRICS_SCHEMA),
        observed_values=pa.Table.from_pylist(observed or [], schema=OBSERVED_SCHEMA),
    )
    summary = save_reconcile(con, run, as_of, result)
    finish_run(con, run, "ok")
    return run, summary
