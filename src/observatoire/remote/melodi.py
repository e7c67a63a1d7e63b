"""INSEE Melodi's data queries (``/data/{dataset}`` with filters), as a table in Melodi's coded
layout that the normal import reads (:mod:`observatoire.ingest.melodi`).

- The number of rows is asked first (``totalCount=TRUE&maxResult=0``). A query beyond
  :data:`CEILING` rows is split, never hammered: on the values of a filter that lists several
  (``GEO=DEP-93*COM`` and ``GEO=DEP-94*COM`` asked one at a time), else by geography or by
  period, after the values the dataset's ``/range`` lists: one query per level of geography
  (``GEO=DEP``, ``GEO=REG``…), per period (``TIME_PERIOD=2022``…), or the communes (or IRIS)
  of one département at a time (``GEO=DEP-93*COM``), whichever needs fewer queries, again
  until each part fits. The parts' counts must add up to the whole's, else nothing is kept;
  a query that cannot be split, or would need more than :data:`BUDGET` requests, is refused
  with advice;
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
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pandas as pd

from observatoire.atomic import write_whole
from observatoire.errors import RemoteError
from observatoire.remote.http import Polite

__all__ = ["BUDGET", "CEILING", "PAGE", "OverBudget", "melodi_table"]

PAGE = 10_000  # Melodi's default page
CEILING = 100_000  # rows a query may bring before it is split
BUDGET = 1_500  # requests one table may take (an hour at 25 a minute)
FRESH = timedelta(days=1)
BY_DEPARTEMENT = ("COM", "ARM", "IRIS")  # levels Melodi gives per département: DEP-93*COM

Filters = Sequence[tuple[str, str]]


def melodi_table(client: Polite, base: str, dataset: str, filters: Filters, *,
                 cache: Path | None = None, page: int = PAGE, ceiling: int = CEILING,
                 budget: int = BUDGET) -> pd.DataFrame:  # fmt: skip
    """The observations of ``dataset`` matching ``filters`` (dimension, code pairs, a
    dimension repeated for several codes), one row each: its dimensions, attributes and
    ``OBS_VALUE``."""
    reader = _Reader(client, base.rstrip("/"), dataset, cache, page, budget)
    parts = _parts(reader, list(filters), reader.count(filters), ceiling)
    pages = sum(-(-count // page) for _, count in parts)
    if reader.asked + pages > budget:  # said before any page is read
        raise OverBudget(reader.over_budget(reader.asked + pages))
    frames = [reader.rows(part, count) for part, count in parts if count]
    if not frames:
        return pd.DataFrame(columns=["GEO", "TIME_PERIOD", "OBS_VALUE"])
    return pd.concat(frames, ignore_index=True)


class OverBudget(RemoteError):
    """A query that would take more requests than its budget."""


def _parts(reader: _Reader, filters: Filters, total: int,
           ceiling: int) -> list[tuple[Filters, int]]:  # fmt: skip
    """``filters`` as queries of at most ``ceiling`` rows each, with their counts: the
    first split (:func:`_choices`) whose parts the service counts and whose counts add up
    to the whole; the next one if the service refuses a part's filter or they do not."""
    if total <= ceiling:
        return [(filters, total)]
    choices = _choices(reader, filters, total, ceiling)
    if not choices:
        raise RemoteError(f"INSEE Melodi : {reader.dataset} : {total} lignes pour ce filtre, "
                          f"au-delà de {ceiling} par requête, et rien à découper ; "
                          "précisez-le (GEO=DEP-93*COM, TIME_PERIOD=2022…) ou téléchargez le "
                          "fichier entier du jeu (distant sans filtre)")  # fmt: skip
    failed = ""
    for split in choices:
        try:
            counts = [reader.count(part) for part in split]
        except OverBudget:
            raise
        except RemoteError as error:  # a filter this service does not take
            failed = str(error)
            continue
        if sum(counts) != total:
            reader.forget([filters, *split])  # a count of another edition, perhaps
            failed = f"découpée, {sum(counts)} lignes pour {total} annoncées"
            continue
        out: list[tuple[Filters, int]] = []
        for part, count in zip(split, counts, strict=True):
            out += _parts(reader, part, count, ceiling)
        return out
    raise RemoteError(f"INSEE Melodi : {reader.dataset} : la requête {_said(filters)} "
                      f"({total} lignes) n'a pu être découpée ({failed}) ; rien n'est "
                      "importé")  # fmt: skip


