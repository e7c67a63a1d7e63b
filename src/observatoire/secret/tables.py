"""A table of cells bound by additive relations: what suppression and attack work on.

Cells are numbered 0…n−1 and hold their true values (counts, never negative). Each relation
(equation) says that a total equals the weighted sum of its parts, up to a known residual
(producers' own totals may differ slightly from the sum of their parts): stored as terms
``(equation, cell, coefficient)``, the total with coefficient +1 and each part with −weight.
An attacker is assumed to know every relation exactly, residual included.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["CellTable"]


@dataclass(frozen=True)
class CellTable:
    values: np.ndarray  # true value of each cell
    published: np.ndarray  # bool: shown to the audience unless suppressed
    equation: np.ndarray  # per term: its equation
    cell: np.ndarray  # per term: its cell
    coef: np.ndarray  # per term: its coefficient

    @classmethod
    def build(cls, values: np.ndarray, published: np.ndarray, terms: pd.DataFrame) -> CellTable:
        """From ``terms`` with columns equation, cell, coef."""
        return cls(
            np.asarray(values, dtype=float),
            np.asarray(published, dtype=bool),
            terms.equation.to_numpy(dtype=np.int64),
            terms.cell.to_numpy(dtype=np.int64),
            terms.coef.to_numpy(dtype=float),
        )

    @property
    def size(self) -> int:
        return len(self.values)

    @property
    def equations(self) -> int:
        return int(self.equation.max()) + 1 if len(self.equation) else 0

    def terms(self) -> pd.DataFrame:
        frame = pd.DataFrame({"equation": self.equation, "cell": self.cell, "coef": self.coef})
        frame["mass"] = np.abs(frame.coef.to_numpy()) * self.values[frame.cell.to_numpy()]
        return frame
