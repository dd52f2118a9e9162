"""The dosing rules applied column-wise to registry frames: one meaning, shared by validation and derive.

`blinareg.rules` holds the scalar rule functions (one cycle, one adverse event). Calling them once per
row is too slow for 100,000 patients, so this module applies the same rules to whole frames:

- `cycle_body_measurements`: weight, height and BSA that dose each cycle (the measurement closest
  before the cycle start: the latest one dated on or before the start date; none -> no plan).
- `cycle_dose_comparison`: per cycle, the label plan of `rules.dose_plan` with the recorded
  interruptions applied by the layout step `rules.apply_interruption` uses
  (`rules.dosing.interrupt_layout`), compared day by day with the delivered dose segments as
  `rules.dose_deviations` / `rules.dose_intensity` do. Thresholds come from the `RuleSet`;
  tests/rules/test_frames_dosing.py checks equality with the scalar functions on random cycles.
- `computed_adverse_event_grades`: `rules.grade_adverse_event` on every adverse event, called once per
  distinct combination of grading parameters (there are few), so the scalar function stays the one
  meaning.

No I/O. Nothing here changes a recorded value: results are new columns.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from blinareg.rules.arrays import DEVIATION_CODE, DEVIATION_KINDS, classify_dose_days, patient_daily_doses
from blinareg.rules.frames.tables import Tables
from blinareg.rules.ruleset import DEFAULT_RULES, RuleSet
from blinareg.rules.vocabulary import DoseDeviationKind
from blinareg.rules.delivery import DEVIATION_TEXT
from blinareg.rules.dosing import DOSE_EPSILON, initial_layout, interrupt_layout, interruption_refusal

__all__ = [
    "CycleDoseComparison",
    "DEVIATION_TEXT",
    "DEVIATION_KINDS",
    "classify_dose_days",
    "cycle_body_measurements",
    "label_cycle_numbers",
    "follows_prephase",
    "cycle_dose_comparison",
    "completed_years",
]

_DAY = np.timedelta64(1, "D")

_KINDS = DEVIATION_KINDS

# The wording of each deviation kind is the rules' own (one source for validate and derive).


def completed_years(birth: pd.Series, when: pd.Series) -> pd.Series:
    """Age in completed years (calendar birthdays) at `when`; float with NaN where a date is missing."""
    birth = pd.to_datetime(birth)
    when = pd.to_datetime(when)
    years = when.dt.year - birth.dt.year
    before_birthday = (when.dt.month < birth.dt.month) | (
        (when.dt.month == birth.dt.month) & (when.dt.day < birth.dt.day)
    )
    return (years - before_birthday.astype(float)).astype(float)


# --- body measurements and label cycle numbers ------------------------------------------------------


def cycle_body_measurements(cycles: pd.DataFrame, measurements: pd.DataFrame) -> pd.DataFrame:
    """For each row of `cycles` (same index): weight_kg, height_cm, measurement_date and bsa_m2.

    The measurement that doses a cycle is the latest one dated on or before the cycle's start_date
    (clinical-rules.md §1 doses by weight and BSA; the registry convention is "closest before the start").
    BSA by Mosteller, sqrt(height_cm * weight_kg / 3600), when the height is known.
    """
    out = pd.DataFrame(index=cycles.index, columns=["measurement_date", "weight_kg", "height_cm"])
    out["measurement_date"] = pd.Series(pd.NaT, index=cycles.index, dtype="datetime64[ns]")
    out["weight_kg"] = np.nan
    out["height_cm"] = np.nan
    if len(cycles) and len(measurements):
        left = (
            pd.DataFrame(
                {
                    "patient_id": cycles["patient_id"].to_numpy(),
                    "date": cycles["start_date"].to_numpy(),
                    "_row": np.arange(len(cycles)),
                }
            )
            .dropna(subset=["date"])
            .sort_values("date")
        )
        right = (
            measurements[["patient_id", "measurement_date", "weight_kg", "height_cm"]]
            .dropna(subset=["measurement_date"])
            .sort_values("measurement_date")
        )
        right = right.assign(date=right["measurement_date"])
        merged = pd.merge_asof(left, right, on="date", by="patient_id", direction="backward")
        rows = merged["_row"].to_numpy()
        out.iloc[rows, 0] = merged["measurement_date"].to_numpy()
        out.iloc[rows, 1] = merged["weight_kg"].to_numpy(dtype=float)
        out.iloc[rows, 2] = merged["height_cm"].to_numpy(dtype=float)
    out["measurement_date"] = pd.to_datetime(out["measurement_date"])
    out["weight_kg"] = out["weight_kg"].astype(float)
    out["height_cm"] = out["height_cm"].astype(float)
    # An impossible (non-positive) product is reported by the field checks; here it gives no BSA.
    product = out["height_cm"] * out["weight_kg"]
    out["bsa_m2"] = np.sqrt(product.where(product > 0) / 3600.0)
    return out


def label_cycle_numbers(cycles: pd.DataFrame) -> pd.Series:
    """The label's cycle number of each cycle: its rank (by start date) within its course.

    The label counts cycles from the first cycle of an indication (relapsed/refractory cycles 1-9,
    MRD-positive 1-4); a course is the patient's cycles of one treatment line and one indication
    (cycles without a line number form one course per indication). A cycle recorded with phase
    `prephase` is not a label cycle (0): the cycle after it is cycle 1 (rule data `prephase_days`).
    """
    if cycles.empty:
        return pd.Series([], index=cycles.index, dtype="Int64")
    order = _courses_in_order(cycles)
    order["counted"] = (~order["prephase"]).astype(int)
    rank = order.groupby(_COURSE, sort=False)["counted"].cumsum()
    rank = rank.where(order["counted"] == 1, 0)
    return rank.reindex(cycles.index).astype("Int64")


def follows_prephase(cycles: pd.DataFrame) -> pd.Series:
    """True for the label cycle 1 whose course's previous cycle (by start date) is a prephase."""
    if cycles.empty:
        return pd.Series([], index=cycles.index, dtype=bool)
    order = _courses_in_order(cycles)
    previous = order.groupby(_COURSE, sort=False)["prephase"].shift(1)
    after = previous.astype("boolean").fillna(False).astype(bool) & ~order["prephase"]
    return after.reindex(cycles.index).astype(bool)


