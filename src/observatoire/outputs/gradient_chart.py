"""The social gradient drawn by the server as SVG: each group a bar as wide as its share of the
population, placed along the relative rank from the least favoured (left) to the most, its
95 % interval, and the fitted line whose slope is the slope index of inequality."""

from __future__ import annotations

from html import escape

import pandas as pd

from observatoire.outputs.charts import PALETTE, short_number, svg_head, value_grid
from observatoire.stats.inequality import relative_ranks

__all__ = ["gradient_svg"]


def gradient_svg(groups: pd.DataFrame, *, intercept: float, sii: float, title: str,
                 unit: str = "", ranking: str = "", width: int = 720,
                 height: int = 380) -> str:  # fmt: skip
    """The drawing of :class:`observatoire.engine.gradient.SocialGradient`'s ``groups`` and
    fitted line (``intercept`` at rank 0, slope ``sii``)."""
    if groups.empty:
        return ""
    left, right, top, bottom = 64, 20, 34, 64
    population = groups.population.to_numpy(dtype=float)
    share = population / population.sum()
    middle = relative_ranks(population)
    highs = [*groups.ci_high, *groups.value, intercept, intercept + sii]
    lows = [*groups.ci_low, *groups.value, intercept, intercept + sii]
    low, high = min(0.0, *lows), max(highs)
    high += (high - low) * 0.08 or 1.0

    def x(rank: float) -> float:
        return left + rank * (width - left - right)

    def y(value: float) -> float:
        return top + (high - value) * (height - top - bottom) / (high - low)

    out = svg_head("gradient", width, height, title, _describe(groups, intercept, sii, unit))
    out += value_grid(y, low, high, left, width - right)
    for (_, row), centre, part in zip(groups.iterrows(), middle, share, strict=True):
        a, b = x(centre - part / 2) + 1, x(centre + part / 2) - 1
        tip = (f"groupe {int(row.group)} : {short_number(float(row.value))} {unit} "
               f"[{short_number(float(row.ci_low))} – {short_number(float(row.ci_high))}], "
               f"{int(row.territories)} territoires")  # fmt: skip
        out.append(f'<rect x="{a:.1f}" y="{y(float(row.value)):.1f}" width="{max(b - a, 1):.1f}" '
                   f'height="{y(low) - y(float(row.value)):.1f}" fill="{PALETTE[0]}" '
                   f'fill-opacity="0.75"><title>{escape(tip)}</title></rect>')  # fmt: skip
        mid, bar_low, bar_high = x(centre), y(float(row.ci_low)), y(float(row.ci_high))
        out.append(f'<line x1="{mid:.1f}" x2="{mid:.1f}" y1="{bar_low:.1f}" '
                   f'y2="{bar_high:.1f}" stroke="#222" stroke-width="1.2"/>')  # fmt: skip
        out.append(f'<text x="{mid:.1f}" y="{height - bottom + 14}" text-anchor="middle">'
                   f"{int(row.group)}</text>")  # fmt: skip
    out.append(f'<line x1="{x(0):.1f}" x2="{x(1):.1f}" y1="{y(intercept):.1f}" '
               f'y2="{y(intercept + sii):.1f}" stroke="{PALETTE[1]}" stroke-width="2.5" '
               'class="fit"/>')  # fmt: skip
    axis = ranking or "rang"
    out.append(f'<text x="{(left + width - right) / 2:.0f}" y="{height - bottom + 32}" '
               f'text-anchor="middle">Groupes de population égale, des moins favorisés (1) aux '
               f"plus favorisés — {escape(axis)}</text>")  # fmt: skip
    out.append(f'<text x="{left}" y="{height - 10}" font-size="10" fill="{PALETTE[1]}">'
               f"Droite ajustée : de {escape(short_number(intercept))} à "
               f"{escape(short_number(intercept + sii))} {escape(unit)} "
               f"(indice de pente {escape(short_number(sii))})</text>")  # fmt: skip
    out.append("</svg>")
    return "\n".join(out)


def _describe(groups: pd.DataFrame, intercept: float, sii: float, unit: str) -> str:
    first, last = groups.iloc[0], groups.iloc[-1]
    return (f"{len(groups)} groupes : {short_number(float(first.value))} {unit} dans le moins "
            f"favorisé, {short_number(float(last.value))} {unit} dans le plus favorisé ; "
            f"indice de pente de l'inégalité {short_number(sii)} (droite de "
            f"{short_number(intercept)} à {short_number(intercept + sii)}).")  # fmt: skip
