"""Importing producers' native files (../shared/data), with zero configuration."""

from __future__ import annotations

import csv
import io
import random
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from observatoire.catalog.numbers import parse_numbers
from observatoire.errors import FileFormatError
from observatoire.observatory import Observatory
from observatoire.store.values import batch_values

from .conftest import DATA, needs_data, run

pytestmark = needs_data

# file, connector, level, the independent reading of its cells (path, member, code column)
REAL_FILES = [
    ("filosofi/FILO2019_DISP_COM.csv", "insee.filosofi", "commune"),
    ("filosofi/FILO2019_DISP_DEP.csv", "insee.filosofi", "departement"),
    ("filosofi/FILO2019_DISP_EPCI.csv", "insee.filosofi", "epci"),
    ("filosofi/FILO2019_DISP_REG.csv", "insee.filosofi", "region"),
    ("filosofi/FILO2019_DISP_METROPOLE.csv", "insee.filosofi", "pays"),
    ("filosofi/cc_filosofi_2021_COM.csv", "insee.filosofi", "commune"),
    ("filosofi/BASE_TD_FILO_IRIS_2021_DISP.csv", "insee.filosofi", "iris"),
    ("census/base_cc_comparateur_csv_RP2018.zip", "insee.rp", "commune"),
    ("caf/data_CAF_2018_IRIS.csv", "cnaf.allocataires", "iris"),
]


def _independent_cells(path: Path) -> tuple[list[str], list[list[str]]]:
    """The file read with the csv module only (no project code)."""
    if path.suffix == ".zip":
        with zipfile.ZipFile(path) as archive:
            name = next(n for n in archive.namelist() if not n.startswith("meta"))
            text = archive.read(name).decode("utf-8-sig")
    else:
        text = path.read_bytes().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    return rows[0], [r for r in rows[1:] if r]


def _number(cell: str) -> float | None:
    cell = cell.strip().replace(",", ".")
    try:
        return float(cell)
    except ValueError:
        return None


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory, built_home: Path) -> Path:
    home = tmp_path_factory.mktemp("imports") / "obs"
    import shutil

    shutil.copytree(built_home, home)
    files = [str(DATA / f) for f, _, _ in REAL_FILES]
    files.insert(0, str(DATA / "filosofi" / "meta_BASE_TD_FILO_IRIS_2021_DISP.csv"))
    code, out = run("import", *files, home=home)
    assert code in (0, 3), out  # 3: some unknown codes were rejected, and reported
    return home


@pytest.mark.parametrize(("name", "connector", "level"), REAL_FILES)
def test_every_real_file_is_recognised(home: Path, name: str, connector: str, level: str) -> None:
    with Observatory.open(home) as obs:
        report = obs.import_file(DATA / name, dry_run=True)
    assert (report.connector, report.level) == (connector, level)
    assert report.rows_read > 0 and report.rows_imported >= 0.99 * report.rows_read
    assert report.cells_rejected == 0


def test_stored_values_equal_the_cells(imported: Path) -> None:
    rng = random.Random(2026)
    with Observatory.open(imported) as obs:
        imports = obs.imports()
        for name, _, level in REAL_FILES:
            header, rows = _independent_cells(DATA / name)
            batch = int(imports[imports.file_name == Path(name).name].id.iloc[0])
            details = obs.import_details(batch)
            columns = obs.warehouse.query(
                "SELECT column_name, variable, period FROM batch_column WHERE batch = ?", [batch]
            )
            by_column = {
                c: (v, p)
                for c, v, p in zip(
                    columns.column_name, columns.variable, columns.period, strict=True
                )
            }
            # The file's cells are the values as published: for a territory that changed since,
            # the published row, otherwise the current one.
            stored = batch_values(obs.warehouse, batch)
            stored = (
                stored.sort_values("geography", ascending=False)
                .drop_duplicates(["variable", "code", "period"])
                .set_index(["variable", "code", "period"])
            )
            checked = 0
            sample = rng.sample(rows, min(60, len(rows)))
            for row in sample:
                code = row[0] if level != "pays" else "FRM"
                for column in rng.sample([c for c in header if c in by_column], 5):
                    variable, period = by_column[column]
                    key = (variable, code, period)
                    if key not in stored.index:
                        continue  # a rejected or converted row; counted in the report
                    cell = row[header.index(column)]
                    value, status = stored.loc[key, ["value", "status"]]
                    expected = _number(cell)
                    if expected is None:
                        marker = {"": "secret", "s": "secret", "ns": "ns", "so": "so", "nd": "nd"}
                        assert status == marker[cell.strip()], (name, key, cell, status)
                    else:
                        assert value == pytest.approx(expected), (name, key, cell)
                        assert status == "ok"
                    checked += 1
            assert checked >= 0.9 * 5 * len(sample), (name, checked)
            assert details["sha256"] and details["size"] == (DATA / name).stat().st_size


