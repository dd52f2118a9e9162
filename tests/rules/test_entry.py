"""What the data-entry forms show (rules.entry), on hand-worked cases.

Hand-worked: ASTCT CRS (Lee et al. 2019): fever >= 38.0 C; hypotension without vasopressors 2, one
vasopressor 3, several 4; low-flow O2 2, high-flow 3; grade = the more severe. ICANS: ICE 7-9 -> 1,
3-6 -> 2; awakens only to touch 3; prolonged seizure 4; CAPD >= 9 -> 3; CAPD under 12 years.
Dosing (< 45 kg): BSA = sqrt(132 cm x 31.5 kg / 3600) = 1.0747 m2; step 5 mcg/m2/day = 5.3735 mcg/day,
full 15 mcg/m2/day = 16.1206 mcg/day; relapsed/refractory cycle 1 steps up on day 8, hospital days 1-9,
14 treatment-free days after 28 infusion days. Relapse timing: BFM very early < diagnosis + 18 months,
early < end of front-line + 6 months; COG early < diagnosis + 36 months.
"""

from __future__ import annotations

import datetime as dt
import math

import pytest

from blinareg.records import models as m
from blinareg.rules import RuleInputError
from blinareg.rules.entry import assess_crs_entry, assess_cycle_entry, assess_icans_entry, assess_relapse_entry
from blinareg.rules.vocabulary import DoseAction, DoseDeviationKind

CRS = dict(temperature_c=39.2, hypotension=False, vasopressors=0, vasopressin=False, oxygen="none")
HYPO = ("hypotension", "vasopressors", "vasopressin")


@pytest.mark.parametrize(
    ("changes", "recorded", "grade", "deciding", "missing", "required"),
    [
        ({}, 1, 1, ("temperature_c",), (), False),
        ({"hypotension": True}, 2, 2, HYPO, (), False),
        ({"hypotension": True}, 3, 2, HYPO, (), True),  # disagreement without its reason
        (
            {"hypotension": True, "disagreement_reason": "vasopressor given outside the ICU"},
            3,
            2,
            HYPO,
            (),
            False,
        ),
        (
            {"temperature_c": 38.5, "hypotension": True, "vasopressors": 1, "oxygen": "high_flow"},
            3,
            3,
            (*HYPO, "oxygen"),
            (),
            False,
        ),
        ({"oxygen": "low_flow"}, 2, 2, ("oxygen",), (), False),
        ({"temperature_c": 37.5, "oxygen": "low_flow"}, 1, 0, ("temperature_c",), (), True),
        # Two vasopressors give grade 4 whatever the parameters not entered.
        (
            {"hypotension": None, "vasopressin": None, "oxygen": None, "vasopressors": 2},
            4,
            4,
            (),
            ("hypotension", "vasopressin", "oxygen"),
            False,
        ),
        (
            {"hypotension": None, "vasopressors": None, "vasopressin": None, "oxygen": None},
            2,
            None,
            (),
            ("hypotension", "vasopressors", "vasopressin", "oxygen"),
            False,
        ),
    ],
)
def test_crs_entry(changes, recorded, grade, deciding, missing, required):
    entry = assess_crs_entry({**CRS, **changes, "grade": recorded})
    assert (entry.computed_grade, entry.deciding, entry.missing) == (grade, deciding, missing)
    assert entry.disagrees is (grade is not None and grade != recorded)
    assert entry.reason_required is required
    assert "ASTCT" in entry.source


def test_crs_reason_names_the_deciding_domain_and_what_is_still_needed():
    assert assess_crs_entry({**CRS, "hypotension": True, "grade": 2}).reason == (
        "fever 39.2 C; hypotension grade 2, hypoxia grade 0 (none); grade = the more severe"
    )
    assert "CRS criteria not met" in assess_crs_entry({**CRS, "temperature_c": 37.0, "grade": 1}).reason
    pending = assess_crs_entry({"temperature_c": 39.0, "grade": 2})
    assert pending.reason.endswith("enter hypotension, vasopressors, vasopressin, oxygen")
    died = assess_crs_entry({**CRS, "grade": 5})
    assert (died.computed_grade, died.disagrees) == (None, False) and "not computed" in died.reason


