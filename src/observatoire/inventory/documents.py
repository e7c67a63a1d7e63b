"""The document library: studies, reports, portraits and meeting restitutions, with their
metadata and who may read them.

Access levels, from the widest audience to the narrowest::

    public       everyone, the public site included
    membres      every signed-in account
    partenaire   one partner organisation (and the observatory's analysts)
    interne      the observatory's analysts and administrators
"""

from __future__ import annotations

from observatoire.errors import InvalidValueError
from observatoire.inventory.fields import Entry, Field

__all__ = ["ACCESS", "DOCUMENT_FIELDS", "MEDIA_TYPES", "check_document", "may_read"]

ACCESS = (
    ("public", "Public"),
    ("membres", "Membres"),
    ("partenaire", "Un partenaire"),
    ("interne", "Interne (chargés d'études)"),
)
DOCUMENT_KINDS = (
    ("etude", "Étude"),
    ("rapport", "Rapport"),
    ("portrait", "Portrait de territoire"),
    ("restitution", "Restitution"),
    ("compte_rendu", "Compte rendu"),
    ("note", "Note"),
    ("autre", "Autre"),
)
DOCUMENT_FIELDS = (
    Field("titre", "Titre", required=True),
    Field("type", "Type", "choix", choices=DOCUMENT_KINDS),
    Field("auteurs", "Auteurs", "liste"),
    Field("date", "Date", "date"),
    Field("themes", "Thèmes", "liste"),
    Field("territoires", "Territoires", "liste", help="ex. commune:93066, departement:93"),
    Field("indicateurs", "Indicateurs", "liste", help="identifiants du catalogue"),
    Field("acces", "Accès", "choix", choices=ACCESS),
    Field("partenaire", "Partenaire (code)", help="pour un accès « Un partenaire »"),
    Field("resume", "Résumé", "long"),
)
# The files the library takes, by suffix, and the type they are served with.
MEDIA_TYPES = {
    ".pdf": "application/pdf",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ".odt": "application/vnd.oasis.opendocument.text",
    ".ods": "application/vnd.oasis.opendocument.spreadsheet",
    ".odp": "application/vnd.oasis.opendocument.presentation",
    ".html": "text/html",
    ".txt": "text/plain",
    ".md": "text/markdown",
    ".csv": "text/csv",
}


def check_document(entry: Entry) -> None:
    """Rules across fields: a document for one partner names it.

    >>> try:
    ...     check_document({"acces": "partenaire", "partenaire": None})
    ... except InvalidValueError as exc:
    ...     print(exc.column, ":", exc.message)
    partenaire : un document réservé à un partenaire nomme ce partenaire
    """
    if entry.get("acces") == "partenaire" and not entry.get("partenaire"):
        raise InvalidValueError(
            "un document réservé à un partenaire nomme ce partenaire", column="partenaire"
        )


def may_read(entry: Entry, audience: str, organisation: str | None = None) -> bool:
    """Whether a reader may see a document (its metadata, its text, its file).

    ``audience`` is ``public`` (not signed in), ``member`` (a signed-in member or partner,
    from ``organisation``) or ``analyst``.

    >>> doc = {"acces": "partenaire", "partenaire": "op03"}
    >>> may_read(doc, "member", "op03"), may_read(doc, "member", "op04"), may_read(doc, "public")
    (True, False, False)
    >>> may_read({"acces": "interne"}, "member"), may_read({"acces": "interne"}, "analyst")
    (False, True)
    """
    access = entry.get("acces") or "interne"
    if audience == "analyst" or access == "public":
        return True
    if audience != "member":
        return False
    if access == "membres":
        return True
    return (
        access == "partenaire"
        and organisation is not None
        and entry.get("partenaire") == organisation
    )
