import numpy as np
import pandas as pd
import pytest

from blinareg.errors import UserError
from blinareg.stats._checks import (
    SurvivalDataError,
    as_labels,
    check_cause,
    check_conf_level,
    check_covariates,
    check_survival_data,
)


def test_coerces_series_and_lists_to_arrays():
    data = check_survival_data(pd.Series([3, 1, 2]), [True, False, True], group=["b", "a", "b"])
    assert data.time.dtype == np.float64 and data.event.dtype == np.int64
    np.testing.assert_array_equal(data.event, [1, 0, 1])
    np.testing.assert_array_equal(data.group, [1, 0, 1])
    assert list(data.group_levels) == ["a", "b"]
    assert data.n == 3


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"time": [1.0, np.nan], "event": [0, 1]}, "time"),
        ({"time": [1.0, np.inf], "event": [0, 1]}, "time"),
        ({"time": [1.0, -2.0], "event": [0, 1]}, "time"),
        ({"time": [], "event": []}, "time"),
        ({"time": [1.0, 2.0], "event": [0, 2]}, "event"),
        ({"time": [1.0, 2.0], "event": [0, 0.5]}, "event"),
        ({"time": [1.0, 2.0], "event": [0]}, "event"),
        ({"time": [1.0, 2.0], "event": ["a", "b"]}, "event"),
        ({"time": [1.0, 2.0], "event": [0, 1], "entry": [0.0, 2.0]}, "entry"),
        ({"time": [1.0, 2.0], "event": [0, 1], "entry": [0.0]}, "entry"),
        ({"time": [1.0, 2.0], "event": [0, 1], "weights": [1.0, -1.0]}, "weights"),
        ({"time": [1.0, 2.0], "event": [0, 1], "group": [1.0, np.nan]}, "group"),
        ({"time": [1.0, 2.0], "event": [0, 1], "strata": [None, "x"]}, "strata"),
        ({"time": [1.0, 2.0], "event": [0, 1], "group": [1, 1], "require_group": True}, "group"),
    ],
)
def test_invalid_input_names_the_argument(kwargs, argument):
    with pytest.raises(ValueError, match=rf"^{argument}:"):
        check_survival_data(**kwargs)


def test_errors_are_user_errors_for_the_cli():
    with pytest.raises(UserError):
        check_survival_data([1.0], [3])


def test_competing_event_codes_and_cause():
    data = check_survival_data([1.0, 2.0, 3.0], [0, 2, 1], competing=True)
    assert check_cause(2, data.event) == 2
    with pytest.raises(SurvivalDataError, match=r"^cause: code 3 does not occur"):
        check_cause(3, data.event)
    with pytest.raises(SurvivalDataError, match=r"^cause:"):
        check_cause(0, data.event)
    with pytest.raises(SurvivalDataError, match=r"^event:"):
        check_survival_data([1.0, 2.0], [0, -1], competing=True)


def test_labels_keep_sorted_levels_for_every_kind():
    codes, levels = as_labels(np.array([10, 3, 10, 7]), "group")
    np.testing.assert_array_equal(codes, [2, 0, 2, 1])
    np.testing.assert_array_equal(levels, [3, 7, 10])
    codes, levels = as_labels(np.array([1e9, -5, 1e9]), "group")
    np.testing.assert_array_equal(codes, [1, 0, 1])
    codes, levels = as_labels(pd.Series(pd.Categorical(["y", "x", "y"], categories=["z", "y", "x"])), "group")
    np.testing.assert_array_equal(codes, [1, 0, 1])
    assert list(levels) == ["x", "y"]


def test_covariates_and_conf_level():
    matrix, names = check_covariates(pd.DataFrame({"age": [50, 60, 55], "sex": [0, 1, 1]}), 3)
    assert names == ("age", "sex") and matrix.shape == (3, 2)
    with pytest.raises(SurvivalDataError, match=r"^X:"):
        check_covariates(np.ones((3, 2)), 2)
    with pytest.raises(SurvivalDataError, match=r"^covariates:"):
        check_covariates(np.array([[1.0, np.nan], [0.0, 1.0]]), 2, name="covariates")
    with pytest.raises(SurvivalDataError, match=r"^conf_level:"):
        check_conf_level(1.5)


def test_stratum_members_cover_every_subject_once() -> None:
    data = check_survival_data([1.0, 2.0, 3.0, 4.0, 5.0], [1, 0, 1, 1, 0], strata=["b", "a", "b", "c", "a"])
    members = data.stratum_members()
    assert len(members) == 3  # a, b, c
    counts = np.zeros(data.n, dtype=int)
    for mask in members:
        counts += np.asarray(mask, dtype=bool)
    assert counts.tolist() == [1, 1, 1, 1, 1]
    assert check_survival_data([1.0, 2.0], [1, 0]).stratum_members() == [slice(None)]


def test_grouping_names_the_missing_group() -> None:
    grouped = check_survival_data([1.0, 2.0, 3.0], [1, 0, 1], group=["x", "y", "x"])
    codes, levels = grouped.grouping()
    assert codes.tolist() == [0, 1, 0] and levels.tolist() == ["x", "y"]
    with pytest.raises(SurvivalDataError, match="^group: is required"):
        check_survival_data([1.0, 2.0], [1, 0]).grouping()
