"""Population by age and sex projected by cohort-change ratios (Hamilton-Perry, see
:mod:`observatoire.stats.cohorts`) for the territories of a level, from an imported variable
whose values have a sex and an age dimension (a Melodi export of the census by sex and
five-year age group, a descriptor's file…), for at least two censuses five years apart.

The error is measured as for the trends: with three censuses or more, the last one projected
from the two before it, compared with it (the mean absolute percentage error of each
territory's total and of its age groups), beside « no change »; with two censuses it cannot be
measured, and the projection says so. A projection of the containing level imported as a
variable (INSEE's Omphale for the département: ``control``) constrains the territories' totals
(by sex and age when it has them).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from observatoire.catalog.periods import period_time
from observatoire.engine.access import ReadAccess
from observatoire.engine.projection import PROJECTED
from observatoire.errors import InputError, ReferentialError
from observatoire.secret.policy import ANALYST, ReadPolicy
from observatoire.stats import cohorts as stats
from observatoire.store.territories import list_territories
from observatoire.store.values import read_values
from observatoire.text import french_number

__all__ = ["CohortProjection", "project_cohorts"]

Within = tuple[str, str] | None
UNMEASURED = (
    "erreur non mesurée : deux recensements seulement ; il en faut trois pour projeter le "
    "dernier à partir des deux précédents et comparer"
)


@dataclass(frozen=True)
class CohortProjection:
    """Projected population by sex and age (``values``: code, name, period, sexe, age,
    value, status, note) and per territory (``totals``), from the censuses ``history``, with
    the measured error (``errors``: method, territories, mape_total, mape_groups; empty with
    ``unmeasured`` set when it cannot be measured)."""

    variable: str
    level: str
    target: str
    history: tuple[str, ...]
    values: pd.DataFrame
    totals: pd.DataFrame
    errors: pd.DataFrame
    control: str | None = None
    notes: tuple[str, ...] = field(default=())

    @property
    def unmeasured(self) -> str:
        return "" if len(self.errors) else UNMEASURED


@dataclass(frozen=True)
class _Censuses:
    codes: pd.Index
    names: pd.Series
    periods: tuple[str, ...]
    ages: tuple[tuple[int, int | None], ...]
    cells: np.ndarray  # periods × territories × sexes × ages (NaN: not ok)


def project_cohorts(
    access: ReadAccess,
    variable: str,
    level: str,
    *,
    within: Within = None,
    to: str | None = None,
    control: str | None = None,
    reader: ReadPolicy = ANALYST,
) -> CohortProjection:
    """Population by sex and age of ``variable`` projected for the territories of ``level``
    inside ``within`` to the year ``to`` (default: one step of the age groups' width)."""
    if reader.restricted:
        access.check_raw_readable(variable, reader)
        if control is not None:
            access.check_raw_readable(control, reader)
    # a control constrains every territory of its containing one: all are projected, then kept
    whole = control is not None or (within is not None and within[0] == level)
    censuses = _censuses(access, variable, level, None if whole else within)
    width = censuses.ages[1][0]
    chain = _chain(censuses, width)
    if len(chain) < 2:
        raise ReferentialError(
            f"{variable} : il faut deux recensements à {width} ans d'écart (la largeur des "
            f"groupes d'âge), le dernier compris ; périodes importées : "
            f"{', '.join(censuses.periods)}"
        )
    last = int(period_time(censuses.periods[chain[-1]]) or 0)
    steps = _steps(to, last, width, len(chain))
    before, after = censuses.cells[chain[-2]], censuses.cells[chain[-1]]
    ahead = stats.hamilton_perry(before, after, steps=steps, width=width)[:, -1]
    year = last + steps * width
    notes: list[str] = []
    if control is not None:
        ahead = _constrained(access, control, level, censuses, ahead, year, notes)
    errors = _errors(censuses, chain, width)
    if len(errors) == 2 and errors.mape_total.iloc[0] > errors.mape_total.iloc[1]:
        notes.append(
            "la méthode s'est trompée davantage que l'absence d'évolution en projetant le "
            f"dernier recensement ({french_number(errors.mape_total.iloc[0], 1)} % contre "
            f"{french_number(errors.mape_total.iloc[1], 1)} % sur le total) : à lire avec "
            "prudence"
        )
    complete = (np.isfinite(before) & np.isfinite(after)).all(axis=(1, 2))
    values = _frame(censuses, ahead, str(year), complete)
    if whole and within is not None:
        values = values[values.code.isin(_kept(access, level, within, censuses))]
        values = values.reset_index(drop=True)
    measured = float(errors.mape_total.iloc[0]) if len(errors) else np.nan
    values["error_total"] = measured
    if errors.empty:  # said on every row, whatever the output
        values.loc[values.status == PROJECTED, "note"] = UNMEASURED
    totals = (
        values.groupby(["code", "name", "period"], sort=False)
        .agg(value=("value", lambda v: v.sum(min_count=len(v))))
        .reset_index()
    )
    totals["status"] = np.where(totals.value.notna(), PROJECTED, "nd")
    totals["error_total"] = measured
    totals["note"] = np.where(totals.value.notna(), UNMEASURED if errors.empty else "",
                              "un groupe d'âge au moins n'est pas projeté")  # fmt: skip
    return CohortProjection(
        variable=variable,
        level=level,
        target=str(year),
        history=tuple(censuses.periods[i] for i in chain),
        values=values,
        totals=totals,
        errors=errors,
        control=control,
        notes=tuple(notes),
    )


def _chain(censuses: _Censuses, width: int) -> list[int]:
    """The censuses ``width`` years apart that end with the last one, oldest first (INSEE
    publishes one every year: 2013, 2017, 2018 give 2013 and 2018)."""
    times = [period_time(p) or 0.0 for p in censuses.periods]
    out = [len(times) - 1]
    while True:
        wanted = times[out[-1]] - width
        found = [i for i, t in enumerate(times) if math.isclose(t, wanted)]
        if not found:
            return out[::-1]
        out.append(found[0])


def _kept(access: ReadAccess, level: str, within: tuple[str, str],
          censuses: _Censuses) -> set[str]:  # fmt: skip
    """The territories shown: those of ``level`` inside ``within``, or ``within`` itself."""
    if within[0] == level:
        if within[1] not in set(censuses.codes):
            raise ReferentialError(f"{level}:{within[1]} : aucune valeur de la variable")
        return {within[1]}
    inside = list_territories(access.warehouse, level=level, within=within)
    return set(inside.code.astype(str))


def _steps(to: str | None, last: int, width: int, censuses: int) -> int:
    """Steps of ``width`` years to ``to``, no further than the history spans."""
    reach = (censuses - 1) * width
    if to is None:
        return 1
    if not re.fullmatch(r"[0-9]{4}", to.strip()):
        raise InputError(f"horizon « {to} » : une année attendue (ex. {last + width})")
    year = int(to)
    if year <= last or (year - last) % width:
        raise InputError(
            f"horizon {year} : la méthode avance par pas de {width} ans après le dernier "
            f"recensement ({last}) : {last + width}, {last + 2 * width}…"
        )
    if year - last > reach:
        raise InputError(
            f"horizon {year} refusé : {censuses} recensements couvrent {reach} ans ; une "
            f"projection ne va pas plus loin après le dernier, soit jusqu'en {last + reach}"
        )
    return (year - last) // width


def _censuses(access: ReadAccess, variable: str, level: str, within: Within) -> _Censuses:
    """The variable's values by sex and age group, per census, for the territories."""
    frame = read_values(access.warehouse, variable=variable, level=level, within=within)
    if frame.empty:
        raise ReferentialError(f"{variable} : aucune valeur au niveau {level}")
    parsed = frame.dims.fillna("").map(_sex_and_age)
    frame = frame.assign(sex=parsed.map(lambda p: p[0]), age=parsed.map(lambda p: p[1]))
    frame = frame[frame.sex.notna() & frame.age.notna()]
    negative = frame[(frame.status == "ok") & (frame.value < 0)]
    if len(negative):
        first = negative.iloc[0]
        raise InputError(f"{variable} : effectif négatif ({first.value:g}) pour {first.code}, "
                         f"{first.dims}, {first.period} : une population ne l'est pas")  # fmt: skip
    if not frame.empty and set(frame.sex) != set(stats.SEXES):
        raise InputError(f"{variable} : il faut les deux sexes (Femmes, Hommes) ; trouvé "
                         f"seulement : {', '.join(sorted(set(frame.sex)))}")  # fmt: skip
    if frame.empty:
        raise InputError(
            f"{variable} : ni sexe (Femmes, Hommes) ni groupe d'âge (« 0 à 4 ans », "
            "« 85 ans ou plus ») reconnus dans ses dimensions"
        )
    ages = tuple(sorted(set(frame.age), key=lambda a: (a[0], 999 if a[1] is None else a[1])))
    width = (ages[0][1] or 0) - ages[0][0] + 1
    regular = all(a[0] == i * width for i, a in enumerate(ages)) and all(
        a[1] == a[0] + width - 1 for a in ages[:-1]
    )
    if ages[0][0] != 0 or ages[-1][1] is not None or not regular or len(ages) < 3:
        shown = ", ".join(f"{a}-{b}" if b is not None else f"{a}+" for a, b in ages)
        raise InputError(
            f"{variable} : les groupes d'âge doivent être de même largeur depuis 0, le dernier "
            f"ouvert (« 85 ans ou plus ») ; trouvés : {shown}"
        )
    periods = tuple(sorted({str(p) for p in frame.period if period_time(str(p))},
                           key=lambda p: period_time(p) or 0.0))  # fmt: skip
    codes = pd.Index(sorted(frame.code.astype(str).unique()))
    names = frame.drop_duplicates("code").set_index("code").name.reindex(codes)
    cells = np.full((len(periods), len(codes), 2, len(ages)), np.nan)
    ok = frame[frame.status == "ok"]
    p = pd.Index(periods).get_indexer(ok.period.astype(str))
    c = codes.get_indexer(ok.code.astype(str))
    s = ok.sex.map(stats.SEXES.index).to_numpy()
    a = pd.Index(ages).get_indexer(ok.age)
    keep = (p >= 0) & (c >= 0)
    cells[p[keep], c[keep], s[keep], a[keep]] = ok.value.to_numpy(dtype=float)[keep]
    return _Censuses(codes, names, periods, ages, cells)


def _sex_and_age(dims: str) -> tuple[str | None, tuple[int, int | None] | None]:
    """The sex and the age group a value's dimensions name (None when it is a total)."""
    sex = age = None
    for part in dims.split("|"):
        _, _, label = part.partition("=")
        sex = sex or stats.sex_of(label)
        age = age or stats.age_group(label)
    return sex, age


def _errors(censuses: _Censuses, chain: list[int], width: int) -> pd.DataFrame:
    """The last census projected from the two before it in ``chain`` (``width`` years apart),
    against no change: the error of each territory's total and of its groups."""
    if len(chain) < 3:
        return pd.DataFrame(columns=["method", "territories", "mape_total", "mape_groups"])
    first, middle, last = (censuses.cells[i] for i in chain[-3:])
    guess = stats.hamilton_perry(first, middle, steps=1, width=width)[:, 0]
    rows = []
    for method, predicted in (("hamilton_perry", guess), ("constant", middle)):
        whole = np.isfinite(predicted).all(axis=(1, 2)) & np.isfinite(last).all(axis=(1, 2))
        total, observed = predicted[whole].sum(axis=(1, 2)), last[whole].sum(axis=(1, 2))
        cells = last[whole] > 0
        gaps = np.abs(predicted[whole] - last[whole])[cells] / last[whole][cells]
        rows.append({
            "method": method, "territories": int(whole.sum()),
            "mape_total": float(np.mean(np.abs(total - observed) / observed) * 100)
            if whole.any() else np.nan,
            "mape_groups": float(np.mean(gaps) * 100) if gaps.size else np.nan,
        })  # fmt: skip
    return pd.DataFrame(rows)


def _constrained(access: ReadAccess, control: str, level: str, censuses: _Censuses,
                 cells: np.ndarray, year: int, notes: list[str]) -> np.ndarray:  # fmt: skip
    """``cells`` scaled to the projection ``control`` of the territories' containing level:
    by sex and age group (its groups gathered into the census's: 85-89, 90-94 and 95+ into
    85+), by sex, or in total, as it gives them."""
    for upper in ("departement", "region", "epci"):
        frame = read_values(access.warehouse, variable=control, level=upper, period=str(year))
        if not frame.empty:
            break
    else:
        raise ReferentialError(
            f"projection de référence {control} : aucune valeur pour {year} au niveau du "
            "département, de la région ou de l'EPCI"
        )
    places = list_territories(access.warehouse, level=level)
    if upper not in places.columns:
        raise InputError(f"projection de référence au niveau {upper} : le niveau {level} "
                         "n'y est pas rattaché")  # fmt: skip
    parent = places.set_index(places.code.astype(str))[upper].reindex(censuses.codes)
    uppers = pd.Index(sorted(frame.code.astype(str).unique()))
    groups = uppers.get_indexer(parent.astype(str))
    parsed = frame.dims.fillna("").map(_sex_and_age)
    sexes = parsed.map(lambda p: p[0]).to_numpy()
    ages = parsed.map(lambda p: p[1]).to_numpy()
    width = censuses.ages[1][0]
    last = len(censuses.ages) - 1
    row = uppers.get_indexer(frame.code.astype(str))
    value = frame.value.to_numpy(dtype=float)
    cell = np.array([s is not None and a is not None for s, a in zip(sexes, ages, strict=True)])
    by_sex = np.array([s is not None and a is None for s, a in zip(sexes, ages, strict=True)])
    target: np.ndarray
    if cell.any():
        target = np.zeros((len(uppers), 2, len(censuses.ages)))
        for r, sex, age, v in zip(row[cell], sexes[cell], ages[cell], value[cell], strict=True):
            target[r, stats.SEXES.index(sex), min(age[0] // width, last)] += v
        kind = "par sexe et âge"
    elif by_sex.any():
        target = np.zeros((len(uppers), 2))
        for r, sex, v in zip(row[by_sex], sexes[by_sex], value[by_sex], strict=True):
            target[r, stats.SEXES.index(sex)] += v
        kind = "par sexe"
    else:
        whole = ~cell & ~by_sex
        target = np.full(len(uppers), np.nan)
        target[row[whole]] = value[whole]
        kind = "en total"
    out = stats.constrain(cells, groups, target)
    before, after = np.nansum(cells[groups >= 0]), np.nansum(out[groups >= 0])
    factor = french_number(after / before, 3) if before else "–"
    notes.append(f"totaux ajustés à la projection {control} ({upper}, {year}, {kind}) : "
                 f"facteur {factor}")  # fmt: skip
    return out


def _frame(censuses: _Censuses, cells: np.ndarray, period: str,
           complete: np.ndarray) -> pd.DataFrame:  # fmt: skip
    """One row per territory, sex and age group of ``cells``; why a cell has no value."""
    n, sexes, ages = cells.shape
    labels = [f"{a}-{b}" if b is not None else f"{a}+" for a, b in censuses.ages]
    value = cells.reshape(-1)
    ok = np.isfinite(value)
    incomplete = np.repeat(~complete, sexes * ages)
    why = np.where(
        incomplete,
        "un groupe d'âge manque à l'un des deux derniers recensements",
        "rapport de cohorte indéfini : groupe vide au recensement précédent",
    )
    return pd.DataFrame({
        "code": np.repeat(censuses.codes.to_numpy(), sexes * ages),
        "name": np.repeat(censuses.names.to_numpy(), sexes * ages),
        "period": period,
        "sexe": np.tile(np.repeat(list(stats.SEXES), ages), n),
        "age": np.tile(labels, n * sexes),
        "value": value,
        "status": np.where(ok, PROJECTED, "nd"),
        "note": np.where(ok, "", why),
    })  # fmt: skip
