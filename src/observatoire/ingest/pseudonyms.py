"""Pseudonyms for identifier columns.

A value becomes ``SHA-256(key ‖ "|" ‖ normalised value)`` cut to 20 hexadecimal characters,
where the key is the observatory's secret (:meth:`observatoire.home.Home.pseudonym_key`) and
the normalisation ignores case, accents, spaces and punctuation (« 1 84 12 76 451 089 46 » and
« 184127645108946 » give the same pseudonym). Without the key, a pseudonym cannot be computed
from a known identifier; with it, the same person gets the same pseudonym in every extract,
which is what finds duplicates across operators. Empty cells and "unknown" markers give no
pseudonym.

:func:`hash_values` is a plain function of arrays so that a large import can run it in a worker
process, on the second core, while the main process reads the records.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

import numpy as np

from observatoire.text import fold

__all__ = ["hash_values", "secret_of"]

_PUNCTUATION = re.compile(r"[^A-Z0-9]")
# every ASCII character that is not a letter or a digit, deleted by str.translate
_ASCII_PUNCTUATION = {c: None for c in range(128) if not chr(c).isalnum()}


def secret_of(key: bytes) -> bytes:
    """The hashing prefix made of the observatory's key."""
    return (key if len(key) <= 64 else hashlib.sha256(key).digest()) + b"|"


def hash_values(values: np.ndarray, secret: bytes, missing: Iterable[str]) -> np.ndarray:
    """Pseudonyms of ``values`` (an object array of text), None where a cell is empty or says
    "unknown" (``missing``: folded markers). Each distinct value is hashed once.

    >>> a, b, c, d = hash_values(np.array(["1 84 12", "18412", " NSP ", None], dtype=object),
    ...                          secret_of(b"k"), ["nsp"])
    >>> bool(a == b), len(a), c, d
    (True, 20, None, None)
    """
    markers = set(missing)
    plain_markers = {m for m in markers if m.isascii()}
    longest = max((len(m) for m in markers), default=0) + 2
    base = hashlib.sha256(secret)
    seen: dict[object, object] = {}
    out = np.empty(len(values), dtype=object)
    for i, value in enumerate(values):
        found = seen.get(value, seen)
        if found is seen:
            found = None
            if isinstance(value, str):
                text = value.strip()
                short = len(text) <= longest
                if short and text.isascii():
                    unknown = " ".join(text.lower().split()) in plain_markers
                else:
                    unknown = short and fold(text, spaces=True) in markers
                if text and not unknown:
                    if text.isascii():
                        normal = text.upper().translate(_ASCII_PUNCTUATION)
                    else:
                        plain = fold(text, ascii_only=True)
                        normal = _PUNCTUATION.sub("", plain.upper())
                    digest = base.copy()
                    digest.update(normal.encode("ascii"))
                    found = digest.hexdigest()[:20]
            seen[value] = found
        out[i] = found
    return out
