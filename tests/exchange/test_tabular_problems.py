"""Bad files: every problem, from every file at once, names file, row, column and value."""

from __future__ import annotations

import datetime as dt

import pytest
from openpyxl import Workbook

from blinareg.errors import UserError
from blinareg.exchange import read_registry
from blinareg.records.problems import Severity
from tests.exchange.factories import csv_folder


def edit(folder, record_type: str, text: str, *, encoding: str = "utf-8") -> None:
    (folder / f"{record_type}.csv").write_bytes(text.encode(encoding))


def lines(folder, record_type: str) -> list[str]:
    return (folder / f"{record_type}.csv").read_text(encoding="utf-8").split("\n")


def test_valid_export_has_no_problems(tmp_path):
    registry, problems = read_registry(csv_folder(tmp_path))
    assert problems == []
    assert registry.counts()["patient"] == 3


def test_unknown_column_is_named_with_a_suggestion(tmp_path):
    folder = csv_folder(tmp_path)
    edit(folder, "patient", "patient_id,center_id,sex,birth_date,birthdate\nP1,C1,male,2010-03-01,x\n")
    _, problems = read_registry(folder)
    assert len(problems) == 1
    problem = problems[0]
    assert (problem.source, problem.record_type, problem.field, problem.row) == (
        "patient.csv",
        "patient",
        "birthdate",
        1,
    )
    assert "unknown column 'birthdate'" in problem.reason and "did you mean 'birth_date'?" in problem.reason


def test_missing_required_column_is_reported_once_not_per_row(tmp_path):
    folder = csv_folder(tmp_path)
    edit(folder, "patient", "patient_id,center_id,birth_date\nP1,C1,2010-03-01\nP2,C1,2005-07-20\n")
    _, problems = read_registry(folder)
    assert [(p.source, p.field, p.row) for p in problems] == [("patient.csv", "sex", 1)]
    assert "required column 'sex' is missing" in problems[0].reason


def test_bad_date_names_file_row_field_and_value(tmp_path):
    folder = csv_folder(tmp_path)
    rows = lines(folder, "patient")
    rows[2] = rows[2].replace("2005-07-20", "20.07.2005")
    edit(folder, "patient", "\n".join(rows))
    _, problems = read_registry(folder)
    assert len(problems) == 1
    problem = problems[0]
    assert (problem.source, problem.row, problem.field, problem.value, problem.patient_id) == (
        "patient.csv",
        3,
        "birth_date",
        "20.07.2005",
        "P2",
    )
    assert "YYYY-MM-DD" in problem.reason
    assert "patient.csv row 3" in str(problem)


@pytest.mark.parametrize("text", ["1577836800", "0", "20200102", "2020-1-2", "2020-01-02T00:00:00"])
def test_dates_must_be_iso_even_when_pydantic_would_guess(tmp_path, text):
    # pydantic reads "1577836800" as a Unix time (2020-01-01) and "0" as 1970-01-01: refused here.
    folder = csv_folder(tmp_path)
    rows = lines(folder, "follow_up")
    rows[1] = rows[1].replace("2021-01-05", text)
    edit(folder, "follow_up", "\n".join(rows))
    _, problems = read_registry(folder)
    assert [(p.field, p.value, p.row) for p in problems] == [("last_contact_date", text, 2)]


def test_impossible_date_is_reported(tmp_path):
    folder = csv_folder(tmp_path)
    rows = lines(folder, "follow_up")
    rows[1] = rows[1].replace("2021-01-05", "2021-02-30")
    edit(folder, "follow_up", "\n".join(rows))
    _, problems = read_registry(folder)
    assert [(p.field, p.value, p.row, p.source) for p in problems] == [
        ("last_contact_date", "2021-02-30", 2, "follow_up.csv")
    ]


