"""Entries described by their fields: one description serves the files an inventory is loaded
from (YAML, CSV), the web forms and the checks, so a field is validated the same way wherever
it is typed.

An entry is a plain mapping of field keys (French, as users type them) to cleaned values:
text, a list of texts, an ISO date, a year, or one of a field's choices.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from observatoire.errors import InvalidValueError
from observatoire.text import fold
from observatoire.yamlfile import check_keys

__all__ = ["Entry", "Field", "Located", "clean_entry", "label_of", "new_identifier"]

Entry = dict[str, Any]
KINDS = ("texte", "long", "liste", "date", "annee", "choix", "url")
_LIST_SPLIT = re.compile(r"\s*[;,\n]\s*")
_FRENCH_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")


@dataclass(frozen=True)
class Field:
    """One field of an entry: its key, its label in forms, how it is typed."""

    key: str
    label: str
    kind: str = "texte"
    required: bool = False
    choices: tuple[tuple[str, str], ...] = ()  # (value, label)
    help: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"field kind {self.kind!r} not in {KINDS}")

    def clean(self, value: object) -> Any:
        """The cleaned value (None or [] when empty), or an error saying what is expected.

        >>> Field("themes", "Thèmes", "liste").clean("logement; santé, social")
        ['logement', 'santé', 'social']
        >>> Field("le", "Le", "date").clean("05/03/2026")
        '2026-03-05'
        >>> Field("p", "Priorité", "choix", choices=(("haute", "Haute"),)).clean("HAUTE")
        'haute'
        """
        if self.kind == "liste":
            return self._list(value)
        text = "" if value is None else str(value).strip()
        if not text:
            if self.required:
                raise InvalidValueError(f"« {self.label} » est obligatoire")
            return None
        if self.kind == "date":
            return _date(text, self.label)
        if self.kind == "annee":
            if not re.fullmatch(r"\d{4}", text):
                raise InvalidValueError(f"« {self.label} » : année attendue (AAAA), lu « {text} »")
            return int(text)
        if self.kind == "choix":
            return self._choice(text)
        if self.kind == "url" and not text.startswith(("http://", "https://")):
            raise InvalidValueError(f"« {self.label} » : adresse http(s)://… attendue")
        return text

    def _list(self, value: object) -> list[str]:
        if value is None:
            items: list[str] = []
        elif isinstance(value, list | tuple):
            items = [str(v).strip() for v in value]
        else:
            items = _LIST_SPLIT.split(str(value).strip())
        items = list(dict.fromkeys(i for i in items if i))
        if self.required and not items:
            raise InvalidValueError(f"« {self.label} » est obligatoire")
        return items

    def _choice(self, text: str) -> str:
        wanted = fold(text)
        for value, label in self.choices:
            if wanted in (fold(value), fold(label)):
                return value
        allowed = ", ".join(v for v, _ in self.choices)
        raise InvalidValueError(f"« {self.label} » : « {text} » inconnu ; valeurs : {allowed}")


@dataclass(frozen=True)
class Located:
    """A raw entry and where it was typed: a file and line, or a web form (no path)."""

    raw: Mapping[str, object]
    path: str | None = None
    line: int | None = None


def _date(text: str, label: str) -> str:
    found = _FRENCH_DATE.match(text)
    try:
        if found:
            day, month, year = (int(g) for g in found.groups())
            return date(year, month, day).isoformat()
        return date.fromisoformat(text[:10]).isoformat()
    except ValueError:
        raise InvalidValueError(
            f"« {label} » : date attendue (AAAA-MM-JJ ou JJ/MM/AAAA), lu « {text} »"
        ) from None


def clean_entry(
    fields: Sequence[Field],
    raw: Mapping[str, object],
    *,
    path: str | None = None,
    line: int | None = None,
) -> Entry:
    """Every field of ``raw`` cleaned; an unknown or invalid field is an :class:`InputError`
    naming it (and the file and line it was read from, when given).

    >>> spec = [Field("identifiant", "Identifiant", required=True), Field("nom", "Nom")]
    >>> clean_entry(spec, {"identifiant": "caf", "nom": " CAF "})
    {'identifiant': 'caf', 'nom': 'CAF'}
    >>> from observatoire.errors import InputError
    >>> try:
    ...     clean_entry(spec, {"identifiant": "x", "nmo": "?"}, path="inv.csv", line=3)
    ... except InputError as exc:
    ...     print(exc.location(), "|", exc.message)
    inv.csv, ligne 3, colonne « nmo » | champ inconnu ; champs possibles : identifiant, nom
    """
    message = "champ inconnu ; champs possibles : {allowed}"
    check_keys(raw, [f.key for f in fields], message, path=path, line=line, column="{first}")
    entry: Entry = {}
    for field in fields:
        try:
            entry[field.key] = field.clean(raw.get(field.key))
        except InvalidValueError as exc:
            raise InvalidValueError(exc.message, path=path, line=line, column=field.key) from None
    return entry


def label_of(field: Field, value: object) -> str:
    """The label of a choice (the value itself for other fields).

    >>> label_of(Field("s", "Statut", "choix", choices=(("couvert", "Couvert"),)), "couvert")
    'Couvert'
    """
    return dict(field.choices).get(str(value), "" if value is None else str(value))


def new_identifier(prefix: str, taken: Sequence[str]) -> str:
    """The next free ``PREFIX-NNN`` identifier.

    >>> new_identifier("B2026", ["B2026-001", "B2026-007"])
    'B2026-008'
    """
    numbers = [int(t.rsplit("-", 1)[1]) for t in taken if re.fullmatch(rf"{prefix}-\d+", t)]
    return f"{prefix}-{max(numbers, default=0) + 1:03d}"
