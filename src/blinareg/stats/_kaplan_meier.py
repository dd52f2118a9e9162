"""Kaplan-Meier survival curves and median follow-up, numerically equal to R `survival::survfit`.

The estimator is the product-limit estimate S(t) = prod_{t_j <= t} (1 - d_j / n_j) with Greenwood's
variance of the cumulative hazard, var(-log S(t)) = sum_{t_j <= t} d_j / (n_j (n_j - d_j)), exactly as
`survfit(Surv(time, event) ~ 1)` computes them (`stype = 1`, `ctype = 1`, `error = "greenwood"`),
including case weights (weighted d_j, n_j) and left truncation (`Surv(entry, time, event)`: the
risk set at t is {entry < t <= time}).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from blinareg.stats._checks import (
    as_time,
    check_choice,
    check_conf_level,
    check_survival_data,
)
from blinareg.stats._product_limit import _product_limit_unweighted, product_limit
from blinareg.stats._results import FrameColumns, z_quantile

__all__ = [
    "kaplan_meier",
    "KaplanMeierResult",
    "LandmarkSurvival",
    "median_followup",
    "MedianFollowupResult",
]

CONF_TYPES = ("log-log", "log", "plain")

# survival:::survmean compares with 0.5 using this tolerance (sqrt of machine epsilon).
_MEDIAN_TOLERANCE = float(np.sqrt(np.finfo(float).eps))


def survival_confidence_limits(
    survival: np.ndarray,
    se_log: np.ndarray,
    conf_type: str,
    z: float,
    out: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Pointwise limits of S from the standard error of -log S, as R `survival:::survfit_confint`.

    plain:   S -+ z se(S), clipped to [0, 1];
    log:     exp(log S -+ z se), upper clipped at 1 (undefined where S = 0);
    log-log: exp(-exp(log(-log S) -+ z se / log S)) (undefined where S is 0 or 1).
    Undefined limits are NaN, where R returns NA. `out`: optional (lower, upper) arrays to fill.
    """
    # Written with few temporaries (each costs page faults); same operations, in the same order, as
    # the textbook expressions above, so the results are identical.
    lower, upper = out if out is not None else (np.empty_like(survival), np.empty_like(survival))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if conf_type == "plain":
            half_width = np.multiply(se_log, z, out=upper)
            half_width *= survival
            np.subtract(survival, half_width, out=lower)
            np.maximum(lower, 0.0, out=lower)
            np.add(survival, half_width, out=upper)
            np.minimum(upper, 1.0, out=upper)
            return lower, upper
        log_s = np.log(survival, out=lower)
        if conf_type == "log":
            log_s[survival == 0] = np.nan
            z_se = np.multiply(se_log, z)
            np.add(log_s, z_se, out=upper)
            np.subtract(log_s, z_se, out=lower)
            np.exp(lower, out=lower)
            np.exp(upper, out=upper)
            np.minimum(upper, 1.0, out=upper)
            return lower, upper
        undefined = survival == 0
        undefined |= survival == 1
        log_s[undefined] = np.nan
        del undefined
        log_minus_log = np.negative(log_s)
        np.log(log_minus_log, out=log_minus_log)
        half_width = np.multiply(se_log, z, out=upper)
        half_width /= log_s
        np.subtract(log_minus_log, half_width, out=lower)
        np.add(log_minus_log, half_width, out=upper)
        del log_minus_log
        for limit in (lower, upper):
            np.exp(limit, out=limit)
            np.negative(limit, out=limit)
            np.exp(limit, out=limit)
        return lower, upper


def first_crossing(time: np.ndarray, curve: np.ndarray, level: float = 0.5) -> float | None:
    """The time a survival-type curve first reaches `level`, by R's rule (survival:::survmean).

    Ignoring NaN points, take the first time the curve is below level + tolerance; if the curve equals
    the level there (within tolerance) and drops below it later, return the midpoint between that time
    and the first time it drops. None if the curve never reaches the level.
    """
    keep = ~np.isnan(curve) & (curve < level + _MEDIAN_TOLERANCE)
    kept = np.flatnonzero(keep)
    if kept.size == 0:
        return None
    first = kept[0]
    if abs(curve[first] - level) < _MEDIAN_TOLERANCE:
        below = kept[curve[kept] < curve[first]]
        if below.size:
            return float((time[first] + time[below[0]]) / 2.0)
    return float(time[first])


