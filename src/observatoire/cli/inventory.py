"""``observatoire sources|documents|needs …``: the inventory of sources and information
systems, the document library, the observation needs and the work programme."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
import pandas as pd

from observatoire.atomic import copy_whole, write_whole
from observatoire.cli._common import FORMATS, Context, emit, pass_ctx, registry_of
from observatoire.errors import InputError
from observatoire.inventory.documents import DOCUMENT_FIELDS
from observatoire.inventory.fields import Entry, Field, Located
from observatoire.inventory.needs import ACTION_FIELDS, NEED_FIELDS
from observatoire.inventory.sources import SOURCE_FIELDS
from observatoire.registry import Registry

READERS = click.Choice(["public", "member", "analyst"])


@contextmanager
def _registry(ctx: Context) -> Iterator[Registry]:
    with ctx.open() as obs, registry_of(obs) as registry:
        yield registry


def _fields_text(fields: Sequence[Field]) -> str:
    lines = []
    for f in fields:
        extra = f" ({', '.join(v for v, _ in f.choices)})" if f.choices else ""
        need = " — obligatoire" if f.required else ""
        kind = {"liste": " [liste]", "date": " [date]", "annee": " [année]"}.get(f.kind, "")
        hint = f" : {f.help}" if f.help else ""
        lines.append(f"{f.key}{kind}{need} — {f.label}{extra}{hint}")
    return "\n".join(lines)


def _assignments(pairs: Sequence[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise InputError(f"« {pair} » : champ=valeur attendu (ex. statut=couvert)")
        out[key.strip()] = value
    return out


def _merged(entry: Entry | None, what: str, ident: str, pairs: Sequence[str]) -> Located:
    if entry is None:
        raise InputError(f"{what} « {ident} » inconnu(e)")
    raw = {k: v for k, v in entry.items() if not k.startswith("_")}
    raw.update(_assignments(pairs))
    return Located(raw)


def _show(entry: dict[str, Any]) -> None:
    click.echo(json.dumps(entry, ensure_ascii=False, indent=1, default=str))


def _table(rows: list[dict[str, Any]], columns: Sequence[str], fmt: str) -> pd.DataFrame:
    """Rows as a frame; lists joined by « ; » in a table or a CSV, kept as lists in JSON."""
    frame = pd.DataFrame(rows, columns=list(columns))
    if fmt == "json":
        return frame
    for column in frame.columns:
        frame[column] = [
            "; ".join(map(str, v)) if isinstance(v, list) else v for v in frame[column]
        ]
    return frame


# -- sources ---------------------------------------------------------------------------------
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
    click.echo(_fields_text(SOURCE_FIELDS))


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
    with _registry(ctx) as registry:
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
    with _registry(ctx) as registry:
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
    emit(_table(rows, columns, fmt) if fmt == "table" else pd.DataFrame(rows), fmt)


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
    with _registry(ctx) as registry:
        registry.save_sources(
            [_merged(registry.source_entry(ident), "source", ident, pairs)], "cli"
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
    with _registry(ctx) as registry:
        rows = [{k: e.get(k) for k in keys} for e in registry.source_entries()]
    if fmt == "csv":
        text = csv_text(entries_table(rows, keys), SPREADSHEET)
    else:
        import yaml

        clean = [{k: v for k, v in r.items() if v not in (None, [])} for r in rows]
        text = yaml.safe_dump({"sources": clean}, allow_unicode=True, sort_keys=False)
    _write(text, output, len(rows))


def _write(text: str, output: str | None, count: int) -> None:
    if output is None:
        click.echo(text, nl=False)
        return
    write_whole(Path(output), text)
    click.echo(f"{count} entrée(s) écrite(s) dans {output}", err=True)


# -- documents -------------------------------------------------------------------------------
@click.group()
def documents() -> None:
    """Bibliothèque de documents : études, rapports, portraits, restitutions.

    Le texte des PDF et des fichiers bureautiques est extrait et indexé : la recherche trouve
    un document par un mot de son contenu, sans tenir compte des accents, des majuscules ni
    des pluriels. Chaque document a un niveau d'accès (public, membres, un partenaire,
    interne). Les portraits produits par « observatoire portrait » y sont classés d'office.

    \b
    Exemples :
      observatoire documents add etude.pdf --titre "Précarité des familles" --acces public
      observatoire documents search "hébergement d'urgence"
      observatoire documents get D2026-001 -o etude.pdf
    """


def _field_options(fields: Sequence[Field]) -> Callable[[Any], Any]:
    """One ``--key`` option per field (a command taking an entry's fields)."""

    def decorate(fn: Any) -> Any:
        for field in reversed(fields):
            fn = click.option(
                f"--{field.key}",
                field.key,
                default=None,
                help=field.label
                + (f" ({', '.join(v for v, _ in field.choices)})" if field.choices else "")
                + (" ; plusieurs séparés par « ; »" if field.kind == "liste" else "")
                + (f" ; {field.help}" if field.help else ""),
            )(fn)
        return fn

    return decorate


@documents.command("add")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_field_options(DOCUMENT_FIELDS)
@pass_ctx
def document_add(ctx: Context, file: Path, **fields: str | None) -> None:
    """Classe un fichier (PDF, Word, Excel, PowerPoint, OpenDocument, HTML, texte) dans la
    bibliothèque : son texte est extrait et indexé. Accès « interne » par défaut.

    \b
    Exemple :
      observatoire documents add etude.pdf --titre "Les familles à l'hôtel" --acces public
    """
    raw = {k: v for k, v in fields.items() if v is not None}
    with _registry(ctx) as registry:
        row = registry.add_document(file, raw, actor="cli")
    click.echo(f"document {row.id} classé : {row.entry['titre']} ({row.pages} page(s) de texte)")


@documents.command("set")
@click.argument("ident")
@click.argument("pairs", nargs=-1, required=True)
@pass_ctx
def document_set(ctx: Context, ident: str, pairs: tuple[str, ...]) -> None:
    """Modifie la fiche d'un document : champ=valeur (ex. acces=public).

    \b
    Exemple :
      observatoire documents set D2026-004 acces=membres
    """
    with _registry(ctx) as registry:
        row = registry.document(ident, audience="analyst")
        merged = _merged(row.entry, "document", ident, pairs)
        registry.update_document(ident, merged.raw, "cli")
    click.echo(f"document {ident} modifié")


@documents.command("list")
@click.option("--type", "kind", help="etude, rapport, portrait, restitution…")
@click.option("--theme", help="Un thème.")
@click.option("--territoire", "territory", help="Un territoire (ex. commune:93066).")
@click.option(
    "--audience",
    type=READERS,
    default="analyst",
    show_default=True,
    help="Lister ce que voit ce lecteur.",
)
@click.option("--organisation", help="Avec --audience member : le partenaire du lecteur.")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@pass_ctx
def document_list(
    ctx: Context,
    kind: str | None,
    theme: str | None,
    territory: str | None,
    audience: str,
    organisation: str | None,
    fmt: str,
) -> None:
    """Liste les documents (les plus récents d'abord).

    \b
    Exemple :
      observatoire documents list --type portrait --territoire commune:93066
    """
    with _registry(ctx) as registry:
        rows = registry.documents(
            audience=audience,
            organisation=organisation,
            kind=kind,
            theme=theme,
            territory=territory,
        )
    emit(
        _table(
            [{"id": r.id, **r.entry, "fichier": r.file_name, "pages": r.pages} for r in rows],
            ["id", "titre", "type", "date", "acces", "fichier", "pages"],
            fmt,
        ),
        fmt,
    )


@documents.command("search")
@click.argument("query")
@click.option(
    "--audience",
    type=READERS,
    default="analyst",
    show_default=True,
    help="Chercher dans ce que voit ce lecteur.",
)
@click.option("--organisation", help="Avec --audience member : le partenaire du lecteur.")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@pass_ctx
def document_search(
    ctx: Context, query: str, audience: str, organisation: str | None, fmt: str
) -> None:
    """Cherche dans le texte et la fiche des documents (tous les mots ; accents, majuscules
    et pluriels ignorés ; un début de mot suffit).

    \b
    Exemple :
      observatoire documents search "hébergement d'urgence"
    """
    with _registry(ctx) as registry:
        hits = registry.search_documents(query, audience=audience, organisation=organisation)
    rows = [
        {
            "id": h.document.id,
            "titre": h.document.entry.get("titre"),
            "score": h.score,
            "page": h.page,
            "extrait": "".join(h.excerpt[:1]) + f"[{h.excerpt[1]}]" + h.excerpt[2]
            if h.excerpt
            else "",
        }
        for h in hits
    ]
    emit(pd.DataFrame(rows, columns=["id", "titre", "score", "page", "extrait"]), fmt)


@documents.command("show")
@click.argument("ident")
@pass_ctx
def document_show(ctx: Context, ident: str) -> None:
    """La fiche d'un document.

    \b
    Exemple :
      observatoire documents show D2026-004
    """
    with _registry(ctx) as registry:
        row = registry.document(ident, audience="analyst")
    _show(
        {
            "id": row.id,
            **row.entry,
            "fichier": row.file_name,
            "taille": row.size,
            "pages": row.pages,
            "origine": row.origin,
            "modifie_le": row.updated_at,
            "modifie_par": row.updated_by,
        }
    )


@documents.command("get")
@click.argument("ident")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path))
@pass_ctx
def document_get(ctx: Context, ident: str, output: Path) -> None:
    """Copie le fichier d'un document.

    \b
    Exemple :
      observatoire documents get D2026-004 -o etude.pdf
    """
    with _registry(ctx) as registry:
        copy_whole(registry.document_file(registry.document(ident, audience="analyst")), output)
    click.echo(f"{output} écrit")


