"""Zip archives and XLSX workbooks checked before they are read (zip and XML bombs).

A zip whose members would decompress to far more than it weighs, or to more than a file may
weigh, is refused from its directory alone, in milliseconds. An XLSX is a zip too: besides the
same ratio, its first sheet's cells are counted as its XML streams out (never held whole), and
a workbook with many more cells than its size can hold honestly is refused before openpyxl
spends minutes building them.

    check_archive(path)                 # a .zip deposit
    check_workbook(path, data)          # the bytes of an .xlsx (alone or inside a zip)
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from pathlib import Path

from observatoire.errors import FileFormatError

__all__ = [
    "MAX_CELLS",
    "MAX_FILE_BYTES",
    "MAX_ZIP_MEMBERS",
    "MAX_ZIP_RATIO",
    "check_archive",
    "check_workbook",
]

# Files are streamed, so size is a matter of time, not memory: about a million values a second.
# Beyond this size an import would take hours; the file is refused with a clear message.
MAX_FILE_BYTES = 4 * 1024**3
MAX_ZIP_MEMBERS = 200
MAX_ZIP_RATIO = 200  # uncompressed / compressed; beyond, a zip bomb is suspected
# A workbook's first sheet: at most this many cells (the whole national IRIS table of Filosofi
# holds 0.5 M), and at least one byte of the file for every CELLS_PER_BYTE cells beyond
# SMALL_SHEET (a real sheet takes several bytes a cell, compressed).
MAX_CELLS = 5_000_000
SMALL_SHEET = 200_000
CELLS_PER_BYTE = 10
_SHEET = re.compile(r"xl/worksheets/sheet\d*\.xml")
_PREFIXED_CELL = re.compile(rb"<\w+:c[\s>/]")


def check_archive(path: Path, max_bytes: int = MAX_FILE_BYTES) -> None:
    """Refuse zips with too many members or an implausible compression ratio (zip bombs)."""
    try:
        with zipfile.ZipFile(path) as archive:
            _check_members(archive, path, max_bytes)
    except zipfile.BadZipFile as exc:
        raise FileFormatError(f"archive zip illisible ({exc})", path=path) from None


def _check_members(archive: zipfile.ZipFile, path: Path, max_bytes: int) -> None:
    infos = archive.infolist()
    if len(infos) > MAX_ZIP_MEMBERS:
        raise FileFormatError(f"archive de {len(infos)} fichiers : trop de membres", path=path)
    for info in infos:
        parts = info.filename.replace("\\", "/").split("/")
        if info.filename.startswith(("/", "\\")) or ".." in parts or ":" in parts[0]:
            raise FileFormatError(
                f"archive suspecte : le membre « {info.filename} » sort de l'archive (chemin "
                "absolu ou remontant) ; rien n'a été lu",
                path=path,
            )
    packed = sum(i.compress_size for i in infos) or 1
    unpacked = sum(i.file_size for i in infos)
    if unpacked > max_bytes or unpacked / packed > MAX_ZIP_RATIO:
        raise FileFormatError(
            f"archive suspecte : {unpacked / 1e6:.0f} Mo décompressés pour {packed / 1e6:.1f} Mo "
            "(bombe zip ?)",
            path=path,
        )


def check_workbook(path: Path, data: bytes, max_bytes: int = MAX_FILE_BYTES) -> None:
    """Refuse an XLSX whose decompressed size or cell count is out of proportion with its
    size: the ratio of a zip, then the cells of its first sheet counted while streaming."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            _check_members(archive, path, max_bytes)
            sheets = sorted(
                (i for i in archive.infolist() if _SHEET.fullmatch(i.filename)),
                key=lambda i: (len(i.filename), i.filename),
            )
            if not sheets:
                return  # openpyxl says what is wrong with it
            cells = _count_cells(archive, sheets[0].filename, path)
    except zipfile.BadZipFile as exc:
        raise FileFormatError(f"classeur XLSX illisible ({exc})", path=path) from None
    allowed = min(MAX_CELLS, SMALL_SHEET + CELLS_PER_BYTE * len(data))
    if cells > allowed:
        raise FileFormatError(
            f"classeur suspect : plus de {allowed:,} cellules pour {len(data) / 1e6:.1f} Mo "
            "(bombe XLSX ?) ; enregistrez la feuille en CSV".replace(",", " "),
            path=path,
        )


def _count_cells(archive: zipfile.ZipFile, name: str, path: Path) -> int:
    """The cells (``<c`` elements, with or without a namespace prefix) of a sheet, counted
    block by block as it decompresses; stops past the cap."""
    count, carry = 0, b""
    try:
        with archive.open(name) as handle:
            while block := handle.read(1 << 22):
                text = carry + block
                count += _cells_in(text) - _cells_in(carry)  # the carry was counted already
                carry = text[-16:]
                if count > MAX_CELLS:
                    break
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise FileFormatError(f"classeur XLSX abîmé ({exc})", path=path) from None
    return count


def _cells_in(text: bytes) -> int:
    plain = text.count(b"<c ") + text.count(b"<c>") + text.count(b"<c/")
    return plain + (len(_PREFIXED_CELL.findall(text)) if b":c" in text else 0)
