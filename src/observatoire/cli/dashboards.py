"""``observatoire dashboard …``: the steering dashboards (tableaux/*.yaml) as HTML or PDF."""

from __future__ import annotations

from pathlib import Path

import click

from observatoire.atomic import write_whole
from observatoire.cli._common import (
    Context,
    audience_option,
    pass_ctx,
)
from observatoire.errors import InputError
from observatoire.secret.policy import ReadPolicy


@click.group()
def dashboard() -> None:
    """Tableaux de bord de pilotage (tableaux/*.yaml, et un par thème par défaut).

    \b
    Exemples :
      observatoire dashboard list
      observatoire dashboard export pilotage -o pilotage.pdf
    """


@dashboard.command("list")
@pass_ctx
def dashboard_list(ctx: Context) -> None:
    """Liste les tableaux de bord.

    \b
    Exemple :
      observatoire dashboard list
    """
    from observatoire.outputs.dashboard import dashboard_specs

    with ctx.open() as obs:
        for spec in dashboard_specs(obs):
            click.echo(f"{spec.id:<36} {spec.title} ({len(spec.tiles)} tuiles, {spec.origin})")


@dashboard.command("export")
@click.argument("name")
@click.option("--territory", help="Territoire (par défaut celui de l'observatoire).")
@audience_option("public", "")
@click.option(
    "-o", "--output", required=True, type=click.Path(dir_okay=False), help=".pdf ou .html"
)
@pass_ctx
def dashboard_export(
    ctx: Context, name: str, territory: str | None, reader: ReadPolicy, output: str
) -> None:
    """Exporte un tableau de bord en PDF (A4 paysage) ou en page HTML autonome.

    \b
    Exemples :
      observatoire dashboard export theme-social -o social.pdf
      observatoire dashboard export pilotage --territory tas93:TAS2 -o tas2.html
    """
    from observatoire.outputs.dashboard import build_dashboard, dashboard_html, find_spec
    from observatoire.outputs.portrait_render import html_to_pdf

    target = Path(output)
    if target.suffix.lower() not in (".pdf", ".html"):
        raise InputError(f"format « {target.suffix} » : .pdf ou .html")
    with ctx.open() as obs:
        board = build_dashboard(obs, find_spec(obs, name), territory=territory, reader=reader)
    html = dashboard_html(board)
    body = html_to_pdf(html) if target.suffix.lower() == ".pdf" else html.encode("utf-8")
    write_whole(target, body)
    click.echo(f"Tableau de bord « {board.spec.title} » ({board.territory['name']}) : {target}")


COMMANDS = [dashboard]
