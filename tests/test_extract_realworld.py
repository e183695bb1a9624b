"""Practice pages written the way real sites write them (page builders, bios, footers, Spanish): claims come out right."""

from __future__ import annotations

import hashlib
import urllib.request

from httpserver import serve

from crawlers.extract.page import PageClaims, extract_page
from crawlers.extract.providers import name_key
from crawlers.extract.site import aggregate_site


def page(html: str, path: str = "/", known: tuple[str, ...] = ()) -> PageClaims:
    """Claims of one page body at https://practice.example{path}."""
    return extract_page(html, f"https://practice.example{path}", "2026-03-01T00:00:00Z", "h", list(known))


def statuses(claims: PageClaims) -> set[tuple[str, str]]:
    """(status, scope) of every accepting-status claim of a page."""
    return {(c.value, c.scope) for c in claims.claims if c.kind == "accepting_status"}


# --- phones -------------------------------------------------------------------------------------------------------


def test_fax_marked_only_by_an_icon_is_not_a_phone() -> None:
    """Font Awesome contact lists label the fax line with an icon, not a word."""
    html = """<footer><ul class="contact-list">
      <li><i class="fa fa-phone" aria-hidden="true"></i> (217) 555-0100</li>
      <li><i class="fas fa-fax" aria-hidden="true"></i> (217) 555-0199</li></ul></footer>"""
    assert page(html).phones == ["+12175550100"]


def test_tel_link_without_a_visible_number_gives_the_phone() -> None:
    """A mobile 'Call Us' button is the only place the number appears."""
    html = '<main><h1>Contact</h1><p><a class="btn" href="tel:+1-217-555-0100">Call Us Today</a></p></main>'
    assert page(html, "/contact").phones == ["+12175550100"]


def test_fax_label_in_its_own_element_before_the_number() -> None:
    """<dt>Fax</dt><dd>number</dd> and one-line-per-<p> cards put the label in the block before."""
    dl = "<main><dl><dt>Phone</dt><dd>217-555-0100</dd><dt>Fax</dt><dd>217-555-0199</dd></dl></main>"
    cards = "<main><p><span>Phone</span></p><p>217-555-0100</p><p><span>Fax</span></p><p>217-555-0199</p></main>"
    assert page(dl).phones == ["+12175550100"]
    assert page(cards).phones == ["+12175550100"]


def test_after_hours_answering_service_is_not_the_practice_phone() -> None:
    """The answering service is a third party's line, like a fax or billing number."""
    html = "<main><p>Main: 217-555-0100</p><p>After-hours answering service: 217-555-0177</p></main>"
    assert page(html).phones == ["+12175550100"]


# --- addresses ----------------------------------------------------------------------------------------------------


def test_address_with_each_line_in_its_own_paragraph() -> None:
    """Wix/Squarespace footers put street, suite and city lines in separate <p>; a 'Mailing address:' label still excludes."""
    html = """<div id="SITE_FOOTER"><p>Prairie Pediatrics</p><p>1200 N Main St</p><p>Suite 204</p>
      <p>Springfield, IL 62701</p><p>Mailing address:</p><p>500 Commerce Dr</p><p>Springfield, IL 62704</p></div>"""
    assert page(html).addresses == ["1200 N Main St, Suite 204, Springfield, IL 62701"]


def test_pipe_separated_footer_address() -> None:
    """'Name | street | city, ST zip | phone' footers."""
    html = "<footer><p>Prairie Pediatrics | 1200 N Main St | Springfield, IL 62701 | 217-555-0100</p></footer>"
    assert page(html).addresses == ["1200 N Main St, Springfield, IL 62701"]


def test_moved_from_old_to_new_keeps_the_new_address() -> None:
    """'moved from A to B' excludes A, not B."""
    html = "<main><p>We moved from 88 Elm St, Springfield, IL 62702 to 1200 N Main St, Springfield, IL 62701.</p></main>"
    assert page(html).addresses == ["1200 N Main St, Springfield, IL 62701"]


