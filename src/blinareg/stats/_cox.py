"""Cox proportional hazards regression, numerically equal to R ``survival::coxph``.

The partial likelihood (Breslow or Efron ties), its score and information are evaluated without any
loop over subjects or event times: subjects are coded once by the range of distinct event times at
which they are at risk (``lo <= g < hi``), so every risk-set sum is a difference array accumulated
with ``np.bincount`` and a cumulative sum, and the second-derivative sums collapse to one weighted
Gram matrix ``X' diag(w) X``. Newton-Raphson with step halving and the convergence rule follow
``coxph.fit`` (C routine ``coxfit6``) for right-censored data and ``agreg.fit`` (``agfit4``) for
counting-process data (``entry`` given).

Variance, tests and concordance follow ``coxph``:

* ``variance`` is the inverse information, or with ``robust``/``cluster`` the sandwich ``D'D`` of the
  dfbeta residuals (``residuals.coxph(type="dfbeta")``) summed within clusters; ``naive_se`` keeps
  the model-based standard errors.
* likelihood-ratio, Wald and score tests as ``summary(coxph)$logtest``, ``$waldtest`` (unrounded:
  R's summary rounds the Wald statistic to 2 decimals for printing) and ``$sctest``; with a robust
  variance also ``$robscore``, the score test at beta = 0 with the score residuals' sandwich.
* ``concordance`` and ``concordance_se`` equal ``fit$concordance[c("concordance", "std")]`` from
  ``concordancefit(..., reverse=TRUE, timefix=FALSE)``: Harrell's C with ties in the risk score
  counting 1/2 and the infinitesimal-jackknife standard error (clustered when ``cluster`` is given).
"""

from __future__ import annotations

import warnings
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any, Literal, overload

import numpy as np
from numpy.typing import ArrayLike
from scipy import linalg

from blinareg.stats._checks import (
    SurvivalData,
    SurvivalDataError,
    check_choice,
    check_cluster,
    check_conf_level,
    check_covariates,
    check_survival_data,
)
from blinareg.stats._results import ChiSquareTest, CoefficientColumns, CoefficientTable, ConvergenceWarning, read_only
from blinareg.stats._tabulate import run_starts

__all__ = ["cox_ph", "CoxResult", "ChiSquareTest", "CoefficientTable", "ConvergenceWarning", "concordance_index"]

# coxph.control() defaults.
_EPS = 1e-9
_MAX_ITER = 20
_TOLER_INF = np.sqrt(_EPS)
# Columns whose values all lie in {-1, 0, 1} are neither centred nor scaled (coxph's `nocenter`).
_NOCENTER = (-1.0, 0.0, 1.0)


@dataclass(frozen=True)
class CoxResult(CoefficientColumns):
    """A fitted Cox model (``coxph``).

    coefficients: the coefficient table (coef, se, z, p_value, hazard_ratio and its interval, one
        entry per covariate in `covariate_names` order); its columns are also attributes of the
        result (``fit.coef``, ``fit.hazard_ratio`` ...). `se` (and so `z`, `p_value`, the interval and
        `wald_test`) is the robust sandwich standard error when the fit was robust; `naive_se` then
        holds the model-based one (otherwise None).
    loglik: (null, fitted) as R's ``fit$loglik``; iterations: as ``fit$iter``.
    likelihood_ratio_test, wald_test, score_test, robust_score_test: ``summary(coxph)``'s tests.
    Every array is read-only.
    """

    coefficients: CoefficientTable
    loglik: tuple[float, float]
    concordance: float
    concordance_se: float
    likelihood_ratio_test: ChiSquareTest
    wald_test: ChiSquareTest
    score_test: ChiSquareTest
    robust_score_test: ChiSquareTest | None
    variance: np.ndarray
    naive_se: np.ndarray | None
    naive_variance: np.ndarray | None
    n: int
    n_events: int
    iterations: int
    converged: bool
    ties: str
    robust: bool
    conf_level: float
    means: np.ndarray


