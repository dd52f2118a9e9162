"""Issue-9 definitions on small hand-made registries; the expected values are worked out by hand in comments."""

from __future__ import annotations

import pandas as pd
import pytest

from blinareg.derive import derive
from blinareg.records.models import BlinatumomabCycle, TreatmentLine
from blinareg.rules import RuleSet
from tests.derive.factories import D, adverse, build, course, delivered, genetic, hsct, mrd, person, relapse


def _patients(dataset):
    return dataset.patients.set_index("patient_id")


# --- complete MRD response: every method measured at the assessment -------------------------------------


def _mrd_registry():
    # Each patient: one 28-day R/R cycle 2020-01-01 .. 2020-01-28; response window to 28 Jan + 42 = 10 Mar.
    records = []
    for pid in ("DISCORD", "BOTHNEG", "LATER"):
        records += person(pid, dx=D(2018, 1, 1), frontline_end=D(2019, 1, 1), last_contact=D(2021, 1, 1))
        records += [genetic(pid, "BCR::ABL1"), relapse(pid, 1, D(2019, 12, 1))]
        records += course(pid, D(2020, 1, 1))
    records += [
        # DISCORD 1 Feb: flow not detected at 1e-4 (complete alone) but BCR::ABL1 RT-qPCR 5e-4 detected.
        mrd("DISCORD", D(2020, 2, 1), "flow", sensitivity=1e-4),
        mrd("DISCORD", D(2020, 2, 1), "rt_qpcr_fusion", fraction=5e-4, sensitivity=1e-5),
        # BOTHNEG 1 Feb: flow not detected at 1e-4, RT-qPCR not detected at 1e-5 -> nothing detected: complete.
        mrd("BOTHNEG", D(2020, 2, 1), "flow", sensitivity=1e-4),
        mrd("BOTHNEG", D(2020, 2, 1), "rt_qpcr_fusion", sensitivity=1e-5),
        # LATER: discordant on 1 Feb, then flow alone not detected at 1e-5 on 20 Feb (a complete assessment).
        mrd("LATER", D(2020, 2, 1), "flow", sensitivity=1e-4),
        mrd("LATER", D(2020, 2, 1), "rt_qpcr_fusion", fraction=5e-4, sensitivity=1e-5),
        mrd("LATER", D(2020, 2, 20), "flow", sensitivity=1e-5),
    ]
    return build(records)


def test_complete_mrd_response_needs_every_method_of_the_assessment():
    dataset = derive(_mrd_registry(), non_responder="no_complete_mrd_response")
    p = _patients(dataset)
    assert p.loc["DISCORD", "complete_mrd_response"] == False  # noqa: E712  (flow-neg, PCR-pos: not complete)
    assert bool(p.loc["BOTHNEG", "complete_mrd_response"])
    assert bool(p.loc["LATER", "complete_mrd_response"])  # the 20 Feb assessment
    assert p["responder"].tolist() == [True, False, True]  # BOTHNEG, DISCORD, LATER (sorted ids)
    m = dataset.mrd
    flow = m[(m["patient_id"] == "DISCORD") & (m["method"] == "flow")].iloc[0]
    # The per-measurement flag stays as measured; the assessment flag combines the methods of the day.
    assert bool(flow["complete_mrd_response"]) and not bool(flow["assessment_complete_mrd_response"])


# --- baseline MRD: which method counts on the baseline day --------------------------------------------


def _baseline_registry():
    records = []
    for pid, lesion in (("FUSION", "BCR::ABL1"), ("NOFUSION", "high_hyperdiploidy")):
        records += person(pid, dx=D(2018, 1, 1), frontline_end=D(2019, 1, 1), last_contact=D(2021, 1, 1))
        records += [genetic(pid, lesion), relapse(pid, 1, D(2019, 12, 1))]
        records += course(pid, D(2020, 1, 1))
        # 28 Dec 2019 (4 days before the first infusion, inside the 30-day window): flow not detected at
        # 1e-4 (negative), RT-qPCR fusion 2e-3 (positive).
        records += [
            mrd(pid, D(2019, 12, 28), "flow", sensitivity=1e-4),
            mrd(pid, D(2019, 12, 28), "rt_qpcr_fusion", fraction=2e-3, sensitivity=1e-5),
        ]
    return build(records)


