"""Test helpers for the reconcile tests: write listings and observations straight into a real warehouse file."""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
from typing import Any

import duckdb

LISTING_DEFAULTS: dict[str, Any] = {
    "run_id": "load-1", "insurer": "Acme Health", "directory_kind": "fhir", "role": "audited",
    "source_url": "https://fhir.acme.example/PractitionerRole", "fetched_at": dt.datetime(2026, 11, 1, 12, 0),
    "last_updated": dt.datetime(2026, 10, 1), "accepting_status": "accepting",
}
OBSERVATION_DEFAULTS: dict[str, Any] = {
    "run_id": "load-1", "observed_at": dt.datetime(2026, 11, 10, 9, 0), "confidence": 1.0,
}
_ids = itertools.count(1)


def add_listing(con: duckdb.DuckDBPyConnection, **values: Any) -> str:
    """Insert one directory listing (defaults filled in) and return its listing_id."""
    row = {**LISTING_DEFAULTS, **values}
    row.setdefault("listing_id", hashlib.sha1(f"L{next(_ids)}".encode()).hexdigest()[:16])
    if "plans" in row and not isinstance(row["plans"], str):
        row["plans"] = json.dumps(row["plans"])
    cols = list(row)
    con.execute(
        f"INSERT INTO listing_rows ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})",
        [row[c] for c in cols],
    )
    return row["listing_id"]


def add_observation(con: duckdb.DuckDBPyConnection, **values: Any) -> str:
    """Insert one observation (website claim or report row) and return its observation_id."""
    row = {**OBSERVATION_DEFAULTS, **values}
    row.setdefault("observation_id", hashlib.sha1(f"O{next(_ids)}".encode()).hexdigest()[:16])
    if "raw" in row and not isinstance(row["raw"], str):
        row["raw"] = json.dumps(row["raw"])
    if row.get("source") == "website":
        row.setdefault("evidence_url", (row.get("site_url") or "") + "/contact")
        row.setdefault("evidence_text", "verbatim page text")
    else:
        row.setdefault("evidence_url", "reports/calls.csv")
        row.setdefault("evidence_text", "report row")
    cols = list(row)
    con.execute(
        f"INSERT INTO observation_records ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})",
        [row[c] for c in cols],
    )
    return row["observation_id"]


def add_site(con: duckdb.DuckDBPyConnection, **values: Any) -> str:
    """Insert a practice-level website observation (provider_name NULL) for a site."""
    values.setdefault("source", "website")
    return add_observation(con, **values)