def test_json_ld_address_list_and_location_place() -> None:
    """schema.org allows several addresses and a Physician's address under `location`."""
    clinic = """<script type="application/ld+json">{"@context":"https://schema.org","@graph":[{"@type":["MedicalBusiness","LocalBusiness"],
      "name":"SFM","address":[{"@type":"PostalAddress","streetAddress":"1200 N Main St","addressLocality":"Springfield","addressRegion":"IL","postalCode":"62701"},
      {"@type":"PostalAddress","streetAddress":"45 Oak Ave","addressLocality":"Chatham","addressRegion":"IL","postalCode":"62629"}]}]}</script><p>Welcome</p>"""
    doctor = """<script type="application/ld+json">{"@context":"https://schema.org","@type":"Physician","name":"Dr. Jane Smith",
      "location":{"@type":"Place","address":{"@type":"PostalAddress","streetAddress":"1200 N Main St","addressLocality":"Springfield",
      "addressRegion":"IL","postalCode":"62701"}}}</script><p>Welcome</p>"""
    assert page(clinic).addresses == ["1200 N Main St, Springfield, IL 62701", "45 Oak Ave, Chatham, IL 62629"]
    assert page(doctor).addresses == ["1200 N Main St, Springfield, IL 62701"]


def test_address_only_in_a_map_link_or_embed() -> None:
    """The street address is written only into 'Get directions' and the map iframe."""
    link = '<main><a href="https://www.google.com/maps/dir/?api=1&amp;destination=1200+N+Main+St,+Springfield,+IL+62701">Get directions</a></main>'
    embed = ('<main><iframe src="https://www.google.com/maps/embed?pb=!1m18!1m12!3m3!1d3000!2d-89.6!3d39.8!2m3!1f0!2f0!3f0!3m2!1i1024'
             '!2i768!4f13.1!3m3!1m2!1s0x0%3A0x0!2s1200+N+Main+St%2C+Springfield%2C+IL+62701!5e0!3m2!1sen!2sus!4v1"></iframe></main>')
    assert page(link).addresses == ["1200 N Main St, Springfield, IL 62701"]
    assert page(embed).addresses == ["1200 N Main St, Springfield, IL 62701"]


def test_map_link_that_is_not_a_street_address_adds_nothing() -> None:
    """A map search for the practice name alone gives no address."""
    assert page('<main><a href="https://maps.google.com/?q=Prairie+Pediatrics">Map</a></main>').addresses == []


# --- providers and departures -------------------------------------------------------------------------------------


def test_successor_named_in_a_retirement_notice_is_not_departed() -> None:
    """Only the subject of 'has retired' / 'retirement of' / 'who has left' departs, not the colleague taking over."""
    cases = {
        "Dr. Smith has retired and Dr. Emily Carter will take over his patients.": ["Dr. Smith"],
        "Following the retirement of Dr. Alan Wright, Dr. Beth Young is now seeing his patients.": ["Dr. Alan Wright"],
        "Dr. Beth Young is replacing Dr. Alan Wright, who has left the practice.": ["Dr. Alan Wright"],
        "Patients of Dr. Wright, who has retired, may now schedule with Dr. Beth Young, MD.": ["Dr. Wright"],
        "Dr. Ann Fox and Dr. Ben Cole have retired.": ["Dr. Ann Fox", "Dr. Ben Cole"],
    }
    for sentence, departed in cases.items():
        assert page(f"<main><p>{sentence}</p></main>").departed_providers == departed, sentence


def test_bio_career_notes_are_not_departures() -> None:
    """A retired Navy captain who joined us, an age limit, an arrival, a move to town: all still here."""
    for sentence in (
        "Dr. Alan Wright, a retired Navy captain, joined our practice in 2019.",
        "Please welcome Dr. Lisa Park, who joins us after retiring from the Army.",
        "Dr. Okafor no longer sees children under 12.",
        "Dr. Patel has left Springfield Clinic and joined our practice.",
        "Dr. Lisa Park has moved to Springfield from Boston and is excited to meet you.",
        "Dr. Lisa Park has left for the day; please call Dr. Beth Young's nurse.",
    ):
        assert page(f"<main><p>{sentence}</p></main>").departed_providers == [], sentence


