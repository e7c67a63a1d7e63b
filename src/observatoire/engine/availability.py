"""« Which levels and years have data? »: for one indicator, a table of levels × periods with
how many territories have a value, as a reader may see them (its masked cells count as
secret), from the values ``compute`` stored."""

from __future__ import annotations

import numpy as np
import pandas as pd

from observatoire.engine.access import ReadAccess
from observatoire.secret.policy import ANALYST, ReadPolicy
from observatoire.store.computed import status_counts
from observatoire.store.territories import level_counts
from observatoire.territories.levels import LEVELS

__all__ = ["COLUMNS", "availability"]

COLUMNS = ["level", "period", "territories", "values", "ok", "partial", "secret", "other"]
_USABLE = ("ok", "partial")


def availability(access: ReadAccess, ident: str, reader: ReadPolicy = ANALYST) -> pd.DataFrame:
    """One row per level and period holding stored values of ``ident``: ``territories`` (of
    the level), ``values`` (usable: complete or partial), ``ok``, ``partial``, ``secret``
    (under secret for ``reader``) and ``other`` (the level's other territories: not
    available, undefined, or without any row); levels from the finest, periods in order."""
    access.catalogue.get(ident)
    if reader.restricted:
        access.check_readable(ident, reader)
    masked = reader.value if reader.restricted and access.under_secret(ident, reader) else None
    counts = status_counts(access.warehouse, ident, masked_for=masked)
    if counts.empty:
        return pd.DataFrame(columns=COLUMNS)
    counts["n"] = counts.n.astype(int)
    kind = counts.status.where(counts.status.isin([*_USABLE, "secret"]), "other")
    table = counts.assign(kind=kind).pivot_table(
        index=["level", "period"], columns="kind", values="n", aggfunc="sum", fill_value=0
    )
    table = table.reindex(columns=["ok", "partial", "secret", "other"], fill_value=0)
    table = table.reset_index()
    table.columns.name = None
    table["values"] = table.ok + table.partial
    sizes = level_counts(access.warehouse)
    table["territories"] = table.level.map(sizes).fillna(0).astype(int)
    for level in table.level.unique():
        inside = access.computed_codes(str(level))
        if inside is not None:  # compute limited to a territory: its part of the level
            table.loc[table.level == level, "territories"] = len(inside)
    # every territory of the level without a value counts as not available, stored or not
    table["other"] = np.maximum(table.territories - table["values"] - table.secret, table.other)
    order = {name: rank for rank, name in enumerate(LEVELS)}
    table["rank"] = table.level.map(order).fillna(len(order))
    table = table.sort_values(["rank", "level", "period"]).drop(columns="rank")
    return table[COLUMNS].reset_index(drop=True)
