"""Polite HTTP to producers' services (remote/http.py), against a fake service on 127.0.0.1
(tests/fakeremote.py): the throttle counted per sliding minute on the server's clock, 429
waited out as Retry-After says, 503 retried then given up on in French, a download cut short
resumed with Range and checked against its size and checksum, an unreachable service and a
refused request said plainly. No test reaches the network."""

from __future__ import annotations

import hashlib
import json
import socket
from pathlib import Path
from typing import Any

import pytest

from observatoire.errors import RemoteError
from observatoire.remote.http import Patience, Polite, Throttle

from .fakeremote import Answer, FakeClock, FakeRemote, serving

JSON = {"Content-Type": "application/json"}


def _client(clock: FakeClock, **options: Any) -> Polite:
    """A client trusting the fake service's host (127.0.0.1), as a configured service is."""
    return Polite("Service test", clock=clock, sleep=clock.sleep, wall=clock,
                  trusted=["127.0.0.1"], **options)


def test_the_throttle_keeps_any_sliding_minute_under_the_limit() -> None:
    """90 requests at 25 a minute: no window of 60 s of the server's clock holds more than 25,
    and the client waited only as long as the limit asks (about three minutes)."""
    clock = FakeClock()
    remote = FakeRemote(clock=clock, routes={"/catalog": [Answer(200, b"[]", JSON)]})
    with serving(remote), _client(clock, limit=25) as client:
        start = clock.now
        for _ in range(90):
            client.get_json(f"{remote.base}/catalog")
    times = sorted(r[4] for r in remote.requests("/catalog"))
    assert len(times) == 90
    worst = max(sum(1 for t in times if s <= t < s + 60.0) for s in times)
    assert worst == 25
    assert 3 * 60 <= clock.now - start < 4 * 60


def test_a_throttle_alone_counts_and_pauses() -> None:
    clock = FakeClock(0.0)
    throttle = Throttle(2, 10.0, clock=clock, sleep=clock.sleep)
    for _ in range(5):
        throttle.wait()
    assert clock.slept == [10.0, 10.0]


def _worst(times: list[float], period: float) -> int:
    """The most times any window of ``period`` holds."""
    times = sorted(times)
    return max(sum(1 for t in times if s <= t < s + period) for s in times)


def test_throttles_sharing_a_file_share_one_limit(tmp_path: Path) -> None:
    """Two clients of one home (two processes' throttles on the same file) on one clock:
    together they never pass the limit in any window. Of what the file held, a line cut
    by a crash and a stray byte are skipped, a time older than the window forgotten, a time
    ahead of the clock (another host's) counted as now."""
    clock = FakeClock(0.0)
    shared = tmp_path / "rythme"
    shared.write_bytes(b"-50.0\n-3.25\n13.5e\n\xe9\n")
    first, second = (Throttle(3, 10.0, clock=clock, sleep=clock.sleep, shared=shared)
                     for _ in range(2))  # fmt: skip
    times = [throttle.wait() for throttle in [first, second] * 5]
    assert _worst([-3.25, *times], 10.0) == 3
    assert times == [0.0, 0.0, 6.75, 10.0, 10.0, 16.75, 20.0, 20.0, 26.75, 30.0]
    shared.write_text("1000.0\n", encoding="ascii")  # ahead of the clock: counted as now
    again = Throttle(1, 10.0, clock=clock, sleep=clock.sleep, shared=shared)
    assert again.wait() == 40.0 and clock.slept[-1] == 10.0


