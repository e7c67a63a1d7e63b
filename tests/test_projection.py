"""Projections: the methods on simulated series with a known trend (statsmodels' OLS as the
oracle of the least squares), the coverage of their intervals, the horizon rule, and the
projections and back-tests on the real Filosofi series (2016, 2019, 2021) and census (2013,
2018) compared with pandas over the raw files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from observatoire.errors import InputError, ReferentialError, UnknownNameError
from observatoire.observatory import Observatory
from observatoire.secret.policy import PUBLIC
from observatoire.stats import projection as proj

from .conftest import DATA, run

FILOSOFI = DATA / "filosofi"
FILES = [
    FILOSOFI / "FILO2016_DISP_COM.csv",
    FILOSOFI / "FILO2019_DISP_COM.csv",
    FILOSOFI / "cc_filosofi_2021_COM.csv",
    DATA / "census" / "base_cc_comparateur_csv_RP2018.zip",
    DATA / "caf" / "data_CAF_2016_IRIS.csv",
    DATA / "caf" / "data_CAF_2018_IRIS.csv",
]


# -- the methods ----------------------------------------------------------------------------------
def test_known_trends_are_recovered() -> None:
    times = np.array([2010.0, 2013.0, 2016.0, 2019.0])
    line = 100 + 4 * (times - 2010)
    growth = 100 * 1.03 ** (times - 2010)
    values = np.vstack([line, growth, np.full(4, 7.0)])
    target = np.full(3, 2025.0)
    linear = proj.project(times, values, "linear", target)
    assert linear[0] == pytest.approx(160.0)
    assert linear[2] == pytest.approx(7.0)
    loglinear = proj.project(times, values, "loglinear", target)
    assert loglinear[1] == pytest.approx(100 * 1.03**15)
    # damped: from the fitted level, the slope kept at 0.8, 0.64… of itself each year
    damped = proj.project(times, values, "damped", target)
    assert damped[0] == pytest.approx(136 + 4 * sum(0.8**k for k in range(1, 7)))
    assert proj.project(times, values, "constant", target).tolist() == [136.0, growth[-1], 7.0]


def test_least_squares_equal_statsmodels_with_missing_points() -> None:
    rng = np.random.default_rng(7)
    times = np.array([2012.0, 2014.0, 2017.0, 2019.0, 2021.0])
    values = rng.uniform(50, 150, size=(60, 5))
    values[rng.random(values.shape) < 0.25] = np.nan
    for method in ("linear", "loglinear"):
        got = proj.project(times, values, method, np.full(60, 2026.0))
        for row, value in zip(values, got, strict=True):
            seen = ~np.isnan(row)
            if seen.sum() < 2:
                assert np.isnan(value)
                continue
            y = np.log(row[seen]) if method == "loglinear" else row[seen]
            fit = sm.OLS(y, sm.add_constant(times[seen])).fit()
            expected = float(fit.predict(np.array([[1.0, 2026.0]]))[0])
            if method == "loglinear":
                expected = float(np.exp(expected))
            assert value == pytest.approx(expected, rel=1e-9)


def test_loglinear_needs_positive_values_and_unknown_method_is_named() -> None:
    times = np.array([2016.0, 2019.0, 2021.0])
    assert np.isnan(proj.project(times, np.array([[0.0, 2.0, 3.0]]), "loglinear", 2024.0)[0])
    with pytest.raises(UnknownNameError, match="linear"):
        proj.project(times, np.ones((1, 3)), "quadratic", 2024.0)


@pytest.mark.parametrize("method", ["constant", "linear", "damped", "loglinear"])
def test_intervals_cover_at_their_nominal_rate(method: str) -> None:
    """Simulated territories: a trend of their own plus noise; the interval measured by the
    back-test (last point from the others) is tried on a new point of the same series."""
    rng = np.random.default_rng(11)
    n = 4000
    times = np.array([2010.0, 2013.0, 2016.0, 2019.0])
    start, growth = rng.uniform(100, 1000, n), rng.normal(0.02, 0.01, n)

    def draw(t: float) -> np.ndarray:
        return start * np.exp(growth * (t - 2010) + rng.normal(0, 0.03, n))

    values = np.stack([draw(t) for t in times], axis=1)
    error = proj.measure(method, proj.holdout(times, values, method), confidence=0.8)
    assert error.territories == n and error.horizon == 3.0
    assert error.coverage == pytest.approx(0.8, abs=0.02)  # out of sample, across halves
    points = proj.project(times, values, method, np.full(n, 2022.0))
    low, high = proj.interval(points, np.full(n, 3.0), error)
    truth = draw(2022.0)
    inside = float(((truth >= low) & (truth <= high)).mean())
    # fitted on one more point than in the back-test, the trends are a little better: the
    # intervals err on the side of width, never of narrowness
    assert 0.77 <= inside <= 0.9


def test_random_walk_intervals_are_exact_and_trends_not_offered() -> None:
    """Series without trend (random walks): no change is the best guess, its interval
    covers at the nominal rate, and a trend that does worse is not offered by default."""
    rng = np.random.default_rng(3)
    n = 3000
    times = np.arange(2015.0, 2021.0)
    steps = rng.normal(0, 0.05, size=(n, 7))
    walk = 100 * np.exp(np.cumsum(steps, axis=1))
    values = walk[:, :6]
    errors = {m: proj.measure(m, proj.holdout(times, values, m)) for m in proj.METHODS}
    assert errors["linear"].mape > errors["constant"].mape
    assert not proj.offered(errors, "linear")
    assert proj.choose(errors) == "constant"
    low, high = proj.interval(values[:, -1], np.ones(n), errors["constant"])
    inside = float(((walk[:, 6] >= low) & (walk[:, 6] <= high)).mean())
    assert inside == pytest.approx(0.8, abs=0.025)


def test_horizon_is_bounded_by_the_history() -> None:
    times = np.array([2016.0, 2019.0, 2021.0])
    values = np.array([[1.0, 2.0, 3.0], [np.nan, 2.0, 3.0]])
    assert proj.supported(times, values, 2026.0).tolist() == [True, False]
    assert proj.supported(times, values, 2023.0).tolist() == [True, True]
    assert proj.supported(times, values, 2021.0).tolist() == [False, False]


def test_too_few_territories_give_no_interval() -> None:
    times = np.array([2016.0, 2019.0, 2021.0])
    values = np.tile([1.0, 2.0, 3.0], (5, 1))
    error = proj.measure("linear", proj.holdout(times, values, "linear"))
    assert error.territories == 5 and not error.usable
    low, _ = proj.interval(np.ones(5), np.ones(5), error)
    assert np.isnan(low).all()


# -- real series ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def filosofi_home(built_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The built home with the three Filosofi vintages of the communes and the census."""
    home = tmp_path_factory.mktemp("projection") / "obs"
    shutil.copytree(built_home, home)
    for path in FILES:
        code, out = run("import", str(path), home=home)
        assert code in (0, 3), out
    code, out = run("compute", "--indicator", "niveau_vie_median", "--indicator",
                    "menages_fiscaux", home=home)  # fmt: skip
    assert code == 0, out
    return home


