"""The API under ``/api/v1`` (OpenAPI at ``/api/v1/openapi.json``, browsable at
``/api/v1/docs``): territories, zonings, indicators, values, geometries. JSON by default, CSV
for tables with ``format=csv``; an ETag on every answer. Values are read for the caller's
audience: what leaves has passed the secret rules. Each answer is documented by its model
(:mod:`observatoire.web.schemas`)."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from observatoire.errors import InputError
from observatoire.observatory import Observatory
from observatoire.outputs.exports import FORMATS as EXPORT_FORMATS
from observatoire.secret.policy import ReadPolicy
from observatoire.web import content
from observatoire.web.deps import Answers, Format, Limit, ObservatoryDep, Offset, ReaderDep, Within
from observatoire.web.projections import asked, projection_data
from observatoire.web.responses import cached_response, download, paged, respond
from observatoire.web.schemas import (
    CSV_ANSWER,
    CataloguePublic,
    ComparisonsPublic,
    GeoJSONResponse,
    GeometriesPublic,
    IndicatorPublic,
    ProfilePublic,
    ProjectionPublic,
    TerritoriesPublic,
    TerritoryPublic,
    ValuesPublic,
    VariablePublic,
    VariableValuesPublic,
    ZoningPublic,
    file_answer,
)

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["api"])


@router.get(
    "/territories",
    summary="Territoires d'un niveau",
    response_model=TerritoriesPublic,
    responses=CSV_ANSWER,
)
def territories(
    request: Request,
    obs: ObservatoryDep,
    level: str = "departement",
    within: Within = None,
    limit: Limit = 1000,
    offset: Offset = 0,
    format: Format = "json",
) -> Response:
    scope = obs.geography.resolve(within, below=level) if within else None
    frame = obs.geography.territories(level=level, within=scope)
    return paged(request, content.records(frame), limit, offset, format, f"territoires_{level}")


@router.get(
    "/territories/{level}/{code}",
    summary="Un territoire, ses parents et enfants",
    response_model=TerritoryPublic,
)
def territory(request: Request, obs: ObservatoryDep, level: str, code: str) -> Response:
    return respond(request, obs.geography.card(level, code))


@router.get(
    "/territories/{level}/{code}/indicators",
    summary="Tous les indicateurs d'un territoire",
    response_model=ProfilePublic,
    responses=CSV_ANSWER,
)
def profile(
    request: Request,
    reader: ReaderDep,
    obs: ObservatoryDep,
    level: str,
    code: str,
    format: Format = "json",
) -> Response:
    frame = obs.profile(f"{level}:{code}", reader=reader)
    rows = content.records(frame)
    return paged(request, rows, max(len(rows), 1), 0, format, f"profil_{level}_{code}")


@router.get(
    "/zonings",
    summary="Zonages propres et leur version en vigueur",
    response_model=list[ZoningPublic],
)
def zonings(request: Request, obs: ObservatoryDep) -> Response:
    return respond(request, content.records(obs.geography.zonings()))


@router.get(
    "/indicators",
    summary="Catalogue des indicateurs (recherche sans accents)",
    response_model=CataloguePublic,
)
def indicators(
    request: Request,
    reader: ReaderDep,
    obs: ObservatoryDep,
    q: str = "",
    theme: str = "",
    available: bool = False,
) -> Response:
    data = content.catalogue(obs, reader=reader, query=q, theme=theme, available=available)
    return respond(request, data)


@router.get(
    "/indicators/{ident}", summary="Métadonnées d'un indicateur", response_model=IndicatorPublic
)
def indicator(request: Request, reader: ReaderDep, obs: ObservatoryDep, ident: str) -> Response:
    data = content.indicator_meta(obs.catalogue().get(ident))
    data["levels"] = obs.available(reader=reader).get(ident, [])
    return respond(request, data)


@router.get(
    "/indicators/{ident}/values",
    summary="Valeurs d'un indicateur",
    response_model=ValuesPublic,
    responses=CSV_ANSWER,
)
def values(
    request: Request,
    reader: ReaderDep,
    obs: ObservatoryDep,
    answers: Answers,
    ident: str,
    level: str = "commune",
    within: Within = None,
    period: str | None = None,
    compare: Annotated[
        str | None,
        Query(description="Référence : epci, departement, region, pays, strate, ou un territoire"),
    ] = None,
    at: Annotated[
        str | None,
        Query(description="Zonage propre : ses zones en vigueur à cette date (AAAA-MM-JJ)"),
    ] = None,
    limit: Limit = 1000,
    offset: Offset = 0,
    format: Format = "json",
) -> Response:
    """Values for every territory of ``level`` (inside ``within``): code, name, period,
    value, status, coverage, ci_low, ci_high, note, and the comparison columns when
    ``compare`` is given. For a custom zoning, ``at`` gives the zones of the version in
    force that day (without ``compare``)."""
    scope = obs.geography.resolve(within, below=level) if within else None
    if at is not None and compare:
        raise InputError("at : les comparaisons portent sur la version en vigueur du zonage")
    key = ("values", ident, level, within, period, compare, at, reader)
    rows = answers.get(key, lambda: _values(obs, ident, level, scope, period, compare,
                                            reader, at))  # fmt: skip
    return paged(request, rows, limit, offset, format, f"{ident}_{level}")


def _values(
    obs: Observatory,
    ident: str,
    level: str,
    scope: tuple[str, str] | None,
    period: str | None,
    compare: str | None,
    reader: ReadPolicy,
    at: str | None = None,
) -> list[dict[str, Any]]:
    if at is not None:  # the zones of that day (provenance given for today's only)
        frame = obs.indicator(ident, level=level, within=scope, period=period,
                              reader=reader, at=at)  # fmt: skip
    elif compare:
        frame = obs.compare(
            ident,
            level=level,
            reference=compare,
            within=scope,
            period=period,
            reader=reader,
        )
    else:
        frame = obs.indicator(
            ident, level=level, within=scope, period=period, reader=reader,
            provenance=True,
        )  # fmt: skip
    return content.records(frame)


@router.get(
    "/indicators/{ident}/projection",
    summary="Projection d'un indicateur et erreur mesurée de chaque méthode",
    response_model=ProjectionPublic,
    responses=CSV_ANSWER,
)
def projection(
    request: Request,
    reader: ReaderDep,
    obs: ObservatoryDep,
    answers: Answers,
    ident: str,
    level: str = "commune",
    within: Within = None,
    to: Annotated[str | None, Query(description="Année d'arrivée (ex. 2026)")] = None,
    method: Annotated[
        str | None, Query(description="constant, linear, loglinear ou damped")
    ] = None,
    limit: Limit = 1000,
    offset: Offset = 0,
    format: Format = "json",
) -> Response:
    """The indicator projected for every territory of ``level`` (inside ``within``) to the
    year ``to``, with its prediction interval; the error of every method measured on the
    base (its back-test). Refused, with the reason, beyond the horizon the history supports
    or where the error cannot be measured."""
    lvl, scope, period, chosen = asked(obs, level, within, to, method)
    obs.catalogue().get(ident)  # an unknown indicator is no key of the cache
    key = ("projection-api", ident, lvl, scope, period, chosen, reader)
    data = answers.get(key, lambda: projection_data(obs.projection(
        ident, level=lvl, within=scope, to=period, method=chosen, reader=reader,
    )))  # fmt: skip
    rows = data["values"]
    if format == "csv":
        return paged(request, rows, limit, offset, format, f"{ident}_projection")
    following = None
    if offset + limit < len(rows):
        following = str(request.url.include_query_params(offset=offset + limit))
    meta = {k: v for k, v in data.items() if k != "values"}
    return respond(request, {**meta, "count": len(rows), "limit": limit, "offset": offset,
                             "next": following, "rows": rows[offset : offset + limit]})  # fmt: skip


@router.get(
    "/indicators/{ident}/export",
    summary="Export d'un indicateur (fichier)",
    response_class=Response,
    responses=file_answer(*(media for _, media, _ in EXPORT_FORMATS.values())),
)
def export(
    request: Request,
    reader: ReaderDep,
    answers: Answers,
    obs: ObservatoryDep,
    ident: str,
    format: Annotated[
        Literal["csv", "csv-plain", "xlsx", "parquet", "geojson", "gpkg"],
        Query(description="csv (tableur français), csv-plain, xlsx, parquet, geojson, gpkg"),
    ] = "csv",
    level: str = "commune",
    within: Within = None,
    period: str | None = None,
    wide: Annotated[
        bool,
        Query(description="une ligne par territoire, une colonne par période, références en tête"),
    ] = False,
) -> Response:
    """Every value of an indicator at ``level`` (inside ``within``) as a file, with its
    metadata (a sheet of the XLSX, Parquet key-value metadata, a GeoJSON member, a GeoPackage
    table). The caller's rights and secret apply. ``wide``: territories × periods."""
    from observatoire.outputs.indicator_export import export_indicator

    done = answers.get(
        ("export", ident, format, level, within, period, reader, wide),
        lambda: export_indicator(
            obs,
            ident,
            format,
            level=level,
            within=within,
            period=period,
            reader=reader,
            wide=wide,
        ),
    )
    return download(request, done.body, done.media_type, done.filename)


