"""Uploads bounded while they are received, and request bodies bounded on every route.

    app.add_middleware(BodyLimit, limits={"/imports": 512 MiB}, default=1 MiB)
    upload = await receive_upload(request, folder=deposits, max_bytes=MAX_UPLOAD)

:class:`BodyLimit` refuses a body larger than its route's limit before reading it when the
``Content-Length`` says so, and stops reading at the limit otherwise (a chunked body): no form
parser ever spools more than that to a temporary file. :func:`receive_upload` parses a
multipart form as it streams in and writes its one file straight into a new folder, counting
bytes as they come: past ``max_bytes`` the partial file is removed and
:class:`~observatoire.errors.TooLargeError` raised. A file name is checked before a byte is
written (``..``, ``.``, an empty or overlong name, control characters are refused). On any
error the folder is removed: a refused upload leaves nothing behind.
"""

from __future__ import annotations

import asyncio
import shutil
import unicodedata
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from observatoire.errors import InputError, TooLargeError

__all__ = [
    "MAX_DOCUMENT",
    "MAX_NAME",
    "MAX_UPLOAD",
    "MIB",
    "BodyLimit",
    "Upload",
    "one_at_a_time",
    "receive_upload",
    "safe_file_name",
]

MIB = 1024**2
MAX_UPLOAD = 512 * MIB  # a file deposited to be imported (/imports, /api/v1/imports)
MAX_DOCUMENT = 200 * MIB  # a document filed in the library (/documents)
MAX_NAME = 200  # characters of an uploaded file's name
MAX_FIELD = 64 * 1024  # bytes of one ordinary form field
MAX_FIELDS = 50
IDLE_SECONDS = 60.0  # an upload that sends nothing for this long is cut off


def safe_file_name(raw: str) -> str:
    """The name an uploaded file is stored under: its last path component, or an error.

    >>> safe_file_name("C:\\\\Users\\\\moi\\\\FILO2019.csv"), safe_file_name("  data.csv ")
    ('FILO2019.csv', 'data.csv')
    >>> safe_file_name("..")
    Traceback (most recent call last):
    ...
    observatoire.errors.InputError: nom de fichier invalide « .. » : renommez le fichier
    """
    name = raw.replace("\\", "/").rsplit("/", 1)[-1].strip()
    if any(unicodedata.category(ch) in ("Cc", "Cf") for ch in name):
        # control characters, and format ones: a right-to-left override shows « exe.csv »
        # as « vsc.exe », a zero-width space hides in a name
        raise InputError("nom de fichier avec des caractères de contrôle : renommez le fichier")
    if name in ("", ".", ".."):
        raise InputError(f"nom de fichier invalide « {name} » : renommez le fichier")
    if len(name) > MAX_NAME or len(name.encode()) > 250:
        raise InputError(
            f"nom de fichier trop long ({len(name)} caractères, {MAX_NAME} au plus) : "
            "renommez le fichier"
        )
    return name


@dataclass
class Upload:
    """A received multipart form: its ordinary fields and its one file, written in
    ``folder`` (None when the form held no file)."""

    fields: dict[str, str] = field(default_factory=dict)
    path: Path | None = None
    folder: Path | None = None
    size: int = 0

    @property
    def name(self) -> str:
        return self.path.name if self.path is not None else ""

    def discard(self) -> None:
        """Remove what was written (the whole folder)."""
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)


class _Receiver:
    """python-multipart callbacks: fields kept in memory (bounded), the file written."""

    def __init__(
        self,
        folder: Path,
        max_bytes: int,
        file_field: str,
        before_file: Callable[[Mapping[str, str]], None],
        charset: str,
    ) -> None:
        self.upload = Upload()
        self.folder = folder
        self.max_bytes = max_bytes
        self.file_field = file_field
        self.before_file = before_file
        self.charset = charset
        self._header_name = b""
        self._header_value = b""
        self._disposition = b""
        self._field: str | None = None
        self._data = bytearray()
        self._out: Any = None
        self.ended = False  # the closing boundary was read

    def on_part_begin(self) -> None:
        self._disposition, self._field, self._data = b"", None, bytearray()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]
        if len(self._header_value) > MAX_FIELD:
            raise InputError("en-tête de formulaire démesuré")

    def on_header_end(self) -> None:
        if self._header_name.lower() == b"content-disposition":
            self._disposition = self._header_value
        self._header_name, self._header_value = b"", b""

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self._disposition)
        field_name = options.get(b"name")
        if field_name is None:
            raise InputError("formulaire mal formé : partie sans nom")
        self._field = field_name.decode(self.charset, "replace")
        if b"filename" not in options:
            if len(self.upload.fields) >= MAX_FIELDS:
                raise InputError(f"formulaire de plus de {MAX_FIELDS} champs")
            return
        if self._field != self.file_field or self.upload.path is not None:
            raise InputError(f"un seul fichier attendu, dans le champ « {self.file_field} »")
        raw = options[b"filename"].decode(self.charset, "replace")
        if not raw:
            raise InputError("choisissez un fichier à déposer")
        name = safe_file_name(raw)
        self.before_file(self.upload.fields)
        self.folder.mkdir(parents=True)
        self.upload.folder = self.folder
        self.upload.path = self.folder / name
        self._out = self.upload.path.open("wb")

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._out is not None:
            self.upload.size += end - start
            if self.upload.size > self.max_bytes:
                raise TooLargeError(
                    f"fichier de plus de {self.max_bytes // MIB} Mo : découpez-le (par année "
                    "ou par département) ou importez-le en ligne de commande"
                )
            self._out.write(data[start:end])
            return
        if len(self._data) + end - start > MAX_FIELD:
            raise InputError(f"champ « {self._field} » trop long")
        self._data += data[start:end]

    def on_part_end(self) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None
        elif self._field is not None:
            self.upload.fields[self._field] = self._data.decode(self.charset, "replace")

    def on_end(self) -> None:
        self.ended = True

    def close(self) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None


