"""The indicator catalogue: what each indicator means and how it is computed, as data.

An indicator is declared once (see ``observatoire/data/indicators/*.yaml`` and docs/indicateurs.md)
and built from imported variables. Its formula is one of:

- ``variable``: a stored variable, or several names for the same concept across vintages and
  producers (Filosofi's ``MED`` and ``DISP_Q2`` are both the median); each name may be a sum of
  variables (``rp.POP7589 + rp.POP90P``);
- ``numerator`` / ``denominator`` (× ``multiplier``): a ratio of two counts, computed for any
  territory as the ratio of the sums over its members;
- ``difference`` / ``quotient``: of two other indicators.

Its aggregation says how it extends to territories made of others: ``sum`` (counts), ``ratio``
(ratio of sums), ``not_aggregable`` (medians, deciles, Gini, rates published without their counts:
only where published). This module is pure: it validates declarations given as dictionaries and
searches the catalogue; reading the files is :mod:`observatoire.ingest.indicators`' job.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum

from observatoire.errors import InputError
from observatoire.secret.rules import SecretRule
from observatoire.text import fold

__all__ = [
    "THEMES",
    "Aggregation",
    "Catalogue",
    "Formula",
    "Indicator",
    "Polarity",
    "indicator_from_dict",
]

THEMES: dict[str, str] = {
    "cadrage": "Cadrage et démographie",
    "enfance-jeunesse-education": "Enfance, jeunesse, éducation",
    "sante": "Santé",
    "social": "Social, pauvreté, précarité",
    "logement": "Logement",
    "emploi-insertion": "Emploi et insertion",
    "autonomie": "Autonomie, handicap, vieillissement",
    "revenus": "Revenus et niveau de vie",
    "economie": "Économie locale",
}


class Aggregation(StrEnum):
    SUM = "sum"
    RATIO = "ratio"
    NOT_AGGREGABLE = "not_aggregable"


class Polarity(StrEnum):
    HIGHER_IS_BETTER = "higher_is_better"
    LOWER_IS_BETTER = "lower_is_better"
    NEUTRAL = "neutral"


CI_METHODS = ("wilson", "poisson", "none")
_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_VARIABLE = re.compile(r"^[a-z][a-z0-9_]*\.[A-Za-z0-9_]+$")


@dataclass(frozen=True)
class Formula:
    """How an indicator is computed (exactly one form is set)."""

    variable: tuple[str, ...] = ()
    numerator: tuple[str, ...] = ()
    denominator: tuple[str, ...] = ()
    multiplier: float = 1.0
    difference: tuple[str, str] | None = None
    quotient: tuple[str, str] | None = None

    @property
    def kind(self) -> str:
        if self.variable:
            return "variable"
        if self.numerator:
            return "ratio"
        return "difference" if self.difference else "quotient"

    @property
    def variables(self) -> tuple[str, ...]:
        """Every variable the formula may read (aliases and the terms of sums included)."""
        names = (*self.variable, *self.numerator, *self.denominator)
        return tuple(dict.fromkeys(t for n in names for t in n.split(" + ")))

    @property
    def indicators(self) -> tuple[str, ...]:
        """The other indicators it is made of."""
        return self.difference or self.quotient or ()

    def describe(self) -> str:
        """The formula in words (French), for ``indicators show``."""
        if self.variable:
            return " ou ".join(self.variable)
        if self.numerator:
            scale = f" × {self.multiplier:g}" if self.multiplier != 1 else ""
            return (
                f"somme({' ou '.join(self.numerator)}) / somme({' ou '.join(self.denominator)})"
                f"{scale}"
            )
        a, b = self.indicators
        return f"{a} − {b}" if self.difference else f"{a} / {b}"


@dataclass(frozen=True)
class Indicator:
    id: str
    label: str
    theme: str
    unit: str
    formula: Formula
    aggregation: Aggregation
    definition: str = ""
    method: str = ""
    polarity: Polarity = Polarity.NEUTRAL
    sources: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    ci: str = "none"
    secret: SecretRule | None = None  # counts under secret: a rule on an additive count
    origin: str = ""  # the file it was declared in
    # The gap to its history past which a value is a point de vigilance (% for counts and
    # medians, points for rates; None: the default of its kind, see quality/drift.py)
    quality_threshold: float | None = None

    @property
    def theme_label(self) -> str:
        return THEMES[self.theme]

    def text(self) -> str:
        """Everything a search looks into, folded (lowercase, no accents)."""
        return fold(" ".join([self.id, self.label, self.definition, *self.keywords]))


def _names(value: object, where: str, origin: str, *, pattern: re.Pattern[str]) -> tuple[str, ...]:
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise InputError(f"{where} : attendu un nom ou une liste de noms", path=origin)
    if pattern is _VARIABLE:  # a sum of variables is one alternative: "rp.POP7589 + rp.POP90P"
        names = [" + ".join(t.strip() for t in n.split("+")) for n in names]
    terms = [t for n in names for t in (n.split(" + ") if pattern is _VARIABLE else [n])]
    bad = [t for t in terms if not pattern.match(t)]
    if bad:
        raise InputError(f"{where} : nom invalide « {bad[0]} » (ex. filosofi.MED)", path=origin)
    return tuple(names)


def _formula(data: Mapping[str, object], where: str, origin: str) -> Formula:
    forms = [k for k in ("variable", "numerator", "difference", "quotient") if k in data]
    if len(forms) != 1:
        raise InputError(
            f"{where}.formula : une et une seule forme parmi variable, numerator/denominator, "
            "difference, quotient",
            path=origin,
        )
    form = forms[0]
    if form == "variable":
        return Formula(variable=_names(data["variable"], f"{where}.formula.variable", origin,
                                       pattern=_VARIABLE))  # fmt: skip
    if form == "numerator":
        if "denominator" not in data:
            raise InputError(f"{where}.formula : numerator sans denominator", path=origin)
        multiplier = data.get("multiplier", 1)
        if not isinstance(multiplier, int | float) or multiplier <= 0:
            raise InputError(f"{where}.formula.multiplier : nombre positif attendu", path=origin)
        return Formula(
            numerator=_names(data["numerator"], f"{where}.formula.numerator", origin,
                             pattern=_VARIABLE),
            denominator=_names(data["denominator"], f"{where}.formula.denominator", origin,
                               pattern=_VARIABLE),
            multiplier=float(multiplier),
        )  # fmt: skip
    pair = _names(data[form], f"{where}.formula.{form}", origin, pattern=_ID)
    if len(pair) != 2:
        raise InputError(f"{where}.formula.{form} : deux indicateurs attendus", path=origin)
    return Formula(**{form: (pair[0], pair[1])})  # type: ignore[arg-type]


def _choice(data: Mapping[str, object], key: str, allowed: Iterable[str], default: str,
            where: str, origin: str) -> str:  # fmt: skip
    value = str(data.get(key, default))
    allowed = list(allowed)
    if value not in allowed:
        raise InputError(
            f"{where}.{key} : « {value} » inconnu ; valeurs : {', '.join(allowed)}", path=origin
        )
    return value


def _texts(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value)  # type: ignore[attr-defined]


def _secret_rule(data: Mapping[str, object], where: str, origin: str) -> SecretRule | None:
    """``secret: {min_count: 5, audiences: [public, member]}``, or ``secret_min_count: 5``."""
    if "secret" in data and "secret_min_count" in data:
        raise InputError(f"{where} : secret et secret_min_count en double", path=origin)
    for key in ("secret", "secret_min_count"):
        if data.get(key) is not None:
            try:
                return SecretRule.parse(data[key], where=f"{where}.{key}")
            except InputError as error:
                raise InputError(str(error), path=origin) from None
    return None


def indicator_from_dict(
    data: Mapping[str, object], *, theme: str = "", origin: str = ""
) -> Indicator:
    """An :class:`Indicator` from its declaration; errors name the file and the field."""
    ident = str(data.get("id", ""))
    if not _ID.match(ident):
        raise InputError(
            f"identifiant d'indicateur invalide « {ident} » (minuscules, chiffres, _)", path=origin
        )
    where = f"indicateur {ident}"
    label = data.get("label")
    if not label:
        raise InputError(f"{where}.label : libellé obligatoire", path=origin)
    formula_data = data.get("formula")
    if not isinstance(formula_data, Mapping):
        raise InputError(f"{where}.formula : formule obligatoire", path=origin)
    formula = _formula(formula_data, where, origin)
    default = {"variable": "not_aggregable", "ratio": "ratio"}.get(formula.kind, "not_aggregable")
    aggregation = Aggregation(
        _choice(data, "aggregation", [a.value for a in Aggregation], default, where, origin)
    )
    if formula.kind == "ratio" and aggregation is not Aggregation.RATIO:
        raise InputError(f"{where}.aggregation : un rapport s'agrège en ratio", path=origin)
    if formula.kind in ("difference", "quotient") and aggregation is not Aggregation.NOT_AGGREGABLE:
        raise InputError(
            f"{where}.aggregation : une différence ou un quotient d'indicateurs se calcule "
            "territoire par territoire (not_aggregable)",
            path=origin,
        )
    theme_name = _choice(data, "theme", THEMES, theme or "cadrage", where, origin)
    secret = _secret_rule(data, where, origin)
    if secret is not None and aggregation is not Aggregation.SUM:
        raise InputError(
            f"{where}.secret : la règle de secret se déclare sur un effectif additif "
            "(aggregation: sum) ; les rapports qui l'utilisent sont masqués avec lui",
            path=origin,
        )
    return Indicator(
        id=ident,
        label=str(label),
        theme=theme_name,
        unit=str(data.get("unit", "")),
        formula=formula,
        aggregation=aggregation,
        definition=str(data.get("definition", "")),
        method=str(data.get("method", "")),
        polarity=Polarity(
            _choice(data, "polarity", [p.value for p in Polarity], "neutral", where, origin)
        ),
        sources=_texts(data.get("sources")),
        keywords=_texts(data.get("keywords")),
        ci=_choice(data, "ci", CI_METHODS, "none", where, origin),
        secret=secret,
        origin=origin,
        quality_threshold=_threshold(data, where, origin),
    )


def _threshold(data: Mapping[str, object], where: str, origin: str) -> float | None:
    value = data.get("quality_threshold")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise InputError(
            f"{where}.quality_threshold : nombre positif attendu (écart en % ou en points)",
            path=origin,
        )
    return float(value)


@dataclass
class Catalogue:
    """Indicators by id; built-in ones first, an observatory's own may add to them."""

    indicators: dict[str, Indicator] = field(default_factory=dict)

    def add(self, indicator: Indicator, *, replace: bool = False) -> None:
        if indicator.id in self.indicators and not replace:
            first = self.indicators[indicator.id].origin
            raise InputError(
                f"indicateur {indicator.id} déclaré deux fois ({first} et {indicator.origin})",
                path=indicator.origin,
            )
        self.indicators[indicator.id] = indicator

    def check(self) -> None:
        """References between indicators exist and do not loop."""
        for indicator in self.indicators.values():
            for other in indicator.formula.indicators:
                if other not in self.indicators:
                    raise InputError(
                        f"indicateur {indicator.id} : indicateur « {other} » inconnu",
                        path=indicator.origin,
                    )
        for ident in self.indicators:
            self._depth(ident, ())

    def _depth(self, ident: str, stack: tuple[str, ...]) -> None:
        if ident in stack:
            raise InputError(
                f"indicateurs en boucle : {' → '.join((*stack, ident))}",
                path=self.indicators[ident].origin,
            )
        for other in self.indicators[ident].formula.indicators:
            self._depth(other, (*stack, ident))

    def __len__(self) -> int:
        return len(self.indicators)

    def __contains__(self, ident: object) -> bool:
        return ident in self.indicators

    def get(self, ident: str) -> Indicator:
        try:
            return self.indicators[ident]
        except KeyError:
            from observatoire.errors import UnknownNameError

            close = self.search(ident.replace("_", " "), limit=5)
            raise UnknownNameError(
                "indicateur", ident, [i.id for i in close] or sorted(self.indicators)[:20]
            ) from None

    def by_theme(self, theme: str | None = None) -> list[Indicator]:
        chosen = [i for i in self.indicators.values() if theme is None or i.theme == theme]
        return sorted(chosen, key=lambda i: (list(THEMES).index(i.theme), i.label))

    def search(self, query: str, *, limit: int | None = None) -> list[Indicator]:
        """Indicators matching every word of ``query`` (accent- and case-insensitive, over id,
        label, definition and keywords), best first: label hits weigh more.

        Words match by prefix, so « pauvre » finds « pauvreté ».
        """
        words = [w for w in re.split(r"[^\w%]+", fold(query)) if w]
        if not words:
            return []
        scored = []
        for indicator in self.indicators.values():
            tokens = set(re.split(r"[^\w%]+", indicator.text()))
            label = set(re.split(r"[^\w%]+", fold(indicator.label)))
            if all(any(t.startswith(w) for t in tokens) for w in words):
                score = sum(3 if any(t.startswith(w) for t in label) else 1 for w in words)
                scored.append((-score, indicator.label, indicator))
        ranked = [i for *_, i in sorted(scored, key=lambda s: (s[0], s[1]))]
        return ranked[:limit] if limit else ranked

    def computable(self, stored: set[str]) -> list[Indicator]:
        """The indicators that variables ``stored`` can feed: one alternative of each part
        of the formula (every term of a sum) is there, or the indicators it is made of are."""

        def fed(names: tuple[str, ...]) -> bool:
            return any(all(t in stored for t in n.split(" + ")) for n in names)

        def ok(ident: str) -> bool:
            formula = self.indicators[ident].formula
            if formula.indicators:
                return all(ok(i) for i in formula.indicators)
            if formula.variable:
                return fed(formula.variable)
            return fed(formula.numerator) and fed(formula.denominator)

        return [i for i in self.by_theme() if ok(i.id)]

    def variables_of(self, ident: str) -> set[str]:
        """Every variable an indicator reads, through the indicators it is made of."""
        formula = self.indicators[ident].formula
        names = set(formula.variables)
        for other in formula.indicators:
            names |= self.variables_of(other)
        return names

    def variables(self) -> set[str]:
        return {v for i in self.indicators.values() for v in i.formula.variables}

    def secret_sources(self, ident: str) -> list[str]:
        """The counts under a secret rule whose masks apply to indicator ``ident``: those that
        share a variable with it (itself included). A ratio whose numerator or denominator is
        masked would give it away, so it is masked with it."""
        mine = self.variables_of(ident)
        return sorted(
            i.id for i in self.indicators.values()
            if i.secret is not None and mine & set(i.formula.variables)
        )  # fmt: skip

    def apply_source_rules(self, rules: Mapping[str, SecretRule]) -> None:
        """Give ``rules`` (source prefix → rule, e.g. ``caf``) to the additive counts without a
        rule of their own whose every variable comes from that source."""
        for ident, indicator in list(self.indicators.items()):
            if indicator.secret is not None or indicator.aggregation is not Aggregation.SUM:
                continue
            sources = {v.split(".", 1)[0] for v in indicator.formula.variables}
            if len(sources) == 1 and (source := sources.pop()) in rules:
                self.indicators[ident] = replace(indicator, secret=rules[source])


def themes_in(indicators: Sequence[Indicator]) -> dict[str, int]:
    """How many indicators per theme, in the catalogue's order of themes."""
    counts = {t: 0 for t in THEMES}
    for indicator in indicators:
        counts[indicator.theme] += 1
    return {t: n for t, n in counts.items() if n}
