import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from blinareg.stats import kaplan_meier, median_followup
from blinareg.stats._tabulate import _tabulate_general, _tabulate_packed, _tabulate_whole_numbers, tabulate
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
        "time",
        "n_at_risk",
        "n_events",
        "n_censored",
        "survival",
        "std_err",
        "lower",
        "upper",
    ]


def _oracle_table(time, code, n_codes, weights=None):
    """Exits per distinct time and code, counted with a plain Python loop (no NumPy, no blinareg)."""
    cells: dict[float, list[float]] = {}
    for i, (t, c) in enumerate(zip(time.tolist(), code.tolist())):
        row = cells.setdefault(t, [0.0] * n_codes)
        row[c] += 1.0 if weights is None else float(weights[i])
    times = sorted(cells)
    return np.array(times, dtype=float), np.array([cells[t] for t in times], dtype=float).reshape(-1, n_codes)


def _assert_table(result, oracle):
    np.testing.assert_array_equal(result[0], oracle[0])
    np.testing.assert_allclose(result[1], oracle[1], rtol=1e-12, atol=0)


# Three kinds of time, each steering `tabulate` down a different path: whole numbers (bincount),
# fractions in a narrow range (packed sort), and a huge range (np.unique). Checked against the loop,
# not against another path of the same code.
_TIME_CHOICES = {
    "whole": [0.0, 1.0, 2.0, 3.0, 7.0, 30.0, 365.0],
    "fraction": [0.5, 1.25, 2.0, 3.75, 7.25, 100.5, 3.0],
    "wide": [0.0, 0.5, 1.0, 7.25, 100.0, 1e-300, 1e300],
}


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from(sorted(_TIME_CHOICES)),
    st.lists(st.tuples(st.integers(0, 6), st.integers(0, 5)), min_size=1, max_size=60),
    st.booleans(),
)
def test_tabulation_matches_a_plain_loop_on_every_path(kind, rows, weighted):
    choices = _TIME_CHOICES[kind]
    time = np.array([choices[i] for i, _ in rows])
    code = np.array([c for _, c in rows])
    weights = np.array([0.5 + (i % 3) for i in range(len(rows))]) if weighted else None
    oracle = _oracle_table(time, code, 6, weights)
    _assert_table(tabulate(time, code, 6, weights), oracle)
    _assert_table(_tabulate_general(time, code, 6, weights), oracle)
    if weights is None:
        packed = _tabulate_packed(time, code, 6, float(time.min()))
        if packed is not None:
            _assert_table(packed, oracle)


def test_each_kind_of_time_takes_its_own_path():
    code = np.array([0, 1, 2, 0, 1, 2, 3])
    whole, fraction, wide = (np.array(_TIME_CHOICES[k]) for k in ("whole", "fraction", "wide"))
    assert _tabulate_whole_numbers(whole, code, 6, None, float(whole.max())) is not None
    assert _tabulate_whole_numbers(fraction, code, 6, None, float(fraction.max())) is None
    assert _tabulate_packed(fraction, code, 6, float(fraction.min())) is not None
    assert _tabulate_whole_numbers(wide, code, 6, None, float(wide.max())) is None
    assert _tabulate_packed(wide, code, 6, float(wide.min())) is None


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from([0.0, 0.5, 1.0, 2.0, 3.0, 7.25, 100.0]), st.integers(0, 1)), min_size=1, max_size=40
    )
)
def test_kaplan_meier_risk_sets_and_curve_match_a_plain_loop(rows):
    time = [t for t, _ in rows]
    event = [e for _, e in rows]
    fit = kaplan_meier(time, event)
    survival = 1.0
    for k, t in enumerate(sorted(set(time))):
        at_risk = sum(1 for u in time if u >= t)
        deaths = sum(1 for u, e in rows if u == t and e == 1)
        censored = sum(1 for u, e in rows if u == t and e == 0)
        survival *= 1.0 - deaths / at_risk
        assert fit.time[k] == t
        assert (fit.n_at_risk[k], fit.n_events[k], fit.n_censored[k]) == (at_risk, deaths, censored)
        assert fit.survival[k] == pytest.approx(survival, rel=1e-12, abs=1e-15)


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


def test_landmark_frame_names_its_times_column_time() -> None:
    from blinareg.stats.examples import EVENT, TIME

    fit = kaplan_meier(TIME, EVENT)
    landmarks = fit.at([5.0, 10.0])
    landmark_frame = landmarks.to_frame()
    assert list(landmark_frame.columns) == ["time", "n_at_risk", "survival", "std_err", "lower", "upper"]
    np.testing.assert_array_equal(landmark_frame["time"].to_numpy(), landmarks.times)
