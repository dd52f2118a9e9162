"""The proportional-hazards test of a Cox model, numerically equal to R ``survival::cox.zph`` (survival >= 3).

``cox.zph`` tests, for each term, gamma = 0 in beta(t) = beta + gamma * g(t) by a score test at the fitted
beta (Grambsch & Therneau 1994), with g the transformed event time centred at its mean over the events
(default transform "km": one minus the Kaplan-Meier estimate of all subjects just before the time). The
score of gamma is sum over deaths of g(t) (x - xbar(t)); the information is the 2p x 2p matrix of sums of
V(t), g(t) V(t) and g(t)^2 V(t), with xbar and V the risk-set mean and covariance (Efron-weighted over
tied deaths, as the fit). Per term the score and information are restricted to beta and that term's
gammas; GLOBAL uses all gammas. This follows R's C routine ``zph1`` for right-censored data.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy.stats import rankdata

from blinareg.stats._checks import SurvivalDataError, check_choice, check_covariates, check_survival_data
from blinareg.stats._cox import CoxResult, _evaluate, _risk_set_sum, _risk_sets, _solve, _stratum_time_order, cox_ph
from blinareg.stats._results import ChiSquareTest, read_only

__all__ = ["CoxZphResult", "cox_zph"]

TRANSFORMS = ("km", "rank", "identity", "log")


@dataclass(frozen=True)
class CoxZphResult:
    """The proportional-hazards tests of a Cox model (``cox.zph(fit)$table``).

    terms: the term names (a factor's dummy columns form one term); tests: one `ChiSquareTest` per term
    (df = its number of columns), in `terms` order; global_test: all terms jointly (R's GLOBAL row).
    time, transformed_time: the event times (sorted by stratum, then time) and g(t) before centring,
    R's ``z$time`` and ``z$x``. fit: the Cox model tested. Arrays are read-only.
    """

    terms: tuple[str, ...]
    tests: tuple[ChiSquareTest, ...]
    global_test: ChiSquareTest
    transform: str
    time: np.ndarray
    transformed_time: np.ndarray
    fit: CoxResult

    def test(self, term: str) -> ChiSquareTest:
        """The test of one term, by name."""
        return self.tests[self.terms.index(term)]


def _term_columns(terms: Mapping[str, Sequence[str]] | None, names: tuple[str, ...]) -> dict[str, list[int]]:
    """Term name -> covariate column indices; every column in exactly one term."""
    if terms is None:
        return {name: [j] for name, j in zip(names, range(len(names)))}
    columns: dict[str, list[int]] = {}
    seen: set[str] = set()
    for term, members in terms.items():
        if isinstance(members, str):
            members = [members]
        for member in members:
            if member not in names:
                raise SurvivalDataError(f"terms: term {term!r} names column {member!r}, which is not a covariate")
            if member in seen:
                raise SurvivalDataError(f"terms: column {member!r} is in more than one term")
            seen.add(member)
        if not members:
            raise SurvivalDataError(f"terms: term {term!r} has no columns")
        columns[str(term)] = [names.index(member) for member in members]
    missing = [name for name in names if name not in seen]
    if missing:
        raise SurvivalDataError(f"terms: covariate columns {missing} are in no term")
    return columns


def _transformed(time: np.ndarray, event: np.ndarray, transform: str) -> np.ndarray:
    """g(t) for every subject: cox.zph's `ttimes`."""
    if transform == "identity":
        return time.copy()
    if transform == "log":
        return np.asarray(np.log(time), dtype=float)
    if transform == "rank":
        return np.asarray(rankdata(time), dtype=float)  # average ranks over all subjects, as R's rank()
    # "km": 1 - S(t-) from the Kaplan-Meier estimate of all subjects (strata ignored, as R).
    distinct, inverse = np.unique(time, return_inverse=True)
    deaths = np.bincount(inverse, event.astype(float), distinct.size)
    leaving = np.bincount(inverse, minlength=distinct.size)
    at_risk = time.size - np.concatenate([[0], np.cumsum(leaving)[:-1]])
    survival = np.cumprod(1.0 - deaths / at_risk)
    before = np.concatenate([[1.0], survival[:-1]])
    return 1.0 - before[inverse]


def cox_zph(
    X: ArrayLike,
    time: ArrayLike,
    event: ArrayLike,
    *,
    ties: str = "efron",
    strata: ArrayLike | None = None,
    terms: Mapping[str, Sequence[str]] | None = None,
    transform: str = "km",
) -> CoxZphResult:
    """Test proportional hazards of the Cox model ``cox_ph(X, time, event, ties=, strata=)``; equal to R
    ``cox.zph(coxph(Surv(time, event) ~ X (+ strata(s)), ties=ties), transform=transform)``.

    Parameters
    ----------
    X, time, event, ties, strata : as `cox_ph` (right-censored data).
    terms : mapping of term name -> covariate column names, optional
        Columns tested jointly, such as a factor's dummy columns (R tests a factor as one term with
        as many degrees of freedom as columns). Default: every column its own term.
    transform : "km" (default, R's), "rank", "identity" or "log"
        The function of time the coefficients may vary with.

    Returns
    -------
    CoxZphResult
        One chi-square test per term and the global test, with the fitted model.

    Raises ``SurvivalDataError`` for invalid input (as `cox_ph`), an unknown transform or terms that
    do not partition the columns.

    References
    ----------
    Grambsch PM, Therneau TM. Proportional hazards tests and diagnostics based on weighted residuals.
    Biometrika 1994;81:515-526.

    Examples
    --------
    >>> from blinareg.stats.examples import EVENT, GROUP, TIME
    >>> zph = cox_zph(GROUP, TIME, EVENT)
    >>> zph.terms, zph.global_test.df
    (('x1',), 1)
    """
    transform = check_choice(transform, "transform", TRANSFORMS)
    fit = cox_ph(X, time, event, ties=ties, strata=strata)
    data = check_survival_data(time, event, strata=strata)
    x_raw, names = check_covariates(X, data.n)
    columns = _term_columns(terms, names)
    if transform == "log" and (data.time <= 0).any():
        raise SurvivalDataError("time: the log transform needs every time > 0")

    order, stratum = _stratum_time_order(data)
    time_sorted, event_sorted = data.time[order], data.event[order]
    x = np.asfortranarray(x_raw[order] - fit.means)
    rs = _risk_sets(time_sorted, event_sorted, None, stratum, fit.ties)
    rows, group, frac = rs.death_rows, rs.death_group, rs.efron_fraction
    x_dead = np.asfortranarray(x[rows])
    _, _, _, sums = _evaluate(x, x_dead, np.asarray(fit.coef, dtype=float), rs, information=False)

    p = x.shape[1]
    risk_dead = sums.risk[rows]
    second = np.empty((rs.n_groups, p, p))
    second_dead = np.empty((rs.n_groups, p, p))
    for j in range(p):
        for k in range(j + 1):
            product = x[:, j] * x[:, k]
            second[:, j, k] = second[:, k, j] = _risk_set_sum(rs, sums.risk * product)
            second_dead[:, j, k] = second_dead[:, k, j] = np.bincount(group, risk_dead * product[rows], rs.n_groups)
    # Per death m (Efron: its share of the tie), risk-set mean and covariance of x.
    denominator = sums.s0[group] - frac * sums.s0_dead[group]
    mean = (sums.s1[group] - frac[:, None] * sums.s1_dead[group]) / denominator[:, None]
    covariance = (second[group] - frac[:, None, None] * second_dead[group]) / denominator[:, None, None]
    covariance -= mean[:, :, None] * mean[:, None, :]

    transformed = _transformed(data.time, data.event, transform)[order]
    g = transformed[rows] - transformed[rows].mean()
    score = (g[:, None] * (x_dead - mean)).sum(axis=0)
    information = np.empty((2 * p, 2 * p))
    information[:p, :p] = covariance.sum(axis=0)
    information[:p, p:] = information[p:, :p] = np.einsum("m,mjk->jk", g, covariance)
    information[p:, p:] = np.einsum("m,mjk->jk", g * g, covariance)

    def score_test(members: list[int]) -> ChiSquareTest:
        keep = list(range(p)) + [p + j for j in members]
        vector = np.concatenate([np.zeros(p), score[members]])
        statistic = float(vector @ _solve(information[np.ix_(keep, keep)], vector))
        return ChiSquareTest.from_statistic(statistic, len(members))

    tests = tuple(score_test(members) for members in columns.values())
    return CoxZphResult(
        terms=tuple(columns),
        tests=tests,
        global_test=score_test(list(range(p))),
        transform=transform,
        time=read_only(time_sorted[rows]),
        transformed_time=read_only(transformed[rows]),
        fit=fit,
    )
