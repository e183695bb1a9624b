"""Inline SVG charts drawn in Python (no JS chart library): accuracy with Wilson whiskers, findings per run.

Colours are the Okabe-Ito palette (distinguishable with colour-blindness) and
every mark is also labelled in text, so colour never carries meaning alone.
All text goes through `markupsafe.escape`; no `style` attributes are used so
the page's Content-Security-Policy can forbid inline styles on elements.
"""

from __future__ import annotations

import math
from typing import Any, Iterable

from markupsafe import Markup, escape

PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#999999")
OPENED = "#D55E00"
RESOLVED = "#0072B2"
OPEN_LINE = "#333333"
FONT = 'font-family="inherit"'


def _pct(value: float | None, digits: int = 1) -> str:
    """Format a proportion as a percentage ('–' when missing)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value * 100:.{digits}f}%"


def _num(value: float) -> str:
    """Compact coordinate text (two decimals, no trailing zeros)."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


def accuracy_rows(metrics: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The accuracy metrics to chart: one per insurer × field (plan-level rows only when no overall ones)."""
    rows = [m for m in metrics if m.get("metric") == "accuracy" and m.get("value") is not None]
    if any(not m.get("plan") for m in rows):
        rows = [m for m in rows if not m.get("plan")]
    return sorted(rows, key=lambda m: (str(m.get("field") or ""), str(m.get("insurer") or ""), str(m.get("plan") or "")))


def accuracy_chart(metrics: Iterable[dict[str, Any]], *, width: int = 900) -> Markup:
    """Dot-and-whisker chart of accuracy per field and insurer with 95% interval whiskers."""
    rows = accuracy_rows(metrics)
    if not rows:
        return Markup('<p class="empty">No accuracy metrics in this run.</p>')
    insurers = sorted({str(m.get("insurer") or "(all)") for m in rows}, key=str.casefold)
    colour = {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(insurers)}
    lows = [float(m["ci_low"]) if m.get("ci_low") is not None else float(m["value"]) for m in rows]
    floor = max(0.0, min(math.floor(min(lows) * 10) / 10, 0.9))
    left, right, row_h, head_h, top = 260, 170, 20, 22, 34
    plot_w = width - left - right
    fields: list[str] = []
    for m in rows:
        f = str(m.get("field") or "(all fields)")
        if f not in fields:
            fields.append(f)
    height = top + len(fields) * head_h + len(rows) * row_h + 30

    def x(v: float) -> float:
        """Map a proportion to the plot's x coordinate."""
        return left + (max(floor, min(1.0, v)) - floor) / (1 - floor) * plot_w

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-labelledby="acc-title acc-desc" class="chart" {FONT}>',
        '<title id="acc-title">Directory accuracy per insurer and field</title>',
        f'<desc id="acc-desc">Share of listings whose field matched the evidence, with 95% Wilson intervals; '
        f'x axis from {_pct(floor, 0)} to 100%.</desc>',
    ]
    span = 1 - floor
    tick = 0.05 if span <= 0.3 else 0.1 if span <= 0.6 else 0.2
    ticks = [round(1 - k * tick, 4) for k in range(int(round(span / tick)) + 1)]
    for t in ticks:
        out.append(
            f'<line x1="{_num(x(t))}" x2="{_num(x(t))}" y1="{top - 6}" y2="{height - 24}" stroke="#d9d9d9" stroke-width="1"/>'
            f'<text x="{_num(x(t))}" y="{height - 8}" font-size="11" text-anchor="middle" fill="#444">{_pct(t, 0)}</text>'
            f'<text x="{_num(x(t))}" y="{top - 12}" font-size="11" text-anchor="middle" fill="#444">{_pct(t, 0)}</text>'
        )
    y = top
    for f in fields:
        out.append(f'<text x="8" y="{y + 15}" font-size="13" font-weight="700" fill="#111">{escape(f)}</text>')
        y += head_h
        for m in (r for r in rows if str(r.get("field") or "(all fields)") == f):
            name = str(m.get("insurer") or "(all)")
            label = name + (f" · {m['plan']}" if m.get("plan") else "")
            v = float(m["value"])
            lo = float(m["ci_low"]) if m.get("ci_low") is not None else v
            hi = float(m["ci_high"]) if m.get("ci_high") is not None else v
            cy = y + row_h / 2
            c = colour[name]
            n = m.get("denominator")
            tip = f"{label} — {f}: {_pct(v)} (95% CI {_pct(lo)}–{_pct(hi)})" + (f", n = {int(n):,}" if n else "")
            out.append(
                f'<g><title>{escape(tip)}</title>'
                f'<text x="24" y="{_num(cy + 4)}" font-size="12" fill="#222">{escape(_clip(label, 34))}</text>'
                f'<line x1="{_num(x(lo))}" x2="{_num(x(hi))}" y1="{_num(cy)}" y2="{_num(cy)}" stroke="{c}" stroke-width="2"/>'
                f'<line x1="{_num(x(lo))}" x2="{_num(x(lo))}" y1="{_num(cy - 5)}" y2="{_num(cy + 5)}" stroke="{c}" stroke-width="2"/>'
                f'<line x1="{_num(x(hi))}" x2="{_num(x(hi))}" y1="{_num(cy - 5)}" y2="{_num(cy + 5)}" stroke="{c}" stroke-width="2"/>'
                f'<circle cx="{_num(x(v))}" cy="{_num(cy)}" r="4.5" fill="{c}" stroke="#fff" stroke-width="1"/>'
                f'<text x="{width - right + 10}" y="{_num(cy + 4)}" font-size="12" fill="#222">{_pct(v)} '
                f'<tspan fill="#555">({_pct(lo)}–{_pct(hi)})</tspan></text></g>'
            )
            y += row_h
    out.append("</svg>")
    return Markup("".join(out))


