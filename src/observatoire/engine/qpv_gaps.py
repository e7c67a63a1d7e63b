"""The quartiers prioritaires against the rest of their communes: for a rate with counts, each
QPV's value beside that of the part of its communes outside the QPV, and the ensemble of a
département's QPV beside the rest of the département — the comparison the politique de la
ville makes (« écart QPV / hors QPV »).

The rest is counted, never estimated: Σ counts of the communes − Σ counts of the QPV of the
same generation that lie in them. A QPV may span several communes, and a commune hold several
QPV: the QPV and communes linked to one another form one whole, and its rest is shared by its
QPV. The rest is given only when every commune of the whole has its published counts for the
same period (no partial, secret or missing value) and every QPV of the whole has its own; and
when the difference makes sense (the QPV count no more than their communes). Otherwise the
reason is said. The comparison is the one every view reads
(:func:`observatoire.engine.compare.judge`): the rest outside the QPV's 95 % interval.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from observatoire.catalog.indicators import Indicator
from observatoire.catalog.statuses import ValueStatus
from observatoire.engine.access import ReadAccess
from observatoire.engine.compare import judge
from observatoire.engine.compute import ratio_interval
from observatoire.engine.counts import with_counts
from observatoire.engine.funnel import has_funnel
from observatoire.engine.reading import read_indicator
from observatoire.errors import AccessError, InputError, ReferentialError
from observatoire.secret.policy import ANALYST, ReadPolicy
from observatoire.store.territories import names_among, territory_parents
from observatoire.territories.qpv import ensemble_code

__all__ = ["SCOPES", "QpvGaps", "qpv_gaps"]

SCOPES = ("departement", "region")  # where QPV are compared (None: every département)
_ROW = ["value", "ci_low", "ci_high", "numerator", "denominator"]


@dataclass(frozen=True)
class QpvGaps:
    """``quartiers``: one row per QPV (code, name, ensemble, communes: their names, status,
    value, ci_low, ci_high, numerator, denominator, rest_value, rest_ci_low, rest_ci_high,
    rest_numerator, rest_denominator, note: why there is no rest, rest_communes: the names
    of the communes whose rest it is, gap, ratio, assessment);
    ``ensembles``: one row per ensemble of QPV against the rest of its département (the same
    columns, ``departement`` and ``departement_name`` for ``communes``)."""

    indicator: Indicator
    within: tuple[str, str] | None
    period: str
    quartiers: pd.DataFrame
    ensembles: pd.DataFrame
    notes: list[str] = field(default_factory=list)


def qpv_gaps(
    access: ReadAccess,
    ident: str,
    *,
    within: tuple[str, str] | None = None,
    period: str | None = None,
    reader: ReadPolicy = ANALYST,
) -> QpvGaps:
    """Each QPV inside ``within`` (a département, a région; None: all) against the rest of its
    communes, and each ensemble of QPV against the rest of its département, for rate
    ``ident`` at ``period`` (by default the latest with QPV values)."""
    indicator = access.catalogue.get(ident)
    if not has_funnel(indicator):
        raise InputError(f"QPV et hors QPV : le reste des communes se compte sur les effectifs "
                         f"d'un taux dont la loi est connue (intervalle de Wilson ou de Poisson) "
                         f"; ce n'est pas le cas de {ident}")  # fmt: skip
    if within is not None and within[0] not in SCOPES:
        raise InputError(f"QPV et hors QPV : dans un département ou une région (pas « "
                         f"{within[0]} »)")  # fmt: skip
    everyone = read_indicator(access, ident, "qpv", within=within, reader=reader)
    period = _period(everyone, period, ident)
    quartiers = _of_period(everyone, period)
    counted = _counted(access, ident, "qpv", within, period, quartiers, reader)
    notes = []
    try:
        communes = read_indicator(access, ident, "commune", within=within, period=period,
                                  reader=reader)  # fmt: skip
    except (AccessError, ReferentialError) as error:  # not theirs, or not computed for them
        notes.append(f"Valeurs communales non disponibles ici : {error}")
        communes = quartiers.iloc[0:0]
    towns = _counted(access, ident, "commune", within, period, communes, reader)
    notes += _notes(indicator, period, towns)
    rows = _quartiers(access, counted, towns, indicator)
    ensembles = _ensembles(access, ident, sorted(set(rows.ensemble.dropna())), period, indicator,
                           reader)  # fmt: skip
    floor = _threshold(access, ident, reader)
    return QpvGaps(indicator, within, period, _below(rows, floor, indicator),
                   _below(ensembles, floor, indicator), notes)  # fmt: skip


def _of_period(frame: pd.DataFrame, period: str) -> pd.DataFrame:
    """The rows of ``period``, and a row for each territory without one (status missing):
    a QPV without a value is listed, with its reason, never dropped."""
    mine = frame[frame.period.astype(str) == period]
    absent = frame[~frame.code.isin(mine.code)].drop_duplicates("code")
    if absent.empty:
        return mine
    blank = absent.assign(period=period, status=ValueStatus.MISSING.value)
    for column in ("value", "ci_low", "ci_high", "coverage"):
        if column in blank:
            blank[column] = np.nan
    return pd.concat([mine, blank], ignore_index=True)


def _threshold(access: ReadAccess, ident: str, reader: ReadPolicy) -> int:
    """The smallest count ``reader`` may be shown for ``ident``: the largest threshold of the
    secret rules of the counts it is made of (0: no rule for this reader)."""
    if not reader.restricted:
        return 0
    catalogue = access.catalogue
    rules = [catalogue.get(s).secret for s in catalogue.secret_sources(ident)]
    return max((r.threshold(reader.audience) for r in rules if r is not None), default=0)


def _below(frame: pd.DataFrame, floor: int, indicator: Indicator) -> pd.DataFrame:
    """A rest whose count is under the reader's secret threshold is not shown: it is a new
    cell the secret's relations do not hold (commune = its QPV + the rest), so its own count
    is checked here as any published count is."""
    if floor <= 0 or frame.empty:
        return frame
    counts = frame[["rest_numerator", "rest_denominator"]].astype(float)
    small = ((counts > 0) & (counts < floor)).any(axis=1)
    if not small.any():
        return frame
    frame = frame.copy()
    hidden = [c for c in frame.columns if c.startswith("rest_") and c != "rest_communes"]
    frame.loc[small, hidden] = np.nan
    frame.loc[small, ["gap", "ratio", "assessment"]] = np.nan
    frame.loc[small, "note"] = f"reste sous le seuil du secret statistique (moins de {floor})"
    return frame


def _period(frame: pd.DataFrame, period: str | None, ident: str) -> str:
    usable = frame[frame.value.notna()]
    if usable.empty:
        raise InputError(f"QPV et hors QPV : {ident} n'a de valeur pour aucun QPV ici "
                         "(importez un fichier par quartier prioritaire de l'ANCT)")  # fmt: skip
    if period is None:
        return str(max(usable.period.astype(str)))
    if not (usable.period.astype(str) == period).any():
        years = ", ".join(sorted(set(usable.period.astype(str))))
        raise InputError(f"QPV et hors QPV : {ident} n'a pas de valeur de QPV en {period} "
                         f"(périodes : {years})")  # fmt: skip
    return period


def _counted(access: ReadAccess, ident: str, level: str, within: tuple[str, str] | None,
             period: str, frame: pd.DataFrame, reader: ReadPolicy) -> pd.DataFrame:  # fmt: skip
    """The reader's rows of ``period`` with their published counts (NaN where not)."""
    if frame.empty:
        return frame.assign(numerator=pd.Series(dtype=float),
                            denominator=pd.Series(dtype=float), counts_note=None)  # fmt: skip
    return with_counts(access, ident, level, within, period, frame, reader)


