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
import posixpath
import re
import zipfile
import zlib
from pathlib import Path
from xml.etree import ElementTree

from observatoire.errors import FileFormatError, InputError

__all__ = [
    "DAMAGED",
    "MAX_CELLS",
    "MAX_FILE_BYTES",
    "MAX_ZIP_MEMBERS",
    "MAX_ZIP_RATIO",
    "check_archive",
    "check_workbook",
    "damaged",
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
# a cell element, with or without a namespace prefix, whatever whitespace follows its name
_ELEMENT_CELL = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?c[\s/>]")
_ELEMENT_STRING = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?si[\s/>]")
MAX_INDEX_PART = 4 * 1024**2  # a workbook's index or relationships: never larger


# What zipfile raises on a damaged archive, besides BadZipFile: an offset out of bounds
# (OSError on a file, ValueError in memory), a member cut short, a version or a method it does
# not read, a directory entry that points nowhere.
DAMAGED = (zipfile.BadZipFile, EOFError, OSError, ValueError, IndexError, KeyError,
           NotImplementedError, RuntimeError, zlib.error)  # fmt: skip


def damaged(exc: Exception, path: Path, what: str, state: str = "illisible") -> FileFormatError:
    """The refusal of a damaged archive (``what``: « archive zip », « classeur XLSX »), or
    ``exc`` again when it is no damage: a refusal already made (a bomb, a path out of the
    archive), or the server's own trouble reading the file (a permission, a disk)."""
    if isinstance(exc, InputError) or (isinstance(exc, OSError) and exc.filename):
        raise exc
    if isinstance(exc, RuntimeError) and "encrypted" in str(exc):
        return FileFormatError(f"{what} chiffré(e) : protégé(e) par un mot de passe, "
                               "enregistrez-le sans chiffrement", path=path)  # fmt: skip
    return FileFormatError(f"{what} {state} ({exc})", path=path)


def check_archive(path: Path, max_bytes: int = MAX_FILE_BYTES) -> None:
    """Refuse zips with too many members or an implausible compression ratio (zip bombs)."""
    try:
        with zipfile.ZipFile(path) as archive:
            _check_members(archive, path, max_bytes)
    except DAMAGED as exc:  # a damaged archive: zipfile raises any of these
        raise damaged(exc, path, "archive zip") from None


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
    """Refuse an XLSX whose decompressed size or element count is out of proportion with its
    size: the ratio of a zip, then the cells of the sheet openpyxl reads (found as it finds
    it, through the package's relationships) and the shared strings, counted while they
    decompress."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            _check_members(archive, path, max_bytes)
            names = set(archive.namelist())
            sheet = _first_sheet(archive, names)
            parts = [sheet] if sheet else [n for n in names if n.lower().endswith(".xml")]
            allowed = min(MAX_CELLS, SMALL_SHEET + CELLS_PER_BYTE * len(data))
            counted = [(part, _ELEMENT_CELL) for part in parts]
            if "xl/sharedStrings.xml" in names:
                counted.append(("xl/sharedStrings.xml", _ELEMENT_STRING))
            elements = sum(_count(archive, p, pattern, allowed, path) for p, pattern in counted)
    except DAMAGED as exc:  # a damaged package: zipfile raises any of these
        raise damaged(exc, path, "classeur XLSX") from None
    if elements > allowed:
        raise FileFormatError(
            f"classeur suspect : plus de {allowed:,} cellules pour {len(data) / 1e6:.1f} Mo "
            "(bombe XLSX ?) ; enregistrez la feuille en CSV".replace(",", " "),
            path=path,
        )


def _xml(archive: zipfile.ZipFile, name: str) -> ElementTree.Element | None:
    """A small XML part (the package's relationships, the workbook), or None."""
    try:
        if archive.getinfo(name).file_size > MAX_INDEX_PART:
            return None
        return ElementTree.fromstring(archive.read(name))
    except (KeyError, ElementTree.ParseError, zipfile.BadZipFile, zlib.error):
        return None


def _target(archive: zipfile.ZipFile, part: str, wanted: str) -> str | None:
    """The part that ``part``'s relationship of type (or id) ``wanted`` points to."""
    folder, _, name = part.rpartition("/")
    rels = _xml(archive, f"{folder}/_rels/{name}.rels" if folder else f"_rels/{name}.rels")
    if rels is None:
        return None
    for rel in rels:
        if rel.get("Id") == wanted or str(rel.get("Type", "")).endswith("/" + wanted):
            target = str(rel.get("Target", ""))
            if target.startswith("/"):
                return target.lstrip("/")
            return posixpath.normpath(posixpath.join(folder, target)) if folder else target
    return None


def _first_sheet(archive: zipfile.ZipFile, names: set[str]) -> str | None:
    """The first sheet of the workbook, as openpyxl finds it: the package's office document,
    its first ``<sheet>``, that sheet's relationship."""
    workbook = _target(archive, "", "officeDocument")
    root = _xml(archive, workbook) if workbook in names else None
    if workbook is None or root is None:
        return None
    sheet = next((e for e in root.iter() if e.tag.rsplit("}", 1)[-1] == "sheet"), None)
    ident = None
    if sheet is not None:
        ident = next((v for k, v in sheet.attrib.items() if k.rsplit("}", 1)[-1] == "id"), None)
    found = _target(archive, workbook, ident) if ident else None
    return found if found in names else None


def _count(
    archive: zipfile.ZipFile, name: str, pattern: re.Pattern[bytes], allowed: int, path: Path
) -> int:
    """The elements matching ``pattern`` in a part, counted block by block as it decompresses
    (a cheap upper bound first, the exact count only past it); stops past ``allowed``."""
    count, carry = 0, b""
    try:
        with archive.open(name) as handle:
            while block := handle.read(1 << 22):
                text = carry + block
                found = _bound(text, pattern) - _bound(carry, pattern)
                if count + found > allowed:  # perhaps: count exactly
                    found = len(pattern.findall(text)) - len(pattern.findall(carry))
                count += found
                carry = text[-64:]
                if count > allowed:
                    break
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise FileFormatError(f"classeur XLSX abîmé ({exc})", path=path) from None
    return count


def _bound(text: bytes, pattern: re.Pattern[bytes]) -> int:
    """At least as many as ``pattern`` finds: every such element holds « <c » or « :c » (a
    cell), « <si » or « :si » (a shared string)."""
    if pattern is _ELEMENT_CELL:
        return text.count(b"<c") + text.count(b":c")
    return text.count(b"<si") + text.count(b":si")
