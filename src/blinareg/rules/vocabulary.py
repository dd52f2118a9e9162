"""Controlled vocabularies shared by the clinical rules and the record model.

Values are the stored codes (lower-case, stable); they appear in CSV/XLSX files, the database and the
analysis dataset, so renaming one is a data migration.
"""

from __future__ import annotations

from enum import StrEnum


class DosingIndication(StrEnum):
    """Label indication that decides the blinatumomab schedule (Blincyto prescribing information)."""

    RELAPSED_REFRACTORY = "relapsed_refractory"
    MRD_POSITIVE = "mrd_positive"
    CONSOLIDATION = "consolidation"


class CyclePhase(StrEnum):
    PREPHASE = "prephase"
    INDUCTION = "induction"
    CONSOLIDATION = "consolidation"
    CONTINUED = "continued"


class DoseUnit(StrEnum):
    MCG_PER_DAY = "mcg/day"
    MCG_PER_M2_PER_DAY = "mcg/m2/day"


class OxygenSupport(StrEnum):
    """Oxygen requirement for ASTCT CRS grading (Lee et al. 2019); low-flow is <= 6 L/min."""

    NONE = "none"
    LOW_FLOW = "low_flow"  # nasal cannula <= 6 L/min or blow-by
    HIGH_FLOW = "high_flow"  # high-flow nasal cannula > 6 L/min
    FACEMASK = "facemask"
    NON_REBREATHER = "non_rebreather"
    VENTURI = "venturi"
    CPAP_BIPAP = "cpap_bipap"
    MECHANICAL_VENTILATION = "mechanical_ventilation"


class Consciousness(StrEnum):
    """Depressed level of consciousness domain of ASTCT ICANS grading."""

    NORMAL = "normal"
    AWAKENS_SPONTANEOUSLY = "awakens_spontaneously"
    AWAKENS_TO_VOICE = "awakens_to_voice"
    AWAKENS_TO_TOUCH = "awakens_to_touch"
    UNAROUSABLE = "unarousable"  # needs vigorous or repetitive stimuli; stupor or coma


class IcansSeizure(StrEnum):
    NONE = "none"
    FOCAL_OR_GENERALIZED_RESOLVING = (
        "resolving"  # clinical seizure resolving rapidly, or EEG seizure resolving with intervention
    )
    PROLONGED_OR_REPETITIVE = "prolonged"  # > 5 min, or repetitive without return to baseline


class IcansMotor(StrEnum):
    NONE = "none"
    DEEP_FOCAL_WEAKNESS = "deep_focal_weakness"  # hemiparesis, paraparesis


class CerebralEdema(StrEnum):
    NONE = "none"
    FOCAL = "focal"
    DIFFUSE = "diffuse"  # or decerebrate/decorticate posturing, CN VI palsy, papilledema, Cushing's triad


class GradingSystem(StrEnum):
    ASTCT = "astct"
    CTCAE_V5 = "ctcae_v5"


class RelapseTimingScheme(StrEnum):
    BFM = "bfm"
    COG = "cog"


class RelapseTiming(StrEnum):
    VERY_EARLY = "very_early"
    EARLY = "early"
    LATE = "late"


class RelapseSiteClass(StrEnum):
    ISOLATED_MARROW = "isolated_marrow"
    ISOLATED_EXTRAMEDULLARY = "isolated_extramedullary"
    COMBINED = "combined"


class MarrowStatus(StrEnum):
    M1 = "M1"
    M2 = "M2"
    M3 = "M3"


class Lineage(StrEnum):
    B = "b"
    T = "t"


class ResponseCategory(StrEnum):
    CR = "cr"
    CRH = "crh"
    CRI = "cri"
    PR = "pr"
    NO_RESPONSE = "no_response"
    PROGRESSION = "progression"


class MrdStatus(StrEnum):
    NEGATIVE = "negative"  # < threshold (default 1e-4)
    POSITIVE = "positive"
    NOT_EVALUABLE = "not_evaluable"  # not detected, but the assay was not sensitive enough to call it negative


# --- added with blinareg.rules (dosing, grading and classification results) ---------------------------


class DoseAction(StrEnum):
    """What the dose-modification table says to do after an adverse event."""

    CONTINUE = "continue"
    INTERRUPT = "interrupt"  # withhold, then restart at the step dose and escalate
    DISCONTINUE = "discontinue"  # permanently
    CONSIDER_DISCONTINUATION = "consider_discontinuation"


class ToxicityEvent(StrEnum):
    """Event families of the blinatumomab dose-modification table."""

    CRS = "crs"
    NEUROLOGICAL = "neurological"
    SEIZURE = "seizure"
    OTHER = "other"  # other clinically relevant adverse reaction


class DoseDeviationKind(StrEnum):
    """How a delivered daily dose departs from the planned one."""

    WRONG_STEP = "wrong_step"  # the patient's dose of the other step (9 vs 28 mcg/day) was given
    ABOVE_CAP = "above_cap"  # above the mcg/day cap of the planned step (9 or 28)
    ABOVE_PLAN = "above_plan"
    BELOW_PLAN = "below_plan"
    NOT_INFUSED = "not_infused"  # planned infusion day with nothing delivered
    TREATMENT_FREE_DAY_INFUSION = "treatment_free_day_infusion"
    OUTSIDE_PLAN = "outside_plan"  # delivered on a date that is not part of the planned cycle


class BfmStrategicGroup(StrEnum):
    S1 = "S1"
    S2 = "S2"
    S3 = "S3"
    S4 = "S4"
    S3_S4 = "S3/S4"  # when a center configures the S3/S4 split as merged


class IntreallRisk(StrEnum):
    STANDARD = "standard"
    HIGH = "high"


class AdverseEventTerm(StrEnum):
    """Adverse events whose grade the rules can compute from recorded parameters."""

    CRS = "crs"
    ICANS = "icans"
    ENCEPHALOPATHY = "encephalopathy"
    SEIZURE = "seizure"
    TREMOR = "tremor"


class CtcaeSeverity(StrEnum):
    """CTCAE v5 severity wording shared by encephalopathy and tremor."""

    MILD = "mild"
    MODERATE = "moderate"  # limiting instrumental ADL
    SEVERE = "severe"  # limiting self-care ADL
    LIFE_THREATENING = "life_threatening"
    DEATH = "death"


class CtcaeSeizure(StrEnum):
    """CTCAE v5 seizure wording."""

    BRIEF_PARTIAL = "brief_partial"  # no loss of consciousness
    BRIEF_GENERALIZED = "brief_generalized"
    NEW_ONSET_OR_MULTIPLE = "new_onset_or_multiple"  # new onset, or multiple despite intervention
    LIFE_THREATENING = "life_threatening"  # prolonged repetitive seizures
    DEATH = "death"
