"""Each figure resolved per territory and period: every vintage of a series kept whatever the
names its files give it, an official supra-communal value used only for the territories and
years it covers, the members' sum everywhere else (issue 19, item 1).

Real files of ../shared/data: Filosofi communes 2016 and 2019 (``DISP_Q2``/``NBMEN``
layout), "chiffres clés" 2021 (``MED``/``NBMENFISC``), the official département file of 2019.
The vintages 2014, 2018 and 2020 are not in the folder: they are built from the real files of
another year (renamed columns, shifted figures, so that a value read from the wrong file
shows), as :func:`vintage` says.
"""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from observatoire.observatory import Observatory

from .conftest import DATA, needs_data
from .vintages import number, read_raw, vintage

pytestmark = needs_data
FILOSOFI = DATA / "filosofi"
ARRONDISSEMENT = r"^(751\d\d|6938\d|132\d\d)$"
YEARS = ["2014", "2016", "2018", "2019", "2020", "2021"]


FILES = {  # year → (file, median column, households column)
    "2014": ("FILO2014_DISP_COM.csv", "Q214", "NBMEN14"),
    "2016": ("FILO2016_DISP_COM.csv", "Q216", "NBMEN16"),
    "2018": ("FILO2018_DISP_COM.csv", "Q218", "NBMEN18"),
    "2019": ("FILO2019_DISP_COM.csv", "Q219", "NBMEN19"),
    "2020": ("cc_filosofi_2020_COM.csv", "MED20", "NBMENFISC20"),
    "2021": ("cc_filosofi_2021_COM.csv", "MED21", "NBMENFISC21"),
}


def filosofi_years(folder: Path) -> dict[str, Path]:
    """Year → Filosofi commune file: the real ones, and the vintages built from them into
    ``folder``."""
    return {
        "2014": vintage(FILOSOFI / "FILO2016_DISP_COM.csv", folder / FILES["2014"][0], "16", "14"),
        "2016": FILOSOFI / "FILO2016_DISP_COM.csv",
        "2018": vintage(FILOSOFI / "FILO2019_DISP_COM.csv", folder / FILES["2018"][0], "19", "18"),
        "2019": FILOSOFI / "FILO2019_DISP_COM.csv",
        "2020": vintage(
            FILOSOFI / "cc_filosofi_2021_COM.csv", folder / FILES["2020"][0], "21", "20"
        ),
        "2021": FILOSOFI / "cc_filosofi_2021_COM.csv",
    }


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return filosofi_years(tmp_path_factory.mktemp("vintages"))


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory, built_home: Path,
         files: dict[str, Path]) -> Path:  # fmt: skip
    home = tmp_path_factory.mktemp("resolution") / "obs"
    shutil.copytree(built_home, home)
    with Observatory.open(home, write=True) as obs:
        for year in YEARS:
            obs.import_file(files[year])
        obs.import_file(FILOSOFI / "FILO2019_DISP_DEP.csv")
        obs.compute(indicators=["niveau_vie_median", "menages_fiscaux"],
                    levels=["commune", "departement", "pays"])  # fmt: skip
    return home


def stored(home: Path, indicator: str, level: str) -> pd.DataFrame:
    with Observatory.open(home) as obs:
        return obs.indicator(indicator, level=level)


def expected_current(home: Path, raw: pd.DataFrame, column: str, file_name: str, *,
                     additive: bool) -> pd.Series:  # fmt: skip
    """The file's values in today's communes, by pandas: each current commune is the sum of
    the file's codes that went into it (by INSEE's passage table for the file's geography),
    given only when every one of them has a value; a median only where the commune is one
    whole code of the file."""
    with Observatory.open(home) as obs:
        year = obs.warehouse.query("SELECT geography_year FROM import_batch WHERE file_name = ?",
                                   [file_name]).geography_year.iloc[0]  # fmt: skip
        values = pd.Series(number(raw[column]).to_numpy(), index=raw.CODGEO)
        values = values[~values.index.str.match(ARRONDISSEMENT)]  # their own level
        passage = obs.geography.vintages().passage_into(int(year), list(values.index))
    passage["value"] = passage.old_code.map(values) * passage.weight
    groups = passage.groupby("new_code")
    complete = groups.value.count() == groups.size()
    if additive:
        return groups.value.sum()[complete]
    whole = (groups.size() == 1) & (groups.weight.first() == 1)
    return groups.value.first()[complete & whole]


