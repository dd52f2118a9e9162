"""CDISC ADaM export: ADSL, ADTTE, ADAE and ADRS from the analysis dataset (docs/adam.md).

`adam_datasets(registry, dataset)` builds the four datasets as frames whose columns follow
`SPECS` (name <= 8 characters, label <= 40, type, origin, derivation); `write_adam` writes each as
CSV and as SAS transport v5 (.xpt) plus the data-definition document (`define.md`, `define.csv`)
generated from the same `SPECS`, into one folder, atomically.

Conventions (so R, SAS and Python read the files the same way):
- Flags (*FL) are `Y` / `N`; blank when the analysis dataset has no value (NA: not evaluable).
- Dates are ISO `YYYY-MM-DD` in CSV and numeric SAS dates (format DATE9.) in XPT; blank when missing.
- Numbers: CSV holds the shortest text that reads back to the same double.
- USUBJID is `STUDYID-SUBJID`, SUBJID the registry's pseudonymous patient_id.

The data come from `blinareg.derive` (ADSL, ADTTE, ADAE, the MRD rows of ADRS) and from the registry's
response assessments (the response rows of ADRS); nothing is re-derived here except what the analysis
dataset does not carry yet (ADTF: see `_adtf`).
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from blinareg.errors import UserError

__all__ = [
    "Variable",
    "SPECS",
    "DATASET_LABELS",
    "adam_datasets",
    "write_adam",
    "define_markdown",
    "read_adam_csv",
    "DEFAULT_STUDYID",
]

DEFAULT_STUDYID = "BLINAREG"
MAX_NAME = 8  # SAS transport v5
MAX_LABEL = 40
MAX_CHAR = 200  # v5 character variables hold at most 200 bytes
_SAS_EPOCH = pd.Timestamp("1960-01-01")


@dataclass(frozen=True)
class Variable:
    """One ADaM variable: `kind` is char, num, date or flag (a Y/N char); `origin` as define.xml
    (Assigned, Predecessor, Derived); `derivation` says how it is obtained; `source` the analysis
    dataset column it is taken from (None when built here)."""

    name: str
    label: str
    kind: str
    origin: str
    derivation: str
    source: str | None = None
    optional: bool = False  # the source column is a newer analysis-dataset field; skipped when absent

    @property
    def sas_type(self) -> str:
        return "Char" if self.kind in ("char", "flag") else "Num"


DATASET_LABELS = {
    "ADSL": "Subject-Level Analysis Dataset",
    "ADTTE": "Time-to-Event Analysis Dataset",
    "ADAE": "Adverse Events Analysis Dataset",
    "ADRS": "Response and MRD Analysis Dataset",
}

_ID_VARIABLES = (
    Variable("STUDYID", "Study Identifier", "char", "Assigned", "the --studyid option (default BLINAREG)"),
    Variable("USUBJID", "Unique Subject Identifier", "char", "Derived", "STUDYID-SUBJID"),
)


def _p(name: str, label: str, kind: str, source: str, derivation: str = "", optional: bool = False) -> Variable:
    origin = "Predecessor" if not derivation else "Derived"
    text = derivation or f"analysis dataset patients.{source} (docs/analysis-dataset.md)"
    return Variable(name, label, kind, origin, text, source, optional)


_ADSL = (
    *_ID_VARIABLES,
    _p("SUBJID", "Subject Identifier for the Study", "char", "patient_id"),
    _p("SITEID", "Study Site Identifier", "char", "center_id"),
    Variable(
        "AGE",
        "Age at First Blinatumomab",
        "num",
        "Derived",
        "floor(patients.age_at_first_blinatumomab_years): completed years at TRTSDT",
    ),
    Variable("AGEU", "Age Units", "char", "Assigned", "YEARS"),
    _p("AGEDX", "Age at Diagnosis (years, decimal)", "num", "age_at_diagnosis_years"),
    Variable("SEX", "Sex", "char", "Derived", "patients.sex: female F, male M, other/unknown U"),
    _p("SYNTHFL", "Synthetic Data Flag", "flag", "synthetic"),
    _p("BRTHDT", "Date of Birth", "date", "birth_date"),
    _p("DIAGDT", "Date of Initial Diagnosis", "date", "diagnosis_date"),
    _p("FLENDT", "End Date of Front-line Therapy", "date", "frontline_end_date"),
    _p("IMMPHEN", "Immunophenotype (EGIL)", "char", "immunophenotype"),
    _p("BCRABLFL", "BCR::ABL1 Flag", "flag", "genetics_bcr_abl1"),
    _p("PHLIKEFL", "Ph-like Flag", "flag", "genetics_ph_like"),
    _p("KMT2AFL", "KMT2A Rearrangement Flag", "flag", "genetics_kmt2a_r"),
    _p("ETV6FL", "ETV6::RUNX1 Flag", "flag", "genetics_etv6_runx1"),
    _p("TCF3FL", "TCF3::PBX1 Flag", "flag", "genetics_tcf3_pbx1"),
    _p("HHDFL", "High Hyperdiploidy Flag", "flag", "genetics_high_hyperdiploidy"),
    _p("HYPODFL", "Hypodiploidy Flag", "flag", "genetics_hypodiploidy"),
    _p("IAMP21FL", "iAMP21 Flag", "flag", "genetics_iamp21"),
    _p("GENOTHFL", "Other Genetic Lesion Flag", "flag", "genetics_other"),
    _p("TRTSDT", "Date of First Blinatumomab Infusion", "date", "first_blinatumomab_date"),
    _p("TRTEDT", "Date of Last Blinatumomab Infusion", "date", "last_blinatumomab_date"),
    _p("INDGRP", "Indication Group", "char", "indication_group"),
    _p("CHINTRSN", "Reason for Chemotherapy Intolerance", "char", "chemotherapy_intolerance_reason", optional=True),
    _p("DXTRTMO", "Months from Diagnosis to Blinatumomab", "num", "months_diagnosis_to_blinatumomab"),
    _p("NRELBL", "Relapses Before Blinatumomab", "num", "relapses_before_blinatumomab"),
    _p("RELSTAT", "Relapse Status at Blinatumomab", "char", "relapse_status_at_blinatumomab"),
    _p("IRELN", "Index Relapse Number", "num", "index_relapse_number"),
    _p("IRELDT", "Date of Index Relapse", "date", "index_relapse_date"),
    _p("RELSITE", "Index Relapse Site Class", "char", "relapse_site_class"),
    _p("RELSITED", "Index Relapse Sites", "char", "relapse_site_detail"),
    _p("RELTIME", "Index Relapse Timing (BFM)", "char", "relapse_timing"),
    _p("BFMGRP", "BFM Strategic Group", "char", "bfm_strategic_group"),
    _p("INTRRISK", "IntReALL Risk Group", "char", "intreall_risk"),
    _p("PRHSCTFL", "Prior HSCT Flag", "flag", "prior_hsct"),
    _p("BMRDFRAC", "Baseline MRD Fraction", "num", "baseline_mrd_fraction"),
    _p("BMRDMETH", "Baseline MRD Method", "char", "baseline_mrd_method"),
    _p("BMRDSTAT", "Baseline MRD Status", "char", "baseline_mrd_status"),
    _p("BMRDFLST", "Baseline MRD Status by Flow", "char", "baseline_mrd_flow_status", optional=True),
    _p("BMRDPCST", "Baseline MRD Status by PCR", "char", "baseline_mrd_pcr_status", optional=True),
    _p("BMRDFLFR", "Baseline MRD Fraction by Flow", "num", "baseline_mrd_flow_fraction", optional=True),
    _p("BMRDPCFR", "Baseline MRD Fraction by PCR", "num", "baseline_mrd_pcr_fraction", optional=True),
    _p("NCYCLES", "Number of Blinatumomab Cycles", "num", "cycles"),
    _p("INFDAYS", "Infusion Days", "num", "infusion_days"),
    _p("PLDOSE", "Planned Dose (mcg)", "num", "planned_dose_mcg"),
    _p("DLDOSE", "Delivered Dose (mcg)", "num", "delivered_dose_mcg"),
    _p("DOSEINT", "Dose Intensity (delivered/planned)", "num", "dose_intensity"),
    _p("NINTERR", "Number of Infusion Interruptions", "num", "interruptions"),
    _p("ESTOPFL", "Early Stop Flag", "flag", "early_stop"),
    _p("ESTOPRSN", "Reason for Early Stop", "char", "early_stop_reason"),
    _p("NDOSEDEV", "Number of Dose Deviations", "num", "dose_deviations"),
    _p("INCRSTFL", "In CR at Start Flag", "flag", "in_cr_at_start"),
    _p("CRC1FL", "CR/CRh/CRi After Cycle 1 Flag", "flag", "cr_after_cycle1"),
    _p("BESTRSP", "Best Response", "char", "best_response"),
    _p("CRFL", "CR/CRh/CRi Achieved Flag", "flag", "cr_achieved"),
    _p("CRDT", "Date of First CR/CRh/CRi", "date", "cr_date"),
    _p("RSPWENDT", "End Date of Response Window", "date", "response_window_end"),
    _p("MRDC1FFL", "MRD Negative After Cycle 1 Flow Flag", "flag", "mrd_negative_after_cycle1_flow"),
    _p("MRDC1PFL", "MRD Negative After Cycle 1 PCR Flag", "flag", "mrd_negative_after_cycle1_pcr"),
    _p("MRDBFFL", "MRD Negative Best Flow Flag", "flag", "mrd_negative_best_flow"),
    _p("MRDBPFL", "MRD Negative Best PCR Flag", "flag", "mrd_negative_best_pcr"),
    _p("CMRDFL", "Complete MRD Response Flag", "flag", "complete_mrd_response"),
    _p("RESPFL", "Responder Flag", "flag", "responder"),
    _p("CRSMXGR", "Maximum CRS Grade (ASTCT)", "num", "crs_max_grade"),
    _p("ICNSMXGR", "Maximum ICANS Grade (ASTCT)", "num", "icans_max_grade"),
    _p("NEURMXGR", "Maximum Neurotoxicity Grade", "num", "neurotoxicity_max_grade"),
    _p("GR3AEFL", "Any Grade >= 3 Adverse Event Flag", "flag", "grade3plus_any"),
    _p("HSCTFL", "HSCT After Blinatumomab Flag", "flag", "hsct_after_blinatumomab"),
    _p("HSCTDT", "Date of HSCT After Blinatumomab", "date", "hsct_date"),
    _p("HSCTREM", "Remission Status at HSCT", "char", "hsct_remission_status"),
    _p("HSCTDON", "HSCT Donor Type", "char", "hsct_donor_type"),
    _p("INOHSCFL", "Inotuzumab Before HSCT Flag", "flag", "inotuzumab_before_hsct"),
    _p("AGVHDGR", "Maximum Acute GVHD Grade", "num", "hsct_acute_gvhd_max_grade"),
    _p("CGVHD", "Chronic GVHD Severity", "char", "hsct_chronic_gvhd"),
    _p("ORIGDT", "Analysis Origin Date", "date", "origin_date"),
    _p("RELAPDT", "Date of First Relapse After Origin", "date", "relapse_after_origin_date"),
    Variable("DTHFL", "Subject Death Flag", "flag", "Derived", "Y when patients.death_date is known, else N"),
    _p("DTHDT", "Date of Death", "date", "death_date"),
    _p("DTHCAUS", "Cause of Death", "char", "death_cause"),
    _p("LSTCNTDT", "Date of Last Contact", "date", "last_contact_date"),
    _p("VITSTAT", "Vital Status at Last Contact", "char", "vital_status"),
    _p("FUPDAYS", "Follow-up (days, origin to last contact)", "num", "followup_days", optional=True),
)

_ADTTE = (
    *_ID_VARIABLES,
    Variable("PARAMCD", "Parameter Code", "char", "Predecessor", "time_to_event.PARAMCD", "PARAMCD"),
    Variable("PARAM", "Parameter", "char", "Predecessor", "time_to_event.PARAM", "PARAM"),
    Variable(
        "ORIGIN",
        "Time Zero of the Row",
        "char",
        "Predecessor",
        "time_to_event.ORIGIN: the origin, cr, hsct or relapse_after_origin",
        "ORIGIN",
    ),
    Variable("STARTDT", "Time-to-Event Origin Date", "date", "Predecessor", "time_to_event.STARTDT", "STARTDT"),
    Variable("ADT", "Analysis Date (event or censoring)", "date", "Predecessor", "time_to_event.ADT", "ADT"),
    Variable(
        "ADTF",
        "Analysis Date Imputation Flag",
        "char",
        "Derived",
        "time_to_event.ADTF (D day, M month and day imputed from a partial date; Y the whole date derived: GVHD)",
    ),
    Variable("AVAL", "Analysis Value (ADT - STARTDT)", "num", "Predecessor", "time_to_event.AVAL", "AVAL"),
    Variable("AVALU", "Analysis Value Unit", "char", "Assigned", "DAYS"),
    Variable("CNSR", "Censor (0 event, 1 censored)", "num", "Predecessor", "time_to_event.CNSR", "CNSR"),
    Variable(
        "EVTCODE",
        "Event Type (0 cens, 1 event, 2 compet)",
        "num",
        "Predecessor",
        "time_to_event.EVTCODE: 1 the event of interest, 2 the competing event (CIR, NRM), 0 censored",
        "EVTCODE",
    ),
    Variable("CMPEVFL", "Competing Event Flag", "flag", "Derived", "Y when EVTCODE = 2"),
    Variable("CMPEVDSC", "Competing Event Description", "char", "Derived", "EVNTDESC when EVTCODE = 2"),
    Variable("EVNTDESC", "Event or Censoring Description", "char", "Predecessor", "time_to_event.EVNTDESC", "EVNTDESC"),
    Variable(
        "CNSDTDSC",
        "Censoring Date Description",
        "char",
        "Derived",
        "for censored rows (CNSR = 1): EVNTDESC (last contact, or the data cut-off)",
    ),
    Variable(
        "SRCDOM",
        "Source Record Type of ADT",
        "char",
        "Derived",
        "the registry record type ADT is taken from (death, relapse, adverse_event, hsct, follow_up; "
        "ADSL for the cut-off or a non-response event at STARTDT)",
    ),
    Variable("SRCVAR", "Source Variable of ADT", "char", "Derived", "the field of SRCDOM that gives ADT"),
)

_ADAE = (
    *_ID_VARIABLES,
    Variable("AESEQ", "Sequence Number", "num", "Predecessor", "adverse_event.event_number", "event_number"),
    Variable("AETERM", "Reported Term (verbatim)", "char", "Predecessor", "adverse_event.description", "description"),
    Variable("AEDECOD", "Adverse Event Category", "char", "Predecessor", "adverse_event.term", "term"),
    Variable(
        "AEGRSYS",
        "Grading System",
        "char",
        "Predecessor",
        "adverse_event.grading_system (astct, ctcae_v5)",
        "grading_system",
    ),
    Variable("ATOXGRN", "Recorded Grade", "num", "Predecessor", "adverse_event.grade", "grade"),
    Variable("ASTCTGR", "ASTCT Grade", "num", "Derived", "grade when grading_system is astct"),
    Variable("CTCAEGR", "CTCAE v5 Grade", "num", "Derived", "grade when grading_system is ctcae_v5"),
    Variable(
        "CMPGRN",
        "Grade Computed from Parameters",
        "num",
        "Derived",
        "adverse_events.computed_grade (blank when the parameters do not determine it)",
        "computed_grade",
    ),
    Variable(
        "GRDISFL",
        "Recorded/Computed Grade Disagree Flag",
        "flag",
        "Derived",
        "adverse_events.grade_disagrees",
        "grade_disagrees",
    ),
    Variable("ASTDT", "Analysis Start Date", "date", "Predecessor", "adverse_event.onset_date", "onset_date"),
    Variable("AENDT", "Analysis End Date", "date", "Predecessor", "adverse_event.resolution_date", "resolution_date"),
    Variable(
        "ASTDY",
        "Analysis Start Relative Day",
        "num",
        "Derived",
        "ASTDT - TRTSDT + 1 when on or after TRTSDT, else ASTDT - TRTSDT (no day 0)",
    ),
    Variable("ACYCLE", "Blinatumomab Cycle Number", "num", "Predecessor", "adverse_event.cycle_number", "cycle_number"),
    Variable(
        "TRTEMFL",
        "Treatment Emergent Analysis Flag",
        "flag",
        "Derived",
        "adverse_events.treatment_emergent (the window is stated in the analysis metadata)",
    ),
    Variable("AESER", "Serious Event", "flag", "Predecessor", "adverse_event.serious", "serious"),
    Variable(
        "AEACN", "Action Taken with Blinatumomab", "char", "Predecessor", "adverse_event.action_taken", "action_taken"
    ),
)

_ADRS = (
    *_ID_VARIABLES,
    Variable(
        "PARAMCD",
        "Parameter Code",
        "char",
        "Assigned",
        "OVRLRESP (hematological response) or MRD<method> (one per MRD method)",
    ),
    Variable("PARAM", "Parameter", "char", "Assigned", "the parameter's name"),
    Variable("PARCAT1", "Parameter Category", "char", "Assigned", "RESPONSE or MRD"),
    Variable("ADT", "Analysis Date", "date", "Predecessor", "assessment_date of the record"),
    Variable(
        "ADY", "Analysis Relative Day", "num", "Derived", "ADT - TRTSDT + 1 on or after TRTSDT, else ADT - TRTSDT"
    ),
    Variable(
        "ACYCLE", "Blinatumomab Cycle Number", "num", "Predecessor", "response_assessment.cycle_number (blank for MRD)"
    ),
    Variable(
        "AVALC",
        "Analysis Value (C)",
        "char",
        "Derived",
        "response category (cr, crh, cri, pr, no_response, progression); MRD status (positive, negative, "
        "not_evaluable; mrd frame)",
    ),
    Variable(
        "AVAL",
        "Analysis Value",
        "num",
        "Derived",
        "MRD fraction (0 when not detected; mrd frame); marrow blasts % for responses",
    ),
    Variable("AVALU", "Analysis Value Unit", "char", "Assigned", "FRACTION for MRD, % for responses"),
    Variable("SPEC", "Specimen (BM, PB)", "char", "Predecessor", "mrd_assessment.sample (BM for responses)"),
    Variable("MRDMETH", "MRD Method", "char", "Predecessor", "mrd_assessment.method"),
    Variable("MRDGRP", "MRD Method Group", "char", "Derived", "mrd.method_group (flow, pcr, ngs, ihc)"),
    Variable("MRDTARG", "MRD Target", "char", "Predecessor", "mrd_assessment.target"),
    Variable("MRDDETFL", "MRD Detected Flag", "flag", "Predecessor", "mrd_assessment.detected"),
    Variable("MRDSENS", "MRD Assay Sensitivity (fraction)", "num", "Predecessor", "mrd_assessment.sensitivity"),
    Variable("CMRDFL", "Complete MRD Response Flag", "flag", "Derived", "mrd.complete_mrd_response"),
)

SPECS: dict[str, tuple[Variable, ...]] = {"ADSL": _ADSL, "ADTTE": _ADTTE, "ADAE": _ADAE, "ADRS": _ADRS}

_SEX = {"female": "F", "male": "M", "other": "U", "unknown": "U"}
_MRD_PARAMS = {
    "flow": ("MRDFLOW", "MRD by flow cytometry"),
    "rt_qpcr_fusion": ("MRDFUSQ", "MRD by RT-qPCR of the fusion transcript"),
    "ig_tcr_qpcr": ("MRDIGTCR", "MRD by Ig/TCR qPCR"),
    "ngs": ("MRDNGS", "MRD by next-generation sequencing"),
    "ihc": ("MRDIHC", "MRD by immunohistochemistry"),
}
# Where each ADTTE date comes from, by EVNTDESC (descriptions of blinareg.derive.endpoints).
_SOURCES = {
    "death": ("death", "death_date"),
    "death without relapse": ("death", "death_date"),
    "relapse": ("relapse", "relapse_date"),
    "second malignancy": ("adverse_event", "onset_date"),
    "grade 3-4 acute GVHD (date imputed)": ("hsct", "acute_gvhd_max_grade"),
    "chronic GVHD needing systemic therapy (date imputed)": ("hsct", "chronic_gvhd"),
    "failure to achieve CR (CR, CRh or CRi)": ("ADSL", "STARTDT"),
    "failure to achieve a complete MRD response": ("ADSL", "STARTDT"),
    "censored at last contact": ("follow_up", "last_contact_date"),
    "censored at data cut-off (as_of)": ("ADSL", "as_of"),
}


# ---- conversions ----------------------------------------------------------------------------------


def _flag(values: pd.Series) -> pd.Series:
    """True -> Y, False -> N, NA -> blank (None)."""
    b = values.astype("boolean")
    out = np.where(b.isna().to_numpy(), None, np.where(b.fillna(False).to_numpy(dtype=bool), "Y", "N"))
    return pd.Series(out, index=values.index, dtype=object)


def _char(values: pd.Series) -> pd.Series:
    out = values.astype(object).where(values.notna(), None)
    if pd.api.types.infer_dtype(out, skipna=True) not in ("string", "empty"):
        out = out.map(lambda v: v if v is None else str(v)).astype(object)
    return out


def _num(values: pd.Series) -> pd.Series:
    return (
        pd.to_numeric(values.astype("Float64") if values.dtype == "boolean" else values, errors="raise")
        .astype("Float64")
        .astype(float)
    )


def _date(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values).dt.normalize().astype("datetime64[ns]")


_CONVERT = {"flag": _flag, "char": _char, "num": _num, "date": _date}


def _study_day(day: pd.Series, start: pd.Series) -> pd.Series:
    delta = (day - start).dt.days.astype(float)
    return pd.Series(np.where(delta >= 0, delta + 1, delta), index=day.index, dtype=float)


def _frame(name: str, columns: dict[str, pd.Series], index: pd.Index) -> pd.DataFrame:
    """The dataset in SPECS order, each column converted to its kind."""
    data = {}
    for variable in SPECS[name]:
        if variable.name not in columns:
            if variable.optional:
                continue
            raise KeyError(f"{name}.{variable.name} was not built")
        column = columns[variable.name]
        if not isinstance(column, pd.Series):
            column = pd.Series([column] * len(index), index=index, dtype=object)
        data[variable.name] = _CONVERT[variable.kind](column.reindex(index))
    return pd.DataFrame(data, index=index).reset_index(drop=True)


def variables(name: str, frame: pd.DataFrame) -> tuple[Variable, ...]:
    """The variables of dataset `name` present in `frame` (optional ones may be absent)."""
    return tuple(v for v in SPECS[name] if v.name in frame.columns)


# ---- datasets -------------------------------------------------------------------------------------


def _check_studyid(studyid: str) -> str:
    if not isinstance(studyid, str) or not studyid.strip() or len(studyid) > 40 or not studyid.isascii():
        raise UserError(f"studyid {studyid!r} must be 1-40 ASCII characters")
    return studyid.strip()


def _ids(patient_ids: pd.Series, studyid: str) -> dict[str, pd.Series]:
    return {
        "STUDYID": pd.Series(studyid, index=patient_ids.index, dtype=object),
        "USUBJID": studyid + "-" + patient_ids.astype(str),
    }


def adsl(dataset: Any, studyid: str = DEFAULT_STUDYID) -> pd.DataFrame:
    p = dataset.patients
    cols: dict[str, pd.Series] = _ids(p["patient_id"], studyid)
    for variable in _ADSL:
        if variable.source is not None and variable.source in p.columns:
            cols[variable.name] = p[variable.source]
    cols["AGE"] = np.floor(p["age_at_first_blinatumomab_years"].astype(float))
    cols["AGEU"] = pd.Series(
        np.where(p["age_at_first_blinatumomab_years"].notna(), "YEARS", None), index=p.index, dtype=object
    )
    cols["SEX"] = p["sex"].astype(object).map(_SEX)
    cols["DTHFL"] = p["death_date"].notna()
    return _frame("ADSL", cols, p.index)


def _adtf(tte: pd.DataFrame) -> pd.Series:
    """ADTF from the analysis dataset (None, D, M, Y: blinareg.derive.imputation)."""
    return _char(tte["ADTF"])


def adtte(dataset: Any, studyid: str = DEFAULT_STUDYID) -> pd.DataFrame:
    t = dataset.time_to_event
    cols: dict[str, pd.Series] = _ids(t["patient_id"], studyid)
    for variable in _ADTTE:
        if variable.source is not None:
            cols[variable.name] = t[variable.source]
    cols["ADTF"] = _adtf(t)
    cols["AVALU"] = pd.Series("DAYS", index=t.index, dtype=object)
    competing = t["EVTCODE"].to_numpy(dtype=int) == 2
    cols["CMPEVFL"] = pd.Series(competing, index=t.index)
    cols["CMPEVDSC"] = t["EVNTDESC"].where(competing, None)
    censored = t["CNSR"].to_numpy(dtype=int) == 1
    cols["CNSDTDSC"] = t["EVNTDESC"].where(censored, None)
    cols["SRCDOM"] = t["EVNTDESC"].map({desc: source[0] for desc, source in _SOURCES.items()})
    cols["SRCVAR"] = t["EVNTDESC"].map({desc: source[1] for desc, source in _SOURCES.items()})
    return _frame("ADTTE", cols, t.index)


def _teae_flag(ae: pd.DataFrame) -> pd.Series:
    """The analysis dataset's `treatment_emergent` (its window: metadata["treatment_emergent_window"])."""
    if "treatment_emergent" not in ae.columns:
        raise UserError(
            "the analysis dataset has no adverse_events.treatment_emergent; derive it with this version of blinareg"
        )
    return ae["treatment_emergent"].astype("boolean")


