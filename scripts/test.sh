#!/usr/bin/env bash
# The whole test suite, from a fresh machine: Debian packages, virtualenv, a throwaway
# PostgreSQL server on 127.0.0.1, lint, types, tests. Used by `make test` and .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

# 1. Debian packages: PostgreSQL 15 server + PostGIS, Chromium.
need=()
[ -x /usr/lib/postgresql/15/bin/initdb ] || need+=(postgresql postgresql-15)
[ -f /usr/share/postgresql/15/extension/postgis.control ] || need+=(postgresql-15-postgis-3)
# Headless browser for the end-to-end tests (driven by Playwright, never `playwright install`).
[ -x /usr/bin/chromium ] || need+=(chromium chromium-driver)
# PDF portraits: pango for WeasyPrint; pdftotext for the document library (and pdftoppm to
# look at the pages in the tests).
ldconfig -p | grep -q libpango-1.0 || need+=(libpango-1.0-0 libpangoft2-1.0-0)
ldconfig -p | grep -q libharfbuzz-subset || need+=(libharfbuzz-subset0)
{ [ -x /usr/bin/pdftoppm ] && [ -x /usr/bin/pdftotext ]; } || need+=(poppler-utils)
# Decks: cairo draws the maps as pictures for the PowerPoint (cairosvg).
ldconfig -p | grep -q libcairo.so.2 || need+=(libcairo2)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "== apt-get install ${need[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

# 2. Python environment.
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/pip install --quiet --upgrade pip
.venv/bin/pip install --quiet -e ".[test]"

# 3. Throwaway PostgreSQL on 127.0.0.1 (initdb refuses root: run it as 'postgres').
PGBIN=/usr/lib/postgresql/15/bin
PGDIR=$(mktemp -d /tmp/observatoire-pg.XXXXXX)
PGPORT=$(.venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
[ "$(id -u)" -eq 0 ] && chown postgres "$PGDIR"
cleanup() { as_pg "$PGBIN/pg_ctl" -D "$PGDIR/data" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$PGDIR"; }
trap cleanup EXIT
as_pg "$PGBIN/initdb" -D "$PGDIR/data" -U observatoire --auth=trust -E UTF8 >/dev/null
as_pg "$PGBIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/log" -w \
  -o "-h 127.0.0.1 -p $PGPORT -k $PGDIR -c fsync=off" start >/dev/null
export OBSERVATOIRE_TEST_PG="postgresql://observatoire@127.0.0.1:$PGPORT/postgres"
echo "== PostgreSQL on 127.0.0.1:$PGPORT"

# 4. Lint, types, tests.
echo "== ruff"; .venv/bin/ruff check src tests benchmarks
echo "== mypy"; .venv/bin/mypy
echo "== pytest"
cd "$ROOT"
# One worker per core; a module's tests stay on one worker (its module fixtures are built once).
.venv/bin/python -m pytest -n auto --dist loadfile "$@"
