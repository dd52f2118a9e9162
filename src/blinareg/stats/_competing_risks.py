"""Cumulative incidence (Aalen-Johansen) and Gray's K-sample test, numerically equal to R `cmprsk::cuminc`.

Events are coded 0 = censored, 1..k = causes. Both functions reduce the data to one table of exits per
distinct time (and group) and then evaluate cmprsk's recursions (Fortran `cinc` and `crstm`) as
cumulative sums over that table, with no loop over subjects or times.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from blinareg.stats._checks import (
    as_time,
    check_cause,
    check_choice,
    check_conf_level,
    check_rho,
    check_survival_data,
)
from blinareg.stats._results import ChiSquareTest, FrameColumns, read_only, z_quantile
from blinareg.stats._tabulate import ExitTable, combine_codes, exit_table

__all__ = ["cumulative_incidence", "CumulativeIncidenceResult", "LandmarkIncidence", "gray_test", "GrayTestResult"]

CONF_TYPES = ("log-log",)


def _exit_kinds(event: np.ndarray, cause: int) -> np.ndarray:
    """`exit_table` kinds, events before censorings: 0 the cause of interest, 1 any other cause, 2 censored."""
    kind: np.ndarray = np.not_equal(event, cause).view(np.uint8)
    kind += np.equal(event, 0).view(np.uint8)
    return kind


def cif_confidence_limits(estimate: np.ndarray, variance: np.ndarray, z: float) -> tuple[np.ndarray, np.ndarray]:
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
class LandmarkIncidence(FrameColumns):
    """Cumulative incidence at requested times (as `cmprsk::timepoints`, plus the CI)."""

    frame_columns = ("time=times", "estimate", "variance", "lower", "upper")

    times: np.ndarray
    estimate: np.ndarray
    variance: np.ndarray
    lower: np.ndarray
    upper: np.ndarray


@dataclass(frozen=True)
class CumulativeIncidenceResult(FrameColumns):
    """The cumulative incidence function of one cause; one row per distinct time (any exit).

    estimate: Aalen-Johansen F(t) = sum_{t_j <= t} S(t_j-) d_cj / n_j, with S the all-cause
        Kaplan-Meier estimate; identical to cmprsk::cuminc's `est`.
    variance: cmprsk::cuminc's `var` (Gray's delta-method estimator, Fortran `cinc`), carried forward
        from the last time with an event of this cause, exactly like cuminc's step function
        (so it is 0 before the first such event).
    lower, upper: F ** exp(-+ z sqrt(var) / (F log F)) (log(-log) transform; cmprsk prints no CI);
        equal to the estimate where the variance is 0.
    """

    frame_columns = ("time", "estimate", "variance", "lower", "upper")

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


def aalen_johansen(
    at_risk: np.ndarray, cause: np.ndarray, other: np.ndarray, rows: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Estimate and cmprsk's variance (as at a jump) at the distinct times with a failure of any cause.

    at_risk, cause, other: number at risk and failures of the cause / of other causes at those times;
    `rows` (optional) selects the times to return. Times with censorings only are left out: there
    the Kaplan-Meier factor is exactly 1 and every running sum gains exactly 0, so the values at the
    failure times are those of the full recursion. Buffers are reused (fresh arrays cost page faults).
    """
    buffer_a = np.add(cause, other)  # failures
    survival_after = np.divide(buffer_a, at_risk)
    np.subtract(1.0, survival_after, out=survival_after)
    np.cumprod(survival_after, out=survival_after)
    survival_before = np.empty_like(survival_after)
    survival_before[0] = 1.0
    survival_before[1:] = survival_after[:-1]
    estimate = np.multiply(survival_before, cause)
    estimate /= at_risk
    np.cumsum(estimate, out=estimate)

    # Gray's variance: three running sums (cinc's v1, v2, v3), each step weighted by
    # S(t-)^2 * t5 * d / n^2 with t5 = 1 - (d - 1)/(n - 1), the hypergeometric tie correction.
    base = np.square(survival_before, out=survival_before)
    base /= np.square(at_risk, out=buffer_a)
    alive = survival_after > 0
    inverse_after = np.zeros_like(survival_after)
    np.divide(1.0, survival_after, out=inverse_after, where=alive)

    def step(d: np.ndarray, out: np.ndarray) -> np.ndarray:
        out.fill(1.0)
        tied = np.flatnonzero(d > 1)
        out[tied] = 1.0 - (d[tied] - 1.0) / (at_risk[tied] - 1.0)
        out *= base
        out *= d
        return out

    other_step = step(other, buffer_a)
    np.copyto(other_step, 0.0, where=~alive)
    del alive
    cause_step = step(cause, survival_after)
    other_t4 = np.multiply(estimate, inverse_after, out=survival_before)
    cause_t4 = np.multiply(inverse_after, estimate)
    cause_t4 += 1.0
    v1 = np.square(other_t4)
    v1 *= other_step
    buffer_b = np.square(cause_t4)
    buffer_b *= cause_step
    v1 += buffer_b
    np.cumsum(v1, out=v1)
    v2 = np.multiply(inverse_after, other_t4, out=other_t4)
    v2 *= other_step
    np.multiply(inverse_after, cause_t4, out=buffer_b)
    buffer_b *= cause_step
    v2 += buffer_b
    np.cumsum(v2, out=v2)
    v3 = np.square(inverse_after, out=inverse_after)
    np.add(other_step, cause_step, out=buffer_b)
    v3 *= buffer_b
    np.cumsum(v3, out=v3)
    if rows is not None:
        estimate, v1, v2, v3 = estimate[rows], v1[rows], v2[rows], v3[rows]
    # variance = v1 + F^2 v3 - 2 F v2
    v3 *= np.square(estimate)
    v1 += v3
    v2 *= 2.0
    v2 *= estimate
    v1 -= v2
    return estimate, v1


