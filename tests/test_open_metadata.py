"""The catalogue as open metadata: DCAT-AP in JSON-LD and Turtle, parsed back with an RDF
library (rdflib), and its CSV. The observatory is the census comparator of INSEE (RP 2018, every
commune), imported and computed (conftest ``census_home``)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from observatoire.observatory import Observatory
from observatoire.web import create_app

from .conftest import needs_data, run

rdflib = pytest.importorskip("rdflib")
from rdflib.compare import isomorphic  # noqa: E402
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF  # noqa: E402

pytestmark = [
    needs_data,
    # rdflib's own JSON-LD parser still builds a ConjunctiveGraph inside
    pytest.mark.filterwarnings("ignore:ConjunctiveGraph is deprecated:DeprecationWarning"),
]
BASE = "https://observatoire.example.fr"


def _graph(text: str, syntax: str) -> rdflib.Graph:
    graph = rdflib.Graph()
    graph.parse(data=text, format=syntax)
    return graph


@pytest.fixture(scope="module")
def exports(census_home: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("dcat")
    out = {}
    for fmt, suffix in (("dcat", "jsonld"), ("turtle", "ttl"), ("csv", "csv")):
        target = folder / f"catalogue.{suffix}"
        code, said = run(
            "catalog",
            "export",
            "--format",
            fmt,
            "--base-url",
            BASE,
            "-o",
            str(target),
            home=census_home,
        )
        assert code == 0, said
        out[fmt] = target.read_text(encoding="utf-8")
    return out


def test_dcat_is_valid_json_ld_and_turtle_of_the_same_graph(exports: dict[str, str]) -> None:
    jsonld, turtle = _graph(exports["dcat"], "json-ld"), _graph(exports["turtle"], "turtle")
    assert len(jsonld) > 100 and isomorphic(jsonld, turtle)
    # round trip: rdflib writes it again, reads it back, the same graph
    again = _graph(jsonld.serialize(format="json-ld"), "json-ld")
    assert isomorphic(again, jsonld)


def test_dcat_ap_mandatory_properties(exports: dict[str, str]) -> None:
    graph = _graph(exports["dcat"], "json-ld")
    catalogs = list(graph.subjects(RDF.type, DCAT.Catalog))
    assert catalogs == [rdflib.URIRef(f"{BASE}/catalogue")]
    catalog = catalogs[0]
    for prop in (DCTERMS.title, DCTERMS.description, DCTERMS.publisher):
        assert graph.value(catalog, prop) is not None, prop
    assert graph.value(graph.value(catalog, DCTERMS.publisher), FOAF.name) is not None
    datasets = set(graph.subjects(RDF.type, DCAT.Dataset))
    assert datasets == set(graph.objects(catalog, DCAT.dataset))
    for dataset in datasets:
        for prop in (DCTERMS.title, DCTERMS.description, DCTERMS.identifier):
            assert graph.value(dataset, prop) is not None, (dataset, prop)
        assert str(dataset).startswith(BASE)
    for distribution in graph.subjects(RDF.type, DCAT.Distribution):
        assert str(graph.value(distribution, DCAT.accessURL)).startswith(BASE + "/api/v1/")
    unemployment = rdflib.URIRef(f"{BASE}/indicateurs/taux_chomage_15_64")
    assert unemployment in datasets
    assert graph.value(unemployment, DCAT.landingPage) == unemployment
    source = graph.value(unemployment, DCTERMS.source)  # computed from the census dataset
    assert source in datasets and "insee.rp" in str(graph.value(source, DCTERMS.identifier))
    assert (
        str(graph.value(unemployment, DCTERMS.title))
        == "Taux de chômage des 15-64 ans (recensement)"
    )
    # births are masked for the public below 5, but the indicator stays public: described;
    # nothing restricted to members or partners is (none imported here)
    assert all(str(graph.value(d, DCTERMS.identifier)) for d in datasets)


def test_csv_lists_the_same_datasets(exports: dict[str, str]) -> None:
    graph = _graph(exports["dcat"], "json-ld")
    rows = list(csv.DictReader(io.StringIO(exports["csv"]), delimiter=";"))
    assert {r["uri"] for r in rows} == {str(d) for d in graph.subjects(RDF.type, DCAT.Dataset)}
    indicator = next(r for r in rows if r["identifiant"] == "taux_chomage_15_64")
    assert indicator["type"] == "indicateur" and indicator["telechargement"].endswith(
        "/export?format=csv"
    )


def test_without_an_address_the_export_says_what_to_give(census_home: Path) -> None:
    code, said = run("catalog", "export", home=census_home)
    assert code == 2 and "--base-url" in said


def test_served_at_a_stable_address(census_home: Path) -> None:
    with Observatory.open(census_home) as obs:
        client = TestClient(create_app(obs))
        answer = client.get("/catalogue")
        turtle = client.get("/catalogue.ttl")
        table = client.get("/catalogue.csv")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith(
        "application/ld+json"
    )
    graph = _graph(answer.text, "json-ld")
    assert isomorphic(graph, _graph(turtle.text, "turtle"))
    assert (rdflib.URIRef("http://testserver/catalogue"), RDF.type, DCAT.Catalog) in graph
    assert table.status_code == 200 and "taux_chomage_15_64" in table.text


def test_the_public_catalogue_is_the_same_whoever_reads_it_first(
    census_home: Path, tmp_path: Path
) -> None:
    """A partner reads its own restricted deposits; the catalogue it is served must still be
    the public one, or a cache would hand its restricted indicators' titles to the public
    (issue 18, item 8)."""
    import shutil

    from observatoire.services.accounts import Role
    from observatoire.store.partners import save_partner

    from .conftest import DATA, new_account

    home = tmp_path / "obs"
    shutil.copytree(census_home, home)
    with Observatory.open(home, write=True) as obs:
        save_partner(obs.warehouse, code="pa", name="Partenaire A", kind="CAF")
        caf = DATA / "caf" / "data_CAF_2018_IRIS.csv"
        report = obs.import_file(caf, partner="pa", accepted=True)  # its proposal, accepted
        with obs.warehouse.transaction() as tx:  # the partner's agreement: its eyes only
            tx.execute(
                "UPDATE import_batch SET confidentiality = 'partenaire' WHERE id = ?",
                [report.batch],
            )
        obs.compute(indicators=["part_allocataires_rsa"], levels=["commune", "departement"])
        app = create_app(obs)
        partner = new_account(app, "a@pa.invalid", Role.PARTNER, organisation="pa")
        assert partner.get("/indicateurs/part_allocataires_rsa.json").status_code == 200
        first = partner.get("/catalogue.csv")
        public = TestClient(app).get("/catalogue.csv")
    assert first.status_code == public.status_code == 200
    assert "part_allocataires_rsa" not in public.text
    assert "part_allocataires_rsa" not in first.text  # the public catalogue, for the partner too
    assert "taux_chomage_15_64" in public.text