def _raw(name: str, column: str) -> pd.Series:
    frame = pd.read_csv(FILOSOFI / name, sep=";", dtype=str, encoding="utf-8-sig")
    values = pd.to_numeric(frame[column].str.replace(",", "."), errors="coerce")
    return pd.Series(values.to_numpy(), index=frame.CODGEO, name=column)


def _raw_medians() -> pd.DataFrame:
    return pd.concat(
        [
            _raw("FILO2016_DISP_COM.csv", "Q216"),
            _raw("FILO2019_DISP_COM.csv", "Q219"),
            _raw("cc_filosofi_2021_COM.csv", "MED21"),
        ],
        axis=1,
    )


def test_median_income_of_the_93_equals_least_squares_over_the_raw_files(
    filosofi_home: Path,
) -> None:
    with Observatory.open(filosofi_home) as obs:
        found = obs.projection("niveau_vie_median", level="commune", within="93")
    assert found.history == ("2016", "2019", "2021") and found.target == "2026"
    assert found.method == "linear" and found.method == found.default_method
    assert found.assumption == "si la tendance 2016-2021 se poursuivait"
    raw = _raw_medians()
    values = found.values
    assert set(values.period) == {"2022", "2023", "2024", "2025", "2026"}
    assert values.code.str.startswith("93").all() and values.code.nunique() == 39
    # Saint-Denis merged with Pierrefitte-sur-Seine in 2025: a median of the former communes
    # is not the new one's, so it has no series to extend
    merged = values[values.code == "93066"]
    assert (merged.status == "nd").all() and merged.value.isna().all()
    values = values[values.code != "93066"]
    assert (values.status == "projection").all()
    years = np.array([2016.0, 2019.0, 2021.0])
    checked = 0
    for code, rows in values.groupby("code"):
        series = raw.loc[code].to_numpy(dtype=float)
        fit = sm.OLS(series, sm.add_constant(years)).fit()
        for year, value in zip(rows.period, rows.value, strict=True):
            expected = float(fit.predict(np.array([[1.0, float(year)]]))[0])
            assert value == pytest.approx(expected, rel=1e-9), (code, year)
            checked += 1
    assert checked == 38 * 5
    # the interval: the back-test's quantiles, widened with the horizon
    row = values[(values.code == "93008") & (values.period == "2026")].iloc[0]
    assert row.low < row.value < row.high


