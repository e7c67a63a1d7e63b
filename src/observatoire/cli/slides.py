"""Decks for meetings: ``slides``."""

from __future__ import annotations

from pathlib import Path

import click

from observatoire.catalog.indicators import THEMES
from observatoire.cli._common import Context, audience_option, pass_ctx
from observatoire.errors import AccessError
from observatoire.secret.policy import ReadPolicy


@click.command("slides")
@click.argument("territory", required=False)
@click.option("--theme", type=click.Choice(list(THEMES)), help="Les diapositives d'un thème.")
@click.option("--collection", help="Diaporama de restitution de la complétude de cette collection.")
@click.option("--operator", help="Avec --collection : la restitution de cet opérateur.")
@audience_option(
    "public", "du diaporama d'un territoire (une restitution est pour les chargés d'études)"
)
@click.option(
    "-o", "--output", required=True, type=click.Path(dir_okay=False),
    help="Fichier .pptx (PowerPoint modifiable) ou .html (autonome, hors ligne).",
)  # fmt: skip
@pass_ctx
def slides_cmd(
    ctx: Context,
    territory: str | None,
    theme: str | None,
    collection: str | None,
    operator: str | None,
    reader: ReadPolicy,
    output: str,
) -> None:
    """Diaporama pour une réunion : le portrait d'un territoire (titre, l'essentiel, chiffres
    clés face aux références, une diapositive par thème avec sa carte, son graphique et ses
    phrases « À retenir », projections, sources et méthode), ou la restitution de la
    complétude des saisies (d'un opérateur face à la médiane anonyme des autres, d'un
    territoire, de toute une collection).

    Le PowerPoint est modifiable (textes, tableaux, graphiques natifs dont on peut changer
    les données) ; le HTML est un seul fichier, lisible sans connexion (flèches pour avancer).

    \b
    Exemples :
      observatoire slides 93066 -o saint-denis.pptx
      observatoire slides departement:93 --theme social -o social.html
      observatoire slides --collection demandes --operator OP01 -o restitution-op01.pptx
      observatoire slides --collection demandes 93 -o restitution-93.pptx
    """
    from observatoire.outputs.deck import restitution_deck, territory_deck
    from observatoire.outputs.deck_render import write_deck

    if collection is None and territory is None:
        raise click.UsageError("un territoire (ex. 93066), ou --collection pour une restitution")
    if operator is not None and collection is None:
        raise click.UsageError("--operator va avec --collection")
    if collection is not None and theme is not None:
        raise click.UsageError("--theme va avec le diaporama d'un territoire, pas --collection")
    chosen = click.get_current_context().get_parameter_source("reader")
    explicit = chosen is not None and chosen is not click.core.ParameterSource.DEFAULT
    if collection is not None and reader.restricted and explicit:
        raise AccessError(
            "les enregistrements des opérateurs ne sont pas diffusés à ce public : le "
            "diaporama de restitution est pour les chargés d'études et les opérateurs"
        )
    with ctx.open() as obs:
        if collection is not None:
            report = obs.records.restitution(collection, territory=territory, operator=operator)
            deck = restitution_deck(report)
        else:
            assert territory is not None
            deck = territory_deck(obs, territory, theme=theme, reader=reader)
    path = write_deck(deck, Path(output))
    click.echo(f"{path} : {len(deck.slides)} diapositives ({deck.title})")


COMMANDS = [slides_cmd]