async def receive_upload(
    request: Request,
    *,
    folder: Path,
    max_bytes: int,
    file_field: str = "fichier",
    before_file: Callable[[Mapping[str, str]], None] = lambda _: None,
) -> Upload:
    """Parse the multipart form of ``request`` as it streams in; its file goes to
    ``folder/<name>`` (``folder`` is created, and must not exist). ``before_file`` sees the
    fields received before the file (the CSRF token) and may refuse it before any byte is
    written. Any error removes ``folder``."""
    kind, params = parse_options_header(request.headers.get("content-type", ""))
    boundary = params.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary:
        raise InputError("envoyez le fichier dans un formulaire multipart/form-data")
    charset = params.get(b"charset", b"utf-8").decode("latin-1")
    receiver = _Receiver(folder, max_bytes, file_field, before_file, charset)
    callbacks: Any = {
        name: getattr(receiver, name)
        for name in (
            "on_part_begin",
            "on_part_data",
            "on_part_end",
            "on_header_field",
            "on_header_value",
            "on_header_end",
            "on_headers_finished",
            "on_end",
        )
    }
    try:
        parser = MultipartParser(boundary, callbacks, max_size=max_bytes + MIB)
        stream = request.stream().__aiter__()
        while True:
            try:
                chunk = await asyncio.wait_for(stream.__anext__(), timeout=IDLE_SECONDS)
            except StopAsyncIteration:
                break
            except TimeoutError:
                raise InputError(
                    f"envoi interrompu : plus rien reçu depuis {IDLE_SECONDS:.0f} s"
                ) from None
            parser.write(chunk)
        parser.finalize()
        if not receiver.ended:
            raise InputError("envoi interrompu : le formulaire n'est pas arrivé en entier")
    except FormParserError:
        receiver.close()
        receiver.upload.discard()
        raise InputError("formulaire multipart mal formé") from None
    except BaseException:
        receiver.close()
        receiver.upload.discard()
        raise
    receiver.close()
    return receiver.upload


@asynccontextmanager
async def one_at_a_time(busy: set[str], account: str) -> AsyncIterator[None]:
    """A deposit of ``account`` at a time in this server process (received, then validated):
    several at once would hold disk and processor for one account. ``busy`` is the server's
    set of the accounts depositing."""
    if account in busy:
        raise InputError(
            "un autre dépôt de votre compte est en cours de réception ou de vérification : "
            "attendez qu'il finisse"
        )
    busy.add(account)
    try:
        yield
    finally:
        busy.discard(account)


class BodyLimit:
    """ASGI middleware: a request body is bounded by its route's limit (``limits``, by exact
    path: the upload routes; ``default`` for every other): refused with 413 when its
    ``Content-Length`` is larger, cut off at the limit otherwise."""

    def __init__(self, app: ASGIApp, *, limits: Mapping[str, int], default: int) -> None:
        self.app = app
        self.limits = dict(limits)
        self.default = default

    def limit_of(self, path: str) -> int:
        return self.limits.get(path.rstrip("/") or "/", self.default)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        limit = self.limit_of(scope["path"])
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await _too_large(scope, send, limit)
            return
        received = 0

        async def bounded() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise TooLargeError(f"requête de plus de {limit // MIB or 1} Mo")
            return message

        try:
            await self.app(scope, bounded, send)
        except TooLargeError:
            await _too_large(scope, send, limit)


async def _too_large(scope: Scope, send: Send, limit: int) -> None:
    import json

    size = f"{limit // MIB} Mo" if limit >= MIB else f"{limit // 1024} Ko"
    message = f"requête trop volumineuse : {size} au plus sur cette adresse"
    body = json.dumps({"error": message, "status": 413}, ensure_ascii=False).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    try:
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})
    except RuntimeError:  # a response had already started: nothing more can be said
        pass
