"""Projections of an indicator for every territory of a level, with the error of each method
measured on the base (see :mod:`observatoire.stats.projection` for the methods).

What is projected:

- a count or a published value (a median, a rate published without its counts): its own
  series, at the levels where it has values (published values only where published);
- a ratio of sums: its numerator and its denominator, each projected, then divided, so that
  the projected ratio is the ratio of projected counts (and never a separately projected
  ratio); a quotient or a difference of two indicators, likewise from its two parts.

Only values of status ``ok`` make a series (a partial sum, a value of other boundaries is no
point of the trend). The error of each method is measured by a back-test over every territory
of the level (not only those shown); a level of too few territories (régions, France, a zoning
of five zones) borrows the error of the nearest finer level that has enough, which is larger:
its intervals are prudent. A restricted reader is given the projections of the territories
whose every value of the history it may see.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from observatoire.catalog.indicators import Aggregation, Catalogue, Formula, Indicator
from observatoire.catalog.periods import per_year, period_end, period_time, steps_after
from observatoire.engine.access import ReadAccess
from observatoire.engine.compute import compute_indicator
from observatoire.engine.reading import read_indicator
from observatoire.errors import AccessError, InputError, ReferentialError
from observatoire.secret.policy import ANALYST, ReadPolicy
from observatoire.stats import projection as stats
from observatoire.store.computed import read_computed
from observatoire.territories.levels import LEVELS, is_official

__all__ = ["PROJECTED", "Projection", "horizon_words", "project_indicator"]

PROJECTED = "projection"  # the status of a projected value: an estimate, never « ok »
Within = tuple[str, str] | None
Combine = Callable[[list[np.ndarray]], np.ndarray]


@dataclass(frozen=True)
class Series:
    """An indicator's history at one level: the parts' values (territories × periods, NaN
    where not ``ok``, on a common mask) and how they make the indicator."""

    codes: pd.Index
    periods: tuple[str, ...]
    times: np.ndarray
    parts: list[np.ndarray]
    combine: Combine

    @property
    def values(self) -> np.ndarray:
        return self.combine(self.parts)

    def holdout(self, method: str) -> stats.Holdout:
        tests = [stats.holdout(self.times, part, method) for part in self.parts]
        return stats.Holdout(
            self.combine([t.predicted for t in tests]),
            self.combine([t.actual for t in tests]),
            tests[0].horizon,
        )

    def project(self, method: str, target: float) -> np.ndarray:
        targets = np.full(len(self.codes), target)
        return self.combine([stats.project(self.times, p, method, targets) for p in self.parts])


@dataclass(frozen=True)
class Projection:
    """Projected values of an indicator (``values``: code, name, period, value, low, high,
    status, note), the history they extend (``observed``), and the back-test of every method
    (``errors``: method, label, level, territories, horizon, mape, coverage, offered,
    default) of which ``method`` is used, its interval measured at level ``measured_at``."""

    indicator: str
    level: str
    method: str
    default_method: str
    target: str
    history: tuple[str, ...]
    values: pd.DataFrame
    observed: pd.DataFrame
    errors: pd.DataFrame
    confidence: float
    measured_at: str
    notes: tuple[str, ...] = field(default=())

    @property
    def trend_years(self) -> str:
        """The years of the trend: « 2016-2021 », « de 2023-T3 à 2025-T2 »."""
        first, last = self.history[0], self.history[-1]
        if first.isdigit() and last.isdigit():
            return f"{first}-{last}"
        return f"de {first} à {last}"

    @property
    def assumption(self) -> str:
        """What the figures assume, as a clause: « si la tendance 2016-2021 se poursuivait »."""
        if self.method == stats.BASELINE:
            return f"si la valeur de {self.history[-1]} restait inchangée"
        return f"si la tendance {self.trend_years} se poursuivait"

    @property
    def error(self) -> pd.Series:
        """The back-test row of the method used."""
        return self.errors.set_index("method").loc[self.method]

    def points(self, code: str) -> list[dict[str, Any]]:
        """Territory ``code``'s projected periods to the target (period, value, low, high),
        none when it is not projected up to it."""
        rows = self.values[(self.values.code == code) & (self.values.status == PROJECTED)]
        if rows.empty or str(rows.period.iloc[-1]) != self.target:
            return []
        return [
            {"period": str(r.period), "value": float(r.value),
             "low": None if pd.isna(r.low) else float(r.low),
             "high": None if pd.isna(r.high) else float(r.high)}
            for r in rows.itertuples()
        ]  # fmt: skip


def project_indicator(
    access: ReadAccess,
    ident: str,
    level: str,
    *,
    within: Within = None,
    to: str | None = None,
    method: str | None = None,
    reader: ReadPolicy = ANALYST,
    confidence: float = 0.8,
) -> Projection:
    """Indicator ``ident`` projected for every territory of ``level`` inside ``within``, to
    the year ``to`` (default: as far as the history supports), by ``method`` (default: the
    smallest measured error among methods no worse than no change)."""
    if method is not None and method not in stats.METHODS:
        raise InputError(f"méthode de projection « {method} » inconnue ; possibles : "
                         f"{', '.join(stats.METHODS)}")  # fmt: skip
    indicator = access.catalogue.get(ident)
    shown = _shown(access, ident, level, within, reader)
    series = _series(access, indicator, level)
    if len(series.periods) < 2:
        raise ReferentialError(
            f"indicateur {ident} au niveau {level} : une projection prolonge une série ; "
            f"{_periods_text(series.periods)} (il en faut au moins deux, datées)"
        )
    errors, measured_at = _errors(access, indicator, level, series, confidence, reader)
    usable = {m: e for m, e in errors.items() if e.usable}
    if not usable:
        raise ReferentialError(
            f"indicateur {ident} au niveau {level} : l'erreur des projections ne peut pas être "
            f"mesurée (moins de {stats.MIN_TERRITORIES} territoires dont la dernière valeur "
            "peut être comparée à une projection des précédentes) ; sans erreur mesurée, pas "
            "de projection"
        )
    default = stats.choose(usable)
    chosen = method or default
    if chosen not in usable:
        raise InputError(
            f"méthode {chosen} : son erreur n'a pu être mesurée au niveau {level} (trop peu de "
            "territoires ont assez de valeurs pour elle) ; méthodes possibles : "
            f"{', '.join(usable)}"
        )
    subset = _subset(series, pd.Index(shown.code.astype(str).unique()))
    where = f"indicateur {ident} au niveau {level}" + (f" dans {within[1]}" if within else "")
    observed = _observed_times(subset, where)
    if len(subset.periods) < 2:
        raise ReferentialError(
            f"{where} : une seule période a des valeurs de statut ok ({subset.periods[0]}) ; "
            "une projection prolonge une série"
        )
    first, last = float(np.nanmin(observed)), float(np.nanmax(observed))
    steps = _targets(to, first, last, subset.periods, ident)
    frame = _projected(subset, shown, chosen, errors[chosen], steps)
    frame = _visible(frame, shown, subset, reader)
    table = _error_table(errors, measured_at, default)
    target = steps[-1][0]
    return Projection(
        indicator=ident,
        level=level,
        method=chosen,
        default_method=default,
        target=target,
        history=subset.periods,
        values=frame,
        observed=_observed_frame(subset, shown, reader),
        errors=table,
        confidence=confidence,
        measured_at=measured_at,
        notes=_notes(chosen, default, errors, level, measured_at),
    )


# -- reading the history ------------------------------------------------------------------------
def _shown(access: ReadAccess, ident: str, level: str, within: Within,
           reader: ReadPolicy) -> pd.DataFrame:  # fmt: skip
    """The values ``reader`` sees of the territories shown: those of ``level`` inside
    ``within``, or the territory ``within`` itself when it is of ``level``."""
    if within is not None and within[0] == level:
        frame = read_indicator(access, ident, level, reader=reader)
        frame = frame[frame.code.astype(str) == within[1]]
        if frame.empty:
            raise ReferentialError(f"territoire {level}:{within[1]} inconnu")
        return frame
    return read_indicator(access, ident, level, within=within, reader=reader)


def _series(access: ReadAccess, indicator: Indicator, level: str) -> Series:
    formula = indicator.formula
    if formula.numerator:
        frames = _parts_of_ratio(access, indicator, level)
        scale = formula.multiplier

        def ratio(parts: list[np.ndarray]) -> np.ndarray:
            with np.errstate(invalid="ignore", divide="ignore"):
                return np.where(parts[1] > 0, parts[0] / parts[1] * scale, np.nan)

        return _matrix(frames, ratio)
    if formula.indicators:
        a, b = formula.indicators
        frames = [_history(access, part, level) for part in (a, b)]
        if formula.difference:
            return _matrix(frames, lambda p: p[0] - p[1])

        def quotient(parts: list[np.ndarray]) -> np.ndarray:
            with np.errstate(invalid="ignore", divide="ignore"):
                return np.where(parts[1] != 0, parts[0] / parts[1], np.nan)

        return _matrix(frames, quotient)
    return _matrix([_history(access, indicator.id, level)], lambda p: p[0])


def _history(access: ReadAccess, ident: str, level: str) -> pd.DataFrame:
    """Every value of ``ident`` at ``level`` as the analyst reads it: the stored ones when
    the whole level is computed and in force, else computed now (territories without a value
    left out: a series needs none)."""
    if access.computed_codes(level) is None:
        stored = read_computed(access.warehouse, ident, level)
        if stored is not None:
            return stored
    return compute_indicator(access.warehouse, access.catalogue, ident, level=level,
                             complete=False)  # fmt: skip


def _parts_of_ratio(access: ReadAccess, indicator: Indicator, level: str) -> list[pd.DataFrame]:
    """The numerator's and denominator's sums, as the ratio is computed (members summed)."""
    formula = indicator.formula
    parts = Catalogue()
    for role, names in (("numerateur", formula.numerator), ("denominateur", formula.denominator)):
        parts.add(Indicator(id=f"{indicator.id}__{role}", label=role, theme=indicator.theme,
                            unit="", formula=Formula(variable=names),
                            aggregation=Aggregation.SUM))  # fmt: skip
    return [
        compute_indicator(access.warehouse, parts, ident, level=level, complete=False)
        for ident in parts.indicators
    ]


def _matrix(frames: list[pd.DataFrame], combine: Combine) -> Series:
    """Territories × dated periods of each frame's ``ok`` values, on their common mask."""
    dated = sorted(
        {str(p) for f in frames for p in f.period.dropna().unique() if period_time(str(p))},
        key=lambda p: period_time(p) or 0.0,
    )
    codes = pd.Index(sorted({str(c) for f in frames for c in f.code[f.status == "ok"]}))
    parts = []
    for frame in frames:
        ok = frame[(frame.status == "ok") & frame.period.astype(str).isin(dated)]
        table = ok.pivot_table(index=ok.code.astype(str), columns=ok.period.astype(str),
                               values="value", aggfunc="first")  # fmt: skip
        parts.append(table.reindex(index=codes, columns=dated).to_numpy(dtype=float))
    common = np.logical_and.reduce([~np.isnan(p) for p in parts])
    parts = [np.where(common, p, np.nan) for p in parts]
    kept = common.any(axis=0)  # a period where no territory has every part is no point
    periods = tuple(p for p, k in zip(dated, kept, strict=True) if k)
    rows = common.any(axis=1)
    times = np.array([period_time(p) for p in periods], dtype=float)
    return Series(codes[rows], periods, times, [p[rows][:, kept] for p in parts], combine)


