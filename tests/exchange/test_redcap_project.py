"""A center's own REDCap project (its own dictionary): the raw export as a sheet, forms left out by status."""

from __future__ import annotations

import pytest

from blinareg.errors import UserError
from blinareg.exchange.redcap import SKIPPED_FORM_CHECK
from blinareg.exchange.redcap_project import ProjectDictionary, project_sheet
from blinareg.records.problems import Severity

DICTIONARY = """\
Variable / Field Name,Form Name,Section Header,Field Type,Field Label,"Choices, Calculations, OR Slider Labels"
study_no,demographics,,text,Study number,
gender,demographics,,radio,Gender,"1, M | 2, F"
dob,demographics,,text,Date of birth,
intro,relapse_form,,descriptive,Relapse,
rel_when,relapse_form,,text,Relapse date,
rel_where,relapse_form,,checkbox,Sites,"BM, Marrow | CNS, CNS | T-1, Testis"
"""
EXPORT = """\
study_no,redcap_data_access_group,gender,dob,demographics_complete,rel_when,rel_where___bm,rel_where___cns,\
rel_where___t_1,relapse_form_complete
K-1,site_a,1,2010-01-02,2,2019-03-04,1,0,0,2
K-2,site_a,2,2011-05-06,2,2020-01-01,0,1,0,0
K-3,site_b,1,,0,,0,0,0,0
K-4,site_b,2,2012-02-02,1,2021-02-02,0,0,1,1
"""


@pytest.fixture
def dictionary(tmp_path):
    path = tmp_path / "project_dictionary.csv"
    path.write_text(DICTIONARY, encoding="utf-8")
    return ProjectDictionary.from_file(path)


def test_dictionary_forms_and_checkbox_columns(dictionary):
    assert dictionary.record_id == "study_no" and dictionary.forms == ("demographics", "relapse_form")
    assert dictionary.form_of_column == {
        "study_no": "demographics",
        "gender": "demographics",
        "dob": "demographics",
        "rel_when": "relapse_form",
        "rel_where___bm": "relapse_form",
        "rel_where___cns": "relapse_form",
        "rel_where___t_1": "relapse_form",
    }


def test_forms_left_out_are_blanked_and_reported(dictionary):
    sheet = project_sheet(EXPORT, dictionary, source="own.csv", status="unverified")
    rows = {cells[0]: cells for _, cells in sheet.rows}
    header = sheet.header
    # K-2's relapse form is Incomplete: blanked; K-3's demographics form is Incomplete: blanked (its relapse
    # form holds only unticked boxes, so it is no form); K-4 is Unverified: kept.
    assert [(p.patient_id, p.record_type, p.value) for p in sheet.problems] == [
        ("K-2", "relapse_form", "0"),
        ("K-3", "demographics", "0"),
    ]
    assert all(p.severity is Severity.WARNING and p.check == SKIPPED_FORM_CHECK for p in sheet.problems)
    assert sheet.problems[0].source == "own.csv record K-2 instrument relapse_form" and sheet.problems[0].row == 3
    assert rows["K-2"][header.index("rel_when")] == "" and rows["K-2"][header.index("rel_where___cns")] == ""
    assert rows["K-2"][header.index("dob")] == "2011-05-06"
    assert rows["K-3"][header.index("gender")] == "" and rows["K-3"][0] == "K-3"  # the record id stays
    assert rows["K-3"][header.index("redcap_data_access_group")] == "site_b"
    assert rows["K-4"][header.index("rel_where___t_1")] == "1"
    complete = project_sheet(EXPORT, dictionary, source="own.csv", status="complete")
    assert [(p.patient_id, p.record_type) for p in complete.problems] == [
        ("K-2", "relapse_form"),
        ("K-3", "demographics"),
        ("K-4", "demographics"),
        ("K-4", "relapse_form"),
    ]
    assert project_sheet(EXPORT, dictionary, source="own.csv", status="all").problems == []


def test_unreadable_status_and_wrong_export(dictionary):
    text = EXPORT.replace("K-4,site_b,2,2012-02-02,1,", "K-4,site_b,2,2012-02-02,x,")
    sheet = project_sheet(text, dictionary, source="own.csv", status="unverified")
    bad = [p for p in sheet.problems if p.severity is Severity.ERROR]
    assert (
        len(bad) == 1
        and bad[0].value == "x"
        and bad[0].source == ("own.csv record K-4 instrument demographics variable demographics_complete")
    )
    with pytest.raises(UserError, match="the project's record id field is 'study_no'"):
        project_sheet("record_id,x\n1,2\n", dictionary, source="own.csv", status="all")


