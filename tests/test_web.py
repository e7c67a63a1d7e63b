"""The web extranet and its API, on real data: the referential, the census comparator (births
under a secret rule for the public) and the demo's labels. A real server is started once."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from observatoire.observatory import Observatory
from observatoire.secret.policy import PUBLIC
from observatoire.web import create_app

from .conftest import A11Y_CHECK, SCREENSHOTS, needs_data, serving

PAGES = [
    "/",
    "/indicateurs",
    "/indicateurs?q=pauvrete&theme=social",
    "/recherche?q=saint denis",
    "/indicateurs/naissances_annuelles",
    "/indicateurs/naissances_annuelles?niveau=departement",
    "/indicateurs/part_naissances?dans=04&methode=jenks",
    "/territoires/departement/93",
    "/territoires/commune/93066",
    "/territoires?niveau=commune&dans=93",
    "/comparer",
    "/zonages",
    "/comparer?territoires=93066,93008,departement:93&indicateurs=part_naissances"
    "&indicateurs=naissances_annuelles",
    "/connexion",
]


@pytest.fixture(scope="module")
def web_home(census_home: Path) -> Path:
    return census_home


@pytest.fixture(scope="module")
def client(web_home: Path) -> Iterator[TestClient]:
    with Observatory.open(web_home) as obs, TestClient(create_app(obs)) as test_client:
        yield test_client


def _twin(url: str, suffix: str = "json") -> str:
    path, _, query = url.partition("?")
    path = "/index" if path == "/" else path
    return f"{path}.{suffix}" + (f"?{query}" if query else "")


@needs_data
@pytest.mark.parametrize("url", PAGES)
def test_every_page_is_french_html_with_a_json_twin(client: TestClient, url: str) -> None:
    page = client.get(url)
    assert page.status_code == 200, page.text[:500]
    assert page.headers["content-type"].startswith("text/html")
    html = page.text
    assert '<html lang="fr">' in html and "<main" in html and 'href="#contenu"' in html
    assert "<h1" in html
    # everything is served by the application itself: no CDN, no remote script or style
    assert not re.search(r'(src|href)="(https?:)?//', html)
    twin = client.get(_twin(url))
    assert twin.status_code == 200
    assert twin.headers["content-type"].startswith("application/json")
    assert isinstance(twin.json(), dict)
    assert twin.headers["etag"]


@needs_data
def test_the_public_never_receives_a_masked_value(client: TestClient, web_home: Path) -> None:
    with Observatory.open(web_home) as obs:
        truth = obs.indicator("naissances_annuelles", level="commune", within="04")
        public = obs.indicator("naissances_annuelles", level="commune", within="04", reader=PUBLIC)
    masked = set(public.code[public.status == "secret"])
    assert len(masked) > 20  # small communes of the Alpes-de-Haute-Provence
    small = truth[truth.value.between(1, 4)]
    assert set(small.code) <= masked

    def check(rows: list[dict[str, object]]) -> None:
        seen = {r["code"]: r for r in rows}
        assert masked <= set(seen)
        for code in masked:
            row = seen[code]
            assert row["value"] is None and row["ci_low"] is None and row["ci_high"] is None
            assert row["status"] == "secret"

    page = client.get("/indicateurs/naissances_annuelles.json?dans=04").json()
    check(page["values"])
    api = client.get(
        "/api/v1/indicators/naissances_annuelles/values",
        params={"level": "commune", "within": "04", "compare": "departement"},
    )
    check(api.json()["rows"])
    csv = client.get("/indicateurs/naissances_annuelles.csv?dans=04").text
    lines = {line.split(";")[0]: line for line in csv.splitlines()[1:]}
    for code in masked:
        assert lines[code].split(";")[3] == "" and lines[code].split(";")[4] == "secret"
    html = client.get("/indicateurs/naissances_annuelles?dans=04").text
    assert html.count("status-secret") >= len(masked)
    # a commune's own page: the masked count is not in its figures either
    code = sorted(small.code)[0]
    profile = client.get(f"/territoires/commune/{code}.json").json()
    births = [
        i
        for t in profile["themes"]
        for i in t["indicators"]
        if i["indicator"] == "naissances_annuelles"
    ]
    assert births and all(b["value"] is None and b["status"] == "secret" for b in births)
    rows = client.get(f"/api/v1/territories/commune/{code}/indicators").json()["rows"]
    assert all(r["value"] is None for r in rows if r["indicator"] == "naissances_annuelles")
    # nor in a comparison with its département
    compared = client.get(
        "/comparer.json",
        params={"territoires": f"{code}, departement:04", "indicateurs": "naissances_annuelles"},
    ).json()
    cells = compared["indicators"][0]["cells"]
    assert cells[0]["value"] is None and cells[0]["status"] == "secret"
    assert cells[1]["value"] is not None


@needs_data
def test_indicator_page_values_map_and_download(client: TestClient) -> None:
    data = client.get("/indicateurs/part_naissances.json").json()
    assert data["level"] == "commune" and data["within"]["code"] == "93"
    assert len(data["values"]) == 39  # the communes of Seine-Saint-Denis (COG 2026)
    assert data["indicator"]["unit"] == "%" and data["period"] in data["periods"]
    usable = [r for r in data["values"] if r["value"] is not None]
    assert all(r["reference_code"] == "93" for r in usable)
    bounds = data["breaks"]
    for row in usable:  # each value in its class, under its upper bound
        assert row["value"] <= bounds[row["class"]] + 1e-9
        assert row["class"] == 0 or row["value"] > bounds[row["class"] - 1]
    html = client.get("/indicateurs/part_naissances").text
    assert 'id="map"' in html and "/vendor/leaflet/leaflet.js" in html and "<svg" in html
    assert client.get("/vendor/leaflet/leaflet.js").status_code == 200
    geo = client.get("/api/v1/geometries/commune?within=93").json()
    assert geo["type"] == "FeatureCollection" and len(geo["features"]) == 39
    csv = client.get("/indicateurs/part_naissances.csv")
    assert csv.headers["content-type"].startswith("text/csv")
    assert "attachment" in csv.headers["content-disposition"]
    lines = csv.text.lstrip("\ufeff").splitlines()
    assert lines[0].startswith("code;name;period;value;status") and len(lines) == 40
    assert re.search(r";\d+,\d+;", csv.text)  # decimal comma, as a French spreadsheet reads


@needs_data
def test_api_pages_caches_and_describes_itself(client: TestClient) -> None:
    first = client.get(
        "/api/v1/territories", params={"level": "commune", "within": "93", "limit": 10}
    )
    body = first.json()
    assert body["count"] == 39 and len(body["rows"]) == 10 and body["next"]
    rest = client.get(body["next"]).json()
    assert rest["offset"] == 10 and rest["rows"][0]["code"] != body["rows"][0]["code"]
    again = client.get(str(first.url), headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304
    spec = client.get("/api/v1/openapi.json").json()
    for path in (
        "/api/v1/territories",
        "/api/v1/indicators/{ident}/values",
        "/api/v1/geometries/{level}",
        "/api/v1/zonings",
    ):
        assert path in spec["paths"]
    found = client.get("/api/v1/indicators", params={"q": "pauvreté"}).json()
    assert found["count"] >= 10 and all(
        "pauvr" in json.dumps(i).lower() or i["definition"] for i in found["indicators"]
    )


@needs_data
def test_errors_are_french_sentences_with_the_right_status(client: TestClient) -> None:
    page = client.get("/indicateurs/taux_inconnu")
    assert page.status_code == 404 and "Introuvable" in page.text and "taux_inconnu" in page.text
    twin = client.get("/indicateurs/taux_inconnu.json")
    assert twin.status_code == 404 and "taux_inconnu" in twin.json()["error"]
    bad = client.get("/indicateurs/naissances_annuelles.json?periode=1850")
    assert bad.status_code == 400 and "période inconnue" in bad.json()["error"]
    assert client.get("/territoires/commune/99999").status_code == 404
    assert client.get("/api/v1/territories?level=commune&limit=0").status_code == 422


@needs_data
def test_observatoire_serve_answers_over_http(server: str) -> None:
    answer = httpx.get(server + "/", timeout=10)
    assert answer.status_code == 200 and "Test 93" in answer.text
    assert "Seine-Saint-Denis" in answer.text
    assert httpx.get(server + "/api/v1/zonings", timeout=10).json() == []


# -- in a real browser (Debian's chromium driven by Playwright) -----------------------------------
@pytest.fixture(scope="module")
def server(web_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``observatoire serve`` on a free loopback port (read-only: the tests hold the base)."""
    with serving(web_home, tmp_path_factory.mktemp("serve") / "serve.log") as base:
        yield base


