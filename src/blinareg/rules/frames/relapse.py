"""Relapse classification, column-wise: the rules of `blinareg.rules.relapse` applied to whole frames.

Same meaning as `rules.classify_relapse` (BFM timing, site class, BFM strategic group, IntReALL risk;
clinical-rules.md §3). One implementation: the calendar-month dates come from the scalar
`add_calendar_months` (once per distinct date), and the strategic group and IntReALL risk from the
scalar `bfm_strategic_group` / `intreall_risk` (once per distinct timing/site pair, at most 9).
Lineage is B for every patient (a B-ALL registry).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from blinareg.rules.relapse import add_calendar_months, bfm_strategic_group, intreall_risk
from blinareg.rules.ruleset import RuleSet

__all__ = ["classify_relapses", "marrow_blasts_used", "site_detail"]

LINEAGE = "b"


def marrow_blasts_used(frame: pd.DataFrame, rules: RuleSet) -> pd.Series:
    """Marrow blasts (%) the site class is computed from.

    The recorded `marrow_blasts_pct`; when it is missing, the record's site flags stand in (the flag
    `site_bone_marrow` means >= 5% blasts): bone marrow only -> the M3 threshold (a recorded marrow
    relapse without extramedullary disease is taken as M3), bone marrow plus extramedullary -> the M2
    threshold, no bone marrow -> 0.
    """
    extramedullary = _extramedullary(frame)
    marrow = frame["site_bone_marrow"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    surrogate = np.where(
        marrow & ~extramedullary, rules.marrow_m3_min_pct.value, np.where(marrow, rules.marrow_m2_min_pct.value, 0.0)
    )
    recorded = frame["marrow_blasts_pct"].to_numpy(dtype=float)
    return pd.Series(np.where(np.isnan(recorded), surrogate, recorded), index=frame.index)


def _extramedullary(frame: pd.DataFrame) -> NDArray[np.bool_]:
    involved: NDArray[np.bool_] = np.logical_or.reduce(
        [
            frame[c].astype("boolean").fillna(False).to_numpy(dtype=bool)
            for c in ("site_cns", "site_testis", "site_other_extramedullary")
        ]
    )
    return involved


def _first_match(
    conditions: list[NDArray[np.bool_]], choices: list[str | None], default: str | None
) -> NDArray[np.object_]:
    """Per row, the choice of the first true condition, else `default` (`np.select` on object codes)."""
    out = np.full(len(conditions[0]), default, dtype=object)
    for condition, choice in reversed(list(zip(conditions, choices))):
        out[condition] = choice
    return out


def site_detail(frame: pd.DataFrame, blasts: pd.Series, rules: RuleSet) -> pd.Series:
    """Involved sites joined with '+': "BM", "CNS", "testis", "other EM" (e.g. "BM+CNS", "CNS+testis").

    BM is listed when `site_bone_marrow` is true or the marrow has >= 5% blasts (M2 or M3)."""
    marrow = frame["site_bone_marrow"].astype("boolean").fillna(False).to_numpy(dtype=bool) | (
        blasts.to_numpy(dtype=float) >= rules.marrow_m2_min_pct.value
    )
    parts = [("BM", marrow)] + [
        (label, frame[c].astype("boolean").fillna(False).to_numpy(dtype=bool))
        for label, c in (("CNS", "site_cns"), ("testis", "site_testis"), ("other EM", "site_other_extramedullary"))
    ]
    text = np.full(len(frame), "", dtype=object)
    for label, present in parts:
        text = np.where(present, np.where(text == "", label, text + "+" + label), text)
    text[text == ""] = None
    return pd.Series(text, index=frame.index, dtype="object")


def classify_relapses(frame: pd.DataFrame, rules: RuleSet, *, groups: np.ndarray | None = None) -> pd.DataFrame:
    """Timing, site class, BFM strategic group and IntReALL risk of each relapse row.

    `frame` needs diagnosis_date, relapse_date, frontline_end_date, marrow_blasts_pct, site_bone_marrow,
    site_cns, site_testis, site_other_extramedullary. `groups` (bool per row, default all True) says
    where the strategic group and IntReALL risk are computed (they classify first relapses).
    Timing (BFM, calendar months): very early when relapse < diagnosis + `very_early_months`; else
    early when relapse < end of front-line therapy + `early_after_end_of_therapy_months`, else late;
    None when the relapse is not after the diagnosis, the end of front-line therapy precedes the
    diagnosis, or it is needed and missing. Site: extramedullary disease with >= M2 blasts combined,
    with < M2 isolated extramedullary; no extramedullary disease with >= M3 isolated marrow, else None.
    """
    dx = pd.to_datetime(frame["diagnosis_date"])
    relapse = pd.to_datetime(frame["relapse_date"])
    eot = pd.to_datetime(frame["frontline_end_date"])
    very_early_before = _plus_calendar_months(dx, rules.very_early_months.value)
    early_before = _plus_calendar_months(eot, rules.early_after_end_of_therapy_months.value)
    valid = (relapse > dx).to_numpy() & ~(eot < dx).to_numpy()
    very_early = (relapse < very_early_before).to_numpy()
    has_eot = eot.notna().to_numpy()
    early = (relapse < early_before).to_numpy()
    missing = dx.isna().to_numpy() | relapse.isna().to_numpy()
    timing = _first_match(
        [missing, ~valid, very_early, ~has_eot, early], [None, None, "very_early", None, "early"], default="late"
    )

    blasts = marrow_blasts_used(frame, rules)
    b = blasts.to_numpy(dtype=float)
    em = _extramedullary(frame)
    site = _first_match(
        [em & (b >= rules.marrow_m2_min_pct.value), em, b >= rules.marrow_m3_min_pct.value],
        ["combined", "isolated_extramedullary", "isolated_marrow"],
        default=None,
    )

    classify = (timing != None) & (site != None)  # noqa: E711 (object arrays)
    if groups is not None:
        classify &= np.asarray(groups, dtype=bool)
    group = np.full(len(frame), None, dtype=object)
    risk = np.full(len(frame), None, dtype=object)
    pairs = pd.DataFrame({"timing": timing, "site": site})[classify]
    for (when, where), rows in pairs.groupby(["timing", "site"]).groups.items():
        # The scalar rules are the one implementation; there are at most 3 x 3 distinct pairs.
        strategic = bfm_strategic_group(when, where, LINEAGE, rules=rules).group
        intreall = intreall_risk(when, where, LINEAGE, rules=rules).group
        positions = np.asarray(rows, dtype=np.int64)  # positions: `pairs` has a RangeIndex
        group[positions] = strategic.value
        risk[positions] = None if intreall is None else intreall.value
    return pd.DataFrame(
        {
            "relapse_timing": timing,
            "relapse_site_class": site,
            "relapse_site_detail": site_detail(frame, blasts, rules).to_numpy(),
            "bfm_strategic_group": group,
            "intreall_risk": risk,
            "marrow_blasts_used_pct": b,
        },
        index=frame.index,
    ).astype(
        {"relapse_timing": object, "relapse_site_class": object, "bfm_strategic_group": object, "intreall_risk": object}
    )


def _plus_calendar_months(dates: pd.Series, months: int) -> pd.Series:
    """`add_calendar_months` of every date (computed once per distinct date); NaT stays NaT."""
    distinct = dates.dropna().unique()
    shifted = {day: pd.Timestamp(add_calendar_months(pd.Timestamp(day).date(), months)) for day in distinct}
    return dates.map(shifted).astype("datetime64[ns]")
