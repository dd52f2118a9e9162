"""K-sample log-rank and Harrington-Fleming G-rho tests, numerically equal to R `survival::survdiff`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.stats import chi2

from blinareg.stats._checks import SurvivalDataError, check_survival_data
from blinareg.stats._tabulate import tabulate

__all__ = ["logrank_test", "LogrankResult"]


@dataclass(frozen=True)
class LogrankResult:
    """A G-rho test of equal survival across groups (rho = 0: log-rank), as R survdiff.

    groups: the group labels, sorted; observed, expected and the rows/columns of `variance` follow it.
    observed, expected: (weighted, when rho != 0, exactly as survdiff reports them) observed and
        expected events per group, summed over strata.
    variance: the k x k variance matrix of observed - expected (survdiff's `var`), summed over strata.
    statistic: (O - E)' V^- (O - E) over the groups with expected > 0, dropping the first of them
        (survdiff's chisq); df: number of groups with expected > 0, minus 1.
    p_value: upper chi-square tail; NaN when df < 1 (no events, or events in one group only, where
        survdiff reports chisq = 0 and an undefined p-value).
    """

    statistic: float
    df: int
    p_value: float
    observed: np.ndarray
    expected: np.ndarray
    groups: np.ndarray
    variance: np.ndarray
    rho: float = 0.0


def _stratum_scores(
    time: np.ndarray, event: np.ndarray, group: np.ndarray, n_groups: int, rho: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Observed, expected and variance contributions of one stratum (survdiff's C routine, vectorised)."""
    _, counts = tabulate(time, group * 2 + event, 2 * n_groups)
    # One row per group and column kind, contiguous, so the per-group cumulative sums stream.
    columns = np.ascontiguousarray(counts.T)
    del counts
    deaths_all = columns[1::2]
    exits = columns[0::2] + deaths_all
    deaths = deaths_all.sum(axis=0)
    rows = np.flatnonzero(deaths > 0)
    # Number at risk = everyone exiting at or after t; counts are whole numbers, so the subtraction
    # from the group totals is exact.
    exited_through = np.cumsum(exits, axis=1)
    at_risk_by_group = (exits.sum(axis=1)[:, None] - exited_through[:, rows] + exits[:, rows]).T
    deaths_by_group = deaths_all[:, rows].T
    deaths = deaths[rows]
    at_risk = at_risk_by_group.sum(axis=1)

    if rho == 0:
        weight = np.ones_like(deaths)
    else:
        # Left-continuous Kaplan-Meier of the pooled stratum, S(t-), raised to rho.
        survival_after = np.cumprod((at_risk - deaths) / at_risk)
        survival_before = np.concatenate([[1.0], survival_after[:-1]])
        weight = survival_before**rho

    share = at_risk_by_group / at_risk[:, None]
    observed = weight @ deaths_by_group
    expected = (weight * deaths) @ share
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(
            at_risk > 1, weight**2 * deaths * (at_risk - deaths) / (at_risk * (at_risk - 1.0)), 0.0
        )
    variance = np.diag(scale @ at_risk_by_group) - at_risk_by_group.T @ (scale[:, None] * share)
    return observed, expected, variance


def logrank_test(
    time: Any, event: Any, group: Any, *, strata: Any = None, rho: float = 0
) -> LogrankResult:
    """Log-rank (rho = 0) or G-rho test that survival is equal across groups, as R `survdiff`.

    The G-rho family (Harrington & Fleming 1982) weights each event time by S(t-)^rho, where S is the
    Kaplan-Meier estimate of the pooled data within the stratum; rho = 1 is the Peto-Peto
    modification of the Gehan-Wilcoxon test. With `strata`, observed, expected and variance are
    summed over strata, as `survdiff(Surv(time, event) ~ group + strata(strata))`.
    """
    try:
        rho = float(rho)
    except (TypeError, ValueError):
        raise SurvivalDataError(f"rho: must be a number >= 0, got {rho!r}") from None
    if not np.isfinite(rho) or rho < 0:
        raise SurvivalDataError(f"rho: must be a finite number >= 0, got {rho!r}")
    data = check_survival_data(time, event, group=group, strata=strata, require_group=True)
    n_groups = len(data.group_levels)
    observed = np.zeros(n_groups)
    expected = np.zeros(n_groups)
    variance = np.zeros((n_groups, n_groups))
    if data.strata is None:
        strata_members = [slice(None)]
    else:
        strata_members = [data.strata == s for s in range(len(data.strata_levels))]
    for members in strata_members:
        o, e, v = _stratum_scores(data.time[members], data.event[members], data.group[members], n_groups, rho)
        observed += o
        expected += e
        variance += v

    compared = np.flatnonzero(expected > 0)
    df = int(compared.size) - 1
    if df < 1:
        statistic, p_value = 0.0, float("nan")
    else:
        kept = compared[1:]
        difference = (observed - expected)[kept]
        block = variance[np.ix_(kept, kept)]
        statistic = float(difference @ np.linalg.solve(block, difference))
        p_value = float(chi2.sf(statistic, df))
    return LogrankResult(
        statistic=statistic,
        df=max(df, 0),
        p_value=p_value,
        observed=observed,
        expected=expected,
        groups=data.group_levels,
        variance=variance,
        rho=rho,
    )
