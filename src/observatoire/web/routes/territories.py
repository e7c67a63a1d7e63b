"""Territories: the list of a level's territories, a territory's page (and its JSON twin) with
its figures by theme, its sub-territories on a map and the library's documents about it, and
its social portrait (HTML, PDF, XLSX)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from observatoire.errors import UnknownNameError
from observatoire.observatory import Observatory
from observatoire.outputs.palettes import colours
from observatoire.secret.policy import ReadPolicy
from observatoire.stats.classify import breaks, classify
from observatoire.text import slug
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
from observatoire.web.responses import Format, cached_response, download, page_route, show_page
from observatoire.web.vigilance import mark_portrait

__all__ = ["CHILD_LEVEL", "router"]

router = APIRouter(include_in_schema=False)

# The sub-territories drawn on a territory's page: the next level down that has contours.
CHILD_LEVEL = {
    "pays": "region",
    "region": "departement",
    "departement": "commune",
    "epci": "commune",
    "commune": "iris",
}


@page_route(router, "/territoires/{level}/{name}", "json", "csv")
def territory_page(
    request: Request,
    fmt: Format,
    reader: ReaderDep,
    obs: ObservatoryDep,
    answers: Answers,
    user: CurrentUser,
    registry: RegistryDep,
    level: str,
    name: str,
) -> Response:
    code = name
    data = answers.get(
        ("territory", level, code, reader),
        lambda: content.territory_view(obs, level, code, reader=reader),
    )
    map_data = None
    library: list[dict[str, Any]] = []
    if fmt == "html":
        map_data = answers.get(("children-map", level, code), lambda: _children_map(obs, data))
        # the library's documents about it that the visitor may read (newest first)
        rows = registry.documents(reader=library_reader(user), territory=f"{level}:{code}")
        library = [document_view(r) for r in rows[:10]]
    return show_page(
        request,
        fmt,
        "territory.html",
        data,
        data["territory"]["name"],
        map_data=map_data,
        library=library,
    )


@router.get("/territoires/{level}/{code}/{name}")
def portrait_page(
    request: Request,
    reader: ReaderDep,
    obs: ObservatoryDep,
    answers: Answers,
    quality: QualityDep,
    level: str,
    code: str,
    name: str,
) -> Response:
    """The territory's social portrait for the visitor's audience: ``portrait`` (HTML, one
    self-contained page), ``portrait.pdf`` or ``portrait.xlsx``."""
    from observatoire.outputs.portrait import build_portrait
    from observatoire.outputs.portrait_batch import portrait_file_name
    from observatoire.outputs.portrait_render import render_portrait

    stem, _, suffix = name.partition(".")
    fmt = suffix or "html"
    if stem == "diaporama" and fmt in ("pptx", "html"):
        return _deck(request, reader, obs, answers, level, code, fmt)
    if stem != "portrait" or fmt not in ("html", "pdf", "xlsx"):
        raise UnknownNameError("page", name, ["portrait", "portrait.pdf", "portrait.xlsx",
                                              "diaporama.pptx", "diaporama.html"])  # fmt: skip

    def make() -> tuple[bytes, str]:
        portrait = build_portrait(obs, f"{level}:{code}", reader=reader)
        mark_portrait(portrait, quality, reader)
        card = portrait.territory
        body = render_portrait(portrait, fmt, home=obs.home.path)
        return body, portrait_file_name(
            str(card["level"]), str(card["code"]), str(card["name"]), fmt
        )

    body, filename = answers.get(("portrait", level, code, fmt, reader, quality.version()), make)
    if fmt == "html":
        return cached_response(request, body, "text/html; charset=utf-8", 60)
    media = (
        "application/pdf"
        if fmt == "pdf"
        else ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    )
    return download(request, body, media, filename)


def _deck(request: Request, reader: ReadPolicy, obs: Observatory, answers: Any, level: str,
          code: str, fmt: str) -> Response:  # fmt: skip
    """The territory's deck for a meeting, for the visitor's audience: an editable PPTX or one
    self-contained HTML file."""
    from observatoire.outputs.deck import territory_deck
    from observatoire.outputs.deck_render import deck_html, deck_pptx

    level, code = obs.geography.resolve(f"{level}:{code}")  # one key per territory

    def make() -> tuple[bytes, str]:
        deck = territory_deck(obs, f"{level}:{code}", reader=reader)
        body = deck_pptx(deck) if fmt == "pptx" else deck_html(deck).encode("utf-8")
        name = slug(f"{level}_{code}_{deck.slides[0].title}", ascii_only=True)
        return body, f"diaporama_{name}.{fmt}"

    body, filename = answers.get(("deck", level, code, fmt, reader), make)
    media = (
        "application/vnd.openxmlformats-officedocument.presentationml.presentation"
        if fmt == "pptx"
        else "text/html; charset=utf-8"
    )
    return download(request, body, media, filename)


def _children_map(obs: Observatory, data: dict[str, Any]) -> dict[str, Any] | None:
    """Its sub-territories coloured by population (quantiles), or None when it has none."""
    territory = data["territory"]
    child = CHILD_LEVEL.get(territory["level"], "commune")
    if child not in territory["children"]:
        return None
    within = f"{territory['level']}:{territory['code']}"
    frame = obs.geography.territories(level=child, within=(territory["level"], territory["code"]))
    if frame.empty or len(frame) > 2000:
        return None
    shapes = obs.geography.geometries(level=child, within=(territory["level"], territory["code"]))
    if not shapes.geometry.notna().any():  # no contours imported: say how to get them
        return {"level": child, "count": len(frame), "missing": True}
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


@page_route(router, "/territoires", "json")
def territories_page(
    request: Request,
    fmt: Format,
    reader: ReaderDep,
    obs: ObservatoryDep,
    answers: Answers,
    niveau: str = "departement",
    dans: str | None = None,
) -> Response:
    data = answers.get(
        ("territories", niveau, dans),
        lambda: content.territory_list(obs, level=niveau, within=dans or None),
    )
    title = f"Territoires : {data['label']}"
    return show_page(request, fmt, "territories.html", data, title)
