"""Review of 29ed1fc..HEAD: over-matching rules and regressions found in the new heuristics."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from crawlers.extract.status import find_status_claims
from crawlers.extract.text import Block
from crawlers.reports import values as v
from crawlers.reports.parse import parse_report
from reconcile.normalize.accepting import normalize_accepting
from reconcile.normalize.name import person_names_match

TODAY = dt.date(2026, 11, 25)
NPI = "1003000126"


def _parse(path: Path, text: str):
    path.write_text(text, encoding="utf-8")
    return parse_report(str(path), default_source="secret_shopper", today=TODAY)


@pytest.mark.parametrize("text", ["Accepting new and existing patients and their families",
                                  "We welcome new patients, existing patients and their families"])
def test_new_and_existing_patients_and_families_is_accepting(text: str) -> None:
    assert normalize_accepting(text) == "accepting"
    assert normalize_accepting("Existing patients and family members") == "existing_only"


@pytest.mark.parametrize(("a", "b"), [("Maria Garcia Lopez", "Maria Garcia"),
                                      ("Jose Luis Garcia Lopez", "Jose Garcia")])
def test_space_written_double_surname_matches_its_first_surname(a: str, b: str) -> None:
    assert person_names_match(a, b)
    assert not person_names_match("Jane Smith Lee", "Jane B. Lee")


def test_practice_named_total_is_a_data_row_not_a_totals_line(tmp_path: Path) -> None:
    parsed = _parse(tmp_path / "calls.csv",
                    "Practice Name,Phone,Date of Call,Outcome,Accepting New Patients\n"
                    "Total Health Care,(217) 555-0100,11/03/2026,Reached,Yes\n"
                    "Maple Family Medicine,(217) 555-0101,11/03/2026,Reached,No\n"
                    "Total,,,2 reached,\n")
    assert [o["practice_name"] for o in parsed.observations] == ["Total Health Care", "Maple Family Medicine"]
    assert not parsed.quarantine


@pytest.mark.parametrize("cell", ["Confirmed not at location", "Verified, not at this location"])
def test_confirmed_with_a_negation_is_not_yes(cell: str) -> None:
    with pytest.raises(ValueError):
        v.parse_bool(cell)
    assert v.parse_bool("Confirmed") is True


def test_negated_plan_cell_is_not_an_accepted_insurer(tmp_path: Path) -> None:
    parsed = _parse(tmp_path / "plans.csv",
                    "NPI,Phone,Date of Call,Outcome,Plan accepted\n"
                    f"{NPI},2175550100,11/03/2026,Reached,Does not accept Aetna\n"
                    f"{NPI},2175550100,11/04/2026,Reached,Acme Gold PPO\n")
    accepted = [name for o in parsed.observations for name in o["insurers_accepted"]]
    assert accepted == ["Acme Gold PPO"]


@pytest.mark.parametrize("text", ["We are not accepting new patients with any insurance at this time.",
                                  "We are currently not accepting new patients on any insurance plans."])
def test_not_accepting_new_patients_with_any_plan_is_a_practice_claim(text: str) -> None:
    assert [c.status for c in find_status_claims([Block(text, "p")])] == ["not_accepting"]
    assert find_status_claims([Block("We are not accepting new patients with Medicaid.", "p")]) == []
