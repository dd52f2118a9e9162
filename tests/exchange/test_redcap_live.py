"""A live REDCap project's export: form status, data access groups, checkbox fields, the dictionary's
branching logic and flags, and round trips through REDCap's import format.

tests/data/redcap_export_dags.csv is a hand-made raw export (6 records, 2 data access groups):
- P01 (uni_hospital_a): every form Complete; relapse 1 bone marrow + CNS, relapse 2 testis only.
- P02 (uni_hospital_a): diagnosis Unverified; relapse 1 started but Incomplete (no site ticked yet),
  relapse 2 Complete.
- P03 (childrens_b): patient form Incomplete.
- P04 (childrens_b): patient and diagnosis Complete, follow-up never entered.
- P05 (childrens_b): cycle 1 Complete, cycle 2 Incomplete with a Complete dose segment and a Complete
  ICANS event in cycle 2; died (infection).
- P06 (childrens_b): relapse 1 (CNS only, marrow blasts 2%) Unverified; genetic finding 'other'.
tests/data/redcap_dag_map.toml maps uni_hospital_a -> CA and childrens_b -> CB.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest

from blinareg.exchange.redcap import (
    DATA_ACCESS_GROUP,
    SKIPPED_FORM_CHECK,
    export_columns,
    load_dag_map,
    read_redcap_export,
    redcap_data_dictionary,
    write_redcap_export,
)
from blinareg.errors import UserError
from blinareg.records.problems import Severity
from blinareg.records.validation import validate
from blinareg.synth import generate
from tests.exchange.factories import assert_same_registry, full_registry

DATA = Path(__file__).resolve().parents[1] / "data"
EXPORT = DATA / "redcap_export_dags.csv"
DAG_MAP = DATA / "redcap_dag_map.toml"


def _read(status="unverified", dag_map=True, path=EXPORT, **options):
    return read_redcap_export(path, status=status, dag_map=load_dag_map(DAG_MAP) if dag_map else None, **options)


def _skips(problems):
    return [p for p in problems if p.check == SKIPPED_FORM_CHECK]


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def _write(path, rows, header):
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header, restval="", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_default_import_takes_complete_and_unverified_forms_and_reports_each_skip():
    registry, problems = _read()
    skips = _skips(problems)
    # By hand: P02 relapse 1 (Incomplete) and relapse 2 (numbering), P03 whole (patient Incomplete),
    # P04 whole (no follow-up), P05 cycle 2 (Incomplete) and its dose segment and ICANS event = 7.
    assert len(skips) == 7 and problems == skips, [str(p) for p in problems]
    assert all(p.severity is Severity.WARNING for p in skips)
    assert [(p.patient_id, p.record_type, p.key, p.value) for p in skips] == [
        ("P02", "relapse", "relapse_number=1", "0"),
        ("P02", "relapse", "relapse_number=2", "2"),
        ("P03", "patient", None, "0"),
        ("P04", "patient", None, None),
        ("P05", "blinatumomab_cycle", "cycle_number=2", "0"),
        ("P05", "dose_segment", "cycle_number=2, kind=delivered, start_date=2019-11-25", "2"),
        ("P05", "adverse_event", "event_number=1", "2"),
    ]
    first = skips[0]
    assert first.source == "redcap_export_dags.csv record P02 instrument relapse instance 1" and first.row == 13
    assert "the form is Incomplete (relapse_complete = 0)" in first.reason
    assert "its follow_up form has not been entered" in skips[3].reason
    assert registry.patient_ids() == ["P01", "P02", "P05", "P06"]
    # P02 is imported as far as it is complete: patient, the Unverified diagnosis, follow-up; no relapse.
    assert set(registry["relapse"]["patient_id"]) == {"P01", "P06"}
    assert registry["diagnosis"].set_index("patient_id").loc["P02", "diagnosis_date"].isoformat()[:10] == "2016-01-20"
    # P05 keeps cycle 1 and its dose segment only.
    p05 = registry["blinatumomab_cycle"][registry["blinatumomab_cycle"]["patient_id"] == "P05"]
    assert p05["cycle_number"].tolist() == [1]
    assert registry["dose_segment"]["patient_id"].tolist().count("P05") == 1
    assert registry["adverse_event"]["patient_id"].tolist() == ["P01"]
    assert [p for p in validate(registry) if p.severity is Severity.ERROR] == []


def test_centers_come_from_the_data_access_groups():
    registry, _ = _read()
    centers = dict(zip(registry["patient"]["patient_id"], registry["patient"]["center_id"]))
    assert centers == {"P01": "CA", "P02": "CA", "P05": "CB", "P06": "CB"}
    assert registry["center"]["center_id"].tolist() == ["CA", "CB"]
    # Without a map the DAG unique name is the center id.
    registry, problems = _read(dag_map=False)
    assert len(_skips(problems)) == 7
    assert sorted(set(registry["patient"]["center_id"])) == ["childrens_b", "uni_hospital_a"]


def test_relapse_sites_are_read_from_the_checkbox_columns():
    registry, _ = _read()
    relapses = registry["relapse"].set_index(["patient_id", "relapse_number"])
    sites = ["site_bone_marrow", "site_cns", "site_testis", "site_other_extramedullary"]
    assert relapses.loc[("P01", 1), sites].tolist() == [True, True, False, False]
    assert relapses.loc[("P01", 2), sites].tolist() == [False, False, True, False]
    assert relapses.loc[("P06", 1), sites].tolist() == [False, True, False, False]
    assert relapses.loc[("P06", 1), "marrow_blasts_pct"] == 2.0


def test_complete_level_leaves_out_unverified_forms():
    registry, problems = _read(status="complete")
    skips = _skips(problems)
    # By hand: P02 whole (diagnosis Unverified), P03, P04, P05 x3 as before, P06 relapse 1 (Unverified) = 7.
    assert len(skips) == 7 and problems == skips
    assert ("P02", "diagnosis", "1") == (skips[0].patient_id, skips[0].record_type, skips[0].value)
    assert "record P02 is not imported" in skips[0].reason and "3 other form(s)" in skips[0].reason
    assert skips[-1].patient_id == "P06" and "the form is Unverified" in skips[-1].reason
    assert registry.patient_ids() == ["P01", "P05", "P06"]
    assert registry["relapse"]["patient_id"].tolist() == ["P01", "P01"]


def test_all_level_reads_incomplete_forms_and_their_errors():
    registry, problems = _read(status="all")
    errors = [p for p in problems if p.severity is Severity.ERROR]
    assert len(errors) == 1
    assert (errors[0].patient_id, errors[0].record_type, errors[0].key) == ("P02", "relapse", "relapse_number=1")
    assert "at least one site" in errors[0].reason
    assert errors[0].source == "redcap_export_dags.csv record P02 instrument relapse instance 1"
    assert [p.patient_id for p in _skips(problems)] == ["P04"]  # a form never entered stays out
    assert registry.patient_ids() == ["P01", "P02", "P03", "P05", "P06"]


def test_export_without_status_columns(tmp_path):
    rows = _rows(EXPORT.read_text(encoding="utf-8"))
    header = [c for c in rows[0] if not c.endswith("_complete")]
    path = _write(tmp_path / "export.csv", [{k: r[k] for k in header} for r in rows], header)
    registry, problems = read_redcap_export(path, dag_map=load_dag_map(DAG_MAP))
    assert registry.patient_ids() == [] and all(p.check == SKIPPED_FORM_CHECK for p in problems)
    assert "has no patient_complete column" in problems[0].reason
    registry, problems = read_redcap_export(path, status="all", dag_map=load_dag_map(DAG_MAP))
    assert len(registry.patient_ids()) == 5


def test_bad_status_and_level(tmp_path):
    rows = _rows(EXPORT.read_text(encoding="utf-8"))
    rows[0]["patient_complete"] = "3"
    path = _write(tmp_path / "export.csv", rows, list(rows[0]))
    _, problems = read_redcap_export(path, dag_map=load_dag_map(DAG_MAP))
    bad = [p for p in problems if p.severity is Severity.ERROR]
    assert len(bad) == 1 and bad[0].field == "patient_complete" and bad[0].value == "3"
    assert bad[0].source == "export.csv record P01 instrument patient variable patient_complete"
    with pytest.raises(UserError, match="unknown form status level 'verified'"):
        read_redcap_export(path, status="verified")


def test_dag_problems_name_record_and_group(tmp_path):
    rows = _rows(EXPORT.read_text(encoding="utf-8"))
    p01 = [r for r in rows if r["record_id"] == "P01"]
    p01[0]["pat_center_id"] = "CB"  # disagrees with its DAG (CA)
    p06 = [r for r in rows if r["record_id"] == "P06"]
    for row in p06:
        row[DATA_ACCESS_GROUP] = "clinic_c"  # not in the map
    p05 = [r for r in rows if r["record_id"] == "P05"]
    p05[-1][DATA_ACCESS_GROUP] = "uni_hospital_a"  # one record in two groups
    path = _write(tmp_path / "export.csv", rows, list(rows[0]))
    _, problems = read_redcap_export(path, dag_map=load_dag_map(DAG_MAP))
    errors = {p.patient_id: p for p in problems if p.severity is Severity.ERROR}
    assert set(errors) == {"P01", "P05", "P06"}, [str(p) for p in problems]
    assert "pat_center_id is 'CB' but data access group 'uni_hospital_a' is center 'CA'" in errors["P01"].reason
    assert errors["P06"].value == "clinic_c" and "not in the DAG map" in errors["P06"].reason
    assert errors["P05"].field == DATA_ACCESS_GROUP and "data access group 'childrens_b'" in errors["P05"].reason
    _, problems = read_redcap_export(EXPORT, dag_map=load_dag_map(DAG_MAP), center_id="CB")
    wrong = [p for p in problems if p.severity is Severity.ERROR]
    assert {p.patient_id for p in wrong} == {"P01", "P02"}
    assert "the import is for center 'CB' (--center)" in wrong[0].reason


def test_dag_map_files(tmp_path):
    assert load_dag_map(DAG_MAP) == {"uni_hospital_a": "CA", "childrens_b": "CB"}
    csv_map = tmp_path / "dags.csv"
    csv_map.write_text("redcap_data_access_group,center_id\nuni_hospital_a,CA\nchildrens_b,CB\n", encoding="utf-8")
    assert load_dag_map(csv_map) == load_dag_map(DAG_MAP)
    csv_map.write_text("redcap_data_access_group,center_id\nuni_hospital_a,CA\nuni_hospital_a,CB\n", encoding="utf-8")
    with pytest.raises(UserError, match="row 3: data access group 'uni_hospital_a' is mapped twice"):
        load_dag_map(csv_map)
    bad = tmp_path / "dags.toml"
    bad.write_text("[data_access_groups]\nuni_hospital_a = 3\n", encoding="utf-8")
    with pytest.raises(UserError, match="expected a center id in quotes"):
        load_dag_map(bad)


def test_unticked_boxes_on_other_rows_are_no_values_but_a_ticked_one_is(tmp_path):
    rows = _rows(write_redcap_export(full_registry()))
    for row in rows:
        for code in ("bone_marrow", "cns", "testis", "other_em"):
            row[f"rel_site___{code}"] = row[f"rel_site___{code}"] or "0"
    path = _write(tmp_path / "export.csv", rows, export_columns())
    registry, problems = read_redcap_export(path, centers=full_registry()["center"])
    assert problems == []
    assert_same_registry(full_registry(), registry)
    rows[0]["rel_site___cns"] = "1"  # the base row: not a relapse
    _write(path, rows, export_columns())
    _, problems = read_redcap_export(path)
    assert len(problems) == 1 and "rel_site___cns belongs to the repeating instrument relapse" in problems[0].reason


def test_round_trip_of_the_hand_made_export_with_data_access_groups(tmp_path):
    first, _ = _read()
    groups = {"CA": "uni_hospital_a", "CB": "childrens_b"}
    text = write_redcap_export(first, data_access_groups=groups)
    rows = _rows(text)
    assert {r[DATA_ACCESS_GROUP] for r in rows if r["record_id"] == "P05"} == {"childrens_b"}
    path = tmp_path / "again.csv"
    path.write_text(text, encoding="utf-8")
    again, problems = read_redcap_export(path, dag_map=load_dag_map(DAG_MAP), centers=first["center"])
    assert problems == []
    assert_same_registry(first, again)
    assert write_redcap_export(again, data_access_groups=groups) == text
    with pytest.raises(UserError, match="center 'CB' has no data access group"):
        write_redcap_export(first, data_access_groups={"CA": "uni_hospital_a"})


def test_round_trip_of_a_synthetic_cohort_through_the_import_format(tmp_path):
    registry = generate(120, seed=11)
    path = tmp_path / "export.csv"
    path.write_text(write_redcap_export(registry), encoding="utf-8")
    first, problems = read_redcap_export(path, centers=registry["center"], status="complete")
    assert problems == []
    path.write_text(write_redcap_export(first), encoding="utf-8")
    again, problems = read_redcap_export(path, centers=registry["center"])
    assert problems == []
    assert_same_registry(registry, again)


def _dictionary() -> dict[str, dict[str, str]]:
    return {r["Variable / Field Name"]: r for r in csv.DictReader(io.StringIO(redcap_data_dictionary()))}


def test_dictionary_branching_logic():
    rows = _dictionary()
    logic = {name: row["Branching Logic (Show field only if...)"] for name, row in rows.items()}
    assert logic["gen_detail"] == "[gen_lesion] <> ''"
    assert logic["mrd_fraction"] == "[mrd_detected] = '1'" and logic["mrd_sensitivity"] == ""
    # crs is raw code 1 and icans raw code 2 of AdverseEventCategory (pinned in test_redcap.py).
    for name in ("ae_temperature_c", "ae_vasopressors", "ae_vasopressin", "ae_hypotension", "ae_oxygen"):
        assert logic[name] == "[ae_term] = '1'", name
    for name in ("ae_ice_score", "ae_capd_score", "ae_consciousness", "ae_seizure", "ae_motor", "ae_cerebral_edema"):
        assert logic[name] == "[ae_term] = '2'", name
    assert logic["ae_grade"] == "" and logic["rel_relapse_date"] == ""
    # Every variable a branching condition names exists, and the condition's code is one of its choices.
    for name, condition in logic.items():
        for variable, code in re.findall(r"\[([a-z0-9_]+)\] (?:=|<>) '([^']*)'", condition):
            assert variable in rows, (name, variable)
            choices = rows[variable]["Choices, Calculations, OR Slider Labels"]
            codes = (
                {"0", "1"}
                if rows[variable]["Field Type"] == "yesno"
                else {c.split(",")[0].strip() for c in choices.split("|")}
            )
            assert code == "" or code in codes, (name, variable, code)


def test_dictionary_checkbox_identifier_labels_and_annotation():
    rows = _dictionary()
    site = rows["rel_site"]
    assert site["Field Type"] == "checkbox" and site["Required Field?"] == "y"
    assert site["Choices, Calculations, OR Slider Labels"] == (
        "bone_marrow, Bone marrow (>= 5% blasts) | cns, CNS | testis, Testis | other_em, Other extramedullary"
    )
    assert site["Field Annotation"].startswith(
        "blinareg: relapse.site_bone_marrow, relapse.site_cns, relapse.site_testis, relapse.site_other_extramedullary"
    )
    assert not any(name.startswith("rel_site_") for name in rows)
    assert rows["pat_birth_date"]["Identifier?"] == "y"
    assert [name for name, row in rows.items() if row["Identifier?"]] == ["pat_birth_date"]
    assert rows["resp_category"]["Choices, Calculations, OR Slider Labels"].startswith("1, CR | 2, CRh | 3, CRi")
    assert "2, Haploidentical" not in rows["hsct_donor_type"]["Choices, Calculations, OR Slider Labels"]
    assert "4, Haploidentical" in rows["hsct_donor_type"]["Choices, Calculations, OR Slider Labels"]
    from blinareg.exchange.redcap import PARTIAL_DATE_NOTE

    for name, row in rows.items():
        # What data-entry staff read carries no registry plumbing: only how to write a partial date.
        assert row["Field Note"] in ("", PARTIAL_DATE_NOTE), name
        assert "blinareg" not in row["Field Note"], name
        assert row["Field Annotation"].startswith("blinareg: "), name
    header = export_columns()
    assert "rel_site___bone_marrow" in header and "rel_site" not in header


def test_missing_data_codes_follow_the_record_models():
    import importlib

    from blinareg.exchange.redcap import MISSING_CODES, accepts_missing_code, missing_data_codes_setting

    assert missing_data_codes_setting() == (
        "unknown, Unknown | not_done, Not done | not_applicable, Not applicable"
        " | positive_not_quantifiable, Positive, not quantifiable"
    )
    assert MISSING_CODES == {"unknown", "not_done", "not_applicable", "positive_not_quantifiable"}
    rows = _dictionary()
    try:
        missing = importlib.import_module("blinareg.records.missing")
    except ImportError:  # the models take no missing-data code: REDCap offers none anywhere
        assert all(row["Field Annotation"].endswith("@NOMISSING") for row in rows.values())
        return
    assert rows["ae_onset_date"]["Field Annotation"] == "blinareg: adverse_event.onset_date"  # takes codes
    assert rows["pat_sex"]["Field Annotation"].endswith("@NOMISSING")
    for name, row in rows.items():
        fields = [f.strip() for f in row["Field Annotation"].removeprefix("blinareg: ").split("@")[0].split(",")]
        accepted = all(accepts_missing_code(*f.split(".")) for f in fields)
        assert row["Field Annotation"].endswith("@NOMISSING") != accepted, name


def test_crlf_bom_and_semicolons(tmp_path):
    text = EXPORT.read_text(encoding="utf-8")
    windows = tmp_path / "windows.csv"
    windows.write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode("utf-8"))
    first, _ = _read()
    again, problems = _read(path=windows)
    assert len(_skips(problems)) == 7
    assert_same_registry(first, again)
    semicolons = tmp_path / "semicolons.csv"
    semicolons.write_text(text.replace(",", ";"), encoding="utf-8")
    with pytest.raises(UserError, match="separated by ';'"):
        _read(path=semicolons)


def test_missing_data_codes_and_partial_dates_round_trip(tmp_path):
    # By hand: P01's relapse 2 date known to the month only, its AE onset unknown, its MRD
    # sensitivity not done; the export shows the cell text, the import stores the same registry.
    first, _ = _read()
    rows = _rows(write_redcap_export(first))
    relapse = next(
        r
        for r in rows
        if r["record_id"] == "P01" and r["redcap_repeat_instrument"] == "relapse" and r["rel_relapse_number"] == "2"
    )
    relapse["rel_relapse_date"] = "2019-02"
    ae = next(r for r in rows if r["record_id"] == "P01" and r["redcap_repeat_instrument"] == "adverse_event")
    ae["ae_temperature_c"] = "not_done"
    path = _write(tmp_path / "codes.csv", rows, export_columns())
    registry, problems = read_redcap_export(path, centers=first["center"])
    assert problems == [], [str(p) for p in problems]
    relapses = registry["relapse"].set_index(["patient_id", "relapse_number"])
    assert relapses.loc[("P01", 2), "relapse_date_precision"] == "month"
    events = registry["adverse_event"].set_index("patient_id")
    assert events.loc["P01", "temperature_c_missing"] == "not_done"
    text = write_redcap_export(registry)
    again = _rows(text)
    assert (
        next(
            r
            for r in again
            if r["record_id"] == "P01" and r["redcap_repeat_instrument"] == "relapse" and r["rel_relapse_number"] == "2"
        )["rel_relapse_date"]
        == "2019-02"
    )
    path.write_text(text, encoding="utf-8")
    third, problems = read_redcap_export(path, centers=first["center"])
    assert problems == []
    assert_same_registry(registry, third)
    # A code the field does not take is an error naming record, variable and value.
    ae["ae_grade"] = "unknown"
    _write(path, rows, export_columns())
    _, problems = read_redcap_export(path, centers=first["center"])
    assert len(problems) == 1 and problems[0].field == "grade" and problems[0].value == "unknown"
    assert problems[0].source.endswith("instrument adverse_event instance 1 variable ae_grade")
