"""Custom zonings on the real referential of Seine-Saint-Denis."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from observatoire.errors import DuplicateUnitError, InputError, UnknownCodeError
from observatoire.observatory import Observatory
from observatoire.secret.policy import PUBLIC


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_table_import_versions_and_dates(home93: Path, tmp_path: Path) -> None:
    v1 = _write(
        tmp_path / "v1.csv",
        "code_commune;code_zone;nom_zone\n93066;N;Nord\n93059;N;Nord\n93001;N;Nord\n93005;E;Est\n",
    )
    with Observatory.open(home93, write=True) as obs:
        report = obs.geography.import_zoning("tas", v1, label="TAS", valid_from="2024-01-01")
        assert (report.version, report.zones, report.units) == (1, 2, 3)
        assert any("93059" in note and "93066" in note for note in report.notes)
        zones = obs.geography.territories(level="tas").set_index("code")
        assert zones.at["N", "population"] == 141441 + 86375
        assert zones.at["N", "departement"] == "93"
        # Unchanged re-import: no new version.
        assert not obs.geography.import_zoning("tas", v1, valid_from="2024-01-01").created
        v2 = _write(
            tmp_path / "v2.csv",
            "code_commune;code_zone;nom_zone\n93066;N;Nord\n93001;E;Est\n93005;E;Est\n",
        )
        assert obs.geography.import_zoning("tas", v2, valid_from="2025-06-01").version == 2
        _, old = obs.geography.zoning("tas", at="2024-12-31")
        _, new = obs.geography.zoning("tas")
        assert set(old.unit_code[old.zone_code == "N"]) == {"93001", "93066"}
        assert set(new.unit_code[new.zone_code == "E"]) == {"93001", "93005"}
        # Zones behave like territories: communes within, IRIS within, geometry.
        inside = obs.geography.territories(level="commune", within="tas:E")
        assert set(inside.code) == {"93001", "93005"}
        assert len(obs.geography.territories(level="iris", within="tas:N")) > 40
        assert obs.geography.geometries(level="tas").geometry.notna().all()
        with pytest.raises(InputError, match="après"):
            obs.geography.import_zoning("tas", v1, valid_from="2025-01-01")


def test_duplicate_unit_is_refused_with_its_lines(home93: Path, tmp_path: Path) -> None:
    path = _write(tmp_path / "dup.csv", "code_commune;code_zone\n93066;A\n93001;A\n93066;B\n")
    with Observatory.open(home93, write=True) as obs:
        with pytest.raises(DuplicateUnitError, match="lignes 2, 4") as info:
            obs.geography.import_zoning("dup", path)
        assert info.value.line == 4
        assert obs.warehouse.count("zoning") == 0 and "dup" not in obs.geography.levels()


def test_unknown_unit_is_refused_with_suggestions(home93: Path, tmp_path: Path) -> None:
    path = _write(tmp_path / "unknown.csv", "code_commune;code_zone\n93066;A\n93999;A\n")
    with Observatory.open(home93, write=True) as obs, pytest.raises(UnknownCodeError) as info:
        obs.geography.import_zoning("unk", path)
    assert info.value.line == 3 and info.value.suggestions


def test_weights_share_a_unit_between_zones(home93: Path, tmp_path: Path) -> None:
    path = _write(
        tmp_path / "w.csv", "code_commune;code_zone;poids\n93066;A;0,6\n93066;B;0,4\n93001;B;1\n"
    )
    bad = _write(tmp_path / "bad.csv", "code_commune;code_zone;poids\n93066;A;0.6\n93066;B;0.3\n")
    with Observatory.open(home93, write=True) as obs:
        obs.geography.import_zoning("partage", path)
        zones = obs.geography.territories(level="partage").set_index("code")
        assert zones.at["A", "population"] == pytest.approx(0.6 * 141441)
        with pytest.raises(InputError, match=r"0\.9"):
            obs.geography.import_zoning("partage2", bad)


def test_iris_units(home93: Path, tmp_path: Path) -> None:
    path = _write(tmp_path / "iris.csv", "code_iris;code_zone\n930590101;QPV1\n930590102;QPV1\n")
    with Observatory.open(home93, write=True) as obs:
        report = obs.geography.import_zoning("quartiers", path)
        assert report.unit_level == "iris"
        assert set(obs.geography.territories(level="iris", within="quartiers:QPV1").code) == {
            "930590101",
            "930590102",
        }


def test_polygon_zoning_assigns_units_by_point_on_surface(home: Path, tmp_path: Path) -> None:
    """A zoning drawn as polygons takes the communes whose point on surface is within: the 39
    of the 93, none of those outside it that touch the polygons' edges (hence the home of all
    France, where they are)."""
    import geopandas

    with Observatory.open(home, write=True) as obs:
        communes = obs.geography.geometries(level="commune", within="93", simplified=False)
        north = communes.code.isin(["93066", "93070", "93079", "93072"])
        zones = geopandas.GeoDataFrame(
            {"code_zone": ["NORD", "RESTE"], "nom_zone": ["Nord", "Reste"]},
            geometry=[communes[north].union_all(), communes[~north].union_all()],
            crs="EPSG:4326",
        ).to_crs("EPSG:2154")
        path = tmp_path / "zones.gpkg"
        zones.to_file(path)
        report = obs.geography.import_zoning("poly", path)
        assert report.units == 39
        members = obs.geography.territories(level="commune", zoning="poly", within="93")
        assert set(members.code[members.zone == "NORD"]) == set(communes.code[north])
        assert np.all(members.zone.notna())


def test_names_are_checked(home93: Path, tmp_path: Path) -> None:
    path = _write(tmp_path / "z.csv", "code_commune;code_zone\n93066;A\n")
    with Observatory.open(home93, write=True) as obs:
        for bad in ("commune", "Mon Zonage", "x"):
            with pytest.raises(InputError):
                obs.geography.import_zoning(bad, path)


def test_overlapping_polygons_in_a_zipped_shapefile(home93: Path, tmp_path: Path) -> None:
    import zipfile

    import geopandas

    with Observatory.open(home93, write=True) as obs:
        communes = obs.geography.geometries(level="commune", within="93", simplified=False)
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
        report = obs.geography.import_zoning("chevauchement", archive)
    assert any("ambiguë" in note and "93066" in note for note in report.notes)
    assert any("hors de toute zone" in note for note in report.notes)


def test_a_version_starting_later_is_not_applied_today(home93: Path, tmp_path: Path) -> None:
    """``zoning import … --valid-from <next year>``: today's figures stay those of the version
    in force (the defect fixed: the newest version was applied whatever its start); the new
    one takes over once its date has come, and every read says which version it shows."""
    from datetime import date, timedelta

    from observatoire.engine.materialise import compute_all
    from observatoire.ingest.zoning import refresh_zonings

    from .conftest import DATA, run

    v1 = _write(tmp_path / "v1.csv",
                "code_commune;code_zone\n93066;N\n93001;N\n93005;E\n93006;E\n")  # fmt: skip
    v2 = _write(tmp_path / "v2.csv",
                "code_commune;code_zone\n93066;N\n93001;E\n93005;E\n93006;E\n")  # fmt: skip
    later = (date.today() + timedelta(days=365)).isoformat()
    with Observatory.open(home93, write=True) as obs:
        obs.import_file(DATA / "filosofi/FILO2019_DISP_COM.csv")
        obs.geography.import_zoning("tas", v1, valid_from="2025-01-01")
        obs.compute(indicators=["menages_fiscaux"], levels=["tas"])
        report = obs.geography.import_zoning("tas", v2, valid_from=later)
        assert report.version == 2 and any(f"à partir du {later}" in n for n in report.notes)
        communes = obs.indicator("menages_fiscaux", level="commune", period="2019")
        households = dict(zip(communes.code, communes.value, strict=True))
        north = obs.indicator("menages_fiscaux", level="tas", period="2019").set_index("code")
        assert north.at["N", "value"] == households["93066"] + households["93001"]
        assert list(obs.geography.zonings().version) == [1]
        _, members = obs.geography.zoning("tas")
        assert set(members.unit_code[members.zone_code == "N"]) == {"93066", "93001"}
        _, coming = obs.geography.zoning("tas", at=later)
        assert set(coming.unit_code[coming.zone_code == "N"]) == {"93066"}
        assert refresh_zonings(obs.warehouse) == []  # nothing has begun yet
        # the day comes: the version in force changes, its figures are recomputed
        assert refresh_zonings(obs.warehouse, today=later) == [
            f"zonage tas : version 2 en vigueur depuis le {later}"
        ]
        stored = obs.warehouse.count("indicator_result", "level = 'tas'")
        assert stored == 0  # the stale figures are gone with the old version
        compute_all(
            obs.warehouse, obs.catalogue(), indicators=["menages_fiscaux"], levels=["tas"]
        )  # fmt: skip  (obs.compute would refresh as of today)
        north = obs.indicator("menages_fiscaux", level="tas", period="2019").set_index("code")
        assert north.at["N", "value"] == households["93066"]
        assert list(obs.geography.zonings().version) == [2]
        # and as long as the date has not come, `compute` puts back the version in force
        obs.compute(indicators=["menages_fiscaux"], levels=["tas"])
        assert list(obs.geography.zonings().version) == [1]
    code, out = run("zoning", "show", "tas", home=home93)
    assert code == 0 and later in out


def test_a_first_version_starting_later_waits_for_its_date(home93: Path, tmp_path: Path) -> None:
    """A new zoning whose only version begins next year has no territories yet, is not
    listed nor computed; the day comes, it is (the defect found in review: it was shown at
    once, then never materialised)."""
    from datetime import date, timedelta

    from observatoire.ingest.zoning import refresh_zonings

    later = (date.today() + timedelta(days=30)).isoformat()
    v1 = _write(tmp_path / "v1.csv", "code_commune;code_zone\n93066;N\n93001;N\n93005;E\n")
    with Observatory.open(home93, write=True) as obs:
        obs.geography.import_zoning("tas", v1, valid_from=later)
        assert obs.geography.zonings().empty and "tas" not in obs.geography.levels()
        with pytest.raises(InputError, match="aucune version"):
            obs.geography.zoning("tas")
        assert refresh_zonings(obs.warehouse) == []
        assert refresh_zonings(obs.warehouse, today=later) == [
            f"zonage tas : version 1 en vigueur depuis le {later}"
        ]
        assert list(obs.geography.zonings().version) == [1]
        assert set(obs.geography.territories(level="tas").code) == {"N", "E"}


SECRET_HOUSEHOLDS = """theme: social
indicators:
  - id: uc_sous_secret
    label: "Unités de consommation (sous secret, test)"
    unit: unités
    formula: {variable: ["filosofi.NBUC"]}
    aggregation: sum
    secret: {min_count: 5, audiences: [public, member]}