@router.get(
    "/comparisons",
    summary="Plusieurs territoires × plusieurs indicateurs",
    response_model=ComparisonsPublic,
    responses=CSV_ANSWER,
)
def comparisons(
    request: Request,
    reader: ReaderDep,
    answers: Answers,
    obs: ObservatoryDep,
    territories: Annotated[
        str,
        Query(description="Territoires séparés par des virgules : « 93066,93008,departement:93 »"),
    ],
    indicators: Annotated[list[str], Query(description="Indicateurs (paramètre répété)")],
    format: Format = "json",
) -> Response:
    """One row per (indicator, territory): the latest period known for every territory chosen
    (else the territory's own latest), its value, status and 95 % interval. At most 12
    territories and 30 indicators."""
    places = [t.strip() for t in territories.split(",") if t.strip()]
    chosen = [i for i in indicators if i]
    if not places or not chosen or len(places) > 12 or len(chosen) > 30:
        raise InputError("de 1 à 12 territoires et de 1 à 30 indicateurs")
    data = answers.get(
        ("compare", tuple(places), tuple(chosen), reader),
        lambda: content.compare_view(obs, places, chosen, reader=reader),
    )
    rows = [
        {
            "indicator": ind["id"],
            "label": ind["label"],
            "unit": ind["unit"],
            "level": place["level"],
            "code": place["code"],
            "name": place["name"],
            **{k: cell.get(k) for k in ("period", "value", "status", "ci_low", "ci_high")},
        }
        for ind in data["indicators"]
        for place, cell in zip(data["territories"], ind["cells"], strict=True)
    ]
    return paged(request, rows, len(rows) or 1, 0, format, "comparaison")


