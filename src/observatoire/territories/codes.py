"""Territory codes: normalisation of codes as files really hold them, and their classification.

Spreadsheets turn ``01001`` into ``1001`` (or ``1001.0``), IRIS ``010040101`` into ``10040101``,
départements ``01`` into ``1``. :func:`normalise_code` restores the official form, or raises
:class:`~observatoire.errors.InvalidValueError` when no repair is possible.
:class:`CodeBook` then tells, for a normalised code, whether it is current, belongs to a past
vintage of the COG (to be converted), or is unknown (with the nearest known codes).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum

import numpy as np
import pandas as pd

from observatoire.errors import InvalidValueError

__all__ = [
    "Classified",
    "CodeBook",
    "CodeStatus",
    "iris_successor",
    "normalise_code",
    "why_unknown_iris",
]

_COMMUNE = re.compile(r"^(0[1-9]\d{3}|[1-9]\d{4}|2[AB]\d{3})$")
_IRIS = re.compile(r"^(0[1-9]\d{3}|[1-9]\d{4}|2[AB]\d{3})\d{4}$")
_DEP = re.compile(r"^(\d{2}|2[AB]|97\d)$")
_REG = re.compile(r"^\d{2}$")
_EPCI = re.compile(r"^\d{9}$")
# QPV: « QP » + département on 3 characters + 3 digits (2015 generation: QP093005), « QN » +
# département + 2 digits + a letter (2024 generation: QN09301M); the ensemble of the QPV of a
# département: « QPV<generation>-<département> » (QPV2015-93).
_QPV = re.compile(r"^(QP(\d{3}|02[AB])\d{3}|QN(\d{3}|02[AB])\d{2}[A-Z])$")
_QPV_ENSEMBLE = re.compile(r"^QPV(2015|2024)-(\d{2}|2[AB]|97\d)$")
_FLOAT_SUFFIX = re.compile(r"\.0+$")

_WIDTH = {"commune": 5, "arm": 5, "iris": 9, "departement": 2, "region": 2, "epci": 9,
          "qpv": 8, "ensemble_qpv": 10}
_PATTERN = {
    "commune": _COMMUNE,
    "arm": _COMMUNE,
    "iris": _IRIS,
    "departement": _DEP,
    "region": _REG,
    "epci": _EPCI,
    "qpv": _QPV,
    "ensemble_qpv": _QPV_ENSEMBLE,
}


def normalise_code(raw: object, level: str) -> str:
    """The official form of a code read from a file, for an official ``level``.

    >>> normalise_code("1001", "commune"), normalise_code(1001.0, "commune")
    ('01001', '01001')
    >>> normalise_code("2a004", "commune"), normalise_code("10040101", "iris")
    ('2A004', '010040101')
    >>> normalise_code(" 1 ", "departement")
    '01'

    Levels without a fixed pattern (``pays``, custom zonings) are only stripped.
    """
    text = _FLOAT_SUFFIX.sub("", str(raw).strip().replace("\u00a0", "")).upper()
    if not text or text in {"NAN", "NONE"}:
        raise InvalidValueError(f"code {level} vide")
    pattern = _PATTERN.get(level)
    if pattern is None:
        return text
    width = _WIDTH[level]
    if text.isdigit() and len(text) == width - 1 and level != "departement":
        text = "0" + text  # the one leading zero a spreadsheet drops
    elif level == "departement" and text.isdigit() and len(text) == 1:
        text = text.zfill(2)
    if not pattern.match(text):
        raise InvalidValueError(f"code {level} mal formé « {raw} »")
    return text


class CodeStatus(Enum):
    """What a normalised code is, for a referential."""

    CURRENT = "current"
    PAST = "past"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Classified:
    """The verdict on one code: status, the period it was valid (past codes), suggestions."""

    code: str
    status: CodeStatus
    valid_until: str | None = None
    suggestions: tuple[str, ...] = ()


@dataclass
class CodeBook:
    """Known codes of one level: the current ones, and past ones with their end of validity.

    ``past`` maps a code that is no longer current to the date (ISO) it stopped being valid.
    """

    level: str
    current: frozenset[str]
    past: Mapping[str, str] = field(default_factory=dict)

    def classify(self, code: str) -> Classified:
        """Current, past (with the date it ended) or unknown (with up to 3 nearest codes)."""
        if code in self.current:
            return Classified(code, CodeStatus.CURRENT)
        if code in self.past:
            return Classified(code, CodeStatus.PAST, valid_until=self.past[code])
        return Classified(code, CodeStatus.UNKNOWN, suggestions=tuple(self.nearest(code)))

    def nearest(self, code: str, n: int = 3) -> list[str]:
        """Up to ``n`` known codes closest to ``code``, preferring the same 2-character prefix."""
        pool: Iterable[str] = [c for c in self.current if c[:2] == code[:2]] or self.current
        return difflib.get_close_matches(code, sorted(pool), n=n, cutoff=0.6)


def normalise_codes(raw: pd.Series, level: str) -> tuple[pd.Series, np.ndarray]:
    """Vectorised :func:`normalise_code`: the normalised codes, and the positions of the cells
    that cannot be repaired (their code is left as read).

    >>> codes, bad = normalise_codes(pd.Series(["1001", "93066", "1001.0", "x"]), "commune")
    >>> codes.tolist(), bad.tolist()
    (['01001', '93066', '01001', 'X'], [3])
    """
    text = raw.fillna("").astype(str).str.strip().str.replace(_FLOAT_SUFFIX, "", regex=True)
    text = text.str.upper()
    pattern = _PATTERN.get(level)
    if pattern is None:
        bad = np.flatnonzero((text == "").to_numpy())
        return text, bad
    width = _WIDTH[level]
    short = text.str.fullmatch(r"\d+") & (
        text.str.len() == (1 if level == "departement" else width - 1)
    )
    text = text.mask(short, "0" + text)
    ok = text.str.match(pattern.pattern)
    return text, np.flatnonzero(~ok.to_numpy())


def iris_successor(code: str, successor: str, irises: Collection[str], *,
                   recoded: bool) -> str | None:  # fmt: skip
    """The current IRIS an IRIS of a former commune becomes, where INSEE's rules tell:

    - the single pseudo-IRIS ``XXXXX0000`` of a commune not cut into IRIS goes into its
      successor when the successor is not cut either (its only IRIS is ``<successor>0000``);
    - an IRIS whose commune only changed code (``recoded``) keeps its number under the new
      code, when that IRIS exists.

    Otherwise None: a commune merged into a commune cut into IRIS has no IRIS of its own.

    >>> iris_successor("143220000", "14406", {"144060000"}, recoded=False)
    '144060000'
    >>> iris_successor("143220000", "14118", {"141180101", "141180102"}, recoded=False) is None
    True
    >>> iris_successor("782860101", "91286", {"912860101"}, recoded=True)
    '912860101'
    """
    suffix = code[5:]
    if suffix == "0000" and set(irises) == {successor + "0000"}:
        return successor + "0000"
    if recoded and successor + suffix in irises:
        return successor + suffix
    return None


def why_unknown_iris(
    code: str, communes: Collection[str], past: Mapping[str, str]
) -> tuple[str, str]:
    """Why an IRIS code is not in the referential, from its commune part: a reason (the same
    for many rows, so that a report groups them) and the detail of this code. The commune no
    longer exists (merged since the file's year: no IRIS of today matches it), or it exists
    and the IRIS is of another cutting, or it is unknown too.

    >>> why_unknown_iris("930590101", {"93066"}, {"93059": "2026-01-01"})[1]
    'commune 93059 fusionnée le 2026-01-01'
    >>> why_unknown_iris("930669999", {"93066"}, {})[0]
    "IRIS inconnu d'une commune actuelle (découpage d'un autre millésime ?)"
    >>> why_unknown_iris("990010101", {"93066"}, {})
    ('code inconnu', 'commune 99001 inconnue')
    """
    commune = code[:5]
    if commune in past and commune not in communes:
        return (
            "IRIS d'une commune fusionnée depuis dans une commune découpée en IRIS : sans "
            "correspondance",
            f"commune {commune} fusionnée le {past[commune]}",
        )
    if commune in communes:
        return (
            "IRIS inconnu d'une commune actuelle (découpage d'un autre millésime ?)",
            f"commune {commune}",
        )
    return "code inconnu", f"commune {commune} inconnue"