def test_secret_is_neither_zero_nor_missing(imported: Path) -> None:
    with Observatory.open(imported) as obs:
        values = obs.values("filosofi.DISP_Q1", level="commune", period="2019")
    secret = values[values.status == "secret"]
    assert len(secret) > 20000 and secret.value.isna().all()
    assert (values.status == "ok").sum() > 4000


def test_past_geography_is_converted(imported: Path) -> None:
    with Observatory.open(imported) as obs:
        households = obs.values("filosofi.DISP_NBMEN", within="93", period="2019")
        median = obs.values("filosofi.DISP_Q2", within="93", period="2019")
        published = obs.values("filosofi.DISP_NBMEN", period="2019", published=True)
    saint_denis = households.set_index("code").loc["93066"]
    parts = published.set_index("code").loc[["93059", "93066"], "value"]
    assert saint_denis.value == parts.sum() and "93059" in saint_denis.note
    assert median.set_index("code").at["93066", "status"] == "nd"
    assert len(households) == 39


def test_arrondissements_and_dictionary_labels(imported: Path) -> None:
    with Observatory.open(imported) as obs:
        arm = obs.values("filosofi.DISP_Q2", level="arm", period="2019")
        variables = obs.variables(source="filosofi").set_index("id")
        census = obs.variables(source="rp").set_index("id")
    assert {"75101", "13201", "69381"} <= set(arm.code)
    assert "pauvreté" in variables.at["filosofi.DISP_TP60", "label"]
    # P13_POP and P18_POP both feed rp.POP: its label carries no year.
    assert census.at["rp.POP", "label"] == "Population"
    assert census.at["rp.LOGVAC", "label"] == "Logements vacants"


def test_dry_run_writes_nothing_and_versions_roll_back(home: Path, tmp_path: Path) -> None:
    path = DATA / "filosofi" / "FILO2019_DISP_DEP.csv"
    with Observatory.open(home, write=True) as obs:
        obs.import_file(path, dry_run=True)
        assert obs.warehouse.count("series_value") == 0 and obs.imports().empty
        first = obs.import_file(path)
        again = obs.import_file(path)
        assert again.unchanged and again.batch == first.batch  # same file: nothing to do
        modified = tmp_path / "FILO2019_DISP_DEP.csv"
        modified.write_bytes(path.read_bytes().replace(b";Ain;", b";Ain (corrige);"))
        second = obs.import_file(modified)
        assert second.replaced == first.batch
        assert len(obs.values("filosofi.DISP_Q2", level="departement")) == 98
        assert obs.rollback(second.batch or 0) == (second.batch, first.batch)
        statuses = dict(zip(obs.imports().id, obs.imports().status, strict=True))
        assert statuses == {first.batch: "active", second.batch: "rolled_back"}
        assert len(obs.values("filosofi.DISP_Q2", level="departement")) == 98


