"""The analyst's views of an indicator across many territories: the funnel plot (and its JSON,
CSV and drawing twins); the « which levels and periods have data » table is on the indicator
page and in the API (:mod:`observatoire.web.routes.api`)."""

from __future__ import annotations

import pandas as pd
from fastapi import APIRouter, Request
from fastapi.responses import Response
from markupsafe import Markup

from observatoire.errors import InputError, ReferentialError
from observatoire.web.deps import Answers, ObservatoryDep, ReaderDep
from observatoire.web.funnels import (
    asked_funnel,
    funnel_drawing,
    funnel_view,
    refused_funnel,
)
from observatoire.web.responses import Format, csv_response, download, page_route, show_page

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


@page_route(router, "/indicateurs/{name}/entonnoir", "json", "csv")
def funnel_page(
    request: Request,
    fmt: Format,
    reader: ReaderDep,
    obs: ObservatoryDep,
    answers: Answers,
    name: str,
    niveau: str = "commune",
    dans: str | None = None,
    periode: str | None = None,
    reference: str | None = None,
    territoire: str | None = None,
) -> Response:
    """The funnel plot of a rate: each territory by its denominator against a reference,
    with the exact control limits (see :mod:`observatoire.engine.funnel`)."""
    obs.catalogue().get(name)  # an unknown indicator is no key of the cache
    question = asked_funnel(obs, niveau, dans, periode, reference, territoire)
    try:  # a refusal is answered, never kept: each distinct one would fill the cache
        data = answers.get(
            ("funnel", name, question, reader),
            lambda: funnel_view(obs, name, reader=reader, question=question),
        )
    except (InputError, ReferentialError) as error:
        data = refused_funnel(obs, name, question, error)
    if fmt == "csv":
        rows = (data.get("funnel") or {}).get("points", [])
        return csv_response(request, pd.DataFrame(rows), f"{name}_entonnoir.csv")
    drawing = ""
    if fmt == "html" and data.get("funnel"):
        drawing = answers.get(
            ("funnel-svg", name, question, reader),
            lambda: funnel_drawing(obs, name, reader=reader, question=question),
        )
    query = request.url.query
    return show_page(request, fmt, "funnel.html", data,
                     f"Entonnoir : {data['indicator']['label']}", drawing=Markup(drawing),
                     drawing_url=f"/indicateurs/{name}/entonnoir/graphique",
                     query=f"?{query}" if query else "")  # fmt: skip


@router.get("/indicateurs/{name}/entonnoir/graphique.{suffix}")
def funnel_file(
    request: Request,
    reader: ReaderDep,
    obs: ObservatoryDep,
    answers: Answers,
    name: str,
    suffix: str,
    niveau: str = "commune",
    dans: str | None = None,
    periode: str | None = None,
    reference: str | None = None,
    territoire: str | None = None,
) -> Response:
    """The funnel plot as a file for a report (SVG or PNG), drawn for the visitor's
    audience."""
    from observatoire.outputs.deck_render import svg_to_png

    if suffix not in ("svg", "png"):
        raise InputError(f"format de graphique « {suffix[:10]} » : svg ou png")
    obs.catalogue().get(name)
    question = asked_funnel(obs, niveau, dans, periode, reference, territoire)
    svg = answers.get(
        ("funnel-svg", name, question, reader),
        lambda: funnel_drawing(obs, name, reader=reader, question=question),
    )
    if not svg:
        raise InputError(f"entonnoir de {name} : aucun territoire placé")
    if suffix == "png":
        body = answers.get(("funnel-png", name, question, reader),
                           lambda: svg_to_png(svg, 1400))  # fmt: skip
        return download(request, body, "image/png", f"{name}_entonnoir.png")
    return download(request, svg.encode("utf-8"), "image/svg+xml", f"{name}_entonnoir.svg")
