"""Melodi's data queries (remote/melodi.py) against a fake service replaying a real recorded
answer (tests/fixtures/remote/README.md: the municipal populations of the 24 communes of
Nantes Métropole, codes with their vintage ``2025-COM-…``): the count asked first, pages read
to the count, a query too large split on its repeated filter or refused, a pagination that
gives fewer rows than announced refused, answers kept in the cache with their date; fetched
into an observatory, each commune's value is the recorded one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from observatoire.errors import RemoteError
from observatoire.remote.http import Polite
from observatoire.remote.melodi import melodi_table

from .conftest import needs_data
from .fakeremote import Answer, FakeClock, FakeRemote, serving

FIXTURES = Path(__file__).parent / "fixtures" / "remote"
RECORDED = json.loads((FIXTURES / "melodi_data_popref_epci_nantes.json").read_text("utf-8"))
JSON = {"Content-Type": "application/json"}
DATA = "/melodi/data/DS_POPULATIONS_REFERENCE"


def _matches(observation: dict[str, Any], name: str, asked: list[str]) -> bool:
    """Whether ``observation`` answers a filter as Melodi reads it: ``GEO=COM`` (a level),
    ``GEO=DEP-93*COM`` (a level within a département; another container, such as an EPCI,
    is taken as holding every observation of the recorded answer), ``GEO=COM-44109`` (one
    code, with or without its vintage); other dimensions by their code."""
    held = str(observation["dimensions"].get(name, ""))
    if name != "GEO":
        return held in asked
    _, level, code = held.split("-", 2)  # 2025-COM-44109
    for geo in asked:
        if "*" in geo:
            container, inner = geo.split("*")
            kind, where = container.split("-", 1)
            if inner == level and (kind != "DEP" or code.startswith(where)):
                return True
        elif "-" not in geo:
            if geo == level:
                return True
        elif held.endswith(geo.split("-", 1)[-1] if geo.count("-") == 1 else geo):
            return True
    return False


def _melodi(dataset: str, observations: list[dict[str, Any]], *, announced: int | None = None,
            ranged: dict[str, Any] | None = None) -> dict[str, Any]:
    """The routes of a fake Melodi for ``dataset``: ``/data`` answering the count alone or a
    page of ``maxResult``, after the filters; ``/range`` answering ``ranged``."""

    def answer(query: dict[str, list[str]]) -> Answer:
        filters = {k: v for k, v in query.items()
                   if k not in ("totalCount", "maxResult", "page")}  # fmt: skip
        mine = [o for o in observations
                if all(_matches(o, name, asked) for name, asked in filters.items())]  # fmt: skip
        paging: dict[str, Any] = {"first": "…&page=1"}
        if query.get("totalCount") == ["TRUE"]:
            paging["count"] = announced if announced is not None else len(mine)
            body = {**RECORDED, "observations": [], "paging": paging}
        else:
            size, number = int(query["maxResult"][0]), int(query.get("page", ["1"])[0])
            body = {**RECORDED, "observations": mine[(number - 1) * size:number * size],
                    "paging": paging}  # fmt: skip
        return Answer(200, json.dumps(body).encode(), JSON)

    routes: dict[str, Any] = {f"/melodi/data/{dataset}": answer}
    if ranged is not None:
        routes[f"/melodi/range/{dataset}"] = [Answer(200, json.dumps(ranged).encode(), JSON)]
    return routes


def _pages(observations: list[dict[str, Any]], *, announced: int | None = None) -> Any:
    return _melodi("DS_POPULATIONS_REFERENCE", observations, announced=announced)[DATA]


def _client(clock: FakeClock) -> Polite:
    return Polite("INSEE Melodi", limit=25, clock=clock, sleep=clock.sleep, wall=clock,
                  trusted=["127.0.0.1"])


def test_pages_are_read_to_the_announced_count_and_kept_with_their_date(tmp_path: Path) -> None:
    clock = FakeClock()
    remote = FakeRemote(clock=clock, routes={DATA: _pages(RECORDED["observations"])})
    filters = [("GEO", "EPCI-244400404*COM"), ("POPREF_MEASURE", "PMUN")]
    with serving(remote), _client(clock) as client:
        table = melodi_table(client, f"{remote.base}/melodi", "DS_POPULATIONS_REFERENCE",
                             filters, cache=tmp_path, page=10)  # fmt: skip
        asked = len(remote.requests(DATA))
        again = melodi_table(client, f"{remote.base}/melodi", "DS_POPULATIONS_REFERENCE",
                             filters, cache=tmp_path, page=10)  # fmt: skip
    assert len(table) == 24 and asked == 1 + 3  # the count (then from the cache), 3 pages
    assert len(remote.requests(DATA)) == asked  # the second time from the cache
    assert again.equals(table)
    nantes = table.set_index("GEO").loc["2025-COM-44109"]
    assert nantes.OBS_VALUE == 327734.0 and nantes.TIME_PERIOD == "2023"
    assert set(table.columns) == {"GEO", "FREQ", "TIME_PERIOD", "POPREF_MEASURE", "OBS_VALUE"}
    kept = [json.loads(p.read_text("utf-8")) for p in tmp_path.iterdir()]
    assert all(k["fetched_at"] and k["url"].startswith(remote.base) for k in kept)


def test_a_query_too_large_is_split_on_its_repeated_filter_or_refused() -> None:
    clock = FakeClock()
    remote = FakeRemote(clock=clock, routes={DATA: _pages(RECORDED["observations"])})
    two = [("GEO", "COM-44109"), ("GEO", "COM-44143"), ("POPREF_MEASURE", "PMUN")]
    one_period = {"code": "DS_POPULATIONS_REFERENCE", "range": [
        {"concept": {"code": "TIME_PERIOD"}, "values": [{"code": "2023"}]}]}  # fmt: skip
    remote.routes["/melodi/range/DS_POPULATIONS_REFERENCE"] = [
        Answer(200, json.dumps(one_period).encode(), JSON)]  # fmt: skip
    with serving(remote), _client(clock) as client:
        table = melodi_table(client, f"{remote.base}/melodi", "DS_POPULATIONS_REFERENCE", two,
                             ceiling=1)  # fmt: skip
        geo = [r[2].get("GEO") for r in remote.requests(DATA)]
        with pytest.raises(RemoteError, match="précisez-le"):
            melodi_table(client, f"{remote.base}/melodi", "DS_POPULATIONS_REFERENCE",
                         [("GEO", "EPCI-244400404*COM")], ceiling=10)  # fmt: skip
    assert sorted(table.GEO) == ["2025-COM-44109", "2025-COM-44143"]
    assert ["COM-44109"] in geo and ["COM-44143"] in geo  # one request each


def _cube(geo: list[dict[str, Any]], periods: list[str]) -> list[dict[str, Any]]:
    """Observations for each territory and period, as Melodi writes them (values synthetic:
    a number drawn from the code, so that each row is told apart)."""
    return [{"dimensions": {"GEO": g["id"], "TIME_PERIOD": p, "FREQ": "A"},
             "attributes": {"OBS_STATUS_FR": "D"},
             "measures": {"OBS_VALUE_NIVEAU": {"value": float(len(g["id"]) * 1000 + i)}}}
            for i, (g, p) in enumerate((g, p) for g in geo for p in periods)]  # fmt: skip


def _seen(table: Any) -> set[tuple[str, str, float]]:
    return set(zip(table.GEO, table.TIME_PERIOD, table.OBS_VALUE, strict=True))


def _expected(cube: list[dict[str, Any]]) -> set[tuple[str, str, float]]:
    return {(o["dimensions"]["GEO"], o["dimensions"]["TIME_PERIOD"],
             o["measures"]["OBS_VALUE_NIVEAU"]["value"]) for o in cube}  # fmt: skip


def _deaths() -> tuple[list[dict[str, Any]], list[str], list[dict[str, Any]], FakeRemote,
                       FakeClock]:  # fmt: skip
    """The recorded range of DS_EC_DECES, its territories and years, one (synthetic)
    observation per territory and year, and a fake Melodi serving them."""
    ranged = json.loads((FIXTURES / "melodi_range_ec_deces.json").read_text("utf-8"))
    geo = next(r["values"] for r in ranged["range"] if r["concept"]["code"] == "GEO")
    years = sorted(v["code"] for r in ranged["range"] if r["concept"]["code"] == "TIME_PERIOD"
                   for v in r["values"] if len(v["code"]) == 4)  # fmt: skip
    cube = _cube(geo, years)
    clock = FakeClock()
    remote = FakeRemote(clock=clock, routes=_melodi("DS_EC_DECES", cube, ranged=ranged))
    return geo, years, cube, remote, clock


def test_a_large_query_is_split_by_level_of_geography_after_the_recorded_range() -> None:
    """The recorded range of DS_EC_DECES (départements, régions, France, abroad; 751
    periods): a query of every territory and year beyond the ceiling is asked one level of
    geography at a time (4 queries rather than 751 periods), and the parts together are the
    whole, row for row."""
    _, years, cube, remote, clock = _deaths()
    with serving(remote), _client(clock) as client:
        table = melodi_table(client, f"{remote.base}/melodi", "DS_EC_DECES", [],
                             ceiling=101 * len(years))  # fmt: skip
    data = remote.requests("/melodi/data/DS_EC_DECES")
    pages = [r[2] for r in data if "page" in r[2]]
    assert _seen(table) == _expected(cube) and len(table) == len(cube) == 121 * len(years)
    assert sorted(p["GEO"][0] for p in pages) == ["DEP", "FRANCE", "OTHER", "REG"]
    assert len(data) == 1 + 4 + 4 and len(remote.requests("/melodi/range/DS_EC_DECES")) == 1


def test_a_split_by_period_keeps_to_the_frequency_asked() -> None:
    """``FREQ=A`` on the recorded range of DS_EC_DECES (years, months and days listed): the
    split by period asks for the years alone, not the 751 periods."""
    geo, years, cube, remote, clock = _deaths()
    with serving(remote), _client(clock) as client:
        table = melodi_table(client, f"{remote.base}/melodi", "DS_EC_DECES", [("FREQ", "A")],
                             ceiling=len(geo))  # fmt: skip
    assert _seen(table) == _expected(cube) and len(years) > 4
    assert len(remote.requests("/melodi/data/DS_EC_DECES")) == 1 + 2 * len(years)


def _communes(*departements: str) -> list[dict[str, Any]]:
    """The communes of the real COG 2026 in ``departements``, as Melodi's range lists them."""
    import csv

    from .conftest import COG_2026

    with (COG_2026 / "v_commune_2026.csv").open(encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle)
                if r["TYPECOM"] == "COM" and r["DEP"] in departements]  # fmt: skip
    return [{"code": r["COM"], "label": {"fr": r["LIBELLE"]},
             "type": {"code": "COM", "fr": "Commune"}, "id": f"2026-COM-{r['COM']}"}
            for r in rows]  # fmt: skip


