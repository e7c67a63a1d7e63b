"""The data-quality review: points de vigilance for analysts, their states, the yearly report.

    /qualite[.json|.csv]            admin, analyst: the flags, most severe first, with filters
    /qualite/{id}[.json]            admin, analyst: one flag, its history, a form for its state
    POST /qualite/{id}              admin, analyst: give it a state and a comment
    /api/v1/quality/flags           admin, analyst (API token): the flags as JSON (or CSV)
    POST /api/v1/quality/flags      admin, analyst: a state for several flags

Members, partners and the public never see this list: a value's confirmed flag reaches them
beside the value itself (indicator pages, portraits).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import date
from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response

from observatoire.errors import AccessError, InputError
from observatoire.quality.flags import CHECKS, DOMAINS, SEVERITIES, STATES
from observatoire.services.accounts import Role, User
from observatoire.services.quality import OPEN_STATES, QualityReview
from observatoire.web import content
from observatoire.web.deps import (
    AccountsDep,
    PostedFields,
    QualityDep,
    client_of,
    require,
    role_check,
    viewer,
)
from observatoire.web.responses import (
    Format,
    csv_response,
    download,
    page_route,
    respond,
    show_page,
)
from observatoire.web.schemas import CSV_ANSWER, FlagsPublic, FlagStatePublic

__all__ = ["api_router", "router"]

router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api/v1", tags=["qualité"])
QualityReader = Annotated[
    User,
    require(
        Role.ADMIN,
        Role.ANALYST,
        message="la revue de qualité des données est réservée aux chargés d'études et aux "
        "administrateurs",
        signed_out="connectez-vous pour voir la revue de qualité des données",
    ),
]
_scripted = role_check(Role.ADMIN, Role.ANALYST,
                       message="la revue de qualité est réservée aux chargés d'études et aux "
                       "administrateurs")  # fmt: skip


def scripted(request: Request) -> User:
    """A change of state through the API: identified by an API token (a cookie would need a
    CSRF token, which the site's form carries)."""
    if not request.headers.get("authorization", "").lower().startswith("bearer "):
        raise AccessError("changement d'état par l'API : identifiez-vous avec un jeton "
                          "(Authorization: Bearer)")  # fmt: skip
    return _scripted(viewer(request))


Script = Annotated[User, Depends(scripted)]
NUMBER, YEAR = re.compile(r"[0-9]{1,9}"), re.compile(r"[0-9]{4}")  # ASCII digits only
SUBJECTS = "Indicateur, coherence:ID, collection:NOM ou source:NOM"
SHOWN = 500  # flags listed on the page (the CSV has them all)
PUBLIC_COLUMNS = ["id", "domain", "check_name", "check", "severity", "subject",
                  "subject_label", "level", "code", "territory", "period", "message", "detail",
                  "batch", "state", "state_label", "comment", "set_by", "set_at",
                  "first_seen", "last_seen"]  # fmt: skip


def _no_store(response: Response) -> Response:
    """The analysts' working lists change with every state given: no copy kept anywhere."""
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _choices(request: Request, key: str, known: Mapping[str, object]) -> list[str]:
    values = [v for v in request.query_params.getlist(key) if v]
    for value in values:
        if value not in known:
            raise InputError(f"{key} « {value} » inconnu ; possibles : {', '.join(known)}")
    return values


def _filtered(request: Request, service: QualityReview) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The flags the query asks for (etat, domaine, gravite, sujet, niveau, territoire,
    import), and the filters as given."""
    params = request.query_params
    states = _choices(request, "etat", STATES) or list(OPEN_STATES)
    batch = params.get("import") or None
    if batch is not None and not NUMBER.fullmatch(batch):
        raise InputError(f"import « {batch} » : un numéro attendu")
    domains = _choices(request, "domaine", DOMAINS)
    severities = _choices(request, "gravite", SEVERITIES)
    subject, level = params.get("sujet") or "", params.get("niveau") or ""
    territory = params.get("territoire") or ""
    filters: dict[str, Any] = {
        "etat": states, "domaine": domains, "gravite": severities, "sujet": subject,
        "niveau": level, "territoire": territory, "import": batch or "",
    }  # fmt: skip
    found = service.flags(
        states=states, domains=domains, severities=severities, subject=subject or None,
        level=level or None, territory=territory or None,
        batch=int(batch) if batch else None,
    )  # fmt: skip
    return found, filters


def _rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    if frame.empty:
        return []
    shown = frame.reindex(columns=PUBLIC_COLUMNS).astype(object)
    shown = shown.where(shown.notna(), None)
    rows = shown.to_dict("records")
    for row in rows:
        row["batch"] = int(row["batch"]) if row["batch"] is not None else None
    return rows


def _table(frame: pd.DataFrame) -> pd.DataFrame:
    """The flags as a CSV table (French headers, the detail as JSON)."""
    columns = {"id": "id", "severity": "gravite", "state_label": "etat", "domain": "domaine",
               "check": "controle", "subject": "sujet", "subject_label": "libelle_sujet",
               "level": "niveau", "code": "code", "territory": "territoire",
               "period": "periode", "message": "constat", "batch": "import",
               "comment": "commentaire", "set_by": "par", "set_at": "le",
               "first_seen": "releve_le", "last_seen": "derniere_revue"}  # fmt: skip
    out = frame.reindex(columns=list(columns)).rename(columns=columns)
    out["detail"] = [json.dumps(d, ensure_ascii=False) for d in frame.get("detail", [])]
    return out


@page_route(router, "/qualite", "json", "csv")
def flags_page(request: Request, fmt: Format, user: QualityReader,
               service: QualityDep) -> Response:  # fmt: skip
    found, filters = _filtered(request, service)
    if fmt == "csv":
        return _no_store(csv_response(request, _table(found), "points_de_vigilance.csv"))
    counts = (found.groupby(["domain", "severity"]).size().unstack(fill_value=0)
              if len(found) else pd.DataFrame())  # fmt: skip
    summary = [
        {"domain": d, "label": label, **{s: int(counts.loc[d, s]) if d in counts.index and s in
                                         counts.columns else 0 for s in SEVERITIES}}
        for d, label in DOMAINS.items()
    ]  # fmt: skip
    reviews = content.records(service.reviews().head(5))
    data = {"count": len(found), "shown": min(len(found), SHOWN), "flags": _rows(found.head(SHOWN)),
            "summary": summary, "filters": filters, "reviews": reviews,
            "states": STATES, "domains": DOMAINS, "severities": list(SEVERITIES),
            "checks": CHECKS, "year": date.today().year}  # fmt: skip
    return show_page(request, fmt, "qualite.html", data, "Revue de qualité des données",
                     max_age=0)  # fmt: skip


@router.get("/qualite/rapport/{name}")
def yearly_report(name: str, request: Request, user: QualityReader,
                  service: QualityDep) -> Response:  # fmt: skip
    """The yearly review: ``/qualite/rapport/2026.pdf`` (or .html, .xlsx)."""
    from observatoire.outputs.review_report import FORMATS, render_review

    year, _, fmt = name.partition(".")
    if not YEAR.fullmatch(year) or fmt not in FORMATS:
        raise InputError(f"rapport « {name} » : AAAA.html, AAAA.pdf ou AAAA.xlsx attendu")
    report = service.yearly(int(year))
    body = render_review(report, fmt, home=service.obs.home.path)
    if fmt == "html":
        return Response(body, media_type=FORMATS[fmt], headers={"Cache-Control": "no-store"})
    return _no_store(download(request, body, FORMATS[fmt], f"revue_qualite_{year}.{fmt}"))


@page_route(router, "/qualite/{ident}", "json")
def flag_page(request: Request, fmt: Format, ident: str, user: QualityReader,
              service: QualityDep) -> Response:  # fmt: skip
    flag, events = service.flag(ident)
    data = {"flag": _rows(flag.to_frame().T)[0], "history": content.records(events),
            "states": STATES}  # fmt: skip
    return show_page(request, fmt, "qualite_flag.html", data, f"Point de vigilance {ident}",
                     max_age=0)  # fmt: skip


@router.post("/qualite/{ident}")
def set_flag_state(request: Request, ident: str, user: QualityReader, service: QualityDep,
                   fields: PostedFields, accounts: AccountsDep) -> Response:  # fmt: skip
    state = fields.get("etat", "")
    service.set_state([ident], state, actor=user.email, comment=fields.get("commentaire"))
    accounts.record(user.email, "qualité", ident, f"état : {state}", client_of(request))
    return RedirectResponse(f"/qualite/{ident}", status_code=303)


@api_router.get("/quality/flags", summary="Points de vigilance de la revue de qualité",
                response_model=FlagsPublic, responses=CSV_ANSWER)  # fmt: skip
def api_flags(
    request: Request,
    user: QualityReader,
    service: QualityDep,
    format: Annotated[str, Query(description="json ou csv")] = "json",
    etat: Annotated[list[str] | None, Query(description=", ".join(STATES))] = None,
    domaine: Annotated[list[str] | None, Query(description=", ".join(DOMAINS))] = None,
    gravite: Annotated[list[str] | None, Query(description=", ".join(SEVERITIES))] = None,
    sujet: Annotated[str | None, Query(description=SUBJECTS)] = None,
    niveau: str | None = None,
    territoire: str | None = None,
    import_: Annotated[str | None, Query(alias="import", description="N° d'import")] = None,
) -> Response:
    found, _ = _filtered(request, service)
    if format == "csv":
        return _no_store(csv_response(request, _table(found), "points_de_vigilance.csv"))
    if format != "json":
        raise InputError(f"format « {format} » : json ou csv")
    return respond(request, {"count": len(found), "rows": _rows(found)}, max_age=0)


@api_router.post("/quality/flags", summary="Donner un état à des points de vigilance",
                 response_model=FlagsPublic)  # fmt: skip
def api_set_state(request: Request, body: FlagStatePublic, user: Script,
                  service: QualityDep, accounts: AccountsDep) -> Response:  # fmt: skip
    service.set_state(body.ids, body.state, actor=user.email, comment=body.comment)
    accounts.record(user.email, "qualité", ", ".join(body.ids[:20]), f"état : {body.state}",
                    client_of(request))  # fmt: skip
    found = service.flags(states=list(STATES))
    found = found[found.id.isin(body.ids)]
    return respond(request, {"count": len(found), "rows": _rows(found)}, max_age=0)
