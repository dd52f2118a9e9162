"""Count-based estimation: the non-parametric estimators finished from per-time counts.

Kaplan-Meier, Aalen-Johansen, the log-rank test and Gray's test need only, per stratum and group,
how many subjects leave the risk set at each distinct time with each status (0 = censored,
1..K = event cause). `CountTable` holds exactly that, in long form, so the counting can happen
where the data is (NumPy here, a SQL ``GROUP BY stratum, grp, time, status`` in a database, one
file per center in a federated analysis) and the estimate is finished from the counts.

The finishing functions build the same `exit_table` the patient-level estimators build and call the
same finishing code (`finish_kaplan_meier`, `finish_cumulative_incidence`, `stratum_scores`,
`gray_stratum`, ...), so results equal the patient-level ones and come in the same result types.

Not supported from counts: delayed entry (the risk set at t also needs the entries before t, per
subject pair of times, which a table of exits does not hold) and case weights (counts are whole
numbers). Both raise `SurvivalDataError`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from blinareg.stats._checks import (
    SurvivalDataError,
    as_labels,
    check_choice,
    check_conf_level,
    check_rho,
    check_survival_data,
)
from blinareg.stats._competing_risks import (
    CONF_TYPES as CIF_CONF_TYPES,
)
from blinareg.stats._competing_risks import (
    CumulativeIncidenceResult,
    GrayTestResult,
    finish_cumulative_incidence,
    finish_gray_test,
    gray_stratum,
)
from blinareg.stats._kaplan_meier import CONF_TYPES as KM_CONF_TYPES
from blinareg.stats._kaplan_meier import KaplanMeierResult, finish_kaplan_meier
from blinareg.stats._logrank import LogrankResult, finish_logrank, stratum_scores
from blinareg.stats._product_limit import product_limit_from_exit_table
from blinareg.stats._results import read_only
from blinareg.stats._tabulate import ExitTable, exit_table_from_counts, run_starts

__all__ = [
    "CountTable",
    "cumulative_incidence_from_counts",
    "gray_from_counts",
    "kaplan_meier_from_counts",
    "logrank_from_counts",
]

# The level of a table without groups or strata.
WHOLE = "all"
_FRAME_COLUMNS = ("stratum", "group", "time", "status", "n")


def _fail(name: str, message: str) -> SurvivalDataError:
    return SurvivalDataError(f"{name}: {message}")


def _label_text(levels: Any) -> tuple[str, ...]:
    return tuple(str(level) for level in levels)


@dataclass(frozen=True)
class CountTable:
    """Exits per (stratum, group, time, status), in long form: one row per key with n > 0.

    stratum, group: int64 codes into `strata_levels` / `group_levels` (string labels; a table
        without strata or groups has the single level "all").
    time: float64, finite, >= 0. status: int64, 0 = censored, 1..n_causes = event cause.
    n: int64 number of subjects, > 0.
    Rows are sorted by (stratum, group, time, status) and keys are unique; every level is used.
    Construction validates, merges duplicate keys, drops n = 0 rows and unused levels; the arrays
    are read-only.
    """

    stratum: np.ndarray
    group: np.ndarray
    time: np.ndarray
    status: np.ndarray
    n: np.ndarray
    strata_levels: tuple[str, ...] = (WHOLE,)
    group_levels: tuple[str, ...] = (WHOLE,)
    n_causes: int = 1

    def __post_init__(self) -> None:
        time = np.asarray(self.time, dtype=np.float64)
        size = time.shape[0]
        columns = {}
        for name in ("stratum", "group", "status", "n"):
            values = np.asarray(getattr(self, name))
            if values.shape != (size,):
                raise _fail(name, f"has shape {values.shape}, but time has {size} rows")
            if values.size and values.dtype.kind == "f" and not np.array_equal(values, np.floor(values)):
                raise _fail(name, "must hold whole numbers")
            columns[name] = values.astype(np.int64)
        if not np.isfinite(time).all() or (time < 0).any():
            bad = np.flatnonzero(~np.isfinite(time) | (time < 0))
            raise _fail("time", f"{bad.size} values are not finite and >= 0 (first at row {bad[0]}: {time[bad[0]]})")
        n_causes = int(self.n_causes)
        limits = {"stratum": len(self.strata_levels), "group": len(self.group_levels), "status": n_causes + 1}
        for name, limit in limits.items():
            outside = (columns[name] < 0) | (columns[name] >= limit)
            if outside.any():
                row = int(np.flatnonzero(outside)[0])
                raise _fail(name, f"code {columns[name][row]} at row {row} is outside 0..{limit - 1}")
        negative = columns["n"] < 0
        if negative.any():
            row = int(np.flatnonzero(negative)[0])
            raise _fail("n", f"count {columns['n'][row]} at row {row} is negative")
        stratum, group, time, status, n = _merge_keys(
            columns["stratum"], columns["group"], time + 0.0, columns["status"], columns["n"]
        )
        stratum, strata_levels = _drop_unused(stratum, self.strata_levels)
        group, group_levels = _drop_unused(group, self.group_levels)
        for name, value in (
            ("stratum", stratum),
            ("group", group),
            ("time", time),
            ("status", status),
            ("n", n),
        ):
            object.__setattr__(self, name, read_only(value))
        object.__setattr__(self, "strata_levels", strata_levels)
        object.__setattr__(self, "group_levels", group_levels)
        object.__setattr__(self, "n_causes", n_causes)

    @classmethod
    def from_arrays(
        cls, time: Any, status: Any, *, group: Any = None, strata: Any = None, entry: Any = None
    ) -> CountTable:
        """Count patient-level data (validated as the estimators validate it; status 0..K).

        Levels are the labels as text, in the order the estimators sort the original labels.
        `entry` (delayed entry) is refused: it cannot be finished from counts.
        """
        if entry is not None:
            raise _fail(
                "entry",
                "delayed entry (left truncation) is not supported from counts: the risk set needs each "
                "subject's entry time; use the patient-level estimator with entry=",
            )
        data = check_survival_data(time, status, group=group, strata=strata, competing=True)
        zeros = np.zeros(data.n, dtype=np.int64)
        return cls(
            stratum=zeros if data.strata is None else data.strata,
            group=zeros if data.group is None else data.group,
            time=data.time,
            status=data.event,
            n=np.ones(data.n, dtype=np.int64),
            strata_levels=(WHOLE,) if data.strata_levels is None else _label_text(data.strata_levels),
            group_levels=(WHOLE,) if data.group_levels is None else _label_text(data.group_levels),
            n_causes=max(1, int(data.event.max())),
        )

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> CountTable:
        """From a frame with columns time, status, n and optionally stratum, group (any labels).

        This is what ``SELECT stratum, grp AS "group", time, status, count(*) AS n ... GROUP BY ...``
        returns. Labels are kept as text, levels sorted.
        """
        missing = [name for name in ("time", "status", "n") if name not in frame.columns]
        if missing:
            raise _fail("frame", f"missing columns {missing}; expected {list(_FRAME_COLUMNS)}")
        size = len(frame)
        codes = {}
        levels = {}
        for name in ("stratum", "group"):
            if name in frame.columns:
                labels = frame[name]
                if labels.isna().any():
                    row = int(np.flatnonzero(labels.isna().to_numpy())[0])
                    raise _fail(name, f"{int(labels.isna().sum())} labels are missing (first at row {row})")
                codes[name], found = as_labels(labels.astype(str).to_numpy(), name)
                levels[name] = _label_text(found)
            else:
                codes[name], levels[name] = np.zeros(size, dtype=np.int64), (WHOLE,)
        for name in ("time", "status", "n"):
            if frame[name].isna().any():
                row = int(np.flatnonzero(frame[name].isna().to_numpy())[0])
                raise _fail(name, f"value missing at row {row}")
        status = frame["status"].to_numpy()
        return cls(
            stratum=codes["stratum"],
            group=codes["group"],
            time=frame["time"].to_numpy(dtype=np.float64),
            status=status,
            n=frame["n"].to_numpy(),
            strata_levels=levels["stratum"],
            group_levels=levels["group"],
            n_causes=max(1, int(np.max(status, initial=0))),
        )

    @classmethod
    def combine(cls, tables: Sequence[CountTable]) -> CountTable:
        """Pool tables: counts of identical (stratum, group, time, status) keys are summed.

        Levels are matched by label; when all tables have the same levels their order is kept,
        otherwise the union is sorted.
        """
        tables = list(tables)
        if not tables:
            raise _fail("tables", "at least one table is needed")

        def union(name: str) -> tuple[str, ...]:
            found = [getattr(table, name) for table in tables]
            return found[0] if all(levels == found[0] for levels in found) else tuple(sorted(set().union(*found)))

        strata_levels, group_levels = union("strata_levels"), union("group_levels")
        stratum_index = {label: i for i, label in enumerate(strata_levels)}
        group_index = {label: i for i, label in enumerate(group_levels)}

        def recode(codes: np.ndarray, levels: tuple[str, ...], index: dict[str, int]) -> np.ndarray:
            return np.take(np.array([index[label] for label in levels], dtype=np.int64), codes)

        return cls(
            stratum=np.concatenate([recode(t.stratum, t.strata_levels, stratum_index) for t in tables]),
            group=np.concatenate([recode(t.group, t.group_levels, group_index) for t in tables]),
            time=np.concatenate([t.time for t in tables]),
            status=np.concatenate([t.status for t in tables]),
            n=np.concatenate([t.n for t in tables]),
            strata_levels=strata_levels,
            group_levels=group_levels,
            n_causes=max(t.n_causes for t in tables),
        )

    def coarsen(self, grid: Any) -> CountTable:
        """Counts on a coarser time grid: each time moves to the first grid point at or after it.

        `grid`: increasing finite cut points >= 0 whose last point is >= every time. A subject
        leaving in (g_{k-1}, g_k] is counted at g_k (events still before censorings there).
        """
        points = np.asarray(grid, dtype=np.float64)
        if points.ndim != 1 or points.size == 0 or not np.isfinite(points).all() or (np.diff(points) <= 0).any():
            raise _fail("grid", "must be a non-empty, strictly increasing sequence of finite times")
        if self.time.size and self.time.max() > points[-1]:
            raise _fail("grid", f"ends at {points[-1]}, before the last time {self.time.max()}")
        return self._replace(time=points[np.searchsorted(points, self.time, side="left")])

    def select(self, *, group: str | None = None, stratum: str | None = None) -> CountTable:
        """The rows of one group and/or stratum (by label)."""
        keep = np.ones(self.n.shape[0], dtype=bool)
        if group is not None:
            keep &= self.group == _level_code(self.group_levels, group, "group")
        if stratum is not None:
            keep &= self.stratum == _level_code(self.strata_levels, stratum, "stratum")
        return self._replace(keep=keep)

    def with_times(self, time: Any) -> CountTable:
        """The same counts with each row's time replaced (rows landing on the same key are merged)."""
        return self._replace(time=np.asarray(time, dtype=np.float64))

    def without_strata(self) -> CountTable:
        """The same counts with the strata merged into one."""
        return self._replace(stratum=np.zeros_like(self.stratum), strata_levels=(WHOLE,))

    def to_frame(self) -> pd.DataFrame:
        """Columns stratum, group (labels), time, status, n: the inverse of `from_frame`."""
        return pd.DataFrame(
            {
                "stratum": np.asarray(self.strata_levels, dtype=object)[self.stratum],
                "group": np.asarray(self.group_levels, dtype=object)[self.group],
                "time": self.time,
                "status": self.status,
                "n": self.n,
            }
        )

    @property
    def total(self) -> int:
        return int(self.n.sum())

    def _replace(self, *, keep: np.ndarray | None = None, **changes: Any) -> CountTable:
        arrays: dict[str, np.ndarray] = {
            name: changes.pop(name, getattr(self, name)) for name in ("stratum", "group", "time", "status", "n")
        }
        if keep is not None:
            arrays = {name: values[keep] for name, values in arrays.items()}
        return CountTable(
            **arrays,
            strata_levels=changes.pop("strata_levels", self.strata_levels),
            group_levels=changes.pop("group_levels", self.group_levels),
            n_causes=self.n_causes,
        )


