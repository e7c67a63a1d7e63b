"""The bytes of a text file before they become a table: its encoding, and what no table can
hold, found in one streamed pass before a row is parsed (so that nothing is half-imported).

:func:`scan_text` reads the whole file once, by blocks: it tells UTF-8 (with or without BOM)
from CP1252/ISO-8859-1, and refuses with the line where it shows: binary content and UTF-16,
UTF-8 mixed with another encoding, a NUL byte, a BOM in the middle of the file (two files put
end to end), and a line longer than :data:`MAX_LINE_BYTES` (a file without line breaks).

:class:`Progress` follows the later, parsing pass (bytes read, line feeds, the last two blocks)
so that :func:`check_last_line` can refuse a file cut short once every row has been read.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Callable
from pathlib import Path
from typing import IO

from observatoire.errors import FileFormatError

__all__ = [
    "MAX_LINE_BYTES",
    "READ_BLOCK",
    "Counting",
    "Progress",
    "check_last_line",
    "scan_text",
    "sniff",
    "unreadable_line",
]

READ_BLOCK = 1 << 20
# A line of a table longer than this is no line of a table (the longest line of the national
# census comparator is under 1 KB): a file without line breaks, or not text at all.
MAX_LINE_BYTES = 4 * 1024**2
# A UTF-8 two-byte sequence of a Latin letter (é = C3 A9, « = C2 AB): its presence in a file
# that is not valid UTF-8 means that two encodings were mixed.
_UTF8_LATIN = re.compile(rb"[\xc2\xc3][\x80-\xbf]")


# What a file really is, from its first bytes, when it is no table (renamed, or a download
# that brought an error page instead of the data).
_MAGIC = (
    (b"%PDF", "un document PDF"),
    (b"\x89PNG", "une image PNG"),
    (b"\xff\xd8\xff", "une image JPEG"),
    (b"GIF8", "une image GIF"),
    (b"MZ", "un programme Windows"),
    (b"\x7fELF", "un programme"),
    (b"\xd0\xcf\x11\xe0", "un document Office 97 (.xls, .doc)"),
    (b"PK\x03\x04", "une archive zip (renommez-la en .zip, ou en .xlsx si c'est un classeur)"),
    (b"\x1f\x8b", "une archive gzip (décompressez-la)"),
    (b"SQLite format 3", "une base SQLite"),
)
_MARKUP = re.compile(rb"^\s*(<!doctype html|<html|<\?xml|<svg)", re.IGNORECASE)
_JSON = re.compile(rb"^\s*[\[{]\s*[\"\[{\]}]")
_UTF16 = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


_CONTROL_BYTES = bytes(c for c in range(32) if c not in (9, 10, 13))


def _binary(head: bytes) -> bool:
    """UTF-16, or control bytes beyond 5 % (and a few): not a text file (a stray NUL or
    control character in a text is refused later, or rejected, naming its line)."""
    if head.startswith(_UTF16) or head.count(b"\x00") > len(head) // 8:
        return True
    controls = len(head) - len(head.translate(None, _CONTROL_BYTES))
    return controls > max(len(head) // 20, 32)


def sniff(path: Path) -> None:
    """Refuse, from its first bytes and before anything is read whole, a file that is no
    table of text: another format under a ``.csv`` name, an HTML page, JSON, UTF-16, binary.
    Zips and workbooks are checked by :mod:`.archives`."""
    suffix = path.suffix.lower()
    if suffix == ".xls":
        raise FileFormatError(
            "format Excel 97 (.xls) non pris en charge : enregistrez le fichier en .xlsx ou .csv",
            path=path,
        )
    if suffix in (".zip", ".xlsx", ".xlsm"):
        return
    with path.open("rb") as handle:
        head = handle.read(4096)
    for magic, what in _MAGIC:
        if head.startswith(magic):
            raise FileFormatError(
                f"ce fichier est {what}, pas un tableau CSV : vérifiez le fichier déposé",
                path=path,
            )
    if _binary(head):
        raise FileFormatError(
            "fichier binaire ou encodé en UTF-16 : enregistrez-le en CSV UTF-8", path=path
        )
    if _MARKUP.match(head.lstrip(codecs.BOM_UTF8)):
        raise FileFormatError(
            "ce fichier est une page web (HTML ou XML), pas un tableau CSV : le "
            "téléchargement a sans doute rapporté une page d'erreur au lieu des données",
            path=path,
        )
    if _JSON.match(head.lstrip(codecs.BOM_UTF8)):
        raise FileFormatError(
            "ce fichier est du JSON, pas un tableau CSV : exportez les données en CSV",
            path=path,
        )


class _Lines:
    """Line count and the length of the current line, over blocks (shorter than
    :data:`MAX_LINE_BYTES`, so only a line spanning blocks can be too long)."""

    def __init__(self) -> None:
        self.line = 1
        self.current = 0

    def feed(self, block: bytes, path: Path) -> None:
        first = block.find(b"\n")
        length = self.current + (len(block) if first < 0 else first)
        if length > MAX_LINE_BYTES:
            raise FileFormatError(
                f"ligne de plus de {MAX_LINE_BYTES // 1024**2} Mo : le fichier n'a pas de fins "
                "de ligne lisibles (ce n'est pas un tableau CSV)",
                path=path,
                line=self.line,
            )
        if first < 0:
            self.current = length
        else:
            self.line += block.count(b"\n")
            self.current = len(block) - block.rfind(b"\n") - 1


def scan_text(path: Path, opener: Callable[[], IO[bytes]]) -> str:
    """The encoding of a text file (``utf-8``, ``utf-8-sig``, ``cp1252`` or ``iso-8859-1``),
    read whole by blocks; what no table can hold is refused naming its line (module
    docstring)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    lines = _Lines()
    high_seen, bom, offset = False, False, 0
    tail = b""
    with opener() as handle:
        block = handle.read(READ_BLOCK)
        if not block.strip():
            raise FileFormatError("fichier vide", path=path)
        if _binary(block[:4096]):
            raise FileFormatError(
                "fichier binaire ou encodé en UTF-16 : enregistrez-le en CSV UTF-8", path=path
            )
        bom = block.startswith(codecs.BOM_UTF8)
        utf8 = True
        while block:
            _check_bytes(tail, block, offset, lines, path)
            if utf8:
                try:
                    decoder.decode(block)
                except UnicodeDecodeError as exc:
                    bad_line = lines.line + block[: exc.start].count(b"\n")
                    mixed = high_seen or bool(_UTF8_LATIN.search(block[: exc.start]))
                    if mixed or bom or _utf8_later(block[exc.end :], handle):
                        raise FileFormatError(
                            "encodages mélangés : le fichier commence en UTF-8 mais contient "
                            f"un octet {block[exc.start]:#x} qui n'en est pas ; enregistrez-le "
                            "d'un seul tenant en UTF-8",
                            path=path,
                            line=bad_line,
                        ) from None
                    utf8 = False
                    break
                high_seen = high_seen or not block.isascii()
            lines.feed(block, path)
            offset += len(block)
            tail = block[-2:]
            block = handle.read(READ_BLOCK)
    if not utf8:
        return _single_byte_encoding(path, opener)
    return "utf-8-sig" if bom else "utf-8"


