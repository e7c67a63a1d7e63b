"""Benchmark: social portraits as PDF.

Builds the demo observatory (real referential, synthetic values) unless ``--home`` names one
(e.g. a home with INSEE's census comparator imported and computed: more figures per page),
then measures, against a baseline measured in the same run (a one-page PDF of the same
engine: the fixed cost of a PDF):

- one portrait PDF of a commune, figures read and laid out (median of ``--repeat``; target
  ≤ 2 s);
- the portraits of every commune of the département (``--within``, default 93) as PDF with
  ``observatoire portrait --all`` (target ≤ 60 s for the 39 communes of Seine-Saint-Denis;
  ≤ 15 min for the 725 communes of the Moselle, on a home with the census comparator and
  Filosofi of every level imported and computed: issue 22).

    python benchmarks/bench_portrait.py [--home DIR] [--commune 93066] [--within 93]
    python benchmarks/bench_portrait.py --home moselle/ --commune 57463 --within 57
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from timing import demo_home, timed

from observatoire.observatory import Observatory
from observatoire.outputs.portrait import build_portrait
from observatoire.outputs.portrait_batch import write_portraits
from observatoire.outputs.portrait_render import html_to_pdf, render_pdf
from observatoire.secret.policy import PUBLIC

BASELINE = "<!doctype html><html lang=fr><body><h1>Page</h1><p>Un paragraphe.</p></body></html>"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, help="Observatoire à mesurer (défaut : la démo).")
    parser.add_argument("--commune", default="93066")
    parser.add_argument("--within", default="93")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        home = demo_home(args.home, folder)
        with Observatory.open(home) as obs:
            html_to_pdf(BASELINE)  # fonts loaded once, as in any process that writes PDFs
            baseline = timed(lambda: html_to_pdf(BASELINE), args.repeat)

            def one() -> None:
                render_pdf(build_portrait(obs, args.commune, reader=PUBLIC), home=home)

            single = timed(one, args.repeat)
            portrait = build_portrait(obs, args.commune, reader=PUBLIC)
            figures = len(portrait.figures())
            codes = obs.geography.territories(level="commune", within=args.within).code.tolist()
            start = time.perf_counter()
            write_portraits(
                obs, codes, "pdf", Path(folder) / "portraits", level="commune", reader=PUBLIC
            )
            batch = time.perf_counter() - start
    print(f"baseline (one-page PDF)      : {baseline * 1000:7.0f} ms")
    print(
        f"one portrait PDF ({args.commune}, {figures} figures, {len(portrait.sections)} themes): "
        f"{single:5.2f} s  = {single / baseline:5.1f} × baseline   (target ≤ 2 s)"
    )
    target = "≤ 60 s for 39" if len(codes) < 100 else "≤ 900 s for 725"
    print(
        f"{len(codes)} communes of {args.within} as PDF  : {batch:5.1f} s  = "
        f"{batch / baseline:5.0f} × baseline   ({batch / len(codes):.2f} s each; "
        f"target {target})"
    )


if __name__ == "__main__":
    main()
