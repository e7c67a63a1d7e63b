"""Vocabularies: how the dimensions of a long file name the catalogue's variables.

A long file (France Travail's job-seekers by category × sex × age band, a Melodi cube of
households by type × PCS) stores one value per combination of its dimensions. The catalogue's
indicators read totals: ``francetravail.DEFM_A`` (category A, both sexes, every age),
``rp.C_MENPSEUL`` (one-person households). A vocabulary declares, for one family of files:

- its **dimensions**: the words that name each in a file's columns, the labels of each
  canonical value, the labels of the total (« Ensemble », « Total »), and the values that
  add up to the total when the file gives no total row (a *partition*: sexes, age bands);
- its **targets**: each catalogue variable and the value it takes on some dimensions; every
  other dimension is at its total (the file's total row, else the sum of a partition).

:func:`derive` says, for each target, level and period, which stored series make it (one: a
copy; several: a sum). A target whose dimensions the file cannot give (an unknown dimension of
several values, a category that is not a partition, a partition with a value missing) is not
derived, and the reason is said. Pure: no file, no database.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase

from observatoire.text import fold

__all__ = [
    "Derivation",
    "Dimension",
    "SeriesKey",
    "Vocabulary",
    "derive",
    "label_key",
    "parse_dims",
]


TOTAL_LABELS = frozenset({"ensemble", "total", "tous", "toutes", "_t", "tout", "ensemble des"})


def label_key(text: str) -> str:
    """A label as vocabularies compare it: folded, one space between words."""
    return " ".join(fold(str(text)).replace("’", "'").split())


@dataclass(frozen=True)
class Dimension:
    """One dimension: the column words naming it, its values' labels, its total's labels, the
    values that add up to the total."""

    key: str
    columns: tuple[str, ...]
    values: Mapping[str, frozenset[str]]
    total: frozenset[str] = frozenset()
    partition: tuple[str, ...] = ()

    def names(self, column: str) -> bool:
        folded = label_key(column)
        return any(word in folded for word in self.columns)

    def value_of(self, label: str) -> str | None:
        """The canonical value of a label (« total » for the total), or None."""
        folded = label_key(label)
        if folded in self.total:
            return "total"
        return next((v for v, labels in self.values.items() if folded in labels), None)


@dataclass(frozen=True)
class Vocabulary:
    """One family of files: the variables it applies to, its dimensions and targets."""

    name: str
    sources: tuple[str, ...]  # variable ids, or ``source.*``
    dimensions: tuple[Dimension, ...]
    targets: Mapping[str, Mapping[str, str]]  # target variable → {dimension: value}
    labels: Mapping[str, str] = field(default_factory=dict)
    kinds: Mapping[str, str] = field(default_factory=dict)  # target → count, amount…

    requires: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # target → dims
    # Read only the columns an import holds as additive counts (a rate or a change is never
    # summed); False when a dimension of the file says what is counted (Melodi's « mesure »).
    counts_only: bool = True

    def applies_to(self, variable: str) -> bool:
        """Whether the vocabulary reads ``variable`` (its sources are names or patterns:
        ``francetravail.NOMBRE*``)."""
        return any(fnmatchcase(variable, s) for s in self.sources)

    def dimension_of(self, column: str) -> Dimension | None:
        return next((d for d in self.dimensions if d.names(column)), None)


@dataclass(frozen=True)
class SeriesKey:
    id: int
    variable: str
    level: str
    period: str
    dims: str


@dataclass(frozen=True)
class Derivation:
    """A target's series at one level and period, made of ``sources`` (summed when several)."""

    target: str
    level: str
    period: str
    sources: tuple[int, ...]

    @property
    def summed(self) -> bool:
        return len(self.sources) > 1


def parse_dims(dims: str) -> dict[str, str]:
    """``"Catégorie=A|Sexe=F"`` → ``{"Catégorie": "A", "Sexe": "F"}``.

    >>> parse_dims("Catégorie=A|Sexe=F")
    {'Catégorie': 'A', 'Sexe': 'F'}
    """
    out = {}
    for part in dims.split("|") if dims else []:
        name, _, value = part.partition("=")
        out[name] = value
    return out


