"""Data queries: every validation problem of a stored record, and every monitor's question, as a query.

A validation query is opened by the change (import, edit, delete) that makes a problem appear, in the
transaction of that change (`synchronize`); a later change re-checks the patient's problems and

- resolves the query when its problem has disappeared (resolved by a correction),
- keeps an acknowledged query acknowledged while the record it was raised on is unchanged, and
  RE-OPENS it when that record changed and the problem persists (the acknowledgement was about the
  old values),
- opens a new query for a problem without an open or acknowledged one (also one resolved before and
  back again).

A problem is identified by patient, record type, record key, field and check (`Problem.check`; the
reason text for the per-record checks that have no check name). The record's fingerprint is the SHA-256
of its stored values (for a cross-record problem without a key: of all the patient's records of that
type). Manual queries (origin `manual`, raised by a monitor on any field) are never touched by
synchronisation: they are answered by acknowledging or resolving them. Problems without a patient (a
center's own record) are not queried. Every change of a query writes an audit row in its transaction.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING

import pandas as pd
import sqlalchemy as sa

from blinareg.errors import UserError
from blinareg.records.check_tools import _key_text  # the key text validation puts on each Problem
from blinareg.records.models import RECORD_TYPES
from blinareg.records.problems import Problem, value_text
from blinareg.records.registry import Registry, frame_to_dicts
from blinareg.store import _io
from blinareg.store.schema import QUERY_STATUSES, RECORD_TABLES, audit_log, data_query

if TYPE_CHECKING:
    from blinareg.store.store import Store

__all__ = [
    "DataQueries",
    "DataQuery",
    "QueryCounts",
    "SyncResult",
    "acknowledge",
    "list_queries",
    "query_counts",
    "raise_query",
    "reopen_counts",
    "resolve",
    "synchronize",
]

MANUAL_CHECK = "manual"
ACTIVE = ("open", "acknowledged")
_IDS_PER_QUERY = _io.IDS_PER_QUERY

Identity = tuple[str, str, str, str, str]  # patient_id, record_type, record_key, field, check_name


@dataclass(frozen=True)
class DataQuery:
    id: int
    patient_id: str | None
    center_id: str | None
    record_type: str
    record_key: str
    field: str
    check_name: str
    problem: str
    value: str | None
    severity: str
    origin: str  # "validation" | "manual"
    status: str  # "open" | "resolved" | "acknowledged"
    opened_by: str
    opened_at: dt.datetime
    acknowledged_reason: str | None
    acknowledged_by: str | None
    acknowledged_at: dt.datetime | None
    resolved_by: str | None
    resolved_at: dt.datetime | None
    record_fingerprint: str | None

    def to_dict(self) -> dict[str, object]:
        return {
            item.name: (value.isoformat() if isinstance(value, dt.datetime) else value)
            for item in fields(self)
            for value in (getattr(self, item.name),)
        }


@dataclass(frozen=True)
class SyncResult:
    opened: int
    reopened: int
    resolved: int


@dataclass(frozen=True)
class QueryCounts:
    """Queries by status; `acknowledged_warnings`: warnings acknowledged and not corrected."""

    open: int
    acknowledged: int
    resolved: int
    acknowledged_warnings: int
    open_manual: int

    def to_dict(self) -> dict[str, int]:
        return {item.name: getattr(self, item.name) for item in fields(self)}


# ---- identities and fingerprints -------------------------------------------------------------------


def _identity(problem: Problem) -> Identity:
    assert problem.patient_id is not None
    return (
        problem.patient_id,
        problem.record_type,
        problem.key or "",
        problem.field or "",
        (problem.check or problem.reason)[:100],  # as the check_name column stores it
    )


def _row_identity(row: sa.RowMapping) -> Identity:
    return (row["patient_id"], row["record_type"], row["record_key"], row["field"], row["check_name"])


class _Fingerprints:
    """SHA-256 of a record's stored values, computed once per (record type, patient, key)."""

    def __init__(self, registry: Registry) -> None:
        self._registry = registry
        self._keys: dict[str, pd.Series] = {}
        self._done: dict[tuple[str, str, str], str] = {}

    def __call__(self, record_type: str, patient_id: str, record_key: str) -> str:
        wanted = (record_type, patient_id, record_key)
        if wanted not in self._done:
            model = RECORD_TYPES[record_type]
            frame = self._registry[record_type]
            mask = frame["patient_id"] == patient_id if "patient_id" in frame.columns else frame.index >= 0
            if record_key:
                if record_type not in self._keys:
                    self._keys[record_type] = _key_text(record_type, frame)
                mask = mask & (self._keys[record_type] == record_key)
            rows = frame_to_dicts(model, frame[mask])
            text = json.dumps(rows, default=value_text, sort_keys=True, ensure_ascii=False)
            self._done[wanted] = hashlib.sha256(text.encode()).hexdigest()
        return self._done[wanted]


