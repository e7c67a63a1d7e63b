"""The shape of the code, checked on its import graph (computed with :mod:`ast`, every import
counted: at the top, inside a function, or for type checking only).

- Every edge points inward: the pure core (territories, catalogue, statistics, secret, quality,
  inventory and the small helpers) ← store ← ingest and engine ← the facade (the observatory and
  the services beside it) ← outputs ← web, command line and demo.
- No cycle between modules.
- No private name (``_name``) imported from another module, nor read through a module.
- Outside the layers that own it (store, ingest, engine, the facade and its services), nothing
  reaches through an object for its warehouse (``obs.warehouse``): the edges and the outputs ask
  the facade.
- SQL statements are written in ``store/`` only (and in ``engine/``, whose set-based
  computations are statements by nature): the other layers call named store functions.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "observatoire"

# Layers, from the core outwards; a module may import its own layer or an inner one.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("errors",),
    (
        "territories",
        "catalog",
        "stats",
        "secret",
        "quality",
        "inventory",
        "atomic",
        "csvfile",
        "yamlfile",
        "text",
        "passwords",
        "home",
    ),
    ("store",),
    ("ingest", "engine", "remote"),
    ("observatory", "services"),
    ("outputs",),
    ("web", "cli", "demo", "__init__", "__main__"),
)


def layer(module: str) -> int:
    """The layer of ``observatoire.<part>…`` (its first part below the package)."""
    parts = module.split(".")
    first = parts[1] if len(parts) > 1 else "__init__"
    for rank, names in enumerate(LAYERS):
        if first in names:
            return rank
    raise AssertionError(f"{module}: in no layer (add its package to LAYERS)")


def modules() -> dict[str, Path]:
    found = {}
    for path in sorted((SRC / PACKAGE).rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


class Imports:
    """Each module's imports of other modules of the package, and its private borrowings."""

    def __init__(self) -> None:
        self.modules = modules()
        self.edges: dict[str, set[str]] = {}
        self.private: list[str] = []
        for name, path in self.modules.items():
            self.edges[name] = set(self._imports(name, path))

    def _target(self, name: str, path: Path, node: ast.ImportFrom) -> str:
        if not node.level:
            return node.module or ""
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        base = package.split(".")[: len(package.split(".")) - node.level + 1]
        return ".".join(base + ([node.module] if node.module else []))

    def _imports(self, name: str, path: Path) -> Iterator[str]:
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        aliases: dict[str, str] = {}  # local name -> module of the package
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name in self.modules:
                        aliases[alias.asname or alias.name] = alias.name
                        yield alias.name
            elif isinstance(node, ast.ImportFrom):
                target = self._target(name, path, node)
                if target.split(".")[0] != PACKAGE:
                    continue
                for alias in node.names:
                    full = f"{target}.{alias.name}"
                    if full in self.modules:  # a module imported from its package
                        aliases[alias.asname or alias.name] = full
                        yield full
                    elif target in self.modules:
                        yield target
                        if _private(alias.name) and target != name:
                            self.private.append(f"{name} imports {target}.{alias.name}")
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in aliases
                and _private(node.attr)
            ):
                self.private.append(f"{name} reads {aliases[node.value.id]}.{node.attr}")

    def cycles(self) -> list[list[str]]:
        """Strongly connected components of more than one module (Tarjan)."""
        index: dict[str, int] = {}
        low: dict[str, int] = {}
        stack: list[str] = []
        on_stack: set[str] = set()
        found: list[list[str]] = []

        def visit(v: str) -> None:
            index[v] = low[v] = len(index)
            stack.append(v)
            on_stack.add(v)
            for w in sorted(self.edges.get(v, ())):
                if w not in index:
                    visit(w)
                    low[v] = min(low[v], low[w])
                elif w in on_stack:
                    low[v] = min(low[v], index[w])
            if low[v] == index[v]:
                component = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    component.append(w)
                    if w == v:
                        break
                if len(component) > 1:
                    found.append(sorted(component))

        for v in sorted(self.edges):
            if v not in index:
                visit(v)
        return found


# Where reading ``<something>.warehouse`` is at home (the facade builds, the layers below use it).
WAREHOUSE_OWNERS = ("store", "ingest", "engine", "services", "observatory")


def warehouse_reaches() -> list[str]:
    """``x.warehouse`` (x other than ``self``) outside :data:`WAREHOUSE_OWNERS`, as file:line."""
    found = []
    for name, path in modules().items():
        if name.split(".")[1:2] and name.split(".")[1] in WAREHOUSE_OWNERS:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and node.attr == "warehouse"
                and not (isinstance(node.value, ast.Name) and node.value.id == "self")
            ):
                found.append(f"{path.relative_to(SRC)}:{node.lineno}")
    return found


# Where SQL statements are at home: the store (every read and write of the warehouse and the
# application database), and the engine, whose set-based computations (indicators for every
# territory and period, ranks, comparisons) are statements by nature: there the SQL is the
# algorithm, not storage.
SQL_HOMES = ("store", "engine")
# Temporary exceptions, each named with the reason: remove an entry once its module is clean.
SQL_EXCEPTIONS: dict[str, str] = {}
# A string that starts (after white space) with an SQL statement's keywords, upper case.
STATEMENT = re.compile(
    r"\s*(SELECT\b|INSERT\s+INTO\b|UPDATE\s+\w+\s+SET\b|DELETE\s+FROM\b|CREATE\b|DROP\b"
    r"|WITH\b.*?\bAS\b|ALTER\b)",
    re.DOTALL,
)


