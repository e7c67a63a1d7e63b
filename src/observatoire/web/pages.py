"""The HTML pages, each with its data twin: the same URL ending in ``.json`` (and ``.csv`` for
a table), as datasette does. A route parses, asks :mod:`observatoire.web.content` for the
data (for the visitor's audience), and renders it."""

from __future__ import annotations

from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup

from observatoire.errors import InputError, UnknownNameError
from observatoire.observatory import Observatory
from observatoire.outputs.charts import line_chart
from observatoire.outputs.maps import PALETTE
from observatoire.outputs.palettes import colours
from observatoire.outputs.thematic import status_style
from observatoire.stats.classify import breaks, classify, parse_breaks
from observatoire.web import auth, content
from observatoire.web.app import answer, cached_response, csv_response, download, respond
from observatoire.web.auth import audience_of, csrf_token, set_csrf_cookie, viewer

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
Reader = Annotated[auth.Reader, Depends(audience_of)]
FORMATS = ("html", "json", "csv")


def _obs(request: Request) -> Observatory:
    return auth.observatory_for(request)


def _split(name: str) -> tuple[str, str]:
    """``rsa.json`` → (``rsa``, ``json``); a name without a known suffix is HTML."""
    stem, dot, suffix = name.rpartition(".")
    if dot and suffix in FORMATS[1:]:
        return stem, suffix
    return name, "html"


def _render(
    request: Request, template: str, data: dict[str, Any], fmt: str, title: str, **extra: Any
) -> Response:
    if fmt == "json":
        return respond(request, data)
    if fmt != "html":
        raise InputError(f"format {fmt} non proposé pour cette page (html, json)")
    return render_page(request, template, data, title, **extra)


def render_page(
    request: Request,
    template: str,
    data: dict[str, Any],
    title: str,
    *,
    status: int = 200,
    **extra: Any,
) -> HTMLResponse:
    """A page of the site: the observatory, the visitor, a CSRF token for its forms."""
    site = answer(request, ("site",), lambda: content.site(_obs(request)))
    token, new = csrf_token(request)
    user = viewer(request)
    templates = request.app.state.templates
    html = templates.get_template(template).render(
        request=request,
        site=site,
        data=data,
        title=title,
        json_url=_twin(request, "json"),
        csv_url=_twin(request, "csv"),
        user=user,
        csrf=token,
        **extra,
    )
    response = HTMLResponse(html, status_code=status)
    if new:
        set_csrf_cookie(request, response, token)
    # a signed-in visitor's pages are its own: never kept by a shared cache
    response.headers["Cache-Control"] = "private, no-store" if user else "no-cache"
    return response


def _twin(request: Request, suffix: str) -> str:
    """The URL of this page's ``suffix`` twin (same query)."""
    path = request.url.path.rstrip("/") or "/index"
    query = f"?{request.url.query}" if request.url.query else ""
    return f"{path}.{suffix}{query}"


@router.get("/", response_class=HTMLResponse)
@router.get("/index.json")
def home_page(request: Request, reader: Reader) -> Response:
    fmt = "json" if request.url.path.endswith(".json") else "html"
    data = answer(
        request, ("home", reader), lambda: content.home(_obs(request), audience=reader.value)
    )
    return _render(request, "home.html", data, fmt, data["name"])


@router.get("/recherche")
@router.get("/recherche.json")
def search_page(request: Request, reader: Reader, q: str = "") -> Response:
    fmt = "json" if request.url.path.endswith(".json") else "html"
    data = answer(
        request,
        ("search", q, reader),
        lambda: content.search(_obs(request), q, audience=reader.value),
    )
    return _render(
        request, "search.html", {**data, **_inventory_hits(request, q)}, fmt, f"Recherche « {q} »"
    )


def _inventory_hits(request: Request, query: str) -> dict[str, Any]:
    """The documents and sources a search finds, for this visitor (not cached: the library
    changes without the statistics changing)."""
    from observatoire.web.inventory import found_documents, registry_of, source_view

    if not query.strip():
        return {"documents": [], "sources": []}
    found = found_documents(request, query)
    user = viewer(request)
    return {
        "documents": found[:10],
        "documents_count": len(found),
        "sources": [
            source_view(request, s, user) for s in registry_of(request).sources(query)[:10]
        ],
    }


