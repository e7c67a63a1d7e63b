"""Benchmark: server mode at load — workers reading while imports, computes and rollbacks write.

Builds the demo observatory (real referential, synthetic partner values) on the engine chosen,
unless ``--home`` names one, starts ``observatoire serve --workers N`` on a free 127.0.0.1 port
and sends it ``--users`` concurrent users (asyncio + httpx on loopback, bounded in count and in
time) for ``--seconds`` in each of two phases, after a warm-up that is not counted (every URL
the users can draw, ``--warmup`` times: each worker keeps answers of its own):

- idle: nothing writes;
- under write: beside the same load, one writer repeats, as command-line subprocesses, the
  import of a small synthetic CNAF file (the communes of the 93, a new edition: 2031), the
  ``compute`` of the indicators it feeds, the rollback of that import (which recomputes what it
  withdrew in the same write: values never go missing; before, they did until the next
  ``compute``, and their API answers and exports were 404) and ``compute`` again (now a no-op
  that publishes nothing). The base ends as it began. Every commit changes the data version:
  every cached answer is built again.

Each user draws a request (weights in ``ROUTES``) and pauses ``--think`` seconds on average:
pages (home, an indicator, a commune, a search), API JSON (an indicator's values for the
communes of the 93, those communes, their contours), downloads (an indicator's CSV and XLSX
exports, its table as CSV, a commune's portrait as XLSX; not the portrait PDF, drawn in 1.6 s),
and the server's style sheet: the baseline, what a request costs under the same load before any
data is read (its p95 is also measured alone, sequentially). Printed per request, per kind and
per phase: count, errors (any status but 200, any exception), p50/p95/p99 in ms, p95 against
the static file's and under write against idle; the writes done and failed; the cores used by
the load generator itself, the server's processes, PostgreSQL, the writer and the rest of the
machine, with the load average.

Targets (issue 21): in each phase, 0 errors and p95 ≤ 300 ms (all requests, and every kind),
no failed write, on the 2-core machine that also runs the load generator.

PostgreSQL: a throwaway cluster (initdb in a temporary folder, 127.0.0.1 on a free port, default
durability), or the server of ``--dsn``, where the demo is built in a new schema dropped
afterwards (``--home`` with ``--dsn``: that home, on that database). DuckDB: the embedded file;
the writer needs command-line writes beside ``serve`` (refused writes are counted as failures).

    python benchmarks/bench_load.py --engine postgres|duckdb [--home DIR] [--dsn DSN]
        [--users 100] [--seconds 120] [--workers 2] [--think 1.0] [--warmup 3]
"""

from __future__ import annotations

import argparse
import asyncio
import html
import os
import random
import re
import resource
import string
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import product
from pathlib import Path

import httpx
import numpy as np
from cpu import machine_busy, processes, tree_seconds
from pgcluster import postmaster_of, throwaway_postgres
from serving import start
from writer import Writes, writer

from observatoire.demo import build_demo
from observatoire.home import DATABASE_URL_ENV, Home
from observatoire.observatory import Observatory

DEPARTEMENT = "93"
WORDS = ("pauvrete", "rsa", "logement", "allocataires", "emploi", "handicap")
TARGET_MS = 300.0
KINDS = ("page", "api", "download", "static")


@dataclass(frozen=True)
class Subjects:
    """What the URLs are drawn from: indicators with commune values, communes of the 93."""

    indicators: list[str]
    communes: dict[str, str]  # code → name

    def choices(self) -> dict[str, list[str]]:
        """The values of each field of a route's path."""
        return {
            "indicator": self.indicators,
            "commune": list(self.communes),
            "word": list(WORDS),
            "dep": [DEPARTEMENT],
        }


@dataclass(frozen=True)
class Route:
    """A kind of request: its path, with fields (``{indicator}``, ``{commune}``…: see
    :meth:`Subjects.choices`) drawn at random, and its weight in the mix."""

    kind: str
    name: str
    weight: int
    path: str

    def draw(self, rng: random.Random, subjects: Subjects) -> str:
        return self.path.format(**{k: rng.choice(v) for k, v in subjects.choices().items()})

    def every(self, subjects: Subjects) -> list[str]:
        """Every URL this route can draw."""
        fields = [f for _, f, _, _ in string.Formatter().parse(self.path) if f]
        values = [subjects.choices()[f] for f in fields]
        return [self.path.format(**dict(zip(fields, v, strict=True))) for v in product(*values)]


