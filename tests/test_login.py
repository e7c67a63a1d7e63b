"""Logging in against a served application: argon2 off the event loop, client addresses taken
from X-Forwarded-For only behind a configured proxy, API tokens listed and revoked from the
pages and the command line. On a bare home (no referential: these pages need none)."""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient

from observatoire.observatory import Observatory
from observatoire.services.accounts import Accounts, Role
from observatoire.store.appdb import open_appdb
from observatoire.store.logins import MAX_CLIENT_FAILURES
from observatoire.web import create_app

from .conftest import run, serving, walk_routes

PASSWORD = "une girafe mange des clémentines"


@pytest.fixture
def bare(tmp_path: Path) -> Path:
    """A home with settings and an empty warehouse, and two accounts."""
    obs, _ = Observatory.init(tmp_path / "obs", name="Observatoire test")
    obs.close()
    accounts = _accounts(obs.home.path)
    accounts.create_user("admin@obs.fr", PASSWORD, role=Role.ADMIN, name="Admin")
    accounts.create_user("membre@ville.fr", PASSWORD, role=Role.MEMBER, name="Membre")
    accounts.db.close()
    return obs.home.path


def _accounts(home: Path) -> Accounts:
    return Accounts(open_appdb(home, "duckdb"))


@pytest.fixture
def app(bare: Path) -> Iterator[FastAPI]:
    with Observatory.open(bare) as obs:
        yield create_app(obs)


