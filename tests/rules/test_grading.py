"""ASTCT CRS/ICANS (Lee et al. 2019) and CTCAE v5 grades, as read in clinical-rules.md §2."""

from __future__ import annotations

import pytest

from blinareg.rules import (
    RuleInputError,
    RuleSet,
    grade_adverse_event,
    grade_crs,
    grade_ctcae,
    grade_icans,
    nasal_cannula_support,
    uses_capd,
)
from blinareg.rules.vocabulary import GradingSystem, OxygenSupport

O = OxygenSupport


# --- CRS --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("temperature", "vasopressors", "vasopressin", "oxygen", "extra", "grade"),
    [
        (37.9, 0, False, O.NONE, {}, 0),  # no fever: not CRS
        (37.9, 2, False, O.CPAP_BIPAP, {}, 0),
        (38.0, 0, False, O.NONE, {}, 1),  # fever is >= 38.0 C
        (38.0, 0, False, O.NONE, {"hypotension": True}, 2),
        (38.5, 0, False, O.LOW_FLOW, {"oxygen_flow_l_min": 6.0}, 2),  # low-flow is <= 6 L/min
        (38.5, 0, False, O.HIGH_FLOW, {"oxygen_flow_l_min": 6.5}, 3),
        (38.5, 0, False, O.FACEMASK, {}, 3),
        (38.5, 0, False, O.NON_REBREATHER, {}, 3),
        (38.5, 0, False, O.VENTURI, {}, 3),
        (38.5, 1, False, O.NONE, {}, 3),  # one vasopressor
        (38.5, 0, True, O.NONE, {}, 3),  # vasopressin alone counts as one vasopressor
        (38.5, 1, True, O.NONE, {}, 3),  # one vasopressor with vasopressin
        (38.5, 2, False, O.NONE, {}, 4),  # several vasopressors
        (38.5, 0, False, O.CPAP_BIPAP, {}, 4),
        (38.5, 0, False, O.MECHANICAL_VENTILATION, {}, 4),
        (38.5, 1, False, O.LOW_FLOW, {}, 3),  # the more severe of hypotension and hypoxia
        (38.5, 0, False, O.NONE, {"fatal": True}, 5),
        (None, 0, False, O.LOW_FLOW, {"fever_masked": True}, 2),  # fever not required after tocilizumab
        (37.0, 0, False, O.FACEMASK, {"fever_masked": True}, 3),
    ],
)
def test_grade_crs(temperature, vasopressors, vasopressin, oxygen, extra, grade):
    result = grade_crs(temperature, vasopressors, vasopressin, oxygen, **extra)
    assert result.grade == grade
    assert result.fever is (grade > 0)
    assert "ASTCT" in result.source


@pytest.mark.parametrize(("flow", "support"), [(0, O.NONE), (2, O.LOW_FLOW), (6.0, O.LOW_FLOW), (6.01, O.HIGH_FLOW)])
def test_nasal_cannula_6_l_min(flow, support):
    assert nasal_cannula_support(flow) is support


def test_low_flow_limit_is_rule_data():
    rules = RuleSet.from_mapping({"low_flow_max_l_min": 4})
    assert nasal_cannula_support(5, rules=rules) is O.HIGH_FLOW


@pytest.mark.parametrize(
    ("args", "kwargs", "argument", "legal"),
    [
        ((60.0,), {}, "temperature_c", ">= 25 and <= 45 C"),
        ((20.0,), {}, "temperature_c", ">= 25 and <= 45 C"),
        ((None,), {}, "temperature_c", "required"),
        ((39.0, -1), {}, "vasopressors", ">= 0"),
        ((39.0, 1.5), {}, "vasopressors", "integer"),
        ((39.0, 0, False, "nasal"), {}, "oxygen", "low_flow"),
        ((39.0, 0, False, O.LOW_FLOW), {"oxygen_flow_l_min": 8}, "oxygen_flow_l_min", "<= 6 L/min"),
        ((39.0, 0, False, O.HIGH_FLOW), {"oxygen_flow_l_min": 5}, "oxygen_flow_l_min", "> 6 L/min"),
        ((39.0, 0, False, O.NONE), {"oxygen_flow_l_min": 2}, "oxygen_flow_l_min", "oxygen=none"),
        ((39.0, 0, "yes"), {}, "vasopressin", "true or false"),
    ],
)
def test_grade_crs_bad_input(args, kwargs, argument, legal):
    with pytest.raises(RuleInputError) as caught:
        grade_crs(*args, **kwargs)
    assert caught.value.argument == argument
    assert legal in str(caught.value)


