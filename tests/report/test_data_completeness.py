"""The report states the missing-data codes and the imputed partial dates it analysed (issue 8)."""

from __future__ import annotations

from blinareg.derive import derive
from blinareg.exchange.mapping import read_mapped
from blinareg.report import build_report
from blinareg.report.analyses import data_completeness_notes
from tests.data import make_center_sheet

MAPPING = make_center_sheet.__file__.rsplit("/", 1)[0] + "/center_mapping.toml"


def test_notes_name_each_code_and_the_imputed_dates_per_endpoint():
    metadata = {
        "missing_data": {"hsct": {"conditioning": {"not_done": 1, "unknown": 2}}},
        "imputed_dates": {"OS": 3, "EFS": 0, "CIR": 1},
    }
    codes, dates = data_completeness_notes(metadata)
    assert "hsct conditioning (not done: 1, unknown: 2)" in codes
    assert "never as a value" in codes
    # EFS had no imputed date, so it is not listed.
    assert dates == (
        "Event or censoring dates imputed from partial dates (patients per endpoint): "
        "Overall survival: 3, Cumulative incidence of relapse: 1."
    )
    assert data_completeness_notes({}) == ()


def test_report_of_the_example_sheet_counts_its_codes(tmp_path):
    # The example sheet: conditioning 'n/k' for HD-03 and HD-19 -> 2 records with the code unknown.
    registry = read_mapped(make_center_sheet.write(tmp_path / "sheet.xlsx"), MAPPING).registry
    report = build_report(derive(registry))
    notes = report.typed.meta.data_completeness
    assert any("hsct conditioning (unknown: 2)" in note for note in notes)
    assert report.results["meta"]["data_completeness"] == list(notes)
