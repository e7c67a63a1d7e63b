"""What the import routes share (the pages, the API, the proposals): receiving a deposit,
the importer of an account, the history and the proposals an account may see.

A partner's imports are registered under its organisation (a partner code); a partner's
account without one may import nothing (it would act for the observatory). Deposits and
proposals are kept by :class:`observatoire.services.deposits.Deposits`; the size of a deposit
is bounded by :data:`observatoire.web.uploads.MAX_UPLOAD`, read when a deposit comes.
"""

from __future__ import annotations

import asyncio
import functools
import json
import sys
from typing import Any

from fastapi import Request

from observatoire.errors import AccessError, InputError, StorageError
from observatoire.observatory import Observatory
from observatoire.services.accounts import Role, User
from observatoire.services.deposits import Deposits
from observatoire.web import content, uploads
from observatoire.web.deps import check_csrf
from observatoire.web.uploads import Upload, receive_upload

__all__ = [
    "IMPORTERS",
    "content_safe",
    "deposits_of",
    "history",
    "importer",
    "partner_of",
    "proposals_view",
    "receive_deposit",
    "recompute",
]

IMPORTERS = (Role.ADMIN, Role.ANALYST, Role.PARTNER)


async def recompute(obs: Observatory) -> None:
    """Recompute what an import or a rollback made stale, in a process of its own (the command
    ``compute``): its Python work does not hold the server's interpreter lock, so the pages
    keep being served while it runs; the server reads its result at the next request."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "observatoire", "--home", str(obs.home.path), "compute",
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, errors = await process.communicate()
    if process.returncode != 0:
        told = errors.decode("utf-8", errors="replace").strip().splitlines()
        raise StorageError(
            "le recalcul des indicateurs a échoué" + (f" : {told[-1]}" if told else "")
        )


def deposits_of(obs: Observatory) -> Deposits:
    return Deposits(obs.home.path)


def partner_of(user: User) -> str | None:
    """The organisation a partner imports for (None for the observatory's own staff)."""
    if user.role is not Role.PARTNER:
        return None
    if not user.organisation:
        raise AccessError("compte partenaire sans organisme : demandez-en un à l'administrateur")
    return user.organisation


def history(obs: Observatory, user: User) -> list[dict[str, Any]]:
    """The imports ``user`` may see (a partner: its organisation's), newest first."""
    partner = user.organisation if user.role is Role.PARTNER else None
    if user.role is Role.PARTNER and not partner:
        return []  # an account of no organisation sees no one's
    return content.records(obs.import_history(partner=partner))


def proposals_view(obs: Observatory, user: User) -> list[dict[str, Any]]:
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
        for p in deposits_of(obs).proposals(organisation=organisation)
    ]


def importer(obs: Observatory, user: User, collection: str) -> Any:
    """What imports a deposit: the producers' pipeline, or a collection of operators' records
    (a partner's file then counts as its operator's when it has exactly one)."""
    if not collection:
        return functools.partial(
            obs.import_file, partner=partner_of(user), max_bytes=uploads.MAX_UPLOAD
        )
    name = obs.records.collection(collection).name
    operator = None
    if user.role is Role.PARTNER:
        own = obs.records.operators(name, partner=user.organisation).code.tolist()
        operator = own[0] if len(own) == 1 else None
    return functools.partial(
        obs.records.import_file,
        collection=name,
        partner=partner_of(user),
        operator=operator,
        max_bytes=uploads.MAX_UPLOAD,
    )


async def receive_deposit(request: Request, obs: Observatory, *, csrf: bool) -> Upload:
    """The uploaded file, written while received in a new deposit folder (bounded)."""

    def before_file(fields: Any) -> None:
        if csrf:  # the token precedes the file in the form: checked before a byte is written
            check_csrf(request, fields)

    upload = await receive_upload(
        request,
        folder=deposits_of(obs).new_folder(),
        max_bytes=uploads.MAX_UPLOAD,
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


def content_safe(data: dict[str, Any]) -> dict[str, Any]:
    """Plain JSON values (numpy scalars and NaN made plain)."""
    plain: dict[str, Any] = json.loads(json.dumps(data, default=str))
    return plain
