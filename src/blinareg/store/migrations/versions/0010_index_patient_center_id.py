"""Index patient.center_id: the web's center filter (store/scoped.py) selects patients by center on every read.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-08
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_patient_center_id', 'patient', ['center_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_patient_center_id', table_name='patient')
