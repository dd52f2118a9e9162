"""Analysis dataset -> typed results, per report section. Every number of the report is computed here, once.

Survival, competing-risks, test, regression and confidence-interval numbers come from `blinareg.stats`
only; this module adds counts and descriptive summaries (n, median, range, IQR) and converts days to
months (days / 30.4375). The results are the frozen dataclasses of `blinareg.report.results` (no NaN: a
value that cannot be estimated is None with a `note` saying why); tables, text, figures and results.json
(`to_json`) only read them (figures also draw the curve objects kept in `Analysis.curves`).

Every per-group section is a `Grouped(overall, groups)`; `groups` holds the split by the `by` variable
(empty without one). A group without patients is `NoPatients()`.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd
from scipy.special import chdtrc

from blinareg.derive.labels import (
    ENDPOINT_NAMES,
    GENETICS,
    LEVEL_ORDER,
    NOT_APPLICABLE_REASON,
    column_label,
    value_label,
)
from blinareg.errors import UserError
from blinareg.report.config import (
    CIF_ENDPOINTS,
    DAYS_PER_MONTH,
    KM_ENDPOINTS,
    Comparison,
    ModelSpec,
    ReportConfig,
    SubgroupSpec,
)
from blinareg.report.results import (
    ActionTerm,
    AdverseEvents,
    BaselineMrd,
    BaselineStratum,
    ByGroup,
    Coefficient,
    Cohort,
    ComparisonEndpoint,
    ComparisonResult,
    CountOf,
    DataQueryCounts,
    Counts,
    Courses,
    Cycle1Term,
    CycleExposure,
    Discordance,
    Distribution,
    DoseStep,
    EndpointSummary,
    Exposure,
    Flag,
    FollowUp,
    FreezeSource,
    GradeCount,
    GradeSummary,
    Grouped,
    Landmark,
    LevelCount,
    Median,
    Meta,
    ModelResult,
    ModelTerm,
    MrdByMethod,
    NoPatients,
    Outcomes,
    PerCycleSafety,
    PhTermTest,
    PhTest,
    PublishedRow,
    SubgroupBlock,
    SubgroupForest,
    SubgroupHR,
    RelapseSummary,
    Proportion,
    ReportResults,
    Response,
    Safety,
    TermCount,
    TestResult,
    to_json,
)
from blinareg.stats import (
    binomial_ci,
    cox_ph,
    cox_zph,
    cumulative_incidence,
    fine_gray,
    gray_test,
    kaplan_meier,
    logrank_test,
    median_followup,
)

__all__ = [
    "Analysis",
    "CurveGroup",
    "CurveSet",
    "analyse",
    "NOTE_NO_PATIENTS",
    "NON_RESPONDER_TEXT",
    "ORIGIN_AXIS",
    "ENDPOINT_NAMES",
    "BY_MAX_LEVELS",
    "by_choices",
]

NOTE_NO_PATIENTS = "no patients"
NOTE_NO_EVENTS = "not estimable (no events)"
BY_MAX_LEVELS = 12

NON_RESPONDER_TEXT = {
    "no_cr": "Non-responder: no complete remission (CR, CRh or CRi) after blinatumomab.",
    "no_complete_mrd_response": (
        "Non-responder: no complete MRD response (no detectable MRD at a sensitivity of at least 1e-4) "
        "after blinatumomab."
    ),
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
    counts: np.ndarray | None = None  # patients per entry of times (None: one each; counts from an engine)


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
    """Every number of the report (`results`, typed; `to_json(results)` is results.json) and the curves the
    figures draw."""

    results: ReportResults
    curves: dict[str, CurveSet] = field(default_factory=dict)
    swimmer: pd.DataFrame | None = None

    def json(self) -> dict[str, Any]:
        """The results as the JSON-ready mapping of results.json."""
        return to_json(self.results)


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


def describe(values: Any) -> Distribution:
    """n, median, IQR (R's default type-7 quantiles) and range of the known values."""
    arr = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=float)
    arr = arr[np.isfinite(arr)]
    if arr.size == 0:
        return Distribution(0, note="no values recorded")
    q1, median, q3 = np.percentile(arr, [25, 50, 75])
    return Distribution(int(arr.size), float(median), float(q1), float(q3), float(arr.min()), float(arr.max()))


def proportion(x: int, n: int, conf_level: float) -> Proportion:
    """x/n with the exact (Clopper-Pearson) interval from `blinareg.stats.binomial_ci`."""
    if n <= 0:
        return Proportion(int(x), 0, None, None, None, note="no evaluable patients")
    result = binomial_ci(int(x), int(n), conf_level=conf_level, method="exact")
    return Proportion(int(result.x), int(result.n), _num(result.proportion), _num(result.lower), _num(result.upper))


def lower_first(text: str) -> str:
    """'Remission status at HSCT' -> 'remission status at HSCT' (acronyms such as 'HSCT', 'CRS' kept)."""
    if len(text) > 1 and text[0].isupper() and text[1].islower():
        return text[0].lower() + text[1:]
    return text


def _ordered_levels(column: str, observed: Iterable[Any]) -> list[Any]:
    seen = [v for v in observed if v is not None and not (isinstance(v, float) and np.isnan(v))]
    order = LEVEL_ORDER.get(column, ())
    head = [v for v in order if v in set(seen)]
    rest = sorted({v for v in seen if v not in set(order)}, key=lambda v: (str(type(v)), str(v)))
    return head + rest


def counts(
    series: pd.Series, column: str, levels: Iterable[Any] | None = None, applicable: pd.Series | None = None
) -> Counts:
    """n (%) per level among patients with a known value; `missing` counts the rest.

    applicable: a boolean mask (same index) of patients for whom the column can have a value; the others
    are counted as `not_applicable` (with the reason from `derive.labels.NOT_APPLICABLE_REASON`), the rest
    of the missing as `unknown`, and each level also gets its percentage of all patients."""
    known = series[series.notna()]
    values = [_plain(v) for v in known.tolist()]
    level_list = list(levels) if levels is not None else _ordered_levels(column, values)
    total = len(values)
    everyone = int(series.shape[0])
    tally = pd.Series(values, dtype=object).value_counts() if values else pd.Series(dtype=int)
    rows = []
    for level in level_list:
        n = int(tally.get(level, 0))
        rows.append(
            LevelCount(
                _plain(level),
                n,
                (100.0 * n / total) if total else None,
                percent_of_all=((100.0 * n / everyone) if everyone else None) if applicable is not None else None,
            )
        )
    missing = everyone - total
    if applicable is None:
        return Counts(total, missing, tuple(rows), everyone)
    not_applicable = int((series.isna() & ~applicable.astype(bool)).sum())
    return Counts(
        total,
        missing,
        tuple(rows),
        everyone,
        not_applicable=not_applicable,
        not_applicable_reason=NOT_APPLICABLE_REASON.get(column, "not applicable"),
        unknown=missing - not_applicable,
    )


def _flag(series: pd.Series) -> Flag:
    known, value = _bool_array(series)
    n_known = int(known.sum())
    n_yes = int((known & value).sum())
    return Flag(n_yes, n_known, (100.0 * n_yes / n_known) if n_known else None, int(series.shape[0] - n_known))


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
    dose_steps: pd.DataFrame | None = None  # optional frames: absent from older analysis datasets
    relapses: pd.DataFrame | None = None
    hsct_tte: pd.DataFrame | None = None
    ae_window: str | None = None

    @property
    def n(self) -> int:
        return int(self.patients.shape[0])

    def restrict(self, mask: np.ndarray) -> "_Subset":
        patients = self.patients[mask]
        ids = set(patients["patient_id"])

        def keep(frame: pd.DataFrame | None) -> pd.DataFrame | None:
            if frame is None or frame.empty:
                return frame
            return frame[frame["patient_id"].isin(ids)]

        return _Subset(
            patients,
            keep(self.tte),
            keep(self.cycles),
            keep(self.mrd),
            keep(self.adverse_events),
            keep(self.dose_steps),
            keep(self.relapses),
            keep(self.hsct_tte),
            self.ae_window,
        )


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


def _per_group(subset: _Subset, groups: list[tuple[str, Any, _Subset]], fn: Callable[[_Subset], Any]) -> Grouped[Any]:
    def run(part: _Subset) -> Any:
        if part.n == 0:
            return NoPatients()
        return fn(part)

    return Grouped(run(subset), {label: run(part) for label, _, part in groups})


# ----------------------------------------------------------------------------------------------------
# Sections
# ----------------------------------------------------------------------------------------------------


def _applicable(p: pd.DataFrame, column: str) -> pd.Series | None:
    """Patients for whom a classification column can have a value (None: every patient).

    Relapse site and timing describe the index relapse: not applicable in CR1 (no relapse). The BFM
    strategic group and the IntReALL risk group classify a first relapse only. A patient whose disease
    status is unknown may be classifiable: counted as unknown, not as not applicable."""
    status = p["relapse_status_at_blinatumomab"].astype(object)
    unknown = status.isna()
    if column in ("relapse_site_class", "relapse_site_detail", "relapse_timing"):
        return unknown | (status != "no_relapse")
    if column in ("bfm_strategic_group", "intreall_risk"):
        return unknown | (status == "first_relapse")
    return None