IN_93 = "niveau=commune&dans=departement:{dep}"
ROUTES = (
    Route("page", "accueil", 2, "/"),
    Route("page", "indicateur", 3, "/indicateurs/{indicator}"),
    Route("page", "territoire", 3, "/territoires/commune/{commune}"),
    Route("page", "recherche", 1, "/recherche?q={word}"),
    Route("api", "valeurs", 3, "/api/v1/indicators/{indicator}/values?level=commune&within={dep}"),
    Route("api", "territoires", 1, "/api/v1/territories?level=commune&within={dep}"),
    Route("api", "contours", 1, "/api/v1/geometries/commune?within=departement:{dep}"),
    Route("download", "export csv", 1, "/indicateurs/{indicator}/export?format=csv&" + IN_93),
    Route("download", "export xlsx", 1, "/indicateurs/{indicator}/export?format=xlsx&" + IN_93),
    Route("download", "tableau csv", 1, "/indicateurs/{indicator}.csv"),
    Route("download", "portrait xlsx", 1, "/territoires/commune/{commune}/portrait.xlsx"),
    Route("static", "style.css", 1, "/static/style.css"),
)


# -- the load ------------------------------------------------------------------------------------
@dataclass
class Load:
    """What the users saw: seconds per request name, errors by (name, reason), loop lags."""

    timings: defaultdict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: Counter[tuple[str, str]] = field(default_factory=Counter)
    lags: list[float] = field(default_factory=list)

    def count(self) -> int:
        return sum(len(t) for t in self.timings.values())


async def users(
    base: str, subjects: Subjects, count: int, seconds: float, think: float, seed: int
) -> Load:
    """``count`` users for ``seconds``, each drawing requests and pausing ``think`` seconds
    on average (uniform between 0 and twice that); a request under way when time is up ends."""
    load = Load()
    stop = time.monotonic() + seconds
    weights = [r.weight for r in ROUTES]

    async def user(client: httpx.AsyncClient, rng: random.Random) -> None:
        await asyncio.sleep(rng.uniform(0, 2 * think))  # users arrive spread out
        while time.monotonic() < stop:
            route = rng.choices(ROUTES, weights)[0]
            url = route.draw(rng, subjects)
            begin = time.perf_counter()
            try:
                answer = await client.get(url)
                if answer.status_code != 200:
                    load.errors[route.name, f"{answer.status_code} {message_of(answer)}"] += 1
            except httpx.HTTPError as failure:
                said = str(failure) or "(no message)"
                load.errors[route.name, f"{type(failure).__name__} {said}"[:120]] += 1
            load.timings[route.name].append(time.perf_counter() - begin)
            await asyncio.sleep(rng.uniform(0, 2 * think))

    async def lag() -> None:
        """How late the load generator's own loop wakes up: its share of every latency."""
        while time.monotonic() < stop:
            begin = time.perf_counter()
            await asyncio.sleep(0.05)
            load.lags.append(time.perf_counter() - begin - 0.05)

    limits = httpx.Limits(max_connections=count, max_keepalive_connections=count)
    async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as client:
        rngs = [random.Random(seed * 100_003 + n) for n in range(count)]
        await asyncio.gather(lag(), *(user(client, rng) for rng in rngs))
    return load


async def warm_up(base: str, subjects: Subjects, rounds: int, concurrency: int) -> tuple[int, int]:
    """Every URL the users can draw, ``rounds`` times in random order, ``concurrency`` at a
    time, each on a new connection (spread over the workers, which keep answers of their own).
    Returns (requests, errors)."""
    urls = [url for route in ROUTES for url in route.every(subjects)] * rounds
    random.Random(0).shuffle(urls)
    pending = iter(urls)  # shared by the fetchers
    errors = 0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:

        async def fetch() -> None:
            nonlocal errors
            for url in pending:
                try:
                    errors += (await client.get(url)).status_code != 200
                except httpx.HTTPError:
                    errors += 1

        await asyncio.gather(*(fetch() for _ in range(concurrency)))
    return len(urls), errors


def message_of(answer: httpx.Response) -> str:
    """What an error answer says: the API's ``error``, the error page's alert."""
    try:
        said = str(answer.json().get("error", ""))
    except ValueError:
        found = re.search(r'class="alert"[^>]*>(.*?)</p>', answer.text, re.S)
        said = html.unescape(found.group(1)) if found else ""
    return " ".join(said.split())[:100]