def test_baseline_mrd_method_follows_the_rule_and_keeps_both_methods():
    dataset = derive(_baseline_registry())
    p = _patients(dataset)
    # Default rule fusion_pcr_if_fusion: FUSION (BCR::ABL1) -> the RT-qPCR 2e-3, positive; NOFUSION -> flow, 0, negative.
    assert tuple(p.loc["FUSION", ["baseline_mrd_method", "baseline_mrd_fraction", "baseline_mrd_status"]]) == (
        "rt_qpcr_fusion",
        2e-3,
        "positive",
    )
    assert tuple(p.loc["NOFUSION", ["baseline_mrd_method", "baseline_mrd_fraction", "baseline_mrd_status"]]) == (
        "flow",
        0.0,
        "negative",
    )
    for pid in ("FUSION", "NOFUSION"):  # the flow-negative / PCR-positive baseline shown as such, not as 0
        assert tuple(
            p.loc[
                pid,
                [
                    "baseline_mrd_flow_status",
                    "baseline_mrd_flow_fraction",
                    "baseline_mrd_pcr_status",
                    "baseline_mrd_pcr_fraction",
                ],
            ]
        ) == ("negative", 0.0, "positive", 2e-3)
    assert "fusion transcript" in dataset.metadata["baseline_mrd_method_rule"]
    assert dataset.metadata["baseline_mrd_method_rule"] in dataset.metadata["conventions"]
    flow_first = derive(_baseline_registry(), rules=RuleSet.from_mapping({"baseline_mrd_method": "flow"}))
    assert _patients(flow_first).loc["FUSION", "baseline_mrd_method"] == "flow"
    assert "flow cytometry, otherwise" in flow_first.metadata["baseline_mrd_method_rule"]


# --- treatment-emergent window ------------------------------------------------------------------------


def _ae_registry():
    records = person("AE", dx=D(2018, 1, 1), frontline_end=D(2019, 1, 1), last_contact=D(2021, 1, 1))
    records += [relapse("AE", 1, D(2019, 12, 1))] + course("AE", D(2020, 1, 1))  # last infusion day 28 Jan 2020
    records += [
        adverse("AE", 1, "tremor", 2, D(2019, 12, 30)),  # before the first infusion: not emergent
        adverse("AE", 2, "crs", 3, D(2020, 2, 27)),  # 28 Jan + 30 days = 27 Feb: last emergent day
        adverse("AE", 3, "crs", 4, D(2020, 2, 28)),  # day 31 after the last infusion: outside
    ]
    return build(records)


def test_treatment_emergent_flag_and_max_grades_use_one_window():
    dataset = derive(_ae_registry())
    assert dataset.adverse_events["treatment_emergent"].tolist() == [False, True, False]
    p = _patients(dataset)
    assert (p.loc["AE", "crs_max_grade"], p.loc["AE", "neurotoxicity_max_grade"]) == (3, 0)
    assert "30 days after the last infusion" in dataset.metadata["treatment_emergent_window"]
    wider = derive(_ae_registry(), rules=RuleSet.from_mapping({"treatment_emergent_days": 31}))
    assert wider.adverse_events["treatment_emergent"].tolist() == [False, True, True]
    assert _patients(wider).loc["AE", "crs_max_grade"] == 4


# --- prephase (the single case report's schedule) ------------------------------------------------------


def _prephase_registry():
    records = person(
        "CASE",
        birth=D(2002, 1, 1),
        dx=D(2009, 4, 1),
        frontline_end=D(2011, 6, 1),
        last_contact=D(2025, 5, 1),
        weight=60.0,
        height=170.0,
        weighed=D(2023, 12, 1),
    )
    records += [
        relapse("CASE", 1, D(2017, 3, 1), testis=True, blasts=40.0),
        relapse("CASE", 2, D(2023, 11, 15), blasts=84.6),
    ]
    records += [
        TreatmentLine(
            patient_id="CASE",
            line_number=3,
            treatment_type="blinatumomab",
            intent="relapsed_refractory",
            start_date=D(2023, 12, 19),
            end_date=D(2024, 1, 16),
        ),
        BlinatumomabCycle(
            patient_id="CASE",
            cycle_number=1,
            line_number=3,
            phase="prephase",
            indication="relapsed_refractory",
            start_date=D(2023, 12, 19),
            end_date=D(2023, 12, 26),
        ),
        BlinatumomabCycle(
            patient_id="CASE",
            cycle_number=2,
            line_number=3,
            phase="induction",
            indication="relapsed_refractory",
            start_date=D(2023, 12, 27),
            end_date=D(2024, 1, 16),
        ),
        delivered("CASE", 1, D(2023, 12, 19), D(2023, 12, 26), 9.0),  # 8 days x 9 mcg/day
        delivered("CASE", 2, D(2023, 12, 27), D(2024, 1, 16), 28.0),  # 21 days x 28 mcg/day
    ]
    return build(records)


