"""An indicator's page (and its JSON and CSV twins): its values at one level inside one
territory, on a map and in a table, with its series, its provenance and the library's documents
about it; the same map as a file for a report (SVG, PNG), the values in every export format."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import urlencode

import pandas as pd
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from markupsafe import Markup

from observatoire.errors import InputError
from observatoire.observatory import Observatory
from observatoire.outputs.charts import line_chart
from observatoire.outputs.thematic import status_style
from observatoire.stats.classify import parse_breaks
from observatoire.web import content
from observatoire.web.deps import (
    Answers,
    CurrentUser,
    ObservatoryDep,
    QualityDep,
    ReaderDep,
    RegistryDep,
)
from observatoire.web.inventory_views import document_view, library_reader
from observatoire.web.projections import asked, line_projection, projection_view, refused_view
from observatoire.web.responses import Format, csv_response, download, page_route, show_page
from observatoire.web.vigilance import vigilance_of

__all__ = ["CSV_COLUMNS", "router"]

router = APIRouter(include_in_schema=False)
Classes = Annotated[int, Query(ge=2, le=9)]


@page_route(router, "/indicateurs/{name}", "json", "csv")
def indicator_page(
    request: Request,
    fmt: Format,
    reader: ReaderDep,
    obs: ObservatoryDep,
    answers: Answers,
    user: CurrentUser,
    registry: RegistryDep,
    quality: QualityDep,
    name: str,
    niveau: str | None = None,
    dans: str | None = None,
    periode: str | None = None,
    reference: str = "departement",
    classes: Classes = 5,
    methode: str = "quantiles",
    palette: str = "sequentielle",
    seuils: str = "",
    symboles: str = "",
) -> Response:
    manual = parse_breaks(seuils) if seuils.strip() else ()
    key = ("indicator", name, niveau, dans, periode, reference, methode, classes, palette, manual)
    data = answers.get(
        (*key, reader),
        lambda: content.indicator_view(
            obs,
            name,
            reader=reader,
            level=niveau,
            within=dans or None,
            period=periode or None,
            reference=reference,
            method=methode,
            classes=classes,
            palette=palette,
            manual=manual,
        ),
    )
    if fmt == "csv":
        return csv_response(request, _values_table(data), f"{name}.csv")
    data = {**data, "vigilance": vigilance_of(quality, name, data, reader)}
    if data.get("series"):  # the territory's own line extended by its projection
        first = data["series"][0]
        ahead = answers.get(
            ("line-projection", name, first["level"], first["code"], reader),
            lambda: line_projection(obs, name, first["level"], first["code"], reader),
        )
        data = {**data, "projection": ahead}
    chart = ""
    if fmt == "html" and data.get("series"):
        unit = data["indicator"]["unit"]
        lines = list(data["series"])
        if data.get("projection"):
            lines[0] = {**lines[0], "projection": data["projection"]["points"]}
        chart = line_chart(lines, title=f"Évolution : {data['indicator']['label']}", unit=unit)
    library: list[dict[str, Any]] = []
    if fmt == "html":  # the library's documents about it that the visitor may read
        rows = registry.documents(reader=library_reader(user), indicator=name)
        library = [document_view(r) for r in rows[:10]]
    return show_page(
        request,
        fmt,
        "indicator.html",
        data,
        data["indicator"]["label"],
        chart=Markup(chart),
        map_data=_map_data(data, _symbols(obs, name, {"true": True, "false": False}.get(symboles))),
        map_file_url=f"/indicateurs/{name}/carte",
        map_query=_map_query(data, classes, seuils, symboles),
        exports=_exports(name, data),
        library=library,
    )


@page_route(router, "/indicateurs/{name}/projection", "json", "csv")
def projection_page(
    request: Request,
    fmt: Format,
    reader: ReaderDep,
    obs: ObservatoryDep,
    answers: Answers,
    name: str,
    niveau: str = "commune",
    dans: str | None = None,
    horizon: str | None = None,
    methode: str | None = None,
) -> Response:
    """The projections of an indicator for the territories of a level, with the error of
    each method measured on the base (see :mod:`observatoire.engine.projection`)."""
    question = asked(obs, niveau, dans, horizon, methode)
    obs.catalogue().get(name)  # an unknown indicator is no key of the cache
    data = answers.get_or_refuse(
        ("projection", name, question, reader),
        lambda: projection_view(obs, name, reader=reader, question=question),
        lambda error: refused_view(obs, name, question, error),
    )
    if fmt == "csv":
        rows = (data.get("projection") or {}).get("values", [])
        return csv_response(request, pd.DataFrame(rows), f"{name}_projection.csv")
    return show_page(request, fmt, "projection.html", data,
                     f"Projection : {data['indicator']['label']}")  # fmt: skip


def _exports(ident: str, data: dict[str, Any]) -> list[dict[str, str]]:
    """Download links of the page's values in every export format."""
    from observatoire.outputs.exports import FORMATS

    within = data.get("within")
    base = {"niveau": data.get("level", "")}
    if within:
        base["dans"] = f"{within['level']}:{within['code']}"
    links = [
        {"label": label, "url": f"/indicateurs/{ident}/export?" + urlencode({**base, "format": f})}
        for f, (_, _, label) in FORMATS.items()
    ]
    for f in ("xlsx", "csv"):  # territories × periods, references on top
        query = urlencode({**base, "format": f, "forme": "large"})
        label = f"{FORMATS[f][2]} — une colonne par période, références en tête"
        links.append({"label": label, "url": f"/indicateurs/{ident}/export?{query}"})
    return links