def test_bad_files(home93: Path, tmp_path: Path) -> None:
    unknown = tmp_path / "inconnu.csv"
    unknown.write_text("CODGEO;FOO;BAR\n93066;1;2\n", encoding="utf-8")
    bomb = tmp_path / "bombe.zip"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("data.csv", "0" * 50_000_000)
    binary = tmp_path / "binaire.csv"
    binary.write_bytes(bytes(range(256)) * 40)
    huge = tmp_path / "enorme.csv"
    with huge.open("wb") as handle:  # a sparse 2 GB file: no disk used, no memory either
        handle.truncate(2 * 1024**3)
    with Observatory.open(home93, write=True) as obs:
        with pytest.raises(FileFormatError, match="format non reconnu"):
            obs.import_file(unknown)
        with pytest.raises(FileFormatError, match="bombe"):
            obs.import_file(bomb)
        with pytest.raises(FileFormatError):
            obs.import_file(binary)
        with pytest.raises(FileFormatError, match="binaire"):
            obs.import_file(huge)  # refused from its first bytes, before any full read
        with pytest.raises(FileFormatError, match=r"2\.0 Go"):
            obs.import_file(huge, max_bytes=1024**3)
        assert obs.imports().empty


def test_cli_import_exit_status_and_json(home: Path) -> None:
    code, out = run(
        "import",
        str(DATA / "filosofi" / "FILO2019_DISP_EPCI.csv"),
        "--dry-run",
        "--format",
        "json",
        home=home,
    )
    assert code == 3  # ten 2019 EPCI no longer exist: rejected, with suggestions
    import json

    (report,) = json.loads(out)
    assert report["rows_rejected"] == 10 and report["rejections"] == {"code inconnu": 10}
    assert "proches" in report["examples"][0]["value"]


@settings(max_examples=60, deadline=None)
@given(
    numbers=st.lists(
        st.floats(min_value=-1e7, max_value=1e7, allow_nan=False).map(lambda x: round(x, 2)),
        min_size=1,
        max_size=20,
    ),
    decimal=st.sampled_from([",", "."]),
    thousands=st.sampled_from(["", " ", "\u00a0", "\u202f"]),
)
def test_any_decimal_mark_and_thousands_separator_read_the_same(
    numbers: list[float], decimal: str, thousands: str
) -> None:
    def write(x: float) -> str:
        whole, frac = f"{abs(x):.2f}".split(".")
        grouped = f"{int(whole):,}".replace(",", thousands)
        return ("-" if x < 0 else "") + grouped + decimal + frac

    parsed = parse_numbers(pd.Series([write(x) for x in numbers]))
    assert parsed.invalid.size == 0
    assert parsed.values.tolist() == pytest.approx(numbers)


def test_statistiques_locales_export(home93: Path, tmp_path: Path) -> None:
    """An export as statistiques-locales.insee.fr writes it, built from the real census values
    of the 93 (P18_POP of base_cc_comparateur) with its metadata lines and N/A markers."""
    header, rows = _independent_cells(DATA / "census" / "base_cc_comparateur_csv_RP2018.zip")
    pop = header.index("P18_POP")
    rows93 = [r for r in rows if r[0].startswith("93")]
    lines = [
        '"Zonage : Communes"',
        '"Indicateurs : Population municipale 2018 ; Taux de pauvreté 2019"',
        '"Source : Insee"',
        "",
        "Code;Libellé;Population municipale 2018;Taux de pauvreté 2019",
    ]
    for i, row in enumerate(rows93):
        rate = "N/A - secret statistique" if i == 0 else f"{20 + i / 10:.1f}".replace(".", ",")
        lines.append(f'"{row[0]}";"x";"{row[pop]}";"{rate}"')
    path = tmp_path / "export_statistiques_locales.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with Observatory.open(home93, write=True) as obs:
        report = obs.import_file(path)
        population = obs.values("statloc.POPULATION_MUNICIPALE", period="2018").set_index("code")
        rate = obs.values("statloc.TAUX_DE_PAUVRETE", period="2019").set_index("code")
        labels = obs.variables(source="statloc").set_index("id").label
    assert report.connector == "insee.statistiques-locales" and report.level == "commune"
    # A population is a count: Pierrefitte (93059, separate in 2018) is added to Saint-Denis.
    published = {r[0]: float(r[pop]) for r in rows93}
    assert population.at["93066", "value"] == pytest.approx(published["93066"] + published["93059"])
    assert rate.at[rows93[0][0], "status"] == "secret"
    assert labels["statloc.TAUX_DE_PAUVRETE"] == "Taux de pauvreté"
    assert report.converted_codes == 1  # 93059 (2018 geography) merged into 93066 since


