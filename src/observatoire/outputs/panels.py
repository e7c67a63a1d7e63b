"""Maps side by side: two to four panels over the same territories — each an indicator at a
period with its own classes and legend, the change of an indicator between two periods, or a
bivariate map of two indicators (3 × 3 classes, a legend square) — for the extranet (drawn by
Leaflet, pan and zoom synced) and as one figure for a report (SVG, PNG).

Classes are the platform's (:func:`observatoire.outputs.thematic.classes_for`, quantiles by
default); a bivariate map cuts each indicator into terciles of the territories that have both
values; a change is the end value minus the start value (points for a percentage), coloured
around no change.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from observatoire.errors import InputError
from observatoire.outputs.palettes import BIVARIATE
from observatoire.outputs.thematic import classes_for, status_style
from observatoire.secret.policy import ANALYST, ReadPolicy
from observatoire.stats.classify import breaks, classify
from observatoire.text import with_unit

if TYPE_CHECKING:
    from observatoire.outputs.source import Source

__all__ = ["MAX_PANELS", "MAX_UNITS", "Panel", "bivariate_panel", "change_panel", "figure_of",
           "figure_svg", "indicator_panel", "panels_for"]  # fmt: skip

MAX_PANELS = 4
MAX_UNITS = 6000  # the communes of the largest région, the IRIS of a département
USABLE = ("ok", "partial")


@dataclass
class Panel:
    """One map: ``title``, each territory's ``fill`` and tooltip ``label`` (code →), its
    ``legend`` entries (label, colour, count, kind) or, for a bivariate map, its 3 × 3
    ``square`` of colours with the two ``axes``; the ``values`` the page's script reads."""

    title: str
    fills: dict[str, str]
    labels: dict[str, str]
    legend: list[dict[str, object]] = field(default_factory=list)
    square: list[list[str]] = field(default_factory=list)
    axes: tuple[str, str] = ("", "")
    kinds: dict[str, str] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)  # code → value (a pair: bivariate)

    def data(self) -> dict[str, Any]:
        """What the page's script needs (fills and tooltips by code) and the values."""
        return {"title": self.title, "fills": self.fills, "labels": self.labels,
                "kinds": self.kinds, "values": self.values}  # fmt: skip


def _latest(frame: pd.DataFrame) -> str | None:
    usable = frame[frame.status.isin(USABLE) & frame.value.notna()]
    return None if usable.empty else str(usable.period.astype(str).max())


def indicator_panel(obs: Source, ident: str, level: str, within: tuple[str, str] | None,
                    period: str | None = None, *, reader: ReadPolicy = ANALYST,
                    k: int = 5) -> Panel:  # fmt: skip
    """``ident`` at ``period`` (the latest by default), in ``k`` quantile classes."""
    indicator = obs.catalogue().get(ident)
    frame = obs.indicator(ident, level=level, within=within, reader=reader)
    period = period or _latest(frame)
    shown = _one_per_code(frame, period)
    if not (shown.status.isin(USABLE) & shown.value.notna()).any():
        raise InputError(f"carte de {ident} : aucune valeur au niveau {level}"
                         + (f" en {period}" if period else ""))  # fmt: skip
    classes = classes_for([None if pd.isna(v) else float(v) for v in shown.value],
                          [str(s) for s in shown.status], k=k,
                          polarity=indicator.polarity.value, unit=indicator.unit)  # fmt: skip
    return _classed(f"{indicator.label} ({period})", shown, classes, indicator.unit)


def change_panel(obs: Source, ident: str, level: str, within: tuple[str, str] | None,
                 start: str, end: str, *, reader: ReadPolicy = ANALYST) -> Panel:  # fmt: skip
    """The change of ``ident`` from ``start`` to ``end`` (points for a percentage), in
    classes diverging around no change, red where the indicator gets worse."""
    indicator = obs.catalogue().get(ident)
    frame = obs.evolution(ident, start=start, end=end, level=level, within=within, reader=reader)
    shown = pd.DataFrame({
        "code": frame.code, "name": frame.name, "value": frame.absolute,
        "status": np.where(frame.status.isin(USABLE), "ok", "nd"),
    })  # fmt: skip
    if not shown.value.notna().any():
        raise InputError(f"carte d'évolution de {ident} : aucun territoire n'a de valeur à la "
                         f"fois en {start} et en {end}")  # fmt: skip
    unit = "points" if indicator.unit == "%" else indicator.unit
    classes = classes_for([None if pd.isna(v) else float(v) for v in shown.value],
                          [str(s) for s in shown.status], method="stddev", k=6,
                          palette="divergente",
                          reference=0.0, reference_label="aucune évolution",
                          polarity=indicator.polarity.value, unit=unit)  # fmt: skip
    return _classed(f"{indicator.label} : évolution {start}–{end}", shown, classes, unit)


