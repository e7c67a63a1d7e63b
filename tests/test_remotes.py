"""Sources that keep themselves current (issue 27): declared remotes (Melodi, data.gouv.fr, a
plain address), their new editions noticed, fetched and imported through the normal pipeline.

A fake service on 127.0.0.1 (tests/fakeremote.py) answers as the real ones do: Melodi's
catalogue is a real recorded answer (tests/fixtures/remote/README.md), data.gouv.fr's dataset
answers follow udata's serialisation. The files served are real ones of ../shared/data (CNAF
by IRIS 2016 and 2018, Filosofi 2021 key figures), cut to the 93 in memory. No test reaches the
network."""

from __future__ import annotations

import hashlib
import json
import re
import socket
import zipfile
from io import BytesIO
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from observatoire.errors import BusyError, InputError, RemoteError
from observatoire.observatory import Observatory
from observatoire.remote.editions import Services
from observatoire.remote.http import Patience, Polite
from observatoire.services.inventory import Registry
from observatoire.services.remotes import Remotes, last_checks, withdrawn_imports
from observatoire.store.appdb import open_appdb

from .conftest import DATA, needs_data, run
from .fakeremote import Answer, FakeClock, FakeRemote, serving

pytestmark = needs_data

FIXTURES = Path(__file__).parent / "fixtures" / "remote"
JSON = {"Content-Type": "application/json"}
CAF_DATASET = "donnees-caf-par-iris"
CAF_RESOURCE = "decbe31d-e28c-4f68-9127-d48c7d0a5155"
CAF_FILE = "/fichiers/data_CAF_2018_IRIS.csv"
INVENTORY = """sources:
  - identifiant: caf-iris
    nom: Allocataires CAF par IRIS
    type: donnees
    producteur: CNAF
    jeux: [cnaf.*]
    distant: datagouv:{caf}/{resource}
  - identifiant: filosofi-cc
    nom: Filosofi, chiffres clés
    type: donnees
    producteur: INSEE
    jeux: [insee.filosofi.*]
    distant: melodi:DS_FILOSOFI_CC
  - identifiant: rp-population
    nom: Recensement, population
    type: donnees
    producteur: INSEE
    distant: melodi:DS_RP_POPULATION_PRINC
  - identifiant: caf-2016
    nom: Allocataires CAF 2016 (adresse simple)
    type: donnees
    producteur: CNAF
    distant: {base}/fichiers/data_CAF_2016_IRIS.csv
  - identifiant: sans-distant
    nom: SI-SIAO
    type: systeme
    producteur: SIAO 93
"""


def _cut(path: Path, prefix: str) -> bytes:
    """The header and the lines of ``path`` starting with ``prefix`` (the 93), as bytes."""
    lines = path.read_bytes().split(b"\n")
    return b"\n".join([lines[0], *[x for x in lines[1:] if x.lstrip(b"\xef\xbb\xbf").startswith(
        prefix.encode())]]) + b"\n"  # fmt: skip


def _zip(name: str, body: bytes) -> bytes:
    out = BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{name}_data.csv", body)
        archive.writestr(f"{name}_metadata.csv", '"COD_VAR";"LIB_VAR";"COD_MOD";"LIB_MOD"\n')
    return out.getvalue()