def _status_negative(series: pd.Series) -> pd.Series:
    """'negative' -> True, 'positive' -> False, anything else (not evaluable, missing) -> NA."""
    values = series.astype(object)
    out = pd.Series(pd.NA, index=series.index, dtype="boolean")
    out[values == "negative"] = True
    out[values == "positive"] = False
    return out


def _cohort(s: _Subset, config: ReportConfig) -> Cohort:
    p = s.patients
    out: dict[str, Any] = {"n": s.n}
    out["age_at_first_blinatumomab_years"] = describe(p["age_at_first_blinatumomab_years"])
    out["age_at_diagnosis_years"] = describe(p["age_at_diagnosis_years"])
    for column in (
        "sex",
        "immunophenotype",
        "relapse_status_at_blinatumomab",
        "relapse_site_class",
        "relapse_site_detail",
        "relapse_timing",
        "bfm_strategic_group",
        "intreall_risk",
        "indication_group",
    ):
        out[column] = counts(p[column], column, applicable=_applicable(p, column))
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
    if "followup_days" in p.columns:
        out["followup_months"] = describe(pd.to_numeric(p["followup_days"], errors="coerce") / DAYS_PER_MONTH)
    if {"baseline_mrd_flow_status", "baseline_mrd_pcr_status"} <= set(p.columns):
        both = pd.DataFrame(
            {
                "flow": _status_negative(p["baseline_mrd_flow_status"]),
                "pcr": _status_negative(p["baseline_mrd_pcr_status"]),
            }
        )
        out["baseline_discordance"] = _discordance(both, "flow", "pcr")
    if "chemotherapy_intolerance_reason" in p.columns:
        reasons = {}
        for level in _ordered_levels("indication_group", p["indication_group"].dropna().unique().tolist()):
            members = p[p["indication_group"] == level]
            if members["chemotherapy_intolerance_reason"].notna().any():
                reasons[str(level)] = counts(
                    members["chemotherapy_intolerance_reason"], "chemotherapy_intolerance_reason"
                )
        out["chemotherapy_intolerance_reason"] = reasons
    return Cohort(**out)


TABLE1_CATEGORICAL = (
    "sex",
    "immunophenotype",
    "relapse_status_at_blinatumomab",
    "relapse_site_detail",
    "relapse_site_class",
    "relapse_timing",
    "bfm_strategic_group",
    "intreall_risk",
    "indication_group",
    "prior_hsct",
    *[column for column, _ in GENETICS],
)
TABLE1_CONTINUOUS = (
    "age_at_first_blinatumomab_years",
    "relapses_before_blinatumomab",
    "months_diagnosis_to_blinatumomab",
    "baseline_mrd_fraction",
)
FISHER = "Fisher's exact test"
CHI_SQUARE = "Pearson's chi-square test"
WILCOXON = "Wilcoxon rank-sum test"
KRUSKAL = "Kruskal-Wallis test"


def categorical_test(table: np.ndarray) -> TestResult:
    """Fisher's exact test for a 2 x 2 table, else Pearson's chi-square (no continuity correction), as R's
    fisher.test and chisq.test(correct = FALSE); rows or columns without patients are dropped first."""
    from scipy import stats as scipy_stats

    table = np.asarray(table, dtype=float)
    table = table[table.sum(axis=1) > 0][:, table.sum(axis=0) > 0] if table.size else table
    if table.ndim != 2 or min(table.shape) < 2:
        return TestResult(CHI_SQUARE, note="not tested (fewer than two groups or levels with patients)")
    if table.shape == (2, 2):
        return TestResult(FISHER, p_value=_num(scipy_stats.fisher_exact(table)[1]))
    statistic, p_value, df, _ = scipy_stats.chi2_contingency(table, correction=False)
    return TestResult(CHI_SQUARE, _num(statistic), int(df), _num(p_value))


def continuous_test(samples: list[np.ndarray]) -> TestResult:
    """Wilcoxon rank-sum (2 groups; normal approximation with continuity correction, as R's
    wilcox.test(exact = FALSE)) or Kruskal-Wallis (more groups, as R's kruskal.test)."""
    from scipy import stats as scipy_stats

    samples = [np.asarray(x, dtype=float)[np.isfinite(np.asarray(x, dtype=float))] for x in samples]
    samples = [x for x in samples if x.size]
    if len(samples) < 2:
        return TestResult(WILCOXON, note="not tested (fewer than two groups with values)")
    if np.unique(np.concatenate(samples)).size < 2:
        return TestResult(WILCOXON if len(samples) == 2 else KRUSKAL, note="not tested (all values equal)")
    if len(samples) == 2:
        result = scipy_stats.mannwhitneyu(samples[0], samples[1], use_continuity=True, method="asymptotic")
        return TestResult(WILCOXON, _num(result.statistic), None, _num(result.pvalue))
    result = scipy_stats.kruskal(*samples)
    return TestResult(KRUSKAL, _num(result.statistic), len(samples) - 1, _num(result.pvalue))


def _table1_tests(groups: list[tuple[str, Any, _Subset]]) -> dict[str, TestResult]:
    """P values across the groups of the split for the Table 1 characteristics (known values only)."""
    parts = [part.patients for _, _, part in groups if part.n]
    out: dict[str, TestResult] = {}
    for column in TABLE1_CATEGORICAL:
        values = [p[column].dropna().map(_plain) for p in parts]
        levels = sorted({v for series in values for v in series.tolist()}, key=str)
        table = np.array([[int((series == level).sum()) for level in levels] for series in values])
        out[column] = categorical_test(table)
    for column in TABLE1_CONTINUOUS:
        out[column] = continuous_test([pd.to_numeric(p[column], errors="coerce").to_numpy(dtype=float) for p in parts])
    return out


def _percent_describe(fractions: pd.Series) -> dict[str, Any]:
    values = pd.to_numeric(fractions, errors="coerce") * 100.0
    return describe(values)


def _exposure(s: _Subset, config: ReportConfig) -> Exposure:
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
            per_cycle.append(
                CycleExposure(
                    cycle_number=int(number),
                    patients=int(rows["patient_id"].nunique()),
                    infusion_days_median=days.median,
                    dose_intensity_median=intensity.median,
                    interruptions=int(pd.to_numeric(rows["interruptions"], errors="coerce").fillna(0).sum()),
                    early_stops=int(rows["early_stop_reason"].notna().sum()),
                )
            )
    out["per_cycle"] = tuple(per_cycle)
    if s.dose_steps is not None:
        out["dose_steps"] = _dose_steps(s.dose_steps)
    return Exposure(**out)


def _dose_steps(frame: pd.DataFrame) -> tuple[DoseStep, ...]:
    """Daily dose by phase, cycle and step (planned and delivered), from the dataset's `dose_steps`."""
    if frame.empty:
        return ()
    steps = []
    cycle = pd.to_numeric(frame["cycle_number"], errors="coerce")
    # Doses in mcg/day and in mcg/m2/day are never summarised together: one row per unit.
    keys = frame.assign(_cycle=cycle).groupby(["phase", "_cycle", "step", "unit"], dropna=False, sort=False)
    for (phase, number, step, unit), rows in keys:
        planned = rows[rows["kind"] == "planned"]
        delivered = rows[rows["kind"] == "delivered"]
        steps.append(
            DoseStep(
                phase=str(phase),
                cycle_number=None if pd.isna(number) else int(number),
                step=int(step),
                unit=str(unit),
                patients=int(rows["patient_id"].nunique()),
                planned_daily_dose=describe(planned["daily_dose"]),
                delivered_daily_dose=describe(delivered["daily_dose"]),
                days=describe(delivered["days"]),
            )
        )
    order = {phase: i for i, phase in enumerate(("prephase", "induction", "consolidation", "continued"))}
    return tuple(
        sorted(
            steps,
            key=lambda d: (
                d.cycle_number if d.cycle_number is not None else 10**6,
                order.get(d.phase, 99),
                d.step,
                d.unit,
            ),
        )
    )


def _mrd_rate(series: pd.Series, conf_level: float) -> Proportion:
    known, negative = _bool_array(series)
    return proportion(int((known & negative).sum()), int(known.sum()), conf_level)


def _discordance(p: pd.DataFrame, flow_column: str, pcr_column: str) -> Discordance:
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
    return Discordance(
        n_both_methods=n,
        **cells,
        discordant=cells["flow_negative_pcr_positive"] + cells["flow_positive_pcr_negative"],
        note="no patient measured by both flow cytometry and PCR" if n == 0 else None,
    )


def _response(s: _Subset, config: ReportConfig) -> Response:
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
    out["non_responders"] = CountOf(int((known & ~responder).sum()), int(known.sum()))
    known, complete = _bool_array(p["complete_mrd_response"])
    out["complete_mrd_response"] = proportion(int((known & complete).sum()), int(known.sum()), level)
    out["mrd_negative"] = {
        "after_cycle1": MrdByMethod(
            _mrd_rate(p["mrd_negative_after_cycle1_flow"], level), _mrd_rate(p["mrd_negative_after_cycle1_pcr"], level)
        ),
        "best": MrdByMethod(
            _mrd_rate(p["mrd_negative_best_flow"], level), _mrd_rate(p["mrd_negative_best_pcr"], level)
        ),
    }
    out["discordance"] = {
        "after_cycle1": _discordance(p, "mrd_negative_after_cycle1_flow", "mrd_negative_after_cycle1_pcr"),
        "best": _discordance(p, "mrd_negative_best_flow", "mrd_negative_best_pcr"),
    }
    out["by_baseline_mrd"] = _by_baseline_mrd(p, config)
    return Response(**out)


