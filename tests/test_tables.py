"""The tolerant table reader, on the real files and on files broken the way users' files are."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from observatoire.errors import FileFormatError, MissingColumnError
from observatoire.ingest.tables import read_table

from .conftest import DATA, needs_data


@needs_data
def test_real_filosofi_file_bom_crlf_semicolon() -> None:
    table = read_table(DATA / "filosofi" / "FILO2019_DISP_COM.csv", expect=["CODGEO"])
    assert table.encoding == "utf-8-sig" and table.delimiter == ";"
    assert table.frame.columns[0] == "CODGEO"
    assert table.frame.CODGEO.str.len().eq(5).all()  # codes kept as text


@needs_data
def test_real_census_zip() -> None:
    table = read_table(DATA / "census" / "base_cc_comparateur_csv_RP2018.zip", expect=["CODGEO"])
    assert len(table.frame) == 35010
    assert "P18_POP" in table.frame.columns


def test_preamble_and_trailing_empty_columns(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text(
        "Statistiques locales\nSource : Insee\n\nCode;Libellé;Valeur;;\n01001;L'Abergement;12;;\n",
        encoding="utf-8",
    )
    table = read_table(path, expect=["Code"])
    assert list(table.frame.columns) == ["Code", "Libellé", "Valeur"]
    assert table.line_of(0) == 5


def test_cp1252_is_detected(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes("code;nom\n93066;Saint-Denis\n01004;Ambérieu-en-Bugey\n".encode("cp1252"))
    table = read_table(path)
    assert table.encoding == "cp1252"
    assert table.frame.nom.iloc[1] == "Ambérieu-en-Bugey"


def test_truncated_line_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.csv"
    path.write_text("a;b;c\n1;2;3\n4;5;6;7\n", encoding="utf-8")
    with pytest.raises(FileFormatError, match="ligne 3") as info:
        read_table(path)
    assert info.value.path == str(path)


def test_missing_expected_column(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("foo;bar\n1;2\n", encoding="utf-8")
    with pytest.raises(MissingColumnError, match="CODGEO"):
        read_table(path, expect=["CODGEO"])


def test_binary_and_empty_files_are_refused(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(FileFormatError, match="vide"):
        read_table(empty)
    utf16 = tmp_path / "utf16.csv"
    utf16.write_bytes("code;nom\n1;a\n".encode("utf-16"))
    with pytest.raises(FileFormatError, match="UTF-16"):
        read_table(utf16)


def test_xlsx_with_title_rows(tmp_path: Path) -> None:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Table d'appartenance géographique des IRIS"])
    sheet.append(["Mise à jour : 2024"])
    sheet.append([])
    sheet.append(["CODE_IRIS", "LIB_IRIS", "DEPCOM"])
    sheet.append([10040101, "Les Perouses", 1004])
    path = tmp_path / "reference.xlsx"
    book.save(path)
    table = read_table(path, expect=["CODE_IRIS"])
    assert table.frame.CODE_IRIS.iloc[0] == "10040101"  # normalised later, not here
    assert table.line_of(0) == 5


def test_corrupt_zip(tmp_path: Path) -> None:
    path = tmp_path / "x.zip"
    path.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(FileFormatError, match="zip"):
        read_table(path)


_cell = st.text(alphabet="abcdefghijéèàçABC0123456789 '-", min_size=1, max_size=12).map(str.strip)


@given(
    rows=st.lists(st.tuples(_cell, _cell), min_size=1, max_size=8),
    delimiter=st.sampled_from([";", ",", "\t"]),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "cp1252"]),
    newline=st.sampled_from(["\n", "\r\n"]),
)
def test_any_delimiter_encoding_and_newline_read_the_same(
    rows: list[tuple[str, str]], delimiter: str, encoding: str, newline: str
) -> None:
    rows = [(a or "x", b or "y") for a, b in rows]
    text = (
        newline.join(
            [delimiter.join(["code", "nom"])]
            + [delimiter.join(f'"{c}"' for c in row) for row in rows]
        )
        + newline
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("data.csv", text.encode(encoding))
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "data.zip"
        path.write_bytes(buffer.getvalue())
        table = read_table(path, expect=["code"])
    assert list(table.frame.itertuples(index=False, name=None)) == rows
