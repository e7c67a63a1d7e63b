"""The significance heatmap (Fingertips' « tartan rug »): territories in rows, the indicators of
a theme in columns, each cell the comparison engine's verdict against one reference territory
— significantly more or less favourable, not significantly different, or not testable.

Every stored value of the territories is read at once (:func:`read_profiles`), as the reader
may see them; each indicator is shown at the latest period its reference has a value for and
at least half of the territories that ever have one do. The verdict is
:func:`observatoire.engine.compare.judge`'s: the same as the comparison pages'.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from observatoire.catalog.indicators import Aggregation, Catalogue
from observatoire.engine.access import ReadAccess
from observatoire.engine.compare import judge
from observatoire.engine.funnel import has_funnel
from observatoire.engine.reading import read_profile, read_profiles
from observatoire.errors import InputError
from observatoire.secret.policy import ANALYST, ReadPolicy
from observatoire.store.territories import territory_name, territory_names

__all__ = ["CATEGORIES", "MAX_TERRITORIES", "Heatmap", "category_of", "heatmap"]

# category → its words, in the order of the legend
CATEGORIES = {
    "better": "significativement plus favorable",
    "similar": "écart non significatif",
    "worse": "significativement moins favorable",
    "higher": "significativement plus élevé (sans polarité)",
    "lower": "significativement moins élevé (sans polarité)",
    "untestable": "non testable (pas d'intervalle de confiance ou de référence)",
    "secret": "secret statistique",
    "missing": "pas de valeur",
}
_OF_ASSESSMENT = {
    "plus favorable": "better",
    "écart non significatif": "similar",
    "moins favorable": "worse",
    "plus élevé": "higher",
    "moins élevé": "lower",
}
USABLE = ("ok", "partial")
MAX_INDICATORS = 80
MAX_TERRITORIES = 1500  # rows a table can be read by: the communes of a département, its IRIS


@dataclass(frozen=True)
class Heatmap:
    """Rows ``territories`` (code, name), columns ``indicators`` (id, label, unit, polarity,
    period, reference_value), ``cells`` (code, indicator, period, value, status, ci_low,
    ci_high, reference_value, gap, assessment, category), against ``reference``."""

    level: str
    within: tuple[str, str] | None
    reference: dict[str, str]
    territories: pd.DataFrame
    indicators: list[dict[str, object]]
    cells: pd.DataFrame

    def grid(self, field: str = "category") -> pd.DataFrame:
        """One row per territory, one column per indicator: each cell's ``field``."""
        table = self.cells.pivot(index="code", columns="indicator", values=field)
        order = [str(i["id"]) for i in self.indicators]
        return table.reindex(index=self.territories.code, columns=order)


def category_of(assessment: object, status: object, value: object) -> str:
    """A cell's category from the comparison engine's assessment."""
    if status == "secret":
        return "secret"
    if status not in USABLE or value is None or value != value:  # NaN
        return "missing"
    return _OF_ASSESSMENT.get(str(assessment), "untestable") if assessment else "untestable"


def heatmap(
    access: ReadAccess,
    level: str,
    *,
    within: tuple[str, str] | None = None,
    theme: str | None = None,
    indicators: list[str] | None = None,
    reference: tuple[str, str] | None = None,
    reader: ReadPolicy = ANALYST,
) -> Heatmap:
    """The heatmap of the territories of ``level`` inside ``within`` for the indicators of
    ``theme`` (its rates, shares and medians: not its counts) or the ``indicators`` listed,
    against ``reference`` (by default ``within``, else France)."""
    catalogue = access.catalogue
    chosen = _chosen(catalogue, theme, indicators)
    names = territory_names(access.warehouse, level=level, within=within)
    if len(names) > MAX_TERRITORIES:
        raise InputError(f"tableau des écarts : {len(names)} territoires ; au plus "
                         f"{MAX_TERRITORIES} lignes se lisent — choisissez un territoire "
                         "englobant plus petit (dans)")  # fmt: skip
    rows = read_profiles(access, level, within, reader)
    rows = rows[rows.indicator.isin(chosen)]
    where = reference or within or ("pays", "FR")
    refs = read_profile(access, where[0], where[1], reader)
    refs = refs[refs.indicator.isin(chosen) & refs.status.isin(USABLE) & refs.value.notna()]
    periods = _periods(rows, refs)
    if not periods:
        raise InputError(
            "tableau des écarts : aucun indicateur n'a de valeur à la fois pour ces "
            f"territoires et pour la référence {where[0]}:{where[1]}"
        )
    shown = pd.DataFrame({"indicator": list(periods), "period": list(periods.values())})
    ref_values = refs.merge(shown, on=["indicator", "period"])[["indicator", "value"]]
    ref_of = dict(zip(ref_values.indicator, ref_values.value.astype(float), strict=True))
    cells = rows.merge(shown, on=["indicator", "period"])
    cells = _judged(cells, catalogue, ref_of)
    columns: list[dict[str, object]] = []
    for ident in chosen:
        if ident not in periods:
            continue
        indicator = catalogue.get(ident)
        columns.append({"id": ident, "label": indicator.label, "unit": indicator.unit,
                        "polarity": indicator.polarity.value, "period": periods[ident],
                        "reference_value": ref_of[ident],
                        "funnel": has_funnel(indicator)})  # fmt: skip
    frame = _every_cell(cells, names.code, [str(c["id"]) for c in columns])
    ref = {"level": where[0], "code": where[1],
           "name": territory_name(access.warehouse, where[0], where[1])}  # fmt: skip
    territories = names[["code", "name"]].reset_index(drop=True)
    return Heatmap(level, within, ref, territories, columns, frame)


