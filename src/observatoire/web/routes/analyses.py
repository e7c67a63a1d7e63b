"""The analyst's views across many territories: the funnel plot of an indicator (and its JSON,
CSV and drawing twins), the significance heatmap of a theme (JSON, CSV, PDF, XLSX), the
social gradient, the QPV against the rest of their communes, maps side by side; the
« which levels and periods have data » table is on the indicator page and in the API
(:mod:`observatoire.web.routes.api_views`)."""

from __future__ import annotations

from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from markupsafe import Markup

from observatoire.engine.heatmap import MAX_INDICATORS, Heatmap
from observatoire.errors import InputError, ReferentialError
from observatoire.observatory import Observatory
from observatoire.outputs.heatmap_export import heatmap_cells, heatmap_pdf, heatmap_xlsx
from observatoire.secret.policy import ReadPolicy
from observatoire.web.deps import Answers, ObservatoryDep, ReaderDep
from observatoire.web.funnels import (
    FunnelAsked,
    asked_funnel,
    funnel_drawing,
    funnel_view,
    refused_funnel,
)
from observatoire.web.gradients import asked_gradient, gradient_view, refused_gradient
from observatoire.web.heatmaps import (
    HeatmapAsked,
    asked_heatmap,
    heatmap_title,
    heatmap_view,
    refused_heatmap,
)
from observatoire.web.panels import MODES, asked_panels, panels_figure, panels_view
from observatoire.web.qpv_views import asked_qpv, qpv_frame, qpv_view, refused_qpv
from observatoire.web.responses import Format, csv_response, download, page_route, show_page

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
Maps = Annotated[list[str], Query()]


# -- what each view asks, read once for its page and its files --------------------------------
def _funnel_question(obs: ObservatoryDep, name: str, niveau: str = "commune",
                     dans: str | None = None, periode: str | None = None,
                     reference: str | None = None,
                     territoire: str | None = None) -> FunnelAsked:  # fmt: skip
    obs.catalogue().get(name)  # an unknown indicator is no key of the cache
    return asked_funnel(obs, niveau, dans, periode, reference, territoire)


def _heatmap_question(obs: ObservatoryDep, niveau: str = "commune", dans: str | None = None,
                      theme: str | None = None, indicateurs: Maps = [],  # noqa: B006
                      reference: str | None = None) -> HeatmapAsked:  # fmt: skip
    return asked_heatmap(obs, niveau, dans, theme, indicateurs[:MAX_INDICATORS], reference)


def _panels_query(niveau: str = "commune", dans: str | None = None, mode: str = "cote",
                  carte: Maps = [],  # noqa: B006 (FastAPI's way)
                  debut: str | None = None,
                  fin: str | None = None) -> tuple[Any, ...]:  # fmt: skip
    return niveau, dans, mode, carte, debut, fin


FunnelQuestion = Annotated[FunnelAsked, Depends(_funnel_question)]
HeatmapQuestion = Annotated[HeatmapAsked, Depends(_heatmap_question)]
PanelsQuery = Annotated[tuple[Any, ...], Depends(_panels_query)]


@page_route(router, "/indicateurs/{name}/entonnoir", "json", "csv")
def funnel_page(
    request: Request,
    fmt: Format,
    reader: ReaderDep,
    obs: ObservatoryDep,
    answers: Answers,
    name: str,
    question: FunnelQuestion,
) -> Response:
    """The funnel plot of a rate: each territory by its denominator against a reference,
    with the exact control limits (see :mod:`observatoire.engine.funnel`)."""
    data = answers.get_or_refuse(
        ("funnel", name, question, reader),
        lambda: funnel_view(obs, name, reader=reader, question=question),
        lambda error: refused_funnel(obs, name, question, error),
    )
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
    question: FunnelQuestion,
) -> Response:
    """The funnel plot as a file for a report (SVG or PNG), drawn for the visitor's
    audience."""
    from observatoire.outputs.deck_render import svg_to_png

    if suffix not in ("svg", "png"):
        raise InputError(f"format de graphique « {suffix[:10]} » : svg ou png")
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


