"""One center's aggregate: counts only, every released count 0 or >= K, stating what it discloses.

`aggregate(dataset, ...)` turns an analysis dataset into a JSON-ready mapping (schema
`blinareg.federated.aggregate`, version `SCHEMA_VERSION`):

- per endpoint, the `CountTable` of exits per (center, group, time, status), each (center, group,
  status) cell on its own time grid coarsened until every released count is >= K (`released_grid`),
  with the grids' cut points and the effect of the coarsening on the Kaplan-Meier estimate and the
  cumulative incidence stated (`blinareg.federated.bounds`). A group whose exits of some status number
  1..K-1 in a center (no grid releases them) is released merged with other groups of that center into
  one level (`merge_small_groups`); only when the center's exits of a status number 1..K-1 in all is
  the endpoint withheld;
- per categorical variable (Table 1, response, toxicity) and group, the patients per level, where a
  count in 1..K-1 is released as the text "<K" (and, when it is the only such cell of its variable
  and group, the next smallest count too, so the total does not give it away by subtraction).

No patient id, date or free text is written. No I/O here; the CLI writes the file.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from blinareg.errors import UserError
from blinareg.federated.bounds import cell_grids_from_json, incidence_band_width, survival_band_width
from blinareg.stats import CountTable

__all__ = [
    "AGGREGATE_SCHEMA",
    "CATEGORICAL_SECTIONS",
    "DEFAULT_ENDPOINTS",
    "DEFAULT_MIN_CELL",
    "GRIDS",
    "SCHEMA_VERSION",
    "aggregate",
    "for_centers",
    "merge_small_groups",
    "released_grid",
    "suppressed_label",
]

AGGREGATE_SCHEMA = "blinareg.federated.aggregate"
SCHEMA_VERSION = 1
DEFAULT_MIN_CELL = 5
DEFAULT_ENDPOINTS = ("OS", "EFS", "CIR", "NRM")
COMPETING_ENDPOINTS = ("CIR", "NRM")
DAYS_PER_MONTH = 365.25 / 12
# Times at which the pooled report gives landmarks, and the coarsening band is stated.
LANDMARK_MONTHS = (6.0, 12.0, 24.0)
# Base grid widths in days (AVAL is in days); "exact" keeps every distinct time.
GRIDS: dict[str, float | None] = {"exact": None, "day": 1.0, "week": 7.0, "month": 365.25 / 12}
UNKNOWN = "unknown"
# Label of a level that releases several groups of a center together: "merged: a + b".
MERGED_PREFIX = "merged: "

# Patient-level categorical variables released as counts per level, by report section.
CATEGORICAL_SECTIONS: dict[str, tuple[str, ...]] = {
    "table1": (
        "sex",
        "age_group",
        "immunophenotype",
        "relapse_status_at_blinatumomab",
        "indication_group",
        "prior_hsct",
        "genetics_bcr_abl1",
    ),
    "response": ("best_response", "cr_achieved", "cr_after_cycle1", "complete_mrd_response"),
    "toxicity": ("crs_max_grade", "icans_max_grade", "neurotoxicity_max_grade", "grade3plus_any"),
}
# Age at first blinatumomab, years: [low, high) bands.
AGE_BANDS = ((0.0, 18.0, "<18"), (18.0, 40.0, "18-39"), (40.0, 60.0, "40-59"), (60.0, float("inf"), ">=60"))


def suppressed_label(min_cell: int) -> str:
    return f"<{min_cell}"


def _discloses(min_cell: int, grid: str, by: str | None, small_groups: list[str]) -> str:
    split = f", by {by}" if by else ""
    small_cells = (
        "no count is suppressed (K = 1)"
        if min_cell == 1
        else f"a count from 1 to {min_cell - 1} is released as '{suppressed_label(min_cell)}' (with one more "
        "count of the same variable when it would otherwise follow by subtraction)"
    )
    merged = (
        f" (a group with 1 to {min_cell - 1} exits of some status is released merged with other groups of its "
        "center, named in the file)"
        if by and min_cell > 1
        else ""
    )
    if small_groups:
        merged += (
            f"; groups with fewer than {min_cell} patients are released throughout as one level (with the next "
            f"smallest groups until it has {min_cell}): '{MERGED_PREFIX}{' + '.join(small_groups)}'"
        )
    return (
        f"Counts only, per center{split}: for each endpoint, the number of patients leaving follow-up "
        f"(event by cause, or censored) per time point in days from the endpoint's start, on the '{grid}' grid "
        f"coarsened until every released count is 0 or >= {min_cell}{merged}; for Table 1, response and toxicity, "
        f"the number of patients per level, where {small_cells}. No patient identifier, date, free text or "
        "individual value is released. Patient totals per center and group follow from the counts."
    )


def _check_options(endpoints: Sequence[str], grid: str, min_cell: int) -> None:
    if grid not in GRIDS:
        raise UserError(f"--grid: {grid!r} is not one of {', '.join(GRIDS)}")
    if isinstance(min_cell, bool) or not isinstance(min_cell, int) or min_cell < 1:
        raise UserError(f"--min-cell: must be a whole number >= 1, got {min_cell!r}")
    if not endpoints:
        raise UserError("--endpoints: at least one endpoint is needed")


def _group_labels(patients: pd.DataFrame, by: str | None) -> pd.Series:
    if by is None:
        return pd.Series("all", index=patients.index)
    if by not in patients.columns:
        raise UserError(f"--by: {by!r} is not a column of the analysis dataset's patients")
    return patients[by].astype(object).where(patients[by].notna(), UNKNOWN).astype(str)


def _merge_groups_under_k(groups: pd.Series, by: str | None, min_cell: int) -> tuple[pd.Series, list[str]]:
    """Groups with fewer than K patients relabelled as one level "merged: a + b" (and the merged groups).

    Their totals would disclose them; merged, the level's total reaches K (the next smallest groups are
    added until it does). When all groups together have fewer than K patients nothing can be released.
    """
    sizes = groups.value_counts()
    merged = sorted(str(label) for label, n in sizes.items() if n < min_cell)
    if by is None or not merged:
        return groups, []
    rest = sorted((str(label) for label in sizes.index if str(label) not in merged), key=lambda g: (sizes[g], g))
    while int(sizes[merged].sum()) < min_cell:
        if not rest:
            raise UserError(
                f"--by {by}: all groups together have fewer than {min_cell} patients; every released total would "
                "disclose them"
            )
        merged.append(rest.pop(0))
    merged.sort()
    return groups.where(~groups.isin(merged), MERGED_PREFIX + " + ".join(merged)), merged


def _members(label: str) -> list[str]:
    """The groups a level stands for: itself, or the groups of a merged level."""
    return label.removeprefix(MERGED_PREFIX).split(" + ") if label.startswith(MERGED_PREFIX) else [label]


def _base_points(time: np.ndarray, grid: str) -> np.ndarray:
    """Each time moved to the end of its base-grid interval (itself on the exact grid)."""
    width = GRIDS[grid]
    if width is None:
        return time
    return np.ceil(time / width) * width


def released_grid(counts: np.ndarray, min_cell: int) -> list[int] | None:
    """Indices of the rows closing each released interval, or None when no grid releases the counts.

    `counts`: (points, cells), the exits at each base-grid point (ascending) per (center, group,
    status) cell. Points are merged greedily from the first one: an interval closes as soon as every
    cell's sum over it is 0 or >= min_cell; a last interval that never closes is merged into the
    ones before it until it does.
    """
    closing: list[int] = []
    running = np.zeros(counts.shape[1], dtype=np.int64)

    def releasable(values: np.ndarray) -> bool:
        return bool(np.all((values == 0) | (values >= min_cell)))

    for row in range(counts.shape[0]):
        running += counts[row]
        if releasable(running):
            closing.append(row)
            running[:] = 0
    if running.any():
        last = counts.shape[0] - 1
        while closing:
            closing.pop()
            start = closing[-1] + 1 if closing else 0
            if releasable(counts[start:].sum(axis=0)):
                closing.append(last)
                return closing
        return None
    return closing


def _releasable(totals: np.ndarray, min_cell: int) -> bool:
    """Every status total 0 or >= K: some grid releases the counts (the whole follow-up as one interval)."""
    return bool(np.all((totals == 0) | (totals >= min_cell)))


def _summed(totals: dict[str, np.ndarray], members: list[str]) -> np.ndarray:
    return np.asarray(np.sum([totals[g] for g in members], axis=0))


def merge_small_groups(table: CountTable, min_cell: int) -> tuple[CountTable, list[dict[str, Any]]] | None:
    """The table with, per center, the groups no grid can release merged into one level; None if none can.

    A group of a center cannot be released when its exits of some status number 1..K-1 in total. Such
    groups are merged (their exits summed, per time and status) into one level "merged: a + b"; while that
    level still has a status total in 1..K-1, the center's remaining group that makes it releasable is added
    (the one with fewest patients; when none does alone, the one with fewest patients, and so on). Groups
    that reach K are released as they are. When every group of a center is merged and a status total is
    still in 1..K-1 (the center has 1..K-1 such exits in all), no level releases it: None.
    """
    n_status = table.n_causes + 1
    labels = np.asarray(table.group_levels, dtype=object)[table.group]
    merges: list[dict[str, Any]] = []
    for code, center in enumerate(table.strata_levels):
        rows = table.stratum == code
        groups = sorted({str(label) for label in labels[rows]})
        totals = {
            g: np.bincount(
                table.status[rows & (labels == g)], weights=table.n[rows & (labels == g)], minlength=n_status
            )
            for g in groups
        }
        merged = [g for g in groups if not _releasable(totals[g], min_cell)]
        if not merged:
            continue
        rest = [g for g in groups if g not in merged]
        while not _releasable(_summed(totals, merged), min_cell):
            if not rest:
                return None
            by_size = sorted(rest, key=lambda g: (totals[g].sum(), g))
            chosen = next((g for g in by_size if _releasable(_summed(totals, [*merged, g]), min_cell)), by_size[0])
            merged.append(chosen)
            rest.remove(chosen)
        members = sorted(g for label in merged for g in _members(label))
        level = MERGED_PREFIX + " + ".join(members)
        labels[rows & np.isin(labels, merged)] = level
        merges.append({"center": center, "level": level, "groups": members, "ungrouped": not rest})
    if not merges:
        return table, merges
    group_levels = tuple(sorted({str(label) for label in labels}))
    codes = {label: i for i, label in enumerate(group_levels)}
    relabelled = CountTable(
        stratum=table.stratum,
        group=np.array([codes[str(label)] for label in labels], dtype=np.int64),
        time=table.time,
        status=table.status,
        n=table.n,
        strata_levels=table.strata_levels,
        group_levels=group_levels,
        n_causes=table.n_causes,
    )
    return relabelled, merges


def _merge_statement(merges: list[dict[str, Any]], min_cell: int) -> str:
    if not merges:
        return ""
    parts = []
    for merge in merges:
        names = ", ".join(f"'{g}'" for g in merge["groups"])
        what = (
            "all its groups together (the endpoint is released ungrouped for this center)"
            if merge["ungrouped"]
            else (f"groups {names} together as the level '{merge['level']}'")
        )
        parts.append(f"center {merge['center']} releases {what}")
    return (
        f" Some group's exits of one status numbered 1 to {min_cell - 1}, which no grid releases: "
        + "; ".join(parts)
        + ". The other groups are released as they are; the merged level counts in the overall and per-center "
        "estimates, not in any group's."
    )


def _endpoint(
    time_to_event: pd.DataFrame,
    patients: pd.DataFrame,
    groups: pd.Series,
    endpoint: str,
    grid: str,
    min_cell: int,
) -> dict[str, Any]:
    rows = time_to_event[time_to_event["PARAMCD"] == endpoint]
    if rows.empty:
        return {"patients": 0, "withheld": f"no patient has a {endpoint} row"}
    center_of = patients.set_index("patient_id")["center_id"].astype(str)
    group_of = pd.Series(groups.to_numpy(), index=patients["patient_id"].to_numpy())
    ids = rows["patient_id"].to_numpy()
    time = rows["AVAL"].to_numpy(dtype=np.float64)
    status = rows["EVTCODE"].to_numpy(dtype=np.int64)
    merged = merge_small_groups(
        CountTable.from_arrays(time, status, group=group_of.loc[ids].to_numpy(), strata=center_of.loc[ids].to_numpy()),
        min_cell,
    )
    if merged is None:
        return {
            "patients": None,
            "grid": {"requested": grid, "width_days": GRIDS[grid]},
            "withheld": (
                f"no time grid releases these counts: a center has 1 to {min_cell - 1} patients with one status "
                "(censored, or an event cause) in total, even with its groups merged; the endpoint is left out of "
                "this aggregate rather than suppressed cell by cell"
            ),
        }
    exact, merges = merged
    base_time = _base_points(exact.time, grid)
    released_time = np.empty_like(exact.time)
    grids = []
    widest = 0.0
    n_base = 0
    cells = np.unique(np.stack([exact.stratum, exact.group, exact.status]), axis=1).T
    for stratum, group, status in cells:
        rows = (exact.stratum == stratum) & (exact.group == group) & (exact.status == status)
        points, point_row = np.unique(base_time[rows], return_inverse=True)
        point_row = point_row.reshape(-1)
        counts = np.bincount(point_row, weights=exact.n[rows], minlength=points.size).astype(np.int64)
        closing = released_grid(counts[:, None], min_cell)
        if closing is None:  # merge_small_groups left no cell with 1..K-1 exits in total
            raise AssertionError("a cell with 1..K-1 exits survived merge_small_groups")
        cut_points = points[closing]
        interval = np.searchsorted(cut_points, points)[point_row]
        released_time[rows] = cut_points[interval]
        # An interval is exact when it holds one distinct original time and releases that time itself.
        original = exact.time[rows]
        interval_exact = [bool(np.all(original[interval == k] == cut)) for k, cut in enumerate(cut_points)]
        lower_ends = np.concatenate([[0.0], cut_points[:-1]])
        widths = np.where(interval_exact, 0.0, cut_points - lower_ends)
        widest = max(widest, float(widths.max()))
        n_base += points.size
        grids.append(
            {
                "stratum": exact.strata_levels[stratum],
                "group": exact.group_levels[group],
                "status": int(status),
                "cut_points": cut_points.tolist(),
                "interval_exact": interval_exact,
            }
        )
    released = exact.with_times(released_time)
    n_intervals = sum(len(g["cut_points"]) for g in grids)
    effect = _effect(released, grids, grid, widest, n_intervals, n_base, endpoint in COMPETING_ENDPOINTS)
    effect["statement"] += _merge_statement(merges, min_cell)
    return {
        "patients": released.total,
        "grid": {"requested": grid, "width_days": GRIDS[grid], "cells": grids},
        "merged_groups": merges,
        "counts": _table_json(released),
        "effect": effect,
    }


def _effect(
    released: CountTable,
    grids: list[dict[str, Any]],
    grid: str,
    widest: float,
    n_intervals: int,
    n_base: int,
    competing: bool,
) -> dict[str, Any]:
    landmarks = np.asarray(LANDMARK_MONTHS) * DAYS_PER_MONTH
    cells = cell_grids_from_json(grids)
    band = survival_band_width(released, cells, landmarks)
    merged = n_intervals < n_base
    statement = (
        f"Times are released on the '{grid}' grid"
        + (", coarsened per center, group and status so that every count is 0 or >= K" if merged else "")
        + f". The widest interval spans {widest:.4g} days. At {_months_text()} the Kaplan-Meier estimate (any "
        f"event) from exact times lies within {band:.4g} of the released one, overall and in every group."
    )
    effect: dict[str, Any] = {
        "coarsened": bool(widest > 0.0),
        "intervals": int(n_intervals),
        "base_points": int(n_base),
        "max_interval_days": widest,
        "landmark_months": list(LANDMARK_MONTHS),
        "max_survival_band": band,
    }
    if competing:
        effect["max_incidence_band"] = incidence_band_width(released, cells, landmarks)
        statement += f" {incidence_statement(effect['max_incidence_band'])}"
    effect["statement"] = statement
    return effect


def incidence_statement(band: float) -> str:
    """The sentence stating the cumulative incidence's coarsening band at the landmarks."""
    return (
        f"At {_months_text()} the cumulative incidence (cause 1) from exact times lies within {band:.4g} of the "
        "released one, overall and in every group (bounds from the censoring distribution's band)."
    )


