"""INSEE Melodi's data queries (``/data/{dataset}`` with filters), as a table in Melodi's coded
layout that the normal import reads (:mod:`observatoire.ingest.melodi`).

- The number of rows is asked first (``totalCount=TRUE&maxResult=0``); a query beyond
  :data:`CEILING` rows is split on the values of its first filter that lists several (one
  request each: ``GEO=DEP-93*COM`` and ``GEO=DEP-94*COM`` rather than both at once), and
  refused with advice when it cannot be split;
- pages of :data:`PAGE` rows are read until the announced count is reached; fewer rows than
  announced, or pages that never end, are an error (the API's pagination has been reported
  to misbehave: InseeFrLab/pynsee#306), never a silently partial table;
- geography codes keep their vintage as Melodi writes them (``2025-COM-44109``): the import
  reads the vintage and converts the codes to the current geography like any file's;
- answers are kept in the home's cache with their date and reused for a day.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pandas as pd

from observatoire.atomic import write_whole
from observatoire.errors import RemoteError
from observatoire.remote.http import Polite

__all__ = ["CEILING", "PAGE", "melodi_table"]

PAGE = 10_000  # Melodi's default page
CEILING = 100_000  # rows a query may bring before it is split
FRESH = timedelta(days=1)

Filters = Sequence[tuple[str, str]]


def melodi_table(client: Polite, base: str, dataset: str, filters: Filters, *,
                 cache: Path | None = None, page: int = PAGE,
                 ceiling: int = CEILING) -> pd.DataFrame:  # fmt: skip
    """The observations of ``dataset`` matching ``filters`` (dimension, code pairs, a
    dimension repeated for several codes), one row each: its dimensions, attributes and
    ``OBS_VALUE``."""
    reader = _Reader(client, base.rstrip("/"), dataset, cache, page)
    frames = [reader.rows(part) for part in _parts(reader, list(filters), ceiling)]
    frames = [f for f in frames if not f.empty]
    if not frames:
        return pd.DataFrame(columns=["GEO", "TIME_PERIOD", "OBS_VALUE"])
    return pd.concat(frames, ignore_index=True)


def _parts(reader: _Reader, filters: list[tuple[str, str]], ceiling: int) -> list[Filters]:
    """``filters`` as queries of at most ``ceiling`` rows each, split on the values of the
    first dimension given several."""
    total = reader.count(filters)
    if total <= ceiling:
        return [filters]
    names = [name for name, _ in filters]
    several = next((n for n in dict.fromkeys(names) if names.count(n) > 1), None)
    if several is None:
        raise RemoteError(f"INSEE Melodi : {reader.dataset} : {total} lignes pour ce filtre, "
                          f"au-delà de {ceiling} par requête ; précisez-le (GEO=DEP-93*COM, "
                          "TIME_PERIOD=2022…) ou téléchargez le fichier entier du jeu "
                          "(distant sans filtre)")  # fmt: skip
    others = [(n, v) for n, v in filters if n != several]
    out: list[Filters] = []
    for name, value in filters:
        if name == several:
            out += _parts(reader, [*others, (name, value)], ceiling)
    return out


class _Reader:
    def __init__(self, client: Polite, base: str, dataset: str, cache: Path | None,
                 page: int) -> None:  # fmt: skip
        self.client, self.base, self.dataset = client, base, dataset
        self.cache, self.page = cache, page

    def count(self, filters: Filters) -> int:
        found = self._get([*filters, ("totalCount", "TRUE"), ("maxResult", "0")])
        count = (found.get("paging") or {}).get("count")
        try:
            return int(str(count))
        except ValueError:
            raise RemoteError(f"INSEE Melodi : {self.dataset} : nombre de lignes non "
                              "annoncé par l'API") from None  # fmt: skip

    def rows(self, filters: Filters) -> pd.DataFrame:
        expected = self.count(filters)
        observations: list[dict[str, Any]] = []
        number = 0
        while len(observations) < expected:
            number += 1
            if number > expected // self.page + 2:
                break  # a pagination that never ends
            found = self._get([*filters, ("maxResult", str(self.page)), ("page", str(number))])
            batch = found.get("observations") or []
            if not batch:
                break
            observations += batch
        if len(observations) != expected:
            raise RemoteError(f"INSEE Melodi : {self.dataset} : {len(observations)} lignes "
                              f"reçues pour {expected} annoncées (pagination incohérente) ; "
                              "rien n'est importé")  # fmt: skip
        return pd.DataFrame([_row(o) for o in observations])

    def _get(self, params: Filters) -> dict[str, Any]:
        url = f"{self.base}/data/{self.dataset}?{urlencode(list(params), safe='*')}"
        kept = self._cached(url)
        if kept is not None:
            return kept
        found = self.client.get_json(url)
        if not isinstance(found, dict):
            raise RemoteError(f"INSEE Melodi : {self.dataset} : réponse illisible")
        if self.cache is not None:
            stamp = datetime.now(UTC).isoformat(timespec="seconds")
            write_whole(self._path(url), json.dumps({"url": url, "fetched_at": stamp,
                                                     "body": found}))  # fmt: skip
        return found

    def _path(self, url: str) -> Path:
        assert self.cache is not None
        return self.cache / f"{hashlib.sha256(url.encode()).hexdigest()[:32]}.json"

    def _cached(self, url: str) -> dict[str, Any] | None:
        if self.cache is None or not self._path(url).is_file():
            return None
        kept = json.loads(self._path(url).read_text(encoding="utf-8"))
        when = datetime.fromisoformat(str(kept.get("fetched_at")))
        if kept.get("url") != url or datetime.now(UTC) - when > FRESH:
            return None
        body = kept.get("body")
        return body if isinstance(body, dict) else None


def _row(observation: dict[str, Any]) -> dict[str, Any]:
    """One observation: its dimensions and attributes as columns, its (first) measure as
    ``OBS_VALUE`` (the measure's name varies: OBS_VALUE_NIVEAU, OBS_VALUE_INDICE_DE_PRIX…)."""
    row: dict[str, Any] = {**(observation.get("dimensions") or {}),
                           **(observation.get("attributes") or {})}  # fmt: skip
    measures = observation.get("measures") or {}
    first = next(iter(measures.values()), None) if isinstance(measures, dict) else None
    row["OBS_VALUE"] = first.get("value") if isinstance(first, dict) else None
    return row