"""


def test_values_of_a_zoning_at_a_date(home93: Path, tmp_path: Path) -> None:
    """``values … --zoning tas --at DATE``: the zones of the version in force that day,
    computed now (sums of the real FILO2019 households of their communes), named as they
    were; today's from the stored values; every read says which version it gives. A
    restricted audience gets an indicator under secret for today's zones only."""
    import pandas as pd

    from observatoire.errors import AccessError

    from .conftest import DATA, run

    v1 = _write(tmp_path / "v1.csv", "code_commune;code_zone;nom_zone\n93066;N;Nord\n"
                "93001;N;Nord\n93005;E;Est\n93006;E;Est\n93007;O;Ouest\n")  # fmt: skip
    v2 = _write(tmp_path / "v2.csv", "code_commune;code_zone;nom_zone\n93066;N;Nord réduit\n"
                "93001;E;Est élargi\n93005;E;Est élargi\n93006;E;Est élargi\n")  # fmt: skip
    (home93 / "indicateurs").mkdir()
    (home93 / "indicateurs" / "secret.yaml").write_text(SECRET_HOUSEHOLDS, encoding="utf-8")
    raw = pd.read_csv(DATA / "filosofi/FILO2019_DISP_COM.csv", sep=";", dtype={"CODGEO": str})
    households = raw.set_index("CODGEO").NBMEN19.astype(float).to_dict()
    # Pierrefitte-sur-Seine (93059) merged into Saint-Denis (93066) on 2025-01-01 (COG)
    households["93066"] += households["93059"]
    with Observatory.open(home93, write=True) as obs:
        obs.import_file(DATA / "filosofi/FILO2019_DISP_COM.csv")
        obs.geography.import_zoning("tas", v1, valid_from="2024-01-01")
        obs.geography.import_zoning("tas", v2, valid_from="2025-06-01")
        obs.compute(indicators=["menages_fiscaux", "uc_sous_secret"])
        past = obs.indicator("menages_fiscaux", level="tas", period="2019", at="2024-06-30")
        past = past.set_index("code")
        assert list(past.index) == ["E", "N", "O"]
        assert past.name.to_dict() == {"E": "Est", "N": "Nord", "O": "Ouest"}
        assert past.at["N", "value"] == households["93066"] + households["93001"]
        assert past.at["E", "value"] == households["93005"] + households["93006"]
        assert past.at["O", "value"] == households["93007"]
        assert (past.status == "ok").all()
        today = obs.indicator("menages_fiscaux", level="tas", period="2019").set_index("code")
        assert today.at["N", "value"] == households["93066"]
        assert today.at["E", "name"] == "Est élargi"
        # the date of today's version: the stored values, the same as without --at
        same = obs.indicator("menages_fiscaux", level="tas", period="2019", at="2026-01-01")
        pd.testing.assert_frame_equal(same.set_index("code"), today)
        assert "version 1" in str(obs.zoning_shown("tas", "2024-06-30"))
        assert "version 2" in str(obs.zoning_shown("tas"))
        # the public: a count without secret is computed for it; one under secret is not
        public = obs.indicator("menages_fiscaux", level="tas", period="2019", at="2024-06-30",
                               reader=PUBLIC)  # fmt: skip
        pd.testing.assert_frame_equal(public.set_index("code"), past)
        with pytest.raises(AccessError, match="secret"):
            obs.indicator("uc_sous_secret", level="tas", at="2024-06-30", reader=PUBLIC)
        assert len(obs.indicator("uc_sous_secret", level="tas", at="2024-06-30")) == 3
        for at, message in (("2023-12-31", "aucune version"), ("2024-13-01", "AAAA-MM-JJ"),
                            ("30/06/2024", "AAAA-MM-JJ")):  # fmt: skip
            with pytest.raises(InputError, match=message):
                obs.indicator("menages_fiscaux", level="tas", at=at)
        with pytest.raises(InputError, match="pas un zonage"):
            obs.indicator("menages_fiscaux", level="commune", at="2024-06-30")
    from fastapi.testclient import TestClient

    from observatoire.web import create_app

    with Observatory.open(home93) as obs, TestClient(create_app(obs)) as client:
        api = "/api/v1/indicators/menages_fiscaux/values?level=tas&period=2019"
        rows = client.get(api + "&at=2024-06-30").json()
        got = {r["code"]: r["value"] for r in rows["rows"]}
        assert got == {"E": households["93005"] + households["93006"],
                       "N": households["93066"] + households["93001"],
                       "O": households["93007"]}  # fmt: skip
        refused = client.get(api.replace("menages_fiscaux", "uc_sous_secret") + "&at=2024-06-30")
        assert refused.status_code == 403
        assert client.get(api + "&at=2024-06-30&compare=departement").status_code in (400, 422)
        page = client.get("/indicateurs/menages_fiscaux?niveau=tas").text
        assert "zonage tas, version 2, en vigueur du 2025-06-01 (aujourd&#39;hui)" in page or (
            "zonage tas, version 2, en vigueur du 2025-06-01 (aujourd'hui)" in page
        )
    code, out = run("values", "menages_fiscaux", "--zoning", "tas", "--at", "2024-06-30",
                    "--period", "2019", "--format", "csv", home=home93)  # fmt: skip
    assert code == 0, out
    assert "zonage tas, version 1, en vigueur du 2024-01-01 au 2025-06-01" in out
    assert f"O,Ouest,2019,{households['93007']:.1f},ok" in out
    code, out = run("values", "menages_fiscaux", "--zoning", "tas", home=home93)
    assert code == 0 and "version 2" in out and "(aujourd'hui)" in out
    code, out = run("values", "menages_fiscaux", "--level", "departement", "--at", "2024-06-30",
                    home=home93)  # fmt: skip
    assert code == 2 and "pas un zonage" in out


