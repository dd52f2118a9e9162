"""Record forms generated from the models: specifications, reading submitted forms, rendering."""

from __future__ import annotations

import datetime as dt
import re

import jinja2
import pytest

from blinareg.records.models import RECORD_MODELS, RECORD_TYPES
from blinareg.records.problems import Problem, Severity
from blinareg.records.registry import columns
from blinareg.records.vocabulary import DatePrecision, MissingCode
from blinareg.synth import generate
from blinareg.web.forms import (
    FORM_RECORD_TYPES,
    field_label,
    form_spec,
    initial_values,
    problems_by_field,
    read_form,
    stored_values,
)


def test_every_patient_record_type_has_a_form_with_every_file_column():
    assert len(RECORD_MODELS) == 16
    assert set(FORM_RECORD_TYPES) == {m.record_type for m in RECORD_MODELS} - {"center"}
    for model in RECORD_MODELS:
        spec = form_spec(model.record_type)
        assert spec.names == tuple(c.name for c in columns(model))
        assert spec.fields[0].name == model.key[0] and spec.fields[0].key
        assert all(f.label and f.help for f in spec.fields), model.record_type


def test_field_descriptions_units_choices_codes_and_partial_dates_come_from_the_model():
    weight = form_spec("body_measurement").field("weight_kg")
    assert (weight.label, weight.unit, weight.required, weight.range_text) == ("Weight", "kg", True, "0 to 300")
    assert weight.help == RECORD_TYPES["body_measurement"].model_fields["weight_kg"].description
    blasts = form_spec("relapse").field("marrow_blasts_pct")
    assert (blasts.label, blasts.unit, [c.value for c in blasts.codes]) == (
        "Marrow blasts",
        "%",
        ["unknown", "not_done"],
    )
    donor = form_spec("hsct").field("donor_type")
    assert ("msd", "Matched sibling") in [(c.value, c.label) for c in donor.choices]
    assert donor.required and [c.value for c in donor.codes] == ["unknown"]
    fraction = form_spec("mrd_assessment").field("fraction")
    assert [c.label for c in fraction.codes] == ["Unknown", "Positive, not quantifiable"]
    assert form_spec("relapse").field("relapse_date").partial_date
    assert form_spec("relapse").field("relapse_date").placeholder == "YYYY-MM-DD, YYYY-MM or YYYY"
    assert not form_spec("blinatumomab_cycle").field("start_date").partial_date
    detected = form_spec("mrd_assessment").field("detected")
    assert [(c.value, c.label) for c in detected.choices] == [("true", "Yes"), ("false", "No")]
    assert form_spec("mrd_assessment").key == ("patient_id", "assessment_date", "method", "sample")
    assert field_label("wbc_per_nl") == "WBC" and field_label("ice_score") == "ICE score"
    assert form_spec("adverse_event").field("temperature_c").unit == "°C"


RELAPSE = {
    "patient_id": "P1",
    "relapse_number": "1",
    "relapse_date": "2021-03-04",
    "site_bone_marrow": "true",
    "marrow_blasts_pct": "42.5",
}


def test_a_valid_form_reads_into_the_record():
    result = read_form("relapse", RELAPSE)
    assert result.ok and not result.errors
    record = result.record
    assert record.relapse_date == dt.date(2021, 3, 4) and record.marrow_blasts_pct == 42.5
    assert record.site_bone_marrow is True and record.site_cns is False


def test_an_impossible_date_is_an_error_on_its_field_and_keeps_what_was_typed():
    result = read_form("relapse", {**RELAPSE, "relapse_date": "2021-02-30"})
    assert result.record is None
    assert list(result.errors) == ["relapse_date"]
    assert "day value is outside expected range" in result.errors["relapse_date"][0]
    assert result.values["relapse_date"] == "2021-02-30" and result.values["marrow_blasts_pct"] == "42.5"


def test_dates_are_as_strict_as_the_csv_importer():
    result = read_form("relapse", {**RELAPSE, "relapse_date": "1577836800"})
    assert result.errors["relapse_date"] == [
        "expected a date as YYYY-MM-DD (or YYYY-MM, YYYY where a partial date is allowed)"
    ]


