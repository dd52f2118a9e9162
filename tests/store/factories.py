"""Small hand-built registries for the store tests (valid unless a test breaks them on purpose)."""

from __future__ import annotations

import datetime as dt

from blinareg.records import models as m
from blinareg.records.registry import Registry


def patient_records(
    patient_id: str, center_id: str = "C1", *, offset_days: int = 0, dead: bool = False
) -> list[m.Record]:
    """One patient with a record of every type (dates shifted by `offset_days` to vary patients)."""

    def day(year: int, month: int, d: int) -> dt.date:
        return dt.date(year, month, d) + dt.timedelta(days=offset_days)

    last_contact = day(2023, 6, 1)
    records: list[m.Record] = [
        m.Patient(patient_id=patient_id, center_id=center_id, sex="female", birth_date=day(2010, 3, 4)),
        m.Diagnosis(
            patient_id=patient_id,
            diagnosis_date=day(2018, 1, 10),
            immunophenotype="B-II",
            cns_status="CNS1",
            wbc_per_nl=12.5,
            frontline_protocol="AIEOP-BFM ALL 2017",
            frontline_start_date=day(2018, 1, 12),
            frontline_end_date=day(2020, 1, 12),
        ),
        m.GeneticFinding(patient_id=patient_id, lesion="ETV6::RUNX1"),
        m.GeneticFinding(patient_id=patient_id, lesion="other", detail="IKZF1 deletion"),
        m.Relapse(
            patient_id=patient_id,
            relapse_number=1,
            relapse_date=day(2021, 5, 3),
            site_bone_marrow=True,
            site_cns=True,
            marrow_blasts_pct=45.0,
        ),
        m.BodyMeasurement(patient_id=patient_id, measurement_date=day(2021, 5, 20), weight_kg=31.5, height_cm=132.0),
        m.TreatmentLine(
            patient_id=patient_id,
            line_number=1,
            treatment_type="chemotherapy",
            intent="relapsed_refractory",
            start_date=day(2021, 5, 5),
            end_date=day(2021, 5, 19),
            regimen="IntReALL SR 2020",
        ),
        m.TreatmentLine(
            patient_id=patient_id,
            line_number=2,
            treatment_type="blinatumomab",
            intent="relapsed_refractory",
            start_date=day(2021, 5, 21),
            end_date=day(2021, 7, 1),
        ),
        m.BlinatumomabCycle(
            patient_id=patient_id,
            cycle_number=1,
            line_number=2,
            phase="induction",
            indication="relapsed_refractory",
            start_date=day(2021, 5, 21),
            end_date=day(2021, 6, 17),
        ),
        # Step-up: 7 infusion days at 5 mcg/m2/day, then 15; no infusion on the interruption day (2021-05-25).
        m.DoseSegment(
            patient_id=patient_id,
            cycle_number=1,
            kind="planned",
            start_date=day(2021, 5, 21),
            end_date=day(2021, 5, 27),
            dose=5.0,
            unit="mcg/m2/day",
        ),
        m.DoseSegment(
            patient_id=patient_id,
            cycle_number=1,
            kind="planned",
            start_date=day(2021, 5, 28),
            end_date=day(2021, 6, 17),
            dose=15.0,
            unit="mcg/m2/day",
        ),
        m.DoseSegment(
            patient_id=patient_id,
            cycle_number=1,
            kind="delivered",
            start_date=day(2021, 5, 21),
            end_date=day(2021, 5, 24),
            dose=5.0,
            unit="mcg/m2/day",
        ),
        m.DoseSegment(
            patient_id=patient_id,
            cycle_number=1,
            kind="delivered",
            start_date=day(2021, 5, 26),
            end_date=day(2021, 5, 28),
            dose=5.0,
            unit="mcg/m2/day",
        ),
        m.DoseSegment(
            patient_id=patient_id,
            cycle_number=1,
            kind="delivered",
            start_date=day(2021, 5, 29),
            end_date=day(2021, 6, 17),
            dose=15.0,
            unit="mcg/m2/day",
        ),
        m.Interruption(
            patient_id=patient_id,
            cycle_number=1,
            start_date=day(2021, 5, 25),
            end_date=day(2021, 5, 26),
            reason="technical",
        ),
        m.MrdAssessment(
            patient_id=patient_id,
            assessment_date=day(2021, 6, 18),
            sample="BM",
            method="flow",
            detected=False,
            sensitivity=0.0001,
        ),
        m.MrdAssessment(
            patient_id=patient_id,
            assessment_date=day(2021, 6, 18),
            sample="BM",
            method="ig_tcr_qpcr",
            target="IGH",
            detected=True,
            fraction=0.00005,
            sensitivity=0.00001,
        ),
        m.ResponseAssessment(
            patient_id=patient_id,
            assessment_date=day(2021, 6, 18),
            category="cr",
            cycle_number=1,
            marrow_blasts_pct=1.0,
        ),
        m.AdverseEvent(
            patient_id=patient_id,
            event_number=1,
            term="crs",
            grading_system="astct",
            grade=1,
            onset_date=day(2021, 5, 22),
            resolution_date=day(2021, 5, 23),
            cycle_number=1,
            temperature_c=38.6,
            vasopressors=0,
            oxygen="none",
        ),
        m.Hsct(
            patient_id=patient_id,
            hsct_number=1,
            hsct_date=day(2021, 8, 15),
            donor_type="mud",
            conditioning="tbi_based",
            remission_status="CR2",
            acute_gvhd_max_grade=1,
            chronic_gvhd="none",
        ),
    ]
    if dead:
        records.append(m.Death(patient_id=patient_id, death_date=last_contact, cause="infection"))
    records.append(
        m.FollowUp(patient_id=patient_id, last_contact_date=last_contact, vital_status="dead" if dead else "alive")
    )
    return records


def center(center_id: str = "C1", name: str = "University Hospital", **fields) -> m.Center:
    return m.Center(center_id=center_id, name=name, country=fields.pop("country", "DE"), **fields)


def registry_of(*patient_ids: str, centers: tuple[str, ...] = ("C1",), dead: tuple[str, ...] = ()) -> Registry:
    records: list[m.Record] = [center(c, f"Center {c}") for c in centers]
    for index, patient_id in enumerate(patient_ids):
        records += patient_records(
            patient_id, centers[index % len(centers)], offset_days=index * 3, dead=patient_id in dead
        )
    return Registry.from_records(records)
