"""``observatoire documents …``: the document library (studies, reports, portraits), its
indexed text and its access levels."""

from __future__ import annotations

from pathlib import Path

import click
import pandas as pd

from observatoire.atomic import copy_whole
from observatoire.cli._common import FORMATS, Context, emit, pass_ctx
from observatoire.cli._entries import (
    READERS,
    entry_commands,
    entry_table,
    field_options,
    merged_entry,
    open_registry,
    show_json,
)
from observatoire.inventory.documents import DOCUMENT_FIELDS
from observatoire.secret.policy import ANALYST, ReadPolicy
from observatoire.services.inventory import Registry


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


@documents.command("add")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@field_options(DOCUMENT_FIELDS)
@pass_ctx
def document_add(ctx: Context, file: Path, **fields: str | None) -> None:
    """Classe un fichier (PDF, Word, Excel, PowerPoint, OpenDocument, HTML, texte) dans la
    bibliothèque : son texte est extrait et indexé. Accès « interne » par défaut.

    \b
    Exemple :
      observatoire documents add etude.pdf --titre "Les familles à l'hôtel" --acces public
    """
    raw = {k: v for k, v in fields.items() if v is not None}
    with open_registry(ctx) as registry:
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
    with open_registry(ctx) as registry:
        row = registry.document(ident, reader=ANALYST)
        merged = merged_entry(row.entry, "document", ident, pairs)
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
    with open_registry(ctx) as registry:
        rows = registry.documents(
            reader=ReadPolicy.parse(audience, organisation),
            kind=kind,
            theme=theme,
            territory=territory,
        )
    emit(
        entry_table(
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
    with open_registry(ctx) as registry:
        hits = registry.search_documents(query, reader=ReadPolicy.parse(audience, organisation))
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
    with open_registry(ctx) as registry:
        row = registry.document(ident, reader=ANALYST)
    show_json(
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
    with open_registry(ctx) as registry:
        copy_whole(registry.document_file(registry.document(ident, reader=ANALYST)), output)
    click.echo(f"{output} écrit")


@documents.command("reindex")
@pass_ctx
def document_reindex(ctx: Context) -> None:
    """Extrait à nouveau le texte de chaque document et refait l'index de recherche.

    \b
    Exemple :
      observatoire documents reindex
    """
    with open_registry(ctx) as registry:
        count = registry.reindex_documents(actor="cli")
    click.echo(f"{count} document(s) réindexé(s)")


entry_commands(
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


COMMANDS = [documents]
