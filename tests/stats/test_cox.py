"""cox_ph against R survival::coxph (tests/reference/regression.json) and against brute force."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from blinareg.stats import CoxResult, cox_ph
from blinareg.stats import ConvergenceWarning, concordance_index

REFERENCE = Path(__file__).resolve().parents[1] / "reference"
CASES = json.loads((REFERENCE / "regression.json").read_text())["cox"]

COEF_RTOL = 1e-6
STAT_RTOL = 1e-8


def _vec(value) -> np.ndarray:
    return np.atleast_1d(np.asarray(value, dtype=float))


def _fit_case(case: dict) -> CoxResult:
    data = pd.read_csv(REFERENCE / "data" / case["data"])
    covariates = list(np.atleast_1d(case["covariates"]))
    kwargs: dict = {"ties": case["ties"]}
    if case["strata"]:
        kwargs["strata"] = data[case["strata"]]
    if case["entry"]:
        kwargs["entry"] = data[case["entry"]]
    if case["cluster"]:
        kwargs["cluster"] = data[case["cluster"]]
    elif case["robust"]:
        kwargs["robust"] = True
    return cox_ph(data[covariates], data[case["time"]], data[case["event"]], **kwargs)


@pytest.fixture(scope="module", params=CASES, ids=[c["name"] for c in CASES])
def case_and_fit(request):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = _fit_case(request.param)
    return request.param, fit, [str(w.message) for w in caught if w.category is ConvergenceWarning]


def _variance_rtol(case: dict) -> float:
    """Relative tolerance for the variance matrix.

    When R warns that a coefficient may be infinite, Newton-Raphson stopped while that coefficient was still
    growing and its variance is about exp(beta) times a constant: an absolute difference d in beta (the
    coefficient itself matches to COEF_RTOL relative) is a relative difference of about d in the variance.
    Where Newton-Raphson stops differs in the last bits between BLAS builds, so the variance is compared at
    the precision the coefficient is, COEF_RTOL * |beta|, instead of COEF_RTOL.
    """
    if "infinite" in (case.get("warning") or ""):
        return COEF_RTOL * max(1.0, float(np.max(np.abs(_vec(case["coef"])))))
    return COEF_RTOL


def test_coefficients_and_standard_errors_match_r(case_and_fit):
    case, fit, _ = case_and_fit
    np.testing.assert_allclose(fit.coef, _vec(case["coef"]), rtol=COEF_RTOL)
    np.testing.assert_allclose(fit.se, _vec(case["se"]), rtol=COEF_RTOL)
    np.testing.assert_allclose(
        fit.variance,
        np.asarray(case["var"], dtype=float).reshape(fit.variance.shape),
        rtol=_variance_rtol(case),
        atol=1e-14,
    )
    if case["naive_se"] is None:
        assert fit.naive_se is None
    else:
        np.testing.assert_allclose(fit.naive_se, _vec(case["naive_se"]), rtol=COEF_RTOL)
    np.testing.assert_allclose(fit.hr_lower, _vec(case["hr_lower"]), rtol=COEF_RTOL)
    np.testing.assert_allclose(fit.hr_upper, _vec(case["hr_upper"]), rtol=COEF_RTOL)
    np.testing.assert_allclose(fit.p_value, _vec(case["p_value"]), rtol=COEF_RTOL)
    assert fit.covariate_names == tuple(np.atleast_1d(case["covariates"]))


def test_loglik_tests_and_concordance_match_r(case_and_fit):
    case, fit, _ = case_and_fit
    np.testing.assert_allclose(fit.loglik, case["loglik"], rtol=STAT_RTOL)
    for mine, theirs in [
        (fit.likelihood_ratio_test, case["logtest"]),
        (fit.wald_test, case["waldtest"]),
        (fit.score_test, case["sctest"]),
    ]:
        np.testing.assert_allclose(mine.statistic, theirs[0], rtol=STAT_RTOL)
        assert mine.df == theirs[1]
        np.testing.assert_allclose(mine.p_value, theirs[2], rtol=1e-6)
    if case["robscore"] is None:
        assert fit.robust_score_test is None
    else:
        np.testing.assert_allclose(fit.robust_score_test.statistic, case["robscore"][0], rtol=STAT_RTOL)
        np.testing.assert_allclose(fit.robust_score_test.p_value, case["robscore"][2], rtol=1e-6)
    np.testing.assert_allclose(fit.concordance, case["concordance"], rtol=STAT_RTOL)
    np.testing.assert_allclose(fit.concordance_se, case["concordance_std"], rtol=STAT_RTOL)


def test_counts_iterations_and_convergence_match_r(case_and_fit):
    case, fit, caught = case_and_fit
    assert fit.n == case["n"]
    assert fit.n_events == case["nevent"]
    assert fit.iterations == case["iter"]
    if case["warning"] is None:
        assert fit.converged and not caught
    else:
        # R: "Loglik converged before variable  1 ; coefficient may be infinite."
        assert "Loglik converged before variable" in case["warning"]
        assert not fit.converged
        assert len(caught) == 1 and "loglik converged before variable 'x1'" in caught[0]


# --- brute force: the vectorised engine against the textbook loops ------------------------------


def _brute_force_loglik(x, time, event, beta, ties, entry=None, strata=None):
    """Efron/Breslow partial likelihood by explicit loops over event times (reference only)."""
    n = len(time)
    entry = np.full(n, -np.inf) if entry is None else entry
    strata = np.zeros(n) if strata is None else strata
    eta = x @ beta
    total = 0.0
    for s in np.unique(strata):
        for t in np.unique(time[(event == 1) & (strata == s)]):
            at_risk = (strata == s) & (entry < t) & (time >= t)
            dead = at_risk & (time == t) & (event == 1)
            d = dead.sum()
            r_all = np.exp(eta[at_risk]).sum()
            r_dead = np.exp(eta[dead]).sum()
            total += eta[dead].sum()
            for m in range(d):
                frac = m / d if ties == "efron" else 0.0
                total -= np.log(r_all - frac * r_dead)
    return total


def _random_data(seed, n=60, p=2, with_entry=False, with_strata=False):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, p))
    time = rng.integers(1, 12, size=n).astype(float)  # heavy ties
    event = (rng.random(n) < 0.7).astype(int)
    entry = np.floor(rng.random(n) * (time - 0.5)) if with_entry else None
    strata = rng.integers(0, 3, size=n) if with_strata else None
    return x, time, event, entry, strata


@pytest.mark.parametrize("ties", ["efron", "breslow"])
@pytest.mark.parametrize("with_entry,with_strata", [(False, False), (True, False), (False, True), (True, True)])
def test_maximises_brute_force_likelihood(ties, with_entry, with_strata):
    x, time, event, entry, strata = _random_data(7, with_entry=with_entry, with_strata=with_strata)
    fit = cox_ph(x, time, event, ties=ties, entry=entry, strata=strata)
    # loglik at the estimate and at zero equal the loop implementation (which uses raw x)
    np.testing.assert_allclose(
        fit.loglik[1], _brute_force_loglik(x, time, event, fit.coef, ties, entry, strata), rtol=1e-12
    )
    np.testing.assert_allclose(
        fit.loglik[0], _brute_force_loglik(x, time, event, 0 * fit.coef, ties, entry, strata), rtol=1e-12
    )
    # the estimate is a maximum: numerical gradient ~ 0, nearby points worse
    for j in range(x.shape[1]):
        step = np.zeros_like(fit.coef)
        step[j] = 1e-4
        up = _brute_force_loglik(x, time, event, fit.coef + step, ties, entry, strata)
        down = _brute_force_loglik(x, time, event, fit.coef - step, ties, entry, strata)
        assert up < fit.loglik[1] and down < fit.loglik[1]
        assert abs(up - down) / 2e-4 < 1e-5
    # information = minus the numerical Hessian
    hessian = np.empty((2, 2))
    h = 1e-4
    for a in range(2):
        for b in range(2):
            ea, eb = np.eye(2)[a] * h, np.eye(2)[b] * h
            f = lambda v: _brute_force_loglik(x, time, event, v, ties, entry, strata)  # noqa: E731
            hessian[a, b] = (
                f(fit.coef + ea + eb) - f(fit.coef + ea - eb) - f(fit.coef - ea + eb) + f(fit.coef - ea - eb)
            ) / (4 * h * h)
    np.testing.assert_allclose(np.linalg.inv(fit.variance), -hessian, rtol=1e-5)


def _brute_force_concordance(time, event, score, entry=None, strata=None):
    n = len(time)
    entry = np.full(n, -np.inf) if entry is None else entry
    strata = np.zeros(n) if strata is None else strata
    conc = disc = tied = 0
    for i in range(n):
        if event[i] != 1:
            continue
        for j in range(n):
            if j == i or strata[j] != strata[i] or not (entry[j] < time[i]):
                continue
            if time[j] > time[i] or (time[j] == time[i] and event[j] == 0):
                if score[i] > score[j]:
                    conc += 1
                elif score[i] < score[j]:
                    disc += 1
                else:
                    tied += 1
    return (conc + tied / 2) / (conc + disc + tied)


@pytest.mark.parametrize("seed", range(4))
def test_concordance_equals_pair_counting(seed):
    rng = np.random.default_rng(seed)
    n = 80
    time = rng.integers(1, 15, size=n).astype(float)
    event = (rng.random(n) < 0.6).astype(int)
    score = rng.integers(0, 6, size=n).astype(float)  # ties in the score
    entry = np.floor(rng.random(n) * (time - 0.5))
    strata = rng.integers(0, 2, size=n)
    for kwargs in [{}, {"entry": entry}, {"strata": strata}, {"entry": entry, "strata": strata}]:
        c, se = concordance_index(time, event, score, **kwargs)
        expected = _brute_force_concordance(time, event, score, kwargs.get("entry"), kwargs.get("strata"))
        np.testing.assert_allclose(c, expected, rtol=1e-13)
        assert se > 0


def test_row_order_does_not_matter():
    x, time, event, entry, strata = _random_data(3, n=90, p=3, with_entry=True, with_strata=True)
    cluster = np.arange(90) // 2
    a = cox_ph(x, time, event, entry=entry, strata=strata, cluster=cluster)
    perm = np.random.default_rng(0).permutation(90)
    b = cox_ph(x[perm], time[perm], event[perm], entry=entry[perm], strata=strata[perm], cluster=cluster[perm])
    np.testing.assert_allclose(a.coef, b.coef, rtol=1e-10)
    np.testing.assert_allclose(a.se, b.se, rtol=1e-10)
    np.testing.assert_allclose(a.concordance_se, b.concordance_se, rtol=1e-10)


# --- inputs and names ----------------------------------------------------------------------------


def test_input_forms_and_names():
    x, time, event, _, _ = _random_data(1, p=2)
    from_array = cox_ph(x, time, event)
    assert from_array.covariate_names == ("x1", "x2")
    frame = pd.DataFrame(x, columns=["age", "dose"])
    from_frame = cox_ph(frame, pd.Series(time), pd.Series(event))
    assert from_frame.covariate_names == ("age", "dose")
    np.testing.assert_allclose(from_frame.coef, from_array.coef, rtol=1e-12)
    one = cox_ph(x[:, 0], time, event)
    assert one.covariate_names == ("x1",) and one.coef.shape == (1,)
    assert from_array.robust is False and from_array.naive_se is None and from_array.robust_score_test is None


def test_conf_level_changes_interval():
    x, time, event, _, _ = _random_data(2)
    wide = cox_ph(x, time, event, conf_level=0.99)
    narrow = cox_ph(x, time, event)
    assert np.all(wide.hr_lower < narrow.hr_lower) and np.all(wide.hr_upper > narrow.hr_upper)


# --- edge cases ----------------------------------------------------------------------------------


def test_no_events_is_an_error():
    with pytest.raises(ValueError, match="^event: no events"):
        cox_ph(np.arange(5.0), np.arange(1.0, 6.0), np.zeros(5, dtype=int))


def test_constant_column_is_named():
    frame = pd.DataFrame({"age": [50.0, 60, 70, 80], "site": [1.0, 1, 1, 1]})
    with pytest.raises(ValueError, match="'site' is constant"):
        cox_ph(frame, [1.0, 2, 3, 4], [1, 1, 0, 1])


def test_nan_names_column_and_row():
    frame = pd.DataFrame({"age": [50.0, 60, np.nan, 80], "dose": [1.0, 2, 3, 5]})
    with pytest.raises(ValueError, match=r"column 'age' has a NaN value at row 2"):
        cox_ph(frame, [1.0, 2, 3, 4], [1, 1, 0, 1])


def test_collinear_column_is_named():
    x = np.random.default_rng(0).normal(size=(30, 2))
    x = np.column_stack([x, x[:, 0] - 2 * x[:, 1]])
    with pytest.raises(ValueError, match="'x3' is a linear combination"):
        cox_ph(x, np.arange(1.0, 31), np.ones(30, dtype=int))


def test_negative_time_and_bad_event_are_named():
    with pytest.raises(ValueError, match="^time:"):
        cox_ph([1.0, 2, 3], [1.0, -2, 3], [1, 0, 1])
    with pytest.raises(ValueError, match="^event:"):
        cox_ph([1.0, 2, 3], [1.0, 2, 3], [1, 2, 1])
    with pytest.raises(ValueError, match="^ties:"):
        cox_ph([1.0, 2, 3], [1.0, 2, 3], [1, 0, 1], ties="exact")


def test_robust_counting_process_needs_cluster():
    x, time, event, entry, _ = _random_data(4, with_entry=True)
    with pytest.raises(ValueError, match="^cluster:"):
        cox_ph(x, time, event, entry=entry, robust=True)


def test_running_out_of_iterations_warns_and_reports_not_converged():
    # Complete separation in a tiny set: the loglik keeps creeping up for all 20 iterations
    # (R: "Ran out of iterations and did not converge").
    x = np.array([1.0, 1, 1, 0, 0, 0, 1, 0])
    time = np.array([1.0, 2, 3, 4, 5, 6, 2.5, 7])
    event = np.array([1, 1, 1, 0, 0, 0, 1, 0])
    with pytest.warns(ConvergenceWarning, match="ran out of iterations"):
        fit = cox_ph(x, time, event)
    assert not fit.converged and fit.iterations == 20
    assert fit.coef[0] > 10
    # R 3.5.3 reports the same loglik pair (-7.426549, -3.178054)
    np.testing.assert_allclose(fit.loglik, (-7.426549072, -3.178053836), rtol=1e-9)
