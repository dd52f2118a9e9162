"""Thirty typical mistakes in a center's sheet: each problem names the center's sheet, row, column and value
and the registry field. And mistakes in the mapping file itself, reported as such."""

from __future__ import annotations

import datetime as dt
import tomllib

import pytest
from openpyxl import Workbook

from blinareg.errors import UserError
from blinareg.exchange.mapping import MappingError, parse_mapping, read_mapped
from blinareg.records.problems import Severity
from blinareg.records.validation import validate

HEADER = [
    "Pat-ID",
    "Sex",
    "Birth",
    "Dx",
    "WBC",
    "Status",
    "Last FU",
    "Death",
    "Cause",
    "relapse1_date",
    "relapse1_site",
    "relapse1_blasts",
    "MRD",
    "MRD date",
    "HSCT",
    "Donor",
    "Conditioning",
    "Remission",
]
GOOD = [
    [
        "UK-1",
        "m",
        "01.02.2010",
        "03.04.2018",
        12.5,
        "alive",
        "05.06.2021",
        None,
        None,
        "07.08.2019",
        "BM",
        "45%",
        "0.5%",
        "09.10.2019",
        "11.12.2019",
        "MUD",
        "TBI",
        "CR2",
    ],
    [
        "UK-2",
        "f",
        "13.02.2008",
        "14.04.2017",
        3,
        "dead",
        "15.06.2020",
        "15.06.2020",
        "relapse",
        None,
        None,
        None,
        "neg",
        "16.10.2019",
        None,
        None,
        None,
        None,
    ],
    [
        "UK-3",
        "f",
        "20.02.2012",
        "21.04.2019",
        None,
        "alive",
        "22.06.2022",
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
    ],
]
MAPPING = """
[source]
sheets = ["Data"]
id_column = "Pat-ID"
[constants]
"patient.center_id" = "UK"
"center.center_id" = "UK"
"center.name" = "Example unit"
"mrd_assessment.method" = "flow"
"mrd_assessment.sample" = "BM"
"mrd_assessment.sensitivity" = 0.0001
[[column]]
column = "Sex"
field = "patient.sex"
values = { m = "male", f = "female" }
[[column]]
column = "Birth"
field = "patient.birth_date"
date_format = "DD.MM.YYYY"
[[column]]
column = "Dx"
field = "diagnosis.diagnosis_date"
date_format = "DD.MM.YYYY"
[[column]]
column = "WBC"
field = "diagnosis.wbc_per_nl"
[[column]]
column = "Status"
field = "follow_up.vital_status"
[[column]]
column = "Last FU"
field = "follow_up.last_contact_date"
date_format = "DD.MM.YYYY"
[[column]]
column = "Death"
field = "death.death_date"
date_format = "DD.MM.YYYY"
[[column]]
column = "Cause"
field = "death.cause"
values = { relapse = "relapse_progression" }
[[column]]
column = "relapse1_date"
field = "relapse.relapse_date"
instance = 1
date_format = "DD.MM.YYYY"
[[column]]
column = "relapse1_site"
field = "relapse"
instance = 1
values = { BM = { site_bone_marrow = true }, CNS = { site_bone_marrow = false, site_cns = true } }
[[column]]
column = "relapse1_blasts"
field = "relapse.marrow_blasts_pct"
instance = 1
[[column]]
column = "MRD"
field = "mrd_assessment.fraction"
unit = "percent"
when_number = { detected = true }
values = { neg = { detected = false } }
[[column]]
column = "MRD date"
field = "mrd_assessment.assessment_date"
date_format = "DD.MM.YYYY"
[[column]]
column = "HSCT"
field = "hsct.hsct_date"
instance = 1
date_format = "DD.MM.YYYY"
[[column]]
column = "Donor"
field = "hsct.donor_type"
instance = 1
values = { MUD = "mud", MSD = "msd" }
[[column]]
column = "Conditioning"
field = "hsct.conditioning"
instance = 1
values = { TBI = "tbi_based" }
[[column]]
column = "Remission"
field = "hsct.remission_status"
instance = 1
"""


def write_sheet(tmp_path, rows, header=HEADER, name="Data"):
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = name
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    path = tmp_path / "center.xlsx"
    workbook.save(path)
    return path


def run(tmp_path, rows, mapping=MAPPING, header=HEADER):
    sheet = write_sheet(tmp_path, rows, header)
    mapping_path = tmp_path / "mapping.toml"
    mapping_path.write_text(mapping, encoding="utf-8")
    result = read_mapped(sheet, mapping_path)
    problems = [p for p in result.problems if p.severity is Severity.ERROR]
    if not problems:
        problems = [p for p in result.locate(validate(result.registry)) if p.severity is Severity.ERROR]
    return problems


def test_the_good_sheet_has_no_problems(tmp_path):
    assert run(tmp_path, GOOD) == []