# ---- synchronisation (inside the caller's transaction) ---------------------------------------------


def _now() -> dt.datetime:
    return _io.utc_now()


def _audit(
    action: str,
    query_id: int,
    patient_id: str | None,
    before: object,
    after: object,
    *,
    actor: str,
    batch_id: str,
    source: str | None = None,
) -> dict[str, object]:
    return {
        "at": _now(),
        "actor": actor,
        "action": action,
        "record_type": data_query.name,
        "patient_id": patient_id,
        "record_key": json.dumps({"query_id": query_id}),
        "before": None if before is None else json.dumps(before, default=str, sort_keys=True),
        "after": None if after is None else json.dumps(after, default=str, sort_keys=True),
        "batch_id": batch_id,
        "source": source,
    }


def _active_rows(connection: sa.Connection, patient_ids: Sequence[str]) -> list[sa.RowMapping]:
    rows: list[sa.RowMapping] = []
    for start in range(0, len(patient_ids), _IDS_PER_QUERY):
        chunk = list(patient_ids[start : start + _IDS_PER_QUERY])
        rows.extend(
            connection.execute(
                sa.select(data_query)
                .where(data_query.c.origin == "validation")
                .where(data_query.c.status.in_(ACTIVE))
                .where(data_query.c.patient_id.in_(chunk))
                .order_by(data_query.c.id)
            )
            .mappings()
            .all()
        )
    return rows


def synchronize(
    connection: sa.Connection,
    registry: Registry,
    patient_ids: Iterable[str],
    problems: Sequence[Problem],
    *,
    actor: str,
    batch_id: str,
    source: str | None = None,
) -> SyncResult:
    """Bring the validation queries of `patient_ids` in line with `problems` (see the module docstring).

    `registry` holds (at least) the patients' records as stored after the change; `problems` their
    validation problems (problems of other patients are ignored).
    """
    patients = sorted(set(patient_ids))
    if not patients:
        return SyncResult(0, 0, 0)
    wanted = set(patients)
    current: dict[Identity, Problem | None] = {}
    for found in problems:
        if found.patient_id in wanted:
            current.setdefault(_identity(found), found)
    fingerprint = _Fingerprints(registry)
    centers = dict(zip(registry["patient"]["patient_id"], registry["patient"]["center_id"]))
    now = _now()
    audit: list[dict[str, object]] = []
    reopened = resolved = 0
    for row in _active_rows(connection, patients):
        identity = _row_identity(row)
        problem = current.pop(identity, None)
        before = {"status": row["status"], "record_fingerprint": row["record_fingerprint"]}
        if problem is None:
            changes = {"status": "resolved", "resolved_by": actor, "resolved_at": now}
            action = "query_resolve"
            resolved += 1
        else:
            print_ = fingerprint(row["record_type"], row["patient_id"], row["record_key"])
            changes = {
                "record_fingerprint": print_,
                "problem": problem.reason,
                "value": None if problem.value is None else value_text(problem.value),
            }
            if print_ == row["record_fingerprint"] and changes["problem"] == row["problem"]:
                continue
            action = "query_update"
            if row["status"] == "acknowledged" and print_ != row["record_fingerprint"]:
                changes.update(status="open", acknowledged_reason=None, acknowledged_by=None, acknowledged_at=None)
                action = "query_reopen"
                reopened += 1
        connection.execute(sa.update(data_query).where(data_query.c.id == row["id"]).values(changes))
        if action != "query_update":
            after = {"status": changes["status"], "record_fingerprint": changes.get("record_fingerprint")}
            audit.append(
                _audit(
                    action, row["id"], row["patient_id"], before, after, actor=actor, batch_id=batch_id, source=source
                )
            )
    new_rows: list[dict[str, object]] = []
    for identity, new in current.items():
        assert new is not None
        patient_id, record_type, record_key, field, check_name = identity
        new_rows.append(
            {
                "patient_id": patient_id,
                "center_id": centers.get(patient_id),
                "record_type": record_type,
                "record_key": record_key,
                "field": field,
                "check_name": check_name,
                "problem": new.reason,
                "value": None if new.value is None else value_text(new.value),
                "severity": new.severity.value,
                "origin": "validation",
                "status": "open",
                "opened_by": actor,
                "opened_at": now,
                "record_fingerprint": fingerprint(record_type, patient_id, record_key),
            }
        )
    if new_rows:
        # One multi-row INSERT; the ids come back in the order of `new_rows`.
        inserted = connection.execute(
            sa.insert(data_query).returning(data_query.c.id, sort_by_parameter_order=True), new_rows
        ).scalars()
        for query_id, values in zip(inserted, new_rows):
            after = {"status": "open", "problem": values["problem"]}
            audit.append(
                _audit(
                    "query_open",
                    query_id,
                    str(values["patient_id"]),
                    None,
                    after,
                    actor=actor,
                    batch_id=batch_id,
                    source=source,
                )
            )
    if audit:
        connection.execute(audit_log.insert(), audit)
    return SyncResult(len(new_rows), reopened, resolved)