def _notes(indicator: Indicator, period: str, towns: pd.DataFrame) -> list[str]:
    notes = []
    if towns.value.notna().sum() == 0:
        notes.append(f"Aucune commune n'a de valeur de « {indicator.label} » en {period} : le "
                     "reste des communes ne peut être compté (importez les données communales "
                     "de la même année que celles des QPV).")  # fmt: skip
    formula = indicator.formula
    if len(formula.numerator) > 1 or len(formula.denominator) > 1:
        sources = ", ".join([*formula.numerator, *formula.denominator])
        notes.append(f"Numérateur ou dénominateur à plusieurs sources possibles ({sources}) : "
                     "celle des QPV peut différer de celle des communes.")  # fmt: skip
    return notes


def _wholes(links: pd.DataFrame) -> dict[str, int]:
    """Each QPV and commune (``q:``/``c:`` keys) to the number of its connected whole."""
    parent: dict[str, str] = {}

    def root(key: str) -> str:
        parent.setdefault(key, key)
        while parent[key] != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    for qpv, commune in zip(links.code, links.parent_code, strict=True):
        a, b = root(f"q:{qpv}"), root(f"c:{commune}")
        if a != b:
            parent[a] = b
    roots = sorted({root(key) for key in list(parent)})
    number = {r: i for i, r in enumerate(roots)}
    return {key: number[root(key)] for key in list(parent)}


