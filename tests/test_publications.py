"""What a management reader gets from a portrait on INSEE's real files: the Metz case.

A chargé d'études of the Moselle observatory imports Filosofi 2019 at every level INSEE
publishes it (communes, départements, régions, France métropolitaine), the « chiffres clés »
Filosofi 2021 of the communes and the census comparator 2018, and writes the portrait of Metz.
Every figure is compared at the latest period Metz shares with its references, France is
France métropolitaine where INSEE publishes no France entière, and every sentence is French
a director signs. Independent values: pandas over the producers' files."""

from __future__ import annotations

import re
import shutil
import zipfile
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from observatoire.observatory import Observatory
from observatoire.outputs.portrait import build_portrait
from observatoire.secret.policy import PUBLIC
from observatoire.web.content import territory_view

from .conftest import DATA, needs_data, run
from .french import sentence_faults

FILOSOFI = DATA / "filosofi"
METZ, MOSELLE, GRAND_EST = "57463", "57", "44"


def _filosofi(name: str) -> pd.DataFrame:
    return pd.read_csv(FILOSOFI / name, sep=";", dtype=str, encoding="utf-8-sig")


def _number(text: str) -> float:
    return float(str(text).replace(",", "."))


@pytest.fixture(scope="module")
def moselle(tmp_path_factory: pytest.TempPathFactory, census_home: Path) -> Path:
    """The census home (RP 2018 of every commune, computed) with Filosofi 2019 of every
    level, the communes' Filosofi 2021, computed, and the Moselle as its territory."""
    home = tmp_path_factory.mktemp("moselle") / "obs"
    shutil.copytree(census_home, home)
    settings = home / "observatoire.toml"
    text = settings.read_text(encoding="utf-8").replace(
        'territory = "departement:93"', 'territory = "departement:57"'
    )
    settings.write_text(text, encoding="utf-8")
    for name in (
        "FILO2019_DISP_COM.csv",
        "FILO2019_DISP_DEP.csv",
        "FILO2019_DISP_REG.csv",
        "FILO2019_DISP_METROPOLE.csv",
        "cc_filosofi_2021_COM.csv",
        "../caf/data_CAF_2018_IRIS.csv",
    ):
        code, out = run("import", str(FILOSOFI / name), home=home)
        assert code in (0, 3), out
    code, out = run("compute", home=home)
    assert code == 0, out
    return home


@pytest.fixture(scope="module")
def metz(moselle: Path) -> Any:
    with Observatory.open(moselle) as obs:
        return build_portrait(obs, METZ, reader=PUBLIC)


def names_before(names: list[str], first: str, second: str) -> bool:
    return names.index(first) < names.index(second)


def _figure(portrait: Any, ident: str) -> Any:
    return next(f for _, f in portrait.figures() if f.indicator == ident)


@needs_data
def test_the_median_is_compared_in_2019_with_france_metropolitaine(metz: Any) -> None:
    com, dep = _filosofi("FILO2019_DISP_COM.csv"), _filosofi("FILO2019_DISP_DEP.csv")
    reg, frm = _filosofi("FILO2019_DISP_REG.csv"), _filosofi("FILO2019_DISP_METROPOLE.csv")
    recent = pd.read_csv(FILOSOFI / "cc_filosofi_2021_COM.csv", sep=";", dtype=str)
    assert [r["name"] for r in metz.references] == ["Moselle", "Grand Est", "France"]
    median = _figure(metz, "niveau_vie_median")
    # Metz has 2021 (chiffres clés), its references stop at 2019: compared in 2019
    assert median.period == "2019"
    assert median.value == _number(com.set_index("CODGEO").Q219[METZ])
    refs = {r["level"]: r for r in median.references}
    assert refs["departement"]["value"] == _number(dep.set_index("CODGEO").Q219[MOSELLE])
    assert refs["region"]["value"] == _number(reg.set_index("CODGEO").Q219[GRAND_EST])
    france = refs["pays"]
    assert france["name"] == "France métropolitaine" and france["stand_in"]
    assert france["value"] == _number(frm.Q219.iloc[0]) == 21930
    newest = _number(recent.set_index("CODGEO").MED21[METZ])
    assert "2021" in median.newer and f"{newest:,.0f}".replace(",", "\u202f") in median.newer
    sentence = median.sentence.replace("\u202f", " ")
    assert sentence.startswith("En 2019, le niveau de vie médian à Metz (20 010 €) est ")
    assert "celui de la Moselle (21 820 €)" in sentence
    assert "celui de la France métropolitaine (21 930 €)" in sentence
    # page 1 (« L'essentiel ») opens on income, poverty, the RSA and unemployment
    essentials = metz.essentials()
    assert essentials[0] == median.sentence and len(essentials) == 6
    assert essentials[1] == _figure(metz, "taux_pauvrete").sentence


