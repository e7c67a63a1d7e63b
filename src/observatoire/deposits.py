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


def _remove(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
    _ticket(folder).unlink(missing_ok=True)


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

    def pending(self, token: str, *, user: str) -> tuple[Path, Path, dict[str, Any]]:
        """A deposit of ``user`` waiting for confirmation: its folder, its file, its ticket."""
        folder = self.folder / token
        ticket = _ticket(folder)
        if not (_TOKEN.match(token) and folder.is_dir() and ticket.is_file()):
            raise InputError("dépôt introuvable ou déjà traité : déposez le fichier à nouveau")
        made = self._read(ticket)
        if made.get("user") != user:
            raise AccessError("ce dépôt a été fait par un autre compte")
        files = list(folder.iterdir())
        if len(files) != 1:
            raise InputError("dépôt introuvable ou déjà traité : déposez le fichier à nouveau")
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

    def decide(self, ident: str) -> None:
        """Remove a proposal once an analyst accepted or refused it."""
        _remove(self.proposals_folder / self.proposal(ident).id)
