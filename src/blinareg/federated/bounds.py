"""What coarsening the time grid does to the Kaplan-Meier estimate, as a computed band.

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
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from blinareg.stats import CountTable, kaplan_meier_from_counts

__all__ = ["CellGrids", "GridIntervals", "survival_band", "survival_band_width", "cell_grids_from_json"]

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


def survival_band(
    table: CountTable, grids: CellGrids, times: Sequence[float] | np.ndarray, group: str | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(S_low, S_high) of the Kaplan-Meier estimate (any event) at `times`, of one group or of all."""
    start, inexact = _interval_starts(table, grids)
    end = table.time
    event = table.status > 0
    lower, upper = [], []
    for t in np.atleast_1d(np.asarray(times, dtype=np.float64)):
        ended = inexact & (end <= t)
        containing = inexact & (start <= t) & (t < end)
        high = np.where(ended & event, start, end)
        low = np.where((ended | containing) & ~event, start, end)
        low = np.where(containing & event, t, low)
        upper.append(kaplan_meier_from_counts(table.with_times(high), group=group).at([t]).survival[0])
        lower.append(kaplan_meier_from_counts(table.with_times(low), group=group).at([t]).survival[0])
    return np.asarray(lower), np.asarray(upper)


def survival_band_width(table: CountTable, grids: CellGrids, times: Sequence[float] | np.ndarray) -> float:
    """The widest S_high - S_low at `times`, over the whole table and each of its groups."""
    groups: list[str | None] = [None]
    if len(table.group_levels) > 1:
        groups.extend(table.group_levels)
    widest = 0.0
    for group in groups:
        lower, upper = survival_band(table, grids, times, group)
        widest = max(widest, float(np.max(upper - lower, initial=0.0)))
    return widest
