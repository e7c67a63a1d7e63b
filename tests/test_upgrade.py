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
from observatoire.errors import HomeError
from observatoire.home import Home
from observatoire.observatory import Observatory
from observatoire.store import open_warehouse
from observatoire.store.appdb import APP_MIGRATIONS, AppDatabase, open_appdb
from observatoire.store.schema import SCHEMA_VERSION
from observatoire.store.versions import MIGRATED_BY, release
from tests.conftest import run, signed_in
from tests.fixtures.make_upgrade_home import (
    COLLECTION,
    RATIO,
    application_counts,
    cli_reads,
    figures,
    warehouse_counts,
    write_records,
)

FIXTURES = Path(__file__).parent / "fixtures"
RELEASES = sorted(
    p.name.removeprefix("home-").removesuffix(".tar.xz") for p in FIXTURES.glob("home-*.tar.xz")
)


def manifest_of(version: str) -> dict[str, Any]:
    return dict(json.loads((FIXTURES / f"home-{version}.json").read_text(encoding="utf-8")))


def release_key(version: str) -> tuple[int, ...]:
    """``0.10.1`` → (0, 10, 1): versions compared as numbers."""
    return tuple(int(part) for part in version.split("+")[0].split("."))


def test_each_kept_home_has_its_manifest() -> None:
    assert "0.1.0" in RELEASES  # the first release: never removed
    for kept_release in RELEASES:
        manifest = manifest_of(kept_release)
        archive = FIXTURES / f"home-{kept_release}.tar.xz"
        assert manifest["version"] == kept_release
        assert hashlib.sha256(archive.read_bytes()).hexdigest() == manifest["archive_sha256"]
        assert release_key(kept_release) <= release_key(observatoire.__version__)
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
        with pytest.raises(HomeError, match="init"):
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
    if older:
        assert meta[MIGRATED_BY] == release()
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
    # MEN005: OPA's, recorded on 06/03/2025 (make_upgrade_home.records_file)
    again = ["OPC", "Opérateur OPC (FICTIF)", "93048", "10/03/2025", "MEN005", "F", "40",
             "orientee"]  # fmt: skip
    extract = write_records(tmp_path / "extraction_apres.csv", [again])
    with Observatory.open(home, write=True) as obs:
        before = obs.records.duplicates(COLLECTION)
        assert len(before) == manifest["figures"]["duplicates"]
        obs.records.import_file(extract, COLLECTION)
        after = obs.records.duplicates(COLLECTION)
    assert len(after) == len(before) + 1


def test_the_release_recorded_is_the_package_version() -> None:
    """What a base records as the release that migrated it (the installed package's version)
    is what ``observatoire --version`` says."""
    assert observatoire.__version__ == importlib.metadata.version("observatoire")


def test_the_application_database_is_at_its_last_step(old_home: tuple[Path, Any]) -> None:
    home, _ = old_home
    database = open_appdb(home, "duckdb")
    try:
        version = database.query("SELECT value FROM app_meta WHERE key = 'version'")
    finally:
        database.close()
    assert version.value.tolist() == [str(len(APP_MIGRATIONS))]


# -- a home of a later release ---------------------------------------------------------------
LATER = "99.0.0"


@pytest.fixture
def fresh_home(tmp_path: Path) -> Path:
    """A home made by this release (no referential: none is needed to open or refuse it)."""
    obs, _ = Observatory.init(tmp_path / "obs")
    obs.close()
    open_appdb(obs.home.path, "duckdb").close()
    return obs.home.path


@pytest.fixture
def newer_home(fresh_home: Path) -> Path:
    """A home whose warehouse release 99.0.0 migrated one step beyond this release's."""
    with Observatory.open(fresh_home, write=True) as obs:
        obs.warehouse.set_meta("schema_version", str(SCHEMA_VERSION + 1))
        obs.warehouse.set_meta(MIGRATED_BY, LATER)
    return fresh_home


def assert_refused(message: str, home: Path, part: str, found: int, known: int) -> None:
    """The refusal names the home, the version found, the one this release knows, the release
    that migrated it and this one, and says what to do."""
    assert f"l'observatoire {home} a été mis à jour par observatoire {LATER}" in message
    assert f"{part} en est à la version n° {found}" in message
    assert f"observatoire {release()}, installé ici" in message
    assert f"jusqu'au n° {known}." in message
    assert f"Installez observatoire {LATER} ou plus récent" in message


def test_each_base_records_the_release_that_migrated_it(fresh_home: Path) -> None:
    with Observatory.open(fresh_home) as obs:
        assert obs.warehouse.meta()[MIGRATED_BY] == release()
    database = open_appdb(fresh_home, "duckdb")
    try:
        rows = database.query("SELECT value FROM app_meta WHERE key = ?", [MIGRATED_BY])
    finally:
        database.close()
    assert rows.value.tolist() == [release()]


def test_a_newer_warehouse_is_refused_read_only_or_not(newer_home: Path) -> None:
    opening = (
        lambda: Observatory.open(newer_home),
        lambda: Observatory.open(newer_home, write=True),
        lambda: Observatory.init(newer_home),
    )
    for attempt in opening:
        with pytest.raises(HomeError) as refused:
            attempt()
        assert_refused(
            str(refused.value), newer_home, "son entrepôt", SCHEMA_VERSION + 1, SCHEMA_VERSION
        )
    location = Home.load(newer_home).location
    with open_warehouse("duckdb", location, read_only=True) as warehouse:  # left as it was
        assert warehouse.schema_version() == SCHEMA_VERSION + 1
        assert warehouse.meta()[MIGRATED_BY] == LATER


def test_the_command_line_and_the_server_refuse_a_newer_warehouse(
    newer_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from observatoire.web.app import app_from_environment

    for command in (("status",), ("init",), ("compute",), ("documents", "list")):
        code, out = run(*command, home=newer_home)
        assert code == 1, (command, out)
        assert_refused(out, newer_home, "son entrepôt", SCHEMA_VERSION + 1, SCHEMA_VERSION)
    monkeypatch.setenv("OBSERVATOIRE_HOME", str(newer_home))  # as `serve --workers N` starts
    with pytest.raises(HomeError) as refused:
        app_from_environment()
    assert_refused(
        str(refused.value), newer_home, "son entrepôt", SCHEMA_VERSION + 1, SCHEMA_VERSION
    )


def test_a_newer_application_database_is_refused(fresh_home: Path) -> None:
    from observatoire.web.app import create_app

    database = open_appdb(fresh_home, "duckdb")
    later = len(APP_MIGRATIONS) + 1
    with database.transaction() as run_sql:
        run_sql("UPDATE app_meta SET value = ? WHERE key = 'version'", [str(later)])
        run_sql("UPDATE app_meta SET value = ? WHERE key = ?", [LATER, MIGRATED_BY])
    database.close()
    with pytest.raises(HomeError) as refused:
        open_appdb(fresh_home, "duckdb")
    assert_refused(
        str(refused.value), fresh_home, "sa base applicative", later, len(APP_MIGRATIONS)
    )
    code, out = run("users", "list", home=fresh_home)
    assert code == 1 and "sa base applicative en est à la version" in out
    with Observatory.open(fresh_home) as obs, pytest.raises(HomeError, match="applicative"):
        create_app(obs)  # the server
    untouched = AppDatabase(f"sqlite:///{fresh_home / 'application.sqlite'}")  # not migrated
    try:
        version = untouched.query("SELECT value FROM app_meta WHERE key = 'version'")
    finally:
        untouched.close()
    assert version.value.tolist() == [str(later)]
