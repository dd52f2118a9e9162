"""Analysis dataset -> plain results, per report section. Every number of the report is computed here, once.

Survival, competing-risks, test, regression and confidence-interval numbers come from `blinareg.stats`
only; this module adds counts and descriptive summaries (n, median, range, IQR) and converts days to
months (days / 30.4375). The results are a nested dict with stable keys, JSON-ready (no NaN: a value
that cannot be estimated is None with a `note` saying why), written as results.json; tables, text and
figures only format them (figures also draw the curve objects kept in `Analysis.curves`).

Layout of every section: ``{"overall": {...}, "groups": {label: {...}}}``; `groups` holds the split by
the `by` variable (empty without one). A group without patients is ``{"n": 0, "note": "no patients"}``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from blinareg.derive.labels import ENDPOINT_NAMES, GENETICS, LEVEL_ORDER
from blinareg.errors import UserError
from blinareg.report.config import (
    CIF_ENDPOINTS,
    DAYS_PER_MONTH,
    KM_ENDPOINTS,
    Comparison,
    ModelSpec,
    ReportConfig,
)
from blinareg.stats import (
    binomial_ci,
    cox_ph,
    cumulative_incidence,
    fine_gray,
    gray_test,
    kaplan_meier,
    logrank_test,
    median_followup,
)

__all__ = ["Analysis", "CurveGroup", "CurveSet", "analyse", "NOTE_NO_PATIENTS", "NON_RESPONDER_TEXT",
           "ORIGIN_AXIS", "ENDPOINT_NAMES", "BY_MAX_LEVELS", "by_choices"]

NOTE_NO_PATIENTS = "no patients"
NOTE_NO_EVENTS = "not estimable (no events)"
BY_MAX_LEVELS = 12

NON_RESPONDER_TEXT = {
    "no_cr": "Non-responder: no complete remission (CR, CRh or CRi) after blinatumomab.",
    "no_complete_mrd_response": (
        "Non-responder: no complete MRD response (no detectable MRD at a sensitivity of at least 1e-4) "
        "after blinatumomab."),
}
ORIGIN_AXIS = {
    "first_blinatumomab": "Months since first blinatumomab",
    "hsct": "Months since HSCT",
    "diagnosis": "Months since diagnosis",
    "relapse": "Months since relapse",
}
# ----------------------------------------------------------------------------------------------------
# Result containers
# ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CurveGroup:
    """One curve (a group) of a figure: the stats result, or None with the reason."""

    label: str
    n: int
    events: int
    result: Any | None  # KaplanMeierResult | CumulativeIncidenceResult | None
    note: str | None = None
    times: np.ndarray | None = None  # follow-up times (days), for numbers at risk and censor marks
    censored: np.ndarray | None = None  # bool per time: censored observation


@dataclass(frozen=True)
class CurveSet:
    """Curves of one figure: an endpoint, overall or per group, with the test that compares them."""

    key: str
    endpoint: str
    kind: str  # "km" or "cif"
    title: str
    groups: tuple[CurveGroup, ...]
    test_name: str | None = None
    p_value: float | None = None
    test_note: str | None = None
    x_label: str = "Months since first blinatumomab"


@dataclass(frozen=True)
class Analysis:
    """Every number of the report (`results`, JSON-ready) and the curves the figures draw."""

    results: dict[str, Any]
    curves: dict[str, CurveSet] = field(default_factory=dict)
    swimmer: pd.DataFrame | None = None


# ----------------------------------------------------------------------------------------------------
# Small, JSON-safe helpers
# ----------------------------------------------------------------------------------------------------


def _num(value: Any) -> float | None:
    """A finite float, or None (NaN, inf, NA and None all become None)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if np.isfinite(number) else None


def _months(days: Any) -> float | None:
    value = _num(days)
    return None if value is None else value / DAYS_PER_MONTH


def _plain(value: Any) -> Any:
    """Level labels as JSON-ready values (bool/str/int)."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    return value


def _bool_array(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(known mask, value) of a boolean-like column with missing values."""
    s = series.astype("boolean")
    known = s.notna().to_numpy(dtype=bool)
    value = s.fillna(False).to_numpy(dtype=bool)
    return known, value


def describe(values: Any) -> dict[str, Any]:
    """n, median, IQR (R's default type-7 quantiles) and range of the known values."""
    arr = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=float)
    arr = arr[np.isfinite(arr)]
    if arr.size == 0:
        return {"n": 0, "median": None, "q1": None, "q3": None, "min": None, "max": None,
                "note": "no values recorded"}
    q1, median, q3 = np.percentile(arr, [25, 50, 75])
    return {"n": int(arr.size), "median": float(median), "q1": float(q1), "q3": float(q3),
            "min": float(arr.min()), "max": float(arr.max())}


def proportion(x: int, n: int, conf_level: float) -> dict[str, Any]:
    """x/n with the exact (Clopper-Pearson) interval from `blinareg.stats.binomial_ci`."""
    if n <= 0:
        return {"x": int(x), "n": 0, "proportion": None, "lower": None, "upper": None, "method": "exact",
                "note": "no evaluable patients"}
    result = binomial_ci(int(x), int(n), conf_level=conf_level, method="exact")
    return {"x": result.x, "n": result.n, "proportion": result.proportion, "lower": result.lower,
            "upper": result.upper, "method": "exact (Clopper-Pearson)"}


def _ordered_levels(column: str, observed: Iterable[Any]) -> list[Any]:
    seen = [v for v in observed if v is not None and not (isinstance(v, float) and np.isnan(v))]
    order = LEVEL_ORDER.get(column, ())
    head = [v for v in order if v in set(seen)]
    rest = sorted({v for v in seen if v not in set(order)}, key=lambda v: (str(type(v)), str(v)))
    return head + rest


