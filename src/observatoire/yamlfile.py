"""Reading the YAML files people write (catalogue, descriptors, portrait and dashboard
settings): a syntax error names the file, the line and the column."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from observatoire.errors import InputError

__all__ = ["LineDict", "load_yaml"]


class LineDict(dict[Any, Any]):
    """A mapping read from YAML that remembers its line (``line``, 1-based), so that an error
    found later in its content can still name where it is."""

    line: int | None = None


def _loader() -> type:
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    def mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> Any:
        data = LineDict()
        data.line = node.start_mark.line + 1
        yield data
        data.update(loader.construct_mapping(node))

    Loader.add_constructor("tag:yaml.org,2002:map", mapping)
    return Loader


def load_yaml(
    text: str, origin: str | Path, what: str = "fichier YAML", *, located: bool = False
) -> Any:
    """The data of ``text`` (read from ``origin``), or an :class:`InputError` located there.

    >>> load_yaml("a: [1, 2]", "x.yaml")
    {'a': [1, 2]}
    >>> try:
    ...     load_yaml("a: [1, 2", "x.yaml", "réglages")
    ... except InputError as exc:
    ...     print(exc.path, exc.line, exc.column, exc.message.split(" (")[0])
    x.yaml 1 9 réglages illisible
    >>> load_yaml("a: 1\\nb:\\n  c: 2", "x.yaml", located=True)["b"].line
    3

    With ``located``, mappings are :class:`LineDict` (their line is known).
    """
    import yaml

    try:
        return yaml.load(text, Loader=_loader()) if located else yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        raise InputError(
            f"{what} illisible ({problem})",
            path=origin,
            line=mark.line + 1 if mark is not None else None,
            column=str(mark.column + 1) if mark is not None else None,
        ) from None
