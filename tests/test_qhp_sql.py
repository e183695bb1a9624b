"""QHP SQL path (crawlers.bulk.qhp_sql) vs the Python parser (crawlers.parse.qhp): identical listings and quarantine.

The fixtures are built to look like what people publish, not like our own output: numeric and
labelled NPIs, names as objects, strings or missing, padded and multi-line text, non-ASCII,
addresses/plans/years/specialties of every odd type, extra fields, and entries that are not objects.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import duckdb
import pytest

from crawlers.bulk import qhp_sql
from crawlers.parse.qhp import EntryError, provider_listings
from crawlers.spiders.qhp import StreamError, parse_spooled
from reconcile.normalize.npi import npi_check_digit

INSURER = "Prairie O'Health"
URL = "http://127.0.0.1/cms/providers.json"
FETCHED = "2026-11-25T03:00:00+00:00"


def npi(i: int) -> str:
    """A valid NPI for index i."""
    first9 = f"1{i % 100_000_000:08d}"
    return first9 + npi_check_digit(first9)


ODD_VALUES: list[Any] = [
    None, "", "  ", " padded ", "two  spaces", "line\nbreak", "tab\there", "nbsp\xa0here", "\u2003em space",
    "Zoë Ärzte", "日本語", "emoji 🙂", 'quote " inside', "back\\slash", "[bracketed]", "{braced}", "true", "0",
    62701, 0, -5, 1.5, 62701.0, True, False, {"x": 1}, ["a", "b"], [], {},
]


def base_entry(i: int) -> dict[str, Any]:
    """An ordinary CMS QHP README-shaped entry."""
    return {
        "npi": npi(i), "type": "INDIVIDUAL",
        "name": {"prefix": "Dr.", "first": f"Given{i}", "middle": "Q", "last": f"Family{i}", "suffix": "MD"},
        "addresses": [
            {"address": f"{i} Main Street", "address_2": "Suite 4", "city": "Springfield", "state": "IL",
             "zip": "62701", "phone": "2175550100"},
            {"address": "77 River Rd", "address_2": "", "city": "Peoria", "state": "IL", "zip": "61602-1234",
             "phone": "309-555-0111"}],
        "specialty": ["Family Medicine", "Sports Medicine"], "accepting": "accepting",
        "plans": [{"plan_id_type": "HIOS-PLAN-ID", "plan_id": "12345IL0010001", "network_tier": "PREFERRED",
                   "years": [2025, 2026]}],
        "languages": ["English", "Spanish"], "gender": "Female", "last_updated_on": "2026-08-15",
    }


def old_schema(entry: dict[str, Any], rng: random.Random, value: Any) -> dict[str, Any]:
    """The entry in the first CMS README's shape: one `address` object, the phone beside it, accepting a boolean."""
    address = entry.pop("addresses")[rng.randrange(2)]
    phone = address.pop("phone")
    entry["address"] = rng.choice([address, address, [address], "12 Main St, Springfield, IL 62701", value])
    entry["phone"] = rng.choice([phone, phone, value])
    entry["accepting"] = rng.choice([True, False, "true", value])
    entry["specialty"] = rng.choice(["Ophthalmology", value])
    return entry


def mutate(entry: dict[str, Any], rng: random.Random) -> Any:
    """One to three real-world deviations applied to an entry."""
    for _ in range(rng.randint(1, 3)):
        choice = rng.randrange(18)
        value = rng.choice(ODD_VALUES)
        try:
            result = _apply(entry, choice, value, rng)
        except (TypeError, KeyError, IndexError, AttributeError):
            continue  # an earlier deviation already replaced the part this one changes
        if result is not entry:
            return result
    return entry


