"""Accounts and rights: users and their roles, passwords (argon2), sessions, API tokens, login
throttling and the audit log, over the application database (:mod:`observatoire.store.appdb`).

A password hash never leaves this module: :class:`User` has none. Session and API tokens are
random, given to the client once, and stored only as their SHA-256.

Roles and what they read (the audience of :mod:`observatoire.secret.rules`)::

    admin     administrateur     analyst   (and manages accounts)
    analyst   chargé d'études    analyst
    partner   partenaire         member    (its own organisation's deposits: with uploads)
    member    membre             member
    (none)    public             public
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

import pandas as pd
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from observatoire.errors import AccessError, InputError, UnknownNameError
from observatoire.secret.rules import Audience
from observatoire.store.appdb import AppDatabase

__all__ = [
    "ROLE_LABELS",
    "Accounts",
    "Role",
    "ThrottledError",
    "User",
]

SESSION_DAYS = 7
MIN_PASSWORD = 12
# Failed logins allowed per account within the window before refusing, and per client (an
# office behind one address holds many users: a higher bound, against password spraying).
MAX_FAILURES = 5
MAX_CLIENT_FAILURES = 20
FAILURE_WINDOW = timedelta(minutes=15)


class Role(StrEnum):
    ADMIN = "admin"
    ANALYST = "analyst"
    PARTNER = "partner"
    MEMBER = "member"

    @property
    def audience(self) -> Audience:
        if self in (Role.ADMIN, Role.ANALYST):
            return Audience.ANALYST
        return Audience.MEMBER


ROLE_LABELS = {
    Role.ADMIN: "administrateur",
    Role.ANALYST: "chargé d'études",
    Role.PARTNER: "producteur partenaire",
    Role.MEMBER: "membre",
}


class ThrottledError(AccessError):
    """Too many failed logins: wait before trying again."""


@dataclass(frozen=True)
class User:
    """An account as the rest of the platform sees it (no password hash)."""

    id: str
    email: str
    name: str
    role: Role
    organisation: str | None
    active: bool

    @property
    def audience(self) -> Audience:
        return self.role.audience

    @property
    def role_label(self) -> str:
        return ROLE_LABELS[self.role]


def parse_role(text: str) -> Role:
    try:
        return Role(text)
    except ValueError:
        raise UnknownNameError("rôle", text, [r.value for r in Role]) from None


def _now() -> datetime:
    return datetime.now(UTC)


def _stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Accounts:
    """The accounts of one observatory."""

    def __init__(self, database: AppDatabase) -> None:
        self.db = database
        self._hasher = PasswordHasher()

    # -- users ------------------------------------------------------------------------------
    def create_user(
        self,
        email: str,
        password: str,
        *,
        role: Role,
        name: str = "",
        organisation: str | None = None,
        actor: str | None = None,
    ) -> User:
        """A new account. The password is checked (length) and only its argon2 hash kept."""
        email = email.strip().lower()
        if "@" not in email or len(email) < 3:
            raise InputError(f"adresse électronique invalide : « {email} »")
        check_password(password)
        if not self.db.query("SELECT id FROM app_user WHERE email = ?", [email]).empty:
            raise InputError(f"un compte existe déjà pour {email}")
        if role is Role.PARTNER and not organisation:
            raise InputError("un producteur partenaire appartient à un organisme (--organisation)")
        user = User(secrets.token_hex(8), email, name or email, role, organisation, True)
        with self.db.transaction() as run:
            run(
                "INSERT INTO app_user (id, email, name, role, organisation, password_hash, "
                "active, created_at) VALUES (?, ?, ?, ?, ?, ?, 1, ?)",
                [
                    user.id,
                    email,
                    user.name,
                    role.value,
                    organisation,
                    self._hasher.hash(password),
                    _stamp(_now()),
                ],
            )
            self._audit(run, actor, "création de compte", email, f"rôle {role.value}")
        return user

    def set_password(self, email: str, password: str, *, actor: str | None = None) -> None:
        check_password(password)
        user = self.get(email)
        with self.db.transaction() as run:
            run(
                "UPDATE app_user SET password_hash = ? WHERE id = ?",
                [self._hasher.hash(password), user.id],
            )
            run("DELETE FROM app_session WHERE user_id = ?", [user.id])
            self._audit(run, actor, "changement de mot de passe", email)

    def set_role(self, email: str, role: Role, *, actor: str | None = None) -> None:
        user = self.get(email)
        with self.db.transaction() as run:
            run("UPDATE app_user SET role = ? WHERE id = ?", [role.value, user.id])
            self._audit(
                run, actor, "changement de droits", email, f"{user.role.value} → {role.value}"
            )

    def set_active(self, email: str, active: bool, *, actor: str | None = None) -> None:
        """Disable (or enable again) an account; disabling closes its sessions and revokes its
        API tokens, so it is locked out at once, on every server process."""
        user = self.get(email)
        with self.db.transaction() as run:
            run("UPDATE app_user SET active = ? WHERE id = ?", [1 if active else 0, user.id])
            if not active:
                run("DELETE FROM app_session WHERE user_id = ?", [user.id])
                run("DELETE FROM app_token WHERE user_id = ?", [user.id])
            self._audit(run, actor, "réactivation" if active else "désactivation", email)

    def revoke_sessions(self, email: str, *, actor: str | None = None) -> int:
        """Close every open session of ``email`` (a lost phone, a shared computer); returns how
        many were closed. API tokens are kept."""
        user = self.get(email)
        with self.db.transaction() as run:
            count = self.db.query(
                "SELECT COUNT(*) AS n FROM app_session WHERE user_id = ?", [user.id]
            ).n.iloc[0]
            run("DELETE FROM app_session WHERE user_id = ?", [user.id])
            self._audit(run, actor, "fermeture des sessions", email, f"{int(count)} session(s)")
        return int(count)

    def get(self, email: str) -> User:
        rows = self.db.query(
            "SELECT id, email, name, role, organisation, active FROM app_user WHERE email = ?",
            [email.strip().lower()],
        )
        if rows.empty:
            raise InputError(f"aucun compte pour {email}")
        return _user(rows.iloc[0])

    def users(self) -> list[User]:
        rows = self.db.query(
            "SELECT id, email, name, role, organisation, active FROM app_user ORDER BY email"
        )
        return [_user(row) for _, row in rows.iterrows()]

    # -- logging in -------------------------------------------------------------------------
    def login(self, email: str, password: str, *, client: str = "") -> tuple[User, str]:
        """The user and a new session token, or :class:`AccessError` (the same message for an
        unknown account and a wrong password). Refused with :class:`ThrottledError` after
        :data:`MAX_FAILURES` failures within :data:`FAILURE_WINDOW` for the account, or
        :data:`MAX_CLIENT_FAILURES` from the client."""
        email = email.strip().lower()
        since = _stamp(_now() - FAILURE_WINDOW)
        failures = self.db.query(
            "SELECT SUM(CASE WHEN login = ? THEN 1 ELSE 0 END) AS account, COUNT(*) AS client "
            "FROM app_login_attempt WHERE (login = ? OR client = ?) AND at >= ?",
            [email, email, client or "-", since],
        )
        account = int(failures.account.fillna(0).iloc[0])
        if account >= MAX_FAILURES or int(failures.client.iloc[0]) >= MAX_CLIENT_FAILURES:
            with self.db.transaction() as run:
                self._audit(run, email, "connexion refusée (trop d'essais)", email, None, client)
            raise ThrottledError(
                "trop de tentatives de connexion : réessayez dans quelques minutes"
            )
        rows = self.db.query(
            "SELECT id, email, name, role, organisation, active, password_hash FROM app_user "
            "WHERE email = ?",
            [email],
        )
        if rows.empty or not bool(rows.active.iloc[0]) or not self._verify(rows, password):
            with self.db.transaction() as run:
                run(
                    "INSERT INTO app_login_attempt (login, client, at) VALUES (?, ?, ?)",
                    [email, client or "-", _stamp(_now())],
                )
                self._audit(run, email, "échec de connexion", email, None, client)
            raise AccessError("adresse ou mot de passe incorrect")
        user = _user(rows.iloc[0])
        token = secrets.token_urlsafe(32)
        now = _now()
        with self.db.transaction() as run:
            run(
                "INSERT INTO app_session (token_hash, user_id, created_at, expires_at) "
                "VALUES (?, ?, ?, ?)",
                [_digest(token), user.id, _stamp(now), _stamp(now + timedelta(days=SESSION_DAYS))],
            )
            run("DELETE FROM app_login_attempt WHERE login = ?", [email])
            self._audit(run, email, "connexion", email, None, client)
        return user, token

    def _verify(self, rows: object, password: str) -> bool:
        stored = str(rows.password_hash.iloc[0])  # type: ignore[attr-defined]
        try:
            return bool(self._hasher.verify(stored, password))
        except (VerificationError, InvalidHashError):
            return False

    def session_user(self, token: str) -> User | None:
        """The user of a live session token, else None."""
        return self._holder(
            "app_session t", "AND t.expires_at > ?", [_digest(token), _stamp(_now())]
        )

    def _holder(self, table: str, where: str, params: list[object]) -> User | None:
        """The active user holding a token of ``table`` (aliased ``t``), else None."""
        rows = self.db.query(
            f"SELECT u.id, u.email, u.name, u.role, u.organisation, u.active FROM {table} "
            f"JOIN app_user u ON u.id = t.user_id WHERE t.token_hash = ? {where}",
            params,
        )
        if rows.empty or not bool(rows.active.iloc[0]):
            return None
        return _user(rows.iloc[0])

    def logout(self, token: str, *, client: str = "") -> None:
        user = self.session_user(token)
        with self.db.transaction() as run:
            run("DELETE FROM app_session WHERE token_hash = ?", [_digest(token)])
            if user is not None:
                self._audit(run, user.email, "déconnexion", user.email, None, client)

    # -- API tokens -------------------------------------------------------------------------
    def create_token(self, email: str, label: str = "", *, actor: str | None = None) -> str:
        """A new API token for ``email`` (shown once; only its digest is kept)."""
        user = self.get(email)
        token = "obs_" + secrets.token_urlsafe(32)
        with self.db.transaction() as run:
            run(
                "INSERT INTO app_token (token_hash, user_id, label, created_at) "
                "VALUES (?, ?, ?, ?)",
                [_digest(token), user.id, label, _stamp(_now())],
            )
            self._audit(run, actor, "création de jeton d'API", user.email, label)
        return token

    def token_user(self, token: str) -> User | None:
        """The user of an API token, else None."""
        return self._holder("app_token t", "", [_digest(token)])

    # -- audit ------------------------------------------------------------------------------
    def record(
        self,
        actor: str | None,
        action: str,
        target: str | None = None,
        detail: str | None = None,
        client: str | None = None,
    ) -> None:
        """Write one line of the audit log (a download, an import…)."""
        with self.db.transaction() as run:
            self._audit(run, actor, action, target, detail, client)

    @staticmethod
    def _audit(
        run: object,
        actor: str | None,
        action: str,
        target: str | None = None,
        detail: str | None = None,
        client: str | None = None,
    ) -> None:
        run(  # type: ignore[operator]
            "INSERT INTO app_audit (at, actor, action, target, detail, client) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [_stamp(_now()), actor, action, target, detail, client],
        )

    def audit_log(self, limit: int = 200) -> list[dict[str, object]]:
        rows = self.db.query(
            f"SELECT at, actor, action, target, detail, client FROM app_audit "
            f"ORDER BY at DESC LIMIT {int(limit)}"
        )
        records = rows.astype(object).where(rows.notna(), None).to_dict("records")
        return [{str(k): v for k, v in r.items()} for r in records]


def check_password(password: str) -> None:
    """Refuse a password shorter than :data:`MIN_PASSWORD` characters."""
    if len(password) < MIN_PASSWORD:
        raise InputError(f"mot de passe trop court : au moins {MIN_PASSWORD} caractères")


def _user(row: pd.Series) -> User:
    organisation = row["organisation"]
    return User(
        id=str(row["id"]),
        email=str(row["email"]),
        name=str(row["name"]),
        role=Role(str(row["role"])),
        organisation=None if pd.isna(organisation) else str(organisation),
        active=bool(row["active"]),
    )