def test_prephase_is_planned_as_prephase_and_the_next_cycle_is_induction_cycle_1():
    dataset = derive(_prephase_registry())
    c = dataset.cycles.set_index("cycle_number")
    # Prephase: 8 days at the step dose 9 mcg/day (60 kg >= 45 kg) = 72 mcg, as delivered.
    # Induction after it: label cycle 1, 21 days at 28 mcg/day, no step = 588 mcg, as delivered.
    assert c["label_cycle"].tolist() == [0, 1]
    assert c["planned_dose_mcg"].tolist() == [72.0, 588.0]
    assert c["dose_intensity"].tolist() == [1.0, 1.0]
    assert c["dose_deviations"].tolist() == [0, 0]
    p = _patients(dataset).loc["CASE"]
    assert (p["planned_dose_mcg"], p["dose_intensity"], p["dose_deviations"]) == (660.0, 1.0, 0)
    steps = dataset.dose_steps
    planned = steps[steps["kind"] == "planned"]
    assert planned[["cycle_number", "phase", "step", "start_day", "days", "daily_dose", "unit"]].values.tolist() == [
        [1, "prephase", 1, 1, 8, 9.0, "mcg/day"],
        [2, "induction", 1, 1, 21, 28.0, "mcg/day"],
    ]
    assert any("Prephase" in line for line in dataset.metadata["conventions"])
    assert any("prephase_days" in note for note in dataset.metadata["unconfirmed_rules"])


def test_dose_steps_of_a_relapsed_refractory_cycle_1():
    records = person("RR", dx=D(2018, 1, 1), frontline_end=D(2019, 1, 1), weight=50.0)
    records += [relapse("RR", 1, D(2019, 12, 1))] + course("RR", D(2020, 1, 1))
    records += [
        delivered("RR", 1, D(2020, 1, 1), D(2020, 1, 7), 9.0),
        delivered("RR", 1, D(2020, 1, 8), D(2020, 1, 28), 28.0),
    ]
    steps = derive(build(records)).dose_steps
    # Label: days 1-7 at 9 mcg/day, days 8-28 at 28 mcg/day (50 kg: fixed doses); delivered the same.
    assert steps[["kind", "step", "start_day", "days", "daily_dose"]].values.tolist() == [
        ["planned", 1, 1, 7, 9.0],
        ["planned", 2, 8, 21, 28.0],
        ["delivered", 1, 1, 7, 9.0],
        ["delivered", 2, 8, 21, 28.0],
    ]


# --- relapses frame, salvage, CD19, follow-up, intolerance reason ----------------------------------------


def _relapse_registry():
    records = person("REL", dx=D(2014, 1, 1), frontline_end=D(2016, 6, 1), last_contact=D(2020, 1, 1))
    r1 = relapse("REL", 1, D(2018, 5, 1), blasts=60.0).model_copy(update={"cd19_status": "positive"})
    r2 = relapse("REL", 2, D(2019, 3, 1), blasts=30.0).model_copy(update={"cd19_status": "negative"})
    records += [
        r1,
        r2,
        TreatmentLine(
            patient_id="REL",
            line_number=2,
            treatment_type="chemotherapy",
            intent="relapsed_refractory",
            start_date=D(2018, 5, 5),
            end_date=D(2018, 6, 20),
        ),
        TreatmentLine(
            patient_id="REL",
            line_number=4,
            treatment_type="car_t",
            intent="relapsed_refractory",
            start_date=D(2019, 3, 20),
            end_date=D(2019, 3, 20),
        ),
        hsct("REL", D(2019, 6, 1)),
    ]
    records += course("REL", D(2018, 7, 1), line=3)
    records += person("INTOL", dx=D(2019, 1, 1), frontline_end=None, last_contact=D(2021, 1, 1))
    line = course("INTOL", D(2020, 2, 1), intent="chemotherapy_intolerance", indication="consolidation")
    line[0] = line[0].model_copy(update={"intolerance_reason": "pancreatitis"})
    records += line
    return build(records)


