"""What several benchmarks share: a median time, and the observatory measured (one given, else
the demo built in a temporary folder)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path

__all__ = ["demo_home", "timed"]


def timed(action: Callable[[], object], repeat: int) -> float:
    """The median time of ``repeat`` runs of ``action``, in seconds."""
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def demo_home(home: Path | None, folder: str) -> Path:
    """``home`` when given, else the demo observatory built in ``folder``."""
    if home is not None:
        return home
    from observatoire.demo import build_demo

    built = Path(folder) / "demo"
    print("Construction de la démo…")
    build_demo(built, echo=lambda _: None)
    return built
