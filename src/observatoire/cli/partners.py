"""``observatoire partners …``: partner data producers and their agreements."""

from __future__ import annotations

import click

from observatoire.cli._common import (
    FORMATS,
    Context,
    emit,
    pass_ctx,
)


@click.group()
def partners() -> None:
    """Partenaires producteurs de données et leurs conventions.

    \b
    Exemple :
      observatoire partners add cpam93 --name "CPAM de la Seine-Saint-Denis" --kind CPAM
      observatoire partners agreement cpam93 --reference CONV-2024-03 \\
          --scope "C2S par commune" --from 2024-01-01
    """


@partners.command("add")
@click.argument("code")
@click.option("--name", required=True, help="Nom de l'organisation.")
@click.option("--kind", default="", help="Nature (CAF, CPAM, Département, France Travail…).")
@pass_ctx
def partners_add(ctx: Context, code: str, name: str, kind: str) -> None:
    """Enregistre (ou renomme) un partenaire.

    \b
    Exemple :
      observatoire partners add caf93 --name "CAF de la Seine-Saint-Denis" --kind CAF
    """
    with ctx.open(write=True) as obs:
        created = obs.partners.save(code, name, kind)
    click.echo(("Partenaire créé : " if created else "Partenaire mis à jour : ") + code.lower())


@partners.command("agreement")
@click.argument("partner")
@click.option("--reference", required=True, help="Référence de la convention.")
@click.option("--scope", required=True, help="Données couvertes.")
@click.option("--from", "valid_from", required=True, help="Début (AAAA-MM-JJ).")
@click.option("--to", "valid_to", help="Fin (AAAA-MM-JJ), si elle est connue.")
@click.option(
    "--confidentiality",
    type=click.Choice(["public", "membres", "partenaire"]),
    default="membres",
    show_default=True,
)
@pass_ctx
def partners_agreement(
    ctx: Context,
    partner: str,
    reference: str,
    scope: str,
    valid_from: str,
    valid_to: str | None,
    confidentiality: str,
) -> None:
    """Enregistre une convention d'échange de données d'un partenaire.

    \b
    Exemple :
      observatoire partners agreement caf93 --reference CONV-2025-01 \\
          --scope "Allocataires par IRIS" --from 2025-01-01 --to 2027-12-31
    """
    with ctx.open(write=True) as obs:
        obs.partners.add_agreement(
            partner,
            reference=reference,
            scope=scope,
            valid_from=valid_from,
            valid_to=valid_to,
            confidentiality=confidentiality,
        )
    click.echo(f"Convention {reference} enregistrée pour {partner}.")


@partners.command("list")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@pass_ctx
def partners_list(ctx: Context, fmt: str) -> None:
    """Liste les partenaires, leurs conventions et leurs imports en vigueur.

    \b
    Exemple :
      observatoire partners list
    """
    with ctx.open() as obs:
        emit(obs.partners.table(), fmt)


@partners.command("show")
@click.argument("partner")
@pass_ctx
def partners_show(ctx: Context, partner: str) -> None:
    """Montre les conventions d'un partenaire et les jeux de données qu'il fournit.

    \b
    Exemple :
      observatoire partners show caf93
    """
    with ctx.open() as obs:
        agreements, datasets = obs.partners.details(partner)
    click.echo("Conventions :")
    emit(agreements, "table")
    click.echo("\nJeux de données en vigueur :")
    emit(datasets, "table")


COMMANDS = [partners]
