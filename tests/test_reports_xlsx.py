"""Excel .xlsx report files read like CSV: header found below title rows, Excel row numbers, typed cells as text."""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook

from crawlers.reports.ingest import ingest_report_files
from crawlers.reports.parse import ReportFileError, parse_report, read_rows

TODAY = dt.date(2026, 11, 25)
RUN = "20261125T000000Z-xlsx01"
HEADER = ["NPI Number", "Provider", "Phone Dialed", "Date of Call", "Reached?", "Accepting New Patients?",
          "Plans Accepted", "Practice Zip", "Score"]


def _vendor_workbook(path: Path) -> Path:
    """A survey vendor's export: a hidden lookup sheet first, then a titled results sheet with typed cells."""
    workbook = Workbook()
    lookup = workbook.active
    lookup.title = "Lookup"
    lookup.append(["NPI", "Date of Call", "Reached"])  # a valid header: only its hidden state says skip it
    lookup.append([1111111112, dt.date(2026, 11, 1), "yes"])
    lookup.sheet_state = "hidden"
    sheet = workbook.create_sheet("Q3 results")
    sheet["A1"] = "Q3 secret shopper results"  # row 1: title, row 2: blank, row 3: header
    sheet.append([])
    sheet.append(HEADER)
    sheet.append([1234567893, "Amy Chen", 2175550100, dt.datetime(2026, 11, 20), True, "Yes", "Aetna, Cigna", 2134,
                  4.5])
    sheet.append([1987654328, "Luis Ortiz", 2175550142, dt.datetime(2026, 11, 20, 10, 15), False, None, None,
                  62702])
    sheet.append([])  # row 6: empty, skipped
    sheet.append([1234567890, "Bad Check", 2175550199, dt.date(2026, 11, 21), True, "No"])  # row 7: bad NPI
    workbook.save(path)
    return path


def test_vendor_workbook_reads_the_visible_sheet_below_its_title_rows(tmp_path: Path) -> None:
    """The hidden sheet is skipped, the header found below the title rows; cells come as report text."""
    path = _vendor_workbook(tmp_path / "q3_results.xlsx")
    fmt, encoding, headers, rows = read_rows(str(path))
    assert (fmt, headers) == ("xlsx", HEADER)
    first, second, bad = rows
    assert [first.row, second.row, bad.row] == [4, 5, 7]  # Excel's row numbers; the empty row 6 is skipped
    assert first.cells == {"NPI Number": "1234567893", "Provider": "Amy Chen", "Phone Dialed": "2175550100",
                           "Date of Call": "2026-11-20", "Reached?": "true", "Accepting New Patients?": "Yes",
                           "Plans Accepted": "Aetna, Cigna", "Practice Zip": "2134", "Score": "4.5"}
    assert second.cells["Practice Zip"] == "62702"  # whole numbers come without ".0"
    assert second.cells["Date of Call"] == "2026-11-20T10:15:00"
    assert first.text == '1234567893,Amy Chen,2175550100,2026-11-20,true,Yes,"Aetna, Cigna",2134,4.5'


def test_vendor_workbook_becomes_observations_like_a_csv(tmp_path: Path) -> None:
    """The workbook gives the observations a CSV of the same rows would."""
    path = _vendor_workbook(tmp_path / "q3_results.xlsx")
    parsed = parse_report(str(path), default_source="secret_shopper", today=TODAY)
    assert parsed.format == "xlsx"
    amy, luis = parsed.observations  # nothing from the hidden Lookup sheet (NPI 1111111112)
    assert (amy["npi"], amy["phone"], amy["zip"], amy["observed_at"]) == ("1234567893", "+12175550100", "02134",
                                                                          "2026-11-20")
    assert (amy["reachable"], amy["accepting_status"], amy["insurers_accepted"]) == (True, "accepting",
                                                                                     ["Aetna", "Cigna"])
    assert amy["raw"]["extra"] == {"Score": "4.5"}
    assert amy["evidence_url"].endswith("q3_results.xlsx#row=4")
    assert (luis["npi"], luis["reachable"], luis["observed_at"]) == ("1987654328", False, "2026-11-20T10:15:00")


def test_a_bad_row_is_quarantined_with_its_excel_row_number(tmp_path: Path) -> None:
    """A bad row is quarantined with the row number Excel shows."""
    path = _vendor_workbook(tmp_path / "q3_results.xlsx")
    [bad] = parse_report(str(path), default_source="secret_shopper", today=TODAY).quarantine
    assert (bad["row"], bad["raw_text"]) == (7, "1234567890,Bad Check,2175550199,2026-11-21,true,No")
    assert "check digit" in bad["error"]
    result = ingest_report_files([str(path)], str(tmp_path / "landing"), RUN, default_source="secret_shopper",
                                 today=TODAY)
    [file_result] = result.files
    assert (file_result.status, file_result.format, file_result.rows_ok) == ("ok", "xlsx", 2)
    assert file_result.reasons == ["row 7: invalid NPI '1234567890' (check digit fails)"]


