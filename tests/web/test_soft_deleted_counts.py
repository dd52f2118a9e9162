"""A soft-deleted patient is in no count, list or export: the store's summary (and `blinareg summary`, which
shows the deleted apart), the report's data-query counts, the API's summary report and lists, the
analysis dataset, the de-identified export and results.json; on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import zipfile

import pandas as pd

from blinareg.store.queries import DataQueries
from blinareg.store.scoped import CenterScope
from tests.web.conftest import OTHER, OWN


def _delete(web, patient_id: str) -> None:
    answer = web.client("data_manager").delete(
        f"/api/v1/patient/{patient_id}", params={"version": 1, "change_reason": "withdrew consent"}
    )
    assert answer.status_code == 204, answer.text


def _records_of(registry, patient_ids: set[str]) -> dict[str, int]:
    """Records per type of these patients (the center table excluded)."""
    return {
        name: int(frame["patient_id"].isin(patient_ids).sum())
        for name, frame in registry.tables.items()
        if "patient_id" in frame.columns
    }


def test_summary_counts_live_patients_and_shows_the_deleted_apart(web, run):
    deleted = web.patients(OWN)[0]
    before = web.store.summary()
    assert before.deleted_patients == 0
    own_records = _records_of(web.registry, {deleted})
    _delete(web, deleted)

    after = web.store.summary()
    assert after.deleted_patients == 1
    for name, count in before.counts.items():
        assert after.counts[name] == count - own_records.get(name, 0), name
    assert after.counts["patient"] == len(web.centers) - 1
    assert after.patients_per_center == {OWN: len(web.patients(OWN)) - 1, OTHER: len(web.patients(OTHER))}
    assert after.counts == web.store.load_registry().counts() | {"center": after.counts["center"]}

    code, out, _ = run("summary", "--database", web.store.settings.url.render_as_string(hide_password=False))
    assert code == 0
    patient_line = next(line for line in out.splitlines() if line.strip().startswith("patient "))
    assert patient_line.split()[-1] == f"{len(web.centers) - 1:,}"
    assert "not counted: 1 deleted patients and their records" in out

    # Restored, the patient counts again and nothing is shown apart.
    admin = web.client("administrator")
    restored = admin.post(f"/api/v1/deleted-patients/{deleted}/restore", json={"change_reason": "consent confirmed"})
    assert restored.status_code == 204
    assert web.store.summary() == before


def test_data_query_counts_leave_out_a_deleted_patients_queries(web):
    queries = DataQueries(web.store)
    deleted, kept = web.patients(OWN)[:2]
    for patient_id in (deleted, kept):  # one manual query each, on top of any validation query
        queries.raise_query(
            patient_id=patient_id, record_type="diagnosis", record_key="", field="diagnosis_date",
            text="check the date against the source", actor="test",
        )  # fmt: skip
    of_deleted = queries.counts([deleted])
    before = queries.counts()
    _delete(web, deleted)
    after = queries.counts()
    assert of_deleted.open >= 1 and of_deleted.open_manual == 1
    assert after.open == before.open - of_deleted.open
    assert after.open_manual == before.open_manual - 1
    live = [str(p) for p in web.store.load_registry()["patient"]["patient_id"]]
    assert after == queries.counts(live)


def test_api_reports_lists_and_exports_leave_a_deleted_patient_out(web):
    deleted = web.patients(OWN)[0]
    live_own = [p for p in web.patients(OWN) if p != deleted]
    _delete(web, deleted)

    investigator = web.client("investigator")
    summary = investigator.get("/api/v1/reports/summary").json()
    assert summary["patients_per_center"] == {OWN: len(live_own)}
    assert summary["records"]["patient"] == len(live_own)
    patients = investigator.get("/api/v1/patient", params={"limit": 500}).json()
    assert patients["total"] == len(live_own) and deleted not in {p["patient_id"] for p in patients["items"]}
    assert investigator.get("/api/v1/relapse", params={"patient_id": deleted}).json()["total"] == 0
    assert all(p["patient_id"] != deleted for p in investigator.get("/api/v1/problems").json())

    # The analysis dataset and the reports the web serves are built from the scoped registry.
    scope = CenterScope(web.store, [OWN], actor="test")
    assert sorted(scope.registry()["patient"]["patient_id"]) == live_own
    assert scope.patient_ids() == live_own
    results = investigator.get("/api/v1/analysis/results").json()
    assert results["meta"]["n_patients"] == len(live_own)

    export = web.client("statistician").get("/api/v1/exports/deidentified", params={"format": "csv"})
    assert export.status_code == 200, export.text
    with zipfile.ZipFile(io.BytesIO(export.content)) as archive:
        exported = pd.read_csv(archive.open("patient.csv"))
    assert len(exported) == len(live_own)
    assert web.store.audit_entries(action="export")[-1].after["patients"] == len(live_own)

    # The CLI's exports and report read `load_registry`: live patients only.
    assert deleted not in set(web.store.load_registry()["patient"]["patient_id"])
    assert deleted not in set(web.store.load_registry([deleted])["patient"]["patient_id"])