def test_crs_entry_takes_a_stored_record_model():
    event = m.AdverseEvent(
        patient_id="P1",
        event_number=1,
        term="crs",
        grading_system="astct",
        grade=3,
        onset_date=dt.date(2021, 5, 22),
        **{**CRS, "hypotension": True},
    )
    entry = assess_crs_entry(event)
    assert (entry.recorded_grade, entry.computed_grade, entry.reason_required) == (3, 2, True)
    explained = assess_crs_entry(event.model_copy(update={"disagreement_reason": "per treating physician"}))
    assert (explained.disagrees, explained.reason_required, explained.disagreement_reason) == (
        True,
        False,
        "per treating physician",
    )


ICANS = dict(consciousness="normal", seizure="none", motor="none", cerebral_edema="none")


@pytest.mark.parametrize(
    ("age", "fields", "recorded", "grade", "deciding", "notes"),
    [
        (30, {"ice_score": 8}, 1, 1, ("ICE score",), 0),
        (30, {"ice_score": 5}, 2, 2, ("ICE score",), 0),
        (30, {"ice_score": 5, "consciousness": "awakens_to_touch"}, 2, 3, ("consciousness",), 0),
        (30, {"ice_score": 10}, 1, 0, (), 0),
        (8, {"capd_score": 12}, 3, 3, ("CAPD score",), 0),
        (8, {"capd_score": 12, "ice_score": 9}, 3, 3, ("CAPD score",), 1),  # ICE set aside at age 8
        (30, {"ice_score": 9, "capd_score": 12}, 1, 1, ("ICE score",), 1),  # CAPD set aside at 30
    ],
)
def test_icans_entry(age, fields, recorded, grade, deciding, notes):
    entry = assess_icans_entry({**ICANS, **fields, "grade": recorded}, age_years=age)
    assert (entry.computed_grade, entry.deciding, len(entry.notes)) == (grade, deciding, notes)
    assert entry.disagrees is (grade != recorded) and entry.reason_required is (grade != recorded)
    assert entry.missing == ()


def test_icans_entry_with_parameters_still_missing():
    seizure = assess_icans_entry({"seizure": "prolonged", "grade": 4}, age_years=30)
    assert (seizure.computed_grade, seizure.deciding) == (4, ("seizure",))
    assert seizure.missing == ("ice_score", "consciousness", "motor", "cerebral_edema")
    open_ = assess_icans_entry({"ice_score": 9, "grade": 1}, age_years=30)
    assert open_.computed_grade is None and open_.reason.endswith("enter consciousness, seizure, motor, cerebral_edema")
    no_age = assess_icans_entry({**ICANS, "ice_score": 9, "grade": 1}, age_years=None)
    assert "selects ICE or CAPD" in no_age.notes[0] and no_age.missing == ()


START = dt.date(2021, 5, 21)
CYCLE = {"indication": "relapsed_refractory", "cycle_number": 1, "start_date": START}
CHILD = {"weight_kg": 31.5, "height_cm": 132.0, "age_years": 11}
STEP, FULL = 5 * math.sqrt(132 * 31.5 / 3600), 15 * math.sqrt(132 * 31.5 / 3600)


def _day(n: int) -> dt.date:
    return START + dt.timedelta(days=n - 1)


def _segment(first: int, last: int, dose: float, unit: str = "mcg/m2/day") -> dict:
    return {"start_date": _day(first), "end_date": _day(last), "dose": dose, "unit": unit, "kind": "delivered"}


def test_cycle_plan_for_the_weight_and_bsa_without_deviation():
    entry = assess_cycle_entry(CYCLE, **CHILD, delivered=[_segment(1, 7, 5.0), _segment(8, 28, 15.0)])
    plan = entry.plan
    assert plan.step_dose_mcg_per_day == pytest.approx(STEP) and plan.full_dose_mcg_per_day == pytest.approx(FULL)
    assert STEP == pytest.approx(5.37355, abs=1e-5) and FULL == pytest.approx(16.12064, abs=1e-5)
    assert entry.step_up_day == 8
    assert entry.treatment_free_days == tuple(range(29, 43))
    assert entry.hospitalization_days == tuple(range(1, 10))
    assert [day for day, _ in entry.premedication] == [1, 8]
    assert len(entry.planned_days) == 42
    assert [s.deviating for s in entry.segments] == [False, False] and entry.deviations == ()
    assert entry.interruptions == () and entry.modifications == ()


