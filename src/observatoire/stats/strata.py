"""Size strata: communes compared with the communes of the same population class.

The classes are those INSEE uses to describe communes by size.

>>> stratum(180), stratum(4_999), stratum(5_000), stratum(2_150_000)
('moins de 200 hab.', '2 000 à 4 999 hab.', '5 000 à 9 999 hab.', '100 000 hab. ou plus')
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["BOUNDS", "strata", "stratum"]

BOUNDS = (200, 500, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000)
_LABELS = (
    "moins de 200 hab.",
    "200 à 499 hab.",
    "500 à 1 999 hab.",
    "2 000 à 4 999 hab.",
    "5 000 à 9 999 hab.",
    "10 000 à 19 999 hab.",
    "20 000 à 49 999 hab.",
    "50 000 à 99 999 hab.",
    "100 000 hab. ou plus",
)


def stratum(population: float) -> str:
    return _LABELS[int(np.searchsorted(BOUNDS, population, side="right"))]


def strata(population: pd.Series) -> pd.Series:
    """The size class of each territory (None where the population is unknown)."""
    known = population.notna()
    out = pd.Series(None, index=population.index, dtype=object)
    positions = np.searchsorted(BOUNDS, population[known].to_numpy(), side="right")
    out[known] = np.asarray(_LABELS, dtype=object)[positions]
    return out
