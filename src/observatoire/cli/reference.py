"""The command-line reference of the user documentation (``docs/commandes.md``), generated from
the commands themselves so that it never drifts from them; a test compares the file with what
this module writes.

Regenerate it after changing a command::

    python -m observatoire.cli.reference > docs/commandes.md
"""

from __future__ import annotations

import click

__all__ = ["reference"]

WIDTH = 100
HEADER = """\
# Référence des commandes

Ce fichier est produit à partir des commandes elles-mêmes
(`python -m observatoire.cli.reference > docs/commandes.md`) : il dit exactement ce qu'affiche
`observatoire … --help`. Chaque commande accepte `--home DIR` (avant son nom) pour choisir le
dossier de l'observatoire.
"""


def reference(group: click.Group | None = None) -> str:
    """Markdown: every command and group of ``group`` (default: the whole command line), in
    alphabetical order, with its help as ``--help`` prints it."""
    if group is None:
        from observatoire.cli import cli

        group = cli
    sections = [HEADER]
    _walk(group, ["observatoire"], None, sections)
    return "\n".join(sections)


def _walk(
    command: click.Command, path: list[str], parent: click.Context | None, out: list[str]
) -> None:
    settings = {**command.context_settings, "terminal_width": WIDTH, "max_content_width": WIDTH}
    ctx = click.Context(command, parent=parent, info_name=path[-1], **settings)
    name = " ".join(path)
    level = "#" * min(len(path) + 1, 4)
    out.append(f"{level} `{name}`\n\n```text\n{command.get_help(ctx).rstrip()}\n```\n")
    if isinstance(command, click.Group):
        for sub in command.list_commands(ctx):
            found = command.get_command(ctx, sub)
            if found is not None and not found.hidden:
                _walk(found, [*path, sub], ctx, out)


if __name__ == "__main__":  # pragma: no cover - the documented way to regenerate the file
    click.echo(reference(), nl=False)
