"""A fake producer's service on 127.0.0.1 for the tests of :mod:`observatoire.remote`: each
route answers from a script (a list of answers given in turn, the last one repeated), files
are served with ``Range`` support, a download can be cut short after some bytes, and every
request is logged with the time of the (fake) clock the server shares with the client."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

__all__ = ["Answer", "FakeClock", "FakeRemote", "serving"]


@dataclass
class Answer:
    """One scripted answer: status, headers, body; ``cut`` bytes of the body only (the
    connection then dropped, the announced length unchanged)."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    cut: int | None = None


class FakeClock:
    """A clock the client and the server share; ``sleep`` moves it on without waiting."""

    def __init__(self, start: float = 1_000.0) -> None:
        self.now = start
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += max(0.0, seconds)


@dataclass
class FakeRemote:
    """The routes (path → answers in turn, or a function of the query) and the log of the
    requests received: (method, path, query, headers, clock time)."""

    clock: Callable[[], float] = lambda: 0.0
    routes: dict[str, list[Answer] | Callable[[dict[str, list[str]]], Answer]] = field(
        default_factory=dict
    )
    files: dict[str, bytes] = field(default_factory=dict)  # path → bytes, Range honoured
    cuts: dict[str, int] = field(default_factory=dict)  # path → bytes sent once, then dropped
    log: list[tuple[str, str, dict[str, list[str]], dict[str, str], float]] = field(
        default_factory=list
    )
    base: str = ""

    def answer(self, method: str, target: str, headers: dict[str, str]) -> tuple[Answer, int]:
        parts = urlsplit(target)
        query = parse_qs(parts.query)
        self.log.append((method, parts.path, query, headers, self.clock()))
        if parts.path in self.files:
            found, start = _ranged(self.files[parts.path], headers.get("range"))
            if parts.path in self.cuts:
                found.cut = self.cuts.pop(parts.path)
            return found, start
        route = self.routes.get(parts.path)
        if route is None:
            return Answer(404, b'{"message": "not found"}',
                          {"Content-Type": "application/json"}), 0  # fmt: skip
        if callable(route):
            return route(query), 0
        found = route.pop(0) if len(route) > 1 else route[0]
        return found, 0

    def requests(self, path: str | None = None) -> list[Any]:
        return [r for r in self.log if path is None or r[1] == path]


def _ranged(body: bytes, asked: str | None) -> tuple[Answer, int]:
    if asked and asked.startswith("bytes="):
        start = int(asked[6:].split("-")[0] or 0)
        return Answer(206, body[start:], {"Content-Range":
                      f"bytes {start}-{len(body) - 1}/{len(body)}"}), start  # fmt: skip
    return Answer(200, body), 0


@contextmanager
def serving(remote: FakeRemote) -> Iterator[FakeRemote]:
    """``remote`` answering on 127.0.0.1 (a free port) while the block runs; its ``base``
    is the server's address."""

    class Handler(BaseHTTPRequestHandler):
        def _reply(self, method: str) -> None:
            headers = {k.lower(): v for k, v in self.headers.items()}
            answer, _ = remote.answer(method, self.path, headers)
            self.send_response(answer.status)
            for key, value in answer.headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            if method == "HEAD":
                return
            body = answer.body if answer.cut is None else answer.body[: answer.cut]
            self.wfile.write(body)
            if answer.cut is not None:
                self.wfile.flush()
                self.close_connection = True

        def do_GET(self) -> None:
            self._reply("GET")

        def do_HEAD(self) -> None:
            self._reply("HEAD")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    remote.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield remote
    finally:
        server.shutdown()
        server.server_close()