def test_bad_enum_lists_the_legal_codes(tmp_path):
    folder = csv_folder(tmp_path)
    rows = lines(folder, "patient")
    rows[1] = rows[1].replace(",male,", ",M,")
    edit(folder, "patient", "\n".join(rows))
    _, problems = read_registry(folder)
    assert len(problems) == 1
    assert (problems[0].field, problems[0].value, problems[0].row) == ("sex", "M", 2)
    for code in ("female", "male", "other", "unknown"):
        assert f"'{code}'" in problems[0].reason


@pytest.mark.parametrize(
    ("name", "suggestion"),
    [("patients.csv", "patient.csv"), ("relapses.csv", "relapse.csv"), ("Follow-Up.csv", "follow_up.csv")],
)
def test_wrong_file_name_suggests_the_right_one(tmp_path, name, suggestion):
    folder = csv_folder(tmp_path)
    (folder / name).write_text("patient_id\n")
    _, problems = read_registry(folder)
    assert len(problems) == 1
    assert problems[0].source == name and problems[0].severity is Severity.ERROR
    assert f"unknown file name {name!r}; did you mean {suggestion!r}?" in problems[0].reason


def test_other_files_in_the_folder_are_ignored(tmp_path):
    folder = csv_folder(tmp_path)
    (folder / "README.txt").write_text("notes")
    (folder / ".~lock.patient.csv#").write_text("lock")
    assert read_registry(folder)[1] == []


def test_empty_file_is_a_problem_but_header_only_is_no_records(tmp_path):
    folder = csv_folder(tmp_path)
    edit(folder, "death", "")
    edit(folder, "hsct", lines(folder, "hsct")[0] + "\n")
    registry, problems = read_registry(folder)
    assert [(p.source, p.record_type) for p in problems] == [("death.csv", "death")]
    assert "empty" in problems[0].reason and "header" in problems[0].reason
    assert len(registry["hsct"]) == 0


def test_missing_file_means_no_records(tmp_path):
    folder = csv_folder(tmp_path)
    (folder / "adverse_event.csv").unlink()
    registry, problems = read_registry(folder)
    assert problems == [] and len(registry["adverse_event"]) == 0 and len(registry["patient"]) == 3


