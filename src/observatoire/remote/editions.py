"""The editions a remote publishes, read from its catalogue: INSEE Melodi (one request for the
whole catalogue, ``/catalog/all``: each dataset's CSV product, its date and size),
data.gouv.fr (a dataset's resources, their dates, sizes and checksums), a plain address (its
``Last-Modified``, ``ETag`` and size from a HEAD).

An edition is named by what the producer says of it (the product or resource and its date of
modification), never by a date of our own: the same file published again under the same date
is the same edition.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from functools import partial
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import httpx

from observatoire.errors import RemoteError
from observatoire.inventory.remotes import Remote
from observatoire.remote.http import Polite

__all__ = ["DATAGOUV", "MELODI", "Edition", "Services", "read_editions", "service_name"]

MELODI = "https://api.insee.fr/melodi"
DATAGOUV = "https://www.data.gouv.fr/api/1"
_DATA_FORMATS = ("csv", "zip", "xlsx", "xls", "txt", "parquet")


@dataclass(frozen=True)
class Edition:
    """One edition of a remote: the producer's name for the file (``ident``), its title, its
    date of modification, where to download it, its size and checksum (algorithm, digest)
    when announced, the file name to save it under, and the last period it covers."""

    ident: str
    title: str
    modified: str | None
    url: str
    file_name: str
    size: int | None = None
    checksum: tuple[str, str] | None = None
    covers: str | None = None

    @property
    def key(self) -> str:
        """The edition as recorded: its name and the producer's date (or checksum)."""
        mark = self.modified or (self.checksum[1][:16] if self.checksum else "")
        return f"{self.ident}@{mark}" if mark else self.ident


@dataclass
class Services:
    """The clients and addresses used to read remotes (tests give a fake server's): one
    polite client per service, kept while the services are in use (its throttle counts every
    request made to that service), closed by :meth:`close`."""

    make: Callable[[str], Polite]  # the service's name → a polite client for it
    melodi: str = MELODI
    datagouv: str = DATAGOUV
    declared: set[str] = field(default_factory=set)  # hosts of addresses analysts declared
    _open: dict[str, Polite] = field(default_factory=dict)

    def client(self, name: str) -> Polite:
        """The service's client; it trusts the configured services' hosts and the hosts of
        the addresses declared in the inventory, and checks any other address a producer's
        answer gives (:meth:`Polite._checked`)."""
        if name not in self._open:
            client = self.make(name)
            hosts = {urlsplit(b).hostname or "" for b in (self.melodi, self.datagouv)}
            client.trusted = client.trusted | {h.lower() for h in hosts | self.declared if h}
            self._open[name] = client
        return self._open[name]

    def close(self) -> None:
        for client in self._open.values():
            client.close()
        self._open.clear()


def service_name(remote: Remote) -> str:
    """The name a remote's service goes by in messages and throttles."""
    return {"melodi": "INSEE Melodi", "datagouv": "data.gouv.fr"}.get(
        remote.kind, urlsplit(remote.dataset).netloc)


def read_editions(remotes: Sequence[Remote],
                  services: Services) -> dict[Remote, list[Edition] | RemoteError]:  # fmt: skip
    """The editions each remote offers, newest first, or the error met reading it (one
    remote out of reach does not hide the others). Melodi's catalogue is read once for all
    its datasets."""
    out: dict[Remote, list[Edition] | RemoteError] = {}
    melodi = [r for r in remotes if r.kind == "melodi"]
    if melodi:
        try:
            catalogue = services.client("INSEE Melodi").get_json(f"{services.melodi}/catalog/all")
            if not isinstance(catalogue, list):
                raise RemoteError("INSEE Melodi : catalogue illisible (liste de jeux attendue)")
        except RemoteError as error:
            out.update((remote, error) for remote in melodi)
        else:
            by_id = {str(e.get("identifier")): e for e in catalogue if isinstance(e, Mapping)}
            for remote in melodi:
                out[remote] = _caught(partial(_melodi, remote, by_id.get(remote.dataset),
                                              services.melodi))  # fmt: skip
    for remote in remotes:
        if remote.kind == "datagouv":
            out[remote] = _caught(partial(_from_datagouv, remote, services))
        elif remote.kind == "url":
            out[remote] = _caught(partial(_from_address, remote, services))
    return out


def _caught(read: Callable[[], list[Edition]]) -> list[Edition] | RemoteError:
    """The editions read, or the error met (a malformed answer too: one remote's trouble
    never stops the others' check)."""
    try:
        return read()
    except RemoteError as error:
        return error
    except (httpx.HTTPError, ValueError, TypeError, KeyError, AttributeError) as error:
        return RemoteError(f"réponse inattendue ({type(error).__name__} : {str(error)[:120]})")


def _from_datagouv(remote: Remote, services: Services) -> list[Edition]:
    url = f"{services.datagouv}/datasets/{remote.dataset}/"
    return _datagouv(remote, _get(services, "data.gouv.fr", url))


