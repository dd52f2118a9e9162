-- The OMOP CDM v5.4 tables that `blinareg export --format omop` writes, for PostgreSQL.
-- Written for blinareg's tests from the OMOP CDM v5.4 specification (table and field reference,
-- https://ohdsi.github.io/CommonDataModel/cdm54.html): field names, order, types, required fields
-- and primary keys as the specification gives them. Only the tables the export writes are here.

CREATE TABLE care_site (
    care_site_id integer NOT NULL PRIMARY KEY,
    care_site_name varchar(255),
    place_of_service_concept_id integer,
    location_id integer,
    care_site_source_value varchar(50),
    place_of_service_source_value varchar(50)
);

CREATE TABLE person (
    person_id integer NOT NULL PRIMARY KEY,
    gender_concept_id integer NOT NULL,
    year_of_birth integer NOT NULL,
    month_of_birth integer,
    day_of_birth integer,
    birth_datetime timestamp,
    race_concept_id integer NOT NULL,
    ethnicity_concept_id integer NOT NULL,
    location_id integer,
    provider_id integer,
    care_site_id integer,
    person_source_value varchar(50),
    gender_source_value varchar(50),
    gender_source_concept_id integer,
    race_source_value varchar(50),
    race_source_concept_id integer,
    ethnicity_source_value varchar(50),
    ethnicity_source_concept_id integer
);

CREATE TABLE observation_period (
    observation_period_id integer NOT NULL PRIMARY KEY,
    person_id integer NOT NULL,
    observation_period_start_date date NOT NULL,
    observation_period_end_date date NOT NULL,
    period_type_concept_id integer NOT NULL
);

CREATE TABLE condition_occurrence (
    condition_occurrence_id integer NOT NULL PRIMARY KEY,
    person_id integer NOT NULL,
    condition_concept_id integer NOT NULL,
    condition_start_date date NOT NULL,
    condition_start_datetime timestamp,
    condition_end_date date,
    condition_end_datetime timestamp,
    condition_type_concept_id integer NOT NULL,
    condition_status_concept_id integer,
    stop_reason varchar(20),
    provider_id integer,
    visit_occurrence_id integer,
    visit_detail_id integer,
    condition_source_value varchar(50),
    condition_source_concept_id integer,
    condition_status_source_value varchar(50)
);

CREATE TABLE drug_exposure (
    drug_exposure_id integer NOT NULL PRIMARY KEY,
    person_id integer NOT NULL,
    drug_concept_id integer NOT NULL,
    drug_exposure_start_date date NOT NULL,
    drug_exposure_start_datetime timestamp,
    drug_exposure_end_date date NOT NULL,
    drug_exposure_end_datetime timestamp,
    verbatim_end_date date,
    drug_type_concept_id integer NOT NULL,
    stop_reason varchar(20),
    refills integer,
    quantity numeric,
    days_supply integer,
    sig text,
    route_concept_id integer,
    lot_number varchar(50),
    provider_id integer,
    visit_occurrence_id integer,
    visit_detail_id integer,
    drug_source_value varchar(50),
    drug_source_concept_id integer,
    route_source_value varchar(50),
    dose_unit_source_value varchar(50)
);

CREATE TABLE procedure_occurrence (
    procedure_occurrence_id integer NOT NULL PRIMARY KEY,
    person_id integer NOT NULL,
    procedure_concept_id integer NOT NULL,
    procedure_date date NOT NULL,
    procedure_datetime timestamp,
    procedure_end_date date,
    procedure_end_datetime timestamp,
    procedure_type_concept_id integer NOT NULL,
    modifier_concept_id integer,
    quantity integer,
    provider_id integer,
    visit_occurrence_id integer,
    visit_detail_id integer,
    procedure_source_value varchar(50),
    procedure_source_concept_id integer,
    modifier_source_value varchar(50)
);

CREATE TABLE measurement (
    measurement_id integer NOT NULL PRIMARY KEY,
    person_id integer NOT NULL,
    measurement_concept_id integer NOT NULL,
    measurement_date date NOT NULL,
    measurement_datetime timestamp,
    measurement_time varchar(10),
    measurement_type_concept_id integer NOT NULL,
    operator_concept_id integer,
    value_as_number numeric,
    value_as_concept_id integer,
    unit_concept_id integer,
    range_low numeric,
    range_high numeric,
    provider_id integer,
    visit_occurrence_id integer,
    visit_detail_id integer,
    measurement_source_value varchar(50),
    measurement_source_concept_id integer,
    unit_source_value varchar(50),
    unit_source_concept_id integer,
    value_source_value varchar(50),
    measurement_event_id integer,
    meas_event_field_concept_id integer
);

CREATE TABLE death (
    person_id integer NOT NULL,
    death_date date NOT NULL,
    death_datetime timestamp,
    death_type_concept_id integer,
    cause_concept_id integer,
    cause_source_value varchar(50),
    cause_source_concept_id integer
);

CREATE TABLE episode (
    episode_id integer NOT NULL PRIMARY KEY,
    person_id integer NOT NULL,
    episode_concept_id integer NOT NULL,
    episode_start_date date NOT NULL,
    episode_start_datetime timestamp,
    episode_end_date date,
    episode_end_datetime timestamp,
    episode_parent_id integer,
    episode_number integer,
    episode_object_concept_id integer NOT NULL,
    episode_type_concept_id integer NOT NULL,
    episode_source_value varchar(50),
    episode_source_concept_id integer
);

CREATE TABLE episode_event (
    episode_id integer NOT NULL,
    event_id integer NOT NULL,
    episode_event_field_concept_id integer NOT NULL
);
