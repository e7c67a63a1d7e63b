"""The significance heatmap (« tartan rug »): territories × indicators, each cell the comparison
engine's verdict against a reference.

Checked on the real census comparator (RP 2018, see ../shared/data/README): every cell equals
the comparison engine's assessment, and equals an independent computation — the Wilson
interval of statsmodels over pandas sums of the raw file, the département as the reference.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint

from observatoire.engine.heatmap import category_of
from observatoire.observatory import Observatory

from .conftest import DATA, needs_data, run

pytestmark = needs_data
RATES = {  # indicator → numerator, denominator, polarity in the catalogue
    "taux_chomage_15_64": ("P18_CHOM1564", "P18_ACT1564", "lower_is_better"),
    "taux_activite_15_64": ("P18_ACT1564", "P18_POP1564", "neutral"),
}


def _raw_93() -> pd.DataFrame:
    """The comparator's communes of the 93 in the 2026 geography (Pierrefitte-sur-Seine,
    93059, merged into Saint-Denis, 93066, in 2025: their counts added)."""
    path = DATA / "census" / "base_cc_comparateur_csv_RP2018.zip"
    with zipfile.ZipFile(path) as archive, archive.open("base_cc_comparateur.CSV") as handle:
        raw = pd.read_csv(handle, sep=";", dtype={"CODGEO": str})
    raw = raw[raw.CODGEO.str.startswith("93")].copy()
    raw["code"] = raw.CODGEO.replace({"93059": "93066"})
    columns = sorted({c for n, d, _ in RATES.values() for c in (n, d)})
    return raw.groupby("code")[columns].sum()


def _expected(raw: pd.DataFrame, numerator: str, denominator: str, polarity: str) -> dict:
    """Each commune's verdict from the raw file: its rate's Wilson interval (statsmodels)
    against the département's rate (the ratio of the sums)."""
    reference = 100 * raw[numerator].sum() / raw[denominator].sum()
    out = {}
    for code, row in raw.iterrows():
        low, high = proportion_confint(row[numerator], row[denominator], method="wilson")
        value = 100 * row[numerator] / row[denominator]
        if 100 * low <= reference <= 100 * high:
            out[code] = "similar"
        elif polarity == "neutral":
            out[code] = "higher" if value > reference else "lower"
        else:
            lower_better = polarity == "lower_is_better"
            out[code] = "better" if (value < reference) == lower_better else "worse"
    return out


def test_every_cell_is_the_comparison_engine_s_and_the_raw_file_s(census_home: Path) -> None:
    raw = _raw_93()
    with Observatory.open(census_home) as obs:
        found = obs.views.heatmap(level="commune", within="93", indicators=list(RATES))
        themed = obs.views.heatmap(level="commune", within="93", theme="emploi-insertion")
        engine = {
            ident: obs.compare(
                ident, level="commune", reference="departement", within="93", period="2018"
            ).set_index("code")
            for ident in RATES
        }
    assert found.reference == {"level": "departement", "code": "93", "name": "Seine-Saint-Denis"}
    assert len(found.territories) == 39 and [c["period"] for c in found.indicators] == ["2018"] * 2
    grid = found.grid()
    for ident, (numerator, denominator, polarity) in RATES.items():
        compared = engine[ident]
        by_engine = {c: category_of(compared.assessment[c], compared.status[c],
                                    compared.value[c]) for c in grid.index}  # fmt: skip
        assert grid[ident].to_dict() == by_engine, ident
        assert grid[ident].to_dict() == _expected(raw, numerator, denominator, polarity)
    reference = 100 * raw.P18_CHOM1564.sum() / raw.P18_ACT1564.sum()
    assert found.indicators[0]["reference_value"] == pytest.approx(reference)
    # Saint-Denis: 22.0 % unemployed against 17.9 % in the 93, far outside its interval
    assert grid.taux_chomage_15_64["93066"] == "worse"
    # a theme shows its rates, shares and medians: never its counts
    kinds = {str(c["id"]) for c in themed.indicators}
    assert set(RATES) <= kinds and "chomeurs_15_64" not in kinds


def test_the_heatmap_on_the_command_line_the_pages_and_the_api(
    census_home: Path, tmp_path: Path
) -> None:
    from fastapi.testclient import TestClient
    from openpyxl import load_workbook

    from observatoire.web.app import create_app

    workbook, pdf = tmp_path / "ecarts.xlsx", tmp_path / "ecarts.pdf"
    code, out = run("heatmap", "--within", "93", "--theme", "emploi-insertion", "--xlsx",
                    str(workbook), "--pdf", str(pdf), home=census_home)  # fmt: skip
    assert code == 0, out
    assert "Saint-Denis" in out and "22.0 −" in out  # Saint-Denis, worse than the 93
    assert pdf.read_bytes().startswith(b"%PDF")
    sheet = load_workbook(workbook)["Écarts"]
    headers = [c.value for c in sheet[1]]
    column = next(i for i, h in enumerate(headers) if str(h).startswith("Taux de chômage"))
    row = next(r for r in sheet.iter_rows(min_row=2) if r[0].value == "93066")
    assert row[column].fill.fgColor.rgb.endswith("D95F02")  # « moins favorable », orange
    code, out = run("heatmap", "--within", "93", "--indicator", "taux_chomage_15_64",
                    "--format", "csv", home=census_home)  # fmt: skip
    assert code == 0, out
    cells = pd.read_csv(io.StringIO(out[out.index("code,") :]), dtype={"code": str})
    assert len(cells) == 39
    assert cells.set_index("code").comparaison["93066"] == "significativement moins favorable"

    with Observatory.open(census_home) as obs, TestClient(create_app(obs)) as client:
        asked = {"niveau": "commune", "dans": "93", "theme": "emploi-insertion"}
        page = client.get("/ecarts", params=asked)
        assert page.status_code == 200 and "heat-worse" in page.text
        assert "Saint-Denis" in page.text
        data = client.get("/ecarts.json", params=asked).json()
        assert len(data["heatmap"]["rows"]) == 39
        for suffix, start in (("csv", b"code"), ("pdf", b"%PDF"), ("xlsx", b"PK")):
            answer = client.get(f"/ecarts.{suffix}", params=asked)
            body = answer.content.lstrip(b"\xef\xbb\xbf")
            assert answer.status_code == 200 and body.startswith(start), suffix
        api = client.get("/api/v1/heatmap", params={"within": "93", "theme": "emploi-insertion"})
        assert api.status_code == 200, api.text
        rows = {r["code"]: r for r in api.json()["rows"]}
        assert {c["category"] for c in rows["93066"]["cells"]} >= {"worse"}
        refused = client.get("/ecarts", params={"niveau": "iris", "dans": "93066",
                                                "theme": "emploi-insertion"})  # fmt: skip
        assert refused.status_code == 200 and "Pas de tableau" in refused.text
        territory = client.get("/territoires/departement/93")
        assert "/ecarts?niveau=commune" in territory.text
        assert json.loads(client.get("/ecarts.json?theme=nimporte").text)["error"]