class Producers:
    """The fake Melodi and data.gouv.fr, and the files they serve."""

    def __init__(self, clock: FakeClock) -> None:
        self.caf_2018 = _cut(DATA / "caf" / "data_CAF_2018_IRIS.csv", "93")
        self.caf_2016 = _cut(DATA / "caf" / "data_CAF_2016_IRIS.csv", "93")
        self.filosofi = _zip("DS_FILOSOFI_CC", _cut(DATA / "filosofi" / "cc_filosofi_2021_COM.csv",
                                                    "93"))  # fmt: skip
        self.remote = FakeRemote(clock=clock)
        self.caf_modified = "2026-03-02T10:15:00.123000+00:00"

    def routes(self) -> None:
        base = self.remote.base
        catalogue = json.loads((FIXTURES / "melodi_catalog_all.json").read_text("utf-8"))
        for entry in catalogue:
            for product in entry["product"]:
                product["accessURL"] = f"{base}/melodi/file/{entry['identifier']}/{product['id']}"
                if product["format"] == "CSV" and entry["identifier"] == "DS_FILOSOFI_CC":
                    product["byteSize"] = len(self.filosofi)
        self.remote.routes["/melodi/catalog/all"] = [Answer(200, json.dumps(catalogue).encode(),
                                                            JSON)]  # fmt: skip
        self.remote.files["/melodi/file/DS_FILOSOFI_CC/DS_FILOSOFI_CC_2021_CSV_FR"] = self.filosofi
        self.remote.routes[f"/datagouv/datasets/{CAF_DATASET}/"] = lambda _: Answer(
            200, json.dumps(self.caf_dataset()).encode(), JSON)
        self.remote.files[CAF_FILE] = self.caf_2018
        self.remote.files["/fichiers/data_CAF_2016_IRIS.csv"] = self.caf_2016

    def caf_dataset(self) -> dict[str, Any]:
        """A data.gouv.fr dataset as udata serialises it: a main CSV resource (checksum,
        size, dates) and a documentation page."""
        base = self.remote.base
        return {
            "id": "5c4ae55a634f4117716d5656", "slug": CAF_DATASET, "title": "Données CAF par IRIS",
            "last_update": self.caf_modified, "last_modified": self.caf_modified,
            "resources": [
                {"id": CAF_RESOURCE, "title": "data_CAF_2018_IRIS.csv", "type": "main",
                 "format": "csv", "filetype": "remote", "url": f"{base}{CAF_FILE}",
                 "latest": f"{base}{CAF_FILE}",
                 "checksum": {"type": "sha256", "value": hashlib.sha256(self.caf_2018).hexdigest()},
                 "filesize": len(self.caf_2018), "mime": "text/csv",
                 "created_at": "2019-01-25T11:33:14+00:00", "last_modified": self.caf_modified},
                {"id": "0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b", "title": "Documentation",
                 "type": "documentation", "format": "pdf", "url": f"{base}/doc.pdf",
                 "checksum": None, "filesize": None,
                 "created_at": "2019-01-25T11:33:14+00:00",
                 "last_modified": "2019-01-25T11:33:14+00:00"},
            ],
        }  # fmt: skip


def _services(remote: FakeRemote, clock: FakeClock) -> Services:
    return Services(make=lambda name: Polite(name, limit=25, clock=clock, sleep=clock.sleep,
                                             wall=clock, patience=Patience(retries=2)),
                    melodi=f"{remote.base}/melodi", datagouv=f"{remote.base}/datagouv")  # fmt: skip


@pytest.fixture
def declared(home93: Path, tmp_path: Path) -> Any:
    """The home of the 93 with an inventory of five sources (four with a remote), and the
    fake producers serving them."""
    clock = FakeClock()
    producers = Producers(clock)
    with serving(producers.remote):
        producers.routes()
        inventory = tmp_path / "inventaire.yaml"
        inventory.write_text(INVENTORY.format(caf=CAF_DATASET, resource=CAF_RESOURCE,
                                              base=producers.remote.base), "utf-8")  # fmt: skip
        code, out = run("sources", "import", str(inventory), home=home93)
        assert code == 0, out
        yield home93, producers, clock


def _remotes(home: Path, producers: Producers, clock: FakeClock, *, write: bool = False) -> Any:
    obs = Observatory.open(home, write=write)
    registry = Registry(obs, open_appdb(obs.home.path, obs.home.backend, obs.home.location))
    return obs, registry, Remotes(obs, registry, services=_services(producers.remote, clock))