def test_back_test_of_median_income_equals_pandas_over_the_raw_files(
    filosofi_home: Path,
) -> None:
    """The error of each method over every commune of France: 2021 projected from 2016 and
    2019, compared with 2021. The pandas check keeps the communes whose code no event of the
    COG touched since 2017 (the engine converts the others where it can)."""
    with Observatory.open(filosofi_home) as obs:
        found = obs.projection("niveau_vie_median", level="commune", within="93")
    errors = found.errors.set_index("method")
    raw = _raw_medians()
    events = pd.read_csv(DATA / "cog/2026/v_mvt_commune_2026.csv", dtype=str)
    late = events[events.DATE_EFF >= "2017-01-02"]
    raw = raw[~raw.index.isin(set(late.COM_AV) | set(late.COM_AP))]
    raw = raw.dropna()  # every method tested on the same communes
    linear = raw.Q216 + (raw.Q219 - raw.Q216) / 3 * 5
    damped = raw.Q219 + (raw.Q219 - raw.Q216) / 3 * (0.8 + 0.64)
    loglinear = raw.Q219 * (raw.Q219 / raw.Q216) ** (2 / 3)
    guesses = {"constant": (raw.Q219, raw), "linear": (linear, raw),
               "damped": (damped, raw), "loglinear": (loglinear, raw)}  # fmt: skip
    for method, (guess, kept) in guesses.items():
        mape = float((abs(kept.MED21 - guess) / kept.MED21).mean() * 100)
        assert errors.loc[method, "mape"] == pytest.approx(mape, abs=0.02), method
        assert errors.loc[method, "territories"] == pytest.approx(len(kept), rel=0.03)
    assert errors.loc["linear", "mape"] < errors.loc["constant", "mape"]
    assert errors.offered.all() and errors.loc["linear", "default"]
    assert errors.coverage.between(0.77, 0.83).all()