def counts(series: pd.Series, column: str, levels: Iterable[Any] | None = None) -> dict[str, Any]:
    """n (%) per level among patients with a known value; `missing` counts the rest."""
    known = series[series.notna()]
    values = [_plain(v) for v in known.tolist()]
    level_list = list(levels) if levels is not None else _ordered_levels(column, values)
    total = len(values)
    tally = pd.Series(values, dtype=object).value_counts() if values else pd.Series(dtype=int)
    rows = []
    for level in level_list:
        n = int(tally.get(level, 0))
        rows.append({"level": _plain(level), "n": n, "percent": (100.0 * n / total) if total else None})
    return {"denominator": total, "missing": int(series.shape[0] - total), "levels": rows}


def _flag(series: pd.Series) -> dict[str, Any]:
    known, value = _bool_array(series)
    n_known = int(known.sum())
    n_yes = int((known & value).sum())
    return {"n": n_yes, "denominator": n_known, "percent": (100.0 * n_yes / n_known) if n_known else None,
            "missing": int(series.shape[0] - n_known)}


# ----------------------------------------------------------------------------------------------------
# Subsets of the dataset
# ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Subset:
    patients: pd.DataFrame
    tte: pd.DataFrame
    cycles: pd.DataFrame
    mrd: pd.DataFrame
    adverse_events: pd.DataFrame

    @property
    def n(self) -> int:
        return int(self.patients.shape[0])

    def restrict(self, mask: np.ndarray) -> "_Subset":
        patients = self.patients[mask]
        ids = set(patients["patient_id"])

        def keep(frame: pd.DataFrame) -> pd.DataFrame:
            if frame.empty:
                return frame
            return frame[frame["patient_id"].isin(ids)]

        return _Subset(patients, keep(self.tte), keep(self.cycles), keep(self.mrd), keep(self.adverse_events))


def _level_label(value: Any) -> str:
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    return str(value)


def by_choices(patients: pd.DataFrame) -> list[str]:
    """Columns usable as --by: at most BY_MAX_LEVELS distinct known values, not identifiers or dates."""
    out = []
    for column in patients.columns:
        if column in ("patient_id",) or column.endswith("_date"):
            continue
        series = patients[column]
        if pd.api.types.is_float_dtype(series.dtype):
            continue
        if series.nunique(dropna=True) <= BY_MAX_LEVELS:
            out.append(column)
    return out


def _split(subset: _Subset, config: ReportConfig) -> list[tuple[str, Any, _Subset]]:
    """[(label, level value, subset)] for the by-variable's levels (configured levels first)."""
    if config.by is None:
        return []
    series = subset.patients[config.by]
    observed = [_plain(v) for v in series.dropna().unique().tolist()]
    levels = list(config.by_levels) if config.by_levels is not None else []
    levels += [v for v in _ordered_levels(config.by, observed) if v not in levels]
    out = []
    values = series.astype(object)
    for level in levels:
        mask = values.map(lambda v, level=level: v is not None and v is not pd.NA and _plain(v) == level)
        out.append((_level_label(level), level, subset.restrict(mask.to_numpy(dtype=bool))))
    return out


def _per_group(subset: _Subset, groups: list[tuple[str, Any, _Subset]],
               fn: Callable[[_Subset], dict[str, Any]]) -> dict[str, Any]:
    def run(part: _Subset) -> dict[str, Any]:
        if part.n == 0:
            return {"n": 0, "note": NOTE_NO_PATIENTS}
        return fn(part)

    return {"overall": run(subset), "groups": {label: run(part) for label, _, part in groups}}


# ----------------------------------------------------------------------------------------------------
# Sections
# ----------------------------------------------------------------------------------------------------


def _cohort(s: _Subset, config: ReportConfig) -> dict[str, Any]:
    p = s.patients
    out: dict[str, Any] = {"n": s.n}
    out["age_at_first_blinatumomab_years"] = describe(p["age_at_first_blinatumomab_years"])
    out["age_at_diagnosis_years"] = describe(p["age_at_diagnosis_years"])
    for column in ("sex", "immunophenotype", "relapse_status_at_blinatumomab", "relapse_site_class",
                   "relapse_site_detail", "relapse_timing", "bfm_strategic_group", "intreall_risk",
                   "indication_group"):
        out[column] = counts(p[column], column)
    out["relapses_before_blinatumomab"] = describe(p["relapses_before_blinatumomab"])
    out["genetics"] = {label: _flag(p[column]) for column, label in GENETICS}
    out["prior_hsct"] = _flag(p["prior_hsct"])
    out["months_diagnosis_to_blinatumomab"] = describe(p["months_diagnosis_to_blinatumomab"])
    by_indication = {}
    mrd_by_indication = {}
    for level in _ordered_levels("indication_group", p["indication_group"].dropna().unique().tolist()):
        members = p[p["indication_group"] == level]
        by_indication[str(level)] = describe(members["months_diagnosis_to_blinatumomab"])
        mrd_by_indication[str(level)] = _percent_describe(members["baseline_mrd_fraction"])
    out["months_diagnosis_to_blinatumomab_by_indication"] = by_indication
    out["baseline_mrd_percent"] = _percent_describe(p["baseline_mrd_fraction"])
    out["baseline_mrd_percent_by_indication"] = mrd_by_indication
    out["baseline_mrd_method"] = counts(p["baseline_mrd_method"], "baseline_mrd_method")
    return out


def _percent_describe(fractions: pd.Series) -> dict[str, Any]:
    values = pd.to_numeric(fractions, errors="coerce") * 100.0
    return describe(values)


