"""extract_page never fails on arbitrary input and always returns well-formed claims."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from crawlers.extract.page import CLAIM_KINDS, extract_page

STATUSES = {"accepting", "not_accepting", "existing_only", "waitlist", "limited", "unknown"}
FRAGMENTS = st.sampled_from([
    "<p>", "</p>", "<li>", "<ul>", "</ul>", "<table><tr><td>", "</td><td>", "<h2>", "</h2>", "<br>", "<script>", "</script>",
    "<nav>", "</nav>", "Dr. ", "Jane Smith, MD", "accepting new patients", "not ", "waitlist", "Aetna", "Cobalt Care",
    "we do not accept ", "217-555-0100", "Fax: ", "12 Main St, Springfield, IL 62701", "?", "Yes.", "\u00a0", "&lt;b&gt;",
    "&amp;", "<!--", "-->", "\x00", "é", "✓", "✗", ";", ", but ", "\n\n", "• ",
])


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(FRAGMENTS, st.text(max_size=20)), max_size=40), st.booleans())
def test_any_input_gives_well_formed_claims(parts: list[str], as_bytes: bool) -> None:
    """Random markup/text soup: no exception, canonical status, claim kinds known, confidences in 0..1, JSON-safe."""
    body = "".join(parts)
    page = extract_page(body.encode("utf-8", "surrogatepass") if as_bytes else body, "https://p.example/x", "t", "h", ["Cobalt Care"])
    assert page.status in STATUSES
    for claim in page.claims:
        assert claim.kind in CLAIM_KINDS and 0 <= claim.confidence <= 1
        assert claim.url == "https://p.example/x"
    json.dumps(page.to_dict())
