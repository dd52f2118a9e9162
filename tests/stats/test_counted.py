"""Estimates finished from counts equal the patient-level estimators (and so R) to 1e-12."""

import numpy as np
import pandas as pd
import pytest

from blinareg.stats import (
    CountTable,
    SurvivalDataError,
    cumulative_incidence,
    cumulative_incidence_from_counts,
    gray_from_counts,
    gray_test,
    kaplan_meier,
    kaplan_meier_from_counts,
    logrank_from_counts,
    logrank_test,
)
from tests.stats.nonparametric_reference import assert_matches_r, case_id, dataset, reference

TOLERANCE = {"rtol": 1e-12, "atol": 1e-12}
KM_FIELDS = ("time", "n_at_risk", "n_events", "n_censored", "survival", "std_err", "lower", "upper")
CIF_FIELDS = ("time", "estimate", "variance", "lower", "upper")


def _assert_same(actual, expected, fields):
    for name in fields:
        np.testing.assert_allclose(getattr(actual, name), getattr(expected, name), err_msg=name, **TOLERANCE)


def _random_registry(seed: int, n: int = 400, kind: str = "days"):
    """Ties on purpose: whole days (dense path), or few distinct fractional times (sorted path)."""
    rng = np.random.default_rng(seed)
    if kind == "days":
        time = rng.integers(0, 120, n).astype(float)
    else:
        time = rng.choice(rng.exponential(10.0, 60), n)
    status = rng.choice([0, 1, 2], n, p=[0.4, 0.4, 0.2])
    group = rng.choice(["arm b", "arm a", "arm c"], n)
    strata = rng.choice(["north", "south"], n)
    return time, status, group, strata


