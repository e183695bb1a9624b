"""Report files shaped like the ones vendors, credentialing systems and CMS-style secret shoppers actually send.

Each test writes a real file the way such a tool would, ingests it, and checks nothing was dropped, mis-mapped or
quarantined for a reason that is not the row's fault.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from openpyxl import Workbook

from crawlers.reports.columns import map_headers
from crawlers.reports.ingest import ingest_report_files
from crawlers.reports.parse import parse_report
from crawlers.reports.values import parse_bool, parse_call_outcome, parse_datetime, report_accepting
from warehouse.db import connect
from warehouse.load import load_landing

TODAY = dt.date(2026, 11, 25)
RUN = "20261125T000000Z-realworld"
NPIS = ["1000000004", "1000000012", "1000000020", "1000000038", "1000000046", "1000000053"]  # valid check digits

VENDOR_HEADER = ("Provider NPI,Provider Name,Prov Phone #,Date of Call,Call Disposition,Accepting New Pts?,"
                 "Appt Avail (Y/N),Correct Address? (Y/N),Plan accepted")


def _parsed(path: Path, text: str, source: str = "secret_shopper"):
    """Write `text` to the report file `path` and parse it."""
    path.write_text(text, encoding="utf-8")
    return _parse(path, source)


def _parse(path: Path, source: str = "secret_shopper"):
    """Parse a report file as of TODAY."""
    return parse_report(str(path), default_source=source, today=TODAY)


def test_csv_title_rows_above_the_header_are_skipped_and_rows_keep_spreadsheet_numbers(tmp_path: Path) -> None:
    parsed = _parsed(tmp_path / "callco.csv",
        "Acme Health - Secret Shopper Survey Q4 2026\n"
        "Prepared by CallCo Inc.; confidential\n"
        ",,,,,,,,\n"
        f"{VENDOR_HEADER}\n"
        f"{NPIS[0]},Amy Chen,(217) 555-0100 x12,11/3/26,Completed - spoke with receptionist,Yes,Y,Y,Y\n")
    [obs] = parsed.observations
    assert not parsed.quarantine
    assert (obs["npi"], obs["raw"]["row"], obs["accepting_status"], obs["reachable"]) == (NPIS[0], 5, "accepting",
                                                                                          True)
    assert obs["raw"]["correct_location"] is True  # "Correct Address? (Y/N)" is a column, not an extra


def test_vendor_columns_with_yes_no_appointment_and_free_text_outcomes(tmp_path: Path) -> None:
    parsed = _parsed(tmp_path / "vendor.csv",
        f"{VENDOR_HEADER}\n"
        f"{NPIS[0]},Amy Chen,2175550100,11/03/2026,Reached,Not accepting,N,Y,N\n"
        f"{NPIS[1]},Jane Doe,2175550101,11/03/2026,Office closed permanently,,,,\n"
        f"{NPIS[2]},Bob Roe,2175550102,11/03/2026,Not reached,,,,\n"
        f"{NPIS[3]},Al Poe,2175550103,11/03/2026,Reached,Yes - verified,call back in January,Y,Y\n")
    assert not parsed.quarantine  # "Appt Avail" = Y/N or free text is no reason to lose the row
    amy, jane, bob, al = parsed.observations
    assert (amy["accepting_status"], amy["first_appointment"]) == ("not_accepting", None)
    assert (jane["call_outcome"], jane["departed_providers"]) == ("not_at_location", ["Jane Doe"])
    assert (bob["call_outcome"], bob["reachable"]) == ("no_answer", False)  # not read as "reached"
    assert al["raw"]["first_appointment_raw"] == "call back in January"


def test_negated_and_permanent_closure_outcomes_are_not_read_as_reached() -> None:
    assert parse_call_outcome("Not reached") == "no_answer"
    assert parse_call_outcome("Call not completed") == "no_answer"
    assert parse_call_outcome("Unsuccessful") == "no_answer"
    assert parse_call_outcome("Unable to reach") == "no_answer"
    assert parse_call_outcome("Nobody picked up") == "no_answer"
    assert parse_call_outcome("Invalid phone number") == "disconnected"
    assert parse_call_outcome("Reached office, provider no longer there") == "not_at_location"
    assert parse_call_outcome("Office closed permanently") == "not_at_location"
    assert parse_call_outcome("Reached, not accepting") == "reached"


def test_stopped_or_future_acceptance_is_not_accepting() -> None:
    assert report_accepting("Stopped accepting new patients") == "not_accepting"
    assert report_accepting("Quit taking new patients") == "not_accepting"
    assert report_accepting("Will accept new patients in January") == "not_accepting"
    assert report_accepting("Accepting, next appt in January") == "accepting"
    assert (report_accepting("1.0"), report_accepting("0.0")) == ("accepting", "not_accepting")


def test_unsure_answers_are_blank_and_reached_cells_may_hold_an_outcome(tmp_path: Path) -> None:
    assert parse_bool("Not sure") is None and parse_bool("Unable to verify") is None
    assert parse_bool("Incorrect - moved") is False and parse_bool("Yes*") is True
    parsed = _parsed(tmp_path / "reached.csv",
        "NPI,Phone,Date of Call,Reached?,Correct Address?,Accepting New Patients\n"
        f"{NPIS[0]},2175550100,11/03/2026,Wrong number,,\n"
        f"{NPIS[1]},2175550101,11/03/2026,Could not reach,,\n"
        f"{NPIS[2]},2175550102,11/03/2026,Yes,Not sure,Yes\n")
    assert not parsed.quarantine
    wrong, unreached, reached = parsed.observations
    assert (wrong["reachable"], wrong["call_outcome"]) == (False, "wrong_number")
    assert unreached["reachable"] is False
    assert (reached["accepting_status"], reached["raw"].get("correct_location")) == ("accepting", None)


def test_spreadsheet_npi_spellings_are_read(tmp_path: Path) -> None:
    parsed = _parsed(tmp_path / "npis.csv",
        "NPI,Phone,Date of Call,Outcome\n"
        f"'{NPIS[0]},2175550100,11/03/2026,Reached\n"
        f'"=""{NPIS[1]}""",2175550101,11/03/2026,Reached\n'
        "1.000000020E+09,2175550102,11/03/2026,Reached\n"
        f"{NPIS[3]}.0,2175550103,11/03/2026,Reached\n"
        "1.00000002E+09,2175550104,11/03/2026,Reached\n")  # 1000000020-1000000024: a digit lost, not guessed
    assert [o["npi"] for o in parsed.observations] == NPIS[:4]
    assert [("scientific notation" in q["error"], q["row"]) for q in parsed.quarantine] == [(True, 6)]


