"""The API of the analyst's views (under ``/api/v1``): which levels and periods an indicator
has data for, and its funnel plot — read for the caller's audience, as every answer."""

from __future__ import annotations

from typing import Annotated, Literal

import pandas as pd
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from observatoire.web import content
from observatoire.web.deps import Answers, ObservatoryDep, ReaderDep
from observatoire.web.funnels import asked_funnel, funnel_data
from observatoire.web.responses import csv_response, respond
from observatoire.web.schemas import CSV_ANSWER
from observatoire.web.schemas_views import AvailabilityPublic, FunnelPublic

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["api"])
Format = Annotated[Literal["json", "csv"], Query(description="json ou csv")]


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
    frame = obs.availability(ident, reader=reader)
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
    within: Annotated[str | None, Query(description="Territoire englobant : « 93 »…")] = None,
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
        **funnel_data(obs.funnel(ident, level=lvl, within=scope, period=when, reference=ref,
                                 reader=reader)),
        "indicator": ident, "level": lvl,
        "within": f"{scope[0]}:{scope[1]}" if scope else None,
    })  # fmt: skip
    if format == "csv":
        return csv_response(request, pd.DataFrame(data["points"]), f"{ident}_entonnoir.csv")
    return respond(request, data)
