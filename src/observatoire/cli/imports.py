"""Imports of producers' files and their history: ``import``, ``imports …``, ``datasets``,
``variables``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from observatoire.cli._common import (
    DRY_RUN_OPTION,
    FORMATS,
    REPORT_FORMAT_OPTION,
    Context,
    emit,
    pass_ctx,
    progress_bar,
)
from observatoire.errors import InputError
from observatoire.ingest.pipeline import ImportReport


# -- imports --------------------------------------------------------------------------------
@click.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--connector", help="Connecteur à utiliser (sinon reconnu d'après l'en-tête).")
@click.option(
    "--descriptor",
    type=click.Path(dir_okay=False),
    help="Descripteur TOML d'un fichier partenaire (voir docs/imports.md).",
)
@click.option("--level", help="Niveau géographique (sinon déduit du fichier).")
@click.option(
    "--period", help="Période des valeurs quand le fichier ne la dit pas (ex. 2024, 2024-T3)."
)
@click.option("--partner", help="Organisation productrice (partenaire).")
@click.option(
    "--accepter",
    "accepted",
    is_flag=True,
    help="Avec --partner : accepte la proposition du partenaire (un jeu d'un producteur ou de "
    "l'observatoire) et l'importe en son nom.",
)
@DRY_RUN_OPTION
@REPORT_FORMAT_OPTION
@pass_ctx
def import_cmd(
    ctx: Context,
    files: tuple[str, ...],
    connector: str | None,
    descriptor: str | None,
    level: str | None,
    period: str | None,
    partner: str | None,
    accepted: bool,
    dry_run: bool,
    fmt: str,
) -> None:
    """Importe des fichiers de producteurs (INSEE, CNAF…), reconnus sans configuration.

    Chaque fichier est validé (codes, valeurs, marqueurs de secret) puis importé d'un bloc :
    tout ou rien. Le statut de sortie vaut 3 si des lignes ou des cellules ont été rejetées.

    \b
    Exemples :
      observatoire import FILO2019_DISP_COM.csv --dry-run
      observatoire import base_cc_comparateur_csv_RP2018.zip data_CAF_2018_IRIS.csv
      observatoire import FILO2019_DISP_COM.csv --format json
      observatoire import POP_MENAGES.csv            # export Melodi, territoires par leur nom
      observatoire import data_DEMO_2020_V1_QP.csv   # ANCT, par quartier prioritaire (QPV)
      observatoire import c2s_2024.csv --descriptor cpam_c2s.toml
      observatoire import data_CAF_2024_IRIS.csv --partner caf93 --accepter

    Avec --partner, le fichier est importé au nom de cet organisme et suit ses règles : il ne
    remplace pas le jeu d'un autre organisme ; un jeu d'un producteur ou de l'observatoire
    n'est écrit qu'avec --accepter (docs/securite.md).
    """
    from observatoire.ingest.connectors import Connector
    from observatoire.ingest.descriptors import DescriptorConnector, load_descriptor

    chosen: str | Connector | None = connector
    if descriptor is not None:
        described = load_descriptor(descriptor)
        chosen = DescriptorConnector(described)
        partner = partner or described.partner
    reports = []
    with ctx.open(write=not dry_run) as obs:
        for file in files:
            if fmt == "text":
                click.echo(f"== {file}")
            with progress_bar(Path(file), show=fmt == "text") as on_progress:
                report = obs.import_file(
                    file,
                    dry_run=dry_run,
                    connector=chosen,
                    level=level,
                    period=period,
                    partner=partner,
                    accepted=accepted,
                    on_step=(lambda step: click.echo(f"  … {step}"))
                    if fmt == "text"
                    else (lambda _: None),
                    on_progress=on_progress,
                )
            reports.append(report)
            if fmt == "text":
                print_report(report)
    if fmt == "json":
        click.echo("[" + ",\n".join(r.to_json() for r in reports) + "]")
    if any(r.rows_rejected or r.cells_rejected for r in reports):
        sys.exit(3)


def print_report(report: ImportReport) -> None:
    verb = "seraient importées" if report.dry_run else "importées"
    if report.connector == "insee.dictionnaire":
        click.echo(
            f"  Dictionnaire de variables : {report.rows_imported} libellés "
            + ("lus" if report.dry_run else "enregistrés")
        )
        return
    click.echo(
        f"  Format : {report.connector} ({report.producer}), niveau {report.level}, "
        f"période(s) {', '.join(report.periods) or '-'}"
    )
    click.echo(
        f"  Lignes lues {report.rows_read}, importées {report.rows_imported}, rejetées "
        f"{report.rows_rejected} ; cellules rejetées {report.cells_rejected}"
    )
    click.echo(
        f"  {report.values_stored} valeurs {verb} ; statuts : "
        + ", ".join(f"{k} {v}" for k, v in sorted(report.statuses.items()))
    )
    if report.converted_codes:
        origin = f" (géographie {report.converted_from})" if report.converted_from else ""
        click.echo(
            f"  {report.converted_codes} codes d'une ancienne géographie{origin} "
            "convertis vers la géographie actuelle"
        )
    if report.variables_created:
        click.echo(
            f"  Variables créées : {len(report.variables_created)} ("
            + ", ".join(report.variables_created[:6])
            + ("…" if len(report.variables_created) > 6 else "")
            + ")"
        )
    if report.variables_updated:
        click.echo(f"  Variables mises à jour : {len(report.variables_updated)}")
    for reason, count in report.rejections.items():
        click.echo(f"  Rejet « {reason} » : {count}")
    for example in report.examples[:10]:
        click.echo(
            f"    ligne {example.line}, colonne « {example.column} » : {example.value} "
            f"({example.reason})"
        )
    for note in report.notes:
        click.echo(f"  Note : {note}")
    if report.footer_lines:
        click.echo(
            f"  Notes sous le tableau ignorées ({len(report.footer_lines)}) : "
            + " / ".join(report.footer_lines[:3])
        )
    weakest = sorted(report.completeness.items(), key=lambda kv: kv[1])[:3]
    if weakest:
        click.echo("  Complétude la plus faible : " + ", ".join(f"{c} {v:.0%}" for c, v in weakest))
    if report.unchanged:
        click.echo(
            f"  Fichier identique déjà en vigueur (import n° {report.batch}) : rien n'a changé"
        )
    elif report.batch is not None:
        replaced = f", remplace l'import n° {report.replaced}" if report.replaced else ""
        click.echo(f"  Import n° {report.batch}{replaced}")


@click.group()
def imports() -> None:
    """Historique des imports : liste, détail, retour arrière.

    \b
    Exemple :
      observatoire imports list
      observatoire imports rollback 12
    """


@imports.command("list")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@pass_ctx
def imports_list(ctx: Context, fmt: str) -> None:
    """Liste les imports, du plus récent au plus ancien.

    \b
    Exemple :
      observatoire imports list --format csv
    """
    with ctx.open() as obs:
        emit(obs.imports(), fmt)


@imports.command("show")
@click.argument("batch", type=int)
@pass_ctx
def imports_show(ctx: Context, batch: int) -> None:
    """Montre la provenance et le rapport de validation d'un import (JSON).

    \b
    Exemple :
      observatoire imports show 3
    """
    with ctx.open() as obs:
        details = obs.import_details(batch)
    click.echo(json.dumps(details, ensure_ascii=False, indent=1, default=str))


@imports.command("rollback")
@click.argument("batch", type=int)
@click.option(
    "--compute/--no-compute",
    default=True,
    show_default=True,
    help="Recalcule aussitôt, dans la même écriture, les indicateurs que l'import alimentait.",
)
@pass_ctx
def imports_rollback(ctx: Context, batch: int, compute: bool) -> None:
    """Retire un import ; la version qu'il remplaçait redevient en vigueur.

    Les valeurs calculées à partir de l'import sont retirées avec lui ; elles sont recalculées
    dans la même écriture (sauf --no-compute) : les lecteurs passent des anciennes valeurs
    aux nouvelles d'un coup, sans moment où elles manquent.

    \b
    Exemple :
      observatoire imports rollback 12
    """
    with ctx.open(write=True) as obs:
        _, restored = obs.rollback(batch, recompute=compute)
    click.echo(
        f"Import n° {batch} retiré."
        + (f" L'import n° {restored} est de nouveau en vigueur." if restored else "")
    )


@imports.command("owner")
@click.argument("dataset")
@click.option("--partner", help="Donne le jeu à cet organisme partenaire.")
@click.option("--observatoire", "observatory", is_flag=True, help="Rend le jeu à l'observatoire.")
@pass_ctx
def imports_owner(ctx: Context, dataset: str, partner: str | None, observatory: bool) -> None:
    """Dit à qui appartient un jeu de données, ou le donne à un autre propriétaire.

    Un jeu appartient à celui qui l'a importé le premier : un partenaire ne remplace que les
    siens (docs/securite.md). Un administrateur corrige ici une erreur (une proposition
    acceptée à tort, un organisme qui change de code).

    
    Exemples :
      observatoire imports owner cnaf.allocataires.iris
      observatoire imports owner cnaf.allocataires.iris --partner caf93
      observatoire imports owner insee.filosofi.disp.commune --observatoire
    """
    if partner and observatory:
        raise InputError("--partner ou --observatoire, pas les deux")
    with ctx.open(write=partner is not None or observatory) as obs:
        owners = obs.partners
        if partner is None and not observatory:
            click.echo(f"{dataset} : {owners.owner_label(owners.owner(dataset))}")
            return
        before, new = owners.give(dataset, partner, by="cli")
        click.echo(f"{dataset} : {owners.owner_label(before)} → {owners.owner_label(new)}")


@click.command("datasets")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@pass_ctx
def datasets_cmd(ctx: Context, fmt: str) -> None:
    """Jeux de données en vigueur : producteur, éditions, confidentialité, licence, fréquence
    de publication et prochaine mise à jour attendue (« en retard » une fois l'échéance passée).

    \b
    Exemple :
      observatoire datasets
      observatoire datasets --format csv
    """
    with ctx.open() as obs:
        emit(obs.datasets(), fmt)


@click.command()
@click.option("--source", help="Source (filosofi, rp, caf…).")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@pass_ctx
def variables(ctx: Context, source: str | None, fmt: str) -> None:
    """Liste les variables importées, avec leurs niveaux et périodes.

    \b
    Exemple :
      observatoire variables --source filosofi --format csv
    """
    with ctx.open() as obs:
        emit(obs.variables(source=source), fmt)


COMMANDS = [import_cmd, imports, datasets_cmd, variables]
