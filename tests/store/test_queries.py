"""Data queries: opened, resolved, acknowledged and re-opened with each import, edit and delete; manual queries."""

from __future__ import annotations

import pytest

from blinareg.errors import UserError
from blinareg.records import models as m
from blinareg.records.registry import Registry
from blinareg.store.queries import DataQueries
from tests.store.factories import registry_of

GRADE_KEY = "event_number=1"


def _with_disagreeing_grade(records: list[m.Record], patient_id: str) -> list[m.Record]:
    """Recorded CRS grade 3 where the parameters (38.6 C, no hypotension, no vasopressor, no oxygen) give 1."""
    out = []
    for record in records:
        if isinstance(record, m.AdverseEvent) and record.patient_id == patient_id:
            record = record.model_copy(update={"grade": 3, "hypotension": False, "vasopressin": False})
        out.append(record)
    return out


def _registry(*patients: str, disagreeing: tuple[str, ...] = ("P1",)) -> Registry:
    records = registry_of(*patients)
    all_records: list[m.Record] = [r for t in records.tables for r in records.records(t)]
    for patient_id in disagreeing:
        all_records = _with_disagreeing_grade(all_records, patient_id)
    return Registry.from_records(all_records)


def _event(store, patient_id="P1") -> m.AdverseEvent:
    return store.load_registry([patient_id]).records("adverse_event")[0]


@pytest.fixture
def queried(store):
    store.import_registry(_registry("P1", "P2"), source="seed", actor="importer")
    return store


def _statuses(store) -> list[tuple[int, str, str, str]]:
    return [(q.id, q.patient_id, q.field, q.status) for q in DataQueries(store).list()]


def test_an_import_opens_one_query_per_warning_of_its_patients(queried):
    (query,) = DataQueries(queried).list()
    assert (query.patient_id, query.center_id, query.record_type, query.record_key, query.field) == (
        "P1",
        "C1",
        "adverse_event",
        GRADE_KEY,
        "grade",
    )
    assert (query.origin, query.status, query.severity, query.value, query.opened_by) == (
        "validation",
        "open",
        "warning",
        "3",
        "importer",
    )
    assert "recorded grade 3" in query.problem and "grade 1" in query.problem
    assert len(query.record_fingerprint or "") == 64
    (entry,) = queried.audit_entries(action="query_open")
    assert (entry.record_type, entry.patient_id, entry.record_key, entry.actor) == (
        "data_query",
        "P1",
        {"query_id": query.id},
        "importer",
    )


def test_acknowledged_stays_acknowledged_while_the_record_is_unchanged_and_reopens_when_it_changes(queried):
    queries = DataQueries(queried)
    (query,) = queries.list()
    queries.acknowledge(query.id, reason="grade 3 confirmed by the treating physician", actor="dm")
    assert queries.get(query.id).status == "acknowledged"
    assert queries.get(query.id).acknowledged_by == "dm"
    # Re-importing the same records and editing another record of the patient leave the event as it was.
    queried.import_registry(_registry("P1", "P2"), source="again")
    relapse = queried.load_registry(["P1"]).records("relapse")[0]
    queried.edit_record(relapse.model_copy(update={"marrow_blasts_pct": 60.0}), actor="dm")
    assert _statuses(queried) == [(query.id, "P1", "grade", "acknowledged")]
    # The event itself changes, the disagreement persists: the acknowledgement no longer covers it.
    queried.edit_record(_event(queried).model_copy(update={"description": "CRS with rigors"}), actor="nurse")
    reopened = queries.get(query.id)
    assert (reopened.status, reopened.acknowledged_reason, reopened.acknowledged_by) == ("open", None, None)
    assert reopened.record_fingerprint != query.record_fingerprint
    (entry,) = queried.audit_entries(action="query_reopen")
    assert entry.actor == "nurse" and entry.before["status"] == "acknowledged" and entry.after["status"] == "open"
    assert len(queried.audit_entries(action="query_acknowledge")) == 1


def test_a_correction_resolves_the_query_and_a_new_problem_opens_a_new_one(queried):
    queries = DataQueries(queried)
    (query,) = queries.list()
    queried.edit_record(_event(queried).model_copy(update={"grade": 1}), actor="dm")
    resolved = queries.get(query.id)
    assert (resolved.status, resolved.resolved_by) == ("resolved", "dm")
    assert resolved.resolved_at is not None
    queried.edit_record(_event(queried).model_copy(update={"grade": 2}), actor="dm")
    assert _statuses(queried) == [(query.id, "P1", "grade", "resolved"), (query.id + 1, "P1", "grade", "open")]
    assert [e.action for e in queried.audit_entries(record_type="data_query")] == [
        "query_open",
        "query_resolve",
        "query_open",
    ]