@needs_data
def test_in_a_browser_map_table_download_and_keyboard(server: str, browser: Any) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("requestfailed", lambda request: errors.append(request.url))
    page.goto(server + "/")
    page.screenshot(path=SCREENSHOTS / "accueil.png", full_page=True)
    assert page.evaluate(A11Y_CHECK) == []
    page.keyboard.press("Tab")  # the first stop is the skip link
    assert page.evaluate("document.activeElement.getAttribute('href')") == "#contenu"

    page.goto(server + "/indicateurs/part_naissances")
    page.wait_for_selector("path.leaflet-interactive")
    assert page.locator("path.leaflet-interactive").count() == 39
    page.screenshot(path=SCREENSHOTS / "indicateur.png", full_page=True)
    assert page.evaluate(A11Y_CHECK) == []
    page.goto(server + "/indicateurs/naissances_annuelles?dans=93")  # a count: circles
    page.wait_for_function(
        "() => document.querySelectorAll('path.leaflet-interactive').length >= 78"
    )
    page.screenshot(path=SCREENSHOTS / "cercles.png", full_page=True)
    page.get_by_role("button", name="Valeur", exact=True).click()
    values = page.locator("table.sortable tbody td:nth-child(2)").evaluate_all(
        "cells => cells.map(c => c.dataset.sort).filter(v => v !== '').map(Number)"
    )
    assert len(values) > 30 and values == sorted(values)
    assert page.locator("th[aria-sort='ascending']").count() == 1
    with page.expect_download() as download:
        page.get_by_role("link", name="Télécharger (CSV)").click()
    saved = download.value.path()
    assert saved is not None and Path(saved).read_text(encoding="utf-8-sig").startswith("code;")

    page.goto(server + "/territoires/departement/93")
    page.wait_for_selector("path.leaflet-interactive")
    assert page.locator("path.leaflet-interactive").count() == 39  # its communes
    for name, url in (
        ("catalogue", "/indicateurs?q=pauvrete"),
        (
            "comparaison",
            "/comparer?territoires=93066,93008,departement:93,region:11"
            "&indicateurs=part_naissances&indicateurs=taux_chomage_15_64"
            "&indicateurs=part_logements_vacants",
        ),
        ("connexion", "/connexion"),
        ("tableau-de-bord", "/tableaux-de-bord/theme-emploi-insertion"),
        ("territoire", "/territoires/commune/93066"),
        ("departement", "/territoires/departement/93"),
    ):
        page.goto(server + url)
        page.wait_for_load_state("networkidle")  # the map's contours are fetched after load
        page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)
        assert page.evaluate(A11Y_CHECK) == [], url
    assert errors == []

    phone = browser.new_page(viewport={"width": 375, "height": 800})
    phone.goto(server + "/indicateurs/part_naissances")
    phone.wait_for_selector("path.leaflet-interactive")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375
    phone.screenshot(path=SCREENSHOTS / "telephone.png", full_page=True)


