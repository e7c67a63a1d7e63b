"""Social gradients: an indicator by groups of territories ranked from the poorest to the
richest, summed up by the slope and relative indices of inequality (Low & Low, « Measuring the
gap: quantifying and comparing local health inequalities », *Journal of Public Health* 26,
2004; the method of Fingertips' ``PHEindicatormethods::phe_sii``).

- **Groups**: territories sorted by a ranking value (median standard of living), cut into
  ``k`` groups of about equal population (deciles: k = 10), group 1 the poorest.
- **Relative rank** of a group: the midpoint of its range in the cumulative distribution of
  the population (0 = the poorest end, 1 = the richest).
- **Slope index (SII)**: the slope of the weighted least-squares line of the groups' values
  on their relative rank (weights: the groups' shares of the population), i.e. the fitted
  value at the richest end minus the one at the poorest, in the indicator's unit.
- **Relative index (RII)**: the fitted value at the richest end over the one at the poorest,
  ``(Y0 + SII) / Y0``.
- **Intervals**: simulated, as Fingertips does — each group's value drawn from a normal law of
  its standard error, the line refitted each time, the 2.5 and 97.5 percentiles kept.

Pure and vectorised: no database, no pandas.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Gradient", "groups_of", "relative_ranks", "simulated_intervals", "slope_indices"]

Array = np.ndarray


def groups_of(ranking: Array, weights: Array, k: int = 10) -> Array:
    """The group (1 … ``k``) of each territory: sorted by ``ranking`` (lowest first), cut
    where the cumulative ``weights`` (populations) cross each k-th of the total; a
    territory belongs to the group its population's midpoint falls in.

    >>> groups_of(np.array([3.0, 1.0, 2.0, 4.0]), np.array([1.0, 1.0, 1.0, 1.0]), k=2).tolist()
    [2, 1, 1, 2]
    """
    ranking, weights = np.asarray(ranking, float), np.asarray(weights, float)
    if k < 2:
        raise ValueError("k: at least two groups")
    order = np.argsort(ranking, kind="stable")
    cumulative = np.cumsum(weights[order])
    total = cumulative[-1] if len(cumulative) else 0.0
    if total <= 0:
        raise ValueError("weights: a positive total is needed")
    midpoints = (cumulative - weights[order] / 2) / total
    groups: Array = np.empty(len(ranking), dtype=int)
    groups[order] = np.minimum((midpoints * k).astype(int) + 1, k)
    return groups


def relative_ranks(population: Array) -> Array:
    """The midpoint of each group's range in the cumulative share of the population
    (groups in order, the poorest first).

    >>> relative_ranks(np.array([12.0, 10.0, 78.0])).round(2).tolist()
    [0.06, 0.17, 0.61]
    """
    population = np.asarray(population, float)
    share = population / population.sum()
    ranks: Array = np.cumsum(share) - share / 2
    return ranks


@dataclass(frozen=True)
class Gradient:
    """The fitted line: its value at the poorest end (``intercept``, Y0), the slope index
    ``sii`` and the relative index ``rii``."""

    intercept: float
    sii: float
    rii: float


def slope_indices(values: Array, population: Array) -> Gradient:
    """The SII and RII of the groups' ``values`` (the poorest group first) weighted by their
    ``population``: the least-squares fit of ``Y·√a = Y0·√a + SII·x·√a`` (a the group's share,
    x its relative rank)."""
    values, population = np.asarray(values, float), np.asarray(population, float)
    if len(values) < 2:
        raise ValueError("at least two groups are needed")
    x = relative_ranks(population)
    root = np.sqrt(population / population.sum())
    design = np.column_stack([root, x * root])
    (intercept, slope), *_ = np.linalg.lstsq(design, values * root, rcond=None)
    rii = (intercept + slope) / intercept if intercept != 0 else float("nan")
    return Gradient(float(intercept), float(slope), float(rii))


def simulated_intervals(
    values: Array,
    errors: Array,
    population: Array,
    *,
    repetitions: int = 10_000,
    confidence: float = 0.95,
    seed: int = 2004,
) -> tuple[tuple[float, float], tuple[float, float]]:
    """The ``confidence`` intervals of the SII and the RII: each group's value drawn
    ``repetitions`` times from a normal law of standard error ``errors``, the line refitted
    each time (vectorised); a fixed ``seed`` gives the same interval each time."""
    values, errors = np.asarray(values, float), np.asarray(errors, float)
    population = np.asarray(population, float)
    rng = np.random.default_rng(seed)
    draws = values + rng.standard_normal((repetitions, len(values))) * errors
    x = relative_ranks(population)
    root = np.sqrt(population / population.sum())
    design = np.column_stack([root, x * root])
    solved, *_ = np.linalg.lstsq(design, (draws * root).T, rcond=None)
    intercepts, slopes = solved
    with np.errstate(divide="ignore", invalid="ignore"):
        riis = (intercepts + slopes) / intercepts
    tail = (1 - confidence) / 2 * 100
    sii = np.percentile(slopes, [tail, 100 - tail])
    rii = np.nanpercentile(riis, [tail, 100 - tail])
    return (float(sii[0]), float(sii[1])), (float(rii[0]), float(rii[1]))
