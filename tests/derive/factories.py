"""Small hand-built registries for derive tests: short helpers that build valid records."""

from __future__ import annotations

import datetime as dt

from blinareg.records.models import (
    AdverseEvent,
    BlinatumomabCycle,
    BodyMeasurement,
    Center,
    Death,
    Diagnosis,
    DoseSegment,
    FollowUp,
    GeneticFinding,
    Hsct,
    Interruption,
    MrdAssessment,
    Patient,
    Relapse,
    ResponseAssessment,
    TreatmentLine,
)
from blinareg.records.registry import Registry

D = dt.date


def person(
    pid: str,
    *,
    birth=D(2008, 1, 1),
    dx=D(2014, 1, 1),
    frontline_end=D(2016, 6, 1),
    last_contact=D(2022, 1, 1),
    death=None,
    cause="relapse_progression",
    sex="male",
    weight=50.0,
    height=160.0,
    weighed=None,
):
    records = [
        Patient(patient_id=pid, center_id="C1", sex=sex, birth_date=birth),
        Diagnosis(patient_id=pid, diagnosis_date=dx, immunophenotype="B-II", frontline_end_date=frontline_end),
        FollowUp(patient_id=pid, last_contact_date=death or last_contact, vital_status="dead" if death else "alive"),
    ]
    if death:
        records.append(Death(patient_id=pid, death_date=death, cause=cause))
    if weight is not None:
        records.append(
            BodyMeasurement(patient_id=pid, measurement_date=weighed or dx, weight_kg=weight, height_cm=height)
        )
    return records


def relapse(pid, number, date, *, bm=True, cns=False, testis=False, other=False, blasts=60.0):
    return Relapse(
        patient_id=pid,
        relapse_number=number,
        relapse_date=date,
        site_bone_marrow=bm,
        site_cns=cns,
        site_testis=testis,
        site_other_extramedullary=other,
        marrow_blasts_pct=blasts,
    )


def course(
    pid,
    start,
    *,
    cycles=1,
    intent="relapsed_refractory",
    indication="relapsed_refractory",
    gap=14,
    line=1,
    early_stop=None,
):
    """A blinatumomab line with `cycles` back-to-back 28-day cycles separated by `gap` free days."""
    records, first = [], start
    for number in range(1, cycles + 1):
        end = start + dt.timedelta(days=27)
        records.append(
            BlinatumomabCycle(
                patient_id=pid,
                cycle_number=number,
                line_number=line,
                phase="induction" if number <= 2 else "consolidation",
                indication=indication,
                start_date=start,
                end_date=end,
                early_stop_reason=early_stop if number == cycles else None,
            )
        )
        last_end = end
        start = end + dt.timedelta(days=gap + 1)
    records.insert(
        0,
        TreatmentLine(
            patient_id=pid,
            line_number=line,
            treatment_type="blinatumomab",
            intent=intent,
            start_date=first,
            end_date=last_end,
        ),
    )
    return records


def delivered(pid, cycle, start, end, dose, unit="mcg/day"):
    return DoseSegment(
        patient_id=pid, cycle_number=cycle, kind="delivered", start_date=start, end_date=end, dose=dose, unit=unit
    )


def interruption(pid, cycle, start, end, reason="crs"):
    return Interruption(patient_id=pid, cycle_number=cycle, start_date=start, end_date=end, reason=reason)


def mrd(pid, date, method="flow", *, fraction=None, sensitivity=1e-4, sample="BM"):
    return MrdAssessment(
        patient_id=pid,
        assessment_date=date,
        sample=sample,
        method=method,
        detected=fraction is not None,
        fraction=fraction,
        sensitivity=sensitivity,
    )


def response(pid, date, category, cycle=None):
    return ResponseAssessment(patient_id=pid, assessment_date=date, category=category, cycle_number=cycle)


def adverse(pid, number, term, grade, onset, *, system=None, cycle=None, **params):
    system = system or ("astct" if term in ("crs", "icans") else "ctcae_v5")
    return AdverseEvent(
        patient_id=pid,
        event_number=number,
        term=term,
        grading_system=system,
        grade=grade,
        onset_date=onset,
        cycle_number=cycle,
        **params,
    )


def hsct(pid, date, *, status="CR2", acute=0, chronic="none", inotuzumab=False, number=1):
    return Hsct(
        patient_id=pid,
        hsct_number=number,
        hsct_date=date,
        donor_type="mud",
        conditioning="tbi_based",
        remission_status=status,
        acute_gvhd_max_grade=acute,
        chronic_gvhd=chronic,
        inotuzumab_before=inotuzumab,
    )


def genetic(pid, lesion):
    return GeneticFinding(patient_id=pid, lesion=lesion, detail="x" if lesion == "other" else None)


def build(*groups) -> Registry:
    records = [Center(center_id="C1", name="Synthetic Center", synthetic=True)]
    for group in groups:
        records.extend(group if isinstance(group, list) else [group])
    return Registry.from_records(records)