def test_possessive_name_is_the_provider_not_a_new_surname() -> None:
    """"Dr. Okafor's last day" departs Dr. Okafor (whose key must match the listing's 'Okafor')."""
    claims = page("<main><p>Dr. Okafor's last day with the practice will be May 31, 2026.</p></main>")
    assert claims.departed_providers == ["Dr. Okafor"]
    assert name_key(claims.departed_providers[0]) == name_key("Okafor")


def test_spanish_departure_and_dra_title() -> None:
    """'ya no trabaja', 'se jubiló' and the feminine 'Dra.' title."""
    assert page("<main><p>El Dr. Juan Pérez ya no trabaja en nuestra clínica.</p></main>").departed_providers == ["Dr. Juan Pérez"]
    assert page("<main><p>La Dra. María Gómez se jubiló en 2023.</p></main>").departed_providers == ["Dra. María Gómez"]


def test_team_card_with_credentials_on_the_line_under_the_name() -> None:
    """<h3>Jane Smith</h3><p>MD</p> cards."""
    html = "<main><h2>Our Team</h2><div><h3>Jane Smith</h3><p>MD</p></div><div><h3>Bob Lee</h3><p>PA-C</p></div></main>"
    assert page(html, "/our-team").providers == ["Jane Smith", "Bob Lee"]


def test_heading_that_is_not_a_name_over_a_credential_line_is_not_a_provider() -> None:
    """'Our Doctors' over 'MD, DO' is a section title."""
    assert page("<main><h3>Our Doctors</h3><p>MD, DO</p></main>", "/our-team").providers == []


# --- accepting status ---------------------------------------------------------------------------------------------


def test_payer_specific_closure_is_not_practice_wide() -> None:
    """'not accepting new Medicare patients' says nothing about other insurers' members."""
    for sentence in ("We are not accepting new Medicare patients.", "We are not accepting new patients with Medicaid.",
                     "We accept Medicare but are not accepting new Medicare patients at this time."):
        assert page(f"<main><p>{sentence}</p></main>", "/new-patients").status == "unknown", sentence
    whole = page("<main><p>We are not accepting new patients at this time, including patients with Medicaid.</p></main>")
    assert whole.status == "not_accepting"


def test_provider_named_after_except_gets_the_opposite_status() -> None:
    """'All of our providers are accepting new patients except Dr. Smith': Dr. Smith is not."""
    claims = page("<main><p>All of our providers are accepting new patients except Dr. Smith.</p></main>")
    assert ("not_accepting", "Dr. Smith") in statuses(claims)
    assert ("accepting", "Dr. Smith") not in statuses(claims)
    assert claims.status == "limited"


def test_short_possessive_panel_sentence_is_read() -> None:
    """"Dr. Smith's panel is closed." is a statement, not a name heading."""
    assert statuses(page("<main><p>Dr. Smith's panel is closed.</p></main>")) == {("not_accepting", "Dr. Smith")}


def test_spanish_status() -> None:
    """Spanish-language practice pages."""
    assert page("<main><p>Aceptamos pacientes nuevos.</p></main>").status == "accepting"
    assert page("<main><p>No estamos aceptando pacientes nuevos en este momento.</p></main>").status == "not_accepting"


# --- insurers -----------------------------------------------------------------------------------------------------


def test_insurer_names_under_a_paragraph_label() -> None:
    """Page builders write the 'heading' as a bold <p>, then a <p> of names."""
    html = """<main><p><strong>Accepted Insurance</strong></p><p>Aetna, Cigna, Humana, UnitedHealthcare</p>
      <p><strong>Plans We Do Not Accept</strong></p><p>Medicaid · Tricare</p></main>"""
    claims = page(html, "/insurance")
    assert claims.insurers_accepted == ["Aetna", "Cigna", "Humana", "UnitedHealthcare"]
    assert claims.insurers_not_accepted == ["Medicaid", "Tricare"]


def test_names_paragraph_after_unrelated_text_is_not_a_claim() -> None:
    """A names-only paragraph after prose with no insurance cue says nothing."""
    assert page("<main><p>Meet our partners</p><p>Aetna, Cigna</p></main>").insurers_accepted == []


