"""The inventory in the API (``/api/v1``): sources, documents (and their full-text search),
observation needs and the work programme, as JSON, under the same rights as the pages
(:mod:`observatoire.web.inventory`); an API token reads as its account."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from observatoire.web.app import respond
from observatoire.web.auth import viewer
from observatoire.web.inventory import (
    document_view,
    found_documents,
    need_view,
    reader_of,
    registry_of,
    signed_in,
    source_view,
)

__all__ = ["api"]

api = APIRouter(prefix="/api/v1", tags=["inventaire"])
Words = Annotated[str, Query(description="Mots cherchés (accents, majuscules, pluriels ignorés)")]


@api.get("/sources", summary="Inventaire des sources et systèmes d'information")
def sources(
    request: Request,
    q: Words = "",
    kind: Annotated[str | None, Query(description="donnees, systeme, enquete, referentiel")] = None,
    theme: str | None = None,
    overdue: Annotated[bool, Query(description="Seulement les éditions en retard")] = False,
) -> Response:
    user = viewer(request)
    found = registry_of(request).sources(q, kind=kind, theme=theme, overdue=overdue)
    rows = [source_view(request, r, user) for r in found]
    return respond(request, {"count": len(rows), "rows": rows}, max_age=0)


@api.get("/sources/{ident}", summary="Une source : jeux, imports, indicateurs, besoins")
def source(request: Request, ident: str) -> Response:
    user = viewer(request)
    return respond(
        request, source_view(request, registry_of(request).source(ident), user), max_age=0
    )


@api.get("/documents", summary="Documents lisibles, ou recherche plein texte (q)")
def documents(
    request: Request, q: Words = "", kind: Annotated[str | None, Query()] = None
) -> Response:
    if q.strip():
        rows = found_documents(request, q, kind)
    else:
        audience, organisation = reader_of(request)
        listed = registry_of(request).documents(
            audience=audience, organisation=organisation, kind=kind
        )
        rows = [document_view(r) for r in listed]
    return respond(request, {"count": len(rows), "rows": rows}, max_age=0)


@api.get("/documents/{ident}", summary="La fiche d'un document")
def document(request: Request, ident: str) -> Response:
    audience, organisation = reader_of(request)
    row = registry_of(request).document(ident, audience=audience, organisation=organisation)
    return respond(request, document_view(row), max_age=0)


@api.get("/needs", summary="Besoins d'observation (comptes connectés)")
def needs(
    request: Request,
    uncovered: Annotated[bool, Query(description="Seulement les non couverts")] = False,
    status: Annotated[str | None, Query(description="exprime, etude, programme…")] = None,
) -> Response:
    signed_in(request)
    rows = [need_view(n) for n in registry_of(request).needs(open_only=uncovered, status=status)]
    return respond(request, {"count": len(rows), "rows": rows}, max_age=0)


@api.get("/needs/{ident}", summary="Un besoin, ce qui le couvre, l'action qui le prend en charge")
def need(request: Request, ident: str) -> Response:
    signed_in(request)
    return respond(request, need_view(registry_of(request).need(ident)), max_age=0)


@api.get("/programme", summary="Programme de travail (comptes connectés)")
def programme(request: Request, year: int | None = None) -> Response:
    signed_in(request)
    actions = registry_of(request).programme(year)
    return respond(request, {"count": len(actions), "rows": actions}, max_age=0)
