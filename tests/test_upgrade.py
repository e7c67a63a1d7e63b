"""Upgrades: a home made by an earlier release opens with this one, every row and figure kept;
a home made by a later release is refused, and left as it was.

``tests/fixtures/home-<version>.tar.xz`` is a home that release built
(``tests/fixtures/make_upgrade_home.py``: the referential of the 93, synthetic imports
computed, a zoning, records, an account with an API token, a document), and
``home-<version>.json`` what that release read back from it: the rows of every table, figures
through the Python API and the command line. A fixture is never rebuilt: each stands for the
homes users have; a release adds its own (docs/dev/storage.md).
"""

from __future__ import annotations

import csv
import hashlib
import importlib.metadata
import json
import tarfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

import observatoire
from observatoire.observatory import Observatory
from observatoire.store.appdb import APP_MIGRATIONS
from observatoire.store.schema import SCHEMA_VERSION
from tests.conftest import run, signed_in
from tests.fixtures.make_upgrade_home import (
    COLLECTION,
    RATIO,
    application_counts,
    cli_reads,
    figures,
    warehouse_counts,
)

FIXTURES = Path(__file__).parent / "fixtures"
RELEASES = sorted(
    p.name.removeprefix("home-").removesuffix(".tar.xz") for p in FIXTURES.glob("home-*.tar.xz")
)


def manifest_of(release: str) -> dict[str, Any]:
    return dict(json.loads((FIXTURES / f"home-{release}.json").read_text(encoding="utf-8")))


def release_key(version: str) -> tuple[int, ...]:
    """``0.10.1`` → (0, 10, 1): versions compared as numbers."""
    return tuple(int(part) for part in version.split("+")[0].split("."))


def test_each_kept_home_has_its_manifest() -> None:
    assert "0.1.0" in RELEASES  # the first release: never removed
    for release in RELEASES:
        manifest = manifest_of(release)
        archive = FIXTURES / f"home-{release}.tar.xz"
        assert manifest["version"] == release
        assert hashlib.sha256(archive.read_bytes()).hexdigest() == manifest["archive_sha256"]
        assert release_key(release) <= release_key(observatoire.__version__)
        assert archive.stat().st_size < 3 * 1024**2


