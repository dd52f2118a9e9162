"""Web registry: accounts (users, user_centers, sessions, api_tokens), a row_version on every record table,
patient soft delete, and audit rows with a reason, a center and the web's actions (login, export, ...).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07

SQLite cannot change a CHECK in place: audit_log is rebuilt by a batch migration, which drops its
append-only triggers with the old table, so they are dropped first and created again afterwards.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RECORD_TABLES = ('center', 'patient', 'diagnosis', 'genetic_finding', 'relapse', 'body_measurement',
                 'treatment_line', 'blinatumomab_cycle', 'dose_segment', 'interruption', 'mrd_assessment',
                 'response_assessment', 'adverse_event', 'hsct', 'follow_up', 'death')
OLD_ACTIONS = ('import', 'replace', 'edit', 'delete')
NEW_ACTIONS = ('import', 'replace', 'edit', 'delete', 'create', 'update', 'restore', 'login', 'login_failed',
               'lockout', 'logout', 'unlock', 'account', 'export', 'report')
ROLES = ('administrator', 'data_manager', 'investigator', 'statistician', 'auditor')
MESSAGE = "audit_log is append-only"


def _codes(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{value}'" for value in values)


def _sqlite_audit_triggers(create: bool) -> None:
    for event in ("UPDATE", "DELETE"):
        if create:
            op.execute(f"CREATE TRIGGER audit_log_no_{event.lower()} BEFORE {event} ON audit_log "
                       f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END")
        else:
            op.execute(f"DROP TRIGGER audit_log_no_{event.lower()}")


def _audit_actions(actions: tuple[str, ...], drop_columns: tuple[str, ...] = ()) -> None:
    sqlite = op.get_context().dialect.name == "sqlite"
    if sqlite:
        _sqlite_audit_triggers(create=False)
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_audit_log_action'), type_='check')
        batch_op.create_check_constraint(op.f('ck_audit_log_action'), f"action IN ({_codes(actions)})")
        for column in drop_columns:
            batch_op.drop_column(column)
    if sqlite:
        _sqlite_audit_triggers(create=True)


def upgrade() -> None:
    for table in RECORD_TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column(
                'row_version', sa.Integer(), server_default='1', nullable=False,
                comment='Incremented by every update; a save from an older version is refused'))
    with op.batch_alter_table('patient', schema=None) as batch_op:
        batch_op.add_column(sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True, comment='Soft delete'))
        batch_op.add_column(sa.Column('deleted_by', sa.String(length=100), nullable=True, comment='Who soft-deleted'))
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reason', sa.Text(), nullable=True,
                                      comment='Why data already entered was changed or deleted'))
        batch_op.add_column(sa.Column('center_id', sa.String(length=40), nullable=True,
                                      comment='The center of the patient or record concerned'))
    op.create_index(op.f('ix_audit_log_at'), 'audit_log', ['at'], unique=False)
    _audit_actions(NEW_ACTIONS)

    op.create_table('users',
    sa.Column('user_id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('username', sa.String(length=100), nullable=False),
    sa.Column('password_hash', sa.Text(), nullable=False, comment='argon2id'),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('disabled', sa.Boolean(create_constraint=True, name='disabled'), server_default=sa.false(),
              nullable=False),
    sa.Column('failed_logins', sa.Integer(), server_default='0', nullable=False, comment='Since failed_since'),
    sa.Column('failed_since', sa.DateTime(timezone=True), nullable=True, comment='First failure of the window'),
    sa.Column('locked_at', sa.DateTime(timezone=True), nullable=True, comment='Locked out until unlocked'),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint(f"role IN ({_codes(ROLES)})", name=op.f('ck_users_role')),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_users')),
    sa.UniqueConstraint('username', name=op.f('uq_users_username')),
    comment='People who sign in to the web registry'
    )
    op.create_table('user_centers',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('center_id', sa.String(length=40), nullable=False),
    sa.ForeignKeyConstraint(['center_id'], ['center.center_id'], name=op.f('fk_user_centers_center_id_center'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.user_id'], name=op.f('fk_user_centers_user_id_users'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'center_id', name=op.f('pk_user_centers')),
    comment='The centers (data-access groups) whose patients a user may see'
    )
    op.create_table('sessions',
    sa.Column('token_hash', sa.String(length=64), nullable=False, comment="SHA-256 of the cookie's random token"),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('csrf_token', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.user_id'], name=op.f('fk_sessions_user_id_users'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('token_hash', name=op.f('pk_sessions')),
    comment='Signed-in browser sessions (idle and absolute expiry are checked against the two times)'
    )
    op.create_index(op.f('ix_sessions_user_id'), 'sessions', ['user_id'], unique=False)
    op.create_table('api_tokens',
    sa.Column('token_id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False, comment='SHA-256 of the token'),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.user_id'], name=op.f('fk_api_tokens_user_id_users'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('token_id', name=op.f('pk_api_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_api_tokens_token_hash')),
    comment='Bearer tokens of the JSON API, shown once, stored hashed, revocable'
    )


def downgrade() -> None:
    op.drop_table('api_tokens')
    op.drop_index(op.f('ix_sessions_user_id'), table_name='sessions')
    op.drop_table('sessions')
    op.drop_table('user_centers')
    op.drop_table('users')
    # Rows of the web's actions cannot stay under the old CHECK; downgrading keeps the trail by refusing.
    op.drop_index(op.f('ix_audit_log_at'), table_name='audit_log')
    _audit_actions(OLD_ACTIONS, drop_columns=('center_id', 'reason'))
    with op.batch_alter_table('patient', schema=None) as batch_op:
        batch_op.drop_column('deleted_by')
        batch_op.drop_column('deleted_at')
    for table in RECORD_TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('row_version')