def adae(dataset: Any, studyid: str = DEFAULT_STUDYID) -> pd.DataFrame:
    ae = dataset.adverse_events
    p = dataset.patients
    cols: dict[str, pd.Series] = _ids(ae["patient_id"], studyid)
    for variable in _ADAE:
        if variable.source is not None:
            cols[variable.name] = ae[variable.source]
    grade = ae["grade"].astype(float)
    cols["ASTCTGR"] = grade.where(ae["grading_system"].astype(str) == "astct")
    cols["CTCAEGR"] = grade.where(ae["grading_system"].astype(str) == "ctcae_v5")
    trtsdt = ae["patient_id"].map(p.set_index("patient_id")["first_blinatumomab_date"])
    cols["ASTDY"] = _study_day(pd.to_datetime(ae["onset_date"]), pd.to_datetime(trtsdt))
    cols["TRTEMFL"] = _teae_flag(ae)
    out = _frame("ADAE", cols, ae.index)
    return out.sort_values(["USUBJID", "AESEQ"], kind="mergesort").reset_index(drop=True)


def adrs(registry: Any, dataset: Any, studyid: str = DEFAULT_STUDYID) -> pd.DataFrame:
    trtsdt = dataset.patients.set_index("patient_id")["first_blinatumomab_date"]
    known = set(dataset.patients["patient_id"])
    responses = registry["response_assessment"]
    responses = responses[responses["patient_id"].isin(known)]
    r = pd.DataFrame(
        {
            "patient_id": responses["patient_id"].astype(str),
            "PARAMCD": "OVRLRESP",
            "PARAM": "Hematological response",
            "PARCAT1": "RESPONSE",
            "ADT": pd.to_datetime(responses["assessment_date"]),
            "ACYCLE": responses["cycle_number"].astype("Float64").astype(float),
            "AVALC": responses["category"].astype(str),
            "AVAL": responses["marrow_blasts_pct"].astype(float),
            "AVALU": np.where(responses["marrow_blasts_pct"].notna(), "%", None),
            "SPEC": "BM",
            "MRDMETH": None,
            "MRDGRP": None,
            "MRDTARG": None,
            "MRDDETFL": pd.array([pd.NA] * len(responses), dtype="boolean"),
            "MRDSENS": np.nan,
            "CMRDFL": pd.array([pd.NA] * len(responses), dtype="boolean"),
        }
    )
    m = dataset.mrd
    method = m["method"].astype(str)
    mp = pd.DataFrame(
        {
            "patient_id": m["patient_id"].astype(str),
            "PARAMCD": method.map(lambda v: _MRD_PARAMS[v][0]),
            "PARAM": method.map(lambda v: _MRD_PARAMS[v][1]),
            "PARCAT1": "MRD",
            "ADT": pd.to_datetime(m["assessment_date"]),
            "ACYCLE": np.nan,
            "AVALC": m["status"].astype(str),
            "AVAL": m["fraction"].astype(float),
            "AVALU": "FRACTION",
            "SPEC": m["sample"].astype(str),
            "MRDMETH": method,
            "MRDGRP": m["method_group"].astype(str),
            "MRDTARG": m["target"].astype(object),
            "MRDDETFL": m["detected"].astype("boolean"),
            "MRDSENS": m["sensitivity"].astype(float),
            "CMRDFL": m["complete_mrd_response"].astype("boolean"),
        }
    )
    rows = pd.concat([r, mp], ignore_index=True)
    rows["_order"] = rows["PARCAT1"].map({"RESPONSE": 0, "MRD": 1})
    rows = rows.sort_values(["patient_id", "ADT", "_order", "PARAMCD", "SPEC"], kind="mergesort").reset_index(drop=True)
    cols: dict[str, pd.Series] = _ids(rows["patient_id"], studyid)
    for name in (
        "PARAMCD",
        "PARAM",
        "PARCAT1",
        "ADT",
        "ACYCLE",
        "AVALC",
        "AVAL",
        "AVALU",
        "SPEC",
        "MRDMETH",
        "MRDGRP",
        "MRDTARG",
        "MRDDETFL",
        "MRDSENS",
        "CMRDFL",
    ):
        cols[name] = rows[name]
    cols["ADY"] = _study_day(rows["ADT"], pd.to_datetime(rows["patient_id"].map(trtsdt)))
    return _frame("ADRS", cols, rows.index)


