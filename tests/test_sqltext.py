"""Placeholders filled with SQL literals give what bound parameters give, and a load binds none (no pandas import)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
from hypothesis import given, settings
from hypothesis import strategies as st

from warehouse.sqltext import execute, fill

ROOT = Path(__file__).resolve().parent.parent

VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.text(), st.floats(allow_nan=False), st.binary(max_size=8),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(VALUES, min_size=1, max_size=4))
def test_filled_literals_equal_bound_parameters(values: list[object]) -> None:
    """Every value comes back exactly as binding it would give, whether written as a literal or bound."""
    con = duckdb.connect()
    sql = "SELECT " + ", ".join("?" for _ in values) + ", '?', \"?\" FROM (SELECT 1 AS \"?\") -- ?"
    assert execute(con, sql, values).fetchall() == con.execute(sql, values).fetchall()


def test_placeholders_inside_quotes_and_comments_stay() -> None:
    """Only bare `?` are placeholders: quoted text, E'' strings, identifiers and comments keep theirs."""
    sql = "SELECT '?''?', E'\\'?', \"a?\" /* ? */ , ? -- ?\n, ?"
    assert fill(sql, ["x", 2]) == "SELECT '?''?', E'\\'?', \"a?\" /* ? */ , 'x' -- ?\n, 2"
    assert fill("SELECT ?", []) is None  # too few parameters: binding reports it as DuckDB would
    assert fill("SELECT ?", ["a\x00b"]) is None  # NUL cannot be written in SQL text: bound instead


def test_loading_a_landing_tree_binds_no_parameter(tmp_path: Path) -> None:
    """A new warehouse and a landing load never make DuckDB import pandas (~0.3 s when it is installed)."""
    landing = tmp_path / "landing" / "listings" / "acme"
    landing.mkdir(parents=True)
    row = {"listing_id": "l1", "insurer": "Acme", "directory_kind": "fhir", "npi": "1234567893",
           "source_url": "http://x/1", "fetched_at": "2026-11-20T10:00:00Z", "accepting_status": "accepting"}
    (landing / "20261120T100000Z-abcdef.jsonl").write_text(json.dumps(row) + "\n" + json.dumps({**row, "listing_id": "l1"}))
    code = (
        "import sys\nfrom warehouse.db import connect\nfrom warehouse.load import load_landing\n"
        f"con = connect({str(tmp_path / 'w.duckdb')!r})\n"
        f"summary = load_landing(con, {str(tmp_path / 'landing')!r})\n"
        "print(summary.rows, summary.quarantined, 'pandas' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.split() == ["1", "1", "False"]  # the repeated id went down the staged path to quarantine
