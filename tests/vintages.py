"""Vintages of real files built from the real files of another year (tests and benchmarks).

../shared/data holds Filosofi for 2016, 2019 and 2021 only; the other years of a series are
built from them: every column suffixed with the year renamed, medians and counts shifted so
that a value read from the wrong file shows. Such a file is synthetic (its own figures) with
the shape and the codes of a real one.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

__all__ = ["number", "read_raw", "vintage"]


def read_raw(path: Path) -> pd.DataFrame:
    """A Filosofi file as pandas reads it: codes as text, decimal comma, secret → NaN."""
    return pd.read_csv(path, sep=";", dtype=str, encoding="utf-8-sig", keep_default_na=False)


def number(column: pd.Series) -> pd.Series:
    return pd.to_numeric(column.str.replace(",", ".").str.replace(" ", ""), errors="coerce")


def vintage(source: Path, target: Path, old: str, new: str) -> Path:
    """The file of year ``new`` built from the real file of year ``old``: every column
    suffixed with the year renamed, each median + 100 €, each count of households + 1 (a
    synthetic vintage: its own figures, the shape and the codes of a real one)."""
    frame = read_raw(source)
    renamed = {c: re.sub(f"(20)?{old}$", lambda m: (m.group(1) or "") + new, c)
               for c in frame.columns if c not in ("CODGEO", "LIBGEO")}  # fmt: skip
    frame = frame.rename(columns=renamed)
    for column in frame.columns:
        values = number(frame[column])
        if column.startswith(("Q2", "MED")):
            frame[column] = (values + 100).map(lambda v: "" if pd.isna(v) else f"{v:.0f}")
        elif column.startswith("NBMEN"):
            frame[column] = (values + 1).map(lambda v: "" if pd.isna(v) else f"{v:.0f}")
    frame.to_csv(target, sep=";", index=False, encoding="utf-8")
    return target
