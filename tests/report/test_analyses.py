"""Report numbers equal the statistics engine's on the same analysis dataset; sections, splits, degenerate cohorts."""

from __future__ import annotations

import dataclasses
import json
import re

import numpy as np
import pandas as pd
import pytest

from blinareg.errors import UserError
from blinareg.report import ReportConfig, build_report
from blinareg.report.config import DAYS_PER_MONTH, SECTIONS
from blinareg.report.tables import fmt_p
from blinareg.report.text import methods_paragraphs
from blinareg.stats import (
    binomial_ci,
    cox_ph,
    cox_zph,
    cumulative_incidence,
    gray_test,
    kaplan_meier,
    logrank_test,
    median_followup,
)

from .conftest import fake_dataset, one_patient_dataset


def _rows(dataset, endpoint, ids=None):
    tte = dataset.time_to_event
    rows = tte[tte["PARAMCD"] == endpoint]
    if ids is not None:
        rows = rows[rows["patient_id"].isin(ids)]
    return rows


@pytest.fixture(scope="module")
def report(dataset):
    return build_report(dataset, ReportConfig())


def test_km_landmark_and_median_equal_stats(dataset, report):
    rows = _rows(dataset, "OS")
    km = kaplan_meier(rows["AVAL"], (rows["CNSR"] == 0).astype(int))
    at = km.at([24 * DAYS_PER_MONTH])
    point = report.results["outcomes"]["overall"]["OS"]["landmarks"][1]
    assert point["months"] == 24
    assert point["estimate"] == pytest.approx(at.survival[0], rel=1e-12)
    assert point["lower"] == pytest.approx(at.lower[0], rel=1e-12)
    assert point["upper"] == pytest.approx(at.upper[0], rel=1e-12)
    assert point["n_at_risk"] == at.n_at_risk[0]
    median = report.results["outcomes"]["overall"]["OS"]["median"]
    for key, value in (("months", km.median), ("lower", km.median_lower), ("upper", km.median_upper)):
        if value is None:
            assert median[key] is None
        else:
            assert median[key] * DAYS_PER_MONTH == pytest.approx(value, rel=1e-12)


def test_median_follow_up_is_reverse_km(dataset, report):
    rows = _rows(dataset, "OS")
    expected = median_followup(rows["AVAL"], (rows["CNSR"] == 0).astype(int))
    assert report.results["outcomes"]["median_follow_up"]["months"] * DAYS_PER_MONTH == pytest.approx(expected.median)


def test_cir_equals_aalen_johansen(dataset, report):
    rows = _rows(dataset, "CIR")
    cif = cumulative_incidence(rows["AVAL"], rows["EVTCODE"], cause=1)
    at = cif.at([12 * DAYS_PER_MONTH, 24 * DAYS_PER_MONTH])
    points = report.results["outcomes"]["overall"]["CIR"]["landmarks"]
    for i in range(2):
        assert points[i]["estimate"] == pytest.approx(at.estimate[i], rel=1e-12)
        assert points[i]["lower"] == pytest.approx(at.lower[i], rel=1e-12)


def test_subgroup_p_values_equal_logrank_and_gray(dataset, report):
    p = dataset.patients
    status = p["hsct_remission_status"]
    cr1 = set(p.loc[status == "CR1", "patient_id"])
    cr2 = set(p.loc[status.isin(["CR2", "CR3+"]), "patient_id"])
    comparison = report.results["outcomes"]["comparisons"]["remission_status_at_hsct"]
    block = comparison["endpoints"]
    # HSCT comparisons are timed from HSCT; this dataset has no rows timed from HSCT, so the report shifts
    # the rows timed from first blinatumomab by the days from first blinatumomab to HSCT (and says so).
    assert "timed from HSCT" in comparison["timing"] and "computed by the report" in comparison["timing"]
    offset = (p["hsct_date"] - p["first_blinatumomab_date"]).dt.days
    offset.index = p["patient_id"]
    for endpoint in ("DFS", "CIR"):
        rows = _rows(dataset, endpoint, cr1 | cr2).copy()
        days = rows["patient_id"].map(offset).astype(float)
        rows = rows[days.notna() & (rows["AVAL"] >= days)]
        rows["AVAL"] = rows["AVAL"] - days[rows.index]
        group = np.where(rows["patient_id"].isin(cr1), "CR1", "CR>=2")
        if endpoint == "DFS":
            expected = logrank_test(rows["AVAL"], (rows["CNSR"] == 0).astype(int), group).p_value
            assert block[endpoint]["test"]["test"] == "log-rank test"
        else:
            expected = gray_test(rows["AVAL"], rows["EVTCODE"], group, cause=1).p_value
            assert block[endpoint]["test"]["test"] == "Gray's test"
        assert block[endpoint]["test"]["p_value"] == pytest.approx(expected, rel=1e-10)
        assert block[endpoint]["groups"]["CR1"]["n"] == rows["patient_id"].isin(cr1).sum()


