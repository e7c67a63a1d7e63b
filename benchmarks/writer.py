"""The writer of a load benchmark: ``observatoire`` commands that import a small synthetic
CNAF file (a new edition), compute, roll the import back and compute again, in a loop, each
command a subprocess as an analyst would run it beside the server."""

from __future__ import annotations

import asyncio
import json
import random
import sys
import tempfile
import time
from collections import defaultdict
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["EDITION", "Writes", "writer"]

EDITION = "2031"  # the synthetic CNAF edition imported and rolled back
CNAF_COLUMNS = ("PERCOU", "AAL", "AAPL", "AAAH", "APPA", "ARSAS", "A_ETUD")


@dataclass
class Writes:
    """The writer's work: cycles done, seconds per step, failures, the command running now."""

    cycles: int = 0
    seconds: defaultdict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    failures: list[str] = field(default_factory=list)
    running: int | None = None  # pid of the command under way (its CPU is counted live)


def synthetic_cnaf(folder: Path, communes: dict[str, str], seed: int) -> Path:
    """A CNAF file by commune in its native layout (recognised without configuration), with new
    random counts every time (the same file twice would be a no-op import)."""
    rng = random.Random(seed)
    lines = [";".join(("CODGEO", "LIBGEO", "A", *CNAF_COLUMNS))]
    for code, name in communes.items():
        a = rng.randint(3_000, 20_000)
        counts = [round(a * rng.uniform(0.01, 0.6)) for _ in CNAF_COLUMNS]
        counts[0] = round(a * rng.uniform(2.2, 2.9))  # PERCOU: people covered
        lines.append(";".join((code, name, str(a), *map(str, counts))))
    path = folder / f"donnees_SYNTHETIQUES_CAF_{EDITION}_COM.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


async def command(home: Path, env: dict[str, str], writes: Writes, step: str, *args: str) -> str:
    """Run ``observatoire --home HOME ARGS`` and return its output; a failure is recorded
    and raised as RuntimeError."""
    begin = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "observatoire", "--home", str(home), *args),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    writes.running = process.pid
    out, err = await process.communicate()
    writes.running = None
    if process.returncode != 0:
        said = (err or out).decode(errors="replace").strip().splitlines() or ["(nothing)"]
        writes.failures.append(f"{step}, exit {process.returncode}: {said[-1][:200]}")
        raise RuntimeError(step)
    writes.seconds[step].append(time.perf_counter() - begin)
    return out.decode()


async def writer(
    home: Path, env: dict[str, str], communes: dict[str, str], seconds: float, writes: Writes
) -> None:
    """Import, compute, roll back, compute again, until ``seconds`` have passed (the cycle
    under way ends: the base is left as it was found)."""
    stop = time.monotonic() + seconds
    with tempfile.TemporaryDirectory() as folder:
        while time.monotonic() < stop:
            file = synthetic_cnaf(Path(folder), communes, seed=time.time_ns())
            try:
                report = await command(home, env, writes, "import", "import", str(file),
                                       "--format", "json")  # fmt: skip
            except RuntimeError:
                await asyncio.sleep(1)  # refused: try again, without spinning
                continue
            done = json.loads(report)[0]
            if done["unchanged"]:  # the same file already imported: nothing to roll back
                writes.failures.append(f"import: {file.name} unchanged (batch {done['batch']})")
                continue
            batch = done["batch"]
            with suppress(RuntimeError):  # recorded; the rollback still undoes the import
                await command(home, env, writes, "compute", "compute")
            try:
                await command(home, env, writes, "rollback", "imports", "rollback", str(batch))
                # a rollback deletes the values computed from its variables (every period):
                # computed again, the base is as it began
                await command(home, env, writes, "recompute", "compute")
                writes.cycles += 1
            except RuntimeError:
                await asyncio.sleep(1)
