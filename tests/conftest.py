"""Shared pytest setup: an isolated Prefect home and no analytics, for every test."""

from __future__ import annotations

import os
import tempfile

import duckdb
import pytest

_PREFECT_HOME = tempfile.mkdtemp(prefix="ghostcheck-prefect-")
os.environ.setdefault("PREFECT_HOME", _PREFECT_HOME)
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_TO_API_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")


@pytest.fixture(scope="module")
def module_duckdb(tmp_path_factory):
    """A real DuckDB file shared by one test module's tests (closed after the module)."""
    connection = duckdb.connect(str(tmp_path_factory.mktemp("moduledb") / "module.duckdb"))
    yield connection
    connection.close()


@pytest.fixture()
def con(tmp_path):
    """A real warehouse file with every migration applied (closed after the test); a module may define its own."""
    from warehouse.db import connect

    connection = connect(tmp_path / "warehouse.duckdb")
    yield connection
    connection.close()


@pytest.fixture()
def listing_record() -> dict:
    """One valid landing listing record (tests copy and vary it)."""
    return {
        "listing_id": "L1",
        "source_key": "PractitionerRole/1|Location/1",
        "insurer": "Acme Health",
        "directory_kind": "fhir",
        "npi": "1234567893",
        "provider_name": "Jane Smith, MD",
        "address": "12 Main St Ste 4",
        "city": "Springfield",
        "state": "IL",
        "zip": "62701",
        "phone": "217-555-0100",
        "accepting_status": "accepting",
        "networks": ["Acme Gold"],
        "plans": [{"plan_id": "12345IL0010001", "plan_id_type": "HIOS-PLAN-ID", "network_tier": "PREFERRED"}],
        "last_updated": "2026-10-01T00:00:00Z",
        "source_url": "http://127.0.0.1/fhir/PractitionerRole",
        "fetched_at": "2026-11-20T10:00:00Z",
        "payload_sha256": "0" * 64,
    }
