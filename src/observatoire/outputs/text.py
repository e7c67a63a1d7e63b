"""French wording of numbers, units and periods, shared by pages, maps, portraits and exports."""

from __future__ import annotations

import math

__all__ = ["french_number", "with_unit"]


def french_number(value: object, digits: int | None = None) -> str:
    """``12345.678`` → ``12 346``, ``36.04`` → ``36,0`` (narrow no-break space between
    thousands; one decimal below 1,000, two below 1, unless ``digits`` is given).

    >>> french_number(12345.678), french_number(12345.678, 1)
    ('12\\u202f346', '12\\u202f345,7')
    >>> french_number(None), french_number(float("nan"))
    ('–', '–')
    >>> french_number(0.125, 1)
    '0,1'
    """
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return "–"
    if isinstance(value, float) and math.isnan(value):
        return "–"
    if digits is None:
        digits = 0 if float(value).is_integer() or abs(value) >= 1000 else 1
        if abs(value) < 1 and value != 0:
            digits = 2
    text = f"{value:,.{digits}f}"
    return text.replace(",", "\u202f").replace(".", ",")


def with_unit(value: object, unit: str, digits: int | None = None) -> str:
    """A number with its unit as French typesetting writes it.

    >>> with_unit(36.04, "%"), with_unit(18070, "€"), with_unit(12, "naissances")
    ('36,0\\u202f%', '18\\u202f070\\u202f€', '12 naissances')
    """
    text = french_number(value, digits)
    if text == "–" or not unit:
        return text
    if unit in ("%", "‰", "€"):
        return f"{text}\u202f{unit}"
    return f"{text} {unit}"
