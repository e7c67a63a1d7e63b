"""A funnel plot drawn by the server as SVG (no script needed; the PNG is the same drawing):
denominators on a logarithmic axis, the rate up the side, the reference as a line, the 95 %
(dashed) and 99.8 % (solid) control limits, each territory a point coloured by where it lies,
the ones outside the limits and the territory looked at named."""

from __future__ import annotations

import math
from html import escape
from typing import Any

import pandas as pd

from observatoire.outputs.charts import clip, short_number, svg_head, value_grid

__all__ = ["COLOURS", "funnel_svg"]

COLOURS = {
    "favourable": "#1a7bb9",
    "unfavourable": "#d95f02",
    "outside": "#6a3d9a",  # a neutral indicator: higher or lower, neither good nor bad
    "inside": "#9a9a9a",
}
_LABELLED = 10  # outliers named on the drawing (all are in the table beside it)
_HOVER = 3000  # above this many points, no tooltip per point (the file stays small)


def _kind(assessment: str) -> str:
    if assessment.startswith("plus favorable"):
        return "favourable"
    if assessment.startswith("moins favorable"):
        return "unfavourable"
    return "inside" if assessment == "dans les limites" else "outside"


def funnel_svg(
    points: pd.DataFrame,
    limits: pd.DataFrame,
    *,
    target: float,
    title: str,
    unit: str = "",
    reference: str = "",
    highlight: str | None = None,
    width: int = 760,
    height: int = 460,
) -> str:
    """The drawing of :class:`observatoire.engine.funnel.Funnel`'s ``points`` and ``limits``;
    ``highlight``: the code of a territory drawn larger and named."""
    left, right, top, bottom = 70, 24, 34, 78
    if points.empty:
        return ""
    n_low = max(1.0, float(points.denominator.min()) * 0.8)
    n_high = max(n_low * 2, float(points.denominator.max()) * 1.25)
    values = [*points.value, target, *limits.iloc[:, 1:].stack().dropna()]
    low, high = min(values), max(values)
    pad = (high - low) * 0.05 or 1.0
    low, high = (low - pad if low - pad > 0 or low < 0 else 0.0), high + pad  # a rate: from 0

    def x(n: float) -> float:
        span = math.log10(n_high) - math.log10(n_low)
        return (
            left + (math.log10(max(n, n_low)) - math.log10(n_low)) * (width - left - right) / span
        )

    def y(value: float) -> float:
        return top + (high - value) * (height - top - bottom) / (high - low)

    out = svg_head("funnel", width, height, title, _describe(points, target, unit, reference))
    out += _axes(x, y, low, high, n_low, n_high, left, right, top, bottom, width, height, unit)
    out.append(f'<line x1="{left}" x2="{width - right}" y1="{y(target):.1f}" '
               f'y2="{y(target):.1f}" stroke="#222" stroke-width="1.5"/>')  # fmt: skip
    for column, dash in (("low_95", "5 4"), ("high_95", "5 4"),
                         ("low_99_8", ""), ("high_99_8", "")):  # fmt: skip
        line = limits[["n", column]].dropna()
        path = " ".join(f"{x(float(n)):.1f},{y(float(v)):.1f}" for n, v in line.itertuples(False))
        style = f' stroke-dasharray="{dash}"' if dash else ""
        out.append(f'<polyline points="{path}" fill="none" stroke="#555" stroke-width="1.2"'
                   f'{style} class="limit-{column}"/>')  # fmt: skip
    hover = len(points) <= _HOVER
    ordered = points.assign(kind=points.assessment.map(_kind))
    ordered = ordered.sort_values("kind", key=lambda k: k != "inside", kind="stable")
    for row in ordered.itertuples(index=False):
        colour = COLOURS[row.kind]
        size = 5.5 if row.code == highlight else (3.2 if row.kind != "inside" else 2.4)
        hollow = bool(getattr(row, "partial", False))  # a partial value: a hollow circle
        stroke = "#000" if row.code == highlight else colour if hollow else "none"
        paint = (f'fill="{"#ffffff" if hollow else colour}" fill-opacity="0.85" '
                 f'stroke="{stroke}" stroke-width="1.5"')  # fmt: skip
        at = f'cx="{x(float(row.denominator)):.1f}" cy="{y(float(row.value)):.1f}"'
        circle = f'<circle {at} r="{size}" {paint} data-code="{escape(row.code)}"'
        row_tip = " (valeur partielle)" if hollow else ""
        if hover:
            value, n = short_number(float(row.value)), short_number(float(row.denominator))
            tip = (f"{row.name} ({row.code}) : {value} {unit}{row_tip}, effectif {n} — "
                   f"{row.assessment}")  # fmt: skip
            out.append(f"{circle}><title>{escape(tip)}</title></circle>")
        else:
            out.append(circle + "/>")
    named = _named(points, highlight)
    for row in named.itertuples(index=False):
        out.append(
            f'<text x="{x(float(row.denominator)) + 6:.1f}" y="{y(float(row.value)) - 5:.1f}" '
            f'class="point-label" font-size="10">{escape(clip(str(row.name), 28))}</text>'
        )
    out += _legend(left, width, height, reference)
    out.append("</svg>")
    return "\n".join(out)