def fill_steps(values: np.ndarray, rows: np.ndarray, n_rows: int, initial: float) -> np.ndarray:
    """Step functions on n_rows rows: `initial` before rows[0], values[..., k] from rows[k] on.

    `values` is (k,) or (p, k); all p functions share one index, taken once.
    """
    marks: np.ndarray = np.zeros(n_rows, dtype=np.int32 if n_rows < 2**31 - 1 else np.int64)
    marks[rows] = 1
    index = np.cumsum(marks, out=marks)
    extended = np.empty(values.shape[:-1] + (values.shape[-1] + 1,))
    extended[..., 0] = initial
    extended[..., 1:] = values
    return np.take(extended, index, axis=-1)


def cumulative_incidence(
    time: ArrayLike, event: ArrayLike, *, cause: Any, conf_type: str = "log-log", conf_level: float = 0.95
) -> CumulativeIncidenceResult:
    """Aalen-Johansen cumulative incidence of `cause`, with cmprsk::cuminc's variance and a log(-log) CI.

    Equals ``cmprsk::cuminc(time, event)`` for that cause (one sample; call it per subgroup). The
    variance is Gray's (1988) estimator as coded in cmprsk's Fortran ``cinc``: with S the all-cause
    Kaplan-Meier, n_j at risk, d1_j events of this cause and d2_j of other causes,
    var F(t) = v1 + F(t)^2 v3 - 2 F(t) v2, where v1, v2, v3 accumulate, over times t_j <= t,
    w (a_j)^2, w a_j b_j and w b_j^2 with w = S(t_j-)^2 c(d) d / n_j^2, c(d) = 1 - (d-1)/(n_j-1),
    b_j = 1/S(t_j), and a_j = 1 + b_j F(t_j) for the cause's own events (d = d1_j) or
    a_j = b_j F(t_j) for competing events (d = d2_j).

    Parameters
    ----------
    time : array_like, shape (n,)
        Follow-up time; finite, >= 0.
    event : array_like, shape (n,)
        0 = censored, 1..k = causes.
    cause : int
        The cause of interest; must occur in `event`. Every other cause is a competing event.
    conf_type : {"log-log"}
        Confidence interval scale: log(-log) only (cmprsk prints no interval to match another scale).
    conf_level : float
        Confidence level in (0, 1).

    Returns
    -------
    CumulativeIncidenceResult
        ``time``, ``estimate``, ``variance``, ``lower``, ``upper`` at each time with a failure of any
        cause; ``at(times)`` for landmarks.

    References
    ----------
    Aalen OO, Johansen S. An empirical transition matrix for non-homogeneous Markov chains based on
    censored observations. Scand J Stat 1978;5:141-150.
    Gray RJ. A class of K-sample tests for comparing the cumulative incidence of a competing risk.
    Ann Stat 1988;16:1141-1154.

    Examples
    --------
    >>> from blinareg.stats.examples import CAUSE, TIME
    >>> round(float(cumulative_incidence(TIME, CAUSE, cause=1).estimate[-1]), 4)
    0.4849
    """
    conf_type = check_choice(conf_type, "conf_type", CONF_TYPES)
    conf_level = check_conf_level(conf_level)
    data = check_survival_data(time, event, competing=True)
    cause_code = check_cause(cause, data.event)
    table = exit_table(data.time, _exit_kinds(data.event, cause_code), 1, 2, grid=True)
    return finish_cumulative_incidence(table, cause_code, conf_type, conf_level)


