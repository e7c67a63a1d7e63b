"""IRIS import: INSEE reference 2021 and IGN contours of Seine-Saint-Denis 2022 (real files)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from observatoire.errors import (
    FileFormatError,
    InvalidValueError,
    MissingCRSError,
    UnknownCodeError,
)
from observatoire.observatory import Observatory

from .conftest import IRIS_CONTOURS_93, needs_data

pytestmark = needs_data


def test_reference_is_imported_whole(obs: Observatory) -> None:
    assert obs.summary()["levels"]["iris"] == 49406  # type: ignore[index]


def test_iris_of_a_merged_commune_follow_it(obs: Observatory) -> None:
    iris = obs.geography.territories(level="iris", within="commune:93066")
    codes = set(iris.code)
    assert "930590101" in codes  # Pierrefitte's IRIS, coded 93059…, now in Saint-Denis
    assert iris.set_index("code").at["930590101", "commune"] == "93066"
    assert (iris.departement == "93").all()


def test_paris_iris_hang_under_their_arrondissement(obs: Observatory) -> None:
    iris = obs.geography.territories(level="iris", within="arm:75101")
    assert len(iris) > 0 and (iris.commune == "75056").all()


def test_contours_reprojected_from_lambert93(obs: Observatory) -> None:
    geo = obs.geography.geometries(level="iris", within="93")
    assert len(geo) == 614 and geo.geometry.notna().all()
    minx, miny, maxx, maxy = geo.total_bounds
    assert 2.2 < minx < maxx < 2.7 and 48.8 < miny < maxy < 49.1  # degrees, not metres


def test_crs_less_shapefile_is_refused(home93: Path, tmp_path: Path) -> None:
    import geopandas

    frame = geopandas.read_file(IRIS_CONTOURS_93).head(3)
    path = tmp_path / "iris.shp"
    frame.to_file(path)
    path.with_suffix(".prj").unlink()  # the classic CRS-less shapefile
    reference = tmp_path / "ref.csv"
    rows = "".join(f"{c};x;H;{c[:5]}\n" for c in frame.CODE_IRIS)
    reference.write_text("CODE_IRIS;LIB_IRIS;TYP_IRIS;DEPCOM\n" + rows, encoding="utf-8")
    with Observatory.open(home93, write=True) as obs:
        before = obs.warehouse.count("territory", "level = 'iris'")
        with pytest.raises(MissingCRSError, match="--crs"):
            obs.geography.import_iris(reference, path)
        assert obs.warehouse.count("territory", "level = 'iris'") == before
        report = obs.geography.import_iris(reference, path, crs="EPSG:2154")
        assert report.iris == 3 and report.with_contours == 3


def test_projected_geojson_without_crs_is_caught(home93: Path, tmp_path: Path) -> None:
    import geopandas

    frame = geopandas.read_file(IRIS_CONTOURS_93).head(2)
    raw = json.loads(frame.to_json())
    raw.pop("crs", None)  # Lambert-93 metres, but GeoJSON is read as WGS84 degrees
    path = tmp_path / "metres.geojson"
    path.write_text(json.dumps(raw))
    reference = tmp_path / "ref.csv"
    rows = "".join(f"{c};{c[:5]}\n" for c in frame.CODE_IRIS)
    reference.write_text("CODE_IRIS;DEPCOM\n" + rows, encoding="utf-8")
    with (
        Observatory.open(home93, write=True) as obs,
        pytest.raises(FileFormatError, match="--crs"),
    ):
        obs.geography.import_iris(reference, path)


def test_unknown_commune_names_file_line_and_column(home93: Path, tmp_path: Path) -> None:
    reference = tmp_path / "ref.csv"
    reference.write_text(
        "CODE_IRIS;LIB_IRIS;TYP_IRIS;DEPCOM\n930660101;A;H;93066\n939990101;B;H;93999\n",
        encoding="utf-8",
    )
    with Observatory.open(home93, write=True) as obs:
        before = obs.warehouse.count("territory", "level = 'iris'")
        with pytest.raises(UnknownCodeError) as info:
            obs.geography.import_iris(reference)
        assert obs.warehouse.count("territory", "level = 'iris'") == before  # nothing written
    error = info.value
    assert (error.path, error.line, error.column) == (str(reference), 3, "DEPCOM")
    assert error.suggestions


def test_malformed_code(home93: Path, tmp_path: Path) -> None:
    reference = tmp_path / "ref.csv"
    reference.write_text("CODE_IRIS;DEPCOM\n930660101;93066\nABC;93066\n", encoding="utf-8")
    with (
        Observatory.open(home93, write=True) as obs,
        pytest.raises(InvalidValueError, match="ligne 3"),
    ):
        obs.geography.import_iris(reference)
