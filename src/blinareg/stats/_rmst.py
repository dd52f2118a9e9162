"""Restricted mean survival time, equal to R ``print(survfit(Surv(time, event) ~ 1), rmean = tau)``."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from blinareg.stats._checks import check_conf_level, check_survival_data, check_tau
from blinareg.stats._product_limit import product_limit
from blinareg.stats._results import z_quantile

__all__ = ["rmst", "RmstResult"]


@dataclass(frozen=True)
class RmstResult:
    """Restricted mean survival time up to `tau` (area under the Kaplan-Meier curve on [0, tau]).

    rmst, std_err: R survfit's "rmean" and "se(rmean)" for ``rmean = tau``;
    lower, upper: rmst -+ z std_err (normal approximation, `conf_level`).
    """

    tau: float
    rmst: float
    std_err: float
    lower: float
    upper: float
    conf_level: float = 0.95


def rmst(time: ArrayLike, event: ArrayLike, tau: float, *, conf_level: float = 0.95) -> RmstResult:
    """Restricted mean survival time and its standard error, as R survival's ``survmean``.

    The area is the sum of rectangles under the Kaplan-Meier step function on [0, tau] (extended
    at its last value when tau lies beyond the last time). The variance is the Greenwood-type sum
    over times t_j <= tau of d_j / (n_j (n_j - d_j)) * (area from t_j to tau)^2, omitting times
    where n_j = d_j, exactly as survmean does. R refuses a tau before the first time; here the
    curve is 1 there, so rmst = tau with standard error 0.

    Parameters
    ----------
    time, event : array_like, shape (n,)
        Follow-up time of each subject (finite, >= 0) and its status: 0 = censored, 1 = event
        (booleans accepted).
    tau : float
        Restriction time, finite and > 0.
    conf_level : float
        Confidence level in (0, 1).

    Returns
    -------
    RmstResult
        ``rmst``, ``std_err``, ``lower``, ``upper`` (normal interval), ``tau``.

    References
    ----------
    Royston P, Parmar MKB. Restricted mean survival time: an alternative to the hazard ratio for the
    design and analysis of randomized trials with a time-to-event outcome. BMC Med Res Methodol 2013.

    Examples
    --------
    >>> from blinareg.stats.examples import EVENT, TIME
    >>> result = rmst(TIME, EVENT, tau=20)
    >>> round(result.rmst, 4), round(result.std_err, 4)
    (16.1165, 1.2516)
    """
    level = check_conf_level(conf_level)
    horizon = check_tau(tau)
    data = check_survival_data(time, event)
    grid, n_at_risk, n_events, _, survival, _ = product_limit(data.time, data.event)
    keep = grid <= horizon
    times = np.append(grid[keep], horizon)
    steps = np.append(survival[keep], survival[keep][-1] if keep.any() else 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        hazard_term = np.where(n_at_risk == n_events, 0.0, n_events / (n_at_risk * (n_at_risk - n_events)))
    hazard_term = np.append(hazard_term[keep], 0.0)
    rectangles = np.diff(times, prepend=0.0) * np.concatenate([[1.0], steps[:-1]])
    area_after = np.cumsum(rectangles[::-1])[::-1]
    variance = float(np.sum(hazard_term[:-1] * area_after[1:] ** 2))
    mean = float(rectangles.sum())
    std_err = float(np.sqrt(variance))
    z = z_quantile(level)
    return RmstResult(
        tau=horizon, rmst=mean, std_err=std_err, lower=mean - z * std_err, upper=mean + z * std_err, conf_level=level
    )
