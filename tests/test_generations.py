"""The embedded warehouse's generations: readers keep one version, writers publish whole,
one writer at a time (see docs/dev/storage.md)."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from observatoire.errors import HomeError
from observatoire.store import generations
from observatoire.store.duckdb import DuckDBWarehouse


def _warehouse(tmp_path: Path, **options: bool) -> DuckDBWarehouse:
    warehouse = DuckDBWarehouse(tmp_path / "entrepot.duckdb", **options)
    with warehouse.transaction() as tx:
        tx.execute("CREATE TABLE IF NOT EXISTS t (n INTEGER)")
    return warehouse


def _add(warehouse: DuckDBWarehouse, n: int) -> None:
    with warehouse.transaction() as tx:
        tx.insert("t", pd.DataFrame({"n": [n]}))


def _count(warehouse: DuckDBWarehouse) -> int:
    return warehouse.count("t")


def test_a_snapshot_keeps_its_version_while_another_process_publishes(tmp_path: Path) -> None:
    writer = _warehouse(tmp_path)
    reader = DuckDBWarehouse(tmp_path / "entrepot.duckdb", read_only=True)
    _add(writer, 1)
    with reader.snapshot():
        assert _count(reader) == 1
        _add(writer, 2)
        _add(writer, 3)
        assert _count(reader) == 1  # the version of the snapshot's start, all along
        seen = []
        thread = threading.Thread(target=lambda: seen.append(_count(reader)))
        thread.start()
        thread.join()
        assert seen == [3]  # another thread, outside the snapshot: the newest
    assert _count(reader) == 3  # outside: the newest
    with reader.snapshot():
        assert _count(reader) == 3
    reader.close()
    writer.close()


def test_a_snapshot_that_writes_reads_its_write(tmp_path: Path) -> None:
    warehouse = _warehouse(tmp_path)
    with warehouse.snapshot():
        _add(warehouse, 7)
        assert _count(warehouse) == 1
    warehouse.close()


def test_the_link_moves_at_each_commit_and_only_then(tmp_path: Path) -> None:
    warehouse = _warehouse(tmp_path)
    link = tmp_path / "entrepot.duckdb"
    first = generations.current(link)
    with pytest.raises(RuntimeError), warehouse.transaction() as tx:
        tx.insert("t", pd.DataFrame({"n": [1]}))
        raise RuntimeError("interrompu")
    assert generations.current(link) == first  # rolled back: nothing published
    _add(warehouse, 1)
    second = generations.current(link)
    assert second != first and second is not None
    assert generations.number(link, second) == generations.number(link, first) + 1
    assert not first.exists()  # the previous generation removed once replaced
    assert sorted(p.name for p in tmp_path.glob("entrepot.*")) == sorted(
        ["entrepot.duckdb", second.name]
    )
    warehouse.close()


def test_a_copy_left_by_a_killed_writer_is_swept(tmp_path: Path) -> None:
    warehouse = _warehouse(tmp_path)
    link = tmp_path / "entrepot.duckdb"
    stray = tmp_path / "entrepot.000099-dead.duckdb"
    stray.write_bytes(b"half written")
    (tmp_path / "entrepot.000099-dead.duckdb.wal").write_bytes(b"x")
    staged = tmp_path / ".entrepot.duckdb.deadbeef"  # killed between symlink and rename
    staged.symlink_to("entrepot.000099-dead.duckdb")
    _add(warehouse, 1)
    assert not stray.exists()
    assert not staged.is_symlink()
    assert _count(warehouse) == 1
    assert generations.current(link) is not None
    warehouse.close()


def test_a_home_before_generations_is_read_then_linked_at_its_first_write(
    tmp_path: Path,
) -> None:
    plain = tmp_path / "entrepot.duckdb"
    with duckdb.connect(str(plain)) as con:
        con.execute("CREATE TABLE t (n INTEGER)")
        con.execute("INSERT INTO t VALUES (1), (2)")
    warehouse = DuckDBWarehouse(plain)
    assert not plain.is_symlink() and _count(warehouse) == 2
    _add(warehouse, 3)
    assert plain.is_symlink() and _count(warehouse) == 3
    warehouse.close()
    reopened = DuckDBWarehouse(plain, read_only=True)
    assert _count(reopened) == 3
    reopened.close()


def test_a_writer_waits_for_the_other_and_says_for_whom(tmp_path: Path) -> None:
    link = tmp_path / "entrepot.duckdb"
    holder = generations.WriteLock(link)
    holder.acquire()
    told: list[str] = []
    waiting = generations.WriteLock(link, on_wait=told.append)
    with pytest.raises(HomeError, match=f"processus {os.getpid()}"):
        waiting.acquire(timeout=0.2)
    assert told and str(os.getpid()) in told[0]
    holder.release()
    waiting.acquire(timeout=1)  # free now
    waiting.release()


def test_a_read_only_warehouse_of_an_empty_home_is_refused(tmp_path: Path) -> None:
    with pytest.raises(HomeError, match="base introuvable"):
        DuckDBWarehouse(tmp_path / "entrepot.duckdb", read_only=True)


def test_open_current_is_a_stable_snapshot(tmp_path: Path) -> None:
    warehouse = _warehouse(tmp_path)
    link = tmp_path / "entrepot.duckdb"
    with generations.open_current(link) as handle:
        before = handle.read(64)
        _add(warehouse, 1)  # publishes and removes the file being read
        handle.seek(0)
        assert handle.read(64) == before
    warehouse.close()


def test_generations_without_their_link_are_refused_never_swept(tmp_path: Path) -> None:
    warehouse = _warehouse(tmp_path)
    _add(warehouse, 1)
    warehouse.close()
    link = tmp_path / "entrepot.duckdb"
    data = generations.current(link)
    assert data is not None
    link.unlink()  # a copy tool that dropped the link, a removal by hand
    for read_only in (False, True):
        with pytest.raises(HomeError, match=f"ln -s {data.name} entrepot.duckdb"):
            DuckDBWarehouse(link, read_only=read_only)
    with pytest.raises(HomeError, match="le lien"), generations.open_current(link):
        pass
    assert data.exists()  # the data is untouched
    os.symlink(data.name, link)
    assert _count(DuckDBWarehouse(link, read_only=True)) == 1


def test_a_journal_left_by_a_previous_release_is_merged_before_any_copy(tmp_path: Path) -> None:
    plain = tmp_path / "entrepot.duckdb"
    with duckdb.connect(str(plain)) as con:
        con.execute("CREATE TABLE t (n INTEGER)")
        con.execute("CHECKPOINT")
        con.execute("PRAGMA disable_checkpoint_on_shutdown")
        con.execute("INSERT INTO t VALUES (1), (2)")  # in the journal only
    assert (tmp_path / "entrepot.duckdb.wal").exists()
    with pytest.raises(HomeError, match="journal en attente"):
        DuckDBWarehouse(plain, read_only=True)
    warehouse = DuckDBWarehouse(plain)  # a writer merges it first
    assert not (tmp_path / "entrepot.duckdb.wal").exists()
    _add(warehouse, 3)
    assert _count(warehouse) == 3
    warehouse.close()


def test_the_spill_folder_of_a_killed_writer_is_swept(tmp_path: Path) -> None:
    warehouse = _warehouse(tmp_path)
    spill = tmp_path / "entrepot.000077-beef.duckdb.tmp"
    spill.mkdir()
    (spill / "duckdb_temp_storage_S32K-0.tmp").write_bytes(b"x" * 1000)
    _add(warehouse, 1)
    assert not spill.exists()
    warehouse.close()


def test_a_transaction_that_only_reads_publishes_nothing(tmp_path: Path) -> None:
    warehouse = _warehouse(tmp_path)
    _add(warehouse, 1)
    link = tmp_path / "entrepot.duckdb"
    before = generations.current(link)
    with warehouse.transaction() as tx:
        assert len(tx.query("SELECT * FROM t")) == 1
        tx.insert("t", pd.DataFrame({"n": []}))  # no row: no change
    assert generations.current(link) == before  # no copy published, caches stay valid
    assert sorted(p.name for p in tmp_path.glob("entrepot.*")) == sorted(
        ["entrepot.duckdb", before.name]  # type: ignore[union-attr]
    )
    warehouse.close()
