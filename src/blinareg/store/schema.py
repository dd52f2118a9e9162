"""The database schema, generated from the record models (`blinareg.records`), plus audit and metadata.

One table per record type, named like the record type, columns exactly the model fields:

- column types from the field kinds (date, bool, int, float, text); enumerations are stored as their
  string codes in VARCHAR with a CHECK listing the codes; numeric ranges declared on the model
  (`ge`, `gt`, `le`, `lt`) become CHECK constraints, so the database itself refuses obviously wrong data;
- NOT NULL for every field whose type does not admit None (required fields and defaulted ones such
  as `serious: bool = False`); primary key = the model's natural key;
- `patient.center_id` references `center` (deleting a center that still has patients is refused);
  every other `patient_id` references `patient` ON DELETE CASCADE, so deleting a patient deletes all
  of their records.

`audit_log` is the one append-only audit trail, written in the same transaction as each change;
`registry_meta` holds key/value facts about the registry (creation, last import, synthetic flag).

The Alembic migrations under `migrations/versions` spell the tables out explicitly; a test checks that
`alembic upgrade head` yields exactly this metadata, so a model change without a migration fails CI.
"""

from __future__ import annotations

import enum
import types
import typing

import annotated_types
import sqlalchemy as sa
from pydantic import StringConstraints
from pydantic.fields import FieldInfo

from blinareg.records.models import RECORD_MODELS, Record
from blinareg.records.registry import Column, storage_columns

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)

AUDIT_TABLE = "audit_log"
META_TABLE = "registry_meta"
# import/replace: imports; edit/delete: the CLI's single-record changes; create/update/delete/restore:
# the web and API (a patient's delete there is a soft delete); the rest: what the web audits besides changes.
AUDIT_ACTIONS = (
    "import",
    "replace",
    "edit",
    "delete",
    "create",
    "update",
    "restore",
    "login",
    "login_failed",
    "lockout",
    "logout",
    "unlock",
    "account",
    "export",
    "report",
    # data queries (store/queries.py) and analysis freezes (store/freezes.py)
    "query_open",
    "query_raise",
    "query_reopen",
    "query_resolve",
    "query_acknowledge",
    "freeze",
)
QUERY_TABLE = "data_query"
FREEZE_TABLE = "analysis_freeze"
QUERY_ORIGINS = ("validation", "manual")
QUERY_STATUSES = ("open", "resolved", "acknowledged")
QUERY_SEVERITIES = ("error", "warning")
ROLES = ("administrator", "data_manager", "investigator", "statistician", "auditor", "monitor")
ROW_VERSION = "row_version"
# Patient soft delete (the web never hard-deletes): set when deleted, cleared when an administrator restores.
SOFT_DELETE_COLUMNS = ("deleted_at", "deleted_by")
# Enumeration codes get at least this much room so that adding a code needs no column type change.
_ENUM_MIN_LENGTH = 40


def _annotation_parts(annotation: object) -> tuple[object, list[object]]:
    """The Python type under Optional/Annotated, and every Annotated metadata item met on the way."""
    found: list[object] = []
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation, *extra = typing.get_args(annotation)
            found.extend(extra)
        elif origin in (typing.Union, types.UnionType):
            annotation = next(a for a in typing.get_args(annotation) if a is not type(None))
        else:
            return annotation, found


def accepts_none(model: type[Record], name: str) -> bool:
    """True when the field's type admits None (Optional); a defaulted `bool = False` does not."""
    annotation = model.model_fields[name].annotation
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    return typing.get_origin(annotation) in (typing.Union, types.UnionType) and type(None) in typing.get_args(
        annotation
    )


def field_constraints(model: type[Record], name: str) -> list[object]:
    """Every constraint object declared on a field, including those inside Optional[Annotated[...]]."""
    info = model.model_fields[name]
    _, found = _annotation_parts(info.annotation)
    result: list[object] = []
    for item in [*info.metadata, *found]:
        result.extend(item.metadata if isinstance(item, FieldInfo) else [item])
    return result


_BOUND_OPERATORS = (
    (annotated_types.Ge, "ge", ">="),
    (annotated_types.Gt, "gt", ">"),
    (annotated_types.Le, "le", "<="),
    (annotated_types.Lt, "lt", "<"),
)