def _choices(reader: _Reader, filters: Filters, total: int,
             ceiling: int) -> list[list[Filters]]:  # fmt: skip
    """The ways to split ``filters``, best first: on its repeated filter alone; else by
    level of geography, by period, or a département at a time (after the dataset's range),
    those whose parts fit the ceiling on average first, fewest parts first, then the
    finest."""
    names = [name for name, _ in filters]
    several = next((n for n in dict.fromkeys(names) if names.count(n) > 1), None)
    if several is not None:
        others = [(n, v) for n, v in filters if n != several]
        return [[[*others, (several, v)] for n, v in filters if n == several]]
    ranged = reader.range()
    choices: list[list[Filters]] = []
    if "TIME_PERIOD" not in names:
        periods = _of_frequency(ranged.get("TIME_PERIOD", []),
                                [v for n, v in filters if n == "FREQ"])  # fmt: skip
        choices.append([[*filters, ("TIME_PERIOD", p)] for p in periods])
    geo = [v for n, v in filters if n == "GEO"]
    levels = _levels(ranged.get("GEO", []))
    if not geo and len(levels) > 1:  # every level: one at a time
        choices.append([[*filters, ("GEO", level)] for level in levels])
    else:  # one level (asked, or the dataset's only one): a département at a time
        level = geo[0] if geo else next(iter(levels), "")
        departements = _departements(levels.get(level, []))
        if level in BY_DEPARTEMENT and departements:
            kept = [(n, v) for n, v in filters if n != "GEO"]
            choices.append([[*kept, ("GEO", f"DEP-{d}*{level}")] for d in departements])
    choices = [c for c in choices if len(c) > 1]
    fitting = sorted((c for c in choices if total / len(c) <= ceiling), key=len)
    return fitting + sorted((c for c in choices if total / len(c) > ceiling), key=len,
                            reverse=True)  # fmt: skip


_PERIOD_SHAPES = {"A": r"\d{4}", "M": r"\d{4}-\d{2}", "D": r"\d{4}-\d{2}-\d{2}"}


def _of_frequency(periods: list[str], frequencies: list[str]) -> list[str]:
    """The periods of the frequency asked (``FREQ=A``: years only, not the 751 days and
    months a range may list), all when none or another is asked.

    >>> _of_frequency(["2024", "2024-01", "2024-01-15", "2023"], ["A"])
    ['2024', '2023']
    >>> _of_frequency(["2024", "2024-01"], [])
    ['2024', '2024-01']
    """
    if len(frequencies) != 1 or frequencies[0] not in _PERIOD_SHAPES:
        return periods
    return [p for p in periods if re.fullmatch(_PERIOD_SHAPES[frequencies[0]], p)]


def _levels(values: list[dict[str, Any]]) -> dict[str, list[str]]:
    """The codes of the range's geography by level: {"COM": ["44109", …], "DEP": […]}."""
    out: dict[str, list[str]] = {}
    for value in values:
        level = str((value.get("type") or {}).get("code") or "")
        if level and value.get("code"):
            out.setdefault(level, []).append(str(value["code"]))
    return out


def _departements(codes: list[str]) -> list[str]:
    """The départements of communes' (or IRIS') codes: 93 of 93001, 2A of 2A004, 971 of
    97101; none when a code lies outside every département (Saint-Pierre-et-Miquelon's
    97502, a collectivity's 98…), whose rows a split by département would miss.

    >>> _departements(["93001", "2A004", "97101", "93066"])
    ['2A', '93', '971']
    >>> _departements(["93001", "97502"])
    []
    """
    found = {c[:3] if c.startswith("97") else c[:2] for c in codes}
    if any(d.startswith(("97", "98")) and d not in _OVERSEAS for d in found):
        return []
    return sorted(found)