def _named(points: pd.DataFrame, highlight: str | None) -> pd.DataFrame:
    outside = points[points.position != 0]
    order = outside.position.abs() * 1e12 + outside.denominator
    chosen = outside.loc[order.sort_values(ascending=False).index[:_LABELLED]]
    if highlight is not None and highlight not in set(chosen.code):
        chosen = pd.concat([chosen, points[points.code == highlight]])
    return chosen


def _axes(x: Any, y: Any, low: float, high: float, n_low: float, n_high: float, left: int,
          right: int, top: int, bottom: int, width: int, height: int,
          unit: str) -> list[str]:  # fmt: skip
    out = value_grid(y, low, high, left, width - right)
    decades = math.log10(n_high / n_low)
    steps = (1,) if decades >= 3 else (1, 2, 5)
    power = 10 ** math.floor(math.log10(n_low))
    while power <= n_high:
        for step in steps:
            tick = power * step
            if n_low <= tick <= n_high:
                out.append(f'<line x1="{x(tick):.1f}" x2="{x(tick):.1f}" y1="{top}" '
                           f'y2="{height - bottom}" stroke="#eee"/>')  # fmt: skip
                out.append(f'<text x="{x(tick):.1f}" y="{height - bottom + 16}" '
                           f'text-anchor="middle">{_whole(tick)}</text>')  # fmt: skip
        power *= 10
    out.append(
        f'<text x="{(left + width - right) / 2:.0f}" y="{height - bottom + 31}" '
        'text-anchor="middle">Effectif du dénominateur (échelle logarithmique)</text>'
    )
    out.append(f'<text x="14" y="{(top + height - bottom) / 2:.0f}" text-anchor="middle" '
               f'transform="rotate(-90 14 {(top + height - bottom) / 2:.0f})">'
               f"{escape(unit or 'valeur')}</text>")  # fmt: skip
    return out


def _whole(value: float) -> str:
    return f"{value:,.0f}".replace(",", "\u202f")


def _legend(left: int, width: int, height: int, reference: str) -> list[str]:
    base = height - 20
    items = [
        ("line", "#222", "", f"référence : {reference}" if reference else "référence"),
        ("line", "#555", "5 4", "limites à 95 %"),
        ("line", "#555", "", "limites à 99,8 %"),
        ("dot", COLOURS["favourable"], "", "plus favorable"),
        ("dot", COLOURS["unfavourable"], "", "moins favorable"),
        ("dot", COLOURS["outside"], "", "hors limites (sans polarité)"),
        ("dot", COLOURS["inside"], "", "dans les limites"),
    ]
    out, at = [], float(left)
    for kind, colour, dash, label in items:
        if at + 22 + 5.4 * len(label) > width:  # next row
            at, base = float(left), base + 14
        if kind == "line":
            style = f' stroke-dasharray="{dash}"' if dash else ""
            out.append(f'<line x1="{at:.0f}" x2="{at + 18:.0f}" y1="{base - 4}" y2="{base - 4}" '
                       f'stroke="{colour}" stroke-width="1.5"{style}/>')  # fmt: skip
        else:
            out.append(f'<circle cx="{at + 9:.0f}" cy="{base - 4}" r="4" fill="{colour}"/>')
        out.append(f'<text x="{at + 22:.0f}" y="{base}" font-size="10">{escape(label)}</text>')
        at += 26 + 5.4 * len(label)
    return out


def _describe(points: pd.DataFrame, target: float, unit: str, reference: str) -> str:
    counts = points.assessment.map(_kind).value_counts()
    return (f"{len(points)} territoires placés par leur effectif autour de la référence "
            f"{reference} ({short_number(target)} {unit}) : {counts.get('favourable', 0)} plus "
            f"favorables, {counts.get('unfavourable', 0)} moins favorables, "
            f"{counts.get('outside', 0)} hors limites sans polarité, "
            f"{counts.get('inside', 0)} dans les limites à 95 %.")  # fmt: skip
