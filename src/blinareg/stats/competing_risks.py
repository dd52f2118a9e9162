"""Cumulative incidence (Aalen-Johansen) and Gray's K-sample test, numerically equal to R `cmprsk::cuminc`.

Events are coded 0 = censored, 1..k = causes. Both functions reduce the data to one table of exits per
distinct time (and group) and then evaluate cmprsk's recursions (Fortran `cinc` and `crstm`) as
cumulative sums over that table, with no loop over subjects or times.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import chi2

from blinareg.stats._checks import (
    SurvivalDataError,
    as_time,
    check_cause,
    check_choice,
    check_conf_level,
    check_survival_data,
)
from blinareg.stats._tabulate import tabulate
from blinareg.stats._product_limit import z_quantile

__all__ = ["cumulative_incidence", "CumulativeIncidenceResult", "LandmarkIncidence", "gray_test", "GrayTestResult"]

CONF_TYPES = ("log-log",)

# Per-time exit codes used internally: 0 censored, 1 the cause of interest, 2 any other cause.
_CENSORED, _CAUSE, _OTHER = 0, 1, 2


def _exit_codes(event: np.ndarray, cause: int) -> np.ndarray:
    return np.minimum(event, 1) * 2 - (event == cause)


def cif_confidence_limits(
    estimate: np.ndarray, variance: np.ndarray, z: float
) -> tuple[np.ndarray, np.ndarray]:
    """Pointwise limits on the log(-log) scale: F ** exp(-+ z sqrt(var) / (F log F)).

    Where the variance is 0 (e.g. before the first event) both limits equal the estimate.
    """
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        half_width = z * np.sqrt(variance) / (estimate * np.log(estimate))
        lower = estimate ** np.exp(-half_width)
        upper = estimate ** np.exp(half_width)
    degenerate = variance == 0
    return np.where(degenerate, estimate, lower), np.where(degenerate, estimate, upper)


@dataclass(frozen=True)
class LandmarkIncidence:
    """Cumulative incidence at requested times (as `cmprsk::timepoints`, plus the CI)."""

    times: np.ndarray
    estimate: np.ndarray
    variance: np.ndarray
    lower: np.ndarray
    upper: np.ndarray

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {"time": self.times, "estimate": self.estimate, "variance": self.variance, "lower": self.lower,
             "upper": self.upper}
        )


@dataclass(frozen=True)
class CumulativeIncidenceResult:
    """The cumulative incidence function of one cause; one row per distinct time (any exit).

    estimate: Aalen-Johansen F(t) = sum_{t_j <= t} S(t_j-) d_cj / n_j, with S the all-cause
        Kaplan-Meier estimate; identical to cmprsk::cuminc's `est`.
    variance: cmprsk::cuminc's `var` (Gray's delta-method estimator, Fortran `cinc`), carried forward
        from the last time with an event of this cause, exactly like cuminc's step function
        (so it is 0 before the first such event).
    lower, upper: F ** exp(-+ z sqrt(var) / (F log F)) (log(-log) transform; cmprsk prints no CI);
        equal to the estimate where the variance is 0.
    """

    time: np.ndarray
    estimate: np.ndarray
    variance: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    cause: int
    conf_type: str = "log-log"
    conf_level: float = 0.95

    def at(self, times: Any) -> LandmarkIncidence:
        """Values at landmark times, as ``cmprsk::timepoints``: the step function at the last time <= t.

        Before the first time the estimate and variance are 0. Beyond the largest follow-up time
        they are NaN, as timepoints gives NA there (the curve is not observed). Landmarks must be >= 0.
        """
        landmarks = np.atleast_1d(as_time(times, "times"))
        row = np.searchsorted(self.time, landmarks, side="right") - 1
        before = row < 0
        beyond = landmarks > self.time[-1]
        safe = np.where(before, 0, row)

        def pick(values: np.ndarray, initial: float) -> np.ndarray:
            return np.where(beyond, np.nan, np.where(before, initial, values[safe]))

        return LandmarkIncidence(
            landmarks,
            pick(self.estimate, 0.0),
            pick(self.variance, 0.0),
            pick(self.lower, 0.0),
            pick(self.upper, 0.0),
        )

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {"time": self.time, "estimate": self.estimate, "variance": self.variance, "lower": self.lower,
             "upper": self.upper}
        )


def aalen_johansen(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Estimate and cmprsk variance per row of a (m, 3) table of censored / cause / other exits."""
    exits = counts.sum(axis=1)
    at_risk = np.cumsum(exits[::-1])[::-1]
    cause = counts[:, _CAUSE]
    other = counts[:, _OTHER]
    failures = cause + other
    survival_after = np.cumprod(1.0 - failures / at_risk)
    survival_before = np.concatenate([[1.0], survival_after[:-1]])
    estimate = np.cumsum(survival_before * cause / at_risk)

    with np.errstate(divide="ignore", invalid="ignore"):
        # Gray's variance: three running sums (cinc's v1, v2, v3), each step weighted by
        # S(t-)^2 * t5 * d / n^2 with t5 = 1 - (d - 1)/(n - 1), the hypergeometric tie correction.
        def tie_factor(d: np.ndarray) -> np.ndarray:
            return np.where(d > 1, 1.0 - (d - 1.0) / (at_risk - 1.0), 1.0)

        base = survival_before**2 / at_risk**2
        inverse_after = np.where(survival_after > 0, 1.0 / survival_after, 0.0)
        other_step = np.where((other > 0) & (survival_after > 0), base * tie_factor(other) * other, 0.0)
        other_t4 = estimate * inverse_after
        cause_step = np.where(cause > 0, base * tie_factor(cause) * cause, 0.0)
        cause_t4 = 1.0 + inverse_after * estimate
        v1 = np.cumsum(other_t4**2 * other_step + cause_t4**2 * cause_step)
        v2 = np.cumsum(inverse_after * other_t4 * other_step + inverse_after * cause_t4 * cause_step)
        v3 = np.cumsum(inverse_after**2 * (other_step + cause_step))
    variance_at_jump = v1 + estimate**2 * v3 - 2.0 * estimate * v2
    # cmprsk reports the variance only where this cause jumps and holds it in between.
    last_jump = np.maximum.accumulate(np.where(cause > 0, np.arange(cause.shape[0]), -1))
    variance = np.where(last_jump >= 0, variance_at_jump[np.maximum(last_jump, 0)], 0.0)
    return estimate, variance


