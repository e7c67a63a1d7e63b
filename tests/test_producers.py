"""What producers publish today, read with zero configuration (issue 23): INSEE's Melodi exports
(labelled: territories by name; coded), the ANCT/ONPV files by quartier prioritaire (QPV) and
the QPV level they build, France Travail's long files through a vocabulary, and the metadata
read from the files. Every figure is compared with pandas over the real file."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from observatoire.errors import InvalidValueError
from observatoire.observatory import Observatory
from observatoire.text import fold
from observatoire.web.app import create_app

from .conftest import DATA, run

MELODI = DATA / "melodi" / "POP_MENAGES.csv"
QPV = DATA / "qpv" / "data_DEMO_2020_V1_QP.csv"
COG_COMMUNES = DATA / "cog" / "2026" / "v_commune_2026.csv"
PARIS_SACLAY = "200056232"


def _melodi() -> pd.DataFrame:
    frame = pd.read_csv(MELODI, sep=";", dtype=str, keep_default_na=False)
    frame.columns = [c.strip() for c in frame.columns]
    frame["value"] = frame["Valeur"].str.replace(",", ".").astype(float)
    return frame


def _codes_91() -> dict[str, str]:
    """Commune name → code in the Essonne, from INSEE's COG (not from the observatory)."""
    cog = pd.read_csv(COG_COMMUNES, dtype=str)
    cog = cog[(cog.TYPECOM == "COM") & (cog.DEP == "91")]
    return dict(zip(cog.LIBELLE, cog.COM, strict=True))


def _wanted(frame: pd.DataFrame, kind: str, household: str = "Total") -> pd.DataFrame:
    """The rows of the Melodi file giving a total: ``kind`` (Logements, Population des
    ménages), every other dimension at « Total » but the household type."""
    rows = frame[
        (frame["Mesure du recensement"] == kind)
        & (frame["Lien à la personne de référence du ménage"] == "Total")
        & (frame["Profession et catégorie socioprofessionnelle (PCS)"] == "Total")
        & (frame["Type de ménage et nombre d'enfants"] == household)
    ]
    return rows


def test_melodi_labelled_export_feeds_households(home: Path) -> None:
    """The labelled Melodi export (names, « Niveau Géo ») imports with zero configuration:
    every name becomes the right code (Saint-Aubin is the Essonne's, one of ten in France),
    and the households and one-person households of each commune, of the EPCI and of each
    census year are the file's own figures; the catalogue's share is their ratio."""
    with Observatory.open(home, write=True) as obs:
        report = obs.import_file(MELODI)
        obs.compute()
        households = pd.concat([obs.values("rp.C_MEN", level=lv) for lv in ("commune", "epci")])
        alone = pd.concat([obs.values("rp.C_MENPSEUL", level=lv) for lv in ("commune", "epci")])
        share = obs.indicator("part_menages_une_personne", level="commune")
        epci = obs.indicator("part_menages_une_personne", level="epci")
    assert report.connector == "insee.melodi" and report.rows_rejected == 0
    assert report.rows_read == 2426 and report.periods == ["2011", "2016", "2022"]
    frame = _melodi()
    codes = _codes_91() | {"Communauté d'agglomération Communauté Paris-Saclay": PARIS_SACLAY}
    frame["code"] = frame["Géographie"].map(codes)
    assert frame.code.notna().all()
    expected = _wanted(frame, "Logements").set_index(["code", "Période"]).value
    got = households.set_index(["code", "period"]).value
    assert len(expected) == 28 * 3 and set(got.index) == set(expected.index)
    assert np.allclose(got.loc[expected.index], expected)
    assert got.loc[("91538", "2022")] == pytest.approx(expected.loc[("91538", "2022")])
    single = _wanted(frame, "Logements", "Ménage à une personne").set_index(["code", "Période"])
    assert np.allclose(alone.set_index(["code", "period"]).value.loc[single.index], single.value)
    ratio = (100 * single.value / expected.loc[single.index]).rename("ratio")
    shares = pd.concat([share, epci]).set_index(["code", "period"]).value
    assert np.allclose(shares.loc[ratio.index], ratio)


