"""``observatoire records …``: operators' records (shelters, insertion…): their collections,
imports, operators and restitution meetings."""

from __future__ import annotations

import sys
from pathlib import Path

import click
import pandas as pd

from observatoire.cli._common import (
    DRY_RUN_OPTION,
    FORMATS,
    REPORT_FORMAT_OPTION,
    Context,
    emit,
    pass_ctx,
    percent,
    progress_bar,
)
from observatoire.ingest.records import RecordsReport


@click.group()
def records() -> None:
    """Enregistrements des opérateurs (hébergement, insertion…) : import, opérateurs, réunions.

    Une collection (ex. demandes d'hébergement) est décrite par un fichier YAML dans
    collections/ du dossier de l'observatoire : champs, nomenclatures, obligations, poids,
    règles de cohérence, mesures publiées (voir docs/completude.md).

    \b
    Exemples :
      observatoire records collections
      observatoire records import extraction_2025.csv --collection demandes
      observatoire records meeting --collection demandes --date 2025-06-12 --territory 93
    """


@records.command("collections")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@pass_ctx
def collections_cmd(ctx: Context, fmt: str) -> None:
    """Liste les collections déclarées, leurs champs et les enregistrements en vigueur.

    \b
    Exemple :
      observatoire records collections --format json
    """
    with ctx.open() as obs:
        rows = []
        for name, schema in obs.records.collections().items():
            imports, count = obs.records.in_force(name)
            rows.append(
                {
                    "collection": name,
                    "libelle": schema.label,
                    "champs": len(schema.fields),
                    "regles": len(schema.rules),
                    "mesures": len(schema.measures),
                    "imports": imports,
                    "enregistrements": count,
                    "fictive": schema.fictitious,
                }
            )
    if not rows and fmt == "table":
        click.echo("Aucune collection : déclarez-en une dans collections/ (docs/completude.md).")
        return
    emit(pd.DataFrame(rows), fmt)


@records.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--collection", required=True, help="Collection (nom déclaré dans collections/).")
@click.option("--partner", help="Partenaire qui dépose (ses opérateurs lui sont rattachés).")
@click.option(
    "--operator",
    help="Opérateur de tous les enregistrements (extraction d'un seul opérateur, sans colonne "
    "d'opérateur).",
)
@click.option(
    "--recu-le",
    "received",
    metavar="AAAA-MM-JJ",
    help="Jour où l'extraction a été reçue, si elle est importée plus tard : sa ponctualité "
    "se juge à ce jour (sinon au jour de l'import).",
)
@DRY_RUN_OPTION
@REPORT_FORMAT_OPTION
@pass_ctx
def records_import(
    ctx: Context,
    files: tuple[str, ...],
    collection: str,
    partner: str | None,
    operator: str | None,
    received: str | None,
    dry_run: bool,
    fmt: str,
) -> None:
    """Importe des extractions d'opérateurs (CSV ou XLSX), tout ou rien.

    Les identifiants directs (noms, NIR, téléphones, courriels) font refuser le fichier, sauf
    les colonnes déclarées « identifiant: hacher », remplacées par un pseudonyme. Les
    enregistrements sans opérateur, commune ou date lisible sont rejetés, ligne par ligne.
    Un import qui couvre tous les (opérateur, mois) d'un import précédent le remplace
    (« observatoire imports rollback N » le rétablit). Statut de sortie 3 si des
    enregistrements ont été rejetés.

    \b
    Exemples :
      observatoire records import siao_2025.csv --collection demandes --dry-run
      observatoire records import op1.xlsx op2.csv --collection demandes
      observatoire records import horizon.xlsx --collection demandes --operator OP01
      observatoire records import op1_mars.csv --collection demandes --recu-le 2025-04-08
    """
    reports = []
    with ctx.open(write=not dry_run) as obs:
        for file in files:
            if fmt == "text":
                click.echo(f"== {file}")
            with progress_bar(Path(file), show=fmt == "text") as on_progress:
                report = obs.records.import_file(
                    file,
                    collection,
                    dry_run=dry_run,
                    partner=partner,
                    operator=operator,
                    on_progress=on_progress,
                    received=received,
                )
            reports.append(report)
            if fmt == "text":
                _print_records_report(report)
    if fmt == "json":
        click.echo("[" + ",\n".join(r.to_json() for r in reports) + "]")
    if any(r.records_rejected for r in reports):
        sys.exit(3)


