"""Who may replace a dataset (issue 18, item 1): a dataset belongs to whoever first imported
it; a partner may create datasets and replace only its organisation's own, through the web
deposit, the API and the command line's ``--partner`` alike. Refusals name the owner and come
before anything is written; the values served stay those of the owner's file.

Real files: CNAF households by IRIS 2018 and INSEE Filosofi 2019 by département
(../shared/data, see its README).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from observatoire.accounts import Role
from observatoire.observatory import Observatory
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
    frame = obs.values(variable, level=level, audience="analyst")
    row = frame[frame.code == code]
    assert len(row) == 1, frame.head()
    return float(row.value.iloc[0])


@pytest.fixture
def served(home: Path) -> Iterator[tuple[FastAPI, dict[str, TestClient], dict[str, str]]]:
    """The home with two partner organisations (pa, pb), an analyst and a partner account of
    each, signed in; and an API token of each."""
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
    return answer.status_code, answer.text


def _confirm(client: TestClient, text: str) -> int:
    found = re.search(r'name="depot" value="([^"]+)"', text)
    assert found is not None, text[:500]
    done = client.post(
        "/imports/confirmer",
        data={"csrf": client.cookies["obs_csrf"], "depot": found.group(1)},
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text[:500]
    return int(done.headers["location"].rsplit("/", 1)[1])


@needs_data
def test_a_partner_cannot_replace_the_observatorys_dataset(
    served: tuple[FastAPI, dict[str, TestClient], dict[str, str]], home: Path, tmp_path: Path
) -> None:
    app, clients, tokens = served
    obs: Observatory = app.state.observatory
    imported = obs.import_file(CAF)  # the observatory's own import (an analyst's)
    assert imported.batch and imported.rows_imported > 13_000
    arsas = _raw(obs, "caf.ARSAS", IRIS, "iris")
    batches = obs.warehouse.count("import_batch")
    forged = _changed(CAF, tmp_path / CAF.name, IRIS, "ARSAS", "9999")

    # the web deposit: refused at validation, naming the owner, nothing kept
    status, text = _deposit(clients["pb"], forged)
    assert status == 403, text[:500]
    assert "appartient à l&#39;observatoire" in text and "cnaf.allocataires.iris" in text
    assert not any((home / "depots").glob("*/*.csv"))
    # the API, with the partner's token: refused too (dry run or not)
    api = TestClient(app)
    for dry in ("true", "false"):
        with forged.open("rb") as handle:
            answer = api.post(
                f"/api/v1/imports?dry_run={dry}",
                headers={"Authorization": f"Bearer {tokens['pb']}"},
                files={"fichier": (forged.name, handle, "text/csv")},
            )
        assert answer.status_code == 403, answer.text[:300]
        assert "appartient à l'observatoire" in answer.json()["error"]
    # the command line on the partner's behalf: the same rule
    obs.close()  # the command line needs the base for itself
    code, out = run("import", str(forged), "--partner", "pb", home=home)
    assert code != 0 and "appartient à l'observatoire" in out, out
    with Observatory.open(home) as again:
        assert again.warehouse.count("import_batch") == batches
        assert _raw(again, "caf.ARSAS", IRIS, "iris") == arsas != 9999
    # without --partner the command line is the observatory: it may replace its own dataset
    code, out = run("import", str(forged), home=home)
    assert code == 3 and "remplace l'import n° 1" in out, out  # 3: 4 unknown IRIS rejected
    with Observatory.open(home) as again:
        assert _raw(again, "caf.ARSAS", IRIS, "iris") == 9999


@needs_data
def test_partner_b_cannot_replace_partner_as_import(
    served: tuple[FastAPI, dict[str, TestClient], dict[str, str]], tmp_path: Path
) -> None:
    app, clients, tokens = served
    obs: Observatory = app.state.observatory
    status, text = _deposit(clients["pa"], FILOSOFI)
    assert status == 200, text[:500]
    first = _confirm(clients["pa"], text)
    assert obs.warehouse.query(
        "SELECT partner FROM import_batch WHERE id = ?", [first]
    ).partner.iloc[0] == "pa"
    median = _raw(obs, "filosofi.DISP_Q2", "93", "departement")
    assert median == 18070  # Filosofi 2019, Seine-Saint-Denis
    forged = _changed(FILOSOFI, tmp_path / FILOSOFI.name, "93", "Q219", "99999")
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
    # partner A replaces its own dataset; the observatory may too; A still owns it
    status, text = _deposit(clients["pa"], forged)
    assert status == 200, text[:500]
    _confirm(clients["pa"], text)
    assert _raw(obs, "filosofi.DISP_Q2", "93", "departement") == 99999
    status, text = _deposit(clients["analyst"], FILOSOFI)
    assert status == 200, text[:500]
    _confirm(clients["analyst"], text)
    assert _raw(obs, "filosofi.DISP_Q2", "93", "departement") == 18070
    status, text = _deposit(clients["pb"], FILOSOFI)
    assert status == 403 and "Partenaire A" in text


@needs_data
def test_a_dataset_whose_imports_were_all_withdrawn_belongs_to_nobody(
    served: tuple[FastAPI, dict[str, TestClient], dict[str, str]],
) -> None:
    app, clients, _ = served
    obs: Observatory = app.state.observatory
    report = obs.import_file(FILOSOFI, partner="pa")
    status, _ = _deposit(clients["pb"], FILOSOFI)
    assert status == 403
    obs.rollback(report.batch)
    status, text = _deposit(clients["pb"], FILOSOFI)
    assert status == 200, text[:500]
    batch = _confirm(clients["pb"], text)
    owner = obs.warehouse.query("SELECT partner FROM import_batch WHERE id = ?", [batch])
    assert owner.partner.iloc[0] == "pb"
    status, _ = _deposit(clients["pa"], FILOSOFI)
    assert status == 403  # now B's


@needs_data
def test_a_partner_cannot_feed_another_owners_variables_nor_relabel_them(
    served: tuple[FastAPI, dict[str, TestClient], dict[str, str]], tmp_path: Path
) -> None:
    app, clients, _ = served
    obs: Observatory = app.state.observatory
    # two long files of two partners, different names, the same measure column « nombre »
    first = tmp_path / "suivi_pa.csv"
    pd.DataFrame(
        {"CODGEO": ["93066", "93008"], "periode": ["2024-T1"] * 2, "nombre": ["10", "20"]}
    ).to_csv(first, sep=";", index=False)
    second = tmp_path / "suivi_pb.csv"
    pd.DataFrame(
        {"CODGEO": ["93066", "93008"], "periode": ["2024-T1"] * 2, "nombre": ["1", "2"]}
    ).to_csv(second, sep=";", index=False)
    report = obs.import_file(first, partner="pa")
    variable = report.variables_created[0]
    assert variable == "donnees.NOMBRE"
    batches = obs.warehouse.count("import_batch")
    status, text = _deposit(clients["pb"], second)
    assert status == 403, text[:500]
    assert "donnees.NOMBRE" in text and "Partenaire A" in text
    assert obs.warehouse.count("import_batch") == batches
    # an INSEE dictionary relabels every dataset's variables: the observatory's only
    dictionary = DATA / "filosofi" / "meta_BASE_TD_FILO_IRIS_2021_DISP.csv"
    status, text = _deposit(clients["pb"], dictionary)
    assert status == 403 and "dictionnaire" in text, text[:500]
    status, text = _deposit(clients["analyst"], dictionary)
    assert status == 200, text[:500]
