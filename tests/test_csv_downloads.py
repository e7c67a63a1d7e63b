"""Formula injection in CSV downloads (issue 18, item 5).

Every route of the application that answers CSV is found by walking ``app.routes`` (a path
ending in ``.csv``, a ``format`` parameter, or a handler that writes CSV); each one must be
fetched below, so that a new route cannot escape. The data they show are fed with text a
spreadsheet would run (zone names through a zoning import, operators' names through a records
import, a need proposed by a member, a source written by an analyst, the observatory's name),
and no cell of what comes back may start with ``= + - @``, a tab or a carriage return unless it
is a number. The command line's CSV output and the writer itself are checked too.

Data: the ``census_home`` fixture (INSEE COG 2026 and census comparator RP 2018, see
../shared/data/README); the zoning, the records and the inventory entries are made up here.
"""

from __future__ import annotations

import csv
import doctest
import inspect
import io
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pandas as pd
import pytest
import yaml
from fastapi import FastAPI
from fastapi.testclient import TestClient

from observatoire.observatory import Observatory
from observatoire.services.accounts import Role
from observatoire.web import create_app

from .conftest import needs_data, new_account, run, walk_routes
from .test_records import HEADER, SCHEMA

HOSTILE = [
    '=HYPERLINK("http://x","y")',
    "+1+1",
    "-2+3",
    "@SUM(A1)",
    "\t=1+1 tabulation",
    "\r=1+1 retour",
]
FORMULA = ("=", "+", "-", "@", "\t", "\r")
NUMBER = re.compile(r"-?\d+(?:[.,]\d+)?(?:[eE][-+]?\d+)?")
ZONING = "zh93"
INDICATOR = "taux_chomage_15_64"  # public, computed from the census comparator
VARIABLE = "rp.POP"  # the census population
QPV_RATE = "part_allocataires_monoparents"  # of fictitious quartiers with hostile names
ZONES = [f"{ZONING}:Z{i + 1}" for i in range(len(HOSTILE))]

