"""Publication tables from the results dict: formatting only, no statistics.

Conventions: "n (%)" with one decimal; "median (range)"; CIs as "lower–upper"; P values "P = 0.023",
"P < 0.001" (two significant digits). A value that cannot be estimated is written as the reason
("not estimable (no events)", "no patients"), never as NaN.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from blinareg.derive.labels import value_label

__all__ = [
    "Table", "Row", "build_tables", "fmt_p", "fmt_pct", "fmt_ci", "fmt_n_pct", "fmt_median_range",
    "fmt_estimate_ci", "label",
]

DASH = "\u2013"  # en dash for ranges
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
    if not denominator:
        return f"{n} (none evaluable)" if n else "none evaluable"
    return f"{n} ({100.0 * n / denominator:.{digits}f}%)"


def fmt_median_range(desc: dict[str, Any] | None, digits: int = 1, iqr: bool = False) -> str:
    if not desc or not desc.get("n"):
        return "no values"
    text = f"{desc['median']:.{digits}f} ({desc['min']:.{digits}f}{DASH}{desc['max']:.{digits}f})"
    if iqr:
        text += f"; IQR {desc['q1']:.{digits}f}{DASH}{desc['q3']:.{digits}f}"
    return text


def fmt_prop_ci(prop: dict[str, Any] | None, digits: int = 1) -> str:
    """'13/38 (34.2%; 95% CI 19.6–51.4)'."""
    if not prop or not prop.get("n"):
        return "no evaluable patients"
    return (f"{prop['x']}/{prop['n']} ({fmt_pct(prop['proportion'], digits)}; "
            f"95% CI {fmt_ci(prop['lower'], prop['upper'], digits)})")


def fmt_estimate_ci(point: dict[str, Any] | None, digits: int = 1) -> str:
    """A landmark estimate '72.2% (58.1–82.3)' or the reason it is missing."""
    if not point:
        return NE
    if point.get("estimate") is None:
        return point.get("note") or NE
    text = fmt_pct(point["estimate"], digits)
    if point.get("lower") is None or point.get("upper") is None:
        note = point.get("note") or "CI not estimable"
        return f"{text} ({note})"
    return f"{text} ({fmt_ci(point['lower'], point['upper'], digits)})"


def fmt_median_ci(median: dict[str, Any] | None, digits: int = 1) -> str:
    if not median:
        return NE
    if median.get("months") is None:
        lower = median.get("lower")
        suffix = f" (lower limit {lower:.{digits}f})" if _finite(lower) else ""
        return (median.get("note") or "not reached") + suffix
    lower = fmt_num(median.get("lower"), digits) if median.get("lower") is not None else "NE"
    upper = fmt_num(median.get("upper"), digits) if median.get("upper") is not None else "NR"
    return f"{median['months']:.{digits}f} ({lower}{DASH}{upper})"


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


def _group_columns(section: dict[str, Any], first: str = "All patients") -> list[tuple[str, dict[str, Any]]]:
    out = [(f"{first} (N = {section['overall'].get('n', 0)})", section["overall"])]
    for name, part in section.get("groups", {}).items():
        out.append((f"{label(name)} (n = {part.get('n', 0)})", part))
    return out


class _Builder:
    """Rows with one cell per column group; an empty group gets 'no patients' in every cell."""

    def __init__(self, groups: list[tuple[str, dict[str, Any]]]) -> None:
        self.groups = groups
        self.rows: list[Row] = []

    def heading(self, text: str) -> None:
        self.rows.append(Row(text, tuple("" for _ in self.groups), 0, True))

    def add(self, text: str, fn, level: int = 0) -> None:
        cells = []
        for _, part in self.groups:
            if not part.get("n"):
                cells.append(part.get("note", "no patients"))
                continue
            try:
                cells.append(fn(part))
            except KeyError:
                cells.append("not available")
        self.rows.append(Row(text, tuple(cells), level))

    def add_counts(self, text: str, key: str, levels: Iterable[Any] | None = None) -> None:
        self.heading(text)
        all_levels: list[Any] = []
        for _, part in self.groups:
            for entry in part.get(key, {}).get("levels", []):
                if entry["level"] not in all_levels:
                    all_levels.append(entry["level"])
        for level in (levels if levels is not None else all_levels):
            def cell(part, level=level):
                block = part[key]
                n = next((e["n"] for e in block["levels"] if e["level"] == level), 0)
                return fmt_n_pct(n, block["denominator"])
            self.add(label(level), cell, 1)
        if any(part.get(key, {}).get("missing") for _, part in self.groups):
            self.add("Missing / not applicable", lambda part: str(part[key]["missing"]), 1)


def _cohort_tables(section: dict[str, Any]) -> list[Table]:
    b = _Builder(_group_columns(section))
    b.add("Age at first blinatumomab, years, median (range)",
          lambda p: fmt_median_range(p["age_at_first_blinatumomab_years"]))
    b.add("Age at first blinatumomab, years, IQR",
          lambda p: (f"{p['age_at_first_blinatumomab_years']['q1']:.1f}{DASH}"
                     f"{p['age_at_first_blinatumomab_years']['q3']:.1f}")
          if p["age_at_first_blinatumomab_years"]["n"] else "no values")
    b.add_counts("Sex, n (%)", "sex")
    b.add_counts("Immunophenotype, n (%)", "immunophenotype")
    b.add_counts("Disease status at blinatumomab, n (%)", "relapse_status_at_blinatumomab")
    b.add("Relapses before blinatumomab, median (range)",
          lambda p: fmt_median_range(p["relapses_before_blinatumomab"], 0))
    b.add_counts("Site of the index relapse, n (%)", "relapse_site_detail")
    b.add_counts("Relapse site class, n (%)", "relapse_site_class")
    b.add_counts("Relapse timing (BFM), n (%)", "relapse_timing")
    b.add_counts("BFM strategic group, n (%)", "bfm_strategic_group")
    b.add_counts("IntReALL risk group, n (%)", "intreall_risk")
    b.heading("Genetics, n (%)")
    for name in section["overall"].get("genetics", {}) if section["overall"].get("n") else []:
        b.add(name, lambda p, name=name: fmt_n_pct(p["genetics"][name]["n"], p["genetics"][name]["denominator"]), 1)
    b.add("Prior HSCT, n (%)", lambda p: fmt_n_pct(p["prior_hsct"]["n"], p["prior_hsct"]["denominator"]))
    b.add_counts("Indication group, n (%)", "indication_group")
    b.add("Months from diagnosis to blinatumomab, median (range)",
          lambda p: fmt_median_range(p["months_diagnosis_to_blinatumomab"]))
    b.add("Baseline MRD, %, median (range)", lambda p: fmt_median_range(p["baseline_mrd_percent"], 3))
    notes = ("Percentages are of patients with a known value; relapse characteristics refer to the most recent "
             "relapse before the first blinatumomab (patients in CR1 are counted as not applicable).",)
    tables = [Table("table1_cohort", "cohort", "Table 1. Patient characteristics", ("Characteristic", *[g for g, _ in b.groups]),
                    tuple(b.rows), notes)]
    overall = section["overall"]
    if overall.get("n"):
        rows = []
        for group, desc in overall.get("months_diagnosis_to_blinatumomab_by_indication", {}).items():
            mrd = overall["baseline_mrd_percent_by_indication"].get(group, {})
            n = next((e["n"] for e in overall["indication_group"]["levels"] if e["level"] == group), 0)
            rows.append(Row(label(group), (str(n), fmt_median_range(desc), fmt_median_range(mrd, 3))))
        tables.append(Table("table1b_indication", "cohort",
                            "Table 1b. Time from diagnosis to blinatumomab and baseline MRD by indication group",
                            ("Indication group", "n", "Months from diagnosis, median (range)",
                             "Baseline MRD, %, median (range)"), tuple(rows)))
    return tables


def _exposure_tables(section: dict[str, Any]) -> list[Table]:
    b = _Builder(_group_columns(section))
    b.add("Cycles, total", lambda p: str(p["total_cycles"]))
    b.add("Cycles per patient, median (range)", lambda p: fmt_median_range(p["cycles_per_patient"], 0))
    b.add_counts("Cycles per patient, n (%)", "cycles_distribution")
    b.add("Infusion days per patient, median (range)", lambda p: fmt_median_range(p["infusion_days_per_patient"], 0))
    b.add("Infusion days per cycle, median (range)", lambda p: fmt_median_range(p["infusion_days_per_cycle"], 0))
    b.add("Planned dose per patient, mcg, median (range)", lambda p: fmt_median_range(p["planned_dose_mcg_per_patient"], 0))
    b.add("Delivered dose per patient, mcg, median (range)",
          lambda p: fmt_median_range(p["delivered_dose_mcg_per_patient"], 0))
    b.add("Dose intensity (delivered / planned), median (range)",
          lambda p: fmt_median_range(p["dose_intensity_per_patient"], 2))
    b.add("Patients with an interruption, n (%)",
          lambda p: fmt_n_pct(p["patients_with_interruption"]["x"], p["patients_with_interruption"]["n"]))
    b.add("Interruptions, total", lambda p: str(p["total_interruptions"]))
    b.add("Patients with a dose deviation, n (%)",
          lambda p: fmt_n_pct(p["patients_with_dose_deviation"]["x"], p["patients_with_dose_deviation"]["n"]))
    b.add("Early stop, n (%)", lambda p: fmt_n_pct(p["early_stop"]["x"], p["early_stop"]["n"]))
    b.add_counts("Reason for early stop, n (% of early stops)", "early_stop_reason")
    tables = [Table("table2_exposure", "exposure", "Table 2. Blinatumomab exposure",
                    ("", *[g for g, _ in b.groups]), tuple(b.rows),
                    ("Dose intensity: delivered / planned cumulative dose.",))]
    per_cycle = section["overall"].get("per_cycle", []) if section["overall"].get("n") else []
    if per_cycle:
        rows = tuple(Row(f"Cycle {c['cycle_number']}", (
            str(c["patients"]), fmt_num(c["infusion_days_median"], 0), fmt_num(c["dose_intensity_median"], 2),
            str(c["interruptions"]), str(c["early_stops"]))) for c in per_cycle)
        tables.append(Table("table2b_cycles", "exposure", "Table 2b. Exposure per cycle (all patients)",
                            ("Cycle", "Patients", "Infusion days, median", "Dose intensity, median", "Interruptions",
                             "Early stops"), rows))
    return tables


def _response_tables(section: dict[str, Any], meta: dict[str, Any]) -> list[Table]:
    b = _Builder(_group_columns(section))
    b.add("CR/CRh/CRi after cycle 1", lambda p: fmt_prop_ci(p["cr_after_cycle1"]))
    b.add("CR/CRh/CRi (best response)", lambda p: fmt_prop_ci(p["cr_achieved"]))
    b.add("Responders", lambda p: fmt_prop_ci(p["responders"]))
    b.add("Non-responders, n", lambda p: f"{p['non_responders']['n']}/{p['non_responders']['denominator']}")
    b.add("Complete MRD response", lambda p: fmt_prop_ci(p["complete_mrd_response"]))
    b.add_counts("Best response, n (%)", "best_response")
    b.heading("MRD negative (< 0.01%)")
    for time_key, time_label in (("after_cycle1", "after cycle 1"), ("best", "best response")):
        for method in ("flow", "pcr"):
            b.add(f"{label(method)}, {time_label}",
                  lambda p, t=time_key, m=method: fmt_prop_ci(p["mrd_negative"][t][m]), 1)
    notes = (meta["non_responder_definition"],
             "95% CIs are exact (Clopper-Pearson). MRD methods are reported separately, never merged; PCR is "
             "RT-qPCR of a fusion transcript or Ig/TCR qPCR.")
    tables = [Table("table3_response", "response", "Table 3. Response to blinatumomab", ("", *[g for g, _ in b.groups]),
                    tuple(b.rows), notes)]

    d = _Builder(_group_columns(section))
    for time_key, time_label in (("after_cycle1", "After cycle 1"), ("best", "Best response")):
        d.heading(time_label)
        d.add("Measured by both methods, n", lambda p, t=time_key: str(p["discordance"][t]["n_both_methods"]), 1)
        for cell, text in (("both_negative", "Flow negative, PCR negative"),
                           ("flow_negative_pcr_positive", "Flow negative, PCR positive"),
                           ("flow_positive_pcr_negative", "Flow positive, PCR negative"),
                           ("both_positive", "Flow positive, PCR positive")):
            d.add(text, lambda p, t=time_key, c=cell: fmt_n_pct(p["discordance"][t][c],
                                                                 p["discordance"][t]["n_both_methods"]), 1)
        d.add("Discordant, n (%)", lambda p, t=time_key: fmt_n_pct(p["discordance"][t]["discordant"],
                                                                    p["discordance"][t]["n_both_methods"]), 1)
    tables.append(Table("table3b_discordance", "response", "Table 3b. MRD by flow cytometry vs PCR (discordance)",
                        ("", *[g for g, _ in d.groups]), tuple(d.rows),
                        ("Among patients with both a flow-cytometry and a PCR result at that time.",)))

    m = _Builder(_group_columns(section))
    threshold = section["overall"].get("by_baseline_mrd", {}).get("threshold_percent") or \
        100.0 * meta["high_tumour_load_mrd_fraction"]
    for key, text in (("below", f"Baseline MRD < {threshold:g}%"), ("at_or_above", f"Baseline MRD >= {threshold:g}%")):
        m.heading(text)
        m.add("Patients, n", lambda p, k=key: str(p["by_baseline_mrd"]["strata"][k]["n"]), 1)
        m.add("Baseline MRD, %, median (range)",
              lambda p, k=key: fmt_median_range(p["by_baseline_mrd"]["strata"][k]["baseline_mrd_percent"], 3), 1)
        m.add("CR/CRh/CRi", lambda p, k=key: fmt_prop_ci(p["by_baseline_mrd"]["strata"][k]["cr_achieved"]), 1)
        m.add("MRD negative by flow (best)",
              lambda p, k=key: fmt_prop_ci(p["by_baseline_mrd"]["strata"][k]["mrd_negative_best_flow"]), 1)
        m.add("MRD negative by PCR (best)",
              lambda p, k=key: fmt_prop_ci(p["by_baseline_mrd"]["strata"][k]["mrd_negative_best_pcr"]), 1)
    m.heading("Baseline MRD, %, median (range), by best flow MRD")
    m.add("Reached MRD negativity",
          lambda p: fmt_median_range(p["by_baseline_mrd"]["baseline_mrd_percent_by_best_flow"]["negative"], 3), 1)
    m.add("Did not reach MRD negativity",
          lambda p: fmt_median_range(p["by_baseline_mrd"]["baseline_mrd_percent_by_best_flow"]["not_negative"], 3), 1)
    tables.append(Table("table3c_baseline_mrd", "response",
                        f"Table 3c. Response by baseline MRD burden (high tumour load: MRD >= {threshold:g}%)",
                        ("", *[g for g, _ in m.groups]), tuple(m.rows),
                        ("The high-tumour-load threshold is a report option (high_tumour_load_mrd).",)))
    return tables


def _grade_rows(b: _Builder, key: str, text: str) -> None:
    b.heading(f"{text}, maximum grade per patient, n (%)")
    for grade in range(1, 6):
        b.add(f"Grade {grade}", lambda p, g=grade: fmt_n_pct(p[key]["by_grade"][g]["n"], p[key]["denominator"]), 1)
    b.add("Any grade", lambda p: fmt_prop_ci(p[key]["any_grade"]), 1)
    b.add("Grade >= 3", lambda p: fmt_prop_ci(p[key]["grade3plus"]), 1)


def _safety_tables(section: dict[str, Any]) -> list[Table]:
    b = _Builder(_group_columns(section))
    _grade_rows(b, "crs_max_grade", "CRS")
    _grade_rows(b, "icans_max_grade", "ICANS")
    _grade_rows(b, "neurotoxicity_max_grade", "Neurotoxicity (any)")
    b.add("Any grade >= 3 adverse event", lambda p: fmt_prop_ci(p["grade3plus_any"]))
    tables = [Table("table4_safety", "safety", "Table 4. Cytokine release syndrome and neurotoxicity",
                    ("", *[g for g, _ in b.groups]), tuple(b.rows),
                    ("CRS and ICANS graded by ASTCT consensus (Lee 2019); other events by CTCAE v5.",))]
    c = _Builder(_group_columns(section))

    def per_cycle(p, key):
        block = p["per_cycle"]
        if not block.get("cycles"):
            return "no cycles recorded"
        return fmt_n_pct(block[key]["x"], block[key]["n"])

    c.add("Cycles, n", lambda p: str(p["per_cycle"]["cycles"]))
    c.add("Cycles with CRS, n (%)", lambda p: per_cycle(p, "cycles_with_crs"))
    c.add("Cycles with CRS grade >= 3, n (%)", lambda p: per_cycle(p, "cycles_with_crs_grade3plus"))
    c.add("Neurotoxicity events, n (per 100 cycles)",
          lambda p: (f"{p['per_cycle']['neurotoxicity_events']} "
                     f"({p['per_cycle']['neurotoxicity_events_per_100_cycles']:.1f})")
          if p["per_cycle"].get("cycles") else "no cycles recorded")
    c.add("Cycles with neurotoxicity, n (%)", lambda p: per_cycle(p, "cycles_with_neurotoxicity"))
    c.add("Cycles with neurotoxicity grade >= 3, n (%)", lambda p: per_cycle(p, "cycles_with_neurotoxicity_grade3plus"))
    tables.append(Table("table4b_per_cycle", "safety", "Table 4b. CRS and neurotoxicity per cycle",
                        ("", *[g for g, _ in c.groups]), tuple(c.rows)))
    overall = section["overall"]
    if overall.get("n"):
        ae = overall["adverse_events"]
        n = overall["n"]
        rows = [Row(label(r["term"]), (str(r["events"]), fmt_n_pct(r["patients_any_grade"], n),
                                       fmt_n_pct(r["patients_grade3plus"], n))) for r in ae["by_term"]]
        notes = [f"Percentages of all {n} patients. Recorded grades; {ae.get('grade_disagreements', 0)} of "
                 f"{ae.get('grade_computable', 0)} events with grading parameters disagree with the computed grade."]
        if not rows:
            rows = [Row("No adverse events recorded", ("0", "0", "0"))]
        tables.append(Table("table4c_adverse_events", "safety", "Table 4c. Adverse events by term (all patients)",
                            ("Event", "Events", "Patients, any grade", "Patients, grade >= 3"), tuple(rows),
                            tuple(notes)))
        rows = [Row(label(r["term"]), (f"{r['x']}/{r['n']}" if r.get("n") else str(r["x"]),
                                       fmt_pct(r["proportion"]) if r.get("proportion") is not None else NE))
                for r in ae["cycle1"]] or [Row("No adverse events in cycle 1", ("0", NE))]
        tables.append(Table("table4d_cycle1", "safety", "Table 4d. Adverse events in cycle 1 (patients)",
                            ("Event", "Patients / patients with cycle 1", "%"), tuple(rows)))
        rows = [Row(label(r["term"]), ("interruption", str(r["events"]), str(r["patients"])))
                for r in ae["leading_to_interruption"]]
        rows += [Row(label(r["term"]), ("discontinuation", str(r["events"]), str(r["patients"])))
                 for r in ae["leading_to_discontinuation"]]
        if not rows:
            rows = [Row("No event led to interruption or discontinuation", ("", "0", "0"))]
        tables.append(Table("table4e_actions", "safety",
                            "Table 4e. Adverse events leading to interruption or discontinuation",
                            ("Event", "Action", "Events", "Patients"), tuple(rows)))
    return tables


def _endpoint_cells(summary: dict[str, Any], landmarks: list[float]) -> list[str]:
    if not summary.get("n"):
        return ["0", "0", *[summary.get("note", "no patients")] * len(landmarks), "not estimable"]
    cells = [str(summary["n"]), str(summary["events"])]
    points = summary.get("landmarks", [])
    for i, _ in enumerate(landmarks):
        cells.append(fmt_estimate_ci(points[i] if i < len(points) else None))
    cells.append(fmt_median_ci(summary["median"]) if "median" in summary else "n/a (cumulative incidence)")
    return cells


def _outcome_tables(section: dict[str, Any], meta: dict[str, Any]) -> list[Table]:
    landmarks = meta["landmarks_months"]
    columns = ("Endpoint", "Group", "n", "Events", *[f"{m:g}-month, % (95% CI)" for m in landmarks],
               "Median, months (95% CI)", "Test")
    rows = []
    for endpoint, summary in section["overall"].items():
        rows.append(Row(label(endpoint), ("All patients", *_endpoint_cells(summary, landmarks), "")))
        test = section.get("by_test", {}).get(endpoint)
        for group, parts in section.get("groups", {}).items():
            if endpoint in parts:
                rows.append(Row("", (label(group), *_endpoint_cells(parts[endpoint], landmarks),
                                     "" if test is None else _test_text(test)), 1))
    fu = section.get("median_follow_up", {})
    fu_text = (f"Median follow-up (reverse Kaplan-Meier): {fmt_median_ci({'months': fu.get('months'), 'lower': fu.get('lower'), 'upper': fu.get('upper'), 'note': fu.get('note')})} months."
               if fu else "")
    notes = [fu_text, f"Time in months of 30.4375 days, from {meta['origin'].replace('_', ' ')}. Kaplan-Meier "
             "estimates with log-log 95% CIs; CIR and NRM: Aalen-Johansen cumulative incidence with the competing "
             "event (death without relapse / relapse) and log(-log) CIs.", *meta.get("conventions", [])]
    tables = [Table("table5_outcomes", "outcomes", "Table 5. Survival and cumulative incidence", columns,
                    tuple(rows), tuple(n for n in notes if n))]
    comparison_rows = []
    for key, comp in section.get("comparisons", {}).items():
        if "note" in comp and not comp.get("endpoints"):
            comparison_rows.append(Row(comp["name"], ("", "", "", "", *[""] * len(landmarks), comp["note"])))
            continue
        for endpoint, block in comp["endpoints"].items():
            first = True
            for group, summary in block["groups"].items():
                cells = _endpoint_cells(summary, landmarks)[:-1]
                comparison_rows.append(Row(
                    f"{comp['name']}: {label(endpoint)}" if first else "",
                    (label(group), *cells, _test_text(block["test"]) if first else ""), 0 if first else 1))
                first = False
    if comparison_rows:
        tables.append(Table("table5b_comparisons", "outcomes", "Table 5b. Subgroup comparisons",
                            ("Comparison", "Group", "n", "Events", *[f"{m:g}-month, % (95% CI)" for m in landmarks],
                             "Test"), tuple(comparison_rows),
                            ("Kaplan-Meier endpoints compared by the log-rank test; cumulative incidences by Gray's "
                             "test.",)))
    return tables


def _test_text(test: dict[str, Any]) -> str:
    if test.get("p_value") is None:
        return f"{test['test']}: {test.get('note', 'not tested')}"
    return f"{fmt_p(test['p_value'])} ({test['test']})"


def _model_tables(section: dict[str, Any]) -> list[Table]:
    rows = []
    for key, model in section.items():
        head = f"{model['name']} ({model['endpoint']}; n = {model.get('n', 0)}, events = {model.get('events', 0)})"
        if not model.get("coefficients"):
            rows.append(Row(head, ("", model.get("note", NE), "")))
            continue
        rows.append(Row(head, ("", "", ""), 0, True))
        for coef in model["coefficients"]:
            ratio = (f"{model['ratio_name']} {coef['hr']:.2f} ({coef['lower']:.2f}{DASH}{coef['upper']:.2f})"
                     if coef["hr"] is not None and coef["lower"] is not None and coef["upper"] is not None else NE)
            rows.append(Row(coef["term"], (model["ratio_name"], ratio, fmt_p(coef["p_value"])), 1))
    if not rows:
        return []
    return [Table("table6_models", "models", "Table 6. Regression models", ("Model / term", "Measure", "Ratio (95% CI)", "P"),
                  tuple(rows), ("HR: Cox proportional hazards (Efron ties); sHR: Fine-Gray subdistribution hazards. "
                                "Categorical covariates against their most frequent level.",))]


def build_tables(results: dict[str, Any]) -> list[Table]:
    """Every table of the report, in order, from the results dict."""
    meta = results["meta"]
    tables: list[Table] = []
    if "cohort" in results:
        tables += _cohort_tables(results["cohort"])
    if "exposure" in results:
        tables += _exposure_tables(results["exposure"])
    if "response" in results:
        tables += _response_tables(results["response"], meta)
    if "safety" in results:
        tables += _safety_tables(results["safety"])
    if "outcomes" in results:
        tables += _outcome_tables(results["outcomes"], meta)
    if "models" in results:
        tables += _model_tables(results["models"])
    return tables