def test_every_field_problem_at_once_with_the_unit_hint():
    result = read_form(
        "body_measurement",
        {"patient_id": "P1", "measurement_date": "2020-01-01", "weight_kg": "30000", "height_cm": "1.3"},
    )
    assert set(result.errors) == {"weight_kg", "height_cm"}
    assert "30000 looks like grams: 30 kg?" in result.errors["weight_kg"][0]
    assert "1.3 looks like metres: 130 cm?" in result.errors["height_cm"][0]


def test_a_missing_required_value_and_a_mistyped_choice():
    result = read_form(
        "hsct", {"patient_id": "P1", "hsct_number": "1", "hsct_date": "2020-05-01", "donor_type": "haplo"}
    )
    assert "did you mean 'haploidentical'?" in result.errors["donor_type"][0]
    # Once the field values read, the record's own checks: a required value or its missing-data code.
    fixed = read_form("hsct", {**result.values, "donor_type": "haploidentical", "remission_status": "CR2"})
    assert fixed.errors == {
        "conditioning": ["conditioning is required: give a value, or a missing-data code (unknown)"]
    }
    coded = read_form("hsct", {**fixed.values, "conditioning_missing": "unknown"})
    assert coded.ok and coded.record.conditioning is None


def test_a_record_level_check_lands_on_the_field_it_names():
    result = read_form(
        "interruption",
        {
            "patient_id": "P1",
            "cycle_number": "1",
            "start_date": "2021-02-05",
            "end_date": "2021-02-01",
            "reason": "crs",
        },
    )
    assert result.errors == {"end_date": ["end_date 2021-02-01 is before start_date 2021-02-05"]}


def test_partial_dates_and_missing_data_codes():
    result = read_form(
        "relapse",
        {**RELAPSE, "relapse_date": "2017-07", "marrow_blasts_pct": "", "marrow_blasts_pct_missing": "not_done"},
    )
    record = result.record
    assert record is not None
    assert (record.relapse_date, record.relapse_date_precision) == (dt.date(2017, 7, 1), DatePrecision.MONTH)
    assert record.marrow_blasts_pct is None and record.marrow_blasts_pct_missing is MissingCode.NOT_DONE
    values, codes = stored_values(record)
    assert values["relapse_date"] == "2017-07" and codes == {"marrow_blasts_pct": "not_done"}


def test_a_code_and_a_value_together_or_a_code_the_field_refuses():
    both = read_form("relapse", {**RELAPSE, "marrow_blasts_pct_missing": "unknown"})
    assert both.errors == {
        "marrow_blasts_pct": ["give either a value (42.5) or a missing-data code (Unknown), not both"]
    }
    refused = read_form("relapse", {**RELAPSE, "marrow_blasts_pct": "", "marrow_blasts_pct_missing": "not_applicable"})
    assert refused.errors == {"marrow_blasts_pct": ["'not_applicable' is not a missing-data code this field accepts"]}
    # A partial date where only a full date is accepted: the importer's message.
    cycle = read_form(
        "blinatumomab_cycle",
        {
            "patient_id": "P1",
            "cycle_number": "1",
            "phase": "induction",
            "indication": "rr",
            "start_date": "2021-01",
            "end_date": "2021-01-28",
        },
    )
    assert cycle.errors["start_date"] == [
        "a partial date (2021-01) is not accepted for start_date: give the full date as YYYY-MM-DD"
    ]


def test_fixed_values_replace_what_was_submitted():
    result = read_form("relapse", {**RELAPSE, "patient_id": "OTHER"}, fixed={"patient_id": "P1"})
    assert result.record.patient_id == "P1"


def test_every_synthetic_record_reads_back_from_its_own_form():
    registry = generate(6, seed=3)
    for record_type in FORM_RECORD_TYPES:
        for record in registry.records(record_type):
            values, codes = stored_values(record)
            submitted = {**values, **{name + "_missing": code for name, code in codes.items()}}
            result = read_form(record_type, submitted)
            assert result.ok, (record_type, result.errors, result.form_errors)
            assert result.record == record


