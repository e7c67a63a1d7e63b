"""Indicators publish their own unit: a ratio is never filled from a variable in euros."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from observatoire.observatory import Observatory

from .conftest import DATA

FILOSOFI = DATA / "filosofi"


def _cli(home: Path, *args: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "observatoire", "--home", str(home), *args],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr


@pytest.mark.slow
def test_the_relative_interquartile_range_is_insee_s_ratio_never_euros(
    home93: Path, tmp_path: Path
) -> None:
    """``ecart_interquartile_relatif`` is INSEE's DISP_EQ (IRIS file), IRIS by IRIS; the
    communal files' Q3_Q1 (Q3 − Q1 in euros) gives it no value."""
    communes = pd.read_csv(FILOSOFI / "FILO2019_DISP_COM.csv", sep=";", dtype=str,
                           encoding="utf-8-sig")  # fmt: skip
    communes[communes.CODGEO.str.startswith("93")].to_csv(
        tmp_path / "filo19_93.csv", sep=";", index=False
    )
    iris = pd.read_csv(FILOSOFI / "BASE_TD_FILO_IRIS_2021_DISP.csv", sep=";", dtype=str)
    iris = iris[iris.IRIS.str.startswith("93")]
    iris.to_csv(tmp_path / "filo_iris21_93.csv", sep=";", index=False)
    for name in ("filo19_93.csv", "filo_iris21_93.csv"):
        _cli(home93, "import", str(tmp_path / name))
    _cli(home93, "compute", "--indicator", "ecart_interquartile_relatif")
    _cli(home93, "compute", "--indicator", "ecart_interquartile")
    # INSEE's markers (« ns », « nd », « s ») are no values
    raw = iris.set_index("IRIS").DISP_EQ21.str.replace(",", ".")
    expected = pd.to_numeric(raw, errors="coerce").dropna()
    with Observatory.open(home93) as obs:
        at_iris = obs.indicator("ecart_interquartile_relatif", level="iris", within="93")
        at_communes = obs.indicator("ecart_interquartile_relatif", level="commune", within="93")
    got = at_iris[at_iris.value.notna()].set_index("code").value
    assert len(expected) > 400
    assert got.to_dict() == pytest.approx(expected.to_dict())
    assert (got < 5).all()  # a ratio, never euros
    assert at_communes.value.dropna().lt(5).all()  # no commune value from Q3_Q1 in euros
    # the euros have an indicator of their own, in euros: Q3_Q1, commune by commune
    with Observatory.open(home93) as obs:
        spread = obs.indicator("ecart_interquartile", level="commune", within="93")
    raw = communes[communes.CODGEO.str.startswith("93")].set_index("CODGEO").Q3_Q1
    euros = pd.to_numeric(raw.str.replace(",", "."), errors="coerce").dropna()
    euros = euros.drop(["93066", "93059"])  # merged in 2025: a spread does not add up
    got = spread[spread.value.notna()].set_index("code").value
    assert got.to_dict() == pytest.approx(euros.to_dict())


def test_no_indicator_of_the_catalogue_has_an_alternative_of_another_unit(tmp_path: Path) -> None:
    """Every formula alternative of every shipped indicator measures what its unit says,
    and every variable it reads has a known kind (the dictionary covers the catalogue)."""
    from observatoire.catalog.variables import unit_faults, variable_kind
    from observatoire.ingest.indicators import load_catalogue

    catalogue = load_catalogue(tmp_path)
    assert len(catalogue) >= 183
    faults = {i.id: unit_faults(i) for i in catalogue.indicators.values() if unit_faults(i)}
    assert faults == {}
    read = {
        name
        for i in catalogue.indicators.values()
        for name in (*i.formula.variable, *i.formula.numerator, *i.formula.denominator)
    }
    assert {n for n in read if variable_kind(n) is None} == set()
    # the faults it would have found: the communal Q3_Q1 (euros) as a ratio, a count as a rate
    wrong = catalogue.get("ecart_interquartile_relatif")
    from dataclasses import replace

    euros = replace(wrong, formula=replace(wrong.formula, variable=("filosofi.Q3_Q1",)))
    assert unit_faults(euros) == ["filosofi.Q3_Q1 mesure « € », l'unité (aucune) dit « rapport »"]
    rate = catalogue.get("part_allocataires_rsa")
    per_cent = replace(rate, formula=replace(rate.formula, numerator=("filosofi.TP60",)))
    assert "un taux se calcule sur des effectifs" in unit_faults(per_cent)[0]


def test_an_observatory_s_own_indicator_of_the_wrong_unit_is_refused_at_load(
    tmp_path: Path,
) -> None:
    from observatoire.errors import InputError
    from observatoire.ingest.indicators import load_catalogue

    folder = tmp_path / "indicateurs"
    folder.mkdir()
    (folder / "local.yaml").write_text(
        "theme: revenus\nindicators:\n  - id: dispersion\n    label: Dispersion\n"
        '    unit: ""\n    formula: {variable: [filosofi.DISP_EQ, filosofi.Q3_Q1]}\n'
        "    aggregation: not_aggregable\n    definition: Q3 moins Q1 sur la médiane.\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError, match=r"filosofi\.Q3_Q1 mesure « € »") as info:
        load_catalogue(tmp_path)
    assert str(info.value.path).endswith("local.yaml")
