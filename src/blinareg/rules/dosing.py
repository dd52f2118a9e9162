"""Blinatumomab dosing: body surface area, cycle plans and interruptions.

Dose modifications after adverse events are in `blinareg.rules.modification`; the comparison of
delivered with planned doses is in `blinareg.rules.delivery`.

Source of every rule: Blincyto (blinatumomab) prescribing information and the manufacturer's dosing
pages, as read in clinical-rules.md §1; Parameters come from a `RuleSet`; results list the UNCONFIRMED rules they used.

Conventions
- A cycle plan lists every day of one cycle: day 1 is the first infusion day; infusion days come first,
  then the treatment-free days. `dose_mcg_per_day` is what is actually infused that day, after the caps
  for patients under the weight threshold (5 mcg/m2/day max 9 mcg/day; 15 mcg/m2/day max 28 mcg/day).
- Cycle numbers count from the first cycle of the indication, as the label does (relapsed/refractory:
  induction 1-2, consolidation 3-5, continued therapy 6-9; MRD-positive: induction 1, consolidation 2-4).
- Doses are not rounded; rounding is for display.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from enum import StrEnum

from blinareg.rules.errors import (
    RuleInputError,
    check_date,
    check_enum,
    check_int,
    check_number,
)
from blinareg.rules.outcome import Explained
from blinareg.rules.ruleset import DEFAULT_RULES, SRC_LABEL, RuleSet
from blinareg.rules.vocabulary import (
    CyclePhase,
    DoseUnit,
    DosingIndication,
)

__all__ = [
    "DOSE_EPSILON",
    "DoseLevel",
    "DoseDay",
    "CyclePlan",
    "TreatmentPlan",
    "InterruptionResult",
    "body_surface_area",
    "dose_plan",
    "treatment_plan",
    "planned_daily_dose",
    "apply_interruption",
    "InterruptedLayout",
    "INTERRUPTED_DAY",
    "TREATMENT_FREE_DAY",
    "initial_layout",
    "interruption_refusal",
    "interrupt_layout",
    "max_cycles",
    "PatientDoses",
    "patient_doses",
    "unconfirmed_names",
]

# Doses (mcg/day) closer than this are equal: they differ by floating-point rounding only.
DOSE_EPSILON = 1e-9


class DoseLevel(StrEnum):
    """Which of the two dose levels a day is planned at."""

    STEP = "step"  # 9 mcg/day or 5 mcg/m2/day (max 9)
    FULL = "full"  # 28 mcg/day or 15 mcg/m2/day (max 28)
    NONE = "none"  # no infusion (treatment-free or interrupted)


@dataclass(frozen=True)
class DoseDay:
    """One day of a cycle plan."""

    day: int  # cycle day, 1-based
    date: date | None
    dose_mcg_per_day: float  # to infuse (after caps); 0.0 when not infusing
    dose_per_m2: float | None  # prescribed mcg/m2/day when BSA-based, else None
    unit: DoseUnit  # the prescribing unit of this patient (mcg/day or mcg/m2/day)
    infusing: bool
    hospitalized: bool
    premedication: str | None
    level: DoseLevel
    interrupted: bool = False


@dataclass(frozen=True)
class CyclePlan:
    """The day-by-day plan of one cycle; treatment-free and hospitalization days derive from `days`."""

    indication: DosingIndication
    cycle: int
    phase: CyclePhase
    weight_kg: float
    height_cm: float | None
    bsa_m2: float | None  # None only when >= the weight threshold and no height was given
    age_years: float | None
    start_date: date | None
    unit: DoseUnit
    step_dose_mcg_per_day: float  # this patient's dose at each level, after caps
    full_dose_mcg_per_day: float
    hospital_days_planned: int
    days: tuple[DoseDay, ...]
    notes: tuple[str, ...]
    unconfirmed_rules: tuple[str, ...]

    @property
    def length_days(self) -> int:
        return len(self.days)

    @property
    def end_date(self) -> date | None:
        return None if self.start_date is None else self.start_date + timedelta(days=len(self.days) - 1)

    @property
    def infusion_days(self) -> tuple[int, ...]:
        return tuple(d.day for d in self.days if d.infusing)

    @property
    def treatment_free_days(self) -> tuple[int, ...]:
        return tuple(d.day for d in self.days if not d.infusing and not d.interrupted)

    @property
    def interrupted_days(self) -> tuple[int, ...]:
        return tuple(d.day for d in self.days if d.interrupted)

    @property
    def hospitalization_days(self) -> tuple[int, ...]:
        return tuple(d.day for d in self.days if d.hospitalized)

    @property
    def premedication_points(self) -> tuple[tuple[int, str], ...]:
        return tuple((d.day, d.premedication) for d in self.days if d.premedication)

    @property
    def planned_total_mcg(self) -> float:
        return sum(d.dose_mcg_per_day for d in self.days if d.infusing)


@dataclass(frozen=True)
class TreatmentPlan:
    """The calendar of all cycles of an indication from a start date."""

    indication: DosingIndication
    start_date: date
    cycles: tuple[CyclePlan, ...]
    notes: tuple[str, ...]
    unconfirmed_rules: tuple[str, ...]

    @property
    def end_date(self) -> date:
        end = self.cycles[-1].end_date
        assert end is not None  # every cycle of a treatment plan is dated
        return end


@dataclass(frozen=True, kw_only=True)
class InterruptionResult(Explained):
    """The effect of an interruption on a cycle."""

    continues_cycle: bool  # True: same cycle continued to 28 infusion days; False: a new cycle starts
    interruption_days: int  # restart day - stop day
    infusion_days_before: int
    plan: CyclePlan  # the continued cycle, or the cycle ended at the interruption
    new_cycle_start_day: int | None  # in the interrupted cycle's day numbering
    new_cycle_start_date: date | None


# --- internal building blocks ----------------------------------------------------------------------


@dataclass(frozen=True)
class PatientDoses:
    bsa_based: bool
    bsa_m2: float | None
    unit: DoseUnit
    step_mcg: float
    full_mcg: float
    step_per_m2: float | None
    full_per_m2: float | None
    step_capped: bool
    full_capped: bool


@dataclass(frozen=True)
class _Schedule:
    phase: CyclePhase
    infusion_days: int
    free_days: int
    step_days: int  # days at the step dose at the start of the cycle
    hospital_days: int
    rules_used: tuple[str, ...]


def body_surface_area(height_cm: float, weight_kg: float, *, rules: RuleSet = DEFAULT_RULES) -> float:
    """Body surface area in m2 by Mosteller: sqrt(height_cm * weight_kg / 3600).

    Source: clinical-rules.md §1 (Blincyto prescribing information, BSA-based dosing under 45 kg).
    Not rounded. `rules` is accepted for a uniform signature; no rule parameter is involved.
    """
    height = check_number("height_cm", height_cm)
    weight = check_number("weight_kg", weight_kg)
    return math.sqrt(height * weight / 3600.0)


def max_cycles(indication: DosingIndication | str, *, rules: RuleSet = DEFAULT_RULES) -> int:
    """The number of cycles the label schedule gives for `indication` (clinical-rules.md §1)."""
    ind = check_enum("indication", indication, DosingIndication)
    if ind is DosingIndication.RELAPSED_REFRACTORY:
        return rules.rr_induction_cycles.value + rules.rr_consolidation_cycles.value + rules.rr_continued_cycles.value
    if ind is DosingIndication.MRD_POSITIVE:
        return rules.mrd_induction_cycles.value + rules.mrd_consolidation_cycles.value
    return rules.consolidation_cycles.value


def _schedule(indication: DosingIndication, cycle: int, rules: RuleSet) -> _Schedule:
    total = max_cycles(indication, rules=rules)
    if not 1 <= cycle <= total:
        raise RuleInputError(
            "cycle", cycle, f"is outside the legal range 1 to {total} for indication {indication.value}"
        )
    infusion = rules.infusion_days_per_cycle.value
    if indication is DosingIndication.RELAPSED_REFRACTORY:
        hospital = rules.rr_hospital_days.value
        used: tuple[str, ...] = (
            "infusion_days_per_cycle",
            "rr_induction_cycles",
            "rr_consolidation_cycles",
            "rr_continued_cycles",
            "rr_hospital_days",
        )
        induction, consolidation = rules.rr_induction_cycles.value, rules.rr_consolidation_cycles.value
        if cycle <= induction:
            phase, free = CyclePhase.INDUCTION, rules.rr_treatment_free_days.value
        elif cycle <= induction + consolidation:
            phase, free = CyclePhase.CONSOLIDATION, rules.rr_treatment_free_days.value
        else:
            phase, free = CyclePhase.CONTINUED, rules.rr_continued_treatment_free_days.value
        step_days = rules.rr_step_up_day.value - 1 if cycle == 1 else 0
        used += ("rr_treatment_free_days", "rr_continued_treatment_free_days", "rr_step_up_day")
    elif indication is DosingIndication.MRD_POSITIVE:
        hospital = rules.mrd_hospital_days.value
        phase = CyclePhase.INDUCTION if cycle <= rules.mrd_induction_cycles.value else CyclePhase.CONSOLIDATION
        free, step_days = rules.mrd_treatment_free_days.value, 0
        used = (
            "infusion_days_per_cycle",
            "mrd_induction_cycles",
            "mrd_consolidation_cycles",
            "mrd_hospital_days",
            "mrd_treatment_free_days",
        )
    else:
        hospital = rules.consolidation_hospital_days.value
        phase, free, step_days = CyclePhase.CONSOLIDATION, rules.consolidation_treatment_free_days.value, 0
        used = (
            "infusion_days_per_cycle",
            "consolidation_cycles",
            "consolidation_treatment_free_days",
            "consolidation_hospital_days",
        )
    hospital_days = hospital[0] if cycle == 1 else hospital[1] if cycle == 2 else 0
    return _Schedule(phase, infusion, free, step_days, hospital_days, used)


def patient_doses(weight_kg: float, height_cm: float | None, bsa_m2: float | None, rules: RuleSet) -> PatientDoses:
    weight = check_number("weight_kg", weight_kg)
    height = check_number("height_cm", height_cm, allow_none=True)
    bsa = check_number("bsa_m2", bsa_m2, allow_none=True)
    if bsa is None and height is not None:
        bsa = math.sqrt(height * weight / 3600.0)
    from blinareg.rules.arrays import patient_daily_doses  # the one implementation

    if weight < rules.dose_weight_threshold_kg.value and bsa is None:
        raise RuleInputError(
            "height_cm",
            None,
            f"is required below {rules.dose_weight_threshold_kg.value:g} kg (BSA-based dose); or give bsa_m2",
        )
    based, step, full = patient_daily_doses(float(weight), float("nan") if bsa is None else float(bsa), rules)
    if not based:
        return PatientDoses(False, bsa, DoseUnit.MCG_PER_DAY, step, full, None, None, False, False)
    assert bsa is not None
    step_m2, full_m2 = rules.step_dose_mcg_per_m2_per_day.value, rules.full_dose_mcg_per_m2_per_day.value
    return PatientDoses(
        True,
        bsa,
        DoseUnit.MCG_PER_M2_PER_DAY,
        step,
        full,
        step_m2,
        full_m2,
        step_m2 * bsa > rules.step_dose_cap_mcg_per_day.value,
        full_m2 * bsa > rules.full_dose_cap_mcg_per_day.value,
    )


def _check_phase(phase: CyclePhase | str | None, schedule: _Schedule, cycle: int) -> None:
    if phase is None:
        return
    given = check_enum("phase", phase, CyclePhase)
    if given is not schedule.phase:
        raise RuleInputError("phase", given.value, f"does not match cycle {cycle}, which is {schedule.phase.value}")


def _is_adult(age_years: float | None, rules: RuleSet) -> bool | None:
    return None if age_years is None else age_years >= rules.adult_age_years.value


def premedication_text(
    indication: DosingIndication, cycle: int, point: str, age_years: float | None, bsa: float | None, rules: RuleSet
) -> str | None:
    """Premedication text at `point` ('start', 'step', 'restart'); clinical-rules.md §1."""
    adult = _is_adult(age_years, rules)
    when = {
        "start": "before the first dose of the cycle",
        "step": "before the dose step-up",
        "restart": "before the restart after an interruption",
    }[point]
    if indication is DosingIndication.RELAPSED_REFRACTORY:
        adult_text = f"dexamethasone {rules.rr_adult_dexamethasone_mg.value:g} mg 1 h {when}"
        per_m2, cap = rules.pediatric_dexamethasone_mg_per_m2.value, rules.pediatric_dexamethasone_max_mg.value
        amount = f" = {min(per_m2 * bsa, cap):.1f} mg" if bsa is not None else ""
        child_text = f"dexamethasone {per_m2:g} mg/m2{amount} (max {cap:g} mg) 1 h {when}" if cycle == 1 else None
        if adult is True:
            return adult_text
        if adult is False:
            return child_text
        return f"adults: {adult_text}; children: {child_text or 'none after cycle 1'}"
    if point != "start":
        return f"per center protocol ({when}: not in the rules reference for this indication)"
    if indication is DosingIndication.MRD_POSITIVE:
        adult_text = f"prednisone {rules.mrd_adult_prednisone_mg.value:g} mg IV (or equivalent) {when}"
        child_text = "per center protocol (pediatric MRD-positive premedication is not in the rules reference)"
        if adult is True:
            return adult_text
        if adult is False:
            return child_text
        return f"adults: {adult_text}; children: {child_text}"
    return "per center protocol (consolidation premedication is not in the rules reference)"


def _make_day(
    day: int,
    start_date: date | None,
    level: DoseLevel,
    doses: PatientDoses,
    hospital_days: int,
    premedication: str | None,
    interrupted: bool = False,
) -> DoseDay:
    if level is DoseLevel.STEP:
        mcg, per_m2 = doses.step_mcg, doses.step_per_m2
    elif level is DoseLevel.FULL:
        mcg, per_m2 = doses.full_mcg, doses.full_per_m2
    else:
        mcg, per_m2 = 0.0, None
    return DoseDay(
        day=day,
        date=None if start_date is None else start_date + timedelta(days=day - 1),
        dose_mcg_per_day=mcg,
        dose_per_m2=per_m2,
        unit=doses.unit,
        infusing=level is not DoseLevel.NONE,
        hospitalized=day <= hospital_days,
        premedication=premedication,
        level=level,
        interrupted=interrupted,
    )


def _dose_notes(doses: PatientDoses, rules: RuleSet, bsa_given: bool) -> list[str]:
    threshold = rules.dose_weight_threshold_kg.value
    if not doses.bsa_based:
        return [f"weight >= {threshold:g} kg: fixed doses in mcg/day"]
    how = "given" if bsa_given else "Mosteller"
    notes = [f"weight < {threshold:g} kg: BSA-based doses, BSA {doses.bsa_m2:.3f} m2 ({how})"]
    if doses.step_capped:
        notes.append(f"step dose capped at {rules.step_dose_cap_mcg_per_day.value:g} mcg/day")
    if doses.full_capped:
        notes.append(f"full dose capped at {rules.full_dose_cap_mcg_per_day.value:g} mcg/day")
    return notes


def unconfirmed_names(rules: RuleSet, names: Iterable[str]) -> tuple[str, ...]:
    return tuple(name for name in dict.fromkeys(names) if rules.rule(name).unconfirmed)


def dose_plan(
    indication: DosingIndication | str,
    weight_kg: float,
    height_cm: float | None,
    cycle: int,
    phase: CyclePhase | str | None = None,
    *,
    start_date: date | None = None,
    age_years: float | None = None,
    bsa_m2: float | None = None,
    rules: RuleSet = DEFAULT_RULES,
) -> CyclePlan:
    """The day-by-day plan of one blinatumomab cycle.

    Source: Blincyto prescribing information, clinical-rules.md §1. >= 45 kg: 9 mcg/day (step) and
    28 mcg/day (full); < 45 kg: 5 mcg/m2/day (max 9) and 15 mcg/m2/day (max 28), BSA by Mosteller unless
    `bsa_m2` is given. Relapsed/refractory steps up once, on cycle 1 day 8; MRD-positive and
    consolidation are flat. Treatment-free days follow the 28 infusion days (R/R cycles 1-5 and
    MRD-positive: 14; R/R cycles 6-9: 56; consolidation: rule data, UNCONFIRMED). Hospitalization: R/R
    first 9 days of cycle 1 and 2 of cycle 2; MRD-positive and consolidation 3 and 2. Premedication:
    R/R adults dexamethasone 20 mg before each cycle's first dose and the step dose; R/R children
    5 mg/m2 (max 20 mg) at the same points in cycle 1 only; MRD-positive adults prednisone 100 mg
    before each cycle's first dose. `age_years` selects the adult or pediatric premedication; when it
    is None both are shown. `phase` is optional and, when given, must match the cycle.
    """
    ind = check_enum("indication", indication, DosingIndication)
    cycle_no = check_int("cycle", cycle)
    if start_date is not None:
        check_date("start_date", start_date)
    age = check_number("age_years", age_years, allow_none=True)
    schedule = _schedule(ind, cycle_no, rules)
    _check_phase(phase, schedule, cycle_no)
    doses = patient_doses(weight_kg, height_cm, bsa_m2, rules)

    days = []
    for day in range(1, schedule.infusion_days + schedule.free_days + 1):
        if day > schedule.infusion_days:
            level = DoseLevel.NONE
        elif day <= schedule.step_days:
            level = DoseLevel.STEP
        else:
            level = DoseLevel.FULL
        premedication = None
        if day == 1:
            premedication = premedication_text(ind, cycle_no, "start", age, doses.bsa_m2, rules)
        elif schedule.step_days and day == schedule.step_days + 1:
            premedication = premedication_text(ind, cycle_no, "step", age, doses.bsa_m2, rules)
        days.append(_make_day(day, start_date, level, doses, schedule.hospital_days, premedication))

    used = list(schedule.rules_used)
    used += ["dose_weight_threshold_kg", "step_dose_mcg_per_day", "full_dose_mcg_per_day"]
    if doses.bsa_based:
        used += [
            "step_dose_mcg_per_m2_per_day",
            "full_dose_mcg_per_m2_per_day",
            "step_dose_cap_mcg_per_day",
            "full_dose_cap_mcg_per_day",
        ]
    if ind is not DosingIndication.CONSOLIDATION and age is not None:
        used.append("adult_age_years")
    notes = _dose_notes(doses, rules, bsa_m2 is not None)
    if ind is DosingIndication.CONSOLIDATION:
        notes.append("consolidation cycles alternate with chemotherapy: date each cycle from its actual start")
    return CyclePlan(
        indication=ind,
        cycle=cycle_no,
        phase=schedule.phase,
        weight_kg=float(weight_kg),
        height_cm=None if height_cm is None else float(height_cm),
        bsa_m2=doses.bsa_m2,
        age_years=age,
        start_date=start_date,
        unit=doses.unit,
        step_dose_mcg_per_day=doses.step_mcg,
        full_dose_mcg_per_day=doses.full_mcg,
        hospital_days_planned=schedule.hospital_days,
        days=tuple(days),
        notes=tuple(notes),
        unconfirmed_rules=unconfirmed_names(rules, used),
    )


def planned_daily_dose(
    indication: DosingIndication | str,
    cycle: int,
    phase: CyclePhase | str | None,
    day: int,
    weight_kg: float,
    height_cm: float | None,
    *,
    bsa_m2: float | None = None,
    rules: RuleSet = DEFAULT_RULES,
) -> DoseDay:
    """The planned dose of one cycle day (undated), as in `dose_plan` (clinical-rules.md §1).

    For comparing a recorded delivered dose with the plan; `day` must lie in the cycle.
    """
    plan = dose_plan(indication, weight_kg, height_cm, cycle, phase, bsa_m2=bsa_m2, rules=rules)
    day_no = check_int("day", day)
    if day_no > plan.length_days:
        raise RuleInputError("day", day, f"is outside the legal range 1 to {plan.length_days} for cycle {plan.cycle}")
    return plan.days[day_no - 1]


def treatment_plan(
    indication: DosingIndication | str,
    weight_kg: float,
    height_cm: float | None,
    start_date: date,
    *,
    cycles: int | None = None,
    cycle_starts: Mapping[int, date] | None = None,
    age_years: float | None = None,
    bsa_m2: float | None = None,
    rules: RuleSet = DEFAULT_RULES,
) -> TreatmentPlan:
    """The calendar of cycles 1..`cycles` (default: all the label gives) from `start_date`.

    Source: clinical-rules.md §1. Each cycle starts the day after the previous one ends, unless
    `cycle_starts` gives its actual start (needed for consolidation, which alternates with
    chemotherapy); a start inside the previous cycle is refused.
    """
    ind = check_enum("indication", indication, DosingIndication)
    start = check_date("start_date", start_date)
    total = max_cycles(ind, rules=rules)
    count = total if cycles is None else check_int("cycles", cycles)
    if not 1 <= count <= total:
        raise RuleInputError("cycles", cycles, f"is outside the legal range 1 to {total} for indication {ind.value}")
    starts = dict(cycle_starts or {})
    for number, when in starts.items():
        if isinstance(number, bool) or not isinstance(number, int) or not 2 <= number <= count:
            raise RuleInputError("cycle_starts", number, f"keys must be cycle numbers 2 to {count}")
        check_date(f"cycle_starts[{number}]", when)
    plans: list[CyclePlan] = []
    next_start = start
    for number in range(1, count + 1):
        if number in starts:
            if starts[number] < next_start:
                raise RuleInputError(
                    f"cycle_starts[{number}]",
                    starts[number],
                    f"is before the end of cycle {number - 1} (earliest {next_start.isoformat()})",
                )
            next_start = starts[number]
        plan = dose_plan(
            ind, weight_kg, height_cm, number, start_date=next_start, age_years=age_years, bsa_m2=bsa_m2, rules=rules
        )
        plans.append(plan)
        assert plan.end_date is not None
        next_start = plan.end_date + timedelta(days=1)
    used = [name for plan in plans for name in plan.unconfirmed_rules]
    notes = list(plans[0].notes)
    return TreatmentPlan(ind, start, tuple(plans), tuple(notes), unconfirmed_names(rules, used))


def _to_day(plan: CyclePlan, name: str, value: date | int) -> int:
    """A date or a cycle day as the cycle day number."""
    if isinstance(value, bool):
        raise RuleInputError(name, value, "must be a date or a cycle day")
    if isinstance(value, int):
        if value < 1:
            raise RuleInputError(name, value, "must be a cycle day >= 1")
        return value
    check_date(name, value)
    if plan.start_date is None:
        raise RuleInputError(name, value, "is a date but the plan has no start_date; give a cycle day instead")
    return (value - plan.start_date).days + 1


# A cycle's days as `interrupt_layout` sees them: per cycle day from day 1, k >= 1 for the plan's k-th
# infusion day, INTERRUPTED_DAY or TREATMENT_FREE_DAY. The scalar `apply_interruption` and the column-wise
# `rules.frames.cycle_dose_comparison` both apply interruptions through it (one meaning).
INTERRUPTED_DAY = 0
TREATMENT_FREE_DAY = -1


@dataclass(frozen=True)
class InterruptedLayout:
    """A cycle's day layout after one interruption."""

    days: tuple[int, ...]
    continues_cycle: bool  # False: the cycle ends at the interruption (the layout stops the day before)
    infusion_days_before: int


