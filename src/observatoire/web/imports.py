"""Import pages: deposit a file, read its validation report, confirm, history, rollback.

Who may do what::

    deposit, confirm     admin, analyst, partner (a partner's imports are its organisation's)
    history, details     admin, analyst (all); partner (its organisation's only)
    rollback             admin, analyst

A deposit is first imported with ``dry_run`` (nothing written): the report says what the file
holds and what would be rejected, line and column. Confirming imports it for good (atomic), then
recomputes the indicators it made stale. A partner's file that would create or replace a
producer's or the observatory's dataset is not imported when confirmed: it becomes a proposal
an analyst accepts or refuses (:mod:`observatoire.web.proposals`). Every step is in the audit
log. Deposits and proposals are kept by :class:`observatoire.deposits.Deposits`.
"""

from __future__ import annotations

import functools
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from observatoire.accounts import Accounts, Role, User
from observatoire.deposits import Deposits
from observatoire.errors import AccessError, InputError, StorageError
from observatoire.observatory import Observatory
from observatoire.web import content
from observatoire.web.app import public_message, respond, status_of
from observatoire.web.auth import check_csrf, client_of, viewer
from observatoire.web.uploads import Upload, one_at_a_time, receive_upload

__all__ = ["api", "router", "writable"]

router = APIRouter(include_in_schema=False)
IMPORTERS = (Role.ADMIN, Role.ANALYST, Role.PARTNER)
MAX_UPLOAD = 512 * 1024**2


def _obs(request: Request) -> Observatory:
    observatory: Observatory = request.app.state.observatory
    return observatory


def _require(request: Request, roles: tuple[Role, ...]) -> User:
    user = viewer(request)
    if user is None:
        raise AccessError("connectez-vous pour accéder aux imports")
    if user.role not in roles:
        raise AccessError(f"action réservée aux rôles : {', '.join(r.value for r in roles)}")
    return user


def writable(request: Request) -> Observatory:
    """The observatory, if this server may write it."""
    obs = _obs(request)
    if obs.warehouse.read_only:
        raise StorageError(
            "ce serveur a ouvert la base en lecture seule (plusieurs processus DuckDB) : "
            "importez avec « observatoire import », ou servez avec un seul processus"
        )
    return obs


def _history(obs: Observatory, user: User) -> list[dict[str, Any]]:
    frame = obs.warehouse.query(
        "SELECT id, status, dataset, edition, level, periods, file_name, rows_read, "
        "rows_imported, rows_rejected, imported_at, imported_by, partner FROM import_batch "
        "ORDER BY id DESC"
    )
    if user.role is Role.PARTNER:
        frame = frame[frame.partner == user.organisation]
    return content.records(frame)


def _page(
    request: Request, template: str, data: dict[str, Any], title: str, status: int = 200
) -> Response:
    from observatoire.web.pages import render_page

    if request.url.path.endswith(".json"):
        return respond(request, data)
    return render_page(request, template, data, title, status=status)


@router.get("/imports")
@router.get("/imports.json")
def imports_page(request: Request) -> Response:
    user = _require(request, IMPORTERS)
    obs = _obs(request)
    return _page(request, "imports.html", _listing(request, obs, user), "Imports")


def _listing(
    request: Request, obs: Observatory, user: User, **extra: object
) -> dict[str, Any]:
    """What the imports page shows ``user``: history, proposals, the deposit form."""
    from observatoire.web.proposals import proposals_view

    return {
        "imports": _history(obs, user),
        "proposals": proposals_view(request, user),
        "writable": not obs.warehouse.read_only,
        "can_rollback": user.role in (Role.ADMIN, Role.ANALYST),
        "collections": _collections(obs),
        **extra,
    }


def _collections(obs: Observatory) -> list[dict[str, str]]:
    return [{"name": n, "label": s.label} for n, s in obs.collections().items()]


def _importer(obs: Observatory, user: User, collection: str) -> Any:
    """What imports a deposit: the producers' pipeline, or a collection of operators' records
    (a partner's file then counts as its operator's when it has exactly one)."""
    if not collection:
        return functools.partial(obs.import_file, partner=_partner(user), max_bytes=MAX_UPLOAD)
    name = obs.collection(collection).name
    operator = None
    if user.role is Role.PARTNER:
        from observatoire.store.records import operators_of

        own = operators_of(obs.warehouse, name, partner=user.organisation).code.tolist()
        operator = own[0] if len(own) == 1 else None
    return functools.partial(
        obs.import_records,
        collection=name,
        partner=_partner(user),
        operator=operator,
        max_bytes=MAX_UPLOAD,
    )