@pytest.mark.parametrize("year", YEARS)
def test_every_vintage_of_the_median_and_households_is_kept(
    home: Path, files: dict[str, Path], year: str
) -> None:
    """Per commune and year, the median and the households are the file's of that year
    (pandas over the raw file), whatever the file calls them. A commune made of several codes
    of the file has the sum of their households (partial when one is left out) and no
    median: never one part's value as the whole's."""
    file_name, median_column, households_column = FILES[year]
    raw = read_raw(files[year])
    for indicator, column in (("niveau_vie_median", median_column),
                              ("menages_fiscaux", households_column)):  # fmt: skip
        values = stored(home, indicator, "commune")
        mine = values[values.period == year].set_index("code")
        expected = expected_current(home, raw, column, file_name,
                                    additive=indicator == "menages_fiscaux")  # fmt: skip
        ok = mine[mine.status == "ok"]
        assert len(expected) > 29_000
        assert set(ok.index) == set(expected.index), (
            indicator, year, sorted(set(ok.index) ^ set(expected.index))[:6],
        )  # fmt: skip
        # exact, but for the millionths of households shared out by a scission
        np.testing.assert_allclose(ok.value, expected.loc[ok.index], rtol=1e-12, atol=1e-6)


def test_a_file_of_one_year_never_hides_another(home: Path) -> None:
    """Six vintages, two naming schemes: each year has its values (the defect fixed: the
    first name found at a level was read for every year, and 2014–2018 vanished)."""
    for indicator in ("niveau_vie_median", "menages_fiscaux"):
        values = stored(home, indicator, "commune")
        counts = values[values.status == "ok"].groupby("period").size()
        assert set(YEARS) <= set(counts.index), (indicator, counts.to_dict())
        assert counts.min() > 29_000, counts.to_dict()


def test_official_departement_value_where_published_members_sum_elsewhere(
    home: Path, files: dict[str, Path]
) -> None:
    """The 2019 département file gives 2019 for the départements it lists; every other year of
    a département is the sum of its communes with its coverage (pandas: the file's communes
    in today's geography, whole ones only, grouped by département), never "nd" for want of
    an official figure."""
    official = read_raw(FILOSOFI / "FILO2019_DISP_DEP.csv")
    published = pd.Series(number(official.NBMEN19).to_numpy(), index=official.CODGEO)
    values = stored(home, "menages_fiscaux", "departement")
    for year in YEARS:
        rows = values[values.period == year].set_index("code")
        assert len(rows) == 101, (year, len(rows))
        if year == "2019":
            listed = rows.loc[published.index]
            assert (listed.status == "ok").all()
            np.testing.assert_allclose(listed.value, published, rtol=1e-12)
            continue
        raw = read_raw(files[year])
        communes = expected_current(home, raw, FILES[year][2], FILES[year][0], additive=True)
        code = communes.index.to_series()
        expected = communes.groupby(code.str[:2].where(~code.str.startswith("97"), code.str[:3]))
        expected = expected.sum()
        shown = rows[rows.status.isin(["ok", "partial"])]
        assert len(shown) >= 95, (year, rows.status.value_counts().to_dict())
        np.testing.assert_allclose(shown.value, expected.loc[shown.index], rtol=1e-9)
        # Seine-Saint-Denis: every commune is in every file
        assert rows.loc["93", "status"] == "ok"


def test_france_is_summed_every_year_and_the_median_not_invented(home: Path) -> None:
    households = stored(home, "menages_fiscaux", "pays")
    assert set(YEARS) <= set(households.period), households.to_dict("records")
    assert households.value.notna().all()
    median = stored(home, "niveau_vie_median", "pays")
    assert median.value.isna().all()  # no file gives France's median: never averaged


