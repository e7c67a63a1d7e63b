"""Polite HTTP to producers' services: every request under a throttle (no more than a
service's published limit in any sliding minute), a timeout on every call, HTTP 429 waited
out as the service asks (``Retry-After``) and 5xx retried with a growing pause, both with a
ceiling after which a French message says what happened; downloads resumed where they stopped
(``Range``), checked against the size and checksum the producer announces, and written whole
or not at all. Proxies come from the usual environment variables (``HTTPS_PROXY``,
``HTTP_PROXY``, ``NO_PROXY``), as httpx reads them.

The clock and the pause are injected, so that tests count requests per minute on the fake
server's clock without waiting.
"""

from __future__ import annotations

import email.utils
import fcntl
import hashlib
import ipaddress
import re
import socket
import time
import urllib.request
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from observatoire.errors import RemoteError

__all__ = ["MAX_DOWNLOAD", "Polite", "Throttle", "retry_after"]

USER_AGENT = "observatoire (observatoire social ; https://pypi.org/project/observatoire)"
_RETRIED = {429, 500, 502, 503, 504}
_BLOCK = 1 << 16
_HOPS = 5  # redirects followed, at most
MAX_DOWNLOAD = 4 * 1024**3  # the import's own limit (observatoire.ingest.archives)


class Throttle:
    """At most ``limit`` requests in any window of ``period`` seconds (a sliding log of the
    last requests' times). With ``shared``, the log is a file every process of the home
    writes under a lock (the web server, a cron job and a user's command share one limit);
    its times are then the wall clock's (the default ``clock`` then)."""

    def __init__(self, limit: int, period: float = 60.0, *,
                 clock: Callable[[], float] | None = None,
                 sleep: Callable[[float], None] = time.sleep,
                 shared: Path | None = None) -> None:  # fmt: skip
        if limit < 1:
            raise ValueError("a throttle lets at least one request through")
        self.limit, self.period = limit, period
        self.clock = clock or (time.time if shared is not None else time.monotonic)
        self.sleep, self.shared = sleep, shared
        self._sent: deque[float] = deque()

    def wait(self) -> float:
        """Pause until one more request fits in the window, then count it; the time it
        was counted at."""
        if self.shared is not None:
            return self._wait_shared(self.shared)
        now = self.clock()
        while self._sent and self._sent[0] <= now - self.period:
            self._sent.popleft()
        if len(self._sent) >= self.limit:
            self.sleep(self._sent[0] + self.period - now)
            now = self.clock()
            while self._sent and self._sent[0] <= now - self.period:
                self._sent.popleft()
        self._sent.append(now)
        return now

    def _wait_shared(self, path: Path) -> float:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            while True:
                with path.open("a+", encoding="ascii", errors="replace") as handle:
                    fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file is closed
                    handle.seek(0)
                    now = self.clock()
                    # a time ahead of this clock (another host's, or a clock set back)
                    # is kept as now: neither dropped (a burst) nor waited for
                    sent = sorted(min(t, now) for t in _times(handle.read())
                                  if t > now - self.period)  # fmt: skip
                    passes = len(sent) < self.limit
                    handle.seek(0)
                    handle.truncate()
                    kept = [*sent, now] if passes else sent
                    handle.write("".join(f"{t!r}\n" for t in kept))
                    handle.flush()
                    if passes:
                        return now
                    pause = sent[-self.limit] + self.period - now
                self.sleep(max(pause, 0.001))  # the lock is not held while waiting
        except OSError as error:
            raise RemoteError(f"rythme des requêtes : {path} illisible ou non inscriptible "
                              f"({error.strerror}) ; vérifiez ses droits") from None  # fmt: skip


def _times(text: str) -> Iterator[float]:
    """The times a shared throttle's file holds (a line cut by a crash is skipped)."""
    for line in text.split():
        try:
            yield float(line)
        except ValueError:
            continue


def retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: a number of seconds or an HTTP date
    (``now``: the current Unix time); None when absent or unreadable.

    >>> retry_after("12", 0.0), retry_after(None, 0.0)
    (12.0, None)
    >>> retry_after("Thu, 01 Jan 1970 00:01:00 GMT", 30.0)
    30.0
    """
    if not value:
        return None
    text = value.strip()
    if re.fullmatch(r"[0-9]{1,9}", text):
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # « -0000 »: UTC, with no zone said
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now)


@dataclass(frozen=True)
class Patience:
    """How long a client keeps trying: ``retries`` new attempts after a 429, a 5xx or a
    dropped connection; pauses doubling from ``backoff`` seconds; no single pause longer
    than ``ceiling`` seconds (a service asking for more is given up on, with its words)."""

    retries: int = 4
    backoff: float = 2.0
    ceiling: float = 120.0


class Polite:
    """An HTTP client for one service (``name``, for messages), throttled to ``limit``
    requests a ``period`` (counted in the file ``shared`` with other processes, if given)."""

    def __init__(self, name: str, *, limit: int = 25, period: float = 60.0,
                 timeout: float = 30.0, patience: Patience = Patience(),
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep,
                 wall: Callable[[], float] = time.time, trusted: Iterable[str] = (),
                 transport: httpx.BaseTransport | None = None,
                 shared: Path | None = None) -> None:  # fmt: skip
        self.name = name
        self.throttle = Throttle(limit, period, clock=wall if shared else clock, sleep=sleep,
                                 shared=shared)  # fmt: skip
        self.patience = patience
        self.sleep, self.wall = sleep, wall
        self.trusted = frozenset(h.lower() for h in trusted)  # the configured services' hosts
        self.requests = 0  # sent, retries included
        # redirects are followed by hand, each address checked (:meth:`_checked`)
        self._client = httpx.Client(timeout=timeout, transport=transport, follow_redirects=False,
                                    headers={"User-Agent": USER_AGENT})  # fmt: skip

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Polite:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get_json(self, url: str, params: Mapping[str, Any] | None = None) -> Any:
        """The JSON answer of a GET."""
        answer = self._send(url, params=params)
        try:
            return answer.json()
        except ValueError:
            raise RemoteError(f"{self.name} : réponse illisible (JSON attendu) de "
                              f"{_short(url)}") from None  # fmt: skip

    def head(self, url: str) -> httpx.Response:
        """The headers of a resource (its size, date, ETag), by a HEAD."""
        return self._send(url, method="HEAD")

    def download(self, url: str, target: Path, *, size: int | None = None,
                 checksum: tuple[str, str] | None = None,
                 max_bytes: int = MAX_DOWNLOAD) -> Path:  # fmt: skip
        """``url`` saved as ``target``, whole or not at all: the bytes already in
        ``<target>.partiel`` (an earlier attempt cut short) are kept and the rest asked for
        with ``Range``; the file is checked against ``size`` and ``checksum`` (algorithm,
        hexadecimal digest: sha256, sha1, md5) before it takes its name; beyond ``max_bytes``
        (announced or received) it is refused and removed."""
        if size is not None and size > max_bytes:
            raise RemoteError(f"{self.name} : {_short(url)} annonce {size} octets, au-delà de "
                              f"la limite de {max_bytes}")  # fmt: skip
        partial = target.with_name(target.name + ".partiel")
        target.parent.mkdir(parents=True, exist_ok=True)
        pause, last = self.patience.backoff, ""
        for attempt in range(self.patience.retries + 1):
            if attempt:
                self.sleep(min(pause, self.patience.ceiling))
                pause *= 2
            have = have_before = partial.stat().st_size if partial.exists() else 0
            headers = {"Accept-Encoding": "identity"} | ({"Range": f"bytes={have}-"} if have
                                                         else {})  # fmt: skip
            try:
                with self._opened(url, headers) as answer:
                    if answer.status_code == 416:  # what was kept is no prefix of the file
                        partial.unlink(missing_ok=True)
                        last = "reprise impossible, téléchargement recommencé"
                        continue
                    if answer.status_code in _RETRIED:
                        last, pause = self._limited(answer, pause)
                        continue
                    if answer.status_code >= 400:
                        raise RemoteError(f"{self.name} : {_short(url)} refusé (HTTP "
                                          f"{answer.status_code})")  # fmt: skip
                    if have and not _resumes(answer, have):  # the server starts over
                        have = 0
                    expected = _expected_length(answer, have)
                    if expected is not None and expected > max_bytes:
                        raise RemoteError(f"{self.name} : {_short(url)} : {expected} octets, "
                                          f"au-delà de la limite de {max_bytes}")  # fmt: skip
                    with partial.open("ab" if have else "wb") as out:
                        for block in answer.iter_raw():  # as it arrives: kept if cut
                            have += len(block)
                            if have > max_bytes:
                                raise RemoteError(f"{self.name} : {_short(url)} dépasse la "
                                                  f"limite de {max_bytes} octets")  # fmt: skip
                            out.write(block)
            except httpx.TransportError as error:
                cut = partial.exists() and partial.stat().st_size > have_before
                last = "téléchargement coupé en cours de route" if cut else _transport(error, url)
                continue
            except RemoteError:
                partial.unlink(missing_ok=True)
                raise
            if expected is not None and partial.stat().st_size < expected:
                last = "téléchargement interrompu"
                continue  # cut short: resume from what arrived
            _check(partial, url, size, checksum)
            partial.replace(target)
            return target
        raise RemoteError(f"{self.name} : {last or 'échec'} après {self.patience.retries + 1} "
                          f"essais ({_short(url)}) ; relancez : le téléchargement reprendra "
                          "où il s'est arrêté")  # fmt: skip

    @contextmanager
    def _opened(self, url: str, headers: Mapping[str, str]) -> Iterator[httpx.Response]:
        """A streamed GET of ``url`` (see :meth:`_request`), closed after the block."""
        answer = self._request("GET", url, None, headers=headers, stream=True)
        try:
            yield answer
        finally:
            answer.close()

    def _checked(self, url: str) -> bool:
        """Refuse an address a producer's answer may not send us to: another scheme than
        http(s), or — outside the configured services' hosts — plain http or a host that
        resolves to a private, loopback, link-local or reserved address. True when the
        address was judged on its resolution, which the connection must then match (a
        name may resolve otherwise a moment later: :func:`_reached`)."""
        try:
            parts = urlsplit(url)
            host, port = (parts.hostname or "").lower(), parts.port
        except ValueError as error:  # « [::1 », a port that is no number
            raise RemoteError(f"{self.name} : adresse invalide ({_short(url)} : "
                              f"{error})") from None  # fmt: skip
        if parts.scheme not in ("http", "https") or not host:
            raise RemoteError(f"{self.name} : adresse refusée ({_short(url)}) : http(s) attendu")
        if host in self.trusted:
            return False
        if parts.scheme != "https":
            raise RemoteError(f"{self.name} : adresse refusée ({_short(url)}) : https attendu")
        proxied = _proxied(parts.scheme, host)
        try:
            found = {info[4][0] for info in socket.getaddrinfo(host, port or 443)}
        except (OSError, UnicodeError):
            if proxied:
                return False  # behind a proxy, names are the proxy's to resolve (https asked)
            raise RemoteError(f"{self.name} : {host} introuvable (hors ligne ?)") from None
        for address in found:
            if not _public(str(address)):
                raise RemoteError(f"{self.name} : adresse refusée ({host} désigne une adresse "
                                  "interne)")  # fmt: skip
        return not proxied  # through a proxy, the connection is the proxy's

    def _send(self, url: str, *, params: Mapping[str, Any] | None = None,
              method: str = "GET") -> httpx.Response:  # fmt: skip
        pause, last = self.patience.backoff, ""
        for attempt in range(self.patience.retries + 1):
            if attempt:
                self.sleep(min(pause, self.patience.ceiling))
                pause *= 2
            try:
                answer = self._request(method, url, params)
            except httpx.ProxyError as error:
                raise RemoteError(f"{self.name} : le proxy refuse ou ne répond pas ({error}) ; "
                                  "vérifiez HTTPS_PROXY / HTTP_PROXY") from None  # fmt: skip
            except httpx.TransportError as error:
                last = _transport(error, url)
                continue
            if answer.status_code < 400:
                return answer
            if answer.status_code not in _RETRIED:
                raise RemoteError(f"{self.name} : {_short(url)} refusé (HTTP "
                                  f"{answer.status_code}{_reason(answer)})")  # fmt: skip
            last, pause = self._limited(answer, pause)
        raise RemoteError(f"{self.name} : {last} après {self.patience.retries + 1} essais "
                          f"({_short(url)})")  # fmt: skip

    def _request(self, method: str, url: str, params: Mapping[str, Any] | None, *,
                 headers: Mapping[str, str] | None = None,
                 stream: bool = False) -> httpx.Response:  # fmt: skip
        """One request counted by the throttle, its redirects followed by hand (at most
        five, each address checked)."""
        for _hop in range(_HOPS):
            guarded = self._checked(url)
            self.throttle.wait()
            self.requests += 1
            try:
                request = self._client.build_request(method, url, params=params,
                                                     headers=dict(headers or {}))  # fmt: skip
            except (httpx.InvalidURL, ValueError) as error:
                raise RemoteError(f"{self.name} : adresse invalide ({_short(url)} : "
                                  f"{error})") from None  # fmt: skip
            answer = self._client.send(request, stream=True)
            if guarded:
                reached = _reached(answer)
                if reached is None or not _public(reached):
                    answer.close()
                    why = ("a mené à une adresse interne" if reached
                           else "adresse de connexion invérifiable")  # fmt: skip
                    raise RemoteError(f"{self.name} : adresse refusée "
                                      f"({urlsplit(url).hostname} {why})")  # fmt: skip
            if not stream:
                answer.read()
            if not (answer.is_redirect and answer.next_request is not None):
                return answer
            url, params = str(answer.next_request.url), None
            answer.close()
        raise RemoteError(f"{self.name} : trop de redirections ({_short(url)})")

    def _limited(self, answer: httpx.Response, pause: float) -> tuple[str, float]:
        """What a 429 or 5xx says, and the pause before the next try (the service's
        ``Retry-After`` when longer); beyond the ceiling, give up with its words."""
        code = answer.status_code
        said = ("limite de requêtes atteinte (HTTP 429)" if code == 429
                else f"service indisponible (HTTP {code})")  # fmt: skip
        asked = retry_after(answer.headers.get("Retry-After"), self.wall())
        if asked is not None and asked > self.patience.ceiling:
            raise RemoteError(f"{self.name} : {said} ; le service demande d'attendre "
                              f"{asked:.0f} s : relancez plus tard")  # fmt: skip
        return said, max(pause, asked or 0.0)


def _public(address: str) -> bool:
    """Whether an IP address is a public one (not private, loopback, link-local…, nor an
    IPv6 form of an IPv4 address that is not: ``::ffff:10.0.0.1``, ``64:ff9b::a00:1``, 6to4).

    >>> _public("93.184.216.34"), _public("10.1.2.3"), _public("::ffff:127.0.0.1")
    (True, False, False)
    >>> _public("64:ff9b::a00:1"), _public("2002:7f00:1::"), _public("fec0::1")
    (False, False, False)
    """
    try:
        ip = ipaddress.ip_address(address.split("%")[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour
        if ip in ipaddress.ip_network("64:ff9b::/96"):  # NAT64
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if ip.is_site_local or (embedded is not None and not embedded.is_global):
            return False
    return ip.is_global


def _proxied(scheme: str, host: str) -> bool:
    """Whether a request to ``host`` goes through a proxy of the environment, as httpx
    reads them (``HTTPS_PROXY``, ``HTTP_PROXY``, ``ALL_PROXY``, minus ``NO_PROXY``)."""
    proxies = urllib.request.getproxies_environment()
    if not (proxies.get(scheme) or proxies.get("all")):
        return False
    return not urllib.request.proxy_bypass(host)  # NO_PROXY (the environment, on Linux)


def _reached(answer: httpx.Response) -> str | None:
    """The address the answer came from, read on the connection itself (a name resolving
    to a public address, then to an internal one, must not lead there); None when it
    cannot be read."""
    stream = answer.extensions.get("network_stream")
    try:
        peer = stream.get_extra_info("server_addr") if stream is not None else None
    except OSError:  # the connection is gone already
        return None
    return str(peer[0]) if isinstance(peer, tuple) and peer else None


def _transport(error: httpx.TransportError, url: str) -> str:
    if isinstance(error, httpx.TimeoutException):
        return "délai de réponse dépassé"
    return f"injoignable ({urlsplit(url).netloc} : hors ligne ?)"


def _resumes(answer: httpx.Response, have: int) -> bool:
    """Whether a 206 answer goes on from byte ``have`` (its ``Content-Range``)."""
    if answer.status_code != 206:
        return False
    found = re.match(r"bytes (\d+)-", answer.headers.get("Content-Range", ""))
    return found is not None and int(found.group(1)) == have


def _expected_length(answer: httpx.Response, have: int) -> int | None:
    length = answer.headers.get("Content-Length")
    if length is None or not re.fullmatch(r"[0-9]{1,15}", length):
        return None
    return have + int(length) if answer.status_code == 206 else int(length)


def _check(path: Path, url: str, size: int | None, checksum: tuple[str, str] | None) -> None:
    got = path.stat().st_size
    if size is not None and got != size:
        path.unlink()
        raise RemoteError(f"{_short(url)} : {got} octets reçus, {size} annoncés ; fichier "
                          "écarté, relancez le téléchargement")  # fmt: skip
    if checksum is None:
        return
    algorithm, expected = checksum[0].lower().replace("-", ""), checksum[1].lower()
    algorithm = {"sha2": "sha256"}.get(algorithm, algorithm)  # data.gouv.fr's name for it
    if algorithm not in ("sha256", "sha1", "md5"):
        return
    digest = hashlib.new(algorithm)
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(_BLOCK), b""):
            digest.update(block)
    if digest.hexdigest() != expected:
        path.unlink()
        raise RemoteError(f"{_short(url)} : empreinte {algorithm} différente de celle annoncée "
                          "par le producteur ; fichier écarté")  # fmt: skip


def _reason(answer: httpx.Response) -> str:
    text = answer.text[:200].strip() if answer.headers.get("content-type", "").startswith(
        ("text/", "application/json")) else ""  # fmt: skip
    return f" : {text}" if text else ""


def _short(url: str) -> str:
    return url if len(url) <= 120 else url[:117] + "…"
