"""REDCap interoperability: the generated data dictionary, and REDCap raw exports read back exactly."""

from __future__ import annotations

import csv
import io
import re

import pytest

from blinareg.exchange.redcap import (
    DICTIONARY_COLUMNS,
    INSTRUMENTS,
    MAX_NAME_LENGTH,
    PREFIXES,
    RAW_CODES,
    REPEATING_INSTRUMENTS,
    export_columns,
    read_redcap_export,
    redcap_data_dictionary,
    write_redcap_export,
)
from blinareg.records.models import RECORD_MODELS
from blinareg.synth import generate
from tests.exchange.factories import assert_same_registry, full_registry


def _dictionary() -> list[dict[str, str]]:
    reader = csv.DictReader(io.StringIO(redcap_data_dictionary()))
    assert tuple(reader.fieldnames) == DICTIONARY_COLUMNS
    return list(reader)


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def _write(path, rows: list[dict[str, str]], header: list[str]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header, restval="", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def test_dictionary_names_are_legal_unique_and_record_id_first():
    rows = _dictionary()
    names = [r["Variable / Field Name"] for r in rows]
    assert names[0] == "record_id" and rows[0]["Form Name"] == "patient"
    assert len(names) == len(set(names))
    for name in names:
        assert re.fullmatch(r"[a-z][a-z0-9_]*", name) and len(name) <= MAX_NAME_LENGTH, name
    # REDCap adds <form>_complete to every instrument: no variable may take such a name.
    assert not set(names) & {f"{form}_complete" for form in INSTRUMENTS}
    forms = list(dict.fromkeys(r["Form Name"] for r in rows))
    assert forms == [m.record_type for m in RECORD_MODELS if m.record_type != "center"]
    assert set(PREFIXES) == set(forms)
    for row in rows[1:]:
        assert row["Variable / Field Name"].startswith(PREFIXES[row["Form Name"]] + "_")
    assert set(REPEATING_INSTRUMENTS) == set(forms) - {"patient", "diagnosis", "follow_up", "death"}


def test_dictionary_field_types_choices_and_validation():
    rows = {r["Variable / Field Name"]: r for r in _dictionary()}
    assert rows["pat_sex"]["Field Type"] == "dropdown"
    assert rows["pat_sex"]["Choices, Calculations, OR Slider Labels"] == "1, Female | 2, Male | 3, Other | 4, Unknown"
    assert rows["mrd_assessment_date"]["Text Validation Type OR Show Slider Number"] == "date_ymd"
    # A date that may be partial (2017, 2017-07) cannot be a date_ymd field: text, format in the note.
    assert rows["rel_relapse_date"]["Text Validation Type OR Show Slider Number"] == ""
    assert rows["rel_relapse_date"]["Field Note"].startswith("YYYY-MM-DD; YYYY-MM or YYYY")
    assert rows["hsct_inotuzumab_before"]["Field Type"] == "yesno"
    assert rows["rel_relapse_date"]["Field Annotation"].startswith("blinareg: relapse.relapse_date")
    grade = rows["ae_grade"]
    assert (
        grade["Text Validation Type OR Show Slider Number"],
        grade["Text Validation Min"],
        grade["Text Validation Max"],
        grade["Required Field?"],
    ) == ("integer", "1", "5", "y")
    assert (rows["body_weight_kg"]["Text Validation Min"], rows["body_weight_kg"]["Text Validation Max"]) == ("", "300")
    assert rows["pat_center_id"]["Required Field?"] == ""  # may come from --center
    for row in rows.values():
        for choice in filter(None, row["Choices, Calculations, OR Slider Labels"].split(" | ")):
            code = r"[a-z_]+" if row["Field Type"] == "checkbox" else r"[0-9]+"
            assert re.fullmatch(code + r", \S.*", choice), choice


def test_raw_codes_are_pinned():
    # Codes stored in REDCap projects must never change meaning: append enum members, never insert.
    assert RAW_CODES["Sex"] == {"1": "female", "2": "male", "3": "other", "4": "unknown"}
    assert RAW_CODES["TreatmentIntent"]["1"] == "mrd_clearance" and RAW_CODES["TreatmentIntent"]["6"] == "frontline"
    assert RAW_CODES["AdverseEventCategory"]["1"] == "crs" and RAW_CODES["AdverseEventCategory"]["11"] == "other"
    assert RAW_CODES["RemissionStatus"] == {"1": "CR1", "2": "CR2", "3": "CR3+", "4": "not_in_CR"}


def test_round_trip_of_a_hand_built_registry(tmp_path):
    registry = full_registry()
    path = tmp_path / "export.csv"
    path.write_text(write_redcap_export(registry), encoding="utf-8")
    again, problems = read_redcap_export(path, centers=registry["center"])
    assert problems == []
    assert_same_registry(registry, again)
    assert write_redcap_export(again) == path.read_text(encoding="utf-8")


def test_round_trip_of_a_synthetic_cohort(tmp_path):
    registry = generate(200, seed=5)
    assert all(n > 0 for n in registry.counts().values())
    path = tmp_path / "export.csv"
    path.write_text(write_redcap_export(registry), encoding="utf-8")
    again, problems = read_redcap_export(path, centers=registry["center"])
    assert problems == []
    assert_same_registry(registry, again)


def test_export_layout_rows_and_raw_codes():
    rows = _rows(write_redcap_export(full_registry()))
    assert list(rows[0]) == export_columns()[: len(rows[0])]
    p1 = [r for r in rows if r["record_id"] == "P1"]
    assert p1[0]["redcap_repeat_instrument"] == "" and p1[0]["pat_sex"] in {"1", "2", "3", "4"}
    relapses = [r for r in p1 if r["redcap_repeat_instrument"] == "relapse"]
    assert [r["redcap_repeat_instance"] for r in relapses] == ["1", "2"]
    assert [r["rel_relapse_number"] for r in relapses] == ["1", "2"]
    assert relapses[1]["rel_site___testis"] == "1" and relapses[1]["rel_site___bone_marrow"] == "0"
    assert all(r["pat_sex"] == "" for r in relapses)


def test_center_from_option_and_centers_named_by_id(tmp_path):
    registry = full_registry()
    rows = _rows(write_redcap_export(registry))
    for row in rows:
        row["pat_center_id"] = ""
    path = tmp_path / "export.csv"
    _write(path, rows, export_columns())
    again, problems = read_redcap_export(path, center_id="C9")
    assert problems == []
    assert set(again["patient"]["center_id"]) == {"C9"}
    assert again["center"].to_dict("records") == [
        {"center_id": "C9", "name": "C9", "country": None, "synthetic": False}
    ]
    _, problems = read_redcap_export(path)
    assert problems and all(p.field == "center_id" and "no center" in p.reason for p in problems)


def test_center_option_disagreeing_with_pat_center_id(tmp_path):
    path = tmp_path / "export.csv"
    path.write_text(write_redcap_export(full_registry()), encoding="utf-8")
    _, problems = read_redcap_export(path, center_id="C9")
    assert problems and all("import is for center 'C9'" in p.reason for p in problems)


@pytest.fixture
def export(tmp_path):
    """Rows of a valid export of `full_registry`, and a function writing edited rows to export.csv."""
    rows = _rows(write_redcap_export(full_registry()))

    def write(edited, header=None):
        path = tmp_path / "export.csv"
        _write(path, edited, header or export_columns())
        return path

    return rows, write


def _relapse(rows, patient, instance):
    return next(
        r
        for r in rows
        if r["record_id"] == patient
        and r["redcap_repeat_instrument"] == "relapse"
        and r["redcap_repeat_instance"] == instance
    )


def test_unknown_variable_is_named(export):
    rows, write = export
    rows[0]["rel_relaps_date"] = "2020-01-01"
    path = write(rows, [*export_columns(), "rel_relaps_date"])
    registry, problems = read_redcap_export(path)
    assert len(problems) == 1
    assert problems[0].field == "rel_relaps_date" and "unknown REDCap variable 'rel_relaps_date'" in problems[0].reason
    assert "did you mean 'rel_relapse_date'" in problems[0].reason


def test_bad_raw_code_names_record_instrument_instance_variable_and_value(export):
    rows, write = export
    relapse = _relapse(rows, "P1", "2")
    relapse["rel_site___cns"] = "yes"
    ae = next(
        r for r in rows if r["redcap_repeat_instrument"] == "adverse_event" and r["redcap_repeat_instance"] == "2"
    )
    ae["ae_term"] = "12"
    registry, problems = read_redcap_export(write(rows))
    assert len(problems) == 2, [str(p) for p in problems]
    by_field = {p.field: p for p in problems}
    cns = by_field["site_cns"]
    assert (cns.patient_id, cns.key, cns.value, cns.record_type) == ("P1", "relapse_number=2", "yes", "relapse")
    assert cns.source == "export.csv record P1 instrument relapse instance 2 variable rel_site___cns"
    assert "expected 1 (yes) or 0 (no)" in cns.reason
    term = by_field["term"]
    assert term.value == "12" and "unknown raw code '12'" in term.reason and "11 (other)" in term.reason
    assert "instrument adverse_event instance 2 variable ae_term" in term.source
    text = str(cns)
    for needle in ("P1", "relapse", "instance 2", "rel_site___cns", "'yes'"):
        assert needle in text, text
    assert registry["relapse"].empty and registry["adverse_event"].empty


def test_bad_date_and_model_errors_go_through_parse_rows(export):
    rows, write = export
    _relapse(rows, "P1", "1")["rel_relapse_date"] = "02/05/2019"
    _relapse(rows, "P1", "2")["rel_relapse_number"] = "0"
    registry, problems = read_redcap_export(write(rows))
    assert len(problems) == 2, [str(p) for p in problems]
    date, number = problems
    assert date.field == "relapse_date" and date.value == "02/05/2019" and "YYYY-MM-DD" in date.reason
    assert date.source == "export.csv record P1 instrument relapse instance 1 variable rel_relapse_date"
    assert number.field == "relapse_number" and number.value == "0"
    assert number.source == "export.csv record P1 instrument relapse instance 2 variable rel_relapse_number"
    assert "greater than or equal to 1" in number.reason and number.row == date.row + 1


def test_non_repeating_instrument_problem_names_the_instrument(export):
    rows, write = export
    base = next(r for r in rows if r["record_id"] == "P1" and not r["redcap_repeat_instrument"])
    base["dx_immunophenotype"] = "7"
    _, problems = read_redcap_export(write(rows))
    assert len(problems) == 1
    assert problems[0].source == "export.csv record P1 instrument diagnosis variable dx_immunophenotype"


def test_rows_that_do_not_fit_the_project(export):
    rows, write = export
    rows.append({"record_id": "P1", "redcap_repeat_instrument": "relapses", "redcap_repeat_instance": "1"})
    rows.append({"record_id": "P1", "redcap_repeat_instrument": "diagnosis", "redcap_repeat_instance": "1"})
    rows.append({**_relapse(rows, "P1", "1")})
    rows.append({"record_id": "P1", "redcap_repeat_instrument": "hsct", "redcap_repeat_instance": "x"})
    base = next(r for r in rows if r["record_id"] == "P2" and not r["redcap_repeat_instrument"])
    base["rel_relapse_number"] = "3"
    _, problems = read_redcap_export(write(rows))
    reasons = [p.reason for p in problems]
    assert len(problems) == 5, reasons
    assert any("unknown instrument 'relapses'" in r for r in reasons)
    assert any("'diagnosis' is not a repeating instrument" in r for r in reasons)
    assert any("the same record, instrument and instance as line" in r for r in reasons)
    assert any("expected an instance number" in r for r in reasons)
    assert any("rel_relapse_number belongs to the repeating instrument relapse" in r for r in reasons)
