"""The site's pages, each with its data twin (:func:`~observatoire.web.responses.page_route`):
the home page, the search, the catalogue of indicators (and the open catalogue in DCAT),
comparisons, zonings and dashboards. A route parses, asks :mod:`observatoire.web.content` for
the data (for the visitor's audience, through the answer cache), and renders it. The pages of
an indicator are :mod:`~observatoire.web.routes.indicators`, those of territories
:mod:`~observatoire.web.routes.territories`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from observatoire.errors import InputError, UnknownNameError
from observatoire.outputs.maps import PALETTE
from observatoire.web import content, search, zoning_views
from observatoire.web.deps import (
    Answers,
    CurrentUser,
    ObservatoryDep,
    ReaderDep,
    RegistryDep,
)
from observatoire.web.inventory_views import found_documents, source_view
from observatoire.web.responses import Format, csv_response, download, page_route, show_page

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


@page_route(router, "/", "json")
def home_page(
    request: Request, fmt: Format, reader: ReaderDep, obs: ObservatoryDep, answers: Answers
) -> Response:
    data = answers.get(("home", reader), lambda: content.home(obs, reader=reader))
    return show_page(request, fmt, "home.html", data, data["name"])


@page_route(router, "/recherche", "json")
def search_page(
    request: Request,
    fmt: Format,
    reader: ReaderDep,
    obs: ObservatoryDep,
    answers: Answers,
    user: CurrentUser,
    registry: RegistryDep,
    q: str = "",
) -> Response:
    data = answers.get(("search", q, reader), lambda: search.search(obs, q, reader=reader))
    # the documents and sources found, for this visitor (not cached: the library changes
    # without the statistics changing)
    library: dict[str, Any] = {"documents": [], "sources": []}
    if q.strip():
        found = found_documents(registry, user, q)
        library = {
            "documents": found[:10],
            "documents_count": len(found),
            "sources": [source_view(s, user, obs) for s in registry.sources(q)[:10]],
        }
    return show_page(request, fmt, "search.html", {**data, **library}, f"Recherche « {q} »")


@page_route(router, "/indicateurs", "json")
def catalogue_page(
    request: Request,
    fmt: Format,
    reader: ReaderDep,
    obs: ObservatoryDep,
    answers: Answers,
    q: str = "",
    theme: str = "",
    disponibles: bool = False,
) -> Response:
    data = answers.get(
        ("catalogue", q, theme, disponibles, reader),
        lambda: content.catalogue(obs, reader=reader, query=q, theme=theme, available=disponibles),
    )
    return show_page(request, fmt, "catalogue.html", data, "Catalogue des indicateurs")


@router.get("/catalogue")
@router.get("/catalogue.jsonld")
@router.get("/catalogue.ttl")
@router.get("/catalogue.csv")
def open_catalogue(request: Request, obs: ObservatoryDep, answers: Answers) -> Response:
    """The public catalogue as open metadata: DCAT-AP in JSON-LD (``/catalogue``,
    ``.jsonld``) or Turtle (``.ttl``), or a flat CSV — for harvesters such as data.gouv.fr."""
    from observatoire.catalog.dcat import dumps_jsonld, to_table, to_turtle

    # The public catalogue whoever asks: never a partner's view of it (its own deposits),
    # which a cache keyed without the reader would then serve to everyone.
    base = obs.home.settings.get("url") or str(request.base_url)
    resources = answers.get(("dcat", base), lambda: obs.open_metadata(base))
    path = request.url.path
    if path.endswith(".ttl"):
        return Response(to_turtle(resources), media_type="text/turtle; charset=utf-8")
    if path.endswith(".csv"):
        return csv_response(request, to_table(resources), "catalogue.csv")
    return Response(dumps_jsonld(resources), media_type="application/ld+json")


@page_route(router, "/comparer", "json")
def compare_page(
    request: Request,
    fmt: Format,
    reader: ReaderDep,
    obs: ObservatoryDep,
    answers: Answers,
    territoires: str = "",
    indicateurs: Annotated[list[str] | None, Query()] = None,
) -> Response:
    """Territories (comma-separated: ``93066, 93008, departement:93``) × indicators."""
    places = [t.strip() for t in territoires.split(",") if t.strip()]
    chosen = [i for i in (indicateurs or []) if i]
    if len(places) > 12 or len(chosen) > 30:
        raise InputError("comparaison limitée à 12 territoires et 30 indicateurs")
    data = answers.get(
        ("compare", tuple(places), tuple(chosen), reader),
        lambda: content.compare_view(obs, places, chosen, reader=reader),
    )
    return show_page(request, fmt, "compare.html", data, "Comparer des territoires")


@page_route(router, "/zonages", "json")
def zonings_page(request: Request, fmt: Format, obs: ObservatoryDep, answers: Answers) -> Response:
    data = answers.get(("zonings",), lambda: zoning_views.zonings_view(obs))
    return show_page(request, fmt, "zonings.html", data, "Zonages")


@page_route(router, "/zonages/{name}", "json", "csv")
def zoning_page(
    request: Request, fmt: Format, name: str, obs: ObservatoryDep, answers: Answers
) -> Response:
    data = answers.get(("zoning", name), lambda: zoning_views.zoning_view(obs, name))
    label = data["zoning"].get("label") or name
    return show_page(request, fmt, "zoning.html", data, label, map_data=_zones_map(name, data))


def _zones_map(name: str, data: dict[str, Any]) -> dict[str, Any]:
    """Map of the zones, one colour each; the tooltip gives the population."""
    zones = data["zones"]
    return {
        "geometries": f"/api/v1/geometries/{name}",
        "unit": "hab.",
        "breaks": [],
        "colours": [PALETTE[i % len(PALETTE)] for i in range(len(zones))],
        "values": {
            z["code"]: {"name": z["name"], "value": z["population"], "class": i, "status": "ok"}
            for i, z in enumerate(zones)
        },
    }


@page_route(router, "/tableaux-de-bord", "json")
def dashboards_page(
    request: Request, fmt: Format, obs: ObservatoryDep, answers: Answers
) -> Response:
    """The observatory's dashboards and the default one of each theme."""
    from observatoire.outputs.dashboard import dashboard_specs

    def listed() -> dict[str, Any]:
        return {
            "dashboards": [
                {
                    "id": s.id,
                    "title": s.title,
                    "description": s.description,
                    "tiles": len(s.tiles),
                    "origin": s.origin,
                }
                for s in dashboard_specs(obs)
            ]
        }

    data = answers.get(("dashboards",), listed)
    return show_page(request, fmt, "dashboards.html", data, "Tableaux de bord")


