"""Import pages: deposit a file, read its validation report, confirm, history, rollback.

Who may do what::

    deposit, confirm     admin, analyst, partner (a partner's imports are its organisation's)
    history, details     admin, analyst (all); partner (its organisation's only)
    rollback             admin, analyst

A deposit is first imported with ``dry_run`` (nothing written): the report says what the file
holds and what would be rejected, line and column. Confirming imports it for good (atomic), then
recomputes the indicators it made stale. A partner's file that would create or replace a
producer's or the observatory's dataset is not imported when confirmed: it becomes a proposal
an analyst accepts or refuses (:mod:`observatoire.web.routes.proposals`). Every step is in the
audit log. The import API is :mod:`observatoire.web.routes.api_imports`.
"""

from __future__ import annotations

import functools
import re
import time
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from observatoire.errors import AccessError, InputError
from observatoire.observatory import Observatory
from observatoire.services.accounts import Accounts, Role, User
from observatoire.services.quality import OPEN_STATES
from observatoire.web import uploads
from observatoire.web.deps import (
    AccountsDep,
    Depositing,
    ObservatoryDep,
    PostedForm,
    QualityDep,
    WritableObservatory,
    client_of,
    require,
    writable,
)
from observatoire.web.errors import public_message, status_of
from observatoire.web.importing import (
    IMPORTERS,
    content_safe,
    deposits_of,
    history,
    importer,
    partner_of,
    proposals_view,
    receive_deposit,
    recompute,
)
from observatoire.web.responses import Format, page_route, show_page
from observatoire.web.uploads import one_at_a_time

__all__ = ["SIGNED_OUT", "Importer", "router"]

router = APIRouter(include_in_schema=False)
SIGNED_OUT = "connectez-vous pour accéder aux imports"
Importer = Annotated[User, require(*IMPORTERS, signed_out=SIGNED_OUT)]
Withdrawer = Annotated[User, require(Role.ADMIN, Role.ANALYST, signed_out=SIGNED_OUT)]


def _listing(obs: Observatory, user: User, **extra: object) -> dict[str, Any]:
    """What the imports page shows ``user``: history, proposals, the deposit form."""
    return {
        "imports": history(obs, user),
        "proposals": proposals_view(obs, user),
        "writable": obs.writable,
        "can_rollback": user.role in (Role.ADMIN, Role.ANALYST),
        "collections": [
            {"name": n, "label": s.label} for n, s in obs.records.collections().items()
        ],
        **extra,
    }


@page_route(router, "/imports", "json")
def imports_page(request: Request, fmt: Format, user: Importer, obs: ObservatoryDep) -> Response:
    return show_page(request, fmt, "imports.html", _listing(obs, user), "Imports")


@router.post("/imports")
async def deposit(
    request: Request,
    user: Importer,
    obs: ObservatoryDep,
    accounts: AccountsDep,
    busy: Depositing,
) -> Response:
    """Receive the file and show what importing it would do (nothing written yet)."""
    async with one_at_a_time(busy, user.email):
        return await _deposit(request, user, writable(obs), accounts)


async def _deposit(request: Request, user: User, obs: Observatory, accounts: Accounts) -> Response:
    upload = await receive_deposit(request, obs, csrf=True)
    assert upload.path is not None and upload.folder is not None
    collection = upload.fields.get("collection", "")
    try:  # reading a file takes time: off the event loop
        run = importer(obs, user, collection)
        report = await run_in_threadpool(run, upload.path, dry_run=True)
    except (InputError, AccessError) as refused:
        upload.discard()
        message = public_message(request, refused)
        accounts.record(user.email, "dépôt refusé", upload.name, message, client_of(request))
        data = _listing(obs, user, error=message)
        return show_page(
            request, "html", "imports.html", data, "Imports", status=status_of(refused)
        )
    except BaseException:
        upload.discard()
        raise
    proposal = bool(getattr(report, "proposal", False))
    deposits_of(obs).hold(upload.folder, user=user.email, collection=collection, proposal=proposal)
    dataset = f"enregistrements.{collection}" if collection else getattr(report, "dataset", "")
    accounts.record(user.email, "dépôt", upload.name, dataset, client_of(request))
    data = {
        "deposit": upload.folder.name,
        "file": upload.name,
        "report": asdict(report),
        "collection": collection,
        "proposal": proposal,
    }
    return show_page(request, "html", "import_report.html", data, f"Validation de {upload.name}")


