"""A small NPPES dissemination CSV (the real file's column names) for tests of reference directories."""

from __future__ import annotations

import csv
from pathlib import Path

COLUMNS = (
    "NPI", "Entity Type Code", "Provider Last Name (Legal Name)", "Provider First Name",
    "Provider First Line Business Practice Location Address", "Provider Business Practice Location Address City Name",
    "Provider Business Practice Location Address State Name", "Provider Business Practice Location Address Postal Code",
    "Provider Business Practice Location Address Telephone Number", "Last Update Date", "NPI Deactivation Date",
    "NPI Reactivation Date", "Healthcare Provider Taxonomy Code_1",
)
SMITH = ("1234567893", "1", "SMITH", "JANE", "12 MAIN ST", "SPRINGFIELD", "IL", "627011234", "2175550100",
         "07/08/2023", "", "", "207Q00000X")
HADDAD_DEACTIVATED = ("1245319599", "1", "HADDAD", "OMAR", "1 ELM ST", "CHICAGO", "IL", "60601", "3125550100",
                      "01/02/2020", "05/06/2024", "", "")


def write_nppes_csv(path: Path, rows: list[tuple[str, ...]]) -> Path:
    """Write rows under the NPPES header, every field quoted as in the real file."""
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, quoting=csv.QUOTE_ALL)
        writer.writerow(COLUMNS)
        writer.writerows(rows)
    return path