@pytest.mark.parametrize("kind", ["days", "fractional"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_estimator_equals_the_patient_level_one(seed, kind):
    time, status, group, strata = _random_registry(seed, kind=kind)
    table = CountTable.from_arrays(time, status, group=group, strata=strata)
    assert table.total == time.size and table.n.size < time.size  # ties were merged
    any_event = (status > 0).astype(int)

    _assert_same(kaplan_meier_from_counts(table), kaplan_meier(time, any_event), KM_FIELDS)
    for label in table.group_levels:
        members = group == label
        _assert_same(
            kaplan_meier_from_counts(table, group=label, conf_type="log"),
            kaplan_meier(time[members], any_event[members], conf_type="log"),
            KM_FIELDS,
        )
        for cause in (1, 2):
            _assert_same(
                cumulative_incidence_from_counts(table, cause, group=label),
                cumulative_incidence(time[members], status[members], cause=cause),
                CIF_FIELDS,
            )

    for rho in (0, 1):
        for strata_given, stratified in ((strata, True), (None, False)):
            counted = logrank_from_counts(table, rho=rho, stratified=stratified)
            direct = logrank_test(time, any_event, group, strata=strata_given, rho=rho)
            for name in ("statistic", "p_value", "observed", "expected", "variance"):
                np.testing.assert_allclose(getattr(counted, name), getattr(direct, name), err_msg=name, **TOLERANCE)
            assert list(counted.groups) == list(direct.groups) and counted.df == direct.df
            for cause in (1, 2):
                counted_gray = gray_from_counts(table, cause, rho=rho, stratified=stratified)
                direct_gray = gray_test(time, status, group, cause=cause, strata=strata_given, rho=rho)
                for name in ("statistic", "p_value", "score", "variance"):
                    np.testing.assert_allclose(
                        getattr(counted_gray, name), getattr(direct_gray, name), err_msg=name, **TOLERANCE
                    )


def test_pooled_center_tables_equal_the_pooled_registry():
    time, status, group, strata = _random_registry(7, n=600)
    centers = [strata == "north", strata == "south"]
    pooled = CountTable.combine(
        [CountTable.from_arrays(time[c], status[c], group=group[c], strata=strata[c]) for c in centers]
    )
    whole = CountTable.from_arrays(time, status, group=group, strata=strata)
    for name in ("stratum", "group", "time", "status", "n"):
        np.testing.assert_array_equal(getattr(pooled, name), getattr(whole, name))
    assert pooled.group_levels == whole.group_levels and pooled.strata_levels == whole.strata_levels


def test_combine_matches_levels_by_label_and_sums_identical_keys():
    first = CountTable.from_arrays([1.0, 2.0], [1, 0], group=["b", "b"])
    second = CountTable.from_arrays([1.0, 3.0], [1, 2], group=["a", "b"])
    pooled = CountTable.combine([first, second])
    assert pooled.group_levels == ("a", "b") and pooled.n_causes == 2
    frame = pooled.to_frame()
    assert frame.to_dict("list") == {
        "stratum": ["all"] * 4,
        "group": ["a", "b", "b", "b"],
        "time": [1.0, 1.0, 2.0, 3.0],
        "status": [1, 1, 0, 2],
        "n": [1, 1, 1, 1],
    }
    assert CountTable.combine([first, first]).n.tolist() == [2, 2]


def test_from_frame_takes_what_a_group_by_returns():
    frame = pd.DataFrame(
        {
            "stratum": ["s1", "s1", "s2", "s1"],
            "group": [2, 1, 1, 2],
            "time": [5.0, 5.0, 1.0, 5.0],
            "status": [1, 0, 1, 1],
            "n": [3, 2, 4, 1],
        }
    )
    table = CountTable.from_frame(frame)
    assert table.strata_levels == ("s1", "s2") and table.group_levels == ("1", "2")
    assert table.to_frame().to_dict("list") == {
        "stratum": ["s1", "s1", "s2"],
        "group": ["1", "2", "1"],
        "time": [5.0, 5.0, 1.0],
        "status": [0, 1, 1],
        "n": [2, 4, 4],
    }
    round_trip = CountTable.from_frame(table.to_frame())
    np.testing.assert_array_equal(round_trip.n, table.n)
    # Hand-worked: 10 subjects, 4 events at 1, then 4 events among 6 at 5 -> S = 0.6 * (2 / 6) = 0.2.
    fit = kaplan_meier_from_counts(table)
    np.testing.assert_allclose(fit.survival, [0.6, 0.2], rtol=0, atol=1e-15)
    np.testing.assert_array_equal(fit.n_at_risk, [10, 6])


def test_arrays_are_read_only_and_zero_counts_dropped():
    table = CountTable(
        stratum=np.zeros(3, dtype=int),
        group=np.array([0, 1, 1]),
        time=np.array([2.0, 1.0, 1.0]),
        status=np.array([1, 0, 0]),
        n=np.array([0, 2, 3]),
        group_levels=("x", "y"),
    )
    assert table.group_levels == ("y",) and table.n.tolist() == [5] and table.group.tolist() == [0]
    with pytest.raises(ValueError):
        table.n[0] = 1


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"time": [np.nan]}, "^time:"),
        ({"status": [3]}, "^status: code 3 at row 0"),
        ({"n": [-1]}, "^n: count -1"),
        ({"group": [1]}, "^group: code 1"),
        ({"n": [1.5]}, "^n: must hold whole numbers"),
    ],
)
def test_invalid_tables_are_rejected_naming_the_field(changes, message):
    fields = {"stratum": [0], "group": [0], "time": [1.0], "status": [1], "n": [1], "n_causes": 2}
    fields.update(changes)
    with pytest.raises(SurvivalDataError, match=message):
        CountTable(**fields)


def test_delayed_entry_and_absent_causes_are_refused_clearly():
    with pytest.raises(SurvivalDataError, match="^entry: delayed entry"):
        CountTable.from_arrays([2.0, 3.0], [1, 0], entry=[0.5, 1.0])
    table = CountTable.from_arrays([1.0, 2.0, 3.0], [1, 0, 1], group=["a", "b", "a"])
    with pytest.raises(SurvivalDataError, match=r"^cause: code 2 does not occur .*\[1\]"):
        cumulative_incidence_from_counts(table, 2)
    with pytest.raises(SurvivalDataError, match="^group: 'c' is not among"):
        kaplan_meier_from_counts(table, group="c")
    with pytest.raises(SurvivalDataError, match="^group: needs at least two"):
        logrank_from_counts(table.select(group="a"))