def _clip(text: str, limit: int) -> str:
    """Shorten a label for the axis (the full text stays in the tooltip)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def runs_chart(series: list[dict[str, Any]], *, width: int = 900, height: int = 260) -> Markup:
    """Bars of findings opened and resolved per run, with a line of findings open after each run."""
    if not series:
        return Markup('<p class="empty">No run history yet (finding_history is empty).</p>')
    left, right, top, bottom = 56, 16, 34, 46
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max([1] + [max(s["opened"], s["resolved"], s["open"]) for s in series])
    step = _nice_step(peak)
    ymax = step * math.ceil(peak / step)
    band = plot_w / len(series)
    bar = max(2.0, min(28.0, band * 0.32))

    def y(v: float) -> float:
        """Map a count to the plot's y coordinate."""
        return top + plot_h - v / ymax * plot_h

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-labelledby="runs-title runs-desc" class="chart" {FONT}>',
        '<title id="runs-title">Findings opened and resolved per run</title>',
        f'<desc id="runs-desc">{len(series)} runs; bars show findings opened and resolved in each run, '
        f'the line shows findings open after the run.</desc>',
    ]
    v = 0
    while v <= ymax:
        out.append(
            f'<line x1="{left}" x2="{width - right}" y1="{_num(y(v))}" y2="{_num(y(v))}" stroke="#e3e3e3"/>'
            f'<text x="{left - 6}" y="{_num(y(v) + 4)}" font-size="11" text-anchor="end" fill="#444">{v:,}</text>'
        )
        v += step
    label_every = max(1, math.ceil(len(series) / 12))
    points = []
    for i, s in enumerate(series):
        cx = left + band * (i + 0.5)
        tip = f"{s['run_id']} ({s['day'] or 'no date'}): {s['opened']:,} opened, {s['resolved']:,} resolved, {s['open']:,} open"
        out.append(
            f'<g><title>{escape(tip)}</title>'
            f'<rect x="{_num(cx - bar - 1)}" y="{_num(y(s["opened"]))}" width="{_num(bar)}" '
            f'height="{_num(plot_h + top - y(s["opened"]))}" fill="{OPENED}"/>'
            f'<rect x="{_num(cx + 1)}" y="{_num(y(s["resolved"]))}" width="{_num(bar)}" '
            f'height="{_num(plot_h + top - y(s["resolved"]))}" fill="{RESOLVED}"/></g>'
        )
        points.append(f"{_num(cx)},{_num(y(s['open']))}")
        if i % label_every == 0:
            out.append(
                f'<text x="{_num(cx)}" y="{height - bottom + 16}" font-size="11" text-anchor="middle" fill="#444">'
                f'{escape(s["day"] or s["run_id"])}</text>'
            )
    out.append(f'<polyline points="{" ".join(points)}" fill="none" stroke="{OPEN_LINE}" stroke-width="2" stroke-dasharray="5 3"/>')
    for p in points:
        cx, cy = p.split(",")
        out.append(f'<circle cx="{cx}" cy="{cy}" r="3" fill="{OPEN_LINE}"/>')
    legend = [(OPENED, "opened"), (RESOLVED, "resolved")]
    lx = left
    for c, text in legend:
        out.append(f'<rect x="{lx}" y="10" width="12" height="12" fill="{c}"/>'
                   f'<text x="{lx + 17}" y="20" font-size="12" fill="#222">{text}</text>')
        lx += 90
    out.append(f'<line x1="{lx}" x2="{lx + 22}" y1="16" y2="16" stroke="{OPEN_LINE}" stroke-width="2" stroke-dasharray="5 3"/>'
               f'<text x="{lx + 28}" y="20" font-size="12" fill="#222">open after run</text>')
    out.append("</svg>")
    return Markup("".join(out))


def _nice_step(peak: float) -> int:
    """A round axis step (1, 2 or 5 × 10^k) giving about five gridlines."""
    raw = max(1.0, peak / 5)
    mag = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        if raw <= m * mag:
            return int(m * mag)
    return int(10 * mag)
