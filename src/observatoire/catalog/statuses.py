"""The status of a published value: a secret value is not a zero and not a plain missing value.

Producers mark cells that carry no number: ``s`` (secret statistique), ``ns`` (not significant),
``so`` (sans objet: not applicable), ``nd`` (not available), "Confidentiel…", or leave them empty
(which, depending on the producer, means secret or missing).
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["MARKERS", "ValueStatus", "marker_status"]


class ValueStatus(StrEnum):
    """Why a cell has (or has no) value."""

    OK = "ok"
    SECRET = "secret"
    NOT_SIGNIFICANT = "ns"
    NOT_APPLICABLE = "so"
    NOT_AVAILABLE = "nd"
    MISSING = "missing"
    # Computed values only: an aggregate whose members do not all have a value (it carries
    # its coverage), and a ratio whose denominator is zero.
    PARTIAL = "partial"
    UNDEFINED = "undefined"
    # A value published for the territory in the boundaries of another year (an EPCI since
    # recomposed, a commune since moved to another département): not today's territory's.
    OTHER_BOUNDARIES = "perimetre"

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    ValueStatus.OK: "valeur",
    ValueStatus.SECRET: "secret statistique",
    ValueStatus.NOT_SIGNIFICANT: "non significatif",
    ValueStatus.NOT_APPLICABLE: "sans objet",
    ValueStatus.NOT_AVAILABLE: "non disponible",
    ValueStatus.MISSING: "absent",
    ValueStatus.PARTIAL: "couverture partielle",
    ValueStatus.UNDEFINED: "non défini (dénominateur nul)",
    ValueStatus.OTHER_BOUNDARIES: "périmètre d'une autre année",
}

MARKERS: dict[str, ValueStatus] = {
    "s": ValueStatus.SECRET,
    "secret": ValueStatus.SECRET,
    "c": ValueStatus.SECRET,
    "confidentiel": ValueStatus.SECRET,
    "ns": ValueStatus.NOT_SIGNIFICANT,
    "so": ValueStatus.NOT_APPLICABLE,
    "nd": ValueStatus.NOT_AVAILABLE,
    "n.d.": ValueStatus.NOT_AVAILABLE,
    "n/d": ValueStatus.NOT_AVAILABLE,
    "na": ValueStatus.NOT_AVAILABLE,
}


def marker_status(text: str) -> ValueStatus | None:
    """The status a non-numeric marker stands for, or None if it is not a known marker.

    >>> marker_status(" S "), marker_status("Confidentiel (secret statistique)")
    (<ValueStatus.SECRET: 'secret'>, <ValueStatus.SECRET: 'secret'>)
    >>> marker_status("abc") is None
    True
    """
    folded = text.strip().lower()
    if folded in MARKERS:
        return MARKERS[folded]
    if folded.startswith(("confidentiel", "secret")):
        return ValueStatus.SECRET
    return None  # producer-specific markers come with their connector or descriptor
