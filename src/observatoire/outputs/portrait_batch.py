"""Writing portraits to files: one, or every territory of a level in one run (the reads they
share are made once), each file written whole or not at all."""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

from observatoire.atomic import write_whole
from observatoire.outputs.portrait import Portrait, PortraitConfig, SharedReads, build_portrait
from observatoire.outputs.portrait_render import FORMATS, html_to_pdf, render_html, render_portrait
from observatoire.secret.policy import PUBLIC, ReadPolicy
from observatoire.text import slug

if TYPE_CHECKING:
    from observatoire.outputs.source import Source

__all__ = ["portrait_file_name", "write_portraits"]


def portrait_file_name(level: str, code: str, name: str, fmt: str) -> str:
    """« portrait_commune_93066_saint-denis.pdf ».

    >>> portrait_file_name("commune", "93066", "Saint-Denis", "pdf")
    'portrait_commune_93066_saint-denis.pdf'
    """
    return f"portrait_{level}_{code}_{slug(name, ascii_only=True)}{FORMATS[fmt]}"


def write_portraits(
    obs: Source,
    territories: Sequence[str],
    fmt: str,
    output: Path,
    *,
    level: str | None = None,
    reader: ReadPolicy = PUBLIC,
    single: bool = False,
    on_done: Callable[[Path, Mapping[str, object]], None] = lambda _path, _card: None,
    workers: int | None = None,
) -> list[Path]:
    """The portraits of ``territories`` in format ``fmt``: into the file ``output`` when
    ``single``, else into the folder ``output`` (named by :func:`portrait_file_name`).

    Several PDFs are laid out by ``workers`` processes (default: one per core) while this
    process reads the figures of the next portraits. ``on_done`` is told of each file written
    and the territory card of its portrait (level, code, name)."""
    config = PortraitConfig.load(obs.home.path)
    memo = SharedReads()
    if not single:
        output.mkdir(parents=True, exist_ok=True)

    def target_of(portrait: Portrait) -> Path:
        card = portrait.territory
        name = portrait_file_name(str(card["level"]), str(card["code"]), str(card["name"]), fmt)
        return output if single else output / name

    def build(territory: str) -> Portrait:
        return build_portrait(obs, territory, level=level, reader=reader, config=config, memo=memo)

    count = workers if workers is not None else (os.cpu_count() or 1)
    if fmt != "pdf" or len(territories) < 2 or count < 2:
        written = []
        for territory in territories:
            portrait = build(territory)
            written.append(
                write_whole(target_of(portrait), render_portrait(portrait, fmt, home=obs.home.path))
            )
            on_done(written[-1], portrait.territory)
        return written
    context = multiprocessing.get_context("spawn")  # no fork of a process holding the base
    written = []
    with ProcessPoolExecutor(max_workers=count, mp_context=context) as pool:
        pending: deque[tuple[Path, Mapping[str, object], Future[bytes]]] = deque()

        def finish(wait: bool) -> None:
            """Write the oldest PDFs laid out (in order): all of them when ``wait``, and never
            let more than 4 a worker wait (the workers behind: the oldest is waited for)."""
            while pending and (wait or len(pending) >= 4 * count or pending[0][2].done()):
                target, card, future = pending.popleft()
                written.append(write_whole(target, future.result()))
                on_done(written[-1], card)

        for territory in territories:
            portrait = build(territory)
            html = render_html(portrait, home=obs.home.path)
            pending.append(
                (target_of(portrait), portrait.territory, pool.submit(html_to_pdf, html))
            )
            finish(wait=False)  # each portrait written (and told) as soon as it is laid out
        finish(wait=True)
    return written
