"""The warehouse interface, on both engines (DuckDB and the PostgreSQL of scripts/test.sh)."""

from __future__ import annotations

import pandas as pd
import pytest

from observatoire.errors import HomeError, UnknownNameError
from observatoire.ingest.referential import build_into
from observatoire.store import open_warehouse
from observatoire.store.schema import SCHEMA_VERSION
from observatoire.store.territories import list_territories


def test_migrate_is_idempotent_and_transactions_are_atomic(
    warehouse_location: tuple[str, str],
) -> None:
    backend, location = warehouse_location
    with open_warehouse(backend, location) as wh:
        assert wh.migrate() == SCHEMA_VERSION
        assert wh.migrate() == SCHEMA_VERSION
        frame = pd.DataFrame(
            {
                "level": ["commune"],
                "code": ["93066"],
                "geom": [b"\x01\x02\x00\xff"],
                "geom_display": [None],
            }
        )
        with wh.transaction() as tx:
            tx.insert("territory_geometry", frame)
        back = wh.query("SELECT geom FROM territory_geometry")
        assert bytes(back.geom.iloc[0]) == b"\x01\x02\x00\xff"
        with pytest.raises(RuntimeError), wh.transaction() as tx:
            tx.execute("DELETE FROM territory_geometry")
            tx.insert("meta", pd.DataFrame({"key": ["x"], "value": ["y"]}))
            raise RuntimeError("killed half-way")
        assert wh.count("territory_geometry") == 1
        assert "x" not in wh.meta()


def test_duplicate_keys_are_refused_alike(warehouse_location: tuple[str, str]) -> None:
    from observatoire.errors import StorageError

    backend, location = warehouse_location
    with open_warehouse(backend, location) as wh:
        wh.migrate()
        row = {
            "level": ["commune"],
            "code": ["93066"],
            "parent_level": ["departement"],
            "parent_code": ["93"],
            "weight": [1.0],
        }
        with wh.transaction() as tx:
            tx.insert("territory_parent", pd.DataFrame(row))
        with pytest.raises(StorageError, match="territory_parent"), wh.transaction() as tx:
            tx.insert("territory_parent", pd.DataFrame(row))
        assert wh.count("territory_parent") == 1


def test_referential_on_each_engine(warehouse_location: tuple[str, str]) -> None:
    backend, location = warehouse_location
    with open_warehouse(backend, location) as wh:
        wh.migrate()
        report = build_into(wh)
        assert report.counts["commune"] == 34875
        communes = list_territories(wh, level="commune", within=("departement", "93"))
        assert len(communes) == 39
        assert communes.set_index("code").at["93066", "population"] == 141441


def test_unknown_backend() -> None:
    with pytest.raises(UnknownNameError, match="duckdb, postgres"):
        open_warehouse("sqlite", "x")


def test_single_writer_gets_a_clear_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import subprocess
    import sys

    path = tmp_path / "w.duckdb"
    with open_warehouse("duckdb", str(path)) as wh:
        wh.migrate()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('ok', flush=True); "
            "time.sleep(30)",
            str(path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ok"
        with pytest.raises(HomeError, match="autre processus"):
            open_warehouse("duckdb", str(path))
    finally:
        holder.kill()
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()