def _by_baseline_mrd(p: pd.DataFrame, config: ReportConfig) -> BaselineMrd:
    """The high-tumour-load analysis: response in patients with baseline MRD >= threshold vs below."""
    fraction = pd.to_numeric(p["baseline_mrd_fraction"], errors="coerce")
    measured = fraction.notna().to_numpy()
    high = (fraction >= config.high_tumour_load_mrd).to_numpy() & measured
    out: dict[str, Any] = {
        "threshold_fraction": config.high_tumour_load_mrd,
        "threshold_percent": 100.0 * config.high_tumour_load_mrd,
        "n_measured": int(measured.sum()),
        "strata": {},
    }
    for name, mask in (("below", measured & ~high), ("at_or_above", high)):
        part = p[mask]
        known, cr = _bool_array(part["cr_achieved"])
        out["strata"][name] = BaselineStratum(
            n=int(mask.sum()),
            baseline_mrd_percent=_percent_describe(part["baseline_mrd_fraction"]),
            cr_achieved=proportion(int((known & cr).sum()), int(known.sum()), config.conf_level),
            mrd_negative_best_flow=_mrd_rate(part["mrd_negative_best_flow"], config.conf_level),
            mrd_negative_best_pcr=_mrd_rate(part["mrd_negative_best_pcr"], config.conf_level),
            note=NOTE_NO_PATIENTS if part.empty else None,
        )
    # Baseline MRD of those who reached flow MRD negativity vs those who did not (the seed's ranges).
    known, negative = _bool_array(p["mrd_negative_best_flow"])
    out["baseline_mrd_percent_by_best_flow"] = {
        "negative": _percent_describe(p.loc[measured & known & negative, "baseline_mrd_fraction"]),
        "not_negative": _percent_describe(p.loc[measured & known & ~negative, "baseline_mrd_fraction"]),
    }
    if not measured.any():
        out["note"] = "no baseline MRD recorded"
    return BaselineMrd(**out)


GRADES = (0, 1, 2, 3, 4, 5)


def _grade_summary(series: pd.Series, level: float) -> GradeSummary:
    grades = pd.to_numeric(series, errors="coerce")
    n = int(grades.notna().sum())
    values = grades.dropna().astype(int)
    by_grade = tuple(
        GradeCount(g, int((values == g).sum()), (100.0 * int((values == g).sum()) / n) if n else None) for g in GRADES
    )
    return GradeSummary(
        n, by_grade, proportion(int((values >= 1).sum()), n, level), proportion(int((values >= 3).sum()), n, level)
    )


def _safety(s: _Subset, config: ReportConfig) -> Safety:
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
    out["per_cycle"] = PerCycleSafety(**per_cycle)
    out["adverse_events"] = _adverse_events(ae, s.n, s.cycles, level, s.ae_window)
    return Safety(**out)


def _adverse_events(
    ae: pd.DataFrame, n_patients: int, cycles: pd.DataFrame, level: float, window: str | None = None
) -> AdverseEvents:
    """Adverse events by term; only the treatment-emergent ones when the dataset marks them (the same
    window as the patients' maximum-grade columns), with the number outside the window stated apart."""
    out: dict[str, Any] = {}
    if "treatment_emergent" in ae.columns:
        emergent = ae["treatment_emergent"].astype("boolean").fillna(False).to_numpy(dtype=bool)
        out["outside_window"] = int((~emergent).sum())
        out["window"] = "treatment-emergent"  # the dataset's definition is in its conventions (appendix)
        ae = ae[emergent]
    out["events"] = int(ae.shape[0])
    if ae.empty:
        return AdverseEvents(**out, note="no adverse events recorded")
    grade = pd.to_numeric(ae["grade"], errors="coerce")
    by_term = []
    for term in _ordered_levels("term", ae["term"].dropna().unique().tolist()):
        rows = ae["term"] == term
        by_term.append(
            TermCount(
                term=str(term),
                events=int(rows.sum()),
                patients_any_grade=int(ae.loc[rows, "patient_id"].nunique()),
                patients_grade3plus=int(ae.loc[rows & (grade >= 3), "patient_id"].nunique()),
                percent_any_grade=100.0 * ae.loc[rows, "patient_id"].nunique() / n_patients,
                percent_grade3plus=100.0 * ae.loc[rows & (grade >= 3), "patient_id"].nunique() / n_patients,
            )
        )
    out["by_term"] = tuple(sorted(by_term, key=lambda r: (-r.patients_any_grade, r.term)))
    cycle_number = pd.to_numeric(ae["cycle_number"], errors="coerce")
    first_cycle_patients = (
        int(cycles.loc[pd.to_numeric(cycles["cycle_number"], errors="coerce") == 1, "patient_id"].nunique())
        if not cycles.empty
        else 0
    )
    cycle1 = []
    for term in _ordered_levels("term", ae.loc[cycle_number == 1, "term"].dropna().unique().tolist()):
        patients = int(ae.loc[(cycle_number == 1) & (ae["term"] == term), "patient_id"].nunique())
        entry = (
            proportion(patients, first_cycle_patients, level)
            if first_cycle_patients
            else Proportion(patients, 0, None, None, None, note="no cycle 1 recorded")
        )
        cycle1.append(Cycle1Term(str(term), entry))
    out["cycle1"] = tuple(sorted(cycle1, key=lambda r: (-r.rate.x, r.term)))
    action = ae["action_taken"].astype(object)
    for key, code in (("leading_to_interruption", "interrupted"), ("leading_to_discontinuation", "discontinued")):
        rows = []
        for term in _ordered_levels("term", ae.loc[action == code, "term"].dropna().unique().tolist()):
            mask = (action == code) & (ae["term"] == term)
            rows.append(ActionTerm(str(term), int(mask.sum()), int(ae.loc[mask, "patient_id"].nunique())))
        out[key] = tuple(sorted(rows, key=lambda r: (-r.events, r.term)))
    computed = pd.to_numeric(ae["computed_grade"], errors="coerce")
    out["grade_disagreements"] = int((computed.notna() & (computed != grade)).sum())
    out["grade_computable"] = int(computed.notna().sum())
    return AdverseEvents(**out)


# ----------------------------------------------------------------------------------------------------
# Outcomes
# ----------------------------------------------------------------------------------------------------


def _endpoint_rows(tte: pd.DataFrame, endpoint: str) -> pd.DataFrame:
    if tte.empty:
        return tte
    return tte[tte["PARAMCD"] == endpoint]


def _ended_by_events(time: np.ndarray, had_event: np.ndarray) -> bool:
    """True when nobody remains at risk after the last time because every patient followed that long had
    an event there (no one censored at the last time): the curve's last value then holds for ever."""
    last = time.max()
    return bool(had_event[time == last].all())


def _beyond_note(months: float, last_months: float) -> str:
    return (
        f"every patient had an event by {last_months:.1f} months (nobody left at risk); the estimate holds from then on"
    )


@dataclass(frozen=True)
class EndpointExits:
    """What an endpoint's summary needs of the follow-up besides the estimate: from patient rows, or from
    counts (blinareg.pushdown)."""

    n: int
    events: int  # the event of interest
    competing: int  # competing events (0 for Kaplan-Meier endpoints)
    last_time: float  # days
    ended_by_events: bool  # see _ended_by_events


def _km(rows: pd.DataFrame, config: ReportConfig) -> tuple[EndpointSummary, Any]:
    n = int(rows.shape[0])
    if n == 0:
        return EndpointSummary(0, 0, note=NOTE_NO_PATIENTS), None
    time = rows["AVAL"].to_numpy(dtype=float)
    event = (rows["CNSR"].to_numpy(dtype=int) == 0).astype(int)
    km = kaplan_meier(time, event, conf_level=config.conf_level)
    exits = EndpointExits(n, int(event.sum()), 0, float(time.max()), _ended_by_events(time, event.astype(bool)))
    return km_summary(km, exits, config, _rmst(time, event, config)), km


def km_summary(
    km: Any, exits: EndpointExits, config: ReportConfig, rmst: dict[str, Any] | None = None
) -> EndpointSummary:
    """Median and landmarks (with their notes) of a Kaplan-Meier curve."""
    n, events, last_time, extends = exits.n, exits.events, exits.last_time, exits.ended_by_events
    landmarks = km.at(np.array(config.landmarks_days))
    points = []
    for i, months in enumerate(config.landmarks_months):
        estimate, lower, upper = _num(landmarks.survival[i]), _num(landmarks.lower[i]), _num(landmarks.upper[i])
        note = None
        if config.landmarks_days[i] > last_time:
            if extends:
                # As R summary(fit, times, extend = TRUE): the curve ends at its last value (0 when every
                # patient died), with nobody at risk; the log-log interval is not defined at 0.
                note = _beyond_note(months, last_time / DAYS_PER_MONTH)
                if estimate == 0.0:
                    lower = upper = None
            else:
                estimate = lower = upper = None
                note = f"not estimable (follow-up shorter than {months:g} months)"
        elif events == 0:
            note = "no events; confidence interval not estimable"
        elif lower is None or upper is None:
            note = "confidence interval not estimable"
        points.append(Landmark(months, estimate, lower, upper, n_at_risk=int(landmarks.n_at_risk[i]), note=note))
    median_note = None
    months_value = _months(km.median)
    upper_value = _months(km.median_upper)
    if events == 0:
        median_note = "not reached (no events)"
    elif months_value is None:
        median_note = "not reached"
    elif upper_value is None:
        median_note = "upper confidence limit not reached"
    median = Median(months_value, _months(km.median_lower), upper_value, median_note)
    return EndpointSummary(
        n,
        events,
        censored=n - events,
        max_follow_up_months=_months(last_time),
        landmarks=tuple(points),
        median=median,
        rmst=rmst,
    )