def numeric_bounds(constraints: list[object]) -> list[tuple[str, float | int]]:
    bounds = []
    for item in constraints:
        for kind, attribute, operator in _BOUND_OPERATORS:
            if isinstance(item, kind):
                bounds.append((operator, getattr(item, attribute)))
    return bounds


def _max_length(constraints: list[object]) -> int | None:
    lengths = [
        item.max_length
        for item in constraints
        if isinstance(item, (StringConstraints, annotated_types.MaxLen)) and item.max_length is not None
    ]
    return min(lengths) if lengths else None


def enum_codes(column: Column) -> list[str]:
    """The codes a column may hold; a missing-data companion only the codes its field accepts."""
    assert column.enum is not None
    if column.companion_of is not None and column.codes:
        return list(column.codes)
    return [member.value for member in typing.cast(type[enum.Enum], column.enum)]


def _column_type(model: type[Record], column: Column) -> sa.types.TypeEngine:
    if column.kind == "date":
        return sa.Date()
    if column.kind == "bool":
        return sa.Boolean(create_constraint=True, name=column.name)
    if column.kind == "int":
        return sa.Integer()
    if column.kind == "float":
        return sa.Double()
    if column.enum is not None:
        return sa.String(max(_ENUM_MIN_LENGTH, *(len(code) for code in enum_codes(column))))
    length = _max_length(field_constraints(model, column.name))
    return sa.String(length) if length else sa.Text()


def _range_text(name: str, bounds: list[tuple[str, float | int]]) -> str:
    return " AND ".join(f"{name} {operator} {value!r}" for operator, value in bounds)


def _record_table(model: type[Record]) -> sa.Table:
    table_columns: list[sa.Column] = []
    constraints: list[sa.schema.SchemaItem] = [sa.PrimaryKeyConstraint(*model.key)]
    for column in storage_columns(model):
        table_columns.append(
            sa.Column(
                column.name,
                _column_type(model, column),
                nullable=accepts_none(model, column.name),
                comment=column.description or None,
            )
        )
        if column.companion_of is not None and column.codes:
            # Missing-data code: never together with a value; a required field has one or the other.
            value = column.companion_of
            constraints.append(
                sa.CheckConstraint(f"{column.name} IS NULL OR {value} IS NULL", name=f"{value}_value_or_code")
            )
            if any(c.name == value and c.required for c in storage_columns(model)):
                constraints.append(
                    sa.CheckConstraint(f"{value} IS NOT NULL OR {column.name} IS NOT NULL", name=f"{value}_required")
                )
        if column.enum is not None:
            codes = ", ".join("'" + code.replace("'", "''") + "'" for code in enum_codes(column))
            constraints.append(sa.CheckConstraint(f"{column.name} IN ({codes})", name=column.name))
        elif column.kind in ("int", "float"):
            bounds = numeric_bounds(field_constraints(model, column.name))
            if bounds:
                constraints.append(sa.CheckConstraint(_range_text(column.name, bounds), name=column.name))
    # Not model fields: the optimistic-concurrency version (+1 on every update) and the soft delete.
    table_columns.append(
        sa.Column(
            ROW_VERSION,
            sa.Integer(),
            nullable=False,
            server_default="1",
            comment="Incremented by every update; a save from an older version is refused",
        )
    )
    if model.record_type == "patient":
        table_columns.append(sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True, comment="Soft delete"))
        table_columns.append(sa.Column("deleted_by", sa.String(100), nullable=True, comment="Who soft-deleted"))
    names = {column.name for column in storage_columns(model)}
    if model.record_type == "patient":
        constraints.append(sa.ForeignKeyConstraint(["center_id"], ["center.center_id"], ondelete="RESTRICT"))
        # Every read of the web goes through the center filter (`store.scoped`); migration 0010.
        constraints.append(sa.Index("ix_patient_center_id", "center_id"))
    elif "patient_id" in names:
        constraints.append(sa.ForeignKeyConstraint(["patient_id"], ["patient.patient_id"], ondelete="CASCADE"))
    return sa.Table(model.record_type, metadata, *table_columns, *constraints, comment=model.title)


RECORD_TABLES: dict[str, sa.Table] = {model.record_type: _record_table(model) for model in RECORD_MODELS}

