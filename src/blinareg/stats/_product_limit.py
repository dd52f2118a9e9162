"""Shared product-limit arithmetic for the Kaplan-Meier based estimators (curves, RMST, CIs).

Kept apart from `_kaplan_meier.py` so that other estimators can use it without importing that
module.
"""

from __future__ import annotations

import numpy as np

from blinareg.stats._tabulate import ExitTable, event_group_code, exit_table, tabulate


def _risk_set_sizes(
    time_grid: np.ndarray, exits: np.ndarray, entry: np.ndarray | None, weights: np.ndarray | None
) -> np.ndarray:
    """(Weighted) number at risk at each grid time: exits at or after t, minus entries at or after t."""
    # A reverse cumulative sum, as survfit accumulates it, avoids cancellation in the tail.
    at_risk: np.ndarray = np.cumsum(exits[::-1])[::-1]
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
    if entry is None and weights is None:
        grid, n_at_risk, n_events, n_censored, survival, greenwood, _ = _product_limit_unweighted(time, event)
        return grid, n_at_risk, n_events, n_censored, survival, greenwood
    grid, counts = tabulate(time, event, 2, weights)
    n_censored = counts[:, 0]
    n_events = counts[:, 1]
    n_at_risk = _risk_set_sizes(grid, n_censored + n_events, entry, weights)
    with np.errstate(divide="ignore", invalid="ignore"):
        hazard = np.where(n_events > 0, n_events / n_at_risk, 0.0)
        survival = np.cumprod(1.0 - hazard)
        greenwood = np.cumsum(np.where(n_events > 0, n_events / (n_at_risk * (n_at_risk - n_events)), 0.0))
    return grid, n_at_risk, n_events, n_censored, survival, greenwood


def _product_limit_unweighted(
    time: np.ndarray, event: np.ndarray, spare_rows: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The same quantities without weights or entry times, from `exit_table`, and `spare_rows`
    uninitialised (spare_rows, m) rows of the same block for further per-time columns.

    Everyone exiting at or after t is at risk (n >= 1 at every row), so d / n needs no guard, and at
    a row without events the factor 1 - 0 / n = 1 and the Greenwood term 0 / (n n) = 0 leave the
    running product and sum exactly unchanged: the values equal the guarded formulas bit for bit.
    """
    table = exit_table(time, event_group_code(event, None), 1, 1, grid=True, all_rows=True, spare_rows=spare_rows + 1)
    return product_limit_from_exit_table(table)


def product_limit_from_exit_table(
    table: ExitTable,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """`_product_limit_unweighted` from `exit_table(..., all_rows=True, spare_rows=k + 1)`; k spare rows returned."""
    grid, n_at_risk, spare = table.time, table.at_risk_all, table.spare
    assert grid is not None and n_at_risk is not None and spare is not None  # grid, all_rows and spare_rows fill them
    n_events = table.events[0, 0]
    n_censored = table.exits
    n_censored -= n_events
    survival = spare[0]
    buffer = np.divide(n_events, n_at_risk)
    np.subtract(1.0, buffer, out=buffer)
    np.cumprod(buffer, out=survival)
    np.subtract(n_at_risk, n_events, out=buffer)
    buffer *= n_at_risk
    with np.errstate(divide="ignore"):
        np.divide(n_events, buffer, out=buffer)
    greenwood = np.cumsum(buffer, out=buffer)
    return grid, n_at_risk, n_events, n_censored, survival, greenwood, spare[1:]
