"""Server-drawn SVG charts (no script needed), accessible: a title, a description, and the
data as a table next to them in the page."""

from __future__ import annotations

import re
from collections.abc import Callable
from html import escape
from typing import Any

__all__ = ["PALETTE", "bar_chart", "clip", "line_chart", "short_number", "spine_chart", "svg_head",
           "value_grid"]

PALETTE = ["#1f4e79", "#c0504d", "#4f8a3d", "#7f6000", "#6a3d9a"]


def line_chart(
    series: list[dict[str, Any]],
    *,
    title: str,
    unit: str = "",
    width: int = 640,
    height: int = 260,
    ident: str = "chart",
) -> str:
    """One line per element of ``series`` ({name, points: [{period, value}]}) over the union
    of their periods; empty string when there is nothing to draw. ``ident`` keeps the ids of
    several charts of one page apart."""
    ahead = [p for s in series for p in s.get("projection", [])]
    periods = sorted(
        {p["period"] for s in series for p in s["points"]} | {p["period"] for p in ahead}
    )
    values = [p["value"] for s in series for p in s["points"]]
    values += [v for p in ahead for v in (p["value"], p.get("low"), p.get("high")) if v is not None]
    if not periods or not values:
        return ""
    left, right, top, bottom = 76, 30, 16, 56
    low, high = min(values), max(values)
    if low == high:
        low, high = low - 1, high + 1
    pad = (high - low) * 0.08
    low, high = (low - pad if low - pad > 0 or low < 0 else 0), high + pad

    times = _times(periods)  # a true time axis: 2014, 2017, 2019 are not equally spaced
    first, span = min(times.values()), (max(times.values()) - min(times.values())) or 1.0

    def x(period: str) -> float:
        if len(periods) == 1:
            return left + (width - left - right) / 2
        return left + (times[period] - first) * (width - left - right) / span

    def y(value: float) -> float:
        return top + (high - value) * (height - top - bottom) / (high - low)

    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="{ident}-title {ident}-desc" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{ident}-title">{escape(title)}</title>',
        f'<desc id="{ident}-desc">{escape(_describe(series, unit))}</desc>',
    ]
    for i in range(5):
        value = low + (high - low) * i / 4
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y(value):.1f}" '
            f'y2="{y(value):.1f}" class="grid"/>'
        )
        parts.append(
            f'<text x="{left - 6}" y="{y(value) + 4:.1f}" text-anchor="end" '
            f'class="tick">{escape(short_number(value))}</text>'
        )
    step = -(-len(periods) // 8)  # at most eight labels on the axis: one period in ``step``
    for period in periods[::-1][::step][::-1]:
        parts.append(
            f'<text x="{x(period):.1f}" y="{height - bottom + 18}" '
            f'text-anchor="middle" class="tick">{escape(period)}</text>'
        )
    for n, line in enumerate(series):
        colour = PALETTE[n % len(PALETTE)]
        if line.get("projection") and line["points"]:
            parts.extend(_projected(line, colour, x, y))
        points = " ".join(f"{x(p['period']):.1f},{y(p['value']):.1f}" for p in line["points"])
        parts.append(
            f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2.5"/>'
        )
        for p in line["points"]:
            parts.append(
                f'<circle cx="{x(p["period"]):.1f}" cy="{y(p["value"]):.1f}" r="3.5" '
                f'fill="{colour}"/>'
            )
        legend_x = left + n * (width - left - right) / max(len(series), 1)
        parts.append(
            f'<rect x="{legend_x:.1f}" y="{height - 22}" width="12" height="12" fill="{colour}"/>'
        )
        parts.append(
            f'<text x="{legend_x + 16:.1f}" y="{height - 12}" class="legend">'
            f"{escape(clip(line['name'], 34))}</text>"
        )
    parts.append("</svg>")
    return "\n".join(parts)


def _projected(line: dict[str, Any], colour: str, x: Any, y: Any) -> list[str]:
    """A line's projection after its last observed point: the band of its interval, then a
    dashed line (the observed line stays solid)."""
    start = line["points"][-1]
    ahead = line["projection"]
    out = []
    banded = [p for p in ahead if p.get("low") is not None and p.get("high") is not None]
    if banded:
        upper = [(x(start["period"]), y(start["value"]))]
        upper += [(x(p["period"]), y(p["high"])) for p in banded]
        lower = [(x(p["period"]), y(p["low"])) for p in reversed(banded)]
        outline = " ".join(f"{a:.1f},{b:.1f}" for a, b in upper + lower)
        out.append(f'<polygon points="{outline}" fill="{colour}" fill-opacity="0.15" '
                   'stroke="none" class="projection-band"/>')  # fmt: skip
    points = " ".join(f"{x(p['period']):.1f},{y(p['value']):.1f}" for p in [start, *ahead])
    out.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2" '
               'stroke-dasharray="6 4" class="projection-line"/>')  # fmt: skip
    return out


