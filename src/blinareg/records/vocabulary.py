"""Controlled vocabularies of the record model (stored codes; renaming one is a data migration).

Vocabularies the clinical rules also use (dosing indication, cycle phase, grading inputs, response
categories) live in `blinareg.rules.vocabulary` and are re-exported here so that record code has one
import place.
"""

from __future__ import annotations

from enum import StrEnum

from blinareg.rules.vocabulary import (  # re-exported (in __all__): one import place for record code
    CerebralEdema,
    Consciousness,
    CyclePhase,
    DoseUnit,
    DosingIndication,
    GradingSystem,
    IcansMotor,
    IcansSeizure,
    OxygenSupport,
    ResponseCategory,
)

__all__ = [
    "CerebralEdema",
    "Consciousness",
    "CyclePhase",
    "DoseUnit",
    "DosingIndication",
    "GradingSystem",
    "IcansMotor",
    "IcansSeizure",
    "OxygenSupport",
    "ResponseCategory",
    "MissingCode",
    "DatePrecision",
    "Sex",
    "Immunophenotype",
    "GeneticLesion",
    "CnsStatus",
    "TreatmentType",
    "TreatmentIntent",
    "EarlyStopReason",
    "InterruptionReason",
    "DoseSegmentKind",
    "MrdSample",
    "MrdMethod",
    "AdverseEventCategory",
    "AdverseEventAction",
    "DonorType",
    "Conditioning",
    "RemissionStatus",
    "ChronicGvhdSeverity",
    "VitalStatus",
    "DeathCause",
    "ChemotherapyIntoleranceReason",
    "Cd19Status",
    "NEUROTOXICITY_TERMS",
]


class MissingCode(StrEnum):
    """Why a field holds no value (as REDCap and the transplant registries code it); never a made-up value.

    `positive_not_quantifiable` is accepted by the MRD fraction only: residual disease was detected
    below the assay's quantification limit, so there is a result but no number.
    """

    UNKNOWN = "unknown"  # the center does not know (not captured, chart lost, ...)
    NOT_DONE = "not_done"  # the test or measurement was not performed
    NOT_APPLICABLE = "not_applicable"  # the question does not apply to this patient
    POSITIVE_NOT_QUANTIFIABLE = "positive_not_quantifiable"


class DatePrecision(StrEnum):
    """How much of a partial date is known; the date column holds the first day of that period."""

    YEAR = "year"  # `2017`: stored as 2017-01-01
    MONTH = "month"  # `2017-07`: stored as 2017-07-01


class Sex(StrEnum):
    FEMALE = "female"
    MALE = "male"
    OTHER = "other"
    UNKNOWN = "unknown"


class Immunophenotype(StrEnum):
    """EGIL classification of B-lineage ALL."""

    B_I = "B-I"  # pro-B
    B_II = "B-II"  # common
    B_III = "B-III"  # pre-B
    B_IV = "B-IV"  # mature B


class GeneticLesion(StrEnum):
    BCR_ABL1 = "BCR::ABL1"
    PH_LIKE = "Ph-like"
    KMT2A_REARRANGED = "KMT2A-r"
    ETV6_RUNX1 = "ETV6::RUNX1"
    TCF3_PBX1 = "TCF3::PBX1"
    HIGH_HYPERDIPLOIDY = "high_hyperdiploidy"
    HYPODIPLOIDY = "hypodiploidy"
    IAMP21 = "iAMP21"
    OTHER = "other"


class CnsStatus(StrEnum):
    CNS1 = "CNS1"
    CNS2 = "CNS2"
    CNS3 = "CNS3"


class TreatmentType(StrEnum):
    BLINATUMOMAB = "blinatumomab"
    INOTUZUMAB = "inotuzumab"
    CHEMOTHERAPY = "chemotherapy"
    CAR_T = "car_t"
    HSCT = "hsct"
    RADIOTHERAPY = "radiotherapy"
    OTHER = "other"


class TreatmentIntent(StrEnum):
    """Why a line was given; for blinatumomab this is the study's indication group."""

    MRD_CLEARANCE = "mrd_clearance"
    RELAPSED_REFRACTORY = "relapsed_refractory"
    CHEMOTHERAPY_INTOLERANCE = "chemotherapy_intolerance"
    CONSOLIDATION = "consolidation"
    BRIDGING_TO_HSCT = "bridging_to_hsct"
    FRONTLINE = "frontline"


