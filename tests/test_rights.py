"""Accounts and rights on the served demo: login with CSRF and throttling, what each role
receives, API tokens, the audit log, and the authorisation matrix over every API route."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from observatoire.accounts import Role
from observatoire.demo import build_demo, demo_accounts
from observatoire.observatory import Observatory
from observatoire.web import create_app

SECRET = "allocataires_etudiants"  # small synthetic counts, masked for the public and members
ROLES = ("public", "member", "partner", "analyst", "admin")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_demo(tmp_path_factory.mktemp("rights") / "demo", echo=lambda _: None).home


@pytest.fixture(scope="module")
def credentials(demo: Path) -> dict[str, tuple[str, str]]:
    """role → (email, password) of the demo accounts (new passwords at each call)."""
    roles = {
        "administrateur": "admin",
        "chargé d'études": "analyst",
        "producteur partenaire": "partner",
        "membre": "member",
    }
    return {roles[label]: (email, pw) for email, label, pw in demo_accounts(demo)}


@pytest.fixture(scope="module")
def app(demo: Path, credentials: dict[str, tuple[str, str]]) -> Iterator[FastAPI]:
    with Observatory.open(demo) as obs:
        yield create_app(obs)


def signed_in(app: FastAPI, email: str, password: str) -> TestClient:
    client = TestClient(app)
    client.get("/connexion")
    answer = client.post(
        "/connexion",
        data={"email": email, "password": password, "csrf": client.cookies["obs_csrf"]},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text[:300]
    return client


@pytest.fixture(scope="module")
def clients(app: FastAPI, credentials: dict[str, tuple[str, str]]) -> dict[str, TestClient]:
    out = {"public": TestClient(app)}
    for role, (email, password) in credentials.items():
        out[role] = signed_in(app, email, password)
    return out


def test_login_logout_csrf_and_throttling(
    app: FastAPI, credentials: dict[str, tuple[str, str]]
) -> None:
    email, password = credentials["member"]
    client = TestClient(app)
    form = client.get("/connexion")
    assert form.status_code == 200 and 'name="csrf"' in form.text
    forged = client.post(
        "/connexion", data={"email": email, "password": password, "csrf": "forged"}
    )
    assert forged.status_code == 403  # CSRF token not matching the cookie
    assert "obs_session" not in client.cookies
    member = signed_in(app, email, password)
    home = member.get("/").text
    assert "Membre (démo)" in home and "Se déconnecter" in home
    session = member.cookies["obs_session"]
    member.post("/deconnexion", data={"csrf": member.cookies["obs_csrf"]})
    assert "Se connecter" in member.get("/").text
    again = TestClient(app, cookies={"obs_session": session})
    assert "Se connecter" in again.get("/").text  # the session is gone server-side
    target = "cible@demo.invalid"  # an account of its own: the others stay usable
    app.state.accounts.create_user(target, "x" * 16, role=Role.MEMBER, actor="test")
    attacker = TestClient(app)
    attacker.get("/connexion")
    codes = [
        attacker.post(
            "/connexion",
            data={
                "email": target,
                "password": "y" * 12,
                "csrf": attacker.cookies["obs_csrf"],
            },
        ).status_code
        for _ in range(6)
    ]
    assert codes[:5] == [401] * 5 and codes[5] == 429


def test_each_role_receives_what_it_may_see(clients: dict[str, TestClient]) -> None:
    url = "/api/v1/variables/cpam.C2S/values?level=commune&within=93"  # members' dataset
    assert clients["public"].get(url).status_code == 403
    assert clients["member"].get(url).status_code == 200
    assert clients["analyst"].get(url).json()["count"] == 39
    url = "/api/v1/variables/departement93.RSA_SUIVIS/values?level=commune&within=93"
    assert clients["member"].get(url).status_code == 403  # partners-only dataset
    assert clients["analyst"].get(url).status_code == 200
    # the analyst in charge sees the small counts that the public and members never get,
    # whoever asked first (answers are cached per audience)
    url = f"/api/v1/indicators/{SECRET}/values?level=commune&within=93&period=2024"
    analyst = {r["code"]: r for r in clients["analyst"].get(url).json()["rows"]}
    for role in ("public", "member", "partner"):
        seen = {r["code"]: r for r in clients[role].get(url).json()["rows"]}
        masked = [c for c, r in seen.items() if r["status"] == "secret"]
        assert masked and all(seen[c]["value"] is None for c in masked)
        assert all(analyst[c]["value"] is not None for c in masked)
    signed = clients["member"].get(url)
    assert signed.headers["cache-control"].startswith("private")
    assert clients["public"].get(url).headers["cache-control"].startswith("public")


def test_api_tokens_and_the_audit_log(
    app: FastAPI, demo: Path, credentials: dict[str, tuple[str, str]]
) -> None:
    accounts = app.state.accounts
    token = accounts.create_token(credentials["analyst"][0], "script de test", actor="test")
    script = TestClient(app, headers={"Authorization": f"Bearer {token}"})
    url = "/api/v1/variables/departement93.RSA_SUIVIS/values?level=commune&within=93"
    assert script.get(url).status_code == 200
    forged = TestClient(app, headers={"Authorization": "Bearer obs_forged"})
    assert forged.get(url).status_code == 403
    member = signed_in(app, *credentials["member"])
    csv = member.get(f"/indicateurs/{SECRET}.csv?periode=2024")
    assert csv.status_code == 200
    log = accounts.audit_log()
    downloads = [r for r in log if r["action"] == "téléchargement"]
    assert downloads[0]["actor"] == credentials["member"][0]
    assert downloads[0]["target"] == f"{SECRET}.csv"
    assert {"connexion", "échec de connexion"} <= {r["action"] for r in log}


def _sample(path: str) -> str:
    """A representative URL for an API route."""
    values = {"level": "commune", "code": "93066", "ident": SECRET, "name": "caf.ARSAS"}
    url = re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], path)
    return url + "?within=93"


def test_authorisation_matrix_over_every_api_route(
    app: FastAPI, clients: dict[str, TestClient]
) -> None:
    from observatoire.web.api import router

    routes = [r for r in router.routes if isinstance(r, APIRoute) and "GET" in r.methods]
    assert len(routes) >= 10
    truth = (
        clients["analyst"]
        .get(f"/api/v1/indicators/{SECRET}/values?level=commune&within=93&period=2024")
        .json()["rows"]
    )
    small = {
        (r["code"], r["value"]) for r in truth if r["value"] is not None and 0 < r["value"] < 5
    }
    assert small
    seen: dict[tuple[str, str], int] = {}
    for route in routes:
        for role in ROLES:
            answer = clients[role].get(_sample(route.path))
            seen[(route.path, role)] = answer.status_code
            assert answer.status_code in (200, 403, 404), (route.path, role, answer.text[:200])
            if role in ("public", "member", "partner") and answer.status_code == 200:
                _no_small_count(answer.json(), small, route.path)
    # raw variables under secret are refused to the public and members, given to analysts
    assert seen[("/api/v1/variables/{name}/values", "public")] == 403
    assert seen[("/api/v1/variables/{name}/values", "member")] == 403
    assert seen[("/api/v1/variables/{name}/values", "analyst")] == 200


def _no_small_count(payload: Any, small: set[tuple[str, float]], path: str) -> None:
    """No row of ``payload`` gives a masked commune's value of the secret indicator."""
    rows = payload.get("rows", []) if isinstance(payload, dict) else payload
    for row in rows if isinstance(rows, list) else []:
        if not isinstance(row, dict):
            continue
        if row.get("indicator", SECRET) != SECRET or "value" not in row:
            continue
        code = row.get("code", "93066")
        assert (code, row["value"]) not in small, (path, row)
