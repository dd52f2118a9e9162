"""The cohort dashboard of a user's centers: aggregates only, computed as the report computes them.

`compute_dashboard(registry, query_rows)` derives the analysis dataset of the registry (the user's
centers, through `CenterScope`) and runs the report's own analyses (`blinareg.report.analyses.analyse`,
sections cohort, response, safety and outcomes, without comparisons or models): indication groups,
response and MRD response with exact Clopper-Pearson intervals, CRS/ICANS by grade, overall survival
(Kaplan-Meier) and cumulative incidence of relapse (death without relapse competing) are the report's
numbers by construction. Added here: accrual per year of first blinatumomab, data completeness per record
type and open data queries per center.

`DashboardCache` keeps the computed dashboard per (center set, registry change counter): the counter is
the id of the last audit row of a data change, and every import, edit, delete, restore and data-query
change writes one in its own transaction, so any write makes the next view compute afresh and repeated
views cost one indexed query.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from blinareg.records.models import RECORD_TYPES
from blinareg.records.registry import Registry, columns

__all__ = ["Dashboard", "compute_dashboard", "DashboardCache", "DASHBOARD_SECTIONS"]

DASHBOARD_SECTIONS = frozenset({"cohort", "response", "safety", "outcomes"})
DAYS_PER_MONTH = 365.25 / 12


@dataclass(frozen=True)
class RateRow:
    label: str
    x: int
    n: int
    proportion: float | None
    lower: float | None
    upper: float | None


@dataclass(frozen=True)
class GradeRow:
    grade: int
    n: int
    percent: float | None


@dataclass(frozen=True)
class CurveSummary:
    title: str
    kind: str  # "km" or "cif"
    n: int
    events: int
    months: tuple[float, ...]
    estimate: tuple[float, ...]
    lower: tuple[float, ...]
    upper: tuple[float, ...]
    landmarks: tuple[tuple[float, float | None, float | None, float | None], ...]  # months, estimate, lower, upper
    note: str | None = None


@dataclass(frozen=True)
class CompletenessRow:
    record_type: str
    records: int
    patients: int
    patients_percent: float | None
    cells_filled_percent: float | None  # cells holding a value
    cells_coded_percent: float | None  # cells holding a missing-data code (unknown, not done, ...)


@dataclass(frozen=True)
class Dashboard:
    n_patients: int
    treated: int  # patients with a first blinatumomab date
    accrual: tuple[tuple[int, int, int], ...]  # year, patients, cumulative
    indication: tuple[tuple[str, int, float | None], ...]  # level, n, percent
    indication_missing: int
    response: tuple[RateRow, ...]
    crs: tuple[GradeRow, ...]
    icans: tuple[GradeRow, ...]
    crs_any: RateRow | None
    icans_any: RateRow | None
    curves: tuple[CurveSummary, ...]
    completeness: tuple[CompletenessRow, ...]
    queries: tuple[tuple[str, int, int], ...]  # center, open, acknowledged
    data_cutoff: str | None
    computed_at: dt.datetime


def _rate(label: str, proportion: Any) -> RateRow:
    return RateRow(
        label, int(proportion.x), int(proportion.n), proportion.proportion, proportion.lower, proportion.upper
    )


def _grades(summary: Any) -> tuple[tuple[GradeRow, ...], RateRow]:
    rows = tuple(GradeRow(int(g.grade), int(g.n), g.percent) for g in summary.by_grade)
    return rows, _rate("any grade", summary.any_grade)


def _curve(curve_set: Any, summary: Any) -> CurveSummary | None:
    group = curve_set.groups[0] if curve_set.groups else None
    result = None if group is None else group.result
    landmarks = tuple(
        (float(lm.months), lm.estimate, lm.lower, lm.upper) for lm in (getattr(summary, "landmarks", None) or ())
    )
    if result is None:
        return CurveSummary(
            curve_set.title,
            curve_set.kind,
            int(summary.n),
            int(summary.events),
            (),
            (),
            (),
            (),
            landmarks,
            getattr(summary, "note", None) or (group.note if group is not None else None),
        )
    values = result.survival if curve_set.kind == "km" else result.estimate
    start = 1.0 if curve_set.kind == "km" else 0.0
    months = np.concatenate([[0.0], np.asarray(result.time, dtype=float) / DAYS_PER_MONTH])
    lower = np.nan_to_num(np.concatenate([[start], np.asarray(result.lower, dtype=float)]), nan=start)
    upper = np.nan_to_num(np.concatenate([[start], np.asarray(result.upper, dtype=float)]), nan=start)
    estimate = np.concatenate([[start], np.asarray(values, dtype=float)])
    return CurveSummary(
        curve_set.title,
        curve_set.kind,
        int(summary.n),
        int(summary.events),
        tuple(months.round(3).tolist()),
        tuple(estimate.tolist()),
        tuple(lower.tolist()),
        tuple(upper.tolist()),
        landmarks,
        getattr(summary, "note", None),
    )


def accrual_by_year(first_dates: pd.Series) -> tuple[tuple[int, int, int], ...]:
    """Patients per calendar year of first blinatumomab, every year from the first to the last, cumulated."""
    years = pd.to_datetime(first_dates).dropna().dt.year.astype(int)
    if years.empty:
        return ()
    counts = years.value_counts()
    out, total = [], 0
    for year in range(int(years.min()), int(years.max()) + 1):
        n = int(counts.get(year, 0))
        total += n
        out.append((year, n, total))
    return tuple(out)


def completeness(registry: Registry) -> tuple[CompletenessRow, ...]:
    """Per record type: records, patients with at least one (share of all patients), and of the record
    type's cells besides the key: the share holding a value and the share holding a missing-data code."""
    patients = registry["patient"]
    n_patients = len(patients)
    rows = []
    for record_type, model in RECORD_TYPES.items():
        if record_type in ("center", "patient"):
            continue
        frame = registry[record_type]
        cells = [c for c in columns(model) if c.name not in model.key]
        with_record = int(frame["patient_id"].nunique()) if len(frame) else 0
        total = len(frame) * len(cells)
        filled = sum(int(frame[c.name].notna().sum()) for c in cells) if total else 0
        coded = sum(
            int(frame[f"{c.name}_missing"].notna().sum())
            for c in cells
            if c.codes and f"{c.name}_missing" in frame.columns
        )
        rows.append(
            CompletenessRow(
                record_type,
                len(frame),
                with_record,
                100.0 * with_record / n_patients if n_patients else None,
                100.0 * filled / total if total else None,
                100.0 * coded / total if total else None,
            )
        )
    return tuple(rows)


