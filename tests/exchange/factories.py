"""Registries for exchange tests: every record type present, with the values that break writers.

Text with commas, quotes, line breaks, non-ASCII letters and a leading '='; floats that need 17
significant digits or are tiny; the enum code "none" (also a blank spelling); rows out of key order.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from blinareg.exchange import write_registry
from blinareg.records.models import (
    AdverseEvent,
    Diagnosis,
    FollowUp,
    GeneticFinding,
    Interruption,
    MrdAssessment,
    Patient,
    Relapse,
)
from blinareg.exchange.tabular import sorted_by_key
from blinareg.records.models import RECORD_MODELS
from blinareg.records.registry import Registry
from tests.records.factories import consistent_records

D = dt.date


def full_records() -> list:
    return [
        *consistent_records(),
        # Out of key order on purpose (P3 before P2's later records, relapse 2 before 1).
        Patient(patient_id="P3", center_id="C1", sex="unknown", birth_date=D(2001, 12, 31)),
        FollowUp(patient_id="P3", last_contact_date=D(2022, 2, 2), vital_status="alive"),
        Diagnosis(patient_id="P3", diagnosis_date=D(2021, 1, 4), wbc_per_nl=123.4),
        Relapse(
            patient_id="P1", relapse_number=2, relapse_date=D(2019, 5, 2), site_bone_marrow=False, site_testis=True
        ),
        GeneticFinding(patient_id="P1", lesion="other", detail='del(9p), "CDKN2A" loss;\nsecond line, Müller'),
        GeneticFinding(patient_id="P2", lesion="BCR::ABL1"),
        Interruption(patient_id="P1", cycle_number=1, start_date=D(2018, 6, 10), end_date=D(2018, 6, 11), reason="crs"),
        MrdAssessment(
            patient_id="P2",
            assessment_date=D(2020, 5, 29),
            sample="BM",
            method="rt_qpcr_fusion",
            target="BCR::ABL1",
            detected=True,
            fraction=1.2345678901234567e-05,
            sensitivity=1e-05,
        ),
        MrdAssessment(
            patient_id="P2",
            assessment_date=D(2020, 4, 20),
            sample="PB",
            method="flow",
            detected=True,
            fraction=0.30000000000000004,
        ),
        AdverseEvent(
            patient_id="P1",
            event_number=1,
            term="crs",
            grading_system="astct",
            grade=2,
            onset_date=D(2018, 6, 2),
            resolution_date=D(2018, 6, 4),
            cycle_number=1,
            serious=True,
            action_taken="interrupted",
            temperature_c=39.35,
            vasopressors=0,
            vasopressin=False,
            oxygen="none",
            description="=SUM(A1:A2) looks like a formula",
        ),
        AdverseEvent(
            patient_id="P1",
            event_number=2,
            term="icans",
            grading_system="astct",
            grade=1,
            onset_date=D(2018, 6, 3),
            ice_score=8,
            consciousness="normal",
            seizure="none",
            motor="none",
            cerebral_edema="none",
        ),
    ]


def full_registry() -> Registry:
    return Registry.from_records(full_records())


def csv_folder(tmp_path: Path, name: str = "registry") -> Path:
    """A valid CSV export of `full_registry` to edit in a test."""
    target = tmp_path / name
    write_registry(full_registry(), target, format="csv")
    return target


def assert_same_registry(left: Registry, right: Registry) -> None:
    for model in RECORD_MODELS:
        name = model.record_type
        pd.testing.assert_frame_equal(
            sorted_by_key(model, left[name]), sorted_by_key(model, right[name]), check_exact=True, obj=name
        )


def folder_bytes(folder) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}
