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

from .fakeremote import Answer, FakeClock, FakeRemote, serving

FIXTURES = Path(__file__).parent / "fixtures" / "remote"
RECORDED = json.loads((FIXTURES / "melodi_data_popref_epci_nantes.json").read_text("utf-8"))
JSON = {"Content-Type": "application/json"}
DATA = "/melodi/data/DS_POPULATIONS_REFERENCE"


def _pages(observations: list[dict[str, Any]], *, announced: int | None = None) -> Any:
    """A /data answer as Melodi gives it: the count alone, or a page of ``maxResult``."""

    def answer(query: dict[str, list[str]]) -> Answer:
        geo = query.get("GEO", ["*"])  # several values of a dimension: any of them
        mine = [o for o in observations
                if any("*" in g or o["dimensions"]["GEO"].endswith(g.split("-", 1)[-1])
                       for g in geo)]  # fmt: skip
        paging: dict[str, Any] = {"first": "…&page=1"}
        if query.get("totalCount") == ["TRUE"]:
            paging["count"] = announced if announced is not None else len(mine)
            body = {**RECORDED, "observations": [], "paging": paging}
        else:
            size, number = int(query["maxResult"][0]), int(query.get("page", ["1"])[0])
            body = {**RECORDED, "observations": mine[(number - 1) * size:number * size],
                    "paging": paging}  # fmt: skip
        return Answer(200, json.dumps(body).encode(), JSON)

    return answer


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
    with serving(remote), _client(clock) as client:
        table = melodi_table(client, f"{remote.base}/melodi", "DS_POPULATIONS_REFERENCE", two,
                             ceiling=1)  # fmt: skip
        geo = [r[2].get("GEO") for r in remote.requests(DATA)]
        with pytest.raises(RemoteError, match="précisez-le"):
            melodi_table(client, f"{remote.base}/melodi", "DS_POPULATIONS_REFERENCE",
                         [("GEO", "EPCI-244400404*COM")], ceiling=10)  # fmt: skip
    assert sorted(table.GEO) == ["2025-COM-44109", "2025-COM-44143"]
    assert ["COM-44109"] in geo and ["COM-44143"] in geo  # one request each


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
