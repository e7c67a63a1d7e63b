"""The territories a territory is compared with, and the period they are compared at.

- **References**: the territory's parents at the reference levels (its EPCI, département,
  région, France). France entière (``FR``) is the reference; when a producer publishes no value
  for it, its *stand-in*, the nearest published equivalent, is shown instead and labelled:
  INSEE publishes Filosofi (income, poverty) for France métropolitaine (``FRM``) only. A stand-in
  is used only for a territory it contains (a commune of the DROM is never compared with
  France métropolitaine).
- **Period**: the latest period the territory shares with the most of its references, so that
  a median of 2021 is not printed beside « — » for the département that has 2019; the territory's
  more recent value is said separately (:func:`compared_period`).

Pure functions over plain values: no database, no pandas.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from observatoire.catalog.statuses import ValueStatus

__all__ = [
    "QPV_REFERENCE_LEVELS",
    "REFERENCE_LEVELS",
    "STAND_INS",
    "Chosen",
    "compared_period",
    "missing_reason",
    "peer_scope",
    "pick_reference",
    "qpv_scope",
    "reference_parents",
]

REFERENCE_LEVELS = ("epci", "departement", "region", "pays")
# A quartier prioritaire is compared the way the politique de la ville compares it: with its
# commune(s), its EPCI, the ensemble of its département's QPV, the département and beyond.
QPV_REFERENCE_LEVELS = ("commune", "epci", "ensemble_qpv", "departement", "region", "pays")
# A reference → its nearest published equivalent, used when the reference has no value.
STAND_INS: dict[tuple[str, str], tuple[str, str]] = {("pays", "FR"): ("pays", "FRM")}
_STOOD_IN = set(STAND_INS.values())

USABLE = ("ok", "partial")


def reference_parents(
    card: Mapping[str, Any], levels: Iterable[str] | None = None
) -> list[dict[str, Any]]:
    """The parents of ``card`` at ``levels`` (finest first), each with its ``stand_in``
    (the parent dict of its equivalent, when the territory is inside it) or None. By default,
    the reference levels of the card's level (:data:`QPV_REFERENCE_LEVELS` for a QPV).

    >>> card = {"parents": [{"level": "departement", "code": "57", "name": "Moselle"},
    ...     {"level": "pays", "code": "FR", "name": "France"},
    ...     {"level": "pays", "code": "FRM", "name": "France métropolitaine"}]}
    >>> [(p["code"], (p["stand_in"] or {}).get("code")) for p in reference_parents(card)]
    [('57', None), ('FR', 'FRM')]
    """
    if levels is None:
        levels = QPV_REFERENCE_LEVELS if card.get("level") == "qpv" else REFERENCE_LEVELS
    wanted = set(levels)
    parents = list(card.get("parents") or [])
    by_key = {(p["level"], p["code"]): p for p in parents}
    out = []
    for parent in parents:
        key = (parent["level"], parent["code"])
        if parent["level"] not in wanted or key in _STOOD_IN:
            continue
        stand_in = STAND_INS.get(key)
        out.append({**parent, "stand_in": by_key.get(stand_in) if stand_in else None})
    return out


@dataclass(frozen=True)
class Chosen:
    """A reference's value at a period: from the reference itself, or from its stand-in
    (``name`` then names the stand-in, and ``stand_in`` is True)."""

    name: str
    value: float | None
    stand_in: bool = False


def pick_reference(
    reference: Mapping[str, Any],
    values: Mapping[str, float],
    stand_in_values: Mapping[str, float] | None,
    period: str,
) -> Chosen:
    """The value of ``reference`` at ``period``, else its stand-in's, else none.

    >>> fr = {"name": "France", "stand_in": {"name": "France métropolitaine"}}
    >>> pick_reference(fr, {}, {"2019": 21930.0}, "2019")
    Chosen(name='France métropolitaine', value=21930.0, stand_in=True)
    >>> pick_reference(fr, {"2019": 1.0}, {"2019": 2.0}, "2019").name
    'France'
    """
    if period in values:
        return Chosen(str(reference["name"]), float(values[period]))
    stand_in = reference.get("stand_in")
    if stand_in and stand_in_values and period in stand_in_values:
        return Chosen(str(stand_in["name"]), float(stand_in_values[period]), True)
    return Chosen(str(reference["name"]), None)


def compared_period(own: Iterable[str], references: Sequence[Iterable[str]]) -> str | None:
    """The period to compare at: the latest of the territory's periods shared with as many
    references as any period is; with three references or more, one may be missing (an
    EPCI published only in 2016 does not hold the département, the région and France back
    at 2016). None when the territory has no period.

    >>> compared_period(["2019", "2021"], [["2019"], ["2019"], []])
    '2019'
    >>> compared_period(["2018", "2019"], [["2018", "2019"], ["2018"]])
    '2018'
    >>> compared_period(["2020", "2021"], [[], []])
    '2021'
    >>> compared_period(["2016", "2019", "2021"],
    ...                 [["2016"], ["2016", "2019"], ["2016", "2019"], ["2016", "2019"]])
    '2019'
    """
    mine = sorted(set(own))
    if not mine:
        return None
    sets = [set(r) for r in references]
    shared = {p: sum(p in s for s in sets) for p in mine}
    best = max(shared.values())
    enough = best - 1 if sum(bool(s) for s in sets) >= 3 and best >= 2 else best
    return max(p for p in mine if shared[p] >= enough)


def missing_reason(
    statuses: Mapping[str, str], period: str, notes: Mapping[str, str] | None = None
) -> str:
    """Why a territory shows no value at ``period``, in words, from the statuses of its
    values of the indicator (period → status) and their notes (« couverture insuffisante
    (32 %) »).

    >>> missing_reason({"2019": "secret"}, "2019")
    'secret statistique'
    >>> missing_reason({"2018": "nd"}, "2018", {"2018": "couverture insuffisante (32 %)"})
    'couverture insuffisante (32 %)'
    >>> missing_reason({"2016": "ok", "2019": "ok"}, "2021")
    'connu en 2016 et 2019, pas en 2021'
    >>> missing_reason({}, "2021")
    'non publié à ce niveau'
    """
    status = statuses.get(period)
    if status is not None and status not in USABLE:
        if notes and notes.get(period):
            return str(notes[period])
        try:
            return ValueStatus(status).label
        except ValueError:
            return status
    known = sorted(p for p, s in statuses.items() if s in USABLE)
    if known:
        shown = known[-3:]
        listed = ", ".join(shown[:-1]) + " et " + shown[-1] if len(shown) > 1 else shown[0]
        return f"connu en {listed}, pas en {period}"
    return "non publié à ce niveau"


def qpv_scope(level: str, card: Mapping[str, Any]) -> tuple[str, str] | None:
    """Where a territory's quartiers prioritaires are set against the rest of their communes:
    the département of a QPV or of an ensemble of QPV, a département itself; else None.

    >>> qpv_scope("qpv", {"code": "QP093005", "parents": [{"level": "departement", "code": "93"}]})
    ('departement', '93')
    >>> qpv_scope("commune", {"code": "93066", "parents": []}) is None
    True
    """
    if level == "departement":
        return ("departement", card["code"])
    parents = {p["level"]: p["code"] for p in card["parents"]}
    if level in ("qpv", "ensemble_qpv") and "departement" in parents:
        return ("departement", parents["departement"])
    return None


def peer_scope(level: str, card: Mapping[str, Any]) -> tuple[str, str] | None:
    """Where a territory's peers are: its département (communes, EPCI, IRIS), its région
    (départements), or None (all the zones of a zoning, all régions, the QPV).

    >>> peer_scope("commune", {"parents": [{"level": "departement", "code": "93"}]})
    ('departement', '93')
    """
    parents = {p["level"]: p["code"] for p in card["parents"]}
    if level in ("commune", "epci", "iris", "arm") and "departement" in parents:
        return ("departement", parents["departement"])
    if level == "departement" and "region" in parents:
        return ("region", parents["region"])
    return None
