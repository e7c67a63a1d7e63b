"""Consistency between related indicators and sources (the third domain of the WHO review).

A pair is declared once (``observatoire/data/quality/coherences.yaml``, and the observatory's
own in ``<home>/qualite/coherences.yaml``; see docs/qualite.md)::

    coherences:
      - id: couverts_caf_population
        libelle: Population couverte par la CAF et population du recensement
        a: personnes_couvertes_caf
        b: population
        relation: a <= b            # or "0.2 <= a / b <= 0.9", "a >= b", "a / b <= 1.05"
        ecart_annees: 1             # a value of b at most one year apart (default 0)

Each territory where the relation does not hold is flagged with both values, their periods
and their sources. Pure: the declarations are validated here, the values come in frames.

>>> pair = relation_from_dict({"id": "x", "a": "u", "b": "v", "relation": "0.2 <= a / b <= 0.9"})
>>> pair.low, pair.high
(0.2, 0.9)
>>> pair.describe()
'0,2 ≤ u / v ≤ 0,9'
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from observatoire.catalog.periods import period_time
from observatoire.errors import InputError
from observatoire.yamlfile import check_keys

__all__ = ["Relation", "check_pair", "relation_from_dict", "relations_from_data"]

_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_NUMBER = r"(\d+(?:[.,]\d+)?)"
_FORMS = (
    (re.compile(r"^a\s*<=\s*b$"), lambda m: (None, 1.0)),
    (re.compile(r"^a\s*>=\s*b$"), lambda m: (1.0, None)),
    (re.compile(rf"^{_NUMBER}\s*<=\s*a\s*/\s*b\s*<=\s*{_NUMBER}$"), lambda m: (m[1], m[2])),
    (re.compile(rf"^a\s*/\s*b\s*<=\s*{_NUMBER}$"), lambda m: (None, m[1])),
    (re.compile(rf"^a\s*/\s*b\s*>=\s*{_NUMBER}$"), lambda m: (m[1], None)),
)


def _float(text: object) -> float | None:
    return None if text is None else float(str(text).replace(",", "."))


@dataclass(frozen=True)
class Relation:
    """Indicator ``a`` against indicator ``b``: their ratio a / b within [low, high]."""

    id: str
    label: str
    a: str
    b: str
    low: float | None
    high: float | None
    years: int = 0  # how far apart the periods of a and b may be (the nearest is taken)
    origin: str = ""

    def describe(self) -> str:
        """The relation in words (French)."""
        if (self.low, self.high) == (None, 1.0):
            return f"{self.a} ≤ {self.b}"
        if (self.low, self.high) == (1.0, None):
            return f"{self.a} ≥ {self.b}"

        def num(x: float) -> str:
            return f"{x:g}".replace(".", ",")

        low = f"{num(self.low)} ≤ " if self.low is not None else ""
        high = f" ≤ {num(self.high)}" if self.high is not None else ""
        return f"{low}{self.a} / {self.b}{high}"


def relation_from_dict(data: Mapping[str, object], *, origin: str = "",
                       index: int = 0) -> Relation:  # fmt: skip
    """A :class:`Relation` from its declaration; errors name the file, line and entry."""
    where = f"coherences[{index}]"
    line = getattr(data, "line", None)

    def fail(message: str, key: str = "") -> InputError:
        return InputError(message, path=origin or None, line=line,
                          column=f"{where}.{key}" if key else where)  # fmt: skip

    if not isinstance(data, Mapping):
        raise fail("chaque cohérence est une table id / a / b / relation")
    check_keys(data, ("id", "libelle", "a", "b", "relation", "ecart_annees"),
               "clé(s) inconnue(s) {unknown} ; possibles : {allowed}", path=origin or None,
               line=line, column=where)  # fmt: skip
    ident = str(data.get("id", ""))
    if not _ID.match(ident):
        raise fail(f"identifiant invalide « {ident} » (minuscules, chiffres, _)", "id")
    for key in ("a", "b"):
        if not isinstance(data.get(key), str) or not data.get(key):
            raise fail("identifiant d'indicateur attendu", key)
    text = " ".join(str(data.get("relation", "")).split())
    for pattern, bounds in _FORMS:
        match = pattern.match(text)
        if match:
            low, high = (_float(x) for x in bounds(match))
            break
    else:
        raise fail(
            f"relation « {text} » non reconnue : a <= b, a >= b, 0.2 <= a / b <= 0.9, "
            "a / b <= 1.05 ou a / b >= 0.5", "relation",
        )  # fmt: skip
    if low is not None and high is not None and low > high:
        raise fail("borne basse au-dessus de la borne haute", "relation")
    years = data.get("ecart_annees", 0)
    if isinstance(years, bool) or not isinstance(years, int) or not 0 <= years <= 10:
        raise fail(f"nombre d'années entre 0 et 10 attendu, pas « {years} »", "ecart_annees")
    return Relation(ident, str(data.get("libelle") or ident), str(data["a"]), str(data["b"]),
                    low, high, years, origin)  # fmt: skip


def relations_from_data(data: object, origin: str) -> list[Relation]:
    """The relations of a file read as YAML (``coherences:`` list); ids unique in it."""
    if not isinstance(data, Mapping) or not isinstance(data.get("coherences"), list):
        raise InputError("liste « coherences: » attendue", path=origin)
    check_keys(data, ("coherences",), "clé(s) inconnue(s) {unknown} ; possibles : {allowed}",
               path=origin)  # fmt: skip
    found = [relation_from_dict(d, origin=origin, index=i)
             for i, d in enumerate(data["coherences"])]  # fmt: skip
    seen: set[str] = set()
    for relation in found:
        if relation.id in seen:
            raise InputError(f"cohérence « {relation.id} » déclarée deux fois", path=origin)
        seen.add(relation.id)
    return found


def _nearest(a: pd.DataFrame, b: pd.DataFrame, years: int) -> pd.DataFrame:
    """Each (code, period) of ``a`` with the value of ``b`` of the same territory at the
    nearest period at most ``years`` apart (the same period first, then the earlier)."""
    times = {p: period_time(str(p)) for p in {*pd.unique(a.period), *pd.unique(b.period)}}
    a = a.assign(t=a.period.map(times).astype(float))
    b = b.assign(t=b.period.map(times).astype(float))
    a, b = a[a.t.notna()], b[b.t.notna()]
    pairs = a.merge(b, on="code", suffixes=("_a", "_b"))
    pairs["apart"] = (pairs.t_a - pairs.t_b).abs()
    pairs = pairs[pairs.apart <= years + 1e-9]
    pairs = pairs.assign(later=(pairs.t_b > pairs.t_a).astype(int))
    pairs = pairs.sort_values(["code", "period_a", "apart", "later"])
    return pairs.drop_duplicates(["code", "period_a"])


def check_pair(relation: Relation, a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    """code, period (a's), value_a, period_b, value_b, ratio: the territories where
    ``relation`` does not hold, from ``a`` and ``b`` (code, period, value: ``ok`` values of
    the two indicators at one level). A ratio with b = 0 and a > 0 breaks any upper bound."""
    columns = ["code", "period", "value_a", "period_b", "value_b", "ratio"]
    if a.empty or b.empty:
        return pd.DataFrame(columns=columns)
    pairs = _nearest(a[["code", "period", "value"]], b[["code", "period", "value"]],
                     relation.years)  # fmt: skip
    va, vb = pairs.value_a.to_numpy(float), pairs.value_b.to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(vb != 0, va / vb, np.where(va > 0, np.inf, np.nan))
    broken = np.zeros(len(pairs), dtype=bool)
    if relation.high is not None:
        broken |= ratio > relation.high + 1e-12
    if relation.low is not None:
        broken |= ratio < relation.low - 1e-12
    out = pd.DataFrame({
        "code": pairs.code.to_numpy(), "period": pairs.period_a.to_numpy(), "value_a": va,
        "period_b": pairs.period_b.to_numpy(), "value_b": vb, "ratio": np.round(ratio, 4),
    })[broken]  # fmt: skip
    return out.reset_index(drop=True)[columns]
