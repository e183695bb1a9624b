"""Report files -> landing -> real DuckDB warehouse: quarantine with row numbers, encodings, idempotent re-ingest."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest

from crawlers.reports.ingest import ingest_report_files
from crawlers.reports.parse import ReportFileError, parse_report
from warehouse.db import connect
from warehouse.load import load_landing

FIXTURES = Path(__file__).parent / "fixtures" / "reports"
TODAY = dt.date(2026, 11, 25)
RUN = "20261125T000000Z-test01"

# file -> {row number: words of the reason}; CSV rows count the header as row 1, JSON Lines count lines,
# JSON arrays count items from 1.
MALFORMED = {
    "survey_cp1252.csv": {
        3: "check digit", 5: "unreadable date", 6: "4 fields but the header has 15", 7: "missing report date",
        8: "names no provider or location", 10: "in the future", 11: "unknown report source", 12: "not 10 digits",
    },
    "shopper.jsonl": {2: "malformed JSON", 3: "yes/no", 5: "contradicts call outcome", 6: "not a JSON object"},
    "attestations.json": {2: "unreadable date", 3: "not a JSON object"},
}
GOOD_NPIS = {
    "survey_cp1252.csv": ["1234567893", "1987654328", "1654321094", "1111111112"],
    "shopper.jsonl": ["1234567893", "1654321094"],
    "attestations.json": ["1987654328"],
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_each_malformed_row_kind_is_quarantined_with_its_row_number(name: str) -> None:
    parsed = parse_report(str(FIXTURES / name), default_source="attestation", today=TODAY)
    got = {q["row"]: q["error"] for q in parsed.quarantine}
    assert sorted(got) == sorted(MALFORMED[name])
    for row, words in MALFORMED[name].items():
        assert words in got[row], (row, got[row])
    assert all(q["file"].endswith(name) and q["raw_text"] for q in parsed.quarantine)
    assert [o["npi"] for o in parsed.observations] == GOOD_NPIS[name]


def test_cp1252_and_bom_files_decode_and_map_their_headers() -> None:
    cp = parse_report(str(FIXTURES / "survey_cp1252.csv"), today=TODAY)
    assert cp.encoding == "cp1252"
    assert cp.observations[0]["provider_name"] == "Núñez, José MD"
    assert cp.observations[0]["raw"]["extra"] == {"Caller Initials": "JN"}
    bom = parse_report(str(FIXTURES / "same_report_utf8_bom.csv"), today=TODAY)
    assert bom.encoding == "utf-8-sig"
    assert bom.observations[0]["npi"] == "1234567893"  # the BOM did not hide the first header


def test_a_row_becomes_an_observation_in_the_landing_shape() -> None:
    shop = parse_report(str(FIXTURES / "shopper.jsonl"), today=TODAY)
    unreachable, reached = shop.observations
    assert unreachable["source"] == "secret_shopper"
    assert unreachable["reachable"] is False and unreachable["call_outcome"] == "disconnected"
    assert unreachable["accepting_status"] == "unknown"  # nobody reached, nothing said
    assert unreachable["phone"] == "+12175550100"
    assert reached["accepting_status"] == "limited"
    assert reached["first_appointment"] == "2026-12-15"  # "in 3 weeks" from the call on 2026-11-24
    assert reached["insurers_accepted"] == ["Acme Health"]  # accepts plan = yes for the audited insurer
    assert reached["observed_at"] == "2026-11-24T10:15:00"
    assert reached["raw"]["provider_at_location"] is True
    attest = parse_report(str(FIXTURES / "attestations.json"), default_source="attestation", today=TODAY)
    record = attest.observations[0]
    assert record["address"] == "400 Oak Ave" and record["zip"] == "62702"  # nested address object
    assert record["accepting_status"] == "existing_only"
    assert record["insurers_not_accepted"] == ["Humana"]
    assert record["providers"] == ["Amy Chen", "Luis Ortiz"]
    assert record["raw"]["extra"] == {"Signed by": "Office Manager"}


def test_reachable_false_without_a_status_is_unknown_but_a_given_status_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "calls.csv"
    path.write_text(
        "npi,phone,reachable,accepting,date\n"
        "1234567893,217-555-0100,no,,2026-11-20\n"
        "1987654328,217-555-0142,no,existing patients only,2026-11-20\n",
        encoding="utf-8",
    )
    first, second = parse_report(str(path), default_source="phone_survey", today=TODAY).observations
    assert (first["reachable"], first["accepting_status"]) == (False, "unknown")
    assert (second["reachable"], second["accepting_status"]) == (False, "existing_only")


@pytest.mark.parametrize(("delimiter", "suffix"), [(";", ".csv"), ("\t", ".tsv"), ("|", ".txt")])
def test_other_delimiters(tmp_path: Path, delimiter: str, suffix: str) -> None:
    path = tmp_path / f"report{suffix}"
    header = delimiter.join(["NPI", "Plans Accepted", "Date of Call", "Accepting"])
    row = delimiter.join(["1234567893", '"Aetna, Cigna"', "11/20/2026", "yes"])
    path.write_text(f"{header}\n{row}\n", encoding="utf-8")
    [obs] = parse_report(str(path), default_source="attestation", today=TODAY).observations
    assert obs["insurers_accepted"] == ["Aetna", "Cigna"]


def test_excel_unicode_text_export_utf16_tab_separated(tmp_path: Path) -> None:
    path = tmp_path / "export.txt"
    text = "NPI Number\tProvider\tDate of Call\tAccepting New Patients?\r\n1234567893\tZoë Ångström\t11/20/2026\tY\r\n"
    path.write_bytes(text.encode("utf-16"))  # with its BOM, as Excel writes it
    [obs] = parse_report(str(path), default_source="phone_survey", today=TODAY).observations
    assert (obs["provider_name"], obs["accepting_status"]) == ("Zoë Ångström", "accepting")


@pytest.mark.parametrize(("content", "words"), [
    (b"", "empty file"),
    (b"PK\x03\x04\x00\x00binary", "looks binary"),
    (b"[{\"npi\": ", "invalid JSON"),
    (b"colour,shape\nred,round\n", "no report columns recognised"),
    (b"NPI,Accepting\n1234567893,yes\n", "no report date column"),
])
def test_unreadable_files_are_one_line_errors_naming_the_file(tmp_path: Path, content: bytes, words: str) -> None:
    path = tmp_path / ("bad.json" if content.startswith(b"[") else "bad.csv")
    path.write_bytes(content)
    with pytest.raises(ReportFileError) as info:
        parse_report(str(path), default_source="attestation", today=TODAY)
    message = str(info.value)
    assert str(path) in message and words in message and "\n" not in message


def _counts(db: Path) -> tuple[int, int]:
    """(observations, quarantine rows) in the warehouse."""
    con = connect(str(db))
    try:
        obs = con.execute("SELECT count(*) FROM observations").fetchone()[0]
        quarantine = con.execute("SELECT count(*) FROM quarantine").fetchone()[0]
    finally:
        con.close()
    return obs, quarantine


def _ingest_and_load(paths: list[Path], landing: Path, db: Path, run: str, source: str | None = None):
    """Ingest files into landing and load the landing tree into the warehouse."""
    result = ingest_report_files([str(p) for p in paths], str(landing), run, default_source=source, today=TODAY)
    con = connect(str(db))
    try:
        summary = load_landing(con, str(landing))
    finally:
        con.close()
    assert not summary.errors
    return result


def test_reingesting_a_file_or_the_same_report_elsewhere_changes_nothing(tmp_path: Path) -> None:
    landing, db = tmp_path / "landing", tmp_path / "w.duckdb"
    files = [FIXTURES / "survey_cp1252.csv", FIXTURES / "shopper.jsonl"]
    first = _ingest_and_load(files, landing, db, RUN)
    assert (first.rows_ok, first.rows_quarantined) == (6, 12)
    assert _counts(db) == (6, 12)

    again = _ingest_and_load(files, landing, db, "20261125T010000Z-test02")
    assert [f.status for f in again.files] == ["unchanged", "unchanged"]
    assert _counts(db) == (6, 12)

    # The same bytes under another name are recognised as already ingested.
    copy = tmp_path / "copy_of_survey.csv"
    shutil.copy(files[0], copy)
    assert _ingest_and_load([copy], landing, db, "20261125T020000Z-test03").files[0].status == "unchanged"
    assert _counts(db) == (6, 12)

    # The same reports re-exported (other line endings, so other bytes): landed, but nothing new in the warehouse.
    reexport = tmp_path / "reexport.csv"
    reexport.write_bytes(files[0].read_bytes().replace(b"\r\n", b"\n"))
    assert _ingest_and_load([reexport], landing, db, "20261125T021000Z-test03").files[0].rows_ok == 4
    assert _counts(db)[0] == 6

    # The row-2 report written differently by someone else (ISO date, other headers, BOM): no new observation.
    other = _ingest_and_load([FIXTURES / "same_report_utf8_bom.csv"], landing, db, "20261125T030000Z-test04")
    assert other.files[0].rows_ok == 1
    assert _counts(db)[0] == 6

    # A file with one genuinely new report adds exactly one.
    grown = tmp_path / "grown.csv"
    grown.write_bytes(files[0].read_bytes() + "1432109878,\"Green, Ada\",Prairie Pediatrics,400 Oak Ave,,Springfield,"
                      "IL,62702,217.555.0142,No,,11/24/2026,Reached,Phone Survey,KT\r\n".encode("cp1252"))
    _ingest_and_load([grown], landing, db, "20261125T040000Z-test05")
    assert _counts(db)[0] == 7


def test_warehouse_rows_keep_the_report_values(tmp_path: Path) -> None:
    landing, db = tmp_path / "landing", tmp_path / "w.duckdb"
    _ingest_and_load([FIXTURES / "shopper.jsonl"], landing, db, RUN)
    con = connect(str(db))
    try:
        rows = con.execute(
            "SELECT npi, source, reachable, call_outcome, first_appointment, raw ->> 'insurer' "
            "FROM observations ORDER BY npi").fetchall()
        quarantined = con.execute("SELECT row, error FROM quarantine ORDER BY row").fetchall()
    finally:
        con.close()
    assert rows == [
        ("1234567893", "secret_shopper", False, "disconnected", None, "Acme Health"),
        ("1654321094", "secret_shopper", True, "reached", dt.date(2026, 12, 15), "Acme Health"),
    ]
    assert [r for r, _ in quarantined] == [2, 3, 5, 6]


def test_a_missing_file_is_reported_and_the_others_still_load(tmp_path: Path) -> None:
    missing = tmp_path / "nope.csv"
    result = ingest_report_files([str(missing), str(FIXTURES / "shopper.jsonl")], str(tmp_path / "landing"), RUN,
                                 today=TODAY)
    assert result.files[0].status == "failed" and result.files[0].error == f"{missing}: file not found"
    assert result.files[1].rows_ok == 2 and result.files_read == 1


def test_call_list_rows_not_called_yet_are_skipped_not_quarantined(tmp_path: Path) -> None:
    path = tmp_path / "calls.csv"
    path.write_text(
        "listing_id,insurer,npi,phone,source,reached,call_outcome,accepting_new_patients,reported_at\n"
        "L1,Acme Health,1234567893,217-555-0100,secret_shopper,yes,,yes,2026-11-20\n"
        "L2,Acme Health,1987654328,217-555-0142,secret_shopper,,,,\n",
        encoding="utf-8",
    )
    parsed = parse_report(str(path), today=TODAY)
    assert (len(parsed.observations), len(parsed.quarantine), parsed.skipped) == (1, 0, 1)
    assert parsed.observations[0]["call_outcome"] == "reached"


def test_two_insurers_calls_to_one_office_on_one_day_stay_two_reports(tmp_path: Path) -> None:
    path = tmp_path / "calls.jsonl"
    rows = [{"npi": "1234567893", "phone": "2175550100", "insurer": name, "reached": "yes", "accepts plan": answer,
             "date": "2026-11-20", "source": "secret_shopper"} for name, answer in (("Acme", "yes"), ("Cobalt", "no"))]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    acme, cobalt = parse_report(str(path), today=TODAY).observations
    assert acme["observation_id"] != cobalt["observation_id"]
    assert cobalt["insurers_not_accepted"] == ["Cobalt"]