def derive(
    vocabulary: Vocabulary, series: Sequence[SeriesKey]
) -> tuple[list[Derivation], list[str]]:
    """The derivations the series allow, and why the targets that could not be derived were
    not (one sentence per reason).

    >>> sex = Dimension("sexe", ("sexe",), {"F": frozenset({"f"}), "H": frozenset({"h"})},
    ...                 partition=("F", "H"))
    >>> cat = Dimension("categorie", ("categorie",), {"A": frozenset({"a"}),
    ...                 "ABC": frozenset({"abc"})})
    >>> voc = Vocabulary("ft", ("francetravail.*",), (sex, cat),
    ...                  {"francetravail.DEFM_A": {"categorie": "A"},
    ...                   "francetravail.DEFM_A_F": {"categorie": "A", "sexe": "F"}})
    >>> pairs = [("A", "F"), ("A", "H"), ("ABC", "F"), ("ABC", "H")]
    >>> keys = [SeriesKey(i, "francetravail.NOMBRE", "commune", "2024-T4",
    ...                   f"Catégorie={c}|Sexe={s}") for i, (c, s) in enumerate(pairs)]
    >>> [(d.target, d.sources) for d in derive(voc, keys)[0]]
    [('francetravail.DEFM_A', (0, 1)), ('francetravail.DEFM_A_F', (0,))]
    """
    groups: dict[tuple[str, str, str], list[SeriesKey]] = {}
    for key in series:
        if key.dims and vocabulary.applies_to(key.variable):
            groups.setdefault((key.variable, key.level, key.period), []).append(key)
    made: dict[tuple[str, str, str], list[tuple[str, Derivation]]] = {}
    reasons: dict[str, None] = {}
    for (variable, level, period), keys in sorted(groups.items()):
        for target, wanted in vocabulary.targets.items():
            chosen, why = _choose(vocabulary, keys, wanted, vocabulary.requires.get(target, ()))
            if chosen:
                derivation = Derivation(target, level, period, tuple(k.id for k in chosen))
                made.setdefault((target, level, period), []).append((variable, derivation))
            elif why:
                reasons[f"{target} non dérivé de {variable} : {why}"] = None
    derivations = []
    for (target, _, _), found in made.items():
        if len(found) > 1:  # two columns of the file would make it: neither is chosen
            names = " et ".join(v for v, _ in found)
            reasons[f"{target} non dérivé : {names} le donneraient tous deux"] = None
        else:
            derivations.append(found[0][1])
    return derivations, list(reasons)


def _choose(vocabulary: Vocabulary, keys: list[SeriesKey], wanted: Mapping[str, str],
            requires: tuple[str, ...]) -> tuple[list[SeriesKey], str]:  # fmt: skip
    """The series making a target, or none and why."""
    parsed = [(k, parse_dims(k.dims)) for k in keys]
    columns = sorted({c for _, d in parsed for c in d})
    read: dict[str, Dimension] = {}
    for column in columns:
        dimension = vocabulary.dimension_of(column)
        values = {d.get(column) or "" for _, d in parsed}
        if dimension is None:
            if len(values) > 1:
                return [], f"dimension « {column} » inconnue du vocabulaire {vocabulary.name}"
            (value,) = values
            if label_key(value) not in TOTAL_LABELS:  # a file of one part only (« un an ou plus »)
                return [], f"toutes ses lignes sont « {column} = {value} », une partie seulement"
            continue
        read[column] = dimension
    missing = (set(wanted) | set(requires)) - {d.key for d in read.values()}
    if missing:
        return [], ""  # the file does not break this dimension down: not a fault
    keep = list(parsed)
    for column, dimension in read.items():
        present = {dimension.value_of(d.get(column, "")) for _, d in keep}
        if dimension.key in wanted:
            accepted = {wanted[dimension.key]}
        elif "total" in present:
            accepted = {"total"}
        elif dimension.partition and set(dimension.partition) <= present:
            accepted = set(dimension.partition)
        elif dimension.partition:
            lacking = sorted(set(dimension.partition) - present)
            return [], f"« {column} » sans total ni la valeur {', '.join(map(str, lacking))}"
        else:
            return [], f"« {column} » sans ligne de total (ses valeurs ne s'additionnent pas)"
        keep = [(k, d) for k, d in keep if dimension.value_of(d.get(column, "")) in accepted]
    return [k for k, _ in keep], ""
