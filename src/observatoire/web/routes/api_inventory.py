"""The inventory in the API (``/api/v1``): sources, documents (and their full-text search),
observation needs and the work programme, as JSON, under the same rights as the pages
(:mod:`observatoire.web.inventory_views`); an API token reads as its account."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from observatoire.web.deps import CurrentUser, ObservatoryDep, RegistryDep
from observatoire.web.inventory_views import (
    SignedIn,
    document_view,
    found_documents,
    library_reader,
    need_view,
    source_view,
)
from observatoire.web.responses import respond
from observatoire.web.schemas import (
    DocumentPublic,
    DocumentsPublic,
    NeedPublic,
    NeedsPublic,
    ProgrammePublic,
    SourcePublic,
    SourcesPublic,
)

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["inventaire"])
Words = Annotated[str, Query(description="Mots cherchés (accents, majuscules, pluriels ignorés)")]


@router.get(
    "/sources",
    summary="Inventaire des sources et systèmes d'information",
    response_model=SourcesPublic,
)
def sources(
    request: Request,
    user: CurrentUser,
    registry: RegistryDep,
    obs: ObservatoryDep,
    q: Words = "",
    kind: Annotated[str | None, Query(description="donnees, systeme, enquete, referentiel")] = None,
    theme: str | None = None,
    overdue: Annotated[bool, Query(description="Seulement les éditions en retard")] = False,
) -> Response:
    found = registry.sources(q, kind=kind, theme=theme, overdue=overdue)
    rows = [source_view(r, user, obs) for r in found]
    return respond(request, {"count": len(rows), "rows": rows}, max_age=0)


@router.get(
    "/sources/{ident}",
    summary="Une source : jeux, imports, indicateurs, besoins",
    response_model=SourcePublic,
)
def source(
    request: Request, ident: str, user: CurrentUser, registry: RegistryDep, obs: ObservatoryDep
) -> Response:
    return respond(request, source_view(registry.source(ident), user, obs), max_age=0)


@router.get(
    "/documents",
    summary="Documents lisibles, ou recherche plein texte (q)",
    response_model=DocumentsPublic,
)
def documents(
    request: Request,
    user: CurrentUser,
    registry: RegistryDep,
    q: Words = "",
    kind: Annotated[str | None, Query()] = None,
) -> Response:
    if q.strip():
        rows = found_documents(registry, user, q, kind)
    else:
        library = library_reader(user)
        listed = registry.documents(reader=library, kind=kind)
        rows = [document_view(r) for r in listed]
    return respond(request, {"count": len(rows), "rows": rows}, max_age=0)


@router.get("/documents/{ident}", summary="La fiche d'un document", response_model=DocumentPublic)
def document(request: Request, ident: str, user: CurrentUser, registry: RegistryDep) -> Response:
    library = library_reader(user)
    row = registry.document(ident, reader=library)
    return respond(request, document_view(row), max_age=0)


@router.get(
    "/needs", summary="Besoins d'observation (comptes connectés)", response_model=NeedsPublic
)
def needs(
    request: Request,
    _: SignedIn,
    registry: RegistryDep,
    uncovered: Annotated[bool, Query(description="Seulement les non couverts")] = False,
    status: Annotated[str | None, Query(description="exprime, etude, programme…")] = None,
) -> Response:
    rows = [need_view(n) for n in registry.needs(open_only=uncovered, status=status)]
    return respond(request, {"count": len(rows), "rows": rows}, max_age=0)


@router.get(
    "/needs/{ident}",
    summary="Un besoin, ce qui le couvre, l'action qui le prend en charge",
    response_model=NeedPublic,
)
def need(request: Request, ident: str, _: SignedIn, registry: RegistryDep) -> Response:
    return respond(request, need_view(registry.need(ident)), max_age=0)


@router.get(
    "/programme",
    summary="Programme de travail (comptes connectés)",
    response_model=ProgrammePublic,
)
def programme(
    request: Request, _: SignedIn, registry: RegistryDep, year: int | None = None
) -> Response:
    actions = registry.programme(year)
    return respond(request, {"count": len(actions), "rows": actions}, max_age=0)
