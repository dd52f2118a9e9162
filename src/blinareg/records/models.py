"""Typed record models: one pydantic model per record type, one table and one sheet each.

These models are the single source of truth for fields, types, ranges and units: the database tables,
the CSV/XLSX column dictionary (docs/), import parsing and the API all derive from them. Field checks
live here; checks across records live in `blinareg.records.validation`.

Identifiers are pseudonymous study ids. A record never holds a name, MRN or address.
Keys are natural: (patient_id, <number or date>) so that files written by a center can be re-imported.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from blinareg.records.vocabulary import (
    AdverseEventAction,
    AdverseEventCategory,
    Cd19Status,
    CerebralEdema,
    ChemotherapyIntoleranceReason,
    ChronicGvhdSeverity,
    CnsStatus,
    Conditioning,
    Consciousness,
    CyclePhase,
    DatePrecision,
    DeathCause,
    DonorType,
    DoseSegmentKind,
    DoseUnit,
    DosingIndication,
    EarlyStopReason,
    GeneticLesion,
    GradingSystem,
    IcansMotor,
    IcansSeizure,
    Immunophenotype,
    InterruptionReason,
    MissingCode,
    MrdMethod,
    MrdSample,
    OxygenSupport,
    RemissionStatus,
    ResponseCategory,
    Sex,
    TreatmentIntent,
    TreatmentType,
    VitalStatus,
)

# A study id: letters, digits, '-', '_', '.', 1-40 characters. Spaces and '@' are refused so that an
# e-mail address or a "Surname Name" cannot be typed in by mistake.
StudyId = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Percent = Annotated[float, Field(ge=0, le=100)]
Fraction = Annotated[float, Field(ge=0, le=1)]
Ordinal = Annotated[int, Field(ge=1, le=99)]

# Missing data (blinareg.records.missing): a field that may hold a missing-data code has a companion
# field `<field>_missing` (MissingCode or None); a date field that may be partial has `<date>_precision`
# (DatePrecision or None = the exact day), its own column holding the first day of the known period.
# In files both are written back into the field's own cell (`unknown`, `2017`, `2017-07`).
UNKNOWN, NOT_DONE, NOT_APPLICABLE = MissingCode.UNKNOWN, MissingCode.NOT_DONE, MissingCode.NOT_APPLICABLE
MISSING_SUFFIX = "_missing"
PRECISION_SUFFIX = "_precision"


def code_of(field: str, *codes: MissingCode) -> Any:
    """The companion field holding the missing-data code of `field` (one of `codes`, or None)."""
    accepted = ", ".join(code.value for code in codes)
    return Field(
        None,
        description=f"Missing-data code of {field} ({accepted}); empty when {field} has a value "
        f"or is simply not recorded",
        json_schema_extra={"companion_of": field, "accepts": [code.value for code in codes]},
    )


def precision_of(field: str) -> Any:
    """The companion field holding the precision of a partial `field` date (year, month; None = the day)."""
    return Field(
        None,
        description=f"Precision of {field} when only the year or the month is known (empty: the exact day)",
        json_schema_extra={"companion_of": field, "partial_date": True},
    )


def required_or_code(description: str) -> Any:
    """A required field that may instead hold a missing-data code (then the value is None)."""
    return Field(None, description=description, json_schema_extra={"required_or_code": True})


class Record(BaseModel):
    """Base of every record type. Subclasses declare their table name, key and dated fields."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, str_strip_whitespace=True, use_enum_values=False, validate_default=True
    )

    record_type: ClassVar[str]
    key: ClassVar[tuple[str, ...]]
    title: ClassVar[str]
    # Dated fields that must lie between birth and death/last contact (cross-record checks).
    event_dates: ClassVar[tuple[str, ...]] = ()

    def key_values(self) -> tuple[object, ...]:
        return tuple(getattr(self, name) for name in self.key)

    @model_validator(mode="after")
    def _missing_data_consistent(self) -> "Record":
        spec = missing_spec(type(self))
        for name, companion, accepted in spec.codes:
            code = getattr(self, companion)
            if code is None:
                continue
            if code not in accepted:
                raise ValueError(
                    f"{name} does not accept the missing-data code {code.value}; "
                    f"accepted: {', '.join(c.value for c in accepted)}"
                )
            if getattr(self, name) is not None:
                raise ValueError(f"{name} holds both a value and the missing-data code {code.value}")
        for name in spec.required:
            if getattr(self, name) is None and getattr(self, name + MISSING_SUFFIX) is None:
                codes = ", ".join(c.value for c in spec.accepted[name])
                raise ValueError(f"{name} is required: give a value, or a missing-data code ({codes})")
        for name, companion in spec.partial_dates:
            precision, value = getattr(self, companion), getattr(self, name)
            if precision is None:
                continue
            if value is None:
                raise ValueError(f"{name} has a precision ({precision.value}) but no date")
            if value.day != 1 or (precision is DatePrecision.YEAR and value.month != 1):
                raise ValueError(f"{name} {value} is not the first day of its {precision.value}")
        return self

    def label(self) -> str:
        """How problems name this record, e.g. `relapse[P001, relapse_number=2]`."""
        parts = [f"{name}={getattr(self, name)}" for name in self.key if name != "patient_id"]
        owner = getattr(self, "patient_id", None) or getattr(self, "center_id", "")
        return f"{self.record_type}[{', '.join([str(owner), *parts])}]"


