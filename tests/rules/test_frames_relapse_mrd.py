"""One meaning: the column-wise rules in derive equal the scalar functions of blinareg.rules on random rows."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from blinareg.rules.frames import mrd_status_columns
from blinareg.rules.frames import classify_relapses
from blinareg.rules import DEFAULT_RULES, RuleInputError, RuleSet, classify_relapse, mrd_status

_RULE_SETS = [
    DEFAULT_RULES,
    RuleSet.from_mapping(
        {
            "bfm_s3_s4_split": "merged",
            "very_early_months": 24,
            "marrow_m3_min_pct": 30.0,
            "intreall_standard_risk": ["b:late:isolated_marrow", "b:late:combined"],
        }
    ),
]


def _random_relapses(seed: int, n: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    dx = pd.Timestamp("2010-01-01") + pd.to_timedelta(rng.integers(0, 3000, n), unit="D")
    # Month ends and the 29th-31st make the calendar-month clamping visible.
    dx = dx.where(rng.random(n) > 0.2, dx + pd.offsets.MonthEnd(0))
    relapse = dx + pd.to_timedelta(rng.integers(-5, 2500, n), unit="D")
    eot = dx + pd.to_timedelta(rng.integers(-10, 1200, n), unit="D")
    eot = eot.where(rng.random(n) > 0.15)
    blasts = rng.choice([0.0, 2.0, 4.99, 5.0, 10.0, 24.99, 25.0, 29.9, 30.0, 80.0], n)
    return pd.DataFrame(
        {
            "diagnosis_date": dx,
            "relapse_date": relapse,
            "frontline_end_date": eot,
            "marrow_blasts_pct": blasts,
            "site_bone_marrow": blasts >= 5,
            "site_cns": rng.random(n) < 0.3,
            "site_testis": rng.random(n) < 0.15,
            "site_other_extramedullary": rng.random(n) < 0.1,
        }
    )


@pytest.mark.parametrize("rules", _RULE_SETS)
def test_relapse_classification_equals_classify_relapse(rules):
    frame = _random_relapses(11, 3000)
    got = classify_relapses(frame, rules)
    compared = 0
    for i, row in frame.iterrows():
        eot = None if pd.isna(row["frontline_end_date"]) else row["frontline_end_date"].date()
        try:
            expected = classify_relapse(
                row["diagnosis_date"].date(),
                row["relapse_date"].date(),
                eot,
                float(row["marrow_blasts_pct"]),
                "b",
                cns=bool(row["site_cns"]),
                testis=bool(row["site_testis"]),
                other_extramedullary=bool(row["site_other_extramedullary"]),
                rules=rules,
            )
        except RuleInputError:
            assert got.loc[i, "relapse_timing"] is None
            continue
        compared += 1
        assert got.loc[i, "relapse_timing"] == expected.timing.timing.value, i
        site = expected.site.site_class
        assert got.loc[i, "relapse_site_class"] == (None if site is None else site.value), i
        group = expected.strategic_group
        assert got.loc[i, "bfm_strategic_group"] == (None if group is None else group.group.value), i
        risk = None if expected.intreall is None or expected.intreall.group is None else expected.intreall.group.value
        assert got.loc[i, "intreall_risk"] == risk, i
    assert compared > 2000


def test_missing_marrow_blasts_use_the_site_flags():
    frame = pd.DataFrame(
        {
            "diagnosis_date": pd.to_datetime(["2015-01-01"] * 3),
            "relapse_date": pd.to_datetime(["2016-01-01"] * 3),
            "frontline_end_date": pd.to_datetime(["2017-01-01"] * 3),
            "marrow_blasts_pct": [np.nan] * 3,
            "site_bone_marrow": [True, True, False],
            "site_cns": [False, True, True],
            "site_testis": [False] * 3,
            "site_other_extramedullary": [False] * 3,
        }
    )
    got = classify_relapses(frame, DEFAULT_RULES)
    assert got["relapse_site_class"].tolist() == ["isolated_marrow", "combined", "isolated_extramedullary"]
    assert got["relapse_site_detail"].tolist() == ["BM", "BM+CNS", "CNS"]


def test_groups_only_where_asked():
    frame = _random_relapses(3, 50)
    got = classify_relapses(frame, DEFAULT_RULES, groups=np.zeros(50, dtype=bool))
    assert got["bfm_strategic_group"].isna().all() and got["intreall_risk"].isna().all()


@pytest.mark.parametrize(
    "rules",
    [DEFAULT_RULES, RuleSet.from_mapping({"mrd_negative_threshold": 1e-3, "complete_mrd_min_sensitivity": 1e-5})],
)
def test_mrd_status_equals_scalar_rule(rules):
    rng = np.random.default_rng(5)
    n = 5000
    detected = rng.random(n) < 0.6
    fraction = np.where(detected, rng.choice([1e-6, 5e-5, 9.99e-5, 1e-4, 2e-4, 1e-3, 0.5], n), np.nan)
    sensitivity = rng.choice([np.nan, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2], n)
    value, status, complete = mrd_status_columns(fraction, detected, sensitivity, rules)
    for i in range(n):
        expected = mrd_status(float(value[i]), None if np.isnan(sensitivity[i]) else float(sensitivity[i]), rules=rules)
        assert status[i] == expected.status.value, i
        assert complete[i] == expected.complete_mrd_response, i


def test_month_arithmetic_matches_add_calendar_months():
    from blinareg.rules import add_calendar_months

    days = pd.date_range("2019-01-25", "2021-03-05")
    shifted = pd.Series(days) + pd.DateOffset(months=18)
    for day, got in zip(days, shifted):
        assert got.date() == add_calendar_months(day.date(), 18)
    assert add_calendar_months(dt.date(2020, 8, 31), 18) == dt.date(2022, 2, 28)