def _subset(series: Series, codes: pd.Index) -> Series:
    """The series of territories ``codes`` (NaN for one without any value), with only the
    periods some of them observed."""
    rows = series.codes.get_indexer(codes)
    take = np.maximum(rows, 0)
    if len(series.codes) == 0:
        parts = [np.full((len(codes), len(series.periods)), np.nan) for _ in series.parts]
    else:
        parts = [np.where((rows >= 0)[:, None], p[take], np.nan) for p in series.parts]
    keep = np.logical_or.reduce([~np.isnan(p).all(axis=0) for p in parts])
    return Series(codes, tuple(str(p) for p in np.array(series.periods)[keep]), series.times[keep],
                  [p[:, keep] for p in parts], series.combine)  # fmt: skip


def _observed_times(series: Series, where: str) -> np.ndarray:
    seen = ~np.isnan(series.values)
    if not seen.any():
        raise ReferentialError(f"{where} : aucune valeur observée (de statut ok) à prolonger")
    return np.where(seen, series.times, np.nan)


def _periods_text(periods: tuple[str, ...]) -> str:
    if not periods:
        return "aucune période datée n'a de valeur"
    return f"une seule période datée a des valeurs ({periods[0]})"


# -- measuring the error --------------------------------------------------------------------------
def _errors(
    access: ReadAccess,
    indicator: Indicator,
    level: str,
    series: Series,
    confidence: float,
    reader: ReadPolicy,
) -> tuple[dict[str, stats.Measure], str]:
    """The back-test of every method at ``level``, else at the nearest finer level where
    enough territories can be tested; for a restricted ``reader``, on the territories whose
    whole history it sees only (an error over masked cells would tell them)."""
    errors = _measured(_seen_by(access, indicator.id, level, series, reader), confidence)
    if errors[stats.BASELINE].usable:
        return errors, level
    for finer in _finer_levels(level):
        try:
            other = _series(access, indicator, finer)
        except (InputError, ReferentialError):  # a level not in this referential
            continue
        if len(other.periods) < 2:
            continue
        try:
            other = _seen_by(access, indicator.id, finer, other, reader)
        except (AccessError, ReferentialError):  # not computed there for this reader
            continue
        found = _measured(other, confidence)
        if found[stats.BASELINE].usable:
            return found, finer
    return errors, level


