"""`derive`: registry records -> the analysis dataset (column-wise, no per-patient Python loops).

Every column is defined in docs/analysis-dataset.md; the windows and conventions below are stated
verbatim in `metadata["conventions"]` so that the report prints them.
"""

from __future__ import annotations

import datetime as dt
from types import MappingProxyType

import numpy as np
import pandas as pd

from blinareg.derive.dataset import NON_RESPONDER_DEFINITIONS, ORIGINS, AnalysisDataset
from blinareg.derive.endpoints import ACUTE_GVHD_WINDOW_DAYS, first_after, time_to_event_rows
from blinareg.derive.imputation import DEFAULT_DATE_IMPUTATION, DateImputationRule, impute_partial_dates
from blinareg.derive.imputation import missing_data_metadata
from blinareg.derive.mrd import (
    AFTER_CYCLE1_EARLIEST_DAYS,
    AFTER_CYCLE1_LATEST_DAYS,
    BASELINE_WINDOW_DAYS,
    mrd_frame,
    public_mrd,
)
from blinareg.derive.relapse import classify_relapses
from blinareg.records.clinical_frames import computed_adverse_event_grades, cycle_dose_comparison
from blinareg.records.registry import Registry
from blinareg.records.vocabulary import NEUROTOXICITY_TERMS
from blinareg.rules import DEFAULT_RULES, RuleSet

__all__ = ["derive", "CR_CATEGORIES", "IN_CR_INDICATIONS", "RESPONSE_WINDOW_DAYS", "TEAE_WINDOW_DAYS"]

CR_CATEGORIES = ("cr", "crh", "cri")
IN_CR_INDICATIONS = ("mrd_clearance", "chemotherapy_intolerance", "consolidation")
RESPONSE_RANK = {"cr": 0, "crh": 1, "cri": 2, "pr": 3, "no_response": 4, "progression": 5}
RESPONSE_WINDOW_DAYS = 42  # responses/MRD of the blinatumomab course: up to 42 days after the last cycle ends
TEAE_WINDOW_DAYS = 30  # adverse events of the course: onset from the first infusion to 30 days after the last
_CYCLE_INDICATION_TO_GROUP = {"relapsed_refractory": "relapsed_refractory", "mrd_positive": "mrd_clearance",
                              "consolidation": "consolidation"}