def test_threads_hammering_one_file_keep_the_limit(tmp_path: Path) -> None:
    """Four clients in threads, each its own throttle on the same file, on the wall clock
    (times with their fractions): the times they were counted at never hold more than the
    limit in any window."""
    import threading

    shared, counted = tmp_path / "rythme", []

    def client() -> None:
        throttle = Throttle(3, 0.2, shared=shared)
        counted.extend(throttle.wait() for _ in range(6))

    threads = [threading.Thread(target=client) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(counted) == 24 and _worst(counted, 0.2) == 3


_WORKER = """
import sys
from pathlib import Path
from observatoire.remote.http import Polite
with Polite("Service test", limit=4, period=1.0, trusted=["127.0.0.1"],
            shared=Path(sys.argv[2])) as client:
    for _ in range(8):
        client.get_json(sys.argv[1])
"""


def test_processes_of_one_home_share_the_limit(tmp_path: Path) -> None:
    """Two processes at 4 requests a second each, throttled through the same file: the
    times they were counted at (the file's) never hold more than 4 in a second (each alone
    would send its 8 within one), and the fake server received all 16."""
    import subprocess
    import sys

    shared = tmp_path / "rythme"
    remote = FakeRemote(routes={"/catalog": [Answer(200, b"[]", JSON)]})
    with serving(remote):
        workers = [subprocess.Popen([sys.executable, "-c", _WORKER, f"{remote.base}/catalog",
                                     str(shared)]) for _ in range(2)]  # fmt: skip
        assert [w.wait(timeout=60) for w in workers] == [0, 0]
    assert len(remote.requests("/catalog")) == 16
    kept = [float(line) for line in shared.read_text("ascii").split()]
    assert len(kept) == 4 and _worst(kept, 1.0) == 4  # the last second's, at full precision


def test_429_is_waited_out_as_retry_after_says_and_503_is_retried() -> None:
    clock = FakeClock()
    remote = FakeRemote(clock=clock, routes={
        "/data": [Answer(429, b"Too Many Requests", {"Retry-After": "37"}),
                  Answer(503, b"", {}), Answer(200, b'{"ok": true}', JSON)],
    })  # fmt: skip
    with serving(remote), _client(clock) as client:
        assert client.get_json(f"{remote.base}/data", {"GEO": "COM-93066"}) == {"ok": True}
    assert clock.slept == [37.0, 74.0]  # the service's pause, then doubled
    assert remote.requests("/data")[0][2] == {"GEO": ["COM-93066"]}


def test_a_service_that_keeps_failing_is_given_up_on_with_a_french_message() -> None:
    clock = FakeClock()
    remote = FakeRemote(clock=clock, routes={"/down": [Answer(503)],
                                             "/busy": [Answer(429, b"", {"Retry-After": "3600"})],
                                             "/gone": [Answer(404, b"not here")]})  # fmt: skip
    with serving(remote), _client(clock, patience=Patience(retries=3)) as client:
        with pytest.raises(RemoteError, match=r"indisponible \(HTTP 503\) après 4 essais"):
            client.get_json(f"{remote.base}/down")
        with pytest.raises(RemoteError, match="demande d'attendre 3600 s"):
            client.get_json(f"{remote.base}/busy")
        with pytest.raises(RemoteError, match=r"refusé \(HTTP 404"):
            client.get_json(f"{remote.base}/gone")
    assert len(remote.requests("/down")) == 4 and len(remote.requests("/gone")) == 1


def test_an_unreachable_service_is_said_unreachable() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    clock = FakeClock()
    with _client(clock, patience=Patience(retries=1)) as client, pytest.raises(
        RemoteError, match="injoignable"
    ):
        client.get_json(f"http://127.0.0.1:{port}/catalog")


def test_a_download_cut_short_resumes_and_is_checked(tmp_path: Path) -> None:
    """The first answer stops after 100 000 bytes: the second asks for the rest with Range;
    the file is whole and its checksum the producer's. A wrong checksum or size discards it."""
    body = json.dumps([{"n": i, "texte": "é" * 10} for i in range(20_000)]).encode()
    digest = hashlib.sha256(body).hexdigest()
    clock = FakeClock()
    remote = FakeRemote(clock=clock, files={"/f.json": body}, cuts={"/f.json": 100_000})
    with serving(remote), _client(clock) as client:
        target = client.download(f"{remote.base}/f.json", tmp_path / "f.json",
                                 size=len(body), checksum=("sha256", digest))  # fmt: skip
        with pytest.raises(RemoteError, match="empreinte sha256 différente"):
            client.download(f"{remote.base}/f.json", tmp_path / "h.json",
                            checksum=("sha256", "0" * 64))  # fmt: skip
        with pytest.raises(RemoteError, match="octets reçus"):
            client.download(f"{remote.base}/f.json", tmp_path / "i.json", size=12)
    assert target.read_bytes() == body
    ranges = [r[3].get("range") for r in remote.requests("/f.json")]
    assert ranges[0] is None and ranges[1].startswith("bytes=")  # resumed from what was kept
    assert 0 < int(ranges[1][6:-1]) <= 100_000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.json"]  # nothing half-written
    # a small file (under a read block) cut: what arrived is kept, the rest asked for
    small = body[:30_000]
    remote = FakeRemote(clock=clock, files={"/s.json": small}, cuts={"/s.json": 10_000})
    with serving(remote), _client(clock) as client:
        client.download(f"{remote.base}/s.json", tmp_path / "s.json", size=len(small))
    assert (tmp_path / "s.json").read_bytes() == small
    assert [r[3].get("range") for r in remote.requests("/s.json")] == [None, "bytes=10000-"]


def test_addresses_a_producer_gives_are_checked(tmp_path: Path) -> None:
    """A producer's answer cannot send the client to an internal address: an untrusted host
    must be https and resolve outside private, loopback and link-local ranges; a redirect to
    such an address is refused at its hop; other schemes never."""
    clock = FakeClock()
    remote = FakeRemote(clock=clock, routes={
        "/go": [Answer(302, b"", {"Location": "http://169.254.169.254/latest/meta-data"})]})
    with serving(remote), _client(clock) as client:
        for url, why in ((f"https://localhost:{remote.base.rsplit(':', 1)[1]}/x", "interne"),
                         ("http://10.0.0.1/fichier.csv", "https attendu"),
                         ("file:///etc/passwd", "http\\(s\\) attendu"),
                         ("https://exemple.fr:abc/f.csv", "adresse invalide"),
                         ("https://[::1/f.csv", "adresse invalide"),
                         (f"{remote.base[:-1]}x/f.csv", "adresse invalide")):  # a trusted host
            with pytest.raises(RemoteError, match=why):
                client.download(url, tmp_path / "x.csv")
        with pytest.raises(RemoteError, match="https attendu"):
            client.get_json(f"{remote.base}/go")  # the redirect's target is refused
    assert not list(tmp_path.iterdir())
    assert len(remote.requests("/go")) == 1


def test_the_connection_itself_must_reach_a_public_address(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DNS rebinding: a producer's name judged public (the check of the name made to pass
    here) whose connection reaches 127.0.0.1 — its first resolution, by the connection;
    asked again it would say a public address, so only the address read on the connection
    itself tells — is refused, and nothing of the answer is kept. With loopback taken as
    public, the same request passes."""
    import socket as sockets

    from observatoire.remote import http

    clock = FakeClock()
    remote = FakeRemote(clock=clock, routes={"/data": [Answer(200, b"[1]", JSON)]})
    real = sockets.getaddrinfo
    asked: list[str] = []

    def rebinding(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host != "producteur.test":
            return real(host, port, *args, **kwargs)
        asked.append(host)
        where = "127.0.0.1" if len(asked) % 2 else "93.184.216.34"
        return [(sockets.AF_INET, sockets.SOCK_STREAM, 6, "", (where, port))]

    monkeypatch.setattr(sockets, "getaddrinfo", rebinding)
    monkeypatch.setattr(Polite, "_checked", lambda self, url: True)
    with serving(remote), Polite("Service test", clock=clock, sleep=clock.sleep,
                                 wall=clock) as client:  # fmt: skip
        url = remote.base.replace("127.0.0.1", "producteur.test") + "/data"
        with pytest.raises(RemoteError, match="a mené à une adresse interne"):
            client.get_json(url)
        with pytest.raises(RemoteError, match="a mené à une adresse interne"):
            client.download(url, tmp_path / "kept.json")
        assert not list(tmp_path.iterdir()) and len(remote.requests("/data")) == 2
        monkeypatch.setattr(http, "_public", lambda address: address == "127.0.0.1")
        assert client.get_json(url) == [1]


def test_proxies_are_read_as_httpx_reads_them(monkeypatch: pytest.MonkeyPatch) -> None:
    from observatoire.remote.http import _proxied

    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY",
                 "all_proxy", "NO_PROXY", "no_proxy"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    assert not _proxied("https", "www.data.gouv.fr")
    monkeypatch.setenv("ALL_PROXY", "http://10.1.2.3:3128")
    assert _proxied("https", "www.data.gouv.fr")
    monkeypatch.setenv("NO_PROXY", ".gouv.fr")
    assert not _proxied("https", "www.data.gouv.fr") and _proxied("https", "example.org")


def test_a_download_beyond_its_limit_is_refused_and_removed(tmp_path: Path) -> None:
    clock = FakeClock()
    remote = FakeRemote(clock=clock, files={"/gros.csv": b"x" * 300_000})
    with serving(remote), _client(clock) as client:
        with pytest.raises(RemoteError, match="limite de 100000"):
            client.download(f"{remote.base}/gros.csv", tmp_path / "gros.csv", max_bytes=100_000)
        with pytest.raises(RemoteError, match="annonce 300000 octets"):
            client.download(f"{remote.base}/gros.csv", tmp_path / "gros.csv", size=300_000,
                            max_bytes=100_000)  # fmt: skip
    assert not list(tmp_path.iterdir())


def test_requests_go_through_the_proxy_the_environment_names(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """``HTTP_PROXY`` (as an administrator sets it for cron): the catalogue and the download
    pass through the proxy, a forwarding proxy on 127.0.0.1 that counts what it relays."""
    import http.client
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from urllib.parse import urlsplit

    relayed: list[str] = []

    class Proxy(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            relayed.append(self.path)  # absolute form: http://host:port/path
            target = urlsplit(self.path)
            upstream = http.client.HTTPConnection(target.hostname or "127.0.0.1", target.port,
                                                  timeout=10)  # fmt: skip
            headers = {k: v for k, v in self.headers.items() if k.lower() != "proxy-connection"}
            upstream.request("GET", target.path + (f"?{target.query}" if target.query else ""),
                             headers=headers)  # fmt: skip
            answer = upstream.getresponse()
            body = answer.read()
            self.send_response(answer.status)
            for key, value in answer.getheaders():
                if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    proxy = ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    clock = FakeClock()
    remote = FakeRemote(clock=clock, routes={"/catalog": [Answer(200, b'{"ok": 1}', JSON)]},
                        files={"/f.csv": b"CODGEO;A\n93066;12\n"})  # fmt: skip
    try:
        with serving(remote):
            monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.server_address[1]}")
            monkeypatch.delenv("NO_PROXY", raising=False)
            monkeypatch.delenv("no_proxy", raising=False)
            with _client(clock) as client:
                assert client.get_json(f"{remote.base}/catalog") == {"ok": 1}
                client.download(f"{remote.base}/f.csv", tmp_path / "f.csv")
    finally:
        proxy.shutdown()
        proxy.server_close()
    assert (tmp_path / "f.csv").read_bytes() == b"CODGEO;A\n93066;12\n"
    assert [urlsplit(p).path for p in relayed] == ["/catalog", "/f.csv"]
    assert len(remote.requests()) == 2  # what the proxy relayed reached the service
