import numpy as np
import pytest

from blinareg.stats import kaplan_meier, rmst
from tests.stats.nonparametric_reference import assert_matches_r, dataset, reference


@pytest.mark.parametrize("case", reference()["rmst"], ids=lambda c: f"{c['dataset']}-tau{c['tau']}")
def test_equals_r_rmean(case):
    data = dataset(case["dataset"])
    result = rmst(data["time"], data["status"], case["tau"])
    assert_matches_r([result.rmst, result.std_err], [case["rmst"], case["std_err"]])
    assert result.lower < result.rmst < result.upper or result.std_err == 0


def test_is_the_area_under_the_curve():
    time = np.array([1.0, 2.0, 4.0, 6.0])
    event = np.array([1, 1, 0, 1])
    fit = kaplan_meier(time, event)
    area = 1.0 * 1 + fit.survival[0] * 1 + fit.survival[1] * 3  # up to tau = 5
    assert rmst(time, event, 5.0).rmst == pytest.approx(area)


def test_tau_before_the_first_time_is_tau_with_zero_error():
    result = rmst([5.0, 6.0], [1, 1], 2.0)
    assert result.rmst == 2.0 and result.std_err == 0.0


@pytest.mark.parametrize("tau", [0, -1, np.nan, "x"])
def test_invalid_tau(tau):
    with pytest.raises(ValueError, match="^tau:"):
        rmst([1.0, 2.0], [1, 0], tau)
