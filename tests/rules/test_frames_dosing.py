"""The column-wise rule engine equals the scalar rule functions (one meaning), on many random cycles."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from blinareg.rules.frames import (
    completed_years,
    computed_adverse_event_grades,
    cycle_body_measurements,
    cycle_dose_comparison,
    label_cycle_numbers,
)
from blinareg.records.registry import Registry
from blinareg.rules.dosing import (
    INTERRUPTED_DAY,
    TREATMENT_FREE_DAY,
    initial_layout,
    interrupt_layout,
    interruption_refusal,
)
from blinareg.rules import (
    DEFAULT_RULES,
    RuleInputError,
    RuleSet,
    apply_interruption,
    dose_deviations,
    dose_intensity,
    dose_plan,
    grade_adverse_event,
    max_cycles,
)

D = dt.date
_INDICATIONS = ("relapsed_refractory", "mrd_positive", "consolidation")


def _random_cases(seed: int, patients: int):
    """Random patients, each with 1-9 cycles of one indication, interruptions and delivered segments."""
    rng = np.random.default_rng(seed)
    tables: dict[str, list[dict]] = {
        k: [] for k in ("patient", "body_measurement", "blinatumomab_cycle", "interruption", "dose_segment")
    }
    cases = []
    for p in range(patients):
        pid = f"P{p}"
        indication = _INDICATIONS[rng.integers(3)]
        weight = float(rng.choice([rng.uniform(8, 44.9), rng.uniform(45, 100), 45.0]))
        height = float(rng.uniform(70, 190)) if rng.random() > 0.05 else None
        tables["patient"].append({"patient_id": pid, "center_id": "C", "sex": "female", "birth_date": D(2000, 1, 1)})
        tables["body_measurement"].append(
            {"patient_id": pid, "measurement_date": D(2019, 12, 1), "weight_kg": weight, "height_cm": height}
        )
        count = int(rng.integers(1, max_cycles(indication) + 2))  # sometimes one more than the label gives
        start = D(2020, 1, 1)
        for number in range(1, count + 1):
            tables["blinatumomab_cycle"].append(
                {
                    "patient_id": pid,
                    "cycle_number": number,
                    "line_number": 1,
                    "phase": "induction",
                    "indication": indication,
                    "start_date": start,
                    "end_date": start + dt.timedelta(days=27),
                }
            )
            interruptions = []
            day = int(rng.integers(1, 20))
            for _ in range(int(rng.integers(0, 3))):
                length = int(rng.choice([rng.integers(1, 8), rng.integers(8, 12)]))
                interruptions.append((day, day + length))
                tables["interruption"].append(
                    {
                        "patient_id": pid,
                        "cycle_number": number,
                        "start_date": start + dt.timedelta(days=day - 1),
                        "end_date": start + dt.timedelta(days=day + length - 1),
                        "reason": "crs",
                    }
                )
                day = day + length + int(rng.integers(1, 10))
            segments = []
            day = int(rng.integers(-1, 3))
            last = 28 + int(rng.integers(0, 25))
            while day <= last:
                length = int(rng.integers(1, 12))
                if rng.random() < 0.8:
                    unit = "mcg/m2/day" if (rng.random() < 0.7 and weight < 45) else "mcg/day"
                    dose = float(rng.choice([5, 15, 9, 28, 20, 30, 14.5, 4.9, 40]))
                    if rng.random() < 0.1:
                        unit = "mcg/m2/day" if unit == "mcg/day" else "mcg/day"
                    first = start + dt.timedelta(days=day - 1)
                    end = first + dt.timedelta(days=length - 1)
                    segments.append((first, end, dose, unit))
                    tables["dose_segment"].append(
                        {
                            "patient_id": pid,
                            "cycle_number": number,
                            "kind": "delivered",
                            "start_date": first,
                            "end_date": end,
                            "dose": dose,
                            "unit": unit,
                        }
                    )
                day += length + int(rng.integers(0, 3))
            cases.append((pid, number, indication, weight, height, start, interruptions, segments))
            start = start + dt.timedelta(days=120)
    return Registry({k: pd.DataFrame(v) for k, v in tables.items()}), cases


def _scalar(indication, weight, height, number, start, interruptions, segments, rules):
    try:
        plan = dose_plan(indication, weight, height, number, start_date=start, rules=rules)
    except RuleInputError:
        return None
    for stop, restart in interruptions:
        try:
            result = apply_interruption(plan, stop, restart, rules=rules)
        except RuleInputError:
            continue
        plan = result.plan
        if not result.continues_cycle:
            break
    try:
        runs = dose_deviations(plan, segments, rules=rules) if segments else None
        intensity = dose_intensity(plan, segments, rules=rules) if segments else None
    except RuleInputError:
        runs = intensity = "unknown"
    return plan, runs, intensity


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_cycle_dose_comparison_equals_scalar_rules(seed):
    rules = RuleSet.from_mapping({"consolidation_treatment_free_days": 14}) if seed == 3 else DEFAULT_RULES
    registry, cases = _random_cases(seed, 150)
    result = cycle_dose_comparison(registry, rules)
    cycles = registry["blinatumomab_cycle"]
    by_key = {(p, int(c)): i for i, (p, c) in enumerate(zip(cycles["patient_id"], cycles["cycle_number"]))}
    runs = result.deviations
    checked = 0
    for pid, number, indication, weight, height, start, interruptions, segments in cases:
        row = result.cycles.iloc[by_key[(pid, number)]]
        scalar = _scalar(indication, weight, height, number, start, interruptions, segments, rules)
        if scalar is None:
            assert not row["plan_defined"]
            continue
        plan, expected_runs, intensity = scalar
        assert row["plan_defined"]
        assert row["planned_dose_mcg"] == pytest.approx(plan.planned_total_mcg)
        assert row["plan_end_date"].date() == plan.end_date
        assert row["planned_infusion_days"] == len(plan.infusion_days)
        mine = runs[(runs["patient_id"] == pid) & (runs["cycle_number"] == number)]
        if expected_runs is None or expected_runs == "unknown":
            assert np.isnan(row["delivered_dose_mcg"]) and mine.empty
            continue
        checked += 1
        assert row["delivered_dose_mcg"] == pytest.approx(intensity.delivered_mcg)
        assert row["delivered_outside_plan_mcg"] == pytest.approx(intensity.delivered_outside_plan_mcg)
        assert row["delivered_infusion_days"] == intensity.delivered_infusion_days
        if intensity.relative_dose_intensity is None:
            assert np.isnan(row["dose_intensity"])
        else:
            assert row["dose_intensity"] == pytest.approx(intensity.relative_dose_intensity)
        got = [
            (k, a, b, round(p, 6), round(d, 6))
            for k, a, b, p, d in zip(
                mine["kind"],
                mine["first_day"],
                mine["last_day"],
                mine["planned_mcg_per_day"],
                mine["delivered_mcg_per_day"],
            )
        ]
        want = [
            (r.kind.value, r.first_day, r.last_day, round(r.planned_mcg_per_day, 6), round(r.delivered_mcg_per_day, 6))
            for r in expected_runs
        ]
        assert got == want, (pid, number)
        assert list(mine["message"]) == [r.message for r in expected_runs]
    assert checked > 100


def test_body_measurement_is_latest_on_or_before_start():
    cycles = pd.DataFrame(
        {"patient_id": ["A", "A", "B"], "start_date": pd.to_datetime(["2020-01-10", "2020-03-01", "2020-01-01"])}
    )
    measurements = pd.DataFrame(
        {
            "patient_id": ["A", "A", "A", "B"],
            "measurement_date": pd.to_datetime(["2020-01-01", "2020-01-10", "2020-02-01", "2020-01-02"]),
            "weight_kg": [20.0, 21.0, 22.0, 50.0],
            "height_cm": [100.0, None, 110.0, 160.0],
        }
    )
    out = cycle_body_measurements(cycles, measurements)
    assert out["weight_kg"].tolist()[:2] == [21.0, 22.0]
    assert np.isnan(out["weight_kg"].iloc[2])  # B measured only after the start
    assert np.isnan(out["bsa_m2"].iloc[0])  # no height on that day
    assert out["bsa_m2"].iloc[1] == pytest.approx((110 * 22 / 3600) ** 0.5)


def test_label_cycle_numbers_count_per_line_and_indication():
    cycles = pd.DataFrame(
        {
            "patient_id": ["A"] * 4,
            "cycle_number": [1, 2, 3, 4],
            "line_number": [1, 1, 2, 2],
            "indication": ["mrd_positive"] * 2 + ["relapsed_refractory"] * 2,
            "start_date": pd.to_datetime(["2020-01-01", "2020-02-15", "2021-01-01", "2021-02-15"]),
        }
    )
    assert label_cycle_numbers(cycles).tolist() == [1, 2, 1, 2]


def test_completed_years_uses_birthdays():
    birth = pd.Series(pd.to_datetime(["2008-03-15", "2008-03-15", "2008-02-29"]))
    when = pd.Series(pd.to_datetime(["2020-03-14", "2020-03-15", "2021-02-28"]))
    assert completed_years(birth, when).tolist() == [11.0, 12.0, 12.0]


def test_computed_grades_equal_the_scalar_rule_on_random_events():
    rng = np.random.default_rng(7)
    rows, patients = [], []
    for i in range(400):
        term = "crs" if rng.random() < 0.5 else "icans"
        birth = D(2000, 1, 1) + dt.timedelta(days=int(rng.integers(0, 6000)))
        onset = D(2020, 6, 1)
        patients.append({"patient_id": f"P{i}", "center_id": "C", "sex": "male", "birth_date": birth})
        pick = lambda values: values[rng.integers(len(values))]  # noqa: E731
        row = {
            "patient_id": f"P{i}",
            "event_number": 1,
            "term": term,
            "grading_system": "astct",
            "grade": int(rng.integers(1, 6)),
            "onset_date": onset,
        }
        if term == "crs":
            row.update(
                temperature_c=pick([None, 37.5, 38.0, 39.2]),
                vasopressors=pick([None, 0, 1, 2]),
                vasopressin=pick([None, False, True]),
                oxygen=pick([None, "none", "low_flow", "high_flow", "cpap_bipap"]),
            )
        else:
            row.update(
                ice_score=pick([None, 10, 8, 4, 1]),
                capd_score=pick([None, 0, 5, 12]),
                consciousness=pick([None, "normal", "awakens_to_voice", "unarousable"]),
                seizure=pick([None, "none", "prolonged"]),
                motor=pick([None, "none"]),
                cerebral_edema=pick([None, "none", "focal"]),
            )
        rows.append(row)
    registry = Registry({"patient": pd.DataFrame(patients), "adverse_event": pd.DataFrame(rows)})
    out = computed_adverse_event_grades(registry)
    for i, row in enumerate(rows):
        age = completed_years(
            pd.Series([pd.Timestamp(patients[i]["birth_date"])]), pd.Series([pd.Timestamp(row["onset_date"])])
        )[0]
        if row["grade"] == 5:
            assert out["computed_grade"].iloc[i] is pd.NA
            continue
        params = {
            k: v
            for k, v in row.items()
            if k
            in (
                "temperature_c",
                "vasopressors",
                "vasopressin",
                "oxygen",
                "ice_score",
                "capd_score",
                "consciousness",
                "seizure",
                "motor",
                "cerebral_edema",
            )
        }
        expected = grade_adverse_event(
            row["term"], "astct", age_years=age if row["term"] == "icans" else None, **params
        )
        got = out["computed_grade"].iloc[i]
        assert (got is pd.NA) if expected is None else got == expected.grade, (i, row)
    assert out["computed_grade"].notna().sum() > 50


def test_interrupt_layout_hand_worked():
    # 5 infusion days and 2 treatment-free days; 2 days off from day 3: infusion days 3-5 move to days 5-7.
    layout = initial_layout(5, 2)
    assert layout == (1, 2, 3, 4, 5, TREATMENT_FREE_DAY, TREATMENT_FREE_DAY)
    continued = interrupt_layout(layout, 3, 5, limit_days=7)
    assert continued.continues_cycle and continued.infusion_days_before == 2
    assert continued.days == (1, 2, INTERRUPTED_DAY, INTERRUPTED_DAY, 3, 4, 5, TREATMENT_FREE_DAY, TREATMENT_FREE_DAY)
    assert interruption_refusal(continued.days, 4, 6) == ("start", "must be an infusion day of the plan (days 1 to 7)")
    assert interruption_refusal(continued.days, 5, 5) == ("end", "must be after start")
    ended = interrupt_layout(continued.days, 6, 9, limit_days=2)
    assert not ended.continues_cycle and ended.days == continued.days[:5] and ended.infusion_days_before == 3


def test_interruptions_mean_the_same_in_scalar_and_frame_rules():
    """Hand-worked adult relapsed/refractory cycle 1 (9 mcg/day for 7 infusion days, then 28): off days 5-7
    (continued), a stop on day 6 inside that interruption (refused), off from day 20 for 10 days (> 7: the
    cycle ends). Infusion days 1-4 and 8-19: 7 x 9 + 9 x 28 = 315 mcg; the plan ends on day 19."""
    start = D(2020, 1, 1)
    interruptions = [(5, 8), (6, 7), (20, 30)]
    rows = {
        "patient": [{"patient_id": "P", "center_id": "C", "sex": "female", "birth_date": D(1980, 1, 1)}],
        "body_measurement": [{"patient_id": "P", "measurement_date": start, "weight_kg": 70.0, "height_cm": 170.0}],
        "blinatumomab_cycle": [
            {
                "patient_id": "P",
                "cycle_number": 1,
                "line_number": 1,
                "phase": "induction",
                "indication": "relapsed_refractory",
                "start_date": start,
                "end_date": start + dt.timedelta(days=41),
            }
        ],
        "interruption": [
            {
                "patient_id": "P",
                "cycle_number": 1,
                "start_date": start + dt.timedelta(days=stop - 1),
                "end_date": start + dt.timedelta(days=restart - 1),
                "reason": "crs",
            }
            for stop, restart in interruptions
        ],
        "dose_segment": [],
    }
    registry = Registry({name: pd.DataFrame(frame) for name, frame in rows.items()})
    row = cycle_dose_comparison(registry).cycles.iloc[0]
    plan, _, _ = _scalar("relapsed_refractory", 70.0, 170.0, 1, start, interruptions, [], DEFAULT_RULES)
    assert plan.planned_total_mcg == pytest.approx(315.0) == row["planned_dose_mcg"]
    assert plan.infusion_days == (*range(1, 5), *range(8, 20))
    assert row["planned_infusion_days"] == 16
    assert plan.end_date == row["plan_end_date"].date() == D(2020, 1, 19)