def _rewrite_sheet(path: Path, member: str, old: str, new: str) -> None:
    """Replace text in one XML part of a workbook, as another exporter would have written it."""
    with zipfile.ZipFile(path) as archive:
        parts = {info.filename: archive.read(info) for info in archive.infolist()}
    xml = parts[member].decode("utf-8")
    assert old in xml
    parts[member] = xml.replace(old, new).encode("utf-8")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)


def test_exporter_quirks_a_wrong_recorded_size_and_numbers_stored_as_floats(tmp_path: Path) -> None:
    """Rows beyond a wrong recorded sheet size are read; an NPI stored as a float reads as digits."""
    path = _vendor_workbook(tmp_path / "q3_results.xlsx")
    _rewrite_sheet(path, "xl/worksheets/sheet2.xml", '<dimension ref="A1:I7"/>', '<dimension ref="A1"/>')
    _rewrite_sheet(path, "xl/worksheets/sheet2.xml", "<v>1987654328</v>", "<v>1.987654328E9</v>")
    parsed = parse_report(str(path), default_source="secret_shopper", today=TODAY)
    assert [o["npi"] for o in parsed.observations] == ["1234567893", "1987654328"]  # no ".0", no rows lost
    assert [q["row"] for q in parsed.quarantine] == [7]


def test_a_workbook_renamed_to_csv_is_still_read_as_a_workbook(tmp_path: Path) -> None:
    """The ZIP signature, not the name, makes a file a workbook."""
    path = _vendor_workbook(tmp_path / "q3_results.csv")
    parsed = parse_report(str(path), default_source="secret_shopper", today=TODAY)
    assert parsed.format == "xlsx"
    assert [o["npi"] for o in parsed.observations] == ["1234567893", "1987654328"]


def _one_line_error(path: Path) -> str:
    """The ReportFileError parse_report raises for a file, checked to be one line naming the file."""
    with pytest.raises(ReportFileError) as info:
        parse_report(str(path), default_source="secret_shopper", today=TODAY)
    message = str(info.value)
    assert str(path) in message and "\n" not in message
    return message


def test_an_old_xls_file_is_a_one_line_error(tmp_path: Path) -> None:
    """An Excel 97-2003 .xls file is refused in one line naming the file."""
    path = tmp_path / "results.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"Workbook junk " * 40)
    assert _one_line_error(path) == f"{path}: an Excel 97-2003 .xls file: save it as .xlsx or CSV"


def _truncated(path: Path) -> None:
    """Cut a workbook in half (an interrupted download)."""
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _damaged_sheet(path: Path) -> None:
    """Garble the middle of the results sheet's compressed data (the archive itself still opens)."""
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("xl/worksheets/sheet2.xml")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)  # past the local file header
    data = bytearray(path.read_bytes())
    middle = start + info.compress_size // 2
    data[middle: middle + 8] = bytes(b ^ 0xFF for b in data[middle: middle + 8])
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", [_truncated, _damaged_sheet])
def test_a_damaged_workbook_is_a_one_line_error_never_a_traceback(tmp_path: Path, damage) -> None:
    """A truncated or damaged workbook is refused in one line naming the file."""
    path = _vendor_workbook(tmp_path / "q3_results.xlsx")
    damage(path)
    assert "not a readable Excel .xlsx workbook" in _one_line_error(path)
    [failed] = ingest_report_files([str(path)], str(tmp_path / "landing"), RUN, default_source="secret_shopper",
                                   today=TODAY).files
    assert failed.status == "failed" and "not a readable Excel .xlsx workbook" in (failed.error or "")


def test_a_workbook_without_a_report_header_is_a_one_line_error(tmp_path: Path) -> None:
    """A workbook with no report header on any visible sheet is refused in one line."""
    workbook = Workbook()
    workbook.active.append(["Colour", "Shape"])
    workbook.active.append(["red", "round"])
    workbook.create_sheet("Notes")["A1"] = "Q3 phone survey results"  # a title alone is not a header
    path = tmp_path / "notes.xlsx"
    workbook.save(path)
    assert "no visible sheet has a report header row" in _one_line_error(path)


def test_other_zip_documents_are_named_for_what_they_are(tmp_path: Path) -> None:
    """An OpenDocument spreadsheet (a ZIP too) is refused by its kind, not as a damaged workbook."""
    path = tmp_path / "calls.ods"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
    with pytest.raises(ReportFileError) as err:
        read_rows(str(path))
    assert str(err.value) == f"{path}: a .ods file, not a report ghostcheck reads: save the sheet as .xlsx or CSV"
