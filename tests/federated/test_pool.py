"""Pooled center aggregates equal the patient-level analysis of the pooled registry (exact grid)."""

from __future__ import annotations

import dataclasses
from functools import lru_cache

import numpy as np
import pandas as pd
import pytest

from blinareg.derive import derive
from blinareg.errors import UserError
from blinareg.federated import aggregate, check_aggregate, pool
from blinareg.federated.aggregate import (
    DAYS_PER_MONTH,
    DEFAULT_ENDPOINTS,
    LANDMARK_MONTHS,
    for_centers,
    released_grid,
    table_from_json,
)
from blinareg.federated.bounds import cell_grids_from_json, survival_band
from blinareg.stats import (
    CountTable,
    cumulative_incidence,
    gray_test,
    kaplan_meier,
    kaplan_meier_from_counts,
    logrank_test,
)
from blinareg.synth import generate
from tests.federated.disclosure import assert_discloses_nothing

TOLERANCE = {"rtol": 1e-10, "atol": 1e-10}


@lru_cache(maxsize=None)
def _dataset(n_patients: int, centers: int, seed: int):
    return derive(generate(n_patients, seed=seed, centers=centers))


def _center_aggregates(dataset, **options):
    centers = sorted(dataset.patients["center_id"].unique())
    aggregates = [aggregate(for_centers(dataset, [c]), **options) for c in centers]
    ids = dataset.patients["patient_id"]
    for content in aggregates:
        assert_discloses_nothing(content, ids, options.get("min_cell", 5))
    return aggregates


def _endpoint_rows(dataset, endpoint: str) -> pd.DataFrame:
    rows = dataset.time_to_event[dataset.time_to_event["PARAMCD"] == endpoint]
    columns = ["patient_id", "center_id", "sex", "indication_group"]
    return rows.merge(dataset.patients[columns], on="patient_id")


def _released_rows(rows: pd.DataFrame, blocks, by: str | None, group: str | None) -> pd.DataFrame:
    """The patients whose counts a pooled result of `group` (None: overall) holds: of centers that released
    the endpoint, and for a group, of centers that released that group unmerged."""
    released = [block for block in blocks if "counts" in block]
    centers = {c for block in released for c in block["counts"]["strata_levels"]}
    part = rows[rows["center_id"].isin(centers)]
    if group is None:
        return part
    merged = {m["center"] for block in released for m in block["merged_groups"] if group in m["groups"]}
    return part[(part[by] == group) & ~part["center_id"].isin(merged)]


def _assert_close(actual, expected, label: str) -> None:
    actual = np.array([np.nan if v is None else v for v in np.atleast_1d(actual)], dtype=float)
    np.testing.assert_allclose(actual, np.asarray(expected, dtype=float), err_msg=label, **TOLERANCE)


def test_pooled_results_equal_the_pooled_registry_on_the_exact_grid():
    dataset = _dataset(240, 3, 11)
    results = pool(_center_aggregates(dataset, by="sex", grid="exact", min_cell=1))
    assert results["centers"] == sorted(dataset.patients["center_id"].unique())
    for endpoint in DEFAULT_ENDPOINTS:
        rows = _endpoint_rows(dataset, endpoint)
        pooled = results["endpoints"][endpoint]
        competing = endpoint in ("CIR", "NRM")
        for label, members in [(None, slice(None))] + [(s, rows["sex"] == s) for s in sorted(rows["sex"].unique())]:
            block = pooled["overall"] if label is None else pooled["groups"][label]
            part = rows[members]
            if competing:
                curve = cumulative_incidence(part["AVAL"], part["EVTCODE"], cause=1)
                fields = ("time", "estimate", "variance", "lower", "upper")
            else:
                curve = kaplan_meier(part["AVAL"], part["EVTCODE"])
                fields = ("time", "n_at_risk", "n_events", "n_censored", "survival", "std_err", "lower", "upper")
            for name in fields:
                _assert_close(block["curve"][name], getattr(curve, name), f"{endpoint} {label} {name}")
        test = gray_test if competing else logrank_test
        options = {"cause": 1} if competing else {}
        name = "gray" if competing else "logrank"
        expected = {
            f"{name}_groups": test(rows["AVAL"], rows["EVTCODE"], rows["sex"], **options),
            f"{name}_groups_stratified_by_center": test(
                rows["AVAL"], rows["EVTCODE"], rows["sex"], strata=rows["center_id"], **options
            ),
            f"{name}_centers": test(rows["AVAL"], rows["EVTCODE"], rows["center_id"], **options),
        }
        for key, direct in expected.items():
            _assert_close(pooled["tests"][key]["statistic"], direct.statistic, f"{endpoint} {key}")
            _assert_close(pooled["tests"][key]["p_value"], direct.p_value, f"{endpoint} {key} p")
        assert "equal those of the pooled patient-level data" in pooled["coarsening"]["statement"]