def _months_text() -> str:
    return ", ".join(f"{m:g}" for m in LANDMARK_MONTHS) + " months"


def _table_json(table: CountTable) -> dict[str, Any]:
    return {
        "strata_levels": list(table.strata_levels),
        "group_levels": list(table.group_levels),
        "n_causes": table.n_causes,
        "stratum": table.stratum.tolist(),
        "group": table.group.tolist(),
        "time": table.time.tolist(),
        "status": table.status.tolist(),
        "n": table.n.tolist(),
    }


def table_from_json(block: dict[str, Any]) -> CountTable:
    """The `CountTable` of an endpoint's "counts" block."""
    return CountTable(
        stratum=np.asarray(block["stratum"], dtype=np.int64),
        group=np.asarray(block["group"], dtype=np.int64),
        time=np.asarray(block["time"], dtype=np.float64),
        status=np.asarray(block["status"], dtype=np.int64),
        n=np.asarray(block["n"], dtype=np.int64),
        strata_levels=tuple(block["strata_levels"]),
        group_levels=tuple(block["group_levels"]),
        n_causes=int(block["n_causes"]),
    )


def _categorical_values(patients: pd.DataFrame, name: str) -> pd.Series:
    if name == "age_group":
        age = patients["age_at_first_blinatumomab_years"]
        labels = pd.Series(UNKNOWN, index=patients.index, dtype=object)
        for low, high, label in AGE_BANDS:
            labels[(age >= low) & (age < high)] = label
        return labels
    values = patients[name]
    return values.astype(object).where(values.notna(), UNKNOWN).astype(str)


