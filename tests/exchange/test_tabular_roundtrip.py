"""Export -> import gives the same frames; export -> import -> export gives the same bytes (CSV and XLSX)."""

from __future__ import annotations

import gc
import os
import zipfile

import pandas as pd
import pytest

from blinareg.errors import UserError
from blinareg.exchange import read_registry, write_registry
from blinareg.exchange import tabular
from blinareg.exchange.tabular import format_float
from blinareg.records.models import RECORD_MODELS, RECORD_TYPES
from blinareg.records.registry import Registry, columns
from tests.exchange.factories import assert_same_registry, folder_bytes, full_registry


@pytest.mark.parametrize("target", ["registry", "registry.xlsx"])
def test_export_import_gives_equal_frames(tmp_path, target):
    registry = full_registry()
    write_registry(registry, tmp_path / target)
    again, problems = read_registry(tmp_path / target)
    assert problems == []
    assert_same_registry(registry, again)
    # The values that break naive writers came through.
    detail = again["genetic_finding"].set_index("lesion").loc["other", "detail"]
    assert detail == 'del(9p), "CDKN2A" loss;\nsecond line, Müller'
    events = again["adverse_event"].set_index("event_number")
    assert events.loc[1, "description"] == "=SUM(A1:A2) looks like a formula"
    assert events.loc[1, "oxygen"] == "none" and events.loc[2, "seizure"] == "none"
    fractions = sorted(again["mrd_assessment"]["fraction"].dropna())
    assert fractions == [1.2345678901234567e-05, 0.30000000000000004]


def test_csv_export_import_export_is_byte_identical(tmp_path):
    write_registry(full_registry(), tmp_path / "first")
    again, problems = read_registry(tmp_path / "first")
    assert problems == []
    write_registry(again, tmp_path / "second")
    assert folder_bytes(tmp_path / "first") == folder_bytes(tmp_path / "second")


def test_xlsx_export_import_export_is_byte_identical(tmp_path):
    write_registry(full_registry(), tmp_path / "first.xlsx")
    again, problems = read_registry(tmp_path / "first.xlsx")
    assert problems == []
    write_registry(again, tmp_path / "second.xlsx")
    assert (tmp_path / "first.xlsx").read_bytes() == (tmp_path / "second.xlsx").read_bytes()
    # And the workbook's data is the CSV export's data.
    write_registry(full_registry(), tmp_path / "csv")
    write_registry(again, tmp_path / "csv_from_xlsx")
    assert folder_bytes(tmp_path / "csv") == folder_bytes(tmp_path / "csv_from_xlsx")


def test_xlsx_has_fixed_timestamps(tmp_path):
    write_registry(full_registry(), tmp_path / "r.xlsx")
    with zipfile.ZipFile(tmp_path / "r.xlsx") as package:
        assert {info.date_time for info in package.infolist()} == {(2000, 1, 1, 0, 0, 0)}
        core = package.read("docProps/core.xml").decode()
    assert core.count("2000-01-01T00:00:00Z") == 2  # created and modified


def test_csv_layout(tmp_path):
    folder = write_registry(full_registry(), tmp_path / "r")
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"{name}.csv" for name in RECORD_TYPES)
    for model in RECORD_MODELS:
        data = (folder / f"{model.record_type}.csv").read_bytes()
        assert not data.startswith(b"\xef\xbb\xbf") and b"\r" not in data
        assert data.split(b"\n")[0].decode() == ",".join(c.name for c in columns(model))
    relapse = (folder / "relapse.csv").read_text(encoding="utf-8").splitlines()
    assert relapse[1:] == ["P1,1,2018-05-02,true,true,false,false,60.0,", "P1,2,2019-05-02,false,false,true,false,,"]
    mrd = (folder / "mrd_assessment.csv").read_text(encoding="utf-8")
    assert "0.000012345678901234568," in mrd and ",0.00001\n" in mrd and "0.30000000000000004" in mrd


def test_empty_registry_writes_header_only_files(tmp_path):
    folder = write_registry(Registry(), tmp_path / "empty")
    for model in RECORD_MODELS:
        assert (folder / f"{model.record_type}.csv").read_text() == ",".join(c.name for c in columns(model)) + "\n"
    again, problems = read_registry(folder)
    assert problems == [] and all(n == 0 for n in again.counts().values())


def test_rows_are_written_in_key_order(tmp_path):
    registry = full_registry()
    shuffled = Registry({name: frame.iloc[::-1] for name, frame in registry.tables.items()})
    write_registry(registry, tmp_path / "a")
    write_registry(shuffled, tmp_path / "b")
    assert folder_bytes(tmp_path / "a") == folder_bytes(tmp_path / "b")
    patients = (tmp_path / "a" / "patient.csv").read_text().splitlines()[1:]
    assert [line.split(",")[0] for line in patients] == ["P1", "P2", "P3"]