def test_answers_are_rebuilt_after_every_committed_write(
    warehouse_location: tuple[str, str],
) -> None:
    """The cache keys on the data version, which every committed transaction changes (and a
    rolled back one does not), on both engines."""
    from observatoire.store import open_warehouse
    from observatoire.web.cache import AnswerCache

    warehouse = open_warehouse(*warehouse_location)
    try:
        warehouse.migrate()
        cache = AnswerCache(warehouse, size=2)
        built: list[int] = []

        def build() -> int:
            built.append(1)
            return len(built)

        assert cache.get(("a",), build) == 1 and cache.get(("a",), build) == 1
        with warehouse.transaction() as tx:
            tx.execute("INSERT INTO meta (key, value) VALUES ('x', 'y')")
        assert cache.get(("a",), build) == 2
        with pytest.raises(RuntimeError), warehouse.transaction() as tx:
            tx.execute("DELETE FROM meta WHERE key = 'x'")
            raise RuntimeError("rolled back")
        assert cache.get(("a",), build) == 2  # nothing committed: same answer
        for key in ("b", "c", "d"):
            cache.get((key,), build)
        assert len(cache) == 2  # bounded
    finally:
        warehouse.close()


@needs_data
def test_territory_page_counts_references_and_sub_territories(client: TestClient) -> None:
    data = client.get("/territoires/departement/93.json").json()
    assert data["territory"]["name"] == "Seine-Saint-Denis"
    assert {"level": "commune", "label": "communes", "count": 39} in data["children"]
    assert [r["code"] for r in data["references"]] == ["11", "FR"]  # région, France
    html = client.get("/territoires/departement/93").text
    assert "<strong>39</strong> communes" in html and 'id="map-data"' in html
    assert "/api/v1/geometries/commune?within=departement:93" in html


