"""The JSON API: list, get, create, update, delete for every record type; validation; audit; soft delete."""

from __future__ import annotations

import pytest

from blinareg.records.models import RECORD_TYPES
from blinareg.records.registry import frame_to_dicts
from blinareg.web.schemas import EDITABLE_TYPES
from tests.web.conftest import OTHER, OWN


def _first(web, record_type, center):
    model = RECORD_TYPES[record_type]
    frame = web.registry[record_type]
    rows = frame_to_dicts(model, frame[frame["patient_id"].map(web.centers) == center])
    return rows[0]


def _path(record_type, row):
    model = RECORD_TYPES[record_type]
    return f"/api/v1/{record_type}/" + "/".join(str(row[k]) for k in model.key)


def _json(row):
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in row.items()}


def test_patient_list_pages_show_only_own_center(web):
    client = web.client("investigator")
    first = client.get("/api/v1/patient", params={"limit": 5}).json()
    assert first["total"] == len(web.patients(OWN)) and len(first["items"]) == 5
    rest = client.get("/api/v1/patient", params={"offset": 5, "limit": 500}).json()
    ids = [p["patient_id"] for p in first["items"] + rest["items"]]
    assert ids == web.patients(OWN)
    assert all(p["row_version"] == 1 for p in first["items"])


@pytest.mark.parametrize("record_type", EDITABLE_TYPES)
def test_get_update_and_conflict_for_every_record_type(web, record_type):
    client = web.client("data_manager")
    row = _first(web, record_type, OWN)
    got = client.get(_path(record_type, row))
    assert got.status_code == 200, got.text
    assert got.json() == {**_json(row), "row_version": 1}
    body = {**got.json(), "change_reason": "checked against the source document"}
    saved = client.put(_path(record_type, row), json=body)
    assert saved.status_code == 200, saved.text
    assert saved.json()["row_version"] == 2
    # The same save from the version that was opened (1) is now stale: 409 with both values.
    stale = client.put(_path(record_type, row), json=body)
    assert stale.status_code == 409
    assert stale.json()["stored_version"] == 2 and stale.json()["submitted"]["patient_id"] == row["patient_id"]
    entry = web.store.audit_entries(record_type=record_type, action="update")[-1]
    assert entry.actor == "data_manager" and entry.reason == "checked against the source document"
    assert entry.center_id == OWN


def test_update_needs_a_reason_and_checks_the_url_key(web):
    client = web.client("data_manager")
    row = _first(web, "relapse", OWN)
    body = {**_json(row), "row_version": 1, "change_reason": ""}
    assert client.put(_path("relapse", row), json=body).status_code == 422
    other = {**body, "change_reason": "typo", "relapse_number": row["relapse_number"] + 50}
    assert client.put(_path("relapse", row), json=other).status_code == 422
    assert client.get(_path("relapse", row)).json()["row_version"] == 1


def test_invalid_values_come_back_as_problems_naming_field_and_value(web):
    client = web.client("data_manager")
    row = _first(web, "body_measurement", OWN)
    body = {**_json(row), "weight_kg": -5, "row_version": 1, "change_reason": "fix"}
    answer = client.put(_path("body_measurement", row), json=body)
    assert answer.status_code == 422
    assert "weight_kg" in answer.text


def test_a_record_failing_cross_record_validation_is_refused_with_every_problem(web):
    client = web.client("data_manager")
    row = _first(web, "death", OWN)
    # Death before the diagnosis: the chronology check refuses it, nothing is stored.
    body = {
        **_json(row),
        "death_date": "1990-01-01",
        "death_date_precision": None,
        "row_version": 1,
        "change_reason": "x",
    }
    answer = client.put(_path("death", row), json=body)
    assert answer.status_code == 422, answer.text
    assert answer.json()["problems"] and answer.json()["problems"][0]["record_type"]
    assert client.get(_path("death", row)).json()["row_version"] == 1


def test_create_then_delete_a_record_audited_with_reason(web):
    client = web.client("data_manager")
    row = _first(web, "adverse_event", OWN)
    new = {**_json(row), "event_number": 900}
    created = client.post("/api/v1/adverse_event", json=new)
    assert created.status_code == 201, created.text
    assert created.json()["row_version"] == 1
    assert client.post("/api/v1/adverse_event", json=new).status_code == 409
    path = _path("adverse_event", {**row, "event_number": 900})
    assert client.delete(path, params={"version": 1}).status_code == 422  # no reason
    assert client.delete(path, params={"version": 1, "change_reason": "entered twice"}).status_code == 204
    assert client.get(path).status_code == 404
    actions = [(e.action, e.reason) for e in web.store.audit_entries(record_type="adverse_event")[-2:]]
    assert actions == [("create", None), ("delete", "entered twice")]


