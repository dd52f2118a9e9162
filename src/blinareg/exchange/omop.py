"""OMOP CDM v5.4 export: the registry as CSV files shaped like the published CDM tables (docs/omop.md).

Tables: care_site, person, observation_period, condition_occurrence (diagnosis, relapses, adverse
events), drug_exposure (blinatumomab cycles), measurement (MRD), procedure_occurrence (HSCT), death,
and the oncology extension's episode / episode_event (one "treatment regimen" episode per treatment line,
linked to its blinatumomab drug exposures). Each file has every column of the CDM table in DDL order
(blank = NULL), so it loads with `COPY <table> FROM ... CSV HEADER` into the tables created by the OHDSI
DDL (tested on PostgreSQL).

Concept ids: only those we could source from public OHDSI material are used. They are listed, each with
where it is stated, in the shipped vocabulary subset `exchange/data/omop_concepts.csv` (`concepts()`),
written into the export as `concept_subset.csv`; everything else is concept 0 ("no matching concept",
the OMOP convention) with the registry's code in the *_source_value column. A site with the OMOP
vocabularies loaded can map the source values to standard concepts.
"""

from __future__ import annotations

import csv
import functools
import io
import os
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from blinareg.records.registry import Registry

__all__ = ["CONCEPT_COLUMNS", "TABLE_COLUMNS", "concepts", "omop_tables", "write_omop"]

CONCEPT_COLUMNS = ["concept_id", "concept_name", "domain_id", "vocabulary_id", "source"]


@functools.cache
def concepts() -> dict[int, dict[str, str]]:
    """concept_id -> its row of the shipped vocabulary subset (name, domain, vocabulary, where it is stated)."""
    text = resources.files("blinareg.exchange").joinpath("data/omop_concepts.csv").read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    if not rows or list(rows[0]) != CONCEPT_COLUMNS:
        raise ValueError(f"exchange/data/omop_concepts.csv: the columns must be {', '.join(CONCEPT_COLUMNS)}")
    return {int(row["concept_id"]): row for row in rows}


# The concept ids the export writes (each is a row of exchange/data/omop_concepts.csv; docs/omop.md).
_GENDER = {"male": 8507, "female": 8532}  # other/unknown -> 0 (the Gender domain has only these two)
_REGISTRY = 32879  # Type Concept "Registry": the provenance of every exported record
_BLINATUMOMAB = 45892531  # RxNorm ingredient
_INTRAVENOUS = 4171047  # route
_DETECTED, _NOT_DETECTED = 4126681, 9190  # measurement values
_TREATMENT_REGIMEN = 32531  # episode

