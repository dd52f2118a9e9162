"""The coordinator's side: pool center aggregates and finish every estimate from the pooled counts.

`pool(aggregates)` checks the files (schema, version, the same split, no center twice), combines the
count tables of each endpoint (the center is the stratum) and returns JSON-ready results: Kaplan-Meier
curves with confidence intervals (OS, EFS) or cumulative incidence with Gray's variance (CIR, NRM)
overall, per group and per center, landmarks and medians, log-rank or Gray's test across groups
(unstratified and stratified by center) and across centers, the coarsening band, and the pooled
Table 1, response and toxicity counts with exact (Clopper-Pearson) intervals. A level whose count was
released as "<K" by some center is given as a range, not a number. Groups a center released merged
(`merge_small_groups`) count in the overall and per-center results, not in any group's results or in
the tests across groups; each endpoint says which.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from blinareg.errors import UserError
from blinareg.federated.aggregate import (
    AGGREGATE_SCHEMA,
    COMPETING_ENDPOINTS,
    DAYS_PER_MONTH,
    LANDMARK_MONTHS,
    MERGED_PREFIX,
    SCHEMA_VERSION,
    incidence_statement,
    table_from_json,
)
from blinareg.federated.bounds import cell_grids_from_json, incidence_band_width, survival_band_width
from blinareg.stats import (
    CountTable,
    binomial_ci,
    cumulative_incidence_from_counts,
    gray_from_counts,
    kaplan_meier_from_counts,
    logrank_from_counts,
)

__all__ = ["POOLED_SCHEMA", "pool", "check_aggregate", "groups_only", "DAYS_PER_MONTH", "LANDMARK_MONTHS"]

POOLED_SCHEMA = "blinareg.federated.pooled"


def check_aggregate(content: Any, source: str) -> dict[str, Any]:
    """The aggregate if it is one this version reads; otherwise a UserError naming `source`."""
    if not isinstance(content, dict) or content.get("schema") != AGGREGATE_SCHEMA:
        raise UserError(f"{source}: not a blinareg aggregate (schema {AGGREGATE_SCHEMA!r} expected)")
    if content.get("schema_version") != SCHEMA_VERSION:
        raise UserError(
            f"{source}: aggregate schema version {content.get('schema_version')!r}; this version reads {SCHEMA_VERSION}"
        )
    # A file edited by hand (or cut short) can carry the right header and still lack a field: pooling it
    # alone finds that now, naming the file, instead of a bare KeyError while pooling several.
    try:
        pool([content])
    except UserError:
        raise
    except KeyError as error:
        raise UserError(f"{source}: not a complete aggregate: field {error} is missing") from None
    except (TypeError, ValueError, IndexError, AttributeError) as error:
        raise UserError(f"{source}: not a readable aggregate: a field has the wrong form ({error})") from None
    return content


def _finite(value: float | None) -> float | None:
    return None if value is None or not np.isfinite(value) else float(value)


def _finite_list(values: np.ndarray) -> list[float | None]:
    """A curve column as JSON: an undefined value (a log-log CI where the estimate is 1) as null."""
    return [_finite(float(v)) for v in values]


def _test_json(result: Any) -> dict[str, Any]:
    return {"statistic": _finite(result.statistic), "df": int(result.df), "p_value": _finite(result.p_value)}


def _curve_json(table: CountTable, endpoint: str, group: str | None, landmarks: np.ndarray) -> dict[str, Any]:
    subset = table if group is None else table.select(group=group)
    n = subset.total
    events = int(subset.n[subset.status == 1].sum())
    block: dict[str, Any] = {"n": n, "events": events}
    if endpoint in COMPETING_ENDPOINTS:
        block["competing_events"] = int(subset.n[subset.status > 1].sum())
        if events == 0:
            block["note"] = "no events of interest"
            return block
        return block | _incidence_json(table, group, landmarks)
    return block | _survival_json(table, group, landmarks)


def _incidence_json(table: CountTable, group: str | None, landmarks: np.ndarray) -> dict[str, Any]:
    curve = cumulative_incidence_from_counts(table, 1, group=group)
    at = curve.at(landmarks)
    rows = zip(landmarks / DAYS_PER_MONTH, at.estimate, at.variance, at.lower, at.upper, strict=True)
    return {
        "curve": {
            name: _finite_list(getattr(curve, name)) for name in ("time", "estimate", "variance", "lower", "upper")
        },
        "landmarks": [
            {
                "months": float(m),
                "estimate": _finite(e),
                "variance": _finite(v),
                "lower": _finite(lo),
                "upper": _finite(hi),
            }
            for m, e, v, lo, hi in rows
        ],
    }


def _survival_json(table: CountTable, group: str | None, landmarks: np.ndarray) -> dict[str, Any]:
    curve = kaplan_meier_from_counts(table, group=group)
    at = curve.at(landmarks)
    rows = zip(landmarks / DAYS_PER_MONTH, at.survival, at.lower, at.upper, at.n_at_risk, strict=True)
    medians = (("median", curve.median), ("lower", curve.median_lower), ("upper", curve.median_upper))
    return {
        "curve": {
            name: _finite_list(getattr(curve, name))
            for name in ("time", "n_at_risk", "n_events", "n_censored", "survival", "std_err", "lower", "upper")
        },
        "median_months": {key: None if value is None else value / DAYS_PER_MONTH for key, value in medians},
        "landmarks": [
            {
                "months": float(m),
                "estimate": _finite(s),
                "lower": _finite(lo),
                "upper": _finite(hi),
                "n_at_risk": int(r),
            }
            for m, s, lo, hi, r in rows
        ],
    }


def centers_as_groups(table: CountTable) -> CountTable:
    """The same counts with the center (stratum) as the group, for center-as-subgroup results."""
    return CountTable(
        stratum=np.zeros_like(table.stratum),
        group=table.stratum,
        time=table.time,
        status=table.status,
        n=table.n,
        group_levels=table.strata_levels,
        n_causes=table.n_causes,
    )


def merged_levels(blocks: Sequence[dict[str, Any]]) -> set[str]:
    """The levels of these endpoint blocks that hold several groups of a center merged."""
    return {merge["level"] for block in blocks for merge in block.get("merged_groups", [])}


def groups_only(table: CountTable, merged: set[str]) -> CountTable | None:
    """The rows of real groups (merged levels, of an endpoint or of a file, left out), or None when none is left."""
    kept = [
        table.select(group=label)
        for label in table.group_levels
        if label not in merged and not label.startswith(MERGED_PREFIX)
    ]
    return CountTable.combine(kept) if kept else None


def _comparisons(table: CountTable, endpoint: str, grouped: CountTable | None) -> dict[str, Any]:
    competing = endpoint in COMPETING_ENDPOINTS
    tests: dict[str, Any] = {}
    if competing and not np.any(table.status == 1):
        return tests
    name = "gray" if competing else "logrank"

    def run(counts: CountTable, stratified: bool) -> dict[str, Any]:
        if competing:
            return _test_json(gray_from_counts(counts, 1, stratified=stratified))
        return _test_json(logrank_from_counts(counts, stratified=stratified))

    if grouped is not None and len(grouped.group_levels) > 1:
        tests[f"{name}_groups"] = run(grouped, False)
        if len(grouped.strata_levels) > 1:
            tests[f"{name}_groups_stratified_by_center"] = run(grouped, True)
    if len(table.strata_levels) > 1:
        tests[f"{name}_centers"] = run(centers_as_groups(table), False)
    return tests


def _coarsening_statement(
    widest: float, band: float | None, incidence: float | None, withheld: int, merges: list[dict[str, Any]]
) -> str:
    missing = f" {withheld} center(s) released no counts for this endpoint (see their files)." if withheld else ""
    if merges:
        missing += " " + " ".join(
            f"Center {m['center']} released "
            + ("this endpoint ungrouped" if m["ungrouped"] else f"groups {', '.join(m['groups'])} merged")
            + " (some group had 1 to K-1 exits of one status): those patients are in the overall and per-center "
            "results, not in the groups' results or the tests across groups."
            for m in merges
        )
    if widest == 0.0:
        return "Exact times: the pooled estimates equal those of the pooled patient-level data." + missing
    text = (
        f"Times were released on coarsened grids (widest interval {widest:.4g} days). At each landmark the "
        f"Kaplan-Meier estimate (any event) from exact times lies within {band:.4g} of the pooled one, overall "
        "and in every group (all placements of the exits inside their intervals)."
    )
    if incidence is not None:
        text += " " + incidence_statement(incidence).replace("released", "pooled")
    return text + missing


def _pool_endpoint(endpoint: str, blocks: list[dict[str, Any]], landmarks: np.ndarray) -> dict[str, Any]:
    released = [block for block in blocks if "counts" in block]
    withheld = len(blocks) - len(released)
    if not released:
        return {"note": "no center released counts for this endpoint", "centers_withheld": withheld}
    pooled = CountTable.combine([table_from_json(block["counts"]) for block in released])
    grids = cell_grids_from_json([cell for block in released for cell in block["grid"]["cells"]])
    merges = [merge for block in released for merge in block.get("merged_groups", [])]
    grouped = groups_only(pooled, merged_levels(released))
    widest = max(float(block["effect"]["max_interval_days"]) for block in released)
    competing = endpoint in COMPETING_ENDPOINTS
    # The band is stated for the results given: overall and the real groups (merged levels have none).
    bounded = () if grouped is None or len(pooled.group_levels) < 2 else grouped.group_levels
    band = survival_band_width(pooled, grids, landmarks, bounded) if widest > 0.0 else 0.0
    incidence = (
        (incidence_band_width(pooled, grids, landmarks, 1, bounded) if widest > 0.0 else 0.0) if competing else None
    )
    coarsening = {
        "max_interval_days": widest,
        "landmark_months": [float(m) for m in landmarks / DAYS_PER_MONTH],
        "max_survival_band": band,
        "statement": _coarsening_statement(widest, band, incidence, withheld, merges),
    }
    if incidence is not None:
        coarsening["max_incidence_band"] = incidence
    split = grouped is not None and (len(grouped.group_levels) > 1 or bool(merges))
    return {
        "centers": list(pooled.strata_levels),
        "centers_withheld": withheld,
        "merged_groups": merges,
        "kind": "cumulative_incidence" if competing else "kaplan_meier",
        "overall": _curve_json(pooled, endpoint, None, landmarks),
        "groups": {label: _curve_json(pooled, endpoint, label, landmarks) for label in grouped.group_levels}
        if grouped is not None and split
        else {},
        "centers_as_groups": {
            label: _curve_json(centers_as_groups(pooled), endpoint, label, landmarks) for label in pooled.strata_levels
        },
        "tests": _comparisons(pooled, endpoint, grouped),
        "coarsening": coarsening,
    }


def _pool_counts(values: list[int | str]) -> dict[str, Any]:
    exact = [v for v in values if isinstance(v, int)]
    hidden = [v for v in values if isinstance(v, str)]
    bound = sum(int(v.lstrip("<")) - 1 for v in hidden)
    return {"low": sum(exact) + len(hidden), "high": sum(exact) + bound, "exact": not hidden}


def _pool_categorical(aggregates: list[dict[str, Any]], groups: list[str]) -> dict[str, Any]:
    sections: dict[str, Any] = {}
    for section in aggregates[0]["categorical"]:
        variables: dict[str, Any] = {}
        names = sorted({name for a in aggregates for name in a["categorical"].get(section, {})})
        for name in names:
            parts = [a["categorical"][section][name] for a in aggregates if name in a["categorical"].get(section, {})]
            levels = sorted({level for part in parts for level in part["levels"]})
            by_group = {}
            for group in groups:
                cells = {
                    level: _pool_counts([part["groups"].get(group, {}).get(level, 0) for part in parts])
                    for level in levels
                }
                total = sum(part["totals"].get(group, 0) for part in parts)
                for cell in cells.values():
                    if cell["exact"] and total:
                        ci = binomial_ci(cell["low"], total)
                        cell.update(n=cell["low"], proportion=ci.proportion, lower=ci.lower, upper=ci.upper)
                by_group[group] = {"total": total, "levels": cells}
            variables[name] = by_group
        sections[section] = variables
    return sections


def pool(aggregates: Sequence[dict[str, Any]], landmark_months: Sequence[float] = LANDMARK_MONTHS) -> dict[str, Any]:
    """Pooled results of center aggregates (each checked with `check_aggregate`); JSON-ready."""
    aggregates = list(aggregates)
    if not aggregates:
        raise UserError("pool: at least one aggregate file is needed")
    splits = {a["by"] for a in aggregates}
    if len(splits) > 1:
        raise UserError(f"pool: the aggregates are split by different variables {sorted(map(str, splits))}")
    seen: dict[str, int] = {}
    for index, content in enumerate(aggregates):
        for center in content["centers"]:
            if center in seen:
                raise UserError(f"pool: center {center!r} is in aggregates {seen[center] + 1} and {index + 1}")
            seen[center] = index
    landmarks = np.asarray(landmark_months, dtype=np.float64) * DAYS_PER_MONTH
    endpoints = sorted({name for a in aggregates for name in a["endpoints"]})
    groups = sorted({g for a in aggregates for g in a["groups"]})
    return {
        "schema": POOLED_SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "centers": sorted(seen),
        "by": aggregates[0]["by"],
        "groups": groups,
        "synthetic": all(a.get("synthetic") for a in aggregates),
        "min_cell": max(a["min_cell"] for a in aggregates),
        "landmark_months": [float(m) for m in landmark_months],
        "discloses": [a["discloses"] for a in aggregates],
        "endpoints": {
            name: _pool_endpoint(name, [a["endpoints"][name] for a in aggregates if name in a["endpoints"]], landmarks)
            for name in endpoints
        },
        "categorical": _pool_categorical(aggregates, groups),
    }
