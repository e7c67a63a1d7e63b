"""What producers' variables measure, so that an indicator cannot publish a wrong unit.

Filosofi's communal files call ``Q3_Q1`` the interquartile range in euros, its IRIS files call
``DISP_EQ`` the same range divided by the median: an indicator listing both as alternatives
would print 14,810 where 0.7 is meant. This module knows the kind of every variable the
shipped catalogue reads (by source and name pattern) and checks each formula alternative
against the indicator's unit: a variable formula's alternatives must measure what its unit
says, a rate's numerator and denominator must be counts (or an area, for a density).

A variable of a source it does not know (an observatory's own files) is not judged. Pure.
"""

from __future__ import annotations

import re

from observatoire.catalog.indicators import Aggregation, Formula, Indicator

__all__ = ["AREA", "COUNT", "unit_faults", "unit_kind", "variable_kind"]

COUNT = "effectif"  # people, households, dwellings, births…: they add up
AREA = "superficie"
EUROS, PERCENT, RATIO = "€", "%", "rapport"

# (source, pattern of the variable's name without its year suffix) → kind, first match wins.
_KINDS: tuple[tuple[str, re.Pattern[str], str], ...] = tuple(
    (source, re.compile(pattern), kind)
    for source, pattern, kind in (
        ("filosofi", r"(DISP_)?(MED|Q[1-3]|D[1-9]|Q3_Q1)", EUROS),
        ("filosofi", r"(DISP_)?(EQ|RD|S80S20|GI)", RATIO),
        ("filosofi", r"(DISP_)?(NBMEN|NBPERS|NBUC|NBMENFISC|NBPERSMENFISC)", COUNT),
        (
            "filosofi",
            r"(DISP_)?(TP60\w*|PACT|PTSA|PCHO|PBEN|PPEN|PPAT|PPSOC|PPFAM|PPMINI"
            r"|PPLOGT|PIMPOT|PIMP)",
            PERCENT,
        ),
        ("rp", r"SUPERF", AREA),
        ("rp", r".+", COUNT),  # the census counts people, households, dwellings (weighted)
        ("caf", r".+", COUNT),
        ("sirene", r".+", COUNT),
        ("etatcivil", r".+", COUNT),
        ("francetravail", r".+", COUNT),
        ("onpv", r"POP_MUN|POP_TOT|POP|(NB|EFF)_\w+", COUNT),
        ("onpv", r"(TX|PART|PCT)_\w+", PERCENT),
        ("onpv", r"IND_\w+", RATIO),
    )
)


def variable_kind(name: str) -> str | None:
    """The kind of a variable ``source.NAME`` as stored (without the file's year suffix:
    ``filosofi.MED``, not ``MED21``), None when unknown.

    >>> variable_kind("filosofi.Q3_Q1"), variable_kind("filosofi.DISP_EQ")
    ('€', 'rapport')
    >>> variable_kind("caf.ARSAS"), variable_kind("rp.SUPERF"), variable_kind("cpam.C2S")
    ('effectif', 'superficie', None)
    """
    source, _, rest = name.partition(".")
    for known, pattern, kind in _KINDS:
        if known == source and pattern.fullmatch(rest):
            return kind
    return None


def unit_kind(unit: str) -> str:
    """The kind an indicator's unit says it publishes.

    >>> unit_kind("%"), unit_kind("€"), unit_kind(""), unit_kind("ménages"), unit_kind("km²")
    ('%', '€', 'rapport', 'effectif', 'superficie')
    """
    if unit in (PERCENT, "‰"):
        return PERCENT if unit == PERCENT else "‰"
    if unit == EUROS:
        return EUROS
    if unit == "km²":
        return AREA
    if not unit:
        return RATIO
    return COUNT if re.fullmatch(r"[^\W\d]+(?: [^\W\d]+)*", unit) else unit


def unit_faults(indicator: Indicator) -> list[str]:
    """What in ``indicator``'s formula contradicts its unit, in words; [] when nothing.

    A variable formula: each alternative measures the unit's kind (a count for a count
    noun). A rate (numerator/denominator): counts over counts (or over an area), its
    multiplier 100 for %, 1000 for ‰."""
    formula, unit = indicator.formula, indicator.unit
    expected = unit_kind(unit)
    faults = []
    for name in formula.variable:
        kind = variable_kind(name)
        if kind is not None and kind != expected:
            said = f"« {unit} »" if unit else "(aucune)"
            faults.append(f"{name} mesure « {kind} », l'unité {said} dit « {expected} »")
    for name in (*formula.numerator, *formula.denominator):
        kind = variable_kind(name)
        allowed = (COUNT, AREA) if name in formula.denominator else (COUNT,)
        if kind is not None and kind not in allowed:
            faults.append(f"{name} mesure « {kind} » : un taux se calcule sur des effectifs")
    if formula.numerator:
        wanted = {PERCENT: 100.0, "‰": 1000.0}.get(expected)
        if wanted is not None and formula.multiplier != wanted:
            faults.append(f"unité « {unit} » mais multiplicateur {formula.multiplier:g}")
    return faults


def raw_indicator(name: str, *, additive: bool, unit: str = "", label: str = "") -> Indicator:
    """A producer's variable read as an indicator, to be mapped or exported as it was
    imported: summed over the members when it is additive, at the levels where it was
    published otherwise; its unit from the import, else from its kind (€, %)."""
    kind = variable_kind(name) or ""
    return Indicator(
        id=name,
        label=label or f"Variable {name}",
        theme="cadrage",
        unit=unit or {EUROS: "€", PERCENT: "%"}.get(kind, ""),
        formula=Formula(variable=(name,)),
        aggregation=Aggregation.SUM if additive else Aggregation.NOT_AGGREGABLE,
        definition=f"Variable {name} telle qu'importée (sans traitement).",
        sources=(name.partition(".")[0],),
    )
