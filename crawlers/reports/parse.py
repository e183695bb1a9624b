"""Read practice report files (CSV, JSON, JSON Lines, Excel .xlsx) into landing `observations` and `quarantine` records.

Row numbers in quarantine records are the numbers a person sees when opening the file:
CSV: spreadsheet rows, the header is row 1 and the first data row is row 2 unless title rows sit above the header
(a quoted cell spanning several lines is still one row; an unclosed quote is not allowed to swallow the rows below).
In every table format, title/group-label rows above the header, repeated headers and "Total" lines are not data. JSON array / object-with-list: 1-based position in the list. JSON Lines: 1-based line
number in the file (blank lines count, as in an editor). Excel .xlsx: the sheet's row numbers as Excel shows them
(the workbook's first visible sheet with a report header is read; title rows above the header are skipped).

One observation per good row. `observation_id` = sha1(source | npi | location | reported_at [| insurer])[:16],
where location is the normalized address key, else the dialled phone's E.164 form, else the practice name;
the audited insurer is appended only when the row names one (call lists), so two insurers' calls to one office
on one day stay two reports. Re-ingesting the same report, from the same file or another, yields the same id.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import itertools
import json
import re
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crawlers.landing import utcnow_iso
from crawlers.reports import values as v
from crawlers.reports.columns import ColumnMap, canonical_column, listed_column, map_headers, names_other_entity
from reconcile.normalize.address import normalize_address
from reconcile.normalize.phone import normalize_phone, phone_key

if TYPE_CHECKING:
    from openpyxl.workbook.workbook import Workbook
    from openpyxl.worksheet._read_only import ReadOnlyWorksheet

__all__ = ["ReportFileError", "RawRow", "ParsedReport", "read_rows", "parse_report", "row_to_observation",
           "location_key", "observation_id"]

_IDENTIFYING = ("npi", "phone", "address", "practice_name", "listing_id")
_ANSWERS = ("reachable", "call_outcome", "accepting_new_patients", "insurers_accepted", "insurers_not_accepted",
            "correct_location", "provider_at_location", "accepts_plan", "first_appointment", "providers")
_CONTRACT_SOURCE = {"npi", "provider_name", "first_name", "middle_name", "last_name", "practice_name", "address",
                    "address2", "city", "state", "zip", "phone", "accepting_new_patients", "insurers_accepted",
                    "insurers_not_accepted", "reachable", "call_outcome", "first_appointment", "reported_at",
                    "source", "providers"}
_OUTCOMES_IN_REACHED_CELL = ("wrong_number", "voicemail", "disconnected", "transferred_unresolved", "not_at_location")
_LIST_KEYS = ("reports", "rows", "records", "data", "results", "items", "observations", "calls", "entries")
_MAX_REASONS_TEXT = 2000
_ZIP_MAGIC = b"PK\x03\x04"  # .xlsx / .xlsm are ZIP archives
_OLE2_MAGIC = b"\xd0\xcf\x11\xe0"  # Excel 97-2003 .xls (and other old Office files)
_XLSX_SUFFIXES = (".xlsx", ".xlsm")
_HEADER_SCAN_ROWS = 30  # a sheet's header must be within its first rows (title rows above it are skipped)
# What a damaged workbook raises from zipfile, zlib, the XML parser or openpyxl's cell readers.
_WORKBOOK_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, SyntaxError, KeyError, IndexError,
                    TypeError, ValueError, OverflowError)


class ReportFileError(Exception):
    """A whole report file that cannot be read (one line naming the file)."""


@dataclass
class RawRow:
    """One data row as read: its human row number, cells by header, verbatim text, and a read error if any."""

    row: int
    cells: dict[str, Any]
    text: str
    error: str | None = None


@dataclass
class ParsedReport:
    """What one report file yielded."""

    path: str
    format: str = ""
    encoding: str = ""
    observations: list[dict[str, Any]] = field(default_factory=list)
    quarantine: list[dict[str, Any]] = field(default_factory=list)
    skipped: int = 0  # rows with no answers at all (e.g. call-list rows not called yet)
    duplicates: int = 0  # the same report (same observation_id) again within this file
    columns: ColumnMap | None = None


# --- reading -------------------------------------------------------------------------------------------------


def _decode(data: bytes, path: str) -> tuple[str, str]:
    """Decode report bytes: BOM-marked UTF-8/16, else UTF-8, else Windows-1252 (Excel's US default)."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace"), "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            raise ReportFileError(f"{path}: cannot decode UTF-16 file") from None
    if b"\x00" in data[:4096]:
        raise ReportFileError(f"{path}: looks binary (report files can be Excel .xlsx, CSV, JSON or JSON Lines)")
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace"), "cp1252"


def _sniff_format(path: str, text: str) -> str:
    """csv, json or jsonl, from the extension and, when unclear, the first character."""
    suffix = Path(path).suffix.casefold()
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    head = text.lstrip()[:1]
    if suffix == ".json" or head in ("[", "{"):
        if head == "[":
            return "json"
        first_line = text.lstrip().split("\n", 1)[0].strip()
        try:
            json.loads(first_line)
            rest = text.lstrip()[len(first_line):].strip()
            return "jsonl" if rest else "json"
        except json.JSONDecodeError:
            return "json"
    return "csv"


def _delimiter(header_line: str) -> str:
    """The delimiter of a CSV: whichever of , ; TAB | appears most in the header line."""
    counts = {d: header_line.count(d) for d in (",", "\t", ";", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _row_writer(delimiter: str) -> Callable[[list[str]], str]:
    """A function rendering one row's cells as a line of delimited text (quoted where needed), for quarantine."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="")

    def render(cells: list[str]) -> str:
        """The cells as one delimited line."""
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(cells)
        return buffer.getvalue()

    return render


def _data_row(number: int, headers: list[str], cells: list[str], verbatim: str) -> RawRow:
    """One non-empty data row of a table; a row whose field count differs from the header carries an error."""
    if len(cells) != len(headers):
        extra = cells[len(headers):]
        if len(cells) > len(headers) and not any(c.strip() for c in extra):
            cells = cells[: len(headers)]  # trailing empty cells (Excel's stray commas) are harmless
        else:
            return RawRow(number, {}, verbatim, f"row has {len(cells)} fields but the header has {len(headers)}")
    return RawRow(number, dict(zip(headers, cells)), verbatim)


def _csv_header(text: str) -> tuple[str, int] | None:
    """(delimiter, record index) of the report header within a CSV's first rows (title rows above skipped)."""
    best: tuple[int, int, str] | None = None  # (-columns mapped, record index, delimiter)
    for delimiter in (",", "\t", ";", "|"):
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        try:
            records = [[c.strip() for c in cells] for cells in itertools.islice(reader, _HEADER_SCAN_ROWS)]
        except csv.Error:
            continue
        index = _pick_header(records)
        if index is not None:
            score = (-len(map_headers(records[index]).columns), index, delimiter)
            best = score if best is None or score[:2] < best[:2] else best
    return None if best is None else (best[2], best[1])


def _unique_headers(headers: list[str]) -> list[str]:
    """Header names as row keys: a blank one becomes "column N", a repeated one "Phone (2)" (no value is lost)."""
    keys: list[str] = []
    for position, header in enumerate(headers, start=1):
        key = header or f"column {position}"
        count = 1
        while key in keys:
            count += 1
            key = f"{header or f'column {position}'} ({count})"
        keys.append(key)
    return keys


def _is_repeated_header(cells: list[str], headers: list[str]) -> bool:
    """True for a data row that repeats the header (exports that print it again on every page)."""
    return [c.strip().casefold() for c in _trimmed(cells)] == [h.casefold() for h in _trimmed(headers)]


# The whole first cell is the label ("Total", "Grand Total", "Total: 42 calls", "Count 4"): "Total Health Care" is a
# practice's name, not a totals line.
_SUMMARY = re.compile(r"(?:(?:grand\s+|sub\s*)?totals?|count|summary|average|avg)"
                      r"(?:(?:\s+\w+){0,3}\s*[:=].*|\s+[\d(].*|\s*\(.*)?", re.IGNORECASE)


def _is_not_data(cells: list[str], headers: list[str]) -> bool:
    """True for rows that are not reports: blank, the header repeated, or a totals line ("Total: 42 calls")."""
    filled = [c.strip() for c in cells if c.strip()]
    if not filled or _is_repeated_header(cells, headers):
        return True
    return bool(_SUMMARY.fullmatch(filled[0])) and not any(re.search(r"\d{10}", c) for c in filled)


def _split_line(line: str, delimiter: str) -> list[str]:
    """The cells of one physical CSV line read on its own (an unclosed quote runs to the line's end)."""
    try:
        return next(csv.reader([line.rstrip("\r\n")], delimiter=delimiter), [])
    except csv.Error:
        return line.rstrip("\r\n").split(delimiter)


def _runaway_quote(lines: list[str], delimiter: str, width: int) -> bool:
    """True when a "multi-line cell" is really an unclosed quote: lines inside it are complete rows of their own.

    Two such lines, or one in a table of five columns or more: a note line of a narrow table may split into the
    right number of cells by chance.
    """
    complete = sum(len(_split_line(line, delimiter)) == width for line in lines[1:]) if width >= 3 else 0
    return complete >= 2 or (complete == 1 and width >= 5)


def _line_row(number: int, line: str, delimiter: str, headers: list[str], shown: list[str]) -> Iterator[RawRow]:
    """The data row of one physical line (none when it is blank or not data); a bad one names the unclosed quote."""
    cells = _split_line(line, delimiter)
    if _is_not_data(cells, shown):
        return
    row = _data_row(number, headers, cells, line.rstrip("\r\n"))
    if row.error and '"' in line:
        row.error = f'unclosed quote (") in this row: {row.error}'
    yield row


def _csv_rows(text: str, path: str) -> tuple[list[str], Iterator[RawRow]]:
    """Headers and data rows of a CSV text; rows whose field count differs from the header carry an error."""
    physical = io.StringIO(text, newline="").readlines()  # the lines as the reader counts them
    first = next((line for line in physical if line.strip()), None)
    if first is None:
        raise ReportFileError(f"{path}: empty file")
    found = _csv_header(text)
    delimiter, header_index = found if found is not None else (_delimiter(first), None)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    number = 0  # spreadsheet row number of the record last read (a quoted multi-line cell is one row)
    try:
        headers: list[str] = []
        for headers in reader:
            number += 1
            if (number - 1 == header_index) if header_index is not None else any(c.strip() for c in headers):
                break
    except csv.Error as exc:
        raise ReportFileError(f"{path}: unreadable CSV header: {exc}") from None
    shown = [h.strip() for h in headers]
    headers = _unique_headers(shown)
    render = _row_writer(delimiter)

    def rows() -> Iterator[RawRow]:
        """Yield data rows numbered as a spreadsheet shows them (header = row 1 when nothing is above it)."""
        nonlocal number
        while True:
            start = reader.line_num
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                number += 1
                yield RawRow(number, {}, "", f"unreadable CSV row: {exc}")
                continue
            spanned = physical[start:reader.line_num]
            if len(spanned) > 1 and _runaway_quote(spanned, delimiter, len(headers)):
                for line in spanned:  # an unclosed quote swallowed the rows below it: read each line on its own
                    number += 1
                    yield from _line_row(number, line, delimiter, headers, shown)
                continue
            number += 1
            if _is_not_data(cells, shown):
                continue
            yield _data_row(number, headers, cells, render(cells))

    return headers, rows()


def _flat_name(key: str, sub: str, taken: dict[str, Any]) -> str:
    """Column name of a nested field: "provider name" when that names a column, else the field's own name if free."""
    prefixed = f"{key} {sub}"
    if listed_column(prefixed) or names_other_entity(prefixed):
        return prefixed  # "practice name", "call date", "group npi" (kept apart from the provider's npi)
    return sub if canonical_column(sub) and sub not in taken else prefixed


def _flatten(obj: dict[str, Any]) -> dict[str, Any]:
    """Flatten nested objects ({"provider": {"name": {"first": ..}}, "address": {"city": ..}}) into report columns."""
    flat: dict[str, Any] = {}
    for key, value in obj.items():
        if isinstance(value, dict):
            for sub, inner in _flatten(value).items():
                flat.setdefault(_flat_name(str(key), str(sub), {**obj, **flat}), inner)
        else:
            flat[key] = value
    return flat


def _object_list(doc: dict[str, Any], depth: int = 0) -> list[Any] | None:
    """The first list of objects in a JSON object or the objects inside it, preferring the usual names."""
    lists = [(str(k).casefold(), val) for k, val in doc.items()
             if isinstance(val, list) and val and all(isinstance(x, dict) for x in val[:20])]
    for candidates in ([p for p in lists if p[0] in _LIST_KEYS], lists):
        if candidates:
            return candidates[0][1]
    if depth >= 3:
        return None
    for val in doc.values():
        found = _object_list(val, depth + 1) if isinstance(val, dict) else None
        if found is not None:
            return found
    return None


def _report_list(doc: Any) -> list[Any] | None:
    """The list of report objects in a JSON document: the array itself, or the list of objects wrapped in objects
    ({"results": [...]}, {"data": {"calls": [...]}}), else a top-level list; None when there is no list."""
    if isinstance(doc, list):
        return doc
    if not isinstance(doc, dict):
        return None
    found = _object_list(doc)
    if found is not None:
        return found
    lists = [(str(k).casefold(), val) for k, val in doc.items() if isinstance(val, list)]
    preferred = [p for p in lists if p[0] in _LIST_KEYS]
    return (preferred or lists)[0][1] if lists else None


def _headers_of(objects: list[dict[str, Any]]) -> list[str]:
    """Union of keys of JSON rows, in order of first appearance."""
    seen: dict[str, None] = {}
    for obj in objects:
        for key in obj:
            seen.setdefault(key, None)
    return list(seen)


def _json_rows(text: str, path: str) -> tuple[list[str], Iterator[RawRow]]:
    """Rows of a JSON array, or of the list inside an object ({"reports": [...]})."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ReportFileError(f"{path}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    items = _report_list(doc)
    if items is None and isinstance(doc, dict):
        items = [doc]  # a single report object
    if not isinstance(items, list):
        raise ReportFileError(f"{path}: expected a JSON array of report objects")
    parsed = [(i, _flatten(o) if isinstance(o, dict) else None, o) for i, o in enumerate(items, start=1)]
    headers = _headers_of([p for _, p, _ in parsed if p is not None])

    def rows() -> Iterator[RawRow]:
        """Yield report objects numbered from 1; non-objects carry an error."""
        for number, flat, original in parsed:
            verbatim = json.dumps(original, ensure_ascii=False, default=str)
            if flat is None:
                yield RawRow(number, {}, verbatim, "not a JSON object")
            else:
                yield RawRow(number, flat, verbatim)

    return headers, rows()


def _jsonl_rows(text: str, path: str) -> tuple[list[str], Iterator[RawRow]]:
    """Rows of a JSON Lines file, numbered by line; malformed lines carry an error."""
    parsed: list[RawRow] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            parsed.append(RawRow(number, {}, line, f"malformed JSON: {exc.msg}"))
            continue
        if not isinstance(obj, dict):
            parsed.append(RawRow(number, {}, line, "not a JSON object"))
            continue
        parsed.append(RawRow(number, _flatten(obj), line))
    if not parsed:
        raise ReportFileError(f"{path}: empty file")
    return _headers_of([r.cells for r in parsed if r.error is None]), iter(parsed)


def _is_workbook(data: bytes, path: str) -> bool:
    """True for an .xlsx/.xlsm workbook (ZIP signature, whatever the name); ReportFileError for other Excel files."""
    suffix = Path(path).suffix.casefold()
    if data.startswith(_OLE2_MAGIC):
        if suffix in _XLSX_SUFFIXES:  # an encrypted .xlsx is an OLE2 container too
            raise ReportFileError(f"{path}: a password-protected workbook or a renamed Excel 97-2003 .xls file: "
                                  f"save it without a password as .xlsx or CSV")
        raise ReportFileError(f"{path}: an Excel 97-2003 .xls file: save it as .xlsx or CSV")
    if data.startswith(_ZIP_MAGIC):
        if suffix in (".ods", ".numbers", ".docx", ".zip"):
            raise ReportFileError(f"{path}: a {suffix} file, not a report ghostcheck reads: save the sheet as .xlsx "
                                  "or CSV")
        return True
    if suffix in _XLSX_SUFFIXES:
        raise ReportFileError(f"{path}: named {suffix} but not an Excel workbook (no ZIP signature): damaged, or "
                              f"another format renamed?")
    return False


def _damaged(path: str, exc: BaseException) -> ReportFileError:
    """The one-line error of a workbook that cannot be read."""
    detail = " ".join(str(exc).split()) or type(exc).__name__
    return ReportFileError(f"{path}: looks binary but is not a readable Excel .xlsx workbook "
                           f"(damaged or truncated? {detail})")


def _open_workbook(data: bytes, path: str) -> Workbook:
    """Open workbook bytes read-only (rows are streamed) with formulas as their cached values."""
    from openpyxl import load_workbook  # imported here: only workbooks pay for it

    try:
        return load_workbook(io.BytesIO(data), read_only=True, data_only=True, keep_links=False)
    except _WORKBOOK_ERRORS as exc:
        raise _damaged(path, exc) from None


def _cell_text(value: object) -> str:
    """A workbook cell as report text: whole numbers without ".0", dates as ISO, booleans as true/false."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else f"{value:.15g}"  # Excel shows 15 significant digits
    if isinstance(value, dt.datetime):
        moment = value.replace(microsecond=0)
        return moment.date().isoformat() if moment.time() == dt.time() else moment.isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value).strip()


def _trimmed(cells: list[str]) -> list[str]:
    """The cells without the empty ones at the end."""
    end = len(cells)
    while end and not cells[end - 1]:
        end -= 1
    return cells[:end]


def _sheet_rows(sheet: ReadOnlyWorksheet, path: str) -> Iterator[tuple[int, list[str]]]:
    """Stream a sheet's rows as (Excel row number, cell texts); ReportFileError when the workbook is damaged."""
    sheet.reset_dimensions()  # read every stored row, whatever size the writing program recorded
    try:
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):  # gaps come as empty rows
            yield number, _trimmed([_cell_text(value) for value in values])
    except _WORKBOOK_ERRORS as exc:
        raise _damaged(path, exc) from None


def _is_header(cells: list[str]) -> bool:
    """True for a row naming report columns: an identifying one and another (a title line names at most one)."""
    columns = map_headers(cells)
    return columns.has_any(*_IDENTIFYING) and len(columns.columns) >= 2


def _pick_header(rows: list[list[str]]) -> int | None:
    """Index of the header among a table's first rows: the first row naming report columns, or a row right below
    it naming more (under a merged group-label row such as "Provider | Location | Call"); None when there is none."""
    found: int | None = None
    for index, cells in enumerate(rows):
        if not any(cells):
            continue
        if not _is_header(cells):
            if found is not None:
                break
            continue
        if found is not None and len(map_headers(cells).columns) <= len(map_headers(rows[found]).columns):
            break
        found = index
    return found


def _find_header(rows: Iterator[tuple[int, list[str]]]) -> tuple[list[str], list[tuple[int, list[str]]]] | None:
    """Read a sheet's first rows and find its header (title, group-label and blank rows above are skipped):
    (header cells, the rows already read after it); None when there is none."""
    head = list(itertools.islice(rows, _HEADER_SCAN_ROWS))
    index = _pick_header([cells for _, cells in head])
    return None if index is None else (head[index][1], head[index + 1:])


def _xlsx_data_rows(rows: Iterator[tuple[int, list[str]]], headers: list[str], shown: list[str],
                    workbook: Workbook) -> Iterator[RawRow]:
    """Yield the non-empty rows after the header, numbered as Excel shows them; closes the workbook when done."""
    render = _row_writer(",")
    try:
        for number, cells in rows:
            if not _is_not_data(cells, shown):
                padded = cells + [""] * (len(headers) - len(cells))  # empty cells at a row's end are not stored
                yield _data_row(number, headers, padded, render(cells))
    finally:
        workbook.close()


def _xlsx_rows(data: bytes, path: str) -> tuple[list[str], Iterator[RawRow]]:
    """Headers and data rows of the first visible sheet with a report header row, streamed from the workbook."""
    workbook = _open_workbook(data, path)
    visible = [sheet for sheet in workbook.worksheets if sheet.sheet_state == "visible"]
    for sheet in visible:
        rows = _sheet_rows(sheet, path)
        found = _find_header(rows)
        if found is not None:
            shown, after = found
            headers = _unique_headers(shown)
            return headers, _xlsx_data_rows(itertools.chain(after, rows), headers, shown, workbook)
        rows.close()
    workbook.close()
    names = ", ".join(sheet.title for sheet in visible) or "none"
    raise ReportFileError(f"{path}: no visible sheet has a report header row (e.g. NPI, phone or address and a date) "
                          f"in its first {_HEADER_SCAN_ROWS} rows; sheets: {names}")


def read_rows(path: str) -> tuple[str, str, list[str], Iterator[RawRow]]:
    """Open a report file and return (format, encoding, headers, rows); ReportFileError when unreadable."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise ReportFileError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise ReportFileError(f"{path}: is a directory, expected a report file") from None
    except OSError as exc:
        raise ReportFileError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if not data.strip():
        raise ReportFileError(f"{path}: empty file")
    if _is_workbook(data, path):
        headers, rows = _xlsx_rows(data, path)
        return "xlsx", "", headers, rows
    text, encoding = _decode(data, path)
    fmt = _sniff_format(path, text)
    reader = {"csv": _csv_rows, "json": _json_rows, "jsonl": _jsonl_rows}[fmt]
    headers, rows = reader(text, path)
    return fmt, encoding, headers, rows


# --- one row -> one observation ------------------------------------------------------------------------------


def _address_key(street: str | None, city: str | None, state: str | None, zip_code: str | None) -> str | None:
    """Normalized address key (USPS Pub 28 line + ZIP5); a plain casefolded key when the normalizer cannot parse it."""
    if not street and not zip_code:
        return None
    parsed = normalize_address(street or "", city or "", state or "", zip_code or "")
    if parsed is not None and parsed.key:
        return str(parsed.key)
    zip5 = re.sub(r"\D", "", zip_code or "")[:5]
    return " ".join(re.sub(r"[^a-z0-9 ]", " ", f"{street or ''} {zip5}".casefold()).split()) or None


def location_key(address: str | None, city: str | None, state: str | None, zip_code: str | None,
                 phone: str | None, practice_name: str | None) -> str:
    """The location part of observation_id: address key, else phone E.164, else practice name, else ''."""
    key = _address_key(address, city, state, zip_code)
    if key:
        return f"addr:{key}"
    dialled = phone_key(phone) if phone else None
    if dialled:
        return f"tel:{dialled}"
    if practice_name:
        return "org:" + " ".join(practice_name.casefold().split())
    return ""


def observation_id(source: str, npi: str | None, location: str, reported_at: str, insurer: str | None) -> str:
    """Stable id of one report: sha1(source|npi|location|reported_at[|insurer])[:16]."""
    parts = [source, npi or "", location, reported_at]
    if insurer:
        parts.append(" ".join(insurer.casefold().split()))
    return hashlib.sha1("|".join(parts).encode("utf-8")).hexdigest()[:16]


def _str(value: Any) -> str | None:
    """A trimmed string cell, None when blank."""
    if v.is_blank(value):
        return None
    text = " ".join(str(value).split())
    return text or None


def _zip(value: Any) -> str | None:
    """ZIP as text, restoring a leading zero lost by spreadsheets (2134 -> 02134)."""
    text = _str(value)
    if text is None:
        return None
    text = re.sub(r"\.0$", "", text)
    if re.fullmatch(r"\d{3,4}", text):
        return text.zfill(5)
    if re.fullmatch(r"\d{7,8}", text):
        return text.zfill(9)[:5] + "-" + text.zfill(9)[5:]
    return text


def _iso(moment: dt.date | dt.datetime) -> str:
    """ISO text of a report time: a date stays a date, a datetime keeps seconds (UTC offset if given)."""
    if isinstance(moment, dt.datetime):
        return moment.replace(microsecond=0).isoformat()
    return moment.isoformat()


def _person_name(item: Any) -> Any:
    """A person in a JSON list: the item itself, or an object's name ({"name": ..} or {"first": .., "last": ..})."""
    if not isinstance(item, dict):
        return item
    flat = _flatten(item)
    columns = map_headers(list(flat))
    full = columns.get(flat, "provider_name")
    if not v.is_blank(full) and not isinstance(full, (dict, list)):
        return full
    parts = [columns.get(flat, name) for name in ("first_name", "middle_name", "last_name")]
    return " ".join(str(p) for p in parts if not v.is_blank(p)) or None


def _names(value: Any) -> list[str]:
    """Provider names listed in one cell: split on ; | and newlines (commas belong to "Last, First")."""
    if isinstance(value, list):  # ["Amy Chen", ...] or [{"name": "Amy Chen", "npi": ...}, ...]
        return [n for n in (_str(_person_name(x)) for x in value) if n]
    text = _str(value)
    if text is None:
        return []
    return [n.strip() for n in re.split(r"[;|\n]+", str(value)) if n.strip()]


def _accepts_plan(value: Any) -> tuple[bool | None, list[str]]:
    """(yes/no, plans named) of an "accepts plan" cell: Y/N, or the accepted plan's name ("Plan accepted: Aetna")."""
    try:
        return v.parse_bool(value), []
    except ValueError:
        if v.negated(value):  # "Does not accept Aetna", "Not in network": no plan name to list as accepted
            raise
        return None, v.split_insurers(value)


def _first_appointment(value: Any, reported: dt.date) -> dt.date | None:
    """The first appointment offered; None when the cell says none or is free text (kept verbatim in raw)."""
    try:
        return v.parse_first_appointment(value, reported)
    except ValueError:
        return None  # "call back in January" must not cost the row its accepting status


def row_to_observation(
    raw: RawRow,
    columns: ColumnMap,
    path: str,
    default_source: str | None,
    today: dt.date,
) -> dict[str, Any] | None:
    """Turn one row into an observation record; None for a row with no answers; ValueError names the problem."""
    cells = raw.cells
    get = lambda name: columns.get(cells, name)  # noqa: E731 - tiny local accessor
    source = v.parse_source(get("source")) or default_source
    if source is None:
        raise ValueError("no report source (add a source column or pass --source)")
    if all(v.is_blank(get(name)) for name in _ANSWERS):
        return None
    npi = v.parse_npi(get("npi"))
    provider_name = _str(get("provider_name"))
    if provider_name is None:
        parts = [_str(get(n)) for n in ("first_name", "middle_name", "last_name")]
        provider_name = " ".join(p for p in parts if p) or None
    practice_name = _str(get("practice_name"))
    street = " ".join(p for p in (_str(get("address")), _str(get("address2"))) if p) or None
    city, state, zip_code = _str(get("city")), _str(get("state")), _zip(get("zip"))
    phone_text = _str(get("phone"))
    phone = normalize_phone(phone_text) if phone_text else None
    insurer = _str(get("insurer"))
    listing_id = _str(get("listing_id"))
    if not (npi or phone_text or street or practice_name or listing_id):
        raise ValueError("row names no provider or location (needs npi, phone, address or practice name)")

    reported = v.parse_datetime(get("reported_at"))
    if reported is None:
        raise ValueError("missing report date (reported_at / date of call)")
    reported_day = reported.date() if isinstance(reported, dt.datetime) else reported
    if reported_day > today + dt.timedelta(days=1):
        raise ValueError(f"report date {reported_day.isoformat()} is in the future")
    if reported_day.year < 2000:
        raise ValueError(f"report date {reported_day.isoformat()} is implausibly old")
    reported_at = _iso(reported)

    outcome_text = get("call_outcome")
    outcome = v.parse_call_outcome(outcome_text)
    reach_cell = get("reachable")
    reachable = v.parse_reachable(reach_cell)
    if outcome is None and isinstance(reach_cell, str):  # "Reached?" answered "Wrong number" or "No - VM"
        hinted = v.parse_call_outcome(reach_cell)
        outcome = hinted if hinted in _OUTCOMES_IN_REACHED_CELL else None
    correct_location = v.parse_bool(get("correct_location"))
    at_location = v.parse_bool(get("provider_at_location"))
    accepts_plan, plans_named = _accepts_plan(get("accepts_plan"))
    if reachable is True and outcome in ("no_answer", "voicemail", "disconnected"):
        raise ValueError(f"reachable=yes contradicts call outcome {outcome}")
    if reachable is False and outcome == "reached":
        raise ValueError("reachable=no contradicts call outcome reached")
    if outcome is None and reachable is True:
        outcome = ("not_at_location" if at_location is False else
                   "wrong_number" if correct_location is False else "reached")
    if reachable is None:
        reachable = v.outcome_reachable(outcome)

    accepting_raw = get("accepting_new_patients")
    accepting = v.report_accepting(accepting_raw)
    accepted = v.split_insurers(get("insurers_accepted"))
    refused = v.split_insurers(get("insurers_not_accepted"))
    accepted += [name for name in plans_named if name not in accepted]
    if insurer and accepts_plan is True and insurer not in accepted:
        accepted.append(insurer)
    if insurer and accepts_plan is False and insurer not in refused:
        refused.append(insurer)
    first_appt = _first_appointment(get("first_appointment"), reported_day)

    providers = _names(get("providers"))
    departed: list[str] = []
    if provider_name and at_location is True and provider_name not in providers:
        providers.append(provider_name)
    if provider_name and (at_location is False or outcome == "not_at_location"):
        departed.append(provider_name)

    extras = {h: cells.get(h) for h in columns.extras if not v.is_blank(cells.get(h))}
    extra_fields = {
        "listing_id": listing_id, "insurer": insurer, "correct_location": correct_location,
        "provider_at_location": at_location, "accepts_plan": accepts_plan,
        "caller_notes": _str(get("caller_notes")),
        "accepting_raw": _str(accepting_raw), "call_outcome_raw": _str(outcome_text),
        "first_appointment_raw": _str(get("first_appointment")) if first_appt is None else None,
        "phone_raw": phone_text if phone_text and phone_text != phone else None,
        "phone_valid": (phone is not None) if phone_text else None,
        "file": path, "row": raw.row,
    }
    raw_obj = {k: val for k, val in extra_fields.items() if val is not None}
    if extras:
        raw_obj["extra"] = extras
    location = location_key(street, city, state, zip_code, phone_text, practice_name)
    return {
        "observation_id": observation_id(source, npi, location, reported_at, insurer),
        "source": source,
        "npi": npi,
        "provider_name": provider_name,
        "practice_name": practice_name,
        "address": street,
        "city": city,
        "state": state,
        "zip": zip_code,
        "phone": phone or phone_text,
        "accepting_status": accepting,
        "insurers_accepted": accepted,
        "insurers_not_accepted": refused,
        "reachable": reachable,
        "call_outcome": outcome,
        "first_appointment": first_appt.isoformat() if first_appt else None,
        "providers": providers,
        "departed_providers": departed,
        "evidence_url": f"{path}#row={raw.row}",
        "evidence_text": raw.text[:_MAX_REASONS_TEXT],
        "evidence_sha256": hashlib.sha256(raw.text.encode("utf-8")).hexdigest(),
        "observed_at": reported_at,
        "confidence": 1.0,
        "raw": raw_obj,
    }


def _quarantine(path: str, row: int | None, error: str, raw_text: str, source: str | None) -> dict[str, Any]:
    """A quarantine landing record for one bad row (row None: the whole file)."""
    return {"source": source or "reports", "file": path, "row": row, "error": error,
            "raw_text": raw_text[:_MAX_REASONS_TEXT], "quarantined_at": utcnow_iso()}


def parse_report(path: str, default_source: str | None = None, today: dt.date | None = None) -> ParsedReport:
    """Parse one report file into observations and quarantine records; ReportFileError when unreadable."""
    today = today or dt.datetime.now(dt.timezone.utc).date()
    result = ParsedReport(path=path)
    result.format, result.encoding, headers, rows = read_rows(path)
    columns = map_headers(headers)
    result.columns = columns
    if not columns.has_any(*_IDENTIFYING):
        shown = ", ".join(headers[:8]) + (" ..." if len(headers) > 8 else "")
        raise ReportFileError(f"{path}: no report columns recognised (needs npi, phone, address or practice name; "
                              f"saw: {shown or 'nothing'})")
    if "reported_at" not in columns.columns:
        raise ReportFileError(f"{path}: no report date column (reported_at, 'Date of Call', 'Attestation Date'...)")
    if default_source is None and "source" not in columns.columns:
        raise ReportFileError(f"{path}: no source column; pass --source attestation|phone_survey|secret_shopper")
    seen_ids: set[str] = set()
    for raw in rows:
        source_hint = None
        if raw.error is None:
            try:
                source_hint = v.parse_source(columns.get(raw.cells, "source")) or default_source
                record = row_to_observation(raw, columns, path, default_source, today)
            except ValueError as exc:
                result.quarantine.append(_quarantine(path, raw.row, str(exc), raw.text, source_hint))
                continue
            if record is None:
                result.skipped += 1
            elif record["observation_id"] in seen_ids:
                result.duplicates += 1  # the same report twice in one file: keep the first
            else:
                seen_ids.add(record["observation_id"])
                result.observations.append(record)
        else:
            result.quarantine.append(_quarantine(path, raw.row, raw.error, raw.text, default_source))
    return result
