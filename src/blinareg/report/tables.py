"""Publication tables from the typed results (`blinareg.report.results`): formatting only, no statistics.

Conventions: counts as "n/N (%)" with one decimal, so that every percentage states its denominator;
"median (range)"; CIs as "lower–upper"; P values "P = 0.023", "P < 0.001" (two significant digits);
"≥" as the symbol. A value that cannot be estimated is written as the reason ("not estimable (no
events)", "no patients"), never as NaN.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from blinareg.derive.labels import GENETICS, column_label, value_label
from blinareg.report.results import (
    Coefficient,
    Cohort,
    Counts,
    Distribution,
    EndpointSummary,
    Exposure,
    Grouped,
    Landmark,
    Median,
    Meta,
    ModelResult,
    NoPatients,
    Outcomes,
    Proportion,
    ReportResults,
    Response,
    Safety,
    TestResult,
)

__all__ = [
    "Table",
    "Row",
    "build_tables",
    "fmt_p",
    "fmt_pct",
    "fmt_ci",
    "fmt_n_pct",
    "fmt_median_range",
    "fmt_estimate_ci",
    "label",
]

DASH = "\u2013"  # en dash for ranges
GE = "\u2265"  # greater than or equal to
NE = "not estimable"


def label(value: Any) -> str:
    """The words for a stored value (`blinareg.derive.labels.value_label`)."""
    return value_label(value)


# ----------------------------------------------------------------------------------------------------
# Number formatting
# ----------------------------------------------------------------------------------------------------


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def fmt_num(value: Any, digits: int = 1) -> str:
    return f"{value:.{digits}f}" if _finite(value) else NE


def fmt_pct(fraction: Any, digits: int = 1) -> str:
    """0.5423 -> '54.2%'."""
    return f"{100.0 * fraction:.{digits}f}%" if _finite(fraction) else NE


def fmt_ci(lower: Any, upper: Any, digits: int = 1, percent: bool = True) -> str:
    if not (_finite(lower) and _finite(upper)):
        return "CI not estimable"
    scale = 100.0 if percent else 1.0
    return f"{scale * lower:.{digits}f}{DASH}{scale * upper:.{digits}f}"


def fmt_p(p: Any) -> str:
    """'P = 0.023', 'P = 0.18', 'P < 0.001' (two significant digits); the reason when not tested."""
    if not _finite(p):
        return "not tested"
    if p < 0.001:
        return "P < 0.001"
    decimals = max(2, 1 - int(math.floor(math.log10(p))))
    text = f"{p:.{decimals}f}"
    if float(text) >= 1.0:
        text = "1.00"
    return f"P = {text}"


def fmt_n_pct(n: Any, denominator: Any, digits: int = 1) -> str:
    """'12/38 (31.6%)': the count, its denominator and the percentage."""
    if not denominator:
        return f"{n}/0 (none evaluable)" if n else "none evaluable"
    return f"{n}/{denominator} ({100.0 * n / denominator:.{digits}f}%)"


def fmt_median_range(desc: Distribution | None, digits: int = 1, iqr: bool = False) -> str:
    if desc is None or not desc.n:
        return "no values"
    text = f"{desc.median:.{digits}f} ({desc.min:.{digits}f}{DASH}{desc.max:.{digits}f})"
    if iqr:
        text += f"; IQR {desc.q1:.{digits}f}{DASH}{desc.q3:.{digits}f}"
    return text


def fmt_prop_ci(prop: Proportion | None, digits: int = 1) -> str:
    """'13/38 (34.2%; 95% CI 19.6–51.4)'."""
    if prop is None or not prop.n:
        return "no evaluable patients"
    return f"{prop.x}/{prop.n} ({fmt_pct(prop.proportion, digits)}; 95% CI {fmt_ci(prop.lower, prop.upper, digits)})"


def fmt_estimate_ci(point: Landmark | None, digits: int = 1) -> str:
    """A landmark estimate '72.2% (58.1–82.3)' or the reason it is missing."""
    if point is None:
        return NE
    if point.estimate is None:
        return point.note or NE
    text = fmt_pct(point.estimate, digits)
    if point.lower is None or point.upper is None:
        return f"{text} ({point.note or 'CI not estimable'})"
    return f"{text} ({fmt_ci(point.lower, point.upper, digits)})"


def fmt_median_ci(median: Median | None, digits: int = 1) -> str:
    if median is None:
        return NE
    if median.months is None:
        suffix = f" (lower limit {median.lower:.{digits}f})" if _finite(median.lower) else ""
        return (median.note or "not reached") + suffix
    lower = fmt_num(median.lower, digits) if median.lower is not None else "NE"
    upper = fmt_num(median.upper, digits) if median.upper is not None else "NR"
    return f"{median.months:.{digits}f} ({lower}{DASH}{upper})"


# ----------------------------------------------------------------------------------------------------
# Table model
# ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    label: str
    cells: tuple[str, ...] = ()
    level: int = 0  # 0 = characteristic, 1 = category under it
    heading: bool = False  # a spanning sub-heading row


@dataclass(frozen=True)
class Table:
    key: str
    section: str
    title: str
    columns: tuple[str, ...]
    rows: tuple[Row, ...]
    notes: tuple[str, ...] = field(default_factory=tuple)
    number: str = ""  # "Table 1", "Table 1b": given by `build_tables`, used by every format


def _group_columns(section: Grouped[Any], first: str = "All patients") -> list[tuple[str, Any]]:
    out = [(f"{first} (N = {section.overall.n})", section.overall)]
    for name, part in section.groups.items():
        out.append((f"{label(name)} (n = {part.n})", part))
    return out


class _Builder:
    """Rows with one cell per column group; an empty group gets 'no patients' in every cell."""

    def __init__(self, groups: list[tuple[str, Any]]) -> None:
        self.groups = groups
        self.rows: list[Row] = []

    def heading(self, text: str) -> None:
        self.rows.append(Row(text, tuple("" for _ in self.groups), 0, True))

    def table(self, key: str, section: str, title: str, notes: tuple[str, ...]) -> Table:
        """The table of these rows: a label column, then one column per group."""
        return Table(key, section, title, ("", *[g for g, _ in self.groups]), tuple(self.rows), notes)

    def add(self, text: str, fn: Callable[[Any], str], level: int = 0) -> None:
        cells = []
        for _, part in self.groups:
            if isinstance(part, NoPatients) or not part.n:
                cells.append(getattr(part, "note", None) or "no patients")
                continue
            value = fn(part)
            cells.append("not available" if value is None else value)
        self.rows.append(Row(text, tuple(cells), level))

    def add_counts(self, text: str, key: str, levels: Iterable[Any] | None = None) -> None:
        """A categorical characteristic: one row per level (n/N (%) of the known values), then the patients
        it does not apply to and those with an unknown value, each as its own row."""
        self.heading(text)
        blocks = [getattr(part, key, None) for _, part in self.groups if not isinstance(part, NoPatients)]
        all_levels: list[Any] = []
        for block in blocks:
            for entry in block.levels if block is not None else ():
                if entry.level not in all_levels:
                    all_levels.append(entry.level)
        classification = any(b is not None and b.not_applicable is not None for b in blocks)
        for level in levels if levels is not None else all_levels:

            def cell(part: Any, level: Any = level) -> str:
                block: Counts = getattr(part, key)
                entry = next((e for e in block.levels if e.level == level), None)
                n = entry.n if entry is not None else 0
                text = fmt_n_pct(n, block.denominator)
                if classification and block.total:
                    text += f"; {100.0 * n / block.total:.1f}% of all"
                return text

            self.add(label(level), cell, 1)
        if classification:
            reason = next(
                (b.not_applicable_reason for b in blocks if b is not None and b.not_applicable_reason), "not applicable"
            )
            if any(b is not None and b.not_applicable for b in blocks):
                self.add(
                    reason[:1].upper() + reason[1:],
                    lambda part: fmt_n_pct(getattr(part, key).not_applicable or 0, getattr(part, key).total),
                    1,
                )
            if any(b is not None and b.unknown for b in blocks):
                self.add(
                    "Unknown", lambda part: fmt_n_pct(getattr(part, key).unknown or 0, getattr(part, key).total), 1
                )
        elif any(b is not None and b.missing for b in blocks):
            self.add(
                "Unknown / not recorded",
                lambda part: fmt_n_pct(getattr(part, key).missing, getattr(part, key).total),
                1,
            )


def _cohort_tables(section: Grouped[Cohort]) -> list[Table]:
    b = _Builder(_group_columns(section))
    b.add(
        "Age at first blinatumomab, years, median (range)",
        lambda p: fmt_median_range(p.age_at_first_blinatumomab_years),
    )
    b.add(
        "Age at first blinatumomab, years, IQR",
        lambda p: (
            (f"{p.age_at_first_blinatumomab_years.q1:.1f}{DASH}{p.age_at_first_blinatumomab_years.q3:.1f}")
            if p.age_at_first_blinatumomab_years.n
            else "no values"
        ),
    )
    b.add_counts("Sex, n/N (%)", "sex")
    b.add_counts("Immunophenotype, n/N (%)", "immunophenotype")
    b.add_counts("Disease status at blinatumomab, n/N (%)", "relapse_status_at_blinatumomab")
    b.add("Relapses before blinatumomab, median (range)", lambda p: fmt_median_range(p.relapses_before_blinatumomab, 0))
    b.add_counts("Site of the index relapse, n/N (%)", "relapse_site_detail")
    b.add_counts("Relapse site class, n/N (%)", "relapse_site_class")
    b.add_counts("Relapse timing (BFM), n/N (%)", "relapse_timing")
    b.add_counts("BFM strategic group, n/N (%)", "bfm_strategic_group")
    b.add_counts("IntReALL risk group, n/N (%)", "intreall_risk")
    b.heading("Genetics, n/N (%)")
    overall = section.overall
    for name in overall.genetics if isinstance(overall, Cohort) else []:
        b.add(name, lambda p, name=name: fmt_n_pct(p.genetics[name].n, p.genetics[name].denominator), 1)
    b.add("Prior HSCT, n/N (%)", lambda p: fmt_n_pct(p.prior_hsct.n, p.prior_hsct.denominator))
    b.add_counts("Indication group, n/N (%)", "indication_group")
    b.add(
        "Months from diagnosis to blinatumomab, median (range)",
        lambda p: fmt_median_range(p.months_diagnosis_to_blinatumomab),
    )
    b.add("Baseline MRD, %, median (range)", lambda p: fmt_median_range(p.baseline_mrd_percent, 3))
    if isinstance(overall, Cohort) and overall.followup_months is not None:
        b.add(
            "Follow-up per patient, months, median (range)",
            lambda p: fmt_median_range(p.followup_months) if p.followup_months is not None else "not available",
        )
    notes = (
        "n/N: patients with the characteristic / patients with a known value. Relapse characteristics refer "
        "to the most recent relapse before the first blinatumomab; the BFM and IntReALL groups classify a "
        "first relapse only, so other patients are listed as not applicable, apart from unknown values, "
        "with the percentage of all patients as well.",
    )
    columns: tuple[str, ...] = ("Characteristic", *[g for g, _ in b.groups])
    rows_out = tuple(b.rows)
    if section.tests:
        rows_out, test_notes = _with_p_column(rows_out, section.tests)
        columns += ("P",)
        notes += test_notes
    tables = [Table("table1_cohort", "cohort", "Patient characteristics", columns, rows_out, notes)]
    if isinstance(overall, Cohort):
        rows = []
        for group, desc in overall.months_diagnosis_to_blinatumomab_by_indication.items():
            mrd = overall.baseline_mrd_percent_by_indication.get(group)
            n = next((e.n for e in overall.indication_group.levels if e.level == group), 0)
            rows.append(Row(label(group), (str(n), fmt_median_range(desc), fmt_median_range(mrd, 3))))
        tables.append(
            Table(
                "table1b_indication",
                "cohort",
                "Time from diagnosis to blinatumomab and baseline MRD by indication group",
                ("Indication group", "n", "Months from diagnosis, median (range)", "Baseline MRD, %, median (range)"),
                tuple(rows),
            )
        )
        if overall.chemotherapy_intolerance_reason:
            rows = []
            for group, block in overall.chemotherapy_intolerance_reason.items():
                rows.append(Row(label(group), ("", ""), 0, True))
                for entry in block.levels:
                    rows.append(Row(label(entry.level), (fmt_n_pct(entry.n, block.denominator), ""), 1))
                if block.missing:
                    rows.append(Row("Not recorded", (str(block.missing), ""), 1))
            tables.append(
                Table(
                    "table1c_intolerance",
                    "cohort",
                    "Reason for chemotherapy intolerance by indication group",
                    ("Indication group / reason", "n/N (%)", ""),
                    tuple(rows),
                    ("N: patients of the indication group with a recorded reason.",),
                )
            )
        if overall.baseline_discordance is not None:
            d = overall.baseline_discordance
            rows = tuple(
                Row(text, (fmt_n_pct(getattr(d, key), d.n_both_methods),))
                for key, text in (
                    ("both_negative", "Flow negative, PCR negative"),
                    ("flow_negative_pcr_positive", "Flow negative, PCR positive"),
                    ("flow_positive_pcr_negative", "Flow positive, PCR negative"),
                    ("both_positive", "Flow positive, PCR positive"),
                    ("discordant", "Discordant"),
                )
            )
            tables.append(
                Table(
                    "table1d_baseline_discordance",
                    "cohort",
                    "Baseline MRD by flow cytometry vs PCR",
                    ("", "n/N (%)"),
                    rows,
                    (f"N = {d.n_both_methods}: patients with a baseline result by both methods.",),
                )
            )
    return tables


TABLE1_ROWS = {
    "Age at first blinatumomab, years, median (range)": "age_at_first_blinatumomab_years",
    "Sex, n/N (%)": "sex",
    "Immunophenotype, n/N (%)": "immunophenotype",
    "Disease status at blinatumomab, n/N (%)": "relapse_status_at_blinatumomab",
    "Relapses before blinatumomab, median (range)": "relapses_before_blinatumomab",
    "Site of the index relapse, n/N (%)": "relapse_site_detail",
    "Relapse site class, n/N (%)": "relapse_site_class",
    "Relapse timing (BFM), n/N (%)": "relapse_timing",
    "BFM strategic group, n/N (%)": "bfm_strategic_group",
    "IntReALL risk group, n/N (%)": "intreall_risk",
    "Prior HSCT, n/N (%)": "prior_hsct",
    "Indication group, n/N (%)": "indication_group",
    "Months from diagnosis to blinatumomab, median (range)": "months_diagnosis_to_blinatumomab",
    "Baseline MRD, %, median (range)": "baseline_mrd_fraction",
    **{text: column for column, text in GENETICS},
}
TEST_MARKS = {
    "Fisher's exact test": "\u1d43",
    "Pearson's chi-square test": "\u1d47",
    "Wilcoxon rank-sum test": "\u1d9c",
    "Kruskal-Wallis test": "\u1d48",
}


def _with_p_column(rows: tuple[Row, ...], tests: Mapping[str, TestResult]) -> tuple[tuple[Row, ...], tuple[str, ...]]:
    """Table 1 with a P column (as gtsummary add_p): one P per characteristic, the test marked and named."""
    out, used = [], []
    heading = ""
    for row in rows:
        if row.level == 0:
            heading = row.label
        column = TABLE1_ROWS.get(row.label)
        cell = ""
        genetic = row.level == 1 and heading.startswith("Genetics") and row.label in dict(GENETICS).values()
        if column in tests and ((row.level == 0 and column not in dict(GENETICS)) or genetic):
            test = tests[column]
            if test.p_value is None:
                cell = "not tested"
            else:
                cell = fmt_p(test.p_value).replace("P = ", "").replace("P ", "") + TEST_MARKS.get(test.test, "")
                if test.test not in used:
                    used.append(test.test)
        out.append(Row(row.label, (*row.cells, cell), row.level, row.heading))
    notes = tuple(
        f"{TEST_MARKS[name]} {name}"
        + (
            " (normal approximation with continuity correction)"
            if name.startswith("Wilcoxon")
            else " (no continuity correction)"
            if name.startswith("Pearson")
            else ""
        )
        + "."
        for name in used
    )
    return tuple(out), (
        "P values across the groups, among patients with a known value; "
        "Fisher's exact test for two groups and two levels, else Pearson's chi-square test; "
        "continuous characteristics by the Wilcoxon rank-sum (two groups) or Kruskal-Wallis test.",
        *notes,
    )


def _exposure_tables(section: Grouped[Exposure]) -> list[Table]:
    b = _Builder(_group_columns(section))
    b.add("Cycles, total", lambda p: str(p.total_cycles))
    b.add("Cycles per patient, median (range)", lambda p: fmt_median_range(p.cycles_per_patient, 0))
    b.add_counts("Cycles per patient, n/N (%)", "cycles_distribution")
    b.add("Infusion days per patient, median (range)", lambda p: fmt_median_range(p.infusion_days_per_patient, 0))
    b.add("Infusion days per cycle, median (range)", lambda p: fmt_median_range(p.infusion_days_per_cycle, 0))
    b.add(
        "Planned dose per patient, mcg, median (range)", lambda p: fmt_median_range(p.planned_dose_mcg_per_patient, 0)
    )
    b.add(
        "Delivered dose per patient, mcg, median (range)",
        lambda p: fmt_median_range(p.delivered_dose_mcg_per_patient, 0),
    )
    b.add(
        "Dose intensity (delivered / planned), median (range)",
        lambda p: fmt_median_range(p.dose_intensity_per_patient, 2),
    )
    b.add(
        "Patients with an interruption, n/N (%)",
        lambda p: fmt_n_pct(p.patients_with_interruption.x, p.patients_with_interruption.n),
    )
    b.add("Interruptions, total", lambda p: str(p.total_interruptions))
    b.add(
        "Patients with a dose deviation, n/N (%)",
        lambda p: fmt_n_pct(p.patients_with_dose_deviation.x, p.patients_with_dose_deviation.n),
    )
    b.add("Early stop, n/N (%)", lambda p: fmt_n_pct(p.early_stop.x, p.early_stop.n))
    b.add_counts("Reason for early stop, n/N (%) of early stops", "early_stop_reason")
    tables = [
        b.table(
            "table2_exposure",
            "exposure",
            "Blinatumomab exposure",
            ("Dose intensity: delivered / planned cumulative dose.",),
        )
    ]
    overall = section.overall
    per_cycle = overall.per_cycle if isinstance(overall, Exposure) else ()
    if per_cycle:
        rows = tuple(
            Row(
                f"Cycle {c.cycle_number}",
                (
                    str(c.patients),
                    fmt_num(c.infusion_days_median, 0),
                    fmt_num(c.dose_intensity_median, 2),
                    str(c.interruptions),
                    str(c.early_stops),
                ),
            )
            for c in per_cycle
        )
        tables.append(
            Table(
                "table2b_cycles",
                "exposure",
                "Exposure per cycle (all patients)",
                (
                    "Cycle",
                    "Patients",
                    "Infusion days, median",
                    "Dose intensity, median",
                    "Interruptions",
                    "Early stops",
                ),
                rows,
            )
        )
    if isinstance(overall, Exposure) and overall.dose_steps:
        rows = tuple(
            Row(
                f"Cycle {d.cycle_number}" if d.cycle_number is not None else "Cycle not recorded",
                (
                    label(d.phase),
                    str(d.step),
                    d.unit,
                    str(d.patients),
                    fmt_median_range(d.planned_daily_dose, 1),
                    fmt_median_range(d.delivered_daily_dose, 1),
                    fmt_median_range(d.days, 0),
                ),
            )
            for d in overall.dose_steps
        )
        tables.append(
            Table(
                "table2c_dose_steps",
                "exposure",
                "Daily dose by cycle, phase and step",
                (
                    "Cycle",
                    "Phase",
                    "Step",
                    "Unit",
                    "Patients",
                    "Planned daily dose, median (range)",
                    "Delivered daily dose, median (range)",
                    "Days, median (range)",
                ),
                rows,
                ("Daily doses in the unit recorded (mcg/day or mcg/m2/day).",),
            )
        )
    return tables


def _response_tables(section: Grouped[Response], meta: Meta) -> list[Table]:
    b = _Builder(_group_columns(section))
    b.add("CR/CRh/CRi after cycle 1", lambda p: fmt_prop_ci(p.cr_after_cycle1))
    b.add("CR/CRh/CRi (best response)", lambda p: fmt_prop_ci(p.cr_achieved))
    b.add("Responders", lambda p: fmt_prop_ci(p.responders))
    b.add("Non-responders, n/N", lambda p: f"{p.non_responders.n}/{p.non_responders.denominator}")
    b.add("Complete MRD response", lambda p: fmt_prop_ci(p.complete_mrd_response))
    b.add_counts("Best response, n/N (%)", "best_response")
    b.heading("MRD negative (< 0.01%)")
    for time_key, time_label in (("after_cycle1", "after cycle 1"), ("best", "best response")):
        for method in ("flow", "pcr"):
            b.add(
                f"{label(method)}, {time_label}",
                lambda p, t=time_key, m=method: fmt_prop_ci(getattr(p.mrd_negative[t], m)),
                1,
            )
    notes = (
        meta.non_responder_definition,
        "x/N: patients with the response / patients evaluable for it. 95% CIs are exact (Clopper-Pearson). "
        "MRD methods are reported separately, never merged; PCR is RT-qPCR of a fusion transcript or Ig/TCR "
        "qPCR.",
    )
    tables = [
        b.table(
            "table3_response",
            "response",
            "Response to blinatumomab",
            notes,
        )
    ]

    d = _Builder(_group_columns(section))
    for time_key, time_label in (("after_cycle1", "After cycle 1"), ("best", "Best response")):
        d.heading(time_label)
        d.add("Measured by both methods, n", lambda p, t=time_key: str(p.discordance[t].n_both_methods), 1)
        for cell, text in (
            ("both_negative", "Flow negative, PCR negative"),
            ("flow_negative_pcr_positive", "Flow negative, PCR positive"),
            ("flow_positive_pcr_negative", "Flow positive, PCR negative"),
            ("both_positive", "Flow positive, PCR positive"),
            ("discordant", "Discordant"),
        ):
            d.add(
                text,
                lambda p, t=time_key, c=cell: fmt_n_pct(getattr(p.discordance[t], c), p.discordance[t].n_both_methods),
                1,
            )
    tables.append(
        Table(
            "table3b_discordance",
            "response",
            "MRD by flow cytometry vs PCR (discordance)",
            ("", *[g for g, _ in d.groups]),
            tuple(d.rows),
            ("N: patients with both a flow-cytometry and a PCR result at that time.",),
        )
    )

    m = _Builder(_group_columns(section))
    overall = section.overall
    threshold = (
        overall.by_baseline_mrd.threshold_percent
        if isinstance(overall, Response)
        else 100.0 * meta.high_tumour_load_mrd_fraction
    )
    for key, text in (
        ("below", f"Baseline MRD < {threshold:g}%"),
        ("at_or_above", f"Baseline MRD {GE} {threshold:g}%"),
    ):
        m.heading(text)
        m.add("Patients, n", lambda p, k=key: str(p.by_baseline_mrd.strata[k].n), 1)
        m.add(
            "Baseline MRD, %, median (range)",
            lambda p, k=key: fmt_median_range(p.by_baseline_mrd.strata[k].baseline_mrd_percent, 3),
            1,
        )
        m.add("CR/CRh/CRi", lambda p, k=key: fmt_prop_ci(p.by_baseline_mrd.strata[k].cr_achieved), 1)
        m.add(
            "MRD negative by flow (best)",
            lambda p, k=key: fmt_prop_ci(p.by_baseline_mrd.strata[k].mrd_negative_best_flow),
            1,
        )
        m.add(
            "MRD negative by PCR (best)",
            lambda p, k=key: fmt_prop_ci(p.by_baseline_mrd.strata[k].mrd_negative_best_pcr),
            1,
        )
    m.heading("Baseline MRD, %, median (range), by best flow MRD")
    m.add(
        "Reached MRD negativity",
        lambda p: fmt_median_range(p.by_baseline_mrd.baseline_mrd_percent_by_best_flow["negative"], 3),
        1,
    )
    m.add(
        "Did not reach MRD negativity",
        lambda p: fmt_median_range(p.by_baseline_mrd.baseline_mrd_percent_by_best_flow["not_negative"], 3),
        1,
    )
    tables.append(
        Table(
            "table3c_baseline_mrd",
            "response",
            f"Response by baseline MRD burden (high tumour load: MRD {GE} {threshold:g}%)",
            ("", *[g for g, _ in m.groups]),
            tuple(m.rows),
            ("The high-tumour-load threshold is a report option (high_tumour_load_mrd).",),
        )
    )
    return tables


def _grade_rows(b: _Builder, key: str, text: str) -> None:
    b.heading(f"{text}, maximum grade per patient, n/N (%)")
    for grade in range(1, 6):
        b.add(
            f"Grade {grade}",
            lambda p, g=grade: fmt_n_pct(getattr(p, key).by_grade[g].n, getattr(p, key).denominator),
            1,
        )
    b.add("Any grade", lambda p: fmt_prop_ci(getattr(p, key).any_grade), 1)
    b.add(f"Grade {GE} 3", lambda p: fmt_prop_ci(getattr(p, key).grade3plus), 1)


def _safety_tables(section: Grouped[Safety]) -> list[Table]:
    b = _Builder(_group_columns(section))
    _grade_rows(b, "crs_max_grade", "CRS")
    _grade_rows(b, "icans_max_grade", "ICANS")
    _grade_rows(b, "neurotoxicity_max_grade", "Neurotoxicity (any)")
    b.add(f"Any grade {GE} 3 adverse event", lambda p: fmt_prop_ci(p.grade3plus_any))
    overall = section.overall
    window = overall.adverse_events.window if isinstance(overall, Safety) else None
    window_note = (
        f"Maximum grades and adverse-event tables count {window} events."
        if window
        else "Maximum grades and adverse-event tables count the events of the blinatumomab course."
    )
    tables = [
        b.table(
            "table4_safety",
            "safety",
            "Cytokine release syndrome and neurotoxicity",
            (
                "CRS and ICANS graded by ASTCT consensus (Lee 2019); other events by CTCAE v5. N: patients "
                "with a known maximum grade.",
                window_note,
            ),
        )
    ]
    c = _Builder(_group_columns(section))

    def per_cycle(p: Safety, key: str) -> str:
        block = p.per_cycle
        if not block.cycles:
            return "no cycles recorded"
        value = getattr(block, key)
        return fmt_n_pct(value.x, value.n)

    c.add("Cycles, n", lambda p: str(p.per_cycle.cycles))
    c.add("Cycles with CRS, n/N (%)", lambda p: per_cycle(p, "cycles_with_crs"))
    c.add(f"Cycles with CRS grade {GE} 3, n/N (%)", lambda p: per_cycle(p, "cycles_with_crs_grade3plus"))
    c.add(
        "Neurotoxicity events, n (per 100 cycles)",
        lambda p: (
            (f"{p.per_cycle.neurotoxicity_events} ({p.per_cycle.neurotoxicity_events_per_100_cycles:.1f})")
            if p.per_cycle.cycles
            else "no cycles recorded"
        ),
    )
    c.add("Cycles with neurotoxicity, n/N (%)", lambda p: per_cycle(p, "cycles_with_neurotoxicity"))
    c.add(
        f"Cycles with neurotoxicity grade {GE} 3, n/N (%)",
        lambda p: per_cycle(p, "cycles_with_neurotoxicity_grade3plus"),
    )
    tables.append(
        Table(
            "table4b_per_cycle",
            "safety",
            "CRS and neurotoxicity per cycle",
            ("", *[g for g, _ in c.groups]),
            tuple(c.rows),
            ("N: cycles.",),
        )
    )
    if isinstance(overall, Safety):
        ae = overall.adverse_events
        n = overall.n
        rows = [
            Row(label(r.term), (str(r.events), fmt_n_pct(r.patients_any_grade, n), fmt_n_pct(r.patients_grade3plus, n)))
            for r in ae.by_term
        ]
        notes = [
            f"Percentages of all {n} patients. Recorded grades; {ae.grade_disagreements} of "
            f"{ae.grade_computable or 0} events with grading parameters disagree with the computed grade."
        ]
        if ae.window:
            notes.append(
                f"Only {ae.window} events; {ae.outside_window or 0} recorded events outside the window are not counted."
            )
        if not rows:
            rows = [Row("No adverse events recorded", ("0", "0", "0"))]
        tables.append(
            Table(
                "table4c_adverse_events",
                "safety",
                "Adverse events by term (all patients)",
                ("Event", "Events", "Patients, any grade", f"Patients, grade {GE} 3"),
                tuple(rows),
                tuple(notes),
            )
        )
        rows = [
            Row(
                label(r.term),
                (
                    f"{r.rate.x}/{r.rate.n}" if r.rate.n else str(r.rate.x),
                    fmt_pct(r.rate.proportion) if r.rate.proportion is not None else NE,
                ),
            )
            for r in ae.cycle1
        ] or [Row("No adverse events in cycle 1", ("0", NE))]
        tables.append(
            Table(
                "table4d_cycle1",
                "safety",
                "Adverse events in cycle 1 (patients)",
                ("Event", "Patients / patients with cycle 1", "%"),
                tuple(rows),
            )
        )
        rows = [
            Row(label(r.term), ("interruption", str(r.events), str(r.patients))) for r in ae.leading_to_interruption
        ]
        rows += [
            Row(label(r.term), ("discontinuation", str(r.events), str(r.patients)))
            for r in ae.leading_to_discontinuation
        ]
        if not rows:
            rows = [Row("No event led to interruption or discontinuation", ("", "0", "0"))]
        tables.append(
            Table(
                "table4e_actions",
                "safety",
                "Adverse events leading to interruption or discontinuation",
                ("Event", "Action", "Events", "Patients"),
                tuple(rows),
            )
        )
    return tables


def _endpoint_cells(summary: EndpointSummary, landmarks: tuple[float, ...]) -> list[str]:
    if not summary.n:
        return ["0", "0", "0", *[summary.note or "no patients"] * len(landmarks), NE]
    censored = summary.censored if summary.censored is not None else summary.n - summary.events
    cells = [str(summary.n), str(summary.events), str(censored)]
    points = summary.landmarks or ()
    for i, _ in enumerate(landmarks):
        cells.append(fmt_estimate_ci(points[i] if i < len(points) else None))
    cells.append(fmt_median_ci(summary.median) if summary.median is not None else "n/a (cumulative incidence)")
    return cells


def _outcome_tables(section: Outcomes, meta: Meta) -> list[Table]:
    landmarks = meta.landmarks_months
    columns = (
        "Endpoint",
        "Group",
        "n",
        "Events",
        "Censored",
        *[f"{m:g}-month, % (95% CI)" for m in landmarks],
        "Median, months (95% CI)",
        "Test",
    )
    rows = []
    for endpoint, summary in section.overall.items():
        rows.append(Row(label(endpoint), ("All patients", *_endpoint_cells(summary, landmarks), "")))
        test = section.by_test.get(endpoint)
        for group, parts in section.groups.items():
            if endpoint in parts:
                rows.append(
                    Row(
                        "",
                        (
                            label(group),
                            *_endpoint_cells(parts[endpoint], landmarks),
                            "" if test is None else _test_text(test),
                        ),
                        1,
                    )
                )
    fu = section.median_follow_up
    fu_text = (
        f"Median follow-up (reverse Kaplan-Meier): "
        f"{fmt_median_ci(Median(fu.months, fu.lower, fu.upper, fu.note))} months."
    )
    notes = [
        fu_text,
        f"Time in months of 30.4375 days, from {meta.origin.replace('_', ' ')}. Kaplan-Meier "
        "estimates with log-log 95% CIs; CIR and NRM: Aalen-Johansen cumulative incidence with the competing "
        "event (death without relapse / relapse) and log(-log) CIs. Censored: patients without the event "
        "(or a competing event) at last follow-up.",
    ]
    rmst = [(endpoint, s.rmst) for endpoint, s in section.overall.items() if s.rmst]
    if rmst:
        parts = []
        for endpoint, value in rmst:
            if value.get("months") is None:
                parts.append(f"{endpoint} {value.get('note')}")
            else:
                parts.append(
                    f"{endpoint} {value['months']:.1f} months (95% CI "
                    f"{fmt_ci(value['lower'], value['upper'], 1, percent=False)})"
                )
        notes.append(
            f"Restricted mean survival time to {rmst[0][1]['horizon_months']:g} months: " + "; ".join(parts) + "."
        )
    tables = [
        Table(
            "table5_outcomes",
            "outcomes",
            "Survival and cumulative incidence",
            columns,
            tuple(rows),
            tuple(n for n in notes if n),
        )
    ]
    comparison_rows = []
    comparison_notes = ["Kaplan-Meier endpoints compared by the log-rank test; cumulative incidences by Gray's test."]
    for key, comp in section.comparisons.items():
        if comp.note and not comp.endpoints:
            comparison_rows.append(Row(comp.name, ("", "", "", "", *[""] * len(landmarks), comp.note)))
            continue
        if comp.timing and comp.timing not in comparison_notes:
            comparison_notes.append(f"{comp.name}: {comp.timing}.")
        for endpoint, block in comp.endpoints.items():
            first = True
            for group, summary in block.groups.items():
                cells = _endpoint_cells(summary, landmarks)[:-1]
                comparison_rows.append(
                    Row(
                        f"{comp.name}: {label(endpoint)}" if first else "",
                        (label(group), *cells, _test_text(block.test) if first else ""),
                        0 if first else 1,
                    )
                )
                first = False
    relapses = section.relapses
    if relapses is not None and relapses.relapses:
        rows = [
            Row("Relapses after the origin, n (patients)", (f"{relapses.relapses} ({relapses.patients})", "")),
            Row("Marrow blasts at relapse, %, median (range)", (fmt_median_range(relapses.marrow_blasts_pct), "")),
        ]
        for key, title in (
            ("cd19_status", "CD19 status at relapse, n/N (%)"),
            ("salvage_therapy", "First therapy after relapse, n/N (%)"),
        ):
            block: Counts = getattr(relapses, key)
            rows.append(Row(title, ("", ""), 0, True))
            rows += [Row(label(e.level), (fmt_n_pct(e.n, block.denominator), ""), 1) for e in block.levels]
            if block.missing:
                rows.append(Row("Not recorded", (fmt_n_pct(block.missing, block.total), ""), 1))
        rows.append(
            Row(
                f"Post-relapse OS by first therapy after relapse, {landmarks[-1]:g}-month (95% CI)",
                ("", _test_text(relapses.test)),
                0,
                True,
            )
        )
        for group, summary in relapses.post_relapse_os_by_salvage.items():
            points = summary.landmarks or ()
            rows.append(
                Row(
                    f"{group} (n = {summary.n}, events = {summary.events})",
                    (fmt_estimate_ci(points[-1] if points else None), ""),
                    1,
                )
            )
        tables.append(
            Table(
                "table5c_relapses",
                "outcomes",
                "Relapses after blinatumomab: CD19 status, salvage therapy and post-relapse survival",
                ("", "n/N (%) or estimate", "Test"),
                tuple(rows),
                (
                    "N: relapses with a recorded value. Post-relapse OS from the first relapse after the "
                    "origin, by the first therapy given after it.",
                ),
            )
        )
    if comparison_rows:
        tables.append(
            Table(
                "table5b_comparisons",
                "outcomes",
                "Subgroup comparisons",
                (
                    "Comparison",
                    "Group",
                    "n",
                    "Events",
                    "Censored",
                    *[f"{m:g}-month, % (95% CI)" for m in landmarks],
                    "Test",
                ),
                tuple(comparison_rows),
                tuple(comparison_notes),
            )
        )
    return tables


def _test_text(test: TestResult) -> str:
    if test.p_value is None:
        return f"{test.test}: {test.note or 'not tested'}"
    return f"{fmt_p(test.p_value)} ({test.test})"


def _model_tables(section: Mapping[str, ModelResult]) -> list[Table]:
    """gtsummary-style: one block per model; per covariate its readable label, then one row per level with
    the reference level marked "Reference"; n used and n excluded for missing values in the heading."""
    tables = []
    for key, model in section.items():
        excluded = model.n_excluded_missing or 0
        rows: list[Row] = []
        if not model.coefficients:
            rows.append(Row("Model not estimated", ("", model.note or NE, "")))
        by_covariate: dict[str, list[Coefficient]] = {}
        for coef in model.coefficients:
            by_covariate.setdefault(coef.covariate or coef.term, []).append(coef)
        for term in model.terms if model.coefficients else ():
            coefs = by_covariate.get(term.covariate, [])
            if term.type == "continuous":
                rows.extend(_coef_row(term.label, c) for c in coefs)
                continue
            rows.append(Row(term.label, ("", "", ""), 0, True))
            levels = term.levels if term.levels else (term.reference,)
            for level in levels:
                if level == term.reference:
                    rows.append(Row(label(level), ("Reference", "", ""), 1))
                    continue
                coef = next((c for c in coefs if c.level == level), None)
                rows.append(_coef_row(label(level), coef, 1) if coef else Row(label(level), (NE, "", ""), 1))
        ratio = model.ratio_name or "HR"
        title = (
            f"{model.name}: {label(model.endpoint).lower()}, n = {model.n}"
            f"{f' ({excluded} excluded for missing values)' if excluded else ''}, events = {model.events}"
        )
        tables.append(
            Table(
                f"table6_{key}",
                "models",
                title,
                ("Characteristic", ratio, "95% CI", "P"),
                tuple(rows),
                (
                    (
                        "HR: hazard ratio, Cox proportional hazards (Efron ties)."
                        if ratio == "HR"
                        else "sHR: subdistribution hazard ratio, Fine-Gray model (competing event: "
                        + ("death without relapse" if model.endpoint == "CIR" else "relapse")
                        + ")."
                    ),
                    "Reference levels as set in report.toml (models.reference), else the most frequent level.",
                    *_model_design_notes(model),
                ),
            )
        )
    return tables


def _model_design_notes(model: ModelResult) -> tuple[str, ...]:
    """The strata of a stratified Cox model and its proportional-hazards test, when the model has them."""
    notes = []
    if model.strata:
        names = ", ".join(column_label(column) for column in model.strata)
        notes.append(f"Stratified by {names}: one baseline hazard per stratum, no hazard ratio for it.")
    if model.ph_test is not None:
        test = model.ph_test
        if test.note:
            notes.append(f"Proportional-hazards test: {test.note}.")
        else:
            parts = [
                f"{t.label} {fmt_p(t.p_value)}" + (f" ({t.df} df)" if t.df and t.df > 1 else "") for t in test.terms
            ]
            notes.append(f"Proportional-hazards test ({test.method}): " + "; ".join(parts) + ".")
    return tuple(notes)


def _coef_row(text: str, coef: Coefficient | None, level: int = 0) -> Row:
    if coef is None or coef.hr is None:
        return Row(text, (NE, "", ""), level)
    ci = f"{coef.lower:.2f}{DASH}{coef.upper:.2f}" if coef.lower is not None and coef.upper is not None else NE
    return Row(text, (f"{coef.hr:.2f}", ci, fmt_p(coef.p_value).replace("P = ", "").replace("P ", "")), level)


def _published_tables(rows: tuple[Any, ...]) -> list[Table]:
    from blinareg.report.published import ENDPOINT_WORDS

    out = []
    for r in rows:
        when = f", {r.time_point_months:g} months" if r.time_point_months else ""
        published = (f"{r.x}/{r.n} " if r.x is not None else f"n = {r.n}; ") + (
            f"{fmt_pct(r.estimate)}" + (f" ({fmt_ci(r.lower, r.upper)})" if r.lower is not None else "")
        )
        center = r.center
        if center is None:
            ours = "not matched"
        elif hasattr(center, "x"):
            ours = fmt_prop_ci(center)
        else:
            ours = f"n = {r.center_n}; {fmt_estimate_ci(center)}"
        out.append(
            Row(
                f"{ENDPOINT_WORDS.get(r.endpoint, r.endpoint)}{when}",
                (f"{r.study}; doi:{r.doi}", published, r.center_population, ours),
            )
        )
    return [
        Table(
            "table7_published",
            "outcomes",
            "Published blinatumomab outcomes and this cohort",
            ("Outcome", "Publication", "Published (95% CI)", "This cohort: matching patients", "This cohort (95% CI)"),
            tuple(out),
            (
                "Published numbers as given in each publication (its abstract or results table); 95% CIs are exact "
                "(Clopper-Pearson) where the publication gives counts, and absent where it gives neither counts nor "
                "an interval. Trials: the blinatumomab arm. Populations differ in age, disease status and prior "
                "therapy.",
            ),
        )
    ]


def build_tables(results: ReportResults) -> list[Table]:
    """Every table of the report, in order and numbered (Table 1, 1b, ...), from the typed results."""
    tables: list[Table] = []
    groups: list[list[Table]] = []
    if results.cohort is not None:
        groups.append(_cohort_tables(results.cohort))
    if results.exposure is not None:
        groups.append(_exposure_tables(results.exposure))
    if results.response is not None:
        groups.append(_response_tables(results.response, results.meta))
    if results.safety is not None:
        groups.append(_safety_tables(results.safety))
    if results.outcomes is not None:
        groups.append(_outcome_tables(results.outcomes, results.meta))
    if results.models:
        groups.append(_model_tables(results.models))
    if results.published:
        groups.append(_published_tables(results.published))
    for number, group in enumerate((g for g in groups if g), start=1):
        for index, table in enumerate(group):
            suffix = "" if index == 0 else "abcdefghijklmnopqrstuvwxyz"[index]
            tables.append(replace(table, number=f"Table {number}{suffix}", title=table.title))
    return tables
