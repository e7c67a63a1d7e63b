"""The inventory: sources linked to imports and indicators, the document library and its
French full-text search, observation needs and the work programme (CLI and web)."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from observatoire.store.appdb import AppDatabase

from .conftest import run, serving

SOURCES = """\
sources:
  - identifiant: insee-rp
    nom: Recensement de la population
    type: donnees
    producteur: INSEE
    themes: [cadrage, logement]
    niveaux: [commune, iris]
    frequence: annuelle
    licence: Licence Ouverte / Etalab 2.0
    jeux: ["insee.rp.*"]
  - identifiant: si-siao
    nom: SI-SIAO
    type: systeme
    producteur: Service intégré d'accueil et d'orientation
    contact: siao@example.invalid
    themes: [hébergement]
    prochaine_edition: 2020-01-31
    notes: extraction trimestrielle négociée
"""

NEEDS = """\
programme:
  - identifiant: P2027-001
    annee: 2027
    titre: Étude sur les familles hébergées à l'hôtel
    type: etude
besoins:
  - question: Combien de familles monoparentales sont hébergées à l'hôtel ?
    demandeur: CCAS de Bobigny
    priorite: haute
    statut: programme
    action: P2027-001
    exprime_le: 2026-03-01
  - question: Quelle part de la population a 75 ans ou plus ?
    demandeur: Direction de l'autonomie
    statut: couvert
    sources: [insee-rp]
  - question: Quels délais d'attente en PMI ?
    demandeur: Direction de l'enfance
    priorite: basse
    exprime_le: 2026-01-15