def _deposits(obs: Observatory) -> Deposits:
    return Deposits(obs.home.path)


async def _receive(request: Request, obs: Observatory, *, csrf: bool) -> Upload:
    """The uploaded file, written while received in a new deposit folder (bounded)."""

    def before_file(fields: Any) -> None:
        if csrf:  # the token precedes the file in the form: checked before a byte is written
            check_csrf(request, fields)

    upload = await receive_upload(
        request,
        folder=_deposits(obs).new_folder(),
        max_bytes=MAX_UPLOAD,
        before_file=before_file,
    )
    try:
        if csrf:
            check_csrf(request, upload.fields)
        if upload.path is None:
            raise InputError("choisissez un fichier à déposer (champ « fichier »)")
    except BaseException:
        upload.discard()
        raise
    return upload


@router.post("/imports")
async def deposit(request: Request) -> Response:
    """Receive the file and show what importing it would do (nothing written yet)."""
    user = _require(request, IMPORTERS)
    async with one_at_a_time(request, user.email):
        return await _deposit(request, user)


async def _deposit(request: Request, user: User) -> Response:
    obs = writable(request)
    upload = await _receive(request, obs, csrf=True)
    assert upload.path is not None and upload.folder is not None
    collection = upload.fields.get("collection", "")
    try:  # reading a file takes time: off the event loop
        importer = _importer(obs, user, collection)
        report = await run_in_threadpool(importer, upload.path, dry_run=True)
    except (InputError, AccessError) as refused:
        upload.discard()
        message = public_message(request, refused)
        _accounts(request).record(
            user.email, "dépôt refusé", upload.name, message, client_of(request)
        )
        data = _listing(request, obs, user, error=message)
        return _page(request, "imports.html", data, "Imports", status=status_of(refused))
    except BaseException:
        upload.discard()
        raise
    proposal = bool(getattr(report, "proposal", False))
    _deposits(obs).hold(upload.folder, user=user.email, collection=collection, proposal=proposal)
    dataset = f"enregistrements.{collection}" if collection else getattr(report, "dataset", "")
    _accounts(request).record(user.email, "dépôt", upload.name, dataset, client_of(request))
    data = {
        "deposit": upload.folder.name,
        "file": upload.name,
        "report": asdict(report),
        "collection": collection,
        "proposal": proposal,
    }
    return _page(request, "import_report.html", data, f"Validation de {upload.name}")


@router.post("/imports/confirmer")
async def confirm(request: Request) -> Response:
    """Import a deposit for good, then recompute the indicators it made stale. The deposit
    is removed whatever happens (imported, refused, cancelled)."""
    form = await request.form()
    check_csrf(request, form)
    user = _require(request, IMPORTERS)
    obs = writable(request)
    deposits = _deposits(obs)
    folder, file, ticket = deposits.claim(str(form.get("depot", "")), user=user.email)
    collection = str(ticket.get("collection") or "")
    if str(form.get("action", "")) == "annuler":
        deposits.forget(folder)
        return RedirectResponse("/imports", status_code=303)
    if ticket.get("proposal") and _partner(user) is not None:
        return await _propose(request, obs, user, folder, file)
    try:
        importer = _importer(obs, user, collection)
        report = await run_in_threadpool(importer, file, user=user.email)
    finally:
        deposits.forget(folder)
    dataset = f"enregistrements.{collection}" if collection else getattr(report, "dataset", "")
    _accounts(request).record(
        user.email, "import", file.name, f"n° {report.batch} ({dataset})", client_of(request)
    )
    begin = time.perf_counter()
    await run_in_threadpool(obs.compute)
    _accounts(request).record(
        user.email,
        "calcul des indicateurs",
        f"n° {report.batch}",
        f"{time.perf_counter() - begin:.1f} s",
    )
    return RedirectResponse(f"/imports/{report.batch}", status_code=303)


