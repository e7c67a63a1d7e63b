"""Sources and information systems: their inventory page (and its JSON and CSV twins), a
source's page, and their editing (:mod:`observatoire.web.routes.entries`).

    /sources, /sources/{id}     everyone (contacts: signed-in; notes: analysts; the last
                                check of the producers' editions: analysts)
    edit, remove                admin, analyst
    check, fetch editions       admin, analyst (POST /sources/verification,
                                /sources/{id}/recuperation)
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from observatoire.ingest.inventory_files import entries_table
from observatoire.inventory.fields import Entry, Located
from observatoire.inventory.sources import KINDS, SOURCE_FIELDS
from observatoire.services.inventory import Registry
from observatoire.services.remotes import (
    Remotes,
    last_checks,
    summary_of,
    withdrawn_imports,
)
from observatoire.web.deps import (
    CurrentUser,
    ObservatoryDep,
    PostedFields,
    RegistryDep,
    WritableObservatory,
)
from observatoire.web.importing import recompute
from observatoire.web.inventory_views import Editor, editable, source_view
from observatoire.web.responses import Format, csv_response, page_route, show_page
from observatoire.web.routes.entries import EntryKind, entry_router
from observatoire.web.uploads import MAX_UPLOAD

__all__ = ["SOURCES", "router"]


def _entry(registry: Registry, ident: str) -> Entry:
    entry = registry.source_entry(ident)
    if entry is None:
        registry.source(ident)  # the unknown-name error
    return entry or {}


SOURCES = EntryKind(
    prefix="/sources",
    fields=SOURCE_FIELDS,
    new="/sources/nouvelle",
    new_title="Nouvelle source",
    edit_title="Modifier la source {ident}",
    page="/sources/{ident}",
    load=_entry,
    save=lambda registry, raw, actor, _: registry.save_sources([Located(raw)], actor)[0],
    saved="inventaire : source enregistrée",
    remove=Registry.remove_source,
    removed="inventaire : source retirée",
)

router = APIRouter(include_in_schema=False)


@page_route(router, "/sources", "json", "csv")
def sources_page(
    request: Request,
    fmt: Format,
    user: CurrentUser,
    registry: RegistryDep,
    obs: ObservatoryDep,
) -> Response:
    params = request.query_params
    rows = registry.sources(
        params.get("q", ""),
        kind=params.get("type") or None,
        theme=params.get("theme") or None,
        overdue=params.get("retard") == "1",
    )
    rows = [source_view(r, user, obs) for r in rows]
    checks = last_checks(registry, withdrawn_imports(obs)) if editable(user) else {}
    if checks:  # the last check of each remote, for those who fetch editions
        for row in rows:
            row["verification"] = checks.get(str(row["identifiant"]))
    if fmt == "csv":
        keys = [f.key for f in SOURCE_FIELDS if editable(user) or f.key not in ("contact", "notes")]
        return csv_response(request, entries_table(rows, keys), "sources.csv")
    themes = sorted({t for r in registry.sources() for t in r.get("themes") or []})
    data = {
        "sources": rows,
        "query": params.get("q", ""),
        "kind": params.get("type", ""),
        "theme": params.get("theme", ""),
        "overdue": params.get("retard") == "1",
        "kinds": list(KINDS),
        "themes": themes,
        "editable": editable(user),
        "summary": summary_of(checks) if editable(user) else "",
    }
    title = "Sources et systèmes d'information"
    return show_page(request, fmt, "sources.html", data, title, max_age=0)


# Checking and fetching editions run in the server's thread pool, never on its event loop
# (the demo's fictitious producer is served by this very server); an import is followed by
# the recomputation an import made from the web always has.
@router.post("/sources/verification")
async def check_remotes(request: Request, fields: PostedFields, user: Editor, registry: RegistryDep,
                        obs: ObservatoryDep) -> Response:  # fmt: skip
    """Check every source's remote now (as ``observatoire sources check``), or the one
    source posted (field ``source``, from its page); back to the page it came from, which
    shows the verdicts kept."""
    one = fields.get("source") or None
    await run_in_threadpool(Remotes(obs, registry).check, [one] if one else None,
                            actor=user.email)  # fmt: skip
    back = f"/sources/{quote(one, safe='')}#distant" if one else "/sources#verification"
    return RedirectResponse(back, status_code=303)


@router.post("/sources/{ident}/recuperation")
async def fetch_edition(request: Request, ident: str, _: PostedFields, user: Editor,
                        registry: RegistryDep, obs: WritableObservatory) -> Response:  # fmt: skip
    """Fetch the source's latest edition and import it (as ``observatoire fetch``), within
    the size of a file deposited on the site, then recompute; the import's page."""
    done = await run_in_threadpool(Remotes(obs, registry).fetch, ident, actor=user.email,
                                   max_bytes=MAX_UPLOAD)  # fmt: skip
    await recompute(obs)
    return RedirectResponse(f"/imports/{done.report.batch}", status_code=303)


# before the source's page: « nouvelle » is no source's name
router.include_router(entry_router(SOURCES))


@page_route(router, "/sources/{ident}", "json")
def source_page(
    request: Request,
    fmt: Format,
    ident: str,
    user: CurrentUser,
    registry: RegistryDep,
    obs: ObservatoryDep,
) -> Response:
    source = source_view(registry.source(ident), user, obs)
    source["editable"] = editable(user)
    if editable(user):  # where its editions are published, and the last check of it
        source["verification"] = last_checks(registry, withdrawn_imports(obs)).get(ident)
    return show_page(request, fmt, "source.html", source, str(source["nom"]), max_age=0)
