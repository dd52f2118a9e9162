"""A small, fully consistent registry built by hand, for record-level tests."""

from __future__ import annotations

import datetime as dt

from blinareg.records.models import (
    BlinatumomabCycle,
    BodyMeasurement,
    Center,
    Death,
    Diagnosis,
    DoseSegment,
    FollowUp,
    GeneticFinding,
    Hsct,
    MrdAssessment,
    Patient,
    Relapse,
    ResponseAssessment,
    TreatmentLine,
)
from blinareg.records.registry import Registry

D = dt.date


def consistent_records() -> list:
    """Two patients: P1 relapsed, treated, transplanted in CR2, alive; P2 MRD-positive in CR1, died."""
    return [
        Center(center_id="C1", name="Synthetic Center 1", country="DE", synthetic=True),
        Patient(patient_id="P1", center_id="C1", sex="male", birth_date=D(2010, 3, 1)),
        Diagnosis(
            patient_id="P1",
            diagnosis_date=D(2015, 1, 10),
            immunophenotype="B-II",
            frontline_start_date=D(2015, 1, 12),
            frontline_end_date=D(2017, 1, 10),
        ),
        GeneticFinding(patient_id="P1", lesion="ETV6::RUNX1"),
        Relapse(
            patient_id="P1",
            relapse_number=1,
            relapse_date=D(2018, 5, 2),
            site_bone_marrow=True,
            site_cns=True,
            marrow_blasts_pct=60,
        ),
        BodyMeasurement(patient_id="P1", measurement_date=D(2018, 6, 1), weight_kg=30, height_cm=130),
        TreatmentLine(
            patient_id="P1",
            line_number=1,
            treatment_type="blinatumomab",
            intent="relapsed_refractory",
            start_date=D(2018, 6, 1),
            end_date=D(2018, 6, 28),
        ),
        BlinatumomabCycle(
            patient_id="P1",
            cycle_number=1,
            line_number=1,
            phase="induction",
            indication="relapsed_refractory",
            start_date=D(2018, 6, 1),
            end_date=D(2018, 6, 28),
        ),
        DoseSegment(
            patient_id="P1",
            cycle_number=1,
            kind="delivered",
            start_date=D(2018, 6, 1),
            end_date=D(2018, 6, 7),
            dose=5,
            unit="mcg/m2/day",
        ),
        DoseSegment(
            patient_id="P1",
            cycle_number=1,
            kind="delivered",
            start_date=D(2018, 6, 8),
            end_date=D(2018, 6, 28),
            dose=15,
            unit="mcg/m2/day",
        ),
        MrdAssessment(
            patient_id="P1",
            assessment_date=D(2018, 6, 29),
            sample="BM",
            method="flow",
            detected=False,
            sensitivity=1e-4,
        ),
        ResponseAssessment(
            patient_id="P1", assessment_date=D(2018, 6, 29), category="cr", cycle_number=1, marrow_blasts_pct=1
        ),
        Hsct(
            patient_id="P1",
            hsct_number=1,
            hsct_date=D(2018, 8, 15),
            donor_type="haploidentical",
            conditioning="tbi_based",
            remission_status="CR2",
            acute_gvhd_max_grade=1,
            chronic_gvhd="none",
        ),
        FollowUp(patient_id="P1", last_contact_date=D(2021, 1, 5), vital_status="alive"),
        Patient(patient_id="P2", center_id="C1", sex="female", birth_date=D(2005, 7, 20)),
        Diagnosis(patient_id="P2", diagnosis_date=D(2020, 2, 1)),
        TreatmentLine(
            patient_id="P2",
            line_number=1,
            treatment_type="blinatumomab",
            intent="mrd_clearance",
            start_date=D(2020, 5, 1),
            end_date=D(2020, 5, 28),
        ),
        BlinatumomabCycle(
            patient_id="P2",
            cycle_number=1,
            line_number=1,
            phase="induction",
            indication="mrd_positive",
            start_date=D(2020, 5, 1),
            end_date=D(2020, 5, 28),
        ),
        Death(patient_id="P2", death_date=D(2021, 3, 3), cause="infection"),
        FollowUp(patient_id="P2", last_contact_date=D(2021, 3, 3), vital_status="dead"),
    ]


def consistent_registry() -> Registry:
    return Registry.from_records(consistent_records())


def incomplete_records() -> list:
    """The consistent registry as a retrospective chart gives it: codes and partial dates where unknown.

    P1: transplant elsewhere (conditioning unknown, day 0 known to the month: 2018-08), an AE whose onset
    day is unknown, front-line end known to the month, a flow MRD with unknown sensitivity (not detected);
    P2: died in 2021 (day and month unknown, cause unknown), a PCR MRD positive but not quantifiable.
    """
    from blinareg.records.models import AdverseEvent  # noqa: PLC0415  (only here)

    records = []
    for record in consistent_records():
        if isinstance(record, Hsct):
            record = record.model_copy(
                update={
                    "conditioning": None,
                    "conditioning_missing": "unknown",
                    "hsct_date": D(2018, 8, 1),
                    "hsct_date_precision": "month",
                }
            )
            record = Hsct.model_validate(dict(record))
        elif isinstance(record, Diagnosis) and record.patient_id == "P1":
            record = Diagnosis.model_validate(
                {
                    **dict(record),
                    "frontline_end_date": D(2017, 1, 1),
                    "frontline_end_date_precision": "month",
                    "cns_status_missing": "not_done",
                }
            )
        elif isinstance(record, Death):
            record = Death.model_validate(
                {
                    **dict(record),
                    "death_date": D(2021, 1, 1),
                    "death_date_precision": "year",
                    "cause": None,
                    "cause_missing": "unknown",
                }
            )
        elif isinstance(record, MrdAssessment):
            record = MrdAssessment.model_validate(
                {**dict(record), "sensitivity": None, "sensitivity_missing": "unknown"}
            )
        records.append(record)
    records += [
        AdverseEvent(
            patient_id="P1",
            event_number=1,
            term="infection",
            grading_system="ctcae_v5",
            grade=3,
            onset_date=None,
            onset_date_missing="unknown",
            description="pneumonia",
        ),
        MrdAssessment(
            patient_id="P2",
            assessment_date=D(2020, 4, 28),
            sample="BM",
            method="rt_qpcr_fusion",
            target="BCR::ABL1",
            detected=True,
            fraction_missing="positive_not_quantifiable",
            sensitivity=1e-5,
        ),
    ]
    return records


def incomplete_registry() -> Registry:
    return Registry.from_records(incomplete_records())
