"""Files received and waiting, in the observatory's folder: deposits waiting for their
depositor's confirmation, and partners' proposals waiting for an analyst's decision.

    deposits = Deposits(home_path)
    folder = deposits.new_folder()                       # where an upload is received
    deposits.hold(folder, user="a@caf93.fr", collection="", proposal=True)
    folder, file, ticket = deposits.pending(token, user="a@caf93.fr")
    ident = deposits.propose(folder, ticket, report={...})   # waits for an analyst
    deposits.proposals(organisation="caf93")             # the pending ones, newest first

A deposit is a folder ``depots/<token>/`` holding the file, and its ticket ``<token>.json``
(who made it, for which collection, whether it becomes a proposal). Deposits older than a day
are removed when a new one comes, and an account keeps at most :data:`MAX_PENDING` of them.
A proposal is moved (one rename) to ``propositions/<token>/`` with its ticket; proposals are
never removed but by an analyst's decision, and an organisation has at most
:data:`MAX_PROPOSALS` of them waiting.

Confirming a deposit and deciding a proposal first **claim** it: its ticket is renamed
(``<token>.json.examen``), which one request only can do; a second confirmation, or an
acceptance racing a refusal, finds it gone and does nothing.
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from observatoire.atomic import write_whole
from observatoire.errors import AccessError, InputError

__all__ = ["MAX_PENDING", "MAX_PROPOSALS", "Deposits", "Proposal"]

DEPOSITS = "depots"
PROPOSALS = "propositions"
MAX_PENDING = 3  # deposits validated and waiting, per account
MAX_PROPOSALS = 10  # proposals waiting for a decision, per organisation
STALE = 24 * 3600  # seconds after which an unconfirmed deposit is removed
CLAIMED = ".examen"  # a ticket being acted upon
_GONE = "dépôt introuvable ou déjà traité : déposez le fichier à nouveau"
_DECIDED = "proposition introuvable ou déjà examinée"
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


@dataclass(frozen=True)
class Proposal:
    """A partner's file waiting for an analyst: its number, file, and what its deposit said."""

    id: str
    file: Path
    organisation: str
    user: str
    at: str
    dataset: str
    report: dict[str, Any]


def _ticket(folder: Path) -> Path:
    return folder.with_name(folder.name + ".json")


def _claimed(folder: Path) -> Path:
    return folder.with_name(folder.name + ".json" + CLAIMED)


