"""The clinical rules' kernels on NumPy arrays: the one implementation of each rule below, used by the
scalar functions of `blinareg.rules` (on one-element arrays) and by the column-wise `blinareg.rules.frames`.

NumPy only (no pandas), and imported by the scalar functions only when called, so that loading
`blinareg.rules` stays light.
"""

from __future__ import annotations

import numpy as np

from blinareg.rules.ruleset import RuleSet
from blinareg.rules.vocabulary import DoseDeviationKind

__all__ = ["DEVIATION_CODE", "DEVIATION_KINDS", "MRD_STATUS_CODES", "classify_dose_days", "mrd_status_codes", "patient_daily_doses"]

_EPS = 1e-9
# Deviation kinds as small integers (0 = no deviation; k = DEVIATION_KINDS[k - 1]).
DEVIATION_KINDS = tuple(DoseDeviationKind)
DEVIATION_CODE = {kind: index + 1 for index, kind in enumerate(DEVIATION_KINDS)}


def patient_daily_doses(weight, bsa, rules: RuleSet) -> tuple[np.ndarray, ...]:
    """(bsa_based, step mcg/day, full mcg/day) per patient: the one implementation of the weight rule, also
    used by the scalar `rules.dosing.patient_doses` (clinical-rules.md §1). At or above
    `dose_weight_threshold_kg` (45 kg) the fixed doses (9, 28 mcg/day); below it 5 and 15 mcg/m2/day x BSA,
    capped at 9 and 28 mcg/day. NaN weight -> NaN doses; NaN BSA below the threshold -> NaN doses."""
    weight = np.asarray(weight, dtype=float)
    bsa = np.asarray(bsa, dtype=float)
    bsa_based = weight < rules.dose_weight_threshold_kg.value
    step = np.where(bsa_based, np.minimum(rules.step_dose_mcg_per_m2_per_day.value * bsa,
                                          rules.step_dose_cap_mcg_per_day.value), rules.step_dose_mcg_per_day.value)
    full = np.where(bsa_based, np.minimum(rules.full_dose_mcg_per_m2_per_day.value * bsa,
                                          rules.full_dose_cap_mcg_per_day.value), rules.full_dose_mcg_per_day.value)
    step = np.where(np.isnan(weight), np.nan, step)
    full = np.where(np.isnan(weight), np.nan, full)
    return bsa_based, step, full


def classify_dose_days(infusing: np.ndarray, level_step: np.ndarray, delivered: np.ndarray, planned: np.ndarray,
                       other: np.ndarray, rules: RuleSet) -> np.ndarray:
    """Deviation code per plan day (0: none; k: DEVIATION_KINDS[k - 1]); the one implementation of the
    day rule, also used by the scalar `rules.dose_deviations` (clinical-rules.md §1 doses and caps).

    Order: delivery on a non-infusion day -> treatment-free-day infusion; nothing delivered on an
    infusion day -> not infused; the other step's dose given -> wrong step; above the planned step's
    cap (strict) -> above cap; within `dose_tolerance_fraction` of the plan -> none; else above/below.
    """
    tol = rules.dose_tolerance_fraction.value
    cap = np.where(level_step, rules.step_dose_cap_mcg_per_day.value, rules.full_dose_cap_mcg_per_day.value)
    given = delivered > _EPS
    within = np.abs(delivered - planned) <= tol * planned + _EPS
    wrong_step = ~within & (np.abs(other - planned) > _EPS) & (np.abs(delivered - other) <= tol * other + _EPS)
    above_cap = delivered > cap + _EPS
    code = np.select(
        [~infusing & given, ~infusing, ~given, wrong_step, above_cap, within, delivered > planned],
        [DEVIATION_CODE[DoseDeviationKind.TREATMENT_FREE_DAY_INFUSION], 0, DEVIATION_CODE[DoseDeviationKind.NOT_INFUSED],
         DEVIATION_CODE[DoseDeviationKind.WRONG_STEP], DEVIATION_CODE[DoseDeviationKind.ABOVE_CAP], 0,
         DEVIATION_CODE[DoseDeviationKind.ABOVE_PLAN]],
        default=DEVIATION_CODE[DoseDeviationKind.BELOW_PLAN],
    )
    return code.astype(np.int8)


# Status codes of `mrd_status_codes`, by position.
MRD_STATUS_CODES = ("positive", "negative_detected", "negative_not_detected", "not_evaluable_unknown_sensitivity",
                    "not_evaluable_coarse_sensitivity")


def mrd_status_codes(value: np.ndarray, sensitivity: np.ndarray, threshold: float,
                     complete_sensitivity: float) -> tuple[np.ndarray, np.ndarray]:
    """(code, complete) per measurement; `value` is the fraction (0 = not detected), `sensitivity`
    the assay limit (NaN unknown). Codes index MRD_STATUS_CODES: positive when value >= threshold;
    negative when detected below it, or not detected at a sensitivity <= threshold; otherwise not
    evaluable (sensitivity unknown, or coarser than the threshold)."""
    value = np.asarray(value, dtype=float)
    sens = np.asarray(sensitivity, dtype=float)
    known = ~np.isnan(sens)
    code = np.select([value >= threshold, value > 0, ~known, sens <= threshold], [0, 1, 3, 2], default=4)
    complete = (value == 0) & known & (sens <= complete_sensitivity)
    return code.astype(np.int8), complete