def bivariate_panel(obs: Source, first: str, second: str, level: str,
                    within: tuple[str, str] | None, *,
                    reader: ReadPolicy = ANALYST) -> Panel:  # fmt: skip
    """Two indicators at their latest periods, each cut into terciles of the territories
    that have both values: one of nine colours each, read on the legend square."""
    catalogue = obs.catalogue()
    frames = []
    for ident in (first, second):
        frame = obs.indicator(ident, level=level, within=within, reader=reader)
        frames.append(_one_per_code(frame, _latest(frame)).set_index("code"))
    a, b = frames
    both = a.value.notna() & b.value.reindex(a.index).notna()
    both &= a.status.isin(USABLE) & b.status.reindex(a.index).isin(USABLE)
    if int(both.sum()) < 9:
        raise InputError(f"carte bivariée : {int(both.sum())} territoires ont les deux valeurs ;"
                         " il en faut au moins 9 pour 3 × 3 classes")  # fmt: skip
    tiers = []
    for frame in (a, b):
        values = frame.value.reindex(a.index).where(both).to_numpy(dtype=float)
        bounds = breaks(values, "quantiles", 3)
        tiers.append(classify(values, bounds))
    fills, labels, kinds, values = {}, {}, {}, {}
    units = (catalogue.get(first).unit, catalogue.get(second).unit)
    for n, code in enumerate(a.index):
        i, j = tiers[0][n], tiers[1][n]
        name = str(a.name[code])
        values[code] = [_plain(a.value[code]), _plain(b.value.get(code))]
        if i is None or j is None:
            kind = "secret" if "secret" in (a.status[code], b.status.get(code)) else "missing"
            fills[code], kinds[code] = str(status_style(kind)["colour"]), kind
            labels[code] = f"{name} : {status_style(kind)['label']}"
            continue
        fills[code], kinds[code] = BIVARIATE[j][i], "class"
        labels[code] = (f"{name} : {with_unit(float(a.value[code]), units[0])} ; "
                        f"{with_unit(float(b.value[code]), units[1])}")  # fmt: skip
    titles = (catalogue.get(first).label, catalogue.get(second).label)
    return Panel(f"{titles[0]} × {titles[1]}", fills, labels, square=BIVARIATE,
                 axes=titles, kinds=kinds, values=values)  # fmt: skip


def _plain(value: object) -> float | None:
    return None if value is None or pd.isna(value) else float(value)  # type: ignore[arg-type]


def panels_for(obs: Source, level: str, within: tuple[str, str] | None, mode: str,
               maps: Sequence[tuple[str, str | None]], start: str | None, end: str | None, *,
               reader: ReadPolicy = ANALYST) -> list[Panel]:  # fmt: skip
    """The maps asked: ``mode`` ``cote`` (each indicator at its period), ``bivariee`` (the
    first two indicators) or ``evolution`` (each indicator from ``start`` to ``end``)."""
    count = len(obs.geography.territories(level=level, within=within))
    if count > MAX_UNITS:
        raise InputError(f"cartes : {count} territoires ; au plus {MAX_UNITS} se cartographient "
                         "ici — choisissez un territoire englobant plus petit (dans)")  # fmt: skip
    if mode == "bivariee":
        return [bivariate_panel(obs, maps[0][0], maps[1][0], level, within, reader=reader)]
    if mode == "evolution":
        if start is None or end is None:
            raise InputError("carte d'évolution : choisissez les périodes de début et de fin")
        return [change_panel(obs, ident, level, within, start, end, reader=reader)
                for ident, _ in maps]  # fmt: skip
    return [indicator_panel(obs, ident, level, within, period, reader=reader)
            for ident, period in maps]  # fmt: skip


def figure_of(obs: Source, panels: list[Panel], level: str,
              within: tuple[str, str] | None) -> str:  # fmt: skip
    """``panels`` drawn over the territories' contours as one SVG figure."""
    units = obs.geography.geometries(level=level, within=within)
    where = obs.geography.card(*within)["name"] if within else level
    return figure_svg(panels, units, title=str(where))


def _one_per_code(frame: pd.DataFrame, period: str | None) -> pd.DataFrame:
    """Each territory's row at ``period`` (a territory without one: no value)."""
    names = frame.drop_duplicates("code")[["code", "name"]]
    at = frame[frame.period.astype(str) == str(period)][["code", "value", "status"]]
    out = names.merge(at.drop_duplicates("code"), on="code", how="left")
    out["status"] = out.status.fillna("missing")
    return out