def _exposure(s: _Subset, config: ReportConfig) -> dict[str, Any]:
    p, c = s.patients, s.cycles
    out: dict[str, Any] = {"n": s.n, "total_cycles": int(c.shape[0])}
    out["cycles_per_patient"] = describe(p["cycles"])
    cycles = pd.to_numeric(p["cycles"], errors="coerce")
    labels = cycles.map(lambda v: None if pd.isna(v) else ("4+" if v >= 4 else str(int(v))))
    levels = [lv for lv in ("0", "1", "2", "3", "4+") if lv != "0" or bool((labels == "0").any())]
    out["cycles_distribution"] = counts(labels, "cycles", levels)
    out["infusion_days_per_patient"] = describe(p["infusion_days"])
    out["infusion_days_per_cycle"] = describe(c["infusion_days"]) if not c.empty else describe([])
    out["planned_dose_mcg_per_patient"] = describe(p["planned_dose_mcg"])
    out["delivered_dose_mcg_per_patient"] = describe(p["delivered_dose_mcg"])
    out["dose_intensity_per_patient"] = describe(p["dose_intensity"])
    out["dose_intensity_per_cycle"] = describe(c["dose_intensity"]) if not c.empty else describe([])
    interruptions = pd.to_numeric(p["interruptions"], errors="coerce").fillna(0)
    out["patients_with_interruption"] = proportion(int((interruptions > 0).sum()), s.n, config.conf_level)
    out["total_interruptions"] = int(interruptions.sum())
    deviations = pd.to_numeric(p["dose_deviations"], errors="coerce").fillna(0)
    out["patients_with_dose_deviation"] = proportion(int((deviations > 0).sum()), s.n, config.conf_level)
    known, stopped = _bool_array(p["early_stop"])
    out["early_stop"] = proportion(int((known & stopped).sum()), int(known.sum()), config.conf_level)
    out["early_stop_reason"] = counts(p.loc[known & stopped, "early_stop_reason"], "early_stop_reason")
    per_cycle = []
    if not c.empty:
        for number, rows in c.groupby("cycle_number", sort=True):
            intensity = describe(rows["dose_intensity"])
            days = describe(rows["infusion_days"])
            per_cycle.append({
                "cycle_number": int(number), "patients": int(rows["patient_id"].nunique()),
                "infusion_days_median": days["median"], "dose_intensity_median": intensity["median"],
                "interruptions": int(pd.to_numeric(rows["interruptions"], errors="coerce").fillna(0).sum()),
                "early_stops": int(rows["early_stop_reason"].notna().sum()),
            })
    out["per_cycle"] = per_cycle
    return out


def _mrd_rate(series: pd.Series, conf_level: float) -> dict[str, Any]:
    known, negative = _bool_array(series)
    return proportion(int((known & negative).sum()), int(known.sum()), conf_level)


def _discordance(p: pd.DataFrame, flow_column: str, pcr_column: str) -> dict[str, Any]:
    flow_known, flow_neg = _bool_array(p[flow_column])
    pcr_known, pcr_neg = _bool_array(p[pcr_column])
    both = flow_known & pcr_known
    n = int(both.sum())
    cells = {
        "both_negative": int((both & flow_neg & pcr_neg).sum()),
        "flow_negative_pcr_positive": int((both & flow_neg & ~pcr_neg).sum()),
        "flow_positive_pcr_negative": int((both & ~flow_neg & pcr_neg).sum()),
        "both_positive": int((both & ~flow_neg & ~pcr_neg).sum()),
    }
    out: dict[str, Any] = {"n_both_methods": n, **cells,
                           "discordant": cells["flow_negative_pcr_positive"] + cells["flow_positive_pcr_negative"]}
    if n == 0:
        out["note"] = "no patient measured by both flow cytometry and PCR"
    return out


def _response(s: _Subset, config: ReportConfig) -> dict[str, Any]:
    p = s.patients
    level = config.conf_level
    out: dict[str, Any] = {"n": s.n}
    known, cr1 = _bool_array(p["cr_after_cycle1"])
    out["cr_after_cycle1"] = proportion(int((known & cr1).sum()), int(known.sum()), level)
    known, cr = _bool_array(p["cr_achieved"])
    out["cr_achieved"] = proportion(int((known & cr).sum()), int(known.sum()), level)
    out["best_response"] = counts(p["best_response"], "best_response")
    known, responder = _bool_array(p["responder"])
    out["responders"] = proportion(int((known & responder).sum()), int(known.sum()), level)
    out["non_responders"] = {"n": int((known & ~responder).sum()), "denominator": int(known.sum())}
    known, complete = _bool_array(p["complete_mrd_response"])
    out["complete_mrd_response"] = proportion(int((known & complete).sum()), int(known.sum()), level)
    out["mrd_negative"] = {
        "after_cycle1": {"flow": _mrd_rate(p["mrd_negative_after_cycle1_flow"], level),
                         "pcr": _mrd_rate(p["mrd_negative_after_cycle1_pcr"], level)},
        "best": {"flow": _mrd_rate(p["mrd_negative_best_flow"], level),
                 "pcr": _mrd_rate(p["mrd_negative_best_pcr"], level)},
    }
    out["discordance"] = {
        "after_cycle1": _discordance(p, "mrd_negative_after_cycle1_flow", "mrd_negative_after_cycle1_pcr"),
        "best": _discordance(p, "mrd_negative_best_flow", "mrd_negative_best_pcr"),
    }
    out["by_baseline_mrd"] = _by_baseline_mrd(p, config)
    return out


def _by_baseline_mrd(p: pd.DataFrame, config: ReportConfig) -> dict[str, Any]:
    """The high-tumour-load analysis: response in patients with baseline MRD >= threshold vs below."""
    fraction = pd.to_numeric(p["baseline_mrd_fraction"], errors="coerce")
    measured = fraction.notna().to_numpy()
    high = (fraction >= config.high_tumour_load_mrd).to_numpy() & measured
    out: dict[str, Any] = {"threshold_fraction": config.high_tumour_load_mrd,
                           "threshold_percent": 100.0 * config.high_tumour_load_mrd,
                           "n_measured": int(measured.sum()), "strata": {}}
    for name, mask in (("below", measured & ~high), ("at_or_above", high)):
        part = p[mask]
        stratum: dict[str, Any] = {"n": int(mask.sum()),
                                   "baseline_mrd_percent": _percent_describe(part["baseline_mrd_fraction"])}
        if part.empty:
            stratum["note"] = NOTE_NO_PATIENTS
        known, cr = _bool_array(part["cr_achieved"])
        stratum["cr_achieved"] = proportion(int((known & cr).sum()), int(known.sum()), config.conf_level)
        stratum["mrd_negative_best_flow"] = _mrd_rate(part["mrd_negative_best_flow"], config.conf_level)
        stratum["mrd_negative_best_pcr"] = _mrd_rate(part["mrd_negative_best_pcr"], config.conf_level)
        out["strata"][name] = stratum
    # Baseline MRD of those who reached flow MRD negativity vs those who did not (the seed's ranges).
    known, negative = _bool_array(p["mrd_negative_best_flow"])
    out["baseline_mrd_percent_by_best_flow"] = {
        "negative": _percent_describe(p.loc[measured & known & negative, "baseline_mrd_fraction"]),
        "not_negative": _percent_describe(p.loc[measured & known & ~negative, "baseline_mrd_fraction"]),
    }
    if not measured.any():
        out["note"] = "no baseline MRD recorded"
    return out