def test_more_date_spellings() -> None:
    assert parse_datetime("Tue 11/3/2026") == dt.date(2026, 11, 3)
    assert parse_datetime("2026-11-03 2:05 PM") == dt.datetime(2026, 11, 3, 14, 5)
    assert parse_datetime("46329.5833333") == dt.datetime(2026, 11, 3, 14, 0)  # Excel serial, to the second


def test_merged_group_label_row_above_the_header(tmp_path: Path) -> None:
    [obs] = _parsed(tmp_path / "merged.csv",
        "Provider,,Location,,Call,,\n"
        "NPI,Name,Address,Phone,Date of Call,Outcome,Accepting New Patients\n"
        f"{NPIS[0]},Amy Chen,12 Main St,2175550100,11/03/2026,Reached,No\n").observations
    assert (obs["address"], obs["accepting_status"], obs["raw"]["row"]) == ("12 Main St", "not_accepting", 3)


def test_repeated_headers_and_totals_rows_are_not_quarantined(tmp_path: Path) -> None:
    parsed = _parsed(tmp_path / "paged.csv",
        "NPI,Phone,Date of Call,Outcome\n"
        f"{NPIS[0]},2175550100,11/03/2026,Reached\n"
        "NPI,Phone,Date of Call,Outcome\n"
        f"{NPIS[1]},2175550101,11/03/2026,Reached\n"
        "TOTAL,,,2 reached\n")
    assert [o["raw"]["row"] for o in parsed.observations] == [2, 4]
    assert not parsed.quarantine


