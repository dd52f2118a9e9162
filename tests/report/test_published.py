"""The packaged published outcomes: every number as the publication states it, exact CIs from the counts,
and the report's matching of the center's cohort."""

from __future__ import annotations

import dataclasses

import pytest

from blinareg.report import ReportConfig, build_report
from blinareg.report.published import published_outcomes
from blinareg.report.config import DAYS_PER_MONTH
from blinareg.stats import binomial_ci, kaplan_meier

from .conftest import fake_dataset


def test_counts_reproduce_the_percentages_the_papers_state():
    rows = {(r.study.split(" ")[0], r.endpoint): r for r in published_outcomes()}
    # Queudeville 2021: "a response to blinatumomab in 13/38 patients (34%)".
    queudeville = rows[("Queudeville", "response_rate")]
    assert (queudeville.x, queudeville.n) == (13, 38) and round(100 * 13 / 38) == 34 == round(
        100 * queudeville.estimate
    )
    # Li 2023: MRD negative "in 13 patients (72.2%)" of the 18 of the MRD-clearance group.
    li = rows[("Li", "mrd_negative_rate")]
    assert (li.x, li.n) == (13, 18) and round(100 * 13 / 18, 1) == 72.2 == round(100 * li.estimate, 1)
    # Vavilova 2025: 138 of 163 achieved CR (25 non-responders: 163 - 138).
    assert (rows[("Vavilova", "cr_rate")].x, rows[("Vavilova", "cr_rate")].n) == (138, 163)
    # Algeri 2025: 2-year DFS 72.2%, OS 89.2%, NRM 2.6%, n = 78 (no interval in the abstract).
    assert [rows[("Algeri", e)].estimate for e in ("DFS", "OS", "NRM")] == [0.722, 0.892, 0.026]
    assert all(r.doi.startswith("10.") for r in published_outcomes())


def test_pivotal_trial_rows_reproduce_the_percentages_the_papers_state():
    rows = {(r.study.split(" ")[0], r.endpoint): r for r in published_outcomes()}
    # BLAST: "Eighty-eight (78%) of 113 evaluable patients achieved a complete MRD response".
    blast = rows[("BLAST", "mrd_negative_rate")]
    assert (blast.x, blast.n) == (88, 113) and round(100 * 88 / 113) == 78 == round(100 * blast.estimate)
    # AALL1331, Table 2: negative MRD at the end of cycle 1, 79 (75%) of the 105 given blinatumomab.
    aall = rows[("AALL1331", "mrd_negative_rate")]
    assert (aall.x, aall.n) == (79, 105) and round(100 * 79 / 105) == 75 == round(100 * aall.estimate)
    # 20120215, Table 2: MRD remission 44/49 (90%) of the MRD-evaluable blinatumomab group.
    locatelli = rows[("20120215", "mrd_negative_rate")]
    assert (locatelli.x, locatelli.n) == (44, 49) and round(100 * 44 / 49) == 90 == round(100 * locatelli.estimate)
    # AALL1331, Key Points: "2-year disease-free survival of 54% vs 39%"; the blinatumomab group is 105.
    aall_dfs = rows[("AALL1331", "DFS")]
    assert (aall_dfs.n, aall_dfs.time_point_months, aall_dfs.estimate, aall_dfs.x) == (105, 24, 0.54, None)
    assert aall_dfs.population == aall.population and aall_dfs.doi == aall.doi
    # TOWER: CR/CRh/CRi within 12 weeks 44% of the 271 randomized to blinatumomab (no counts, no CI given).
    tower = rows[("TOWER", "cr_rate")]
    assert (tower.n, tower.x, tower.estimate, tower.lower) == (271, None, 0.44, None)
    # E1910: 3-year OS 85% among the 112 MRD-negative patients assigned to blinatumomab.
    e1910 = rows[("E1910", "OS")]
    assert (e1910.n, e1910.time_point_months, e1910.estimate) == (112, 36, 0.85)
    assert all(r.source_note and r.citation for r in published_outcomes())


