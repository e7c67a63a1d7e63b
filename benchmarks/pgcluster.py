"""A throwaway PostgreSQL cluster for a benchmark, as scripts/test.sh starts one for the tests:
initdb in a temporary folder, 127.0.0.1 only on a free port, trust authentication for the user
``observatoire``, deleted afterwards. initdb refuses root: as root, it runs as ``postgres``."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["postmaster_of", "throwaway_postgres"]


def bindir() -> Path:
    """The newest PostgreSQL server's programs (``$PGBIN`` first)."""
    if os.environ.get("PGBIN"):
        return Path(os.environ["PGBIN"])
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    if not found:
        raise SystemExit(
            "no PostgreSQL server: apt-get install postgresql-15 (or give --dsn, or $PGBIN)"
        )
    return found[-1].parent


@contextmanager
def throwaway_postgres() -> Iterator[tuple[str, int]]:
    """A new cluster's DSN (database ``postgres``) and its postmaster's pid."""
    programs = bindir()
    folder = Path(tempfile.mkdtemp(prefix="observatoire-load-pg."))
    as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if as_postgres:
        shutil.chown(folder, "postgres")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    data = folder / "data"
    pg_ctl = [*as_postgres, str(programs / "pg_ctl"), "-D", str(data)]
    try:
        subprocess.run(
            [*as_postgres, str(programs / "initdb"), "-D", str(data), "-U", "observatoire",
             "--auth=trust", "-E", "UTF8"],
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        options = f"-h 127.0.0.1 -p {port} -k {folder}"
        subprocess.run(
            [*pg_ctl, "-l", str(folder / "log"), "-w", "-o", options, "start"],
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        postmaster = int((data / "postmaster.pid").read_text().split()[0])
        yield f"postgresql://observatoire@127.0.0.1:{port}/postgres", postmaster
    finally:
        subprocess.run([*pg_ctl, "-m", "fast", "stop"], capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


def postmaster_of(dsn: str) -> int | None:
    """The pid of the postmaster serving ``dsn`` when it runs on this machine (the parent of
    a backend of ours), else None: its CPU is then not measured."""
    import psycopg

    with psycopg.connect(dsn) as con:
        row = con.execute("SELECT pg_backend_pid()").fetchone()
    backend = Path(f"/proc/{row[0] if row else 0}")
    try:
        if not (backend / "comm").read_text().startswith("postgres"):
            return None
        stat = (backend / "stat").read_text()
    except OSError:
        return None
    return int(stat[stat.rindex(")") + 2 :].split()[1])
