"""The maps and peers of a social portrait: where a territory's peers are, their values at a
period (read once per run through :class:`SharedReads`), and each part's map: the
sub-territories of a département or région, else the territory among its nearest peers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from observatoire.outputs.maps import metropolitan
from observatoire.outputs.svgmap import indicator_svg_map
from observatoire.secret.policy import ReadPolicy
from observatoire.territories.levels import LEVELS
from observatoire.territories.references import peer_scope
from observatoire.text import first_upper

if TYPE_CHECKING:
    import pandas as pd

    from observatoire.outputs.source import Source

__all__ = [
    "NEIGHBOURHOOD",
    "Mapped",
    "SharedReads",
    "nearest",
    "peer_values",
    "section_map",
]


class Mapped(Protocol):
    """What a part's map needs of a key figure (see ``outputs.portrait.Figure``)."""

    indicator: str
    label: str
    period: str
    count: bool


class SharedReads:
    """Reads shared by the portraits of one run (peers' values, profiles, contours)."""

    def __init__(self) -> None:
        self.store: dict[tuple[Any, ...], Any] = {}

    def get(self, key: tuple[Any, ...], build: Any) -> Any:
        if key not in self.store:
            self.store[key] = build()
        return self.store[key]


def peer_values(
    obs: Source,
    memo: SharedReads,
    ident: str,
    level: str,
    scope: tuple[str, str] | None,
    period: str,
    reader: ReadPolicy,
) -> pd.DataFrame | None:
    """The indicator for the territories of ``level`` inside ``scope`` at ``period`` (code,
    value, status): every indicator of those territories is read once per run."""
    every: pd.DataFrame = memo.get(
        ("profiles", level, scope, reader),
        lambda: obs.profiles(level, scope, reader=reader),
    )
    chosen = every[(every.indicator == ident) & (every.period.astype(str) == period)]
    return None if chosen.empty else chosen[["code", "value", "status"]]


def section_map(
    obs: Source,
    memo: SharedReads,
    figures: Sequence[Mapped],
    level: str,
    code: str,
    card: dict[str, Any],
    reader: ReadPolicy,
) -> tuple[str, str, list[dict[str, Any]]]:
    """The first comparable figure mapped: the sub-territories of a département or région,
    else the territory among its peers (outlined)."""
    chosen = next((f for f in figures if not f.count), None)
    if chosen is None:
        return "", "", []
    if level in ("departement", "region"):
        map_level = "commune" if level == "departement" else "departement"
        scope: tuple[str, str] | None = (level, code)
        caption = f"{first_upper(LEVELS[map_level].plural)} de ce territoire"
    else:
        map_level, scope = level, peer_scope(level, card)
        caption = "Le territoire (contour épais) parmi ses plus proches voisins"
    frame = peer_values(obs, memo, chosen.indicator, map_level, scope, chosen.period, reader)
    if frame is None:
        return "", "", []
    units = memo.get(
        ("units", map_level, scope), lambda: obs.geography.geometries(level=map_level, within=scope)
    )
    units = units[units.geometry.notna()]
    if level not in ("departement", "region"):  # a neighbourhood, not the 725 communes
        units = nearest(memo, units, code, map_level, scope)
    if units.empty or len(units) > 1500:
        return "", "", []
    indicator = obs.catalogue().get(chosen.indicator)
    svg, legend = indicator_svg_map(
        units,
        frame,
        indicator,
        period=chosen.period,
        highlight=[code],
        ident=f"map-{chosen.indicator}",
    )
    return svg, f"{caption} — {chosen.label}, {chosen.period} (quantiles)", legend


NEIGHBOURHOOD = 60  # the units drawn around a territory on its portrait's maps


def nearest(
    memo: SharedReads, units: Any, code: str, level: str, scope: tuple[str, str] | None
) -> Any:
    """The territory and its :data:`NEIGHBOURHOOD` nearest peers (by distance between
    centroids, in metres): a map a reader can read, and one a PDF lays out in a fraction of
    the time of a département's every commune."""
    if len(units) <= NEIGHBOURHOOD or code not in set(units.code):
        return units
    import numpy as np

    def centroids() -> Any:
        metric = units.to_crs("EPSG:2154") if metropolitan(units) else units.to_crs(3857)
        points = metric.geometry.centroid
        return dict(zip(units.code, zip(points.x, points.y, strict=True), strict=True))

    where = memo.get(("centroids", level, scope), centroids)
    x0, y0 = where[code]
    distance = np.array([np.hypot(where[c][0] - x0, where[c][1] - y0) for c in units.code])
    return units.iloc[np.argsort(distance, kind="stable")[: NEIGHBOURHOOD + 1]]
