"""Static maps of a zoning: its units coloured by zone, zone borders, labels, legend, source.

Rendered with matplotlib's Agg backend (no display needed) to PNG or SVG.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from observatoire.atomic import writing
from observatoire.errors import InputError

if TYPE_CHECKING:
    import geopandas

__all__ = ["render_zoning_map"]

# Colour-blind-safe qualitative palette (Okabe–Ito), then Tableau for larger zonings.
PALETTE = [
    "#E69F00",
    "#56B4E9",
    "#009E73",
    "#F0E442",
    "#0072B2",
    "#D55E00",
    "#CC79A7",
    "#999999",
    "#4E79A7",
    "#F28E2B",
    "#59A14F",
    "#EDC948",
    "#B07AA1",
    "#FF9DA7",
]


def render_zoning_map(
    units: geopandas.GeoDataFrame,
    zones: geopandas.GeoDataFrame,
    output: str | Path,
    *,
    title: str,
    source: str,
    note: str = "",
) -> Path:
    """Draw ``units`` (with a ``zone`` column) coloured by zone, ``zones`` outlined and labelled.

    The format follows ``output``'s suffix (.png or .svg).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    output = Path(output)
    if output.suffix.lower() not in {".png", ".svg"}:
        raise InputError(f"format de carte non pris en charge « {output.suffix} » : .png ou .svg")
    projected_units = units.to_crs("EPSG:2154") if metropolitan(units) else units
    projected_zones = zones.to_crs(projected_units.crs)
    colours = {code: PALETTE[i % len(PALETTE)] for i, code in enumerate(sorted(zones.code))}
    fig, ax = plt.subplots(figsize=(9, 9), dpi=110)
    without = projected_units[projected_units.zone.isna()]
    if len(without):
        without.plot(ax=ax, color="#eeeeee", edgecolor="white", linewidth=0.4, hatch="//")
    inside = projected_units[projected_units.zone.notna()]
    inside.plot(ax=ax, color=[colours[z] for z in inside.zone], edgecolor="white", linewidth=0.6)
    projected_zones.boundary.plot(ax=ax, color="#222222", linewidth=1.6)
    for row in projected_zones.itertuples():
        point = row.geometry.representative_point()
        ax.annotate(
            str(row.name),
            (point.x, point.y),
            ha="center",
            va="center",
            fontsize=9,
            fontweight="bold",
            color="#111111",
            bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "none", "alpha": 0.8},
        )
    handles = [
        Patch(
            facecolor=colours[r.code],
            edgecolor="#222222",
            label=f"{r.name} ({_count(units, r.code)} communes)",
        )
        for r in zones.sort_values("code").itertuples()
    ]
    if len(without):
        handles.append(Patch(facecolor="#eeeeee", hatch="//", label="hors zonage"))
    ax.legend(
        handles=handles, loc="upper left", fontsize=8, frameon=True, bbox_to_anchor=(0.0, 1.0)
    )
    import textwrap

    ax.set_title("\n".join(textwrap.wrap(title, 70)), fontsize=12)
    ax.set_axis_off()
    caption = f"Source : {source}"
    if note:
        caption = f"{note}\n{caption}"
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    fig.text(0.02, 0.015, caption, fontsize=8, color="#333333")
    with writing(output) as partial:
        fig.savefig(
            partial,
            format=output.suffix.lower().lstrip("."),
            metadata={"Title": title} if output.suffix.lower() == ".svg" else None,
        )
    plt.close(fig)
    return output


def metropolitan(frame: geopandas.GeoDataFrame) -> bool:
    minx, miny, maxx, maxy = frame.total_bounds
    return bool(minx >= -6 and maxx <= 10 and miny >= 41 and maxy <= 52)


def _count(units: geopandas.GeoDataFrame, zone: str) -> int:
    return int((units.zone == zone).sum())