def _merge_keys(
    stratum: np.ndarray, group: np.ndarray, time: np.ndarray, status: np.ndarray, n: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Rows sorted by key, duplicate keys summed, n = 0 rows dropped."""
    order = np.lexsort((status, time, group, stratum))
    stratum, group, time, status, n = stratum[order], group[order], time[order], status[order], n[order]
    size = n.shape[0]
    if size:
        starts = np.flatnonzero(run_starts(stratum, group, time, status))
        n = np.add.reduceat(n, starts)
        stratum, group, time, status = stratum[starts], group[starts], time[starts], status[starts]
    present = n > 0
    return stratum[present], group[present], time[present], status[present], n[present]


def _drop_unused(codes: np.ndarray, levels: Iterable[str]) -> tuple[np.ndarray, tuple[str, ...]]:
    labels = tuple(str(level) for level in levels)
    if len(set(labels)) != len(labels):
        raise _fail("levels", f"labels must be distinct, got {list(labels)}")
    used = np.zeros(len(labels), dtype=bool)
    used[codes] = True
    if used.all() or not labels:
        return codes, labels
    if not used.any():  # an empty table keeps its levels
        return codes, labels
    lookup = np.cumsum(used) - 1
    return lookup[codes], tuple(label for label, kept in zip(labels, used, strict=True) if kept)


def _level_code(levels: tuple[str, ...], label: Any, name: str) -> int:
    try:
        return levels.index(str(label))
    except ValueError:
        raise _fail(name, f"{label!r} is not among the levels {list(levels)}") from None


def _exit_table(
    table: CountTable,
    kind_of_status: np.ndarray,
    n_kinds: int,
    *,
    by_group: bool,
    rows: np.ndarray | None = None,
    grid: bool = False,
    group_events: bool = True,
    all_rows: bool = False,
    spare_rows: int = 0,
) -> ExitTable:
    """The `exit_table` of (a subset of) the counts, codes ``kind * n_groups + group``."""
    time, status, n = table.time, table.status, table.n
    group = table.group
    if rows is not None:
        time, status, n, group = time[rows], status[rows], n[rows], group[rows]
    if n.size == 0:
        raise _fail("table", "has no subjects to estimate from")
    n_groups = len(table.group_levels) if by_group else 1
    code = kind_of_status[status] * n_groups
    if by_group:
        code += group
    n_codes = (n_kinds + 1) * n_groups
    distinct, row = np.unique(time, return_inverse=True)
    cells = np.bincount(
        row.reshape(-1) * n_codes + code, weights=n.astype(np.float64), minlength=distinct.shape[0] * n_codes
    )
    exits: ExitTable = exit_table_from_counts(
        distinct + 0.0, cells.reshape(-1, n_codes), n_groups, n_kinds, grid, group_events, all_rows, spare_rows
    )
    return exits


def _cause_kinds(table: CountTable, cause: Any, rows: np.ndarray | None) -> tuple[int, np.ndarray]:
    """Checked cause code and the status -> kind map: 0 this cause, 1 another cause, 2 censored."""
    if isinstance(cause, (bool, np.bool_)) or not isinstance(cause, (int, np.integer)) or int(cause) < 1:
        raise _fail("cause", f"must be an integer event code >= 1 (0 means censored), got {cause!r}")
    code = int(cause)
    status = table.status if rows is None else table.status[rows]
    if not np.any(status == code):
        causes = sorted(int(c) for c in np.unique(status) if c > 0)
        raise _fail("cause", f"code {code} does not occur in the counts (causes present: {causes or 'none'})")
    kinds = np.ones(table.n_causes + 1, dtype=np.int64)
    kinds[0] = 2
    kinds[code] = 0
    return code, kinds


def _group_rows(table: CountTable, group: str | None) -> np.ndarray | None:
    return None if group is None else table.group == _level_code(table.group_levels, group, "group")


def kaplan_meier_from_counts(
    table: CountTable, *, group: str | None = None, conf_type: str = "log-log", conf_level: float = 0.95
) -> KaplanMeierResult:
    """`kaplan_meier` from counts: of one group (by label) or of the whole table (groups and strata pooled).

    Any event cause counts as the event (status > 0), as for overall or event-free survival.
    """
    conf_type = check_choice(conf_type, "conf_type", KM_CONF_TYPES)
    conf_level = check_conf_level(conf_level)
    kinds = np.zeros(table.n_causes + 1, dtype=np.int64)
    kinds[0] = 1  # kind 0 event, 1 censored
    exits = _exit_table(
        table, kinds, 1, by_group=False, rows=_group_rows(table, group), grid=True, all_rows=True, spare_rows=4
    )
    return finish_kaplan_meier(product_limit_from_exit_table(exits), conf_type, conf_level)


def cumulative_incidence_from_counts(
    table: CountTable,
    cause: int = 1,
    *,
    group: str | None = None,
    conf_type: str = "log-log",
    conf_level: float = 0.95,
) -> CumulativeIncidenceResult:
    """`cumulative_incidence` from counts, of one group (by label) or of the whole table."""
    conf_type = check_choice(conf_type, "conf_type", CIF_CONF_TYPES)
    conf_level = check_conf_level(conf_level)
    rows = _group_rows(table, group)
    cause_code, kinds = _cause_kinds(table, cause, rows)
    exits = _exit_table(table, kinds, 2, by_group=False, rows=rows, grid=True)
    return finish_cumulative_incidence(exits, cause_code, conf_type, conf_level)


def _strata_rows(table: CountTable, stratified: bool) -> list[np.ndarray | None]:
    if not stratified or len(table.strata_levels) == 1:
        return [None]
    return [table.stratum == s for s in range(len(table.strata_levels))]


def _require_groups(table: CountTable) -> np.ndarray:
    if len(table.group_levels) < 2:
        raise _fail("group", f"needs at least two distinct groups to compare, got {len(table.group_levels)}")
    return np.asarray(table.group_levels)


def logrank_from_counts(table: CountTable, *, rho: float = 0, stratified: bool = True) -> LogrankResult:
    """`logrank_test` from counts across the table's groups; stratified by its strata unless `stratified=False`.

    Any event cause counts as the event (status > 0).
    """
    rho = check_rho(rho, minimum=0)
    groups = _require_groups(table)
    n_groups = len(groups)
    kinds = np.zeros(table.n_causes + 1, dtype=np.int64)
    kinds[0] = 1
    observed = np.zeros(n_groups)
    expected = np.zeros(n_groups)
    variance = np.zeros((n_groups, n_groups))
    for rows in _strata_rows(table, stratified):
        exits = _exit_table(table, kinds, 1, by_group=True, rows=rows, group_events=rho != 0)
        o, e, v = stratum_scores(exits, n_groups, rho)
        observed += o
        expected += e
        variance += v
    return finish_logrank(observed, expected, variance, groups, rho)


def gray_from_counts(table: CountTable, cause: int = 1, *, rho: float = 0, stratified: bool = True) -> GrayTestResult:
    """`gray_test` from counts across the table's groups; stratified by its strata unless `stratified=False`."""
    rho = check_rho(rho)
    groups = _require_groups(table)
    n_groups = len(groups)
    cause_code, kinds = _cause_kinds(table, cause, None)
    score = np.zeros(n_groups - 1)
    variance = np.zeros((n_groups - 1, n_groups - 1))
    for rows in _strata_rows(table, stratified):
        s, v = gray_stratum(_exit_table(table, kinds, 2, by_group=True, rows=rows), n_groups, rho)
        score += s
        variance += v
    return finish_gray_test(score, variance, cause_code, groups, rho)
