"""The indicator catalogue: shipped declarations, validation, search, and the real files'
variables it is built on."""

from __future__ import annotations

from pathlib import Path

import pytest

from observatoire.catalog.indicators import THEMES, Aggregation, Catalogue, indicator_from_dict
from observatoire.errors import InputError, UnknownNameError
from observatoire.ingest.indicators import load_catalogue, read_indicator_file
from observatoire.observatory import Observatory

from .conftest import DATA, needs_data, run


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue()


def test_shipped_catalogue(catalogue: Catalogue) -> None:
    assert len(catalogue) >= 150
    themes = {i.theme for i in catalogue.indicators.values()}
    assert themes <= set(THEMES) and len(themes) >= 8
    for indicator in catalogue.indicators.values():
        assert indicator.label and indicator.definition and indicator.sources, indicator.id
    # Filosofi's median has four names across files: one indicator.
    median = catalogue.get("niveau_vie_median")
    assert set(median.formula.variables) >= {"filosofi.MED", "filosofi.DISP_Q2"}
    assert median.aggregation is Aggregation.NOT_AGGREGABLE
    assert catalogue.get("part_allocataires_rsa").aggregation is Aggregation.RATIO
    assert catalogue.get("allocataires_rsa").aggregation is Aggregation.SUM


def test_search_is_accent_insensitive_and_ranks_labels_first(catalogue: Catalogue) -> None:
    accented = [i.id for i in catalogue.search("pauvreté")]
    assert accented == [i.id for i in catalogue.search("PAUVRETE")]
    assert accented[0] == "taux_pauvrete" and len(accented) >= 9
    assert next(i.id for i in catalogue.search("familles monoparentales")) == (
        "part_familles_monoparentales"
    )
    assert "part_locataires_hlm" in [i.id for i in catalogue.search("logement social")]
    assert catalogue.search("zzz introuvable") == []
    with pytest.raises(UnknownNameError, match="taux_pauvrete"):
        catalogue.get("taux_pauvret")


@pytest.mark.parametrize(
    ("change", "message", "field"),
    [
        ({"theme": "culture"}, "culture", "theme"),
        ({"aggregation": "sum"}, "ratio", "aggregation"),
        ({"formula": {"numerator": "caf.ARSAS"}}, "denominator", "formula"),
        ({"formula": {"variable": "ARSAS"}}, "ARSAS", "formula.variable"),
        ({"polarity": "up"}, "up", "polarity"),
        ({"id": "Taux RSA"}, "identifiant", None),
    ],
)
def test_declaration_errors_name_the_field(change: dict, message: str, field: str | None) -> None:
    entry = {
        "id": "taux_rsa",
        "label": "Part du RSA",
        "formula": {"numerator": "caf.ARSAS", "denominator": "caf.A", "multiplier": 100},
    } | change
    with pytest.raises(InputError, match=message) as info:
        indicator_from_dict(entry, theme="social", origin="mes_indicateurs.yaml")
    assert info.value.path == "mes_indicateurs.yaml"
    if field:
        assert f"taux_rsa.{field}" in str(info.value)


def test_references_between_indicators(tmp_path: Path) -> None:
    looping = """
theme: cadrage
indicators:
  - {id: a, label: A, formula: {difference: [b, c]}}
  - {id: b, label: B, formula: {quotient: [a, c]}}
  - {id: c, label: C, formula: {variable: rp.POP}, aggregation: sum}
"""
    catalogue = Catalogue()
    for indicator in read_indicator_file(looping, "boucle.yaml"):
        catalogue.add(indicator)
    with pytest.raises(InputError, match="boucle"):
        catalogue.check()
    with pytest.raises(InputError, match=r"ligne 2|illisible") as info:
        read_indicator_file("theme: cadrage\nindicators: [\n", "casse.yaml")
    assert info.value.path == "casse.yaml"


def test_observatory_own_indicators_and_cli(tmp_path: Path) -> None:
    home = tmp_path / "obs"
    (home / "indicateurs").mkdir(parents=True)
    (home / "indicateurs" / "local.yaml").write_text(
        """
theme: social
indicators:
  - id: part_allocataires_rsa
    label: Part des allocataires au RSA (définition locale)
    unit: "%"
    formula: {numerator: caf.ARSAS, denominator: caf.A, multiplier: 100}
    definition: Redéfinie par l'observatoire.
    sources: [CNAF]
  - id: beneficiaires_csi
    label: Bénéficiaires de la complémentaire santé solidaire
    theme: sante
    unit: personnes
    formula: {variable: cpam.C2S}
    aggregation: sum
    definition: Données de la CPAM.
    sources: [CPAM]
    keywords: [C2S, CMU]
""",
        encoding="utf-8",
    )
    catalogue = load_catalogue(home)
    assert catalogue.get("part_allocataires_rsa").definition == "Redéfinie par l'observatoire."
    assert [i.id for i in catalogue.search("cmu")] == ["beneficiaires_csi"]
    code, out = run("indicators", "search", "complémentaire santé", home=home)
    assert code == 0 and "beneficiaires_csi" in out
    code, out = run("indicators", "show", "taux_pauvrete", home=home)
    assert code == 0 and "non agrégeable" in out and "Filosofi" in out
    code, out = run("indicators", "list", "--theme", "logement", "--format", "csv", home=home)
    assert code == 0 and "part_logements_vacants" in out and "taux_pauvrete" not in out


@needs_data
def test_real_files_feed_the_catalogue(home93: Path, catalogue: Catalogue) -> None:
    """The real INSEE and CNAF files give the variables the catalogue's indicators are built on
    (a misspelt variable name in a declaration would leave its indicator empty forever). The
    home of the 93 takes a file's variables as the home of all France does, from its columns;
    the rows of other départements are rejected."""
    files = [
        "filosofi/FILO2019_DISP_COM.csv",
        "filosofi/cc_filosofi_2021_COM.csv",
        "filosofi/BASE_TD_FILO_IRIS_2021_DISP.csv",
        "census/base_cc_comparateur_csv_RP2018.zip",
        "caf/data_CAF_2018_IRIS.csv",
    ]
    with Observatory.open(home93, write=True) as obs:
        for name in files:
            obs.import_file(DATA / name)
        stored = set(obs.variables().id)

    ready = [i.id for i in catalogue.computable(stored)]
    for ident in (
        "niveau_vie_median", "taux_pauvrete", "indice_gini", "part_minima_sociaux",
        "part_allocataires_rsa", "allocataires_aah", "part_logements_vacants",
        "taux_chomage_15_64", "densite_population", "part_etablissements_industrie",
    ):  # fmt: skip
        assert ident in ready, ident
    print(f"{len(ready)} indicators computable from the real files")
    assert len(ready) >= 80
    # Every CNAF and Filosofi variable of these files serves at least one indicator.
    used = catalogue.variables()
    unused = sorted(
        v
        for v in stored
        if v.split(".")[0] in ("caf", "filosofi")
        and v not in used
        and not v.endswith(("NOTE", "INCERT"))
    )
    assert unused == [], unused
