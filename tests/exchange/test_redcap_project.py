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
        "study_no": "demographics", "gender": "demographics", "dob": "demographics", "rel_when": "relapse_form",
        "rel_where___bm": "relapse_form", "rel_where___cns": "relapse_form", "rel_where___t_1": "relapse_form"}


def test_forms_left_out_are_blanked_and_reported(dictionary):
    sheet = project_sheet(EXPORT, dictionary, source="own.csv", status="unverified")
    rows = {cells[0]: cells for _, cells in sheet.rows}
    header = sheet.header
    # K-2's relapse form is Incomplete: blanked; K-3's demographics form is Incomplete: blanked (its relapse
    # form holds only unticked boxes, so it is no form); K-4 is Unverified: kept.
    assert [(p.patient_id, p.record_type, p.value) for p in sheet.problems] == [
        ("K-2", "relapse_form", "0"), ("K-3", "demographics", "0")]
    assert all(p.severity is Severity.WARNING and p.check == SKIPPED_FORM_CHECK for p in sheet.problems)
    assert sheet.problems[0].source == "own.csv record K-2 instrument relapse_form" and sheet.problems[0].row == 3
    assert rows["K-2"][header.index("rel_when")] == "" and rows["K-2"][header.index("rel_where___cns")] == ""
    assert rows["K-2"][header.index("dob")] == "2011-05-06"
    assert rows["K-3"][header.index("gender")] == "" and rows["K-3"][0] == "K-3"  # the record id stays
    assert rows["K-3"][header.index("redcap_data_access_group")] == "site_b"
    assert rows["K-4"][header.index("rel_where___t_1")] == "1"
    complete = project_sheet(EXPORT, dictionary, source="own.csv", status="complete")
    assert [(p.patient_id, p.record_type) for p in complete.problems] == [
        ("K-2", "relapse_form"), ("K-3", "demographics"), ("K-4", "demographics"), ("K-4", "relapse_form")]
    assert project_sheet(EXPORT, dictionary, source="own.csv", status="all").problems == []


def test_unreadable_status_and_wrong_export(dictionary):
    text = EXPORT.replace("K-4,site_b,2,2012-02-02,1,", "K-4,site_b,2,2012-02-02,x,")
    sheet = project_sheet(text, dictionary, source="own.csv", status="unverified")
    bad = [p for p in sheet.problems if p.severity is Severity.ERROR]
    assert len(bad) == 1 and bad[0].value == "x" and bad[0].source == (
        "own.csv record K-4 instrument demographics variable demographics_complete")
    with pytest.raises(UserError, match="the project's record id field is 'study_no'"):
        project_sheet("record_id,x\n1,2\n", dictionary, source="own.csv", status="all")