@router.get("/indicateurs")
@router.get("/indicateurs.json")
def catalogue_page(
    request: Request, reader: Reader, q: str = "", theme: str = "", disponibles: bool = False
) -> Response:
    fmt = "json" if request.url.path.endswith(".json") else "html"
    data = answer(
        request,
        ("catalogue", q, theme, disponibles, reader),
        lambda: content.catalogue(
            _obs(request), audience=reader.value, query=q, theme=theme, available=disponibles
        ),
    )
    return _render(request, "catalogue.html", data, fmt, "Catalogue des indicateurs")


@router.get("/catalogue")
@router.get("/catalogue.jsonld")
@router.get("/catalogue.ttl")
@router.get("/catalogue.csv")
def open_catalogue(request: Request) -> Response:
    """The public catalogue as open metadata: DCAT-AP in JSON-LD (``/catalogue``,
    ``.jsonld``) or Turtle (``.ttl``), or a flat CSV — for harvesters such as data.gouv.fr."""
    from observatoire.catalog.dcat import dumps_jsonld, to_table, to_turtle

    # The public catalogue whoever asks: never a partner's view of it (its own deposits),
    # which a cache keyed without the reader would then serve to everyone.
    obs: Observatory = request.app.state.observatory
    base = obs.home.settings.get("url") or str(request.base_url)
    resources = answer(request, ("dcat", base), lambda: obs.open_metadata(base))
    path = request.url.path
    if path.endswith(".ttl"):
        return Response(to_turtle(resources), media_type="text/turtle; charset=utf-8")
    if path.endswith(".csv"):
        return csv_response(request, to_table(resources), "catalogue.csv")
    return Response(dumps_jsonld(resources), media_type="application/ld+json")


