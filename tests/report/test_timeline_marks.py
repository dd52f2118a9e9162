"""The dated marks of the patient timeline page (report.timeline_svg): HSCT and death with their details."""

from __future__ import annotations

import pandas as pd

from blinareg.derive.labels import value_label
from blinareg.report.timeline_svg import _dated_mark


def test_a_dated_mark_carries_its_detail_when_recorded():
    patient = pd.Series({"hsct_date": pd.Timestamp("2024-03-05"), "hsct_donor_type": "haploidentical"})
    [(date, shape, label, tooltip)] = _dated_mark(
        patient, "hsct_date", "hsct", "HSCT", detail=("hsct_donor_type", "{} donor")
    )
    assert (date, shape, label) == (pd.Timestamp("2024-03-05"), "hsct", "HSCT")
    assert tooltip == f"HSCT: 2024-03-05 ({value_label('haploidentical')} donor)"


def test_without_the_detail_or_the_date():
    patient = pd.Series({"death_date": pd.Timestamp("2025-01-31"), "death_cause": None, "hsct_date": pd.NaT})
    assert _dated_mark(patient, "death_date", "death", "Death", detail=("death_cause", "{}"))[0][3] == (
        "Death: 2025-01-31"
    )
    assert _dated_mark(patient, "hsct_date", "hsct", "HSCT", detail=("hsct_donor_type", "{} donor")) == []