_GENETICS = {
    "BCR::ABL1": "genetics_bcr_abl1", "Ph-like": "genetics_ph_like", "KMT2A-r": "genetics_kmt2a_r",
    "ETV6::RUNX1": "genetics_etv6_runx1", "TCF3::PBX1": "genetics_tcf3_pbx1",
    "high_hyperdiploidy": "genetics_high_hyperdiploidy", "hypodiploidy": "genetics_hypodiploidy",
    "iAMP21": "genetics_iamp21", "other": "genetics_other",
}
PATIENT_COLUMNS = (
    "patient_id", "center_id", "synthetic", "sex", "birth_date", "diagnosis_date", "age_at_diagnosis_years",
    "first_blinatumomab_date", "age_at_first_blinatumomab_years", "immunophenotype", "genetics_bcr_abl1",
    "genetics_ph_like", "genetics_kmt2a_r", "genetics_etv6_runx1", "genetics_tcf3_pbx1", "genetics_high_hyperdiploidy",
    "genetics_hypodiploidy", "genetics_iamp21", "genetics_other", "relapses_before_blinatumomab",
    "relapse_status_at_blinatumomab", "index_relapse_date", "relapse_site_class", "relapse_site_detail",
    "relapse_timing", "bfm_strategic_group", "intreall_risk", "indication_group", "months_diagnosis_to_blinatumomab",
    "prior_hsct", "baseline_mrd_fraction", "baseline_mrd_method", "baseline_mrd_status", "cycles", "infusion_days",
    "planned_dose_mcg", "delivered_dose_mcg", "dose_intensity", "interruptions", "early_stop", "early_stop_reason",
    "dose_deviations", "cr_after_cycle1", "best_response", "cr_achieved", "cr_date", "mrd_negative_after_cycle1_flow",
    "mrd_negative_after_cycle1_pcr", "mrd_negative_best_flow", "mrd_negative_best_pcr", "complete_mrd_response",
    "responder", "crs_max_grade", "icans_max_grade", "neurotoxicity_max_grade", "grade3plus_any",
    "hsct_after_blinatumomab", "hsct_date", "hsct_remission_status", "hsct_donor_type", "inotuzumab_before_hsct",
    "relapse_after_origin_date", "death_date", "death_cause", "last_contact_date", "vital_status",
)
_RELAPSE_STATUS = {0: "no_relapse", 1: "first_relapse", 2: "second_relapse"}
_DAYS_PER_YEAR = 365.25
_DAYS_PER_MONTH = 365.25 / 12
_RELEVANT_RULES = (
    "very_early_months", "early_after_end_of_therapy_months", "marrow_m2_min_pct", "marrow_m3_min_pct",
    "bfm_s3_s4_split", "intreall_standard_risk", "mrd_negative_threshold", "complete_mrd_min_sensitivity",
    "dose_weight_threshold_kg", "step_dose_mcg_per_day", "full_dose_mcg_per_day", "step_dose_mcg_per_m2_per_day",
    "full_dose_mcg_per_m2_per_day", "step_dose_cap_mcg_per_day", "full_dose_cap_mcg_per_day",
    "infusion_days_per_cycle", "rr_step_up_day", "rr_induction_cycles", "rr_consolidation_cycles",
    "rr_continued_cycles", "rr_treatment_free_days", "rr_continued_treatment_free_days", "mrd_induction_cycles",
    "mrd_consolidation_cycles", "mrd_treatment_free_days", "consolidation_cycles",
    "consolidation_treatment_free_days", "interruption_max_continue_days", "dose_tolerance_fraction",
    "crs_fever_min_c", "low_flow_max_l_min", "capd_age_cutoff_years", "capd_age_cutoff_inclusive",
    "capd_delirium_min",
)


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
            stamp = pd.NaT
        if stamp is not pd.NaT and not pd.isna(stamp):
            return stamp.normalize()
    raise ValueError(f"as_of={value!r} must be a date (datetime.date or ISO 'YYYY-MM-DD') or None")


