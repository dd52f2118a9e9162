"""RuleSet: reference values, UNCONFIRMED flags, center overrides (clinical-rules.md)."""

from __future__ import annotations

import pytest

from blinareg.errors import UserError
from blinareg.rules import DEFAULT_RULES, Rule, RuleConfigError, RuleInputError, RuleSet

# (rule, value in clinical-rules.md)
CONFIRMED = [
    ("dose_weight_threshold_kg", 45.0),
    ("step_dose_cap_mcg_per_day", 9.0),
    ("full_dose_cap_mcg_per_day", 28.0),
    ("step_dose_mcg_per_m2_per_day", 5.0),
    ("full_dose_mcg_per_m2_per_day", 15.0),
    ("rr_step_up_day", 8),
    ("rr_hospital_days", (9, 2)),
    ("mrd_hospital_days", (3, 2)),
    ("interruption_max_continue_days", 7),
    ("mrd_negative_threshold", 1e-4),
    ("mrd_positive_indication_threshold", 1e-3),
    ("very_early_months", 18),
    ("early_after_end_of_therapy_months", 6),
    ("cog_early_months", 36),
    ("marrow_m2_min_pct", 5.0),
    ("marrow_m3_min_pct", 25.0),
    ("crs_fever_min_c", 38.0),
    ("low_flow_max_l_min", 6.0),
    ("capd_delirium_min", 9),
    ("cr_platelets_above_per_ul", 100_000.0),
    ("crh_anc_above_per_ul", 500.0),
]

UNCONFIRMED = [
    "capd_age_cutoff_years",
    "capd_age_cutoff_inclusive",
    "bfm_s3_s4_split",
    "intreall_standard_risk",
    "consolidation_cycles",
    "consolidation_treatment_free_days",
    "dm_crs_interrupt_grade",
    "dm_neuro_max_days_to_resolve",
    "cri_requires_one_recovered_count",
    "pr_min_blast_reduction",
    "progression_min_blast_increase",
]


@pytest.mark.parametrize(("name", "value"), CONFIRMED)
def test_confirmed_reference_values(name, value):
    rule = DEFAULT_RULES.rule(name)
    assert rule.value == value
    assert rule.unconfirmed is False
    assert "clinical-rules.md" in rule.source


@pytest.mark.parametrize("name", UNCONFIRMED)
def test_unconfirmed_items_are_flagged_and_listed(name):
    assert DEFAULT_RULES.rule(name).unconfirmed is True
    listed = {item.name: item for item in DEFAULT_RULES.unconfirmed_items()}
    assert name in listed
    assert listed[name].source and "UNCONFIRMED" in listed[name].note()


def test_every_rule_has_source_and_description():
    for item in DEFAULT_RULES.items():
        assert item.source.strip(), item.name
        assert item.description.strip(), item.name
    assert all(item.unconfirmed for item in DEFAULT_RULES.unconfirmed_items())


def test_bare_override_keeps_flag_and_names_center():
    rules = RuleSet.from_mapping({"capd_age_cutoff_inclusive": True, "dose_weight_threshold_kg": 40})
    assert rules.capd_age_cutoff_inclusive.value is True
    assert rules.capd_age_cutoff_inclusive.unconfirmed is True
    assert rules.capd_age_cutoff_inclusive.source.startswith("center configuration")
    assert rules.dose_weight_threshold_kg.value == 40.0
    assert isinstance(rules.dose_weight_threshold_kg.value, float)
    assert DEFAULT_RULES.capd_age_cutoff_inclusive.value is False  # pure: the default is untouched


def test_table_override_with_source_can_confirm():
    rules = RuleSet.from_mapping(
        {"consolidation_cycles": {"value": 1, "source": "Center SOP 2024 section 3", "unconfirmed": False}}
    )
    assert rules.consolidation_cycles.value == 1
    assert rules.consolidation_cycles.source == "Center SOP 2024 section 3"
    assert "consolidation_cycles" not in {item.name for item in rules.unconfirmed_items()}


def test_override_on_a_base():
    base = RuleSet.from_mapping({"consolidation_cycles": 2})
    rules = RuleSet.from_mapping({"bfm_s3_s4_split": "merged"}, base=base)
    assert (rules.consolidation_cycles.value, rules.bfm_s3_s4_split.value) == (2, "merged")


