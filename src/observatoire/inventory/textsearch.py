"""French full-text search, pure: the terms a text is indexed under and a query looks for,
and the excerpt shown around a hit.

A term is a word folded (lowercase, no accents) and lightly stemmed (plural and feminine
endings dropped), so « Hébergements » and « hebergement » are the same term, and common words
(« le », « des »…) are not indexed. A query word matches the terms it begins, so « pauvr »
finds « pauvreté ».
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

from observatoire.text import fold

__all__ = ["excerpt", "query_terms", "stem", "terms"]

_WORD = re.compile(r"[a-z0-9]+")
STOP_WORDS = frozenset(
    [
        "a",
        "afin",
        "ai",
        "au",
        "aux",
        "avec",
        "ce",
        "ces",
        "cet",
        "cette",
        "d",
        "dans",
        "de",
        "des",
        "du",
        "elle",
        "en",
        "est",
        "et",
        "il",
        "ils",
        "je",
        "l",
        "la",
        "le",
        "les",
        "leur",
        "leurs",
        "lui",
        "m",
        "ma",
        "mais",
        "me",
        "mes",
        "n",
        "ne",
        "nous",
        "on",
        "ou",
        "par",
        "pas",
        "pour",
        "qu",
        "que",
        "qui",
        "s",
        "sa",
        "se",
        "ses",
        "son",
        "sur",
        "t",
        "ta",
        "te",
        "tes",
        "ton",
        "un",
        "une",
        "vos",
        "votre",
        "vous",
        "y",
    ]
)


def stem(word: str) -> str:
    """A folded word without its plural and feminine endings (a light French stemmer, after
    J. Savoy's minimal one).

    >>> [stem(w) for w in ["logements", "sociaux", "sociales", "social", "aides", "enfants"]]
    ['logement', 'social', 'social', 'social', 'aide', 'enfant']
    """
    if len(word) > 4 and word.endswith("aux"):
        return word[:-3] + "al"
    if len(word) > 3 and word[-1] in "sx":
        word = word[:-1]
    if len(word) > 5 and word.endswith("ale"):
        word = word[:-1]
    return word


def _words(text: str) -> list[str]:
    return _WORD.findall(fold(text))


def terms(text: str) -> Counter[str]:
    """How often each term occurs in ``text``.

    >>> sorted(terms("L'hébergement d'urgence : 3 hébergements").items())
    [('3', 1), ('hebergement', 2), ('urgence', 1)]
    """
    return Counter(stem(w) for w in _words(text) if w not in STOP_WORDS)


def query_terms(query: str) -> list[str]:
    """The distinct terms a query looks for.

    >>> query_terms("Les HÉBERGEMENTS d'urgence")
    ['hebergement', 'urgence']
    """
    return list(dict.fromkeys(stem(w) for w in _words(query) if w not in STOP_WORDS))


def excerpt(text: str, wanted: Iterable[str], width: int = 90) -> tuple[str, str, str] | None:
    """The passage of ``text`` around the first word that matches one of the query terms
    ``wanted``: (before, the word, after), or None when none does.

    >>> excerpt("Le public accueilli en hébergement d'urgence augmente.", ["hebergement"], 20)
    ('…accueilli en ', 'hébergement', " d'urgence augmente.")
    """
    wanted = list(wanted)
    for found in re.finditer(r"\w+", text):
        if any(stem(fold(found.group())).startswith(w) for w in wanted):
            start, end = found.span()
            head = text[max(0, start - width) : start]
            if start > width:  # from the start of a word
                head = "…" + head.split(" ", 1)[-1]
            tail = text[end : end + width]
            if end + width < len(text):
                tail = tail.rsplit(" ", 1)[0] + "…"
            return _flat(head), found.group(), _flat(tail)
    return None


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)
