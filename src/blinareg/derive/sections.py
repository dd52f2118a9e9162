"""The per-event frames of the analysis dataset: `relapses` (one row per relapse), `dose_steps` (planned and
delivered daily dose by step, per cycle) and `responses` (one row per hematological response assessment).
docs/analysis-dataset.md defines each column."""

from __future__ import annotations

import numpy as np
import pandas as pd

from blinareg.rules import RuleSet
from blinareg.rules.frames import CycleDoseComparison, classify_relapses

__all__ = [
    "relapses_frame",
    "dose_steps_frame",
    "responses_frame",
    "RELAPSE_COLUMNS",
    "DOSE_STEP_COLUMNS",
    "RESPONSE_COLUMNS",
    "SALVAGE_THERAPIES",
]

RELAPSE_COLUMNS = [
    "patient_id",
    "relapse_number",
    "relapse_date",
    "site_class",
    "site_detail",
    "timing",
    "bfm_strategic_group",
    "intreall_risk",
    "marrow_blasts_pct",
    "cd19_status",
    "after_origin",
    "salvage_therapy",
    "salvage_date",
]
RESPONSE_COLUMNS = ["patient_id", "assessment_date", "cycle_number", "category", "marrow_blasts_pct"]
DOSE_STEP_COLUMNS = ["patient_id", "cycle_number", "phase", "kind", "step", "start_day", "days", "daily_dose", "unit"]
# Salvage therapy values, and the order that breaks a same-day tie.
SALVAGE_THERAPIES = ("hsct", "car_t", "inotuzumab", "blinatumomab", "chemotherapy", "other", "none")
_LINE_TO_SALVAGE = {
    "hsct": "hsct",
    "car_t": "car_t",
    "inotuzumab": "inotuzumab",
    "blinatumomab": "blinatumomab",
    "chemotherapy": "chemotherapy",
    "radiotherapy": "other",
    "other": "other",
}


def relapses_frame(
    p: pd.DataFrame, t: dict[str, pd.DataFrame], rules: RuleSet, cutoff: pd.Timestamp | None
) -> pd.DataFrame:
    """One row per relapse record, sorted by patient and date.

    relapse_number: the order by date (1 = first relapse). Classification as the index relapse's
    (`classify_relapses`; strategic group and IntReALL risk for first relapses only). after_origin: the
    relapse is strictly after the patient's origin date and not after the cut-off. salvage_therapy: the
    first therapy started on or after the relapse date and before the next relapse: a treatment line
    (car_t, inotuzumab, blinatumomab, chemotherapy; radiotherapy and other -> other), a blinatumomab
    cycle, or an HSCT; `none` when nothing is recorded (same-day ties: SALVAGE_THERAPIES order).
    """
    relapses = t["relapse"].sort_values(["patient_id", "relapse_date", "relapse_number"], kind="stable")
    if relapses.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in RELAPSE_COLUMNS})
    order = relapses.groupby("patient_id").cumcount().to_numpy() + 1
    frame = relapses.assign(
        diagnosis_date=relapses["patient_id"].map(p["diagnosis_date"]),
        frontline_end_date=relapses["patient_id"].map(p["frontline_end_date"]),
    )
    classes = classify_relapses(frame, rules, groups=order == 1)
    origin = relapses["patient_id"].map(p["origin_date"])
    after = (relapses["relapse_date"] > origin).fillna(False)
    if cutoff is not None:
        after &= relapses["relapse_date"] <= cutoff
    next_relapse = relapses.groupby("patient_id")["relapse_date"].shift(-1)
    salvage, salvage_date = _salvage(relapses, next_relapse, t)
    cd19 = relapses["cd19_status"] if "cd19_status" in relapses.columns else pd.Series(None, index=relapses.index)
    out = pd.DataFrame(
        {
            "patient_id": relapses["patient_id"].to_numpy(),
            "relapse_number": order,
            "relapse_date": relapses["relapse_date"].to_numpy(),
            "site_class": classes["relapse_site_class"].to_numpy(),
            "site_detail": classes["relapse_site_detail"].to_numpy(),
            "timing": classes["relapse_timing"].to_numpy(),
            "bfm_strategic_group": classes["bfm_strategic_group"].to_numpy(),
            "intreall_risk": classes["intreall_risk"].to_numpy(),
            "marrow_blasts_pct": relapses["marrow_blasts_pct"].to_numpy(dtype=float),
            "cd19_status": cd19.astype(object).where(cd19.notna(), None).to_numpy(),
            "after_origin": after.to_numpy(dtype=bool),
            "salvage_therapy": salvage,
            "salvage_date": salvage_date,
        }
    )
    return out.reset_index(drop=True)