def test_patient_delete_is_soft_and_an_administrator_restores_it(web):
    manager, admin = web.client("data_manager"), web.client("administrator")
    patient_id = web.patients(OWN)[0]
    assert (
        manager.delete(
            f"/api/v1/patient/{patient_id}", params={"version": 1, "change_reason": "withdrew consent"}
        ).status_code
        == 204
    )
    assert manager.get(f"/api/v1/patient/{patient_id}").status_code == 404
    assert manager.get("/api/v1/relapse", params={"patient_id": patient_id}).json()["total"] == 0
    assert patient_id not in set(web.store.load_registry()["patient"]["patient_id"])
    deleted = admin.get("/api/v1/deleted-patients").json()
    assert [p["patient_id"] for p in deleted["items"]] == [patient_id]
    assert (
        admin.post(
            f"/api/v1/deleted-patients/{patient_id}/restore", json={"change_reason": "consent confirmed"}
        ).status_code
        == 204
    )
    assert manager.get(f"/api/v1/patient/{patient_id}").json()["row_version"] == 3
    assert patient_id in set(web.store.load_registry()["patient"]["patient_id"])
    assert [e.action for e in web.store.audit_entries(patient_id=patient_id)[-2:]] == ["delete", "restore"]


def test_a_deleted_patient_cannot_come_back_by_import(web):
    from blinareg.errors import UserError

    patient_id = web.patients(OWN)[0]
    web.client("data_manager").delete(
        f"/api/v1/patient/{patient_id}", params={"version": 1, "change_reason": "duplicate"}
    )
    with pytest.raises(UserError, match="restore"):
        web.store.import_registry(web.registry.subset([patient_id]), source="again")


def test_moving_a_patient_to_another_center_is_refused(web):
    client = web.client("data_manager")
    patient_id = web.patients(OWN)[0]
    body = {**client.get(f"/api/v1/patient/{patient_id}").json(), "center_id": OTHER, "change_reason": "moved"}
    assert client.put(f"/api/v1/patient/{patient_id}", json=body).status_code == 403
    assert client.get(f"/api/v1/patient/{patient_id}").json()["center_id"] == OWN


def test_audit_trail_filters_and_csv_export(web):
    manager, auditor = web.client("data_manager"), web.client("auditor")
    row = _first(web, "follow_up", OWN)
    manager.put(_path("follow_up", row), json={**_json(row), "row_version": 1, "change_reason": "new visit"})
    page = auditor.get("/api/v1/audit", params={"patient_id": row["patient_id"], "user": "data_manager"}).json()
    assert page["total"] == 1 and page["items"][0]["reason"] == "new visit"
    assert auditor.get("/api/v1/audit", params={"center_id": OTHER}).json()["total"] == 0
    export = auditor.get("/api/v1/audit/export.csv", params={"record_type": "follow_up"})
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    lines = export.text.strip().split("\n")
    assert lines[0].startswith("id,at,user,action") and len(lines) == 2 and "new visit" in lines[1]
    assert web.store.audit_entries(action="export")[-1].actor == "auditor"


def test_validation_problems_and_summary_report(web):
    assert web.client("investigator").get("/api/v1/problems").status_code == 200
    summary = web.client("statistician").get("/api/v1/reports/summary")
    assert summary.status_code == 200
    assert summary.json()["patients_per_center"] == {OWN: len(web.patients(OWN))}
    assert "SYN-0" not in summary.text  # no record-level identifiers
    assert web.store.audit_entries(action="report")[-1].actor == "statistician"


def test_api_tokens_shown_once_stored_hashed_revocable(web):
    client = web.client("investigator")
    created = client.post("/api/v1/tokens", json={"name": "analysis script"}).json()
    token = created["token"]
    bearer = web.anonymous()
    bearer.headers["Authorization"] = f"Bearer {token}"
    assert bearer.get("/api/v1/me").json()["username"] == "investigator"
    assert token not in str(client.get("/api/v1/tokens").json())
    from blinareg.store.schema import api_tokens
    import sqlalchemy as sa

    with web.store._transaction() as connection:
        stored = connection.execute(sa.select(api_tokens.c.token_hash)).scalars().all()
    assert token not in stored and len(stored[0]) == 64
    assert client.delete(f"/api/v1/tokens/{created['token_id']}").status_code == 204
    assert bearer.get("/api/v1/me").status_code == 401


def test_administrator_manages_users(web):
    admin = web.client("administrator")
    created = admin.post(
        "/api/v1/users",
        json={"username": "nurse", "password": "long enough pass", "role": "data_manager", "centers": [OWN]},
    )
    assert created.status_code == 201, created.text
    assert (
        admin.post("/api/v1/users", json={"username": "x", "password": "short", "role": "auditor"}).status_code == 400
    )
    changed = admin.patch(
        "/api/v1/users/nurse", json={"role": "investigator", "centers": [OWN, OTHER], "disabled": True}
    )
    assert changed.json() == {
        "username": "nurse",
        "role": "investigator",
        "centers": [OWN, OTHER],
        "disabled": True,
        "locked": False,
    }
    assert admin.patch("/api/v1/users/nobody", json={"unlock": True}).status_code == 404
    assert [e.record_type for e in web.store.audit_entries(action="account")][-1] == "user"