def test_an_old_geography_converts_exactly_without_importing_the_cog(
    tmp_path: Path, files: dict[str, Path]
) -> None:
    """A home made by ``init`` alone carries INSEE's commune history (shipped COG 2026): the
    2014-shaped file (2017 geography) converts to today's communes without losing one
    household (before: without `geo import-cog`, fusions alone were known and households of
    the communes they missed were dropped)."""
    from .conftest import run

    home = tmp_path / "obs"
    code, out = run("init", "--name", "Sans COG", home=home)
    assert code == 0, out
    code, out = run("import", str(files["2014"]), home=home)
    assert code in (0, 3), out
    assert "géographie 2017" in out
    raw = read_raw(files["2014"])
    households = number(raw.NBMEN14)[~raw.CODGEO.str.match(ARRONDISSEMENT)]
    with Observatory.open(home) as obs:
        assert obs.warehouse.meta()["cog_year"] == "2026"
        stored = obs.values("filosofi.DISP_NBMEN", level="commune", period="2014")
    assert stored.status.isin(["ok", "partial", "missing", "secret"]).all()
    # every household of the file is in a current commune (whole or partial sums)
    assert stored.value.sum() == pytest.approx(households.sum(), rel=1e-12)
    assert set(stored.status) >= {"ok", "partial"}


# -- official figures for other boundaries (item 2) ---------------------------------------------
@pytest.fixture(scope="module")
def supra(tmp_path_factory: pytest.TempPathFactory, built_home: Path,
          files: dict[str, Path]) -> Path:  # fmt: skip
    """Communes 2014 and 2019, the official EPCI and département files of 2019, and a
    département file of 2014 built from the 2014 communes in their own (2017) geography: a
    file of other boundaries for Loire-Atlantique and Maine-et-Loire (Freigné went from 49 to
    44 on 2018-01-01, Le Fresne-sur-Loire from 44 to 49 on 2015-12-31)."""
    home = tmp_path_factory.mktemp("supra") / "obs"
    shutil.copytree(built_home, home)
    raw = read_raw(files["2014"])
    raw = raw[~raw.CODGEO.str.match(ARRONDISSEMENT)]
    departement = raw.CODGEO.str[:2].where(~raw.CODGEO.str.startswith("97"), raw.CODGEO.str[:3])
    path = vintage(FILOSOFI / "FILO2019_DISP_DEP.csv", home.parent / "FILO2014_DISP_DEP.csv",
                   "19", "14")  # fmt: skip
    dep2014 = read_raw(path)
    for column in ("NBMEN14", "NBPERS14", "NBUC14"):  # the counts: sums of the communes
        sums = number(raw[column]).groupby(departement).sum()
        dep2014[column] = dep2014.CODGEO.map(sums).map(lambda v: f"{v:.1f}".replace(".", ","))
    dep2014.to_csv(path, sep=";", index=False, encoding="utf-8")
    with Observatory.open(home, write=True) as obs:
        for name in (files["2014"], files["2019"], FILOSOFI / "FILO2019_DISP_EPCI.csv",
                     FILOSOFI / "FILO2019_DISP_DEP.csv", path):  # fmt: skip
            obs.import_file(name)
        obs.compute(indicators=["niveau_vie_median", "menages_fiscaux"],
                    levels=["epci", "departement"])  # fmt: skip
    return home


def test_an_epci_recomposed_since_its_file_is_not_given_the_file_value(supra: Path) -> None:
    """CC Loire et Allier (245801063): INSEE's 2019 file counts its households in its 2020
    perimeter, which differs from the sum over its communes of today (pandas); the engine
    gives the sum over today's communes, and the published median with status
    ``perimetre``. An EPCI whose communes add up keeps the published figures as ``ok``."""
    epci = read_raw(FILOSOFI / "FILO2019_DISP_EPCI.csv").set_index("CODGEO")
    communes = read_raw(FILOSOFI / "FILO2019_DISP_COM.csv").set_index("CODGEO")
    with Observatory.open(supra) as obs:
        for code, changed in (("245801063", True), ("200033090", False)):
            members = obs.geography.territories(level="commune", within=f"epci:{code}").code
            summed = number(communes.NBMEN19).reindex(members)
            published = float(number(epci.NBMEN19)[code])
            assert bool(abs(summed.sum() - published) > 10) == changed, (code, summed.sum())
            households = obs.indicator("menages_fiscaux", level="epci", period="2019")
            row = households.set_index("code").loc[code]
            median = obs.indicator("niveau_vie_median", level="epci", period="2019")
            shown = median.set_index("code").loc[code]
            assert shown.value == float(number(epci.Q219)[code])
            if changed:
                assert summed.notna().all() and row.status == "ok"
                assert row.value == summed.sum()
                assert shown.status == "perimetre" and "périmètre de 2020" in shown.note
            else:
                assert (row.status, row.value) == ("ok", published)
                assert shown.status == "ok"
        statuses = obs.indicator("niveau_vie_median", level="epci", period="2019").status
        assert 20 <= (statuses == "perimetre").sum() <= 60  # a few dozen of 1,254 EPCI