def _salvage(
    relapses: pd.DataFrame, next_relapse: pd.Series, t: dict[str, pd.DataFrame]
) -> tuple[np.ndarray, np.ndarray]:
    lines = t["treatment_line"]
    therapies = [
        pd.DataFrame(
            {
                "patient_id": lines["patient_id"],
                "date": lines["start_date"],
                "therapy": lines["treatment_type"].astype(object).map(_LINE_TO_SALVAGE),
            }
        ),
        pd.DataFrame({"patient_id": t["hsct"]["patient_id"], "date": t["hsct"]["hsct_date"], "therapy": "hsct"}),
        pd.DataFrame(
            {
                "patient_id": t["blinatumomab_cycle"]["patient_id"],
                "date": t["blinatumomab_cycle"]["start_date"],
                "therapy": "blinatumomab",
            }
        ),
    ]
    therapy = pd.concat(therapies, ignore_index=True).dropna(subset=["date", "therapy"])
    rank = {name: i for i, name in enumerate(SALVAGE_THERAPIES)}
    therapy = therapy.assign(_rank=therapy["therapy"].map(rank), date=pd.to_datetime(therapy["date"]))
    # The earliest (then highest-ranked) therapy per patient and date, ready for an as-of search forward.
    therapy = therapy.sort_values(["date", "_rank"], kind="stable").drop_duplicates(["patient_id", "date"])
    therapy = therapy.astype({"patient_id": relapses["patient_id"].dtype})
    left = pd.DataFrame(
        {
            "patient_id": relapses["patient_id"].to_numpy(),
            "date": pd.to_datetime(relapses["relapse_date"]).to_numpy(),
            "_row": np.arange(len(relapses)),
        }
    ).sort_values("date", kind="stable")
    found = pd.merge_asof(
        left,
        therapy.rename(columns={"date": "salvage_date"}).assign(date=lambda f: f["salvage_date"]).sort_values("date"),
        on="date",
        by="patient_id",
        direction="forward",
    )
    found = found.sort_values("_row")
    date = found["salvage_date"].to_numpy(dtype="datetime64[ns]")
    limit = next_relapse.to_numpy(dtype="datetime64[ns]")
    before_next = np.isnat(limit) | (date < limit)
    has = ~np.isnat(date) & before_next
    therapy_name = np.where(has, found["therapy"].to_numpy(dtype=object), "none")
    return therapy_name.astype(object), np.where(has, date, np.datetime64("NaT"))


