"""Add report jobs: reports run from the web in a background process, and the files they wrote.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07

`report_job` keeps each job's state (queued, running, done, failed, interrupted), its progress and the
worker process running it, so a page reload shows it and a server restart shows a job whose worker is
gone as interrupted; `report_job_file` the files it wrote (HTML, PDF, DOCX, results.json, figures).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STATUSES = ('queued', 'running', 'done', 'failed', 'interrupted')


def _id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table(
        'report_job',
        sa.Column('id', _id(), autoincrement=True, nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('created_by', sa.String(length=100), nullable=False, comment='The user who asked for the report'),
        sa.Column('centers', sa.Text(), nullable=False, comment='JSON list of the centers the report may read'),
        sa.Column('freeze_id', _id(), nullable=True,
                  comment='The analysis freeze reported (NULL: the live records)'),
        sa.Column('options', sa.Text(), nullable=False,
                  comment='JSON: origin, split, subgroup, sections, formats'),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('stage', sa.String(length=40), nullable=True,
                  comment='The step the job is at (loading, writing, ...)'),
        sa.Column('done', sa.Integer(), server_default='0', nullable=False),
        sa.Column('total', sa.Integer(), server_default='0', nullable=False),
        sa.Column('message', sa.Text(), nullable=True, comment='Why the job failed or was interrupted'),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('worker_host', sa.String(length=255), nullable=True,
                  comment='Host of the process running the job'),
        sa.Column('worker_pid', sa.Integer(), nullable=True, comment="Process id of the job's worker"),
        sa.CheckConstraint("status IN (" + ", ".join(f"'{s}'" for s in _STATUSES) + ")",
                           name=op.f('ck_report_job_status')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_report_job')),
        comment='Reports run from the web as background jobs (web/report_jobs.py)',
    )
    op.create_index(op.f('ix_report_job_created_by'), 'report_job', ['created_by'], unique=False)
    op.create_table(
        'report_job_file',
        sa.Column('job_id', _id(), nullable=False),
        sa.Column('name', sa.String(length=255), nullable=False,
                  comment='report.html, results.json, figures.zip, ...'),
        sa.Column('content', sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(['job_id'], ['report_job.id'], name=op.f('fk_report_job_file_job_id_report_job'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('job_id', 'name', name=op.f('pk_report_job_file')),
        comment='The files a report job wrote',
    )


def downgrade() -> None:
    op.drop_table('report_job_file')
    op.drop_index(op.f('ix_report_job_created_by'), table_name='report_job')
    op.drop_table('report_job')
