"""The counts behind the ratios a reader sees: the numerator and denominator of each value shown,
for the views that place or group values by their counts (funnel plots, social gradients).

The counts are computed now (:func:`~observatoire.engine.compute.compute_indicator`); they are
given for a value only when they are *the published ones*: the value and its confidence
interval computed from them equal those stored and shown. Between an import and ``compute``
the data may have moved while the stored values and their secret masks have not: a count of
the new edition is never shown then, nor is it said which territories moved (a reader not
entitled to the raw data only learns that the counts are not available).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from observatoire.engine.access import ReadAccess
from observatoire.engine.compute import compute_indicator
from observatoire.secret.policy import ReadPolicy

__all__ = ["UNPUBLISHED", "with_counts"]

UNPUBLISHED = "effectifs non disponibles (valeurs en cours de recalcul)"
_COLUMNS = ("value", "ci_low", "ci_high")


def with_counts(access: ReadAccess, ident: str, level: str, within: tuple[str, str] | None,
                period: str, shown: pd.DataFrame, reader: ReadPolicy) -> pd.DataFrame:  # fmt: skip
    """``shown`` (the reader's rows: code, value, ci_low, ci_high…) with ``numerator`` and
    ``denominator`` where they are the published counts of the value shown (NaN elsewhere),
    and ``counts_note``: why they are missing (for the analyst, that the stored value differs
    from the data; for another reader, only that they are not available)."""
    live = compute_indicator(access.warehouse, access.catalogue, ident, level=level,
                             within=within, period=period, counts=True,
                             complete=False)  # fmt: skip
    live = live[["code", *_COLUMNS, "numerator", "denominator"]].rename(
        columns={c: f"live_{c}" for c in _COLUMNS}
    )
    out = shown.merge(live, on="code", how="left")
    same = pd.Series(True, index=out.index)
    for column in _COLUMNS:
        mine, theirs = out[column].astype(float), out[f"live_{column}"].astype(float)
        close = (mine - theirs).abs() <= 1e-9 * np.maximum(1.0, mine.abs())
        same &= close | (mine.isna() & theirs.isna())
    counted = out.denominator.notna() & out.value.notna()
    moved = counted & ~same
    # no count where the reader sees no value (masked, missing): counts are never more than
    # the value shown tells
    out.loc[moved | out.value.isna(), ["numerator", "denominator"]] = np.nan
    out["counts_note"] = None
    out.loc[moved, "counts_note"] = (
        "valeur stockée différente des données actuelles (relancez compute)"
        if not reader.restricted else UNPUBLISHED
    )
    return out.drop(columns=[f"live_{c}" for c in _COLUMNS])