def dose_steps_frame(cycles: pd.DataFrame, comparison: CycleDoseComparison, segments: pd.DataFrame) -> pd.DataFrame:
    """Planned and delivered daily dose by step, per cycle (kind `planned` or `delivered`).

    planned: the plan of the cycle before interruptions, one row per dose level: step 1 the step dose
    (when the plan has one: relapsed/refractory cycle 1, a prephase) and the full dose, in mcg/day for
    this patient (BSA-based doses after the caps); start_day is the day within the cycle (1 = start).
    delivered: one row per delivered dose segment in date order, with its recorded dose and unit.
    """
    plan = comparison.cycles
    has_plan = plan["plan_defined"].to_numpy(dtype=bool)
    step_days = plan["plan_step_days"].to_numpy(dtype=int)
    infusion_days = plan["plan_infusion_days"].to_numpy(dtype=int)
    base = pd.DataFrame(
        {
            "patient_id": cycles["patient_id"].to_numpy(),
            "cycle_number": cycles["cycle_number"].astype("Int64").to_numpy(),
            "phase": cycles["phase"].astype(object).to_numpy(),
        }
    )
    first = base[has_plan & (step_days > 0)].assign(
        kind="planned",
        step=1,
        start_day=1,
        days=step_days[has_plan & (step_days > 0)],
        daily_dose=plan["step_mcg_per_day"].to_numpy(dtype=float)[has_plan & (step_days > 0)],
        unit="mcg/day",
    )
    full_rows = has_plan & (infusion_days > step_days)
    second = base[full_rows].assign(
        kind="planned",
        step=np.where(step_days[full_rows] > 0, 2, 1),
        start_day=step_days[full_rows] + 1,
        days=(infusion_days - step_days)[full_rows],
        daily_dose=plan["full_mcg_per_day"].to_numpy(dtype=float)[full_rows],
        unit="mcg/day",
    )
    delivered = segments[segments["kind"] == "delivered"]
    start = pd.Series(
        cycles["start_date"].to_numpy(),
        index=pd.MultiIndex.from_arrays(
            [cycles["patient_id"].to_numpy(), cycles["cycle_number"].astype("Int64").to_numpy()]
        ),
    )
    phase = pd.Series(cycles["phase"].astype(object).to_numpy(), index=start.index)
    key = pd.MultiIndex.from_arrays(
        [delivered["patient_id"].to_numpy(), delivered["cycle_number"].astype("Int64").to_numpy()]
    )
    cycle_start = start.reindex(key).to_numpy(dtype="datetime64[ns]")
    given = pd.DataFrame(
        {
            "patient_id": delivered["patient_id"].to_numpy(),
            "cycle_number": delivered["cycle_number"].astype("Int64").to_numpy(),
            "phase": phase.reindex(key).to_numpy(dtype=object),
            "kind": "delivered",
            "_start": delivered["start_date"].to_numpy(dtype="datetime64[ns]"),
            "start_day": (
                (delivered["start_date"].to_numpy(dtype="datetime64[ns]") - cycle_start) / np.timedelta64(1, "D")
            )
            + 1,
            "days": ((delivered["end_date"] - delivered["start_date"]).dt.days + 1).to_numpy(),
            "daily_dose": delivered["dose"].to_numpy(dtype=float),
            "unit": delivered["unit"].astype(object).to_numpy(),
        }
    )
    given = given[~np.isnat(cycle_start)].sort_values(["patient_id", "cycle_number", "_start"], kind="stable")
    given = given.assign(step=given.groupby(["patient_id", "cycle_number"]).cumcount() + 1).drop(columns="_start")
    out = pd.concat([first, second, given], ignore_index=True)
    if out.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in DOSE_STEP_COLUMNS})
    out["start_day"] = out["start_day"].astype("Int64")
    out["days"] = out["days"].astype("Int64")
    out["cycle_number"] = out["cycle_number"].astype("Int64")
    out = out.assign(_kind=(out["kind"] == "delivered").astype(int)).sort_values(
        ["patient_id", "cycle_number", "_kind", "step"], kind="stable"
    )
    steps: pd.DataFrame = out[DOSE_STEP_COLUMNS].reset_index(drop=True)
    return steps


def responses_frame(assessments: pd.DataFrame) -> pd.DataFrame:
    """Every hematological response assessment as recorded, sorted by patient and date (blasts NaN when not
    recorded)."""
    rows = assessments.sort_values(["patient_id", "assessment_date"], kind="stable")
    return pd.DataFrame(
        {
            "patient_id": rows["patient_id"].to_numpy(dtype=object),
            "assessment_date": rows["assessment_date"].to_numpy(dtype="datetime64[ns]"),
            "cycle_number": rows["cycle_number"].astype("Int64").to_numpy(),
            "category": rows["category"].astype(object).to_numpy(),
            "marrow_blasts_pct": rows["marrow_blasts_pct"].to_numpy(dtype=float),
        },
        columns=RESPONSE_COLUMNS,
    )
