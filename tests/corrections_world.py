"""Test helpers for the corrections round trip: a QHP directory, a practice website and a report, landed and loaded."""

from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path
from typing import Any

import duckdb

from crawlers.landing import LandingWriter
from crawlers.parse.qhp import provider_listings
from reconcile.engine import reconcile
from reconcile.settings import ReconcileSettings
from warehouse.load import load_landing
from warehouse.store import save_reconcile

INSURER = "Acme Health"
AS_OF = dt.date(2026, 11, 24)
SITE = "https://springfieldfm.example.com"
PLANS = [{"plan_id_type": "HIOS-PLAN-ID", "plan_id": "12345IL0010001", "network_tier": "PREFERRED", "years": [2026]}]

DIRECTORY: list[dict[str, Any]] = [
    {   # Doe: the site shows a new number and a new address for the practice; an attestation says not accepting
        "npi": "1234567893", "type": "INDIVIDUAL",
        "name": {"prefix": "Dr.", "first": "Jane", "middle": "Q", "last": "Doe", "suffix": "MD"},
        "addresses": [
            {"address": "123 Main Street", "address_2": "Suite 4", "city": "Springfield", "state": "IL",
             "zip": "62701", "phone": "2175550100"},
            {"address": "77 River Rd", "city": "Peoria", "state": "IL", "zip": "61602", "phone": "3095550111"},
        ],
        "specialty": ["Family Medicine"], "accepting": "accepting", "plans": PLANS,
        "languages": ["English", "Spanish"], "gender": "Female", "last_updated_on": "2026-10-15",
    },
    {   # Haddad: listed at Springfield, the practice's complete roster says he is not there (call confirms)
        "npi": "1245319599", "type": "INDIVIDUAL", "name": {"first": "Omar", "middle": "", "last": "Haddad"},
        "addresses": [{"address": "123 Main Street", "address_2": "Suite 4", "city": "Springfield", "state": "IL",
                       "zip": "62701", "phone": "2175550100"}],
        "specialty": ["Pediatrics"], "accepting": "accepting", "plans": PLANS, "languages": ["English"],
        "gender": "Male", "last_updated_on": "2026-10-15",
    },
]


def directory() -> list[dict[str, Any]]:
    """A fresh copy of the QHP providers.json fixture."""
    return copy.deepcopy(DIRECTORY)


def land_directory(root: Path, entries: list[dict[str, Any]], run_id: str) -> None:
    """Parse providers.json entries as the QHP crawler does and land them as one crawl."""
    with LandingWriter(str(root), "listings", INSURER, run_id) as writer:
        for index, entry in enumerate(entries):
            for listing in provider_listings(entry, INSURER, "https://acme.example/providers.json",
                                             "2026-11-20T12:00:00Z", index):
                writer.write(listing)


def _site(writer: LandingWriter, observation_id: str, site_url: str, phones: list[str], addresses: list[str],
          providers: list[str], text: str) -> None:
    """One practice-level website observation as the site extractor lands it."""
    writer.write({
        "observation_id": observation_id, "source": "website", "practice_name": "Springfield Family Medicine",
        "site_url": site_url, "phones": phones, "addresses": addresses, "providers": providers,
        "roster_complete": True, "npi": None, "provider_name": None, "accepting_status": "unknown",
        "insurers_accepted": [], "insurers_not_accepted": [], "evidence_url": site_url + "/contact",
        "evidence_text": text, "observed_at": "2026-11-18T10:00:00Z", "confidence": 1.0,
    })


def land_evidence(root: Path) -> None:
    """Two practice websites (Springfield: new number; Peoria: moved), and two attestations."""
    with LandingWriter(str(root), "observations", "sites", "obs-1") as writer:
        _site(writer, "site-springfield", SITE, ["(217) 555-0199"], ["123 Main St., Suite 4, Springfield, IL 62701"],
              ["Jane Q. Doe, MD", "Omar Haddad", "Robert Brown MD"], "Call us at (217) 555-0199")
        _site(writer, "site-peoria", "https://peoriafm.example.com", ["309.555.0111"],
              ["400 North Oak Avenue, Suite 200, Peoria, IL 61603"], ["Jane Doe MD"],
              "We have moved: 400 North Oak Avenue, Suite 200")
    with LandingWriter(str(root), "observations", "reports/attest.csv", "obs-1") as writer:
        writer.write({
            "observation_id": "attest-doe", "source": "attestation", "npi": "1234567893",
            "provider_name": "Jane Doe", "address": "123 Main Street Suite 4", "city": "Springfield",
            "state": "IL", "zip": "62701", "phone": "2175550100", "accepting_status": "not_accepting",
            "evidence_url": "reports/attest.csv", "evidence_text": "row 2: accepting new patients: no",
            "observed_at": "2026-11-19T09:00:00Z", "confidence": 1.0, "raw": {"insurer": INSURER},
        })
        writer.write({
            "observation_id": "attest-haddad", "source": "attestation", "npi": "1245319599",
            "provider_name": "Omar Haddad", "address": "123 Main Street Suite 4", "city": "Springfield",
            "state": "IL", "zip": "62701", "evidence_url": "reports/attest.csv",
            "evidence_text": "row 3: Dr. Haddad does not practise here", "observed_at": "2026-11-19T10:00:00Z",
            "confidence": 1.0, "raw": {"insurer": INSURER, "provider_at_location": False},
        })


def reconcile_and_save(con: duckdb.DuckDBPyConnection, root: Path, run_id: str,
                       as_of: dt.date = AS_OF) -> Any:
    """Load every landing file under root, reconcile and persist; returns the ReconcileResult."""
    load_landing(con, str(root))
    result = reconcile(con, as_of, ReconcileSettings())
    save_reconcile(con, run_id, as_of, result)
    return result
