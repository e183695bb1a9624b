"""Exports: findings.csv/.parquet/.json and metrics.csv read back by DuckDB and pandas."""

from __future__ import annotations

import csv
import io
import json

import duckdb
import pandas as pd
import pytest

from flows.report.export import export_findings
from report_fixtures import HOSTILE_NAMES, build_warehouse


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """Export a 250-finding warehouse plus hand-written tricky rows; yield (out dir, source frame, columns)."""
    base = tmp_path_factory.mktemp("exp")
    extras = [
        {"finding_id": "formula-1", "provider_name": "=HYPERLINK(\"http://evil.example\",\"x\")", "listing_id": "L00000003"},
        {"finding_id": "formula-2", "provider_name": "@SUM(A1:A9)", "listing_id": "L00000006"},
        {"finding_id": "formula-3", "provider_name": "-2+3+cmd|' /C calc'!A0", "listing_id": "L00000009"},
        {"finding_id": "phone-1", "directory_value": "+1 (217) 555-0100", "listing_id": "L00000012"},
        {"finding_id": "multi-1", "evidence_text": 'line one\nline "two", with comma\r\nthree', "listing_id": "L00000015"},
    ]
    info = build_warehouse(base / "w.duckdb", 250, extra_findings=extras)
    con = duckdb.connect(str(base / "w.duckdb"), read_only=True)
    written = export_findings(con, base / "out")
    source = con.execute("SELECT * FROM findings ORDER BY finding_id").df()
    metrics_n = con.execute("SELECT count(*) FROM metrics").fetchone()[0]
    con.close()
    assert len(source) == info.n_findings
    return base / "out", written, source, metrics_n


def test_all_files_written(exported):
    """The four files are written and no temp file is left behind."""
    out, written, _, _ = exported
    assert sorted(written) == ["findings.csv", "findings.json", "findings.parquet", "metrics.csv"]
    assert sorted(p.name for p in out.iterdir()) == sorted(written)


@pytest.mark.parametrize("name", ["findings.csv", "findings.parquet", "findings.json"])
def test_duckdb_reads_each_export(exported, name):
    """DuckDB reads every findings export with all rows and exactly the view's columns."""
    out, _, source, _ = exported
    with duckdb.connect() as con:
        rel = con.sql(f"SELECT * FROM '{out / name}'")
        assert rel.columns == list(source.columns)
        assert con.sql(f"SELECT count(*) FROM '{out / name}'").fetchone()[0] == len(source)


def test_pandas_reads_each_export(exported):
    """pandas reads csv (BOM skipped), parquet and json with the right rows and columns."""
    out, _, source, _ = exported
    frames = {
        "csv": pd.read_csv(out / "findings.csv", dtype=str, keep_default_na=False),
        "parquet": pd.read_parquet(out / "findings.parquet"),
        "json": pd.read_json(out / "findings.json", orient="records", dtype=False),
    }
    for kind, frame in frames.items():
        assert list(frame.columns) == list(source.columns), kind
        assert len(frame) == len(source), kind


def test_csv_is_excel_friendly_utf8_with_bom(exported):
    """findings.csv starts with a UTF-8 BOM, keeps accents and multi-line cells, and round-trips via csv module."""
    out, _, source, _ = exported
    raw = (out / "findings.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    assert len(rows) == len(source)
    by_id = {r["finding_id"]: r for r in rows}
    assert by_id["multi-1"]["evidence_text"] == 'line one\nline "two", with comma\r\nthree'
    assert any("María José" in r["provider_name"] for r in rows)


def test_csv_neutralises_formulas_but_parquet_json_stay_verbatim(exported):
    """Spreadsheet formulas get a leading apostrophe in CSV only; phone numbers are left alone."""
    out, _, source, _ = exported
    rows = {r["finding_id"]: r for r in csv.DictReader(io.StringIO((out / "findings.csv").read_text("utf-8-sig"), newline=""))}
    for fid in ("formula-1", "formula-2", "formula-3"):
        original = source.set_index("finding_id").loc[fid, "provider_name"]
        assert rows[fid]["provider_name"] == "'" + original
    assert rows["phone-1"]["directory_value"] == "+1 (217) 555-0100"
    parquet = pd.read_parquet(out / "findings.parquet").set_index("finding_id")
    records = {r["finding_id"]: r for r in json.loads((out / "findings.json").read_text("utf-8"))}
    for fid in ("formula-1", "formula-2", "hostile-0", "hostile-1"):
        original = source.set_index("finding_id").loc[fid, "provider_name"]
        assert parquet.loc[fid, "provider_name"] == original
        assert records[fid]["provider_name"] == original
    assert {records["hostile-0"]["provider_name"], records["hostile-1"]["provider_name"]} == set(HOSTILE_NAMES)


def test_metrics_csv_read_back(exported):
    """metrics.csv has every metric row and the metrics columns, for DuckDB and pandas."""
    out, _, _, metrics_n = exported
    frame = pd.read_csv(out / "metrics.csv")
    assert len(frame) == metrics_n
    assert {"insurer", "metric", "field", "value", "ci_low", "ci_high"} <= set(frame.columns)
    with duckdb.connect() as con:
        assert con.sql(f"SELECT count(*) FROM read_csv('{out / 'metrics.csv'}')").fetchone()[0] == metrics_n
        assert con.sql(f"SELECT * FROM read_csv('{out / 'metrics.csv'}')").columns[0] == "insurer"


def test_unknown_format_is_rejected(tmp_path):
    """A typo in formats is a clear ValueError, before anything is written."""
    with duckdb.connect() as con, pytest.raises(ValueError, match="unknown export format"):
        export_findings(con, tmp_path / "x", formats=("xlsx",))
    assert not (tmp_path / "x").exists()
