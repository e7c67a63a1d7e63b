"""Accounts and rights on the served demo: login with CSRF and throttling, what each role
receives, API tokens, the audit log, and the authorisation matrix over every API route."""

from __future__ import annotations

import io
import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from observatoire.demo import demo_accounts
from observatoire.errors import AccessError
from observatoire.observatory import Observatory
from observatoire.services.accounts import Role
from observatoire.web import create_app
from observatoire.web.schemas import ImportsPublic

from .conftest import (
    A11Y_CHECK,
    DATA,
    SCREENSHOTS,
    demo_copy,
    needs_data,
    serving,
    signed_in,
    walk_routes,
)

SECRET = "allocataires_etudiants"  # small synthetic counts, masked for the public and members
ROLES = ("public", "member", "partner", "analyst", "admin")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, demo_home: Any) -> Path:
    """The session's demo, copied (these tests deposit files and change accounts)."""
    return demo_copy(demo_home, tmp_path_factory.mktemp("rights") / "demo").home


@pytest.fixture(scope="module")
def credentials(demo: Path) -> dict[str, tuple[str, str]]:
    """role → (email, password) of the demo accounts (new passwords at each call)."""
    roles = {
        "administrateur": "admin",
        "chargé d'études": "analyst",
        "producteur partenaire": "partner",
        "membre": "member",
    }
    found = {}
    for email, label, password in demo_accounts(demo):
        # the demo's second partner account is an operator's (issue 7): "operator" here
        role = "operator" if email.startswith("operateur@") else roles[label]
        found[role] = (email, password)
    return found


@pytest.fixture(scope="module")
def app(demo: Path, credentials: dict[str, tuple[str, str]]) -> Iterator[FastAPI]:
    with Observatory.open(demo, write=True) as obs:  # as `serve` does: deposits write
        yield create_app(obs)


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
    app.state.accounts.create_user(target, "un mot de passe long", role=Role.MEMBER, actor="test")
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


def test_a_partner_reads_its_own_organisation_s_deposits(
    app: FastAPI, clients: dict[str, TestClient]
) -> None:
    """The Département's partners-only dataset, once deposited under caf93's name, is read by
    caf93's producer, and still by no member nor any other partner."""
    warehouse = app.state.observatory.warehouse
    app.state.accounts.create_user(
        "autre@part.fr", "un mot de passe long", role=Role.PARTNER, organisation="autre"
    )
    other = signed_in(app, "autre@part.fr", "un mot de passe long")
    url = "/api/v1/variables/departement93.RSA_SUIVIS/values?level=commune&within=93"
    assert clients["partner"].get(url).status_code == 403
    with warehouse.transaction() as tx:
        tx.execute("UPDATE import_batch SET partner = 'caf93' WHERE dataset = 'departement93.rsa'")
    try:
        own = clients["partner"].get(url)
        assert own.status_code == 200 and own.json()["count"] == 39
        assert clients["member"].get(url).status_code == 403
        assert other.get(url).status_code == 403  # answers are cached per organisation too
    finally:
        with warehouse.transaction() as tx:
            tx.execute("UPDATE import_batch SET partner = NULL WHERE dataset = 'departement93.rsa'")


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


def _sample(path: str, masked: list[str]) -> str:
    """A representative URL for an API route; comparisons ask for communes whose value of the
    secret indicator is masked."""
    values = {"level": "commune", "code": "93066", "ident": SECRET, "name": "caf.ARSAS"}
    url = re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], path)
    if path.endswith("/comparisons"):
        return f"{url}?territories={','.join(masked[:12])}&indicators={SECRET}"
    if path.endswith("/projection"):  # a series to extend (the secret one has a single year)
        url = url.replace(SECRET, "demandeurs_emploi")
    if path.endswith(("/funnel", "/gradient", "/qpv")):  # a rate over the secret count
        url = url.replace(SECRET, f"part_{SECRET}")
    return url + "?within=93"


def test_authorisation_matrix_over_every_api_route(
    app: FastAPI, clients: dict[str, TestClient]
) -> None:
    every = [r for path, r in walk_routes(app.routes) if path.startswith("/api/v1")]
    routes = [r for r in every if r.include_in_schema and "GET" in r.methods]
    assert len(routes) >= 11
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
            answer = clients[role].get(_sample(route.path, sorted(c for c, _ in small)))
            seen[(route.path, role)] = answer.status_code
            assert answer.status_code in (200, 403, 404), (route.path, role, answer.text[:200])
            if role in ("public", "member", "partner") and answer.status_code == 200:
                _no_small_count(_payload(answer), small, route.path)
    # raw variables under secret are refused to the public and members, given to analysts
    assert seen[("/api/v1/variables/{name}/values", "public")] == 403
    assert seen[("/api/v1/variables/{name}/values", "member")] == 403
    assert seen[("/api/v1/variables/{name}/values", "analyst")] == 200
    assert seen[("/api/v1/needs", "public")] == 403 and seen[("/api/v1/needs", "member")] == 200


