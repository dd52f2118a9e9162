"""`derive`: registry records -> the analysis dataset (column-wise, no per-patient Python loops).

Every column is defined in docs/analysis-dataset.md. `derive` validates its arguments and calls one
function per section of the dataset (demographics, relapse history, indication, baseline MRD,
exposure, responses, MRD response, adverse events, HSCT and follow-up, origin); each section adds its
columns to the patients frame. The analysis windows are rule data of the `RuleSet`
(`response_window_days`, `treatment_emergent_days`, ...: sourced, overridable) and are stated verbatim
in `metadata["conventions"]` (derive/conventions.py) so that the report prints them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

import numpy as np
import pandas as pd
from pandas.api.extensions import ExtensionArray

from blinareg.derive.conventions import (
    baseline_mrd_method_sentence,
    conventions,
    treatment_emergent_sentence,
)
from blinareg.derive.dataset import NON_RESPONDER_DEFINITIONS, ORIGINS, AnalysisDataset
from blinareg.derive.endpoints import TTE_COLUMNS, first_after, time_to_event_rows
from blinareg.derive.imputation import (
    DEFAULT_DATE_IMPUTATION,
    DateImputationRule,
    impute_partial_dates,
    missing_data_metadata,
)
from blinareg.derive.mrd import mrd_frame, public_mrd
from blinareg.derive.sections import dose_steps_frame, relapses_frame, responses_frame
from blinareg.records.registry import Registry
from blinareg.records.vocabulary import NEUROTOXICITY_TERMS
from blinareg.rules import DEFAULT_RULES, RuleSet
from blinareg.rules.frames import (
    CycleDoseComparison,
    classify_relapses,
    computed_adverse_event_grades,
    cycle_dose_comparison,
)

__all__ = ["derive", "CR_CATEGORIES", "IN_CR_INDICATIONS", "FUSION_LESIONS"]

CR_CATEGORIES = ("cr", "crh", "cri")
IN_CR_INDICATIONS = ("mrd_clearance", "chemotherapy_intolerance", "consolidation")
# Lesions whose fusion transcript RT-qPCR can follow (baseline_mrd_method "fusion_pcr_if_fusion").
FUSION_LESIONS = ("BCR::ABL1", "KMT2A-r", "ETV6::RUNX1", "TCF3::PBX1")
RESPONSE_RANK = {"cr": 0, "crh": 1, "cri": 2, "pr": 3, "no_response": 4, "progression": 5}
_CYCLE_INDICATION_TO_GROUP = {
    "relapsed_refractory": "relapsed_refractory",
    "mrd_positive": "mrd_clearance",
    "consolidation": "consolidation",
}
_GENETICS = {
    "BCR::ABL1": "genetics_bcr_abl1",
    "Ph-like": "genetics_ph_like",
    "KMT2A-r": "genetics_kmt2a_r",
    "ETV6::RUNX1": "genetics_etv6_runx1",
    "TCF3::PBX1": "genetics_tcf3_pbx1",
    "high_hyperdiploidy": "genetics_high_hyperdiploidy",
    "hypodiploidy": "genetics_hypodiploidy",
    "iAMP21": "genetics_iamp21",
    "other": "genetics_other",
}
PATIENT_COLUMNS = (
    "patient_id",
    "center_id",
    "synthetic",
    "sex",
    "birth_date",
    "diagnosis_date",
    "age_at_diagnosis_years",
    "first_blinatumomab_date",
    "age_at_first_blinatumomab_years",
    "immunophenotype",
    "genetics_bcr_abl1",
    "genetics_ph_like",
    "genetics_kmt2a_r",
    "genetics_etv6_runx1",
    "genetics_tcf3_pbx1",
    "genetics_high_hyperdiploidy",
    "genetics_hypodiploidy",
    "genetics_iamp21",
    "genetics_other",
    "relapses_before_blinatumomab",
    "relapse_status_at_blinatumomab",
    "index_relapse_date",
    "relapse_site_class",
    "relapse_site_detail",
    "relapse_timing",
    "bfm_strategic_group",
    "intreall_risk",
    "indication_group",
    "months_diagnosis_to_blinatumomab",
    "prior_hsct",
    "baseline_mrd_fraction",
    "baseline_mrd_method",
    "baseline_mrd_status",
    "cycles",
    "infusion_days",
    "planned_dose_mcg",
    "delivered_dose_mcg",
    "dose_intensity",
    "interruptions",
    "early_stop",
    "early_stop_reason",
    "dose_deviations",
    "cr_after_cycle1",
    "best_response",
    "cr_achieved",
    "cr_date",
    "mrd_negative_after_cycle1_flow",
    "mrd_negative_after_cycle1_pcr",
    "mrd_negative_best_flow",
    "mrd_negative_best_pcr",
    "complete_mrd_response",
    "responder",
    "crs_max_grade",
    "icans_max_grade",
    "neurotoxicity_max_grade",
    "grade3plus_any",
    "hsct_after_blinatumomab",
    "hsct_date",
    "hsct_remission_status",
    "hsct_donor_type",
    "inotuzumab_before_hsct",
    "relapse_after_origin_date",
    "death_date",
    "death_cause",
    "last_contact_date",
    "vital_status",
)
_RELAPSE_STATUS = {0: "no_relapse", 1: "first_relapse", 2: "second_relapse"}
_DAYS_PER_YEAR = 365.25
_DAYS_PER_MONTH = 365.25 / 12
_RELEVANT_RULES = (
    "very_early_months",
    "early_after_end_of_therapy_months",
    "marrow_m2_min_pct",
    "marrow_m3_min_pct",
    "bfm_s3_s4_split",
    "intreall_standard_risk",
    "mrd_negative_threshold",
    "complete_mrd_min_sensitivity",
    "dose_weight_threshold_kg",
    "step_dose_mcg_per_day",
    "full_dose_mcg_per_day",
    "step_dose_mcg_per_m2_per_day",
    "full_dose_mcg_per_m2_per_day",
    "step_dose_cap_mcg_per_day",
    "full_dose_cap_mcg_per_day",
    "infusion_days_per_cycle",
    "rr_step_up_day",
    "rr_induction_cycles",
    "rr_consolidation_cycles",
    "rr_continued_cycles",
    "rr_treatment_free_days",
    "rr_continued_treatment_free_days",
    "mrd_induction_cycles",
    "mrd_consolidation_cycles",
    "mrd_treatment_free_days",
    "consolidation_cycles",
    "consolidation_treatment_free_days",
    "interruption_max_continue_days",
    "dose_tolerance_fraction",
    "crs_fever_min_c",
    "low_flow_max_l_min",
    "capd_age_cutoff_years",
    "capd_age_cutoff_inclusive",
    "capd_delirium_min",
    "prephase_days",
    "prephase_dose_level",
    "induction_after_prephase_infusion_days",
    "response_window_days",
    "treatment_emergent_days",
    "baseline_mrd_window_days",
    "after_cycle1_earliest_days",
    "after_cycle1_latest_days",
    "acute_gvhd_window_days",
    "baseline_mrd_method",
)
_RELAPSE_CLASS_COLUMNS = (
    "relapse_site_class",
    "relapse_site_detail",
    "relapse_timing",
    "bfm_strategic_group",
    "intreall_risk",
)


def _days(n: int) -> pd.Timedelta:
    return pd.Timedelta(days=n)


def _object(series: pd.Series) -> pd.Series:
    """Object column with None (not NaN) for missing values."""
    series = series.astype(object)
    return series.where(series.notna(), None)


@dataclass(frozen=True)
class _Context:
    """What every section reads: the coded registry tables, the patient index and the parameters."""

    t: dict[str, pd.DataFrame]
    ids: pd.RangeIndex
    rules: RuleSet
    origin: str
    non_responder: str
    cutoff: pd.Timestamp | None


def _nullable(
    values: pd.Series | np.ndarray | ExtensionArray,
    dtype: Literal["Int64", "boolean"],
    *,
    known: pd.Series | np.ndarray | None = None,
) -> ExtensionArray:
    """`values` (by position) as a nullable `dtype` column: <NA> where missing, and where not `known`."""
    data = np.asarray(values, dtype=object).copy()
    if known is not None:
        data[~np.asarray(known, dtype=bool)] = None
    return pd.array(data, dtype=dtype)


def _check_choice(name: str, value: object, legal: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in legal:
        raise ValueError(f"{name}={value!r} is not one of: {', '.join(legal)}")
    return value


def _as_of(value: object) -> pd.Timestamp | None:
    if value is None:
        return None
    if isinstance(value, (dt.date, pd.Timestamp, str)):
        try:
            stamp = pd.Timestamp(value)
        except ValueError:
            stamp = None
        if stamp is not None and not pd.isna(stamp):
            return stamp.normalize()
    raise ValueError(f"as_of={value!r} must be a date (datetime.date or ISO 'YYYY-MM-DD') or None")


def derive(
    registry: Registry,
    *,
    origin: str = "first_blinatumomab",
    non_responder: str = "no_cr",
    rules: RuleSet | None = None,
    as_of: dt.date | str | None = None,
    date_imputation: DateImputationRule = DEFAULT_DATE_IMPUTATION,
) -> AnalysisDataset:
    """The analysis dataset of `registry` (pure: no I/O). See docs/analysis-dataset.md for every column.

    origin: time zero of OS/EFS (and the reference of `relapse_after_origin_date`):
      "first_blinatumomab" (first infusion day), "hsct" (first HSCT after the first infusion),
      "diagnosis" (initial diagnosis), "relapse" (the index relapse: the latest relapse on or before the
      first infusion). Patients without that date get no time-to-event rows. `hsct_time_to_event` is
      always timed from that HSCT, whatever the origin.
    non_responder: "no_cr" (responder = CR, CRh or CRi in the response window, or in CR at the start)
      or "no_complete_mrd_response" (responder = a complete MRD response in the response window).
    rules: the rule set (default `DEFAULT_RULES`); it also holds the analysis windows.
    as_of: data cut-off; events after it are ignored and follow-up is censored at it.
    date_imputation: the day a partial date (`2017`, `2017-07`) is analysed as (blinareg.derive.imputation).
    Raises ValueError naming the argument and its legal values.
    """
    origin = _check_choice("origin", origin, ORIGINS)
    non_responder = _check_choice("non_responder", non_responder, NON_RESPONDER_DEFINITIONS)
    rules = DEFAULT_RULES if rules is None else rules
    if not isinstance(rules, RuleSet):
        raise ValueError(f"rules={rules!r} must be a blinareg.rules.RuleSet")
    if not isinstance(registry, Registry):
        raise ValueError(f"registry={type(registry).__name__} must be a blinareg.records.Registry")
    cutoff = _as_of(as_of)
    # Patient ids become integer codes (positions in the sorted ids) for fast grouping; mapped back at the end.
    names = np.sort(registry["patient"]["patient_id"].unique()).astype(object)
    # Partial dates -> analysis dates, each with a `<date>_ADTF` flag column (blinareg.derive.imputation).
    coded, imputed_fields = impute_partial_dates(_coded_tables(registry, pd.Index(names)), date_imputation)
    ctx = _Context(coded, pd.RangeIndex(len(names), name="patient_id"), rules, origin, non_responder, cutoff)

    p = pd.DataFrame(index=ctx.ids)
    _demographics(p, ctx)
    _blinatumomab_dates(p, ctx)
    _relapse_history(p, ctx)
    _indication(p, ctx)
    mrd = mrd_frame(ctx.t["mrd_assessment"], p["first_blinatumomab_date"], rules)
    mrd = _assessment_completeness(mrd)
    _baseline_mrd(p, mrd, ctx)
    comparison = cycle_dose_comparison(ctx.t, rules)
    cycles = _cycles_frame(
        ctx.t["blinatumomab_cycle"], comparison, ctx.t["interruption"], ctx.t["dose_segment"], ctx.t["adverse_event"]
    )
    _exposure(p, cycles)
    hsct_after = _hsct_after_blinatumomab(p, ctx)
    _responses(p, ctx, hsct_after)
    _mrd_response(p, mrd, ctx)
    adverse = _adverse_events(p, ctx)
    _hsct_and_follow_up(p, ctx, hsct_after)
    _origin(p, ctx)

    tte = time_to_event_rows(p, ctx.t, origin=origin, non_responder=non_responder, as_of=cutoff, rules=rules)
    from_hsct = p.assign(origin_date=p["hsct_date"])
    hsct_tte = time_to_event_rows(
        from_hsct, ctx.t, origin="hsct", non_responder=non_responder, as_of=cutoff, rules=rules
    )
    hsct_tte = hsct_tte[hsct_tte["PARAMCD"] != "PROS"]  # PROS starts at a relapse, not at the HSCT
    relapses = relapses_frame(p, ctx.t, rules, cutoff)
    steps = dose_steps_frame(ctx.t["blinatumomab_cycle"], comparison, ctx.t["dose_segment"])
    metadata = _metadata(p, ctx)
    metadata.update(missing_data_metadata(registry, tte, imputed_fields, date_imputation))
    sentences = metadata["conventions"]
    assert isinstance(sentences, list)  # _metadata writes a list of sentences
    metadata["conventions"] = [*sentences, metadata["date_imputation_rule"]]
    return AnalysisDataset(
        patients=_named(_patient_columns(p.reset_index()), names),
        time_to_event=_named(tte, names),
        cycles=_named(_renumbered(cycles), names),
        mrd=_named(public_mrd(mrd), names),
        adverse_events=_named(_renumbered(adverse), names),
        metadata=MappingProxyType(metadata),
        relapses=_named(relapses, names),
        dose_steps=_named(steps, names),
        hsct_time_to_event=_named(_renumbered(hsct_tte[TTE_COLUMNS]), names),
        responses=_named(responses_frame(ctx.t["response_assessment"]), names),
    )


# --- sections of the patients frame ------------------------------------------------------------------


def _demographics(p: pd.DataFrame, ctx: _Context) -> None:
    """center_id, synthetic, sex, birth_date, diagnosis_date, frontline_end_date, age_at_diagnosis_years,
    immunophenotype, genetics_*."""
    t, ids = ctx.t, ctx.ids
    patient = t["patient"].drop_duplicates("patient_id").set_index("patient_id")
    p["center_id"] = patient["center_id"]
    center = t["center"].drop_duplicates("center_id").set_index("center_id")
    p["synthetic"] = p["center_id"].map(center["synthetic"]).astype("boolean").fillna(False).astype(bool)
    p["sex"] = patient["sex"]
    p["birth_date"] = patient["birth_date"]
    diagnosis = t["diagnosis"].drop_duplicates("patient_id").set_index("patient_id")
    p["diagnosis_date"] = diagnosis["diagnosis_date"].reindex(ids)
    p["frontline_end_date"] = diagnosis["frontline_end_date"].reindex(ids)
    p["age_at_diagnosis_years"] = (p["diagnosis_date"] - p["birth_date"]).dt.days / _DAYS_PER_YEAR
    p["immunophenotype"] = diagnosis["immunophenotype"].reindex(ids)
    findings = t["genetic_finding"]
    for lesion, column in _GENETICS.items():
        p[column] = ids.isin(findings.loc[findings["lesion"] == lesion, "patient_id"])
    p["has_fusion_lesion"] = ids.isin(findings.loc[findings["lesion"].isin(FUSION_LESIONS), "patient_id"])


def _blinatumomab_lines(t: dict[str, pd.DataFrame]) -> pd.DataFrame:
    lines = t["treatment_line"]
    return lines[lines["treatment_type"] == "blinatumomab"].sort_values(["patient_id", "start_date", "line_number"])


def _blinatumomab_dates(p: pd.DataFrame, ctx: _Context) -> None:
    """first_blinatumomab_date, last_blinatumomab_date, age_at_first_blinatumomab_years."""
    t, ids = ctx.t, ctx.ids
    cycles = t["blinatumomab_cycle"]
    blin_lines = _blinatumomab_lines(t)
    first_cycle_start = cycles.groupby("patient_id")["start_date"].min()
    first_line_start = blin_lines.groupby("patient_id")["start_date"].min()
    p["first_blinatumomab_date"] = first_cycle_start.reindex(ids).fillna(first_line_start.reindex(ids))
    last_end = cycles.groupby("patient_id")["end_date"].max().reindex(ids)
    p["last_blinatumomab_date"] = last_end.fillna(blin_lines.groupby("patient_id")["end_date"].max().reindex(ids))
    p["age_at_first_blinatumomab_years"] = (p["first_blinatumomab_date"] - p["birth_date"]).dt.days / _DAYS_PER_YEAR


def _relapse_history(p: pd.DataFrame, ctx: _Context) -> None:
    """relapses_before_blinatumomab, relapse_status_at_blinatumomab, index relapse and its classification."""
    t, ids = ctx.t, ctx.ids
    first_blin = p["first_blinatumomab_date"]
    relapses = t["relapse"].sort_values(["patient_id", "relapse_date", "relapse_number"])
    relapses = relapses.assign(
        _order=relapses.groupby("patient_id").cumcount() + 1, _first_blin=relapses["patient_id"].map(first_blin)
    )
    before = relapses[relapses["relapse_date"] <= relapses["_first_blin"]]
    count = before.groupby("patient_id").size().reindex(ids).fillna(0).astype(int)
    has_blin = first_blin.notna()
    p["relapses_before_blinatumomab"] = _nullable(count, "Int64", known=has_blin)
    status = count.map(lambda n: _RELAPSE_STATUS.get(n, "third_or_later_relapse"))
    p["relapse_status_at_blinatumomab"] = status.where(has_blin, None).astype(object)
    index_relapse = before.drop_duplicates("patient_id", keep="last").set_index("patient_id")
    p["index_relapse_date"] = index_relapse["relapse_date"].reindex(ids)
    p["index_relapse_number"] = index_relapse["_order"].reindex(ids).astype("Int64")
    for column in _RELAPSE_CLASS_COLUMNS:
        p[column] = pd.Series(None, index=ids, dtype=object)
    if len(index_relapse):
        frame = index_relapse.join(p[["diagnosis_date", "frontline_end_date"]], how="left")
        classes = classify_relapses(frame, ctx.rules, groups=(frame["_order"] == 1).to_numpy())
        for column in _RELAPSE_CLASS_COLUMNS:
            p[column] = _object(classes[column].reindex(ids))


def _indication(p: pd.DataFrame, ctx: _Context) -> None:
    """indication_group, months_diagnosis_to_blinatumomab, prior_hsct, in_cr_at_start,
    chemotherapy_intolerance_reason."""
    t, ids = ctx.t, ctx.ids
    first_blin = p["first_blinatumomab_date"]
    blin_lines = _blinatumomab_lines(t)
    first_line = blin_lines.drop_duplicates("patient_id").set_index("patient_id")
    cycles = t["blinatumomab_cycle"]
    first_cycle = cycles.sort_values(["patient_id", "start_date", "cycle_number"]).drop_duplicates("patient_id")
    from_cycle = first_cycle.set_index("patient_id")["indication"].map(_CYCLE_INDICATION_TO_GROUP)
    p["indication_group"] = _object(first_line["intent"].reindex(ids).fillna(from_cycle.reindex(ids)))
    p["months_diagnosis_to_blinatumomab"] = (first_blin - p["diagnosis_date"]).dt.days / _DAYS_PER_MONTH
    hsct = t["hsct"]
    p["prior_hsct"] = ids.isin(hsct.loc[hsct["hsct_date"] < hsct["patient_id"].map(first_blin), "patient_id"])
    p["in_cr_at_start"] = p["indication_group"].isin(IN_CR_INDICATIONS) & first_blin.notna()
    p["chemotherapy_intolerance_reason"] = _intolerance_reason(p, t)


def _intolerance_reason(p: pd.DataFrame, t: dict[str, pd.DataFrame]) -> pd.Series:
    """The recorded reason of chemotherapy intolerance: on the first blinatumomab line, else on the latest
    line started on or before the first infusion that records one. None when not recorded."""
    lines = t["treatment_line"]
    if "intolerance_reason" not in lines.columns:
        return pd.Series(None, index=p.index, dtype=object)
    recorded = lines[lines["intolerance_reason"].notna()]
    recorded = recorded[recorded["start_date"] <= recorded["patient_id"].map(p["first_blinatumomab_date"])]
    blin = recorded[recorded["treatment_type"] == "blinatumomab"].sort_values(["patient_id", "start_date"])
    other = recorded.sort_values(["patient_id", "start_date"])
    on_blin = blin.drop_duplicates("patient_id").set_index("patient_id")["intolerance_reason"]
    latest = other.drop_duplicates("patient_id", keep="last").set_index("patient_id")["intolerance_reason"]
    first_choice = on_blin.reindex(p.index).astype(object)
    return _object(first_choice.where(first_choice.notna(), latest.reindex(p.index).astype(object)))


def _assessment_completeness(mrd: pd.DataFrame) -> pd.DataFrame:
    """Adds `assessment_complete_mrd_response`: at that patient's assessment (all measurements of one
    day, every method and sample) no method detected MRD and at least one measurement is a complete
    MRD response (not detected at a sensitivity of 1e-4 or finer). Flow-negative with RT-qPCR positive
    the same day is therefore not complete (clinical-rules.md §4: methods are never merged)."""
    key = [mrd["patient_id"], mrd["assessment_date"]]
    any_detected = mrd["detected"].groupby(key).transform("any")
    any_complete = mrd["complete_mrd_response"].groupby(key).transform("any")
    return mrd.assign(assessment_complete_mrd_response=(any_complete & ~any_detected).astype(bool))


_BASELINE_ORDER = {
    # rule value -> method preference on the baseline day (lower first); unlisted methods after.
    "flow": {"flow": 0, "rt_qpcr_fusion": 1, "ig_tcr_qpcr": 2, "ngs": 3, "ihc": 4},
    "pcr": {"rt_qpcr_fusion": 0, "ig_tcr_qpcr": 1, "flow": 2, "ngs": 3, "ihc": 4},
}


def _baseline_mrd(p: pd.DataFrame, mrd: pd.DataFrame, ctx: _Context) -> None:
    """baseline_mrd_fraction / _method / _status (the method chosen by rule `baseline_mrd_method` on the
    latest assessment day in the baseline window) and baseline_mrd_flow_* / baseline_mrd_pcr_* (the latest
    measurement of each method group in the window; bone marrow before blood on the same day)."""
    ids, rules = ctx.ids, ctx.rules
    fb = mrd["patient_id"].map(p["first_blinatumomab_date"])
    window = (mrd["assessment_date"] <= fb) & (
        mrd["assessment_date"] >= fb - _days(rules.baseline_mrd_window_days.value)
    )
    baseline = mrd[window.fillna(False)]
    last_day = baseline.groupby("patient_id")["assessment_date"].transform("max")
    day = baseline[baseline["assessment_date"] == last_day]
    choice = rules.baseline_mrd_method.value
    if choice == "most_sensitive":
        preference = day["sensitivity"].fillna(np.inf).to_numpy(dtype=float)
    else:
        order = _BASELINE_ORDER["pcr" if choice == "pcr" else "flow"]
        preference = day["method"].map(order).fillna(9).to_numpy(dtype=float)
        if choice == "fusion_pcr_if_fusion":
            fusion = day["patient_id"].map(p["has_fusion_lesion"]).to_numpy(dtype=bool)
            preference = np.where(fusion & (day["method"] == "rt_qpcr_fusion").to_numpy(), -1.0, preference)
    chosen = (
        day.assign(_preference=preference)
        .sort_values(["patient_id", "_preference", "_sample_order", "_method_order"], kind="stable")
        .drop_duplicates("patient_id")
        .set_index("patient_id")
    )
    p["baseline_mrd_fraction"] = chosen["fraction"].reindex(ids).astype(float)
    p["baseline_mrd_method"] = _object(chosen["method"].reindex(ids))
    p["baseline_mrd_status"] = _object(chosen["status"].reindex(ids))
    p["baseline_mrd_date"] = chosen["assessment_date"].reindex(ids)
    for group in ("flow", "pcr"):
        g = baseline[baseline["method_group"] == group]
        latest = (
            g.sort_values(
                ["patient_id", "assessment_date", "_sample_order", "_method_order"],
                ascending=[True, False, True, True],
                kind="stable",
            )
            .drop_duplicates("patient_id")
            .set_index("patient_id")
        )
        p[f"baseline_mrd_{group}_status"] = _object(latest["status"].reindex(ids))
        p[f"baseline_mrd_{group}_fraction"] = latest["fraction"].reindex(ids).astype(float)


def _exposure(p: pd.DataFrame, cycles: pd.DataFrame) -> None:
    """cycles, infusion_days, planned/delivered dose, dose_intensity, interruptions, early stop, deviations."""
    ids = p.index
    p["cycles"] = cycles.groupby("patient_id").size().reindex(ids).fillna(0).astype(int)
    sums = cycles.groupby("patient_id")[["infusion_days", "planned_dose_mcg", "delivered_dose_mcg"]].sum(min_count=1)
    p["infusion_days"] = sums["infusion_days"].reindex(ids).astype("Int64")
    p["planned_dose_mcg"] = sums["planned_dose_mcg"].reindex(ids).astype(float)
    p["delivered_dose_mcg"] = sums["delivered_dose_mcg"].reindex(ids).astype(float)
    both = cycles[cycles["planned_dose_mcg"].notna() & cycles["delivered_dose_mcg"].notna()]
    ratio = both.groupby("patient_id")[["delivered_dose_mcg", "planned_dose_mcg"]].sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        intensity = ratio["delivered_dose_mcg"] / ratio["planned_dose_mcg"].where(ratio["planned_dose_mcg"] > 0)
    p["dose_intensity"] = intensity.reindex(ids).astype(float)
    p["interruptions"] = cycles.groupby("patient_id")["interruptions"].sum().reindex(ids).fillna(0).astype(int)
    stopped = cycles[cycles["early_stop_reason"].notna()]
    p["early_stop"] = ids.isin(stopped["patient_id"])
    p["early_stop_reason"] = _object(
        stopped.drop_duplicates("patient_id").set_index("patient_id")["early_stop_reason"].reindex(ids)
    )
    p["dose_deviations"] = cycles.groupby("patient_id")["dose_deviations"].sum(min_count=1).reindex(ids).astype("Int64")


def _hsct_after_blinatumomab(p: pd.DataFrame, ctx: _Context) -> pd.DataFrame:
    """The first HSCT after the first infusion, indexed by patient."""
    hsct = ctx.t["hsct"].sort_values(["patient_id", "hsct_date", "hsct_number"])
    after = hsct[hsct["hsct_date"] > hsct["patient_id"].map(p["first_blinatumomab_date"])]
    return after.drop_duplicates("patient_id").set_index("patient_id")


def _responses(p: pd.DataFrame, ctx: _Context, hsct_after: pd.DataFrame) -> None:
    """response_window_end, best_response, cr_achieved, cr_date, cr_after_cycle1 (and the after-cycle-1
    window, kept as _after_lo / _after_hi for the MRD section)."""
    t, ids, rules = ctx.t, ctx.ids, ctx.rules
    first_blin = p["first_blinatumomab_date"]
    has_blin = first_blin.notna()
    window_end = p["last_blinatumomab_date"] + _days(rules.response_window_days.value)
    next_hsct = hsct_after["hsct_date"].reindex(ids)
    window_end = window_end.where(next_hsct.isna() | (next_hsct > window_end), next_hsct - _days(1))
    p["response_window_end"] = window_end
    responses = t["response_assessment"]
    r_fb = responses["patient_id"].map(first_blin)
    r_end = responses["patient_id"].map(window_end)
    in_window = (responses["assessment_date"] > r_fb) & (responses["assessment_date"] <= r_end)
    resp = responses[in_window.fillna(False)].assign(_rank=lambda f: f["category"].map(RESPONSE_RANK))
    best = (
        resp.sort_values(["patient_id", "_rank", "assessment_date"])
        .drop_duplicates("patient_id")
        .set_index("patient_id")
    )
    p["best_response"] = _object(best["category"].reindex(ids))
    first_cr = resp[resp["category"].isin(CR_CATEGORIES)].groupby("patient_id")["assessment_date"].min().reindex(ids)
    got_cr = p["best_response"].isin(CR_CATEGORIES)
    in_cr_at_start = p["in_cr_at_start"]
    p["cr_achieved"] = _nullable(got_cr | in_cr_at_start, "boolean", known=has_blin)
    p["cr_date"] = first_cr.where(~in_cr_at_start, first_blin)

    cycles = t["blinatumomab_cycle"]
    first_cycle_no = cycles.groupby("patient_id")["cycle_number"].min()
    c1 = (
        cycles[cycles["cycle_number"] == cycles["patient_id"].map(first_cycle_no)]
        .drop_duplicates("patient_id")
        .set_index("patient_id")
    )
    c1_end = c1["end_date"].reindex(ids)
    c2_start = (
        cycles[cycles["start_date"] > cycles["patient_id"].map(c1["end_date"])]
        .groupby("patient_id")["start_date"]
        .min()
        .reindex(ids)
    )
    after_lo = c1_end - _days(rules.after_cycle1_earliest_days.value)
    after_hi = c1_end + _days(rules.after_cycle1_latest_days.value)
    after_hi = after_hi.where(c2_start.isna() | (c2_start - _days(1) > after_hi), c2_start - _days(1))
    p["_after_lo"], p["_after_hi"] = after_lo, after_hi
    r_lo, r_hi = responses["patient_id"].map(after_lo), responses["patient_id"].map(after_hi)
    c1_cycle = responses["cycle_number"].astype("Int64") == responses["patient_id"].map(first_cycle_no).astype("Int64")
    r_after = responses[
        (c1_cycle.fillna(False))
        | ((responses["assessment_date"] >= r_lo) & (responses["assessment_date"] <= r_hi)).fillna(False)
    ]
    r_after = r_after.assign(_explicit=~c1_cycle.loc[r_after.index].fillna(False))
    r_after = r_after.sort_values(["patient_id", "_explicit", "assessment_date"]).drop_duplicates("patient_id")
    cr1 = r_after.set_index("patient_id")["category"].isin(CR_CATEGORIES).reindex(ids)
    p["cr_after_cycle1"] = _nullable(cr1, "boolean")


def _mrd_response(p: pd.DataFrame, mrd: pd.DataFrame, ctx: _Context) -> None:
    """MRD after cycle 1 and best, per method group; complete_mrd_response (every method at one
    assessment); responder."""
    ids = ctx.ids
    fb = mrd["patient_id"].map(p["first_blinatumomab_date"])
    m_lo, m_hi = mrd["patient_id"].map(p.pop("_after_lo")), mrd["patient_id"].map(p.pop("_after_hi"))
    evaluable = mrd["status"] != "not_evaluable"
    after1 = mrd[evaluable & (mrd["assessment_date"] >= m_lo) & (mrd["assessment_date"] <= m_hi)]
    m_end = mrd["patient_id"].map(p["response_window_end"])
    course = mrd[(mrd["assessment_date"] > fb) & (mrd["assessment_date"] <= m_end)]
    for group in ("flow", "pcr"):
        first = after1[after1["method_group"] == group].drop_duplicates("patient_id").set_index("patient_id")
        p[f"mrd_negative_after_cycle1_{group}"] = _nullable((first["status"] == "negative").reindex(ids), "boolean")
        g = course[(course["method_group"] == group) & (course["status"] != "not_evaluable")]
        any_negative = (g["status"] == "negative").groupby(g["patient_id"]).any()
        p[f"mrd_negative_best_{group}"] = _nullable(any_negative.reindex(ids), "boolean")
    complete = course.groupby("patient_id")["assessment_complete_mrd_response"].any()
    p["complete_mrd_response"] = _nullable(complete.reindex(ids), "boolean")
    has_blin = p["first_blinatumomab_date"].notna()
    if ctx.non_responder == "no_cr":
        p["responder"] = _nullable(p["cr_achieved"], "boolean")
    else:
        p["responder"] = _nullable(p["complete_mrd_response"].fillna(False), "boolean", known=has_blin)


def _adverse_events(p: pd.DataFrame, ctx: _Context) -> pd.DataFrame:
    """The adverse_events frame (records + computed grade + treatment_emergent) and the patients' maximum
    grades, all over the one treatment-emergent window (rule `treatment_emergent_days`)."""
    t, ids, rules = ctx.t, ctx.ids, ctx.rules
    events = t["adverse_event"]
    ae_fb = events["patient_id"].map(p["first_blinatumomab_date"])
    ae_end = events["patient_id"].map(p["last_blinatumomab_date"]) + _days(rules.treatment_emergent_days.value)
    emergent = ((events["onset_date"] >= ae_fb) & (events["onset_date"] <= ae_end)).fillna(False).astype(bool)
    teae = events[emergent]
    grade = teae["grade"].astype(float)
    p["crs_max_grade"] = (
        grade[teae["term"] == "crs"].groupby(teae["patient_id"]).max().reindex(ids).fillna(0).astype(int)
    )
    p["icans_max_grade"] = (
        grade[teae["term"] == "icans"].groupby(teae["patient_id"]).max().reindex(ids).fillna(0).astype(int)
    )
    neuro = teae["term"].isin([str(term) for term in NEUROTOXICITY_TERMS])
    p["neurotoxicity_max_grade"] = grade[neuro].groupby(teae["patient_id"]).max().reindex(ids).fillna(0).astype(int)
    p["grade3plus_any"] = ids.isin(teae.loc[grade >= 3, "patient_id"])
    computed = computed_adverse_event_grades(t, rules)
    adverse = events.copy(deep=False)  # new columns only: the recorded ones are shared, not copied
    adverse["computed_grade"] = computed["computed_grade"]
    adverse["computed_reason"] = computed["computed_reason"]
    adverse["age_at_onset_years"] = computed["age_years"]
    adverse["grade_disagrees"] = (
        adverse["computed_grade"].notna() & (adverse["computed_grade"] != adverse["grade"].astype("Int64"))
    ).to_numpy(dtype=bool)
    adverse["treatment_emergent"] = emergent.to_numpy(dtype=bool)
    return adverse


def _hsct_and_follow_up(p: pd.DataFrame, ctx: _Context, hsct_after: pd.DataFrame) -> None:
    """HSCT after blinatumomab (date, remission status, donor, GVHD, inotuzumab before), death, follow-up."""
    t, ids = ctx.t, ctx.ids
    p["hsct_after_blinatumomab"] = ids.isin(hsct_after.index)
    p["hsct_date"] = hsct_after["hsct_date"].reindex(ids)
    for column, source in (
        ("hsct_remission_status", "remission_status"),
        ("hsct_donor_type", "donor_type"),
        ("hsct_chronic_gvhd", "chronic_gvhd"),
    ):
        p[column] = _object(hsct_after[source].reindex(ids))
    p["hsct_acute_gvhd_max_grade"] = hsct_after["acute_gvhd_max_grade"].reindex(ids).astype("Int64")
    p["inotuzumab_before_hsct"] = (
        hsct_after["inotuzumab_before"].reindex(ids).astype("boolean").fillna(False).astype(bool)
    )
    death = t["death"].drop_duplicates("patient_id").set_index("patient_id")
    follow = t["follow_up"].drop_duplicates("patient_id").set_index("patient_id")
    p["death_date"] = death["death_date"].reindex(ids)
    p["death_date_ADTF"] = death["death_date_ADTF"].reindex(ids).astype(object)
    p["death_cause"] = _object(death["cause"].reindex(ids))
    p["last_contact_date"] = follow["last_contact_date"].reindex(ids)
    p["vital_status"] = follow["vital_status"].reindex(ids).astype(object)
    dead_by_date = pd.Series(None, index=ids, dtype=object).mask(p["death_date"].notna(), "dead")
    p["vital_status"] = p["vital_status"].where(p["vital_status"].notna(), dead_by_date)


def _origin(p: pd.DataFrame, ctx: _Context) -> None:
    """origin_date, relapse_after_origin_date, followup_days (origin to death or last contact, at most the
    cut-off; never negative)."""
    origin_date = {
        "first_blinatumomab": p["first_blinatumomab_date"],
        "hsct": p["hsct_date"],
        "diagnosis": p["diagnosis_date"],
        "relapse": p["index_relapse_date"],
    }[ctx.origin]
    p["origin_date"] = origin_date
    p["relapse_after_origin_date"] = first_after(ctx.t["relapse"], "relapse_date", origin_date, cutoff=ctx.cutoff)
    end = p["death_date"].fillna(p["last_contact_date"])
    if ctx.cutoff is not None:
        end = end.where(end.isna() | (end <= ctx.cutoff), ctx.cutoff)
    origin = origin_date if ctx.cutoff is None else origin_date.where(origin_date <= ctx.cutoff)
    p["followup_days"] = (end - origin).dt.days.astype(float).clip(lower=0)


def _coded_tables(registry: Registry, names: pd.Index) -> dict[str, pd.DataFrame]:
    """The registry's frames with patient_id replaced by its position in `names` (rows of unknown
    patients are dropped: the validation reports them)."""
    tables = {}
    for record_type, frame in registry.tables.items():
        if "patient_id" not in frame.columns:
            tables[record_type] = frame
            continue
        code = names.get_indexer(pd.Index(frame["patient_id"]))
        known = code >= 0
        coded = frame.loc[known] if not known.all() else frame.copy(deep=False)
        coded["patient_id"] = code[known]
        tables[record_type] = coded
    return tables


def _renumbered(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` (one this module built) with rows numbered 0..n-1: reset_index(drop=True) without its copy
    of every column (hundreds of MiB at 100,000 patients)."""
    frame.index = pd.RangeIndex(len(frame))
    return frame


