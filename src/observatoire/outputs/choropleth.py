"""Static thematic maps (SVG or PNG) of an indicator: a choropleth, or proportional symbols for
counts, with a legend that counts each class and says which units are secret, not available,
without data or without a contour; title, source and date underneath.

Drawn with matplotlib's Agg backend (no display). SVG keeps its text as text (searchable,
readable by assistive technologies, and checked by the tests).
"""

from __future__ import annotations

import math
import textwrap
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from observatoire.atomic import writing
from observatoire.errors import InputError
from observatoire.outputs.maps import metropolitan
from observatoire.outputs.thematic import MapClasses, status_style
from observatoire.text import french_number, with_unit

if TYPE_CHECKING:
    import geopandas

__all__ = ["FORMATS", "MapText", "render_choropleth"]

FORMATS = (".svg", ".png")
# pyplot keeps global state: one drawing at a time (the web server draws from worker threads).
_DRAWING = threading.Lock()
_SYMBOL_MAX = 1400.0  # area, in points², of the largest proportional symbol
_SYMBOL_COLOUR = "#2166ac"


@dataclass(frozen=True)
class MapText:
    """The words around a map."""

    title: str
    subtitle: str = ""
    source: str = ""
    note: str = ""  # e.g. « Données FICTIVES »
    unit: str = ""


