"""Names of the analysis dataset's values, for people: level orders, value labels, column labels, endpoints.

The analysis dataset stores vocabulary codes (``first_relapse``, ``isolated_marrow``); every table, figure
and sentence of the report shows them through these tables, so one place owns both the order in which the
levels of a categorical column are listed and the words used for them. Pure data, no I/O.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

__all__ = [
    "ENDPOINT_NAMES",
    "GENETICS",
    "LEVEL_ORDER",
    "VALUE_LABELS",
    "COLUMN_LABELS",
    "NOT_APPLICABLE_REASON",
    "value_label",
    "column_label",
]

ENDPOINT_NAMES = MappingProxyType(
    {
        "OS": "Overall survival",
        "EFS": "Event-free survival",
        "DFS": "Disease-free survival",
        "PROS": "Post-relapse overall survival",
        "GRFS": "GVHD-free, relapse-free survival",
        "CIR": "Cumulative incidence of relapse",
        "NRM": "Non-relapse mortality",
    }
)

# (patients column, label) of the genetic lesions, in the order the report lists them.
GENETICS = (
    ("genetics_bcr_abl1", "BCR::ABL1"),
    ("genetics_ph_like", "Ph-like"),
    ("genetics_kmt2a_r", "KMT2A-r"),
    ("genetics_etv6_runx1", "ETV6::RUNX1"),
    ("genetics_tcf3_pbx1", "TCF3::PBX1"),
    ("genetics_high_hyperdiploidy", "High hyperdiploidy"),
    ("genetics_hypodiploidy", "Hypodiploidy"),
    ("genetics_iamp21", "iAMP21"),
    ("genetics_other", "Other"),
)

# Vocabulary order of categorical columns (observed values outside these lists follow, sorted).
LEVEL_ORDER = MappingProxyType(
    {
        "sex": ("female", "male", "other", "unknown"),
        "relapse_status_at_blinatumomab": ("no_relapse", "first_relapse", "second_relapse", "third_or_later_relapse"),
        "relapse_site_class": ("isolated_marrow", "isolated_extramedullary", "combined"),
        "relapse_site_detail": ("BM", "CNS", "testis", "other EM", "BM+CNS", "BM+testis", "BM+other EM"),
        "relapse_timing": ("very_early", "early", "late"),
        "bfm_strategic_group": ("S1", "S2", "S3", "S4", "S3/S4"),
        "intreall_risk": ("standard", "high"),
        "indication_group": (
            "mrd_clearance",
            "chemotherapy_intolerance",
            "relapsed_refractory",
            "consolidation",
            "bridging_to_hsct",
        ),
        "immunophenotype": ("B-I", "B-II", "B-III", "B-IV"),
        "best_response": ("cr", "crh", "cri", "pr", "no_response", "progression"),
        "hsct_remission_status": ("CR1", "CR2", "CR3+", "not_in_CR"),
        "hsct_donor_type": ("msd", "mud", "mmud", "haploidentical", "cord", "autologous"),
        "early_stop_reason": ("toxicity", "progression", "cost", "other"),
        "baseline_mrd_status": ("negative", "positive", "not_evaluable"),
        "baseline_mrd_flow_status": ("negative", "positive", "not_evaluable"),
        "baseline_mrd_pcr_status": ("negative", "positive", "not_evaluable"),
        "vital_status": ("alive", "dead"),
        "death_cause": ("relapse_progression", "infection", "gvhd", "treatment_toxicity", "other"),
        "cd19_status": ("positive", "dim", "negative", "not_tested"),
        "salvage_therapy": ("car_t", "inotuzumab", "blinatumomab", "hsct", "chemotherapy", "other", "none"),
    }
)

# Why a classification column is empty for a patient who has no value by definition (not a missing record).
NOT_APPLICABLE_REASON = MappingProxyType(
    {
        "relapse_site_class": "not applicable (no relapse)",
        "relapse_site_detail": "not applicable (no relapse)",
        "relapse_timing": "not applicable (no relapse)",
        "bfm_strategic_group": "not applicable (no relapse / not first relapse)",
        "intreall_risk": "not applicable (no relapse / not first relapse)",
    }
)

VALUE_LABELS = MappingProxyType(
    {
        "female": "Female",
        "male": "Male",
        "other": "Other",
        "unknown": "Unknown",
        "no_relapse": "No relapse (CR1)",
        "first_relapse": "First relapse",
        "second_relapse": "Second relapse",
        "third_or_later_relapse": "Third or later relapse",
        "isolated_marrow": "Isolated bone marrow",
        "isolated_extramedullary": "Isolated extramedullary",
        "combined": "Combined",
        "BM": "Isolated BM",
        "CNS": "Isolated CNS",
        "testis": "Isolated testicular",
        "other EM": "Isolated other EM",
        "BM+CNS": "Combined BM + CNS",
        "BM+testis": "Combined BM + testicular",
        "BM+other EM": "Combined BM + other extramedullary",
        "very_early": "Very early",
        "early": "Early",
        "late": "Late",
        "standard": "Standard risk",
        "high": "High risk",
        "mrd_clearance": "MRD clearance",
        "chemotherapy_intolerance": "Chemotherapy intolerance",
        "relapsed_refractory": "Relapsed/refractory",
        "consolidation": "Consolidation",
        "bridging_to_hsct": "Bridging to HSCT",
        "cr": "CR",
        "crh": "CRh",
        "cri": "CRi",
        "pr": "Partial response",
        "no_response": "No response",
        "progression": "Progression",
        "toxicity": "Toxicity",
        "cost": "Cost",
        "flow": "Flow cytometry",
        "pcr": "PCR",
        "rt_qpcr_fusion": "RT-qPCR (fusion transcript)",
        "ig_tcr_qpcr": "Ig/TCR qPCR",
        "ngs": "NGS",
        "ihc": "IHC",
        "crs": "Cytokine release syndrome",
        "icans": "ICANS",
        "encephalopathy": "Encephalopathy",
        "seizure": "Seizure",
        "tremor": "Tremor",
        "other_neurotoxicity": "Other neurotoxicity",
        "fever": "Fever (no CRS criteria)",
        "infection": "Infection",
        "cytopenia": "Cytopenia",
        "second_malignancy": "Second malignancy",
        "negative": "Negative",
        "positive": "Positive",
        "not_evaluable": "Not evaluable",
        "dim": "Dim",
        "not_tested": "Not tested",
        "car_t": "CAR-T",
        "inotuzumab": "Inotuzumab ozogamicin",
        "blinatumomab": "Blinatumomab again",
        "hsct": "HSCT",
        "chemotherapy": "Chemotherapy",
        "none": "None",
        "msd": "Matched sibling",
        "mud": "Matched unrelated",
        "mmud": "Mismatched unrelated",
        "haploidentical": "Haploidentical",
        "cord": "Cord blood",
        "autologous": "Autologous",
        "not_in_CR": "Not in CR",
        "alive": "Alive",
        "dead": "Dead",
        "relapse_progression": "Relapse or progression",
        "gvhd": "GVHD",
        "treatment_toxicity": "Treatment toxicity",
        "pancreatitis": "Pancreatitis",
        "organ_toxicity": "Organ toxicity",
        "prephase": "Prephase",
        "induction": "Induction",
        "continued": "Continued",
        **ENDPOINT_NAMES,
    }
)

# Readable names of the patients columns a user may put in a model, a comparison or the --by split.
COLUMN_LABELS = MappingProxyType(
    {
        "sex": "Sex",
        "age_at_first_blinatumomab_years": "Age at first blinatumomab, years",
        "age_at_diagnosis_years": "Age at diagnosis, years",
        "immunophenotype": "Immunophenotype",
        "relapse_status_at_blinatumomab": "Disease status at blinatumomab",
        "relapses_before_blinatumomab": "Relapses before blinatumomab",
        "relapse_site_class": "Relapse site",
        "relapse_site_detail": "Site of the index relapse",
        "relapse_timing": "Relapse timing",
        "bfm_strategic_group": "BFM strategic group",
        "intreall_risk": "IntReALL risk group",
        "indication_group": "Indication group",
        "center_id": "Center",
        "prior_hsct": "Prior HSCT",
        "months_diagnosis_to_blinatumomab": "Months from diagnosis to blinatumomab",
        "baseline_mrd_fraction": "Baseline MRD (fraction)",
        "baseline_mrd_status": "Baseline MRD status",
        "baseline_mrd_method": "Baseline MRD method",
        "cycles": "Blinatumomab cycles",
        "cr_achieved": "CR/CRh/CRi",
        "cr_after_cycle1": "CR/CRh/CRi after cycle 1",
        "complete_mrd_response": "Complete MRD response",
        "best_response": "Best response",
        "hsct_after_blinatumomab": "HSCT after blinatumomab",
        "hsct_remission_status": "Remission status at HSCT",
        "hsct_donor_type": "Donor type",
        "inotuzumab_before_hsct": "Inotuzumab before HSCT",
        "crs_max_grade": "CRS, maximum grade",
        "chemotherapy_intolerance_reason": "Reason for chemotherapy intolerance",
        **{column: text for column, text in GENETICS},
    }
)


def value_label(value: Any) -> str:
    """The words for a stored value: 'first_relapse' -> 'First relapse'; True -> 'Yes'; None -> 'Missing'."""
    if value is None:
        return "Missing"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    text = str(value)
    return VALUE_LABELS.get(text, text.replace("_", " "))


def column_label(column: str) -> str:
    """The words for a patients column: 'hsct_remission_status' -> 'Remission status at HSCT'."""
    if column in COLUMN_LABELS:
        return COLUMN_LABELS[column]
    text = column.replace("_", " ")
    return text[:1].upper() + text[1:]