def test_melodi_coded_export_with_statuses(home: Path, tmp_path: Path) -> None:
    """The coded layout (``GEO`` = 2022-COM-91477, ``TIME_PERIOD``, ``OBS_VALUE``,
    ``OBS_STATUS``), built from the real labelled file: the same values, and a confidential
    observation (``C``) is secret even when a number is printed."""
    frame = _melodi()
    codes = _codes_91()
    kind = np.where(frame["Niveau Géo"] == "Commune", "COM", "EPCI")
    code = frame["Géographie"].map(codes).fillna(PARIS_SACLAY)
    coded = pd.DataFrame(
        {
            "GEO": frame["Période"] + "-" + kind + "-" + code,
            "FREQ": "A",
            "RP_MEASURE": frame["Mesure du recensement"].map(
                {"Logements": "DWELLINGS", "Population des ménages": "POP_MEN"}
            ),
            "OCS": "DWELL_MAIN",
            "LPRM": np.where(
                frame["Lien à la personne de référence du ménage"] == "Total", "_T", "1"
            ),
            "TMEN": frame["Type de ménage et nombre d'enfants"].map(
                lambda t: "_T" if t == "Total" else fold(t).replace(" ", "_")
            ),
            "CS1": np.where(
                frame["Profession et catégorie socioprofessionnelle (PCS)"] == "Total",
                "_T",
                frame["Profession et catégorie socioprofessionnelle (PCS)"],
            ),
            "TIME_PERIOD": frame["Période"],
            "OBS_VALUE": frame["value"].round(6).astype(str),
            "OBS_STATUS": "A",
        }
    )
    confidential = (code == "91538") & (frame["Période"] == "2011")
    coded.loc[confidential, "OBS_STATUS"] = "C"
    path = tmp_path / "DS_RP_MENAGES_2022.csv"
    coded.to_csv(path, sep=";", index=False)
    with Observatory.open(home, write=True) as obs:
        report = obs.import_file(path)
        households = pd.concat(
            [obs.values("rp.C_MEN", level=lv) for lv in ("commune", "epci")]
        ).set_index(["code", "period"])
    assert report.connector == "insee.melodi" and report.rows_rejected == 0
    assert report.statuses == {
        "ok": 2426 - int(confidential.sum()),
        "secret": int(confidential.sum()),
    }
    frame["code"] = code
    expected = _wanted(frame, "Logements").set_index(["code", "Période"]).value
    ok = households[households.status == "ok"]
    assert len(ok) == 28 * 3 - 1 and np.allclose(ok.value, expected.loc[ok.index])
    assert households.loc[("91538", "2011"), "status"] == "secret"
    assert pd.isna(households.loc[("91538", "2011"), "value"])


def test_melodi_names_matching_nothing_are_refused(home: Path, tmp_path: Path) -> None:
    """A name matching nothing is rejected with its line; a commune name found in several
    départements, none of them the file's (Bobigny puts it in the 93), is rejected with the
    candidates; a file none of whose names match is refused, and nothing is written."""
    header = '"Géographie";"Niveau Géo";"Mesure";Période;Valeur\n'
    path = tmp_path / "MELODI_NOMS.csv"
    path.write_text(
        header + '"Atlantis";"Commune";"Logements";2022;12\n'
        '"Saint-Aubin";"Commune";"Logements";2022;100\n',
        encoding="utf-8",
    )
    with Observatory.open(home, write=True) as obs, pytest.raises(InvalidValueError) as caught:
        obs.import_file(path)
    assert caught.value.line == 2 and caught.value.column == "Géographie"
    assert "nom inconnu" in str(caught.value)
    path.write_text(
        header + '"Saint-Aubin";"Commune";"Logements";2022;100\n'
        '"Bobigny";"Commune";"Logements";2022;12\n',
        encoding="utf-8",
    )
    code, out = run("import", "--dry-run", str(path), home=home)
    assert code == 3 and "ligne 2, colonne « Géographie » : Saint-Aubin" in out
    assert "nom hors du territoire du fichier : Saint-Aubin (02671)" in out  # Bobigny: the 93
    with Observatory.open(home) as obs:
        assert obs.warehouse.count("import_batch") == 0 and obs.warehouse.count("series") == 0
    # inside its EPCI, the same name is the Essonne's
    path.write_text(
        header + '"CA Communauté Paris-Saclay";"Etablissement public de coopération '
        'intercommunal";"Logements";2022;10\n"Saint-Aubin";"Commune";"Logements";2022;100\n',
        encoding="utf-8",
    )
    with Observatory.open(home, write=True) as obs:
        report = obs.import_file(path)
        values = pd.concat(
            [obs.values("melodi.MELODI_NOMS", level=lv, dims="Mesure=Logements")
             for lv in ("commune", "epci")]
        )  # fmt: skip
    assert report.rows_rejected == 0
    assert sorted(values.code) == [PARIS_SACLAY, "91538"]


