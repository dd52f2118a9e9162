"""Partial dates in the analysis: the stated imputation rule, ADTF and the missing-data counts."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from blinareg.derive import derive
from blinareg.derive.imputation import DateImputationRule, impute_partial_dates
from blinareg.records import Registry, validate
from blinareg.records.models import Relapse
from tests.records.factories import consistent_records, incomplete_registry

D = dt.date


def _with_relapse(text_date: dt.date, precision: str | None) -> Registry:
    # P2 (consistent registry): blinatumomab 2020-05-01 .. 2020-05-28 in CR (mrd_clearance), died 2021-03-03.
    relapse = Relapse(
        patient_id="P2",
        relapse_number=1,
        relapse_date=text_date,
        relapse_date_precision=precision,
        site_bone_marrow=True,
        marrow_blasts_pct=30,
    )
    registry = Registry.from_records([*consistent_records(), relapse])
    assert [p for p in validate(registry) if p.severity == "error"] == []
    return registry


def _row(dataset, patient: str, paramcd: str) -> pd.Series:
    tte = dataset.time_to_event
    return tte[(tte["patient_id"] == patient) & (tte["PARAMCD"] == paramcd)].iloc[0]


def test_a_month_known_relapse_is_analysed_mid_month_and_flagged_d():
    dataset = derive(_with_relapse(D(2020, 9, 1), "month"))
    efs = _row(dataset, "P2", "EFS")
    # "2020-09" -> 2020-09-15. EFS from the first infusion 2020-05-01: May 31 + June 30 + July 31 + August 31
    # days to 2020-09-01, + 14 = 137 days.
    assert (efs["ADT"].date(), efs["AVAL"], efs["CNSR"], efs["ADTF"]) == (D(2020, 9, 15), 137.0, 0, "D")
    assert _row(dataset, "P2", "OS")["ADTF"] is None  # the death date is complete
    assert dataset.metadata["imputed_dates"]["EFS"] == 1
    assert dataset.metadata["imputed_dates"]["OS"] == 0
    assert dataset.metadata["partial_dates"] == {"relapse": {"relapse_date": 1}}
    assert any("day 15 of that month" in sentence for sentence in dataset.metadata["conventions"])


def test_a_year_known_relapse_is_analysed_on_1_july_and_flagged_m():
    dataset = derive(_with_relapse(D(2020, 1, 1), "year"))
    efs = _row(dataset, "P2", "EFS")
    # "2020" -> 2020-07-01 (mid-year). From 2020-05-01: 31 (May) + 30 (June) = 61 days.
    assert (efs["ADT"].date(), efs["AVAL"], efs["ADTF"]) == (D(2020, 7, 1), 61.0, "M")


def test_the_rule_is_configurable():
    dataset = derive(_with_relapse(D(2020, 9, 1), "month"), date_imputation=DateImputationRule(month_day=1))
    # 2020-09-01: 31 + 30 + 31 + 31 = 123 days.
    assert _row(dataset, "P2", "EFS")["AVAL"] == 123.0
    assert any("day 1 of that month" in s for s in dataset.metadata["conventions"])
    with pytest.raises(ValueError, match="month_day=31"):
        DateImputationRule(month_day=31)


def test_never_before_a_known_earlier_event_in_the_same_period():
    tables = {name: frame for name, frame in _with_relapse(D(2020, 9, 1), "month").tables.items()}
    diagnosis = tables["diagnosis"].copy()
    diagnosis.loc[diagnosis["patient_id"] == "P2", "diagnosis_date"] = pd.Timestamp("2020-09-20")
    tables["diagnosis"] = diagnosis
    out, counts = impute_partial_dates(tables)
    relapse = out["relapse"].set_index("patient_id").loc["P2"]
    # Mid-month would be 2020-09-15, before the diagnosis on 2020-09-20: the diagnosis day is used.
    assert (relapse["relapse_date"].date(), relapse["relapse_date_ADTF"]) == (D(2020, 9, 20), "D")
    assert counts == {"relapse": {"relapse_date": 1}}
    assert tables["relapse"].set_index("patient_id").loc["P2", "relapse_date"] == pd.Timestamp("2020-09-01")


def test_a_death_known_to_the_year_is_the_last_contact_inside_that_year():
    dataset = derive(incomplete_registry())
    os_row = _row(dataset, "P2", "OS")
    # Death "2021", last contact 2021-03-03 (= the death date of a dead patient). 2020-05-01 -> 2021-05-01 is
    # 365 days; 2021-03-03 -> 2021-05-01 is 29 (to April 1) + 30 (April) = 59 days: 365 - 59 = 306.
    assert (os_row["ADT"].date(), os_row["AVAL"], os_row["CNSR"], os_row["ADTF"]) == (D(2021, 3, 3), 306.0, 0, "M")
    assert dataset.metadata["imputed_dates"]["OS"] == 1
    assert dataset.metadata["missing_data"]["hsct"] == {"conditioning": {"unknown": 1}}
    assert dataset.metadata["missing_data"]["death"] == {"cause": {"unknown": 1}}


def test_an_hsct_known_to_the_month_starts_hsct_rows_mid_month():
    dataset = derive(incomplete_registry(), origin="hsct")
    os_row = _row(dataset, "P1", "OS")
    # HSCT "2018-08" -> 2018-08-15; last contact 2021-01-05: 2018-08-15 -> 2020-08-15 is 731 days (2020 is a
    # leap year), -> 2021-01-05 another 16 + 30 + 31 + 30 + 31 + 5 = 143: 874 days.
    assert (os_row["STARTDT"].date(), os_row["AVAL"]) == (D(2018, 8, 15), 874.0)


def test_adtf_is_always_none_or_a_flag():
    from blinareg.synth import generate

    tte = derive(generate(60, seed=3)).time_to_event
    assert set(tte["ADTF"].map(repr)) <= {"None", "'D'", "'M'", "'Y'"}
