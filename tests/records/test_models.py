"""Field checks of the record models: ranges, enumerations, units and per-record consistency."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError

from blinareg.records.models import (
    RECORD_MODELS,
    AdverseEvent,
    Diagnosis,
    GeneticFinding,
    MrdAssessment,
    Patient,
    Relapse,
    Record,
)


def _error_fields(error: ValidationError) -> set[str]:
    return {str(item["loc"][0]) for item in error.errors() if item["loc"]}


@pytest.mark.parametrize("study_id", ["P1", "SYN-000001", "c.1_a"])
def test_study_ids_accepted(study_id):
    assert (
        Patient(patient_id=study_id, center_id="C1", sex="female", birth_date=dt.date(2010, 1, 1)).patient_id
        == study_id
    )


@pytest.mark.parametrize("study_id", ["", "Jane Doe", "jane@example.org", "-x", "A" * 41])
def test_identifying_or_malformed_ids_refused(study_id):
    with pytest.raises(ValidationError) as info:
        Patient(patient_id=study_id, center_id="C1", sex="female", birth_date=dt.date(2010, 1, 1))
    assert "patient_id" in _error_fields(info.value)


def test_unknown_field_refused():
    with pytest.raises(ValidationError) as info:
        Patient(patient_id="P1", center_id="C1", sex="female", birth_date=dt.date(2010, 1, 1), name="Jane")
    assert "name" in _error_fields(info.value)


def test_enumeration_lists_legal_values():
    with pytest.raises(ValidationError) as info:
        Patient(patient_id="P1", center_id="C1", sex="f", birth_date=dt.date(2010, 1, 1))
    assert "'female'" in str(info.value)


@pytest.mark.parametrize("fraction, ok", [(0.0001, True), (1.0, True), (1.0001, False), (-0.1, False)])
def test_mrd_fraction_range(fraction, ok):
    kwargs = dict(
        patient_id="P1",
        assessment_date=dt.date(2020, 1, 1),
        sample="BM",
        method="flow",
        detected=True,
        fraction=fraction,
    )
    if ok:
        assert MrdAssessment(**kwargs).fraction == fraction
    else:
        with pytest.raises(ValidationError):
            MrdAssessment(**kwargs)


def test_not_detected_mrd_needs_sensitivity():
    with pytest.raises(ValidationError, match="sensitivity"):
        MrdAssessment(patient_id="P1", assessment_date=dt.date(2020, 1, 1), sample="BM", method="flow", detected=False)


def test_detected_mrd_needs_fraction():
    with pytest.raises(ValidationError, match="fraction"):
        MrdAssessment(patient_id="P1", assessment_date=dt.date(2020, 1, 1), sample="BM", method="flow", detected=True)


def test_frontline_end_before_start_refused():
    with pytest.raises(ValidationError, match="frontline_end_date"):
        Diagnosis(
            patient_id="P1",
            diagnosis_date=dt.date(2015, 1, 1),
            frontline_start_date=dt.date(2015, 2, 1),
            frontline_end_date=dt.date(2015, 1, 15),
        )


def test_relapse_needs_a_site_and_marrow_involvement_needs_blasts():
    with pytest.raises(ValidationError, match="at least one site"):
        Relapse(patient_id="P1", relapse_number=1, relapse_date=dt.date(2018, 1, 1), site_bone_marrow=False)
    with pytest.raises(ValidationError, match="marrow_blasts_pct"):
        Relapse(
            patient_id="P1",
            relapse_number=1,
            relapse_date=dt.date(2018, 1, 1),
            site_bone_marrow=True,
            marrow_blasts_pct=4.9,
        )


@pytest.mark.parametrize("grade, ok", [(1, True), (5, True), (0, False), (6, False)])
def test_grade_range(grade, ok):
    kwargs = dict(
        patient_id="P1", event_number=1, term="crs", grading_system="astct", grade=grade, onset_date=dt.date(2020, 1, 1)
    )
    if ok:
        assert AdverseEvent(**kwargs).grade == grade
    else:
        with pytest.raises(ValidationError):
            AdverseEvent(**kwargs)


def test_astct_grades_only_crs_and_icans():
    with pytest.raises(ValidationError, match="ASTCT grades only"):
        AdverseEvent(
            patient_id="P1",
            event_number=1,
            term="infection",
            grading_system="astct",
            grade=2,
            onset_date=dt.date(2020, 1, 1),
        )


@pytest.mark.parametrize("temperature", [24.9, 45.1])
def test_impossible_temperature_refused(temperature):
    with pytest.raises(ValidationError) as info:
        AdverseEvent(
            patient_id="P1",
            event_number=1,
            term="crs",
            grading_system="astct",
            grade=1,
            onset_date=dt.date(2020, 1, 1),
            temperature_c=temperature,
        )
    assert "temperature_c" in _error_fields(info.value)


def test_other_genetic_lesion_needs_detail():
    with pytest.raises(ValidationError, match="detail"):
        GeneticFinding(patient_id="P1", lesion="other")


def test_every_model_declares_key_and_type():
    names = set()
    for model in RECORD_MODELS:
        assert issubclass(model, Record)
        assert model.record_type not in names
        names.add(model.record_type)
        assert set(model.key) <= set(model.model_fields), model.record_type
        assert set(model.event_dates) <= set(model.model_fields), model.record_type
        if model.record_type != "center":
            assert model.key[0] == "patient_id"
