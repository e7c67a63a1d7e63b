"""Comparisons beyond the containing territories: size strata, statistical neighbours, trend
over the periods and the « worse and getting worse » alert (real communes and populations of
the referential; indicator values made up here, and said so)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from observatoire.engine.compare import compare_indicator
from observatoire.ingest.indicators import load_catalogue
from observatoire.observatory import Observatory
from observatoire.secret.policy import ReadPolicy
from observatoire.stats.neighbours import nearest
from observatoire.stats.strata import stratum
from observatoire.stats.trend import trend

from .conftest import needs_data

pytestmark = needs_data
PERIODS = ["2015", "2016", "2017", "2018", "2019", "2020"]


def _made_up(obs: Observatory) -> pd.DataFrame:
    """An unemployment rate for the communes of the 93 over six years: rising in Saint-Denis
    (93066), flat elsewhere (made-up values)."""
    communes = obs.geography.territories(level="commune", within=("departement", "93"))
    rows = []
    for position, (code, name) in enumerate(zip(communes.code, communes.name, strict=True)):
        for step, period in enumerate(PERIODS):
            value = 20 + step * 1.5 if code == "93066" else 10 + position % 7 + (step % 2) * 0.1
            rows.append((code, name, period, value, "ok", 1.0, value - 0.5, value + 0.5, None))
    return pd.DataFrame(rows, columns=["code", "name", "period", "value", "status", "coverage",
                                       "ci_low", "ci_high", "note"])  # fmt: skip


def test_strata_neighbours_trend_and_alert(obs: Observatory) -> None:
    values = _made_up(obs)

    def fetch(level: str, within: object, period: str | None) -> pd.DataFrame:
        return values if period is None else values[values.period == period]

    catalogue = load_catalogue()
    frame = compare_indicator(
        obs.warehouse, catalogue, "taux_chomage_15_64", level="commune", reference="strate",
        period="2020", fetch=fetch,
    ).set_index("code")  # fmt: skip
    population = obs.geography.territories(level="commune", within=("departement", "93"))
    population = population.set_index("code")
    label = stratum(population.population["93066"])
    assert frame.reference_name["93066"] == f"communes de {label}"
    peers = population.index[[stratum(p) == label for p in population.population]]
    expected = values[(values.period == "2020") & values.code.isin(peers)].value.mean()
    assert frame.reference_value["93066"] == pytest.approx(expected)
    assert frame.trend["93066"] == "hausse" and frame.trend_p["93066"] < 0.05
    assert frame.trend_slope["93066"] == pytest.approx(1.5)
    # unemployment: lower is better; significantly above its stratum and rising
    assert frame.assessment["93066"] == "moins favorable" and frame.alert["93066"]
    assert frame.alert.sum() == 1
    neighbours = pd.DataFrame(
        {"code": ["93066"] * 2, "rank": [1, 2], "neighbour": ["93001", "93005"], "distance": 0.1}
    )
    near = compare_indicator(
        obs.warehouse, catalogue, "taux_chomage_15_64", level="commune", reference="voisins",
        period="2020", fetch=fetch, neighbours=neighbours,
    ).set_index("code")  # fmt: skip
    mean = values[(values.period == "2020") & values.code.isin(["93001", "93005"])].value.mean()
    assert near.reference_value["93066"] == pytest.approx(mean)
    assert near.reference_name["93066"] == "2 voisins statistiques"


def test_trend_needs_four_points_and_sees_no_trend_in_noise() -> None:
    assert trend([2018, 2019, 2020], [1, 2, 3]).direction == "indéterminée"
    rng = np.random.default_rng(4)
    flat = [trend(range(8), rng.normal(size=8)).direction for _ in range(200)]
    assert flat.count("stable") > 170  # about 5 % false alarms at the 5 % level


def test_neighbours_on_real_populations(obs: Observatory) -> None:
    communes = obs.geography.territories(level="commune", within=("departement", "93"))
    communes = communes.set_index("code")
    found = nearest(communes[["population"]], k=2, log=["population"])
    mine = found[found.code == "93066"]  # Saint-Denis: the closest sizes
    sizes = (communes.population - communes.population["93066"]).abs().drop("93066")
    assert set(mine.neighbour) == set(sizes.nsmallest(2).index)


@pytest.mark.parametrize(
    ("ident", "audience"),
    [
        ("taux_chomage_15_64", "analyst"),
        ("naissances", "analyst"),
        ("taux_chomage_15_64", "public"),
        ("naissances_annuelles", "public"),
    ],
)
def test_a_stored_comparison_ranks_in_the_database_as_in_pandas(
    census_home: object, ident: str, audience: str
) -> None:
    """A comparison reads the stored values and lets the database rank the communes among
    all of France's (the level is not read): every column equals the comparison ranked by
    pandas over the whole level — computed from scratch for the analyst, the audience's own
    view for the public (births under secret: masked cells ranked by neither) — on real
    census values."""
    reader = ReadPolicy.parse(audience)
    with Observatory.open(census_home) as obs:  # type: ignore[arg-type]
        fast = obs.compare(ident, level="commune", within="93", reference="departement",
                           reader=reader)  # fmt: skip
        fetch = obs.access().fetcher(ident, reader, restricted_threshold=False)
        slow = compare_indicator(obs.warehouse, obs.catalogue(), ident, level="commune",
                                 reference="departement", within=("departement", "93"),
                                 fetch=fetch)  # fmt: skip
        for period in ("2018", None):
            one = obs.compare(ident, level="commune", within="93", reference="departement",
                              period=period, reader=reader)  # fmt: skip
            assert len(one) == len(fast if period is None else fast[fast.period == period])
        masked = obs.warehouse.count("value_mask", "indicator = ? AND level = 'commune' AND "
                                     "audience = 'public'", [ident])  # fmt: skip
    assert len(fast) >= 39 and fast["rank"].notna().any() and fast["rank"].max() > 1000
    if ident == "naissances_annuelles":  # births masked for the public elsewhere: not ranked
        assert masked > 1000
    columns = ["code", "period", "value", "status", "rank", "percentile", "reference_value",
               "gap", "index", "assessment", "alert"]  # fmt: skip
    left, right = (
        f[columns].sort_values(["code", "period"]).reset_index(drop=True) for f in (fast, slow)
    )
    pd.testing.assert_frame_equal(left, right, check_dtype=False, rtol=1e-9)