def _rmst(time: np.ndarray, event: np.ndarray, config: ReportConfig) -> dict[str, Any] | None:
    """Restricted mean survival time to the configured horizon (months), from `blinareg.stats.rmst`."""
    horizon = config.rmst_horizon_months
    if horizon is None:
        return None
    try:
        from blinareg.stats import rmst
    except ImportError:  # pragma: no cover - a stats package without RMST
        return None
    tau = horizon * DAYS_PER_MONTH
    if tau > float(time.max()):
        return {
            "horizon_months": horizon,
            "months": None,
            "lower": None,
            "upper": None,
            "note": f"not estimable (follow-up shorter than {horizon:g} months)",
        }
    result = rmst(time, event, tau=tau, conf_level=config.conf_level)
    return {
        "horizon_months": horizon,
        "months": _months(result.rmst),
        "lower": _months(result.lower),
        "upper": _months(result.upper),
    }


def _cif(rows: pd.DataFrame, config: ReportConfig) -> tuple[EndpointSummary, Any]:
    n = int(rows.shape[0])
    if n == 0:
        return EndpointSummary(0, 0, competing_events=0, note=NOTE_NO_PATIENTS), None
    time = rows["AVAL"].to_numpy(dtype=float)
    code = rows["EVTCODE"].to_numpy(dtype=int)
    events = int((code == 1).sum())
    exits = EndpointExits(n, events, int((code == 2).sum()), float(time.max()), _ended_by_events(time, code != 0))
    cif = cumulative_incidence(time, code, cause=1, conf_level=config.conf_level) if events else None
    return cif_summary(cif, exits, config), cif


def cif_summary(cif: Any | None, exits: EndpointExits, config: ReportConfig) -> EndpointSummary:
    """Landmarks (with their notes) of the cumulative incidence of cause 1 (None: no such event)."""
    n, events, competing, last_time, extends = (
        exits.n,
        exits.events,
        exits.competing,
        exits.last_time,
        exits.ended_by_events,
    )
    common = dict(competing_events=competing, censored=n - events - competing, max_follow_up_months=_months(last_time))
    if events == 0:
        points = tuple(
            Landmark(m, 0.0, None, None, note="no events")
            if d <= last_time or extends
            else Landmark(m, None, None, None, note=f"not estimable (follow-up shorter than {m:g} months)")
            for m, d in zip(config.landmarks_months, config.landmarks_days)
        )
        return EndpointSummary(n, events, **common, landmarks=points, note="no events")
    at = cif.at(np.array(config.landmarks_days))
    final = cif.at(np.array([last_time]))
    points = []
    for i, months in enumerate(config.landmarks_months):
        estimate, lower, upper = _num(at.estimate[i]), _num(at.lower[i]), _num(at.upper[i])
        note = None
        if config.landmarks_days[i] > last_time and extends:
            # Every patient had one of the events by the last time: the incidence is final from then on.
            estimate, lower, upper = _num(final.estimate[0]), _num(final.lower[0]), _num(final.upper[0])
            note = _beyond_note(months, last_time / DAYS_PER_MONTH)
        if estimate is None:
            note = f"not estimable (follow-up shorter than {months:g} months)"
        elif estimate == 0.0:
            lower = upper = None
            note = "no events by this time"
        elif (lower is None or upper is None) and note is None:
            note = "confidence interval not estimable"
        points.append(Landmark(months, estimate, lower, upper, note=note))
    return EndpointSummary(n, events, **common, landmarks=tuple(points))


def _test(rows: pd.DataFrame, labels: np.ndarray, endpoint: str) -> TestResult:
    """Log-rank (KM endpoints) or Gray (CIR/NRM) across the non-empty groups present in `rows`."""
    name = "Gray's test" if endpoint in CIF_ENDPOINTS else "log-rank test"
    present = sorted(set(labels.tolist()))
    if len(present) < 2:
        return TestResult(name, note="not tested (fewer than two groups with patients)")
    time = rows["AVAL"].to_numpy(dtype=float)
    if endpoint in CIF_ENDPOINTS:
        code = rows["EVTCODE"].to_numpy(dtype=int)
        if not (code == 1).any():
            return TestResult(name, note=NOTE_NO_EVENTS)
        result = gray_test(time, code, labels, cause=1)
    else:
        event = (rows["CNSR"].to_numpy(dtype=int) == 0).astype(int)
        if not event.any():
            return TestResult(name, note=NOTE_NO_EVENTS)
        result = logrank_test(time, event, labels)
    return test_result(name, result, competing=endpoint in CIF_ENDPOINTS)


def test_result(name: str, result: Any, *, competing: bool) -> TestResult:
    """A log-rank or Gray's test result as the report states it."""
    p_value = _num(result.p_value)
    if p_value is None:
        return TestResult(
            name,
            None,
            int(result.df),
            None,
            "not estimable" if competing else "not estimable (events in one group only)",
        )
    return TestResult(name, _num(result.statistic), int(result.df), p_value)


def _curve_group(label: str, summary: EndpointSummary, result: Any, rows: pd.DataFrame) -> CurveGroup:
    times = rows["AVAL"].to_numpy(dtype=float) if not rows.empty else np.zeros(0)
    censored = (
        (rows["CNSR"].to_numpy(dtype=int) == 1) & (rows["EVTCODE"].to_numpy(dtype=int) == 0)
        if not rows.empty
        else np.zeros(0, dtype=bool)
    )
    return CurveGroup(label, summary.n, summary.events, result, summary.note, times, censored)


def _outcome_endpoint(rows: pd.DataFrame, endpoint: str, config: ReportConfig) -> tuple[EndpointSummary, Any]:
    if endpoint in CIF_ENDPOINTS:
        return _cif(rows, config)
    return _km(rows, config)


def _outcomes(
    subset: _Subset,
    groups: list[tuple[str, Any, _Subset]],
    config: ReportConfig,
    curves: dict[str, CurveSet],
    x_label: str,
) -> Outcomes:
    tte = subset.tte
    available = tuple(e for e in KM_ENDPOINTS + CIF_ENDPOINTS if not _endpoint_rows(tte, e).empty)
    overall: dict[str, EndpointSummary] = {}
    by_group: dict[str, dict[str, EndpointSummary]] = {}
    by_test: dict[str, TestResult] = {}
    for endpoint in KM_ENDPOINTS + CIF_ENDPOINTS:
        rows = _endpoint_rows(tte, endpoint)
        if rows.empty and endpoint not in ("OS", "EFS", "CIR", "NRM"):
            continue
        summary, result = _outcome_endpoint(rows, endpoint, config)
        overall[endpoint] = summary
        kind = "cif" if endpoint in CIF_ENDPOINTS else "km"
        axis = (
            "Months since relapse" if endpoint == "PROS" else ("Months since HSCT" if endpoint == "GRFS" else x_label)
        )
        curves[f"{endpoint.lower()}_overall"] = CurveSet(
            key=f"{endpoint.lower()}_overall",
            endpoint=endpoint,
            kind=kind,
            title=ENDPOINT_NAMES[endpoint],
            groups=(_curve_group("All patients", summary, result, rows),),
            x_label=axis,
        )
        if groups:
            group_curves = []
            labels = []
            parts = []
            for label, _, part in groups:
                part_rows = _endpoint_rows(part.tte, endpoint)
                g_summary, g_result = _outcome_endpoint(part_rows, endpoint, config)
                by_group.setdefault(label, {})[endpoint] = g_summary
                group_curves.append(_curve_group(label, g_summary, g_result, part_rows))
                labels.extend([label] * part_rows.shape[0])
                parts.append(part_rows)
            combined = pd.concat(parts) if parts else rows.iloc[:0]
            test = _test(combined, np.array(labels, dtype=object), endpoint)
            by_test[endpoint] = test
            curves[f"{endpoint.lower()}_by_{config.by}"] = CurveSet(
                key=f"{endpoint.lower()}_by_{config.by}",
                endpoint=endpoint,
                kind=kind,
                title=f"{ENDPOINT_NAMES[endpoint]} by {lower_first(column_label(config.by))}",
                groups=tuple(group_curves),
                test_name=test.test,
                p_value=test.p_value,
                test_note=test.note,
                x_label=axis,
            )
    os_rows = _endpoint_rows(tte, "OS")
    comparisons = {
        comparison.key: _comparison(subset, comparison, config, curves, x_label) for comparison in config.comparisons
    }
    relapses = _relapses(subset, config, curves) if subset.relapses is not None else None
    return Outcomes(available, overall, by_group, by_test, _follow_up(os_rows), comparisons, relapses)


