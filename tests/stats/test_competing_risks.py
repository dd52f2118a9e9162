import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from blinareg.stats import cumulative_incidence, gray_test, kaplan_meier
from tests.stats.nonparametric_reference import as_array, assert_matches_r, case_id, dataset, reference

EVENT_COLUMN = {"bmt": "cause", "pbc": "status"}


def _curve_id(case):
    level = "" if case["group"] is None else f" {case['group']}={case['level']}"
    return f"{case['dataset']}{level} cause {case['cause']}"


def _curve(case):
    data = dataset(case["dataset"])
    if case["group"] is not None:
        data = data[data[case["group"]].astype(str) == str(case["level"])]
    return cumulative_incidence(data["time"], data[EVENT_COLUMN[case["dataset"]]], cause=case["cause"])


@pytest.mark.parametrize("case", reference()["cumulative_incidence"], ids=_curve_id)
def test_estimate_and_variance_equal_cmprsk_cuminc_at_every_jump(case):
    curve = _curve(case)
    jumps = as_array(case["jump_time"])
    rows = np.searchsorted(curve.time, jumps)
    assert_matches_r(curve.time[rows], jumps, "time")
    assert_matches_r(curve.estimate[rows], case["jump_estimate"], "estimate")
    assert_matches_r(curve.variance[rows], case["jump_variance"], "variance")
    assert_matches_r(curve.lower[rows], case["jump_lower"], "lower")
    assert_matches_r(curve.upper[rows], case["jump_upper"], "upper")
    # Between jumps the curve is flat: the number of distinct estimate values equals cuminc's jumps.
    assert np.unique(curve.estimate[curve.estimate > 0]).size == jumps.size


@pytest.mark.parametrize("case", reference()["cumulative_incidence"], ids=_curve_id)
def test_landmarks_equal_cmprsk_timepoints(case):
    landmarks = _curve(case).at(case["at"]["times"])
    assert_matches_r(landmarks.estimate, case["at"]["estimate"], "estimate")
    assert_matches_r(landmarks.variance, case["at"]["variance"], "variance")


@pytest.mark.parametrize("case", reference()["gray"], ids=lambda c: f"{case_id(c)} cause {c['cause']}")
def test_gray_test_equals_cmprsk_cuminc_tests(case):
    data = dataset(case["dataset"])
    strata = None if case["strata"] is None else data[case["strata"]]
    result = gray_test(
        data["time"],
        data[EVENT_COLUMN[case["dataset"]]],
        data[case["group"]],
        cause=case["cause"],
        strata=strata,
        rho=case["rho"],
    )
    assert result.df == case["df"]
    assert_matches_r(result.statistic, case["statistic"], "statistic")
    # cmprsk reports 1 - pchisq(), which loses all digits below ~1e-16; compare p absolutely.
    np.testing.assert_allclose(result.p_value, case["p_value"], rtol=1e-8, atol=1e-15)


def test_single_cause_incidence_is_one_minus_kaplan_meier():
    data = dataset("aml")
    curve = cumulative_incidence(data["time"], data["status"], cause=1)
    fit = kaplan_meier(data["time"], data["status"])
    np.testing.assert_allclose(curve.estimate, 1 - fit.survival, rtol=1e-12, atol=1e-15)


def test_absent_cause_and_bad_codes_are_rejected():
    with pytest.raises(ValueError, match="^cause: code 3 does not occur"):
        cumulative_incidence([1.0, 2.0], [1, 2], cause=3)
    with pytest.raises(ValueError, match="^cause:"):
        gray_test([1.0, 2.0, 3.0], [1, 2, 0], [0, 1, 1], cause=3)
    with pytest.raises(ValueError, match="^event:"):
        cumulative_incidence([1.0, 2.0], [1, -2], cause=1)
    with pytest.raises(ValueError, match="^time:"):
        cumulative_incidence([-1.0, 2.0], [1, 2], cause=1)
    with pytest.raises(ValueError, match="^conf_type:"):
        cumulative_incidence([1.0, 2.0], [1, 2], cause=1, conf_type="plain")


def test_landmarks_before_first_and_beyond_last_time():
    curve = cumulative_incidence([0.0, 1.0, 2.0, 3.0], [2, 1, 0, 1], cause=1)
    at = curve.at([0.0, 1.0, 3.0, 3.5])
    np.testing.assert_allclose(at.estimate[:3], [0.0, 0.25, 0.75])  # S(3-) = 0.5, all of it fails at 3
    assert np.isnan(at.estimate[3]) and np.isnan(at.variance[3])


def test_event_at_time_zero_and_a_group_without_the_cause():
    time = [0, 1, 2, 3, 4, 5, 6, 7]
    event = [1, 2, 1, 0, 2, 2, 0, 2]
    group = [0, 0, 0, 0, 1, 1, 1, 1]  # group 1 never has cause 1
    result = gray_test(time, event, group, cause=1)
    assert result.df == 1 and np.isfinite(result.statistic) and 0 <= result.p_value <= 1
    assert cumulative_incidence(time, event, cause=1).estimate[0] == pytest.approx(1 / 8)


competing_data = st.integers(1, 80).flatmap(
    lambda n: st.tuples(
        st.lists(st.integers(0, 30).map(float), min_size=n, max_size=n),
        st.lists(st.integers(0, 2), min_size=n, max_size=n),
    )
)


@settings(max_examples=80, deadline=None)
@given(competing_data)
def test_incidence_properties_on_random_data(data):
    time, event = data
    if 1 not in event:
        event = [1, *event[1:]]
    curves = [cumulative_incidence(time, event, cause=c) for c in (1, 2) if c in event]
    for curve in curves:
        assert np.all((curve.estimate >= 0) & (curve.estimate <= 1 + 1e-12))
        assert np.all(np.diff(curve.estimate) >= -1e-15)
        assert np.all(curve.variance >= -1e-15)
        assert np.all(curve.lower <= curve.estimate + 1e-12) and np.all(curve.upper >= curve.estimate - 1e-12)
    # The causes' incidences add up to 1 - all-cause Kaplan-Meier.
    total = sum(c.estimate for c in curves)
    km = kaplan_meier(time, np.minimum(event, 1))
    np.testing.assert_allclose(total, 1 - km.survival, atol=1e-12)
