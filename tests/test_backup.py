"""Backup and restore (``observatoire backup`` / ``restore``): a backup taken while the
observatory serves and writes restores every table and file as of its snapshot; a damaged,
truncated, foreign or newer archive is refused before anything is written; an observatory
is replaced only with ``--force``; server mode goes through ``pg_dump`` and ``pg_restore``.

The homes are copies of the home of Seine-Saint-Denis (``small_home``, see conftest), with a
document, an account, the pseudonymisation key and a file of the observatory's own added.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tarfile
import threading
import time
import uuid
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import duckdb
import httpx
import pytest

from observatoire.home import Home
from observatoire.observatory import Observatory
from observatoire.services.accounts import Accounts, Role
from observatoire.services.backup_format import engine_file
from observatoire.store import generations
from observatoire.store.appdb import open_appdb

from .conftest import PASSWORD, run, serving

STUDY = "Les familles à l'hôtel en Seine-Saint-Denis.\n"
ANALYST = "analyste@cd93.fr"


# -- helpers ------------------------------------------------------------------------------------
def _cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """The command line in a process of its own, as an administrator would run it."""
    return subprocess.run(
        [sys.executable, "-m", "observatoire", *args],
        capture_output=True,
        text=True,
        input=stdin,
        timeout=600,
        env={**os.environ, "COLUMNS": "200"},
    )


def _furnish(home: Path, tmp_path: Path) -> None:
    """What a used observatory holds beyond its referential: a document of the library, an
    account, the pseudonymisation key, a file of its own in a folder."""
    study = tmp_path / "etude.txt"
    study.write_text(STUDY, encoding="utf-8")
    code, out = run("documents", "add", str(study), "--titre", "Familles à l'hôtel",
                    "--acces", "public", home=home)  # fmt: skip
    assert code == 0, out
    accounts = Accounts(open_appdb(home, Home.load(home).backend, Home.load(home).location))
    accounts.create_user(ANALYST, PASSWORD, role=Role.ANALYST, actor="test")
    accounts.db.close()
    Home.load(home).pseudonym_key()  # created as the first import of records would
    (home / "notes").mkdir()
    (home / "notes" / "lisez-moi.txt").write_text("Procédure de l'observatoire\n", "utf-8")


def _files(home: Path) -> dict[str, bytes]:
    """Every file of a home but the engine's own, by its path in the home."""
    found = {}
    for path in sorted(home.rglob("*")):
        relative = path.relative_to(home).as_posix()
        if path.is_file() and not path.is_symlink() and not engine_file(relative):
            found[relative] = path.read_bytes()
    return found


def _rows(rows: list[tuple[Any, ...]]) -> list[str]:
    """Rows comparable whatever their order (NaN equal to NaN: compared as text)."""
    return sorted(repr(tuple(row)) for row in rows)


def _warehouse_tables(home: Path) -> dict[str, list[str]]:
    file = generations.current(home / "entrepot.duckdb")
    assert file is not None
    with duckdb.connect(str(file), read_only=True) as con:
        names = [n for (n,) in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE'"
        ).fetchall()]  # fmt: skip
        return {n: _rows(con.execute(f'SELECT * FROM "{n}"').fetchall()) for n in names}