def finish_cumulative_incidence(
    table: ExitTable, cause_code: int, conf_type: str, conf_level: float
) -> CumulativeIncidenceResult:
    """The curve from an `exit_table(..., 1, 2, grid=True)` of kinds 0 = this cause, 1 = other, 2 = censored.

    The one finishing step of `cumulative_incidence` and `cumulative_incidence_from_counts`.
    """
    assert table.time is not None and table.at_risk is not None and table.event_row is not None  # grid=True
    cause = table.events[0, 0]
    # cmprsk reports the variance only where this cause jumps and holds it in between; the estimate
    # and (so) the limits change only there too: evaluate at those rows, then repeat.
    jumps = np.flatnonzero(cause > 0)
    estimate, variance = aalen_johansen(table.at_risk[0], cause, table.events[1, 0], jumps)
    lower, upper = cif_confidence_limits(estimate, variance, z_quantile(conf_level))
    steps = fill_steps(np.stack([estimate, variance, lower, upper]), table.event_row[jumps], table.time.shape[0], 0.0)
    estimate, variance, lower, upper = steps
    return CumulativeIncidenceResult(table.time, estimate, variance, lower, upper, cause_code, conf_type, conf_level)


@dataclass(frozen=True)
class GrayTestResult(ChiSquareTest):
    """Gray's (1988) K-sample test of equal cumulative incidence of one cause, as cmprsk::cuminc$Tests.

    statistic: s' V^-1 s for the scores of the first k-1 groups; df = k - 1; p_value: upper
    chi-square tail. When V is singular, cmprsk reports -1; here statistic and p_value are NaN.
    groups: the group labels, sorted (cuminc's factor order); score, variance: s and V.
    """

    cause: int
    groups: np.ndarray
    score: np.ndarray
    variance: np.ndarray
    rho: float = 0.0


def _shifted(after: np.ndarray, first: float) -> np.ndarray:
    """Left-continuous version of running values along the last axis: `first`, then after[..., :-1]."""
    before = np.empty_like(after)
    before[..., 0] = first
    before[..., 1:] = after[..., :-1]
    return before