def test_pooled_landmarks_and_categorical_counts():
    dataset = _dataset(240, 3, 11)
    results = pool(_center_aggregates(dataset, grid="exact", min_cell=1), landmark_months=[12.0])
    rows = _endpoint_rows(dataset, "OS")
    at = kaplan_meier(rows["AVAL"], rows["EVTCODE"]).at([12.0 * DAYS_PER_MONTH])
    landmark = results["endpoints"]["OS"]["overall"]["landmarks"][0]
    _assert_close(landmark["estimate"], at.survival, "OS at 12 months")
    assert landmark["n_at_risk"] == at.n_at_risk[0]
    best = results["categorical"]["response"]["best_response"]["all"]
    counts = dataset.patients["best_response"].fillna("unknown").value_counts()
    assert best["total"] == len(dataset.patients)
    for level, cell in best["levels"].items():
        assert cell["n"] == counts.get(level, 0)
    cr = best["levels"]["cr"]
    assert cr["lower"] < cr["proportion"] == counts["cr"] / len(dataset.patients) < cr["upper"]


def test_small_cells_are_stated_and_pooled_as_ranges():
    dataset = _dataset(240, 3, 11)
    aggregates = _center_aggregates(dataset, grid="exact", min_cell=5)
    results = pool(aggregates)
    for content in aggregates:
        assert "released as '<5'" in content["discloses"]
    levels = results["categorical"]["response"]["best_response"]["all"]["levels"]
    hidden = [cell for cell in levels.values() if not cell["exact"]]
    assert hidden, "the synthetic centers have rare responses: some cell must be a range"
    for cell in hidden:
        assert cell["low"] < cell["high"] and "proportion" not in cell


def test_released_grid_merges_until_every_count_is_zero_or_at_least_k():
    counts = np.array([[5, 0], [2, 1], [3, 4], [0, 5], [1, 0]])
    # rows 0 | 1-2 (5, 5) | 3-4 merged backwards: (1, 5) fails, so 1-4 -> (6, 10)
    assert released_grid(counts, 5) == [0, 4]
    assert released_grid(np.array([[5, 0], [5, 5]]), 5) == [0, 1]
    assert released_grid(np.array([[1, 0], [2, 0]]), 5) is None
    assert released_grid(np.array([[1, 0], [2, 0]]), 1) == [0, 1]


def test_a_lone_small_cell_takes_a_second_with_it():
    patients = pd.DataFrame(
        {
            "patient_id": [f"P{i}" for i in range(14)],
            "center_id": "C1",
            "sex": ["female"] * 10 + ["male"] * 4,
        }
    )
    dataset = dataclasses.replace(
        _dataset(240, 3, 11), patients=patients, time_to_event=_dataset(240, 3, 11).time_to_event.iloc[:0]
    )
    content = aggregate(dataset, endpoints=["OS"], min_cell=5)
    released = content["categorical"]["table1"]["sex"]["groups"]["all"]
    assert released == {"female": "<5", "male": "<5"}  # 4 alone would follow from the total 14
    assert content["endpoints"]["OS"]["withheld"] == "no patient has a OS row"
    assert_discloses_nothing(content, patients["patient_id"], 5)


