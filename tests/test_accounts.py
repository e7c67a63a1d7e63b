"""Accounts over the application database, on SQLite and on the PostgreSQL server: passwords
and their policy, sessions, the login throttle, API tokens, the audit log."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from observatoire.errors import AccessError, HomeError, InputError, UnknownNameError
from observatoire.passwords import check_password
from observatoire.secret.rules import Audience
from observatoire.services import accounts as accounts_module
from observatoire.services.accounts import Accounts, Role, ThrottledError
from observatoire.store import appdb, logins
from observatoire.store.appdb import APP_MIGRATIONS, AppDatabase
from observatoire.store.logins import (
    MAX_ACCOUNT_FAILURES,
    MAX_ATTEMPTS,
    MAX_CLIENT_FAILURES,
    MAX_FAILURES,
)

from .conftest import postgres_schema

PASSWORD = "correct horse battery"
CHEAP = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
WRONG = "wrong password!"


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh application database of each kind (PostgreSQL: the throwaway server of
    scripts/test.sh, one schema per test)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'application.sqlite'}"
        return
    with postgres_schema() as url:
        yield url


@pytest.fixture
def accounts(database_url: str) -> Iterator[Accounts]:
    """Accounts hashing with argon2id at a low cost (the tests hash hundreds of times)."""
    database = AppDatabase(database_url)
    database.migrate()
    assert database.migrate() == len(APP_MIGRATIONS)  # idempotent
    yield Accounts(database, hasher=CHEAP)
    database.close()


@pytest.fixture
def hashes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every argon2 verification made from now on (the hash it checked against)."""
    made: list[str] = []
    verify = PasswordHasher.verify

    def counted(self: PasswordHasher, stored: str | bytes, password: str | bytes) -> bool:
        made.append(str(stored))
        return verify(self, stored, password)

    monkeypatch.setattr(PasswordHasher, "verify", counted)
    return made


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
        accounts.login("m@ville.fr", WRONG, client="10.0.0.1")
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
        from observatoire.services.accounts import parse_role

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
    with pytest.raises(AccessError, match="révoqué"):
        accounts.token_holder(api)
    with pytest.raises(AccessError):
        accounts.login("m@ville.fr", PASSWORD)
    accounts.set_active("m@ville.fr", True, actor="admin")
    assert accounts.login("m@ville.fr", PASSWORD)[0].active
    assert accounts.token_user(api) is None  # revoked tokens stay revoked
    assert accounts.revoke_sessions("m@ville.fr") == 1


# -- the password policy -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("aaaaaaaaaaaa", "répète"),
        ("abcabcabcabc", "répète"),
        ("123456789012", "courant"),
        ("azertyuiopqs", "courant"),
        ("motdepasse123", "courant"),
        ("bonjourmarseille", "courant"),
        ("qwertyuiop12", "courant"),
        ("P@ssw0rd2024!", "courant"),
        # a word padded with digits and symbols (found by the audit of issue 18)
        ("Azerty123456!", "mot courant complété"),
        ("Soleil2024!!", "mot courant complété"),
        ("Bonjour2024!!!", "mot courant complété"),
        ("Juillet2024!!", "mot courant complété"),
        ("camille.martin2024", "adresse électronique"),
        ("Observatoire-Social-2026", "nom de l'observatoire"),
        ("court", "trop court"),
    ],
)
def test_easy_passwords_are_refused_saying_why(password: str, reason: str) -> None:
    with pytest.raises(InputError, match=reason):
        check_password(password, email="camille.martin@cd93.fr", observatory="Observatoire social")


def test_the_observatorys_territory_padded_with_digits_is_refused() -> None:
    with pytest.raises(InputError, match="mot courant complété"):
        check_password("Seinesaintdenis93", observatory="Observatoire de la Seine-Saint-Denis")


def test_the_policy_applies_to_new_accounts_and_new_passwords(accounts: Accounts) -> None:
    for fine in (PASSWORD, "un mot de passe long", "une girafe mange des clémentines"):
        check_password(fine, email="camille.martin@cd93.fr", observatory="Observatoire social")
    with pytest.raises(InputError, match="répète"):
        accounts.create_user("m@ville.fr", "x" * 16, role=Role.MEMBER)
    with pytest.raises(InputError, match="nom de l'observatoire"):
        accounts.create_user(
            "m@ville.fr", "observatoire 93 !!", role=Role.MEMBER, observatory="Observatoire 93"
        )
    accounts.create_user("m@ville.fr", PASSWORD, role=Role.MEMBER)
    with pytest.raises(InputError, match="courant"):
        accounts.set_password("m@ville.fr", "azerty123456")
    assert accounts.login("m@ville.fr", PASSWORD)[0].email == "m@ville.fr"  # unchanged


