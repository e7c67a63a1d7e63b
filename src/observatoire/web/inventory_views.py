"""What a visitor sees of the inventory: sources, documents and needs as the pages, their twins
and the API show them, under the visitor's rights.

    sources   everyone; contacts to signed-in accounts; notes, imports and the datasets the
              visitor may not read to analysts; only the indicators it may read
    documents each by its access level (a partner's restitution: that partner and analysts)
    needs     signed-in accounts
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends

from observatoire.inventory.documents import DOCUMENT_FIELDS
from observatoire.inventory.fields import Entry, label_of
from observatoire.inventory.needs import NEED_FIELDS
from observatoire.inventory.sources import SOURCE_FIELDS
from observatoire.observatory import Observatory
from observatoire.secret.policy import PUBLIC, ReadPolicy
from observatoire.services.accounts import Role, User
from observatoire.services.inventory import Registry
from observatoire.store.inventory import DocumentRow
from observatoire.web.deps import reader_of, require, role_check

__all__ = [
    "EDITORS",
    "Editor",
    "SignedIn",
    "document_view",
    "editable",
    "editor_check",
    "found_documents",
    "library_reader",
    "need_view",
    "source_view",
]

EDITORS = (Role.ADMIN, Role.ANALYST)
editor_check = role_check(
    *EDITORS, message="modification réservée aux chargés d'études et aux administrateurs"
)
Editor = Annotated[User, Depends(editor_check)]
SignedIn = Annotated[
    User,
    require(signed_out="connectez-vous pour voir les besoins d'observation et le programme"),
]


def editable(user: User | None) -> bool:
    """Whether ``user`` may edit the inventory."""
    return user is not None and user.role in EDITORS


def library_reader(user: User | None) -> ReadPolicy:
    """Whom documents are read for: the audience of ``user``'s role and its organisation
    (a document reserved to a partner is read by every account of that organisation)."""
    if user is None:
        return PUBLIC
    return ReadPolicy(user.audience, user.organisation)


def source_view(entry: dict[str, Any], user: User | None, obs: Observatory) -> dict[str, Any]:
    """What ``user`` sees of a source (``obs``: the observatory as it reads it)."""
    shown = dict(entry)
    shown["type_label"] = label_of(SOURCE_FIELDS[2], entry.get("type"))
    if user is None:
        shown.pop("contact", None)
    if editable(user):
        return shown
    for key in ("notes", "imports_detail", "jeux_lies", "distant"):  # an address may carry
        shown.pop(key, None)  # a token: for those who fetch only
    readable = library_reader(user).readable
    organisation = user.organisation if user is not None else None
    if user is None and "besoins" in shown:  # the needs register is for signed-in accounts
        shown["besoins"] = []
    shown["jeux_detail"] = [
        d
        for d in shown.get("jeux_detail", [])
        if d.get("confidentiality") in readable
        or (organisation and d.get("partner") == organisation)
    ]
    if "indicateurs_detail" in shown:
        available = obs.available(reader=reader_of(user))
        shown["indicateurs_detail"] = [
            i for i in shown["indicateurs_detail"] if i["id"] in available
        ]
    return shown


def document_view(row: DocumentRow) -> dict[str, Any]:
    return {
        "id": row.id,
        **row.entry,
        "type_label": label_of(DOCUMENT_FIELDS[1], row.entry.get("type")),
        "acces_label": label_of(DOCUMENT_FIELDS[7], row.entry.get("acces")),
        "fichier": row.file_name,
        "taille": row.size,
        "pages": row.pages,
        "url": f"/documents/{row.id}",
        "fichier_url": f"/documents/{row.id}/fichier",
    }


def found_documents(
    registry: Registry, user: User | None, query: str, kind: str | None = None
) -> list[dict[str, Any]]:
    """The documents a search finds for ``user`` (of type ``kind``), best first, each with its
    score, and the page and passage where it was found."""
    hits = registry.search_documents(query, reader=library_reader(user))
    return [
        {
            **document_view(h.document),
            "score": h.score,
            "page": h.page,
            "extrait": list(h.excerpt or []),
        }
        for h in hits
        if not kind or h.document.entry.get("type") == kind
    ]


def need_view(entry: Entry) -> dict[str, Any]:
    return {
        **entry,
        "statut_label": label_of(NEED_FIELDS[7], entry.get("statut")),
        "priorite_label": label_of(NEED_FIELDS[6], entry.get("priorite")),
    }
