"""Single-record edits and deletions: validated against the record's patient, audited in the same transaction."""

from __future__ import annotations

import datetime as dt

import pytest

from blinareg.errors import UserError, ValidationFailed
from blinareg.records import models as m
from tests.store.factories import center, registry_of


@pytest.fixture
def filled(store):
    store.import_registry(registry_of("P1", "P2"), source="seed")
    return store


def _relapse(store, patient_id="P1"):
    return store.load_registry([patient_id]).records("relapse")[0]


def test_edit_updates_one_record_and_audits_before_and_after(filled):
    old = _relapse(filled)
    new = old.model_copy(update={"marrow_blasts_pct": 80.0, "site_testis": True})
    assert filled.edit_record(new, actor="dm", source="form") == ()
    assert _relapse(filled) == new
    assert _relapse(filled, "P2").marrow_blasts_pct == 45.0
    entry = filled.audit_entries(action="edit")[-1]
    assert (entry.actor, entry.record_type, entry.patient_id, entry.source) == ("dm", "relapse", "P1", "form")
    assert entry.record_key == {"patient_id": "P1", "relapse_number": 1}
    assert entry.before["marrow_blasts_pct"] == 45.0 and entry.before["site_testis"] is False
    assert entry.after["marrow_blasts_pct"] == 80.0 and entry.after["relapse_date"] == old.relapse_date.isoformat()


def test_edit_inserts_a_new_record(filled):
    measurement = m.BodyMeasurement(patient_id="P1", measurement_date=dt.date(2021, 7, 1), weight_kg=32.0)
    filled.edit_record(measurement, actor="dm")
    assert filled.load_registry(["P1"]).counts()["body_measurement"] == 2
    entry = filled.audit_entries(record_type="body_measurement")[-1]
    assert entry.before is None and entry.after["weight_kg"] == 32.0
    assert entry.record_key == {"patient_id": "P1", "measurement_date": "2021-07-01"}


def test_an_edit_that_breaks_the_patient_is_refused_and_nothing_changes(filled):
    before = filled.load_registry()
    bad = _relapse(filled).model_copy(update={"relapse_date": dt.date(2030, 1, 1)})  # after last contact
    with pytest.raises(ValidationFailed) as caught:
        filled.edit_record(bad, actor="dm")
    found = {(p.patient_id, p.record_type, p.field, p.value) for p in caught.value.problems if p.severity == "error"}
    assert ("P1", "relapse", "relapse_date", "2030-01-01") in found
    assert filled.load_registry().counts() == before.counts()
    assert _relapse(filled).relapse_date == before.records("relapse")[0].relapse_date
    assert filled.audit_entries(action="edit") == []


def test_editing_a_center_and_moving_a_patient(filled):
    filled.edit_record(center("C2", "Second Center"), actor="admin")
    patient = filled.load_registry(["P2"]).records("patient")[0]
    filled.edit_record(patient.model_copy(update={"center_id": "C2"}), actor="admin")
    assert filled.summary().patients_per_center == {"C1": 1, "C2": 1}
    with pytest.raises(ValidationFailed, match="no center with this center_id"):
        filled.edit_record(patient.model_copy(update={"center_id": "C9"}), actor="admin")


def test_delete_a_record_with_audit(filled):
    filled.delete_record("genetic_finding", {"patient_id": "P1", "lesion": "other"}, actor="dm")
    assert [r.lesion for r in filled.load_registry(["P1"]).records("genetic_finding")] == ["ETV6::RUNX1"]
    entry = filled.audit_entries(action="delete")[-1]
    assert entry.before == {"patient_id": "P1", "lesion": "other", "detail": "IKZF1 deletion"} and entry.after is None
    # A date key given as text.
    filled.delete_record("body_measurement", ("P2", "2021-05-23"), actor="dm")  # P2 dates are 3 days later
    assert filled.load_registry(["P2"]).counts()["body_measurement"] == 0


def test_deleting_a_record_the_patient_needs_is_refused(filled):
    with pytest.raises(ValidationFailed, match="patient has no diagnosis record"):
        filled.delete_record("diagnosis", "P1", actor="dm")
    assert filled.load_registry(["P1"]).counts()["diagnosis"] == 1
    assert filled.audit_entries(action="delete") == []


def test_deleting_a_patient_removes_every_record_and_keeps_them_in_the_audit(filled):
    filled.delete_record("patient", "P1", actor="dm")
    assert filled.load_registry().patient_ids() == ["P2"]
    assert filled.load_registry(["P1"]).counts() == {name: 0 for name in filled.load_registry().tables}
    entry = filled.audit_entries(patient_id="P1")[-1]
    assert entry.action == "delete" and entry.record_type == "patient"
    assert len(entry.before["genetic_finding"]) == 2 and entry.before["patient"][0]["sex"] == "female"


def test_a_center_with_patients_cannot_be_deleted(filled):
    with pytest.raises(UserError, match="center C1 still has 2 patient"):
        filled.delete_record("center", "C1", actor="dm")
    filled.edit_record(center("C5", "Unused"), actor="dm")
    filled.delete_record("center", "C5", actor="dm")
    assert filled.summary().patients_per_center == {"C1": 2}


@pytest.mark.parametrize(
    "record_type, key, message",
    [
        ("relapse", ("P1", 7), r"no relapse record with relapse\[patient_id=P1, relapse_number=7\]"),
        ("relapse", ("P1",), r"relapse key is \(patient_id, relapse_number\), got 1 value"),
        ("relapse", {"patient_id": "P1"}, "relapse key needs relapse_number"),
        ("relapse", ("P1", "second"), "relapse.relapse_number = 'second'"),
        ("tumour", "P1", "unknown record type 'tumour'"),
    ],
)
def test_bad_delete_requests_are_user_errors(filled, record_type, key, message):
    with pytest.raises(UserError, match=message):
        filled.delete_record(record_type, key, actor="dm")


def test_edit_is_rolled_back_when_the_audit_write_fails(filled, monkeypatch):
    import blinareg.store.store as store_module

    def broken_audit(*args, **kwargs):
        raise RuntimeError("audit write failed (simulated)")

    old = _relapse(filled)
    monkeypatch.setattr(store_module, "write_audit", broken_audit)
    with pytest.raises(RuntimeError, match="simulated"):
        filled.edit_record(old.model_copy(update={"marrow_blasts_pct": 99.0}), actor="dm")
    monkeypatch.undo()
    assert _relapse(filled) == old
    assert filled.audit_entries(action="edit") == []