class MissingSpec:
    """Which fields of a record type take missing-data codes or partial dates (read from the fields)."""

    def __init__(self, model: type[Record]) -> None:
        self.codes: list[tuple[str, str, frozenset[MissingCode]]] = []
        self.partial_dates: list[tuple[str, str]] = []
        self.required: list[str] = []
        for name, info in model.model_fields.items():
            extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
            accepts = extra.get("accepts")
            if isinstance(accepts, list):
                self.codes.append((str(extra["companion_of"]), name, frozenset(MissingCode(str(c)) for c in accepts)))
            elif extra.get("partial_date"):
                self.partial_dates.append((str(extra["companion_of"]), name))
            elif extra.get("required_or_code"):
                self.required.append(name)
        self.accepted: dict[str, frozenset[MissingCode]] = {name: codes for name, _, codes in self.codes}
        for name in self.required:
            if name not in self.accepted:
                raise TypeError(f"{model.__name__}.{name} is required_or_code but has no {name}{MISSING_SUFFIX}")


_SPECS: dict[type, MissingSpec] = {}


def missing_spec(model: type[Record]) -> MissingSpec:
    spec = _SPECS.get(model)
    if spec is None:
        spec = _SPECS[model] = MissingSpec(model)
    return spec


def date_text(record: Record, name: str) -> str:
    """A date as written in a file: `2017-07-14`, or `2017-07` / `2017` for a partial date."""
    value: dt.date = getattr(record, name)
    precision = getattr(record, name + PRECISION_SUFFIX, None)
    if precision is DatePrecision.YEAR:
        return f"{value.year:04d}"
    if precision is DatePrecision.MONTH:
        return f"{value.year:04d}-{value.month:02d}"
    return value.isoformat()


