"""What coarsening the time grid does to the Kaplan-Meier estimate and the cumulative incidence, as bands.

Each (center, group, status) cell of an aggregate is released on its own grid: a count at cut point
g_k stands for exits anywhere in its interval ([0, g_1] for the first, (g_{k-1}, g_k] after). The
Kaplan-Meier estimate at a time t is S(t) = prod (1 - 1/r_e) over the events e <= t (ties taken one
at a time, which gives the same product), r_e the number still in follow-up at e. Over every
placement of the exits inside their intervals:

- S(t) is highest when the events of intervals ending by t sit at their interval's start and the
  censorings at its end (every r_e as large as possible), and the exits of intervals containing t
  (start <= t < end) come after t (their events do not count; their censorings are in every r_e);
- S(t) is lowest when the censorings of intervals starting by t sit at their start, the events of
  intervals ending by t at their end, and the events of intervals containing t at t itself (they all
  count, with r_e as small as possible).

So the estimate from the exact times, and the one from the released counts, lie in
[S_low(t), S_high(t)], computed here per time t from the counts and the grids only. Intervals holding
a single original time released as itself are exact and stay where they are.

The cumulative incidence of cause 1 (Aalen-Johansen) has three kinds of exit, and no single placement is
extreme for it (a censoring should come after the competing events it may follow and before the cause-1
events it may precede, which one placement cannot always give). Its band rests instead on the identity

    F1(t) = (1/n) sum over cause-1 exits i with x_i <= t of 1 / G(x_i-),

where n is the number of patients and G the Kaplan-Meier estimate of the censoring distribution (the
censorings are its events; at a tied time the events leave first, as the Aalen-Johansen estimator takes
them). G is a Kaplan-Meier estimate, so the band above bounds it: G_low(q) <= G(q) <= G_high(q) at any q,
with the censorings in the role of the events. A cause-1 exit of interval (a, b] has a < x_i <= b (an
exact interval: x_i = b; the first interval: 0 <= x_i), so over every placement

    F1(t) <= (1/n) sum over cause-1 exits that can lie by t (start <= t) of 1 / G_low(min(b, t)-),
    F1(t) >= (1/n) sum over cause-1 exits that must lie by t (b <= t) of 1 / G_high(a),

(G_X(x-) >= G_X(min(b, t)-) as G never rises; G_X(x-) <= G_X(a) as x > a; "q-" is evaluated at the float
just below q, where no exit can lie in between). `incidence_band` computes these.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from blinareg.stats import CountTable, kaplan_meier_from_counts

__all__ = [
    "CellGrids",
    "GridIntervals",
    "cell_grids_from_json",
    "incidence_band",
    "incidence_band_width",
    "survival_band",
    "survival_band_width",
]

# (cut points, exact flags) of one cell's released grid.
GridIntervals = tuple[np.ndarray, np.ndarray]
# (stratum label, group label, status) -> its grid.
CellGrids = Mapping[tuple[str, str, int], GridIntervals]


def cell_grids_from_json(blocks: Sequence[Mapping[str, object]]) -> dict[tuple[str, str, int], GridIntervals]:
    """The grids of an endpoint's "grids" list (see `blinareg.federated.aggregate`)."""
    grids = {}
    for block in blocks:
        key = (str(block["stratum"]), str(block["group"]), int(block["status"]))  # type: ignore[call-overload]
        grids[key] = (
            np.asarray(block["cut_points"], dtype=np.float64),
            np.asarray(block["interval_exact"], dtype=bool),
        )
    return grids


def _interval_starts(table: CountTable, grids: CellGrids) -> tuple[np.ndarray, np.ndarray]:
    """Per row: the start of its interval (0 for the first) and whether the interval is inexact."""
    start = np.empty(table.time.shape[0])
    inexact = np.empty(table.time.shape[0], dtype=bool)
    for row in range(table.time.shape[0]):
        key = (
            table.strata_levels[table.stratum[row]],
            table.group_levels[table.group[row]],
            int(table.status[row]),
        )
        cut_points, exact = grids[key]
        index = int(np.searchsorted(cut_points, table.time[row]))
        start[row] = 0.0 if index == 0 else float(np.nextafter(cut_points[index - 1], np.inf))
        inexact[row] = not exact[index]
    return start, inexact


def _extreme_placements(
    start: np.ndarray, end: np.ndarray, inexact: np.ndarray, event: np.ndarray, t: float
) -> tuple[np.ndarray, np.ndarray]:
    """Exit times placing a Kaplan-Meier estimate of `event` exits at its highest and its lowest at t."""
    ended = inexact & (end <= t)
    containing = inexact & (start <= t) & (t < end)
    high = np.where(ended & event, start, end)
    low = np.where((ended | containing) & ~event, start, end)
    low = np.where(containing & event, t, low)
    return high, low


