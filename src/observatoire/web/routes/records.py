"""Completeness pages: how complete the operators' records are, for the State service and
analysts (every operator) and for each operator (its own records only).

Who may see what::

    /completude, /completude/{collection}       admin, analyst: every operator
                                                partner: the operators linked to its organisation,
                                                against the anonymous median of the others
    /completude/{collection}/operateurs/{code}  admin, analyst; partner: its own operators only
    …/restitution.pdf|.html                     the same rules (a territory's report: analysts)

Members and the public never see records: they are the operators' working data.
"""

from __future__ import annotations

from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, Request
from fastapi.responses import Response

from observatoire.errors import AccessError, InputError, UnknownNameError
from observatoire.observatory import Observatory
from observatoire.outputs.restitution import charts_of, render_restitution
from observatoire.quality.calendar import reporting_rates
from observatoire.quality.completeness import BY_CHOICES
from observatoire.services.accounts import Role, User
from observatoire.web import content
from observatoire.web.deps import ObservatoryDep, require
from observatoire.web.responses import Format, csv_response, download, page_route, show_page

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
GROUPINGS = {k: v for k, v in BY_CHOICES.items() if k not in ("field", "rule")}
RecordsReader = Annotated[
    User,
    require(
        Role.ADMIN,
        Role.ANALYST,
        Role.PARTNER,
        message="la complétude des enregistrements est réservée aux chargés d'études, aux "
        "administrateurs et aux opérateurs (pour leurs propres saisies)",
        signed_out="connectez-vous pour voir la complétude des enregistrements",
    ),
]


def _own(obs: Observatory, user: User, collection: str) -> list[str] | None:
    """The operators ``user`` may see (None: all of them)."""
    if user.role is not Role.PARTNER:
        return None
    return obs.records.operators(collection, partner=user.organisation).code.tolist()


def _rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return content.records(frame.round(1))


@page_route(router, "/completude", "json")
def collections_page(
    request: Request, fmt: Format, user: RecordsReader, obs: ObservatoryDep
) -> Response:
    listed = []
    for name, schema in obs.records.collections().items():
        own = _own(obs, user, name)
        if own is not None and not own:
            continue
        table = obs.records.completeness(name, by=[], operators=own)
        months = obs.records.completeness(name, by=["month"], operators=own).month
        listed.append(
            {
                "name": name,
                "label": schema.label,
                "fictitious": schema.fictitious,
                "records": int(table.records.iloc[0]) if len(table) else 0,
                "score": _rows(table)[0].get("score") if len(table) else None,
                "operators": len(own) if own is not None else len(obs.records.operators(name)),
                "first_month": str(months.min()) if len(months) else "",
                "last_month": str(months.max()) if len(months) else "",
            }
        )
    data = {"collections": listed}
    return show_page(request, fmt, "completude.html", data, "Complétude des saisies", max_age=0)


def _grouping(request: Request) -> tuple[str, str | None]:
    by = request.query_params.get("par", "operator")
    if by not in GROUPINGS:
        raise InputError(f"regroupement « {by} » inconnu ; possibles : {', '.join(GROUPINGS)}")
    level = request.query_params.get("niveau") or None
    return by, (level if by == "territory" else None)


@page_route(router, "/completude/{collection}", "json", "csv")
def collection_page(
    request: Request, fmt: Format, collection: str, user: RecordsReader, obs: ObservatoryDep
) -> Response:
    name = collection
    schema = obs.records.collection(name)
    own = _own(obs, user, name)
    by, level = _grouping(request)
    table = obs.records.completeness(name, by=[by], level=level, operators=own)
    quarters: tuple[str, str] | None = None
    if by == "operator":
        table = table.sort_values("score", ascending=False, na_position="last")
        table["rank"] = table.score.rank(ascending=False, method="min")
        try:
            change = obs.records.completeness_evolution(name, by=["operator"], operators=own)
        except InputError:  # a single quarter: no evolution to show
            change = None
        if change is not None and len(change):
            quarters = (str(change["from"].iloc[0]), str(change["to"].iloc[0]))
            table = table.merge(
                change[["operator", "before", "after", "change"]], on="operator", how="left"
            )
    if fmt == "csv":
        return csv_response(request, table.round(2), f"completude_{name}_{by}.csv")
    fields = obs.records.completeness(name, by=["field"], operators=own).sort_values("completeness")
    data: dict[str, Any] = {
        "collection": {
            "name": name,
            "label": schema.label,
            "fictitious": schema.fictitious,
            "alert": schema.alert,
            "threshold": schema.threshold,
        },
        "by": by,
        "level": level,
        "quarters": quarters,
        "groupings": GROUPINGS,
        "field_labels": {f.name: f.label for f in schema.measured},
        "rows": _rows(table),
        "fields": _rows(fields),
        "own": own,
    }
    if schema.calendar is not None:  # extracts expected, received, on time, by operator
        states = obs.records.timeliness(name)
        if own is not None:
            states = states[states.operator.isin(own)]
        rates = reporting_rates(states, ["operator", "name"])
        rates["alert"] = rates.timeliness < schema.calendar.alert
        data["timeliness"] = _rows(rates)
        data["calendar"] = {"frequency": schema.calendar.frequency,
                            "due_day": schema.calendar.due_day,
                            "alert": schema.calendar.alert}  # fmt: skip
    if own is None:  # the service sees who stands out, and who enters the same households
        jumps = obs.records.volume_jumps(name)
        names = obs.records.operators(name).set_index("code").name
        flagged = jumps[jumps.jump].assign(operator_name=lambda f: f.operator.map(names))
        data["jumps"] = _rows(flagged)
        data["duplicates"] = len(obs.records.duplicates(name))
    title = f"Complétude : {schema.label}"
    return show_page(request, fmt, "completude_collection.html", data, title, max_age=0)


