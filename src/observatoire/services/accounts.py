"""Accounts and rights: users and their roles, passwords (argon2), sessions, API tokens, login
throttling and the audit log, over the application database (:mod:`observatoire.store.appdb`;
the queries are :mod:`observatoire.store.accounts` and :mod:`observatoire.store.logins`).

A password hash never leaves this module: :class:`User` has none. Session and API tokens are
random, given to the client once, and stored only as their SHA-256. The password policy is
:mod:`observatoire.passwords`.

Roles and what they read (the audience of :mod:`observatoire.secret.rules`)::

    admin     administrateur     analyst   (and manages accounts)
    analyst   chargé d'études    analyst
    partner   partenaire         member    (its own organisation's deposits: with uploads)
    member    membre             member
    (none)    public             public

Logging in is three steps, so that a server runs the slow one off its event loop:
:meth:`Accounts.begin_login` (the throttle: refused before any hash is computed),
:meth:`PendingLogin.check` (argon2, as costly for an unknown address as for a known one) and
:meth:`Accounts.finish_login`; :meth:`Accounts.login` chains them. The throttle
(:mod:`observatoire.store.logins`) counts attempts, successes too, and failures, per account and
per client address; its bounds on an account as a whole never refuse an address the account has
already signed in from, so nobody can lock an account out by failing on purpose elsewhere.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from observatoire.errors import AccessError, InputError, UnknownNameError
from observatoire.passwords import check_password
from observatoire.secret.rules import Audience
from observatoire.store.accounts import AccountStore
from observatoire.store.appdb import AppDatabase, stamp
from observatoire.store.logins import LoginThrottle

__all__ = [
    "ROLE_LABELS",
    "Accounts",
    "ApiToken",
    "PendingLogin",
    "Role",
    "ThrottledError",
    "User",
]

SESSION_DAYS = 7
# Open sessions per account: a new one closes the oldest beyond this.
MAX_SESSIONS = 10
TOKEN_DAYS = 365
MAX_TOKEN_DAYS = 5 * 365
# What an unknown address is checked against, so that it costs what a known one does: an argon2
# hash of a random password, made with the hasher's default parameters (made again at first use
# if these ever change).
_DUMMY_HASH = (
    "$argon2id$v=19$m=65536,t=3,p=4$DVhDh/jvRqPuo72ZRYjkrw$"
    "cGvM6D3vHsuUaecpvBRtyE19akCcK7gw6FoHCuLIfZ0"
)


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
    """Too many logins: wait before trying again."""


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


@dataclass(frozen=True)
class ApiToken:
    """An API token as it is listed: never the token itself. Dates are ISO 8601 (UTC);
    ``state`` is « actif », « expiré » or « révoqué »."""

    id: str
    email: str
    label: str
    created_at: str
    last_used: str | None
    expires_at: str
    revoked_at: str | None
    state: str


class PendingLogin:
    """A login the throttle let through: :meth:`check` the password (argon2, the slow part),
    then :meth:`Accounts.finish_login`. An unknown address is checked against a dummy hash, a
    disabled account against its own: each costs one argon2 verification."""

    def __init__(
        self, email: str, client: str, user: User | None, stored: str, hasher: PasswordHasher
    ) -> None:
        self.email = email
        self.client = client
        self.user = user
        self._stored = stored
        self._hasher = hasher
        self._verified = False

    def check(self, password: str) -> bool:
        """Whether ``password`` opens the account (CPU-bound: run it off an event loop)."""
        try:
            matched = bool(self._hasher.verify(self._stored, password))
        except (VerificationError, InvalidHashError):
            matched = False
        self._verified = matched and self.user is not None and self.user.active
        return self._verified

    @property
    def verified(self) -> bool:
        return self._verified


def parse_role(text: str) -> Role:
    try:
        return Role(text)
    except ValueError:
        raise UnknownNameError("rôle", text, [r.value for r in Role]) from None


def _now() -> datetime:
    return datetime.now(UTC)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Accounts:
    """The accounts of one observatory."""

    def __init__(self, database: AppDatabase, *, hasher: PasswordHasher | None = None) -> None:
        """``hasher``: argon2 with its default parameters unless given (cheaper in tests)."""
        self.db = database
        self.store = AccountStore(database)
        self.throttle = LoginThrottle(database)
        self._hasher = hasher or PasswordHasher()
        self._dummy = _DUMMY_HASH

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
        observatory: str = "",
    ) -> User:
        """A new account. The password is checked (:func:`observatoire.passwords.
        check_password`, against the address and the ``observatory``'s name) and only its
        argon2 hash kept."""
        email = email.strip().lower()
        if "@" not in email or len(email) < 3:
            raise InputError(f"adresse électronique invalide : « {email} »")
        check_password(password, email=email, observatory=observatory)
        if self.store.has_user(email):
            raise InputError(f"un compte existe déjà pour {email}")
        organisation = organisation.strip().lower() if organisation else None
        if role is Role.PARTNER and not organisation:
            raise InputError("un producteur partenaire appartient à un organisme (--organisation)")
        user = User(secrets.token_hex(8), email, name or email, role, organisation, True)
        with self.db.transaction() as run:
            self.store.add_user(
                run,
                user_id=user.id,
                email=email,
                name=user.name,
                role=role.value,
                organisation=organisation,
                password_hash=self._hasher.hash(password),
                created_at=_now(),
            )
            self.store.audit(run, _now(), actor, "création de compte", email, f"rôle {role.value}")
        return user

    def set_password(
        self, email: str, password: str, *, actor: str | None = None, observatory: str = ""
    ) -> None:
        """A new password: every session of the account is closed and every API token
        revoked (whoever knew the old password may have made one)."""
        user = self.get(email)
        check_password(password, email=user.email, observatory=observatory)
        with self.db.transaction() as run:
            self.store.set_password_hash(run, user.id, self._hasher.hash(password))
            self.store.close_sessions(run, user.id)
            revoked = self.store.revoke_tokens(run, user.id, _now())
            detail = f"{revoked} jeton(s) d'API révoqué(s)"
            self.store.audit(run, _now(), actor, "changement de mot de passe", user.email, detail)

    def set_role(self, email: str, role: Role, *, actor: str | None = None) -> None:
        """A new role; a partner must belong to an organisation (set when the account was
        created): without one, it would act for no organisation, hence for the observatory."""
        user = self.get(email)
        if role is Role.PARTNER and not user.organisation:
            raise InputError(
                f"{email} n'est rattaché à aucun organisme : un producteur partenaire en a un "
                "(créez-lui un compte avec --organisation CODE)"
            )
        with self.db.transaction() as run:
            self.store.set_role(run, user.id, role.value)
            detail = f"{user.role.value} → {role.value}"
            self.store.audit(run, _now(), actor, "changement de droits", email, detail)

    def set_active(self, email: str, active: bool, *, actor: str | None = None) -> None:
        """Disable (or enable again) an account; disabling closes its sessions and revokes its
        API tokens, so it is locked out at once, on every server process."""
        user = self.get(email)
        with self.db.transaction() as run:
            self.store.set_active(run, user.id, active)
            if not active:
                self.store.close_sessions(run, user.id)
                self.store.revoke_tokens(run, user.id, _now())
            self.store.audit(
                run, _now(), actor, "réactivation" if active else "désactivation", email
            )

    def revoke_sessions(self, email: str, *, actor: str | None = None) -> int:
        """Close every open session of ``email`` (a lost phone, a shared computer); returns how
        many were closed. API tokens are kept."""
        user = self.get(email)
        with self.db.transaction() as run:
            count = self.store.session_count(user.id)
            self.store.close_sessions(run, user.id)
            self.store.audit(
                run, _now(), actor, "fermeture des sessions", email, f"{count} session(s)"
            )
        return count

    def get(self, email: str) -> User:
        row = self.store.user(email.strip().lower())
        if row is None:
            raise InputError(f"aucun compte pour {email}")
        return _user(row)

    def users(self) -> list[User]:
        return [_user(row) for row in self.store.users()]

    # -- logging in -------------------------------------------------------------------------
    def login(self, email: str, password: str, *, client: str = "") -> tuple[User, str]:
        """The user and a new session token, or :class:`AccessError` (the same message for an
        unknown account and a wrong password), or :class:`ThrottledError` (see the module's
        docstring). The three steps in one call, for the command line and tests."""
        pending = self.begin_login(email, client=client)
        pending.check(password)
        return self.finish_login(pending)

    def begin_login(self, email: str, *, client: str = "") -> PendingLogin:
        """Admit a login attempt of ``email`` from ``client`` (an IP address), recording it, or
        refuse it with :class:`ThrottledError` before any password is hashed."""
        email, client = email.strip().lower(), client or "-"
        refused = self.throttle.admit(email, client, _now())
        if refused is not None:
            self.record(email, "connexion refusée (trop d'essais)", email, refused, client)
            raise ThrottledError(
                "trop de tentatives de connexion : réessayez dans quelques minutes"
            )
        row = self.store.credentials(email)
        if row is None:
            return PendingLogin(email, client, None, self._dummy_hash(), self._hasher)
        stored = str(row["password_hash"])
        return PendingLogin(email, client, _user(row), stored, self._hasher)

    def _dummy_hash(self) -> str:
        if self._hasher.check_needs_rehash(self._dummy):
            self._dummy = self._hasher.hash(secrets.token_urlsafe(32))
        return self._dummy

    def finish_login(self, pending: PendingLogin) -> tuple[User, str]:
        """The user and a new session token once :meth:`PendingLogin.check` succeeded, else
        :class:`AccessError` (the failure recorded). At most :data:`MAX_SESSIONS` sessions stay
        open: the oldest are closed; expired ones are purged."""
        email, client, user = pending.email, pending.client, pending.user
        if user is None or not pending.verified:
            with self.db.transaction() as run:
                self.throttle.failed(run, email, client, _now())
                self.store.audit(run, _now(), email, "échec de connexion", email, None, client)
            raise AccessError("adresse ou mot de passe incorrect")
        token = secrets.token_urlsafe(32)
        now = _now()
        with self.db.transaction() as run:
            self.store.purge_sessions(run, now)
            older = self.store.session_hashes(user.id)
            for oldest in older[MAX_SESSIONS - 1 :]:
                self.store.close_session(run, oldest)
            expires = now + timedelta(days=SESSION_DAYS)
            self.store.open_session(run, _digest(token), user.id, now, expires)
            self.throttle.succeeded(run, email, user.id, client, now)
            closed = len(older[MAX_SESSIONS - 1 :])
            detail = f"{closed} session(s) parmi les plus anciennes fermée(s)" if closed else None
            self.store.audit(run, _now(), email, "connexion", email, detail, client)
        return user, token

    def session_user(self, token: str) -> User | None:
        """The user of a live session token, else None."""
        row = self.store.session_user(_digest(token), _now())
        if row is None or not bool(row["active"]):
            return None
        return _user(row)

    def logout(self, token: str, *, client: str = "") -> None:
        user = self.session_user(token)
        with self.db.transaction() as run:
            self.store.close_session(run, _digest(token))
            if user is not None:
                self.store.audit(run, _now(), user.email, "déconnexion", user.email, None, client)

    # -- API tokens -------------------------------------------------------------------------
    def create_token(
        self,
        email: str,
        label: str,
        *,
        expire_days: int = TOKEN_DAYS,
        actor: str | None = None,
    ) -> str:
        """A new API token for ``email``, named ``label`` (what it is for), valid
        ``expire_days`` days. Shown once: only its digest is kept (see :meth:`tokens`)."""
        label = label.strip()
        if not label:
            raise InputError("un jeton d'API porte un nom (--label) : à quoi sert-il ?")
        if not 1 <= expire_days <= MAX_TOKEN_DAYS:
            raise InputError(f"durée de validité d'un jeton : de 1 à {MAX_TOKEN_DAYS} jours")
        user = self.get(email)
        token = "obs_" + secrets.token_urlsafe(32)
        now = _now()
        expires = now + timedelta(days=expire_days)
        with self.db.transaction() as run:
            self.store.add_token(
                run,
                token_hash=_digest(token),
                token_id=secrets.token_hex(6),
                user_id=user.id,
                label=label,
                created_at=now,
                expires_at=expires,
            )
            detail = f"{label} (jusqu'au {stamp(expires)[:10]})"
            self.store.audit(run, _now(), actor, "création de jeton d'API", user.email, detail)
        return token

    def tokens(self, email: str | None = None, *, token: str | None = None) -> list[ApiToken]:
        """The API tokens of ``email`` (of every account when None; the one ``token`` is when
        given), newest first."""
        if email is not None:
            rows = self.store.tokens(user_id=self.get(email).id)
        else:
            rows = self.store.tokens(token_hash=None if token is None else _digest(token))
        now = stamp(_now())
        found = []
        for row in rows:
            state = "révoqué" if row["revoked_at"] else "actif"
            if not row["revoked_at"] and str(row["expires_at"]) <= now:
                state = "expiré"
            found.append(ApiToken(**row, state=state))
        return found

    def revoke_token(self, email: str, token_id: str, *, actor: str | None = None) -> ApiToken:
        """Revoke the token number ``token_id`` of ``email`` (see :meth:`tokens`)."""
        user = self.get(email)
        found = [t for t in self.tokens(user.email) if t.id == token_id.strip()]
        if not found:
            raise InputError(
                f"aucun jeton d'API n° {token_id} pour {user.email} "
                f"(voir « observatoire users tokens {user.email} »)"
            )
        if found[0].revoked_at:
            raise InputError(f"le jeton n° {token_id} est déjà révoqué ({found[0].revoked_at})")
        with self.db.transaction() as run:
            self.store.revoke_token(run, found[0].id, user.id, _now())
            detail = f"n° {found[0].id} « {found[0].label} »"
            self.store.audit(run, _now(), actor, "révocation de jeton d'API", user.email, detail)
        return next(t for t in self.tokens(user.email) if t.id == found[0].id)

    def token_holder(self, token: str) -> User:
        """The user of an API token, or :class:`AccessError` saying why not (unknown, revoked,
        expired, account disabled). Records when the token was last used (to the minute)."""
        row = self.store.token_user(_digest(token))
        if row is None:
            raise AccessError("jeton d'API inconnu : vérifiez l'en-tête « Authorization »")
        now = _now()
        again = "demandez un nouveau jeton à un administrateur"
        if row["revoked_at"]:
            raise AccessError(f"jeton d'API révoqué le {str(row['revoked_at'])[:10]} : {again}")
        if str(row["expires_at"]) <= stamp(now):
            raise AccessError(f"jeton d'API expiré le {str(row['expires_at'])[:10]} : {again}")
        if not bool(row["active"]):
            raise AccessError("jeton d'API d'un compte désactivé")
        if not row["last_used"] or str(row["last_used"]) < stamp(now - timedelta(minutes=1)):
            self.store.touch_token(_digest(token), now)
        return _user(row)

    def token_user(self, token: str) -> User | None:
        """The user of a usable API token, else None."""
        try:
            return self.token_holder(token)
        except AccessError:
            return None

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
            self.store.audit(run, _now(), actor, action, target, detail, client)

    def audit_log(self, limit: int = 200) -> list[dict[str, object]]:
        return self.store.audit_log(limit)


def _user(row: Mapping[str, Any]) -> User:
    """A :class:`User` from a user's row of :mod:`observatoire.store.accounts`."""
    organisation = row["organisation"]
    return User(
        id=str(row["id"]),
        email=str(row["email"]),
        name=str(row["name"]),
        role=Role(str(row["role"])),
        organisation=None if organisation is None else str(organisation),
        active=bool(row["active"]),
    )