# -- CPU ---------------------------------------------------------------------------------------
def cpu_seconds(server: int, postgres: int | None, writes: Writes | None) -> dict[str, float]:
    """Cumulative CPU seconds of each party (deltas over a phase give cores)."""
    table = processes()
    mine = resource.getrusage(resource.RUSAGE_SELF)
    waited = resource.getrusage(resource.RUSAGE_CHILDREN)  # the writer's finished commands
    running = writes.running if writes else None
    return {
        "machine": machine_busy(),
        "load generator": mine.ru_utime + mine.ru_stime,
        "server": tree_seconds(server, table),
        "PostgreSQL": tree_seconds(postgres, table),
        "writer": waited.ru_utime + waited.ru_stime + tree_seconds(running, table),
    }


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


# -- a phase -------------------------------------------------------------------------------------
@dataclass
class Phase:
    name: str
    load: Load
    cores: dict[str, float]
    loadavg: str
    writes: Writes | None
    postgres: bool  # whether its CPU was measured


@dataclass(frozen=True)
class Target:
    """Where the server, its data and its writer are."""

    base: str
    server: int
    postgres: int | None
    home: Path
    env: dict[str, str]
    subjects: Subjects


def run_phase(name: str, target: Target, args: argparse.Namespace, write: bool) -> Phase:
    writes = Writes() if write else None

    async def both() -> Load:
        running = users(
            target.base, target.subjects, args.users, args.seconds, args.think, seed=len(name)
        )
        if writes is None:
            return await running
        side = writer(target.home, target.env, target.subjects.communes, args.seconds, writes)
        load, _ = await asyncio.gather(running, side)
        return load

    async def measured() -> tuple[Load, dict[str, float]]:
        before, begin = cpu_seconds(target.server, target.postgres, writes), time.monotonic()
        task = asyncio.ensure_future(both())
        await asyncio.sleep(args.seconds)  # CPU is read when the load ends (not the writer)
        after = cpu_seconds(target.server, target.postgres, writes)
        wall = time.monotonic() - begin
        return await task, {who: (after[who] - before[who]) / wall for who in before}

    load, cores = asyncio.run(measured())
    return Phase(name, load, cores, loadavg(), writes, target.postgres is not None)


# -- the report ----------------------------------------------------------------------------------
def percentiles(samples: list[float]) -> tuple[float, float, float]:
    p50, p95, p99 = np.percentile(np.array(samples) * 1000, [50, 95, 99])
    return float(p50), float(p95), float(p99)


def groups(load: Load) -> Iterator[tuple[str, str, list[float], int]]:
    """(label, kind, timings, errors) per request, per kind, and for all requests."""
    errors: Counter[str] = Counter()
    for (name, _), n in load.errors.items():
        errors[name] += n
    for route in ROUTES:
        yield route.name, route.kind, load.timings[route.name], errors[route.name]
    for kind in KINDS:
        names = [r.name for r in ROUTES if r.kind == kind]
        timings = [t for n in names for t in load.timings[n]]
        yield f"[{kind}]", kind, timings, sum(errors[n] for n in names)
    everything = [t for n in load.timings for t in load.timings[n]]
    yield "[all]", "", everything, sum(errors.values())


def table(phases: list[Phase]) -> None:
    print(
        f"{'phase':<12} {'request':<15} {'kind':<9} {'count':>6} {'errors':>6} "
        f"{'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'p95/static':>10} {'p95/idle':>8}"
    )
    idle: dict[str, float] = {}
    for phase in phases:
        static = percentiles(phase.load.timings["style.css"] or [0.0])[1] or 1e-9
        for label, kind, timings, errors in groups(phase.load):
            if not timings:
                print(f"{phase.name:<12} {label:<15} {kind:<9} {0:>6} {errors:>6}")
                continue
            p50, p95, p99 = percentiles(timings)
            versus = f"{p95 / idle[label]:.1f}x" if phase.name != "idle" and idle.get(label) else ""
            if phase.name == "idle":
                idle[label] = p95
            print(
                f"{phase.name:<12} {label:<15} {kind:<9} {len(timings):>6} {errors:>6} "
                f"{p50:>7.1f} {p95:>7.1f} {p99:>7.1f} {p95 / static:>9.1f}x {versus:>8}"
            )


