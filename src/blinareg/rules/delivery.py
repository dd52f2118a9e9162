"""Delivered versus planned blinatumomab doses: deviations and relative dose intensity.

Works on plain values (a dated `CyclePlan`, delivered segments of dates, doses and units) so that the
record, validate and derive layers can compare what was infused with the plan of
clinical-rules.md §1 (doses and caps) without this package importing records.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

from blinareg.rules.dosing import DOSE_EPSILON, CyclePlan, DoseDay, DoseLevel
from blinareg.rules.errors import RuleInputError, check_date, check_enum, check_number
from blinareg.rules.ruleset import DEFAULT_RULES, RuleSet
from blinareg.rules.vocabulary import DoseDeviationKind, DoseUnit

__all__ = ["DeliveredSegment", "DoseDeviation", "DoseIntensity", "dose_deviations", "dose_intensity"]


@dataclass(frozen=True)
class DeliveredSegment:
    """A delivered infusion at one constant rate from `start` to `end` (both days included)."""

    start: date
    end: date
    dose: float
    unit: DoseUnit = DoseUnit.MCG_PER_DAY


@dataclass(frozen=True)
class DoseDeviation:
    """A run of consecutive days on which the delivered dose departs from the plan in the same way."""

    kind: DoseDeviationKind
    first_day: int  # cycle day (<= 0 or > plan length for OUTSIDE_PLAN)
    last_day: int
    first_date: date
    last_date: date
    planned_mcg_per_day: float
    delivered_mcg_per_day: float
    message: str


@dataclass(frozen=True)
class DoseIntensity:
    """Delivered versus planned cumulative dose of one cycle."""

    planned_mcg: float
    delivered_mcg: float  # on days of the plan
    relative_dose_intensity: float | None  # delivered / planned; None when nothing was planned
    planned_infusion_days: int
    delivered_infusion_days: int  # plan days with any delivered dose
    delivered_outside_plan_mcg: float


def _segments(segments: Iterable[DeliveredSegment | tuple[Any, ...]], plan: CyclePlan) -> dict[date, float]:
    """Delivered mcg/day by date; overlapping segments are refused."""
    by_date: dict[date, float] = {}
    for index, raw in enumerate(segments):
        name = f"delivered_segments[{index}]"
        if isinstance(raw, DeliveredSegment):
            segment = raw
        elif isinstance(raw, tuple) and len(raw) in (3, 4):
            segment = DeliveredSegment(*raw)
        else:
            raise RuleInputError(name, raw, "must be a DeliveredSegment or a (start, end, dose[, unit]) tuple")
        start, end = check_date(f"{name}.start", segment.start), check_date(f"{name}.end", segment.end)
        if end < start:
            raise RuleInputError(f"{name}.end", end, f"must not be before start ({start.isoformat()})")
        dose = check_number("dose", segment.dose)
        unit = check_enum(f"{name}.unit", segment.unit, DoseUnit)
        if unit is DoseUnit.MCG_PER_M2_PER_DAY:
            if plan.bsa_m2 is None:
                raise RuleInputError(f"{name}.unit", unit.value, "needs the plan's BSA: give height_cm or bsa_m2")
            dose *= plan.bsa_m2
        day = start
        while day <= end:
            if day in by_date:
                raise RuleInputError(name, raw, f"overlaps another segment on {day.isoformat()}")
            by_date[day] = dose
            day += timedelta(days=1)
    return by_date


def _classify_days(plan: CyclePlan, amounts: list[float], rules: RuleSet) -> list[DoseDeviationKind | None]:
    """The deviation kind of every plan day (None: no deviation), by the one implementation of the day
    rule, `blinareg.rules.arrays.classify_dose_days` (also used column-wise by `rules.frames`)."""
    from blinareg.rules.arrays import DEVIATION_KINDS, classify_dose_days

    kinds: list[DoseDeviationKind | None] = []
    for day, amount in zip(plan.days, amounts):
        step = day.level is DoseLevel.STEP
        other = plan.full_dose_mcg_per_day if step else plan.step_dose_mcg_per_day
        code = classify_dose_days(
            bool(day.infusing), step, float(amount), float(day.dose_mcg_per_day), float(other), rules
        )
        kinds.append(None if code == 0 else DEVIATION_KINDS[code - 1])
    return kinds


DEVIATION_TEXT = {
    DoseDeviationKind.WRONG_STEP: "the dose of the other step was given",
    DoseDeviationKind.ABOVE_CAP: "dose above the cap",
    DoseDeviationKind.ABOVE_PLAN: "dose above the plan",
    DoseDeviationKind.BELOW_PLAN: "dose below the plan",
    DoseDeviationKind.NOT_INFUSED: "planned infusion not given",
    DoseDeviationKind.TREATMENT_FREE_DAY_INFUSION: "infusion on a day planned without infusion",
    DoseDeviationKind.OUTSIDE_PLAN: "infusion outside the planned cycle",
}


def dose_deviations(
    plan: CyclePlan,
    delivered_segments: Iterable[DeliveredSegment | tuple[Any, ...]],
    *,
    rules: RuleSet = DEFAULT_RULES,
) -> tuple[DoseDeviation, ...]:
    """Deviations of the delivered doses from a dated cycle plan, grouped into runs of days.

    Per day (clinical-rules.md §1 doses and caps; tolerance `dose_tolerance_fraction`, UNCONFIRMED):
    the other step's dose given (wrong step) -> above the cap of the planned step (9 or 28 mcg/day,
    strict) -> within tolerance of the plan (no deviation) -> above / below the plan. A planned
    infusion day without delivery is NOT_INFUSED; delivery on a treatment-free or interrupted day is
    TREATMENT_FREE_DAY_INFUSION; delivery on a date outside the plan is OUTSIDE_PLAN. Segments are
    `DeliveredSegment` or (start, end, dose[, unit]) with both dates included. Apply interruptions
    with `apply_interruption` first so that interrupted days are not reported as missed.
    """
    if not isinstance(plan, CyclePlan) or plan.start_date is None:
        raise RuleInputError("plan", getattr(plan, "start_date", plan), "must be a CyclePlan with a start_date")
    delivered = _segments(delivered_segments, plan)
    by_day: list[tuple[int, date, float, float, DoseDeviationKind]] = []
    amounts = [delivered.pop(day.date, 0.0) for day in plan.days if day.date is not None]
    for day, amount, kind in zip(plan.days, amounts, _classify_days(plan, amounts, rules)):
        assert day.date is not None
        if kind is not None:
            by_day.append((day.day, day.date, day.dose_mcg_per_day, amount, kind))
    for when in sorted(delivered):
        if delivered[when] > DOSE_EPSILON:
            by_day.append(
                ((when - plan.start_date).days + 1, when, 0.0, delivered[when], DoseDeviationKind.OUTSIDE_PLAN)
            )
    by_day.sort(key=lambda item: item[0])

    runs: list[DoseDeviation] = []
    for day_no, when, planned, amount, kind in by_day:
        last = runs[-1] if runs else None
        if (
            last is not None
            and last.kind is kind
            and last.last_day == day_no - 1
            and abs(last.planned_mcg_per_day - planned) <= DOSE_EPSILON
            and abs(last.delivered_mcg_per_day - amount) <= DOSE_EPSILON
        ):
            runs[-1] = replace(
                last,
                last_day=day_no,
                last_date=when,
                message=_deviation_message(kind, last.first_day, day_no, planned, amount),
            )
        else:
            runs.append(
                DoseDeviation(
                    kind,
                    day_no,
                    day_no,
                    when,
                    when,
                    planned,
                    amount,
                    _deviation_message(kind, day_no, day_no, planned, amount),
                )
            )
    return tuple(runs)


def _deviation_message(kind: DoseDeviationKind, first: int, last: int, planned: float, delivered: float) -> str:
    days = f"day {first}" if first == last else f"days {first}-{last}"
    return f"{days}: {DEVIATION_TEXT[kind]} (planned {planned:.2f}, delivered {delivered:.2f} mcg/day)"


def dose_intensity(
    plan: CyclePlan,
    delivered_segments: Iterable[DeliveredSegment | tuple[Any, ...]],
    *,
    rules: RuleSet = DEFAULT_RULES,
) -> DoseIntensity:
    """Relative dose intensity of one dated cycle: delivered mcg on the plan's days / planned mcg.

    Planned doses per clinical-rules.md §1 (after caps). Delivery outside the plan's dates is reported
    separately and not counted. `rules` is accepted for a uniform signature.
    """
    if not isinstance(plan, CyclePlan) or plan.start_date is None:
        raise RuleInputError("plan", getattr(plan, "start_date", plan), "must be a CyclePlan with a start_date")
    delivered = _segments(delivered_segments, plan)
    on_plan = {d.date: delivered.pop(d.date, 0.0) for d in plan.days if d.date is not None}
    planned = plan.planned_total_mcg
    given = sum(on_plan.values())
    return DoseIntensity(
        planned_mcg=planned,
        delivered_mcg=given,
        relative_dose_intensity=given / planned if planned > 0 else None,
        planned_infusion_days=len(plan.infusion_days),
        delivered_infusion_days=sum(1 for amount in on_plan.values() if amount > DOSE_EPSILON),
        delivered_outside_plan_mcg=sum(delivered.values()),
    )
