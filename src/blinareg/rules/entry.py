"""What the data-entry forms show beside what is typed: the rules applied to a partly filled record.

Pure functions (no I/O) for the adverse-event, cycle and relapse forms. Each takes the record as a
mapping of field name to value (a pydantic record's `model_dump()` or a form's fields; enumeration
members or their codes; missing keys and None are "not entered yet") plus the patient's context, and
composes the one implementation of each rule (`grading`, `dosing`, `delivery`, `modification`,
`relapse`, `rules.frames.relapse.marrow_blasts_used`); nothing here re-states a threshold. Sources and
UNCONFIRMED rules travel with the results.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from enum import Enum
from typing import Any, TypeVar

from blinareg.rules.delivery import DoseDeviation, dose_deviations
from blinareg.rules.dosing import CyclePlan, DoseDay, apply_interruption, dose_plan
from blinareg.rules.errors import RuleInputError, check_enum
from blinareg.rules.grading import (
    _icans_domains,
    grade_adverse_event,
    grade_crs,
    grade_icans,
    uses_capd,
)
from blinareg.rules.modification import DoseModification, dose_modification
from blinareg.rules.outcome import Explained
from blinareg.rules.relapse import (
    IntreallRiskResult,
    RelapseSiteResult,
    RelapseTimingResult,
    StrategicGroupResult,
    bfm_strategic_group,
    intreall_risk,
    relapse_site,
    relapse_timing,
)
from blinareg.rules.ruleset import DEFAULT_RULES, SRC_ASTCT, RuleSet
from blinareg.rules.vocabulary import (
    CerebralEdema,
    Consciousness,
    DoseDeviationKind,
    DoseUnit,
    IcansMotor,
    IcansSeizure,
    Lineage,
    MarrowStatus,
    RelapseTimingScheme,
    ToxicityEvent,
)

__all__ = [
    "CycleEntry",
    "GradeEntry",
    "InterruptionEntry",
    "ModificationEntry",
    "RelapseEntry",
    "SegmentEntry",
    "assess_crs_entry",
    "assess_cycle_entry",
    "assess_icans_entry",
    "assess_relapse_entry",
]

Fields = Mapping[str, Any]
E = TypeVar("E", bound=Enum)

CRS_PARAMETERS = ("temperature_c", "hypotension", "vasopressors", "vasopressin", "oxygen")
ICANS_PARAMETERS = ("consciousness", "seizure", "motor", "cerebral_edema")
_HYPOTENSION = ("hypotension", "vasopressors", "vasopressin")
# Adverse-event terms -> the event family of the dose-modification table.
_TOXICITY = {
    "crs": ToxicityEvent.CRS,
    "icans": ToxicityEvent.NEUROLOGICAL,
    "encephalopathy": ToxicityEvent.NEUROLOGICAL,
    "tremor": ToxicityEvent.NEUROLOGICAL,
    "seizure": ToxicityEvent.SEIZURE,
}


def _fields(record: Fields | Any) -> dict[str, Any]:
    """A record (mapping or pydantic model) as plain values; enumeration members as their codes."""
    values = dict(record) if isinstance(record, Mapping) else dict(record.model_dump())
    return {name: getattr(value, "value", value) for name, value in values.items()}


# ---- adverse events: CRS and ICANS --------------------------------------------------------------------


@dataclass(frozen=True)
class GradeEntry:
    """The grade the entered parameters give, beside the recorded one."""

    term: str  # "crs" | "icans"
    recorded_grade: int | None
    computed_grade: int | None  # None: the parameters entered so far do not determine a grade
    reason: str  # how the grade follows from the parameters, or what is still needed
    deciding: tuple[str, ...]  # the parameters (ICANS: domains) that set the grade
    missing: tuple[str, ...]  # parameters not entered
    disagrees: bool  # computed and recorded grades differ
    disagreement_reason: str | None
    reason_required: bool  # a disagreement without its reason cannot be saved as it is
    notes: tuple[str, ...]
    source: str
    unconfirmed_rules: tuple[str, ...]


def _grade_entry(
    term: str,
    values: dict[str, Any],
    computed_grade: int | None,
    reason: str,
    deciding: tuple[str, ...],
    missing: tuple[str, ...],
    notes: tuple[str, ...],
    unconfirmed: tuple[str, ...],
) -> GradeEntry:
    recorded = values.get("grade")
    recorded = None if recorded is None else int(recorded)
    explanation = (values.get("disagreement_reason") or "").strip() or None
    disagrees = computed_grade is not None and recorded is not None and computed_grade != recorded
    return GradeEntry(
        term=term,
        recorded_grade=recorded,
        computed_grade=computed_grade,
        reason=reason,
        deciding=deciding,
        missing=missing,
        disagrees=disagrees,
        disagreement_reason=explanation,
        reason_required=disagrees and explanation is None,
        notes=notes,
        source=SRC_ASTCT,
        unconfirmed_rules=unconfirmed,
    )


def assess_crs_entry(record: Fields | Any, *, rules: RuleSet = DEFAULT_RULES) -> GradeEntry:
    """ASTCT CRS grade of the entered temperature, hypotension, vasopressors, vasopressin and oxygen.

    Source: ASTCT consensus (clinical-rules.md §2) through `grade_adverse_event` (unknown parameters
    are tried at every value; a grade is shown only when they cannot change it) and `grade_crs` (the
    hypotension and hypoxia grades, when every parameter is entered). Deciding parameters: the
    temperature when there is no fever, else the domain(s) whose grade is the grade (hypotension,
    vasopressors, vasopressin / oxygen; the temperature for grade 1). A recorded grade 5 (death from
    CRS) is not recomputed: the record has no "died of the event" field.
    """
    values = _fields(record)
    given: dict[str, Any] = {name: values.get(name) for name in CRS_PARAMETERS}
    missing = tuple(name for name, value in given.items() if value is None)
    if values.get("grade") == 5:
        return _grade_entry(
            "crs", values, None, "grade 5 (death from CRS) is recorded, not computed", (), missing, (), ()
        )
    computed = grade_adverse_event("crs", "astct", **given, rules=rules)
    if computed is None:
        reason = "the parameters entered do not determine the grade yet; enter " + ", ".join(missing)
        return _grade_entry("crs", values, None, reason, (), missing, (), ())
    if missing:
        return _grade_entry("crs", values, computed.grade, computed.reason, (), missing, (), ())
    detail = grade_crs(
        given["temperature_c"],
        given["vasopressors"],
        given["vasopressin"],
        given["oxygen"],
        hypotension=given["hypotension"],
        rules=rules,
    )
    if not detail.fever or detail.grade == 1:
        deciding: tuple[str, ...] = ("temperature_c",)
    else:
        deciding = (_HYPOTENSION if detail.hypotension_grade == detail.grade else ()) + (
            ("oxygen",) if detail.hypoxia_grade == detail.grade else ()
        )
    return _grade_entry("crs", values, detail.grade, detail.reason, deciding, (), (), detail.unconfirmed_rules)


def _optional_enum(name: str, value: object, kind: type[E]) -> E | None:
    return None if value is None else check_enum(name, value, kind)


def assess_icans_entry(record: Fields | Any, *, age_years: float | None, rules: RuleSet = DEFAULT_RULES) -> GradeEntry:
    """ASTCT ICANS grade of the entered ICE or CAPD score, consciousness, seizure, motor and edema.

    Source: ASTCT consensus (clinical-rules.md §2). The patient's age at onset selects the tool
    (`uses_capd`: CAPD under the cut-off, else ICE); a score of the other tool is set aside with a
    note. Unknown domains span their range (`grade_adverse_event`); the deciding domains are those
    whose grade alone already gives the computed grade.
    """
    values = _fields(record)
    notes: list[str] = []
    ice, capd = values.get("ice_score"), values.get("capd_score")
    tool: str | None = None
    if age_years is None:
        notes.append("the patient's age at onset selects ICE or CAPD: enter the birth and onset dates")
    else:
        tool = "CAPD" if uses_capd(age_years, rules=rules) else "ICE"
        wrong, wrong_value = ("ice_score", ice) if tool == "CAPD" else ("capd_score", capd)
        if wrong_value is not None:
            notes.append(f"{wrong} is not used at age {age_years:g} ({tool} applies); it is set aside")
            ice, capd = (None, capd) if tool == "CAPD" else (ice, None)
    score_name = {"ICE": "ice_score", "CAPD": "capd_score", None: "ice_score or capd_score"}[tool]
    score = {"ICE": ice, "CAPD": capd, None: ice if ice is not None else capd}[tool]
    domains: dict[str, Any] = {name: values.get(name) for name in ICANS_PARAMETERS}
    missing = ((score_name,) if score is None else ()) + tuple(n for n, v in domains.items() if v is None)
    computed = grade_adverse_event(
        "icans", "astct", age_years=age_years, ice_score=ice, capd_score=capd, **domains, rules=rules
    )
    if computed is None:
        reason = "the parameters entered do not determine the grade yet; enter " + ", ".join(missing)
        return _grade_entry("icans", values, None, reason, (), missing, tuple(notes), ())
    reason = computed.reason
    unconfirmed = computed.unconfirmed_rules
    if not missing and age_years is not None:
        detail = grade_icans(age_years, ice, capd, **domains, rules=rules)
        reason = detail.reason
    level = _optional_enum("consciousness", domains["consciousness"], Consciousness)
    seizure = _optional_enum("seizure", domains["seizure"], IcansSeizure)
    motor = _optional_enum("motor", domains["motor"], IcansMotor)
    edema = _optional_enum("cerebral_edema", domains["cerebral_edema"], CerebralEdema)
    capd_tool = tool == "CAPD" if tool is not None else capd is not None
    spans = _icans_domains(capd_tool, ice, capd, level, seizure, motor, edema, None, rules)
    deciding = tuple(name for name, low, _ in spans if computed.grade > 0 and low == computed.grade)
    return _grade_entry("icans", values, computed.grade, reason, deciding, missing, tuple(notes), unconfirmed)


# ---- blinatumomab cycles ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SegmentEntry:
    """A delivered dose segment, marked against the plan."""

    start: date
    end: date
    dose: float
    unit: str
    deviating: bool
    deviations: tuple[DoseDeviation, ...]  # the deviation runs on the segment's days
    largest_difference_mcg_per_day: float  # delivered - planned on the day it is largest in size (0: none)


@dataclass(frozen=True, kw_only=True)
class InterruptionEntry(Explained):
    start: date  # first day without infusion
    end: date  # the day the infusion restarted
    days: int
    continues_cycle: bool | None  # None: not applied (after the cycle ended, or not on an infusion day)
    new_cycle_start_date: date | None


@dataclass(frozen=True)
class ModificationEntry:
    """The dose-modification advice for one recorded CRS or neurotoxicity grade."""

    event_number: int | None
    term: str
    grade: int
    advice: DoseModification


@dataclass(frozen=True)
class CycleEntry:
    plan: CyclePlan  # the planned calendar for the weight/BSA, interruptions applied
    planned_days: tuple[DoseDay, ...]
    step_up_day: int | None  # first day at the full dose after step days (interruptions applied); None: no step
    treatment_free_days: tuple[int, ...]
    hospitalization_days: tuple[int, ...]
    premedication: tuple[tuple[int, str], ...]
    segments: tuple[SegmentEntry, ...]
    deviations: tuple[DoseDeviation, ...]
    interruptions: tuple[InterruptionEntry, ...]
    modifications: tuple[ModificationEntry, ...]
    notes: tuple[str, ...]
    unconfirmed_rules: tuple[str, ...]


def _step_up_day(plan: CyclePlan) -> int | None:
    steps = [d.day for d in plan.days if d.level.value == "step"]
    fulls = [d.day for d in plan.days if d.level.value == "full"]
    return next((day for day in fulls if steps and day > min(steps)), None)


def _apply_interruptions(
    plan: CyclePlan, interruptions: Iterable[Fields | Any], rules: RuleSet
) -> tuple[CyclePlan, tuple[InterruptionEntry, ...]]:
    """Interruptions in date order, each against the plan left by the previous ones (`apply_interruption`)."""
    entries = []
    ended = False
    for item in sorted((_fields(i) for i in interruptions), key=lambda v: v["start_date"]):
        start, end = item["start_date"], item["end_date"]
        continues: bool | None = None
        new_cycle_start: date | None = None
        source = ""
        if ended:
            reason = "after the end of the cycle: not applied"
        else:
            try:
                result = apply_interruption(plan, start, end, rules=rules)
            except RuleInputError as error:
                reason = f"not applied: {error}"
            else:
                plan = result.plan
                ended = not result.continues_cycle
                continues, new_cycle_start = result.continues_cycle, result.new_cycle_start_date
                reason, source = result.reason, result.source
        entries.append(
            InterruptionEntry(
                start=start,
                end=end,
                days=(end - start).days,
                continues_cycle=continues,
                new_cycle_start_date=new_cycle_start,
                reason=reason,
                source=source,
            )
        )
    return plan, tuple(entries)


def _segment_entries(
    plan: CyclePlan, segments: list[dict[str, Any]], deviations: tuple[DoseDeviation, ...]
) -> tuple[SegmentEntry, ...]:
    out = []
    for segment in sorted(segments, key=lambda s: s["start_date"]):
        start, end = segment["start_date"], segment["end_date"]
        runs = tuple(
            d
            for d in deviations
            if d.kind is not DoseDeviationKind.NOT_INFUSED and d.first_date <= end and d.last_date >= start
        )
        differences = [d.delivered_mcg_per_day - d.planned_mcg_per_day for d in runs]
        largest = max(differences, key=abs) if differences else 0.0
        out.append(SegmentEntry(start, end, float(segment["dose"]), str(segment["unit"]), bool(runs), runs, largest))
    return tuple(out)


def _modifications(
    plan: CyclePlan,
    events: Iterable[Fields | Any],
    weight_kg: float,
    height_cm: float | None,
    bsa_m2: float | None,
    rules: RuleSet,
) -> tuple[ModificationEntry, ...]:
    """`dose_modification` for each CRS / neurological event, at the planned dose of its onset day."""
    by_date = {d.date: d for d in plan.days}
    seizures = 0
    out = []
    for event in sorted((_fields(e) for e in events), key=lambda v: v.get("onset_date") or date.max):
        family = _TOXICITY.get(str(event.get("term")))
        if family is None or event.get("grade") is None:
            continue
        seizures += family is ToxicityEvent.SEIZURE
        day = by_date.get(event.get("onset_date"))
        current = day.dose_mcg_per_day if day is not None and day.infusing else None
        advice = dose_modification(
            family,
            int(event["grade"]),
            current,
            weight_kg=weight_kg,
            height_cm=height_cm,
            bsa_m2=bsa_m2,
            dose_unit=DoseUnit.MCG_PER_DAY,
            seizure_count=seizures if family is ToxicityEvent.SEIZURE else None,
            rules=rules,
        )
        out.append(ModificationEntry(event.get("event_number"), str(event["term"]), int(event["grade"]), advice))
    return tuple(out)


def assess_cycle_entry(
    cycle: Fields | Any,
    *,
    weight_kg: float,
    height_cm: float | None = None,
    bsa_m2: float | None = None,
    age_years: float | None = None,
    label_cycle: int | None = None,
    delivered: Iterable[Fields | Any] = (),
    interruptions: Iterable[Fields | Any] = (),
    adverse_events: Iterable[Fields | Any] = (),
    rules: RuleSet = DEFAULT_RULES,
) -> CycleEntry:
    """The cycle form: plan for the weight/BSA, delivered segments marked, interruptions, dose advice.

    Sources: Blincyto prescribing information (clinical-rules.md §1) through `dose_plan` (caps under
    45 kg, step-up day, treatment-free days, premedication, hospitalisation), `apply_interruption`
    (<= 7 days the cycle continues, longer a new cycle starts; in date order), `dose_deviations`
    (a segment deviates when a deviation run other than "not infused" falls on its days; the
    difference is delivered - planned mcg/day) and `dose_modification` (UNCONFIRMED table) for each
    recorded CRS / neurotoxicity / seizure grade, at the planned dose of the onset day.
    `cycle` needs indication, start_date and cycle_number (or `label_cycle`, the label's cycle number
    when it differs); `delivered` holds dose segments (`kind` planned ones are skipped).
    """
    values = _fields(cycle)
    number = label_cycle if label_cycle is not None else values.get("cycle_number")
    plan = dose_plan(
        values.get("indication") or "",
        weight_kg,
        height_cm,
        number if number is not None else 0,
        start_date=values.get("start_date"),
        age_years=age_years,
        bsa_m2=bsa_m2,
        rules=rules,
    )
    plan, interruption_entries = _apply_interruptions(plan, interruptions, rules)
    segments = [s for s in (_fields(s) for s in delivered) if s.get("kind", "delivered") == "delivered"]
    deviations: tuple[DoseDeviation, ...] = ()
    notes = list(plan.notes)
    if plan.start_date is None:
        notes.append("enter the start date to compare the delivered doses with the plan")
    elif segments:
        deviations = dose_deviations(
            plan, [(s["start_date"], s["end_date"], float(s["dose"]), s["unit"]) for s in segments], rules=rules
        )
    modifications = _modifications(plan, adverse_events, weight_kg, height_cm, plan.bsa_m2, rules)
    used = plan.unconfirmed_rules + tuple(name for m in modifications for name in m.advice.unconfirmed_rules)
    return CycleEntry(
        plan=plan,
        planned_days=plan.days,
        step_up_day=_step_up_day(plan),
        treatment_free_days=plan.treatment_free_days,
        hospitalization_days=plan.hospitalization_days,
        premedication=plan.premedication_points,
        segments=_segment_entries(plan, segments, deviations),
        deviations=deviations,
        interruptions=interruption_entries,
        modifications=modifications,
        notes=tuple(notes),
        unconfirmed_rules=tuple(dict.fromkeys(used)),
    )


# ---- relapses -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RelapseEntry:
    timing_bfm: RelapseTimingResult | None
    timing_cog: RelapseTimingResult | None
    marrow_blasts_used_pct: float
    marrow_blasts_recorded: bool  # False: the site flags stood in for the missing blast count
    marrow_status: MarrowStatus
    site: RelapseSiteResult
    strategic_group: StrategicGroupResult | None  # first relapses with BFM timing and a site class
    intreall: IntreallRiskResult | None
    notes: tuple[str, ...]
    unconfirmed_rules: tuple[str, ...]


def assess_relapse_entry(
    relapse: Fields | Any,
    *,
    diagnosis_date: date | None,
    end_of_frontline_date: date | None = None,
    lineage: Lineage | str = Lineage.B,
    rules: RuleSet = DEFAULT_RULES,
) -> RelapseEntry:
    """The relapse form: timing (BFM and COG), site class, marrow status, strategic group, IntReALL risk.

    Sources: clinical-rules.md §3 through `relapse_timing`, `relapse_site` (marrow status M1/M2/M3)
    and `bfm_strategic_group` / `intreall_risk` (first relapses only, BFM timing). A missing blast
    count is replaced by what the site flags say (`rules.frames.relapse.marrow_blasts_used`, the rule
    the analysis applies). Timing is None, with a note, until the dates it needs are entered.
    """
    import pandas as pd

    from blinareg.rules.frames.relapse import marrow_blasts_used

    values = _fields(relapse)
    notes: list[str] = []
    flags = {name: bool(values.get(name) or False) for name in ("site_cns", "site_testis", "site_other_extramedullary")}
    frame = pd.DataFrame(
        [
            {
                "marrow_blasts_pct": values.get("marrow_blasts_pct"),
                "site_bone_marrow": values.get("site_bone_marrow"),
                **flags,
            }
        ]
    ).astype({"marrow_blasts_pct": float})
    blasts = float(marrow_blasts_used(frame, rules).iloc[0])
    recorded = values.get("marrow_blasts_pct") is not None
    if not recorded:
        notes.append(f"no marrow blast count: {blasts:g}% taken from the site flags")
    site = relapse_site(
        blasts, flags["site_cns"], flags["site_testis"], flags["site_other_extramedullary"], rules=rules
    )
    timings: dict[RelapseTimingScheme, RelapseTimingResult | None] = {}
    relapse_date = values.get("relapse_date")
    for scheme in RelapseTimingScheme:
        if diagnosis_date is None or relapse_date is None:
            timings[scheme] = None
            continue
        try:
            timings[scheme] = relapse_timing(diagnosis_date, relapse_date, end_of_frontline_date, scheme, rules=rules)
        except RuleInputError as error:
            timings[scheme] = None
            notes.append(f"{scheme.value.upper()} timing: {error}")
    if diagnosis_date is None or relapse_date is None:
        notes.append("timing needs the diagnosis and relapse dates")
    bfm = timings[RelapseTimingScheme.BFM]
    group = risk = None
    first = values.get("relapse_number", 1) == 1
    if not first:
        notes.append("strategic group and IntReALL risk classify first relapses only")
    elif bfm is not None and site.site_class is not None:
        group = bfm_strategic_group(bfm.timing, site.site_class, lineage, rules=rules)
        risk = intreall_risk(bfm.timing, site.site_class, lineage, rules=rules)
    used = [
        *(t.unconfirmed_rules for t in timings.values() if t is not None),
        *(r.unconfirmed_rules for r in (group, risk) if r is not None),
    ]
    return RelapseEntry(
        timing_bfm=bfm,
        timing_cog=timings[RelapseTimingScheme.COG],
        marrow_blasts_used_pct=blasts,
        marrow_blasts_recorded=recorded,
        marrow_status=site.marrow_status,
        site=site,
        strategic_group=group,
        intreall=risk,
        notes=tuple(notes),
        unconfirmed_rules=tuple(dict.fromkeys(name for names in used for name in names)),
    )