@needs_data
def test_census_figures_are_insee_s_with_the_moselle_summed_by_pandas(metz: Any) -> None:
    path = DATA / "census" / "base_cc_comparateur_csv_RP2018.zip"
    with zipfile.ZipFile(path) as archive, archive.open("base_cc_comparateur.CSV") as handle:
        census = pd.read_csv(handle, sep=";", dtype={"CODGEO": str})
    communes = census.set_index("CODGEO")
    moselle = census[census.CODGEO.str.startswith(MOSELLE)]
    unemployment = _figure(metz, "taux_chomage_15_64")
    assert unemployment.period == "2018"
    expected = 100 * communes.P18_CHOM1564[METZ] / communes.P18_ACT1564[METZ]
    assert unemployment.value == pytest.approx(expected)
    dep = next(r for r in unemployment.references if r["level"] == "departement")
    assert dep["value"] == pytest.approx(
        100 * moselle.P18_CHOM1564.sum() / moselle.P18_ACT1564.sum()
    )
    # the cover gives the population of the census the text speaks of
    assert ("Population (2018)", f"{communes.P18_POP[METZ]:,.0f}".replace(",", "\u202f")
            + " habitants") in metz.facts  # fmt: skip


@needs_data
def test_every_sentence_of_metz_and_the_moselle_is_french_a_director_signs(
    moselle: Path, metz: Any
) -> None:
    with Observatory.open(moselle) as obs:
        department = build_portrait(obs, f"departement:{MOSELLE}", reader=PUBLIC)
    faults = [
        f"{f.indicator}: {fault} — {f.sentence}"
        for portrait in (metz, department)
        for _, f in portrait.figures()
        for fault in sentence_faults(f)
    ]
    assert faults == []
    metz_text = " ".join(f.sentence for _, f in metz.figures())
    moselle_text = " ".join(f.sentence for _, f in department.figures())
    assert " à Metz " in metz_text and "de la Moselle" in metz_text
    assert " en Moselle " in moselle_text and "du Grand Est" in moselle_text
    assert "(ménages)" not in metz_text
    assert not re.search(r"(?<![\d,])0,0\s%", metz_text.replace("\u202f", " "))
    # the social part leads with poverty and income, not six poverty rates by age
    social = next(s for s in metz.sections if s.theme == "social")
    shown = [f.indicator for f in social.figures]
    assert shown[:2] == ["part_allocataires_rsa", "taux_pauvrete"] or shown[0] == "taux_pauvrete"
    assert sum(i.startswith("taux_pauvrete_age") for i in shown) <= 1


@needs_data
def test_the_territory_page_compares_at_the_shared_period_and_says_why_not(
    moselle: Path,
) -> None:
    with Observatory.open(moselle) as obs:
        view = territory_view(obs, "commune", METZ, reader=PUBLIC)
    rows = {i["indicator"]: i for t in view["themes"] for i in t["indicators"]}
    median = rows["niveau_vie_median"]
    assert median["period"] == "2019" and median["newer"]["period"] == "2021"
    names = [r["name"] for r in view["references"]]
    france = median["references"][names.index("France")]
    assert france["value"] == 21930 and france["name"] == "France métropolitaine"
    poverty = rows["taux_pauvrete"]  # 2021 at Metz only: each reference says why
    assert poverty["period"] == "2021"
    assert all(r["value"] is None and r["reason"] for r in poverty["references"])


