"""The ``observatoire`` command line (``python -m observatoire`` too).

The main group lives here with the entry point; each group of commands is a module of this
package (``geo``, ``imports``, ``indicators``…) and what they share is in :mod:`._common`.
The command line holds no SQL and no domain logic: it parses options, calls the observatory
(or a service beside it) and prints what comes back.
"""

from __future__ import annotations

import sys

import click

from observatoire import __version__
from observatoire.cli import (
    analysis,
    backup,
    catalog,
    completeness,
    dashboards,
    demo,
    documents,
    geo,
    home,
    imports,
    indicators,
    needs,
    partners,
    projection,
    publish,
    quality,
    records,
    remotes,
    serve,
    slides,
    sources,
    users,
    zonings,
)
from observatoire.cli._common import Context
from observatoire.errors import InputError, ObservatoireError

__all__ = ["cli", "main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "--home",
    envvar="OBSERVATOIRE_HOME",
    metavar="DIR",
    help="Dossier de l'observatoire (défaut : $OBSERVATOIRE_HOME ou ./observatoire-data).",
)
@click.version_option(__version__, prog_name="observatoire")
@click.pass_context
def cli(ctx: click.Context, home: str | None) -> None:
    """Observatoire : plateforme d'observation sociale territoriale.

    \b
    Exemple :
      observatoire init
      observatoire territories --level commune --within 93
    """
    ctx.obj = Context(home)


for _module in (
    home,
    geo,
    imports,
    indicators,
    analysis,
    projection,
    partners,
    users,
    zonings,
    publish,
    dashboards,
    records,
    completeness,
    quality,
    sources,
    remotes,
    documents,
    needs,
    catalog,
    serve,
    slides,
    backup,
    demo,
):
    for _command in _module.COMMANDS:
        cli.add_command(_command)


def main() -> None:
    """Entry point: domain errors become a French message and exit code 2 (input) or 1."""
    try:
        cli(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Interrompu.", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except InputError as exc:
        click.echo(f"Erreur : {exc}", err=True)
        sys.exit(2)
    except ObservatoireError as exc:
        click.echo(f"Erreur : {exc}", err=True)
        sys.exit(1)