def compute_dashboard(registry: Registry, queries: Sequence[tuple[str, int, int]] = ()) -> Dashboard:
    """The dashboard of `registry` (already limited to the user's centers); `queries`: per center the open
    and acknowledged data queries."""
    from blinareg.derive import derive
    from blinareg.report.analyses import analyse
    from blinareg.report.config import ReportConfig

    config = ReportConfig(sections=DASHBOARD_SECTIONS, comparisons=(), models=(), subgroups=())
    now = dt.datetime.now(dt.UTC)
    n_patients = len(registry["patient"])
    if n_patients == 0:
        return Dashboard(0, 0, (), (), 0, (), (), (), None, None, (), completeness(registry), tuple(queries), None, now)
    dataset = derive(registry, origin=config.origin, non_responder=config.non_responder)
    analysis = analyse(dataset, config)
    results = analysis.results
    cohort, response, safety, outcomes = (
        _overall(results.cohort),
        _overall(results.response),
        _overall(results.safety),
        results.outcomes,
    )
    indication: tuple[tuple[str, int, float | None], ...] = ()
    indication_missing = 0
    if cohort is not None:
        counts = cohort.indication_group
        indication = tuple((str(level.level), int(level.n), level.percent) for level in counts.levels)
        indication_missing = int(counts.missing)
    rates: tuple[RateRow, ...] = ()
    if response is not None:
        rates = (
            _rate("CR/CRh/CRi (best response)", response.cr_achieved),
            _rate("CR/CRh/CRi after cycle 1", response.cr_after_cycle1),
            _rate("Complete MRD response", response.complete_mrd_response),
            _rate("MRD negative after cycle 1, flow", response.mrd_negative["after_cycle1"].flow),
            _rate("MRD negative after cycle 1, PCR", response.mrd_negative["after_cycle1"].pcr),
            _rate("MRD negative (best), flow", response.mrd_negative["best"].flow),
            _rate("MRD negative (best), PCR", response.mrd_negative["best"].pcr),
        )
    crs: tuple[GradeRow, ...] = ()
    icans: tuple[GradeRow, ...] = ()
    crs_any = icans_any = None
    if safety is not None:
        crs, crs_any = _grades(safety.crs_max_grade)
        icans, icans_any = _grades(safety.icans_max_grade)
    curves = []
    if outcomes is not None:
        for endpoint in ("OS", "CIR"):
            curve_set = analysis.curves.get(f"{endpoint.lower()}_overall")
            summary = outcomes.overall.get(endpoint)
            if curve_set is not None and summary is not None:
                found = _curve(curve_set, summary)
                if found is not None:
                    curves.append(found)
    first = dataset.patients["first_blinatumomab_date"]
    cutoff = dataset.metadata.get("data_cutoff")
    return Dashboard(
        n_patients=n_patients,
        treated=int(first.notna().sum()),
        accrual=accrual_by_year(first),
        indication=indication,
        indication_missing=indication_missing,
        response=rates,
        crs=crs,
        icans=icans,
        crs_any=crs_any,
        icans_any=icans_any,
        curves=tuple(curves),
        completeness=completeness(registry),
        queries=tuple(queries),
        data_cutoff=None if cutoff is None else str(cutoff)[:10],
        computed_at=now,
    )


def _overall(grouped: Any) -> Any:
    """The overall result of a report section (None when the section is off or has no patients)."""
    if grouped is None:
        return None
    overall = getattr(grouped, "overall", grouped)
    return None if getattr(overall, "note", None) == "no patients" and not hasattr(overall, "cr_achieved") else overall


class DashboardCache:
    """Computed dashboards (or any value computed from them) by (center set, change counter), least
    recently used first out. Each server process keeps its own.

    One computation per key at a time: concurrent views of a stale dashboard wait for the one computing
    it instead of each computing it again."""

    def __init__(self, size: int = 32) -> None:
        self._size = size
        self._entries: OrderedDict[tuple[frozenset[str], int], Any] = OrderedDict()
        self._lock = threading.Lock()
        self._computing: dict[tuple[frozenset[str], int], threading.Lock] = {}

    def get(self, centers: frozenset[str], counter: int, compute: Callable[[], Any]) -> Any:
        key = (centers, counter)
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
                return found
            key_lock = self._computing.setdefault(key, threading.Lock())
        with key_lock:
            with self._lock:
                found = self._entries.get(key)
            if found is not None:
                return found
            dashboard = compute()
            with self._lock:
                # Older counters of the same centers are stale for good: drop them.
                for old in [k for k in self._entries if k[0] == centers and k[1] < counter]:
                    del self._entries[old]
                self._entries[key] = dashboard
                while len(self._entries) > self._size:
                    self._entries.popitem(last=False)
                self._computing.pop(key, None)
            return dashboard
