"""The funnel plot of an indicator: every territory of a level (inside a territory) placed by
the size of its denominator against a reference's value, with the exact control limits of
:mod:`observatoire.stats.funnel` — is a small commune really worse, or just small?

Only a rate with true counts has a funnel: an indicator whose confidence interval is
``wilson`` (a proportion: binomial law) or ``poisson`` (events per population). A value is
placed when the reader may see it and its counts are those of the value shown — a partial one
too, marked (its counts cover part of the territory); every other territory is listed with
the reason it is not placed. The counts shown are no more than the value's confidence
interval already tells the reader.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from observatoire.catalog.indicators import Indicator, Polarity
from observatoire.engine.access import ReadAccess
from observatoire.engine.counts import with_counts
from observatoire.engine.reading import read_indicator
from observatoire.errors import InputError
from observatoire.secret.policy import ANALYST, ReadPolicy
from observatoire.stats.funnel import BANDS, Law, bounds, curve, position
from observatoire.store.territories import territory_name
from observatoire.text import french_number

__all__ = ["POOLED", "Funnel", "funnel", "has_funnel"]

POOLED = (
    "ensemble"  # the reference: the territories plotted, pooled (Σ numerators / Σ denominators)
)
LAW_OF_CI: dict[str, Law] = {"wilson": "binomial", "poisson": "poisson"}
USABLE = ("ok", "partial")
_WORDS = {  # position → (higher is better, lower is better, neutral)
    2: ("plus favorable (99,8 %)", "moins favorable (99,8 %)", "plus élevé (99,8 %)"),
    1: ("plus favorable (95 %)", "moins favorable (95 %)", "plus élevé (95 %)"),
    0: ("dans les limites", "dans les limites", "dans les limites"),
    -1: ("moins favorable (95 %)", "plus favorable (95 %)", "moins élevé (95 %)"),
    -2: ("moins favorable (99,8 %)", "plus favorable (99,8 %)", "moins élevé (99,8 %)"),
}


@dataclass(frozen=True)
class Funnel:
    """A funnel plot: the ``points`` placed (code, name, value, numerator, denominator, the
    limits at their denominator ``low_95``…, ``position`` -2…2, ``assessment``), the
    ``limits`` drawn (n, low_95, high_95, low_99_8, high_99_8), the territories ``left_out``
    (code, name, status, reason) and the ``target`` they are set against."""

    indicator: Indicator
    level: str
    within: tuple[str, str] | None
    period: str
    law: Law
    target: float
    reference: dict[str, str]
    points: pd.DataFrame
    limits: pd.DataFrame
    left_out: pd.DataFrame
    notes: list[str] = field(default_factory=list)

    @property
    def outliers(self) -> pd.DataFrame:
        """The points outside the 95 % limits, farthest first."""
        out = self.points[self.points.position != 0]
        order = np.lexsort((-out.denominator.to_numpy(), -out.position.abs().to_numpy()))
        return out.iloc[order]


def has_funnel(indicator: Indicator) -> bool:
    """Whether ``indicator`` is a rate on counts, with control limits."""
    return indicator.ci in LAW_OF_CI and bool(indicator.formula.denominator)


def _column(band: str, side: str) -> str:
    return f"{side}_{band.replace('.', '_')}"


def funnel(
    access: ReadAccess,
    ident: str,
    level: str,
    *,
    within: tuple[str, str] | None = None,
    period: str | None = None,
    reference: tuple[str, str] | str | None = None,
    reader: ReadPolicy = ANALYST,
) -> Funnel:
    """The funnel plot of ``ident`` for the territories of ``level`` inside ``within`` at
    ``period`` (by default the latest one with values), against ``reference``: a territory
    (``(level, code)``), :data:`POOLED` or, by default, ``within`` itself (France without it).
    """
    indicator = access.catalogue.get(ident)
    if not has_funnel(indicator):
        raise InputError(
            f"entonnoir de {ident} : seul un taux calculé sur des effectifs (intervalle de "
            "confiance wilson ou poisson dans le catalogue) a des limites de contrôle ; "
            f"« {indicator.label} » n'en a pas"
        )
    law = LAW_OF_CI[indicator.ci]
    shown = read_indicator(access, ident, level, within=within, reader=reader)
    period = period or _latest(shown, ident, level)
    shown = shown[shown.period == period]
    if shown.empty:
        raise InputError(f"entonnoir de {ident} : aucune valeur au niveau {level} en {period}")
    merged = with_counts(access, ident, level, within, period, shown, reader)
    placed, left_out = _split(merged)
    scale = indicator.formula.multiplier
    if reference == POOLED:
        if placed.empty:
            raise InputError(f"entonnoir de {ident} : aucun territoire placé en {period}")
        target = float(placed.numerator.sum() / placed.denominator.sum()) * scale
        ref = {"level": "", "code": POOLED, "name": "Ensemble des territoires placés"}
    else:
        where = reference if isinstance(reference, tuple) else (within or ("pays", "FR"))
        target, ref = _reference_value(access, ident, where, period, reader)
    if law == "binomial" and not 0 <= target / scale <= 1:
        raise InputError(f"entonnoir de {ident} : la référence {target} n'est pas une proportion")
    at = bounds(placed.denominator.to_numpy(dtype=float), target / scale, law)
    points = placed[["code", "name", "value", "numerator", "denominator"]].copy()
    points["partial"] = (placed.status == "partial").to_numpy()
    for name, _, _ in BANDS:
        for side in ("low", "high"):
            points[_column(name, side)] = at[f"{name}_{side}"] * scale
    points["position"] = position(points.value.to_numpy(dtype=float) / scale, at)
    column = {Polarity.HIGHER_IS_BETTER: 0, Polarity.LOWER_IS_BETTER: 1}.get(indicator.polarity, 2)
    points["assessment"] = [_WORDS[int(p)][column] for p in points.position]
    drawn = _drawn(points, target / scale, law, scale)
    notes = [
        f"Limites exactes de la loi {'binomiale' if law == 'binomial' else 'de Poisson'} "
        "autour de la référence (Spiegelhalter, 2005), à 95 % et 99,8 %.",
    ]
    partial = int(points.partial.sum())
    if partial:
        notes.append(f"{partial} valeur(s) partielle(s) placée(s) (cercles creux) : leurs "
                     "effectifs ne couvrent pas tout le territoire (des membres sans "
                     "donnée).")  # fmt: skip
    outside = float((points.position != 0).mean()) if len(points) else 0.0
    if len(points) >= 20 and outside > 0.10:  # 5 % expected by chance alone
        notes.append(
            f"{french_number(outside * 100, 0)} % des territoires hors des limites à 95 % "
            "(5 % attendus par le seul hasard) : les écarts entre territoires dépassent l'aléa "
            "(surdispersion) ; ils reflètent des différences de situation plus que la taille "
            "des territoires."
        )
    if (points.denominator.round() != points.denominator).any():
        notes.append("Effectifs estimés (recensement) : arrondis à l'unité pour les limites.")
    return Funnel(indicator, level, within, period, law, target, ref,
                  points.reset_index(drop=True), drawn, left_out, notes)  # fmt: skip


def _latest(frame: pd.DataFrame, ident: str, level: str) -> str:
    usable = frame[frame.status == "ok"].period.dropna()
    if usable.empty:
        raise InputError(f"entonnoir de {ident} : aucune valeur complète au niveau {level}")
    return str(usable.astype(str).max())


def _split(merged: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The territories placed, and the others with the reason."""
    ok = merged.status.isin(USABLE)  # a partial value is placed with the counts it has
    counted = merged.denominator.gt(0) & merged.numerator.notna()
    placed = ok & counted
    reason = merged.note.where(merged.note.notna(), merged.status).astype(object)
    reason[merged.status == "secret"] = "secret statistique"
    reason[ok & ~counted] = merged.counts_note.where(merged.counts_note.notna(),
                                                     "effectifs inconnus ou nuls")[ok & ~counted]
    left = merged.loc[~placed, ["code", "name", "status"]].assign(reason=reason[~placed])
    return merged[placed], left.reset_index(drop=True)