class EarlyStopReason(StrEnum):
    TOXICITY = "toxicity"
    PROGRESSION = "progression"
    COST = "cost"
    OTHER = "other"


class InterruptionReason(StrEnum):
    CRS = "crs"
    NEUROTOXICITY = "neurotoxicity"
    INFECTION = "infection"
    OTHER_TOXICITY = "other_toxicity"
    TECHNICAL = "technical"  # line, pump or bag problem
    OTHER = "other"


class DoseSegmentKind(StrEnum):
    PLANNED = "planned"
    DELIVERED = "delivered"


class MrdSample(StrEnum):
    BONE_MARROW = "BM"
    PERIPHERAL_BLOOD = "PB"


class MrdMethod(StrEnum):
    """MRD methods are never merged: a patient can be flow-negative and PCR-positive."""

    FLOW_CYTOMETRY = "flow"
    RT_QPCR_FUSION = "rt_qpcr_fusion"
    IG_TCR_QPCR = "ig_tcr_qpcr"
    NGS = "ngs"
    IHC = "ihc"


class AdverseEventCategory(StrEnum):
    CRS = "crs"
    ICANS = "icans"
    ENCEPHALOPATHY = "encephalopathy"
    SEIZURE = "seizure"
    TREMOR = "tremor"
    OTHER_NEUROTOXICITY = "other_neurotoxicity"  # headache, aphasia, confusion... (CTCAE)
    FEVER = "fever"  # fever without CRS criteria (infusion reaction)
    INFECTION = "infection"
    CYTOPENIA = "cytopenia"
    SECOND_MALIGNANCY = "second_malignancy"
    OTHER = "other"


NEUROTOXICITY_TERMS = frozenset(
    {
        AdverseEventCategory.ICANS,
        AdverseEventCategory.ENCEPHALOPATHY,
        AdverseEventCategory.SEIZURE,
        AdverseEventCategory.TREMOR,
        AdverseEventCategory.OTHER_NEUROTOXICITY,
    }
)


class AdverseEventAction(StrEnum):
    NONE = "none"
    INTERRUPTED = "interrupted"
    DOSE_REDUCED = "dose_reduced"
    DISCONTINUED = "discontinued"


class DonorType(StrEnum):
    MSD = "msd"  # matched sibling
    MUD = "mud"
    MMUD = "mmud"
    HAPLOIDENTICAL = "haploidentical"
    CORD = "cord"
    AUTOLOGOUS = "autologous"


class Conditioning(StrEnum):
    TBI_BASED = "tbi_based"
    CHEMOTHERAPY_ONLY = "chemotherapy_only"


class RemissionStatus(StrEnum):
    CR1 = "CR1"
    CR2 = "CR2"
    CR3_PLUS = "CR3+"
    NOT_IN_CR = "not_in_CR"


class ChronicGvhdSeverity(StrEnum):
    NONE = "none"
    MILD = "mild"
    MODERATE = "moderate"
    SEVERE = "severe"


class VitalStatus(StrEnum):
    ALIVE = "alive"
    DEAD = "dead"


class DeathCause(StrEnum):  # an unknown cause is the missing-data code `unknown` (death.cause_missing)
    RELAPSE_PROGRESSION = "relapse_progression"
    INFECTION = "infection"
    GVHD = "gvhd"
    TREATMENT_TOXICITY = "treatment_toxicity"
    OTHER = "other"


class ChemotherapyIntoleranceReason(StrEnum):
    """Why chemotherapy was not tolerated (the reason blinatumomab replaced it); one code per line."""

    PANCREATITIS = "pancreatitis"
    INFECTION = "infection"
    ORGAN_TOXICITY = "organ_toxicity"  # hepatic, renal or cardiac
    NEUROTOXICITY = "neurotoxicity"
    THROMBOSIS = "thrombosis"
    MYELOSUPPRESSION = "myelosuppression"
    HYPERSENSITIVITY = "hypersensitivity"
    OTHER = "other"


class Cd19Status(StrEnum):
    """CD19 expression on the blasts at relapse (flow cytometry), the target of blinatumomab."""

    POSITIVE = "positive"
    DIM = "dim"
    NEGATIVE = "negative"
    NOT_TESTED = "not_tested"
