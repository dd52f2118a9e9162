"""The report's summaries (median, landmarks with CIs, the test) and figure of an estimate finished from counts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from blinareg.derive.labels import ENDPOINT_NAMES
from blinareg.pushdown.estimate import EndpointEstimate, GroupExits
from blinareg.report.analyses import (
    CurveGroup,
    CurveSet,
    EndpointExits,
    cif_summary,
    km_summary,
    test_result,
)
from blinareg.report.config import DAYS_PER_MONTH, ReportConfig
from blinareg.report.results import EndpointSummary, TestResult, to_json


@dataclass(frozen=True)
class PushdownResults:
    """What `blinareg analyse` prints and writes: a summary per group, the test, and the curves."""

    source: str
    endpoint: str
    method: str  # "kaplan_meier" or "cumulative_incidence"
    by: str | None
    strata: str | None
    left_out: int  # rows without a by/strata value
    count_rows: int  # rows of the count table the engine returned
    groups: dict[str, EndpointSummary]
    test: TestResult | None
    conventions: tuple[str, ...] = field(default=())

    def json(self) -> dict[str, Any]:
        return to_json(self)  # type: ignore[no-any-return]


def _exits(group: GroupExits) -> EndpointExits:
    return EndpointExits(group.n, group.events, group.competing, group.last_time, group.ended_by_events)


def summarise(estimate: EndpointEstimate, source: str, config: ReportConfig) -> tuple[PushdownResults, CurveSet]:
    request = estimate.request
    summaries: dict[str, EndpointSummary] = {}
    curve_groups = []
    for group in estimate.groups:
        curve = estimate.curves[group.label]
        if request.competing:
            summary = cif_summary(curve, _exits(group), config)
        else:
            summary = km_summary(curve, _exits(group), config)
        summaries[group.label] = summary
        label = "All patients" if request.by is None else group.label
        curve_groups.append(
            CurveGroup(label, group.n, group.events, curve, summary.note, group.time, group.censored, group.count)
        )
    competing = request.competing
    name = "Gray's test" if competing else "log-rank test"
    test = None
    if len(estimate.groups) > 1:
        if estimate.test is None:
            test = TestResult(name, note="not tested (no events)")
        else:
            test = test_result(name, estimate.test, competing=competing)
    title = ENDPOINT_NAMES.get(request.endpoint, request.endpoint) + ("" if request.by is None else f" by {request.by}")
    conventions = [
        f"Times are counted on their exact values (days); months are days / {DAYS_PER_MONTH}.",
        "Confidence intervals are pointwise, log(-log) scale, "
        f"{config.conf_level:.0%}; landmarks at {', '.join(f'{m:g}' for m in config.landmarks_months)} months.",
    ]
    if request.strata is not None:
        conventions.append(
            f"{name[0].upper()}{name[1:]} is stratified by {request.strata}; the curves pool the strata."
        )
    if estimate.left_out:
        conventions.append(
            f"{estimate.left_out} row(s) without a value of {' or '.join(request.variables())} left out."
        )
    results = PushdownResults(
        source=source,
        endpoint=request.endpoint,
        method="cumulative_incidence" if competing else "kaplan_meier",
        by=request.by,
        strata=request.strata,
        left_out=estimate.left_out,
        count_rows=int(estimate.table.n.shape[0]),
        groups=summaries,
        test=test,
        conventions=tuple(conventions),
    )
    curves = CurveSet(
        key=f"{request.endpoint.lower()}_pushdown",
        endpoint=request.endpoint,
        kind="cif" if competing else "km",
        title=title,
        groups=tuple(curve_groups),
        test_name=None if test is None else name,
        p_value=None if test is None else test.p_value,
        test_note=None if test is None else test.note,
        x_label="Months since time zero",
    )
    return results, curves


def _interval(estimate: float | None, lower: float | None, upper: float | None, percent: bool) -> str:
    if estimate is None:
        return "not estimable"
    scale, unit = (100.0, "%") if percent else (1.0, "")
    text = f"{estimate * scale:.1f}{unit}"
    if lower is not None and upper is not None:
        text += f" ({lower * scale:.1f}-{upper * scale:.1f}{unit})"
    return text


def summary_lines(results: PushdownResults) -> list[str]:
    """The printed summary: one block per group, then the test."""
    kind = "Cumulative incidence" if results.method == "cumulative_incidence" else "Kaplan-Meier"
    by = "" if results.by is None else f" by {results.by}"
    lines = [f"{kind} of {results.endpoint}{by} (counted in {results.source})"]
    for label, summary in results.groups.items():
        head = f"  {label}: n = {summary.n}, events = {summary.events}"
        if summary.competing_events is not None:
            head += f", competing events = {summary.competing_events}"
        lines.append(head)
        if summary.median is not None:
            m = summary.median
            if m.months is None:
                lines.append(f"    median {m.note}")
            else:
                value = _interval(m.months, m.lower, m.upper, percent=False)
                lines.append(f"    median {value} months" + (f" ({m.note})" if m.note else ""))
        for point in summary.landmarks or ():
            value = _interval(point.estimate, point.lower, point.upper, percent=True)
            lines.append(f"    at {point.months:g} months: {value}" + (f" [{point.note}]" if point.note else ""))
    if results.test is not None:
        t = results.test
        if t.p_value is None:
            lines.append(f"  {t.test}: {t.note}")
        else:
            lines.append(f"  {t.test}: chi-square {t.statistic:.3f}, df {t.df}, p = {t.p_value:.4g}")
    lines += [f"  note: {c}" for c in results.conventions[2:]]
    return lines