GRADES = (0, 1, 2, 3, 4, 5)


def _grade_summary(series: pd.Series, level: float) -> dict[str, Any]:
    grades = pd.to_numeric(series, errors="coerce")
    n = int(grades.notna().sum())
    values = grades.dropna().astype(int)
    by_grade = [{"grade": g, "n": int((values == g).sum()),
                 "percent": (100.0 * int((values == g).sum()) / n) if n else None} for g in GRADES]
    return {"denominator": n, "by_grade": by_grade,
            "any_grade": proportion(int((values >= 1).sum()), n, level),
            "grade3plus": proportion(int((values >= 3).sum()), n, level)}


def _safety(s: _Subset, config: ReportConfig) -> dict[str, Any]:
    p, c, ae = s.patients, s.cycles, s.adverse_events
    level = config.conf_level
    out: dict[str, Any] = {"n": s.n}
    out["crs_max_grade"] = _grade_summary(p["crs_max_grade"], level)
    out["icans_max_grade"] = _grade_summary(p["icans_max_grade"], level)
    out["neurotoxicity_max_grade"] = _grade_summary(p["neurotoxicity_max_grade"], level)
    known, g3 = _bool_array(p["grade3plus_any"])
    out["grade3plus_any"] = proportion(int((known & g3).sum()), int(known.sum()), level)
    n_cycles = int(c.shape[0])
    per_cycle: dict[str, Any] = {"cycles": n_cycles}
    if n_cycles:
        crs = pd.to_numeric(c["crs_max_grade"], errors="coerce").fillna(0)
        neuro_events = pd.to_numeric(c["neurotoxicity_events"], errors="coerce").fillna(0)
        neuro_grade = pd.to_numeric(c["neurotoxicity_max_grade"], errors="coerce").fillna(0)
        per_cycle["cycles_with_crs"] = proportion(int((crs > 0).sum()), n_cycles, level)
        per_cycle["cycles_with_crs_grade3plus"] = proportion(int((crs >= 3).sum()), n_cycles, level)
        per_cycle["neurotoxicity_events"] = int(neuro_events.sum())
        per_cycle["neurotoxicity_events_per_100_cycles"] = 100.0 * float(neuro_events.sum()) / n_cycles
        per_cycle["cycles_with_neurotoxicity"] = proportion(int((neuro_events > 0).sum()), n_cycles, level)
        per_cycle["cycles_with_neurotoxicity_grade3plus"] = proportion(int((neuro_grade >= 3).sum()), n_cycles, level)
    else:
        per_cycle["note"] = "no cycles recorded"
    out["per_cycle"] = per_cycle
    out["adverse_events"] = _adverse_events(ae, s.n, s.cycles, level)
    return out


def _adverse_events(ae: pd.DataFrame, n_patients: int, cycles: pd.DataFrame, level: float) -> dict[str, Any]:
    out: dict[str, Any] = {"events": int(ae.shape[0])}
    if ae.empty:
        out.update(by_term=[], cycle1=[], leading_to_interruption=[], leading_to_discontinuation=[],
                   note="no adverse events recorded")
        out["grade_disagreements"] = 0
        return out
    grade = pd.to_numeric(ae["grade"], errors="coerce")
    by_term = []
    for term in _ordered_levels("term", ae["term"].dropna().unique().tolist()):
        rows = ae["term"] == term
        by_term.append({
            "term": str(term), "events": int(rows.sum()),
            "patients_any_grade": int(ae.loc[rows, "patient_id"].nunique()),
            "patients_grade3plus": int(ae.loc[rows & (grade >= 3), "patient_id"].nunique()),
            "percent_any_grade": 100.0 * ae.loc[rows, "patient_id"].nunique() / n_patients,
            "percent_grade3plus": 100.0 * ae.loc[rows & (grade >= 3), "patient_id"].nunique() / n_patients,
        })
    out["by_term"] = sorted(by_term, key=lambda r: (-r["patients_any_grade"], r["term"]))
    cycle_number = pd.to_numeric(ae["cycle_number"], errors="coerce")
    first_cycle_patients = int(cycles.loc[pd.to_numeric(cycles["cycle_number"], errors="coerce") == 1,
                                          "patient_id"].nunique()) if not cycles.empty else 0
    cycle1 = []
    for term in _ordered_levels("term", ae.loc[cycle_number == 1, "term"].dropna().unique().tolist()):
        patients = int(ae.loc[(cycle_number == 1) & (ae["term"] == term), "patient_id"].nunique())
        entry = proportion(patients, first_cycle_patients, level) if first_cycle_patients else {
            "x": patients, "n": 0, "proportion": None, "lower": None, "upper": None, "note": "no cycle 1 recorded"}
        cycle1.append({"term": str(term), **entry})
    out["cycle1"] = sorted(cycle1, key=lambda r: (-r["x"], r["term"]))
    action = ae["action_taken"].astype(object)
    for key, code in (("leading_to_interruption", "interrupted"), ("leading_to_discontinuation", "discontinued")):
        rows = []
        for term in _ordered_levels("term", ae.loc[action == code, "term"].dropna().unique().tolist()):
            mask = (action == code) & (ae["term"] == term)
            rows.append({"term": str(term), "events": int(mask.sum()),
                         "patients": int(ae.loc[mask, "patient_id"].nunique())})
        out[key] = sorted(rows, key=lambda r: (-r["events"], r["term"]))
    computed = pd.to_numeric(ae["computed_grade"], errors="coerce")
    out["grade_disagreements"] = int((computed.notna() & (computed != grade)).sum())
    out["grade_computable"] = int(computed.notna().sum())
    return out


