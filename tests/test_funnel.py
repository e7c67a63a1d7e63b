"""Funnel plots and the « which levels and periods have data » table.

The control limits are checked against a worked example counted by hand, an independent
computation of the exact binomial and Poisson laws in pure Python (log-space sums, no
SciPy), the normal approximation Spiegelhalter (2005) gives for large denominators and the
Wilson-score limits of Fingertips' ``PHEindicatormethods::phe_funnels`` (re-derived from
its published formula). The funnel of the real census comparator (RP 2018) is checked
commune by commune against pandas over the raw file.
"""

from __future__ import annotations

import json
import math
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from observatoire.observatory import Observatory
from observatoire.secret.policy import PUBLIC
from observatoire.stats.funnel import bounds, curve, limits, position

from .conftest import DATA, needs_data, run

Z = {0.025: -1.959963984540054, 0.975: 1.959963984540054,
     0.001: -3.090232306167813, 0.999: 3.090232306167813}  # fmt: skip


# -- an independent computation of the exact limits ---------------------------------------------
def _log_pmf(law: str, k: int, n: int, target: float) -> float:
    if law == "binomial":
        if target in (0.0, 1.0):
            return 0.0 if k == round(n * target) else -math.inf
        return (math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)
                + k * math.log(target) + (n - k) * math.log(1 - target))  # fmt: skip
    mean = n * target
    return k * math.log(mean) - mean - math.lgamma(k + 1)


def oracle(n: int, target: float, p: float, law: str = "binomial") -> float:
    """Spiegelhalter's (2005, A.1.1) limit: r the smallest count with F(r) ≥ p, then
    (r − α) / n with α = (F(r) − p) / (F(r) − F(r − 1)), summing the law term by term."""
    total, k = 0.0, 0
    while True:
        term = math.exp(_log_pmf(law, k, n, target))
        if total + term >= p:
            alpha = (total + term - p) / term
            return max(0.0, (k - alpha) / n)
        total += term
        k += 1


def test_the_worked_example_counted_by_hand() -> None:
    # Binomial(10, ½): F(1) = 11/1024, F(2) = 56/1024; the 2.5 % quantile is 2,
    # α = (56/1024 − 0.025) / (45/1024) = 0.675556, limit (2 − α) / 10
    alpha = (56 / 1024 - 0.025) / (45 / 1024)
    assert limits(np.array([10.0]), 0.5, 0.025)[0] == pytest.approx((2 - alpha) / 10, abs=1e-12)
    # Poisson of mean 10 (n = 1000, 1 %): F(4) = 0.029253, F(3) = 0.010336
    f3 = sum(math.exp(-10) * 10**k / math.factorial(k) for k in range(4))
    f4 = f3 + math.exp(-10) * 10**4 / math.factorial(4)
    expected = (4 - (f4 - 0.025) / (f4 - f3)) / 1000
    assert limits(np.array([1000.0]), 0.01, 0.025, "poisson")[0] == pytest.approx(expected)


@pytest.mark.parametrize("law", ["binomial", "poisson"])
@pytest.mark.parametrize("target", [0.003, 0.05, 0.2246, 0.5, 0.93])
def test_exact_limits_equal_an_independent_computation(law: str, target: float) -> None:
    if law == "poisson" and target > 0.5:
        target /= 10  # a rate of events per person
    sizes = np.array([1, 2, 3, 7, 10, 25, 60, 141, 500, 1234, 4000.0])
    for p in Z:
        got = limits(sizes, target, p, law)
        expected = [oracle(int(n), target, p, law) for n in sizes]
        assert got == pytest.approx(expected, abs=1e-9), (law, target, p)


def test_large_denominators_meet_the_normal_approximation_and_fingertips_limits() -> None:
    target, n = 0.1343, np.array([20_000.0, 100_000.0, 1_000_000.0])
    for p, z in Z.items():
        exact = limits(n, target, p)
        normal = target + z * np.sqrt(target * (1 - target) / n)  # Spiegelhalter (2005), eq. 4
        assert exact == pytest.approx(normal, abs=2 / n.min())
        # PHEindicatormethods (Fingertips): the Wilson score bound around the target
        q = abs(z)
        first = target * (n / q**2 + 1)
        root = np.sqrt((-8 * target * (n / q**2 + 1)) ** 2 - 64 * (1 / q**2 + 1 / n) * target
                       * (n * (target * (n / q**2 + 2) - 1) + q**2 * (target - 1)))  # fmt: skip
        wilson = (first + np.sign(z) * root / 8) / (1 / q**2 + 1 / n) / n
        assert exact == pytest.approx(wilson, abs=2 / n.min())