def test_deleting_the_record_or_the_patient_resolves_its_queries(queried):
    queries = DataQueries(queried)
    queried.delete_record("adverse_event", {"patient_id": "P1", "event_number": 1}, actor="dm")
    assert [q.status for q in queries.list()] == ["resolved"]
    queried.import_registry(_registry("P2", disagreeing=("P2",)), source="p2")
    assert [(q.patient_id, q.status) for q in queries.list()] == [("P1", "resolved"), ("P2", "open")]
    queried.delete_record("patient", "P2", actor="dm")
    assert [(q.patient_id, q.status) for q in queries.list()] == [("P1", "resolved"), ("P2", "resolved")]


def test_a_dry_run_opens_no_query(store):
    store.import_registry(_registry("P1"), source="seed", dry_run=True)
    assert DataQueries(store).list() == []
    assert store.audit_entries() == []


def test_manual_queries_are_raised_listed_and_resolved_by_people(queried):
    queries = DataQueries(queried)
    query_id = queries.raise_query(
        patient_id="P2",
        record_type="relapse",
        record_key="relapse_number=1",
        field="marrow_blasts_pct",
        text="45% blasts: please check against the marrow report",
        actor="monitor.anna",
    )
    raised = queries.get(query_id)
    assert (raised.origin, raised.status, raised.center_id, raised.check_name) == ("manual", "open", "C1", "manual")
    assert [q.id for q in queries.list(user="monitor.anna")] == [query_id]
    assert [q.patient_id for q in queries.list(patient_id="P1")] == ["P1"]
    assert len(queries.list(center_id="C1")) == 2 and queries.list(center_id="C9") == []
    # A later import of the patient does not touch a monitor's question.
    queried.import_registry(_registry("P2", disagreeing=()), source="p2")
    assert queries.get(query_id).status == "open"
    queries.resolve(query_id, actor="dm.bob")
    assert (queries.get(query_id).status, queries.get(query_id).resolved_by) == ("resolved", "dm.bob")
    assert [q.id for q in queries.list(user="dm.bob")] == [query_id]
    assert [q.id for q in queries.list(status="resolved")] == [query_id]
    actions = [e.action for e in queried.audit_entries(patient_id="P2") if e.record_type == "data_query"]
    assert actions == ["query_raise", "query_resolve"]


def test_query_counts_state_acknowledged_warnings_not_corrected(queried):
    queries = DataQueries(queried)
    (query,) = queries.list()
    queries.raise_query(
        patient_id="P1", record_type="patient", record_key="", field="sex", text="sex?", actor="monitor"
    )
    queries.acknowledge(query.id, reason="confirmed", actor="dm")
    counts = queries.counts()
    assert counts.to_dict() == {
        "open": 1,
        "acknowledged": 1,
        "resolved": 0,
        "acknowledged_warnings": 1,
        "open_manual": 1,
    }
    assert queries.counts(["P2"]).to_dict() == dict.fromkeys(counts.to_dict(), 0)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda q, i: q.acknowledge(i, reason="  ", actor="dm"), "needs a reason"),
        (lambda q, i: q.acknowledge(i, reason="ok", actor=""), "say who"),
        (lambda q, i: q.acknowledge(i + 99, reason="ok", actor="dm"), "no data query with id"),
        (lambda q, i: q.resolve(i, actor="dm"), "resolved by correcting the record"),
        (
            lambda q, i: q.raise_query(
                patient_id="P9", record_type="patient", record_key="", field="sex", text="?", actor="m"
            ),
            "no stored patient 'P9'",
        ),
        (
            lambda q, i: q.raise_query(
                patient_id="P1", record_type="relapse", record_key="relapse_number=7", field="", text="?", actor="m"
            ),
            "has no relapse record 'relapse_number=7'",
        ),
        (
            lambda q, i: q.raise_query(
                patient_id="P1",
                record_type="relapse",
                record_key="relapse_number=1",
                field="colour",
                text="?",
                actor="m",
            ),
            "relapse has no field 'colour'",
        ),
    ],
)
def test_bad_requests_are_refused_with_a_clear_error_and_change_nothing(queried, call, message):
    queries = DataQueries(queried)
    (query,) = queries.list()
    with pytest.raises(UserError, match=message):
        call(queries, query.id)
    assert _statuses(queried) == [(query.id, "P1", "grade", "open")]
    assert [e.action for e in queried.audit_entries(record_type="data_query")] == ["query_open"]


def test_acknowledging_twice_is_refused(queried):
    queries = DataQueries(queried)
    (query,) = queries.list()
    queries.acknowledge(query.id, reason="confirmed", actor="dm")
    with pytest.raises(UserError, match="is acknowledged, not open"):
        queries.acknowledge(query.id, reason="again", actor="dm")


def test_queries_opened_together_each_get_their_own_audit_row(store):
    store.import_registry(_registry("P1", "P2", "P3", disagreeing=("P1", "P2", "P3")), source="seed")
    queries = {q.id: q.patient_id for q in DataQueries(store).list()}
    assert sorted(queries.values()) == ["P1", "P2", "P3"]
    audited = {e.record_key["query_id"]: e.patient_id for e in store.audit_entries(action="query_open")}
    assert audited == queries
