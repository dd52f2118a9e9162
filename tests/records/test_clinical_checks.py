"""Clinical-rule checks inside validate(): grades and doses are flagged as warnings, never replaced."""

from __future__ import annotations

from blinareg.records.problems import Severity
from blinareg.records.validation import validate
from tests.derive.factories import D, adverse, build, course, delivered, interruption, person

CLINICAL = {
    "recorded_grade_vs_parameters",
    "icans_assessment_tool",
    "delivered_dose_vs_plan",
    "dose_unit_vs_weight",
    "dose_in_label_range",
}


def _clinical(registry):
    return [p for p in validate(registry) if p.check in CLINICAL]


def test_consistent_records_raise_nothing():
    registry = build(
        person("A"),
        course("A", D(2019, 1, 1)),
        delivered("A", 1, D(2019, 1, 1), D(2019, 1, 7), 9.0),
        delivered("A", 1, D(2019, 1, 8), D(2019, 1, 28), 28.0),
        adverse("A", 1, "crs", 3, D(2019, 1, 3), temperature_c=39.5, vasopressors=1, vasopressin=False, oxygen="none"),
    )
    assert _clinical(registry) == []


def test_recorded_grade_disagreeing_with_parameters_is_a_warning():
    registry = build(
        person("A", birth=D(2000, 1, 1)),
        adverse("A", 1, "crs", 2, D(2019, 1, 3), temperature_c=39.5, vasopressors=1, vasopressin=False, oxygen="none"),
        adverse("A", 2, "crs", 1, D(2019, 1, 4), temperature_c=39.5),
    )  # parameters do not decide: no flag
    problems = _clinical(registry)
    assert len(problems) == 1
    problem = problems[0]
    assert problem.severity is Severity.WARNING and problem.field == "grade" and problem.value == 2
    assert problem.reason.startswith("recorded grade 2 but the recorded parameters give ASTCT grade 3 (")
    assert problem.key == "event_number=1" and problem.patient_id == "A"
    # Flagged, never replaced.
    assert registry["adverse_event"]["grade"].tolist() == [2, 1]


def test_icans_age_comes_from_the_birth_date():
    # CAPD 12 (>= 9) gives grade 3 for a 6-year-old; the same record for an adult has no ICE score -> undetermined.
    child = build(
        person("C", birth=D(2013, 1, 1), dx=D(2018, 1, 1)),
        adverse(
            "C",
            1,
            "icans",
            1,
            D(2019, 6, 1),
            capd_score=12,
            consciousness="awakens_spontaneously",
            seizure="none",
            motor="none",
            cerebral_edema="none",
        ),
    )
    problems = _clinical(child)
    assert [p.check for p in problems] == ["recorded_grade_vs_parameters"]
    assert "grade 3" in problems[0].reason
    older = build(
        person("O", birth=D(1990, 1, 1)),
        adverse(
            "O",
            1,
            "icans",
            1,
            D(2019, 6, 1),
            capd_score=12,
            consciousness="awakens_spontaneously",
            seizure="none",
            motor="none",
            cerebral_edema="none",
        ),
    )
    assert [p.check for p in _clinical(older)] == ["icans_assessment_tool"]


def test_wrong_step_names_cycle_dates_and_doses():
    registry = build(person("A"), course("A", D(2019, 1, 1)), delivered("A", 1, D(2019, 1, 1), D(2019, 1, 28), 28.0))
    problems = _clinical(registry)
    assert len(problems) == 1
    problem = problems[0]
    assert problem.check == "delivered_dose_vs_plan" and problem.severity is Severity.WARNING
    assert problem.reason == (
        "cycle 1, 2019-01-01 to 2019-01-07 (days 1-7: the dose of the other step was given "
        "(planned 9.00, delivered 28.00 mcg/day))"
    )
    assert problem.key == "cycle_number=1, kind=delivered, start_date=2019-01-01"


def test_above_cap_and_treatment_free_day():
    registry = build(
        person("K", weight=40.0, height=150.0),
        course("K", D(2019, 1, 1), indication="mrd_positive", intent="mrd_clearance"),
        delivered("K", 1, D(2019, 1, 1), D(2019, 1, 28), 40.0, unit="mcg/m2/day"),
        delivered("K", 1, D(2019, 1, 30), D(2019, 1, 31), 15.0, unit="mcg/m2/day"),
    )
    reasons = [p.reason for p in _clinical(registry) if p.check == "delivered_dose_vs_plan"]
    assert len(reasons) == 2
    assert "dose above the cap" in reasons[0] and "2019-01-01 to 2019-01-28" in reasons[0]
    assert "infusion on a day planned without infusion" in reasons[1] and "2019-01-30 to 2019-01-31" in reasons[1]
    assert any(
        p.check == "dose_in_label_range" and "40 mcg/m2/day is outside the label's range 5 to 15" in p.reason
        for p in _clinical(registry)
    )


def test_interruption_days_are_not_missed_days_and_restart_is_not_flagged():
    registry = build(
        person("I"),
        course("I", D(2019, 1, 1), indication="mrd_positive", intent="mrd_clearance"),
        interruption("I", 1, D(2019, 1, 5), D(2019, 1, 8)),
        delivered("I", 1, D(2019, 1, 1), D(2019, 1, 4), 28.0),
        delivered("I", 1, D(2019, 1, 8), D(2019, 1, 28), 28.0),
    )
    assert _clinical(registry) == []


def test_dose_unit_inconsistent_with_weight():
    light = build(
        person("L", weight=30.0, height=130.0),
        course("L", D(2019, 1, 1), indication="mrd_positive", intent="mrd_clearance"),
        delivered("L", 1, D(2019, 1, 1), D(2019, 1, 28), 15.0, unit="mcg/day"),
    )
    found = [p for p in _clinical(light) if p.check == "dose_unit_vs_weight"]
    assert len(found) == 1 and "mcg/day for a patient of 30 kg" in found[0].reason and found[0].field == "unit"
    heavy = build(
        person("H", weight=60.0),
        course("H", D(2019, 1, 1), indication="mrd_positive", intent="mrd_clearance"),
        delivered("H", 1, D(2019, 1, 1), D(2019, 1, 28), 15.0, unit="mcg/m2/day"),
    )
    found = [p for p in _clinical(heavy) if p.check == "dose_unit_vs_weight"]
    assert len(found) == 1 and "mcg/m2/day for a patient of 60 kg" in found[0].reason


def test_cycle_without_delivered_segments_is_allowed():
    registry = build(person("P"), course("P", D(2019, 1, 1), cycles=3))
    assert _clinical(registry) == []


def test_all_clinical_problems_are_warnings():
    registry = build(
        person("A", weight=30.0, height=130.0),
        course("A", D(2019, 1, 1)),
        delivered("A", 1, D(2019, 1, 1), D(2019, 2, 20), 60.0),
        adverse("A", 1, "crs", 1, D(2019, 1, 3), temperature_c=39.5, vasopressors=2, vasopressin=False, oxygen="none"),
    )
    problems = _clinical(registry)
    assert {p.check for p in problems} == CLINICAL - {"icans_assessment_tool"}
    assert all(p.severity is Severity.WARNING for p in problems)