"""


@pytest.fixture(scope="module")
def inv_home(census_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("inventory") / "obs"
    shutil.copytree(census_home, home)
    return home


def _pdf(path: Path, body: str) -> Path:
    from weasyprint import HTML

    HTML(string=f"<html lang='fr'><body>{body}</body></html>").write_pdf(path)
    return path


def _docx(path: Path, paragraphs: list[str]) -> Path:
    ns = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
    body = "".join(f"<w:p><w:r><w:t>{p}</w:t></w:r></w:p>" for p in paragraphs)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(
            "word/document.xml", f'<w:document xmlns:w="{ns}"><w:body>{body}</w:body></w:document>'
        )
    return path


def _json(*args: str, home: Path) -> list[dict[str, object]]:
    code, out = run(*args, "--format", "json", home=home)
    assert code == 0, out
    return json.loads(out)


def test_sources_link_imports_and_indicators_and_flag_overdue(
    inv_home: Path, tmp_path: Path
) -> None:
    file = tmp_path / "inventaire.yaml"
    file.write_text(SOURCES, encoding="utf-8")
    code, out = run("sources", "import", str(file), home=inv_home)
    assert code == 0 and "2 source(s)" in out, out
    listed = {s["identifiant"]: s for s in _json("sources", "list", home=inv_home)}
    rp, siao = listed["insee-rp"], listed["si-siao"]
    # the census comparator imported by the fixture is found through the pattern
    assert rp["imports"] >= 1 and rp["indicateurs_lies"] > 5
    assert rp["en_retard"] is False and rp["edition_attendue"] > rp["dernier_import"]
    assert siao["imports"] == 0 and siao["en_retard"] is True
    assert siao["edition_attendue"] == "2020-01-31"
    overdue = _json("sources", "list", "--retard", home=inv_home)
    assert [s["identifiant"] for s in overdue] == ["si-siao"]
    # searched without accents, by theme
    assert [
        s["identifiant"] for s in _json("sources", "list", "-q", "hebergement", home=inv_home)
    ] == ["si-siao"]
    code, out = run("sources", "show", "insee-rp", home=inv_home)
    shown = json.loads(out)
    assert {"densite_population", "actifs_15_64"} <= {i["id"] for i in shown["indicateurs_detail"]}
    assert shown["imports_detail"][0]["dataset"].startswith("insee.rp")
    # round trip through a spreadsheet
    exported = tmp_path / "inventaire.csv"
    code, out = run("sources", "export", "-o", str(exported), home=inv_home)
    assert code == 0, out
    code, out = run("sources", "import", str(exported), home=inv_home)
    assert code == 0 and "2 source(s)" in out, out
    again = {s["identifiant"]: s for s in _json("sources", "list", home=inv_home)}
    assert again["si-siao"]["themes"] == ["hébergement"] and again["insee-rp"]["jeux"] == [
        "insee.rp.*"
    ]


def test_a_bad_source_file_names_line_and_field_and_writes_nothing(
    inv_home: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "nouvelles.csv"
    bad.write_text(
        "identifiant;nom;type;producteur;frequence\n"
        "cpam-ald;Affections de longue durée;donnees;CPAM;annuelle\n"
        "caf-rsa;Allocataires du RSA;donnees;CAF;chaque lune\n",
        encoding="utf-8",
    )
    code, out = run("sources", "import", str(bad), home=inv_home)
    assert code == 2
    assert "nouvelles.csv, ligne 3, colonne « frequence »" in out and "chaque lune" in out, out
    assert "cpam-ald" not in {s["identifiant"] for s in _json("sources", "list", home=inv_home)}
    unknown = tmp_path / "autre.yaml"
    unknown.write_text(
        "- identifiant: x\n  nom: X\n  type: donnees\n  producteur: Y\n  frequance: annuelle\n",
        encoding="utf-8",
    )
    code, out = run("sources", "import", str(unknown), home=inv_home)
    assert code == 2 and "autre.yaml, ligne 1, colonne « frequance » : champ inconnu" in out, out


def test_full_text_search_finds_a_word_inside_a_pdf_accents_ignored(
    inv_home: Path, tmp_path: Path
) -> None:
    study = _pdf(
        tmp_path / "etude.pdf",
        "<h1>Étude</h1><p>Introduction.</p><p style='page-break-before: always'>Les familles "
        "monoparentales hébergées à l'hôtel sont plus nombreuses en 2025.</p>",
    )
    code, out = run(
        "documents",
        "add",
        str(study),
        "--titre",
        "Familles à l'hôtel",
        "--acces",
        "public",
        "--themes",
        "hébergement; famille",
        home=inv_home,
    )
    assert code == 0 and "2 page(s)" in out, out
    note = _docx(
        tmp_path / "note.docx", ["Note interne", "Le délai moyen en PMI est de douze jours."]
    )
    code, out = run("documents", "add", str(note), "--titre", "Délais en PMI", home=inv_home)
    assert code == 0, out
    for query in ("HEBERGEES hotel", "hébergées", "hebergement monoparental", "monoparent"):
        hits = _json("documents", "search", query, home=inv_home)
        assert [h["titre"] for h in hits] == ["Familles à l'hôtel"], (query, hits)
        assert hits[0]["page"] == 2 and "[" in hits[0]["extrait"]
    assert _json("documents", "search", "delais pmi", home=inv_home)[0]["titre"] == "Délais en PMI"
    assert _json("documents", "search", "hôtel inexistantmot", home=inv_home) == []
    # the internal note is not found by the public, nor by a member: nothing of it shows
    assert _json("documents", "search", "pmi", "--audience", "public", home=inv_home) == []
    assert _json("documents", "search", "pmi", "--audience", "member", home=inv_home) == []
    public = _json("documents", "search", "hotel", "--audience", "public", home=inv_home)
    assert [h["titre"] for h in public] == ["Familles à l'hôtel"]


def test_an_unreadable_document_is_refused_and_nothing_is_kept(
    inv_home: Path, tmp_path: Path
) -> None:
    broken = tmp_path / "rapport.pdf"
    broken.write_bytes(b"%PDF-1.7\nce n'est pas un PDF\n")
    before = sorted(p.name for p in (inv_home / "documents").iterdir())
    code, out = run("documents", "add", str(broken), "--titre", "Rapport", home=inv_home)
    assert code == 2 and "rapport.pdf" in out and "PDF illisible" in out, out
    assert sorted(p.name for p in (inv_home / "documents").iterdir()) == before
    assert "Rapport" not in [d["titre"] for d in _json("documents", "list", home=inv_home)]
    code, out = run(
        "documents",
        "add",
        str(tmp_path / "rapport.pdf"),
        "--titre",
        "R",
        "--acces",
        "partenaire",
        home=inv_home,
    )
    assert code == 2 and "colonne « partenaire »" in out, out


def test_needs_uncovered_and_the_work_programme(inv_home: Path, tmp_path: Path) -> None:
    sources = tmp_path / "s.yaml"
    sources.write_text(SOURCES, encoding="utf-8")
    assert run("sources", "import", str(sources), home=inv_home)[0] == 0
    file = tmp_path / "besoins.yaml"
    file.write_text(NEEDS, encoding="utf-8")
    code, out = run("needs", "import", str(file), home=inv_home)
    assert code == 0 and "3 besoin(s) et 1 action(s)" in out, out
    uncovered = _json("needs", "uncovered", home=inv_home)
    assert [n["priorite"] for n in uncovered] == ["haute", "basse"]  # the covered one is out
    programme = _json("needs", "programme", "2027", home=inv_home)
    assert programme[0]["titre"].startswith("Étude") and len(programme[0]["besoins"]) == 1
    ident = uncovered[1]["identifiant"]
    code, out = run("needs", "set", ident, "statut=couvert", home=inv_home)
    assert code == 2 and "colonne « statut »" in out and "nomme les sources" in out, out
    code, out = run(
        "needs", "set", ident, "statut=couvert", "indicateurs=pas_un_indicateur", home=inv_home
    )
    assert code == 2 and "colonne « indicateurs »" in out, out
    code, out = run("needs", "set", ident, "statut=couvert", "sources=insee-rp", home=inv_home)
    assert code == 0, out
    assert len(_json("needs", "uncovered", home=inv_home)) == 1
    code, out = run("sources", "remove", "insee-rp", home=inv_home)
    assert code == 2 and ident in out, out  # still answers needs


def test_generated_portraits_are_filed_once_each(inv_home: Path, tmp_path: Path) -> None:
    target = tmp_path / "sd.pdf"
    for _ in range(2):
        code, out = run("portrait", "93066", "--format", "pdf", "-o", str(target), home=inv_home)
        assert code == 0 and "classé(s) dans la bibliothèque" in out, out
    portraits = _json("documents", "list", "--type", "portrait", home=inv_home)
    assert len(portraits) == 1 and portraits[0]["acces"] == "public"
    hits = _json("documents", "search", "saint denis", "--audience", "public", home=inv_home)
    assert "Saint-Denis" in hits[0]["titre"]


def _login(client: TestClient, home: Path, role: str) -> None:
    from observatoire.services.accounts import Accounts, parse_role
    from observatoire.store.appdb import open_appdb

    email = f"{role}@test.invalid"
    accounts = Accounts(open_appdb(home, "duckdb"))
    if email not in {u.email for u in accounts.users()}:
        accounts.create_user(
            email,
            "mot de passe très long",
            role=parse_role(role),
            organisation="op03" if role == "partner" else None,
            actor="test",
        )
    accounts.db.close()
    client.get("/connexion")
    response = client.post(
        "/connexion",
        data={
            "email": email,
            "password": "mot de passe très long",
            "csrf": client.cookies.get("obs_csrf"),
        },
        follow_redirects=False,
    )
    assert response.status_code in (302, 303), response.text


def test_web_pages_by_role(inv_home: Path, tmp_path: Path) -> None:
    from observatoire.observatory import Observatory
    from observatoire.web.app import create_app

    sources = tmp_path / "s.yaml"
    sources.write_text(SOURCES, encoding="utf-8")
    assert run("sources", "import", str(sources), home=inv_home)[0] == 0
    with Observatory.open(inv_home) as obs:
        app = create_app(obs)
        public = TestClient(app)
        page = public.get("/sources")
        assert page.status_code == 200 and "SI-SIAO" in page.text and "en retard" in page.text
        detail = public.get("/sources/si-siao.json").json()
        assert "contact" not in detail and "notes" not in detail and "imports_detail" not in detail
        # the territory's page lists its filed portrait
        assert "Portrait social — Saint-Denis" in public.get("/territoires/commune/93066").text
        listed = public.get("/documents.json").json()
        assert listed["pages"] == 1 and listed["total"] == len(listed["documents"])
        assert public.get("/documents?page=2").status_code == 400
        assert public.get("/besoins").status_code == 403
        assert public.get("/sources/nouvelle").status_code == 403
        found = public.get("/documents", params={"q": "hotel"})
        assert "Familles à l&#39;hôtel" in found.text or "Familles à l'hôtel" in found.text
        internal = [d for d in _json("documents", "list", home=inv_home) if d["acces"] == "interne"]
        assert internal, "the internal note of the search test"
        assert public.get(f"/documents/{internal[0]['id']}").status_code == 403
        assert public.get(f"/documents/{internal[0]['id']}/fichier").status_code == 403
        assert "PMI" not in public.get("/documents", params={"q": "pmi"}).text

        analyst = TestClient(app)
        _login(analyst, inv_home, "analyst")
        shown = analyst.get("/sources/si-siao.json").json()
        assert shown["contact"] == "siao@example.invalid" and shown["notes"]
        csrf = analyst.cookies.get("obs_csrf")
        posted = analyst.post(
            "/sources",
            data={
                "csrf": csrf,
                "identifiant": "caf-allocataires",
                "nom": "Allocataires CAF",
                "type": "donnees",
                "producteur": "CNAF",
                "themes": "social; famille",
                "jeux": "cnaf.*",
                "frequence": "annuelle",
            },
            follow_redirects=False,
        )
        assert posted.status_code == 303, posted.text
        assert "Allocataires CAF" in analyst.get("/sources/caf-allocataires").text
        refused = analyst.post(
            "/sources",
            data={
                "csrf": csrf,
                "identifiant": "x",
                "nom": "X",
                "type": "inconnu",
                "producteur": "P",
            },
        )
        assert refused.status_code == 400 and "inconnu" in refused.text
        upload = analyst.post(
            "/documents",
            data={
                "csrf": csrf,
                "titre": "Compte rendu du comité",
                "type": "compte_rendu",
                "acces": "membres",
            },
            files={
                "fichier": (
                    "cr.docx",
                    _docx(
                        tmp_path / "cr.docx",
                        ["Le comité a retenu l'étude des expulsions locatives."],
                    ).read_bytes(),
                )
            },
            follow_redirects=False,
        )
        assert upload.status_code == 303, upload.text
        doc_url = upload.headers["location"]
        assert analyst.get(doc_url + "/fichier").status_code == 200

        member = TestClient(app)
        _login(member, inv_home, "member")
        hits = member.get("/documents.json", params={"q": "expulsion"}).json()["documents"]
        assert [h["titre"] for h in hits] == ["Compte rendu du comité"]
        assert hits[0]["extrait"][1].lower().startswith("expulsion")
        assert public.get("/documents.json", params={"q": "expulsion"}).json()["documents"] == []
        # a member proposes a need: recorded as expressed, in its name, whatever it posts
        csrf = member.cookies.get("obs_csrf")
        proposed = member.post(
            "/besoins",
            data={
                "csrf": csrf,
                "question": "Combien d'expulsions locatives par commune ?",
                "priorite": "haute",
                "statut": "couvert",
                "sources": "insee-rp",
            },
            follow_redirects=False,
        )
        assert proposed.status_code == 303, proposed.text
        need = member.get(proposed.headers["location"] + ".json").json()
        assert need["statut"] == "exprime" and need["sources"] == []
        uncovered = member.get("/besoins/non-couverts.json").json()["needs"]
        assert need["identifiant"] in [n["identifiant"] for n in uncovered]
        assert (
            member.post(
                "/sources",
                data={
                    "csrf": csrf,
                    "identifiant": "y",
                    "nom": "Y",
                    "type": "donnees",
                    "producteur": "P",
                },
            ).status_code
            == 403
        )
        assert member.get("/programme").status_code == 200


def test_the_library_index_on_each_application_database(appdb: AppDatabase) -> None:
    from observatoire.store.inventory import DocumentRow, DocumentStore, EntryTable

    store = DocumentStore(appdb)

    def row(ident: str, title: str, access: str) -> DocumentRow:
        entry = {"titre": title, "acces": access}
        return DocumentRow(
            ident, entry, f"{ident}.pdf", f"{ident}.pdf", "application/pdf", 10, None, 1, "", None
        )

    store.put(row("D1", "Précarité énergétique", "public"), ["Les ménages chauffés au fioul."], "t")
    store.put(row("D2", "Note 100 % interne", "interne"), ["Chauffage collectif, 50 %."], "t")
    everything = store.all()
    hits = store.search(["chauff"], everything)
    assert [h.document.id for h in hits] == ["D1", "D2"] or [h.document.id for h in hits] == [
        "D2",
        "D1",
    ]
    assert [h.document.id for h in store.search(["precarite", "menage"], everything)] == ["D1"]
    assert store.search(["chauff"], [d for d in everything if d.id == "D1"])[0].document.id == "D1"
    store.delete("D1")
    assert [h.document.id for h in store.search(["chauff"], store.all())] == ["D2"]
    # a batch of entries is stored whole or not at all
    table = EntryTable(appdb, "app_need")
    with pytest.raises(KeyError):
        table.put([{"identifiant": "B1", "question": "?"}, {"question": "sans identifiant"}], "t")
    assert table.all() == []
    table.put([{"identifiant": "B1", "question": "?"}], "t")
    assert [e["identifiant"] for e in table.all()] == ["B1"]


MALFORMED = [
    ("syntax.yaml", b"sources:\n  - identifiant: a\n    nom: [unclosed\n", "ligne 4"),
    ("cells.csv", b"identifiant;nom;type;producteur\na;A;donnees;P;en trop\n", "ligne 2"),
    ("empty.csv", b"", "fichier vide"),
    ("scalar.yaml", b"juste un texte\n", "liste d'entr"),
    ("notlist.yaml", b"sources: 3\n", "liste attendue"),
    ("section.yaml", b"autre:\n  - a: 1\n", "section « autre » inconnue"),
    ("item.yaml", b"- 3\n", "dictionnaire"),
    ("garbage.csv", bytes(range(256)) * 8, "garbage.csv"),
    (
        "cp1252.csv",
        "identifiant;nom;type;producteur\nx;Été;donnée;P\n".encode("cp1252"),
        "« donnée » inconnu",
    ),
    ("inventaire.xlsx", b"PK\x03\x04", "fichier .yaml, .yml ou .csv attendu"),
]


@pytest.mark.parametrize(("name", "body", "said"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_inventory_files_are_refused_clearly(
    inv_home: Path, tmp_path: Path, name: str, body: bytes, said: str
) -> None:
    before = _json("sources", "list", home=inv_home)
    path = tmp_path / name
    path.write_bytes(body)
    code, out = run("sources", "import", str(path), home=inv_home)
    assert code == 2 and name in out and said in out, out
    assert _json("sources", "list", home=inv_home) == before


def _zip(members: dict[str, str]) -> bytes:
    import io

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in members.items():
            archive.writestr(name, text)
    return buffer.getvalue()


MALFORMED_DOCUMENTS = [
    ("vide.docx", _zip({"x.xml": "<a/>"}), "fichier bureautique illisible"),
    ("abime.docx", _zip({"word/document.xml": "<w:document><ouvert>"}), "illisible"),
    ("faux.xlsx", b"ce n'est pas un zip", "fichier bureautique illisible"),
    ("tronque.pdf", b"%PDF-1.4\n1 0 obj\n<<", "PDF illisible"),
    ("programme.exe", b"MZ\x90\x00", "type de fichier non pris en charge"),
]


@pytest.mark.parametrize(
    ("name", "body", "said"), MALFORMED_DOCUMENTS, ids=[m[0] for m in MALFORMED_DOCUMENTS]
)
def test_malformed_documents_are_refused_and_nothing_is_kept(
    inv_home: Path, tmp_path: Path, name: str, body: bytes, said: str
) -> None:
    folder = inv_home / "documents"
    files = sorted(p.name for p in folder.iterdir()) if folder.exists() else []
    listed = _json("documents", "list", home=inv_home)
    path = tmp_path / name
    path.write_bytes(body)
    code, out = run("documents", "add", str(path), "--titre", "Malformé", home=inv_home)
    assert code == 2 and name in out and said in out, out
    assert _json("documents", "list", home=inv_home) == listed
    assert (sorted(p.name for p in folder.iterdir()) if folder.exists() else []) == files


def test_several_server_processes_read_the_library_while_it_is_written(
    inv_home: Path, tmp_path: Path
) -> None:
    """Two server processes answer searches and the inventory while the command line files
    documents and loads sources: every answer is whole (bounded: 4 readers × 25 requests)."""
    import subprocess
    import sys
    import threading

    import httpx

    sources = tmp_path / "s.yaml"
    sources.write_text(SOURCES, encoding="utf-8")
    assert run("sources", "import", str(sources), home=inv_home)[0] == 0
    failures: list[str] = []
    with serving(inv_home, tmp_path / "serve.log", "--workers", "2") as base:

        def read() -> None:
            with httpx.Client(base_url=base, timeout=30) as client:
                for n in range(25):
                    url = "/documents.json?q=hotel" if n % 2 else "/sources.json"
                    answer = client.get(url)
                    if answer.status_code != 200:
                        failures.append(f"{url} {answer.status_code} {answer.text[:200]}")
                    else:
                        answer.json()

        readers = [threading.Thread(target=read) for _ in range(4)]
        for thread in readers:
            thread.start()
        cli = [sys.executable, "-m", "observatoire", "--home", str(inv_home)]
        for n in range(3):
            note = tmp_path / f"note{n}.txt"
            note.write_text(f"Compte rendu {n} : hébergement à l'hôtel, réunion {n}.", "utf-8")
            subprocess.run(
                [*cli, "documents", "add", str(note), "--titre", f"CR {n}", "--acces", "public"],
                check=True,
                capture_output=True,
            )
            subprocess.run(
                [*cli, "sources", "import", str(sources)], check=True, capture_output=True
            )
        for thread in readers:
            thread.join(timeout=120)
        assert failures == []
        found = httpx.get(base + "/documents.json", params={"q": "compte rendu hotel"}).json()
        assert {f"CR {n}" for n in range(3)} <= {d["titre"] for d in found["documents"]}
