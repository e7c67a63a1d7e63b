"""Partners' proposals: files that would create or replace a producer's or the observatory's
dataset wait for an analyst, who reads their validation report and accepts or refuses them.

Who may do what::

    see a proposal         admin, analyst (all); partner (its organisation's)
    accept, refuse         admin, analyst

Accepting imports the file on the partner's behalf (atomic), then recomputes the indicators;
refusing removes it. Both are in the audit log, with the partner's and the analyst's names.
"""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from observatoire.accounts import Role, User
from observatoire.deposits import Deposits, Proposal
from observatoire.errors import AccessError
from observatoire.observatory import Observatory
from observatoire.web.app import respond
from observatoire.web.auth import check_csrf, client_of, viewer

__all__ = ["proposals_view", "router"]

router = APIRouter(include_in_schema=False)
DECIDERS = (Role.ADMIN, Role.ANALYST)


def _reader(request: Request) -> User:
    user = viewer(request)
    if user is None or user.role not in (*DECIDERS, Role.PARTNER):
        raise AccessError("propositions réservées aux chargés d'études et aux partenaires")
    return user


def _decider(request: Request) -> User:
    user = viewer(request)
    if user is None or user.role not in DECIDERS:
        raise AccessError("décision réservée aux chargés d'études et aux administrateurs")
    return user


def _deposits(request: Request) -> Deposits:
    observatory: Observatory = request.app.state.observatory
    return Deposits(observatory.home.path)


def proposals_view(request: Request, user: User) -> list[dict[str, Any]]:
    """The proposals ``user`` may see (a partner: its organisation's), as listed."""
    organisation = user.organisation if user.role is Role.PARTNER else None
    if user.role is Role.PARTNER and not organisation:
        return []  # an account of no organisation sees no one's
    return [
        {
            "id": p.id,
            "file": p.file.name,
            "organisation": p.organisation,
            "user": p.user,
            "at": p.at,
            "dataset": p.dataset,
            "rows": p.report.get("rows_imported"),
            "periods": p.report.get("periods") or [],
        }
        for p in _deposits(request).proposals(organisation=organisation)
    ]


def _visible(request: Request, ident: str) -> tuple[User, Proposal]:
    user = _reader(request)
    found = _deposits(request).proposal(ident)
    if user.role is Role.PARTNER and found.organisation != user.organisation:
        raise AccessError("cette proposition n'est pas celle de votre organisme")
    return user, found


@router.get("/imports/propositions/{ident}")
def proposal_page(request: Request, ident: str) -> Response:
    from observatoire.web.pages import render_page

    stem = ident.removesuffix(".json")
    user, found = _visible(request, stem)
    data = {
        "proposal": {k: v for k, v in asdict(found).items() if k not in ("file", "report")},
        "file": found.file.name,
        "report": found.report,
        "replaces": _in_force(request, found, details=user.role in DECIDERS),
        "can_decide": user.role in DECIDERS,
    }
    if ident.endswith(".json"):
        return respond(request, data, max_age=0)
    return render_page(request, "proposal.html", data, f"Proposition de {found.organisation}")


def _in_force(request: Request, found: Proposal, *, details: bool) -> list[dict[str, Any]]:
    """The imports in force that accepting the proposal would replace (same dataset, one of
    its periods): their number and edition, and for an analyst their file and author (a
    partner does not read other organisations' imports)."""
    from observatoire.web import content

    observatory: Observatory = request.app.state.observatory
    rows = observatory.imports()
    if rows.empty:
        return []
    periods = {str(p) for p in found.report.get("periods") or []}
    mine = rows[(rows.dataset == found.dataset) & (rows.status == "active")]
    mine = mine[[str(e) in periods for e in mine.edition]]
    return content.records(mine if details else mine[["id", "edition"]])


@router.post("/imports/propositions/{ident}/accepter")
async def accept(request: Request, ident: str) -> Response:
    """Import a proposal on its partner's behalf, then recompute the indicators."""
    form = await request.form()
    check_csrf(request, form)
    user = _decider(request)
    from observatoire.web.imports import writable

    obs = writable(request)
    deposits = _deposits(request)
    found = deposits.take(ident)  # an acceptance racing a refusal: one of them only
    try:
        report = await run_in_threadpool(
            obs.import_file,
            found.file,
            user=f"{found.user} (accepté par {user.email})",
            partner=found.organisation,
            accepted=True,
        )
    except BaseException:
        deposits.release(ident)
        raise
    deposits.decide(ident)
    accounts = request.app.state.accounts
    accounts.record(
        user.email,
        "proposition acceptée",
        found.file.name,
        f"n° {report.batch} ({report.dataset}) de {found.organisation}",
        client_of(request),
    )
    begin = time.perf_counter()
    await run_in_threadpool(obs.compute)
    accounts.record(
        user.email, "calcul des indicateurs", f"n° {report.batch}",
        f"{time.perf_counter() - begin:.1f} s",
    )  # fmt: skip
    return RedirectResponse(f"/imports/{report.batch}", status_code=303)


@router.post("/imports/propositions/{ident}/refuser")
async def refuse(request: Request, ident: str) -> Response:
    """Refuse a proposal: its file is removed, nothing was written."""
    form = await request.form()
    check_csrf(request, form)
    user = _decider(request)
    deposits = _deposits(request)
    found = deposits.take(ident)
    deposits.decide(ident)
    reason = str(form.get("motif", ""))[:500]
    request.app.state.accounts.record(
        user.email,
        "proposition refusée",
        found.file.name,
        f"{found.dataset} de {found.organisation}" + (f" : {reason}" if reason else ""),
        client_of(request),
    )
    return RedirectResponse("/imports", status_code=303)
