"""``observatoire geo …``: the COG and its vintages, IRIS, conversion and checking of codes."""

from __future__ import annotations

import sys
import time

import click

from observatoire.cli._common import (
    FORMATS,
    Context,
    emit,
    pass_ctx,
    print_notes,
)
from observatoire.errors import InputError


# -- geo ------------------------------------------------------------------------------------
@click.group()
def geo() -> None:
    """Géographie : COG et millésimes, IRIS, codes.

    \b
    Exemple :
      observatoire geo import-cog cog_ensemble_2026_csv/
      observatoire geo history 93059
    """


@geo.command("import-cog")
@click.argument("directory", type=click.Path(file_okay=False))
@click.option("--year", type=int, help="Millésime du COG (sinon lu dans le nom des fichiers).")
@pass_ctx
def import_cog_cmd(ctx: Context, directory: str, year: int | None) -> None:
    """Importe le COG de l'INSEE (liste des communes et mouvements depuis 1943).

    \b
    Exemple :
      observatoire geo import-cog cog_ensemble_2026_csv/
    """
    with ctx.open(write=True) as obs:
        report = obs.geography.import_cog(directory, year=year)
    click.echo(
        f"COG {report.year} importé : {report.communes} communes, {report.events} "
        f"mouvements, {report.history} périodes de validité de codes."
    )
    if report.not_in_referential:
        click.echo(
            f"  · {len(report.not_in_referential)} commune(s) du COG absentes du "
            f"référentiel : {', '.join(report.not_in_referential[:10])}"
        )
    if report.missing_from_cog:
        click.echo(
            f"  · {len(report.missing_from_cog)} commune(s) du référentiel absentes du "
            f"COG {report.year} : {', '.join(report.missing_from_cog[:10])}"
        )


@geo.command("import-iris")
@click.argument("reference", type=click.Path(dir_okay=False))
@click.argument("contours", required=False, type=click.Path(dir_okay=False))
@click.option(
    "--crs", help="Système de coordonnées des contours s'ils n'en déclarent pas (ex. EPSG:2154)."
)
@pass_ctx
def import_iris_cmd(ctx: Context, reference: str, contours: str | None, crs: str | None) -> None:
    """Importe la table de référence des IRIS de l'INSEE et, en option, leurs contours.

    Les contours peuvent être dans tout format lu par GDAL (GeoPackage, shapefile, GeoJSON) et
    toute projection ; ils sont reprojetés en WGS84.

    \b
    Exemple :
      observatoire geo import-iris reference_IRIS_geo2021.csv CONTOURS-IRIS_2022.gpkg
    """
    start = time.perf_counter()
    with ctx.open(write=True) as obs:
        report = obs.geography.import_iris(reference, contours, crs=crs)
    click.echo(
        f"{report.iris} IRIS importés ({report.communes} communes) en "
        f"{time.perf_counter() - start:.1f} s ; {report.with_contours} avec contour."
    )
    if report.rerouted:
        shown = ", ".join(f"{a}→{b}" for a, b in list(report.rerouted.items())[:8])
        click.echo(
            f"  · {len(report.rerouted)} commune(s) d'un ancien millésime rattachées à la "
            f"commune actuelle : {shown}"
        )
    print_notes(report.notes)


@geo.command("import-qpv")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option(
    "--crs", help="Système de coordonnées des contours s'ils n'en déclarent pas (ex. EPSG:2154)."
)
@pass_ctx
def import_qpv_cmd(ctx: Context, path: str, crs: str | None) -> None:
    """Importe la liste des quartiers prioritaires (QPV) de l'ANCT, ou leurs contours.

    Une ligne par QPV : son code (code_qp), son nom (lib_qp), ses communes (codes INSEE, ou
    noms cherchés dans son département). Un fichier géographique (GeoJSON, shapefile,
    GeoPackage) donne aussi les contours, reprojetés en WGS84. Les QPV listés sont ajoutés ou
    remplacés ; les autres sont gardés. Sans liste, les fichiers par QPV construisent le
    niveau eux-mêmes (observatoire import).

    \b
    Exemple :
      observatoire geo import-qpv QP2024_France_hexagonale_LB93.gpkg
    """
    start = time.perf_counter()
    with ctx.open(write=True) as obs:
        report = obs.geography.import_qpv(path, crs=crs)
    click.echo(
        f"{report.qpv} QPV importés en {time.perf_counter() - start:.1f} s ; "
        f"{report.with_contours} avec contour."
    )
    print_notes(report.notes)


