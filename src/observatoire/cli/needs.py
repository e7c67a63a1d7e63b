"""``observatoire needs …``: the observation needs, what covers them, and the work
programme."""

from __future__ import annotations

from pathlib import Path

import click

from observatoire.cli._common import FORMATS, Context, emit, pass_ctx
from observatoire.cli._entries import (
    entry_commands,
    entry_table,
    field_options,
    fields_text,
    merged_entry,
    open_registry,
)
from observatoire.inventory.fields import Located
from observatoire.inventory.needs import ACTION_FIELDS, NEED_FIELDS
from observatoire.services.inventory import Registry


@click.group()
def needs() -> None:
    """Besoins d'observation et programme de travail.

    Les besoins exprimés par les partenaires et les services (question, territoire, thème,
    demandeur, priorité, statut) ; ceux qu'aucune source ni aucun indicateur ne couvre encore
    vont au comité de pilotage, qui décide le programme de l'année (études, groupes de
    travail). Un besoin couvert nomme les sources ou indicateurs qui y répondent.

    \b
    Exemples :
      observatoire needs import besoins.yaml
      observatoire needs add --question "…" --demandeur "CCAS de Bobigny" --priorite haute
      observatoire needs uncovered
      observatoire needs set B2026-003 statut=couvert indicateurs=part_allocataires_rsa
      observatoire needs programme 2027
    """


@needs.command("fields")
def need_fields() -> None:
    """Les champs d'un besoin et d'une action du programme.

    \b
    Exemple :
      observatoire needs fields
    """
    click.echo("Besoin (section « besoins: ») :\n" + fields_text(NEED_FIELDS))
    click.echo("\nAction du programme (section « programme: ») :\n" + fields_text(ACTION_FIELDS))


@needs.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@pass_ctx
def need_import(ctx: Context, file: Path) -> None:
    """Charge des besoins et des actions du programme : YAML (sections « besoins: » et
    « programme: ») ou CSV (un besoin par ligne). Tout ou rien.

    \b
    Exemple :
      observatoire needs import besoins.yaml
    """
    from observatoire.ingest.inventory_files import read_entries

    read = read_entries(file, ("besoins", "programme"))
    with open_registry(ctx) as registry:
        saved, actions = registry.save_needs(read["besoins"], "cli", actions=read["programme"])
    click.echo(f"{len(saved)} besoin(s) et {len(actions)} action(s) enregistré(e)s")


@needs.command("add")
@field_options(NEED_FIELDS)
@pass_ctx
def need_add(ctx: Context, **fields: str | None) -> None:
    """Enregistre un besoin (identifiant attribué s'il n'est pas donné).

    \b
    Exemple :
      observatoire needs add --question "Délais en PMI ?" --demandeur "Direction de la PMI"
    """
    raw = {k: v for k, v in fields.items() if v is not None}
    with open_registry(ctx) as registry:
        (saved,), _ = registry.save_needs([Located(raw)], "cli")
    click.echo(f"besoin {saved['identifiant']} enregistré")


@needs.command("set")
@click.argument("ident")
@click.argument("pairs", nargs=-1, required=True)
@pass_ctx
def need_set(ctx: Context, ident: str, pairs: tuple[str, ...]) -> None:
    """Modifie des champs d'un besoin : champ=valeur (listes séparées par « ; »).

    \b
    Exemple :
      observatoire needs set B2026-004 statut=couvert indicateurs=part_allocataires_rsa
    """
    with open_registry(ctx) as registry:
        entry = registry.need_entry(ident)
        registry.save_needs([merged_entry(entry, "besoin", ident, pairs)], "cli")
    click.echo(f"besoin {ident} modifié")


NEED_COLUMNS = [
    "identifiant",
    "question",
    "theme",
    "territoire",
    "demandeur",
    "exprime_le",
    "priorite",
    "statut",
    "sources",
    "indicateurs",
    "action",
]


@needs.command("list")
@click.option("--statut", help="exprime, etude, programme, couvert ou abandonne.")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@pass_ctx
def need_list(ctx: Context, statut: str | None, fmt: str) -> None:
    """Le registre des besoins.

    \b
    Exemple :
      observatoire needs list --statut exprime
    """
    with open_registry(ctx) as registry:
        rows = registry.needs(status=statut)
    emit(entry_table(rows, NEED_COLUMNS, fmt), fmt)


@needs.command("uncovered")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@pass_ctx
def need_uncovered(ctx: Context, fmt: str) -> None:
    """Les besoins non couverts (ni couverts ni abandonnés), par priorité puis ancienneté :
    la liste du comité de pilotage.

    \b
    Exemple :
      observatoire needs uncovered --format csv
    """
    with open_registry(ctx) as registry:
        rows = registry.needs(open_only=True)
    emit(entry_table(rows, NEED_COLUMNS, fmt), fmt)


@needs.command("programme")
@click.argument("year", type=int, required=False)
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@pass_ctx
def need_programme(ctx: Context, year: int | None, fmt: str) -> None:
    """Le programme de travail d'une année (toutes sinon) : ses actions et les besoins
    qu'elles prennent en charge.

    \b
    Exemple :
      observatoire needs programme 2027
    """
    with open_registry(ctx) as registry:
        actions = registry.programme(year)
    rows = [{**a, "besoins": [n["identifiant"] for n in a["besoins"]]} for a in actions]
    columns = ["identifiant", "annee", "titre", "type", "pilote", "echeance", "statut", "besoins"]
    emit(entry_table(rows, columns, fmt), fmt)


entry_commands(
    needs,
    Registry.need,
    (
        "Un besoin, ce qui le couvre et l'action qui le prend en charge."
        "\n\n\b\nExemple :\n  observatoire needs show B2026-004",
        "Retire un besoin du registre.\n\n\b\nExemple :\n  observatoire needs remove B2026-004",
    ),
    Registry.remove_need,
    "besoin {ident} retiré",
)


COMMANDS = [needs]
