"""Insurers accepted / not accepted from prose, lists and check-mark tables."""

from __future__ import annotations

from crawlers.extract.page import extract_page

KNOWN = ("Acme Health", "Cobalt Care")


def insurers(body: str) -> tuple[list[str], list[str]]:
    """(accepted, not accepted) as extract_page reports them."""
    page = extract_page(body, "https://practice.example/insurance", "t", "h", KNOWN)
    return page.insurers_accepted, page.insurers_not_accepted


def test_prose_list_from_gazetteer() -> None:
    """'We accept most major plans including Aetna, Cigna and Blue Cross'."""
    assert insurers("We accept most major plans including Aetna, Cigna and Blue Cross.") == (["Aetna", "Cigna", "Blue Cross"], [])


def test_known_insurers_in_bullets_under_intro() -> None:
    """Configured (fictional) insurer names in a bullet list after 'In-network with:'."""
    assert insurers("<p>In-network with:</p><ul><li>Acme Health</li><li>Cobalt Care</li></ul>") == (["Acme Health", "Cobalt Care"], [])


def test_negative_statements() -> None:
    """No longer / out of network / will not participate / do not accept."""
    assert insurers("We no longer accept Cobalt Care.") == ([], ["Cobalt Care"])
    assert insurers("We are out of network with UnitedHealthcare.") == ([], ["UnitedHealthcare"])
    assert insurers("As of January 1 we will not participate in Humana plans.") == ([], ["Humana"])
    assert insurers("We do not accept Medicaid.") == ([], ["Medicaid"])


def test_mixed_clauses_and_except() -> None:
    """'but no longer' and 'except' flip the names after them."""
    assert insurers("We take Aetna and Cigna but no longer take Humana.") == (["Aetna", "Cigna"], ["Humana"])
    assert insurers("We accept all major insurance except Tricare.") == ([], ["Tricare"])


def test_check_mark_table_and_header_row() -> None:
    """A plan table with ✓/✗ marks; its header row is not a plan."""
    html = ("<table><tr><th>Plan</th><th>Accepted</th></tr><tr><td>Aetna</td><td>✓</td></tr>"
            "<tr><td>Cobalt Care</td><td>✗</td></tr><tr><td>Oscar</td><td>✓</td></tr></table>")
    assert insurers(html) == (["Aetna", "Oscar"], ["Cobalt Care"])


def test_unknown_plan_names_under_insurance_heading() -> None:
    """Plan-like list items under an insurance heading are kept verbatim; instructions are not."""
    html = "<h2>Insurance Plans We Accept</h2><ul><li>Riverbend Health Partners</li><li>Please bring your card</li></ul>"
    assert insurers(html) == (["Riverbend Health Partners"], [])


def test_mentions_without_a_claim_are_ignored() -> None:
    """Examples, news and instructions that name insurers claim nothing."""
    assert insurers("Check with your insurer (for example Aetna) to confirm coverage.") == ([], [])
    assert insurers("Humana announced a new network, according to a report.") == ([], [])
    assert insurers("Dr. Oscar Ramirez is our newest physician.") == ([], [])


def test_new_insurer_patients_is_a_status_not_an_insurer_claim() -> None:
    """'accepting new Medicare patients only' limits status; it does not list Medicare as a plan."""
    page = extract_page("We are accepting new Medicare patients only.", "https://p.example/", "t", "h")
    assert page.status == "limited" and page.insurers_accepted == []


def test_conditional_aside_in_list_intro_does_not_negate_the_list() -> None:
    """'If your plan is not listed, please call' is not a refusal of the listed plans."""
    html = ("<h2>Insurance</h2><p>We are contracted with the following companies. If your plan is not listed, please call.</p>"
            "<ul><li>Aetna (all plans)</li><li>BCBS of Texas</li></ul>")
    assert insurers(html) == (["Aetna", "BCBS of Texas"], [])


def test_semicolon_lists_inherit_the_polarity_before_them() -> None:
    """'accepted: A; B; C' and 'we do not accept B; C' carry their polarity along the list."""
    assert insurers("Insurance accepted: Aetna; Cigna; UHC") == (["Aetna", "Cigna", "UHC"], [])
    assert insurers("We accept Aetna; we do not accept Cigna; Humana.") == (["Aetna"], ["Cigna", "Humana"])


def test_parenthesized_abbreviation_is_not_a_second_insurer() -> None:
    """'United Healthcare (UHC)' is one insurer; the 'of <State>' of a Blue plan is kept."""
    assert insurers("We accept United Healthcare (UHC) and Blue Cross and Blue Shield of Texas (BCBSTX).") == (
        ["United Healthcare", "Blue Cross and Blue Shield of Texas"], [])


def test_prose_inside_layout_tables_is_read_as_prose() -> None:
    """Old sites lay pages out with tables: a sentence in a cell is prose, not a plan-table row."""
    from crawlers.extract.page import extract_page

    one_cell = "<table><tr><td><p>Please note: we no longer accept Harbor Mutual.</p></td></tr></table>"
    page = extract_page(one_cell, "http://p.example/", "2026-01-01", "h", known_insurers=["Harbor Mutual"])
    assert (page.insurers_accepted, page.insurers_not_accepted) == ([], ["Harbor Mutual"])
    two_cells = ("<table><tr><td>Billing</td><td>We accept Aetna, Cigna and Harbor Mutual for all visits "
                 "to our office and our lab.</td></tr></table>")
    page = extract_page(two_cells, "http://p.example/", "2026-01-01", "h", known_insurers=["Harbor Mutual"])
    assert page.insurers_accepted == ["Aetna", "Cigna", "Harbor Mutual"] and page.insurers_not_accepted == []


def test_ended_contracts_and_left_networks_are_not_accepted() -> None:
    """Practices announce dropping a plan in many ways; each is an insurer not accepted."""
    from crawlers.extract.page import extract_page

    for text, name in [("Our practice has ended our contract with Humana effective March 1.", "Humana"),
                       ("We left the Cigna network in 2025.", "Cigna")]:
        page = extract_page(f"<main><p>{text}</p></main>", "http://p.example/", "2026-01-01", "h")
        assert page.insurers_not_accepted == [name] and page.insurers_accepted == [], text