def changed(row: int, column: str, value):
    rows = [list(r) for r in GOOD]
    rows[row - 2][HEADER.index(column)] = value
    return rows


# (row, column, new value, registry field, words the reason must hold). Row 2 is UK-1, 3 UK-2, 4 UK-3.
MISTAKES = [
    (2, "Sex", "x", "patient.sex", "not a code"),
    (3, "Sex", "femal", "patient.sex", "did you mean 'female'"),
    (2, "Birth", "31.02.2010", "patient.birth_date", "not a real date"),
    (2, "Birth", "01/02/2010", "patient.birth_date", "declared format DD.MM.YYYY"),
    (2, "Birth", 40210, "patient.birth_date", "excel"),
    (2, "Birth", "01.02.10", "patient.birth_date", "declared format"),
    (2, "Birth", "yesterday", "patient.birth_date", "declared format"),
    (2, "Dx", "2018-13-01", "diagnosis.diagnosis_date", "declared format"),
    (2, "HSCT", "01.01.2009", "hsct.hsct_date", "before the patient's birth"),  # cross-record
    (2, "WBC", "12,5", "diagnosis.wbc_per_nl", "decimal comma"),
    (2, "WBC", "high", "diagnosis.wbc_per_nl", "not a number"),
    (2, "WBC", -3, "diagnosis.wbc_per_nl", "greater than or equal to 0"),
    (2, "WBC", "12%", "diagnosis.wbc_per_nl", "percentage"),
    (2, "Status", "lost", "follow_up.vital_status", "not a code"),
    (2, "MRD date", "01.01.2030", "mrd_assessment.assessment_date", "after the patient's last contact"),  # cross
    (3, "Death", "31.13.2020", "death.death_date", "not a real date"),
    (3, "Cause", "accident", "death.cause", "not a code"),
    (2, "relapse1_date", None, "relapse.relapse_date", "required"),
    (2, "relapse1_site", "liver", "relapse", "value map"),
    (2, "relapse1_blasts", "145%", "relapse.marrow_blasts_pct", "less than or equal to 100"),
    (2, "relapse1_blasts", "<5", "relapse.marrow_blasts_pct", "map it"),
    (2, "MRD", "<0.01%", "mrd_assessment.fraction", "map it"),
    (2, "MRD", "pos?", "mrd_assessment.fraction", "not a number"),
    (2, "MRD", 250, "mrd_assessment.fraction", "less than or equal to 1"),
    (2, "MRD date", None, "mrd_assessment.assessment_date", "required"),
    (2, "Donor", "sibling", "hsct.donor_type", "not a code"),
    (2, "Conditioning", "RIC", "hsct.conditioning", "not a code"),
    (2, "Remission", "CR5", "hsct.remission_status", "not a code"),
    (2, "Conditioning", None, "hsct.conditioning", "required"),
    (2, "Pat-ID", "UK 1", "patient.patient_id", "pattern"),
]


def test_thirty_mistakes():
    assert len(MISTAKES) == 30


@pytest.mark.parametrize(
    "row, column, value, target, words", MISTAKES, ids=[f"{c}={v!r}" for _, c, v, _, _ in MISTAKES]
)
def test_mistake_names_sheet_row_column_value_and_field(tmp_path, row, column, value, target, words):
    problems = run(tmp_path, changed(row, column, value))
    record_type, _, field = target.partition(".")
    matching = [p for p in problems if p.record_type == record_type and p.field == (field or None)]
    assert matching, [str(p) for p in problems]
    problem = matching[0]
    assert problem.source == f"center.xlsx sheet Data column {column!r}", str(problem)
    assert problem.row == row, str(problem)
    if value is not None:
        shown = problem.value if not isinstance(problem.value, dt.date) else problem.value.isoformat()
        assert str(value) in str(shown) or str(shown) in str(value), str(problem)
    assert words.lower() in str(problem).lower(), str(problem)
    assert f"sheet Data column {column!r} row {row}" in str(problem)


def test_duplicate_and_blank_study_ids_name_both_rows(tmp_path):
    rows = [list(r) for r in GOOD]
    rows[1][0] = "UK-1"
    rows[2][0] = None
    problems = run(tmp_path, rows)
    texts = [str(p) for p in problems]
    assert any("also in row 2" in t and "column 'Pat-ID' row 3" in t for t in texts), texts
    assert any("no study id" in t and "column 'Pat-ID' row 4" in t for t in texts), texts


def test_unmapped_column_with_values_is_an_error_unless_ignored(tmp_path):
    header = [*HEADER, "Notes"]
    rows = [[*GOOD[0], "seen in clinic"], *GOOD[1:]]
    problems = run(tmp_path, rows, header=header)
    assert [(p.source, p.row, p.value) for p in problems] == [
        ("center.xlsx sheet Data column 'Notes'", 2, "seen in clinic")
    ]
    assert run(tmp_path, rows, mapping=MAPPING + '\n[ignore]\ncolumns = ["Notes"]\n', header=header) == []


