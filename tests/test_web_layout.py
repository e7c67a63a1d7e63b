"""The shape of the web layer (docs/dev/web.md): the factory is imported by no router, the
application's state is read by the dependencies only, and no module of ``observatoire.web``
imports, even inside a function, one that imports it back."""

from __future__ import annotations

import ast
from pathlib import Path

import observatoire.web

WEB = Path(observatoire.web.__file__).parent


def _modules() -> dict[str, ast.Module]:
    found = {}
    for path in sorted(WEB.rglob("*.py")):
        parts = path.relative_to(WEB.parent.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = ast.parse(path.read_text(encoding="utf-8"))
    return found


def _imports(tree: ast.Module, modules: set[str]) -> set[str]:
    """The modules of ``modules`` that ``tree`` imports, anywhere in it."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                out.add(full if full in modules else node.module)
        elif isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
    return out & modules


def test_no_router_imports_the_factory_and_no_module_cycle() -> None:
    modules = _modules()
    edges = {name: _imports(tree, set(modules)) - {name} for name, tree in modules.items()}
    assert {n for n, targets in edges.items() if "observatoire.web.app" in targets} == {
        "observatoire.web"
    }

    def reaches(start: str, target: str, seen: set[str]) -> bool:
        for nxt in edges[start] - seen:
            if nxt == target or reaches(nxt, target, seen | {nxt}):
                return True
        return False

    packages = {"observatoire.web", "observatoire.web.routes"}  # they import their modules
    cyclic = [n for n in edges if n not in packages and reaches(n, n, set(packages))]
    assert not cyclic


def test_the_application_state_is_read_by_the_dependencies_only() -> None:
    readers = {
        name
        for name, tree in _modules().items()
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and node.attr == "state"
        and isinstance(node.value, ast.Attribute) and node.value.attr == "app"
    }  # fmt: skip
    assert readers == {"observatoire.web.deps"}