def _map_query(data: dict[str, Any], classes: int, seuils: str, symboles: str = "") -> str:
    """The query of the page's map as a file: the same level, territory, period and classes."""
    within = data.get("within")
    params = {
        "niveau": data.get("level", ""),
        "dans": f"{within['level']}:{within['code']}" if within else "",
        "periode": data.get("period") or "",
        "methode": data.get("method", "quantiles"),
        "classes": classes,
        "palette": data.get("palette", "sequentielle"),
        "seuils": seuils,
        "symboles": symboles if symboles in ("true", "false") else "",
    }
    return "?" + urlencode({k: v for k, v in params.items() if v not in ("", None)})


@router.get("/indicateurs/{name}/carte.{suffix}")
def indicator_map_file(
    request: Request,
    reader: ReaderDep,
    obs: ObservatoryDep,
    answers: Answers,
    name: str,
    suffix: str,
    niveau: str = "commune",
    dans: str | None = None,
    periode: str | None = None,
    classes: Classes = 5,
    methode: str = "quantiles",
    palette: str = "sequentielle",
    seuils: str = "",
    symboles: bool | None = None,
) -> Response:
    """The map of the indicator page as a file for a report (SVG or PNG), drawn for the
    visitor's audience with the same classes as the page."""
    import tempfile
    from pathlib import Path

    from observatoire.outputs.indicator_map import MapRequest, draw_indicator_map

    if suffix not in ("svg", "png"):
        raise InputError(f"format de carte « {suffix} » : svg ou png")
    wanted = MapRequest(
        indicator=name,
        level=niveau,
        within=dans or None,
        period=periode or None,
        method=methode,
        classes=classes,
        palette=palette,
        manual=parse_breaks(seuils) if seuils.strip() else (),
        symbols=symboles,
        reader=reader,
    )

    def draw() -> bytes:
        with tempfile.TemporaryDirectory() as folder:
            target = Path(folder) / f"carte.{suffix}"
            draw_indicator_map(obs, wanted, [target])
            return target.read_bytes()

    body = answers.get(("map-file", wanted, suffix, reader), draw)
    media = "image/svg+xml" if suffix == "svg" else "image/png"
    return download(request, body, media, f"{name}_{niveau}.{suffix}")


@router.get("/indicateurs/{name}/export")
def indicator_export_file(
    request: Request,
    reader: ReaderDep,
    obs: ObservatoryDep,
    answers: Answers,
    name: str,
    format: str = "csv",
    niveau: str = "commune",
    dans: str | None = None,
    periode: str | None = None,
    forme: Literal["longue", "large"] = "longue",
) -> Response:
    """The values of the indicator page as a file (every format of
    :mod:`observatoire.outputs.exports`), for the visitor's audience; ``forme=large``: one
    column per period, the references on top."""
    from observatoire.outputs.indicator_export import export_indicator

    key = ("export", name, format, niveau, dans, periode, reader, forme)
    done = answers.get(
        key,
        lambda: export_indicator(
            obs,
            name,
            format,
            level=niveau,
            within=dans or None,
            period=periode or None,
            reader=reader,
            wide=forme == "large",
        ),
    )
    return download(request, done.body, done.media_type, done.filename)


def _symbols(obs: Observatory, ident: str, asked: bool | None) -> bool:
    """Circles for a count, colours otherwise (the rule of the static maps), unless asked."""
    from observatoire.outputs.indicator_map import drawn_as_circles

    return asked if asked is not None else drawn_as_circles(obs.catalogue().get(ident))


def _map_data(data: dict[str, Any], symbols: bool = False) -> dict[str, Any] | None:
    """What the map script needs: the contours' URL, each territory's value and class, the
    class breaks and their colours (darker is more; red when more is worse)."""
    if not data.get("values") or not data.get("breaks"):
        return None
    within = data.get("within")
    url = f"/api/v1/geometries/{data['level']}"
    if within:
        url += f"?within={within['level']}:{within['code']}"
    return {
        "geometries": url,
        "unit": data["indicator"]["unit"],
        "breaks": data["breaks"],
        "colours": data["colours"],
        "legend": data["legend"],
        "symbols": symbols,
        "styles": {k: str(status_style(k)["colour"]) for k in ("secret", "unavailable", "missing")},
        "values": {
            r["code"]: {
                "name": r["name"],
                "value": r["value"],
                "class": r["class"],
                "status": r["status"],
            }
            for r in data["values"]
        },
    }


CSV_COLUMNS = [
    "code",
    "name",
    "period",
    "value",
    "status",
    "coverage",
    "ci_low",
    "ci_high",
    "note",
    "completeness",
    "reference_code",
    "reference_name",
    "reference_value",
    "gap",
    "significant",
    "rank",
    "percentile",
    "trend",
    "alert",
]


def _values_table(data: dict[str, Any]) -> pd.DataFrame:
    """The table of an indicator page, as its CSV twin gives it."""
    frame = pd.DataFrame(data["values"])
    return frame[[c for c in CSV_COLUMNS if c in frame]] if not frame.empty else frame