_OVERSEAS = {"971", "972", "973", "974", "976"}


def _said(filters: Filters) -> str:
    return "&".join(f"{n}={v}" for n, v in filters) or "sans filtre"


class _Reader:
    def __init__(self, client: Polite, base: str, dataset: str, cache: Path | None,
                 page: int, budget: int) -> None:  # fmt: skip
        self.client, self.base, self.dataset = client, base, dataset
        self.cache, self.page, self.budget = cache, page, budget
        self.asked = 0
        self._range: dict[str, list[Any]] | None = None

    def count(self, filters: Filters) -> int:
        found = self._get("data", [*filters, ("totalCount", "TRUE"), ("maxResult", "0")])
        count = (found.get("paging") or {}).get("count")
        try:
            return int(str(count))
        except ValueError:
            raise RemoteError(f"INSEE Melodi : {self.dataset} : nombre de lignes non "
                              "annoncé par l'API") from None  # fmt: skip

    def over_budget(self, needed: int) -> str:
        return (f"INSEE Melodi : {self.dataset} : la requête demanderait {needed} appels au "
                f"service, au-delà de {self.budget} ; précisez-la (GEO=DEP-93*COM, "
                "TIME_PERIOD=2022…) ou téléchargez le fichier entier du jeu (distant sans "
                "filtre) ; rien n'est importé")  # fmt: skip

    def forget(self, queries: list[Filters]) -> None:
        """Drop the cached counts of ``queries`` (asked again next time)."""
        for filters in queries:
            url = self._url("data", [*filters, ("totalCount", "TRUE"), ("maxResult", "0")])
            if self.cache is not None:
                self._path(url).unlink(missing_ok=True)

    def range(self) -> dict[str, list[Any]]:
        """The values of each of the dataset's concepts: periods as codes, geography as
        Melodi gives it (code, type, id)."""
        if self._range is None:
            found = self._get("range", [])
            out: dict[str, list[Any]] = {}
            for concept in found.get("range") or []:
                name = str((concept.get("concept") or {}).get("code") or "")
                values = [v for v in concept.get("values") or [] if isinstance(v, dict)]
                out[name] = values if name == "GEO" else [str(v.get("code")) for v in values]
            self._range = out
        return self._range

    def rows(self, filters: Filters, expected: int) -> pd.DataFrame:
        observations: list[dict[str, Any]] = []
        number = 0
        while len(observations) < expected:
            number += 1
            if number > expected // self.page + 2:
                break  # a pagination that never ends
            found = self._get("data", [*filters, ("maxResult", str(self.page)),
                                       ("page", str(number))])  # fmt: skip
            batch = found.get("observations") or []
            if not batch:
                break
            observations += batch
        if len(observations) != expected:
            raise RemoteError(f"INSEE Melodi : {self.dataset} : {len(observations)} lignes "
                              f"reçues pour {expected} annoncées (pagination incohérente) ; "
                              "rien n'est importé")  # fmt: skip
        return pd.DataFrame([_row(o) for o in observations])

    def _get(self, what: str, params: Filters) -> dict[str, Any]:
        url = self._url(what, params)
        kept = self._cached(url)
        if kept is not None:
            return kept
        self.asked += 1
        if self.asked > self.budget:
            raise OverBudget(self.over_budget(self.asked))
        found = self.client.get_json(url)
        if not isinstance(found, dict):
            raise RemoteError(f"INSEE Melodi : {self.dataset} : réponse illisible")
        if self.cache is not None:
            stamp = datetime.now(UTC).isoformat(timespec="seconds")
            write_whole(self._path(url), json.dumps({"url": url, "fetched_at": stamp,
                                                     "body": found}))  # fmt: skip
        return found
    def _url(self, what: str, params: Filters) -> str:
        url = f"{self.base}/{what}/{quote(self.dataset, safe='')}"
        return url + (f"?{urlencode(list(params), safe='*')}" if params else "")

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
