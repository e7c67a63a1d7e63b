"""Points de vigilance beside the values a page shows: for an analyst every open flag of the
data-quality review, for anyone else only those an analyst confirmed (a real anomaly)."""

from __future__ import annotations

from typing import Any

from observatoire.outputs.portrait import Portrait
from observatoire.secret.policy import ReadPolicy
from observatoire.services.quality import QualityReview

__all__ = ["mark_portrait", "vigilance_of"]


def vigilance_of(quality: QualityReview, indicator: str, data: dict[str, Any],
                 reader: ReadPolicy) -> dict[str, Any]:  # fmt: skip
    """The flags on the values of ``data`` (an indicator page's: its level, period and
    rows) that ``reader`` is shown: ``cells`` (code → messages of the page's period) and
    ``level`` (messages about the whole level)."""
    level, period = data.get("level"), data.get("period")
    if not level:
        return {"cells": {}, "level": []}
    codes = [str(r["code"]) for r in data.get("values", [])]
    found = quality.vigilance(indicator, str(level), None, reader)
    cells: dict[str, list[str]] = {}
    shown = set(codes)
    for row in found.itertuples(index=False):
        if row.code in shown and (row.period == period or not row.period):
            cells.setdefault(str(row.code), []).append(str(row.message))
    whole = [str(r.message) for r in found.itertuples(index=False)
             if r.code == "*" and (r.period == period or not r.period)]  # fmt: skip
    return {"cells": cells, "level": whole}


def mark_portrait(portrait: Portrait, quality: QualityReview, reader: ReadPolicy) -> None:
    """Set on each figure of ``portrait`` the point de vigilance ``reader`` is shown on its
    value (the territory's, of the figure's period)."""
    level, code = str(portrait.territory["level"]), str(portrait.territory["code"])
    for _, figure in portrait.figures():
        found = quality.vigilance(figure.indicator, level, [code, "*"], reader)
        found = found[(found.period == figure.period) | (found.period == "")]
        if len(found):
            figure.vigilance = " ; ".join(found.message.astype(str))