def test_new_editions_are_noticed_with_one_catalogue_request_for_melodi(declared: Any) -> None:
    """Never imported: every source with a remote has a new edition; Melodi's catalogue is
    asked once for its two sources; the verdicts and the editions seen are kept, and the
    journal has the summary."""
    home, producers, clock = declared
    obs, registry, remotes = _remotes(home, producers, clock)
    with obs, registry:
        found = {c.source: c for c in remotes.check(actor="analyste")}
        kept = remotes.store.checks()
        journal = registry.db.query("SELECT action, detail FROM app_audit")
    assert set(found) == {"caf-iris", "filosofi-cc", "rp-population", "caf-2016"}
    assert {c.state for c in found.values()} == {"nouvelle"}
    assert len(producers.remote.requests("/melodi/catalog/all")) == 1
    filosofi = found["filosofi-cc"].latest
    assert filosofi.ident == "DS_FILOSOFI_CC_2021_CSV_FR"  # the CSV product, not the XLSX
    assert filosofi.modified == "2025-06-04T10:39:59"  # the product's date, not the metadata's
    assert filosofi.file_name.endswith(".zip")
    assert found["rp-population"].latest.covers == "2022"
    caf = found["caf-iris"].latest
    assert caf.modified == "2026-03-02T10:15:00" and caf.checksum[0] == "sha256"
    assert kept["caf-iris"]["state"] == "nouvelle"
    assert "4 source(s) vérifiée(s) : 4 nouvelle(s)" in journal.detail.iloc[-1]


def test_a_fetched_edition_lands_as_the_same_file_imported_by_hand(
    declared: Any, small_home: Path, tmp_path: Path
) -> None:
    """data.gouv.fr's CAF resource fetched (checksum checked) and imported: the same values
    and statuses as the same file imported by hand in another home, the import's origin
    naming the remote and the edition; checked again, the source is up to date; the
    producer publishes a new version: noticed."""
    import shutil

    home, producers, clock = declared
    obs, registry, remotes = _remotes(home, producers, clock, write=True)
    with obs, registry:
        dry = remotes.fetch("caf-iris", dry_run=True, actor="analyste")
        assert dry.report.dry_run and obs.imports().empty
        done = remotes.fetch("caf-iris", actor="analyste")
        values = obs.values("caf.A", within=("departement", "93"))
        history = obs.import_history()
        again = {c.source: c for c in remotes.check(["caf-iris"])}
    assert done.report.batch is not None and done.report.rows_rejected == 0
    assert done.file.read_bytes() == producers.caf_2018
    origin = history.set_index("id").loc[done.report.batch, "origin"]
    assert f"datagouv:{CAF_DATASET}/{CAF_RESOURCE}" in origin and "2026-03-02T10:15:00" in origin
    assert again["caf-iris"].state == "a_jour"
    # withdrawn, the edition is no longer in force: new again
    code, out = run("imports", "rollback", str(done.report.batch), "--no-compute", home=home)
    assert code == 0, out
    obs, registry, remotes = _remotes(home, producers, clock)
    with obs, registry:
        kept = last_checks(registry, withdrawn_imports(obs))["caf-iris"]  # before a new check
        withdrawn = {c.source: c for c in remotes.check(["caf-iris"])}
    assert kept["state"] == "nouvelle" and "retiré" in str(kept["message"])
    assert withdrawn["caf-iris"].state == "nouvelle", withdrawn["caf-iris"].message
    # by hand, in another home
    other = tmp_path / "main"
    shutil.copytree(small_home, other)
    by_hand = tmp_path / "data_CAF_2018_IRIS.csv"
    by_hand.write_bytes(producers.caf_2018)
    code, out = run("import", str(by_hand), home=other)
    assert code == 0, out
    with Observatory.open(other) as hand:
        expected = hand.values("caf.A", within=("departement", "93"))
    columns = ["code", "period", "value", "status"]
    pd.testing.assert_frame_equal(
        values[columns].sort_values(["code", "period"]).reset_index(drop=True),
        expected[columns].sort_values(["code", "period"]).reset_index(drop=True))
    # the producer publishes a corrected file
    producers.caf_2018 = producers.caf_2018.rsplit(b"\n", 2)[0] + b"\n"  # a line withdrawn
    producers.remote.files[CAF_FILE] = producers.caf_2018
    producers.caf_modified = "2026-09-15T08:00:00+00:00"
    obs, registry, remotes = _remotes(home, producers, clock)
    with obs, registry:
        later = {c.source: c for c in remotes.check(["caf-iris"])}
    assert later["caf-iris"].state == "nouvelle" and "15/09/2026" in later["caf-iris"].message