def _utf8_later(rest: bytes, handle: IO[bytes]) -> bool:
    """Whether UTF-8 sequences of Latin letters follow (then encodings were mixed)."""
    while rest:
        if _UTF8_LATIN.search(rest):
            return True
        rest = handle.read(READ_BLOCK)
    return False


def _check_bytes(tail: bytes, block: bytes, offset: int, lines: _Lines, path: Path) -> None:
    """A NUL byte, or a UTF-8 BOM past the start of the file, refused with its line."""
    nul = block.find(b"\x00")
    if nul >= 0:
        raise FileFormatError(
            "octet nul au milieu du fichier : fichier abîmé ou binaire ; rien n'a été importé",
            path=path,
            line=lines.line + block[:nul].count(b"\n"),
        )
    seam = tail + block
    found = seam.find(codecs.BOM_UTF8, 1 if offset == 0 else 0)
    if found >= 0:
        where = max(found - len(tail), 0)
        raise FileFormatError(
            "marque d'ordre des octets (BOM) au milieu du fichier : deux fichiers mis bout à "
            "bout ? enregistrez-les en un seul tableau ; rien n'a été importé",
            path=path,
            line=lines.line + block[:where].count(b"\n"),
        )


def _single_byte_encoding(path: Path, opener: Callable[[], IO[bytes]]) -> str:
    """CP1252, the encoding of Excel's French CSV files, unless bytes undefined in it occur;
    the guards of :func:`_check_bytes` and line lengths applied over the whole file."""
    decoder = codecs.getincrementaldecoder("cp1252")()
    lines = _Lines()
    encoding, tail, offset = "cp1252", b"", 0
    with opener() as handle:
        while block := handle.read(READ_BLOCK):
            _check_bytes(tail, block, offset, lines, path)
            lines.feed(block, path)
            if encoding == "cp1252":
                try:
                    decoder.decode(block)
                except UnicodeDecodeError:
                    encoding = "iso-8859-1"
            offset += len(block)
            tail = block[-2:]
    return encoding