def adam_datasets(registry: Any, dataset: Any, *, studyid: str = DEFAULT_STUDYID) -> dict[str, pd.DataFrame]:
    """ADSL, ADTTE, ADAE, ADRS of `dataset` (an `AnalysisDataset` derived from `registry`)."""
    studyid = _check_studyid(studyid)
    return {
        "ADSL": adsl(dataset, studyid),
        "ADTTE": adtte(dataset, studyid),
        "ADAE": adae(dataset, studyid),
        "ADRS": adrs(registry, dataset, studyid),
    }


# ---- files ----------------------------------------------------------------------------------------


def _csv_frame(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    """The dataset as pandas writes it: dates as ISO text, whole-number columns without '.0', blank for missing."""
    out = {}
    for v in variables(name, frame):
        values = frame[v.name]
        if v.kind == "date":
            out[v.name] = pd.to_datetime(values).dt.strftime("%Y-%m-%d")
        elif v.kind == "num":
            numbers = values.astype(float)
            known = numbers.dropna()
            whole = bool(((known % 1) == 0).all()) and bool((known.abs() < 2**53).all())
            out[v.name] = numbers.astype("Int64") if whole else numbers
        else:
            out[v.name] = values
    return pd.DataFrame(out)


def dataset_csv(name: str, frame: pd.DataFrame) -> str:
    """CSV text of one dataset: header of variable names, ISO dates, blank for missing; floats are
    written in the shortest text that reads back to the same double (Python repr)."""
    return _csv_frame(name, frame).to_csv(index=False, lineterminator="\n", na_rep="")


def read_adam_csv(name: str, path: str | os.PathLike) -> pd.DataFrame:
    """Read one dataset's CSV back with the types of SPECS (dates as datetime64, flags as Y/N/None)."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    out = {}
    by_name = {v.name: v for v in SPECS[name]}
    for column in frame.columns:
        kind = by_name[column].kind
        values = frame[column]
        if kind == "num":
            out[column] = values.astype(float)
        elif kind == "date":
            out[column] = pd.to_datetime(values, format="%Y-%m-%d")
        else:
            out[column] = values.astype(object).where(values.notna(), None)
    return pd.DataFrame(out)


def _xpt_frame(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    out = {}
    for v in variables(name, frame):
        values = frame[v.name]
        if v.kind == "date":
            # A SAS date: days since 1960-01-01 (format DATE9.); missing stays NaN.
            out[v.name] = (pd.to_datetime(values) - _SAS_EPOCH).dt.days.astype(float)
        elif v.kind == "num":
            out[v.name] = values.astype(float)
        else:
            # Sizes of the distinct values only (a column repeats a few codes, or one id per patient).
            codes, uniques = pd.factorize(values.to_numpy(dtype=object))
            sizes = np.array([len(str(u).encode("utf-8")) for u in uniques] + [0])[codes]
            if (sizes > MAX_CHAR).any():
                row = int(np.flatnonzero(sizes > MAX_CHAR)[0])
                raise UserError(
                    f"{name}.{v.name} row {row + 1}: a value of {int(sizes[row])} bytes is longer "
                    f"than SAS transport v5 allows ({MAX_CHAR})"
                )
            out[v.name] = values.to_numpy(dtype=object)
    return pd.DataFrame(out)


def _pyreadstat():
    try:
        import pyreadstat
    except ImportError:
        raise UserError("reading SAS transport files needs pyreadstat: pip install 'blinareg[exchange]'") from None
    return pyreadstat


def write_xpt(name: str, frame: pd.DataFrame, path: Path) -> None:
    """One dataset as SAS transport v5 (member name = dataset name, variable labels from SPECS), written by
    `adam_xpt` (pyreadstat is used only to read files back)."""
    from blinareg.exchange.adam_xpt import XptColumn, write_xpt_v5

    data = _xpt_frame(name, frame)
    columns = [
        XptColumn(
            v.name,
            v.label,
            data[v.name].to_numpy(dtype=float) if v.sas_type == "Num" else data[v.name].to_numpy(dtype=object),
            v.sas_type == "Num",
            "DATE9." if v.kind == "date" else "",
        )
        for v in variables(name, frame)
    ]
    write_xpt_v5(path, name, DATASET_LABELS[name], columns)


def read_xpt(path: str | os.PathLike) -> tuple[pd.DataFrame, Any]:
    """A dataset written by `write_xpt`, with SPECS types: dates datetime64, blank chars None."""
    pyreadstat = _pyreadstat()

    frame, meta = pyreadstat.read_xport(str(path))
    name = meta.table_name
    by_name = {v.name: v for v in SPECS[name]}
    out = {}
    for column in frame.columns:
        kind = by_name[column].kind
        values = frame[column]
        if kind == "date":
            out[column] = pd.to_datetime(values.map(lambda x: None if pd.isna(x) else x)).astype("datetime64[ns]")
        elif kind == "num":
            out[column] = values.astype(float)
        else:
            out[column] = values.map(lambda x: None if x == "" else x).astype(object)
    return pd.DataFrame(out), meta


def define_rows(frames: dict[str, pd.DataFrame]) -> list[dict[str, str]]:
    rows = []
    for name, frame in frames.items():
        for order, v in enumerate(variables(name, frame), start=1):
            rows.append(
                {
                    "dataset": name,
                    "order": str(order),
                    "variable": v.name,
                    "label": v.label,
                    "type": v.sas_type,
                    "format": "DATE9." if v.kind == "date" else "",
                    "values": "Y, N or blank" if v.kind == "flag" else "",
                    "origin": v.origin,
                    "derivation": v.derivation,
                }
            )
    return rows


def define_markdown(frames: dict[str, pd.DataFrame], metadata: dict[str, Any], studyid: str) -> str:
    """The data-definition document: one table per dataset (variables, labels, types, origin, derivation)."""
    lines = [
        f"# Data definition: {studyid} ADaM export (generated by blinareg)",
        "",
        "Files: `<dataset>.csv` (UTF-8, ISO dates, blank = missing) and `<dataset>.xpt` (SAS transport "
        "version 5; dates are SAS dates with format DATE9.). Flags are Y/N, blank when not evaluable.",
        "Derivations refer to docs/analysis-dataset.md (the analysis dataset) and docs/adam.md.",
        "",
    ]
    for key in ("origin", "non_responder", "as_of"):
        if key in metadata:
            lines.append(f"- {key}: {metadata[key] if metadata[key] is not None else 'none'}")
    lines.append("")
    for name, frame in frames.items():
        lines += [
            f"## {name}: {DATASET_LABELS[name]} ({len(frame)} rows)",
            "",
            "| # | variable | label | type | origin | derivation |",
            "|---|---|---|---|---|---|",
        ]
        for order, v in enumerate(variables(name, frame), start=1):
            kind = v.sas_type + (" (date, DATE9.)" if v.kind == "date" else " (Y/N)" if v.kind == "flag" else "")
            lines.append(f"| {order} | {v.name} | {v.label} | {kind} | {v.origin} | {v.derivation.replace('|', '/')} |")
        lines.append("")
    return "\n".join(lines)


def write_adam(
    registry: Any, dataset: Any, out_dir: str | os.PathLike, *, studyid: str = DEFAULT_STUDYID, xpt: bool = True
) -> Path:
    """Write ADSL/ADTTE/ADAE/ADRS as CSV and XPT and the data definition into `out_dir` (atomically)."""
    from blinareg.exchange.export_folder import export_folder

    frames = adam_datasets(registry, dataset, studyid=studyid)
    metadata = dict(getattr(dataset, "metadata", {}) or {})
    out = Path(out_dir)
    with export_folder(out, "adam") as temp:
        for name, frame in frames.items():
            (temp / f"{name.lower()}.csv").write_text(dataset_csv(name, frame), encoding="utf-8")
            if xpt:
                write_xpt(name, frame, temp / f"{name.lower()}.xpt")
        (temp / "define.md").write_text(define_markdown(frames, metadata, studyid), encoding="utf-8")
        rows = define_rows(frames)
        with open(temp / "define.csv", "w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
    return out
