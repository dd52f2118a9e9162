"""Rule data: every clinical parameter of the rules, with its value, its source and whether it is confirmed.

`DEFAULT_RULES` holds the values of docs/clinical-rules.md (cited per item, with the primary sources). Items
the reference marks UNCONFIRMED, and the few definitions the reference does not give (CRi, partial
response, progression, the adult age, the dose tolerance), carry ``unconfirmed=True`` and name their
source; every result that used one lists it (`unconfirmed_rules`), so reports can say so.

A center overrides rules in its configuration. The caller reads the TOML file (the rules do no I/O)
and passes the parsed table to `RuleSet.from_mapping`, e.g.::

    capd_age_cutoff_inclusive = true                  # bare value: source becomes "center configuration"
    [consolidation_cycles]                            # or a table with the center's own source
    value = 1
    source = "Center SOP ALL-2024 v3, pediatric consolidation (study 20120215)"
    unconfirmed = false                               # only allowed together with a source

Unknown keys and bad values raise `RuleConfigError` naming the key.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any, Generic, TypeVar

from blinareg.rules.errors import InputRange, RuleConfigError
from blinareg.rules.vocabulary import Lineage, RelapseSiteClass, RelapseTiming

__all__ = ["Rule", "RuleItem", "RuleSet", "DEFAULT_RULES", "BFM_SPLIT_CHOICES", "BASELINE_MRD_METHOD_CHOICES"]

T = TypeVar("T")

# --- sources (docs/clinical-rules.md sections) -----------------------------------------------------------
SRC_LABEL = "Blincyto (blinatumomab) prescribing information and manufacturer dosing pages (docs/clinical-rules.md §1)"
SRC_LABEL_CONSOLIDATION = (
    "Blincyto Ph-negative consolidation approval 2024; adult trial E1910 gave 4 cycles interleaved with "
    "chemotherapy, pediatric trial 20120215 one 4-week cycle (docs/clinical-rules.md §1). UNCONFIRMED: the label's "
    "own cycle count and table"
)
SRC_DOSE_MODIFICATION = (
    "older Blincyto prescribing-information dose-modification table (docs/clinical-rules.md §1). UNCONFIRMED "
    "whether the current label words it by ICANS grade"
)
SRC_ADULT_AGE = (
    "not in docs/clinical-rules.md: the label gives premedication for 'adults' and 'children' without an age; "
    "18 years is the conventional boundary (UNCONFIRMED)"
)
SRC_TOLERANCE = (
    "registry convention, not a label rule (UNCONFIRMED): a delivered daily dose within this fraction of the "
    "planned dose is not a deviation (pharmacy rounding of BSA-based doses)"
)
SRC_ASTCT = "ASTCT consensus grading, Lee et al., Biol Blood Marrow Transplant 2019 (docs/clinical-rules.md §2)"
SRC_CAPD_AGE = (
    "ASTCT consensus (Lee et al. 2019): CAPD for children under 12 (docs/clinical-rules.md §2). UNCONFIRMED whether "
    "'< 12' or '<= 12' years"
)
SRC_TIMING = (
    "ALL-REZ BFM / IntReALL relapse timing: Fuster, World J Hematol 2014; Leukemia 2022 letter on study "
    "20120215 (docs/clinical-rules.md §3)"
)
SRC_COG = "COG relapse timing, as contrasted in docs/clinical-rules.md §3"
SRC_MARROW = "marrow status M1 < 5%, M2 5% to < 25%, M3 >= 25% blasts (docs/clinical-rules.md §3)"
SRC_BFM_SPLIT = (
    "BFM strategic groups (ASH) (docs/clinical-rules.md §3). UNCONFIRMED: the split between S3 (early isolated "
    "B-lineage marrow) and S4 (very early isolated or combined B-lineage marrow; T-lineage marrow)"
)
SRC_INTREALL_SR = (
    "IntReALL NCT03590171 eligibility (docs/clinical-rules.md §3): high risk is confirmed; standard risk = 'other "
    "first relapses' is UNCONFIRMED"
)
SRC_RESPONSE = "Blincyto prescribing information response definitions CR / CRh (docs/clinical-rules.md §4)"
SRC_MRD = (
    "MRD negative < 1e-4 (0.01%); complete MRD response at a sensitivity of at least 1e-4 (docs/clinical-rules.md §4)"
)
SRC_MRD_INDICATION = "Blincyto MRD-positive indication: MRD >= 0.1% in CR1/CR2 (docs/clinical-rules.md §1, §4)"
SRC_CRI = (
    "not in docs/clinical-rules.md (UNCONFIRMED). CRi = CR criteria for blasts, circulating blasts and extramedullary "
    "disease with incomplete count recovery (below the CRh counts), NCCN ALL response-criteria wording; true "
    "requires platelets > 100,000/uL or ANC > 1,000/uL as in TOWER (Kantarjian, NEJM 2017)"
)
SRC_PR = (
    "not in docs/clinical-rules.md (UNCONFIRMED). Partial response by analogy with ELN 2017 AML criteria (Dohner, "
    "Blood 2017): CR counts, no circulating blasts or extramedullary disease, marrow blasts > 5% and <= 25% "
    "and at least a 50% reduction from baseline"
)
SRC_PROGRESSION = (
    "not in docs/clinical-rules.md (UNCONFIRMED). Progression by NCCN ALL wording: an increase of at least 25% in "
    "marrow blasts over baseline, or new extramedullary disease"
)

SRC_WINDOW = (
    "analysis convention of the registry, not a clinical-rules.md rule (UNCONFIRMED); stated in the analysis "
    "dataset's conventions and the report's methods"
)
SRC_TEAE = (
    "treatment-emergent window: from the first infusion to a stated number of days after the last infusion, as "
    "blinatumomab trials report adverse events (e.g. 30 days after the last dose); the exact count is an analysis "
    "convention (UNCONFIRMED)"
)
SRC_GVHD_100 = (
    "classical acute GVHD: onset within 100 days of HSCT (GRFS, Holtan, Blood 2015; clinical-rules.md §5); the "
    "registry records no GVHD dates, so the acute GVHD event is dated at this day (UNCONFIRMED convention)"
)
SRC_BASELINE_MRD = (
    "clinical-rules.md §4: methods can disagree (a BCR::ABL1 patient can be flow-negative and PCR-positive) and are "
    "never merged; which one a center's baseline uses follows practice (fusion-transcript RT-qPCR when the patient "
    "has that fusion, else flow) - a registry convention (UNCONFIRMED), configurable"
)
SRC_PREPHASE = (
    "center practice, no primary source (UNCONFIRMED): the single case report among the seed reports (adult "
    "multiply relapsed B-ALL, Astana 2023) gave a blinatumomab prephase of 9 mcg/day by continuous infusion "
    "(19-26 Dec 2023, 8 calendar days), then induction I at the full dose for 21 days (27 Dec - 16 Jan), i.e. "
    "the label's 28-day first cycle split into a step-dose prephase and a full-dose induction"
)

BFM_SPLIT_CHOICES = ("alrez_bfm", "merged")
BASELINE_MRD_METHOD_CHOICES = ("fusion_pcr_if_fusion", "flow", "pcr", "most_sensitive")

_TIMINGS = {t.value for t in RelapseTiming}
_SITES = {s.value for s in RelapseSiteClass}
_LINEAGES = {lineage.value for lineage in Lineage}

# IntReALL standard risk by default: every first-relapse pattern that is not high risk.
_DEFAULT_INTREALL_STANDARD_RISK = (
    "b:late:isolated_marrow",
    "b:early:isolated_extramedullary",
    "b:late:isolated_extramedullary",
    "b:early:combined",
    "b:late:combined",
    "t:early:isolated_extramedullary",
    "t:late:isolated_extramedullary",
)


@dataclass(frozen=True)
class Rule(Generic[T]):
    """One rule parameter: its value, where it was read, and whether it is confirmed."""

    value: T
    source: str
    unconfirmed: bool = False
    description: str = ""


@dataclass(frozen=True)
class RuleItem:
    """One rule as listed for a report."""

    name: str
    value: object
    source: str
    description: str
    unconfirmed: bool

    def note(self) -> str:
        flag = "UNCONFIRMED rule" if self.unconfirmed else "rule"
        value = ", ".join(map(str, self.value)) if isinstance(self.value, tuple) else repr(self.value)
        return f"{flag} {self.name} = {value} ({self.description}); source: {self.source}"


# --- value checks for center overrides; each returns the normalized value or raises RuleConfigError --
Check = Callable[[str, Any], Any]


def _number(low: float, high: float, *, low_open: bool = False, unit: str = "") -> Check:
    limits = InputRange(low, high, unit, low_open=low_open)

    def check(key: str, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise RuleConfigError(key, value, "must be a number")
        if not limits.contains(float(value)):
            raise RuleConfigError(key, value, f"is outside the legal range {limits.describe()}")
        return float(value)

    return check


def _integer(low: int, high: int) -> Check:
    limits = InputRange(low, high, "")

    def check(key: str, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise RuleConfigError(key, value, "must be an integer")
        if not limits.contains(value):
            raise RuleConfigError(key, value, f"is outside the legal range {limits.describe()}")
        return value

    return check


def _boolean(key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise RuleConfigError(key, value, "must be true or false")
    return value


def _choice(choices: tuple[str, ...]) -> Check:
    def check(key: str, value: Any) -> str:
        if value not in choices:
            raise RuleConfigError(key, value, f"is not one of: {', '.join(choices)}")
        return str(value)

    return check


def _hospital_days(key: str, value: Any) -> tuple[int, int]:
    legal = "must be [days in cycle 1, days in cycle 2], two integers from 0 to 28"
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise RuleConfigError(key, value, legal)
    for item in value:
        if isinstance(item, bool) or not isinstance(item, int) or not 0 <= item <= 28:
            raise RuleConfigError(key, value, legal)
    return (value[0], value[1])


def _relapse_patterns(key: str, value: Any) -> tuple[str, ...]:
    legal = (
        "must be a list of 'lineage:timing:site' strings, lineage in {b, t}, timing in "
        "{very_early, early, late}, site in {isolated_marrow, isolated_extramedullary, combined}"
    )
    if not isinstance(value, (list, tuple)):
        raise RuleConfigError(key, value, legal)
    for item in value:
        parts = item.split(":") if isinstance(item, str) else []
        if len(parts) != 3 or parts[0] not in _LINEAGES or parts[1] not in _TIMINGS or parts[2] not in _SITES:
            raise RuleConfigError(key, item, legal)
    return tuple(value)


def _rule(value: Any, source: str, description: str, check: Check, *, unconfirmed: bool = False) -> Any:
    return field(default=Rule(value, source, unconfirmed, description), metadata={"check": check})


def _label(value: Any, description: str, check: Check) -> Any:
    """A rule as the Blincyto prescribing information gives it."""
    return _rule(value, SRC_LABEL, description, check)


def _unconfirmed(value: Any, source: str, description: str, check: Check) -> Any:
    """A rule whose value or wording is UNCONFIRMED against its source (results list it)."""
    return _rule(value, source, description, check, unconfirmed=True)


def _dose_modification(value: Any, description: str, check: Check) -> Any:
    """A rule of the dose-modification table (the whole table is UNCONFIRMED wording)."""
    return _unconfirmed(value, SRC_DOSE_MODIFICATION, description, check)


_kg = _number(0.0, 350.0, low_open=True, unit="kg")
_mcg = _number(0.0, 100.0, low_open=True, unit="mcg/day")
_mcg_m2 = _number(0.0, 60.0, low_open=True, unit="mcg/m2/day")
_mg = _number(0.0, 1000.0, low_open=True, unit="mg")
_pct = _number(0.0, 100.0, low_open=True, unit="%")
_fraction = _number(0.0, 1.0, low_open=True)
_per_ul = _number(0.0, 1_000_000.0, unit="/uL")
_days = _integer(0, 365)
_grade = _integer(1, 5)


@dataclass(frozen=True)
class RuleSet:
    """Every configurable parameter of `blinareg.rules`; each field is a `Rule` (value, source, flag).

    Read a value as ``rules.<name>.value``. Build a center's set with `RuleSet.from_mapping`.
    """

    # --- dosing (docs/clinical-rules.md §1) ---------------------------------------------------------------
    dose_weight_threshold_kg: Rule[float] = _label(
        45.0, "patients at or above this weight get fixed mcg/day doses; below it BSA-based", _kg
    )
    step_dose_mcg_per_day: Rule[float] = _label(9.0, "starting (step) dose for >= 45 kg", _mcg)
    full_dose_mcg_per_day: Rule[float] = _label(28.0, "full dose for >= 45 kg", _mcg)
    step_dose_mcg_per_m2_per_day: Rule[float] = _label(5.0, "starting (step) dose for < 45 kg", _mcg_m2)
    full_dose_mcg_per_m2_per_day: Rule[float] = _label(15.0, "full dose for < 45 kg", _mcg_m2)
    step_dose_cap_mcg_per_day: Rule[float] = _label(9.0, "cap of the BSA-based step dose", _mcg)
    full_dose_cap_mcg_per_day: Rule[float] = _label(28.0, "cap of the BSA-based full dose", _mcg)
    infusion_days_per_cycle: Rule[int] = _label(28, "continuous-infusion days of every cycle", _integer(1, 60))
    rr_step_up_day: Rule[int] = _label(
        8, "relapsed/refractory cycle 1: first day at the full dose (the only step-up)", _integer(2, 28)
    )
    rr_induction_cycles: Rule[int] = _label(2, "relapsed/refractory induction cycles (1-2)", _integer(1, 9))
    rr_consolidation_cycles: Rule[int] = _label(3, "relapsed/refractory consolidation cycles (3-5)", _integer(0, 9))
    rr_continued_cycles: Rule[int] = _label(4, "relapsed/refractory continued-therapy cycles (6-9)", _integer(0, 9))
    rr_treatment_free_days: Rule[int] = _label(
        14, "relapsed/refractory induction/consolidation: treatment-free days 29-42", _days
    )
    rr_continued_treatment_free_days: Rule[int] = _label(
        56, "relapsed/refractory continued therapy: 56 treatment-free days (84-day cycle)", _days
    )
    mrd_induction_cycles: Rule[int] = _label(1, "MRD-positive induction cycles", _integer(1, 9))
    mrd_consolidation_cycles: Rule[int] = _label(3, "MRD-positive consolidation cycles (2-4)", _integer(0, 9))
    mrd_treatment_free_days: Rule[int] = _label(14, "MRD-positive treatment-free days per cycle", _days)
    consolidation_cycles: Rule[int] = _unconfirmed(
        4, SRC_LABEL_CONSOLIDATION, "Ph-negative consolidation: number of blinatumomab cycles", _integer(1, 9)
    )
    consolidation_treatment_free_days: Rule[int] = _unconfirmed(
        0,
        SRC_LABEL_CONSOLIDATION,
        "Ph-negative consolidation: treatment-free days after the 28 infusion days (the reference gives "
        "'28 days per cycle'; chemotherapy is interleaved, give actual cycle starts)",
        _days,
    )
    rr_hospital_days: Rule[tuple[int, int]] = _label(
        (9, 2), "relapsed/refractory hospitalization: first days of cycle 1 and cycle 2", _hospital_days
    )
    mrd_hospital_days: Rule[tuple[int, int]] = _label(
        (3, 2), "MRD-positive hospitalization: first days of cycle 1 and cycle 2", _hospital_days
    )
    consolidation_hospital_days: Rule[tuple[int, int]] = _label(
        (3, 2), "consolidation hospitalization: first days of cycle 1 and cycle 2", _hospital_days
    )
    adult_age_years: Rule[float] = _unconfirmed(
        18.0, SRC_ADULT_AGE, "age from which the adult premedication applies", _number(1.0, 30.0)
    )
    rr_adult_dexamethasone_mg: Rule[float] = _label(
        20.0, "relapsed/refractory adults: dexamethasone premedication 1 h before", _mg
    )
    pediatric_dexamethasone_mg_per_m2: Rule[float] = _label(
        5.0, "relapsed/refractory children: dexamethasone premedication per m2", _mg
    )
    pediatric_dexamethasone_max_mg: Rule[float] = _label(
        20.0, "relapsed/refractory children: dexamethasone premedication maximum", _mg
    )
    mrd_adult_prednisone_mg: Rule[float] = _label(
        100.0, "MRD-positive adults: prednisone IV (or equivalent) before each cycle's first dose", _mg
    )
    interruption_max_continue_days: Rule[int] = _label(
        7, "an interruption up to this many days continues the cycle; longer starts a new cycle", _days
    )
    dose_tolerance_fraction: Rule[float] = _unconfirmed(
        0.05,
        SRC_TOLERANCE,
        "relative difference of a delivered daily dose still counted as the plan",
        _number(0.0, 0.5),
    )

    # --- dose modification (docs/clinical-rules.md §1; the whole table is UNCONFIRMED wording) -------------
    dm_crs_interrupt_grade: Rule[int] = _dose_modification(3, "CRS grade that interrupts the infusion", _grade)
    dm_crs_discontinue_grade: Rule[int] = _dose_modification(4, "CRS grade that discontinues permanently", _grade)
    dm_neuro_interrupt_grade: Rule[int] = _dose_modification(
        3, "neurological toxicity grade that withholds the infusion", _grade
    )
    dm_neuro_discontinue_grade: Rule[int] = _dose_modification(
        4, "neurological toxicity grade that discontinues permanently", _grade
    )
    dm_other_interrupt_grade: Rule[int] = _dose_modification(
        3, "other reaction grade that withholds the infusion", _grade
    )
    dm_other_consider_discontinuation_grade: Rule[int] = _dose_modification(
        4, "other reaction grade at which to consider discontinuation", _grade
    )
    dm_max_seizures: Rule[int] = _dose_modification(
        1, "more seizures than this discontinue permanently", _integer(0, 10)
    )
    dm_neuro_restart_max_grade: Rule[int] = _dose_modification(
        1, "neurological toxicity must be at or below this grade to restart", _integer(0, 2)
    )
    dm_neuro_restart_min_days: Rule[int] = _dose_modification(
        3, "days at or below the restart grade before restarting", _days
    )
    dm_neuro_max_days_to_resolve: Rule[int] = _dose_modification(
        7, "neurological toxicity taking longer to resolve discontinues", _days
    )
    dm_other_max_days_to_resolve: Rule[int] = _dose_modification(
        14, "other reaction taking longer to resolve discontinues", _days
    )
    dm_escalation_after_days: Rule[int] = _dose_modification(
        7, "days at the restart dose without recurrence before escalating", _days
    )
    dm_crs_dexamethasone_mg: Rule[float] = _dose_modification(
        8.0, "CRS grade 3: dexamethasone dose every 8 h (>= 45 kg)", _mg
    )
    dm_crs_dexamethasone_mg_per_m2: Rule[float] = _dose_modification(
        5.0, "CRS grade 3: dexamethasone dose per m2 every 8 h (< 45 kg)", _mg
    )
    dm_crs_dexamethasone_max_mg: Rule[float] = _dose_modification(
        8.0, "CRS grade 3: dexamethasone maximum per dose (< 45 kg)", _mg
    )
    dm_crs_dexamethasone_days: Rule[int] = _dose_modification(
        3, "CRS grade 3: days of dexamethasone before the taper", _days
    )
    dm_crs_dexamethasone_taper_days: Rule[int] = _dose_modification(
        4, "CRS grade 3: days of the dexamethasone taper", _days
    )

    # --- grading (docs/clinical-rules.md §2) --------------------------------------------------------------
    crs_fever_min_c: Rule[float] = _rule(38.0, SRC_ASTCT, "CRS fever: temperature at or above", _number(36.0, 42.0))
    low_flow_max_l_min: Rule[float] = _rule(
        6.0, SRC_ASTCT, "low-flow oxygen: nasal cannula at or below this flow", _number(0.0, 80.0, low_open=True)
    )
    capd_age_cutoff_years: Rule[int] = _unconfirmed(
        12, SRC_CAPD_AGE, "children below this age (in completed years) are assessed with CAPD", _integer(1, 18)
    )
    capd_age_cutoff_inclusive: Rule[bool] = _unconfirmed(
        False, SRC_CAPD_AGE, "true: CAPD also at exactly the cut-off age ('<= 12'); false: '< 12'", _boolean
    )
    capd_delirium_min: Rule[int] = _rule(9, SRC_ASTCT, "CAPD score from which ICANS is grade 3", _integer(1, 32))

    # --- relapse classification (docs/clinical-rules.md §3) -------------------------------------------------
    very_early_months: Rule[int] = _rule(
        18, SRC_TIMING, "very early: relapse before diagnosis + this many calendar months", _integer(1, 120)
    )
    early_after_end_of_therapy_months: Rule[int] = _rule(
        6, SRC_TIMING, "early: relapse before end of front-line therapy + this many calendar months", _integer(1, 120)
    )
    cog_early_months: Rule[int] = _rule(
        36, SRC_COG, "COG early: relapse before diagnosis + this many calendar months", _integer(1, 240)
    )
    marrow_m2_min_pct: Rule[float] = _rule(5.0, SRC_MARROW, "M2 marrow from this blast percentage", _pct)
    marrow_m3_min_pct: Rule[float] = _rule(25.0, SRC_MARROW, "M3 marrow from this blast percentage", _pct)
    bfm_s3_s4_split: Rule[str] = _unconfirmed(
        "alrez_bfm",
        SRC_BFM_SPLIT,
        "alrez_bfm: S3 early isolated B marrow, S4 very early isolated/combined B marrow and T marrow; "
        "merged: report S3/S4",
        _choice(BFM_SPLIT_CHOICES),
    )
    intreall_standard_risk: Rule[tuple[str, ...]] = _unconfirmed(
        _DEFAULT_INTREALL_STANDARD_RISK,
        SRC_INTREALL_SR,
        "first-relapse patterns 'lineage:timing:site' counted as IntReALL standard risk (high risk is checked first)",
        _relapse_patterns,
    )

    # --- responses (docs/clinical-rules.md §4) -------------------------------------------------------------
    response_max_marrow_blasts_pct: Rule[float] = _rule(
        5.0, SRC_RESPONSE, "CR/CRh/CRi: marrow blasts at or below", _pct
    )
    cr_platelets_above_per_ul: Rule[float] = _rule(100_000.0, SRC_RESPONSE, "CR: platelets above (/uL)", _per_ul)
    cr_anc_above_per_ul: Rule[float] = _rule(1_000.0, SRC_RESPONSE, "CR: ANC above (/uL)", _per_ul)
    crh_platelets_above_per_ul: Rule[float] = _rule(50_000.0, SRC_RESPONSE, "CRh: platelets above (/uL)", _per_ul)
    crh_anc_above_per_ul: Rule[float] = _rule(500.0, SRC_RESPONSE, "CRh: ANC above (/uL)", _per_ul)
    cri_requires_one_recovered_count: Rule[bool] = _unconfirmed(
        False, SRC_CRI, "CRi needs platelets or ANC at the CR level (TOWER); false: any incomplete recovery", _boolean
    )
    pr_max_marrow_blasts_pct: Rule[float] = _unconfirmed(
        25.0, SRC_PR, "partial response: marrow blasts at or below", _pct
    )
    pr_min_blast_reduction: Rule[float] = _unconfirmed(
        0.5, SRC_PR, "partial response: relative reduction of marrow blasts from baseline, at least", _fraction
    )
    progression_min_blast_increase: Rule[float] = _unconfirmed(
        0.25,
        SRC_PROGRESSION,
        "progression: relative increase of marrow blasts over baseline, at least",
        _number(0.0, 10.0, low_open=True),
    )
    mrd_negative_threshold: Rule[float] = _rule(1e-4, SRC_MRD, "MRD negative below this fraction", _fraction)
    complete_mrd_min_sensitivity: Rule[float] = _rule(
        1e-4, SRC_MRD, "complete MRD response: undetectable at a sensitivity at least this fine", _fraction
    )
    mrd_positive_indication_threshold: Rule[float] = _rule(
        1e-3, SRC_MRD_INDICATION, "MRD-positive indication: MRD at or above this fraction", _fraction
    )

    # --- prephase (center practice; UNCONFIRMED) -----------------------------------------------------
    prephase_days: Rule[int] = _unconfirmed(
        8,
        SRC_PREPHASE,
        "days of a cycle recorded as phase 'prephase' (continuous infusion, no treatment-free days)",
        _integer(1, 28),
    )
    prephase_dose_level: Rule[str] = _unconfirmed(
        "step",
        SRC_PREPHASE,
        "daily dose of a prephase: 'step' (9 mcg/day; 5 mcg/m2/day, capped) or 'full'",
        _choice(("step", "full")),
    )
    induction_after_prephase_infusion_days: Rule[int] = _unconfirmed(
        21,
        SRC_PREPHASE,
        "infusion days of the induction cycle 1 that follows a prephase (at the full dose, no step)",
        _integer(1, 60),
    )

    # --- analysis windows of the analysis dataset (derive; conventions, UNCONFIRMED) -------------------
    response_window_days: Rule[int] = _unconfirmed(
        42,
        SRC_WINDOW,
        "responses and MRD of the blinatumomab course: up to this many days after the last cycle ends",
        _days,
    )
    treatment_emergent_days: Rule[int] = _unconfirmed(
        30,
        SRC_TEAE,
        "treatment-emergent adverse events: onset from the first infusion day to this many days after "
        "the last infusion day",
        _days,
    )
    baseline_mrd_window_days: Rule[int] = _unconfirmed(
        30, SRC_WINDOW, "baseline MRD: the last assessment from this many days before to the first infusion day", _days
    )
    after_cycle1_earliest_days: Rule[int] = _unconfirmed(
        3, SRC_WINDOW, "response after cycle 1: from this many days before the end of cycle 1", _days
    )
    after_cycle1_latest_days: Rule[int] = _unconfirmed(
        42, SRC_WINDOW, "response after cycle 1: to this many days after its end (or the day before cycle 2)", _days
    )
    acute_gvhd_window_days: Rule[int] = _unconfirmed(
        100, SRC_GVHD_100, "GRFS: grade 3-4 acute GVHD without a date is dated at HSCT + this many days", _days
    )
    baseline_mrd_method: Rule[str] = _unconfirmed(
        "fusion_pcr_if_fusion",
        SRC_BASELINE_MRD,
        "method of the baseline MRD when several were measured on the baseline day: fusion_pcr_if_fusion "
        "(RT-qPCR of the fusion transcript when the patient has a fusion lesion, else flow), flow, pcr "
        "(RT-qPCR fusion, then Ig/TCR qPCR), most_sensitive (finest assay sensitivity)",
        _choice(BASELINE_MRD_METHOD_CHOICES),
    )

    def __post_init__(self) -> None:
        for f in fields(self):
            rule = getattr(self, f.name)
            if not isinstance(rule, Rule) or not isinstance(rule.source, str) or not rule.source.strip():
                raise RuleConfigError(f.name, rule, "must be a Rule(value, source, ...) with a source")
            f.metadata["check"](f.name, rule.value)  # the same value checks as a center override
        self._require_order("step_dose_mcg_per_day", "full_dose_mcg_per_day")
        self._require_order("step_dose_mcg_per_m2_per_day", "full_dose_mcg_per_m2_per_day")
        self._require_order("step_dose_cap_mcg_per_day", "full_dose_cap_mcg_per_day")
        self._require_order("marrow_m2_min_pct", "marrow_m3_min_pct", strict=True)
        self._require_order("response_max_marrow_blasts_pct", "pr_max_marrow_blasts_pct", strict=True)
        self._require_order("crh_platelets_above_per_ul", "cr_platelets_above_per_ul")
        self._require_order("crh_anc_above_per_ul", "cr_anc_above_per_ul")
        self._require_order("dm_crs_interrupt_grade", "dm_crs_discontinue_grade", strict=True)
        self._require_order("dm_neuro_interrupt_grade", "dm_neuro_discontinue_grade", strict=True)
        self._require_order("dm_other_interrupt_grade", "dm_other_consider_discontinuation_grade", strict=True)
        if self.rr_step_up_day.value > self.infusion_days_per_cycle.value:
            raise RuleConfigError(
                "rr_step_up_day",
                self.rr_step_up_day.value,
                f"must be <= infusion_days_per_cycle ({self.infusion_days_per_cycle.value})",
            )

    def __repr__(self) -> str:
        # Short on purpose: the full set (about 70 rules with sources) is ~19 KB, and it is the default
        # of every rule function's `rules` parameter, so help() and error messages would print it all.
        default = globals().get("DEFAULT_RULES")
        if default is None or self is default:
            return "RuleSet(<reference rules>)"
        changed = [f.name for f in fields(self) if getattr(self, f.name) != getattr(default, f.name)]
        if not changed:
            return "RuleSet(<reference rules>)"
        shown = ", ".join(changed[:3]) + (f", ... ({len(changed)} in all)" if len(changed) > 3 else "")
        return f"RuleSet(<reference rules with overrides: {shown}>)"

    def _require_order(self, low: str, high: str, *, strict: bool = False) -> None:
        a, b = getattr(self, low).value, getattr(self, high).value
        if a > b or (strict and a == b):
            relation = "<" if strict else "<="
            raise RuleConfigError(low, a, f"must be {relation} {high} ({b!r})")

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any], *, base: RuleSet | None = None) -> RuleSet:
        """A rule set with a center's overrides applied to `base` (default `DEFAULT_RULES`).

        `mapping` is the parsed rules table of the center's TOML file: rule name -> bare value, or
        rule name -> table with ``value`` and optional ``source`` and ``unconfirmed``. Pure: the caller
        reads the file. Raises `RuleConfigError` naming the key on an unknown key or a bad value.
        """
        start = DEFAULT_RULES if base is None else base
        if not isinstance(mapping, Mapping):
            raise RuleConfigError("rules", mapping, "must be a table of rule names")
        known = {f.name: f for f in fields(cls)}
        changes: dict[str, Rule[Any]] = {}
        for key, raw in mapping.items():
            if key not in known:
                close = difflib.get_close_matches(str(key), known, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise RuleConfigError(str(key), raw, f"is not a known rule{hint}")
            check: Check = known[key].metadata["check"]
            default: Rule[Any] = getattr(start, key)
            if isinstance(raw, Mapping):
                changes[key] = _rule_from_table(key, raw, default, check)
            else:
                changes[key] = Rule(
                    check(key, raw),
                    f"center configuration (replaces {default.value!r} from: {default.source})",
                    default.unconfirmed,
                    default.description,
                )
        return replace(start, **changes)

    def rule(self, name: str) -> Rule[Any]:
        """The rule called `name`; `RuleConfigError` if there is none."""
        if name not in {f.name for f in fields(self)}:
            raise RuleConfigError(name, None, "is not a known rule")
        rule: Rule[Any] = getattr(self, name)
        return rule

    def items(self) -> tuple[RuleItem, ...]:
        """Every rule in use, in declaration order."""
        return tuple(self._item(f.name) for f in fields(self))

    def unconfirmed_items(self) -> tuple[RuleItem, ...]:
        """The UNCONFIRMED rules in use, with their sources, so that reports can state them."""
        return tuple(item for item in self.items() if item.unconfirmed)

    def notes(self, names: tuple[str, ...] | list[str]) -> tuple[str, ...]:
        """One line per UNCONFIRMED rule among `names` (the `unconfirmed_rules` of a result)."""
        return tuple(self._item(name).note() for name in dict.fromkeys(names) if self.rule(name).unconfirmed)

    def _item(self, name: str) -> RuleItem:
        rule = self.rule(name)
        return RuleItem(name, rule.value, rule.source, rule.description, rule.unconfirmed)


def _rule_from_table(key: str, table: Mapping[str, Any], default: Rule[Any], check: Check) -> Rule[Any]:
    extra = sorted(set(table) - {"value", "source", "unconfirmed"})
    if extra:
        raise RuleConfigError(f"{key}.{extra[0]}", table[extra[0]], "is not allowed; use value, source, unconfirmed")
    if "value" not in table:
        raise RuleConfigError(f"{key}.value", None, "is required")
    value = check(key, table["value"])
    source = table.get("source")
    if source is not None and (not isinstance(source, str) or not source.strip()):
        raise RuleConfigError(f"{key}.source", source, "must be a non-empty string")
    unconfirmed = table.get("unconfirmed", default.unconfirmed)
    if not isinstance(unconfirmed, bool):
        raise RuleConfigError(f"{key}.unconfirmed", unconfirmed, "must be true or false")
    if default.unconfirmed and not unconfirmed and source is None:
        raise RuleConfigError(
            f"{key}.unconfirmed", unconfirmed, "may only be set to false together with the source that confirms it"
        )
    if source is None:
        source = f"center configuration (replaces {default.value!r} from: {default.source})"
    return Rule(value, source, unconfirmed, default.description)


DEFAULT_RULES = RuleSet()
