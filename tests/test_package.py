"""The package's public surface and its documentation."""

from __future__ import annotations

import importlib
from pathlib import Path

import observatoire
from observatoire.home import SETTINGS

ROOT = Path(__file__).resolve().parents[1]


def test_public_names() -> None:
    for name in observatoire.__all__:
        assert getattr(observatoire, name) is not None
    assert observatoire.Observatory.__name__ == "Observatory"


def test_domain_core_imports_no_io_framework() -> None:
    forbidden = (
        "duckdb",
        "psycopg",
        "click",
        "observatoire.store",
        "observatoire.cli",
        "observatoire.ingest",
    )
    for module in ("levels", "codes", "vintages", "zoning", "referential", "geometry"):
        source = (ROOT / "src" / "observatoire" / "territories" / f"{module}.py").read_text()
        for name in forbidden:
            assert f"import {name}" not in source and f"from {name}" not in source, (module, name)
        importlib.import_module(f"observatoire.territories.{module}")


def test_every_setting_is_documented() -> None:
    docs = (ROOT / "docs" / "parametres.md").read_text(encoding="utf-8")
    for setting in SETTINGS:
        assert f"`{setting.name}`" in docs, setting.name


def test_readme_gives_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "make demo" in readme and "make test" in readme
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_nothing_imports_the_command_line() -> None:
    for path in (ROOT / "src" / "observatoire").rglob("*.py"):
        if path.name == "__main__.py" or "cli" in path.relative_to(ROOT / "src").parts:
            continue  # the command line itself (the cli/ package: its command groups)
        source = path.read_text(encoding="utf-8")
        assert "observatoire.cli" not in source, path
