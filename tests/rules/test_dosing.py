"""Dosing rules: Blincyto prescribing information as read in clinical-rules.md §1."""

from __future__ import annotations

import math
from datetime import date, timedelta

import pytest

from blinareg.rules import (
    DEFAULT_RULES,
    DoseLevel,
    RuleInputError,
    RuleSet,
    apply_interruption,
    body_surface_area,
    dose_plan,
    planned_daily_dose,
    treatment_plan,
)
from blinareg.rules.vocabulary import CyclePhase, DoseUnit, DosingIndication

RR, MRD, CONS = DosingIndication.RELAPSED_REFRACTORY, DosingIndication.MRD_POSITIVE, DosingIndication.CONSOLIDATION
D0 = date(2024, 1, 1)


# --- BSA and the 45 kg threshold ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("height", "weight", "bsa"),
    [(180, 80, 2.0), (100, 36, 1.0), (130, 30, math.sqrt(130 * 30 / 3600))],  # Mosteller by hand
)
def test_body_surface_area_mosteller(height, weight, bsa):
    assert body_surface_area(height, weight) == pytest.approx(bsa)


@pytest.mark.parametrize(
    ("weight", "unit", "step", "full"),
    [
        (45.0, DoseUnit.MCG_PER_DAY, 9.0, 28.0),  # >= 45 kg: fixed dose
        (80.0, DoseUnit.MCG_PER_DAY, 9.0, 28.0),
        (44.9, DoseUnit.MCG_PER_M2_PER_DAY, 5 * math.sqrt(150 * 44.9 / 3600), 15 * math.sqrt(150 * 44.9 / 3600)),
    ],
)
def test_weight_threshold_45_kg(weight, unit, step, full):
    plan = dose_plan(RR, weight, 150, 1)
    assert plan.unit is unit
    assert plan.days[0].dose_mcg_per_day == pytest.approx(step)
    assert plan.days[7].dose_mcg_per_day == pytest.approx(full)
    assert (plan.days[0].dose_per_m2 is None) == (unit is DoseUnit.MCG_PER_DAY)


@pytest.mark.parametrize(
    ("bsa", "step", "full"),
    [
        (1.0, 5.0, 15.0),
        (1.8, 9.0, 27.0),  # 5 x 1.8 = 9: exactly at the 9 mcg/day cap
        (1.9, 9.0, 28.0),  # 9.5 -> 9 and 28.5 -> 28
        (1.86, 9.0, 27.9),
        (1.87, 9.0, 28.0),  # 28.05 -> 28
    ],
)
def test_caps_9_and_28_under_45_kg(bsa, step, full):
    plan = dose_plan(RR, 40, None, 1, bsa_m2=bsa)
    assert plan.step_dose_mcg_per_day == pytest.approx(step)
    assert plan.full_dose_mcg_per_day == pytest.approx(full)
    assert plan.days[0].dose_per_m2 == 5.0 and plan.days[7].dose_per_m2 == 15.0
    assert any("capped" in note for note in plan.notes) == (5 * bsa > 9 or 15 * bsa > 28)


# --- schedules --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("indication", "cycle", "day", "dose", "level"),
    [
        (RR, 1, 7, 9.0, DoseLevel.STEP),  # step-up on cycle 1 day 8, once
        (RR, 1, 8, 28.0, DoseLevel.FULL),
        (RR, 1, 28, 28.0, DoseLevel.FULL),
        (RR, 1, 29, 0.0, DoseLevel.NONE),
        (RR, 2, 1, 28.0, DoseLevel.FULL),  # no step in later cycles
        (RR, 2, 7, 28.0, DoseLevel.FULL),
        (RR, 6, 28, 28.0, DoseLevel.FULL),
        (RR, 6, 84, 0.0, DoseLevel.NONE),
        (MRD, 1, 1, 28.0, DoseLevel.FULL),  # MRD-positive: no step-up
        (MRD, 1, 7, 28.0, DoseLevel.FULL),
        (CONS, 1, 1, 28.0, DoseLevel.FULL),
    ],
)
def test_planned_daily_dose(indication, cycle, day, dose, level):
    planned = planned_daily_dose(indication, cycle, None, day, 70, None)
    assert planned.dose_mcg_per_day == dose
    assert planned.level is level
    assert planned.infusing is (level is not DoseLevel.NONE)