def test_problems_of_this_record_go_to_fields_the_others_to_the_page():
    here = Problem("relapse", "relapse_date", "2019-01-01", "before diagnosis", patient_id="P1", key="relapse_number=1")
    other_record = Problem("relapse", "relapse_date", "2019-01-01", "x", patient_id="P1", key="relapse_number=2")
    other_type = Problem("diagnosis", "diagnosis_date", "2020-01-01", "y", patient_id="P1")
    warning = Problem("relapse", "marrow_blasts_pct", 3, "few blasts", patient_id="P1", severity=Severity.WARNING)
    on_fields, others = problems_by_field(
        "relapse", [here, other_record, other_type, warning], key={"patient_id": "P1", "relapse_number": 1}
    )
    assert on_fields == {"relapse_date": ["before diagnosis"], "marrow_blasts_pct": ["warning: few blasts"]}
    assert others == [other_record, other_type]


def _render(record_type, values, codes, errors, **options):
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("blinareg.web", "templates"), autoescape=True, undefined=jinja2.StrictUndefined
    )
    template = environment.from_string(
        '{% from "_form.html" import record_fields %}{{ record_fields(spec, values, codes, errors, **options) }}'
    )
    return template.render(spec=form_spec(record_type), values=values, codes=codes, errors=errors, options=options)


def test_the_form_renders_labels_units_selects_codes_and_inline_errors():
    result = read_form("relapse", {**RELAPSE, "relapse_date": "2021-02-30", "site_cns": "true"})
    html = _render("relapse", result.values, result.codes, result.errors, locked=("patient_id",))
    assert '<label for="f-marrow_blasts_pct">Marrow blasts</label>' in html
    assert '<span class="unit">%</span>' in html
    assert re.search(r'<select name="marrow_blasts_pct_missing" class="code"[^>]*>', html)
    assert '<option value="not_done">Not done</option>' in html
    assert '<option value="positive">Positive</option>' in html  # cd19_status, a readable label
    assert '<option value="true" selected>Yes</option>' in html  # site_cns as submitted
    # The error sits right after its field's help, is announced, and the field takes the focus.
    block = html[html.index('<div class="field invalid">') :]
    assert 'id="f-relapse_date"' in block[:600] and 'aria-invalid="true"' in block[:800]
    assert "day value is outside expected range" in block[: block.index("</ul>")]
    assert html.count("autofocus") == 1 and re.search(r'id="f-relapse_date"[^>]*autofocus', html, re.S)
    assert 'value="2021-02-30"' in html  # what was typed stays
    assert 'name="patient_id" value="P1" readonly' in html


def test_a_new_form_opens_with_the_model_defaults_and_the_page_values():
    values = initial_values("adverse_event", {"patient_id": "P7"})
    assert values == {"patient_id": "P7", "serious": "false", "action_taken": "none"}
    html = _render("adverse_event", values, {}, {})
    assert '<option value="false" selected>No</option>' in html
    assert "html" and "<script" not in html and " on" + "click" not in html


@pytest.mark.parametrize("record_type", FORM_RECORD_TYPES)
def test_every_form_renders(record_type):
    html = _render(record_type, initial_values(record_type), {}, {})
    spec = form_spec(record_type)
    for field in spec.fields:
        assert f'name="{field.name}"' in html
        assert (f'name="{field.code_name}"' in html) == bool(field.codes)


def test_a_code_conflict_does_not_hide_the_other_problems_of_the_form():
    result = read_form(
        "adverse_event",
        {
            "patient_id": "P1",
            "event_number": "1",
            "term": "crs",
            "grading_system": "astct",
            "grade": "7",
            "onset_date": "2021-13-01",
            "temperature_c": "39",
            "temperature_c_missing": "unknown",
            "ice_score": "x",
        },
    )
    assert set(result.errors) == {"grade", "onset_date", "temperature_c", "ice_score"}
    assert result.errors["temperature_c"] == ["give either a value (39) or a missing-data code (Unknown), not both"]
    assert result.record is None
