"""Update column comments from the record models' field descriptions.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22

Generated with `alembic revision --autogenerate` on PostgreSQL. SQLite keeps no column comments, so
there it changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    op.alter_column('adverse_event', 'patient_id',
               existing_type=sa.VARCHAR(length=40),
               comment='Pseudonymous study id of the patient',
               existing_nullable=False)
    op.alter_column('adverse_event', 'event_number',
               existing_type=sa.INTEGER(),
               comment='Sequence number of the event for the patient',
               existing_nullable=False)
    op.alter_column('adverse_event', 'term',
               existing_type=sa.VARCHAR(length=40),
               comment='Adverse event category',
               existing_nullable=False)
    op.alter_column('adverse_event', 'grading_system',
               existing_type=sa.VARCHAR(length=40),
               comment='astct (CRS, ICANS) or ctcae_v5',
               existing_nullable=False)
    op.alter_column('adverse_event', 'onset_date',
               existing_type=sa.DATE(),
               comment='First day of the event',
               existing_nullable=False)
    op.alter_column('adverse_event', 'resolution_date',
               existing_type=sa.DATE(),
               comment='Day the event resolved (empty if ongoing)',
               existing_nullable=True)
    op.alter_column('adverse_event', 'serious',
               existing_type=sa.BOOLEAN(),
               comment='Serious adverse event (regulatory definition)',
               existing_nullable=False)
    op.alter_column('adverse_event', 'action_taken',
               existing_type=sa.VARCHAR(length=40),
               comment='Action on blinatumomab',
               existing_nullable=False)
    op.alter_column('adverse_event', 'vasopressin',
               existing_type=sa.BOOLEAN(),
               comment='Vasopressin given (ASTCT CRS)',
               existing_nullable=True)
    op.alter_column('adverse_event', 'oxygen',
               existing_type=sa.VARCHAR(length=40),
               comment='Highest oxygen support (ASTCT CRS; low_flow is <= 6 L/min)',
               existing_nullable=True)
    op.alter_column('adverse_event', 'consciousness',
               existing_type=sa.VARCHAR(length=40),
               comment='Worst level of consciousness (ASTCT ICANS)',
               existing_nullable=True)
    op.alter_column('adverse_event', 'seizure',
               existing_type=sa.VARCHAR(length=40),
               comment='Seizure (ASTCT ICANS)',
               existing_nullable=True)
    op.alter_column('adverse_event', 'motor',
               existing_type=sa.VARCHAR(length=40),
               comment='Motor findings (ASTCT ICANS)',
               existing_nullable=True)
    op.alter_column('adverse_event', 'cerebral_edema',
               existing_type=sa.VARCHAR(length=40),
               comment='Raised intracranial pressure / cerebral edema (ASTCT ICANS)',
               existing_nullable=True)
    op.alter_column('blinatumomab_cycle', 'patient_id',
               existing_type=sa.VARCHAR(length=40),
               comment='Pseudonymous study id of the patient',
               existing_nullable=False)
    op.alter_column('blinatumomab_cycle', 'phase',
               existing_type=sa.VARCHAR(length=40),
               comment='Treatment phase of the cycle',
               existing_nullable=False)
    op.alter_column('body_measurement', 'patient_id',
               existing_type=sa.VARCHAR(length=40),
               comment='Pseudonymous study id of the patient',
               existing_nullable=False)
    op.alter_column('body_measurement', 'measurement_date',
               existing_type=sa.DATE(),
               comment='Date weight and height were measured',
               existing_nullable=False)
    op.alter_column('death', 'patient_id',
               existing_type=sa.VARCHAR(length=40),
               comment='Pseudonymous study id of the patient',
               existing_nullable=False)
    op.alter_column('death', 'death_date',
               existing_type=sa.DATE(),
               comment='Date of death',
               existing_nullable=False)
    op.alter_column('death', 'cause',
               existing_type=sa.VARCHAR(length=40),
               comment='Primary cause of death',
               existing_nullable=False)
    op.alter_column('diagnosis', 'patient_id',
               existing_type=sa.VARCHAR(length=40),
               comment='Pseudonymous study id of the patient',
               existing_nullable=False)
    op.alter_column('dose_segment', 'patient_id',
               existing_type=sa.VARCHAR(length=40),
               comment='Pseudonymous study id of the patient',
               existing_nullable=False)
    op.alter_column('dose_segment', 'cycle_number',
               existing_type=sa.INTEGER(),
               comment='Blinatumomab cycle the doses belong to',
               existing_nullable=False)
    op.alter_column('dose_segment', 'kind',
               existing_type=sa.VARCHAR(length=40),
               comment='planned (prescribed) or delivered (infused)',
               existing_nullable=False)
    op.alter_column('dose_segment', 'start_date',
               existing_type=sa.DATE(),
               comment='First day at this daily dose',
               existing_nullable=False)
    op.alter_column('dose_segment', 'end_date',
               existing_type=sa.DATE(),
               comment='Last day at this daily dose (included)',
               existing_nullable=False)
    op.alter_column('dose_segment', 'unit',
               existing_type=sa.VARCHAR(length=40),
               comment='mcg/day (>= 45 kg) or mcg/m2/day (< 45 kg)',
               existing_nullable=False)
    op.alter_column('follow_up', 'patient_id',
               existing_type=sa.VARCHAR(length=40),
               comment='Pseudonymous study id of the patient',
               existing_nullable=False)
    op.alter_column('follow_up', 'last_contact_date',
               existing_type=sa.DATE(),
               comment='Date the patient was last known alive (the death date if dead)',
               existing_nullable=False)
    op.alter_column('follow_up', 'vital_status',
               existing_type=sa.VARCHAR(length=40),
               comment='Vital status at last contact',
               existing_nullable=False)
    op.alter_column('genetic_finding', 'patient_id',
               existing_type=sa.VARCHAR(length=40),
               comment='Pseudonymous study id of the patient',
               existing_nullable=False)
    op.alter_column('hsct', 'patient_id',
               existing_type=sa.VARCHAR(length=40),
               comment='Pseudonymous study id of the patient',
               existing_nullable=False)
    op.alter_column('hsct', 'donor_type',
               existing_type=sa.VARCHAR(length=40),
               comment='Donor type',
               existing_nullable=False)
    op.alter_column('hsct', 'conditioning',
               existing_type=sa.VARCHAR(length=40),
               comment='Conditioning regimen class',
               existing_nullable=False)
    op.alter_column('hsct', 'chronic_gvhd',
               existing_type=sa.VARCHAR(length=40),
               comment='Maximum chronic GVHD severity (NIH)',
               existing_nullable=True)
    op.alter_column('interruption', 'patient_id',
               existing_type=sa.VARCHAR(length=40),
               comment='Pseudonymous study id of the patient',
               existing_nullable=False)
    op.alter_column('interruption', 'cycle_number',
               existing_type=sa.INTEGER(),
               comment='Blinatumomab cycle that was interrupted',
               existing_nullable=False)
    op.alter_column('interruption', 'reason',
               existing_type=sa.VARCHAR(length=40),
               comment='Why the infusion was interrupted',
               existing_nullable=False)
    op.alter_column('mrd_assessment', 'patient_id',
               existing_type=sa.VARCHAR(length=40),
               comment='Pseudonymous study id of the patient',
               existing_nullable=False)
    op.alter_column('mrd_assessment', 'assessment_date',
               existing_type=sa.DATE(),
               comment='Date the sample was taken',
               existing_nullable=False)
    op.alter_column('mrd_assessment', 'sample',
               existing_type=sa.VARCHAR(length=40),
               comment='BM (bone marrow) or PB (peripheral blood)',
               existing_nullable=False)
    op.alter_column('mrd_assessment', 'method',
               existing_type=sa.VARCHAR(length=40),
               comment='Assay; each method is kept separately, never merged',
               existing_nullable=False)
    op.alter_column('relapse', 'patient_id',
               existing_type=sa.VARCHAR(length=40),
               comment='Pseudonymous study id of the patient',
               existing_nullable=False)
    op.alter_column('response_assessment', 'patient_id',
               existing_type=sa.VARCHAR(length=40),
               comment='Pseudonymous study id of the patient',
               existing_nullable=False)
    op.alter_column('response_assessment', 'assessment_date',
               existing_type=sa.DATE(),
               comment='Date of the marrow assessment',
               existing_nullable=False)
    op.alter_column('response_assessment', 'category',
               existing_type=sa.VARCHAR(length=40),
               comment='Hematological response (CR: <= 5% blasts with count recovery)',
               existing_nullable=False)
    op.alter_column('response_assessment', 'marrow_blasts_pct',
               existing_type=sa.DOUBLE_PRECISION(precision=53),
               comment='Bone marrow blasts, %',
               existing_nullable=True)
    op.alter_column('treatment_line', 'patient_id',
               existing_type=sa.VARCHAR(length=40),
               comment='Pseudonymous study id of the patient',
               existing_nullable=False)
    op.alter_column('treatment_line', 'treatment_type',
               existing_type=sa.VARCHAR(length=40),
               comment='Kind of treatment',
               existing_nullable=False)
    op.alter_column('treatment_line', 'start_date',
               existing_type=sa.DATE(),
               comment='First day of the line',
               existing_nullable=False)
    op.alter_column('treatment_line', 'end_date',
               existing_type=sa.DATE(),
               comment='Last day of the line (empty while ongoing)',
               existing_nullable=True)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    op.alter_column('treatment_line', 'end_date',
               existing_type=sa.DATE(),
               comment=None,
               existing_comment='Last day of the line (empty while ongoing)',
               existing_nullable=True)
    op.alter_column('treatment_line', 'start_date',
               existing_type=sa.DATE(),
               comment=None,
               existing_comment='First day of the line',
               existing_nullable=False)
    op.alter_column('treatment_line', 'treatment_type',
               existing_type=sa.VARCHAR(length=40),
               comment=None,
               existing_comment='Kind of treatment',
               existing_nullable=False)
    op.alter_column('treatment_line', 'patient_id',
               existing_type=sa.VARCHAR(length=40),
               comment=None,
               existing_comment='Pseudonymous study id of the patient',
               existing_nullable=False)
    op.alter_column('response_assessment', 'marrow_blasts_pct',
               existing_type=sa.DOUBLE_PRECISION(precision=53),
               comment=None,
               existing_comment='Bone marrow blasts, %',
               existing_nullable=True)
    op.alter_column('response_assessment', 'category',
               existing_type=sa.VARCHAR(length=40),
               comment=None,
               existing_comment='Hematological response (CR: <= 5% blasts with count recovery)',
               existing_nullable=False)
    op.alter_column('response_assessment', 'assessment_date',
               existing_type=sa.DATE(),
               comment=None,
               existing_comment='Date of the marrow assessment',
               existing_nullable=False)
    op.alter_column('response_assessment', 'patient_id',
               existing_type=sa.VARCHAR(length=40),
               comment=None,
               existing_comment='Pseudonymous study id of the patient',
               existing_nullable=False)
    op.alter_column('relapse', 'patient_id',
               existing_type=sa.VARCHAR(length=40),
               comment=None,
               existing_comment='Pseudonymous study id of the patient',
               existing_nullable=False)
    op.alter_column('mrd_assessment', 'method',
               existing_type=sa.VARCHAR(length=40),
               comment=None,
               existing_comment='Assay; each method is kept separately, never merged',
               existing_nullable=False)
    op.alter_column('mrd_assessment', 'sample',
               existing_type=sa.VARCHAR(length=40),
               comment=None,
               existing_comment='BM (bone marrow) or PB (peripheral blood)',
               existing_nullable=False)
    op.alter_column('mrd_assessment', 'assessment_date',
               existing_type=sa.DATE(),
               comment=None,
               existing_comment='Date the sample was taken',
               existing_nullable=False)
    op.alter_column('mrd_assessment', 'patient_id',
               existing_type=sa.VARCHAR(length=40),
               comment=None,
               existing_comment='Pseudonymous study id of the patient',
               existing_nullable=False)
    op.alter_column('interruption', 'reason',
               existing_type=sa.VARCHAR(length=40),
               comment=None,
               existing_comment='Why the infusion was interrupted',
               existing_nullable=False)
    op.alter_column('interruption', 'cycle_number',
               existing_type=sa.INTEGER(),
               comment=None,
               existing_comment='Blinatumomab cycle that was interrupted',
               existing_nullable=False)
    op.alter_column('interruption', 'patient_id',
               existing_type=sa.VARCHAR(length=40),
               comment=None,
               existing_comment='Pseudonymous study id of the patient',
               existing_nullable=False)
    op.alter_column('hsct', 'chronic_gvhd',
               existing_type=sa.VARCHAR(length=40),
               comment=None,
               existing_comment='Maximum chronic GVHD severity (NIH)',
               existing_nullable=True)
    op.alter_column('hsct', 'conditioning',
               existing_type=sa.VARCHAR(length=40),
               comment=None,
               existing_comment='Conditioning regimen class',
               existing_nullable=False)
    op.alter_column('hsct', 'donor_type',
               existing_type=sa.VARCHAR(length=40),
               comment=None,
               existing_comment='Donor type',
               existing_nullable=False)
    op.alter_column('hsct', 'patient_id',
               existing_type=sa.VARCHAR(length=40),
               comment=None,
               existing_comment='Pseudonymous study id of the patient',
               existing_nullable=False)
    op.alter_column('genetic_finding', 'patient_id',
               existing_type=sa.VARCHAR(length=40),
               comment=None,
               existing_comment='Pseudonymous study id of the patient',
               existing_nullable=False)
    op.alter_column('follow_up', 'vital_status',
               existing_type=sa.VARCHAR(length=40),
               comment=None,
               existing_comment='Vital status at last contact',
               existing_nullable=False)
    op.alter_column('follow_up', 'last_contact_date',
               existing_type=sa.DATE(),
               comment=None,
               existing_comment='Date the patient was last known alive (the death date if dead)',
               existing_nullable=False)
    op.alter_column('follow_up', 'patient_id',
               existing_type=sa.VARCHAR(length=40),
               comment=None,
               existing_comment='Pseudonymous study id of the patient',
               existing_nullable=False)
    op.alter_column('dose_segment', 'unit',
               existing_type=sa.VARCHAR(length=40),
               comment=None,
               existing_comment='mcg/day (>= 45 kg) or mcg/m2/day (< 45 kg)',
               existing_nullable=False)
    op.alter_column('dose_segment', 'end_date',
               existing_type=sa.DATE(),
               comment=None,
               existing_comment='Last day at this daily dose (included)',
               existing_nullable=False)
    op.alter_column('dose_segment', 'start_date',
               existing_type=sa.DATE(),
               comment=None,
               existing_comment='First day at this daily dose',
               existing_nullable=False)
    op.alter_column('dose_segment', 'kind',
               existing_type=sa.VARCHAR(length=40),
               comment=None,
               existing_comment='planned (prescribed) or delivered (infused)',
               existing_nullable=False)
    op.alter_column('dose_segment', 'cycle_number',
               existing_type=sa.INTEGER(),
               comment=None,
               existing_comment='Blinatumomab cycle the doses belong to',
               existing_nullable=False)
    op.alter_column('dose_segment', 'patient_id',
               existing_type=sa.VARCHAR(length=40),
               comment=None,
               existing_comment='Pseudonymous study id of the patient',
               existing_nullable=False)
    op.alter_column('diagnosis', 'patient_id',
               existing_type=sa.VARCHAR(length=40),
               comment=None,
               existing_comment='Pseudonymous study id of the patient',
               existing_nullable=False)
    op.alter_column('death', 'cause',
               existing_type=sa.VARCHAR(length=40),
               comment=None,
               existing_comment='Primary cause of death',
               existing_nullable=False)
    op.alter_column('death', 'death_date',
               existing_type=sa.DATE(),
               comment=None,
               existing_comment='Date of death',
               existing_nullable=False)
    op.alter_column('death', 'patient_id',
               existing_type=sa.VARCHAR(length=40),
               comment=None,
               existing_comment='Pseudonymous study id of the patient',
               existing_nullable=False)
    op.alter_column('body_measurement', 'measurement_date',
               existing_type=sa.DATE(),
               comment=None,
               existing_comment='Date weight and height were measured',
               existing_nullable=False)
    op.alter_column('body_measurement', 'patient_id',
               existing_type=sa.VARCHAR(length=40),
               comment=None,
               existing_comment='Pseudonymous study id of the patient',
               existing_nullable=False)
    op.alter_column('blinatumomab_cycle', 'phase',
               existing_type=sa.VARCHAR(length=40),
               comment=None,
               existing_comment='Treatment phase of the cycle',
               existing_nullable=False)
    op.alter_column('blinatumomab_cycle', 'patient_id',
               existing_type=sa.VARCHAR(length=40),
               comment=None,
               existing_comment='Pseudonymous study id of the patient',
               existing_nullable=False)
    op.alter_column('adverse_event', 'cerebral_edema',
               existing_type=sa.VARCHAR(length=40),
               comment=None,
               existing_comment='Raised intracranial pressure / cerebral edema (ASTCT ICANS)',
               existing_nullable=True)
    op.alter_column('adverse_event', 'motor',
               existing_type=sa.VARCHAR(length=40),
               comment=None,
               existing_comment='Motor findings (ASTCT ICANS)',
               existing_nullable=True)
    op.alter_column('adverse_event', 'seizure',
               existing_type=sa.VARCHAR(length=40),
               comment=None,
               existing_comment='Seizure (ASTCT ICANS)',
               existing_nullable=True)
    op.alter_column('adverse_event', 'consciousness',
               existing_type=sa.VARCHAR(length=40),
               comment=None,
               existing_comment='Worst level of consciousness (ASTCT ICANS)',
               existing_nullable=True)
    op.alter_column('adverse_event', 'oxygen',
               existing_type=sa.VARCHAR(length=40),
               comment=None,
               existing_comment='Highest oxygen support (ASTCT CRS; low_flow is <= 6 L/min)',
               existing_nullable=True)
    op.alter_column('adverse_event', 'vasopressin',
               existing_type=sa.BOOLEAN(),
               comment=None,
               existing_comment='Vasopressin given (ASTCT CRS)',
               existing_nullable=True)
    op.alter_column('adverse_event', 'action_taken',
               existing_type=sa.VARCHAR(length=40),
               comment=None,
               existing_comment='Action on blinatumomab',
               existing_nullable=False)
    op.alter_column('adverse_event', 'serious',
               existing_type=sa.BOOLEAN(),
               comment=None,
               existing_comment='Serious adverse event (regulatory definition)',
               existing_nullable=False)
    op.alter_column('adverse_event', 'resolution_date',
               existing_type=sa.DATE(),
               comment=None,
               existing_comment='Day the event resolved (empty if ongoing)',
               existing_nullable=True)
    op.alter_column('adverse_event', 'onset_date',
               existing_type=sa.DATE(),
               comment=None,
               existing_comment='First day of the event',
               existing_nullable=False)
    op.alter_column('adverse_event', 'grading_system',
               existing_type=sa.VARCHAR(length=40),
               comment=None,
               existing_comment='astct (CRS, ICANS) or ctcae_v5',
               existing_nullable=False)
    op.alter_column('adverse_event', 'term',
               existing_type=sa.VARCHAR(length=40),
               comment=None,
               existing_comment='Adverse event category',
               existing_nullable=False)
    op.alter_column('adverse_event', 'event_number',
               existing_type=sa.INTEGER(),
               comment=None,
               existing_comment='Sequence number of the event for the patient',
               existing_nullable=False)
    op.alter_column('adverse_event', 'patient_id',
               existing_type=sa.VARCHAR(length=40),
               comment=None,
               existing_comment='Pseudonymous study id of the patient',
               existing_nullable=False)