def _released_counts(counts: dict[str, int], min_cell: int) -> dict[str, int | str]:
    """Counts with 1..K-1 written as "<K"; a lone such cell takes the next smallest count with it."""
    small = [level for level, n in counts.items() if 0 < n < min_cell]
    if len(small) == 1:
        others = sorted((n, level) for level, n in counts.items() if n >= min_cell)
        if others:
            small.append(others[0][1])
    return {level: (suppressed_label(min_cell) if level in small else n) for level, n in counts.items()}


def _categorical(patients: pd.DataFrame, groups: pd.Series, min_cell: int) -> dict[str, Any]:
    sections: dict[str, Any] = {}
    for section, names in CATEGORICAL_SECTIONS.items():
        variables: dict[str, Any] = {}
        for name in names:
            source = "age_at_first_blinatumomab_years" if name == "age_group" else name
            if source not in patients.columns:
                continue
            values = _categorical_values(patients, name)
            levels = sorted(values.unique())
            by_group = {}
            totals = {}
            for label in sorted(groups.unique()):
                members = values[groups == label]
                counts = {level: int((members == level).sum()) for level in levels}
                by_group[label] = _released_counts(counts, min_cell)
                totals[label] = int(members.size)
            variables[name] = {"levels": levels, "totals": totals, "groups": by_group}
        sections[section] = variables
    return sections


