"""Custom zonings on the real referential of Seine-Saint-Denis."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from observatoire.errors import DuplicateUnitError, InputError, UnknownCodeError
from observatoire.observatory import Observatory


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_table_import_versions_and_dates(home: Path, tmp_path: Path) -> None:
    v1 = _write(
        tmp_path / "v1.csv",
        "code_commune;code_zone;nom_zone\n93066;N;Nord\n93059;N;Nord\n93001;N;Nord\n93005;E;Est\n",
    )
    with Observatory.open(home, write=True) as obs:
        report = obs.import_zoning("tas", v1, label="TAS", valid_from="2024-01-01")
        assert (report.version, report.zones, report.units) == (1, 2, 3)
        assert any("93059" in note and "93066" in note for note in report.notes)
        zones = obs.territories(level="tas").set_index("code")
        assert zones.at["N", "population"] == 141441 + 86375
        assert zones.at["N", "departement"] == "93"
        # Unchanged re-import: no new version.
        assert not obs.import_zoning("tas", v1, valid_from="2024-01-01").created
        v2 = _write(
            tmp_path / "v2.csv",
            "code_commune;code_zone;nom_zone\n93066;N;Nord\n93001;E;Est\n93005;E;Est\n",
        )
        assert obs.import_zoning("tas", v2, valid_from="2025-06-01").version == 2
        _, old = obs.zoning("tas", at="2024-12-31")
        _, new = obs.zoning("tas")
        assert set(old.unit_code[old.zone_code == "N"]) == {"93001", "93066"}
        assert set(new.unit_code[new.zone_code == "E"]) == {"93001", "93005"}
        # Zones behave like territories: communes within, IRIS within, geometry.
        assert set(obs.territories(level="commune", within="tas:E").code) == {"93001", "93005"}
        assert len(obs.territories(level="iris", within="tas:N")) > 40
        assert obs.geometries(level="tas").geometry.notna().all()
        with pytest.raises(InputError, match="après"):
            obs.import_zoning("tas", v1, valid_from="2025-01-01")


def test_duplicate_unit_is_refused_with_its_lines(home: Path, tmp_path: Path) -> None:
    path = _write(tmp_path / "dup.csv", "code_commune;code_zone\n93066;A\n93001;A\n93066;B\n")
    with Observatory.open(home, write=True) as obs:
        with pytest.raises(DuplicateUnitError, match="lignes 2, 4") as info:
            obs.import_zoning("dup", path)
        assert info.value.line == 4
        assert obs.warehouse.count("zoning") == 0 and "dup" not in obs.levels()


def test_unknown_unit_is_refused_with_suggestions(home: Path, tmp_path: Path) -> None:
    path = _write(tmp_path / "unknown.csv", "code_commune;code_zone\n93066;A\n93999;A\n")
    with Observatory.open(home, write=True) as obs, pytest.raises(UnknownCodeError) as info:
        obs.import_zoning("unk", path)
    assert info.value.line == 3 and info.value.suggestions


def test_weights_share_a_unit_between_zones(home: Path, tmp_path: Path) -> None:
    path = _write(
        tmp_path / "w.csv", "code_commune;code_zone;poids\n93066;A;0,6\n93066;B;0,4\n93001;B;1\n"
    )
    bad = _write(tmp_path / "bad.csv", "code_commune;code_zone;poids\n93066;A;0.6\n93066;B;0.3\n")
    with Observatory.open(home, write=True) as obs:
        obs.import_zoning("partage", path)
        zones = obs.territories(level="partage").set_index("code")
        assert zones.at["A", "population"] == pytest.approx(0.6 * 141441)
        with pytest.raises(InputError, match=r"0\.9"):
            obs.import_zoning("partage2", bad)


def test_iris_units(home: Path, tmp_path: Path) -> None:
    path = _write(tmp_path / "iris.csv", "code_iris;code_zone\n930590101;QPV1\n930590102;QPV1\n")
    with Observatory.open(home, write=True) as obs:
        report = obs.import_zoning("quartiers", path)
        assert report.unit_level == "iris"
        assert set(obs.territories(level="iris", within="quartiers:QPV1").code) == {
            "930590101",
            "930590102",
        }


def test_polygon_zoning_assigns_units_by_point_on_surface(home: Path, tmp_path: Path) -> None:
    import geopandas

    with Observatory.open(home, write=True) as obs:
        communes = obs.geometries(level="commune", within="93", simplified=False)
        north = communes.code.isin(["93066", "93070", "93079", "93072"])
        zones = geopandas.GeoDataFrame(
            {"code_zone": ["NORD", "RESTE"], "nom_zone": ["Nord", "Reste"]},
            geometry=[communes[north].union_all(), communes[~north].union_all()],
            crs="EPSG:4326",
        ).to_crs("EPSG:2154")
        path = tmp_path / "zones.gpkg"
        zones.to_file(path)
        report = obs.import_zoning("poly", path)
        assert report.units == 39
        members = obs.territories(level="commune", zoning="poly", within="93")
        assert set(members.code[members.zone == "NORD"]) == set(communes.code[north])
        assert np.all(members.zone.notna())


def test_names_are_checked(home: Path, tmp_path: Path) -> None:
    path = _write(tmp_path / "z.csv", "code_commune;code_zone\n93066;A\n")
    with Observatory.open(home, write=True) as obs:
        for bad in ("commune", "Mon Zonage", "x"):
            with pytest.raises(InputError):
                obs.import_zoning(bad, path)


def test_overlapping_polygons_in_a_zipped_shapefile(home: Path, tmp_path: Path) -> None:
    import zipfile

    import geopandas

    with Observatory.open(home, write=True) as obs:
        communes = obs.geometries(level="commune", within="93", simplified=False)
        saint_denis = communes[communes.code == "93066"].geometry.iloc[0]
        zones = geopandas.GeoDataFrame(
            {"code_zone": ["A", "B"], "nom_zone": ["Zone A", "Zone B"]},
            geometry=[saint_denis.buffer(0.01), saint_denis.buffer(0.002)],
            crs="EPSG:4326",
        )
        zones.to_file(tmp_path / "zones.shp")
        archive = tmp_path / "zones.zip"
        with zipfile.ZipFile(archive, "w") as out:
            for part in tmp_path.glob("zones.*"):
                if part.suffix != ".zip":
                    out.write(part, part.name)
        report = obs.import_zoning("chevauchement", archive)
    assert any("ambiguë" in note and "93066" in note for note in report.notes)
    assert any("hors de toute zone" in note for note in report.notes)