# --- ICANS ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("ice", "grade"), [(10, 0), (9, 1), (7, 1), (6, 2), (3, 2), (2, 3), (0, 3)])
def test_icans_ice_score(ice, grade):
    result = grade_icans(30, ice_score=ice)
    assert (result.grade, result.tool) == (grade, "ICE")


@pytest.mark.parametrize(
    ("kwargs", "grade"),
    [
        ({"ice_score": 10, "consciousness": "awakens_spontaneously"}, 1),
        ({"ice_score": 10, "consciousness": "awakens_to_voice"}, 2),
        ({"ice_score": 10, "consciousness": "awakens_to_touch"}, 3),
        ({"ice_score": 0, "consciousness": "unarousable"}, 4),  # ICE 0 and unarousable
        ({"unable_to_assess": True}, 4),
        ({"ice_score": 10, "seizure": "resolving"}, 3),
        ({"ice_score": 10, "seizure": "prolonged"}, 4),
        ({"ice_score": 10, "motor": "deep_focal_weakness"}, 4),
        ({"ice_score": 10, "cerebral_edema": "focal"}, 3),
        ({"ice_score": 10, "cerebral_edema": "diffuse"}, 4),
        ({"ice_score": 8, "consciousness": "awakens_to_voice", "seizure": "resolving"}, 3),  # the most severe domain
    ],
)
def test_icans_domains(kwargs, grade):
    assert grade_icans(30, **kwargs).grade == grade


@pytest.mark.parametrize(
    ("age", "capd", "consciousness", "grade"),
    [
        (11, 0, "normal", 0),
        (11, 8, "awakens_spontaneously", 1),  # CAPD < 9 and awakens spontaneously
        (11, 8, "normal", 1),
        (11, 8, "awakens_to_voice", 2),  # CAPD < 9 and awakens to voice
        (11, 9, "normal", 3),  # CAPD >= 9
        (11, 1, "awakens_to_touch", 3),
        (11.99, 9, "normal", 3),
        (2, 20, "unarousable", 4),
    ],
)
def test_icans_capd_under_12(age, capd, consciousness, grade):
    result = grade_icans(age, capd_score=capd, consciousness=consciousness)
    assert (result.grade, result.tool) == (grade, "CAPD")
    assert set(result.unconfirmed_rules) == {"capd_age_cutoff_years", "capd_age_cutoff_inclusive"}


@pytest.mark.parametrize(
    ("age", "inclusive", "capd"),
    [
        (11, False, True),
        (12, False, False),
        (12.9, False, False),
        (11, True, True),
        (12, True, True),
        (12.9, True, True),
        (13, True, False),
    ],
)
def test_capd_age_cutoff_11_12(age, inclusive, capd):
    rules = RuleSet.from_mapping({"capd_age_cutoff_inclusive": inclusive})
    assert uses_capd(age, rules=rules) is capd


@pytest.mark.parametrize(
    ("age", "kwargs", "argument"),
    [
        (30, {"ice_score": 11}, "ice_score"),
        (30, {"ice_score": -1}, "ice_score"),
        (30, {}, "ice_score"),
        (30, {"capd_score": 5}, "capd_score"),  # CAPD is not used at 30
        (11, {"ice_score": 8}, "ice_score"),  # ICE is not used at 11
        (11, {"capd_score": 33}, "capd_score"),
        (11, {}, "capd_score"),
        (-1, {"ice_score": 8}, "age_years"),
        (30, {"ice_score": 8, "consciousness": "drowsy"}, "consciousness"),
    ],
)
def test_grade_icans_bad_input(age, kwargs, argument):
    with pytest.raises(RuleInputError) as caught:
        grade_icans(age, **kwargs)
    assert caught.value.argument == argument


def test_ice_11_message():
    with pytest.raises(RuleInputError, match=r"ice_score=11 is outside the legal range >= 0 and <= 10"):
        grade_icans(30, ice_score=11)


