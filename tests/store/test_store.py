"""Store: initialization, atomic imports with replace semantics, loading back, audit rows (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import os

import pandas as pd
import pytest
import sqlalchemy as sa

from blinareg.errors import UserError, ValidationFailed
from blinareg.records import models as m
from blinareg.records.registry import Registry
from blinareg.store import Store, StoreNotInitialized, _io, head_revision
from tests.store.factories import center, patient_records, registry_of


def assert_same_registry(actual: Registry, expected: Registry) -> None:
    for record_type, frame in expected.tables.items():
        model_key = list(_key(record_type))
        left = actual[record_type].sort_values(model_key).reset_index(drop=True)
        right = frame.sort_values(model_key).reset_index(drop=True)
        pd.testing.assert_frame_equal(left, right, check_exact=True, obj=record_type)


def _key(record_type: str) -> tuple[str, ...]:
    from blinareg.records.models import RECORD_TYPES

    return RECORD_TYPES[record_type].key


def _row_counts(store: Store) -> dict[str, int]:
    engine = sa.create_engine(store.settings.url)
    with engine.connect() as connection:
        names = sa.inspect(connection).get_table_names()
        counts = {
            name: connection.execute(sa.text(f'SELECT COUNT(*) FROM "{name}"')).scalar_one()
            for name in names
            if name != "alembic_version"
        }
    engine.dispose()
    return counts


# ---- initialization -----------------------------------------------------------------------------------


def test_uninitialized_database_says_run_init(database_url):
    store = Store.open(database_url)
    assert not store.is_initialized()
    for operation in (
        store.load_registry,
        store.summary,
        store.audit_entries,
        lambda: store.import_registry(registry_of("P1"), source="x"),
    ):
        with pytest.raises(StoreNotInitialized, match="run `blinareg init` first"):
            operation()
    store.close()


def test_uninitialized_sqlite_file_is_not_created(tmp_path):
    path = tmp_path / "missing.sqlite"
    store = Store.open(f"sqlite:///{path}")
    with pytest.raises(StoreNotInitialized, match="not initialized"):
        store.load_registry()
    assert not path.exists()
    assert not store.is_initialized()


def test_unreachable_database_is_a_one_line_user_error(tmp_path):
    store = Store.open(f"sqlite:///{tmp_path / 'no' / 'such' / 'dir.sqlite'}")
    with pytest.raises(UserError, match="cannot connect to sqlite:///.*unable to open database file"):
        store.init()


def test_init_is_idempotent_and_keeps_data(store):
    store.import_registry(registry_of("P1"), source="first.csv")
    assert store.init() == head_revision()
    assert store.is_initialized()
    assert store.load_registry().counts()["patient"] == 1
    assert set(store.summary().meta) >= {"created_at", "created_by", "last_import_at", "last_import_source"}


# ---- import and load ----------------------------------------------------------------------------------


def test_import_then_load_gives_the_same_frames(store):
    batch = registry_of("P1", "P2", "P3", centers=("C1", "C2"), dead=("P2",))
    result = store.import_registry(batch, source="batch.xlsx")
    assert (result.patients_added, result.patients_replaced, result.centers_added) == (3, 0, 2)
    assert result.records == batch.counts() and not result.dry_run
    loaded = store.load_registry()
    assert list(loaded.tables) == list(batch.tables)
    assert_same_registry(loaded, batch)
    for record_type, frame in loaded.tables.items():
        assert list(frame.dtypes) == list(batch[record_type].dtypes), record_type


def test_load_some_patients(store):
    store.import_registry(registry_of("P1", "P2", "P3", centers=("C1", "C2")), source="b")
    part = store.load_registry(["P2"])
    assert part.patient_ids() == ["P2"]
    assert part["center"]["center_id"].tolist() == ["C2"]
    assert_same_registry(part, registry_of("P1", "P2", "P3", centers=("C1", "C2")).subset(["P2"]))


def test_load_centers_returns_every_stored_center(store):
    assert store.load_centers().empty
    batch = registry_of("P1", "P2", centers=("C1", "C2"))
    store.import_registry(batch, source="b")
    centers = store.load_centers().sort_values("center_id").reset_index(drop=True)
    expected = batch["center"].sort_values("center_id").reset_index(drop=True)
    pd.testing.assert_frame_equal(centers, expected)


def test_import_with_one_bad_row_stores_nothing_and_names_the_problem(store):
    before = _row_counts(store)
    records = [center()] + patient_records("P1") + patient_records("P2", offset_days=5)
    # P2's relapse before diagnosis: a cross-record error.
    records = [
        r.model_copy(update={"relapse_date": dt.date(2017, 1, 1)})
        if isinstance(r, m.Relapse) and r.patient_id == "P2"
        else r
        for r in records
    ]
    with pytest.raises(ValidationFailed) as caught:
        store.import_registry(Registry.from_records(records), source="bad.csv")
    errors = [p for p in caught.value.problems if p.severity == "error"]
    assert len(errors) == 1
    problem = errors[0]
    assert (problem.patient_id, problem.record_type, problem.field, problem.value) == (
        "P2",
        "relapse",
        "relapse_date",
        "2017-01-01",
    )
    assert "relapse[P2, relapse_number=1].relapse_date = '2017-01-01'" in str(caught.value)
    assert _row_counts(store) == before


def test_rows_the_database_would_refuse_are_reported_not_crashed_on(store):
    batch = registry_of("P1")
    patients = batch["patient"].copy()
    patients.loc[0, "sex"] = "F"
    batch.tables["patient"] = patients
    measurement = batch["body_measurement"].copy()
    measurement.loc[0, "weight_kg"] = -3.0
    batch.tables["body_measurement"] = measurement
    with pytest.raises(ValidationFailed) as caught:
        store.import_registry(batch, source="x")
    found = {(p.record_type, p.field, p.value) for p in caught.value.problems}
    assert ("patient", "sex", "F") in found
    assert ("body_measurement", "weight_kg", -3.0) in found
    assert store.load_registry().counts()["patient"] == 0


def test_replace_semantics(store):
    store.import_registry(registry_of("P1", "P2"), source="first")
    # P1 again without genetics, relapse, cycles...: only what the batch holds stays; P2 untouched.
    slim = [center("C1", "Renamed Center")] + [
        r for r in patient_records("P1") if isinstance(r, (m.Patient, m.Diagnosis, m.FollowUp))
    ]
    result = store.import_registry(Registry.from_records(slim), source="second")
    assert (result.patients_added, result.patients_replaced, result.centers_updated) == (0, 1, 1)
    loaded = store.load_registry()
    counts = loaded.subset(["P1"]).counts()
    assert counts["genetic_finding"] == counts["relapse"] == counts["dose_segment"] == 0
    assert counts["diagnosis"] == counts["follow_up"] == 1
    expected_p2 = registry_of("P1", "P2").subset(["P2"])
    expected_p2.tables["center"] = Registry.from_records([center("C1", "Renamed Center")])["center"]
    assert_same_registry(loaded.subset(["P2"]), expected_p2)
    assert loaded["center"]["name"].tolist() == ["Renamed Center"]


def test_a_batch_of_records_without_their_patient_row_is_refused(store):
    store.import_registry(registry_of("P1"), source="first")
    partial = Registry.from_records([r for r in patient_records("P1") if isinstance(r, m.Diagnosis)])
    with pytest.raises(ValidationFailed) as caught:
        store.import_registry(partial, source="diagnosis-only.csv")
    assert any(
        p.record_type == "diagnosis" and p.field == "patient_id" and p.value == "P1" for p in caught.value.problems
    )
    assert store.load_registry().counts()["relapse"] == 1


def test_errors_between_batch_and_stored_records_are_found(store):
    store.import_registry(registry_of("P1"), source="first")
    duplicate_center_ref = Registry.from_records(patient_records("P2", "C7"))
    with pytest.raises(ValidationFailed) as caught:
        store.import_registry(duplicate_center_ref, source="second")
    assert any((p.record_type, p.field, p.value) == ("patient", "center_id", "C7") for p in caught.value.problems)
    # The stored center C1 is enough for a batch without centers.
    assert store.import_registry(Registry.from_records(patient_records("P2", "C1")), source="third").patients_added == 1


def test_dry_run_validates_and_writes_nothing(store):
    before = _row_counts(store)
    result = store.import_registry(registry_of("P1", "P2"), source="b", dry_run=True)
    assert result.dry_run and result.patients_added == 2
    assert _row_counts(store) == before
    with pytest.raises(ValidationFailed):
        store.import_registry(Registry.from_records(patient_records("P1")), source="b", dry_run=True)


def test_warnings_are_returned_and_the_batch_is_stored(store):
    records = [
        r.model_copy(update={"fraction": 0.000001}) if isinstance(r, m.MrdAssessment) and r.detected else r
        for r in [center()] + patient_records("P1")
    ]
    result = store.import_registry(Registry.from_records(records), source="w")
    assert [(p.patient_id, p.record_type, p.field, p.severity) for p in result.warnings] == [
        ("P1", "mrd_assessment", "fraction", "warning")
    ]
    assert store.load_registry().counts()["mrd_assessment"] == 2


def test_progress_reports_every_written_row(store):
    seen = []
    batch = registry_of("P1", "P2")
    store.import_registry(batch, source="b", progress=lambda stage, done, total: seen.append((stage, done, total)))
    stages = [s for s, _, _ in seen]
    assert stages.index("reading") < stages.index("validating") < stages.index("writing")
    last = seen[-1]
    assert last[0] == "writing" and last[1] == last[2] == sum(batch.counts().values()) + 2 + 1


# ---- audit ---------------------------------------------------------------------------------------


def test_import_writes_one_audit_row_per_patient_and_center(store):
    first = store.import_registry(registry_of("P1", "P2"), source="first.csv", actor="dm@center")
    entries = store.audit_entries()
    assert [(e.action, e.record_type, e.patient_id) for e in entries] == [
        ("import", "center", None),
        ("import", "patient", "P1"),
        ("import", "patient", "P2"),
    ]
    assert {e.batch_id for e in entries} == {first.batch_id}
    assert {(e.actor, e.source) for e in entries} == {("dm@center", "first.csv")}
    assert (
        entries[1].before is None and entries[1].after["relapse"] == 1 and entries[1].record_key == {"patient_id": "P1"}
    )
    assert all(
        e.at.tzinfo is not None and abs(e.at - dt.datetime.now(dt.timezone.utc)) < dt.timedelta(minutes=5)
        for e in entries
    )

    store.import_registry(Registry.from_records(patient_records("P1")), source="second.csv")
    replace = store.audit_entries(patient_id="P1")[-1]
    assert replace.action == "replace"
    assert replace.before["relapse"][0]["relapse_date"] == "2021-05-03"
    assert len(replace.before["genetic_finding"]) == 2
    assert len(store.audit_entries()) == 4


def test_no_audit_rows_after_a_failed_import(store):
    store.import_registry(registry_of("P1"), source="ok")
    with pytest.raises(ValidationFailed):
        store.import_registry(Registry.from_records(patient_records("P2", "nowhere")), source="bad")
    assert [e.source for e in store.audit_entries()] == ["ok", "ok"]


def test_database_failure_mid_import_leaves_the_store_unchanged(store, monkeypatch):
    store.import_registry(registry_of("P1", "P2"), source="first")
    before_rows = _row_counts(store)
    before = store.load_registry()
    real_insert = _io.insert_frame

    def failing_insert(connection, record_type, frame, progress=None):
        if record_type == "mrd_assessment":  # after patients, relapses, cycles... were written
            raise sa.exc.OperationalError("INSERT", {}, RuntimeError("disk I/O error (simulated)"))
        real_insert(connection, record_type, frame, progress)

    monkeypatch.setattr(_io, "insert_frame", failing_insert)
    with pytest.raises(sa.exc.OperationalError, match="simulated"):
        store.import_registry(registry_of("P1", "P3", centers=("C1", "C9")), source="second")
    monkeypatch.undo()
    assert _row_counts(store) == before_rows
    assert_same_registry(store.load_registry(), before)
    assert [e.source for e in store.audit_entries()] == ["first"] * 3


def test_summary(store):
    store.import_registry(registry_of("P1", "P2", "P3", centers=("C1", "C2")), source="b")
    summary = store.summary()
    assert summary.counts["patient"] == 3 and summary.counts["relapse"] == 3
    assert summary.patients_per_center == {"C1": 2, "C2": 1}
    assert summary.synthetic == "no"
    store.import_registry(Registry.from_records([center("C3", "Synthetic Center", synthetic=True)]), source="s")
    assert store.summary().synthetic == "mixed"
    assert store.summary().patients_per_center["C3"] == 0


def test_sqlite_pragmas(sqlite_url):
    store = Store.open(sqlite_url)
    store.init()
    with store._transaction() as connection:
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
    store.close()
    assert os.path.exists(sqlite_url.removeprefix("sqlite:///"))