def _relapses(subset: _Subset, config: ReportConfig, curves: dict[str, CurveSet]) -> RelapseSummary:
    """CD19 status and salvage therapy of the relapses after the origin, and post-relapse OS by salvage."""
    frame = subset.relapses
    after = frame[frame["after_origin"].astype("boolean").fillna(False).to_numpy(dtype=bool)]
    first = after.sort_values(["patient_id", "relapse_number"]).drop_duplicates("patient_id")
    salvage = first.set_index("patient_id")["salvage_therapy"]
    rows = _endpoint_rows(subset.tte, "PROS")
    per_group: dict[str, EndpointSummary] = {}
    curve_groups = []
    labels: list[str] = []
    parts = []
    present = [v for v in salvage.dropna().unique().tolist()]
    for level in _ordered_levels("salvage_therapy", present):
        ids = set(salvage.index[salvage == level])
        part = rows[rows["patient_id"].isin(ids)] if not rows.empty else rows
        summary, result = _km(part, config)
        text = value_label(level)
        per_group[text] = summary
        if summary.n:
            curve_groups.append(_curve_group(text, summary, result, part))
            labels.extend([text] * part.shape[0])
            parts.append(part)
    combined = pd.concat(parts) if parts else rows.iloc[:0]
    test = _test(combined, np.array(labels, dtype=object), "PROS")
    if curve_groups:
        curves["pros_by_salvage"] = CurveSet(
            key="pros_by_salvage",
            endpoint="PROS",
            kind="km",
            title="Post-relapse overall survival by salvage therapy",
            groups=tuple(curve_groups),
            test_name=test.test,
            p_value=test.p_value,
            test_note=test.note,
            x_label="Months since relapse",
        )
    return RelapseSummary(
        relapses=int(after.shape[0]),
        patients=int(after["patient_id"].nunique()),
        cd19_status=counts(after["cd19_status"], "cd19_status"),
        salvage_therapy=counts(after["salvage_therapy"], "salvage_therapy"),
        marrow_blasts_pct=describe(after["marrow_blasts_pct"]),
        post_relapse_os_by_salvage=per_group,
        test=test,
    )


def _follow_up(rows: pd.DataFrame) -> FollowUp:
    if rows.empty:
        return FollowUp(None, None, None, 0, note=NOTE_NO_PATIENTS)
    event = (rows["CNSR"].to_numpy(dtype=int) == 0).astype(int)
    result = median_followup(rows["AVAL"].to_numpy(dtype=float), event)
    time = rows["AVAL"].to_numpy(dtype=float)
    note = None
    if result.n_censored == 0:
        note = "not estimable (no patient censored: every patient died)"
    elif _months(result.median) is None:
        note = "not reached"
    return FollowUp(
        _months(result.median),
        _months(result.lower),
        _months(result.upper),
        int(result.n),
        n_censored=int(result.n_censored),
        range_months={"min": _months(time.min()), "max": _months(time.max())},
        note=note,
    )


def _match(series: pd.Series, values: tuple[Any, ...]) -> np.ndarray:
    wanted = {_plain(v) for v in values}
    return (
        series.astype(object)
        .map(
            lambda v: (
                v is not None and v is not pd.NA and not (isinstance(v, float) and np.isnan(v)) and _plain(v) in wanted
            )
        )
        .to_numpy(dtype=bool)
    )


ORIGIN_DATE_COLUMN = {
    "first_blinatumomab": "first_blinatumomab_date",
    "hsct": "hsct_date",
    "diagnosis": "diagnosis_date",
    "relapse": "index_relapse_date",
}
HSCT_TIMING_FROM_DATASET = "timed from HSCT (the analysis dataset's time-to-event rows from HSCT)"
HSCT_TIMING_COMPUTED = (
    "timed from HSCT, computed by the report from the rows timed from the report's origin "
    "(time minus the days from origin to HSCT; patients with the event before HSCT left out), "
    "because the analysis dataset has no time-to-event rows from HSCT"
)


def _hsct_rows(subset: _Subset, config: ReportConfig) -> tuple[pd.DataFrame, str]:
    """Time-to-event rows timed from HSCT: the dataset's `hsct_time_to_event` when it has one, else
    computed from the rows of the report's origin (stated in the returned sentence)."""
    if subset.hsct_tte is not None:
        return subset.hsct_tte, HSCT_TIMING_FROM_DATASET
    if config.origin == "hsct":
        return subset.tte, HSCT_TIMING_FROM_DATASET
    p = subset.patients
    origin = pd.to_datetime(p[ORIGIN_DATE_COLUMN[config.origin]], errors="coerce")
    offset = pd.Series(
        (pd.to_datetime(p["hsct_date"], errors="coerce") - origin).dt.days.to_numpy(), index=p["patient_id"].to_numpy()
    )
    tte = subset.tte
    if tte.empty:
        return tte, HSCT_TIMING_COMPUTED
    days = tte["patient_id"].map(offset).to_numpy(dtype=float)
    keep = np.isfinite(days) & (days >= 0) & (tte["AVAL"].to_numpy(dtype=float) >= days)
    rows = tte[keep].copy()
    rows["AVAL"] = rows["AVAL"].to_numpy(dtype=float) - days[keep]
    return rows, HSCT_TIMING_COMPUTED


def _comparison(
    subset: _Subset, comparison: Comparison, config: ReportConfig, curves: dict[str, CurveSet], x_label: str
) -> ComparisonResult:
    p = subset.patients
    base = dict(
        name=comparison.name,
        variable=comparison.variable,
        groups=tuple(label for label, _ in comparison.groups),
        population={k: [_plain(v) for v in vs] for k, vs in comparison.population},
    )
    for column in [comparison.variable, *[k for k, _ in comparison.population]]:
        if column not in p.columns:
            return ComparisonResult(**base, note=f"not available (the analysis dataset has no column {column!r})")
    population = np.ones(p.shape[0], dtype=bool)
    for column, values in comparison.population:
        population &= _match(p[column], values)
    n_population = int(population.sum())
    variable = p[comparison.variable]
    recorded = int((population & variable.notna().to_numpy()).sum())
    group_ids: list[tuple[str, set]] = []
    for label, values in comparison.groups:
        members = population & _match(variable, values)
        group_ids.append((label, set(p.loc[members, "patient_id"])))
    sizes = {label: len(ids) for label, ids in group_ids}
    base.update(n_population=n_population, n_recorded=recorded, group_sizes=sizes)
    threshold = config.comparison_min_recorded
    if n_population == 0:
        return ComparisonResult(**base, note="not run (no patient in the population)")
    if recorded < threshold * n_population:
        return ComparisonResult(
            **base,
            note=(
                f"not run: {lower_first(column_label(comparison.variable))} recorded in {recorded} of {n_population} "
                f"patients, fewer than the {100 * threshold:g}% required (comparison_min_recorded)"
            ),
        )
    timing = None
    if comparison.timing == "hsct":
        tte, timing = _hsct_rows(subset, config)
        axis = "Months since HSCT"
    else:
        tte, axis = subset.tte, x_label
    endpoints: dict[str, ComparisonEndpoint] = {}
    for endpoint in comparison.endpoints:
        rows_all = _endpoint_rows(tte, endpoint)
        per_group: dict[str, EndpointSummary] = {}
        curve_groups = []
        labels: list[str] = []
        parts = []
        for label, ids in group_ids:
            rows = rows_all[rows_all["patient_id"].isin(ids)] if not rows_all.empty else rows_all
            summary, result = _outcome_endpoint(rows, endpoint, config)
            per_group[label] = summary
            if summary.n:  # an empty group is listed in the table but not drawn
                curve_groups.append(_curve_group(label, summary, result, rows))
            labels.extend([label] * rows.shape[0])
            parts.append(rows)
        combined = pd.concat(parts) if parts else rows_all.iloc[:0]
        test = _test(combined, np.array(labels, dtype=object), endpoint)
        endpoints[endpoint] = ComparisonEndpoint(per_group, test)
        key = f"{endpoint.lower()}_{comparison.key}"
        curves[key] = CurveSet(
            key=key,
            endpoint=endpoint,
            kind="cif" if endpoint in CIF_ENDPOINTS else "km",
            title=f"{ENDPOINT_NAMES[endpoint]}: {comparison.name}",
            groups=tuple(curve_groups),
            test_name=test.test,
            p_value=test.p_value,
            test_note=test.note,
            x_label="Months since relapse" if endpoint == "PROS" else axis,
        )
    return ComparisonResult(**base, endpoints=endpoints, timing=timing)