@pytest.fixture(params=RELEASES)
def old_home(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    """A private copy of the home kept from an earlier release, and its manifest."""
    with tarfile.open(FIXTURES / f"home-{request.param}.tar.xz") as archive:
        archive.extractall(tmp_path, filter="data")
    return tmp_path / "observatoire", manifest_of(request.param)


def kept(expected: Any, got: Any) -> Any:
    """``got`` cut to what ``expected`` has (the keys of its dictionaries, at every depth): a
    later release may add columns to an output, not change those it had."""
    if isinstance(expected, dict) and isinstance(got, dict):
        return {k: kept(v, got.get(k)) for k, v in expected.items()}
    if isinstance(expected, list) and isinstance(got, list) and len(expected) == len(got):
        return [kept(e, g) for e, g in zip(expected, got, strict=True)]
    return got


def test_an_older_home_opens_with_every_row_and_figure(old_home: tuple[Path, Any]) -> None:
    home, manifest = old_home
    older = int(manifest["meta"]["schema_version"]) < SCHEMA_VERSION
    if older:  # read-only, an older warehouse is not migrated: the message says how
        with pytest.raises(observatoire.HomeError, match="init"):
            Observatory.open(home)
    code, out = run("init", home=home)  # the documented way to upgrade (any writing works too)
    assert code == 0, out
    assert "Référentiel déjà construit" in out  # not rebuilt: the home's own is kept
    with Observatory.open(home) as obs:
        assert obs.warehouse.schema_version() == SCHEMA_VERSION
        meta = obs.warehouse.meta()
        counts = warehouse_counts(obs)
        read = figures(obs)
    before = {k: v for k, v in manifest["meta"].items() if k != "schema_version"}
    assert {k: meta.get(k) for k in before} == before
    expected = {t: n for t, n in manifest["warehouse"].items() if t != "meta"}
    assert {t: counts.get(t) for t in expected} == expected
    assert read == manifest["figures"]
    assert kept(manifest["cli"], cli_reads(home)) == manifest["cli"]
    application = application_counts(home)
    app_expected = {t: n for t, n in manifest["application"].items() if t != "app_meta"}
    assert {t: application.get(t) for t in app_expected} == app_expected
    # the upgraded home is written to as any other: compute finds it up to date
    code, out = run("compute", home=home)
    assert code == 0, out
    with Observatory.open(home) as obs:
        assert figures(obs) == manifest["figures"]


def test_the_account_its_token_and_the_document_still_serve(
    old_home: tuple[Path, Any],
) -> None:
    from observatoire.web.app import create_app

    home, manifest = old_home
    Observatory.open(home, write=True).close()  # migrated, then served as `serve` does
    account, document = manifest["account"], manifest["document"]
    (token,) = json.loads(run("users", "tokens", "--format", "json", home=home)[1])
    with Observatory.open(home) as obs:
        app = create_app(obs)
        client = signed_in(app, account["email"], account["password"])
        answer = client.get(f"/documents/{document['id']}/fichier")
        assert answer.status_code == 200
        assert hashlib.sha256(answer.content).hexdigest() == document["sha256"]
        secret = next(k for k, (_, s) in manifest["figures"]["public"].items() if s == "secret")
        code, period = secret.split("|")
        url = f"/api/v1/indicators/{RATIO}/values"
        query = {"level": "commune", "within": "93", "period": period}
        public = TestClient(app).get(url, params=query).json()["rows"]
        assert {r["code"]: r["status"] for r in public}[code] == "secret"
        bearer = {"Authorization": f"Bearer {account['token']}"}
        answer = TestClient(app).get(url, params=query, headers=bearer)
    if datetime.fromisoformat(token["expires_at"]) < datetime.now(UTC):
        assert answer.status_code == 401  # kept, and expired since
        return
    assert answer.status_code == 200, answer.text
    value = {r["code"]: r["value"] for r in answer.json()["rows"]}[code]
    assert value == pytest.approx(manifest["figures"]["analyst"][secret][0])


def test_pseudonyms_still_match_with_the_kept_key(
    old_home: tuple[Path, Any], tmp_path: Path
) -> None:
    """A household recorded before the upgrade, recorded again by another operator after it,
    is found as a duplicate: its identifier gets the same pseudonym (the home's key kept)."""
    home, manifest = old_home
    extract = tmp_path / "extraction_apres.csv"
    with extract.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=";")
        writer.writerow(
            [
                "code_structure",
                "structure",
                "commune",
                "date_demande",
                "id_menage",
                "sexe",
                "age",
                "issue",
            ]
        )
        # MEN005: OPA's, recorded on 06/03/2025 (make_upgrade_home.records_file)
        writer.writerow(
            [
                "OPC",
                "Opérateur OPC (FICTIF)",
                "93048",
                "10/03/2025",
                "MEN005",
                "F",
                "40",
                "orientee",
            ]
        )
    with Observatory.open(home, write=True) as obs:
        before = obs.records.duplicates(COLLECTION)
        assert len(before) == manifest["figures"]["duplicates"]
        obs.records.import_file(extract, COLLECTION)
        after = obs.records.duplicates(COLLECTION)
    assert len(after) == len(before) + 1


def test_the_version_is_the_package_s() -> None:
    """What the home records as the release that wrote it is the installed package's."""
    assert observatoire.__version__ == importlib.metadata.version("observatoire")


def test_the_application_database_is_at_its_last_step(old_home: tuple[Path, Any]) -> None:
    from observatoire.store.appdb import open_appdb

    home, _ = old_home
    database = open_appdb(home, "duckdb")
    try:
        version = database.query("SELECT value FROM app_meta WHERE key = 'version'")
    finally:
        database.close()
    assert version.value.tolist() == [str(len(APP_MIGRATIONS))]
