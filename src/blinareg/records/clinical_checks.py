"""Checks that apply the clinical rules to recorded data (grades, doses): `CLINICAL_CHECKS`.

All are WARNINGS: the recorded value is flagged for a look, never replaced. They use the column-wise
rule engine of `blinareg.rules.frames` (equal to the scalar rules of `blinareg.rules`) with
`DEFAULT_RULES` (validation has no per-center rule set yet).

- `recorded_grade_vs_parameters`: an adverse event whose recorded grade differs from the grade its
  recorded grading parameters give (`rules.grade_adverse_event`; age at onset from the birth date picks
  ICE or CAPD for ICANS). Events whose parameters do not determine one grade are not flagged.
- `icans_assessment_tool`: an ICE score recorded at an age where CAPD applies, or the reverse.
- `delivered_dose_vs_plan`: delivered dose segments against the label plan of their cycle (weight and
  height: the latest measurement on or before the cycle start; recorded interruptions applied): the
  other step's dose given, a dose above the cap, an infusion on a treatment-free day or outside the
  plan. Below/above-plan doses and missed days are counted by `derive` (dose_deviations) but not
  flagged here: they follow interruptions and toxicity restarts the record may not describe.
- `dose_unit_vs_weight`: mcg/day under the weight threshold (45 kg), or mcg/m2/day at or above it.
- `dose_in_label_range`: a delivered daily dose outside the label's doses (9 to 28 mcg/day; 5 to 15
  mcg/m2/day), beyond the rule set's tolerance.
A cycle without delivered segments raises no problem: planned-only data is allowed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from blinareg.rules.frames import computed_adverse_event_grades, cycle_body_measurements, cycle_dose_comparison
from blinareg.records.problems import Problem, Severity
from blinareg.records.registry import Registry
from blinareg.records.check_tools import day_text, problems_where, warning_per_row
from blinareg.rules import DEFAULT_RULES, RuleSet, uses_capd

__all__ = [
    "recorded_grade_vs_parameters",
    "icans_assessment_tool",
    "delivered_dose_vs_plan",
    "dose_unit_vs_weight",
    "dose_in_label_range",
    "FLAGGED_DEVIATIONS",
    "CLINICAL_CHECKS",
]

FLAGGED_DEVIATIONS = ("wrong_step", "above_cap", "treatment_free_day_infusion", "outside_plan")
_SYSTEM_TEXT = {"astct": "ASTCT", "ctcae_v5": "CTCAE v5"}


def recorded_grade_vs_parameters(registry: Registry, rules: RuleSet = DEFAULT_RULES) -> list[Problem]:
    """Recorded grade vs the grade computed from the recorded parameters (flagged, never replaced)."""
    events = registry["adverse_event"]
    if events.empty:
        return []
    computed = computed_adverse_event_grades(registry, rules)
    grade = events["grade"].astype("Int64")
    differs = (computed["computed_grade"].notna() & (computed["computed_grade"] != grade)).fillna(False).to_numpy(bool)
    if not differs.any():
        return []
    system = events["grading_system"].map(_SYSTEM_TEXT).fillna(events["grading_system"].astype(str))
    reason = (
        "recorded grade "
        + grade.astype(str)
        + " but the recorded parameters give "
        + system
        + " grade "
        + computed["computed_grade"].astype(str)
        + " ("
        + computed["computed_reason"].fillna("").astype(str)
        + ")"
    )
    shown = events.assign(
        grade=pd.Series([None if pd.isna(g) else int(g) for g in grade], index=events.index, dtype=object)
    )
    return problems_where(
        "adverse_event",
        shown,
        differs,
        "grade",
        reason,
        severity=Severity.WARNING,
        check_name="recorded_grade_vs_parameters",
    )


def icans_assessment_tool(registry: Registry, rules: RuleSet = DEFAULT_RULES) -> list[Problem]:
    """ICE is for adults and older children, CAPD for young children (ASTCT; age from the birth date)."""
    events = registry["adverse_event"]
    icans = (events["term"] == "icans").to_numpy(bool)
    if not icans.any():
        return []
    age = computed_adverse_event_grades(registry, rules)["age_years"]
    known = age.notna().to_numpy()
    capd = np.zeros(len(events), dtype=bool)
    ages = np.unique(age[known & icans].to_numpy(dtype=float))
    table = {a: uses_capd(a, rules=rules) for a in ages if a >= 0}
    capd[known] = age[known].map(table).eq(True).to_numpy(dtype=bool)
    ice_for_child = icans & known & capd & events["ice_score"].notna().to_numpy()
    capd_for_older = icans & known & ~capd & events["capd_score"].notna().to_numpy()
    age_text = age.map(lambda a: f"{a:g}" if pd.notna(a) else "?")
    problems = problems_where(
        "adverse_event",
        events,
        ice_for_child,
        "ice_score",
        "ICE score recorded at age " + age_text + " years, where ICANS is assessed with CAPD "
        "(ASTCT consensus); the score is not used for the computed grade",
        severity=Severity.WARNING,
        check_name="icans_assessment_tool",
    )
    problems += problems_where(
        "adverse_event",
        events,
        capd_for_older,
        "capd_score",
        "CAPD score recorded at age " + age_text + " years, where ICANS is assessed with ICE "
        "(ASTCT consensus); the score is not used for the computed grade",
        severity=Severity.WARNING,
        check_name="icans_assessment_tool",
    )
    return problems


def delivered_dose_vs_plan(registry: Registry, rules: RuleSet = DEFAULT_RULES) -> list[Problem]:
    """Wrong step, above the cap, infusion on a treatment-free day or outside the plan (per run of days)."""
    if registry["dose_segment"].empty or registry["blinatumomab_cycle"].empty:
        return []
    runs = cycle_dose_comparison(registry, rules).deviations
    runs = runs[runs["kind"].isin(FLAGGED_DEVIATIONS)].reset_index(drop=True)
    if runs.empty:
        return []
    frame = pd.DataFrame(
        {
            "patient_id": runs["patient_id"],
            "cycle_number": runs["cycle_number"],
            "kind": "delivered",
            "start_date": runs["segment_start"],
            "dose": pd.Series([round(float(v), 2) for v in runs["delivered_mcg_per_day"]], dtype=object),
        }
    )
    span = np.where(
        runs["first_date"] == runs["last_date"],
        day_text(runs["first_date"]),
        day_text(runs["first_date"]) + " to " + day_text(runs["last_date"]),
    )
    reason = (
        "cycle "
        + runs["cycle_number"].astype(str)
        + ", "
        + pd.Series(span, index=runs.index)
        + " ("
        + runs["message"]
        + ")"
    )
    return warning_per_row("dose_segment", frame, "dose", reason, "delivered_dose_vs_plan")


def _segment_weights(registry: Registry) -> tuple[pd.DataFrame, np.ndarray]:
    """Delivered segments with the weight of their cycle (latest measurement on or before its start)."""
    segments = registry["dose_segment"]
    segments = segments[segments["kind"] == "delivered"]
    cycles = registry["blinatumomab_cycle"]
    body = cycle_body_measurements(cycles, registry["body_measurement"])
    weight = pd.Series(
        body["weight_kg"].to_numpy(),
        index=pd.MultiIndex.from_arrays([cycles["patient_id"], cycles["cycle_number"].astype("Int64")]),
    )
    weight = weight[~weight.index.duplicated()]
    keys = pd.MultiIndex.from_arrays([segments["patient_id"], segments["cycle_number"].astype("Int64")])
    return segments, weight.reindex(keys).to_numpy(dtype=float)


def dose_unit_vs_weight(registry: Registry, rules: RuleSet = DEFAULT_RULES) -> list[Problem]:
    """mcg/day below the weight threshold, or mcg/m2/day at or above it (clinical-rules.md §1)."""
    if registry["dose_segment"].empty:
        return []
    segments, weight = _segment_weights(registry)
    if segments.empty:  # planned doses only: nothing delivered to check
        return []
    threshold = rules.dose_weight_threshold_kg.value
    unit = segments["unit"].to_numpy(dtype=object)
    fixed_child = (unit == "mcg/day") & (weight < threshold)
    bsa_adult = (unit == "mcg/m2/day") & (weight >= threshold)
    weight_text = pd.Series(weight, index=segments.index).map(lambda w: f"{w:g}")
    problems = problems_where(
        "dose_segment",
        segments,
        fixed_child,
        "unit",
        "dose in mcg/day for a patient of " + weight_text + f" kg: below {threshold:g} kg the "
        "label doses by body surface area (mcg/m2/day)",
        severity=Severity.WARNING,
        check_name="dose_unit_vs_weight",
    )
    problems += problems_where(
        "dose_segment",
        segments,
        bsa_adult,
        "unit",
        "dose in mcg/m2/day for a patient of " + weight_text + f" kg: from {threshold:g} kg the "
        "label gives fixed doses (mcg/day)",
        severity=Severity.WARNING,
        check_name="dose_unit_vs_weight",
    )
    return problems


def dose_in_label_range(registry: Registry, rules: RuleSet = DEFAULT_RULES) -> list[Problem]:
    """A delivered daily dose outside the label's doses in its unit (tolerance `dose_tolerance_fraction`)."""
    segments = registry["dose_segment"]
    segments = segments[segments["kind"] == "delivered"]
    if segments.empty:
        return []
    tol = rules.dose_tolerance_fraction.value
    per_m2 = (segments["unit"] == "mcg/m2/day").to_numpy()
    low = np.where(per_m2, rules.step_dose_mcg_per_m2_per_day.value, rules.step_dose_mcg_per_day.value)
    high = np.where(per_m2, rules.full_dose_mcg_per_m2_per_day.value, rules.full_dose_mcg_per_day.value)
    dose = segments["dose"].to_numpy(dtype=float)
    outside = (dose < low * (1 - tol)) | (dose > high * (1 + tol))
    reason = (
        "daily dose "
        + segments["dose"].map(lambda d: f"{d:g}")
        + " "
        + segments["unit"].astype(str)
        + " is outside the label's range "
        + pd.Series(low, index=segments.index).map(lambda v: f"{v:g}")
        + " to "
        + pd.Series(high, index=segments.index).map(lambda v: f"{v:g}")
        + " "
        + segments["unit"].astype(str)
    )
    return problems_where(
        "dose_segment", segments, outside, "dose", reason, severity=Severity.WARNING, check_name="dose_in_label_range"
    )


# Run by `blinareg.records.validation.validate` after its own checks, in this order.
CLINICAL_CHECKS = (
    recorded_grade_vs_parameters,
    icans_assessment_tool,
    delivered_dose_vs_plan,
    dose_unit_vs_weight,
    dose_in_label_range,
)
