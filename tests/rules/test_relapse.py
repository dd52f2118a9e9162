"""Relapse timing, site, marrow status, BFM strategic groups, IntReALL risk (clinical-rules.md §3)."""

from __future__ import annotations

from datetime import date

import pytest

from blinareg.rules import (
    RuleInputError,
    RuleSet,
    add_calendar_months,
    bfm_strategic_group,
    classify_relapse,
    intreall_risk,
    marrow_status,
    relapse_site,
    relapse_timing,
)
from blinareg.rules.vocabulary import BfmStrategicGroup, IntreallRisk, MarrowStatus, RelapseSiteClass, RelapseTiming

VE, E, L = RelapseTiming.VERY_EARLY, RelapseTiming.EARLY, RelapseTiming.LATE
IM, IEM, C = RelapseSiteClass.ISOLATED_MARROW, RelapseSiteClass.ISOLATED_EXTRAMEDULLARY, RelapseSiteClass.COMBINED
S1, S2, S3, S4 = BfmStrategicGroup.S1, BfmStrategicGroup.S2, BfmStrategicGroup.S3, BfmStrategicGroup.S4
HR, SR = IntreallRisk.HIGH, IntreallRisk.STANDARD

DX = date(2020, 1, 15)
EOT = date(2022, 6, 1)


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2020, 1, 15), 18, date(2021, 7, 15)),
        (date(2020, 8, 31), 18, date(2022, 2, 28)),  # no 31 Feb: the month's last day
        (date(2022, 8, 31), 18, date(2024, 2, 29)),  # leap year
        (date(2022, 6, 1), 6, date(2022, 12, 1)),
        (date(2020, 12, 31), 36, date(2023, 12, 31)),
    ],
)
def test_add_calendar_months(start, months, expected):
    assert add_calendar_months(start, months) == expected


@pytest.mark.parametrize(
    ("relapse", "timing"),
    [
        (date(2020, 2, 1), VE),
        (date(2021, 7, 14), VE),  # the day before diagnosis + 18 months
        (date(2021, 7, 15), E),  # exactly 18 months: no longer very early
        (date(2022, 11, 30), E),  # the day before end of therapy + 6 months
        (date(2022, 12, 1), L),  # exactly 6 months after the end of therapy
        (date(2025, 1, 1), L),
    ],
)
def test_bfm_timing_boundaries(relapse, timing):
    result = relapse_timing(DX, relapse, EOT)
    assert result.timing is timing
    assert result.very_early_before == date(2021, 7, 15)


def test_bfm_timing_on_therapy_after_18_months_is_early():
    assert relapse_timing(DX, date(2021, 12, 1), EOT).timing is E  # before end of therapy


def test_bfm_very_early_needs_no_end_of_therapy():
    assert relapse_timing(DX, date(2021, 1, 1)).timing is VE


def test_month_end_diagnosis_boundary():
    dx = date(2020, 8, 31)
    assert relapse_timing(dx, date(2022, 2, 27), EOT).timing is VE
    assert relapse_timing(dx, date(2022, 2, 28), date(2022, 2, 1)).timing is E


@pytest.mark.parametrize(
    ("relapse", "timing"),
    [(date(2021, 7, 14), VE), (date(2021, 7, 15), E), (date(2023, 1, 14), E), (date(2023, 1, 15), L)],
)
def test_cog_timing_boundaries(relapse, timing):
    assert relapse_timing(DX, relapse, None, "cog").timing is timing


@pytest.mark.parametrize(
    ("relapse", "eot", "argument"),
    [
        (date(2021, 7, 15), None, "end_of_frontline_date"),  # BFM needs it from 18 months
        (date(2021, 1, 1), date(2019, 12, 31), "end_of_frontline_date"),  # end of therapy before diagnosis
        (DX, EOT, "relapse_date"),
        (date(2019, 1, 1), EOT, "relapse_date"),
    ],
)
def test_relapse_timing_bad_input(relapse, eot, argument):
    with pytest.raises(RuleInputError) as caught:
        relapse_timing(DX, relapse, eot)
    assert caught.value.argument == argument


def test_end_of_therapy_before_diagnosis_message():
    with pytest.raises(
        RuleInputError, match=r"end_of_frontline_date=.* must not be before diagnosis_date \(2020-01-15\)"
    ):
        relapse_timing(DX, date(2021, 1, 1), date(2019, 12, 31))


def test_timing_rule_is_configurable():
    rules = RuleSet.from_mapping({"very_early_months": 24})
    assert relapse_timing(DX, date(2021, 7, 15), EOT, rules=rules).timing is VE


@pytest.mark.parametrize(
    ("blasts", "status"),
    [
        (0, MarrowStatus.M1),
        (4.99, MarrowStatus.M1),
        (5, MarrowStatus.M2),
        (24.99, MarrowStatus.M2),
        (25, MarrowStatus.M3),
        (100, MarrowStatus.M3),
    ],
)
def test_marrow_status_5_and_25(blasts, status):
    assert marrow_status(blasts) is status