# --------------------------------------------------------------------------------------------------
# Risk-set layout
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _RiskSets:
    """Subjects coded by the distinct (stratum, event time) groups at which they are at risk.

    Rows are sorted by stratum then time. Groups are ordered the same way; subject j is at risk at
    groups lo[j] <= g < hi[j]. `death_rows` are the subjects with an event (in group order),
    `death_group` their group and `efron_fraction` their within-tie index m / d (0 for Breslow),
    Efron's down-weighting of tied deaths. `all_lo_zero` (one stratum, no entry) lets the risk-set
    sums skip one bincount.
    """

    lo: np.ndarray
    hi: np.ndarray
    n_groups: int
    death_rows: np.ndarray
    death_group: np.ndarray
    deaths_per_group: np.ndarray
    efron_fraction: np.ndarray
    all_lo_zero: bool


def _risk_sets(
    time: np.ndarray, event: np.ndarray, entry: np.ndarray | None, stratum: np.ndarray, ties: str
) -> _RiskSets:
    """Code sorted data (by stratum, then time) by risk-set ranges; no loop over subjects or times."""
    n = time.shape[0]
    starts_group = run_starts(time, stratum)
    time_key = np.cumsum(starts_group) - 1  # exact integer code of (stratum, time), non-decreasing
    death_rows = np.flatnonzero(event == 1)
    death_key = time_key[death_rows]
    new_death_group = run_starts(death_key)
    group_key = death_key[new_death_group]
    n_groups = int(group_key.size)
    death_group = np.cumsum(new_death_group) - 1
    hi = np.searchsorted(group_key, time_key, side="right")
    stratum_start = np.empty(n, dtype=bool)
    stratum_start[0] = True
    stratum_start[1:] = stratum[1:] != stratum[:-1]
    first_key = time_key[np.flatnonzero(stratum_start)][np.cumsum(stratum_start) - 1]
    first_group = np.searchsorted(group_key, first_key, side="left")
    if entry is None:
        lo = first_group
    else:
        # First group of the subject's stratum with event time > entry (loop over strata only).
        group_time = time[death_rows[new_death_group]]
        lo = np.empty(n, dtype=np.int64)
        bounds = np.append(np.flatnonzero(stratum_start), n)
        for a, b in zip(bounds[:-1], bounds[1:]):
            g0 = first_group[a]
            g1 = int(np.searchsorted(group_key, time_key[b - 1], side="right"))
            lo[a:b] = g0 + np.searchsorted(group_time[g0:g1], entry[a:b], side="right")
    deaths_per_group = np.bincount(death_group, minlength=n_groups)
    if ties == "efron":
        first = np.concatenate([[0], np.cumsum(deaths_per_group)[:-1]])
        within = np.arange(death_rows.size) - first[death_group]
        efron_fraction = within / deaths_per_group[death_group]
    else:
        efron_fraction = np.zeros(death_rows.size)
    return _RiskSets(
        lo,
        hi,
        n_groups,
        death_rows,
        death_group,
        deaths_per_group,
        efron_fraction,
        bool(entry is None and not stratum_start[1:].any()),
    )


def _risk_set_sum(rs: _RiskSets, values: np.ndarray) -> np.ndarray:
    """Sum of `values` over each group's risk set (difference array + cumulative sum) -> (n_groups,)."""
    size = rs.n_groups + 1
    diff = -np.bincount(rs.hi, values, size)
    if rs.all_lo_zero:
        diff[0] += values.sum()
    else:
        diff += np.bincount(rs.lo, values, size)
    return np.cumsum(diff[:-1])


@dataclass(frozen=True)
class _GroupTerms:
    """Per-group quantities of one likelihood evaluation, reused by score residuals."""

    s0: np.ndarray  # (G,) risk-set sum of exp(eta)
    s1: np.ndarray  # (G, p) risk-set sum of exp(eta) x
    s0_dead: np.ndarray
    s1_dead: np.ndarray
    h1: np.ndarray  # sum_m 1/den_m
    h2: np.ndarray  # sum_m f_m/den_m
    k0: np.ndarray  # sum_m 1/den_m^2
    k1: np.ndarray  # sum_m f_m/den_m^2
    k2: np.ndarray  # sum_m f_m^2/den_m^2
    risk: np.ndarray  # exp(eta - shift)