def test_every_api_answer_is_what_its_model_says(
    app: FastAPI, clients: dict[str, TestClient], credentials: dict[str, tuple[str, str]]
) -> None:
    """Each JSON answer of every API route, for every role, validates against the model the
    route documents in /api/v1/openapi.json (test_openapi.py); a token's history too."""
    from pydantic import TypeAdapter

    every = [r for path, r in walk_routes(app.routes) if path.startswith("/api/v1")]
    routes = [r for r in every if r.include_in_schema and "GET" in r.methods]
    document = clients["public"].get("/api/v1/documents").json()["rows"][0]["id"]
    entries = {"sources": "caf-allocataires", "documents": document, "needs": "B2026-004"}
    documented = {r.path for r in routes if r.response_model is not None}  # not a file
    checked = set()
    for route in routes:
        if route.path not in documented:
            continue
        model = TypeAdapter(route.response_model)
        url = _sample(route.path, ["93066"])
        kind = route.path.split("/")[3]
        if route.path.endswith("{ident}") and kind in entries:
            url = route.path.replace("{ident}", entries[kind])
        for role in ROLES:
            answer = clients[role].get(url)
            if answer.status_code == 200:
                model.validate_python(answer.json())
                checked.add(route.path)
    token = app.state.accounts.create_token(credentials["analyst"][0], "modèles", actor="test")
    history = TestClient(app, headers={"Authorization": f"Bearer {token}"}).get("/api/v1/imports")
    assert history.status_code == 200 and history.json()["imports"]
    TypeAdapter(ImportsPublic).validate_python(history.json())
    assert checked == documented - {"/api/v1/imports"}, documented - checked  # read by tokens


def _payload(answer: Any) -> Any:
    """The rows of an answer: JSON, or a CSV export read back (French column names)."""
    kind = answer.headers.get("content-type", "")
    if kind.startswith("text/csv"):
        frame = pd.read_csv(io.StringIO(answer.text.lstrip("\ufeff")), sep=";", decimal=",")
        frame = frame.rename(columns={"valeur": "value"})
        frame["code"] = frame["code"].astype(str).str.zfill(5)
        return {"rows": frame.astype(object).where(frame.notna(), None).to_dict("records")}
    return answer.json()


def masked_codes(small: set[tuple[str, float]]) -> set[str]:
    return {code for code, _ in small}


def _no_small_count(payload: Any, small: set[tuple[str, float]], path: str) -> None:
    """No row of ``payload`` gives a masked commune's value of the secret indicator."""
    rows = payload.get("rows", []) if isinstance(payload, dict) else payload
    if isinstance(payload, dict) and "members" in payload:  # a gradient: no masked commune in
        assert not {m["code"] for m in payload["members"]} & masked_codes(small), path
    if isinstance(payload, dict) and "points" in payload:  # a funnel: no masked commune placed
        masked = {code for code, _ in small}
        placed = {p["code"] for p in payload["points"]}
        assert not placed & masked, (path, placed & masked)
        assert not any(p.get("numerator") in {v for _, v in small} for p in payload["points"])
    for quartier in payload.get("quartiers", []) if isinstance(payload, dict) else []:
        if quartier["value"] is None:  # a masked quartier: no count, no rest either
            assert quartier["numerator"] is None and quartier["denominator"] is None, path
            assert quartier["rest_value"] is None, (path, quartier)
        rest = quartier["rest_numerator"]  # commune − its QPV: a count like any other
        assert rest is None or not 0 < rest < 5, (path, quartier)
    for row in rows if isinstance(rows, list) else []:
        if isinstance(row, dict) and "cells" in row and row.get("code") in masked_codes(small):
            for cell in row["cells"]:  # a heatmap: the secret rate of a masked commune is hidden
                if cell["indicator"] == f"part_{SECRET}":
                    assert cell["category"] in ("secret", "missing"), (path, row["code"], cell)
                    assert cell["value"] is None, (path, row["code"], cell)
        if not isinstance(row, dict):
            continue
        if row.get("indicator", SECRET) != SECRET or "value" not in row:
            continue
        code = row.get("code", "93066")
        assert (code, row["value"]) not in small, (path, row)


def _csrf(client: TestClient) -> str:
    return str(client.cookies["obs_csrf"])