def test_coarsen_moves_each_time_to_the_next_grid_point():
    table = CountTable.from_arrays([0.0, 1.0, 6.5, 7.0, 7.0, 15.0], [1, 0, 1, 0, 1, 1])
    coarse = table.coarsen([0.0, 7.0, 14.0, 21.0])
    assert coarse.to_frame()[["time", "status", "n"]].to_dict("list") == {
        "time": [0.0, 7.0, 7.0, 21.0],
        "status": [1, 0, 1, 1],
        "n": [1, 2, 2, 1],
    }
    moved = table.with_times([1.0, 1.0, 7.0, 7.0, 7.0, 7.0])  # one time per row of `table`
    assert moved.to_frame()[["time", "status", "n"]].to_dict("list") == {
        "time": [1.0, 1.0, 7.0, 7.0],
        "status": [0, 1, 0, 1],
        "n": [1, 1, 1, 3],
    }
    with pytest.raises(SurvivalDataError, match="^grid: ends at 14.0"):
        table.coarsen([7.0, 14.0])
    with pytest.raises(SurvivalDataError, match="^grid: must be"):
        table.coarsen([7.0, 7.0, 21.0])


# Delayed entry and case weights are not finished from counts (refused above).
@pytest.mark.parametrize(
    "case", [c for c in reference()["kaplan_meier"] if not (c["entry"] or c["weights"])], ids=case_id
)
def test_kaplan_meier_from_counts_equals_r(case):
    data = dataset(case["dataset"])
    if case["dataset"] == "pbc":
        data["status"] = (data["status"] == 2).astype(int)
    fit = kaplan_meier_from_counts(CountTable.from_arrays(data["time"], data["status"]), conf_type=case["conf_type"])
    for name in KM_FIELDS:
        assert_matches_r(getattr(fit, name), case[name], f"{case['name']}: {name}")


@pytest.mark.parametrize("case", reference()["logrank"], ids=case_id)
def test_logrank_from_counts_equals_r(case):
    data = dataset(case["dataset"])
    if case["dataset"] == "pbc":
        data["status"] = (data["status"] == 2).astype(int)
    strata = None if case["strata"] is None else data[case["strata"]]
    table = CountTable.from_arrays(data["time"], data["status"], group=data[case["group"]], strata=strata)
    result = logrank_from_counts(table, rho=case["rho"])
    assert result.df == case["df"]
    assert_matches_r(result.statistic, case["statistic"], "statistic")
    assert_matches_r(result.observed, case["observed"], "observed")
    assert_matches_r(result.expected, case["expected"], "expected")


@pytest.mark.parametrize("case", reference()["gray"], ids=lambda c: f"{case_id(c)} cause {c['cause']}")
def test_gray_from_counts_equals_r(case):
    data = dataset(case["dataset"])
    event = data["cause" if case["dataset"] == "bmt" else "status"]
    strata = None if case["strata"] is None else data[case["strata"]]
    table = CountTable.from_arrays(data["time"], event, group=data[case["group"]], strata=strata)
    result = gray_from_counts(table, case["cause"], rho=case["rho"])
    assert result.df == case["df"]
    assert_matches_r(result.statistic, case["statistic"], "statistic")


@pytest.mark.parametrize("case", reference()["cumulative_incidence"], ids=lambda c: f"{c['dataset']} {c['level']}")
def test_cumulative_incidence_from_counts_equals_r(case):
    data = dataset(case["dataset"])
    event = data["cause" if case["dataset"] == "bmt" else "status"]
    table = CountTable.from_arrays(data["time"], event, group=None if case["group"] is None else data[case["group"]])
    label = None if case["group"] is None else str(case["level"])
    curve = cumulative_incidence_from_counts(table, case["cause"], group=label)
    rows = np.searchsorted(curve.time, np.atleast_1d(case["jump_time"]))
    assert_matches_r(curve.estimate[rows], case["jump_estimate"], "estimate")
    assert_matches_r(curve.variance[rows], case["jump_variance"], "variance")