@page_route(router, "/ecarts", "json", "csv", "pdf")
def heatmap_page(
    request: Request,
    fmt: Format,
    reader: ReaderDep,
    obs: ObservatoryDep,
    answers: Answers,
    question: HeatmapQuestion,
) -> Response:
    """The significance heatmap: territories × the indicators of a theme, each cell the
    comparison with a reference (see :mod:`observatoire.engine.heatmap`)."""
    try:  # a refusal is answered, never kept
        data = answers.get(("heatmap", question, reader),
                           lambda: heatmap_view(obs, reader=reader, question=question))  # fmt: skip
    except (InputError, ReferentialError) as error:
        if fmt in ("csv", "pdf"):
            raise
        data = refused_heatmap(obs, question, error)
    if fmt in ("csv", "pdf"):
        found = answers.get(("heatmap-frame", question, reader),
                            lambda: _heatmap_of(obs, question, reader))  # fmt: skip
        if fmt == "csv":
            return csv_response(request, heatmap_cells(found), "ecarts.csv")
        body = answers.get(("heatmap-pdf", question, reader), lambda: heatmap_pdf(
            found, title=data["title"], subtitle=_reference_words(data), notice=data["notice"],
        ))  # fmt: skip
        return download(request, body, "application/pdf", "ecarts.pdf")
    query = request.url.query
    return show_page(request, fmt, "heatmap.html", data, data["title"],
                     query=f"?{query}" if query else "")  # fmt: skip


@router.get("/ecarts.xlsx")
def heatmap_workbook(
    request: Request,
    reader: ReaderDep,
    obs: ObservatoryDep,
    answers: Answers,
    question: HeatmapQuestion,
) -> Response:
    """The heatmap as a workbook: the grid coloured as on screen, every cell on its line."""
    found = answers.get(("heatmap-frame", question, reader),
                        lambda: _heatmap_of(obs, question, reader))  # fmt: skip
    body = heatmap_xlsx(found, title=heatmap_title(obs, question))
    media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return download(request, body, media, "ecarts.xlsx")


def _heatmap_of(obs: Observatory, question: HeatmapAsked, reader: ReadPolicy) -> Heatmap:
    level, within, theme, indicators, reference = question
    return obs.views.heatmap(level=level, within=within, theme=theme,
                       indicators=list(indicators) or None, reference=reference,
                       reader=reader)  # fmt: skip


def _reference_words(data: dict[str, Any]) -> str:
    ref = (data.get("heatmap") or {}).get("reference") or {}
    return f"Comparaison avec {ref.get('name', '')}." if ref else ""


@page_route(router, "/indicateurs/{name}/gradient", "json", "csv")
def gradient_page(
    request: Request,
    fmt: Format,
    reader: ReaderDep,
    obs: ObservatoryDep,
    answers: Answers,
    name: str,
    niveau: str = "commune",
    dans: str | None = None,
    selon: str | None = None,
    groupes: Annotated[int, Query(ge=2, le=20)] = 10,
    periode: str | None = None,
) -> Response:
    """The indicator by groups of territories ranked by income (deciles), with the slope and
    relative indices of inequality (see :mod:`observatoire.engine.gradient`)."""
    obs.catalogue().get(name)
    question = asked_gradient(obs, niveau, dans, selon, groupes, periode)
    data = answers.get_or_refuse(
        ("gradient", name, question, reader),
        lambda: gradient_view(obs, name, reader=reader, question=question),
        lambda error: refused_gradient(obs, name, question, error),
    )
    if fmt == "csv":
        rows = (data.get("gradient") or {}).get("groups", [])
        return csv_response(request, pd.DataFrame(rows), f"{name}_gradient.csv")
    shown = data
    if fmt == "json" and data.get("gradient"):  # the drawing is the page's, not the data's
        shown = {**data, "gradient": {k: v for k, v in data["gradient"].items() if k != "drawing"}}
    drawing = Markup((data.get("gradient") or {}).get("drawing", ""))
    title = f"Gradient social : {data['indicator']['label']}"
    return show_page(request, fmt, "gradient.html", shown, title, drawing=drawing)