def test_limits_widen_as_denominators_shrink_and_positions_follow_them() -> None:
    drawn = curve(5, 50_000, 0.2)
    # exact limits of a discrete law step a little (not monotone), but narrow as n grows
    assert drawn["95_high"][-1] < drawn["95_high"][len(drawn["n"]) // 2] < drawn["95_high"][0]
    assert drawn["95_low"][-1] > drawn["95_low"][len(drawn["n"]) // 2] > drawn["95_low"][0]
    assert (drawn["95_low"] <= 0.2).all() and (drawn["95_high"] >= 0.2).all()
    assert (drawn["99.8_high"] >= drawn["95_high"]).all()
    assert (drawn["99.8_low"] <= drawn["95_low"]).all()
    n = np.array([100.0, 100.0, 100.0, 100.0, 100.0, 0.0])
    at = bounds(n, 0.2)
    values = np.array([0.2, at["95_high"][0] + 1e-6, at["99.8_high"][0] + 1e-6,
                       at["95_low"][0] - 1e-6, at["99.8_low"][0] - 1e-6, 0.9])  # fmt: skip
    assert position(values, at).tolist() == [0, 1, 2, -1, -2, 0]
    with pytest.raises(ValueError, match="proportion"):
        limits(np.array([10.0]), 1.5, 0.025)


# -- the real census comparator --------------------------------------------------------------------
def _census_93() -> pd.DataFrame:
    """The raw comparator's communes of the 93 in the 2026 geography: Pierrefitte-sur-Seine
    (93059) merged into Saint-Denis (93066) in 2025, their counts added."""
    path = DATA / "census" / "base_cc_comparateur_csv_RP2018.zip"
    with zipfile.ZipFile(path) as archive, archive.open("base_cc_comparateur.CSV") as handle:
        raw = pd.read_csv(handle, sep=";", dtype={"CODGEO": str})
    raw = raw[raw.CODGEO.str.startswith("93")].copy()
    raw["code"] = raw.CODGEO.replace({"93059": "93066"})
    return raw.groupby("code")[["P18_CHOM1564", "P18_ACT1564"]].sum()


@needs_data
def test_the_funnel_of_unemployment_in_the_93_is_pandas_over_the_raw_file(
    census_home: Path,
) -> None:
    raw = _census_93()
    with Observatory.open(census_home) as obs:
        found = obs.views.funnel("taux_chomage_15_64", level="commune", within="93")
        pooled = obs.views.funnel("taux_chomage_15_64", level="commune", within="93",
                            reference="ensemble")  # fmt: skip
        public = obs.views.funnel("taux_chomage_15_64", level="commune", within="93", reader=PUBLIC)
    assert found.period == "2018" and found.law == "binomial"
    assert found.reference == {"level": "departement", "code": "93", "name": "Seine-Saint-Denis"}
    target = 100 * raw.P18_CHOM1564.sum() / raw.P18_ACT1564.sum()
    assert found.target == pytest.approx(target)
    assert pooled.target == pytest.approx(target)  # the département is its communes
    points = found.points.set_index("code")
    assert sorted(points.index) == sorted(raw.index) and found.left_out.empty  # 39 communes
    assert points.value.to_numpy() == pytest.approx(
        (100 * raw.P18_CHOM1564 / raw.P18_ACT1564).reindex(points.index).to_numpy()
    )
    assert points.denominator.to_numpy() == pytest.approx(raw.P18_ACT1564[points.index].to_numpy())
    for code in ("93066", "93001", "93061"):  # the largest, a middle one, a small one
        n = round(float(raw.P18_ACT1564[code]))
        for column, p in (("low_95", 0.025), ("high_95", 0.975),
                          ("low_99_8", 0.001), ("high_99_8", 0.999)):  # fmt: skip
            expected = 100 * oracle(n, target / 100, p)
            assert points.loc[code, column] == pytest.approx(expected, abs=1e-7), (code, column)
        value = points.value[code]
        side = (2 if value > points.high_99_8[code] else 1 if value > points.high_95[code]
                else -2 if value < points.low_99_8[code] else -1 if value < points.low_95[code]
                else 0)  # fmt: skip
        assert points.position[code] == side
    # Saint-Denis (with Pierrefitte): 22.0 % of its active population unemployed, far above
    # the 93's 17.9 %
    assert points.position["93066"] == 2
    assert points.assessment["93066"] == "moins favorable (99,8 %)"
    assert "Effectifs estimés" in " ".join(found.notes)  # weighted census counts
    # no secret on unemployment: the public sees the same funnel
    pd.testing.assert_frame_equal(public.points, found.points)


@needs_data
def test_a_funnel_refuses_what_has_no_counts_and_availability_counts_statuses(
    census_home: Path,
) -> None:
    from observatoire.errors import InputError

    with Observatory.open(census_home) as obs:
        with pytest.raises(InputError, match="seul un taux calculé sur des effectifs"):
            obs.views.funnel("population", level="commune", within="93")
        with pytest.raises(InputError, match="aucune valeur au niveau commune en 2013"):
            obs.views.funnel("taux_chomage_15_64", within="93", period="2013")
        table = obs.views.availability("taux_chomage_15_64")
        analyst = obs.indicator("taux_chomage_15_64", level="commune")
    row = table[(table.level == "commune") & (table.period == "2018")].iloc[0]
    counted = analyst[analyst.period == "2018"].status.value_counts()
    assert row["values"] == counted.get("ok", 0) + counted.get("partial", 0)
    assert row.territories == analyst.code.nunique()
    # every territory of the level is counted once: with a value, secret, or without one
    assert row.ok + row.partial + row.secret + row.other == row.territories
    assert row.other == row.territories - counted.get("ok", 0) - counted.get("partial", 0)
    assert list(table.level.drop_duplicates()) == [
        lv for lv in ("commune", "epci", "departement", "region", "pays") if lv in set(table.level)
    ]


UNEMPLOYED_RULE = """theme: emploi-insertion
indicators:
  - id: chomeurs_sous_secret
    label: "Chômeurs de 15 à 64 ans (règle de secret de test)"
    unit: personnes
    formula: {variable: ["rp.CHOM1564"]}
    aggregation: sum
    secret: {min_count: 150, audiences: [public]}
"""


@needs_data
def test_a_public_funnel_places_no_masked_commune(census_home: Path, tmp_path: Path) -> None:
    """A rule masks the unemployed below 150 for the public (a rule made up for the test):
    the public's funnel places none of the communes masked for it, and its JSON holds
    none of their counts; the analyst's places them all."""
    import shutil

    from fastapi.testclient import TestClient

    from observatoire.web.app import create_app

    home = tmp_path / "obs"
    shutil.copytree(census_home, home)
    (home / "indicateurs" / "chomeurs.yaml").write_text(UNEMPLOYED_RULE, encoding="utf-8")
    code, out = run("compute", home=home)
    assert code == 0, out
    with Observatory.open(home) as obs:
        seen = obs.indicator("taux_chomage_15_64", level="commune", within="94", reader=PUBLIC)
        masked = set(seen[seen.status == "secret"].code)
        analyst = obs.views.funnel("taux_chomage_15_64", level="commune", within="94")
        public = obs.views.funnel("taux_chomage_15_64", level="commune", within="94", reader=PUBLIC)
        with TestClient(create_app(obs)) as client:
            body = client.get("/api/v1/indicators/taux_chomage_15_64/funnel",
                              params={"within": "94"}).text  # fmt: skip
    assert masked, "the rule masks some communes of the 94"
    assert masked <= set(analyst.points.code)
    assert not masked & set(public.points.code)
    assert masked <= set(public.left_out[public.left_out.reason == "secret statistique"].code)
    assert set(public.points.code) == set(analyst.points.code) - masked
    payload = json.loads(body)
    leaked = [p for p in payload["points"] if p["code"] in masked]
    assert not leaked
    for row in payload["left_out"]:
        assert set(row) == {"code", "name", "status", "reason"}


@needs_data
def test_the_funnel_from_the_command_line_and_the_web(census_home: Path, tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from observatoire.web.app import create_app

    drawing = tmp_path / "entonnoir.svg"
    code, out = run("funnel", "taux_chomage_15_64", "--within", "93", "--all", "--format", "csv",
                    "--drawing", str(drawing), "--highlight", "93066",
                    home=census_home)  # fmt: skip
    assert code == 0, out
    assert "39 territoires placés" in out and "référence Seine-Saint-Denis" in out
    assert drawing.read_text(encoding="utf-8").count("<circle") >= 39
    code, out = run("indicators", "availability", "taux_chomage_15_64", "--format", "json",
                    home=census_home)  # fmt: skip
    assert code == 0, out
    rows = json.loads(out[out.index("[") :])
    assert {"niveau": "commune", "période": "2018"}.items() <= rows[0].items()

    with Observatory.open(census_home) as obs, TestClient(create_app(obs)) as client:
        asked = {"niveau": "commune", "dans": "93", "territoire": "93066"}
        page = client.get("/indicateurs/taux_chomage_15_64/entonnoir", params=asked)
        assert page.status_code == 200, page.text
        assert "<svg" in page.text and "Saint-Denis" in page.text
        assert "moins favorable (99,8 %)" in page.text
        data = client.get("/indicateurs/taux_chomage_15_64/entonnoir.json",
                          params={"niveau": "commune", "dans": "93"}).json()  # fmt: skip
        assert data["funnel"]["counts"]["placed"] == 39
        csv = client.get("/indicateurs/taux_chomage_15_64/entonnoir.csv",
                         params={"niveau": "commune", "dans": "93"})  # fmt: skip
        assert csv.status_code == 200 and csv.text.count("\n") >= 40
        for suffix, media in (("svg", "image/svg+xml"), ("png", "image/png")):
            picture = client.get(f"/indicateurs/taux_chomage_15_64/entonnoir/graphique.{suffix}",
                                 params={"dans": "93"})  # fmt: skip
            assert picture.status_code == 200 and picture.headers["content-type"] == media
        refused = client.get("/indicateurs/population/entonnoir", params={"dans": "93"})
        assert refused.status_code == 200 and "Pas de graphique en entonnoir" in refused.text
        indicator = client.get("/indicateurs/taux_chomage_15_64", params={"dans": "93"})
        assert "/indicateurs/taux_chomage_15_64/entonnoir?" in indicator.text
        assert "Niveaux et périodes disponibles" in indicator.text
        api = client.get("/api/v1/indicators/taux_chomage_15_64/availability").json()
        assert any(r["level"] == "commune" and r["values"] > 30_000 for r in api["rows"])


@needs_data
def test_counts_are_shown_only_when_they_are_the_published_ones(
    census_home: Path, tmp_path: Path
) -> None:
    """Between an import and ``compute`` the data move while the stored values (and their
    masks) stay: a count that does not give the value and interval shown is never shown —
    neither in a funnel nor in a gradient — and a restricted reader is not told which
    territories moved. Here the stored interval of Bobigny (93008) no longer matches the
    data, as after an import of a revised edition."""
    import shutil

    home = tmp_path / "obs"
    shutil.copytree(census_home, home)
    with Observatory.open(home, write=True) as obs, obs.warehouse.transaction() as tx:
        tx.execute("UPDATE indicator_value SET ci_high = ci_high + 0.5 WHERE indicator = ? "
                   "AND level = 'commune' AND code = '93008'", ["taux_chomage_15_64"])  # fmt: skip
    with Observatory.open(home) as obs:
        analyst = obs.views.funnel("taux_chomage_15_64", level="commune", within="93")
        public = obs.views.funnel("taux_chomage_15_64", level="commune", within="93", reader=PUBLIC)
        gradient = obs.views.gradient("taux_chomage_15_64", level="commune", within="93",
                                reader=PUBLIC)  # fmt: skip
    for found in (analyst, public):
        assert "93008" not in set(found.points.code)
        assert len(found.points) == 38
    why = dict(zip(analyst.left_out.code, analyst.left_out.reason, strict=True))
    assert "relancez compute" in why["93008"]
    said = dict(zip(public.left_out.code, public.left_out.reason, strict=True))
    assert said["93008"] == "effectifs non disponibles (valeurs en cours de recalcul)"
    # the gradient falls back to values it may show: no count of the moved commune
    assert gradient.method.startswith("moyenne des territoires")
    assert "numerator" not in gradient.members
