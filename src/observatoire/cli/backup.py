"""``observatoire backup`` and ``observatoire restore``: the whole observatory in one archive
(see :mod:`observatoire.services.backup`), and back."""

from __future__ import annotations

from pathlib import Path

import click

from observatoire.cli._common import Context, pass_ctx
from observatoire.home import Home, resolve_home
from observatoire.services.backup import backup_home
from observatoire.services.backup_format import Manifest
from observatoire.services.restore import check_archive, restore_home

KEY_STATES = {
    "included": "incluse",
    "left_out": "laissée de côté (--without-key)",
    "environment": "hors de l'observatoire (variable OBSERVATOIRE_PSEUDONYM_KEY)",
    "none": "aucune (pas encore créée)",
}


def size_text(size: int) -> str:
    """A size in French (powers of ten, as disks are sold).

    >>> size_text(24_681_793), size_text(2_175), size_text(12)
    ('24,7 Mo', '2,2 ko', '12 octets')
    """
    for unit, scale in (("Go", 1e9), ("Mo", 1e6), ("ko", 1e3)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}".replace(".", ",")
    return f"{size} octets"


def _seconds(seconds: float) -> str:
    return f"{seconds:.1f} s".replace(".", ",")


def _describe(manifest: Manifest) -> None:
    click.echo(
        f"  du {manifest.created_at} (observatoire {manifest.observatoire_version}, moteur "
        f"{manifest.backend}, version de données {manifest.data_version[:12] or '–'})"
    )
    for label, count, size in manifest.contents():
        files = f"{count} fichiers, " if count > 1 else ""
        click.echo(f"  · {label} : {files}{size_text(size)}")
    click.echo(f"  · clé de pseudonymisation : {KEY_STATES.get(manifest.key, manifest.key)}")


@click.command("backup")
@click.argument("file", type=click.Path(dir_okay=True, path_type=Path))
@click.option(
    "--without-key",
    is_flag=True,
    help="Laisse de côté la clé de pseudonymisation (à garder alors à part).",
)
@click.option("--force", is_flag=True, help="Remplace FILE s'il existe.")
@pass_ctx
def backup(ctx: Context, file: Path, without_key: bool, force: bool) -> None:
    """Sauvegarde tout l'observatoire dans un fichier, même pendant qu'il sert.

    Le fichier est une archive tar compressée (.tar.gz), sans compression si son nom finit
    par .tar (deux fois plus gros, trois fois plus vite écrit).

    L'archive contient l'entrepôt (tel qu'à un instant : une version publiée, jamais un
    fichier en cours d'écriture), la base applicative (comptes, sessions, journal,
    inventaire), les documents de la bibliothèque, les paramètres, les collections, les
    indicateurs propres, les tableaux de bord, les autres fichiers de l'observatoire et la clé
    de pseudonymisation, avec un manifeste (taille et SHA-256 de chaque fichier) que
    « restore » vérifie. En mode serveur (PostgreSQL), la base est sauvegardée par pg_dump.

    La clé de pseudonymisation fait correspondre les pseudonymes d'une année à l'autre : sans
    elle, un observatoire restauré fera de nouveaux pseudonymes pour les mêmes personnes.
    Quiconque a l'archive et la clé peut rapprocher un identifiant de son pseudonyme :
    gardez l'archive en lieu sûr, ou laissez la clé de côté (--without-key) et conservez-la
    ailleurs.

    \b
    Exemples :
      observatoire backup /sauvegardes/observatoire-2026-03-01.tar.gz
      observatoire --home /srv/obs93 backup obs93.tar.gz --without-key
    """
    home = Home.load(resolve_home(ctx.home))
    report = backup_home(home, file, with_key=not without_key, replace=force)
    click.echo(
        f"Sauvegarde écrite : {report.archive} ({size_text(report.size)}, "
        f"en {_seconds(report.seconds)})"
    )
    _describe(report.manifest)
    for note in report.notes:
        click.echo(f"  ! {note}")


@click.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--home",
    "target",
    metavar="DIR",
    type=click.Path(path_type=Path),
    help="Dossier de l'observatoire restauré (défaut : le --home de la commande).",
)
@click.option(
    "--force",
    is_flag=True,
    help="Remplace l'observatoire qui se trouve dans DIR (mis de côté, supprimé après).",
)
@click.option(
    "--replace-database",
    is_flag=True,
    help="Mode serveur : remplace les tables que la base PostgreSQL contient déjà.",
)
@click.option("--check", is_flag=True, help="Vérifie la sauvegarde sans rien restaurer.")
@pass_ctx
def restore(
    ctx: Context,
    file: Path,
    target: Path | None,
    force: bool,
    replace_database: bool,
    check: bool,
) -> None:
    """Restaure une sauvegarde dans un dossier (un nouvel observatoire).

    Toute l'archive est lue et vérifiée (manifeste, somme de contrôle de chaque fichier)
    avant que rien ne soit écrit : une sauvegarde altérée, tronquée ou d'une version plus
    récente est refusée. L'observatoire est reconstruit à côté du dossier, puis mis en place
    d'un coup. Un dossier qui n'est pas vide n'est remplacé qu'avec --force. Une sauvegarde
    en mode serveur est chargée par pg_restore dans la base de OBSERVATOIRE_DATABASE_URL ;
    si cette base a déjà des tables, elles ne sont remplacées qu'avec --replace-database.

    \b
    Exemples :
      observatoire restore obs93.tar.gz --home /srv/obs93-restaure
      observatoire restore obs93.tar.gz --check
      observatoire restore obs93.tar.gz --home /srv/obs93 --force
    """
    if check:
        manifest = check_archive(file)
        click.echo(f"Sauvegarde intacte : {file}")
        _describe(manifest)
        return
    chosen = target or (Path(ctx.home) if ctx.home else None)
    if chosen is None:
        raise click.UsageError("précisez le dossier où restaurer : --home DIR")
    report = restore_home(file, chosen, replace=force, replace_database=replace_database)
    click.echo(f"Observatoire restauré dans {report.home} (en {_seconds(report.seconds)})")
    _describe(report.manifest)
    for note in report.notes:
        click.echo(f"  ! {note}")


COMMANDS = [backup, restore]
