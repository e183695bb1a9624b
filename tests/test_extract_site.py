"""aggregate_site: one practice observation per site, provider observations when stated separately, stable ids."""

from __future__ import annotations

import hashlib

from crawlers.extract.page import extract_page
from crawlers.extract.site import aggregate_site

SITE = "https://maple.example/"
PAGES = {
    "https://maple.example/": "<title>Home | Maple Family Medicine</title><main><h1>Welcome</h1><p>We accept Aetna and Acme Health.</p>"
    "<p>Call (217) 555-0100.</p></main>",
    "https://maple.example/new-patients": "<main><h1>New Patients</h1><p>Dr. Lee is not accepting new patients; Dr. Patel is.</p>"
    "<p>We no longer accept Cobalt Care.</p></main>",
    "https://maple.example/our-team": "<main><h1>Our Providers</h1><ul><li>Dr. Amy Lee, MD</li><li>Dr. Raj Patel, DO</li>"
    "<li>Sara Kim, NP</li></ul><p>Dr. Hale has left the practice.</p></main>",
}
SEED = {"url": SITE, "practice_name": "Maple Family Medicine", "npi": "1234567893"}


def crawl(pages: dict[str, str]) -> list:
    """Extract every page the way the spider does (hash of the body as the page hash)."""
    return [
        extract_page(body, url, "2026-03-01T00:00:00Z", hashlib.sha256(body.encode()).hexdigest(), ["Acme Health", "Cobalt Care"])
        for url, body in pages.items()
    ]


def test_practice_record_merges_pages() -> None:
    """Status, insurers, roster, departures and phones merge into the practice-level observation."""
    records = aggregate_site(crawl(PAGES), SITE, SEED, "2026-03-01T00:00:00Z")
    practice = records[0]
    assert practice["source"] == "website" and practice["provider_name"] is None
    assert practice["practice_name"] == "Maple Family Medicine" and practice["npi"] == "1234567893"
    assert practice["accepting_status"] == "limited"
    assert practice["evidence_url"] == "https://maple.example/new-patients"
    assert practice["evidence_text"] == "Dr. Lee is not accepting new patients; Dr. Patel is."
    assert practice["evidence_sha256"] == hashlib.sha256(PAGES["https://maple.example/new-patients"].encode()).hexdigest()
    assert practice["insurers_accepted"] == ["Aetna", "Acme Health"]
    assert practice["insurers_not_accepted"] == ["Cobalt Care"]
    assert practice["providers"] == ["Dr. Amy Lee, MD", "Dr. Raj Patel, DO", "Sara Kim, NP"]
    assert practice["roster_complete"] is True
    assert practice["departed_providers"] == ["Dr. Hale"]
    assert practice["phones"] == ["+12175550100"]
    assert 0 < practice["confidence"] <= 1 and practice["observed_at"] == "2026-03-01T00:00:00Z"


def test_provider_records_for_separately_stated_statuses() -> None:
    """'Dr. Lee is not accepting new patients; Dr. Patel is.' gives one record per provider."""
    records = aggregate_site(crawl(PAGES), SITE, SEED, "2026-03-01T00:00:00Z")
    providers = {r["provider_name"]: r["accepting_status"] for r in records[1:]}
    assert providers == {"Dr. Lee": "not_accepting", "Dr. Patel": "accepting"}
    assert len({r["observation_id"] for r in records}) == len(records)


def test_ids_stable_on_recrawl_and_change_with_content() -> None:
    """Same pages -> same ids; a changed page -> new ids."""
    first = [r["observation_id"] for r in aggregate_site(crawl(PAGES), SITE, SEED, "2026-03-01T00:00:00Z")]
    again = [r["observation_id"] for r in aggregate_site(crawl(PAGES), SITE, SEED, "2026-04-01T00:00:00Z")]
    changed = dict(PAGES, **{SITE: PAGES[SITE].replace("Aetna", "Cigna")})
    third = [r["observation_id"] for r in aggregate_site(crawl(changed), SITE, SEED, "2026-04-01T00:00:00Z")]
    assert first == again
    assert set(first).isdisjoint(third)


def test_site_without_claims_is_unknown_with_title_name() -> None:
    """No status anywhere: unknown; practice name falls back to the page title."""
    pages = crawl({SITE: "<title>Home | Birch Pediatrics</title><p>Welcome to our office.</p>"})
    record = aggregate_site(pages, SITE, {"url": SITE}, "2026-03-01T00:00:00Z")[0]
    assert record["accepting_status"] == "unknown" and record["practice_name"] == "Birch Pediatrics"
    assert record["roster_complete"] is False and record["evidence_url"] == SITE


def test_address_columns_split_and_seed_fallback() -> None:
    """The first address found fills address/city/state/zip; without one the seed's values are used."""
    pages = crawl({SITE: "<main><p>Visit us at 1200 W. Main Street, Suite 4, Springfield, IL 62704.</p></main>"})
    record = aggregate_site(pages, SITE, {"url": SITE, "phone": "217-555-0100"}, "2026-03-01T00:00:00Z")[0]
    assert (record["address"], record["city"], record["state"], record["zip"]) == ("1200 W. Main Street, Suite 4", "Springfield", "IL", "62704")
    assert record["phone"] == "217-555-0100" and record["phones"] == []
    bare = aggregate_site(crawl({SITE: "<p>Hi</p>"}), SITE, {"url": SITE, "address": "12 Main St"}, "2026-03-01T00:00:00Z")[0]
    assert bare["address"] == "12 Main St" and bare["city"] is None