def report(phase: Phase, seconds: float) -> None:
    load = phase.load
    lags = np.array(load.lags or [0.0]) * 1000
    print(
        f"{phase.name}: {load.count()} requests ({load.count() / seconds:.0f}/s); "
        f"load generator's loop late by p95 {np.percentile(lags, 95):.1f} ms, "
        f"max {lags.max():.0f} ms; load average {phase.loadavg}"
    )
    cores = phase.cores
    parties = [k for k in cores if k != "machine" and (k != "PostgreSQL" or phase.postgres)]
    other = cores["machine"] - sum(cores[k] for k in parties)
    shares = ", ".join(f"{k} {cores[k]:.2f}" for k in parties)
    print(f"  cores used: machine {cores['machine']:.2f} of {os.cpu_count()}: {shares}, "
          f"other processes {other:.2f}")  # fmt: skip
    if cores["load generator"] > 0.7:
        print("  the load generator used most of a core: its own delays are in the latencies")
    for (name, reason), n in load.errors.most_common(8):
        print(f"  {n} × {name}: {reason}")
    writes = phase.writes
    if writes is not None:
        steps = ", ".join(f"{step} {np.median(s):.1f} s" for step, s in writes.seconds.items() if s)
        print(f"  writer: {writes.cycles} cycles import → compute → rollback → compute "
              f"(median seconds: {steps or 'none done'}); {len(writes.failures)} failed "
              "commands")  # fmt: skip
        # the rollback recomputes in its own write: the values never go missing (any 404 of
        # the values, exports or pages after a rollback is counted with the errors above)
        for failure in writes.failures[:5]:
            print(f"    {failure}")


def verdict(phase: Phase) -> str:
    missed = []
    for label, kind, timings, errors in groups(phase.load):
        if not label.startswith("["):
            continue
        if errors:
            what: Counter[str] = Counter()
            for (name, reason), n in phase.load.errors.items():
                if not kind or name in {r.name for r in ROUTES if r.kind == kind}:
                    what[reason.split()[0]] += n
            why = ", ".join(f"{n} × {reason}" for reason, n in what.most_common())
            missed.append(f"{label} {errors} errors ({why})")
        if timings and (p95 := percentiles(timings)[1]) > TARGET_MS:
            missed.append(f"{label} p95 {p95:.0f} ms")
    if phase.writes is not None:
        if phase.writes.failures:
            missed.append(f"{len(phase.writes.failures)} failed writes")
        if not phase.writes.cycles:
            missed.append("no write cycle done: nothing was measured under write")
    _, p95, _ = percentiles([t for ts in phase.load.timings.values() for t in ts] or [0.0])
    errors = sum(phase.load.errors.values())
    head = f"{phase.name}: {errors} errors (target 0), p95 {p95:.0f} ms (target ≤ 300 ms)"
    return f"{head}: {'met' if not missed else 'MISSED — ' + '; '.join(missed)}"


# -- setting up ----------------------------------------------------------------------------------
def subjects_of(base: str) -> Subjects:
    with httpx.Client(base_url=base, timeout=60) as client:
        catalogue = client.get("/api/v1/indicators", params={"available": "true"})
        found = client.get(
            "/api/v1/territories",
            params={"level": "commune", "within": DEPARTEMENT, "limit": 1000},
        )
    indicators = sorted(
        i["id"] for i in catalogue.raise_for_status().json()["indicators"]
        if "commune" in i["levels"]
    )  # fmt: skip
    communes = {r["code"]: r["name"] for r in found.raise_for_status().json()["rows"]}
    if not indicators or not communes:
        raise SystemExit(f"no indicator with commune values in the {DEPARTEMENT}: not the demo?")
    return Subjects(indicators, communes)


def static_baseline(base: str, count: int = 200) -> tuple[float, float]:
    timings = []
    with httpx.Client(base_url=base, timeout=30) as client:
        client.get("/static/style.css").raise_for_status()
        for _ in range(count):
            begin = time.perf_counter()
            client.get("/static/style.css").raise_for_status()
            timings.append(time.perf_counter() - begin)
    p50, p95, _ = percentiles(timings)
    return p50, p95


def demo_home(folder: Path, dsn: str | None = None) -> Path:
    home = folder / "demo"
    begin = time.perf_counter()
    if dsn is not None:
        os.environ[DATABASE_URL_ENV] = dsn  # this process builds it
        # build_demo keeps the settings of a home that exists: its own, and the engine
        settings = {"name": "Observatoire social de démonstration (93)", "backend": "postgres"}
        Observatory.init(home, territory=f"departement:{DEPARTEMENT}", **settings)[0].close()
    build_demo(home, echo=lambda _: None)
    print(f"demo observatory built in {time.perf_counter() - begin:.0f} s")
    return home