def date_bounds(record: Record, name: str) -> tuple[dt.date, dt.date]:
    """First and last day a (possibly partial) date can be."""
    value = getattr(record, name)
    precision = getattr(record, name + PRECISION_SUFFIX, None)
    if precision is DatePrecision.YEAR:
        return value, dt.date(value.year, 12, 31)
    if precision is DatePrecision.MONTH:
        following = dt.date(value.year + value.month // 12, value.month % 12 + 1, 1)
        return value, following - dt.timedelta(days=1)
    return value, value


def _check_interval(record: Record, start: str, end: str) -> None:
    """The end is not before the start; partial dates conflict only when no day of theirs fits."""
    if getattr(record, start) is None or getattr(record, end) is None:
        return
    if date_bounds(record, end)[1] < date_bounds(record, start)[0]:
        raise ValueError(f"{end} {date_text(record, end)} is before {start} {date_text(record, start)}")


class Center(Record):
    record_type: ClassVar[str] = "center"
    key: ClassVar[tuple[str, ...]] = ("center_id",)
    title: ClassVar[str] = "Treating center"

    center_id: StudyId = Field(description="Center code, unique in the registry")
    name: ShortText = Field(description="Center name")
    country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")] | None = Field(
        None, description="ISO 3166-1 alpha-2 country code"
    )
    synthetic: bool = Field(False, description="True for generated (synthetic) data, never real patients")


class Patient(Record):
    record_type: ClassVar[str] = "patient"
    key: ClassVar[tuple[str, ...]] = ("patient_id",)
    title: ClassVar[str] = "Patient (pseudonymous)"

    patient_id: StudyId = Field(description="Pseudonymous study id; never a name or MRN")
    center_id: StudyId = Field(description="Treating center")
    sex: Sex = Field(description="Sex")
    birth_date: dt.date = Field(description="Date of birth (a year or year-month is accepted)")
    birth_date_precision: DatePrecision | None = precision_of("birth_date")


class Diagnosis(Record):
    record_type: ClassVar[str] = "diagnosis"
    key: ClassVar[tuple[str, ...]] = ("patient_id",)
    title: ClassVar[str] = "Initial diagnosis and front-line therapy"
    event_dates: ClassVar[tuple[str, ...]] = ("diagnosis_date", "frontline_start_date", "frontline_end_date")

    patient_id: StudyId = Field(description="Pseudonymous study id of the patient")
    diagnosis_date: dt.date = Field(description="Date of initial B-ALL diagnosis")
    diagnosis_date_precision: DatePrecision | None = precision_of("diagnosis_date")
    immunophenotype: Immunophenotype | None = Field(None, description="EGIL B-I..B-IV")
    immunophenotype_missing: MissingCode | None = code_of("immunophenotype", UNKNOWN, NOT_DONE)
    cns_status: CnsStatus | None = Field(None, description="CNS status at diagnosis")
    cns_status_missing: MissingCode | None = code_of("cns_status", UNKNOWN, NOT_DONE)
    wbc_per_nl: Annotated[float, Field(ge=0, le=2000)] | None = Field(
        None, description="Initial white blood cell count, x10^9/L (= /nL)"
    )
    wbc_per_nl_missing: MissingCode | None = code_of("wbc_per_nl", UNKNOWN, NOT_DONE)
    frontline_protocol: ShortText | None = Field(None, description="Front-line protocol, e.g. AIEOP-BFM ALL 2017")
    frontline_protocol_missing: MissingCode | None = code_of("frontline_protocol", UNKNOWN, NOT_APPLICABLE)
    frontline_start_date: dt.date | None = Field(None, description="Start of front-line therapy")
    frontline_start_date_precision: DatePrecision | None = precision_of("frontline_start_date")
    frontline_start_date_missing: MissingCode | None = code_of("frontline_start_date", UNKNOWN, NOT_APPLICABLE)
    frontline_end_date: dt.date | None = Field(
        None, description="End of front-line therapy (end of maintenance); decides BFM relapse timing"
    )
    frontline_end_date_precision: DatePrecision | None = precision_of("frontline_end_date")
    frontline_end_date_missing: MissingCode | None = code_of("frontline_end_date", UNKNOWN, NOT_APPLICABLE)

    @model_validator(mode="after")
    def _frontline_order(self) -> "Diagnosis":
        _check_interval(self, "frontline_start_date", "frontline_end_date")
        return self


