"""Reading the declared relations between indicators (the review's external consistency):
those shipped (``observatoire/data/quality/coherences.yaml``) and the observatory's own
(``<home>/qualite/coherences.yaml``), whose entry of the same id replaces the shipped one."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from observatoire.quality.relations import Relation, relations_from_data
from observatoire.yamlfile import load_yaml

__all__ = ["OWN_FILE", "load_relations"]

OWN_FILE = Path("qualite") / "coherences.yaml"


def load_relations(home: Path | None) -> list[Relation]:
    """The shipped relations, then the observatory's own (same id: its own wins)."""
    shipped = resources.files("observatoire") / "data" / "quality" / "coherences.yaml"
    found = {r.id: r for r in _read(shipped.read_text(encoding="utf-8"), "coherences.yaml")}
    own = home / OWN_FILE if home is not None else None
    if own is not None and own.is_file():
        for relation in _read(own.read_text(encoding="utf-8"), str(own)):
            found[relation.id] = relation
    return list(found.values())


def _read(text: str, origin: str) -> list[Relation]:
    return relations_from_data(load_yaml(text, origin, "fichier de cohérences", located=True),
                               origin)  # fmt: skip
