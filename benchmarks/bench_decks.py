"""Benchmark: decks for meetings.

Builds the demo observatory (real referential, synthetic values) unless ``--home`` names one,
then measures, against a baseline measured in the same run (a PowerPoint file of one slide
with a title and a text box: the fixed cost of the format), a territory's whole deck — its
figures read (portrait, projections) and laid out — as PPTX and as HTML (median of
``--repeat``, each on a commune not built before, so that no read is shared).
Target: a deck ≤ 3 s (issue 24).

    python benchmarks/bench_decks.py [--home DIR] [--repeat 3]
"""

from __future__ import annotations

import argparse
import io
import statistics
import tempfile
import time
from pathlib import Path

from timing import demo_home

from observatoire.observatory import Observatory
from observatoire.outputs.deck import territory_deck
from observatoire.outputs.deck_render import deck_html, deck_pptx
from observatoire.secret.policy import PUBLIC


def baseline() -> float:
    from pptx import Presentation
    from pptx.util import Inches

    start = time.perf_counter()
    prs = Presentation()
    slide = prs.slides.add_slide(prs.slide_layouts[5])
    slide.shapes.title.text = "Titre"
    slide.shapes.add_textbox(Inches(1), Inches(2), Inches(6), Inches(1)).text_frame.text = "Texte"
    prs.save(io.BytesIO())
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, help="Observatoire à mesurer (défaut : la démo).")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        home = demo_home(args.home, folder)
        with Observatory.open(home) as obs:
            baseline()  # the format's template loaded once, as in any process that writes one
            base = statistics.median(baseline() for _ in range(args.repeat))
            communes = obs.geography.territories(level="commune", within="93").code.tolist()
            deck_pptx(territory_deck(obs, communes[0], reader=PUBLIC))  # imports, fonts
            times: dict[str, list[float]] = {"pptx": [], "html": []}
            slides = 0
            for n in range(args.repeat):
                for fmt in times:
                    code = communes[1 + 2 * n + (fmt == "html")]
                    start = time.perf_counter()
                    deck = territory_deck(obs, code, reader=PUBLIC)
                    _ = deck_pptx(deck) if fmt == "pptx" else deck_html(deck)
                    times[fmt].append(time.perf_counter() - start)
                    slides = len(deck.slides)
    print(f"baseline (one-slide PPTX)        : {base * 1000:7.0f} ms")
    for fmt, samples in times.items():
        spent = statistics.median(samples)
        print(f"a commune's deck as {fmt.upper():4} ({slides} slides): {spent:5.2f} s "
              f"= {spent / base:6.1f} × baseline   (target ≤ 3 s)")  # fmt: skip


if __name__ == "__main__":
    main()
