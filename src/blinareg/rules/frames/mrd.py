"""MRD status of many measurements at once: the one implementation of `rules.mrd_status`.

clinical-rules.md §4: MRD negative below `mrd_negative_threshold` (1e-4); complete MRD response =
not detected at a sensitivity of `complete_mrd_min_sensitivity` (1e-4) or finer. The scalar
`rules.mrd_status` calls `mrd_status_codes` on one measurement.
"""

from __future__ import annotations

import numpy as np

from blinareg.rules.arrays import MRD_STATUS_CODES, mrd_status_codes
from blinareg.rules.ruleset import RuleSet

__all__ = ["MRD_STATUS_CODES", "mrd_status_codes", "mrd_status_columns"]


def mrd_status_columns(
    fraction: np.ndarray, detected: np.ndarray, sensitivity: np.ndarray, rules: RuleSet
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(value, status, complete) per measurement: value = the fraction when detected, else 0; status
    positive / negative / not_evaluable as `rules.mrd_status(value, sensitivity)`.

    Detected without a number (`positive_not_quantifiable`, or the level `unknown`; value NaN): positive,
    conservatively (residual disease was detected and cannot be shown to be below the threshold), and
    never a complete MRD response."""
    value = np.where(detected, np.asarray(fraction, dtype=float), 0.0)
    unquantified = np.isnan(value)
    code, complete = mrd_status_codes(
        np.nan_to_num(value),
        np.asarray(sensitivity, dtype=float),
        rules.mrd_negative_threshold.value,
        rules.complete_mrd_min_sensitivity.value,
    )
    status = np.array(["positive", "negative", "negative", "not_evaluable", "not_evaluable"], dtype=object)[code]
    status[unquantified] = "positive"
    return value, status, complete & ~unquantified
