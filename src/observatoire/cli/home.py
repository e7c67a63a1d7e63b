"""Setting up and looking at the observatory: ``init``, ``status``, ``territories``."""

from __future__ import annotations

import json
import time

import click

from observatoire.cli._common import (
    FORMATS,
    Context,
    emit,
    pass_ctx,
    print_notes,
)
from observatoire.observatory import Observatory


@click.command()
@click.option("--name", default="", help="Nom de l'observatoire.")
@click.option("--territory", default="", help="Territoire de l'observatoire, ex. departement:93.")
@click.option(
    "--backend",
    type=click.Choice(["duckdb", "postgres"]),
    default="duckdb",
    show_default=True,
    help="Moteur de l'entrepôt (postgres : DSN dans OBSERVATOIRE_DATABASE_URL).",
)
@click.option("--rebuild", is_flag=True, help="Reconstruire le référentiel même s'il existe.")
@pass_ctx
def init(ctx: Context, name: str, territory: str, backend: str, rebuild: bool) -> None:
    """Crée l'observatoire et construit le référentiel de la France entière.

    Sans effet sur un observatoire déjà initialisé (sauf --rebuild).

    \b
    Exemple :
      observatoire --home ./obs93 init --name "Observatoire social 93" --territory departement:93
    """
    obs, created = Observatory.init(ctx.home, name=name, territory=territory, backend=backend)
    with obs:
        click.echo(
            ("Observatoire créé : " if created else "Observatoire existant : ") + str(obs.home.path)
        )
        if obs.geography.has_referential and not rebuild:
            click.echo("Référentiel déjà construit (--rebuild pour le reconstruire).")
            return
        click.echo("Construction du référentiel (communes, EPCI, départements, régions)…")
        started = time.perf_counter()
        report = obs.geography.build_referential(
            on_step=lambda step: click.echo(f"  [{time.perf_counter() - started:5.1f} s] {step}…")
        )
        counts = ", ".join(f"{n} {lvl}" for lvl, n in sorted(report.counts.items()))
        click.echo(f"Référentiel construit en {report.seconds:.1f} s ({report.source}) : {counts}")
        print_notes(report.notes)


@click.command()
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@pass_ctx
def status(ctx: Context, fmt: str) -> None:
    """Affiche le contenu de l'observatoire (niveaux, zonages, provenance).

    \b
    Exemple :
      observatoire status --format json
    """
    with ctx.open() as obs:
        summary = obs.summary()
        zonings = obs.geography.zonings()
    if fmt == "json":
        summary["zonings"] = zonings.to_dict(orient="records")
        click.echo(json.dumps(summary, ensure_ascii=False, indent=1, default=str))
        return
    click.echo(f"{summary['name']} — {summary['home']} ({summary['backend']})")
    for level, n in summary["levels"].items():  # type: ignore[attr-defined]
        click.echo(f"  {level:<14} {n:>7}")
    for key, value in sorted(summary["meta"].items()):  # type: ignore[attr-defined]
        click.echo(f"  {key} = {value}")


@click.command()
@click.option(
    "--level",
    default="commune",
    show_default=True,
    help="Niveau : iris, arm, commune, epci, departement, region, pays, ou un zonage.",
)
@click.option(
    "--within",
    metavar="TERRITOIRE",
    help="Territoire englobant : code (93), niveau:code (region:93) ou nom.",
)
@click.option(
    "--zoning",
    metavar="NOM",
    help="Ajoute la zone de chaque territoire dans ce zonage (seul, liste les zones du zonage).",
)
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Fichier de sortie.")
@click.pass_context
def territories(
    ctx: click.Context,
    level: str,
    within: str | None,
    zoning: str | None,
    fmt: str,
    output: str | None,
) -> None:
    """Liste les territoires d'un niveau, avec leurs parents et leur population.

    \b
    Exemples :
      observatoire territories --level commune --within 93
      observatoire territories --level epci --within "Seine-Saint-Denis" --format csv
      observatoire territories --zoning tas93
      observatoire territories --level commune --within 93 --zoning tas93 --format json
    """
    source = ctx.get_parameter_source("level")
    if zoning and source == click.core.ParameterSource.DEFAULT:
        level = zoning
        zoning = None
    with ctx.find_object(Context).open() as obs:  # type: ignore[union-attr]
        frame = obs.geography.territories(level=level, within=within, zoning=zoning)
    emit(frame, fmt, output)


COMMANDS = [init, status, territories]
