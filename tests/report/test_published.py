"""The packaged published outcomes: every number as the publication states it, exact CIs from the counts,
and the report's matching of the center's cohort."""

from __future__ import annotations

import pytest

from blinareg.report import ReportConfig, build_report
from blinareg.report.published import published_outcomes
from blinareg.stats import binomial_ci

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
