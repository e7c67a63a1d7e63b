"""An import killed with SIGKILL at any moment leaves the home as it was, or fully imported."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from observatoire.observatory import Observatory

from .conftest import IRIS_CONTOURS_93, IRIS_REFERENCE, needs_data

pytestmark = needs_data


def _state(home: Path) -> tuple[int, int, int]:
    with Observatory.open(home) as obs:
        wh = obs.warehouse
        return (
            wh.count("territory", "level = 'iris'"),
            wh.count("territory_parent", "level = 'iris'"),
            wh.count("territory_geometry", "level = 'iris'"),
        )


@pytest.mark.parametrize("delay", [0.8, 2.5, 4.0])
def test_kill_9_during_iris_import(home: Path, tmp_path: Path, delay: float) -> None:
    # Start from a home without IRIS, so that a half-written import would show.
    with Observatory.open(home, write=True) as obs, obs.warehouse.transaction() as tx:
        for table in ("territory", "territory_parent", "territory_geometry"):
            tx.execute(f"DELETE FROM {table} WHERE level = 'iris'")
    empty = _state(home)
    assert empty == (0, 0, 0)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "observatoire",
            "--home",
            str(home),
            "geo",
            "import-iris",
            str(IRIS_REFERENCE),
            str(IRIS_CONTOURS_93),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(delay)
    if process.poll() is None:
        os.kill(process.pid, signal.SIGKILL)
    process.wait()
    after = _state(home)
    assert after == empty or (after[0] == 49406 and after[2] == 614 and after[1] > 49406), after
