"""The registry database: open, initialize (Alembic), import atomically, load, edit, delete, audit.

Every change runs in ONE transaction that also writes its `audit_log` rows; any failure rolls back
all of it. Imports and the command line's edits are serialized: their write transaction takes the
database's write lock up front (SQLite `BEGIN IMMEDIATE`, PostgreSQL `LOCK TABLE registry_meta IN
EXCLUSIVE MODE`), then reads the stored records it validates against, so validation and writing see the
same data. A web save (`save_record`) validates its patient's records BEFORE taking any lock, then in its
write transaction reads them again and reuses that validation only if they are unchanged (else it
validates again there); on PostgreSQL it locks only its patient's row (and waits for a running import),
so saves of different patients do not wait for each other. A single patient's records are validated with
what the one check across patients needs of the others (`validation.OtherPatients`, summed up in SQL),
which gives the problems whole-registry validation gives that patient.

Import semantics: the batch's patients (every patient_id in any of its tables) replace all their
stored records (delete, then insert); the batch's centers are inserted or updated; stored records of
other patients stay. The merged registry is validated (`blinareg.records.validate`, plus the
database's own column constraints); any error and nothing is written (`ValidationFailed` carries every
problem). Audit: one row per batch patient (action `import` for a new patient, `replace` for a stored
one; `before` = all their stored records by type, `after` = the number of records of each type now
stored; the records themselves are in the tables) and one per center (`before`/`after` rows).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import enum
import functools
import importlib.resources
import json
import os
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from pydantic import TypeAdapter, ValidationError

from blinareg import __version__
from blinareg.errors import UserError, ValidationFailed
from blinareg.records.models import RECORD_MODELS, RECORD_TYPES, Record
from blinareg.records.problems import Problem, Severity
from blinareg.records.registry import Registry, columns, frame_to_dicts, normalize_frame
from blinareg.records.validation import FlowValues, OtherPatients, detected_flow_mrd, locate, validate
from blinareg.store import _io
from blinareg.store import queries as _queries
from blinareg.store.constraints import constraint_problems
from blinareg.store.schema import AUDIT_TABLE, RECORD_TABLES, audit_log, registry_meta
from blinareg.store.settings import StoreSettings, store_settings

# progress(stage, done, total): stage is "reading", "validating" or "writing"; done/total count rows.
ImportProgress = Callable[[str, int, int], None]

_WRITE_OPTION = "blinareg_write"
_AUDIT_COLUMNS = (
    "center_id",
    "at",
    "actor",
    "action",
    "record_type",
    "patient_id",
    "record_key",
    "before",
    "after",
    "batch_id",
    "source",
)


class StoreNotInitialized(UserError):
    """The database has no registry schema (or an outdated one); `blinareg init` fixes it."""


@dataclass(frozen=True)
class ImportResult:
    batch_id: str
    source: str
    dry_run: bool
    patients_added: int
    patients_replaced: int
    centers_added: int
    centers_updated: int
    records: dict[str, int]  # records of each type in the batch
    warnings: tuple[Problem, ...]  # warnings about the batch's patients and centers


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: dt.datetime  # UTC, timezone-aware
    actor: str
    action: str
    record_type: str
    patient_id: str | None
    record_key: dict
    before: object  # parsed JSON, None when there was nothing before
    after: object  # parsed JSON, None after a delete
    batch_id: str
    source: str | None
    reason: str | None = None
    center_id: str | None = None


@dataclass(frozen=True)
class RegistrySummary:
    counts: dict[str, int]  # records per record type
    patients_per_center: dict[str, int]
    synthetic: str  # "yes" (every center synthetic), "no", "mixed" or "empty"
    meta: dict[str, str]
    deleted_patients: int = 0  # soft-deleted patients, not in `counts` nor `patients_per_center`


# ---- Alembic -------------------------------------------------------------------------------------


def _migrations_location() -> str:
    return str(importlib.resources.files("blinareg.store") / "migrations")


def alembic_config(connection: sa.Connection | None = None, url: str | None = None) -> Config:
    """An Alembic configuration for the packaged migrations (no alembic.ini needed)."""
    config = Config()
    config.set_main_option("script_location", _migrations_location())
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@functools.cache
def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str:
    head = _scripts().get_current_head()
    assert head is not None
    return head


# ---- values ----------------------------------------------------------------------------------------


def _json_default(value: object) -> object:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"cannot store {type(value).__name__} in the audit log")


def _json(value: object) -> str | None:
    return (
        None if value is None else json.dumps(value, default=_json_default, ensure_ascii=False, separators=(",", ":"))
    )


def _plain(value: object) -> object:
    return value.value if isinstance(value, enum.Enum) else value


def _record_values(record: Record) -> dict:
    return {name: _plain(getattr(record, name)) for name in type(record).model_fields}


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _key_mask(model: type[Record], frame: pd.DataFrame, key: Sequence[object]) -> np.ndarray:
    mask = np.ones(len(frame), dtype=bool)
    for name, value in zip(model.key, key):
        column = frame[name]
        if isinstance(value, dt.date):
            value = pd.Timestamp(value)
        mask &= (column == value).fillna(False).to_numpy(dtype=bool)
    return mask


def _model(record_type: str) -> type[Record]:
    model = RECORD_TYPES.get(record_type)
    if model is None:
        raise UserError(f"unknown record type {record_type!r}; expected one of {', '.join(RECORD_TYPES)}")
    return model


_ENTERED_STEPWISE = "one_per_patient"  # the check a patient entered one record at a time fails meanwhile


def _coerce_key(model: type[Record], key: object) -> tuple:
    """A record key (mapping by field name, tuple in key order, or a single value) as typed values."""
    if isinstance(key, Mapping):
        missing = [name for name in model.key if name not in key]
        if missing:
            raise UserError(f"{model.record_type} key needs {', '.join(missing)}")
        values = [key[name] for name in model.key]
    elif isinstance(key, (tuple, list)):
        values = list(key)
    else:
        values = [key]
    if len(values) != len(model.key):
        raise UserError(f"{model.record_type} key is ({', '.join(model.key)}), got {len(values)} value(s)")
    typed = []
    for name, value in zip(model.key, values):
        try:
            typed.append(_plain(TypeAdapter(model.model_fields[name].annotation).validate_python(value)))
        except ValidationError as error:
            reason = error.errors(include_url=False)[0]["msg"]
            raise UserError(f"{model.record_type}.{name} = {value!r}: {reason}") from None
    return tuple(typed)


def _key_dict(model: type[Record], key: Sequence[object]) -> dict:
    return dict(zip(model.key, key))


if TYPE_CHECKING:
    from blinareg.store.accounts import Accounts


# ---- the store -------------------------------------------------------------------------------------


class Store:
    """A registry database. Open with `Store.open(url)`; one transaction per import, edit or delete."""

    def __init__(self, settings: StoreSettings, engine: sa.Engine) -> None:
        self.settings = settings
        self._engine = engine
        # Set once the schema was found current: a long-running server then skips reading the Alembic
        # revision in every transaction (`init` clears it).
        self._schema_current = False

    @classmethod
    def open(cls, url: str | None = None, *, environ: Mapping[str, str] | None = None) -> "Store":
        """`url`, else $BLINAREG_DATABASE_URL, else `sqlite:///blinareg.sqlite`. Connects lazily."""
        settings = store_settings(url, environ)
        return cls(settings, _create_engine(settings))

    @property
    def url(self) -> str:
        return self.settings.display_url

    @property
    def dialect(self) -> str:
        return self.settings.backend

    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- connections and schema --

    @contextlib.contextmanager
    def _transaction(
        self,
        *,
        write: bool = False,
        initialized: bool = True,
        sqlite_foreign_keys: bool = True,
        serialize: bool = True,
    ) -> Iterator[sa.Connection]:
        """One transaction; commits on success, rolls back on any exception.

        `write`: takes the write lock up front (SQLite BEGIN IMMEDIATE, which waits for a busy database
        instead of failing later); `serialize=False` skips PostgreSQL's registry-wide lock, for small
        writes that validate nothing (sessions, audit rows of reads).

        `sqlite_foreign_keys=False` (migrations only): SQLite cannot switch foreign keys inside a
        transaction, and a batch migration that recreates a parent table (DROP TABLE patient) would
        otherwise cascade-delete every child record; the caller runs `PRAGMA foreign_key_check` instead.
        """
        path = self.settings.sqlite_path
        if initialized and path is not None and not os.path.exists(path):
            raise self._not_initialized()
        engine = self._engine.execution_options(**{_WRITE_OPTION: True}) if write else self._engine
        try:
            connection = engine.connect()
        except sa.exc.OperationalError as error:
            raise UserError(f"cannot connect to {self.url}: {_first_line(error.orig or error)}") from None
        sqlite = connection.dialect.name == "sqlite"
        if sqlite and not sqlite_foreign_keys:
            connection.connection.dbapi_connection.execute("PRAGMA foreign_keys=OFF")
        try:
            with connection.begin():
                if initialized:
                    if not self._schema_current:
                        self._require_current(connection)
                        self._schema_current = True
                    if write and serialize and connection.dialect.name == "postgresql":
                        connection.exec_driver_sql(f"LOCK TABLE {registry_meta.name} IN EXCLUSIVE MODE")
                yield connection
        except sa.exc.OperationalError as error:
            if "locked" in str(error.orig) or "busy" in str(error.orig):
                raise UserError(f"database {self.url} is busy (another import or edit is running); try again") from None
            raise
        finally:
            if sqlite and not sqlite_foreign_keys:
                connection.connection.dbapi_connection.execute("PRAGMA foreign_keys=ON")
            connection.close()

    def _not_initialized(self) -> StoreNotInitialized:
        return StoreNotInitialized(f"database {self.url} is not initialized; run `blinareg init` first")

    def _revision(self, connection: sa.Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    def _require_current(self, connection: sa.Connection) -> None:
        current = self._revision(connection)
        if current is None:
            raise self._not_initialized()
        head = head_revision()
        if current != head:
            try:
                _scripts().get_revision(current)
            except CommandError:
                raise UserError(
                    f"database {self.url} has schema revision {current}, unknown to blinareg "
                    f"{__version__} (written by a newer version?)"
                ) from None
            raise StoreNotInitialized(
                f"database {self.url} has schema revision {current}, blinareg "
                f"{__version__} needs {head}; run `blinareg init` to upgrade it"
            )

    def init(self) -> str:
        """Create or upgrade the schema to the newest migration (idempotent); returns the revision."""
        self._schema_current = False
        with self._transaction(write=True, initialized=False, sqlite_foreign_keys=False) as connection:
            command.upgrade(alembic_config(connection), "head")
            if connection.dialect.name == "sqlite":
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(
                        f"the migration left {len(broken)} rows without their parent "
                        f"(first: {tuple(broken[0])}); rolled back"
                    )
            existing = connection.execute(sa.select(registry_meta.c.key)).scalars().all()
            facts = {"created_at": _io.utc_now().isoformat(timespec="seconds"), "created_by": f"blinareg {__version__}"}
            new = [{"key": key, "value": value} for key, value in facts.items() if key not in existing]
            if new:
                connection.execute(registry_meta.insert(), new)
        return head_revision()

    def is_initialized(self) -> bool:
        """True when the database holds the registry schema at the newest revision."""
        try:
            with self._transaction() as _:
                return True
        except StoreNotInitialized:
            return False

    def require_initialized(self) -> None:
        """Raise StoreNotInitialized (saying what to run) unless the schema is at the newest revision."""
        with self._transaction() as _:
            pass

    def schema_revision(self) -> str | None:
        path = self.settings.sqlite_path
        if path is not None and not os.path.exists(path):
            return None
        with self._transaction(initialized=False) as connection:
            return self._revision(connection)

    # -- reading --

    def load_registry(self, patient_ids: Sequence[str] | None = None) -> Registry:
        """Stored records: all of them, or of some patients (and the centers those patients belong to)."""
        with self._transaction() as connection:
            return _io.read_registry(connection, None if patient_ids is None else sorted(set(patient_ids)))

    def patient_problems(self, patient_id: str) -> list[Problem]:
        """The validation problems of one stored patient: the same as validating the whole stored registry
        gives for them (the check across patients of a center sees the center's other patients)."""
        with self._transaction() as connection:
            return self._problems(connection, _io.read_registry(connection, [patient_id], all_centers=True))

    def load_centers(self) -> pd.DataFrame:
        """The stored centers (every column of the center record), e.g. to keep their names on import."""
        with self._transaction() as connection:
            return _io.read_frame(connection, "center")

    def summary(self) -> RegistrySummary:
        """Records per type and patients per center, of live patients only; soft-deleted patients (and
        their records) are counted apart, in `deleted_patients`."""
        with self._transaction() as connection:
            counts = {
                name: connection.execute(
                    sa.select(sa.func.count())
                    .select_from(table)
                    .where(*([_io.live_patient_clause(table)] if "patient_id" in table.c else []))
                ).scalar_one()
                for name, table in RECORD_TABLES.items()
            }
            patient, center = RECORD_TABLES["patient"], RECORD_TABLES["center"]
            per_center = dict(
                connection.execute(
                    sa.select(center.c.center_id, sa.func.count(patient.c.patient_id))
                    .select_from(
                        center.outerjoin(
                            patient, sa.and_(patient.c.center_id == center.c.center_id, patient.c.deleted_at.is_(None))
                        )
                    )
                    .group_by(center.c.center_id)
                    .order_by(center.c.center_id)
                ).all()
            )
            deleted = connection.execute(
                sa.select(sa.func.count()).select_from(patient).where(patient.c.deleted_at.is_not(None))
            ).scalar_one()
            flags = set(connection.execute(sa.select(center.c.synthetic).distinct()).scalars().all())
            meta = dict(
                connection.execute(
                    sa.select(registry_meta.c.key, registry_meta.c.value).order_by(registry_meta.c.key)
                ).all()
            )
        synthetic = "empty" if not flags else "mixed" if len(flags) > 1 else "yes" if flags.pop() else "no"
        return RegistrySummary(counts, per_center, synthetic, meta, deleted)

    def audit_entries(
        self,
        *,
        patient_id: str | None = None,
        record_type: str | None = None,
        action: str | None = None,
        batch_id: str | None = None,
    ) -> list[AuditEntry]:
        """Audit rows, oldest first, optionally filtered."""
        statement = sa.select(audit_log).order_by(audit_log.c.id)
        for column, value in (
            ("patient_id", patient_id),
            ("record_type", record_type),
            ("action", action),
            ("batch_id", batch_id),
        ):
            if value is not None:
                statement = statement.where(audit_log.c[column] == value)
        with self._transaction() as connection:
            rows = connection.execute(statement).mappings().all()
        entries = [audit_entry(row) for row in rows]
        return entries

    # -- import --

    def import_registry(
        self,
        registry: Registry,
        *,
        source: str,
        actor: str = "cli",
        dry_run: bool = False,
        progress: ImportProgress | None = None,
    ) -> ImportResult:
        """Import a batch atomically (see the module docstring). Raises ValidationFailed on any error."""
        report = progress or (lambda stage, done, total: None)
        batch_patients = _patients_in(registry)
        batch_centers = set(registry["center"]["center_id"])
        with self._transaction(write=not dry_run) as connection:
            report("reading", 0, 1)
            stored = _io.read_registry(connection)
            _refuse_deleted_patients(connection, batch_patients)
            report("reading", 1, 1)
            stored_patients = set(stored["patient"]["patient_id"])
            stored_centers = set(stored["center"]["center_id"])
            report("validating", 0, 1)
            merged = _merge(stored, registry, batch_patients, batch_centers)
            # Each problem names the batch's own sheet/file and row where the record came from one.
            problems = locate(constraint_problems(registry) + validate(merged), registry)
            report("validating", 1, 1)
            errors = [p for p in problems if p.severity is Severity.ERROR]
            warnings = tuple(
                p
                for p in problems
                if p.severity is Severity.WARNING and _concerns_batch(p, batch_patients, batch_centers)
            )
            if errors:
                raise ValidationFailed([*errors, *warnings])
            replaced = sorted(batch_patients & stored_patients)
            result = ImportResult(
                batch_id=str(uuid.uuid4()),
                source=source,
                dry_run=dry_run,
                patients_added=len(batch_patients - stored_patients),
                patients_replaced=len(replaced),
                centers_added=len(batch_centers - stored_centers),
                centers_updated=len(batch_centers & stored_centers),
                records=registry.counts(),
                warnings=warnings,
            )
            if dry_run:
                return result
            audit = _import_audit(connection, result, actor, stored, registry, batch_patients, replaced)
            total = sum(registry.counts().values()) + len(audit)
            written = 0

            def advance(rows: int) -> None:
                nonlocal written
                written += rows
                report("writing", written, total)

            report("writing", 0, total)
            _io.delete_patients(connection, replaced)
            centers = registry["center"]
            existing = centers["center_id"].isin(stored_centers).to_numpy()
            _update_centers(connection, centers[existing])
            advance(int(existing.sum()))
            _io.insert_frame(connection, "center", centers[~existing], advance)
            for model in RECORD_MODELS[1:]:
                _io.insert_frame(connection, model.record_type, registry[model.record_type], advance)
            _io.insert_rows(connection, audit_log, _AUDIT_COLUMNS, audit, advance)
            _queries.synchronize(
                connection, registry, batch_patients, warnings, actor=actor, batch_id=result.batch_id, source=source
            )
            _set_meta(
                connection,
                {
                    "last_import_at": _io.utc_now().isoformat(timespec="seconds"),
                    "last_import_source": source,
                    "last_import_batch": result.batch_id,
                },
            )
        return result

    # -- single records --

    def edit_record(self, record: Record, *, actor: str, source: str | None = None) -> tuple[Problem, ...]:
        """Insert or update one record after validating its patient (or its center); returns warnings."""
        model = type(record)
        values = _record_values(record)
        with self._transaction(write=True) as connection:
            before, warnings, _ = self._write_one(connection, model, values, actor=actor, source=source)
            write_audit(
                connection,
                actor=actor,
                action="edit",
                record_type=model.record_type,
                patient_id=values.get("patient_id"),
                key=_key_dict(model, tuple(values[name] for name in model.key)),
                before=before,
                after=values,
                source=source,
            )
        return warnings

    def _change(
        self, connection: sa.Connection, model: type[Record], values: dict, *, earlier: _Change | None = None
    ) -> _Change:
        """One record's change validated against its patient's stored records (and every center); `earlier`
        (validated outside the write lock) is reused when those records are still the same."""
        key = tuple(values[name] for name in model.key)
        stored = self._owner_registry(connection, model, key)
        if earlier is not None and _same_records(stored, earlier.stored):
            return earlier
        frame = stored[model.record_type]
        mask = _key_mask(model, frame, key)
        before = frame_to_dicts(model, frame[mask])
        new_frame = normalize_frame(model, pd.DataFrame([values]))
        kept = frame[~mask]
        merged = stored.replaced(
            model.record_type, new_frame if kept.empty else pd.concat([kept, new_frame], ignore_index=True)
        )
        # The stored records passed the column constraints when they were written: only the new one is checked.
        problems = constraint_problems(merged, [model.record_type]) + self._problems(connection, merged)
        # Entered record by record, a patient lacks their diagnosis or follow-up for a while: that is shown
        # with the patient's problems, and blocks no save.
        problems = [p for p in problems if p.check != _ENTERED_STEPWISE]
        return _Change(stored, merged, before[0] if before else None, problems)

    def _problems(self, connection: sa.Connection, registry: Registry) -> list[Problem]:
        """`validate` of some patients' records (and every center), with what the check across patients
        needs of the others: the same problems as validating the whole stored registry, for these patients."""
        if registry["patient"].empty:
            return validate(registry)
        return validate(registry, other_patients=_other_patients(connection, registry))

    def _validated_removal(
        self,
        connection: sa.Connection,
        stored: Registry,
        model: type[Record],
        key: Sequence[object],
        remaining: pd.DataFrame,
    ) -> tuple[Registry, list[Problem]]:
        """The registry with the record's table cut to `remaining`, and its problems; refused with errors."""
        after = stored.replaced(model.record_type, remaining)
        problems = self._problems(connection, after)
        errors = [p for p in problems if p.severity is Severity.ERROR]
        if errors:
            raise ValidationFailed(
                errors, f"deleting {_label(model, key)} would leave {len(errors)} validation error(s)"
            )
        return after, problems

    def _write_one(
        self,
        connection: sa.Connection,
        model: type[Record],
        values: dict,
        *,
        actor: str,
        source: str | None,
        earlier: _Change | None = None,
    ) -> tuple[dict | None, tuple[Problem, ...], int]:
        """Validate one record against its patient and insert or update it (row_version + 1); the
        patient's data queries follow the new problems in the same transaction.

        Returns the stored values before (None: new), the warnings and the new row_version.
        """
        change = self._change(connection, model, values, earlier=earlier)
        if change.errors:
            raise ValidationFailed(change.problems)
        key = tuple(values[name] for name in model.key)
        table = RECORD_TABLES[model.record_type]
        where = _key_clause(table, model, key)
        if change.before is not None:
            others = {name: value for name, value in values.items() if name not in model.key}
            connection.execute(
                sa.update(table).where(*where).values({**others, "row_version": table.c.row_version + 1})
            )
        else:
            connection.execute(sa.insert(table).values(values))
        version = connection.execute(sa.select(table.c.row_version).where(*where)).scalar_one()
        if "patient_id" in values:
            _queries.synchronize(
                connection,
                change.merged,
                [values["patient_id"]],
                change.problems,
                actor=actor,
                batch_id=_new_batch(),
                source=source,
            )
        return change.before, tuple(p for p in change.problems if p.severity is Severity.WARNING), version

    def _stored_row(
        self, connection: sa.Connection, model: type[Record], key: Sequence[object]
    ) -> tuple[int | None, dict | None]:
        """A record's row_version and values as stored (soft-deleted patients included), or (None, None)."""
        table = RECORD_TABLES[model.record_type]
        row = connection.execute(sa.select(table).where(*_key_clause(table, model, key))).mappings().first()
        if row is None:
            return None, None
        values = {name: _plain(row[name]) for name in model.model_fields}
        return int(row["row_version"]), values

    def save_record(
        self,
        record: Record,
        *,
        actor: str,
        guard: Callable[[sa.Connection, int | None, dict | None], str],
        reason: str | None,
        source: str,
    ) -> tuple[dict, tuple[Problem, ...]]:
        """Create or update one record for the web: `guard(connection, stored_version, stored_values)`
        checks access and version inside the write transaction and returns the record's center.

        Writes the record and its `create`/`update` audit row (with reason and center) atomically;
        returns the stored values with their new `row_version`, and the warnings.
        """
        model = type(record)
        values = _record_values(record)
        key = tuple(values[name] for name in model.key)
        # Validation runs before the write transaction (no lock held): access is checked first, so the
        # problems of a record the user may not see are never shown. The write transaction checks access
        # and version again and reuses the validation when the patient's records are still the same.
        with self._transaction() as connection:
            stored_version, stored_values = self._stored_row(connection, model, key)
            guard(connection, stored_version, stored_values)
            change = self._change(connection, model, values)
        if change.errors:
            raise ValidationFailed(change.problems)
        # PostgreSQL: saves lock their patient's row, not the registry (imports still wait for them, and
        # they for imports); a new patient or center takes the registry-wide lock. SQLite has one writer.
        registry_wide = model.record_type == "center" or (model.record_type == "patient" and stored_version is None)
        with self._transaction(write=True, serialize=registry_wide) as connection:
            if not registry_wide:
                _lock_patient(connection, str(key[0]))
            stored_version, stored_values = self._stored_row(connection, model, key)
            center_id = guard(connection, stored_version, stored_values)
            before, warnings, version = self._write_one(
                connection, model, values, actor=actor, source=source, earlier=change
            )
            write_audit(
                connection,
                actor=actor,
                action="update" if before is not None else "create",
                record_type=model.record_type,
                patient_id=values.get("patient_id"),
                key=_key_dict(model, key),
                before=before,
                after=values,
                source=source,
                reason=reason,
                center_id=center_id,
            )
        return {**values, "row_version": version}, warnings

    def remove_record(
        self,
        record_type: str,
        key: tuple,
        *,
        actor: str,
        guard: Callable[[sa.Connection, int | None, dict | None], str],
        reason: str,
        source: str,
    ) -> None:
        """Delete one record for the web; a patient is soft-deleted (kept, hidden, restorable)."""
        model = _model(record_type)
        table = RECORD_TABLES[record_type]
        where = _key_clause(table, model, key)
        with self._transaction(write=True) as connection:
            stored_version, stored_values = self._stored_row(connection, model, key)
            center_id = guard(connection, stored_version, stored_values)
            stored = self._owner_registry(connection, model, key)
            if record_type == "patient":
                before: object = _records_of(stored, {key[0]}).get(key[0], {})
                connection.execute(
                    sa.update(table)
                    .where(*where)
                    .values(deleted_at=_io.utc_now(), deleted_by=actor, row_version=table.c.row_version + 1)
                )
            else:
                frame = stored[record_type]
                mask = _key_mask(model, frame, key)
                before = frame_to_dicts(model, frame[mask])[0]
                after, problems = self._validated_removal(connection, stored, model, key, frame[~mask])
                connection.execute(sa.delete(table).where(*where))
                # The patient's data queries follow (a soft-deleted patient keeps them for a restore).
                _queries.synchronize(
                    connection, after, [str(key[0])], problems, actor=actor, batch_id=_new_batch(), source=source
                )
            write_audit(
                connection,
                actor=actor,
                action="delete",
                record_type=record_type,
                patient_id=str(key[0]),
                key=_key_dict(model, key),
                before=before,
                after=None,
                source=source,
                reason=reason,
                center_id=center_id,
            )

    def restore_patient(
        self, patient_id: str, *, actor: str, guard: Callable[[sa.Connection], str], reason: str
    ) -> None:
        """Undo a soft delete: the patient and their records are visible again."""
        table = RECORD_TABLES["patient"]
        with self._transaction(write=True) as connection:
            center_id = guard(connection)
            connection.execute(
                sa.update(table)
                .where(table.c.patient_id == patient_id)
                .values(deleted_at=None, deleted_by=None, row_version=table.c.row_version + 1)
            )
            write_audit(
                connection,
                actor=actor,
                action="restore",
                record_type="patient",
                patient_id=patient_id,
                key={"patient_id": patient_id},
                before=None,
                after=None,
                source="web",
                reason=reason,
                center_id=center_id,
            )

    def log_action(self, action: str, what: str, *, actor: str, details: object = None) -> None:
        """An audit row for something that changes no data: an export, a report."""
        with self._transaction(write=True, serialize=False) as connection:
            write_audit(
                connection,
                actor=actor,
                action=action,
                record_type=what,
                patient_id=None,
                key={},
                before=None,
                after=details,
                source="web",
            )

    @functools.cached_property
    def accounts(self) -> "Accounts":
        """Users, sessions and API tokens of the web registry (`blinareg.store.accounts`)."""
        from blinareg.store.accounts import Accounts

        return Accounts(self)

    def delete_record(self, record_type: str, key: object, *, actor: str, source: str | None = None) -> None:
        """Delete one record (a patient: with all their records). Refused if its patient would be invalid."""
        model = _model(record_type)
        key = _coerce_key(model, key)
        table = RECORD_TABLES[record_type]
        with self._transaction(write=True) as connection:
            stored = self._owner_registry(connection, model, key)
            frame = stored[record_type]
            mask = _key_mask(model, frame, key)
            if not mask.any():
                raise UserError(f"no {record_type} record with {_label(model, key)}")
            before: object = frame_to_dicts(model, frame[mask])[0]
            after, problems = stored, []  # what the patient's data queries are re-checked against
            if record_type == "center":
                patients = RECORD_TABLES["patient"]
                count = connection.execute(
                    sa.select(sa.func.count()).select_from(patients).where(patients.c.center_id == key[0])
                ).scalar_one()
                if count:
                    raise UserError(f"center {key[0]} still has {count} patient(s); delete or move them first")
            elif record_type == "patient":
                before = _records_of(stored, {key[0]}).get(key[0], {})
            else:
                after, problems = self._validated_removal(connection, stored, model, key, frame[~mask])
            connection.execute(sa.delete(table).where(*_key_clause(table, model, key)))
            write_audit(
                connection,
                actor=actor,
                action="delete",
                record_type=record_type,
                patient_id=key[0] if "patient_id" in model.key else None,
                key=_key_dict(model, key),
                before=before,
                after=None,
                source=source,
            )
            if "patient_id" in model.key:
                _queries.synchronize(
                    connection, after, [key[0]], problems, actor=actor, batch_id=_new_batch(), source=source
                )

    def _owner_registry(self, connection: sa.Connection, model: type[Record], key: Sequence[object]) -> Registry:
        """What a single-record change is validated against: its patient's records and every center."""
        if model.record_type == "center":
            return Registry({"center": _io.read_frame(connection, "center")})
        return _io.read_registry(connection, [str(key[0])], all_centers=True)


# ---- helpers ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Change:
    """One record's change, validated: the patient's stored records, them with the change, the stored
    values of the record (None: new) and every problem."""

    stored: Registry
    merged: Registry
    before: dict | None
    problems: list[Problem]

    @property
    def errors(self) -> bool:
        return any(p.severity is Severity.ERROR for p in self.problems)


def _same_records(a: Registry, b: Registry) -> bool:
    return all(a[record_type].equals(b[record_type]) for record_type in RECORD_TYPES)


def _lock_patient(connection: sa.Connection, patient_id: str) -> None:
    """PostgreSQL: wait for an import (SHARE conflicts with its EXCLUSIVE lock, not with other saves), then
    lock the patient's row: changes of one patient are serialized, other patients' saves run alongside."""
    if connection.dialect.name != "postgresql":
        return
    connection.exec_driver_sql(f"LOCK TABLE {registry_meta.name} IN SHARE MODE")
    patient = RECORD_TABLES["patient"]
    connection.execute(sa.select(patient.c.patient_id).where(patient.c.patient_id == patient_id).with_for_update())


def _other_patients(connection: sa.Connection, registry: Registry) -> OtherPatients:
    """`validation.other_patients_of` in SQL: per center of the registry's patients, the detected flow MRD
    fractions (> 0) of the center's other live patients. Only asked for when the registry has such a value."""
    if detected_flow_mrd(registry).empty:
        return OtherPatients({})
    mrd, patient = RECORD_TABLES["mrd_assessment"], RECORD_TABLES["patient"]
    ids = sorted(set(registry["patient"]["patient_id"]))
    centers = sorted(set(registry["patient"]["center_id"].dropna()))
    rows = connection.execute(
        sa.select(patient.c.center_id, sa.func.count(), sa.func.min(mrd.c.fraction), sa.func.max(mrd.c.fraction))
        .select_from(mrd.join(patient, mrd.c.patient_id == patient.c.patient_id))
        .where(
            patient.c.center_id.in_(centers),
            patient.c.deleted_at.is_(None),
            mrd.c.patient_id.not_in(ids),
            mrd.c.method == "flow",
            mrd.c.detected == sa.true(),
            mrd.c.fraction > 0,
        )
        .group_by(patient.c.center_id)
    ).all()
    return OtherPatients({str(row[0]): FlowValues(int(row[1]), float(row[2]), float(row[3])) for row in rows})


def _create_engine(settings: StoreSettings) -> sa.Engine:
    if settings.backend != "sqlite":
        return sa.create_engine(settings.url, pool_pre_ping=True)
    engine = sa.create_engine(settings.url)

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # noqa: ANN001
        # SQLAlchemy's recipe for real SQLite transactions: the driver never begins one on its own,
        # `_on_begin` does (IMMEDIATE for writes, taking the write lock before reading what to validate).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in ("foreign_keys=ON", "journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=30000"):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        immediate = connection.get_execution_options().get(_WRITE_OPTION)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def _refuse_deleted_patients(connection: sa.Connection, patient_ids: set[str]) -> None:
    """A soft-deleted patient comes back only by an administrator's restore, never by an import."""
    table = RECORD_TABLES["patient"]
    deleted = connection.execute(sa.select(table.c.patient_id).where(table.c.deleted_at.is_not(None))).scalars().all()
    again = sorted(patient_ids.intersection(deleted))
    if again:
        raise UserError(
            f"patient(s) {', '.join(again[:5])}{' ...' if len(again) > 5 else ''} were deleted in the web registry; "
            "an administrator can restore them there, then import again"
        )


def _patients_in(registry: Registry) -> set[str]:
    ids: set[str] = set()
    for record_type, frame in registry.tables.items():
        if record_type != "center":
            ids.update(frame["patient_id"].dropna())
    return ids


def _merge(stored: Registry, batch: Registry, patients: set[str], centers: set[str]) -> Registry:
    """Stored records of patients (and centers) not in the batch, plus the batch."""
    tables = {}
    for record_type, frame in stored.tables.items():
        column, replaced = ("center_id", centers) if record_type == "center" else ("patient_id", patients)
        kept = frame[~frame[column].isin(replaced)]
        new = batch[record_type]
        tables[record_type] = new if kept.empty else kept if new.empty else pd.concat([kept, new], ignore_index=True)
    if all(table is batch[name] for name, table in tables.items()):
        return batch  # nothing stored is kept (e.g. a first import): no need to normalize again
    return Registry(tables)


def _concerns_batch(problem: Problem, patients: set[str], centers: set[str]) -> bool:
    if problem.patient_id is not None:
        return problem.patient_id in patients
    if problem.record_type == "center":
        return any(problem.key == f"center_id={center}" for center in centers)
    return True


def _records_of(registry: Registry, patient_ids: set[str]) -> dict[str, dict[str, list[dict]]]:
    """Each patient's records by type, as plain values (the `before` of an audit row)."""
    out: dict[str, dict[str, list[dict]]] = {}
    for model in RECORD_MODELS[1:]:
        frame = registry[model.record_type]
        rows = frame[frame["patient_id"].isin(patient_ids)]
        for row in frame_to_dicts(model, rows):
            out.setdefault(row["patient_id"], {}).setdefault(model.record_type, []).append(row)
    return out


def _record_counts_json(registry: Registry, patient_ids: set[str]) -> dict[str, str]:
    """Per patient, the JSON object {record_type: number of records} of the types they have."""
    names = [model.record_type for model in RECORD_MODELS[1:]]
    counts = pd.DataFrame({name: registry[name]["patient_id"].value_counts() for name in names})
    counts = counts.reindex(sorted(patient_ids)).fillna(0).astype(int)
    return {
        patient_id: _json({name: int(n) for name, n in zip(names, row) if n})
        for patient_id, row in zip(counts.index, counts.to_numpy())
    }


def _timestamp(connection: sa.Connection, at: dt.datetime) -> object:
    """`at` as the audit column stores it (SQLAlchemy's SQLite DateTime format: naive UTC text)."""
    if connection.dialect.name == "sqlite":
        return at.astimezone(dt.timezone.utc).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
    return at


def _import_audit(
    connection: sa.Connection,
    result: ImportResult,
    actor: str,
    stored: Registry,
    batch: Registry,
    patients: set[str],
    replaced: Sequence[str],
) -> list[tuple]:
    at = _timestamp(connection, _io.utc_now())
    rows = []
    stored_centers = {row["center_id"]: row for row in frame_to_dicts(RECORD_TYPES["center"], stored["center"])}
    for row in frame_to_dicts(RECORD_TYPES["center"], batch["center"]):
        before = stored_centers.get(row["center_id"])
        rows.append(
            (
                row["center_id"],
                at,
                actor,
                "import" if before is None else "replace",
                "center",
                None,
                _json({"center_id": row["center_id"]}),
                _json(before),
                _json(row),
                result.batch_id,
                result.source,
            )
        )
    replaced_set = set(replaced)
    before_records = _records_of(stored, replaced_set)
    counts = _record_counts_json(batch, patients)
    patient_centers = dict(zip(batch["patient"]["patient_id"], batch["patient"]["center_id"]))
    for patient_id in sorted(patients):
        is_replace = patient_id in replaced_set
        rows.append(
            (
                patient_centers.get(patient_id),
                at,
                actor,
                "replace" if is_replace else "import",
                "patient",
                patient_id,
                _json({"patient_id": patient_id}),
                _json(before_records.get(patient_id, {}) if is_replace else None),
                counts[patient_id],
                result.batch_id,
                result.source,
            )
        )
    return rows


def _new_batch() -> str:
    return str(uuid.uuid4())


def audit_entry(row: Mapping[str, object]) -> AuditEntry:
    """A fetched audit_log row as an AuditEntry (JSON parsed, time in UTC)."""
    at = row["at"]
    assert isinstance(at, dt.datetime)
    at = at if at.tzinfo else at.replace(tzinfo=dt.timezone.utc)

    def parsed(name: str) -> object:
        value = row[name]
        return None if value is None else json.loads(str(value))

    return AuditEntry(
        id=int(row["id"]),  # type: ignore[call-overload]
        at=at.astimezone(dt.timezone.utc),
        actor=str(row["actor"]),
        action=str(row["action"]),
        record_type=str(row["record_type"]),
        patient_id=row["patient_id"],  # type: ignore[arg-type]
        record_key=parsed("record_key"),  # type: ignore[arg-type]
        before=parsed("before"),
        after=parsed("after"),
        batch_id=str(row["batch_id"]),
        source=row["source"],  # type: ignore[arg-type]
        reason=row.get("reason"),  # type: ignore[arg-type]
        center_id=row.get("center_id"),  # type: ignore[arg-type]
    )


def write_audit(
    connection: sa.Connection,
    *,
    actor: str,
    action: str,
    record_type: str,
    patient_id: str | None,
    key: dict,
    before: object,
    after: object,
    source: str | None,
    reason: str | None = None,
    center_id: str | None = None,
) -> None:
    """One audit row, in the caller's transaction (so it commits or rolls back with the change)."""
    connection.execute(
        audit_log.insert().values(
            at=_io.utc_now(),
            actor=actor,
            action=action,
            record_type=record_type,
            patient_id=patient_id,
            record_key=_json(key),
            before=_json(before),
            after=_json(after),
            batch_id=str(uuid.uuid4()),
            source=source,
            reason=reason,
            center_id=center_id,
        )
    )


def _update_centers(connection: sa.Connection, centers: pd.DataFrame) -> None:
    if centers.empty:
        return
    table = RECORD_TABLES["center"]
    names = [c.name for c in columns(RECORD_TYPES["center"]) if c.name != "center_id"]
    statement = (
        sa.update(table)
        .where(table.c.center_id == sa.bindparam("key_center_id"))
        .values({name: sa.bindparam(name) for name in names})
    )
    rows = frame_to_dicts(RECORD_TYPES["center"], centers)
    connection.execute(statement, [{"key_center_id": row["center_id"], **{n: row[n] for n in names}} for row in rows])


def _set_meta(connection: sa.Connection, facts: dict[str, str]) -> None:
    connection.execute(sa.delete(registry_meta).where(registry_meta.c.key.in_(list(facts))))
    connection.execute(registry_meta.insert(), [{"key": key, "value": value} for key, value in facts.items()])


def _key_clause(table: sa.Table, model: type[Record], key: Sequence[object]) -> list:
    return [table.c[name] == value for name, value in zip(model.key, key)]


def _label(model: type[Record], key: Sequence[object]) -> str:
    return f"{model.record_type}[" + ", ".join(f"{name}={value}" for name, value in zip(model.key, key)) + "]"


__all__ = [
    "AUDIT_TABLE",
    "AuditEntry",
    "ImportProgress",
    "ImportResult",
    "RegistrySummary",
    "Store",
    "StoreNotInitialized",
    "alembic_config",
    "head_revision",
]