def _quartiers(access: ReadAccess, counted: pd.DataFrame, towns: pd.DataFrame,
               indicator: Indicator) -> pd.DataFrame:  # fmt: skip
    warehouse = access.warehouse
    links = territory_parents(warehouse, "qpv", ["commune", "ensemble_qpv"])
    ensemble_of = dict(links[links.parent_level == "ensemble_qpv"][["code", "parent_code"]]
                       .itertuples(index=False))  # fmt: skip
    counted = counted.assign(ensemble=counted.code.map(
        lambda c: ensemble_of.get(c) or ensemble_code(c)))  # fmt: skip
    # every QPV of the same ensembles counts in the rest, with a value or not
    shown_ensembles = set(counted.ensemble)
    same = links[(links.parent_level == "commune")
                 & links.code.map(lambda c: ensemble_of.get(c) in shown_ensembles)]  # fmt: skip
    whole = _wholes(same)
    towns = towns.set_index("code")
    quartiers = counted.set_index("code")
    names = names_among(warehouse, "commune", sorted(set(same.parent_code)))
    rests: dict[int, tuple[float, float] | str] = {}
    spans: dict[int, str] = {}
    groups: dict[int, list[str]] = {}
    for key, number in whole.items():
        groups.setdefault(number, []).append(key)
    for number, members in groups.items():
        qpvs = sorted(k[2:] for k in members if k.startswith("q:"))
        cities = sorted(k[2:] for k in members if k.startswith("c:"))
        rests[number] = _rest(qpvs, cities, quartiers, towns, names)
        spans[number] = ", ".join(sorted(names.get(c, c) for c in cities))
    own = same.groupby("code").parent_code.apply(sorted).to_dict()
    rows = []
    for code, row in quartiers.iterrows():
        mine = [names.get(c, c) for c in own.get(code, [])]
        place = whole.get(f"q:{code}")
        if place is None:
            rest: tuple[float, float] | str | None = "communes du QPV inconnues"
        else:
            rest = rests[place]
            linked = set(spans[place].split(", ")) - set(mine)  # reached through other QPV
            if isinstance(rest, str) and linked:
                rest += (f" — le reste est commun à {len(linked) + len(mine)} communes reliées "
                         "par des QPV à cheval sur plusieurs d'entre elles")  # fmt: skip
        out = _row(str(code), row, rest, ", ".join(mine))
        out["rest_communes"] = spans.get(place) if place is not None else None
        rows.append(out)
    frame = pd.DataFrame(rows, columns=[*_columns("communes"), "rest_communes"])
    return _compared(frame, indicator)


def _why(line: pd.Series) -> str:
    """Why a value's counts cannot be used: its counts' note, its coverage, or its status in
    words."""
    if isinstance(line.counts_note, str) and line.counts_note:
        return line.counts_note
    coverage = line.get("coverage")
    if line.status in ("partial", "nd") and isinstance(coverage, float) and coverage == coverage:
        word = "partielle" if line.status == "partial" else "insuffisante"
        return f"couverture {word} ({coverage:.0%})".replace("%", " %")
    try:
        return ValueStatus(line.status).label
    except ValueError:
        return str(line.status)


def _unusable(codes: list[str], frame: pd.DataFrame, say: Callable[[str], str]) -> str | None:
    """Why ``codes`` without published counts in ``frame`` have none (the first three
    named, the others counted), or None."""
    why = []
    for code in codes:
        if code not in frame.index:
            why.append(f"{say(code)} : pas de valeur à cette période")
            continue
        line = frame.loc[code]
        if line.status != "ok" or pd.isna(line.denominator):
            why.append(f"{say(code)} : {_why(line)}")
    if not why:
        return None
    more = f" ; et {len(why) - 3} autre(s)" if len(why) > 3 else ""
    return " ; ".join(why[:3]) + more


