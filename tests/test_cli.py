"""The command line, as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click
import pytest

from observatoire.cli import cli

from .conftest import COG_2026, DATA, ROOT, needs_data, run


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = []
    for name, command in group.commands.items():
        out.append((*prefix, name))
        if isinstance(command, click.Group):
            out += _commands(command, (*prefix, name))
    return out


def test_the_command_reference_is_generated_from_the_commands() -> None:
    """docs/commandes.md is what the commands print: regenerate it after changing one
    (``python -m observatoire.cli.reference > docs/commandes.md``)."""
    from observatoire.cli.reference import reference

    written = (ROOT / "docs" / "commandes.md").read_text(encoding="utf-8")
    generated = reference()
    assert written == generated, "docs/commandes.md is stale: regenerate it"
    for path in _commands(cli):
        assert f"`observatoire {' '.join(path)}`" in written, path
    assert "geo convert" in written and "Exemple" in written


@pytest.mark.parametrize("path", _commands(cli), ids=" ".join)
def test_every_command_has_help_with_an_example(path: tuple[str, ...]) -> None:
    code, out = run(*path, "--help")
    assert code == 0
    assert "Exemple" in out, f"observatoire {' '.join(path)} --help has no example"


@pytest.mark.slow  # a fresh interpreter imports everything
def test_python_dash_m_works() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "observatoire", "--help"], capture_output=True, text=True, check=True
    )
    assert "territories" in result.stdout


def test_init_twice_is_harmless(built_home: Path) -> None:
    code, out = run("init", home=built_home)
    assert code == 0 and "déjà construit" in out


def test_territories_formats(built_home: Path) -> None:
    code, out = run(
        "territories", "--level", "commune", "--within", "93", "--format", "json", home=built_home
    )
    assert code == 0
    rows = json.loads(out)
    assert len(rows) == 39
    assert {
        "code",
        "name",
        "level",
        "epci",
        "departement",
        "region",
        "population",
        "population_year",
    } <= set(rows[0])
    code, out = run(
        "territories",
        "--level",
        "dep",
        "--within",
        "region:11",
        "--format",
        "csv",
        home=built_home,
    )
    assert out.splitlines()[0].startswith("code,name,level")
    assert len(out.splitlines()) == 9


@needs_data
def test_geo_history_and_passage(built_home: Path, tmp_path: Path) -> None:
    code, out = run("geo", "history", "93059", home=built_home)
    assert code == 0 and "2025-01-01  93059 → 93066" in out
    target = tmp_path / "passage.csv"
    code, out = run("geo", "passage", "--from", "2019", "-o", str(target), home=built_home)
    assert code == 0 and "93059,93066,1.0" in target.read_text()


@needs_data
def test_geo_convert_a_real_filosofi_file(built_home: Path, tmp_path: Path) -> None:
    import pandas as pd

    source_path = DATA / "filosofi" / "FILO2019_DISP_COM.csv"
    target = tmp_path / "converted.csv"
    code, out = run(
        "geo",
        "convert",
        str(source_path),
        "--additive",
        "NBMEN19,NBPERS19",
        "--non-additive",
        "Q219",
        "-o",
        str(target),
        home=built_home,
    )
    assert code == 0, out
    result = pd.read_csv(target, dtype={"CODGEO": str}).set_index("CODGEO")
    source = pd.read_csv(source_path, sep=";", dtype=str, encoding="utf-8-sig")
    source = source.set_index("CODGEO")
    assert len(result) <= len(source) and result.index.is_unique
    assert pd.isna(result.at["93066", "Q219"])  # a median is never averaged
    assert result.at["93066", "methode"] == "fusion de 93059, 93066"
    households = source.loc[["93059", "93066"], "NBMEN19"].str.replace(",", ".").astype(float)
    assert result.at["93066", "NBMEN19"] == pytest.approx(households.sum())
    assert result.at["93001", "Q219"] == float(source.at["93001", "Q219"].replace(",", "."))


@needs_data
def test_geo_convert_reads_numbers_as_producers_write_them(
    built_home: Path, tmp_path: Path
) -> None:
    """Thousands separators and a decimal comma (« 1.234,5 », « 1 234 ») are numbers, not
    missing values: the counts of the merged communes 93059 + 93066 add up exactly."""
    import pandas as pd

    source = tmp_path / "ecrit.csv"
    source.write_text(
        "CODGEO;MENAGES;MEDIANE\n93059;1.234,5;21 000\n93066;2 000;19.500,25\n93001;12;22 100,5\n",
        encoding="utf-8",
    )
    target = tmp_path / "converted.csv"
    code, out = run(
        "geo",
        "convert",
        str(source),
        "--from",
        "2019",
        "--additive",
        "MENAGES",
        "--non-additive",
        "MEDIANE",
        "-o",
        str(target),
        home=built_home,
    )
    assert code == 0, out
    result = pd.read_csv(target, dtype={"CODGEO": str}).set_index("CODGEO")
    assert result.at["93066", "MENAGES"] == pytest.approx(1234.5 + 2000)
    assert result.at["93001", "MENAGES"] == 12
    assert result.at["93001", "MEDIANE"] == pytest.approx(22100.5)
    assert pd.isna(result.at["93066", "MEDIANE"])
    assert "3 codes en entrée" in out


@needs_data
def test_check_codes_on_an_old_vintage(built_home: Path) -> None:
    code, out = run(
        "geo",
        "check-codes",
        str(DATA / "cog" / "epci" / "EPCI_2020.csv"),
        "--column",
        "CODGEO",
        home=built_home,
    )
    assert "codes d'anciens millésimes" in out
    assert code == 0


def test_bad_input_exit_codes(built_home: Path, tmp_path: Path) -> None:
    code, out = run("territories", "--level", "canton", home=built_home)
    assert code == 1 and "niveaux disponibles" in out
    code, out = run("territories", "--within", "Atlantis", home=built_home)
    assert code == 2 and "inconnu" in out
    missing = tmp_path / "nothing"
    code, out = run("status", home=missing)
    assert code == 1 and "init" in out


@needs_data
def test_import_cog_errors_name_the_file(home93: Path, tmp_path: Path) -> None:
    broken = tmp_path / "cog"
    broken.mkdir()
    (broken / "v_commune_2026.csv").write_text((COG_2026 / "v_commune_2026.csv").read_text())
    lines = (COG_2026 / "v_mvt_commune_2026.csv").read_text().splitlines()
    lines[3] = lines[3].replace("2026-01-01", "2026-13-45x")
    (broken / "v_mvt_commune_2026.csv").write_text("\n".join(lines) + "\n")
    code, out = run("geo", "import-cog", str(broken), home=home93)
    assert code == 2
    assert "v_mvt_commune_2026.csv, ligne 4" in out and "DATE_EFF" in out