def _published(subset: _Subset, config: ReportConfig) -> tuple[PublishedRow, ...]:
    """Each published outcome with the center's estimate for the matching population (exact CIs)."""
    from blinareg.report.published import POPULATION_MATCH, published_outcomes

    p = subset.patients
    cohorts = {population: p[members] for population, members in _published_cohorts(p).items()}
    rates = {"cr_rate": "cr_achieved", "response_rate": "responder", "mrd_negative_rate": "complete_mrd_response"}
    hsct_rows, _ = _hsct_rows(subset, config)
    transplanted = set(
        p.loc[p["hsct_after_blinatumomab"].astype("boolean").fillna(False).to_numpy(dtype=bool), "patient_id"]
    )
    out = []
    for row in published_outcomes():
        if row.x is not None:
            ci = proportion(row.x, row.n, config.conf_level)
            estimate, lower, upper, interval = (
                ci.proportion,
                ci.lower,
                ci.upper,
                "exact (Clopper-Pearson) from the published counts",
            )
        else:
            estimate, lower, upper = row.estimate, row.lower, row.upper
            interval = "as published" if lower is not None else "none published"
        center: Any = None
        center_n = 0
        if row.endpoint in rates and row.population in cohorts:
            members = cohorts[row.population]
            known, value = _bool_array(members[rates[row.endpoint]])
            center = proportion(int((known & value).sum()), int(known.sum()), config.conf_level)
            center_n = center.n
        elif row.population == "consolidation_before_hsct" and row.time_point_months is not None:
            center_n, center = _landmark_of(hsct_rows, transplanted, row.endpoint, row.time_point_months, config)
        elif row.population in cohorts and row.time_point_months is not None:
            members = set(cohorts[row.population]["patient_id"])
            center_n, center = _landmark_of(subset.tte, members, row.endpoint, row.time_point_months, config)
        out.append(
            PublishedRow(
                study=row.study,
                population=row.population,
                endpoint=row.endpoint,
                time_point_months=row.time_point_months,
                n=row.n,
                x=row.x,
                estimate=estimate,
                lower=lower,
                upper=upper,
                interval=interval,
                doi=row.doi,
                citation=row.citation,
                center_population=POPULATION_MATCH.get(row.population, "not matched"),
                center=center,
                center_n=center_n,
            )
        )
    return tuple(out)


def _published_cohorts(p: pd.DataFrame) -> dict[str, pd.Series]:
    """The center's patients matching each published population (`published.POPULATION_MATCH` in words)."""
    indication = p["indication_group"].astype(object)
    age = pd.to_numeric(p["age_at_first_blinatumomab_years"], errors="coerce")
    first_relapse = p["relapse_status_at_blinatumomab"].astype(object) == "first_relapse"
    relapsed = indication == "relapsed_refractory"
    adult = age >= 18
    return {
        "pediatric_relapsed": relapsed,
        "pediatric_relapsed_refractory": relapsed,
        "mrd_positive": indication == "mrd_clearance",
        "adult_relapsed_refractory": relapsed & adult,
        "adult_mrd_positive": (indication == "mrd_clearance") & adult,
        "children_aya_first_relapse": relapsed & first_relapse & (age < 31),
        "pediatric_high_risk_first_relapse": relapsed
        & first_relapse
        & (age < 18)
        & (p["intreall_risk"].astype(object) == "high"),
        "adult_mrd_negative_consolidation": (indication == "consolidation") & adult,
    }


def _landmark_of(
    tte: pd.DataFrame, members: set[Any], endpoint: str, months: float, config: ReportConfig
) -> tuple[int, Landmark | None]:
    """The center's estimate of `endpoint` at `months` among `members` (patients at risk n, landmark)."""
    rows = _endpoint_rows(tte, endpoint)
    rows = rows[rows["patient_id"].isin(members)] if not rows.empty else rows
    one = dataclasses.replace(config, landmarks_months=(months,), rmst_horizon_months=None)
    summary, _ = _outcome_endpoint(rows, endpoint, one)
    return summary.n, summary.landmarks[0] if summary.landmarks else None


# ----------------------------------------------------------------------------------------------------
# Models
# ----------------------------------------------------------------------------------------------------


def _design(
    frame: pd.DataFrame,
    covariates: tuple[str, ...],
    references: Mapping[str, Any] | None = None,
) -> tuple[pd.DataFrame, list[ModelTerm], dict[str, tuple[str, Any]]]:
    """Numeric design matrix: booleans 0/1, numbers as they are, categories dummy-coded against the
    reference level (from the model's `reference` in report.toml, else the most frequent level).
    Returns the matrix (missing covariates as NaN), the terms, and column -> (covariate, level)."""
    references = references or {}
    columns: dict[str, pd.Series] = {}
    terms: list[ModelTerm] = []
    origin: dict[str, tuple[str, Any]] = {}
    for name in covariates:
        series = frame[name]
        if pd.api.types.is_bool_dtype(series.dtype) or str(series.dtype) == "boolean":
            columns[name] = series.astype("boolean").astype("Float64").astype(float)
            origin[name] = (name, True)
            terms.append(ModelTerm(name, "binary", False, column_label(name), (False, True)))
        elif pd.api.types.is_numeric_dtype(series.dtype):
            columns[name] = pd.to_numeric(series, errors="coerce").astype(float)
            origin[name] = (name, None)
            terms.append(ModelTerm(name, "continuous", None, column_label(name)))
        else:
            known = series.dropna()
            levels = _ordered_levels(name, known.unique().tolist())
            if not levels:
                columns[name] = pd.Series(np.nan, index=frame.index)
                terms.append(ModelTerm(name, "categorical", None, column_label(name)))
                continue
            if name in references:
                reference = references[name]
                if reference not in levels:
                    raise UserError(
                        f"report config: models: reference level {reference!r} of {name!r} was not "
                        f"observed; levels: {', '.join(map(str, levels))}"
                    )
            else:
                reference = known.value_counts().idxmax()
            for level in levels:
                if level == reference:
                    continue
                column = series.astype(object).map(
                    lambda v, level=level: (
                        np.nan if v is None or (isinstance(v, float) and np.isnan(v)) else float(v == level)
                    )
                )
                columns[f"{name}={level}"] = column.astype(float)
                origin[f"{name}={level}"] = (name, _plain(level))
            terms.append(
                ModelTerm(name, "categorical", _plain(reference), column_label(name), tuple(_plain(v) for v in levels))
            )
    design = pd.DataFrame(columns, index=frame.index)
    return design, terms, origin


def _model(subset: _Subset, spec: ModelSpec, config: ReportConfig) -> ModelResult:
    base: dict[str, Any] = {
        "name": spec.name,
        "kind": spec.kind,
        "endpoint": spec.endpoint,
        "covariates": tuple(spec.covariates),
        "method": "Cox proportional hazards (Efron ties)"
        if spec.kind == "cox"
        else "Fine-Gray subdistribution hazards (cause: event of interest)",
        "ratio_name": "HR" if spec.kind == "cox" else "sHR",
    }
    missing = [c for c in spec.covariates if c not in subset.patients.columns]
    if missing:
        raise UserError(
            f"model {spec.name!r}: unknown covariate {missing[0]!r} (not a column of the analysis dataset's patients)"
        )
    _check_strata(subset, spec)
    if spec.strata:
        base["strata"] = spec.strata
        base["method"] += ", stratified by " + ", ".join(lower_first(column_label(c)) for c in spec.strata)
    rows = _endpoint_rows(subset.tte, spec.endpoint)
    if rows.empty:
        return ModelResult(**base, note=f"not estimable (no {spec.endpoint} data)")
    frame = rows.merge(subset.patients[["patient_id", *spec.covariates, *spec.strata]], on="patient_id", how="left")
    design, terms, origin = _design(frame, spec.covariates, dict(spec.reference))
    complete = design.notna().all(axis=1).to_numpy() & frame[list(spec.strata)].notna().all(axis=1).to_numpy()
    base["n_excluded_missing"] = int((~complete).sum())
    design = design[complete]
    frame = frame[complete]
    base["n"] = int(frame.shape[0])
    base["terms"] = tuple(terms)
    time = frame["AVAL"].to_numpy(dtype=float)
    strata = _strata_labels(frame, spec.strata)
    if spec.kind == "cox":
        event = (frame["CNSR"].to_numpy(dtype=int) == 0).astype(int)
        base["events"] = int(event.sum())
        if base["events"] == 0:
            return ModelResult(**base, note=NOTE_NO_EVENTS)
        fit = lambda: cox_ph(design, time, event, strata=strata, conf_level=config.conf_level)  # noqa: E731
    else:
        code = frame["EVTCODE"].to_numpy(dtype=int)
        base["events"] = int((code == 1).sum())
        base["competing_events"] = int((code == 2).sum())
        if base["events"] == 0:
            return ModelResult(**base, note=NOTE_NO_EVENTS)
        fit = lambda: fine_gray(design, time, code, cause=1, conf_level=config.conf_level)  # noqa: E731
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = fit()
    except (ValueError, np.linalg.LinAlgError) as error:
        return ModelResult(**base, note=f"not estimable ({error})")
    coefficients = tuple(
        Coefficient(
            term=name,
            coef=_num(result.coef[i]),
            se=_num(result.se[i]),
            hr=_num(result.hazard_ratio[i]),
            lower=_num(result.hr_lower[i]),
            upper=_num(result.hr_upper[i]),
            p_value=_num(result.p_value[i]),
            covariate=origin.get(name, (name, None))[0],
            level=origin.get(name, (name, None))[1],
        )
        for i, name in enumerate(result.covariate_names)
    )
    if spec.ph_test:
        base["ph_test"] = _ph_test(design, time, event, strata, origin, terms)
    return ModelResult(
        **base,
        coefficients=coefficients,
        converged=bool(result.converged),
        warnings=tuple(str(w.message) for w in caught) or None,
    )


