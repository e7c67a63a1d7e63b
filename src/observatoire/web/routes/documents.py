"""The document library: its page (and JSON twin), a document's page and file, filing a new
document (an upload: its text extracted and indexed), and editing its card
(:mod:`observatoire.web.routes.entries`).

    /documents, /documents/{id}[/fichier]   everyone, each document by its access level
    file, edit, remove                      admin, analyst
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from observatoire.errors import InputError
from observatoire.inventory.documents import DOCUMENT_FIELDS, DOCUMENT_KINDS
from observatoire.observatory import Observatory
from observatoire.secret.policy import ANALYST
from observatoire.services.accounts import Accounts, User
from observatoire.services.deposits import Deposits
from observatoire.services.inventory import Registry
from observatoire.web import uploads
from observatoire.web.deps import (
    AccountsDep,
    CurrentUser,
    Depositing,
    ObservatoryDep,
    RegistryDep,
    check_csrf,
    client_of,
)
from observatoire.web.inventory_views import (
    Editor,
    document_view,
    editable,
    found_documents,
    library_reader,
)
from observatoire.web.responses import Format, page_route, show_page
from observatoire.web.routes.entries import EntryKind, entry_router
from observatoire.web.uploads import one_at_a_time, receive_upload

__all__ = ["DOCUMENTS", "PER_PAGE", "router"]

PER_PAGE = 50  # documents listed per page (a search shows its best 50)

DOCUMENTS = EntryKind(
    prefix="/documents",
    fields=DOCUMENT_FIELDS,
    new="/documents/nouveau",
    new_title="Classer un document",
    edit_title="Modifier la fiche {ident}",
    page="/documents/{ident}",
    load=lambda registry, ident: registry.document(ident, reader=ANALYST).entry,
    save=lambda registry, raw, actor, ident: registry.update_document(str(ident), raw, actor),
    saved="bibliothèque : fiche modifiée",
    posted_to_entry=True,  # POST /documents is the upload of a new one
    blank={"acces": "interne"},
    upload=True,
    remove=Registry.remove_document,
    removed="bibliothèque : document retiré",
)

router = APIRouter(include_in_schema=False)


@page_route(router, "/documents", "json")
def documents_page(
    request: Request, fmt: Format, user: CurrentUser, registry: RegistryDep
) -> Response:
    params = request.query_params
    library = library_reader(user)
    query = params.get("q", "").strip()
    if query:
        results = found_documents(registry, user, query, params.get("type") or None)
        total, number, count = len(results), 1, 1
    else:
        rows = registry.documents(
            reader=library,
            kind=params.get("type") or None,
            theme=params.get("theme") or None,
            territory=params.get("territoire") or None,
        )
        total, count = len(rows), max(1, -(-len(rows) // PER_PAGE))
        wanted = params.get("page", "1")
        if not wanted.isdigit() or not 1 <= int(wanted) <= count:
            raise InputError(f"page « {wanted} » inexistante (1 à {count})")
        number = int(wanted)
        results = [document_view(r) for r in rows[(number - 1) * PER_PAGE : number * PER_PAGE]]
    data = {
        "query": query,
        "kind": params.get("type", ""),
        "kinds": list(DOCUMENT_KINDS),
        "documents": results,
        "total": total,
        "page": number,
        "pages": count,
        "previous": str(request.url.include_query_params(page=number - 1)) if number > 1 else None,
        "next": str(request.url.include_query_params(page=number + 1)) if number < count else None,
        "editable": editable(user),
    }
    return show_page(request, fmt, "documents.html", data, "Documents", max_age=0)


# before a document's page: « nouveau » is no document's number
router.include_router(entry_router(DOCUMENTS))


@router.post("/documents")
async def add_document(
    request: Request,
    user: Editor,
    obs: ObservatoryDep,
    registry: RegistryDep,
    accounts: AccountsDep,
    busy: Depositing,
) -> Response:
    """File an uploaded document: its text extracted and indexed (nothing kept if the file
    cannot be read). The file is received within :data:`~observatoire.web.uploads.MAX_DOCUMENT`,
    checked for its CSRF token before a byte is written, and its deposit removed once filed or
    refused."""
    async with one_at_a_time(busy, user.email):
        return await _add_document(request, user, obs, registry, accounts)


async def _add_document(
    request: Request, user: User, obs: Observatory, registry: Registry, accounts: Accounts
) -> Response:
    upload = await receive_upload(
        request,
        folder=Deposits(obs.home.path).new_folder(),
        max_bytes=uploads.MAX_DOCUMENT,
        before_file=lambda fields: check_csrf(request, fields),
    )
    try:
        check_csrf(request, upload.fields)
        if upload.path is None:
            raise InputError("aucun fichier reçu")
        raw = {k: v for k, v in upload.fields.items() if k != "csrf"}
        row = await run_in_threadpool(
            registry.add_document, upload.path, raw, user.email, file_name=upload.name
        )
    finally:
        upload.discard()
    accounts.record(user.email, "bibliothèque : document classé", row.id, None, client_of(request))
    return RedirectResponse(f"/documents/{row.id}", status_code=303)


@router.get("/documents/{ident}/fichier")
def document_file(
    request: Request, ident: str, user: CurrentUser, registry: RegistryDep, accounts: AccountsDep
) -> Response:
    library = library_reader(user)
    row = registry.document(ident, reader=library)
    accounts.record(
        user.email if user else None,
        "téléchargement",
        row.file_name,
        request.url.path,
        client_of(request),
    )
    disposition = "inline" if row.media_type == "application/pdf" else "attachment"
    return FileResponse(
        registry.document_file(row),
        media_type=row.media_type,
        filename=row.file_name,
        content_disposition_type=disposition,
        headers={"Cache-Control": "private, no-store" if user else "public, max-age=300"},
    )


@page_route(router, "/documents/{ident}", "json")
def document_page(
    request: Request, fmt: Format, ident: str, user: CurrentUser, registry: RegistryDep
) -> Response:
    library = library_reader(user)
    row = registry.document(ident, reader=library)
    data = {**document_view(row), "editable": editable(user)}
    return show_page(request, fmt, "document.html", data, str(row.entry.get("titre")), max_age=0)