def test_xlsx_with_title_merged_group_row_and_repeated_header(tmp_path: Path) -> None:
    header = ["Rendering NPI", "Provider Name", "Address", "Phone Number", "Date of Call", "Call Disposition"]
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["CMS Secret Shopper Review"])
    sheet.append(["Provider Information", None, "Location", None, "Call Results", None])
    sheet.merge_cells("A2:B2")
    sheet.append(header)
    sheet.append([float(NPIS[0]), "Amy Chen", "12 Main St", 2175550100, dt.datetime(2026, 11, 3, 14, 5), "VM full"])
    sheet.append(header)
    sheet.append([int(NPIS[1]), "Jane Doe", "14 Main St", 2175550101, 46329, "Completed"])
    path = tmp_path / "cms.xlsx"
    workbook.save(path)
    parsed = _parse(path)
    assert not parsed.quarantine
    assert [(o["raw"]["row"], o["call_outcome"]) for o in parsed.observations] == [(4, "voicemail"), (6, "reached")]


def test_duplicate_header_names_do_not_overwrite_the_first_column(tmp_path: Path) -> None:
    [obs] = _parsed(tmp_path / "dup.csv",
        "NPI,Phone,Date of Call,Outcome,Phone,\n"
        f"{NPIS[0]},2175550100,11/03/2026,Reached,2175559999,x\n").observations
    assert obs["phone"] == "+12175550100"
    assert obs["raw"]["extra"] == {"Phone (2)": "2175559999", "column 6": "x"}


def test_an_unclosed_quote_does_not_swallow_the_rows_below(tmp_path: Path) -> None:
    parsed = _parsed(tmp_path / "quote.csv",
        "NPI,Provider,Phone,Date of Call,Outcome\n"
        f'{NPIS[0]},"Smith, John,2175550100,11/03/2026,Reached\n'
        f"{NPIS[1]},Jane Doe,2175550101,11/03/2026,Reached\n"
        f'{NPIS[2]},"Al ""Big"" Poe",2175550102,11/03/2026,Reached\n'
        f"{NPIS[3]},Cy Moe,2175550103,11/03/2026,Reached\n")
    assert [(o["raw"]["row"], o["npi"], o["phone"]) for o in parsed.observations] == [
        (3, NPIS[1], "+12175550101"), (4, NPIS[2], "+12175550102"), (5, NPIS[3], "+12175550103")]
    [bad] = parsed.quarantine
    assert bad["row"] == 2 and "unclosed quote" in bad["error"]


def test_a_legitimate_multi_line_cell_is_still_one_row(tmp_path: Path) -> None:
    path = tmp_path / "notes.csv"
    path.write_bytes(
        ("NPI;Phone;Date of Call;Outcome;Notes\r\n"
         f'{NPIS[0]};2175550100;11/03/2026;Reached;"She said \u201cyes\u201d\r\nsecond line"\r\n'
         f"{NPIS[1]};2175550101;11/03/2026;VM;\r\n").encode("cp1252"))
    first, second = _parse(path).observations
    assert first["raw"]["caller_notes"] == "She said \u201cyes\u201d second line"
    assert (second["raw"]["row"], second["call_outcome"]) == (3, "voicemail")  # the two-line cell is one row


def test_a_note_line_of_a_narrow_table_is_not_taken_for_an_unclosed_quote(tmp_path: Path) -> None:
    """In a four-column sheet a note's second line may split into four cells: still one quoted cell."""
    parsed = _parsed(tmp_path / "narrow.csv",
        "NPI,Date of Call,Outcome,Notes\n"
        f'{NPIS[0]},11/03/2026,Voicemail,"Called twice\nno answer, left VM, will retry, again"\n'
        f"{NPIS[1]},11/03/2026,Reached,\n")
    assert not parsed.quarantine
    assert [o["npi"] for o in parsed.observations] == NPIS[:2]


