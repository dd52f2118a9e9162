"""Cross-record checks: each one fires on the inconsistency it names, and a consistent registry is clean."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from blinareg.records.models import (
    BlinatumomabCycle,
    Death,
    DoseSegment,
    FollowUp,
    Hsct,
    Interruption,
    Patient,
    Relapse,
)
from blinareg.records.problems import Severity
from blinareg.records.registry import Registry
from blinareg.records.validation import CHECKS, validate
from tests.records.factories import consistent_records

D = dt.date


def _replace(records, predicate, new):
    return [new if predicate(r) else r for r in records]


def _errors(records):
    return [p for p in validate(Registry.from_records(records)) if p.severity is Severity.ERROR]


def test_consistent_registry_has_no_errors():
    assert _errors(consistent_records()) == []


def test_all_problems_reported_not_only_the_first():
    records = consistent_records() + [
        Patient(patient_id="P3", center_id="NOPE", sex="male", birth_date=D(2000, 1, 1)),
    ]
    problems = _errors(records)
    reasons = {p.reason for p in problems if p.patient_id == "P3"}
    assert "no center with this center_id" in reasons
    assert "patient has no diagnosis record" in reasons
    assert "patient has no follow_up record" in reasons


def test_relapse_before_diagnosis():
    records = _replace(
        consistent_records(),
        lambda r: isinstance(r, Relapse),
        Relapse(
            patient_id="P1", relapse_number=1, relapse_date=D(2014, 1, 1), site_bone_marrow=True, marrow_blasts_pct=50
        ),
    )
    [problem] = [p for p in _errors(records) if p.record_type == "relapse"]
    assert (problem.patient_id, problem.field, problem.value) == ("P1", "relapse_date", "2014-01-01")
    assert "diagnosis date (2015-01-10)" in problem.reason
    assert problem.key == "relapse_number=1"


def test_nothing_after_death():
    records = consistent_records() + [
        BlinatumomabCycle(
            patient_id="P2",
            cycle_number=2,
            phase="consolidation",
            indication="mrd_positive",
            start_date=D(2021, 3, 1),
            end_date=D(2021, 3, 28),
        ),
    ]
    problems = [p for p in _errors(records) if p.record_type == "blinatumomab_cycle" and "death" in p.reason]
    assert [p.field for p in problems] == ["end_date"]


def test_last_contact_must_cover_every_record():
    records = _replace(
        consistent_records(),
        lambda r: isinstance(r, FollowUp) and r.patient_id == "P1",
        FollowUp(patient_id="P1", last_contact_date=D(2018, 7, 1), vital_status="alive"),
    )
    fields = {(p.record_type, p.field) for p in _errors(records) if "last contact" in p.reason}
    assert ("hsct", "hsct_date") in fields


def test_vital_status_and_death_record_agree():
    records = _replace(consistent_records(), lambda r: isinstance(r, Death), None)
    records = [r for r in records if r is not None]
    assert any(p.field == "vital_status" and "no death record" in p.reason for p in _errors(records))
    records = _replace(
        consistent_records(),
        lambda r: isinstance(r, FollowUp) and r.patient_id == "P2",
        FollowUp(patient_id="P2", last_contact_date=D(2021, 3, 3), vital_status="alive"),
    )
    assert any("death is recorded" in p.reason for p in _errors(records))


@pytest.mark.parametrize("status, ok", [("CR2", True), ("CR1", False), ("CR3+", False), ("not_in_CR", True)])
def test_hsct_remission_status_against_relapses(status, ok):
    records = _replace(
        consistent_records(),
        lambda r: isinstance(r, Hsct),
        Hsct(
            patient_id="P1",
            hsct_number=1,
            hsct_date=D(2018, 8, 15),
            donor_type="mud",
            conditioning="tbi_based",
            remission_status=status,
        ),
    )
    problems = [p for p in _errors(records) if p.field == "remission_status"]
    assert (problems == []) is ok
    if not ok:
        assert "1 relapse(s)" in problems[0].reason


def test_references_to_missing_cycle_and_patient():
    records = consistent_records() + [
        Interruption(patient_id="P1", cycle_number=7, start_date=D(2018, 6, 10), end_date=D(2018, 6, 12), reason="crs"),
        Relapse(patient_id="GHOST", relapse_number=1, relapse_date=D(2019, 1, 1), site_bone_marrow=True),
    ]
    reasons = {(p.record_type, p.reason) for p in _errors(records)}
    assert ("interruption", "no blinatumomab cycle with this cycle_number for the patient") in reasons
    assert ("relapse", "no patient with this patient_id") in reasons


def test_duplicate_keys():
    records = consistent_records()
    records.append(records[1])  # P1 twice
    assert any(p.check == "unique_keys" and p.record_type == "patient" for p in _errors(records))


def test_cycle_order_overlap_and_segments_inside_cycle():
    records = consistent_records() + [
        BlinatumomabCycle(
            patient_id="P1",
            cycle_number=2,
            phase="consolidation",
            indication="relapsed_refractory",
            start_date=D(2018, 6, 20),
            end_date=D(2018, 7, 17),
        ),
        DoseSegment(
            patient_id="P1",
            cycle_number=1,
            kind="planned",
            start_date=D(2018, 5, 30),
            end_date=D(2018, 6, 28),
            dose=15,
            unit="mcg/m2/day",
        ),
    ]
    reasons = [p.reason for p in _errors(records)]
    assert "cycle starts before the previous cycle ended" in reasons
    assert any(r.startswith("lies outside its cycle") for r in reasons)


def test_relapse_numbers_in_date_order():
    records = consistent_records() + [
        Relapse(patient_id="P1", relapse_number=2, relapse_date=D(2016, 1, 1), site_bone_marrow=False, site_cns=True),
    ]
    assert any(p.field == "relapse_number" for p in _errors(records))


def test_tremor_grade_above_three():
    from blinareg.records.models import AdverseEvent

    records = consistent_records() + [
        AdverseEvent(
            patient_id="P1",
            event_number=1,
            term="tremor",
            grading_system="ctcae_v5",
            grade=4,
            onset_date=D(2018, 6, 3),
            cycle_number=1,
        ),
    ]
    assert any(p.check == "legal_grades" for p in _errors(records))


def test_checks_are_registered_once():
    names = [c.__name__ for c in CHECKS]
    assert len(names) == len(set(names))


def test_empty_registry_is_valid():
    assert validate(Registry()) == []
