"""The corpus of hostile or broken files (issue 18): how each is made.

The small ones are kept in ``fichiers/`` (regenerate them with
``.venv/bin/python -m tests.corpus.fabrique``); the large ones (a 1 GB line, a million
columns, bombs) and those cut from the real files of ../shared/data are made at test time by
:func:`make_large` in a temporary folder, never committed. Every synthetic value is invented.
"""

from __future__ import annotations

import codecs
import io
import os
import zipfile
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).parent
FILES = HERE / "fichiers"

# A Filosofi-like table (the connector recognises NBMEN, NBPERS, Q2 with a year suffix).
HEADER = "CODGEO;LIBGEO;NBMEN19;NBPERS19;Q219\n"
CODES = ("93001", "93005", "93006", "93008", "93010", "93013", "93014", "93015", "93027")
ROWS = "".join(f"{c};Commune {i};{1000 + i};{2000 + i};{17000 + 10 * i}\n" for i, c in
               enumerate(CODES))  # fmt: skip
# An operators' extract of the test collection (tests/test_records.py SCHEMA).
RECORDS_HEADER = (
    "Code structure;Structure;Commune;Date d'entrée;id_menage;sexe;age;composition;"
    "nb_enfants;ressources;issue;nir\n"
)
RECORDS_ROWS = "".join(
    f"op01;Abri A;9300{i % 9 + 1};2025-0{i % 9 + 1}-15;m{i};F;{30 + i};seul;;{500 + i};hebergee;\n"
    for i in range(12)
)


def _zip(members: dict[str, bytes | str], *, cut: bool = False) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    data = buffer.getvalue()
    return data[: len(data) // 2] if cut else data


def _flipped(archive: bytes) -> bytes:
    """``archive`` with a byte of its first member's compressed data inverted (a copy
    damaged on the way: the sizes and the directory intact)."""
    name_length, extra_length = int.from_bytes(archive[26:28], "little"), int.from_bytes(
        archive[28:30], "little")  # fmt: skip
    at = 30 + name_length + extra_length + 8
    return archive[:at] + bytes([archive[at] ^ 0xFF]) + archive[at + 1:]


_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG = "http://schemas.openxmlformats.org/package/2006"


def _workbook(sheet: str, shared: str | None = None) -> dict[str, bytes | str]:
    """The parts of a minimal XLSX whose first sheet is ``sheet`` (XML text)."""
    kinds = "application/vnd.openxmlformats-officedocument.spreadsheetml"
    overrides = (
        f'<Override PartName="/xl/workbook.xml" ContentType="{kinds}.sheet.main+xml"/>'
        f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{kinds}.worksheet+xml"/>'
    )
    relations = f'<Relationship Id="rId1" Type="{_REL}/worksheet" Target="worksheets/sheet1.xml"/>'
    if shared is not None:
        overrides += (
            f'<Override PartName="/xl/sharedStrings.xml" ContentType="{kinds}.sharedStrings+xml"/>'
        )
        relations += (
            f'<Relationship Id="rId2" Type="{_REL}/sharedStrings" Target="sharedStrings.xml"/>'
        )
    parts: dict[str, bytes | str] = {
        "[Content_Types].xml": (
            f'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="{_PKG}/content-types">'
            '<Default Extension="rels" '
            'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            f'<Default Extension="xml" ContentType="application/xml"/>{overrides}</Types>'
        ),
        "_rels/.rels": (
            f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{_PKG}/relationships">'
            f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/>'
            "</Relationships>"
        ),
        "xl/workbook.xml": (
            f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{_NS}" xmlns:r="{_REL}">'
            '<sheets><sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>'
        ),
        "xl/_rels/workbook.xml.rels": (
            f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{_PKG}/relationships">'
            f"{relations}</Relationships>"
        ),
        "xl/worksheets/sheet1.xml": sheet,
    }
    if shared is not None:
        parts["xl/sharedStrings.xml"] = shared
    return parts


def _laughs() -> str:
    """Shared strings holding a billion-laughs entity expansion."""
    entities = '<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
        for i in range(1, 10)
    )
    return (
        f'<?xml version="1.0"?><!DOCTYPE lolz [{entities}]><sst xmlns="{_NS}" count="1" '
        'uniqueCount="1"><si><t>&lol9;</t></si></sst>'
    )


_ONE_CELL = (
    f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{_NS}"><sheetData><row r="1">'
    '<c r="A1" t="s"><v>0</v></c></row></sheetData></worksheet>'
)
_EXTERNAL = (
    '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    f'<worksheet xmlns="{_NS}"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>CODGEO'
    '</t></is></c><c r="B1" t="inlineStr"><is><t>&xxe;</t></is></c></row></sheetData>'
    "</worksheet>"
)
_EMPTY_SHEET = (
    f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{_NS}"><sheetData/></worksheet>'
)


def _mixed_endings() -> str:
    lines = (HEADER + ROWS).split("\n")[:-1]
    return "".join(line + ("\r\n" if i % 2 else "\n") for i, line in enumerate(lines))


def _inner_zip() -> bytes:
    return _zip({"donnees.csv": HEADER + ROWS})