def test_counts_then_ratios_and_horizon_refusals(filosofi_home: Path) -> None:
    with Observatory.open(filosofi_home) as obs:
        with pytest.raises(InputError, match=r"2016-2021 couvre 5 ans.*2026"):
            obs.projection("niveau_vie_median", level="commune", within="93", to="2030")
        with pytest.raises(ReferentialError, match="une projection prolonge une série"):
            obs.projection("niveau_vie_median", level="departement")
        # two census vintages: no change is the only method whose error can be measured
        population = obs.projection("population", level="commune", within="93")
        assert population.method == "constant" and population.history == ("2013", "2018")
        assert population.target == "2023"
        with pytest.raises(InputError, match="son erreur n'a pu être mesurée"):
            obs.projection("population", level="commune", within="93", method="linear")
        # a ratio: its numerator and denominator projected, then divided (IRIS of Saint-Denis,
        # CAF 2016 and 2018)
        where = {"level": "iris", "within": "commune:93066"}
        share = obs.projection("part_allocataires_rsa", **where)
        rsa = obs.projection("allocataires_rsa", **where, method=share.method)
        caf = obs.projection("allocataires_caf", **where, method=share.method)
    key = ["code", "period"]
    merged = share.values.merge(rsa.values, on=key).merge(caf.values, on=key)
    merged = merged[merged.status_x == "projection"]
    assert len(merged) > 30
    assert np.allclose(merged.value_x, merged.value_y / merged.value * 100)


def test_levels_without_enough_territories_borrow_a_finer_error(filosofi_home: Path) -> None:
    with Observatory.open(filosofi_home) as obs:
        found = obs.projection("menages_fiscaux", level="region")
    assert found.measured_at != "region" and found.notes
    assert (found.errors.level == found.measured_at).all()


def test_cli_projection_and_its_errors(filosofi_home: Path) -> None:
    code, out = run("projection", "niveau_vie_median", "--within", "93", "--to", "2023",
                    "--format", "json", home=filosofi_home)  # fmt: skip
    assert code == 0, out
    body = json.loads(out)
    assert body["method"] == "linear" and body["target"] == "2023"
    assert len(body["values"]) == 39 * 2 and len(body["errors"]) == 4
    code, out = run("projection", "niveau_vie_median", "--within", "93", home=filosofi_home)
    assert code == 0 and "si la tendance 2016-2021 se poursuivait" in out
    assert "Erreur mesurée (niveau commune" in out
    code, out = run("projection", "niveau_vie_median", "--within", "93", "--to", "2031",
                    home=filosofi_home)  # fmt: skip
    assert code == 2 and "jusqu'en 2026" in out


def test_a_restricted_reader_sees_only_projections_of_what_it_sees(filosofi_home: Path) -> None:
    with Observatory.open(filosofi_home) as obs:
        public = obs.projection("niveau_vie_median", level="commune", within="93",
                                reader=PUBLIC)  # fmt: skip
        analyst = obs.projection("niveau_vie_median", level="commune", within="93")
        with pytest.raises(Exception, match="compute"):  # not computed: no public view
            obs.projection("population", level="commune", within="93", reader=PUBLIC)
    pd.testing.assert_frame_equal(public.values, analyst.values)


def test_api_and_pages(filosofi_home: Path) -> None:
    from fastapi.testclient import TestClient

    from observatoire.web.app import create_app

    url = "/api/v1/indicators/niveau_vie_median/projection?level=commune&within=93"
    with Observatory.open(filosofi_home) as obs, TestClient(create_app(obs)) as client:
        body = client.get(url + "&limit=5").json()
        assert body["count"] == 39 * 5 and len(body["rows"]) == 5 and body["next"]
        assert body["method"] == "linear" and len(body["errors"]) == 4
        first = body["rows"][0]
        assert first["status"] == "projection" and first["low"] < first["value"] < first["high"]
        refused = client.get(url + "&to=2030")
        assert refused.status_code == 400 and "jusqu'en 2026" in refused.json()["error"]
        csv = client.get(url + "&format=csv&limit=10000")
        assert csv.status_code == 200 and len(csv.text.strip().splitlines()) == 39 * 5 + 1
        page = client.get("/indicateurs/niveau_vie_median/projection?niveau=commune&dans=93")
        assert page.status_code == 200
        assert "si la tendance 2016-2021 se poursuivait" in page.text
        assert "4,0 % en moyenne à 2 ans" in page.text and "Bobigny" in page.text
        twin = client.get("/indicateurs/niveau_vie_median/projection.json?niveau=commune&dans=93")
        assert twin.json()["projection"]["target"] == "2026"
        short = client.get("/indicateurs/niveau_vie_median/projection?niveau=commune&dans=93"
                           "&horizon=2031")  # fmt: skip
        assert short.status_code == 200 and "Pas de projection" in short.text
        # the indicator page: its territory's line goes on, dashed, in a band
        chart = client.get("/indicateurs/menages_fiscaux?niveau=commune&dans=93")
        assert 'class="projection-line"' in chart.text and "projection-band" in chart.text
        assert "En tirets" in chart.text


