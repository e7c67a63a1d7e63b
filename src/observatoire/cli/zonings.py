"""``observatoire zoning …``: the observatory's own zonings (action-social territories…)."""

from __future__ import annotations

import click

from observatoire.cli._common import (
    FORMATS,
    Context,
    emit,
    pass_ctx,
    print_notes,
)


@click.group()
def zoning() -> None:
    """Zonages propres à l'observatoire (territoires d'action sociale…).

    \b
    Exemple :
      observatoire zoning import tas93 territoires.csv --label "Territoires d'action sociale"
      observatoire zoning show tas93
    """


@zoning.command("import")
@click.argument("name")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--label", help="Libellé du zonage.")
@click.option(
    "--valid-from",
    help="Date d'entrée en vigueur de cette version (AAAA-MM-JJ ; défaut : aujourd'hui).",
)
@click.option(
    "--units",
    "unit_level",
    type=click.Choice(["commune", "iris"]),
    help="Niveau des unités (sinon déduit des codes).",
)
@click.option("--unit-column", help="Colonne du code de l'unité.")
@click.option("--zone-column", help="Colonne du code de la zone.")
@click.option("--name-column", help="Colonne du nom de la zone.")
@click.option("--weight-column", help="Colonne de poids (unités partagées entre zones).")
@click.option("--fictitious", is_flag=True, help="Marque le zonage comme fictif (démonstration).")
@pass_ctx
def zoning_import(ctx: Context, name: str, file: str, **options: object) -> None:
    """Importe un zonage depuis une table (unité → zone) ou des polygones de zones.

    Une table CSV/XLSX donne pour chaque commune ou IRIS le code (et le nom) de sa zone. Un
    fichier géographique (GeoPackage, shapefile, GeoJSON) donne les polygones des zones : chaque
    unité est rattachée à la zone qui contient son point intérieur.

    \b
    Exemples :
      observatoire zoning import tas93 territoires.csv --label "Territoires d'action sociale"
      observatoire zoning import es93 espaces.gpkg --valid-from 2026-01-01
    """
    with ctx.open(write=True) as obs:
        report = obs.geography.import_zoning(name, file, **{k: v for k, v in options.items() if v})
    if report.created:
        click.echo(
            f"Zonage {report.name} version {report.version} (en vigueur le "
            f"{report.valid_from}) : {report.zones} zones, {report.units} "
            f"{report.unit_level}s."
        )
    else:
        click.echo(f"Zonage {report.name} : inchangé (version {report.version}).")
    print_notes(report.notes)


@zoning.command("list")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@pass_ctx
def zoning_list(ctx: Context, fmt: str) -> None:
    """Liste les zonages et leur version en vigueur.

    \b
    Exemple :
      observatoire zoning list
    """
    with ctx.open() as obs:
        emit(obs.geography.zonings(), fmt)


@zoning.command("show")
@click.argument("name")
@click.option("--version", "version", type=int, help="Numéro de version (défaut : en vigueur).")
@click.option("--at", help="La version en vigueur à cette date (AAAA-MM-JJ).")
@click.option("--members", is_flag=True, help="Liste les unités de chaque zone.")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@pass_ctx
def zoning_show(
    ctx: Context, name: str, version: int | None, at: str | None, members: bool, fmt: str
) -> None:
    """Montre les zones d'un zonage (et ses versions).

    \b
    Exemples :
      observatoire zoning show tas93
      observatoire zoning show tas93 --at 2024-06-30 --members
    """
    with ctx.open() as obs:
        zones, units = obs.geography.zoning(name, version=version, at=at)
        versions = obs.geography.zoning_versions(name)
        communes = obs.geography.territories(level="commune")
    if members:
        names = dict(zip(communes.code, communes.name, strict=True))
        emit(units.assign(unit_name=units.unit_code.map(names)), fmt)
        return
    counts = units.groupby("zone_code").size()
    population = units.merge(
        communes[["code", "population"]], left_on="unit_code", right_on="code", how="left"
    )
    pop = (population.population * population.weight).groupby(population.zone_code).sum()
    table = zones.assign(
        units=zones.code.map(counts).fillna(0).astype(int), population=zones.code.map(pop)
    )
    if fmt == "table":
        click.echo(versions.to_string(index=False))
        click.echo("")
    emit(table, fmt)


@zoning.command("map")
@click.argument("name")
@click.option(
    "-o", "--output", required=True, type=click.Path(dir_okay=False), help="Fichier .png ou .svg."
)
@pass_ctx
def zoning_map(ctx: Context, name: str, output: str) -> None:
    """Dessine la carte d'un zonage (communes colorées par zone).

    \b
    Exemple :
      observatoire zoning map tas93 -o tas93.png
    """
    from observatoire.outputs.zoning_map import draw_zoning_map

    with ctx.open() as obs:
        (path,) = draw_zoning_map(obs, name, [output])
    click.echo(f"Carte écrite : {path}")


COMMANDS = [zoning]