@router.get(
    "/geometries/{level}",
    summary="Contours simplifiés (GeoJSON, EPSG:4326)",
    response_model=GeometriesPublic,
    response_class=GeoJSONResponse,
)
def geometries(
    request: Request, obs: ObservatoryDep, answers: Answers, level: str, within: Within = None
) -> Response:
    scope = obs.geography.resolve(within, below=level) if within else None

    def build() -> bytes:
        frame = obs.geography.geometries(level=level, within=scope)[["code", "name", "geometry"]]
        return json.dumps(json.loads(frame.to_json(drop_id=True)), separators=(",", ":")).encode()

    body = answers.get(("geometries", level, scope), build)
    return cached_response(request, body, "application/geo+json", 3600)


@router.get(
    "/variables",
    summary="Variables importées (source.CODE)",
    response_model=list[VariablePublic],
)
def variables(request: Request, obs: ObservatoryDep, source: str | None = None) -> Response:
    return respond(request, content.records(obs.variables(source=source)))


@router.get(
    "/variables/{name}/values",
    summary="Valeurs importées d'une variable",
    response_model=VariableValuesPublic,
    responses=CSV_ANSWER,
)
def variable_values(
    request: Request,
    reader: ReaderDep,
    obs: ObservatoryDep,
    name: str,
    level: str = "commune",
    within: Within = None,
    period: str | None = None,
    limit: Limit = 1000,
    offset: Offset = 0,
    format: Format = "json",
) -> Response:
    """Raw values as imported; refused to an audience when the variable is under secret or
    comes from a dataset it may not see (read the indicator instead)."""
    scope = obs.geography.resolve(within, below=level) if within else None
    frame = obs.values(name, level=level, within=scope, period=period, reader=reader)
    return paged(request, content.records(frame), limit, offset, format, name)
