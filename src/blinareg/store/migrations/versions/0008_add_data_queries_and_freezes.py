"""Add data queries and analysis freezes; adverse_event.disagreement_reason; audit actions for both.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07

`data_query` holds every validation problem of a stored record and every monitor's question
(store/queries.py); `analysis_freeze` the exact record set a report is regenerated from
(store/freezes.py). The audit log's action CHECK gains the query and freeze actions. On SQLite the
CHECK can only change by rebuilding `audit_log` (batch mode), which drops its append-only triggers
(migration 0002): they are created again here.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The actions as migration 0007 (the web registry) left them.
_OLD_ACTIONS = ('import', 'replace', 'edit', 'delete', 'create', 'update', 'restore', 'login', 'login_failed',
                'lockout', 'logout', 'unlock', 'account', 'export', 'report')
_NEW_ACTIONS = _OLD_ACTIONS + ('query_open', 'query_raise', 'query_reopen', 'query_resolve', 'query_acknowledge',
                               'freeze')
_APPEND_ONLY = "audit_log is append-only"


def _codes(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{value}'" for value in values)


def _id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def _set_audit_actions(actions: tuple[str, ...]) -> None:
    sqlite = op.get_context().dialect.name == 'sqlite'
    if sqlite:
        for event in ('update', 'delete'):
            op.execute(f"DROP TRIGGER audit_log_no_{event}")
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_audit_log_action'), type_='check')
        batch_op.create_check_constraint(op.f('ck_audit_log_action'), f"action IN ({_codes(actions)})")
    if sqlite:
        for event in ('UPDATE', 'DELETE'):
            op.execute(f"CREATE TRIGGER audit_log_no_{event.lower()} BEFORE {event} ON audit_log "
                       f"BEGIN SELECT RAISE(ABORT, '{_APPEND_ONLY}'); END")


def upgrade() -> None:
    op.create_table(
        'data_query',
        sa.Column('id', _id(), autoincrement=True, nullable=False),
        sa.Column('patient_id', sa.String(length=40), nullable=True,
                  comment='No foreign key: queries outlive deletions'),
        sa.Column('center_id', sa.String(length=40), nullable=True,
                  comment='The patient\'s center when the query was opened'),
        sa.Column('record_type', sa.String(length=40), nullable=False),
        sa.Column('record_key', sa.String(length=200), nullable=False,
                  comment="The record's key besides patient_id"),
        sa.Column('field', sa.String(length=100), nullable=False,
                  comment='Field the query is about (empty: the record)'),
        sa.Column('check_name', sa.String(length=100), nullable=False, comment="Validation check, or 'manual'"),
        sa.Column('problem', sa.Text(), nullable=False,
                  comment="The problem (or the monitor's question) in words"),
        sa.Column('value', sa.Text(), nullable=True, comment='The value the problem is about, as typed'),
        sa.Column('severity', sa.String(length=10), nullable=False),
        sa.Column('origin', sa.String(length=20), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('opened_by', sa.String(length=100), nullable=False),
        sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('acknowledged_reason', sa.Text(), nullable=True),
        sa.Column('acknowledged_by', sa.String(length=100), nullable=True),
        sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('resolved_by', sa.String(length=100), nullable=True),
        sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('record_fingerprint', sa.String(length=64), nullable=True,
                  comment='SHA-256 of the record when the query was opened or last re-checked'),
        sa.CheckConstraint(f"severity IN ({_codes(('error', 'warning'))})", name=op.f('ck_data_query_severity')),
        sa.CheckConstraint(f"origin IN ({_codes(('validation', 'manual'))})", name=op.f('ck_data_query_origin')),
        sa.CheckConstraint(f"status IN ({_codes(('open', 'resolved', 'acknowledged'))})",
                           name=op.f('ck_data_query_status')),
        sa.CheckConstraint("status <> 'acknowledged' OR acknowledged_reason IS NOT NULL",
                           name=op.f('ck_data_query_acknowledged_with_reason')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_data_query')),
        comment="Data queries: validation problems and monitors' questions, open until resolved or acknowledged",
    )
    for column in ('patient_id', 'center_id', 'status'):
        op.create_index(op.f(f'ix_data_query_{column}'), 'data_query', [column], unique=False)
    op.create_table(
        'analysis_freeze',
        sa.Column('id', _id(), autoincrement=True, nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('created_by', sa.String(length=100), nullable=False),
        sa.Column('centers', sa.Text(), nullable=True, comment='JSON list of the centers frozen (NULL: all)'),
        sa.Column('as_of', sa.Date(), nullable=True, comment='Data cut-off applied when analysing the freeze'),
        sa.Column('schema_revision', sa.String(length=40), nullable=False),
        sa.Column('blinareg_version', sa.String(length=40), nullable=False),
        sa.Column('content_sha256', sa.String(length=64), nullable=False, comment='SHA-256 of `content`'),
        sa.Column('content', sa.LargeBinary(), nullable=False, comment='The lossless CSV export, zipped'),
        sa.Column('record_counts', sa.Text(), nullable=False, comment='JSON: records per record type'),
        sa.Column('query_counts', sa.Text(), nullable=False, comment='JSON: data queries per status when frozen'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_analysis_freeze')),
        comment='Analysis freezes: the exact record set a report can be regenerated from',
    )
    with op.batch_alter_table('adverse_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column(
            'disagreement_reason', sa.String(length=200), nullable=True,
            comment='Why the recorded grade differs from the grade computed from the parameters'))
    _set_audit_actions(_NEW_ACTIONS)


def downgrade() -> None:
    _set_audit_actions(_OLD_ACTIONS)
    with op.batch_alter_table('adverse_event', schema=None) as batch_op:
        batch_op.drop_column('disagreement_reason')
    op.drop_table('analysis_freeze')
    for column in ('status', 'center_id', 'patient_id'):
        op.drop_index(op.f(f'ix_data_query_{column}'), table_name='data_query')
    op.drop_table('data_query')