def test_report_gives_exact_cis_and_matches_the_cohort():
    report = build_report(fake_dataset(n=60, seed=9), ReportConfig(sections=frozenset({"outcomes"})))
    rows = {r.study.split(" ")[0] + ":" + r.endpoint: r for r in report.typed.published}
    queudeville = rows["Queudeville:response_rate"]
    exact = binomial_ci(13, 38, method="exact")
    assert queudeville.lower == pytest.approx(exact.lower) and queudeville.upper == pytest.approx(exact.upper)
    assert queudeville.interval.startswith("exact")
    assert rows["Algeri:OS"].interval == "none published" and rows["Algeri:OS"].lower is None
    p = fake_dataset(n=60, seed=9).patients
    rr = p[p["indication_group"] == "relapsed_refractory"]
    assert rows["Vavilova:cr_rate"].center.n == int(rr["cr_achieved"].notna().sum())
    assert any(t.key == "table7_published" for t in report.tables)
    assert any(f.key == "figure_published" for f in report.figures)


def test_trial_populations_are_matched_by_age_relapse_and_indication():
    dataset = fake_dataset(n=60, seed=9)
    report = build_report(dataset, ReportConfig(sections=frozenset({"outcomes"})))
    rows = {r.study.split(" ")[0] + ":" + r.endpoint: r for r in report.typed.published}
    p = dataset.patients
    relapsed = p["indication_group"] == "relapsed_refractory"
    age = p["age_at_first_blinatumomab_years"]
    first = p["relapse_status_at_blinatumomab"] == "first_relapse"
    adult_rr = p[relapsed & (age >= 18)]
    assert rows["TOWER:cr_rate"].center.n == int(adult_rr["cr_achieved"].notna().sum())
    aya = p[relapsed & first & (age < 31)]
    assert rows["AALL1331:mrd_negative_rate"].center.n == int(aya["complete_mrd_response"].notna().sum())
    high_risk = p[relapsed & first & (age < 18) & (p["intreall_risk"] == "high")]
    assert rows["20120215:mrd_negative_rate"].center.n == int(high_risk["complete_mrd_response"].notna().sum())
    assert rows["AALL1331:mrd_negative_rate"].center.n > rows["20120215:mrd_negative_rate"].center.n > 0
    # E1910 (consolidation in adults): this fake cohort has no consolidation patient, so nothing is matched.
    assert rows["E1910:OS"].center_n == 0 and rows["E1910:OS"].interval == "none published"


def test_e1910_is_compared_with_the_adults_given_blinatumomab_as_consolidation():
    dataset = fake_dataset(n=60, seed=9)
    patients = dataset.patients.copy()
    chosen = patients.index[::3]
    patients.loc[chosen, "indication_group"] = "consolidation"
    patients.loc[chosen, "age_at_first_blinatumomab_years"] = 45.0
    dataset = dataclasses.replace(dataset, patients=patients)
    report = build_report(dataset, ReportConfig(sections=frozenset({"outcomes"})))
    row = next(r for r in report.typed.published if r.study.startswith("E1910"))
    tte = dataset.time_to_event
    os_rows = tte[(tte["PARAMCD"] == "OS") & tte["patient_id"].isin(patients.loc[chosen, "patient_id"])]
    km = kaplan_meier(os_rows["AVAL"], (os_rows["CNSR"] == 0).astype(int))
    assert row.center_n == len(chosen) == os_rows.shape[0]
    at = km.at([36 * DAYS_PER_MONTH])
    assert at.n_at_risk[0] > 0 and row.center.estimate == pytest.approx(at.survival[0], rel=1e-12)
    assert row.center_population == "consolidation indication, aged 18 or older"


def test_aall1331_dfs_is_compared_with_the_2_year_dfs_of_the_matching_patients():
    dataset = fake_dataset(n=60, seed=9)
    report = build_report(dataset, ReportConfig(sections=frozenset({"outcomes"})))
    row = next(r for r in report.typed.published if r.study.startswith("AALL1331") and r.endpoint == "DFS")
    p, tte = dataset.patients, dataset.time_to_event
    aya = p[
        (p["indication_group"] == "relapsed_refractory")
        & (p["relapse_status_at_blinatumomab"] == "first_relapse")
        & (p["age_at_first_blinatumomab_years"] < 31)
    ]
    dfs = tte[(tte["PARAMCD"] == "DFS") & tte["patient_id"].isin(aya["patient_id"])]
    assert row.center_n == dfs.shape[0] > 0
    assert (row.estimate, row.time_point_months, row.interval) == (0.54, 24, "none published")
    at = kaplan_meier(dfs["AVAL"], (dfs["CNSR"] == 0).astype(int)).at([24 * DAYS_PER_MONTH])
    assert at.n_at_risk[0] > 0 and row.center.estimate == pytest.approx(at.survival[0], rel=1e-12)
