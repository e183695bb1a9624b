"""Findings and metrics exports (CSV, Parquet, JSON) written with DuckDB COPY.

CSV choice: UTF-8 **with** a byte-order mark, comma-separated, RFC 4180
quoting, header row, ISO timestamps. Excel only detects UTF-8 (accents, CJK
names) when the BOM is there; pandas (`read_csv`, default encoding) and DuckDB
(`read_csv`) both skip it, so the first column name stays `finding_id`.
Cells that a spreadsheet would run as a formula (starting with `=`, `@`, tab,
CR, or `+`/`-` followed by anything but a phone/number-like value) are prefixed
with `'` in the CSV only (OWASP CSV-injection advice); Parquet and JSON keep
every value verbatim.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Iterable

import duckdb

from flows.report import data

BOM = b"\xef\xbb\xbf"
FORMATS = ("csv", "parquet", "json")
_FORMULA_START = "^[=@\t\r]"
_SIGN_START = "^[+-]"
_NUMBER_LIKE = "^[+-][0-9 ().+-]*$"


def export_findings(
    con: duckdb.DuckDBPyConnection,
    out_dir: str | os.PathLike[str],
    formats: Iterable[str] = FORMATS,
    *,
    sql: str | None = None,
    metrics_sql: str | None = None,
) -> dict[str, Path]:
    """Write findings.{csv,parquet,json} and metrics.csv into out_dir; return name -> path."""
    formats = tuple(formats)
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise ValueError(f"unknown export format(s): {', '.join(unknown)} (choose from {', '.join(FORMATS)})")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rels = data.relations(con)
    if sql is None:
        sql = data.findings_sql(rels, data.Scope())
    written: dict[str, Path] = {}
    for fmt in formats:
        target = out / f"findings.{fmt}"
        if fmt == "csv":
            _copy_csv(con, _csv_safe(con, sql), target)
        elif fmt == "parquet":
            _copy(con, sql, target, "(FORMAT parquet, COMPRESSION zstd)")
        else:
            _copy(con, sql, target, "(FORMAT json, ARRAY true)")
        written[target.name] = target
    if metrics_sql is None and "metrics" in rels:
        metrics_sql = "SELECT * FROM metrics"
    if metrics_sql is not None:
        target = out / "metrics.csv"
        _copy_csv(con, _csv_safe(con, metrics_sql), target)
        written[target.name] = target
    return written


def _csv_safe(con: duckdb.DuckDBPyConnection, sql: str) -> str:
    """Wrap a query so text cells that a spreadsheet would evaluate get a leading apostrophe."""
    rel = con.sql(sql)
    parts = []
    for name, dtype in zip(rel.columns, rel.dtypes):
        q = data.quote(name)
        if str(dtype).upper() == "VARCHAR":
            risky = (
                f"regexp_matches({q}, {data.literal(_FORMULA_START)}) OR (regexp_matches({q}, {data.literal(_SIGN_START)})"
                f" AND NOT regexp_matches({q}, {data.literal(_NUMBER_LIKE)}))"
            )
            parts.append(f"CASE WHEN {risky} THEN '''' || {q} ELSE {q} END AS {q}")
        else:
            parts.append(q)
    return f"SELECT {', '.join(parts)} FROM ({sql})"


def _copy(con: duckdb.DuckDBPyConnection, sql: str, target: Path, options: str) -> None:
    """COPY a query to a temp file then rename, so a half-written export is never seen."""
    tmp = target.with_name(target.name + ".tmp")
    con.execute(f"COPY ({sql}) TO {data.literal(str(tmp))} {options}")
    os.replace(tmp, target)


def _copy_csv(con: duckdb.DuckDBPyConnection, sql: str, target: Path) -> None:
    """COPY to CSV (header, ISO timestamps), then prepend the UTF-8 BOM Excel needs."""
    raw = target.with_name(target.name + ".raw")
    con.execute(
        f"COPY ({sql}) TO {data.literal(str(raw))} "
        "(FORMAT csv, HEADER true, DELIMITER ',', QUOTE '\"', TIMESTAMPFORMAT '%Y-%m-%dT%H:%M:%S')"
    )
    tmp = target.with_name(target.name + ".tmp")
    with open(raw, "rb") as src, open(tmp, "wb") as dst:
        dst.write(BOM)
        shutil.copyfileobj(src, dst, 1 << 20)
    raw.unlink()
    os.replace(tmp, target)