def _classed(title: str, shown: pd.DataFrame, classes: Any, unit: str) -> Panel:
    fills, labels, kinds = {}, {}, {}
    rows = zip(shown.code, shown.name, shown.value, classes.classes, classes.kinds, strict=True)
    for code, name, value, found, kind in rows:
        fills[code] = (classes.colours[found] if found is not None
                       else str(status_style(kind)["colour"]))  # fmt: skip
        labels[code] = f"{name} : " + (with_unit(float(value), unit) if found is not None
                                       else str(status_style(kind)["label"]))  # fmt: skip
        kinds[code] = kind
    values = {code: _plain(v) for code, v in zip(shown.code, shown.value, strict=True)}
    return Panel(title, fills, labels, legend=classes.legend(), kinds=kinds, values=values)


def figure_svg(panels: list[Panel], units: Any, *, title: str = "",
               width: int = 1000) -> str:  # fmt: skip
    """The panels as one figure: a grid of two columns, each map with its title and legend
    (or legend square), for a report."""
    from observatoire.outputs.svgmap import svg_map

    columns = 1 if len(panels) == 1 else 2
    cell = width // columns
    drawn = []
    for n, panel in enumerate(panels):
        fills = [panel.fills.get(c, "#ffffff") for c in units.code]
        kinds = [panel.kinds.get(c, "missing") for c in units.code]
        labels = [panel.labels.get(c, str(name)) for c, name in zip(units.code, units.name,
                                                                     strict=True)]  # fmt: skip
        drawn.append(svg_map(units, fills, kinds=kinds, labels=labels, title=panel.title,
                             width=cell - 20, ident=f"panel{n}"))  # fmt: skip
    heights = [_height(svg) for svg in drawn]
    legend_height = 120
    row_height = max(heights) + legend_height + 30
    rows = -(-len(panels) // columns)
    total = 40 + rows * row_height
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {total}" '
        f'width="{width}" height="{total}" font-family="sans-serif" font-size="12" role="img">',
        f'<rect width="{width}" height="{total}" fill="#ffffff"/>',
        f'<text x="10" y="24" font-size="16" font-weight="bold">{escape(title)}</text>',
    ]
    for n, (panel, svg) in enumerate(zip(panels, drawn, strict=True)):
        x, y = (n % columns) * cell + 10, 40 + (n // columns) * row_height
        out.append(f'<text x="{x}" y="{y + 14}" font-weight="bold">{escape(panel.title)}</text>')
        out.append(f'<g transform="translate({x},{y + 20})">{_inner(svg)}</g>')
        out.append(f'<g transform="translate({x},{y + 24 + heights[n]})">{_legend(panel)}</g>')
    out.append("</svg>")
    return "\n".join(out)


def _height(svg: str) -> int:
    head = svg[: svg.index(">")]
    view = head.split('viewBox="')[1].split('"')[0].split()
    return int(float(view[3]))


def _inner(svg: str) -> str:
    """An SVG's content without its outer element (nested in a group)."""
    return svg[svg.index(">") + 1 : svg.rindex("</svg>")]


def _legend(panel: Panel) -> str:
    if panel.square:
        size, parts = 22, []
        for j, row in enumerate(reversed(panel.square)):  # the second axis upwards
            for i, colour in enumerate(row):
                parts.append(f'<rect x="{40 + i * size}" y="{j * size}" width="{size}" '
                             f'height="{size}" fill="{colour}"/>')  # fmt: skip
        parts.append(f'<text x="40" y="{3 * size + 14}" font-size="10">'
                     f"{escape(panel.axes[0])} →</text>")  # fmt: skip
        parts.append(f'<text x="30" y="{3 * size}" font-size="10" '
                     f'transform="rotate(-90 30 {3 * size})">{escape(panel.axes[1])} →</text>')
        parts.append(f'<text x="{40 + 3 * size + 12}" y="{size}" font-size="10">blanc : une des '
                     "deux valeurs manque ; gris : secret</text>")  # fmt: skip
        return "".join(parts)
    parts = []
    for n, entry in enumerate(panel.legend):
        y = n * 15
        parts.append(f'<rect x="0" y="{y}" width="12" height="12" fill="{entry["colour"]}" '
                     'stroke="#999" stroke-width="0.5"/>')  # fmt: skip
        parts.append(f'<text x="18" y="{y + 10}" font-size="11">{escape(str(entry["label"]))} '
                     f"({entry['count']})</text>")  # fmt: skip
    return "".join(parts)