@page_route(router, "/tableaux-de-bord/{name}", "json", "pdf")
def dashboard_page(
    request: Request,
    fmt: Format,
    reader: ReaderDep,
    obs: ObservatoryDep,
    answers: Answers,
    name: str,
    territoire: str | None = None,
    page: int = Query(1, ge=1, le=10_000),
) -> Response:
    """One dashboard for a territory (the observatory's by default): HTML, ``.json``, or
    ``.pdf`` (A4 landscape), for the visitor's audience; ``page``: of its table tiles."""
    from dataclasses import asdict

    from observatoire.outputs.dashboard import build_dashboard, dashboard_html, find_spec
    from observatoire.outputs.portrait_render import html_to_pdf

    # a name holds no dot: what follows one is a format (« x.y.json »: format « y.json »)
    stem, _, suffix = (name if fmt == "html" else f"{name}.{fmt}").partition(".")
    fmt = suffix or "html"
    if fmt not in ("html", "json", "pdf"):
        raise UnknownNameError("format", fmt, ["html", "json", "pdf"])
    key = ("dashboard", stem, territoire, reader)
    board = answers.get(
        key,
        lambda: build_dashboard(
            obs, find_spec(obs, stem), territory=territoire or None, reader=reader
        ),
    )
    if fmt == "pdf":
        body = answers.get((*key, "pdf"), lambda: html_to_pdf(dashboard_html(board)))
        return download(request, body, "application/pdf", f"tableau_{stem}.pdf")
    query = f"?territoire={territoire}" if territoire else ""
    data = {"dashboard": asdict(board), "territory_query": territoire or "", "query": query,
            "page": page}  # fmt: skip
    return show_page(request, fmt, "dashboard.html", data, board.spec.title)