def test_response_rates_have_clopper_pearson_cis(dataset, report):
    p = dataset.patients
    x = int(p["cr_achieved"].sum())
    expected = binomial_ci(x, len(p), method="exact")
    cr = report.results["response"]["overall"]["cr_achieved"]
    assert (cr["x"], cr["n"]) == (x, len(p))
    assert cr["lower"] == pytest.approx(expected.lower) and cr["upper"] == pytest.approx(expected.upper)
    assert report.results["response"]["overall"]["non_responders"]["n"] == len(p) - int(p["responder"].sum())
    assert report.results["meta"]["non_responder_definition"].startswith("Non-responder: no complete remission")


def test_neurotoxicity_events_per_cycle(dataset, report):
    block = report.results["safety"]["overall"]["per_cycle"]
    assert block["cycles"] == len(dataset.cycles)
    assert block["neurotoxicity_events"] == int(dataset.cycles["neurotoxicity_events"].sum())


def test_discordance_counts(dataset, report):
    p = dataset.patients
    both = p["mrd_negative_best_flow"].notna() & p["mrd_negative_best_pcr"].notna()
    flow_neg_pcr_pos = both & p["mrd_negative_best_flow"].fillna(False) & ~p["mrd_negative_best_pcr"].fillna(True)
    block = report.results["response"]["overall"]["discordance"]["best"]
    assert block["n_both_methods"] == int(both.sum())
    assert block["flow_negative_pcr_positive"] == int(flow_neg_pcr_pos.sum())


def test_high_tumour_load_threshold_is_configurable(dataset):
    low = build_report(dataset, ReportConfig(high_tumour_load_mrd=0.01, sections=frozenset({"response"})))
    high = build_report(dataset, ReportConfig(high_tumour_load_mrd=0.2, sections=frozenset({"response"})))
    fractions = dataset.patients["baseline_mrd_fraction"]
    strata = low.results["response"]["overall"]["by_baseline_mrd"]["strata"]
    assert strata["at_or_above"]["n"] == int((fractions >= 0.01).sum())
    assert high.results["response"]["overall"]["by_baseline_mrd"]["strata"]["at_or_above"]["n"] == int(
        (fractions >= 0.2).sum()
    )


@pytest.mark.parametrize("section", SECTIONS)
def test_every_section_can_be_switched_off(dataset, section):
    config = ReportConfig(sections=frozenset(SECTIONS) - {section}, models=())
    report = build_report(dataset, config)
    assert section not in report.results
    assert all(table.section != section for table in report.tables)
    if section == "text":
        assert report.paragraph == ""
    if section == "outcomes":
        assert all(f.key == "figure_swimmer" for f in report.figures)


def test_by_split(dataset):
    report = build_report(dataset, ReportConfig(by="indication_group"))
    groups = report.results["meta"]["by_groups"]
    assert sum(g["n"] for g in groups) == len(dataset.patients)
    for section in ("cohort", "exposure", "response", "safety"):
        assert set(report.results[section]["groups"]) == {g["label"] for g in groups}
    assert report.results["outcomes"]["by_test"]["OS"]["test"] == "log-rank test"
    assert report.results["outcomes"]["by_test"]["CIR"]["test"] == "Gray's test"
    table1 = next(t for t in report.tables if t.key == "table1_cohort")
    assert len(table1.columns) == 2 + len(groups)


