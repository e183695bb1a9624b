"""Write the self-contained audit report (index.html) and the exports into one folder.

The page has no external resources: CSS, JS, SVG charts and the findings (as
columnar JSON) are inline, and a Content-Security-Policy with hashes of the
inline script/style forbids everything else (no network, no injected script).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import math
import os
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Callable

import duckdb
import jinja2
import pyarrow as pa
import pyarrow.compute as pc
from markupsafe import Markup

from flows.report import data, svg
from flows.report.export import export_findings

TEMPLATES = Path(__file__).with_name("templates")
DEFAULT_TITLE = "Provider directory audit"
DICT_SHARE = 0.5
SEVERITY_ORDER = {"critical": 0, "high": 1, "medium": 2, "low": 3}
_JSON_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}

Progress = Callable[[str], None]


@dataclass
class ReportPaths:
    """Where the report went: the page, each export, screenshots, and how many findings it holds."""

    out_dir: Path
    index: Path
    exports: dict[str, Path] = field(default_factory=dict)
    screenshots: list[Path] = field(default_factory=list)
    findings: int = 0
    run_id: str | None = None


def parse_as_of(value: str | dt.date | None) -> dt.date | None:
    """Accept a date, an ISO date string or None (a clear ValueError otherwise)."""
    if value is None or isinstance(value, dt.date):
        return value.date() if isinstance(value, dt.datetime) else value
    try:
        return dt.date.fromisoformat(str(value).strip()[:10])
    except ValueError:
        raise ValueError(f"--as-of {value!r}: expected a date like 2026-01-31") from None


def build_report(
    con: duckdb.DuckDBPyConnection,
    out_dir: str | os.PathLike[str],
    *,
    as_of: str | dt.date | None = None,
    title: str | None = None,
    screenshots: bool = False,
    browser_executable: str = "",
    max_screenshots: int = 200,
    allow_private_networks: bool = False,
    progress: Progress | None = None,
) -> ReportPaths:
    """Read the warehouse and write index.html, findings.{csv,parquet,json} and metrics.csv into out_dir."""
    say = progress or (lambda _msg: None)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    say("reading the warehouse")
    rels = data.relations(con)
    scope = data.select_scope(con, rels, parse_as_of(as_of))
    sql = data.findings_sql(rels, scope)
    metrics = data.metrics_rows(con, rels, scope)
    head = data.headline(con, rels, sql, metrics)
    series = data.run_series(con, rels, scope)
    compliance = data.compliance_rows(con, rels, scope)
    src = data.sources(con, rels, scope)
    say("exporting findings")
    exports = export_findings(con, out, sql=sql, metrics_sql=_metrics_sql(rels, metrics, scope))
    say("embedding findings")
    table = data.findings_for_report(con, data.findings_sql(rels, scope, for_report=True))
    shots_taken: list[Path] = []
    if screenshots:
        say("taking screenshots")
        shots_taken = take_screenshots(
            table,
            out,
            browser_executable,
            limit=max_screenshots,
            snapshots=data.evidence_snapshots(con, rels),
            allow_private_networks=allow_private_networks,
        )
    shot_map = screenshot_map(table, out)
    payload = encode_columns(table)
    payload["screenshots"] = shot_map
    say("writing index.html")
    html = render(
        title=title or DEFAULT_TITLE,
        run=scope.run,
        as_of=scope.as_of.isoformat() if scope.as_of else None,
        head=head,
        metrics=metrics,
        src=src,
        accuracy_svg=svg.accuracy_chart(metrics),
        runs_svg=svg.runs_chart(series),
        compliance=[c for c in compliance if c.get("finding_type") == "all"],
        compliance_by_type=[c for c in compliance if c.get("finding_type") != "all"],
        findings_json=embed_json(payload),
        exports=sorted(exports),
    )
    index = out / "index.html"
    tmp = index.with_name("index.html.tmp")
    tmp.write_text(html, encoding="utf-8")
    os.replace(tmp, index)
    return ReportPaths(out, index, exports, shots_taken, table.num_rows, scope.run.run_id)


def _metrics_sql(rels: dict[str, list[str]], metrics: list[dict[str, Any]], scope: data.Scope) -> str | None:
    """The metrics export query: the same run the page shows (all rows when metrics carry no run id)."""
    if "metrics" not in rels:
        return None
    run_ids = {m.get("run_id") for m in metrics if m.get("run_id") is not None}
    if "run_id" in rels["metrics"] and len(run_ids) == 1:
        return f"SELECT * FROM metrics WHERE run_id = {data.literal(run_ids.pop())}"
    if "run_id" in rels["metrics"] and not metrics and scope.run_order:
        return "SELECT * FROM metrics WHERE false"
    return "SELECT * FROM metrics"


def encode_columns(table: pa.Table) -> dict[str, Any]:
    """Columnar JSON-ready dict; string columns with many repeats become {dict, codes} to keep the page small."""
    n = table.num_rows
    columns = []
    for name, column in zip(table.column_names, table.columns):
        entry: dict[str, Any] = {"name": name}
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            encoded = pc.dictionary_encode(column).combine_chunks()
            dictionary = encoded.dictionary.to_pylist()
            if n and len(dictionary) <= max(16, n * DICT_SHARE):
                entry["dict"] = dictionary
                entry["codes"] = encoded.indices.to_pylist()
            else:
                entry["values"] = column.to_pylist()
        elif pa.types.is_floating(column.type):
            entry["values"] = [None if v is None or math.isnan(v) else v for v in column.to_pylist()]
        else:
            entry["values"] = column.to_pylist()
        columns.append(entry)
    return {"n": n, "columns": columns}


def embed_json(payload: dict[str, Any]) -> Markup:
    """JSON safe inside <script type="application/json">: <, >, &, U+2028/2029 escaped so nothing can break out."""
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=str)
    for char, escaped in _JSON_ESCAPES.items():
        text = text.replace(char, escaped)
    return Markup(text)


def screenshot_name(url: str) -> str:
    """File name of a page's screenshot: sha1(url)[:16].png (shared with the crawler)."""
    return hashlib.sha1(url.encode("utf-8")).hexdigest()[:16] + ".png"


