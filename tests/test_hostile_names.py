"""Names that come from files are shown as text, never run (issue 18, item 2).

Hostile names are imported the way a partner or an analyst's file would bring them: in a zoning
(zone names and the zoning's label), in an IRIS reference (three IRIS of Dugny renamed, the rest
being INSEE's reference 2021 for Seine-Saint-Denis), in a partner file described by a descriptor
(dataset label, producer, variable label, a column header and a cell) and in document titles.
Chromium then visits the pages that show them and hovers every shape of their maps: nothing of a
payload may become an element or run, and each name must be readable, as text, where it is shown.

The checks do not rely on the script running: a Content-Security-Policy forbidding inline script
would stop ``window.__xss`` from being set, but an ``<img>`` or ``<svg>`` built from a name is still
caught in the DOM, and a tooltip that lost its name's text is caught by its text.
"""

from __future__ import annotations

import csv
import json
import secrets
import shutil
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from observatoire.cli import cli
from observatoire.observatory import Observatory

from .conftest import DATA, IRIS_CONTOURS_93, IRIS_REFERENCE, needs_data, run, serving

pytestmark = needs_data

PAYLOADS = (
    '<img src=x onerror="window.__xss=1">',
    '"><svg onload=window.__xss=2>',
    "</script><script>window.__xss=3</script>",
)
LABEL = '<img src=x onerror="window.__xss=4">'  # the zoning's own label
ZONES = {"A": ("93066", "93001"), "B": ("93008",), "C": ("93048", "93005")}
DUGNY = "93030"  # four IRIS: three renamed, the fourth keeps its name
RENAMED = dict(zip(("930300101", "930300102", "930300103"), PAYLOADS, strict=True))
INDICATOR = "allocataires_rsa"  # a count: the map draws circles (with tooltips) over shapes
CAF_2018 = DATA / "caf" / "data_CAF_2018_IRIS.csv"

# Anything a payload could have turned into, anywhere in the page (the JSON of the map, in a
# <script type="application/json">, holds the names as data: it is the one script allowed them).
INJECTED = """() => {
  const found = [];
  document.querySelectorAll('img[src="x"], [onerror], [onload]')
    .forEach((el) => found.push(el.outerHTML.slice(0, 120)));
  document.querySelectorAll('script').forEach((el) => {
    if (el.id !== 'map-data' && el.textContent.includes('__xss')) found.push(el.outerHTML);
  });
  return found;
}"""

# A point of the index-th shape of the map that the shape itself receives (not a neighbour
# or a circle drawn over it).
POINT_IN_SHAPE = """(index) => {
  const shape = document.querySelectorAll('#map path.leaflet-interactive')[index];
  const box = shape.getBoundingClientRect();
  for (let i = 1; i < 24; i++) for (let j = 1; j < 24; j++) {
    const x = box.left + (box.width * i) / 24, y = box.top + (box.height * j) / 24;
    if (document.elementFromPoint(x, y) === shape) return [x, y];
  }
  return null;
}"""


def _write_csv(path: Path, rows: list[list[str]], encoding: str = "utf-8") -> Path:
    with path.open("w", encoding=encoding, newline="") as out:
        csv.writer(out, delimiter=";").writerows(rows)
    return path


def _iris_reference(folder: Path) -> Path:
    """INSEE's IRIS reference for Seine-Saint-Denis, three of Dugny's IRIS renamed."""
    with IRIS_REFERENCE.open(encoding="utf-8-sig", newline="") as source:
        rows = list(csv.reader(source, delimiter=";"))
    header = rows[0]
    body = [r for r in rows[1:] if r[header.index("DEP")] == "93"]
    code, name = header.index("CODE_IRIS"), header.index("LIB_IRIS")
    for row in body:
        row[name] = RENAMED.get(row[code], row[name])
    assert sum(row[code] in RENAMED for row in body) == len(RENAMED)
    return _write_csv(folder / "reference_iris_93.csv", [header, *body])


def _caf_93(folder: Path) -> Path:
    """The CNAF's 2018 file by IRIS, its lines of Seine-Saint-Denis only."""
    with CAF_2018.open(encoding="utf-8", newline="") as source:
        rows = list(csv.reader(source, delimiter=";"))
    commune = rows[0].index("DEPCOM")
    kept = [rows[0]] + [r for r in rows[1:] if r[commune].startswith("93")]
    return _write_csv(folder / CAF_2018.name, kept)