def _operator(obs: Observatory, user: User, collection: str, code: str) -> str:
    """The collection's name, when ``user`` may see the operator ``code``."""
    name = obs.records.collection(collection).name
    own = _own(obs, user, name)
    if own is not None and code not in own:
        raise AccessError(f"l'opérateur {code} n'est pas rattaché à votre organisation")
    return name


@page_route(router, "/completude/{collection}/operateurs/{code}", "json")
def operator_page(
    request: Request,
    fmt: Format,
    collection: str,
    code: str,
    user: RecordsReader,
    obs: ObservatoryDep,
) -> Response:
    name = _operator(obs, user, collection, code)
    report = obs.records.restitution(name, operator=code, analyst=user.role is not Role.PARTNER)
    data = {**report.to_dict(), "charts": charts_of(report)}
    if fmt == "json":
        data.pop("charts")
    name = report.operator["name"] if report.operator else code
    title = f"Complétude : {name}"
    return show_page(request, fmt, "completude_operator.html", data, title, max_age=0)


@router.get("/completude/{collection}/operateurs/{code}/{document}.{fmt}")
def operator_report(
    request: Request,
    collection: str,
    code: str,
    document: str,
    fmt: str,
    user: RecordsReader,
    obs: ObservatoryDep,
) -> Response:
    """The operator's restitution report (PDF, HTML) or deck (PPTX, HTML): its records only,
    against the anonymous median of the others."""
    writer = _writer(document)
    name = _operator(obs, user, collection, code)
    report = obs.records.restitution(name, operator=code, analyst=user.role is not Role.PARTNER)
    return writer(request, obs, report, fmt, f"{document}_{name}_{code}")


@router.get("/completude/{collection}/{document}.{fmt}")
def territory_report(
    request: Request,
    collection: str,
    document: str,
    fmt: str,
    user: RecordsReader,
    obs: ObservatoryDep,
) -> Response:
    """A territory's (or the whole collection's) restitution report or deck: analysts only."""
    writer = _writer(document)
    if user.role is Role.PARTNER:
        raise AccessError(
            "le rapport d'un territoire montre tous ses opérateurs : il est réservé aux "
            "chargés d'études ; votre rapport est celui de votre opérateur"
        )
    territory = request.query_params.get("territoire") or None
    report = obs.records.restitution(collection, territory=territory)
    suffix = f"_{territory.replace(':', '-')}" if territory else ""
    return writer(request, obs, report, fmt, f"{document}_{collection}{suffix}")


def _writer(document: str) -> Any:
    """What a restitution is written as: the report, or the deck for the meeting."""
    writers = {"restitution": _report, "diaporama": _deck}
    if document not in writers:
        raise UnknownNameError("document", document, list(writers))
    return writers[document]


def _deck(request: Request, obs: Observatory, report: Any, fmt: str, stem: str) -> Response:
    from observatoire.outputs.deck import restitution_deck
    from observatoire.outputs.deck_render import deck_html, deck_pptx

    if fmt not in ("pptx", "html"):
        raise InputError(f"format « {fmt} » : pptx ou html")
    deck = restitution_deck(report)
    body = deck_pptx(deck) if fmt == "pptx" else deck_html(deck).encode("utf-8")
    media = (
        "application/vnd.openxmlformats-officedocument.presentationml.presentation"
        if fmt == "pptx"
        else "text/html; charset=utf-8"
    )
    return download(request, body, media, f"{stem}.{fmt}")


def _report(request: Request, obs: Observatory, report: Any, fmt: str, stem: str) -> Response:
    if fmt not in ("pdf", "html"):
        raise InputError(f"format « {fmt} » : pdf ou html")
    body = render_restitution(report, fmt, home=obs.home.path)
    media = "application/pdf" if fmt == "pdf" else "text/html; charset=utf-8"
    return download(request, body, media, f"{stem}.{fmt}")
