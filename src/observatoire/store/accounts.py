"""The accounts' records in the application database: users (``app_user``), sessions
(``app_session``), API tokens (``app_token``) and the audit log (``app_audit``).

Queries only: the rules (passwords, roles, how many sessions stay open, when a token is
usable) are :mod:`observatoire.services.accounts`, which also holds the transactions. A write
takes the transaction's ``run`` (see :meth:`AppDatabase.transaction`), so that the service
commits it together with its audit line; a read made inside a transaction sees its writes.
Session and API tokens are stored as their digest, which the service computes.

Rows are given as dicts (:data:`Record`), SQL NULL as None. A user's row has the columns of
:data:`USER_COLUMNS` (and never its password hash, but from :meth:`AccountStore.credentials`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pandas as pd

from observatoire.store.appdb import AppDatabase, stamp
from observatoire.store.base import iter_rows

__all__ = ["USER_COLUMNS", "AccountStore", "Record"]

# One row of a query: column -> value (None for NULL).
Record = dict[str, Any]

USER_COLUMNS = ("id", "email", "name", "role", "organisation", "active")
_USER = ", ".join(USER_COLUMNS)
_JOINED_USER = ", ".join(f"u.{column}" for column in USER_COLUMNS)


def _records(frame: pd.DataFrame) -> list[Record]:
    columns = [str(c) for c in frame.columns]
    return [dict(zip(columns, row, strict=True)) for row in iter_rows(frame)]


def _first(frame: pd.DataFrame) -> Record | None:
    found = _records(frame.head(1))
    return found[0] if found else None


class AccountStore:
    """The users, sessions, API tokens and audit log of one application database."""

    def __init__(self, database: AppDatabase) -> None:
        self.db = database

    # -- users ------------------------------------------------------------------------------
    def has_user(self, email: str) -> bool:
        """Whether an account has the address ``email`` (as stored: lower case)."""
        return not self.db.query("SELECT id FROM app_user WHERE email = ?", [email]).empty

    def user(self, email: str) -> Record | None:
        """The account of ``email`` (as stored: lower case), else None."""
        return _first(self.db.query(f"SELECT {_USER} FROM app_user WHERE email = ?", [email]))

    def users(self) -> list[Record]:
        """Every account, by address."""
        return _records(self.db.query(f"SELECT {_USER} FROM app_user ORDER BY email"))

    def credentials(self, email: str) -> Record | None:
        """The account of ``email`` with its ``password_hash`` (for the login only), else
        None."""
        return _first(
            self.db.query(
                f"SELECT {_USER}, password_hash FROM app_user WHERE email = ?",
                [email],
            )
        )

    @staticmethod
    def add_user(
        run: Any,
        *,
        user_id: str,
        email: str,
        name: str,
        role: str,
        organisation: str | None,
        password_hash: str,
        created_at: datetime,
    ) -> None:
        """Record a new, active account."""
        run(
            "INSERT INTO app_user (id, email, name, role, organisation, password_hash, "
            "active, created_at) VALUES (?, ?, ?, ?, ?, ?, 1, ?)",
            [user_id, email, name, role, organisation, password_hash, stamp(created_at)],
        )

    @staticmethod
    def set_password_hash(run: Any, user_id: str, password_hash: str) -> None:
        run("UPDATE app_user SET password_hash = ? WHERE id = ?", [password_hash, user_id])

    @staticmethod
    def set_role(run: Any, user_id: str, role: str) -> None:
        run("UPDATE app_user SET role = ? WHERE id = ?", [role, user_id])

    @staticmethod
    def set_active(run: Any, user_id: str, active: bool) -> None:
        run("UPDATE app_user SET active = ? WHERE id = ?", [1 if active else 0, user_id])

    # -- sessions ---------------------------------------------------------------------------
    @staticmethod
    def open_session(
        run: Any, token_hash: str, user_id: str, created_at: datetime, expires_at: datetime
    ) -> None:
        """Record a session (its creation to the microsecond: the order of an account's
        sessions, see :meth:`session_hashes`)."""
        run(
            "INSERT INTO app_session (token_hash, user_id, created_at, expires_at) "
            "VALUES (?, ?, ?, ?)",
            [token_hash, user_id, stamp(created_at, "microseconds"), stamp(expires_at)],
        )

    def session_user(self, token_hash: str, now: datetime) -> Record | None:
        """The account (active or not) of the session ``token_hash`` if it is live at
        ``now``, else None."""
        return _first(
            self.db.query(
                f"SELECT {_JOINED_USER} FROM app_session t "
                "JOIN app_user u ON u.id = t.user_id WHERE t.token_hash = ? AND t.expires_at > ?",
                [token_hash, stamp(now)],
            )
        )

    def session_hashes(self, user_id: str) -> list[str]:
        """The sessions of an account, newest first."""
        return [
            str(h)
            for h in self.db.query(
                "SELECT token_hash FROM app_session WHERE user_id = ? "
                "ORDER BY created_at DESC, token_hash",
                [user_id],
            ).token_hash
        ]

    def session_count(self, user_id: str) -> int:
        """How many sessions an account has (expired ones not yet purged included)."""
        return int(
            self.db.query(
                "SELECT COUNT(*) AS n FROM app_session WHERE user_id = ?", [user_id]
            ).n.iloc[0]
        )

    @staticmethod
    def close_session(run: Any, token_hash: str) -> None:
        run("DELETE FROM app_session WHERE token_hash = ?", [token_hash])

    @staticmethod
    def close_sessions(run: Any, user_id: str) -> None:
        """Close every session of an account."""
        run("DELETE FROM app_session WHERE user_id = ?", [user_id])

    @staticmethod
    def purge_sessions(run: Any, now: datetime) -> None:
        """Delete the sessions of every account expired at ``now``."""
        run("DELETE FROM app_session WHERE expires_at <= ?", [stamp(now)])

    # -- API tokens -------------------------------------------------------------------------
    @staticmethod
    def add_token(
        run: Any,
        *,
        token_hash: str,
        token_id: str,
        user_id: str,
        label: str,
        created_at: datetime,
        expires_at: datetime,
    ) -> None:
        """Record an API token."""
        run(
            "INSERT INTO app_token (token_hash, id, user_id, label, created_at, expires_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [token_hash, token_id, user_id, label, stamp(created_at), stamp(expires_at)],
        )

    def tokens(self, *, user_id: str | None = None, token_hash: str | None = None) -> list[Record]:
        """The API tokens of the account ``user_id`` (of every account when None; the one
        ``token_hash`` is when given), newest first: columns ``id``, ``email``, ``label``,
        ``created_at``, ``last_used``, ``expires_at``, ``revoked_at``."""
        where, params = "", []
        if user_id is not None:
            where, params = "WHERE u.id = ?", [user_id]
        elif token_hash is not None:
            where, params = "WHERE t.token_hash = ?", [token_hash]
        return _records(
            self.db.query(
                "SELECT t.id, u.email, t.label, t.created_at, t.last_used, t.expires_at, "
                f"t.revoked_at FROM app_token t JOIN app_user u ON u.id = t.user_id {where} "
                "ORDER BY t.created_at DESC, t.id",
                params,
            )
        )

    def token_user(self, token_hash: str) -> Record | None:
        """The account of the API token ``token_hash`` with the token's ``expires_at``,
        ``revoked_at`` and ``last_used``, whatever their state; None for an unknown token."""
        return _first(
            self.db.query(
                f"SELECT {_JOINED_USER}, t.expires_at, t.revoked_at, t.last_used "
                "FROM app_token t JOIN app_user u ON u.id = t.user_id WHERE t.token_hash = ?",
                [token_hash],
            )
        )

    def touch_token(self, token_hash: str, now: datetime) -> None:
        """Record that a token was used at ``now`` (a transaction of its own)."""
        self.db.execute(
            "UPDATE app_token SET last_used = ? WHERE token_hash = ?", [stamp(now), token_hash]
        )

    @staticmethod
    def revoke_token(run: Any, token_id: str, user_id: str, now: datetime) -> None:
        """Revoke the token numbered ``token_id`` of an account."""
        run(
            "UPDATE app_token SET revoked_at = ? WHERE id = ? AND user_id = ?",
            [stamp(now), token_id, user_id],
        )

    def revoke_tokens(self, run: Any, user_id: str, now: datetime) -> int:
        """Revoke every token of an account not revoked yet; how many."""
        live = self.db.query(
            "SELECT COUNT(*) AS n FROM app_token WHERE user_id = ? AND revoked_at IS NULL",
            [user_id],
        ).n.iloc[0]
        run(
            "UPDATE app_token SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL",
            [stamp(now), user_id],
        )
        return int(live)

    # -- audit ------------------------------------------------------------------------------
    @staticmethod
    def audit(
        run: Any,
        at: datetime,
        actor: str | None,
        action: str,
        target: str | None = None,
        detail: str | None = None,
        client: str | None = None,
    ) -> None:
        """Write one line of the audit log."""
        run(
            "INSERT INTO app_audit (at, actor, action, target, detail, client) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [stamp(at), actor, action, target, detail, client],
        )

    def audit_log(self, limit: int) -> list[Record]:
        """The last ``limit`` lines of the audit log, newest first: columns ``at``, ``actor``,
        ``action``, ``target``, ``detail``, ``client``."""
        return _records(
            self.db.query(
                "SELECT at, actor, action, target, detail, client FROM app_audit "
                f"ORDER BY at DESC LIMIT {int(limit)}"
            )
        )
