"""Streaming imports: chunk by chunk, the same values as a whole-file read; files broken the way
users' files are (mixed encodings, formulas, footers); any way of writing a table stores the same
values."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from observatoire.errors import FileFormatError
from observatoire.observatory import Observatory
from observatoire.store.values import batch_values

from .conftest import DATA, needs_data

pytestmark = needs_data


def _stored(obs: Observatory, batch: int) -> pd.DataFrame:
    return batch_values(obs.warehouse, batch)


def test_chunked_import_stores_what_a_whole_read_stores(home: Path, tmp_path: Path) -> None:
    """The real national Filosofi file (a 2019 geography, converted) read 5,000 rows at a time:
    the same values, the same conversion of Pierrefitte into Saint-Denis, the same report."""
    other = tmp_path / "other"
    shutil.copytree(home, other)
    path = DATA / "filosofi" / "FILO2019_DISP_COM.csv"
    fractions: list[float] = []
    with Observatory.open(home, write=True) as obs:
        whole = obs.import_file(path)
        expected = _stored(obs, whole.batch)
    with Observatory.open(other, write=True) as obs:
        chunked = obs.import_file(path, chunk_rows=5_000, on_progress=fractions.append)
        got = _stored(obs, chunked.batch)
    assert len(fractions) == 7 and fractions == sorted(fractions) and fractions[-1] == 1.0
    assert chunked.rows_read == whole.rows_read > 30_000
    assert chunked.values_stored == whole.values_stored
    assert chunked.statuses == whole.statuses and chunked.converted_codes > 0
    pd.testing.assert_frame_equal(got, expected)


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_duplicates_and_past_codes_across_chunks(home93: Path, tmp_path: Path) -> None:
    path = _write(
        tmp_path / "FILO2019_DISP_COM.csv",
        [
            "CODGEO;LIBGEO;NBMEN19;NBPERS19;Q219",
            "93059;Pierrefitte-sur-Seine;11000;30000;17000",
            "93001;Aubervilliers;30000;80000;14000",
            "93005;Aulnay-sous-Bois;31000;82000;19000",
            "93006;Bagnolet;15000;35000;20000",
            "93066;Saint-Denis;45000;110000;15000",
            "93001;Aubervilliers;30001;80001;14001",
        ],
    )
    with Observatory.open(home93, write=True) as obs:
        report = obs.import_file(path, chunk_rows=2)
        households = obs.values("filosofi.DISP_NBMEN", within="93").set_index("code")
        median = obs.values("filosofi.DISP_Q2", within="93").set_index("code")
    assert report.rejections == {"code en double": 1}
    assert [(e.line, e.value) for e in report.examples] == [(7, "93001")]
    # Pierrefitte (2019, line 2) and Saint-Denis (line 6) were in different chunks.
    assert households.at["93066", "value"] == 56000
    assert households.at["93001", "value"] == 30000  # the first of the duplicates
    assert median.at["93066", "status"] == "nd"  # a median is never summed nor averaged


def test_mixed_encodings_are_refused_naming_the_line(home93: Path, tmp_path: Path) -> None:
    path = tmp_path / "FILO2019_DISP_COM.csv"
    path.write_bytes(
        "CODGEO;LIBGEO;NBMEN19\n93031;Épinay-sur-Seine;1\n93001;Aubervilliers;2\n".encode()
        + "93005;Aulnay-sous-Bois;3\n93006;Bagnolet été;4\n".encode("cp1252")
        + b"93007;Le Blanc-Mesnil;5\n"
    )
    with Observatory.open(home93, write=True) as obs:
        with pytest.raises(FileFormatError, match="encodages mélangés") as info:
            obs.import_file(path)
        assert info.value.line == 5
        assert obs.imports().empty


def test_formulas_footers_and_duplicate_headers(home93: Path, tmp_path: Path) -> None:
    formulas = _write(
        tmp_path / "FILO2019_DISP_COM.csv",
        [
            "CODGEO;LIBGEO;NBMEN19;NBPERS19;Q219",
            '93066;=HYPERLINK("http://x");45000;110000;15000',
            '93001;Aubervilliers;=CMD("calc");80000;14000',
            "93005;Aulnay-sous-Bois;31000;82000;19000",
            "",
            "Source : Insee, Filosofi 2019",
            "Champ : ménages fiscaux",
        ],
    )
    duplicated = _write(
        tmp_path / "cc_filosofi_2021_COM.csv", ["CODGEO;MED21;MED21", "93066;15000;15000"]
    )
    with Observatory.open(home93, write=True) as obs:
        report = obs.import_file(formulas)
        stored = obs.values("filosofi.DISP_NBMEN", within="93").set_index("code")
        with pytest.raises(FileFormatError, match="en double"):
            obs.import_file(duplicated)
    assert report.rejections == {"valeur non numérique": 1}
    assert report.examples[0].line == 3 and report.examples[0].value == '=CMD("calc")'
    assert stored.at["93001", "status"] == "missing" and pd.isna(stored.at["93001", "value"])
    assert report.footer_lines == ["Source : Insee, Filosofi 2019", "Champ : ménages fiscaux"]
    assert report.rows_read == 3


# -- the same table, written every way producers write it, stores the same values ------------
_COMMUNES = [
    ("93066", "Saint-Denis"),
    ("93001", "Aubervilliers"),
    ("93048", "Montreuil"),
    ("93010", "Bondy"),
    ("93005", "Aulnay-sous-Bois"),
]
_count = st.integers(min_value=0, max_value=3_000_000)
_median = st.integers(min_value=500_000, max_value=5_000_000).map(lambda x: x / 100)


def _format(x: float, decimal: str, thousands: str, digits: int) -> str:
    whole, _, frac = f"{x:.{digits}f}".partition(".")
    grouped = f"{int(whole):,}".replace(",", thousands)
    return grouped + (decimal + frac if frac else "")


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    rows=st.lists(st.tuples(_count, _median | st.just(None)), min_size=5, max_size=5),
    delimiter=st.sampled_from([";", ",", "\t"]),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "cp1252"]),
    decimal=st.sampled_from([",", "."]),
    thousands=st.sampled_from(["", " ", "\u00a0", "\u202f"]),
    newline=st.sampled_from(["\n", "\r\n"]),
    chunk_rows=st.sampled_from([2, 1000]),
)
def test_any_writing_of_a_table_stores_the_same_values(
    small_home: Path,
    rows: list[tuple[int, float | None]],
    delimiter: str,
    encoding: str,
    decimal: str,
    thousands: str,
    newline: str,
    chunk_rows: int,
) -> None:
    if encoding == "cp1252" and thousands == "\u202f":
        thousands = "\u00a0"  # U+202F does not exist in CP1252
    lines = [delimiter.join(["CODGEO", "LIBGEO", "NBMEN21", "NBPERS21", "MED21"])]
    for (code, name), (households, median) in zip(_COMMUNES, rows, strict=True):
        cells = [
            code,
            name,
            _format(households, decimal, thousands, 0),
            _format(households * 2, decimal, thousands, 0),
            "s" if median is None else _format(median, decimal, thousands, 2),
        ]
        lines.append(delimiter.join(f'"{c}"' for c in cells))
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "obs"
        shutil.copytree(small_home, home)
        path = Path(tmp) / "cc_filosofi_2021_COM.csv"
        path.write_bytes((newline.join(lines) + newline).encode(encoding))
        with Observatory.open(home, write=True) as obs:
            report = obs.import_file(path, chunk_rows=chunk_rows)
            households = obs.values("filosofi.NBMEN", within="93").set_index("code")
            medians = obs.values("filosofi.MED", within="93").set_index("code")
    assert report.rows_rejected == 0 and report.cells_rejected == 0
    for (code, _), (count, median) in zip(_COMMUNES, rows, strict=True):
        assert households.at[code, "value"] == count
        if median is None:
            assert medians.at[code, "status"] == "secret"
        else:
            assert medians.at[code, "value"] == pytest.approx(median)