# ----------------------------------------------------------------------------------------------------
# Outcomes
# ----------------------------------------------------------------------------------------------------


def _endpoint_rows(tte: pd.DataFrame, endpoint: str) -> pd.DataFrame:
    if tte.empty:
        return tte
    return tte[tte["PARAMCD"] == endpoint]


def _km(rows: pd.DataFrame, config: ReportConfig) -> tuple[dict[str, Any], Any]:
    n = int(rows.shape[0])
    if n == 0:
        return {"n": 0, "events": 0, "note": NOTE_NO_PATIENTS}, None
    time = rows["AVAL"].to_numpy(dtype=float)
    event = (rows["CNSR"].to_numpy(dtype=int) == 0).astype(int)
    events = int(event.sum())
    km = kaplan_meier(time, event, conf_level=config.conf_level)
    out: dict[str, Any] = {"n": n, "events": events, "max_follow_up_months": _months(time.max())}
    landmarks = km.at(np.array(config.landmarks_days))
    last_time = float(time.max())
    points = []
    for i, months in enumerate(config.landmarks_months):
        point: dict[str, Any] = {"months": months, "estimate": _num(landmarks.survival[i]),
                                 "lower": _num(landmarks.lower[i]), "upper": _num(landmarks.upper[i]),
                                 "n_at_risk": int(landmarks.n_at_risk[i])}
        if config.landmarks_days[i] > last_time:
            point.update(estimate=None, lower=None, upper=None,
                         note=f"not estimable (follow-up shorter than {months:g} months)")
        elif events == 0:
            point["note"] = "no events; confidence interval not estimable"
        elif point["lower"] is None or point["upper"] is None:
            point["note"] = "confidence interval not estimable"
        points.append(point)
    out["landmarks"] = points
    median = {"months": _months(km.median), "lower": _months(km.median_lower), "upper": _months(km.median_upper)}
    if events == 0:
        median["note"] = "not reached (no events)"
    elif median["months"] is None:
        median["note"] = "not reached"
    elif median["upper"] is None:
        median["note"] = "upper confidence limit not reached"
    out["median"] = median
    return out, km


def _cif(rows: pd.DataFrame, config: ReportConfig) -> tuple[dict[str, Any], Any]:
    n = int(rows.shape[0])
    if n == 0:
        return {"n": 0, "events": 0, "competing_events": 0, "note": NOTE_NO_PATIENTS}, None
    time = rows["AVAL"].to_numpy(dtype=float)
    code = rows["EVTCODE"].to_numpy(dtype=int)
    events = int((code == 1).sum())
    out: dict[str, Any] = {"n": n, "events": events, "competing_events": int((code == 2).sum()),
                           "max_follow_up_months": _months(time.max())}
    if events == 0:
        out["landmarks"] = [
            {"months": m, "estimate": 0.0, "lower": None, "upper": None, "note": "no events"}
            if d <= time.max() else
            {"months": m, "estimate": None, "lower": None, "upper": None,
             "note": f"not estimable (follow-up shorter than {m:g} months)"}
            for m, d in zip(config.landmarks_months, config.landmarks_days)]
        out["note"] = "no events"
        return out, None
    cif = cumulative_incidence(time, code, cause=1, conf_level=config.conf_level)
    at = cif.at(np.array(config.landmarks_days))
    points = []
    for i, months in enumerate(config.landmarks_months):
        point: dict[str, Any] = {"months": months, "estimate": _num(at.estimate[i]), "lower": _num(at.lower[i]),
                                 "upper": _num(at.upper[i])}
        if point["estimate"] is None:
            point["note"] = f"not estimable (follow-up shorter than {months:g} months)"
        elif point["lower"] is None or point["upper"] is None or point["estimate"] == 0.0:
            point.update(lower=None if point["estimate"] == 0.0 else point["lower"],
                         upper=None if point["estimate"] == 0.0 else point["upper"])
            point["note"] = "no events by this time" if point["estimate"] == 0.0 else "confidence interval not estimable"
        points.append(point)
    out["landmarks"] = points
    return out, cif


def _test(rows: pd.DataFrame, labels: np.ndarray, endpoint: str) -> dict[str, Any]:
    """Log-rank (KM endpoints) or Gray (CIR/NRM) across the non-empty groups present in `rows`."""
    name = "Gray's test" if endpoint in CIF_ENDPOINTS else "log-rank test"
    present = sorted(set(labels.tolist()))
    if len(present) < 2:
        return {"test": name, "statistic": None, "df": None, "p_value": None,
                "note": "not tested (fewer than two groups with patients)"}
    time = rows["AVAL"].to_numpy(dtype=float)
    if endpoint in CIF_ENDPOINTS:
        code = rows["EVTCODE"].to_numpy(dtype=int)
        if not (code == 1).any():
            return {"test": name, "statistic": None, "df": None, "p_value": None, "note": NOTE_NO_EVENTS}
        result = gray_test(time, code, labels, cause=1)
    else:
        event = (rows["CNSR"].to_numpy(dtype=int) == 0).astype(int)
        if not event.any():
            return {"test": name, "statistic": None, "df": None, "p_value": None, "note": NOTE_NO_EVENTS}
        result = logrank_test(time, event, labels)
    out = {"test": name, "statistic": _num(result.statistic), "df": int(result.df), "p_value": _num(result.p_value)}
    if out["p_value"] is None:
        out["statistic"] = None
        out["note"] = "not estimable (events in one group only)" if endpoint in KM_ENDPOINTS else "not estimable"
    return out


