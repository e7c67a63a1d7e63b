"""The corpus of hostile or broken files (tests/corpus, issue 18) through every door: the
command line's import, the web deposit, the API deposit and the import of operators' records.

Each file is refused with a message that names it and, where the problem has one, its line
(and column), with nothing written and no deposit left; the server answers afterwards. Two
files are not broken but look it (line endings mixed; control characters in a few cells):
they are read, and what is rejected is named by line and column, without a control character
reaching the terminal. See tests/corpus/README.md for what each file is.
"""

from __future__ import annotations

import html
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from observatoire.observatory import Observatory
from observatoire.services.accounts import Role
from observatoire.web import create_app

from .conftest import DATA, PASSWORD, needs_data, new_account, run, serving
from .corpus.fabrique import FILES, SMALL, make_large
from .test_records import SCHEMA

pytestmark = needs_data

NO_COLUMNS = "colonne requise absente"  # an extract of records needs its columns first


@dataclass(frozen=True)
class Case:
    """What a corpus file must give: ``message`` through the producers' import, ``records``
    through the records' import (None: the same), the ``line`` named (0: none expected), and
    ``outcome``: refused, or read with what it holds of wrong rejected (``rejets``)."""

    message: str
    records: str | None = NO_COLUMNS
    line: int = 0
    outcome: str = "refus"


SAME = None
CASES: dict[str, Case] = {
    "vide.csv": Case("fichier vide", SAME),
    "blancs.csv": Case("fichier vide", SAME),
    "bom_seul.csv": Case("fichier vide", SAME),
    "entete_seul.csv": Case("aucune ligne de données"),
    "binaire.csv": Case("fichier binaire", SAME),
    "utf16_le.csv": Case("UTF-16", SAME),
    "utf16_be.csv": Case("UTF-16", SAME),
    "encodages_melanges.csv": Case("encodages mélangés", SAME, line=11),
    "bom_au_milieu.csv": Case("BOM", SAME, line=11),
    "octet_nul.csv": Case("octet nul", SAME, line=9),
    "tronque_champs.csv": Case("ligne tronquée", line=11),
    "tronque_nombre.csv": Case("coupé au milieu d'un nombre", line=11),
    "tronque_champs_fin_de_ligne.csv": Case("ligne tronquée", line=11),
    "champ_geant.csv": Case("une cellule de plus de 131072 caractères", SAME, line=11),
    "guillemet_ouvert.csv": Case("guillemet ouvert jamais fermé", line=5),
    "colonnes_en_double.csv": Case("colonnes en double"),
    "trop_de_champs.csv": Case("champs au lieu de 5", line=3),
    "separateurs_melanges.csv": Case("séparateur différent"),
    "sans_code.csv": Case(NO_COLUMNS),
    "page_html.csv": Case("page web", SAME),
    "json.csv": Case("JSON", SAME),
    "entete_vide.csv": Case(NO_COLUMNS),
    "nom_de_colonne_script.csv": Case(NO_COLUMNS),
    "echappements_terminal.csv": Case("code mal formé", line=11, outcome="rejets"),
    "codes_inconnus.csv": Case("aucune ligne importable", line=2),
    "formules.csv": Case("aucune valeur importable", line=2),
    "formules_codes.csv": Case("niveau géographique indéterminé"),
    "controle_dans_les_cellules.csv": Case("valeur non numérique", line=2, outcome="rejets"),
    "fins_de_ligne_melangees.csv": Case("", outcome="lu"),
    "geojson_deguise.geojson": Case("fichier géographique", "JSON"),
    "excel97.xls": Case("Excel 97", SAME),
    "faux_classeur.xlsx": Case("classeur XLSX illisible", SAME),
    "faux_zip.zip": Case("archive zip illisible", SAME),
    "pdf_deguise.csv": Case("document PDF", SAME),
    "image_deguisee.csv": Case("image PNG", SAME),
    "executable.csv": Case("programme Windows", SAME),
    "archive_vide.zip": Case("aucun fichier CSV ou XLSX", SAME),
    "archive_tronquee.zip": Case("archive zip illisible", SAME),
    "archive_membres.zip": Case("trop de membres", SAME),
    "archive_chemin_remontant.zip": Case("sort de l'archive", SAME),
    "archive_chemin_absolu.zip": Case("sort de l'archive", SAME),
    "archive_dans_archive.zip": Case("aucun fichier CSV ou XLSX", SAME),
    "archive_binaire.zip": Case("fichier binaire", SAME),
    "archive_corrompue.zip": Case("archive zip tronquée ou corrompue", SAME),
    "bombe_xml.xlsx": Case("classeur XLSX illisible", SAME),
    "entite_externe.xlsx": Case("classeur XLSX illisible", SAME),
    "classeur_vide.xlsx": Case("feuille vide", SAME),
    "enregistrements_tronques.csv": Case(NO_COLUMNS, "ligne tronquée"),
    "enregistrements_identifiants.csv": Case(NO_COLUMNS, "identifiants directs"),
    "enregistrements_nir_en_commentaire.csv": Case(NO_COLUMNS, "identifiants directs"),
    "enregistrements_octet_nul.csv": Case("octet nul", SAME, line=13),
    # made at test time (tests/corpus/fabrique.py make_large)
    "une_ligne_50_mo.csv": Case("fins de ligne", SAME, line=1),
    "ligne_1_go.csv": Case("fins de ligne", SAME, line=2),
    "un_million_de_colonnes.csv": Case("1000000 colonnes", SAME, line=1),
    "bombe.zip": Case("bombe zip", SAME),
    "bombe_classeur.xlsx": Case("bombe zip", SAME),
    "classeur_vingt_millions_de_cellules.xlsx": Case("bombe XLSX", SAME),
    "filosofi_reel_coupe.csv": Case("ligne tronquée", line=50),
    "caf_reel_coupe.csv": Case("ligne tronquée"),
}
TOO_LARGE_FOR_A_DEPOSIT = {"ligne_1_go.csv"}  # beyond the deposit limit: refused as such