def _remove(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
    _ticket(folder).unlink(missing_ok=True)
    _claimed(folder).unlink(missing_ok=True)


def _claim(folder: Path, gone: str) -> dict[str, Any]:
    """Take ``folder``'s ticket for this request (one rename: one request only wins)."""
    try:
        _ticket(folder).rename(_claimed(folder))
    except FileNotFoundError:
        raise InputError(gone) from None
    return Deposits._read(_claimed(folder))


class Deposits:
    """The deposits and proposals of one observatory's folder."""

    def __init__(self, home: Path) -> None:
        self.folder = home / DEPOSITS
        self.proposals_folder = home / PROPOSALS

    # -- deposits ---------------------------------------------------------------------------
    def new_folder(self) -> Path:
        """A new deposit's folder (not created: the upload creates it); stale deposits are
        removed first."""
        self.purge_stale()
        return self.folder / secrets.token_urlsafe(18)

    def hold(self, folder: Path, *, user: str, collection: str, proposal: bool) -> None:
        """Keep a validated deposit for its confirmation; the account's oldest pending ones
        beyond :data:`MAX_PENDING` are removed."""
        ticket = {"user": user, "collection": collection, "proposal": proposal}
        write_whole(_ticket(folder), json.dumps(ticket))
        mine = sorted(
            (t for t in self.folder.glob("*.json") if self._read(t).get("user") == user),
            key=lambda t: t.stat().st_mtime,
        )
        for old in mine[: max(len(mine) - MAX_PENDING, 0)]:
            _remove(old.with_suffix(""))

    def claim(self, token: str, *, user: str) -> tuple[Path, Path, dict[str, Any]]:
        """A deposit of ``user`` waiting for confirmation, taken for this request (a second
        confirmation finds it gone): its folder, its file, its ticket."""
        folder = self.folder / token
        if not (_TOKEN.match(token) and folder.is_dir() and _ticket(folder).is_file()):
            raise InputError(_GONE)
        if self._read(_ticket(folder)).get("user") != user:
            raise AccessError("ce dépôt a été fait par un autre compte")
        made = _claim(folder, _GONE)
        files = list(folder.iterdir()) if folder.is_dir() else []
        if len(files) != 1:
            _remove(folder)
            raise InputError(_GONE)
        return folder, files[0], made

    def forget(self, folder: Path) -> None:
        """Remove a deposit (imported, refused or cancelled)."""
        _remove(folder)

    def purge_stale(self, max_age: float = STALE) -> int:
        """Remove the deposits older than ``max_age`` seconds; returns how many entries."""
        if not self.folder.is_dir():
            return 0
        limit = time.time() - max_age
        removed = 0
        for entry in self.folder.iterdir():
            try:
                if entry.stat().st_mtime >= limit:
                    continue
            except FileNotFoundError:
                continue
            if entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
            removed += 1
        return removed

    @staticmethod
    def _read(ticket: Path) -> dict[str, Any]:
        try:
            found: dict[str, Any] = json.loads(ticket.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return found

    # -- proposals --------------------------------------------------------------------------
    def propose(
        self, folder: Path, *, organisation: str, user: str, dataset: str, report: dict[str, Any]
    ) -> str:
        """Turn a confirmed deposit into a proposal waiting for an analyst; its number."""
        waiting = self.proposals(organisation=organisation)
        if len(waiting) >= MAX_PROPOSALS:
            raise InputError(
                f"votre organisme a déjà {len(waiting)} propositions en attente de décision : "
                "attendez que l'observatoire les examine"
            )
        self.proposals_folder.mkdir(parents=True, exist_ok=True)
        target = self.proposals_folder / folder.name
        ticket = {
            "organisation": organisation,
            "user": user,
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
            "dataset": dataset,
            "report": report,
        }
        write_whole(_ticket(target), json.dumps(ticket, ensure_ascii=False, default=str))
        folder.rename(target)  # one step: the proposal is whole or absent
        _ticket(folder).unlink(missing_ok=True)
        _claimed(folder).unlink(missing_ok=True)
        return target.name

    def proposals(self, *, organisation: str | None = None) -> list[Proposal]:
        """The proposals waiting (an organisation's only, if given), newest first."""
        if not self.proposals_folder.is_dir():
            return []
        found = []
        for ticket in self.proposals_folder.glob("*.json"):
            folder = ticket.with_suffix("")
            files = list(folder.iterdir()) if folder.is_dir() else []
            made = self._read(ticket)
            if len(files) != 1 or not made:
                continue
            if organisation is not None and made.get("organisation") != organisation:
                continue
            found.append(
                Proposal(
                    id=folder.name,
                    file=files[0],
                    organisation=str(made.get("organisation")),
                    user=str(made.get("user")),
                    at=str(made.get("at")),
                    dataset=str(made.get("dataset")),
                    report=dict(made.get("report") or {}),
                )
            )
        return sorted(found, key=lambda p: p.at, reverse=True)

    def proposal(self, ident: str) -> Proposal:
        if _TOKEN.match(ident):
            for found in self.proposals():
                if found.id == ident:
                    return found
        raise InputError(f"proposition « {ident} » introuvable ou déjà examinée")

    def take(self, ident: str) -> Proposal:
        """A proposal taken for a decision (an acceptance racing a refusal: one wins, the
        other finds it gone). Then :meth:`decide`, or :meth:`release` if the decision failed."""
        found = self.proposal(ident)
        _claim(self.proposals_folder / found.id, f"« {ident} » : {_DECIDED}")
        return found

    def release(self, ident: str) -> None:
        """Put a taken proposal back (its import failed): it waits again."""
        folder = self.proposals_folder / ident
        if _TOKEN.match(ident) and _claimed(folder).is_file():
            _claimed(folder).rename(_ticket(folder))

    def decide(self, ident: str) -> None:
        """Remove a taken proposal once accepted (imported) or refused."""
        if not _TOKEN.match(ident):
            raise InputError(f"« {ident} » : {_DECIDED}")
        _remove(self.proposals_folder / ident)
