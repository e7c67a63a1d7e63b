"""A zip or a workbook damaged on the way (a download, a copy): whichever byte is wrong, the
file is read or refused with an error of the tree naming it, never a Python exception of
zipfile, zlib or openpyxl (the fetch of a producer's edition and the deposits rely on it).
Every byte of a small archive and of a small workbook is inverted in turn."""

from __future__ import annotations

from pathlib import Path

import pytest

from observatoire.errors import InputError
from observatoire.ingest.tables import open_table

from .corpus.fabrique import _NS, _workbook, _zip

HEADER = "CODGEO;LIBGEO;NBMEN19;NBPERS19;Q219\n"
ROWS = "".join(f"930{i:02d};Commune {i};{i};{2 * i};{1000 + i}\n" for i in range(1, 40))


def _sheet() -> str:
    def cell(ref: str, text: str) -> str:
        return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'

    rows = "".join(f'<row r="{i}">{cell(f"A{i}", f"930{i:02d}")}<c r="B{i}"><v>{i}</v></c></row>'
                   for i in range(2, 12))  # fmt: skip
    return (f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{_NS}"><sheetData>'
            f'<row r="1">{cell("A1", "CODGEO")}{cell("B1", "NBMEN19")}</row>{rows}'
            "</sheetData></worksheet>")  # fmt: skip


@pytest.mark.parametrize(
    ("name", "good"),
    [("donnees.zip", _zip({"donnees.csv": HEADER + ROWS * 5})), ("classeur.xlsx",
                                                                   _zip(_workbook(_sheet())))],
)  # fmt: skip
def test_every_damaged_byte_is_read_or_refused_as_input(tmp_path: Path, name: str,
                                                         good: bytes) -> None:  # fmt: skip
    path = tmp_path / name
    path.write_bytes(good)
    assert sum(len(t.frame) for t in open_table(path)) > 0  # whole, it is read
    refused = 0
    for at in range(len(good)):
        path.write_bytes(good[:at] + bytes([good[at] ^ 0xFF]) + good[at + 1:])
        try:
            for _ in open_table(path):
                pass
        except InputError as error:
            assert name in str(error), (at, str(error))
            refused += 1
    assert refused > len(good) // 4  # most damage is seen


def test_a_refusal_is_not_taken_for_damage_and_odd_archives_are_named(tmp_path: Path) -> None:
    """A zip bomb is refused as one (not as « illisible »); an encrypted member is said so; a
    workbook whose cell openpyxl cannot read (a text in a number cell) is refused."""
    bomb = tmp_path / "bombe.zip"
    bomb.write_bytes(_zip({"donnees.csv": b"0" * 50_000_000}))
    with pytest.raises(InputError) as refused:
        list(open_table(bomb))
    assert "bombe zip" in str(refused.value) and "illisible" not in str(refused.value)
    plain = _zip({"donnees.csv": HEADER + ROWS})
    flags = plain.index(b"PK\x01\x02") + 8  # the directory's flags: bit 0, encrypted
    locked = bytearray(plain)
    locked[6] |= 1  # the local header's flags
    locked[flags] |= 1
    (tmp_path / "chiffre.zip").write_bytes(bytes(locked))
    with pytest.raises(InputError, match="chiffré"):
        list(open_table(tmp_path / "chiffre.zip"))
    odd = _sheet().replace("<v>2</v>", "<v>abc</v>")
    (tmp_path / "cellule.xlsx").write_bytes(_zip(_workbook(odd)))
    with pytest.raises(InputError, match="classeur XLSX illisible"):
        list(open_table(tmp_path / "cellule.xlsx"))