def initial_layout(infusion_days: int, treatment_free_days: int) -> tuple[int, ...]:
    """The layout of an uninterrupted plan: infusion days 1..`infusion_days`, then the treatment-free days."""
    return tuple(range(1, infusion_days + 1)) + (TREATMENT_FREE_DAY,) * treatment_free_days


def interruption_refusal(layout: Sequence[int], stop_day: int, restart_day: int) -> tuple[str, str] | None:
    """(field, reason) when an interruption from `stop_day` to `restart_day` cannot apply to `layout`."""
    if not 1 <= stop_day <= len(layout) or layout[stop_day - 1] < 1:
        infusion = [day for day, kind in enumerate(layout, start=1) if kind >= 1]
        legal = f"days {infusion[0]} to {infusion[-1]}" if infusion else "none left"
        return "start", f"must be an infusion day of the plan ({legal})"
    if restart_day <= stop_day:
        return "end", "must be after start"
    return None


def interrupt_layout(layout: Sequence[int], stop_day: int, restart_day: int, limit_days: int) -> InterruptedLayout:
    """`layout` after an interruption from `stop_day` to `restart_day` (checked by `interruption_refusal`).

    Source: Blincyto prescribing information (clinical-rules.md §1): up to `limit_days` days off, the
    remaining infusion days follow the restart, then the treatment-free days; longer, the cycle ends.
    """
    kept = tuple(layout[: stop_day - 1])
    done = sum(1 for kind in kept if kind >= 1)
    if restart_day - stop_day > limit_days:
        return InterruptedLayout(kept, False, done)
    infusing = [kind for kind in layout if kind >= 1]
    last_infusion = max(day for day, kind in enumerate(layout, start=1) if kind >= 1)
    free_days = sum(1 for kind in layout[last_infusion:] if kind == TREATMENT_FREE_DAY)
    days = kept + (INTERRUPTED_DAY,) * (restart_day - stop_day) + tuple(infusing[done:])
    return InterruptedLayout(days + (TREATMENT_FREE_DAY,) * free_days, True, done)


