"""Dose modification table (older Blincyto label, UNCONFIRMED wording; clinical-rules.md §1)."""

from __future__ import annotations

import pytest

from blinareg.rules import RuleInputError, dose_modification
from blinareg.rules.vocabulary import DoseAction


@pytest.mark.parametrize(
    ("event", "grade", "current", "extra", "action"),
    [
        ("crs", 1, 28, {}, DoseAction.CONTINUE),
        ("crs", 2, 28, {}, DoseAction.CONTINUE),
        ("crs", 3, 28, {}, DoseAction.INTERRUPT),
        ("crs", 4, 28, {}, DoseAction.DISCONTINUE),
        ("neurological", 2, 28, {}, DoseAction.CONTINUE),
        ("neurological", 3, 28, {}, DoseAction.INTERRUPT),
        ("neurological", 3, 9, {}, DoseAction.DISCONTINUE),  # occurred at 9 mcg/day
        ("neurological", 3, 28, {"days_to_resolve": 7}, DoseAction.INTERRUPT),
        ("neurological", 3, 28, {"days_to_resolve": 8}, DoseAction.DISCONTINUE),  # > 7 days to resolve
        ("neurological", 4, 28, {}, DoseAction.DISCONTINUE),
        ("seizure", 3, 28, {"seizure_count": 1}, DoseAction.INTERRUPT),
        ("seizure", 3, 28, {"seizure_count": 2}, DoseAction.DISCONTINUE),  # more than one seizure
        ("neurological", 2, 28, {"seizure_count": 2}, DoseAction.DISCONTINUE),
        ("other", 3, 28, {"days_to_resolve": 14}, DoseAction.INTERRUPT),
        ("other", 3, 28, {"days_to_resolve": 15}, DoseAction.DISCONTINUE),  # > 14 days
        ("other", 4, 28, {}, DoseAction.CONSIDER_DISCONTINUATION),
        ("other", 2, 28, {}, DoseAction.CONTINUE),
    ],
)
def test_dose_modification_table(event, grade, current, extra, action):
    result = dose_modification(event, grade, current, weight_kg=70, **extra)
    assert result.action is action
    assert result.reason and "UNCONFIRMED" in result.source
    assert result.unconfirmed_rules  # the whole table is UNCONFIRMED wording
    if action is DoseAction.INTERRUPT:
        assert (result.restart_dose_mcg_per_day, result.escalate_to_mcg_per_day, result.escalate_after_days) == (
            9,
            28,
            7,
        )
    else:
        assert result.restart_dose_mcg_per_day is None


def test_crs_grade_3_steroid_by_weight():
    adult = dose_modification("crs", 3, 28, weight_kg=70)
    assert adult.steroid == "dexamethasone 8 mg every 8 h for up to 3 days, then taper over 4 days"
    child = dose_modification("crs", 3, 15, weight_kg=20, bsa_m2=1.0, dose_unit="mcg/day")
    assert child.steroid.startswith("dexamethasone 5 mg/m2 = 5.0 mg (max 8 mg)")
    assert (child.restart_dose_per_m2, child.restart_dose_mcg_per_day, child.escalate_to_per_m2) == (5.0, 5.0, 15.0)


def test_child_neurotoxicity_at_step_dose_per_m2():
    result = dose_modification("neurological", 3, 5, weight_kg=20, bsa_m2=1.0, dose_unit="mcg/m2/day")
    assert result.action is DoseAction.DISCONTINUE and "step dose" in result.reason


def test_dose_modification_unknown_details_are_stated():
    result = dose_modification("neurological", 3, None, weight_kg=70)
    assert result.action is DoseAction.INTERRUPT
    assert "step dose" in result.reason and "> 7 days" in result.reason


@pytest.mark.parametrize(
    ("args", "kwargs", "argument"),
    [
        (("seizure", 3, 28), {}, "seizure_count"),
        (("crs", 6, 28), {}, "grade"),
        (("crs", 0, 28), {}, "grade"),
        (("fever", 3, 28), {}, "event"),
        (("crs", 3, -1), {}, "current_dose"),
        (("crs", 3, 28), {"dose_unit": "mcg/m2/day"}, "dose_unit"),
    ],
)
def test_dose_modification_bad_input(args, kwargs, argument):
    with pytest.raises(RuleInputError) as caught:
        dose_modification(*args, weight_kg=70, **kwargs)
    assert caught.value.argument == argument