def _from_address(remote: Remote, services: Services) -> list[Edition]:
    return [_plain(remote, _head(services, remote.dataset))]


def _get(services: Services, name: str, url: str) -> Any:
    return services.client(name).get_json(url)


def _head(services: Services, url: str) -> Mapping[str, str]:
    return dict(services.client(urlsplit(url).netloc).head(url).headers)


def _melodi(remote: Remote, entry: Mapping[str, Any] | None, base: str) -> list[Edition]:
    if entry is None:
        raise RemoteError(f"INSEE Melodi : pas de jeu « {remote.dataset} » au catalogue "
                          "(identifiant retiré ou mal écrit ?)")  # fmt: skip
    end = str((entry.get("temporal") or {}).get("endPeriod") or "")[:4] or None
    products = [p for p in entry.get("product") or [] if isinstance(p, Mapping)
                and str(p.get("format", "")).upper() == "CSV"]  # fmt: skip
    if not products:
        raise RemoteError(f"INSEE Melodi : le jeu {remote.dataset} n'a pas de fichier CSV au "
                          "catalogue")  # fmt: skip
    editions = []
    for product in products:
        ident = str(product.get("id") or remote.dataset)
        url = str(product.get("accessURL") or f"{base}/file/{remote.dataset}/{ident}")
        zipped = "zip" in str(product.get("packageFormat", ""))
        size = product.get("byteSize")
        editions.append(Edition(
            ident=ident, title=str(product.get("title") or _text(entry.get("title"))),
            modified=_iso(product.get("modified") or entry.get("modified")), url=url,
            file_name=f"{ident}.{'zip' if zipped else 'csv'}",
            size=int(size) if isinstance(size, int | float) else None, covers=end,
        ))  # fmt: skip
    return sorted(editions, key=lambda e: e.modified or "", reverse=True)


def _datagouv(remote: Remote, dataset: Any) -> list[Edition]:
    if not isinstance(dataset, Mapping):
        raise RemoteError(f"data.gouv.fr : jeu {remote.dataset} illisible")
    resources = [r for r in dataset.get("resources") or [] if isinstance(r, Mapping)]
    if remote.resource:
        resources = [r for r in resources if r.get("id") == remote.resource]
        if not resources:
            raise RemoteError(f"data.gouv.fr : pas de ressource {remote.resource} dans le jeu "
                              f"{remote.dataset}")  # fmt: skip
    else:
        resources = [r for r in resources if r.get("type", "main") == "main"
                     and str(r.get("format") or "").lower() in _DATA_FORMATS]  # fmt: skip
        if not resources:
            raise RemoteError(f"data.gouv.fr : le jeu {remote.dataset} n'a pas de fichier de "
                              "données (CSV, zip, tableur) ; nommez la ressource voulue "
                              "(datagouv:jeu/ressource)")  # fmt: skip
    editions = []
    for resource in resources:
        url = str(resource.get("latest") or resource.get("url") or "")
        checksum = resource.get("checksum")
        digest = ((str(checksum.get("type")), str(checksum.get("value")))
                  if isinstance(checksum, Mapping) and checksum.get("value") else None)  # fmt: skip
        size = resource.get("filesize")
        name = PurePosixPath(urlsplit(str(resource.get("url") or url)).path).name
        editions.append(Edition(
            ident=str(resource.get("id")), title=str(resource.get("title") or name),
            modified=_iso(resource.get("last_modified") or resource.get("created_at")),
            url=url, file_name=name or f"{resource.get('id')}.{resource.get('format', 'csv')}",
            size=int(size) if isinstance(size, int | float) else None, checksum=digest,
        ))  # fmt: skip
    editions.sort(key=lambda e: e.modified or "", reverse=True)
    return editions if remote.resource else editions[:1]


def _plain(remote: Remote, headers: Mapping[str, str]) -> Edition:
    modified = headers.get("last-modified")
    when = None
    if modified:
        try:
            when = parsedate_to_datetime(modified).strftime("%Y-%m-%dT%H:%M:%S")
        except (TypeError, ValueError):
            when = None
    tag = (headers.get("etag") or "").strip('W/"') or None
    size = headers.get("content-length")
    name = PurePosixPath(urlsplit(remote.dataset).path).name or "fichier"
    return Edition(ident=name, title=name, modified=when or tag, url=remote.dataset,
                   file_name=name, size=int(size) if size and size.isdigit() else None)  # fmt: skip


def _iso(value: object) -> str | None:
    """A producer's date as ISO text to the second (no time zone: as published)."""
    text = str(value or "").strip()
    return text[:19] if text else None


def _text(value: object) -> str:
    """The French text of a multilingual Melodi field."""
    if isinstance(value, list):
        for item in value:
            if isinstance(item, Mapping) and item.get("lang") == "fr":
                return str(item.get("content") or "")
    if isinstance(value, Mapping):
        return str(value.get("fr") or "")
    return str(value or "")
