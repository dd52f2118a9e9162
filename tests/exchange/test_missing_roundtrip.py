"""Missing-data codes and partial dates travel in the field's own cell, byte-identically."""

from __future__ import annotations

import csv

from blinareg.exchange import read_registry, write_registry
from tests.exchange.factories import assert_same_registry, folder_bytes
from tests.records.factories import incomplete_registry


def _rows(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_csv_cells_hold_codes_and_partial_dates_and_round_trip_byte_identically(tmp_path):
    write_registry(incomplete_registry(), tmp_path / "first")
    hsct = _rows(tmp_path / "first" / "hsct.csv")
    assert (hsct[0]["conditioning"], hsct[0]["hsct_date"]) == ("unknown", "2018-08")
    assert "conditioning_missing" not in hsct[0] and "hsct_date_precision" not in hsct[0]
    death = _rows(tmp_path / "first" / "death.csv")
    assert (death[0]["death_date"], death[0]["cause"]) == ("2021", "unknown")
    fractions = {row["method"]: row["fraction"] for row in _rows(tmp_path / "first" / "mrd_assessment.csv")}
    assert fractions["rt_qpcr_fusion"] == "positive_not_quantifiable"
    again, problems = read_registry(tmp_path / "first")
    assert problems == []
    assert_same_registry(incomplete_registry(), again)
    write_registry(again, tmp_path / "second")
    assert folder_bytes(tmp_path / "first") == folder_bytes(tmp_path / "second")


def test_xlsx_round_trip_with_codes_and_partial_dates_is_byte_identical(tmp_path):
    write_registry(incomplete_registry(), tmp_path / "first.xlsx")
    again, problems = read_registry(tmp_path / "first.xlsx")
    assert problems == []
    assert_same_registry(incomplete_registry(), again)
    write_registry(again, tmp_path / "second.xlsx")
    assert (tmp_path / "first.xlsx").read_bytes() == (tmp_path / "second.xlsx").read_bytes()
    write_registry(incomplete_registry(), tmp_path / "csv")
    write_registry(again, tmp_path / "csv_from_xlsx")
    assert folder_bytes(tmp_path / "csv") == folder_bytes(tmp_path / "csv_from_xlsx")


def test_a_year_typed_as_a_number_in_a_workbook_is_a_partial_date(tmp_path):
    from openpyxl import load_workbook

    write_registry(incomplete_registry(), tmp_path / "r.xlsx")
    book = load_workbook(tmp_path / "r.xlsx")
    sheet = book["death"]
    header = [c.value for c in sheet[1]]
    sheet.cell(row=2, column=header.index("death_date") + 1, value=2021)  # a number, as Excel keeps a typed year
    book.save(tmp_path / "edited.xlsx")
    again, problems = read_registry(tmp_path / "edited.xlsx")
    assert problems == []
    assert again["death"].loc[0, "death_date_precision"] == "year"


def test_cross_record_problems_name_the_sheet_and_row_of_their_record(tmp_path):
    import pytest

    from blinareg.errors import ValidationFailed
    from blinareg.records import validate
    from blinareg.store import Store
    from tests.records.factories import consistent_registry

    write_registry(consistent_registry(), tmp_path / "r")
    rows = _rows(tmp_path / "r" / "relapse.csv")
    rows[0]["relapse_date"] = "2014-12-01"  # before P1's diagnosis (2015-01-10): a cross-record problem
    with open(tmp_path / "r" / "relapse.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    registry, problems = read_registry(tmp_path / "r")
    assert problems == []
    found = [p for p in validate(registry) if p.check == "chronology"]
    assert [(p.source, p.row, p.field) for p in found] == [("relapse.csv", 2, "relapse_date")]
    with Store.open(f"sqlite:///{tmp_path / 's.sqlite'}") as store:
        store.init()
        with pytest.raises(ValidationFailed) as error:
            store.import_registry(registry, source="r")
    assert [(p.source, p.row) for p in error.value.problems if p.check == "chronology"] == [("relapse.csv", 2)]
