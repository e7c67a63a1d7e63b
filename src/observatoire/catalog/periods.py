"""Periods of values as points in time: a year (``2019``), a quarter (``2025-T2``), a month
(``2024-03``); a span of years (``2013-2018``, the census's intercensal period) is no point.

>>> period_time("2019"), period_time("2025-T2"), period_time("2024-03"), period_time("2013-2018")
(2019.0, 2025.25, 2024.1666666666667, None)
"""

from __future__ import annotations

import math
import re

__all__ = ["per_year", "period_end", "period_label", "period_time", "steps_after"]

_POINT = re.compile(r"(\d{4})(?:-T([1-4])|-(\d{2}))?")


def period_time(period: str) -> float | None:
    """The position of ``period`` in years, None when it is not a point in time."""
    match = _POINT.fullmatch(period.strip())
    if match is None:
        return None
    year = float(match[1])
    if match[2]:
        return year + (int(match[2]) - 1) / 4
    if match[3]:
        return year + (int(match[3]) - 1) / 12
    return year


def per_year(periods: list[str] | tuple[str, ...]) -> int:
    """How many periods a year the series has: 4 (all quarters), 12 (all months), else 1.

    >>> per_year(["2024-T4", "2025-T1"]), per_year(["2024-11", "2025-01"]), per_year(["2019"])
    (4, 12, 1)
    """
    if periods and all(_POINT.fullmatch(p.strip()) and "-T" in p for p in periods):
        return 4
    if periods and all(_POINT.fullmatch(p.strip()) and len(p.strip()) == 7 for p in periods):
        return 12
    return 1


def period_label(time: float, frequency: int) -> str:
    """The period at ``time`` in a series of ``frequency`` periods a year.

    >>> period_label(2026.5, 4), period_label(2026.0, 1), period_label(2024 + 2 / 12, 12)
    ('2026-T3', '2026', '2024-03')
    """
    year = math.floor(time + 1e-9)
    step = round((time - year) * frequency)
    if frequency == 4:
        return f"{year}-T{step + 1}"
    if frequency == 12:
        return f"{year}-{step + 1:02d}"
    return str(year)


def steps_after(last: float, until: float, frequency: int) -> list[tuple[str, float]]:
    """Every period of the series' frequency after ``last`` up to ``until``: label, time.

    >>> steps_after(2025.25, 2026.0, 4)
    [('2025-T3', 2025.5), ('2025-T4', 2025.75), ('2026-T1', 2026.0)]
    """
    out = []
    n = 1
    while last + n / frequency <= until + 1e-9:
        time = last + n / frequency
        out.append((period_label(time, frequency), round(time, 9)))
        n += 1
    return out


def period_end(text: str, frequency: int) -> float | None:
    """The last point of ``text`` (a year, or a period) in a series of ``frequency`` periods a
    year: the year 2027 of a quarterly series ends with 2027-T4.

    >>> period_end("2027", 4), period_end("2026-T2", 4), period_end("2030", 1)
    (2027.75, 2026.25, 2030.0)
    """
    time = period_time(text)
    if time is None:
        return None
    if text.strip().isdigit():
        return time + (frequency - 1) / frequency
    return time
