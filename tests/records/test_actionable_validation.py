"""Validation a data manager can act on: folded problems, did-you-mean, plain values, new checks."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from blinareg.records import Registry, validate
from blinareg.records.models import Death, Diagnosis, Patient, Relapse
from blinareg.records.problems import Problem
from blinareg.records.registry import did_you_mean, parse_rows
from tests.records.factories import consistent_records, consistent_registry

D = dt.date


def _replace(records, kind, patient_id, **changes):
    return [
        type(r).model_validate({**dict(r), **changes}) if isinstance(r, kind) and r.patient_id == patient_id else r
        for r in records
    ]


def test_one_wrong_diagnosis_date_is_one_problem_with_its_consequences_folded():
    # P1's diagnosis typed as 2019-01-10 instead of 2015-01-10: 13 dated records of P1 lie before it
    # (relapse, body measurement, line start+end, cycle start+end, 2 segments x start+end, MRD, response, HSCT).
    tables = dict(consistent_registry().tables)
    diagnosis = tables["diagnosis"].copy()
    diagnosis.loc[diagnosis["patient_id"] == "P1", "diagnosis_date"] = pd.Timestamp("2019-01-10")
    tables["diagnosis"] = diagnosis
    problems = [p for p in validate(Registry(tables)) if p.check == "chronology"]
    assert len(problems) == 1
    problem = problems[0]
    assert (problem.record_type, problem.patient_id, problem.field, problem.value) == (
        "diagnosis",
        "P1",
        "diagnosis_date",
        "2019-01-10",
    )
    assert len(problem.consequences) == 13
    assert "relapse[P1, relapse_number=1].relapse_date = 2018-05-02" in problem.consequences[0]
    assert "\n    - hsct[P1, hsct_number=1].hsct_date = 2018-08-15" in str(problem)


def test_a_single_conflict_stays_on_its_record():
    records = _replace(consistent_records(), Relapse, "P1", relapse_date=D(2014, 12, 1))
    problems = [
        p for p in validate(Registry.from_records(records)) if p.check == "chronology" and p.record_type == "relapse"
    ]
    assert [(p.field, p.value) for p in problems] == [("relapse_date", "2014-12-01")]
    assert not problems[0].consequences


def test_did_you_mean_for_enumeration_values():
    assert did_you_mean("M", ["female", "male", "other", "unknown"]) == "male"
    assert did_you_mean("haplo", ["msd", "mud", "mmud", "haploidentical", "cord"]) == "haploidentical"
    assert did_you_mean("CR 2", ["CR1", "CR2", "CR3+", "not_in_CR"]) == "CR2"
    assert did_you_mean("xyz", ["CR1", "CR2"]) is None
    _, problems = parse_rows(Patient, [{"patient_id": "P1", "center_id": "C1", "sex": "F", "birth_date": "2001-01-01"}])
    assert problems[0].reason.endswith("did you mean 'female'?")


def test_no_python_reprs_in_messages():
    problem = Problem(record_type="death", field="death_date", value=pd.Timestamp("2021-04-29"), reason="x")
    assert str(problem) == "error: death.death_date = '2021-04-29': x"
    problem = Problem(record_type="death", field="death_date", value=dt.datetime(2021, 4, 29), reason="x")
    assert "datetime" not in str(problem) and problem.to_dict()["value"] == "2021-04-29"


def test_death_from_relapse_without_any_recorded_disease_is_flagged():
    # P2 (consistent registry) has no relapse, no refractory response and an mrd_clearance line.
    records = _replace(consistent_records(), Death, "P2", cause="relapse_progression")
    problems = [p for p in validate(Registry.from_records(records)) if p.check == "death_from_disease_has_disease"]
    assert [(p.patient_id, p.field, p.value) for p in problems] == [("P2", "cause", "relapse_progression")]
    # With a relapse recorded it is consistent.
    relapse = Relapse(patient_id="P2", relapse_number=1, relapse_date=D(2020, 9, 1), site_bone_marrow=True)
    assert not [
        p for p in validate(Registry.from_records([*records, relapse])) if p.check == "death_from_disease_has_disease"
    ]


def test_relapse_timing_not_derivable_is_said_once_per_patient_with_the_reason():
    # P1: diagnosis 2015-01-10, relapses 2018-05-02 (40 months later) and a second one: the end of front-line
    # therapy decides early vs late, and it is recorded as unknown.
    records = _replace(
        consistent_records(), Diagnosis, "P1", frontline_end_date=None, frontline_end_date_missing="unknown"
    )
    records.append(Relapse(patient_id="P1", relapse_number=2, relapse_date=D(2020, 5, 2), site_bone_marrow=True))
    problems = [p for p in validate(Registry.from_records(records)) if p.check == "relapse_timing_derivable"]
    assert len(problems) == 1
    assert (problems[0].patient_id, problems[0].field) == ("P1", "frontline_end_date")
    assert "recorded as unknown" in problems[0].reason
    # A relapse under 18 months from diagnosis is very early whatever the end of therapy: nothing to say.
    early = _replace(consistent_records(), Diagnosis, "P1", frontline_end_date=None)
    early = _replace(early, Relapse, "P1", relapse_date=D(2016, 7, 9))
    assert not [p for p in validate(Registry.from_records(early)) if p.check == "relapse_timing_derivable"]


def test_unit_suspect_values_name_both_readings():
    from blinareg.records.models import BodyMeasurement, MrdAssessment

    _, problems = parse_rows(
        BodyMeasurement, [{"patient_id": "P1", "measurement_date": "2018-06-01", "weight_kg": "30", "height_cm": "1.3"}]
    )
    assert problems[0].field == "height_cm" and problems[0].reason.endswith("1.3 looks like metres: 130 cm?")
    _, problems = parse_rows(
        BodyMeasurement, [{"patient_id": "P1", "measurement_date": "2018-06-01", "weight_kg": "30500"}]
    )
    assert problems[0].reason.endswith("30500 looks like grams: 30.5 kg?")
    # Center C1's flow values were entered as percentages (0.05 -> stored 0.0005 ...), one typed as a fraction:
    # 0.03 is 100 times above the others (0.0002 .. 0.0008); read as a percentage it is 0.0003, inside them.
    values = {1: 0.0005, 2: 0.0002, 3: 0.0008, 4: 0.03}
    mrd = [
        MrdAssessment(
            patient_id="P1", assessment_date=D(2018, 6, day), sample="BM", method="flow", detected=True, fraction=v
        )
        for day, v in values.items()
    ]
    problems = [
        p for p in validate(Registry.from_records([*consistent_records(), *mrd])) if p.check == "mrd_unit_suspect"
    ]
    assert [(p.key, p.value) for p in problems] == [("assessment_date=2018-06-04, method=flow, sample=BM", 0.03)]
    assert problems[0].reason == (
        "flow MRD 0.03 (3%) is 100 times off this center's other flow values (0.0002 to "
        "0.0008); if typed as a fraction where the center's values are percentages, it "
        "is 0.0003 (0.03%)"
    )


def test_a_date_before_birth_is_one_problem():
    records = _replace(consistent_records(), Diagnosis, "P1", diagnosis_date=D(1990, 1, 1))
    problems = [p for p in validate(Registry.from_records(records)) if "birth date" in p.reason]
    assert [(p.check, p.record_type, p.field, p.value) for p in problems] == [
        ("chronology", "diagnosis", "diagnosis_date", "1990-01-01")
    ]
    assert problems[0].reason == "diagnosis_date is before the patient's birth date (2010-03-01)"
