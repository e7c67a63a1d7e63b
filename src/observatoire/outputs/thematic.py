"""The classes of a thematic map, decided once for every medium (web map, SVG/PNG, portrait):
breaks, colours, legend labels with counts, and the styles of units without a value.

Pure: values in, a :class:`MapClasses` out. A value is classed only when its status is usable
(``ok`` or ``partial``); ``secret`` and the other statuses are counted apart, and so are the
units the map has no contour for.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from observatoire.outputs import palettes
from observatoire.stats.classify import breaks, classify, counts
from observatoire.territories.references import missing_reason
from observatoire.text import french_number

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["USABLE", "MapClasses", "classes_for", "reason_of", "status_style", "usable_values"]

USABLE = ("ok", "partial")
_UNAVAILABLE = ("nd", "ns", "so", "undefined")


@dataclass(frozen=True)
class MapClasses:
    """Classes of a map and how to draw the units that have no classed value."""

    method: str
    palette: str
    bounds: list[float]
    colours: list[str]
    counts: list[int]
    labels: list[str]
    classes: list[int | None]  # the class of each value given, None when not classed
    kinds: list[str]  # per value: class, secret, unavailable or missing
    secret: int = 0
    unavailable: int = 0
    missing: int = 0
    reference: float | None = None
    reference_label: str = ""
    without_contour: list[str] = field(default_factory=list)

    def legend(self) -> list[dict[str, object]]:
        """Legend entries, classes first then the styles of units without a value (only
        those that occur)."""
        entries: list[dict[str, object]] = [
            {"label": label, "colour": colour, "count": count, "kind": "class"}
            for label, colour, count in zip(self.labels, self.colours, self.counts, strict=True)
        ]
        for kind, count in (
            ("secret", self.secret),
            ("unavailable", self.unavailable),
            ("missing", self.missing),
        ):
            if count:
                style = status_style(kind)
                entries.append({**style, "count": count, "kind": kind})
        return entries


def status_style(kind: str) -> dict[str, str]:
    """Fill, hatch and label of units without a classed value."""
    return {
        "secret": {"colour": palettes.SECRET, "hatch": "///", "label": "secret statistique"},
        "unavailable": {"colour": palettes.UNAVAILABLE, "hatch": "", "label": "non disponible"},
        "missing": {"colour": palettes.NO_DATA, "hatch": "", "label": "pas de donnée"},
    }[kind]


def classes_for(
    values: Sequence[float | None] | np.ndarray,
    statuses: Sequence[str],
    *,
    method: str = "quantiles",
    k: int = 5,
    polarity: str = "neutral",
    palette: str = "sequentielle",
    reference: float | None = None,
    reference_label: str = "",
    manual: Sequence[float] | None = None,
    unit: str = "",
) -> MapClasses:
    """Classes of ``values`` (one per unit, with its ``statuses``).

    >>> c = classes_for([1, 2, 3, 4, None], ["ok"] * 4 + ["secret"], method="equal", k=2)
    >>> c.bounds, c.counts, c.classes, c.secret, c.labels
    ([2.5, 4.0], [2, 2], [0, 0, 1, 1, None], 1, ['1 à 2,5', '2,5 à 4'])
    """
    raw = np.array([np.nan if v is None else float(v) for v in values], dtype=float)
    kinds = [_kind(s) for s in statuses]
    data = np.where([k_ == "class" for k_ in kinds], raw, np.nan)
    data = np.where(np.isnan(raw), np.nan, data)
    bounds = breaks(data, method, k, reference=reference, manual=manual)
    present = data[~np.isnan(data)]
    lowest = float(present.min()) if present.size else None
    found: list[int | None] = classify(data, bounds) if bounds else [None] * len(data)
    missing_value = [c is None for c in found]
    unit_kinds = [
        "class" if c is not None else ("missing" if k_ == "class" else k_)
        for c, k_ in zip(found, kinds, strict=True)
    ]
    return MapClasses(
        method=method,
        palette=palette,
        bounds=bounds,
        colours=palettes.colours(
            bounds, polarity=polarity, palette=palette, reference=reference, lowest=lowest
        )
        if bounds
        else [],
        counts=counts(data, bounds) if bounds else [],
        labels=_labels(bounds, lowest, unit),
        classes=found,
        kinds=unit_kinds,
        secret=sum(1 for k_, m in zip(kinds, missing_value, strict=True) if m and k_ == "secret"),
        unavailable=sum(
            1 for k_, m in zip(kinds, missing_value, strict=True) if m and k_ == "unavailable"
        ),
        missing=sum(
            1
            for k_, m in zip(kinds, missing_value, strict=True)
            if m and k_ not in ("secret", "unavailable")
        ),
        reference=reference,
        reference_label=reference_label,
    )


def _kind(status: str) -> str:
    if status in USABLE:
        return "class"
    if status == "secret":
        return "secret"
    return "unavailable" if status in _UNAVAILABLE else "missing"


def _labels(bounds: Sequence[float], lowest: float | None, unit: str) -> list[str]:
    """« 12,3 à 15 » for each class (the first starting at the smallest value)."""
    suffix = f"\u202f{unit}" if unit in ("%", "‰", "€") else ""
    labels = []
    previous = lowest
    for i, upper in enumerate(bounds):
        if previous is None or (i == 0 and previous > upper):
            labels.append(f"≤ {french_number(upper)}{suffix}")
        else:
            labels.append(f"{french_number(previous)} à {french_number(upper)}{suffix}")
        previous = upper
    return labels


def usable_values(profile: pd.DataFrame | None, ident: str) -> dict[str, float]:
    """period → value of the usable values of indicator ``ident`` in a territory's profile
    (a value masked for the audience, NaN, is no value)."""
    if profile is None:
        return {}
    rows = profile[(profile.indicator == ident) & profile.status.isin(USABLE)]
    rows = rows[rows.value.notna()]
    return {str(p): float(v) for p, v in zip(rows.period, rows.value, strict=True)}


def reason_of(profile: pd.DataFrame | None, ident: str, period: str) -> str:
    """Why a territory's profile has no usable value of ``ident`` at ``period``, in words
    (see :func:`observatoire.territories.references.missing_reason`)."""
    if profile is None:
        return missing_reason({}, period)
    rows = profile[profile.indicator == ident]
    periods = [str(p) for p in rows.period]
    notes = {p: str(n) for p, n in zip(periods, rows.note, strict=True) if isinstance(n, str)}
    return missing_reason(dict(zip(periods, rows.status.astype(str), strict=True)), period, notes)