def test_unknown_by_variable_is_a_user_error(dataset):
    with pytest.raises(UserError, match="unknown --by variable 'shoe_size'"):
        build_report(dataset, ReportConfig(by="shoe_size"))


def test_models_on_request(dataset):
    config = ReportConfig.from_toml_mapping(
        {
            "models": [
                {
                    "name": "Cox OS",
                    "kind": "cox",
                    "endpoint": "OS",
                    "covariates": ["age_at_first_blinatumomab_years", "indication_group"],
                },
                {"name": "Fine-Gray CIR", "kind": "fine_gray", "endpoint": "CIR", "covariates": ["genetics_bcr_abl1"]},
            ]
        }
    )
    report = build_report(dataset, config)
    cox = report.results["models"]["cox_os"]
    assert [c["term"] for c in cox["coefficients"]][0] == "age_at_first_blinatumomab_years"
    assert all(c["hr"] > 0 and c["lower"] < c["hr"] < c["upper"] for c in cox["coefficients"])
    fg = report.results["models"]["fine_gray_cir"]
    assert fg["ratio_name"] == "sHR" and len(fg["coefficients"]) == 1
    table = next(t for t in report.tables if t.key == "table6_cox_os")
    # gtsummary style: readable labels, a reference row for the categorical covariate, n used in the title.
    labels = [row.label for row in table.rows]
    assert "Age at first blinatumomab, years" in labels and "Indication group" in labels
    assert sum(row.cells[0] == "Reference" for row in table.rows) == 1
    assert f"n = {cox['n']}" in table.title


def test_model_reference_level_from_the_config(dataset):
    config = ReportConfig.from_toml_mapping(
        {
            "models": [
                {
                    "name": "Cox OS",
                    "kind": "cox",
                    "endpoint": "OS",
                    "covariates": ["indication_group"],
                    "reference": {"indication_group": "relapsed_refractory"},
                }
            ]
        }
    )
    report = build_report(dataset, config)
    model = report.results["models"]["cox_os"]
    assert model["terms"][0]["reference"] == "relapsed_refractory"
    assert all(c["level"] != "relapsed_refractory" for c in model["coefficients"])
    table = next(t for t in report.tables if t.key == "table6_cox_os")
    reference = next(row for row in table.rows if row.cells[0] == "Reference")
    assert reference.label == "Relapsed/refractory"
    with pytest.raises(UserError, match="reference level 'nonsense'"):
        build_report(
            dataset,
            ReportConfig.from_toml_mapping(
                {
                    "models": [
                        {
                            "kind": "cox",
                            "endpoint": "OS",
                            "covariates": ["indication_group"],
                            "reference": {"indication_group": "nonsense"},
                        }
                    ]
                }
            ),
        )


def _no_nan(report) -> str:
    text = json.dumps(report.results, allow_nan=False)
    for table in report.tables:
        for row in table.rows:
            for cell in (row.label, *row.cells):
                assert not re.search(r"\bnan\b", cell, re.I), (table.key, row.label, cell)
    assert not re.search(r"\bnan\b", report.paragraph, re.I)
    return text


def test_cohort_without_events_says_so(no_event_dataset):
    report = build_report(no_event_dataset, ReportConfig(by="indication_group"))
    _no_nan(report)
    os_ = report.results["outcomes"]["overall"]["OS"]
    assert os_["events"] == 0 and os_["median"]["note"] == "not reached (no events)"
    cir = report.results["outcomes"]["overall"]["CIR"]
    assert cir["note"] == "no events" and cir["landmarks"][0]["estimate"] == 0.0
    assert report.results["outcomes"]["by_test"]["OS"]["note"] == "not estimable (no events)"
    cells = [c for t in report.tables for r in t.rows for c in r.cells]
    assert any("no events" in c for c in cells)


def test_one_patient_report():
    report = build_report(one_patient_dataset(), ReportConfig())
    _no_nan(report)
    assert report.results["meta"]["n_patients"] == 1
    assert report.paragraph.startswith("Among 1 patient ")  # singular