class GeneticFinding(Record):
    record_type: ClassVar[str] = "genetic_finding"
    key: ClassVar[tuple[str, ...]] = ("patient_id", "lesion")
    title: ClassVar[str] = "Genetic lesion found at diagnosis (one row per lesion)"

    patient_id: StudyId = Field(description="Pseudonymous study id of the patient")
    lesion: GeneticLesion = Field(description="Genetic lesion")
    detail: ShortText | None = Field(None, description="Free-text detail, required for 'other'")

    @model_validator(mode="after")
    def _other_needs_detail(self) -> "GeneticFinding":
        if self.lesion is GeneticLesion.OTHER and not self.detail:
            raise ValueError("lesion 'other' needs a detail")
        return self


class Relapse(Record):
    record_type: ClassVar[str] = "relapse"
    key: ClassVar[tuple[str, ...]] = ("patient_id", "relapse_number")
    title: ClassVar[str] = "Relapse"
    event_dates: ClassVar[tuple[str, ...]] = ("relapse_date",)

    patient_id: StudyId = Field(description="Pseudonymous study id of the patient")
    relapse_number: Ordinal = Field(description="1 for first relapse, 2 for second, ...")
    relapse_date: dt.date = Field(description="Date of relapse diagnosis")
    relapse_date_precision: DatePrecision | None = precision_of("relapse_date")
    site_bone_marrow: bool = Field(description="Bone marrow involved (>= 5% blasts)")
    site_cns: bool = Field(False, description="CNS involved")
    site_testis: bool = Field(False, description="Testis involved")
    site_other_extramedullary: bool = Field(False, description="Other extramedullary site involved")
    marrow_blasts_pct: Percent | None = Field(None, description="Bone marrow blasts, %")
    marrow_blasts_pct_missing: MissingCode | None = code_of("marrow_blasts_pct", UNKNOWN, NOT_DONE)
    cd19_status: Cd19Status | None = Field(
        None, description="CD19 on the blasts at relapse: positive, dim, negative or not_tested"
    )

    @model_validator(mode="after")
    def _some_site(self) -> "Relapse":
        if not (self.site_bone_marrow or self.site_cns or self.site_testis or self.site_other_extramedullary):
            raise ValueError("a relapse needs at least one site")
        if self.site_bone_marrow and self.marrow_blasts_pct is not None and self.marrow_blasts_pct < 5:
            raise ValueError(f"site_bone_marrow is true but marrow_blasts_pct {self.marrow_blasts_pct} < 5 (M1)")
        return self


class BodyMeasurement(Record):
    record_type: ClassVar[str] = "body_measurement"
    key: ClassVar[tuple[str, ...]] = ("patient_id", "measurement_date")
    title: ClassVar[str] = "Weight and height"
    event_dates: ClassVar[tuple[str, ...]] = ("measurement_date",)

    patient_id: StudyId = Field(description="Pseudonymous study id of the patient")
    measurement_date: dt.date = Field(description="Date weight and height were measured")
    weight_kg: Annotated[float, Field(gt=0, le=300)] = Field(description="Weight, kg")
    height_cm: Annotated[float, Field(ge=30, le=250)] | None = Field(None, description="Height, cm")
    height_cm_missing: MissingCode | None = code_of("height_cm", UNKNOWN, NOT_DONE)