def _curve_group(label: str, summary: dict[str, Any], result: Any, rows: pd.DataFrame) -> CurveGroup:
    times = rows["AVAL"].to_numpy(dtype=float) if not rows.empty else np.zeros(0)
    censored = (rows["CNSR"].to_numpy(dtype=int) == 1) & (rows["EVTCODE"].to_numpy(dtype=int) == 0) \
        if not rows.empty else np.zeros(0, dtype=bool)
    return CurveGroup(label, summary["n"], summary["events"], result, summary.get("note"), times, censored)


def _outcome_endpoint(rows: pd.DataFrame, endpoint: str, config: ReportConfig) -> tuple[dict[str, Any], Any]:
    if endpoint in CIF_ENDPOINTS:
        return _cif(rows, config)
    return _km(rows, config)


def _outcomes(subset: _Subset, groups: list[tuple[str, Any, _Subset]], config: ReportConfig,
              curves: dict[str, CurveSet], x_label: str) -> dict[str, Any]:
    tte = subset.tte
    available = [e for e in KM_ENDPOINTS + CIF_ENDPOINTS if not _endpoint_rows(tte, e).empty]
    out: dict[str, Any] = {"endpoints_available": available, "overall": {}, "groups": {}, "by_test": {}}
    for endpoint in KM_ENDPOINTS + CIF_ENDPOINTS:
        rows = _endpoint_rows(tte, endpoint)
        if rows.empty and endpoint not in ("OS", "EFS", "CIR", "NRM"):
            continue
        summary, result = _outcome_endpoint(rows, endpoint, config)
        out["overall"][endpoint] = summary
        kind = "cif" if endpoint in CIF_ENDPOINTS else "km"
        axis = "Months since relapse" if endpoint == "PROS" else (
            "Months since HSCT" if endpoint == "GRFS" else x_label)
        curves[f"{endpoint.lower()}_overall"] = CurveSet(
            key=f"{endpoint.lower()}_overall", endpoint=endpoint, kind=kind, title=ENDPOINT_NAMES[endpoint],
            groups=(_curve_group("All patients", summary, result, rows),),
            x_label=axis)
        if groups:
            group_curves = []
            labels = []
            parts = []
            for label, _, part in groups:
                part_rows = _endpoint_rows(part.tte, endpoint)
                g_summary, g_result = _outcome_endpoint(part_rows, endpoint, config)
                out["groups"].setdefault(label, {})[endpoint] = g_summary
                group_curves.append(_curve_group(label, g_summary, g_result, part_rows))
                labels.extend([label] * part_rows.shape[0])
                parts.append(part_rows)
            combined = pd.concat(parts) if parts else rows.iloc[:0]
            test = _test(combined, np.array(labels, dtype=object), endpoint)
            out["by_test"][endpoint] = test
            curves[f"{endpoint.lower()}_by_{config.by}"] = CurveSet(
                key=f"{endpoint.lower()}_by_{config.by}", endpoint=endpoint, kind=kind,
                title=f"{ENDPOINT_NAMES[endpoint]} by {config.by.replace('_', ' ')}", groups=tuple(group_curves),
                test_name=test["test"], p_value=test["p_value"], test_note=test.get("note"), x_label=axis)
    os_rows = _endpoint_rows(tte, "OS")
    out["median_follow_up"] = _follow_up(os_rows)
    out["comparisons"] = {}
    for comparison in config.comparisons:
        out["comparisons"][comparison.key] = _comparison(subset, comparison, config, curves, x_label)
    return out


def _follow_up(rows: pd.DataFrame) -> dict[str, Any]:
    if rows.empty:
        return {"months": None, "lower": None, "upper": None, "n": 0, "note": NOTE_NO_PATIENTS,
                "method": "reverse Kaplan-Meier (OS)"}
    event = (rows["CNSR"].to_numpy(dtype=int) == 0).astype(int)
    result = median_followup(rows["AVAL"].to_numpy(dtype=float), event)
    out = {"months": _months(result.median), "lower": _months(result.lower), "upper": _months(result.upper),
           "n": result.n, "n_censored": result.n_censored, "method": "reverse Kaplan-Meier (OS)"}
    time = rows["AVAL"].to_numpy(dtype=float)
    out["range_months"] = {"min": _months(time.min()), "max": _months(time.max())}
    if result.n_censored == 0:
        out["note"] = "not estimable (no patient censored: every patient died)"
    elif out["months"] is None:
        out["note"] = "not reached"
    return out


def _match(series: pd.Series, values: tuple[Any, ...]) -> np.ndarray:
    wanted = {_plain(v) for v in values}
    return series.astype(object).map(lambda v: v is not None and v is not pd.NA and not (
        isinstance(v, float) and np.isnan(v)) and _plain(v) in wanted).to_numpy(dtype=bool)


def _comparison(subset: _Subset, comparison: Comparison, config: ReportConfig, curves: dict[str, CurveSet],
                x_label: str) -> dict[str, Any]:
    p = subset.patients
    out: dict[str, Any] = {"name": comparison.name, "variable": comparison.variable,
                           "groups": [label for label, _ in comparison.groups],
                           "population": {k: [_plain(v) for v in vs] for k, vs in comparison.population},
                           "endpoints": {}}
    for column in [comparison.variable, *[k for k, _ in comparison.population]]:
        if column not in p.columns:
            out["note"] = f"not available (the analysis dataset has no column {column!r})"
            return out
    population = np.ones(p.shape[0], dtype=bool)
    for column, values in comparison.population:
        population &= _match(p[column], values)
    out["n_population"] = int(population.sum())
    group_ids: list[tuple[str, set]] = []
    for label, values in comparison.groups:
        members = population & _match(p[comparison.variable], values)
        group_ids.append((label, set(p.loc[members, "patient_id"])))
    out["group_sizes"] = {label: len(ids) for label, ids in group_ids}
    for endpoint in comparison.endpoints:
        rows_all = _endpoint_rows(subset.tte, endpoint)
        per_group: dict[str, Any] = {}
        curve_groups = []
        labels: list[str] = []
        parts = []
        for label, ids in group_ids:
            rows = rows_all[rows_all["patient_id"].isin(ids)] if not rows_all.empty else rows_all
            summary, result = _outcome_endpoint(rows, endpoint, config)
            per_group[label] = summary
            curve_groups.append(_curve_group(label, summary, result, rows))
            labels.extend([label] * rows.shape[0])
            parts.append(rows)
        combined = pd.concat(parts) if parts else rows_all.iloc[:0]
        test = _test(combined, np.array(labels, dtype=object), endpoint)
        out["endpoints"][endpoint] = {"groups": per_group, "test": test}
        key = f"{endpoint.lower()}_{comparison.key}"
        curves[key] = CurveSet(
            key=key, endpoint=endpoint, kind="cif" if endpoint in CIF_ENDPOINTS else "km",
            title=f"{ENDPOINT_NAMES[endpoint]}: {comparison.name}", groups=tuple(curve_groups),
            test_name=test["test"], p_value=test["p_value"], test_note=test.get("note"),
            x_label="Months since relapse" if endpoint == "PROS" else x_label)
    return out


