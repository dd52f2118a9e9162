import numpy as np
import pytest

from blinareg.stats import logrank_test
from tests.stats.nonparametric_reference import assert_matches_r, case_id, dataset, reference


def _label(value):
    """R writes group labels as strings ("0.5"); compare numbers as numbers."""
    try:
        return float(value)
    except ValueError:
        return str(value)


@pytest.mark.parametrize("case", reference()["logrank"], ids=case_id)
def test_equals_r_survdiff(case):
    data = dataset(case["dataset"])
    if case["dataset"] == "pbc":
        data["status"] = (data["status"] == 2).astype(int)
    strata = None if case["strata"] is None else data[case["strata"]]
    result = logrank_test(data["time"], data["status"], data[case["group"]], strata=strata, rho=case["rho"])
    assert [_label(g) for g in result.groups] == [_label(g) for g in case["groups"]]
    assert result.df == case["df"]
    assert_matches_r(result.statistic, case["statistic"], "statistic")
    assert_matches_r(result.p_value, case["p_value"], "p_value")
    assert_matches_r(result.observed, case["observed"], "observed")
    assert_matches_r(result.expected, case["expected"], "expected")
    assert_matches_r(result.variance.ravel(), np.ravel(case["variance"]), "variance")


def test_groups_are_sorted_and_a_group_without_events_still_counts():
    time = [1, 2, 3, 4, 5, 6, 7, 8]
    event = [1, 1, 0, 1, 0, 0, 0, 0]
    group = ["b", "b", "b", "b", "c", "c", "a", "a"]
    result = logrank_test(time, event, group)
    assert list(result.groups) == ["a", "b", "c"]
    np.testing.assert_array_equal(result.observed, [0, 3, 0])
    assert result.df == 2  # every group has expected > 0 (all were at risk at time 1)
    assert result.statistic > 0 and 0 < result.p_value < 1


def test_no_events_has_no_test():
    result = logrank_test([1.0, 2.0, 3.0], [0, 0, 0], [0, 1, 1])
    assert result.statistic == 0.0 and result.df == 0 and np.isnan(result.p_value)


def test_invalid_input():
    with pytest.raises(ValueError, match="^group:"):
        logrank_test([1.0, 2.0], [1, 0], [1, 1])
    with pytest.raises(ValueError, match="^group:"):
        logrank_test([1.0, 2.0], [1, 0], [1])
    with pytest.raises(ValueError, match="^rho:"):
        logrank_test([1.0, 2.0], [1, 0], [0, 1], rho=-1)
    with pytest.raises(ValueError, match="^time:"):
        logrank_test([np.nan, 2.0], [1, 0], [0, 1])


def test_weighted_logrank_with_an_eventless_stratum_counts_it_as_zero():
    # Regression: with rho != 0 a stratum without events once crashed (matrix shape error).
    import numpy as np

    from blinareg.stats import logrank_test

    time = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 1.5, 2.5, 3.5, 4.5])
    event = np.array([1, 0, 1, 1, 0, 1, 0, 0, 0, 0])
    group = np.array([0, 1, 0, 1, 0, 1, 0, 1, 0, 1])
    strata = np.array([0, 0, 0, 0, 0, 0, 1, 1, 1, 1])
    stratified = logrank_test(time, event, group, strata=strata, rho=1)
    alone = logrank_test(time[:6], event[:6], group[:6], rho=1)
    np.testing.assert_allclose(stratified.statistic, alone.statistic, rtol=1e-12)
    np.testing.assert_allclose(stratified.observed, alone.observed)
