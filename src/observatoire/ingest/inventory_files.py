"""Inventory entries read from a file an analyst keeps (YAML, or CSV from a spreadsheet), each
with the line it comes from, so that an error names the file, line and field.

YAML: a list of entries, or a mapping of sections (``sources:``, ``besoins:``, ``programme:``)
to lists. CSV: one entry per row, the header giving the field keys; ``;`` or ``,`` separated,
UTF-8 (or Windows-1252, as Excel writes it).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from observatoire.csvfile import restore_cell
from observatoire.errors import FileFormatError
from observatoire.ingest.rawtext import unreadable_line
from observatoire.inventory.fields import Located
from observatoire.yamlfile import check_keys, load_yaml

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["entries_table", "read_entries"]


def read_entries(path: Path, sections: Sequence[str]) -> dict[str, list[Located]]:
    """The entries of ``path`` by section (a CSV, or a YAML list, fills the first one)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise FileFormatError(f"fichier illisible ({exc.strerror})", path=path) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")
    out: dict[str, list[Located]] = {s: [] for s in sections}
    if path.suffix.lower() == ".csv":
        out[sections[0]] = _csv(text, path)
        return out
    if path.suffix.lower() not in (".yaml", ".yml"):
        raise FileFormatError("fichier .yaml, .yml ou .csv attendu", path=path)
    data = load_yaml(text, path, located=True)
    if isinstance(data, list):
        data = {sections[0]: data}
    if not isinstance(data, dict):
        raise FileFormatError(
            f"liste d'entrées ou sections {', '.join(sections)} attendues", path=path, line=1
        )
    check_keys(
        data,
        sections,
        "section « {first} » inconnue ; sections : {allowed}",
        error=FileFormatError,
        path=path,
        line=getattr(data, "line", None),
    )
    for section in sections:
        items = data.get(section) or []
        if not isinstance(items, list):
            raise FileFormatError(
                f"« {section} » : liste attendue", path=path, line=getattr(data, "line", None)
            )
        for item in items:
            if not isinstance(item, dict):
                raise FileFormatError(
                    f"« {section} » : chaque entrée est un dictionnaire (clé: valeur)", path=path
                )
            out[section].append(
                Located(
                    {str(k): v for k, v in item.items()}, str(path), getattr(item, "line", None)
                )
            )
    return out


def _csv(text: str, path: Path) -> list[Located]:
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") >= first.count(",") else ","
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    entries, start = [], 1
    try:
        if not reader.fieldnames:
            raise FileFormatError("fichier vide (ligne d'en-tête attendue)", path=path, line=1)
        start = 2
        for row in reader:
            if None in row:
                raise FileFormatError("plus de cellules que de colonnes", path=path, line=start)
            if any((v or "").strip() for v in row.values()):
                cleaned = {k.strip(): restore_cell(v) for k, v in row.items() if k and k.strip()}
                entries.append(Located(cleaned, str(path), start))
            start = reader.line_num + 1
    except csv.Error as exc:  # the record that begins on line ``start``
        line = max(start, reader.line_num)  # blank lines before it: the reader counted them
        raise FileFormatError(unreadable_line(exc), path=path, line=line) from None
    return entries


def entries_table(entries: Sequence[dict[str, object]], keys: Sequence[str]) -> pd.DataFrame:
    """Entries as a table, one column per key (lists joined by « ; » inside a cell): written by
    :mod:`observatoire.csvfile`, it opens in a spreadsheet and :func:`read_entries` reads it
    back (a cell the writer prefixed with ``'`` comes back as it was).

    >>> from observatoire.csvfile import csv_text
    >>> table = entries_table([{"id": "a", "notes": "-à relancer", "themes": ["x", "y"]}],
    ...                       ["id", "notes", "themes"])
    >>> for line in csv_text(table).splitlines():
    ...     print(line)
    id;notes;themes
    a;'-à relancer;"x; y"
    """
    import pandas as pd

    rows = [
        [
            "; ".join(map(str, value)) if isinstance(value, list) else value
            for value in (entry.get(key) for key in keys)
        ]
        for entry in entries
    ]
    return pd.DataFrame(rows, columns=list(keys), dtype=object)
