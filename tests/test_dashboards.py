"""Dashboards on real census values: default ones per theme, declared ones, the audience's
secret, the web pages and the PDF."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from observatoire.errors import InputError
from observatoire.observatory import Observatory
from observatoire.outputs.dashboard import build_dashboard, dashboard_specs, find_spec
from observatoire.secret.policy import ANALYST, PUBLIC
from observatoire.web import create_app

from .conftest import needs_data, run

BIRTHS = """id: naissances
titre: Naissances
description: Suivi des naissances par commune.
territoire: departement:04
tuiles:
  - type: chiffre
    indicateur: part_naissances
  - type: carte
    indicateur: naissances_annuelles
  - type: tableau
    indicateurs: [naissances_annuelles, part_naissances]
"""


@pytest.fixture
def home(census_home: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "obs"
    shutil.copytree(census_home, copy)
    (copy / "tableaux").mkdir()
    (copy / "tableaux" / "naissances.yaml").write_text(BIRTHS, encoding="utf-8")
    return copy


@needs_data
def test_default_dashboards_show_the_engine_s_figures(home: Path) -> None:
    with Observatory.open(home) as obs:
        specs = {s.id: s for s in dashboard_specs(obs)}
        assert "naissances" in specs and "theme-emploi-insertion" in specs
        board = build_dashboard(obs, specs["theme-emploi-insertion"], reader=PUBLIC)
        profile = obs.profile("departement:93", reader=PUBLIC)
        region = obs.profile("region:11", reader=PUBLIC)
    assert board.territory["name"] == "Seine-Saint-Denis"  # the observatory's territory
    figures = [t for t in board.tiles if t["type"] == "chiffre"]
    assert len(figures) == 4
    for tile in figures:
        rows = profile[
            (profile.indicator == tile["indicator"]) & profile.status.isin(["ok", "partial"])
        ]
        latest = rows.sort_values("period").iloc[-1]
        assert tile["value"] == pytest.approx(latest.value) and tile["period"] == str(latest.period)
        if "reference" in tile:
            ref = region[(region.indicator == tile["indicator"]) & (region.period == latest.period)]
            assert tile["reference"]["value"] == pytest.approx(float(ref.value.iloc[0]))
    mapped = next(t for t in board.tiles if t["type"] == "carte")
    assert mapped["svg"].count("<path") >= 39 and sum(e["count"] for e in mapped["legend"]) == 39
    table = next(t for t in board.tiles if t["type"] == "tableau")
    assert len(table["rows"]) == 39 and table["columns"]


@needs_data
def test_a_declared_dashboard_keeps_the_public_s_secret(home: Path) -> None:
    with Observatory.open(home) as obs:
        spec = find_spec(obs, "naissances")
        public = build_dashboard(obs, spec, reader=PUBLIC)
        analyst = build_dashboard(obs, spec, reader=ANALYST)
    assert public.territory["name"] == "Alpes-de-Haute-Provence"
    truth = {r["code"]: r["cells"]["naissances_annuelles"] for r in analyst.tiles[2]["rows"]}
    shown = {r["code"]: r["cells"]["naissances_annuelles"] for r in public.tiles[2]["rows"]}
    small = [c for c, cell in truth.items() if cell["value"] is not None and 0 < cell["value"] < 5]
    assert len(small) > 20
    for code in small:
        assert shown[code]["value"] is None and shown[code]["text"] == "secret"
    assert "secret statistique" in {e["label"] for e in public.tiles[1]["legend"]}
    assert all(str(int(truth[c]["value"])) not in shown[c]["text"] for c in small)


@needs_data
def test_declarations_are_checked_with_the_file_and_field(home: Path) -> None:
    bad = home / "tableaux" / "casse.yaml"
    bad.write_text(
        "tuiles:\n  - type: chiffre\n    indicateur: part_naissances\n  - type: camembert\n",
        encoding="utf-8",
    )
    with (
        Observatory.open(home) as obs,
        pytest.raises(InputError, match=r"casse\.yaml : tuiles\[2\]\.type"),
    ):
        dashboard_specs(obs)
    bad.write_text("tuiles:\n  - type: chiffre\n    indicateur: part_naissance\n", encoding="utf-8")
    with (
        Observatory.open(home) as obs,
        pytest.raises(InputError, match=r"tuiles\[1\].*part_naissances"),
    ):
        dashboard_specs(obs)


@needs_data
def test_dashboards_on_the_web_and_the_command_line(home: Path, tmp_path: Path) -> None:
    with Observatory.open(home) as obs, TestClient(create_app(obs)) as client:
        listed = client.get("/tableaux-de-bord")
        assert listed.status_code == 200 and "Naissances" in listed.text
        page = client.get("/tableaux-de-bord/theme-cadrage?territoire=93066")
        assert page.status_code == 200 and "Saint-Denis" in page.text
        assert "pas de valeurs à ce niveau" in page.text  # no IRIS values in the census file
        page = client.get("/tableaux-de-bord/theme-cadrage?territoire=departement:93")
        assert page.status_code == 200 and page.text.count('class="svgmap"') == 1
        twin = client.get("/tableaux-de-bord/naissances.json").json()
        cells = [r["cells"]["naissances_annuelles"] for r in twin["dashboard"]["tiles"][2]["rows"]]
        assert not [c for c in cells if c["value"] is not None and 0 < c["value"] < 5]
        assert "secret" in json.dumps(twin)
        pdf = client.get("/tableaux-de-bord/naissances.pdf")
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
        assert client.get("/tableaux-de-bord/inconnu").status_code == 404
    code, printed = run("dashboard", "list", home=home)
    assert code == 0 and "naissances" in printed and "theme-cadrage" in printed
    code, printed = run(
        "dashboard", "export", "naissances", "-o", str(tmp_path / "n.pdf"), home=home
    )
    assert code == 0, printed
    assert (tmp_path / "n.pdf").read_bytes().startswith(b"%PDF")
    code, printed = run(
        "dashboard", "export", "naissances", "-o", str(tmp_path / "n.doc"), home=home
    )
    assert code != 0 and ".pdf ou .html" in printed


@needs_data
def test_a_table_tile_lists_the_observatory_s_zones_in_french_order_page_by_page(
    home: Path, tmp_path: Path
) -> None:
    """The 198 communes of the Alpes-de-Haute-Provence in French order (pandas over the
    same rows, accents folded), 25 a page on the web, highest first with ``tri``; with a
    zoning of the observatory inside the territory, its zones by default, named by label."""
    import unicodedata

    (home / "tableaux" / "par-rsa.yaml").write_text(
        "id: par-naissances\ntitre: Par naissances\nterritoire: departement:04\ntuiles:\n"
        "  - type: tableau\n    indicateurs: [naissances_annuelles]\n"
        "    tri: naissances_annuelles\n    lignes: 10\n",
        encoding="utf-8",
    )
    with Observatory.open(home) as obs:
        board = build_dashboard(obs, find_spec(obs, "naissances"), reader=ANALYST)
        ranked = build_dashboard(obs, find_spec(obs, "par-naissances"), reader=ANALYST)
        communes = obs.geography.territories(level="commune", within="departement:04")
    table = board.tiles[2]
    assert table["level_label"] == "Communes" and table["per_page"] == 25
    names = [r["name"] for r in table["rows"]]

    def folded(name: str) -> str:
        bare = unicodedata.normalize("NFKD", name.lower().replace("œ", "oe"))
        return "".join(c for c in bare if c.isalnum() and not unicodedata.combining(c))

    assert len(names) == len(communes) and names == sorted(communes.name, key=folded)
    top = ranked.tiles[0]
    values = [r["cells"]["naissances_annuelles"]["value"] for r in top["rows"]]
    known = [v for v in values if v is not None]
    assert known == sorted(known, reverse=True) and top["per_page"] == 10
    with TestClient(create_app(Observatory.open(home))) as client:
        page = client.get("/tableaux-de-bord/naissances?page=2").text
    assert f"Lignes 26 à 50 sur {len(names)}" in page and 'href="?page=3"' in page
    assert names[25] in page and names[24] not in page.split("tile-table")[-1]
    zones = tmp_path / "zones.csv"
    zones.write_text(
        "Code INSEE;Code EDS;Libellé EDS\n"
        + "".join(f"{c};E{i % 3};Espace {i % 3}\n" for i, c in enumerate(communes.code)),
        encoding="utf-8",
    )
    code, out = run("zoning", "import", "eds04", str(zones), "--label", "Espaces 04", home=home)
    assert code == 0, out
    with Observatory.open(home) as obs:
        zoned = build_dashboard(obs, find_spec(obs, "naissances"), reader=ANALYST).tiles[2]
    assert zoned["level"] == "eds04" and zoned["level_label"] == "Espaces 04"
    assert [r["name"] for r in zoned["rows"]] == ["Espace 0", "Espace 1", "Espace 2"]