def _jobseekers_file(path: Path, communes: list[tuple[str, str]]) -> dict[tuple[str, str], float]:
    """A France Travail / DARES-shaped file (synthetic counts on the real communes of the 93):
    one row per quarter × commune × category × sex × age band. Returns the expected totals of
    category A by (commune, quarter)."""
    rng = random.Random(93)
    lines = ["Période;Code commune;Libellé commune;Catégorie;Sexe;Tranche d'âge;Nombre"]
    totals: dict[tuple[str, str], float] = {}
    for quarter in ("2024-T3", "2024-T4"):
        for code, name in communes:
            for category in ("A", "ABC"):
                for sex in ("F", "H"):
                    for age in ("moins de 25 ans", "25-49 ans", "50 ans ou plus"):
                        n = rng.randint(0, 900)
                        cell = "" if n < 5 else str(n)  # small counts are secret
                        lines.append(f"{quarter};{code};{name};{category};{sex};{age};{cell}")
                        if category == "A" and cell:
                            totals[(code, quarter)] = totals.get((code, quarter), 0) + n
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return totals


def test_long_layout_jobseekers(home93: Path, tmp_path: Path) -> None:
    with Observatory.open(home93) as obs:
        communes = obs.geography.territories(level="commune", within="93")
    pairs = [*zip(communes.code, communes.name, strict=True), ("93059", "Pierrefitte")]
    path = tmp_path / "DEFM_communes_2024.csv"
    _jobseekers_file(path, pairs)
    with Observatory.open(home93, write=True) as obs:
        report = obs.import_file(path)
        women = obs.values(
            "francetravail.NOMBRE",
            within="93",
            period="2024-T4",
            dims="Sexe=F, Catégorie=A, Tranche d'âge=25-49 ans",
        )
        published = obs.values(
            "francetravail.NOMBRE",
            period="2024-T4",
            published=True,
            dims="Catégorie=A|Sexe=F|Tranche d'âge=25-49 ans",
        )
    assert report.connector == "long.periodique" and report.level == "commune"
    assert report.periods == ["2024-T3", "2024-T4"]
    assert report.rows_read == 2 * 40 * 2 * 2 * 3 and report.rows_rejected == 0
    assert len(women) == 39 and set(women.dims) == {"Catégorie=A|Sexe=F|Tranche d'âge=25-49 ans"}
    # Pierrefitte's rows, a 2024 geography, are added to Saint-Denis unless one part is secret.
    parts = published.set_index("code").loc[["93059", "93066"]]
    saint_denis = women.set_index("code").loc["93066"]
    if (parts.status == "ok").all():
        assert saint_denis.value == parts.value.sum()
    else:
        assert saint_denis.status == "secret" and pd.isna(saint_denis.value)


@pytest.mark.parametrize(
    ("name", "command"),
    [
        ("cog/2026/v_commune_2026.csv", "geo import-cog"),
        ("cog/2026/v_mvt_commune_2026.csv", "geo import-cog"),
        ("iris/reference_iris_2021.csv", "geo import-iris"),
        ("iris/iris_93_2022.gpkg", "--contours"),
        ("cog/epci/EPCI_2020.csv", "zoning"),
    ],
)
def test_referential_files_name_their_command(built_home: Path, name: str, command: str) -> None:
    """The real referential files of ../shared/data are not tables of values: importing one
    says which command takes it, and writes nothing."""
    code, out = run("import", str(DATA / name), "--dry-run", home=built_home)
    assert code == 2 and command in out, out


