"""The QPV against the rest of their communes drawn by the server as SVG: a line per quartier
(and per ensemble of QPV, against the rest of its département), the rest as a grey dot, the
quartier as a coloured dot with its 95 % interval, the segment between them the gap."""

from __future__ import annotations

from html import escape

import pandas as pd

from observatoire.outputs.charts import PALETTE, clip, short_number, svg_head

__all__ = ["MAX_LINES", "qpv_svg"]

MAX_LINES = 80  # beyond, the table says it all; the drawing keeps the widest gaps
_COLOURS = {"plus favorable": PALETTE[2], "moins favorable": PALETTE[1],
            "plus élevé": PALETTE[0], "moins élevé": PALETTE[0]}  # fmt: skip


def qpv_svg(rows: pd.DataFrame, *, title: str, unit: str = "", width: int = 760) -> str:
    """The drawing of the rows of :class:`observatoire.engine.qpv_gaps.QpvGaps` that have a
    rest (``quartiers`` then ``ensembles``, concatenated by the caller)."""
    shown = rows[rows.rest_value.notna() & rows.value.notna()]
    if shown.empty:
        return ""
    if len(shown) > MAX_LINES:
        shown = shown.reindex(shown.gap.abs().sort_values(ascending=False).index[:MAX_LINES])
    shown = shown.sort_values("gap")
    left, right, top, line = 250, 24, 44, 18
    height = top + line * len(shown) + 40
    values = [*shown.value, *shown.rest_value, *shown.ci_low.dropna(), *shown.ci_high.dropna()]
    low, high = min(0.0, min(values)), max(values)
    high += (high - low) * 0.05 or 1.0

    def x(value: float) -> float:
        return left + (value - low) * (width - left - right) / (high - low)

    description = (f"{len(shown)} quartiers ou ensembles comparés au reste de leurs communes "
                   f"(ou de leur département) ; {unit}")  # fmt: skip
    out = svg_head("qpv", width, height, title, description)
    for i in range(6):
        value = low + (high - low) * i / 5
        out.append(f'<line x1="{x(value):.1f}" x2="{x(value):.1f}" y1="{top - 8}" '
                   f'y2="{height - 34}" stroke="#eee"/>')  # fmt: skip
        out.append(f'<text x="{x(value):.1f}" y="{height - 20}" text-anchor="middle">'
                   f"{escape(short_number(value))}</text>")  # fmt: skip
    for i, (_, row) in enumerate(shown.iterrows()):
        y = top + i * line + line / 2
        mine, rest = float(row.value), float(row.rest_value)
        colour = _COLOURS.get(str(row.assessment), "#888")
        tip = (f"{row['name']} : {short_number(mine)} {unit} ; reste "
               f"{row.get('communes') or row.get('departement_name') or ''} : "
               f"{short_number(rest)} {unit} — {row.assessment or 'non testable'}")  # fmt: skip
        out.append(f'<g class="qpv-line"><title>{escape(tip)}</title>')
        out.append(f'<text x="{left - 8}" y="{y + 4:.1f}" text-anchor="end">'
                   f"{escape(clip(str(row['name']), 40))}</text>")  # fmt: skip
        out.append(f'<line x1="{x(rest):.1f}" x2="{x(mine):.1f}" y1="{y:.1f}" y2="{y:.1f}" '
                   f'stroke="{colour}" stroke-width="2"/>')  # fmt: skip
        if pd.notna(row.ci_low) and pd.notna(row.ci_high):
            out.append(f'<line x1="{x(float(row.ci_low)):.1f}" x2="{x(float(row.ci_high)):.1f}" '
                       f'y1="{y:.1f}" y2="{y:.1f}" stroke="#222" stroke-width="1" '
                       'stroke-opacity="0.5"/>')  # fmt: skip
        out.append(f'<circle cx="{x(rest):.1f}" cy="{y:.1f}" r="4" fill="#999"/>')
        out.append(f'<circle cx="{x(mine):.1f}" cy="{y:.1f}" r="5" fill="{colour}"/></g>')
    out.append(f'<text x="{left}" y="{height - 4}" font-size="10">● gris : le reste des communes '
               "(hors QPV) ; ● en couleur : le quartier, trait noir : son intervalle à 95 %"
               "</text>")  # fmt: skip
    out.append("</svg>")
    return "\n".join(out)
