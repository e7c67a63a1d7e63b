"""Geography vintages: from any year's commune codes to the current geography.

Data are published "in the geography of year N": the communes as they were on 1 January of N.
INSEE's mouvements file lists every event since 1943. Only the links from a commune (``COM``)
to a commune (``COM``) matter for passing values: a fusion sends the whole of each old commune
to the new one; a scission (restoration, creation) splits the old commune between several; a
code change or a rename keeps it whole.

:class:`Vintages` traces each old code forward through the events dated after 1 January of N
and gives the share of it that ends in each current commune. Splits are shared by population
(the current population of what each piece became) and flagged as *estimated*.

:func:`convert` applies a passage table to values: counts add up; non-additive statistics
(medians, rates published without their counts) are kept only where the territory is unchanged
and are otherwise "non disponible après conversion" — never averaged.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from observatoire.errors import InvalidValueError

__all__ = [
    "NOT_CONVERTIBLE",
    "Conversion",
    "Vintages",
    "convert",
    "convert_long",
    "describe_method",
]

ESTIMATED = "estimé : scission répartie au prorata de la population"
NOT_CONVERTIBLE = "non disponible après conversion"
_EVENT_COLUMNS = ("date_eff", "typecom_av", "com_av", "typecom_ap", "com_ap")
_HISTORY_COLUMNS = ("typecom", "code", "date_start", "date_end")


@dataclass(frozen=True)
class _Trace:
    shares: Mapping[str, float]
    estimated: bool


class Vintages:
    """Commune codes through time, from the COG's mouvements and commune history.

    ``events``: columns date_eff (ISO date), typecom_av, com_av, typecom_ap, com_ap.
    ``history``: columns typecom, code, date_start, date_end (ISO, empty when still valid).
    ``population``: population of each current commune, used to share scissions.
    ``current``: the codes of the current communes.
    """

    def __init__(
        self,
        events: pd.DataFrame,
        history: pd.DataFrame,
        *,
        population: Mapping[str, float],
        current: Iterable[str],
    ) -> None:
        missing = [c for c in _EVENT_COLUMNS if c not in events.columns]
        missing += [c for c in _HISTORY_COLUMNS if c not in history.columns]
        if missing:
            raise InvalidValueError(f"colonnes manquantes pour les millésimes : {missing}")
        self.current = frozenset(current)
        self.population = population
        links = events[(events.typecom_av == "COM") & (events.typecom_ap == "COM")]
        grouped: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
        for date, av, ap in zip(
            links.date_eff.tolist(), links.com_av.tolist(), links.com_ap.tolist(), strict=True
        ):
            targets = grouped[av][date]
            if ap not in targets:
                targets.append(ap)
        self._dates: dict[str, list[str]] = {}
        self._targets: dict[str, list[list[str]]] = {}
        for code, by_date in grouped.items():
            dates = sorted(by_date)
            self._dates[code] = dates
            self._targets[code] = [sorted(by_date[d]) for d in dates]
        com = history[history.typecom == "COM"]
        self._intervals: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for code, start, end in zip(
            com.code.tolist(), com.date_start.tolist(), com.date_end.tolist(), strict=True
        ):
            self._intervals[code].append((str(start), str(end) if end else "9999-12-31"))
        self._memo: dict[tuple[str, str, bool], _Trace] = {}

    # -- codes and dates ---------------------------------------------------------------------
    def known(self, code: str) -> bool:
        """Whether ``code`` was a commune at some date since 1943."""
        return code in self._intervals or code in self.current

    def valid_at(self, date: str) -> list[str]:
        """Codes of the communes on ``date`` (ISO)."""
        return sorted(
            code
            for code, spans in self._intervals.items()
            if any(start <= date < end for start, end in spans)
        )

    def infer_year(self, codes: Iterable[str], *, years: Sequence[int] | None = None) -> int:
        """The COG year whose communes best match ``codes`` (ties go to the most recent year)."""
        wanted = {c for c in codes if c}
        if not wanted:
            raise InvalidValueError("aucun code pour déterminer le millésime géographique")
        latest = int(self._latest_date()[:4])
        candidates = sorted(years or range(latest, 1942, -1), reverse=True)
        spans = [(c, s, e) for c in wanted for s, e in self._intervals.get(c, ())]
        if not spans:
            return candidates[0]
        code = np.array([c for c, _, _ in spans], dtype=object)
        start = np.array([s for _, s, _ in spans], dtype=object)
        end = np.array([e for _, _, e in spans], dtype=object)
        best_year, best_score = candidates[0], -1
        for year in candidates:
            date = f"{year}-01-01"
            valid = (start <= date) & (date < end)
            score = len(set(code[valid]))
            if score > best_score:
                best_year, best_score = year, score
            if score == len(wanted):
                break
        return best_year

    def _latest_date(self) -> str:
        return max((d[-1] for d in self._dates.values() if d), default="2000-01-01")

    # -- tracing -----------------------------------------------------------------------------
    def trace(self, code: str, year: int) -> tuple[dict[str, float], bool]:
        """Shares of ``code`` (geography of ``year``) in each current commune, and whether a
        scission made them estimates.

        >>> # Pierrefitte-sur-Seine merged into Saint-Denis on 2025-01-01:
        >>> # vintages.trace("93059", 2019) == ({"93066": 1.0}, False)
        """
        result = self._trace(code, f"{year}-01-01")
        return dict(result.shares), result.estimated

    def _trace(self, code: str, after: str, *, same_day: bool = False) -> _Trace:
        """Where ``code`` goes through the events after ``after`` (or on it, with ``same_day``:
        a code reached by an event may undergo another event of the same date, as when a
        commune changes département and merges on the same 1 January)."""
        key = (code, after, same_day)
        cached = self._memo.get(key)
        if cached is not None:
            return cached
        self._memo[key] = _Trace({code: 1.0}, False)  # guards against same-day cycles
        dates = self._dates.get(code, [])
        index = (bisect.bisect_left if same_day else bisect.bisect_right)(dates, after)
        if index == len(dates):
            result = _Trace({code: 1.0}, False)
        else:
            date = dates[index]
            targets = self._targets[code][index]
            if len(targets) == 1:
                result = self._follow(code, targets[0], date)
            else:
                result = self._split(code, targets, date)
        self._memo[key] = result
        return result

    def _follow(self, code: str, target: str, date: str) -> _Trace:
        return self._trace(target, date, same_day=target != code)

    def _split(self, code: str, targets: list[str], date: str) -> _Trace:
        parts = [self._follow(code, target, date) for target in targets]
        sizes = [
            sum(self.population.get(c, 0.0) * w for c, w in part.shares.items()) for part in parts
        ]
        total = sum(sizes)
        weights = [s / total for s in sizes] if total > 0 else [1 / len(parts)] * len(parts)
        shares: dict[str, float] = defaultdict(float)
        for part, weight in zip(parts, weights, strict=True):
            for current, share in part.shares.items():
                shares[current] += weight * share
        # Pieces that all end in one current commune recombine exactly.
        return _Trace(dict(shares), len(shares) > 1 or any(p.estimated for p in parts))

    def passage(self, year: int, codes: Iterable[str] | None = None) -> pd.DataFrame:
        """The passage table from the geography of ``year`` to the current one.

        Columns: ``old_code``, ``new_code``, ``weight`` (share of the old commune), ``estimated``.
        By default every commune valid on 1 January of ``year``.
        """
        source = list(codes) if codes is not None else self.valid_at(f"{year}-01-01")
        rows = []
        for old in source:
            if old not in self._dates:  # no event ever: unchanged (the usual case)
                rows.append((old, old, 1.0, False))
                continue
            shares, estimated = self.trace(old, year)
            for new, weight in sorted(shares.items()):
                rows.append((old, new, weight, estimated))
        return pd.DataFrame(rows, columns=["old_code", "new_code", "weight", "estimated"])

    def passage_into(self, year: int, codes: Iterable[str]) -> pd.DataFrame:
        """The passage of ``codes`` (geography of ``year``) and of every other commune of that
        geography that went into the same current communes: a current commune's parts are
        then all listed, those a file leaves out included (its sum is incomplete, its median
        not one part's)."""
        own = self.passage(year, codes=codes)
        everyone = self.passage(year)
        others = everyone[everyone.new_code.isin(set(own.new_code))]
        joined = pd.concat([own, others], ignore_index=True)
        return joined.drop_duplicates(["old_code", "new_code"]).reset_index(drop=True)

    def successors(self, code: str) -> list[tuple[str, str, list[str]]]:
        """The dated events through which ``code`` passed: (date, code, codes it went to)."""
        out = []
        seen: set[tuple[str, str]] = set()
        stack = [(code, "0000-00-00")]
        while stack:
            current, after = stack.pop()
            dates = self._dates.get(current, [])
            index = bisect.bisect_right(dates, after)
            if index < len(dates) and (current, dates[index]) not in seen:
                seen.add((current, dates[index]))
                targets = self._targets[current][index]
                out.append((dates[index], current, targets))
                stack.extend((t, dates[index]) for t in targets)
        return sorted(out)


@dataclass(frozen=True)
class Conversion:
    """Values converted to the current geography.

    ``values``: one row per current territory reached, the converted variables, and
    ``methode`` (how it was made, in French), ``estime`` (a scission was shared by population),
    ``sources`` (the old codes it was made of).
    ``notes``: one row per (code, variable) that could not be converted, with the reason.
    """

    values: pd.DataFrame
    notes: pd.DataFrame


def describe_method(new_code: str, sources: Sequence[tuple[str, float]]) -> str:
    """French description of how a current territory was made from old ones.

    >>> describe_method("93066", [("93059", 1.0), ("93066", 1.0)])
    'fusion de 93059, 93066'
    """
    if any(abs(w - 1.0) > 1e-9 for _, w in sources):
        shown = ", ".join(f"{c} × {w:.3f}" for c, w in sources)
        return f"scission estimée au prorata de la population ({shown})"
    if len(sources) > 1:
        return "fusion de " + ", ".join(c for c, _ in sources)
    ((old, _),) = sources
    return "inchangée" if old == new_code else f"changement de code ({old})"


def convert(
    values: pd.DataFrame,
    passage: pd.DataFrame,
    *,
    code: str = "code",
    additive: Sequence[str] = (),
    non_additive: Sequence[str] = (),
) -> Conversion:
    """Convert ``values`` (one row per old code) with a :meth:`Vintages.passage` table.

    Additive columns are summed with the passage weights; a current territory whose sources are
    not all present with a value gets no value ("incomplet"). Non-additive columns are kept only
    where the current territory is exactly one whole old territory.
    """
    unknown = sorted(set(values[code]) - set(passage.old_code))
    if unknown:
        raise InvalidValueError(
            f"{len(unknown)} code(s) absents de la table de passage : {', '.join(unknown[:10])}"
        )
    if values[code].duplicated().any():
        dup = values.loc[values[code].duplicated(), code].iloc[0]
        raise InvalidValueError(f"code présent plusieurs fois dans la table à convertir : {dup}")
    indexed = values.set_index(code)
    reached = passage[passage.old_code.isin(indexed.index)].new_code.unique()
    relevant = passage[passage.new_code.isin(reached)]
    rows, notes = [], []
    for new_code, group in relevant.groupby("new_code", sort=True):
        sources = sorted(zip(group.old_code, group.weight, strict=True))
        present = [old for old, _ in sources if old in indexed.index]
        row: dict[str, object] = {code: new_code}
        whole = len(sources) == 1 and abs(sources[0][1] - 1.0) < 1e-9
        for column in additive:
            missing = [old for old in present if pd.isna(indexed.at[old, column])]
            missing += [old for old, _ in sources if old not in indexed.index]
            if missing:
                row[column] = float("nan")
                notes.append(
                    (new_code, column, f"incomplet : pas de valeur pour {', '.join(missing)}")
                )
            else:
                row[column] = sum(float(indexed.at[old, column]) * w for old, w in sources)
        for column in non_additive:
            if whole:
                row[column] = indexed.at[sources[0][0], column]
            else:
                row[column] = float("nan")
                notes.append((new_code, column, NOT_CONVERTIBLE))
        row["methode"] = describe_method(str(new_code), sources)
        row["estime"] = bool(group.estimated.any())
        row["sources"] = " ".join(old for old, _ in sources)
        rows.append(row)
    columns = [code, *additive, *non_additive, "methode", "estime", "sources"]
    return Conversion(
        values=pd.DataFrame(rows, columns=columns),
        notes=pd.DataFrame(notes, columns=[code, "variable", "statut"]),
    )


def convert_long(long: pd.DataFrame, passage: pd.DataFrame, *, additive: set[str]) -> pd.DataFrame:
    """Vectorised conversion of long values (code, variable, period, value, status).

    Additive variables are summed with the passage weights when every source of the current
    territory is present with a value. A current territory some of whose parts the file leaves
    out gets the sum of the others, ``partial``, with a note naming the parts left out; a part
    present without a value gives the first non-"ok" status met (a secret part keeps the total
    secret). Non-additive variables keep their value only where
    the current territory is one whole old territory, and are "nd" otherwise. Returns the same
    columns, coded in the current geography, plus ``note`` (how each value was made).
    """
    sources = passage.groupby("new_code").agg(
        n_sources=("old_code", "size"), whole=("weight", lambda w: len(w) == 1 and w.iloc[0] == 1)
    )
    merged = long.merge(passage, left_on="code", right_on="old_code", how="inner")
    merged["part"] = merged.value * merged.weight
    merged["ok"] = merged.status == "ok"
    keys = ["new_code", "variable", "period", *(["dims"] if "dims" in long else [])]
    grouped = merged.groupby(keys, sort=False)
    out = grouped.agg(
        value=("part", "sum"),
        parts=("old_code", "size"),
        all_ok=("ok", "all"),
        first_status=("status", lambda s: next((x for x in s if x != "ok"), "ok")),
        single=("value", "first"),
        single_status=("status", "first"),
        olds=("old_code", lambda s: " ".join(sorted(s))),
        estimated=("estimated", "any"),
    ).reset_index()
    out = out.join(sources, on="new_code")
    every = passage.groupby("new_code").old_code.agg(lambda s: sorted(set(s)))
    short = (out.parts < out.n_sources).to_numpy()
    out["missing_parts"] = ""
    out.loc[short, "missing_parts"] = [
        ", ".join(c for c in every[new] if c not in olds.split())
        for new, olds in zip(out.new_code[short], out.olds[short], strict=True)
    ]
    is_additive = out.variable.isin(additive)
    complete = (out.parts == out.n_sources) & out.all_ok
    whole = out.whole.fillna(False).astype(bool) & (out.parts == 1)
    status = np.where(
        is_additive,
        np.where(complete, "ok", np.where(out.all_ok, "partial", out.first_status)),
        np.where(whole, out.single_status, "nd"),
    )
    value = np.where(
        is_additive,
        np.where(out.all_ok, out.value.round(6), np.nan),  # parts left out: the others' sum
        np.where(whole, out.single, np.nan),
    )
    nothing = np.full(len(out), None, dtype=object)
    merged_note: np.ndarray = np.where(out.n_sources > 1, "fusion de " + out.olds, nothing)
    merged_note = np.where(~is_additive & ~whole, NOT_CONVERTIBLE, merged_note)
    merged_note = np.where(  # a share of a commune split since: an estimate
        is_additive & out.estimated.to_numpy() & (status == "ok"),
        ESTIMATED + " (" + out.olds + ")",
        merged_note,
    )
    merged_note = np.where(
        is_additive & ~complete & (out.parts < out.n_sources),
        "incomplet : " + out.missing_parts + " absente(s) du fichier",
        merged_note,
    )
    return pd.DataFrame(
        {
            "code": out.new_code,
            "variable": out.variable,
            "period": out.period,
            **({"dims": out.dims} if "dims" in out else {}),
            "value": value,
            "status": status,
            "note": merged_note,
        }
    )