def _partner_file(folder: Path) -> tuple[Path, Path]:
    """A partner's file and its descriptor: labels, producer, a header and a cell hostile."""
    quoted = json.dumps  # a JSON string is a TOML basic string
    descriptor = folder / "cpam_c2s.toml"
    descriptor.write_text(
        "[dataset]\n"
        'id = "cpam.c2s"\n'
        f"label = {quoted(PAYLOADS[0])}\n"
        f"producer = {quoted(PAYLOADS[1])}\n"
        'confidentiality = "public"\n\n'
        '[geography]\nlevel = "commune"\ncode_column = "Code commune"\n\n'
        '[period]\nvalue = "2024"\n\n'
        "[[variables]]\n"
        f"column = {quoted(PAYLOADS[2])}\n"
        'code = "C2S"\n'
        f"label = {quoted(PAYLOADS[0])}\n"
        'kind = "count"\n',
        encoding="utf-8",
    )
    data = _write_csv(
        folder / "c2s_2024.csv",
        [
            ["Code commune", "Commune", PAYLOADS[2]],
            ["93066", "Saint-Denis", "21300"],
            ["93001", "Aubervilliers", PAYLOADS[0]],  # not a number: shown in the report
        ],
    )
    return descriptor, data


@pytest.fixture(scope="module")
def hostile(small_home: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A copy of the home of the 93 with every hostile name imported through the command line,
    the one indicator its pages need computed, and an analyst's account."""
    folder = tmp_path_factory.mktemp("hostile")
    home = folder / "obs"
    shutil.copytree(small_home, home)

    def ok(*args: str, codes: tuple[int, ...] = (0,)) -> str:
        code, out = run(*args, home=home)
        assert code in codes, out
        return out

    ok("geo", "import-iris", str(_iris_reference(folder)), str(IRIS_CONTOURS_93))
    zones = [["code_commune", "code_zone", "nom_zone"]] + [
        [commune, zone, PAYLOADS["ABC".index(zone)]]
        for zone, communes in ZONES.items()
        for commune in communes
    ]
    ok("zoning", "import", "zx", str(_write_csv(folder / "zones.csv", zones)), "--label", LABEL)
    ok("import", str(_caf_93(folder)))
    levels = ("--level", "iris", "--level", "zx", "--level", "departement")
    ok("compute", "--indicator", INDICATOR, *levels)
    descriptor, data = _partner_file(folder)
    out = ok("import", str(data), "--descriptor", str(descriptor), codes=(0, 3))
    batch = int(out.rsplit("Import n° ", 1)[1].split()[0])
    study = folder / "etude.txt"
    study.write_text("Les familles hébergées à l'hôtel à Dugny.\n", encoding="utf-8")
    about = ("--territoires", f"commune:{DUGNY}", "--indicateurs", INDICATOR)
    for title in PAYLOADS:
        ok("documents", "add", str(study), "--titre", title, "--acces", "public", *about)
    email, password = "analyste@cd93.fr", secrets.token_urlsafe(18)
    created = CliRunner().invoke(
        cli,
        ["--home", str(home), "users", "create", email, "--role", "analyst", "--password-stdin"],
        input=password + "\n",
    )
    assert created.exit_code == 0, created.output
    zoning_map = folder / "zx.svg"  # drawn now: the server will hold the warehouse
    ok("zoning", "map", "zx", "-o", str(zoning_map))
    with Observatory.open(home) as obs:
        zones = obs.geography.geometries(level="zx")
    return {
        "home": home,
        "batch": batch,
        "analyst": (email, password),
        "zoning_map": zoning_map,
        "zones": zones,
    }


@pytest.fixture(scope="module")
def server(hostile: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serving(hostile["home"], tmp_path_factory.mktemp("serve") / "serve.log") as base:
        yield base


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    opened = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    yield opened
    opened.close()
    assert errors == []


def _tooltips(page: Any) -> list[str]:
    """Hover every shape and circle of the page's map; the text of each tooltip (a tooltip
    lives only while hovered: what it may have injected is looked for then)."""
    page.wait_for_selector("#map path.leaflet-interactive")
    page.locator("#map").scroll_into_view_if_needed()
    texts = []
    for index in range(page.locator("#map path.leaflet-interactive").count()):
        page.mouse.move(0, 0)  # off the map: the previous tooltip closes
        tooltip = page.locator(".leaflet-tooltip")
        tooltip.wait_for(state="detached")
        point = page.evaluate(POINT_IN_SHAPE, index)
        assert point is not None, f"shape {index} cannot be hovered"
        page.mouse.move(*point)
        tooltip.wait_for()
        # while this tooltip is open: it holds its name as text, and nothing built from it
        assert page.evaluate(INJECTED) == [], (page.url, index)
        assert page.evaluate("window.__xss") is None
        texts.append(tooltip.text_content())
    return texts


def _assert_inert(page: Any, *shown: str) -> None:
    """Nothing of a payload ran or became an element; each of ``shown`` is read as text."""
    assert page.evaluate("window.__xss") is None
    assert page.evaluate(INJECTED) == [], page.url
    text = page.evaluate("document.title + '\\n' + document.body.innerText")
    for name in shown:
        assert name in text, (page.url, name)


def test_zone_names_in_the_zoning_map_the_indicator_map_and_the_pages(
    server: str, page: Any
) -> None:
    page.goto(server + "/zonages/zx")
    tips = _tooltips(page)
    assert len(tips) == len(ZONES)
    for name in PAYLOADS:  # the tooltip shows the name, as it was written
        assert sum(t.startswith(name + " : ") for t in tips) == 1, tips
    _assert_inert(page, LABEL, *PAYLOADS)
    assert page.locator("h1").text_content() == LABEL

    page.goto(server + f"/indicateurs/{INDICATOR}?niveau=zx")
    tips = _tooltips(page)
    assert len(tips) == 2 * len(ZONES)  # the zones and their circles
    for name in PAYLOADS:
        assert sum(t.startswith(name + " : ") for t in tips) == 2, tips
    _assert_inert(page, *PAYLOADS)

    for url in ("/", "/zonages", "/territoires?niveau=zx", "/territoires/zx/C"):
        page.goto(server + url)
        page.wait_for_load_state("networkidle")  # a territory's map is drawn after load
        _assert_inert(page, LABEL if url in ("/", "/zonages") else PAYLOADS[2])
    page.goto(server + "/recherche?q=window")
    _assert_inert(page, *PAYLOADS)


def test_iris_names_in_the_indicator_map_and_the_territory_map(server: str, page: Any) -> None:
    page.goto(server + f"/indicateurs/{INDICATOR}?niveau=iris&dans=commune:{DUGNY}")
    tips = _tooltips(page)
    assert len(tips) == 2 * 4  # Dugny's four IRIS and their circles
    for name in PAYLOADS:
        assert sum(t.startswith(name + " : ") for t in tips) == 2, tips
    _assert_inert(page, *PAYLOADS)

    page.goto(server + f"/territoires/commune/{DUGNY}")  # a map of its IRIS
    tips = _tooltips(page)
    assert len(tips) == 4
    for name in PAYLOADS:
        assert sum(t.startswith(name + " : ") for t in tips) == 1, tips
    _assert_inert(page, *PAYLOADS)
    page.goto(server + f"/territoires?niveau=iris&dans=commune:{DUGNY}")
    _assert_inert(page, *PAYLOADS)


def test_document_titles_in_the_library_the_search_and_the_pages(server: str, page: Any) -> None:
    for url in (
        "/documents",
        "/documents?q=hotel",
        "/recherche?q=hotel",
        f"/territoires/commune/{DUGNY}",
        f"/indicateurs/{INDICATOR}?niveau=iris&dans=commune:{DUGNY}",
    ):
        page.goto(server + url)
        page.wait_for_load_state("networkidle")
        _assert_inert(page, *PAYLOADS)
    page.goto(server + "/documents")
    page.get_by_role("link", name=PAYLOADS[0], exact=True).click()
    page.wait_for_load_state("networkidle")
    _assert_inert(page, PAYLOADS[0])
    assert page.locator("h1").text_content() == PAYLOADS[0]


def test_partner_labels_in_the_import_report_and_the_api(
    server: str, page: Any, hostile: dict[str, Any]
) -> None:
    email, password = hostile["analyst"]
    page.goto(server + "/connexion")
    page.get_by_label("Adresse électronique").fill(email)
    page.get_by_label("Mot de passe").fill(password)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(server + "/")
    page.goto(server + "/imports")
    _assert_inert(page)
    page.goto(server + f"/imports/{hostile['batch']}")
    # the producer, the column's header (examples, completeness) and the rejected cell
    _assert_inert(page, *PAYLOADS)
    variables = httpx.get(server + "/api/v1/variables?source=cpam", timeout=30)
    assert variables.headers["content-type"].startswith("application/json")
    (variable,) = [v for v in variables.json() if v["id"] == "cpam.C2S"]
    assert variable["label"] == PAYLOADS[0]


def test_server_drawn_svg_keeps_names_as_text(hostile: dict[str, Any]) -> None:
    """The SVG maps and charts drawn on the server (zoning map file, portrait and dashboard
    maps, charts) escape names: each parses as XML, with no element or handler from a name."""
    from observatoire.outputs.charts import bar_chart, line_chart
    from observatoire.outputs.svgmap import svg_map

    units = hostile["zones"]
    drawn = {
        "zoning map": hostile["zoning_map"].read_text(encoding="utf-8"),
        "svg map": svg_map(units, ["#ffffff"] * len(units), labels=list(units.name), title=LABEL),
        "line chart": line_chart(
            [{"name": n, "points": [{"period": "2020", "value": 1.0}]} for n in PAYLOADS],
            title=LABEL,
        ),
        "bar chart": bar_chart(
            [{"label": n, "value": 50.0} for n in PAYLOADS], title=LABEL, reference_name=LABEL
        ),
    }
    for what, svg in drawn.items():
        root = ET.fromstring(svg)
        tags = {element.tag.rsplit("}", 1)[-1] for element in root.iter()}
        assert not tags & {"img", "script", "foreignObject"}, what
        assert [e for e in root.iter() if e is not root and e.tag.endswith("svg")] == [], what
        handlers = [k for e in root.iter() for k in e.attrib if k.lower().startswith("on")]
        assert handlers == [], what
        text = " ".join([*root.itertext(), root.get("aria-label") or ""])  # title or label
        assert LABEL in text, what
    assert all(name in " ".join(ET.fromstring(drawn["svg map"]).itertext()) for name in PAYLOADS)