@overload
def _evaluate(
    x: np.ndarray, x_dead: np.ndarray, beta: np.ndarray, rs: _RiskSets, *, information: Literal[True] = True
) -> tuple[float, np.ndarray, np.ndarray, _GroupTerms]: ...
@overload
def _evaluate(
    x: np.ndarray, x_dead: np.ndarray, beta: np.ndarray, rs: _RiskSets, *, information: Literal[False]
) -> tuple[float, np.ndarray, None, _GroupTerms]: ...
def _evaluate(
    x: np.ndarray, x_dead: np.ndarray, beta: np.ndarray, rs: _RiskSets, *, information: bool = True
) -> tuple[float, np.ndarray, np.ndarray | None, _GroupTerms]:
    """Log partial likelihood, score and information at `beta` (Efron or Breslow, per `rs`)."""
    eta = x @ beta
    # A common shift of eta cancels in every ratio; it only guards exp() against overflow.
    shift = float(eta.max()) - 300.0 if eta.size and eta.max() > 300.0 else 0.0
    risk = np.exp(eta - shift) if shift else np.exp(eta)
    p = x.shape[1]
    G = rs.n_groups
    rows, group, frac = rs.death_rows, rs.death_group, rs.efron_fraction
    risk_dead = risk[rows]
    s0 = _risk_set_sum(rs, risk)
    s0_dead = np.bincount(group, risk_dead, G)
    s1 = np.empty((G, p))
    s1_dead = np.empty((G, p))
    for k in range(p):
        s1[:, k] = _risk_set_sum(rs, risk * x[:, k])
        s1_dead[:, k] = np.bincount(group, risk_dead * x_dead[:, k], G)
    den = s0[group] - frac * s0_dead[group]
    inv = 1.0 / den
    inv2 = inv * inv
    loglik = float(eta[rows].sum() - np.log(den).sum() - rows.size * shift)
    h1 = np.bincount(group, inv, G)
    h2 = np.bincount(group, frac * inv, G)
    k0 = np.bincount(group, inv2, G)
    k1 = np.bincount(group, frac * inv2, G)
    k2 = np.bincount(group, frac * frac * inv2, G)
    score = x_dead.sum(axis=0) - (h1 @ s1 - h2 @ s1_dead)
    terms = _GroupTerms(s0, s1, s0_dead, s1_dead, h1, h2, k0, k1, k2, risk)
    if not information:
        return loglik, score, None, terms
    # sum_g sum_m (S2 - f_m S2_dead)/den_m collapses to X' diag(w) X with per-subject weights.
    cum_h1 = np.concatenate([[0.0], np.cumsum(h1)])
    weight = risk * (cum_h1[rs.hi] - cum_h1[rs.lo])
    weight[rows] -= risk_dead * h2[group]
    info = x.T @ (x * weight[:, None])
    info -= (s1 * k0[:, None]).T @ s1
    cross = (s1 * k1[:, None]).T @ s1_dead
    info += cross + cross.T
    info -= (s1_dead * k2[:, None]).T @ s1_dead
    return loglik, score, info, terms


def _score_residuals(x: np.ndarray, rs: _RiskSets, terms: _GroupTerms) -> np.ndarray:
    """Score residuals as ``residuals.coxph(type="score")`` (Efron-weighted for tied deaths)."""
    t = terms
    risk = t.risk
    cum_h1 = np.concatenate([[0.0], np.cumsum(t.h1)])
    hazard_mean = t.s1 * t.k0[:, None] - t.s1_dead * t.k1[:, None]
    cum_hm = np.vstack([np.zeros((1, x.shape[1])), np.cumsum(hazard_mean, axis=0)])
    resid: np.ndarray = -risk[:, None] * (
        x * (cum_h1[rs.hi] - cum_h1[rs.lo])[:, None] - (cum_hm[rs.hi] - cum_hm[rs.lo])
    )
    rows, group = rs.death_rows, rs.death_group
    mean_of_means = (t.s1 * t.h1[:, None] - t.s1_dead * t.h2[:, None]) / rs.deaths_per_group[:, None]
    efron_mean = t.s1 * t.k1[:, None] - t.s1_dead * t.k2[:, None]
    resid[rows] += (x[rows] - mean_of_means[group]) + risk[rows, None] * (
        x[rows] * t.h2[group, None] - efron_mean[group]
    )
    return resid


# --------------------------------------------------------------------------------------------------
# Newton-Raphson as coxfit6 / agfit4
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Fit:
    beta: np.ndarray
    loglik_null: float
    loglik: float
    score_test: float
    information: np.ndarray
    score: np.ndarray
    terms: _GroupTerms
    iterations: int
    ran_out: bool


