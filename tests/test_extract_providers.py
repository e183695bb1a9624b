"""Provider names on team pages and departures."""

from __future__ import annotations

import json

from crawlers.extract.page import extract_page

TEAM = """<main><h1>Meet Our Team</h1>
<div class="card"><h3>Dr. Jane Q. Smith</h3><p>Family medicine</p></div>
<div class="card"><h3>Maria Lopez, MD</h3></div>
<div class="card"><h3>JOHN DOE, DO, FAAP</h3></div>
<div class="card"><h3>Kim Tran, PA-C</h3></div>
<div class="card"><h3>Ali Reza, FNP-BC</h3></div>
<p>Dr. Robert Hale retired in 2023. Dr. Greene is no longer with us.</p>
</main>"""


def test_roster_names_as_written() -> None:
    """Dr./MD/DO/PA-C/FNP patterns are found and kept exactly as written; the page is a roster."""
    page = extract_page(TEAM, "https://p.example/our-team", "t", "h")
    assert page.providers == ["Dr. Jane Q. Smith", "Maria Lopez, MD", "JOHN DOE, DO, FAAP", "Kim Tran, PA-C", "Ali Reza, FNP-BC"]
    assert page.page_kind == "team" and page.is_roster


def test_departures() -> None:
    """'retired', 'no longer with us', 'has left the practice' name departed providers, not current ones."""
    page = extract_page(TEAM + "<p>Dr. Jane Q. Smith has left the practice.</p>", "https://p.example/our-team", "t", "h")
    assert page.departed_providers == ["Dr. Robert Hale", "Dr. Greene", "Dr. Jane Q. Smith"]
    assert "Dr. Jane Q. Smith" not in page.providers


def test_script_inside_a_name_stays_plain_text() -> None:
    """Escaped markup in a name is returned as text (never parsed), and JSON keeps it as a string."""
    html = "<ul><li>Dr. &lt;script&gt;alert(1)&lt;/script&gt; Evil</li><li>Dr. Amy Wu</li></ul>"
    page = extract_page(html, "https://p.example/providers", "t", "h")
    assert page.providers[0] == "Dr. <script>alert(1)</script> Evil"
    assert json.loads(json.dumps(page.to_dict()))["providers"][0] == "Dr. <script>alert(1)</script> Evil"


def test_real_script_tag_inside_a_heading_is_dropped() -> None:
    """A live <script> element inside a name heading contributes no text."""
    page = extract_page("<h3>Dr. Amy <script>alert(1)</script>Wu</h3><h3>Dr. Bo Li</h3>", "https://p.example/team", "t", "h")
    assert all("alert" not in name for name in page.providers)


def test_single_provider_status_scope_from_card_heading() -> None:
    """A status line inside a provider card is scoped to the card's name."""
    html = "<h3>Dr. Robert Lee, MD</h3><p>Not accepting new patients</p><h3>Anita Patel, NP</h3><p>Accepting new patients</p>"
    page = extract_page(html, "https://p.example/team", "t", "h")
    scoped = {c.scope: c.value for c in page.claims if c.kind == "accepting_status"}
    assert scoped == {"Dr. Robert Lee, MD": "not_accepting", "Anita Patel, NP": "accepting"}


def test_accented_names_and_bare_names_with_a_clinical_role() -> None:
    """Accented names are names; a bare 'Jane Smith' counts when the next line is a clinical role, not an office job."""
    html = ("<main><h1>Our Team</h1><ul><li>María José García-López, MD</li><li>Dr. Zoë O’Brien</li></ul>"
            "<h3>Jane Smith</h3><p>Nurse Practitioner</p><h3>Robert Brown</h3><p>Office Manager</p>"
            "<h3>Our Services</h3><p>Family physician care for all ages</p></main>")
    page = extract_page(html, "https://p.example/team", "t", "h")
    assert page.providers == ["María José García-López, MD", "Dr. Zoë O’Brien", "Jane Smith"]
