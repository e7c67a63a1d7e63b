"""The backup archive: one tar file, its manifest first.

A plain tar, compressed by gzip unless its name ends in ``.tar`` (``tar -tf`` lists it and
``tar -xf`` takes a member out by hand)::

    manifest.json        what the archive holds (:class:`Manifest`)
    manifest.sha256      the SHA-256 of manifest.json
    entrepot.duckdb      the warehouse (DuckDB): the generation published when the backup began
    application.sqlite   the application database (SQLite), copied online
    postgres.dump        in server mode instead: ``pg_dump``'s custom format, warehouse and
                         application tables in one snapshot
    fichiers/…           the home's files: settings, pseudonymisation key, documents,
                         collections, indicators, dashboards…, each at its path in the home

The manifest says the archive format and its version, the release that wrote it, the versions
of the warehouse schema and of the application database, the backend, when, the data version
of the warehouse snapshot, what became of the key, and every member with its kind, size and
SHA-256. :func:`read_archive` checks the manifest's checksum, refuses a format or a home newer
than this release, then every member against the manifest and the gzip stream to its end (its
CRC): a flipped byte, a truncated file, a member missing or too many, a file that is no backup
at all are refused with the file and the member named. It writes nothing unless asked where.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import tarfile
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any

from observatoire.atomic import writing
from observatoire.errors import FileFormatError, HomeError, InputError
from observatoire.home import DUCKDB_FILE, PSEUDONYM_KEY_FILE, SETTINGS_FILE
from observatoire.services.inventory import DOCUMENTS
from observatoire.store.appdb import APP_FILE, APP_MIGRATIONS
from observatoire.store.schema import SCHEMA_VERSION
from observatoire.store.versions import refuse_newer, release

__all__ = [
    "APP_FILE",
    "BLOCK",
    "FILES",
    "FORMAT_VERSION",
    "KINDS",
    "Manifest",
    "Member",
    "MemberChanged",
    "compressed",
    "digest",
    "engine_file",
    "read_archive",
    "write_archive",
]

FORMAT = "observatoire-sauvegarde"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
MANIFEST_SUM = "manifest.sha256"
FILES = "fichiers/"  # the home's files, at their path in the home
DOCUMENT_FILES = f"{FILES}{DOCUMENTS}/"  # the library's files, and nothing else
# Each kind of member, and the archive name of the ones that are not home files.
KINDS: dict[str, str | None] = {
    "warehouse": "entrepot.duckdb",
    "appdb": APP_FILE,
    "postgres": "postgres.dump",
    "settings": None,
    "key": None,
    "document": None,
    "file": None,
}
# The home files whose member name is fixed.
FIXED_FILES = {"settings": FILES + SETTINGS_FILE, "key": FILES + PSEUDONYM_KEY_FILE}
FIXED_NAMES = frozenset(FIXED_FILES.values())
# What each kind is, for people.
LABELS = {
    "warehouse": "entrepôt (DuckDB)",
    "postgres": "base PostgreSQL (pg_dump : entrepôt et base applicative)",
    "appdb": "base applicative (SQLite : comptes, sessions, journal, inventaire, documents)",
    "settings": "paramètres (observatoire.toml)",
    "document": "fichiers de la bibliothèque de documents",
}
BLOCK = 1024**2
MAX_MANIFEST = 64 * 1024**2  # a manifest of a million files stays below this
# What reading a damaged, truncated or foreign file raises (tar, gzip, zlib).
BROKEN = (tarfile.TarError, EOFError, OSError, zlib.error)


class MemberChanged(HomeError):
    """A file of the home changed between its reading and its writing into the archive."""


@dataclass(frozen=True)
class Member:
    """One member of the archive: its name there, its kind, size and SHA-256."""

    name: str
    kind: str
    size: int
    sha256: str

    @property
    def home_path(self) -> str | None:
        """Its path in the home, for a home file (None for a database)."""
        return self.name.removeprefix(FILES) if KINDS[self.kind] is None else None


@dataclass(frozen=True)
class Manifest:
    """What an archive holds (see the module docstring)."""

    backend: str
    created_at: str
    schema_version: int  # the warehouse's
    app_version: int  # the application database's migration
    data_version: str  # the warehouse snapshot's
    key: str  # included, left_out (--without-key), environment, none
    members: tuple[Member, ...]
    postgres_schema: str = ""
    observatoire_version: str = field(default_factory=release)
    format_version: int = FORMAT_VERSION
    format: str = field(default=FORMAT)

    def to_json(self) -> bytes:
        body = asdict(self)
        body["members"] = [asdict(m) for m in self.members]
        return json.dumps(body, ensure_ascii=False, indent=1).encode("utf-8")

    @classmethod
    def parse(cls, body: bytes, archive: Path) -> Manifest:
        """The manifest read from ``archive``; an :class:`InputError` naming what is wrong."""

        def wrong(what: str) -> FileFormatError:
            return FileFormatError(f"manifeste de sauvegarde invalide : {what}", path=archive)

        try:
            data = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise wrong(f"JSON illisible ({exc})") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise wrong(f"ce n'est pas un manifeste « {FORMAT} »")
        version = data.get("format_version")
        if not isinstance(version, int) or version < 1:
            raise wrong(f"version de format « {version} »")
        if version > FORMAT_VERSION:
            raise InputError(
                f"sauvegarde au format {version}, plus récent que celui que sait lire "
                f"observatoire {release()} (format {FORMAT_VERSION}) : restaurez-la avec "
                f"observatoire {data.get('observatoire_version', '?')} ou plus récent",
                path=archive,
            )
        try:
            members = tuple(Member(**m) for m in data.pop("members"))
            manifest = cls(**{**data, "members": members})
        except (TypeError, KeyError, AttributeError) as exc:
            raise wrong(f"champ manquant ou inconnu ({exc})") from None
        manifest.check(wrong)
        manifest.check_release(archive)
        return manifest

    def contents(self) -> list[tuple[str, int, int]]:
        """What the archive holds, for people: (what, files, bytes), the other files of the
        home grouped by their folder (the key aside: see :attr:`key`)."""
        groups: dict[tuple[int, str], list[int]] = {}
        for member in self.members:
            if member.kind == "key":
                continue
            if member.kind in LABELS:
                rank, label = list(LABELS).index(member.kind), LABELS[member.kind]
            else:
                folder, _, rest = str(member.home_path).partition("/")
                rank = len(LABELS) + (0 if rest else 1)
                label = f"dossier {folder}/" if rest else "autres fichiers de l'observatoire"
            counts = groups.setdefault((rank, label), [0, 0])
            counts[0] += 1
            counts[1] += member.size
        return [(label, n, size) for (_, label), (n, size) in sorted(groups.items())]

    def check(self, wrong: Callable[[str], Exception]) -> None:
        """Every field of the expected type, every member named as its kind requires."""
        texts = (self.backend, self.created_at, self.data_version, self.key, self.postgres_schema)
        if not all(isinstance(t, str) for t in texts):
            raise wrong("un champ texte ne l'est pas")
        if not isinstance(self.schema_version, int) or not isinstance(self.app_version, int):
            raise wrong("version de schéma non entière")
        seen: set[str] = set()
        for member in self.members:
            if not (isinstance(member.name, str) and isinstance(member.kind, str)):
                raise wrong(f"membre mal décrit : {member}")
            if member.kind not in KINDS:
                raise wrong(f"membre « {member.name} » de nature inconnue « {member.kind} »")
            fixed = KINDS[member.kind] or FIXED_FILES.get(member.kind)
            if (
                not (member.name == fixed if fixed else _home_name(member.name))
                or (
                    not fixed
                    and (engine_file(member.name.removeprefix(FILES)) or member.name in FIXED_NAMES)
                )
                or (member.kind == "document" and not member.name.startswith(DOCUMENT_FILES))
            ):
                raise wrong(f"nom de membre « {member.name} » invalide pour un(e) {member.kind}")
            if not isinstance(member.size, int) or member.size < 0:
                raise wrong(f"taille du membre « {member.name} »")
            if not (isinstance(member.sha256, str) and len(member.sha256) == 64):
                raise wrong(f"somme de contrôle du membre « {member.name} »")
            if member.name in seen:
                raise wrong(f"membre « {member.name} » en double")
            seen.add(member.name)
        engine = {"duckdb": "warehouse", "postgres": "postgres"}.get(self.backend)
        kinds = [m.kind for m in self.members]
        if engine is None or kinds.count(engine) != 1 or kinds.count("settings") != 1:
            raise wrong(f"moteur « {self.backend} » sans sa base, ou paramètres absents")

    def check_release(self, archive: Path) -> None:
        """Refuse a home newer than this release (it could not open it), as the opening of
        that home would (:func:`observatoire.store.versions.refuse_newer`)."""
        saved = f"sauvegardé dans {archive}"
        by = self.observatoire_version
        refuse_newer("son entrepôt", saved, self.schema_version, SCHEMA_VERSION, by)
        refuse_newer("sa base applicative", saved, self.app_version, len(APP_MIGRATIONS), by)


def engine_file(name: str) -> bool:
    """Whether a file at the top of a home belongs to a database engine (the warehouse's
    link, generations and lock; the application database and its journals): never copied as
    a file, never restored from one.

    >>> [engine_file(n) for n in ("entrepot.000042-5c1e.duckdb", "application.sqlite-wal",
    ...                           ".entrepot.duckdb.verrou", "portrait.yaml")]
    [True, True, True, False]
    """
    stem = Path(DUCKDB_FILE).stem
    return name.startswith((f"{stem}.", f".{stem}.", APP_FILE))


def _home_name(name: str) -> bool:
    """Whether ``name`` is a safe path of a home file in the archive: under ``fichiers/``,
    relative, without ``..`` nor empty parts (it is restored at that path in the home).

    >>> [_home_name(n) for n in ("fichiers/a/b.yaml", "fichiers/../x", "/etc/passwd")]
    [True, False, False]
    """
    if not name.startswith(FILES) or "\\" in name or "\x00" in name:
        return False
    parts = PurePosixPath(name.removeprefix(FILES)).parts
    return bool(parts) and not any(p in ("", ".", "..") or p.startswith("/") for p in parts)


def digest(path: Path) -> tuple[int, str]:
    """Size and SHA-256 of a file, read by blocks."""
    with path.open("rb") as handle:
        sha = hashlib.file_digest(handle, "sha256")
        return handle.tell(), sha.hexdigest()


class _Hashing(io.RawIOBase):
    """A reader that hashes and counts what goes through it."""

    def __init__(self, source: IO[bytes]) -> None:
        self.source = source
        self.sha = hashlib.sha256()
        self.size = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        block = self.source.read(size)
        self.sha.update(block)
        self.size += len(block)
        return block


# -- writing ------------------------------------------------------------------------------------
def _info(name: str, size: int, mode: int = 0o600) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = size, mode, 0
    return info


def compressed(target: Path) -> bool:
    """Whether the archive ``target`` is compressed: always, unless it is named ``….tar``.

    >>> compressed(Path("obs93-2026-03-01.tar.gz")), compressed(Path("obs93.tar"))
    (True, False)
    """
    return not target.name.endswith(".tar")


def write_archive(target: Path, manifest: Manifest, sources: Sequence[Path]) -> int:
    """The archive of ``manifest``, each member read from ``sources`` (in order), written
    whole or not at all, readable by its owner only, gzip-compressed unless named ``….tar``
    (gzip's fastest level: the warehouse halves, and it takes a second per 40 MB); its size.
    A :class:`MemberChanged` when a source no longer matches the manifest."""
    body = manifest.to_json()
    total = 0
    with writing(target) as partial:
        partial.unlink(missing_ok=True)  # never through a file (or a link) left there
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "wb") as raw:
            with (
                gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=1, mtime=0)
                if compressed(target)
                else nullcontext(raw) as packed,
                tarfile.open(fileobj=packed, mode="w|", format=tarfile.PAX_FORMAT) as tar,
            ):
                tar.addfile(_info(MANIFEST, len(body)), io.BytesIO(body))
                checksum = (hashlib.sha256(body).hexdigest() + "\n").encode()
                tar.addfile(_info(MANIFEST_SUM, len(checksum)), io.BytesIO(checksum))
                for member, source in zip(manifest.members, sources, strict=True):
                    _add_member(tar, member, source)
            raw.flush()
            os.fsync(raw.fileno())
            total = raw.tell()
    return total


def _add_member(tar: tarfile.TarFile, member: Member, source: Path) -> None:
    try:
        with source.open("rb") as handle:
            reader = _Hashing(handle)
            tar.addfile(_info(member.name, member.size), reader)
            grown = bool(handle.read(1))
    except (FileNotFoundError, OSError) as exc:
        raise MemberChanged(f"{member.name} a changé pendant la sauvegarde ({exc})") from None
    if grown or reader.sha.hexdigest() != member.sha256:
        raise MemberChanged(f"{member.name} a changé pendant la sauvegarde")


# -- reading ------------------------------------------------------------------------------------
@contextmanager
def _opened(archive: Path) -> Iterator[tuple[tarfile.TarFile, io.BufferedIOBase]]:
    """The archive as a tar stream, and the stream under it (gzip or plain)."""
    try:
        raw = archive.open("rb")
    except OSError as exc:
        raise InputError(f"sauvegarde illisible ({exc.strerror})", path=archive) from None
    with raw:
        compressed = raw.read(2) == b"\x1f\x8b"
        raw.seek(0)
        stream: io.BufferedIOBase = gzip.GzipFile(fileobj=raw, mode="rb") if compressed else raw
        try:
            tar = tarfile.open(fileobj=stream, mode="r|")  # noqa: SIM115 (closed below)
        except EOFError as exc:
            raise FileFormatError(
                f"sauvegarde tronquée : le fichier s'arrête dès son début ({exc})", path=archive
            ) from None
        except BROKEN as exc:
            raise FileFormatError(
                f"ce n'est pas une sauvegarde d'observatoire (archive tar illisible : {exc})",
                path=archive,
            ) from None
        with tar:
            yield tar, stream


def _data(tar: tarfile.TarFile, entry: tarfile.TarInfo, archive: Path) -> IO[bytes]:
    if not entry.isfile():
        raise FileFormatError(
            f"sauvegarde altérée : « {entry.name} » n'est pas un fichier", path=archive
        )
    data = tar.extractfile(entry)
    assert data is not None  # a regular file
    return data


def _manifest(tar: tarfile.TarFile, archive: Path) -> Manifest:
    first = tar.next()
    if first is None or first.name != MANIFEST or first.size > MAX_MANIFEST:
        raise FileFormatError(
            f"ce n'est pas une sauvegarde d'observatoire ({MANIFEST} absent en tête)",
            path=archive,
        )
    body = _data(tar, first, archive).read()
    second = tar.next()
    if second is None or second.name != MANIFEST_SUM:
        raise FileFormatError(f"sauvegarde tronquée : {MANIFEST_SUM} absent", path=archive)
    written = _data(tar, second, archive).read(200).decode("ascii", "replace").strip()
    if written != hashlib.sha256(body).hexdigest():
        raise FileFormatError(
            f"sauvegarde altérée : {MANIFEST} ne correspond pas à sa somme de contrôle",
            path=archive,
        )
    return Manifest.parse(body, archive)


def read_archive(
    archive: Path,
    place: Callable[[Member], Path] | None = None,
    expected: Manifest | None = None,
) -> Manifest:
    """The manifest of ``archive``, once every member has been checked against it; with
    ``place``, each member is also written where ``place`` says. ``expected``: the manifest
    read by a first pass (the archive must not have changed since)."""
    current = MANIFEST
    try:
        with _opened(archive) as (tar, stream):
            manifest = _manifest(tar, archive)
            if expected is not None and manifest != expected:
                raise FileFormatError("la sauvegarde a changé pendant sa lecture", path=archive)
            wanted = {m.name: m for m in manifest.members}
            while (entry := tar.next()) is not None:
                current = entry.name
                member = wanted.pop(entry.name, None)
                if member is None:
                    raise FileFormatError(
                        f"sauvegarde altérée : membre « {entry.name} » absent du manifeste",
                        path=archive,
                    )
                _check(_data(tar, entry, archive), member, archive, place)
            current = "(fin de l'archive)"
            while stream.read(BLOCK):  # the gzip stream to its end: its CRC and length
                pass
    except BROKEN as exc:
        raise FileFormatError(
            f"sauvegarde tronquée ou altérée : lecture impossible à « {current} » ({exc})",
            path=archive,
        ) from None
    if wanted:
        missing = ", ".join(sorted(wanted)[:5]) + (" …" if len(wanted) > 5 else "")
        raise FileFormatError(
            f"sauvegarde incomplète (tronquée ?) : {len(wanted)} membre(s) absent(s) : {missing}",
            path=archive,
        )
    return manifest


def _check(
    data: IO[bytes], member: Member, archive: Path, place: Callable[[Member], Path] | None
) -> None:
    reader = _Hashing(data)
    output: Any = None
    target = _written(place, member) if place is not None else None
    try:
        if target is not None:
            output = _written(target.open, "wb")
        while block := reader.read(BLOCK):
            if output is not None:
                _written(output.write, block)
    finally:
        if output is not None:
            _written(output.close)
    if reader.size != member.size:
        raise FileFormatError(
            f"sauvegarde altérée : « {member.name} » fait {reader.size} octets, le manifeste "
            f"en annonce {member.size}",
            path=archive,
        )
    if reader.sha.hexdigest() != member.sha256:
        raise FileFormatError(
            f"sauvegarde altérée : « {member.name} » ne correspond pas à sa somme de contrôle "
            "(SHA-256)",
            path=archive,
        )


def _written(action: Callable[..., Any], *args: object) -> Any:
    """``action(*args)`` on the restored side: its failure (a full disk) is no fault of the
    archive's."""
    try:
        return action(*args)
    except OSError as exc:
        raise HomeError(f"écriture impossible pendant la restauration : {exc}") from None