def _times(periods: list[str]) -> dict[str, float]:
    """Each period's position in years (``2015``, ``2015-T3``, ``2015-03``, ``2013-2018`` at its
    middle); periods of another form are placed one after the other.

    >>> _times(["2014", "2017", "2019-T3", "2013-2018"])
    {'2014': 2014.0, '2017': 2017.0, '2019-T3': 2019.5, '2013-2018': 2015.5}
    """
    out: dict[str, float] = {}
    for period in periods:
        text = period.strip()
        match = re.fullmatch(r"(\d{4})(?:-T([1-4])|-(\d{2})|-(\d{4}))?", text)
        if match is None:
            return {p: float(i) for i, p in enumerate(periods)}
        year = float(match[1])
        if match[2]:
            year += (int(match[2]) - 1) / 4
        elif match[3]:
            year += (int(match[3]) - 1) / 12
        elif match[4]:
            year = (year + float(match[4])) / 2
        out[period] = year
    return out


def svg_head(kind: str, width: int, height: int, title: str, description: str) -> list[str]:
    """The opening of a standalone chart (a file of its own as much as a figure of a page):
    its element, accessible title and description, a white background and the title drawn."""
    return [
        f'<svg class="chart {kind}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="{kind}-title {kind}-desc" xmlns="http://www.w3.org/2000/svg" '
        'font-family="sans-serif" font-size="11">',
        f'<title id="{kind}-title">{escape(title)}</title>',
        f'<desc id="{kind}-desc">{escape(description)}</desc>',
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>',
        f'<text x="64" y="20" font-size="13" font-weight="bold">{escape(title)}</text>',
    ]


def value_grid(y: Callable[[float], float], low: float, high: float, left: int,
               right: int) -> list[str]:  # fmt: skip
    """Six horizontal lines from ``low`` to ``high`` (``y`` places a value) from ``left`` to
    ``right`` (an x), each labelled on the left."""
    out = []
    for i in range(6):
        value = low + (high - low) * i / 5
        out.append(f'<line x1="{left}" x2="{right}" y1="{y(value):.1f}" y2="{y(value):.1f}" '
                   'stroke="#eee"/>')  # fmt: skip
        out.append(f'<text x="{left - 6}" y="{y(value) + 4:.1f}" text-anchor="end">'
                   f"{escape(short_number(value))}</text>")  # fmt: skip
    return out


def clip(text: str, size: int) -> str:
    """``text`` cut to ``size`` characters, with an ellipsis when cut."""
    return text if len(text) <= size else text[: size - 1].rstrip() + "…"


def short_number(value: float) -> str:
    if abs(value) >= 1000:
        return f"{value:,.0f}".replace(",", "\u202f")
    return f"{value:.1f}".replace(".", ",")


def _describe(series: list[dict[str, Any]], unit: str) -> str:
    """A sentence per line: first and last value."""
    sentences = []
    for line in series:
        if not line["points"]:
            continue
        first, last = line["points"][0], line["points"][-1]
        later = f", {short_number(last['value'])} {unit} en {last['period']}"
        sentences.append(
            f"{line['name']} : {short_number(first['value'])} {unit} en {first['period']}"
            + (later if last is not first else "")
        )
        if line.get("projection"):
            end = line["projection"][-1]
            sentences.append(
                f"projection (tirets) : {short_number(end['value'])} {unit} en {end['period']}"
            )
    return ". ".join(sentences) + "."