@contextmanager
def new_schema(dsn: str) -> Iterator[str]:
    """A DSN whose search path is a new schema of ``dsn``'s database, dropped afterwards."""
    import psycopg

    schema = f"bench_load_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(dsn, autocommit=True) as con:
        con.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{dsn}{'&' if '?' in dsn else '?'}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(dsn, autocommit=True) as con:
            con.execute(f"DROP SCHEMA {schema} CASCADE")


@contextmanager
def observatory(
    args: argparse.Namespace, folder: Path
) -> Iterator[tuple[Path, str | None, int | None]]:
    """The home to serve, the PostgreSQL DSN (None on DuckDB), the postmaster's pid."""
    if args.engine == "duckdb":
        yield args.home or demo_home(folder), None, None
    elif args.dsn and args.home:
        yield args.home, args.dsn, postmaster_of(args.dsn)
    elif args.dsn:
        with new_schema(args.dsn) as dsn:
            yield demo_home(folder, dsn), dsn, postmaster_of(dsn)
    elif args.home:
        raise SystemExit("--home on PostgreSQL needs --dsn: a throwaway cluster starts empty")
    else:
        with throwaway_postgres() as (dsn, postmaster):
            yield demo_home(folder, dsn), dsn, postmaster


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--engine", choices=["duckdb", "postgres"], default="duckdb")
    parser.add_argument("--home", type=Path, help="an observatory home (default: build the demo)")
    parser.add_argument("--dsn", help="PostgreSQL server to use (default: a throwaway cluster)")
    parser.add_argument("--users", type=int, default=100, choices=range(1, 1001), metavar="1…1000")
    parser.add_argument("--seconds", type=float, default=120, help="length of each phase")
    parser.add_argument("--workers", type=int, default=2, help="server processes")
    parser.add_argument("--think", type=float, default=1.0,
                        help="mean pause of a user between two requests, in seconds")  # fmt: skip
    parser.add_argument(
        "--warmup",
        type=int,
        help="requests of every URL before measuring (default: workers + 1; 0: none)",
    )
    args = parser.parse_args()
    if not 1 <= args.seconds <= 3600 or not 0 <= (args.warmup or 0) <= 10:
        parser.error("--seconds from 1 to 3600, --warmup from 0 to 10")
    if args.home and Home.load(args.home).backend != args.engine:
        parser.error(f"{args.home} is not on {args.engine}")
    return args


def measure(target: Target, args: argparse.Namespace) -> list[Phase]:
    """The baseline, the warm-up, then the two phases."""
    p50, p95 = static_baseline(target.base)
    print(
        f"{args.engine}, {args.workers} workers, {args.users} users pausing {args.think:.1f} s "
        f"on average, {args.seconds:.0f} s per phase; {os.cpu_count()} cores; static file "
        f"alone: p50 {p50:.1f} ms, p95 {p95:.1f} ms; load average {loadavg()}"
    )
    rounds = args.warmup if args.warmup is not None else args.workers + 1
    if rounds:
        begin = time.perf_counter()
        done, failed = asyncio.run(warm_up(target.base, target.subjects, rounds, 2 * args.workers))
        print(
            f"warm-up: every URL {rounds} times, {done} requests in "
            f"{time.perf_counter() - begin:.0f} s, {failed} errors (not counted)"
        )
    return [
        run_phase("idle", target, args, write=False),
        run_phase("under write", target, args, write=True),
    ]


def main() -> None:
    args = arguments()
    with tempfile.TemporaryDirectory() as tmp, observatory(args, Path(tmp)) as found:
        home, dsn, postmaster = found
        env = {**os.environ, **({DATABASE_URL_ENV: dsn} if dsn else {})}
        process, base = start(home, "--workers", str(args.workers), env=env)
        try:
            phases = measure(Target(base, process.pid, postmaster, home, env, subjects_of(base)),
                             args)  # fmt: skip
        finally:
            process.terminate()
            process.wait(timeout=30)
    print()
    table(phases)
    print()
    for phase in phases:
        report(phase, args.seconds)
    print()
    for phase in phases:
        print(verdict(phase))


if __name__ == "__main__":
    main()
