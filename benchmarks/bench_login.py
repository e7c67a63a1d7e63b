"""Benchmark: what logins cost the other visitors, on loopback only.

Starts ``observatoire serve`` (one process) on a bare observatory on a free 127.0.0.1 port,
then measures the median latency of a plain page (``--page``, default the login page)
requested one after another: alone (the baseline), then while ``--clients`` clients (default 4)
log in over and over for ``--seconds``. Each login checks an argon2 hash (~0.15 s of CPU); the
server runs the checks off its event loop, one or two at once, so the ratio loaded / alone
stays small (issue 18: 12 ms → 949 ms, 79x, when they ran on the event loop).

The clients sign in to accounts of their own, each from an address of its own sent in
X-Forwarded-For (the home trusts 127.0.0.1 as a reverse proxy): as many users would, below the
login throttle's bounds, so every login is checked rather than refused (the count of 429
answers is printed: it should be 0).

    python benchmarks/bench_login.py [--clients 4] [--seconds 20] [--requests 200]
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
from serving import start

from observatoire.observatory import Observatory
from observatoire.services.accounts import Accounts, Role
from observatoire.store.appdb import open_appdb

PASSWORD = "une girafe mange des clémentines"
ACCOUNTS_PER_CLIENT = 15


def prepare(home: Path, clients: int) -> list[list[str]]:
    """A bare home trusting 127.0.0.1 as a proxy, and the accounts of each client."""
    obs, _ = Observatory.init(home, name="Banc d'essai")
    obs.close()
    settings = home / "observatoire.toml"
    text = settings.read_text(encoding="utf-8").replace('proxies = ""', 'proxies = "127.0.0.1"')
    settings.write_text(text, encoding="utf-8")
    accounts = Accounts(open_appdb(home, "duckdb"))
    emails = [
        [f"u{c}-{n}@banc.invalid" for n in range(ACCOUNTS_PER_CLIENT)] for c in range(clients)
    ]
    for email in itertools.chain.from_iterable(emails):
        accounts.create_user(email, PASSWORD, role=Role.MEMBER)
    accounts.db.close()
    return emails


def timings(base: str, page: str, count: int, seconds: float = 0) -> list[float]:
    """Latencies of ``page`` requested one after another: ``count`` of them, and for
    ``seconds`` at least."""
    found: list[float] = []
    until = time.monotonic() + seconds
    with httpx.Client(base_url=base, timeout=60) as client:
        client.get(page).raise_for_status()  # warm
        while len(found) < count or time.monotonic() < until:
            begin = time.perf_counter()
            client.get(page).raise_for_status()
            found.append(time.perf_counter() - begin)
    return found


def log_in_repeatedly(
    base: str, client: int, emails: list[str], stop: threading.Event, codes: Counter[int]
) -> None:
    with httpx.Client(base_url=base, timeout=60) as http:
        http.get("/connexion")
        csrf = http.cookies["obs_csrf"]
        for n, email in enumerate(itertools.cycle(emails)):
            if stop.is_set():
                return
            answer = http.post(
                "/connexion",
                data={"email": email, "password": PASSWORD, "csrf": csrf},
                headers={"X-Forwarded-For": f"10.{client}.{n % len(emails)}.1"},
                follow_redirects=False,
            )
            codes[answer.status_code] += 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=4, help="clients logging in")
    parser.add_argument("--seconds", type=float, default=20, help="at least, under load")
    parser.add_argument("--requests", type=int, default=200, help="page requests per median")
    parser.add_argument("--page", default="/connexion")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        emails = prepare(Path(tmp) / "obs", args.clients)
        process, base = start(Path(tmp) / "obs")
        try:
            alone = statistics.median(timings(base, args.page, args.requests)) * 1000
            stop, codes = threading.Event(), Counter[int]()
            threads = [
                threading.Thread(target=log_in_repeatedly, args=(base, c, emails[c], stop, codes))
                for c in range(args.clients)
            ]
            for thread in threads:
                thread.start()
            time.sleep(1)  # the logins under way
            began = time.monotonic()
            under_load = timings(base, args.page, args.requests, args.seconds)
            elapsed = time.monotonic() - began + 1
            loaded = statistics.median(under_load) * 1000
            stop.set()
            for thread in threads:
                thread.join()
        finally:
            process.terminate()
            process.wait(timeout=20)
    print(
        f"{args.page}, median latency: {alone:.1f} ms alone ({args.requests} requests), "
        f"{loaded:.1f} ms while {args.clients} clients log in repeatedly "
        f"({len(under_load)} requests); "
        f"ratio {loaded / alone:.1f}x (issue 18, hashing on the event loop: 12 → 949 ms, 79x)"
    )
    print(
        f"logins: {codes[303]} signed in ({codes[303] / elapsed:.1f}/s), "
        f"{codes[429]} throttled (429, expected 0), {codes[401]} refused (401, expected 0)"
    )


if __name__ == "__main__":
    main()
