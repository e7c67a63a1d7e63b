"""Imports through the API (``/api/v1/imports``): the history, and a deposit validated then
imported. A script identifies itself with an API token (a cookie would need a CSRF token); the
rights are those of the import pages (:mod:`observatoire.web.routes.imports`)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from observatoire.errors import AccessError
from observatoire.observatory import Observatory
from observatoire.services.accounts import Accounts, User
from observatoire.web import uploads
from observatoire.web.deps import (
    AccountsDep,
    Depositing,
    ObservatoryDep,
    client_of,
    role_check,
    viewer,
    writable,
)
from observatoire.web.importing import (
    IMPORTERS,
    content_safe,
    deposits_of,
    history,
    partner_of,
    receive_deposit,
    recompute,
)
from observatoire.web.responses import respond
from observatoire.web.routes.imports import SIGNED_OUT
from observatoire.web.schemas import ImportReportPublic, ImportsPublic, ProposalFiledPublic
from observatoire.web.uploads import Upload, one_at_a_time

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["api"])
_importer = role_check(*IMPORTERS, signed_out=SIGNED_OUT)


def scripted(request: Request) -> User:
    """An import through the API: identified by an API token (a cookie would need CSRF)."""
    if not request.headers.get("authorization", "").lower().startswith("bearer "):
        raise AccessError(
            "import par l'API : identifiez-vous avec un jeton (Authorization: Bearer)"
        )
    return _importer(viewer(request))


Script = Annotated[User, Depends(scripted)]


@router.get(
    "/imports", summary="Historique des imports (selon le rôle)", response_model=ImportsPublic
)
def api_imports(request: Request, obs: ObservatoryDep, user: Script) -> Response:
    return respond(request, {"imports": history(obs, user)})


@router.post(
    "/imports",
    summary="Déposer un fichier : rapport de validation, puis import",
    response_model=ImportReportPublic,
    responses={
        201: {"model": ImportReportPublic, "description": "Importé"},
        202: {"model": ProposalFiledPublic, "description": "Proposition d'un partenaire"},
    },
)
async def api_import(
    request: Request,
    user: Script,
    obs: ObservatoryDep,
    accounts: AccountsDep,
    busy: Depositing,
    dry_run: bool = False,
) -> Response:
    """Multipart field ``fichier``. With ``dry_run=true`` nothing is written: the validation
    report only. Otherwise the file is imported (atomic), the indicators it touches are
    recomputed, and the report says the import's number (201). The file is received within
    the deposit limit and removed once read, whatever the outcome."""
    async with one_at_a_time(busy, user.email):
        return await _api_import(request, user, writable(obs), accounts, dry_run)


async def _api_import(
    request: Request, user: User, obs: Observatory, accounts: Accounts, dry_run: bool
) -> Response:
    upload = await receive_deposit(request, obs, csrf=False)
    assert upload.path is not None and upload.folder is not None
    partner = partner_of(user)
    try:
        report = await run_in_threadpool(
            obs.import_file,
            upload.path,
            dry_run=dry_run or partner is not None,  # a partner's file: validated first
            user=user.email,
            partner=partner,
            max_bytes=uploads.MAX_UPLOAD,
        )
        if not dry_run and partner is not None:
            if report.proposal:
                return _proposed(request, user, obs, accounts, upload, content_safe(asdict(report)))
            report = await run_in_threadpool(
                obs.import_file,
                upload.path,
                user=user.email,
                partner=partner,
                max_bytes=uploads.MAX_UPLOAD,
            )
    finally:
        upload.discard()
    if not dry_run:
        accounts.record(
            user.email, "import", upload.name, f"n° {report.batch} (API)", client_of(request)
        )
        await recompute(obs)
    response = respond(request, content_safe(asdict(report)), max_age=0)
    response.status_code = 200 if dry_run else 201
    return response


def _proposed(
    request: Request,
    user: User,
    obs: Observatory,
    accounts: Accounts,
    upload: Upload,
    report: dict[str, Any],
) -> Response:
    """A partner's file filed as a proposal through the API (202: waiting for an analyst)."""
    assert upload.folder is not None and user.organisation is not None
    ident = deposits_of(obs).propose(
        upload.folder,
        organisation=user.organisation,
        user=user.email,
        dataset=str(report["dataset"]),
        report=report,
    )
    accounts.record(
        user.email, "proposition", upload.name, f"{report['dataset']} (n° {ident}, API)",
        client_of(request),
    )  # fmt: skip
    body = {
        "proposition": ident,
        "statut": "en attente de la décision d'un chargé d'études",
        "adresse": f"/imports/propositions/{ident}",
        "rapport": report,
    }
    response = respond(request, body, max_age=0)
    response.status_code = 202
    return response