def test_melodi_zip_and_a_plain_address_are_fetched_too(declared: Any) -> None:
    """Melodi's CSV product (a zip of a data and a metadata file) and a plain address (its
    edition from Last-Modified/size) are fetched and imported."""
    home, producers, clock = declared
    good = producers.filosofi
    at = len(good) // 3  # a byte of the compressed data inverted: same size, no checksum
    producers.remote.files["/melodi/file/DS_FILOSOFI_CC/DS_FILOSOFI_CC_2021_CSV_FR"] = (
        good[:at] + bytes([good[at] ^ 0xFF]) + good[at + 1:])  # fmt: skip
    obs, registry, remotes = _remotes(home, producers, clock, write=True)
    with obs, registry:
        with pytest.raises(InputError, match="archive zip tronquée ou corrompue"):
            remotes.fetch("filosofi-cc", actor="analyste")
        assert not list((home / "cache" / "distant" / "filosofi-cc").rglob("*.zip"))
        assert obs.imports().empty  # nothing imported
        producers.remote.files["/melodi/file/DS_FILOSOFI_CC/DS_FILOSOFI_CC_2021_CSV_FR"] = good
        melodi = remotes.fetch("filosofi-cc", actor="analyste")  # downloaded again
        plain = remotes.fetch("caf-2016", actor="analyste")
        history = obs.import_history().set_index("id")
    assert melodi.file.suffix == ".zip" and melodi.report.batch is not None
    assert "melodi:DS_FILOSOFI_CC" in history.loc[melodi.report.batch, "origin"]
    assert plain.report.periods == ["2016"]
    assert history.loc[plain.report.batch, "origin"].startswith(producers.remote.base)


def test_out_of_reach_producers_are_said_so_and_nothing_is_half_imported(declared: Any) -> None:
    """Melodi unreachable: its two sources are in error, data.gouv.fr's still checked; a
    fetch from it fails in French and imports nothing; a file whose checksum differs from the
    producer's is discarded before any import."""
    home, producers, clock = declared
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    obs, registry, remotes = _remotes(home, producers, clock, write=True)
    remotes.services.melodi = closed
    with obs, registry:
        found = {c.source: c for c in remotes.check()}
        with pytest.raises(RemoteError, match="injoignable"):
            remotes.fetch("filosofi-cc")
        # the file served is no longer the one the producer describes (size, checksum)
        producers.remote.files[CAF_FILE] = producers.caf_2018 + b"930010000;ajout\n"
        with pytest.raises(RemoteError, match=r"octets reçus|empreinte"):
            remotes.fetch("caf-iris")
        assert obs.imports().empty
    assert found["filosofi-cc"].state == found["rp-population"].state == "erreur"
    assert "injoignable" in found["filosofi-cc"].message
    assert found["caf-iris"].state == "nouvelle"
    cache = home / "cache" / "distant"
    kept = [p.name for p in cache.rglob("*") if p.is_file()]
    assert all(n.endswith(".verrou") for n in kept), kept  # no file, not even a partial one


