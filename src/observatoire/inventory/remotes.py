"""Where a source's editions come from, as its inventory entry declares it (field
``distant``): a dataset of INSEE's Melodi catalogue, a dataset (or one of its resources) of
data.gouv.fr, or a plain address. Pure: reading the remote is :mod:`observatoire.remote`'s.

    melodi:DS_RP_POPULATION_PRINC                        (the dataset's whole file)
    melodi:DS_POPULATIONS_REFERENCE?GEO=DEP-93*COM      (a data query: those observations)
    datagouv:donnees-caf-par-commune                     (the dataset's newest data file)
    datagouv:5c3f3b1c8b4c41262a8e1e4b/9c2f…              (one resource of it)
    https://www.example.fr/donnees/fichier.csv
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from observatoire.errors import InvalidValueError

__all__ = ["KINDS", "Remote", "parse_remote"]

KINDS = {"melodi": "INSEE Melodi", "datagouv": "data.gouv.fr", "url": "adresse"}
_MELODI = re.compile(r"^D[SD]_[A-Z0-9_]{2,80}$")
_DATAGOUV = re.compile(r"^[a-z0-9][a-z0-9-]{1,120}$")
_DIMENSION = re.compile(r"^[A-Z][A-Z0-9_]{0,40}$")  # GEO, TIME_PERIOD, POPREF_MEASURE…
_CODE = re.compile(r"^[A-Za-z0-9_*.-]{1,60}$")  # COM-44109, EPCI-244400404*COM, 2022…
_ADDRESS = re.compile(r"^https?://[^/?#\s]*[A-Za-z0-9][^/?#\s]*(?:[/?#]\S*)?$", re.IGNORECASE)


@dataclass(frozen=True)
class Remote:
    """A source's remote: ``kind`` (melodi, datagouv, url), the dataset (or the address),
    for data.gouv.fr the resource chosen (None: its newest data file), for Melodi the filters
    of a data query (none: the dataset's whole file)."""

    kind: str
    dataset: str
    resource: str | None = None
    query: tuple[tuple[str, str], ...] = ()

    def __str__(self) -> str:
        if self.kind == "url":
            return self.dataset
        text = f"{self.kind}:{self.dataset}" + (f"/{self.resource}" if self.resource else "")
        return text + ("?" + "&".join(f"{k}={v}" for k, v in self.query) if self.query else "")

    @property
    def label(self) -> str:
        """The remote in words (« INSEE Melodi DS_RP_POPULATION_PRINC »)."""
        return f"{KINDS[self.kind]} {self.dataset if self.kind != 'url' else ''}".strip()


def parse_remote(text: str) -> Remote:
    """A declared remote, or an error saying the three forms understood.

    >>> parse_remote("melodi:DS_RP_POPULATION_PRINC")
    Remote(kind='melodi', dataset='DS_RP_POPULATION_PRINC', resource=None, query=())
    >>> str(parse_remote(" datagouv:donnees-caf/8f0b2c3d-aa11-4e5f-9a8b-0123456789ab "))
    'datagouv:donnees-caf/8f0b2c3d-aa11-4e5f-9a8b-0123456789ab'
    >>> parse_remote("melodi:DS_POPULATIONS_REFERENCE?GEO=DEP-93*COM&TIME_PERIOD=2022").query
    (('GEO', 'DEP-93*COM'), ('TIME_PERIOD', '2022'))
    >>> parse_remote("https://exemple.fr/f.csv").kind
    'url'
    >>> for bad in ("https://", "https://exemple.fr/un fichier.csv", "https://moi:secret@exemple.fr/f"):
    ...     try:
    ...         parse_remote(bad)
    ...     except InvalidValueError as exc:
    ...         print("secret" in exc.message, "adresse http(s) attendue" in exc.message)
    False True
    False True
    False True
    >>> try:
    ...     parse_remote("melodi:population")
    ... except InvalidValueError as exc:
    ...     print(exc.column, "ex. melodi:DS_RP_POPULATION_PRINC" in exc.message)
    distant True
    """
    value = text.strip()
    kind, _, rest = value.partition(":")
    kind = kind.lower()
    if kind in ("http", "https") and rest.startswith("//"):
        if (len(value) <= 2000 and _ADDRESS.match(value) and _plain_host(value)
                and not re.search(r"[\x00-\x1f\x7f]", value)):  # fmt: skip
            return Remote("url", value)
        raise InvalidValueError(f"« {_hidden(value)[:80]} » : adresse http(s) attendue, avec "
                                "un nom d'hôte (et un port valide), sans espace ni "
                                "identifiants (utilisateur:mot de passe@)",
                                column="distant")  # fmt: skip
    dataset, _, query = rest.strip().partition("?")
    if kind == "melodi" and _MELODI.match(dataset):
        filters = tuple(tuple(p.split("=", 1)) for p in query.split("&") if p) if query else ()
        if all(len(f) == 2 and _DIMENSION.match(f[0]) and _CODE.match(f[1]) for f in filters):
            return Remote("melodi", dataset, query=filters[:20])  # type: ignore[arg-type]
    if kind == "datagouv":
        dataset, _, resource = rest.strip().partition("/")
        if _DATAGOUV.match(dataset) and (not resource or _DATAGOUV.match(resource)):
            return Remote("datagouv", dataset, resource or None)
    hint = {
        "melodi": "identifiant Melodi attendu, ex. melodi:DS_RP_POPULATION_PRINC, et des "
        "filtres éventuels : melodi:DS_POPULATIONS_REFERENCE?GEO=DEP-93*COM&TIME_PERIOD=2022",
        "datagouv": "jeu data.gouv.fr attendu, ex. datagouv:identifiant-du-jeu ou "
        "datagouv:jeu/ressource",
    }.get(kind, "formes comprises : melodi:DS_…, datagouv:jeu[/ressource], https://…")
    raise InvalidValueError(f"« {_hidden(value)[:80]} » : {hint}", column="distant")


def _plain_host(address: str) -> bool:
    """Whether an address names a host (a valid port, if any) without credentials.

    >>> [_plain_host(a) for a in ("https://a.fr:8443/x", "http://h:abc/x", "http://[::1/x",
    ...                           "https://h:0/", "https://u@h/")]
    [True, False, False, False, False]
    """
    try:
        parts = urlsplit(address)
        port = parts.port
    except ValueError:  # « [::1 », a port that is no number or beyond 65535
        return False
    return bool(parts.hostname) and "@" not in parts.netloc and port != 0


def _hidden(address: str) -> str:
    """A value without the credentials it may hold (never repeated in a message): all
    before its last « @ », from the scheme on, and its control characters.

    >>> _hidden("https://moi:se@cret@h/f"), _hidden("ftp://moi:secret@h"), _hidden("x@y")
    ('https://…@h/f', 'ftp://…@h', '…@y')
    """
    shown = re.sub(r"[\x00-\x1f\x7f]", "?", address)
    if "@" not in shown:
        return shown
    scheme = re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:/*", shown)
    return (scheme.group(0) if scheme else "") + "…@" + shown.rsplit("@", 1)[1]
