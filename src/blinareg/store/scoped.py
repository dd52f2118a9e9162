"""A user's view of the registry: only the live patients of their centers (data-access groups).

`CenterScope` is the one place where the center filter is applied: every read and write of the web and
the API goes through it, and a patient of another center (or a soft-deleted one) is reported exactly
like an absent one (`NotFound`), so no answer tells the two apart.

Writes carry the record's `row_version` (optimistic concurrency): an update or delete from an older
version raises `Conflict` with the stored and the submitted values and changes nothing. Changing or
deleting data already entered needs a reason, written to the audit row of the change.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from blinareg.errors import UserError
from blinareg.records.models import RECORD_TYPES, Record
from blinareg.records.problems import Problem
from blinareg.records.registry import Registry
from blinareg.store import _io
from blinareg.store.schema import RECORD_TABLES, ROW_VERSION, audit_log
from blinareg.store.store import AuditEntry, Store, audit_entry

# Audit actions that change no registry data (sign-ins, accounts, exports, reports).
READ_ONLY_ACTIONS = ("login", "login_failed", "lockout", "logout", "unlock", "account", "export", "report", "freeze")


class NotFound(UserError):
    """No such record visible to this user (absent, of another center, or soft-deleted)."""


class Conflict(UserError):
    """The record changed since it was opened: nothing was overwritten."""

    def __init__(
        self,
        record_type: str,
        key: Mapping[str, object],
        stored: dict[str, Any],
        submitted: dict[str, Any],
        version: int,
    ) -> None:
        self.record_type = record_type
        self.key = dict(key)
        self.stored = stored
        self.submitted = submitted
        self.stored_version = version
        super().__init__(
            f"{record_type} {_key_text(key)} was changed by someone else (now version {version}); "
            "nothing was overwritten"
        )


class ReasonRequired(UserError):
    """Changing or deleting data already entered needs a reason."""


class NotAllowed(UserError):
    """A change this user may not make (e.g. moving a patient to a center that is not theirs)."""


def _key_text(key: Mapping[str, object]) -> str:
    return ", ".join(f"{name}={value}" for name, value in key.items())


@dataclass(frozen=True)
class Page:
    rows: list[dict[str, Any]]  # record values, each with its `row_version`
    total: int
    offset: int
    limit: int


class CenterScope:
    """The registry as seen by one user: their centers only. `actor` is written to every audit row."""

    def __init__(self, store: Store, centers: Iterable[str], *, actor: str) -> None:
        self.store = store
        self.centers = frozenset(centers)
        self.actor = actor

    # -- the filter (the one place it is written) --

    def _visible(self, table: sa.Table, *, include_deleted: bool = False) -> list[sa.ColumnElement[bool]]:
        patient = RECORD_TABLES["patient"]
        if table is RECORD_TABLES["center"]:
            return [table.c.center_id.in_(sorted(self.centers))]
        clauses: list[sa.ColumnElement[bool]] = []
        if table is patient:
            clauses.append(patient.c.center_id.in_(sorted(self.centers)))
        else:
            mine = sa.select(patient.c.patient_id).where(patient.c.center_id.in_(sorted(self.centers)))
            clauses.append(table.c.patient_id.in_(mine))
        if not include_deleted:
            clauses.append(_io.live_patient_clause(table))
        return clauses

    # -- reading --

    def list_records(
        self,
        record_type: str,
        *,
        filters: Mapping[str, object] | None = None,
        offset: int = 0,
        limit: int = 50,
        deleted: bool = False,
    ) -> Page:
        """One page of records in key order, filtered by field equality; `deleted`: soft-deleted patients."""
        model = _model(record_type)
        table = RECORD_TABLES[record_type]
        where = self._visible(table, include_deleted=deleted)
        if deleted:
            where.append(RECORD_TABLES["patient"].c.deleted_at.is_not(None))
        for name, value in (filters or {}).items():
            if name not in table.c:
                raise UserError(f"{record_type} has no field {name!r}")
            where.append(table.c[name] == value)
        with self.store._transaction() as connection:
            total = connection.execute(sa.select(sa.func.count()).select_from(table).where(*where)).scalar_one()
            rows = (
                connection.execute(
                    sa.select(table)
                    .where(*where)
                    .order_by(*(table.c[k] for k in model.key))
                    .offset(offset)
                    .limit(limit)
                )
                .mappings()
                .all()
            )
        return Page([_values(model, row) for row in rows], total, offset, limit)

    def patient_overview(
        self,
        *,
        search: str = "",
        center_id: str = "",
        indication: str = "",
        vital_status: str | None = "",
        offset: int = 0,
        limit: int = 50,
    ) -> tuple[list[dict[str, Any]], int, int]:
        """One page of the patient list, in SQL: per patient id, center, sex, diagnosis date, indication
        (intent of the first blinatumomab line by start date) and follow-up status, in patient_id order.

        `search`: part of the patient id (any case); `vital_status` None: patients without a follow-up
        record; "" filters nothing. Returns the page's rows, the number of visible patients and the number
        matching the filters."""
        patient = RECORD_TABLES["patient"]
        diagnosis, follow_up, lines = (RECORD_TABLES[name] for name in ("diagnosis", "follow_up", "treatment_line"))
        first_line = (
            sa.select(lines.c.intent)
            .where(lines.c.patient_id == patient.c.patient_id, lines.c.treatment_type == "blinatumomab")
            .order_by(lines.c.start_date.is_(None), lines.c.start_date, lines.c.line_number)
            .limit(1)
            .scalar_subquery()
        )
        joined = patient.outerjoin(diagnosis, diagnosis.c.patient_id == patient.c.patient_id).outerjoin(
            follow_up, follow_up.c.patient_id == patient.c.patient_id
        )
        visible = self._visible(patient)
        where = list(visible)
        if search.strip():
            where.append(sa.func.lower(patient.c.patient_id).contains(search.strip().lower(), autoescape=True))
        if center_id:
            where.append(patient.c.center_id == center_id)
        if indication:
            where.append(first_line == indication)
        if vital_status is None:
            where.append(follow_up.c.vital_status.is_(None))
        elif vital_status:
            where.append(follow_up.c.vital_status == vital_status)
        with self.store._transaction() as connection:
            total = connection.execute(sa.select(sa.func.count()).select_from(patient).where(*visible)).scalar_one()
            matching = connection.execute(sa.select(sa.func.count()).select_from(joined).where(*where)).scalar_one()
            rows = connection.execute(
                sa.select(
                    patient.c.patient_id,
                    patient.c.center_id,
                    patient.c.sex,
                    diagnosis.c.diagnosis_date,
                    first_line.label("indication"),
                    follow_up.c.vital_status,
                    follow_up.c.last_contact_date,
                )
                .select_from(joined)
                .where(*where)
                .order_by(patient.c.patient_id)
                .offset(offset)
                .limit(limit)
            ).mappings()
            return [dict(row) for row in rows], int(total), int(matching)

    def get(self, record_type: str, key: object) -> dict[str, Any]:
        """One record's values with its `row_version`; NotFound when not visible."""
        model = _model(record_type)
        typed = _coerce(model, key)
        table = RECORD_TABLES[record_type]
        with self.store._transaction() as connection:
            row = (
                connection.execute(sa.select(table).where(*_key_clause(table, model, typed), *self._visible(table)))
                .mappings()
                .first()
            )
        if row is None:
            raise NotFound(f"no {record_type} {_key_text(dict(zip(model.key, typed)))}")
        return _values(model, row)

    def patient_ids(self) -> list[str]:
        patient = RECORD_TABLES["patient"]
        with self.store._transaction() as connection:
            return list(
                connection.execute(
                    sa.select(patient.c.patient_id).where(*self._visible(patient)).order_by(patient.c.patient_id)
                ).scalars()
            )

    def registry(self) -> Registry:
        """Every live record of the scope's patients (and their centers): what reports analyse."""
        ids = self.patient_ids()
        return self.store.load_registry(ids)

    def patient_registry(self, patient_id: str) -> Registry:
        """Every live record of one visible patient (NotFound otherwise), with the patient's center."""
        self.get("patient", (patient_id,))
        return self.store.load_registry([patient_id])

    def audit(
        self,
        *,
        patient_id: str | None = None,
        actor: str | None = None,
        center_id: str | None = None,
        record_type: str | None = None,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        offset: int = 0,
        limit: int | None = 200,
    ) -> tuple[list[AuditEntry], int]:
        """Audit rows of the scope's centers, and rows about no center (sign-ins, accounts); newest first."""
        patient = RECORD_TABLES["patient"]
        mine = sa.select(patient.c.patient_id).where(patient.c.center_id.in_(sorted(self.centers)))
        where = [
            sa.or_(
                audit_log.c.center_id.in_(sorted(self.centers)),
                # Rows written before centers were recorded (CLI edits): by their patient, else about none.
                sa.and_(
                    audit_log.c.center_id.is_(None),
                    sa.or_(audit_log.c.patient_id.is_(None), audit_log.c.patient_id.in_(mine)),
                    audit_log.c.record_type != "center",
                ),
            )
        ]
        for column, value in (
            ("patient_id", patient_id),
            ("actor", actor),
            ("center_id", center_id),
            ("record_type", record_type),
        ):
            if value:
                where.append(audit_log.c[column] == value)
        if since is not None:
            where.append(audit_log.c.at >= since)
        if until is not None:
            where.append(audit_log.c.at < until)
        with self.store._transaction() as connection:
            total = connection.execute(sa.select(sa.func.count()).select_from(audit_log).where(*where)).scalar_one()
            statement = sa.select(audit_log).where(*where).order_by(audit_log.c.id.desc()).offset(offset)
            if limit is not None:
                statement = statement.limit(limit)
            rows = connection.execute(statement).mappings().all()
        return [audit_entry(dict(row)) for row in rows], total

    def change_counter(self) -> int:
        """The id of the registry's last audit row of a data change (0: none): every import, edit, delete,
        restore and data-query change writes one in its transaction, so a cached aggregate keyed by it is
        stale exactly when this number moved. Sign-ins, exports and reports do not move it."""
        with self.store._transaction() as connection:
            value = connection.execute(
                sa.select(sa.func.max(audit_log.c.id)).where(audit_log.c.action.not_in(READ_ONLY_ACTIONS))
            ).scalar_one_or_none()
        return int(value or 0)

    def query_counts_by_center(self) -> list[tuple[str, int, int]]:
        """Per center of the scope: its open and its acknowledged data queries (center order)."""
        from blinareg.store.schema import data_query

        counts = {center: [0, 0] for center in sorted(self.centers)}
        with self.store._transaction() as connection:
            rows = connection.execute(
                sa.select(data_query.c.center_id, data_query.c.status, sa.func.count())
                .where(
                    data_query.c.center_id.in_(sorted(self.centers)),
                    data_query.c.status.in_(("open", "acknowledged")),
                )
                .group_by(data_query.c.center_id, data_query.c.status)
            ).all()
        for center, status, n in rows:
            counts[str(center)][0 if status == "open" else 1] += int(n)
        return [(center, open_, acknowledged) for center, (open_, acknowledged) in counts.items()]

    def can_read_centers(self, centers: Iterable[str] | None) -> bool:
        """Whether every center named is the scope's (None: every center of the registry)."""
        if centers is None:
            center = RECORD_TABLES["center"]
            with self.store._transaction() as connection:
                stored = set(connection.execute(sa.select(center.c.center_id)).scalars())
            return bool(stored) and stored <= self.centers
        return set(centers) <= self.centers

    # -- writing --

    def _owner_center(self, connection: sa.Connection, model: type[Record], values: Mapping[str, object]) -> str:
        """The center a record belongs to, checked to be the scope's; NotFound otherwise."""
        patient = RECORD_TABLES["patient"]
        patient_id = values.get("patient_id")
        row = connection.execute(
            sa.select(patient.c.center_id).where(patient.c.patient_id == patient_id, *self._visible(patient))
        ).first()
        if row is None:
            raise NotFound(f"no patient {patient_id}")
        return str(row.center_id)

    def _check_new_center(self, center_id: object) -> None:
        if center_id not in self.centers:
            raise NotAllowed(
                f"patient.center_id = {center_id}: not one of your centers ({', '.join(sorted(self.centers))})"
            )

    def save(
        self,
        record: Record,
        *,
        version: int | None,
        reason: str | None = None,
        source: str = "web",
    ) -> tuple[dict[str, Any], tuple[Problem, ...]]:
        """Create (`version` None) or update (`version` = the version that was opened) one record.

        Returns the stored values (with the new `row_version`) and the validation warnings.
        """
        model = type(record)
        if model.record_type == "center":
            raise NotAllowed("centers are managed by import, not through the web")
        values = _record_values_of(record)
        key = tuple(values[name] for name in model.key)
        if version is not None and not (reason and reason.strip()):
            raise ReasonRequired(
                f"a reason is required to change {model.record_type} {_key_text(dict(zip(model.key, key)))}"
            )

        def guard(connection: sa.Connection, stored_version: int | None, before: dict[str, Any] | None) -> str:
            if model.record_type == "patient" and version is None:
                self._check_new_center(values.get("center_id"))
                # A new patient id must not exist anywhere (another center's or a deleted patient).
                patient = RECORD_TABLES["patient"]
                taken = connection.execute(
                    sa.select(patient.c.center_id).where(patient.c.patient_id == values["patient_id"])
                ).first()
                if taken is not None:
                    visible = connection.execute(
                        sa.select(patient.c.patient_id).where(
                            patient.c.patient_id == values["patient_id"], *self._visible(patient)
                        )
                    ).first()
                    if visible is None:
                        raise NotAllowed(f"patient_id {values['patient_id']} cannot be used; choose another")
                center = str(values["center_id"])
            else:
                center = self._owner_center(connection, model, values)
                if model.record_type == "patient":
                    self._check_new_center(values.get("center_id"))  # moving to a center not the user's
            if version is None and stored_version is not None:
                raise Conflict(model.record_type, dict(zip(model.key, key)), before or {}, values, stored_version)
            if version is not None and stored_version is None:
                raise NotFound(f"no {model.record_type} {_key_text(dict(zip(model.key, key)))}")
            if version is not None and stored_version != version:
                assert stored_version is not None
                raise Conflict(model.record_type, dict(zip(model.key, key)), before or {}, values, stored_version)
            return center

        stored, warnings = self.store.save_record(
            record, actor=self.actor, guard=guard, reason=reason.strip() if reason else None, source=source
        )
        return stored, warnings

    def delete(self, record_type: str, key: object, *, version: int, reason: str | None, source: str = "web") -> None:
        """Delete one record (a patient: soft delete, with all their records kept for an administrator)."""
        model = _model(record_type)
        typed = _coerce(model, key)
        label = _key_text(dict(zip(model.key, typed)))
        if model.record_type == "center":
            raise NotAllowed("centers are managed by import, not through the web")
        if not (reason and reason.strip()):
            raise ReasonRequired(f"a reason is required to delete {record_type} {label}")

        def guard(connection: sa.Connection, stored_version: int | None, before: dict[str, Any] | None) -> str:
            if stored_version is None:
                raise NotFound(f"no {record_type} {label}")
            center = self._owner_center(connection, model, dict(zip(model.key, typed)))
            if stored_version != version:
                raise Conflict(record_type, dict(zip(model.key, typed)), before or {}, {}, stored_version)
            return center

        self.store.remove_record(
            record_type, typed, actor=self.actor, guard=guard, reason=reason.strip(), source=source
        )

    def restore(self, patient_id: str, *, reason: str | None) -> None:
        """Undo a patient's soft delete (administrators)."""
        if not (reason and reason.strip()):
            raise ReasonRequired(f"a reason is required to restore patient {patient_id}")
        patient = RECORD_TABLES["patient"]

        def guard(connection: sa.Connection) -> str:
            row = connection.execute(
                sa.select(patient.c.center_id).where(
                    patient.c.patient_id == patient_id,
                    patient.c.deleted_at.is_not(None),
                    *self._visible(patient, include_deleted=True),
                )
            ).first()
            if row is None:
                raise NotFound(f"no deleted patient {patient_id}")
            return str(row.center_id)

        self.store.restore_patient(patient_id, actor=self.actor, guard=guard, reason=reason.strip())

    def log(self, action: str, what: str, details: object = None) -> None:
        """Audit an export, a report or another read worth recording."""
        self.store.log_action(action, what, actor=self.actor, details=details)


def _model(record_type: str) -> type[Record]:
    model = RECORD_TYPES.get(record_type)
    if model is None:
        raise NotFound(f"no record type {record_type!r}")
    return model


def _coerce(model: type[Record], key: object) -> tuple[Any, ...]:
    from blinareg.store.store import _coerce_key

    try:
        return _coerce_key(model, key)
    except UserError as error:
        raise NotFound(str(error)) from None


def _key_clause(table: sa.Table, model: type[Record], key: Sequence[object]) -> list[sa.ColumnElement[bool]]:
    return [table.c[name] == value for name, value in zip(model.key, key)]


def _values(model: type[Record], row: Any) -> dict[str, Any]:
    """A stored row as record values (Python dates, numbers, codes) plus its row_version."""
    values = {name: row[name] for name in model.model_fields}
    values[ROW_VERSION] = int(row[ROW_VERSION])
    return values


def _record_values_of(record: Record) -> dict[str, Any]:
    from blinareg.store.store import _record_values

    return _record_values(record)