def _qpv() -> pd.DataFrame:
    return pd.read_csv(QPV, sep=";", dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def qpv_home(built_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The built home with the real QPV file imported and computed, Seine-Saint-Denis as the
    observatory's territory. Read-only."""
    home = tmp_path_factory.mktemp("qpv") / "obs"
    shutil.copytree(built_home, home)
    settings = home / "observatoire.toml"
    text = settings.read_text(encoding="utf-8")
    settings.write_text(text.replace('territory = ""', 'territory = "departement:93"'), "utf-8")
    code, out = run("import", str(QPV), home=home)
    assert code == 0, out
    code, out = run("compute", home=home)
    assert code == 0, out
    return home


def test_qpv_file_builds_the_qpv_level(qpv_home: Path) -> None:
    """The ANCT file by QPV imports with zero configuration and builds the level: 1 400 QPV of
    the 2015 generation, each in its département, attached to the communes of its label found
    by name there (Bobigny and Drancy for QP093005; Marseille's arrondissements go to
    Marseille); one ensemble of QPV per département."""
    frame = _qpv()
    with Observatory.open(qpv_home) as obs:
        qpv = obs.geography.territories(level="qpv")
        card = obs.geography.card("qpv", "QP093005")
        ensembles = obs.geography.territories(level="ensemble_qpv")
        marseille = obs.geography.card("qpv", "QP013032")
        counts = obs.geography.level_counts()
    assert len(qpv) == len(frame) == 1400 and counts["qpv"] == 1400
    assert set(qpv.code) == set(frame.CODGEO)
    departements = frame.CODGEO.str[2:5].str.lstrip("0")
    assert len(ensembles) == departements.nunique()
    parents = {(p["level"], p["code"]) for p in card["parents"]}
    assert {("commune", "93008"), ("commune", "93029"), ("departement", "93"),
            ("ensemble_qpv", "QPV2015-93"), ("region", "11")} <= parents  # fmt: skip
    assert card["name"] == "QP093005 – Bobigny, Drancy"
    assert card["in"] == "dans le quartier QP093005 – Bobigny, Drancy"
    assert ("commune", "13055") in {(p["level"], p["code"]) for p in marseille["parents"]}


def test_qpv_values_and_their_ensemble(qpv_home: Path) -> None:
    """Each QPV's CAF counts are the file's; the ensemble of the Seine-Saint-Denis QPV adds
    them up (ok only when every QPV has its value); its rates are computed from those sums,
    never averaged; published rates stay where published; no QPV figure goes into a commune."""
    frame = _qpv().set_index("CODGEO")
    with Observatory.open(qpv_home) as obs:
        own = obs.indicator("allocataires_caf", level="qpv").set_index("code")
        ensemble = obs.indicator("allocataires_caf", level="ensemble_qpv").set_index("code")
        single = obs.indicator("part_allocataires_monoparents", level="ensemble_qpv")
        women = obs.indicator("qpv_part_femmes", level="ensemble_qpv")
        women_qpv = obs.indicator("qpv_part_femmes", level="qpv").set_index("code")
        communes = obs.indicator("allocataires_caf", level="commune")
    known = frame[frame.A != ""]
    assert np.allclose(own.loc[known.index, "value"], known.A.astype(float))
    assert (own.loc[frame.index[frame.A == ""], "status"] != "ok").all()
    in93 = frame[frame.index.str.startswith("QP093")]
    row = ensemble.loc["QPV2015-93"]
    assert (in93.A != "").all() and row.status == "ok"
    assert row.value == in93.A.astype(float).sum()
    single93 = single.set_index("code").loc["QPV2015-93", "value"]
    assert single93 == pytest.approx(100 * in93.AM.astype(float).sum() / in93.A.astype(float).sum())
    assert women.empty or (women.status != "ok").all()
    rates = frame[frame.TX_F != ""].TX_F.str.replace(",", ".").astype(float)
    assert np.allclose(women_qpv.loc[rates.index, "value"], rates)
    assert len(communes) and (communes.status != "ok").all() and communes.value.isna().all()


def test_qpv_page_compares_with_its_communes_and_the_ensemble(qpv_home: Path) -> None:
    """A QPV's page (extranet and API) compares it with its communes, the ensemble of the
    département's QPV and the département; the CLI finds it by code."""
    with Observatory.open(qpv_home) as obs, TestClient(create_app(obs)) as client:
        page = client.get("/territoires/qpv/QP093005")
        data = client.get("/territoires/qpv/QP093005.json")
        api = client.get("/api/v1/territories/qpv/QP093005/indicators")
        listing = client.get("/api/v1/territories", params={"level": "qpv", "within": "93"})
    assert page.status_code == 200, page.text
    assert "Bobigny" in page.text and "Ensemble des QPV 2015 de la Seine-Saint-Denis" in page.text
    assert data.status_code == 200
    body = data.json()
    names = json.dumps(body, ensure_ascii=False)
    assert "Drancy" in names and "Ensemble des QPV 2015" in names
    assert api.status_code == 200 and any(
        row["indicator"] == "allocataires_caf" and row["value"] == 1359
        for row in api.json()["rows"]
    )
    assert listing.status_code == 200
    codes = {t["code"] for t in listing.json()["rows"]}
    assert "QP093005" in codes and len(codes) == 63
    code, out = run("profile", "qpv:QP093005", home=qpv_home)
    assert code == 0 and "allocataires_caf" in out and "1359" in out


def test_qpv_file_variants(home: Path, tmp_path: Path) -> None:
    """An income file's « Ensemble » line is no quartier: left out with a note, not rejected;
    trailing empty columns are ignored; a code of an unknown generation is rejected with what
    was expected."""
    lines = QPV.read_text(encoding="utf-8").splitlines()
    header, rows = lines[0], lines[1:31]
    bad = "QX093005" + rows[0][len("QP001001") :]
    text = "\n".join([header + ";;", *(r + ";;" for r in rows), bad + ";;",
                      "Ensemble" + rows[1][len("QP001002"):] + ";;"]) + "\n"  # fmt: skip
    path = tmp_path / "data_REVN_2020_QP.csv"
    path.write_text(text, encoding="utf-8")
    with Observatory.open(home, write=True) as obs:
        report = obs.import_file(path)
    assert report.connector == "anct.qpv" and report.dataset == "anct.qpv.revn"
    assert report.rows_read == 31 and report.rows_rejected == 1
    assert any("Ensemble" in note for note in report.notes)
    (rejection,) = report.examples
    assert rejection.line == 32 and rejection.column == "CODGEO"
    assert "génération inconnue" in rejection.reason and "QP093005" in rejection.reason


def test_long_jobseekers_file_feeds_the_catalogue(home93: Path, tmp_path: Path) -> None:
    """France Travail's long file (quarter × commune × category × sex × age band, with the
    département's code and name as columns): the département columns are geography, not
    dimensions; the vocabulary derives category A and A, B, C totals (the sum of sexes and
    age bands, secret when a part is) and the catalogue's job-seekers indicators are fed."""
    from .test_imports import _jobseekers_file

    with Observatory.open(home93) as obs:
        communes = obs.geography.territories(level="commune", within="93")
    plain = tmp_path / "plain.csv"
    _jobseekers_file(plain, list(zip(communes.code, communes.name, strict=True)))
    lines = plain.read_text(encoding="utf-8").splitlines()
    path = tmp_path / "DEFM_communes_2024.csv"
    path.write_text(
        "\n".join([lines[0] + ";Code département;Département",
                   *(line + ";93;Seine-Saint-Denis" for line in lines[1:])]) + "\n",
        encoding="utf-8",
    )  # fmt: skip
    with Observatory.open(home93, write=True) as obs:
        report = obs.import_file(path)
        obs.compute()
        seekers = obs.indicator("demandeurs_emploi_a", level="commune").set_index(
            ["code", "period"]
        )
        women = obs.indicator("part_femmes_demandeurs_a", level="commune")
        stored = obs.values("francetravail.NOMBRE", period="2024-T4")
        listed = obs.imports().set_index("id").loc[report.batch]
    assert listed.periods == "2024-T3 2024-T4" and listed.edition == "2024-T4"
    assert report.rows_rejected == 0 and any("francetravail.DEFM_A" in n for n in report.notes)
    names = {part.split("=")[0] for dims in stored.dims for part in dims.split("|")}
    assert names == {"Catégorie", "Sexe", "Tranche d'âge"}
    frame = pd.read_csv(path, sep=";", dtype=str, keep_default_na=False)
    frame = frame[frame["Catégorie"] == "A"]
    for (code, quarter), group in frame.groupby(["Code commune", "Période"]):
        row = seekers.loc[(code, quarter)]
        if (group.Nombre != "").all():
            assert row.status == "ok" and row.value == group.Nombre.astype(float).sum()
        else:
            assert row.status != "ok" and pd.isna(row.value)
    assert len(seekers) == 2 * len(communes) and (women.value.dropna() <= 100).all()


def test_metadata_read_from_the_file(home93: Path, tmp_path: Path) -> None:
    """An export whose source line names the ANCT is the ANCT's; a count « (en nombre) » adds
    up; a long file's import shows its periods; an edition of 2014 is late in 2026."""
    with Observatory.open(home93) as obs:
        communes = obs.geography.territories(level="commune", within="93").code.tolist()[:5]
    path = tmp_path / "export_2014.csv"
    path.write_text(
        "Observatoire des territoires\n\nCode;Libellé;Logements sociaux (en nombre) 2014\n"
        + "".join(f"{c};Commune {c};{100 + i}\n" for i, c in enumerate(communes))
        + "\nSource : ANCT, d'après RPLS\n",
        encoding="utf-8",
    )
    with Observatory.open(home93, write=True) as obs:
        report = obs.import_file(path)
        variables = obs.variables(source="statloc").set_index("id")
        datasets = obs.datasets().set_index("dataset")
    assert report.producer == "ANCT"
    variable = "statloc.LOGEMENTS_SOCIAUX_EN_NOMBRE"
    assert bool(variables.loc[variable, "additive"]) is True
    row = datasets.loc[report.dataset]
    assert row.producer == "ANCT" and row.state == "en retard" and row.due < "2026-01-01"


def test_iris_of_merged_communes_are_converted(home: Path, tmp_path: Path) -> None:
    """A file by IRIS of 2016 whose non-IRIS communes merged since into a commune that is not
    cut into IRIS either (Brénaz, Chavornay, Lochieu and Virieu-le-Petit into
    Arvière-en-Valromey, 2019): their pseudo-IRIS ``XXXXX0000`` are added into the commune
    nouvelle's, counts summed, the median « nd ». Built from Filosofi 2016 by commune, which
    omits Lochieu (too small): the sum is partial and says so; with a (synthetic) Lochieu line
    it is whole."""
    filo = pd.read_csv(DATA / "filosofi" / "FILO2016_DISP_COM.csv", sep=";", dtype=str,
                       encoding="utf-8-sig").set_index("CODGEO")  # fmt: skip
    assert "01218" not in filo.index
    rows = filo.loc[["01059", "01097", "01453"], ["NBMEN16", "NBPERS16", "Q216"]]
    path = tmp_path / "BASE_TD_FILO_IRIS_2016.csv"
    lines = ["IRIS;NBMEN16;NBPERS16;Q216"] + [
        f"{code}0000;{r.NBMEN16};{r.NBPERS16};{r.Q216}" for code, r in rows.iterrows()
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    number = rows.NBMEN16.str.replace(",", ".").astype(float)
    with Observatory.open(home, write=True) as obs:
        report = obs.import_file(path)
        households = obs.values("filosofi.NBMEN", level="iris").set_index("code")
        median = obs.values("filosofi.Q2", level="iris").set_index("code")
    assert report.rows_rejected == 0 and report.converted_codes == 2
    row = households.loc["014530000"]
    assert row.status == "partial" and row.value == pytest.approx(number.sum())
    assert "012180000" in row.note and "010590000" not in households.index
    assert median.loc["014530000", "status"] == "nd"
    path.write_text("\n".join([*lines, "012180000;12;25;"]) + "\n", encoding="utf-8")
    with Observatory.open(home, write=True) as obs:
        obs.import_file(path)
        whole = obs.values("filosofi.NBMEN", level="iris").set_index("code").loc["014530000"]
    assert whole.status == "ok" and whole.value == pytest.approx(number.sum() + 12)


def test_qpv_list_with_contours(home: Path, tmp_path: Path) -> None:
    """The ANCT's list with contours (a GeoPackage in Lambert-93, built here from the real IRIS
    contours of the 93): names, communes by INSEE code, generations 2015 and 2024, contours
    and areas; a QPV file imported afterwards keeps the list's names."""
    import geopandas as gpd

    iris = gpd.read_file(DATA / "iris" / "iris_93_2022.gpkg")
    bobigny = iris[iris.INSEE_COM.isin(["93008", "93029"])].head(4)
    aubervilliers = iris[iris.INSEE_COM == "93001"].head(3)
    shapes = gpd.GeoDataFrame(
        {
            "code_qp": ["QP093005", "QN09301M"],
            "lib_qp": ["Quartier d'essai de Bobigny", "Quartier d'essai d'Aubervilliers"],
            "insee_com": ["93008, 93029", "93001"],
        },
        geometry=[bobigny.union_all(), aubervilliers.union_all()],
        crs=iris.crs,
    )
    path = tmp_path / "qpv_contours.gpkg"
    shapes.to_file(path)
    code, out = run("geo", "import-qpv", str(path), home=home)
    assert code == 0, out
    assert "2 QPV importés" in out and "2 avec contour" in out
    with Observatory.open(home, write=True) as obs:
        listed = obs.geography.territories(level="qpv").set_index("code")
        ensembles = set(obs.geography.territories(level="ensemble_qpv").code)
        card = obs.geography.card("qpv", "QN09301M")
        contours = obs.geography.geometries(level="qpv")
        obs.import_file(QPV)
        after = obs.geography.territories(level="qpv").set_index("code")
    assert listed.loc["QP093005", "name"] == "Quartier d'essai de Bobigny"
    assert ensembles == {"QPV2015-93", "QPV2024-93"}
    assert ("commune", "93001") in {(p["level"], p["code"]) for p in card["parents"]}
    assert len(contours) == 2
    expected = bobigny.union_all().area / 1e6
    assert listed.loc["QP093005", "area_km2"] == pytest.approx(expected, rel=0.01)
    assert after.loc["QP093005", "name"] == "Quartier d'essai de Bobigny" and len(after) == 1401


def _long_file(path: Path, rows93: list[tuple[str, str]], extra: str = "",
               sex_column: str = "Sexe") -> pd.DataFrame:  # fmt: skip
    """A France Travail long file on real communes (synthetic counts), with a rate column
    that must never be summed, and ``extra`` as a constant column when given."""
    rng = np.random.default_rng(23)
    rows = []
    for quarter in ("2024-T3", "2024-T4"):
        for code, name in rows93:
            for category in ("A", "B", "C"):
                for sex in ("Femmes", "Hommes"):
                    rows.append({"Code commune": code, "Libellé commune": name,
                                 "Période": quarter, "Catégorie": category,
                                 "Libellé catégorie": f"Catégorie {category} (libellé)",
                                 sex_column: sex,
                                 "Nombre": int(rng.integers(5, 900)),
                                 "Evolution sur un an (%)": round(rng.normal(), 1)})  # fmt: skip
    frame = pd.DataFrame(rows)
    if extra:
        frame[extra] = "Un an ou plus"
    frame.to_csv(path, sep=";", index=False, decimal=",")
    return frame


def test_vocabulary_reads_counts_only_and_whole_files(home93: Path, tmp_path: Path) -> None:
    """A rate column beside the counts is never summed into a total; A, B and C add up to
    A, B, C when the file has no ABC row; a dimension named « Code sexe » stays a dimension;
    a file of one part only (every row « un an ou plus ») derives nothing, and says why."""
    with Observatory.open(home93) as obs:
        communes = obs.geography.territories(level="commune", within="93").head(6)
    pairs = list(zip(communes.code, communes.name, strict=True))
    plain = _long_file(tmp_path / "DEFM_2024.csv", pairs, sex_column="Code sexe")
    part = _long_file(tmp_path / "DEFM_anciennete_2024.csv", pairs, extra="Ancienneté")
    with Observatory.open(home93, write=True) as obs:
        report = obs.import_file(tmp_path / "DEFM_2024.csv")
        total = obs.values("francetravail.DEFM_ABC", period="2024-T4").set_index("code")
        only_a = obs.values("francetravail.DEFM_A", period="2024-T4").set_index("code")
        women = obs.values("francetravail.DEFM_A_F", period="2024-T4").set_index("code")
        other = obs.import_file(tmp_path / "DEFM_anciennete_2024.csv")
    quarter = plain[plain["Période"] == "2024-T4"]
    expected = quarter.groupby("Code commune").Nombre.sum()
    assert report.rows_rejected == 0
    assert np.allclose(total.loc[expected.index, "value"], expected)
    a = quarter[quarter["Catégorie"] == "A"]
    assert np.allclose(only_a.loc[expected.index, "value"], a.groupby("Code commune").Nombre.sum())
    female = a[a["Code sexe"] == "Femmes"].set_index("Code commune").Nombre
    assert np.allclose(women.loc[female.index, "value"], female)
    assert not any("DEFM" in n and "dérivées" in n for n in other.notes)
    assert any("une partie seulement" in n for n in other.notes) and len(part)
    rate = tmp_path / "DEFM_evolution_2024.csv"
    plain.rename(columns={"Nombre": "Effectif", "Evolution sur un an (%)": "DEFM - évolution "
                          "sur un an (%)"})[["Code commune", "Période", "Catégorie", "Code sexe",
                                            "DEFM - évolution sur un an (%)"]].to_csv(
        rate, sep=";", index=False, decimal=",")  # fmt: skip
    with Observatory.open(home93, write=True) as obs:
        evolution = obs.import_file(rate)
    assert not any("dérivées" in n for n in evolution.notes)  # a change is never summed


def test_melodi_former_names(home: Path, tmp_path: Path) -> None:
    """In an export of the Grand Paris Sud agglomeration, « Évry » is the Essonne's former
    commune, not Évry in the Yonne: a part of Évry-Courcouronnes that kept its code, so its
    value is refused with the reason; « Courcouronnes », merged into it, is converted (its
    value alone is a partial figure of the current commune, never its whole)."""
    path = tmp_path / "MELODI_EVRY.csv"
    path.write_text(
        '"Géographie";"Niveau Géo";"Mesure du recensement";Période;Valeur\n'
        '"CA Grand Paris Sud Seine Essonne Sénart";"Etablissement public de coopération '
        'intercommunal";"Logements";2016;1000\n"Évry";"Commune";"Logements";2016;50\n'
        '"Courcouronnes";"Commune";"Logements";2016;30\n'
        '"Corbeil-Essonnes";"Commune";"Logements";2016;70\n',
        encoding="utf-8",
    )
    with Observatory.open(home, write=True) as obs:
        report = obs.import_file(path)
        values = obs.values("melodi.MELODI_EVRY", dims="Mesure du recensement=Logements")
    assert report.rows_rejected == 1 and report.examples[0].line == 3
    assert "fusionnée depuis dans 91228" in report.examples[0].reason
    rows = values.set_index("code")
    assert "89162" not in rows.index and rows.loc["91174", "value"] == 70
    assert rows.loc["91228", "status"] != "ok"
    # without the EPCI: Corbeil-Essonnes (a name no other commune bears, now or before) puts
    # the file in the Essonne, and « Évry » is still not the Yonne's
    lines = path.read_text(encoding="utf-8").splitlines()
    bare = tmp_path / "MELODI_EVRY_SEUL.csv"
    bare.write_text("\n".join([lines[0], *lines[2:]]) + "\n", encoding="utf-8")
    with Observatory.open(home, write=True) as obs:
        again = obs.import_file(bare)
        alone = obs.values("melodi.MELODI_EVRY_SEUL", dims="Mesure du recensement=Logements")
    assert "89162" not in set(alone.code) and again.rows_rejected == 1


def test_iris_conversion_with_a_part_missing(home: Path, tmp_path: Path) -> None:
    """When a part of the commune nouvelle (another commune merged into it the same day:
    Chavornay, Lochieu) is missing from the file, the converted IRIS is partial, never the
    sum of the parts present marked ok."""
    filo = pd.read_csv(DATA / "filosofi" / "FILO2016_DISP_COM.csv", sep=";", dtype=str,
                       encoding="utf-8-sig").set_index("CODGEO")  # fmt: skip
    rows = filo.loc[["01059", "01453"], ["NBMEN16", "NBPERS16", "NBUC16"]]
    path = tmp_path / "BASE_TD_FILO_IRIS_2016.csv"
    lines = ["IRIS;NBMEN16;NBPERS16;NBUC16"] + [
        f"{code}0000;{r.NBMEN16};{r.NBPERS16};{r.NBUC16}" for code, r in rows.iterrows()
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with Observatory.open(home, write=True) as obs:
        obs.import_file(path)
        households = obs.values("filosofi.NBMEN", level="iris").set_index("code")
    assert households.loc["014530000", "status"] == "partial"


def test_qpv_file_read_in_chunks_and_income_by_qpv(home: Path, tmp_path: Path) -> None:
    """QPV met in any chunk of a file are added (not only those of the first); an income file
    by QPV with INSEE's year-suffixed columns (REVN: DISP_MED19…) is the QPV connector's, its
    median the catalogue's, of 2019."""
    frame = _qpv().head(40)
    path = tmp_path / "data_REVN_2019_QP.csv"
    revn = pd.DataFrame({"CODGEO": frame.CODGEO, "LIB_COM": frame.LIB_COM,
                         "DISP_MED19": [str(12000 + 10 * i) for i in range(40)],
                         "DISP_TP6019": "40,1"})  # fmt: skip
    revn.to_csv(path, sep=";", index=False)
    with Observatory.open(home, write=True) as obs:
        chunked = obs.import_file(QPV, chunk_rows=300)
        income = obs.import_file(path)
        obs.compute(indicators=["niveau_vie_median"])
        median = obs.indicator("niveau_vie_median", level="qpv").set_index("code")
    assert chunked.rows_rejected == 0 and chunked.rows_imported == 1400
    assert income.connector == "anct.qpv" and income.periods == ["2019"]
    assert median.loc["QP001001", "value"] == 12000 and median.loc["QP001001", "period"] == "2019"


def test_a_partners_file_does_not_extend_the_referential(home: Path, tmp_path: Path) -> None:
    """The referential is the observatory's: a partner's file by QPV adds no quartier unless
    an analyst accepts it; unknown QPV are refused with who adds them."""
    lines = QPV.read_text(encoding="utf-8").splitlines()[:21]
    path = tmp_path / "data_DEMO_2020_QP.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with Observatory.open(home, write=True) as obs:
        obs.partners.save("pa", "Partenaire A", "CAF")
        with pytest.raises(InvalidValueError) as caught:
            obs.import_file(path, partner="pa", dry_run=True)
        assert "QPV inconnu du référentiel" in str(caught.value)
        assert obs.geography.level_counts().get("qpv", 0) == 0
        accepted = obs.import_file(path, partner="pa", accepted=True)
        assert accepted.rows_imported == 20 and obs.geography.level_counts()["qpv"] == 20
