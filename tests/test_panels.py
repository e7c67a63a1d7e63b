"""Maps side by side, bivariate maps and maps of change, on the real census comparator
(RP 2018 and 2013, with Filosofi's 2019 median; ../shared/data/README).

The classes are checked against mapclassify (the oracle of the platform's breaks), the
bivariate terciles against mapclassify's and pandas over the raw file, the change against
pandas over the raw file; Chromium renders four synced maps and a bivariate legend square.
"""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path
from typing import Any

import mapclassify
import numpy as np
import pandas as pd
import pytest

from observatoire.observatory import Observatory
from observatoire.outputs.palettes import BIVARIATE
from observatoire.outputs.panels import (
    bivariate_panel,
    change_panel,
    figure_of,
    indicator_panel,
)

from .conftest import DATA, needs_data, run, serving

pytestmark = needs_data
WITHIN = ("departement", "93")


def _raw() -> pd.DataFrame:
    """The comparator's communes of the 93 in the 2026 geography (Pierrefitte-sur-Seine
    merged into Saint-Denis in 2025: its counts added; its median, of other boundaries, is
    not Saint-Denis')."""
    path = DATA / "census" / "base_cc_comparateur_csv_RP2018.zip"
    with zipfile.ZipFile(path) as archive, archive.open("base_cc_comparateur.CSV") as handle:
        raw = pd.read_csv(handle, sep=";", dtype={"CODGEO": str})
    raw = raw[raw.CODGEO.str.startswith("93")].copy()
    raw["code"] = raw.CODGEO.replace({"93059": "93066"})
    counts = raw.groupby("code")[["P18_POP", "P13_POP", "P18_CHOM1564", "P18_ACT1564"]].sum()
    counts["median"] = raw[~raw.CODGEO.isin(["93059", "93066"])].set_index("code").MED19
    return counts


def test_each_map_has_its_own_classes_and_the_bivariate_its_terciles(census_home: Path) -> None:
    raw = _raw()
    rate = 100 * raw.P18_CHOM1564 / raw.P18_ACT1564
    with Observatory.open(census_home) as obs:
        first = indicator_panel(obs, "taux_chomage_15_64", "commune", WITHIN)
        second = indicator_panel(obs, "niveau_vie_median", "commune", WITHIN)
        both = bivariate_panel(obs, "taux_chomage_15_64", "niveau_vie_median", "commune", WITHIN)
        change = change_panel(obs, "population", "commune", WITHIN, "2013", "2018")
    # each map its quantiles, as mapclassify cuts them, and its own legend
    bins = mapclassify.Quantiles(rate.to_numpy(), k=5)
    colours = [e["colour"] for e in first.legend if e["kind"] == "class"]
    for code, klass in zip(rate.index, bins.yb, strict=True):
        assert first.fills[code] == colours[klass], code
    assert [e["count"] for e in first.legend] == np.bincount(bins.yb).tolist()
    assert first.values["93066"] == pytest.approx(rate["93066"])
    assert {e["kind"] for e in second.legend} == {"class", "unavailable"}  # Saint-Denis
    assert first.legend != second.legend
    # the bivariate map: terciles of the 38 communes with both values
    shared = raw.dropna(subset=["median"]).index
    i = mapclassify.Quantiles(rate[shared].to_numpy(), k=3).yb
    j = mapclassify.Quantiles(raw.loc[shared, "median"].to_numpy(), k=3).yb
    for code, a, b in zip(shared, i, j, strict=True):
        assert both.fills[code] == BIVARIATE[b][a], code
    assert both.kinds["93066"] != "class" and len(both.square) == 3
    # the change: the population of 2018 less 2013's, commune by commune
    expected = raw.P18_POP - raw.P13_POP
    for code, value in expected.items():
        assert change.values[code] == pytest.approx(value), code


def test_one_figure_from_the_command_line_and_the_pages(census_home: Path, tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from observatoire.web.app import create_app

    figure = tmp_path / "cartes.svg"
    code, out = run("maps", "--map", "taux_chomage_15_64", "--map", "niveau_vie_median",
                    "--within", "93", "-o", str(figure), home=census_home)  # fmt: skip
    assert code == 0, out
    text = figure.read_text(encoding="utf-8")
    assert "Taux de chômage des 15-64 ans" in text and "Niveau de vie médian" in text
    code, out = run("maps", "--bivariate", "--map", "taux_chomage_15_64", "--within", "93",
                    "-o", str(tmp_path / "b.png"), home=census_home)  # fmt: skip
    assert code != 0 and "--map" in out
    with Observatory.open(census_home) as obs, TestClient(create_app(obs)) as client:
        asked = {"mode": "bivariee", "carte": ["taux_chomage_15_64", "niveau_vie_median"],
                 "dans": "93"}  # fmt: skip
        page = client.get("/cartes", params=asked)
        assert page.status_code == 200 and 'class="square"' in page.text
        assert client.get("/cartes.png", params=asked).content.startswith(b"\x89PNG")
        with_units = figure_of(obs, [indicator_panel(obs, "population", "commune", WITHIN)],
                               "commune", WITHIN)  # fmt: skip
        assert with_units.count("<path") >= 39
        refused = client.get("/cartes", params={"mode": "evolution", "carte": "population"})
        assert refused.status_code == 200 and "Pas de carte" in refused.text


def test_four_maps_pan_and_zoom_together_in_chromium(
    census_home: Path, tmp_path: Path, browser: Any
) -> None:
    home = tmp_path / "obs"
    shutil.copytree(census_home, home)
    maps = ["taux_chomage_15_64", "niveau_vie_median", "taux_activite_15_64", "population@2013"]
    query = "&".join(f"carte={m.replace('@', '%40')}" for m in maps) + "&dans=93"
    with serving(home, tmp_path / "serve.log") as base:
        context = browser.new_context(bypass_csp=True)  # the test's own probes only
        page = context.new_page()
        page.goto(f"{base}/cartes?{query}")
        page.wait_for_function("() => (window.observatoirePanels || []).length === 4")
        page.locator("#panel-3 path.leaflet-interactive").first.wait_for()
        for n in range(4):  # every commune drawn on every map
            assert page.locator(f"#panel-{n} path.leaflet-interactive").count() == 39
        zoom = page.evaluate("() => window.observatoirePanels[0].getZoom()")
        page.evaluate("() => window.observatoirePanels[2].setView([48.93, 2.36], "
                      "window.observatoirePanels[2].getZoom() + 1, {animate: false})")  # fmt: skip
        views = page.evaluate("() => window.observatoirePanels.map(m => "
                              "[m.getCenter().lat, m.getCenter().lng, m.getZoom()])")  # fmt: skip
        assert all(v == pytest.approx([48.93, 2.36, zoom + 1]) for v in views), views
        page.screenshot(path=str(tmp_path / "cartes.png"), full_page=True)
        page.goto(f"{base}/cartes?mode=bivariee&carte=taux_chomage_15_64"
                  "&carte=niveau_vie_median&dans=93")  # fmt: skip
        page.locator("#panel-0 path.leaflet-interactive").first.wait_for()
        square = page.locator(".bivariate-legend .square span")
        assert square.count() == 9
        box = page.locator(".bivariate-legend .square").bounding_box()
        assert box is not None and abs(box["width"] - box["height"]) < 4  # a square
        page.screenshot(path=str(tmp_path / "bivariee.png"), full_page=True)
        context.close()
