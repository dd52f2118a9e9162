"""Missing-data codes and partial dates: the typed representation, parsing and refusals."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError

from blinareg.records import missing
from blinareg.records.missing import MissingCode
from blinareg.records.models import AdverseEvent, Death, Hsct, MrdAssessment, Patient
from blinareg.records.registry import columns, parse_rows, storage_columns
from tests.records.factories import incomplete_registry

D = dt.date

HSCT_ROW = {
    "patient_id": "P1",
    "hsct_number": "1",
    "hsct_date": "2018-08-15",
    "donor_type": "mud",
    "conditioning": "tbi_based",
    "remission_status": "CR2",
}


def test_codes_become_the_typed_companion_and_the_field_stays_empty():
    frame, problems = parse_rows(Hsct, [{**HSCT_ROW, "conditioning": "unknown", "remission_status": " Unknown "}])
    assert problems == []
    row = frame.iloc[0]
    assert row["conditioning"] is None and row["conditioning_missing"] == "unknown"
    assert row["remission_status"] is None and row["remission_status_missing"] == "unknown"
    assert row["donor_type"] == "mud" and row["donor_type_missing"] is None


def test_a_code_the_field_does_not_accept_names_record_field_value_and_accepted_codes():
    frame, problems = parse_rows(Hsct, [{**HSCT_ROW, "conditioning": "not_done"}], source="hsct.csv")
    assert frame.empty and len(problems) == 1
    problem = problems[0]
    assert (problem.patient_id, problem.key, problem.field, problem.value, problem.row) == (
        "P1",
        "hsct_number=1",
        "conditioning",
        "not_done",
        2,
    )
    assert "does not accept the missing-data code not_done; it accepts unknown" in problem.reason


def test_a_code_in_a_field_without_codes_is_refused_once():
    _, problems = parse_rows(Hsct, [{**HSCT_ROW, "hsct_number": "unknown"}])
    assert [(p.field, p.value) for p in problems] == [("hsct_number", "unknown")]
    assert "does not accept a missing-data code (unknown): a value is required" in problems[0].reason


def test_an_enum_value_spelled_like_a_code_stays_a_value():
    frame, problems = parse_rows(
        Patient, [{"patient_id": "P9", "center_id": "C1", "sex": "unknown", "birth_date": "2001"}]
    )
    assert problems == []
    assert frame.loc[0, "sex"] == "unknown"  # Sex has its own `unknown` value


@pytest.mark.parametrize(
    ("text", "stored", "precision"),
    [("2017", D(2017, 1, 1), "year"), ("2017-07", D(2017, 7, 1), "month"), ("2017-07-14", D(2017, 7, 14), None)],
)
def test_partial_dates_keep_their_precision(text, stored, precision):
    frame, problems = parse_rows(Hsct, [{**HSCT_ROW, "hsct_date": text}])
    assert problems == []
    assert frame.loc[0, "hsct_date"].date() == stored
    assert frame.loc[0, "hsct_date_precision"] == precision


def test_a_partial_date_where_the_day_is_needed_is_refused():
    from blinareg.records.models import BlinatumomabCycle

    _, problems = parse_rows(
        BlinatumomabCycle,
        [
            {
                "patient_id": "P1",
                "cycle_number": "1",
                "phase": "induction",
                "indication": "relapsed_refractory",
                "start_date": "2018-06",
                "end_date": "2018-06-28",
            }
        ],
    )
    assert [(p.field, p.value) for p in problems] == [("start_date", "2018-06")]
    assert "a partial date (2018-06) is not accepted for start_date" in problems[0].reason


def test_an_impossible_month_is_a_date_error():
    _, problems = parse_rows(Hsct, [{**HSCT_ROW, "hsct_date": "2018-13"}])
    assert [(p.field, p.value) for p in problems] == [("hsct_date", "2018-13")]


def test_required_field_needs_a_value_or_a_code():
    with pytest.raises(ValidationError, match="conditioning is required: give a value, or a missing-data code"):
        Hsct(patient_id="P1", hsct_number=1, hsct_date=D(2018, 8, 15), donor_type="mud", remission_status="CR2")
    with pytest.raises(ValidationError, match="holds both a value and the missing-data code unknown"):
        Hsct(
            patient_id="P1",
            hsct_number=1,
            hsct_date=D(2018, 8, 15),
            donor_type="mud",
            remission_status="CR2",
            conditioning="tbi_based",
            conditioning_missing="unknown",
        )
    with pytest.raises(ValidationError, match="does not accept the missing-data code not_done"):
        Death(patient_id="P1", death_date=D(2020, 1, 1), cause_missing="not_done")
    with pytest.raises(ValidationError, match="is not the first day of its month"):
        Death(patient_id="P1", death_date=D(2020, 1, 5), death_date_precision="month", cause="other")


def test_interval_checks_compare_partial_dates_by_the_days_they_can_be():
    # Onset 2020-03-20, resolution "2020-03": resolved some day in March, possibly after the 20th: accepted.
    AdverseEvent(
        patient_id="P1",
        event_number=1,
        term="fever",
        grading_system="ctcae_v5",
        grade=1,
        onset_date=D(2020, 3, 20),
        resolution_date=D(2020, 3, 1),
        resolution_date_precision="month",
    )
    with pytest.raises(ValidationError, match="resolution_date 2020-02 is before onset_date 2020-03-20"):
        AdverseEvent(
            patient_id="P1",
            event_number=1,
            term="fever",
            grading_system="ctcae_v5",
            grade=1,
            onset_date=D(2020, 3, 20),
            resolution_date=D(2020, 2, 1),
            resolution_date_precision="month",
        )


def test_qualitative_mrd_results_are_legal():
    MrdAssessment(
        patient_id="P1",
        assessment_date=D(2020, 1, 1),
        sample="BM",
        method="ig_tcr_qpcr",
        detected=True,
        fraction_missing="positive_not_quantifiable",
    )
    MrdAssessment(
        patient_id="P1",
        assessment_date=D(2020, 1, 1),
        sample="BM",
        method="flow",
        detected=False,
        sensitivity_missing="unknown",
    )
    with pytest.raises(ValidationError, match="not-detected MRD has fraction positive_not_quantifiable"):
        MrdAssessment(
            patient_id="P1",
            assessment_date=D(2020, 1, 1),
            sample="BM",
            method="flow",
            detected=False,
            sensitivity=1e-4,
            fraction_missing="positive_not_quantifiable",
        )
    with pytest.raises(ValidationError, match="does not accept the missing-data code positive_not_quantifiable"):
        Hsct(
            patient_id="P1",
            hsct_number=1,
            hsct_date=D(2018, 8, 15),
            donor_type="mud",
            remission_status="CR2",
            conditioning_missing="positive_not_quantifiable",
        )


def test_columns_are_the_cells_and_storage_adds_the_companions():
    cells = [c.name for c in columns(Hsct)]
    assert "conditioning_missing" not in cells and "hsct_date_precision" not in cells
    stored = [c.name for c in storage_columns(Hsct)]
    assert stored.index("conditioning_missing") == stored.index("conditioning") + 1
    conditioning = next(c for c in columns(Hsct) if c.name == "conditioning")
    assert conditioning.required and conditioning.codes == ("unknown",)
    assert next(c for c in columns(Hsct) if c.name == "hsct_date").partial_date


def test_which_fields_accept_which_codes():
    assert missing.accepted_codes("hsct", "conditioning") == {MissingCode.UNKNOWN}
    assert missing.accepted_codes("adverse_event", "temperature_c") == {MissingCode.UNKNOWN, MissingCode.NOT_DONE}
    assert MissingCode.POSITIVE_NOT_QUANTIFIABLE in missing.accepted_codes("mrd_assessment", "fraction")
    assert missing.accepted_codes("hsct", "hsct_number") == frozenset()
    assert missing.accepts_partial_date("relapse", "relapse_date")
    assert not missing.accepts_partial_date("blinatumomab_cycle", "start_date")


def test_counts_and_bounds_of_an_incomplete_registry():
    registry = incomplete_registry()
    assert missing.count_codes(registry) == {
        "diagnosis": {"cns_status": {"not_done": 1}},
        "mrd_assessment": {"fraction": {"positive_not_quantifiable": 1}, "sensitivity": {"unknown": 1}},
        "adverse_event": {"onset_date": {"unknown": 1}},
        "hsct": {"conditioning": {"unknown": 1}},
        "death": {"cause": {"unknown": 1}},
    }
    assert missing.count_partial_dates(registry) == {
        "diagnosis": {"frontline_end_date": {"month": 1}},
        "hsct": {"hsct_date": {"month": 1}},
        "death": {"death_date": {"year": 1}},
    }
    first, last = missing.date_bounds(registry["death"], "death_date")
    assert (first[0].date(), last[0].date()) == (D(2021, 1, 1), D(2021, 12, 31))
    first, last = missing.date_bounds(registry["hsct"], "hsct_date")
    assert (first[0].date(), last[0].date()) == (D(2018, 8, 1), D(2018, 8, 31))


def test_cells_show_the_code_or_the_partial_date():
    registry = incomplete_registry()
    assert missing.cell_overrides(Hsct, registry["hsct"], "conditioning").tolist() == ["unknown"]
    assert missing.cell_overrides(Hsct, registry["hsct"], "hsct_date").tolist() == ["2018-08"]
    assert missing.cell_overrides(Death, registry["death"], "death_date").tolist() == ["2021"]
    assert missing.cell_overrides(Hsct, registry["hsct"], "donor_type") is None