def test_empty_subgroup_says_no_patients(dataset):
    config = ReportConfig(by="indication_group", by_levels=("bridging_to_hsct",))
    report = build_report(dataset, config)
    _no_nan(report)
    assert report.results["cohort"]["groups"]["bridging_to_hsct"] == {"n": 0, "note": "no patients"}
    table1 = next(t for t in report.tables if t.key == "table1_cohort")
    column = table1.columns.index("Bridging to HSCT (n = 0)") - 1
    assert all(row.cells[column] in ("no patients", "") for row in table1.rows)
    comparison = ReportConfig.from_toml_mapping(
        {
            "comparisons": [
                {
                    "name": "Empty",
                    "variable": "indication_group",
                    "groups": {"A": ["bridging_to_hsct"], "B": ["mrd_clearance"]},
                    "endpoints": ["OS", "CIR"],
                }
            ]
        }
    )
    report = build_report(dataset, comparison)
    _no_nan(report)
    block = report.results["outcomes"]["comparisons"]["empty"]["endpoints"]
    assert block["OS"]["groups"]["A"] == {"n": 0, "events": 0, "note": "no patients"}
    assert block["OS"]["test"]["note"] == "not tested (fewer than two groups with patients)"


def test_empty_registry_dataset():
    dataset = fake_dataset(n=3, seed=2)
    from blinareg.derive.dataset import AnalysisDataset

    empty = AnalysisDataset(
        dataset.patients.iloc[:0],
        dataset.time_to_event.iloc[:0],
        dataset.cycles.iloc[:0],
        dataset.mrd.iloc[:0],
        dataset.adverse_events.iloc[:0],
        dataset.metadata,
    )
    report = build_report(empty, ReportConfig())
    _no_nan(report)
    assert report.paragraph == "The registry holds no patients; no results can be reported."


def test_paragraph_numbers_come_from_results(report):
    text = report.paragraph
    assert text.startswith(f"Among {report.results['meta']['n_patients']} patients")
    values = []
    for path in report.paragraph_keys:
        node = report.results
        for part in path.split("/"):
            node = node[int(part)] if isinstance(node, list) else node[part]
        values.append(node)
    candidates = set()
    for value in values:
        candidates |= {
            f"{value:.1f}",
            f"{100 * value:.1f}",
            str(value) if isinstance(value, int) else "",
            fmt_p(value).split(" ")[-1],
        }
    # Labels and fixed wording carry digits that are not results: "2-year", "95% CI", "CR≥2", "grade ≥ 3".
    assert ">=" not in text  # written as the symbol
    cleaned = re.sub(r"\d-year|95% CI|\u2265 ?\d", "", text)
    numbers = re.findall(r"(?<![\w.])\d+(?:\.\d+)?", cleaned)
    missing = [n for n in numbers if n not in candidates]
    assert not missing, missing


def test_origin_mismatch_is_refused(dataset):
    with pytest.raises(UserError, match="origin"):
        build_report(dataset, ReportConfig(origin="hsct"))


def _two_centers(dataset):
    patients = dataset.patients.copy()
    patients["center_id"] = np.where(np.arange(patients.shape[0]) % 3 == 0, "C2", "C1")
    return dataclasses.replace(dataset, patients=patients)