# route path → the downloads fetched for it: (role, URL, whether hostile text is shown)
COVERED: dict[str, list[tuple[str, str, bool]]] = {
    "/api/v1/territories": [("public", f"/api/v1/territories?level={ZONING}&format=csv", True)],
    "/api/v1/territories/{level}/{code}/indicators": [
        ("public", f"/api/v1/territories/{ZONING}/Z1/indicators?format=csv", False)
    ],
    "/api/v1/indicators/{ident}/values": [
        ("public", f"/api/v1/indicators/{INDICATOR}/values?level={ZONING}&format=csv", True)
    ],
    "/api/v1/indicators/{ident}/export": [
        ("public", f"/api/v1/indicators/{INDICATOR}/export?level={ZONING}&format=csv", True),
        (
            "public",
            f"/api/v1/indicators/{INDICATOR}/export?level={ZONING}&format=csv-plain",
            True,
        ),
    ],
    "/api/v1/comparisons": [
        (
            "public",
            f"/api/v1/comparisons?territories={','.join(ZONES)}&indicators={INDICATOR}&format=csv",
            True,
        )
    ],
    "/api/v1/variables/{name}/values": [  # a name without source: the catalogue's indicator
        ("analyst", f"/api/v1/variables/{INDICATOR}/values?level={ZONING}&format=csv", True),
        ("analyst", f"/api/v1/variables/{VARIABLE}/values?within={ZONES[0]}&format=csv", False),
    ],
    "/completude/{collection}.csv": [
        ("analyst", "/completude/sejours.csv", True),
        ("analyst", f"/completude/sejours.csv?par=territory&niveau={ZONING}", True),
    ],
    "/sources.csv": [("public", "/sources.csv", True), ("analyst", "/sources.csv", True)],
    "/besoins.csv": [("member", "/besoins.csv", True)],
    "/besoins/non-couverts.csv": [("member", "/besoins/non-couverts.csv", True)],
    "/catalogue.csv": [("public", "/catalogue.csv", True)],
    "/indicateurs/{name}.csv": [("public", f"/indicateurs/{INDICATOR}.csv?niveau={ZONING}", True)],
    "/api/v1/indicators/{ident}/projection": [  # census 2013 and 2018: no change, measured
        ("analyst", f"/api/v1/indicators/population/projection?level={ZONING}&format=csv", True)
    ],
    "/indicateurs/{name}/projection.csv": [
        ("analyst", f"/indicateurs/population/projection.csv?niveau={ZONING}", True)
    ],
    "/qualite.csv": [("analyst", "/qualite.csv?domaine=transmission", True)],
    "/api/v1/quality/flags": [("analyst", "/api/v1/quality/flags?format=csv", True)],
    "/indicateurs/{name}/export": [
        ("public", f"/indicateurs/{INDICATOR}/export?format=csv&niveau={ZONING}", True),
        ("public", f"/indicateurs/{INDICATOR}/export?format=csv-plain&niveau={ZONING}", True),
    ],
    "/api/v1/indicators/{ident}/availability": [
        ("public", f"/api/v1/indicators/{INDICATOR}/availability?format=csv", False)
    ],
    "/api/v1/indicators/{ident}/funnel": [  # the zones placed against the département
        (
            "public",
            f"/api/v1/indicators/{INDICATOR}/funnel?level={ZONING}&reference=93&format=csv",
            True,
        ),
    ],
    "/api/v1/heatmap": [
        (
            "public",
            f"/api/v1/heatmap?level={ZONING}&reference=93&theme=emploi-insertion&format=csv",
            True,
        )
    ],
    "/ecarts.csv": [
        ("public", f"/ecarts.csv?niveau={ZONING}&reference=93&theme=emploi-insertion", True)
    ],
    "/api/v1/indicators/{ident}/gradient": [  # communes' names, no hostile text there
        ("public", f"/api/v1/indicators/{INDICATOR}/gradient?within=93&format=csv", False)
    ],
    "/indicateurs/{name}/gradient.csv": [
        ("public", f"/indicateurs/{INDICATOR}/gradient.csv?dans=93", False)
    ],
    "/api/v1/indicators/{ident}/qpv": [  # the quartiers' names, from a QPV file
        ("public", f"/api/v1/indicators/{QPV_RATE}/qpv?within=93&format=csv", True)
    ],
    "/indicateurs/{name}/qpv.csv": [("public", f"/indicateurs/{QPV_RATE}/qpv.csv?dans=93", True)],
    "/indicateurs/{name}/entonnoir.csv": [
        ("public", f"/indicateurs/{INDICATOR}/entonnoir.csv?niveau={ZONING}&reference=93", True)
    ],
}


def _records(path: Path) -> Path:
    """An extract of the test collection whose operators bear hostile names (20 complete
    records each, over two months; the last line is the first operator's)."""
    communes = ["93066", "93008", "93048", "93001", "93005", "93010"]
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=";")
        writer.writerow(HEADER)
        for k, name in reversed(list(enumerate(HOSTILE))):
            for i in range(20):
                month = "01" if i % 2 else "02"
                writer.writerow(
                    [
                        f"OP{k}",
                        name,
                        communes[k],
                        f"{1 + i:02d}/{month}/2025",
                        f"M{k}-{i}",
                        "F",
                        str(20 + i),
                        "seul",
                        "",
                        "812,5",
                        "hebergee",
                        "",
                        "",
                    ]
                )
    return path