def cumulative_incidence(
    time: Any, event: Any, *, cause: Any, conf_type: str = "log-log", conf_level: float = 0.95
) -> CumulativeIncidenceResult:
    """Aalen-Johansen cumulative incidence of `cause`, with cmprsk::cuminc's variance and a log(-log) CI.

    Equals ``cmprsk::cuminc(time, event)`` for that cause (one sample; call it per subgroup).
    The variance is Gray's (1988) estimator as coded in cmprsk's Fortran `cinc`: with S the all-cause
    Kaplan-Meier, n_j at risk, d1_j events of this cause and d2_j of other causes,
    var F(t) = v1 + F(t)^2 v3 - 2 F(t) v2, where v1, v2, v3 accumulate, over times t_j <= t,
    w (a_j)^2, w a_j b_j and w b_j^2 with w = S(t_j-)^2 c(d) d / n_j^2, c(d) = 1 - (d-1)/(n_j-1),
    b_j = 1/S(t_j), and a_j = 1 + b_j F(t_j) for the cause's own events (d = d1_j) or
    a_j = b_j F(t_j) for competing events (d = d2_j).
    """
    conf_type = check_choice(conf_type, "conf_type", CONF_TYPES)
    conf_level = check_conf_level(conf_level)
    data = check_survival_data(time, event, competing=True)
    cause_code = check_cause(cause, data.event)
    grid, counts = tabulate(data.time, _exit_codes(data.event, cause_code), 3)
    estimate, variance = aalen_johansen(counts)
    lower, upper = cif_confidence_limits(estimate, variance, z_quantile(conf_level))
    return CumulativeIncidenceResult(
        time=grid,
        estimate=estimate,
        variance=variance,
        lower=lower,
        upper=upper,
        cause=cause_code,
        conf_type=conf_type,
        conf_level=conf_level,
    )


@dataclass(frozen=True)
class GrayTestResult:
    """Gray's (1988) K-sample test of equal cumulative incidence of one cause, as cmprsk::cuminc$Tests.

    statistic: s' V^-1 s for the scores of the first k-1 groups; df = k - 1; p_value: upper
    chi-square tail. When V is singular, cmprsk reports -1; here statistic and p_value are NaN.
    groups: the group labels, sorted (cuminc's factor order); score, variance: s and V.
    """

    statistic: float
    df: int
    p_value: float
    cause: int
    groups: np.ndarray
    score: np.ndarray
    variance: np.ndarray
    rho: float = 0.0