def test_stratified_cox_with_ph_test_equals_the_engine(dataset):
    data = _two_centers(dataset)
    config = ReportConfig.from_toml_mapping(
        {
            "models": [
                {
                    "name": "Cox OS",
                    "kind": "cox",
                    "endpoint": "OS",
                    "covariates": ["age_at_first_blinatumomab_years", "indication_group"],
                    "reference": {"indication_group": "relapsed_refractory"},
                    "strata": ["center_id"],
                    "ph_test": True,
                }
            ]
        }
    )
    report = build_report(data, config)
    model = report.results["models"]["cox_os"]
    rows = _rows(data, "OS").merge(data.patients, on="patient_id")
    indication = rows["indication_group"].astype(str)
    design = pd.DataFrame(
        {
            "age_at_first_blinatumomab_years": rows["age_at_first_blinatumomab_years"].astype(float),
            "indication_group=mrd_clearance": (indication == "mrd_clearance").astype(float),
            "indication_group=chemotherapy_intolerance": (indication == "chemotherapy_intolerance").astype(float),
        }
    )[[c["term"] for c in model["coefficients"]]]
    event = (rows["CNSR"] == 0).astype(int)
    fit = cox_ph(design, rows["AVAL"], event, strata=rows["center_id"])
    assert [c["hr"] for c in model["coefficients"]] == pytest.approx(list(fit.hazard_ratio), rel=1e-12)
    assert model["strata"] == ["center_id"] and "stratified by center" in model["method"]
    zph = cox_zph(
        design,
        rows["AVAL"],
        event,
        strata=rows["center_id"],
        terms={
            "age_at_first_blinatumomab_years": ["age_at_first_blinatumomab_years"],
            "indication_group": [c for c in design.columns if c.startswith("indication_group=")],
        },
    )
    tests = {t["covariate"]: t for t in model["ph_test"]["terms"]}
    assert tests["indication_group"]["df"] == 2
    assert tests["indication_group"]["p_value"] == pytest.approx(zph.test("indication_group").p_value, rel=1e-12)
    assert tests["GLOBAL"]["p_value"] == pytest.approx(zph.global_test.p_value, rel=1e-12)
    # The stratified fit differs from the unstratified one (the strata are used, not ignored).
    assert fit.coef[0] != pytest.approx(cox_ph(design, rows["AVAL"], event).coef[0], rel=1e-6)
    table = next(t for t in report.tables if t.key == "table6_cox_os")
    assert any(n.startswith("Stratified by Center") for n in table.notes)
    ph_note = next(n for n in table.notes if n.startswith("Proportional-hazards test"))
    assert f"Global {fmt_p(tests['GLOBAL']['p_value'])}" in ph_note and "(2 df)" in ph_note
    methods = " ".join(methods_paragraphs(report.typed))
    assert "stratified by center" in methods and "Grambsch-Therneau" in methods


def test_models_without_strata_or_ph_test_say_nothing_of_them(dataset):
    config = ReportConfig.from_toml_mapping(
        {"models": [{"name": "Cox OS", "kind": "cox", "endpoint": "OS", "covariates": ["indication_group"]}]}
    )
    report = build_report(dataset, config)
    assert "strata" not in report.results["models"]["cox_os"] and "ph_test" not in report.results["models"]["cox_os"]
    assert "Grambsch" not in " ".join(methods_paragraphs(report.typed))


@pytest.mark.parametrize(
    ("model", "message"),
    [
        ({"kind": "fine_gray", "endpoint": "CIR", "covariates": ["x"], "strata": ["center_id"]}, r"strata"),
        ({"kind": "fine_gray", "endpoint": "CIR", "covariates": ["x"], "ph_test": True}, r"ph_test"),
        ({"kind": "cox", "endpoint": "OS", "covariates": ["x"], "ph_test": "yes"}, r"ph_test: must be true or false"),
        ({"kind": "cox", "endpoint": "OS", "covariates": ["x"], "strata": ["x"]}, r"strata: 'x' is also a covariate"),
    ],
)
def test_bad_strata_and_ph_test_options_name_the_key(model, message):
    with pytest.raises(UserError, match=r"models\[0\]\." + message):
        ReportConfig.from_toml_mapping({"models": [model]})


def test_unknown_strata_column_is_a_user_error(dataset):
    config = ReportConfig.from_toml_mapping(
        {"models": [{"kind": "cox", "endpoint": "OS", "covariates": ["indication_group"], "strata": ["hospital"]}]}
    )
    with pytest.raises(UserError, match="unknown strata column 'hospital'"):
        build_report(dataset, config)


SUBGROUP_CONFIG = {
    "subgroups": [
        {
            "name": "OS by BCR-ABL1",
            "endpoint": "OS",
            "variable": "genetics_bcr_abl1",
            "groups": {"Negative": [False], "Positive": [True]},
            "subgroups": ["sex", "indication_group"],
        }
    ]
}