@pytest.fixture(scope="module")
def hostile_home(census_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The census home with hostile text in every place a CSV download shows: a zoning of
    Seine-Saint-Denis whose zones are named with formulas (computed), a records collection
    whose operators are, FICTITIOUS quartiers prioritaires (QPV) that are, and the
    observatory's own name."""
    folder = tmp_path_factory.mktemp("csv")
    home = folder / "obs"
    shutil.copytree(census_home, home)
    settings = home / "observatoire.toml"
    text = settings.read_text(encoding="utf-8")
    settings.write_text(
        re.sub(r'^name = ".*"$', 'name = "@SUM(A1) Observatoire"', text, flags=re.M),
        encoding="utf-8",
    )
    with Observatory.open(home) as obs:
        communes = sorted(obs.geography.territories(level="commune", within="93").code.astype(str))
    zoning = folder / "zonage.csv"
    with zoning.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=";")
        writer.writerow(["code_commune", "code_zone", "nom_zone"])
        for i, commune in enumerate(communes):
            k = i % len(HOSTILE)
            writer.writerow([commune, f"Z{k + 1}", HOSTILE[k]])
    code, out = run("zoning", "import", ZONING, str(zoning), "--label", "Zonage hostile", home=home)
    assert code == 0, out
    code, out = run("compute", "--level", ZONING, home=home)
    assert code == 0, out
    quartiers = folder / "data_DEMO_2024_QP_SYNTHETIQUE.csv"  # FICTITIOUS quartiers
    with quartiers.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=";")
        writer.writerow(["CODGEO", "LIB_QP", "LIB_COM", "POP_MUN", "A", "PERCOU", "AM", "AI"])
        for i, name in enumerate(HOSTILE[:4]):
            writer.writerow([f"QP09390{i + 1}", name, "Saint-Denis", 3000 + i, 800 + i,
                             1500 + i, 150 + i, 300 + i])  # fmt: skip
    code, out = run("import", str(quartiers), home=home)
    assert code == 0, out
    for level in ("qpv", "ensemble_qpv"):
        code, out = run("compute", "--level", level, home=home)
        assert code == 0, out
    (home / "collections").mkdir()
    calendar = "calendrier: {frequence: mensuelle, echeance: 10}\n"  # months missing since
    (home / "collections" / "sejours.yaml").write_text(SCHEMA + calendar, encoding="utf-8")
    extract = _records(folder / "extraction.csv")
    code, out = run("records", "import", str(extract), "--collection", "sejours", home=home)
    assert code == 0, out
    code, out = run("quality", "review", home=home)  # flags naming the hostile operators
    assert code == 0 and "extraction manquante" in out, out
    return home


def _signed_in(app: FastAPI, role: Role, name: str) -> TestClient:
    client: TestClient = new_account(app, f"{role.value}@csv.invalid", role, name=name)
    return client


@pytest.fixture(scope="module")
def served(hostile_home: Path) -> Iterator[tuple[FastAPI, dict[str, TestClient]]]:
    """The application, and a client of each role; an analyst writes a hostile source and a
    member (whose name is hostile too) proposes a hostile need, through the web forms."""
    with Observatory.open(hostile_home) as obs:
        app = create_app(obs)
        clients = {
            "public": TestClient(app),
            "member": _signed_in(app, Role.MEMBER, "-2+3 Membre"),
            "analyst": _signed_in(app, Role.ANALYST, "Chargée d'études"),
        }
        analyst = clients["analyst"]
        source = analyst.post(
            "/sources",
            data={
                "csrf": analyst.cookies["obs_csrf"],
                "identifiant": "source-hostile",
                "nom": HOSTILE[0],
                "type": "donnees",
                "producteur": HOSTILE[1],
                "contact": HOSTILE[3],
                "description": HOSTILE[2],
                "themes": "@SUM(A1); =1+1",
                "notes": HOSTILE[4],
                "acces": HOSTILE[5],
            },
            follow_redirects=False,
        )
        assert source.status_code == 303, source.text[:500]
        member = clients["member"]
        need = member.post(
            "/besoins",
            data={
                "csrf": member.cookies["obs_csrf"],
                "question": HOSTILE[0],
                "theme": HOSTILE[3],
                "territoire": HOSTILE[1],
                "priorite": "haute",
            },
            follow_redirects=False,
        )
        assert need.status_code == 303, need.text[:500]
        yield app, clients


def _cells(answer: httpx.Response, url: str) -> list[list[str]]:
    """The rows of a CSV answer, read in its dialect (``;`` unless plain CSV)."""
    text = answer.content.decode("utf-8-sig")
    delimiter = "," if "csv-plain" in url else ";"
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))


def _runnable(rows: list[list[str]]) -> list[str]:
    """The cells a spreadsheet would run as a formula (a number is not one)."""
    return [
        cell
        for row in rows
        for cell in row
        if cell.startswith(FORMULA) and not NUMBER.fullmatch(cell)
    ]


