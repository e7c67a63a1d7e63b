"""Writing the referential: the official levels, the COG's history, the IRIS.

Each function replaces what it writes, inside the caller's transaction (an import is whole or
absent). Reading them back is :mod:`observatoire.store.territories`' work; the zonings' own
territories are written by :mod:`observatoire.store.zonings`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from observatoire.store.base import Transaction, placeholders

__all__ = ["add_territories", "replace_cog", "replace_iris", "replace_official"]


def replace_official(
    tx: Transaction,
    levels: Sequence[str],
    *,
    territories: pd.DataFrame,
    parents: pd.DataFrame,
    geometries: pd.DataFrame,
    commune_parts: pd.DataFrame,
    meta: Mapping[str, str],
) -> None:
    """Replace the territories of ``levels`` (with their parents and geometries), the
    communes déléguées and associées, and the ``meta`` entries given."""
    where = f"level IN ({placeholders(levels)})"
    tx.replace("territory", territories, where, levels)
    tx.replace("territory_parent", parents, where, levels)
    tx.replace("territory_geometry", geometries, where, levels)
    tx.replace("commune_part", commune_parts)
    tx.replace(
        "meta",
        pd.DataFrame({"key": list(meta), "value": list(meta.values())}),
        f"key IN ({placeholders(meta)})",
        list(meta),
    )


def replace_cog(tx: Transaction, *, history: pd.DataFrame, events: pd.DataFrame, year: int) -> None:
    """Replace the COG: the communes' ``history``, the ``events`` and the COG's year."""
    tx.replace("cog_commune", history[["typecom", "code", "name", "date_start", "date_end"]])
    tx.replace("cog_event", events)
    tx.replace(
        "meta",
        pd.DataFrame({"key": ["cog_year"], "value": [str(year)]}),
        "key = ?",
        ["cog_year"],
    )


def replace_iris(
    tx: Transaction,
    territories: pd.DataFrame,
    parents: pd.DataFrame,
    geometries: pd.DataFrame | None,
) -> None:
    """Replace the IRIS: their ``territories``, ``parents`` and ``geometries`` (None: the
    IRIS are left without contours)."""
    tx.replace("territory", territories, "level = 'iris'")
    tx.execute("DELETE FROM territory_parent WHERE level = 'iris'")
    tx.insert("territory_parent", parents)
    tx.execute("DELETE FROM territory_geometry WHERE level = 'iris'")
    if geometries is not None:
        tx.insert("territory_geometry", geometries)


def add_territories(
    tx: Transaction,
    territories: pd.DataFrame,
    parents: pd.DataFrame,
    geometries: pd.DataFrame | None = None,
) -> None:
    """Add (or replace, code by code) territories of a level built piece by piece, such as the
    QPV: their rows, all their parents, and their geometries when given."""
    for level, codes in territories.groupby("level").code:
        codes = list(codes)
        for start in range(0, len(codes), 500):
            chunk = codes[start : start + 500]
            where = f"level = ? AND code IN ({placeholders(chunk)})"
            tx.execute(f"DELETE FROM territory WHERE {where}", [level, *chunk])
            tx.execute(f"DELETE FROM territory_parent WHERE {where}", [level, *chunk])
            if geometries is not None:
                tx.execute(f"DELETE FROM territory_geometry WHERE {where}", [level, *chunk])
    tx.insert("territory", territories)
    tx.insert("territory_parent", parents)
    if geometries is not None and len(geometries):
        tx.insert("territory_geometry", geometries)
