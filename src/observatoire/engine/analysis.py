"""Analysis of a territory against others, as a reader may see the values: comparison with a
reference (a containing level, a territory, the stratum, the statistical neighbours),
statistical neighbours, evolution between two periods.

The figures come from :mod:`observatoire.engine.compare` and :mod:`observatoire.stats`; this
module decides how they read values: the stored ones ranked by the database when they can be
(the level is not read), the reader's own view for a restricted audience (masked cells left
out of the ranks, as of the values), computed now for the analyst otherwise.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from observatoire.engine.access import ReadAccess
from observatoire.engine.compare import NEIGHBOURS, USABLE, compare_indicator, evolution
from observatoire.engine.compute import DEFAULT_THRESHOLD, check_threshold
from observatoire.engine.reading import read_indicator
from observatoire.errors import InputError
from observatoire.secret.policy import ANALYST, ReadPolicy
from observatoire.stats.neighbours import DEFAULT_CONTEXT, nearest
from observatoire.store.computed import is_computed, masks_ready, rank_computed
from observatoire.store.territories import list_territories
from observatoire.store.values import list_variables
from observatoire.territories.levels import is_official

__all__ = ["compare", "indicator_evolution", "neighbours"]

Within = tuple[str, str] | None


def compare(
    access: ReadAccess,
    ident: str,
    level: str,
    reference: str | tuple[str, str],
    *,
    within: Within = None,
    period: str | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    reader: ReadPolicy = ANALYST,
    k: int = 5,
) -> pd.DataFrame:
    """Values of indicator ``ident`` with each territory's ``reference`` (a level id, a
    resolved territory, the stratum or the neighbours), gap, index, significance, rank,
    percentile."""
    found = neighbours(access, level, k=k, reader=reader) if reference == NEIGHBOURS else None
    return compare_indicator(
        access.warehouse,
        access.catalogue,
        ident,
        level=level,
        reference=reference,
        within=within,
        period=period,
        threshold=check_threshold(threshold),
        neighbours=found,
        **_stored_comparison(access, ident, level, reader, threshold),
    )


def _stored_comparison(access: ReadAccess, ident: str, level: str, reader: ReadPolicy,
                       threshold: float) -> dict[str, Any]:  # fmt: skip
    """How a comparison reads its values: the stored ones, ranked by the database — for the
    analyst when the whole level is computed (as :func:`read_indicator` reads them), for
    another audience in its own view."""
    warehouse = access.warehouse
    fetch = access.fetcher(ident, reader, restricted_threshold=threshold != DEFAULT_THRESHOLD)
    if not reader.restricted:
        whole = access.computed_codes(level) is None
        if (threshold != DEFAULT_THRESHOLD or not whole
                or not is_computed(warehouse, ident, level)):  # fmt: skip
            return {"fetch": fetch}

        def stored(lvl: str, within: Within, period: str | None) -> pd.DataFrame:
            return read_indicator(access, ident, lvl, within=within, period=period)

        fetch = stored
    masked = access.under_secret(ident, reader)
    if masked and not masks_ready(warehouse, ident, reader.value):
        return {"fetch": fetch}  # masks not up to date: every value hidden, nothing ranked

    def ranks(lvl: str, within: Within, period: str | None) -> pd.DataFrame:
        return rank_computed(warehouse, ident, lvl, within, period, USABLE,
                             masked_for=reader.value if masked else None)  # fmt: skip

    return {"fetch": fetch, "ranks": ranks}


def neighbours(
    access: ReadAccess,
    level: str,
    *,
    k: int = 5,
    context: tuple[str, ...] = DEFAULT_CONTEXT,
    code: str | None = None,
    reader: ReadPolicy = ANALYST,
) -> pd.DataFrame:
    """Each territory's ``k`` statistical neighbours at ``level`` on the ``context``
    indicators (latest usable value of each): code, rank, neighbour, distance, with names
    (only territory ``code``'s when given). Context indicators known for less than half of
    the territories are left out; ``attrs['context']`` says which were used."""
    catalogue = access.catalogue
    columns = {}
    fed = {i.id for i in catalogue.computable(set(list_variables(access.warehouse).id))}
    for ident in context:
        catalogue.get(ident)
        if ident not in fed:
            continue
        values = read_indicator(access, ident, level, reader=reader)
        usable = values[values.status.isin(["ok", "partial"]) & values.value.notna()]
        if usable.code.nunique() * 2 >= values.code.nunique():
            columns[ident] = usable.sort_values("period").groupby("code").value.last()
    if not columns:
        raise InputError(
            f"voisins statistiques au niveau {level} : aucun des indicateurs de contexte "
            f"({', '.join(context)}) n'est connu pour la moitié des territoires"
        )
    frame = pd.DataFrame(columns)
    log = [c for c in context if catalogue.get(c).aggregation.value == "sum"]
    found = nearest(frame, k=k, log=log)
    names = (
        list_territories(access.warehouse, level=level).set_index("code").name
        if is_official(level)
        else None
    )
    if code is not None:
        found = found[found.code == code]
    if names is not None:
        found.insert(1, "name", found.code.map(names))
        found.insert(4, "neighbour_name", found.neighbour.map(names))
    found = found.reset_index(drop=True)
    found.attrs["context"] = list(columns)
    return found


def indicator_evolution(
    access: ReadAccess,
    ident: str,
    level: str,
    *,
    start: str,
    end: str,
    within: Within = None,
    threshold: float = DEFAULT_THRESHOLD,
    reader: ReadPolicy = ANALYST,
) -> pd.DataFrame:
    """Evolution of an indicator between two periods, for every territory of ``level``."""
    return evolution(
        access.warehouse,
        access.catalogue,
        ident,
        level=level,
        start=start,
        end=end,
        within=within,
        threshold=check_threshold(threshold),
        fetch=access.fetcher(ident, reader, restricted_threshold=threshold != DEFAULT_THRESHOLD),
    )