TABLE_COLUMNS = {
    "care_site": [
        "care_site_id",
        "care_site_name",
        "place_of_service_concept_id",
        "location_id",
        "care_site_source_value",
        "place_of_service_source_value",
    ],
    "person": [
        "person_id",
        "gender_concept_id",
        "year_of_birth",
        "month_of_birth",
        "day_of_birth",
        "birth_datetime",
        "race_concept_id",
        "ethnicity_concept_id",
        "location_id",
        "provider_id",
        "care_site_id",
        "person_source_value",
        "gender_source_value",
        "gender_source_concept_id",
        "race_source_value",
        "race_source_concept_id",
        "ethnicity_source_value",
        "ethnicity_source_concept_id",
    ],
    "observation_period": [
        "observation_period_id",
        "person_id",
        "observation_period_start_date",
        "observation_period_end_date",
        "period_type_concept_id",
    ],
    "condition_occurrence": [
        "condition_occurrence_id",
        "person_id",
        "condition_concept_id",
        "condition_start_date",
        "condition_start_datetime",
        "condition_end_date",
        "condition_end_datetime",
        "condition_type_concept_id",
        "condition_status_concept_id",
        "stop_reason",
        "provider_id",
        "visit_occurrence_id",
        "visit_detail_id",
        "condition_source_value",
        "condition_source_concept_id",
        "condition_status_source_value",
    ],
    "drug_exposure": [
        "drug_exposure_id",
        "person_id",
        "drug_concept_id",
        "drug_exposure_start_date",
        "drug_exposure_start_datetime",
        "drug_exposure_end_date",
        "drug_exposure_end_datetime",
        "verbatim_end_date",
        "drug_type_concept_id",
        "stop_reason",
        "refills",
        "quantity",
        "days_supply",
        "sig",
        "route_concept_id",
        "lot_number",
        "provider_id",
        "visit_occurrence_id",
        "visit_detail_id",
        "drug_source_value",
        "drug_source_concept_id",
        "route_source_value",
        "dose_unit_source_value",
    ],
    "procedure_occurrence": [
        "procedure_occurrence_id",
        "person_id",
        "procedure_concept_id",
        "procedure_date",
        "procedure_datetime",
        "procedure_end_date",
        "procedure_end_datetime",
        "procedure_type_concept_id",
        "modifier_concept_id",
        "quantity",
        "provider_id",
        "visit_occurrence_id",
        "visit_detail_id",
        "procedure_source_value",
        "procedure_source_concept_id",
        "modifier_source_value",
    ],
    "measurement": [
        "measurement_id",
        "person_id",
        "measurement_concept_id",
        "measurement_date",
        "measurement_datetime",
        "measurement_time",
        "measurement_type_concept_id",
        "operator_concept_id",
        "value_as_number",
        "value_as_concept_id",
        "unit_concept_id",
        "range_low",
        "range_high",
        "provider_id",
        "visit_occurrence_id",
        "visit_detail_id",
        "measurement_source_value",
        "measurement_source_concept_id",
        "unit_source_value",
        "unit_source_concept_id",
        "value_source_value",
        "measurement_event_id",
        "meas_event_field_concept_id",
    ],
    "death": [
        "person_id",
        "death_date",
        "death_datetime",
        "death_type_concept_id",
        "cause_concept_id",
        "cause_source_value",
        "cause_source_concept_id",
    ],
    "episode": [
        "episode_id",
        "person_id",
        "episode_concept_id",
        "episode_start_date",
        "episode_start_datetime",
        "episode_end_date",
        "episode_end_datetime",
        "episode_parent_id",
        "episode_number",
        "episode_object_concept_id",
        "episode_type_concept_id",
        "episode_source_value",
        "episode_source_concept_id",
    ],
    "episode_event": ["episode_id", "event_id", "episode_event_field_concept_id"],
}
_SOURCE_LENGTH = 50  # varchar(50) of the *_source_value columns


def _ids(values: pd.Series) -> pd.Series:
    return pd.Series(np.arange(1, len(values) + 1), index=values.index)


def _text(values: pd.Series) -> pd.Series:
    return (
        values.astype(object).where(values.notna(), None).map(lambda v: None if v is None else str(v)[:_SOURCE_LENGTH])
    )


