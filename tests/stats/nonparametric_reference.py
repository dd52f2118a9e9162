"""Loads tests/reference/nonparametric.json (written by make_reference_nonparametric.R) and its data."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

REFERENCE_DIR = Path(__file__).resolve().parents[1] / "reference"
RTOL = 1e-8
ATOL = 1e-13


@lru_cache(maxsize=None)
def reference() -> dict:
    return json.loads((REFERENCE_DIR / "nonparametric.json").read_text())


@lru_cache(maxsize=None)
def _dataset(name: str) -> pd.DataFrame:
    return pd.read_csv(REFERENCE_DIR / "data" / f"{name}.csv")


def dataset(name: str) -> pd.DataFrame:
    return _dataset(name).copy()


def as_array(values) -> np.ndarray:
    """JSON numbers (null for R's NA/NaN; a bare number for a length-1 R vector) as a float array."""
    return np.array([np.nan if v is None else v for v in np.atleast_1d(values)], dtype=float)


def assert_matches_r(actual, expected, label: str = "") -> None:
    np.testing.assert_allclose(
        np.atleast_1d(np.asarray(actual, dtype=float)), as_array(expected), rtol=RTOL, atol=ATOL, err_msg=label
    )


def case_id(case: dict) -> str:
    return str(case.get("name") or case.get("dataset"))