def _sign_in(client: Any, email: str, password: str = PASSWORD, **headers: str) -> Any:
    client.get("/connexion")
    return client.post(
        "/connexion",
        data={"email": email, "password": password, "csrf": client.cookies["obs_csrf"]},
        headers=headers,
        follow_redirects=False,
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_pages_are_served_while_a_password_is_checked(
    app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The password check is held on an event: another request is answered meanwhile (on
    the event loop it would wait for the check to end)."""
    entered, release = threading.Event(), threading.Event()
    verify = PasswordHasher.verify

    def held(self: PasswordHasher, stored: str | bytes, password: str | bytes) -> bool:
        entered.set()
        release.wait(timeout=60)
        return verify(self, stored, password)

    monkeypatch.setattr(PasswordHasher, "verify", held)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    serving_thread = threading.Thread(target=server.run, daemon=True)
    serving_thread.start()
    base = f"http://127.0.0.1:{port}"
    login: dict[str, int] = {}
    try:
        while not server.started:
            assert serving_thread.is_alive()
            serving_thread.join(0.05)
        with httpx.Client(base_url=base, timeout=60) as member:

            def sign_in() -> None:
                login["status"] = _sign_in(member, "membre@ville.fr").status_code

            signing = threading.Thread(target=sign_in)
            signing.start()
            assert entered.wait(timeout=60)
            page = httpx.get(base + "/connexion.json", timeout=20)
            assert page.status_code == 200 and page.json()["user"] is None
            assert signing.is_alive() and "status" not in login  # the check is still held
            release.set()
            signing.join(timeout=60)
        assert login["status"] == 303
    finally:
        release.set()
        server.should_exit = True
        serving_thread.join(timeout=30)


def _set_proxies(home: Path, proxies: str) -> None:
    settings = home / "observatoire.toml"
    text = settings.read_text(encoding="utf-8")
    settings.write_text(text.replace('proxies = ""', f'proxies = "{proxies}"'), encoding="utf-8")


@pytest.mark.slow  # a server in a subprocess
@pytest.mark.parametrize(
    ("proxies", "workers"), [("", "1"), ("", "2"), ("127.0.0.1", "1")], ids=["1", "2", "proxy"]
)
def test_x_forwarded_for_is_read_only_from_a_configured_proxy(
    bare: Path, tmp_path: Path, proxies: str, workers: str
) -> None:
    """Failures sent with a new X-Forwarded-For each time: without ``proxies`` they all count
    against 127.0.0.1, which is throttled; behind a configured proxy each is its own client."""
    _set_proxies(bare, proxies)
    with serving(bare, tmp_path / "serve.log", "--workers", workers) as base:
        codes = []
        with httpx.Client(base_url=base, timeout=60) as client:
            for n in range(MAX_CLIENT_FAILURES + 1):
                answer = _sign_in(
                    client,
                    f"g{n}@ville.fr",
                    "pas le bon mot de passe",
                    **{"X-Forwarded-For": f"203.0.113.{n + 1}"},
                )
                codes.append(answer.status_code)
    accounts = _accounts(bare)
    failures = [r for r in accounts.audit_log() if r["action"] == "échec de connexion"]
    accounts.db.close()
    if proxies:
        assert codes == [401] * (MAX_CLIENT_FAILURES + 1)
        assert {r["client"] for r in failures} == {
            f"203.0.113.{n + 1}" for n in range(MAX_CLIENT_FAILURES + 1)
        }
    else:
        assert codes == [401] * MAX_CLIENT_FAILURES + [429]
        assert {r["client"] for r in failures} == {"127.0.0.1"}


def test_tokens_listed_and_revoked_from_the_pages(app: FastAPI) -> None:
    accounts: Accounts = app.state.accounts
    script = accounts.create_token("membre@ville.fr", "script R", actor="test")
    board = accounts.create_token("membre@ville.fr", "tableau de bord", actor="test")
    admin, member = TestClient(app), TestClient(app)
    assert _sign_in(admin, "admin@obs.fr").status_code == 303
    assert _sign_in(member, "membre@ville.fr").status_code == 303
    with_script = TestClient(app, headers={"Authorization": f"Bearer {script}"})
    assert with_script.get("/connexion.json").json()["user"]["email"] == "membre@ville.fr"

    page = admin.get("/administration")
    assert "Jetons d'API" in page.text and "script R" in page.text
    assert script not in page.text and board not in page.text
    listed = admin.get("/administration.json").json()["tokens"]
    assert {t["label"] for t in listed} == {"script R", "tableau de bord"}
    assert {"id", "email", "created_at", "last_used", "expires_at", "state"} <= set(listed[0])
    number = next(t["id"] for t in listed if t["label"] == "script R")
    forged = admin.post(
        "/administration/jetons/revoquer",
        data={"csrf": "forged", "email": "membre@ville.fr", "id": number},
    )
    assert forged.status_code == 403
    assert (
        member.post(
            "/administration/jetons/revoquer",
            data={"csrf": member.cookies["obs_csrf"], "email": "membre@ville.fr", "id": number},
        ).status_code
        == 403
    )  # administrators only
    done = admin.post(
        "/administration/jetons/revoquer",
        data={"csrf": admin.cookies["obs_csrf"], "email": "membre@ville.fr", "id": number},
        follow_redirects=False,
    )
    assert done.status_code == 303
    refused = with_script.get("/api/v1/zonings")
    assert refused.status_code == 403 and "révoqué le" in refused.json()["error"]
    page = with_script.get("/")  # a page too: its error page, for the public
    assert page.status_code == 403 and "révoqué le" in page.text
    log = admin.get("/administration.json").json()["audit"]
    assert ("révocation de jeton d'API", "membre@ville.fr", "admin@obs.fr") in {
        (a["action"], a["target"], a["actor"]) for a in log
    }

    own = member.get("/compte")
    assert own.status_code == 200 and "tableau de bord" in own.text and board not in own.text
    found = re.search(r'name="id" value="([^"]+)"', own.text)  # the one token still live
    assert found is not None
    revoked = member.post(
        "/compte/jetons/revoquer",
        data={"csrf": member.cookies["obs_csrf"], "id": found.group(1)},
        follow_redirects=False,
    )
    assert revoked.status_code == 303
    states = {t["label"]: t["state"] for t in member.get("/compte.json").json()["tokens"]}
    assert states == {"script R": "révoqué", "tableau de bord": "révoqué"}
    assert TestClient(app).get("/compte").status_code == 403


def test_a_weak_password_is_refused_from_the_administration(app: FastAPI) -> None:
    admin = TestClient(app)
    _sign_in(admin, "admin@obs.fr")
    refused = admin.post(
        "/administration/comptes",
        data={
            "csrf": admin.cookies["obs_csrf"],
            "email": "ccas@ville.fr",
            "role": "member",
            "password": "observatoire test 2026",
        },
    )
    assert refused.status_code == 400 and "nom de l&#39;observatoire" in refused.text


def test_tokens_from_the_command_line(bare: Path) -> None:
    for command in ("token", "tokens", "revoke-token"):
        code, out = run("users", command, "--help", home=bare)
        assert code == 0 and "Exemple" in out, command
    code, out = run("users", "token", "membre@ville.fr", home=bare)
    assert code == 2 and "--label" in out  # a token is named
    code, out = run(
        "users", "token", "membre@ville.fr", "--label", "script", "--expire-days", "30", home=bare
    )
    assert code == 0
    token = next(line for line in out.splitlines() if line.startswith("obs_"))
    number = re.search(r"n° (\w+)", out)
    assert number is not None
    code, out = run("users", "tokens", "membre@ville.fr", "--format", "json", home=bare)
    assert code == 0 and '"label":"script"' in out.replace(" ", "") and token not in out
    code, out = run("users", "revoke-token", "membre@ville.fr", number.group(1), home=bare)
    assert code == 0 and "révoqué" in out
    accounts = _accounts(bare)
    assert accounts.token_user(token) is None
    accounts.db.close()
    code, out = run("users", "revoke-token", "membre@ville.fr", "nothing", home=bare)
    assert code == 2 and "aucun jeton" in out


def test_a_refused_token_is_refused_on_every_route(app: FastAPI) -> None:
    """A forged API token is refused on every GET route (403 naming the token), whether or
    not the route reads the visitor: who is asking is decided before any route runs."""
    routes = walk_routes(app.routes)
    paths = sorted({path for path, route in routes if "GET" in route.methods and "{" not in path})
    assert "/api/v1/zonings" in paths and "/" in paths and len(paths) > 30
    client = TestClient(app, headers={"Authorization": "Bearer obs_forged-token"})
    answers = {path: client.get(path).status_code for path in paths}
    assert {path: code for path, code in answers.items() if code != 403} == {}
