"""`blinareg template`, `blinareg map suggest` and `blinareg import --map` through the real entry point."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from openpyxl import load_workbook

from blinareg.cli.main import main
from blinareg.exchange.mapping import parse_mapping
from blinareg.exchange.templates import EXAMPLE_PATIENT

DATA = Path(__file__).parents[1] / "data"


def test_template_workbook_has_lists_readme_and_one_example_patient(run, tmp_path, monkeypatch):
    monkeypatch.setenv("BLINAREG_DATABASE_URL", f"sqlite:///{tmp_path / 'r.sqlite'}")
    code, out, _ = run("template", tmp_path / "registry.xlsx")
    assert code == 0 and "one synthetic example patient" in out
    workbook = load_workbook(tmp_path / "registry.xlsx")
    assert workbook.sheetnames[:2] == ["README", "_lists"]
    assert workbook["patient"]["A2"].value == EXAMPLE_PATIENT and workbook["patient"]["A3"].value is None
    assert workbook["patient"].data_validations.dataValidation  # the sex drop-down
    assert any("delete those rows" in str(row[0].value) for row in workbook["README"].iter_rows())
    assert run("init")[0] == 0
    code, out, err = run("import", tmp_path / "registry.xlsx", "--dry-run")
    assert code == 0, err
    assert "would import 1 patient(s)" in out and "0 warning(s)" in out  # the example validates cleanly


def test_template_without_example_and_as_csv(run, tmp_path):
    assert run("template", tmp_path / "empty.xlsx", "--no-example")[0] == 0
    assert load_workbook(tmp_path / "empty.xlsx")["patient"]["A2"].value is None
    assert run("template", tmp_path / "csv", "--format", "csv")[0] == 0
    assert (tmp_path / "csv" / "patient.csv").read_text().splitlines()[1].startswith(EXAMPLE_PATIENT)


def test_map_suggest_prints_a_valid_draft_or_writes_it(run, tmp_path):
    code, out, _ = run("map", "suggest", DATA / "center_sheet.xlsx")
    assert code == 0
    parse_mapping(tomllib.loads(out), "stdout")
    code, _, err = run("map", "suggest", DATA / "center_sheet.xlsx", "--sheet", "Patients", "-o", tmp_path / "m.toml")
    assert code == 0 and "review every entry" in err
    assert (tmp_path / "m.toml").read_text(encoding="utf-8") == out


def test_map_suggest_of_a_missing_sheet_is_a_user_error(run):
    code, _, err = run("map", "suggest", DATA / "center_sheet.xlsx", "--sheet", "Patient")
    assert code == 2 and "no sheet 'Patient'; did you mean 'Patients'?" in err and "Traceback" not in err


def test_import_map_dry_run_reports_problems_in_the_centers_terms(run, tmp_path, monkeypatch):
    monkeypatch.setenv("BLINAREG_DATABASE_URL", f"sqlite:///{tmp_path / 'r.sqlite'}")
    assert run("init")[0] == 0
    mapping = tmp_path / "mapping.toml"
    mapping.write_text(
        (DATA / "center_mapping.toml")
        .read_text(encoding="utf-8")
        .replace(
            '"HSCT date"\nfield = "hsct.hsct_date"\ninstance = 1\ndate_format = "DD/MM/YYYY"',
            '"HSCT date"\nfield = "hsct.hsct_date"\ninstance = 1\ndate_format = "MM/DD/YYYY"',
        ),
        encoding="utf-8",
    )
    code, out, err = run("import", DATA / "center_sheet.xlsx", "--map", mapping, "--dry-run")
    assert code == 2 and "Traceback" not in err
    # HD-01's HSCT on 14/04/2019 read as month 14: named by sheet, row, column and value.
    assert (
        "hsct[HD-01, hsct_number=1].hsct_date = '14/04/2019': not a real date (month must be in 1..12) "
        "(center_sheet.xlsx sheet Patients column 'HSCT date' row 2)"
    ) in err
    assert run("import", DATA / "center_sheet.xlsx", "--map", mapping, "--redcap")[0] == 2
