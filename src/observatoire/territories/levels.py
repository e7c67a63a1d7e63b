"""Territorial levels: the official nesting, their French labels, and zoning identifiers.

Official levels, finest first::

    iris < arm (arrondissement municipal) < commune < epci < departement < region < pays

A custom zoning (``observatoire zoning import NAME``) is a level too: its identifier is the
zoning's name, which must be a slug and must not collide with an official level.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from observatoire.errors import InputError, UnknownNameError

__all__ = [
    "LEVELS",
    "OFFICIAL_LEVELS",
    "Level",
    "check_zoning_name",
    "get_level",
    "is_official",
]


@dataclass(frozen=True)
class Level:
    """One official level: its identifier, French label and rank (0 = finest)."""

    id: str
    label: str
    plural: str
    rank: int


OFFICIAL_LEVELS: tuple[Level, ...] = (
    Level("iris", "IRIS", "IRIS", 0),
    Level("arm", "arrondissement municipal", "arrondissements municipaux", 1),
    Level("commune", "commune", "communes", 2),
    Level("epci", "EPCI", "EPCI", 3),
    Level("departement", "département", "départements", 4),
    Level("region", "région", "régions", 5),
    Level("pays", "pays", "pays", 6),
)
LEVELS: dict[str, Level] = {level.id: level for level in OFFICIAL_LEVELS}

_ALIASES = {
    "com": "commune",
    "communes": "commune",
    "dep": "departement",
    "département": "departement",
    "departements": "departement",
    "reg": "region",
    "région": "region",
    "regions": "region",
    "france": "pays",
    "arrondissement": "arm",
}

_SLUG = re.compile(r"^[a-z][a-z0-9_-]{1,39}$")


def get_level(name: str) -> Level:
    """The official level called ``name`` (aliases such as ``dep`` accepted).

    >>> get_level("dep").label
    'département'
    """
    key = _ALIASES.get(name.strip().lower(), name.strip().lower())
    try:
        return LEVELS[key]
    except KeyError:
        raise UnknownNameError("niveau", name, list(LEVELS)) from None


def is_official(level: str) -> bool:
    """Whether ``level`` is an official level rather than a custom zoning."""
    return level in LEVELS


def check_zoning_name(name: str) -> str:
    """Validate a zoning identifier: a lowercase slug that is not an official level."""
    if not _SLUG.match(name):
        raise InputError(
            f"nom de zonage invalide « {name} » : 2 à 40 caractères, minuscules, chiffres, - ou _, "
            "commençant par une lettre (exemple : tas93)"
        )
    if name in LEVELS or name in _ALIASES:
        raise InputError(f"nom de zonage « {name} » réservé : c'est un niveau officiel")
    return name