def test_api_comparisons_several_territories_and_indicators(client: TestClient) -> None:
    url = (
        "/api/v1/comparisons?territories=93066,93008,departement:93"
        "&indicators=part_naissances&indicators=taux_chomage_15_64"
    )
    answer = client.get(url)
    assert answer.status_code == 200, answer.text
    rows = answer.json()["rows"]
    assert [(r["indicator"], r["code"]) for r in rows][:3] == [
        ("part_naissances", "93066"),
        ("part_naissances", "93008"),
        ("part_naissances", "93"),
    ]
    assert len(rows) == 6 and len({r["period"] for r in rows[:3]}) == 1
    page = client.get(
        url.replace("/api/v1/comparisons?territories", "/comparer.json?territoires").replace(
            "indicators=", "indicateurs="
        )
    )
    cells = page.json()["indicators"][0]["cells"]
    assert [c["value"] for c in cells] == [r["value"] for r in rows[:3]]
    csv = client.get(url + "&format=csv")
    assert csv.status_code == 200 and csv.text.lstrip("\ufeff").startswith("indicator;label;unit")
    assert client.get("/api/v1/comparisons?territories=93066&indicators=inconnu").status_code == 404
    too_many = ",".join(["93066"] * 13)
    assert client.get(f"/api/v1/comparisons?territories={too_many}&indicators=x").status_code == 400


@needs_data
def test_indicator_page_classes_palettes_and_map_files(client: TestClient) -> None:
    base = "/indicateurs/part_naissances.json?dans=93"
    plain = client.get(base).json()
    assert sum(e["count"] for e in plain["legend"] if e["kind"] == "class") == 39
    diverging = client.get(base + "&methode=stddev&classes=4&palette=divergente").json()
    assert diverging["centre"] is not None and diverging["breaks"][1] == diverging["centre"]
    assert diverging["colours"][1] != diverging["colours"][2]  # below / above the département
    manual = client.get(base + "&methode=manual&seuils=60,70").json()
    assert manual["breaks"][:2] == [60.0, 70.0]
    assert client.get(base.replace(".json", "") + "&methode=manual&seuils=7,x").status_code == 400
    html = client.get("/indicateurs/part_naissances?dans=93&methode=jenks&classes=4").text
    link = re.search(r'href="(/indicateurs/part_naissances/carte\.svg[^"]*)"', html)
    assert link is not None and "methode=jenks" in link.group(1)
    svg = client.get(link.group(1).replace("&amp;", "&"))
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    assert "jenks-fisher" in svg.text and "Seine-Saint-Denis" in svg.text
    png = client.get("/indicateurs/part_naissances/carte.png?dans=93")
    assert png.content[:8] == b"\x89PNG\r\n\x1a\n"
    public = client.get("/indicateurs/naissances_annuelles/carte.svg?dans=04&symboles=false")
    assert "secret statistique (" in public.text  # the anonymous visitor's map
    assert client.get("/indicateurs/part_naissances/carte.pdf").status_code == 400


@needs_data
def test_counts_are_drawn_as_proportional_circles_unless_asked(client: TestClient) -> None:
    def map_data(url: str) -> dict[str, Any]:
        html = client.get(url).text
        found = re.search(
            r'<script type="application/json" id="map-data">(.*?)</script>', html, re.S
        )
        assert found is not None, url
        return dict(json.loads(found.group(1)))

    assert map_data("/indicateurs/naissances_annuelles?dans=93")["symbols"] is True
    assert map_data("/indicateurs/naissances_annuelles?dans=93&symboles=false")["symbols"] is False
    assert map_data("/indicateurs/part_naissances?dans=93&symboles=")["symbols"] is False
    assert map_data("/indicateurs/part_naissances?dans=93&symboles=true")["symbols"] is True