def test_relapses_frame_salvage_cd19_and_follow_up():
    dataset = derive(_relapse_registry())
    r = dataset.relapses
    # Relapse 1 (1 May 2018): the first therapy on or after it and before relapse 2 is the chemotherapy of
    # 5 May 2018. Relapse 2 (1 Mar 2019): CAR-T on 20 Mar 2019 comes before the HSCT of 1 Jun 2019.
    assert r[["relapse_number", "cd19_status", "after_origin", "salvage_therapy"]].values.tolist() == [
        [1, "positive", False, "chemotherapy"],
        [2, "negative", True, "car_t"],
    ]
    # Relapse 1: 52 months after diagnosis (not very early), 23 months after the end of front-line therapy
    # (late), 60% blasts without extramedullary disease: isolated marrow; first relapse -> BFM S2.
    assert tuple(r.loc[0, ["timing", "site_class", "bfm_strategic_group"]]) == ("late", "isolated_marrow", "S2")
    assert r.loc[1, "bfm_strategic_group"] is None  # second relapse: not classified
    p = _patients(dataset)
    # Origin 1 Jul 2018 -> last contact 1 Jan 2020: 365 + 184 = 549 days.
    assert p.loc["REL", "followup_days"] == 549.0
    assert p.loc["INTOL", "chemotherapy_intolerance_reason"] == "pancreatitis"
    assert p.loc["REL", "chemotherapy_intolerance_reason"] is None
    assert (dataset.metadata["accrual_first"], dataset.metadata["accrual_last"]) == ("2018-07-01", "2020-02-01")
    assert dataset.metadata["data_cutoff"] == "2021-01-01"  # latest last contact, no as_of
    assert derive(_relapse_registry(), as_of="2020-06-30").metadata["data_cutoff"] == "2020-06-30"


# --- HSCT-origin analyses ------------------------------------------------------------------------------


def test_hsct_time_to_event_is_timed_from_hsct_whatever_the_origin():
    records = person("TX", dx=D(2015, 1, 1), frontline_end=D(2017, 1, 1), death=D(2021, 1, 1))
    records += [relapse("TX", 1, D(2019, 12, 1))] + course("TX", D(2020, 1, 1))
    records += [hsct("TX", D(2020, 4, 1), status="CR2"), relapse("TX", 2, D(2020, 10, 1))]
    for origin in ("first_blinatumomab", "diagnosis"):
        tte = derive(build(records), origin=origin).hsct_time_to_event.set_index("PARAMCD")
        assert set(tte["ORIGIN"]) == {"hsct"}
        assert (tte["STARTDT"] == pd.Timestamp("2020-04-01")).all()
        # 1 Apr 2020 -> 1 Jan 2021 = 275 days (death); -> 1 Oct 2020 = 183 days (relapse).
        assert (tte.loc["OS", "AVAL"], tte.loc["OS", "CNSR"]) == (275.0, 0)
        assert (tte.loc["CIR", "AVAL"], tte.loc["CIR", "EVTCODE"]) == (183.0, 1)
        assert (tte.loc["NRM", "AVAL"], tte.loc["NRM", "EVTCODE"]) == (183.0, 2)
        assert tte.loc["GRFS", "AVAL"] == 183.0


@pytest.mark.parametrize(
    "name",
    [
        "response_window_days",
        "treatment_emergent_days",
        "baseline_mrd_window_days",
        "after_cycle1_earliest_days",
        "after_cycle1_latest_days",
        "acute_gvhd_window_days",
    ],
)
def test_analysis_windows_are_sourced_overridable_rule_data(name):
    rules = RuleSet.from_mapping({name: 7})
    assert rules.rule(name).value == 7 and rules.rule(name).source
    assert any(str(7) in line for line in derive(_ae_registry(), rules=rules).metadata["conventions"]) or (
        name == "acute_gvhd_window_days"
    )
