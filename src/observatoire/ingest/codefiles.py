"""Files of commune codes read for the geography tools: checking a file's codes against the
referential (``observatoire geo check-codes``) and reading a communal file to convert it to the
current geography (``observatoire geo convert``).

Both return values, never print: the command line, the web or a script decide what to show.
Numbers are read by :func:`~observatoire.catalog.numbers.parse_numbers` (decimal comma, thousands
separators, ``1.234,5``), codes by :func:`~observatoire.territories.codes.normalise_code`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from observatoire.catalog.numbers import parse_numbers
from observatoire.errors import InputError
from observatoire.ingest.tables import read_table
from observatoire.territories.codes import CodeBook, CodeStatus, normalise_code
from observatoire.territories.vintages import Conversion

__all__ = ["CodeCheck", "ConvertedFile", "check_codes", "read_communal_values"]


@dataclass(frozen=True)
class CodeCheck:
    """What the codes of one column are: how many are current, past (to convert) or unknown,
    how many were repaired (leading zeros), and one French message per problem, naming the file
    and its line."""

    counts: dict[CodeStatus, int]
    repaired: int
    problems: list[str] = field(default_factory=list)

    @property
    def summary(self) -> str:
        return (
            f"{self.counts[CodeStatus.CURRENT]} codes actuels, {self.counts[CodeStatus.PAST]} "
            f"codes d'anciens millésimes (à convertir), {self.counts[CodeStatus.UNKNOWN]} "
            f"inconnus ; {self.repaired} codes réparés (zéros initiaux)."
        )


@dataclass(frozen=True)
class ConvertedFile:
    """A communal file converted to the current geography: the conversion, the geography it was
    converted from (0: unknown, the simplified passage of the referential) and its row count."""

    conversion: Conversion
    year: int
    rows: int


def check_codes(path: str | Path, book: CodeBook, *, column: str = "CODGEO") -> CodeCheck:
    """Classify every code of ``column`` in the file at ``path`` against ``book``."""
    table = read_table(path, expect=[column])
    name = table.column(column)
    counts = {status: 0 for status in CodeStatus}
    repaired = 0
    problems = []
    for i, raw in enumerate(table.frame[name]):
        try:
            code = normalise_code(raw, book.level)
        except InputError as exc:
            problems.append(f"{path}, ligne {table.line_of(i)} : {exc.message}")
            continue
        repaired += code != raw.strip()
        verdict = book.classify(code)
        counts[verdict.status] += 1
        if verdict.status is CodeStatus.UNKNOWN:
            hint = f" (proches : {', '.join(verdict.suggestions)})" if verdict.suggestions else ""
            problems.append(f"{path}, ligne {table.line_of(i)} : code inconnu {code}{hint}")
    return CodeCheck(counts, repaired, problems)


def read_communal_values(
    path: str | Path, *, code: str, columns: Sequence[str]
) -> tuple[pd.DataFrame, str]:
    """The commune codes (normalised) and the numeric ``columns`` of the file at ``path``, and
    the actual name of its code column. A code that cannot be a commune's raises an
    :class:`InputError` naming the file, line and column; a cell that is not a number is NaN.
    """
    table = read_table(path, expect=[code])
    names = [table.column(code), *(table.column(c) for c in columns)]
    frame = table.frame[names].copy()
    codes = []
    for i, raw in enumerate(frame[names[0]]):
        try:
            codes.append(normalise_code(raw, "commune"))
        except InputError as exc:
            raise InputError(
                exc.message, path=path, line=table.line_of(i), column=names[0]
            ) from None
    frame[names[0]] = codes
    for name in names[1:]:
        frame[name] = parse_numbers(frame[name]).values
    return frame, names[0]
