"""Reading the vocabularies (:mod:`observatoire.catalog.vocabulary`): those shipped in
``observatoire/data/vocabularies`` and the observatory's own (``vocabulaires/*.yaml`` in its
folder), and applying them to an import's series.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from observatoire.catalog.vocabulary import (
    Derivation,
    Dimension,
    SeriesKey,
    Vocabulary,
    derive,
    label_key,
)
from observatoire.errors import InputError
from observatoire.yamlfile import check_keys, load_yaml

__all__ = ["OWN_VOCABULARIES", "derivations", "load_vocabularies"]

OWN_VOCABULARIES = "vocabulaires"
_TOP = ("name", "sources", "dimensions", "targets", "counts_only")
_DIMENSION = ("columns", "values", "total", "partition")
_TARGET = ("where", "label", "kind", "requires")


def _folded(labels: Any) -> frozenset[str]:
    return frozenset(label_key(str(x)) for x in labels or [])


def read_vocabulary(text: str, origin: str) -> Vocabulary:
    """One vocabulary file (see the shipped ones for the form)."""
    data = load_yaml(text, origin, "vocabulaire")
    if not isinstance(data, dict):
        raise InputError("vocabulaire : une table (name, sources, dimensions, targets) attendue",
                         path=origin)  # fmt: skip
    check_keys(data, _TOP, "clé inconnue « {first} » ; possibles : {allowed}", path=origin)
    dimensions = []
    for key, spec in (data.get("dimensions") or {}).items():
        check_keys(spec, _DIMENSION, f"dimension {key} : clé inconnue « {{first}} »", path=origin)
        values = {str(v): _folded(labels) for v, labels in (spec.get("values") or {}).items()}
        partition = tuple(str(v) for v in spec.get("partition") or ())
        unknown = [v for v in partition if v not in values]
        if unknown:
            raise InputError(f"dimension {key} : partition « {unknown[0]} » absente de values",
                             path=origin)  # fmt: skip
        dimensions.append(Dimension(str(key), tuple(_folded(spec.get("columns"))), values,
                                    _folded(spec.get("total")), partition))  # fmt: skip
    targets, labels, kinds, requires = {}, {}, {}, {}
    known = {d.key: d for d in dimensions}
    for target, spec in (data.get("targets") or {}).items():
        check_keys(spec, _TARGET, f"cible {target} : clé inconnue « {{first}} »", path=origin)
        where = {str(k): str(v) for k, v in (spec.get("where") or {}).items()}
        for key, value in where.items():
            if key not in known or value not in known[key].values:
                raise InputError(f"cible {target} : {key}={value} inconnu des dimensions",
                                 path=origin)  # fmt: skip
        targets[str(target)] = where
        labels[str(target)] = str(spec.get("label") or target)
        kinds[str(target)] = str(spec.get("kind") or "count")
        requires[str(target)] = tuple(str(d) for d in spec.get("requires") or ())
        unknown = [d for d in requires[str(target)] if d not in known]
        if unknown:
            raise InputError(f"cible {target} : requires « {unknown[0]} » n'est pas une dimension",
                             path=origin)  # fmt: skip
    return Vocabulary(str(data.get("name") or Path(origin).stem),
                      tuple(str(s) for s in data.get("sources") or ()), tuple(dimensions),
                      targets, labels, kinds, requires,
                      bool(data.get("counts_only", True)))  # fmt: skip


def load_vocabularies(home: Path | None = None) -> list[Vocabulary]:
    """The shipped vocabularies, then the observatory's own."""
    out = []
    shipped = resources.files("observatoire") / "data" / "vocabularies"
    for entry in sorted(shipped.iterdir(), key=lambda e: e.name):
        if entry.name.endswith((".yaml", ".yml")):
            out.append(read_vocabulary(entry.read_text(encoding="utf-8"),
                                       f"observatoire/data/vocabularies/{entry.name}"))  # fmt: skip
    if home is not None and (home / OWN_VOCABULARIES).is_dir():
        for path in sorted((home / OWN_VOCABULARIES).glob("*.y*ml")):
            out.append(read_vocabulary(path.read_text(encoding="utf-8"), str(path)))
    return out


def derivations(vocabularies: list[Vocabulary], series: list[SeriesKey], counts: set[str]
                ) -> tuple[list[tuple[Vocabulary, Derivation]], list[str]]:  # fmt: skip
    """Every derivation the vocabularies make of an import's series, and the reasons some
    targets were not derived. ``counts``: the import's additive variables (a vocabulary that
    reads counts only reads those)."""
    found, notes = [], []
    for vocabulary in vocabularies:
        usable = [k for k in series if not vocabulary.counts_only or k.variable in counts]
        made, why = derive(vocabulary, usable)
        found += [(vocabulary, d) for d in made]
        notes += why
    return found, notes