# ----------------------------------------------------------------------------------------------------
# Models
# ----------------------------------------------------------------------------------------------------


def _design(frame: pd.DataFrame, covariates: tuple[str, ...]) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """Numeric design matrix: booleans 0/1, numbers as they are, categories dummy-coded against the
    most frequent level. Returns the matrix (rows with a missing covariate dropped) and term notes."""
    columns: dict[str, pd.Series] = {}
    terms = []
    for name in covariates:
        series = frame[name]
        if pd.api.types.is_bool_dtype(series.dtype) or str(series.dtype) == "boolean":
            columns[name] = series.astype("boolean").astype("Float64").astype(float)
            terms.append({"covariate": name, "type": "binary", "reference": "no"})
        elif pd.api.types.is_numeric_dtype(series.dtype):
            columns[name] = pd.to_numeric(series, errors="coerce").astype(float)
            terms.append({"covariate": name, "type": "continuous", "reference": None})
        else:
            known = series.dropna()
            levels = _ordered_levels(name, known.unique().tolist())
            if not levels:
                columns[name] = pd.Series(np.nan, index=frame.index)
                terms.append({"covariate": name, "type": "categorical", "reference": None})
                continue
            reference = known.value_counts().idxmax()
            for level in levels:
                if level == reference:
                    continue
                column = series.astype(object).map(lambda v, level=level: np.nan if v is None or (
                    isinstance(v, float) and np.isnan(v)) else float(v == level))
                columns[f"{name}={level}"] = column.astype(float)
            terms.append({"covariate": name, "type": "categorical", "reference": _plain(reference)})
    design = pd.DataFrame(columns, index=frame.index)
    return design, terms


def _model(subset: _Subset, spec: ModelSpec, config: ReportConfig) -> dict[str, Any]:
    out: dict[str, Any] = {"name": spec.name, "kind": spec.kind, "endpoint": spec.endpoint,
                           "covariates": list(spec.covariates),
                           "method": "Cox proportional hazards (Efron ties)" if spec.kind == "cox"
                           else "Fine-Gray subdistribution hazards (cause: event of interest)"}
    missing = [c for c in spec.covariates if c not in subset.patients.columns]
    if missing:
        raise UserError(f"model {spec.name!r}: unknown covariate {missing[0]!r} (not a column of the analysis "
                        "dataset's patients)")
    rows = _endpoint_rows(subset.tte, spec.endpoint)
    if rows.empty:
        out.update(terms=[], note=f"not estimable (no {spec.endpoint} data)", n=0, events=0)
        return out
    frame = rows.merge(subset.patients[["patient_id", *spec.covariates]], on="patient_id", how="left")
    design, terms = _design(frame, spec.covariates)
    complete = design.notna().all(axis=1).to_numpy()
    out["n_excluded_missing"] = int((~complete).sum())
    design = design[complete]
    frame = frame[complete]
    out["n"] = int(frame.shape[0])
    out["terms"] = terms
    time = frame["AVAL"].to_numpy(dtype=float)
    if spec.kind == "cox":
        event = (frame["CNSR"].to_numpy(dtype=int) == 0).astype(int)
        out["events"] = int(event.sum())
        if out["events"] == 0:
            out.update(coefficients=[], note=NOTE_NO_EVENTS)
            return out
        fit = lambda: cox_ph(design, time, event, conf_level=config.conf_level)  # noqa: E731
    else:
        code = frame["EVTCODE"].to_numpy(dtype=int)
        out["events"] = int((code == 1).sum())
        out["competing_events"] = int((code == 2).sum())
        if out["events"] == 0:
            out.update(coefficients=[], note=NOTE_NO_EVENTS)
            return out
        fit = lambda: fine_gray(design, time, code, cause=1, conf_level=config.conf_level)  # noqa: E731
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = fit()
    except (ValueError, np.linalg.LinAlgError) as error:
        out.update(coefficients=[], note=f"not estimable ({error})")
        return out
    out["converged"] = bool(result.converged)
    if caught:
        out["warnings"] = [str(w.message) for w in caught]
    out["coefficients"] = [
        {"term": name, "coef": _num(result.coef[i]), "se": _num(result.se[i]),
         "hr": _num(result.hazard_ratio[i]), "lower": _num(result.hr_lower[i]), "upper": _num(result.hr_upper[i]),
         "p_value": _num(result.p_value[i])}
        for i, name in enumerate(result.covariate_names)]
    out["ratio_name"] = "HR" if spec.kind == "cox" else "sHR"
    return out


# ----------------------------------------------------------------------------------------------------
# Courses (swimmer)
# ----------------------------------------------------------------------------------------------------


def _since_first(dates: pd.Series, first: pd.Series) -> pd.Series:
    return (pd.to_datetime(dates) - pd.to_datetime(first)).dt.days / DAYS_PER_MONTH