@dataclass(frozen=True)
class LandmarkSurvival(FrameColumns):
    """Kaplan-Meier values at requested landmark times (R `summary(fit, times=, extend=TRUE)`)."""

    frame_columns = ("time=times", "n_at_risk", "survival", "std_err", "lower", "upper")

    times: np.ndarray
    survival: np.ndarray
    std_err: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    n_at_risk: np.ndarray


@dataclass(frozen=True)
class KaplanMeierResult(FrameColumns):
    """A Kaplan-Meier curve: one row per distinct time with an event or a censoring, as R survfit.

    time, n_at_risk, n_events, n_censored: as survfit's time, n.risk, n.event, n.censor (weighted
        sums when weights were given; with left truncation n_at_risk counts {entry < t <= time}).
    survival: S(t), right-continuous (events at t included).
    std_err: standard error of the SURVIVAL estimate, S(t) * sqrt(Greenwood sum), i.e. R's
        `summary(fit)$std.err` = `fit$std.err * fit$surv` (survfit's own `std.err` is on the
        cumulative-hazard scale). NaN once S(t) = 0 (R: Inf * 0).
    lower, upper: pointwise confidence limits for S(t) with `conf_type` (NaN where R gives NA).
    """

    frame_columns = ("time", "n_at_risk", "n_events", "n_censored", "survival", "std_err", "lower", "upper")

    time: np.ndarray
    n_at_risk: np.ndarray
    n_events: np.ndarray
    n_censored: np.ndarray
    survival: np.ndarray
    std_err: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    conf_type: str = "log-log"
    conf_level: float = 0.95

    @property
    def median(self) -> float | None:
        """Median survival time as R prints it (midpoint rule on a flat stretch at 0.5); None if not reached."""
        return first_crossing(self.time, self.survival)

    @property
    def median_lower(self) -> float | None:
        """Lower confidence limit of the median: where the lower curve reaches 0.5 (R's "0.95LCL")."""
        return first_crossing(self.time, self.lower)

    @property
    def median_upper(self) -> float | None:
        """Upper confidence limit of the median: where the upper curve reaches 0.5 (R's "0.95UCL")."""
        return first_crossing(self.time, self.upper)

    def at(self, times: Any) -> LandmarkSurvival:
        """Values at landmark times, as R ``summary(fit, times=times, extend=TRUE)``.

        survival/std_err/lower/upper are those of the last curve time <= landmark; before the first
        curve time they are 1, 0, 1, 1. n_at_risk is the number at risk at the first curve time >=
        landmark. Beyond the last curve time the curve is carried forward (survival stays at its last
        value, as R extends it) and n_at_risk is 0. Landmarks must be finite and >= 0.
        """
        landmarks = np.atleast_1d(as_time(times, "times"))
        row = np.searchsorted(self.time, landmarks, side="right") - 1
        before = row < 0
        safe = np.where(before, 0, row)
        survival = np.where(before, 1.0, self.survival[safe])
        std_err = np.where(before, 0.0, self.std_err[safe])
        lower = np.where(before, 1.0, self.lower[safe])
        upper = np.where(before, 1.0, self.upper[safe])
        next_row = np.searchsorted(self.time, landmarks, side="left")
        beyond = next_row >= self.time.shape[0]
        n_at_risk = np.where(beyond, 0.0, self.n_at_risk[np.minimum(next_row, self.time.shape[0] - 1)])
        return LandmarkSurvival(landmarks, survival, std_err, lower, upper, n_at_risk)


