"""Add adverse_event.hypotension (ASTCT CRS grading parameter added to the record model).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22

Generated with `alembic revision --autogenerate`. Existing adverse events get NULL (not recorded).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('adverse_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('hypotension', sa.Boolean(create_constraint=True, name='hypotension'),
                                      nullable=True, comment='Hypotension (ASTCT CRS grade 2 without vasopressors)'))


def downgrade() -> None:
    with op.batch_alter_table('adverse_event', schema=None) as batch_op:
        batch_op.drop_column('hypotension')
