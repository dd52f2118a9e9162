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
    FOCAL_OR_GENERALIZED_RESOLVING = "resolving"  # clinical seizure resolving rapidly, or EEG seizure resolving with intervention
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
