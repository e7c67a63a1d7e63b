"""Reading tables as producers really publish them: CSV (any delimiter, encoding, BOM, CRLF,
preamble and footer lines), XLSX with title rows, and either of them inside a zip.

Every cell is read as text: codes keep their leading zeros, and numbers are parsed later by whoever
knows what a column means. :class:`Table` remembers on which line of the file each row was, so
that errors can name it.

Large CSV files are streamed: :func:`open_table` sniffs the encoding, the header line and the
delimiter, then yields the rows in chunks (:class:`TableStream`), so that memory does not grow
with the file. :func:`read_table` reads a whole (small) file in one :class:`Table`.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, cast

import pandas as pd

from observatoire.errors import FileFormatError, MissingColumnError
from observatoire.ingest.archives import DAMAGED, check_archive, check_workbook, damaged
from observatoire.ingest.rawtext import (
    Counting,
    Progress,
    check_last_line,
    scan_text,
    unreadable_line,
)
from observatoire.text import fold

__all__ = [
    "Table",
    "TableStream",
    "column_key",
    "find_column",
    "open_table",
    "read_table",
]

_DELIMITERS = (";", ",", "\t", "|")
_MAX_PREAMBLE = 30
CHUNK_ROWS = 200_000
MAX_COLUMNS = 5_000  # the widest INSEE base has a few hundred
# A workbook is read whole in memory (openpyxl): beyond this, CSV (streamed) is asked for.
MAX_XLSX_BYTES = 256 * 1024**2


@dataclass
class Table:
    """A table read from a file: text cells, and where each row came from.

    ``first_line`` is the line number (1-based) of the first data row; row ``i`` of ``frame``
    was on line ``first_line + i`` (exact unless a quoted cell spans several lines or blank lines
    were skipped). ``footer`` holds the note lines found below the data (sources, legends).
    """

    path: Path
    frame: pd.DataFrame
    first_line: int
    encoding: str | None = None
    delimiter: str | None = None
    footer: list[str] = field(default_factory=list)
    preamble: list[str] = field(default_factory=list)  # lines above the header (titles…)

    def line_of(self, index: int) -> int:
        """The file line of row ``index`` (positional)."""
        return self.first_line + index

    def column(self, *names: str) -> str:
        """The actual name of the first of ``names`` present (case- and accent-insensitive)."""
        found = find_column(self.frame.columns, names)
        if found is None:
            raise MissingColumnError(list(names), list(self.frame.columns), path=self.path)
        return found

    def has(self, *names: str) -> bool:
        return find_column(self.frame.columns, names) is not None


def find_column(columns: Sequence[object], names: Sequence[str]) -> str | None:
    """The first column of ``columns`` matching one of ``names``, ignoring case, accents and
    separators (« Code commune », « CODE_COMMUNE » and « code-commune » are one name)."""
    folded = {column_key(str(c)): str(c) for c in columns}
    for name in names:
        hit = folded.get(column_key(name))
        if hit is not None:
            return hit
    return None


def column_key(name: str) -> str:
    """A column's name as compared: « Code commune » → ``code_commune``.

    >>> column_key(" Code  INSEE "), column_key("Libellé de l'EDS")
    ('code_insee', 'libelle_de_l_eds')
    """
    return re.sub(r"[^a-z0-9]+", "_", fold(name, trim=True)).strip("_")


class TableStream:
    """A table whose rows are read chunk by chunk (see :func:`open_table`).

    Iterating yields :class:`Table` chunks of at most ``chunk_rows`` rows, with the same columns;
    the footer lines, if any, are taken off the last one. A stream can be iterated once;
    :attr:`fraction` tells how much of the file has been read.
    """

    def __init__(
        self,
        path: Path,
        chunks: Iterator[Table],
        *,
        encoding: str | None,
        delimiter: str | None,
        progress: Progress | None = None,
    ) -> None:
        self.path = path
        self.encoding = encoding
        self.delimiter = delimiter
        self._chunks = chunks
        self._progress = progress

    @property
    def fraction(self) -> float:
        """Share of the file read so far (1.0 once read, or for files read at once)."""
        return self._progress.fraction if self._progress is not None else 1.0

    def __iter__(self) -> Iterator[Table]:
        return self._chunks

    def read_all(self) -> Table:
        """Every chunk in one :class:`Table`."""
        chunks = list(self._chunks)
        first = chunks[0]
        if len(chunks) == 1:
            return first
        frame = pd.concat([c.frame for c in chunks], ignore_index=True)
        return Table(
            first.path,
            frame,
            first.first_line,
            first.encoding,
            first.delimiter,
            footer=chunks[-1].footer,
        )


def read_table(path: str | Path, *, expect: Sequence[str] = (), member: str | None = None) -> Table:
    """Read a CSV or XLSX file (possibly zipped) into a :class:`Table` of text cells.

    ``expect``: column names of which at least one must appear in the header; lines above the
    header (titles, notes) are skipped. Without it, the first line is the header.
    """
    return open_table(path, expect=expect, member=member, chunk_rows=None).read_all()


def open_table(
    path: str | Path,
    *,
    expect: Sequence[str] = (),
    member: str | None = None,
    chunk_rows: int | None = CHUNK_ROWS,
) -> TableStream:
    """Open a CSV or XLSX file (possibly zipped) as a :class:`TableStream`.

    The encoding is checked over the whole file and the header line found before any row is
    yielded, so that a file in a wrong encoding fails at once, naming its line.
    """
    path = Path(path)
    if not path.exists():
        raise FileFormatError("fichier introuvable", path=path)
    if not path.is_file():
        raise FileFormatError("ce chemin n'est pas un fichier", path=path)
    suffix = path.suffix.lower()
    if suffix == ".xls":
        raise FileFormatError(
            "format Excel 97 (.xls) non pris en charge : enregistrez le fichier en .xlsx ou .csv",
            path=path,
        )
    if suffix == ".zip":
        return _open_zip(path, expect=expect, member=member, chunk_rows=chunk_rows)
    if suffix in {".xlsx", ".xlsm"}:
        return _single(_read_xlsx(path, _xlsx_bytes(path), expect=expect))
    return _open_csv(
        path, lambda: path.open("rb"), path.stat().st_size, expect=expect, chunk_rows=chunk_rows
    )


def _single(table: Table) -> TableStream:
    return TableStream(table.path, iter([table]), encoding=table.encoding, delimiter=None)


def _open_zip(
    path: Path, *, expect: Sequence[str], member: str | None, chunk_rows: int | None
) -> TableStream:
    check_archive(path)
    try:
        archive = zipfile.ZipFile(path)
    except DAMAGED as exc:
        raise damaged(exc, path, "archive zip") from None
    with archive:
        names = [
            n
            for n in archive.namelist()
            if n.lower().endswith((".csv", ".txt", ".xlsx")) and not n.endswith("/")
        ]
        if member is not None:
            names = [n for n in names if Path(n).name == member]
        data_names = [n for n in names if not Path(n).name.lower().startswith("meta")] or names
        if not data_names:
            raise FileFormatError("l'archive ne contient aucun fichier CSV ou XLSX", path=path)
        chosen = max(data_names, key=lambda n: archive.getinfo(n).file_size)
        size = archive.getinfo(chosen).file_size
    inner = Path(f"{path}!{chosen}")
    if chosen.lower().endswith(".xlsx"):
        return _single(_read_xlsx(inner, _zip_bytes(path, chosen), expect=expect))

    def opener() -> IO[bytes]:
        return cast(IO[bytes], io.BufferedReader(_ZipMember(path, chosen)))

    return _open_csv(inner, opener, size, expect=expect, chunk_rows=chunk_rows)


def _zip_bytes(path: Path, name: str) -> bytes:
    with _ZipMember(path, name) as handle:
        return handle.read()


class _ZipMember(io.RawIOBase):
    """A member of a zip, read as a stream; a truncated archive is a :class:`FileFormatError`."""

    def __init__(self, path: Path, name: str) -> None:
        self._path = path
        try:
            self._archive = zipfile.ZipFile(path)
        except DAMAGED as exc:
            raise damaged(exc, path, "archive zip") from None
        try:
            self._handle = self._archive.open(name)
        except BaseException as exc:
            self._archive.close()
            if isinstance(exc, DAMAGED):
                raise damaged(exc, path, "archive zip", "tronquée ou corrompue") from None
            raise

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        try:
            data = self._handle.read(len(buffer))
        except DAMAGED as exc:
            raise damaged(exc, self._path, "archive zip", "tronquée ou corrompue") from None
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._handle.close()
            self._archive.close()
        super().close()


def _header_index(lines: Sequence[str], expect: Sequence[str], path: Path) -> int:
    if not expect:
        return 0
    wanted = {column_key(name) for name in expect}
    for index, line in enumerate(lines[:_MAX_PREAMBLE]):
        try:
            cells = {column_key(c.strip().strip('"')) for c in _split_any(line)}
        except csv.Error as exc:  # a cell beyond the csv module's limit (128 Kio)
            raise FileFormatError(unreadable_line(exc), path=path,
                                  line=index + 1) from None  # fmt: skip
        if cells & wanted:
            return index
    raise MissingColumnError(list(expect), _split_any(lines[0]) if lines else [], path=path)


def _split_any(line: str) -> list[str]:
    delimiter = max(_DELIMITERS, key=line.count)
    return next(csv.reader([line], delimiter=delimiter))


def _text(opener: Callable[[], IO[bytes]], encoding: str) -> io.TextIOWrapper:
    return io.TextIOWrapper(opener(), encoding=encoding, newline=None)


def _open_csv(
    path: Path,
    opener: Callable[[], IO[bytes]],
    size: int,
    *,
    expect: Sequence[str],
    chunk_rows: int | None,
) -> TableStream:
    encoding = scan_text(path, opener)
    with _text(opener, encoding) as handle:
        lines = []
        for _ in range(_MAX_PREAMBLE):
            line = handle.readline()
            if not line:
                break
            lines.append(line.rstrip("\r\n"))
    if not any(line.strip() for line in lines):
        raise FileFormatError("fichier vide", path=path)
    for number, line in enumerate(lines, start=1):
        width = max(line.count(d) for d in _DELIMITERS) + 1
        if width > MAX_COLUMNS:
            raise FileFormatError(
                f"ligne de {width} colonnes : au-delà de {MAX_COLUMNS}, ce n'est pas un tableau "
                "de producteur (découpez-le)",
                path=path,
                line=number,
            )
    start = _header_index(lines, expect, path)
    delimiter = max(_DELIMITERS, key=lines[start].count)
    progress = Progress(size)

    def counted() -> IO[bytes]:
        return cast(IO[bytes], io.BufferedReader(Counting(opener(), progress)))

    titles = [line for line in lines[:start] if line.strip(delimiter + " ")]
    chunks = _csv_chunks(path, counted, encoding, delimiter, start, chunk_rows, progress, titles)
    return TableStream(path, chunks, encoding=encoding, delimiter=delimiter, progress=progress)


def _csv_chunks(
    path: Path,
    opener: Callable[[], IO[bytes]],
    encoding: str,
    delimiter: str,
    start: int,
    chunk_rows: int | None,
    progress: Progress,
    preamble: list[str],
) -> Iterator[Table]:
    with ExitStack() as stack:
        handle = stack.enter_context(_text(opener, encoding))
        for _ in range(start):
            handle.readline()
        try:
            reader = pd.read_csv(
                handle,
                sep=delimiter,
                dtype=str,
                keep_default_na=False,
                na_filter=False,
                skip_blank_lines=True,
                engine="c",
                chunksize=chunk_rows,
            )
            frames: Iterator[pd.DataFrame] = iter(reader) if chunk_rows else iter([reader])
            first_line = start + 2
            shape: _Shape | None = None
            pending: Table | None = None
            for frame in frames:
                if shape is None:
                    shape = _Shape.of(frame, path)
                chunk = Table(path, shape.apply(frame), first_line, encoding, delimiter,
                              preamble=preamble if pending is None else [])  # fmt: skip
                first_line += len(frame)
                if pending is not None:
                    yield pending
                pending = chunk
        except pd.errors.ParserError as exc:
            raise _parser_error(str(exc), start, path) from None
        except pd.errors.EmptyDataError:
            raise FileFormatError("aucune ligne de données", path=path, line=start + 1) from None
        if pending is not None:
            assert shape is not None
            check_last_line(path, progress, encoding, delimiter, shape.names)
            yield _trim_footer(pending)


def _parser_error(message: str, offset: int, path: Path) -> FileFormatError:
    """pandas' parser error, told as the line of the file where it is."""
    unclosed = re.search(r"EOF inside string starting at row (\d+)", message)
    if unclosed:
        return FileFormatError(
            "guillemet ouvert jamais fermé jusqu'à la fin du fichier (fichier tronqué, ou "
            "guillemet mal placé)",
            path=path,
            line=int(unclosed.group(1)) + offset + 1,
        )
    match = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", message)
    if match:
        expected, line, saw = (int(g) for g in match.groups())
        return FileFormatError(
            f"{saw} champs au lieu de {expected} (ligne tronquée, séparateur ou guillemet mal "
            "placé)",
            path=path,
            line=line + offset,
        )
    return FileFormatError(f"CSV illisible ({message.strip()})", path=path)


