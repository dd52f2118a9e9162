"""Finish the estimates in NumPy from an engine's counts (blinareg.stats' count-based estimators)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from blinareg.errors import UserError
from blinareg.pushdown.counting import CountRequest
from blinareg.pushdown.engines import Counts
from blinareg.stats import (
    CountTable,
    cumulative_incidence_from_counts,
    gray_from_counts,
    kaplan_meier_from_counts,
    logrank_from_counts,
)


@dataclass(frozen=True)
class GroupExits:
    """What the summaries and the figure need of one group's follow-up, read from its counts."""

    label: str
    n: int
    events: int  # of the event of interest (status 1; any event for Kaplan-Meier)
    competing: int  # status 2 (0 for Kaplan-Meier)
    last_time: float
    ended_by_events: bool  # nobody censored at the last time: the curve's last value holds for ever
    time: np.ndarray  # the group's count rows: time (days), censored or not, number of subjects
    censored: np.ndarray
    count: np.ndarray


@dataclass(frozen=True)
class EndpointEstimate:
    """One endpoint from counts: the curve of each group (None without an event of interest) and the test."""

    request: CountRequest
    table: CountTable
    groups: tuple[GroupExits, ...]
    curves: dict[str, Any]  # group label -> KaplanMeierResult | CumulativeIncidenceResult | None
    test: Any | None  # LogrankResult | GrayTestResult; None with one group or no event of interest
    left_out: int


def _group_exits(table: CountTable, label: str, rows: np.ndarray, competing: bool) -> GroupExits:
    time, status, n = table.time[rows], table.status[rows], table.n[rows]
    last_time = float(time.max())
    return GroupExits(
        label=label,
        n=int(n.sum()),
        events=int(n[status == 1].sum()) if competing else int(n[status > 0].sum()),
        competing=int(n[status == 2].sum()) if competing else 0,
        last_time=last_time,
        ended_by_events=not bool(((time == last_time) & (status == 0)).any()),
        time=time,
        censored=status == 0,
        count=n,
    )


def finish(request: CountRequest, counts: Counts, *, conf_level: float = 0.95) -> EndpointEstimate:
    """Kaplan-Meier (or the cumulative incidence of cause 1) per group, and the log-rank (or Gray's) test
    across groups, stratified when the request has strata."""
    if counts.frame.empty:
        raise UserError(f"no rows with PARAMCD = {request.endpoint} to analyse (after leaving out {counts.left_out})")
    table = CountTable.from_frame(counts.frame)
    groups = []
    curves: dict[str, Any] = {}
    for code, label in enumerate(table.group_levels):
        rows = table.group == code
        exits = _group_exits(table, label, rows, request.competing)
        groups.append(exits)
        group = None if len(table.group_levels) == 1 else label
        if not request.competing:
            curves[label] = kaplan_meier_from_counts(table, group=group, conf_level=conf_level)
        elif exits.events:
            curves[label] = cumulative_incidence_from_counts(table, 1, group=group, conf_level=conf_level)
        else:
            curves[label] = None
    test: Any | None = None
    if len(table.group_levels) > 1:
        if not request.competing:
            test = logrank_from_counts(table) if (table.status > 0).any() else None
        elif (table.status == 1).any():
            test = gray_from_counts(table, 1)
    return EndpointEstimate(request, table, tuple(groups), curves, test, counts.left_out)
