"""Parsing the numbers of a column as producers write them, vectorised.

Decimal comma or point; thousands separated by a space, U+00A0 or U+202F (or by the other mark
when both appear, ``1.234,5``); a leading ``+``; markers turned into statuses; anything else
reported as not numeric.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from observatoire.catalog.statuses import MARKERS, ValueStatus

__all__ = ["ParsedColumn", "parse_numbers"]

_SPACES = r"[ \u00a0\u202f']"  # thousands separators: not tabs, not line or form feeds


@dataclass(frozen=True)
class ParsedColumn:
    """``values`` (NaN where there is no number), ``statuses`` (ValueStatus values as text) and
    ``invalid``: positions of cells that are neither a number nor a known marker."""

    values: np.ndarray
    statuses: np.ndarray
    invalid: np.ndarray


def parse_numbers(
    cells: pd.Series,
    *,
    empty: ValueStatus = ValueStatus.MISSING,
    markers: Mapping[str, ValueStatus] | None = None,
) -> ParsedColumn:
    """Parse a column of text cells.

    >>> parsed = parse_numbers(pd.Series(["1 234,5", "12.5", "s", "", "-17,7", "x"]))
    >>> parsed.values.tolist()[:2], parsed.statuses.tolist()[2:4], parsed.invalid.tolist()
    ([1234.5, 12.5], ['secret', 'missing'], [5])
    """
    raw = cells.fillna("").astype(str)
    is_empty = raw.isin(_BLANKS).to_numpy()
    known_markers = {**MARKERS, **(markers or {})}
    texts = [*known_markers, *(m.upper() for m in known_markers)]
    is_marker = raw.isin(texts).to_numpy()
    values = np.full(len(raw), np.nan)
    rest = np.flatnonzero(~is_empty & ~is_marker)
    if len(rest):
        subset = raw.iloc[rest]
        if subset.iloc[:1000].str.contains(",", regex=False).any():
            subset = subset.str.replace(",", ".", regex=False)
        try:  # one C-level conversion when the column is clean (the usual case)
            values[rest] = subset.to_numpy(dtype=object).astype(float)
        except ValueError:
            values[rest] = _parse_written(raw.iloc[rest])
    values[~np.isfinite(values)] = np.nan
    statuses = np.full(len(raw), ValueStatus.OK.value, dtype=object)
    statuses[is_empty] = empty.value
    marked = np.flatnonzero(is_marker)
    if len(marked):  # exact markers (often most cells of a small commune): by distinct text
        lookup = {text.lower(): status.value for text, status in known_markers.items()}
        codes, distinct = pd.factorize(raw.iloc[marked].to_numpy(dtype=object))
        statuses[marked] = np.array([lookup[str(t).lower()] for t in distinct], dtype=object)[codes]
    unparsed = np.flatnonzero(np.isnan(values) & ~is_empty & ~is_marker)
    invalid = np.empty(0, dtype=int)
    if len(unparsed):
        folded = raw.iloc[unparsed].str.strip().str.lower()
        mapped = folded.map({k: v.value for k, v in known_markers.items()})
        prefixed = folded.str.startswith(("confidentiel", "secret"))
        mapped = mapped.mask(mapped.isna() & prefixed, ValueStatus.SECRET.value)
        blank = (folded == "").to_numpy()
        mapped = mapped.mask(blank, empty.value)
        known = mapped.notna().to_numpy()
        statuses[unparsed[known]] = mapped[known].to_numpy()
        invalid = unparsed[~known]
        statuses[invalid] = ValueStatus.MISSING.value
    return ParsedColumn(values, statuses, invalid)


_BLANKS = ["", " "]


def _parse_written(text: pd.Series) -> np.ndarray:
    """Numbers written with a decimal comma and/or thousands separators."""
    cleaned = text.str.strip().str.replace(_SPACES, "", regex=True).str.lstrip("+")
    both = cleaned.str.contains(",", regex=False) & cleaned.str.contains(".", regex=False)
    # With both marks, the last one is the decimal mark.
    comma_last = both & (cleaned.str.rfind(",") > cleaned.str.rfind("."))
    cleaned = cleaned.mask(comma_last, cleaned.str.replace(".", "", regex=False))
    cleaned = cleaned.mask(both & ~comma_last, cleaned.str.replace(",", "", regex=False))
    cleaned = cleaned.str.replace(",", ".", regex=False)
    parsed = pd.to_numeric(cleaned.where(cleaned != ""), errors="coerce")
    return np.asarray(parsed, dtype=float)