@dataclass
class _Shape:
    """The header of a file, tidied once and applied to each chunk: names stripped, the empty
    unnamed columns spreadsheets add dropped, duplicate names refused."""

    names: list[str]
    dropped: list[str]

    @classmethod
    def of(cls, frame: pd.DataFrame, path: Path) -> _Shape:
        names = [str(c).strip().lstrip("\ufeff") for c in frame.columns]
        renamed = frame.set_axis(names, axis=1)
        dropped = [
            c for c in names if (c == "" or c.startswith("Unnamed:")) and (renamed[c] == "").all()
        ]
        duplicated = [c for c in names if c.split(".")[0] in names and "." in c]
        if duplicated:
            raise FileFormatError(
                f"colonnes en double dans l'en-tête : {', '.join(duplicated)}", path=path
            )
        return cls(names, dropped)

    def apply(self, frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.set_axis(self.names, axis=1)
        return frame.drop(columns=self.dropped) if self.dropped else frame


def _tidy(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    return _Shape.of(frame, path).apply(frame)


def _trim_footer(table: Table) -> Table:
    """Take off the note lines below the data: trailing rows whose first cell is free text
    (a sentence, not a code) and whose other cells are all empty."""
    frame = table.frame
    if frame.empty or frame.shape[1] < 2:
        return table
    tail = frame.tail(_MAX_PREAMBLE)
    others_empty = (tail.iloc[:, 1:] == "").all(axis=1).to_numpy()
    first = tail.iloc[:, 0].astype(str)
    note = (first.str.contains(r"\s|:", regex=True) | (first.str.len() > 12)).to_numpy()
    count = 0
    for is_empty, is_note in zip(others_empty[::-1], note[::-1], strict=True):
        if not (is_empty and is_note):
            break
        count += 1
    if count == 0:
        return table
    footer = [str(v) for v in first.iloc[len(first) - count :]]
    return Table(
        table.path,
        frame.iloc[: len(frame) - count].reset_index(drop=True),
        table.first_line,
        table.encoding,
        table.delimiter,
        footer=footer,
    )


def _xlsx_bytes(path: Path) -> bytes:
    size = path.stat().st_size
    if size > MAX_XLSX_BYTES:
        raise FileFormatError(
            f"classeur de {size / 1e6:.0f} Mo : au-delà de {MAX_XLSX_BYTES // 1024**2} Mo, "
            "enregistrez la feuille en CSV (lu par blocs)",
            path=path,
        )
    return path.read_bytes()


def _read_xlsx(path: Path, data: bytes, *, expect: Sequence[str]) -> Table:
    """The first sheet of a workbook (checked first for bombs: :mod:`.archives`)."""
    check_workbook(path, data)
    import openpyxl

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many unrelated types on broken files
        raise FileFormatError(
            f"classeur XLSX illisible ({type(exc).__name__})", path=path
        ) from None
    try:
        if not book.worksheets:  # a package whose workbook names no sheet openpyxl finds
            raise FileFormatError("classeur XLSX sans feuille lisible", path=path)
        rows = [  # read lazily: a malformed cell is found here
            ["" if v is None else _cell_text(v) for v in row]
            for row in book.worksheets[0].iter_rows(values_only=True)
        ]
    except FileFormatError:
        raise
    except Exception as exc:  # openpyxl's, on a cell it cannot read
        raise FileFormatError(
            f"classeur XLSX illisible ({type(exc).__name__} dans une cellule)", path=path
        ) from None
    finally:
        book.close()
    if not rows:
        raise FileFormatError("feuille vide", path=path)
    start = 0
    if expect:
        wanted = {column_key(n) for n in expect}
        for index, row in enumerate(rows[:_MAX_PREAMBLE]):
            if {column_key(str(c)) for c in row} & wanted:
                start = index
                break
        else:
            raise MissingColumnError(list(expect), rows[0], path=path)
    header = [str(c).strip() for c in rows[start]]
    width = max((i + 1 for i, h in enumerate(header) if h), default=0)
    body = [r[:width] + [""] * (width - len(r)) for r in rows[start + 1 :] if any(r[:width])]
    frame = pd.DataFrame(body, columns=header[:width], dtype=str)
    return _trim_footer(Table(path, _tidy(frame, path), first_line=start + 2))


def _cell_text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
