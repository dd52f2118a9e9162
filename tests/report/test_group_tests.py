"""Table 1 P values equal R's fisher.test, chisq.test(correct = FALSE), wilcox.test(exact = FALSE) and
kruskal.test (fixture: reference/group_tests.json from reference/make_group_tests.R)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from blinareg.report import ReportConfig, build_report
from blinareg.report.analyses import categorical_test, continuous_test

from .conftest import fake_dataset

R = json.loads((Path(__file__).parent / "reference" / "group_tests.json").read_text())


def test_fisher_and_chi_square_equal_r():
    fisher = categorical_test(np.array(R["two_by_two"]["table"]))
    assert fisher.test == "Fisher's exact test" and fisher.p_value == pytest.approx(R["two_by_two"]["p"], rel=1e-9)
    chi = categorical_test(np.array(R["three_by_two"]["table"]))
    assert chi.test == "Pearson's chi-square test" and chi.df == 2
    assert chi.p_value == pytest.approx(R["three_by_two"]["p"], rel=1e-9)


def test_wilcoxon_and_kruskal_equal_r():
    wilcoxon = continuous_test([np.array(R["wilcoxon"]["x"]), np.array(R["wilcoxon"]["y"])])
    assert wilcoxon.test == "Wilcoxon rank-sum test"
    assert wilcoxon.p_value == pytest.approx(R["wilcoxon"]["p"], rel=1e-9)
    kruskal = continuous_test([np.array(R["kruskal"][k]) for k in ("x", "y", "z")])
    assert kruskal.test == "Kruskal-Wallis test" and kruskal.p_value == pytest.approx(R["kruskal"]["p"], rel=1e-9)


def test_table1_p_value_column_on_request():
    dataset = fake_dataset(n=60, seed=6)
    plain = build_report(dataset, ReportConfig(by="sex", sections=frozenset({"cohort"})))
    assert "P" not in plain.tables[0].columns and plain.typed.cohort.tests is None
    report = build_report(dataset, ReportConfig(by="sex", sections=frozenset({"cohort"}), table1_p_values=True))
    table = report.tables[0]
    assert table.columns[-1] == "P"
    age = next(row for row in table.rows if row.label.startswith("Age at first blinatumomab, years, median"))
    assert age.cells[-1].endswith("\u1d9c")  # marked: Wilcoxon rank-sum (two groups)
    expected = report.typed.cohort.tests["age_at_first_blinatumomab_years"].p_value
    assert age.cells[-1][:-1] in (f"{expected:.2f}", f"{expected:.3f}", f"{expected:.4f}", "< 0.001")
    assert any("Wilcoxon rank-sum test" in note for note in table.notes)


def test_split_competing_risks_figure_prints_grays_p_per_cause():
    from blinareg.report.tables import fmt_p
    from blinareg.stats import gray_test

    dataset = fake_dataset(n=80, seed=3)
    report = build_report(dataset, ReportConfig(by="indication_group"))
    figure = next(f for f in report.figures if f.key == "figure_competing_risks_by_indication_group")
    tte, patients = dataset.time_to_event, dataset.patients
    expected = {}
    for endpoint in ("CIR", "NRM"):
        rows = tte[tte["PARAMCD"] == endpoint].merge(patients[["patient_id", "indication_group"]], on="patient_id")
        expected[endpoint] = gray_test(rows["AVAL"], rows["EVTCODE"], rows["indication_group"], cause=1).p_value
    words = f"relapse {fmt_p(expected['CIR'])}; non-relapse mortality {fmt_p(expected['NRM'])}"
    texts = [t.get_text() for t in figure.figure.texts]
    assert any(words in text for text in texts), texts
    assert f"relapse {fmt_p(expected['CIR'])}, non-relapse mortality {fmt_p(expected['NRM'])}" in figure.caption
    titles = [ax.get_title() for ax in figure.figure.axes if ax.get_visible()]
    assert [t.split(" (n")[0] for t in titles] == ["MRD clearance", "Chemotherapy intolerance", "Relapsed/refractory"]
    # Unsplit reports keep the single stacked figure only.
    plain = build_report(dataset, ReportConfig())
    assert [f.key for f in plain.figures if f.key.startswith("figure_competing")] == ["figure_competing_risks"]
