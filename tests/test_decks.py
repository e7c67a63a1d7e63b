"""Decks for meetings, on the demo observatory: the PPTX read back (slides, texts, tables,
pictures, native charts) with its figures compared with the engine's, the offline HTML deck
rendered in Chromium (every slide looked at: PNG in build/decks), the completeness
restitution decks, the command line and the extranet's links and rights."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
from pptx import Presentation

from observatoire.observatory import Observatory
from observatoire.outputs.deck import restitution_deck, territory_deck
from observatoire.outputs.deck_render import deck_html, deck_pptx
from observatoire.secret.policy import PUBLIC

from .conftest import ROOT, run

DECKS = ROOT / "build" / "decks"


def _number(text: str) -> float:
    """A figure as the deck writes it (« 24 310 € », « 12,5 % ») read back."""
    digits = re.sub(r"[^\d,\-−]", "", text).replace("−", "-").replace(",", ".")
    return float(digits)


def _texts(slide: Any) -> str:
    return " ".join(s.text_frame.text for s in slide.shapes if s.has_text_frame)


def test_territory_pptx_read_back_equals_the_engine(demo_home: Any) -> None:
    with Observatory.open(demo_home.home) as obs:
        deck = territory_deck(obs, "93066", reader=PUBLIC)
        profile = obs.profile("commune:93066", reader=PUBLIC)
        labels = {obs.catalogue().get(i).label: i for i in profile.indicator.unique()}
        body = deck_pptx(deck)
    prs = Presentation(io.BytesIO(body))
    slides = list(prs.slides)
    assert len(slides) == len(deck.slides) >= 6
    assert slides[0].shapes.title.text == "Saint-Denis"
    titles = [s.shapes.title.text for s in slides]
    assert titles[1] == "L'essentiel" and titles[-1] == "Sources et méthode"
    assert "Projections : si les tendances se poursuivaient" in titles
    assert "FICTIVES" in _texts(slides[0])  # synthetic figures said so on the deck itself
    # the key figures: every value the engine's, as the public sees it
    table = next(s for s in slides if s.shapes.title.text.startswith("Chiffres clés"))
    grid = next(s for s in table.shapes if s.has_table).table
    checked = 0
    for row in list(grid.rows)[1:]:
        label, period, shown = (row.cells[i].text for i in range(3))
        if shown == "–":
            continue
        found = profile[(profile.indicator == labels[label]) & (profile.period == period)]
        value = float(found.value.iloc[0])
        assert _number(shown) == pytest.approx(value, abs=0.051 if "," in shown else 0.51)
        checked += 1
    assert checked >= 4
    # a theme: its map as a picture, its evolution as a native chart of the engine's values
    theme = next(s for s in slides if s.shapes.title.text == "Emploi et insertion")
    assert any(s.shape_type == 13 for s in theme.shapes)  # a picture (the map)
    chart = next(s for s in theme.shapes if s.has_chart).chart
    series = {s.name: list(s.values) for s in chart.plots[0].series}
    drawn = chart.chart_title.text_frame.text.removeprefix("Évolution : ")
    with Observatory.open(demo_home.home) as obs:
        ident = next(i for i in obs.catalogue().indicators if obs.catalogue().get(i).label == drawn)
        jobs = obs.indicator(ident, level="commune", within="93", reader=PUBLIC)
    mine = jobs[(jobs.code == "93066") & (jobs.status == "ok")].sort_values("period")
    observed = [v for v in series["Saint-Denis"] if v is not None]
    assert observed == pytest.approx(mine.value.tolist())
    assert "Saint-Denis (projection)" in series
    assert "si la tendance de 2023-T3 à 2025-T2 se poursuivait" in _texts(theme) or any(
        "se poursuivait" in _texts(s) for s in slides
    )


def test_html_deck_is_offline_and_every_slide_renders(demo_home: Any, browser: Any) -> None:
    with Observatory.open(demo_home.home) as obs:
        deck = territory_deck(obs, "departement:93", reader=PUBLIC)
    html = deck_html(deck)
    assert not re.search(r"(src|href)=\"(https?:)?//", html)  # nothing fetched from outside
    DECKS.mkdir(parents=True, exist_ok=True)
    path = DECKS / "departement-93.html"
    path.write_text(html, encoding="utf-8")
    page = browser.new_page(viewport={"width": 1330, "height": 800})
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(path.as_uri())
    sections = page.locator("section.slide")
    assert sections.count() == len(deck.slides)
    for n in range(sections.count()):
        slide = sections.nth(n)
        box = slide.bounding_box()
        assert box is not None and box["width"] == 1280 and box["height"] == 720
        slide.screenshot(path=str(DECKS / f"departement-93-{n + 1:02d}.png"))
        # nothing spills out of a slide: its content fits its 16:9 frame
        overflow = slide.evaluate("e => e.scrollHeight > e.clientHeight + 1")
        assert not overflow, deck.slides[n].title
    page.keyboard.press("ArrowRight")
    assert all(u.startswith("file://") for u in requests)
    page.close()


def test_restitution_decks(demo_home: Any, tmp_path: Path) -> None:
    with Observatory.open(demo_home.home) as obs:
        report = obs.records.restitution("demandes_hebergement", operator="OP03")
        whole = obs.records.restitution("demandes_hebergement")
    deck = restitution_deck(report)
    prs = Presentation(io.BytesIO(deck_pptx(deck)))
    texts = [_texts(s) for s in prs.slides]
    assert "Toit Solidaire (FICTIF)" in texts[0] and "FICTIVES" in texts[0]
    fields = next(s for s in prs.slides if "manquants" in s.shapes.title.text)
    grid = next(s for s in fields.shapes if s.has_table).table
    header = [c.text for c in grid.rows[0].cells]
    assert header[-1] == "Médiane des autres"  # the anonymous median of the others
    worst = min(report.fields, key=lambda f: f["completeness"])
    assert grid.cell(1, 0).text == worst["label"]
    assert _number(grid.cell(1, 3).text) == pytest.approx(worst["completeness"], abs=0.051)
    # an operator's deck names no other operator
    others = {o["name"] for o in whole.operators} - {"Toit Solidaire (FICTIF)"}
    assert not any(name in t for t in texts for name in others)
    # the whole collection's: every operator, ranked
    everyone = restitution_deck(whole)
    listed = next(s for s in everyone.slides if s.title == "Les opérateurs")
    assert len(listed.table) - 1 == len(whole.operators)


def test_cli_and_extranet(demo_home: Any, tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from observatoire.services.accounts import Role
    from observatoire.web.app import create_app

    from .conftest import new_account

    target = tmp_path / "social.pptx"
    code, out = run("slides", "93066", "--theme", "social", "-o", str(target),
                    home=demo_home.home)  # fmt: skip
    assert code == 0, out
    titles = [s.shapes.title.text for s in Presentation(str(target)).slides]
    assert "Social, pauvreté, précarité" in titles and "Logement" not in titles
    code, out = run("slides", "93066", "-o", str(tmp_path / "x.odp"), home=demo_home.home)
    assert code == 2 and ".pptx" in out
    code, out = run("slides", "--collection", "demandes_hebergement", "--operator", "OP01",
                    "-o", str(tmp_path / "op.html"), home=demo_home.home)  # fmt: skip
    assert code == 0 and (tmp_path / "op.html").read_text(encoding="utf-8").count("<section") >= 4
    code, out = run("slides", "--collection", "demandes_hebergement", "--audience", "public",
                    "-o", str(tmp_path / "public.html"), home=demo_home.home)  # fmt: skip
    assert code == 1 and "pas diffusés à ce public" in out
    assert not (tmp_path / "public.html").exists()
    with Observatory.open(demo_home.home) as obs:
        app = create_app(obs)
        with TestClient(app) as client:
            page = client.get("/territoires/commune/93066")
            assert "/territoires/commune/93066/diaporama.pptx" in page.text
            answer = client.get("/territoires/commune/93066/diaporama.pptx")
            assert answer.status_code == 200
            assert Presentation(io.BytesIO(answer.content)).slides[0].shapes.title.text
            assert client.get("/territoires/commune/93066/diaporama.html").status_code == 200
            # records are never the public's
            refused = client.get("/completude/demandes_hebergement/diaporama.pptx")
            assert refused.status_code in (401, 403)
        analyst = new_account(app, "diapo-analyste@demo.invalid", Role.ANALYST)
        whole = analyst.get("/completude/demandes_hebergement/diaporama.pptx?territoire=93")
        assert whole.status_code == 200
        mine = analyst.get("/completude/demandes_hebergement/operateurs/OP01/diaporama.html")
        assert mine.status_code == 200 and "Accueil Horizon" in mine.text
        # a partner sees no operator that is not its own, nor a territory's deck
        partner = new_account(app, "diapo-caf@demo.invalid", Role.PARTNER, organisation="caf93")
        assert partner.get("/completude/demandes_hebergement/operateurs/OP01/"
                           "diaporama.pptx").status_code == 403  # fmt: skip
        assert partner.get("/completude/demandes_hebergement/diaporama.pptx").status_code == 403
