"""Relapse classification in childhood ALL: timing, site, marrow status, BFM strategic group, IntReALL risk.

Sources (clinical-rules.md §3): ALL-REZ BFM / IntReALL timing (Fuster, World J Hematol 2014; Leukemia
2022 letter on study 20120215); COG timing for contrast; BFM strategic groups (ASH); IntReALL high
risk from the NCT03590171 eligibility criteria.

Months are calendar months: "18 months from diagnosis" is the date `add_calendar_months(diagnosis, 18)`
(same day of the month, or the month's last day when it has no such day: 31 Aug 2020 + 18 months =
28 Feb 2022). A relapse on that date or later is no longer very early: very early means
``relapse_date < add_calendar_months(diagnosis_date, 18)``. The same holds for 6 months after the end
of front-line therapy and for the COG 36 months.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date

from blinareg.rules.errors import RuleInputError, check_bool, check_date, check_enum, check_number
from blinareg.rules.outcome import Explained, RuleResult
from blinareg.rules.ruleset import (
    DEFAULT_RULES,
    SRC_BFM_SPLIT,
    SRC_COG,
    SRC_INTREALL_SR,
    SRC_TIMING,
    RuleSet,
)
from blinareg.rules.vocabulary import (
    BfmStrategicGroup,
    IntreallRisk,
    Lineage,
    MarrowStatus,
    RelapseSiteClass,
    RelapseTiming,
    RelapseTimingScheme,
)

__all__ = [
    "RelapseTimingResult",
    "RelapseSiteResult",
    "StrategicGroupResult",
    "IntreallRiskResult",
    "RelapseClassification",
    "SRC_INTREALL_HR",
    "add_calendar_months",
    "relapse_timing",
    "relapse_site",
    "marrow_status",
    "bfm_strategic_group",
    "intreall_risk",
    "classify_relapse",
]

SRC_INTREALL_HR = "IntReALL high risk: NCT03590171 eligibility criteria (clinical-rules.md §3)"
SRC_BFM_GROUPS = "BFM strategic groups S1/S2 (ASH) (clinical-rules.md §3)"
SRC_SITE = (
    "relapse site: isolated marrow M3 without extramedullary disease; isolated extramedullary with < 5% "
    "marrow blasts; combined >= 5% marrow blasts plus extramedullary disease (clinical-rules.md §3)"
)


@dataclass(frozen=True, kw_only=True)
class RelapseTimingResult(RuleResult):
    """Timing of a first relapse (very early, early, late) by one scheme, with that scheme's cut-off dates."""

    timing: RelapseTiming
    scheme: RelapseTimingScheme
    very_early_before: date  # relapses before this date are very early
    early_before: date  # BFM: 6 months after end of front-line therapy; COG: diagnosis + 36 months


@dataclass(frozen=True, kw_only=True)
class RelapseSiteResult(Explained):
    """Site class of a relapse from its marrow status and extramedullary sites."""

    site_class: RelapseSiteClass | None  # None: the findings do not meet relapse criteria
    marrow_status: MarrowStatus
    extramedullary_sites: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class StrategicGroupResult(RuleResult):
    """BFM strategic group of a first relapse."""

    group: BfmStrategicGroup


@dataclass(frozen=True, kw_only=True)
class IntreallRiskResult(RuleResult):
    """IntReALL risk group of a first relapse."""

    group: IntreallRisk | None  # None: neither high risk nor in the configured standard-risk patterns


@dataclass(frozen=True)
class RelapseClassification:
    """Everything the registry derives for a first relapse."""

    timing: RelapseTimingResult
    site: RelapseSiteResult
    strategic_group: StrategicGroupResult | None  # None when the site is not classifiable or scheme is COG
    intreall: IntreallRiskResult | None
    unconfirmed_rules: tuple[str, ...]