# ---- what a data manager or monitor does -----------------------------------------------------------


def _query_row(connection: sa.Connection, query_id: int) -> sa.RowMapping:
    row = connection.execute(sa.select(data_query).where(data_query.c.id == query_id)).mappings().first()
    if row is None:
        raise UserError(f"no data query with id {query_id}")
    return row


def _require_actor(actor: str) -> str:
    name = (actor or "").strip()
    if not name:
        raise UserError("--by: say who (a user name)")
    return name[:100]


def acknowledge(connection: sa.Connection, query_id: int, *, reason: str, actor: str, batch_id: str) -> None:
    """Acknowledge an open query with a reason (the value stays as recorded, e.g. confirmed by pharmacy)."""
    actor = _require_actor(actor)
    text = (reason or "").strip()
    if not text:
        raise UserError(f"data query {query_id}: acknowledging needs a reason (--reason)")
    row = _query_row(connection, query_id)
    if row["status"] != "open":
        raise UserError(f"data query {query_id} is {row['status']}, not open: only an open query can be acknowledged")
    now = _now()
    connection.execute(
        sa.update(data_query)
        .where(data_query.c.id == query_id)
        .values(status="acknowledged", acknowledged_reason=text, acknowledged_by=actor, acknowledged_at=now)
    )
    connection.execute(
        audit_log.insert(),
        [
            _audit(
                "query_acknowledge",
                query_id,
                row["patient_id"],
                {"status": "open"},
                {"status": "acknowledged", "reason": text},
                actor=actor,
                batch_id=batch_id,
            )
        ],
    )


def resolve(connection: sa.Connection, query_id: int, *, actor: str, batch_id: str) -> None:
    """Close a manual query (validation queries are resolved by correcting the record)."""
    actor = _require_actor(actor)
    row = _query_row(connection, query_id)
    if row["origin"] != "manual":
        raise UserError(
            f"data query {query_id} comes from validation: it is resolved by correcting the record, "
            "or acknowledged with a reason"
        )
    if row["status"] == "resolved":
        raise UserError(f"data query {query_id} is already resolved")
    connection.execute(
        sa.update(data_query)
        .where(data_query.c.id == query_id)
        .values(status="resolved", resolved_by=actor, resolved_at=_now())
    )
    connection.execute(
        audit_log.insert(),
        [
            _audit(
                "query_resolve",
                query_id,
                row["patient_id"],
                {"status": row["status"]},
                {"status": "resolved"},
                actor=actor,
                batch_id=batch_id,
            )
        ],
    )