class TreatmentLine(Record):
    record_type: ClassVar[str] = "treatment_line"
    key: ClassVar[tuple[str, ...]] = ("patient_id", "line_number")
    title: ClassVar[str] = "Treatment line after diagnosis (blinatumomab, inotuzumab, chemotherapy, ...)"
    event_dates: ClassVar[tuple[str, ...]] = ("start_date", "end_date")

    patient_id: StudyId = Field(description="Pseudonymous study id of the patient")
    line_number: Ordinal = Field(description="Order of the line in the patient's course")
    treatment_type: TreatmentType = Field(description="Kind of treatment")
    intent: TreatmentIntent = Field(description="Why it was given (indication group for blinatumomab)")
    start_date: dt.date = Field(description="First day of the line")
    start_date_precision: DatePrecision | None = precision_of("start_date")
    end_date: dt.date | None = Field(
        None, description="Last day of the line (empty while ongoing; `unknown` when it ended on an unknown day)"
    )
    end_date_precision: DatePrecision | None = precision_of("end_date")
    end_date_missing: MissingCode | None = code_of("end_date", UNKNOWN)
    regimen: ShortText | None = Field(None, description="Protocol or regimen name")
    regimen_missing: MissingCode | None = code_of("regimen", UNKNOWN)
    intolerance_reason: ChemotherapyIntoleranceReason | None = Field(
        None, description="Why chemotherapy was not tolerated (organ_toxicity: hepatic, renal or cardiac)"
    )

    @model_validator(mode="after")
    def _order(self) -> "TreatmentLine":
        _check_interval(self, "start_date", "end_date")
        return self


class BlinatumomabCycle(Record):
    record_type: ClassVar[str] = "blinatumomab_cycle"
    key: ClassVar[tuple[str, ...]] = ("patient_id", "cycle_number")
    title: ClassVar[str] = "Blinatumomab cycle"
    event_dates: ClassVar[tuple[str, ...]] = ("start_date", "end_date")

    patient_id: StudyId = Field(description="Pseudonymous study id of the patient")
    cycle_number: Ordinal = Field(description="Cycle number across the patient's blinatumomab course")
    line_number: Ordinal | None = Field(None, description="Treatment line this cycle belongs to")
    phase: CyclePhase = Field(description="Treatment phase of the cycle")
    indication: DosingIndication = Field(description="Label indication deciding the schedule")
    start_date: dt.date = Field(description="First infusion day")
    end_date: dt.date = Field(description="Last infusion day")
    early_stop_reason: EarlyStopReason | None = Field(None, description="Set when stopped before plan")
    early_stop_reason_missing: MissingCode | None = code_of("early_stop_reason", UNKNOWN)

    @model_validator(mode="after")
    def _order(self) -> "BlinatumomabCycle":
        _check_interval(self, "start_date", "end_date")
        return self


class DoseSegment(Record):
    record_type: ClassVar[str] = "dose_segment"
    key: ClassVar[tuple[str, ...]] = ("patient_id", "cycle_number", "kind", "start_date")
    title: ClassVar[str] = "Planned or delivered daily dose over a date range (both ends included)"
    event_dates: ClassVar[tuple[str, ...]] = ("start_date", "end_date")

    patient_id: StudyId = Field(description="Pseudonymous study id of the patient")
    cycle_number: Ordinal = Field(description="Blinatumomab cycle the doses belong to")
    kind: DoseSegmentKind = Field(description="planned (prescribed) or delivered (infused)")
    start_date: dt.date = Field(description="First day at this daily dose")
    end_date: dt.date = Field(description="Last day at this daily dose (included)")
    dose: Annotated[float, Field(gt=0, le=1000)] = Field(description="Daily dose in `unit`")
    unit: DoseUnit = Field(description="mcg/day (>= 45 kg) or mcg/m2/day (< 45 kg)")

    @model_validator(mode="after")
    def _order(self) -> "DoseSegment":
        _check_interval(self, "start_date", "end_date")
        return self


class Interruption(Record):
    record_type: ClassVar[str] = "interruption"
    key: ClassVar[tuple[str, ...]] = ("patient_id", "cycle_number", "start_date")
    title: ClassVar[str] = "Infusion interruption"
    event_dates: ClassVar[tuple[str, ...]] = ("start_date", "end_date")

    patient_id: StudyId = Field(description="Pseudonymous study id of the patient")
    cycle_number: Ordinal = Field(description="Blinatumomab cycle that was interrupted")
    start_date: dt.date = Field(description="First day without infusion")
    end_date: dt.date = Field(description="Day the infusion restarted")
    reason: InterruptionReason = Field(description="Why the infusion was interrupted")

    @model_validator(mode="after")
    def _order(self) -> "Interruption":
        _check_interval(self, "start_date", "end_date")
        return self


