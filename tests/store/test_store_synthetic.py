"""Integration: synthetic cohorts (`blinareg.synth`) through the store on SQLite and PostgreSQL."""

from __future__ import annotations

import pandas as pd
import pytest

from blinareg.records.registry import Registry
from blinareg.synth import generate
from tests.store.test_store import assert_same_registry

pytestmark = pytest.mark.slow


def test_synthetic_registry_round_trip_and_partial_replace(store):
    first = generate(1500, 11)
    result = store.import_registry(first, source="synth-11")
    assert result.patients_added == 1500 and result.records == first.counts()
    assert_same_registry(store.load_registry(), first)
    assert store.summary().synthetic == "yes"

    # A second cohort with the same ids: its first 200 patients replace theirs, the other 1300 stay.
    second = generate(1500, 12)
    replaced_ids = second.patient_ids()[:200]
    batch = second.subset(replaced_ids)
    result = store.import_registry(batch, source="synth-12")
    assert (result.patients_added, result.patients_replaced) == (0, 200)
    kept = first.subset(sorted(set(first.patient_ids()) - set(replaced_ids)))
    expected = Registry(
        {
            name: pd.concat([kept[name], batch[name]], ignore_index=True) if name != "center" else first["center"]
            for name in first.tables
        }
    )
    assert_same_registry(store.load_registry(), expected)
    assert len(store.audit_entries(action="replace", record_type="patient")) == 200
    assert store.audit_entries(patient_id=replaced_ids[0])[-1].before["patient"][0]["patient_id"] == replaced_ids[0]