@needs_data
def test_the_wide_export_has_a_column_a_period_and_the_references_on_top(
    moselle: Path, tmp_path: Path
) -> None:
    target = tmp_path / "medianes.csv"
    code, out = run(
        "export", "niveau_vie_median", "--within", MOSELLE, "--wide", "-o", str(target),
        home=moselle,
    )  # fmt: skip
    assert code == 0, out
    table = pd.read_csv(target, sep=";", decimal=",", dtype={"code": str}, encoding="utf-8-sig")
    assert list(table.columns) == ["type", "code", "nom", "2019 (€)", "2021 (€)"]
    refs = table[table.type == "référence"].set_index("code")
    dep, reg = _filosofi("FILO2019_DISP_DEP.csv"), _filosofi("FILO2019_DISP_REG.csv")
    frm = _filosofi("FILO2019_DISP_METROPOLE.csv")
    assert refs.at[MOSELLE, "2019 (€)"] == _number(dep.set_index("CODGEO").Q219[MOSELLE])
    assert refs.at[GRAND_EST, "2019 (€)"] == _number(reg.set_index("CODGEO").Q219[GRAND_EST])
    assert refs.at["FRM", "2019 (€)"] == _number(frm.Q219.iloc[0])  # under its own code
    assert "France métropolitaine" in refs.at["FRM", "nom"] and "FR" not in refs.index
    communes = table[table.type == "territoire"].set_index("code")
    assert len(communes) == 725 and list(table.type[:3]) == ["référence"] * 3
    com = _filosofi("FILO2019_DISP_COM.csv").set_index("CODGEO")
    recent = pd.read_csv(FILOSOFI / "cc_filosofi_2021_COM.csv", sep=";", dtype=str)
    assert communes.at[METZ, "2019 (€)"] == _number(com.Q219[METZ])
    assert communes.at[METZ, "2021 (€)"] == _number(recent.set_index("CODGEO").MED21[METZ])
    import unicodedata

    def folded(name: str) -> str:  # dictionary order: œ is oe, accents and hyphens aside
        bare = unicodedata.normalize("NFKD", name.lower().replace("œ", "oe"))
        return "".join(c for c in bare if c.isalnum() and not unicodedata.combining(c))

    assert list(communes.nom) == sorted(communes.nom, key=folded)
    assert names_before(list(communes.nom), "Kœnigsmacker", "Kuntzig")
    # a sum over part of the IRIS is never shown as a whole: its coverage is beside it
    caf = tmp_path / "caf.csv"
    code, out = run("export", "allocataires_caf", "--within", MOSELLE, "--wide", "-o", str(caf),
                    home=moselle)  # fmt: skip
    assert code == 0, out
    wide = pd.read_csv(caf, sep=";", decimal=",", dtype={"code": str}, encoding="utf-8-sig")
    iris = pd.read_csv(DATA / "caf" / "data_CAF_2018_IRIS.csv", sep=";", dtype=str)
    known = pd.to_numeric(iris[iris.DEPCOM == METZ].A, errors="coerce").dropna()
    metz = wide.set_index("code").loc[METZ]
    assert metz["2018 (foyers)"] == known.sum() == 30427  # 42 of Metz's 49 IRIS are known
    assert 0 < metz["2018 couverture (%)"] < 100


@needs_data
def test_the_indicator_page_ranks_in_the_moselle_and_shows_the_ten_extremes(
    moselle: Path,
) -> None:
    from observatoire.web.content import indicator_view

    with Observatory.open(moselle) as obs:
        view = indicator_view(obs, "niveau_vie_median", reader=PUBLIC)
    assert view["period"] == "2019"  # not 2021: the references stop at 2019
    assert view["within"]["where"] == "en Moselle"
    rows = {r["code"]: r for r in view["values"]}
    com = _filosofi("FILO2019_DISP_COM.csv")
    shown = com[com.CODGEO.isin([c for c, r in rows.items() if r["value"] is not None])]
    values = shown.set_index("CODGEO").Q219.map(_number)
    for code in (METZ, "57672"):  # Metz, Thionville: rank among the Moselle's communes
        assert rows[code]["value"] == values[code]
        assert rows[code]["rank_local"] == int((values > values[code]).sum()) + 1
        assert rows[code]["count_local"] == len(values)
    top = [r["code"] for r in view["extremes"]["top"]]
    assert top == list(values.sort_values(ascending=False, kind="stable").index[:10])
    assert view["extremes"]["bottom"][0]["code"] == values.idxmin()


