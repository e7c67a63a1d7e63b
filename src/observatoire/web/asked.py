"""What a request asks, resolved once for its page and its files: a level and the territory
it is looked at inside, a period, a territory spelled back as requests spell it."""

from __future__ import annotations

import re

from observatoire.errors import InputError, UnknownNameError, printable
from observatoire.observatory import Observatory

__all__ = ["asked_period", "asked_place", "spelled"]


def spelled(within: tuple[str, str] | None) -> str:
    """A territory as a request spells it (``departement:93``); empty for none."""
    return f"{within[0]}:{within[1]}" if within else ""


def asked_period(text: str | None) -> str | None:
    """A period as a request gives it (``2020``, ``2015-T3``, ``2024-03``…), None when empty;
    anything else (control characters, a long text) refused rather than half-matched.

    >>> asked_period(" 2020 "), asked_period(""), asked_period("2015-T3")
    ('2020', None, '2015-T3')
    """
    value = (text or "").strip()
    if not value:
        return None
    if not re.fullmatch(r"[0-9A-Za-z_-]{2,12}", value):
        raise InputError(f"période « {printable(value[:20])} » illisible (ex. 2020, 2015-T3)")
    return value


def asked_place(obs: Observatory, level: str,
                within: str | None) -> tuple[str, tuple[str, str] | None]:  # fmt: skip
    """A request's level (its id; an unknown one refused with the known ones) and the
    territory it is looked at inside, resolved."""
    lvl = obs.geography.level_id(level)
    known = obs.geography.level_counts()
    if lvl not in known:
        raise UnknownNameError("niveau", lvl[:30], list(known))
    text = (within or "").strip()
    return lvl, obs.geography.within(text, lvl) if text else None
