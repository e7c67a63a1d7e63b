"""Who may replace a dataset (issue 18, item 1): a dataset belongs to whoever first imported
it. A partner writes directly only its organisation's datasets and its own tables (in its
namespace); a file that would create or replace a producer's (INSEE, CNAF) or the
observatory's dataset becomes a proposal, written only once an analyst accepts it; another
partner's dataset or variables are refused, naming the owner. The same through the web
deposit, the API and the command line's ``--partner``; nothing is written before a decision,
and the values served stay those of the owner's file.

Real files: CNAF households by IRIS 2018 and INSEE Filosofi 2019 by département
(../shared/data, see its README).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from observatoire.observatory import Observatory
from observatoire.secret.policy import ANALYST
from observatoire.services.accounts import Role
from observatoire.store.partners import save_partner
from observatoire.web import create_app

from .conftest import DATA, needs_data, new_account, run

CAF = DATA / "caf" / "data_CAF_2018_IRIS.csv"
FILOSOFI = DATA / "filosofi" / "FILO2019_DISP_DEP.csv"
IRIS = "930080101"  # an IRIS of Bondy (93)


def _changed(source: Path, target: Path, code: str, column: str, value: str) -> Path:
    """``source`` with one cell changed (read and written with the file's own dialect)."""
    text = source.read_bytes().decode("utf-8-sig")
    lines = text.splitlines(keepends=True)
    header = lines[0].rstrip("\r\n").split(";")
    where = header.index(column)
    for i, line in enumerate(lines):
        cells = line.rstrip("\r\n").split(";")
        if cells[0] == code:
            cells[where] = value
            lines[i] = ";".join(cells) + line[len(line.rstrip("\r\n")) :]
            break
    else:
        raise AssertionError(f"{code} absent from {source}")
    target.write_bytes("".join(lines).encode("utf-8"))
    return target


def _raw(obs: Observatory, variable: str, code: str, level: str) -> float:
    frame = obs.values(variable, level=level, reader=ANALYST)
    row = frame[frame.code == code]
    assert len(row) == 1, frame.head()
    return float(row.value.iloc[0])


Served = tuple[FastAPI, dict[str, TestClient], dict[str, str]]


@pytest.fixture
def served(home: Path) -> Iterator[Served]:
    """The home of all France (for the national files deposited) with two partner
    organisations (pa, pb), an analyst and a partner account of each, signed in; and an API
    token of each."""
    yield from _served(home)


@pytest.fixture
def served93(home93: Path) -> Iterator[Served]:
    """The same on the home of the 93, for deposits of its communes only."""
    yield from _served(home93)


def _served(home: Path) -> Iterator[Served]:
    with Observatory.open(home, write=True) as obs:
        for code, name in (("pa", "Partenaire A"), ("pb", "Hébergeur B")):
            save_partner(obs.warehouse, code=code, name=name, kind="test")
        app = create_app(obs)
        people = {
            "analyst": ("analyste@test.invalid", Role.ANALYST, None),
            "pa": ("a@pa.invalid", Role.PARTNER, "pa"),
            "pb": ("b@pb.invalid", Role.PARTNER, "pb"),
        }
        clients, tokens = {}, {}
        for key, (email, role, organisation) in people.items():
            clients[key] = new_account(app, email, role, organisation=organisation)
            tokens[key] = app.state.accounts.create_token(email, "tests")
        yield app, clients, tokens


def _deposit(client: TestClient, path: Path) -> tuple[int, str]:
    with path.open("rb") as handle:
        answer = client.post(
            "/imports",
            data={"csrf": client.cookies["obs_csrf"]},
            files={"fichier": (path.name, handle, "text/csv")},
        )
    return answer.status_code, html.unescape(answer.text)


def _confirm(client: TestClient, text: str) -> str:
    """Confirm a validated deposit; the page it leads to (an import, or a proposal)."""
    found = re.search(r'name="depot" value="([^"]+)"', text)
    assert found is not None, text[:500]
    done = client.post(
        "/imports/confirmer",
        data={"csrf": client.cookies["obs_csrf"], "depot": found.group(1)},
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text[:500]
    return str(done.headers["location"])


def _batch(location: str) -> int:
    assert location.startswith("/imports/") and location.rsplit("/", 1)[1].isdigit(), location
    return int(location.rsplit("/", 1)[1])


def _decide(client: TestClient, location: str, decision: str) -> str:
    assert location.startswith("/imports/propositions/"), location
    done = client.post(
        f"{location}/{decision}", data={"csrf": client.cookies["obs_csrf"]}, follow_redirects=False
    )
    assert done.status_code == 303, done.text[:500]
    return str(done.headers["location"])


@needs_data
def test_a_partners_file_over_the_observatorys_dataset_waits_for_an_analyst(
    served: tuple[FastAPI, dict[str, TestClient], dict[str, str]], home: Path, tmp_path: Path
) -> None:
    """The audit's case: partner B uploads the observatory's CNAF file with one cell changed
    and confirms. Today nothing is served before an analyst decides, and the refusal keeps the
    observatory's value."""
    app, clients, tokens = served
    obs: Observatory = app.state.observatory
    imported = obs.import_file(CAF)  # the observatory's own import (an analyst's)
    assert imported.batch and imported.rows_imported > 13_000
    arsas = _raw(obs, "caf.ARSAS", IRIS, "iris")
    batches = obs.warehouse.count("import_batch")
    forged = _changed(CAF, tmp_path / CAF.name, IRIS, "ARSAS", "9999")

    # the web deposit: validated, announced as a proposal; confirming files it, nothing written
    status, text = _deposit(clients["pb"], forged)
    assert status == 200 and "sera proposé à l'observatoire" in text, text[:500]
    proposal = _confirm(clients["pb"], text)
    assert proposal.startswith("/imports/propositions/")
    assert obs.warehouse.count("import_batch") == batches
    assert _raw(obs, "caf.ARSAS", IRIS, "iris") == arsas != 9999
    # partner A does not see it; the analyst does, and refuses it: nothing left, nothing written
    assert clients["pa"].get(proposal).status_code == 403
    shown = clients["pb"].get(proposal + ".json").json()
    assert shown["replaces"] == [{"id": imported.batch, "edition": "2018"}]  # no file, author
    listed = clients["analyst"].get("/imports.json").json()["proposals"]
    assert [p["organisation"] for p in listed] == ["pb"]
    assert clients["pb"].post(f"{proposal}/accepter", data={
        "csrf": clients["pb"].cookies["obs_csrf"]}).status_code == 403  # fmt: skip
    _decide(clients["analyst"], proposal, "refuser")
    assert clients["analyst"].get("/imports.json").json()["proposals"] == []
    assert not any((home / "propositions").iterdir())
    assert obs.warehouse.count("import_batch") == batches
    # the API: a dry run says « proposal »; a real deposit is filed (202), not imported
    api = TestClient(app)
    answers = {}
    for dry in ("true", "false"):
        with forged.open("rb") as handle:
            answers[dry] = api.post(
                f"/api/v1/imports?dry_run={dry}",
                headers={"Authorization": f"Bearer {tokens['pb']}"},
                files={"fichier": (forged.name, handle, "text/csv")},
            )
    assert answers["true"].status_code == 200 and answers["true"].json()["proposal"] is True
    assert answers["false"].status_code == 202, answers["false"].text[:300]
    filed = answers["false"].json()["adresse"]
    assert obs.warehouse.count("import_batch") == batches
    # accepted: imported on the partner's behalf, and served
    batch = _batch(_decide(clients["analyst"], filed, "accepter"))
    row = obs.warehouse.query("SELECT partner, imported_by FROM import_batch WHERE id = ?", [batch])
    assert row.partner.iloc[0] == "pb" and "analyste@test.invalid" in row.imported_by.iloc[0]
    assert _raw(obs, "caf.ARSAS", IRIS, "iris") == 9999
    actions = [r["action"] for r in app.state.accounts.audit_log()]
    assert {"proposition", "proposition refusée", "proposition acceptée"} <= set(actions)
    # the command line on the partner's behalf: the same rule, unless the analyst accepts
    obs.rollback(batch)
    obs.close()  # the command line needs the base for itself
    code, out = run("import", str(forged), "--partner", "pb", home=home)
    assert code != 0 and "--accepter" in out, out
    with Observatory.open(home) as again:
        assert _raw(again, "caf.ARSAS", IRIS, "iris") == arsas
    code, out = run("import", str(forged), "--partner", "pb", "--accepter", home=home)
    assert code == 3, out  # 3: 4 unknown IRIS rejected
    with Observatory.open(home) as again:
        assert _raw(again, "caf.ARSAS", IRIS, "iris") == 9999


@needs_data
def test_partner_b_cannot_replace_partner_as_dataset(
    served: tuple[FastAPI, dict[str, TestClient], dict[str, str]], tmp_path: Path
) -> None:
    app, clients, tokens = served
    obs: Observatory = app.state.observatory
    # A's first Filosofi file is a producer's format: a proposal, accepted by the analyst
    status, text = _deposit(clients["pa"], FILOSOFI)
    assert status == 200, text[:500]
    first = _batch(_decide(clients["analyst"], _confirm(clients["pa"], text), "accepter"))
    owner = obs.warehouse.query("SELECT partner FROM import_batch WHERE id = ?", [first])
    assert owner.partner.iloc[0] == "pa"
    assert _raw(obs, "filosofi.DISP_Q2", "93", "departement") == 18070  # Filosofi 2019, 93
    forged = _changed(FILOSOFI, tmp_path / FILOSOFI.name, "93", "Q219", "99999")
    # B: refused at validation, naming A, through the web and the API
    status, text = _deposit(clients["pb"], forged)
    assert status == 403 and "pa" in text and "Partenaire A" in text, text[:800]
    with forged.open("rb") as handle:
        answer = TestClient(app).post(
            "/api/v1/imports",
            headers={"Authorization": f"Bearer {tokens['pb']}"},
            files={"fichier": (forged.name, handle, "text/csv")},
        )
    assert answer.status_code == 403 and "Partenaire A" in answer.json()["error"]
    assert _raw(obs, "filosofi.DISP_Q2", "93", "departement") == 18070
    assert not any((obs.home.path / "propositions").iterdir())
    # A now replaces its own dataset directly; the observatory may too; A still owns it
    status, text = _deposit(clients["pa"], forged)
    assert status == 200 and "sera proposé" not in text, text[:500]
    _batch(_confirm(clients["pa"], text))
    assert _raw(obs, "filosofi.DISP_Q2", "93", "departement") == 99999
    status, text = _deposit(clients["analyst"], FILOSOFI)
    assert status == 200, text[:500]
    _batch(_confirm(clients["analyst"], text))
    assert _raw(obs, "filosofi.DISP_Q2", "93", "departement") == 18070
    status, text = _deposit(clients["pb"], FILOSOFI)
    assert status == 403 and "Partenaire A" in text


@needs_data
def test_a_dataset_keeps_its_owner_when_its_imports_are_withdrawn(
    served: tuple[FastAPI, dict[str, TestClient], dict[str, str]], home: Path, tmp_path: Path
) -> None:
    """Withdrawing the first import never hands a dataset to whoever was accepted since (the
    second audit: the observatory's import withdrawn, then the partner replaced its data); an
    administrator gives a dataset to another owner explicitly."""
    app, clients, _ = served
    obs: Observatory = app.state.observatory
    forged = _changed(FILOSOFI, tmp_path / FILOSOFI.name, "93", "Q219", "99999")
    first = obs.import_file(FILOSOFI)  # the observatory's
    accepted = obs.import_file(forged, partner="pa", accepted=True)  # pa's proposal, accepted
    obs.rollback(accepted.batch)
    obs.rollback(first.batch)  # nothing of the observatory's in force any more
    obs.import_file(forged, partner="pa", accepted=True)
    status, text = _deposit(clients["pa"], FILOSOFI)
    assert status == 200 and "sera proposé" in text, text[:500]  # still the observatory's
    status, text = _deposit(clients["pb"], FILOSOFI)
    assert status == 200 and "sera proposé" in text
    obs.close()
    code, out = run("imports", "owner", "insee.filosofi.disp.departement", home=home)
    assert code == 0 and "l'observatoire" in out, out
    code, out = run(
        "imports", "owner", "insee.filosofi.disp.departement", "--partner", "pa", home=home
    )
    assert code == 0 and "→ l'organisme « pa »" in out, out
    with Observatory.open(home) as again:
        from observatoire.store.ownership import dataset_owners

        assert dataset_owners(again.warehouse, ["insee.filosofi.disp.departement"]) == {
            "insee.filosofi.disp.departement": "pa"
        }


@needs_data
def test_partners_own_tables_live_in_their_namespace_and_others_variables_are_refused(
    served: tuple[FastAPI, dict[str, TestClient], dict[str, str]], tmp_path: Path
) -> None:
    app, clients, _ = served
    obs: Observatory = app.state.observatory
    # two partners' tables with a column of the same name: each in its own namespace, direct
    values = {"pa": ["10", "20"], "pb": ["1", "2"]}
    for partner, counts in values.items():
        table = tmp_path / partner / "suivi.csv"
        table.parent.mkdir()
        pd.DataFrame(
            {"CODGEO": ["93066", "93008"], "periode": ["2024-T1"] * 2, "nombre": counts}
        ).to_csv(table, sep=";", index=False)
        status, text = _deposit(clients[partner], table)
        assert status == 200 and "sera proposé" not in text, text[:500]
        _batch(_confirm(clients[partner], text))
    for partner, counts in values.items():
        frame = obs.values(f"{partner}.NOMBRE", level="commune", reader=ANALYST)
        assert sorted(frame.value.tolist()) == sorted(float(c) for c in counts)
    datasets = set(obs.warehouse.query("SELECT dataset FROM import_batch").dataset)
    assert {"pa.suivi.commune", "pb.suivi.commune"} <= datasets
    # A owns the Filosofi key figures (which write filosofi.MED); B's census comparator would
    # write filosofi.MED too: refused, naming A
    obs.import_file(DATA / "filosofi" / "cc_filosofi_2021_COM.csv", partner="pa", accepted=True)
    census = DATA / "census" / "base_cc_comparateur_csv_RP2018.zip"
    with census.open("rb") as handle:
        refused = clients["pb"].post(
            "/imports",
            data={"csrf": clients["pb"].cookies["obs_csrf"]},
            files={"fichier": (census.name, handle, "application/zip")},
        )
    assert refused.status_code == 403, refused.text[:500]
    assert "filosofi." in refused.text and "Partenaire A" in refused.text
    # an INSEE dictionary relabels every dataset's variables: the observatory's only
    dictionary = DATA / "filosofi" / "meta_BASE_TD_FILO_IRIS_2021_DISP.csv"
    status, text = _deposit(clients["pb"], dictionary)
    assert status == 403 and "dictionnaire" in text, text[:500]
    status, text = _deposit(clients["analyst"], dictionary)
    assert status == 200, text[:500]


@needs_data
def test_a_partner_cannot_deposit_another_partners_operator_under_another_spelling(
    home93: Path, tmp_path: Path
) -> None:
    """Operators' records: « op01 » is the operator « OP01 » (refused to another partner, and
    asked to be written alike to its own); a code written with look-alike letters (a Cyrillic
    « О ») is rejected, not taken for a new operator."""
    from observatoire.errors import InputError

    from .test_records import SCHEMA, _rows, _write

    (home93 / "collections").mkdir()
    (home93 / "collections" / "sejours.yaml").write_text(SCHEMA, encoding="utf-8")
    rows = [r for r in _rows() if r[0] == "A"]
    mine = _write(tmp_path / "a.csv", [["OPA", *r[1:]] for r in rows])
    lower = _write(tmp_path / "b.csv", [["opa", *r[1:]] for r in rows])
    cyrillic = _write(tmp_path / "c.csv", [["\u041ePA", *r[1:]] for r in rows])
    with Observatory.open(home93, write=True) as obs:
        for code, name in (("pa", "Partenaire A"), ("pb", "Hébergeur B")):
            save_partner(obs.warehouse, code=code, name=name, kind="test")
        obs.records.import_file(mine, "sejours", partner="pa")
        batches = obs.warehouse.count("import_batch")
        with pytest.raises(InputError, match="relève du partenaire pa"):
            obs.records.import_file(lower, "sejours", partner="pb", dry_run=True)
        with pytest.raises(InputError, match="connu sous le code « OPA »"):
            obs.records.import_file(lower, "sejours", partner="pa", dry_run=True)
        with pytest.raises(InputError, match=r"code opérateur invalide .* \(60\)"):
            obs.records.import_file(cyrillic, "sejours", partner="pb", dry_run=True)
        assert obs.warehouse.count("import_batch") == batches


@needs_data
def test_in_a_browser_a_partner_proposes_and_an_analyst_accepts(
    home: Path, tmp_path: Path, browser: Any
) -> None:
    """The proposal, end to end in Chromium: the partner's deposit of an INSEE file is
    announced as a proposal and filed; the analyst finds it on the Imports page, reads its
    report and accepts it; the values are then served. Each page passes the accessibility
    check."""
    from observatoire.services.accounts import Accounts
    from observatoire.store.appdb import open_appdb

    from .conftest import A11Y_CHECK, PASSWORD, SCREENSHOTS, serving

    with Observatory.open(home, write=True) as obs:
        save_partner(obs.warehouse, code="pa", name="Partenaire A", kind="test")
        accounts = Accounts(open_appdb(home, obs.home.backend, obs.home.location))
        accounts.create_user("a@pa.invalid", PASSWORD, role=Role.PARTNER, organisation="pa")
        accounts.create_user("analyste@test.invalid", PASSWORD, role=Role.ANALYST)
        accounts.db.close()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with serving(home, tmp_path / "serve.log") as base:
        page = browser.new_page(viewport={"width": 1280, "height": 900})

        def sign_in(email: str) -> None:
            page.goto(base + "/connexion")
            page.get_by_label("Adresse électronique").fill(email)
            page.get_by_label("Mot de passe").fill(PASSWORD)
            page.get_by_role("button", name="Se connecter").click()
            page.wait_for_url(base + "/")

        sign_in("a@pa.invalid")
        page.goto(base + "/imports")
        page.set_input_files("#fichier", str(FILOSOFI))
        page.get_by_role("button", name="Vérifier le fichier").click()
        page.wait_for_selector("text=Ce fichier sera proposé à l'observatoire")
        assert page.evaluate(A11Y_CHECK) == [], "rapport (proposition)"
        page.get_by_role("button", name="Proposer à l'observatoire").click()
        page.wait_for_selector("h1:has-text('Proposition de pa')")
        assert page.evaluate(A11Y_CHECK) == [], "proposition (partenaire)"
        assert page.get_by_role("button", name="Accepter et importer").count() == 0
        page.get_by_role("button", name="Se déconnecter").click()
        sign_in("analyste@test.invalid")
        page.goto(base + "/imports")
        page.get_by_role("link", name="examiner").click()
        page.wait_for_selector("text=Accepter et importer")
        assert "ce serait le premier" in page.content()
        page.screenshot(path=SCREENSHOTS / "proposition.png", full_page=True)
        assert page.evaluate(A11Y_CHECK) == [], "proposition (chargé d'études)"
        page.get_by_role("button", name="Accepter et importer").click()
        page.wait_for_selector("text=en vigueur")
        assert "Organisme : pa" in page.content()
        values = httpx.get(
            base + "/api/v1/indicators/niveau_vie_median/values?level=departement", timeout=60
        ).json()
        assert next(r for r in values["rows"] if r["code"] == "93")["value"] == 18070
        page.close()


@needs_data
def test_no_organisation_takes_a_producers_namespace(
    served93: Served, home93: Path, tmp_path: Path
) -> None:
    """An organisation coded like a producer's source (« caf », « filosofi ») would name its
    tables' variables « caf.X »: such codes are refused; and an organisation whose namespace
    holds someone else's variables (given away by an administrator) proposes its tables."""
    from observatoire.catalog.datasets import RESERVED_SOURCES
    from observatoire.errors import InputError

    app, clients, _ = served93
    obs: Observatory = app.state.observatory
    for code in ("caf", "filosofi", "FranceTravail", "donnees"):
        with pytest.raises(InputError, match="réservé"):
            save_partner(obs.warehouse, code=code, name="x")
    # the sources the shipped catalogue reads are all reserved
    catalogue = obs.catalogue()
    read = {v.split(".", 1)[0] for i in catalogue.indicators.values() for v in i.formula.variables}
    assert read - {"sejours", "demandes_hebergement"} <= RESERVED_SOURCES, read
    table = tmp_path / "suivi.csv"
    pd.DataFrame(
        {"CODGEO": ["93066", "93008"], "periode": ["2024-T1"] * 2, "nombre": ["1", "2"]}
    ).to_csv(table, sep=";", index=False)
    status, text = _deposit(clients["pb"], table)
    assert status == 200 and "sera proposé" not in text
    _batch(_confirm(clients["pb"], text))
    obs.close()
    code, out = run("imports", "owner", "pb.suivi.commune", "--observatoire", home=home93)
    assert code == 0, out
    with Observatory.open(home93) as again:
        again_table = tmp_path / "autre.csv"
        table.rename(again_table)
        report = again.import_file(again_table, partner="pb", dry_run=True)
        assert report.proposal and report.dataset == "donnees.autre.commune"