def _solve(info: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    solution: np.ndarray
    try:
        solution = linalg.cho_solve(linalg.cho_factor(info), rhs)
    except linalg.LinAlgError:
        solution = np.linalg.lstsq(info, rhs, rcond=None)[0]
    return solution


def _newton(x: np.ndarray, rs: _RiskSets, counting_process: bool) -> _Fit:
    x_dead = np.asfortranarray(x[rs.death_rows])
    steps = newton_raphson(x.shape[1], counting_process)
    beta = next(steps)
    while True:
        try:
            beta = steps.send(_evaluate(x, x_dead, beta, rs))
        except StopIteration as finished:
            fit: _Fit = finished.value
            return fit


def newton_raphson(p: int, counting_process: bool = False) -> Generator[np.ndarray, tuple[Any, ...], _Fit]:
    """Newton-Raphson as coxfit6 / agfit4: yields each coefficient vector to evaluate, is sent back
    (loglik, score, information, terms) at it, and returns the `_Fit`.

    The one iteration of `cox_ph` and of the federated Cox coordinator (which replays it over the
    summed per-center values received so far, round by round).
    """
    beta = np.zeros(p)
    loglik0, score, info, terms = yield beta
    step = _solve(info, score)
    score_test = float(score @ step)
    best_loglik = loglik0
    best = (beta, loglik0, score, info, terms)
    new_beta = beta + step
    halving = 0
    for iteration in range(1, _MAX_ITER + 1):
        new_loglik, new_score, new_info, new_terms = yield new_beta
        finite = np.isfinite(new_loglik) and np.isfinite(new_score).all() and np.isfinite(new_info).all()
        # agfit4 (counting process) also insists on a full step; coxfit6 does not.
        if finite and abs(1.0 - best_loglik / new_loglik) <= _EPS and (halving == 0 or not counting_process):
            return _Fit(new_beta, loglik0, new_loglik, score_test, new_info, new_score, new_terms, iteration, False)
        if iteration == _MAX_ITER:
            break
        if not finite or new_loglik < best_loglik:
            halving += 1
            new_beta = (new_beta + halving * beta) / (halving + 1.0)
        else:
            halving = 0
            best_loglik = new_loglik
            best = (new_beta, new_loglik, new_score, new_info, new_terms)
            beta = new_beta
            new_beta = beta + _solve(new_info, new_score)
    # Out of iterations: report the last accepted (best) point, as coxfit6 does.
    beta, loglik, score, info, terms = best
    return _Fit(beta, loglik0, loglik, score_test, info, score, terms, _MAX_ITER, True)


def cox_partial_likelihood(
    X: ArrayLike,
    time: ArrayLike,
    event: ArrayLike,
    beta: ArrayLike,
    *,
    strata: ArrayLike | None = None,
    ties: str = "efron",
) -> tuple[float, np.ndarray, np.ndarray]:
    """Log partial likelihood, score (gradient) and information (minus the Hessian) at `beta`.

    The stratified partial likelihood is a sum over strata, so values of disjoint sets of strata (e.g.
    one per center) add up to those of the whole data: the per-center step of a federated Cox fit.
    Each covariate is centred on its mean here, which changes no value (a constant shift of the linear
    predictor cancels within every risk set) and keeps exp() in range.
    """
    ties = check_choice(ties, "ties", ("efron", "breslow"))
    data = check_survival_data(time, event, strata=strata)
    x_raw, names = check_covariates(X, data.n)
    coefficients = np.asarray(beta, dtype=np.float64).reshape(-1)
    if coefficients.shape[0] != len(names):
        raise SurvivalDataError(f"beta: has {coefficients.shape[0]} values for {len(names)} covariates")
    if not np.isfinite(coefficients).all():
        raise SurvivalDataError("beta: values must be finite")
    stratum = data.strata if data.strata is not None else np.zeros(data.n, dtype=np.int64)
    order = np.lexsort((data.time, stratum))
    x = np.asfortranarray(x_raw[order] - x_raw.mean(axis=0))
    rs = _risk_sets(data.time[order], data.event[order], None, stratum[order], ties)
    if rs.death_rows.size == 0:
        p = len(names)
        return 0.0, np.zeros(p), np.zeros((p, p))
    loglik, score, info, _ = _evaluate(x, np.asfortranarray(x[rs.death_rows]), coefficients, rs)
    assert info is not None
    return loglik, score, info


def _stratum_time_order(data: SurvivalData) -> tuple[np.ndarray, np.ndarray]:
    """The row order by stratum then time (stable, as R's ``order(strata, time)``) and the sorted
    stratum codes (all 0 without strata)."""
    if data.strata is None:
        return np.argsort(data.time, kind="stable"), np.zeros(data.n, dtype=np.int64)
    order = np.lexsort((data.time, data.strata))
    return order, data.strata[order]


def _chisq(statistic: float, df: int) -> ChiSquareTest:
    return ChiSquareTest.from_statistic(statistic, df)


def _quadratic_test(variance: np.ndarray, vector: np.ndarray) -> float:
    """b' V^-1 b as coxph.wtest."""
    return float(vector @ _solve(variance, vector))


# --------------------------------------------------------------------------------------------------
# Public entry point
# --------------------------------------------------------------------------------------------------


def cox_ph(
    X: ArrayLike,
    time: ArrayLike,
    event: ArrayLike,
    *,
    ties: str = "efron",
    strata: ArrayLike | None = None,
    entry: ArrayLike | None = None,
    robust: bool = False,
    cluster: ArrayLike | None = None,
    conf_level: float = 0.95,
) -> CoxResult:
    """Fit a Cox proportional hazards model; equal to R ``coxph(Surv(time, event) ~ X, ties=ties)``.

    Parameters
    ----------
    X : array_like or DataFrame, shape (n, p) or (n,)
        Covariates (factors dummy-coded first); DataFrame columns name the coefficients, otherwise
        x1..xp. Constant and collinear columns are refused.
    time : array_like, shape (n,)
        Follow-up time of each subject; finite, >= 0.
    event : array_like, shape (n,)
        0 = censored, 1 = event (booleans accepted).
    ties : {"efron", "breslow"}
        Handling of tied event times.
    strata : array_like, shape (n,), optional
        Separate baseline hazards (``+ strata(s)``).
    entry : array_like, shape (n,), optional
        Start times, ``Surv(entry, time, event)`` (left truncation, counting process).
    robust : bool
        Sandwich variance (``robust=TRUE``). On counting-process data it needs `cluster`, as in R.
    cluster : array_like, shape (n,), optional
        Cluster ids for the grouped sandwich (``+ cluster(id)``); implies `robust`.
    conf_level : float
        Confidence level of the hazard-ratio intervals, in (0, 1).

    Returns
    -------
    CoxResult
        ``coefficients`` (a `CoefficientTable`: coef, se, z, p_value, hazard_ratio, hr_lower,
        hr_upper, also attributes of the result), ``loglik``, the likelihood-ratio, Wald and score
        tests (`ChiSquareTest`), ``concordance`` with its standard error, ``variance``.

    Raises ``SurvivalDataError`` (a ValueError) for invalid input, including data with no events.
    Warns ``ConvergenceWarning`` and reports ``converged=False`` when the iteration runs out or a
    coefficient diverges (R: "Loglik converged before variable ...; coefficient may be infinite").

    References
    ----------
    Cox DR. Regression models and life-tables. J R Stat Soc B 1972;34:187-220.
    Efron B. The efficiency of Cox's likelihood function for censored data. J Am Stat Assoc 1977.
    Therneau TM, Grambsch PM. Modeling Survival Data: Extending the Cox Model. Springer 2000.

    Examples
    --------
    >>> from blinareg.stats.examples import EVENT, GROUP, TIME
    >>> fit = cox_ph(GROUP, TIME, EVENT)
    >>> fit.covariate_names, round(float(fit.hazard_ratio[0]), 4), round(float(fit.p_value[0]), 4)
    (('x1',), 0.3088, 0.0981)
    """
    ties = check_choice(ties, "ties", ("efron", "breslow"))
    level = check_conf_level(conf_level)
    data = check_survival_data(time, event, entry=entry, strata=strata)
    n = data.n
    x_raw, names = check_covariates(X, n)
    n_events = int(data.event.sum())
    if n_events == 0:
        raise SurvivalDataError("event: no events (all observations censored); a Cox model needs at least one")
    cluster_codes = None
    if cluster is not None:
        cluster_codes = check_cluster(cluster, n)
        robust = True
    if robust and cluster_codes is None and data.entry is not None:
        raise SurvivalDataError(
            "cluster: a robust variance for counting-process data (entry given) needs cluster ids, "
            "as R's coxph ('one of cluster or id is needed')"
        )

    # Sort once by stratum then time; every later step works on the sorted rows (all results are
    # invariant to the row order, cluster ids travel with their rows).
    order, stratum = _stratum_time_order(data)
    time_sorted, event_sorted = data.time[order], data.event[order]
    entry_sorted = None if data.entry is None else data.entry[order]
    if cluster_codes is not None:
        cluster_codes = cluster_codes[order]

    # Centre as coxph (columns coded only with -1/0/1 are left alone); agfit4 centres per stratum,
    # which changes nothing but rounding, so one overall mean is used.
    nocenter = np.isin(x_raw, _NOCENTER).all(axis=0)
    means = np.where(nocenter, 0.0, x_raw.mean(axis=0))
    x = np.asfortranarray(x_raw[order] - means)

    rs = _risk_sets(time_sorted, event_sorted, entry_sorted, stratum, ties)
    counting_process = data.entry is not None
    fit = _newton(x, rs, counting_process)
    beta = fit.beta
    p = beta.size
    naive_var = np.linalg.inv(fit.information)
    naive_var = (naive_var + naive_var.T) / 2.0

    converged = not fit.ran_out
    if fit.ran_out:
        warnings.warn("cox_ph: ran out of iterations and did not converge", ConvergenceWarning, stacklevel=2)
    else:
        drift = np.abs(fit.score @ naive_var)
        if counting_process:
            infinite = ~np.isfinite(fit.score) | (drift > _TOLER_INF * (1.0 + np.abs(beta)))
        else:
            infinite = ~np.isfinite(fit.score) | ((drift > _EPS) & (drift > _TOLER_INF * np.abs(beta)))
        if infinite.any():
            converged = False
            which = ", ".join(repr(names[j]) for j in np.flatnonzero(infinite))
            warnings.warn(
                f"cox_ph: loglik converged before variable {which}; coefficient may be infinite",
                ConvergenceWarning,
                stacklevel=2,
            )

    robust_score = None
    if robust:
        dfbeta = _score_residuals(x, rs, fit.terms) @ naive_var
        _, _, _, null_terms = _evaluate(x, np.asfortranarray(x[rs.death_rows]), np.zeros(p), rs, information=False)
        null_resid = _score_residuals(x, rs, null_terms)
        if cluster_codes is not None:
            dfbeta = _collapse(dfbeta, cluster_codes)
            null_resid = _collapse(null_resid, cluster_codes)
        variance = dfbeta.T @ dfbeta
        robust_score = _chisq(_quadratic_test(null_resid.T @ null_resid, null_resid.sum(axis=0)), p)
    else:
        variance = naive_var

    coefficients = CoefficientTable.from_estimates(names, beta, np.sqrt(np.diag(variance)), level)
    linear_predictor = x @ beta
    conc, conc_se = concordance_index(
        time_sorted,
        event_sorted,
        linear_predictor,
        entry=entry_sorted,
        strata=None if data.strata is None else stratum,
        cluster=cluster_codes,
    )
    return CoxResult(
        coefficients=coefficients,
        loglik=(fit.loglik_null, fit.loglik),
        concordance=conc,
        concordance_se=conc_se,
        likelihood_ratio_test=_chisq(2.0 * (fit.loglik - fit.loglik_null), p),
        wald_test=_chisq(_quadratic_test(variance, beta), p),
        score_test=_chisq(fit.score_test, p),
        robust_score_test=robust_score,
        variance=read_only(variance),
        naive_se=read_only(np.sqrt(np.diag(naive_var))) if robust else None,
        naive_variance=read_only(naive_var) if robust else None,
        n=n,
        n_events=n_events,
        iterations=fit.iterations,
        converged=converged,
        ties=ties,
        robust=bool(robust),
        conf_level=level,
        means=read_only(means),
    )


def _collapse(rows: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Sum rows within each cluster (R's rowsum)."""
    k = int(codes.max()) + 1 if codes.size else 0
    return np.column_stack([np.bincount(codes, rows[:, j], k) for j in range(rows.shape[1])])


# --------------------------------------------------------------------------------------------------
# Concordance (survival::concordancefit with reverse=TRUE, timewt="n")
# --------------------------------------------------------------------------------------------------


def _counts_before(rank: np.ndarray, weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For items in sequence order: weighted counts of earlier items with smaller / equal rank.

    A bottom-up merge sort vectorised per level (log2 n levels, no loop over items). Merging a left
    and a right block with a stable sort on (parent block, rank) puts, before each right item, exactly
    the left items of rank <= its own; a running sum of left-item weights then gives the counts, and
    runs of equal keys split off the ties.
    """
    n = rank.size
    if n < 2:
        return np.zeros(n), np.zeros(n)
    shift = int(max(int(rank.max()), 1)).bit_length() + 1
    # Everything is carried in arrangement order (positions sorted by (block, rank), ties by position),
    # so each level's permutation only moves items within a block: cache-friendly gathers.
    position = np.arange(n, dtype=np.int64)
    ranks = rank.astype(np.int64)
    weights = np.asarray(weight, dtype=np.float64)
    less = np.zeros(n)
    equal = np.zeros(n)
    index = np.arange(n)
    cum = np.empty(n + 1)
    cum[0] = 0.0
    new_key = np.empty(n, dtype=bool)
    new_key[0] = True
    level = 0
    while (1 << level) < n:
        parent_shift = level + 1
        parent = position >> parent_shift
        key = (parent << shift) | ranks
        merge = np.argsort(key, kind="stable")
        position, ranks, weights = position[merge], ranks[merge], weights[merge]
        less, equal, key, parent = less[merge], equal[merge], key[merge], parent[merge]
        from_right = ((position >> level) & 1).astype(bool)
        np.cumsum(np.where(from_right, 0.0, weights), out=cum[1:])
        np.not_equal(key[1:], key[:-1], out=new_key[1:])
        key_start = np.maximum.accumulate(np.where(new_key, index, 0))
        right = np.flatnonzero(from_right)
        upto = cum[right + 1]
        tied = upto - cum[key_start[right]]
        less[right] += upto - cum[parent[right] << parent_shift] - tied
        equal[right] += tied
        level += 1
    out_less = np.empty(n)
    out_equal = np.empty(n)
    out_less[position] = less
    out_equal[position] = equal
    return out_less, out_equal


def _tie_runs(
    time: np.ndarray, dead: np.ndarray, rank: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Deaths tied on time form runs in sequence order (ranks ascending within a run). For each item:
    earlier run members with smaller / equal rank, later run members in total / with equal rank.
    Censored items are runs of their own."""
    n = time.size
    idx = np.arange(n)
    same_run = np.zeros(n, dtype=bool)
    same_run[1:] = (dead[1:] == 1) & (dead[:-1] == 1) & (time[1:] == time[:-1])
    same_value = same_run.copy()
    same_value[1:] &= rank[1:] == rank[:-1]

    def bounds(continues: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        starts = np.flatnonzero(~continues)
        which = np.cumsum(~continues) - 1
        ends = np.append(starts[1:], n)
        return starts[which], ends[which]

    run_start, run_end = bounds(same_run)
    value_start, value_end = bounds(same_value)
    earlier_less = (value_start - run_start).astype(float)
    earlier_equal = (idx - value_start).astype(float)
    later_total = (run_end - 1 - idx).astype(float)
    later_equal = (value_end - 1 - idx).astype(float)
    return earlier_less, earlier_equal, later_total, later_equal


def _concordance_influence(
    time: np.ndarray, event: np.ndarray, entry: np.ndarray | None, rank: np.ndarray
) -> np.ndarray:
    """Per-subject counts (n, 3) of the pairs it belongs to that are concordant, discordant and
    tied on the risk score (R's ``influence`` columns after ``reverse``), for one stratum.

    A pair is comparable when one member dies while the other is still at risk (later exit, or
    censored at the death time); concordant when the one who dies has the higher risk score.
    """
    n = time.size
    dead = (event == 1).astype(float)
    # R's order: time descending, censored before deaths at a tie, then risk ascending.
    order = np.lexsort((rank, event, -time))
    t, r, d = time[order], rank[order], dead[order]
    earlier_less, earlier_equal, later_total, later_equal = _tie_runs(t, d, r)

    # Subject as the one who dies: everyone earlier in the sequence except its tied deaths.
    death_less, death_equal = _counts_before(r, np.ones(n))
    death_less -= earlier_less
    death_equal -= earlier_equal
    death_total = np.arange(n, dtype=float) - earlier_less - earlier_equal
    # Subject as the longer-lived member: deaths later in the sequence, except its tied deaths.
    rev = slice(None, None, -1)
    alive_less, alive_equal = (a[rev] for a in _counts_before(r[rev], d[rev]))
    alive_total = (np.cumsum(d[rev]) - d[rev])[rev] - d * later_total
    alive_equal = alive_equal - d * later_equal

    if entry is not None:
        e = entry[order]
        # Deaths are not compared with subjects who enter at or after the death time.
        late_less, late_equal, late_total = _entered_after(t, d, e, r)
        death_less -= late_less
        death_equal -= late_equal
        death_total -= late_total
        early_less, early_equal, early_total = _died_before_entry(t, d, e, r)
        alive_less -= early_less
        alive_equal -= early_equal
        alive_total -= early_total

    death_greater = death_total - death_less - death_equal
    alive_greater = alive_total - alive_less - alive_equal
    influence = np.empty((n, 3))
    # Concordant: the one who dies has the higher score.
    influence[order, 0] = d * death_less + alive_greater
    influence[order, 1] = d * death_greater + alive_less
    influence[order, 2] = d * death_equal + alive_equal
    return influence


def _entered_after(
    t: np.ndarray, d: np.ndarray, e: np.ndarray, r: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each death: subjects with entry >= death time, by rank relation (less, equal, total)."""
    n = t.size
    deaths = np.flatnonzero(d == 1)
    # Sequence of entry points and death queries by value descending; points first at equal value.
    values = np.concatenate([e, t[deaths]])
    is_query = np.concatenate([np.zeros(n), np.ones(deaths.size)])
    ranks = np.concatenate([r, r[deaths]])
    seq = np.lexsort((is_query, -values))
    weight = 1.0 - is_query[seq]
    less, equal = _counts_before(ranks[seq], weight)
    total = np.cumsum(weight) - weight
    out_less, out_equal, out_total = np.zeros(n), np.zeros(n), np.zeros(n)
    q = is_query[seq] == 1
    target = deaths[seq[q] - n]
    out_less[target], out_equal[target], out_total[target] = less[q], equal[q], total[q]
    return out_less, out_equal, out_total


def _died_before_entry(
    t: np.ndarray, d: np.ndarray, e: np.ndarray, r: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each subject: deaths at or before its entry time, by rank relation (less, equal, total)."""
    n = t.size
    deaths = np.flatnonzero(d == 1)
    values = np.concatenate([t[deaths], e])
    is_query = np.concatenate([np.zeros(deaths.size), np.ones(n)])
    ranks = np.concatenate([r[deaths], r])
    seq = np.lexsort((is_query, values))
    weight = 1.0 - is_query[seq]
    less, equal = _counts_before(ranks[seq], weight)
    total = np.cumsum(weight) - weight
    q = is_query[seq] == 1
    out_less, out_equal, out_total = np.zeros(n), np.zeros(n), np.zeros(n)
    target = seq[q] - deaths.size
    out_less[target], out_equal[target], out_total[target] = less[q], equal[q], total[q]
    return out_less, out_equal, out_total


def concordance_index(
    time: np.ndarray,
    event: np.ndarray,
    risk_score: np.ndarray,
    *,
    entry: np.ndarray | None = None,
    strata: np.ndarray | None = None,
    cluster: np.ndarray | None = None,
) -> tuple[float, float]:
    """Harrell's C of a risk score and its standard error, as ``coxph``'s ``fit$concordance``.

    Higher risk score = shorter survival. Ties in the score count 1/2; pairs tied on an event time
    are not comparable. Standard error: infinitesimal jackknife (``concordancefit``), summed within
    `cluster` when given. Inputs are validated arrays; `strata`/`cluster` are int codes.
    """
    n = time.size
    _, rank = np.unique(risk_score, return_inverse=True)
    influence = np.zeros((n, 3))
    if strata is None:
        influence = _concordance_influence(time, event, entry, rank)
    else:
        for s in np.unique(strata):
            members = np.flatnonzero(strata == s)
            influence[members] = _concordance_influence(
                time[members], event[members], None if entry is None else entry[members], rank[members]
            )
    # Each pair is counted once from each member.
    concordant, discordant, tied = influence.sum(axis=0) / 2.0
    pairs = concordant + discordant + tied
    if pairs == 0:
        return float("nan"), float("nan")
    somers_d = (concordant - discordant) / pairs
    dfbeta = (influence[:, 0] - influence[:, 1]) / pairs - somers_d / pairs * influence.sum(axis=1)
    if cluster is not None:
        dfbeta = np.bincount(cluster, dfbeta)
    return float((somers_d + 1.0) / 2.0), float(np.sqrt(np.sum(dfbeta**2) / 4.0))
