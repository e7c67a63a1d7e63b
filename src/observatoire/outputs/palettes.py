"""Colours of thematic maps: colour-blind-safe ColorBrewer ramps, chosen by the indicator's
polarity, and the assignment of colours to classes (sequential, or diverging around a
reference value). Pure: nothing is drawn here."""

from __future__ import annotations

from collections.abc import Sequence

from observatoire.errors import UnknownNameError

__all__ = ["BIVARIATE", "DIVERGING", "NO_DATA", "PALETTES", "SECRET", "SEQUENTIAL", "UNAVAILABLE",
           "colours"]

PALETTES = {
    "sequentielle": "Séquentielle (du clair au foncé)",
    "divergente": "Divergente, centrée sur la référence",
}

# Sequential ramps (ColorBrewer), light to dark: blues when neutral, oranges when more is
# worse, greens when more is better.
SEQUENTIAL = {
    "neutral": [
        "#eff3ff",
        "#c6dbef",
        "#9ecae1",
        "#6baed6",
        "#4292c6",
        "#2171b5",
        "#08519c",
        "#08306b",
        "#041f4a",
    ],
    "lower_is_better": [
        "#fff5eb",
        "#fee6ce",
        "#fdd0a2",
        "#fdae6b",
        "#fd8d3c",
        "#f16913",
        "#d94801",
        "#a63603",
        "#7f2704",
    ],
    "higher_is_better": [
        "#f7fcf5",
        "#e5f5e0",
        "#c7e9c0",
        "#a1d99b",
        "#74c476",
        "#41ab5d",
        "#238b45",
        "#006d2c",
        "#00441b",
    ],
}

# Diverging ramps (ColorBrewer, colour-blind safe), from the low side to the high side, the
# middle colour for the class that holds the reference. Red marks the unfavourable side. The
# middle is a pale yellow (RdYlBu's), not ColorBrewer's near-white grey: beside the white of
# « no data » and the greys of secret and unavailable, it must read as a value.
MIDDLE = "#ffffbf"
_RDBU = [
    "#b2182b",
    "#d6604d",
    "#f4a582",
    "#fddbc7",
    MIDDLE,
    "#d1e5f0",
    "#92c5de",
    "#4393c3",
    "#2166ac",
]
_PUOR = [
    "#b35806",
    "#e08214",
    "#fdb863",
    "#fee0b6",
    MIDDLE,
    "#d8daeb",
    "#b2abd2",
    "#8073ac",
    "#542788",
]
DIVERGING = {
    "neutral": _PUOR,
    "higher_is_better": _RDBU,  # low values red
    "lower_is_better": list(reversed(_RDBU)),  # high values red
}

# A bivariate map's 3 × 3 colours (Joshua Stevens' pink-blue scheme): BIVARIATE[j][i] for the
# second indicator's tercile j (rows, low to high: more blue) and the first's i (columns, low
# to high: more pink); the darkest corner is high on both.
BIVARIATE = [
    ["#e8e8e8", "#e4acac", "#c85a5a"],
    ["#b0d5df", "#ad9ea5", "#985356"],
    ["#64acbe", "#627f8c", "#574249"],
]
NO_DATA = "#ffffff"  # no value at all: white, outlined
UNAVAILABLE = "#d9d9d9"  # not available, not significant, undefined: plain grey
SECRET = "#bdbdbd"  # statistical secret: grey, hatched on static maps


def colours(
    bounds: Sequence[float],
    *,
    polarity: str = "neutral",
    palette: str = "sequentielle",
    reference: float | None = None,
    lowest: float | None = None,
) -> list[str]:
    """One colour per class of upper ``bounds``.

    Sequential: evenly spread over the ramp, the palest skipped. Diverging: classes wholly
    below ``reference`` take the low side, darker when farther; classes wholly above take the
    high side; the class that holds the reference takes the neutral middle. ``lowest`` is the
    smallest value (the lower edge of the first class).

    >>> colours([1.0, 2.0, 3.0], palette="divergente", reference=1.5, lowest=0.0)
    ['#e08214', '#ffffbf', '#8073ac']
    """
    if palette not in PALETTES:
        raise UnknownNameError("palette", palette, list(PALETTES))
    k = len(bounds)
    if palette == "sequentielle" or reference is None:
        return _spread(SEQUENTIAL.get(polarity, SEQUENTIAL["neutral"]), k)
    ramp = DIVERGING.get(polarity, DIVERGING["neutral"])
    low, high = ramp[:4], ramp[5:]  # dark → pale, pale → dark
    lower = [lowest if lowest is not None else float("-inf"), *bounds[:-1]]
    below = [i for i in range(k) if bounds[i] <= reference]
    above = [i for i in range(k) if lower[i] >= reference]
    out = [ramp[4]] * k
    for rank, i in enumerate(reversed(below)):  # nearest the reference first: palest
        out[i] = low[::-1][min(_step(rank, len(below)), 3)]
    for rank, i in enumerate(above):
        out[i] = high[min(_step(rank, len(above)), 3)]
    return out


def _step(rank: int, count: int) -> int:
    """Which of 4 shades the ``rank``-th class (0 = nearest the centre) of ``count`` takes."""
    if count <= 1:
        return 2
    if count <= 3:  # skip the palest shade: it would read as the centre
        return 1 + round(rank * 2 / (count - 1))
    return min(3, rank * 4 // count)


def _spread(ramp: list[str], k: int) -> list[str]:
    """``k`` colours taken evenly from ``ramp``, skipping the palest."""
    if k <= 1:
        return [ramp[len(ramp) // 2]]
    return [ramp[1 + round(i * (len(ramp) - 2) / (k - 1))] for i in range(k)]