def gray_stratum(table: ExitTable, n_groups: int, rho: float) -> tuple[np.ndarray, np.ndarray]:
    """Score (k-1) and variance (k-1, k-1) contributions of one stratum: cmprsk's `crst`, vectorised.

    `table`: `exit_table(time, codes, n_groups, 2)` with kinds 0 = this cause, 1 = other, 2 = censored.
    Arrays are (group, time) over the distinct times with a failure of any cause. cmprsk's k x k
    per-time matrices a and c (c the running sum of a) are never formed whole: their entries are
    built one group pair at a time, and each variance term is summed as soon as it is complete.
    """
    at_risk = table.at_risk
    assert at_risk is not None  # an exit_table without all_rows
    d1 = table.events[0]
    d2 = table.events[1]
    del table
    m = at_risk.shape[1]
    scored = n_groups - 1
    if m == 0:
        return np.zeros(scored), np.zeros((scored, scored))
    nd1 = d1.sum(axis=0)
    shape = (n_groups, m)
    # Running products / sums are written one column to the right in (k, m + 1) buffers whose first
    # column is the starting value, so [:, :-1] is the left- and [:, 1:] the right-continuous curve.
    # Scratch (k, m) buffers are reused: each fresh array costs page faults at this size.
    scratch = np.empty(shape)

    with np.errstate(divide="ignore", invalid="ignore"):
        absent = at_risk <= 0
        # Per-group Kaplan-Meier (all causes) and cumulative incidence, left- and right-continuous.
        km = np.empty((n_groups, m + 1))
        km[:, 0] = 1.0
        km_before, km_after = km[:, :-1], km[:, 1:]
        np.subtract(at_risk, d1, out=km_after)
        km_after -= d2
        km_after /= at_risk
        np.copyto(km_after, 1.0, where=absent)
        np.cumprod(km_after, axis=1, out=km_after)
        np.multiply(km_before, d1, out=scratch)
        scratch /= at_risk
        np.copyto(scratch, 0.0, where=absent)
        cif = np.empty((n_groups, m + 1))
        cif[:, 0] = 0.0
        np.cumsum(scratch, axis=1, out=cif[:, 1:])
        cif_before = cif[:, :-1]
        t1 = np.divide(at_risk, km_before)
        np.copyto(t1, 0.0, where=absent)
        tr = t1.sum(axis=0)
        # n (1 - F(t-)): over S(t-) and summed over groups it is tq; over S(t-) tq, the expected share.
        remaining = np.subtract(1.0, cif_before, out=cif_before)
        remaining *= at_risk
        np.divide(remaining, km_before, out=scratch)
        np.copyto(scratch, 0.0, where=absent)
        tq = scratch.sum(axis=0)
        pooled = np.empty(m + 1)
        pooled[0] = 0.0
        np.divide(nd1, tr, out=pooled[1:])
        np.cumsum(pooled[1:], out=pooled[1:])
        pooled_before, pooled_after = pooled[:-1], pooled[1:]
        fb = (1.0 - pooled_before) ** rho if rho != 0 else np.ones(m)
        # Increments of c: a * nd1 / (tr (1 - F(t-))).
        increment = np.subtract(1.0, pooled_before)
        increment *= tr
        np.divide(nd1, increment, out=increment)

        score = np.empty(scored)
        row = np.empty(m)
        for g in range(scored):
            np.multiply(km_before[g], tq, out=row)
            np.divide(remaining[g], row, out=row)
            row *= nd1
            np.subtract(d1[g], row, out=row)
            np.copyto(row, 0.0, where=absent[g])
            row *= fb
            score[g] = row.sum()
        del remaining, tq

        survivors = np.subtract(1.0, pooled_after)
        del pooled, pooled_before, pooled_after
        alive = km_after > 0
        # Events of the cause of interest: t4, and t3 on rows with such events in a present group.
        t4 = np.divide(survivors, km_after)
        np.subtract(1.0, t4, out=t4)
        np.copyto(t4, 1.0, where=~alive)
        t3 = np.multiply(tr, km_before)
        t3 -= 1.0
        np.divide(nd1 - 1.0, t3, out=t3)
        np.subtract(1.0, t3, out=t3)
        np.copyto(t3, 1.0, where=nd1 <= 1)
        t3 *= km_before
        t3 *= nd1
        t3 /= np.multiply(tr, at_risk, out=scratch)
        absent |= nd1 <= 0
        np.copyto(t3, 0.0, where=absent)
        del absent
        # Competing events: t4c and t3c on rows with such events in the group (and S(t) > 0).
        competing = np.greater(d2, 0)
        competing &= alive
        del alive
        t4c = np.divide(survivors, km_after, out=cif[:, 1:])
        del cif, survivors
        np.copyto(t4c, 0.0, where=~competing)
        t3c = np.subtract(d2, 1.0)
        t3c /= np.subtract(at_risk, 1.0, out=scratch)
        np.subtract(1.0, t3c, out=t3c)
        np.copyto(t3c, 1.0, where=d2 <= 1)
        t3c *= np.square(km_before, out=km_before)
        t3c *= d2
        t3c /= np.square(at_risk, out=scratch)
        np.copyto(t3c, 0.0, where=~competing)
        del competing, km, km_before, km_after, d2

    minus_fb_tr = np.divide(fb, tr)
    np.negative(minus_fb_tr, out=minus_fb_tr)
    del tr
    v3 = np.square(t4, out=scratch)
    v3 *= t3
    v3 = v3.sum(axis=1)
    np.square(t4c, out=scratch)
    scratch *= t3c
    v3 += scratch.sum(axis=1)
    del scratch
    v2 = np.zeros((scored, n_groups))
    final_c = np.empty((scored, n_groups))
    variance = np.zeros((scored, scored))
    x = [np.empty(m) for _ in range(scored)]
    y = [np.empty(m) for _ in range(scored)]
    own_weight = np.empty(m)
    competing_weight = np.empty(m)
    for h in range(n_groups):
        np.multiply(t4[h], t3[h], out=own_weight)
        np.multiply(t4c[h], t3c[h], out=competing_weight)
        for i in range(scored):
            a = np.multiply(minus_fb_tr, t1[i], out=x[i])
            a *= t1[h]
            if i == h:
                a += np.multiply(fb, t1[i], out=row)
            c = np.multiply(a, increment, out=y[i])
            np.cumsum(c, out=c)
            final_c[i, h] = c[-1]
            a -= np.multiply(t4[h], c, out=row)
            c *= t4c[h]
            v2[i, h] = np.multiply(a, own_weight, out=row).sum() - np.multiply(c, competing_weight, out=row).sum()
        for i in range(scored):
            for j in range(i + 1):
                np.multiply(x[i], x[j], out=row)
                row *= t3[h]
                term = row.sum()
                np.multiply(y[i], y[j], out=row)
                row *= t3c[h]
                variance[i, j] += term + row.sum()
    del x, y
    variance = np.tril(variance) + np.tril(variance, -1).T
    variance += final_c @ (v3[:, None] * final_c.T) + final_c @ v2.T + v2 @ final_c.T
    return score, variance


