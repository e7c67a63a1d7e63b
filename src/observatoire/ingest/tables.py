"""Reading tables as producers really publish them: CSV (any delimiter, encoding, BOM, CRLF,
preamble lines), XLSX with title rows, and either of them inside a zip.

Every cell is read as text: codes keep their leading zeros, and numbers are parsed later by whoever
knows what a column means. :class:`Table` remembers on which line of the file each row was, so
that errors can name it.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from observatoire.errors import FileFormatError, MissingColumnError

__all__ = ["Table", "find_column", "read_table"]

_DELIMITERS = (";", ",", "\t", "|")
_MAX_PREAMBLE = 30


@dataclass
class Table:
    """A table read from a file: text cells, and where each row came from.

    ``first_line`` is the line number (1-based) of the first data row; row ``i`` of ``frame``
    was on line ``first_line + i`` (exact unless a quoted cell spans several lines).
    """

    path: Path
    frame: pd.DataFrame
    first_line: int
    encoding: str | None = None
    delimiter: str | None = None

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


def _fold(text: str) -> str:
    import unicodedata

    decomposed = unicodedata.normalize("NFKD", str(text).strip().lstrip("\ufeff"))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()


def find_column(columns: Sequence[object], names: Sequence[str]) -> str | None:
    """The first column of ``columns`` matching one of ``names``, ignoring case and accents."""
    folded = {_fold(str(c)): str(c) for c in columns}
    for name in names:
        hit = folded.get(_fold(name))
        if hit is not None:
            return hit
    return None


def read_table(path: str | Path, *, expect: Sequence[str] = (), member: str | None = None) -> Table:
    """Read a CSV or XLSX file (possibly zipped) into a :class:`Table` of text cells.

    ``expect``: column names of which at least one must appear in the header; lines above the
    header (titles, notes) are skipped. Without it, the first line is the header.
    """
    path = Path(path)
    if not path.exists():
        raise FileFormatError("fichier introuvable", path=path)
    if not path.is_file():
        raise FileFormatError("ce chemin n'est pas un fichier", path=path)
    suffix = path.suffix.lower()
    if suffix == ".zip":
        return _read_zip(path, expect=expect, member=member)
    data = path.read_bytes()
    if suffix in {".xlsx", ".xlsm"}:
        return _read_xlsx(path, data, expect=expect)
    if suffix == ".xls":
        raise FileFormatError(
            "format Excel 97 (.xls) non pris en charge : enregistrez le fichier en .xlsx ou .csv",
            path=path,
        )
    return _read_csv(path, data, expect=expect)


def _read_zip(path: Path, *, expect: Sequence[str], member: str | None) -> Table:
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise FileFormatError(f"archive zip illisible ({exc})", path=path) from None
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
        try:
            data = archive.read(chosen)
        except (zipfile.BadZipFile, EOFError, OSError) as exc:
            raise FileFormatError(f"archive zip tronquée ou corrompue ({exc})", path=path) from None
    inner = Path(f"{path}!{chosen}")
    if chosen.lower().endswith(".xlsx"):
        return _read_xlsx(inner, data, expect=expect)
    return _read_csv(inner, data, expect=expect)


def _decode(path: Path, data: bytes) -> tuple[str, str]:
    if b"\x00" in data[:4096]:
        raise FileFormatError(
            "fichier binaire ou encodé en UTF-16 : enregistrez-le en CSV UTF-8", path=path
        )
    if data.startswith(b"\xef\xbb\xbf"):
        encoding = "utf-8-sig"
    else:
        try:
            data.decode("utf-8")
            encoding = "utf-8"
        except UnicodeDecodeError:
            encoding = "cp1252"
    try:
        return data.decode(encoding), encoding
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise FileFormatError(
            f"encodage illisible (octet {data[exc.start]:#x})", path=path, line=line
        ) from None


def _header_index(lines: Sequence[str], expect: Sequence[str], path: Path) -> int:
    if not expect:
        return 0
    wanted = {_fold(name) for name in expect}
    for index, line in enumerate(lines[:_MAX_PREAMBLE]):
        cells = {_fold(c.strip().strip('"')) for c in _split_any(line)}
        if cells & wanted:
            return index
    raise MissingColumnError(list(expect), _split_any(lines[0]) if lines else [], path=path)


def _split_any(line: str) -> list[str]:
    delimiter = max(_DELIMITERS, key=line.count)
    return next(csv.reader([line], delimiter=delimiter))


def _read_csv(path: Path, data: bytes, *, expect: Sequence[str]) -> Table:
    text, encoding = _decode(path, data)
    if not text.strip():
        raise FileFormatError("fichier vide", path=path)
    lines = text.splitlines()
    start = _header_index(lines, expect, path)
    header = lines[start]
    delimiter = max(_DELIMITERS, key=header.count)
    body = "\n".join(lines[start:])
    try:
        frame = pd.read_csv(
            io.StringIO(body),
            sep=delimiter,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            skip_blank_lines=True,
            engine="c",
        )
    except pd.errors.ParserError as exc:
        raise FileFormatError(_parser_message(str(exc), start), path=path) from None
    except pd.errors.EmptyDataError:
        raise FileFormatError("aucune ligne de données", path=path, line=start + 1) from None
    frame = _tidy(frame)
    return Table(path, frame, first_line=start + 2, encoding=encoding, delimiter=delimiter)


def _parser_message(message: str, offset: int) -> str:
    import re

    match = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", message)
    if match:
        expected, line, saw = (int(g) for g in match.groups())
        return (
            f"ligne {line + offset} : {saw} champs au lieu de {expected} "
            "(ligne tronquée, séparateur ou guillemet mal placé)"
        )
    return f"CSV illisible ({message.strip()})"


def _tidy(frame: pd.DataFrame) -> pd.DataFrame:
    """Drop the empty trailing columns spreadsheets add, and strip header names."""
    frame.columns = [str(c).strip().lstrip("\ufeff") for c in frame.columns]
    empty_named = [
        c for c in frame.columns if (c == "" or c.startswith("Unnamed:")) and (frame[c] == "").all()
    ]
    frame = frame.drop(columns=empty_named)
    duplicated = [c for c in frame.columns if c.split(".")[0] in frame.columns and "." in c]
    if duplicated:
        raise FileFormatError(f"colonnes en double dans l'en-tête : {', '.join(duplicated)}")
    return frame


def _read_xlsx(path: Path, data: bytes, *, expect: Sequence[str]) -> Table:
    import openpyxl

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many unrelated types on broken files
        raise FileFormatError(
            f"classeur XLSX illisible ({type(exc).__name__})", path=path
        ) from None
    sheet = book.worksheets[0]
    rows = [
        ["" if v is None else _cell_text(v) for v in row]
        for row in sheet.iter_rows(values_only=True)
    ]
    book.close()
    rows = [r for r in rows]
    if not rows:
        raise FileFormatError("feuille vide", path=path)
    start = 0
    if expect:
        wanted = {_fold(n) for n in expect}
        for index, row in enumerate(rows[:_MAX_PREAMBLE]):
            if {_fold(c) for c in row} & wanted:
                start = index
                break
        else:
            raise MissingColumnError(list(expect), rows[0], path=path)
    header = [str(c).strip() for c in rows[start]]
    width = max((i + 1 for i, h in enumerate(header) if h), default=0)
    body = [r[:width] + [""] * (width - len(r)) for r in rows[start + 1 :] if any(r[:width])]
    frame = pd.DataFrame(body, columns=header[:width], dtype=str)
    return Table(path, _tidy(frame), first_line=start + 2)


def _cell_text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