def test_byte_order_mark_and_crlf_are_accepted(tmp_path):
    folder = csv_folder(tmp_path)
    text = "\r\n".join(lines(folder, "patient"))
    edit(folder, "patient", text, encoding="utf-8-sig")
    assert (folder / "patient.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    registry, problems = read_registry(folder)
    assert problems == []
    assert registry["patient"]["patient_id"].tolist() == ["P1", "P2", "P3"]


def test_boolean_spellings(tmp_path):
    folder = csv_folder(tmp_path)
    rows = lines(folder, "relapse")
    edit(
        folder,
        "relapse",
        "\n".join([rows[0], "P1,1,2018-05-02,YES,1,No,FALSE,60,", "P1,2,2019-05-02,0,,True,no,,", ""]),
    )
    registry, problems = read_registry(folder)
    assert problems == []
    relapse = registry["relapse"]
    assert relapse["site_bone_marrow"].tolist() == [True, False]
    assert relapse["site_cns"].tolist() == [True, False]  # blank = the default (false)
    assert relapse["site_testis"].tolist() == [False, True]
    rows = lines(folder, "relapse")
    edit(folder, "relapse", "\n".join([rows[0], "P1,1,2018-05-02,maybe,1,No,FALSE,60,", ""]))
    _, problems = read_registry(folder)
    assert [(p.field, p.value, p.row) for p in problems] == [("site_bone_marrow", "maybe", 2)]


def test_semicolon_separated_file_is_explained(tmp_path):
    folder = csv_folder(tmp_path)
    edit(folder, "center", "center_id;name;country;synthetic\nC1;Center;DE;true\n")
    _, problems = read_registry(folder)
    assert [(p.source, p.row) for p in problems] == [("center.csv", 1)]
    assert "comma-separated" in problems[0].reason


def test_file_that_is_not_utf8(tmp_path):
    folder = csv_folder(tmp_path)
    edit(folder, "center", "center_id,name,country,synthetic\nC1,Universitätsklinikum,DE,true\n", encoding="latin-1")
    _, problems = read_registry(folder)
    assert [(p.source, p.record_type) for p in problems] == [("center.csv", "center")]
    assert "UTF-8" in problems[0].reason and "line 2" in problems[0].reason


def test_csv_syntax_error_is_reported_with_the_rows_before_it(tmp_path):
    folder = csv_folder(tmp_path)
    huge = "x" * 200_000  # longer than the csv module's field limit
    edit(folder, "center", f"center_id,name,country,synthetic\nC1,Center,DE,maybe\nC2,{huge},DE,true\n")
    _, problems = read_registry(folder)
    assert [(p.source, p.row, p.field) for p in problems] == [
        ("center.csv", 2, "synthetic"),
        ("center.csv", None, None),
    ]
    assert "line 3" in problems[1].reason and "not readable as CSV" in problems[1].reason


def test_short_row_and_values_without_a_column_name(tmp_path):
    folder = csv_folder(tmp_path)
    edit(
        folder,
        "patient",
        "patient_id,center_id,sex,birth_date\nP1,C1,male\nP2,C1,female,2005-07-20,oops\nP3,C1,unknown,2001-12-31,\n",
    )
    _, problems = read_registry(folder)
    assert [(p.row, p.patient_id) for p in problems] == [(2, "P1"), (3, None)]
    assert "3 values" in problems[0].reason and "4 columns" in problems[0].reason
    assert "column 5" in problems[1].reason and "no name" in problems[1].reason


def test_blank_lines_are_skipped_and_row_numbers_still_match_the_file(tmp_path):
    folder = csv_folder(tmp_path)
    rows = lines(folder, "patient")
    rows[3] = rows[3].replace("unknown", "alien")
    edit(folder, "patient", "\n".join([rows[0], rows[1], ",,,", "", rows[2], rows[3], ""]))
    registry, problems = read_registry(folder)
    assert [(p.row, p.field, p.value) for p in problems] == [(6, "sex", "alien")]


def test_quoted_line_breaks_count_as_one_row(tmp_path):
    folder = csv_folder(tmp_path)
    edit(folder, "genetic_finding", 'patient_id,lesion,detail\nP1,other,"two\nlines"\nP2,not-a-lesion,\n')
    _, problems = read_registry(folder)
    assert [(p.row, p.value) for p in problems] == [(3, "not-a-lesion")]


def test_cross_field_rule_points_at_the_row(tmp_path):
    folder = csv_folder(tmp_path)
    edit(folder, "genetic_finding", "patient_id,lesion,detail\nP1,ETV6::RUNX1,\nP1,other,\n")
    _, problems = read_registry(folder)
    assert [(p.row, p.patient_id, p.source) for p in problems] == [(3, "P1", "genetic_finding.csv")]
    assert "detail" in problems[0].reason


def test_problems_from_all_files_at_once(tmp_path):
    folder = csv_folder(tmp_path)
    rows = lines(folder, "patient")
    rows[1] = rows[1].replace(",male,", ",M,")
    rows[2] = rows[2].replace("2005-07-20", "yesterday")
    edit(folder, "patient", "\n".join(rows))
    rows = lines(folder, "hsct")
    edit(folder, "hsct", rows[0] + ",comment\n" + rows[1] + ",x\n")
    (folder / "patients.csv").write_text("x\n")
    edit(folder, "death", "")
    registry, problems = read_registry(folder)
    found = {(p.source, p.field, p.row) for p in problems}
    assert found == {
        ("patients.csv", None, None),
        ("patient.csv", "sex", 2),
        ("patient.csv", "birth_date", 3),
        ("hsct.csv", "comment", 1),
        ("death.csv", None, None),
    }
    assert all(p.severity is Severity.ERROR for p in problems)


def test_none_is_a_code_not_a_blank_in_enum_columns(tmp_path):
    # Regression: parse_rows treated every "none" as a missing value, so oxygen "none" became unknown.
    folder = csv_folder(tmp_path)
    registry, problems = read_registry(folder)
    assert problems == []
    events = registry["adverse_event"].set_index("event_number")
    assert events.loc[1, "oxygen"] == "none" and events.loc[2, "cerebral_edema"] == "none"
    assert registry["hsct"]["chronic_gvhd"].tolist() == ["none"]


def test_single_csv_file_or_missing_path_is_a_user_error(tmp_path):
    folder = csv_folder(tmp_path)
    with pytest.raises(UserError, match="folder"):
        read_registry(folder / "patient.csv")
    with pytest.raises(UserError, match="no such"):
        read_registry(tmp_path / "nowhere")
    (tmp_path / "broken.xlsx").write_bytes(b"not a zip")
    with pytest.raises(UserError, match="not a readable .xlsx"):
        read_registry(tmp_path / "broken.xlsx")


# ---- workbooks typed by hand (Excel cells, not our export) --------------------------------------------


def hand_workbook(path, sheets: dict[str, list[list]]) -> None:
    workbook = Workbook()
    workbook.remove(workbook.active)
    for name, rows in sheets.items():
        sheet = workbook.create_sheet(name)
        for row in rows:
            sheet.append(row)
    workbook.save(path)


def test_excel_date_cells_numbers_and_text_are_read(tmp_path):
    path = tmp_path / "typed.xlsx"
    hand_workbook(
        path,
        {
            "center": [["center_id", "name", "synthetic"], [12, "Center twelve", True]],
            "patient": [
                ["patient_id", "center_id", "sex", "birth_date"],
                ["P1", 12, "male", dt.datetime(2010, 3, 1)],
                ["P2", "12", "female", dt.date(2005, 7, 20)],
                ["P3", 12.0, "other", "2001-12-31"],
            ],
            "body_measurement": [
                ["patient_id", "measurement_date", "weight_kg", "height_cm"],
                ["P1", dt.datetime(2018, 6, 1), 30, "130.5"],
            ],
        },
    )
    registry, problems = read_registry(path)
    assert problems == []
    assert registry["center"]["center_id"].tolist() == ["12"]
    patients = registry["patient"]
    assert patients["center_id"].tolist() == ["12", "12", "12"]
    assert patients["birth_date"].dt.strftime("%Y-%m-%d").tolist() == ["2010-03-01", "2005-07-20", "2001-12-31"]
    assert registry["body_measurement"][["weight_kg", "height_cm"]].values.tolist() == [[30.0, 130.5]]


def test_workbook_problems_name_the_sheet_and_row(tmp_path):
    path = tmp_path / "bad.xlsx"
    hand_workbook(
        path,
        {
            "README": [["anything"]],
            "patients": [["patient_id"]],
            "patient": [
                ["patient_id", "center_id", "sex", "birth_date"],
                ["P1", "C1", "male", dt.datetime(2010, 3, 1, 14, 30)],
                [None, None, None, None],
                ["P2", "C1", "female", 40000],
                ["P3", "C1", "robot", dt.date(2001, 1, 1)],
            ],
            "body_measurement": [["patient_id", "measurement_date", "weight_kg"], ["P1", dt.date(2018, 6, 1), True]],
        },
    )
    _, problems = read_registry(path)
    found = [(p.source, p.row, p.field, p.value) for p in problems]
    assert found == [
        ("bad.xlsx sheet patients", None, None, None),
        ("bad.xlsx sheet patient", 2, "birth_date", dt.datetime(2010, 3, 1, 14, 30)),
        ("bad.xlsx sheet patient", 4, "birth_date", 40000),
        ("bad.xlsx sheet patient", 5, "sex", "robot"),
        ("bad.xlsx sheet body_measurement", 2, "weight_kg", True),
    ]
    assert "did you mean 'patient'?" in problems[0].reason
    assert "bad.xlsx sheet patient row 4" in str(problems[2])


def test_sheet_without_header(tmp_path):
    path = tmp_path / "empty.xlsx"
    hand_workbook(path, {"patient": []})
    _, problems = read_registry(path)
    assert [(p.source, p.row) for p in problems] == [("empty.xlsx sheet patient", 1)]
    assert "header" in problems[0].reason
