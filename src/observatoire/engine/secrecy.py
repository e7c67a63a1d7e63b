"""Statistical secret applied to the stored indicators.

For each additive count under a secret rule (:class:`observatoire.secret.rules.SecretRule`),
period by period and for each restricted audience, the cells published at every level and
zoning form one table: each territory is the (weighted) sum of its parts at the next finer
level where the count is known (IRIS → commune → département → région → France, commune → EPCI,
unit → zone of every zoning). :func:`observatoire.secret.suppression.suppress` chooses the cells
to mask; every indicator that shares a variable with the count (a ratio with it as numerator or
denominator…) is masked on the same cells.

Masks are stored in ``value_mask`` with a ``secret_state`` row per (indicator, audience) written
in the same transaction: a restricted audience sees an indicator under secret only when that
row exists (see :mod:`observatoire.store.computed`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

import numpy as np
import pandas as pd

from observatoire.catalog.indicators import Catalogue
from observatoire.engine.compute import zone_members, zoning_unit
from observatoire.engine.relations import to_sql
from observatoire.secret.suppression import Pattern, suppress
from observatoire.secret.tables import CellTable
from observatoire.store.base import Warehouse, placeholders
from observatoire.store.computed import RESULT, delete_rows

__all__ = ["apply_secret", "count_table", "relations"]

_PUBLISHED = ("ok", "partial", "perimetre")  # shown: each is a cell the secret must guard
# for a level, the finer levels its territories are sums of, the most direct first
_PARTS = {
    "commune": ("iris", "arm"),
    "arm": ("iris",),
    "epci": ("commune", "iris"),
    "departement": ("commune", "iris"),
    "region": ("departement", "commune", "iris"),
    "pays": ("region", "departement", "commune", "iris"),
}
_ORDER = ("iris", "arm", "commune", "epci", "departement", "region", "pays")


def relations(warehouse: Warehouse, levels: Iterable[str]) -> pd.DataFrame:
    """How the territories of ``levels`` add up: columns level, code (the total), part_level,
    part_code, weight; each level is related to the finest… the most direct finer level
    present."""
    levels = list(levels)
    frames = []
    for level in levels:
        zoning = zoning_unit(warehouse, level)
        if zoning is None:
            candidates = _PARTS.get(level, ())
        else:
            unit = zoning[1]
            candidates = (unit, *(("iris",) if unit == "commune" else ()))
        part = next((c for c in candidates if c in levels), None)
        if part is None:
            continue
        rows = warehouse.query(to_sql(zone_members(part, level, zoning), warehouse.dialect))
        frames.append(
            pd.DataFrame(
                {
                    "level": level,
                    "code": rows.target_code.astype(str),
                    "part_level": part,
                    "part_code": rows.code.astype(str),
                    "weight": rows.weight.astype(float),
                }
            )
        )
    if not frames:
        return pd.DataFrame(columns=["level", "code", "part_level", "part_code", "weight"])
    return pd.concat(frames, ignore_index=True)


def _rank(level: str) -> int:
    return _ORDER.index(level) if level in _ORDER else len(_ORDER)  # zonings last


def count_table(cells: pd.DataFrame, links: pd.DataFrame) -> tuple[CellTable, pd.DataFrame]:
    """The table of one period: ``cells`` (level, code, value, status) and ``links`` (from
    :func:`relations`). Totals withheld from publication get their value from their parts;
    parts with no value (secret at source, missing) are in no sum and are left out.

    Returns the table and the cells it numbers (level, code, value, published)."""
    cells = cells[["level", "code", "value", "status"]].copy()
    cells["published"] = cells.status.isin(_PUBLISHED) & cells.value.notna()
    known = cells.value.notna()
    totals = set(zip(links.level, links.code, strict=True))
    is_total = pd.Series(
        [(lvl, c) in totals for lvl, c in zip(cells.level, cells.code, strict=True)],
        index=cells.index,
        dtype=bool,
    )
    cells = cells[known | is_total].reset_index(drop=True)
    key = pd.MultiIndex.from_frame(cells[["level", "code"]])
    position = pd.Series(np.arange(len(cells)), index=key)
    total_at = position.reindex(pd.MultiIndex.from_frame(links[["level", "code"]])).to_numpy()
    part_at = position.reindex(
        pd.MultiIndex.from_arrays([links.part_level, links.part_code])
    ).to_numpy()
    usable = ~np.isnan(total_at) & ~np.isnan(part_at)
    terms = pd.DataFrame(
        {
            "total": total_at[usable].astype(np.int64),
            "part": part_at[usable].astype(np.int64),
            "weight": links.weight.to_numpy()[usable],
            "level": links.level.to_numpy()[usable],
        }
    )
    values = cells.value.to_numpy(dtype=float).copy()
    for level in sorted(terms.level.unique(), key=_rank):  # totals from their parts, finest first
        mine = terms[terms.level == level]
        unknown = np.isnan(values[mine.total.to_numpy()])
        if unknown.any():
            chosen = mine[unknown]
            parts = np.nan_to_num(values[chosen.part.to_numpy()]) * chosen.weight.to_numpy()
            sums = np.bincount(chosen.total.to_numpy(), weights=parts, minlength=len(values))
            filled = np.unique(chosen.total.to_numpy())
            values[filled] = sums[filled]
    cells["value"] = values
    valid = ~np.isnan(values[terms.part.to_numpy()])
    terms = terms[valid]
    equation = pd.factorize(terms.total.to_numpy())[0]
    first = pd.Series(terms.total.to_numpy()).groupby(equation).first()
    frame = pd.concat(
        [
            pd.DataFrame({"equation": first.index, "cell": first.to_numpy(), "coef": 1.0}),
            pd.DataFrame(
                {
                    "equation": equation,
                    "cell": terms.part.to_numpy(),
                    "coef": -terms.weight.to_numpy(),
                }
            ),
        ],
        ignore_index=True,
    )
    published = cells.published.to_numpy() & ~np.isnan(values)
    return CellTable.build(np.nan_to_num(values), published, frame), cells


def _pattern_rows(cells: pd.DataFrame, pattern: Pattern) -> pd.DataFrame:
    reason = np.where(pattern.primary, "primaire", np.where(pattern.secondary, "secondaire", ""))
    chosen = reason != ""
    return pd.DataFrame(
        {"level": cells.level[chosen], "code": cells.code[chosen], "reason": reason[chosen]}
    )


def count_masks(warehouse: Warehouse, catalogue: Catalogue, ident: str,
                periods: Iterable[str] | None = None) -> pd.DataFrame:  # fmt: skip
    """The masks of count ``ident`` (under a secret rule): level, code, period, audience,
    reason, for every period (or those of ``periods``) and restricted audience; plus
    ``attrs["solved"]``."""
    rule = catalogue.get(ident).secret
    assert rule is not None
    sql = f"SELECT level, code, period, value, status FROM {RESULT} WHERE indicator = ?"
    params: list[object] = [ident]
    if periods is not None:
        listed = sorted(set(periods))
        sql += f" AND period IN ({placeholders(listed)})" if listed else " AND 1 = 0"
        params += listed
    stored = warehouse.query(sql, params)
    columns = ["level", "code", "period", "audience", "reason"]
    if stored.empty:
        return pd.DataFrame(columns=columns)
    links = relations(warehouse, stored.level.unique())
    out, solved = [], 0
    for period, cells in stored.groupby("period", sort=True):
        table, numbered = count_table(cells, links)
        patterns: dict[tuple[int, float], Pattern] = {}
        for audience, threshold in rule.thresholds.items():
            protection = rule.protection if rule.protection is not None else float(threshold)
            if (threshold, protection) not in patterns:
                patterns[threshold, protection] = suppress(
                    table, threshold=threshold, protection=protection
                )
                solved += patterns[threshold, protection].solved
            rows = _pattern_rows(numbered, patterns[threshold, protection])
            out.append(rows.assign(period=period, audience=audience))
    frame = pd.concat(out, ignore_index=True)[columns] if out else pd.DataFrame(columns=columns)
    frame.attrs["solved"] = solved
    return frame


def _periods_of(
    ident: str, sources: list[str], periods: Mapping[str, set[str] | None] | None
) -> frozenset[str] | None:
    """The periods whose masks ``ident`` needs again: those ``compute`` redid for it and for
    the counts it is masked with (None: every period)."""
    if periods is None or ident not in periods:
        return None
    found: set[str] = set()
    for name in {ident, *sources}:
        if name in periods:
            redone = periods[name]
            if redone is None:
                return None
            found |= redone
    return frozenset(found)


def _rules(catalogue: Catalogue, sources: list[str]) -> dict[str, str]:
    """Restricted audience → the rules restricting it, in words."""
    out: dict[str, list[str]] = {}
    for source in sources:
        rule = catalogue.get(source).secret
        for audience in rule.thresholds if rule else ():
            out.setdefault(audience, []).append(f"{source} : {rule.describe()}")  # type: ignore[union-attr]
    return {a: " ; ".join(r) for a, r in out.items()}


def apply_secret(
    warehouse: Warehouse,
    catalogue: Catalogue,
    *,
    force: bool = False,
    on_step: Callable[[str], None] = lambda _: None,
    periods: Mapping[str, set[str] | None] | None = None,
    before: set[tuple[str, str]] | None = None,
) -> dict[str, int]:
    """Masks for every stored indicator under secret whose masks are not up to date (all of
    them with ``force``); returns the number of masked cells per indicator.

    ``periods``: for an indicator whose masks were up to date before ``compute`` redid some
    of its periods (and of the counts it is masked with), those periods; only their masks are
    made again (a period's pattern depends on that period's values alone), provided its
    masks were up to date for every audience its rules restrict (``before``: the (indicator,
    audience) pairs up to date when ``compute`` began; an audience added to a rule since gets
    every period). An indicator not listed, or listed with None, gets the masks of every
    period."""
    stored = set(warehouse.query(f"SELECT DISTINCT indicator FROM {RESULT}").indicator)
    state = warehouse.query("SELECT indicator, audience FROM secret_state")
    current = set(zip(state.indicator, state.audience, strict=True))
    todo: dict[str, list[str]] = {}
    for ident in sorted(stored & set(catalogue.indicators)):
        sources = catalogue.secret_sources(ident)
        audiences = sorted(_rules(catalogue, sources))
        if audiences and (force or any((ident, a) not in current for a in audiences)):
            todo[ident] = sources
    patterns: dict[tuple[str, frozenset[str] | None], pd.DataFrame] = {}
    counts: dict[str, int] = {}
    stamp = pd.Timestamp.now(tz="UTC").isoformat(timespec="seconds")
    for ident, sources in todo.items():
        if any(s not in stored for s in sources):
            continue  # a count it depends on is not computed: stays hidden from restricted reads
        rules = _rules(catalogue, sources)
        complete = before is not None and all((ident, a) in before for a in rules)
        only = _periods_of(ident, sources, periods) if complete and not force else None
        for source in sources:
            if (source, only) not in patterns:
                on_step(f"secret {source}" + (f", période(s) {', '.join(sorted(only))}"
                                              if only is not None else ""))  # fmt: skip
                patterns[source, only] = count_masks(warehouse, catalogue, source, only)
        masks = pd.concat([patterns[s, only] for s in sources], ignore_index=True)
        masks = masks.sort_values("reason").drop_duplicates(
            ["level", "code", "period", "audience"]
        )  # « primaire » before « secondaire »
        with warehouse.transaction() as tx:
            if only is None:
                tx.execute("DELETE FROM value_mask WHERE indicator = ?", [ident])
            else:
                delete_rows(tx, "value_mask", "period", sorted(only), "AND indicator = ?",
                            [ident])  # fmt: skip
            tx.execute("DELETE FROM secret_state WHERE indicator = ?", [ident])
            if len(masks):
                tx.insert("value_mask", masks.assign(indicator=ident))
            tx.insert(
                "secret_state",
                pd.DataFrame(
                    {
                        "indicator": ident,
                        "audience": list(rules),
                        "rule": list(rules.values()),
                        "computed_at": stamp,
                    }
                ),
            )
        counts[ident] = len(masks)
    return counts