def _apply(entry: dict[str, Any], choice: int, value: Any, rng: random.Random) -> Any:
    """Apply deviation number `choice`; return the entry (or a non-object replacing it)."""
    if True:
        if choice == 0:
            entry["npi"] = rng.choice([int(entry["npi"]), float(entry["npi"]), f"NPI: {entry['npi']}",
                                       entry["npi"][:5] + "-" + entry["npi"][5:], "1234567890", None, "", True])
        elif choice == 1:
            entry["name"] = rng.choice([value, {"first": value, "last": "Doe"}, {"last": value, "suffix": value}])
        elif choice == 2:
            entry.pop("name", None)
            entry["type"] = rng.choice(["FACILITY", "facility", "Facility ", value])
            entry["facility_name"] = rng.choice([value, "Springfield Imaging Center"])
            entry["facility_type"] = rng.choice([value, ["Imaging Center", value]])
        elif choice == 3:
            entry["addresses"] = rng.choice([value, [value], [entry["addresses"][0], value], [None], []])
        elif choice == 4:
            entry["addresses"][0][rng.choice(qhp_sql.ADDRESS_KEYS)] = value
        elif choice == 5:
            entry["plans"] = rng.choice([value, [value], [{"plan_id": value, "network_tier": value}], [None], []])
        elif choice == 6:
            entry["plans"][0]["years"] = rng.choice([value, [2026, value], ["2026"], [2026.0], None])
        elif choice == 7:
            entry["specialty"] = rng.choice([value, [value, "Pediatrics"], "Pediatrics", []])
        elif choice == 8:
            entry["accepting"] = rng.choice([value, "Accepting", "not accepting", "Not Accepting New Patients",
                                             "existing patients only", "Y", "N", 1])
        elif choice == 9:
            entry[rng.choice(["gender", "last_updated_on", "type", "languages"])] = value
        elif choice == 10:
            entry["board_certified"] = rng.choice([True, 1.25, {"nested": [1, {"deep": None}]}])
        elif choice == 11:
            entry["name"][rng.choice(qhp_sql.NAME_KEYS)] = value
        elif choice == 12:
            entry["plans"].append({"plan_id": value, "plan_id_type": "HIOS-PLAN-ID", "network_tier": value})
        elif choice == 13:
            entry["addresses"][1]["geo"] = {"lat": 40.1, "type": {"x": 1}}
        elif choice == 14:
            entry.pop(rng.choice(["addresses", "plans", "specialty", "accepting", "name", "type"]), None)
        elif choice == 15:
            return old_schema(entry, rng, value)
        elif choice == 16:
            entry["phone"] = value  # a top-level phone beside the addresses' own
        else:
            return rng.choice(["not an object", 12, None, [1, 2], True])
    return entry


def entries(count: int, seed: int) -> list[Any]:
    """Ordinary and mutated entries (about two thirds mutated), unique NPIs."""
    rng = random.Random(seed)
    out = []
    for i in range(count):
        entry = base_entry(i)
        out.append(mutate(entry, rng) if rng.random() < 0.66 else entry)
    return out


def python_reference(path: Path) -> tuple[dict[str, dict[str, Any]], dict[int, str]]:
    """Listings (by listing_id) and quarantined entry indexes of the pure Python path over a file."""
    listings: dict[str, dict[str, Any]] = {}
    quarantined: dict[int, str] = {}
    file_hash = qhp_sql.file_sha256(str(path))

    def deliver(batch: list[tuple[int, Any]]) -> bool:
        """Parse one batch like the spider does."""
        for index, entry in batch:
            try:
                for row in provider_listings(entry, INSURER, URL, FETCHED, index, file_hash):
                    listings.setdefault(row["listing_id"], row)
            except EntryError as exc:
                quarantined[index] = str(exc)
        return True

    parse_spooled(str(path), URL, deliver)
    return listings, quarantined


def sql_path(path: Path, work: Path) -> tuple[dict[str, dict[str, Any]], dict[int, str], int]:
    """Listings, quarantined indexes and misfit count of the SQL path (misfits through the Python parser)."""
    con = qhp_sql.connect(str(work))
    result = qhp_sql.convert_providers(con, str(path), str(work / "out"), INSURER, URL, FETCHED)
    listings: dict[str, dict[str, Any]] = {}
    if result.parquet:
        cursor = con.execute("SELECT * FROM read_parquet(?, hive_partitioning = false)", [result.parquet])
        names = [d[0] for d in cursor.description]
        for values in cursor.fetchall():
            row = dict(zip(names, values))
            row["plans"], row["raw"] = json.loads(row["plans"]), json.loads(row["raw"])
            listings.setdefault(row["listing_id"], row)
    quarantined: dict[int, str] = {}
    for index, entry in qhp_sql.misfit_entries(result.misfit_files):
        try:
            for row in provider_listings(entry, INSURER, URL, FETCHED, index, qhp_sql.file_sha256(str(path))):
                listings.setdefault(row["listing_id"], row)
        except EntryError as exc:
            quarantined[index] = str(exc)
    con.close()
    return listings, quarantined, result.misfits


def assert_paths_agree(path: Path, work: Path) -> tuple[dict[str, dict[str, Any]], int]:
    """Assert the SQL path gives the Python parser's listings field by field and its quarantine; (listings, misfits)."""
    expected, expected_q = python_reference(path)
    got, got_q, misfits = sql_path(path, work)
    assert got_q == expected_q
    assert set(got) == set(expected)
    for key, row in expected.items():
        assert {k: got[key].get(k) for k in row} == row, key
    return got, misfits


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sql_and_python_paths_agree(tmp_path: Path, seed: int) -> None:
    """Over varied entries both paths give the same listings field by field and quarantine the same entries."""
    path = tmp_path / "providers.json"
    data = entries(400, seed)
    indent = 2 if seed == 2 else None  # pretty-printed and compact files
    path.write_text(json.dumps(data, indent=indent, ensure_ascii=seed != 3))
    got, misfits = assert_paths_agree(path, tmp_path / "work")
    assert 0 < misfits < len(data) * 0.6  # both paths really ran: the SQL one took the plain entries
    assert len(got) > 200


