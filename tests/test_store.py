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


def test_schema_2_values_move_to_series(warehouse_location: tuple[str, str]) -> None:
    """A warehouse of schema 2 (every value in one ``observation`` table) migrates to schema 3
    (series and their values) without losing or changing a value."""
    from observatoire.store.schema import MIGRATIONS, TABLES, create_sql
    from observatoire.store.values import batch_values

    backend, location = warehouse_location
    with open_warehouse(backend, location) as wh:
        with wh.transaction() as tx:
            for step in MIGRATIONS[:2]:
                for table in step:
                    for statement in create_sql(TABLES[table], wh.dialect):
                        tx.execute(statement)
            tx.insert("meta", pd.DataFrame({"key": ["schema_version"], "value": ["2"]}))
            tx.insert(
                "observation",
                pd.DataFrame(
                    {
                        "batch": [1, 1, 1, 2],
                        "variable": ["filosofi.MED", "filosofi.MED", "rp.POP", "rp.POP"],
                        "level": "commune",
                        "code": ["93066", "93059", "93066", "93066"],
                        "period": ["2019", "2019", "2018", "2018"],
                        "dims": "",
                        "value": [15000.0, None, 110000.0, 110001.0],
                        "status": ["ok", "secret", "ok", "ok"],
                        "geography": ["current", "published", "current", "current"],
                        "note": [None, None, "fusion de 93059 93066", None],
                    }
                ),
            )
        assert wh.migrate() == SCHEMA_VERSION
        assert not wh.has_table("observation")
        assert wh.count("series") == 4 and wh.count("series_value") == 4
        first = batch_values(wh, 1).set_index(["variable", "code"])
        assert first.at[("filosofi.MED", "93059"), "status"] == "secret"
        assert first.at[("filosofi.MED", "93059"), "geography"] == "published"
        assert first.at[("rp.POP", "93066"), "note"] == "fusion de 93059 93066"
        assert batch_values(wh, 2).value.tolist() == [110001.0]


def test_a_warehouse_a_later_release_migrated_is_refused_untouched(
    warehouse_location: tuple[str, str],
) -> None:
    """Never migrated down nor used: the message names the home and both versions (the whole
    message: tests/test_upgrade.py)."""
    from observatoire.store.versions import MIGRATED_BY, release

    backend, location = warehouse_location
    with open_warehouse(backend, location) as wh:
        assert wh.migrate() == SCHEMA_VERSION
        assert wh.meta()[MIGRATED_BY] == release()
        wh.set_meta("schema_version", str(SCHEMA_VERSION + 1))
        later = f"l'observatoire /srv/obs a été mis à jour .* n° {SCHEMA_VERSION + 1}"
        with pytest.raises(HomeError, match=later):
            wh.migrate(home="/srv/obs")
        with pytest.raises(HomeError, match=later):
            wh.known_version("/srv/obs")
        assert wh.schema_version() == SCHEMA_VERSION + 1
