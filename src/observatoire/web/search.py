"""The site's search: indicators and territories whose names hold every word of a query.

Territory names are folded (accents, case) once and kept while they do not change: an import
seldom changes a name, and folding the 36,000 names of France takes 0.1 s.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from observatoire.observatory import Observatory
from observatoire.secret.policy import ReadPolicy
from observatoire.territories.levels import LEVELS
from observatoire.text import fold
from observatoire.web.content import records, summary

__all__ = ["search"]


def search(obs: Observatory, query: str, *, reader: ReadPolicy, limit: int = 20) -> dict[str, Any]:
    """Indicators and territories whose names hold every word of ``query``."""
    words = fold(query).split()
    territories: list[dict[str, Any]] = []
    if words:
        names = _territory_names(obs)
        hits = names[names.folded.map(lambda n: all(w in n for w in words))]
        hits = hits.assign(exact=hits.folded != fold(query).strip()).sort_values(
            ["exact", "rank", "name"]
        )
        territories = records(hits[["level", "code", "name"]].head(limit))
    indicators = obs.catalogue().search(query, limit=limit) if words else []
    available = obs.available(reader=reader)
    return {
        "query": query,
        "territories": territories,
        "indicators": [{**summary(i), "levels": available.get(i.id, [])} for i in indicators],
    }


def _territory_names(obs: Observatory) -> pd.DataFrame:
    """The named territories, their names folded for the search and ranked (largest first)."""
    return _searchable(obs.geography.named_territories())


_SEARCHABLE: list[tuple[pd.DataFrame, pd.DataFrame]] = []  # (frame read, its searchable form)


def _searchable(frame: pd.DataFrame) -> pd.DataFrame:
    # read again at each new data version, but an import seldom changes a name: the names
    # are folded again only when they differ (36,000 names: 0.1 s of the server's time)
    if _SEARCHABLE and _SEARCHABLE[0][0] is not frame and _SEARCHABLE[0][0].equals(frame):
        _SEARCHABLE[0] = (frame, _SEARCHABLE[0][1])
    if not _SEARCHABLE or _SEARCHABLE[0][0] is not frame:
        rank = frame.level.map(lambda lv: -LEVELS[lv].rank if lv in LEVELS else 0)
        _SEARCHABLE[:] = [(frame, frame.assign(folded=frame.name.map(fold), rank=rank))]
    return _SEARCHABLE[0][1]
