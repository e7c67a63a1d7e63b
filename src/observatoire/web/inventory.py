"""Inventory pages: sources and information systems, the document library, observation needs
and the work programme. Each page has its JSON twin (``.json``), tables their CSV.

Who may do what::

    /sources, /sources/{id}              everyone (contacts: signed-in; notes: analysts)
    /documents, /documents/{id}[/fichier] everyone, each document by its access level
    /besoins, /besoins/non-couverts,      signed-in accounts
    /besoins/{id}, /programme[/{année}]
    propose a need                        signed-in accounts (status « exprimé »)
    edit sources, documents, needs,       admin, analyst
    the programme

Every change is a POST with its CSRF token, written to the audit log.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from observatoire.accounts import Accounts, Role, User
from observatoire.deposits import Deposits
from observatoire.errors import AccessError, InputError
from observatoire.ingest.inventory_files import entries_table
from observatoire.inventory.documents import DOCUMENT_FIELDS, DOCUMENT_KINDS
from observatoire.inventory.fields import Entry, Field, Located, label_of
from observatoire.inventory.needs import ACTION_FIELDS, NEED_FIELDS, STATUSES
from observatoire.inventory.sources import KINDS, SOURCE_FIELDS
from observatoire.registry import Registry
from observatoire.secret.rules import READABLE, Audience
from observatoire.store.inventory import DocumentRow
from observatoire.web.app import csv_response, respond
from observatoire.web.auth import check_csrf, client_of, observatory_for, viewer
from observatoire.web.uploads import one_at_a_time, receive_upload

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
EDITORS = (Role.ADMIN, Role.ANALYST)
MAX_DOCUMENT = 200 * 1024**2
PER_PAGE = 50  # documents listed per page (a search shows its best 50)
PROPOSED = ("question", "theme", "territoire", "priorite")  # what a reader may propose


def registry_of(request: Request) -> Registry:
    registry: Registry = request.app.state.registry
    return registry


def _editor(request: Request) -> User:
    user = viewer(request)
    if user is None or user.role not in EDITORS:
        raise AccessError("modification réservée aux chargés d'études et aux administrateurs")
    return user


def signed_in(request: Request) -> User:
    user = viewer(request)
    if user is None:
        raise AccessError("connectez-vous pour voir les besoins d'observation et le programme")
    return user


def reader_of(request: Request) -> tuple[str, str | None]:
    user = viewer(request)
    if user is None:
        return "public", None
    return user.audience.value, user.organisation


def _page(request: Request, template: str, data: dict[str, Any], title: str) -> Response:
    from observatoire.web.pages import render_page

    if request.url.path.endswith(".json"):
        return respond(request, data, max_age=0)
    return render_page(request, template, data, title)


def _csv(request: Request, rows: Sequence[Entry], fields: Sequence[Field], name: str) -> Response:
    return csv_response(request, entries_table(rows, [f.key for f in fields]), name)


def _audit(request: Request, user: User, action: str, target: str) -> None:
    accounts: Accounts = request.app.state.accounts
    accounts.record(user.email, action, target, None, client_of(request))


def _form_fields(
    fields: Sequence[Field], entry: Entry | None, only: Sequence[str] = ()
) -> list[dict[str, Any]]:
    """The fields of a form, filled from ``entry`` (whose identifier is then fixed: an edit
    replaces the entry, it does not copy it under another name)."""
    out = []
    for f in fields:
        if only and f.key not in only:
            continue
        value = (entry or {}).get(f.key)
        shown = (
            "; ".join(map(str, value))
            if isinstance(value, list)
            else ""
            if value is None
            else str(value)
        )
        out.append(
            {
                "key": f.key,
                "label": f.label,
                "kind": f.kind,
                "required": f.required,
                "choices": list(f.choices),
                "help": f.help,
                "value": shown,
                "readonly": f.key == "identifiant" and bool((entry or {}).get("identifiant")),
            }
        )
    return out


def _form_page(
    request: Request,
    title: str,
    action: str,
    fields: list[dict[str, Any]],
    back: str,
    upload: bool = False,
) -> Response:
    data = {"action": action, "fields": fields, "back": back, "upload": upload, "heading": title}
    return _page(request, "inventory_form.html", data, title)


async def _posted(request: Request) -> dict[str, str]:
    form = await request.form()
    check_csrf(request, form)
    return {k: str(v) for k, v in form.items() if k != "csrf" and isinstance(v, str)}


# -- sources ---------------------------------------------------------------------------------
def source_view(request: Request, entry: dict[str, Any], user: User | None) -> dict[str, Any]:
    """What a visitor sees of a source: contacts to signed-in accounts; notes, imports and
    the datasets it may not read to analysts; only the indicators it may read."""
    shown = dict(entry)
    shown["type_label"] = label_of(SOURCE_FIELDS[2], entry.get("type"))
    if user is None:
        shown.pop("contact", None)
    if user is not None and user.role in EDITORS:
        return shown
    for key in ("notes", "imports_detail", "jeux_lies"):
        shown.pop(key, None)
    audience = Audience.PUBLIC if user is None else user.audience
    readable = READABLE[audience]
    organisation = user.organisation if user is not None else None
    if user is None and "besoins" in shown:  # the needs register is for signed-in accounts
        shown["besoins"] = []
    shown["jeux_detail"] = [
        d
        for d in shown.get("jeux_detail", [])
        if d.get("confidentiality") in readable
        or (organisation and d.get("partner") == organisation)
    ]
    if "indicateurs_detail" in shown:
        available = observatory_for(request).available(audience=audience.value)
        shown["indicateurs_detail"] = [
            i for i in shown["indicateurs_detail"] if i["id"] in available
        ]
    return shown


@router.get("/sources")
@router.get("/sources.json")
@router.get("/sources.csv")
def sources_page(request: Request) -> Response:
    params = request.query_params
    user = viewer(request)
    rows = registry_of(request).sources(
        params.get("q", ""),
        kind=params.get("type") or None,
        theme=params.get("theme") or None,
        overdue=params.get("retard") == "1",
    )
    rows = [source_view(request, r, user) for r in rows]
    if request.url.path.endswith(".csv"):
        fields = [
            f
            for f in SOURCE_FIELDS
            if (user is not None and user.role in EDITORS) or f.key not in ("contact", "notes")
        ]
        return _csv(request, rows, fields, "sources.csv")
    themes = sorted({t for r in registry_of(request).sources() for t in r.get("themes") or []})
    data = {
        "sources": rows,
        "query": params.get("q", ""),
        "kind": params.get("type", ""),
        "theme": params.get("theme", ""),
        "overdue": params.get("retard") == "1",
        "kinds": list(KINDS),
        "themes": themes,
        "editable": user is not None and user.role in EDITORS,
    }
    return _page(request, "sources.html", data, "Sources et systèmes d'information")


@router.get("/sources/nouvelle")
def new_source_form(request: Request) -> Response:
    _editor(request)
    fields = _form_fields(SOURCE_FIELDS, None)
    return _form_page(request, "Nouvelle source", "/sources", fields, "/sources")


@router.post("/sources")
async def save_source(request: Request) -> Response:
    raw = await _posted(request)
    user = _editor(request)
    (entry,) = registry_of(request).save_sources([Located(raw)], user.email)
    _audit(request, user, "inventaire : source enregistrée", entry["identifiant"])
    return RedirectResponse(f"/sources/{entry['identifiant']}", status_code=303)


@router.get("/sources/{ident}/modifier")
def edit_source_form(request: Request, ident: str) -> Response:
    _editor(request)
    entry = registry_of(request).source_entry(ident)
    if entry is None:
        registry_of(request).source(ident)  # the unknown-name error
    fields = _form_fields(SOURCE_FIELDS, entry)
    return _form_page(
        request, f"Modifier la source {ident}", "/sources", fields, f"/sources/{ident}"
    )


@router.get("/sources/{ident}")
def source_page(request: Request, ident: str) -> Response:
    user = viewer(request)
    name = ident.removesuffix(".json")
    source = source_view(request, registry_of(request).source(name), user)
    source["editable"] = user is not None and user.role in EDITORS
    return _page(request, "source.html", source, str(source["nom"]))


# -- documents -------------------------------------------------------------------------------
def document_view(row: DocumentRow) -> dict[str, Any]:
    return {
        "id": row.id,
        **row.entry,
        "type_label": label_of(DOCUMENT_FIELDS[1], row.entry.get("type")),
        "acces_label": label_of(DOCUMENT_FIELDS[7], row.entry.get("acces")),
        "fichier": row.file_name,
        "taille": row.size,
        "pages": row.pages,
        "url": f"/documents/{row.id}",
        "fichier_url": f"/documents/{row.id}/fichier",
    }


def found_documents(request: Request, query: str, kind: str | None = None) -> list[dict[str, Any]]:
    """The documents a search finds for this visitor (of type ``kind``), best first, each
    with its score, and the page and passage where it was found."""
    audience, organisation = reader_of(request)
    hits = registry_of(request).search_documents(
        query, audience=audience, organisation=organisation
    )
    return [
        {
            **document_view(h.document),
            "score": h.score,
            "page": h.page,
            "extrait": list(h.excerpt or []),
        }
        for h in hits
        if not kind or h.document.entry.get("type") == kind
    ]


@router.get("/documents")
@router.get("/documents.json")
def documents_page(request: Request) -> Response:
    params = request.query_params
    audience, organisation = reader_of(request)
    registry = registry_of(request)
    query = params.get("q", "").strip()
    if query:
        results = found_documents(request, query, params.get("type") or None)
        total, number, count = len(results), 1, 1
    else:
        rows = registry.documents(
            audience=audience,
            organisation=organisation,
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
    user = viewer(request)
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
        "editable": user is not None and user.role in EDITORS,
    }
    return _page(request, "documents.html", data, "Documents")


@router.get("/documents/nouveau")
def new_document_form(request: Request) -> Response:
    _editor(request)
    fields = _form_fields(DOCUMENT_FIELDS, {"acces": "interne"})
    return _form_page(
        request, "Classer un document", "/documents", fields, "/documents", upload=True
    )


@router.post("/documents")
async def add_document(request: Request) -> Response:
    """File an uploaded document: its text extracted and indexed (nothing kept if the file
    cannot be read). The file is received within :data:`MAX_DOCUMENT`, checked for its CSRF
    token before a byte is written, and its deposit removed once filed or refused."""
    user = _editor(request)
    async with one_at_a_time(request, user.email):
        return await _add_document(request, user)


async def _add_document(request: Request, user: User) -> Response:
    upload = await receive_upload(
        request,
        folder=Deposits(request.app.state.observatory.home.path).new_folder(),
        max_bytes=MAX_DOCUMENT,
        before_file=lambda fields: check_csrf(request, fields),
    )
    try:
        check_csrf(request, upload.fields)
        if upload.path is None:
            raise InputError("aucun fichier reçu")
        raw = {k: v for k, v in upload.fields.items() if k != "csrf"}
        row = await run_in_threadpool(
            registry_of(request).add_document, upload.path, raw, user.email, file_name=upload.name
        )
    finally:
        upload.discard()
    _audit(request, user, "bibliothèque : document classé", row.id)
    return RedirectResponse(f"/documents/{row.id}", status_code=303)


@router.get("/documents/{ident}/modifier")
def edit_document_form(request: Request, ident: str) -> Response:
    _editor(request)
    row = registry_of(request).document(ident, audience="analyst")
    fields = _form_fields(DOCUMENT_FIELDS, row.entry)
    return _form_page(
        request, f"Modifier la fiche {ident}", f"/documents/{ident}", fields, f"/documents/{ident}"
    )


@router.post("/documents/{ident}")
async def update_document(request: Request, ident: str) -> Response:
    raw = await _posted(request)
    user = _editor(request)
    registry_of(request).update_document(ident, raw, user.email)
    _audit(request, user, "bibliothèque : fiche modifiée", ident)
    return RedirectResponse(f"/documents/{ident}", status_code=303)


@router.get("/documents/{ident}/fichier")
def document_file(request: Request, ident: str) -> Response:
    audience, organisation = reader_of(request)
    registry = registry_of(request)
    row = registry.document(ident, audience=audience, organisation=organisation)
    accounts: Accounts = request.app.state.accounts
    user = viewer(request)
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


@router.get("/documents/{ident}")
def document_page(request: Request, ident: str) -> Response:
    audience, organisation = reader_of(request)
    name = ident.removesuffix(".json")
    row = registry_of(request).document(name, audience=audience, organisation=organisation)
    user = viewer(request)
    data = {**document_view(row), "editable": user is not None and user.role in EDITORS}
    return _page(request, "document.html", data, str(row.entry.get("titre")))


# -- needs and the work programme ------------------------------------------------------------
def need_view(entry: Entry) -> dict[str, Any]:
    return {
        **entry,
        "statut_label": label_of(NEED_FIELDS[7], entry.get("statut")),
        "priorite_label": label_of(NEED_FIELDS[6], entry.get("priorite")),
    }


@router.get("/besoins")
@router.get("/besoins.json")
@router.get("/besoins.csv")
@router.get("/besoins/non-couverts")
@router.get("/besoins/non-couverts.json")
@router.get("/besoins/non-couverts.csv")
def needs_page(request: Request) -> Response:
    user = signed_in(request)
    uncovered = "/non-couverts" in request.url.path
    status = request.query_params.get("statut") or None
    rows = registry_of(request).needs(open_only=uncovered, status=status)
    if request.url.path.endswith(".csv"):
        return _csv(
            request, rows, NEED_FIELDS, "besoins-non-couverts.csv" if uncovered else "besoins.csv"
        )
    data = {
        "needs": [need_view(n) for n in rows],
        "uncovered": uncovered,
        "status": status or "",
        "statuses": list(STATUSES),
        "editable": user.role in EDITORS,
    }
    title = "Besoins non couverts" if uncovered else "Besoins d'observation"
    return _page(request, "needs.html", data, title)


@router.get("/besoins/nouveau")
def new_need_form(request: Request) -> Response:
    user = signed_in(request)
    only = () if user.role in EDITORS else PROPOSED
    fields = _form_fields(NEED_FIELDS, {"priorite": "moyenne"}, only)
    return _form_page(request, "Exprimer un besoin d'observation", "/besoins", fields, "/besoins")


@router.post("/besoins")
async def save_need(request: Request) -> Response:
    """An analyst records or edits any need; another account proposes one (« exprimé », in
    its organisation's name)."""
    raw: dict[str, object] = dict(await _posted(request))
    user = signed_in(request)
    if user.role not in EDITORS:
        raw = {k: v for k, v in raw.items() if k in PROPOSED}
        raw["demandeur"] = user.organisation or user.name or user.email
        raw["statut"] = "exprime"
    (entry,), _ = registry_of(request).save_needs([Located(raw)], user.email)
    _audit(request, user, "besoins : besoin enregistré", entry["identifiant"])
    return RedirectResponse(f"/besoins/{entry['identifiant']}", status_code=303)


@router.get("/besoins/{ident}/modifier")
def edit_need_form(request: Request, ident: str) -> Response:
    _editor(request)
    entry = registry_of(request).need(ident)
    fields = _form_fields(NEED_FIELDS, entry)
    return _form_page(
        request, f"Modifier le besoin {ident}", "/besoins", fields, f"/besoins/{ident}"
    )


@router.get("/besoins/{ident}")
def need_page(request: Request, ident: str) -> Response:
    user = signed_in(request)
    need = need_view(registry_of(request).need(ident.removesuffix(".json")))
    need["editable"] = user.role in EDITORS
    return _page(request, "need.html", need, f"Besoin {need['identifiant']}")


@router.get("/programme")
@router.get("/programme.json")
@router.get("/programme/{year}")
def programme_page(request: Request, year: str | None = None) -> Response:
    user = signed_in(request)
    registry = registry_of(request)
    years = registry.programme_years()
    if year is None:
        chosen = years[-1] if years else None
    else:
        text = year.removesuffix(".json")
        if not text.isdigit():
            raise InputError(f"année « {text} » invalide (AAAA)")
        chosen = int(text)
    actions = registry.programme(chosen) if chosen is not None else []
    for action in actions:
        action["type_label"] = label_of(ACTION_FIELDS[3], action.get("type"))
        action["statut_label"] = label_of(ACTION_FIELDS[7], action.get("statut"))
        action["besoins"] = [need_view(n) for n in action["besoins"]]
    data = {"year": chosen, "years": years, "actions": actions, "editable": user.role in EDITORS}
    return _page(request, "programme.html", data, f"Programme de travail {chosen or ''}".strip())


@router.get("/programme-actions/nouvelle")
def new_action_form(request: Request) -> Response:
    _editor(request)
    fields = _form_fields(ACTION_FIELDS, None)
    return _form_page(
        request, "Nouvelle action du programme", "/programme-actions", fields, "/programme"
    )


@router.get("/programme-actions/{ident}/modifier")
def edit_action_form(request: Request, ident: str) -> Response:
    _editor(request)
    entry = registry_of(request).action_entry(ident)
    fields = _form_fields(ACTION_FIELDS, entry)
    back = f"/programme/{entry['annee']}"
    return _form_page(request, f"Modifier l'action {ident}", "/programme-actions", fields, back)


@router.post("/programme-actions")
async def save_action(request: Request) -> Response:
    raw = await _posted(request)
    user = _editor(request)
    _, (action,) = registry_of(request).save_needs([], user.email, actions=[Located(raw)])
    _audit(request, user, "programme : action enregistrée", action["identifiant"])
    return RedirectResponse(f"/programme/{action['annee']}", status_code=303)


def _removal(prefix: str, remove: Callable[[Registry, str], None], action: str) -> None:
    """``POST {prefix}/{ident}/supprimer``: an editor removes an entry (audited)."""

    async def removed(request: Request, ident: str) -> Response:
        await _posted(request)
        user = _editor(request)
        remove(registry_of(request), ident)
        _audit(request, user, action, ident)
        return RedirectResponse(prefix, status_code=303)

    router.add_api_route(f"{prefix}/{{ident}}/supprimer", removed, methods=["POST"])


_removal("/sources", Registry.remove_source, "inventaire : source retirée")
_removal("/documents", Registry.remove_document, "bibliothèque : document retiré")
_removal("/besoins", Registry.remove_need, "besoins : besoin retiré")
