"""Short factual sentences in French, written by rules from computed figures, never invented.

A comparison says how a territory's value stands against its references (« nettement
supérieure » only when the gap is significant, or large when no interval exists); an
evolution says how it moved between its first and last known periods. Pure functions.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from observatoire.text import first_upper, french_number, with_unit

__all__ = [
    "Compared",
    "comparison",
    "count_sentence",
    "evolution",
    "noun",
    "projection_sentence",
    "relation",
    "when",
]

# First word of a label → (article, feminine)
_NOUNS = {
    "part": ("la", True),
    "proportion": ("la", True),
    "densité": ("la", True),
    "médiane": ("la", True),
    "population": ("la", True),
    "superficie": ("la", True),
    "taille": ("la", True),
    "moyenne": ("la", True),
    "taux": ("le", False),
    "nombre": ("le", False),
    "indice": ("l'", False),
    "revenu": ("le", False),
    "niveau": ("le", False),
    "ratio": ("le", False),
    "rapport": ("le", False),
    "écart": ("l'", False),
    "âge": ("l'", False),
    "solde": ("le", False),
    "poids": ("le", False),
}
# Below this relative gap a value is « proche »; from the second on, « nettement » (unless an
# interval says the gap is not significant: then « proche »).
CLOSE, FAR = 0.03, 0.15
POINTS = 2.0


@dataclass(frozen=True)
class Compared:
    """A reference value: how it is named in a sentence (« du département »), its value, and
    whether the gap is significant (None: no interval to tell)."""

    of: str
    value: float | None
    significant: bool | None = None


def noun(label: str) -> tuple[str, bool]:
    """The label as a noun phrase with its article, and whether it is feminine.

    >>> noun("Part des foyers allocataires percevant le RSA")
    ('la part des foyers allocataires percevant le RSA', True)
    >>> noun("Indice de vieillissement")
    ("l'indice de vieillissement", False)
    >>> noun("Naissances domiciliées de l'année")
    ("l'indicateur « Naissances domiciliées de l'année »", False)
    """
    first, _, rest = label.partition(" ")
    found = _NOUNS.get(first.lower())
    if found is None:
        return f"l'indicateur « {label} »", False
    article, feminine = found
    spaced = article if article.endswith("'") else article + " "
    return f"{spaced}{first.lower()}{' ' + rest if rest else ''}", feminine


def relation(value: float, ref: Compared, feminine: bool, unit: str = "") -> str:
    """« nettement supérieure », « inférieur », « proche » … of ``value`` against ``ref``.

    >>> relation(36.0, Compared("du département", 20.0, True), True)
    'nettement supérieure'
    >>> relation(1.3, Compared("du département", 1.1, True), True, "%")  # 0.2 point
    'supérieure'
    >>> relation(20.3, Compared("du département", 20.0, False), False)
    'proche'
    >>> relation(18.0, Compared("de la France", 20.0), False)
    'inférieur'
    """
    assert ref.value is not None
    gap = value - ref.value
    if french_number(value, 1) == french_number(ref.value, 1):  # equal as printed
        return "proche"
    scale = abs(ref.value) or 1.0
    e = "e" if feminine else ""
    if ref.significant is False or abs(gap) / scale < CLOSE:
        return "proche"
    side = f"supérieur{e}" if gap > 0 else f"inférieur{e}"
    # « nettement »: a large gap, significant when an interval can tell
    strong = abs(gap) / scale >= FAR and ref.significant is not False
    if unit in ("%", "‰"):  # and, for a rate, at least a few points
        strong = strong and abs(gap) >= POINTS
    return f"nettement {side}" if strong else side


def comparison(
    label: str,
    unit: str,
    period: str,
    place: str,
    value: float,
    references: Sequence[Compared],
) -> str:
    """One sentence: the value of the territory and how it stands against each reference.

    >>> text = comparison("Taux de pauvreté", "%", "2021", "à Saint-Denis", 36.0,
    ...       [Compared("de la Seine-Saint-Denis", 28.0, True), Compared("de la France", 14.5)])
    >>> text.replace("\\u202f", " ")[:62]
    'En 2021, le taux de pauvreté à Saint-Denis (36,0 %) est nettem'
    >>> text.replace("\\u202f", " ")[62:]
    'ent supérieur à celui de la Seine-Saint-Denis (28,0 %) et à celui de la France (14,5 %).'
    >>> comparison("Niveau de vie médian", "€", "2021", "à Metz", 20940, []).replace("\\u202f", " ")
    'En 2021, le niveau de vie médian à Metz est de 20 940 €.'
    """
    phrase, feminine = noun(label)
    pronoun = "celle" if feminine else "celui"
    shown = with_unit(value, unit, _digits(value, unit))
    known = [r for r in references if r.value is not None]
    if not known:
        return f"{when(period)}, {phrase} {place} est de {shown}."
    head = f"{when(period)}, {phrase} {place} ({shown})"
    parts = []
    previous = None
    for ref in known:
        word = relation(value, ref, feminine, unit)
        figure = with_unit(ref.value, unit, _digits(ref.value, unit))
        link = "de" if word == "proche" else "à"
        shown = word if word != previous else ""
        if link == "de":
            target = f"{pronoun} {ref.of}"
            parts.append(f"{shown + ' de ' if shown else 'de '}{target} ({figure})")
        else:
            parts.append(f"{shown + ' ' if shown else ''}à {pronoun} {ref.of} ({figure})")
        previous = word
    return f"{head} est {_join(parts)}."


def evolution(label: str, unit: str, points: Sequence[tuple[str, float]]) -> str:
    """How the value moved between its first and last periods (points of a percentage).

    >>> evolution("Part des familles monoparentales", "%", [("2013", 20.1), ("2019", 22.6)])
    'Entre 2013 et 2019, elle a augmenté de 2,5 points (de 20,1\\u202f% à 22,6\\u202f%).'
    >>> evolution("Taux de chômage", "%", [("2015", 12.0), ("2020", 12.04)])
    'Entre 2015 et 2020, il est resté stable (12,0\\u202f%).'
    """
    if len(points) < 2:
        return ""
    (start, first), (end, last) = points[0], points[-1]
    _, feminine = noun(label)
    pronoun = "elle" if feminine else "il"
    span = f"Entre {start} et {end}"
    stayed = "restée" if feminine else "resté"
    if unit in ("%", "‰"):
        change = last - first
        if abs(change) < 0.1:
            shown = with_unit(last, unit, _digits(last, unit))
            return f"{span}, {pronoun} est {stayed} stable ({shown})."
        amount = f"{french_number(abs(change), 1)} point{'s' if abs(change) >= 2 else ''}"
    else:
        if first == 0:
            return ""
        change = (last - first) / abs(first) * 100
        if abs(change) < 1:
            return f"{span}, {pronoun} est {stayed} stable ({with_unit(last, unit)})."
        amount = f"{french_number(abs(change), 1)}\u202f%"
    verb = "augmenté" if change > 0 else "diminué"
    start_text = with_unit(first, unit, _digits(first, unit))
    end_text = with_unit(last, unit, _digits(last, unit))
    return f"{span}, {pronoun} a {verb} de {amount} (de {start_text} à {end_text})."


def projection_sentence(
    label: str, unit: str, clause: str, period: str, value: float,
    low: float | None, high: float | None, mape: float, horizon: str = "",
) -> str:  # fmt: skip
    """A projection, conditional, naming the indicator, with its interval and its error
    measured at ``horizon`` (« 2 ans »).

    >>> text = projection_sentence("Niveau de vie médian", "€", "si la tendance 2016-2021 se "
    ...                            "poursuivait", "2026", 24310.4, 23100, 25600, 3.98, "2 ans")
    >>> for part in text.replace("\u202f", " ").split(" ("):
    ...     print(part)
    Si la tendance 2016-2021 se poursuivait, le niveau de vie médian serait de 24 310 € en 2026
    entre 23 100 € et 25 600 € ; erreur moyenne mesurée à 2 ans : 4,0 %).
    """
    phrase, _ = noun(label)
    digits = _digits(value, unit)
    shown = with_unit(value, unit, digits)
    between = ""
    if low is not None and high is not None:
        between = f"entre {with_unit(low, unit, digits)} et {with_unit(high, unit, digits)} ; "
    at = f" à {horizon}" if horizon else ""
    error = f"erreur moyenne mesurée{at} : {french_number(mape, 1)}\u202f%"
    return f"{first_upper(clause)}, {phrase} serait de {shown} en {period} ({between}{error})."


def count_sentence(
    label: str, unit: str, period: str, place: str, value: float, total: float | None, of: str
) -> str:
    """A count, and its share of a containing territory's total (« of »: « de la Moselle »).

    >>> text = count_sentence("Naissances (période intercensitaire)", "naissances",
    ...     "2013-2018", "à Bobigny", 6812, 146000, "de la Seine-Saint-Denis")
    >>> text.replace("\\u202f", " ")[:56]
    'Entre 2013 et 2018, on compte 6 812 naissances à Bobigny'
    >>> text.replace("\\u202f", " ")[56:]
    ', soit 4,7 % du total de la Seine-Saint-Denis.'
    >>> count_sentence("Ménages", "ménages", "2018", "à Metz", 57525, None, "")
    'En 2018, on compte 57\u202f525 ménages à Metz.'
    >>> count_sentence("Population municipale", "habitants", "2018", "au Ban-Saint-Martin", 4100,
    ...                1e6, "de la Moselle").replace("\\u202f", " ")
    'En 2018, on compte 4 100 habitants au Ban-Saint-Martin, soit 0,4 % du total de la Moselle.'
    >>> count_sentence("Superficie", "km²", "2018", "à Metz", 41.94, 6216.0,
    ...                "de la Moselle").replace("\u202f", " ")
    'En 2018, la superficie à Metz est de 41,9 km², soit 0,7 % du total de la Moselle.'
    """
    phrase = re.sub(r"\s*\([^)]*\)", "", label).strip()
    first = phrase.split(" ", 1)[0]
    figure = with_unit(value, "", 0)  # census counts are weighted: 57 525 ménages, not ,1
    if first[-1:] in ("s", "x"):  # a plural noun: « 7 798 naissances », « 12 foyers allocataires »
        text = f"{when(period)}, on compte {figure} {_lower(phrase)} {place}"
    elif unit and unit.isalpha():
        text = f"{when(period)}, on compte {figure} {unit} {place}"
    else:
        text = f"{when(period)}, {noun(phrase)[0]} {place} est de {with_unit(value, unit, 1)}"
    if total:
        share = 100 * value / total
        said = with_unit(share, "%", 1) if share >= 0.05 else "moins de 0,1\u202f%"
        text += f", soit {said} du total {of}"
    return text + "."


def when(period: str) -> str:
    """How a sentence opens on a period: « En 2021 », « Entre 2013 et 2018 ».

    >>> when("2021"), when("2013-2018"), when("2015-T3")
    ('En 2021', 'Entre 2013 et 2018', 'En 2015-T3')
    """
    span = re.fullmatch(r"(\d{4})-(\d{4})", period.strip())
    if span:
        return f"Entre {span[1]} et {span[2]}"
    return f"En {period}"


def _lower(text: str) -> str:
    """The first letter in lower case, unless the first word is an acronym (« RSA »)."""
    first = text.split(" ", 1)[0]
    return text if first.isupper() else text[:1].lower() + text[1:]


def _digits(value: float | None, unit: str) -> int | None:
    """Decimals of a figure: one for a rate, two for a rate under 0.1 (« 0,03 % », never
    « 0,0 % »), none for zero.

    >>> _digits(12.34, "%"), _digits(0.03, "%"), _digits(0.0, "%"), _digits(5.0, "€")
    (1, 2, 0, None)
    """
    if unit in ("%", "‰"):
        if value == 0:
            return 0
        return 2 if value is not None and abs(value) < 0.1 else 1
    return None


def _join(parts: list[str]) -> str:
    if len(parts) == 1:
        return parts[0]
    return ", ".join(parts[:-1]) + " et " + parts[-1]
