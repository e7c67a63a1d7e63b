"""Indicators drawn from operators' records carry the completeness of the records behind them.

After an indicator fed by a collection's measures is computed for a level, each value gets the
share (%) of the records of its territory and year whose fields the measures need were filled
(the lowest over its measures). Below the collection's threshold, the value is *flagged* (kept,
with a note) or *withheld* (no value, status ``nd``), as the collection's schema says.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from observatoire.catalog.indicators import Catalogue
from observatoire.quality.schema import RECORDS_VARIABLE
from observatoire.store.base import Transaction
from observatoire.store.records import measure_completeness

__all__ = ["RecordsPolicy", "annotate_completeness"]


@dataclass(frozen=True)
class RecordsPolicy:
    """What a collection asks of the values published from its records."""

    threshold: float  # %
    withhold: bool


def _note(completeness: float, threshold: float, withheld: bool) -> str:
    what = "valeur retenue" if withheld else "à interpréter avec prudence"
    return (
        f"complétude des enregistrements {completeness:.0f} % (seuil {threshold:.0f} %) : {what}"
    ).replace(".", ",")


def annotate_completeness(
    tx: Transaction,
    catalogue: Catalogue,
    indicators: Sequence[str],
    level: str,
    policies: Mapping[str, RecordsPolicy],
) -> int:
    """Set the completeness of the stored values of ``indicators`` at ``level`` that come from
    records, and apply each collection's policy; returns the number of values below it."""
    below = 0
    cache: dict[str, pd.DataFrame] = {}
    for ident in indicators:
        measures: dict[str, list[str]] = {}
        for variable in catalogue.variables_of(ident):
            source, _, measure = variable.partition(".")
            if source in policies and measure != RECORDS_VARIABLE:
                measures.setdefault(source, []).append(measure)
        used = [
            s for s in {v.partition(".")[0] for v in catalogue.variables_of(ident)} if s in policies
        ]
        if not used:
            continue
        rows = tx.query(
            "SELECT * FROM indicator_value WHERE indicator = ? AND level = ?", [ident, level]
        )
        if rows.empty:
            continue
        completeness = pd.Series(100.0, index=rows.index)
        for source, names in measures.items():
            if source not in cache:
                cache[source] = measure_completeness(tx, source, level)
            table = cache[source][cache[source].measure.isin(names)]
            lowest = table.groupby(["code", "period"]).completeness.min()
            key = pd.MultiIndex.from_frame(rows[["code", "period"]].astype(str))
            found = lowest.reindex(key).to_numpy()
            completeness = completeness.where(np.isnan(found), np.minimum(completeness, found))
        rows["completeness"] = completeness.round(2)
        rows.loc[rows.value.isna() & (rows.status != "ok"), "completeness"] = np.nan
        threshold = max(policies[s].threshold for s in used)
        low = (rows.completeness < threshold).to_numpy() & rows.value.notna().to_numpy()
        below += int(low.sum())
        withhold = any(policies[s].withhold for s in used)
        if low.any():
            notes = [_note(c, threshold, withhold) for c in rows.completeness[low]]
            rows.loc[low, "note"] = notes
            if withhold:
                rows.loc[low, ["value", "ci_low", "ci_high"]] = np.nan
                rows.loc[low, "status"] = "nd"
        tx.execute("DELETE FROM indicator_value WHERE indicator = ? AND level = ?", [ident, level])
        tx.insert("indicator_value", rows, checked=True)
    return below