audit_log = sa.Table(
    AUDIT_TABLE,
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False, comment="When the change was committed (UTC)"),
    sa.Column("actor", sa.String(100), nullable=False, comment="Who made the change (user or tool)"),
    sa.Column("action", sa.String(20), nullable=False),
    sa.Column("record_type", sa.String(40), nullable=False),
    sa.Column("patient_id", sa.String(40), nullable=True, comment="No foreign key: the trail outlives deletions"),
    sa.Column("record_key", sa.Text(), nullable=False, comment="The record's natural key as JSON"),
    sa.Column("before", sa.Text(), nullable=True, comment="JSON of the stored record(s) before the change"),
    sa.Column("after", sa.Text(), nullable=True, comment="JSON of the record after the change"),
    sa.Column("batch_id", sa.String(36), nullable=False, comment="Groups the rows of one import or edit"),
    sa.Column("source", sa.Text(), nullable=True, comment="File or tool the change came from"),
    sa.Column("reason", sa.Text(), nullable=True, comment="Why data already entered was changed or deleted"),
    sa.Column("center_id", sa.String(40), nullable=True, comment="The center of the patient or record concerned"),
    sa.CheckConstraint("action IN (" + ", ".join(f"'{a}'" for a in AUDIT_ACTIONS) + ")", name="action"),
    sa.Index(None, "patient_id"),
    sa.Index(None, "batch_id"),
    sa.Index(None, "at"),
    comment="Append-only audit trail of every change, written in the transaction of the change",
)


def _in(column: str, values: tuple[str, ...]) -> sa.CheckConstraint:
    return sa.CheckConstraint(f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")", name=column)


_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