class MrdAssessment(Record):
    record_type: ClassVar[str] = "mrd_assessment"
    key: ClassVar[tuple[str, ...]] = ("patient_id", "assessment_date", "method", "sample")
    title: ClassVar[str] = "MRD measurement (one row per method and sample)"
    event_dates: ClassVar[tuple[str, ...]] = ("assessment_date",)

    patient_id: StudyId = Field(description="Pseudonymous study id of the patient")
    assessment_date: dt.date = Field(description="Date the sample was taken")
    sample: MrdSample = Field(description="BM (bone marrow) or PB (peripheral blood)")
    method: MrdMethod = Field(description="Assay; each method is kept separately, never merged")
    target: ShortText | None = Field(None, description="Marker, e.g. BCR::ABL1 or an IGH rearrangement")
    target_missing: MissingCode | None = code_of("target", UNKNOWN)
    detected: bool = Field(description="False when the assay found no residual disease")
    fraction: Fraction | None = Field(
        None,
        description="Leukemic cells as a fraction (0.0001 = 0.01%); "
        "`positive_not_quantifiable` when detected below the "
        "quantification limit",
    )
    fraction_missing: MissingCode | None = code_of("fraction", MissingCode.POSITIVE_NOT_QUANTIFIABLE, UNKNOWN)
    sensitivity: Annotated[float, Field(gt=0, le=0.1)] | None = Field(
        None, description="Assay sensitivity as a fraction; required when not detected (or `unknown`)"
    )
    sensitivity_missing: MissingCode | None = code_of("sensitivity", UNKNOWN)

    @model_validator(mode="after")
    def _result_consistent(self) -> "MrdAssessment":
        if self.detected and self.fraction is None and self.fraction_missing is None:
            raise ValueError("detected MRD needs a fraction (or positive_not_quantifiable, or unknown)")
        if self.detected and self.fraction == 0:
            raise ValueError("detected MRD cannot have fraction 0")
        if not self.detected:
            if self.fraction not in (None, 0) or self.fraction_missing is not None:
                shown = self.fraction if self.fraction_missing is None else self.fraction_missing.value
                raise ValueError(f"not-detected MRD has fraction {shown}; leave it empty or 0")
            if self.sensitivity is None and self.sensitivity_missing is None:
                raise ValueError("not-detected MRD needs the assay sensitivity (or unknown)")
        return self


class ResponseAssessment(Record):
    record_type: ClassVar[str] = "response_assessment"
    key: ClassVar[tuple[str, ...]] = ("patient_id", "assessment_date")
    title: ClassVar[str] = "Hematological response assessment"
    event_dates: ClassVar[tuple[str, ...]] = ("assessment_date",)

    patient_id: StudyId = Field(description="Pseudonymous study id of the patient")
    assessment_date: dt.date = Field(description="Date of the marrow assessment")
    category: ResponseCategory = Field(description="Hematological response (CR: <= 5% blasts with count recovery)")
    cycle_number: Ordinal | None = Field(None, description="Blinatumomab cycle this assessment concludes")
    marrow_blasts_pct: Percent | None = Field(None, description="Bone marrow blasts, %")
    marrow_blasts_pct_missing: MissingCode | None = code_of("marrow_blasts_pct", UNKNOWN, NOT_DONE)