def for_centers(dataset: Any, centers: Sequence[str]) -> Any:
    """The dataset's patients (and their time-to-event rows) of the given centers only."""
    patients = dataset.patients
    unknown = sorted(set(centers) - set(patients["center_id"].astype(str)))
    if unknown:
        raise UserError(f"--center: {unknown} not in the registry (centers: {sorted(patients['center_id'].unique())})")
    kept = patients[patients["center_id"].astype(str).isin(centers)]
    ids = set(kept["patient_id"])
    rows = dataset.time_to_event[dataset.time_to_event["patient_id"].isin(ids)]
    return dataclasses.replace(dataset, patients=kept.reset_index(drop=True), time_to_event=rows)


def aggregate(
    dataset: Any,
    endpoints: Sequence[str] = DEFAULT_ENDPOINTS,
    by: str | None = None,
    grid: str = "exact",
    min_cell: int = DEFAULT_MIN_CELL,
) -> dict[str, Any]:
    """The aggregate of one center's analysis dataset (see the module docstring); JSON-ready."""
    _check_options(endpoints, grid, min_cell)
    patients = dataset.patients
    if patients.empty:
        raise UserError("the analysis dataset has no patients: nothing to aggregate")
    groups, small_groups = _merge_groups_under_k(_group_labels(patients, by), by, min_cell)
    known = set(dataset.time_to_event["PARAMCD"].unique()) | set(DEFAULT_ENDPOINTS)
    unknown = [name for name in endpoints if name not in known]
    if unknown:
        raise UserError(f"--endpoints: unknown endpoint(s) {unknown}; known: {sorted(known)}")
    metadata = dict(getattr(dataset, "metadata", {}) or {})
    return {
        "schema": AGGREGATE_SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "discloses": _discloses(min_cell, grid, by, small_groups),
        "centers": sorted(patients["center_id"].astype(str).unique()),
        "synthetic": bool(patients["synthetic"].all()) if "synthetic" in patients.columns else None,
        "origin": metadata.get("origin"),
        "time_unit": "days",
        "by": by,
        "min_cell": min_cell,
        "groups": sorted(groups.unique()),
        "merged_groups": small_groups,
        "endpoints": {
            name: _endpoint(dataset.time_to_event, patients, groups, name, grid, min_cell) for name in endpoints
        },
        "categorical": _categorical(patients, groups, min_cell),
    }
