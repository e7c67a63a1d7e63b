"""Observation needs and the work programme: their pages (and JSON and CSV twins), and their
editing (:mod:`observatoire.web.routes.entries`).

    /besoins, /besoins/non-couverts,    signed-in accounts
    /besoins/{id}, /programme[/{année}]
    propose a need                      signed-in accounts (status « exprimé »)
    edit needs, the programme           admin, analyst
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from observatoire.errors import InputError
from observatoire.ingest.inventory_files import entries_table
from observatoire.inventory.fields import Located, label_of
from observatoire.inventory.needs import ACTION_FIELDS, NEED_FIELDS, STATUSES
from observatoire.services.accounts import User
from observatoire.services.inventory import Registry
from observatoire.web.deps import RegistryDep
from observatoire.web.inventory_views import SignedIn, editable, need_view
from observatoire.web.responses import Format, csv_response, page_route, show_page
from observatoire.web.routes.entries import EntryKind, Proposing, entry_router

__all__ = ["ACTIONS", "NEEDS", "router"]


def _proposed(raw: dict[str, object], user: User) -> dict[str, object]:
    """A need proposed by a reader: « exprimé », in its organisation's name."""
    return {**raw, "demandeur": user.organisation or user.name or user.email, "statut": "exprime"}


NEEDS = EntryKind(
    prefix="/besoins",
    fields=NEED_FIELDS,
    new="/besoins/nouveau",
    new_title="Exprimer un besoin d'observation",
    edit_title="Modifier le besoin {ident}",
    page="/besoins/{ident}",
    load=Registry.need,
    save=lambda registry, raw, actor, _: registry.save_needs([Located(raw)], actor)[0][0],
    saved="besoins : besoin enregistré",
    blank={"priorite": "moyenne"},
    remove=Registry.remove_need,
    removed="besoins : besoin retiré",
    proposing=Proposing(
        keys=("question", "theme", "territoire", "priorite"),
        complete=_proposed,
        signed_out="connectez-vous pour voir les besoins d'observation et le programme",
    ),
)
ACTIONS = EntryKind(
    prefix="/programme-actions",
    fields=ACTION_FIELDS,
    new="/programme-actions/nouvelle",
    new_title="Nouvelle action du programme",
    edit_title="Modifier l'action {ident}",
    page="/programme/{annee}",
    load=Registry.action_entry,
    save=lambda registry, raw, actor, _: registry.save_needs([], actor, actions=[Located(raw)])[1][
        0
    ],
    saved="programme : action enregistrée",
    new_back="/programme",
)

router = APIRouter(include_in_schema=False)


@page_route(router, "/besoins", "json", "csv")
@page_route(router, "/besoins/non-couverts", "json", "csv")
def needs_page(request: Request, fmt: Format, user: SignedIn, registry: RegistryDep) -> Response:
    uncovered = "/non-couverts" in request.url.path
    status = request.query_params.get("statut") or None
    rows = registry.needs(open_only=uncovered, status=status)
    if fmt == "csv":
        name = "besoins-non-couverts.csv" if uncovered else "besoins.csv"
        return csv_response(request, entries_table(rows, [f.key for f in NEED_FIELDS]), name)
    data = {
        "needs": [need_view(n) for n in rows],
        "uncovered": uncovered,
        "status": status or "",
        "statuses": list(STATUSES),
        "editable": editable(user),
    }
    title = "Besoins non couverts" if uncovered else "Besoins d'observation"
    return show_page(request, fmt, "needs.html", data, title, max_age=0)


# before a need's page: « nouveau » is no need's identifier
router.include_router(entry_router(NEEDS))


@page_route(router, "/besoins/{ident}", "json")
def need_page(
    request: Request, fmt: Format, ident: str, user: SignedIn, registry: RegistryDep
) -> Response:
    need = need_view(registry.need(ident))
    need["editable"] = editable(user)
    return show_page(request, fmt, "need.html", need, f"Besoin {need['identifiant']}", max_age=0)


@page_route(router, "/programme", "json")
@page_route(router, "/programme/{year}", "json")
def programme_page(
    request: Request, fmt: Format, user: SignedIn, registry: RegistryDep, year: str | None = None
) -> Response:
    years = registry.programme_years()
    if year is None:
        chosen = years[-1] if years else None
    else:
        if not year.isdigit():
            raise InputError(f"année « {year} » invalide (AAAA)")
        chosen = int(year)
    actions = registry.programme(chosen) if chosen is not None else []
    for action in actions:
        action["type_label"] = label_of(ACTION_FIELDS[3], action.get("type"))
        action["statut_label"] = label_of(ACTION_FIELDS[7], action.get("statut"))
        action["besoins"] = [need_view(n) for n in action["besoins"]]
    data = {"year": chosen, "years": years, "actions": actions, "editable": editable(user)}
    title = f"Programme de travail {chosen or ''}".strip()
    return show_page(request, fmt, "programme.html", data, title, max_age=0)


router.include_router(entry_router(ACTIONS))