data_query = sa.Table(
    QUERY_TABLE,
    metadata,
    sa.Column("id", _ID, primary_key=True, autoincrement=True),
    sa.Column("patient_id", sa.String(40), nullable=True, comment="No foreign key: queries outlive deletions"),
    sa.Column("center_id", sa.String(40), nullable=True, comment="The patient's center when the query was opened"),
    sa.Column("record_type", sa.String(40), nullable=False),
    sa.Column("record_key", sa.String(200), nullable=False, comment="The record's key besides patient_id"),
    sa.Column("field", sa.String(100), nullable=False, comment="Field the query is about (empty: the record)"),
    sa.Column("check_name", sa.String(100), nullable=False, comment="Validation check, or 'manual'"),
    sa.Column("problem", sa.Text(), nullable=False, comment="The problem (or the monitor's question) in words"),
    sa.Column("value", sa.Text(), nullable=True, comment="The value the problem is about, as typed"),
    sa.Column("severity", sa.String(10), nullable=False),
    sa.Column("origin", sa.String(20), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("opened_by", sa.String(100), nullable=False),
    sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("acknowledged_reason", sa.Text(), nullable=True),
    sa.Column("acknowledged_by", sa.String(100), nullable=True),
    sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("resolved_by", sa.String(100), nullable=True),
    sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column(
        "record_fingerprint",
        sa.String(64),
        nullable=True,
        comment="SHA-256 of the record when the query was opened or last re-checked",
    ),
    _in("severity", QUERY_SEVERITIES),
    _in("origin", QUERY_ORIGINS),
    _in("status", QUERY_STATUSES),
    sa.CheckConstraint("status <> 'acknowledged' OR acknowledged_reason IS NOT NULL", name="acknowledged_with_reason"),
    sa.Index(None, "patient_id"),
    sa.Index(None, "center_id"),
    sa.Index(None, "status"),
    comment="Data queries: validation problems and monitors' questions, open until resolved or acknowledged",
)

analysis_freeze = sa.Table(
    FREEZE_TABLE,
    metadata,
    sa.Column("id", _ID, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("created_by", sa.String(100), nullable=False),
    sa.Column("centers", sa.Text(), nullable=True, comment="JSON list of the centers frozen (NULL: all)"),
    sa.Column("as_of", sa.Date(), nullable=True, comment="Data cut-off applied when analysing the freeze"),
    sa.Column("schema_revision", sa.String(40), nullable=False),
    sa.Column("blinareg_version", sa.String(40), nullable=False),
    sa.Column("content_sha256", sa.String(64), nullable=False, comment="SHA-256 of `content`"),
    sa.Column("content", sa.LargeBinary(), nullable=False, comment="The lossless CSV export, zipped"),
    sa.Column("record_counts", sa.Text(), nullable=False, comment="JSON: records per record type"),
    sa.Column("query_counts", sa.Text(), nullable=False, comment="JSON: data queries per status when frozen"),
    comment="Analysis freezes: the exact record set a report can be regenerated from",
)

REPORT_JOB_STATUSES = ("queued", "running", "done", "failed", "interrupted")

report_job = sa.Table(
    "report_job",
    metadata,
    sa.Column("id", _ID, primary_key=True, autoincrement=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("created_by", sa.String(100), nullable=False, comment="The user who asked for the report"),
    sa.Column("centers", sa.Text(), nullable=False, comment="JSON list of the centers the report may read"),
    sa.Column("freeze_id", _ID, nullable=True, comment="The analysis freeze reported (NULL: the live records)"),
    sa.Column("options", sa.Text(), nullable=False, comment="JSON: origin, split, subgroup, sections, formats"),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("stage", sa.String(40), nullable=True, comment="The step the job is at (loading, writing, ...)"),
    sa.Column("done", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("total", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("message", sa.Text(), nullable=True, comment="Why the job failed or was interrupted"),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("worker_host", sa.String(255), nullable=True, comment="Host of the process running the job"),
    sa.Column("worker_pid", sa.Integer(), nullable=True, comment="Process id of the job's worker"),
    _in("status", REPORT_JOB_STATUSES),
    sa.Index(None, "created_by"),
    comment="Reports run from the web as background jobs (web/report_jobs.py)",
)

report_job_file = sa.Table(
    "report_job_file",
    metadata,
    sa.Column("job_id", _ID, sa.ForeignKey("report_job.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("name", sa.String(255), primary_key=True, comment="report.html, results.json, figures.zip, ..."),
    sa.Column("content", sa.LargeBinary(), nullable=False),
    comment="The files a report job wrote",
)

registry_meta = sa.Table(
    META_TABLE,
    metadata,
    sa.Column("key", sa.String(100), primary_key=True),
    sa.Column("value", sa.Text(), nullable=False),
    comment="Facts about the registry as key/value pairs",
)


# ---- web accounts (blinareg serve; docs/web.md) -----------------------------------------------------

users = sa.Table(
    "users",
    metadata,
    sa.Column("user_id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("username", sa.String(100), nullable=False, unique=True),
    sa.Column("password_hash", sa.Text(), nullable=False, comment="argon2id"),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column(
        "disabled", sa.Boolean(create_constraint=True, name="disabled"), nullable=False, server_default=sa.false()
    ),
    sa.Column("failed_logins", sa.Integer(), nullable=False, server_default="0", comment="Since failed_since"),
    sa.Column("failed_since", sa.DateTime(timezone=True), nullable=True, comment="First failure of the window"),
    sa.Column("locked_at", sa.DateTime(timezone=True), nullable=True, comment="Locked out until unlocked"),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("role IN (" + ", ".join(f"'{r}'" for r in ROLES) + ")", name="role"),
    comment="People who sign in to the web registry",
)

user_centers = sa.Table(
    "user_centers",
    metadata,
    sa.Column("user_id", sa.Integer(), nullable=False),
    sa.Column("center_id", sa.String(40), nullable=False),
    sa.PrimaryKeyConstraint("user_id", "center_id"),
    sa.ForeignKeyConstraint(["user_id"], ["users.user_id"], ondelete="CASCADE"),
    sa.ForeignKeyConstraint(["center_id"], ["center.center_id"], ondelete="CASCADE"),
    comment="The centers (data-access groups) whose patients a user may see",
)

sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True, comment="SHA-256 of the cookie's random token"),
    sa.Column("user_id", sa.Integer(), nullable=False),
    sa.Column("csrf_token", sa.String(64), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(["user_id"], ["users.user_id"], ondelete="CASCADE"),
    sa.Index(None, "user_id"),
    comment="Signed-in browser sessions (idle and absolute expiry are checked against the two times)",
)

api_tokens = sa.Table(
    "api_tokens",
    metadata,
    sa.Column("token_id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("user_id", sa.Integer(), nullable=False),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True, comment="SHA-256 of the token"),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(["user_id"], ["users.user_id"], ondelete="CASCADE"),
    comment="Bearer tokens of the JSON API, shown once, stored hashed, revocable",
)