def test_credentialing_export_columns(tmp_path: Path) -> None:
    headers = ["Date of Birth", "Billing Phone", "Billing Address", "NPI Type 1", "NPI Type 2", "Provider First Name",
               "Provider Last Name", "Practice Location Name", "Practice Location Address 1",
               "Practice Location Address 2", "Practice Location City", "Practice Location State",
               "Practice Location Zip", "Practice Location Phone", "Phone Extension", "Accepting New Patients",
               "Re-Attestation Due Date", "Last Attestation Date", "State of Licensure"]
    columns = map_headers(headers).columns
    assert columns["reported_at"] == "Last Attestation Date"  # not the date of birth or the next due date
    assert columns["phone"] == "Practice Location Phone"  # not the billing phone
    assert (columns["address"], columns["address2"], columns["city"], columns["state"]) == (
        "Practice Location Address 1", "Practice Location Address 2", "Practice Location City",
        "Practice Location State")
    path = tmp_path / "caqh.csv"
    path.write_text(",".join(headers) + "\n" + ",".join([
        "04/12/1970", "8005550000", "PO Box 9", NPIS[0], "1000000087", "Amy", "Chen", "Prairie Peds", "12 Main St",
        "Suite 4", "Springfield", "IL", "62701", "2175550100", "12", "N", "05/01/2027", "11/01/2026", "IL"]) + "\n",
        encoding="utf-8")
    [obs] = _parse(path, "attestation").observations
    assert (obs["observed_at"], obs["address"], obs["city"], obs["phone"]) == (
        "2026-11-01", "12 Main St Suite 4", "Springfield", "+12175550100")


def test_json_wrapped_and_deeply_nested_provider_objects(tmp_path: Path) -> None:
    path = tmp_path / "export.json"
    path.write_text(json.dumps({
        "meta": {"vendor": "CallCo", "columns": ["a", "b"]},
        "data": {"results": [
            {"provider": {"npi": NPIS[0], "name": {"first": "Amy", "last": "Chen"}},
             "practice": {"name": "Prairie Peds"},
             "location": {"address": {"line1": "12 Main St", "city": "Springfield", "state": "IL", "zip": "62701"},
                          "phone": "(217) 555-0100"},
             "call": {"date": "2026-11-03T14:05:00", "disposition": "Reached", "accepting_new_patients": "No"},
             "providers": [{"name": "Amy Chen"}, {"first_name": "Luis", "last_name": "Ortiz"}]},
        ]},
    }), encoding="utf-8")
    [obs] = _parse(path).observations
    assert (obs["npi"], obs["provider_name"], obs["practice_name"]) == (NPIS[0], "Amy Chen", "Prairie Peds")
    assert (obs["address"], obs["city"], obs["zip"]) == ("12 Main St", "Springfield", "62701")
    assert (obs["call_outcome"], obs["accepting_status"]) == ("reached", "not_accepting")
    assert obs["providers"] == ["Amy Chen", "Luis Ortiz"]


def test_plan_name_in_plan_accepted_column_is_an_accepted_insurer(tmp_path: Path) -> None:
    [obs] = _parsed(tmp_path / "plans.csv",
        "NPI,Phone,Date of Call,Outcome,Plan accepted\n"
        f"{NPIS[0]},2175550100,11/03/2026,Reached,Acme Gold PPO\n").observations
    assert obs["insurers_accepted"] == ["Acme Gold PPO"]


def test_vendor_export_lands_in_the_warehouse_with_every_row(tmp_path: Path) -> None:
    path = tmp_path / "callco.csv"
    path.write_text(
        "Secret shopper results\n\n"
        f"{VENDOR_HEADER}\n"
        f"{NPIS[0]},Amy Chen,2175550100,11/3/26,Reached,No - not accepting new patients,N,Y,Y\n"
        f"{NPIS[1]},Jane Doe,2175550101,\"Nov 3, 2026\",Wrong number - reached pizza shop,,,,\n"
        f"'{NPIS[2]},Bob Roe,2175550102,2026-11-03T14:05,No answer after 3 attempts,,,,\n"
        f"{VENDOR_HEADER}\n"
        f"{NPIS[3]},Al Poe,2175550103,46329,VM full,,,,\n"
        ",,,,,,,,\nTotal,4,,,,,,,\n",
        encoding="utf-8")
    landing, db = tmp_path / "landing", tmp_path / "w.duckdb"
    result = ingest_report_files([str(path)], str(landing), RUN, default_source="secret_shopper", today=TODAY)
    assert (result.rows_ok, result.rows_quarantined) == (4, 0)
    con = connect(str(db))
    try:
        assert not load_landing(con, str(landing)).errors
        rows = con.execute("SELECT npi, accepting_status, reachable, call_outcome FROM observations "
                           "ORDER BY npi").fetchall()
    finally:
        con.close()
    assert rows == [(NPIS[0], "not_accepting", True, "reached"), (NPIS[1], "unknown", False, "wrong_number"),
                    (NPIS[2], "unknown", False, "no_answer"), (NPIS[3], "unknown", False, "voicemail")]
