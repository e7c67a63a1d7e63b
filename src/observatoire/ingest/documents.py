"""The text of a document, page by page, for the library's full-text search: PDF (with
poppler's ``pdftotext``), office files (Word, Excel, PowerPoint, OpenDocument: their XML read
from the zip), HTML and plain text.

A file that cannot be read as what its suffix says is a :class:`FileFormatError` naming it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import zipfile
from html.parser import HTMLParser
from pathlib import Path
from xml.etree import ElementTree

from observatoire.errors import FileFormatError, StorageError
from observatoire.inventory.documents import MEDIA_TYPES

__all__ = ["extract_pages"]

MAX_XML = 64 * 1024**2  # an office file's XML part larger than this is refused (zip bomb)
PDF_TIMEOUT = 120


def extract_pages(path: Path) -> list[str]:
    """The text of each page of ``path`` (one "page" for formats without pages, one per slide
    for presentations). A document without text (a scanned PDF) has empty pages."""
    suffix = path.suffix.lower()
    if suffix not in MEDIA_TYPES:
        raise FileFormatError(
            f"type de fichier non pris en charge ; types acceptés : {', '.join(MEDIA_TYPES)}",
            path=path,
        )
    if suffix == ".pdf":
        return _pdf(path)
    if suffix in (".docx", ".xlsx", ".pptx", ".odt", ".ods", ".odp"):
        return _office(path, suffix)
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")
    return [_html_text(text)] if suffix == ".html" else [text]


def _pdf(path: Path) -> list[str]:
    program = shutil.which("pdftotext")
    if program is None:
        raise StorageError(
            "pdftotext est absent : installez poppler-utils (apt-get install poppler-utils)"
        )
    try:
        done = subprocess.run(
            [program, "-enc", "UTF-8", "-q", str(path), "-"],
            capture_output=True,
            timeout=PDF_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise FileFormatError(f"texte du PDF non extrait en {PDF_TIMEOUT} s", path=path) from None
    if done.returncode != 0:
        raise FileFormatError(
            "PDF illisible (fichier abîmé ou protégé par mot de passe)", path=path
        )
    pages = done.stdout.decode("utf-8", errors="replace").split("\f")
    if pages and not pages[-1].strip():
        pages = pages[:-1]
    return pages or [""]


def _office(path: Path, suffix: str) -> list[str]:
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            if suffix == ".pptx":
                parts = sorted(
                    (n for n in names if re.fullmatch(r"ppt/slides/slide\d+\.xml", n)),
                    key=lambda n: int(re.sub(r"\D", "", n.rsplit("/", 1)[1])),
                )
            elif suffix == ".docx":
                parts = ["word/document.xml"]
            elif suffix == ".xlsx":
                parts = [n for n in names if n == "xl/sharedStrings.xml"]
            else:
                parts = ["content.xml"]
            pages = []
            for name in parts:
                if archive.getinfo(name).file_size > MAX_XML:
                    raise FileFormatError(f"partie {name} trop volumineuse", path=path)
                pages.append(_xml_text(archive.read(name)))
            return pages or [""]
    except (zipfile.BadZipFile, KeyError, ElementTree.ParseError) as exc:
        raise FileFormatError(f"fichier bureautique illisible ({exc})", path=path) from None


_BLOCKS = {"p", "h", "si"}  # paragraphs (Word, PowerPoint, OpenDocument), shared strings


def _xml_text(body: bytes) -> str:
    """The text of an office XML part, one line per paragraph (or spreadsheet string)."""
    root = ElementTree.fromstring(body)
    lines = (
        "".join(element.itertext())
        for element in root.iter()
        if str(element.tag).rsplit("}", 1)[-1] in _BLOCKS
    )
    return "\n".join(line.strip() for line in lines if line.strip())


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: object) -> None:
        if tag in ("script", "style"):
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._skip:
            self._skip -= 1
        elif tag in ("p", "div", "li", "tr", "h1", "h2", "h3", "h4", "br", "section"):
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def _html_text(text: str) -> str:
    parser = _Text()
    parser.feed(text)
    return re.sub(r"\n\s*\n+", "\n", "".join(parser.parts)).strip()