# -- the login throttle ------------------------------------------------------------------------
def test_an_unknown_address_costs_one_argon2_check_as_a_known_one(
    accounts: Accounts, hashes: list[str]
) -> None:
    """Same work whether the account exists, is disabled, or not: the time of an answer does
    not tell which addresses have an account. With argon2's default parameters, as served."""
    accounts = Accounts(accounts.db)
    accounts.create_user("m@ville.fr", PASSWORD, role=Role.MEMBER)
    accounts.create_user("off@ville.fr", PASSWORD, role=Role.MEMBER)
    accounts.set_active("off@ville.fr", False)
    made = []
    for email, password in [
        ("m@ville.fr", PASSWORD),
        ("m@ville.fr", WRONG),
        ("nobody@ville.fr", WRONG),
        ("off@ville.fr", PASSWORD),
    ]:
        hashes.clear()
        with contextlib.suppress(AccessError):
            accounts.login(email, password, client="10.0.0.1")
        made.append(len(hashes))
        assert all(h.startswith("$argon2id$v=19$m=65536,t=3,p=4$") for h in hashes)
    assert made == [1, 1, 1, 1]


def test_successes_are_throttled_before_any_hash(accounts: Accounts, hashes: list[str]) -> None:
    accounts.create_user("m@ville.fr", PASSWORD, role=Role.MEMBER)
    for _ in range(MAX_ATTEMPTS):
        accounts.login("m@ville.fr", PASSWORD, client="10.0.0.1")
    assert len(hashes) == MAX_ATTEMPTS
    with pytest.raises(ThrottledError):
        accounts.login("m@ville.fr", PASSWORD, client="10.0.0.1")
    assert len(hashes) == MAX_ATTEMPTS  # refused before hashing
    refused = [
        r for r in accounts.audit_log() if r["action"] == "connexion refusée (trop d'essais)"
    ]
    assert refused[0]["client"] == "10.0.0.1" and "tentatives" in str(refused[0]["detail"])


