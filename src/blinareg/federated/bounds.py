"""What coarsening the time grid does to the Kaplan-Meier estimate, as a computed band.

A released count at cut point g_k stands for exits anywhere in its interval (g_{k-1}, g_k]. At a time
t that is a cut point of every center's grid, the Kaplan-Meier estimate S(t) = prod (1 - 1/r_e) over
the events e <= t (ties taken one at a time, which gives the same product) depends only on how many
exits precede each event. That number is smallest, for every event at once, when each interval's
events sit at its start and its censorings at its end, and largest the other way round. So the
estimate from the exact times lies between the two estimates computed from those two placements:

    S_low(t) <= S_exact(t) <= S_high(t)

and so does the estimate from the released counts (which puts every exit at its interval's end,
events before censorings). Intervals holding a single original time released as itself are exact
and stay where they are. The band S_high - S_low is what the aggregate and the pooled report state.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from blinareg.stats import CountTable, kaplan_meier_from_counts

__all__ = ["GridIntervals", "interval_band", "survival_band", "survival_band_width"]

# (cut points, lower ends, exact flags) of one released grid, all of the same length.
GridIntervals = tuple[np.ndarray, np.ndarray, np.ndarray]


def _placements(table: CountTable, intervals: GridIntervals) -> tuple[CountTable, CountTable]:
    cut_points, lower_ends, exact = intervals
    index = np.searchsorted(cut_points, table.time)
    inexact = ~np.asarray(exact, dtype=bool)[index]
    # The first interval is [0, g_1]; the others (g_{k-1}, g_k].
    start = np.where(index == 0, 0.0, np.nextafter(np.asarray(lower_ends, dtype=np.float64)[index], np.inf))
    event = table.status > 0
    high = np.where(inexact & event, start, table.time)
    low = np.where(inexact & ~event, start, table.time)
    return _with_time(table, high), _with_time(table, low)


def _with_time(table: CountTable, time: np.ndarray) -> CountTable:
    return CountTable(
        stratum=table.stratum,
        group=table.group,
        time=time,
        status=table.status,
        n=table.n,
        strata_levels=table.strata_levels,
        group_levels=table.group_levels,
        n_causes=table.n_causes,
    )


def interval_band(table: CountTable, intervals: Sequence[GridIntervals]) -> tuple[CountTable, CountTable]:
    """The (high, low) placements of a table whose stratum s was released on grid `intervals[s]`."""
    highs, lows = [], []
    for code, grid in enumerate(intervals):
        part = table.select(stratum=table.strata_levels[code])
        high, low = _placements(part, grid)
        highs.append(high)
        lows.append(low)
    return CountTable.combine(highs), CountTable.combine(lows)


def survival_band(
    band: tuple[CountTable, CountTable], times: np.ndarray, group: str | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(S_low, S_high) of the Kaplan-Meier estimate (any event) at `times`, of one group or all."""
    high, low = band
    upper = kaplan_meier_from_counts(high, group=group).at(times).survival
    lower = kaplan_meier_from_counts(low, group=group).at(times).survival
    return lower, upper


def survival_band_width(band: tuple[CountTable, CountTable], times: np.ndarray) -> float:
    """The widest S_high - S_low at `times`, over the whole table and each of its groups."""
    groups: list[str | None] = [None]
    if len(band[0].group_levels) > 1:
        groups.extend(band[0].group_levels)
    widest = 0.0
    for group in groups:
        lower, upper = survival_band(band, times, group)
        widest = max(widest, float(np.max(upper - lower, initial=0.0)))
    return widest