OWN_DICTIONARY = """\
Variable / Field Name,Form Name,Section Header,Field Type,Field Label,"Choices, Calculations, OR Slider Labels"
study_no,demographics,,text,Study number,
gender,demographics,,radio,Gender,"1, M | 2, F"
dob,demographics,,text,Date of birth,
dx_date,demographics,,text,Diagnosis date,
last_seen,demographics,,text,Last seen,
vital,demographics,,yesno,Alive,
rel_when,relapse_form,,text,Relapse date,
rel_where,relapse_form,,checkbox,Sites,"BM, Marrow | CNS, CNS"
"""
OWN_EXPORT = """\
study_no,redcap_repeat_instrument,redcap_repeat_instance,redcap_data_access_group,gender,dob,dx_date,last_seen,\
vital,demographics_complete,rel_when,rel_where___bm,rel_where___cns,relapse_form_complete
K-1,,,site_a,1,2010-01-02,2015-03-01,2021-01-01,1,2,,0,0,
K-1,relapse_form,1,site_a,,,,,,,2018-04-04,1,0,2
K-1,relapse_form,2,site_a,,,,,,,2019-06-06,0,1,1
K-2,,,site_b,2,2011-05-06,2016-02-02,2020-12-12,1,2,,0,0,
K-2,relapse_form,1,site_b,,,,,,,2019-01-01,1,1,0
K-3,,,site_b,1,2012-12-12,2018-08-08,2019-09-09,1,0,,0,0,
"""
OWN_MAPPING = """\
[source]
sheets = ["records", "relapse_form"]
id_column = "study_no"

[[column]]
column = "redcap_data_access_group"
field = "patient.center_id"
values = { site_a = "CA", site_b = "CB" }

[[column]]
column = "gender"
field = "patient.sex"
values = { "1" = "male", "2" = "female" }

[[column]]
column = "dob"
field = "patient.birth_date"
date_format = "YYYY-MM-DD"

[[column]]
column = "dx_date"
field = "diagnosis.diagnosis_date"
date_format = "YYYY-MM-DD"

[[column]]
column = "last_seen"
field = "follow_up.last_contact_date"
date_format = "YYYY-MM-DD"

[[column]]
column = "vital"
field = "follow_up.vital_status"
values = { "1" = "alive", "0" = "dead" }

[[column]]
column = "rel_when"
sheet = "relapse_form"
field = "relapse.relapse_date"
date_format = "YYYY-MM-DD"

[[column]]
column = "rel_where___bm"
sheet = "relapse_form"
field = "relapse.site_bone_marrow"
values = { "1" = true, "0" = false }

[[column]]
column = "rel_where___cns"
sheet = "relapse_form"
field = "relapse.site_cns"
values = { "1" = true, "0" = false }
"""


def test_an_own_project_through_the_spreadsheet_mapping_format(tmp_path):
    from blinareg.exchange.redcap_project import read_redcap_project_file
    from blinareg.records.validation import validate

    for name, text in (("dictionary.csv", OWN_DICTIONARY), ("export.csv", OWN_EXPORT), ("mapping.toml", OWN_MAPPING)):
        (tmp_path / name).write_text(text, encoding="utf-8")
    result = read_redcap_project_file(
        tmp_path / "export.csv", tmp_path / "dictionary.csv", tmp_path / "mapping.toml", status="unverified"
    )
    # By hand: K-2's relapse 1 (Incomplete) and K-3's demographics (Incomplete) are left out, and with
    # its only non-repeating form gone the record K-3 is left out whole.
    skipped = [(p.patient_id, p.record_type) for p in result.problems if p.check == SKIPPED_FORM_CHECK]
    assert skipped == [("K-2", "relapse_form"), ("K-3", "demographics"), ("K-3", "patient")], [
        str(p) for p in result.problems
    ]
    assert [p for p in result.problems if p.severity is Severity.ERROR] == []
    registry = result.registry
    assert registry.patient_ids() == ["K-1", "K-2"]
    assert dict(zip(registry["patient"]["patient_id"], registry["patient"]["center_id"])) == {"K-1": "CA", "K-2": "CB"}
    relapses = registry["relapse"]
    assert relapses["patient_id"].tolist() == ["K-1", "K-1"] and relapses["relapse_number"].tolist() == [1, 2]
    assert relapses["site_bone_marrow"].tolist() == [True, False] and relapses["site_cns"].tolist() == [False, True]
    assert registry["center"]["center_id"].tolist() == ["CA", "CB"]
    assert [p for p in validate(registry) if p.severity is Severity.ERROR] == []
