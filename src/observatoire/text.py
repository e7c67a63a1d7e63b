"""French text: compared without case and accents (one :func:`fold`, and the two shapes built
on it, :func:`slug` for names and keys, :func:`alnum` for letters and digits only), and numbers
written as French typesetting does (:func:`french_number`, :func:`with_unit`), for pages, maps,
portraits and exports.

Pure: text in, text out.
"""

from __future__ import annotations

import math
import re
import unicodedata

__all__ = ["alnum", "first_upper", "fold", "french_key", "french_number", "slug", "with_unit"]

_BOM = "\ufeff"


def fold(text: str, *, trim: bool = False, spaces: bool = False, ascii_only: bool = False) -> str:
    """``text`` in lower case without accents: « Pauvreté » → « pauvrete ».

    >>> fold("Ménages fiscaux imposés")
    'menages fiscaux imposes'

    ``trim``: the white space around it, then a byte-order mark, removed first (a column name
    read from a file). ``spaces``: every run of white space one space, none at the ends (a cell
    typed by a person). ``ascii_only``: what is still not ASCII once the accents are gone is
    dropped (« œ », « – »).

    >>> fold("\\ufeffLibellé ", trim=True), fold("  Non   renseigné ", spaces=True)
    ('libelle', 'non renseigne')
    >>> fold("Bœurs – Île", ascii_only=True)
    'burs  ile'
    """
    if trim:
        text = text.strip().lstrip(_BOM)
    decomposed = unicodedata.normalize("NFKD", text)
    folded = "".join(c for c in decomposed if not unicodedata.combining(c)).lower()
    if ascii_only:
        folded = folded.encode("ascii", "ignore").decode("ascii")
    return " ".join(folded.split()) if spaces else folded


def slug(text: str, sep: str = "-", *, ascii_only: bool = False) -> str:
    """:func:`fold`, with every run of characters other than ``a-z`` and ``0-9`` turned into
    ``sep`` and none at the ends (``ascii_only`` as for :func:`fold`: what is not ASCII is
    dropped rather than turned into ``sep``).

    >>> slug("Saint-Denis (93)"), slug("Nom – Prénom", "_")
    ('saint-denis-93', 'nom_prenom')
    >>> slug("Bœurs-en-Othe", ascii_only=True)
    'burs-en-othe'
    """
    folded = fold(text, ascii_only=ascii_only)
    return re.sub(r"[^a-z0-9]+", sep, folded).strip(sep)


def alnum(text: str) -> str:
    """The letters and digits of :func:`fold` only, case folded fully (« ß » → « ss »):
    ``Observatoire social`` → ``observatoiresocial``.

    >>> alnum("Seine-Saint-Denis 93"), alnum("Straße")
    ('seinesaintdenis93', 'strasse')
    """
    return "".join(c for c in fold(text.casefold()) if c.isalnum())


def first_upper(text: str) -> str:
    """``text`` with its first letter in capitals, the rest as it is (``str.capitalize``
    would write « Iris »).

    >>> first_upper("IRIS"), first_upper("communes de la Moselle")
    ('IRIS', 'Communes de la Moselle')
    """
    return text[:1].upper() + text[1:]


def french_key(text: str) -> tuple[str, str]:
    """The key that sorts names in French dictionary order: accents and case count only
    between otherwise equal names, and spaces, hyphens and apostrophes not at all; « œ » is
    « oe »; numbers compare as numbers.

    >>> sorted(["Zillisheim", "Écouen", "Eaubonne", "L'Haÿ-les-Roses", "La Courneuve"],
    ...        key=french_key)
    ['Eaubonne', 'Écouen', 'La Courneuve', "L'Haÿ-les-Roses", 'Zillisheim']
    >>> sorted(["Œting", "Zoufftgen", "Oeutrange"], key=french_key)
    ['Œting', 'Oeutrange', 'Zoufftgen']
    >>> sorted(["EDS 10", "EDS 2", "Paris 10e", "Paris 2e"], key=french_key)
    ['EDS 2', 'EDS 10', 'Paris 2e', 'Paris 10e']
    """
    folded = fold(str(text), trim=True).replace("œ", "oe").replace("æ", "ae")
    bare = re.sub(r"[-'’\s]+", "", folded)
    numbered = re.sub(r"\d+", lambda m: m[0].zfill(8), bare)  # « EDS 2 » before « EDS 10 »
    return numbered, str(text)


def french_number(value: object, digits: int | None = None) -> str:
    """``12345.678`` → ``12 346``, ``36.04`` → ``36,0`` (narrow no-break space between
    thousands; one decimal below 1,000, two below 1, unless ``digits`` is given).

    >>> french_number(12345.678), french_number(12345.678, 1)
    ('12\\u202f346', '12\\u202f345,7')
    >>> french_number(None), french_number(float("nan"))
    ('–', '–')
    >>> french_number(0.125, 1)
    '0,1'
    """
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return "–"
    if isinstance(value, float) and math.isnan(value):
        return "–"
    if digits is None:
        digits = 0 if float(value).is_integer() or abs(value) >= 1000 else 1
        if abs(value) < 1 and value != 0:
            digits = 2
    text = f"{value:,.{digits}f}"
    return text.replace(",", "\u202f").replace(".", ",")


def with_unit(value: object, unit: str, digits: int | None = None) -> str:
    """A number with its unit as French typesetting writes it.

    >>> with_unit(36.04, "%"), with_unit(18070, "€"), with_unit(12, "naissances")
    ('36,0\\u202f%', '18\\u202f070\\u202f€', '12 naissances')
    """
    text = french_number(value, digits)
    if text == "–" or not unit:
        return text
    if unit in ("%", "‰", "€"):
        return f"{text}\u202f{unit}"
    return f"{text} {unit}"
