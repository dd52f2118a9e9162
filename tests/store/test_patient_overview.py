"""`CenterScope.patient_overview`: the patient list page in SQL equals the same list computed from the frames."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from blinareg.records.models import RECORD_TYPES
from blinareg.records.registry import Registry
from blinareg.store.scoped import CenterScope
from blinareg.synth import generate


def _expected(registry: Registry, centers: set[str]) -> pd.DataFrame:
    """Per patient of `centers`, by patient id: center, sex, diagnosis date, first blinatumomab line's intent
    (by start date), follow-up status and last contact."""
    patients = registry["patient"]
    patients = patients[patients["center_id"].isin(centers)][["patient_id", "center_id", "sex"]]
    lines = registry["treatment_line"]
    first = (
        lines[lines["treatment_type"] == "blinatumomab"]
        .sort_values(["patient_id", "start_date", "line_number"], kind="stable")
        .drop_duplicates("patient_id")[["patient_id", "intent"]]
        .rename(columns={"intent": "indication"})
    )
    follow_up = registry["follow_up"][["patient_id", "vital_status", "last_contact_date"]]
    out = patients.merge(registry["diagnosis"][["patient_id", "diagnosis_date"]], on="patient_id", how="left")
    out = out.merge(first, on="patient_id", how="left").merge(follow_up, on="patient_id", how="left")
    return out.sort_values("patient_id").reset_index(drop=True)


def _plain(rows: list[dict]) -> list[tuple]:
    def value(v: object) -> object:
        return (
            None
            if v is None or (not isinstance(v, str) and pd.isna(v))
            else pd.Timestamp(v).date()
            if hasattr(v, "year")
            else v
        )

    return [tuple(value(v) for v in row.values()) for row in rows]


def test_patient_list_pages_and_filters_in_sql(store):
    registry = generate(60, seed=4, centers=3)
    store.import_registry(registry, source="test", actor="test")
    centers = set(sorted(registry["center"]["center_id"])[:2])
    scope = CenterScope(store, centers, actor="test")
    for number, center_id in enumerate(sorted(centers)):  # entered on the web, no follow-up yet
        patient = RECORD_TYPES["patient"](
            patient_id=f"SYN-00001{number}x", center_id=center_id, sex="female", birth_date=dt.date(2015, 1, 1)
        )
        scope.save(patient, version=None)
    expected = _expected(store.load_registry(), centers)
    columns = ["patient_id", "center_id", "sex", "diagnosis_date", "indication", "vital_status", "last_contact_date"]

    def check(shown: pd.DataFrame, offset: int = 5, **filters: object) -> None:
        rows, total, matching = scope.patient_overview(**filters, offset=offset, limit=7)
        assert (total, matching) == (len(expected), len(shown))
        assert rows or offset >= len(shown)
        assert _plain(rows) == _plain(shown[columns].iloc[offset : offset + 7].to_dict("records"))

    check(expected)
    center = sorted(centers)[1]
    check(expected[expected["center_id"] == center], center_id=center)
    check(expected[expected["vital_status"].isna()], 0, vital_status=None)
    check(expected[expected["vital_status"] == "alive"], vital_status="alive")
    intent = expected["indication"].dropna().iloc[0]
    check(expected[expected["indication"] == intent], indication=intent)
    check(expected[expected["patient_id"].str.contains("00001")], search="syn-00001")
    assert scope.patient_overview(search="%")[2] == 0  # a LIKE wildcard is searched as itself
