"""What the observatory knows of a dataset besides its values: who may see it, how often its
producer publishes it, and so when a new edition is due.
"""

from __future__ import annotations

import re
from datetime import date

__all__ = [
    "CONFIDENTIALITY",
    "FREQUENCIES",
    "OPEN_LICENCE",
    "PUBLICATION_LAG",
    "RESERVED_SOURCES",
    "due_date",
    "edition_due",
]

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

# How long after the end of its period an edition is published, at most, in months: INSEE's
# Filosofi of 2019 came out early in 2022, a quarter of job-seekers within weeks.
PUBLICATION_LAG: dict[str, int] = {
    "mensuelle": 3,
    "trimestrielle": 6,
    "semestrielle": 12,
    "annuelle": 30,
    "biennale": 36,
}

OPEN_LICENCE = "Licence Ouverte / Etalab 2.0"

# The producers' namespaces: sources of the variables the connectors write and the shipped
# catalogue reads (``caf.ARSAS``, ``filosofi.DISP_MED``…), prefixes of their datasets, and the
# platform's own. A partner organisation's code may not be one of them, since its own tables
# are named after it (tests/test_ownership.py checks the catalogue and the connectors).
RESERVED_SOURCES = frozenset(
    {
        "anct",
        "caf",
        "cnaf",
        "dictionnaire",
        "donnees",
        "enregistrements",
        "etatcivil",
        "filosofi",
        "francetravail",
        "insee",
        "melodi",
        "mesures",
        "onpv",
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


_EDITION = re.compile(r"^(?P<year>(19|20)\d{2})(-?T(?P<quarter>[1-4])|-(?P<month>0[1-9]|1[0-2]))?$")


def edition_due(edition: str, frequency: str) -> date | None:
    """When the edition after ``edition`` (a year, ``2024-T4`` or ``2024-03``) should be out,
    from the producer's calendar: the end of its period plus the publication lag, and a
    month's grace. None when the edition or the frequency says no date.

    >>> edition_due("2014", "annuelle")
    datetime.date(2018, 7, 31)
    >>> edition_due("2024-T4", "trimestrielle"), edition_due("2024-03", "mensuelle")
    (datetime.date(2025, 10, 31), datetime.date(2024, 8, 31))
    >>> edition_due("2014-2019", "annuelle") is None
    True
    """
    match = _EDITION.match(str(edition).strip().upper())
    months = FREQUENCIES.get(frequency)
    if match is None or months is None or frequency not in PUBLICATION_LAG:
        return None
    year = int(match["year"])
    if match["quarter"]:
        last = (int(match["quarter"]) - 1) * 3 + 3
    elif match["month"]:
        last = int(match["month"])
    else:
        last = 12
    total = last + months + PUBLICATION_LAG[frequency] + 1  # months after January of ``year``
    year, month = year + total // 12, total % 12
    if month == 0:
        year, month = year - 1, 12
    following = date(year + (month == 12), month % 12 + 1, 1)
    return date.fromordinal(following.toordinal() - 1)  # the month's last day