# name → what the file holds (bytes, or text written in UTF-8)
SMALL: dict[str, Callable[[], bytes | str]] = {
    "vide.csv": lambda: b"",
    "blancs.csv": lambda: "\n   \n\t\n\n",
    "bom_seul.csv": lambda: codecs.BOM_UTF8,
    "entete_seul.csv": lambda: HEADER,
    "binaire.csv": lambda: bytes(range(256)) * 20,
    "utf16_le.csv": lambda: (HEADER + ROWS).encode("utf-16"),
    "utf16_be.csv": lambda: codecs.BOM_UTF16_BE + (HEADER + ROWS).encode("utf-16-be"),
    "encodages_melanges.csv": lambda: (
        (HEADER + ROWS).encode()
        + "93031;Épinay-sur-Seine;1;2;3\n".encode("latin-1")
        + "93032;Écouen;1;2;3\n".encode()
    ),
    "bom_au_milieu.csv": lambda: (codecs.BOM_UTF8 + (HEADER + ROWS).encode()) * 2,
    "octet_nul.csv": lambda: (
        (HEADER + ROWS).encode()[:-40] + b"\x00" + (HEADER + ROWS).encode()[-40:]
    ),
    "tronque_champs.csv": lambda: HEADER + ROWS + "93048;Montreuil;333",
    "tronque_nombre.csv": lambda: HEADER + ROWS + "93048;Montreuil;3339;7020;17450,",
    "tronque_champs_fin_de_ligne.csv": lambda: HEADER + ROWS + "93048;Montreuil;333\n",
    "champ_geant.csv": lambda: HEADER + ROWS + "93048;Montreuil;" + "3" * 200_000 + ";1;2\n",
    "guillemet_ouvert.csv": lambda: HEADER + ROWS[:120] + '93048;"Montreuil;333;1000;2\n',
    "colonnes_en_double.csv": lambda: "CODGEO;NBMEN19;NBMEN19;Q219\n93001;1;2;3\n",
    "trop_de_champs.csv": lambda: HEADER + ROWS[:60] + "93048;M;333;1000;12;13;14\n" + ROWS[60:],
    "separateurs_melanges.csv": lambda: HEADER + ROWS.replace(";", ","),
    "sans_code.csv": lambda: "LIBGEO;NBMEN19;NBPERS19\nAubervilliers;1000;2000\n",
    "page_html.csv": lambda: (
        "<!doctype html><html><head><title>Erreur 404</title></head>"
        "<body><h1>Page introuvable</h1></body></html>\n"
    ),
    "json.csv": lambda: '{"CODGEO": "93001", "NBMEN19": 1000}\n',
    "entete_vide.csv": lambda: "\n\n;;;\n93001;A;1;2\n",
    "nom_de_colonne_script.csv": lambda: (
        "<script>alert(1)</script>;<img src=x onerror=alert(2)>\n1;2\n3;4\n"
    ),
    "echappements_terminal.csv": lambda: HEADER + ROWS + "\x1b[2J\x1b[31m\x07pirate93048;A;1;2;3\n",
    "codes_inconnus.csv": lambda: HEADER + "".join(f"XX{i:03d};X;1;2;3\n" for i in range(20)),
    "formules.csv": lambda: (
        HEADER + "".join(f"{c};C;=1+{i};@SUM(A1);-2+{i}\n" for i, c in enumerate(CODES[:4]))
    ),
    "formules_codes.csv": lambda: (
        HEADER + '=HYPERLINK("http://x";"y");C;1;2;3\n'
        "+93001;C;1;2;3\n-93005;C;1;2;3\n@93006;C;1;2;3\n"
    ),
    "controle_dans_les_cellules.csv": lambda: HEADER + "93001;C;1\x0b2;3\x0c;\x1b4\n",
    "fins_de_ligne_melangees.csv": _mixed_endings,
    "geojson_deguise.geojson": lambda: '{"type":"FeatureCollection","features":[]}',
    "excel97.xls": lambda: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512,
    "faux_classeur.xlsx": lambda: "ceci n'est pas un classeur\n",
    "faux_zip.zip": lambda: "PK ceci n'est pas une archive",
    "pdf_deguise.csv": lambda: (
        b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >>"
        b" endobj\n" + bytes(range(1, 256)) * 4
    ),
    "image_deguisee.csv": lambda: b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 64,
    "executable.csv": lambda: b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + b"\x00" * 200,
    "archive_vide.zip": lambda: _zip({"lisezmoi.txt.bak": "rien"}),
    "archive_tronquee.zip": lambda: _zip({"donnees.csv": HEADER + ROWS * 50}, cut=True),
    "archive_membres.zip": lambda: _zip({f"f{i}.csv": HEADER + ROWS for i in range(250)}),
    "archive_chemin_remontant.zip": lambda: _zip({"../../../tmp/evil.csv": HEADER + ROWS}),
    "archive_chemin_absolu.zip": lambda: _zip({"/etc/cron.d/evil.csv": HEADER + ROWS}),
    "archive_dans_archive.zip": lambda: _zip({"dedans.zip": _inner_zip()}),
    "archive_binaire.zip": lambda: _zip({"donnees.csv": bytes(range(256)) * 10}),
    "archive_corrompue.zip": lambda: _flipped(_zip({"donnees.csv": HEADER + ROWS * 50})),
    "bombe_xml.xlsx": lambda: _zip(_workbook(_ONE_CELL, _laughs())),
    "entite_externe.xlsx": lambda: _zip(_workbook(_EXTERNAL)),
    "classeur_vide.xlsx": lambda: _zip(_workbook(_EMPTY_SHEET)),
    "enregistrements_tronques.csv": lambda: RECORDS_HEADER + RECORDS_ROWS + "op01;Abri A;93001",
    "enregistrements_identifiants.csv": lambda: (
        RECORDS_HEADER.replace("\n", ";telephone\n")
        + RECORDS_ROWS.replace("\n", ";06 12 34 56 78\n")
    ),
    "enregistrements_nir_en_commentaire.csv": lambda: (
        RECORDS_HEADER.replace("\n", ";note\n")
        + RECORDS_ROWS.replace("\n", ";RAS\n", 5)
        + "op01;Abri A;93001;2025-03-15;m99;F;40;seul;;500;hebergee;;NIR 184127645108946\n"
    ),
    "enregistrements_octet_nul.csv": lambda: (
        (RECORDS_HEADER + RECORDS_ROWS).encode()[:-20]
        + b"\x00"
        + (RECORDS_HEADER + RECORDS_ROWS).encode()[-20:]
    ),
}


