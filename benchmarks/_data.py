"""Synthetic survival data shared by every benchmark module (same data for every implementation)."""

from __future__ import annotations

import numpy as np

TIES = ("continuous", "whole days")


def make_data(n: int, ties: str = "continuous", seed: int = 2024) -> dict:
    """n subjects: exponential follow-up (median ~ 1 year), ~30% censored, two causes, two groups.

    ties = "whole days" rounds times up to whole days (many ties, minimum 1 day).
    Returns time (float64), event (0/1 int64), cause (0 censored / 1 / 2), group (0/1), X (n x 5).
    """
    if ties not in TIES:
        raise ValueError(f"ties must be one of {TIES}, got {ties!r}")
    rng = np.random.default_rng(seed)
    group = rng.integers(0, 2, n)
    time = rng.exponential(365.0 / np.log(2), n) * np.where(group == 1, 1.25, 1.0)
    if ties == "whole days":
        time = np.ceil(time)
    event = (rng.random(n) >= 0.3).astype(np.int64)
    cause = np.where(event == 1, np.where(rng.random(n) < 0.6, 1, 2), 0).astype(np.int64)
    X = rng.standard_normal((n, 5))
    return {"time": time, "event": event, "cause": cause, "group": group.astype(np.int64), "X": X}
