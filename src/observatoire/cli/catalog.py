"""``observatoire catalog …``: the catalogue as open metadata."""

from __future__ import annotations

from pathlib import Path

import click

from observatoire.atomic import write_whole
from observatoire.cli._common import Context, pass_ctx

WRITERS = {"dcat": ".jsonld", "turtle": ".ttl", "csv": ".csv"}


@click.group()
def catalog() -> None:
    """Le catalogue en métadonnées ouvertes (DCAT-AP pour data.gouv.fr, CSV).

    \b
    Exemple :
      observatoire catalog export --format dcat -o catalogue.jsonld
    """


@catalog.command("export")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(list(WRITERS)),
    default="dcat",
    show_default=True,
    help="dcat (JSON-LD), turtle ou csv.",
)
@click.option("--base-url", help="Adresse publique de l'extranet (sinon le paramètre « url »).")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Fichier (sinon l'écran).")
@pass_ctx
def export_cmd(ctx: Context, fmt: str, base_url: str | None, output: str | None) -> None:
    """Exporte le catalogue public : les jeux de données en vigueur visibles du public et les
    indicateurs calculés qu'il peut lire, chacun avec son adresse stable, sa page et son
    téléchargement CSV (DCAT-AP, JSON-LD ou Turtle ; ou CSV).

    \b
    Exemples :
      observatoire catalog export --base-url https://obs.cd93.fr -o dcat.jsonld
      observatoire catalog export --format csv -o catalogue.csv
    """
    from observatoire.catalog.dcat import dumps_jsonld, to_csv, to_turtle

    with ctx.open() as obs:
        resources = obs.open_metadata(base_url)
    writer = {"dcat": dumps_jsonld, "turtle": to_turtle, "csv": to_csv}[fmt]
    text = writer(resources)
    if output is None:
        click.echo(text)
        return
    target = write_whole(Path(output), text)
    datasets = sum(1 for r in resources if r.kind == "dcat:Dataset")
    click.echo(f"{target} : {datasets} jeux de données et indicateurs décrits ({fmt})")


COMMANDS = [catalog]