def _seen_by(access: ReadAccess, ident: str, level: str, series: Series,
             reader: ReadPolicy) -> Series:  # fmt: skip
    """``series`` without the territories of which ``reader`` does not see every value."""
    if not reader.restricted:
        return series
    view = access.audience_view(ident, level, None, None, reader, complete=False)
    hidden = _hidden(view, series)
    keep = ~np.isin(np.asarray(series.codes), list(hidden))
    return Series(series.codes[keep], series.periods, series.times,
                  [p[keep] for p in series.parts], series.combine)  # fmt: skip


def _hidden(view: pd.DataFrame, series: Series) -> set[str]:
    """The territories of ``series`` with a value that ``view`` (a reader's) does not show."""
    seen = view[view.status == "ok"]
    visible = (
        pd.crosstab(seen.code.astype(str), seen.period.astype(str))
        .reindex(index=series.codes, columns=list(series.periods), fill_value=0)
        .to_numpy()
        > 0
    )
    observed = ~np.isnan(series.values)
    return set(series.codes[(observed & ~visible).any(axis=1)])


def _measured(series: Series, confidence: float) -> dict[str, stats.Measure]:
    """Every method's error, all tested on the same territories."""
    tests = stats.align({m: series.holdout(m) for m in stats.METHODS})
    return {m: stats.measure(m, test, confidence) for m, test in tests.items()}