def _layout_of(plan: CyclePlan) -> tuple[int, ...]:
    layout: list[int] = []
    for day in plan.days:
        if day.infusing:
            layout.append(sum(1 for kind in layout if kind >= 1) + 1)
        else:
            layout.append(INTERRUPTED_DAY if day.interrupted else TREATMENT_FREE_DAY)
    return tuple(layout)


def apply_interruption(
    plan: CyclePlan, start: date | int, end: date | int, *, rules: RuleSet = DEFAULT_RULES
) -> InterruptionResult:
    """The cycle after an interruption of the infusion from `start` (the day it stopped) to `end` (the
    day it restarted); both dates, or both cycle days. The interruption lasts ``end - start`` days.

    Source: Blincyto prescribing information (clinical-rules.md §1): up to 7 days, continue the same
    cycle to a total of 28 infusion days; more than 7 days, start a new cycle. In a continued cycle the
    k-th infusion day keeps the planned dose of the k-th infusion day (so a step-up comes after 7
    infusion days at the step dose), the treatment-free days follow the last infusion day, and a
    premedication point is added at the restart (relapsed/refractory: restart after >= 4 h). The
    restart dose after a toxicity is decided by `dose_modification`, not here.
    """
    if not isinstance(plan, CyclePlan):
        raise RuleInputError("plan", plan, "must be a CyclePlan from dose_plan")
    stop_day, restart_day = _to_day(plan, "start", start), _to_day(plan, "end", end)
    layout = _layout_of(plan)
    refusal = interruption_refusal(layout, stop_day, restart_day)
    if refusal is not None:
        field, reason = refusal
        raise RuleInputError(
            field, start if field == "start" else end, reason if field == "start" else f"{reason} ({start})"
        )
    length = restart_day - stop_day
    limit = rules.interruption_max_continue_days.value
    outcome = interrupt_layout(layout, stop_day, restart_day, limit)
    done = outcome.infusion_days_before
    infusing = [d for d in plan.days if d.infusing]
    used = ["interruption_max_continue_days", *plan.unconfirmed_rules]
    kept = list(plan.days[: stop_day - 1])
    doses = PatientDoses(
        plan.bsa_m2 is not None and plan.unit is DoseUnit.MCG_PER_M2_PER_DAY,
        plan.bsa_m2,
        plan.unit,
        plan.step_dose_mcg_per_day,
        plan.full_dose_mcg_per_day,
        _per_m2_of(plan, DoseLevel.STEP),
        _per_m2_of(plan, DoseLevel.FULL),
        False,
        False,
    )
    new_start_date = None if plan.start_date is None else plan.start_date + timedelta(days=restart_day - 1)

    def result(continues: bool, cycle_days: list[DoseDay], reason: str) -> InterruptionResult:
        cycle = replace(
            plan, days=tuple(cycle_days), notes=plan.notes + (reason,), unconfirmed_rules=unconfirmed_names(rules, used)
        )
        return InterruptionResult(
            continues_cycle=continues,
            interruption_days=length,
            infusion_days_before=done,
            plan=cycle,
            new_cycle_start_day=None if continues else restart_day,
            new_cycle_start_date=None if continues else new_start_date,
            reason=reason,
            source=SRC_LABEL,
        )

    if not outcome.continues_cycle:
        reason = (
            f"interruption of {length} days (> {limit}): the cycle ends after {done} infusion days; "
            f"start a new cycle on day {restart_day}"
        )
        return result(False, kept, reason)

    days = kept
    templates = iter(infusing[done:])
    for day, kind in enumerate(outcome.days[stop_day - 1 :], start=stop_day):
        if kind == INTERRUPTED_DAY:
            level, premedication, interrupted = DoseLevel.NONE, None, True
        elif kind == TREATMENT_FREE_DAY:
            level, premedication, interrupted = DoseLevel.NONE, None, False
        else:
            template = next(templates)
            level, premedication, interrupted = template.level, template.premedication, False
            if day == restart_day:
                restart_text = premedication_text(
                    plan.indication, plan.cycle, "restart", plan.age_years, plan.bsa_m2, rules
                )
                premedication = "; ".join(p for p in (restart_text, template.premedication) if p) or None
        days.append(
            _make_day(
                day, plan.start_date, level, doses, plan.hospital_days_planned, premedication, interrupted=interrupted
            )
        )
    reason = (
        f"interruption of {length} days (<= {limit}): the cycle continues from day {restart_day} to a total "
        f"of {len(infusing)} infusion days"
    )
    return result(True, days, reason)


def _per_m2_of(plan: CyclePlan, level: DoseLevel) -> float | None:
    """The prescribed mcg/m2/day of `level` in `plan` (None when fixed-dose or the level is absent)."""
    return next((d.dose_per_m2 for d in plan.days if d.level is level), None)
