"""``observatoire sources check`` and ``observatoire fetch``: the new editions the producers
publish, noticed, fetched and imported (see :mod:`observatoire.services.remotes`)."""

from __future__ import annotations

import sys

import click
import pandas as pd

from observatoire.cli._common import FORMATS, Context, emit, pass_ctx, registry_of
from observatoire.cli.imports import print_report
from observatoire.cli.sources import sources
from observatoire.services.remotes import STATES, Remotes, summarise

__all__ = ["COMMANDS"]


@sources.command("check")
@click.argument("source", nargs=-1)
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@pass_ctx
def source_check(ctx: Context, source: tuple[str, ...], fmt: str) -> None:
    """Cherche chez les producteurs les éditions plus récentes que celles en vigueur, pour
    les sources qui déclarent où elles sont publiées (champ « distant » : melodi:DS_…,
    datagouv:jeu[/ressource] ou https://…). Une requête au catalogue Melodi pour toutes les
    sources Melodi, au plus 25 par minute ; une source injoignable n'empêche pas les autres.
    Le verdict de chaque source est gardé : la page Sources le montre aux chargés d'études,
    et une ligne résume la vérification au journal.

    Code de sortie : 0 tout est à jour, 3 au moins une nouvelle édition, 1 une source n'a
    pu être lue (utile depuis cron ou un minuteur systemd : voir docs/sources.md).

    \b
    Exemples :
      observatoire sources check
      observatoire sources check rp-population caf-allocataires --format csv
    """
    with ctx.open() as obs, registry_of(obs) as registry:
        found = Remotes(obs, registry).check(list(source) or None, actor="cli")
    table = pd.DataFrame([{"source": c.source, "distant": c.remote, "etat": STATES[c.state],
                           "derniere_edition": c.latest.key if c.latest else None,
                           "en_vigueur": c.in_force, "detail": c.message}
                          for c in found])  # fmt: skip
    emit(table, fmt)
    click.echo(summarise(found), err=True)
    if any(c.state == "erreur" for c in found):
        sys.exit(1)
    if any(c.state == "nouvelle" for c in found):
        sys.exit(3)


@click.command("fetch")
@click.argument("source")
@click.option("--edition", help="Une édition précise (son nom ou sa clé, colonne "
              "« derniere_edition » de « sources check ») ; par défaut la plus "
              "récente.")  # fmt: skip
@click.option("--dry-run", is_flag=True, help="Télécharge et vérifie le fichier, dit ce que "
              "l'import ferait, n'écrit rien dans l'entrepôt.")  # fmt: skip
@click.option("--compute/--no-compute", default=True, show_default=True,
              help="Recalcule aussitôt les indicateurs que la nouvelle édition alimente "
              "(comme l'import par le site).")  # fmt: skip
@pass_ctx
def fetch(ctx: Context, source: str, edition: str | None, dry_run: bool, compute: bool) -> None:
    """Télécharge une édition d'une source chez son producteur (reprise si interrompu,
    taille et empreinte vérifiées) puis l'importe comme tout fichier : mêmes contrôles, même
    rapport, tout ou rien ; l'import garde d'où vient le fichier (le distant et l'édition).
    Les indicateurs qu'elle alimente sont ensuite recalculés (sauf --no-compute).

    \b
    Exemples :
      observatoire fetch rp-population --dry-run
      observatoire fetch rp-population
      observatoire fetch caf-allocataires --edition 9c2f…@2026-06-30T10:00:00
    """
    with ctx.open(write=not dry_run) as obs, registry_of(obs) as registry:
        done = Remotes(obs, registry).fetch(source, edition=edition, dry_run=dry_run,
                                            actor="cli")  # fmt: skip
        fresh = compute and not dry_run and not done.report.unchanged
        counts = obs.compute() if fresh else None
    click.echo(f"{source} : {done.edition.title} ({done.edition.key}) → {done.file}")
    print_report(done.report)
    if counts is not None:
        click.echo(f"{len(counts)} indicateur(s) recalculé(s), {sum(counts.values())} valeurs "
                   "enregistrées")  # fmt: skip


COMMANDS: list[click.Command] = [fetch]
