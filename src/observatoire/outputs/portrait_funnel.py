"""The funnel plot of a social portrait's part: the territory among its peers by size, for the
part's first rate on counts (:mod:`observatoire.engine.funnel`) — is it really different from
its département, or just small?"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from observatoire.engine.funnel import POOLED, has_funnel
from observatoire.errors import AccessError, InputError, ReferentialError
from observatoire.outputs.funnel_chart import funnel_svg
from observatoire.secret.policy import ReadPolicy
from observatoire.text import french_number

if TYPE_CHECKING:
    from observatoire.outputs.source import Source

__all__ = ["section_funnel"]


class Placed(Protocol):
    """What the funnel needs of a key figure (see ``outputs.portrait.Figure``)."""

    indicator: str
    label: str
    period: str
    status: str
    count: bool


def section_funnel(obs: Source, figures: Sequence[Placed], level: str, code: str,
                   peers: tuple[str, str] | None,
                   reader: ReadPolicy) -> tuple[str, str]:  # fmt: skip
    """The drawing (SVG) and caption of the funnel of the first complete rate on counts of
    ``figures`` for the territories of ``level`` inside ``peers`` (a zoning's zones: all of
    them, pooled as the reference), the territory ``code`` marked; empty when none can be
    drawn (no such rate, fewer than five peers placed, a refusal)."""
    catalogue = obs.catalogue()
    chosen = next((f for f in figures if not f.count and f.status == "ok"
                   and has_funnel(catalogue.get(f.indicator))), None)  # fmt: skip
    if chosen is None or level == "pays":
        return "", ""
    try:
        found = obs.views.funnel(chosen.indicator, level=level, within=peers, period=chosen.period,
                           reference=None if peers else POOLED, reader=reader)  # fmt: skip
    except (InputError, ReferentialError, AccessError):
        return "", ""
    mine = found.points[found.points.code == code]
    if len(found.points) < 5 or mine.empty:
        return "", ""
    unit = found.indicator.unit
    drawing = funnel_svg(found.points, found.limits, target=found.target,
                         title=f"{chosen.label} ({found.period})", unit=unit,
                         reference=found.reference["name"], highlight=code, width=640,
                         height=330)  # fmt: skip
    point = mine.iloc[0]
    if point.position == 0:
        where = "dans les limites : son écart à la référence reste dans ce que le hasard explique"
    else:
        words, _, band = str(point.assessment).partition(" (")
        where = (f"{words}, au-delà des limites à {band.rstrip(')')} — l'écart dépasse ce que le "
                 "hasard explique")  # fmt: skip
    caption = (f"Parmi ses pairs : {len(found.points)} territoires selon leur effectif, autour "
               f"de {found.reference['name']} ({french_number(found.target, 1)} {unit}). "
               f"{french_number(float(point.value), 1)} {unit} pour "
               f"{french_number(float(point.denominator), 0)} : {where}.")  # fmt: skip
    return drawing, caption