def _asked(remote: FakeRemote, dataset: str) -> list[tuple[str, ...]]:
    """The filters of the pages asked (not the counts), as (GEO, TIME_PERIOD) pairs."""
    return [(r[2]["GEO"][0], *r[2].get("TIME_PERIOD", []))
            for r in remote.requests(f"/melodi/data/{dataset}") if "page" in r[2]]  # fmt: skip


@needs_data
def test_communes_are_split_a_departement_at_a_time_and_by_period_if_need_be() -> None:
    """All communes of three départements (of the real COG) over two years, beyond the
    ceiling. When a département's two years fit, one query per département
    (``GEO=DEP-971*COM``), not a year at a time; when they do not, each département is
    then asked a year at a time. The parts together are the whole, row for row; a budget
    too small is said before any page is read."""
    geo = _communes("93", "94", "971")
    ranged = {"code": "DS_TEST", "range": [
        {"concept": {"code": "GEO"}, "values": geo},
        {"concept": {"code": "TIME_PERIOD"}, "values": [{"code": "2021"}, {"code": "2022"}]},
    ]}  # fmt: skip
    cube = _cube(geo, ["2021", "2022"])
    largest = max(sum(g["code"].startswith(d) for g in geo) for d in ("93", "94", "971"))
    assert len(cube) == 2 * len(geo) > 2 * largest * 2 > 0  # a département fits, not a year
    departements = [f"DEP-{d}*COM" for d in ("93", "94", "971")]
    for ceiling, expected in ((2 * largest, {(d,) for d in departements}),
                              (largest, {(d, y) for d in departements
                                         for y in ("2021", "2022")})):  # fmt: skip
        clock = FakeClock()
        remote = FakeRemote(clock=clock, routes=_melodi("DS_TEST", cube, ranged=ranged))
        with serving(remote), _client(clock) as client:
            table = melodi_table(client, f"{remote.base}/melodi", "DS_TEST", [("GEO", "COM")],
                                 ceiling=ceiling, page=20)  # fmt: skip
        assert _seen(table) == _expected(cube) and len(table) == len(cube)
        assert set(_asked(remote, "DS_TEST")) == expected, ceiling
    clock = FakeClock()
    remote = FakeRemote(clock=clock, routes=_melodi("DS_TEST", cube, ranged=ranged))
    with serving(remote), _client(clock) as client, pytest.raises(
        RemoteError, match="demanderait 8 appels au service, au-delà de 5"
    ):
        melodi_table(client, f"{remote.base}/melodi", "DS_TEST", [("GEO", "COM")],
                     ceiling=2 * largest, budget=5)  # fmt: skip
    assert not _asked(remote, "DS_TEST")