def _app_tables(home: Path) -> dict[str, list[str]]:
    con = sqlite3.connect(f"file:{home / 'application.sqlite'}?mode=ro", uri=True)
    try:
        names = [n for (n,) in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {n: _rows(con.execute(f'SELECT * FROM "{n}"').fetchall()) for n in names}
    finally:
        con.close()


def _manifest(archive: Path) -> dict[str, Any]:
    with tarfile.open(archive) as tar:
        member = tar.extractfile("manifest.json")
        assert member is not None
        return dict(json.loads(member.read()))


def _wait(condition: Callable[[], bool], seconds: float = 300) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "attente trop longue"
        time.sleep(0.1)


def _signs_in(home: Path) -> bool:
    loaded = Home.load(home)
    accounts = Accounts(open_appdb(home, loaded.backend, loaded.location))
    try:
        user, _token = accounts.login(ANALYST, PASSWORD)
        return user.email == ANALYST
    finally:
        accounts.db.close()


# -- the round trip under load --------------------------------------------------------------
@pytest.mark.slow
def test_a_backup_taken_while_serving_and_writing_restores_its_snapshot(
    home93: Path, tmp_path: Path
) -> None:
    """``serve`` answers and two writers commit as fast as they can (partners into the
    warehouse, each publishing a generation; accounts into the application database) while
    ``backup`` runs: the archive holds each database as of one moment, the writes before it
    and none after, and every other file."""
    _furnish(home93, tmp_path)
    stop = threading.Event()
    versions: list[str] = []  # versions[k]: the data version once partner k is written
    moments: list[float] = []  # when each write ended

    def partners() -> int:
        with Observatory.open(home93, write=True) as obs:
            versions.append(obs.data_version())
            while not stop.is_set():
                obs.partners.save(f"p{len(versions):03d}", f"Partenaire {len(versions)}")
                versions.append(obs.data_version())
                moments.append(time.monotonic())
        return len(versions) - 1

    emails: list[str] = []

    def accounts() -> int:
        db = open_appdb(home93, "duckdb")
        while not stop.is_set():
            emails.append(f"u{len(emails) + 1:03d}@cd93.fr")
            Accounts(db).create_user(emails[-1], PASSWORD, role=Role.MEMBER)
            moments.append(time.monotonic())
        db.close()
        return len(emails)

    archive = tmp_path / "sauvegarde.tar.gz"
    with serving(home93, tmp_path / "serve.log") as base:
        answers: list[int] = []

        def browse() -> None:
            while not stop.is_set():
                answer = httpx.get(f"{base}/api/v1/documents", timeout=60)
                assert answer.status_code == 200, answer.text
                answers.append(answer.status_code)

        with ThreadPoolExecutor(max_workers=3) as pool:
            reader = pool.submit(browse)
            writers = pool.submit(partners), pool.submit(accounts)
            _wait(lambda: len(versions) >= 3 or any(w.done() for w in writers))
            began = time.monotonic()
            made = _cli("--home", str(home93), "backup", str(archive))
            ended, after = time.monotonic(), (len(versions) + 1, len(emails) + 1)
            _wait(  # writes go on after it, on each base
                lambda: (
                    (len(versions) > after[0] and len(emails) > after[1])
                    or any(w.done() for w in writers)
                )
            )
            stop.set()
            written, created = (w.result() for w in writers)
            reader.result()
    assert made.returncode == 0, made.stderr
    assert "Sauvegarde écrite" in made.stdout and "clé de pseudonymisation : incluse" in made.stdout
    assert answers
    assert sum(began < t < ended for t in moments) >= 2  # writes committed during the backup

    restored = tmp_path / "restaure"
    done = _cli("restore", str(archive), "--home", str(restored))
    assert done.returncode == 0, done.stderr
    manifest = _manifest(archive)

    # the warehouse as of the snapshot: the partners written before it (a prefix) and its
    # data version; every other table as in the source
    source, copy = _warehouse_tables(home93), _warehouse_tables(restored)
    assert source.keys() == copy.keys()
    kept = sorted(re.findall(r"'(p\d{3})'", " ".join(copy["partner"])))
    k = len(kept)
    assert kept == [f"p{i:03d}" for i in range(1, k + 1)] and k < written, (kept, written)
    assert manifest["data_version"] == versions[k]
    later = {f"'p{i:03d}'" for i in range(k + 1, written + 1)}
    for table in source:
        if table == "partner":
            expected = [r for r in source[table] if not any(p in r for p in later)]
        elif table == "meta":
            expected = [r for r in source[table] if "'data_version'" not in r]
            expected = sorted([*expected, repr(("data_version", manifest["data_version"]))])
        else:
            expected = source[table]
        assert copy[table] == expected, table

    # the application database as of its snapshot: the accounts created before it (a prefix);
    # what is missing concerns the later accounts only
    source, copy = _app_tables(home93), _app_tables(restored)
    assert source.keys() == copy.keys()
    users = sorted(set(re.findall(r"u(\d{3})@cd93\.fr", " ".join(copy["app_user"]))))
    j = len(users)
    assert users == [f"{i:03d}" for i in range(1, j + 1)] and j < created, (users, created)
    later = {f"u{i:03d}@cd93.fr" for i in range(j + 1, created + 1)}
    for table in source:
        missing = Counter(source[table]) - Counter(copy[table])
        assert not Counter(copy[table]) - Counter(source[table]), table
        assert all(any(u in row for u in later) for row in missing), (table, missing)

    # every other file, byte for byte: settings, the key, the document, the observatory's own
    assert _files(restored) == _files(home93)
    assert (restored / ".cle-pseudonymisation").stat().st_mode & 0o777 == 0o600
    assert STUDY.encode() in _files(restored).values()
    with Observatory.open(restored) as obs:
        assert obs.data_version() == manifest["data_version"]
    assert _signs_in(restored)
    found = _cli("--home", str(restored), "documents", "search", "hôtel")
    assert "Familles à l'hôtel" in found.stdout, found.stdout + found.stderr


# -- a backup of a quiet home, and what restore refuses -----------------------------------------
@pytest.fixture(scope="module")
def saved(small_home: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A furnished copy of the home of Seine-Saint-Denis, and its backup."""
    root = tmp_path_factory.mktemp("sauvegarde")
    home = root / "obs"
    shutil.copytree(small_home, home)
    _furnish(home, root)
    archive = root / "obs.tar.gz"
    code, out = run("backup", str(archive), home=home)
    assert code == 0, out
    return home, archive


def _refused(archive: Path, target: Path, *words: str, code: int = 2) -> str:
    """Restore ``archive`` into ``target``: refused (``code``: 2 for bad input, 1 for a home
    newer than this release), the archive and ``words`` named, nothing written at the target
    nor beside it."""
    before = sorted(p.name for p in target.parent.iterdir())
    found, out = run("restore", str(archive), "--home", str(target))
    assert found == code, out
    assert str(archive) in out, out
    assert all(word in out for word in words), out
    assert not target.exists()
    assert sorted(p.name for p in target.parent.iterdir()) == before
    found, checked = run("restore", str(archive), "--check")
    assert found == code, checked
    return out


def _rewritten(archive: Path, target: Path, edit: Callable[[str, bytes], bytes]) -> Path:
    """``archive`` written again as a valid tar.gz, each member passed through ``edit``
    (name, content) and the manifest's checksum recomputed when asked (``manifest.sha256``
    edited to b"")."""
    members = []
    with tarfile.open(archive) as tar:
        for entry in tar:
            data = tar.extractfile(entry)
            assert data is not None
            members.append((entry.name, edit(entry.name, data.read())))
    if members[1][1] == b"":
        import hashlib

        members[1] = (members[1][0], (hashlib.sha256(members[0][1]).hexdigest() + "\n").encode())
    with gzip.open(target, "wb") as packed, tarfile.open(fileobj=packed, mode="w|") as tar:
        for name, body in members:
            info = tarfile.TarInfo(name)
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body))
    return target


@pytest.mark.parametrize("where", [12, 300, 1 / 3, 1 / 2, 0.9, -30, -6])
def test_a_flipped_byte_of_the_file_is_refused(
    saved: tuple[Path, Path], tmp_path: Path, where: float
) -> None:
    """Anywhere past gzip's ten-byte header (its date and flags, which hold no data): refused,
    unless the flip changes nothing of what the archive holds (the distance of a copy inside
    a run of zeros, say: the same bytes come out, and are restored)."""
    body = bytearray(saved[1].read_bytes())
    at = int(where * len(body)) if isinstance(where, float) else where % len(body)
    body[at] ^= 0x20
    damaged = tmp_path / "abimee.tar.gz"
    damaged.write_bytes(bytes(body))
    try:
        harmless = gzip.decompress(bytes(body)) == gzip.decompress(saved[1].read_bytes())
    except (OSError, EOFError, zlib.error):
        harmless = False
    if harmless:
        code, out = run("restore", str(damaged), "--home", str(tmp_path / "obs"))
        assert code == 0 and _files(tmp_path / "obs") == _files(saved[0]), out
        return
    out = _refused(damaged, tmp_path / "obs")
    assert re.search(r"altérée|tronquée|n'est pas une sauvegarde", out), out


@pytest.mark.parametrize(
    ("member", "part", "words"),
    [
        ("manifest.json", 0.5, ["manifest.json", "somme de contrôle"]),
        ("entrepot.duckdb", "header", ["incomplète", "entrepot.duckdb"]),
        ("entrepot.duckdb", 0.5, ["entrepot.duckdb", "somme de contrôle"]),
        ("application.sqlite", 0.1, ["application.sqlite", "somme de contrôle"]),
        ("fichiers/notes/lisez-moi.txt", 0.5, ["lisez-moi.txt", "somme de contrôle"]),
    ],
)
def test_a_flipped_byte_of_the_content_is_refused_by_member(
    saved: tuple[Path, Path], tmp_path: Path, member: str, part: float | str, words: list[str]
) -> None:
    """A byte flipped in what the archive holds (recompressed, so that gzip's CRC agrees):
    the checksums of the manifest name the member."""
    content = bytearray(gzip.decompress(saved[1].read_bytes()))
    with tarfile.open(fileobj=io.BytesIO(bytes(content))) as tar:
        entry = tar.getmember(member)
    at = entry.offset if part == "header" else entry.offset_data + int(float(part) * entry.size)
    content[at] ^= 0x01
    damaged = tmp_path / "abimee.tar.gz"
    damaged.write_bytes(gzip.compress(bytes(content)))
    _refused(damaged, tmp_path / "obs", *words)


@pytest.mark.parametrize("keep", [100, 1 / 3, 1 / 2, -100, -4])
def test_a_truncated_backup_is_refused(
    saved: tuple[Path, Path], tmp_path: Path, keep: float
) -> None:
    body = saved[1].read_bytes()
    cut = tmp_path / "coupee.tar.gz"
    cut.write_bytes(body[: int(keep * len(body)) if isinstance(keep, float) else keep])
    out = _refused(cut, tmp_path / "obs")
    assert re.search(r"tronquée|incomplète|n'est pas une sauvegarde", out), out


def test_what_is_no_backup_is_refused(saved: tuple[Path, Path], tmp_path: Path) -> None:
    samples = {
        "hasard.tar.gz": os.urandom(4096),
        "vide.tar.gz": b"",
        "donnees.csv": b"code;valeur\n93066;12\n",
    }
    for name, body in samples.items():
        (tmp_path / name).write_bytes(body)
        _refused(tmp_path / name, tmp_path / "obs", "n'est pas une sauvegarde")
    other = tmp_path / "autre.tar.gz"  # a tar.gz, but of something else
    with tarfile.open(other, "w:gz") as tar:
        tar.add(saved[0] / "observatoire.toml", arcname="observatoire.toml")
    _refused(other, tmp_path / "obs", "n'est pas une sauvegarde", "manifest.json")


def test_a_member_or_the_manifest_altered_is_refused_by_name(
    saved: tuple[Path, Path], tmp_path: Path
) -> None:
    def settings(name: str, body: bytes) -> bytes:
        return body.replace(b"Test 93", b"Test 94") if name.endswith("observatoire.toml") else body

    altered = _rewritten(saved[1], tmp_path / "membre.tar.gz", settings)
    _refused(altered, tmp_path / "obs", "fichiers/observatoire.toml", "somme de contrôle")

    def manifest(name: str, body: bytes) -> bytes:
        return (
            body.replace(b'"key": "included"', b'"key": "none"')
            if name == "manifest.json"
            else body
        )

    altered = _rewritten(saved[1], tmp_path / "manifeste.tar.gz", manifest)
    _refused(altered, tmp_path / "obs", "manifest.json", "somme de contrôle")

    def extra(name: str, body: bytes) -> bytes:
        return b"" if name == "manifest.sha256" else body

    _rewritten(saved[1], tmp_path / "base.tar.gz", extra)  # a valid copy, then one too many
    with tarfile.open(tmp_path / "base.tar.gz") as tar:
        entries = [(e, tar.extractfile(e).read()) for e in tar]  # type: ignore[union-attr]
    with tarfile.open(tmp_path / "plus.tar.gz", "w:gz") as tar:
        for entry, body in [*entries, (tarfile.TarInfo("fichiers/intrus.sh"), b"rm -rf /\n")]:
            entry.size = len(body)
            tar.addfile(entry, io.BytesIO(body))
    _refused(
        tmp_path / "plus.tar.gz", tmp_path / "obs", "fichiers/intrus.sh", "absent du manifeste"
    )


@pytest.mark.parametrize(
    ("field", "value", "words", "code"),
    [
        ("format_version", 2, ["format 2", "plus récent"], 2),
        ("schema_version", 999, ["son entrepôt", "n° 999", "plus récent"], 1),
        ("app_version", 99, ["sa base applicative", "n° 99", "plus récent"], 1),
    ],
)
def test_a_newer_backup_is_refused(
    saved: tuple[Path, Path], tmp_path: Path, field: str, value: int, words: list[str], code: int
) -> None:
    def newer(name: str, body: bytes) -> bytes:
        if name == "manifest.sha256":
            return b""
        if name == "manifest.json":
            data = json.loads(body)
            data[field] = value
            return json.dumps(data).encode()
        return body

    archive = _rewritten(saved[1], tmp_path / "recente.tar.gz", newer)
    _refused(archive, tmp_path / "obs", *words, code=code)


def test_a_backup_named_tar_is_not_compressed(saved: tuple[Path, Path], tmp_path: Path) -> None:
    home = saved[0]
    archive = tmp_path / "obs.tar"
    code, out = run("backup", str(archive), home=home)
    assert code == 0, out
    assert archive.read_bytes()[:2] != b"\x1f\x8b" and tarfile.is_tarfile(archive)
    code, out = run("restore", str(archive), "--home", str(tmp_path / "obs"))
    assert code == 0, out
    assert _files(tmp_path / "obs") == _files(home)
    with tarfile.open(archive) as tar:
        warehouse = tar.getmember("entrepot.duckdb")
    body = bytearray(archive.read_bytes())
    body[warehouse.offset_data + warehouse.size // 2] ^= 0x01
    archive.write_bytes(bytes(body))
    shutil.rmtree(tmp_path / "obs")
    _refused(archive, tmp_path / "obs", "entrepot.duckdb", "somme de contrôle")


def test_restoring_over_an_observatory_needs_force(
    saved: tuple[Path, Path], tmp_path: Path
) -> None:
    home, archive = saved
    target = tmp_path / "obs"
    target.mkdir()  # an empty folder is no observatory: restored into without --force
    code, out = run("restore", str(archive), "--home", str(target))
    assert code == 0, out
    (target / "a-garder.txt").write_text("travail du jour\n", encoding="utf-8")
    code, out = run("restore", str(archive), "--home", str(target))
    assert code == 2 and "--force" in out, out
    assert (target / "a-garder.txt").exists()
    code, out = run("restore", str(archive), "--home", str(target), "--force")
    assert code == 0, out
    assert "remplacé" in out, out
    assert not (target / "a-garder.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["obs"]  # nothing left aside
    assert _files(target) == _files(home)
    with Observatory.open(target) as obs:
        assert obs.data_version() == _manifest(archive)["data_version"]
    assert _signs_in(target)


def test_a_backup_without_the_key_restores_without_it(
    saved: tuple[Path, Path], tmp_path: Path
) -> None:
    home, _ = saved
    archive = tmp_path / "sans-cle.tar.gz"
    code, out = run("backup", str(archive), "--without-key", home=home)
    assert code == 0, out
    assert "laissée de côté" in out and "pseudonymes" in out, out
    manifest = _manifest(archive)
    assert manifest["key"] == "left_out"
    assert not [m for m in manifest["members"] if m["kind"] == "key"]
    target = tmp_path / "obs"
    code, out = run("restore", str(archive), "--home", str(target))
    assert code == 0, out
    assert "ne correspondront pas aux anciens" in out, out
    assert not (target / ".cle-pseudonymisation").exists()
    original = (home / ".cle-pseudonymisation").read_text(encoding="ascii").strip().encode()
    assert Home.load(target).pseudonym_key() != original  # a new key: new pseudonyms


def test_a_key_from_the_environment_is_said_to_be_kept_apart(
    saved: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OBSERVATOIRE_PSEUDONYM_KEY", "une clé gardée dans le coffre")
    archive = tmp_path / "cle-dehors.tar.gz"
    code, out = run("backup", str(archive), home=saved[0])
    assert code == 0, out
    assert "vient de OBSERVATOIRE_PSEUDONYM_KEY" in out and "gardez-la à part" in out, out
    assert _manifest(archive)["key"] == "environment"
    code, out = run("restore", str(archive), "--home", str(tmp_path / "obs"))
    assert code == 0 and "définissez-la de même" in out, out


def test_backup_refusals(saved: tuple[Path, Path], tmp_path: Path) -> None:
    home = saved[0]
    target = tmp_path / "b.tar.gz"
    target.write_bytes(b"ancienne")
    code, out = run("backup", str(target), home=home)
    assert code == 2 and "--force" in out, out
    assert target.read_bytes() == b"ancienne"
    code, out = run("backup", str(target), "--force", home=home)
    assert code == 0, out
    code, out = run("restore", str(target), "--check")
    assert code == 0 and "Sauvegarde intacte" in out, out
    code, out = run("backup", str(home / "interne.tar.gz"), home=home)
    assert code == 2 and "ne s'écrit pas dans l'observatoire" in out, out
    assert not (home / "interne.tar.gz").exists()
    # a document its library references, gone from the folder: no incomplete backup
    broken = tmp_path / "obs"
    shutil.copytree(home, broken)
    document = next((broken / "documents").iterdir())
    document.unlink()
    code, out = run("backup", str(tmp_path / "c.tar.gz"), home=broken)
    assert code == 1 and f"documents/{document.name}" in out and "absent" in out, out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.tar.gz", "obs"]


# -- server mode ---------------------------------------------------------------------------------
@contextmanager
def _new_database(schema: str) -> Iterator[str]:
    """A new database of the test server; a DSN of it whose search path is ``schema``."""
    import psycopg

    server = os.environ["OBSERVATOIRE_TEST_PG"]
    name = f"r_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server, autocommit=True) as con:
        con.execute(f"CREATE DATABASE {name}")
    parts = urlsplit(server)
    dsn = urlunsplit(parts._replace(path=f"/{name}"))
    try:
        yield f"{dsn}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(server, autocommit=True) as con:
            con.execute(f"DROP DATABASE {name} WITH (FORCE)")


def _postgres_tables(dsn: str) -> dict[str, list[str]]:
    import psycopg

    with psycopg.connect(dsn) as con:
        names = [n for (n,) in con.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
        ).fetchall()]  # fmt: skip
        return {n: _rows(con.execute(f'SELECT * FROM "{n}"').fetchall()) for n in names}


def test_a_server_mode_backup_goes_through_pg_dump_and_pg_restore(
    pg_dsn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OBSERVATOIRE_DATABASE_URL", pg_dsn)
    home = tmp_path / "obs"
    Observatory.init(home, backend="postgres")[0].close()
    code, out = run("partners", "add", "caf93", "--name", "CAF de la Seine-Saint-Denis", home=home)
    assert code == 0, out
    _furnish(home, tmp_path)
    archive = tmp_path / "serveur.tar.gz"
    with monkeypatch.context() as without:  # no client tools: the commands to run instead
        without.setattr("observatoire.services.backup.postgres_tool", lambda _name: None)
        code, out = run("backup", str(archive), home=home)
        assert code == 1 and 'pg_dump --format=custom --schema=public --dbname="$' in out, out
        assert f"tar -czf observatoire-fichiers.tar.gz -C {home} ." in out, out
        assert not archive.exists()
    code, out = run("backup", str(archive), home=home)
    assert code == 0, out
    assert "pg_dump" in out, out
    manifest = _manifest(archive)
    schema = pg_dsn.rpartition("%3D")[2]
    assert manifest["backend"] == "postgres" and manifest["postgres_schema"] == schema
    assert manifest["members"][0]["name"] == "postgres.dump"
    source = _postgres_tables(pg_dsn)
    assert any("caf93" in row for row in source["partner"])

    target = tmp_path / "restaure"
    with monkeypatch.context() as without:
        without.setattr("observatoire.services.restore.postgres_tool", lambda _name: None)
        code, out = run("restore", str(archive), "--home", str(target))
        assert code == 1 and f"tar -xzf {archive} postgres.dump" in out, out
        assert "pg_restore --single-transaction" in out and "--strip-components=1" in out, out
        assert not target.exists()
    with _new_database(schema) as dsn:
        monkeypatch.setenv("OBSERVATOIRE_DATABASE_URL", dsn.replace(schema, "ailleurs"))
        code, out = run("restore", str(archive), "--home", str(target))
        assert code == 2 and f"« {schema} »" in out and "search_path" in out, out
        assert not target.exists()
        monkeypatch.setenv("OBSERVATOIRE_DATABASE_URL", dsn)
        code, out = run("restore", str(archive), "--home", str(target))
        assert code == 0, out
        assert _postgres_tables(dsn) == source
        assert _files(target) == _files(home)
        with Observatory.open(target) as obs:
            assert obs.data_version() == manifest["data_version"]
        assert _signs_in(target)
        # the schema now holds the observatory: replaced only with --replace-database (a
        # --force for the folder does not replace the database's tables)
        again = tmp_path / "encore"
        for forced in ((), ("--force",)):
            code, out = run("restore", str(archive), "--home", str(again), *forced)
            assert code == 2 and "--replace-database" in out and "table(s)" in out, out
            assert not again.exists()
        code, out = run("restore", str(archive), "--home", str(again), "--replace-database")
        assert code == 0, out
        assert _postgres_tables(dsn) == source


def test_a_crafted_archive_cannot_restore_a_document_over_a_base(
    saved: tuple[Path, Path], tmp_path: Path
) -> None:
    """A manifest valid in every checksum, one document renamed onto the application
    database (or any name outside the library): refused, nothing written."""
    import hashlib

    with tarfile.open(saved[1]) as tar:
        entries = [(e.name, tar.extractfile(e).read()) for e in tar]  # type: ignore[union-attr]
    manifest = json.loads(entries[0][1])
    document = next(m for m in manifest["members"] if m["kind"] == "document")
    for forged in ("fichiers/application.sqlite", "fichiers/portrait.yaml"):
        old, document["name"] = document["name"], forged
        body = json.dumps(manifest).encode()
        renamed = [(forged if n == old else n, b) for n, b in entries[2:]]
        crafted = tmp_path / "forge.tar.gz"
        with gzip.open(crafted, "wb") as packed, tarfile.open(fileobj=packed, mode="w|") as tar:
            checksum = (hashlib.sha256(body).hexdigest() + "\n").encode()
            for name, data in [("manifest.json", body), ("manifest.sha256", checksum), *renamed]:
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
        _refused(crafted, tmp_path / "obs", forged, "invalide")
        entries = [(forged if n == old else n, b) for n, b in entries]


def test_the_archive_is_its_owner_s_alone_whatever_was_left_at_its_place(
    saved: tuple[Path, Path], tmp_path: Path
) -> None:
    home = saved[0]
    target = tmp_path / "d.tar.gz"
    leftover = tmp_path / "ailleurs"
    leftover.write_bytes(b"")
    # a link left where the archive is written (its partial file), to a file readable by all
    leftover.chmod(0o644)
    (tmp_path / "d.tar.gz.partiel").symlink_to(leftover)
    code, out = run("backup", str(target), home=home)
    assert code == 0, out
    assert target.stat().st_mode & 0o777 == 0o600
    assert leftover.read_bytes() == b""  # not written through the link


def test_a_home_of_a_later_release_is_not_saved(saved: tuple[Path, Path], tmp_path: Path) -> None:
    from observatoire.store.duckdb import DuckDBWarehouse
    from observatoire.store.schema import SCHEMA_VERSION

    newer = tmp_path / "obs"
    shutil.copytree(saved[0], newer)
    warehouse = DuckDBWarehouse(newer / "entrepot.duckdb")
    warehouse.set_meta("schema_version", str(SCHEMA_VERSION + 1))
    warehouse.close()
    code, out = run("backup", str(tmp_path / "n.tar.gz"), home=newer)
    assert code == 1 and "plus récente" in out and f"n° {SCHEMA_VERSION + 1}" in out, out
    assert not (tmp_path / "n.tar.gz").exists()
