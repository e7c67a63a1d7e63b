"""The files of the embedded warehouse: immutable generations behind one link, one writer.

DuckDB lets one process open a file read-write, and then no other process may even read it.
The embedded warehouse is therefore a series of files that are never changed once published
("generations"): ``entrepot.duckdb`` is a symbolic link to the current one
(``entrepot.000042-5c1e.duckdb``), which any number of processes read, read-only. A writer
takes the home's write lock (:class:`WriteLock`), copies the current generation to a new file
(:func:`start`), writes its transaction there, checkpoints and closes it, then swaps the link
(:func:`publish`, one ``rename``: atomic). A reader sees the old generation or the new one,
never a mix; a writer killed at any moment leaves the link on the old one, and its copy is
swept by the next writer.

A home made before generations has a plain file ``entrepot.duckdb``: it is generation 0, read
as it is, and replaced by a link at the first write.

This module handles files only (no DuckDB): see :mod:`observatoire.store.duckdb`.
"""

from __future__ import annotations

import fcntl
import os
import re
import secrets
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from observatoire.errors import HomeError

__all__ = [
    "WriteLock",
    "check_published",
    "current",
    "discard",
    "number",
    "open_current",
    "orphans",
    "publish",
    "start",
]

# How long a reader retries when the generation it resolved is swept before it opens it.
_OPEN_ATTEMPTS = 20


def _pattern(link: Path) -> re.Pattern[str]:
    """A generation's file, its journal (``.wal``) or its spill folder (``.tmp``)."""
    stem, suffix = link.stem, link.suffix
    return re.compile(rf"^{re.escape(stem)}\.(\d+)-[0-9a-f]+{re.escape(suffix)}(\.wal|\.tmp)?$")


def orphans(link: Path) -> list[Path]:
    """Generation files present while the link is missing (removed by hand, or not copied
    by a copy tool), newest first: the data is there, the link to it is not."""
    pattern = _pattern(link)
    found = [p for p in link.parent.iterdir() if (m := pattern.match(p.name)) and not m.group(2)]
    return sorted(found, key=lambda p: number(link, p), reverse=True)


def check_published(link: Path) -> None:
    """Refuse a home whose data cannot be read safely: generations without their link (a new
    base would be created beside them, and they swept), or a base from before generations
    with a journal not yet merged (its last writes are in ``.wal`` only)."""
    if current(link) is None:
        found = orphans(link)
        if found:
            raise HomeError(
                f"le lien {link.name} manque dans {link.parent}, mais la base est là "
                f"({found[0].name}) : recréez le lien (cd {link.parent} && ln -s "
                f"{found[0].name} {link.name}) ; rien n'a été modifié"
            )
    elif not link.is_symlink() and link.with_name(link.name + ".wal").exists():
        raise HomeError(
            f"la base {link} a un journal en attente ({link.name}.wal) : une version "
            "précédente d'observatoire l'écrit peut-être ; arrêtez-la, puis lancez "
            "« observatoire init », qui l'intègre ; rien n'a été modifié"
        )


def current(link: Path) -> Path | None:
    """The file of the published generation: the link's target, or the plain file of a home
    made before generations; None when nothing is published yet."""
    try:
        target = os.readlink(link)
    except FileNotFoundError:
        return None
    except OSError:  # not a link: a plain file (generation 0)
        return link if link.exists() else None
    return link.parent / target


def number(link: Path, file: Path) -> int:
    """The generation number of ``file`` (0 for a plain file)."""
    found = _pattern(link).match(file.name)
    return int(found.group(1)) if found else 0


@contextmanager
def open_current(link: Path) -> Iterator[BinaryIO]:
    """The published generation opened for reading (a consistent snapshot: a published file
    never changes; once opened, it stays readable even if a writer publishes a newer one)."""
    check_published(link)
    for _ in range(_OPEN_ATTEMPTS):
        file = current(link)
        if file is None:
            raise HomeError(f"base introuvable : {link} (lancez « observatoire init »)")
        try:
            handle = file.open("rb")
        except FileNotFoundError:  # swept between the link's reading and the opening
            continue
        with handle:
            yield handle
        return
    raise HomeError(f"impossible de lire la base {link} : elle change sans cesse")


