"""Add the `monitor` role (reads the patients of its centers, raises data queries; issue #12).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07

The role CHECK of `users` gains 'monitor'. On SQLite a CHECK changes only by rebuilding the table
(batch mode; migrations run with foreign keys off, so the sessions, tokens and center assignments that
refer to the users stay as they are).
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The roles as migration 0007 (the web registry) left them.
_OLD_ROLES = ('administrator', 'data_manager', 'investigator', 'statistician', 'auditor')
_NEW_ROLES = _OLD_ROLES + ('monitor',)


def _set_roles(roles: tuple[str, ...]) -> None:
    codes = ", ".join(f"'{role}'" for role in roles)
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_users_role'), type_='check')
        batch_op.create_check_constraint(op.f('ck_users_role'), f"role IN ({codes})")


def upgrade() -> None:
    _set_roles(_NEW_ROLES)


def downgrade() -> None:
    op.execute("DELETE FROM users WHERE role = 'monitor'")
    _set_roles(_OLD_ROLES)