@pytest.mark.parametrize("blasts", [-0.1, 100.1, float("nan")])
def test_marrow_status_bad_input(blasts):
    with pytest.raises(RuleInputError, match="blasts_pct"):
        marrow_status(blasts)


@pytest.mark.parametrize(
    ("blasts", "flags", "site", "status"),
    [
        (25, {}, IM, MarrowStatus.M3),
        (90, {}, IM, MarrowStatus.M3),
        (24.9, {}, None, MarrowStatus.M2),  # M2 without extramedullary disease: no relapse criterion
        (2, {}, None, MarrowStatus.M1),
        (4.9, {"cns": True}, IEM, MarrowStatus.M1),
        (0, {"testis": True}, IEM, MarrowStatus.M1),
        (4.9, {"other_extramedullary": True}, IEM, MarrowStatus.M1),
        (5, {"cns": True}, C, MarrowStatus.M2),  # >= 5% plus extramedullary: combined
        (30, {"cns": True, "testis": True}, C, MarrowStatus.M3),
    ],
)
def test_relapse_site(blasts, flags, site, status):
    result = relapse_site(blasts, **flags)
    assert (result.site_class, result.marrow_status) == (site, status)
    assert result.extramedullary_sites == tuple(k for k, v in flags.items() if v)


# (timing, site, lineage) -> BFM group (ALL-REZ BFM split) and IntReALL risk
TABLE = [
    (L, IEM, "b", S1, SR),
    (E, IEM, "b", S2, SR),
    (VE, IEM, "b", S2, HR),
    (L, IM, "b", S2, SR),
    (E, IM, "b", S3, HR),
    (VE, IM, "b", S4, HR),
    (L, C, "b", S2, SR),
    (E, C, "b", S2, SR),
    (VE, C, "b", S4, HR),
    (L, IEM, "t", S1, SR),
    (E, IEM, "t", S2, SR),
    (VE, IEM, "t", S2, HR),
    (L, IM, "t", S4, HR),
    (E, IM, "t", S4, HR),
    (VE, IM, "t", S4, HR),
    (L, C, "t", S4, HR),
    (E, C, "t", S4, HR),
    (VE, C, "t", S4, HR),
]


@pytest.mark.parametrize(("timing", "site", "lineage", "group", "risk"), TABLE)
def test_bfm_strategic_group(timing, site, lineage, group, risk):
    result = bfm_strategic_group(timing, site, lineage)
    assert result.group is group
    assert (result.unconfirmed_rules == ("bfm_s3_s4_split",)) == (group in (S3, S4))


@pytest.mark.parametrize(("timing", "site", "lineage", "group", "risk"), TABLE)
def test_intreall_risk(timing, site, lineage, group, risk):
    result = intreall_risk(timing, site, lineage)
    assert result.group is risk
    assert (result.unconfirmed_rules == ("intreall_standard_risk",)) == (risk is SR)


def test_bfm_split_merged():
    rules = RuleSet.from_mapping({"bfm_s3_s4_split": "merged"})
    assert bfm_strategic_group(E, IM, "b", rules=rules).group is BfmStrategicGroup.S3_S4
    assert bfm_strategic_group(VE, C, "t", rules=rules).group is BfmStrategicGroup.S3_S4
    assert bfm_strategic_group(L, IM, "b", rules=rules).group is S2


def test_intreall_standard_risk_is_configurable():
    rules = RuleSet.from_mapping({"intreall_standard_risk": ["b:late:isolated_marrow"]})
    assert intreall_risk(L, IM, "b", rules=rules).group is SR
    assert intreall_risk(L, C, "b", rules=rules).group is None
    assert intreall_risk(VE, IM, "b", rules=rules).group is HR


@pytest.mark.parametrize(
    ("args", "argument"), [(("soon", IM, "b"), "timing"), ((L, "bone", "b"), "site"), ((L, IM, "x"), "lineage")]
)
def test_group_bad_input(args, argument):
    with pytest.raises(RuleInputError) as caught:
        bfm_strategic_group(*args)
    assert caught.value.argument == argument


def test_classify_relapse():
    result = classify_relapse(DX, date(2021, 3, 1), EOT, 60, "b")
    assert (result.timing.timing, result.site.site_class) == (VE, IM)
    assert result.strategic_group.group is S4 and result.intreall.group is HR
    assert result.unconfirmed_rules == ("bfm_s3_s4_split",)
    late_cns = classify_relapse(DX, date(2023, 6, 1), EOT, 1, "b", cns=True)
    assert (late_cns.strategic_group.group, late_cns.intreall.group) == (S1, SR)
    not_relapse = classify_relapse(DX, date(2023, 6, 1), EOT, 10, "b")
    assert not_relapse.site.site_class is None and not_relapse.strategic_group is None
    cog = classify_relapse(DX, date(2023, 6, 1), None, 60, "b", scheme="cog")
    assert cog.strategic_group is None and cog.intreall is None
