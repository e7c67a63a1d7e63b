"""Benchmark: the data-quality review of a national import.

Builds a home with the whole referential and INSEE's Filosofi files of every commune (2016,
2019, 2021) and of the départements, EPCI and régions (2019), computed, unless ``--home``
names one; then measures the review of the indicators those imports feed, at every level
(gaps to history, breaks, vintages, divergent members, declared relations), against a
baseline measured in the same run: reading those indicators' stored values at every level,
as the review must (median of ``--repeat``). Target: ≤ 10 s (issue 25).

    python benchmarks/bench_review.py [--home DIR] [--repeat 3]
"""

from __future__ import annotations

import argparse
import tempfile
from datetime import date
from pathlib import Path

from timing import DATA, build_home, timed

from observatoire.engine.review import review
from observatoire.ingest.coherences import load_relations
from observatoire.observatory import Observatory
from observatoire.store import review as store

FILES = [
    DATA / "filosofi" / "FILO2016_DISP_COM.csv",
    DATA / "filosofi" / "FILO2019_DISP_COM.csv",
    DATA / "filosofi" / "cc_filosofi_2021_COM.csv",
    DATA / "filosofi" / "FILO2019_DISP_DEP.csv",
    DATA / "filosofi" / "FILO2019_DISP_EPCI.csv",
    DATA / "filosofi" / "FILO2019_DISP_REG.csv",
]
TARGET = 10.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, help="Observatoire à mesurer (défaut : construit).")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        home = args.home
        if home is None:
            home = Path(folder) / "obs"
            print("Construction (référentiel, Filosofi 2016, 2019, 2021, calcul)…")
            build_home(home, "Banc revue", FILES, compute=True)
        with Observatory.open(home) as obs:
            catalogue = obs.catalogue()
            since = str(obs.imports().imported_at.max())[:10]
            relations = load_relations(home)
            found = review(obs.warehouse, catalogue, relations=relations, since=since,
                           today=date.today())  # fmt: skip
            idents = sorted(found.subjects & set(catalogue.indicators))
            levels = store.stored_levels(obs.warehouse)
            levels = levels[levels.indicator.isin(idents)]

            def read_all() -> None:
                for level, rows in levels.groupby("level"):
                    store.level_values(obs.warehouse, rows.indicator.tolist(), str(level),
                                       usable=True)

            baseline = timed(read_all, args.repeat)
            spent = timed(lambda: review(obs.warehouse, catalogue, relations=relations,
                                         since=since, today=date.today()), args.repeat)  # fmt: skip
            values = sum(len(store.level_values(obs.warehouse, rows.indicator.tolist(), str(lv)))
                         for lv, rows in levels.groupby("level"))  # fmt: skip
    print(f"Indicateurs revus : {len(idents)} ; valeurs lues : {values:,}".replace(",", " "))
    print(f"Points de vigilance relevés : {len(found.flags)} {found.counts()}")
    print(f"Lecture des valeurs (base) : {baseline:.2f} s")
    print(f"Revue : {spent:.2f} s (× {spent / baseline:.1f} la lecture) ; cible ≤ {TARGET:.0f} s : "
          f"{'atteinte' if spent <= TARGET else 'MANQUÉE'}")


if __name__ == "__main__":
    main()
