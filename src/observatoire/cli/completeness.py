"""``observatoire completeness …``: how complete operators' records are, by operator,
territory, period, field and rule; their evolution around restitution meetings; volume jumps
and duplicates."""

from __future__ import annotations

from pathlib import Path

import click

from observatoire.atomic import write_whole
from observatoire.cli._common import FORMATS, Context, emit, pass_ctx, percent, registry_of
from observatoire.errors import InputError


@click.group(invoke_without_command=True)
@click.option("--collection", help="Collection.")
@click.option(
    "--by",
    default="operator",
    show_default=True,
    help="Regroupement (virgules) : operator, territory, month, quarter, year, field, rule.",
)
@click.option("--level", help="Niveau des territoires avec --by territory (défaut : commune).")
@click.option("--within", metavar="TERRITOIRE", help="Seulement les communes de ce territoire.")
@click.option("--operator", "operators", multiple=True, help="Seulement cet opérateur.")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False))
@click.pass_context
def completeness(
    click_ctx: click.Context,
    collection: str | None,
    by: str,
    level: str | None,
    within: str | None,
    operators: tuple[str, ...],
    fmt: str,
    output: str | None,
) -> None:
    """Complétude des enregistrements : par opérateur, territoire, période et champ.

    Une ligne par groupe : enregistrements, score pondéré (%), part des enregistrements
    incohérents (règles), complétude de chaque champ (%). Avec « field » dans --by, une
    ligne par champ : attendus, renseignés, invalides, complétude.

    \b
    Exemples :
      observatoire completeness --collection demandes --by operator,quarter
      observatoire completeness --collection demandes --by operator,territory,month --format csv
      observatoire completeness --collection demandes --by territory --level epci --within 93
      observatoire completeness report --collection demandes --territory 93 -o restitution.pdf
    """
    if click_ctx.invoked_subcommand is not None:
        return
    if collection is None:
        raise click.UsageError("précisez --collection (voir « observatoire records collections »)")
    ctx = click_ctx.find_object(Context)
    assert ctx is not None
    keys = [b.strip() for b in by.split(",") if b.strip()]
    with ctx.open() as obs:
        table = obs.records.completeness(
            collection, by=keys, level=level, within=within, operators=list(operators) or None
        )
    emit(table.round(2), fmt, output)


@completeness.command("report")
@click.option("--collection", required=True, help="Collection.")
@click.option("--territory", help="Territoire de la réunion (sinon : toute la collection).")
@click.option("--operator", help="Rapport propre à cet opérateur (médiane anonyme des autres).")
@click.option(
    "-o", "--output", required=True, type=click.Path(dir_okay=False), help="Fichier .pdf ou .html."
)
@click.option(
    "--file/--no-file",
    "filed",
    default=True,
    show_default=True,
    help="Classer le rapport dans la bibliothèque de documents (celui d'un opérateur, pour "
    "son organisation).",
)
@pass_ctx
def report_cmd(
    ctx: Context,
    collection: str,
    territory: str | None,
    operator: str | None,
    output: str,
    filed: bool,
) -> None:
    """Rapport de restitution (HTML ou PDF) pour la réunion d'un territoire ou pour un opérateur.

    \b
    Exemples :
      observatoire completeness report --collection demandes --territory 93 -o r.pdf
      observatoire completeness report --collection demandes --operator OP12 -o op12.html
    """
    from observatoire.outputs.restitution import FORMATS as REPORT_FORMATS
    from observatoire.outputs.restitution import render_restitution

    target = Path(output)
    fmt = target.suffix.lower().lstrip(".")
    if fmt not in REPORT_FORMATS:
        raise InputError(f"{output} : extension .pdf ou .html attendue")
    with ctx.open() as obs:
        report = obs.records.restitution(collection, territory=territory, operator=operator)
        body = render_restitution(report, fmt, home=obs.home.path)
        write_whole(target, body)
        if filed:
            with registry_of(obs) as registry:
                row = registry.file_restitution(
                    target,
                    collection=collection,
                    operator=operator,
                    territory=territory,
                    actor="cli",
                )
            click.echo(f"classé dans la bibliothèque : {row.id} (accès {row.entry['acces']})")
    click.echo(
        f"{target} : {report.records} enregistrements, score {percent(report.score)}, "
        f"{len(report.operators)} opérateur(s)"
    )


@completeness.command("evolution")
@click.option("--collection", required=True, help="Collection.")
@click.option(
    "--by",
    default="operator",
    show_default=True,
    help="Regroupement : operator, territory (virgules pour plusieurs).",
)
@click.option("--level", help="Niveau des territoires avec --by territory.")
@click.option(
    "--period",
    type=click.Choice(["month", "quarter", "year"]),
    default="quarter",
    show_default=True,
    help="Compare les deux dernières périodes.",
)
@click.option(
    "--since-meeting",
    is_flag=True,
    help="Compare les trois mois avant la dernière réunion de restitution et ceux d'après.",
)
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@pass_ctx
def evolution_cmd(
    ctx: Context,
    collection: str,
    by: str,
    level: str | None,
    period: str,
    since_meeting: bool,
    fmt: str,
) -> None:
    """Évolution du score : dernière période contre la précédente, ou avant et après la
    dernière réunion de restitution (la complétude s'est-elle améliorée ?).

    \b
    Exemples :
      observatoire completeness evolution --collection demandes --period quarter
      observatoire completeness evolution --collection demandes --since-meeting
    """
    keys = [b.strip() for b in by.split(",") if b.strip()]
    with ctx.open() as obs:
        table = obs.records.completeness_evolution(
            collection, by=keys, period=period, since_meeting=since_meeting, level=level
        )
    emit(table.round(2), fmt)


@completeness.command("jumps")
@click.option("--collection", required=True, help="Collection.")
@click.option("--all", "show_all", is_flag=True, help="Tous les mois, pas seulement les sauts.")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@pass_ctx
def jumps_cmd(ctx: Context, collection: str, show_all: bool, fmt: str) -> None:
    """Volumes inhabituels : les mois où un opérateur saisit beaucoup plus ou moins que
    d'habitude (score z modifié, |z| > 3,5).

    \b
    Exemple :
      observatoire completeness jumps --collection demandes
    """
    with ctx.open() as obs:
        table = obs.records.volume_jumps(collection)
    emit((table if show_all else table[table.jump]).round(2), fmt)


@completeness.command("duplicates")
@click.option("--collection", required=True, help="Collection.")
@click.option("--days", type=int, help="Écart maximal en jours (défaut : celui de la collection).")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@pass_ctx
def duplicates_cmd(ctx: Context, collection: str, days: int | None, fmt: str) -> None:
    """Doublons probables : une même personne (pseudonyme) saisie par deux opérateurs.

    \b
    Exemple :
      observatoire completeness duplicates --collection demandes --days 15
    """
    with ctx.open() as obs:
        table = obs.records.duplicates(collection, days=days)
    emit(table, fmt)


COMMANDS = [completeness]
