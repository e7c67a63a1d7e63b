"""Shared fixtures.

Real data come from ../shared/data (INSEE COG 2026, IRIS reference 2021, IRIS contours of
Seine-Saint-Denis 2022, Filosofi, census, CNAF; see that folder's README for their origin). They
are read in place, never copied into the project. Tests needing them skip when it is absent.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from click.testing import CliRunner

from observatoire.cli import cli
from observatoire.observatory import Observatory

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
COG_2026 = DATA / "cog" / "2026"
IRIS_REFERENCE = DATA / "iris" / "reference_iris_2021.csv"
IRIS_CONTOURS_93 = DATA / "iris" / "iris_93_2022.gpkg"

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


@pytest.fixture(scope="session")
def built_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home initialised through the CLI with the whole referential, the COG 2026 and the
    IRIS (reference 2021, contours of 93). Read-only for tests: copy it to write."""
    if not DATA.is_dir():
        pytest.skip("../shared/data absent")
    home = tmp_path_factory.mktemp("home") / "obs"
    code, out = run("init", "--name", "Test 93", home=home)
    assert code == 0, out
    code, out = run("geo", "import-cog", str(COG_2026), home=home)
    assert code == 0, out
    code, out = run("geo", "import-iris", str(IRIS_REFERENCE), str(IRIS_CONTOURS_93), home=home)
    assert code == 0, out
    return home


@pytest.fixture
def home(built_home: Path, tmp_path: Path) -> Path:
    """A private, writable copy of the built home."""
    target = tmp_path / "obs"
    shutil.copytree(built_home, target)
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