@needs_data
def test_deposit_validate_confirm_and_roll_back_a_real_insee_file(
    app: FastAPI,
    clients: dict[str, TestClient],
    demo: Path,
    credentials: dict[str, tuple[str, str]],
) -> None:
    filosofi = DATA / "filosofi" / "FILO2019_DISP_DEP.csv"  # INSEE, every département
    assert clients["public"].get("/imports").status_code == 403
    assert clients["member"].get("/imports").status_code == 403
    analyst = clients["analyst"]
    obs = app.state.observatory
    before = obs.warehouse.count("import_batch")
    assert "niveau_vie_median" not in analyst.get("/api/v1/indicators?available=true").text
    with filosofi.open("rb") as handle:
        report = analyst.post(
            "/imports",
            data={"csrf": _csrf(analyst)},
            files={"fichier": (filosofi.name, handle, "text/csv")},
        )
    assert report.status_code == 200, report.text[:500]
    assert "Rapport de validation" in report.text and "insee.filosofi" in report.text
    assert obs.warehouse.count("import_batch") == before  # validated, nothing written
    found = re.search(r'name="depot" value="([^"]+)"', report.text)
    assert found is not None
    deposit = found.group(1)
    done = analyst.post(
        "/imports/confirmer",
        data={"csrf": _csrf(analyst), "depot": deposit, "action": "confirmer"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    batch = int(done.headers["location"].rsplit("/", 1)[1])
    assert obs.warehouse.count("import_batch") == before + 1
    detail = analyst.get(f"/imports/{batch}.json").json()
    assert detail["import"]["status"] == "active" and detail["report"]["rows_imported"] == 98
    # the values are served at once (the import changed the data version), as published
    url = "/api/v1/indicators/niveau_vie_median/values?level=departement"
    median = analyst.get(url).json()
    seine = next(r for r in median["rows"] if r["code"] == "93")
    assert seine["value"] == 18070  # INSEE Filosofi 2019, Seine-Saint-Denis (Q219)
    assert clients["public"].get(url).json()["count"] > 90  # a public dataset
    # a partner sees its organisation's imports only, and may not roll back
    partner = clients["partner"]
    history = partner.get("/imports.json").json()["imports"]
    assert all(i["partner"] == "caf93" for i in history)
    assert partner.get(f"/imports/{batch}").status_code == 403
    refused = partner.post(f"/imports/{batch}/retirer", data={"csrf": _csrf(partner)})
    assert refused.status_code == 403
    # a file that is not a table of values: refused with its line and columns, nothing written
    bad = partner.post(
        "/imports",
        data={"csrf": _csrf(partner)},
        files={"fichier": ("saisie.csv", b"truc;machin\n1;2\n", "text/csv")},
    )
    assert bad.status_code == 400 and "ligne 1" in bad.text and "truc, machin" in bad.text
    assert obs.warehouse.count("import_batch") == before + 1
    assert not any((demo / "depots").glob("*/saisie.csv"))
    # roll back: the values are gone again
    back = analyst.post(
        f"/imports/{batch}/retirer", data={"csrf": _csrf(analyst)}, follow_redirects=False
    )
    assert back.status_code == 303
    assert analyst.get(f"/imports/{batch}.json").json()["import"]["status"] != "active"
    gone = analyst.get(url)
    assert gone.status_code in (403, 404) or all(r["value"] is None for r in gone.json()["rows"])
    actions = [r["action"] for r in app.state.accounts.audit_log()]
    for action in ("dépôt", "import", "dépôt refusé", "retour arrière"):
        assert action in actions
    # the same through the API, for a script with a token (a session cookie is not enough)
    token = app.state.accounts.create_token(credentials["analyst"][0], "dépôts", actor="test")
    script = TestClient(app, headers={"Authorization": f"Bearer {token}"})
    with filosofi.open("rb") as handle:
        checked = script.post(
            "/api/v1/imports?dry_run=true", files={"fichier": (filosofi.name, handle, "text/csv")}
        )
    assert checked.status_code == 200 and checked.json()["rows_imported"] == 98
    assert checked.json()["batch"] is None
    with filosofi.open("rb") as handle:
        cookie = analyst.post("/api/v1/imports", files={"fichier": (filosofi.name, handle)})
    assert cookie.status_code == 403
    with filosofi.open("rb") as handle:
        done = script.post("/api/v1/imports", files={"fichier": (filosofi.name, handle)})
    assert done.status_code == 201 and done.json()["batch"] > batch
    assert any(
        i["id"] == done.json()["batch"] for i in script.get("/api/v1/imports").json()["imports"]
    )


def test_administration_accounts_roles_and_journal(clients: dict[str, TestClient]) -> None:
    admin = clients["admin"]
    for role in ("public", "member", "partner", "analyst"):
        assert clients[role].get("/administration").status_code == 403
    page = admin.get("/administration")
    assert page.status_code == 200 and "Journal" in page.text and "Créer un compte" in page.text
    assert "caf93" in page.text and "departement93.rsa" in page.text  # partners, datasets
    created = admin.post(
        "/administration/comptes",
        data={
            "csrf": _csrf(admin),
            "email": "ccas@ville.fr",
            "name": "CCAS",
            "role": "member",
            "password": "un mot de passe long",
        },
        follow_redirects=False,
    )
    assert created.status_code == 303
    changed = admin.post(
        "/administration/comptes/role",
        data={"csrf": _csrf(admin), "email": "ccas@ville.fr", "role": "analyst"},
        follow_redirects=False,
    )
    assert changed.status_code == 303
    forged = admin.post(
        "/administration/comptes/role",
        data={"csrf": "forged", "email": "ccas@ville.fr", "role": "admin"},
    )
    assert forged.status_code == 403
    data = admin.get("/administration.json").json()
    ccas = next(u for u in data["users"] if u["email"] == "ccas@ville.fr")
    assert ccas["role"] == "analyst" and "password_hash" not in json.dumps(data)
    assert "$argon2" not in json.dumps(data)
    actions = [(a["action"], a["target"]) for a in data["audit"]]
    assert ("changement de droits", "ccas@ville.fr") in actions


def test_administration_partners_agreements_and_locking_an_account_out(
    app: FastAPI, clients: dict[str, TestClient]
) -> None:
    admin = clients["admin"]

    def post(path: str, **fields: str) -> Any:
        return admin.post(path, data={"csrf": _csrf(admin), **fields}, follow_redirects=False)

    assert post("/administration/partenaires", code="cpam93", name="CPAM 93").status_code == 303
    assert post("/administration/partenaires", code="pas bon!", name="x").status_code == 400
    agreement = {"partner": "cpam93", "reference": "CONV-2026-01", "scope": "ALD par commune"}
    saved = post("/administration/conventions", **agreement, valid_from="2026-01-01")
    assert saved.status_code == 303
    backwards = post(
        "/administration/conventions", **agreement, valid_from="2026-01-01", valid_to="2025-01-01"
    )
    assert backwards.status_code == 400 and "finit avant de commencer" in backwards.text
    data = admin.get("/administration.json").json()
    cpam = next(p for p in data["partners"] if p["code"] == "cpam93")
    assert [a["reference"] for a in cpam["agreements_list"]] == ["CONV-2026-01"]
    assert clients["analyst"].post("/administration/partenaires", data={}).status_code == 403

    accounts = app.state.accounts
    accounts.create_user("temp@ville.fr", "un mot de passe long", role=Role.ANALYST, actor="t")
    one, two = (
        signed_in(app, "temp@ville.fr", "un mot de passe long"),
        signed_in(app, "temp@ville.fr", "un mot de passe long"),
    )
    token = accounts.create_token("temp@ville.fr", "script")
    script = TestClient(app, headers={"Authorization": f"Bearer {token}"})
    assert one.get("/connexion.json").json()["user"]["email"] == "temp@ville.fr"
    assert post("/administration/comptes/sessions", email="temp@ville.fr").status_code == 303
    assert one.get("/connexion.json").json()["user"] is None
    assert two.get("/connexion.json").json()["user"] is None
    assert script.get("/api/v1/zonings").status_code == 200  # tokens survive a sign-out
    again = signed_in(app, "temp@ville.fr", "un mot de passe long")
    assert (
        post("/administration/comptes/etat", email="temp@ville.fr", active="0").status_code == 303
    )
    assert again.get("/connexion.json").json()["user"] is None
    assert script.get("/imports.json").status_code == 403  # the token is revoked
    with pytest.raises(AccessError):
        accounts.login("temp@ville.fr", "un mot de passe long")
    assert (
        post("/administration/comptes/etat", email="temp@ville.fr", active="1").status_code == 303
    )
    assert accounts.login("temp@ville.fr", "un mot de passe long")[0].active
    log = {(a["action"], a["target"]) for a in admin.get("/administration.json").json()["audit"]}
    assert {
        ("création de partenaire", "cpam93"),
        ("enregistrement de convention", "cpam93"),
        ("fermeture des sessions", "temp@ville.fr"),
        ("désactivation", "temp@ville.fr"),
        ("réactivation", "temp@ville.fr"),
    } <= log


def test_completeness_pages_for_each_role(
    clients: dict[str, TestClient], app: FastAPI, credentials: dict[str, tuple[str, str]]
) -> None:
    """The State service sees every operator; an operator its own records only, against the
    anonymous median of the others; members and the public nothing."""
    base = "/completude/demandes_hebergement"
    operator = signed_in(app, *credentials["operator"])
    for role in ("public", "member"):
        for url in ("/completude", base, f"{base}.json", f"{base}/operateurs/OP03"):
            assert clients[role].get(url).status_code == 403, (role, url)
    assert clients["partner"].get("/completude.json").json() == {"collections": []}
    assert clients["partner"].get(f"{base}/operateurs/OP03").status_code == 403
    everyone = clients["analyst"].get(f"{base}.json").json()
    assert [r["operator"] for r in everyone["rows"]][:1] == ["OP01"]  # ranked, best first
    assert len(everyone["rows"]) == 8 and everyone["duplicates"] == 18
    assert [j["operator"] for j in everyone["jumps"]] == ["OP06"]  # March 2025, almost nothing
    zones = clients["analyst"].get(f"{base}.json?par=territory&niveau=tas93").json()["rows"]
    assert sum(z["records"] for z in zones) == sum(r["records"] for r in everyone["rows"])
    assert {z["territory"] for z in zones} <= {f"TAS{i}" for i in range(1, 6)}
    own = operator.get(f"{base}.json").json()
    assert [r["operator"] for r in own["rows"]] == ["OP03"] and "duplicates" not in own
    report = operator.get(f"{base}/operateurs/OP03.json").json()
    assert [o["name"] for o in report["operators"]] == [
        "Toit Solidaire (FICTIF)",
        "Médiane des 7 autres opérateurs",
    ]
    assert report["meeting"]["change"] > 20  # it improved after the June meeting
    assert "Accueil Horizon" not in operator.get(f"{base}/operateurs/OP03").text
    for url in (
        f"{base}/operateurs/OP01",
        f"{base}/operateurs/OP01/restitution.pdf",
        f"{base}/restitution.pdf?territoire=93",
    ):
        assert operator.get(url).status_code == 403, url
    pdf = operator.get(f"{base}/operateurs/OP03/restitution.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    whole = clients["analyst"].get(f"{base}/restitution.pdf?territoire=93")
    assert whole.status_code == 200 and whole.content.startswith(b"%PDF")
    table = clients["analyst"].get(f"{base}.csv?par=quarter").text
    assert table.lstrip("\ufeff").startswith("quarter;records;score")
    log = [r["target"] for r in app.state.accounts.audit_log(50)]
    assert "restitution_demandes_hebergement_OP03.pdf" in log


INVENTORY_EXPECTED = {
    # route: the roles that get 200 (every other one gets 403)
    "/sources": ROLES,
    "/sources.json": ROLES,
    "/sources.csv": ROLES,
    "/sources/nouvelle": ("analyst", "admin"),
    "/sources/{ident}": ROLES,
    "/sources/{ident}.json": ROLES,
    "/sources/{ident}/modifier": ("analyst", "admin"),
    "/documents": ROLES,
    "/documents.json": ROLES,
    "/documents/nouveau": ("analyst", "admin"),
    "/documents/{ident}": ROLES,
    "/documents/{ident}.json": ROLES,
    "/documents/{ident}/modifier": ("analyst", "admin"),
    "/documents/{ident}/fichier": ROLES,
    "/besoins": ROLES[1:],
    "/besoins.json": ROLES[1:],
    "/besoins.csv": ROLES[1:],
    "/besoins/non-couverts": ROLES[1:],
    "/besoins/non-couverts.json": ROLES[1:],
    "/besoins/non-couverts.csv": ROLES[1:],
    "/besoins/nouveau": ROLES[1:],
    "/besoins/{ident}": ROLES[1:],
    "/besoins/{ident}.json": ROLES[1:],
    "/besoins/{ident}/modifier": ("analyst", "admin"),
    "/programme": ROLES[1:],
    "/programme.json": ROLES[1:],
    "/programme/{year}": ROLES[1:],
    "/programme/{year}.json": ROLES[1:],
    "/programme-actions/nouvelle": ("analyst", "admin"),
    "/programme-actions/{ident}/modifier": ("analyst", "admin"),
}


def test_authorisation_matrix_over_every_inventory_route(
    app: FastAPI, clients: dict[str, TestClient], credentials: dict[str, tuple[str, str]]
) -> None:
    """Every page of the inventory, for every role: the public reads sources and public
    documents; needs and the programme are for signed-in accounts; edits for analysts; a
    document reserved to one operator is read by that operator and the analysts only, and
    its words are found by no one else's search."""
    from observatoire.web.routes import inventory

    routes = [r for _, r in walk_routes(inventory.router.routes) if "GET" in r.methods]
    assert {r.path for r in routes} == set(INVENTORY_EXPECTED)
    portrait = clients["public"].get("/documents.json", params={"type": "portrait"}).json()
    public_doc = portrait["documents"][0]["id"]
    values = {"ident": public_doc, "year": "2027"}
    for route in routes:
        for role in ROLES:
            path = route.path
            if path.startswith("/sources/"):
                path = path.replace("{ident}", "caf-allocataires")
            elif path.startswith("/besoins/"):
                path = path.replace("{ident}", "B2026-004")
            elif path.startswith("/programme-actions/"):
                path = path.replace("{ident}", "P2027-001")
            url = path.format(**values)
            answer = clients[role].get(url)
            wanted = 200 if role in INVENTORY_EXPECTED[route.path] else 403
            assert answer.status_code == wanted, (url, role, answer.status_code)
    every = clients["analyst"].get("/documents.json").json()["documents"]
    restitution = next(d for d in every if d["acces"] == "partenaire")
    assert restitution["partenaire"] == "op03"
    operator = signed_in(app, *credentials["operator"])
    for client, wanted in (
        (clients["public"], 403),
        (clients["member"], 403),
        (clients["partner"], 403),  # the CAF's account: another organisation
        (operator, 200),
        (clients["analyst"], 200),
    ):
        for suffix in ("", "/fichier"):
            assert client.get(restitution["url"] + suffix).status_code == wanted
        for url in ("/documents.json", "/recherche.json"):  # the library's and the site's
            found = client.get(url, params={"q": "restitution operateurs"}).json()
            titles = [d["titre"] for d in found["documents"]]
            assert (restitution["titre"] in titles) == (wanted == 200), (url, titles)
    # the same through the API
    api_hits = clients["analyst"].get("/api/v1/documents", params={"q": "restitution operateurs"})
    assert restitution["id"] in [d["id"] for d in api_hits.json()["rows"]]
    api_public = clients["public"].get("/api/v1/documents", params={"q": "restitution operateurs"})
    assert api_public.json()["rows"] == []
    assert clients["public"].get(f"/api/v1/documents/{restitution['id']}").status_code == 403
    uncovered = clients["member"].get("/api/v1/needs", params={"uncovered": "true"}).json()
    assert "B2026-002" not in [n["identifiant"] for n in uncovered["rows"]]  # covered
    # what the public sees of a source: no contact, no internal notes, no import history
    caf = clients["public"].get("/sources/departement-rsa.json").json()
    assert {"contact", "notes", "imports_detail"}.isdisjoint(caf)
    assert caf["jeux_detail"] == []  # the Département's dataset is for its partners only
    assert clients["analyst"].get("/sources/departement-rsa.json").json()["imports_detail"]
    # forms: refused without the CSRF token, and to members
    member = clients["member"]
    assert (
        member.post("/sources", data={"csrf": _csrf(member), "identifiant": "x"}).status_code == 403
    )
    refused = clients["analyst"].post("/sources", data={"identifiant": "x", "nom": "X"})
    assert refused.status_code == 403


def test_an_operator_deposits_its_extract(
    app: FastAPI, credentials: dict[str, tuple[str, str]], demo: Path, tmp_path: Path
) -> None:
    """Through the imports page: a file without operator column is the operator's own; the
    report shows before anything is written; another operator's records are refused."""
    operator = signed_in(app, *credentials["operator"])
    extract = pd.read_csv(
        demo / "extractions" / "extraction_OP03_historique_FICTIVE.csv",
        sep=";",
        dtype=str,
        keep_default_na=False,
    )
    january = extract.head(30).assign(date_demande="15/01/2026").drop(columns=["code_structure"])
    january.loc[:, "sexe"] = "F"  # all filled this time
    body = january.to_csv(sep=";", index=False).encode()

    def deposit(data: bytes, name: str) -> Any:
        return operator.post(
            "/imports",
            data={"csrf": operator.cookies["obs_csrf"], "collection": "demandes_hebergement"},
            files={"fichier": (name, data, "text/csv")},
        )

    page = deposit(body, "janvier.csv")
    assert page.status_code == 200 and "Enregistrements à importer" in page.text, page.text[:500]
    token = re.search(r'name="depot" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    done = operator.post(
        "/imports/confirmer",
        data={
            "csrf": operator.cookies["obs_csrf"],
            "depot": token,
            "collection": "demandes_hebergement",
            "action": "confirmer",
        },
        follow_redirects=False,
    )
    assert done.status_code == 303
    detail = operator.get(done.headers["location"])
    assert detail.status_code == 200 and "OP03" in detail.text and "2026-01" in detail.text
    months = operator.get("/completude/demandes_hebergement.json?par=month").json()["rows"]
    assert months[-1]["month"] == "2026-01" and months[-1]["records"] == 30
    other = extract.head(5).assign(code_structure="OP01").to_csv(sep=";", index=False).encode()
    refused = deposit(other, "autre.csv")
    assert refused.status_code == 400 and "aucun partenaire" in refused.text


@pytest.fixture(scope="module")
def served(
    demo: Path, credentials: dict[str, tuple[str, str]], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The demo served by ``observatoire serve`` (a copy: this module holds the demo open)."""
    copy = tmp_path_factory.mktemp("served") / "demo"
    shutil.copytree(demo, copy)
    with serving(copy, copy.parent / "serve.log") as base:
        yield base


@needs_data
def test_in_a_browser_login_upload_report_confirm_and_compare(
    served: str, browser: Any, credentials: dict[str, tuple[str, str]]
) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(served + "/connexion")
    page.screenshot(path=SCREENSHOTS / "connexion.png", full_page=True)
    assert page.evaluate(A11Y_CHECK) == [], "connexion"
    email, password = credentials["analyst"]
    page.get_by_label("Adresse électronique").fill(email)
    page.get_by_label("Mot de passe").fill(password)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(served + "/")
    assert "Chargé d'études (démo)" in page.content()
    page.get_by_role("link", name="Imports").click()
    page.set_input_files("#fichier", str(DATA / "filosofi" / "FILO2019_DISP_DEP.csv"))
    page.get_by_role("button", name="Vérifier le fichier").click()
    page.wait_for_selector("text=Rapport de validation")
    assert "insee.filosofi" in page.content() and "Rien n'a encore été écrit" in page.content()
    page.screenshot(path=SCREENSHOTS / "rapport_validation.png", full_page=True)
    assert page.evaluate(A11Y_CHECK) == [], "rapport_validation"
    page.get_by_role("button", name="Confirmer l'import").click()
    page.wait_for_selector("text=en vigueur")
    assert "FILO2019_DISP_DEP.csv" in page.content()
    page.screenshot(path=SCREENSHOTS / "import.png", full_page=True)
    assert page.evaluate(A11Y_CHECK) == [], "import"
    page.goto(
        served + "/comparer?territoires=93066,93008,TAS2,departement:93"
        "&indicateurs=part_allocataires_rsa&indicateurs=part_allocataires_aah"
        "&indicateurs=allocataires_etudiants"
    )
    assert page.locator("table tbody tr").count() == 3
    page.screenshot(path=SCREENSHOTS / "comparaison_demo.png", full_page=True)
    assert page.evaluate(A11Y_CHECK) == [], "comparaison_demo"
    page.goto(served + "/zonages/tas93")
    page.wait_for_selector("path.leaflet-interactive")
    assert page.locator("path.leaflet-interactive").count() == 5
    page.screenshot(path=SCREENSHOTS / "zonage.png", full_page=True)
    assert page.evaluate(A11Y_CHECK) == [], "zonage"
    page.get_by_role("link", name="Complétude").click()
    page.get_by_role("link", name="Demandes d'hébergement d'urgence (FICTIF)").click()
    page.wait_for_selector("text=Doublons probables entre opérateurs")
    assert page.locator("table").first.locator("tbody tr").count() == 8
    page.screenshot(path=SCREENSHOTS / "completude.png", full_page=True)
    assert page.evaluate(A11Y_CHECK) == [], "completude"
    page.get_by_role("link", name="Toit Solidaire (FICTIF)").click()
    page.wait_for_selector("text=Médiane des 7 autres opérateurs")
    assert page.locator("svg.bars").count() == 1 and "Depuis la réunion" in page.content()
    page.screenshot(path=SCREENSHOTS / "completude_operateur.png", full_page=True)
    assert page.evaluate(A11Y_CHECK) == [], "completude_operateur"
    page.get_by_role("button", name="Se déconnecter").click()
    page.wait_for_selector("text=Se connecter")
    assert errors == []


def test_in_a_browser_the_library_the_sources_and_the_needs(
    served: str, browser: Any, credentials: dict[str, tuple[str, str]], tmp_path: Path
) -> None:
    from weasyprint import HTML

    study = tmp_path / "etude_expulsions.pdf"
    HTML(string="<p>Les procédures d'expulsion locative ont augmenté à Bobigny.</p>").write_pdf(
        study
    )
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(served + "/connexion")
    email, password = credentials["analyst"]
    page.get_by_label("Adresse électronique").fill(email)
    page.get_by_label("Mot de passe").fill(password)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(served + "/")
    nav = page.get_by_role("navigation", name="Navigation principale")
    nav.get_by_role("link", name="Documents").click()
    page.get_by_role("link", name="Classer un document").click()
    page.set_input_files("#f-fichier", str(study))
    page.get_by_label("Titre").fill("Étude sur les expulsions locatives")
    page.get_by_label("Accès").select_option("public")
    page.get_by_role("button", name="Enregistrer").click()
    page.wait_for_selector("text=Modifier la fiche")
    nav.get_by_role("link", name="Documents").click()
    page.get_by_label("Rechercher dans les documents").fill("EXPULSIONS procedure")
    page.get_by_label("Rechercher dans les documents").press("Enter")
    page.wait_for_selector("mark")
    assert page.locator("li.document-hit").count() == 1
    assert page.locator("mark").first.inner_text() == "procédures"  # the first word found
    page.get_by_label("Rechercher dans les documents").fill("allocataires RSA")
    page.get_by_label("Rechercher dans les documents").press("Enter")
    page.wait_for_selector("text=Portrait social")
    page.screenshot(path=SCREENSHOTS / "documents.png", full_page=True)
    assert page.evaluate(A11Y_CHECK) == [], "documents"
    nav.get_by_role("link", name="Sources").click()
    page.get_by_label("Éditions en retard").check()
    page.locator("form.filters button").click()
    page.wait_for_selector("text=Recensement de la population")
    assert page.locator("table tbody tr").count() == 1
    page.screenshot(path=SCREENSHOTS / "sources.png", full_page=True)
    assert page.evaluate(A11Y_CHECK) == [], "sources"
    page.goto(served + "/sources/caf-allocataires")
    page.wait_for_selector("text=Indicateurs alimentés")
    assert "cnaf.allocataires.commune" in page.content()
    page.screenshot(path=SCREENSHOTS / "source.png", full_page=True)
    assert page.evaluate(A11Y_CHECK) == [], "source"
    nav.get_by_role("link", name="Besoins").click()
    page.get_by_role("link", name="Non couverts").click()
    page.wait_for_selector("text=Quels délais d'attente")
    page.screenshot(path=SCREENSHOTS / "besoins.png", full_page=True)
    assert page.evaluate(A11Y_CHECK) == [], "besoins"
    page.get_by_role("link", name="Programme de travail").click()
    page.wait_for_selector("text=Groupe de travail : complétude des saisies SI-SIAO")
    page.screenshot(path=SCREENSHOTS / "programme.png", full_page=True)
    assert page.evaluate(A11Y_CHECK) == [], "programme"
    assert errors == []


@needs_data
def test_the_extranet_in_server_mode_on_postgresql(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pg_dsn: str
) -> None:
    """Warehouse and application database on the PostgreSQL server: accounts, a deposit of a
    real INSEE file through the pages, values served at once, the public kept out."""
    monkeypatch.setenv("OBSERVATOIRE_DATABASE_URL", pg_dsn)
    obs, _ = Observatory.init(
        tmp_path / "pg", name="PG 93", territory="departement:93", backend="postgres"
    )
    with obs:
        obs.geography.build_referential()
        app = create_app(obs)
        assert app.state.accounts.db.dialect == "postgres"
        app.state.accounts.create_user("a@pg.fr", "un mot de passe long", role=Role.ANALYST)
        analyst = signed_in(app, "a@pg.fr", "un mot de passe long")
        filosofi = DATA / "filosofi" / "FILO2019_DISP_DEP.csv"
        with filosofi.open("rb") as handle:
            report = analyst.post(
                "/imports",
                data={"csrf": _csrf(analyst)},
                files={"fichier": (filosofi.name, handle)},
            )
        assert report.status_code == 200 and "insee.filosofi" in report.text
        found = re.search(r'name="depot" value="([^"]+)"', report.text)
        assert found is not None
        done = analyst.post(
            "/imports/confirmer",
            follow_redirects=False,
            data={"csrf": _csrf(analyst), "depot": found.group(1), "action": "confirmer"},
        )
        assert done.status_code == 303
        url = "/api/v1/indicators/niveau_vie_median/values?level=departement"
        rows = analyst.get(url).json()["rows"]
        assert next(r for r in rows if r["code"] == "93")["value"] == 18070
        public = TestClient(app)
        assert next(r for r in public.get(url).json()["rows"] if r["code"] == "93")["value"]
        assert public.get("/imports").status_code == 403
        page = public.get("/indicateurs/niveau_vie_median?niveau=departement")
        assert page.status_code == 200 and "Seine-Saint-Denis" in page.text
        assert "connexion" in [r["action"] for r in app.state.accounts.audit_log()]
        app.state.accounts.db.close()