def test_sql_path_takes_ordinary_entries(tmp_path: Path) -> None:
    """Clean README-shaped entries never go to the Python parser; payload hashes match the Python ones."""
    path = tmp_path / "providers.json"
    data = [base_entry(i) for i in range(50)]
    path.write_text(json.dumps(data, indent=1))
    got, quarantined, misfits = sql_path(path, tmp_path / "work")
    expected, _ = python_reference(path)
    assert misfits == 0 and quarantined == {} and len(got) == 100
    assert {k: v["payload_sha256"] for k, v in got.items()} == {k: v["payload_sha256"] for k, v in expected.items()}


def test_first_readme_shape_is_read_on_the_sql_path(tmp_path: Path) -> None:
    """Entries in the first CMS README's shape (one `address` object, `phone` beside it, `accepting: true`) give
    their address, phone and status, on the SQL path and exactly as the Python parser reads them."""
    path = tmp_path / "providers.json"
    data = []
    for i in range(40):
        entry = base_entry(i)
        address = entry.pop("addresses")[0]
        entry["phone"] = address.pop("phone")
        entry.update(address=address, accepting=i % 2 == 0, specialty="Ophthalmology")
        data.append(entry)
    path.write_text(json.dumps(data))
    got, misfits = assert_paths_agree(path, tmp_path / "work")
    assert misfits == 0 and len(got) == 40
    first = got[min(got)]
    assert (first["city"], first["zip"], first["phone"]) == ("Springfield", "62701", "2175550100")
    assert {(v["accepting_status"], v["accepting_raw"]) for v in got.values()} == {
        ("accepting", "true"), ("not_accepting", "false")}


def test_malformed_file_raises_for_the_fallback(tmp_path: Path) -> None:
    """A cut-off file is refused by DuckDB (the spider then parses it in Python, keeping entries before the break)."""
    path = tmp_path / "providers.json"
    text = json.dumps([base_entry(i) for i in range(20)])
    path.write_text(text[: len(text) // 2])
    con = qhp_sql.connect(str(tmp_path / "work"))
    with pytest.raises(duckdb.Error):
        qhp_sql.convert_providers(con, str(path), str(tmp_path / "work" / "out"), INSURER, URL, FETCHED)
    seen: list[int] = []
    with pytest.raises(StreamError, match="malformed JSON after entry"):
        parse_spooled(str(path), URL, lambda batch: seen.extend(i for i, _ in batch) or True)
    assert seen and seen == list(range(len(seen)))


def test_json_lines_and_bom_files_read_like_the_array(tmp_path: Path) -> None:
    """A JSON Lines providers file and an array behind a UTF-8 BOM: both paths agree, entries indexed alike."""
    data = entries(300, 4)
    lines = tmp_path / "providers.jsonl"
    lines.write_text("\n".join(json.dumps(e) for e in data[:150]) + "\n\n" + "\n".join(json.dumps(e) for e in data[150:]))
    bom = tmp_path / "providers.json"
    bom.write_bytes(b"\xef\xbb\xbf" + json.dumps(data, indent=1).encode())
    assert (qhp_sql.json_format(str(lines)), qhp_sql.json_format(str(bom))) == ("newline_delimited", "array")
    from_lines, misfits = assert_paths_agree(lines, tmp_path / "work-lines")
    from_array, _ = assert_paths_agree(bom, tmp_path / "work-bom")
    assert 0 < misfits < len(data) and len(from_lines) > 150
    assert {k: v["raw"]["entry_index"] for k, v in from_lines.items()} == {
        k: v["raw"]["entry_index"] for k, v in from_array.items()}


@pytest.mark.parametrize("body", [b"", b"  \n", b'"providers"', b"42", b"null"])
def test_a_file_of_no_entries_is_refused_by_name(tmp_path: Path, body: bytes) -> None:
    """Neither an array nor JSON Lines: DuckDB refuses it and the Python path names it (no silent zero entries)."""
    path = tmp_path / "providers.json"
    path.write_bytes(body)
    con = qhp_sql.connect(str(tmp_path / "work"))
    with pytest.raises(duckdb.Error):
        qhp_sql.convert_providers(con, str(path), str(tmp_path / "work" / "out"), INSURER, URL, FETCHED)
    with pytest.raises(StreamError, match=f"{URL}: not a providers file: neither a JSON array"):
        parse_spooled(str(path), URL, lambda batch: True)


def test_a_wrapping_object_is_quarantined_with_its_reason(tmp_path: Path) -> None:
    """`{"providers": [...]}` is one entry that is not a provider: quarantined saying what it is, on both paths."""
    path = tmp_path / "providers.json"
    path.write_text(json.dumps({"version": "1", "providers": [base_entry(i) for i in range(3)]}))
    got, quarantined, misfits = sql_path(path, tmp_path / "work")
    assert got == {} and misfits == 1
    assert quarantined == {0: "an object wrapping provider entries under 'providers', not a provider entry: "
                              "expected a JSON array of entries"}
    assert python_reference(path) == ({}, quarantined)