def gray_test(
    time: ArrayLike, event: ArrayLike, group: ArrayLike, *, cause: int, strata: ArrayLike | None = None, rho: float = 0
) -> GrayTestResult:
    """Gray's test that the cumulative incidence of `cause` is equal across groups, as cmprsk::cuminc.

    Parameters
    ----------
    time, event : array_like, shape (n,)
        Follow-up time (finite, >= 0) and how it ended: 0 = censored, 1..k = causes.
    group : array_like, shape (n,)
        Group labels (at least two distinct).
    cause : int
        The cause of interest; must occur in `event`.
    strata : array_like, shape (n,), optional
        Stratum labels; scores and variances are summed over strata (cuminc's ``strata``).
    rho : float
        cuminc's rho: each time is weighted by (1 - F(t-))^rho.

    Returns
    -------
    GrayTestResult
        A `ChiSquareTest` (``statistic``, ``df``, ``p_value``; NaN when the variance is singular) with
        ``score``, ``variance`` and ``groups``.

    References
    ----------
    Gray RJ. A class of K-sample tests for comparing the cumulative incidence of a competing risk.
    Ann Stat 1988;16:1141-1154.

    Examples
    --------
    >>> from blinareg.stats.examples import CAUSE, GROUP, TIME
    >>> test = gray_test(TIME, CAUSE, GROUP, cause=1)
    >>> round(test.statistic, 3), test.df, round(test.p_value, 4)
    (5.203, 1, 0.0225)
    """
    rho = check_rho(rho)
    data = check_survival_data(time, event, group=group, strata=strata, competing=True, require_group=True)
    cause_code = check_cause(cause, data.event)
    group, group_levels = data.grouping()
    n_groups = len(group_levels)
    codes = combine_codes(_exit_kinds(data.event, cause_code), group, n_groups, 2)
    score = np.zeros(n_groups - 1)
    variance = np.zeros((n_groups - 1, n_groups - 1))
    for members in data.stratum_members():
        s, v = gray_stratum(exit_table(data.time[members], codes[members], n_groups, 2), n_groups, rho)
        score += s
        variance += v
    return finish_gray_test(score, variance, cause_code, group_levels, rho)


def finish_gray_test(
    score: np.ndarray, variance: np.ndarray, cause_code: int, groups: np.ndarray, rho: float
) -> GrayTestResult:
    """The test from the scores and variance summed over strata (`gray_test`, `gray_from_counts`)."""
    df = len(groups) - 1
    if np.linalg.matrix_rank(variance) < df:
        statistic = p_value = float("nan")
    else:
        statistic = float(score @ np.linalg.solve(variance, score))
        p_value = ChiSquareTest.from_statistic(statistic, df).p_value
    return GrayTestResult(
        statistic=statistic,
        df=df,
        p_value=p_value,
        cause=cause_code,
        groups=read_only(groups),
        score=read_only(score),
        variance=read_only(variance),
        rho=rho,
    )
