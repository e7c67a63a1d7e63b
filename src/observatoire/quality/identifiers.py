"""Direct identifiers in operators' extracts: found, refused or pseudonymised.

Records are pseudonymised data. An extract must not carry names, social security numbers (NIR),
phone numbers or e-mail addresses in clear: :func:`find_identifiers` looks for them by column
name (``nom``, ``prenom``, ``telephone``, ``nir``, ``courriel``…) and by content (a NIR with its
structure, a French phone number, an e-mail address, in any column), and the import refuses the
file, naming the column and the first line. A column the schema declares ``identifiant: hacher``
is replaced by a keyed hash (:mod:`observatoire.ingest.pseudonyms`): the same person gets the
same pseudonym in every extract of the observatory (which finds duplicates across operators),
and the clear value is never stored.

>>> is_nir("1 84 12 76 451 089 46"), is_nir("2 84 12 76 451 089 47"), is_phone("06.12.34.56.78")
(True, False, True)
>>> mask("0612345678")
'06••••••78'
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from observatoire.text import slug

__all__ = ["Finding", "find_identifiers", "header_kind", "is_nir", "is_phone", "mask"]

_NIR = re.compile(r"^([1278])(\d{2})(0[1-9]|1[0-2]|[2-9]\d)(\d{2}|2[AB])(\d{3})(\d{3})(\d{2})?$")
_PHONE = re.compile(r"^(?:\+33|0033|0)[1-9]\d{8}$")
_EMAIL_INSIDE = re.compile(r"[^@\s;,]+@[^@\s;,]+\.[A-Za-z]{2,}")
_SEPARATORS = re.compile(r"[\s.\-()/]")
# the same, written inside a longer text (a comment field)
_PHONE_INSIDE = re.compile(r"(?<!\d)(?:\+33|0033|0)\s?\(?0?\)?[1-9](?:[\s.\-]?\d{2}){4}(?!\d)")
_NIR_INSIDE = re.compile(
    r"(?<![\dA-Z])[1278][\s.]?\d{2}[\s.]?\d{2}[\s.]?(?:\d{2}|2[AB])[\s.]?\d{3}[\s.]?\d{3}"
    r"(?:[\s.]?\d{2})?(?![\dA-Z])"
)
# Column names that say what they hold (folded: lower case, no accents, "_" between words).
_HEADERS = {
    "nom de personne": re.compile(
        r"^(nom|noms|nom_prenom|prenom_nom|patronyme|nom_(de_)?(famille|naissance|jeune_fille)"
        r"|nom_d_?usage|nom_marital|(first|last|sur|full)_?name"
        r"|nom_(du|de_la|de_l)_?\w*(demandeur|personne|beneficiaire|usager|menage|famille"
        r"|enfant|conjoint|referent_familial))$|prenom"
    ),
    "NIR (numéro de sécurité sociale)": re.compile(
        r"^(nir|nss|insee_personne)$|secu|securite_sociale|immatriculation"
    ),
    "téléphone": re.compile(r"^(tel|tel_\w+|\w+_tel|portable|mobile|gsm)$|telephone"),
    "adresse électronique": re.compile(r"^(e_?mail|mail|courriel)\b|_mail$|adresse_mail|courriel"),
    "adresse postale": re.compile(
        r"^(adresse|adresse_postale|rue|voie|numero_de_rue|libelle_voie)$"
    ),
}


def is_nir(text: str) -> bool:
    """A French social security number: 13 characters with a plausible structure, or 15 with
    its valid key (97 − number mod 97; Corsica's 2A/2B counted as 19/18)."""
    compact = _SEPARATORS.sub("", text).upper()
    match = _NIR.match(compact)
    if match is None:
        return False
    if match.group(7) is None:
        return True
    body = compact[:13].replace("2A", "19").replace("2B", "18")
    return 97 - int(body) % 97 == int(match.group(7))


def is_phone(text: str) -> bool:
    return _PHONE.match(_SEPARATORS.sub("", text)) is not None


def mask(text: str) -> str:
    """Enough of a value to recognise it in one's own file, not enough to read it."""
    compact = text.strip()
    if len(compact) <= 4:
        return "•" * len(compact)
    return compact[:2] + "•" * (len(compact) - 4) + compact[-2:]


@dataclass(frozen=True)
class Finding:
    """A column that holds direct identifiers: what, and the first line where it was seen."""

    column: str
    kind: str
    line: int | None  # None when found by the column's name
    example: str = ""

    @property
    def message(self) -> str:
        where = f"ligne {self.line} : " if self.line is not None else ""
        seen = f" (ex. {self.example})" if self.example else ""
        return f"colonne « {self.column} » : {where}{self.kind}{seen}"


def header_kind(column: str) -> str | None:
    """What a column's name says it holds, if it names a direct identifier."""
    folded = slug(str(column), "_")
    for kind, pattern in _HEADERS.items():
        if pattern.search(folded):
            return kind
    return None


def _content_kind(value: str) -> str | None:
    if is_nir(value) or any(is_nir(m) for m in _NIR_INSIDE.findall(value.upper())):
        return "NIR (numéro de sécurité sociale)"
    if is_phone(value) or _PHONE_INSIDE.search(value):
        return "téléphone"
    if "@" in value and _EMAIL_INSIDE.search(value):
        return "adresse électronique"
    return None


def find_identifiers(
    frame: pd.DataFrame,
    *,
    first_line: int,
    skip_content: Iterable[str] = (),
    skip_header: Iterable[str] = (),
    factorize: Callable[[str], tuple[np.ndarray, Any]] | None = None,
) -> list[Finding]:
    """Columns of ``frame`` (text cells) holding direct identifiers, one finding per column.

    Each column's distinct values are tested once (a million rows of a coded column are a few
    distinct values). ``skip_content`` / ``skip_header``: columns not to test that way (hashed
    columns, key columns already validated)."""
    findings: list[Finding] = []
    no_content, no_header = set(skip_content), set(skip_header)
    for column in frame.columns:
        if column not in no_header and (kind := header_kind(str(column))) is not None:
            findings.append(Finding(str(column), kind, None))
            continue
        if column in no_content:
            continue
        codes, distinct = (
            factorize(str(column)) if factorize is not None else pd.factorize(frame[column])
        )
        candidates = [
            (i, v) for i, v in enumerate(distinct) if isinstance(v, str) and _plausible(v)
        ]
        for i, value in candidates:
            kind = _content_kind(value)
            if kind is not None:
                position = int(np.argmax(codes == i))
                findings.append(Finding(str(column), kind, first_line + position, mask(value)))
                break
    return findings


def _plausible(value: str) -> bool:
    """Cheap pre-filter: identifiers have at least 9 digits, or an @."""
    return "@" in value or sum(ch.isdigit() for ch in value) >= 9