def _rest(qpvs: list[str], cities: list[str], quartiers: pd.DataFrame, towns: pd.DataFrame,
          names: dict[str, str]) -> tuple[float, float] | str:  # fmt: skip
    """The counts of ``cities`` outside ``qpvs``, or why they cannot be counted."""
    why = _unusable(cities, towns, lambda c: names.get(c, c)) or _unusable(
        qpvs, quartiers, lambda q: f"le QPV {q} de ces communes"
    )
    if why:
        return why
    k = float(towns.loc[cities, "numerator"].sum() - quartiers.loc[qpvs, "numerator"].sum())
    n = float(towns.loc[cities, "denominator"].sum() - quartiers.loc[qpvs, "denominator"].sum())
    if n <= 0 or k < 0:
        return ("effectifs incohérents : les QPV comptent plus que leurs communes (sources ou "
                "dates différentes ?)")  # fmt: skip
    return k, n


def _columns(place: str) -> list[str]:
    return ["code", "name", "ensemble", place, "status", *_ROW,
            *(f"rest_{c}" for c in _ROW), "note"]  # fmt: skip


def _row(code: str, row: pd.Series, rest: tuple[float, float] | str | None,
         place: str) -> dict[str, object]:  # fmt: skip
    out = {"code": code, "name": row["name"], "ensemble": row.get("ensemble"), "communes": place,
           "status": row.status, **{c: row.get(c) for c in _ROW}}  # fmt: skip
    if isinstance(rest, tuple):
        out |= {"rest_numerator": rest[0], "rest_denominator": rest[1], "note": None}
    else:
        out["note"] = rest
    return out


def _compared(frame: pd.DataFrame, indicator: Indicator) -> pd.DataFrame:
    """The rest's value and interval, and the QPV's comparison with it."""
    k = frame.rest_numerator.astype(float).to_numpy()
    n = frame.rest_denominator.astype(float).to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        frame["rest_value"] = k / n * indicator.formula.multiplier
    frame["rest_ci_low"], frame["rest_ci_high"] = ratio_interval(indicator, k, n)
    value, rest = frame.value.astype(float), frame.rest_value.astype(float)
    usable = value.notna() & rest.notna() & (frame.status == "ok")
    gap, _, words = judge(value, rest, frame.ci_low.astype(float), frame.ci_high.astype(float),
                          usable, indicator.polarity)  # fmt: skip
    frame["gap"] = gap
    with np.errstate(divide="ignore", invalid="ignore"):
        frame["ratio"] = (value / rest).where(usable & (rest != 0))
    frame["assessment"] = words
    return frame


def _ensembles(access: ReadAccess, ident: str, codes: list[str], period: str,
               indicator: Indicator, reader: ReadPolicy) -> pd.DataFrame:  # fmt: skip
    """Each ensemble of QPV against its département outside its QPV."""
    if not codes:
        return pd.DataFrame(columns=[*_columns("departement"), "departement_name"])
    departements = sorted({c.split("-")[-1] for c in codes})  # QPV2015-93: the 93
    try:
        whole = read_indicator(access, ident, "ensemble_qpv", period=period, reader=reader)
        tops = read_indicator(access, ident, "departement", period=period, reader=reader)
    except (AccessError, ReferentialError):  # not computed for a restricted reader
        return pd.DataFrame(columns=[*_columns("departement"), "departement_name"])
    whole = whole[whole.code.isin(codes)]
    whole = _counted(access, ident, "ensemble_qpv", None, period, whole, reader).set_index("code")
    tops = tops[tops.code.isin(departements)]
    tops = _counted(access, ident, "departement", None, period, tops, reader).set_index("code")
    rows = []
    for code in codes:
        dep = code.split("-")[-1]
        if code not in whole.index:
            continue
        line = whole.loc[code]
        rest: tuple[float, float] | str
        if dep not in tops.index:
            rest = "pas de valeur du département à cette période"
        elif tops.loc[dep].status != "ok" or pd.isna(tops.loc[dep].denominator):
            rest = f"département : {_why(tops.loc[dep])}"
        elif line.status != "ok" or pd.isna(line.denominator):
            rest = f"ensemble des QPV : {_why(line)}"
        else:
            k = float(tops.loc[dep].numerator - line.numerator)
            n = float(tops.loc[dep].denominator - line.denominator)
            incoherent = "effectifs incohérents : les QPV comptent plus que leur département"
            rest = (k, n) if n > 0 and k >= 0 else incoherent
        out = _row(code, line, rest, dep)
        out["departement"] = out.pop("communes")
        out["ensemble"] = code
        out["departement_name"] = tops.loc[dep, "name"] if dep in tops.index else dep
        rows.append(out)
    frame = pd.DataFrame(rows, columns=[*_columns("departement"), "departement_name"])
    return _compared(frame, indicator)