@pytest.mark.parametrize(
    ("indication", "cycle", "phase", "length", "free", "hospital"),
    [
        (RR, 1, CyclePhase.INDUCTION, 42, 14, 9),
        (RR, 2, CyclePhase.INDUCTION, 42, 14, 2),
        (RR, 3, CyclePhase.CONSOLIDATION, 42, 14, 0),
        (RR, 5, CyclePhase.CONSOLIDATION, 42, 14, 0),
        (RR, 6, CyclePhase.CONTINUED, 84, 56, 0),
        (RR, 9, CyclePhase.CONTINUED, 84, 56, 0),
        (MRD, 1, CyclePhase.INDUCTION, 42, 14, 3),
        (MRD, 2, CyclePhase.CONSOLIDATION, 42, 14, 2),
        (MRD, 4, CyclePhase.CONSOLIDATION, 42, 14, 0),
        (CONS, 1, CyclePhase.CONSOLIDATION, 28, 0, 3),
        (CONS, 2, CyclePhase.CONSOLIDATION, 28, 0, 2),
    ],
)
def test_cycle_shape(indication, cycle, phase, length, free, hospital):
    plan = dose_plan(indication, 70, None, cycle)
    assert plan.phase is phase
    assert plan.length_days == length
    assert plan.infusion_days == tuple(range(1, 29))
    assert len(plan.treatment_free_days) == free
    assert plan.hospitalization_days == tuple(range(1, hospital + 1))


@pytest.mark.parametrize(
    ("indication", "bad_cycle", "legal"), [(RR, 10, "1 to 9"), (MRD, 5, "1 to 4"), (CONS, 5, "1 to 4")]
)
def test_cycle_out_of_range(indication, bad_cycle, legal):
    with pytest.raises(RuleInputError, match=f"cycle=.*{legal}"):
        dose_plan(indication, 70, None, bad_cycle)


def test_consolidation_schedule_is_unconfirmed_and_configurable():
    plan = dose_plan(CONS, 70, None, 1)
    assert {"consolidation_cycles", "consolidation_treatment_free_days"} <= set(plan.unconfirmed_rules)
    assert dose_plan(RR, 70, None, 1).unconfirmed_rules == ()
    one_cycle = RuleSet.from_mapping({"consolidation_cycles": 1})
    with pytest.raises(RuleInputError, match="1 to 1"):
        dose_plan(CONS, 70, None, 2, rules=one_cycle)


def test_phase_must_match_cycle():
    assert dose_plan(RR, 70, None, 3, "consolidation").phase is CyclePhase.CONSOLIDATION
    with pytest.raises(RuleInputError, match="phase='induction' does not match cycle 3"):
        dose_plan(RR, 70, None, 3, "induction")


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"weight_kg": -1}, "weight_kg"),
        ({"weight_kg": 0}, "weight_kg"),
        ({"weight_kg": 400}, "weight_kg"),
        ({"weight_kg": float("nan")}, "weight_kg"),
        ({"weight_kg": 30, "height_cm": None}, "height_cm"),  # BSA-based dose needs a height
        ({"height_cm": 10}, "height_cm"),
        ({"cycle": 0}, "cycle"),
        ({"cycle": 1.0}, "cycle"),
        ({"indication": "rr"}, "indication"),
        ({"age_years": -1}, "age_years"),
    ],
)
def test_impossible_inputs_name_the_argument(kwargs, argument):
    args = {"indication": RR, "weight_kg": 70, "height_cm": 170, "cycle": 1} | kwargs
    age = args.pop("age_years", None)
    with pytest.raises(RuleInputError) as caught:
        dose_plan(**args, age_years=age)
    assert caught.value.argument == argument
    assert str(caught.value).startswith(argument)


def test_negative_weight_message_gives_legal_range():
    with pytest.raises(RuleInputError, match=r"weight_kg=-3 is outside the legal range > 0 and <= 350 kg"):
        dose_plan(RR, -3, 100, 1)


# --- premedication ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("indication", "cycle", "age", "weight", "expected"),
    [
        (RR, 1, 40, 70, {1: "dexamethasone 20 mg", 8: "dexamethasone 20 mg"}),
        (RR, 2, 40, 70, {1: "dexamethasone 20 mg"}),  # adults: every cycle
        (RR, 1, 8, 36, {1: "5 mg/m2 = 5.0 mg", 8: "5 mg/m2 = 5.0 mg"}),  # BSA 1.0 (100 cm, 36 kg)
        (RR, 2, 8, 36, {}),  # children: first cycle only
        (MRD, 1, 40, 70, {1: "prednisone 100 mg"}),
        (MRD, 3, 40, 70, {1: "prednisone 100 mg"}),
        (MRD, 1, 8, 36, {1: "per center protocol"}),
        (CONS, 1, 40, 70, {1: "per center protocol"}),
    ],
)
def test_premedication_points(indication, cycle, age, weight, expected):
    plan = dose_plan(indication, weight, 100 if weight < 45 else None, cycle, age_years=age)
    points = dict(plan.premedication_points)
    assert set(points) == set(expected)
    for day, text in expected.items():
        assert text in points[day]


def test_pediatric_dexamethasone_cap_20_mg():
    plan = dose_plan(RR, 60, 180, 1, age_years=15)  # BSA 1.732 m2: 8.7 mg, under the cap
    assert "= 8.7 mg (max 20 mg)" in plan.days[0].premedication
    big = RuleSet.from_mapping({"pediatric_dexamethasone_mg_per_m2": 15})  # 26 mg -> capped at 20
    assert "= 20.0 mg" in dose_plan(RR, 60, 180, 1, age_years=15, rules=big).days[0].premedication