def _named(frame: pd.DataFrame, names: np.ndarray) -> pd.DataFrame:
    frame = frame.copy(deep=False)
    frame["patient_id"] = (
        names[frame["patient_id"].to_numpy(dtype=np.int64)] if len(frame) else frame["patient_id"].astype(object)
    )
    return frame


def _patient_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """The contract's columns in the order of docs/architecture.md, then the added ones."""
    extra = [c for c in frame.columns if c not in PATIENT_COLUMNS]
    return frame[list(PATIENT_COLUMNS) + extra]


def _cycles_frame(
    cycles_raw: pd.DataFrame,
    comparison: CycleDoseComparison,
    interruptions: pd.DataFrame,
    segments: pd.DataFrame,
    events: pd.DataFrame,
) -> pd.DataFrame:
    c = cycles_raw  # the joins below return a new frame: the registry's is never modified
    plan = comparison.cycles
    key = ["patient_id", "cycle_number"]
    count = interruptions.groupby(key).size().rename("interruptions")
    interrupted_days = (
        ((interruptions["end_date"] - interruptions["start_date"]).dt.days)
        .groupby([interruptions["patient_id"], interruptions["cycle_number"]])
        .sum()
        .rename("_interrupted_days")
    )
    delivered = segments[segments["kind"] == "delivered"]
    delivered_days = (
        ((delivered["end_date"] - delivered["start_date"]).dt.days + 1)
        .groupby([delivered["patient_id"], delivered["cycle_number"]])
        .sum()
        .rename("_delivered_days")
    )
    c = c.join(count, on=key).join(interrupted_days, on=key).join(delivered_days, on=key)
    span = (c["end_date"] - c["start_date"]).dt.days + 1
    c["infusion_days"] = (
        c["_delivered_days"]
        .where(c["_delivered_days"].notna(), span - c["_interrupted_days"].fillna(0))
        .astype("Int64")
    )
    c["interruptions"] = c["interruptions"].fillna(0).astype(int)
    for column in (
        "label_cycle",
        "weight_kg",
        "height_cm",
        "bsa_m2",
        "step_mcg_per_day",
        "full_mcg_per_day",
        "planned_dose_mcg",
        "delivered_dose_mcg",
        "delivered_outside_plan_mcg",
        "dose_intensity",
        "plan_end_date",
    ):
        c[column] = plan[column]
    # Deviations: runs from the rules, except "not infused" days after the recorded end of the cycle
    # (the end of a stopped cycle is its recorded end_date; the stop is reported as early_stop_reason).
    runs = comparison.deviations
    if len(runs):
        cycle_end = c["end_date"].reindex(runs["_cycle_row"]).to_numpy()
        after_end = (runs["kind"] == "not_infused").to_numpy() & (runs["first_date"].to_numpy() > cycle_end)
        counted = runs[~after_end].groupby("_cycle_row").size()
    else:
        counted = pd.Series(dtype=int)
    known = plan["delivered_dose_mcg"].notna()
    c["dose_deviations"] = pd.array(
        np.where(known, counted.reindex(c.index).fillna(0), np.nan), dtype="Float64"
    ).astype("Int64")
    ae = events[events["cycle_number"].notna()]
    ae_key = [ae["patient_id"], ae["cycle_number"].astype("Int64")]
    crs = ae["grade"].astype(float).where(ae["term"] == "crs").groupby(ae_key).max()
    neuro_mask = ae["term"].isin([str(term) for term in NEUROTOXICITY_TERMS])
    neuro_n = neuro_mask.groupby(ae_key).sum()
    neuro_max = ae["grade"].astype(float).where(neuro_mask).groupby(ae_key).max()
    idx = pd.MultiIndex.from_arrays([c["patient_id"], c["cycle_number"].astype("Int64")])
    c["crs_max_grade"] = crs.reindex(idx).fillna(0).astype(int).to_numpy()
    c["neurotoxicity_events"] = neuro_n.reindex(idx).fillna(0).astype(int).to_numpy()
    c["neurotoxicity_max_grade"] = neuro_max.reindex(idx).fillna(0).astype(int).to_numpy()
    columns = [
        "patient_id",
        "cycle_number",
        "line_number",
        "label_cycle",
        "phase",
        "indication",
        "start_date",
        "end_date",
        "plan_end_date",
        "weight_kg",
        "height_cm",
        "bsa_m2",
        "step_mcg_per_day",
        "full_mcg_per_day",
        "infusion_days",
        "planned_dose_mcg",
        "delivered_dose_mcg",
        "delivered_outside_plan_mcg",
        "dose_intensity",
        "interruptions",
        "early_stop_reason",
        "dose_deviations",
        "crs_max_grade",
        "neurotoxicity_events",
        "neurotoxicity_max_grade",
    ]
    return c[columns].sort_values(["patient_id", "cycle_number"], kind="stable")