def kaplan_meier(
    time: ArrayLike,
    event: ArrayLike,
    *,
    entry: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    conf_type: str = "log-log",
    conf_level: float = 0.95,
) -> KaplanMeierResult:
    """Kaplan-Meier estimate with Greenwood standard errors, as R ``survfit(Surv(time, event) ~ 1)``.

    At a tied time, events precede censorings (a subject censored at t is at risk at t).

    Parameters
    ----------
    time : array_like, shape (n,)
        Follow-up time of each subject; finite, >= 0.
    event : array_like, shape (n,)
        0 = censored, 1 = event (booleans accepted).
    entry : array_like, shape (n,), optional
        Left-truncation (delayed entry) times, ``Surv(entry, time, event)``; entry < time.
    weights : array_like, shape (n,), optional
        Case weights (survfit's ``weights``); finite, >= 0.
    conf_type : {"log-log", "log", "plain"}
        Confidence interval scale (R's ``conf.type``; the default here is "log-log", R's is "log").
    conf_level : float
        Confidence level in (0, 1).

    Returns
    -------
    KaplanMeierResult
        One entry per distinct time: ``time``, ``n_at_risk``, ``n_events``, ``n_censored``,
        ``survival``, ``std_err``, ``lower``, ``upper``; ``median`` with its interval, ``at(times)``.

    References
    ----------
    Kaplan EL, Meier P. Nonparametric estimation from incomplete observations. J Am Stat Assoc 1958.
    Therneau T. survival: Survival Analysis, R package (``survfit``).

    Examples
    --------
    >>> from blinareg.stats.examples import EVENT, TIME
    >>> fit = kaplan_meier(TIME, EVENT)
    >>> fit.median, round(float(fit.survival[0]), 4)
    (23.0, 0.8571)
    """
    conf_type = check_choice(conf_type, "conf_type", CONF_TYPES)
    conf_level = check_conf_level(conf_level)
    data = check_survival_data(time, event, entry=entry, weights=weights)
    columns: tuple[Any, ...]
    if data.entry is None and data.weights is None:
        # Every per-time column is a row of one block (see `exit_table`).
        columns = _product_limit_unweighted(data.time, data.event, spare_rows=3)
    else:
        columns = (*product_limit(data.time, data.event, data.entry, data.weights), None)
    return finish_kaplan_meier(columns, conf_type, conf_level)


def finish_kaplan_meier(columns: tuple[Any, ...], conf_type: str, conf_level: float) -> KaplanMeierResult:
    """The curve from product-limit columns (time, n_at_risk, n_events, n_censored, survival,
    greenwood_sum, spare), where spare is None or three spare rows for std_err, lower and upper.

    The one finishing step of `kaplan_meier` and `kaplan_meier_from_counts`.
    """
    grid, n_at_risk, n_events, n_censored, survival, greenwood, spare = columns
    std_err, lower, upper = (None, None, None) if spare is None else spare
    limits_out = None if lower is None or upper is None else (lower, upper)
    se_log = np.sqrt(greenwood, out=greenwood)
    with np.errstate(invalid="ignore"):
        std_err = np.multiply(se_log, survival, out=std_err)
    lower, upper = survival_confidence_limits(survival, se_log, conf_type, z_quantile(conf_level), out=limits_out)
    return KaplanMeierResult(
        time=grid,
        n_at_risk=n_at_risk,
        n_events=n_events,
        n_censored=n_censored,
        survival=survival,
        std_err=std_err,
        lower=lower,
        upper=upper,
        conf_type=conf_type,
        conf_level=conf_level,
    )


@dataclass(frozen=True)
class MedianFollowupResult:
    """Median follow-up by the reverse Kaplan-Meier method (censorings counted as events).

    median, lower, upper: as R prints `survfit(Surv(time, 1 - event) ~ 1, conf.type=conf_type)`
    (median, LCL, UCL); None when the reverse curve does not reach 0.5.
    n_censored: number of censored subjects (the "events" of the reverse curve).
    """

    median: float | None
    lower: float | None
    upper: float | None
    n: int
    n_censored: int
    conf_type: str = "log-log"
    conf_level: float = 0.95


def median_followup(
    time: ArrayLike, event: ArrayLike, *, conf_type: str = "log-log", conf_level: float = 0.95
) -> MedianFollowupResult:
    """Reverse Kaplan-Meier median follow-up with its confidence interval.

    Matches the median and CI of R ``survfit(Surv(time, 1 - event) ~ 1, conf.type = "log-log")``.

    Parameters
    ----------
    time, event : array_like, shape (n,)
        Follow-up time of each subject (finite, >= 0) and its status: 0 = censored, 1 = event
        (booleans accepted).
    conf_type : {"log-log", "log", "plain"}
        Confidence interval scale.
    conf_level : float
        Confidence level in (0, 1).

    Returns
    -------
    MedianFollowupResult
        ``median``, ``lower``, ``upper`` (None where not reached).

    References
    ----------
    Schemper M, Smith TL. A note on quantifying follow-up in studies of failure time.
    Control Clin Trials 1996;17:343-346.

    Examples
    --------
    >>> from blinareg.stats.examples import EVENT, TIME
    >>> median_followup(TIME, EVENT).median
    25.0
    """
    data = check_survival_data(time, event)
    curve = kaplan_meier(data.time, 1 - data.event, conf_type=conf_type, conf_level=conf_level)
    return MedianFollowupResult(
        median=curve.median,
        lower=curve.median_lower,
        upper=curve.median_upper,
        n=data.n,
        n_censored=int(data.n - data.event.sum()),
        conf_type=curve.conf_type,
        conf_level=curve.conf_level,
    )
