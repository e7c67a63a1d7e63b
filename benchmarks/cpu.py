"""Who used the CPU during a benchmark: a process tree, the whole machine (Linux ``/proc``).

Deltas of these cumulative seconds over a wall-clock interval give the cores used."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["machine_busy", "processes", "tree_seconds"]

TICK = os.sysconf("SC_CLK_TCK")


def processes() -> dict[int, tuple[int, float]]:
    """pid → (parent, CPU seconds of it and of its reaped children) of every process."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            text = (entry / "stat").read_text()
        except OSError:
            continue  # ended meanwhile
        fields = text[text.rindex(")") + 2 :].split()  # from field 3 (state) on
        found[int(entry.name)] = (int(fields[1]), sum(map(int, fields[11:15])) / TICK)
    return found


def tree_seconds(root: int | None, table: dict[int, tuple[int, float]]) -> float:
    """CPU seconds of ``root`` and its descendants (utime, stime and those of reaped children)."""
    if root is None or root not in table:
        return 0.0
    tree, grown = {root}, True
    while grown:
        more = {pid for pid, (parent, _) in table.items() if parent in tree} - tree
        tree |= more
        grown = bool(more)
    return sum(table[pid][1] for pid in tree)


def machine_busy() -> float:
    """CPU seconds the whole machine spent busy since boot (every core)."""
    ticks = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    idle = ticks[3] + ticks[4]  # idle, iowait
    return (sum(ticks[:8]) - idle) / TICK  # guest time is already in user