def omop_tables(registry: Registry) -> dict[str, pd.DataFrame]:
    """Every exported CDM table as a frame with the DDL's columns (missing columns are NULL)."""
    patients = registry["patient"].sort_values("patient_id", kind="mergesort").reset_index(drop=True)
    person_of = pd.Series(np.arange(1, len(patients) + 1), index=patients["patient_id"].to_numpy())
    centers = registry["center"].sort_values("center_id", kind="mergesort").reset_index(drop=True)
    site_of = pd.Series(np.arange(1, len(centers) + 1), index=centers["center_id"].to_numpy())
    pid = lambda frame: frame["patient_id"].map(person_of).astype("Int64")  # noqa: E731
    tables: dict[str, pd.DataFrame] = {}

    tables["care_site"] = pd.DataFrame(
        {
            "care_site_id": site_of.to_numpy(),
            "care_site_name": centers["name"],
            "care_site_source_value": _text(centers["center_id"]),
        }
    )
    birth = pd.to_datetime(patients["birth_date"])
    tables["person"] = pd.DataFrame(
        {
            "person_id": person_of.to_numpy(),
            "gender_concept_id": patients["sex"].map(_GENDER).fillna(0).astype(int),
            "year_of_birth": birth.dt.year,
            "month_of_birth": birth.dt.month,
            "day_of_birth": birth.dt.day,
            "birth_datetime": birth.dt.strftime("%Y-%m-%d 00:00:00"),
            "race_concept_id": 0,
            "ethnicity_concept_id": 0,
            "care_site_id": patients["center_id"].map(site_of).astype("Int64"),
            "person_source_value": _text(patients["patient_id"]),
            "gender_source_value": _text(patients["sex"]),
            "gender_source_concept_id": 0,
        }
    )

    # Observation period: from the earliest to the latest date recorded for the patient.
    dated = []
    for record_type, columns in (
        ("diagnosis", ["diagnosis_date"]),
        ("relapse", ["relapse_date"]),
        ("blinatumomab_cycle", ["start_date", "end_date"]),
        ("mrd_assessment", ["assessment_date"]),
        ("response_assessment", ["assessment_date"]),
        ("adverse_event", ["onset_date", "resolution_date"]),
        ("hsct", ["hsct_date"]),
        ("follow_up", ["last_contact_date"]),
        ("death", ["death_date"]),
        ("treatment_line", ["start_date", "end_date"]),
    ):
        frame = registry[record_type]
        for column in columns:
            dated.append(frame[["patient_id", column]].rename(columns={column: "day"}))
    days = pd.concat(dated, ignore_index=True).dropna()
    span = days.groupby("patient_id")["day"].agg(["min", "max"])
    span = span[span.index.isin(person_of.index)].sort_index()
    tables["observation_period"] = pd.DataFrame(
        {
            "observation_period_id": _ids(span["min"]).to_numpy(),
            "person_id": span.index.map(person_of),
            "observation_period_start_date": span["min"].to_numpy(),
            "observation_period_end_date": span["max"].to_numpy(),
            "period_type_concept_id": _REGISTRY,
        }
    )

    diagnosis = registry["diagnosis"]
    relapses = registry["relapse"]
    events = registry["adverse_event"]
    conditions = (
        pd.concat(
            [
                pd.DataFrame(
                    {
                        "person_id": pid(diagnosis),
                        "condition_start_date": diagnosis["diagnosis_date"],
                        "condition_end_date": pd.NaT,
                        "condition_source_value": "B-ALL (SNOMED CT 277571004)",
                        "condition_status_source_value": "initial diagnosis",
                    }
                ),
                pd.DataFrame(
                    {
                        "person_id": pid(relapses),
                        "condition_start_date": relapses["relapse_date"],
                        "condition_end_date": pd.NaT,
                        "condition_source_value": "B-ALL (SNOMED CT 277571004)",
                        "condition_status_source_value": "relapse " + relapses["relapse_number"].astype(str),
                    }
                ),
                pd.DataFrame(
                    {
                        "person_id": pid(events),
                        "condition_start_date": events["onset_date"],
                        "condition_end_date": events["resolution_date"],
                        "condition_source_value": "adverse event: " + events["term"].astype(str),
                        "condition_status_source_value": events["grading_system"].astype(str)
                        + " grade "
                        + events["grade"].astype(str),
                    }
                ),
            ],
            ignore_index=True,
        )
        .sort_values(["person_id", "condition_start_date"], kind="mergesort")
        .reset_index(drop=True)
    )
    conditions.insert(0, "condition_occurrence_id", _ids(conditions).to_numpy())
    conditions["condition_concept_id"] = 0
    conditions["condition_type_concept_id"] = _REGISTRY
    conditions["condition_source_concept_id"] = 0
    tables["condition_occurrence"] = conditions

    cycles = registry["blinatumomab_cycle"].sort_values(["patient_id", "cycle_number"], kind="mergesort")
    cycles = cycles.reset_index(drop=True)
    drugs = pd.DataFrame(
        {
            "drug_exposure_id": _ids(cycles).to_numpy(),
            "person_id": pid(cycles),
            "drug_concept_id": _BLINATUMOMAB,
            "drug_exposure_start_date": cycles["start_date"],
            "drug_exposure_end_date": cycles["end_date"],
            "drug_type_concept_id": _REGISTRY,
            "stop_reason": _text(cycles["early_stop_reason"]).map(lambda v: None if v is None else v[:20]),
            "days_supply": ((cycles["end_date"] - cycles["start_date"]).dt.days + 1).astype("Int64"),
            "sig": "cycle "
            + cycles["cycle_number"].astype(str)
            + ", "
            + cycles["phase"].astype(str)
            + ", "
            + cycles["indication"].astype(str),
            "route_concept_id": _INTRAVENOUS,
            "drug_source_value": "blinatumomab",
            "drug_source_concept_id": 0,
            "route_source_value": "continuous intravenous infusion",
        }
    )
    tables["drug_exposure"] = drugs

    mrd = (
        registry["mrd_assessment"]
        .sort_values(["patient_id", "assessment_date", "method", "sample"], kind="mergesort")
        .reset_index(drop=True)
    )
    detected = mrd["detected"].astype(bool)
    sensitivity = mrd["sensitivity"].map(lambda v: "" if pd.isna(v) else f", sensitivity {v:g}")
    tables["measurement"] = pd.DataFrame(
        {
            "measurement_id": _ids(mrd).to_numpy(),
            "person_id": pid(mrd),
            "measurement_concept_id": 0,
            "measurement_date": mrd["assessment_date"],
            "measurement_type_concept_id": _REGISTRY,
            "value_as_number": mrd["fraction"].where(detected, 0.0),
            "value_as_concept_id": np.where(detected, _DETECTED, _NOT_DETECTED),
            "measurement_source_value": _text("MRD " + mrd["method"].astype(str) + " " + mrd["sample"].astype(str)),
            "measurement_source_concept_id": 0,
            "unit_source_value": "fraction of cells",
            "value_source_value": _text(np.where(detected, "detected", "not detected") + sensitivity),
        }
    )

    hsct = registry["hsct"].sort_values(["patient_id", "hsct_number"], kind="mergesort").reset_index(drop=True)
    tables["procedure_occurrence"] = pd.DataFrame(
        {
            "procedure_occurrence_id": _ids(hsct).to_numpy(),
            "person_id": pid(hsct),
            "procedure_concept_id": 0,
            "procedure_date": hsct["hsct_date"],
            "procedure_type_concept_id": _REGISTRY,
            "procedure_source_value": "hematopoietic stem cell transplantation",
            "procedure_source_concept_id": 0,
            "modifier_source_value": _text(hsct["donor_type"].astype(str) + ", " + hsct["conditioning"].astype(str)),
        }
    )

    death = registry["death"]
    tables["death"] = pd.DataFrame(
        {
            "person_id": pid(death),
            "death_date": death["death_date"],
            "death_type_concept_id": _REGISTRY,
            "cause_concept_id": 0,
            "cause_source_value": _text(death["cause"]),
            "cause_source_concept_id": 0,
        }
    )

    lines = (
        registry["treatment_line"].sort_values(["patient_id", "line_number"], kind="mergesort").reset_index(drop=True)
    )
    episodes = pd.DataFrame(
        {
            "episode_id": _ids(lines).to_numpy(),
            "person_id": pid(lines),
            "episode_concept_id": _TREATMENT_REGIMEN,
            "episode_start_date": lines["start_date"],
            "episode_end_date": lines["end_date"],
            "episode_number": lines["line_number"].astype("Int64"),
            "episode_object_concept_id": 0,
            "episode_type_concept_id": _REGISTRY,
            "episode_source_value": _text(lines["treatment_type"].astype(str) + ": " + lines["intent"].astype(str)),
            "episode_source_concept_id": 0,
        }
    )
    tables["episode"] = episodes
    # A cycle belongs to its recorded treatment line.
    line_key = pd.Series(
        episodes["episode_id"].to_numpy(),
        index=pd.MultiIndex.from_arrays([lines["patient_id"], lines["line_number"].astype("Int64")]),
    )
    keys = pd.MultiIndex.from_arrays([cycles["patient_id"], cycles["line_number"].astype("Int64")])
    episode_of_cycle = pd.Series(line_key.reindex(keys).to_numpy(), index=cycles.index)
    linked = episode_of_cycle.notna()
    tables["episode_event"] = pd.DataFrame(
        {
            "episode_id": episode_of_cycle[linked].astype(int).to_numpy(),
            "event_id": drugs.loc[linked, "drug_exposure_id"].to_numpy(),
            "episode_event_field_concept_id": 0,
        }
    )
    return {name: _with_columns(name, frame) for name, frame in tables.items()}


def _with_columns(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.reindex(columns=TABLE_COLUMNS[name])
    for column in out.columns:
        if column.endswith("_date") or column == "verbatim_end_date":
            out[column] = pd.to_datetime(out[column]).dt.strftime("%Y-%m-%d")
        elif column.endswith("_id") and column != "provider_id":
            out[column] = out[column].astype("Int64")
    return out


def write_omop(registry: Registry, out_dir: str | os.PathLike) -> Path:
    """Write <table>.csv for every table of `omop_tables` and concept_subset.csv into `out_dir` (atomically)."""
    from blinareg.exchange.export_folder import export_folder

    tables = omop_tables(registry)
    out = Path(out_dir)
    with export_folder(out, "omop") as temp:
        for name, frame in tables.items():
            frame.to_csv(temp / f"{name}.csv", index=False, lineterminator="\n", na_rep="")
        subset = pd.DataFrame(list(concepts().values()), columns=CONCEPT_COLUMNS)
        subset.to_csv(temp / "concept_subset.csv", index=False, lineterminator="\n")
    return out