def add_calendar_months(day: date, months: int) -> date:
    """`day` plus `months` calendar months, clamped to the last day of a shorter month."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _unconfirmed(rules: RuleSet, names: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(name for name in dict.fromkeys(names) if rules.rule(name).unconfirmed)


def relapse_timing(
    diagnosis_date: date,
    relapse_date: date,
    end_of_frontline_date: date | None = None,
    scheme: RelapseTimingScheme | str = RelapseTimingScheme.BFM,
    *,
    rules: RuleSet = DEFAULT_RULES,
) -> RelapseTimingResult:
    """Relapse timing by ALL-REZ BFM / IntReALL or COG (clinical-rules.md §3).

    BFM: very early < 18 months from initial diagnosis; early >= 18 months from diagnosis and < 6
    months after the end of front-line therapy; late >= 6 months after the end of front-line therapy.
    COG: very early < 18 months, early < 36 months, late >= 36 months from diagnosis. Calendar months,
    see the module docstring. `end_of_frontline_date` is required for BFM unless the relapse is very
    early; it may not precede the diagnosis.
    """
    dx = check_date("diagnosis_date", diagnosis_date)
    relapse = check_date("relapse_date", relapse_date)
    kind = check_enum("scheme", scheme, RelapseTimingScheme)
    if relapse <= dx:
        raise RuleInputError("relapse_date", relapse, f"must be after diagnosis_date ({dx.isoformat()})")
    eot = None if end_of_frontline_date is None else check_date("end_of_frontline_date", end_of_frontline_date)
    if eot is not None and eot < dx:
        raise RuleInputError("end_of_frontline_date", eot, f"must not be before diagnosis_date ({dx.isoformat()})")
    months = rules.very_early_months.value
    very_early_before = add_calendar_months(dx, months)

    def result(
        timing: RelapseTiming, early_before: date, reason: str, source: str, used: tuple[str, ...]
    ) -> RelapseTimingResult:
        return RelapseTimingResult(
            timing=timing,
            scheme=kind,
            very_early_before=very_early_before,
            early_before=early_before,
            reason=reason,
            source=source,
            unconfirmed_rules=_unconfirmed(rules, used),
        )

    if kind is RelapseTimingScheme.COG:
        cog_months = rules.cog_early_months.value
        early_before = add_calendar_months(dx, cog_months)
        timing = (
            RelapseTiming.VERY_EARLY
            if relapse < very_early_before
            else RelapseTiming.EARLY
            if relapse < early_before
            else RelapseTiming.LATE
        )
        reason = (
            f"COG: relapse {relapse.isoformat()}; very early before {very_early_before.isoformat()} "
            f"(diagnosis + {months} months), early before {early_before.isoformat()} (+ {cog_months} months)"
        )
        return result(timing, early_before, reason, SRC_COG, ("very_early_months", "cog_early_months"))
    if relapse < very_early_before:
        reason = (
            f"BFM: relapse {relapse.isoformat()} before {very_early_before.isoformat()} "
            f"(diagnosis + {months} months): very early"
        )
        early_before = (
            add_calendar_months(eot, rules.early_after_end_of_therapy_months.value) if eot else very_early_before
        )
        return result(RelapseTiming.VERY_EARLY, early_before, reason, SRC_TIMING, ("very_early_months",))
    if eot is None:
        raise RuleInputError(
            "end_of_frontline_date",
            None,
            f"is required (BFM) for a relapse >= {months} months "
            f"after diagnosis (on or after {very_early_before.isoformat()})",
        )
    after = rules.early_after_end_of_therapy_months.value
    early_before = add_calendar_months(eot, after)
    timing = RelapseTiming.EARLY if relapse < early_before else RelapseTiming.LATE
    reason = (
        f"BFM: relapse {relapse.isoformat()} on or after {very_early_before.isoformat()} (diagnosis + {months} "
        f"months) and {'before' if timing is RelapseTiming.EARLY else 'on or after'} "
        f"{early_before.isoformat()} (end of front-line therapy + {after} months): {timing.value}"
    )
    return result(timing, early_before, reason, SRC_TIMING, ("very_early_months", "early_after_end_of_therapy_months"))


def marrow_status(blasts_pct: float, *, rules: RuleSet = DEFAULT_RULES) -> MarrowStatus:
    """M1 < 5% blasts, M2 5% to < 25%, M3 >= 25% (clinical-rules.md §3; `marrow_m2_min_pct`, `marrow_m3_min_pct`)."""
    blasts = check_number("blasts_pct", blasts_pct)
    if blasts >= rules.marrow_m3_min_pct.value:
        return MarrowStatus.M3
    if blasts >= rules.marrow_m2_min_pct.value:
        return MarrowStatus.M2
    return MarrowStatus.M1


def relapse_site(
    marrow_blasts_pct: float,
    cns: bool = False,
    testis: bool = False,
    other_extramedullary: bool = False,
    *,
    rules: RuleSet = DEFAULT_RULES,
) -> RelapseSiteResult:
    """Site class of a relapse (clinical-rules.md §3).

    Isolated marrow: M3 marrow (>= 25% blasts) without extramedullary disease. Isolated extramedullary
    (CNS, testis, other): < 5% marrow blasts. Combined: >= 5% marrow blasts plus extramedullary disease.
    An M1/M2 marrow without extramedullary disease meets no relapse criterion: `site_class` is None.
    """
    blasts = check_number("marrow_blasts_pct", marrow_blasts_pct)
    flags = {
        "cns": check_bool("cns", cns),
        "testis": check_bool("testis", testis),
        "other_extramedullary": check_bool("other_extramedullary", other_extramedullary),
    }
    sites = tuple(name for name, present in flags.items() if present)
    status = marrow_status(blasts, rules=rules)
    m2, m3 = rules.marrow_m2_min_pct.value, rules.marrow_m3_min_pct.value
    if sites:
        if blasts >= m2:
            site, reason = RelapseSiteClass.COMBINED, f"{blasts:g}% marrow blasts (>= {m2:g}%) plus {', '.join(sites)}"
        else:
            site, reason = (
                RelapseSiteClass.ISOLATED_EXTRAMEDULLARY,
                f"{', '.join(sites)} with {blasts:g}% marrow blasts (< {m2:g}%)",
            )
    elif status is MarrowStatus.M3:
        site, reason = (
            RelapseSiteClass.ISOLATED_MARROW,
            f"M3 marrow ({blasts:g}% >= {m3:g}%) without extramedullary disease",
        )
    else:
        site = None
        reason = (
            f"{status.value} marrow ({blasts:g}% < {m3:g}%) without extramedullary disease meets no relapse "
            "site criterion"
        )
    return RelapseSiteResult(
        site_class=site, marrow_status=status, extramedullary_sites=sites, reason=reason, source=SRC_SITE
    )


def _check_group_inputs(
    timing: object, site: object, lineage: object
) -> tuple[RelapseTiming, RelapseSiteClass, Lineage]:
    return (
        check_enum("timing", timing, RelapseTiming),
        check_enum("site", site, RelapseSiteClass),
        check_enum("lineage", lineage, Lineage),
    )


def bfm_strategic_group(
    timing: RelapseTiming | str,
    site: RelapseSiteClass | str,
    lineage: Lineage | str,
    *,
    rules: RuleSet = DEFAULT_RULES,
) -> StrategicGroupResult:
    """BFM strategic group of a first relapse (ASH; clinical-rules.md §3); `timing` by the BFM scheme.

    S1: late isolated extramedullary. S2: very early or early isolated extramedullary; late isolated
    B-lineage marrow; early or late combined B-lineage. S3/S4: very early or early isolated B-lineage
    marrow, very early combined B-lineage, T-lineage marrow (isolated or combined) at any time. The
    S3/S4 split is rule data `bfm_s3_s4_split` (UNCONFIRMED): "alrez_bfm" gives S3 = early isolated
    B-lineage marrow and S4 = the rest; "merged" reports S3/S4.
    """
    when, where, line = _check_group_inputs(timing, site, lineage)
    label = f"{when.value} {where.value.replace('_', ' ')} ({line.value.upper()}-lineage)"
    if where is RelapseSiteClass.ISOLATED_EXTRAMEDULLARY:
        group = BfmStrategicGroup.S1 if when is RelapseTiming.LATE else BfmStrategicGroup.S2
        return StrategicGroupResult(
            group=group, reason=f"{label}: {group.value}", source=SRC_BFM_GROUPS, unconfirmed_rules=()
        )
    if line is Lineage.B and (
        when is RelapseTiming.LATE or (where is RelapseSiteClass.COMBINED and when is RelapseTiming.EARLY)
    ):
        return StrategicGroupResult(
            group=BfmStrategicGroup.S2, reason=f"{label}: S2", source=SRC_BFM_GROUPS, unconfirmed_rules=()
        )
    split = rules.bfm_s3_s4_split.value
    if split == "merged":
        group = BfmStrategicGroup.S3_S4
    elif line is Lineage.B and where is RelapseSiteClass.ISOLATED_MARROW and when is RelapseTiming.EARLY:
        group = BfmStrategicGroup.S3
    else:
        group = BfmStrategicGroup.S4
    return StrategicGroupResult(
        group=group,
        reason=f"{label}: {group.value} (S3/S4 split: {split})",
        source=SRC_BFM_SPLIT,
        unconfirmed_rules=_unconfirmed(rules, ("bfm_s3_s4_split",)),
    )


def intreall_risk(
    timing: RelapseTiming | str,
    site: RelapseSiteClass | str,
    lineage: Lineage | str,
    *,
    rules: RuleSet = DEFAULT_RULES,
) -> IntreallRiskResult:
    """IntReALL risk group of a first relapse; `timing` by the BFM scheme (clinical-rules.md §3).

    High risk (NCT03590171 eligibility): any T-lineage marrow relapse (isolated or combined), early or
    very early isolated marrow relapse, very early isolated extramedullary or very early combined
    relapse. Standard risk: the 'lineage:timing:site' patterns of rule data `intreall_standard_risk`
    (default every other first relapse; UNCONFIRMED). A pattern in neither gives group None.
    """
    when, where, line = _check_group_inputs(timing, site, lineage)
    label = f"{when.value} {where.value.replace('_', ' ')} ({line.value.upper()}-lineage)"
    marrow = where in (RelapseSiteClass.ISOLATED_MARROW, RelapseSiteClass.COMBINED)
    high = (
        (line is Lineage.T and marrow)
        or (where is RelapseSiteClass.ISOLATED_MARROW and when in (RelapseTiming.VERY_EARLY, RelapseTiming.EARLY))
        or (
            when is RelapseTiming.VERY_EARLY
            and where in (RelapseSiteClass.ISOLATED_EXTRAMEDULLARY, RelapseSiteClass.COMBINED)
        )
    )
    if high:
        return IntreallRiskResult(
            group=IntreallRisk.HIGH, reason=f"{label}: high risk", source=SRC_INTREALL_HR, unconfirmed_rules=()
        )
    pattern = f"{line.value}:{when.value}:{where.value}"
    used = _unconfirmed(rules, ("intreall_standard_risk",))
    if pattern in rules.intreall_standard_risk.value:
        return IntreallRiskResult(
            group=IntreallRisk.STANDARD,
            reason=f"{label}: standard risk",
            source=SRC_INTREALL_SR,
            unconfirmed_rules=used,
        )
    return IntreallRiskResult(
        group=None,
        reason=f"{label}: not high risk and not in the configured standard-risk patterns",
        source=SRC_INTREALL_SR,
        unconfirmed_rules=used,
    )


def classify_relapse(
    diagnosis_date: date,
    relapse_date: date,
    end_of_frontline_date: date | None,
    marrow_blasts_pct: float,
    lineage: Lineage | str,
    *,
    cns: bool = False,
    testis: bool = False,
    other_extramedullary: bool = False,
    scheme: RelapseTimingScheme | str = RelapseTimingScheme.BFM,
    rules: RuleSet = DEFAULT_RULES,
) -> RelapseClassification:
    """Timing, site, BFM strategic group and IntReALL risk of a first relapse (clinical-rules.md §3).

    The groups need BFM timing and a classifiable site; otherwise they are None.
    """
    timing = relapse_timing(diagnosis_date, relapse_date, end_of_frontline_date, scheme, rules=rules)
    site = relapse_site(marrow_blasts_pct, cns, testis, other_extramedullary, rules=rules)
    line = check_enum("lineage", lineage, Lineage)
    group = risk = None
    if site.site_class is not None and timing.scheme is RelapseTimingScheme.BFM:
        group = bfm_strategic_group(timing.timing, site.site_class, line, rules=rules)
        risk = intreall_risk(timing.timing, site.site_class, line, rules=rules)
    used = (
        timing.unconfirmed_rules + (group.unconfirmed_rules if group else ()) + (risk.unconfirmed_rules if risk else ())
    )
    return RelapseClassification(timing, site, group, risk, tuple(dict.fromkeys(used)))