def derive(registry: Registry, *, origin: str = "first_blinatumomab", non_responder: str = "no_cr",
           rules: RuleSet = DEFAULT_RULES, as_of: dt.date | str | None = None,
           date_imputation: DateImputationRule = DEFAULT_DATE_IMPUTATION) -> AnalysisDataset:
    """The analysis dataset of `registry` (pure: no I/O). See docs/analysis-dataset.md for every column.

    origin: time zero of OS/EFS (and the reference of `relapse_after_origin_date`):
      "first_blinatumomab" (first infusion day), "hsct" (first HSCT after the first infusion),
      "diagnosis" (initial diagnosis), "relapse" (the index relapse: the latest relapse on or before the
      first infusion). Patients without that date get no time-to-event rows.
    non_responder: "no_cr" (responder = CR, CRh or CRi in the response window, or in CR at the start)
      or "no_complete_mrd_response" (responder = a complete MRD response in the response window).
    as_of: data cut-off; events after it are ignored and follow-up is censored at it.
    date_imputation: the day a partial date (`2017`, `2017-07`) is analysed as (blinareg.derive.imputation).
    Raises ValueError naming the argument and its legal values.
    """
    origin = _check_choice("origin", origin, ORIGINS)
    non_responder = _check_choice("non_responder", non_responder, NON_RESPONDER_DEFINITIONS)
    if not isinstance(rules, RuleSet):
        raise ValueError(f"rules={rules!r} must be a blinareg.rules.RuleSet")
    if not isinstance(registry, Registry):
        raise ValueError(f"registry={type(registry).__name__} must be a blinareg.records.Registry")
    cutoff = _as_of(as_of)
    # Patient ids become integer codes (positions in the sorted ids) for fast grouping; mapped back at the end.
    names = np.sort(registry["patient"]["patient_id"].unique()).astype(object)
    t = _coded_tables(registry, pd.Index(names))
    t, imputed_fields = impute_partial_dates(t, date_imputation)  # partial dates -> analysis dates + <date>_ADTF

    ids = pd.RangeIndex(len(names), name="patient_id")
    p = pd.DataFrame(index=ids)
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

    # --- blinatumomab course ----------------------------------------------------------------------
    cycles_raw = t["blinatumomab_cycle"]
    lines = t["treatment_line"]
    blin_lines = lines[lines["treatment_type"] == "blinatumomab"].sort_values(["patient_id", "start_date", "line_number"])
    first_cycle_start = cycles_raw.groupby("patient_id")["start_date"].min()
    first_line_start = blin_lines.groupby("patient_id")["start_date"].min()
    p["first_blinatumomab_date"] = first_cycle_start.reindex(ids).fillna(first_line_start.reindex(ids))
    last_end = cycles_raw.groupby("patient_id")["end_date"].max().reindex(ids)
    p["last_blinatumomab_date"] = last_end.fillna(blin_lines.groupby("patient_id")["end_date"].max().reindex(ids))
    first_blin = p["first_blinatumomab_date"]
    p["age_at_first_blinatumomab_years"] = (first_blin - p["birth_date"]).dt.days / _DAYS_PER_YEAR
    p["immunophenotype"] = diagnosis["immunophenotype"].reindex(ids)
    findings = t["genetic_finding"]
    for lesion, column in _GENETICS.items():
        p[column] = ids.isin(findings.loc[findings["lesion"] == lesion, "patient_id"])

    # --- relapses ---------------------------------------------------------------------------------
    relapses = t["relapse"].sort_values(["patient_id", "relapse_date", "relapse_number"])
    relapses = relapses.assign(_order=relapses.groupby("patient_id").cumcount() + 1,
                               _first_blin=relapses["patient_id"].map(first_blin))
    before = relapses[relapses["relapse_date"] <= relapses["_first_blin"]]
    count = before.groupby("patient_id").size().reindex(ids).fillna(0).astype(int)
    has_blin = first_blin.notna()
    p["relapses_before_blinatumomab"] = pd.array(np.where(has_blin, count, pd.NA), dtype="Int64")
    status = count.map(lambda n: _RELAPSE_STATUS.get(n, "third_or_later_relapse"))
    p["relapse_status_at_blinatumomab"] = status.where(has_blin, None).astype(object)
    index_relapse = before.drop_duplicates("patient_id", keep="last").set_index("patient_id")
    p["index_relapse_date"] = index_relapse["relapse_date"].reindex(ids)
    p["index_relapse_number"] = index_relapse["_order"].reindex(ids).astype("Int64")
    if len(index_relapse):
        frame = index_relapse.join(p[["diagnosis_date", "frontline_end_date"]], how="left")
        classes = classify_relapses(frame, rules, groups=(frame["_order"] == 1).to_numpy())
        for column in ("relapse_site_class", "relapse_site_detail", "relapse_timing", "bfm_strategic_group",
                       "intreall_risk"):
            p[column] = classes[column].reindex(ids).astype(object)
    else:
        for column in ("relapse_site_class", "relapse_site_detail", "relapse_timing", "bfm_strategic_group",
                       "intreall_risk"):
            p[column] = pd.Series(None, index=ids, dtype=object)
    for column in ("relapse_site_class", "relapse_site_detail", "relapse_timing", "bfm_strategic_group", "intreall_risk"):
        p[column] = p[column].where(p[column].notna(), None)

    # --- indication, HSCT before -------------------------------------------------------------------
    first_line = blin_lines.drop_duplicates("patient_id").set_index("patient_id")
    first_cycle = cycles_raw.sort_values(["patient_id", "start_date", "cycle_number"]).drop_duplicates("patient_id")
    from_cycle = first_cycle.set_index("patient_id")["indication"].map(_CYCLE_INDICATION_TO_GROUP)
    p["indication_group"] = first_line["intent"].reindex(ids).fillna(from_cycle.reindex(ids))
    p["indication_group"] = p["indication_group"].where(p["indication_group"].notna(), None).astype(object)
    p["months_diagnosis_to_blinatumomab"] = (first_blin - p["diagnosis_date"]).dt.days / _DAYS_PER_MONTH
    hsct = t["hsct"].sort_values(["patient_id", "hsct_date", "hsct_number"])
    hsct_fb = hsct["patient_id"].map(first_blin)
    p["prior_hsct"] = ids.isin(hsct.loc[hsct["hsct_date"] < hsct_fb, "patient_id"])
    in_cr_at_start = p["indication_group"].isin(IN_CR_INDICATIONS) & has_blin
    p["in_cr_at_start"] = in_cr_at_start

    # --- MRD ---------------------------------------------------------------------------------------
    mrd = mrd_frame(t["mrd_assessment"], first_blin, rules)
    fb = mrd["patient_id"].map(first_blin)
    baseline = mrd[(mrd["assessment_date"] <= fb) & (mrd["assessment_date"] >= fb - pd.Timedelta(days=BASELINE_WINDOW_DAYS))]
    baseline = baseline.sort_values(["patient_id", "assessment_date", "_sample_order", "_method_order"],
                                    ascending=[True, False, True, True]).drop_duplicates("patient_id").set_index("patient_id")
    p["baseline_mrd_fraction"] = baseline["fraction"].reindex(ids).astype(float)
    p["baseline_mrd_method"] = baseline["method"].reindex(ids).astype(object).where(lambda s: s.notna(), None)
    p["baseline_mrd_status"] = baseline["status"].reindex(ids).astype(object).where(lambda s: s.notna(), None)

    # --- cycles ------------------------------------------------------------------------------------
    comparison = cycle_dose_comparison(t, rules)
    events = t["adverse_event"]
    computed = computed_adverse_event_grades(t, rules)
    cycles = _cycles_frame(cycles_raw, comparison, t["interruption"], t["dose_segment"], events)
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
    p["early_stop_reason"] = stopped.drop_duplicates("patient_id").set_index("patient_id")["early_stop_reason"].reindex(ids)
    p["early_stop_reason"] = p["early_stop_reason"].where(p["early_stop_reason"].notna(), None).astype(object)
    p["dose_deviations"] = cycles.groupby("patient_id")["dose_deviations"].sum(min_count=1).reindex(ids).astype("Int64")

    # --- responses ---------------------------------------------------------------------------------
    hsct_after = hsct[hsct["hsct_date"] > hsct_fb].drop_duplicates("patient_id").set_index("patient_id")
    window_end = p["last_blinatumomab_date"] + pd.Timedelta(days=RESPONSE_WINDOW_DAYS)
    next_hsct = hsct_after["hsct_date"].reindex(ids)
    window_end = window_end.where(next_hsct.isna() | (next_hsct > window_end), next_hsct - pd.Timedelta(days=1))
    p["response_window_end"] = window_end
    responses = t["response_assessment"]
    r_fb = responses["patient_id"].map(first_blin)
    r_end = responses["patient_id"].map(window_end)
    in_window = (responses["assessment_date"] > r_fb) & (responses["assessment_date"] <= r_end)
    resp = responses[in_window.fillna(False)].assign(_rank=lambda f: f["category"].map(RESPONSE_RANK))
    best = resp.sort_values(["patient_id", "_rank", "assessment_date"]).drop_duplicates("patient_id").set_index("patient_id")
    p["best_response"] = best["category"].reindex(ids).astype(object).where(lambda s: s.notna(), None)
    first_cr = resp[resp["category"].isin(CR_CATEGORIES)].groupby("patient_id")["assessment_date"].min().reindex(ids)
    got_cr = p["best_response"].isin(CR_CATEGORIES)
    p["cr_achieved"] = pd.array(np.where(has_blin, got_cr | in_cr_at_start, pd.NA), dtype="boolean")
    p["cr_date"] = first_cr.where(~in_cr_at_start, first_blin)

    first_cycle_no = cycles_raw.groupby("patient_id")["cycle_number"].min()
    c1 = cycles_raw[cycles_raw["cycle_number"] == cycles_raw["patient_id"].map(first_cycle_no)].drop_duplicates(
        "patient_id").set_index("patient_id")
    c1_end = c1["end_date"].reindex(ids)
    c2_start = (cycles_raw[cycles_raw["start_date"] > cycles_raw["patient_id"].map(c1["end_date"])]
                .groupby("patient_id")["start_date"].min().reindex(ids))
    after_lo = c1_end - pd.Timedelta(days=AFTER_CYCLE1_EARLIEST_DAYS)
    after_hi = c1_end + pd.Timedelta(days=AFTER_CYCLE1_LATEST_DAYS)
    after_hi = after_hi.where(c2_start.isna() | (c2_start - pd.Timedelta(days=1) > after_hi), c2_start - pd.Timedelta(days=1))
    r_lo, r_hi = responses["patient_id"].map(after_lo), responses["patient_id"].map(after_hi)
    c1_cycle = responses["cycle_number"].astype("Int64") == responses["patient_id"].map(first_cycle_no).astype("Int64")
    r_after = responses[(c1_cycle.fillna(False)) | ((responses["assessment_date"] >= r_lo) &
                                                     (responses["assessment_date"] <= r_hi)).fillna(False)]
    r_after = r_after.assign(_explicit=~c1_cycle.loc[r_after.index].fillna(False))
    r_after = r_after.sort_values(["patient_id", "_explicit", "assessment_date"]).drop_duplicates("patient_id")
    cr1 = r_after.set_index("patient_id")["category"].isin(CR_CATEGORIES).reindex(ids)
    p["cr_after_cycle1"] = pd.array(cr1, dtype="boolean")

    # MRD after cycle 1 and best, per method group; complete MRD response.
    m_lo, m_hi = mrd["patient_id"].map(after_lo), mrd["patient_id"].map(after_hi)
    evaluable = mrd["status"] != "not_evaluable"
    after1 = mrd[evaluable & (mrd["assessment_date"] >= m_lo) & (mrd["assessment_date"] <= m_hi)]
    m_end = mrd["patient_id"].map(window_end)
    course = mrd[(mrd["assessment_date"] > fb) & (mrd["assessment_date"] <= m_end)]
    for group in ("flow", "pcr"):
        first = after1[after1["method_group"] == group].drop_duplicates("patient_id").set_index("patient_id")
        p[f"mrd_negative_after_cycle1_{group}"] = pd.array((first["status"] == "negative").reindex(ids), dtype="boolean")
        g = course[(course["method_group"] == group) & (course["status"] != "not_evaluable")]
        any_negative = (g["status"] == "negative").groupby(g["patient_id"]).any()
        p[f"mrd_negative_best_{group}"] = pd.array(any_negative.reindex(ids), dtype="boolean")
    complete = course.groupby("patient_id")["complete_mrd_response"].any()
    p["complete_mrd_response"] = pd.array(complete.reindex(ids), dtype="boolean")
    if non_responder == "no_cr":
        responder = p["cr_achieved"]
    else:
        responder = pd.array(np.where(has_blin, p["complete_mrd_response"].fillna(False), pd.NA), dtype="boolean")
    p["responder"] = pd.array(responder, dtype="boolean")

    # --- adverse events of the course ---------------------------------------------------------------
    ae_fb = events["patient_id"].map(first_blin)
    ae_end = events["patient_id"].map(p["last_blinatumomab_date"]) + pd.Timedelta(days=TEAE_WINDOW_DAYS)
    teae = events[((events["onset_date"] >= ae_fb) & (events["onset_date"] <= ae_end)).fillna(False)]
    grade = teae["grade"].astype(float)
    p["crs_max_grade"] = grade[teae["term"] == "crs"].groupby(teae["patient_id"]).max().reindex(ids).fillna(0).astype(int)
    p["icans_max_grade"] = grade[teae["term"] == "icans"].groupby(teae["patient_id"]).max().reindex(ids).fillna(0).astype(int)
    neuro = teae["term"].isin([str(term) for term in NEUROTOXICITY_TERMS])
    p["neurotoxicity_max_grade"] = grade[neuro].groupby(teae["patient_id"]).max().reindex(ids).fillna(0).astype(int)
    p["grade3plus_any"] = ids.isin(teae.loc[grade >= 3, "patient_id"])

    # --- HSCT after blinatumomab, outcome ------------------------------------------------------------
    p["hsct_after_blinatumomab"] = ids.isin(hsct_after.index)
    p["hsct_date"] = hsct_after["hsct_date"].reindex(ids)
    for column, source in (("hsct_remission_status", "remission_status"), ("hsct_donor_type", "donor_type"),
                           ("hsct_chronic_gvhd", "chronic_gvhd")):
        p[column] = hsct_after[source].reindex(ids).astype(object)
        p[column] = p[column].where(p[column].notna(), None)
    p["hsct_acute_gvhd_max_grade"] = hsct_after["acute_gvhd_max_grade"].reindex(ids).astype("Int64")
    p["inotuzumab_before_hsct"] = hsct_after["inotuzumab_before"].reindex(ids).astype("boolean").fillna(False).astype(bool)
    death = t["death"].drop_duplicates("patient_id").set_index("patient_id")
    follow = t["follow_up"].drop_duplicates("patient_id").set_index("patient_id")
    p["death_date"] = death["death_date"].reindex(ids)
    p["death_date_ADTF"] = death["death_date_ADTF"].reindex(ids).astype(object)
    p["death_cause"] = death["cause"].reindex(ids).astype(object).where(lambda s: s.notna(), None)
    p["last_contact_date"] = follow["last_contact_date"].reindex(ids)
    p["vital_status"] = follow["vital_status"].reindex(ids).astype(object)
    p["vital_status"] = p["vital_status"].where(p["vital_status"].notna(),
                                                pd.Series(np.where(p["death_date"].notna(), "dead", None), index=ids))

    origin_date = {"first_blinatumomab": first_blin, "hsct": p["hsct_date"], "diagnosis": p["diagnosis_date"],
                   "relapse": p["index_relapse_date"]}[origin]
    p["origin_date"] = origin_date
    p["relapse_after_origin_date"] = first_after(t["relapse"], "relapse_date", origin_date, cutoff=cutoff)

    tte = time_to_event_rows(p, t, origin=origin, non_responder=non_responder, as_of=cutoff)
    adverse = events.copy()
    adverse["computed_grade"] = computed["computed_grade"]
    adverse["computed_reason"] = computed["computed_reason"]
    adverse["age_at_onset_years"] = computed["age_years"]
    adverse["grade_disagrees"] = pd.array((adverse["computed_grade"].notna()
                                           & (adverse["computed_grade"] != adverse["grade"].astype("Int64"))).astype(bool))
    metadata = _metadata(origin, non_responder, cutoff, rules)
    metadata.update(missing_data_metadata(registry, tte, imputed_fields, date_imputation))
    metadata["conventions"] = [*metadata["conventions"], metadata["date_imputation_rule"]]
    return AnalysisDataset(
        patients=_named(_patient_columns(p.reset_index()), names),
        time_to_event=_named(tte, names),
        cycles=_named(cycles.reset_index(drop=True), names),
        mrd=_named(public_mrd(mrd), names),
        adverse_events=_named(adverse.reset_index(drop=True), names),
        metadata=MappingProxyType(metadata),
    )


