"""The editing of inventory entries (sources, documents, needs, actions of the programme), one
router factory for every kind: the form of a new entry, the form of an existing one, saving
it, removing it. Each kind says where its entries live and how the registry keeps them
(:class:`EntryKind`); :func:`entry_router` makes its routes::

    GET  {new}                       the form of a new entry
    GET  {prefix}/{ident}/modifier   the form of an entry, filled in
    POST {prefix}                    save an entry (its identifier is in the form)
    POST {prefix}/{ident}            save an entry posted to its own address (a document:
                                     the collection's POST is the upload of a new file)
    POST {prefix}/{ident}/supprimer  remove an entry

Editing is for analysts and administrators; a kind whose entries others may propose (needs)
takes them from any signed-in account, keeping only what they may fill in. Every change is a
POST with its CSRF token, written to the audit log.

This module does not postpone its annotations: the routes are made inside the factory, and
FastAPI reads the annotations of their parameters as they are.
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from observatoire.inventory.fields import Entry, Field
from observatoire.services.accounts import Accounts, User
from observatoire.services.inventory import Registry
from observatoire.web.deps import AccountsDep, PostedFields, RegistryDep, client_of, role_check
from observatoire.web.inventory_views import EDITORS, Editor, editor_check
from observatoire.web.responses import show_page

__all__ = ["EntryKind", "Proposing", "entry_router", "form_fields"]


@dataclass(frozen=True)
class Proposing:
    """Who else may propose an entry of a kind: any signed-in account, filling in ``keys``
    only; ``complete`` sets the rest (who asks, the status of a proposal)."""

    keys: tuple[str, ...]
    complete: Callable[[dict[str, object], User], dict[str, object]]
    signed_out: str  # what the public is told


@dataclass(frozen=True)
class EntryKind:
    """One kind of inventory entry, as its forms edit it.

    ``page`` is where an entry is shown once saved (and the way back from its form), a
    template of ``{ident}`` and the entry's fields: ``/sources/{ident}``, ``/programme/{annee}``.
    """

    prefix: str
    fields: Sequence[Field]
    new: str  # the path of the new entry's form
    new_title: str
    edit_title: str  # a template of {ident}
    page: str
    load: Callable[[Registry, str], Entry]  # the entry to edit, or the unknown-name error
    save: Callable[[Registry, dict[str, object], str, str | None], Entry]  # raw, actor, ident
    saved: str  # the audit log's action
    posted_to_entry: bool = False  # saved at {prefix}/{ident}, not at {prefix}
    blank: Mapping[str, object] | None = None  # the new entry's form's defaults
    new_back: str = ""  # the way back from the new entry's form (default: prefix)
    upload: bool = False  # the new entry's form sends a file
    remove: Callable[[Registry, str], None] | None = None
    removed: str = ""  # the audit log's action
    proposing: Proposing | None = None


def form_fields(
    fields: Sequence[Field], entry: Mapping[str, object] | None, only: Sequence[str] = ()
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
    return show_page(request, "html", "inventory_form.html", data, title, max_age=0)


def entry_router(kind: EntryKind) -> APIRouter:
    """The routes editing the entries of ``kind``."""
    router = APIRouter(include_in_schema=False)
    proposing = kind.proposing
    # who writes a new entry: an editor, or any signed-in account for a kind others propose
    author = editor_check if proposing is None else role_check(signed_out=proposing.signed_out)

    def shown(ident: str, entry: Mapping[str, object]) -> str:
        return kind.page.format(**{**entry, "ident": ident})

    def new_form(request: Request, user: Annotated[User, Depends(author)]) -> Response:
        only = proposing.keys if proposing and user.role not in EDITORS else ()
        fields = form_fields(kind.fields, kind.blank, only)
        back = kind.new_back or kind.prefix
        return _form_page(request, kind.new_title, kind.prefix, fields, back, kind.upload)

    def edit_form(request: Request, ident: str, _: Editor, registry: RegistryDep) -> Response:
        entry = kind.load(registry, ident)
        action = f"{kind.prefix}/{ident}" if kind.posted_to_entry else kind.prefix
        title = kind.edit_title.format(ident=ident)
        fields = form_fields(kind.fields, entry)
        return _form_page(request, title, action, fields, shown(ident, entry))

    def saved(
        request: Request, user: User, registry: Registry, accounts: Accounts,
        raw: dict[str, object],
        ident: str | None,
    ) -> Response:  # fmt: skip
        if proposing is not None and user.role not in EDITORS:
            raw = proposing.complete({k: v for k, v in raw.items() if k in proposing.keys}, user)
        entry = kind.save(registry, raw, user.email, ident)
        ident = ident or str(entry["identifiant"])
        accounts.record(user.email, kind.saved, ident, None, client_of(request))
        return RedirectResponse(shown(ident, entry), status_code=303)

    router.add_api_route(kind.new, new_form, methods=["GET"])
    router.add_api_route(f"{kind.prefix}/{{ident}}/modifier", edit_form, methods=["GET"])
    if kind.posted_to_entry:

        async def save_posted(
            request: Request, ident: str, raw: PostedFields, user: Editor,
            registry: RegistryDep, accounts: AccountsDep,
        ) -> Response:  # fmt: skip
            return saved(request, user, registry, accounts, dict(raw), ident)

        router.add_api_route(f"{kind.prefix}/{{ident}}", save_posted, methods=["POST"])
    else:

        async def save(
            request: Request, raw: PostedFields, user: Annotated[User, Depends(author)],
            registry: RegistryDep, accounts: AccountsDep,
        ) -> Response:  # fmt: skip
            return saved(request, user, registry, accounts, dict(raw), None)

        router.add_api_route(kind.prefix, save, methods=["POST"])
    remove = kind.remove
    if remove is not None:

        async def removed(
            request: Request, ident: str, _: PostedFields, user: Editor,
            registry: RegistryDep, accounts: AccountsDep,
        ) -> Response:  # fmt: skip
            remove(registry, ident)
            accounts.record(user.email, kind.removed, ident, None, client_of(request))
            return RedirectResponse(kind.prefix, status_code=303)

        router.add_api_route(f"{kind.prefix}/{{ident}}/supprimer", removed, methods=["POST"])
    return router