@router.post("/imports/confirmer")
async def confirm(
    request: Request,
    form: PostedForm,
    user: Importer,
    obs: WritableObservatory,
    accounts: AccountsDep,
) -> Response:
    """Import a deposit for good, then recompute the indicators it made stale. The deposit
    is removed whatever happens (imported, refused, cancelled)."""
    deposits = deposits_of(obs)
    folder, file, ticket = deposits.claim(str(form.get("depot", "")), user=user.email)
    collection = str(ticket.get("collection") or "")
    if str(form.get("action", "")) == "annuler":
        deposits.forget(folder)
        return RedirectResponse("/imports", status_code=303)
    if ticket.get("proposal") and partner_of(user) is not None:
        return await _propose(request, obs, user, accounts, folder, file)
    try:
        run = importer(obs, user, collection)
        report = await run_in_threadpool(run, file, user=user.email)
    finally:
        deposits.forget(folder)
    dataset = f"enregistrements.{collection}" if collection else getattr(report, "dataset", "")
    accounts.record(
        user.email, "import", file.name, f"n° {report.batch} ({dataset})", client_of(request)
    )
    begin = time.perf_counter()
    await recompute(obs)
    accounts.record(
        user.email,
        "calcul des indicateurs",
        f"n° {report.batch}",
        f"{time.perf_counter() - begin:.1f} s",
    )
    return RedirectResponse(f"/imports/{report.batch}", status_code=303)


async def _propose(
    request: Request, obs: Observatory, user: User, accounts: Accounts, folder: Path, file: Path
) -> Response:
    """File a partner's deposit as a proposal (validated again: the base may have changed)."""
    deposits = deposits_of(obs)
    try:
        report = await run_in_threadpool(
            obs.import_file,
            file,
            dry_run=True,
            partner=user.organisation,
            max_bytes=uploads.MAX_UPLOAD,
        )
        assert user.organisation is not None
        ident = deposits.propose(
            folder,
            organisation=user.organisation,
            user=user.email,
            dataset=report.dataset,
            report=content_safe(asdict(report)),
        )
    except BaseException:
        deposits.forget(folder)
        raise
    accounts.record(
        user.email, "proposition", file.name, f"{report.dataset} (n° {ident})", client_of(request)
    )
    return RedirectResponse(f"/imports/propositions/{ident}", status_code=303)


@page_route(router, "/imports/{name}", "json")
def import_page(
    request: Request, fmt: Format, name: str, user: Importer, obs: ObservatoryDep,
    quality: QualityDep,
) -> Response:
    if not re.fullmatch(r"[0-9]{1,9}", name):
        raise InputError(f"numéro d'import attendu : « {name} »")
    details = obs.import_details(int(name))
    if user.role is Role.PARTNER and details.get("partner") != user.organisation:
        raise AccessError("cet import n'est pas celui de votre organisme")
    data = {
        "import": {k: v for k, v in details.items() if k != "report"},
        "report": details.get("report"),
        "can_rollback": user.role in (Role.ADMIN, Role.ANALYST),
    }
    if user.role in (Role.ADMIN, Role.ANALYST):  # the review is the analysts' (/qualite)
        raised = quality.flags(states=[*OPEN_STATES, "faux_positif"], batch=int(name))
        data["flags"] = [
            {"id": f.id, "severity": f.severity, "state": f.state_label, "check": f.check,
             "territory": f.territory or f.code, "period": f.period, "message": f.message}
            for f in raised.head(200).itertuples(index=False)
        ]  # fmt: skip
        data["flag_count"] = len(raised)
    return show_page(request, fmt, "import_detail.html", content_safe(data), f"Import n° {name}")


@router.post("/imports/{batch}/retirer")
async def withdraw(
    request: Request,
    batch: int,
    form: PostedForm,
    user: Withdrawer,
    obs: WritableObservatory,
    accounts: AccountsDep,
) -> Response:
    """Roll an import back (the version it replaced, if any, is in force again)."""
    # the values it fed recomputed in the same write: readers never see them missing
    _, restored = await run_in_threadpool(functools.partial(obs.rollback, batch, recompute=True))
    detail = f"version n° {restored} rétablie" if restored else None
    accounts.record(user.email, "retour arrière", f"n° {batch}", detail, client_of(request))
    return RedirectResponse("/imports", status_code=303)
