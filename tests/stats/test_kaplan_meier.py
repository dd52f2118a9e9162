import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from blinareg.stats import kaplan_meier, median_followup
from blinareg.stats._tabulate import _tabulate_general, _tabulate_packed, tabulate
from tests.stats.nonparametric_reference import assert_matches_r, case_id, dataset, reference

KM_CASES = reference()["kaplan_meier"]


def _fit(case):
    data = dataset(case["dataset"])
    if case["dataset"] == "pbc":
        data["status"] = (data["status"] == 2).astype(int)
    kwargs = {}
    if case["entry"]:
        kwargs["entry"] = data["entry"]
    if case["weights"]:
        kwargs["weights"] = data["karno"] / 10
    return kaplan_meier(data["time"], data["status"], conf_type=case["conf_type"], **kwargs)


@pytest.mark.parametrize("case", KM_CASES, ids=case_id)
def test_curve_equals_r_survfit(case):
    fit = _fit(case)
    for name in ("time", "n_at_risk", "n_events", "n_censored", "survival", "std_err", "lower", "upper"):
        assert_matches_r(getattr(fit, name), case[name], f"{case['name']}: {name}")


@pytest.mark.parametrize("case", KM_CASES, ids=case_id)
def test_median_and_its_ci_equal_r_print(case):
    fit = _fit(case)
    for name in ("median", "median_lower", "median_upper"):
        actual, expected = getattr(fit, name), case[name]
        assert (actual is None) == (expected is None), name
        if expected is not None:
            assert actual == pytest.approx(expected, rel=1e-12), name


@pytest.mark.parametrize("case", KM_CASES, ids=case_id)
def test_landmarks_equal_r_summary_with_extend(case):
    landmarks = fit_at = _fit(case).at(case["at"]["times"])
    for name in ("survival", "std_err", "lower", "upper", "n_at_risk"):
        assert_matches_r(getattr(fit_at, name), case["at"][name], f"{case['name']}: at {name}")
    assert landmarks.to_frame().shape == (len(np.atleast_1d(case["at"]["times"])), 6)


def test_flat_stretch_at_one_half_takes_the_midpoint():
    fit = kaplan_meier([1, 2, 2, 3, 4], [0, 1, 1, 0, 1])
    assert fit.median == 3.0  # S = 0.5 on [2, 4): midpoint of 2 and 4, as R prints


@pytest.mark.parametrize("case", reference()["median_followup"], ids=case_id)
def test_median_followup_equals_reverse_km_in_r(case):
    data = dataset(case["dataset"])
    result = median_followup(data["time"], data["status"])
    for name in ("median", "lower", "upper"):
        actual, expected = getattr(result, name), case[name]
        assert (actual is None) == (expected is None), name
        if expected is not None:
            assert actual == pytest.approx(expected, rel=1e-12)
    assert result.n_censored == int((data["status"] == 0).sum())


def test_no_events_gives_a_flat_curve_and_no_median():
    fit = kaplan_meier([1.0, 2.0, 2.0, 5.0], [0, 0, 0, 0])
    np.testing.assert_array_equal(fit.survival, [1.0, 1.0, 1.0])
    np.testing.assert_array_equal(fit.std_err, [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(fit.n_censored, [1, 2, 1])
    assert fit.median is None and fit.median_lower is None and fit.median_upper is None
    assert np.isnan(fit.lower).all()  # log-log limits are undefined at S = 1, as R's NA


def test_one_subject_with_an_event():
    fit = kaplan_meier([4.0], [1], conf_type="log")
    np.testing.assert_array_equal(fit.survival, [0.0])
    assert np.isnan(fit.std_err[0]) and np.isnan(fit.lower[0])
    assert fit.median == 4.0


def test_event_at_time_zero_counts_before_censoring_at_zero():
    fit = kaplan_meier([0.0, 0.0, 1.0], [1, 0, 1])
    np.testing.assert_array_equal(fit.time, [0.0, 1.0])
    np.testing.assert_array_equal(fit.n_at_risk, [3, 1])
    assert fit.survival[0] == pytest.approx(2 / 3)


def test_landmark_beyond_last_time_carries_the_curve_with_nobody_at_risk():
    fit = kaplan_meier([1.0, 2.0, 3.0, 10.0], [1, 0, 1, 0])
    at = fit.at([0.5, 3.0, 10.0, 50.0])
    np.testing.assert_allclose(at.survival, [1.0, 0.375, 0.375, 0.375])
    np.testing.assert_array_equal(at.n_at_risk, [4, 2, 1, 0])
    assert at.std_err[-1] == at.std_err[-2]
    with pytest.raises(ValueError, match="^times:"):
        fit.at([-1.0])


def test_invalid_input_is_rejected_at_the_boundary():
    with pytest.raises(ValueError, match="^time:"):
        kaplan_meier([1.0, np.nan], [1, 0])
    with pytest.raises(ValueError, match="^time:"):
        kaplan_meier([1.0, -1.0], [1, 0])
    with pytest.raises(ValueError, match="^conf_type:"):
        kaplan_meier([1.0], [1], conf_type="logit")
    with pytest.raises(ValueError, match="^entry:"):
        kaplan_meier([1.0, 2.0], [1, 0], entry=[1.0, 0.0])


def test_accepts_pandas_and_returns_a_frame():
    frame = kaplan_meier(pd.Series([2, 1, 3]), pd.Series([1, 1, 0])).to_frame()
    assert list(frame.columns) == [
        "time", "n_at_risk", "n_events", "n_censored", "survival", "std_err", "lower", "upper"
    ]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from([0.0, 0.5, 1.0, 2.0, 3.0, 7.25, 100.0, 1e-300, 1e300]), st.integers(0, 5)),
        min_size=1,
        max_size=60,
    )
)
def test_every_tabulation_path_gives_the_same_table(rows):
    time = np.array([t for t, _ in rows])
    code = np.array([c for _, c in rows])
    expected = _tabulate_general(time, code, 6, None)
    actual = tabulate(time, code, 6)
    np.testing.assert_array_equal(actual[0], expected[0])
    np.testing.assert_array_equal(actual[1], expected[1])
    packed = _tabulate_packed(time, code, 6, float(time.min()))
    if packed is not None:
        np.testing.assert_array_equal(packed[0], expected[0])
        np.testing.assert_array_equal(packed[1], expected[1])


survival_data = st.integers(1, 80).flatmap(
    lambda n: st.tuples(
        st.lists(st.floats(0, 50, allow_nan=False).map(lambda t: round(t, 1)), min_size=n, max_size=n),
        st.lists(st.integers(0, 1), min_size=n, max_size=n),
    )
)


@settings(max_examples=80, deadline=None)
@given(survival_data, st.sampled_from(["log-log", "log", "plain"]))
def test_curve_properties_on_random_data(data, conf_type):
    time, event = data
    fit = kaplan_meier(time, event, conf_type=conf_type)
    assert np.all((fit.survival >= 0) & (fit.survival <= 1))
    assert np.all(np.diff(fit.survival) <= 1e-15)
    assert np.all(np.diff(fit.time) > 0)
    assert np.all(np.diff(fit.n_at_risk) <= 0)
    defined = ~np.isnan(fit.lower)
    assert np.all(fit.lower[defined] <= fit.survival[defined] + 1e-12)
    assert np.all((fit.lower[defined] >= 0) & (fit.upper[defined] <= 1 + 1e-12))
    assert fit.n_events.sum() == sum(event) and fit.n_censored.sum() == len(event) - sum(event)