def test_spanish_insurers() -> None:
    """'Aceptamos ...' / 'No aceptamos ...'."""
    claims = page("<main><p>Aceptamos Medicaid, Medicare y la mayoría de los seguros.</p><p>No aceptamos Tricare.</p></main>")
    assert claims.insurers_accepted == ["Medicaid", "Medicare"]
    assert claims.insurers_not_accepted == ["Tricare"]


def test_one_providers_network_status_is_not_the_practices() -> None:
    """'Dr. Lee is out of network with Aetna' must not say the whole practice refuses Aetna."""
    claims = page("<main><p>Dr. Lee is out of network with Aetna. We accept Cigna.</p></main>", "/insurance")
    assert claims.insurers_not_accepted == [] and claims.insurers_accepted == ["Cigna"]
    assert page("<main><p>We are out of network with Aetna.</p></main>").insurers_not_accepted == ["Aetna"]


def test_cookie_banner_and_wix_header_are_not_content() -> None:
    """A OneTrust banner mentioning an insurer and a Wix SITE_HEADER menu give no insurer claims."""
    html = """<html><body>
      <div id="onetrust-banner-sdk"><p>We use cookies. We do not sell your data to insurers like Aetna.</p></div>
      <div id="SITE_HEADER"><ul><li><a href="/new-patients">New Patients</a></li><li><a href="/team">Our Team</a></li></ul></div>
      <main><p>Welcome to Prairie Pediatrics.</p></main></body></html>"""
    claims = page(html)
    assert claims.insurers_accepted == [] and claims.insurers_not_accepted == []


# --- a whole site over HTTP ---------------------------------------------------------------------------------------

SITE = {
    "/": """<html><head><title>Prairie Pediatrics</title></head><body>
      <div id="SITE_HEADER"><ul><li><a href="/our-team">Our Team</a></li><li><a href="/insurance">Insurance</a></li></ul>
      <p><a href="tel:2175550100">Call Us</a></p></div>
      <main><p>Dr. Amy Howard has retired and Dr. Brian Kim will care for her patients.</p>
      <p>We are not accepting new Medicare patients.</p></main>
      <div id="SITE_FOOTER"><p>1200 N Main St</p><p>Springfield, IL 62701</p>
      <ul><li><i class="fa fa-phone"></i> 217-555-0100</li><li><i class="fa fa-fax"></i> 217-555-0199</li></ul></div></body></html>""",
    "/our-team": """<html><body><main><h1>Our Team</h1><div><h3>Brian Kim</h3><p>MD</p></div>
      <div><h3>Carla Ortiz</h3><p>FNP-C</p></div></main></body></html>""",
    "/insurance": """<html><body><main><p><b>Insurance We Accept</b></p><p>Aetna, Cigna, Humana</p></main></body></html>""",
}


def test_site_served_over_http_aggregates_without_false_departures() -> None:
    """Fetch a page-builder site from 127.0.0.1 and merge it: the successor stays on the roster, the fax stays out."""
    routes = {path: (200, {"Content-Type": "text/html; charset=utf-8"}, body) for path, body in SITE.items()}
    pages = []
    with serve(routes) as server:
        for path in SITE:
            url = server.url(path)
            with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - local test server
                body = response.read()
            pages.append(extract_page(body, url, "2026-03-01T00:00:00Z", hashlib.sha256(body).hexdigest()))
        site_url = server.url("/")
    [practice] = aggregate_site(pages, site_url, {"practice_name": "Prairie Pediatrics"}, "2026-03-01T00:00:00Z")
    assert practice["departed_providers"] == ["Dr. Amy Howard"]
    assert [name_key(n) for n in practice["providers"]] == ["kim|b", "ortiz|c"]
    assert practice["phones"] == ["+12175550100"]
    assert practice["address"] == "1200 N Main St" and practice["zip"] == "62701"
    assert practice["accepting_status"] == "unknown"
    assert practice["insurers_accepted"] == ["Aetna", "Cigna", "Humana"] and practice["insurers_not_accepted"] == []