@router.get("/indicateurs/{name}")
def indicator_page(
    request: Request,
    reader: Reader,
    name: str,
    niveau: str | None = None,
    dans: str | None = None,
    periode: str | None = None,
    reference: str = "departement",
    classes: Annotated[int, Query(ge=2, le=9)] = 5,
    methode: str = "quantiles",
    palette: str = "sequentielle",
    seuils: str = "",
    symboles: str = "",
) -> Response:
    ident, fmt = _split(name)
    manual = parse_breaks(seuils) if seuils.strip() else ()
    key = ("indicator", ident, niveau, dans, periode, reference, methode, classes, palette, manual)
    data = answer(
        request,
        (*key, reader),
        lambda: content.indicator_view(
            _obs(request),
            ident,
            audience=reader.value,
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
        return csv_response(request, _values_table(data), f"{ident}.csv")
    chart = ""
    if fmt == "html" and data.get("series"):
        unit = data["indicator"]["unit"]
        chart = line_chart(
            data["series"], title=f"Évolution : {data['indicator']['label']}", unit=unit
        )
    return _render(
        request,
        "indicator.html",
        data,
        fmt,
        data["indicator"]["label"],
        chart=Markup(chart),
        map_data=_map_data(
            data, _symbols(_obs(request), ident, {"true": True, "false": False}.get(symboles))
        ),
        map_file_url=f"/indicateurs/{ident}/carte",
        map_query=_map_query(data, classes, seuils, symboles),
        exports=_exports(ident, data),
        library=_library(request, indicator=ident) if fmt == "html" else [],
    )


def _exports(ident: str, data: dict[str, Any]) -> list[dict[str, str]]:
    """Download links of the page's values in every export format."""
    from urllib.parse import urlencode

    from observatoire.outputs.exports import FORMATS

    within = data.get("within")
    base = {"niveau": data.get("level", "")}
    if within:
        base["dans"] = f"{within['level']}:{within['code']}"
    return [
        {"label": label, "url": f"/indicateurs/{ident}/export?" + urlencode({**base, "format": f})}
        for f, (_, _, label) in FORMATS.items()
    ]


def _map_query(data: dict[str, Any], classes: int, seuils: str, symboles: str = "") -> str:
    """The query of the page's map as a file: the same level, territory, period and classes."""
    from urllib.parse import urlencode

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
    reader: Reader,
    name: str,
    suffix: str,
    niveau: str = "commune",
    dans: str | None = None,
    periode: str | None = None,
    classes: Annotated[int, Query(ge=2, le=9)] = 5,
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
        audience=reader.value,
    )

    def draw() -> bytes:
        with tempfile.TemporaryDirectory() as folder:
            target = Path(folder) / f"carte.{suffix}"
            draw_indicator_map(_obs(request), wanted, [target])
            return target.read_bytes()

    body = answer(request, ("map-file", wanted, suffix, reader), draw)
    media = "image/svg+xml" if suffix == "svg" else "image/png"
    return download(request, body, media, f"{name}_{niveau}.{suffix}")


@router.get("/indicateurs/{name}/export")
def indicator_export_file(
    request: Request,
    reader: Reader,
    name: str,
    format: str = "csv",
    niveau: str = "commune",
    dans: str | None = None,
    periode: str | None = None,
) -> Response:
    """The values of the indicator page as a file (every format of
    :mod:`observatoire.outputs.exports`), for the visitor's audience."""
    from observatoire.outputs.indicator_export import export_indicator

    key = ("export", name, format, niveau, dans, periode, reader)
    done = answer(
        request,
        key,
        lambda: export_indicator(
            _obs(request),
            name,
            format,
            level=niveau,
            within=dans or None,
            period=periode or None,
            audience=reader.value,
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


@router.get("/comparer")
@router.get("/comparer.json")
def compare_page(
    request: Request,
    reader: Reader,
    territoires: str = "",
    indicateurs: Annotated[list[str] | None, Query()] = None,
) -> Response:
    """Territories (comma-separated: ``93066, 93008, departement:93``) × indicators."""
    fmt = "json" if request.url.path.endswith(".json") else "html"
    places = [t.strip() for t in territoires.split(",") if t.strip()]
    chosen = [i for i in (indicateurs or []) if i]
    if len(places) > 12 or len(chosen) > 30:
        raise InputError("comparaison limitée à 12 territoires et 30 indicateurs")
    data = answer(
        request,
        ("compare", tuple(places), tuple(chosen), reader),
        lambda: content.compare_view(_obs(request), places, chosen, audience=reader.value),
    )
    return _render(request, "compare.html", data, fmt, "Comparer des territoires")


@router.get("/zonages")
@router.get("/zonages.json")
def zonings_page(request: Request) -> Response:
    fmt = "json" if request.url.path.endswith(".json") else "html"
    data = answer(request, ("zonings",), lambda: content.zonings_view(_obs(request)))
    return _render(request, "zonings.html", data, fmt, "Zonages")


@router.get("/zonages/{name}")
def zoning_page(request: Request, name: str) -> Response:
    ident, fmt = _split(name)
    data = answer(request, ("zoning", ident), lambda: content.zoning_view(_obs(request), ident))
    label = data["zoning"].get("label") or ident
    return _render(request, "zoning.html", data, fmt, label, map_data=_zones_map(ident, data))


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


@router.get("/territoires/{level}/{name}")
def territory_page(request: Request, reader: Reader, level: str, name: str) -> Response:
    code, fmt = _split(name)
    data = answer(
        request,
        ("territory", level, code, reader),
        lambda: content.territory_view(_obs(request), level, code, audience=reader.value),
    )
    map_data = None
    if fmt == "html":
        map_data = answer(
            request, ("children-map", level, code), lambda: _children_map(_obs(request), data)
        )
    return _render(
        request,
        "territory.html",
        data,
        fmt,
        data["territory"]["name"],
        map_data=map_data,
        library=_library(request, territory=f"{level}:{code}") if fmt == "html" else [],
    )


def _library(request: Request, **about: str) -> list[dict[str, Any]]:
    """The documents of the library about a territory or an indicator, that the visitor may
    read (newest first, ten at most)."""
    from observatoire.web.inventory import document_view, reader_of, registry_of

    audience, organisation = reader_of(request)
    rows = registry_of(request).documents(audience=audience, organisation=organisation, **about)
    return [document_view(r) for r in rows[:10]]


@router.get("/territoires/{level}/{code}/{name}")
def portrait_page(request: Request, reader: Reader, level: str, code: str, name: str) -> Response:
    """The territory's social portrait for the visitor's audience: ``portrait`` (HTML, one
    self-contained page), ``portrait.pdf`` or ``portrait.xlsx``."""
    from observatoire.outputs.portrait import build_portrait
    from observatoire.outputs.portrait_batch import portrait_file_name
    from observatoire.outputs.portrait_render import render_portrait

    stem, _, suffix = name.partition(".")
    fmt = suffix or "html"
    if stem != "portrait" or fmt not in ("html", "pdf", "xlsx"):
        raise UnknownNameError("page", name, ["portrait", "portrait.pdf", "portrait.xlsx"])
    obs = _obs(request)

    def make() -> tuple[bytes, str]:
        portrait = build_portrait(obs, f"{level}:{code}", audience=reader.value)
        card = portrait.territory
        body = render_portrait(portrait, fmt, home=obs.home.path)
        return body, portrait_file_name(
            str(card["level"]), str(card["code"]), str(card["name"]), fmt
        )

    body, filename = answer(request, ("portrait", level, code, fmt, reader), make)
    if fmt == "html":
        return cached_response(request, body, "text/html; charset=utf-8", 60)
    media = (
        "application/pdf"
        if fmt == "pdf"
        else ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    )
    return download(request, body, media, filename)


@router.get("/tableaux-de-bord")
@router.get("/tableaux-de-bord.json")
def dashboards_page(request: Request) -> Response:
    """The observatory's dashboards and the default one of each theme."""
    from observatoire.outputs.dashboard import dashboard_specs

    fmt = "json" if request.url.path.endswith(".json") else "html"

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
                for s in dashboard_specs(_obs(request))
            ]
        }

    data = answer(request, ("dashboards",), listed)
    return _render(request, "dashboards.html", data, fmt, "Tableaux de bord")


@router.get("/tableaux-de-bord/{name}")
def dashboard_page(
    request: Request, reader: Reader, name: str, territoire: str | None = None
) -> Response:
    """One dashboard for a territory (the observatory's by default): HTML, ``.json``, or
    ``.pdf`` (A4 landscape), for the visitor's audience."""
    from dataclasses import asdict

    from observatoire.outputs.dashboard import build_dashboard, dashboard_html, find_spec
    from observatoire.outputs.portrait_render import html_to_pdf

    stem, _, suffix = name.partition(".")
    fmt = suffix or "html"
    if fmt not in ("html", "json", "pdf"):
        raise UnknownNameError("format", fmt, ["html", "json", "pdf"])
    obs = _obs(request)
    key = ("dashboard", stem, territoire, reader)
    board = answer(
        request,
        key,
        lambda: build_dashboard(
            obs, find_spec(obs, stem), territory=territoire or None, audience=reader.value
        ),
    )
    if fmt == "pdf":
        body = answer(request, (*key, "pdf"), lambda: html_to_pdf(dashboard_html(board)))
        return download(request, body, "application/pdf", f"tableau_{stem}.pdf")
    query = f"?territoire={territoire}" if territoire else ""
    data = {"dashboard": asdict(board), "territory_query": territoire or "", "query": query}
    return _render(request, "dashboard.html", data, fmt, board.spec.title)


# The sub-territories drawn on a territory's page: the next level down that has contours.
CHILD_LEVEL = {
    "pays": "region",
    "region": "departement",
    "departement": "commune",
    "epci": "commune",
    "commune": "iris",
}


def _children_map(obs: Any, data: dict[str, Any]) -> dict[str, Any] | None:
    """Its sub-territories coloured by population (quantiles), or None when it has none."""
    territory = data["territory"]
    child = CHILD_LEVEL.get(territory["level"], "commune")
    if child not in territory["children"]:
        return None
    within = f"{territory['level']}:{territory['code']}"
    frame = obs.territories(level=child, within=(territory["level"], territory["code"]))
    if frame.empty or len(frame) > 2000:
        return None
    values = frame.population.astype(float).to_numpy()
    bounds = breaks(values, "quantiles", 5)
    found = classify(values, bounds)
    return {
        "geometries": f"/api/v1/geometries/{child}?within={within}",
        "level": child,
        "unit": "hab.",
        "breaks": bounds,
        "colours": colours(bounds),
        "values": {
            c: {"name": n, "value": _number(v), "class": k, "status": "ok"}
            for c, n, v, k in zip(frame.code, frame.name, values, found, strict=True)
        },
    }


def _number(value: float) -> float | None:
    return None if value != value else float(value)


@router.get("/territoires")
@router.get("/territoires.json")
def territories_page(
    request: Request, reader: Reader, niveau: str = "departement", dans: str | None = None
) -> Response:
    fmt = "json" if request.url.path.endswith(".json") else "html"
    data = answer(
        request,
        ("territories", niveau, dans),
        lambda: content.territory_list(_obs(request), level=niveau, within=dans or None),
    )
    return _render(request, "territories.html", data, fmt, f"Territoires : {data['label']}")