@pytest.fixture(scope="module")
def large(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return make_large(tmp_path_factory.mktemp("corpus"), DATA)


@pytest.fixture(scope="module")
def corpus(large: dict[str, Path]) -> dict[str, Path]:
    files = {name: FILES / name for name in SMALL}
    assert all(path.is_file() for path in files.values()), "run python -m tests.corpus.fabrique"
    return {**files, **large}


def test_the_corpus_is_whole_and_each_file_has_its_expectation(corpus: dict[str, Path]) -> None:
    assert set(corpus) == set(CASES)
    assert len(corpus) >= 50
    refused = [n for n, c in CASES.items() if c.outcome == "refus"]
    assert len(refused) >= 50


@pytest.fixture(scope="module")
def corpus_home(small_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the home of the 93 (every file of the corpus is of its communes) with the
    records collection of tests/test_records.py."""
    home = tmp_path_factory.mktemp("corpus-home") / "obs"
    shutil.copytree(small_home, home)
    (home / "collections").mkdir()
    (home / "collections" / "sejours.yaml").write_text(SCHEMA, encoding="utf-8")
    return home


def _located(text: str, name: str, case: Case, message: str | None) -> list[str]:
    """What is missing from ``text`` of a refusal of file ``name``."""
    problems = []
    if name not in text:
        problems.append("file not named")
    if message and message not in text:
        problems.append(f"« {message} » absent")
    if case.line and message == case.message and f"ligne {case.line}" not in text:
        problems.append(f"line {case.line} not named")
    return problems


def _batches(home: Path) -> int:
    with Observatory.open(home) as obs:
        return obs.warehouse.count("import_batch")


@pytest.mark.parametrize("name", list(CASES))
def test_the_command_line_import_refuses_it_naming_file_and_place(
    corpus: dict[str, Path], corpus_home: Path, name: str
) -> None:
    case = CASES[name]
    code, out = run("import", str(corpus[name]), "--dry-run", home=corpus_home)
    assert "\x1b" not in out and "\x07" not in out  # nothing drives the terminal
    if case.outcome == "lu":
        assert code == 0, out
        return
    if case.outcome == "rejets":
        assert code == 3 and case.message in out and f"ligne {case.line}" in out, out
        return
    assert code == 2, out
    assert _located(out, name, case, case.message) == [], out
    before = _batches(corpus_home)
    code, out = run("import", str(corpus[name]), home=corpus_home)  # for real: nothing written
    assert code == 2 and _batches(corpus_home) == before, out


@pytest.mark.parametrize("name", list(CASES))
def test_the_records_import_refuses_it(
    corpus: dict[str, Path], corpus_home: Path, name: str
) -> None:
    case = CASES[name]
    expected = case.message if case.records is SAME else case.records
    before = _batches(corpus_home)
    code, out = run("records", "import", str(corpus[name]), "--collection", "sejours",
                    home=corpus_home)  # fmt: skip
    assert code == 2, out
    assert name in out and expected is not None and expected in out, out
    if case.line and case.records is SAME:
        assert f"ligne {case.line}" in out, out
    assert _batches(corpus_home) == before


@pytest.fixture(scope="module")
def served(corpus_home: Path) -> Iterator[tuple[TestClient, TestClient, str]]:
    """The corpus home served in this process: an analyst's session, and its API token."""
    with Observatory.open(corpus_home, write=True) as obs:
        app = create_app(obs)
        email = "analyste@corpus.invalid"
        analyst = new_account(app, email, Role.ANALYST)
        yield analyst, TestClient(app), app.state.accounts.create_token(email, "corpus")


def test_every_file_is_refused_by_the_web_and_api_deposits_with_nothing_left(
    corpus: dict[str, Path],
    corpus_home: Path,
    served: tuple[TestClient, TestClient, str],
) -> None:
    analyst, api, token = served
    obs_batches = analyst.app.state.observatory.warehouse  # type: ignore[attr-defined]
    before = obs_batches.count("import_batch")
    failures: dict[str, list[str]] = {}
    refusals = 0
    for name, case in CASES.items():
        if name in TOO_LARGE_FOR_A_DEPOSIT:
            continue
        for collection in ("", "sejours"):
            expected = case.message if not collection else (case.records or case.message)
            data = corpus[name].read_bytes()
            web = analyst.post(
                "/imports",
                data={"csrf": analyst.cookies["obs_csrf"], "collection": collection},
                files={"fichier": (name, data, "application/octet-stream")},
            )
            text = html.unescape(web.text)
            readable = case.outcome in ("lu", "rejets") and not collection
            problems = []
            if readable:
                if web.status_code != 200:
                    problems.append(f"web {web.status_code}")
            else:
                refusals += 1
                if web.status_code not in (400, 403, 413):
                    problems.append(f"web status {web.status_code}")
                problems += [f"web: {p}" for p in _located(text, name, case, expected)]
            if not collection:
                answer = api.post(
                    "/api/v1/imports",
                    headers={"Authorization": f"Bearer {token}"},
                    files={"fichier": (name, data, "application/octet-stream")},
                )
                if readable:
                    problems += [] if answer.status_code == 201 else [f"api {answer.status_code}"]
                else:
                    refusals += 1
                    error = answer.json().get("error", "") if answer.status_code < 500 else ""
                    if answer.status_code not in (400, 403, 413):
                        problems.append(f"api status {answer.status_code}")
                    problems += [f"api: {p}" for p in _located(error, name, case, expected)]
                    if str(corpus_home) in error or "/depots/" in error:
                        problems.append("api: server path shown")
            if problems:
                failures[f"{name} {collection or 'producteur'}"] = problems
            depots = corpus_home / "depots"
            pending = [p for p in depots.iterdir()] if depots.exists() else []
            if pending and not (readable and web.status_code == 200):
                failures.setdefault(name, []).append(f"left behind: {pending}")
            for entry in pending:  # a validated deposit waits for confirmation: cancel it
                if entry.is_dir():
                    analyst.post(
                        "/imports/confirmer",
                        data={"csrf": analyst.cookies["obs_csrf"], "depot": entry.name,
                              "action": "annuler"},
                    )  # fmt: skip
    assert failures == {}
    accepted = sum(1 for c in CASES.values() if c.outcome != "refus")
    assert obs_batches.count("import_batch") == before + accepted  # the API imported those
    assert refusals >= 150
    assert analyst.get("/").status_code == 200 and api.get("/api/v1/indicators").status_code == 200


def test_a_real_server_refuses_a_1_gb_deposit_while_receiving_it_and_still_answers(
    corpus: dict[str, Path], corpus_home: Path, tmp_path: Path
) -> None:
    home = tmp_path / "obs"
    shutil.copytree(corpus_home, home, ignore=shutil.ignore_patterns("depots"))
    email = "analyste2@corpus.invalid"
    code, out = _cli(home, "users", "create", email, "--role", "analyst", "--password-stdin",
                     stdin=PASSWORD + "\n")  # fmt: skip
    assert code == 0, out
    code, token = _cli(home, "users", "token", email, "--label", "corpus")
    assert code == 0, token
    token = re.search(r"obs_[A-Za-z0-9_-]+", token).group(0)  # type: ignore[union-attr]
    big = corpus["ligne_1_go.csv"]
    with serving(home, tmp_path / "serve.log") as base:
        try:
            with big.open("rb") as handle:
                answer = httpx.post(
                    base + "/api/v1/imports",
                    headers={"Authorization": f"Bearer {token}"},
                    files={"fichier": (big.name, handle, "text/csv")},
                    timeout=120,
                )
            assert answer.status_code == 413, answer.text[:300]
        except (httpx.WriteError, httpx.RemoteProtocolError, httpx.ReadError):
            pass  # the server closed the connection after its answer, mid-upload
        assert httpx.get(base + "/", timeout=30).status_code == 200
        assert httpx.get(base + "/api/v1/indicators", timeout=30).status_code == 200
    depots = home / "depots"
    assert not depots.exists() or list(depots.iterdir()) == []


def _cli(home: Path, *args: str, stdin: str = "") -> tuple[int, str]:
    done = subprocess.run(
        [sys.executable, "-m", "observatoire", "--home", str(home), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done.returncode, done.stdout + done.stderr