# --- CTCAE v5 ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("term", "finding", "grade"),
    [
        ("encephalopathy", "mild", 1),
        ("encephalopathy", "moderate", 2),
        ("encephalopathy", "severe", 3),
        ("encephalopathy", "life_threatening", 4),
        ("encephalopathy", "death", 5),
        ("seizure", "brief_partial", 1),
        ("seizure", "brief_generalized", 2),
        ("seizure", "new_onset_or_multiple", 3),
        ("seizure", "life_threatening", 4),
        ("seizure", "death", 5),
        ("tremor", "mild", 1),
        ("tremor", "moderate", 2),
        ("tremor", "severe", 3),
    ],
)
def test_grade_ctcae(term, finding, grade):
    assert grade_ctcae(term, finding).grade == grade


@pytest.mark.parametrize(
    ("term", "finding", "argument"),
    [("tremor", "life_threatening", "finding"), ("seizure", "moderate", "finding"), ("crs", "mild", "term")],
)
def test_grade_ctcae_bad_input(term, finding, argument):
    with pytest.raises(RuleInputError) as caught:
        grade_ctcae(term, finding)
    assert caught.value.argument == argument


# --- from recorded parameters -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "grade"),
    [
        ({"temperature_c": 39, "vasopressors": 0, "vasopressin": False, "hypotension": False, "oxygen": "none"}, 1),
        ({"temperature_c": 39, "vasopressors": 1, "oxygen": "none"}, 3),  # hypotension/vasopressin cannot change it
        ({"temperature_c": 39, "vasopressors": 2}, 4),  # 4 whatever the oxygen
        ({"temperature_c": 39, "oxygen": "mechanical_ventilation"}, 4),
        ({"temperature_c": 37.5}, 0),  # no fever: not CRS whatever else
        ({"temperature_c": 39, "fatal": True}, 5),
        ({"temperature_c": 39, "vasopressors": 0, "oxygen": "none"}, None),  # hypotension unknown: 1 or 2
        ({"temperature_c": 39}, None),
        ({"vasopressors": 2, "oxygen": "none"}, None),  # fever unknown: 0 or 4
        ({"vasopressors": 2, "fever_masked": True}, 4),
    ],
)
def test_grade_adverse_event_crs(kwargs, grade):
    result = grade_adverse_event("crs", GradingSystem.ASTCT, **kwargs)
    assert (None if result is None else result.grade) == grade


@pytest.mark.parametrize(
    ("kwargs", "grade"),
    [
        (
            {
                "age_years": 30,
                "ice_score": 8,
                "consciousness": "normal",
                "seizure": "none",
                "motor": "none",
                "cerebral_edema": "none",
            },
            1,
        ),
        ({"seizure": "prolonged"}, 4),  # 4 whatever else, even without age
        ({"age_years": 30, "ice_score": 8}, None),
        (
            {
                "age_years": 11,
                "capd_score": 9,
                "consciousness": "normal",
                "seizure": "none",
                "motor": "none",
                "cerebral_edema": "none",
            },
            3,
        ),
        (
            {
                "age_years": 11,
                "ice_score": 9,
                "consciousness": "normal",
                "seizure": "none",
                "motor": "none",
                "cerebral_edema": "none",
            },
            None,
        ),  # ICE is not the tool at 11: CAPD unknown
        ({"age_years": 30, "unable_to_assess": True}, 4),
    ],
)
def test_grade_adverse_event_icans(kwargs, grade):
    result = grade_adverse_event("icans", "astct", **kwargs)
    assert (None if result is None else result.grade) == grade


@pytest.mark.parametrize(
    ("term", "system", "kwargs", "grade"),
    [
        ("seizure", "ctcae_v5", {"finding": "brief_generalized"}, 2),
        ("tremor", "ctcae_v5", {"finding": "severe"}, 3),
        ("encephalopathy", "ctcae_v5", {}, None),  # no finding recorded
        ("crs", "ctcae_v5", {"temperature_c": 39}, None),  # not a supported system for CRS
        ("tremor", "astct", {"finding": "mild"}, None),
    ],
)
def test_grade_adverse_event_ctcae_and_unsupported(term, system, kwargs, grade):
    result = grade_adverse_event(term, system, **kwargs)
    assert (None if result is None else result.grade) == grade


def test_grade_adverse_event_still_refuses_impossible_values():
    with pytest.raises(RuleInputError, match="temperature_c=60"):
        grade_adverse_event("crs", "astct", temperature_c=60)
    with pytest.raises(RuleInputError, match="ice_score=11"):
        grade_adverse_event("icans", "astct", age_years=30, ice_score=11)
