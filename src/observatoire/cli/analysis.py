"""Analysis of a territory: ``profile``, ``neighbours``, ``evolution``."""

from __future__ import annotations

import click

from observatoire.catalog.indicators import THEMES
from observatoire.cli._common import (
    AUDIENCE_OPTION,
    FORMATS,
    Context,
    emit,
    pass_ctx,
)
from observatoire.secret.policy import ReadPolicy
from observatoire.stats.neighbours import DEFAULT_CONTEXT


@click.command("profile")
@click.argument("territory")
@click.option("--theme", type=click.Choice(list(THEMES)), help="Un seul thème.")
@AUDIENCE_OPTION
@click.option(
    "--provenance", is_flag=True,
    help="Dit pour chaque valeur comment elle est faite (publiée, somme…), de quelles "
    "variables et de quels imports.",
)  # fmt: skip
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@pass_ctx
def profile_cmd(ctx: Context, territory: str, theme: str | None, reader: ReadPolicy,
                provenance: bool, fmt: str) -> None:  # fmt: skip
    """Tous les indicateurs calculés d'un territoire (après « observatoire compute »).

    \b
    Exemples :
      observatoire profile 93066
      observatoire profile departement:93 --theme social
      observatoire profile departement:93 --provenance --format csv
    """
    with ctx.open() as obs:
        frame = obs.profile(territory, reader=reader, provenance=provenance)
    if theme is not None:
        frame = frame[frame.theme == theme]
    emit(frame, fmt)


@click.command("neighbours")
@click.argument("territory", required=False)
@click.option("--level", default="commune", show_default=True, help="Niveau ou zonage propre.")
@click.option("-k", "k", type=click.IntRange(1, 50), default=5, show_default=True)
@click.option(
    "--on",
    "context",
    multiple=True,
    help="Indicateur de contexte (répétable) ; par défaut : " + ", ".join(DEFAULT_CONTEXT) + ".",
)
@AUDIENCE_OPTION
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False))
@pass_ctx
def neighbours_cmd(
    ctx: Context,
    territory: str | None,
    level: str,
    k: int,
    context: tuple[str, ...],
    reader: ReadPolicy,
    fmt: str,
    output: str | None,
) -> None:
    """Voisins statistiques : pour chaque territoire du niveau (ou pour TERRITOIRE), les k
    territoires qui lui ressemblent le plus sur des indicateurs de contexte (centrés-réduits ;
    population en logarithme). Ils servent de référence : values NOM --compare voisins.

    \b
    Exemples :
      observatoire neighbours 93066
      observatoire neighbours --level departement -k 3 --on part_65_ans_plus --on taux_pauvrete
      observatoire values taux_chomage_15_64 --within 93 --compare voisins
      observatoire values part_familles_monoparentales --within 93 --compare strate
    """
    with ctx.open() as obs:
        if territory is not None:
            level = obs.geography.resolve(territory)[0]
        frame = obs.neighbours(
            level=level,
            k=k,
            context=context or DEFAULT_CONTEXT,
            territory=territory,
            reader=reader,
        )
    if fmt == "table":
        click.echo("Contexte : " + ", ".join(frame.attrs["context"]), err=True)
    emit(frame, fmt, output)


@click.command("evolution")
@click.argument("indicator")
@click.option("--from", "start", required=True, help="Période de départ (2013, 2015-T4…).")
@click.option("--to", "end", required=True, help="Période d'arrivée.")
@click.option("--level", default="commune", show_default=True, help="Niveau ou zonage propre.")
@click.option("--within", metavar="TERRITOIRE", help="Territoire englobant (93, region:11…).")
@click.option("--threshold", type=click.FloatRange(0, 1), default=0.8, show_default=True)
@AUDIENCE_OPTION
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False))
@pass_ctx
def evolution_cmd(
    ctx: Context,
    indicator: str,
    start: str,
    end: str,
    level: str,
    within: str | None,
    threshold: float,
    reader: ReadPolicy,
    fmt: str,
    output: str | None,
) -> None:
    """Évolution d'un indicateur entre deux périodes : valeurs, évolution absolue (en points
    pour un pourcentage), relative (%), taux de croissance annuel moyen (TCAM).

    \b
    Exemple :
      observatoire evolution population --from 2013 --to 2018 --level commune --within 93
    """
    with ctx.open() as obs:
        frame = obs.evolution(
            indicator,
            start=start,
            end=end,
            level=level,
            within=within,
            threshold=threshold,
            reader=reader,
        )
    emit(frame, fmt, output)


COMMANDS = [profile_cmd, neighbours_cmd, evolution_cmd]
