"""derive: parameters, the column contract and the patient/cycle/MRD/AE column families."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from blinareg.derive import AnalysisDataset, derive
from blinareg.records.registry import Registry
from blinareg.rules import RuleSet
from tests.derive.cohort import cohort
from tests.derive.factories import D, build, course, delivered, interruption, mrd, person, relapse, response

ARCHITECTURE = Path(__file__).resolve().parents[2] / "docs" / "architecture.md"


@pytest.fixture(scope="module")
def dataset():
    return derive(cohort())


@pytest.fixture(scope="module")
def patients(dataset):
    return dataset.patients.set_index("patient_id")


def _contract_columns(section: str) -> list[str]:
    text = ARCHITECTURE.read_text()
    start = text.index(section)
    block = text[start : text.index("\n- `", start + 1)]
    names = []
    for span in re.findall(r"`([^`]+)`", block):
        names += [part.strip() for part in span.split(",") if re.fullmatch(r"[a-z_0-9]+", part.strip())]
    return names


def test_every_contract_column_is_present(dataset):
    patient_columns = [c for c in _contract_columns("- `patients`") if c not in ("patients", "intent", "non_responder")]
    assert len(patient_columns) > 60
    assert set(patient_columns) <= set(dataset.patients.columns)
    assert list(dataset.patients.columns[: len(patient_columns)]) == patient_columns
    for name, frame in (("- `cycles`", dataset.cycles), ("- `mrd`", dataset.mrd)):
        wanted = [c for c in _contract_columns(name) if c not in ("cycles", "mrd")]
        assert set(wanted) <= set(frame.columns), set(wanted) - set(frame.columns)
    assert {"patient_id", "PARAMCD", "PARAM", "ORIGIN", "STARTDT", "ADT", "AVAL", "CNSR", "EVNTDESC", "EVTCODE"} <= set(
        dataset.time_to_event.columns
    )
    assert "computed_grade" in dataset.adverse_events.columns
    assert set(dataset.to_frames()) == {
        "patients",
        "time_to_event",
        "cycles",
        "mrd",
        "adverse_events",
        "relapses",
        "dose_steps",
        "hsct_time_to_event",
        "responses",
        "metadata",
    }


def test_dataset_is_frozen_and_metadata_read_only(dataset):
    assert isinstance(dataset, AnalysisDataset)
    with pytest.raises(dataclasses.FrozenInstanceError):
        dataset.patients = None  # type: ignore[misc]
    with pytest.raises(TypeError):
        dataset.metadata["origin"] = "x"  # type: ignore[index]


@pytest.mark.parametrize(
    "argument, value, legal",
    [
        ("origin", "transplant", "first_blinatumomab, hsct, diagnosis, relapse"),
        ("non_responder", "no_pr", "no_cr, no_complete_mrd_response"),
    ],
)
def test_bad_parameters_name_the_argument_and_legal_values(argument, value, legal):
    with pytest.raises(ValueError, match=f"{argument}={value!r} is not one of: {legal}"):
        derive(cohort(), **{argument: value})


def test_bad_as_of_is_refused():
    with pytest.raises(ValueError, match="as_of"):
        derive(cohort(), as_of="not a date")


def test_derive_does_not_change_the_registry():
    registry = cohort()
    before = {k: v.copy() for k, v in registry.tables.items()}
    derive(registry)
    for name, frame in registry.tables.items():
        pd.testing.assert_frame_equal(frame, before[name])


def test_empty_registry():
    result = derive(Registry())
    assert result.patients.empty and result.time_to_event.empty and result.cycles.empty


def test_metadata(dataset):
    meta = dataset.metadata
    assert (meta["origin"], meta["non_responder"], meta["as_of"]) == ("first_blinatumomab", "no_cr", None)
    assert (
        "EFS: relapse, death from any cause, second malignancy, or failure to achieve CR (CR, CRh or CRi) in the "
        "blinatumomab response window; failure to achieve CR counted as an event at day 0." in meta["conventions"]
    )
    assert any("bfm_s3_s4_split" in note for note in meta["unconfirmed_rules"])
    confirmed = RuleSet.from_mapping(
        {"bfm_s3_s4_split": {"value": "alrez_bfm", "source": "center SOP", "unconfirmed": False}}
    )
    assert not any("bfm_s3_s4_split" in n for n in derive(cohort(), rules=confirmed).metadata["unconfirmed_rules"])


def test_demographics_and_genetics(patients):
    rr1 = patients.loc["RR1"]
    assert rr1["age_at_diagnosis_years"] == pytest.approx(
        (pd.Timestamp(2014, 1, 1) - pd.Timestamp(2006, 5, 1)).days / 365.25
    )
    assert rr1["first_blinatumomab_date"] == pd.Timestamp(2018, 5, 10)
    assert bool(rr1["genetics_etv6_runx1"]) and bool(rr1["genetics_other"]) and not rr1["genetics_bcr_abl1"]
    assert bool(rr1["synthetic"])
    assert rr1["months_diagnosis_to_blinatumomab"] == pytest.approx(
        (pd.Timestamp(2018, 5, 10) - pd.Timestamp(2014, 1, 1)).days / (365.25 / 12)
    )


def test_relapse_columns(patients):
    assert tuple(
        patients.loc[
            "RR1",
            [
                "relapses_before_blinatumomab",
                "relapse_status_at_blinatumomab",
                "relapse_timing",
                "relapse_site_class",
                "relapse_site_detail",
                "bfm_strategic_group",
                "intreall_risk",
            ],
        ]
    ) == (1, "first_relapse", "late", "isolated_marrow", "BM", "S2", "standard")
    assert tuple(patients.loc["NR", ["relapse_timing", "bfm_strategic_group", "intreall_risk"]]) == (
        "very_early",
        "S4",
        "high",
    )
    assert tuple(patients.loc["SAME", ["relapse_site_class", "relapse_site_detail", "index_relapse_date"]]) == (
        "combined",
        "BM+CNS",
        pd.Timestamp(2019, 3, 1),
    )
    assert patients.loc["MC", "relapse_status_at_blinatumomab"] == "no_relapse"
    assert patients.loc["MC", "relapse_after_origin_date"] == pd.Timestamp(2021, 1, 1)
    assert patients.loc["NOBLIN", "relapses_before_blinatumomab"] is pd.NA


def test_second_relapse_gets_timing_but_no_first_relapse_groups():
    registry = build(
        person("S", dx=D(2012, 1, 1), frontline_end=D(2014, 6, 1)),
        relapse("S", 1, D(2016, 1, 1)),
        relapse("S", 2, D(2018, 1, 1), cns=True),
        course("S", D(2018, 2, 1)),
    )
    row = derive(registry).patients.iloc[0]
    assert (row["relapse_status_at_blinatumomab"], row["relapse_timing"], row["relapse_site_class"]) == (
        "second_relapse",
        "late",
        "combined",
    )
    assert row["bfm_strategic_group"] is None and row["intreall_risk"] is None


def test_responses(patients):
    assert tuple(patients.loc["RR1", ["best_response", "cr_achieved", "cr_after_cycle1", "responder"]]) == (
        "crh",
        True,
        True,
        True,
    )
    assert patients.loc["RR1", "cr_date"] == pd.Timestamp(2018, 6, 7)
    assert tuple(patients.loc["NR", ["best_response", "cr_achieved", "cr_after_cycle1", "responder"]]) == (
        "no_response",
        False,
        False,
        False,
    )
    assert tuple(patients.loc["MC", ["in_cr_at_start", "cr_achieved", "responder"]]) == (True, True, True)
    assert patients.loc["MC", "cr_after_cycle1"] is pd.NA  # no response assessment recorded
    assert patients.loc["NOBLIN", "responder"] is pd.NA


def test_mrd_flags_never_merge_methods(patients):
    rr1 = patients.loc["RR1"]
    assert (rr1["mrd_negative_after_cycle1_flow"], rr1["mrd_negative_after_cycle1_pcr"]) == (True, False)
    assert (rr1["mrd_negative_best_flow"], rr1["mrd_negative_best_pcr"]) == (True, False)
    # RR1's only assessment in the window, 2018-06-07: flow not detected at 1e-4 (complete on its own)
    # but RT-qPCR BCR::ABL1 5e-4 detected the same day -> not a complete MRD response (every method counts).
    assert not bool(rr1["complete_mrd_response"]) and rr1["complete_mrd_response"] is not pd.NA
    mc = patients.loc["MC"]
    # MC 2020-01-29: flow not detected at 1e-5 and Ig/TCR not detected at 1e-3: nothing detected, flow
    # reaches 1e-4 -> complete.
    assert bool(mc["complete_mrd_response"])
    assert mc["mrd_negative_after_cycle1_pcr"] is pd.NA  # Ig/TCR not detected at 1e-3: not evaluable
    assert (mc["baseline_mrd_fraction"], mc["baseline_mrd_method"], mc["baseline_mrd_status"]) == (
        2e-3,
        "flow",
        "positive",
    )
    assert patients.loc["NOBLIN", "mrd_negative_best_flow"] is pd.NA


def test_mrd_frame(dataset):
    m = dataset.mrd[dataset.mrd["patient_id"] == "MC"]
    assert m["status"].tolist() == ["positive", "negative", "not_evaluable"]
    assert m["method_group"].tolist() == ["flow", "flow", "pcr"]
    assert m["days_from_first_blinatumomab"].tolist() == [-12.0, 28.0, 28.0]


def test_mrd_after_cycle1_window():
    def at(day):
        registry = build(
            person("W"),
            course("W", D(2020, 1, 1), cycles=2, indication="mrd_positive", intent="mrd_clearance"),
            mrd("W", day, "flow", sensitivity=1e-4),
        )
        return derive(registry).patients.iloc[0]["mrd_negative_after_cycle1_flow"]

    # Cycle 1 ends 2020-01-28; cycle 2 starts 2020-02-12.
    assert at(D(2020, 1, 25)) == True  # noqa: E712 (3 days before the end)
    assert at(D(2020, 1, 24)) is pd.NA
    assert at(D(2020, 2, 11)) == True  # noqa: E712 (the day before cycle 2)
    assert at(D(2020, 2, 12)) is pd.NA


def test_cycles_and_dose(dataset, patients):
    cycles = dataset.cycles.set_index(["patient_id", "cycle_number"])
    rr1 = cycles.loc[("RR1", 1)]
    assert (rr1["planned_dose_mcg"], rr1["delivered_dose_mcg"], rr1["dose_intensity"], rr1["dose_deviations"]) == (
        7 * 9 + 21 * 28,
        7 * 9 + 21 * 28,
        1.0,
        0,
    )
    nr = cycles.loc[("NR", 1)]  # 28 mcg/day on the step days: one wrong-step run
    assert (nr["dose_deviations"], nr["delivered_dose_mcg"]) == (1, 28 * 28)
    mc = cycles.loc[("MC", 1)]  # 30 kg, 130 cm: BSA-based flat 15 mcg/m2/day; interruption of 2 days
    assert mc["planned_dose_mcg"] == pytest.approx(28 * 15 * np.sqrt(130 * 30 / 3600))
    assert (mc["interruptions"], mc["infusion_days"]) == (1, 26)
    assert mc["delivered_dose_mcg"] != mc["delivered_dose_mcg"]  # NaN: planned-only data
    assert mc["dose_deviations"] is pd.NA
    assert (cycles.loc[("RR1", 1), "crs_max_grade"], cycles.loc[("NR", 1), "neurotoxicity_events"]) == (2, 1)
    assert tuple(patients.loc["NRMD", ["early_stop", "early_stop_reason"]]) == (True, "toxicity")
    assert (patients.loc["MC", "cycles"], patients.loc["MC", "interruptions"]) == (2, 1)
    assert patients.loc["NR", "dose_intensity"] == pytest.approx(784 / 651)


def test_not_infused_after_the_recorded_end_is_not_a_deviation():
    registry = build(
        person("E"),
        course("E", D(2020, 1, 1), early_stop="toxicity"),
        delivered("E", 1, D(2020, 1, 1), D(2020, 1, 7), 9.0),
        delivered("E", 1, D(2020, 1, 8), D(2020, 1, 10), 28.0),
    )
    # Shorten the recorded cycle to its last infusion day.
    cycles = registry.tables["blinatumomab_cycle"]
    cycles.loc[:, "end_date"] = pd.Timestamp(2020, 1, 10)
    row = derive(registry).cycles.iloc[0]
    assert row["dose_deviations"] == 0
    assert row["dose_intensity"] == pytest.approx((7 * 9 + 3 * 28) / (7 * 9 + 21 * 28))


def test_interruption_extends_the_plan():
    registry = build(
        person("I"),
        course("I", D(2020, 1, 1), indication="mrd_positive", intent="mrd_clearance"),
        interruption("I", 1, D(2020, 1, 11), D(2020, 1, 14)),
        delivered("I", 1, D(2020, 1, 1), D(2020, 1, 10), 28.0),
        delivered("I", 1, D(2020, 1, 14), D(2020, 1, 31), 28.0),
    )
    row = derive(registry).cycles.iloc[0]
    assert (row["dose_intensity"], row["dose_deviations"]) == (1.0, 0)
    assert row["plan_end_date"] == pd.Timestamp(2020, 1, 31) + pd.Timedelta(days=14)


def test_adverse_event_maxima_and_computed_grade(dataset, patients):
    assert tuple(patients.loc["RR1", ["crs_max_grade", "icans_max_grade", "neurotoxicity_max_grade"]]) == (2, 3, 3)
    assert bool(patients.loc["RR1", "grade3plus_any"])
    assert tuple(patients.loc["NR", ["neurotoxicity_max_grade", "icans_max_grade"]]) == (3, 0)
    events = dataset.adverse_events.set_index(["patient_id", "event_number"])
    assert events.loc[("RR1", 1), "computed_grade"] == 2
    assert events.loc[("RR1", 2), "computed_grade"] == 2 and bool(events.loc[("RR1", 2), "grade_disagrees"])
    assert events.loc[("NR", 1), "computed_grade"] is pd.NA  # CTCAE seizure: no recorded finding


def test_hsct_and_outcome_columns(patients):
    rr1 = patients.loc["RR1"]
    assert (rr1["hsct_after_blinatumomab"], rr1["hsct_date"], rr1["hsct_remission_status"], rr1["hsct_donor_type"]) == (
        True,
        pd.Timestamp(2018, 8, 1),
        "CR2",
        "mud",
    )
    assert not patients.loc["MC", "hsct_after_blinatumomab"] and patients.loc["MC", "hsct_date"] is pd.NaT
    assert tuple(patients.loc["NRMD", ["vital_status", "death_cause"]]) == ("dead", "infection")
    assert not patients.loc["NOBLIN", "prior_hsct"]


def test_patient_without_cycles_mrd_or_relapse(patients):
    row = patients.loc["NOBLIN"]
    assert row["cycles"] == 0 and row["first_blinatumomab_date"] is pd.NaT
    assert row["relapse_status_at_blinatumomab"] is None and row["indication_group"] is None
    assert row["crs_max_grade"] == 0 and not row["grade3plus_any"]


def test_dtypes(dataset):
    p = dataset.patients
    for column in ("cr_achieved", "responder", "complete_mrd_response", "mrd_negative_best_flow", "cr_after_cycle1"):
        assert str(p[column].dtype) == "boolean", column
    for column in ("prior_hsct", "early_stop", "grade3plus_any", "hsct_after_blinatumomab", "genetics_bcr_abl1"):
        assert p[column].dtype == bool, column
    for column in ("cycles", "interruptions", "crs_max_grade"):
        assert p[column].dtype == np.int64, column
    assert str(p["relapses_before_blinatumomab"].dtype) == "Int64"
    assert p["patient_id"].map(type).eq(str).all()
    tte = dataset.time_to_event
    assert tte["AVAL"].dtype == float and tte["CNSR"].dtype == np.int64 and tte["EVTCODE"].dtype == np.int64


def test_responses_frame_holds_every_response_assessment():
    from blinareg.records.models import ResponseAssessment

    later = ResponseAssessment(
        patient_id="P1", assessment_date=D(2020, 5, 1), category="cr", cycle_number=2, marrow_blasts_pct=1.5
    )
    earlier = ResponseAssessment(
        patient_id="P1", assessment_date=D(2020, 3, 1), category="no_response", cycle_number=1, marrow_blasts_pct=35.0
    )
    registry = build(person("P1"), course("P1", D(2020, 1, 1), cycles=2), later, earlier)
    responses = derive(registry).responses
    assert responses["assessment_date"].dt.strftime("%Y-%m-%d").tolist() == ["2020-03-01", "2020-05-01"]
    assert responses["category"].tolist() == ["no_response", "cr"]
    assert responses["marrow_blasts_pct"].tolist() == [35.0, 1.5]
    assert responses["cycle_number"].tolist() == [1, 2]
