"""The social gradient of an indicator: the territories of a level (communes, IRIS) ranked by
a ranking indicator (by default the median standard of living), cut into groups of about equal
population (deciles), the indicator's value in each group, and the slope and relative indices
of inequality with their intervals (:mod:`observatoire.stats.inequality`).

A group's value is the honest aggregate of its territories: for a ratio, the ratio of the
sums of its counts (and the interval of its law: Wilson for a proportion, Poisson for events);
for a value that cannot be summed (a median, a rate published without its counts), the mean
of its territories weighted by their population, with the standard error of that mean. A
count is refused: it says how big a territory is, not how it fares. Values are read as the
reader may see them; a territory without a usable value of either indicator is left out, and
counted in the notes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from observatoire.catalog.indicators import Aggregation, Indicator, Polarity
from observatoire.catalog.intervals import Z95
from observatoire.engine.access import ReadAccess
from observatoire.engine.compute import ratio_interval
from observatoire.engine.counts import with_counts
from observatoire.engine.reading import read_indicator
from observatoire.errors import InputError
from observatoire.secret.policy import ANALYST, ReadPolicy
from observatoire.stats.inequality import Gradient, groups_of, simulated_intervals, slope_indices
from observatoire.store.territories import territory_sizes

__all__ = ["INCOME", "RANKINGS", "SocialGradient", "social_gradient"]

INCOME = "niveau_vie_median"  # the default ranking: Filosofi's median standard of living
# without it, the first of these the territories have: poverty, then the CAF's RSA share
RANKINGS = (INCOME, "taux_pauvrete", "part_allocataires_rsa")
USABLE = ("ok", "partial")
MIN_PER_GROUP = 2


@dataclass(frozen=True)
class SocialGradient:
    """``groups`` (group, territories, population, value, ci_low, ci_high, se, rank_low,
    rank_high: the range of the ranking value), ``members`` (code, name, ranking, value,
    weight, group), the ``fit`` and the intervals of its SII and RII."""

    indicator: Indicator
    ranking: Indicator
    level: str
    within: tuple[str, str] | None
    period: str
    ranking_period: str
    groups: pd.DataFrame
    members: pd.DataFrame
    fit: Gradient
    sii_interval: tuple[float, float]
    rii_interval: tuple[float, float]
    method: str
    notes: list[str] = field(default_factory=list)


def social_gradient(
    access: ReadAccess,
    ident: str,
    level: str,
    *,
    within: tuple[str, str] | None = None,
    by: str | None = None,
    groups: int = 10,
    period: str | None = None,
    reader: ReadPolicy = ANALYST,
) -> SocialGradient:
    """The gradient of ``ident`` over the territories of ``level`` inside ``within`` ranked by
    indicator ``by`` (by default the first of :data:`RANKINGS` they have values of) from the
    least favoured (group 1: the lowest incomes, the highest unemployment…) to the most, in
    ``groups`` groups."""
    catalogue = access.catalogue
    if by is None:
        by = _default_ranking(access, ident, level, within, reader)
    if by == ident:
        raise InputError(f"gradient : {ident} classé selon lui-même ne dit rien de l'inégalité ;"
                         " choisissez un autre indicateur de classement (selon, --by)")  # fmt: skip
    indicator, ranking = catalogue.get(ident), catalogue.get(by)
    for chosen in (indicator, ranking):
        if chosen.aggregation is Aggregation.SUM:
            raise InputError(f"gradient : {chosen.id} est un effectif ; il dit la taille d'un "
                             "territoire, pas sa situation — choisissez un taux, une part ou "
                             "une médiane")  # fmt: skip
    if not 2 <= groups <= 20:
        raise InputError(f"gradient : {groups} groupes ; entre 2 et 20 (10 : déciles)")
    ranks, rank_period = _latest(read_indicator(access, by, level, within=within, reader=reader),
                                 None, by, level)  # fmt: skip
    values, period = _latest(read_indicator(access, ident, level, within=within, reader=reader),
                             period, ident, level)  # fmt: skip
    merged = values.merge(ranks[["code", "value"]].rename(columns={"value": "ranking"}),
                          on="code")  # fmt: skip
    notes = []
    left = sorted(set(values.code) ^ set(ranks.code))
    if left:
        names = dict(zip(values.code, values.name, strict=True)) | dict(
            zip(ranks.code, ranks.name, strict=True))
        shown = ", ".join(str(names.get(c, c)) for c in left[:8]) + (" …" if len(left) > 8 else "")
        notes.append(f"Sans valeur utilisable de l'un des deux indicateurs, laissé(s) de côté "
                     f"({len(left)}) : {shown}.")  # fmt: skip
    counted = _with_counts(access, indicator, level, within, period, merged, reader)
    if counted is not None:
        merged, method = counted, "rapport des sommes des effectifs de chaque groupe"
    else:
        sizes = territory_sizes(access.warehouse, level).set_index("code").population
        merged = merged.assign(weight=merged.code.map(sizes).astype(float))
        merged = merged[merged.weight > 0]
        method = "moyenne des territoires du groupe pondérée par leur population"
    k = min(groups, len(merged) // MIN_PER_GROUP)
    if k < 2:
        raise InputError(f"gradient de {ident} : {len(merged)} territoires ont les deux "
                         f"valeurs au niveau {level} ; il en faut au moins "
                         f"{2 * MIN_PER_GROUP}")  # fmt: skip
    if k < groups:
        notes.append(f"{len(merged)} territoires seulement : {k} groupes au lieu de {groups}.")
    # group 1 the least favoured: the lowest incomes, the highest unemployment
    order = -1.0 if ranking.polarity is Polarity.LOWER_IS_BETTER else 1.0
    merged = merged.assign(group=groups_of(order * merged.ranking.to_numpy(),
                                           merged.weight.to_numpy(), k))  # fmt: skip
    alone = merged.groupby("group").size()
    if (alone == 1).any():
        notes.append(f"{int((alone == 1).sum())} territoire(s) plus peuplé(s) qu'un groupe en "
                     "forme(nt) un à lui seul : son intervalle n'a pas de dispersion entre "
                     "territoires.")  # fmt: skip
    table = _groups(merged, indicator, counted is not None)
    fit = slope_indices(table.value.to_numpy(), table.population.to_numpy())
    sii, rii = simulated_intervals(table.value.to_numpy(), table.se.to_numpy(),
                                   table.population.to_numpy())  # fmt: skip
    members = merged[["code", "name", "ranking", "value", "weight", "group"]]
    return SocialGradient(indicator, ranking, level, within, period, rank_period, table,
                          members.sort_values("ranking").reset_index(drop=True), fit, sii, rii,
                          method, notes)  # fmt: skip


def _default_ranking(access: ReadAccess, shown: str, level: str,
                     within: tuple[str, str] | None, reader: ReadPolicy) -> str:  # fmt: skip
    available = access.available(reader)
    for ident in RANKINGS:
        if ident == shown:  # never the indicator itself
            continue
        if ident in access.catalogue and level in available.get(ident, []):
            frame = read_indicator(access, ident, level, within=within, reader=reader)
            if frame.status.isin(USABLE).sum() >= 2 * MIN_PER_GROUP:
                return ident
    raise InputError(f"gradient : aucun indicateur de classement ({', '.join(RANKINGS)}) "
                     f"n'a de valeurs au niveau {level} ici ; choisissez-en un (selon, "
                     "--by)")  # fmt: skip


def _latest(frame: pd.DataFrame, period: str | None, ident: str,
            level: str) -> tuple[pd.DataFrame, str]:  # fmt: skip
    """The usable values at ``period``, by default the latest one with at least half as
    many values as the best."""
    usable = frame[frame.status.isin(USABLE) & frame.value.notna()]
    counts = usable.period.astype(str).value_counts()
    if period is None:
        if counts.empty:
            raise InputError(f"gradient : {ident} n'a pas de valeur au niveau {level}")
        period = max(p for p, n in counts.items() if n * 2 >= counts.max())
    chosen = usable[usable.period.astype(str) == period]
    if chosen.empty:
        raise InputError(f"gradient : {ident} n'a pas de valeur au niveau {level} en {period}")
    return chosen, str(period)


def _with_counts(access: ReadAccess, indicator: Indicator, level: str,
                 within: tuple[str, str] | None, period: str, merged: pd.DataFrame,
                 reader: ReadPolicy) -> pd.DataFrame | None:  # fmt: skip
    """The territories with the published counts behind their ratio (weight: the
    denominator), when the indicator is a ratio of counts with an interval (the interval
    tells they are the published ones) and every value has them; else None."""
    if not indicator.formula.denominator or indicator.ci not in ("wilson", "poisson"):
        return None
    out = with_counts(access, indicator.id, level, within, period, merged, reader)
    if out.denominator.isna().any() or not (out.denominator > 0).all():
        return None
    return out.drop(columns="counts_note").assign(weight=out.denominator.astype(float))


def _groups(merged: pd.DataFrame, indicator: Indicator, counted: bool) -> pd.DataFrame:
    scale = indicator.formula.multiplier
    rows = []
    for group, part in merged.groupby("group"):
        weight = float(part.weight.sum())
        if counted:
            k, n = float(part.numerator.sum()), float(part.denominator.sum())
            value = k / n * scale
            lows, highs = ratio_interval(indicator, np.array([k]), np.array([n]))
            low, high = float(lows[0]), float(highs[0])
            se = (high - low) / (2 * Z95)
            if not np.isfinite(se):  # a ratio above 1 (per 100 of another group): no law
                se = _spread(part)
        else:
            value = float(np.average(part.value, weights=part.weight))
            se = _spread(part)
            low, high = value - Z95 * se, value + Z95 * se
        rows.append({"group": int(group), "territories": len(part), "population": weight,
                     "value": value, "ci_low": low, "ci_high": high, "se": se,
                     "rank_low": float(part.ranking.min()),
                     "rank_high": float(part.ranking.max())})  # fmt: skip
    return pd.DataFrame(rows)


def _spread(part: pd.DataFrame) -> float:
    """The standard error of the weighted mean of the group's territories (their weighted
    standard deviation over the square root of their number)."""
    if len(part) < 2:
        return 0.0
    mean = np.average(part.value, weights=part.weight)
    variance = np.average((part.value - mean) ** 2, weights=part.weight)
    return float(np.sqrt(variance / len(part)))
