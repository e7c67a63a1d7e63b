"""`observatoire demo`: the real referential and a fictitious zoning, labelled so."""

from __future__ import annotations

import subprocess

import pytest

from observatoire.demo import DEMO_ZONING, DemoResult, build_demo
from observatoire.observatory import Observatory

from .conftest import demo_copy


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, demo_home: DemoResult) -> DemoResult:
    """The session's demo, copied: these tests build it again over itself."""
    return demo_copy(demo_home, tmp_path_factory.mktemp("demo") / "demo")


def test_demo_builds_and_shows_the_zoning(built: DemoResult) -> None:
    result = built
    assert "FICTIF" in result.summary
    assert "39 communes" in result.summary
    assert "SYNTHÉTIQUES" in result.summary
    assert "fusion de 93059, 93066" in result.summary
    assert "41 communes" not in result.summary
    assert "format natif CNAF" in result.summary and "cnaf.allocataires" in result.summary
    assert "Proposition d'un partenaire en attente" in result.summary
    assert "descripteur" in result.summary and "cpam.C2S" in result.summary
    assert "0 cellule(s) rejetée(s)" in result.summary
    assert "long.periodique" in result.summary and "2023-T3, 2023-T4, 2024-T1" in result.summary
    assert "Projection des demandeurs d'emploi jusqu'en 2027" in result.summary
    assert "Projection 2023 par rapports de cohortes (Hamilton-Perry)" in result.summary
    assert "deux recensements seulement" in result.summary
    assert "francetravail.DEFM_A" in result.summary  # derived by the vocabulary
    assert "insee.melodi" in result.summary and "0 rejetée(s)" in result.summary
    assert "anct.qpv" in result.summary and "au référentiel : 6 QPV, 1 ensemble" in result.summary
    assert "tableau du Département" in result.summary and "39 communes" in result.summary
    assert "observatoire compute : " in result.summary and "profil de Saint-Denis" in result.summary
    assert "Indicateurs calculés" in result.summary and "couverture insuffisante" in result.summary
    assert "Catalogue : " in result.summary and "Recherche « pauvreté »" in result.summary
    assert "Jeux de données en vigueur" in result.summary and "(à jour)" in result.summary
    assert "departement93.rsa" in result.summary and "partenaire, trimestrielle" in result.summary
    assert result.map_png.stat().st_size > 20_000
    svg = result.map_svg.read_text(encoding="utf-8")
    assert "FICTIF" in svg or "fictif" in svg
    with Observatory.open(result.home) as obs:
        zones = obs.geography.territories(level=DEMO_ZONING)
        assert len(zones) == 5 and zones.name.str.contains("fictif").all()
        communes = obs.geography.territories(level="commune", within="93", zoning=DEMO_ZONING)
        assert communes.zone.notna().all()
        assert zones.population.sum() == communes.population.sum()
    names = sorted(p.name for p in result.portraits)
    assert len(names) == 1 + 39 + 5 and "portrait_commune_93066_saint-denis.pdf" in names
    assert "portrait_tas93_TAS2_tas-saint-denis-fictif.pdf" in names
    cover = subprocess.run(
        ["pdftotext", "-l", "1", str(result.home / "portraits" / names[0]), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "FICTIVES" in cover
    again = build_demo(result.home, echo=lambda _: None)  # running it twice is harmless
    assert again.summary == result.summary
    assert len(list((result.home / "propositions").glob("*.json"))) == 1


def test_demo_is_served_with_its_synthetic_data_labelled(built: DemoResult) -> None:
    from fastapi.testclient import TestClient

    from observatoire.web import create_app

    result = built
    with Observatory.open(result.home) as obs, TestClient(create_app(obs)) as client:
        home = client.get("/")
        assert home.status_code == 200
        assert "Démonstration" in home.text and "FICTIFS (données synthétiques)" in home.text
        assert "Seine-Saint-Denis" in home.text and "Chiffres clés" in home.text
        quartier = client.get("/territoires/qpv/QP093901")
        assert quartier.status_code == 200 and "Quartier fictif des Tilleuls" in quartier.text
        assert "Ensemble des QPV 2015 de la Seine-Saint-Denis" in quartier.text
        zones = client.get("/indicateurs/part_allocataires_aah.json?niveau=tas93").json()
        assert len(zones["values"]) == 5 and all("fictif" in z["name"] for z in zones["values"])
        assert "FICTIFS" in client.get("/indicateurs/part_allocataires_aah?niveau=tas93").text
        zoning = client.get("/zonages/tas93.json").json()
        assert len(zoning["zones"]) == 5 and sum(len(z["units"]) for z in zoning["zones"]) == 39
        assert "FICTIFS" in client.get("/zonages/tas93").text
        # the members-only dataset of the demo (CPAM) is not shown to the public
        refused = client.get("/api/v1/variables/cpam.C2S/values?level=commune&within=93")
        assert refused.status_code == 403 and "membres" in refused.json()["error"]
        raw = client.get("/api/v1/variables/caf.ARSAS/values?level=commune&within=93")
        assert raw.status_code == 403 and "secret statistique" in raw.json()["error"]
        boards = client.get("/tableaux-de-bord.json").json()["dashboards"]
        assert boards[0]["id"] == "pilotage" and len(boards) > 1  # declared, then per theme
        board = client.get("/tableaux-de-bord/pilotage")
        assert board.status_code == 200 and "FICTIVES" in board.text
        assert board.text.count('class="svgmap"') == 2
        # the trend of the job seekers and the plan's scenario, side by side
        assert "Projection : Demandeurs d" in board.text and "projection-line" in board.text
        assert "scénario (−5,0 % par an)" in board.text and "écart au scénario" in board.text
        portrait = client.get("/territoires/tas93/TAS2/portrait")
        assert portrait.status_code == 200 and "FICTIVES" in portrait.text
    # the CAF partner's proposal waits for an analyst, who sees it with its report
    from observatoire.services.accounts import Role

    from .conftest import new_account

    with Observatory.open(result.home, write=True) as obs:
        app = create_app(obs)
        analyst = new_account(app, "relecteur@demo.invalid", Role.ANALYST)
        waiting = analyst.get("/imports.json").json()["proposals"]
        assert [(p["organisation"], p["dataset"]) for p in waiting] == [
            ("caf93", "cnaf.allocataires.commune")
        ]
        page = analyst.get(f"/imports/propositions/{waiting[0]['id']}")
        assert page.status_code == 200 and "SYNTHETIQUES_CAF_2025" in page.text


def test_every_sentence_of_every_demo_portrait_reads_as_french(demo_home: DemoResult) -> None:
    """Each demo portrait (the département, its 39 communes, the fictitious zones), built as
    the demo writes them: every sentence has a verb, its period is its table's, no label is
    repeated, every figure has its unit, no « 0,0 % »."""
    from observatoire.outputs.portrait import SharedReads, build_portrait
    from observatoire.secret.policy import PUBLIC

    from .french import sentence_faults

    faults = []
    with Observatory.open(demo_home.home) as obs:
        communes = obs.geography.territories(level="commune", within="93").code.tolist()
        zones = obs.geography.territories(level=DEMO_ZONING).code.tolist()
        chosen = [
            ("departement:93", None),
            *((str(c), "commune") for c in communes),
            *((str(z), DEMO_ZONING) for z in zones),
        ]
        memo = SharedReads()
        sentences = 0
        for territory, level in chosen:
            portrait = build_portrait(obs, territory, level=level, reader=PUBLIC, memo=memo)
            for _, figure in portrait.figures():
                sentences += 1
                faults += [f"{territory} {figure.indicator}: {f} — {figure.sentence}"
                           for f in sentence_faults(figure)]  # fmt: skip
    assert len(chosen) >= 40 and sentences > 40 * 10
    assert faults == []


def test_cohort_projection_reads_nothing_its_audience_may_not(demo_home: DemoResult) -> None:
    """The census by age is public; the CPAM's members-only counts cannot become the public's
    control of it (nor the census a control the public may not read)."""
    from observatoire.errors import AccessError
    from observatoire.secret.policy import MEMBER, PUBLIC

    census = "melodi.POP_SEXE_AGE_SYNTHETIQUES"
    with Observatory.open(demo_home.home) as obs:
        public = obs.cohort_projection(census, within="93", reader=PUBLIC)
        assert len(public.values) and public.unmeasured
        with pytest.raises(AccessError):
            obs.cohort_projection(census, within="93", control="cpam.ASSURES", reader=PUBLIC)
        with pytest.raises(AccessError):
            obs.cohort_projection("cpam.ASSURES", within="93", reader=PUBLIC)
        obs.cohort_projection(census, within="93", reader=MEMBER)


def test_demo_review_of_its_data(built: DemoResult) -> None:
    """The demo's review finds the jumps slipped into its synthetic France Travail file (one
    confirmed, one a false positive kept so), the operator late for two months, and the public
    sees the confirmed flag only."""
    from observatoire.secret.policy import ANALYST, PUBLIC
    from observatoire.services.quality import QualityReview
    from observatoire.store.appdb import open_appdb

    assert "Revue de qualité des données" in built.summary
    with Observatory.open(built.home) as obs:
        db = open_appdb(obs.home.path, obs.home.backend, obs.home.location)
        review = QualityReview(obs, db)
        flags = review.flags(states=["nouveau", "connu", "confirme", "faux_positif"])
        jobs = flags[flags.subject == "demandeurs_emploi"]
        assert {(r.code, r.period, r.state) for r in jobs.itertuples()} == {
            ("93048", "2024-T3", "confirme"), ("93010", "2025-T1", "faux_positif")}
        late = flags[flags.check_name == "transmission.retard"]
        assert {(r.code, r.period) for r in late.itertuples()} == {
            ("OP05", "2025-09"), ("OP05", "2025-10")}
        assert set(late.state) == {"connu"}
        assert "FICTIF" in " ".join(flags.comment.dropna())
        shown = review.vigilance("demandeurs_emploi", "commune", None, PUBLIC)
        assert shown.code.tolist() == ["93048"]
        assert len(review.vigilance("demandeurs_emploi", "commune", None, ANALYST)) == 1
        # the review again: the analyst's judgements are kept
        again = review.run(actor="test")
        assert again.new == 0
        kept = review.flags(states=["faux_positif"])
        assert kept.code.tolist() == ["93010"]
        db.close()


def test_demo_shows_the_analyst_views(built: DemoResult) -> None:
    """Each analyst view answers on the demo (synthetic CAF figures, real communes), for the
    public as for the analyst, from the pages the summary names."""
    from fastapi.testclient import TestClient

    from observatoire.web.app import create_app

    assert "Vues d'analyse" in built.summary and "Entonnoir de la part" in built.summary
    with Observatory.open(built.home) as obs, TestClient(create_app(obs)) as client:
        for url in ("/indicateurs/part_allocataires_rsa/entonnoir", "/ecarts",
                    "/indicateurs/part_allocataires_aah/gradient?dans=93&groupes=5",
                    "/cartes?mode=bivariee&carte=part_allocataires_rsa"
                    "&carte=part_allocataires_aah&dans=93",
                    "/indicateurs/part_allocataires_monoparents/qpv?dans=93"):  # fmt: skip
            page = client.get(url)
            assert page.status_code == 200, url
            assert "Pas de" not in page.text, (url, page.text[-2000:])
            assert "FICTIF" in page.text  # the demo notice on every page
        gaps = client.get("/api/v1/indicators/part_allocataires_monoparents/qpv",
                          params={"within": "93"}).json()
    # the six fictitious quartiers, each against the rest of its communes (same year)
    assert len(gaps["quartiers"]) == 6 and gaps["period"] == "2024"
    assert all(q["rest_value"] is not None for q in gaps["quartiers"]), gaps["quartiers"]
    assert gaps["ensembles"][0]["rest_value"] is not None
    assert "QPV FICTIFS et reste de leurs communes" in built.summary