@page_route(router, "/indicateurs/{name}/qpv", "json", "csv")
def qpv_page(
    request: Request,
    fmt: Format,
    reader: ReaderDep,
    obs: ObservatoryDep,
    answers: Answers,
    name: str,
    dans: str | None = None,
    periode: str | None = None,
) -> Response:
    """Each quartier prioritaire against the rest of its communes, each ensemble of QPV
    against the rest of its département (see :mod:`observatoire.engine.qpv_gaps`)."""
    obs.catalogue().get(name)
    question = asked_qpv(obs, dans, periode)
    data = answers.get_or_refuse(
        ("qpv", name, question, reader),
        lambda: qpv_view(obs, name, reader=reader, question=question),
        lambda error: refused_qpv(obs, name, question, error),
    )
    if fmt == "csv":
        return csv_response(request, qpv_frame(data.get("qpv") or {"quartiers": [],
                            "ensembles": []}), f"{name}_qpv.csv")  # fmt: skip
    shown = data
    if fmt == "json" and data.get("qpv"):  # the drawing is the page's, not the data's
        shown = {**data, "qpv": {k: v for k, v in data["qpv"].items() if k != "drawing"}}
    drawing = Markup((data.get("qpv") or {}).get("drawing", ""))
    title = f"QPV et reste de leurs communes : {data['indicator']['label']}"
    return show_page(request, fmt, "qpv.html", shown, title, drawing=drawing)


@page_route(router, "/cartes", "json")
def panels_page(
    request: Request,
    fmt: Format,
    reader: ReaderDep,
    obs: ObservatoryDep,
    answers: Answers,
    asked: PanelsQuery,
) -> Response:
    """Two to four maps side by side (pan and zoom synced), a bivariate map, or the change
    of an indicator between two periods (see :mod:`observatoire.outputs.panels`)."""
    niveau, dans, mode, carte, debut, fin = asked
    try:
        question = asked_panels(obs, niveau, dans, mode, carte, debut, fin)
        data = answers.get(("panels", question, reader),
                           lambda: panels_view(obs, reader=reader, question=question))  # fmt: skip
    except (InputError, ReferentialError) as error:  # the form, and why
        data = {"reason": str(error), "level": niveau, "within": dans or "", "mode": mode,
                "modes": [{"id": k, "label": v} for k, v in MODES.items()], "maps": carte,
                "start": debut or "", "end": fin or "", "panels": []}  # fmt: skip
    query = request.url.query
    return show_page(request, fmt, "panels.html", data, "Cartes côte à côte",
                     query=f"?{query}" if query else "")  # fmt: skip


@router.get("/cartes.{suffix}")
def panels_file(
    request: Request,
    reader: ReaderDep,
    obs: ObservatoryDep,
    answers: Answers,
    suffix: str,
    asked: PanelsQuery,
) -> Response:
    """The maps as one figure for a report (SVG or PNG), drawn for the visitor's audience."""
    from observatoire.outputs.deck_render import svg_to_png

    if suffix not in ("svg", "png"):
        raise InputError(f"format de figure « {suffix[:10]} » : svg ou png")
    question = asked_panels(obs, *asked)
    svg = answers.get(("panels-svg", question, reader),
                      lambda: panels_figure(obs, reader=reader, question=question))  # fmt: skip
    if suffix == "png":
        body = answers.get(("panels-png", question, reader), lambda: svg_to_png(svg, 1400))
        return download(request, body, "image/png", "cartes.png")
    return download(request, svg.encode("utf-8"), "image/svg+xml", "cartes.svg")
