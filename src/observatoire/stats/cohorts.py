"""Population by age and sex projected by cohort-change ratios (the Hamilton-Perry method):
computation on arrays, one row per territory.

Two censuses ``k`` years apart, in age groups ``k`` years wide (five-year groups, five years
apart), give for each sex and age group the ratio of the cohort's size at the second census to
its size, ``k`` years younger, at the first: it carries births' survival, deaths and migration
together, which is why the method needs nothing but censuses. Projected ``k`` years on:

- a group: the ratio times the group below it at the last census;
- the open-ended last group (« 85 ans ou plus »): the ratio of the last census's open group to
  the two oldest groups of the census before, times the two oldest groups now;
- the youngest group (0-4 years): children per woman aged 15 to 49 (the child-woman ratio of the
  last census) times the projected women of those ages.

Steps further repeat the same ratios. What is assumed: that each territory's ratios of the last
interval hold (its migration included); that the child-woman ratio holds. A small territory's
ratios are noisy: :func:`constrain` scales its projection to a projection of the territory that
contains it (INSEE's Omphale for a département), as Swanson, Schlottmann and Schmidt advise.

>>> before = np.array([[[100.0, 100.0, 100.0], [100.0, 100.0, 100.0]]])  # 1 territory, H, F
>>> after = np.array([[[100.0, 90.0, 150.0], [100.0, 90.0, 150.0]]])
>>> hamilton_perry(before, after, steps=1, women=(5, 9), width=5).round(1).tolist()
[[[[100.0, 90.0, 180.0], [100.0, 90.0, 180.0]]]]
"""

from __future__ import annotations

import re

import numpy as np

from observatoire.text import fold

__all__ = ["SEXES", "age_group", "constrain", "hamilton_perry", "sex_of"]

SEXES = ("H", "F")  # the order of the sex axis
Array = np.ndarray
_RANGE = re.compile(r"(?:de )?(\d{1,3}) ?(?:a|-|–) ?(\d{1,3})(?: ans)?")
_OPEN = re.compile(r"(\d{1,3}) ?(?:ans )?(?:ou plus|et plus|\+|ou \+)")


def age_group(label: str) -> tuple[int, int | None] | None:
    """The first and last age of a group's label, None for the last of an open group; None
    for a label that is no group (« Ensemble »).

    >>> age_group("De 0 à 4 ans"), age_group("05-09"), age_group("85 ans ou plus")
    ((0, 4), (5, 9), (85, None))
    >>> age_group("95+"), age_group("Ensemble")
    ((95, None), None)
    """
    text = fold(label, trim=True)
    found = _OPEN.fullmatch(text)
    if found:
        return int(found[1]), None
    found = _RANGE.fullmatch(text)
    if found and int(found[1]) <= int(found[2]):
        return int(found[1]), int(found[2])
    return None


def sex_of(label: str) -> str | None:
    """« H » or « F » for a sex's label or code, None for both (« Ensemble »).

    >>> sex_of("Femmes"), sex_of("Hommes"), sex_of("2"), sex_of("Ensemble")
    ('F', 'H', 'F', None)
    """
    text = fold(label, trim=True)
    if text in ("f", "femme", "femmes", "2", "feminin", "sexe feminin"):
        return "F"
    if text in ("h", "m", "homme", "hommes", "1", "masculin", "sexe masculin"):
        return "H"
    return None


def _ratio(num: Array, den: Array) -> Array:
    """``num / den``; 0 where both are 0 (an empty cohort stays empty), NaN where only the
    denominator is (a ratio without a base)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
    return np.where((den == 0) & (num == 0), 0.0, ratio)


def hamilton_perry(
    before: Array,
    after: Array,
    *,
    steps: int,
    women: tuple[int, int] = (15, 49),
    width: int = 5,
) -> Array:
    """``steps`` projections, each ``width`` years after the one before, from two censuses
    ``width`` years apart: ``before`` and ``after`` are territories × sexes (:data:`SEXES`) ×
    age groups ``width`` years wide from 0, the last one open. Returns territories × steps ×
    sexes × groups; NaN where a ratio has no denominator."""
    before, after = np.asarray(before, float), np.asarray(after, float)
    if before.shape != after.shape or before.ndim != 3 or before.shape[1] != len(SEXES):
        raise ValueError("before and after: territories × 2 sexes × age groups, the same shape")
    groups = before.shape[2]
    if groups < 3:
        raise ValueError("at least three age groups")
    ratios = np.full(before.shape, np.nan)
    ratios[:, :, 1:-1] = _ratio(after[:, :, 1:-1], before[:, :, :-2])
    ratios[:, :, -1] = _ratio(after[:, :, -1], before[:, :, -2] + before[:, :, -1])
    mothers = slice(women[0] // width, women[1] // width + 1)
    female = SEXES.index("F")
    child_woman = _ratio(after[:, :, 0], after[:, female, mothers].sum(axis=1)[:, None])
    out = np.empty((before.shape[0], steps, *before.shape[1:]))
    current = after
    for step in range(steps):
        nxt = np.empty_like(current)
        nxt[:, :, 1:-1] = ratios[:, :, 1:-1] * current[:, :, :-2]
        nxt[:, :, -1] = ratios[:, :, -1] * (current[:, :, -2] + current[:, :, -1])
        nxt[:, :, 0] = child_woman * nxt[:, female, mothers].sum(axis=1)[:, None]
        out[:, step] = nxt
        current = nxt
    return out


def constrain(projected: Array, groups: Array, control: Array) -> Array:
    """``projected`` (territories × sexes × ages) scaled so that the territories of each group
    (``groups``: its index in ``control`` per territory, -1 for none) add up to ``control``:
    one total per group, one per group and sex, or one per group, sex and age. A territory
    outside any group, a cell the control does not give (NaN) or of which the projections
    are all missing, is left as it is."""
    projected = np.asarray(projected, float)
    control = np.asarray(control, float)
    groups = np.asarray(groups)
    out = projected.copy()
    for g in range(control.shape[0]):
        members = groups == g
        if not members.any():
            continue
        cells = projected[members]
        if control.ndim == 1:
            total = np.nansum(cells)
        elif control.ndim == 2:  # by sex
            total = np.nansum(cells, axis=(0, 2))[:, None]
        else:
            total = np.nansum(cells, axis=0)
        wanted = control[g] if control.ndim != 2 else control[g][:, None]
        usable = np.isfinite(wanted) & (total > 0)
        scale = np.where(usable, wanted / np.where(usable, total, 1.0), 1.0)
        out[members] = cells * scale
    return out