@needs_data
def test_a_report_map_names_towns_draws_a_scale_and_a_raw_variable_is_the_analyst_s(
    moselle: Path, tmp_path: Path
) -> None:
    svg = tmp_path / "medianes.svg"
    code, out = run(
        "map", "niveau_vie_median", "--within", MOSELLE, "--period", "2019", "--palette",
        "divergente", "-o", str(svg), home=moselle,
    )  # fmt: skip
    assert code == 0, out
    text = svg.read_text(encoding="utf-8")
    assert ">Metz<" in text and ">Thionville<" in text and " km<" in text
    assert "#ffffbf" in text.lower()  # the class of the reference: pale yellow, not white
    raw = tmp_path / "brut.png"
    code, out = run("map", "filosofi.MED", "--within", MOSELLE, "-o", str(raw), home=moselle)
    assert code == 0 and raw.stat().st_size > 10_000, out
    code, out = run(
        "map", "filosofi.MED", "--within", MOSELLE, "--audience", "public", "-o", str(raw),
        home=moselle,
    )  # fmt: skip
    assert code != 0 and "variable brute" in out


@needs_data
def test_the_territory_page_says_how_to_get_iris_contours_instead_of_a_grey_box(
    moselle: Path,
) -> None:
    from fastapi.testclient import TestClient

    from observatoire.web import create_app

    with Observatory.open(moselle) as obs, TestClient(create_app(obs)) as client:
        page = client.get(f"/territoires/commune/{METZ}").text
        dep = client.get(f"/territoires/departement/{MOSELLE}").text
    assert "IRIS de Metz" in page and "contours ne sont pas encore importés" in page
    assert "import-iris" not in page  # the command is for the analyst and the administrator
    assert 'id="map"' not in page and "leaflet.js" not in page
    assert "Communes de la Moselle" in dep and 'id="map"' in dep


@needs_data
def test_a_rate_whose_parts_share_no_period_says_why_it_has_no_value(
    moselle: Path, tmp_path: Path
) -> None:
    """Births of 2020 (a test file: one synthetic count per commune of the Moselle) over the
    census populations of 2013 and 2018: the birth rate is not computed, and its page says
    why to the analyst (not to the public, for whom imports are internal)."""
    from observatoire.secret.policy import ANALYST
    from observatoire.web.content import indicator_view

    home = tmp_path / "obs"
    shutil.copytree(moselle, home, symlinks=True)
    with Observatory.open(home) as obs:
        codes = obs.geography.territories(level="commune", within=MOSELLE).code.tolist()
    births = tmp_path / "naissances_2020.csv"
    births.write_text(
        "Code commune;Naissances\n" + "".join(f"{c};{7 + i % 5}\n" for i, c in enumerate(codes)),
        encoding="utf-8",
    )
    descriptor = tmp_path / "naissances.toml"
    descriptor.write_text(
        '[dataset]\nid = "etatcivil.naissances"\nproducer = "Test"\n'
        '[geography]\nlevel = "commune"\ncode_column = "Code commune"\n'
        '[period]\nvalue = "2020"\n'
        '[[variables]]\ncolumn = "Naissances"\ncode = "NAISD"\nkind = "count"\n',
        encoding="utf-8",
    )
    code, out = run("import", str(births), "--descriptor", str(descriptor), home=home)
    assert code == 0, out
    code, out = run("compute", home=home)
    assert code == 0, out
    with Observatory.open(home) as obs:
        analyst = indicator_view(obs, "taux_natalite", reader=ANALYST)
        public = indicator_view(obs, "taux_natalite", reader=PUBLIC)
    for view in (analyst, public):  # every commune listed, not one value
        assert view["values"] and all(r["value"] is None for r in view["values"])
    said = analyst["reason"]
    assert "etatcivil.NAISD" in said and "2020" in said and "2018" in said
    assert "aucun n'est commun" in said and "reason" not in public
