"""Social gradients: an indicator by deciles of territories ranked by income, with the slope
and relative indices of inequality.

The indices are checked on the worked example of Fingertips' ``PHEindicatormethods::phe_sii``
documentation (its « Area1 » deciles; the formula of Low & Low, Journal of Public Health,
2004) against statsmodels' weighted least squares, and their simulated interval against the
exact variance of the weighted slope; the gradient of unemployment by income across the
communes of Seine-Saint-Denis against pandas and statsmodels over the raw census comparator.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from observatoire.observatory import Observatory
from observatoire.stats.inequality import (
    groups_of,
    relative_ranks,
    simulated_intervals,
    slope_indices,
)

from .conftest import DATA, needs_data, run

# PHEindicatormethods, phe_sii's documented example, « Area1 »: deciles from the most
# deprived, their population, value and standard error
POPULATION = np.array([7291, 7997, 6105, 7666, 5790, 6934, 5918, 5974, 7147, 7534.0])
VALUE = np.array([75.9, 78.3, 83.8, 83.6, 80.5, 81.1, 81.7, 84.2, 80.6, 86.3])
ERROR = np.array([1.64, 1.58, 1.51, 1.78, 1.7, 1.56, 1.37, 1.4, 2.43, 1.57])


def test_the_indices_of_the_fingertips_example_are_a_weighted_least_squares_line() -> None:
    found = slope_indices(VALUE, POPULATION)
    x = relative_ranks(POPULATION)
    share = POPULATION / POPULATION.sum()
    assert x[0] == pytest.approx(share[0] / 2) and x[1] == pytest.approx(share[0] + share[1] / 2)
    model = sm.WLS(VALUE, sm.add_constant(x), weights=share).fit()
    assert found.intercept == pytest.approx(model.params[0])
    assert found.sii == pytest.approx(
        model.params[1]
    )  # 7.00: the top of the scale minus the bottom
    assert found.rii == pytest.approx((model.params[0] + model.params[1]) / model.params[0])
    # the slope is linear in the values: its exact variance from their standard errors
    design = np.column_stack([np.ones(10), x])
    weights = np.diag(share)
    rows = np.linalg.solve(design.T @ weights @ design, design.T @ weights)
    spread = np.sqrt((rows[1] ** 2 * ERROR**2).sum())
    (low, high), (rii_low, rii_high) = simulated_intervals(VALUE, ERROR, POPULATION)
    assert low == pytest.approx(found.sii - 1.959964 * spread, abs=0.15)
    assert high == pytest.approx(found.sii + 1.959964 * spread, abs=0.15)
    assert rii_low < found.rii < rii_high
    assert simulated_intervals(VALUE, ERROR, POPULATION) == ((low, high), (rii_low, rii_high))


def test_groups_hold_equal_shares_of_the_population() -> None:
    ranking = np.array([5.0, 1.0, 3.0, 2.0, 4.0, 6.0])
    weights = np.array([10.0, 10.0, 40.0, 10.0, 20.0, 10.0])
    # sorted: 1 (10), 2 (10), 3 (40), 4 (20), 5 (10), 6 (10); midpoints .05 .15 .4 .7 .85 .95
    assert groups_of(ranking, weights, k=2).tolist() == [2, 1, 1, 1, 2, 2]
    assert groups_of(ranking, weights, k=4).tolist() == [4, 1, 2, 1, 3, 4]


@needs_data
def test_unemployment_by_income_deciles_in_the_93_is_the_raw_file_s(census_home: Path) -> None:
    path = DATA / "census" / "base_cc_comparateur_csv_RP2018.zip"
    with zipfile.ZipFile(path) as archive, archive.open("base_cc_comparateur.CSV") as handle:
        raw = pd.read_csv(handle, sep=";", dtype={"CODGEO": str})
    # the 93's communes but the two merged into Saint-Denis in 2025: their 2019 medians are
    # of other boundaries, so Saint-Denis (93066) has none usable
    raw = raw[raw.CODGEO.str.startswith("93") & ~raw.CODGEO.isin(["93059", "93066"])]
    raw = raw.dropna(subset=["MED19"]).sort_values("MED19", kind="stable")
    middle = (raw.P18_ACT1564.cumsum() - raw.P18_ACT1564 / 2) / raw.P18_ACT1564.sum()
    raw["group"] = np.minimum((middle * 10).astype(int) + 1, 10)
    sums = raw.groupby("group")[["P18_CHOM1564", "P18_ACT1564"]].sum()
    expected = 100 * sums.P18_CHOM1564 / sums.P18_ACT1564
    with Observatory.open(census_home) as obs:
        found = obs.views.gradient("taux_chomage_15_64", level="commune", within="93")
    assert (found.period, found.ranking_period) == ("2018", "2019")
    assert sorted(found.members.code) == sorted(raw.CODGEO)
    groups = found.groups.set_index("group")
    assert groups.value.to_numpy() == pytest.approx(expected.to_numpy())
    assert groups.population.to_numpy() == pytest.approx(sums.P18_ACT1564.to_numpy())
    share = sums.P18_ACT1564 / sums.P18_ACT1564.sum()
    x = share.cumsum() - share / 2
    model = sm.WLS(expected.to_numpy(), sm.add_constant(x.to_numpy()), weights=share).fit()
    assert found.fit.sii == pytest.approx(model.params[1])
    assert found.fit.sii < -8  # the richest communes' unemployment far below the poorest
    assert found.sii_interval[0] < found.fit.sii < found.sii_interval[1]


@needs_data
def test_the_gradient_on_the_command_line_the_page_and_the_api(census_home: Path) -> None:
    from fastapi.testclient import TestClient

    from observatoire.web.app import create_app

    code, out = run("gradient", "taux_chomage_15_64", "--within", "93", "--groups", "5",
                    "--format", "csv", home=census_home)  # fmt: skip
    assert code == 0, out
    assert "SII -" in out and "group,territories" in out
    code, out = run("gradient", "chomeurs_15_64", "--within", "93", home=census_home)
    assert code != 0 and "est un effectif" in out
    with Observatory.open(census_home) as obs, TestClient(create_app(obs)) as client:
        page = client.get("/indicateurs/taux_chomage_15_64/gradient", params={"dans": "93"})
        assert page.status_code == 200 and "Indice de pente de l'inégalité" in page.text
        assert "<svg" in page.text
        data = client.get("/indicateurs/taux_chomage_15_64/gradient.json",
                          params={"dans": "93"}).json()  # fmt: skip
        assert len(data["gradient"]["groups"]) == 10 and "drawing" not in data["gradient"]
        api = client.get("/api/v1/indicators/taux_chomage_15_64/gradient",
                         params={"within": "93", "groups": 4}).json()  # fmt: skip
        assert len(api["groups"]) == 4 and api["sii"] < 0
        refused = client.get("/indicateurs/population/gradient", params={"dans": "93"})
        assert refused.status_code == 200 and "Pas de gradient" in refused.text
