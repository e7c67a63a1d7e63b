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
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from observatoire.errors import AccessError
from observatoire.observatory import Observatory
from observatoire.services.accounts import Role, User
from observatoire.services.deposits import Proposal
from observatoire.web import content
from observatoire.web.deps import (
    AccountsDep,
    ObservatoryDep,
    PostedForm,
    WritableObservatory,
    client_of,
    require,
)
from observatoire.web.importing import deposits_of, recompute
from observatoire.web.responses import Format, page_route, show_page

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
DECIDERS = (Role.ADMIN, Role.ANALYST)
ProposalReader = Annotated[
    User,
    require(
        *DECIDERS,
        Role.PARTNER,
        message="propositions réservées aux chargés d'études et aux partenaires",
    ),
]
Decider = Annotated[
    User,
    require(*DECIDERS, message="décision réservée aux chargés d'études et aux administrateurs"),
]


@page_route(router, "/imports/propositions/{ident}", "json")
def proposal_page(
    request: Request, fmt: Format, ident: str, user: ProposalReader, obs: ObservatoryDep
) -> Response:
    found = deposits_of(obs).proposal(ident)
    if user.role is Role.PARTNER and found.organisation != user.organisation:
        raise AccessError("cette proposition n'est pas celle de votre organisme")
    data = {
        "proposal": {k: v for k, v in asdict(found).items() if k not in ("file", "report")},
        "file": found.file.name,
        "report": found.report,
        "replaces": _in_force(obs, found, details=user.role in DECIDERS),
        "can_decide": user.role in DECIDERS,
    }
    title = f"Proposition de {found.organisation}"
    return show_page(request, fmt, "proposal.html", data, title, max_age=0)


def _in_force(obs: Observatory, found: Proposal, *, details: bool) -> list[dict[str, Any]]:
    """The imports in force that accepting the proposal would replace (same dataset, one of
    its periods): their number and edition, and for an analyst their file and author (a
    partner does not read other organisations' imports)."""
    rows = obs.imports()
    if rows.empty:
        return []
    periods = {str(p) for p in found.report.get("periods") or []}
    mine = rows[(rows.dataset == found.dataset) & (rows.status == "active")]
    mine = mine[[str(e) in periods for e in mine.edition]]
    return content.records(mine if details else mine[["id", "edition"]])


@router.post("/imports/propositions/{ident}/accepter")
async def accept(
    request: Request,
    ident: str,
    form: PostedForm,
    user: Decider,
    obs: WritableObservatory,
    accounts: AccountsDep,
) -> Response:
    """Import a proposal on its partner's behalf, then recompute the indicators."""
    deposits = deposits_of(obs)
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
    accounts.record(
        user.email,
        "proposition acceptée",
        found.file.name,
        f"n° {report.batch} ({report.dataset}) de {found.organisation}",
        client_of(request),
    )
    begin = time.perf_counter()
    await recompute(obs)
    accounts.record(
        user.email, "calcul des indicateurs", f"n° {report.batch}",
        f"{time.perf_counter() - begin:.1f} s",
    )  # fmt: skip
    return RedirectResponse(f"/imports/{report.batch}", status_code=303)


@router.post("/imports/propositions/{ident}/refuser")
async def refuse(
    request: Request,
    ident: str,
    form: PostedForm,
    user: Decider,
    obs: ObservatoryDep,
    accounts: AccountsDep,
) -> Response:
    """Refuse a proposal: its file is removed, nothing was written."""
    deposits = deposits_of(obs)
    found = deposits.take(ident)
    deposits.decide(ident)
    reason = str(form.get("motif", ""))[:500]
    accounts.record(
        user.email,
        "proposition refusée",
        found.file.name,
        f"{found.dataset} de {found.organisation}" + (f" : {reason}" if reason else ""),
        client_of(request),
    )
    return RedirectResponse("/imports", status_code=303)