def _metadata(p: pd.DataFrame, ctx: _Context) -> dict[str, object]:
    rules = ctx.rules
    unconfirmed = [item.note() for item in rules.unconfirmed_items() if item.name in _RELEVANT_RULES]
    first = p["first_blinatumomab_date"].dropna()
    cutoff: pd.Timestamp | None
    if ctx.cutoff is not None:
        cutoff = ctx.cutoff
    else:
        # Without as_of the data cut-off is the latest follow-up date recorded (death or last contact).
        known = pd.concat([p["last_contact_date"], p["death_date"]]).dropna()
        cutoff = pd.Timestamp(known.max()) if len(known) else None
    return {
        "origin": ctx.origin,
        "non_responder": ctx.non_responder,
        "as_of": None if ctx.cutoff is None else ctx.cutoff.date().isoformat(),
        "data_cutoff": None if cutoff is None else pd.Timestamp(cutoff).date().isoformat(),
        "data_cutoff_source": "as_of" if ctx.cutoff is not None else "latest recorded last contact or death",
        "accrual_first": None if first.empty else first.min().date().isoformat(),
        "accrual_last": None if first.empty else first.max().date().isoformat(),
        "conventions": conventions(ctx.origin, ctx.non_responder, ctx.cutoff, rules),
        "unconfirmed_rules": unconfirmed,
        "acute_gvhd_window_days": rules.acute_gvhd_window_days.value,
        "treatment_emergent_window": treatment_emergent_sentence(rules),
        "baseline_mrd_method_rule": baseline_mrd_method_sentence(rules),
    }
