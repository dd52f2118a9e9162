"""Empty templates: header-only CSVs, or a workbook with drop-down lists, that read back as no records."""

from __future__ import annotations

from openpyxl import load_workbook

from blinareg.exchange import read_registry, write_templates
from blinareg.records.models import RECORD_MODELS, RECORD_TYPES
from blinareg.records.registry import columns


def test_csv_templates_are_header_only_files(tmp_path):
    folder = write_templates(tmp_path / "template", "csv")
    for model in RECORD_MODELS:
        assert (folder / f"{model.record_type}.csv").read_text() == ",".join(c.name for c in columns(model)) + "\n"
    registry, problems = read_registry(folder)
    assert problems == [] and set(registry.counts().values()) == {0}


def test_xlsx_template_has_headers_and_pick_lists(tmp_path):
    path = write_templates(tmp_path / "template.xlsx", "xlsx")
    workbook = load_workbook(path)
    assert workbook.sheetnames == ["README", "_lists", *RECORD_TYPES]
    assert workbook["_lists"].sheet_state == "hidden"
    for model in RECORD_MODELS:
        sheet = workbook[model.record_type]
        assert [cell.value for cell in sheet[1]] == [c.name for c in columns(model)]
    patient = workbook["patient"]
    (validation,) = patient.data_validations.dataValidation
    assert validation.type == "list" and str(validation.sqref) == "C2:C1048576"
    lists = workbook["_lists"]
    sex_column = next(c for c in lists[1] if c.value == "Sex").column_letter
    assert validation.formula1 == f"'_lists'!${sex_column}$2:${sex_column}$5"
    assert [lists[f"{sex_column}{row}"].value for row in range(2, 6)] == ["female", "male", "other", "unknown"]
    adverse = workbook["adverse_event"]
    covered = {str(v.sqref).split("2:")[0] for v in adverse.data_validations.dataValidation}
    letters = {name: i for i, name in enumerate(c.name for c in columns(RECORD_TYPES["adverse_event"]))}
    assert {chr(ord("A") + letters[n]) for n in ("term", "oxygen", "serious", "vasopressin")} <= covered
    registry, problems = read_registry(path)
    assert problems == [] and set(registry.counts().values()) == {0}


def test_xlsx_template_is_byte_identical_each_time(tmp_path):
    first = write_templates(tmp_path / "a.xlsx", "xlsx").read_bytes()
    second = write_templates(tmp_path / "b.xlsx", "xlsx").read_bytes()
    assert first == second