def _coded_tables(registry: Registry, names: pd.Index) -> dict[str, pd.DataFrame]:
    """The registry's frames with patient_id replaced by its position in `names` (rows of unknown
    patients are dropped: the validation reports them)."""
    tables = {}
    for record_type, frame in registry.tables.items():
        if "patient_id" not in frame.columns:
            tables[record_type] = frame
            continue
        code = names.get_indexer(frame["patient_id"])
        known = code >= 0
        coded = frame.loc[known] if not known.all() else frame.copy(deep=False)
        coded["patient_id"] = code[known]
        tables[record_type] = coded
    return tables


def _named(frame: pd.DataFrame, names: np.ndarray) -> pd.DataFrame:
    frame = frame.copy(deep=False)
    frame["patient_id"] = names[frame["patient_id"].to_numpy(dtype=np.int64)] if len(frame) else frame["patient_id"].astype(object)
    return frame


def _patient_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """The contract's columns in the order of docs/architecture.md, then the added ones."""
    extra = [c for c in frame.columns if c not in PATIENT_COLUMNS]
    return frame[list(PATIENT_COLUMNS) + extra]


def _cycles_frame(cycles_raw: pd.DataFrame, comparison, interruptions: pd.DataFrame, segments: pd.DataFrame,
                  events: pd.DataFrame) -> pd.DataFrame:
    c = cycles_raw.copy()
    plan = comparison.cycles
    key = ["patient_id", "cycle_number"]
    count = interruptions.groupby(key).size().rename("interruptions")
    interrupted_days = ((interruptions["end_date"] - interruptions["start_date"]).dt.days).groupby(
        [interruptions["patient_id"], interruptions["cycle_number"]]).sum().rename("_interrupted_days")
    delivered = segments[segments["kind"] == "delivered"]
    delivered_days = ((delivered["end_date"] - delivered["start_date"]).dt.days + 1).groupby(
        [delivered["patient_id"], delivered["cycle_number"]]).sum().rename("_delivered_days")
    c = c.join(count, on=key).join(interrupted_days, on=key).join(delivered_days, on=key)
    span = (c["end_date"] - c["start_date"]).dt.days + 1
    c["infusion_days"] = c["_delivered_days"].where(c["_delivered_days"].notna(),
                                                    span - c["_interrupted_days"].fillna(0)).astype("Int64")
    c["interruptions"] = c["interruptions"].fillna(0).astype(int)
    for column in ("label_cycle", "weight_kg", "height_cm", "bsa_m2", "step_mcg_per_day", "full_mcg_per_day",
                   "planned_dose_mcg", "delivered_dose_mcg", "delivered_outside_plan_mcg", "dose_intensity",
                   "plan_end_date"):
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
    c["dose_deviations"] = pd.array(np.where(known, counted.reindex(c.index).fillna(0), np.nan),
                                    dtype="Float64").astype("Int64")
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
    columns = ["patient_id", "cycle_number", "line_number", "label_cycle", "phase", "indication", "start_date",
               "end_date", "plan_end_date", "weight_kg", "height_cm", "bsa_m2", "step_mcg_per_day", "full_mcg_per_day",
               "infusion_days", "planned_dose_mcg", "delivered_dose_mcg", "delivered_outside_plan_mcg",
               "dose_intensity", "interruptions", "early_stop_reason", "dose_deviations", "crs_max_grade",
               "neurotoxicity_events", "neurotoxicity_max_grade"]
    return c[columns].sort_values(["patient_id", "cycle_number"], kind="stable")


def _metadata(origin: str, non_responder: str, as_of: pd.Timestamp | None, rules: RuleSet) -> dict:
    from blinareg.derive.conventions import conventions

    unconfirmed = [item.note() for item in rules.unconfirmed_items() if item.name in _RELEVANT_RULES]
    return {
        "origin": origin,
        "non_responder": non_responder,
        "as_of": None if as_of is None else as_of.date().isoformat(),
        "conventions": conventions(origin, non_responder, as_of, rules),
        "unconfirmed_rules": unconfirmed,
        "acute_gvhd_window_days": ACUTE_GVHD_WINDOW_DAYS,
    }