class Progress:
    """Bytes read so far out of the total, shared by a stream and its readers; and the last
    two blocks read, with the count of line feeds, to look at the file's last line."""

    def __init__(self, total: int) -> None:
        self.total = max(total, 1)
        self.done = 0
        self.newlines = 0
        self.blocks: tuple[bytes, bytes] = (b"", b"")

    def saw(self, data: bytes) -> None:
        self.done += len(data)
        self.newlines += data.count(b"\n")
        self.blocks = (self.blocks[1], data)

    @property
    def tail(self) -> bytes:
        """The end of what was read (at least the last block)."""
        return self.blocks[0] + self.blocks[1]

    @property
    def fraction(self) -> float:
        return min(self.done / self.total, 1.0)


class Counting(io.RawIOBase):
    """A binary stream that tells a :class:`Progress` what is read through it."""

    def __init__(self, inner: IO[bytes], progress: Progress) -> None:
        self._inner = inner
        self._progress = progress

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self._inner.read(len(buffer))
        buffer[: len(data)] = data
        if data:
            self._progress.saw(data)
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._inner.close()
        super().close()


def unreadable_line(error: csv.Error) -> str:
    """A line the csv module cannot read, in words (a cell beyond its 128 Kio limit)."""
    if "field larger" in str(error):
        return (f"ligne illisible : une cellule de plus de {csv.field_size_limit()} "
                "caractères (ce n'est pas un tableau de données)")  # fmt: skip
    return f"ligne illisible ({error})"


_CUT_NUMBER = re.compile(r"\d[.,eE+-]$|^[+-]$")


def check_last_line(
    path: Path, progress: Progress, encoding: str, delimiter: str, header: list[str]
) -> None:
    """Refuse a file cut short: its last line has fewer fields than the header (and is not a
    note), or, without a final line break, ends in a number cut in the middle (``12,``).

    A number cut at a digit (``333`` for ``33397``) with every field present cannot be told
    from a whole one: nothing in the file says so.
    """
    tail = progress.tail
    text = tail.decode(encoding, errors="replace")
    lines = re.split(r"\r\n|\r|\n", text)  # not str.splitlines: \x0b or \x0c are cells' own
    trailing_blank = 0
    while lines and not lines[-1].strip():
        lines.pop()
        trailing_blank += 1
    whole = progress.done == len(tail)  # the tail holds the file from its first byte
    if not lines or (len(lines) == 1 and not whole):
        return  # a last line longer than what was kept: nothing to say of it
    last = lines[-1]
    ends_line = tail.endswith((b"\n", b"\r"))
    # the empty text after a final line break is no line: only blank lines before it count
    line = progress.newlines + (0 if ends_line else 1) - (trailing_blank - ends_line)
    if last.count('"') % 2:
        return  # the end of a quoted cell spanning lines (the parser found it closed)
    try:
        cells = next(csv.reader([last], delimiter=delimiter))
    except csv.Error as exc:  # a cell beyond the csv module's limit (128 Kio)
        raise FileFormatError(unreadable_line(exc), path=path, line=line) from None
    if len(cells) < len(header):
        rest_empty = all(not c.strip() for c in cells[1:])
        first = cells[0].strip() if cells else ""
        if rest_empty and (re.search(r"\s|:", first) or len(first) > 12):
            return  # a note below the table (« Source : Insee »), taken off as a footer
        raise FileFormatError(
            f"ligne tronquée : {len(cells)} champ(s) sur les {len(header)} de l'en-tête ; le "
            "fichier semble coupé (téléchargement ou copie interrompus) ; rien n'a été importé",
            path=path,
            line=line,
            column=header[max(len(cells) - 1, 0)],
        )
    if not ends_line and cells and _CUT_NUMBER.search(cells[-1].strip()):
        raise FileFormatError(
            f"dernière ligne sans fin de ligne, finissant par « {cells[-1].strip()} » : le "
            "fichier semble coupé au milieu d'un nombre ; rien n'a été importé",
            path=path,
            line=line,
            column=header[len(cells) - 1],
        )
