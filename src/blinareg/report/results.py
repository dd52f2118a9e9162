"""Typed results of the report: what `analyses` computes and tables, figures, text and results.json read.

Every result is a frozen dataclass; `to_json(result)` turns one (or the whole `ReportResults`) into the
JSON-ready mapping written as results.json (no NaN: a value that cannot be estimated is None, with a
`note` saying why). Fields declared with `optional()` are left out of the JSON when they are None, so
that a note appears only where there is something to say.

Layout of a per-group section: `Grouped(overall, groups)`; `groups` holds the split by the report's `by`
variable (empty without one); a group without patients is `NoPatients()`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any, Generic, TypeVar

__all__ = [
    "optional",
    "to_json",
    "NoPatients",
    "Grouped",
    "Proportion",
    "Distribution",
    "LevelCount",
    "Counts",
    "Flag",
    "Landmark",
    "Median",
    "EndpointSummary",
    "TestResult",
    "FollowUp",
    "Cohort",
    "Exposure",
    "CycleExposure",
    "Response",
    "CountOf",
    "MrdByMethod",
    "Discordance",
    "BaselineStratum",
    "BaselineMrd",
    "GradeCount",
    "GradeSummary",
    "PerCycleSafety",
    "TermCount",
    "Cycle1Term",
    "ActionTerm",
    "AdverseEvents",
    "Safety",
    "ComparisonEndpoint",
    "ComparisonResult",
    "RelapseSummary",
    "Outcomes",
    "ModelTerm",
    "Coefficient",
    "ModelResult",
    "PhTermTest",
    "PhTest",
    "SubgroupHR",
    "SubgroupBlock",
    "SubgroupForest",
    "Courses",
    "ByGroup",
    "Meta",
    "PublishedRow",
    "ReportResults",
]

T = TypeVar("T")


def optional(default: Any = None) -> Any:
    """A field left out of results.json while it is None."""
    return field(default=default, metadata={"omit_none": True})


def to_json(value: Any) -> Any:
    """Dataclasses as mappings (field order), tuples as lists; everything else as it is."""
    if is_dataclass(value) and not isinstance(value, type):
        out = {}
        for item in fields(value):
            entry = getattr(value, item.name)
            if entry is None and item.metadata.get("omit_none"):
                continue
            out[item.name] = to_json(entry)
        return out
    if isinstance(value, Mapping):
        return {key: to_json(entry) for key, entry in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(entry) for entry in value]
    return value


# ----------------------------------------------------------------------------------------------------
# Building blocks
# ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NoPatients:
    """A group (or a whole section) without patients."""

    n: int = 0
    note: str = "no patients"


@dataclass(frozen=True)
class Grouped(Generic[T]):
    """A section for all patients and for each group of the `by` split."""

    overall: T | NoPatients
    groups: Mapping[str, T | NoPatients] = field(default_factory=dict)
    tests: Mapping[str, "TestResult"] | None = optional()  # Table 1 P values across the groups, on request


@dataclass(frozen=True)
class Proportion:
    """x of n with an exact (Clopper-Pearson) interval; `n` is the denominator, stated with the number."""

    x: int
    n: int
    proportion: float | None
    lower: float | None
    upper: float | None
    method: str = "exact (Clopper-Pearson)"
    note: str | None = optional()


@dataclass(frozen=True)
class Distribution:
    """n, median, IQR (R's type-7 quantiles) and range of the known values."""

    n: int
    median: float | None = None
    q1: float | None = None
    q3: float | None = None
    min: float | None = None
    max: float | None = None
    note: str | None = optional()


@dataclass(frozen=True)
class LevelCount:
    level: Any
    n: int
    percent: float | None  # of `Counts.denominator` (patients with a known, applicable value)
    percent_of_all: float | None = optional()  # of every patient of the group (classification rows)


@dataclass(frozen=True)
class Counts:
    """n (%) per level among patients with a known value.

    denominator: patients with a known value; missing: the others, split (where the dataset says) into
    `not_applicable` (no value by definition, e.g. IntReALL risk without a first relapse; reason in
    `not_applicable_reason`) and `unknown` (recorded as unknown or not recorded)."""

    denominator: int
    missing: int
    levels: tuple[LevelCount, ...]
    total: int = 0
    not_applicable: int | None = optional()
    not_applicable_reason: str | None = optional()
    unknown: int | None = optional()


@dataclass(frozen=True)
class Flag:
    """Patients with a yes among those with a known yes/no."""

    n: int
    denominator: int
    percent: float | None
    missing: int


@dataclass(frozen=True)
class CountOf:
    n: int
    denominator: int


@dataclass(frozen=True)
class Landmark:
    """An estimate at a time point (months), with its pointwise CI."""

    months: float
    estimate: float | None
    lower: float | None
    upper: float | None
    n_at_risk: int | None = optional()
    note: str | None = optional()


@dataclass(frozen=True)
class Median:
    months: float | None
    lower: float | None
    upper: float | None
    note: str | None = optional()


@dataclass(frozen=True)
class EndpointSummary:
    """One endpoint in one group: Kaplan-Meier (median present) or cumulative incidence (competing events)."""

    n: int
    events: int
    competing_events: int | None = optional()
    censored: int | None = optional()
    max_follow_up_months: float | None = optional()
    landmarks: tuple[Landmark, ...] | None = optional()  # None only without patients
    median: Median | None = optional()
    rmst: Mapping[str, Any] | None = optional()
    note: str | None = optional()


@dataclass(frozen=True)
class TestResult:
    test: str
    statistic: float | None = None
    df: int | None = None
    p_value: float | None = None
    note: str | None = optional()


@dataclass(frozen=True)
class FollowUp:
    months: float | None
    lower: float | None
    upper: float | None
    n: int
    method: str = "reverse Kaplan-Meier (OS)"
    n_censored: int | None = optional()
    range_months: Mapping[str, float | None] | None = optional()
    note: str | None = optional()


# ----------------------------------------------------------------------------------------------------
# Sections
# ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cohort:
    n: int
    age_at_first_blinatumomab_years: Distribution
    age_at_diagnosis_years: Distribution
    sex: Counts
    immunophenotype: Counts
    relapse_status_at_blinatumomab: Counts
    relapse_site_class: Counts
    relapse_site_detail: Counts
    relapse_timing: Counts
    bfm_strategic_group: Counts
    intreall_risk: Counts
    indication_group: Counts
    relapses_before_blinatumomab: Distribution
    genetics: Mapping[str, Flag]
    prior_hsct: Flag
    months_diagnosis_to_blinatumomab: Distribution
    months_diagnosis_to_blinatumomab_by_indication: Mapping[str, Distribution]
    baseline_mrd_percent: Distribution
    baseline_mrd_percent_by_indication: Mapping[str, Distribution]
    baseline_mrd_method: Counts
    followup_months: Distribution | None = optional()
    baseline_discordance: "Discordance | None" = optional()
    chemotherapy_intolerance_reason: Mapping[str, Counts] | None = optional()


@dataclass(frozen=True)
class CycleExposure:
    cycle_number: int
    patients: int
    infusion_days_median: float | None
    dose_intensity_median: float | None
    interruptions: int
    early_stops: int


@dataclass(frozen=True)
class DoseStep:
    """Daily dose of one step of a phase (from the dataset's `dose_steps`), over the cycles that had it."""

    phase: str
    cycle_number: int | None
    step: int
    unit: str
    patients: int
    planned_daily_dose: Distribution
    delivered_daily_dose: Distribution
    days: Distribution


@dataclass(frozen=True)
class Exposure:
    n: int
    total_cycles: int
    cycles_per_patient: Distribution
    cycles_distribution: Counts
    infusion_days_per_patient: Distribution
    infusion_days_per_cycle: Distribution
    planned_dose_mcg_per_patient: Distribution
    delivered_dose_mcg_per_patient: Distribution
    dose_intensity_per_patient: Distribution
    dose_intensity_per_cycle: Distribution
    patients_with_interruption: Proportion
    total_interruptions: int
    patients_with_dose_deviation: Proportion
    early_stop: Proportion
    early_stop_reason: Counts
    per_cycle: tuple[CycleExposure, ...]
    dose_steps: tuple[DoseStep, ...] | None = optional()


@dataclass(frozen=True)
class MrdByMethod:
    flow: Proportion
    pcr: Proportion


@dataclass(frozen=True)
class Discordance:
    """Flow cytometry vs PCR among patients with both results at one time."""

    n_both_methods: int
    both_negative: int
    flow_negative_pcr_positive: int
    flow_positive_pcr_negative: int
    both_positive: int
    discordant: int
    note: str | None = optional()


@dataclass(frozen=True)
class BaselineStratum:
    n: int
    baseline_mrd_percent: Distribution
    cr_achieved: Proportion
    mrd_negative_best_flow: Proportion
    mrd_negative_best_pcr: Proportion
    note: str | None = optional()


@dataclass(frozen=True)
class BaselineMrd:
    """The high-tumour-load analysis: response with baseline MRD >= threshold vs below."""

    threshold_fraction: float
    threshold_percent: float
    n_measured: int
    strata: Mapping[str, BaselineStratum]
    baseline_mrd_percent_by_best_flow: Mapping[str, Distribution]
    note: str | None = optional()


@dataclass(frozen=True)
class Response:
    n: int
    cr_after_cycle1: Proportion
    cr_achieved: Proportion
    best_response: Counts
    responders: Proportion
    non_responders: CountOf
    complete_mrd_response: Proportion
    mrd_negative: Mapping[str, MrdByMethod]  # "after_cycle1", "best"
    discordance: Mapping[str, Discordance]  # "after_cycle1", "best"
    by_baseline_mrd: BaselineMrd


@dataclass(frozen=True)
class GradeCount:
    grade: int
    n: int
    percent: float | None


@dataclass(frozen=True)
class GradeSummary:
    """Maximum grade per patient among patients with a known maximum grade (`denominator`)."""

    denominator: int
    by_grade: tuple[GradeCount, ...]
    any_grade: Proportion
    grade3plus: Proportion


@dataclass(frozen=True)
class PerCycleSafety:
    cycles: int
    cycles_with_crs: Proportion | None = optional()
    cycles_with_crs_grade3plus: Proportion | None = optional()
    neurotoxicity_events: int | None = optional()
    neurotoxicity_events_per_100_cycles: float | None = optional()
    cycles_with_neurotoxicity: Proportion | None = optional()
    cycles_with_neurotoxicity_grade3plus: Proportion | None = optional()
    note: str | None = optional()


@dataclass(frozen=True)
class TermCount:
    term: str
    events: int
    patients_any_grade: int
    patients_grade3plus: int
    percent_any_grade: float
    percent_grade3plus: float


@dataclass(frozen=True)
class Cycle1Term:
    term: str
    rate: Proportion


@dataclass(frozen=True)
class ActionTerm:
    term: str
    events: int
    patients: int


@dataclass(frozen=True)
class AdverseEvents:
    """Adverse events by term; `window` says which events count (treatment-emergent when the dataset marks
    them), `outside_window` how many recorded events fall outside it (reported apart)."""

    events: int
    by_term: tuple[TermCount, ...] = ()
    cycle1: tuple[Cycle1Term, ...] = ()
    leading_to_interruption: tuple[ActionTerm, ...] = ()
    leading_to_discontinuation: tuple[ActionTerm, ...] = ()
    grade_disagreements: int = 0
    grade_computable: int | None = optional()
    window: str | None = optional()
    outside_window: int | None = optional()
    note: str | None = optional()


@dataclass(frozen=True)
class Safety:
    n: int
    crs_max_grade: GradeSummary
    icans_max_grade: GradeSummary
    neurotoxicity_max_grade: GradeSummary
    grade3plus_any: Proportion
    per_cycle: PerCycleSafety
    adverse_events: AdverseEvents


@dataclass(frozen=True)
class ComparisonEndpoint:
    groups: Mapping[str, EndpointSummary]
    test: TestResult


@dataclass(frozen=True)
class ComparisonResult:
    name: str
    variable: str
    groups: tuple[str, ...]
    population: Mapping[str, list[Any]]
    endpoints: Mapping[str, ComparisonEndpoint] = field(default_factory=dict)
    n_population: int | None = optional()
    n_recorded: int | None = optional()
    group_sizes: Mapping[str, int] | None = optional()
    timing: str | None = optional()
    note: str | None = optional()


@dataclass(frozen=True)
class RelapseSummary:
    """Relapses after the origin (the dataset's `relapses`): CD19 status, the first salvage therapy, and
    post-relapse overall survival by salvage therapy (first relapse after the origin per patient)."""

    relapses: int
    patients: int
    cd19_status: Counts
    salvage_therapy: Counts
    marrow_blasts_pct: Distribution
    post_relapse_os_by_salvage: Mapping[str, EndpointSummary]
    test: TestResult


@dataclass(frozen=True)
class Outcomes:
    endpoints_available: tuple[str, ...]
    overall: Mapping[str, EndpointSummary]
    groups: Mapping[str, Mapping[str, EndpointSummary]]
    by_test: Mapping[str, TestResult]
    median_follow_up: FollowUp
    comparisons: Mapping[str, ComparisonResult]
    relapses: RelapseSummary | None = optional()


@dataclass(frozen=True)
class ModelTerm:
    covariate: str
    type: str  # binary | continuous | categorical
    reference: Any
    label: str = ""
    levels: tuple[Any, ...] = ()


@dataclass(frozen=True)
class Coefficient:
    term: str
    coef: float | None
    se: float | None
    hr: float | None
    lower: float | None
    upper: float | None
    p_value: float | None
    covariate: str | None = optional()
    level: Any = optional()


@dataclass(frozen=True)
class PhTermTest:
    """The proportional-hazards test of one covariate (all its levels jointly) or of the whole model."""

    covariate: str
    label: str
    statistic: float | None
    df: int | None
    p_value: float | None


@dataclass(frozen=True)
class PhTest:
    """R's ``cox.zph``: per covariate and global (`covariate` "GLOBAL")."""

    method: str
    terms: tuple[PhTermTest, ...] = ()
    note: str | None = optional()


@dataclass(frozen=True)
class ModelResult:
    name: str
    kind: str
    endpoint: str
    covariates: tuple[str, ...]
    method: str
    n: int = 0
    events: int = 0
    terms: tuple[ModelTerm, ...] = ()
    coefficients: tuple[Coefficient, ...] = ()
    competing_events: int | None = optional()
    n_excluded_missing: int | None = optional()
    converged: bool | None = optional()
    warnings: tuple[str, ...] | None = optional()
    ratio_name: str | None = optional()
    note: str | None = optional()
    strata: tuple[str, ...] | None = optional()
    ph_test: PhTest | None = optional()


@dataclass(frozen=True)
class SubgroupHR:
    """The hazard ratio of the compared group vs the reference among one subgroup's patients."""

    level: Any
    label: str
    n: int
    events: int
    hr: float | None = None
    lower: float | None = None
    upper: float | None = None
    note: str | None = optional()


@dataclass(frozen=True)
class SubgroupBlock:
    variable: str
    label: str
    levels: tuple[SubgroupHR, ...]
    interaction: TestResult


@dataclass(frozen=True)
class SubgroupForest:
    """HR of `compared` vs `reference` for `endpoint`, overall and within each level of each variable."""

    name: str
    endpoint: str
    variable: str
    reference: str
    compared: str
    method: str
    overall: SubgroupHR
    blocks: tuple[SubgroupBlock, ...] = ()


@dataclass(frozen=True)
class Courses:
    n_patients: int
    n_shown: int
    selection: str
    time_axis: str
    note: str | None = optional()


@dataclass(frozen=True)
class ByGroup:
    label: str
    value: Any
    n: int


@dataclass(frozen=True)
class FreezeSource:
    """The analysis freeze the report was generated from (docs/freezes-and-queries.md)."""

    freeze_id: int
    name: str
    content_sha256: str
    created_at: str
    created_by: str
    centers: tuple[str, ...] | None
    schema_revision: str


@dataclass(frozen=True)
class DataQueryCounts:
    """Data queries of the reported patients by status; `acknowledged_warnings`: acknowledged, not corrected."""

    open: int
    acknowledged: int
    resolved: int
    acknowledged_warnings: int
    open_manual: int


@dataclass(frozen=True)
class Meta:
    n_patients: int
    origin: str
    non_responder: str
    non_responder_definition: str
    time_unit: str
    landmarks_months: tuple[float, ...]
    conf_level: float
    high_tumour_load_mrd_fraction: float
    by: str | None
    by_groups: tuple[ByGroup, ...]
    by_missing: int
    sections: tuple[str, ...]
    as_of: str | None
    conventions: tuple[str, ...]
    unconfirmed_rules: tuple[str, ...]
    synthetic: bool
    data_cutoff: str | None = None
    accrual_first: str | None = None
    accrual_last: str | None = None
    min_recorded_fraction: float | None = optional()
    note: str | None = optional()
    synthetic_patients: int | None = optional()  # of n_patients; the banner says all / some / none
    # Missing-data codes and imputed partial dates, in words (the methods appendix prints them).
    data_completeness: tuple[str, ...] = ()
    # Set when the report is built from a store: the freeze it comes from, the data queries' states.
    freeze: FreezeSource | None = optional()
    data_queries: DataQueryCounts | None = optional()


@dataclass(frozen=True)
class PublishedRow:
    """One published outcome beside the center's estimate for the matching population."""

    study: str
    population: str
    endpoint: str
    time_point_months: float | None
    n: int
    x: int | None
    estimate: float | None
    lower: float | None
    upper: float | None
    interval: str  # "exact (Clopper-Pearson) from the published counts" | "as published" | "none published"
    doi: str
    citation: str
    center_population: str
    center: Proportion | Landmark | None
    center_n: int


@dataclass(frozen=True)
class ReportResults:
    """Every number of the report; `to_json(results)` is results.json (less the text, tables and figures)."""

    meta: Meta
    cohort: Grouped[Cohort] | None = optional()
    exposure: Grouped[Exposure] | None = optional()
    response: Grouped[Response] | None = optional()
    safety: Grouped[Safety] | None = optional()
    outcomes: Outcomes | None = optional()
    models: Mapping[str, ModelResult] | None = optional()
    subgroups: Mapping[str, SubgroupForest] | None = optional()
    courses: Courses | None = optional()
    published: tuple[PublishedRow, ...] | None = optional()

    def __getitem__(self, section: str) -> Any:
        """A section as results.json lays it out (``results["outcomes"]["overall"]["OS"]["n"]``), for
        readers of the file's layout (the export tests compare against it); KeyError for a section the
        report does not hold."""
        if section not in {f.name for f in fields(self)} or getattr(self, section) is None:
            raise KeyError(section)
        return to_json(getattr(self, section))

    def __contains__(self, section: object) -> bool:
        return (
            isinstance(section, str)
            and section in {f.name for f in fields(self)}
            and getattr(self, section) is not None
        )