def _print_records_report(report: RecordsReport) -> None:
    verb = "seraient importés" if report.dry_run else "importés"
    click.echo(
        f"  {report.rows_read} lignes lues : {report.records_kept} enregistrements {verb}, "
        f"{report.records_rejected} rejetés"
    )
    click.echo(
        f"  Opérateurs : {', '.join(report.operators)} ; mois : "
        + (f"{report.months[0]} à {report.months[-1]}" if report.months else "-")
    )
    click.echo(f"  Score de complétude pondéré : {percent(report.score)}")
    for name, value in report.completeness.items():
        click.echo(f"    {name:<24} {percent(value):>8}")
    if report.rejections:
        click.echo("  Rejets :")
        for reason, n in report.rejections.items():
            click.echo(f"    {reason} : {n}")
        _print_examples(report.examples)
    if report.invalid_cells:
        click.echo("  Valeurs invalides (comptées comme manquantes) :")
        for name, n in report.invalid_cells.items():
            click.echo(f"    {name} : {n}")
        _print_examples(report.invalid_examples)
    if any(report.violations.values()):
        click.echo(
            "  Règles non respectées : "
            + ", ".join(f"{k} ({v})" for k, v in report.violations.items() if v)
        )
    if report.absent_fields:
        click.echo(
            f"  Champs absents du fichier (comptés manquants) : {', '.join(report.absent_fields)}"
        )
    if report.ignored_columns:
        click.echo(f"  Colonnes ignorées : {', '.join(report.ignored_columns)}")
    if report.hashed_columns:
        click.echo(f"  Colonnes pseudonymisées : {', '.join(report.hashed_columns)}")
    if report.unchanged:
        click.echo(f"  Fichier identique à l'import n° {report.batch}, déjà en vigueur.")
    elif report.batch is not None:
        replaced = (
            f" (remplace l'import n° {', '.join(map(str, report.replaced))})"
            if report.replaced
            else ""
        )
        click.echo(f"  Import n° {report.batch}{replaced}.")


def _print_examples(examples: list[dict[str, object]]) -> None:
    for example in examples[:10]:
        click.echo(
            f"    ligne {example['line']}, colonne « {example['column']} » : "
            f"« {example['value']} » ({example['reason']})"
        )


@records.command("operators")
@click.option("--collection", required=True, help="Collection.")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@pass_ctx
def operators_cmd(ctx: Context, collection: str, fmt: str) -> None:
    """Liste les opérateurs d'une collection et le partenaire auquel chacun est rattaché.

    \b
    Exemple :
      observatoire records operators --collection demandes
    """
    with ctx.open() as obs:
        emit(obs.records.operators(collection), fmt)


@records.command("link")
@click.argument("operator")
@click.argument("partner")
@click.option("--collection", required=True, help="Collection.")
@pass_ctx
def link_cmd(ctx: Context, operator: str, partner: str, collection: str) -> None:
    """Rattache un opérateur à un partenaire : ses comptes partenaires verront sa complétude.

    \b
    Exemple :
      observatoire records link OP12 asso_horizon --collection demandes
    """
    with ctx.open(write=True) as obs:
        partner = obs.records.link_operator(collection, operator, partner)
    click.echo(f"Opérateur {operator} rattaché au partenaire {partner}.")


@records.command("meeting")
@click.option("--collection", required=True, help="Collection.")
@click.option("--date", "day", required=True, help="Date de la réunion (AAAA-MM-JJ).")
@click.option("--territory", required=True, help="Territoire réuni (93, arrondissement…).")
@click.option("--label", default="", help="Libellé (ex. « réunion de l'arrondissement »).")
@pass_ctx
def meeting_cmd(ctx: Context, collection: str, day: str, territory: str, label: str) -> None:
    """Enregistre une réunion de restitution : les rapports comparent la complétude avant et
    après elle.

    \b
    Exemple :
      observatoire records meeting --collection demandes --date 2025-06-12 --territory 93
    """
    with ctx.open(write=True) as obs:
        level, code = obs.records.save_meeting(collection, day, territory, label)
    click.echo(f"Réunion du {day} enregistrée ({level} {code}).")


COMMANDS = [records]