# A course: one patient's cycles of one treatment line (-1: none recorded) and one indication.
_COURSE = ["patient_id", "line", "indication"]


def _courses_in_order(cycles: pd.DataFrame) -> pd.DataFrame:
    """Course keys, start, cycle number and prephase flag of each cycle, sorted by course then start."""
    frame = pd.DataFrame(
        {
            "patient_id": cycles["patient_id"],
            "line": cycles["line_number"].astype("Int64").fillna(-1).astype(int),
            "indication": cycles["indication"],
            "start": cycles["start_date"],
            "number": cycles["cycle_number"].astype("Int64"),
            "prephase": _is_prephase(cycles),
        }
    )
    return frame.sort_values([*_COURSE, "start", "number"])


def _is_prephase(cycles: pd.DataFrame) -> pd.Series:
    return (
        (cycles["phase"].astype(object) == "prephase")
        if "phase" in cycles.columns
        else pd.Series(False, index=cycles.index)
    )


# --- plan versus delivered -------------------------------------------------------------------------


@dataclass(frozen=True)
class CycleDoseComparison:
    """Plan and delivery of every cycle (`cycles`, same index as the registry's cycle frame) and the
    deviation runs (`deviations`, one row per run of days, as `rules.dose_deviations` returns them)."""

    cycles: pd.DataFrame
    deviations: pd.DataFrame


