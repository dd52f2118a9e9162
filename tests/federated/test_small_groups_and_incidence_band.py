"""Groups that cannot reach K are released merged (never a count in 1..K-1), and the cumulative incidence's
coarsening band holds the exact-time estimate at every time."""

from __future__ import annotations

import json
from functools import lru_cache

import numpy as np
import pandas as pd
import pytest

from blinareg.derive import derive
from blinareg.federated import aggregate, pool
from blinareg.federated.aggregate import (
    LANDMARK_MONTHS,
    DAYS_PER_MONTH,
    for_centers,
    merge_small_groups,
    table_from_json,
)
from blinareg.federated.bounds import cell_grids_from_json, incidence_band
from blinareg.stats import CountTable, cumulative_incidence, cumulative_incidence_from_counts, logrank_from_counts
from blinareg.synth import generate
from tests.federated.disclosure import assert_discloses_nothing


@lru_cache(maxsize=None)
def _dataset(n_patients: int, centers: int, seed: int):
    return derive(generate(n_patients, seed=seed, centers=centers))


def _aggregates(dataset, **options):
    aggregates = [
        aggregate(for_centers(dataset, [c]), **options) for c in sorted(dataset.patients["center_id"].unique())
    ]
    for content in aggregates:
        assert_discloses_nothing(content, dataset.patients["patient_id"], options["min_cell"])
    return aggregates


def _rows(dataset, endpoint: str, by: str) -> pd.DataFrame:
    rows = dataset.time_to_event[dataset.time_to_event["PARAMCD"] == endpoint]
    return rows.merge(dataset.patients[["patient_id", "center_id", by]], on="patient_id")


def _table(rows: list[tuple[str, str, float, int, int]]) -> CountTable:
    frame = pd.DataFrame(rows, columns=["stratum", "group", "time", "status", "n"])
    return CountTable(
        stratum=frame["stratum"].map({"C1": 0, "C2": 1}).to_numpy(),
        group=frame["group"].map({"a": 0, "b": 1, "c": 2}).to_numpy(),
        time=frame["time"].to_numpy(),
        status=frame["status"].to_numpy(),
        n=frame["n"].to_numpy(),
        strata_levels=("C1", "C2"),
        group_levels=("a", "b", "c"),
        n_causes=1,
    )


def _totals(table: CountTable) -> pd.Series:
    return table.to_frame().groupby(["stratum", "group", "status"])["n"].sum()


def test_a_group_short_of_k_is_merged_with_the_smallest_group_that_makes_it_releasable():
    # C1: a has 3 events (short of K = 5); b (12 patients) and c (30) reach K. a + b: 3 + 4 events, 10 + 8
    # censored: releasable, and b is the smaller. C2: every group reaches K: released as it is.
    table = _table(
        [
            ("C1", "a", 10, 1, 3), ("C1", "a", 50, 0, 10),
            ("C1", "b", 20, 1, 4), ("C1", "b", 60, 0, 8),  # b alone: 4 events, short too
            ("C1", "c", 30, 1, 10), ("C1", "c", 70, 0, 20),
            ("C2", "a", 15, 1, 6), ("C2", "a", 80, 0, 5),
            ("C2", "b", 25, 1, 5), ("C2", "b", 90, 0, 0),
        ]
    )  # fmt: skip
    merged, merges = merge_small_groups(table, 5)
    assert merges == [{"center": "C1", "level": "merged: a + b", "groups": ["a", "b"], "ungrouped": False}]
    totals = _totals(merged)
    assert totals[("C1", "merged: a + b", 1)] == 7 and totals[("C1", "merged: a + b", 0)] == 18
    assert totals[("C1", "c", 1)] == 10 and totals[("C2", "a", 1)] == 6 and totals[("C2", "b", 1)] == 5
    assert merged.total == table.total
    assert not any(0 < n < 5 for n in totals)


def test_merging_goes_on_to_the_whole_center_and_stops_where_the_center_itself_is_short():
    # a: 2 events, b: 2 events, c: 1 event; a + b = 4 still short; a + b + c = 5: the center ungrouped.
    ungrouped = _table(
        [("C1", "a", 10, 1, 2), ("C1", "a", 40, 0, 6), ("C1", "b", 12, 1, 2), ("C1", "b", 44, 0, 9),
         ("C1", "c", 14, 1, 1), ("C1", "c", 48, 0, 20)]
    )  # fmt: skip
    merged, merges = merge_small_groups(ungrouped, 5)
    assert merges == [{"center": "C1", "level": "merged: a + b + c", "groups": ["a", "b", "c"], "ungrouped": True}]
    assert merged.group_levels == ("merged: a + b + c",) and merged.total == ungrouped.total
    # With 4 events in the whole center no level releases them: None (the aggregate withholds the endpoint).
    short = _table([("C1", "a", 10, 1, 2), ("C1", "a", 40, 0, 6), ("C1", "b", 12, 1, 2), ("C1", "b", 44, 0, 9)])
    assert merge_small_groups(short, 5) is None
    assert merge_small_groups(short, 2) == (short, [])