def _finer_levels(level: str) -> list[str]:
    """Official levels finer than ``level``, nearest first (a zoning: the communes)."""
    if not is_official(level):
        return ["commune"]
    rank = LEVELS[level].rank
    finer = [lv for lv in LEVELS if LEVELS[lv].rank < rank and lv not in ("qpv", "arm")]
    return sorted(finer, key=lambda lv: -LEVELS[lv].rank)


def _error_table(errors: dict[str, stats.Measure], level: str, default: str) -> pd.DataFrame:
    rows = []
    for name, e in errors.items():
        rows.append({
            "method": name, "label": stats.METHODS[name], "level": level,
            "territories": e.territories, "horizon": e.horizon, "mape": e.mape,
            "coverage": e.coverage, "confidence": e.confidence,
            "offered": stats.offered(errors, name), "default": name == default,
        })  # fmt: skip
    return pd.DataFrame(rows)


def _notes(chosen: str, default: str, errors: dict[str, stats.Measure], level: str,
           measured_at: str) -> tuple[str, ...]:  # fmt: skip
    notes = []
    error = errors[chosen]
    if measured_at != level:
        notes.append(
            f"trop peu de territoires testables au niveau {level} pour mesurer l'erreur : elle "
            f"est mesurée au niveau {measured_at}, plus fin (intervalles prudents)"
        )
    if chosen != default and not stats.offered(errors, chosen):
        notes.append(
            f"la méthode « {stats.METHODS[chosen]} » s'est trompée davantage que l'absence "
            "d'évolution dans le test sur les données de la base : elle n'est pas proposée "
            "par défaut"
        )
    if error.biased:
        side = "au-dessus" if error.biased == "sous-estime" else "au-dessous"
        notes.append(
            f"dans le test, la méthode {error.biased} le plus souvent la valeur observée : "
            f"l'intervalle est décalé {side} de la valeur projetée"
        )
    if not error.has_interval:
        notes.append("pas d'intervalle : trop peu de valeurs positives pour le mesurer")
    elif error.coverage != error.coverage:
        notes.append(f"couverture de l'intervalle non mesurée (moins de "
                     f"{2 * stats.MIN_TERRITORIES} territoires testés)")  # fmt: skip
    return tuple(notes)


# -- the projected values ----------------------------------------------------------------------
def _targets(to: str | None, first: float, last: float, periods: tuple[str, ...],
             ident: str) -> list[tuple[str, float]]:  # fmt: skip
    """The periods projected (label, time), in the series' own frequency (years, quarters,
    months): up to ``to`` (a year, or a period), or as far as the history supports."""
    frequency = per_year(periods)
    reach = last + (last - first)
    if to is None:
        steps = steps_after(last, reach, frequency)
        if not steps:
            raise ReferentialError(
                f"indicateur {ident} : l'historique {periods[0]}-{periods[-1]} est trop court "
                "pour projeter une période au-delà de sa dernière valeur"
            )
        return steps
    text = to.strip()
    if not re.fullmatch(r"[0-9]{4}(-T[1-4]|-(0[1-9]|1[0-2]))?", text):
        raise InputError(f"horizon « {to} » : une année attendue (ex. 2030)")
    until = period_end(text, frequency)
    assert until is not None
    if until <= last + 1e-9:
        raise InputError(f"horizon {text} : il doit suivre la dernière valeur ({periods[-1]})")
    if until > reach + 1e-9:
        furthest = steps_after(last, reach, frequency)
        end = furthest[-1][0] if furthest else periods[-1]
        raise InputError(
            f"horizon {text} refusé : l'historique {periods[0]}-{periods[-1]} couvre "
            f"{horizon_words(last - first)} ; une tendance ne se prolonge pas plus loin après "
            f"la dernière valeur que l'historique qui la mesure, soit jusqu'en {end}"
        )
    return steps_after(last, until, frequency)


