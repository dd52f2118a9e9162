"""Dose modification after an adverse event during blinatumomab infusion.

Source: the older Blincyto prescribing-information dose-modification table (clinical-rules.md §1),
whose wording is UNCONFIRMED against the current label (it may be worded by ICANS grade). Every
threshold is `dm_*` rule data in the `RuleSet`, flagged UNCONFIRMED, and each result lists them.
"""

from __future__ import annotations

from dataclasses import dataclass

from blinareg.rules.dosing import DOSE_EPSILON, DoseLevel, PatientDoses, patient_doses, unconfirmed_names
from blinareg.rules.errors import RuleInputError, check_enum, check_int, check_number
from blinareg.rules.outcome import RuleResult
from blinareg.rules.ruleset import DEFAULT_RULES, SRC_DOSE_MODIFICATION, RuleSet
from blinareg.rules.vocabulary import DoseAction, DoseUnit, ToxicityEvent

__all__ = ["DoseModification", "dose_modification"]


@dataclass(frozen=True, kw_only=True)
class DoseModification(RuleResult):
    """What to do with the infusion after an adverse event, with the reason and source in words."""

    event: ToxicityEvent
    grade: int
    action: DoseAction
    restart_condition: str | None
    restart_dose_mcg_per_day: float | None
    restart_dose_per_m2: float | None
    escalate_to_mcg_per_day: float | None
    escalate_to_per_m2: float | None
    escalate_after_days: int | None
    steroid: str | None


