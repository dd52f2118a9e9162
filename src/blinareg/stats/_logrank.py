"""K-sample log-rank and Harrington-Fleming G-rho tests, numerically equal to R `survival::survdiff`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from blinareg.stats._checks import check_rho, check_survival_data
from blinareg.stats._results import ChiSquareTest, read_only
from blinareg.stats._tabulate import ExitTable, event_group_code, exit_table

__all__ = ["logrank_test", "LogrankResult"]


@dataclass(frozen=True)
class LogrankResult(ChiSquareTest):
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

    observed: np.ndarray
    expected: np.ndarray
    groups: np.ndarray
    variance: np.ndarray
    rho: float = 0.0


def _stratum_scores(
    time: np.ndarray, event: np.ndarray, group: np.ndarray, n_groups: int, rho: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Observed, expected and variance contributions of one stratum of patient-level data."""
    code = event_group_code(event, group, n_groups)
    return stratum_scores(exit_table(time, code, n_groups, 1, group_events=rho != 0), n_groups, rho)


def stratum_scores(table: ExitTable, n_groups: int, rho: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Observed, expected and variance contributions of one stratum (survdiff's C routine, vectorised).

    `table`: `exit_table(time, code, n_groups, 1, group_events=rho != 0)` (kind 0 event, 1 censored).

    Only the distinct times with an event enter: there, per group, the number at risk n_g and (for
    rho != 0) the deaths d_g; in total n and d. Per group g and time, survdiff adds
    w d n_g / n to the expected count and q_g = w^2 d (n - d) n_g / (n (n - 1)) to V_gg, and subtracts
    q_g n_h / n from V_gh.
    """
    at_risk = table.at_risk
    assert at_risk is not None  # an exit_table without all_rows
    if rho == 0:
        observed = table.code_totals[:n_groups].copy()
        deaths = table.events[0, 0]
    else:
        deaths_by_group = table.events[0]
        deaths = deaths_by_group.sum(axis=0)
    m = deaths.shape[0]
    if m == 0:
        return np.zeros(n_groups), np.zeros(n_groups), np.zeros((n_groups, n_groups))
    total = at_risk.sum(axis=0)

    if rho == 0:
        weighted_deaths = deaths
        scale = deaths.copy()
    else:
        # Left-continuous Kaplan-Meier of the pooled stratum, S(t-), raised to rho.
        survival_after = np.cumprod((total - deaths) / total)
        weight = np.empty(m)
        weight[0] = 1.0
        weight[1:] = survival_after[:-1]
        weight **= rho
        observed = np.array([float(np.multiply(d, weight).sum()) for d in deaths_by_group])
        weighted_deaths = weight * deaths
        scale = weight**2
        scale *= deaths
    # scale = w^2 d (n - d) / (n (n - 1)), 0 where n = 1 (no variance from a single subject at risk).
    buffer = np.subtract(total, deaths)
    scale *= buffer
    np.subtract(total, 1.0, out=buffer)
    buffer *= total
    with np.errstate(divide="ignore", invalid="ignore"):
        scale /= buffer
    scale[total <= 1] = 0.0

    # Sums of products through a reused buffer: np.dot would call a multi-threaded BLAS, whose
    # thread wake-up costs more than the product itself here.
    product = np.empty(m)

    def dot(x: np.ndarray, y: np.ndarray) -> float:
        return float(np.multiply(x, y, out=product).sum())

    expected = np.empty(n_groups)
    variance = np.empty((n_groups, n_groups))
    shares = []
    for g in range(n_groups):
        share = np.divide(at_risk[g], total)
        expected[g] = dot(weighted_deaths, share)
        shares.append(share)
    for g in range(n_groups):
        np.multiply(scale, at_risk[g], out=buffer)
        variance[g, g] = buffer.sum() - dot(buffer, shares[g])
        for h in range(g + 1, n_groups):
            variance[g, h] = variance[h, g] = -dot(buffer, shares[h])
    return observed, expected, variance


def logrank_test(
    time: ArrayLike, event: ArrayLike, group: ArrayLike, *, strata: ArrayLike | None = None, rho: float = 0
) -> LogrankResult:
    """Log-rank (rho = 0) or G-rho test that survival is equal across groups, as R ``survdiff``.

    The G-rho family weights each event time by S(t-)^rho, S the Kaplan-Meier estimate of the pooled
    data within the stratum; rho = 1 is the Peto-Peto modification of the Gehan-Wilcoxon test. With
    `strata`, observed, expected and variance are summed over strata, as
    ``survdiff(Surv(time, event) ~ group + strata(strata))``.

    Parameters
    ----------
    time, event : array_like, shape (n,)
        Follow-up time of each subject (finite, >= 0) and its status: 0 = censored, 1 = event
        (booleans accepted).
    group : array_like, shape (n,)
        Group labels (at least two distinct).
    strata : array_like, shape (n,), optional
        Stratum labels.
    rho : float
        G-rho exponent, finite and >= 0.

    Returns
    -------
    LogrankResult
        A `ChiSquareTest` (``statistic``, ``df``, ``p_value``) with ``observed``, ``expected``,
        ``variance`` and ``groups``.

    References
    ----------
    Harrington DP, Fleming TR. A class of rank test procedures for censored survival data.
    Biometrika 1982;69:553-566.

    Examples
    --------
    >>> from blinareg.stats.examples import EVENT, GROUP, TIME
    >>> test = logrank_test(TIME, EVENT, GROUP)
    >>> round(test.statistic, 4), test.df, round(test.p_value, 2)
    (3.0652, 1, 0.08)
    """
    rho = check_rho(rho, minimum=0)
    data = check_survival_data(time, event, group=group, strata=strata, require_group=True)
    group, group_levels = data.grouping()
    n_groups = len(group_levels)
    observed = np.zeros(n_groups)
    expected = np.zeros(n_groups)
    variance = np.zeros((n_groups, n_groups))
    for members in data.stratum_members():
        o, e, v = _stratum_scores(data.time[members], data.event[members], group[members], n_groups, rho)
        observed += o
        expected += e
        variance += v

    return finish_logrank(observed, expected, variance, group_levels, rho)


def finish_logrank(
    observed: np.ndarray, expected: np.ndarray, variance: np.ndarray, groups: np.ndarray, rho: float
) -> LogrankResult:
    """The test from observed, expected and variance summed over strata (`logrank_test`, `logrank_from_counts`)."""
    compared = np.flatnonzero(expected > 0)
    df = int(compared.size) - 1
    if df < 1:
        test = ChiSquareTest.from_statistic(0.0, 0)
    else:
        kept = compared[1:]
        difference = (observed - expected)[kept]
        block = variance[np.ix_(kept, kept)]
        test = ChiSquareTest.from_statistic(float(difference @ np.linalg.solve(block, difference)), df)
    return LogrankResult(
        statistic=test.statistic,
        df=test.df,
        p_value=test.p_value,
        observed=read_only(observed),
        expected=read_only(expected),
        groups=read_only(groups),
        variance=read_only(variance),
        rho=rho,
    )