def sql_statements(source: str) -> list[int]:
    """The lines of the string constants of ``source`` that are SQL statements (an f-string
    counts by its literal start)."""
    tree = ast.parse(source)
    inside_fstrings = {
        id(part) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr)
        for part in node.values
    }  # fmt: skip
    found = []
    for node in ast.walk(tree):
        text = None
        if isinstance(node, ast.JoinedStr):
            first = node.values[0] if node.values else None
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                text = first.value
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in inside_fstrings
        ):
            text = node.value
        if text is not None and STATEMENT.match(text):
            found.append(node.lineno)
    return sorted(found)


def sql_outside_store() -> dict[str, list[int]]:
    """Module → lines of its SQL statements, for every module outside :data:`SQL_HOMES`."""
    found = {}
    for name, path in modules().items():
        if name.split(".")[1:2] and name.split(".")[1] in SQL_HOMES:
            continue
        lines = sql_statements(path.read_text(encoding="utf-8"))
        if lines:
            found[name] = lines
    return found


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


@pytest.fixture(scope="module")
def imports() -> Imports:
    return Imports()


def test_every_import_points_inward(imports: Imports) -> None:
    outward = sorted(
        f"{a} -> {b}"
        for a, targets in imports.edges.items()
        for b in targets
        if layer(b) > layer(a)
    )
    assert not outward, "\n".join(outward)


def test_no_cycle_between_modules(imports: Imports) -> None:
    assert not imports.cycles(), imports.cycles()


def test_no_private_name_crosses_a_module(imports: Imports) -> None:
    assert not imports.private, "\n".join(sorted(set(imports.private)))


def test_the_outputs_take_a_narrow_source(imports: Imports) -> None:
    """Maps, portraits, dashboards and exports are given the reads of
    :class:`observatoire.outputs.source.Source`, never the facade itself."""
    facade = sorted(
        name for name, targets in imports.edges.items()
        if name.startswith("observatoire.outputs") and "observatoire.observatory" in targets
    )  # fmt: skip
    assert not facade, facade


def test_the_edges_ask_the_facade_not_its_warehouse() -> None:
    assert not warehouse_reaches(), warehouse_reaches()


def test_an_audience_is_parsed_at_the_boundary_only() -> None:
    """Who reads is a ``ReadPolicy`` made once where a request or a command comes in: nothing
    outside ``secret/`` parses an audience's name again."""
    callers = []
    for name, path in modules().items():
        if name.startswith(f"{PACKAGE}.secret"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                called = node.func
                ident = called.id if isinstance(called, ast.Name) else getattr(called, "attr", "")
                if ident == "parse_audience":
                    callers.append(f"{name}:{node.lineno}")
    assert callers == []


def test_sql_is_written_in_the_store_only() -> None:
    """No module outside ``store/`` and ``engine/`` holds an SQL statement (see
    :data:`SQL_HOMES`), but the temporary :data:`SQL_EXCEPTIONS`; an exception whose module
    holds none any more is to be removed from the list."""
    found = sql_outside_store()
    misplaced = sorted(
        f"{name}: lines {', '.join(map(str, lines))}"
        for name, lines in found.items()
        if name not in SQL_EXCEPTIONS
    )
    assert not misplaced, "SQL outside store/ (move it to a store function):\n" + "\n".join(
        misplaced
    )
    stale = sorted(set(SQL_EXCEPTIONS) - set(found))
    assert not stale, f"no SQL left in {stale}: remove them from SQL_EXCEPTIONS"


def test_the_checks_see_what_they_look_for(tmp_path: Path) -> None:
    """The graph is not empty and the rules would catch a violation."""
    graph = Imports()
    assert "observatoire.store.base" in graph.edges["observatoire.store.duckdb"]
    assert (
        layer("observatoire.web.app")
        > layer("observatoire.observatory")
        > layer("observatoire.store.base")
    )
    graph.edges["observatoire.errors"] = {"observatoire.web"}
    graph.edges["observatoire.web"] = {"observatoire.errors"}
    assert ["observatoire.errors", "observatoire.web"] in graph.cycles()
    statements = (
        'a = "SELECT code FROM territory"\n'
        'b = f"  DELETE FROM {table} WHERE level = ?"\n'
        'c = ("UPDATE variable SET label = ? "\n     "WHERE id = ?")\n'
        'd = """\n    WITH inside AS (SELECT 1)"""\n'
        'e = "INSERT INTO meta (key, value) VALUES (?, ?)"\n'
    )
    assert sql_statements(statements) == [1, 2, 3, 5, 7]  # each where it starts
    prose = (
        'a = "Select a territory"\nb = f"{x} SELECT"\nc = "UPDATE the file"\n'
        'd = "with the COG as base"\ne = "DELETED"\n'
    )
    assert sql_statements(prose) == []
    assert sql_statements(SRC.joinpath(PACKAGE, "store", "batches.py").read_text())