def test_a_split_the_service_refuses_gives_way_to_the_next() -> None:
    """The recorded range of DS_EC_DECES, a service refusing one level as a filter (HTTP
    400 on GEO=OTHER): the split by level is given up for the split by period, and the rows
    are still the whole, row for row."""
    ranged = json.loads((FIXTURES / "melodi_range_ec_deces.json").read_text("utf-8"))
    geo = next(r["values"] for r in ranged["range"] if r["concept"]["code"] == "GEO")
    cube = _cube(geo, ["2019", "2020"])
    routes = _melodi("DS_EC_DECES", cube, ranged=ranged)
    serve = routes["/melodi/data/DS_EC_DECES"]
    refused = Answer(400, b'{"message": "GEO invalide"}', JSON)
    routes["/melodi/data/DS_EC_DECES"] = lambda q: (refused if q.get("GEO") == ["OTHER"]
                                                    else serve(q))  # fmt: skip
    clock = FakeClock()
    remote = FakeRemote(clock=clock, routes=routes)
    with serving(remote), _client(clock) as client:
        table = melodi_table(client, f"{remote.base}/melodi", "DS_EC_DECES", [], ceiling=200)
    assert _seen(table) == _expected(cube)
    pages = [r[2] for r in remote.requests("/melodi/data/DS_EC_DECES") if "page" in r[2]]
    assert sorted(p["TIME_PERIOD"][0] for p in pages) == ["2019", "2020"]