class WriteLock:
    """The home's write lock: one writer at a time, whatever the process (``flock``, freed by
    the system when its holder ends, even killed). Who holds it is written in the lock file,
    so that a writer kept waiting can say for whom."""

    def __init__(self, link: Path, on_wait: Callable[[str], None] | None = None) -> None:
        self.file = link.with_name(f".{link.name}.verrou")
        self.on_wait = on_wait
        self._fd: int | None = None

    def acquire(self, timeout: float | None = None) -> None:
        """Wait for the lock (for ever when ``timeout`` is None); a :class:`HomeError` when
        ``timeout`` seconds pass."""
        try:
            fd = os.open(self.file, os.O_RDWR | os.O_CREAT, 0o600)
        except PermissionError:
            raise HomeError(
                f"impossible d'écrire dans l'observatoire : le verrou {self.file} appartient à "
                "un autre compte (lancez la commande avec le compte qui fait tourner "
                "l'observatoire)"
            ) from None
        deadline = None if timeout is None else time.monotonic() + timeout
        told = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not told and self.on_wait is not None:
                    self.on_wait(f"en attente : {self.holder()}")
                    told = True
                if deadline is not None and time.monotonic() > deadline:
                    os.close(fd)
                    raise HomeError(f"base occupée : {self.holder()} ; réessayez") from None
                time.sleep(0.05)
        os.ftruncate(fd, 0)
        since = datetime.now().strftime("%H:%M:%S")
        command = " ".join(os.path.basename(a) if i == 0 else a for i, a in enumerate(sys.argv))
        os.pwrite(fd, f"{os.getpid()} {since} {command[:200]}".encode(), 0)
        self._fd = fd

    def holder(self) -> str:
        """Who writes, as the lock file says (``pid time command``)."""
        try:
            text = self.file.read_text(encoding="utf-8", errors="replace").strip()
        except OSError:
            text = ""
        pid, _, rest = text.partition(" ")
        since, _, command = rest.partition(" ")
        if not pid:
            return "un autre processus écrit dans l'observatoire"
        return f"le processus {pid} écrit dans l'observatoire depuis {since} ({command})"

    def release(self) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> WriteLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def start(link: Path) -> Path:
    """A new generation for the holder of the write lock: the current one copied (nothing
    when none is published), after sweeping what killed writers left behind."""
    check_published(link)
    published = current(link)
    pattern = _pattern(link)
    keep = {published.name + end for end in ("", ".wal", ".tmp")} if published else set()
    staged = re.compile(rf"^\.{re.escape(link.name)}\.[0-9a-f]{{8}}$")  # a link never swapped
    for stray in link.parent.iterdir():
        if staged.match(stray.name):
            stray.unlink(missing_ok=True)
        elif pattern.match(stray.name) and stray.name not in keep:
            if stray.is_dir() and not stray.is_symlink():
                shutil.rmtree(stray, ignore_errors=True)
            else:
                stray.unlink(missing_ok=True)
    following = (number(link, published) if published else 0) + 1
    file = link.with_name(f"{link.stem}.{following:06d}-{secrets.token_hex(2)}{link.suffix}")
    if published is not None:
        shutil.copyfile(published, file)
    return file


def publish(link: Path, file: Path) -> None:
    """Make ``file`` (closed, checkpointed) the current generation: its content flushed, the
    link swapped in one rename, the previous generation removed (a process reading it keeps
    it open until it lets it go)."""
    previous = current(link)
    with file.open("rb") as handle:
        os.fsync(handle.fileno())
    staged = link.with_name(f".{link.name}.{secrets.token_hex(4)}")
    os.symlink(file.name, staged)
    os.replace(staged, link)
    directory = os.open(link.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
    if previous is not None and previous != link and previous != file:
        previous.unlink(missing_ok=True)


def discard(file: Path) -> None:
    """Remove a generation that will not be published (its write failed or rolled back)."""
    file.unlink(missing_ok=True)
    file.with_name(file.name + ".wal").unlink(missing_ok=True)
    shutil.rmtree(file.with_name(file.name + ".tmp"), ignore_errors=True)