def _schedule_arrays(
    indication: np.ndarray,
    label_cycle: np.ndarray,
    rules: RuleSet,
    *,
    prephase: np.ndarray | None = None,
    after_prephase: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Per cycle: whether the label defines it, infusion days, treatment-free days and step days.

    A prephase (center practice, UNCONFIRMED rule data) runs `prephase_days` at the `prephase_dose_level`
    with no treatment-free days; the induction cycle 1 after it runs `induction_after_prephase_infusion_days`
    at the full dose (the prephase was its step)."""
    n = len(indication)
    prephase = np.zeros(n, dtype=bool) if prephase is None else np.asarray(prephase, dtype=bool)
    after_prephase = np.zeros(n, dtype=bool) if after_prephase is None else np.asarray(after_prephase, dtype=bool)
    rr = indication == "relapsed_refractory"
    mrd = indication == "mrd_positive"
    cons = indication == "consolidation"
    rr_max = rules.rr_induction_cycles.value + rules.rr_consolidation_cycles.value + rules.rr_continued_cycles.value
    mrd_max = rules.mrd_induction_cycles.value + rules.mrd_consolidation_cycles.value
    cons_max = rules.consolidation_cycles.value
    number = np.where(label_cycle > 0, label_cycle, 0)
    known = rr | mrd | cons
    defined = (number >= 1) & (
        (rr & (number <= rr_max)) | (mrd & (number <= mrd_max)) | (cons & (number <= cons_max))
    ) | (prephase & known)
    rr_first_free = number <= rules.rr_induction_cycles.value + rules.rr_consolidation_cycles.value
    free = np.select(
        [prephase, rr & rr_first_free, rr, mrd, cons],
        [
            0,
            rules.rr_treatment_free_days.value,
            rules.rr_continued_treatment_free_days.value,
            rules.mrd_treatment_free_days.value,
            rules.consolidation_treatment_free_days.value,
        ],
        default=0,
    )
    pre_days = rules.prephase_days.value
    step_days = np.where(rr & (number == 1) & ~after_prephase, rules.rr_step_up_day.value - 1, 0)
    step_days = np.where(prephase, pre_days if rules.prephase_dose_level.value == "step" else 0, step_days)
    infusion = np.full(n, rules.infusion_days_per_cycle.value)
    infusion = np.where(after_prephase & (number == 1), rules.induction_after_prephase_infusion_days.value, infusion)
    infusion = np.where(prephase, pre_days, infusion)
    return {
        "defined": defined,
        "free_days": free.astype(int),
        "step_days": step_days.astype(int),
        "infusion_days": infusion.astype(int),
    }


def _ranges(starts: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(owner index, value) for the concatenation of ranges starts[i] .. starts[i] + lengths[i] - 1.

    Both int32 (a day grid of 100,000 patients has millions of rows; owners and day numbers fit)."""
    lengths = np.maximum(lengths.astype(np.int64), 0)
    owner = np.repeat(np.arange(len(lengths), dtype=np.int32), lengths)
    if owner.size == 0:
        return owner, np.empty(0, dtype=np.int32)
    first = np.cumsum(lengths) - lengths
    values = np.arange(owner.size, dtype=np.int64)
    values -= np.repeat(first - starts.astype(np.int64), lengths)
    return owner, values.astype(np.int32)


def _plan_days(
    g_owner: np.ndarray,
    span: np.ndarray,
    offset: np.ndarray,
    a_owner: np.ndarray,
    a_stop: np.ndarray,
    a_restart: np.ndarray,
    infusion_days: np.ndarray,
    schedule: dict[str, np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:
    """(infusing, level_step) of every day of the plan grid: a day is an infusion day when no applied
    interruption covers it and it is among the cycle's first `infusion_days` uninterrupted days; the
    first `step_days` of those are at the step dose."""
    index: np.dtype[np.signedinteger[Any]] = np.dtype(np.int32 if g_owner.size < 2**31 - 1 else np.int64)
    interrupted = np.zeros(g_owner.size, dtype=index)
    if a_owner.size:
        # Mark interrupted days with a difference array over the grid.
        diff = np.zeros(g_owner.size + 1, dtype=index)
        first = offset[a_owner] + a_stop - 1
        last = np.minimum(offset[a_owner] + a_restart - 1, offset[a_owner] + span[a_owner])
        np.add.at(diff, first, 1)
        np.add.at(diff, last, -1)
        np.cumsum(diff[:-1], out=interrupted)
        del diff
    counted = (interrupted <= 0).astype(index)
    del interrupted
    ordinal = np.cumsum(counted, dtype=index)
    base_per_cycle = np.zeros(len(span), dtype=index)
    has_span = span > 0
    base_per_cycle[has_span] = ordinal[offset[has_span]] - counted[offset[has_span]]
    ordinal -= np.repeat(base_per_cycle, span)  # k-th infusion day (for non-interrupted days)
    infusing = counted.astype(bool)
    del counted
    infusing &= ordinal <= infusion_days[g_owner]
    level_step = infusing & (ordinal <= schedule["step_days"][g_owner])
    return infusing, level_step


_GRID_CHUNK = 1 << 20  # days classified at a time: the rule's temporaries stay a few MiB each


def _grid_codes(
    g_owner: np.ndarray,
    infusing: np.ndarray,
    level_step: np.ndarray,
    delivered: np.ndarray,
    planned: np.ndarray,
    step: np.ndarray,
    full: np.ndarray,
    rules: RuleSet,
) -> np.ndarray:
    """`classify_dose_days` on every day of the plan grid, a chunk of days at a time (elementwise, so the
    codes are those of one call; the chunks only bound the memory of its temporaries)."""
    codes = np.zeros(g_owner.size, dtype=np.int8)
    for lo in range(0, g_owner.size, _GRID_CHUNK):
        part = slice(lo, lo + _GRID_CHUNK)
        owner = g_owner[part]
        other = np.where(level_step[part], full[owner], step[owner])  # the dose of the other step
        codes[part] = classify_dose_days(infusing[part], level_step[part], delivered[part], planned[part], other, rules)
    return codes


def _patient_cycle(frame: pd.DataFrame) -> pd.MultiIndex:
    """(patient_id, cycle_number) of each row."""
    return pd.MultiIndex.from_arrays([frame["patient_id"].to_numpy(), frame["cycle_number"].astype("Int64").to_numpy()])


def _owning_cycle(cycle_pos: pd.Series, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Which rows of `frame` belong to a known cycle (mask), and that cycle's position for each of them."""
    owner = cycle_pos.reindex(_patient_cycle(frame)).to_numpy()
    keep = ~np.isnan(owner)
    return keep, owner[keep].astype(np.int32)  # int32: positions index arrays of 100,000s of cycles


def cycle_dose_comparison(registry: Tables, rules: RuleSet = DEFAULT_RULES) -> CycleDoseComparison:
    """Plan, delivery and deviations of every blinatumomab cycle, column-wise.

    Same rules as the scalar functions (clinical-rules.md §1): `dose_plan` for the cycle's indication
    and label cycle number (`label_cycle_numbers`), dosed by `cycle_body_measurements`; recorded
    interruptions applied in date order as `apply_interruption` (<= 7 days: the cycle continues to 28
    infusion days; > 7 days: the plan ends at the interruption and later interruptions are ignored;
    an interruption that does not start on an infusion day of the plan is ignored); delivered
    segments (mcg/m2/day x BSA) compared per day as `dose_deviations`, totals as `dose_intensity`.

    `cycles` columns (same index as the registry's cycle frame): label_cycle, weight_kg, height_cm,
    bsa_m2, measurement_date, bsa_based, plan_defined, step_mcg_per_day, full_mcg_per_day,
    planned_dose_mcg, planned_infusion_days, has_delivered, delivered_dose_mcg (on the plan's days),
    delivered_outside_plan_mcg, delivered_infusion_days, dose_intensity, plan_end_date.
    A cycle has no plan (plan_defined False, plan columns NaN) when the label does not define its
    cycle number, or no weight is recorded on or before its start, or it is BSA-dosed without a height.
    Delivered values are NaN for cycles without delivered segments (planned-only data is allowed).

    `deviations` columns: patient_id, cycle_number, kind (DoseDeviationKind code), first_day,
    last_day, first_date, last_date, planned_mcg_per_day, delivered_mcg_per_day, message, segment_start
    (start date of the delivered segment holding the first day; NaT for not-infused runs).
    """
    cycles = registry["blinatumomab_cycle"]
    n = len(cycles)
    body = cycle_body_measurements(cycles, registry["body_measurement"])
    label_cycle = label_cycle_numbers(cycles).fillna(0).to_numpy(dtype=int)
    indication = cycles["indication"].to_numpy(dtype=object)
    prephase = _is_prephase(cycles).to_numpy(dtype=bool)
    after_prephase = follows_prephase(cycles).to_numpy(dtype=bool)
    schedule = _schedule_arrays(indication, label_cycle, rules, prephase=prephase, after_prephase=after_prephase)
    weight = body["weight_kg"].to_numpy(dtype=float)
    bsa = body["bsa_m2"].to_numpy(dtype=float)
    bsa_based, step, full = patient_daily_doses(weight, bsa, rules)
    defined = schedule["defined"] & ~np.isnan(step) & ~np.isnan(full)
    start = cycles["start_date"].to_numpy(dtype="datetime64[D]")

    # Interruptions (sorted by stop day), day numbers within their cycle.
    cycle_pos = pd.Series(np.arange(n), index=_patient_cycle(cycles))
    inter = registry["interruption"]
    if len(inter) and n:
        keep, owner = _owning_cycle(cycle_pos, inter)
        stop = ((inter["start_date"].to_numpy(dtype="datetime64[D]")[keep] - start[owner]) / _DAY).astype(int) + 1
        restart = ((inter["end_date"].to_numpy(dtype="datetime64[D]")[keep] - start[owner]) / _DAY).astype(int) + 1
        order = np.lexsort((stop, owner))
        owner, stop, restart = owner[order], stop[order], restart[order]
    else:
        owner = stop = restart = np.empty(0, dtype=int)
    limit = rules.interruption_max_continue_days.value
    infusion_days = schedule["infusion_days"]

    # Interruptions apply in date order through the scalar rule's own layout step (a handful per cycle):
    # continued ones are marked on the day grid below, one ending the cycle truncates its plan.
    truncate_at = np.full(n, np.iinfo(np.int32).max, dtype=np.int64)  # first day no longer in the plan
    interrupted_total = np.zeros(n, dtype=np.int64)
    applied: list[tuple[int, int, int]] = []
    layouts: dict[int, tuple[int, ...]] = {}
    free_days = schedule["free_days"]
    for o, s, e in zip(owner.tolist(), stop.tolist(), restart.tolist()):
        if not defined[o]:
            continue
        layout = layouts[o] if o in layouts else initial_layout(int(infusion_days[o]), int(free_days[o]))
        if interruption_refusal(layout, s, e) is not None:
            continue
        outcome = interrupt_layout(layout, s, e, limit)
        layouts[o] = outcome.days
        if outcome.continues_cycle:
            interrupted_total[o] += e - s
            applied.append((o, s, e))
        else:
            truncate_at[o] = s
    a_owner, a_stop, a_restart = np.array(applied, dtype=np.int64).reshape(-1, 3).T

    # Dense grid of the plan's infusion span: days 1 .. 28 + interrupted days (truncated).
    span = np.where(defined, np.minimum(infusion_days + interrupted_total, truncate_at - 1), 0).astype(np.int64)
    span = np.maximum(span, 0)
    offset = np.cumsum(span) - span
    # The grid has millions of days at 100,000 patients: its arrays are int32 and each is dropped (del) once
    # used, so that the peak memory of `derive` stays a few grid arrays (benchmarks/report_bench.py).
    g_owner, g_day = _ranges(np.ones(n, dtype=np.int64), span)
    infusing, level_step = _plan_days(g_owner, span, offset, a_owner, a_stop, a_restart, infusion_days, schedule)
    planned = np.where(level_step, step[g_owner], full[g_owner])
    planned[~infusing] = 0.0
    # Last infusion day and the plan length (treatment-free days follow the last infusion day).
    last_inf_day = np.zeros(n, dtype=np.int64)
    if g_owner.size:
        np.maximum.at(last_inf_day, g_owner[infusing], g_day[infusing])
    truncated = truncate_at < np.iinfo(np.int32).max
    plan_length = np.where(
        truncated,
        np.minimum(truncate_at - 1, last_inf_day + schedule["free_days"]),
        last_inf_day + schedule["free_days"],
    )
    plan_length = np.where(defined, plan_length, 0)

    # Delivered segments -> delivered mcg per day.
    segments = registry["dose_segment"]
    segments = segments[segments["kind"] == "delivered"]
    if len(segments) and n:
        keep, s_owner = _owning_cycle(cycle_pos, segments)
        seg_start = segments["start_date"].to_numpy(dtype="datetime64[D]")[keep]
        seg_end = segments["end_date"].to_numpy(dtype="datetime64[D]")[keep]
        first_day = ((seg_start - start[s_owner]) / _DAY).astype(np.int64) + 1
        length = ((seg_end - seg_start) / _DAY).astype(np.int64) + 1
        per_m2 = segments["unit"].to_numpy(dtype=object)[keep] == "mcg/m2/day"
        dose = segments["dose"].to_numpy(dtype=float)[keep]
        mcg = np.where(per_m2, dose * bsa[s_owner], dose)
    else:
        s_owner = first_day = length = np.empty(0, dtype=np.int64)
        seg_start = np.empty(0, dtype="datetime64[D]")
        mcg = np.empty(0)
    has_delivered = np.zeros(n, dtype=bool)
    has_delivered[s_owner] = True
    d_seg, d_day = _ranges(first_day, length)
    d_owner = s_owner[d_seg] if d_seg.size else d_seg
    d_mcg = mcg[d_seg] if d_seg.size else np.empty(0)
    # BSA-dosed segments need the BSA: without it the cycle's delivery is unknown.
    unknown_delivery = np.zeros(n, dtype=bool)
    unknown_delivery[d_owner[np.isnan(d_mcg)]] = True
    in_grid = (d_day >= 1) & (d_day <= span[d_owner])
    delivered = np.zeros(g_owner.size)
    seg_of_day = np.full(g_owner.size, -1, dtype=np.int32)
    if in_grid.any():
        pos = offset[d_owner[in_grid]] + d_day[in_grid] - 1
        np.add.at(delivered, pos, np.nan_to_num(d_mcg[in_grid]))
        seg_of_day[pos] = d_seg[in_grid]
        del pos
    # Delivered days beyond the grid: treatment-free days of the plan, or outside the plan.
    beyond = ~in_grid & defined[d_owner]
    b_owner, b_day, b_mcg, b_seg = d_owner[beyond], d_day[beyond], d_mcg[beyond], d_seg[beyond]
    del d_seg, d_day, d_owner, d_mcg, in_grid, beyond
    # Aggregate duplicates (overlapping segments add up) per (cycle, day).
    if b_owner.size:
        frame = pd.DataFrame({"o": b_owner, "d": b_day, "m": np.nan_to_num(b_mcg), "s": b_seg})
        frame = frame.groupby(["o", "d"], sort=True).agg(m=("m", "sum"), s=("s", "first")).reset_index()
        b_owner, b_day, b_mcg, b_seg = (
            frame["o"].to_numpy(),
            frame["d"].to_numpy(),
            frame["m"].to_numpy(),
            frame["s"].to_numpy(),
        )
    b_in_plan = (b_day >= 1) & (b_day <= plan_length[b_owner])

    # Per plan-grid day classification.
    grid_code = _grid_codes(g_owner, infusing, level_step, delivered, planned, step, full, rules)
    b_code = np.where(
        b_mcg > DOSE_EPSILON,
        np.where(
            b_in_plan,
            DEVIATION_CODE[DoseDeviationKind.TREATMENT_FREE_DAY_INFUSION],
            DEVIATION_CODE[DoseDeviationKind.OUTSIDE_PLAN],
        ),
        0,
    ).astype(np.int8)

    # Totals (dose_intensity): delivered on the plan's days only.
    planned_total = np.bincount(g_owner, weights=planned, minlength=n) if g_owner.size else np.zeros(n)
    delivered_grid = np.bincount(g_owner, weights=delivered, minlength=n) if g_owner.size else np.zeros(n)
    delivered_free = (
        np.bincount(b_owner[b_in_plan], weights=b_mcg[b_in_plan], minlength=n) if b_owner.size else np.zeros(n)
    )
    outside = np.bincount(b_owner[~b_in_plan], weights=b_mcg[~b_in_plan], minlength=n) if b_owner.size else np.zeros(n)
    delivered_days = (
        np.bincount(g_owner, weights=(delivered > DOSE_EPSILON).astype(float), minlength=n)
        if g_owner.size
        else np.zeros(n)
    )
    delivered_days = delivered_days + (
        np.bincount(b_owner[b_in_plan], weights=(b_mcg[b_in_plan] > DOSE_EPSILON).astype(float), minlength=n)
        if b_owner.size
        else 0
    )
    planned_inf_days = (
        np.bincount(g_owner, weights=infusing.astype(float), minlength=n) if g_owner.size else np.zeros(n)
    )
    del infusing, level_step
    known = defined & has_delivered & ~unknown_delivery
    delivered_on_plan = delivered_grid + delivered_free
    out = pd.DataFrame(index=cycles.index)
    out["label_cycle"] = np.where(label_cycle > 0, label_cycle, 0)
    for name in ("measurement_date", "weight_kg", "height_cm", "bsa_m2"):
        out[name] = body[name]
    bsa_flags = bsa_based.astype(object)
    bsa_flags[np.isnan(weight)] = None
    out["bsa_based"] = pd.array(bsa_flags, dtype="boolean")
    out["plan_defined"] = defined
    out["prephase"] = prephase
    out["follows_prephase"] = after_prephase
    out["plan_infusion_days"] = np.where(defined, schedule["infusion_days"], 0)
    out["plan_step_days"] = np.where(defined, np.minimum(schedule["step_days"], schedule["infusion_days"]), 0)
    out["step_mcg_per_day"] = np.where(defined, step, np.nan)
    out["full_mcg_per_day"] = np.where(defined, full, np.nan)
    out["planned_dose_mcg"] = np.where(defined, planned_total, np.nan)
    out["planned_infusion_days"] = pd.array(np.where(defined, planned_inf_days, np.nan), dtype="Float64").astype(
        "Int64"
    )
    out["has_delivered"] = has_delivered
    out["delivered_dose_mcg"] = np.where(known, delivered_on_plan, np.nan)
    out["delivered_outside_plan_mcg"] = np.where(known, outside, np.nan)
    out["delivered_infusion_days"] = pd.array(np.where(known, delivered_days, np.nan), dtype="Float64").astype("Int64")
    with np.errstate(divide="ignore", invalid="ignore"):
        out["dose_intensity"] = np.where(known & (planned_total > 0), delivered_on_plan / planned_total, np.nan)
    plan_end = start + (plan_length - 1).astype("timedelta64[D]")
    out["plan_end_date"] = pd.to_datetime(np.where(defined, plan_end, np.datetime64("NaT")))

    deviations = _runs(
        cycles,
        start,
        known,
        g_owner,
        g_day,
        grid_code,
        planned,
        delivered,
        seg_of_day,
        b_owner,
        b_day,
        b_code,
        b_mcg,
        b_seg,
        seg_start,
    )
    return CycleDoseComparison(out, deviations)


def _runs(
    cycles: pd.DataFrame,
    start: np.ndarray,
    known: np.ndarray,
    g_owner: np.ndarray,
    g_day: np.ndarray,
    grid_code: np.ndarray,
    planned: np.ndarray,
    delivered: np.ndarray,
    seg_of_day: np.ndarray,
    b_owner: np.ndarray,
    b_day: np.ndarray,
    b_code: np.ndarray,
    b_mcg: np.ndarray,
    b_seg: np.ndarray,
    seg_start: np.ndarray,
) -> pd.DataFrame:
    """Deviation days grouped into runs as `rules.dose_deviations` does (same kind, consecutive days,
    same planned and delivered dose). Only cycles with a plan and known delivery."""
    g_sel = (grid_code > 0) & known[g_owner] if g_owner.size else np.zeros(0, dtype=bool)
    b_sel = (b_code > 0) & known[b_owner] if b_owner.size else np.zeros(0, dtype=bool)
    owner = np.concatenate([g_owner[g_sel], b_owner[b_sel]]).astype(np.int64)
    day = np.concatenate([g_day[g_sel], b_day[b_sel]]).astype(np.int64)
    code = np.concatenate([grid_code[g_sel], b_code[b_sel]]).astype(np.int8)
    plan = np.concatenate([planned[g_sel], np.zeros(int(b_sel.sum()))])
    given = np.concatenate([delivered[g_sel], b_mcg[b_sel]])
    seg = np.concatenate([seg_of_day[g_sel], b_seg[b_sel]]).astype(np.int64)
    order = np.lexsort((day, owner))
    owner, day, code, plan, given, seg = owner[order], day[order], code[order], plan[order], given[order], seg[order]
    if owner.size:
        new = np.ones(owner.size, dtype=bool)
        new[1:] = (
            (owner[1:] != owner[:-1])
            | (code[1:] != code[:-1])
            | (day[1:] != day[:-1] + 1)
            | (np.abs(plan[1:] - plan[:-1]) > DOSE_EPSILON)
            | (np.abs(given[1:] - given[:-1]) > DOSE_EPSILON)
        )
        firsts = np.flatnonzero(new)
        lasts = np.r_[firsts[1:] - 1, owner.size - 1]
    else:
        firsts = lasts = np.empty(0, dtype=np.int64)
    r_owner = owner[firsts]
    first_day, last_day = day[firsts], day[lasts]
    kinds = np.array([k.value for k in _KINDS], dtype=object)
    kind = kinds[code[firsts] - 1] if firsts.size else np.empty(0, dtype=object)
    first_date = start[r_owner] + (first_day - 1).astype("timedelta64[D]")
    last_date = start[r_owner] + (last_day - 1).astype("timedelta64[D]")
    seg_first = seg[firsts]
    seg_dates = np.full(firsts.size, np.datetime64("NaT"), dtype="datetime64[D]")
    with_segment = seg_first >= 0
    seg_dates[with_segment] = seg_start[seg_first[with_segment]]
    frame = pd.DataFrame(
        {
            "patient_id": cycles["patient_id"].to_numpy()[r_owner],
            "cycle_number": cycles["cycle_number"].astype("Int64").to_numpy()[r_owner],
            "kind": kind,
            "first_day": first_day,
            "last_day": last_day,
            "first_date": pd.to_datetime(first_date),
            "last_date": pd.to_datetime(last_date),
            "planned_mcg_per_day": plan[firsts],
            "delivered_mcg_per_day": given[firsts],
            "segment_start": pd.to_datetime(seg_dates),
            "_cycle_row": cycles.index.to_numpy()[r_owner] if r_owner.size else np.empty(0, dtype=np.int64),
        }
    )
    frame["message"] = _messages(frame)
    return frame.reset_index(drop=True)


def _messages(frame: pd.DataFrame) -> pd.Series:
    """The run's message worded as `rules.delivery._deviation_message`."""
    if frame.empty:
        return pd.Series([], dtype=object)
    days = np.where(
        frame["first_day"] == frame["last_day"],
        "day " + frame["first_day"].astype(str),
        "days " + frame["first_day"].astype(str) + "-" + frame["last_day"].astype(str),
    )
    text = frame["kind"].map({k.value: v for k, v in DEVIATION_TEXT.items()})
    return (
        pd.Series(days, index=frame.index, dtype=str)
        + ": "
        + text
        + " (planned "
        + frame["planned_mcg_per_day"].map("{:.2f}".format)
        + ", delivered "
        + frame["delivered_mcg_per_day"].map("{:.2f}".format)
        + " mcg/day)"
    )
