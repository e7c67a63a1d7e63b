"""Login throttling over the application database: the attempts of the last minutes, and the
addresses each account has signed in from.

Counted per account and per client address: every attempt within :data:`ATTEMPT_WINDOW`
(successes too) and failures within :data:`FAILURE_WINDOW`. An attempt is refused, before any
password is hashed, once one of these bounds is reached:

- failures from the client, whatever the account: :data:`MAX_CLIENT_FAILURES` (spraying);
- attempts from the client, whatever the account: :data:`MAX_CLIENT_ATTEMPTS`;
- failures on the account from the client: :data:`MAX_FAILURES`;
- attempts on the account from the client: :data:`MAX_ATTEMPTS`;
- failures on the account from any client: :data:`MAX_ACCOUNT_FAILURES` (guessing spread over
  many addresses), and attempts on it from any client: :data:`MAX_ATTEMPTS`.

The bounds on a client as a whole and on an account as a whole never refuse an account at an
address it has already signed in from (judged there by the counts of that pair only): whoever
fails on purpose throttles their own address, never an account's owner at its usual one, even
behind an address shared with the attacker (an office, a proxy not declared in ``proxies``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from observatoire.store.appdb import AppDatabase, stamp

__all__ = [
    "ATTEMPT_WINDOW",
    "FAILURE_WINDOW",
    "MAX_ACCOUNT_FAILURES",
    "MAX_ATTEMPTS",
    "MAX_CLIENT_ATTEMPTS",
    "MAX_CLIENT_FAILURES",
    "MAX_FAILURES",
    "LoginThrottle",
]

ATTEMPT_WINDOW = timedelta(minutes=1)
MAX_ATTEMPTS = 10
# An office behind one address holds many users: a higher bound per client.
MAX_CLIENT_ATTEMPTS = 30
FAILURE_WINDOW = timedelta(minutes=15)
MAX_FAILURES = 5
MAX_CLIENT_FAILURES = 20
MAX_ACCOUNT_FAILURES = 20


class LoginThrottle:
    """The throttle's records (``app_login_attempt``, ``app_known_client``) of one database."""

    def __init__(self, database: AppDatabase) -> None:
        self.db = database

    def admit(self, login: str, client: str, now: datetime) -> str | None:
        """Why an attempt of ``login`` from ``client`` is refused now (for the audit log), or
        None: then it is recorded as an attempt. Rows older than the windows are purged."""
        with self.db.transaction() as run:
            run("DELETE FROM app_login_attempt WHERE at < ?", [stamp(now - FAILURE_WINDOW)])
            refused = self._refusal(login, client, now)
            if refused is None:
                run(
                    "INSERT INTO app_login_attempt (login, client, at, kind) "
                    "VALUES (?, ?, ?, 'attempt')",
                    [login, client, stamp(now)],
                )
        return refused

    def _refusal(self, login: str, client: str, now: datetime) -> str | None:
        recent, since = stamp(now - ATTEMPT_WINDOW), stamp(now - FAILURE_WINDOW)
        counts = self.db.query(
            "SELECT "
            "SUM(CASE WHEN kind = 'failure' AND client = ? THEN 1 ELSE 0 END) AS client_failures, "
            "SUM(CASE WHEN kind = 'attempt' AND at >= ? AND client = ? THEN 1 ELSE 0 END) "
            "AS client_attempts, "
            "SUM(CASE WHEN kind = 'failure' AND login = ? AND client = ? THEN 1 ELSE 0 END) "
            "AS pair_failures, "
            "SUM(CASE WHEN kind = 'attempt' AND at >= ? AND login = ? AND client = ? "
            "THEN 1 ELSE 0 END) AS pair_attempts, "
            "SUM(CASE WHEN kind = 'failure' AND login = ? THEN 1 ELSE 0 END) "
            "AS account_failures, "
            "SUM(CASE WHEN kind = 'attempt' AND at >= ? AND login = ? THEN 1 ELSE 0 END) "
            "AS account_attempts "
            "FROM app_login_attempt WHERE (login = ? OR client = ?) AND at >= ?",
            [
                *(client, recent, client),
                *(login, client, recent, login, client),
                *(login, recent, login),
                *(login, client, since),
            ],
        )
        n = {str(k): int(v) for k, v in counts.fillna(0).iloc[0].items()}
        bounds = [
            ("client_failures", MAX_CLIENT_FAILURES, "échecs depuis cette adresse"),
            ("client_attempts", MAX_CLIENT_ATTEMPTS, "tentatives depuis cette adresse"),
            ("pair_failures", MAX_FAILURES, "échecs sur ce compte depuis cette adresse"),
            ("pair_attempts", MAX_ATTEMPTS, "tentatives sur ce compte depuis cette adresse"),
            ("account_failures", MAX_ACCOUNT_FAILURES, "échecs sur ce compte"),
            ("account_attempts", MAX_ATTEMPTS, "tentatives sur ce compte"),
        ]
        for key, bound, what in bounds:
            if n[key] < bound:
                continue
            if not key.startswith("pair_") and self._known(login, client):
                continue  # the account's usual address: judged by its own counts only
            window = "en une minute" if key.endswith("attempts") else "en un quart d'heure"
            return f"{n[key]} {what} {window}"
        return None

    def _known(self, login: str, client: str) -> bool:
        """Whether ``login`` has signed in from ``client`` before."""
        return not self.db.query(
            "SELECT k.client FROM app_known_client k JOIN app_user u ON u.id = k.user_id "
            "WHERE u.email = ? AND k.client = ?",
            [login, client],
        ).empty

    @staticmethod
    def failed(run: Any, login: str, client: str, now: datetime) -> None:
        """Record a failure (inside the caller's transaction)."""
        run(
            "INSERT INTO app_login_attempt (login, client, at, kind) VALUES (?, ?, ?, 'failure')",
            [login, client, stamp(now)],
        )

    @staticmethod
    def succeeded(run: Any, login: str, user_id: str, client: str, now: datetime) -> None:
        """Record a success (inside the caller's transaction): the failures of this account
        from this client are forgiven, and the client becomes one of the account's usual
        addresses."""
        run(
            "DELETE FROM app_login_attempt WHERE login = ? AND client = ? AND kind = 'failure'",
            [login, client],
        )
        run(
            "INSERT INTO app_known_client (user_id, client, last_at) VALUES (?, ?, ?) "
            "ON CONFLICT (user_id, client) DO UPDATE SET last_at = excluded.last_at",
            [user_id, client, stamp(now)],
        )