def test_the_command_line_checks_and_fetches(
    declared: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``sources check`` (exit 3: new editions) and ``fetch --dry-run`` then ``fetch``, the
    services' addresses given by the environment."""
    home, producers, _ = declared
    monkeypatch.setenv("OBSERVATOIRE_MELODI_URL", f"{producers.remote.base}/melodi")
    monkeypatch.setenv("OBSERVATOIRE_DATAGOUV_URL", f"{producers.remote.base}/datagouv")
    code, out = run("sources", "check", "caf-iris", "filosofi-cc", home=home)
    assert code == 3, out
    assert "nouvelle édition disponible" in out and "2 nouvelle(s)" in out
    code, out = run("fetch", "caf-iris", "--dry-run", home=home)
    assert code == 0 and "seraient importées" in out, out
    code, out = run("fetch", "caf-iris", home=home)
    assert code == 0 and "importées" in out and "indicateur(s) recalculé(s)" in out, out
    with Observatory.open(home) as obs:  # the CAF indicators computed from the new edition
        computed = obs.values("allocataires_caf", within=("departement", "93"))
    assert not computed.empty and "2018" in set(computed.period.astype(str))
    code, out = run("sources", "check", "caf-iris", home=home)
    assert code == 0 and "à jour" in out, out
    code, out = run("sources", "check", "sans-distant", home=home)
    assert code == 2 and "distant" in out


def test_analysts_see_the_last_check_on_the_sources_page(declared: Any) -> None:
    """After a check, the Sources page tells analysts which sources have a new edition (with
    what the producer published and when it was checked); the public does not see it."""
    from fastapi.testclient import TestClient

    from observatoire.services.accounts import Role
    from observatoire.web.app import create_app

    from .conftest import new_account

    home, producers, clock = declared
    obs, registry, remotes = _remotes(home, producers, clock)
    with obs, registry:
        remotes.check(["caf-iris"], actor="analyste")
    with Observatory.open(home) as opened:
        app = create_app(opened)
        analyst = new_account(app, "analyste@test.invalid", Role.ANALYST)
        public = TestClient(app)
        seen = analyst.get("/sources").text
        unseen = public.get("/sources").text
        own = analyst.get("/sources/caf-iris").text
        public_own = public.get("/sources/caf-iris").text
        one = analyst.post("/sources/verification", data={
            "source": "filosofi-cc", "csrf": analyst.cookies["obs_csrf"]},
            follow_redirects=False)  # fmt: skip
        after_one = analyst.get("/sources/filosofi-cc").text
    assert "nouvelle édition disponible" in seen and "02/03/2026" in seen
    assert "pas encore vérifié" in seen  # the other remotes
    assert "1 nouvelle(s) édition(s), 0 à jour, 0 en erreur" in seen  # the check's summary
    assert "Chez le producteur" not in unseen and "nouvelle édition" not in unseen
    # a source's page: where it is published, its verdict, the buttons; not for the public
    assert "Chez le producteur" in own and f"datagouv:{CAF_DATASET}" in own
    assert "nouvelle édition disponible" in own and "/sources/caf-iris/recuperation" in own
    assert "Chez le producteur" not in public_own and "datagouv:" not in public_own
    assert one.status_code == 303 and one.headers["location"] == "/sources/filosofi-cc#distant"
    assert "vérifié le" in after_one and "Vérifier cette source" in after_one
    # the remote removed: its last check is no verdict any more
    code, out = run("sources", "set", "caf-iris", "distant=", home=home)
    assert code == 0, out
    with Observatory.open(home) as opened:
        after = new_account(create_app(opened), "analyste2@test.invalid", Role.ANALYST)
        assert "nouvelle édition disponible" not in after.get("/sources").text


def test_the_demo_notices_fetches_and_shows_a_new_edition(demo_home: Any, tmp_path: Path,
                                                           browser: Any) -> None:  # fmt: skip
    """In Chromium, on the served demo, an analyst signs in and checks the producers from
    the Sources page: the demo's fictitious Melodi-shaped producer (served by the demo
    itself) has the 2023 edition of the households export, newer than the 2022 one
    imported (a copy of the demo served on another port than it was built for: the
    producer's address follows); fetched and imported with the page's button, the
    import's page says where it comes from, the edition is in force, and checked again it
    is up to date."""
    from observatoire.demo import demo_accounts
    from observatoire.demo.remote import SOURCE

    from .conftest import A11Y_CHECK, demo_copy, free_port, serving

    built = demo_copy(demo_home, tmp_path / "demo")
    port = free_port()  # a copy served on another port: the producer follows it
    accounts = {role: (email, password) for email, role, password in demo_accounts(built.home)}
    email, password = accounts["chargé d'études"]
    with serving(built.home, tmp_path / "serve.log", port=port) as base:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(300_000)
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(base + "/connexion")
        page.fill("input[name=email]", email)
        page.fill("input[name=password]", password)
        page.locator("form[action='/connexion'] button[type=submit]").click()
        page.wait_for_load_state()
        page.goto(base + "/sources")
        page.get_by_role("button", name="Vérifier les éditions chez les producteurs").click()
        page.wait_for_url(base + "/sources*")
        row = page.locator(f"tr:has(a[href='/sources/{SOURCE}'])")
        assert "nouvelle édition disponible" in row.inner_text()
        assert "30/11/2026" in row.inner_text()
        assert page.evaluate(A11Y_CHECK) == []
        row.get_by_role("button", name="Récupérer et importer").click()
        page.wait_for_url(re.compile(r".*/imports/\d+.*"))
        detail = page.locator("main").inner_text()
        assert "Récupéré chez le producteur" in detail and "melodi:DS_MENAGES_FICTIF" in detail
        assert page.evaluate(A11Y_CHECK) == []
        page.goto(base + "/sources")
        page.get_by_role("button", name="Vérifier les éditions chez les producteurs").click()
        page.wait_for_url(base + "/sources*")
        row = page.locator(f"tr:has(a[href='/sources/{SOURCE}'])")
        assert "à jour" in row.inner_text() and "Récupérer" not in row.inner_text()
        page.close()
    assert errors == []
    with Observatory.open(built.home) as obs:
        periods = obs.values("melodi.MELODI_MENAGES_SYNTHETIQUES").period.astype(str)
    assert {"2022", "2023"} <= set(periods)


def test_one_fetch_of_a_source_at_a_time(declared: Any) -> None:
    """A second fetch of a source while one runs (the web server and cron) is refused in
    French, and the first goes on."""
    import fcntl

    home, producers, clock = declared
    obs, registry, remotes = _remotes(home, producers, clock, write=True)
    lock = home / "cache" / "distant" / ".caf-iris.verrou"
    lock.parent.mkdir(parents=True, exist_ok=True)
    with lock.open("a") as held, obs, registry:
        fcntl.flock(held, fcntl.LOCK_EX)  # another process is fetching it
        with pytest.raises(BusyError, match="déjà en cours de récupération"):
            remotes.fetch("caf-iris")
        fcntl.flock(held, fcntl.LOCK_UN)
        assert remotes.fetch("caf-iris").report.batch is not None


def test_an_address_stored_before_the_stricter_check_is_one_source_s_error(
    declared: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A « distant » stored by an earlier version and refused now (a port that is no
    number): the check of all sources gives that source an error and the others their
    verdict; the Sources page's verdicts are still read."""
    home, producers, clock = declared
    obs, registry, remotes = _remotes(home, producers, clock)
    stored = registry.source_entries

    def older() -> Any:
        return [{**e, "distant": "https://intranet:8o8o/f.csv"}
                if e["identifiant"] == "caf-2016" else e for e in stored()]  # fmt: skip

    monkeypatch.setattr(registry, "source_entries", older)
    with obs, registry:
        found = {c.source: c for c in remotes.check(actor="analyste")}
        kept = last_checks(registry, withdrawn_imports(obs))
    assert found["caf-2016"].state == "erreur" and "port valide" in found["caf-2016"].message
    assert {found[s].state for s in ("caf-iris", "filosofi-cc", "rp-population")} == {"nouvelle"}
    assert "caf-2016" not in kept and kept["caf-iris"]["state"] == "nouvelle"
