"""Primary and secondary suppression.

A masked cell is protected when the published cells and the relations between them (a total is
the weighted sum of its parts) leave it free to move by the protection level up and down (to 0
at most): that is, when there is a **perturbation** of the masked cells, zero on every published
cell, that keeps every relation true and moves the cell by that much without making any count
negative. Secondary suppression masks the cells such perturbations need:

1. **Primary**: a published count strictly between 0 and the threshold is masked.
2. **Twins**: cells in exactly the same relations with the same coefficients (the communes of
   one EPCI and one département, the IRIS of one commune) can trade value with no published
   total changing. A primary cell whose masked twins weigh at least the protection level is
   protected; the lightest twin that suffices is masked. Most cells are settled here, without
   solving anything.
3. **Perturbations**: for every other primary cell, two small linear programmes over its
   neighbourhood in the relations (a few relations away, further if needed) find the cheapest
   perturbation up and down, preferring cells already masked; the published cells it moves are
   masked. Masking more never narrows an interval, so each cell stays protected while others
   are processed.

The attack of :mod:`.attack` (linear programming over the whole table) checks the result in the
tests.

>>> import pandas as pd
>>> # a total of 30 = 3 + 12 + 15: masking 3 alone would give it away (30 − 12 − 15)
>>> terms = pd.DataFrame({"equation": [0, 0, 0, 0], "cell": [0, 1, 2, 3],
...                       "coef": [1.0, -1.0, -1.0, -1.0]})
>>> table = CellTable.build([30, 3, 12, 15], [True] * 4, terms)
>>> pattern = suppress(table, threshold=5, protection=5)
>>> pattern.primary.nonzero()[0].tolist(), pattern.secondary.nonzero()[0].tolist()
([1], [2])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.optimize import linprog

from observatoire.secret.tables import CellTable

__all__ = ["Pattern", "suppress"]

_EPSILON = 1e-7
_MASKED_COST = 1e-3  # moving a cell already masked is almost free; a published one costs 1


@dataclass(frozen=True)
class Pattern:
    """Which cells an audience does not see: ``primary`` (too small), ``secondary`` (masked to
    protect a primary one); ``unpublished`` cells were never shown (withheld, not computed).
    ``solved``: primary cells protected by a perturbation programme rather than by twins."""

    primary: np.ndarray
    secondary: np.ndarray
    unpublished: np.ndarray
    solved: int = 0

    @property
    def masked(self) -> np.ndarray:
        return np.asarray(self.primary | self.secondary | self.unpublished, dtype=bool)


def suppress(table: CellTable, *, threshold: int, protection: float | None = None) -> Pattern:
    """The suppression pattern of ``table`` for counts below ``threshold``."""
    level = float(threshold if protection is None else protection)
    values = table.values
    primary = table.published & (values > 0) & (values < threshold)
    masked = ~table.published | primary
    if not primary.any():
        return Pattern(primary, np.zeros_like(primary), ~table.published)
    twins = _twins(table)
    masked = _pair(twins, values, masked, primary, table.published, level)
    rest = np.flatnonzero(primary & ~_covered_by_twins(twins, values, masked, primary, level))
    solved = 0
    if len(rest):
        masked, solved = _perturb(table, masked, rest, level, twins)
    secondary = masked & ~primary & table.published
    return Pattern(primary, secondary, ~table.published, solved)


def _perturb(
    table: CellTable, masked: np.ndarray, cells: np.ndarray, level: float, twins: np.ndarray
) -> tuple[np.ndarray, int]:
    """Mask what the perturbations up and down of ``cells`` move (see the module docstring).

    Cells are taken in batches (those of one largest relation, a département for communes):
    one perturbation moving every cell of a batch at once protects each of them; a batch
    without one is done cell by cell. A cell that the cells masked meanwhile protect as
    twins needs none."""
    masked = masked.copy()
    values = table.values
    hidden = np.bincount(twins, weights=np.where(masked, values, 0.0))
    solved = 0
    for batch in _batches(table, cells):
        batch = batch[hidden[twins[batch]] - values[batch] < level - 1e-9]
        if not len(batch):
            continue
        solved += len(batch)
        for direction in (1.0, -1.0):
            amounts = level if direction > 0 else -np.minimum(values[batch], level)
            groups = [batch] if len(batch) > 1 else []
            moved = _perturbation(table, masked, batch, amounts, (1, 2)) if groups else None
            parts = [moved] if moved is not None else []
            if moved is None:  # cell by cell
                for cell in batch:
                    amount = np.asarray([level if direction > 0 else -min(values[cell], level)])
                    one = _perturbation(table, masked, np.asarray([cell]), amount,
                                        (1, 2, 3, 5, None))  # fmt: skip
                    if one is None:  # no perturbation at all: only masking everything would do
                        raise RuntimeError(f"cell {cell} cannot be protected by suppression")
                    parts.append(one)
            for found in parts:
                new = found[~masked[found]]
                masked[new] = True
                np.add.at(hidden, twins[new], values[new])
    return masked, solved


def _batches(table: CellTable, cells: np.ndarray) -> list[np.ndarray]:
    """``cells`` grouped by the largest relation each is part of."""
    sizes = np.bincount(table.equation)
    terms = pd.DataFrame({"cell": table.cell, "size": sizes[table.equation],
                          "equation": table.equation})  # fmt: skip
    mine = terms[np.isin(terms.cell.to_numpy(), cells)]
    largest = mine.sort_values(["cell", "size"]).drop_duplicates("cell", keep="last")
    return [group.cell.to_numpy() for _, group in largest.groupby("equation", sort=True)]


def _neighbourhood(table: CellTable, cells: np.ndarray, hops: int | None) -> np.ndarray:
    inside = np.zeros(table.size, dtype=bool)
    if hops is None:
        inside[:] = True
        return inside
    inside[cells] = True
    for _ in range(hops):
        near = np.isin(table.equation, np.unique(table.equation[inside[table.cell]]))
        inside[table.cell[near]] = True
    return inside


def _perturbation(
    table: CellTable,
    masked: np.ndarray,
    cells: np.ndarray,
    amounts: np.ndarray | float,
    reach: tuple[int | None, ...],
) -> np.ndarray | None:
    """The cells moved by the cheapest perturbation that moves each of ``cells`` by its
    amount, within the first of ``reach`` (relations away) where there is one; None if none."""
    for hops in reach:
        moved = _cheapest_perturbation(table, masked, cells, amounts, hops)
        if moved is not None:
            return moved
    return None


def _cheapest_perturbation(
    table: CellTable,
    masked: np.ndarray,
    cells: np.ndarray,
    amounts: np.ndarray | float,
    hops: int | None,
) -> np.ndarray | None:
    """Cells (published ones to mask) moved by the cheapest perturbation that moves ``cells``
    by ``amounts`` within ``hops`` relations of them; None when there is none there."""
    inside = _neighbourhood(table, cells, hops)
    columns = np.flatnonzero(inside)
    n = len(columns)
    position = np.full(table.size, -1)
    position[columns] = np.arange(n)
    touching = np.unique(table.equation[inside[table.cell]])
    keep = np.isin(table.equation, touching) & inside[table.cell]
    rows = np.searchsorted(touching, table.equation[keep])
    block = sp.csr_matrix(
        (table.coef[keep], (rows, position[table.cell[keep]])), shape=(len(touching), n)
    )
    # d = up − down; cells outside the neighbourhood do not move
    matrix = sp.hstack([block, -block]).tocsr()
    cost = np.where(masked[columns], _MASKED_COST, 1.0)
    upper_up = np.full(n, np.inf)
    upper_down = table.values[columns].copy()  # a count cannot go below zero
    lower = np.zeros(2 * n)
    here = position[cells]
    amount = np.broadcast_to(np.asarray(amounts, dtype=float), here.shape)
    up = amount >= 0
    lower[here[up]] = upper_up[here[up]] = amount[up]
    upper_down[here[up]] = 0.0
    lower[n + here[~up]] = upper_down[here[~up]] = -amount[~up]
    upper_up[here[~up]] = 0.0
    bounds = np.column_stack([lower, np.concatenate([upper_up, upper_down])])
    result = linprog(
        np.concatenate([cost, cost]), A_eq=matrix, b_eq=np.zeros(len(touching)),
        bounds=bounds, method="highs",
    )  # fmt: skip
    if result.status != 0:
        return None
    moved = (result.x[:n] + result.x[n:]) > _EPSILON * max(1.0, float(np.abs(amount).max()))
    return np.asarray(columns[moved])


def _twins(table: CellTable) -> np.ndarray:
    """A group number per cell: cells in the same relations with the same coefficients share
    one (an order-free 64-bit hash of their terms, with their count)."""
    with np.errstate(over="ignore"):
        key = (table.equation.astype(np.uint64) + np.uint64(1)) * np.uint64(0x9E3779B97F4A7C15)
        key ^= np.round(table.coef * 1e6).astype(np.int64).astype(np.uint64) * np.uint64(
            0xBF58476D1CE4E5B9
        )
        key ^= key >> np.uint64(31)
        key *= np.uint64(0x94D049BB133111EB)
    sums = np.zeros(table.size, dtype=np.uint64)
    np.add.at(sums, table.cell, key)
    counts = np.bincount(table.cell, minlength=table.size)
    codes, _ = pd.factorize(pd.MultiIndex.from_arrays([sums, counts]))
    return np.asarray(codes)


def _twin_margin(
    twins: np.ndarray, values: np.ndarray, masked: np.ndarray, primary: np.ndarray
) -> tuple[pd.Series, pd.Series]:
    """Per twin group: masked mass, and the largest primary value."""
    hidden = pd.Series(np.where(masked, values, 0.0)).groupby(twins).sum()
    largest = pd.Series(np.where(primary, values, -np.inf)).groupby(twins).max()
    return hidden, largest


def _covered_by_twins(
    twins: np.ndarray, values: np.ndarray, masked: np.ndarray, primary: np.ndarray, level: float
) -> np.ndarray:
    """Primary cells whose masked twins weigh at least ``level``: protected on both sides
    (value can move to and from them without changing any relation)."""
    hidden, _ = _twin_margin(twins, values, masked, primary)
    others = hidden.to_numpy()[twins] - values
    return np.asarray(primary & (others >= level - 1e-9), dtype=bool)


def _pair(
    twins: np.ndarray,
    values: np.ndarray,
    masked: np.ndarray,
    primary: np.ndarray,
    published: np.ndarray,
    level: float,
) -> np.ndarray:
    """Mask, in each twin group holding primary cells, the lightest twins that bring the
    masked mass besides its largest primary cell up to ``level``."""
    masked = masked.copy()
    hidden, largest = _twin_margin(twins, values, masked, primary)
    need = level - (hidden - largest)
    short = need[(need > 1e-9) & np.isfinite(largest)]
    if short.empty:
        return masked
    open_ = ~masked & published & (values > 0) & np.isin(twins, short.index.to_numpy())
    pool = pd.DataFrame(
        {"group": twins[open_], "cell": np.flatnonzero(open_), "value": values[open_]}
    ).sort_values(["group", "value", "cell"])
    if pool.empty:
        return masked
    needs = short.to_dict()
    for group, rows in pool.groupby("group", sort=False):
        missing = needs[group]
        enough = rows[rows.value >= missing - 1e-9]
        if len(enough):
            masked[int(enough.cell.iloc[0])] = True
            continue
        if rows.value.sum() < missing - 1e-9:
            continue  # twins cannot do it: relations and the audit will
        for cell, value in zip(rows.cell[::-1], rows.value[::-1], strict=True):
            masked[int(cell)] = True
            missing -= value
            if missing <= 1e-9:
                break
    return masked
