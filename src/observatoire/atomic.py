"""Files written whole or not at all: the content goes to ``<name>.partiel`` beside the
target, which is then renamed over it (a rename is atomic on one file system), so a reader or
a process killed midway never sees half a file under the final name."""

from __future__ import annotations

import shutil
from pathlib import Path

__all__ = ["copy_whole", "write_whole"]


def _partial(target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    return target.with_name(target.name + ".partiel")


def write_whole(target: Path, body: bytes | str) -> Path:
    """``body`` (text is written as UTF-8) into ``target``, whole or not at all.

    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> write_whole(folder / "a.txt", "é").read_text(encoding="utf-8")
    'é'
    >>> [p.name for p in folder.iterdir()]  # nothing left beside it
    ['a.txt']
    """
    partial = _partial(target)
    partial.write_bytes(body.encode("utf-8") if isinstance(body, str) else body)
    partial.replace(target)
    return target


def copy_whole(source: Path, target: Path) -> Path:
    """A copy of ``source`` as ``target``, whole or not at all (read by blocks)."""
    partial = _partial(target)
    shutil.copyfile(source, partial)
    partial.replace(target)
    return target
