"""pandas frames as the plain Python values templates and JSON answers take."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["plain", "records"]


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows of ``frame`` as dicts of plain Python values, missing values as None."""
    out = []
    for row in frame.astype(object).to_dict("records"):
        out.append({str(k): plain(v) for k, v in row.items()})
    return out


def plain(value: object) -> object:
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    return value
