"""Reading operators' records against their collection's schema, a chunk at a time.

For each record: its keys (operator, commune, date, month, pseudonymous person), each field's
typed value, and whether the field was *expected* (required, or its condition holds), *filled*
(present and valid) or *invalid* (present but unreadable, outside its nomenclature or bounds);
each rule judged or violated; each measure's value. Values that say "unknown" (« non
renseigné », « NSP »… configurable per field) count as missing.

Cells are parsed once per distinct value (``pd.factorize``): a million records of a coded field
are a handful of parses. Pure: text frame in, arrays out.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from observatoire.quality.schema import CollectionSchema, FieldKind, FieldSpec
from observatoire.text import fold

__all__ = ["Evaluated", "evaluate_chunk", "iso_text", "parse_dates"]

_MIN_DATE = np.datetime64("1990-01-01", "ns")
_INTEGER = re.compile(r"^[+-]?\d+(?:[.,]0+)?$")
_DECIMAL = re.compile(r"^[+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)$")
_DATE_PATTERNS = (
    (re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T].*)?$"), ("y", "m", "d")),
    (re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})(?:[ T].*)?$"), ("y", "m", "d")),
    (re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})(?:[ T].*)?$"), ("d", "m", "y")),
    (re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{2})$"), ("d", "m", "yy")),
    (re.compile(r"^(\d{4})(\d{2})(\d{2})$"), ("y", "m", "d")),
)
_TRUE = {"oui", "o", "vrai", "1", "true", "yes", "y"}
_FALSE = {"non", "n", "faux", "0", "false", "no"}


_MONTHS = {
    "janvier": 1,
    "janv": 1,
    "jan": 1,
    "fevrier": 2,
    "fevr": 2,
    "fev": 2,
    "mars": 3,
    "mar": 3,
    "avril": 4,
    "avr": 4,
    "mai": 5,
    "juin": 6,
    "juillet": 7,
    "juil": 7,
    "aout": 8,
    "septembre": 9,
    "sept": 9,
    "sep": 9,
    "octobre": 10,
    "oct": 10,
    "novembre": 11,
    "nov": 11,
    "decembre": 12,
    "dec": 12,
}
_WORDED = re.compile(r"^(\d{1,2})(?:er)?[ ./-]+([a-z]+)\.?[ ./-]+(\d{4})$")


def _date(text: str) -> np.datetime64 | None:
    text = text.strip()
    if text[:1].isdigit() and any(c.isalpha() for c in text[:12]):  # « 3 janvier 2025 »
        worded = _WORDED.match(fold(text, spaces=True))
        if worded and worded.group(2) in _MONTHS:
            try:
                day = dt.date(int(worded.group(3)), _MONTHS[worded.group(2)], int(worded.group(1)))
            except ValueError:
                return None
            return np.datetime64(day, "ns")
    for pattern, order in _DATE_PATTERNS:
        match = pattern.match(text)
        if match is None:
            continue
        parts = dict(zip(order, (int(g) for g in match.groups()), strict=True))
        year = parts.get("y")
        if year is None:
            yy = parts["yy"]
            year = 2000 + yy if yy <= dt.date.today().year % 100 else 1900 + yy
        try:
            return np.datetime64(dt.date(year, parts["m"], parts["d"]), "ns")
        except ValueError:
            return None
    # a spreadsheet's day number (1 = 1900-01-01), as an XLSX date cell read as a number
    if text.isdigit() and 25_000 <= int(text) <= 80_000:
        return np.datetime64("1899-12-30", "ns") + np.timedelta64(int(text), "D")
    return None


def iso_text(dates: np.ndarray, unit: str = "M8[D]") -> np.ndarray:
    """Dates as ISO text (``2024-03-01``; ``2024-03`` with unit ``M8[M]``), formatting each
    distinct date once.

    >>> iso_text(np.array(["2024-03-01", "2024-03-01"], dtype="M8[ns]"), "M8[M]").tolist()
    ['2024-03', '2024-03']
    """
    codes, uniques = pd.factorize(dates.astype(unit))
    return np.asarray(np.asarray(uniques.astype(str), dtype=object)[codes], dtype=object)


def parse_dates(values: pd.Series) -> pd.Series:
    """Dates written as French producers write them (ISO, 31/12/2024, 31-12-24, 20241231,
    a spreadsheet's day number); NaT where unreadable.

    >>> dates = parse_dates(pd.Series(["2024-03-01", "01/03/2024", "1/3/24", "45352", "31/2/24",
    ...                                "1er mars 2024", "01-mars-2024"]))
    >>> [d.date().isoformat() if d == d else None for d in dates]
    ['2024-03-01', '2024-03-01', '2024-03-01', '2024-03-01', None, '2024-03-01', '2024-03-01']
    """
    codes, uniques = pd.factorize(values)
    parsed = np.array(
        [_date(str(u)) or np.datetime64("NaT", "ns") for u in uniques], dtype="M8[ns]"
    )
    out = np.full(len(values), np.datetime64("NaT", "ns"), dtype="M8[ns]")
    found = codes >= 0
    out[found] = parsed[codes[found]]
    return pd.Series(out, index=values.index)


def _parse_unique(spec: FieldSpec, text: str, labels: Mapping[str, str]) -> object:
    """The typed value of one distinct cell, or ``_INVALID``."""
    compact = text.strip()
    if spec.kind is FieldKind.TEXT:
        return compact
    if spec.kind is FieldKind.CODE:
        if compact in spec.values:
            return compact
        return labels.get(fold(compact, spaces=True), _INVALID)
    if spec.kind is FieldKind.BOOLEAN:
        folded = fold(compact, spaces=True)
        return "oui" if folded in _TRUE else "non" if folded in _FALSE else _INVALID
    if spec.kind is FieldKind.DATE:
        parsed = _date(compact)
        return _INVALID if parsed is None else parsed
    number_text = compact.replace("\u00a0", "").replace("\u202f", "").replace(" ", "")
    pattern = _INTEGER if spec.kind is FieldKind.INTEGER else _DECIMAL
    if not pattern.match(number_text):
        return _INVALID
    number = float(number_text.replace(",", "."))
    if (spec.minimum is not None and number < spec.minimum) or (
        spec.maximum is not None and number > spec.maximum
    ):
        return _INVALID
    return number


_INVALID = object()


@dataclass
class _Parsed:
    values: pd.Series  # typed, missing as NaN / NaT / None
    missing: np.ndarray  # empty, or a "not known" marker
    invalid: np.ndarray  # present but unreadable


def _parse_field(
    spec: FieldSpec, cells: pd.Series, factorized: tuple[np.ndarray, Any] | None = None
) -> _Parsed:
    codes, uniques = factorized if factorized is not None else pd.factorize(cells)
    # a value of the field's nomenclature is an answer, even when it looks like a marker
    codes_of = {fold(k, spaces=True): k for k in spec.values}
    missing_tokens = {fold(m, spaces=True) for m in spec.missing} - set(codes_of)
    labels = codes_of | {fold(v, spaces=True): k for k, v in spec.values.items()}
    n_unique = len(uniques)
    unique_missing = np.zeros(n_unique + 1, dtype=bool)
    unique_invalid = np.zeros(n_unique + 1, dtype=bool)
    unique_missing[n_unique] = True  # code -1 (NaN) is taken at index n_unique
    parsed: list[object] = []
    for i, raw in enumerate(uniques):
        text = str(raw)
        if not text.strip() or fold(text, spaces=True) in missing_tokens:
            unique_missing[i] = True
            parsed.append(None)
            continue
        value = _parse_unique(spec, text, labels)
        if value is _INVALID:
            unique_invalid[i] = True
            parsed.append(None)
        else:
            parsed.append(value)
    index = np.where(codes < 0, n_unique, codes)
    if spec.kind is FieldKind.DATE:
        typed = np.array(
            [v if v is not None else np.datetime64("NaT", "ns") for v in parsed]
            + [np.datetime64("NaT", "ns")],
            dtype="M8[ns]",
        )
    elif spec.kind in (FieldKind.INTEGER, FieldKind.DECIMAL):
        typed = np.array([np.nan if v is None else v for v in parsed] + [np.nan], dtype=float)
    else:
        typed = np.array([*parsed, None], dtype=object)
    return _Parsed(
        pd.Series(typed[index], index=cells.index),
        unique_missing[index],
        unique_invalid[index],
    )


@dataclass
class Evaluated:
    """One chunk of records, read against the schema."""

    keys: pd.DataFrame  # line, operator, operator_name, commune, day, month, person
    values: pd.DataFrame  # typed fields of the kept records
    expected: dict[str, np.ndarray] = field(default_factory=dict)
    filled: dict[str, np.ndarray] = field(default_factory=dict)
    invalid: dict[str, np.ndarray] = field(default_factory=dict)
    judged: dict[str, np.ndarray] = field(default_factory=dict)
    violated: dict[str, np.ndarray] = field(default_factory=dict)
    measure_value: dict[str, np.ndarray] = field(default_factory=dict)
    measure_evaluable: dict[str, np.ndarray] = field(default_factory=dict)
    # rejected records: (line, column, value, reason)
    rejected: list[tuple[int, str, str, str]] = field(default_factory=list)
    # invalid cells of kept records, a few per field: (line, column, value, reason)
    invalid_examples: list[tuple[int, str, str, str]] = field(default_factory=list)


def _key_text(cells: pd.Series, missing: set[str]) -> pd.Series:
    """Stripped text; empty or "unknown" markers as None."""
    codes, uniques = pd.factorize(cells)
    text = pd.Series(np.asarray(uniques, dtype=object)).astype(str).str.strip()
    longest = max((len(m) for m in missing), default=0) + 2
    short = text.str.len() <= longest  # only short cells can be an "unknown" marker
    unknown = text == ""
    folded = text[short].map(lambda t: fold(t, spaces=True, ascii_only=True))
    unknown[short] |= folded.isin(missing)
    cleaned = np.array([*text.where(~unknown, None), None], dtype=object)
    return pd.Series(cleaned[np.where(codes < 0, len(uniques), codes)], index=cells.index)


_OPERATOR_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9 _./-]{0,63}")


def _valid_codes(codes: pd.Series) -> np.ndarray:
    """Whether each operator code is plain (Latin letters, digits…): a code written with
    look-alike letters (Cyrillic « О ») or invisible characters would pass for another
    operator's."""
    index, uniques = pd.factorize(codes)
    valid = np.array([bool(_OPERATOR_CODE.fullmatch(str(u))) for u in uniques] + [True], dtype=bool)
    return valid[np.where(index < 0, len(uniques), index)]


def evaluate_chunk(
    schema: CollectionSchema,
    frame: pd.DataFrame,
    columns: Mapping[str, str],
    *,
    first_line: int,
    communes: Callable[[pd.Series], pd.Series],
    pseudonymise: Callable[[pd.Series], pd.Series] | None = None,
    today: dt.date | None = None,
    examples: int = 5,
    factorize: Callable[[str], tuple[np.ndarray, Any]] | None = None,
) -> Evaluated:
    """Read one chunk. ``columns`` maps each role and field name to the chunk's column (absent:
    the column is not in the file, every value missing); ``communes`` turns codes into current
    commune codes (None when unknown); ``pseudonymise`` turns identifier cells into pseudonyms
    (None for an empty or "unknown" cell). ``factorize``: the chunk's columns already factorised
    (codes, distinct values), shared with the identifier check."""
    n = len(frame)
    lines = first_line + np.arange(n)
    empty = pd.Series([None] * n, index=frame.index, dtype=object)

    def cells(name: str) -> pd.Series:
        column = columns.get(name)
        return frame[column] if column is not None else empty

    missing = {fold(m, spaces=True) for m in schema.missing}
    operator = _key_text(cells("operateur"), missing)
    commune_text = _key_text(cells("commune"), missing)
    commune = communes(commune_text)
    day = parse_dates(cells("date").fillna(""))
    latest = np.datetime64(today or dt.date.today(), "ns") + np.timedelta64(31, "D")
    plausible = (day.to_numpy() >= _MIN_DATE) & (day.to_numpy() <= latest)
    reasons = [
        (operator.isna().to_numpy(), "operateur", "opérateur manquant"),
        (
            operator.notna().to_numpy() & ~_valid_codes(operator),
            "operateur",
            "code opérateur invalide (lettres latines, chiffres, espace, - _ . /)",
        ),
        (commune_text.isna().to_numpy(), "commune", "commune manquante"),
        (
            commune_text.notna().to_numpy() & commune.isna().to_numpy(),
            "commune",
            "code commune inconnu",
        ),
        (day.isna().to_numpy(), "date", "date manquante ou illisible"),
        (day.notna().to_numpy() & ~plausible, "date", "date hors de la période plausible"),
    ]
    keep = np.ones(n, dtype=bool)
    out = Evaluated(keys=pd.DataFrame(), values=pd.DataFrame())
    for bad, role, reason in reasons:
        bad = bad & keep
        if bad.any():
            raw = cells(role)
            for i in np.flatnonzero(bad):
                out.rejected.append(
                    (int(lines[i]), columns.get(role, role), str(raw.iloc[i] or ""), reason)
                )
            keep &= ~bad
    kept = frame.index[keep]
    subset = frame if keep.all() else frame[keep]
    name_column = columns.get("nom_operateur")
    person_column = columns.get("personne")
    person = (
        pseudonymise(subset[person_column])
        if person_column is not None and pseudonymise is not None
        else pd.Series([None] * len(kept), index=kept, dtype=object)
    )
    days = day[keep]
    out.keys = pd.DataFrame(
        {
            "line": lines[keep],
            "operator": operator[keep].to_numpy(),
            "operator_name": (
                _key_text(subset[name_column], missing).to_numpy()
                if name_column is not None
                else None
            ),
            "commune": commune[keep].to_numpy(),
            "day": days.to_numpy(),
            "month": iso_text(days.to_numpy(), "M8[M]"),
            "person": person.to_numpy(),
        }
    )
    typed: dict[str, pd.Series] = {}
    for spec in schema.fields:
        column = columns.get(spec.name)
        source = subset[column] if column is not None else empty[keep]
        if spec.identifier:
            typed[spec.name] = (
                pseudonymise(source).reset_index(drop=True)
                if pseudonymise is not None and column is not None
                else pd.Series([None] * len(kept), dtype=object)
            )
            continue
        known = factorize(column) if factorize is not None and column is not None else None
        if known is not None and not keep.all():
            known = (known[0][keep], known[1])
        parsed = _parse_field(spec, source, known)
        typed[spec.name] = parsed.values.reset_index(drop=True)
        out.filled[spec.name] = ~(parsed.missing | parsed.invalid)
        out.invalid[spec.name] = parsed.invalid
        for i in np.flatnonzero(parsed.invalid)[:examples]:
            out.invalid_examples.append(
                (
                    int(out.keys.line.iloc[i]),
                    columns.get(spec.name, spec.name),
                    str(source.iloc[i]),
                    _invalid_reason(spec),
                )
            )
    out.values = pd.DataFrame(typed)
    if "date" not in out.values:  # the record's own date, for rules (« date_sortie >= date »)
        out.values["date"] = days.to_numpy()
    size = len(out.values)
    for spec in schema.measured:
        if spec.required_when is not None:
            truth, _ = spec.required_when.evaluate(out.values)
            out.expected[spec.name] = truth
        else:
            out.expected[spec.name] = np.ones(size, dtype=bool)
    for rule in schema.rules:
        truth, judged = rule.condition.evaluate(out.values)
        if rule.when is not None:
            applies, _ = rule.when.evaluate(out.values)
            judged = judged & applies
        out.judged[rule.id] = judged
        out.violated[rule.id] = judged & ~truth
    for measure in schema.measures:
        if measure.when is not None:
            truth, judged = measure.when.evaluate(out.values)
        else:
            truth, judged = np.ones(size, dtype=bool), np.ones(size, dtype=bool)
        if measure.total is not None:
            amounts = out.values[measure.total].to_numpy(dtype=float)
            judged = judged & ~np.isnan(amounts)
            out.measure_value[measure.id] = np.where(truth & judged, amounts, 0.0)
        else:
            out.measure_value[measure.id] = truth.astype(float)
        out.measure_evaluable[measure.id] = judged
    return out


def _invalid_reason(spec: FieldSpec) -> str:
    if spec.kind is FieldKind.CODE:
        return f"valeur hors nomenclature ({', '.join(list(spec.values)[:8])})"
    if spec.minimum is not None or spec.maximum is not None:
        return f"{spec.kind.value} attendu entre {spec.minimum} et {spec.maximum}"
    return f"{spec.kind.value} illisible"