def test_subgroup_forest_equals_cox_within_each_level_and_the_interaction_lr_test(dataset):
    report = build_report(dataset, ReportConfig.from_toml_mapping(SUBGROUP_CONFIG))
    forest = report.typed.subgroups["os_by_bcr_abl1"]
    rows = _rows(dataset, "OS").merge(dataset.patients, on="patient_id")
    arm = rows["genetics_bcr_abl1"].astype(float).to_numpy()
    time, event = rows["AVAL"].to_numpy(), (rows["CNSR"] == 0).astype(int).to_numpy()
    overall = cox_ph(arm, time, event)
    assert forest.overall.hr == pytest.approx(overall.hazard_ratio[0], rel=1e-12)
    assert (forest.overall.n, forest.overall.events) == (len(rows), int(event.sum()))
    sex = next(b for b in forest.blocks if b.variable == "sex")
    for level in sex.levels:
        mask = (rows["sex"] == level.level).to_numpy()
        fit = cox_ph(arm[mask], time[mask], event[mask])
        assert level.hr == pytest.approx(fit.hazard_ratio[0], rel=1e-12)
        assert level.lower == pytest.approx(fit.hr_lower[0], rel=1e-12)
    # Interaction by hand: Cox with arm + male, then + arm x male; LR = 2 * (difference of log-likelihoods).
    male = (rows["sex"] == "male").to_numpy(dtype=float)
    reduced = cox_ph(np.column_stack([arm, male]), time, event)
    full = cox_ph(np.column_stack([arm, male, arm * male]), time, event)
    statistic = 2 * (full.loglik[1] - reduced.loglik[1])
    assert sex.interaction.statistic == pytest.approx(statistic, rel=1e-10) and sex.interaction.df == 1
    from scipy.stats import chi2

    assert sex.interaction.p_value == pytest.approx(chi2.sf(statistic, 1), rel=1e-10)
    figure = next(f for f in report.figures if f.key == "figure_subgroups_os_by_bcr_abl1")
    labels = [t.get_text() for t in figure.figure.axes[0].get_yticklabels()]
    assert f"Sex (interaction {fmt_p(sex.interaction.p_value)})" in labels
    assert "likelihood-ratio test of the comparison-by-subgroup" in " ".join(methods_paragraphs(report.typed))


def test_subgroup_levels_without_both_groups_are_not_estimable_and_left_out_of_the_interaction(dataset):
    patients = dataset.patients.copy()
    relapsed = patients["indication_group"] == "relapsed_refractory"
    patients.loc[relapsed, "genetics_bcr_abl1"] = False  # one group only in that level
    data = dataclasses.replace(dataset, patients=patients)
    forest = build_report(data, ReportConfig.from_toml_mapping(SUBGROUP_CONFIG)).typed.subgroups["os_by_bcr_abl1"]
    block = next(b for b in forest.blocks if b.variable == "indication_group")
    level = next(h for h in block.levels if h.level == "relapsed_refractory")
    assert level.hr is None and level.note == "not estimable (one group only)"
    estimable = [h for h in block.levels if h.hr is not None]
    assert block.interaction.df == len(estimable) - 1


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ({"endpoint": "OS", "variable": "x", "groups": {"a": [1]}, "subgroups": ["sex"]}, r"groups: needs exactly two"),
        ({"endpoint": "CIR", "variable": "x", "groups": {"a": [1], "b": [2]}, "subgroups": ["s"]}, r"endpoint"),
        (
            {"endpoint": "OS", "variable": "x", "groups": {"a": [1], "b": [2]}, "subgroups": []},
            r"subgroups: needs at least one",
        ),
        ({"endpoint": "OS", "variable": "x", "groups": {"a": [1], "b": [2]}}, r"subgroups: is required"),
    ],
)
def test_bad_subgroup_options_name_the_key(item, message):
    with pytest.raises(UserError, match=r"subgroups\[0\]\." + message):
        ReportConfig.from_toml_mapping({"subgroups": [item]})
