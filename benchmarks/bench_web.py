"""Benchmark: the web application under load, on loopback only, bounded in count and time.

Builds the demo observatory (real referential, synthetic partner values) unless ``--home``
names one, starts ``observatoire serve`` on a free 127.0.0.1 port, then measures:

- one indicator's values for every commune of a département through the API (sequential
  requests; target p95 ≤ 50 ms), against a static file served by the same process (the
  baseline: what the server costs before any data is read);
- ``--users`` concurrent users (default 50) for ``--seconds`` (default 60) browsing the home
  page, an indicator page, its values and a territory page (target: 0 errors, p95 ≤ 300 ms).

    python benchmarks/bench_web.py [--home DIR] [--users 50] [--seconds 60] [--requests 200]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx
from serving import start

from observatoire.demo import build_demo

INDICATOR = "part_allocataires_aah"
VALUES = f"/api/v1/indicators/{INDICATOR}/values?level=commune&within=93"
PAGES = [
    "/",
    f"/indicateurs/{INDICATOR}",
    VALUES,
    "/territoires/commune/93066",
    "/indicateurs?q=pauvrete",
]


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[18] * 1000


def sequential(base: str, path: str, count: int) -> list[float]:
    timings = []
    with httpx.Client(base_url=base, timeout=30) as client:
        client.get(path).raise_for_status()  # warm
        for _ in range(count):
            begin = time.perf_counter()
            client.get(path).raise_for_status()
            timings.append(time.perf_counter() - begin)
    return timings


async def load(
    base: str, users: int, seconds: float, think: float
) -> tuple[list[float], Counter[str]]:
    timings: list[float] = []
    errors: Counter[str] = Counter()
    stop = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=users)

    async def user(client: httpx.AsyncClient, seed: int) -> None:
        rng = random.Random(seed)
        while time.monotonic() < stop:
            begin = time.perf_counter()
            page = rng.choice(PAGES)
            try:
                answer = await client.get(page)
                if answer.status_code != 200:
                    errors[f"{answer.status_code} {page}"] += 1
            except httpx.HTTPError as failure:
                errors[f"{type(failure).__name__} {page}"] += 1
            timings.append(time.perf_counter() - begin)
            await asyncio.sleep(rng.uniform(0, 2 * think))

    async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as client:
        await asyncio.gather(*(user(client, n) for n in range(users)))
    return timings, errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--home", type=Path, help="an observatory home (default: build the demo)")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument(
        "--think",
        type=float,
        default=1.0,
        help="mean pause of a user between two pages, in seconds",
    )
    parser.add_argument("--workers", type=int, default=1, help="server processes")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = args.home
        if home is None:
            home = build_demo(Path(tmp) / "demo", echo=lambda _: None).home
        process, base = start(home, "--workers", str(args.workers))
        try:
            static = sequential(base, "/static/style.css", args.requests)
            values = sequential(base, VALUES, args.requests)
            print(
                f"values of one indicator, communes of 93 ({args.requests} requests): "
                f"p95 {p95(values):.1f} ms (target ≤ 50 ms); static file p95 "
                f"{p95(static):.1f} ms; ratio {p95(values) / p95(static):.1f}x"
            )
            for think in (args.think, 0.0):
                timings, errors = asyncio.run(load(base, args.users, args.seconds, think))
                print(
                    f"{args.users} users, {think:.1f} s between pages, for {args.seconds:.0f} s: "
                    f"{len(timings)} requests "
                    f"({len(timings) / args.seconds:.0f}/s), {errors.total()} errors (target 0), "
                    f"p95 {p95(timings):.0f} ms (target ≤ 300 ms), median "
                    f"{statistics.median(timings) * 1000:.0f} ms"
                )
                for kind, count in errors.most_common():
                    print(f"    {count} × {kind}")
        finally:
            process.terminate()
            process.wait(timeout=20)


if __name__ == "__main__":
    main()