@pytest.mark.parametrize(
    ("mapping", "key"),
    [
        ({"capd_age_cuttoff_years": 12}, "capd_age_cuttoff_years"),
        ({"capd_age_cutoff_inclusive": "yes"}, "capd_age_cutoff_inclusive"),
        ({"dose_weight_threshold_kg": -1}, "dose_weight_threshold_kg"),
        ({"crs_fever_min_c": True}, "crs_fever_min_c"),
        ({"very_early_months": 18.5}, "very_early_months"),
        ({"rr_hospital_days": [9]}, "rr_hospital_days"),
        ({"bfm_s3_s4_split": "other"}, "bfm_s3_s4_split"),
        ({"intreall_standard_risk": ["b:late:bone"]}, "intreall_standard_risk"),
        ({"consolidation_cycles": {"value": 1, "unconfirmed": False}}, "consolidation_cycles.unconfirmed"),
        ({"consolidation_cycles": {"source": "x"}}, "consolidation_cycles.value"),
        ({"consolidation_cycles": {"value": 1, "note": "x"}}, "consolidation_cycles.note"),
        ({"consolidation_cycles": {"value": 1, "source": ""}}, "consolidation_cycles.source"),
        ({"marrow_m2_min_pct": 30}, "marrow_m2_min_pct"),  # must stay below marrow_m3_min_pct
        ({"step_dose_mcg_per_day": 30}, "step_dose_mcg_per_day"),  # must not exceed the full dose
    ],
)
def test_bad_overrides_name_the_key(mapping, key):
    with pytest.raises(RuleConfigError) as caught:
        RuleSet.from_mapping(mapping)
    assert caught.value.argument == key
    assert str(caught.value).startswith(key)


def test_unknown_key_suggests_close_match():
    with pytest.raises(RuleConfigError, match="did you mean 'capd_age_cutoff_years'"):
        RuleSet.from_mapping({"capd_age_cuttoff_years": 12})


def test_errors_are_value_and_user_errors():
    assert issubclass(RuleInputError, ValueError)
    assert issubclass(RuleInputError, UserError)
    assert issubclass(RuleConfigError, RuleInputError)


def test_notes_list_only_unconfirmed_rules():
    notes = DEFAULT_RULES.notes(("consolidation_cycles", "dose_weight_threshold_kg", "consolidation_cycles"))
    assert len(notes) == 1 and notes[0].startswith("UNCONFIRMED rule consolidation_cycles = 4")


@pytest.mark.parametrize(
    ("field", "rule"),
    [
        ("dose_weight_threshold_kg", "45"),
        ("dose_weight_threshold_kg", Rule(-45.0, "made up")),
        ("dose_weight_threshold_kg", Rule(45.0, "")),
    ],
)
def test_direct_construction_is_checked_too(field, rule):
    with pytest.raises(RuleConfigError) as caught:
        RuleSet(**{field: rule})
    assert caught.value.argument == field


def test_from_mapping_needs_a_table():
    with pytest.raises(RuleConfigError, match="rules="):
        RuleSet.from_mapping(["consolidation_cycles"])


def test_rule_functions_have_short_signatures() -> None:
    # help() of a rule function once printed ~19 KB: the default RuleSet spelled out field by field.
    import inspect

    import blinareg.rules as rules_package

    functions = [
        getattr(rules_package, name)
        for name in rules_package.__all__
        if inspect.isfunction(getattr(rules_package, name))
    ]
    assert functions
    for function in functions:
        signature = str(inspect.signature(function))
        assert len(signature) < 1000, f"{function.__name__}{signature[:200]}..."


def test_ruleset_repr_is_short_and_names_overrides() -> None:
    from blinareg.rules import DEFAULT_RULES, RuleSet

    assert repr(DEFAULT_RULES) == "RuleSet(<reference rules>)"
    center = RuleSet.from_mapping({"consolidation_cycles": 1})
    assert repr(center) == "RuleSet(<reference rules with overrides: consolidation_cycles>)"
    assert (
        len(
            repr(
                RuleSet.from_mapping(
                    {
                        "consolidation_cycles": 1,
                        "capd_age_cutoff_inclusive": True,
                        "mrd_negative_threshold": 1e-5,
                        "rr_step_up_day": 9,
                    }
                )
            )
        )
        < 200
    )
