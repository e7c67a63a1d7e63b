"""Territorial levels: the official nesting, their French labels, and zoning identifiers.

Official levels, finest first::

    iris < arm (arrondissement municipal) < commune < epci < departement < region < pays

Beside them, the priority neighbourhoods of the politique de la ville: ``qpv`` (a quartier
prioritaire, of the 2015 or the 2024 generation) and ``ensemble_qpv`` (all the QPV of one
generation in one département). A QPV is not nested in communes: it may span several, and no
commune value is ever summed from QPV values (nor a QPV value from communes); the QPV of a
département add up to their ``ensemble_qpv`` only.

A custom zoning (``observatoire zoning import NAME``) is a level too: its identifier is the
zoning's name, which must be a slug and must not collide with an official level.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from observatoire.errors import InputError, UnknownNameError
from observatoire.text import fold

__all__ = [
    "LEVELS",
    "OFFICIAL_LEVELS",
    "Level",
    "check_zoning_name",
    "get_level",
    "is_official",
    "level_from_label",
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
    Level("qpv", "quartier prioritaire (QPV)", "quartiers prioritaires (QPV)", 1),
    Level("arm", "arrondissement municipal", "arrondissements municipaux", 2),
    Level("commune", "commune", "communes", 3),
    Level("epci", "EPCI", "EPCI", 4),
    Level(
        "ensemble_qpv", "ensemble des QPV du département", "ensembles des QPV par département", 5
    ),
    Level("departement", "département", "départements", 6),
    Level("region", "région", "régions", 7),
    Level("pays", "pays", "pays", 8),
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
    "qp": "qpv",
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


_LEVEL_CODES = {
    "COM": "commune", "ARM": "arm", "IRIS": "iris", "EPCI": "epci", "DEP": "departement",
    "REG": "region", "FRANCE": "pays", "FE": "pays", "FM": "pays", "METRO": "pays",
    "QPV": "qpv", "QP": "qpv",
}  # fmt: skip
_LEVEL_WORDS = (
    ("etablissement public territorial", None), ("intercommun", "epci"),
    ("etablissement public", "epci"), ("epci", "epci"), ("communaute", "epci"),
    ("metropole", "epci"),
    ("arrondissement municipal", "arm"), ("commune", "commune"), ("iris", "iris"),
    ("quartier", "qpv"), ("departement", "departement"), ("region", "region"),
    ("france", "pays"), ("pays", "pays"),
)  # fmt: skip


def level_from_label(text: str) -> str | None:
    """The level a producer's words or code for it mean (Melodi's « Niveau Géo » and
    ``GEO_OBJECT``), or None.

    >>> level_from_label("Etablissement public de coopération intercommunal")
    'epci'
    >>> level_from_label("Commune"), level_from_label("DEP"), level_from_label("Région")
    ('commune', 'departement', 'region')
    >>> level_from_label("Communauté de communes"), level_from_label("Établissement public "
    ...                                                              "territorial")
    ('epci', None)
    """
    raw = str(text).strip()
    if raw.upper() in _LEVEL_CODES:
        return _LEVEL_CODES[raw.upper()]
    folded = fold(raw)
    return next((level for word, level in _LEVEL_WORDS if word in folded), None)


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