def test_departements_a_commune_left_since_the_file(supra: Path) -> None:
    """2014 figures of Loire-Atlantique (44) and Maine-et-Loire (49), published in their
    boundaries of then: the households are the sum over today's communes (coverage
    included), the median is given as ``perimetre``; Seine-Saint-Denis (no change) keeps its
    published values; 2019 (after the moves) is published as is."""
    with Observatory.open(supra) as obs:
        households = obs.indicator("menages_fiscaux", level="departement").set_index(
            ["code", "period"])  # fmt: skip
        summed = obs.indicator("menages_fiscaux", level="departement", published=False)
        summed = summed.set_index(["code", "period"])
        median = obs.indicator("niveau_vie_median", level="departement").set_index(
            ["code", "period"])  # fmt: skip
    for code in ("44", "49"):
        assert households.loc[(code, "2014"), "value"] == summed.loc[(code, "2014"), "value"]
        assert median.loc[(code, "2014"), "status"] == "perimetre"
        assert median.loc[(code, "2019"), "status"] == "ok"
    raw = read_raw(FILOSOFI / "FILO2019_DISP_DEP.csv").set_index("CODGEO")
    assert median.loc[("93", "2014"), "status"] == "ok"
    assert median.loc[("93", "2014"), "value"] == float(number(raw.Q219)["93"]) + 100


# -- provenance (item 5) ------------------------------------------------------------------------
def provenance_of(home: Path, *args: str) -> pd.DataFrame:
    from .conftest import run

    code, out = run("values", *args, "--format", "json", home=home)
    assert code == 0, out
    return pd.read_json(io.StringIO(out), dtype={"code": str, "period": str})


def test_every_value_says_where_it_comes_from(supra: Path, home: Path) -> None:
    """``values --format json``: for each value, how it was made, the variables read and the
    imports (number, dataset, edition, file) it comes from; published, summed with coverage,
    converted from another geography (with its codes) or estimated from a scission."""
    departements = provenance_of(supra, "menages_fiscaux", "--level", "departement")
    row = departements.set_index(["code", "period"])
    published = row.loc[("93", "2019")]
    assert published.methode == "publiée"
    assert published.variables == "filosofi.DISP_NBMEN"
    assert "FILO2019_DISP_DEP.csv" in published.sources and "édition 2019" in published.sources
    summed = row.loc[("93", "2014")]  # the 2014 file of 93 is published too (synthetic DEP)
    assert summed.methode == "publiée" and "FILO2014_DISP_DEP.csv" in summed.sources
    moved = row.loc[("44", "2014")]  # other boundaries: the sum of today's communes
    assert moved.methode.startswith("somme sur ") and "communes" in moved.methode
    assert "FILO2014_DISP_COM.csv" in moved.sources and moved.coverage <= 1
    medians = provenance_of(supra, "niveau_vie_median", "--level", "epci", "--period", "2019")
    other = medians.set_index("code").loc["245801063"]
    assert (other.status, other.methode) == ("perimetre", "publiée")
    assert "FILO2019_DISP_EPCI.csv" in other.sources
    communes = provenance_of(home, "menages_fiscaux", "--within", "93", "--period", "2019")
    saint_denis = communes.set_index("code").loc["93066"]  # Pierrefitte merged in 2025
    assert "convertie : fusion de 93059 93066" in saint_denis.methode
    estimated = provenance_of(home, "menages_fiscaux", "--within", "14", "--period", "2016")
    share = estimated.set_index("code").loc["14666"]  # a share of 14712, split since
    assert "estimé" in share.methode and "14712" in share.methode
    # counts carry no float noise (28305216.999999996): at most the millionths of the
    # households shared by population after a scission
    france = provenance_of(home, "menages_fiscaux", "--level", "pays")
    assert all(round(float(v), 6) == float(v) for v in france.value.dropna())
    assert france.methode.str.contains(r"dont \d+ convertie", regex=True).all()