class AdverseEvent(Record):
    record_type: ClassVar[str] = "adverse_event"
    key: ClassVar[tuple[str, ...]] = ("patient_id", "event_number")
    title: ClassVar[str] = "Adverse event, with the parameters its grade is computed from"
    event_dates: ClassVar[tuple[str, ...]] = ("onset_date", "resolution_date")

    patient_id: StudyId = Field(description="Pseudonymous study id of the patient")
    event_number: Annotated[int, Field(ge=1, le=9999)] = Field(
        description="Sequence number of the event for the patient"
    )
    term: AdverseEventCategory = Field(description="Adverse event category")
    description: ShortText | None = Field(None, description="Verbatim term, e.g. 'fungal pneumonia'")
    grading_system: GradingSystem = Field(description="astct (CRS, ICANS) or ctcae_v5")
    grade: Annotated[int, Field(ge=1, le=5)] = Field(description="Recorded grade")
    onset_date: dt.date | None = required_or_code("First day of the event")
    onset_date_precision: DatePrecision | None = precision_of("onset_date")
    onset_date_missing: MissingCode | None = code_of("onset_date", UNKNOWN)
    resolution_date: dt.date | None = Field(None, description="Day the event resolved (empty if ongoing)")
    resolution_date_precision: DatePrecision | None = precision_of("resolution_date")
    resolution_date_missing: MissingCode | None = code_of("resolution_date", UNKNOWN)
    cycle_number: Ordinal | None = Field(None, description="Blinatumomab cycle during which it began")
    serious: bool = Field(False, description="Serious adverse event (regulatory definition)")
    action_taken: AdverseEventAction = Field(AdverseEventAction.NONE, description="Action on blinatumomab")
    # Grading parameters (optional): when present, blinareg computes the grade and flags disagreement.
    temperature_c: Annotated[float, Field(ge=25, le=45)] | None = Field(None, description="Max temperature, C")
    temperature_c_missing: MissingCode | None = code_of("temperature_c", UNKNOWN, NOT_DONE)
    vasopressors: Annotated[int, Field(ge=0, le=5)] | None = Field(
        None, description="Vasopressors, vasopressin excluded"
    )
    vasopressors_missing: MissingCode | None = code_of("vasopressors", UNKNOWN, NOT_DONE)
    vasopressin: bool | None = Field(None, description="Vasopressin given (ASTCT CRS)")
    vasopressin_missing: MissingCode | None = code_of("vasopressin", UNKNOWN, NOT_DONE)
    hypotension: bool | None = Field(None, description="Hypotension (ASTCT CRS grade 2 without vasopressors)")
    hypotension_missing: MissingCode | None = code_of("hypotension", UNKNOWN, NOT_DONE)
    oxygen: OxygenSupport | None = Field(None, description="Highest oxygen support (ASTCT CRS; low_flow is <= 6 L/min)")
    oxygen_missing: MissingCode | None = code_of("oxygen", UNKNOWN, NOT_DONE)
    ice_score: Annotated[int, Field(ge=0, le=10)] | None = Field(None, description="Worst ICE score (0-10)")
    ice_score_missing: MissingCode | None = code_of("ice_score", UNKNOWN, NOT_DONE)
    capd_score: Annotated[int, Field(ge=0, le=32)] | None = Field(None, description="Worst CAPD score (0-32)")
    capd_score_missing: MissingCode | None = code_of("capd_score", UNKNOWN, NOT_DONE)
    consciousness: Consciousness | None = Field(None, description="Worst level of consciousness (ASTCT ICANS)")
    consciousness_missing: MissingCode | None = code_of("consciousness", UNKNOWN, NOT_DONE)
    seizure: IcansSeizure | None = Field(None, description="Seizure (ASTCT ICANS)")
    seizure_missing: MissingCode | None = code_of("seizure", UNKNOWN, NOT_DONE)
    motor: IcansMotor | None = Field(None, description="Motor findings (ASTCT ICANS)")
    motor_missing: MissingCode | None = code_of("motor", UNKNOWN, NOT_DONE)
    cerebral_edema: CerebralEdema | None = Field(
        None, description="Raised intracranial pressure / cerebral edema (ASTCT ICANS)"
    )
    cerebral_edema_missing: MissingCode | None = code_of("cerebral_edema", UNKNOWN, NOT_DONE)
    disagreement_reason: ShortText | None = Field(
        None, description="Why the recorded grade differs from the grade computed from the parameters"
    )

    @model_validator(mode="after")
    def _consistent(self) -> "AdverseEvent":
        _check_interval(self, "onset_date", "resolution_date")
        if self.grading_system is GradingSystem.ASTCT and self.term not in (
            AdverseEventCategory.CRS,
            AdverseEventCategory.ICANS,
        ):
            raise ValueError(f"ASTCT grades only crs and icans, not {self.term.value}")
        return self