def test_portrait_says_the_projection_with_its_error(filosofi_home: Path) -> None:
    from observatoire.outputs.portrait import build_portrait

    with Observatory.open(filosofi_home) as obs:
        portrait = build_portrait(obs, "93008")
        found = obs.projection("niveau_vie_median", level="commune", within="93")
    figure = next(f for _, f in portrait.figures() if f.indicator == "niveau_vie_median")
    row = found.values[(found.values.code == "93008") & (found.values.period == "2026")].iloc[0]
    shown = f"{round(row.value):,}".replace(",", "\u202f")
    assert figure.projection.startswith(
        "Si la tendance 2016-2021 se poursuivait, le niveau de vie médian serait de"
    )
    assert f"{shown}\u202f€ en 2026" in figure.projection
    assert "erreur moyenne mesurée à 2 ans : 4,0\u202f%" in figure.projection


def test_dashboard_tile_shows_trend_and_scenario(filosofi_home: Path, tmp_path: Path) -> None:
    from observatoire.outputs.dashboard import build_dashboard, dashboard_specs, find_spec

    home = tmp_path / "obs"
    shutil.copytree(filosofi_home, home)
    (home / "tableaux").mkdir()
    (home / "tableaux" / "revenus.yaml").write_text(
        "id: revenus\ntitre: Revenus\ntuiles:\n"
        "  - type: projection\n    indicateur: niveau_vie_median\n"
        "    scenario: {taux_annuel: 2}\n"
        "  - type: projection\n    indicateur: niveau_vie_median\n    horizon: 2024\n"
        "    scenario: {cible: 17000, annee: 2023}\n",
        encoding="utf-8",
    )
    with Observatory.open(home) as obs:
        board = build_dashboard(obs, find_spec(obs, "revenus"), territory="93008",
                                reader=PUBLIC)  # fmt: skip
        found = obs.projection("niveau_vie_median", level="commune", within="93")
    rate, target = board.tiles
    row = found.values[(found.values.code == "93008") & (found.values.period == "2026")].iloc[0]
    last = float(_raw_medians().loc["93008", "MED21"])
    assert rate["trend_value"] == pytest.approx(row.value)
    assert rate["scenario_value"] == pytest.approx(last * 1.02**5)
    assert rate["scenario_label"] == "+2,0 % par an" and "projection-line" in rate["svg"]
    assert target["horizon"] == "2024" and target["scenario_value"] == pytest.approx(17000)
    (home / "tableaux" / "revenus.yaml").write_text(
        "id: revenus\ntuiles:\n  - type: projection\n    indicateur: niveau_vie_median\n"
        "    scenario: {taux_annuel: 2, cible: 3}\n",
        encoding="utf-8",
    )
    with Observatory.open(home) as obs, pytest.raises(InputError, match=r"tuiles\[1\].scenario"):
        dashboard_specs(obs)


