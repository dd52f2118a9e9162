"""Missing-data codes and partial dates: companion columns `<field>_missing` and `<date>_precision`.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01

A field a center may not know gets a typed companion `<field>_missing` (unknown / not_done /
not_applicable, or positive_not_quantifiable for an MRD fraction; a CHECK lists the codes that field
accepts, another refuses a value and a code together), and a date field that may be partial gets
`<date>_precision` (year / month; NULL = the exact day; the date column holds the first day of the
known period). The required fields a center may never have captured (adverse_event.onset_date,
hsct.donor_type / conditioning / remission_status, death.cause) become nullable, with a CHECK that
they hold a value or a code. Existing rows get NULL companions: exact dates, no codes.

Written from the difference between the 0004 schema and `blinareg.store.schema` (the migration test
checks `alembic upgrade head` gives exactly the metadata, CHECK constraints included). A downgrade
fails while a row holds a code for one of those required fields (it has no value to keep).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('patient', schema=None) as batch_op:
        batch_op.add_column(sa.Column('birth_date_precision', sa.String(length=40), nullable=True,
                                      comment='Precision of birth_date when only the year or the month is known (empty: the exact day)'))
        batch_op.alter_column('birth_date', existing_type=sa.Date(), nullable=False,
                              existing_nullable=False, comment='Date of birth (a year or year-month is accepted)',
                              existing_comment='Date of birth')
        batch_op.create_check_constraint(op.f('ck_patient_birth_date_precision'), "birth_date_precision IN ('year', 'month')")
    with op.batch_alter_table('diagnosis', schema=None) as batch_op:
        batch_op.add_column(sa.Column('diagnosis_date_precision', sa.String(length=40), nullable=True,
                                      comment='Precision of diagnosis_date when only the year or the month is known (empty: the exact day)'))
        batch_op.add_column(sa.Column('immunophenotype_missing', sa.String(length=40), nullable=True,
                                      comment='Missing-data code of immunophenotype (unknown, not_done); empty when immunophenotype has a value or is simply not recorded'))
        batch_op.add_column(sa.Column('cns_status_missing', sa.String(length=40), nullable=True,
                                      comment='Missing-data code of cns_status (unknown, not_done); empty when cns_status has a value or is simply not recorded'))
        batch_op.add_column(sa.Column('wbc_per_nl_missing', sa.String(length=40), nullable=True,
                                      comment='Missing-data code of wbc_per_nl (unknown, not_done); empty when wbc_per_nl has a value or is simply not recorded'))
        batch_op.add_column(sa.Column('frontline_protocol_missing', sa.String(length=40), nullable=True,
                                      comment='Missing-data code of frontline_protocol (unknown, not_applicable); empty when frontline_protocol has a value or is simply not recorded'))
        batch_op.add_column(sa.Column('frontline_start_date_precision', sa.String(length=40), nullable=True,
                                      comment='Precision of frontline_start_date when only the year or the month is known (empty: the exact day)'))
        batch_op.add_column(sa.Column('frontline_start_date_missing', sa.String(length=40), nullable=True,
                                      comment='Missing-data code of frontline_start_date (unknown, not_applicable); empty when frontline_start_date has a value or is simply not recorded'))
        batch_op.add_column(sa.Column('frontline_end_date_precision', sa.String(length=40), nullable=True,
                                      comment='Precision of frontline_end_date when only the year or the month is known (empty: the exact day)'))
        batch_op.add_column(sa.Column('frontline_end_date_missing', sa.String(length=40), nullable=True,
                                      comment='Missing-data code of frontline_end_date (unknown, not_applicable); empty when frontline_end_date has a value or is simply not recorded'))
        batch_op.create_check_constraint(op.f('ck_diagnosis_cns_status_missing'), "cns_status_missing IN ('unknown', 'not_done')")
        batch_op.create_check_constraint(op.f('ck_diagnosis_cns_status_value_or_code'), 'cns_status_missing IS NULL OR cns_status IS NULL')
        batch_op.create_check_constraint(op.f('ck_diagnosis_diagnosis_date_precision'), "diagnosis_date_precision IN ('year', 'month')")
        batch_op.create_check_constraint(op.f('ck_diagnosis_frontline_end_date_missing'), "frontline_end_date_missing IN ('unknown', 'not_applicable')")
        batch_op.create_check_constraint(op.f('ck_diagnosis_frontline_end_date_precision'), "frontline_end_date_precision IN ('year', 'month')")
        batch_op.create_check_constraint(op.f('ck_diagnosis_frontline_end_date_value_or_code'), 'frontline_end_date_missing IS NULL OR frontline_end_date IS NULL')
        batch_op.create_check_constraint(op.f('ck_diagnosis_frontline_protocol_missing'), "frontline_protocol_missing IN ('unknown', 'not_applicable')")
        batch_op.create_check_constraint(op.f('ck_diagnosis_frontline_protocol_value_or_code'), 'frontline_protocol_missing IS NULL OR frontline_protocol IS NULL')
        batch_op.create_check_constraint(op.f('ck_diagnosis_frontline_start_date_missing'), "frontline_start_date_missing IN ('unknown', 'not_applicable')")
        batch_op.create_check_constraint(op.f('ck_diagnosis_frontline_start_date_precision'), "frontline_start_date_precision IN ('year', 'month')")
        batch_op.create_check_constraint(op.f('ck_diagnosis_frontline_start_date_value_or_code'), 'frontline_start_date_missing IS NULL OR frontline_start_date IS NULL')
        batch_op.create_check_constraint(op.f('ck_diagnosis_immunophenotype_missing'), "immunophenotype_missing IN ('unknown', 'not_done')")
        batch_op.create_check_constraint(op.f('ck_diagnosis_immunophenotype_value_or_code'), 'immunophenotype_missing IS NULL OR immunophenotype IS NULL')
        batch_op.create_check_constraint(op.f('ck_diagnosis_wbc_per_nl_missing'), "wbc_per_nl_missing IN ('unknown', 'not_done')")
        batch_op.create_check_constraint(op.f('ck_diagnosis_wbc_per_nl_value_or_code'), 'wbc_per_nl_missing IS NULL OR wbc_per_nl IS NULL')
    with op.batch_alter_table('relapse', schema=None) as batch_op:
        batch_op.add_column(sa.Column('relapse_date_precision', sa.String(length=40), nullable=True,
                                      comment='Precision of relapse_date when only the year or the month is known (empty: the exact day)'))
        batch_op.add_column(sa.Column('marrow_blasts_pct_missing', sa.String(length=40), nullable=True,
                                      comment='Missing-data code of marrow_blasts_pct (unknown, not_done); empty when marrow_blasts_pct has a value or is simply not recorded'))
        batch_op.create_check_constraint(op.f('ck_relapse_marrow_blasts_pct_missing'), "marrow_blasts_pct_missing IN ('unknown', 'not_done')")
        batch_op.create_check_constraint(op.f('ck_relapse_marrow_blasts_pct_value_or_code'), 'marrow_blasts_pct_missing IS NULL OR marrow_blasts_pct IS NULL')
        batch_op.create_check_constraint(op.f('ck_relapse_relapse_date_precision'), "relapse_date_precision IN ('year', 'month')")
    with op.batch_alter_table('body_measurement', schema=None) as batch_op:
        batch_op.add_column(sa.Column('height_cm_missing', sa.String(length=40), nullable=True,
                                      comment='Missing-data code of height_cm (unknown, not_done); empty when height_cm has a value or is simply not recorded'))
        batch_op.create_check_constraint(op.f('ck_body_measurement_height_cm_missing'), "height_cm_missing IN ('unknown', 'not_done')")
        batch_op.create_check_constraint(op.f('ck_body_measurement_height_cm_value_or_code'), 'height_cm_missing IS NULL OR height_cm IS NULL')
    with op.batch_alter_table('treatment_line', schema=None) as batch_op:
        batch_op.add_column(sa.Column('start_date_precision', sa.String(length=40), nullable=True,
                                      comment='Precision of start_date when only the year or the month is known (empty: the exact day)'))
        batch_op.add_column(sa.Column('end_date_precision', sa.String(length=40), nullable=True,
                                      comment='Precision of end_date when only the year or the month is known (empty: the exact day)'))
        batch_op.add_column(sa.Column('end_date_missing', sa.String(length=40), nullable=True,
                                      comment='Missing-data code of end_date (unknown); empty when end_date has a value or is simply not recorded'))
        batch_op.add_column(sa.Column('regimen_missing', sa.String(length=40), nullable=True,
                                      comment='Missing-data code of regimen (unknown); empty when regimen has a value or is simply not recorded'))
        batch_op.alter_column('end_date', existing_type=sa.Date(), nullable=True,
                              existing_nullable=True, comment='Last day of the line (empty while ongoing; `unknown` when it ended on an unknown day)',
                              existing_comment='Last day of the line (empty while ongoing)')
        batch_op.create_check_constraint(op.f('ck_treatment_line_end_date_missing'), "end_date_missing IN ('unknown')")
        batch_op.create_check_constraint(op.f('ck_treatment_line_end_date_precision'), "end_date_precision IN ('year', 'month')")
        batch_op.create_check_constraint(op.f('ck_treatment_line_end_date_value_or_code'), 'end_date_missing IS NULL OR end_date IS NULL')
        batch_op.create_check_constraint(op.f('ck_treatment_line_regimen_missing'), "regimen_missing IN ('unknown')")
        batch_op.create_check_constraint(op.f('ck_treatment_line_regimen_value_or_code'), 'regimen_missing IS NULL OR regimen IS NULL')
        batch_op.create_check_constraint(op.f('ck_treatment_line_start_date_precision'), "start_date_precision IN ('year', 'month')")
    with op.batch_alter_table('blinatumomab_cycle', schema=None) as batch_op:
        batch_op.add_column(sa.Column('early_stop_reason_missing', sa.String(length=40), nullable=True,
                                      comment='Missing-data code of early_stop_reason (unknown); empty when early_stop_reason has a value or is simply not recorded'))
        batch_op.create_check_constraint(op.f('ck_blinatumomab_cycle_early_stop_reason_missing'), "early_stop_reason_missing IN ('unknown')")
        batch_op.create_check_constraint(op.f('ck_blinatumomab_cycle_early_stop_reason_value_or_code'), 'early_stop_reason_missing IS NULL OR early_stop_reason IS NULL')
    with op.batch_alter_table('mrd_assessment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('target_missing', sa.String(length=40), nullable=True,
                                      comment='Missing-data code of target (unknown); empty when target has a value or is simply not recorded'))
        batch_op.add_column(sa.Column('fraction_missing', sa.String(length=40), nullable=True,
                                      comment='Missing-data code of fraction (positive_not_quantifiable, unknown); empty when fraction has a value or is simply not recorded'))
        batch_op.add_column(sa.Column('sensitivity_missing', sa.String(length=40), nullable=True,
                                      comment='Missing-data code of sensitivity (unknown); empty when sensitivity has a value or is simply not recorded'))
        batch_op.alter_column('fraction', existing_type=sa.Double(), nullable=True,
                              existing_nullable=True, comment='Leukemic cells as a fraction (0.0001 = 0.01%); `positive_not_quantifiable` when detected below the quantification limit',
                              existing_comment='Leukemic cells as a fraction (0.0001 = 0.01%)')
        batch_op.alter_column('sensitivity', existing_type=sa.Double(), nullable=True,
                              existing_nullable=True, comment='Assay sensitivity as a fraction; required when not detected (or `unknown`)',
                              existing_comment='Assay sensitivity as a fraction; required when not detected')
        batch_op.create_check_constraint(op.f('ck_mrd_assessment_fraction_missing'), "fraction_missing IN ('unknown', 'positive_not_quantifiable')")
        batch_op.create_check_constraint(op.f('ck_mrd_assessment_fraction_value_or_code'), 'fraction_missing IS NULL OR fraction IS NULL')
        batch_op.create_check_constraint(op.f('ck_mrd_assessment_sensitivity_missing'), "sensitivity_missing IN ('unknown')")
        batch_op.create_check_constraint(op.f('ck_mrd_assessment_sensitivity_value_or_code'), 'sensitivity_missing IS NULL OR sensitivity IS NULL')
        batch_op.create_check_constraint(op.f('ck_mrd_assessment_target_missing'), "target_missing IN ('unknown')")
        batch_op.create_check_constraint(op.f('ck_mrd_assessment_target_value_or_code'), 'target_missing IS NULL OR target IS NULL')
    with op.batch_alter_table('response_assessment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('marrow_blasts_pct_missing', sa.String(length=40), nullable=True,
                                      comment='Missing-data code of marrow_blasts_pct (unknown, not_done); empty when marrow_blasts_pct has a value or is simply not recorded'))
        batch_op.create_check_constraint(op.f('ck_response_assessment_marrow_blasts_pct_missing'), "marrow_blasts_pct_missing IN ('unknown', 'not_done')")
        batch_op.create_check_constraint(op.f('ck_response_assessment_marrow_blasts_pct_value_or_code'), 'marrow_blasts_pct_missing IS NULL OR marrow_blasts_pct IS NULL')
    with op.batch_alter_table('adverse_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('onset_date_precision', sa.String(length=40), nullable=True,
                                      comment='Precision of onset_date when only the year or the month is known (empty: the exact day)'))
        batch_op.add_column(sa.Column('onset_date_missing', sa.String(length=40), nullable=True,
                                      comment='Missing-data code of onset_date (unknown); empty when onset_date has a value or is simply not recorded'))
        batch_op.add_column(sa.Column('resolution_date_precision', sa.String(length=40), nullable=True,
                                      comment='Precision of resolution_date when only the year or the month is known (empty: the exact day)'))
        batch_op.add_column(sa.Column('resolution_date_missing', sa.String(length=40), nullable=True,
                                      comment='Missing-data code of resolution_date (unknown); empty when resolution_date has a value or is simply not recorded'))
        batch_op.add_column(sa.Column('temperature_c_missing', sa.String(length=40), nullable=True,
                                      comment='Missing-data code of temperature_c (unknown, not_done); empty when temperature_c has a value or is simply not recorded'))
        batch_op.add_column(sa.Column('vasopressors_missing', sa.String(length=40), nullable=True,
                                      comment='Missing-data code of vasopressors (unknown, not_done); empty when vasopressors has a value or is simply not recorded'))
        batch_op.add_column(sa.Column('vasopressin_missing', sa.String(length=40), nullable=True,
                                      comment='Missing-data code of vasopressin (unknown, not_done); empty when vasopressin has a value or is simply not recorded'))
        batch_op.add_column(sa.Column('hypotension_missing', sa.String(length=40), nullable=True,
                                      comment='Missing-data code of hypotension (unknown, not_done); empty when hypotension has a value or is simply not recorded'))
        batch_op.add_column(sa.Column('oxygen_missing', sa.String(length=40), nullable=True,
                                      comment='Missing-data code of oxygen (unknown, not_done); empty when oxygen has a value or is simply not recorded'))
        batch_op.add_column(sa.Column('ice_score_missing', sa.String(length=40), nullable=True,
                                      comment='Missing-data code of ice_score (unknown, not_done); empty when ice_score has a value or is simply not recorded'))
        batch_op.add_column(sa.Column('capd_score_missing', sa.String(length=40), nullable=True,
                                      comment='Missing-data code of capd_score (unknown, not_done); empty when capd_score has a value or is simply not recorded'))
        batch_op.add_column(sa.Column('consciousness_missing', sa.String(length=40), nullable=True,
                                      comment='Missing-data code of consciousness (unknown, not_done); empty when consciousness has a value or is simply not recorded'))
        batch_op.add_column(sa.Column('seizure_missing', sa.String(length=40), nullable=True,
                                      comment='Missing-data code of seizure (unknown, not_done); empty when seizure has a value or is simply not recorded'))
        batch_op.add_column(sa.Column('motor_missing', sa.String(length=40), nullable=True,
                                      comment='Missing-data code of motor (unknown, not_done); empty when motor has a value or is simply not recorded'))
        batch_op.add_column(sa.Column('cerebral_edema_missing', sa.String(length=40), nullable=True,
                                      comment='Missing-data code of cerebral_edema (unknown, not_done); empty when cerebral_edema has a value or is simply not recorded'))
        batch_op.alter_column('onset_date', existing_type=sa.Date(), nullable=True,
                              existing_nullable=False, comment='First day of the event',
                              existing_comment='First day of the event')
        batch_op.create_check_constraint(op.f('ck_adverse_event_capd_score_missing'), "capd_score_missing IN ('unknown', 'not_done')")
        batch_op.create_check_constraint(op.f('ck_adverse_event_capd_score_value_or_code'), 'capd_score_missing IS NULL OR capd_score IS NULL')
        batch_op.create_check_constraint(op.f('ck_adverse_event_cerebral_edema_missing'), "cerebral_edema_missing IN ('unknown', 'not_done')")
        batch_op.create_check_constraint(op.f('ck_adverse_event_cerebral_edema_value_or_code'), 'cerebral_edema_missing IS NULL OR cerebral_edema IS NULL')
        batch_op.create_check_constraint(op.f('ck_adverse_event_consciousness_missing'), "consciousness_missing IN ('unknown', 'not_done')")
        batch_op.create_check_constraint(op.f('ck_adverse_event_consciousness_value_or_code'), 'consciousness_missing IS NULL OR consciousness IS NULL')
        batch_op.create_check_constraint(op.f('ck_adverse_event_hypotension_missing'), "hypotension_missing IN ('unknown', 'not_done')")
        batch_op.create_check_constraint(op.f('ck_adverse_event_hypotension_value_or_code'), 'hypotension_missing IS NULL OR hypotension IS NULL')
        batch_op.create_check_constraint(op.f('ck_adverse_event_ice_score_missing'), "ice_score_missing IN ('unknown', 'not_done')")
        batch_op.create_check_constraint(op.f('ck_adverse_event_ice_score_value_or_code'), 'ice_score_missing IS NULL OR ice_score IS NULL')
        batch_op.create_check_constraint(op.f('ck_adverse_event_motor_missing'), "motor_missing IN ('unknown', 'not_done')")
        batch_op.create_check_constraint(op.f('ck_adverse_event_motor_value_or_code'), 'motor_missing IS NULL OR motor IS NULL')
        batch_op.create_check_constraint(op.f('ck_adverse_event_onset_date_missing'), "onset_date_missing IN ('unknown')")
        batch_op.create_check_constraint(op.f('ck_adverse_event_onset_date_precision'), "onset_date_precision IN ('year', 'month')")
        batch_op.create_check_constraint(op.f('ck_adverse_event_onset_date_required'), 'onset_date IS NOT NULL OR onset_date_missing IS NOT NULL')
        batch_op.create_check_constraint(op.f('ck_adverse_event_onset_date_value_or_code'), 'onset_date_missing IS NULL OR onset_date IS NULL')
        batch_op.create_check_constraint(op.f('ck_adverse_event_oxygen_missing'), "oxygen_missing IN ('unknown', 'not_done')")
        batch_op.create_check_constraint(op.f('ck_adverse_event_oxygen_value_or_code'), 'oxygen_missing IS NULL OR oxygen IS NULL')
        batch_op.create_check_constraint(op.f('ck_adverse_event_resolution_date_missing'), "resolution_date_missing IN ('unknown')")
        batch_op.create_check_constraint(op.f('ck_adverse_event_resolution_date_precision'), "resolution_date_precision IN ('year', 'month')")
        batch_op.create_check_constraint(op.f('ck_adverse_event_resolution_date_value_or_code'), 'resolution_date_missing IS NULL OR resolution_date IS NULL')
        batch_op.create_check_constraint(op.f('ck_adverse_event_seizure_missing'), "seizure_missing IN ('unknown', 'not_done')")
        batch_op.create_check_constraint(op.f('ck_adverse_event_seizure_value_or_code'), 'seizure_missing IS NULL OR seizure IS NULL')
        batch_op.create_check_constraint(op.f('ck_adverse_event_temperature_c_missing'), "temperature_c_missing IN ('unknown', 'not_done')")
        batch_op.create_check_constraint(op.f('ck_adverse_event_temperature_c_value_or_code'), 'temperature_c_missing IS NULL OR temperature_c IS NULL')
        batch_op.create_check_constraint(op.f('ck_adverse_event_vasopressin_missing'), "vasopressin_missing IN ('unknown', 'not_done')")
        batch_op.create_check_constraint(op.f('ck_adverse_event_vasopressin_value_or_code'), 'vasopressin_missing IS NULL OR vasopressin IS NULL')
        batch_op.create_check_constraint(op.f('ck_adverse_event_vasopressors_missing'), "vasopressors_missing IN ('unknown', 'not_done')")
        batch_op.create_check_constraint(op.f('ck_adverse_event_vasopressors_value_or_code'), 'vasopressors_missing IS NULL OR vasopressors IS NULL')
    with op.batch_alter_table('hsct', schema=None) as batch_op:
        batch_op.add_column(sa.Column('hsct_date_precision', sa.String(length=40), nullable=True,
                                      comment='Precision of hsct_date when only the year or the month is known (empty: the exact day)'))
        batch_op.add_column(sa.Column('donor_type_missing', sa.String(length=40), nullable=True,
                                      comment='Missing-data code of donor_type (unknown); empty when donor_type has a value or is simply not recorded'))
        batch_op.add_column(sa.Column('conditioning_missing', sa.String(length=40), nullable=True,
                                      comment='Missing-data code of conditioning (unknown); empty when conditioning has a value or is simply not recorded'))
        batch_op.add_column(sa.Column('remission_status_missing', sa.String(length=40), nullable=True,
                                      comment='Missing-data code of remission_status (unknown); empty when remission_status has a value or is simply not recorded'))
        batch_op.add_column(sa.Column('acute_gvhd_max_grade_missing', sa.String(length=40), nullable=True,
                                      comment='Missing-data code of acute_gvhd_max_grade (unknown); empty when acute_gvhd_max_grade has a value or is simply not recorded'))
        batch_op.add_column(sa.Column('chronic_gvhd_missing', sa.String(length=40), nullable=True,
                                      comment='Missing-data code of chronic_gvhd (unknown); empty when chronic_gvhd has a value or is simply not recorded'))
        batch_op.alter_column('donor_type', existing_type=sa.String(length=40), nullable=True,
                              existing_nullable=False, comment='Donor type',
                              existing_comment='Donor type')
        batch_op.alter_column('conditioning', existing_type=sa.String(length=40), nullable=True,
                              existing_nullable=False, comment='Conditioning regimen class',
                              existing_comment='Conditioning regimen class')
        batch_op.alter_column('remission_status', existing_type=sa.String(length=40), nullable=True,
                              existing_nullable=False, comment='Disease status at transplant',
                              existing_comment='Disease status at transplant')
        batch_op.create_check_constraint(op.f('ck_hsct_acute_gvhd_max_grade_missing'), "acute_gvhd_max_grade_missing IN ('unknown')")
        batch_op.create_check_constraint(op.f('ck_hsct_acute_gvhd_max_grade_value_or_code'), 'acute_gvhd_max_grade_missing IS NULL OR acute_gvhd_max_grade IS NULL')
        batch_op.create_check_constraint(op.f('ck_hsct_chronic_gvhd_missing'), "chronic_gvhd_missing IN ('unknown')")
        batch_op.create_check_constraint(op.f('ck_hsct_chronic_gvhd_value_or_code'), 'chronic_gvhd_missing IS NULL OR chronic_gvhd IS NULL')
        batch_op.create_check_constraint(op.f('ck_hsct_conditioning_missing'), "conditioning_missing IN ('unknown')")
        batch_op.create_check_constraint(op.f('ck_hsct_conditioning_required'), 'conditioning IS NOT NULL OR conditioning_missing IS NOT NULL')
        batch_op.create_check_constraint(op.f('ck_hsct_conditioning_value_or_code'), 'conditioning_missing IS NULL OR conditioning IS NULL')
        batch_op.create_check_constraint(op.f('ck_hsct_donor_type_missing'), "donor_type_missing IN ('unknown')")
        batch_op.create_check_constraint(op.f('ck_hsct_donor_type_required'), 'donor_type IS NOT NULL OR donor_type_missing IS NOT NULL')
        batch_op.create_check_constraint(op.f('ck_hsct_donor_type_value_or_code'), 'donor_type_missing IS NULL OR donor_type IS NULL')
        batch_op.create_check_constraint(op.f('ck_hsct_hsct_date_precision'), "hsct_date_precision IN ('year', 'month')")
        batch_op.create_check_constraint(op.f('ck_hsct_remission_status_missing'), "remission_status_missing IN ('unknown')")
        batch_op.create_check_constraint(op.f('ck_hsct_remission_status_required'), 'remission_status IS NOT NULL OR remission_status_missing IS NOT NULL')
        batch_op.create_check_constraint(op.f('ck_hsct_remission_status_value_or_code'), 'remission_status_missing IS NULL OR remission_status IS NULL')
    with op.batch_alter_table('death', schema=None) as batch_op:
        batch_op.add_column(sa.Column('death_date_precision', sa.String(length=40), nullable=True,
                                      comment='Precision of death_date when only the year or the month is known (empty: the exact day)'))
        batch_op.add_column(sa.Column('cause_missing', sa.String(length=40), nullable=True,
                                      comment='Missing-data code of cause (unknown); empty when cause has a value or is simply not recorded'))
        batch_op.alter_column('cause', existing_type=sa.String(length=40), nullable=True,
                              existing_nullable=False, comment='Primary cause of death',
                              existing_comment='Primary cause of death')
        batch_op.create_check_constraint(op.f('ck_death_cause_missing'), "cause_missing IN ('unknown')")
        batch_op.create_check_constraint(op.f('ck_death_cause_required'), 'cause IS NOT NULL OR cause_missing IS NOT NULL')
        batch_op.create_check_constraint(op.f('ck_death_cause_value_or_code'), 'cause_missing IS NULL OR cause IS NULL')
        batch_op.create_check_constraint(op.f('ck_death_death_date_precision'), "death_date_precision IN ('year', 'month')")


def downgrade() -> None:
    with op.batch_alter_table('patient', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_patient_birth_date_precision'), type_='check')
        batch_op.alter_column('birth_date', existing_type=sa.Date(), nullable=False,
                              existing_nullable=False, comment='Date of birth',
                              existing_comment='Date of birth (a year or year-month is accepted)')
        batch_op.drop_column('birth_date_precision')
    with op.batch_alter_table('diagnosis', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_diagnosis_cns_status_missing'), type_='check')
        batch_op.drop_constraint(op.f('ck_diagnosis_cns_status_value_or_code'), type_='check')
        batch_op.drop_constraint(op.f('ck_diagnosis_diagnosis_date_precision'), type_='check')
        batch_op.drop_constraint(op.f('ck_diagnosis_frontline_end_date_missing'), type_='check')
        batch_op.drop_constraint(op.f('ck_diagnosis_frontline_end_date_precision'), type_='check')
        batch_op.drop_constraint(op.f('ck_diagnosis_frontline_end_date_value_or_code'), type_='check')
        batch_op.drop_constraint(op.f('ck_diagnosis_frontline_protocol_missing'), type_='check')
        batch_op.drop_constraint(op.f('ck_diagnosis_frontline_protocol_value_or_code'), type_='check')
        batch_op.drop_constraint(op.f('ck_diagnosis_frontline_start_date_missing'), type_='check')
        batch_op.drop_constraint(op.f('ck_diagnosis_frontline_start_date_precision'), type_='check')
        batch_op.drop_constraint(op.f('ck_diagnosis_frontline_start_date_value_or_code'), type_='check')
        batch_op.drop_constraint(op.f('ck_diagnosis_immunophenotype_missing'), type_='check')
        batch_op.drop_constraint(op.f('ck_diagnosis_immunophenotype_value_or_code'), type_='check')
        batch_op.drop_constraint(op.f('ck_diagnosis_wbc_per_nl_missing'), type_='check')
        batch_op.drop_constraint(op.f('ck_diagnosis_wbc_per_nl_value_or_code'), type_='check')
        batch_op.drop_column('frontline_end_date_missing')
        batch_op.drop_column('frontline_end_date_precision')
        batch_op.drop_column('frontline_start_date_missing')
        batch_op.drop_column('frontline_start_date_precision')
        batch_op.drop_column('frontline_protocol_missing')
        batch_op.drop_column('wbc_per_nl_missing')
        batch_op.drop_column('cns_status_missing')
        batch_op.drop_column('immunophenotype_missing')
        batch_op.drop_column('diagnosis_date_precision')
    with op.batch_alter_table('relapse', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_relapse_marrow_blasts_pct_missing'), type_='check')
        batch_op.drop_constraint(op.f('ck_relapse_marrow_blasts_pct_value_or_code'), type_='check')
        batch_op.drop_constraint(op.f('ck_relapse_relapse_date_precision'), type_='check')
        batch_op.drop_column('marrow_blasts_pct_missing')
        batch_op.drop_column('relapse_date_precision')
    with op.batch_alter_table('body_measurement', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_body_measurement_height_cm_missing'), type_='check')
        batch_op.drop_constraint(op.f('ck_body_measurement_height_cm_value_or_code'), type_='check')
        batch_op.drop_column('height_cm_missing')
    with op.batch_alter_table('treatment_line', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_treatment_line_end_date_missing'), type_='check')
        batch_op.drop_constraint(op.f('ck_treatment_line_end_date_precision'), type_='check')
        batch_op.drop_constraint(op.f('ck_treatment_line_end_date_value_or_code'), type_='check')
        batch_op.drop_constraint(op.f('ck_treatment_line_regimen_missing'), type_='check')
        batch_op.drop_constraint(op.f('ck_treatment_line_regimen_value_or_code'), type_='check')
        batch_op.drop_constraint(op.f('ck_treatment_line_start_date_precision'), type_='check')
        batch_op.alter_column('end_date', existing_type=sa.Date(), nullable=True,
                              existing_nullable=True, comment='Last day of the line (empty while ongoing)',
                              existing_comment='Last day of the line (empty while ongoing; `unknown` when it ended on an unknown day)')
        batch_op.drop_column('regimen_missing')
        batch_op.drop_column('end_date_missing')
        batch_op.drop_column('end_date_precision')
        batch_op.drop_column('start_date_precision')
    with op.batch_alter_table('blinatumomab_cycle', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_blinatumomab_cycle_early_stop_reason_missing'), type_='check')
        batch_op.drop_constraint(op.f('ck_blinatumomab_cycle_early_stop_reason_value_or_code'), type_='check')
        batch_op.drop_column('early_stop_reason_missing')
    with op.batch_alter_table('mrd_assessment', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_mrd_assessment_fraction_missing'), type_='check')
        batch_op.drop_constraint(op.f('ck_mrd_assessment_fraction_value_or_code'), type_='check')
        batch_op.drop_constraint(op.f('ck_mrd_assessment_sensitivity_missing'), type_='check')
        batch_op.drop_constraint(op.f('ck_mrd_assessment_sensitivity_value_or_code'), type_='check')
        batch_op.drop_constraint(op.f('ck_mrd_assessment_target_missing'), type_='check')
        batch_op.drop_constraint(op.f('ck_mrd_assessment_target_value_or_code'), type_='check')
        batch_op.alter_column('fraction', existing_type=sa.Double(), nullable=True,
                              existing_nullable=True, comment='Leukemic cells as a fraction (0.0001 = 0.01%)',
                              existing_comment='Leukemic cells as a fraction (0.0001 = 0.01%); `positive_not_quantifiable` when detected below the quantification limit')
        batch_op.alter_column('sensitivity', existing_type=sa.Double(), nullable=True,
                              existing_nullable=True, comment='Assay sensitivity as a fraction; required when not detected',
                              existing_comment='Assay sensitivity as a fraction; required when not detected (or `unknown`)')
        batch_op.drop_column('sensitivity_missing')
        batch_op.drop_column('fraction_missing')
        batch_op.drop_column('target_missing')
    with op.batch_alter_table('response_assessment', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_response_assessment_marrow_blasts_pct_missing'), type_='check')
        batch_op.drop_constraint(op.f('ck_response_assessment_marrow_blasts_pct_value_or_code'), type_='check')
        batch_op.drop_column('marrow_blasts_pct_missing')
    with op.batch_alter_table('adverse_event', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_adverse_event_capd_score_missing'), type_='check')
        batch_op.drop_constraint(op.f('ck_adverse_event_capd_score_value_or_code'), type_='check')
        batch_op.drop_constraint(op.f('ck_adverse_event_cerebral_edema_missing'), type_='check')
        batch_op.drop_constraint(op.f('ck_adverse_event_cerebral_edema_value_or_code'), type_='check')
        batch_op.drop_constraint(op.f('ck_adverse_event_consciousness_missing'), type_='check')
        batch_op.drop_constraint(op.f('ck_adverse_event_consciousness_value_or_code'), type_='check')
        batch_op.drop_constraint(op.f('ck_adverse_event_hypotension_missing'), type_='check')
        batch_op.drop_constraint(op.f('ck_adverse_event_hypotension_value_or_code'), type_='check')
        batch_op.drop_constraint(op.f('ck_adverse_event_ice_score_missing'), type_='check')
        batch_op.drop_constraint(op.f('ck_adverse_event_ice_score_value_or_code'), type_='check')
        batch_op.drop_constraint(op.f('ck_adverse_event_motor_missing'), type_='check')
        batch_op.drop_constraint(op.f('ck_adverse_event_motor_value_or_code'), type_='check')
        batch_op.drop_constraint(op.f('ck_adverse_event_onset_date_missing'), type_='check')
        batch_op.drop_constraint(op.f('ck_adverse_event_onset_date_precision'), type_='check')
        batch_op.drop_constraint(op.f('ck_adverse_event_onset_date_required'), type_='check')
        batch_op.drop_constraint(op.f('ck_adverse_event_onset_date_value_or_code'), type_='check')
        batch_op.drop_constraint(op.f('ck_adverse_event_oxygen_missing'), type_='check')
        batch_op.drop_constraint(op.f('ck_adverse_event_oxygen_value_or_code'), type_='check')
        batch_op.drop_constraint(op.f('ck_adverse_event_resolution_date_missing'), type_='check')
        batch_op.drop_constraint(op.f('ck_adverse_event_resolution_date_precision'), type_='check')
        batch_op.drop_constraint(op.f('ck_adverse_event_resolution_date_value_or_code'), type_='check')
        batch_op.drop_constraint(op.f('ck_adverse_event_seizure_missing'), type_='check')
        batch_op.drop_constraint(op.f('ck_adverse_event_seizure_value_or_code'), type_='check')
        batch_op.drop_constraint(op.f('ck_adverse_event_temperature_c_missing'), type_='check')
        batch_op.drop_constraint(op.f('ck_adverse_event_temperature_c_value_or_code'), type_='check')
        batch_op.drop_constraint(op.f('ck_adverse_event_vasopressin_missing'), type_='check')
        batch_op.drop_constraint(op.f('ck_adverse_event_vasopressin_value_or_code'), type_='check')
        batch_op.drop_constraint(op.f('ck_adverse_event_vasopressors_missing'), type_='check')
        batch_op.drop_constraint(op.f('ck_adverse_event_vasopressors_value_or_code'), type_='check')
        batch_op.alter_column('onset_date', existing_type=sa.Date(), nullable=False,
                              existing_nullable=True, comment='First day of the event',
                              existing_comment='First day of the event')
        batch_op.drop_column('cerebral_edema_missing')
        batch_op.drop_column('motor_missing')
        batch_op.drop_column('seizure_missing')
        batch_op.drop_column('consciousness_missing')
        batch_op.drop_column('capd_score_missing')
        batch_op.drop_column('ice_score_missing')
        batch_op.drop_column('oxygen_missing')
        batch_op.drop_column('hypotension_missing')
        batch_op.drop_column('vasopressin_missing')
        batch_op.drop_column('vasopressors_missing')
        batch_op.drop_column('temperature_c_missing')
        batch_op.drop_column('resolution_date_missing')
        batch_op.drop_column('resolution_date_precision')
        batch_op.drop_column('onset_date_missing')
        batch_op.drop_column('onset_date_precision')
    with op.batch_alter_table('hsct', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_hsct_acute_gvhd_max_grade_missing'), type_='check')
        batch_op.drop_constraint(op.f('ck_hsct_acute_gvhd_max_grade_value_or_code'), type_='check')
        batch_op.drop_constraint(op.f('ck_hsct_chronic_gvhd_missing'), type_='check')
        batch_op.drop_constraint(op.f('ck_hsct_chronic_gvhd_value_or_code'), type_='check')
        batch_op.drop_constraint(op.f('ck_hsct_conditioning_missing'), type_='check')
        batch_op.drop_constraint(op.f('ck_hsct_conditioning_required'), type_='check')
        batch_op.drop_constraint(op.f('ck_hsct_conditioning_value_or_code'), type_='check')
        batch_op.drop_constraint(op.f('ck_hsct_donor_type_missing'), type_='check')
        batch_op.drop_constraint(op.f('ck_hsct_donor_type_required'), type_='check')
        batch_op.drop_constraint(op.f('ck_hsct_donor_type_value_or_code'), type_='check')
        batch_op.drop_constraint(op.f('ck_hsct_hsct_date_precision'), type_='check')
        batch_op.drop_constraint(op.f('ck_hsct_remission_status_missing'), type_='check')
        batch_op.drop_constraint(op.f('ck_hsct_remission_status_required'), type_='check')
        batch_op.drop_constraint(op.f('ck_hsct_remission_status_value_or_code'), type_='check')
        batch_op.alter_column('donor_type', existing_type=sa.String(length=40), nullable=False,
                              existing_nullable=True, comment='Donor type',
                              existing_comment='Donor type')
        batch_op.alter_column('conditioning', existing_type=sa.String(length=40), nullable=False,
                              existing_nullable=True, comment='Conditioning regimen class',
                              existing_comment='Conditioning regimen class')
        batch_op.alter_column('remission_status', existing_type=sa.String(length=40), nullable=False,
                              existing_nullable=True, comment='Disease status at transplant',
                              existing_comment='Disease status at transplant')
        batch_op.drop_column('chronic_gvhd_missing')
        batch_op.drop_column('acute_gvhd_max_grade_missing')
        batch_op.drop_column('remission_status_missing')
        batch_op.drop_column('conditioning_missing')
        batch_op.drop_column('donor_type_missing')
        batch_op.drop_column('hsct_date_precision')
    with op.batch_alter_table('death', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_death_cause_missing'), type_='check')
        batch_op.drop_constraint(op.f('ck_death_cause_required'), type_='check')
        batch_op.drop_constraint(op.f('ck_death_cause_value_or_code'), type_='check')
        batch_op.drop_constraint(op.f('ck_death_death_date_precision'), type_='check')
        batch_op.alter_column('cause', existing_type=sa.String(length=40), nullable=False,
                              existing_nullable=True, comment='Primary cause of death',
                              existing_comment='Primary cause of death')
        batch_op.drop_column('cause_missing')
        batch_op.drop_column('death_date_precision')
