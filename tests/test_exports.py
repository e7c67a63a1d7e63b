"""Exports: every format read back by another tool, formula cells neutralised, metadata
carried, and the audience's secret applied to real census values."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import duckdb
import geopandas
import pandas as pd
import pyogrio
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from shapely.geometry import Point

from observatoire.observatory import Observatory
from observatoire.outputs.exports import export_table
from observatoire.outputs.indicator_export import export_indicator
from observatoire.secret.policy import PUBLIC
from observatoire.web import create_app

from .conftest import needs_data, run

RISKY = pd.DataFrame(
    {
        "code": ["93066", "93008", "93048"],
        "nom": ['=HYPERLINK("http://x")', "+33 1 23", "@SUM(A1)"],
        "valeur": [12.5, -3.25, None],
        "statut": ["ok", "ok", "secret"],
    }
)
META = [("Indicateur", "essai"), ("Public", "le public"), ("Piège", "=1+1")]


def test_csv_for_french_spreadsheets_and_plain_csv_neutralise_formulas() -> None:
    excel = export_table(RISKY, "csv")
    assert excel.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads UTF-8
    text = excel.decode("utf-8-sig").splitlines()
    assert text[0] == "code;nom;valeur;statut"
    assert text[1] == '93066;\'=HYPERLINK("http://x");12,5;ok' or text[1].startswith(
        "93066;\"'=HYPERLINK"
    )
    assert "'+33 1 23" in text[2] and ";-3,25;" in text[2]  # numbers are never touched
    assert text[3].startswith("93048;'@SUM(A1);;secret")
    plain = export_table(RISKY, "csv-plain").decode("utf-8")
    assert plain.splitlines()[0] == "code,nom,valeur,statut" and ",-3.25," in plain
    back = pd.read_csv(io.StringIO(plain), dtype={"code": str})
    assert back.code.tolist() == ["93066", "93008", "93048"]


def test_xlsx_stores_text_never_formulas_and_carries_its_metadata(tmp_path: Path) -> None:
    path = tmp_path / "x.xlsx"
    path.write_bytes(export_table(RISKY, "xlsx", metadata=META, sheet="Essai"))
    book = load_workbook(path)
    assert book.sheetnames == ["Essai", "Métadonnées"]
    sheet = book["Essai"]
    assert [c.value for c in sheet[1]] == ["code", "nom", "valeur", "statut"]
    formula = sheet["B2"]
    assert formula.value == '=HYPERLINK("http://x")' and formula.data_type == "s"
    assert sheet["C3"].value == -3.25 and sheet["C4"].value is None
    about = {r[0].value: r[1].value for r in book["Métadonnées"].iter_rows()}
    assert about["Public"] == "le public" and book["Métadonnées"]["B3"].data_type == "s"


def test_parquet_geojson_and_geopackage_read_back(tmp_path: Path) -> None:
    parquet = tmp_path / "x.parquet"
    parquet.write_bytes(export_table(RISKY, "parquet", metadata=META))
    back = duckdb.sql(f"SELECT * FROM '{parquet}'").df()
    assert back.valeur.tolist()[:2] == [12.5, -3.25] and back.nom[0].startswith("=HYPER")
    kv = duckdb.sql(f"SELECT key, value FROM parquet_kv_metadata('{parquet}')").fetchall()
    assert (b"Public", b"le public") in kv
    shapes = geopandas.GeoDataFrame(
        {"code": ["93066", "93008"]}, geometry=[Point(2.35, 48.93), Point(2.44, 48.9)], crs=4326
    )
    document = json.loads(export_table(RISKY, "geojson", metadata=META, geometries=shapes))
    assert len(document["features"]) == 2 and document["metadata"]["Indicateur"] == "essai"
    assert document["features"][0]["properties"]["valeur"] == 12.5
    gpkg = tmp_path / "x.gpkg"
    gpkg.write_bytes(export_table(RISKY, "gpkg", metadata=META, geometries=shapes))
    layers = [name for name, _ in pyogrio.list_layers(gpkg)]
    assert set(layers) == {"indicateur", "metadonnees"}
    layer = geopandas.read_file(gpkg, layer="indicateur")
    assert layer.crs.to_epsg() == 4326 and layer.code.tolist() == ["93066", "93008"]


@needs_data
def test_exports_of_real_values_apply_the_audience_s_secret(
    census_home: Path, tmp_path: Path
) -> None:
    with Observatory.open(census_home) as obs:
        analyst = export_indicator(obs, "naissances_annuelles", "xlsx", within="04", period="2020")
        public = export_indicator(
            obs, "naissances_annuelles", "xlsx", within="04", period="2020", reader=PUBLIC
        )
        layer = export_indicator(obs, "part_naissances", "gpkg", within="93")
    assert analyst.rows == public.rows == 198
    assert public.filename == "naissances_annuelles_commune_departement_04.xlsx"

    def read(body: bytes) -> tuple[pd.DataFrame, dict[str, str]]:
        path = tmp_path / "read.xlsx"
        path.write_bytes(body)
        book = load_workbook(path)
        rows = list(book.worksheets[0].iter_rows(values_only=True))
        about = {str(r[0]): str(r[1]) for r in book["Métadonnées"].iter_rows(values_only=True)}
        return pd.DataFrame(rows[1:], columns=rows[0]), about

    truth, _ = read(analyst.body)
    shown, about = read(public.body)
    small = set(truth[(truth.valeur > 0) & (truth.valeur < 5)].code)
    assert len(small) > 20
    masked = shown[shown.code.isin(small)]
    assert masked.valeur.isna().all() and set(masked.statut) == {"secret"}
    assert about["Public"] == "le public" and "valeur(s) sous secret" in about["Secret statistique"]
    assert about["Territoire"] == "Alpes-de-Haute-Provence" and about["Données arrêtées le"]
    path = tmp_path / "layer.gpkg"
    path.write_bytes(layer.body)
    communes = geopandas.read_file(path, layer="indicateur")
    assert communes.code.nunique() == 39 and communes.geometry.is_valid.all()


@needs_data
def test_export_by_the_command_line_the_pages_and_the_api(
    census_home: Path, tmp_path: Path
) -> None:
    home = tmp_path / "obs"
    shutil.copytree(census_home, home)
    target = tmp_path / "sorties" / "naissances.xlsx"
    code, printed = run(
        "export", "naissances_annuelles", "--within", "93", "-o", str(target), home=home
    )
    assert code == 0, printed
    assert (
        "lignes exportées (xlsx)" in printed
        and load_workbook(target).sheetnames[1] == "Métadonnées"
    )
    code, printed = run("export", "naissances_annuelles", "-o", str(tmp_path / "x.pdf"), home=home)
    assert code != 0 and "format d'export inconnu" in printed and not (tmp_path / "x.pdf").exists()
    with Observatory.open(home) as obs, TestClient(create_app(obs)) as client:
        page = client.get("/indicateurs/naissances_annuelles?dans=04").text
        assert (
            "/indicateurs/naissances_annuelles/export?niveau=commune&amp;dans=departement%3A04&amp;format=xlsx"
            in page
        )
        public = client.get("/indicateurs/naissances_annuelles/export?dans=04&format=csv")
        assert public.status_code == 200 and "attachment" in public.headers["content-disposition"]
        frame = pd.read_csv(
            io.StringIO(public.text.lstrip("\ufeff")), sep=";", decimal=",", dtype={"code": str}
        )
        assert frame[(frame.valeur > 0) & (frame.valeur < 5)].empty  # nothing small leaks
        assert (frame.statut == "secret").sum() > 20
        api = client.get("/api/v1/indicators/part_naissances/export?format=geojson&within=93")
        assert api.status_code == 200 and len(api.json()["features"]) == 39
        assert client.get("/api/v1/indicators/part_naissances/export?format=pdf").status_code == 422
