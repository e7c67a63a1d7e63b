"""The API of the analyst's views (under ``/api/v1``): which levels and periods an indicator
has data for, its funnel plot, the significance heatmap of a theme, its social gradient, its
QPV against the rest of their communes — read for the caller's audience, as every answer."""

from __future__ import annotations

from typing import Annotated

import pandas as pd
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from observatoire.engine.heatmap import MAX_INDICATORS
from observatoire.outputs.heatmap_export import heatmap_cells
from observatoire.web import content
from observatoire.web.asked import spelled
from observatoire.web.deps import Answers, Format, ObservatoryDep, ReaderDep, Within
from observatoire.web.funnels import asked_funnel, funnel_data
from observatoire.web.gradients import asked_gradient, gradient_data
from observatoire.web.heatmaps import asked_heatmap, heatmap_data
from observatoire.web.qpv_views import asked_qpv, qpv_data, qpv_frame
from observatoire.web.responses import csv_response, respond
from observatoire.web.schemas import CSV_ANSWER
from observatoire.web.schemas_views import (
    AvailabilityPublic,
    FunnelPublic,
    GradientPublic,
    HeatmapPublic,
    QpvGapsPublic,
)

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["api"])


@router.get(
    "/indicators/{ident}/availability",
    summary="Niveaux et périodes disponibles pour un indicateur",
    response_model=AvailabilityPublic,
    responses=CSV_ANSWER,
)
def availability(request: Request, reader: ReaderDep, obs: ObservatoryDep, ident: str,
                 format: Format = "json") -> Response:  # fmt: skip
    """For each level and period, how many territories the indicator has a value for (as
    the caller may see them: cells under secret for it count as secret)."""
    frame = obs.views.availability(ident, reader=reader)
    if format == "csv":
        return csv_response(request, frame, f"{ident}_disponibilite.csv")
    return respond(request, {"indicator": ident, "rows": content.records(frame)})


@router.get(
    "/indicators/{ident}/funnel",
    summary="Graphique en entonnoir d'un taux (limites de contrôle exactes)",
    response_model=FunnelPublic,
    responses=CSV_ANSWER,
)
def funnel(
    request: Request,
    reader: ReaderDep,
    obs: ObservatoryDep,
    answers: Answers,
    ident: str,
    level: str = "commune",
    within: Within = None,
    period: str | None = None,
    reference: Annotated[
        str | None, Query(description="Territoire de référence, ou « ensemble »")
    ] = None,
    format: Format = "json",
) -> Response:
    """Each territory of ``level`` inside ``within`` placed by the size of its denominator
    against ``reference`` (by default ``within``, else France), with the exact 95 % and
    99.8 % control limits; the territories not placed, with the reason. Only for a rate on
    counts (its confidence interval is ``wilson`` or ``poisson``)."""
    obs.catalogue().get(ident)
    lvl, scope, when, ref, _ = asked_funnel(obs, level, within, period, reference, None)
    data = answers.get(("funnel-api", ident, lvl, scope, when, ref, reader), lambda: {
        **funnel_data(obs.views.funnel(ident, level=lvl, within=scope, period=when, reference=ref,
                                 reader=reader)),
        "indicator": ident, "level": lvl,
        "within": spelled(scope) or None,
    })  # fmt: skip
    if format == "csv":
        return csv_response(request, pd.DataFrame(data["points"]), f"{ident}_entonnoir.csv")
    return respond(request, data)


@router.get(
    "/heatmap",
    summary="Tableau des écarts significatifs (territoires × indicateurs d'un thème)",
    response_model=HeatmapPublic,
    responses=CSV_ANSWER,
)
def heatmap(
    request: Request,
    reader: ReaderDep,
    obs: ObservatoryDep,
    answers: Answers,
    level: str = "commune",
    within: Within = None,
    theme: Annotated[str | None, Query(description="Thème (par défaut : social)")] = None,
    indicators: Annotated[list[str], Query(description="Indicateurs au lieu d'un thème")] = [],  # noqa: B006
    reference: Annotated[str | None, Query(description="Territoire de référence")] = None,
    format: Format = "json",
) -> Response:
    """Each territory of ``level`` inside ``within`` compared with ``reference`` for each
    rate, share or median of ``theme`` (or the ``indicators`` listed): significantly more
    or less favourable, not significantly different, not testable; with ``format=csv``,
    one line per cell."""
    question = asked_heatmap(obs, level, within, theme, indicators[:MAX_INDICATORS], reference)
    lvl, scope, chosen, listed, ref = question
    found = answers.get(("heatmap-frame", question, reader), lambda: obs.views.heatmap(
        level=lvl, within=scope, theme=chosen, indicators=list(listed) or None, reference=ref,
        reader=reader,
    ))  # fmt: skip
    if format == "csv":
        return csv_response(request, heatmap_cells(found), "ecarts.csv")
    return respond(request, heatmap_data(found))


@router.get(
    "/indicators/{ident}/gradient",
    summary="Gradient social d'un indicateur (déciles de niveau de vie, SII et RII)",
    response_model=GradientPublic,
    responses=CSV_ANSWER,
)
def gradient(
    request: Request,
    reader: ReaderDep,
    obs: ObservatoryDep,
    answers: Answers,
    ident: str,
    level: str = "commune",
    within: Within = None,
    by: Annotated[str | None, Query(description="Indicateur de classement")] = None,
    groups: Annotated[int, Query(ge=2, le=20, description="Groupes (10 : déciles)")] = 10,
    period: str | None = None,
    format: Format = "json",
) -> Response:
    """The indicator by groups of equal population of the territories of ``level`` ranked
    from the least to the most favoured by ``by`` (the median standard of living), with the
    slope (SII) and relative (RII) indices of inequality and their 95 % intervals."""
    obs.catalogue().get(ident)
    question = asked_gradient(obs, level, within, by, groups, period)
    lvl, scope, ranking, count, when = question
    data = answers.get(("gradient-api", ident, question, reader), lambda: gradient_data(
        obs.views.gradient(ident, level=lvl, within=scope, by=ranking, groups=count, period=when,
                     reader=reader)))  # fmt: skip
    if format == "csv":
        return csv_response(request, pd.DataFrame(data["groups"]), f"{ident}_gradient.csv")
    return respond(request, data)


@router.get(
    "/indicators/{ident}/qpv",
    summary="Les QPV et le reste de leurs communes ; l'ensemble des QPV et le département",
    response_model=QpvGapsPublic,
    responses=CSV_ANSWER,
)
def qpv(
    request: Request,
    reader: ReaderDep,
    obs: ObservatoryDep,
    answers: Answers,
    ident: str,
    within: Within = None,
    period: str | None = None,
    format: Format = "json",
) -> Response:
    """Each quartier prioritaire inside ``within`` (a département, a région) against the rest
    of its communes (their counts minus those of their QPV, same period), each ensemble of
    QPV against the rest of its département; the reason where the rest cannot be counted."""
    obs.catalogue().get(ident)
    scope, when = question = asked_qpv(obs, within, period)
    data = answers.get(("qpv-api", ident, question, reader), lambda: qpv_data(
        obs.views.qpv_gaps(ident, within=scope, period=when, reader=reader)))  # fmt: skip
    if format == "csv":
        return csv_response(request, qpv_frame(data), f"{ident}_qpv.csv")
    return respond(request, data)