def test_mapped_column_missing_from_the_sheet(tmp_path):
    header = [name if name != "Donor" else "Donor type" for name in HEADER]
    problems = run(tmp_path, GOOD, header=header)
    assert any("names column 'Donor'" in p.reason and "did you mean 'Donor type'" in p.reason for p in problems)


def test_duplicate_column_names_in_the_header(tmp_path):
    header = [name if name != "WBC" else "Sex" for name in HEADER]
    problems = run(tmp_path, GOOD, header=header)
    assert any("appears more than once" in p.reason and "column 'Sex'" in p.source for p in problems)


def test_secondary_sheet_is_joined_on_the_study_id_and_orphans_are_named(tmp_path):
    workbook = Workbook()
    main = workbook.active
    main.title = "Data"
    main.append(HEADER)
    for row in GOOD:
        main.append(row)
    events = workbook.create_sheet("AEs")
    events.append(["id", "term", "grade", "onset"])
    events.append(["UK-1", "infection", 3, "02.03.2019"])
    events.append(["UK-1", "infection", 2, "02.05.2019"])
    events.append(["UK-9", "infection", 2, "02.05.2019"])
    path = tmp_path / "center.xlsx"
    workbook.save(path)
    mapping = MAPPING.replace(
        'sheets = ["Data"]\nid_column = "Pat-ID"',
        'sheets = ["Data", "AEs"]\nid_column = { Data = "Pat-ID", AEs = "id" }',
    )
    mapping = mapping.replace(
        '"mrd_assessment.sensitivity" = 0.0001',
        '"mrd_assessment.sensitivity" = 0.0001\n"adverse_event.grading_system" = "ctcae_v5"',
    )
    mapping += """
[[column]]
column = "term"
sheet = "AEs"
field = "adverse_event.term"
[[column]]
column = "grade"
sheet = "AEs"
field = "adverse_event.grade"
[[column]]
column = "onset"
sheet = "AEs"
field = "adverse_event.onset_date"
date_format = "DD.MM.YYYY"
"""
    (tmp_path / "mapping.toml").write_text(mapping, encoding="utf-8")
    result = read_mapped(path, tmp_path / "mapping.toml")
    assert [(p.source, p.row, p.value) for p in result.problems] == [("center.xlsx sheet AEs column 'id'", 4, "UK-9")]
    workbook["AEs"].delete_rows(4)
    workbook.save(path)
    result = read_mapped(path, tmp_path / "mapping.toml")
    assert result.problems == []
    events = result.registry["adverse_event"]
    assert events["event_number"].tolist() == [1, 2] and events["grade"].tolist() == [3, 2]


@pytest.mark.parametrize(
    "edit, message",
    [
        (("patient.sex", "patient.gender"), "unknown field 'patient.gender'; did you mean 'patient.sex'?"),
        (('date_format = "DD.MM.YYYY"', 'date_format = "DD.MM.YY"'), "unknown date_format 'DD.MM.YY'"),
        (
            ('values = { MUD = "mud", MSD = "msd" }', 'values = { MUD = "matched" }'),
            "value map 'MUD': 'matched' is not a code of hsct.donor_type",
        ),
        (('"center.name" = "Example unit"', '"center.nam" = "Example unit"'), "[constants] center.nam: unknown field"),
        (('unit = "percent"', 'unit = "kg"'), "unit 'kg' cannot be converted to mrd_assessment.fraction"),
        (("instance = 1\ndate_format", "instance = 0\ndate_format"), "instance must be a number 1-99"),
        (
            ('[[column]]\ncolumn = "WBC"', '[[column]]\ncolum = "WBC"'),
            "'column' (the center's column name) is required",
        ),
        (("when_number", "when_numbers"), "unknown key 'when_numbers'; did you mean 'when_number'?"),
        (
            ('field = "diagnosis.wbc_per_nl"', 'field = "diagnosis.wbc_per_nl"\ndate_format = "DD.MM.YYYY"'),
            "date_format is for date fields",
        ),
        (
            ("values = { neg = { detected = false } }", 'values = { neg = { detected = "no" } }'),
            "mrd_assessment.detected is true/false",
        ),
    ],
)
def test_mistakes_in_the_mapping_file_are_reported_as_such(edit, message):
    old, new = edit
    assert old in MAPPING
    with pytest.raises(MappingError) as error:
        parse_mapping(tomllib.loads(MAPPING.replace(old, new, 1)), "mapping.toml")
    assert message in str(error.value)
    assert str(error.value).startswith("mapping.toml:")


def test_mapping_file_that_is_not_toml(tmp_path):
    path = tmp_path / "mapping.toml"
    path.write_text("[source\nid_column = 1", encoding="utf-8")
    with pytest.raises(UserError, match="not valid TOML"):
        read_mapped(write_sheet(tmp_path, GOOD), path)