def csv_routes(app: FastAPI) -> dict[str, set[str]]:
    """Every handler that answers CSV (by name) → its paths: a path ending in ``.csv``, a
    ``format`` parameter, or a handler that writes CSV itself."""
    walked = list(walk_routes(app.routes))
    assert len(walked) > 60, "the walk lost routes"  # a FastAPI change must not hide them
    found: dict[str, set[str]] = {}
    for path, route in walked:
        if "GET" not in (route.methods or set()):
            continue
        source = inspect.getsource(route.endpoint)
        if (
            path.endswith(".csv")
            or any(p.name == "format" for p in route.dependant.query_params)
            or re.search(r"csv_response|[\"']csv[\"']|text/csv", source)
        ):
            name = f"{route.endpoint.__module__}.{route.endpoint.__qualname__}"
            found.setdefault(name, set()).add(path)
    return found


# the CSV twins of pages that have none: they answer 400, saying so (no CSV leaves them)
NO_CSV = {
    "/territoires/{level}/{name}.csv": "/territoires/commune/93066.csv",
    "/zonages/{name}.csv": f"/zonages/{ZONING}.csv",
}


@needs_data
def test_every_csv_route_is_covered(served: tuple[FastAPI, dict[str, TestClient]]) -> None:
    app, clients = served
    routes = csv_routes(app)
    every = set().union(*routes.values())
    missing = sorted(
        {
            " | ".join(sorted(paths))
            for paths in routes.values()
            if not paths & (COVERED.keys() | NO_CSV.keys())
        }
        | {path for path in every if path.endswith(".csv") and path not in COVERED | NO_CSV}
    )
    assert not missing, f"CSV routes not checked for formulas: {missing}"
    assert set(COVERED) <= every, set(COVERED) - every  # no stale entry
    assert len(routes) >= 12
    assert set(NO_CSV) <= every
    for url in NO_CSV.values():
        refused = clients["public"].get(url)
        assert refused.status_code == 400, (url, refused.text[:300])
        assert refused.json()["error"] == "format csv non proposé pour cette page (html, json)"


@needs_data
@pytest.mark.parametrize(
    ("role", "url", "shown"),
    [entry for entries in COVERED.values() for entry in entries],
    ids=[url for entries in COVERED.values() for _, url, _ in entries],
)
def test_no_csv_download_gives_a_cell_a_spreadsheet_would_run(
    served: tuple[FastAPI, dict[str, TestClient]], role: str, url: str, shown: bool
) -> None:
    _, clients = served
    answer = clients[role].get(url)
    assert answer.status_code == 200, (url, answer.text[:300])
    assert answer.headers["content-type"].startswith("text/csv"), url
    plain = "csv-plain" in url
    assert answer.content.startswith(b"\xef\xbb\xbf") is not plain  # BOM for spreadsheets
    rows = _cells(answer, url)
    assert len(rows) > 1, (url, rows)
    assert not _runnable(rows), (url, _runnable(rows))
    if shown:  # the hostile text is there, neutralised, not dropped
        text = "\n".join(cell for row in rows for cell in row)
        assert "SUM(A1)" in text or "HYPERLINK" in text or "1+1" in text, (url, rows[:3])
        assert re.search(r"(^|\n)'[=+\-@\t\r]", text), (url, rows[:3])


@needs_data
def test_numbers_stay_numbers_negative_ones_too(
    served: tuple[FastAPI, dict[str, TestClient]],
) -> None:
    """Neutralising text does not turn a negative value into text: the indicator page's
    gaps to the reference read back as numbers, some of them below zero."""
    _, clients = served
    answer = clients["public"].get(f"/indicateurs/{INDICATOR}.csv?niveau={ZONING}")
    frame = pd.read_csv(io.BytesIO(answer.content), sep=";", decimal=",", encoding="utf-8-sig")
    assert pd.api.types.is_float_dtype(frame["value"]) and frame["value"].notna().all()
    assert pd.api.types.is_float_dtype(frame["gap"]) and (frame["gap"] < 0).any()
    # the zoning import strips the names' spaces: the tab and the carriage return are gone
    assert sorted(frame["name"]) == sorted("'" + h.strip() for h in HOSTILE)