def test_zoning_files_as_people_write_them_are_recognised(home93: Path, tmp_path: Path) -> None:
    """« Code INSEE », « Commune » (names), « Code EDS », « Libellé EDS »: no option needed;
    the communes of the 93 from INSEE's COG, zoned by their arrondissement."""
    import csv

    from .conftest import COG_2026

    with (COG_2026 / "v_commune_2026.csv").open(encoding="utf-8") as handle:
        communes = [r for r in csv.DictReader(handle) if r["DEP"] == "93" and r["TYPECOM"] == "COM"]
    lines = ["Code INSEE;Commune;Code EDS;Libellé EDS"]
    lines += [f"{r['COM']};{r['LIBELLE']};EDS{r['ARR']};Espace {r['ARR']}" for r in communes]
    people = _write(tmp_path / "eds.csv", "\n".join(lines) + "\n")
    with Observatory.open(home93, write=True) as obs:
        report = obs.geography.import_zoning("eds", people, label="Espaces de solidarité")
        assert report.units == len(communes) == 39
        assert report.zones == len({r["ARR"] for r in communes})
        zones = obs.geography.territories(level="eds").set_index("code")
        assert zones.loc[f"EDS{communes[0]['ARR']}", "name"] == f"Espace {communes[0]['ARR']}"
        unclear = _write(tmp_path / "flou.csv", "Code commune;Commune\n93066;Saint-Denis\n")
        with pytest.raises(InputError) as info:
            obs.geography.import_zoning("flou", unclear)
    message = str(info.value)
    assert "Colonnes vues : Code commune, Commune" in message and "Code zone" in message


def test_a_zone_column_is_never_another_geography_s_and_never_guessed_among_two(
    home93: Path, tmp_path: Path
) -> None:
    """« Code département » or « Code postal » beside « Code EDS » are not zones; two
    columns that could be: the import asks which (nothing is written)."""
    with Observatory.open(home93, write=True) as obs:
        keyed = _write(
            tmp_path / "eds.csv",
            "Code département;Code commune;Code postal;Code EDS;Libellé EDS\n"
            "93;93066;93200;E1;Espace 1\n93;93001;93300;E2;Espace 2\n93;93005;93600;E2;Espace 2\n",
        )
        report = obs.geography.import_zoning("eds", keyed)
        assert (report.zones, report.units) == (2, 3)
        twice = _write(
            tmp_path / "deux.csv", "Code commune;Code EDS;Code TAS\n93066;E1;T1\n93001;E2;T1\n"
        )
        with pytest.raises(InputError, match="Code EDS, Code TAS"):
            obs.geography.import_zoning("deux", twice)
        assert "deux" not in set(obs.geography.zonings().name)
