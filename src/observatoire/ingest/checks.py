"""The checks an import makes on each chunk of rows, and the values it draws from them.

Codes are normalised and checked against the referential (current, of a past vintage, unknown
with the nearest codes as hints, duplicated anywhere in the file); every kept cell is parsed
(numbers, secret markers) and checked (not a number, negative count, out of range, a part larger
than its total). Vectorised: a chunk of 200,000 rows is checked in a fraction of a second.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from observatoire.catalog.numbers import ParsedColumn, parse_numbers
from observatoire.catalog.statuses import ValueStatus
from observatoire.ingest.connectors import Layout
from observatoire.ingest.report import Tally
from observatoire.ingest.tables import Table
from observatoire.store.base import Warehouse
from observatoire.store.territories import changed_communes, codebook, territory_codes
from observatoire.territories.codes import CodeBook, CodeStatus, normalise_codes, why_unknown_iris

__all__ = ["SERIES_KEY", "VALUE_COLUMNS", "ChunkRows", "KeySet", "ReferenceCodes"]

# The long frame of values a chunk gives: what makes a series, then each territory's cell.
SERIES_KEY = ["variable", "level", "period", "dims", "geography"]
VALUE_COLUMNS = [*SERIES_KEY, "code", "value", "status", "note"]
_STATUSES = [s.value for s in ValueStatus]
_GEOGRAPHIES = ["current", "published"]


class ReferenceCodes:
    """What the checks of one import need of the referential, read once."""

    def __init__(self, warehouse: Warehouse, level: str) -> None:
        self.warehouse = warehouse
        self.level = level
        self.book: CodeBook | None = None
        self.arm: set[str] = set()
        self.known: set[str] = set()
        self.past: set[str] = set()
        self.changing: set[str] = set()
        self._hints: CodeBook | None = None
        if level in ("commune", "iris"):  # the COG history is read only where it serves
            self.book = codebook(warehouse, "commune")
            self.arm = set(territory_codes(warehouse, "arm"))
            self.communes = set(self.book.current) | self.arm
            self.past = set(self.book.past)
        if level == "iris":
            self.known = set(territory_codes(warehouse, "iris"))
        elif level == "commune":
            self.changing = self._changing_communes()
        else:
            self.known = set(territory_codes(warehouse, level))

    def _changing_communes(self) -> set[str]:
        """Current communes that some change of the COG made from others (fusions, scissions,
        code changes): values of a past geography may have to be summed into them."""
        return changed_communes(self.warehouse) & set(self.book.current if self.book else ())

    def unknown_iris(self, code: str) -> tuple[str, str]:
        """Why an IRIS code is not in the referential, and the detail of this one (see
        :func:`why_unknown_iris`)."""
        past = self.book.past if self.book is not None else {}
        return why_unknown_iris(code, self.communes, past)

    def hints(self) -> CodeBook:
        """Codes to suggest for an unknown one (read only when some code is unknown)."""
        if self._hints is None:
            book = self.book
            self._hints = book if book is not None else codebook(self.warehouse, self.level)
        return self._hints


class KeySet:
    """The keys (code, period, dimensions) met so far in a file, as 64-bit hashes: duplicates
    are found across chunks in 8 bytes a row."""

    def __init__(self) -> None:
        self._parts: list[np.ndarray] = []  # one sorted array of hashes per chunk

    def duplicated(self, keys: pd.Series) -> np.ndarray:
        """Which of ``keys`` were met before (earlier in the chunk or in a previous one)."""
        hashes = pd.util.hash_array(keys.to_numpy(dtype=object))
        repeated = pd.Series(hashes).duplicated().to_numpy().copy()
        for part in self._parts:
            where = np.minimum(np.searchsorted(part, hashes), len(part) - 1)
            repeated |= part[where] == hashes
        if len(hashes):
            self._parts.append(np.unique(hashes))
        return repeated


class ChunkRows:
    """The rows of one chunk of a recognised table, their codes, cells and rejections."""

    def __init__(self, table: Table, layout: Layout, reference: ReferenceCodes, tally: Tally):
        self.table = table
        self.layout = layout
        self.reference = reference
        self.tally = tally
        raw = table.frame[layout.code_column]
        if layout.code_map:
            raw = raw.map(lambda c: layout.code_map.get(c, c))
        self.codes, bad = normalise_codes(raw, layout.level)
        self.keep = np.ones(len(raw), dtype=bool)
        tally.rows_read += len(raw)
        for position in bad:
            shown = str(raw.iloc[position])
            self._reject(int(position), layout.code_column, shown, "code mal formé")
        self.status = np.full(len(raw), CodeStatus.CURRENT.value, dtype=object)
        self.levels = np.full(len(raw), layout.level, dtype=object)
        self._dims: np.ndarray | None = None

    def _reject(self, position: int, column: str, value: str, reason: str) -> None:
        if self.keep[position]:
            self.keep[position] = False
            self.tally.rows_rejected += 1
        self.tally.reject(self.table.line_of(position), column, value, reason)

    def check_codes(self, keys: KeySet) -> None:
        """Current codes pass, arrondissements municipaux in commune files go to the ``arm``
        level, codes of a past geography are marked for conversion, unknown codes and duplicates
        (within the chunk or with an earlier one) are rejected."""
        reference = self.reference
        level = self.layout.level
        column = self.layout.code_column
        codes = self.codes
        if level == "commune":
            self.levels[codes.isin(reference.arm).to_numpy()] = "arm"
            current = codes.isin(reference.communes).to_numpy()
            past = codes.isin(reference.past).to_numpy() & ~current
            self.status[past] = CodeStatus.PAST.value
            unknown = ~current & ~past
        elif level == "iris" and not reference.known:  # no IRIS reference: the commune part
            prefix = codes.str[:5]
            unknown = ~(prefix.isin(reference.communes) | prefix.isin(reference.past)).to_numpy()
        else:
            unknown = ~codes.isin(reference.known).to_numpy()
        for position in np.flatnonzero(unknown & self.keep):
            code = codes.iloc[position]
            shown = code
            reason = "code inconnu"
            if level == "iris":
                reason, detail = reference.unknown_iris(code)
                shown = f"{code} ({detail})"
            elif self.tally.wants_example("code inconnu"):
                close = reference.hints().nearest(code)
                shown = f"{code} (proches : {', '.join(close)})" if close else code
            self._reject(int(position), column, shown, reason)
        key = codes
        if self.layout.period_column:
            key = key + "|" + self.table.frame[self.layout.period_column].str.strip()
        if self.layout.dim_columns:
            key = key + "|" + pd.Series(self.dims(), index=key.index)
        duplicated = keys.duplicated(key) & self.keep
        for position in np.flatnonzero(duplicated):
            self._reject(int(position), column, codes.iloc[position], "code en double")
        self.tally.past_codes += int((self.keep & (self.status == CodeStatus.PAST.value)).sum())

    def dims(self) -> np.ndarray:
        """Each row's dimensions in canonical form (sorted ``name=value`` joined by ``|``)."""
        if self._dims is None:
            columns = sorted(self.layout.dim_columns)
            if not columns:
                self._dims = np.full(len(self.keep), "", dtype=object)
            else:
                joined = columns[0] + "=" + self.table.frame[columns[0]].str.strip()
                for column in columns[1:]:
                    joined = joined + "|" + column + "=" + self.table.frame[column].str.strip()
                self._dims = joined.to_numpy(dtype=object)
        return self._dims

    def values(self) -> pd.DataFrame:
        """Parse every kept cell (numbers and statuses, with the cell checks) into a long frame
        of the observation's columns, its repetitive text as categories (cheap to build, to hold
        and to write)."""
        keep = np.flatnonzero(self.keep)
        layout = self.layout
        frame = self.table.frame
        n = len(keep)
        if not layout.columns:
            return pd.DataFrame(columns=VALUE_COLUMNS)
        parsed_by_column: dict[str, ParsedColumn] = {}
        values, statuses = [], []
        for spec in layout.columns:
            cells = frame[spec.column].iloc[keep]
            parsed = parse_numbers(cells, empty=layout.empty, markers=layout.markers)
            parsed_by_column[spec.column] = parsed
            self._check_cells(spec.column, spec.additive, keep, cells, parsed, parsed_by_column)
            values.append(parsed.values)
            statuses.append(parsed.statuses)
            counts = pd.Series(parsed.statuses).value_counts()
            self.tally.add_statuses(spec.column, {str(k): int(v) for k, v in counts.items()})
        width = len(layout.columns)
        variable_index, variable_values = pd.factorize(
            np.array([s.variable for s in layout.columns], dtype=object)
        )
        code_index, code_values = pd.factorize(self.codes.iloc[keep].to_numpy(dtype=object))
        level_values = list(dict.fromkeys([layout.level, "arm"]))
        level_index = ((self.levels[keep] == "arm") & (len(level_values) == 2)).astype(np.int8)
        dims_index, dims_values = pd.factorize(self.dims()[keep])
        if layout.period_column:
            periods = frame[layout.period_column].iloc[keep].str.strip().to_numpy(dtype=object)
            period_index, period_values = pd.factorize(periods)
            period_index = np.tile(period_index, width)
            self.tally.periods.update(str(p) for p in period_values)
        else:
            period_values = pd.Index(sorted({s.period for s in layout.columns}))
            positions = period_values.get_indexer([s.period for s in layout.columns])
            period_index = np.repeat(positions, n)
        return pd.DataFrame(
            {
                "variable": pd.Categorical.from_codes(
                    np.repeat(variable_index, n), variable_values
                ),
                "level": pd.Categorical.from_codes(np.tile(level_index, width), level_values),
                "code": pd.Categorical.from_codes(np.tile(code_index, width), code_values),
                "period": pd.Categorical.from_codes(period_index, period_values),
                "dims": pd.Categorical.from_codes(np.tile(dims_index, width), dims_values),
                "value": np.concatenate(values),
                "status": pd.Categorical(np.concatenate(statuses), categories=_STATUSES),
                "geography": pd.Categorical.from_codes(
                    np.zeros(n * width, dtype=np.int8), _GEOGRAPHIES
                ),
                "note": np.full(n * width, None, dtype=object),
            }
        )

    def _check_cells(
        self,
        column: str,
        additive: bool,
        keep: np.ndarray,
        cells: pd.Series,
        parsed: ParsedColumn,
        parsed_by_column: dict[str, ParsedColumn],
    ) -> None:
        layout = self.layout
        self._drop(parsed.invalid, keep, column, cells, parsed, "valeur non numérique")
        if additive:
            negative = np.flatnonzero(parsed.values < 0)
            self._drop(negative, keep, column, cells, parsed, "comptage négatif")
        bounds, total = layout.checks.get(column, (None, None))
        if bounds is not None:
            low, high = bounds
            outside = np.flatnonzero((parsed.values < low) | (parsed.values > high))
            reason = f"valeur hors de l'intervalle [{low:g} ; {high:g}]"
            self._drop(outside, keep, column, cells, parsed, reason)
        if total is not None:
            whole = parsed_by_column.get(total) or parse_numbers(
                self.table.frame[total].iloc[keep], empty=layout.empty, markers=layout.markers
            )
            larger = np.flatnonzero(parsed.values > whole.values)
            reason = f"partie supérieure à son total ({total})"
            self._drop(larger, keep, column, cells, parsed, reason)

    def _drop(
        self,
        positions: np.ndarray,
        keep: np.ndarray,
        column: str,
        cells: pd.Series,
        parsed: ParsedColumn,
        reason: str,
    ) -> None:
        """Reject cells (not their row): no value, status missing, reported."""
        for position in positions:
            line = self.table.line_of(int(keep[position]))
            self.tally.reject(line, column, str(cells.iloc[position]), reason)
        parsed.values[positions] = np.nan
        parsed.statuses[positions] = ValueStatus.MISSING.value
        self.tally.cells_rejected += len(positions)
