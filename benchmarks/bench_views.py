"""Benchmark: the analyst's views at their sizes of use (issue 26).

Builds a home with the whole referential, INSEE's census comparator (RP 2018, every commune)
and Filosofi 2019 (communes, départements), computed, unless ``--home`` names one; then
measures, against baselines measured in the same run (median of ``--repeat``):

- the significance heatmap of Seine-Saint-Denis' 39 communes × up to 30 rates, shares and
  medians known there (target ≤ 300 ms), against reading those communes' stored values
  (every indicator, one read);
- the funnel plot of unemployment for the ~35,000 communes of France against France
  (target ≤ 1 s), against reading the indicator's stored values at commune level.

    python benchmarks/bench_views.py [--home DIR] [--repeat 5]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from timing import DATA, build_home, timed

from observatoire.catalog.indicators import Aggregation
from observatoire.observatory import Observatory

FILES = [
    DATA / "census" / "base_cc_comparateur_csv_RP2018.zip",
    DATA / "filosofi" / "FILO2019_DISP_COM.csv",
    DATA / "filosofi" / "FILO2019_DISP_DEP.csv",
]
HEATMAP_TARGET, FUNNEL_TARGET = 0.300, 1.0
RATE = "taux_chomage_15_64"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, help="Observatoire à mesurer (défaut : construit).")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        home = args.home
        if home is None:
            home = Path(folder) / "obs"
            print("Construction (référentiel, recensement 2018, Filosofi 2019, calcul)…")
            build_home(home, "Banc vues", FILES, compute=True)
        with Observatory.open(home) as obs:
            catalogue = obs.catalogue()
            profiles = obs.profiles("commune", ("departement", "93"))
            known = profiles[profiles.status.isin(["ok", "partial"])].indicator.unique()
            chosen = [i for i in sorted(known)
                      if catalogue.get(i).aggregation is not Aggregation.SUM][:30]  # fmt: skip
            obs.views.heatmap(level="commune", within="93", indicators=chosen)  # warm the caches
            read = timed(lambda: obs.profiles("commune", ("departement", "93")), args.repeat)
            drawn = timed(lambda: obs.views.heatmap(level="commune", within="93",
                                                    indicators=chosen), args.repeat)  # fmt: skip
            found = obs.views.heatmap(level="commune", within="93", indicators=chosen)
            obs.views.funnel(RATE, level="commune")
            stored = timed(lambda: obs.indicator(RATE, level="commune"), args.repeat)
            plotted = timed(lambda: obs.views.funnel(RATE, level="commune"), args.repeat)
            funnel = obs.views.funnel(RATE, level="commune")
    cells = len(found.territories) * len(found.indicators)
    print(f"Tableau des écarts : {len(found.territories)} communes × {len(found.indicators)} "
          f"indicateurs ({cells} cases)")  # fmt: skip
    print(f"  lecture des valeurs (base) : {read * 1000:.0f} ms")
    print(f"  tableau : {drawn * 1000:.0f} ms (× {drawn / read:.1f} la lecture) ; cible ≤ "
          f"{HEATMAP_TARGET * 1000:.0f} ms : {_verdict(drawn, HEATMAP_TARGET)}")  # fmt: skip
    placed, outside = (f"{n:,}".replace(",", " ") for n in (len(funnel.points),
                                                             len(funnel.outliers)))
    print(f"Entonnoir : {placed} communes placées ; {outside} hors des limites à 95 %")
    print(f"  lecture des valeurs (base) : {stored * 1000:.0f} ms")
    print(f"  entonnoir : {plotted * 1000:.0f} ms (× {plotted / stored:.1f} la lecture) ; cible "
          f"≤ {FUNNEL_TARGET:.0f} s : {_verdict(plotted, FUNNEL_TARGET)}")  # fmt: skip


def _verdict(spent: float, target: float) -> str:
    return "atteinte" if spent <= target else "MANQUÉE"


if __name__ == "__main__":
    main()
