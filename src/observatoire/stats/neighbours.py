"""Statistical neighbours: for each territory, the k territories most like it on a set of
context indicators.

Each indicator is standardised over the territories compared (z-score: minus the mean, over
the standard deviation), so that a population in thousands and a share in percent weigh the
same; similarity is the Euclidean distance between standardised profiles. Strongly skewed
counts (population) are compared on their logarithm. A territory lacking one of the context
values has no neighbours (and is nobody's neighbour): it is reported, not imputed.

>>> import pandas as pd
>>> context = pd.DataFrame({"population": [1000, 1100, 50000, 52000, 990],
...                         "part_jeunes": [20.0, 21.0, 30.0, 29.0, 25.0]},
...                        index=["a", "b", "c", "d", "e"])
>>> found = nearest(context, k=1, log=["population"])
>>> found.set_index("code").neighbour.to_dict()
{'a': 'b', 'b': 'a', 'c': 'd', 'd': 'c', 'e': 'b'}
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from observatoire.errors import InputError

__all__ = ["DEFAULT_CONTEXT", "nearest", "standardise"]

# Context of a territory, by default: size, age, households, employment, income support.
DEFAULT_CONTEXT = (
    "population",
    "part_0_19_ans",
    "part_65_ans_plus",
    "part_familles_monoparentales",
    "part_cadres",
    "part_ouvriers",
    "taux_chomage_15_64",
)


def standardise(context: pd.DataFrame, *, log: Iterable[str] = ()) -> pd.DataFrame:
    """Z-scores of each column (``log`` columns first taken as log(1 + x)); a constant column
    counts for nothing (0 everywhere)."""
    frame = context.astype(float).copy()
    for column in log:
        if column in frame:
            frame[column] = np.log1p(frame[column].clip(lower=0))
    spread = frame.std(ddof=0).replace(0, np.nan)
    return ((frame - frame.mean()) / spread).fillna(0.0)


def nearest(context: pd.DataFrame, *, k: int = 5, log: Iterable[str] = ()) -> pd.DataFrame:
    """For each territory (index) with every context value: its ``k`` nearest others,
    columns code, rank (1 = nearest), neighbour, distance."""
    if k < 1:
        raise InputError(f"nombre de voisins {k} : au moins 1")
    complete = context.dropna()
    if len(complete) < 2:
        return pd.DataFrame(columns=["code", "rank", "neighbour", "distance"])
    points = standardise(complete, log=log).to_numpy()
    wanted = min(k, len(complete) - 1)
    distances, found = cKDTree(points).query(points, k=wanted + 1)
    distances, found = distances.reshape(len(points), -1), found.reshape(len(points), -1)
    codes = complete.index.to_numpy()
    rows = []
    for i, code in enumerate(codes):
        others = [(d, j) for d, j in zip(distances[i], found[i], strict=True) if j != i]
        for rank, (distance, j) in enumerate(others[:wanted], 1):
            rows.append((code, rank, codes[j], float(distance)))
    return pd.DataFrame(rows, columns=["code", "rank", "neighbour", "distance"])