def test_within_a_territory_of_the_level_and_why_none(filosofi_home: Path) -> None:
    with Observatory.open(filosofi_home) as obs:
        one = obs.projection("niveau_vie_median", level="commune", within="commune:93001")
        partial = obs.projection("part_allocataires_rsa", level="commune", within="93").values
        with pytest.raises(ReferentialError, match="une projection prolonge une série"):
            obs.projection("densite_population", level="commune")  # one common period
        with pytest.raises(InputError, match="inconnue"):
            obs.projection("niveau_vie_median", level="commune", within="93", method="cubic")
        with pytest.raises(InputError, match="une année attendue"):
            obs.projection("niveau_vie_median", level="commune", within="93", to="²⁰²⁶")
    assert set(one.values.code) == {"93001"} and (one.values.status == "projection").all()
    # Aubervilliers: CAF sums of its IRIS, partial (secret IRIS): no series, and why
    aubervilliers = partial[partial.code == "93001"]
    assert (aubervilliers.status == "nd").all()
    assert aubervilliers.note.str.startswith("valeurs partielles, secrètes").all()


def _caf_edition(home: Path, masked: bool) -> Path:
    """A SYNTHETIC 2025 edition of the demo's CAF file; ``masked``: its counts under secret
    (1 to 4 students) changed, and nothing else."""
    frame = pd.read_csv(home / "donnees_SYNTHETIQUES_CAF_2024_COM.csv", sep=";",
                        dtype={"CODGEO": str})  # fmt: skip
    numbers = [c for c in frame.columns if c not in ("CODGEO", "LIBGEO")]
    frame[numbers] = (frame[numbers] * 1.04).round().astype("Int64")
    small = frame.A_ETUD.between(1, 4)
    assert small.sum() >= 3
    if masked:
        frame.loc[small, "A_ETUD"] = 5 - frame.loc[small, "A_ETUD"]
    path = home / "donnees_SYNTHETIQUES_CAF_2025_COM.csv"
    frame.to_csv(path, sep=";", index=False)
    return path


def test_measured_error_tells_a_restricted_reader_nothing_of_masked_cells(
    demo_home: Any, tmp_path: Path
) -> None:
    """Two observatories differ only by counts under secret: the public reads the same
    projection errors in both (measured on the territories whose history it sees)."""
    from .conftest import demo_copy

    seen = {}
    for masked in (False, True):
        built = demo_copy(demo_home, tmp_path / f"demo{int(masked)}")
        with Observatory.open(built.home, write=True) as obs:
            obs.import_file(_caf_edition(built.home, masked), user="test")
            obs.compute(indicators=["allocataires_etudiants"], force=True)
            analyst = obs.projection("allocataires_etudiants", level="commune", within="93")
            public: Any
            try:
                found = obs.projection("allocataires_etudiants", level="commune", within="93",
                                       reader=PUBLIC)  # fmt: skip
                public = (found.errors, found.values)
            except ReferentialError as error:  # too few communes it sees whole: no error said
                public = str(error)
        seen[masked] = (public, analyst)
    (public_a, analyst_a), (public_b, analyst_b) = seen[False], seen[True]
    assert not analyst_a.errors.mape.equals(analyst_b.errors.mape)  # the cells do count
    if isinstance(public_a, str):
        assert public_a == public_b and "ne peut pas être mesurée" in public_a
    else:
        pd.testing.assert_frame_equal(public_a[0], public_b[0])
        pd.testing.assert_frame_equal(public_a[1], public_b[1])


def test_intervals_hold_their_rate_at_a_longer_horizon_on_real_series(
    filosofi_home: Path,
) -> None:
    """The no-change interval measured from 2019 to 2021 (two years), widened to five years,
    tried on the real changes from 2016 to 2021: it contains about 80 % of them (widened in
    proportion to the horizon, it contained 95 %)."""
    with Observatory.open(filosofi_home) as obs:
        found = obs.projection("niveau_vie_median", level="commune", within="93",
                               method="constant")  # fmt: skip
    row = found.values[(found.values.code == "93008") & (found.values.period == "2026")].iloc[0]
    low, high = np.log(row.low / row.value), np.log(row.high / row.value)
    raw = _raw_medians().dropna()
    changes = np.log(raw.MED21 / raw.Q216)
    inside = float(((changes >= low) & (changes <= high)).mean())
    assert 0.76 <= inside <= 0.88, inside
