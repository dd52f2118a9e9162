"""Create the registry tables: one per record type, the audit log and the registry metadata.

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-22

Generated once with `alembic revision --autogenerate` from `blinareg.store.schema` and committed as is:
later model changes get their own migration (tests/store/test_migrations.py fails until they do).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('audit_log',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False, comment='When the change was committed (UTC)'),
    sa.Column('actor', sa.String(length=100), nullable=False, comment='Who made the change (user or tool)'),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('record_type', sa.String(length=40), nullable=False),
    sa.Column('patient_id', sa.String(length=40), nullable=True, comment='No foreign key: the trail outlives deletions'),
    sa.Column('record_key', sa.Text(), nullable=False, comment="The record's natural key as JSON"),
    sa.Column('before', sa.Text(), nullable=True, comment='JSON of the stored record(s) before the change'),
    sa.Column('after', sa.Text(), nullable=True, comment='JSON of the record after the change'),
    sa.Column('batch_id', sa.String(length=36), nullable=False, comment='Groups the rows of one import or edit'),
    sa.Column('source', sa.Text(), nullable=True, comment='File or tool the change came from'),
    sa.CheckConstraint("action IN ('import', 'replace', 'edit', 'delete')", name=op.f('ck_audit_log_action')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log')),
    comment='Append-only audit trail of every change, written in the transaction of the change'
    )
    op.create_index(op.f('ix_audit_log_batch_id'), 'audit_log', ['batch_id'], unique=False)
    op.create_index(op.f('ix_audit_log_patient_id'), 'audit_log', ['patient_id'], unique=False)

    op.create_table('center',
    sa.Column('center_id', sa.String(length=40), nullable=False, comment='Center code, unique in the registry'),
    sa.Column('name', sa.String(length=200), nullable=False, comment='Center name'),
    sa.Column('country', sa.Text(), nullable=True, comment='ISO 3166-1 alpha-2 country code'),
    sa.Column('synthetic', sa.Boolean(create_constraint=True, name='synthetic'), nullable=False, comment='True for generated (synthetic) data, never real patients'),
    sa.PrimaryKeyConstraint('center_id', name=op.f('pk_center')),
    comment='Treating center'
    )
    op.create_table('registry_meta',
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_registry_meta')),
    comment='Facts about the registry as key/value pairs'
    )
    op.create_table('patient',
    sa.Column('patient_id', sa.String(length=40), nullable=False, comment='Pseudonymous study id; never a name or MRN'),
    sa.Column('center_id', sa.String(length=40), nullable=False, comment='Treating center'),
    sa.Column('sex', sa.String(length=40), nullable=False, comment='Sex'),
    sa.Column('birth_date', sa.Date(), nullable=False, comment='Date of birth'),
    sa.CheckConstraint("sex IN ('female', 'male', 'other', 'unknown')", name=op.f('ck_patient_sex')),
    sa.ForeignKeyConstraint(['center_id'], ['center.center_id'], name=op.f('fk_patient_center_id_center'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('patient_id', name=op.f('pk_patient')),
    comment='Patient (pseudonymous)'
    )
    op.create_table('adverse_event',
    sa.Column('patient_id', sa.String(length=40), nullable=False),
    sa.Column('event_number', sa.Integer(), nullable=False),
    sa.Column('term', sa.String(length=40), nullable=False),
    sa.Column('description', sa.String(length=200), nullable=True, comment="Verbatim term, e.g. 'fungal pneumonia'"),
    sa.Column('grading_system', sa.String(length=40), nullable=False),
    sa.Column('grade', sa.Integer(), nullable=False, comment='Recorded grade'),
    sa.Column('onset_date', sa.Date(), nullable=False),
    sa.Column('resolution_date', sa.Date(), nullable=True),
    sa.Column('cycle_number', sa.Integer(), nullable=True, comment='Blinatumomab cycle during which it began'),
    sa.Column('serious', sa.Boolean(create_constraint=True, name='serious'), nullable=False),
    sa.Column('action_taken', sa.String(length=40), nullable=False),
    sa.Column('temperature_c', sa.Double(), nullable=True, comment='Max temperature, C'),
    sa.Column('vasopressors', sa.Integer(), nullable=True, comment='Vasopressors, vasopressin excluded'),
    sa.Column('vasopressin', sa.Boolean(create_constraint=True, name='vasopressin'), nullable=True),
    sa.Column('oxygen', sa.String(length=40), nullable=True),
    sa.Column('ice_score', sa.Integer(), nullable=True, comment='Worst ICE score (0-10)'),
    sa.Column('capd_score', sa.Integer(), nullable=True, comment='Worst CAPD score (0-32)'),
    sa.Column('consciousness', sa.String(length=40), nullable=True),
    sa.Column('seizure', sa.String(length=40), nullable=True),
    sa.Column('motor', sa.String(length=40), nullable=True),
    sa.Column('cerebral_edema', sa.String(length=40), nullable=True),
    sa.CheckConstraint("action_taken IN ('none', 'interrupted', 'dose_reduced', 'discontinued')", name=op.f('ck_adverse_event_action_taken')),
    sa.CheckConstraint("cerebral_edema IN ('none', 'focal', 'diffuse')", name=op.f('ck_adverse_event_cerebral_edema')),
    sa.CheckConstraint("consciousness IN ('normal', 'awakens_spontaneously', 'awakens_to_voice', 'awakens_to_touch', 'unarousable')", name=op.f('ck_adverse_event_consciousness')),
    sa.CheckConstraint("grading_system IN ('astct', 'ctcae_v5')", name=op.f('ck_adverse_event_grading_system')),
    sa.CheckConstraint("motor IN ('none', 'deep_focal_weakness')", name=op.f('ck_adverse_event_motor')),
    sa.CheckConstraint("oxygen IN ('none', 'low_flow', 'high_flow', 'facemask', 'non_rebreather', 'venturi', 'cpap_bipap', 'mechanical_ventilation')", name=op.f('ck_adverse_event_oxygen')),
    sa.CheckConstraint("seizure IN ('none', 'resolving', 'prolonged')", name=op.f('ck_adverse_event_seizure')),
    sa.CheckConstraint("term IN ('crs', 'icans', 'encephalopathy', 'seizure', 'tremor', 'other_neurotoxicity', 'fever', 'infection', 'cytopenia', 'second_malignancy', 'other')", name=op.f('ck_adverse_event_term')),
    sa.CheckConstraint('capd_score >= 0 AND capd_score <= 32', name=op.f('ck_adverse_event_capd_score')),
    sa.CheckConstraint('cycle_number >= 1 AND cycle_number <= 99', name=op.f('ck_adverse_event_cycle_number')),
    sa.CheckConstraint('event_number >= 1 AND event_number <= 9999', name=op.f('ck_adverse_event_event_number')),
    sa.CheckConstraint('grade >= 1 AND grade <= 5', name=op.f('ck_adverse_event_grade')),
    sa.CheckConstraint('ice_score >= 0 AND ice_score <= 10', name=op.f('ck_adverse_event_ice_score')),
    sa.CheckConstraint('temperature_c >= 25 AND temperature_c <= 45', name=op.f('ck_adverse_event_temperature_c')),
    sa.CheckConstraint('vasopressors >= 0 AND vasopressors <= 5', name=op.f('ck_adverse_event_vasopressors')),
    sa.ForeignKeyConstraint(['patient_id'], ['patient.patient_id'], name=op.f('fk_adverse_event_patient_id_patient'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('patient_id', 'event_number', name=op.f('pk_adverse_event')),
    comment='Adverse event, with the parameters its grade is computed from'
    )
    op.create_table('blinatumomab_cycle',
    sa.Column('patient_id', sa.String(length=40), nullable=False),
    sa.Column('cycle_number', sa.Integer(), nullable=False, comment="Cycle number across the patient's blinatumomab course"),
    sa.Column('line_number', sa.Integer(), nullable=True, comment='Treatment line this cycle belongs to'),
    sa.Column('phase', sa.String(length=40), nullable=False),
    sa.Column('indication', sa.String(length=40), nullable=False, comment='Label indication deciding the schedule'),
    sa.Column('start_date', sa.Date(), nullable=False, comment='First infusion day'),
    sa.Column('end_date', sa.Date(), nullable=False, comment='Last infusion day'),
    sa.Column('early_stop_reason', sa.String(length=40), nullable=True, comment='Set when stopped before plan'),
    sa.CheckConstraint("early_stop_reason IN ('toxicity', 'progression', 'cost', 'other')", name=op.f('ck_blinatumomab_cycle_early_stop_reason')),
    sa.CheckConstraint("indication IN ('relapsed_refractory', 'mrd_positive', 'consolidation')", name=op.f('ck_blinatumomab_cycle_indication')),
    sa.CheckConstraint("phase IN ('prephase', 'induction', 'consolidation', 'continued')", name=op.f('ck_blinatumomab_cycle_phase')),
    sa.CheckConstraint('cycle_number >= 1 AND cycle_number <= 99', name=op.f('ck_blinatumomab_cycle_cycle_number')),
    sa.CheckConstraint('line_number >= 1 AND line_number <= 99', name=op.f('ck_blinatumomab_cycle_line_number')),
    sa.ForeignKeyConstraint(['patient_id'], ['patient.patient_id'], name=op.f('fk_blinatumomab_cycle_patient_id_patient'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('patient_id', 'cycle_number', name=op.f('pk_blinatumomab_cycle')),
    comment='Blinatumomab cycle'
    )
    op.create_table('body_measurement',
    sa.Column('patient_id', sa.String(length=40), nullable=False),
    sa.Column('measurement_date', sa.Date(), nullable=False),
    sa.Column('weight_kg', sa.Double(), nullable=False, comment='Weight, kg'),
    sa.Column('height_cm', sa.Double(), nullable=True, comment='Height, cm'),
    sa.CheckConstraint('height_cm >= 30 AND height_cm <= 250', name=op.f('ck_body_measurement_height_cm')),
    sa.CheckConstraint('weight_kg > 0 AND weight_kg <= 300', name=op.f('ck_body_measurement_weight_kg')),
    sa.ForeignKeyConstraint(['patient_id'], ['patient.patient_id'], name=op.f('fk_body_measurement_patient_id_patient'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('patient_id', 'measurement_date', name=op.f('pk_body_measurement')),
    comment='Weight and height'
    )
    op.create_table('death',
    sa.Column('patient_id', sa.String(length=40), nullable=False),
    sa.Column('death_date', sa.Date(), nullable=False),
    sa.Column('cause', sa.String(length=40), nullable=False),
    sa.CheckConstraint("cause IN ('relapse_progression', 'infection', 'gvhd', 'treatment_toxicity', 'other')", name=op.f('ck_death_cause')),
    sa.ForeignKeyConstraint(['patient_id'], ['patient.patient_id'], name=op.f('fk_death_patient_id_patient'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('patient_id', name=op.f('pk_death')),
    comment='Death'
    )
    op.create_table('diagnosis',
    sa.Column('patient_id', sa.String(length=40), nullable=False),
    sa.Column('diagnosis_date', sa.Date(), nullable=False, comment='Date of initial B-ALL diagnosis'),
    sa.Column('immunophenotype', sa.String(length=40), nullable=True, comment='EGIL B-I..B-IV'),
    sa.Column('cns_status', sa.String(length=40), nullable=True, comment='CNS status at diagnosis'),
    sa.Column('wbc_per_nl', sa.Double(), nullable=True, comment='Initial white blood cell count, x10^9/L (= /nL)'),
    sa.Column('frontline_protocol', sa.String(length=200), nullable=True, comment='Front-line protocol, e.g. AIEOP-BFM ALL 2017'),
    sa.Column('frontline_start_date', sa.Date(), nullable=True, comment='Start of front-line therapy'),
    sa.Column('frontline_end_date', sa.Date(), nullable=True, comment='End of front-line therapy (end of maintenance); decides BFM relapse timing'),
    sa.CheckConstraint("cns_status IN ('CNS1', 'CNS2', 'CNS3')", name=op.f('ck_diagnosis_cns_status')),
    sa.CheckConstraint("immunophenotype IN ('B-I', 'B-II', 'B-III', 'B-IV')", name=op.f('ck_diagnosis_immunophenotype')),
    sa.CheckConstraint('wbc_per_nl >= 0 AND wbc_per_nl <= 2000', name=op.f('ck_diagnosis_wbc_per_nl')),
    sa.ForeignKeyConstraint(['patient_id'], ['patient.patient_id'], name=op.f('fk_diagnosis_patient_id_patient'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('patient_id', name=op.f('pk_diagnosis')),
    comment='Initial diagnosis and front-line therapy'
    )
    op.create_table('dose_segment',
    sa.Column('patient_id', sa.String(length=40), nullable=False),
    sa.Column('cycle_number', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('end_date', sa.Date(), nullable=False),
    sa.Column('dose', sa.Double(), nullable=False, comment='Daily dose in `unit`'),
    sa.Column('unit', sa.String(length=40), nullable=False),
    sa.CheckConstraint("kind IN ('planned', 'delivered')", name=op.f('ck_dose_segment_kind')),
    sa.CheckConstraint("unit IN ('mcg/day', 'mcg/m2/day')", name=op.f('ck_dose_segment_unit')),
    sa.CheckConstraint('cycle_number >= 1 AND cycle_number <= 99', name=op.f('ck_dose_segment_cycle_number')),
    sa.CheckConstraint('dose > 0 AND dose <= 1000', name=op.f('ck_dose_segment_dose')),
    sa.ForeignKeyConstraint(['patient_id'], ['patient.patient_id'], name=op.f('fk_dose_segment_patient_id_patient'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('patient_id', 'cycle_number', 'kind', 'start_date', name=op.f('pk_dose_segment')),
    comment='Planned or delivered daily dose over a date range (both ends included)'
    )
    op.create_table('follow_up',
    sa.Column('patient_id', sa.String(length=40), nullable=False),
    sa.Column('last_contact_date', sa.Date(), nullable=False),
    sa.Column('vital_status', sa.String(length=40), nullable=False),
    sa.CheckConstraint("vital_status IN ('alive', 'dead')", name=op.f('ck_follow_up_vital_status')),
    sa.ForeignKeyConstraint(['patient_id'], ['patient.patient_id'], name=op.f('fk_follow_up_patient_id_patient'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('patient_id', name=op.f('pk_follow_up')),
    comment='Last follow-up'
    )
    op.create_table('genetic_finding',
    sa.Column('patient_id', sa.String(length=40), nullable=False),
    sa.Column('lesion', sa.String(length=40), nullable=False, comment='Genetic lesion'),
    sa.Column('detail', sa.String(length=200), nullable=True, comment="Free-text detail, required for 'other'"),
    sa.CheckConstraint("lesion IN ('BCR::ABL1', 'Ph-like', 'KMT2A-r', 'ETV6::RUNX1', 'TCF3::PBX1', 'high_hyperdiploidy', 'hypodiploidy', 'iAMP21', 'other')", name=op.f('ck_genetic_finding_lesion')),
    sa.ForeignKeyConstraint(['patient_id'], ['patient.patient_id'], name=op.f('fk_genetic_finding_patient_id_patient'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('patient_id', 'lesion', name=op.f('pk_genetic_finding')),
    comment='Genetic lesion found at diagnosis (one row per lesion)'
    )
    op.create_table('hsct',
    sa.Column('patient_id', sa.String(length=40), nullable=False),
    sa.Column('hsct_number', sa.Integer(), nullable=False, comment='1 for the first transplant, ...'),
    sa.Column('hsct_date', sa.Date(), nullable=False, comment='Day 0 (infusion)'),
    sa.Column('donor_type', sa.String(length=40), nullable=False),
    sa.Column('conditioning', sa.String(length=40), nullable=False),
    sa.Column('remission_status', sa.String(length=40), nullable=False, comment='Disease status at transplant'),
    sa.Column('inotuzumab_before', sa.Boolean(create_constraint=True, name='inotuzumab_before'), nullable=False, comment='Inotuzumab in the treatment of the relapse before HSCT'),
    sa.Column('acute_gvhd_max_grade', sa.Integer(), nullable=True, comment='Maximum acute GVHD grade 0-IV'),
    sa.Column('chronic_gvhd', sa.String(length=40), nullable=True),
    sa.CheckConstraint("chronic_gvhd IN ('none', 'mild', 'moderate', 'severe')", name=op.f('ck_hsct_chronic_gvhd')),
    sa.CheckConstraint("conditioning IN ('tbi_based', 'chemotherapy_only')", name=op.f('ck_hsct_conditioning')),
    sa.CheckConstraint("donor_type IN ('msd', 'mud', 'mmud', 'haploidentical', 'cord', 'autologous')", name=op.f('ck_hsct_donor_type')),
    sa.CheckConstraint("remission_status IN ('CR1', 'CR2', 'CR3+', 'not_in_CR')", name=op.f('ck_hsct_remission_status')),
    sa.CheckConstraint('acute_gvhd_max_grade >= 0 AND acute_gvhd_max_grade <= 4', name=op.f('ck_hsct_acute_gvhd_max_grade')),
    sa.CheckConstraint('hsct_number >= 1 AND hsct_number <= 99', name=op.f('ck_hsct_hsct_number')),
    sa.ForeignKeyConstraint(['patient_id'], ['patient.patient_id'], name=op.f('fk_hsct_patient_id_patient'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('patient_id', 'hsct_number', name=op.f('pk_hsct')),
    comment='Hematopoietic stem cell transplantation'
    )
    op.create_table('interruption',
    sa.Column('patient_id', sa.String(length=40), nullable=False),
    sa.Column('cycle_number', sa.Integer(), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=False, comment='First day without infusion'),
    sa.Column('end_date', sa.Date(), nullable=False, comment='Day the infusion restarted'),
    sa.Column('reason', sa.String(length=40), nullable=False),
    sa.CheckConstraint("reason IN ('crs', 'neurotoxicity', 'infection', 'other_toxicity', 'technical', 'other')", name=op.f('ck_interruption_reason')),
    sa.CheckConstraint('cycle_number >= 1 AND cycle_number <= 99', name=op.f('ck_interruption_cycle_number')),
    sa.ForeignKeyConstraint(['patient_id'], ['patient.patient_id'], name=op.f('fk_interruption_patient_id_patient'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('patient_id', 'cycle_number', 'start_date', name=op.f('pk_interruption')),
    comment='Infusion interruption'
    )
    op.create_table('mrd_assessment',
    sa.Column('patient_id', sa.String(length=40), nullable=False),
    sa.Column('assessment_date', sa.Date(), nullable=False),
    sa.Column('sample', sa.String(length=40), nullable=False),
    sa.Column('method', sa.String(length=40), nullable=False),
    sa.Column('target', sa.String(length=200), nullable=True, comment='Marker, e.g. BCR::ABL1 or an IGH rearrangement'),
    sa.Column('detected', sa.Boolean(create_constraint=True, name='detected'), nullable=False, comment='False when the assay found no residual disease'),
    sa.Column('fraction', sa.Double(), nullable=True, comment='Leukemic cells as a fraction (0.0001 = 0.01%)'),
    sa.Column('sensitivity', sa.Double(), nullable=True, comment='Assay sensitivity as a fraction; required when not detected'),
    sa.CheckConstraint("method IN ('flow', 'rt_qpcr_fusion', 'ig_tcr_qpcr', 'ngs', 'ihc')", name=op.f('ck_mrd_assessment_method')),
    sa.CheckConstraint("sample IN ('BM', 'PB')", name=op.f('ck_mrd_assessment_sample')),
    sa.CheckConstraint('fraction >= 0 AND fraction <= 1', name=op.f('ck_mrd_assessment_fraction')),
    sa.CheckConstraint('sensitivity > 0 AND sensitivity <= 0.1', name=op.f('ck_mrd_assessment_sensitivity')),
    sa.ForeignKeyConstraint(['patient_id'], ['patient.patient_id'], name=op.f('fk_mrd_assessment_patient_id_patient'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('patient_id', 'assessment_date', 'method', 'sample', name=op.f('pk_mrd_assessment')),
    comment='MRD measurement (one row per method and sample)'
    )
    op.create_table('relapse',
    sa.Column('patient_id', sa.String(length=40), nullable=False),
    sa.Column('relapse_number', sa.Integer(), nullable=False, comment='1 for first relapse, 2 for second, ...'),
    sa.Column('relapse_date', sa.Date(), nullable=False, comment='Date of relapse diagnosis'),
    sa.Column('site_bone_marrow', sa.Boolean(create_constraint=True, name='site_bone_marrow'), nullable=False, comment='Bone marrow involved (>= 5% blasts)'),
    sa.Column('site_cns', sa.Boolean(create_constraint=True, name='site_cns'), nullable=False, comment='CNS involved'),
    sa.Column('site_testis', sa.Boolean(create_constraint=True, name='site_testis'), nullable=False, comment='Testis involved'),
    sa.Column('site_other_extramedullary', sa.Boolean(create_constraint=True, name='site_other_extramedullary'), nullable=False, comment='Other extramedullary site involved'),
    sa.Column('marrow_blasts_pct', sa.Double(), nullable=True, comment='Bone marrow blasts, %'),
    sa.CheckConstraint('marrow_blasts_pct >= 0 AND marrow_blasts_pct <= 100', name=op.f('ck_relapse_marrow_blasts_pct')),
    sa.CheckConstraint('relapse_number >= 1 AND relapse_number <= 99', name=op.f('ck_relapse_relapse_number')),
    sa.ForeignKeyConstraint(['patient_id'], ['patient.patient_id'], name=op.f('fk_relapse_patient_id_patient'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('patient_id', 'relapse_number', name=op.f('pk_relapse')),
    comment='Relapse'
    )
    op.create_table('response_assessment',
    sa.Column('patient_id', sa.String(length=40), nullable=False),
    sa.Column('assessment_date', sa.Date(), nullable=False),
    sa.Column('category', sa.String(length=40), nullable=False),
    sa.Column('cycle_number', sa.Integer(), nullable=True, comment='Blinatumomab cycle this assessment concludes'),
    sa.Column('marrow_blasts_pct', sa.Double(), nullable=True),
    sa.CheckConstraint("category IN ('cr', 'crh', 'cri', 'pr', 'no_response', 'progression')", name=op.f('ck_response_assessment_category')),
    sa.CheckConstraint('cycle_number >= 1 AND cycle_number <= 99', name=op.f('ck_response_assessment_cycle_number')),
    sa.CheckConstraint('marrow_blasts_pct >= 0 AND marrow_blasts_pct <= 100', name=op.f('ck_response_assessment_marrow_blasts_pct')),
    sa.ForeignKeyConstraint(['patient_id'], ['patient.patient_id'], name=op.f('fk_response_assessment_patient_id_patient'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('patient_id', 'assessment_date', name=op.f('pk_response_assessment')),
    comment='Hematological response assessment'
    )
    op.create_table('treatment_line',
    sa.Column('patient_id', sa.String(length=40), nullable=False),
    sa.Column('line_number', sa.Integer(), nullable=False, comment="Order of the line in the patient's course"),
    sa.Column('treatment_type', sa.String(length=40), nullable=False),
    sa.Column('intent', sa.String(length=40), nullable=False, comment='Why it was given (indication group for blinatumomab)'),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('end_date', sa.Date(), nullable=True),
    sa.Column('regimen', sa.String(length=200), nullable=True, comment='Protocol or regimen name'),
    sa.CheckConstraint("intent IN ('mrd_clearance', 'relapsed_refractory', 'chemotherapy_intolerance', 'consolidation', 'bridging_to_hsct', 'frontline')", name=op.f('ck_treatment_line_intent')),
    sa.CheckConstraint("treatment_type IN ('blinatumomab', 'inotuzumab', 'chemotherapy', 'car_t', 'hsct', 'radiotherapy', 'other')", name=op.f('ck_treatment_line_treatment_type')),
    sa.CheckConstraint('line_number >= 1 AND line_number <= 99', name=op.f('ck_treatment_line_line_number')),
    sa.ForeignKeyConstraint(['patient_id'], ['patient.patient_id'], name=op.f('fk_treatment_line_patient_id_patient'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('patient_id', 'line_number', name=op.f('pk_treatment_line')),
    comment='Treatment line after diagnosis (blinatumomab, inotuzumab, chemotherapy, ...)'
    )


def downgrade() -> None:
    op.drop_table('treatment_line')
    op.drop_table('response_assessment')
    op.drop_table('relapse')
    op.drop_table('mrd_assessment')
    op.drop_table('interruption')
    op.drop_table('hsct')
    op.drop_table('genetic_finding')
    op.drop_table('follow_up')
    op.drop_table('dose_segment')
    op.drop_table('diagnosis')
    op.drop_table('death')
    op.drop_table('body_measurement')
    op.drop_table('blinatumomab_cycle')
    op.drop_table('adverse_event')
    op.drop_table('patient')
    op.drop_table('registry_meta')
    op.drop_table('center')
    op.drop_index(op.f('ix_audit_log_patient_id'), table_name='audit_log')
    op.drop_index(op.f('ix_audit_log_batch_id'), table_name='audit_log')
    op.drop_table('audit_log')
