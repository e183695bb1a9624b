"""Current phones and addresses: fax, billing, old numbers, mailing and former addresses excluded."""

from __future__ import annotations

from crawlers.extract.page import extract_page

FOOTER = """<main><p>Call us at (217) 555-0100 or text 217.555.0123.</p></main>
<footer>
<p>Phone: 217-555-0100 | Fax: 217-555-0199</p>
<p>Billing questions: 217-555-0188</p>
<p>Our old number (217) 555-0111 is no longer in service.</p>
<address>1200 W. Main Street, Suite 4<br>Springfield, IL 62704</address>
<p>Mailing address: 500 Oak Ave, Springfield, IL 62701</p>
<p>Formerly at 88 Elm St, Springfield, IL 62702. Now at 9 Lake Rd, Decatur, IL 62521.</p>
</footer>"""


def test_phones_exclude_fax_billing_and_old_numbers() -> None:
    """Only the practice's current numbers, as E.164, deduplicated, page order."""
    page = extract_page(FOOTER, "https://p.example/contact", "t", "h")
    assert page.phones == ["+12175550100", "+12175550123"]


def test_addresses_exclude_mailing_and_former() -> None:
    """Street + city/state/ZIP addresses, as written; mailing and 'formerly at' ones are dropped."""
    page = extract_page(FOOTER, "https://p.example/contact", "t", "h")
    assert page.addresses == ["1200 W. Main Street, Suite 4, Springfield, IL 62704", "9 Lake Rd, Decatur, IL 62521"]


def test_contact_claims_have_snippets() -> None:
    """Phone claims keep the line they came from as evidence."""
    page = extract_page(FOOTER, "https://p.example/contact", "t", "h")
    snippets = [c.snippet for c in page.claims if c.kind == "phone"]
    assert "Call us at (217) 555-0100 or text 217.555.0123." in snippets


def test_schema_org_json_ld_facts() -> None:
    """JSON-LD of the practice gives status, phone and address; an agency's Organization block and bad JSON are ignored."""
    html = """<html><head><script type="application/ld+json">{"@context": "https://schema.org", "@graph": [
      {"@type": "MedicalClinic", "name": "Maple", "isAcceptingNewPatients": "True", "telephone": "+1-217-555-0100",
       "address": {"@type": "PostalAddress", "streetAddress": "1200 W Main St", "addressLocality": "Springfield",
                   "addressRegion": "IL", "postalCode": "62704"}},
      {"@type": "Organization", "name": "WebCo Design", "telephone": "312-555-0177"}]}</script>
      <script type="application/ld+json">{not json</script></head><body><main><p>Welcome!</p></main></body></html>"""
    page = extract_page(html, "https://p.example/", "t", "h")
    assert page.status == "accepting"
    assert page.phones == ["+12175550100"]
    assert page.addresses == ["1200 W Main St, Springfield, IL 62704"]
    stale = extract_page(html.replace("Welcome!", "We are no longer accepting new patients."), "https://p.example/", "t", "h")
    assert stale.status == "not_accepting"


def test_fax_label_after_a_number_only_excludes_that_number() -> None:
    """'217-555-0100 (fax: 217-555-0199)' keeps the first; '217-555-0188 (fax)' drops it."""
    page = extract_page("<p>Phone: 217-555-0100 (fax: 217-555-0199)</p><p>217-555-0188 (fax)</p>", "https://p.example/", "t", "h")
    assert page.phones == ["+12175550100"]