def test_attempts_from_one_address_are_bounded_whatever_the_account(
    accounts: Accounts, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(logins, "MAX_CLIENT_ATTEMPTS", 4)  # 30 in a minute by default
    for n in range(4):
        accounts.create_user(f"m{n}@ville.fr", PASSWORD, role=Role.MEMBER)
        accounts.login(f"m{n}@ville.fr", PASSWORD, client="10.0.0.1")
    accounts.create_user("late@ville.fr", PASSWORD, role=Role.MEMBER)
    with pytest.raises(ThrottledError):
        accounts.login("late@ville.fr", PASSWORD, client="10.0.0.1")
    accounts.login("late@ville.fr", PASSWORD, client="10.0.0.2")


def test_an_attacker_cannot_lock_the_owner_out(accounts: Accounts, hashes: list[str]) -> None:
    """50 failures from the attacker's address on the victim's account throttle that address;
    the victim still signs in from its usual one. Guessing spread over many addresses closes
    the account to new addresses only."""
    accounts.create_user("victim@ville.fr", PASSWORD, role=Role.MEMBER)
    accounts.login("victim@ville.fr", PASSWORD, client="10.0.0.1")  # its usual address
    codes = []
    for _ in range(50):
        try:
            accounts.login("victim@ville.fr", WRONG, client="10.6.6.6")
        except ThrottledError:
            codes.append(429)
        except AccessError:
            codes.append(401)
    assert codes == [401] * MAX_FAILURES + [429] * (50 - MAX_FAILURES)
    assert len(hashes) == 1 + MAX_FAILURES
    with pytest.raises(ThrottledError):  # the attacker's address, even with the password
        accounts.login("victim@ville.fr", PASSWORD, client="10.6.6.6")
    assert accounts.login("victim@ville.fr", PASSWORD, client="10.0.0.1")[0].active
    # many addresses, a few failures each: the account as a whole is bounded...
    for n in range(MAX_ATTEMPTS):
        with pytest.raises(AccessError):
            accounts.login("victim@ville.fr", WRONG, client=f"10.7.0.{n}")
    with pytest.raises(ThrottledError):  # ...for an address it never signed in from
        accounts.login("victim@ville.fr", PASSWORD, client="10.8.0.1")
    assert accounts.login("victim@ville.fr", PASSWORD, client="10.0.0.1")[0].active
    assert MAX_ACCOUNT_FAILURES <= MAX_CLIENT_FAILURES  # a slower spread is bounded too


def test_a_spray_from_one_address_throttles_that_address_only(accounts: Accounts) -> None:
    for n in range(3):
        accounts.create_user(f"m{n}@ville.fr", PASSWORD, role=Role.MEMBER)
    for n in range(MAX_CLIENT_FAILURES):
        with pytest.raises(AccessError, match="incorrect"):
            accounts.login(
                f"m{n % 3}@ville.fr" if n < 3 else f"g{n}@ville.fr", WRONG, client="10.6.6.6"
            )
    for n in range(3):
        with pytest.raises(ThrottledError):
            accounts.login(f"m{n}@ville.fr", PASSWORD, client="10.6.6.6")
        assert accounts.login(f"m{n}@ville.fr", PASSWORD, client="10.0.0.2")[0].active
    assert "connexion refusée (trop d'essais)" in [r["action"] for r in accounts.audit_log()]


def test_a_spray_behind_a_shared_address_does_not_lock_out_its_usual_accounts(
    accounts: Accounts,
) -> None:
    """An office (or an undeclared proxy) puts everyone behind one address: failures sprayed
    from it throttle the address for accounts never seen there, not for those who sign in from
    it as usual."""
    accounts.create_user("agent@cd93.fr", PASSWORD, role=Role.ANALYST)
    accounts.create_user("nouveau@cd93.fr", PASSWORD, role=Role.MEMBER)
    accounts.login("agent@cd93.fr", PASSWORD, client="10.1.1.1")  # its usual address
    for n in range(MAX_CLIENT_FAILURES):
        with pytest.raises(AccessError, match="incorrect"):
            accounts.login(f"inconnu{n}@cd93.fr", WRONG, client="10.1.1.1")
    assert accounts.login("agent@cd93.fr", PASSWORD, client="10.1.1.1")[0].active
    with pytest.raises(ThrottledError):
        accounts.login("nouveau@cd93.fr", PASSWORD, client="10.1.1.1")


def test_sessions_are_capped_per_account_and_expired_ones_purged(
    accounts: Accounts, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(accounts_module, "MAX_SESSIONS", 3)  # 10 by default
    accounts.create_user("m@ville.fr", PASSWORD, role=Role.MEMBER)
    accounts.create_user("o@ville.fr", PASSWORD, role=Role.MEMBER)
    _, other = accounts.login("o@ville.fr", PASSWORD)
    accounts.db.execute("UPDATE app_session SET expires_at = '2000-01-01T00:00:00+00:00'")
    opened = [accounts.login("m@ville.fr", PASSWORD)[1] for _ in range(5)]
    assert [accounts.session_user(t) is not None for t in opened] == [False, False] + [True] * 3
    count = accounts.db.query("SELECT COUNT(*) AS n FROM app_session").n.iloc[0]
    assert int(count) == 3  # the expired session of o@ is gone from the table
    assert accounts.session_user(other) is None
    assert any("plus ancienne" in str(r["detail"]) for r in accounts.audit_log())


# -- API tokens --------------------------------------------------------------------------------
def test_api_tokens_are_named_listed_expiring_and_revocable(accounts: Accounts) -> None:
    accounts.create_user("m@ville.fr", PASSWORD, role=Role.MEMBER)
    with pytest.raises(InputError, match="porte un nom"):
        accounts.create_token("m@ville.fr", "  ")
    board = accounts.create_token("m@ville.fr", "tableau de bord", actor="admin")
    script = accounts.create_token("m@ville.fr", "script", expire_days=30)
    listed = {t.label: t for t in accounts.tokens("m@ville.fr")}
    assert set(listed) == {"tableau de bord", "script"}
    assert listed["script"].expires_at > listed["script"].created_at
    assert listed["tableau de bord"].expires_at[:4] == str(int(listed["script"].created_at[:4]) + 1)
    assert all(t.state == "actif" and t.last_used is None for t in listed.values())
    assert board not in repr(accounts.tokens()) and accounts.tokens(token=board)[0].label == (
        "tableau de bord"
    )
    assert accounts.token_holder(board).email == "m@ville.fr"
    assert accounts.tokens(token=board)[0].last_used is not None
    revoked = accounts.revoke_token("m@ville.fr", listed["tableau de bord"].id, actor="admin")
    assert revoked.state == "révoqué"
    with pytest.raises(AccessError, match="révoqué le"):
        accounts.token_holder(board)
    assert accounts.token_holder(script).email == "m@ville.fr"  # one by one
    with pytest.raises(InputError, match="déjà révoqué"):
        accounts.revoke_token("m@ville.fr", revoked.id)
    with pytest.raises(InputError, match="aucun jeton"):
        accounts.revoke_token("m@ville.fr", "nothing")
    accounts.db.execute(
        "UPDATE app_token SET expires_at = '2001-01-01T00:00:00+00:00' WHERE id = ?",
        [listed["script"].id],
    )
    with pytest.raises(AccessError, match="expiré le 2001-01-01"):
        accounts.token_holder(script)
    with pytest.raises(AccessError, match="inconnu"):
        accounts.token_holder("obs_forged")
    kept = accounts.create_token("m@ville.fr", "avant le changement")
    accounts.set_password("m@ville.fr", "une girafe mange des clémentines", actor="admin")
    with pytest.raises(AccessError, match="révoqué"):  # a new password revokes every token
        accounts.token_holder(kept)
    log = {(r["action"], r["target"]) for r in accounts.audit_log()}
    assert ("révocation de jeton d'API", "m@ville.fr") in log
    assert all(t.state != "actif" for t in accounts.tokens("m@ville.fr"))


def test_migration_3_numbers_and_dates_the_tokens_made_before(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = AppDatabase(database_url)
    monkeypatch.setattr(appdb, "APP_MIGRATIONS", APP_MIGRATIONS[:2])
    database.migrate()
    with database.transaction() as run:
        for digest, created in [
            ("a" * 64, "2025-03-01T10:00:00+00:00"),
            ("b" * 64, "2024-02-29T08:00:00+00:00"),
        ]:
            run(
                "INSERT INTO app_token (token_hash, user_id, label, created_at) "
                "VALUES (?, 'u1', '', ?)",
                [digest, created],
            )
        run("INSERT INTO app_login_attempt (login, client, at) VALUES ('m@v.fr', '-', 'x')")
    monkeypatch.setattr(appdb, "APP_MIGRATIONS", APP_MIGRATIONS)
    assert database.migrate() == len(APP_MIGRATIONS)
    rows = database.query("SELECT id, expires_at FROM app_token ORDER BY token_hash")
    assert rows.id.tolist() == ["a" * 12, "b" * 12]
    assert rows.expires_at.tolist() == ["2026-03-01T10:00:00+00:00", "2025-02-28T08:00:00+00:00"]
    assert database.query("SELECT kind FROM app_login_attempt").kind.tolist() == ["failure"]
    database.close()


def test_a_database_a_later_release_migrated_is_refused_untouched(database_url: str) -> None:
    database = AppDatabase(database_url)
    database.migrate()
    later = str(len(APP_MIGRATIONS) + 1)
    database.execute("UPDATE app_meta SET value = ? WHERE key = 'version'", [later])
    with pytest.raises(HomeError, match=f"sa base applicative en est à la version n° {later}"):
        database.migrate(home="/srv/obs")
    version = database.query("SELECT value FROM app_meta WHERE key = 'version'")
    database.close()
    assert version.value.tolist() == [later]


def test_a_partner_belongs_to_an_organisation_written_as_its_code(accounts: Accounts) -> None:
    """A partner without an organisation would import for no one, hence as the observatory
    (second audit): a member cannot be made a partner without one; codes are stored as the
    partners' registry writes them."""
    accounts.create_user("m@ville.fr", PASSWORD, role=Role.MEMBER)
    with pytest.raises(InputError, match="aucun organisme"):
        accounts.set_role("m@ville.fr", Role.PARTNER, actor="admin")
    assert accounts.get("m@ville.fr").role is Role.MEMBER
    made = accounts.create_user("p@caf.fr", PASSWORD, role=Role.PARTNER, organisation=" CAF93 ")
    assert made.organisation == "caf93" and accounts.get("p@caf.fr").organisation == "caf93"