def _reference_value(access: ReadAccess, ident: str, where: tuple[str, str], period: str,
                     reader: ReadPolicy) -> tuple[float, dict[str, str]]:  # fmt: skip
    level, code = where
    frame = read_indicator(access, ident, level, period=period, reader=reader)
    row = frame[(frame.code == code) & frame.status.isin(USABLE) & frame.value.notna()]
    name = territory_name(access.warehouse, level, code)
    if row.empty:
        raise InputError(
            f"entonnoir de {ident} : la référence {name} ({level}:{code}) n'a pas de valeur "
            f"en {period} ; choisissez une autre référence (ou « {POOLED} »)"
        )
    return float(row.value.iloc[0]), {"level": level, "code": code, "name": name}


def _drawn(points: pd.DataFrame, target: float, law: Law, scale: float) -> pd.DataFrame:
    if points.empty:
        return pd.DataFrame(columns=["n", *(_column(b, s) for b, _, _ in BANDS
                                            for s in ("low", "high"))])  # fmt: skip
    lines = curve(float(points.denominator.min()), float(points.denominator.max()), target, law)
    out = pd.DataFrame({"n": lines["n"]})
    for name, _, _ in BANDS:
        for side in ("low", "high"):
            out[_column(name, side)] = lines[f"{name}_{side}"] * scale
    return out