def _gray_stratum(time: np.ndarray, codes: np.ndarray, n_groups: int, rho: float) -> tuple[np.ndarray, np.ndarray]:
    """Score (k-1) and variance (k-1, k-1) contributions of one stratum: cmprsk's `crst`, vectorised."""
    _, counts = tabulate(time, codes, 3 * n_groups)
    counts = counts.reshape(-1, n_groups, 3)
    at_risk = np.cumsum(counts.sum(axis=2)[::-1], axis=0)[::-1]
    d1 = counts[:, :, _CAUSE]
    d2 = counts[:, :, _OTHER]
    nd1 = d1.sum(axis=1)
    nd2 = d2.sum(axis=1)
    rows = (nd1 + nd2) > 0
    at_risk, d1, d2, nd1, nd2 = at_risk[rows], d1[rows], d2[rows], nd1[rows], nd2[rows]
    m = at_risk.shape[0]
    scored = n_groups - 1
    if m == 0:
        return np.zeros(scored), np.zeros((scored, scored))

    with np.errstate(divide="ignore", invalid="ignore"):
        present = at_risk > 0
        # Per-group Kaplan-Meier (all causes) and cumulative incidence, left- and right-continuous.
        km_after = np.cumprod(np.where(present, (at_risk - d1 - d2) / at_risk, 1.0), axis=0)
        km_before = np.vstack([np.ones((1, n_groups)), km_after[:-1]])
        cif_after = np.cumsum(np.where(present, km_before * d1 / at_risk, 0.0), axis=0)
        cif_before = np.vstack([np.zeros((1, n_groups)), cif_after[:-1]])
        t1 = np.where(present, at_risk / km_before, 0.0)
        tr = t1.sum(axis=1)
        tq = np.where(present, at_risk * (1.0 - cif_before) / km_before, 0.0).sum(axis=1)
        pooled_after = np.cumsum(nd1 / tr)
        pooled_before = np.concatenate([[0.0], pooled_after[:-1]])
        fb = (1.0 - pooled_before) ** rho if rho != 0 else np.ones(m)

        # a = fb (diag(t1) - t1 t1' / tr); c accumulates a * nd1 / (tr (1 - F(t-))).
        a = -(fb / tr)[:, None, None] * t1[:, :, None] * t1[:, None, :]
        diagonal = np.arange(n_groups)
        a[:, diagonal, diagonal] += fb[:, None] * t1
        c = np.cumsum(a * (nd1 / (tr * (1.0 - pooled_before)))[:, None, None], axis=0)

        expected_share = np.where(present, at_risk * (1.0 - cif_before) / (km_before * tq[:, None]), 0.0)
        score = (fb[:, None] * np.where(present, d1 - nd1[:, None] * expected_share, 0.0))[:, :scored].sum(axis=0)

        # Events of the cause of interest.
        own = present & (nd1 > 0)[:, None]
        t4 = np.where(km_after > 0, 1.0 - (1.0 - pooled_after)[:, None] / km_after, 1.0)
        t5 = np.where((nd1 > 1)[:, None], 1.0 - (nd1[:, None] - 1.0) / (tr[:, None] * km_before - 1.0), 1.0)
        t3 = np.where(own, t5 * km_before * nd1[:, None] / (tr[:, None] * at_risk), 0.0)
        x = a[:, :scored, :] - t4[:, None, :] * c[:, :scored, :]
        # Competing events.
        competing = (km_after > 0) & (d2 > 0)
        t4c = np.where(competing, (1.0 - pooled_after)[:, None] / km_after, 0.0)
        t5c = np.where(d2 > 1, 1.0 - (d2 - 1.0) / (at_risk - 1.0), 1.0)
        t3c = np.where(competing, t5c * km_before**2 * d2 / at_risk**2, 0.0)
        y = t4c[:, None, :] * c[:, :scored, :]

    v3 = (t4**2 * t3).sum(axis=0) + (t4c**2 * t3c).sum(axis=0)
    v2 = (x * (t4 * t3)[:, None, :]).sum(axis=0) - (y * (t4c * t3c)[:, None, :]).sum(axis=0)
    variance = np.zeros((scored, scored))
    for i in range(scored):
        for j in range(i + 1):
            variance[i, j] = (x[:, i, :] * x[:, j, :] * t3).sum() + (y[:, i, :] * y[:, j, :] * t3c).sum()
            variance[j, i] = variance[i, j]
    final_c = c[-1, :scored, :]
    variance += final_c @ (v3[:, None] * final_c.T) + final_c @ v2.T + v2 @ final_c.T
    return score, variance


def gray_test(
    time: Any, event: Any, group: Any, *, cause: Any, strata: Any = None, rho: float = 0
) -> GrayTestResult:
    """Gray's test that the cumulative incidence of `cause` is equal across groups, as cmprsk::cuminc.

    `rho` is cuminc's rho: each time is weighted by (1 - F(t-))^rho, F the pooled-type estimate of
    the test. With `strata`, scores and variances are summed over strata (cuminc's `strata`).
    """
    try:
        rho = float(rho)
    except (TypeError, ValueError):
        raise SurvivalDataError(f"rho: must be a number, got {rho!r}") from None
    if not np.isfinite(rho):
        raise SurvivalDataError(f"rho: must be finite, got {rho!r}")
    data = check_survival_data(time, event, group=group, strata=strata, competing=True, require_group=True)
    cause_code = check_cause(cause, data.event)
    n_groups = len(data.group_levels)
    codes = data.group * 3 + _exit_codes(data.event, cause_code)
    score = np.zeros(n_groups - 1)
    variance = np.zeros((n_groups - 1, n_groups - 1))
    if data.strata is None:
        strata_members = [slice(None)]
    else:
        strata_members = [data.strata == s for s in range(len(data.strata_levels))]
    for members in strata_members:
        s, v = _gray_stratum(data.time[members], codes[members], n_groups, rho)
        score += s
        variance += v

    df = n_groups - 1
    if np.linalg.matrix_rank(variance) < df:
        statistic = p_value = float("nan")
    else:
        statistic = float(score @ np.linalg.solve(variance, score))
        p_value = float(chi2.sf(statistic, df))
    return GrayTestResult(
        statistic=statistic,
        df=df,
        p_value=p_value,
        cause=cause_code,
        groups=data.group_levels,
        score=score,
        variance=variance,
        rho=rho,
    )
