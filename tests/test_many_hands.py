"""One observatory, many hands: the command line reads and writes while ``serve`` runs.

On the embedded engine (DuckDB), two servers (one process, and ``--workers 2``) serve the
home of Seine-Saint-Denis while 20 command-line reads and 5 command-line writes run at once;
every answer is checked against pandas over the producer's file, and the servers see the
writes at their next request, without a restart.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pandas as pd
import pytest

from observatoire.store import generations

from .conftest import DATA, serving

FILOSOFI = DATA / "filosofi"
PASSWORD = "un mot de passe assez long"
# Saint-Denis and Pierrefitte-sur-Seine merged on 1 January 2025 (COG 2026: 93066): a median
# does not add up, the merged commune has none and Pierrefitte no longer exists.
MERGED = {"93066", "93059"}


def _cut(source: Path, target: Path) -> dict[str, float]:
    """The communes of the 93 of a Filosofi communal file, and their median (pandas) where
    the commune is the same in the geography of 2026."""
    frame = pd.read_csv(source, sep=";", dtype=str, encoding="utf-8-sig")
    frame = frame[frame.CODGEO.str.startswith("93")]
    frame.to_csv(target, sep=";", index=False, encoding="utf-8")
    median = next(c for c in frame.columns if c.startswith("Q2"))
    values = frame.set_index("CODGEO")[median].dropna().str.replace(",", ".").astype(float)
    return {code: value for code, value in values.items() if code not in MERGED}


def _cli(home: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "observatoire", "--home", str(home), *args],
        capture_output=True,
        text=True,
        input=stdin,
        timeout=600,
        env={**os.environ, "COLUMNS": "200"},
    )


def _read_values(home: Path, period: str) -> dict[str, float]:
    done = _cli(home, "values", "niveau_vie_median", "--level", "commune", "--within", "93",
                "--period", period, "--format", "json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    return {row["code"]: row["value"] for row in rows if row["value"] is not None}


def _api_values(base: str, period: str) -> dict[str, float]:
    answer = httpx.get(
        f"{base}/api/v1/indicators/niveau_vie_median/values",
        params={"level": "commune", "within": "93", "period": period},
        timeout=60,
    )
    assert answer.status_code == 200, answer.text
    rows = answer.json()["rows"]
    return {row["code"]: row["value"] for row in rows if row["value"] is not None}


@pytest.mark.slow
def test_the_command_line_reads_and_writes_while_two_servers_serve(
    home93: Path, tmp_path: Path
) -> None:
    medians19 = _cut(FILOSOFI / "FILO2019_DISP_COM.csv", tmp_path / "filo19_93.csv")
    medians16 = _cut(FILOSOFI / "FILO2016_DISP_COM.csv", tmp_path / "filo16_93.csv")
    assert len(medians19) >= 30 and len(medians16) >= 30
    assert _cli(home93, "import", str(tmp_path / "filo19_93.csv")).returncode == 0
    assert _cli(home93, "compute", "--indicator", "niveau_vie_median").returncode == 0
    study = tmp_path / "etude.txt"
    study.write_text("Les familles à l'hôtel en Seine-Saint-Denis.\n", encoding="utf-8")

    with (
        serving(home93, tmp_path / "one.log") as one,
        serving(home93, tmp_path / "two.log", "--workers", "2") as two,
    ):
        assert _api_values(one, "2019") == pytest.approx(medians19)
        assert _api_values(two, "2019") == pytest.approx(medians19)
        seen: list[str] = []
        stop = threading.Event()

        def browse() -> None:  # the servers answer all along, one data version each time
            while not stop.is_set():
                for base in (one, two):
                    got = _api_values(base, "2019")
                    assert got == pytest.approx(medians19)
                    seen.append(base)

        writes = [
            ("import", str(tmp_path / "filo16_93.csv")),
            ("compute", "--indicator", "niveau_vie_median"),
            ("users", "create", "analyste@cd93.fr", "--role", "analyst", "--password-stdin"),
            ("documents", "add", str(study), "--titre", "Familles à l'hôtel", "--acces", "public"),
            ("partners", "add", "cpam93", "--name", "CPAM de la Seine-Saint-Denis"),
        ]
        with ThreadPoolExecutor(max_workers=8) as pool:
            watcher = pool.submit(browse)
            reads = [pool.submit(_read_values, home93, "2019") for _ in range(20)]
            password = f"{PASSWORD}\n{PASSWORD}\n"
            done = [
                pool.submit(_cli, home93, *args, stdin=password if args[0] == "users" else None)
                for args in writes
            ]
            for read in reads:
                assert read.result() == pytest.approx(medians19)
            for args, future in zip(writes, done, strict=True):
                result = future.result()
                assert result.returncode == 0, (args, result.stdout, result.stderr)
            stop.set()
            watcher.result()
        assert len(seen) >= 2
        # the 2016 values, imported while serving, computed once all writes are in
        assert _cli(home93, "compute", "--indicator", "niveau_vie_median").returncode == 0
        assert _read_values(home93, "2016") == pytest.approx(medians16)
        for base in (one, two):  # no restart: the next request sees the writes
            for _ in range(4):  # every worker of the second server
                assert _api_values(base, "2016") == pytest.approx(medians16)
                assert _api_values(base, "2019") == pytest.approx(medians19)
            listed = httpx.get(f"{base}/api/v1/documents", timeout=30).json()
            assert any(d["titre"] == "Familles à l'hôtel" for d in listed["rows"]), listed
    users = _cli(home93, "users", "list")
    assert "analyste@cd93.fr" in users.stdout, users.stdout
    # one published generation left, no copy of a write behind
    current = generations.current(home93 / "entrepot.duckdb")
    assert current is not None
    strays = [p.name for p in home93.iterdir() if p.name.startswith("entrepot.")]
    assert sorted(strays) == sorted(["entrepot.duckdb", current.name]), strays
    partners = _cli(home93, "partners", "list")
    assert "cpam93" in partners.stdout, partners.stdout
