"""What a director checks in a portrait's sentences, as rules a test can apply to each one:
a verb, no label repeated in parentheses, every figure with its unit, the year of its table,
no « 0,0 % »."""

from __future__ import annotations

import re
from typing import Any

__all__ = ["sentence_faults"]

VERB = re.compile(r"\b(est|sont|a|ont|compte|reste|restée?|atteint|s'élève|augmenté|diminué)\b")
# A number as the portrait writes it: 1 234 567 or 12,5 (no-break spaces between thousands).
NUMBER = re.compile(r"(?<![\w,-])-?\d{1,3}(?:[\u202f\xa0 ]\d{3})*(?:,\d+)?(?![\w,-])")
UNITS = ("%", "€", "‰", "point", "points", "km²", "hab./km²")


def sentence_faults(figure: Any) -> list[str]:
    """What is wrong in ``figure``'s sentence (and its trend), as messages; [] when none."""
    faults = []
    text = " ".join(t for t in (figure.sentence, figure.trend) if t)
    if not VERB.search(figure.sentence):
        faults.append("pas de verbe")
    for match in re.finditer(r"([\wÀ-ÿ' ]+?) \(([^()]+)\)", text):
        before, inside = match[1].strip().lower(), match[2].strip().lower()
        if inside and (before.endswith(inside) or inside in before.split()[-1:]):
            faults.append(f"libellé répété : « {match[0]} »")
    if re.search(r"\b0,0\s?%", text):
        faults.append("« 0,0 % »")
    opening = re.match(r"(?:En (\S+?)|Entre (\d{4}) et (\d{4})),", figure.sentence)
    if opening is None:
        faults.append("la phrase ne dit pas sa période")
    else:
        said = opening[1] or f"{opening[2]}-{opening[3]}"
        if said != figure.period:
            faults.append(f"période {said} ≠ tableau {figure.period}")
    if figure.unit:  # each figure is followed by its unit (a count: its noun)
        for number in NUMBER.finditer(figure.sentence):
            if re.fullmatch(r"(19|20)\d\d", number[0]):
                continue  # a year
            after = figure.sentence[number.end() :].lstrip("\u202f\xa0 ")
            if not after or not (after.startswith(UNITS) or re.match(r"[a-zà-ÿ]", after)):
                faults.append(f"nombre sans unité : « {number[0]} »")
    return faults