def render_choropleth(
    units: geopandas.GeoDataFrame,
    values: list[float | None],
    classes: MapClasses,
    output: str | Path,
    text: MapText,
    *,
    symbols: bool = False,
    highlight: Sequence[str] = (),
    size: tuple[float, float] = (9, 9.6),
) -> Path:
    """Draw ``units`` (code, name, geometry; EPSG:4326) with their ``values`` (same order)
    coloured by ``classes``, or as circles whose area is proportional to the value when
    ``symbols``. The format follows ``output``'s suffix (.svg or .png)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    output = Path(output)
    if output.suffix.lower() not in FORMATS:
        raise InputError(f"format de carte non pris en charge « {output.suffix} » : .svg ou .png")
    if len(units) != len(values) or len(units) != len(classes.classes):
        raise InputError("carte : autant de valeurs et de classes que de contours attendus")
    shown = units.to_crs("EPSG:2154") if metropolitan(units) else units
    fills, hatches = _fills(classes, symbols)
    with (
        _DRAWING,
        plt.rc_context(
            {"svg.fonttype": "none", "font.family": "DejaVu Sans", "hatch.color": "#636363"}
        ),
    ):
        fig, ax = plt.subplots(figsize=size, dpi=150)
        for hatch in sorted(set(hatches)):
            part = shown[[h == hatch for h in hatches]]
            colours = [f for f, h in zip(fills, hatches, strict=True) if h == hatch]
            part.plot(ax=ax, color=colours, edgecolor="#ffffff", linewidth=0.5, hatch=hatch or None)
        empty = shown[[f == "#ffffff" for f in fills]]
        if len(empty):
            empty.boundary.plot(ax=ax, color="#969696", linewidth=0.5)
        _outlines(ax, shown)
        marked = shown[shown.code.isin(set(highlight))]
        if len(marked):
            marked.boundary.plot(ax=ax, color="#111111", linewidth=2.2)
        _scale_bar(ax, shown)
        _town_names(fig, ax, shown)
        handles = _class_handles(classes, symbols)
        if symbols:
            handles = _symbols(ax, shown, values) + handles
        ax.set_axis_off()
        ax.set_aspect("equal")
        ax.set_title("\n".join(textwrap.wrap(text.title, 64)), fontsize=13, loc="left", pad=14)
        if text.subtitle:
            ax.text(0, 1.0, text.subtitle, transform=ax.transAxes, fontsize=9, color="#444444")
        legend = ax.legend(
            handles=handles,
            title=_legend_title(classes, text.unit, symbols),
            loc="upper left",
            bbox_to_anchor=(1.0, 1.0),
            fontsize=8,
            title_fontsize=9,
            frameon=False,
            labelspacing=2.4 if symbols else 0.5,
            handletextpad=1.4 if symbols else 0.8,
            borderpad=1.0,
        )
        legend._legend_box.align = "left"  # type: ignore[attr-defined]
        caption = [line for line in (text.note, _contour_note(classes), text.source) if line]
        fig.text(
            0.02,
            0.015,
            "\n".join(textwrap.fill(line, 130) for line in caption),
            fontsize=7.5,
            color="#333333",
            va="bottom",
        )
        fig.subplots_adjust(left=0.02, right=0.72, top=0.9, bottom=0.03 + 0.022 * len(caption))
        with writing(output) as partial:  # the map appears whole, or not at all
            if output.suffix.lower() == ".svg":
                fig.savefig(
                    partial,
                    format="svg",
                    metadata={"Title": text.title, "Date": None},
                    bbox_inches="tight",
                    pad_inches=0.3,
                )
            else:
                fig.savefig(
                    partial,
                    format="png",
                    metadata={"Title": text.title},
                    bbox_inches="tight",
                    pad_inches=0.3,
                )
        plt.close(fig)
    return output


# The units a map outlines over its own, by the column naming their parent: the EPCI over
# communes, the communes over IRIS.
_OUTLINED_BY = ("epci", "commune")
TOWN_NAMES = 8  # the most populous units named on a map, when their labels do not overlap


def _outlines(ax: object, shown: geopandas.GeoDataFrame) -> None:
    """The outlines of the enclosing level (EPCI over communes, communes over IRIS) when the
    units carry it and it groups them (more than one group, fewer groups than units)."""
    for column in _OUTLINED_BY:
        if column not in shown or shown[column].isna().all():
            continue
        groups = shown[shown[column].notna()]
        count = groups[column].nunique()
        if 1 < count < len(groups):
            merged = groups[[column, "geometry"]].dissolve(by=column)
            merged.boundary.plot(ax=ax, color="#404040", linewidth=1.1)
            return


def _scale_bar(ax: object, shown: geopandas.GeoDataFrame) -> None:
    """A scale bar of a round length, about a fifth of the map's width, bottom left (maps in
    metres only: Lambert-93 and the UTM of the DROM)."""
    if shown.crs is None or not shown.crs.is_projected:
        return
    west, south, east, north = shown.total_bounds
    target = (east - west) / 5
    length = max(
        (s for s in (500, 1000, 2000, 5000, 10_000, 20_000, 50_000, 100_000, 200_000)
         if s <= target),
        default=500,
    )  # fmt: skip
    x, y = west, south - (north - south) * 0.04
    ax.plot([x, x + length], [y, y], color="#222222", linewidth=2.5, solid_capstyle="butt")  # type: ignore[attr-defined]
    label = f"{length // 1000} km" if length >= 1000 else f"{length} m"
    ax.text(x + length / 2, y + (north - south) * 0.012, label, ha="center", va="bottom",  # type: ignore[attr-defined]
            fontsize=7.5, color="#222222")  # fmt: skip


def _town_names(fig: object, ax: object, shown: geopandas.GeoDataFrame) -> None:
    """The names of the most populous units, at a point inside each, on a light box; a
    name that would overlap one already written is left out."""
    if "population" not in shown or shown.population.isna().all() or len(shown) < 3:
        return
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    taken: list[object] = []
    biggest = shown[shown.population.notna()].nlargest(TOWN_NAMES, "population")
    for _, unit in biggest.iterrows():
        point = unit.geometry.representative_point()
        label = ax.text(  # type: ignore[attr-defined]
            point.x,
            point.y,
            str(unit["name"]),
            fontsize=7.5,
            ha="center",
            va="center",
            color="#111111",
            zorder=5,
            bbox={
                "boxstyle": "round,pad=0.15",
                "facecolor": "white",
                "edgecolor": "none",
                "alpha": 0.75,
            },
        )  # fmt: skip  (a box, not a stroke: the SVG keeps the name as text)
        box = label.get_window_extent(renderer=renderer)
        if any(box.overlaps(other) for other in taken):
            label.remove()
            continue
        taken.append(box)


def _fills(classes: MapClasses, symbols: bool) -> tuple[list[str], list[str]]:
    """The fill and hatch of each unit."""
    secret = status_style("secret")
    fills, hatches = [], []
    for found, status_kind in zip(classes.classes, classes.kinds, strict=True):
        if symbols:
            fills.append("#f0f0f0" if status_kind != "secret" else str(secret["colour"]))
            hatches.append(str(secret["hatch"]) if status_kind == "secret" else "")
        elif found is not None:
            fills.append(classes.colours[found])
            hatches.append("")
        else:
            style = status_style(status_kind)
            fills.append(str(style["colour"]))
            hatches.append(str(style["hatch"]))
    return fills, hatches


def _class_handles(classes: MapClasses, symbols: bool) -> list[object]:
    from matplotlib.patches import Patch

    handles: list[object] = []
    for entry in classes.legend():
        if symbols and entry["kind"] == "class":
            continue
        label = f"{entry['label']} ({entry['count']})"
        hatch = str(entry.get("hatch") or "") or None
        edge = "#969696" if entry["kind"] == "missing" else "#ffffff"
        handles.append(
            Patch(facecolor=str(entry["colour"]), edgecolor=edge, hatch=hatch, label=label)
        )
    if classes.without_contour:  # not drawn: said in the legend, named under the map
        handles.append(
            Patch(
                facecolor="none",
                edgecolor="#969696",
                linestyle="--",
                label=f"sans contour, non cartographié ({len(classes.without_contour)})",
            )
        )
    return handles


def _symbols(ax: object, shown: geopandas.GeoDataFrame, values: list[float | None]) -> list[object]:
    """Circles of area proportional to each value, the largest drawn first; legend circles."""
    from matplotlib.lines import Line2D

    numbers = np.array([np.nan if v is None else float(v) for v in values], dtype=float)
    top = float(np.nanmax(numbers)) if np.isfinite(numbers).any() else 0.0
    if top <= 0:
        return []
    points = shown.geometry.representative_point()
    order = np.argsort(-np.nan_to_num(numbers, nan=-1.0))
    xs = [points.iloc[i].x for i in order if numbers[i] > 0]
    ys = [points.iloc[i].y for i in order if numbers[i] > 0]
    sizes = [_SYMBOL_MAX * numbers[i] / top for i in order if numbers[i] > 0]
    ax.scatter(  # type: ignore[attr-defined]
        xs,
        ys,
        s=sizes,
        color=_SYMBOL_COLOUR,
        alpha=0.75,
        edgecolors="#ffffff",
        linewidths=0.6,
        zorder=3,
    )
    handles: list[object] = []
    for amount in _round_steps(top):
        handles.append(
            Line2D(
                [],
                [],
                marker="o",
                linestyle="",
                markersize=math.sqrt(_SYMBOL_MAX * amount / top),
                markerfacecolor=_SYMBOL_COLOUR,
                markeredgecolor="#ffffff",
                alpha=0.75,
                label=french_number(amount),
            )
        )
    return handles


def _round_steps(top: float) -> list[float]:
    """Three round amounts for the legend of proportional symbols.

    >>> _round_steps(8734)
    [8000.0, 4000.0, 1000.0]
    """
    magnitude = 10 ** math.floor(math.log10(top))
    largest = math.floor(top / magnitude) * magnitude
    steps = [largest, largest / 2, largest / 8]
    return [float(float(f"{s:.1g}")) for s in steps if s > 0]


def _legend_title(classes: MapClasses, unit: str, symbols: bool) -> str:
    if symbols:
        return f"Effectif{f' ({unit})' if unit else ''}"
    from observatoire.stats.classify import METHODS

    lines = [f"Classes : {METHODS.get(classes.method, classes.method).lower()}"]
    if classes.reference is not None and classes.reference_label:
        digits = 1 if unit in ("%", "‰") else None
        shown = with_unit(classes.reference, unit, digits)
        lines.append(f"Référence : {classes.reference_label} ({shown})")
    return "\n".join(lines)


def _contour_note(classes: MapClasses) -> str:
    missing = classes.without_contour
    if not missing:
        return ""
    names = ", ".join(missing[:6]) + (" …" if len(missing) > 6 else "")
    return f"{len(missing)} territoire(s) sans contour, absents de la carte : {names}."