@geo.command("history")
@click.argument("code")
@pass_ctx
def history_cmd(ctx: Context, code: str) -> None:
    """Montre ce qu'est devenu un code commune depuis 1943 (COG importé requis).

    \b
    Exemple :
      observatoire geo history 93059
    """
    from observatoire.territories.codes import normalise_code

    code = normalise_code(code, "commune")
    with ctx.open() as obs:
        vintages = obs.geography.vintages()
    if not vintages.known(code):
        raise InputError(f"code commune inconnu de tous les millésimes : {code}")
    events = vintages.successors(code)
    if not events:
        click.echo(f"{code} : aucun événement depuis 1943.")
    for date, before, after in events:
        click.echo(f"{date}  {before} → {', '.join(after)}")
    shares, estimated = vintages.trace(code, 1943)
    shown = ", ".join(f"{c} ({w:.1%})" for c, w in sorted(shares.items()))
    click.echo(f"Aujourd'hui : {shown}" + (" — partage estimé" if estimated else ""))


@geo.command("passage")
@click.option("--from", "year", type=int, required=True, help="Millésime géographique de départ.")
@click.option("--format", "fmt", type=FORMATS, default="csv", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False))
@pass_ctx
def passage_cmd(ctx: Context, year: int, fmt: str, output: str | None) -> None:
    """Table de passage des communes d'un millésime vers la géographie actuelle.

    \b
    Exemple :
      observatoire geo passage --from 2019 -o passage_2019_2026.csv
    """
    with ctx.open() as obs:
        frame = obs.geography.vintages().passage(year)
    emit(frame, fmt, output)


@geo.command("convert")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option(
    "--from", "year", type=int, help="Millésime géographique du fichier (sinon déduit des codes)."
)
@click.option("--code-column", default="CODGEO", show_default=True)
@click.option(
    "--additive", default="", help="Colonnes additives (comptages), séparées par des virgules."
)
@click.option("--non-additive", default="", help="Colonnes non additives (médianes, taux).")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="CSV de sortie.")
@pass_ctx
def convert_cmd(
    ctx: Context,
    file: str,
    year: int | None,
    code_column: str,
    additive: str,
    non_additive: str,
    output: str | None,
) -> None:
    """Convertit un fichier communal d'un ancien millésime vers la géographie actuelle.

    Les comptages s'additionnent ; les médianes et taux ne sont conservés que pour les communes
    inchangées (« non disponible après conversion » sinon).

    \b
    Exemple :
      observatoire geo convert FILO2019_DISP_COM.csv --from 2021 --additive NBMEN19 \\
          --non-additive Q219 -o filo_geo2026.csv
    """
    add = [c.strip() for c in additive.split(",") if c.strip()]
    non = [c.strip() for c in non_additive.split(",") if c.strip()]
    with ctx.open() as obs:
        if not obs.geography.has_cog:
            click.echo(
                "Aucun COG importé : table de passage simplifiée (fusions en communes nouvelles "
                "seulement) ; importez le COG pour les scissions et changements de code.",
                err=True,
            )
        converted = obs.geography.convert_file(
            file, year=year, code=code_column, additive=add, non_additive=non
        )
    result = converted.conversion
    click.echo(
        f"Géographie {converted.year or 'ancienne'} → actuelle : {converted.rows} codes en "
        f"entrée, {len(result.values)} communes actuelles, {len(result.notes)} valeurs non "
        "convertibles ou incomplètes.",
        err=True,
    )
    emit(result.values, "csv", output)


@geo.command("check-codes")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--column", default="CODGEO", show_default=True, help="Colonne des codes.")
@click.option("--level", default="commune", show_default=True)
@pass_ctx
def check_codes_cmd(ctx: Context, file: str, column: str, level: str) -> None:
    """Vérifie les codes d'un fichier : actuels, anciens (à convertir) ou inconnus.

    \b
    Exemple :
      observatoire geo check-codes base_cc_comparateur.csv --column CODGEO
    """
    with ctx.open() as obs:
        check = obs.geography.check_codes(file, column=column, level=level)
    click.echo(check.summary)
    problems = check.problems
    for problem in problems[:50]:
        click.echo(problem)
    if problems:
        sys.exit(1)


COMMANDS = [geo]