def raise_query(
    connection: sa.Connection,
    *,
    patient_id: str,
    record_type: str,
    record_key: str,
    field: str,
    text: str,
    actor: str,
    batch_id: str,
) -> int:
    """A monitor's question on any field of a stored record of a patient; returns the query id."""
    actor = _require_actor(actor)
    question = (text or "").strip()
    if not question:
        raise UserError("a query needs its question (--text)")
    model = RECORD_TYPES.get(record_type)
    if model is None or record_type == "center":
        choices = ", ".join(name for name in RECORD_TYPES if name != "center")
        raise UserError(f"--record-type {record_type!r}: expected one of {choices}")
    if field and field not in model.model_fields:
        raise UserError(f"{record_type} has no field {field!r}; fields: {', '.join(model.model_fields)}")
    patient = RECORD_TABLES["patient"]
    center_id = connection.execute(
        sa.select(patient.c.center_id).where(patient.c.patient_id == patient_id)
    ).scalar_one_or_none()
    if center_id is None:
        raise UserError(f"no stored patient {patient_id!r}")
    frame = _io.read_registry(connection, [patient_id])[record_type]
    keys = set(_key_text(record_type, frame).dropna()) if len(frame) else set()
    if record_key and record_key not in keys:
        known = ", ".join(sorted(keys)) or "none"
        raise UserError(f"patient {patient_id} has no {record_type} record {record_key!r} (stored: {known})")
    if not record_key and keys:
        raise UserError(f"--key: which {record_type} record of patient {patient_id}? ({', '.join(sorted(keys))})")
    if frame.empty:
        raise UserError(f"patient {patient_id} has no {record_type} record")
    values = {
        "patient_id": patient_id,
        "center_id": center_id,
        "record_type": record_type,
        "record_key": record_key,
        "field": field,
        "check_name": MANUAL_CHECK,
        "problem": question,
        "value": None,
        "severity": "warning",
        "origin": "manual",
        "status": "open",
        "opened_by": actor,
        "opened_at": _now(),
        "record_fingerprint": None,
    }
    query_id = int(connection.execute(sa.insert(data_query).values(values).returning(data_query.c.id)).scalar_one())
    connection.execute(
        audit_log.insert(),
        [
            _audit(
                "query_raise",
                query_id,
                patient_id,
                None,
                {"status": "open", "problem": question},
                actor=actor,
                batch_id=batch_id,
            )
        ],
    )
    return query_id


# ---- reading ---------------------------------------------------------------------------------------


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)


def list_queries(
    connection: sa.Connection,
    *,
    patient_id: str | None = None,
    center_id: str | None = None,
    user: str | None = None,
    status: str | None = None,
) -> list[DataQuery]:
    """Queries, oldest first; `user` matches who opened, acknowledged or resolved them."""
    if status is not None and status not in QUERY_STATUSES:
        raise UserError(f"--status {status!r}: expected one of {', '.join(QUERY_STATUSES)}")
    statement = sa.select(data_query).order_by(data_query.c.id)
    if patient_id is not None:
        statement = statement.where(data_query.c.patient_id == patient_id)
    if center_id is not None:
        statement = statement.where(data_query.c.center_id == center_id)
    if status is not None:
        statement = statement.where(data_query.c.status == status)
    if user is not None:
        statement = statement.where(
            sa.or_(
                data_query.c.opened_by == user,
                data_query.c.acknowledged_by == user,
                data_query.c.resolved_by == user,
            )
        )
    out = []
    for row in connection.execute(statement).mappings():
        values = dict(row)
        for name in ("opened_at", "acknowledged_at", "resolved_at"):
            values[name] = _utc(values[name])
        out.append(DataQuery(**values))
    return out