def test_period_asked_when_the_file_does_not_tell(home93: Path, tmp_path: Path) -> None:
    """The real CNAF IRIS file renamed without its year: the import asks for --period."""
    import shutil

    renamed = tmp_path / "allocataires_caf_iris.csv"
    shutil.copyfile(DATA / "caf" / "data_CAF_2018_IRIS.csv", renamed)
    code, out = run("import", str(renamed), "--dry-run", home=home93)
    assert code == 2 and "--period" in out
    code, out = run("import", str(renamed), "--period", "2018", home=home93)
    assert code in (0, 3) and "période(s) 2018" in out, out  # 3: IRIS of 2018 gone since
    with Observatory.open(home93) as obs:
        rsa = obs.values("caf.ARSAS", level="iris", within="commune:93066")
    assert set(rsa.period) == {"2018"} and len(rsa) > 40


def test_census_iris_file_keeps_only_its_values(home93: Path, tmp_path: Path) -> None:
    """A base-ic file (census by IRIS) carries names and codes of other zonings beside the
    values: they are not variables."""
    path = tmp_path / "base-ic-evol-struct-pop-2019.CSV"
    path.write_text(
        "IRIS;REG;DEP;UU2010;COM;LIBCOM;TRIRIS;GRD_QUART;LIBIRIS;TYP_IRIS;MODIF_IRIS;LAB_IRIS;"
        "P19_POP;P19_POP0002;C19_MEN;P19_POP15P;C19_POP15P\n"
        "930660101;11;93;00851;93066;Saint-Denis;930661;9306601;Centre;H;00;1;2345.12;56.3;1000.5;"
        "1800.2;1799.9\n",
        encoding="utf-8",
    )
    with Observatory.open(home93, write=True) as obs:
        report = obs.import_file(path, dry_run=True)
    assert report.level == "iris" and report.cells_rejected == 0
    # P19_ (main count) and C19_ (complementary count) are distinct variables.
    assert report.variables_created == [
        "rp.C_MEN", "rp.C_POP15P", "rp.POP", "rp.POP0002", "rp.POP15P",
    ]  # fmt: skip


@needs_data
def test_iris_of_another_vintage_are_rejected_with_their_reason(built_home: Path) -> None:
    """CAF 2016 by IRIS against the IRIS of 2021: the 81 codes absent from INSEE's 2021
    reference are rejected, each with why (pandas over both files and the COG 2026): 56 of a
    commune that no longer exists, 25 of a current commune whose IRIS were cut anew. Never a
    bare « code inconnu »."""
    import json

    caf = pd.read_csv(DATA / "caf" / "data_CAF_2016_IRIS.csv", sep=";", dtype=str)
    reference = pd.read_csv(DATA / "iris" / "reference_iris_2021.csv", sep=";", dtype=str,
                            encoding="utf-8-sig")  # fmt: skip
    cog = pd.read_csv(DATA / "cog" / "2026" / "v_commune_2026.csv", dtype=str)
    current = set(cog[cog.TYPECOM.isin(["COM", "ARM"])].COM)
    absent = set(caf.CODGEO.str.strip()) - set(reference.CODE_IRIS)
    merged = {c for c in absent if c[:5] not in current}
    code, out = run(
        "import", str(DATA / "caf" / "data_CAF_2016_IRIS.csv"), "--dry-run", "--format", "json",
        home=built_home,
    )  # fmt: skip
    assert code == 3, out
    report = json.loads(out[out.index("[") :])[0]
    assert report["rows_rejected"] == len(absent) == 81
    assert report["rejections"] == {
        "IRIS d'une commune fusionnée depuis dans une commune découpée en IRIS : sans "
        "correspondance": len(merged),
        "IRIS inconnu d'une commune actuelle (découpage d'un autre millésime ?)": len(absent)
        - len(merged),
    }
    assert len(merged) == 56