def horizon_words(years: float) -> str:
    """A horizon in words: « 2 ans », « 1 an », « 3 mois ».

    >>> horizon_words(2.0), horizon_words(1.0), horizon_words(0.25), horizon_words(1.5)
    ('2 ans', '1 an', '3 mois', '1,5 an')
    """
    if years < 1:
        return f"{round(years * 12)} mois"
    return _years(years)


def _years(span: float) -> str:
    text = f"{span:g}".replace(".", ",")
    return f"{text} an" if span < 2 else f"{text} ans"


def _projected(series: Series, shown: pd.DataFrame, method: str, error: stats.Measure,
               steps: list[tuple[str, float]]) -> pd.DataFrame:  # fmt: skip
    """One row per territory and projected period, with why a territory has none."""
    names = pd.Series(shown.name.to_numpy(), index=shown.code.astype(str))
    names = names[~names.index.duplicated()].reindex(series.codes)
    names = names.where(names.notna(), series.codes.to_series(index=series.codes)).to_numpy()
    values = series.values
    count, _, last_each, _ = stats.ends(series.times, values)
    reported = set(shown.code[~shown.status.isin(["ok", "nd", "missing"])].astype(str))
    seen = np.array([c in reported for c in series.codes])
    nonpositive = (values <= 0).any(axis=1)
    frames = []
    for label, time in steps:
        points = series.project(method, time)
        low, high = stats.interval(points, time - last_each, error)
        ok = stats.supported(series.times, values, time) & np.isfinite(points)
        why = np.select(
            [(count == 0) & ~seen, count == 0,
             (count < (1 if method == stats.BASELINE else 2)),
             nonpositive & (method == "loglinear"), ~stats.supported(series.times, values, time)],
            ["aucune valeur observée à prolonger",
             "valeurs partielles, secrètes ou d'un autre périmètre : pas de série à prolonger",
             "trop peu de valeurs observées pour cette méthode",
             "valeurs nulles ou négatives : pas de tendance log-linéaire",
             "historique trop court pour projeter jusqu'à cette période"],
            "projection impossible",
        )  # fmt: skip
        banded = np.isfinite(low)
        note = np.where(ok, np.where(banded | ~error.has_interval, "",
                                     "intervalle non mesurable (valeur nulle ou négative)"),
                        why)  # fmt: skip
        frames.append(pd.DataFrame({
            "code": series.codes, "name": names,
            "period": label, "value": np.where(ok, points, np.nan),
            "low": np.where(ok, low, np.nan), "high": np.where(ok, high, np.nan),
            "status": np.where(ok, PROJECTED, "nd"), "note": note,
            "method": method, "error_mape": error.mape,
        }))  # fmt: skip
    return pd.concat(frames, ignore_index=True)


def _visible(frame: pd.DataFrame, shown: pd.DataFrame, series: Series,
             reader: ReadPolicy) -> pd.DataFrame:  # fmt: skip
    """Projections a restricted ``reader`` may see: those of territories whose every value
    of the history it sees (``ok`` in its own view)."""
    if not reader.restricted:
        return frame
    hidden = _hidden(shown, series)
    masked = frame.code.isin(hidden)
    frame = frame.copy()
    frame.loc[masked, ["value", "low", "high"]] = np.nan
    frame.loc[masked, "status"] = "secret"
    frame.loc[masked, "note"] = "une valeur de l'historique est sous secret ou non diffusée"
    return frame


def _observed_frame(series: Series, shown: pd.DataFrame, reader: ReadPolicy) -> pd.DataFrame:
    """The history the projections extend, as ``reader`` sees it (its own view's values)."""
    periods = set(series.periods)
    frame = shown[shown.period.astype(str).isin(periods) & (shown.status == "ok")]
    return frame[["code", "name", "period", "value"]].reset_index(drop=True)