def test_cycle_segments_marked_with_the_deviation_and_by_how_much():
    # Days 8-28 given at 28 mcg/day (the adult full dose) instead of 16.12: above the plan by 11.88.
    entry = assess_cycle_entry(
        CYCLE, **CHILD, delivered=[_segment(1, 7, 5.0), _segment(8, 28, 28.0, "mcg/day"), _segment(30, 31, 5.0)]
    )
    first, second, third = entry.segments
    assert not first.deviating
    assert second.deviating and [d.kind for d in second.deviations] == [DoseDeviationKind.ABOVE_PLAN]
    assert second.largest_difference_mcg_per_day == pytest.approx(28.0 - FULL)
    assert third.deviating and third.deviations[0].kind is DoseDeviationKind.TREATMENT_FREE_DAY_INFUSION
    assert third.largest_difference_mcg_per_day == pytest.approx(STEP)


@pytest.mark.parametrize(
    ("stop", "restart", "continues", "new_start"),
    [
        (5, 6, True, None),  # 1 day: the cycle continues
        (5, 12, True, None),  # 7 days: still continues
        (5, 13, False, _day(13)),  # 8 days: a new cycle starts on the restart day
    ],
)
def test_cycle_interruptions_continue_up_to_seven_days(stop, restart, continues, new_start):
    entry = assess_cycle_entry(CYCLE, **CHILD, interruptions=[{"start_date": _day(stop), "end_date": _day(restart)}])
    (interruption,) = entry.interruptions
    assert (interruption.days, interruption.continues_cycle, interruption.new_cycle_start_date) == (
        restart - stop,
        continues,
        new_start,
    )
    if continues:  # 28 infusion days in all, the step-up after 7 infusion days
        assert len(entry.plan.infusion_days) == 28 and entry.step_up_day == 8 + (restart - stop)
    else:
        assert len(entry.plan.infusion_days) == 4 and entry.plan.length_days == stop - 1


def test_an_interruption_after_the_cycle_ended_is_not_applied():
    entry = assess_cycle_entry(
        CYCLE,
        **CHILD,
        interruptions=[
            {"start_date": _day(5), "end_date": _day(15)},
            {"start_date": _day(20), "end_date": _day(21)},
        ],
    )
    assert [i.continues_cycle for i in entry.interruptions] == [False, None]
    assert "not applied" in entry.interruptions[1].reason


def test_cycle_dose_modification_advice_for_recorded_grades():
    events = [
        {"event_number": 1, "term": "crs", "grade": 3, "onset_date": _day(3)},
        {"event_number": 2, "term": "icans", "grade": 4, "onset_date": _day(10)},
        {"event_number": 3, "term": "crs", "grade": 1, "onset_date": _day(12)},
        {"event_number": 4, "term": "febrile_neutropenia", "grade": 3, "onset_date": _day(12)},
    ]
    entry = assess_cycle_entry(CYCLE, **CHILD, adverse_events=events)
    assert [(m.event_number, m.advice.action) for m in entry.modifications] == [
        (1, DoseAction.INTERRUPT),
        (2, DoseAction.DISCONTINUE),
        (3, DoseAction.CONTINUE),
    ]
    assert all("dose-modification table" in m.advice.source for m in entry.modifications)
    assert "dm_escalation_after_days" in entry.unconfirmed_rules


def test_cycle_without_start_date_shows_the_plan_and_says_what_is_missing():
    entry = assess_cycle_entry({**CYCLE, "start_date": None}, **CHILD, delivered=[_segment(1, 7, 5.0)])
    assert entry.plan.days[7].dose_mcg_per_day == pytest.approx(FULL)
    assert entry.deviations == () and "enter the start date" in entry.notes[-1]
    with pytest.raises(RuleInputError):
        assess_cycle_entry({**CYCLE, "cycle_number": 12}, **CHILD)