@pytest.mark.parametrize(("grid", "by"), [("week", None), ("month", "sex")])
def test_coarsened_grid_keeps_the_exact_estimate_within_the_stated_band(grid, by):
    dataset = _dataset(600, 2, 5)
    aggregates = _center_aggregates(dataset, grid=grid, by=by, min_cell=5)
    results = pool(aggregates)
    landmarks = np.asarray(LANDMARK_MONTHS) * DAYS_PER_MONTH
    rng = np.random.default_rng(1)
    for endpoint in ("OS", "EFS"):
        rows = _endpoint_rows(dataset, endpoint)
        blocks = [a["endpoints"][endpoint] for a in aggregates]
        pooled = CountTable.combine([table_from_json(block["counts"]) for block in blocks])
        grids = cell_grids_from_json([cell for block in blocks for cell in block["grid"]["cells"]])
        times = np.concatenate([landmarks, rng.uniform(0, rows["AVAL"].max(), 25)])
        groups = [None] if by is None else [None, *sorted(rows[by].unique())]
        for group in groups:
            part = _released_rows(rows, blocks, by, group)
            if part.empty:
                continue
            low, high = survival_band(pooled, grids, times, group)
            exact = kaplan_meier(part["AVAL"], part["EVTCODE"] > 0).at(times).survival
            released = kaplan_meier_from_counts(pooled, group=group).at(times).survival
            assert np.all(low - 1e-12 <= exact) and np.all(exact <= high + 1e-12), (endpoint, group)
            assert np.all(low - 1e-12 <= released) and np.all(released <= high + 1e-12), (endpoint, group)
            assert np.max(high - low) > 0  # the grid was coarsened: the band is not trivially 0
            stated = results["endpoints"][endpoint]["coarsening"]["max_survival_band"]
            assert np.max(high[: landmarks.size] - low[: landmarks.size]) <= stated + 1e-12
        for content in aggregates:
            own = content["endpoints"][endpoint]
            table = table_from_json(own["counts"])
            low, high = survival_band(table, cell_grids_from_json(own["grid"]["cells"]), landmarks)
            assert own["effect"]["coarsened"] and np.max(high - low) <= own["effect"]["max_survival_band"] + 1e-12


def test_pool_refuses_mixed_splits_twice_counted_centers_and_other_files():
    dataset = _dataset(240, 3, 11)
    first = aggregate(for_centers(dataset, ["SYN-C01"]), min_cell=1)
    with pytest.raises(UserError, match="center 'SYN-C01' is in aggregates 1 and 2"):
        pool([first, first])
    with pytest.raises(UserError, match="split by different variables"):
        pool([first, aggregate(for_centers(dataset, ["SYN-C02"]), by="sex", min_cell=1)])
    with pytest.raises(UserError, match="^x.json: not a blinareg aggregate"):
        check_aggregate({"schema": "other"}, "x.json")
    with pytest.raises(UserError, match="schema version 99"):
        check_aggregate(first | {"schema_version": 99}, "x.json")


def test_aggregate_refuses_small_groups_and_bad_options():
    dataset = _dataset(240, 3, 11)
    with pytest.raises(UserError, match="--grid: 'year'"):
        aggregate(dataset, grid="year")
    with pytest.raises(UserError, match="--by: 'shoe_size'"):
        aggregate(dataset, by="shoe_size")
    with pytest.raises(UserError, match=r"--by sex: all groups together have fewer than 5 patients"):
        aggregate(dataclasses.replace(dataset, patients=dataset.patients.iloc[:4]), by="sex")
    with pytest.raises(UserError, match="--endpoints: unknown"):
        aggregate(dataset, endpoints=["XYZ"])