def _chosen(catalogue: Catalogue, theme: str | None, indicators: list[str] | None) -> list[str]:
    if indicators:
        for ident in indicators:
            catalogue.get(ident)  # an unknown name fails here, with suggestions
        found = list(dict.fromkeys(indicators))
    else:  # a count is no comparison between territories of different sizes
        found = [i.id for i in catalogue.by_theme(theme) if i.aggregation is not Aggregation.SUM]
    if len(found) > MAX_INDICATORS:
        raise InputError(
            f"tableau des écarts : {len(found)} indicateurs ; choisissez un thème ou au plus "
            f"{MAX_INDICATORS} indicateurs"
        )
    return found


def _periods(rows: pd.DataFrame, refs: pd.DataFrame) -> dict[str, str]:
    """Each indicator's period: the latest the reference has a value for and at least half
    as many territories as at its best such period."""
    usable = rows[rows.status.isin(USABLE) & rows.value.notna()]
    counts = usable.groupby(["indicator", "period"]).size().rename("n").reset_index()
    shared = counts.merge(refs[["indicator", "period"]], on=["indicator", "period"])
    if shared.empty:
        return {}
    best = shared.groupby("indicator").n.transform("max")
    kept = shared[shared.n * 2 >= best]
    latest = kept.groupby("indicator").period.max()
    return {str(i): str(p) for i, p in latest.items()}


def _judged(frame: pd.DataFrame, catalogue: Catalogue, reference: dict[str, float]) -> pd.DataFrame:
    """The comparison engine's verdict on every cell (:func:`judge`, one call per polarity)."""
    frame = frame[["code", "indicator", "period", "value", "status", "ci_low", "ci_high",
                   "note"]].copy()  # fmt: skip
    frame["reference_value"] = frame.indicator.map(reference).astype(float)
    polarity = frame.indicator.map({i: catalogue.get(i).polarity for i in reference})
    frame["gap"], frame["assessment"] = np.nan, None
    frame["assessment"] = frame.assessment.astype(object)
    for kind in polarity.unique():
        part = frame[polarity == kind]
        gap, _, words = judge(part.value, part.reference_value, part.ci_low, part.ci_high,
                              part.status.isin(USABLE), kind)  # fmt: skip
        frame.loc[part.index, "gap"] = gap
        frame.loc[part.index, "assessment"] = words
    usable = frame.status.isin(USABLE) & frame.value.notna()
    known = frame.assessment.map(_OF_ASSESSMENT)
    frame["category"] = np.where(
        frame.status == "secret", "secret",
        np.where(~usable, "missing", known.fillna("untestable").to_numpy()),
    )  # fmt: skip
    return frame


def _every_cell(frame: pd.DataFrame, codes: pd.Series, indicators: list[str]) -> pd.DataFrame:
    """A cell for every territory and indicator (« pas de valeur » where none is stored)."""
    grid = pd.MultiIndex.from_product([codes, indicators], names=["code", "indicator"])
    out = frame.set_index(["code", "indicator"]).reindex(grid).reset_index()
    out["category"] = out.category.fillna("missing")
    out["status"] = out.status.fillna("missing")
    return out