def test_400_patient_registry_releases_merged_groups_and_pools_them_as_stated():
    dataset = _dataset(400, 3, 2)
    aggregates = _aggregates(dataset, by="indication_group", grid="week", min_cell=5)
    results = pool(aggregates)
    # a curve whose first time has only censorings has no log-log CI there: null, not NaN, in the JSON
    json.dumps(results, allow_nan=False)
    # Before merging, a center whose group had 1..4 exits of a status withheld the whole endpoint: here
    # only 1 of the 12 center-endpoints was released; with merging, 8 (the other 4 have 1..4 such exits
    # in the whole center, which nothing can release).
    released = [(a["centers"][0], name) for a in aggregates for name, b in a["endpoints"].items() if "counts" in b]
    assert len(released) == 8
    merged_somewhere = compared = False
    for endpoint in ("OS", "EFS"):
        blocks = [a["endpoints"][endpoint] for a in aggregates]
        pooled = results["endpoints"][endpoint]
        rows = _rows(dataset, endpoint, "indication_group")
        for block in blocks:
            for merge in block["merged_groups"]:
                merged_somewhere = True
                assert merge["level"] in block["counts"]["group_levels"]
                assert merge["center"] in pooled["coarsening"]["statement"]
                assert f"releases groups" in block["effect"]["statement"] or merge["ungrouped"]
        # The overall result holds every released patient; a group's result only that group's unmerged ones.
        assert pooled["overall"]["n"] == len(rows)
        merged_away = {(m["center"], g) for b in blocks for m in b["merged_groups"] for g in m["groups"]}
        kept = rows[[(c, g) not in merged_away for c, g in zip(rows["center_id"], rows["indication_group"])]]
        for group, block in pooled["groups"].items():
            assert block["n"] == int((kept["indication_group"] == group).sum()), (endpoint, group)
        if kept["indication_group"].nunique() > 1:
            # the test across groups is that of the released counts without the merged levels
            frame = CountTable.combine([table_from_json(b["counts"]) for b in blocks if "counts" in b]).to_frame()
            unmerged = CountTable.from_frame(frame[~frame["group"].str.startswith("merged: ")])
            direct = logrank_from_counts(unmerged, stratified=False)
            np.testing.assert_allclose(pooled["tests"]["logrank_groups"]["statistic"], direct.statistic, rtol=1e-12)
            compared = True
        else:  # a merged level is no group to compare
            assert "logrank_groups" not in pooled["tests"]
        assert not any(label.startswith("merged: ") for label in pooled["groups"])
    assert merged_somewhere and compared


