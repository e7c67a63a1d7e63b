"""A light choropleth written directly as SVG (no plotting library): a few milliseconds for a
département's communes, crisp at any size, each unit titled with its name and value. Used
where many maps are drawn (portraits, dashboards); :mod:`observatoire.outputs.choropleth`
draws the standalone maps with their legend and captions."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import TYPE_CHECKING

from observatoire.outputs.maps import metropolitan
from observatoire.outputs.palettes import SECRET
from observatoire.outputs.thematic import classes_for, status_style
from observatoire.text import with_unit

if TYPE_CHECKING:
    import geopandas
    import pandas as pd

    from observatoire.catalog.indicators import Indicator

__all__ = ["indicator_svg_map", "svg_map"]


def svg_map(
    units: geopandas.GeoDataFrame,
    fills: Sequence[str],
    *,
    kinds: Sequence[str] = (),
    labels: Sequence[str] = (),
    highlight: Sequence[str] = (),
    title: str = "",
    width: int = 460,
    ident: str = "map",
) -> str:
    """``units`` (code, name, geometry in EPSG:4326) filled with ``fills``; ``kinds`` marks
    the secret ones (hatched); ``labels`` (one per unit) title each shape; ``highlight``
    codes are outlined."""
    shown = units.to_crs("EPSG:2154") if metropolitan(units) else units
    minx, miny, maxx, maxy = shown.total_bounds
    span_x, span_y = max(maxx - minx, 1e-9), max(maxy - miny, 1e-9)
    height = max(120, min(int(width * span_y / span_x), int(width * 1.4)))
    scale = min((width - 8) / span_x, (height - 8) / span_y)
    off_x = (width - span_x * scale) / 2
    off_y = (height - span_y * scale) / 2
    tolerance = 0.6 / scale  # below a pixel: not drawn

    def ring(coords: Sequence[tuple[float, ...]]) -> str:
        points = [
            f"{off_x + (x - minx) * scale:.1f},{off_y + (maxy - y) * scale:.1f}"
            for x, y, *_ in coords
        ]
        return "M" + "L".join(points) + "Z"

    def path(geometry: object) -> str:
        simple = geometry.simplify(tolerance, preserve_topology=True)  # type: ignore[attr-defined]
        polygons = getattr(simple, "geoms", [simple])
        parts = []
        for polygon in polygons:
            if polygon.is_empty or not hasattr(polygon, "exterior"):
                continue
            parts.append(ring(polygon.exterior.coords))
            parts += [ring(inner.coords) for inner in polygon.interiors]
        return "".join(parts)

    out = [
        f'<svg class="svgmap" viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg" '
        f'role="img" aria-label="{escape(title)}">',
        f'<defs><pattern id="{ident}-secret" width="6" height="6" patternUnits="userSpaceOnUse" '
        f'patternTransform="rotate(45)"><rect width="6" height="6" fill="{SECRET}"/>'
        '<line x1="0" y1="0" x2="0" y2="6" stroke="#636363" stroke-width="2"/></pattern></defs>',
    ]
    marked = set(highlight)
    outlines = []
    for i, (code, geometry) in enumerate(zip(shown.code, shown.geometry, strict=True)):
        if geometry is None or geometry.is_empty:
            continue
        d = path(geometry)
        kind = kinds[i] if i < len(kinds) else "class"
        fill = f"url(#{ident}-secret)" if kind == "secret" else fills[i]
        edge = "#969696" if fill == "#ffffff" else "#ffffff"
        label = f"<title>{escape(labels[i])}</title>" if i < len(labels) else ""
        out.append(
            f'<path d="{d}" fill="{fill}" stroke="{edge}" stroke-width="0.7" '
            f'fill-rule="evenodd">{label}</path>'
        )
        if code in marked:
            outlines.append(f'<path d="{d}" fill="none" stroke="#111111" stroke-width="2.4"/>')
    out += outlines
    out.append("</svg>")
    return "".join(out)


def indicator_svg_map(
    units: geopandas.GeoDataFrame,
    frame: pd.DataFrame,
    indicator: Indicator,
    *,
    period: str | None,
    highlight: Sequence[str] = (),
    ident: str = "map",
    width: int = 460,
) -> tuple[str, list[dict[str, object]]]:
    """``units`` (with contours) coloured by the values of ``frame`` (code, value, status):
    the SVG and its legend entries (quantiles, polarity-aware colours)."""
    import pandas as pd

    merged = units[["code", "name", "geometry"]].merge(
        frame[["code", "value", "status"]], on="code", how="left"
    )
    values = [None if pd.isna(v) else float(v) for v in merged.value]
    statuses = [s if isinstance(s, str) else "missing" for s in merged.status]
    unit = indicator.unit
    classes = classes_for(values, statuses, polarity=indicator.polarity.value, unit=unit)
    fills = [
        classes.colours[c] if c is not None else str(status_style(k)["colour"])
        for c, k in zip(classes.classes, classes.kinds, strict=True)
    ]
    labels = [
        f"{name} : {with_unit(v, unit) if v is not None else status_style(k)['label']}"
        for name, v, k in zip(merged.name, values, classes.kinds, strict=True)
    ]
    svg = svg_map(
        merged,
        fills,
        kinds=classes.kinds,
        labels=labels,
        highlight=highlight,
        title=f"Carte : {indicator.label} en {period}",
        ident=ident,
        width=width,
    )
    return svg, classes.legend()
