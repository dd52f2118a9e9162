"""Clinical rules for blinatumomab in B-ALL: pure, typed functions with no I/O.

Each function cites its source (clinical-rules.md) in its docstring. Every clinical parameter lives in
a `RuleSet` (value, source, UNCONFIRMED flag); every public function takes ``rules=DEFAULT_RULES``, and
results that used an UNCONFIRMED rule list it in ``unconfirmed_rules`` (render with ``rules.notes``).
Impossible inputs raise `RuleInputError` (a ValueError and a blinareg UserError) naming the argument,
the value and the legal range.
"""

from __future__ import annotations

from blinareg.rules.delivery import DeliveredSegment, DoseDeviation, DoseIntensity, dose_deviations, dose_intensity
from blinareg.rules.dosing import (
    CyclePlan,
    DoseDay,
    DoseLevel,
    InterruptionResult,
    TreatmentPlan,
    apply_interruption,
    body_surface_area,
    dose_plan,
    max_cycles,
    planned_daily_dose,
    treatment_plan,
)
from blinareg.rules.errors import INPUT_RANGES, RuleConfigError, RuleInputError
from blinareg.rules.modification import DoseModification, dose_modification
from blinareg.rules.grading import (
    SUPPORTED_GRADING,
    ComputedGrade,
    CrsGrade,
    CtcaeGrade,
    IcansGrade,
    grade_adverse_event,
    grade_crs,
    grade_ctcae,
    grade_icans,
    nasal_cannula_support,
    uses_capd,
)
from blinareg.rules.relapse import (
    IntreallRiskResult,
    RelapseClassification,
    RelapseSiteResult,
    RelapseTimingResult,
    StrategicGroupResult,
    add_calendar_months,
    bfm_strategic_group,
    classify_relapse,
    intreall_risk,
    marrow_status,
    relapse_site,
    relapse_timing,
)
from blinareg.rules.response import (
    MrdResult,
    ResponseResult,
    meets_mrd_positive_indication,
    mrd_status,
    response_category,
)
from blinareg.rules.ruleset import DEFAULT_RULES, Rule, RuleItem, RuleSet

__all__ = [  # sorted; the imports above group the names by module
    "DEFAULT_RULES",
    "INPUT_RANGES",
    "SUPPORTED_GRADING",
    "ComputedGrade",
    "CrsGrade",
    "CtcaeGrade",
    "CyclePlan",
    "DeliveredSegment",
    "DoseDay",
    "DoseDeviation",
    "DoseIntensity",
    "DoseLevel",
    "DoseModification",
    "IcansGrade",
    "InterruptionResult",
    "IntreallRiskResult",
    "MrdResult",
    "RelapseClassification",
    "RelapseSiteResult",
    "RelapseTimingResult",
    "ResponseResult",
    "Rule",
    "RuleConfigError",
    "RuleInputError",
    "RuleItem",
    "RuleSet",
    "StrategicGroupResult",
    "TreatmentPlan",
    "add_calendar_months",
    "apply_interruption",
    "bfm_strategic_group",
    "body_surface_area",
    "classify_relapse",
    "dose_deviations",
    "dose_intensity",
    "dose_modification",
    "dose_plan",
    "grade_adverse_event",
    "grade_crs",
    "grade_ctcae",
    "grade_icans",
    "intreall_risk",
    "marrow_status",
    "max_cycles",
    "meets_mrd_positive_indication",
    "mrd_status",
    "nasal_cannula_support",
    "planned_daily_dose",
    "relapse_site",
    "relapse_timing",
    "response_category",
    "treatment_plan",
    "uses_capd",
]
