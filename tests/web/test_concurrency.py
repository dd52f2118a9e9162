"""Optimistic concurrency: a save from an outdated version overwrites nothing; changes and audit are atomic."""

from __future__ import annotations

import threading

import pytest

from blinareg.records.models import RECORD_TYPES
from blinareg.records.registry import frame_to_dicts
from tests.web.conftest import OWN


def _diagnosis(web):
    frame = web.registry["diagnosis"]
    row = frame_to_dicts(RECORD_TYPES["diagnosis"], frame[frame["patient_id"].map(web.centers) == OWN])[0]
    return row["patient_id"], f"/api/v1/diagnosis/{row['patient_id']}"


def test_the_second_save_of_the_same_version_gets_both_values_and_changes_nothing(web):
    first, second = web.client("data_manager"), web.client("data_manager")
    _, path = _diagnosis(web)
    opened_by_first, opened_by_second = first.get(path).json(), second.get(path).json()
    assert opened_by_first["row_version"] == opened_by_second["row_version"] == 1
    mine = {**opened_by_first, "frontline_protocol": "first edit", "change_reason": "first"}
    theirs = {**opened_by_second, "frontline_protocol": "second edit", "change_reason": "second"}
    assert first.put(path, json=mine).status_code == 200
    clash = second.put(path, json=theirs)
    assert clash.status_code == 409
    assert (
        clash.json()["stored"]["frontline_protocol"] == "first edit"
        and clash.json()["submitted"]["frontline_protocol"] == "second edit"
    )
    assert clash.json()["stored_version"] == 2
    assert first.get(path).json()["frontline_protocol"] == "first edit"


def test_concurrent_saves_lose_no_update(web):
    patient_id, path = _diagnosis(web)
    clients = [web.client("data_manager") for _ in range(6)]
    outcomes: list[int] = []
    lock = threading.Lock()

    def edit(client, n):
        for attempt in range(3):
            opened = client.get(path).json()
            answer = client.put(
                path, json={**opened, "frontline_protocol": f"writer {n} try {attempt}", "change_reason": "sync"}
            )
            with lock:
                outcomes.append(answer.status_code)

    threads = [threading.Thread(target=edit, args=(c, n)) for n, c in enumerate(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert set(outcomes) <= {200, 409} and outcomes.count(200) >= 1
    final = clients[0].get(path).json()
    # Every accepted save is one version step and one audit row: none was lost or overwritten silently.
    assert final["row_version"] == 1 + outcomes.count(200)
    updates = web.store.audit_entries(patient_id=patient_id, record_type="diagnosis", action="update")
    assert len(updates) == outcomes.count(200)
    assert updates[-1].after["frontline_protocol"] == final["frontline_protocol"]


def test_a_failing_audit_write_leaves_the_record_unchanged(web, monkeypatch):
    import blinareg.store.store as store_module

    client = web.client("data_manager")
    patient_id, path = _diagnosis(web)
    opened = client.get(path).json()

    def broken(*args, **kwargs):
        raise RuntimeError("audit write failed (simulated)")

    monkeypatch.setattr(store_module, "write_audit", broken)
    with pytest.raises(RuntimeError, match="simulated"):
        client.put(path, json={**opened, "frontline_protocol": "never stored", "change_reason": "x"})
    monkeypatch.undo()
    assert client.get(path).json() == opened
    assert web.store.audit_entries(patient_id=patient_id, action="update") == []


def test_a_failing_audit_write_leaves_a_soft_delete_undone(web, monkeypatch):
    import blinareg.store.store as store_module

    client = web.client("data_manager")
    patient_id = web.patients(OWN)[1]
    monkeypatch.setattr(store_module, "write_audit", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("boom")))
    with pytest.raises(RuntimeError):
        client.delete(f"/api/v1/patient/{patient_id}", params={"version": 1, "change_reason": "x"})
    monkeypatch.undo()
    assert client.get(f"/api/v1/patient/{patient_id}").json()["row_version"] == 1


def test_audit_rows_cannot_be_changed(web):
    import sqlalchemy as sa

    from blinareg.store.schema import audit_log

    web.client("data_manager").get("/api/v1/me")
    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        with web.store._transaction() as connection:
            connection.execute(sa.update(audit_log).values(reason="rewritten"))
    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        with web.store._transaction() as connection:
            connection.execute(sa.delete(audit_log))
