"""Add relapse.cd19_status and treatment_line.intolerance_reason (new record fields).

Revision ID: 0006
Revises: 0004
Create Date: 2026-12-01

Both columns are nullable: existing records get NULL (not recorded). The check constraints list the
codes of `Cd19Status` and `ChemotherapyIntoleranceReason` (blinareg.records.vocabulary).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CD19 = ('positive', 'dim', 'negative', 'not_tested')
_INTOLERANCE = ('pancreatitis', 'infection', 'organ_toxicity', 'neurotoxicity', 'thrombosis', 'myelosuppression',
                'hypersensitivity', 'other')


def _codes(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{value}'" for value in values)


def upgrade() -> None:
    with op.batch_alter_table('relapse', schema=None) as batch_op:
        batch_op.add_column(sa.Column(
            'cd19_status', sa.String(length=40), nullable=True,
            comment='CD19 on the blasts at relapse: positive, dim, negative or not_tested'))
        batch_op.create_check_constraint(op.f('ck_relapse_cd19_status'), f"cd19_status IN ({_codes(_CD19)})")
    with op.batch_alter_table('treatment_line', schema=None) as batch_op:
        batch_op.add_column(sa.Column(
            'intolerance_reason', sa.String(length=40), nullable=True,
            comment='Why chemotherapy was not tolerated (organ_toxicity: hepatic, renal or cardiac)'))
        batch_op.create_check_constraint(op.f('ck_treatment_line_intolerance_reason'),
                                         f"intolerance_reason IN ({_codes(_INTOLERANCE)})")


def downgrade() -> None:
    with op.batch_alter_table('treatment_line', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_treatment_line_intolerance_reason'), type_='check')
        batch_op.drop_column('intolerance_reason')
    with op.batch_alter_table('relapse', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_relapse_cd19_status'), type_='check')
        batch_op.drop_column('cd19_status')