def _web_urls(table: pa.Table) -> list[str]:
    """Distinct http(s) evidence URLs, most severe findings first."""
    if "evidence_url" not in table.column_names:
        return []
    urls = table.column("evidence_url").to_pylist()
    sev = table.column("severity").to_pylist() if "severity" in table.column_names else [None] * len(urls)
    best: dict[str, int] = {}
    for url, s in zip(urls, sev):
        if url and url.lower().startswith(("http://", "https://")):
            rank = SEVERITY_ORDER.get(s or "", 9)
            best[url] = min(rank, best.get(url, 9))
    return sorted(best, key=lambda u: (best[u], u))


def screenshot_map(table: pa.Table, out: Path) -> dict[str, str]:
    """evidence URL -> relative path of its screenshot, for the screenshots that exist in out/screenshots."""
    folder = out / "screenshots"
    if not folder.is_dir():
        return {}
    present = {p.name for p in folder.glob("*.png")}
    return {u: f"screenshots/{screenshot_name(u)}" for u in _web_urls(table) if screenshot_name(u) in present}


def take_screenshots(
    table: pa.Table,
    out: Path,
    browser_executable: str,
    *,
    limit: int,
    snapshots: dict[str, str | None] | None = None,
    allow_private_networks: bool = False,
) -> list[Path]:
    """Screenshot up to `limit` evidence pages (most severe first) lacking one, via crawlers.screenshot.

    A saved snapshot of the page is preferred (what was fetched, no network); a live
    URL is only opened when the crawler fetched it (it is in `evidence`, so robots.txt
    allowed it) or there is no evidence table, and the SSRF guard applies.
    """
    try:
        from crawlers.screenshot import screenshot
    except ImportError as exc:
        raise RuntimeError(f"--screenshots needs crawlers.screenshot, which is not available ({exc})") from None
    folder = out / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    taken: list[Path] = []
    for url in _web_urls(table):
        if len(taken) >= limit:
            break
        target = folder / screenshot_name(url)
        if target.exists():
            continue
        snapshot = (snapshots or {}).get(url)
        if snapshot and Path(snapshot).exists():
            source = snapshot
        elif snapshots is None or url in snapshots:
            source = url
        else:
            continue
        try:
            screenshot(source, str(target), browser_executable=browser_executable,
                       allow_private_networks=allow_private_networks)
        except Exception:  # noqa: BLE001 - a blocked or unreachable page must not stop the report
            target.unlink(missing_ok=True)
            continue
        if target.exists():
            taken.append(target)
    return taken


def _hash(text: str) -> str:
    """CSP source expression for an inline block: 'sha256-<base64>' (without quotes)."""
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


def _version() -> str:
    """Installed ghostcheck version for the footer."""
    try:
        return version("ghostcheck")
    except PackageNotFoundError:
        return "0+unknown"


def _pct(value: Any, digits: int = 1) -> str:
    """A proportion as a percentage, '–' when missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{float(value) * 100:.{digits}f}%"


def _fmt_int(value: Any) -> str:
    """Thousands-separated integer, '–' when missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{int(value):,}"


def _days(value: Any) -> str:
    """A number of days with one decimal at most, '–' when missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{float(value):,.1f}".removesuffix(".0")


def _metric_value(m: dict[str, Any]) -> str:
    """A metric's value: proportions as percentages, anything else as a number."""
    v = m.get("value")
    if v is None:
        return "–"
    if m.get("metric") in ("accuracy", "ghost_rate") or (m.get("denominator") and 0 <= float(v) <= 1):
        return _pct(v)
    return f"{float(v):,.3g}"


def _bar(value: Any, peak: Any, width: int = 120) -> Markup:
    """A small inline SVG bar (no style attributes, so the CSP can stay strict)."""
    share = (float(value or 0) / float(peak)) if peak else 0.0
    w = max(0.0, min(1.0, share)) * width
    return Markup(
        f'<svg class="bar" width="{width}" height="10" aria-hidden="true"><rect width="{width}" height="10" fill="#ececec"/>'
        f'<rect width="{w:.1f}" height="10" fill="#a63c00"/></svg>'
    )


def render(**context: Any) -> str:
    """Render index.html.j2 (autoescape on) with the inline CSS/JS and their CSP hashes."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    css = (TEMPLATES / "report.css").read_text(encoding="utf-8")
    js = (TEMPLATES / "report.js").read_text(encoding="utf-8")
    head = context["head"]
    context.update(
        css=Markup(css),
        js=Markup(js),
        style_hash=_hash(css),
        script_hash=_hash(js),
        version=_version(),
        generated=dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        pct=_pct,
        fmt_int=_fmt_int,
        metric_value=_metric_value,
        bar=_bar,
        days=_days,
        max_type=max([t["open"] for t in head["by_type"]] or [0]),
    )
    return env.get_template("index.html.j2").render(**context)
