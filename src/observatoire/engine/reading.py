"""Reading an indicator as a reader may see it: stored values when ``compute`` made them (the
secret applied for a restricted audience), computed now otherwise (the analyst only); the zones
of a past or future version of a zoning; how each value was made; a territory's profile.

Levels and territories arrive resolved (a level id, a ``(level, code)`` pair): parsing what a
user typed is the facade's job (:class:`observatoire.observatory.Observatory`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import pandas as pd

from observatoire.engine.access import ReadAccess
from observatoire.engine.completeness import RecordsPolicy
from observatoire.engine.compute import (
    DEFAULT_THRESHOLD,
    check_threshold,
    complete_frame,
    compute_indicator,
)
from observatoire.engine.provenance import explain
from observatoire.errors import AccessError, InputError, ReferentialError
from observatoire.secret.policy import ANALYST, ReadPolicy
from observatoire.store.batches import import_descriptions
from observatoire.store.computed import read_computed, territory_profile
from observatoire.store.territories import shown_version, version_at
from observatoire.territories.levels import LEVELS

__all__ = [
    "analyst_only",
    "past_version",
    "read_indicator",
    "read_profile",
    "read_profiles",
    "with_provenance",
]

Within = tuple[str, str] | None


def read_indicator(
    access: ReadAccess,
    ident: str,
    level: str,
    *,
    within: Within = None,
    period: str | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    published: bool = True,
    reader: ReadPolicy = ANALYST,
    at: str | None = None,
    policies: Callable[[], Mapping[str, RecordsPolicy]] = dict,
    provenance: bool = False,
) -> pd.DataFrame:
    """Indicator ``ident`` for every territory of ``level`` inside ``within`` as ``reader``
    may see it (see :meth:`observatoire.observatory.Observatory.indicator`); with
    ``provenance``, how each value was made (:func:`with_provenance`).

    ``at``: a day on which a version of zoning ``level`` other than today's is in force (the
    caller checked it with :func:`past_version`); its zones are computed now."""
    warehouse, catalogue = access.warehouse, access.catalogue
    catalogue.get(ident)  # an unknown name fails here, with suggestions
    if at is not None:
        if provenance:
            raise InputError(f"zonage {level} au {at} : la provenance détaillée n'est donnée "
                             "que pour la version en vigueur aujourd'hui")  # fmt: skip
        return _indicator_at(access, ident, level, at, within, period, threshold, published,
                             reader, policies)  # fmt: skip
    if provenance:
        frame = read_indicator(access, ident, level, within=within, period=period,
                               threshold=threshold, published=published, reader=reader)  # fmt: skip
        return with_provenance(access, ident, level, frame)
    if reader.restricted:
        analyst_only(published, threshold)
        return access.audience_view(ident, level, within, period, reader)
    if published and threshold == DEFAULT_THRESHOLD:
        stored = read_computed(warehouse, ident, level, period=period, within=within)
        if stored is not None:  # computed by « observatoire compute », still in force
            frame = stored.drop(columns=["indicator", "level", "computed_at"])
            frame = complete_frame(warehouse, frame, level, within)
            inside = access.computed_codes(level)
            if inside is None or frame.code.isin(inside).all():
                return frame
            # territories outside a limited compute (compute_within): computed now
    return compute_indicator(warehouse, catalogue, ident, level=level, within=within,
                             period=period, threshold=check_threshold(threshold),
                             published=published)  # fmt: skip


def analyst_only(published: bool, threshold: float) -> None:
    """AccessError unless the default threshold and published aggregates are asked: anything
    else is computed now, for the analyst only."""
    if not published or threshold != DEFAULT_THRESHOLD:
        raise AccessError(
            "un seuil de couverture ou des agrégats recalculés sont réservés au "
            "chargé d'études (public analyst)"
        )


def past_version(access: ReadAccess, level: str, at: str) -> int | None:
    """The version of zoning ``level`` in force on ``at`` when it is not today's (None when it
    is); an official level, or a day without a version, is refused."""
    if level in LEVELS:
        raise InputError(f"--at {at} : date d'une version de zonage ; {level} n'est pas un "
                         "zonage propre")  # fmt: skip
    version = version_at(access.warehouse, level, at)
    if version is None:
        raise InputError(f"zonage {level} : aucune version en vigueur le {at}")
    return None if version == shown_version(access.warehouse, level) else version


def _indicator_at(access: ReadAccess, ident: str, level: str, at: str, within: Within,
                  period: str | None, threshold: float, published: bool, reader: ReadPolicy,
                  policies: Callable[[], Mapping[str, RecordsPolicy]]) -> pd.DataFrame:  # fmt: skip
    """Indicator ``ident`` for the zones of a past or future version of zoning ``level``,
    computed now (the secret and the records' completeness apply to today's zones only: a
    restricted reader is refused what they would hide)."""
    catalogue = access.catalogue
    if reader.restricted:
        analyst_only(published, threshold)
        access.check_readable(ident, reader)
        if any(v.partition(".")[0] in policies() for v in catalogue.variables_of(ident)):
            raise AccessError(
                f"indicateur {ident} : tiré de saisies d'opérateurs dont la complétude "
                "n'est appliquée qu'aux zones en vigueur aujourd'hui ; pas de valeurs pour "
                f"le zonage {level} au {at}"
            )
        if access.under_secret(ident, reader):
            raise AccessError(
                f"indicateur {ident} : soumis au secret statistique pour "
                f"{reader.label}, appliqué aux zones en vigueur aujourd'hui "
                f"seulement ; pas de valeurs pour le zonage {level} au {at}"
            )
    return compute_indicator(access.warehouse, catalogue, ident, level=level, within=within,
                             period=period, threshold=check_threshold(threshold),
                             published=published, at=at)  # fmt: skip


def with_provenance(
    access: ReadAccess, ident: str, level: str, frame: pd.DataFrame
) -> pd.DataFrame:
    """``frame`` (rows of indicator ``ident`` at ``level``) with how each value was made
    (``methode``), the variables read (``variables``) and the imports they come from
    (``sources``: number, dataset, edition, file)."""
    out = explain(access.warehouse, access.catalogue, ident, level, frame)
    described = import_descriptions(access.warehouse)

    def sources(text: object) -> object:
        if not isinstance(text, str):
            return None
        numbers = [n for part in text.split(", ") for n in part.split("–")]
        if len(numbers) > 4:  # a range of many imports: its ends
            numbers = [numbers[0], numbers[-1]]
        return " ; ".join(described.get(n, f"n° {n}") for n in dict.fromkeys(numbers))

    out["sources"] = out.imports.map(sources)
    return out.drop(columns=["imports"])


def read_profile(access: ReadAccess, level: str, code: str, reader: ReadPolicy, *,
                 provenance: bool = False) -> pd.DataFrame:  # fmt: skip
    """Every stored indicator of territory ``level``/``code`` with its label and theme, as
    ``reader`` may see it: one indexed read (and the masks of the secret for a restricted
    reader, who sees only the indicators of datasets it may read)."""
    restricted = reader.restricted
    rows = territory_profile(
        access.warehouse, level, code, audience=reader.value if restricted else None
    )
    if rows.empty:
        inside = access.computed_codes(level)
        if inside is not None and code not in inside:
            raise ReferentialError(access.outside_scope(f"territoire {level}:{code}"))
    catalogue = access.catalogue
    rows = rows[rows.indicator.isin(set(catalogue.indicators))]
    if restricted:
        rows = access.profile_for(rows, reader)
    rows.insert(1, "label", [catalogue.indicators[i].label for i in rows.indicator])
    rows.insert(2, "theme", [catalogue.indicators[i].theme for i in rows.indicator])
    rows = rows.reset_index(drop=True)
    if provenance and len(rows):
        explained = [
            with_provenance(access, str(ident), level, group.assign(code=code))
            for ident, group in rows.groupby("indicator", sort=False)
        ]
        rows = pd.concat(explained).drop(columns=["code"]).sort_index()
    return rows


def read_profiles(
    access: ReadAccess, level: str, within: Within, reader: ReadPolicy
) -> pd.DataFrame:
    """Every stored indicator of every territory of ``level`` inside ``within`` in one read
    (code, indicator, period, value, status…), as ``reader`` may see them."""
    restricted = reader.restricted
    audience = reader.value if restricted else None
    rows = territory_profile(access.warehouse, level, None, audience=audience, within=within)
    rows = rows[rows.indicator.isin(set(access.catalogue.indicators))]
    if restricted:
        rows = access.profile_for(rows, reader)
    return rows.reset_index(drop=True)
