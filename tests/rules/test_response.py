"""MRD status and response category (clinical-rules.md §4)."""

from __future__ import annotations

import pytest

from blinareg.rules import RuleInputError, RuleSet, meets_mrd_positive_indication, mrd_status, response_category
from blinareg.rules.vocabulary import MrdStatus, ResponseCategory

POS, NEG, NE = MrdStatus.POSITIVE, MrdStatus.NEGATIVE, MrdStatus.NOT_EVALUABLE


@pytest.mark.parametrize(
    ("value", "sensitivity", "status", "complete"),
    [
        (1e-4, 1e-5, POS, False),  # exactly at 1e-4 is positive
        (0.01 / 100, None, POS, False),  # 0.01% given as a percentage / 100
        (9.99e-5, 1e-5, NEG, False),  # detected below 1e-4: negative, not a complete MRD response
        (9.99e-5, None, NEG, False),
        (0.0, 1e-4, NEG, True),  # not detected at a sensitivity of 1e-4
        (0.0, 1e-6, NEG, True),
        (0.0, 1e-3, NE, False),  # not detected, assay too coarse
        (0.0, None, NE, False),
        (0.5, 1e-4, POS, False),
    ],
)
def test_mrd_status(value, sensitivity, status, complete):
    result = mrd_status(value, sensitivity)
    assert (result.status, result.complete_mrd_response) == (status, complete)
    assert result.threshold == 1e-4


def test_mrd_threshold_argument_and_rule():
    assert mrd_status(5e-4, 1e-5, 1e-3).status is NEG
    rules = RuleSet.from_mapping({"mrd_negative_threshold": 1e-3})
    assert mrd_status(5e-4, 1e-5, rules=rules).status is NEG


@pytest.mark.parametrize(
    ("value", "sensitivity", "threshold", "argument"),
    [
        (1.5, None, None, "value"),
        (-1e-5, None, None, "value"),
        (0, 0, None, "sensitivity"),
        (0, 2, None, "sensitivity"),
        (0, 1e-4, 0, "threshold"),
        ("1e-4", None, None, "value"),
    ],
)
def test_mrd_bad_input(value, sensitivity, threshold, argument):
    with pytest.raises(RuleInputError) as caught:
        mrd_status(value, sensitivity, threshold)
    assert caught.value.argument == argument


@pytest.mark.parametrize(("value", "meets"), [(1e-3, True), (9.99e-4, False), (0.2, True)])
def test_mrd_positive_indication_01_percent(value, meets):
    assert meets_mrd_positive_indication(value) is meets


CR, CRH, CRI, PR, NR, PD = (
    ResponseCategory.CR,
    ResponseCategory.CRH,
    ResponseCategory.CRI,
    ResponseCategory.PR,
    ResponseCategory.NO_RESPONSE,
    ResponseCategory.PROGRESSION,
)


@pytest.mark.parametrize(
    ("blasts", "anc", "platelets", "em", "circ", "extra", "category"),
    [
        (0, 1001, 100_001, False, False, {}, CR),
        (5, 1001, 100_001, False, False, {}, CR),  # <= 5% blasts
        (5.1, 1001, 100_001, False, False, {}, NR),
        (5, 1001, 100_000, False, False, {}, CRH),  # platelets must be > 100,000
        (5, 1000, 100_001, False, False, {}, CRH),  # ANC must be > 1,000
        (5, 501, 50_001, False, False, {}, CRH),
        (5, 500, 50_001, False, False, {}, CRI),  # ANC must be > 500 for CRh
        (5, 501, 50_000, False, False, {}, CRI),
        (2, 100, 10_000, False, False, {}, CRI),
        (2, 1001, 100_001, True, False, {}, NR),  # extramedullary disease: no CR
        (2, 1001, 100_001, False, True, {}, NR),  # circulating blasts: no CR
        (20, 1500, 150_000, False, False, {"baseline_blasts_pct": 40}, PR),
        (20, 1500, 150_000, False, False, {"baseline_blasts_pct": 39}, NR),  # < 50% reduction
        (26, 1500, 150_000, False, False, {"baseline_blasts_pct": 80}, NR),  # > 25%
        (20, 900, 150_000, False, False, {"baseline_blasts_pct": 80}, NR),  # counts not at CR level
        (50, 900, 20_000, False, False, {"baseline_blasts_pct": 40}, PD),  # +25%
        (49.9, 900, 20_000, False, False, {"baseline_blasts_pct": 40}, NR),
        (2, 1001, 100_001, True, False, {"new_extramedullary": True}, PD),
    ],
)
def test_response_category(blasts, anc, platelets, em, circ, extra, category):
    result = response_category(blasts, anc, platelets, em, circ, **extra)
    assert result.category is category
    unconfirmed = category in (CRI, PR, PD) or "baseline_blasts_pct" in extra
    assert bool(result.unconfirmed_rules) is unconfirmed


def test_cri_definition_is_rule_data():
    tower = RuleSet.from_mapping({"cri_requires_one_recovered_count": True})
    assert response_category(2, 1001, 10_000, False, False, rules=tower).category is CRI
    assert response_category(2, 100, 10_000, False, False, rules=tower).category is NR


def test_no_baseline_says_pr_not_assessable():
    result = response_category(20, 1500, 150_000, False, False)
    assert result.category is NR and "not assessable without baseline_blasts_pct" in result.reason


@pytest.mark.parametrize(
    ("args", "kwargs", "argument"),
    [
        ((101, 1000, 1000, False, False), {}, "blasts_pct"),
        ((5, -1, 1000, False, False), {}, "anc"),
        ((5, 1000, -5, False, False), {}, "platelets"),
        ((5, 1000, 1000, "no", False), {}, "extramedullary"),
        ((5, 1000, 1000, False, False), {"new_extramedullary": True}, "new_extramedullary"),
    ],
)
def test_response_bad_input(args, kwargs, argument):
    with pytest.raises(RuleInputError) as caught:
        response_category(*args, **kwargs)
    assert caught.value.argument == argument
