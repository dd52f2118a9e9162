"""fine_gray against R cmprsk::crr (tests/reference/regression.json) and against brute force."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from blinareg.stats import cox_ph
from blinareg.stats import FineGrayResult, fine_gray

REFERENCE = Path(__file__).resolve().parents[1] / "reference"
CASES = json.loads((REFERENCE / "regression.json").read_text())["fine_gray"]


def _vec(value) -> np.ndarray:
    return np.atleast_1d(np.asarray(value, dtype=float))


@pytest.fixture(scope="module", params=CASES, ids=[c["name"] for c in CASES])
def case_and_fit(request) -> tuple[dict, FineGrayResult]:
    case = request.param
    data = pd.read_csv(REFERENCE / "data" / case["data"])
    covariates = list(np.atleast_1d(case["covariates"]))
    return case, fine_gray(data[covariates], data["time"], data["event"], cause=case["cause"])


def test_matches_crr(case_and_fit):
    case, fit = case_and_fit
    np.testing.assert_allclose(fit.coef, _vec(case["coef"]), rtol=1e-6)
    np.testing.assert_allclose(fit.se, _vec(case["se"]), rtol=1e-6)
    np.testing.assert_allclose(
        fit.variance, np.asarray(case["var"], dtype=float).reshape(fit.variance.shape), rtol=1e-6, atol=1e-14
    )
    np.testing.assert_allclose(fit.loglik, [case["loglik_null"], case["loglik"]], rtol=1e-8)
    np.testing.assert_allclose(fit.p_value, _vec(case["p_value"]), rtol=1e-6)
    np.testing.assert_allclose(fit.hr_lower, _vec(case["hr_lower"]), rtol=1e-6)
    np.testing.assert_allclose(fit.hr_upper, _vec(case["hr_upper"]), rtol=1e-6)
    assert fit.converged == case["converged"]
    assert fit.n == case["n"]
    assert fit.n_events == case["n_events"]
    assert fit.covariate_names == tuple(np.atleast_1d(case["covariates"]))
    assert fit.n_events + fit.n_competing + fit.n_censored == fit.n


def _brute_force_loglik(x, time, event, cause, beta):
    """crr's weighted partial likelihood with the O(n^2) loops of its Fortran (reference only)."""
    n = len(time)
    censored = event == 0
    distinct = np.unique(time)
    g_after = np.cumprod([1 - (censored & (time == t)).sum() / (time >= t).sum() for t in distinct])

    def g_before(t):
        earlier = distinct < t
        return g_after[earlier][-1] if earlier.any() else 1.0

    eta = x @ beta
    total = 0.0
    for t in np.unique(time[event == cause]):
        fails = (time == t) & (event == cause)
        total += eta[fails].sum()
        weights = np.zeros(n)
        for j in range(n):
            if time[j] >= t:
                weights[j] = 1.0
            elif event[j] not in (0, cause):
                weights[j] = g_before(t) / g_before(time[j])
        total -= fails.sum() * np.log((weights * np.exp(eta)).sum())
    return total


def test_loglik_equals_loops_with_ties():
    rng = np.random.default_rng(5)
    n = 70
    x = rng.normal(size=(n, 2))
    time = rng.integers(1, 10, size=n).astype(float)
    event = rng.choice([0, 1, 2, 3], size=n, p=[0.3, 0.35, 0.25, 0.1])
    fit = fine_gray(x, time, event, cause=1)
    np.testing.assert_allclose(fit.loglik[1], _brute_force_loglik(x, time, event, 1, fit.coef), rtol=1e-12)
    np.testing.assert_allclose(fit.loglik[0], _brute_force_loglik(x, time, event, 1, 0 * fit.coef), rtol=1e-12)
    for j in range(2):
        step = np.eye(2)[j] * 1e-4
        up = _brute_force_loglik(x, time, event, 1, fit.coef + step)
        down = _brute_force_loglik(x, time, event, 1, fit.coef - step)
        assert up < fit.loglik[1] and down < fit.loglik[1]


def test_without_competing_events_equals_breslow_cox():
    rng = np.random.default_rng(11)
    n = 200
    x = rng.normal(size=(n, 2))
    time = rng.exponential(size=n).round(2) + 0.01
    event = (rng.random(n) < 0.7).astype(int)
    fg = fine_gray(x, time, event, cause=1)
    cox = cox_ph(x, time, event, ties="breslow")
    # Same likelihood; crr stops at a score tolerance of 1e-6, coxph at a loglik change of 1e-9.
    np.testing.assert_allclose(fg.coef, cox.coef, rtol=1e-5)
    np.testing.assert_allclose(fg.loglik[0], cox.loglik[0], rtol=1e-12)


def test_cause_must_occur_in_event():
    with pytest.raises(ValueError, match="^cause:"):
        fine_gray([1.0, 2, 3, 4], [1.0, 2, 3, 4], [0, 1, 1, 0], cause=2)
    with pytest.raises(ValueError, match="^cause:"):
        fine_gray([1.0, 2, 3, 4], [1.0, 2, 3, 4], [0, 1, 2, 0], cause=0)


def test_invalid_inputs_are_named():
    with pytest.raises(ValueError, match="^time:"):
        fine_gray([1.0, 2, 3], [1.0, -2, 3], [1, 2, 0], cause=1)
    frame = pd.DataFrame({"age": [50.0, np.nan, 70, 80]})
    with pytest.raises(ValueError, match="column 'age' has a NaN value at row 1"):
        fine_gray(frame, [1.0, 2, 3, 4], [1, 2, 0, 1], cause=1)
    with pytest.raises(ValueError, match="'grade' is constant"):
        fine_gray(pd.DataFrame({"grade": [2.0, 2, 2, 2]}), [1.0, 2, 3, 4], [1, 2, 0, 1], cause=1)


def test_result_fields_and_cause_swap():
    rng = np.random.default_rng(3)
    n = 150
    x = rng.normal(size=n)
    time = rng.exponential(size=n)
    event = rng.choice([0, 1, 2], size=n)
    one = fine_gray(x, time, event, cause=1)
    two = fine_gray(x, time, event, cause=2)
    assert one.covariate_names == ("x1",) and one.cause == 1 and two.cause == 2
    assert one.n_events == int((event == 1).sum()) and two.n_events == int((event == 2).sum())
    assert one.n_competing == two.n_events
    assert not np.allclose(one.coef, two.coef)
    np.testing.assert_allclose(one.hazard_ratio, np.exp(one.coef))
