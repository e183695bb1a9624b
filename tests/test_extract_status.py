"""Accepting-status traps, one category per test: negation, past tense, conditions, waitlists, hard negatives."""

from __future__ import annotations

import pytest

from crawlers.extract.page import extract_page


def status_of(body: str) -> str:
    """The practice-level status extract_page finds in a page."""
    return extract_page(body, "https://practice.example/", "2026-01-01T00:00:00Z", "f" * 64).status


@pytest.mark.parametrize("text", [
    "We are not currently accepting new patients.",
    "Dr. Ames is no longer accepting new patients.",
    "We are unable to accept new patients right now.",
    "The clinic is closed to new patients.",
    "Sorry, our panel is full.",
    "We aren't taking new patients this year.",
])
def test_negations(text: str) -> None:
    """Negated acceptance is not_accepting."""
    assert status_of(text) == "not_accepting"


def test_past_tense_is_not_current_acceptance() -> None:
    """'were accepting ... until' means they stopped; 'previously closed ... now accepting' means open."""
    assert status_of("We were accepting new patients until March.") == "not_accepting"
    assert status_of("We were previously closed to new patients but are now accepting new patients.") == "accepting"


@pytest.mark.parametrize("text", [
    "Accepting new patients with a referral.",
    "We are accepting new Medicare patients only.",
    "We are accepting new patients on a limited basis.",
    "Some of our physicians are accepting new patients.",
])
def test_conditions_make_limited(text: str) -> None:
    """Conditional acceptance is limited."""
    assert status_of(text) == "limited"


@pytest.mark.parametrize("text", [
    "Please join our waitlist for new patients.",
    "New patient wait time is 6 months.",
    "We are not accepting new patients, but you can join the wait list.",
])
def test_waitlists(text: str) -> None:
    """Waitlists (including 'not accepting, but join the list') are waitlist."""
    assert status_of(text) == "waitlist"


@pytest.mark.parametrize("text", [
    "We only see established patients.",
    "We are accepting existing patients and their family members only.",
])
def test_existing_only(text: str) -> None:
    """Established/existing-only phrasing is existing_only."""
    assert status_of(text) == "existing_only"


@pytest.mark.parametrize("text", [
    "New patient forms",
    "Please bring your insurance card.",
    "New patients: please arrive 15 minutes early.",
    "Patient portal",
    "Are you accepting new patients? Call us to find out.",
    "We're hiring a nurse! You will be welcoming new patients at the front desk.",
    "Blog: many practices across the country are no longer accepting new patients.",
    "If Dr. Lee is not accepting new patients we will refer you.",
    "<script>document.write('Now accepting new patients')</script><p>Lab on site.</p>",
])
def test_hard_negatives_are_unknown(text: str) -> None:
    """Forms, instructions, unanswered questions, job posts, blogs and hypotheticals say nothing."""
    assert status_of(text) == "unknown"


def test_accepting_variants() -> None:
    """Typos, badges, tables and FAQ answers still read as accepting."""
    assert status_of("Now excepting new pateints!") == "accepting"
    assert status_of("<table><tr><th>Accepting new patients</th><td>Yes</td></tr></table>") == "accepting"
    assert status_of("Are you accepting new patients?\nYes!") == "accepting"


def test_provider_scopes_and_mixed_page() -> None:
    """Different statuses for named providers are scoped to them; the practice is limited."""
    page = extract_page("Dr. Lee is not accepting new patients; Dr. Patel is.", "https://p.example/", "t", "h")
    scoped = {c.scope: c.value for c in page.claims if c.kind == "accepting_status"}
    assert scoped == {"Dr. Lee": "not_accepting", "Dr. Patel": "accepting"}
    assert page.status == "limited"


def test_every_status_claim_carries_evidence() -> None:
    """Claims carry the verbatim sentence, URL, page hash, fetch time and a confidence in 0..1."""
    page = extract_page("<p>Hello. We are accepting new patients! Call now.</p>", "https://p.example/np", "2026-02-02T00:00:00Z", "a" * 64)
    claim = next(c for c in page.claims if c.kind == "accepting_status")
    assert claim.snippet == "We are accepting new patients!"
    assert (claim.url, claim.page_sha256, claim.fetched_at) == ("https://p.example/np", "a" * 64, "2026-02-02T00:00:00Z")
    assert 0 < claim.confidence <= 1 and page.status_snippet == claim.snippet


def test_site_banner_in_header_counts_but_menu_links_do_not() -> None:
    """A header top-bar claim is used when the content says nothing; a nav link 'Accepting New Patients' is not a claim."""
    banner = '<header><div class="top-bar">Now accepting new patients!</div></header><main><p>Welcome.</p></main>'
    menu = '<header><nav><a href="/np">Accepting New Patients</a></nav></header><main><p>Welcome.</p></main>'
    content_wins = '<header><div class="top-bar">Now accepting new patients!</div></header><main><p>Our panel is full.</p></main>'
    assert status_of(banner) == "accepting"
    assert status_of(menu) == "unknown"
    assert status_of(content_wins) == "not_accepting"


def test_no_referral_needed_is_not_a_condition_and_busy_today_is_not_a_status() -> None:
    """'no referral needed' neither negates nor limits; 'our schedule is full today' says nothing about new patients."""
    assert status_of("Accepting new patients — no referral needed!") == "accepting"
    assert status_of("Our schedule is full today.") == "unknown"
    assert status_of("Dr. Ray's schedule is full for new patients.") == "not_accepting"


def test_job_pages_say_nothing_and_blog_posts_count_less() -> None:
    """A careers page is not the practice's status; a blog post is, with lower confidence than a regular page."""
    text = "<p>We are accepting new patients.</p>"
    assert extract_page(text, "https://p.example/careers/medical-assistant", "t", "h").status == "unknown"
    blog = extract_page(text, "https://p.example/blog/2021/05/big-news", "t", "h")
    normal = extract_page(text, "https://p.example/new-patients", "t", "h")
    assert blog.status == normal.status == "accepting"
    assert blog.status_confidence < normal.status_confidence