def dose_modification(
    event: ToxicityEvent | str,
    grade: int,
    current_dose: float | None = None,
    *,
    weight_kg: float,
    height_cm: float | None = None,
    bsa_m2: float | None = None,
    dose_unit: DoseUnit | str = DoseUnit.MCG_PER_DAY,
    seizure_count: int | None = None,
    days_to_resolve: int | None = None,
    rules: RuleSet = DEFAULT_RULES,
) -> DoseModification:
    """Continue, interrupt, restart-and-escalate or discontinue after an adverse event.

    Source: the older Blincyto prescribing-information dose-modification table (clinical-rules.md §1;
    UNCONFIRMED whether the current label words it by ICANS grade), as `dm_*` rule data:
    CRS grade 3: interrupt, dexamethasone 8 mg q8h up to 3 days then taper over 4 days (< 45 kg
    5 mg/m2, max 8 mg); restart at the step dose when resolved and escalate after 7 days without
    recurrence. CRS grade 4: discontinue permanently. Neurological toxicity (and a seizure): more than
    one seizure: discontinue; grade 3: withhold until <= grade 1 for >= 3 days, restart at the step
    dose and escalate after 7 days, but discontinue if it occurred at the step dose or took > 7 days to
    resolve; grade 4: discontinue. Other clinically relevant reactions: grade 3 the same withhold and
    restart, discontinue if > 14 days to resolve; grade 4: consider discontinuation. Below the interrupt
    grade the table gives no change: continue.

    `current_dose` (in `dose_unit`) is the dose when the event occurred; `seizure_count` the seizures
    so far including this one (required for a seizure); `days_to_resolve` when known.
    """
    ev = check_enum("event", event, ToxicityEvent)
    grade_no = check_int("grade", grade)
    if grade_no < 1:
        raise RuleInputError("grade", grade, "is outside the legal range >= 1 and <= 5 (grade)")
    unit = check_enum("dose_unit", dose_unit, DoseUnit)
    current = check_number("current_dose", current_dose, allow_none=True)
    doses = patient_doses(weight_kg, height_cm, bsa_m2, rules)
    if seizure_count is not None:
        check_int("seizure_count", seizure_count)
    if ev is ToxicityEvent.SEIZURE and (seizure_count is None or seizure_count < 1):
        raise RuleInputError(
            "seizure_count",
            seizure_count,
            "is required for a seizure: the number of seizures so far including this one (>= 1)",
        )
    resolve = None if days_to_resolve is None else check_int("days_to_resolve", days_to_resolve)
    if unit is DoseUnit.MCG_PER_M2_PER_DAY and not doses.bsa_based:
        raise RuleInputError(
            "dose_unit", unit.value, f"must be mcg/day at >= {rules.dose_weight_threshold_kg.value:g} kg"
        )

    at_step: bool | None = None
    if current is not None:
        tol = rules.dose_tolerance_fraction.value
        step = doses.step_per_m2 if unit is DoseUnit.MCG_PER_M2_PER_DAY else doses.step_mcg
        assert step is not None
        at_step = current <= step * (1 + tol) + DOSE_EPSILON

    step_text = _level_text(doses, DoseLevel.STEP)
    full_text = _level_text(doses, DoseLevel.FULL)
    escalate_after = rules.dm_escalation_after_days.value
    base_used = ["dm_escalation_after_days"]

    def result(
        action: DoseAction, reason: str, used: list[str], *, restart: str | None = None, steroid: str | None = None
    ) -> DoseModification:
        restarts = action is DoseAction.INTERRUPT
        if restarts:
            reason += (
                f"; restart at {step_text} and escalate to {full_text} after {escalate_after} days without recurrence"
            )
        names = used + (base_used if restarts else []) + (["dose_tolerance_fraction"] if current is not None else [])
        return DoseModification(
            event=ev,
            grade=grade_no,
            action=action,
            restart_condition=restart,
            restart_dose_mcg_per_day=doses.step_mcg if restarts else None,
            restart_dose_per_m2=doses.step_per_m2 if restarts else None,
            escalate_to_mcg_per_day=doses.full_mcg if restarts else None,
            escalate_to_per_m2=doses.full_per_m2 if restarts else None,
            escalate_after_days=escalate_after if restarts else None,
            steroid=steroid,
            reason=reason,
            source=SRC_DOSE_MODIFICATION,
            unconfirmed_rules=unconfirmed_names(rules, names),
        )

    if ev is ToxicityEvent.CRS:
        used = ["dm_crs_interrupt_grade", "dm_crs_discontinue_grade"]
        if grade_no >= rules.dm_crs_discontinue_grade.value:
            return result(DoseAction.DISCONTINUE, f"CRS grade {grade_no}: discontinue permanently", used)
        if grade_no >= rules.dm_crs_interrupt_grade.value:
            used += [
                "dm_crs_dexamethasone_mg",
                "dm_crs_dexamethasone_mg_per_m2",
                "dm_crs_dexamethasone_max_mg",
                "dm_crs_dexamethasone_days",
                "dm_crs_dexamethasone_taper_days",
            ]
            return result(
                DoseAction.INTERRUPT,
                f"CRS grade {grade_no}: interrupt until resolved",
                used,
                restart="when CRS has resolved",
                steroid=_crs_steroid(doses, rules),
            )
        return result(
            DoseAction.CONTINUE,
            f"CRS grade {grade_no}: the table gives no dose change below grade {rules.dm_crs_interrupt_grade.value}",
            used,
        )

    if ev in (ToxicityEvent.NEUROLOGICAL, ToxicityEvent.SEIZURE):
        used = ["dm_max_seizures", "dm_neuro_interrupt_grade", "dm_neuro_discontinue_grade"]
        name = "seizure" if ev is ToxicityEvent.SEIZURE else "neurological toxicity"
        if seizure_count is not None and seizure_count > rules.dm_max_seizures.value:
            return result(
                DoseAction.DISCONTINUE,
                f"{seizure_count} seizures (more than {rules.dm_max_seizures.value}): discontinue permanently",
                used,
            )
        if grade_no >= rules.dm_neuro_discontinue_grade.value:
            return result(DoseAction.DISCONTINUE, f"{name} grade {grade_no}: discontinue permanently", used)
        if grade_no >= rules.dm_neuro_interrupt_grade.value:
            limit = rules.dm_neuro_max_days_to_resolve.value
            used += ["dm_neuro_max_days_to_resolve", "dm_neuro_restart_max_grade", "dm_neuro_restart_min_days"]
            if at_step:
                return result(
                    DoseAction.DISCONTINUE,
                    f"{name} grade {grade_no} occurred at the step dose ({step_text}): discontinue permanently",
                    used,
                )
            if resolve is not None and resolve > limit:
                return result(
                    DoseAction.DISCONTINUE,
                    f"{name} grade {grade_no} took {resolve} days to resolve (> {limit}): discontinue permanently",
                    used,
                )
            restart = (
                f"when <= grade {rules.dm_neuro_restart_max_grade.value} for >= "
                f"{rules.dm_neuro_restart_min_days.value} days"
            )
            caveats = []
            if at_step is None:
                caveats.append("discontinue instead if it occurred at the step dose")
            if resolve is None:
                caveats.append(f"or if it takes > {limit} days to resolve")
            reason = f"{name} grade {grade_no}: withhold"
            if caveats:
                reason += " (" + " ".join(caveats) + ")"
            return result(DoseAction.INTERRUPT, reason, used, restart=restart)
        return result(
            DoseAction.CONTINUE,
            f"{name} grade {grade_no}: the table gives no dose change below grade "
            f"{rules.dm_neuro_interrupt_grade.value}",
            used,
        )

    used = ["dm_other_interrupt_grade", "dm_other_consider_discontinuation_grade"]
    if grade_no >= rules.dm_other_consider_discontinuation_grade.value:
        return result(
            DoseAction.CONSIDER_DISCONTINUATION,
            f"other reaction grade {grade_no}: consider permanent discontinuation",
            used,
        )
    if grade_no >= rules.dm_other_interrupt_grade.value:
        limit = rules.dm_other_max_days_to_resolve.value
        used.append("dm_other_max_days_to_resolve")
        if resolve is not None and resolve > limit:
            return result(
                DoseAction.DISCONTINUE,
                f"other reaction grade {grade_no} took {resolve} days to resolve (> {limit}): discontinue permanently",
                used,
            )
        caveat = "" if resolve is not None else f" (discontinue if it takes > {limit} days to resolve)"
        return result(
            DoseAction.INTERRUPT,
            f"other reaction grade {grade_no}: withhold until resolved{caveat}",
            used,
            restart="when resolved",
        )
    return result(
        DoseAction.CONTINUE,
        f"other reaction grade {grade_no}: the table gives no dose change below "
        f"grade {rules.dm_other_interrupt_grade.value}",
        used,
    )


def _level_text(doses: PatientDoses, level: DoseLevel) -> str:
    mcg = doses.step_mcg if level is DoseLevel.STEP else doses.full_mcg
    per_m2 = doses.step_per_m2 if level is DoseLevel.STEP else doses.full_per_m2
    if per_m2 is None:
        return f"{mcg:g} mcg/day"
    return f"{per_m2:g} mcg/m2/day ({mcg:.2f} mcg/day)"


def _crs_steroid(doses: PatientDoses, rules: RuleSet) -> str:
    days, taper = rules.dm_crs_dexamethasone_days.value, rules.dm_crs_dexamethasone_taper_days.value
    if doses.bsa_based and doses.bsa_m2 is not None:
        per_m2, cap = rules.dm_crs_dexamethasone_mg_per_m2.value, rules.dm_crs_dexamethasone_max_mg.value
        amount = f"{per_m2:g} mg/m2 = {min(per_m2 * doses.bsa_m2, cap):.1f} mg (max {cap:g} mg)"
    else:
        amount = f"{rules.dm_crs_dexamethasone_mg.value:g} mg"
    return f"dexamethasone {amount} every 8 h for up to {days} days, then taper over {taper} days"