def _check_strata(subset: _Subset, spec: ModelSpec) -> None:
    unknown = [c for c in spec.strata if c not in subset.patients.columns]
    if unknown:
        raise UserError(
            f"model {spec.name!r}: unknown strata column {unknown[0]!r} (not a column of the analysis dataset's patients)"
        )


def _strata_labels(frame: pd.DataFrame, columns: tuple[str, ...]) -> np.ndarray | None:
    """One label per row combining the strata columns (R's strata(a, b)), or None without strata."""
    if not columns:
        return None
    return frame[list(columns)].astype(str).agg(" / ".join, axis=1).to_numpy(dtype=object)


PH_TEST_METHOD = "Grambsch-Therneau, scaled Schoenfeld residuals against Kaplan-Meier-transformed time"


def _ph_test(
    design: pd.DataFrame,
    time: np.ndarray,
    event: np.ndarray,
    strata: np.ndarray | None,
    origin: Mapping[str, tuple[str, Any]],
    terms: list[ModelTerm],
) -> PhTest:
    """The proportional-hazards test per covariate (a categorical one with all its levels) and global."""
    columns: dict[str, list[str]] = {}
    for column in design.columns:
        columns.setdefault(origin.get(column, (column, None))[0], []).append(column)
    labels = {term.covariate: term.label for term in terms}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            zph = cox_zph(design, time, event, strata=strata, terms=columns)
    except (ValueError, np.linalg.LinAlgError) as error:
        return PhTest(method=PH_TEST_METHOD, note=f"not estimable ({error})")
    tests = [
        PhTermTest(name, labels.get(name, name), _num(test.statistic), test.df, _num(test.p_value))
        for name, test in zip(zph.terms, zph.tests)
    ]
    glob = zph.global_test
    tests.append(PhTermTest("GLOBAL", "Global", _num(glob.statistic), glob.df, _num(glob.p_value)))
    return PhTest(method=PH_TEST_METHOD, terms=tuple(tests))


# ----------------------------------------------------------------------------------------------------
# Subgroup forest plots
# ----------------------------------------------------------------------------------------------------

SUBGROUP_METHOD = (
    "Cox proportional hazards (Efron ties) within each subgroup; interaction: likelihood-ratio test of the "
    "comparison-by-subgroup terms"
)


def _subgroup_forest(subset: _Subset, spec: SubgroupSpec, config: ReportConfig) -> SubgroupForest:
    """The HR of the compared group vs the reference overall and within each level of each subgroup
    variable, with the likelihood-ratio test of interaction (as papers' subgroup forest plots)."""
    p = subset.patients
    for column in (spec.variable, *spec.subgroups):
        if column not in p.columns:
            raise UserError(
                f"subgroups {spec.name!r}: unknown column {column!r} (not a column of the analysis dataset's patients)"
            )
    (reference, reference_values), (compared, compared_values) = spec.groups
    arm = np.where(
        _match(p[spec.variable], compared_values),
        1.0,
        np.where(_match(p[spec.variable], reference_values), 0.0, np.nan),
    )
    arms = pd.DataFrame({"patient_id": p["patient_id"].to_numpy(), "_arm": arm})
    rows = _endpoint_rows(subset.tte, spec.endpoint)
    frame = rows.merge(arms, on="patient_id").merge(p[["patient_id", *spec.subgroups]], on="patient_id")
    frame = frame[frame["_arm"].notna()]
    time = frame["AVAL"].to_numpy(dtype=float)
    event = (frame["CNSR"].to_numpy(dtype=int) == 0).astype(int)
    treated = frame["_arm"].to_numpy(dtype=float)
    everyone = np.ones(frame.shape[0], dtype=bool)
    blocks = []
    for column in spec.subgroups:
        values = frame[column].astype(object)
        levels = _ordered_levels(column, values.dropna().unique().tolist())
        members = [_match(values, (level,)) for level in levels]
        hrs = tuple(
            _subgroup_hr(level, value_label(level), time, event, treated, mask, config.conf_level)
            for level, mask in zip(levels, members)
        )
        # The interaction is tested among the subgroups whose own HR is estimable (both groups, events).
        estimable = [mask for mask, hr in zip(members, hrs) if hr.hr is not None]
        blocks.append(
            SubgroupBlock(column, column_label(column), hrs, _interaction_test(time, event, treated, estimable))
        )
    return SubgroupForest(
        name=spec.name,
        endpoint=spec.endpoint,
        variable=spec.variable,
        reference=reference,
        compared=compared,
        method=SUBGROUP_METHOD,
        overall=_subgroup_hr(None, "All patients", time, event, treated, everyone, config.conf_level),
        blocks=tuple(blocks),
    )


def _subgroup_hr(
    level: Any, text: str, time: np.ndarray, event: np.ndarray, treated: np.ndarray, mask: np.ndarray, conf: float
) -> SubgroupHR:
    n, events = int(mask.sum()), int(event[mask].sum())
    base = SubgroupHR(_plain(level), text, n, events)
    arms = treated[mask]
    if events == 0 or arms.min(initial=1.0) == arms.max(initial=0.0):
        reason = "no events" if events == 0 else "one group only"
        return dataclasses.replace(base, note=f"not estimable ({reason})")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = cox_ph(arms, time[mask], event[mask], conf_level=conf)
    except (ValueError, np.linalg.LinAlgError) as error:
        return dataclasses.replace(base, note=f"not estimable ({error})")
    if not fit.converged:
        return dataclasses.replace(base, note="not estimable (did not converge)")
    return dataclasses.replace(
        base, hr=_num(fit.hazard_ratio[0]), lower=_num(fit.hr_lower[0]), upper=_num(fit.hr_upper[0])
    )


def _interaction_test(
    time: np.ndarray, event: np.ndarray, treated: np.ndarray, members: list[np.ndarray]
) -> TestResult:
    """Likelihood-ratio test of comparison x subgroup: Cox with arm + level dummies (+ their products),
    among the patients of the subgroups `members` (first: the reference level)."""
    name = "Likelihood-ratio test of interaction"
    if len(members) < 2:
        return TestResult(name, note="not tested (fewer than two subgroups with an estimable HR)")
    known = np.any(members, axis=0)
    dummies = np.column_stack([m[known].astype(float) for m in members[1:]])
    arm = treated[known]
    main = np.column_stack([arm, dummies])
    full = np.column_stack([main, dummies * arm[:, None]])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reduced = cox_ph(main, time[known], event[known])
            interacted = cox_ph(full, time[known], event[known])
    except (ValueError, np.linalg.LinAlgError) as error:
        return TestResult(name, note=f"not tested ({error})")
    statistic = 2.0 * (interacted.loglik[1] - reduced.loglik[1])
    df = dummies.shape[1]
    return TestResult(name, _num(statistic), df, _num(float(chdtrc(df, max(statistic, 0.0)))))


# ----------------------------------------------------------------------------------------------------
# Courses (swimmer)
# ----------------------------------------------------------------------------------------------------


def _since_first(dates: pd.Series, first: pd.Series) -> pd.Series:
    return (pd.to_datetime(dates) - pd.to_datetime(first)).dt.days / DAYS_PER_MONTH


def _courses(subset: _Subset, config: ReportConfig) -> tuple[Courses, pd.DataFrame]:
    p = subset.patients
    first = p["first_blinatumomab_date"]
    end = pd.to_datetime(p["death_date"]).fillna(pd.to_datetime(p["last_contact_date"]))
    frame = pd.DataFrame(
        {
            "patient_id": p["patient_id"].to_numpy(),
            "end": _since_first(end, first).to_numpy(),
            "cr": _since_first(p["cr_date"], first).to_numpy(),
            "hsct": _since_first(p["hsct_date"], first).to_numpy(),
            "relapse": _since_first(p["relapse_after_origin_date"], first).to_numpy(),
            "death": _since_first(p["death_date"], first).to_numpy(),
            "indication_group": p["indication_group"].astype(object).to_numpy(),
        }
    )
    frame = frame[np.isfinite(frame["end"].to_numpy(dtype=float))]
    n_total = int(frame.shape[0])
    frame = frame.sort_values(["end", "patient_id"], ascending=[False, True], kind="stable").reset_index(drop=True)
    limit = config.swimmer_max_patients
    if n_total > limit:
        # A systematic sample over the follow-up ordering keeps the spread of follow-up times.
        picks = np.unique(np.linspace(0, n_total - 1, limit).round().astype(int))
        frame = frame.iloc[picks].reset_index(drop=True)
        selection = (
            f"a systematic sample of {frame.shape[0]} of {n_total} patients, evenly spaced over the "
            "ordering by follow-up"
        )
    else:
        selection = f"all {n_total} patients"
    cycles = subset.cycles
    shown = set(frame["patient_id"])
    if not cycles.empty:
        c = cycles[cycles["patient_id"].isin(shown)].merge(
            p[["patient_id", "first_blinatumomab_date"]], on="patient_id"
        )
        bars = pd.DataFrame(
            {
                "patient_id": c["patient_id"].to_numpy(),
                "start": _since_first(c["start_date"], c["first_blinatumomab_date"]).to_numpy(),
                "stop": _since_first(c["end_date"], c["first_blinatumomab_date"]).to_numpy(),
            }
        )
    else:
        bars = pd.DataFrame({"patient_id": [], "start": [], "stop": []})
    frame.attrs["cycles"] = bars
    info = Courses(
        n_total,
        int(frame.shape[0]),
        selection,
        "months since first blinatumomab",
        note="no patient with follow-up dates" if n_total == 0 else None,
    )
    return info, frame


