"""``observatoire sources …``: the inventory of data sources and information systems."""

from __future__ import annotations

from pathlib import Path

import click
import pandas as pd

from observatoire.cli._common import FORMATS, Context, emit, pass_ctx
from observatoire.cli._entries import (
    entry_commands,
    entry_table,
    fields_text,
    merged_entry,
    open_registry,
    write_entries,
)
from observatoire.inventory.sources import SOURCE_FIELDS
from observatoire.services.inventory import Registry


@click.group()
def sources() -> None:
    """Inventaire des sources de données et des systèmes d'information.

    Chaque source dit qui la produit, ce qu'elle couvre (thèmes, niveaux, territoires,
    périodes), sa fréquence et sa prochaine édition attendue (signalée en retard une fois
    passée), ses conditions d'accès, sa licence et sa convention ; ses imports et les
    indicateurs qu'elle alimente sont retrouvés d'après ses motifs de jeux (« jeux »).

    \b
    Exemples :
      observatoire sources import inventaire.yaml
      observatoire sources list --retard
      observatoire sources show caf-allocataires
      observatoire sources set si-siao prochaine_edition=2027-01-31
    """


@sources.command("fields")
def source_fields() -> None:
    """Les champs d'une source (colonnes du CSV, clés du YAML).

    \b
    Exemple :
      observatoire sources fields
    """
    click.echo(fields_text(SOURCE_FIELDS))


@sources.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@pass_ctx
def source_import(ctx: Context, file: Path) -> None:
    """Charge des sources depuis un fichier YAML (liste, ou section « sources: ») ou CSV
    (une ligne par source, en-têtes = champs : voir « sources fields »). Une source déjà
    connue est remplacée. Tout ou rien : une erreur nomme le fichier, la ligne et le champ.

    \b
    Exemple :
      observatoire sources import inventaire.yaml
    """
    from observatoire.ingest.inventory_files import read_entries

    items = read_entries(file, ("sources",))["sources"]
    with open_registry(ctx) as registry:
        saved = registry.save_sources(items, actor="cli")
    click.echo(f"{len(saved)} source(s) enregistrée(s)")


@sources.command("list")
@click.option("-q", "--query", default="", help="Mots cherchés (accents ignorés).")
@click.option("--type", "kind", help="donnees, systeme, enquete ou referentiel.")
@click.option("--theme", help="Un thème.")
@click.option("--retard", "overdue", is_flag=True, help="Seulement les éditions en retard.")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@pass_ctx
def source_list(
    ctx: Context, query: str, kind: str | None, theme: str | None, overdue: bool, fmt: str
) -> None:
    """Liste les sources, avec leurs imports, leurs indicateurs et leur prochaine édition.

    \b
    Exemple :
      observatoire sources list -q hébergement --retard
    """
    with open_registry(ctx) as registry:
        rows = registry.sources(query, kind=kind, theme=theme, overdue=overdue)
    columns = [
        "identifiant",
        "nom",
        "type",
        "producteur",
        "imports",
        "dernier_import",
        "edition_attendue",
        "en_retard",
        "indicateurs_lies",
    ]
    emit(entry_table(rows, columns, fmt) if fmt == "table" else pd.DataFrame(rows), fmt)


@sources.command("set")
@click.argument("ident")
@click.argument("pairs", nargs=-1, required=True)
@pass_ctx
def source_set(ctx: Context, ident: str, pairs: tuple[str, ...]) -> None:
    """Modifie des champs d'une source : champ=valeur (listes séparées par « ; »).

    \b
    Exemple :
      observatoire sources set si-siao prochaine_edition=2027-01-31
    """
    with open_registry(ctx) as registry:
        registry.save_sources(
            [merged_entry(registry.source_entry(ident), "source", ident, pairs)], "cli"
        )
    click.echo(f"source {ident} modifiée")


@sources.command("export")
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "yaml"]), default="csv", show_default=True
)
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Fichier (sinon l'écran).")
@pass_ctx
def source_export(ctx: Context, fmt: str, output: str | None) -> None:
    """Exporte l'inventaire (CSV pour un tableur, ou YAML), relisible par « sources import ».

    \b
    Exemple :
      observatoire sources export -o inventaire.csv
    """
    from observatoire.csvfile import SPREADSHEET, csv_text
    from observatoire.ingest.inventory_files import entries_table

    keys = [f.key for f in SOURCE_FIELDS]
    with open_registry(ctx) as registry:
        rows = [{k: e.get(k) for k in keys} for e in registry.source_entries()]
    if fmt == "csv":
        text = csv_text(entries_table(rows, keys), SPREADSHEET)
    else:
        import yaml

        clean = [{k: v for k, v in r.items() if v not in (None, [])} for r in rows]
        text = yaml.safe_dump({"sources": clean}, allow_unicode=True, sort_keys=False)
    write_entries(text, output, len(rows))


entry_commands(
    sources,
    Registry.source,
    (
        "Une source, ses jeux, ses imports, ses indicateurs et les besoins qu'elle couvre."
        "\n\n\b\nExemple :\n  observatoire sources show si-siao",
        "Retire une source de l'inventaire (refusé si un besoin la cite)."
        "\n\n\b\nExemple :\n  observatoire sources remove ancienne-source",
    ),
    Registry.remove_source,
    "source {ident} retirée",
)


COMMANDS = [sources]
