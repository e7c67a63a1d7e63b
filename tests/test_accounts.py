"""Accounts over the application database, on SQLite and on the PostgreSQL server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from observatoire.accounts import (
    MAX_CLIENT_FAILURES,
    MAX_FAILURES,
    Accounts,
    Role,
    ThrottledError,
)
from observatoire.errors import AccessError, InputError, UnknownNameError
from observatoire.secret.rules import Audience
from observatoire.store.appdb import APP_MIGRATIONS, AppDatabase

from .conftest import postgres_schema

PASSWORD = "correct horse battery"


@pytest.fixture(params=["sqlite", "postgres"])
def accounts(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Accounts]:
    """Accounts on a fresh application database of each kind (PostgreSQL: the throwaway
    server of scripts/test.sh, one schema per test)."""
    if request.param == "sqlite":
        database = AppDatabase(f"sqlite:///{tmp_path / 'application.sqlite'}")
        database.migrate()
        assert database.migrate() == len(APP_MIGRATIONS)  # idempotent
        yield Accounts(database)
        database.close()
        return
    with postgres_schema() as url:
        database = AppDatabase(url)
        database.migrate()
        assert database.migrate() == len(APP_MIGRATIONS)
        yield Accounts(database)
        database.close()


def test_accounts_passwords_sessions_tokens_and_audit(accounts: Accounts) -> None:
    admin = accounts.create_user("Admin@CD93.fr", PASSWORD, role=Role.ADMIN, name="Camille")
    assert admin.email == "admin@cd93.fr" and admin.audience is Audience.ANALYST
    stored = accounts.db.query("SELECT password_hash FROM app_user").password_hash.iloc[0]
    assert stored.startswith("$argon2") and PASSWORD not in stored
    assert not hasattr(admin, "password_hash")
    with pytest.raises(InputError, match="trop court"):
        accounts.create_user("x@y.fr", "court", role=Role.MEMBER)
    with pytest.raises(InputError, match="existe déjà"):
        accounts.create_user("admin@cd93.fr", PASSWORD, role=Role.MEMBER)
    with pytest.raises(InputError, match="organisme"):
        accounts.create_user("caf@caf.fr", PASSWORD, role=Role.PARTNER)
    member = accounts.create_user("m@ville.fr", PASSWORD, role=Role.MEMBER)
    assert member.audience is Audience.MEMBER

    user, token = accounts.login("m@ville.fr", PASSWORD, client="10.0.0.1")
    assert user.email == "m@ville.fr"
    assert accounts.session_user(token) == user
    assert accounts.session_user("forged") is None
    with pytest.raises(AccessError, match="incorrect"):
        accounts.login("m@ville.fr", "wrong password!", client="10.0.0.1")
    with pytest.raises(AccessError, match="incorrect"):  # same answer: no account enumeration
        accounts.login("nobody@ville.fr", PASSWORD, client="10.0.0.2")
    accounts.logout(token)
    assert accounts.session_user(token) is None

    api = accounts.create_token("m@ville.fr", "tableau de bord")
    assert accounts.token_user(api) == user and accounts.token_user("obs_x") is None
    accounts.set_role("m@ville.fr", Role.ANALYST, actor="admin@cd93.fr")
    assert accounts.get("m@ville.fr").audience is Audience.ANALYST
    actions = [row["action"] for row in accounts.audit_log()]
    for action in (
        "création de compte",
        "connexion",
        "échec de connexion",
        "déconnexion",
        "création de jeton d'API",
        "changement de droits",
    ):
        assert action in actions
    with pytest.raises(UnknownNameError):
        from observatoire.accounts import parse_role

        parse_role("superuser")


def test_disabling_an_account_and_closing_its_sessions(accounts: Accounts) -> None:
    accounts.create_user("m@ville.fr", PASSWORD, role=Role.MEMBER)
    sessions = [accounts.login("m@ville.fr", PASSWORD)[1] for _ in range(3)]
    api = accounts.create_token("m@ville.fr", "script")
    assert accounts.revoke_sessions("m@ville.fr", actor="admin") == 3
    assert all(accounts.session_user(s) is None for s in sessions)
    assert accounts.token_user(api) is not None  # a sign-out everywhere keeps API tokens
    _, live = accounts.login("m@ville.fr", PASSWORD)
    accounts.set_active("m@ville.fr", False, actor="admin")
    assert accounts.session_user(live) is None and accounts.token_user(api) is None
    with pytest.raises(AccessError):
        accounts.login("m@ville.fr", PASSWORD)
    accounts.set_active("m@ville.fr", True, actor="admin")
    assert accounts.login("m@ville.fr", PASSWORD)[0].active
    assert accounts.token_user(api) is None  # revoked tokens stay revoked
    assert accounts.revoke_sessions("m@ville.fr") == 1


def test_failed_logins_are_throttled(accounts: Accounts) -> None:
    accounts.create_user("m@ville.fr", PASSWORD, role=Role.MEMBER)
    for _ in range(MAX_FAILURES):
        with pytest.raises(AccessError):
            accounts.login("m@ville.fr", "wrong password!", client="10.0.0.9")
    with pytest.raises(ThrottledError):  # even with the right password, for a while
        accounts.login("m@ville.fr", PASSWORD, client="10.0.0.9")
    accounts.create_user("other@ville.fr", PASSWORD, role=Role.MEMBER)
    accounts.login("other@ville.fr", PASSWORD, client="10.0.0.9")  # colleagues still can
    for n in range(MAX_CLIENT_FAILURES - MAX_FAILURES):  # but not spray from one client
        with pytest.raises(AccessError):
            accounts.login(f"guess{n}@ville.fr", "wrong password!", client="10.0.0.9")
    with pytest.raises(ThrottledError):
        accounts.login("other@ville.fr", PASSWORD, client="10.0.0.9")
    assert "connexion refusée (trop d'essais)" in [r["action"] for r in accounts.audit_log()]
