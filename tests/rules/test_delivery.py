"""Delivered versus planned doses: deviations and dose intensity (clinical-rules.md §1 doses and caps)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from blinareg.rules import (
    DeliveredSegment,
    RuleInputError,
    apply_interruption,
    dose_deviations,
    dose_intensity,
    dose_plan,
)
from blinareg.rules.vocabulary import DoseDeviationKind, DosingIndication

RR, MRD, CONS = DosingIndication.RELAPSED_REFRACTORY, DosingIndication.MRD_POSITIVE, DosingIndication.CONSOLIDATION
D0 = date(2024, 1, 1)


def _day(n: int) -> date:
    return D0 + timedelta(days=n - 1)


ADULT_C1 = dose_plan(RR, 70, None, 1, start_date=D0)
EXACT = [(_day(1), _day(7), 9.0), (_day(8), _day(28), 28.0)]


@pytest.mark.parametrize(
    ("segments", "expected"),
    [
        (EXACT, []),
        ([(_day(1), _day(7), 8.8), (_day(8), _day(28), 27.0)], []),  # within the 5% tolerance
        (
            [(_day(1), _day(7), 9.2), (_day(8), _day(28), 28.0)],
            [(DoseDeviationKind.ABOVE_CAP, 1, 7)],
        ),  # caps are strict
        ([(_day(1), _day(7), 8.5), (_day(8), _day(28), 28.0)], [(DoseDeviationKind.BELOW_PLAN, 1, 7)]),
        ([(_day(1), _day(28), 28.0)], [(DoseDeviationKind.WRONG_STEP, 1, 7)]),
        ([(_day(1), _day(28), 9.0)], [(DoseDeviationKind.WRONG_STEP, 8, 28)]),
        ([(_day(1), _day(7), 9.0), (_day(8), _day(28), 30.0)], [(DoseDeviationKind.ABOVE_CAP, 8, 28)]),
        ([(_day(1), _day(7), 9.0), (_day(8), _day(28), 28.5)], [(DoseDeviationKind.ABOVE_CAP, 8, 28)]),
        ([(_day(1), _day(7), 12.0), (_day(8), _day(28), 28.0)], [(DoseDeviationKind.ABOVE_CAP, 1, 7)]),
        ([(_day(1), _day(7), 9.0), (_day(8), _day(28), 20.0)], [(DoseDeviationKind.BELOW_PLAN, 8, 28)]),
        ([(_day(1), _day(7), 9.0)], [(DoseDeviationKind.NOT_INFUSED, 8, 28)]),
        (EXACT + [(_day(29), _day(30), 28.0)], [(DoseDeviationKind.TREATMENT_FREE_DAY_INFUSION, 29, 30)]),
        (EXACT + [(_day(43), _day(43), 28.0)], [(DoseDeviationKind.OUTSIDE_PLAN, 43, 43)]),
        (EXACT + [(_day(0), _day(0), 9.0)], [(DoseDeviationKind.OUTSIDE_PLAN, 0, 0)]),
    ],
)
def test_dose_deviations_adult(segments, expected):
    found = dose_deviations(ADULT_C1, segments)
    assert [(d.kind, d.first_day, d.last_day) for d in found] == expected
    for deviation in found:
        assert deviation.first_date == _day(deviation.first_day)
        assert deviation.message.startswith("day")


CHILD_C1 = dose_plan(RR, 20, None, 1, start_date=D0, bsa_m2=1.0)  # 5 and 15 mcg/day


@pytest.mark.parametrize(
    ("segments", "expected"),
    [
        ([(_day(1), _day(7), 5.0, "mcg/m2/day"), (_day(8), _day(28), 15.0, "mcg/m2/day")], []),
        ([(_day(1), _day(7), 5.0), (_day(8), _day(28), 15.0)], []),
        ([(_day(1), _day(7), 6.0), (_day(8), _day(28), 15.0)], [DoseDeviationKind.ABOVE_PLAN]),
        ([(_day(1), _day(7), 10.0), (_day(8), _day(28), 15.0)], [DoseDeviationKind.ABOVE_CAP]),
        ([(_day(1), _day(7), 9.0), (_day(8), _day(28), 15.0)], [DoseDeviationKind.ABOVE_PLAN]),  # adult dose
        ([(_day(1), _day(7), 15.0), (_day(8), _day(28), 15.0)], [DoseDeviationKind.WRONG_STEP]),
    ],
)
def test_dose_deviations_child(segments, expected):
    assert [d.kind for d in dose_deviations(CHILD_C1, segments)] == expected


def test_deviations_respect_an_applied_interruption():
    continued = apply_interruption(ADULT_C1, 10, 13).plan
    delivered = [
        DeliveredSegment(_day(1), _day(7), 9.0),
        DeliveredSegment(_day(8), _day(9), 28.0),
        DeliveredSegment(_day(13), _day(31), 28.0),
    ]
    assert dose_deviations(continued, delivered) == ()
    assert [d.kind for d in dose_deviations(ADULT_C1, delivered)] == [
        DoseDeviationKind.NOT_INFUSED,
        DoseDeviationKind.TREATMENT_FREE_DAY_INFUSION,
    ]


@pytest.mark.parametrize(
    ("plan", "segments", "argument"),
    [
        (dose_plan(RR, 70, None, 1), EXACT, "plan"),
        (ADULT_C1, [(_day(1), _day(8), 9.0), (_day(8), _day(28), 28.0)], "delivered_segments[1]"),
        (ADULT_C1, [(_day(8), _day(1), 9.0)], "delivered_segments[0].end"),
        (ADULT_C1, [(_day(1), _day(7), -9.0)], "dose"),
        (ADULT_C1, [(_day(1), _day(7), 9.0, "mcg/m2/day")], "delivered_segments[0].unit"),
        (ADULT_C1, [("2024-01-01", _day(7), 9.0)], "delivered_segments[0].start"),
    ],
)
def test_dose_deviations_bad_input(plan, segments, argument):
    with pytest.raises(RuleInputError) as caught:
        dose_deviations(plan, segments)
    assert caught.value.argument == argument


@pytest.mark.parametrize(
    ("segments", "intensity", "days"),
    [
        (EXACT, 1.0, 28),
        ([(_day(1), _day(7), 9.0), (_day(8), _day(14), 28.0)], (63 + 196) / (63 + 588), 14),
        ([], 0.0, 0),
    ],
)
def test_dose_intensity(segments, intensity, days):
    result = dose_intensity(ADULT_C1, segments)
    assert result.planned_mcg == 7 * 9 + 21 * 28
    assert result.relative_dose_intensity == pytest.approx(intensity)
    assert result.delivered_infusion_days == days
    assert result.planned_infusion_days == 28


def test_dose_intensity_outside_plan_is_separate():
    result = dose_intensity(ADULT_C1, EXACT + [(_day(45), _day(46), 28.0)])
    assert result.relative_dose_intensity == 1.0
    assert result.delivered_outside_plan_mcg == 56.0
