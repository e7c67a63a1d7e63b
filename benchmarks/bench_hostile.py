"""Benchmark: what hostile files and uploads cost the server (issue 18, item 4).

1. An XLSX bomb (20 million cells in under 1 MB) and a zip bomb of the same kind are refused
   before they are read. Baselines, in the same run: the zip bomb's refusal, and openpyxl
   reading the first 20 000 cells of the XLSX bomb (what the import did before the check; the
   audit measured 107 s of CPU and 500 MB for a 443 KB one). Target: the XLSX refused in well
   under a second.
2. A file whose second line is 1 GB long: refused after a few MB of reading. Baseline: hashing
   the whole file (what any import does first). Target: refused in under a tenth of that.
3. A real server (``observatoire serve``) receives a 600 MB deposit with a 512 MB limit. While
   it streams in, the bytes written under the home and the system's temporary folder are
   polled. Baseline: the limit. Target: at most the limit written at peak (the audit measured
   600 MB written, 725 MB at peak), and the server answering right after.

    python benchmarks/bench_hostile.py
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path

import httpx
from serving import start

from observatoire.errors import FileFormatError
from observatoire.ingest.archives import check_archive
from observatoire.ingest.batch import file_digest
from observatoire.ingest.tables import read_table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.corpus.fabrique import long_line as make_long_line  # noqa: E402
from tests.corpus.fabrique import xlsx_cells  # noqa: E402

MIB = 1024**2


def _timed(action: object) -> tuple[float, str]:
    begin = time.perf_counter()
    try:
        action()  # type: ignore[operator]
        outcome = "accepté"
    except FileFormatError as refused:
        outcome = refused.message[:70]
    return time.perf_counter() - begin, outcome


def bombs(folder: Path) -> None:
    bomb = folder / "bombe.xlsx"
    xlsx_cells(bomb, 200_000, 100, level=9)
    data = bomb.read_bytes()
    zipped = folder / "bombe.zip"
    with (
        zipfile.ZipFile(zipped, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive,
        archive.open("donnees.csv", "w", force_zip64=True) as out,
    ):
        row = b"93001;1\n" * (MIB // 8)
        for _ in range(320):
            out.write(row)
    xlsx_time, xlsx_said = _timed(lambda: read_table(bomb))
    zip_time, zip_said = _timed(lambda: check_archive(zipped))
    noisy = folder / "cellules.xlsx"  # the same sheet, its archive's ratio brought under 200
    xlsx_cells(noisy, 200_000, 100, noise=3 * MIB)
    cells_time, cells_said = _timed(lambda: read_table(noisy))
    import openpyxl

    begin = time.perf_counter()
    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    seen = 0
    for row in book.worksheets[0].iter_rows(values_only=True):
        seen += len(row)
        if seen >= 20_000:
            break
    book.close()
    sample = time.perf_counter() - begin
    print(f"Bombe XLSX ({len(data) / 1e6:.2f} Mo, 20 M cellules) : refusée en "
          f"{xlsx_time * 1e3:.0f} ms — {xlsx_said}")  # fmt: skip
    print(f"Bombe XLSX sous le taux d'une bombe zip ({noisy.stat().st_size / 1e6:.1f} Mo) : "
          f"refusée en {cells_time * 1e3:.0f} ms (cellules comptées) — {cells_said}")  # fmt: skip
    print(f"Bombe zip ({zipped.stat().st_size / 1e6:.2f} Mo) : refusée en {zip_time * 1e3:.1f} ms "
          f"— {zip_said}")  # fmt: skip
    print(f"  rapport XLSX / zip : {xlsx_time / zip_time:.1f} × (le classeur est lu du disque)")
    print(f"Référence : openpyxl lit les {seen} premières cellules (sur 20 M) en {sample:.1f} s, "
          f"{sample / xlsx_time:.0f} × le temps du refus")  # fmt: skip


def long_line(folder: Path) -> None:
    path = make_long_line(folder / "ligne_1_go.csv")
    refused, said = _timed(lambda: read_table(path, expect=("CODGEO",)))
    begin = time.perf_counter()
    file_digest(path)
    digest = time.perf_counter() - begin
    print(f"Ligne de 1 Go : refusée en {refused * 1e3:.0f} ms — {said}")
    print(f"  référence, empreinte SHA-256 du fichier : {digest * 1e3:.0f} ms ; rapport "
          f"{refused / digest:.3f} (cible < 0,1)")
    path.unlink()


def _size(*folders: Path) -> int:
    total = 0
    for folder in folders:
        for root, _, files in os.walk(folder):
            for name in files:
                with contextlib.suppress(FileNotFoundError):
                    total += os.lstat(os.path.join(root, name)).st_size
    return total


def upload(folder: Path) -> None:
    from observatoire.observatory import Observatory
    from observatoire.services.accounts import Accounts, Role
    from observatoire.store.appdb import open_appdb

    home = folder / "obs"
    Observatory.init(home)
    with Observatory.open(home) as obs:
        accounts = Accounts(open_appdb(home, obs.home.backend, obs.home.location))
        accounts.create_user("bench@test.invalid", "Vq8#t2Lm!pZr4w-obs", role=Role.ANALYST)
        token = accounts.create_token("bench@test.invalid", "bench")
        accounts.db.close()
    temp = folder / "tmp"  # the server's temporary folder (where a form parser would spool)
    temp.mkdir()
    server, base = start(home, env={"TMPDIR": str(temp)})
    try:
        before = _size(home, temp)
        peak = [0]
        done = threading.Event()

        def poll() -> None:
            while not done.is_set():
                peak[0] = max(peak[0], _size(home, temp) - before)
                time.sleep(0.05)

        watcher = threading.Thread(target=poll)
        watcher.start()

        def body() -> object:
            yield b"CODGEO;X\n"
            block = b"93001;1\n" * (MIB // 8)
            for _ in range(600):
                yield block

        begin = time.perf_counter()
        status = "connexion fermée par le serveur"
        try:
            answer = httpx.post(
                base + "/api/v1/imports",
                headers={
                    "Authorization": f"Bearer {token}",
                    "Content-Type": "multipart/form-data; boundary=b",
                },
                content=_multipart(body()),
                timeout=120,
            )
            status = str(answer.status_code)
        except (httpx.WriteError, httpx.RemoteProtocolError, httpx.ReadError):
            pass
        elapsed = time.perf_counter() - begin
        done.set()
        watcher.join()
        alive = httpx.get(base + "/", timeout=10).status_code
        limit = 512 * MIB
        print(f"Dépôt de 600 Mo (limite 512 Mo) : réponse {status} en {elapsed:.1f} s ; "
              f"serveur ensuite : {alive}")  # fmt: skip
        print(f"  écrit au plus fort : {peak[0] / MIB:.0f} Mo, soit {peak[0] / limit:.2f} × la "
              f"limite (cible ≤ 1) ; restant : {(_size(home / 'depots') if (home / 'depots').exists() else 0)} octets")  # noqa: E501
    finally:
        server.terminate()
        server.wait(timeout=20)


def _multipart(parts: object) -> object:
    yield b'--b\r\nContent-Disposition: form-data; name="fichier"; filename="gros.csv"\r\n\r\n'
    yield from parts  # type: ignore[misc]
    yield b"\r\n--b--\r\n"


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="bench-hostile-"))
    try:
        bombs(folder)
        long_line(folder)
        upload(folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
