"""cox_zph against R survival::cox.zph (tests/reference/cox_zph.json, survival >= 3)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from blinareg.stats import SurvivalDataError, cox_ph, cox_zph

REFERENCE = Path(__file__).resolve().parents[1] / "reference"
CASES = json.loads((REFERENCE / "cox_zph.json").read_text())["cox_zph"]

RTOL = 1e-6


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_term_and_global_tests_match_r(case):
    data = pd.read_csv(REFERENCE / "data" / case["data"])
    terms = {term: list(np.atleast_1d(columns)) for term, columns in case["terms"].items()}
    columns = [c for members in terms.values() for c in members]
    zph = cox_zph(
        data[columns],
        data["time"],
        data["event"],
        ties=case["ties"],
        strata=None if case["strata"] is None else data[case["strata"]],
        terms=terms,
        transform=case["transform"],
    )
    assert zph.terms == tuple(case["term_names"])
    np.testing.assert_allclose([t.statistic for t in zph.tests], case["chisq"], rtol=RTOL)
    assert [t.df for t in zph.tests] == case["df"]
    np.testing.assert_allclose([t.p_value for t in zph.tests], case["p"], rtol=RTOL)
    statistic, df, p_value = case["global"]
    np.testing.assert_allclose(zph.global_test.statistic, statistic, rtol=RTOL)
    assert zph.global_test.df == df
    np.testing.assert_allclose(zph.global_test.p_value, p_value, rtol=RTOL)
    np.testing.assert_allclose(zph.time, case["time"], rtol=1e-12)
    np.testing.assert_allclose(zph.transformed_time, case["x"], rtol=1e-10)


def test_one_term_of_one_column_equals_its_global_test():
    data = pd.read_csv(REFERENCE / "data" / "regression_lung.csv")
    zph = cox_zph(data[["age"]], data["time"], data["event"])
    assert zph.tests[0] == zph.global_test
    assert zph.test("age") == zph.global_test


def test_the_fit_tested_is_the_cox_model_of_the_same_data():
    data = pd.read_csv(REFERENCE / "data" / "regression_lung.csv")
    zph = cox_zph(data[["age", "sex"]], data["time"], data["event"], ties="breslow")
    fit = cox_ph(data[["age", "sex"]], data["time"], data["event"], ties="breslow")
    np.testing.assert_array_equal(zph.fit.coef, fit.coef)


def test_a_constant_hazard_ratio_is_not_rejected_and_a_crossing_one_is():
    # Exponential times: x doubles the hazard throughout (PH holds) vs x's effect reversing at t = 1.
    rng = np.random.default_rng(7)
    n = 4000
    x = rng.integers(0, 2, n).astype(float)
    proportional = rng.exponential(1.0 / np.where(x == 1, 2.0, 1.0))
    early = rng.exponential(1.0 / np.where(x == 1, 4.0, 1.0))
    late = 1.0 + rng.exponential(1.0 / np.where(x == 1, 0.25, 1.0))
    crossing = np.where(early < 1.0, early, late)
    event = np.ones(n)
    assert cox_zph(x, proportional, event).global_test.p_value > 0.01
    assert cox_zph(x, crossing, event).global_test.p_value < 1e-10


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"transform": "spline"}, "transform"),
        ({"terms": {"a": ["age", "nope"]}}, "nope"),
        ({"terms": {"a": ["age"], "b": ["age", "sex"]}}, "more than one term"),
        ({"terms": {"a": ["age"]}}, "in no term"),
    ],
)
def test_bad_arguments_are_named(kwargs, message):
    data = pd.read_csv(REFERENCE / "data" / "regression_lung.csv")
    with pytest.raises(SurvivalDataError, match=message):
        cox_zph(data[["age", "sex"]], data["time"], data["event"], **kwargs)
