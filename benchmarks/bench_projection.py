"""Benchmark: projections of one indicator for every commune of France.

Builds a home with the whole referential and INSEE's three Filosofi vintages of the communes
(2016, 2019, 2021: ../shared/data) unless ``--home`` names one, then measures, against a
baseline measured in the same run (reading the indicator's values for every commune and every
period, as the projection must), the projection of the median income (``niveau_vie_median``,
published values) and of the fiscal households (``menages_fiscaux``, counts) for every commune,
each method back-tested over every commune (median of ``--repeat``).
Target: ≤ 10 s for every commune of France (issue 24).

    python benchmarks/bench_projection.py [--home DIR] [--repeat 3]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from timing import DATA, build_home, timed

from observatoire.observatory import Observatory

FILES = [
    DATA / "filosofi" / "FILO2016_DISP_COM.csv",
    DATA / "filosofi" / "FILO2019_DISP_COM.csv",
    DATA / "filosofi" / "cc_filosofi_2021_COM.csv",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, help="Observatoire à mesurer (défaut : construit).")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        home = args.home
        if home is None:
            home = Path(folder) / "obs"
            print("Construction (référentiel, Filosofi 2016, 2019, 2021)…")
            build_home(home, "Banc projections", FILES)
        with Observatory.open(home) as obs:
            for ident in ("niveau_vie_median", "menages_fiscaux"):
                baseline = timed(lambda i=ident: obs.indicator(i, level="commune"), args.repeat)
                found = obs.projection(ident, level="commune")
                spent = timed(lambda i=ident: obs.projection(i, level="commune"), args.repeat)
                projected = int((found.values.status == "projection").sum())
                error = found.error
                print(f"{ident}: baseline (read every commune, every period) {baseline:5.2f} s")
                print(
                    f"  projection {found.history[0]}-{found.history[-1]} → {found.target} "
                    f"({found.method}, {projected} values, back-test of 4 methods over "
                    f"{int(error.territories)} communes): {spent:5.2f} s = "
                    f"{spent / baseline:4.1f} × baseline   (target ≤ 10 s)"
                )


if __name__ == "__main__":
    main()