@needs_data
def test_command_line_csv_is_neutralised_and_reads_back(
    served: tuple[FastAPI, dict[str, TestClient]], hostile_home: Path, tmp_path: Path
) -> None:
    """``--format csv`` output, the sources export (read back by « sources import » as it was
    written) and the catalogue's CSV."""
    outputs = {
        "territories": (("territories", "--level", ZONING, "--format", "csv"), ","),
        "completeness": (("completeness", "--collection", "sejours", "--format", "csv"), ","),
        "sources": (("sources", "export"), ";"),
        "catalog": (
            ("catalog", "export", "--format", "csv", "--base-url", "https://obs.example.fr"),
            ";",
        ),
    }
    for name, (args, delimiter) in outputs.items():
        code, out = run(*args, home=hostile_home)
        assert code == 0, out
        rows = list(csv.reader(io.StringIO(out, newline=""), delimiter=delimiter))
        assert not _runnable(rows), (name, _runnable(rows))
        assert "SUM(A1)" in out or "HYPERLINK" in out, (name, out[:300])
    exported = tmp_path / "inventaire.csv"
    assert run("sources", "export", "-o", str(exported), home=hostile_home)[0] == 0
    assert "'=HYPERLINK" in exported.read_text(encoding="utf-8")
    code, out = run("sources", "import", str(exported), home=hostile_home)
    assert code == 0, out
    code, out = run("sources", "export", "--format", "yaml", home=hostile_home)
    assert code == 0, out
    entry = next(s for s in yaml.safe_load(out)["sources"] if s["identifiant"] == "source-hostile")
    assert (entry["nom"], entry["producteur"], entry["contact"], entry["description"]) == (
        HOSTILE[0],
        HOSTILE[1],
        HOSTILE[3],
        HOSTILE[2],
    )
    assert entry["themes"] == ["@SUM(A1)", "=1+1"]


def test_the_writer_neutralises_text_and_keeps_numbers() -> None:
    from observatoire import csvfile
    from observatoire.csvfile import PLAIN, SPREADSHEET, csv_bytes, csv_text, restore_cell

    assert doctest.testmod(csvfile).failed == 0
    frame = pd.DataFrame(
        {
            "texte": HOSTILE,
            "nombre": [-1.5, -2.0, 3.25, 0.0, -10.0, 1e-7],
            "entier": [-1, -2, 3, 0, -10, 7],
            "mêlé": pd.Series([-3, "=x", None, "-4", 2.5, "ok"], dtype=object),
            "catégorie": pd.Categorical(["@a", "b", "+c", "d", "e", "-f"]),
            "=colonne": ["a"] * 6,
        }
    )
    for dialect in (SPREADSHEET, PLAIN):
        body = csv_bytes(frame, dialect)
        assert body.startswith(b"\xef\xbb\xbf") is dialect.bom
        rows = list(
            csv.reader(
                io.StringIO(body.decode("utf-8-sig"), newline=""), delimiter=dialect.separator
            )
        )
        assert not _runnable(rows), _runnable(rows)
        assert rows[0][-1] == "'=colonne"
        assert [row[0] for row in rows[1:]] == ["'" + h for h in HOSTILE]
        assert [restore_cell(row[0]) for row in rows[1:]] == HOSTILE
        back = pd.read_csv(
            io.BytesIO(body),
            sep=dialect.separator,
            decimal=dialect.decimal,
            encoding="utf-8-sig",
        )
        assert back["nombre"].tolist() == frame["nombre"].tolist()  # numbers, not text
        assert back["entier"].tolist() == frame["entier"].tolist()
        assert [row[3] for row in rows[1:]] == ["-3", "'=x", "", "'-4", "2.5", "ok"]
        assert [row[4] for row in rows[1:]] == ["'@a", "b", "'+c", "d", "e", "'-f"]
    assert csv_text(frame).splitlines()[1].startswith('"\'=HYPERLINK(""http://x""')
    # a carriage return inside a cell is quoted: a spreadsheet that ends lines at a bare CR
    # must not see a line starting with the formula that follows it
    inside = csv_text(pd.DataFrame({"nom": ["a\r=1+1", "b\n@x"]}))
    assert inside == 'nom\r\n"a\r=1+1"\r\n"b\n@x"\r\n'
    assert list(csv.reader(io.StringIO(inside, newline=""))) == [["nom"], ["a\r=1+1"], ["b\n@x"]]
