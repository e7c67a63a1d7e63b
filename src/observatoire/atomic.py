"""Files written whole or not at all: the content goes to ``<name>.partiel`` beside the
target, which is then renamed over it (a rename is atomic on one file system), so a reader or
a process killed midway never sees half a file under the final name.

:func:`writing` gives that partial path to a library that writes to a path itself (a figure,
a workbook); :func:`write_whole` and :func:`copy_whole` are its two usual cases.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["copy_whole", "write_whole", "writing"]


@contextmanager
def writing(target: Path) -> Iterator[Path]:
    """The path to write ``target`` to: ``<name>.partiel`` beside it (its folder created),
    renamed over ``target`` when the block ends, removed if the block fails.

    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> with writing(folder / "carte.svg") as partial:
    ...     _ = partial.write_text("<svg/>")
    >>> try:
    ...     with writing(folder / "b.txt") as partial:
    ...         _ = partial.write_text("début")
    ...         raise OSError("disque plein")
    ... except OSError:
    ...     pass
    >>> [p.name for p in folder.iterdir()]  # nothing else beside it
    ['carte.svg']
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partiel")
    try:
        yield partial
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    partial.replace(target)


def write_whole(target: Path, body: bytes | str) -> Path:
    """``body`` (text is written as UTF-8) into ``target``, whole or not at all.

    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> write_whole(folder / "a.txt", "é").read_text(encoding="utf-8")
    'é'
    >>> [p.name for p in folder.iterdir()]  # nothing left beside it
    ['a.txt']
    """
    with writing(target) as partial:
        partial.write_bytes(body.encode("utf-8") if isinstance(body, str) else body)
    return target


def copy_whole(source: Path, target: Path) -> Path:
    """A copy of ``source`` as ``target``, whole or not at all (read by blocks)."""
    with writing(target) as partial:
        shutil.copyfile(source, partial)
    return target
