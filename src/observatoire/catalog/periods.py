"""Periods of values as points in time: a year (``2019``), a quarter (``2025-T2``), a month
(``2024-03``); a span of years (``2013-2018``, the census's intercensal period) is no point.

>>> period_time("2019"), period_time("2025-T2"), period_time("2024-03"), period_time("2013-2018")
(2019.0, 2025.25, 2024.1666666666667, None)
"""

from __future__ import annotations

import re

__all__ = ["period_time"]

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
