"""Long layouts: one row per period (quarter ``2015-T4`` or month ``2015-03``) × territory
× dimensions, with one or more count columns (DARES / France Travail job-seekers and files
shaped alike). Recognised from the shape of the values, not from column names; the columns
describing the territory (its département's code and name…) are geography, never dimensions.
Registered last: any more specific connector is tried first.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from observatoire.catalog.statuses import ValueStatus
from observatoire.ingest.connectors import (
    NUMBER,
    ColumnSpec,
    Connector,
    Layout,
    code_column_of,
    level_of_table,
    name_tokens,
    register_connector,
    share,
    slug,
)
from observatoire.ingest.tables import Table
from observatoire.text import fold

__all__ = ["EMPLOYMENT_TOKENS", "LongLayoutConnector", "is_geographic"]

_SUB_ANNUAL = re.compile(r"^(19|20)\d{2}(-?T[1-4]|-(0[1-9]|1[0-2]))$", re.IGNORECASE)
_COMMUNE_LIKE = re.compile(r"^(\d{4,5}|2[AB]\d{3})$", re.IGNORECASE)
EMPLOYMENT_TOKENS = {"DEFM", "DARES", "DEMANDEURS", "FRANCE", "TRAVAIL", "POLE", "EMPLOI", "STMT",
                     "DE", "DEFMA", "DEFMABC"}  # fmt: skip
MAX_DIMENSION_VALUES = 60
# A measure named as a rate, a share or a change does not add up (never summed, never derived)
_RATE = re.compile(r"%|\b(taux|part|evolution|variation|indice|moyen|moyenne|median|ratio)\b")


_GEOGRAPHIC_NAME = re.compile(
    r"\b(commune|departement|region|epci|iris|territoire|arrondissement|canton|zone d'emploi"
    r"|bassin de vie|intercommunalite|academie|geographie|libgeo|codgeo|codecom|depcom)s?\b"
)


_LABEL_NAME = re.compile(r"^(libelle|lib|nom|intitule|designation)\b")


def _label_of_other(column: str, dims: list[str], sample: pd.DataFrame) -> bool:
    """Whether a dimension column only names the values of another (« Libellé catégorie »
    beside « Catégorie »): one label per value and one value per label.

    >>> frame = pd.DataFrame({"Catégorie": ["A", "B", "A"], "Libellé catégorie":
    ...                       ["Sans emploi", "Activité réduite", "Sans emploi"]})
    >>> _label_of_other("Libellé catégorie", ["Catégorie", "Libellé catégorie"], frame)
    True
    """
    if not _LABEL_NAME.search(fold(column.strip())):
        return False
    return any(
        sample.groupby(other)[column].nunique().max() == 1
        and sample.groupby(column)[other].nunique().max() == 1
        for other in dims
        if other != column
    )


def is_geographic(column: str, sample: pd.DataFrame, code: str) -> bool:
    """Whether a column of a long file describes the territory, not a dimension of the
    value: naming a level (« Code département », « Département », « Libellé commune »; « Code
    sexe » is a dimension), or holding one value per territory code (the commune's
    département, its agency) while not constant.

    >>> frame = pd.DataFrame({"com": ["93001", "93001", "93005"], "dep": ["93", "93", "93"],
    ...                       "Sexe": ["F", "H", "F"], "agence": ["A", "A", "B"]})
    >>> [is_geographic(c, frame, "com") for c in ("dep", "Sexe", "agence")]
    [False, False, True]
    >>> frame["Code sexe"] = frame.Sexe
    >>> is_geographic("Code département", frame, "com"), is_geographic("Code sexe", frame, "com")
    (True, False)
    """
    if _GEOGRAPHIC_NAME.search(fold(column.strip())):
        return True
    per_code = sample.groupby(code, sort=False)[column].nunique()
    varies = sample[column].nunique() > 1
    return bool(
        varies and len(per_code) > 1 and (per_code <= 1).all() and sample[code].duplicated().any()
    )


def _frequency_of(periods: Sequence[str]) -> str:
    """Quarterly for ``2015-T4`` periods, monthly for ``2015-03``."""
    return "trimestrielle" if any("T" in str(p).upper() for p in periods) else "mensuelle"


class LongLayoutConnector(Connector):
    """Long layouts: one row per period (quarter ``2015-T4`` or month ``2015-03``) × territory
    × dimensions (category, sex, age band…), with one or more count columns. Recognised from the
    shape of the values, not from column names: DARES / France Travail jobseekers by commune,
    and files shaped alike. Variables: ``francetravail.<COUNT COLUMN>`` for employment files
    (``donnees.<…>`` otherwise), with the dimensions stored alongside each value."""

    name = "long.periodique"
    description = "format long : période (2015-T4, 2015-03) × commune × dimensions × effectif"

    def recognise(self, table: Table) -> Layout | None:
        sample = table.frame.head(500)
        columns = list(sample.columns)
        period = next((c for c in columns if share(sample[c].tolist(), _SUB_ANNUAL) > 0.95), None)
        if period is None:
            return None
        code = code_column_of(table)
        if code is None:
            code = next(
                (
                    c
                    for c in columns
                    if c != period and share(sample[c].tolist(), _COMMUNE_LIKE) > 0.95
                ),
                None,
            )
        if code is None:
            return None
        n_codes = sample[code].nunique()
        measures, dims = [], []
        for column in columns:
            if column in (period, code) or is_geographic(column, sample, code):
                continue  # the territory's codes and labels are geography, not dimensions
            values = sample[column].tolist()
            distinct = sample[column].nunique()
            if share(values, NUMBER) > 0.9 and distinct > 1:
                measures.append(column)
            elif distinct <= MAX_DIMENSION_VALUES and distinct < max(n_codes, 2):
                dims.append(column)
            # else: a label column (commune name…), not stored
        if not measures:
            return None
        dims = [d for d in dims if not _label_of_other(d, dims, sample)]
        source = "francetravail" if name_tokens(table.path) & EMPLOYMENT_TOKENS else "donnees"
        specs = [ColumnSpec(m, source, slug(m), "", additive=not _RATE.search(fold(m)))
                 for m in measures]  # fmt: skip
        level = level_of_table(table, code)
        return Layout(
            connector=self.name,
            producer="France Travail / DARES" if source == "francetravail" else "",
            frequency=_frequency_of(sample[period].tolist()),
            dataset=f"{source}.{slug(Path(table.path.name.split('!')[-1]).stem).lower()}.{level}",
            level=level,
            code_column=code,
            columns=specs,
            empty=ValueStatus.SECRET,
            period_column=period,
            dim_columns=dims,
            labels={m: m for m in measures},
            markers={"n.d.": ValueStatus.NOT_AVAILABLE},
        )


register_connector(LongLayoutConnector())
