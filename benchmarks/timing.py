"""What several benchmarks share: a median time, and the observatory measured (one given, else
the demo built in a temporary folder)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path

__all__ = ["DATA", "build_home", "demo_home", "timed"]

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


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


def build_home(home: Path, name: str, files: list[Path], *, compute: bool = False) -> None:
    """A home with the whole referential, the COG 2026 and ``files`` imported through the
    command line (a file whose rows are partly rejected is imported all the same), computed
    when ``compute``."""
    import subprocess
    import sys

    def cli(*args: str, check: bool = True) -> None:
        command = [sys.executable, "-m", "observatoire", "--home", str(home), *args]
        subprocess.run(command, check=check, stdout=subprocess.DEVNULL)

    cli("init", "--name", name)
    cli("geo", "import-cog", str(DATA / "cog" / "2026"))
    for path in files:
        cli("import", str(path), check=False)
    if compute:
        cli("compute")