def survival_band(
    table: CountTable, grids: CellGrids, times: Sequence[float] | np.ndarray, group: str | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(S_low, S_high) of the Kaplan-Meier estimate (any event) at `times`, of one group or of all."""
    start, inexact = _interval_starts(table, grids)
    end = table.time
    event = table.status > 0
    lower, upper = [], []
    for t in np.atleast_1d(np.asarray(times, dtype=np.float64)):
        high, low = _extreme_placements(start, end, inexact, event, t)
        upper.append(kaplan_meier_from_counts(table.with_times(high), group=group).at([t]).survival[0])
        lower.append(kaplan_meier_from_counts(table.with_times(low), group=group).at([t]).survival[0])
    return np.asarray(lower), np.asarray(upper)


def _groups_to_bound(table: CountTable, groups: Sequence[str] | None) -> list[str | None]:
    """The whole table (None) and `groups` (default: every group of a table with several)."""
    if groups is None:
        groups = table.group_levels if len(table.group_levels) > 1 else ()
    return [None, *groups]


def survival_band_width(
    table: CountTable, grids: CellGrids, times: Sequence[float] | np.ndarray, groups: Sequence[str] | None = None
) -> float:
    """The widest S_high - S_low at `times`, over the whole table and each group (`groups`: only those)."""
    widest = 0.0
    for group in _groups_to_bound(table, groups):
        lower, upper = survival_band(table, grids, times, group)
        widest = max(widest, float(np.max(upper - lower, initial=0.0)))
    return widest


def _censoring_survival(time: np.ndarray, censored: np.ndarray, n: np.ndarray, at: float) -> float:
    """G(at): Kaplan-Meier of the censorings, the other exits at a tied time leaving first."""
    if at < 0.0 or time.size == 0:
        return 1.0
    points, index = np.unique(time, return_inverse=True)
    index = index.reshape(-1)
    censorings = np.bincount(index, weights=np.where(censored, n, 0), minlength=points.size)
    others = np.bincount(index, weights=np.where(censored, 0, n), minlength=points.size)
    at_risk = np.cumsum((censorings + others)[::-1])[::-1]
    remaining = at_risk - others
    factor = np.where(remaining > 0, 1.0 - censorings / np.where(remaining > 0, remaining, 1.0), 1.0)
    return float(np.prod(factor[points <= at]))


def _below(value: float) -> float:
    """The float just below `value`: G there is G(value-), as no exit can lie in between."""
    return float(np.nextafter(value, -np.inf))


def _inverse(value: float) -> float:
    return float("inf") if value <= 0.0 else 1.0 / value


def incidence_band(
    table: CountTable,
    grids: CellGrids,
    times: Sequence[float] | np.ndarray,
    cause: int = 1,
    group: str | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(F_low, F_high) of the cumulative incidence of `cause` at `times`, of one group or of all (module doc)."""
    start, inexact = _interval_starts(table, grids)
    rows = np.ones(table.n.shape[0], dtype=bool) if group is None else table.group == table.group_levels.index(group)
    start, inexact = start[rows], inexact[rows]
    end, status, n = table.time[rows], table.status[rows], table.n[rows].astype(np.float64)
    start = np.where(inexact, start, end)  # an exact interval is its one time
    censored = status == 0
    total = float(n.sum())
    times = np.atleast_1d(np.asarray(times, dtype=np.float64))
    if total == 0.0:
        return np.zeros(times.size), np.zeros(times.size)
    cause_rows = np.flatnonzero(status == cause)

    def g_low(q: float) -> float:
        return _censoring_survival(_extreme_placements(start, end, inexact, censored, q)[1], censored, n, q)

    def g_high(q: float) -> float:
        return _censoring_survival(_extreme_placements(start, end, inexact, censored, q)[0], censored, n, q)

    # G_high at each cause-1 exit's earliest time, and G_low at its latest, do not depend on t: computed once.
    # (G = 0 only once every patient has left: no later exit can be an event then.)
    highs = {value: _inverse(g_high(_below(value))) for value in np.unique(start[cause_rows])}
    lows = {value: _inverse(g_low(_below(value))) for value in np.unique(end[cause_rows])}
    lower, upper = [], []
    for t in times:
        at_t = _inverse(g_low(_below(t)))
        low = sum(n[i] * highs[start[i]] for i in cause_rows if end[i] <= t)
        high = sum(n[i] * (lows[end[i]] if end[i] <= t else at_t) for i in cause_rows if start[i] <= t)
        lower.append(min(low / total, 1.0))
        upper.append(min(high / total, 1.0))
    return np.asarray(lower), np.asarray(upper)


def incidence_band_width(
    table: CountTable,
    grids: CellGrids,
    times: Sequence[float] | np.ndarray,
    cause: int = 1,
    groups: Sequence[str] | None = None,
) -> float:
    """The widest F_high - F_low of `cause` at `times`, over the whole table and each group (`groups`: only those)."""
    widest = 0.0
    for group in _groups_to_bound(table, groups):
        lower, upper = incidence_band(table, grids, times, cause, group)
        widest = max(widest, float(np.max(upper - lower, initial=0.0)))
    return widest
