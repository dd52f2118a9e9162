"""Shared product-limit arithmetic for the Kaplan-Meier based estimators (curves, RMST, CIs).

Kept apart from `kaplan_meier.py` so that other estimators can use it without importing that
module: `blinareg.stats` exports a *function* named `kaplan_meier`, and importing the submodule of
the same name through another route would shadow it on the package.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtri

from blinareg.stats._tabulate import tabulate


def z_quantile(conf_level: float) -> float:
    """Two-sided standard-normal quantile, qnorm(1 - (1 - conf_level) / 2)."""
    return float(-ndtri((1.0 - conf_level) / 2.0))


def _risk_set_sizes(time_grid: np.ndarray, exits: np.ndarray, entry: np.ndarray | None, weights) -> np.ndarray:
    """(Weighted) number at risk at each grid time: exits at or after t, minus entries at or after t."""
    # A reverse cumulative sum, as survfit accumulates it, avoids cancellation in the tail.
    at_risk = np.cumsum(exits[::-1])[::-1]
    if entry is not None:
        if weights is None:
            entered_before = np.searchsorted(np.sort(entry), time_grid, side="left")
            at_risk = at_risk - (entry.shape[0] - entered_before)
        else:
            order = np.argsort(entry, kind="stable")
            sorted_entry = entry[order]
            weight_from = np.concatenate([np.cumsum(weights[order][::-1])[::-1], [0.0]])
            at_risk = at_risk - weight_from[np.searchsorted(sorted_entry, time_grid, side="left")]
    return at_risk


def product_limit(
    time: np.ndarray, event: np.ndarray, entry: np.ndarray | None = None, weights: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(time, n_at_risk, n_events, n_censored, survival, greenwood_sum) for validated 0/1 data."""
    grid, counts = tabulate(time, event, 2, weights)
    n_censored = counts[:, 0]
    n_events = counts[:, 1]
    n_at_risk = _risk_set_sizes(grid, n_censored + n_events, entry, weights)
    with np.errstate(divide="ignore", invalid="ignore"):
        hazard = np.where(n_events > 0, n_events / n_at_risk, 0.0)
        survival = np.cumprod(1.0 - hazard)
        greenwood = np.cumsum(np.where(n_events > 0, n_events / (n_at_risk * (n_at_risk - n_events)), 0.0))
    return grid, n_at_risk, n_events, n_censored, survival, greenwood