@documents.command("reindex")
@pass_ctx
def document_reindex(ctx: Context) -> None:
    """Extrait à nouveau le texte de chaque document et refait l'index de recherche.

    \b
    Exemple :
      observatoire documents reindex
    """
    with _registry(ctx) as registry:
        count = registry.reindex_documents(actor="cli")
    click.echo(f"{count} document(s) réindexé(s)")


# -- needs -----------------------------------------------------------------------------------
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
    click.echo("Besoin (section « besoins: ») :\n" + _fields_text(NEED_FIELDS))
    click.echo("\nAction du programme (section « programme: ») :\n" + _fields_text(ACTION_FIELDS))


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
    with _registry(ctx) as registry:
        saved, actions = registry.save_needs(read["besoins"], "cli", actions=read["programme"])
    click.echo(f"{len(saved)} besoin(s) et {len(actions)} action(s) enregistré(e)s")


@needs.command("add")
@_field_options(NEED_FIELDS)
@pass_ctx
def need_add(ctx: Context, **fields: str | None) -> None:
    """Enregistre un besoin (identifiant attribué s'il n'est pas donné).

    \b
    Exemple :
      observatoire needs add --question "Délais en PMI ?" --demandeur "Direction de la PMI"
    """
    raw = {k: v for k, v in fields.items() if v is not None}
    with _registry(ctx) as registry:
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
    with _registry(ctx) as registry:
        entry = registry.need_entry(ident)
        registry.save_needs([_merged(entry, "besoin", ident, pairs)], "cli")
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
    with _registry(ctx) as registry:
        rows = registry.needs(status=statut)
    emit(_table(rows, NEED_COLUMNS, fmt), fmt)


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
    with _registry(ctx) as registry:
        rows = registry.needs(open_only=True)
    emit(_table(rows, NEED_COLUMNS, fmt), fmt)


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
    with _registry(ctx) as registry:
        actions = registry.programme(year)
    rows = [{**a, "besoins": [n["identifiant"] for n in a["besoins"]]} for a in actions]
    columns = ["identifiant", "annee", "titre", "type", "pilote", "echeance", "statut", "besoins"]
    emit(_table(rows, columns, fmt), fmt)


def _entry_commands(
    group: click.Group,
    show: Callable[[Registry, str], dict[str, Any]] | None,
    helps: tuple[str, str],
    remove: Callable[[Registry, str], None],
    removed: str,
) -> None:
    """The ``show ID`` (when given) and ``remove ID`` commands of ``group``."""
    if show is not None:

        @group.command("show", help=helps[0])
        @click.argument("ident")
        @pass_ctx
        def show_command(ctx: Context, ident: str) -> None:
            with _registry(ctx) as registry:
                _show(show(registry, ident))

    @group.command("remove", help=helps[1])
    @click.argument("ident")
    @pass_ctx
    def remove_command(ctx: Context, ident: str) -> None:
        with _registry(ctx) as registry:
            remove(registry, ident)
        click.echo(removed.format(ident=ident))


_entry_commands(
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
_entry_commands(
    documents,
    None,
    (
        "",
        "Retire un document de la bibliothèque (et son fichier)."
        "\n\n\b\nExemple :\n  observatoire documents remove D2026-004",
    ),
    Registry.remove_document,
    "document {ident} retiré",
)
_entry_commands(
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


COMMANDS = [sources, documents, needs]
