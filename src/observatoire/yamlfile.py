"""Reading the YAML files people write (catalogue, descriptors, portrait and dashboard
settings): a syntax error names the file, the line and the column."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from observatoire.errors import InputError

__all__ = ["load_yaml"]


def load_yaml(text: str, origin: str | Path, what: str = "fichier YAML") -> Any:
    """The data of ``text`` (read from ``origin``), or an :class:`InputError` located there.

    >>> load_yaml("a: [1, 2]", "x.yaml")
    {'a': [1, 2]}
    >>> try:
    ...     load_yaml("a: [1, 2", "x.yaml", "réglages")
    ... except InputError as exc:
    ...     print(exc.path, exc.line, exc.column, exc.message.split(" (")[0])
    x.yaml 1 9 réglages illisible
    """
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        raise InputError(
            f"{what} illisible ({problem})",
            path=origin,
            line=mark.line + 1 if mark is not None else None,
            column=str(mark.column + 1) if mark is not None else None,
        ) from None