async def _propose(
    request: Request, obs: Observatory, user: User, folder: Path, file: Path
) -> Response:
    """File a partner's deposit as a proposal (validated again: the base may have changed)."""
    deposits = _deposits(obs)
    try:
        report = await run_in_threadpool(
            obs.import_file, file, dry_run=True, partner=user.organisation, max_bytes=MAX_UPLOAD
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
    _accounts(request).record(
        user.email, "proposition", file.name, f"{report.dataset} (n° {ident})", client_of(request)
    )
    return RedirectResponse(f"/imports/propositions/{ident}", status_code=303)


@router.get("/imports/{name}")
def import_page(request: Request, name: str) -> Response:
    user = _require(request, IMPORTERS)
    stem = name.removesuffix(".json")
    if not stem.isdigit():
        raise InputError(f"numéro d'import attendu : « {stem} »")
    details = _obs(request).import_details(int(stem))
    if user.role is Role.PARTNER and details.get("partner") != user.organisation:
        raise AccessError("cet import n'est pas celui de votre organisme")
    data = {
        "import": {k: v for k, v in details.items() if k != "report"},
        "report": details.get("report"),
        "can_rollback": user.role in (Role.ADMIN, Role.ANALYST),
    }
    return _page(request, "import_detail.html", content_safe(data), f"Import n° {stem}")


@router.post("/imports/{batch}/retirer")
async def withdraw(request: Request, batch: int) -> Response:
    """Roll an import back (the version it replaced, if any, is in force again)."""
    form = await request.form()
    check_csrf(request, form)
    user = _require(request, (Role.ADMIN, Role.ANALYST))
    obs = writable(request)
    _, restored = await run_in_threadpool(obs.rollback, batch)
    detail = f"version n° {restored} rétablie" if restored else None
    _accounts(request).record(
        user.email, "retour arrière", f"n° {batch}", detail, client_of(request)
    )
    await run_in_threadpool(obs.compute)
    return RedirectResponse("/imports", status_code=303)


def _partner(user: User) -> str | None:
    """A partner's imports are registered under its organisation (a partner code); a
    partner's account without one may import nothing (it would act for the observatory)."""
    if user.role is not Role.PARTNER:
        return None
    if not user.organisation:
        raise AccessError("compte partenaire sans organisme : demandez-en un à l'administrateur")
    return user.organisation


def _accounts(request: Request) -> Accounts:
    found: Accounts = request.app.state.accounts
    return found


def content_safe(data: dict[str, Any]) -> dict[str, Any]:
    """Plain JSON values (numpy scalars and NaN made plain)."""
    import json

    plain: dict[str, Any] = json.loads(json.dumps(data, default=str))
    return plain


api = APIRouter(prefix="/api/v1", tags=["api"])


def _scripted(request: Request) -> User:
    """An import through the API: identified by an API token (a cookie would need CSRF)."""
    if not request.headers.get("authorization", "").lower().startswith("bearer "):
        raise AccessError(
            "import par l'API : identifiez-vous avec un jeton (Authorization: Bearer)"
        )
    return _require(request, IMPORTERS)


@api.get("/imports", summary="Historique des imports (selon le rôle)")
def api_imports(request: Request) -> Response:
    return respond(request, {"imports": _history(_obs(request), _scripted(request))})


@api.post("/imports", summary="Déposer un fichier : rapport de validation, puis import")
async def api_import(request: Request, dry_run: bool = False) -> Response:
    """Multipart field ``fichier``. With ``dry_run=true`` nothing is written: the validation
    report only. Otherwise the file is imported (atomic), the indicators it touches are
    recomputed, and the report says the import's number (201). The file is received within
    the deposit limit and removed once read, whatever the outcome."""
    user = _scripted(request)
    async with one_at_a_time(request, user.email):
        return await _api_import(request, user, dry_run)


async def _api_import(request: Request, user: User, dry_run: bool) -> Response:
    obs = writable(request)
    upload = await _receive(request, obs, csrf=False)
    assert upload.path is not None and upload.folder is not None
    partner = _partner(user)
    try:
        report = await run_in_threadpool(
            obs.import_file,
            upload.path,
            dry_run=dry_run or partner is not None,  # a partner's file: validated first
            user=user.email,
            partner=partner,
            max_bytes=MAX_UPLOAD,
        )
        if not dry_run and partner is not None:
            if report.proposal:
                return _proposed(request, user, upload, content_safe(asdict(report)))
            report = await run_in_threadpool(
                obs.import_file, upload.path, user=user.email, partner=partner, max_bytes=MAX_UPLOAD
            )
    finally:
        upload.discard()
    if not dry_run:
        _accounts(request).record(
            user.email, "import", upload.name, f"n° {report.batch} (API)", client_of(request)
        )
        await run_in_threadpool(obs.compute)
    response = respond(request, content_safe(asdict(report)), max_age=0)
    response.status_code = 200 if dry_run else 201
    return response


def _proposed(request: Request, user: User, upload: Upload, report: dict[str, Any]) -> Response:
    """A partner's file filed as a proposal through the API (202: waiting for an analyst)."""
    assert upload.folder is not None and user.organisation is not None
    ident = _deposits(_obs(request)).propose(
        upload.folder,
        organisation=user.organisation,
        user=user.email,
        dataset=str(report["dataset"]),
        report=report,
    )
    _accounts(request).record(
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