def spine_chart(
    peers: list[float],
    value: float | None,
    *,
    reference: float | None = None,
    title: str,
    width: int = 220,
    height: int = 26,
) -> str:
    """Where ``value`` stands among ``peers``: their range (thin line), interquartile range
    (box), median (tick), the ``reference`` (dashed line) and the territory (dot); empty
    string when there are fewer than three peers or no value."""
    import numpy as np

    data = np.asarray([p for p in peers if p == p], dtype=float)
    if data.size < 3 or value is None or value != value:
        return ""
    low, q1, median, q3, high = np.percentile(data, [0, 25, 50, 75, 100])
    span = [low, high, value] + ([reference] if reference is not None else [])
    lo, hi = min(span), max(span)
    if hi == lo:
        hi = lo + 1

    def x(v: float) -> float:
        return 8 + (v - lo) * (width - 16) / (hi - lo)

    mid = height / 2
    parts = [
        f'<svg class="spine" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f'<line x1="{x(low):.1f}" x2="{x(high):.1f}" y1="{mid}" y2="{mid}" stroke="#9aa5b1" '
        'stroke-width="2"/>',
        f'<rect x="{x(q1):.1f}" y="{mid - 6}" width="{max(x(q3) - x(q1), 1):.1f}" height="12" '
        'fill="#c9d6e3"/>',
        f'<line x1="{x(median):.1f}" x2="{x(median):.1f}" y1="{mid - 7}" y2="{mid + 7}" '
        'stroke="#52606d" stroke-width="1.5"/>',
    ]
    if reference is not None:
        parts.append(
            f'<line x1="{x(reference):.1f}" x2="{x(reference):.1f}" y1="1" y2="{height - 1}" '
            'stroke="#c0504d" stroke-width="1.5" stroke-dasharray="3 2"/>'
        )
    parts.append(
        f'<circle cx="{x(value):.1f}" cy="{mid}" r="5" fill="#1f4e79" stroke="#ffffff" '
        'stroke-width="1.5"/>'
    )
    parts.append("</svg>")
    return "".join(parts)


def bar_chart(
    bars: list[dict[str, Any]],
    *,
    title: str,
    unit: str = "%",
    maximum: float = 100.0,
    reference_name: str = "",
    width: int = 640,
    ident: str = "bars",
) -> str:
    """Horizontal bars ({label, value, reference?}), with the reference of each bar as a tick
    (e.g. the median of the other operators); empty string when there is nothing to draw."""
    drawn = [b for b in bars if b.get("value") is not None and b["value"] == b["value"]]
    if not drawn:
        return ""
    left, right, row = 250, 56, 22
    height = 28 + row * len(drawn) + (20 if reference_name else 0)
    span = width - left - right

    def x(value: float) -> float:
        return left + max(min(value, maximum), 0) * span / maximum

    described = "; ".join(f"{b['label']} : {short_number(b['value'])} {unit}" for b in drawn)
    parts = [
        f'<svg class="chart bars" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="{ident}-title {ident}-desc" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{ident}-title">{escape(title)}</title>',
        f'<desc id="{ident}-desc">{escape(described)}</desc>',
    ]
    for n, bar in enumerate(drawn):
        top = 8 + n * row
        parts.append(
            f'<text x="{left - 6}" y="{top + 14}" text-anchor="end" class="tick">'
            f"{escape(clip(str(bar['label']), 28))}</text>"
        )
        parts.append(f'<rect x="{left}" y="{top + 3}" width="{span}" height="14" fill="#eef2f6"/>')
        colour = PALETTE[0] if bar.get("alert") is not True else PALETTE[1]
        parts.append(
            f'<rect x="{left}" y="{top + 3}" width="{x(bar["value"]) - left:.1f}" height="14" '
            f'fill="{colour}"/>'
        )
        parts.append(
            f'<text x="{x(bar["value"]) + 4:.1f}" y="{top + 14}" class="tick">'
            f"{escape(short_number(bar['value']))}</text>"
        )
        reference = bar.get("reference")
        if reference is not None and reference == reference:
            parts.append(
                f'<line x1="{x(reference):.1f}" x2="{x(reference):.1f}" y1="{top}" '
                f'y2="{top + 20}" stroke="#c0504d" stroke-width="2"/>'
            )
    if reference_name:
        y = height - 8
        parts.append(
            f'<line x1="{left}" x2="{left + 14}" y1="{y - 4}" y2="{y - 4}" stroke="#c0504d" '
            'stroke-width="2"/>'
        )
        parts.append(
            f'<text x="{left + 18}" y="{y}" class="legend">{escape(reference_name)}</text>'
        )
    parts.append("</svg>")
    return "\n".join(parts)
