"""The sentences the report prints verbatim about how the analysis dataset was derived."""

from __future__ import annotations

import pandas as pd

from blinareg.rules import RuleSet

__all__ = ["conventions", "treatment_emergent_sentence", "baseline_mrd_method_sentence"]

_BASELINE_METHOD_TEXT = {
    "fusion_pcr_if_fusion": "RT-qPCR of the fusion transcript when the patient has a fusion lesion (BCR::ABL1, "
    "KMT2A-r, ETV6::RUNX1, TCF3::PBX1) and it was measured that day, otherwise flow cytometry",
    "flow": "flow cytometry, otherwise RT-qPCR of a fusion transcript, then Ig/TCR qPCR",
    "pcr": "RT-qPCR of a fusion transcript, then Ig/TCR qPCR, otherwise flow cytometry",
    "most_sensitive": "the assay with the finest sensitivity",
}


def treatment_emergent_sentence(rules: RuleSet) -> str:
    """The one window of the adverse-event tables and the maximum-grade columns, as a sentence."""
    return (
        f"Treatment-emergent adverse events: onset from the first blinatumomab infusion day to "
        f"{rules.treatment_emergent_days.value} days after the last infusion day (end of the last cycle); "
        "the adverse-event tables and the maximum grades use this window; events outside it are flagged "
        "treatment_emergent = false and reported apart."
    )


def baseline_mrd_method_sentence(rules: RuleSet) -> str:
    """Which method the baseline MRD uses when several were measured the same day, as a sentence."""
    return (
        f"Baseline MRD: the latest assessment from {rules.baseline_mrd_window_days.value} days before to the "
        f"first blinatumomab infusion day; when several methods were measured that day, "
        f"{_BASELINE_METHOD_TEXT[rules.baseline_mrd_method.value]} (bone marrow before blood); flow and PCR "
        "baselines are also given separately, so a flow-negative, PCR-positive baseline shows as such."
    )


_ORIGIN_TEXT = {
    "first_blinatumomab": "the first blinatumomab infusion day",
    "hsct": "the first HSCT after the first blinatumomab infusion (day 0)",
    "diagnosis": "the date of initial diagnosis",
    "relapse": "the index relapse (the latest relapse on or before the first blinatumomab infusion)",
}


