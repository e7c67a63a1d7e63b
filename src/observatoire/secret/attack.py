"""The attack a suppression pattern must resist: linear programming over the published cells.

For a masked cell, the attacker knows every published value and every additive relation
(exactly, residual included) and that counts are not negative; the smallest and largest value
the cell can take under those constraints is its **feasible interval**. A masked cell is
protected when that interval reaches ``protection`` below (or 0) and above its true value.

Masked cells only interact through relations they share, so the problem splits into
independent components, each a linear programme (HiGHS through SciPy).

A **local** attack fixes every masked cell outside the target's own relations at its true
value: it knows more than the real attacker, so its interval is inside the true one, and a
cell it cannot narrow is protected. Suppression relies on it (small programmes, whatever the
size of the table); the full attack checks the result.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog
from scipy.sparse.csgraph import connected_components

from observatoire.secret.tables import CellTable

__all__ = ["component_labels", "feasible_intervals", "is_protected"]

_TOLERANCE = 1e-6


def component_labels(table: CellTable, masked: np.ndarray) -> np.ndarray:
    """For each cell, the component of masked cells it belongs to (−1 when published)."""
    terms = masked[table.cell]
    eq, cells = table.equation[terms], table.cell[terms]
    n, m = table.size, table.equations
    # bipartite graph cells + equations, edges for masked terms
    graph = sp.coo_matrix((np.ones(len(eq)), (cells, n + eq)), shape=(n + m, n + m))
    _, labels = connected_components(graph, directed=False)
    out = np.asarray(labels[:n]).copy()
    out[~masked] = -1
    return out


def feasible_intervals(
    table: CellTable, masked: np.ndarray, targets: Iterable[int], *, hops: int | None = None
) -> dict[int, tuple[float, float]]:
    """The attacker's interval [low, high] for each target cell (which must be masked); with
    ``hops``, an interval inside it, from the masked cells within that many relations of the
    target only (the others taken as known)."""
    targets = list(targets)
    if not targets:
        return {}
    if hops is not None:
        out: dict[int, tuple[float, float]] = {}
        for cell in targets:
            inside = np.zeros(table.size, dtype=bool)
            inside[cell] = True
            for _ in range(hops):
                near = np.isin(table.equation, table.equation[inside[table.cell]])
                inside[table.cell[near]] = True
                inside &= masked
            out.update(_solve(table, masked, inside, [cell]))
        return out
    labels = component_labels(table, masked)
    out = {}
    by_component: dict[int, list[int]] = {}
    for cell in targets:
        by_component.setdefault(int(labels[cell]), []).append(cell)
    for component, cells in by_component.items():
        out.update(_solve(table, masked, labels == component, cells))
    return out


def _solve(
    table: CellTable, masked: np.ndarray, inside: np.ndarray, cells: list[int]
) -> dict[int, tuple[float, float]]:
    columns = np.flatnonzero(inside)
    position = np.full(table.size, -1)
    position[columns] = np.arange(len(columns))
    touching = np.unique(table.equation[inside[table.cell]])
    keep = np.isin(table.equation, touching) & inside[table.cell]
    rows = np.searchsorted(touching, table.equation[keep])
    matrix = sp.csr_matrix(
        (table.coef[keep], (rows, position[table.cell[keep]])),
        shape=(len(touching), len(columns)),
    )
    # what the attacker knows of each relation: its unknown part (the cells ``inside``) equals
    # this, every other cell being published (or, for a local attack, assumed known)
    right = np.bincount(
        rows, weights=table.coef[keep] * table.values[table.cell[keep]], minlength=len(touching)
    )
    out = {}
    for cell in cells:
        objective = np.zeros(len(columns))
        objective[position[cell]] = 1.0
        bounds = []
        for sign in (1.0, -1.0):
            result = linprog(
                sign * objective, A_eq=matrix, b_eq=right, bounds=(0, None), method="highs"
            )
            if result.status == 3:  # unbounded: no upper limit
                bounds.append(np.inf)
            elif result.status == 0:
                bounds.append(sign * result.fun)
            else:  # the true values satisfy every relation: this cannot be infeasible
                raise RuntimeError(f"linear programme failed: {result.message}")
        out[cell] = (bounds[0], bounds[1])
    return out


def is_protected(value: float, interval: tuple[float, float], protection: float) -> bool:
    """Whether the attacker's interval leaves the cell uncertain enough.

    >>> is_protected(3, (0, 12), 5), is_protected(3, (0, 7), 5), is_protected(3, (1, 9), 5)
    (True, False, False)
    """
    low, high = interval
    scale = max(1.0, abs(value))
    return bool(
        low <= max(0.0, value - protection) + _TOLERANCE * scale
        and high >= value + protection - _TOLERANCE * scale
    )
