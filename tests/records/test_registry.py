"""Parsing untyped rows into typed frames, and the in-memory registry."""

from __future__ import annotations

import pandas as pd

from blinareg.records.models import RECORD_TYPES, Relapse
from blinareg.records.registry import Registry, columns, frame_to_dicts, parse_rows, storage_columns

from tests.records.factories import consistent_records, consistent_registry


def test_parse_rows_types_columns():
    frame, problems = parse_rows(
        Relapse,
        [
            {
                "patient_id": "P1",
                "relapse_number": "1",
                "relapse_date": "2018-05-02",
                "site_bone_marrow": "true",
                "site_cns": "",
                "site_testis": "false",
                "site_other_extramedullary": "",
                "marrow_blasts_pct": "60.5",
            },
        ],
    )
    assert problems == []
    assert frame["relapse_date"].dtype == "datetime64[ns]"
    assert frame["relapse_number"].dtype == "Int64"
    assert frame.loc[0, "marrow_blasts_pct"] == 60.5
    assert bool(frame.loc[0, "site_cns"]) is False  # blank cell takes the model default


def test_parse_rows_reports_every_problem_with_row_field_value():
    rows = [
        {"patient_id": "P1", "relapse_number": "one", "relapse_date": "2018-02-30", "site_bone_marrow": "true"},
        {"patient_id": "P2", "relapse_number": "1", "relapse_date": "2018-01-01", "site_bone_marrow": "maybe"},
        {
            "patient_id": "P3",
            "relapse_number": "1",
            "relapse_date": "2018-01-01",
            "site_bone_marrow": "true",
            "marrow_blasts_pct": "130",
        },
    ]
    frame, problems = parse_rows(Relapse, rows, source="relapse.csv")
    assert frame.empty
    found = {(p.patient_id, p.field, p.row) for p in problems}
    assert found == {
        ("P1", "relapse_number", 2),
        ("P1", "relapse_date", 3 - 1),
        ("P2", "site_bone_marrow", 3),
        ("P3", "marrow_blasts_pct", 4),
    }
    text = [str(p) for p in problems]
    assert any("relapse.csv row 4" in t and "'130'" in t for t in text)


def test_parse_rows_model_level_problem_names_field():
    _, problems = parse_rows(
        Relapse,
        [{"patient_id": "P1", "relapse_number": "1", "relapse_date": "2018-01-01", "site_bone_marrow": "false"}],
    )
    assert len(problems) == 1 and "at least one site" in problems[0].reason


def test_unknown_column_reported():
    _, problems = parse_rows(
        Relapse,
        [
            {
                "patient_id": "P1",
                "relapse_number": "1",
                "relapse_date": "2018-01-01",
                "site_bone_marrow": "true",
                "blasts": "50",
            }
        ],
    )
    assert [p.field for p in problems] == ["blasts"]
    assert "marrow_blasts_pct" in problems[0].reason


def test_registry_has_every_type_with_model_columns():
    registry = consistent_registry()
    assert set(registry.tables) == set(RECORD_TYPES)
    for name, frame in registry.tables.items():
        assert list(frame.columns) == [c.name for c in storage_columns(RECORD_TYPES[name])]
    assert registry.counts()["patient"] == 2
    assert registry.counts()["interruption"] == 0


def test_records_round_trip_through_frames():
    records = consistent_records()
    registry = Registry.from_records(records)
    for record_type in registry.tables:
        expected = sorted((r for r in records if r.record_type == record_type), key=lambda r: str(r.key_values()))
        got = sorted(registry.records(record_type), key=lambda r: str(r.key_values()))
        assert got == expected


def test_subset_keeps_patients_and_their_centers():
    registry = consistent_registry().subset(["P2"])
    assert registry.patient_ids() == ["P2"]
    assert registry.counts()["relapse"] == 0
    assert registry["center"]["center_id"].tolist() == ["C1"]


def test_frame_to_dicts_plain_python_values():
    registry = consistent_registry()
    from blinareg.records.models import Patient

    rows = frame_to_dicts(Patient, registry["patient"])
    assert rows[0]["birth_date"].__class__.__name__ == "date"
    assert isinstance(pd.DataFrame(rows), pd.DataFrame)
