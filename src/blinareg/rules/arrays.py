"""The clinical rules' kernels, written once for Python numbers and for NumPy arrays alike.

Each kernel is the one implementation of its rule: the scalar functions of `blinareg.rules` call it
with floats and bools (no NumPy is imported on that path, so the calculators start fast), and the
column-wise `blinareg.rules.frames` call it with arrays. The rule itself is written with operators that
mean the same on both (comparisons, `&`, `|`, `abs`, NaN != NaN); only the selection helpers below
dispatch on the input kind.
"""

from __future__ import annotations

from typing import Any

from blinareg.rules.dosing import DOSE_EPSILON
from blinareg.rules.ruleset import RuleSet
from blinareg.rules.vocabulary import DoseDeviationKind

__all__ = [
    "DEVIATION_CODE",
    "DEVIATION_KINDS",
    "MRD_STATUS_CODES",
    "classify_dose_days",
    "mrd_status_codes",
    "patient_daily_doses",
]

# Deviation kinds as small integers (0 = no deviation; k = DEVIATION_KINDS[k - 1]).
DEVIATION_KINDS = tuple(DoseDeviationKind)
DEVIATION_CODE = {kind: index + 1 for index, kind in enumerate(DEVIATION_KINDS)}
# Status codes of `mrd_status_codes`, by position.
MRD_STATUS_CODES = (
    "positive",
    "negative_detected",
    "negative_not_detected",
    "not_evaluable_unknown_sensitivity",
    "not_evaluable_coarse_sensitivity",
)


def _scalar(value: Any) -> bool:
    return isinstance(value, (bool, int, float))


def _not(condition: Any) -> Any:
    return (not condition) if isinstance(condition, bool) else ~condition


def _where(condition: Any, yes: Any, no: Any) -> Any:
    if isinstance(condition, bool):
        return yes if condition else no
    import numpy as np

    return np.where(condition, yes, no)


def _minimum(a: Any, b: Any) -> Any:
    if _scalar(a) and _scalar(b):
        return a if (a != a or a <= b) else b  # NaN propagates, as np.minimum
    import numpy as np

    return np.minimum(a, b)


def _select(conditions: list[Any], choices: list[int], default: int) -> Any:
    """The first choice whose condition holds (elementwise for arrays), else `default`."""
    if all(isinstance(c, bool) for c in conditions):
        return next((choice for condition, choice in zip(conditions, choices) if condition), default)
    import numpy as np

    return np.select(conditions, choices, default=default).astype(np.int8)


def patient_daily_doses(weight: Any, bsa: Any, rules: RuleSet) -> tuple[Any, Any, Any]:
    """(bsa_based, step mcg/day, full mcg/day): the weight rule (clinical-rules.md §1). At or above
    `dose_weight_threshold_kg` (45 kg) the fixed doses (9, 28 mcg/day); below it 5 and 15 mcg/m2/day x BSA,
    capped at 9 and 28 mcg/day. NaN weight -> NaN doses; NaN BSA below the threshold -> NaN doses.
    Floats in, floats out; arrays in, arrays out."""
    nan = float("nan")
    bsa_based = weight < rules.dose_weight_threshold_kg.value
    step_capped = _minimum(rules.step_dose_mcg_per_m2_per_day.value * bsa, rules.step_dose_cap_mcg_per_day.value)
    full_capped = _minimum(rules.full_dose_mcg_per_m2_per_day.value * bsa, rules.full_dose_cap_mcg_per_day.value)
    step = _where(bsa_based, step_capped, rules.step_dose_mcg_per_day.value)
    full = _where(bsa_based, full_capped, rules.full_dose_mcg_per_day.value)
    unknown = weight != weight
    return bsa_based, _where(unknown, nan, step), _where(unknown, nan, full)


def classify_dose_days(infusing: Any, level_step: Any, delivered: Any, planned: Any, other: Any, rules: RuleSet) -> Any:
    """Deviation code of a plan day (0: none; k: DEVIATION_KINDS[k - 1]), clinical-rules.md §1 doses and caps.

    Order: delivery on a non-infusion day -> treatment-free-day infusion; nothing delivered on an
    infusion day -> not infused; the other step's dose given -> wrong step; above the planned step's
    cap (strict) -> above cap; within `dose_tolerance_fraction` of the plan -> none; else above/below.
    """
    tol = rules.dose_tolerance_fraction.value
    cap = _where(level_step, rules.step_dose_cap_mcg_per_day.value, rules.full_dose_cap_mcg_per_day.value)
    given = delivered > DOSE_EPSILON
    within = abs(delivered - planned) <= tol * planned + DOSE_EPSILON
    wrong_step = (
        _not(within) & (abs(other - planned) > DOSE_EPSILON) & (abs(delivered - other) <= tol * other + DOSE_EPSILON)
    )
    above_cap = delivered > cap + DOSE_EPSILON
    off_day = _not(infusing)
    return _select(
        [off_day & given, off_day, _not(given), wrong_step, above_cap, within, delivered > planned],
        [
            DEVIATION_CODE[DoseDeviationKind.TREATMENT_FREE_DAY_INFUSION],
            0,
            DEVIATION_CODE[DoseDeviationKind.NOT_INFUSED],
            DEVIATION_CODE[DoseDeviationKind.WRONG_STEP],
            DEVIATION_CODE[DoseDeviationKind.ABOVE_CAP],
            0,
            DEVIATION_CODE[DoseDeviationKind.ABOVE_PLAN],
        ],
        DEVIATION_CODE[DoseDeviationKind.BELOW_PLAN],
    )


def mrd_status_codes(value: Any, sensitivity: Any, threshold: float, complete_sensitivity: float) -> tuple[Any, Any]:
    """(code, complete) of a measurement; `value` is the fraction (0 = not detected), `sensitivity` the
    assay limit (NaN unknown). Codes index MRD_STATUS_CODES: positive when value >= threshold; negative
    when detected below it, or not detected at a sensitivity <= threshold; otherwise not evaluable
    (sensitivity unknown, or coarser than the threshold). Complete: not detected at a sensitivity <=
    `complete_sensitivity` (clinical-rules.md §4)."""
    unknown = sensitivity != sensitivity
    code = _select([value >= threshold, value > 0, unknown, sensitivity <= threshold], [0, 1, 3, 2], 4)
    complete = (value == 0) & (sensitivity <= complete_sensitivity)
    return code, complete
