"""Social portraits on real census values: the figures written in the PDF are the engine's,
its pages are not blank, the audience's secret holds, and the observatory customises it."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from observatoire.errors import InputError
from observatoire.observatory import Observatory
from observatoire.outputs.portrait import PortraitConfig, build_portrait
from observatoire.outputs.portrait_render import render_html, render_pdf, render_xlsx
from observatoire.secret.policy import ANALYST, PUBLIC, ReadPolicy
from observatoire.web import create_app

from .conftest import needs_data, run

USABLE = ("ok", "partial")


def _plain(text: str) -> str:
    """Whitespace as pdftotext may give it (line breaks, no-break spaces) made single spaces."""
    text = re.sub(r"\s+", " ", text.replace("\u202f", " ").replace("\xa0", " ")).strip()
    return text.replace("-", "")  # pdftotext drops the hyphen of « Seine-Saint-Denis » cut there


@needs_data
def test_the_pdf_says_the_engine_s_figures_on_pages_that_are_not_blank(
    census_home: Path, tmp_path: Path
) -> None:
    with Observatory.open(census_home) as obs:
        portrait = build_portrait(obs, "93066", reader=PUBLIC)
        own = obs.profile("93066", reader=PUBLIC)
        department = obs.profile("departement:93", reader=PUBLIC)
        pdf = render_pdf(portrait)
    figures = portrait.figures()
    assert len(portrait.sections) >= 3 and len(figures) >= 12
    for _, figure in figures:  # the engine's value, at the latest period the département has
        rows = own[(own.indicator == figure.indicator) & own.status.isin(USABLE)]
        theirs = department[
            (department.indicator == figure.indicator) & department.status.isin(USABLE)
        ]
        shared = rows[rows.period.isin(set(theirs.period))]
        latest = (shared if len(shared) else rows).sort_values("period").iloc[-1]
        assert figure.period == str(latest.period) and figure.value == pytest.approx(latest.value)
        ref = department[
            (department.indicator == figure.indicator) & (department.period == figure.period)
        ]
        found = next(r for r in figure.references if r["level"] == "departement")
        assert found["value"] == pytest.approx(float(ref.value.iloc[0]))
    path = tmp_path / "saint-denis.pdf"
    path.write_bytes(pdf)
    text = _plain(
        subprocess.run(
            ["pdftotext", str(path), "-"], capture_output=True, text=True, check=True
        ).stdout
    )
    assert "Portrait social" in text and _plain("Saint-Denis") in text
    for _, figure in figures:
        assert _plain(figure.sentence) in text, figure.sentence
    unemployment = next(f for _, f in figures if f.indicator == "taux_chomage_15_64")
    assert f"{unemployment.value:.1f}".replace(".", ",") + " %" in text
    subprocess.run(["pdftoppm", "-r", "40", "-png", str(path), str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) >= 4
    from matplotlib import image

    for page in pages:
        pixels = image.imread(page)[..., :3]
        inked = (pixels.mean(axis=2) < 0.9).mean()
        assert inked > 0.01, f"{page.name} looks blank ({inked:.3%} inked)"


@needs_data
def test_the_public_portrait_holds_no_masked_value(census_home: Path) -> None:
    """A small commune of Alpes-de-Haute-Provence: its births are masked for the public."""
    with Observatory.open(census_home) as obs:
        births = obs.indicator("naissances_annuelles", level="commune", within="04", period="2020")
        small = births[(births.value > 0) & (births.value < 5)].code.iloc[0]
        births_only = PortraitConfig(
            sections=(
                {
                    "theme": "cadrage",
                    "title": "Naissances",
                    "text": "",
                    "indicators": ["naissances_annuelles", "part_naissances"],
                },
            )
        )
        public = build_portrait(obs, small, reader=PUBLIC, config=births_only)
        analyst = build_portrait(obs, small, reader=ANALYST, config=births_only)
    public_ids = {f.indicator for _, f in public.figures()}
    analyst_ids = {f.indicator for _, f in analyst.figures()}
    assert "naissances_annuelles" in analyst_ids and "naissances_annuelles" not in public_ids
    assert public.audience == "le public"
    html = render_html(public)
    assert "secret statistique" in html  # said in the method notes, never shown as a number


@needs_data
def test_xlsx_html_and_the_observatory_s_own_settings(census_home: Path, tmp_path: Path) -> None:
    home = tmp_path / "obs"
    shutil.copytree(census_home, home)
    (home / "logo.png").write_bytes(_png())
    (home / "portrait.yaml").write_text(
        "titre: Diagnostic territorial\n"
        "sous_titre: Édition 2026\n"
        "logo: logo.png\n"
        "couleurs: {principale: '#5b2a86', accent: '#00a19a'}\n"
        "references: [departement, pays]\n"
        "sections:\n"
        "  - theme: emploi-insertion\n"
        "    titre: Emploi\n"
        "    texte: Le chômage au sens du recensement.\n"
        "    indicateurs: [taux_chomage_15_64, taux_activite_15_64]\n",
        encoding="utf-8",
    )
    with Observatory.open(home) as obs:
        config = PortraitConfig.load(home)
        portrait = build_portrait(obs, "93066", reader=ANALYST, config=config)
        assert [s.title for s in portrait.sections] == ["Emploi"]
        assert [f.indicator for f in portrait.sections[0].figures] == [
            "taux_chomage_15_64",
            "taux_activite_15_64",
        ]
        assert [r["level"] for r in portrait.references] == ["departement", "pays"]
        html = render_html(portrait, home=home)
        assert (
            "Diagnostic territorial" in html
            and "#5b2a86" in html
            and "data:image/png;base64," in html
        )
        assert "Le chômage au sens du recensement." in html and "<svg" in html
        (home / "modeles").mkdir()
        (home / "modeles" / "portrait.html").write_text(
            "<!doctype html><html lang=fr><body><h1>{{ p.territory.name }} — maison</h1>"
            "</body></html>",
            encoding="utf-8",
        )
        assert "Saint-Denis — maison" in render_html(portrait, home=home)
        book_path = tmp_path / "p.xlsx"
        book_path.write_bytes(render_xlsx(portrait))
    book = load_workbook(book_path)
    assert book.sheetnames == ["Chiffres clés", "Séries", "Métadonnées"]
    rows = list(book["Chiffres clés"].iter_rows(values_only=True))
    assert rows[0][5] == "Saint-Denis" and rows[1][2] == "taux_chomage_15_64"
    assert rows[1][5] == pytest.approx(portrait.sections[0].figures[0].value)
    (home / "portrait.yaml").write_text("titre: x\ncoleurs: {}\n", encoding="utf-8")
    with pytest.raises(InputError, match="champ inconnu « coleurs »"):
        PortraitConfig.load(home)
    (home / "portrait.yaml").write_text("sections:\n  - theme: inconnu\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"sections\[1\]\.theme"):
        PortraitConfig.load(home)


@needs_data
def test_portraits_from_the_command_line_and_the_web(census_home: Path, tmp_path: Path) -> None:
    home = tmp_path / "obs"
    shutil.copytree(census_home, home)
    code, printed = run(
        "portrait", "93066", "--format", "pdf", "-o", str(tmp_path / "sd.pdf"), home=home
    )
    assert code == 0, printed
    assert (tmp_path / "sd.pdf").read_bytes().startswith(b"%PDF")
    out = tmp_path / "tous"
    code, printed = run(
        "portrait",
        "--all",
        "--level",
        "commune",
        "--within",
        "93",
        "--format",
        "xlsx",
        "-o",
        str(out),
        home=home,
    )
    assert code == 0, printed
    files = sorted(out.glob("*.xlsx"))
    assert len(files) == 39 and files[0].name == "portrait_commune_93001_aubervilliers.xlsx"
    # not a terminal: one line per portrait, as each is written, with the time left
    assert "[1/39] Aubervilliers (93001) → portrait_commune_93001" in printed
    assert "[39/39]" in printed and "encore ~" in printed
    assert not list(out.glob("*.partiel"))
    code, printed = run("portrait", "--all", "-o", str(out), home=home)
    assert code != 0 and "--level" in printed
    with Observatory.open(home) as obs, TestClient(create_app(obs)) as client:
        page = client.get("/territoires/commune/93066").text
        assert 'href="/territoires/commune/93066/portrait.pdf"' in page
        pdf = client.get("/territoires/commune/93066/portrait.pdf")
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
        assert "portrait_commune_93066_saint-denis.pdf" in pdf.headers["content-disposition"]
        html = client.get("/territoires/departement/93/portrait")
        assert html.status_code == 200 and "Seine-Saint-Denis" in html.text
        assert client.get("/territoires/commune/93066/portrait.doc").status_code == 404


def _png() -> bytes:
    import io

    from matplotlib import pyplot as plt

    buffer = io.BytesIO()
    plt.imsave(buffer, np.zeros((8, 8, 3)), format="png")
    return buffer.getvalue()


@needs_data
@pytest.mark.parametrize("audience", ["public", "analyst"])
def test_peers_read_at_once_equal_the_indicator_read(census_home: Path, audience: str) -> None:
    """The one-read profiles of a département's communes (used for peers and maps) give the
    same values and statuses as the indicator read, secret included."""
    with Observatory.open(census_home) as obs:
        reader = ReadPolicy.parse(audience)
        every = obs.profiles("commune", ("departement", "04"), reader=reader)
        for ident in ("naissances_annuelles", "part_naissances", "taux_chomage_15_64"):
            one = obs.indicator(ident, level="commune", within="04", reader=reader)
            one = one[one.status != "missing"].set_index(["code", "period"]).sort_index()
            mine = every[every.indicator == ident].set_index(["code", "period"]).sort_index()
            assert list(mine.index) == list(one.index)
            assert list(mine.status) == list(one.status)
            assert np.allclose(mine.value.astype(float), one.value.astype(float), equal_nan=True)
    if audience == "public":
        assert (every[every.indicator == "naissances_annuelles"].status == "secret").sum() > 20
