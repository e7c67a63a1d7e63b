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


def test_every_library_the_package_imports_is_a_declared_dependency() -> None:
    """A module of the package imports only the standard library, itself, and distributions
    its ``dependencies`` (or its ``postgres`` extra) declare or require in turn: a library
    the tests happen to install (httpx, for one) must not hide a missing runtime dependency
    of a fresh install."""
    import ast
    import re
    import sys
    import tomllib
    from importlib.metadata import PackageNotFoundError, packages_distributions, requires

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = [*project["dependencies"], *project["optional-dependencies"]["postgres"]]

    def norm(name: str) -> str:
        return re.sub(r"[-_.]+", "-", name).lower()

    def name_of(requirement: str) -> str:
        return norm(re.split(r"[<>=!~\[; (]", requirement.strip(), maxsplit=1)[0])

    # the declared distributions and what they require in turn (markers of extras left out)
    allowed: set[str] = set()
    todo = [name_of(d) for d in declared]
    while todo:
        name = todo.pop()
        if name in allowed:
            continue
        allowed.add(name)
        try:
            wanted = requires(name) or []
        except PackageNotFoundError:
            continue
        todo += [name_of(r) for r in wanted if "extra ==" not in r]
    owners = packages_distributions()
    missing = {}
    for path in (ROOT / "src" / "observatoire").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module] if isinstance(node, ast.ImportFrom) and node.module
                     and node.level == 0 else [])  # fmt: skip
            for name in names:
                top = name.split(".")[0]
                if top in sys.stdlib_module_names or top == "observatoire":
                    continue
                dists = {norm(d) for d in owners.get(top, [top])}
                if not dists & allowed:
                    missing.setdefault(top, str(path.relative_to(ROOT)))
    assert not missing, missing