class Hsct(Record):
    record_type: ClassVar[str] = "hsct"
    key: ClassVar[tuple[str, ...]] = ("patient_id", "hsct_number")
    title: ClassVar[str] = "Hematopoietic stem cell transplantation"
    event_dates: ClassVar[tuple[str, ...]] = ("hsct_date",)

    patient_id: StudyId = Field(description="Pseudonymous study id of the patient")
    hsct_number: Ordinal = Field(description="1 for the first transplant, ...")
    hsct_date: dt.date = Field(description="Day 0 (infusion)")
    hsct_date_precision: DatePrecision | None = precision_of("hsct_date")
    donor_type: DonorType | None = required_or_code("Donor type")
    donor_type_missing: MissingCode | None = code_of("donor_type", UNKNOWN)
    conditioning: Conditioning | None = required_or_code("Conditioning regimen class")
    conditioning_missing: MissingCode | None = code_of("conditioning", UNKNOWN)
    remission_status: RemissionStatus | None = required_or_code("Disease status at transplant")
    remission_status_missing: MissingCode | None = code_of("remission_status", UNKNOWN)
    inotuzumab_before: bool = Field(False, description="Inotuzumab in the treatment of the relapse before HSCT")
    acute_gvhd_max_grade: Annotated[int, Field(ge=0, le=4)] | None = Field(
        None, description="Maximum acute GVHD grade 0-IV"
    )
    acute_gvhd_max_grade_missing: MissingCode | None = code_of("acute_gvhd_max_grade", UNKNOWN)
    chronic_gvhd: ChronicGvhdSeverity | None = Field(None, description="Maximum chronic GVHD severity (NIH)")
    chronic_gvhd_missing: MissingCode | None = code_of("chronic_gvhd", UNKNOWN)


class FollowUp(Record):
    record_type: ClassVar[str] = "follow_up"
    key: ClassVar[tuple[str, ...]] = ("patient_id",)
    title: ClassVar[str] = "Last follow-up"
    event_dates: ClassVar[tuple[str, ...]] = ()

    patient_id: StudyId = Field(description="Pseudonymous study id of the patient")
    last_contact_date: dt.date = Field(description="Date the patient was last known alive (the death date if dead)")
    vital_status: VitalStatus = Field(description="Vital status at last contact")


class Death(Record):
    record_type: ClassVar[str] = "death"
    key: ClassVar[tuple[str, ...]] = ("patient_id",)
    title: ClassVar[str] = "Death"
    event_dates: ClassVar[tuple[str, ...]] = ()

    patient_id: StudyId = Field(description="Pseudonymous study id of the patient")
    death_date: dt.date = Field(description="Date of death")
    death_date_precision: DatePrecision | None = precision_of("death_date")
    cause: DeathCause | None = required_or_code("Primary cause of death")
    cause_missing: MissingCode | None = code_of("cause", UNKNOWN)


# Import order: a record may refer only to record types listed before it.
RECORD_MODELS: tuple[type[Record], ...] = (
    Center,
    Patient,
    Diagnosis,
    GeneticFinding,
    Relapse,
    BodyMeasurement,
    TreatmentLine,
    BlinatumomabCycle,
    DoseSegment,
    Interruption,
    MrdAssessment,
    ResponseAssessment,
    AdverseEvent,
    Hsct,
    FollowUp,
    Death,
)
RECORD_TYPES: dict[str, type[Record]] = {model.record_type: model for model in RECORD_MODELS}
