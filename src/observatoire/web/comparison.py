"""A territory's figures beside its references' for the web pages: at the latest period they
share, from a reference's stand-in (France métropolitaine) when it has no value, with the reason
in words where a value is missing (see :mod:`observatoire.territories.references`)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from observatoire.observatory import Observatory
from observatoire.outputs.thematic import USABLE, reason_of, usable_values
from observatoire.secret.policy import ReadPolicy
from observatoire.territories.references import compared_period, pick_reference
from observatoire.web.frames import records

__all__ = ["Column", "by_indicator", "compared_rows"]


Column = tuple[dict[str, Any], dict[str, pd.DataFrame], dict[str, pd.DataFrame]]


def by_indicator(
    obs: Observatory, territory: dict[str, Any] | None, reader: ReadPolicy
) -> dict[str, pd.DataFrame]:
    """A territory's profile split by indicator (period, value, status, note each)."""
    if territory is None:
        return {}
    rows = obs.profile(f"{territory['level']}:{territory['code']}", reader=reader)
    return {str(i): g for i, g in rows.groupby("indicator")}


def compared_rows(profile: pd.DataFrame, columns: list[Column]) -> list[dict[str, Any]]:
    """One row per indicator of ``profile``: its value at the latest period it shares with
    the most of its references (its latest otherwise), each reference's value then (its
    stand-in's, named, when it has none) or the reason it has none, and the territory's
    more recent value when there is one."""
    out = []
    for ident, rows in profile.sort_values("period").groupby("indicator", sort=False):
        mine = usable_values(rows, str(ident))
        known = [
            (usable_values(ref.get(ident), str(ident)), usable_values(stand.get(ident), str(ident)))
            for _, ref, stand in columns
        ]
        period = compared_period(mine, [{*a, *b} for a, b in known])
        chosen = rows[rows.period.astype(str) == period] if period else rows.tail(1)
        row = records(chosen.tail(1))[0]
        compared = []
        for (ref, by_ident, _), (values, stand_values) in zip(columns, known, strict=True):
            got = pick_reference(ref, values, stand_values, str(row["period"]))
            statuses = by_ident.get(ident)
            status = "ok" if got.value is not None else None
            reason = ""
            if got.value is None:
                found = None if statuses is None else statuses[statuses.period == row["period"]]
                status = None if found is None or found.empty else str(found.status.iloc[0])
                reason = reason_of(statuses, str(ident), str(row["period"]))
            elif not got.stand_in and statuses is not None:
                at = statuses[statuses.period == row["period"]]
                status = str(at.status.iloc[0]) if len(at) else status
            name = got.name if got.stand_in else None
            compared.append(
                {"code": ref["code"], "value": got.value, "status": status, "name": name,
                 "reason": reason}
            )  # fmt: skip
        last = rows[rows.status.isin(USABLE)].tail(1)
        newer = None
        if len(last) and period and str(last.period.iloc[0]) > period:
            newer = {"period": str(last.period.iloc[0]), "value": float(last.value.iloc[0])}
        out.append({**row, "references": compared, "newer": newer})
    return out