def conventions(origin: str, non_responder: str, as_of: pd.Timestamp | None, rules: RuleSet) -> list[str]:
    """Every convention of this derivation, one sentence each, in the order the report prints them."""
    ACUTE_GVHD_WINDOW_DAYS = rules.acute_gvhd_window_days.value
    RESPONSE_WINDOW_DAYS = rules.response_window_days.value
    AFTER_CYCLE1_EARLIEST_DAYS = rules.after_cycle1_earliest_days.value
    AFTER_CYCLE1_LATEST_DAYS = rules.after_cycle1_latest_days.value
    threshold = rules.mrd_negative_threshold.value
    sensitivity = rules.complete_mrd_min_sensitivity.value
    lines = [
        f"Time origin: {_ORIGIN_TEXT[origin]}; times are in days (AVAL) from the row's start date (STARTDT).",
        "Events on or before the start date do not count: a relapse must be strictly after the start; "
        "patients without the origin date have no time-to-event rows.",
        "Follow-up is censored at the last contact date"
        + (
            f" or at the data cut-off {as_of.date().isoformat()} if earlier; events after the cut-off are ignored."
            if as_of is not None
            else "."
        ),
        "OS: death from any cause.",
    ]
    if origin in ("first_blinatumomab", "relapse"):
        failure = (
            "failure to achieve CR (CR, CRh or CRi) in the blinatumomab response window"
            if non_responder == "no_cr"
            else "failure to achieve a complete MRD response in the blinatumomab response window"
        )
        lines.append(
            f"EFS: relapse, death from any cause, second malignancy, or {failure}; "
            "failure to achieve CR counted as an event at day 0."
        )
    else:
        lines.append(
            "EFS: relapse, death from any cause or second malignancy (no non-response event: the origin "
            "is not the start of blinatumomab treatment)."
        )
    if non_responder == "no_cr":
        lines.append(
            "Responder: CR, CRh or CRi (all counted as CR) in the blinatumomab response window; patients "
            "treated in CR (indication mrd_clearance, chemotherapy_intolerance or consolidation) are "
            "responders by definition."
        )
    else:
        lines.append(
            f"Responder: a complete MRD response (MRD not detected by any method measured at one "
            f"assessment, at least one of them at a sensitivity of {sensitivity:g} or finer) in the "
            "blinatumomab response window; patients without such an assessment are non-responders, "
            "including patients treated in CR."
        )
    if origin == "hsct":
        lines.append("DFS, CIR, NRM: patients transplanted in CR (CR1, CR2, CR3+), from the HSCT date.")
    else:
        lines.append(
            "DFS, CIR, NRM: patients who achieved CR (CR, CRh or CRi), from the first CR date in the "
            "response window; patients treated in CR start at the first blinatumomab infusion (or at the "
            "origin, if later)."
        )
    lines += [
        "CIR: relapse is the event of interest (EVTCODE 1), death without relapse the competing event (EVTCODE 2); "
        "NRM the reverse; a relapse and a death on the same day count as relapse. CNSR is 0 for both event codes.",
        "Post-relapse OS: from the first relapse after the origin to death from any cause.",
    ]
    if origin == "hsct":
        lines.append(
            "GRFS: grade 3-4 acute GVHD, chronic GVHD needing systemic therapy, relapse or death from HSCT. "
            "Chronic GVHD of moderate or severe global severity is taken as needing systemic therapy. "
            f"The registry records no GVHD dates: grade 3-4 acute GVHD is dated at day {ACUTE_GVHD_WINDOW_DAYS} after "
            "HSCT (or the end of follow-up if earlier) and chronic GVHD at the end of follow-up (ADTF Y: the whole date derived)."
        )
    lines += [
        f"Blinatumomab response window: after the first infusion day up to {RESPONSE_WINDOW_DAYS} days after the end "
        "of the last cycle, and before any HSCT after blinatumomab.",
        "Best response: the best category in the response window in the order CR > CRh > CRi > PR > no response > "
        "progression; CR, CRh and CRi count as CR (cr_achieved).",
        f"MRD negative: below {threshold:g} (detected below it, or not detected by an assay with sensitivity "
        f"{threshold:g} or finer); not detected by a less sensitive assay is not evaluable. Methods are never merged: "
        "flow cytometry and PCR (RT-qPCR fusion transcripts, Ig/TCR qPCR) are reported separately.",
        f"MRD after cycle 1: the first evaluable measurement of each method group from {AFTER_CYCLE1_EARLIEST_DAYS} "
        f"days before the end of cycle 1 to {AFTER_CYCLE1_LATEST_DAYS} days after it (or the day before cycle 2 "
        "starts, if earlier); CR after cycle 1: the response assessment recorded for cycle 1, else the first in the "
        "same window. Best MRD: any negative measurement in the response window.",
        f"Complete MRD response: at one assessment (all measurements of one day) no method detected MRD and at "
        f"least one was not detected at a sensitivity of {sensitivity:g} or finer; negative by flow but positive "
        "by RT-qPCR the same day is not complete.",
        baseline_mrd_method_sentence(rules),
        "Relapse classification (BFM timing, site, BFM strategic group, IntReALL risk, B-lineage) of the index "
        "relapse; the strategic group and IntReALL risk are given for first relapses only.",
        "A relapse without recorded marrow blasts is classified from its site flags: bone marrow only as M3, bone "
        "marrow with extramedullary disease as combined.",
        "Planned dose: the label plan of each cycle (step-up on day 8 of relapsed/refractory cycle 1 only, caps "
        "below 45 kg, BSA by Mosteller) dosed by the latest weight and height on or before the cycle start, "
        "with recorded interruptions applied; dose intensity = delivered dose on the plan's days / planned dose.",
        "Cycles without delivered dose segments have no delivered dose, dose intensity or deviation count.",
        "Dose deviations: runs of days departing from the plan (wrong step, above the cap, above or below the plan, "
        "not infused, infusion on a treatment-free day or outside the plan); days not infused after the recorded "
        "end of a cycle are not deviations.",
        treatment_emergent_sentence(rules),
        f"Prephase: a cycle recorded with phase prephase is planned as {rules.prephase_days.value} days at the "
        f"{rules.prephase_dose_level.value} dose with no treatment-free days (center practice, UNCONFIRMED); the "
        f"cycle after it is induction cycle 1, planned as {rules.induction_after_prephase_infusion_days.value} "
        "infusion days at the full dose without a step.",
        "Genetic lesions: true when recorded at diagnosis; false means not recorded.",
        "Ages are in years of 365.25 days; months in months of 365.25/12 days.",
        "Follow-up (followup_days): from the origin to death or last contact (at most the data cut-off).",
        "Relapses after HSCT and the HSCT comparisons (hsct_time_to_event) are timed from the first HSCT after "
        "the first blinatumomab infusion, whatever the main origin.",
    ]
    return lines
