"""Codes of the territories a file names instead of coding them (Melodi's labelled exports).

The names of the file's first chunk that are not communes (the EPCI, départements, régions the
file covers) are looked up first; the territories they find make the file's *scope* (failing
them, the départements of the communes whose name is unique in France): a commune name found
several times in France (ten Saint-Aubin) is then the one inside that scope, and a former name
inside it (« Évry », now Évry-Courcouronnes) wins over a current namesake elsewhere.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from observatoire.ingest.connectors import Layout
from observatoire.ingest.tables import Table
from observatoire.store.base import Warehouse
from observatoire.store.places import named_places
from observatoire.territories.levels import level_from_label
from observatoire.territories.lookup import Found, NameIndex, Place

__all__ = ["NameResolver", "places_of"]

_COMMUNE_LEVELS = ("commune", "arm")


def places_of(frame: pd.DataFrame) -> list[Place]:
    """The places of a :func:`~observatoire.store.territories.named_places` frame."""
    return [
        Place(
            r.level,
            r.code,
            r.name,
            frozenset(str(r.within or "").split("|")),
            bool(r.former),
            bool(r.part),
            str(r.current or ""),
        )
        for r in frame.itertuples()
    ]


class NameResolver:
    """Finds the code of a named territory, within its level and the file's scope."""

    def __init__(self, warehouse: Warehouse, first: Table, layout: Layout) -> None:
        self._places = places_of(named_places(warehouse))
        self._index = NameIndex(self._places)
        self._within: dict[tuple[str, str], frozenset[str]] = {
            (p.level, p.code): p.within for p in self._places if not p.former
        }
        self.scope: set[str] = set()
        self._cache: dict[tuple[str, str], Found] = {}
        self._learn_scope(first, layout)

    def _learn_scope(self, first: Table, layout: Layout) -> None:
        names = first.frame[layout.code_column].fillna("").astype(str).str.strip()
        if layout.level_column:
            levels = first.frame[layout.level_column].fillna("").astype(str).map(level_from_label)
        else:
            levels = np.full(len(names), layout.level, dtype=object)
        pairs = set(zip(names, levels, strict=True))
        for name, level in pairs:
            if level is None or level in _COMMUNE_LEVELS or level == "pays":
                continue
            found = self._index.find(name, level)
            if found.code is not None:
                self.scope.add(f"{level}:{found.code}")
                self.scope |= {w for w in self._within.get((level, found.code), ()) if w}
        if self.scope:  # the file's EPCI or départements say where it is
            return
        for name, level in pairs:
            if level not in _COMMUNE_LEVELS:
                continue
            found = self._index.find(name, level)
            namesakes = self._index.namesakes(name, level)
            if found.code is not None and not any(p.former for p in namesakes):
                deps = self._within.get((level, found.code), frozenset())
                self.scope |= {w for w in deps if w.startswith("departement:")}

    def find(self, name: str, level: str) -> Found:
        key = (name, level)
        if key not in self._cache:
            self._cache[key] = self._index.find(name, level, within=self.scope)
        return self._cache[key]