DIAGNOSIS, END_OF_FRONTLINE = dt.date(2018, 1, 10), dt.date(2020, 1, 12)


@pytest.mark.parametrize(
    ("relapse", "bfm", "cog", "site", "marrow", "group", "risk"),
    [
        # 2021-05-03: >= 6 months after end of front-line (2020-07-12): late; >= 36 months: COG late.
        (
            {
                "relapse_date": dt.date(2021, 5, 3),
                "site_bone_marrow": True,
                "site_cns": True,
                "marrow_blasts_pct": 45.0,
            },
            "late",
            "late",
            "combined",
            "M3",
            "S2",
            "standard",
        ),
        # 2020-03-01: >= 18 months after diagnosis, < end + 6 months: early; < 36 months: COG early.
        (
            {"relapse_date": dt.date(2020, 3, 1), "site_bone_marrow": True, "marrow_blasts_pct": 60.0},
            "early",
            "early",
            "isolated_marrow",
            "M3",
            "S3",
            "high",
        ),
        # 2019-05-03: < 18 months: very early; blasts missing, marrow only -> M3 threshold stands in.
        (
            {"relapse_date": dt.date(2019, 5, 3), "site_bone_marrow": True},
            "very_early",
            "very_early",
            "isolated_marrow",
            "M3",
            "S4",
            "high",
        ),
        (
            {
                "relapse_date": dt.date(2021, 5, 3),
                "site_bone_marrow": False,
                "site_testis": True,
                "marrow_blasts_pct": 2.0,
            },
            "late",
            "late",
            "isolated_extramedullary",
            "M1",
            "S1",
            "standard",
        ),
        (
            {"relapse_date": dt.date(2021, 5, 3), "site_bone_marrow": False, "marrow_blasts_pct": 10.0},
            "late",
            "late",
            None,
            "M2",
            None,
            None,
        ),
    ],
)
def test_relapse_entry(relapse, bfm, cog, site, marrow, group, risk):
    entry = assess_relapse_entry(
        {"relapse_number": 1, **relapse}, diagnosis_date=DIAGNOSIS, end_of_frontline_date=END_OF_FRONTLINE
    )
    assert (entry.timing_bfm.timing, entry.timing_cog.timing) == (bfm, cog)
    assert (entry.site.site_class, entry.marrow_status) == (site, marrow)
    assert (None if entry.strategic_group is None else entry.strategic_group.group) == group
    assert (None if entry.intreall is None else entry.intreall.group) == risk
    assert entry.marrow_blasts_recorded is ("marrow_blasts_pct" in relapse)


def test_relapse_entry_notes_what_is_missing_and_second_relapses():
    blank = assess_relapse_entry({"relapse_number": 1, "site_bone_marrow": True}, diagnosis_date=DIAGNOSIS)
    assert blank.timing_bfm is None and "timing needs the diagnosis and relapse dates" in blank.notes
    assert blank.marrow_blasts_used_pct == 25.0 and "taken from the site flags" in blank.notes[0]
    # BFM needs the end of front-line therapy unless the relapse is very early.
    no_end = assess_relapse_entry(
        {"relapse_number": 1, "relapse_date": dt.date(2021, 5, 3), "site_bone_marrow": True, "marrow_blasts_pct": 40.0},
        diagnosis_date=DIAGNOSIS,
    )
    assert no_end.timing_bfm is None and no_end.timing_cog.timing == "late" and no_end.strategic_group is None
    assert any(note.startswith("BFM timing:") for note in no_end.notes)
    second = assess_relapse_entry(
        {"relapse_number": 2, "relapse_date": dt.date(2021, 5, 3), "site_bone_marrow": True, "marrow_blasts_pct": 40.0},
        diagnosis_date=DIAGNOSIS,
        end_of_frontline_date=END_OF_FRONTLINE,
    )
    assert second.strategic_group is None and second.timing_bfm.timing == "late"
    assert "first relapses only" in second.notes[-1]