@pytest.mark.parametrize(
    ("n_patients", "centers", "seed", "grid", "min_cell", "by"),
    [
        (600, 2, 5, "week", 5, None),
        (600, 2, 5, "month", 5, "sex"),
        (1000, 3, 3, "week", 3, "indication_group"),
        (800, 2, 7, "day", 5, "sex"),
        (500, 1, 11, "month", 4, None),
    ],
)
def test_coarsened_cumulative_incidence_lies_in_its_band_at_every_time(n_patients, centers, seed, grid, min_cell, by):
    dataset = _dataset(n_patients, centers, seed)
    aggregates = _aggregates(dataset, endpoints=["CIR", "NRM"], by=by, grid=grid, min_cell=min_cell)
    results = pool(aggregates)
    landmarks = np.asarray(LANDMARK_MONTHS) * DAYS_PER_MONTH
    checked = 0
    for endpoint in ("CIR", "NRM"):
        blocks = [a["endpoints"][endpoint] for a in aggregates if "counts" in a["endpoints"][endpoint]]
        if not blocks:
            continue
        pooled = CountTable.combine([table_from_json(block["counts"]) for block in blocks])
        grids = cell_grids_from_json([cell for block in blocks for cell in block["grid"]["cells"]])
        rows = _rows(dataset, endpoint, by or "sex")
        rows = rows[rows["center_id"].isin(pooled.strata_levels)]
        for group in [None] if by is None else [None, *pooled.group_levels]:
            if group is None:
                part = rows
            else:
                members = {
                    (m["center"], g)
                    for b in blocks
                    for m in b["merged_groups"]
                    if m["level"] == group
                    for g in m["groups"]
                }
                part = rows[[(c, g) in members or g == group for c, g in zip(rows["center_id"], rows[by])]]
                if group.startswith("merged: "):
                    part = part[[(c, g) in members for c, g in zip(part["center_id"], part[by])]]
                else:
                    merged_away = {(m["center"], g) for b in blocks for m in b["merged_groups"] for g in m["groups"]}
                    part = part[[(c, g) not in merged_away for c, g in zip(part["center_id"], part[by])]]
            # every exact time, the points just before them, and the landmarks
            distinct = np.unique(part["AVAL"].to_numpy(dtype=float))
            times = np.unique(np.concatenate([distinct, np.maximum(distinct - 0.5, 0), landmarks]))
            times = times[times <= distinct.max()]
            low, high = incidence_band(pooled, grids, times, 1, group)
            if not (part["EVTCODE"] == 1).any():  # no event of interest: nothing to bound but 0
                assert np.all(high == 0.0) and np.all(low == 0.0)
                continue
            exact = cumulative_incidence(part["AVAL"], part["EVTCODE"], cause=1).at(times).estimate
            released = cumulative_incidence_from_counts(pooled, 1, group=group).at(times).estimate
            assert np.all(low - 1e-12 <= exact) and np.all(exact <= high + 1e-12), (endpoint, group)
            assert np.all(low - 1e-12 <= released) and np.all(released <= high + 1e-12), (endpoint, group)
            assert 0 < np.max(high - low) < 0.2  # coarsened, and still informative
            at_landmarks = incidence_band(pooled, grids, landmarks, 1, group)
            if group is None or not group.startswith("merged: "):  # the pool reports no merged level
                stated = results["endpoints"][endpoint]["coarsening"]["max_incidence_band"]
                assert np.max(at_landmarks[1] - at_landmarks[0]) <= stated + 1e-12
            checked += 1
        for block in blocks:
            own_low, own_high = incidence_band(
                table_from_json(block["counts"]), cell_grids_from_json(block["grid"]["cells"]), landmarks
            )
            assert np.max(own_high - own_low) <= block["effect"]["max_incidence_band"] + 1e-12
            assert "cumulative incidence (cause 1)" in block["effect"]["statement"]
    assert checked >= 2


def test_on_the_exact_grid_the_incidence_band_is_the_estimate_itself():
    # F1(t) = (1/n) sum 1/G(x_i-) over cause-1 exits by t: with nothing coarsened, low = high = Aalen-Johansen.
    dataset = _dataset(240, 3, 11)
    aggregates = _aggregates(dataset, endpoints=["CIR", "NRM"], by="sex", grid="exact", min_cell=1)
    for endpoint in ("CIR", "NRM"):
        blocks = [a["endpoints"][endpoint] for a in aggregates]
        pooled = CountTable.combine([table_from_json(block["counts"]) for block in blocks])
        grids = cell_grids_from_json([cell for block in blocks for cell in block["grid"]["cells"]])
        for group in (None, "female", "male"):
            times = np.unique((pooled if group is None else pooled.select(group=group)).time)
            low, high = incidence_band(pooled, grids, times, 1, group)
            estimate = cumulative_incidence_from_counts(pooled, 1, group=group).at(times).estimate
            np.testing.assert_allclose(low, estimate, rtol=1e-10, atol=1e-12)
            np.testing.assert_allclose(high, estimate, rtol=1e-10, atol=1e-12)


def test_groups_under_k_patients_are_one_level_throughout_the_file():
    # 400 patients, seed 0: the centers have 1 to 4 patients in their third or later relapse (it refused before).
    dataset = _dataset(400, 3, 0)
    by = "relapse_status_at_blinatumomab"
    aggregates = _aggregates(dataset, by=by, grid="week", min_cell=5)
    merged_files = 0
    for content in aggregates:
        center = content["centers"][0]
        sizes = dataset.patients[dataset.patients["center_id"] == center][by].fillna("unknown").value_counts()
        small = sorted(g for g, n in sizes.items() if n < 5)
        if not small:
            assert content["merged_groups"] == []
            continue
        merged_files += 1
        assert set(small) <= set(content["merged_groups"])
        level = "merged: " + " + ".join(content["merged_groups"])
        assert level in content["groups"] and not set(small) & set(content["groups"])
        totals = content["categorical"]["table1"]["sex"]["totals"]
        assert totals[level] == sum(sizes[g] for g in content["merged_groups"]) >= 5
        assert level in content["discloses"]
        for block in content["endpoints"].values():
            for merge in block.get("merged_groups", []):  # an endpoint's merge names the original groups
                assert not any(g.startswith("merged: ") for g in merge["groups"])
    assert merged_files == 2
    results = pool(aggregates)
    for endpoint in results["endpoints"].values():
        if "overall" in endpoint:
            assert not any(label.startswith("merged: ") for label in endpoint["groups"])
    json.dumps(results, allow_nan=False)