@pytest.mark.parametrize(
    "value",
    [0.1, 12.0, 1e-05, 1.2345678901234567e-05, 0.30000000000000004, 1999.9999999999998, 5e-324, -0.0, 123456789.125],
)
def test_float_text_is_shortest_and_exact(value):
    def significant(text: str) -> str:
        return text.lower().split("e")[0].replace("-", "").replace(".", "").strip("0") or "0"

    text = format_float(value)
    assert float(text) == value and "e" not in text and "." in text
    assert significant(text) == significant(repr(value))  # as short as repr, Python's shortest round trip


def test_failed_csv_export_leaves_no_folder(tmp_path, monkeypatch):
    calls = []

    def failing(model, frame, target):
        calls.append(model.record_type)
        if len(calls) == 5:
            raise OSError("disk full")
        target.write_text("partial")

    monkeypatch.setattr(tabular, "_write_csv", failing)
    with pytest.raises(OSError, match="disk full"):
        write_registry(full_registry(), tmp_path / "out")
    assert list(tmp_path.iterdir()) == []


def test_failed_csv_export_keeps_the_previous_export(tmp_path, monkeypatch):
    write_registry(full_registry(), tmp_path / "out")
    before = folder_bytes(tmp_path / "out")
    monkeypatch.setattr(tabular, "_write_csv", lambda *args: (_ for _ in ()).throw(OSError("disk full")))
    with pytest.raises(OSError):
        write_registry(Registry(), tmp_path / "out")
    assert folder_bytes(tmp_path / "out") == before
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_export_replaces_a_previous_export(tmp_path):
    write_registry(full_registry(), tmp_path / "out")
    write_registry(Registry(), tmp_path / "out")
    assert (tmp_path / "out" / "patient.csv").read_text() == "patient_id,center_id,sex,birth_date\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_failed_xlsx_export_keeps_the_previous_workbook(tmp_path, monkeypatch):
    write_registry(full_registry(), tmp_path / "r.xlsx")
    before = (tmp_path / "r.xlsx").read_bytes()

    def failing(workbook, target):
        workbook.save(target)
        raise OSError("disk full")

    monkeypatch.setattr(tabular, "save_deterministic", failing)
    with pytest.raises(OSError):
        write_registry(Registry(), tmp_path / "r.xlsx")
    assert (tmp_path / "r.xlsx").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["r.xlsx"]


def test_export_refuses_a_folder_with_other_files(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "notes.docx").write_bytes(b"keep me")
    with pytest.raises(UserError, match="notes.docx"):
        write_registry(full_registry(), tmp_path / "out")
    assert os.listdir(tmp_path / "out") == ["notes.docx"]


def test_format_and_path_must_agree(tmp_path):
    with pytest.raises(UserError, match=r"\.xlsx"):
        write_registry(Registry(), tmp_path / "r", format="xlsx")
    with pytest.raises(UserError, match="folder"):
        write_registry(Registry(), tmp_path / "r.xlsx", format="csv")
    with pytest.raises(UserError, match="format"):
        write_registry(Registry(), tmp_path / "r", format="json")


def test_xlsx_refuses_text_with_control_characters(tmp_path):
    registry = full_registry()
    centers = registry["center"].copy()
    centers.loc[0, "name"] = "Center\x01One"
    registry = Registry({**registry.tables, "center": centers})
    with pytest.raises(UserError, match="center row 2 column 'name'"):
        write_registry(registry, tmp_path / "r.xlsx")
    assert not (tmp_path / "r.xlsx").exists()


def test_import_accepts_columns_in_any_order_and_missing_optional_columns(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "center.csv").write_text("name,center_id\nCenter One,C1\n")
    (folder / "patient.csv").write_text("sex,birth_date,patient_id,center_id\nfemale,2010-01-02,P1,C1\n")
    registry, problems = read_registry(folder)
    assert problems == []
    assert registry["center"].to_dict("records") == [
        {"center_id": "C1", "name": "Center One", "country": None, "synthetic": False}
    ]
    assert registry["patient"]["birth_date"].tolist() == [pd.Timestamp("2010-01-02")]
    assert sorted(p.name for p in folder.iterdir()) == ["center.csv", "patient.csv"]


def test_reading_restores_the_garbage_collector(tmp_path, monkeypatch):
    write_registry(full_registry(), tmp_path / "r")
    assert gc.isenabled()
    read_registry(tmp_path / "r")
    assert gc.isenabled()
    monkeypatch.setattr(tabular, "_read_csv_folder", lambda path: (_ for _ in ()).throw(OSError("unreadable")))
    with pytest.raises(OSError):
        read_registry(tmp_path / "r")
    assert gc.isenabled()
    gc.disable()
    try:
        monkeypatch.undo()
        read_registry(tmp_path / "r")
        assert not gc.isenabled()  # a caller's choice is kept
    finally:
        gc.enable()