def write_small(folder: Path = FILES) -> list[Path]:
    """Write the small files of the corpus in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, make in SMALL.items():
        data = make()
        target = folder / name
        target.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
        written.append(target)
    return written


MIB = 1024**2


def xlsx_cells(target: Path, rows: int, columns: int, noise: int = 0, level: int = 1) -> None:
    """A workbook of ``rows`` × ``columns`` cells streamed into its zip (and ``noise`` random
    bytes in a part of their own, which brings the whole archive's ratio down)."""
    parts = _workbook("")
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as archive:
        for name, data in parts.items():
            if name != "xl/worksheets/sheet1.xml":
                archive.writestr(name, data)
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as out:
            out.write(f'<?xml version="1.0"?><worksheet xmlns="{_NS}"><sheetData>'.encode())
            row = b"<row>" + b"<c><v>1</v></c>" * columns + b"</row>"
            for _ in range(rows):
                out.write(row)
            out.write(b"</sheetData></worksheet>")
        if noise:
            archive.writestr("xl/media/image1.bin", os.urandom(noise), zipfile.ZIP_STORED)


def long_line(target: Path) -> Path:
    """A header, then a line of 1 GB (written by blocks)."""
    with target.open("wb") as out:
        out.write(HEADER.encode())
        block = b"9" * MIB
        for _ in range(1024):
            out.write(block)
    return target


def make_large(folder: Path, data: Path) -> dict[str, Path]:
    """The large and derived files of the corpus, made in ``folder`` (``data``: the real
    files of ../shared/data)."""
    folder.mkdir(parents=True, exist_ok=True)
    made: dict[str, Path] = {}

    def put(name: str, content: bytes) -> None:
        made[name] = folder / name
        made[name].write_bytes(content)

    put("une_ligne_50_mo.csv", b"CODGEO;" + b"1;" * (25 * MIB))
    made["ligne_1_go.csv"] = long_line(folder / "ligne_1_go.csv")
    put("un_million_de_colonnes.csv", (";".join(["X"] * 1_000_000) + "\n1\n").encode())
    put("bombe.zip", _bomb_zip())
    bomb = folder / "bombe_classeur.xlsx"
    xlsx_cells(bomb, 200_000, 100, level=9)  # 20 M cells, 320 MB of XML in 0.6 MB
    made[bomb.name] = bomb
    cells = folder / "classeur_vingt_millions_de_cellules.xlsx"
    xlsx_cells(cells, 200_000, 100, noise=3 * MIB)  # ratio under the zip bound: cells refused
    made[cells.name] = cells
    filosofi = (data / "filosofi" / "FILO2019_DISP_DEP.csv").read_bytes()
    at = filosofi.index("48;Lozère;".encode()) + len("48;Lozère;333".encode())
    put("filosofi_reel_coupe.csv", filosofi[:at])
    caf = (data / "caf" / "data_CAF_2018_IRIS.csv").read_bytes()
    put("caf_reel_coupe.csv", caf[: caf.index(b"\n", len(caf) // 2) + 40])
    return made


def _bomb_zip() -> bytes:
    """A CSV of 1 GB of zeros in 1 MB of zip."""
    buffer = io.BytesIO()
    with (
        zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive,
        archive.open("donnees.csv", "w", force_zip64=True) as out,
    ):
        out.write(HEADER.encode())
        zeros = b"0" * MIB
        for _ in range(1024):
            out.write(zeros)
    return buffer.getvalue()


if __name__ == "__main__":
    for path in write_small():
        print(path.relative_to(HERE), path.stat().st_size)