def test_parts_that_do_not_add_up_to_the_whole_are_refused() -> None:
    """A service whose parts' counts do not add up to the whole's (every count the same
    here), whichever the split: refused before any row is read."""
    ranged = json.loads((FIXTURES / "melodi_range_ec_deces.json").read_text("utf-8"))
    clock = FakeClock()
    remote = FakeRemote(clock=clock, routes=_melodi("DS_EC_DECES", [], announced=500,
                                                     ranged=ranged))  # fmt: skip
    with serving(remote), _client(clock) as client, pytest.raises(
        RemoteError, match=r"n'a pu être découpée \(découpée, \d+ lignes pour 500 annoncées"
    ):
        melodi_table(client, f"{remote.base}/melodi", "DS_EC_DECES", [], ceiling=400)
    assert not [r for r in remote.requests() if "page" in r[2]]


def test_fewer_rows_than_announced_is_refused() -> None:
    clock = FakeClock()
    remote = FakeRemote(clock=clock,
                        routes={DATA: _pages(RECORDED["observations"], announced=30)})  # fmt: skip
    with serving(remote), _client(clock) as client, pytest.raises(
        RemoteError, match="24 lignes reçues pour 30 annoncées"
    ):
        melodi_table(client, f"{remote.base}/melodi", "DS_POPULATIONS_REFERENCE",
                     [("GEO", "EPCI-244400404*COM")], page=10)  # fmt: skip


@pytest.mark.usefixtures("built_home")
def test_a_melodi_query_is_fetched_and_imported_with_its_vintage_codes(
    home: Path, tmp_path: Path
) -> None:
    """A source declaring a Melodi data query: fetched, written in Melodi's coded layout and
    imported; each commune of Nantes Métropole has the recorded municipal population, its
    2025 code read in the current geography; the import's origin names the query."""
    from observatoire.observatory import Observatory
    from observatoire.remote.editions import Services
    from observatoire.services.inventory import Registry
    from observatoire.services.remotes import Remotes
    from observatoire.store.appdb import open_appdb

    from .conftest import run

    clock = FakeClock()
    catalogue = json.loads((FIXTURES / "melodi_catalog_all.json").read_text("utf-8"))
    remote = FakeRemote(clock=clock, routes={
        DATA: _pages(RECORDED["observations"]),
        "/melodi/catalog/all": [Answer(200, json.dumps(catalogue).encode(), JSON)],
    })  # fmt: skip
    with serving(remote):
        inventory = tmp_path / "sources.yaml"
        inventory.write_text(
            "sources:\n  - identifiant: popref-nantes\n    nom: Populations de référence\n"
            "    type: donnees\n    producteur: INSEE\n"
            "    distant: melodi:DS_POPULATIONS_REFERENCE?GEO=EPCI-244400404*COM"
            "&POPREF_MEASURE=PMUN\n", "utf-8")  # fmt: skip
        code, out = run("sources", "import", str(inventory), home=home)
        assert code == 0, out
        with Observatory.open(home, write=True) as obs:
            registry = Registry(obs, open_appdb(obs.home.path, obs.home.backend,
                                                obs.home.location))  # fmt: skip
            services = Services(make=lambda name: _client(clock), melodi=f"{remote.base}/melodi")
            with registry:
                done = Remotes(obs, registry, services=services).fetch("popref-nantes")
            history = obs.import_history().set_index("id")
            variable = next(v for v in obs.variables().id if v.startswith("melodi."))
            values = obs.values(variable, within=("epci", "244400404"))
    assert done.report.rows_rejected == 0 and done.file.suffix == ".csv"
    assert "GEO=EPCI-244400404*COM" in history.loc[done.report.batch, "origin"]
    got = values.set_index("code").value
    for observation in RECORDED["observations"]:
        code = observation["dimensions"]["GEO"].split("-")[-1]
        assert got[code] == observation["measures"]["OBS_VALUE_NIVEAU"]["value"], code
    assert len(got) == 24
