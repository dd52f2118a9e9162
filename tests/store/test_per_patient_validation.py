"""Validating one patient's records (what a web save does) gives exactly the problems that validating the
whole registry gives for that patient: on synthetic registries with problems put in, and through the store.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd
import pytest

from blinareg.records.problems import Problem
from blinareg.records.registry import Registry
from blinareg.records.validation import other_patients_of, validate
from blinareg.synth import generate

SEEDS = (1, 2, 3)


def _with_problems(registry: Registry, seed: int) -> Registry:
    """The registry with errors and warnings of most checks put into a few patients' records."""
    rng = np.random.default_rng(seed)
    tables = {name: frame.copy() for name, frame in registry.tables.items()}
    ids = registry.patient_ids()
    a, b, c, d, e = rng.choice(ids, 5, replace=False)
    diagnosis = tables["diagnosis"]
    diagnosis.loc[diagnosis["patient_id"] == a, "diagnosis_date"] = pd.Timestamp("1900-01-01")  # chronology
    tables["follow_up"] = tables["follow_up"][tables["follow_up"]["patient_id"] != b]  # one_per_patient
    relapse = tables["relapse"]
    tables["relapse"] = pd.concat([relapse, relapse.head(1)], ignore_index=True)  # unique_keys
    segments = tables["dose_segment"]
    segments.loc[segments["patient_id"] == c, "dose"] *= 3  # delivered dose vs plan, label range
    events = tables["adverse_event"]
    graded = events.index[events["patient_id"].isin([d, e])]
    events.loc[graded, "grade"] = events.loc[graded, "grade"].map(lambda g: 1 if g != 1 else 4)  # recorded grade
    flow = _put_unit_suspects(tables, registry["patient"])
    tables["mrd_assessment"].loc[flow[0], "patient_id"] = "SYN-NO-SUCH"  # references_exist: no such patient
    return Registry(tables)


def _put_unit_suspects(tables: dict[str, pd.DataFrame], patients: pd.DataFrame) -> pd.Index:
    """Detected flow MRD values near 0.1% everywhere, with some typed 100 times too high (0.1) or too low
    (0.00001), one of each per center: warnings of `mrd_unit_suspect`, found only by comparing with the center's other patients.
    Returns the flow rows the check compares."""
    mrd = tables["mrd_assessment"] = tables["mrd_assessment"].copy()
    flow = mrd.index[(mrd["method"] == "flow") & mrd["detected"].fillna(False).astype(bool) & (mrd["fraction"] > 0)]
    mrd.loc[flow, "fraction"] = 0.001 * (1 + np.arange(len(flow)) % 7 / 100)
    center = mrd.loc[flow, "patient_id"].map(patients.set_index("patient_id")["center_id"])
    for _, rows in pd.Series(flow, index=flow).groupby(center.to_numpy()):
        mrd.loc[rows.iloc[0], "fraction"] = 0.1
        mrd.loc[rows.iloc[-1], "fraction"] = 0.00001
    return flow


def _patient_registry(registry: Registry, patient_id: str) -> Registry:
    """What the store validates a save against: the patient's records and every center."""
    tables = {
        name: frame[frame["patient_id"] == patient_id] for name, frame in registry.tables.items() if name != "center"
    }
    return Registry({**tables, "center": registry["center"]})


def _shown(problems: list[Problem]) -> Counter[tuple]:
    return Counter(
        (p.check, p.severity.name, p.record_type, p.field, p.value, p.reason, p.patient_id, p.key, p.consequences)
        for p in problems
    )


@pytest.mark.parametrize("seed", SEEDS)
def test_one_patient_validated_alone_has_the_problems_the_whole_registry_gives_them(seed):
    registry = _with_problems(generate(60, seed=seed, centers=3), seed)
    whole = validate(registry)
    checks = {p.check for p in whole}
    # The test is only worth something if the registry has problems of the cross-record kinds, errors and warnings.
    assert {"chronology", "one_per_patient", "unique_keys", "references_exist", "mrd_unit_suspect"} <= checks
    assert {p.severity.name for p in whole} == {"ERROR", "WARNING"}
    patients = set().union(*(set(frame["patient_id"]) for name, frame in registry.tables.items() if name != "center"))
    for patient_id in sorted(patients):
        alone = validate(
            _patient_registry(registry, patient_id), other_patients=other_patients_of(registry, [patient_id])
        )
        assert _shown(alone) == _shown([p for p in whole if p.patient_id == patient_id]), patient_id


def test_without_the_other_patients_a_unit_suspect_value_is_missed():
    """The check across patients needs the center's other values: the reason `other_patients` exists."""
    registry = _with_problems(generate(60, seed=1, centers=3), 1)
    suspects = {p.patient_id for p in validate(registry) if p.check == "mrd_unit_suspect"}
    missed = [
        patient_id
        for patient_id in sorted(suspects)
        if not any(p.check == "mrd_unit_suspect" for p in validate(_patient_registry(registry, patient_id)))
    ]
    assert missed


def test_store_validates_a_patient_as_the_whole_registry(store):
    """Through the store (SQL summary of the other patients), on both backends: what the patient page shows."""
    registry = generate(40, seed=7, centers=2)
    tables = dict(registry.tables)
    _put_unit_suspects(tables, registry["patient"])  # warnings only: the import accepts them
    registry = Registry(tables)
    store.import_registry(registry, source="test", actor="test")
    stored = store.load_registry()
    whole = validate(stored)
    assert any(p.check == "mrd_unit_suspect" for p in whole)
    for patient_id in stored.patient_ids():
        # Store.patient_problems is what the patient page shows; saves validate through the same path.
        alone = store.patient_problems(patient_id)
        assert _shown(alone) == _shown([p for p in whole if p.patient_id == patient_id]), patient_id