# ----------------------------------------------------------------------------------------------------
# Entry point
# ----------------------------------------------------------------------------------------------------

REQUIRED_FRAMES = ("patients", "time_to_event", "cycles", "mrd", "adverse_events")


class DatasetLike(Protocol):
    """What the report reads of an analysis dataset (`blinareg.derive.AnalysisDataset` is one).

    Optional frames (read when present): `relapses`, `dose_steps`, `hsct_time_to_event`."""

    @property
    def patients(self) -> pd.DataFrame: ...
    @property
    def time_to_event(self) -> pd.DataFrame: ...
    @property
    def cycles(self) -> pd.DataFrame: ...
    @property
    def mrd(self) -> pd.DataFrame: ...
    @property
    def adverse_events(self) -> pd.DataFrame: ...
    @property
    def metadata(self) -> Mapping[str, Any]: ...


OPTIONAL_FRAME_COLUMNS = {
    "dose_steps": ("patient_id", "cycle_number", "phase", "kind", "step", "days", "daily_dose", "unit"),
    "relapses": ("patient_id", "relapse_number", "after_origin", "cd19_status", "salvage_therapy", "marrow_blasts_pct"),
    "hsct_time_to_event": ("patient_id", "PARAMCD", "AVAL", "CNSR", "EVTCODE"),
}


def _optional_frame(dataset: DatasetLike, name: str) -> pd.DataFrame | None:
    """A frame the dataset may lack (older datasets): None unless it has the columns the report reads."""
    frame = getattr(dataset, name, None)
    if not isinstance(frame, pd.DataFrame) or not set(OPTIONAL_FRAME_COLUMNS[name]) <= set(frame.columns):
        return None
    return frame


def _iso(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NaT:
        return None
    try:
        return pd.Timestamp(value).strftime("%Y-%m-%d")
    except (TypeError, ValueError):
        return str(value)


def _words(code: str) -> str:
    return code.replace("_", " ")


def _freeze_source(freeze: Mapping[str, Any] | None) -> FreezeSource | None:
    """The freeze facts the report cites (set by `blinareg report --freeze` in the dataset's metadata)."""
    if freeze is None:
        return None
    centers = freeze.get("centers")
    return FreezeSource(
        freeze_id=int(freeze["id"]),
        name=str(freeze["name"]),
        content_sha256=str(freeze["content_sha256"]),
        created_at=str(freeze["created_at"]),
        created_by=str(freeze["created_by"]),
        centers=None if centers is None else tuple(centers),
        schema_revision=str(freeze["schema_revision"]),
    )


def data_completeness_notes(metadata: dict[str, Any]) -> tuple[str, ...]:
    """Sentences on the missing-data codes recorded and the dates imputed from partial dates."""
    notes = []
    parts = [
        f"{_words(record_type)} {_words(name)} ({', '.join(f'{_words(code)}: {n}' for code, n in counts.items())})"
        for record_type, fields in (metadata.get("missing_data") or {}).items()
        for name, counts in fields.items()
    ]
    if parts:
        notes.append(
            "Recorded as unknown, not done or not applicable instead of a value (number of records): "
            + "; ".join(parts)
            + ". Such records count as not recorded in the tables, never as a value."
        )
    imputed = {code: n for code, n in (metadata.get("imputed_dates") or {}).items() if n}
    if imputed:
        shown = ", ".join(f"{ENDPOINT_NAMES.get(code, code)}: {n}" for code, n in imputed.items())
        # The imputation rule itself is one of the dataset's conventions, printed beside this.
        notes.append(f"Event or censoring dates imputed from partial dates (patients per endpoint): {shown}.")
    return tuple(notes)


def analyse(dataset: DatasetLike, config: ReportConfig) -> Analysis:
    """Compute every section the config enables from an analysis dataset."""
    for name in REQUIRED_FRAMES:
        if not isinstance(getattr(dataset, name, None), pd.DataFrame):
            raise UserError(f"analysis dataset: missing frame {name!r}")
    metadata = dict(getattr(dataset, "metadata", {}) or {})
    origin = metadata.get("origin", config.origin)
    if origin != config.origin:
        raise UserError(
            f"the analysis dataset was derived with origin {origin!r} but the report asks for "
            f"{config.origin!r}; derive it again with that origin"
        )
    non_responder = metadata.get("non_responder", config.non_responder)
    if non_responder != config.non_responder:
        raise UserError(
            f"the analysis dataset was derived with non_responder {non_responder!r} but the report "
            f"asks for {config.non_responder!r}; derive it again with that definition"
        )
    patients = dataset.patients
    if config.by is not None:
        choices = by_choices(patients)
        if config.by not in patients.columns or config.by not in choices:
            raise UserError(f"unknown --by variable {config.by!r}; choose one of: {', '.join(choices)}")
    window = metadata.get("treatment_emergent_window")
    subset = _Subset(
        patients,
        dataset.time_to_event,
        dataset.cycles,
        dataset.mrd,
        dataset.adverse_events,
        _optional_frame(dataset, "dose_steps"),
        _optional_frame(dataset, "relapses"),
        _optional_frame(dataset, "hsct_time_to_event"),
        None if window is None else str(window),
    )
    groups = _split(subset, config)
    x_label = ORIGIN_AXIS[config.origin]
    synthetic = bool(patients["synthetic"].astype("boolean").fillna(False).any()) if "synthetic" in patients else False
    first = pd.to_datetime(patients["first_blinatumomab_date"], errors="coerce") if subset.n else pd.Series([])
    meta = Meta(
        n_patients=subset.n,
        origin=config.origin,
        non_responder=config.non_responder,
        non_responder_definition=NON_RESPONDER_TEXT[config.non_responder],
        time_unit=f"months (days / {DAYS_PER_MONTH})",
        landmarks_months=tuple(config.landmarks_months),
        conf_level=config.conf_level,
        high_tumour_load_mrd_fraction=config.high_tumour_load_mrd,
        by=config.by,
        by_groups=tuple(ByGroup(label, _plain(value), part.n) for label, value, part in groups),
        by_missing=int(patients[config.by].isna().sum()) if config.by else 0,
        sections=tuple(
            s
            for s in ("cohort", "exposure", "response", "safety", "outcomes", "models", "courses", "text")
            if config.enabled(s)
        ),
        as_of=None if metadata.get("as_of") is None else str(metadata.get("as_of")),
        conventions=tuple(str(c) for c in metadata.get("conventions", [])),
        unconfirmed_rules=tuple(str(c) for c in metadata.get("unconfirmed_rules", [])),
        synthetic=synthetic,
        data_cutoff=_iso(metadata.get("data_cutoff", metadata.get("as_of"))),
        accrual_first=_iso(metadata.get("accrual_first", first.min() if first.notna().any() else None)),
        accrual_last=_iso(metadata.get("accrual_last", first.max() if first.notna().any() else None)),
        min_recorded_fraction=config.comparison_min_recorded,
        data_completeness=data_completeness_notes(metadata),
        freeze=_freeze_source(metadata.get("freeze")),
        data_queries=None if metadata.get("data_queries") is None else DataQueryCounts(**metadata["data_queries"]),
        note="the analysis dataset has no patients" if subset.n == 0 else None,
        synthetic_patients=int(patients["synthetic"].astype("boolean").fillna(False).sum())
        if "synthetic" in patients
        else 0,
    )
    curves: dict[str, CurveSet] = {}
    swimmer = None
    sections: dict[str, Any] = {}
    if config.enabled("cohort"):
        sections["cohort"] = _per_group(subset, groups, lambda s: _cohort(s, config))
        if config.table1_p_values and sum(part.n > 0 for _, _, part in groups) >= 2:
            sections["cohort"] = dataclasses.replace(sections["cohort"], tests=_table1_tests(groups))
    if config.enabled("exposure"):
        sections["exposure"] = _per_group(subset, groups, lambda s: _exposure(s, config))
    if config.enabled("response"):
        sections["response"] = _per_group(subset, groups, lambda s: _response(s, config))
    if config.enabled("safety"):
        sections["safety"] = _per_group(subset, groups, lambda s: _safety(s, config))
    if config.enabled("outcomes"):
        sections["outcomes"] = _outcomes(subset, groups, config, curves, x_label)
    if config.enabled("models") and config.models:
        sections["models"] = {spec.key: _model(subset, spec, config) for spec in config.models}
    if config.enabled("models") and config.subgroups:
        sections["subgroups"] = {spec.key: _subgroup_forest(subset, spec, config) for spec in config.subgroups}
    if config.enabled("courses"):
        sections["courses"], swimmer = _courses(subset, config)
    if config.enabled("outcomes") and subset.n:
        sections["published"] = _published(subset, config)
    return Analysis(results=ReportResults(meta=meta, **sections), curves=curves, swimmer=swimmer)