def query_counts(connection: sa.Connection, patient_ids: Sequence[str] | None = None) -> QueryCounts:
    """Queries by status (of some patients, or of all live ones: a soft-deleted patient's queries are not
    counted); what the report's data-quality sentence states."""
    statement = (
        sa.select(data_query.c.status, data_query.c.severity, data_query.c.origin, sa.func.count())
        .where(_io.live_patient_clause(data_query))
        .group_by(data_query.c.status, data_query.c.severity, data_query.c.origin)
    )
    counts: dict[tuple[str, str, str], int] = {}
    chunks = (
        [None]
        if patient_ids is None
        else [list(patient_ids[i : i + _IDS_PER_QUERY]) for i in range(0, len(patient_ids), _IDS_PER_QUERY)]
    )
    for chunk in chunks:
        selected = statement if chunk is None else statement.where(data_query.c.patient_id.in_(chunk))
        for status, severity, origin, n in connection.execute(selected).all():
            counts[(status, severity, origin)] = counts.get((status, severity, origin), 0) + int(n)

    def total(**wanted: str) -> int:
        return sum(
            n
            for (status, severity, origin), n in counts.items()
            if all({"status": status, "severity": severity, "origin": origin}[k] == v for k, v in wanted.items())
        )

    return QueryCounts(
        open=total(status="open"),
        acknowledged=total(status="acknowledged"),
        resolved=total(status="resolved"),
        acknowledged_warnings=total(status="acknowledged", severity="warning", origin="validation"),
        open_manual=total(status="open", origin="manual"),
    )


def reopen_counts(connection: sa.Connection, patient_ids: Sequence[str]) -> dict[int, int]:
    """How often each query of these patients was re-opened (from the audit trail: `query_reopen`)."""
    counts: dict[int, int] = {}
    ids = sorted(set(patient_ids))
    for start in range(0, len(ids), _IDS_PER_QUERY):
        statement = sa.select(audit_log.c.record_key).where(
            audit_log.c.action == "query_reopen",
            audit_log.c.record_type == data_query.name,
            audit_log.c.patient_id.in_(ids[start : start + _IDS_PER_QUERY]),
        )
        for key in connection.execute(statement).scalars():
            query_id = int(json.loads(key)["query_id"])
            counts[query_id] = counts.get(query_id, 0) + 1
    return counts


# ---- on a store (one transaction per call) ---------------------------------------------------------


class DataQueries:
    """The data queries of a store: `DataQueries(store).list(...)`, `.acknowledge(...)`, `.raise_query(...)`."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def list(
        self,
        *,
        patient_id: str | None = None,
        center_id: str | None = None,
        user: str | None = None,
        status: str | None = None,
    ) -> list[DataQuery]:
        with self._store._transaction() as connection:
            return list_queries(connection, patient_id=patient_id, center_id=center_id, user=user, status=status)

    def get(self, query_id: int) -> DataQuery:
        with self._store._transaction() as connection:
            found = [q for q in list_queries(connection) if q.id == query_id]
        if not found:
            raise UserError(f"no data query with id {query_id}")
        return found[0]

    def counts(self, patient_ids: Sequence[str] | None = None) -> QueryCounts:
        with self._store._transaction() as connection:
            return query_counts(connection, patient_ids)

    def reopen_counts(self, patient_ids: Sequence[str]) -> dict[int, int]:
        with self._store._transaction() as connection:
            return reopen_counts(connection, patient_ids)

    def acknowledge(self, query_id: int, *, reason: str, actor: str) -> None:
        with self._store._transaction(write=True) as connection:
            acknowledge(connection, query_id, reason=reason, actor=actor, batch_id=str(uuid.uuid4()))

    def resolve(self, query_id: int, *, actor: str) -> None:
        with self._store._transaction(write=True) as connection:
            resolve(connection, query_id, actor=actor, batch_id=str(uuid.uuid4()))

    def raise_query(
        self, *, patient_id: str, record_type: str, record_key: str, field: str, text: str, actor: str
    ) -> int:
        with self._store._transaction(write=True) as connection:
            return raise_query(
                connection,
                patient_id=patient_id,
                record_type=record_type,
                record_key=record_key,
                field=field,
                text=text,
                actor=actor,
                batch_id=str(uuid.uuid4()),
            )