def test_unknown_age_shows_both_premedications():
    text = dose_plan(RR, 70, None, 2).days[0].premedication
    assert text.startswith("adults: dexamethasone 20 mg") and "children: none after cycle 1" in text


# --- treatment plan ---------------------------------------------------------------------------------


def test_treatment_plan_rr_calendar():
    plan = treatment_plan(RR, 70, None, D0)
    assert [c.cycle for c in plan.cycles] == list(range(1, 10))
    assert plan.cycles[1].start_date == D0 + timedelta(days=42)
    assert plan.cycles[5].start_date == D0 + timedelta(days=5 * 42)
    assert plan.end_date == D0 + timedelta(days=5 * 42 + 4 * 84 - 1)
    assert plan.cycles[0].days[41].date == D0 + timedelta(days=41)


def test_treatment_plan_with_actual_cycle_starts():
    plan = treatment_plan(CONS, 70, None, D0, cycles=2, cycle_starts={2: date(2024, 3, 15)})
    assert plan.cycles[1].start_date == date(2024, 3, 15)
    assert set(plan.unconfirmed_rules) >= {"consolidation_cycles"}
    with pytest.raises(RuleInputError, match=r"cycle_starts\[2\]"):
        treatment_plan(CONS, 70, None, D0, cycles=2, cycle_starts={2: date(2024, 1, 20)})
    with pytest.raises(RuleInputError, match="cycles"):
        treatment_plan(MRD, 70, None, D0, cycles=5)


def test_planned_daily_dose_day_out_of_cycle():
    with pytest.raises(RuleInputError, match="day=43 is outside the legal range 1 to 42"):
        planned_daily_dose(RR, 1, None, 43, 70, None)


# --- interruptions ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stop", "restart", "continues"),
    [(10, 17, True), (10, 18, False), (10, 11, True), (1, 9, False)],  # 7 days continue, 8 start a new cycle
)
def test_interruption_7_vs_8_days(stop, restart, continues):
    plan = dose_plan(RR, 70, None, 2, start_date=D0)
    result = apply_interruption(plan, stop, restart)
    assert result.continues_cycle is continues
    assert result.interruption_days == restart - stop
    assert result.infusion_days_before == stop - 1
    if continues:
        length = restart - stop
        assert len(result.plan.infusion_days) == 28
        assert result.plan.infusion_days[-1] == 28 + length
        assert result.plan.interrupted_days == tuple(range(stop, restart))
        assert len(result.plan.treatment_free_days) == 14
        assert result.plan.length_days == 42 + length
        assert "restart" in result.plan.days[restart - 1].premedication
        assert result.new_cycle_start_date is None
    else:
        assert result.plan.length_days == stop - 1
        assert result.new_cycle_start_day == restart
        assert result.new_cycle_start_date == D0 + timedelta(days=restart - 1)


def test_interruption_keeps_step_by_infusion_day():
    plan = dose_plan(RR, 70, None, 1)
    continued = apply_interruption(plan, 5, 8).plan  # 4 step days, 3 days off, then 3 more step days
    levels = [d.level for d in continued.days if d.infusing]
    assert levels[:7] == [DoseLevel.STEP] * 7 and levels[7] is DoseLevel.FULL
    assert continued.days[10].dose_mcg_per_day == 28.0 and continued.days[9].dose_mcg_per_day == 9.0
    assert "dose step-up" in continued.days[10].premedication


def test_interruption_with_dates_and_twice():
    plan = dose_plan(MRD, 70, None, 1, start_date=D0)
    once = apply_interruption(plan, date(2024, 1, 5), date(2024, 1, 8)).plan
    twice = apply_interruption(once, date(2024, 1, 20), date(2024, 1, 22))
    assert twice.continues_cycle
    assert len(twice.plan.infusion_days) == 28
    assert twice.plan.interrupted_days == (5, 6, 7, 20, 21)
    assert twice.plan.end_date == D0 + timedelta(days=42 + 5 - 1)


@pytest.mark.parametrize(
    ("start", "end", "argument"),
    [
        (29, 31, "start"),
        (10, 10, "end"),
        (10, 9, "end"),
        (0, 3, "start"),
        (date(2024, 1, 5), date(2024, 1, 8), "start"),
    ],
)
def test_interruption_bad_input(start, end, argument):
    plan = dose_plan(RR, 70, None, 2)  # undated: dates are refused
    with pytest.raises(RuleInputError) as caught:
        apply_interruption(plan, start, end)
    assert caught.value.argument == argument


def test_explicit_default_rules_give_the_same_plan():
    assert dose_plan(RR, 70, None, 1) == dose_plan(RR, 70, None, 1, rules=DEFAULT_RULES)
