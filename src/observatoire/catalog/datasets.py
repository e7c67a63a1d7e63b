"""What the observatory knows of a dataset besides its values: who may see it, how often its
producer publishes it, and so when a new edition is due.
"""

from __future__ import annotations

from datetime import date

__all__ = ["CONFIDENTIALITY", "FREQUENCIES", "OPEN_LICENCE", "RESERVED_SOURCES", "due_date"]

# Who may see a dataset's values, from the widest audience to the narrowest.
CONFIDENTIALITY = ("public", "membres", "partenaire")

# How often a producer publishes, in months (None: once, no new edition expected).
FREQUENCIES: dict[str, int | None] = {
    "mensuelle": 1,
    "trimestrielle": 3,
    "semestrielle": 6,
    "annuelle": 12,
    "biennale": 24,
    "ponctuelle": None,
}

OPEN_LICENCE = "Licence Ouverte / Etalab 2.0"

# The producers' namespaces: sources of the variables the connectors write and the shipped
# catalogue reads (``caf.ARSAS``, ``filosofi.DISP_MED``…), prefixes of their datasets, and the
# platform's own. A partner organisation's code may not be one of them, since its own tables
# are named after it (tests/test_ownership.py checks the catalogue and the connectors).
RESERVED_SOURCES = frozenset(
    {
        "caf",
        "cnaf",
        "dictionnaire",
        "donnees",
        "enregistrements",
        "etatcivil",
        "filosofi",
        "francetravail",
        "insee",
        "mesures",
        "rp",
        "sirene",
        "statloc",
    }
)


def due_date(last_import: date, frequency: str, *, grace_months: int = 1) -> date | None:
    """When the next edition should have been imported: the last import plus the frequency,
    and a month's grace; None for a one-off or unknown frequency.

    >>> due_date(date(2026, 1, 31), "trimestrielle")
    datetime.date(2026, 5, 31)
    >>> due_date(date(2025, 6, 1), "annuelle"), due_date(date(2025, 6, 1), "ponctuelle")
    (datetime.date(2026, 7, 1), None)
    """
    months = FREQUENCIES.get(frequency)
    if months is None:
        return None
    total = last_import.month - 1 + months + grace_months
    year, month = last_import.year + total // 12, total % 12 + 1
    for day in (last_import.day, 30, 29, 28):  # the 31st of a shorter month: its last day
        try:
            return date(year, month, day)
        except ValueError:
            continue
    raise AssertionError("unreachable")