def _courses(subset: _Subset, config: ReportConfig) -> tuple[dict[str, Any], pd.DataFrame]:
    p = subset.patients
    first = p["first_blinatumomab_date"]
    end = pd.to_datetime(p["death_date"]).fillna(pd.to_datetime(p["last_contact_date"]))
    frame = pd.DataFrame({
        "patient_id": p["patient_id"].to_numpy(),
        "end": _since_first(end, first).to_numpy(),
        "cr": _since_first(p["cr_date"], first).to_numpy(),
        "hsct": _since_first(p["hsct_date"], first).to_numpy(),
        "relapse": _since_first(p["relapse_after_origin_date"], first).to_numpy(),
        "death": _since_first(p["death_date"], first).to_numpy(),
        "indication_group": p["indication_group"].astype(object).to_numpy(),
    })
    frame = frame[np.isfinite(frame["end"].to_numpy(dtype=float))]
    n_total = int(frame.shape[0])
    frame = frame.sort_values(["end", "patient_id"], ascending=[False, True], kind="stable").reset_index(drop=True)
    limit = config.swimmer_max_patients
    if n_total > limit:
        # A systematic sample over the follow-up ordering keeps the spread of follow-up times.
        picks = np.unique(np.linspace(0, n_total - 1, limit).round().astype(int))
        frame = frame.iloc[picks].reset_index(drop=True)
        selection = (f"a systematic sample of {frame.shape[0]} of {n_total} patients, evenly spaced over the "
                     "ordering by follow-up")
    else:
        selection = f"all {n_total} patients"
    cycles = subset.cycles
    shown = set(frame["patient_id"])
    if not cycles.empty:
        c = cycles[cycles["patient_id"].isin(shown)].merge(p[["patient_id", "first_blinatumomab_date"]],
                                                          on="patient_id")
        bars = pd.DataFrame({
            "patient_id": c["patient_id"].to_numpy(),
            "start": _since_first(c["start_date"], c["first_blinatumomab_date"]).to_numpy(),
            "stop": _since_first(c["end_date"], c["first_blinatumomab_date"]).to_numpy(),
        })
    else:
        bars = pd.DataFrame({"patient_id": [], "start": [], "stop": []})
    frame.attrs["cycles"] = bars
    info = {"n_patients": n_total, "n_shown": int(frame.shape[0]), "selection": selection,
            "time_axis": "months since first blinatumomab"}
    if n_total == 0:
        info["note"] = "no patient with follow-up dates"
    return info, frame


# ----------------------------------------------------------------------------------------------------
# Entry point
# ----------------------------------------------------------------------------------------------------

REQUIRED_FRAMES = ("patients", "time_to_event", "cycles", "mrd", "adverse_events")


def analyse(dataset: Any, config: ReportConfig) -> Analysis:
    """Compute every section the config enables from an `AnalysisDataset`."""
    for name in REQUIRED_FRAMES:
        if not isinstance(getattr(dataset, name, None), pd.DataFrame):
            raise UserError(f"analysis dataset: missing frame {name!r}")
    metadata = dict(getattr(dataset, "metadata", {}) or {})
    origin = metadata.get("origin", config.origin)
    if origin != config.origin:
        raise UserError(f"the analysis dataset was derived with origin {origin!r} but the report asks for "
                        f"{config.origin!r}; derive it again with that origin")
    non_responder = metadata.get("non_responder", config.non_responder)
    if non_responder != config.non_responder:
        raise UserError(f"the analysis dataset was derived with non_responder {non_responder!r} but the report "
                        f"asks for {config.non_responder!r}; derive it again with that definition")
    patients = dataset.patients
    if config.by is not None:
        choices = by_choices(patients)
        if config.by not in patients.columns or config.by not in choices:
            raise UserError(f"unknown --by variable {config.by!r}; choose one of: {', '.join(choices)}")
    subset = _Subset(patients, dataset.time_to_event, dataset.cycles, dataset.mrd, dataset.adverse_events)
    groups = _split(subset, config)
    x_label = ORIGIN_AXIS[config.origin]
    synthetic = bool(patients["synthetic"].astype("boolean").fillna(False).any()) if "synthetic" in patients else False
    results: dict[str, Any] = {
        "meta": {
            "n_patients": subset.n,
            "origin": config.origin,
            "non_responder": config.non_responder,
            "non_responder_definition": NON_RESPONDER_TEXT[config.non_responder],
            "time_unit": f"months (days / {DAYS_PER_MONTH})",
            "landmarks_months": list(config.landmarks_months),
            "conf_level": config.conf_level,
            "high_tumour_load_mrd_fraction": config.high_tumour_load_mrd,
            "by": config.by,
            "by_groups": [{"label": label, "value": _plain(value), "n": part.n} for label, value, part in groups],
            "by_missing": int(patients[config.by].isna().sum()) if config.by else 0,
            "sections": [s for s in ("cohort", "exposure", "response", "safety", "outcomes", "models", "courses",
                                     "text") if config.enabled(s)],
            "as_of": None if metadata.get("as_of") is None else str(metadata.get("as_of")),
            "conventions": [str(c) for c in metadata.get("conventions", [])],
            "unconfirmed_rules": [str(c) for c in metadata.get("unconfirmed_rules", [])],
            "synthetic": synthetic,
        }
    }
    curves: dict[str, CurveSet] = {}
    swimmer = None
    if subset.n == 0:
        results["meta"]["note"] = "the analysis dataset has no patients"
    if config.enabled("cohort"):
        results["cohort"] = _per_group(subset, groups, lambda s: _cohort(s, config))
    if config.enabled("exposure"):
        results["exposure"] = _per_group(subset, groups, lambda s: _exposure(s, config))
    if config.enabled("response"):
        results["response"] = _per_group(subset, groups, lambda s: _response(s, config))
    if config.enabled("safety"):
        results["safety"] = _per_group(subset, groups, lambda s: _safety(s, config))
    if config.enabled("outcomes"):
        results["outcomes"] = _outcomes(subset, groups, config, curves, x_label)
    if config.enabled("models") and config.models:
        results["models"] = {spec.key: _model(subset, spec, config) for spec in config.models}
    if config.enabled("courses"):
        results["courses"], swimmer = _courses(subset, config)
    return Analysis(results=results, curves=curves, swimmer=swimmer)
